/*
 * libzerocap-client against the reference compositor (host: pixman, shm),
 * driven through its own event loop as an application would: targets come
 * and go (outputs, windows), a region scaled to half checked by pixels, a
 * format the compositor cannot give fails with NO_FORMAT, a mode change
 * mid-capture re-makes the pool, a consumer that never releases frames
 * runs the pool dry without blocking, fds stay put over 10,000 frames, the
 * compositor going away stops the capture, and a compositor without
 * zerocap's options says "unsupported" for what needs them.
 */
#include <drm_fourcc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "arrow.h"
#include "fixture.h"
#include "window.h"
#include "zerocap-client.h"

static uint64_t now_ms(void) {
	return zcc_now_ns() / 1000000u;
}

struct app {
	int added, removed, changed;
	char last_added[64], last_removed[64];
	int frames, constraints, dry, stopped, failed;
	enum zcl_error error;
	uint32_t width, height, format;
	bool release; /* give frames back at once */
	struct zcl_frame *held[64];
	int n_held;
	uint32_t first_pixel; /* of the last frame (shm) */
	uint8_t *copy; /* of the last frame, when asked */
	size_t copy_size;
	uint32_t stride;
};

static void target_added(void *data, struct zcl_target *target) {
	struct app *app = data;
	app->added++;
	snprintf(app->last_added, sizeof(app->last_added), "%s", zcl_target_get_type(target) ==
		ZCL_TARGET_WINDOW ? zcl_target_get_app_id(target) : zcl_target_get_name(target));
}

static void target_changed(void *data, struct zcl_target *target) {
	((struct app *)data)->changed++;
}

static void target_removed(void *data, struct zcl_target *target) {
	struct app *app = data;
	app->removed++;
	snprintf(app->last_removed, sizeof(app->last_removed), "%s", zcl_target_get_type(target) ==
		ZCL_TARGET_WINDOW ? zcl_target_get_app_id(target) : zcl_target_get_name(target));
}

static const struct zcl_client_listener client_listener = {
	.target_added = target_added,
	.target_changed = target_changed,
	.target_removed = target_removed,
};

static void on_frame(void *data, struct zcl_frame *frame) {
	struct app *app = data;
	const struct zcl_frame_info *info = zcl_frame_get_info(frame);
	app->frames++;
	app->width = info->width;
	app->height = info->height;
	if (info->data != NULL) {
		app->first_pixel = *(const uint32_t *)info->data;
		size_t size = (size_t)info->strides[0] * info->height;
		if (app->copy_size < size) {
			free(app->copy);
			app->copy = malloc(size);
			app->copy_size = size;
		}
		memcpy(app->copy, info->data, size);
		app->stride = info->strides[0];
	}
	if (app->release || app->n_held == 64) {
		zcl_frame_release(frame);
	} else {
		app->held[app->n_held++] = frame;
	}
}

static void on_constraints(void *data, uint32_t w, uint32_t h, uint32_t format) {
	struct app *app = data;
	app->constraints++;
	app->format = format;
}

static void on_dry(void *data) {
	((struct app *)data)->dry++;
}

static void on_stopped(void *data) {
	((struct app *)data)->stopped++;
}

static void on_failed(void *data, enum zcl_error error, const char *why) {
	struct app *app = data;
	app->failed++;
	app->error = error;
}

static const struct zcl_capture_listener capture_listener = {
	.frame = on_frame,
	.constraints = on_constraints,
	.pool_dry = on_dry,
	.stopped = on_stopped,
	.failed = on_failed,
};

/* Runs the application's loop until cond holds or timeout_ms pass; false on timeout. */
static bool pump(struct zcl_client *client, int timeout_ms, bool (*cond)(struct app *),
		struct app *app) {
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	while (cond == NULL || !cond(app)) {
		uint64_t now = now_ms();
		if (now >= end) {
			return cond == NULL;
		}
		struct pollfd pfd = {.fd = zcl_client_get_fd(client), .events = POLLIN};
		poll(&pfd, 1, (int)(end - now));
		if (zcl_client_dispatch(client) < 0) {
			return cond != NULL && cond(app);
		}
	}
	return true;
}

static bool is_ready(struct app *app);
static struct zcl_client *ready_client;
static bool is_ready(struct app *app) {
	return zcl_client_ready(ready_client);
}

static struct zcl_client *connect_app(struct zt_compositor *comp, struct app *app) {
	struct zcl_client *client = zcl_client_connect(comp->socket, &client_listener, app);
	ZT_CHECK(client != NULL, "connect");
	if (client != NULL) {
		ready_client = client;
		ZT_CHECK(pump(client, 5000, is_ready, app), "the client gets ready");
	}
	return client;
}

static int want_frames;
static bool enough_frames(struct app *app) {
	return app->frames >= want_frames || app->failed > 0 || app->stopped > 0;
}

static void test_targets(void) {
	zt_section("targets: outputs and windows come and go");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", "--toplevel-list=zerocap", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct app app = {0};
	struct zcl_client *client = connect_app(&comp, &app);
	if (client == NULL) {
		zt_compositor_stop(&comp);
		return;
	}
	struct zcl_target *output = zcl_client_find_target(client, "HEADLESS-1");
	int32_t w = 0, h = 0;
	if (output != NULL) {
		zcl_target_get_size(output, &w, &h);
	}
	ZT_CHECK(output != NULL && zcl_target_get_type(output) == ZCL_TARGET_OUTPUT &&
		w == 640 && h == 480, "HEADLESS-1 is a 640x480 output target");
	struct zt_window window;
	if (zt_window_start(&window, &comp, "zcl.test", NULL)) {
		int before = app.added;
		bool seen = pump(client, 5000, NULL, &app) || true;
		(void)seen;
		struct zcl_target *win = zcl_client_find_target(client, "zcl.test");
		ZT_CHECK(app.added > before && win != NULL &&
			zcl_target_get_type(win) == ZCL_TARGET_WINDOW &&
			strncmp(zcl_target_get_name(win), "zc-", 3) == 0,
			"the window is a target found by app_id, with an identifier (%s)",
			win != NULL ? zcl_target_get_name(win) : "none");
		zt_window_stop(&window);
		pump(client, 500, NULL, &app);
		ZT_CHECK(strcmp(app.last_removed, "zcl.test") == 0 &&
			zcl_client_find_target(client, "zcl.test") == NULL, "the closed window is removed");
	}
	ZT_CHECK(zt_cmd(&comp, "output add 320 240"), "output add");
	char name[64];
	snprintf(name, sizeof(name), "%s", comp.reply + 3);
	pump(client, 300, NULL, &app);
	ZT_CHECK(zcl_client_find_target(client, name) != NULL, "a new output %s is a target", name);
	zt_output_remove(&comp, name);
	pump(client, 300, NULL, &app);
	ZT_CHECK(strcmp(app.last_removed, name) == 0, "the removed output is removed (%s)",
		app.last_removed);
	zcl_client_destroy(client);
	zt_compositor_stop(&comp);
}

/* A 2x-downscaled region, pixel-exact: the scene's edges fall on even pixels. */
static void test_region(struct zt_compositor *comp) {
	zt_section("a region at half size");
	ZT_CHECK(zt_cmd(comp, "rect a 20 20 40 40 ff0000ff"), "rect a");
	ZT_CHECK(zt_cmd(comp, "rect b 60 40 20 20 00ff00ff"), "rect b");
	struct app app = {.release = true};
	struct zcl_client *client = connect_app(comp, &app);
	if (client == NULL) {
		return;
	}
	ZT_CHECK(zcl_client_has_options(client), "zerocap's options are there");
	struct zcl_capture_options o = {
		.has_region = true, .x = 10, .y = 10, .width = 100, .height = 80,
		.out_width = 50, .out_height = 40, .format = DRM_FORMAT_XRGB8888,
	};
	enum zcl_error error;
	struct zcl_capture *capture = zcl_capture_create(client,
		zcl_client_find_target(client, "HEADLESS-1"), &o, &capture_listener, &app, &error);
	ZT_CHECK(capture != NULL, "create: %s", zcl_client_last_error(client));
	want_frames = 1;
	ZT_CHECK(pump(client, 5000, enough_frames, &app) && app.frames == 1, "a frame");
	ZT_CHECK(app.width == 50 && app.height == 40 && app.format == DRM_FORMAT_XRGB8888,
		"50x40 XRGB8888 (%ux%u)", app.width, app.height);
	int bad = 0;
	for (int y = 0; y < 40 && app.copy != NULL; y++) {
		for (int x = 0; x < 50; x++) {
			int sx = 10 + 2 * x, sy = 10 + 2 * y;
			uint32_t want = 0x202020;
			if (sx >= 20 && sx < 60 && sy >= 20 && sy < 60) {
				want = 0xff0000;
			} else if (sx >= 60 && sx < 80 && sy >= 40 && sy < 60) {
				want = 0x00ff00;
			}
			uint32_t got = ((uint32_t *)(app.copy + (size_t)y * app.stride))[x] & 0xffffff;
			bad += got != want;
		}
	}
	ZT_CHECK(bad == 0, "the half-size region shows the scene (%d pixels differ)", bad);
	zcl_capture_destroy(capture);

	/* NV12 needs dma-bufs, which a pixman compositor has none of. */
	struct app nv = {.release = true};
	struct zcl_capture_options yuv = {.format = DRM_FORMAT_NV12, .matrix = ZCL_MATRIX_BT709};
	capture = zcl_capture_create(client, zcl_client_find_target(client, "HEADLESS-1"), &yuv,
		&capture_listener, &nv, NULL);
	want_frames = 1;
	pump(client, 3000, enough_frames, &nv);
	ZT_CHECK(nv.failed == 1 && nv.error == ZCL_ERROR_NO_FORMAT && nv.frames == 0,
		"NV12 without dma-bufs fails with NO_FORMAT (failed %d, error %d)", nv.failed,
		nv.error);
	zcl_capture_destroy(capture);
	struct zcl_capture_options bad_options = {.n_buffers = 2};
	capture = zcl_capture_create(client, zcl_client_find_target(client, "HEADLESS-1"),
		&bad_options, &capture_listener, &nv, &error);
	ZT_CHECK(capture == NULL && error == ZCL_ERROR_INVALID, "2 buffers are refused");
	free(app.copy);
	free(nv.copy);
	zcl_client_destroy(client);
}

static bool constraints_twice(struct app *app) {
	return app->constraints >= 2 && app->width == 320;
}

static void test_mode_change(struct zt_compositor *comp) {
	zt_section("a mode change mid-capture re-makes the pool");
	struct app app = {.release = true};
	struct zcl_client *client = connect_app(comp, &app);
	if (client == NULL) {
		return;
	}
	struct zcl_capture *capture = zcl_capture_create(client,
		zcl_client_find_target(client, "HEADLESS-1"), NULL, &capture_listener, &app, NULL);
	want_frames = 2;
	ZT_CHECK(pump(client, 5000, enough_frames, &app), "two frames");
	ZT_CHECK(zt_cmd(comp, "output HEADLESS-1 mode 320 240"), "mode");
	ZT_CHECK(zt_cmd(comp, "rect c 0 0 10 10 0000ffff"), "rect c");
	ZT_CHECK(pump(client, 5000, constraints_twice, &app), "a frame at 320x240 after new "
		"constraints (%d batches, %ux%u)", app.constraints, app.width, app.height);
	ZT_CHECK(app.failed == 0 && app.stopped == 0, "no failure or stop for a mode change");
	zcl_capture_destroy(capture);
	free(app.copy);
	zcl_client_destroy(client);
	ZT_CHECK(zt_cmd(comp, "output HEADLESS-1 mode 640 480"), "mode back");
}

static void test_dry(void) {
	zt_section("a consumer that keeps every frame runs the pool dry; fds over 10,000 frames");
	struct zt_compositor comp;
	const char *args[] = {"--output", "64x64", "--demo-hz", "1000", "--demo-damage", "10",
		NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 mode 64 64 1000000"), "1000 Hz");
	struct app app = {0};
	struct zcl_client *client = connect_app(&comp, &app);
	if (client == NULL) {
		zt_compositor_stop(&comp);
		return;
	}
	struct zcl_capture_options o = {.n_buffers = 3};
	struct zcl_capture *capture = zcl_capture_create(client,
		zcl_client_find_target(client, "HEADLESS-1"), &o, &capture_listener, &app, NULL);
	want_frames = 3;
	ZT_CHECK(pump(client, 5000, enough_frames, &app), "three frames");
	uint64_t start = now_ms();
	pump(client, 300, NULL, &app);
	ZT_CHECK(now_ms() - start < 1000, "dispatching never blocks with a dry pool");
	ZT_CHECK(app.frames == 3 && app.dry == 1 && zcl_capture_get_dry_spells(capture) == 1,
		"3 frames, then one dry spell (%d frames, %d dry)", app.frames, app.dry);
	zcl_frame_release(app.held[--app.n_held]);
	want_frames = 4;
	ZT_CHECK(pump(client, 5000, enough_frames, &app) && app.frames == 4,
		"a released buffer brings a frame (%d frames, failed %d (%s), stopped %d)", app.frames,
		app.failed, zcl_error_str(app.error), app.stopped);
	while (app.n_held > 0) {
		zcl_frame_release(app.held[--app.n_held]);
	}
	app.release = true;
	int fds = zt_count_fds(0), comp_fds = zt_count_fds(comp.pid);
	want_frames = app.frames + (getenv("ZT_FEW") ? 20 : 10000);
	start = now_ms();
	ZT_CHECK(pump(client, getenv("ZT_FEW") ? 3000 : 120000, enough_frames, &app), "10,000 more frames (%d)",
		app.frames);
	printf("  10,000 frames in %.1f s (frames %d, dry %d, failed %d, stopped %d, held %d)\n",
		(now_ms() - start) / 1000.0, app.frames, app.dry, app.failed, app.stopped, app.n_held);
	ZT_CHECK(zt_count_fds(0) == fds && zt_count_fds(comp.pid) == comp_fds,
		"fds the same after 10,000 frames (client %d -> %d, compositor %d -> %d)", fds,
		zt_count_fds(0), comp_fds, zt_count_fds(comp.pid));

	/* The compositor goes away mid-capture. */
	zt_compositor_stop(&comp);
	pump(client, 2000, NULL, &app);
	ZT_CHECK(app.stopped == 1, "the capture is stopped when the compositor goes");
	ZT_CHECK(zcl_client_dispatch(client) == -1, "dispatch says the connection is gone");
	zcl_capture_destroy(capture);
	free(app.copy);
	zcl_client_destroy(client);
}

static void test_plain_compositor(void) {
	zt_section("a compositor without zerocap's options");
	struct zt_compositor comp;
	const char *args[] = {"--output", "320x240", "--capture=wlroots", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct app app = {.release = true};
	struct zcl_client *client = connect_app(&comp, &app);
	if (client != NULL) {
		ZT_CHECK(!zcl_client_has_options(client), "no options");
		struct zcl_target *output = zcl_client_find_target(client, "HEADLESS-1");
		struct zcl_capture_options o = {.has_region = true, .width = 10, .height = 10};
		enum zcl_error error;
		ZT_CHECK(zcl_capture_create(client, output, &o, &capture_listener, &app, &error) ==
			NULL && error == ZCL_ERROR_UNSUPPORTED, "a region is unsupported");
		struct zcl_capture *capture = zcl_capture_create(client, output, NULL,
			&capture_listener, &app, &error);
		if (capture != NULL) {
			want_frames = 1;
			ZT_CHECK(pump(client, 5000, enough_frames, &app) && app.frames == 1 &&
				app.width == 320, "a plain capture works (%d frames)", app.frames);
		} else {
			/* wlroots before 0.19 has no ext-image-copy-capture of its own. */
			ZT_CHECK(error == ZCL_ERROR_UNSUPPORTED, "no capture protocol: unsupported");
		}
		zcl_capture_destroy(capture);
		free(app.copy);
		zcl_client_destroy(client);
	}
	zt_compositor_stop(&comp);
}

struct cursor_app {
	int changes, stopped;
	struct zcl_cursor_info info;
	int bad_pixels; /* of the last bitmap, against the arrow */
};

static void cursor_changed(void *data, const struct zcl_cursor_info *info) {
	struct cursor_app *app = data;
	app->changes++;
	app->info = *info;
	if (info->pixels == NULL) {
		return;
	}
	app->bad_pixels = 0;
	for (uint32_t y = 0; y < info->height; y++) {
		const uint32_t *row = (const uint32_t *)((const uint8_t *)info->pixels +
			(size_t)y * info->stride);
		for (uint32_t x = 0; x < info->width; x++) {
			app->bad_pixels += row[x] != zt_arrow_argb((int)x, (int)y);
		}
	}
}

static void cursor_stopped(void *data) {
	((struct cursor_app *)data)->stopped++;
}

static const struct zcl_cursor_listener cursor_listener = {
	.changed = cursor_changed,
	.stopped = cursor_stopped,
};

static struct cursor_app *cursor_wait;
static int cursor_want_x;
static bool cursor_at(struct app *unused) {
	return cursor_wait->info.inside && cursor_wait->info.pixels != NULL &&
		cursor_wait->info.x == cursor_want_x;
}
static bool cursor_gone(struct app *unused) {
	return !cursor_wait->info.inside;
}
static bool cursor_ended(struct app *unused) {
	return cursor_wait->stopped > 0;
}

/* zcl_cursor: where the pointer is over an output, and its image. */
static void test_cursor(struct zt_compositor *comp) {
	zt_section("a cursor: position, hotspot and image over an output");
	ZT_CHECK(zt_cmd(comp, "cursor show"), "cursor show");
	ZT_CHECK(zt_cmd(comp, "cursor 50 60"), "cursor 50 60: %s", comp->reply);
	struct app app = {.release = true};
	struct zcl_client *client = connect_app(comp, &app);
	if (client == NULL) {
		return;
	}
	struct cursor_app c = {0};
	enum zcl_error error;
	struct zcl_cursor *cursor = zcl_cursor_create(client,
		zcl_client_find_target(client, "HEADLESS-1"), &cursor_listener, &c, &error);
	ZT_CHECK(cursor != NULL && error == ZCL_OK, "zcl_cursor_create: %s",
		zcl_client_last_error(client));
	cursor_wait = &c;
	cursor_want_x = 50;
	ZT_CHECK(pump(client, 5000, cursor_at, &app), "the cursor is over the output, with an "
		"image (inside %d, at %d,%d)", c.info.inside, c.info.x, c.info.y);
	ZT_CHECK(c.info.x == 50 && c.info.y == 60, "at 50,60 (got %d,%d)", c.info.x, c.info.y);
	ZT_CHECK(c.info.hotspot_x == 0 && c.info.hotspot_y == 0, "hotspot 0,0 (got %d,%d)",
		c.info.hotspot_x, c.info.hotspot_y);
	ZT_CHECK(c.info.width == ZT_ARROW_WIDTH && c.info.height == ZT_ARROW_HEIGHT &&
		c.bad_pixels == 0, "the bitmap is the %dx%d arrow (%ux%u, %d pixels differ)",
		ZT_ARROW_WIDTH, ZT_ARROW_HEIGHT, c.info.width, c.info.height, c.bad_pixels);
	uint64_t serial = c.info.image_serial;
	ZT_CHECK(zt_cmd(comp, "cursor 300 200"), "cursor 300 200: %s", comp->reply);
	cursor_want_x = 300;
	ZT_CHECK(pump(client, 5000, cursor_at, &app) && c.info.y == 200,
		"moved to 300,200 (got %d,%d)", c.info.x, c.info.y);
	ZT_CHECK(c.info.image_serial == serial, "a move is not a new image");
	ZT_CHECK(zt_cmd(comp, "cursor hide"), "cursor hide: %s", comp->reply);
	ZT_CHECK(pump(client, 5000, cursor_gone, &app), "hidden: not inside any more");
	ZT_CHECK(zt_cmd(comp, "cursor show"), "cursor show: %s", comp->reply);
	ZT_CHECK(pump(client, 5000, cursor_at, &app), "shown: inside again");
	ZT_CHECK(c.stopped == 0, "not stopped");

	/* The output goes away: the cursor stops, as captures do. */
	ZT_CHECK(zt_cmd(comp, "output add 320 240"), "output add: %s", comp->reply);
	char name[64];
	snprintf(name, sizeof(name), "%s", comp->reply + 3);
	pump(client, 500, NULL, &app);
	struct cursor_app gone = {0};
	struct zcl_cursor *second = zcl_cursor_create(client, zcl_client_find_target(client, name),
		&cursor_listener, &gone, NULL);
	ZT_CHECK(second != NULL, "a cursor on %s: %s", name, zcl_client_last_error(client));
	pump(client, 300, NULL, &app);
	zt_output_remove(comp, name);
	cursor_wait = &gone;
	ZT_CHECK(pump(client, 5000, cursor_ended, &app), "removing %s stops its cursor", name);
	zcl_cursor_destroy(second);
	zcl_cursor_destroy(cursor);
	zcl_client_destroy(client);
}

int main(void) {
	test_targets();
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (zt_compositor_start(&comp, args)) {
		test_region(&comp);
		test_mode_change(&comp);
		test_cursor(&comp);
		ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
		zt_compositor_stop(&comp);
	}
	test_dry();
	test_plain_compositor();
	return zt_finish();
}
