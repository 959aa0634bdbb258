/*
 * obs-zerocap: OBS Studio sources that capture a Wayland compositor through
 * libzerocap-client (an output, a window, a region of an output).
 *
 * Two sides per source:
 * - the capture thread (capture.c) owns the Wayland connection, the
 *   zcl_capture and the zcl_cursor; it connects again whenever the
 *   compositor went away, and never touches OBS's graphics;
 * - OBS's threads (source.c): settings, properties, and on the graphics
 *   thread the upload or import of the newest frame. The graphics thread
 *   only ever takes the lock for a swap of pointers: it never waits for
 *   the compositor, nor for a copy.
 *
 * Frames: shm frames are copied by the capture thread into one of three
 * staging buffers (spare -> ready -> shown: triple buffering) and released
 * at once. dma-buf frames are held: the graphics thread imports the newest
 * one (gs_texture_create_from_dmabuf), waits on its acquire fence on the
 * GPU (gs_sync), and hands the one it replaced back with a release point
 * on a timeline syncobj that the capture thread waits for before
 * zcl_frame_release (or at once where there are no syncobjs: implicit
 * sync).
 */
#ifndef OBS_ZEROCAP_H
#define OBS_ZEROCAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zerocap-client.h>

enum ozc_kind {
	OZC_OUTPUT,
	OZC_WINDOW,
	OZC_REGION,
};

/* What to capture; set by the source, read by the capture thread. */
struct ozc_config {
	enum ozc_kind kind;
	char display[256]; /* "": OBS's own $WAYLAND_DISPLAY */
	char target[256]; /* output name, window app_id or identifier; "": the first */
	int32_t x, y, width, height; /* OZC_REGION, logical coordinates */
	uint32_t out_width, out_height; /* 0: the captured size */
	double max_fps; /* 0: every change */
};

/* A staging buffer of shm pixels. */
struct ozc_pixels {
	uint8_t *data;
	size_t size;
	uint32_t width, height, stride, format; /* DRM fourcc */
};

/* A held dma-buf frame, owned by the capture thread until released. */
struct ozc_dmabuf {
	struct zcl_frame *frame; /* NULL: none */
	struct zcl_frame_info info;
	uint64_t generation; /* of the capture it came from */
	uint64_t acquire_point; /* on the acquire timeline; 0: no fence to wait for */
	uint64_t release_point; /* on the release timeline; 0: release at once */
};

#define OZC_MAX_RELEASES 8
#define OZC_MAX_TARGETS 32

struct ozc_target_entry {
	char key[128]; /* what the target setting holds */
	char label[256];
	bool window;
};

struct ozc_cursor {
	bool inside;
	int32_t x, y; /* top-left of the bitmap, in frame pixels */
	uint32_t width, height; /* of the bitmap */
	uint8_t *pixels; /* premultiplied BGRA, width * 4 a row */
	uint64_t serial; /* changes with the bitmap */
};

struct ozc_shared {
	pthread_mutex_t lock;
	/* source -> thread */
	struct ozc_config config;
	bool config_changed, quit;
	struct ozc_dmabuf releases[OZC_MAX_RELEASES];
	int n_releases;
	/* what the graphics side can import; filled before the thread starts */
	bool dmabuf, dmabuf_failed; /* failed: an import failed, shm from now on */
	uint64_t *modifiers;
	size_t n_modifiers;
	/* thread -> source */
	struct ozc_pixels ready;
	uint64_t ready_serial;
	struct ozc_dmabuf pending; /* the newest dma-buf frame, not imported yet */
	/* timeline syncobjs (as fds, for gs_sync_*) of the capture's device; -1: none */
	int acquire_fd, release_fd;
	uint64_t release_serial; /* the last release point the graphics side used */
	struct ozc_cursor cursor;
	struct ozc_target_entry targets[OZC_MAX_TARGETS];
	int n_targets;
	bool connected;
};

struct ozc_thread;

/* Starts the capture thread for shared (which must outlive it). */
struct ozc_thread *ozc_thread_start(struct ozc_shared *shared);
/* Wakes it up to read the config or the releases. */
void ozc_thread_wake(struct ozc_thread *thread);
/* Stops it and releases what it holds. Accepts NULL. */
void ozc_thread_stop(struct ozc_thread *thread);
/* Swaps the spare staging buffer with *pixels (the graphics side's shown one). */
void ozc_swap_pixels(struct ozc_pixels *a, struct ozc_pixels *b);

void ozc_register_sources(void);

#endif
