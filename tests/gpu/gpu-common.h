/*
 * Shared code of the GPU suite (tests/gpu): a GLES2 compositor in the VM,
 * dma-buf sessions and buffers, zerocap's counters, a known scene and exact
 * image comparisons.
 */
#ifndef GT_GPU_COMMON_H
#define GT_GPU_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include "fixture.h"

#define GT_EXPECT_MS 15000
#define GT_NOTHING_MS 300
#define GT_BACKGROUND 0xff202020u
/* Not a colour of any scene here. */
#define GT_SENTINEL 0x12345678u

#define GT_DRM_FORMAT_XRGB8888 0x34325258u /* 'XR24' */
#define GT_DRM_FORMAT_ARGB8888 0x34325241u /* 'AR24' */

struct gt_stats {
	uint64_t frames_ready, frames_failed, bytes_written, cpu_pixel_reads, gpu_blits;
};

struct gt_scene_rect {
	const char *name;
	int x, y, w, h;
	uint32_t rgba; /* as for the control command */
};

extern const struct gt_scene_rect gt_scene[];
extern const size_t gt_scene_len;

/*
 * Starts the compositor with --output spec and checks that it runs on the
 * GLES2 renderer with zerocap's GPU path on (WLR_RENDERER=gles2 and the
 * render-node shim come from the meson test environment). Sets zt_wait_ms
 * (wl-helpers.h) to GT_EXPECT_MS.
 */
bool gt_start(struct zt_compositor *comp, const char *output_spec, const char *const *extra);
/* "stats" command, parsed. */
bool gt_stats(struct zt_compositor *comp, struct gt_stats *stats);
/* rect commands for gt_scene. */
void gt_setup_scene(struct zt_compositor *comp);
/* The upright image of gt_scene at this scale, 0xAARRGGBB, width x height. */
uint32_t *gt_expected_scene(int width, int height, int scale);

/* A session on the first output with its constraints; NULL (and a failed check) on error. */
struct zcc_session *gt_session(struct zcc_client *client, uint32_t options);
/* The dma-buf device the session advertises, opened; NULL (and a failed check) on error. */
struct zcc_dmabuf_device *gt_device(struct zcc_session *session);
/* Whether the session advertises (format, modifier). */
bool gt_advertised(const struct zcc_session *session, uint32_t format, uint64_t modifier);
/*
 * The modifier to use for format: LINEAR when advertised, else the first
 * advertised one. False when the format is not advertised.
 */
bool gt_pick_modifier(const struct zcc_session *session, uint32_t format, uint64_t *modifier);
/* A dma-buf of the session's size; NULL (and a failed check) on error. */
struct zcc_buffer *gt_dmabuf(struct zcc_dmabuf_device *device, struct zcc_session *session,
	uint32_t format);
/* A new connection with session 0, its dma-buf device and one XRGB8888 dma-buf. */
struct gt_dmabuf_capture {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_dmabuf_device *device;
	struct zcc_buffer *buffer;
};
/* False (with a failed check) when a step fails; close it either way. */
bool gt_dmabuf_open(struct zt_compositor *comp, struct gt_dmabuf_capture *capture);
void gt_dmabuf_close(struct gt_dmabuf_capture *capture);
/* An shm buffer of the session's size. */
struct zcc_buffer *gt_shm(struct zcc_session *session, uint32_t shm_format);

/* Pixels of a and b that differ (alpha ignored unless both formats have it). */
int gt_count_diff(const struct zcc_image *a, const struct zcc_image *b, const char *what);
/* Pixels of image that differ from want (width x height, 0xAARRGGBB). */
int gt_count_diff_expected(const struct zcc_image *image, const uint32_t *want,
	const char *what);

/* The compositor log's current size, to look at what comes after. */
long gt_log_mark(struct zt_compositor *comp);
/*
 * Whether a line after mark contains every one of the NULL-terminated words
 * (case-insensitive). Prints the lines after mark when not.
 */
bool gt_log_has_line(struct zt_compositor *comp, long mark, const char *const *words);

/* Prints what a process's file descriptors point at (for leak reports). */
void gt_print_fds(pid_t pid);

const char *gt_fourcc_str(uint32_t format, char buf[8]);
uint64_t gt_now_ms(void);

#endif
