/*
 * Helpers for the real-client tests: run a third-party program against the
 * fixture's compositor, decode what it wrote (PNG, PPM, JPEG) and compare it
 * with the scene the test set up through --control.
 *
 * Images are RGB, 8 bits per channel; colours are 0xRRGGBB.
 */
#ifndef CT_CLIENTS_H
#define CT_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "fixture.h"

#define CT_BACKGROUND 0x202020u /* the compositor's output background */
#define CT_OUTSIDE 0xff000000u /* "any colour": outside every output */

struct ct_image {
	int width, height;
	uint8_t *rgb; /* width * height * 3 */
};

bool ct_read_png(const char *path, struct ct_image *image);
bool ct_read_ppm(const char *path, struct ct_image *image);
bool ct_read_jpeg(const char *path, struct ct_image *image);
void ct_image_finish(struct ct_image *image);
uint32_t ct_image_pixel(const struct ct_image *image, int x, int y);

/* ---- the scene ---- */

struct ct_rect {
	const char *name;
	int x, y, w, h; /* layout coordinates */
	uint32_t rgb;
};

struct ct_output {
	int x, y, w, h; /* layout box (logical size) */
};

struct ct_scene {
	const struct ct_rect *rects;
	int n_rects;
	const struct ct_output *outputs;
	int n_outputs;
	bool cursor; /* the compositor's arrow, hotspot at cursor_x, cursor_y */
	int cursor_x, cursor_y;
};

/* Creates the rects through the control channel (records failures). */
bool ct_scene_apply(struct zt_compositor *comp, const struct ct_scene *scene);
/*
 * Colour at layout position (x, y) for a capture at `scale` pixels per
 * layout unit: px, py are in pixels of that capture, relative to layout 0,0.
 * CT_OUTSIDE where no output is.
 */
uint32_t ct_scene_color(const struct ct_scene *scene, int px, int py, int scale);

/*
 * Expected colour of image pixel (x, y), CT_OUTSIDE for "do not check".
 */
typedef uint32_t (*ct_expect_fn)(void *data, int x, int y);

struct ct_compare {
	int tolerance; /* per channel */
	int margin; /* skip pixels this close to a change in the expectation */
	int checked, bad; /* out */
};

/*
 * Compares image with want over the whole image; prints the first few
 * mismatches with label. Returns the number of mismatching pixels.
 */
int ct_compare_image(const struct ct_image *image, ct_expect_fn want, void *data,
	struct ct_compare *options, const char *label);

/* The scene at scale, in pixels relative to layout (ox, oy) * scale. */
struct ct_scene_view {
	const struct ct_scene *scene;
	int ox, oy; /* layout origin of the image */
	int scale;
	/* Raw buffer orientation: wl_output transform and the upright size. */
	int transform;
	int up_w, up_h;
};
uint32_t ct_scene_view_expect(void *data, int x, int y);

/* ---- processes ---- */

/* Whether a program can be executed (an absolute path, or found in PATH). */
bool ct_have_program(const char *name);
/*
 * Starts argv[0] (looked up in PATH) in dir with WAYLAND_DISPLAY=socket;
 * stdout and stderr go to dir/<log>. extra_env: NULL-terminated "K=V" list
 * or NULL. Returns the pid or -1.
 */
pid_t ct_spawn(const char *dir, const char *socket, const char *const *argv,
	const char *const *extra_env, const char *log);
/*
 * Waits up to timeout_ms for pid; on timeout kills it (SIGKILL). Returns the
 * wait status, or -1 on timeout.
 */
int ct_wait(pid_t pid, int timeout_ms);
/* ct_spawn + ct_wait; true when it exited with status 0. */
bool ct_run(const char *dir, const char *socket, const char *const *argv, int timeout_ms,
	const char *log);
/* Prints dir/log to stderr (after a failure). */
void ct_print_log(const char *dir, const char *log);

/* A fresh private directory; removed (with its files) by ct_tmpdir_remove. */
bool ct_tmpdir(char *path, size_t size);
void ct_tmpdir_remove(const char *path);

/* Describes a wait status ("exit 1", "signal 9", "timeout"). */
const char *ct_status_str(int status);

#endif
