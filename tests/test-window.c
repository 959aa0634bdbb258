/*
 * Window capture (toplevel sources) on the host: pixman, shm. A test client
 * draws known content; captures of its window must show exactly its own
 * pixels wherever the window is (covered, off-screen, on a disabled, rotated
 * or scale-2 output), with its subsurface and popup; damage comes from the
 * window alone; resizes re-negotiate and never end the session; closing
 * stops it. Both foreign-toplevel lists are exercised: wlroots' (handles the
 * compositor owns) and zerocap's own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>
#include "arrow.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "fixture.h"
#include "window-pattern.h"
#include "window.h"
#include "wl-helpers.h"
#ifdef ZT_WINDOW_GPU
#include "gpu-common.h"
#endif

#define WIN_W 200
#define WIN_H 150

/* What the window shows in image pixels, for a compare. */
struct expect {
	int width, height; /* image pixels */
	int scale;
	int g; /* main surface generation */
	/* A subsurface (pattern 100) at logical sub_x, sub_y of sub_w x sub_h; 0: none. */
	int sub_x, sub_y, sub_w, sub_h;
	bool sub_180; /* its buffer transform is 180 */
	int sub_vx, sub_vy; /* its viewport's source origin (source size: 1:1) */
	/* A popup (pattern 200) at logical popup_x, popup_y; 0 size: none. */
	int popup_x, popup_y, popup_w, popup_h;
	/* The arrow cursor's hotspot in image pixels; has_cursor false: none. */
	bool has_cursor;
	int cursor_x, cursor_y;
	/* A rect painted green over the main surface, buffer pixels. */
	int paint_x, paint_y, paint_w, paint_h;
};

static uint32_t expected_pixel(const struct expect *e, int x, int y) {
	int s = e->scale;
	/* The arrow is opaque where it is drawn. */
	uint32_t arrow = e->has_cursor ? zt_arrow_argb(x - e->cursor_x, y - e->cursor_y) : 0;
	if (arrow != 0) {
		return arrow;
	}
	if (e->popup_w > 0 && x >= e->popup_x * s && x < (e->popup_x + e->popup_w) * s &&
			y >= e->popup_y * s && y < (e->popup_y + e->popup_h) * s) {
		return zt_window_pattern(x - e->popup_x * s, y - e->popup_y * s, 200);
	}
	if (e->sub_w > 0 && x >= e->sub_x * s && x < (e->sub_x + e->sub_w) * s &&
			y >= e->sub_y * s && y < (e->sub_y + e->sub_h) * s) {
		int lx = x - e->sub_x * s, ly = y - e->sub_y * s;
		if (e->sub_180) {
			lx = e->sub_w * s - 1 - lx;
			ly = e->sub_h * s - 1 - ly;
		}
		return zt_window_pattern(lx + e->sub_vx, ly + e->sub_vy, 100);
	}
	if (e->paint_w > 0 && x >= e->paint_x && x < e->paint_x + e->paint_w &&
			y >= e->paint_y && y < e->paint_y + e->paint_h) {
		return 0xff00ff00;
	}
	return zt_window_pattern(x, y, e->g);
}

/* Pixels of a captured buffer that differ from e (-1: unreadable). */
static int compare_buffer(struct zcc_buffer *buffer, const struct expect *e, const char *what);

/* Pixels of image that differ from e (printing the first few). */
static int compare(const struct zcc_image *image, const struct expect *e, const char *what) {
	int bad = 0;
	for (int y = 0; y < e->height; y++) {
		for (int x = 0; x < e->width; x++) {
			uint32_t got = 0, want = expected_pixel(e, x, y);
			if (!zcc_image_pixel(image, x, y, &got) || (got & 0xffffff) != (want & 0xffffff)) {
				if (bad < 3) {
					fprintf(stderr, "  %s: %d,%d got %08x want %08x\n", what, x, y, got, want);
				}
				bad++;
			}
		}
	}
	return bad;
}

static int compare_buffer(struct zcc_buffer *buffer, const struct expect *e, const char *what) {
	if (buffer->type == ZCC_BUFFER_DMABUF) {
		struct zcc_image image = zcc_dmabuf_read(buffer);
		int bad = image.data != NULL ? compare(&image, e, what) : -1;
		free((void *)image.data);
		return bad;
	}
	struct zcc_image image = zcc_buffer_image(buffer);
	return compare(&image, e, what);
}

static struct zcc_toplevel *find_toplevel(struct zcc_client *client, const char *app_id) {
	struct zcc_toplevel *toplevel = NULL;
	for (int i = 0; i < 50 && toplevel == NULL; i++) {
		toplevel = zcc_client_find_toplevel(client, app_id);
		if (toplevel == NULL) {
			zcc_client_roundtrip(client, 1000);
		}
	}
	ZT_CHECK(toplevel != NULL, "the toplevel list has no window %s", app_id);
	return toplevel;
}

struct capture {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_buffer *buffer;
	struct zcc_dmabuf_device *device; /* GPU build */
};

static bool capture_open(struct capture *c, struct zt_compositor *comp, const char *app_id,
		uint32_t options) {
	memset(c, 0, sizeof(*c));
	c->client = zt_connect(comp);
	if (c->client == NULL) {
		return false;
	}
	struct zcc_toplevel *toplevel = find_toplevel(c->client, app_id);
	if (toplevel == NULL) {
		return false;
	}
	c->session = zcc_session_create_for_toplevel(c->client, toplevel, options);
	if (zcc_session_wait_constraints(c->session, 5000) != 1 || c->session->stopped) {
		ZT_CHECK(false, "window %s: no constraints", app_id);
		return false;
	}
	return true;
}

/* (Re)allocates the buffer at the session's size. */
static struct zcc_buffer *capture_buffer(struct capture *c) {
	if (c->buffer != NULL && c->buffer->width == (int32_t)c->session->constraints.width &&
			c->buffer->height == (int32_t)c->session->constraints.height) {
		return c->buffer;
	}
	zcc_buffer_destroy(c->buffer);
#ifdef ZT_WINDOW_GPU
	if (c->device == NULL) {
		c->device = gt_device(c->session);
	}
	c->buffer = c->device != NULL ?
		gt_dmabuf(c->device, c->session, GT_DRM_FORMAT_XRGB8888) : NULL;
#else
	c->buffer = zt_session_buffer(c->session);
#endif
	return c->buffer;
}

static void capture_close(struct capture *c) {
	zcc_buffer_destroy(c->buffer);
	zcc_dmabuf_device_destroy(c->device);
	zcc_session_destroy(c->session);
	if (c->client != NULL) {
		zcc_client_destroy(c->client);
	}
}

/* One full capture checked against e. */
static void check_pixels(struct capture *c, const struct expect *e, const char *what) {
	ZT_CHECK(c->session->constraints.width == (uint32_t)e->width &&
		c->session->constraints.height == (uint32_t)e->height,
		"%s: buffer_size %ux%u, want %dx%d", what, c->session->constraints.width,
		c->session->constraints.height, e->width, e->height);
	struct zcc_buffer *buffer = capture_buffer(c);
	if (buffer == NULL) {
		return;
	}
#ifdef ZT_WINDOW_GPU
	zcc_dmabuf_fill(buffer, 0xff123456);
#else
	zcc_buffer_fill(buffer, 0xff123456);
#endif
	struct zcc_capture_result result;
	enum zcc_frame_status status = zcc_session_capture(c->session, buffer, NULL, 0, 5000,
		&result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s (%s)", what,
		zcc_frame_status_str(status), zcc_failure_reason_str(result.failure_reason));
	if (status == ZCC_FRAME_READY) {
		ZT_CHECK(result.transform == WL_OUTPUT_TRANSFORM_NORMAL, "%s: transform normal", what);
		int bad = compare_buffer(buffer, e, what);
		ZT_CHECK(bad == 0, "%s: %d pixels differ from the window's own", what, bad);
	}
	zcc_capture_result_finish(&result);
}

/* The same on a session of its own: its first frame comes at once. */
static void check_fresh(struct zt_compositor *comp, const char *app_id,
		const struct expect *e, const char *what) {
	struct capture c;
	if (capture_open(&c, comp, app_id, 0)) {
		check_pixels(&c, e, what);
#ifdef ZT_WINDOW_GPU
		/* And into shm: the same composite, read back from the GPU. */
		struct zcc_buffer *shm = zt_session_buffer(c.session);
		struct zcc_capture_result result;
		enum zcc_frame_status status = shm != NULL ? zcc_session_capture(c.session, shm,
			NULL, 0, 15000, &result) : ZCC_FRAME_ERROR;
		ZT_CHECK(status == ZCC_FRAME_READY, "%s, shm: %s", what,
			zcc_frame_status_str(status));
		if (status == ZCC_FRAME_READY) {
			ZT_CHECK(compare_buffer(shm, e, what) == 0, "%s, shm: pixels", what);
		}
		if (shm != NULL) {
			zcc_capture_result_finish(&result);
		}
		zcc_buffer_destroy(shm);
#endif
	}
	capture_close(&c);
}

static const struct expect plain = {.width = WIN_W, .height = WIN_H, .scale = 1};

static bool start(struct zt_compositor *comp, const char *list) {
	const char *args[] = {"--output", "640x480", "--toplevel-list", list, NULL};
	return zt_compositor_start(comp, args);
}

static void test_placements(const char *list) {
	char title[96];
	snprintf(title, sizeof(title), "the window's own pixels wherever it is (%s list)", list);
	zt_section(title);
	struct zt_compositor comp;
	if (!start(&comp, list)) {
		return;
	}
	struct zt_window win = {.pid = -1}, other = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	if (!zt_window_start(&win, &comp, "zt-main", size)) {
		zt_compositor_stop(&comp);
		return;
	}
	struct capture c;
	if (capture_open(&c, &comp, "zt-main", 0)) {
		check_pixels(&c, &plain, "on screen");
		/* A second window and a compositor rect over it. */
		if (zt_window_start(&other, &comp, "zt-cover", size)) {
			zt_cmd(&comp, "window-move %d %d %d", other.id, win.x + 20, win.y + 10);
			zt_cmd(&comp, "window-raise %d", other.id);
			ZT_CHECK(zt_cmd(&comp, "rect cover %d %d 50 50 ff00ffff", win.x, win.y),
				"rect: %s", comp.reply);
			check_pixels(&c, &plain, "covered");
		}
		ZT_CHECK(zt_cmd(&comp, "window-move %d -120 -60", win.id), "move: %s", comp.reply);
		check_fresh(&comp, "zt-main", &plain, "partly off-screen");
		ZT_CHECK(zt_cmd(&comp, "window-move %d 5000 5000", win.id), "move: %s", comp.reply);
		struct expect drawn = plain;
		drawn.g = 1;
		ZT_CHECK(zt_window_cmd(&win, "draw"), "draw: %s", win.reply);
		check_pixels(&c, &drawn, "off every output, redrawn");
		zt_cmd(&comp, "window-move %d 10 10", win.id);
		ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 transform 90"), "transform: %s", comp.reply);
		check_fresh(&comp, "zt-main", &drawn, "rotated output");
		ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 disable"), "disable: %s", comp.reply);
		drawn.g = 2;
		ZT_CHECK(zt_window_cmd(&win, "draw"), "draw: %s", win.reply);
		check_pixels(&c, &drawn, "disabled output");
		zt_cmd(&comp, "output HEADLESS-1 enable");
		zt_window_stop(&other);
#ifdef ZT_WINDOW_GPU
		struct gt_stats stats;
		ZT_CHECK(gt_stats(&comp, &stats) && stats.gpu_blits > 0,
			"window captures were GPU draws (%llu)", (unsigned long long)stats.gpu_blits);
#endif
	}
	capture_close(&c);
	zt_window_stop(&win);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

static void test_scale_and_children(void) {
	zt_section("buffer scale 2, a subsurface and a popup");
	struct zt_compositor comp;
	if (!start(&comp, "wlroots")) {
		return;
	}
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 scale 2"), "scale: %s", comp.reply);
	struct zt_window win = {.pid = -1};
	const char *args[] = {"--size", "200x150", "--scale", "2", NULL};
	if (!zt_window_start(&win, &comp, "zt-hidpi", args)) {
		zt_compositor_stop(&comp);
		return;
	}
	struct capture c;
	if (capture_open(&c, &comp, "zt-hidpi", 0)) {
		struct expect e = {.width = WIN_W * 2, .height = WIN_H * 2, .scale = 2};
		check_pixels(&c, &e, "scale 2: the client's own pixels, 2x");
		ZT_CHECK(zt_window_cmd(&win, "sub 20 30 40 25"), "sub: %s", win.reply);
		e.sub_x = 20, e.sub_y = 30, e.sub_w = 40, e.sub_h = 25;
		check_pixels(&c, &e, "with a subsurface");
		ZT_CHECK(zt_window_cmd(&win, "sub 20 30 40 25 transform 2"), "sub: %s", win.reply);
		e.sub_180 = true;
		check_pixels(&c, &e, "a subsurface with buffer transform 180");
		ZT_CHECK(zt_window_cmd(&win, "sub 20 30 40 25 viewport 7 5 80 50"), "sub: %s",
			win.reply);
		e.sub_180 = false;
		e.sub_vx = 7, e.sub_vy = 5;
		check_pixels(&c, &e, "a subsurface through a viewport");
		ZT_CHECK(zt_window_cmd(&win, "popup 100 60 50 40"), "popup: %s", win.reply);
		e.popup_x = 100, e.popup_y = 60, e.popup_w = 50, e.popup_h = 40;
		check_pixels(&c, &e, "with a popup");
		/* Past the window's edge: clipped, and the image keeps its size. */
		ZT_CHECK(zt_window_cmd(&win, "popup-close"), "popup-close: %s", win.reply);
		ZT_CHECK(zt_window_cmd(&win, "popup 180 130 60 60"), "popup: %s", win.reply);
		e.popup_x = 180, e.popup_y = 130, e.popup_w = 60, e.popup_h = 60;
		check_pixels(&c, &e, "a popup past the edge");
		ZT_CHECK(c.session->constraint_batches == 1,
			"popups and subsurfaces send no new constraints (%u batches)",
			c.session->constraint_batches);
	}
	capture_close(&c);
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

static void test_damage(void) {
	zt_section("damage from the window's own surfaces only");
	struct zt_compositor comp;
	if (!start(&comp, "zerocap")) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	struct capture c;
	if (zt_window_start(&win, &comp, "zt-damage", size) &&
			capture_open(&c, &comp, "zt-damage", 0)) {
		struct zcc_buffer *buffer = capture_buffer(&c);
		if (buffer != NULL && zt_opening_frames(c.session, buffer, "opening frames")) {
			/* Elsewhere on screen: no frame. */
			struct zcc_frame *frame = zt_frame_start(c.session, buffer);
			zt_cmd(&comp, "rect elsewhere 400 300 30 30 ffffffff");
			zt_check_waiting(c.client, frame, "a change outside the window");
			ZT_CHECK(zt_window_cmd(&win, "paint 10 20 5 6"), "paint: %s", win.reply);
			enum zcc_frame_status status = zcc_frame_wait(frame, 5000);
			ZT_CHECK(status == ZCC_FRAME_READY, "paint gives a frame: %s",
				zcc_frame_status_str(status));
			if (status == ZCC_FRAME_READY) {
				pixman_region32_t damage;
				zt_region_from_result(&damage, &frame->result);
				ZT_CHECK(zt_region_has_rect(&damage, (struct zcc_rect){10, 20, 5, 6}),
					"damage covers the painted rect");
				ZT_CHECK(zcc_rects_union_area(frame->result.damage,
					frame->result.n_damage) == 30,
					"damage is the painted rect alone");
				pixman_region32_fini(&damage);
				struct expect e = plain;
				e.paint_x = 10, e.paint_y = 20, e.paint_w = 5, e.paint_h = 6;
				ZT_CHECK(compare_buffer(buffer, &e, "painted") == 0, "painted pixels");
			}
			zcc_frame_destroy(frame);
		}
	}
	capture_close(&c);
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

static void test_resize_loop(void) {
	zt_section("a resize loop of 50 steps while capturing");
	struct zt_compositor comp;
	if (!start(&comp, "wlroots")) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	struct capture c;
	if (zt_window_start(&win, &comp, "zt-resize", size) &&
			capture_open(&c, &comp, "zt-resize", 0)) {
		int constraint_failures = 0, bad = 0;
		for (int step = 0; step < 50; step++) {
			int w = 120 + (step * 37) % 200, h = 90 + (step * 53) % 150;
			ZT_CHECK(zt_cmd(&comp, "window-resize %d %d %d", win.id, w, h),
				"resize: %s", comp.reply);
			/* Capture in whatever size the client has until the new one is in. */
			for (int tries = 0; tries < 10; tries++) {
				struct zcc_buffer *buffer = capture_buffer(&c);
				if (buffer == NULL) {
					break;
				}
				struct zcc_capture_result result;
				enum zcc_frame_status status = zcc_session_capture(c.session, buffer, NULL,
					0, 5000, &result);
				bool done = false;
				if (status == ZCC_FRAME_FAILED &&
						result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS) {
					constraint_failures++;
					zcc_session_wait_batches(c.session, c.session->constraint_batches, 200);
				} else if (status == ZCC_FRAME_READY) {
					done = buffer->width == w && buffer->height == h;
				} else {
					ZT_CHECK(false, "step %d: %s (%s)", step, zcc_frame_status_str(status),
						zcc_failure_reason_str(result.failure_reason));
					bad++;
					done = true;
				}
				zcc_capture_result_finish(&result);
				if (done || c.session->stopped) {
					break;
				}
				zcc_client_roundtrip(c.client, 1000);
			}
			if (c.session->stopped || bad > 0) {
				break;
			}
		}
		ZT_CHECK(!c.session->stopped, "the session lives through 50 resizes");
		ZT_CHECK(bad == 0, "no frame failed with unknown or stopped");
		ZT_CHECK(c.session->constraint_batches > 40,
			"every resize sent new constraints (%u batches, %d frames failed "
			"buffer_constraints)", c.session->constraint_batches, constraint_failures);
		if (zt_window_refresh(&win, &comp)) {
			struct expect e = plain;
			e.width = win.width, e.height = win.height;
			check_fresh(&comp, "zt-resize", &e, "after the loop, in the new size");
		}
	}
	capture_close(&c);
	zt_window_stop(&win);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

static void test_close(const char *list) {
	char title[96];
	snprintf(title, sizeof(title), "closing the window stops the session (%s list)", list);
	zt_section(title);
	struct zt_compositor comp;
	if (!start(&comp, list)) {
		return;
	}
	int fds = -1;
	char old_id[64] = "";
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	struct capture c;
	if (zt_window_start(&win, &comp, "zt-close", size) &&
			capture_open(&c, &comp, "zt-close", 0)) {
		struct zcc_toplevel *old = zcc_client_find_toplevel(c.client, "zt-close");
		snprintf(old_id, sizeof(old_id), "%s", old != NULL ? old->identifier : "");
		struct zcc_buffer *buffer = capture_buffer(&c);
		if (buffer != NULL && zt_opening_frames(c.session, buffer, "opening frames")) {
			struct zcc_frame *frame = zt_frame_start(c.session, buffer);
			zt_check_waiting(c.client, frame, "a still window");
			ZT_CHECK(zt_cmd(&comp, "window-close %d", win.id), "close: %s", comp.reply);
			ZT_CHECK(zt_window_wait_exit(&win, 5000), "the client leaves on close");
			zt_check_frame_failed(frame, ZCC_FAILURE_STOPPED, "the waiting frame");
			zcc_client_dispatch_until(c.client, zt_session_stopped, c.session, 5000);
			ZT_CHECK(c.session->stopped, "the session is stopped");
			zcc_frame_destroy(frame);
		}
		ZT_CHECK(old != NULL && old->closed, "the handle got closed");
		capture_close(&c);
		memset(&c, 0, sizeof(c));
		zt_cmd(&comp, "sync");
		usleep(100000);
		/* What a compositor that has seen windows and captures holds anyway. */
		fds = zt_count_fds(comp.pid);
		c.client = zt_connect(&comp);
		struct zt_window again = {.pid = -1};
		if (zt_window_start(&again, &comp, "zt-close", size)) {
			zcc_client_roundtrip(c.client, 1000);
			struct zcc_toplevel *fresh = find_toplevel(c.client, "zt-close");
			ZT_CHECK(fresh != NULL && old_id[0] != '\0' &&
				strcmp(fresh->identifier, old_id) != 0,
				"the same app_id again is a new handle (%s vs %s)",
				fresh != NULL ? fresh->identifier : "-", old_id);
			/* Killed mid-capture. */
			struct capture k;
			if (capture_open(&k, &comp, "zt-close", 0)) {
				struct zcc_buffer *kb = capture_buffer(&k);
				struct zcc_frame *kf = kb != NULL &&
					zt_opening_frames(k.session, kb, "opening frames") ?
					zt_frame_start(k.session, kb) : NULL;
				if (again.pid > 0) {
					kill(again.pid, SIGKILL);
				}
				zt_window_wait_exit(&again, 5000);
				if (kf != NULL) {
					zt_check_frame_failed(kf, ZCC_FAILURE_STOPPED, "after a kill");
					zcc_frame_destroy(kf);
				}
			}
			capture_close(&k);
			zt_window_stop(&again);
		}
	}
	capture_close(&c);
	zt_window_stop(&win);
	zt_cmd(&comp, "sync");
	usleep(100000);
	ZT_CHECK(zt_count_fds(comp.pid) == fds, "compositor fds back at %d (now %d)", fds,
		zt_count_fds(comp.pid));
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

static void test_cursor(void) {
	zt_section("paint_cursors: the pointer drawn where it is over the window");
	struct zt_compositor comp;
	if (!start(&comp, "wlroots")) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	if (zt_window_start(&win, &comp, "zt-cursor", size)) {
		zt_cmd(&comp, "window-move %d 100 80", win.id);
		ZT_CHECK(zt_cmd(&comp, "cursor 130 100"), "cursor: %s", comp.reply);
		struct expect e = plain;
		check_fresh(&comp, "zt-cursor", &e, "without paint_cursors: no cursor");
		struct capture c;
		if (capture_open(&c, &comp, "zt-cursor",
				EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS)) {
			e.has_cursor = true;
			e.cursor_x = 30, e.cursor_y = 20;
			check_pixels(&c, &e, "with paint_cursors: relative to the window");
			/* A move is damage for cursor sessions: the next frame has it. */
			ZT_CHECK(zt_cmd(&comp, "cursor 250 200"), "cursor: %s", comp.reply);
			e.cursor_x = 150, e.cursor_y = 120;
			check_pixels(&c, &e, "after the pointer moved");
			/* Moved off the window: the arrow is gone. */
			ZT_CHECK(zt_cmd(&comp, "cursor 500 400"), "cursor: %s", comp.reply);
			e.has_cursor = false;
			check_pixels(&c, &e, "pointer off the window");
		}
		capture_close(&c);
	}
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

#ifndef ZT_WINDOW_GPU
/*
 * A window alone on a bare output: wlroots 0.19 on scans its buffer out
 * with a destination box, a commit whose buffer is no image of the output
 * (labwc does this). Output captures show the window where it is and the
 * black of the bare output around it.
 */
static void test_scanout(void) {
	zt_section("an output that scans one window out is captured as it looks");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", "--no-background", "--debug", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	struct zcc_client *client = NULL;
	if (zt_window_start(&win, &comp, "zt-scanout", size) &&
			zt_cmd(&comp, "window-move %d 100 80", win.id) &&
			zt_window_cmd(&win, "draw") && (client = zt_connect(&comp)) != NULL) {
		usleep(200000);
#if ZT_WLROOTS_MINOR >= 19
		ZT_CHECK(zt_log_contains(&comp, "Direct scan-out enabled"),
			"wlroots scanned the window out");
#endif
		struct zcc_session *session =
			zcc_session_create(client, zcc_client_find_output(client, NULL), 0);
		struct zcc_buffer *buffer = session != NULL &&
			zcc_session_wait_constraints(session, 5000) == 1 ?
			zt_session_buffer(session) : NULL;
		struct zcc_capture_result result = {0};
		enum zcc_frame_status status = buffer != NULL ?
			zcc_session_capture(session, buffer, NULL, 0, 5000, &result) : ZCC_FRAME_FAILED;
		ZT_CHECK(status == ZCC_FRAME_READY, "output capture: %s",
			zcc_frame_status_str(status));
		if (status == ZCC_FRAME_READY) {
			struct zcc_image image = zcc_buffer_image(buffer);
			int bad = 0;
			for (int y = 0; y < 480; y++) {
				for (int x = 0; x < 640; x++) {
					bool in = x >= 100 && x < 300 && y >= 80 && y < 230;
					uint32_t want = in ? zt_window_pattern(x - 100, y - 80, 1) : 0;
					uint32_t got = 0;
					bad += !zcc_image_pixel(&image, x, y, &got) ||
						(got & 0xffffff) != (want & 0xffffff);
				}
			}
			ZT_CHECK(bad == 0, "%d pixels differ from the window at 100,80 on black", bad);
		}
		zcc_capture_result_finish(&result);
		zcc_buffer_destroy(buffer);
		zcc_session_destroy(session);
		zcc_client_destroy(client);
	}
	zt_window_stop(&win);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}
#endif

static void test_policy(void) {
	zt_section("consent names the window; revoke and activity work for windows");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", "--policy=ask", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	if (zt_window_start(&win, &comp, "zt-ask", size)) {
		struct zcc_client *client = zt_connect(&comp);
		struct zcc_toplevel *toplevel = client != NULL ? find_toplevel(client, "zt-ask") : NULL;
		struct zcc_session *session = toplevel != NULL ?
			zcc_session_create_for_toplevel(client, toplevel, 0) : NULL;
		zcc_client_roundtrip(client, 1000);
		const char *event = zt_next_event(&comp, 5000);
		unsigned id = 0;
		char target[64] = "";
		ZT_CHECK(event != NULL && sscanf(event, "request %u %*d %63s", &id, target) == 2 &&
			strcmp(target, "window:zt-ask") == 0, "the request names the window: %s",
			event != NULL ? event : "(none)");
		ZT_CHECK(zt_cmd(&comp, "window-captured %d", win.id) &&
			strcmp(comp.reply, "ok off") == 0, "not captured before consent: %s", comp.reply);
		ZT_CHECK(zt_cmd(&comp, "allow %u", id), "allow: %s", comp.reply);
		ZT_CHECK(session != NULL && zcc_session_wait_constraints(session, 5000) == 1 &&
			!session->stopped, "allowed: constraints");
		ZT_CHECK(zt_cmd(&comp, "window-captured %d", win.id) &&
			strcmp(comp.reply, "ok on") == 0, "captured once allowed: %s", comp.reply);
		ZT_CHECK(zt_cmd(&comp, "window-revoke %d", win.id), "revoke: %s", comp.reply);
		if (session != NULL) {
			zcc_client_dispatch_until(client, zt_session_stopped, session, 5000);
			ZT_CHECK(session->stopped, "revoked: the session is stopped");
		}
		ZT_CHECK(zt_cmd(&comp, "window-captured %d", win.id) &&
			strcmp(comp.reply, "ok off") == 0, "not captured after revoke: %s", comp.reply);
		zcc_session_destroy(session);
		if (client != NULL) {
			zcc_client_destroy(client);
		}
	}
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

int main(void) {
#ifdef ZT_WINDOW_GPU
	zt_wait_ms = GT_EXPECT_MS;
#endif
	test_placements("wlroots");
	test_placements("zerocap");
	test_scale_and_children();
	test_damage();
	test_resize_loop();
	test_close("wlroots");
	test_close("zerocap");
	test_cursor();
	test_policy();
#ifndef ZT_WINDOW_GPU
	test_scanout();
#endif
	return zt_finish();
}
