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
/* ct_run with extra_env as for ct_spawn. */
bool ct_run_env(const char *dir, const char *socket, const char *const *argv,
	const char *const *extra_env, int timeout_ms, const char *log);
/* Whether a line of dir/file contains text. */
bool ct_file_contains(const char *dir, const char *file, const char *text);
/* Prints dir/log to stderr (after a failure). */
void ct_print_log(const char *dir, const char *log);

/*
 * A fresh private directory; removed (with everything below it) by
 * ct_tmpdir_remove, unless CT_KEEP_TMP is set (for a look afterwards).
 */
bool ct_tmpdir(char *path, size_t size);
void ct_tmpdir_remove(const char *path);

/* Describes a wait status ("exit 1", "signal 9", "timeout"). */
const char *ct_status_str(int status);

/* ---- the protocol log ---- */

/*
 * What a client did on the wire, read from its WAYLAND_DEBUG=1 log (the
 * lines libwayland writes to its stderr: "-> iface#id.request(...)" for
 * requests, "iface#id.event(...)" for events).
 */
struct ct_wire {
	/* ext-image-copy-capture-v1 and ext-image-capture-source-v1 */
	int ext_requests; /* any, except destroying a manager it bound */
	int ext_sessions; /* ext_image_copy_capture_manager_v1.create_session */
	int ext_cursor_sessions; /* ....create_pointer_cursor_session */
	int ext_captures; /* ext_image_copy_capture_frame_v1.capture */
	int ext_ready, ext_failed; /* frame events */
	int ext_cursor_ready; /* ready of frames of a cursor session's capture session */
	/* wlr-screencopy-unstable-v1 */
	int screencopy_requests; /* any, except destroying the manager */
	int screencopy_copies; /* zwlr_screencopy_frame_v1.copy, .copy_with_damage */
	int screencopy_ready, screencopy_failed;
	int lines; /* protocol lines seen */
};

/* Reads dir/log; false when it cannot be read. */
bool ct_wire_read(const char *dir, const char *log, struct ct_wire *wire);

enum ct_protocol {
	CT_EXT_IMAGE_COPY_CAPTURE,
	CT_SCREENCOPY,
};
const char *ct_protocol_name(enum ct_protocol protocol);

/*
 * Checks that the log in dir/log shows frames captured and made ready on
 * protocol, and no capture request on the other one (binding a global and
 * destroying it again is not a capture). Prints the counts with label:
 * sessions as output+cursor sessions, ready as output+cursor frames.
 */
void ct_check_protocol(const char *dir, const char *log, enum ct_protocol protocol,
	const char *label);

#endif
