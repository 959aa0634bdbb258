/*
 * Pixel-exact content: a known scene of solid rects must come back exactly,
 * upright and at the right size, for every output transform at scale 1 and 2,
 * in every advertised shm format, and in raw-transform mode with the
 * transform event telling the client what to apply. Presentation times are
 * real and increase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-protocol.h>
#include "fixture.h"

#define OUTPUT_W 640
#define OUTPUT_H 480
#define BACKGROUND 0xff202020u

struct scene_rect {
	const char *name;
	int x, y, w, h;
	uint32_t rgba;
};

/* Inside 240x240 so every transform and scale 2 shows all of it. */
static const struct scene_rect scene[] = {
	{"red", 10, 20, 30, 40, 0xff0000ff},
	{"green", 200, 200, 40, 40, 0x00ff00ff},
	{"blue", 100, 0, 20, 10, 0x0000ffff},
	{"white", 0, 230, 7, 10, 0xffffffff},
	{"over", 30, 50, 20, 20, 0xffff00ff}, /* overlaps red */
};
#define SCENE_LEN (sizeof(scene) / sizeof(scene[0]))

static const char *const transform_names[] = {
	"normal", "90", "180", "270", "flipped", "flipped-90", "flipped-180", "flipped-270",
};

/* The upright image the user sees at this scale (logical size lw x lh). */
static uint32_t *expected_image(int width, int height, int scale) {
	uint32_t *img = calloc((size_t)width * height, sizeof(*img));
	for (int i = 0; i < width * height; i++) {
		img[i] = BACKGROUND;
	}
	for (size_t r = 0; r < SCENE_LEN; r++) {
		const struct scene_rect *s = &scene[r];
		for (int y = s->y * scale; y < (s->y + s->h) * scale && y < height; y++) {
			for (int x = s->x * scale; x < (s->x + s->w) * scale && x < width; x++) {
				img[y * width + x] = zt_rgba_to_argb(s->rgba);
			}
		}
	}
	return img;
}

/* Where upright pixel (x, y) lies in a raw buffer of raw_w x raw_h. */
static void raw_position(int transform, int raw_w, int raw_h, int x, int y,
		int *rx, int *ry) {
	/* Inverse of wlr_box_transform(raw -> upright) for a 1x1 box. */
	switch (transform) {
	case WL_OUTPUT_TRANSFORM_NORMAL: *rx = x; *ry = y; break;
	case WL_OUTPUT_TRANSFORM_90: *rx = y; *ry = raw_h - 1 - x; break;
	case WL_OUTPUT_TRANSFORM_180: *rx = raw_w - 1 - x; *ry = raw_h - 1 - y; break;
	case WL_OUTPUT_TRANSFORM_270: *rx = raw_w - 1 - y; *ry = x; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED: *rx = raw_w - 1 - x; *ry = y; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_90: *rx = y; *ry = x; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_180: *rx = x; *ry = raw_h - 1 - y; break;
	default: *rx = raw_w - 1 - y; *ry = raw_h - 1 - x; break;
	}
}

/* Compares a captured image, upright or raw (transform applied), with the scene. */
static int compare(const struct zcc_image *image, int transform, bool raw,
		int up_w, int up_h, int scale) {
	uint32_t *want = expected_image(up_w, up_h, scale);
	uint32_t mask = zcc_format_has_alpha(image->format) ? 0xffffffff : 0x00ffffff;
	int bad = 0;
	for (int y = 0; y < up_h; y++) {
		for (int x = 0; x < up_w; x++) {
			int rx = x, ry = y;
			if (raw) {
				raw_position(transform, image->width, image->height, x, y, &rx, &ry);
			}
			uint32_t got = 0;
			bool ok = zcc_image_pixel(image, rx, ry, &got);
			if (!ok || (got & mask) != (want[y * up_w + x] & mask)) {
				if (bad < 3) {
					fprintf(stderr, "  upright %d,%d (buffer %d,%d): got %08x want %08x\n",
						x, y, rx, ry, got, want[y * up_w + x]);
				}
				bad++;
			}
		}
	}
	free(want);
	return bad;
}

static bool set_output(struct zt_compositor *comp, int transform, int scale) {
	bool ok = zt_cmd(comp, "output HEADLESS-1 transform %s", transform_names[transform]);
	ok = zt_cmd(comp, "output HEADLESS-1 scale %d", scale) && ok;
	ZT_CHECK(ok, "cannot set transform %s scale %d: %s", transform_names[transform], scale,
		comp->reply);
	return ok;
}

static void setup_scene(struct zt_compositor *comp) {
	for (size_t i = 0; i < SCENE_LEN; i++) {
		const struct scene_rect *s = &scene[i];
		ZT_CHECK(zt_cmd(comp, "rect %s %d %d %d %d %08x", s->name, s->x, s->y, s->w, s->h,
			s->rgba), "rect %s: %s", s->name, comp->reply);
	}
}

/* Captures one frame of the first output in format; checks it against the scene. */
static void check_capture(struct zcc_client *client, uint32_t format, int transform,
		int scale, bool raw) {
	const char *tname = transform_names[transform];
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	if (zcc_session_wait_constraints(session, -1) != 1 || session->stopped) {
		ZT_CHECK(false, "%s x%d: no constraints", tname, scale);
		zcc_session_destroy(session);
		return;
	}
	int mode_w = OUTPUT_W, mode_h = OUTPUT_H;
	bool rotated = transform % 2 == 1;
	int up_w = rotated ? mode_h : mode_w, up_h = rotated ? mode_w : mode_h;
	int want_w = raw ? mode_w : up_w, want_h = raw ? mode_h : up_h;
	ZT_CHECK(session->constraints.width == (uint32_t)want_w &&
		session->constraints.height == (uint32_t)want_h,
		"%s x%d raw=%d: buffer_size %ux%u, want %dx%d", tname, scale, raw,
		session->constraints.width, session->constraints.height, want_w, want_h);
	if (!zcc_constraints_has_shm_format(&session->constraints, format)) {
		ZT_CHECK(false, "format %s not advertised", zcc_format_name(format));
		zcc_session_destroy(session);
		return;
	}

	struct zcc_buffer *buffer = zcc_buffer_create(client, format,
		session->constraints.width, session->constraints.height, 0);
	struct zcc_capture_result result;
	enum zcc_frame_status status = zcc_session_capture(session, buffer, NULL, 0, -1, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s x%d %s: capture %s (reason %s)", tname, scale,
		zcc_format_name(format), zcc_frame_status_str(status),
		zcc_failure_reason_str(result.failure_reason));
	if (status == ZCC_FRAME_READY) {
		uint32_t want_transform = raw ? (uint32_t)transform : WL_OUTPUT_TRANSFORM_NORMAL;
		ZT_CHECK(result.transform_events == 1 && result.transform == want_transform,
			"%s raw=%d: transform event %u (%u events), want %u", tname, raw,
			result.transform, result.transform_events, want_transform);
		ZT_CHECK(result.presentation_events == 1, "one presentation_time event");
		ZT_CHECK(result.n_damage >= 1 && zcc_rects_union_area(result.damage,
			result.n_damage) == (uint64_t)want_w * want_h,
			"first frame has full damage");
		struct zcc_image image = zcc_buffer_image(buffer);
		int bad = compare(&image, transform, raw, up_w, up_h, scale);
		ZT_CHECK(bad == 0, "%s x%d %s raw=%d: %d pixels differ from the scene", tname, scale,
			zcc_format_name(format), raw, bad);
	}
	zcc_capture_result_finish(&result);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

static void test_upright(void) {
	zt_section("upright images for every transform and scale");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	setup_scene(&comp);
	for (int scale = 1; scale <= 2; scale++) {
		for (int t = 0; t < 8; t++) {
			if (!set_output(&comp, t, scale)) {
				continue;
			}
			struct zcc_client *client = zt_connect(&comp);
			if (client != NULL) {
				check_capture(client, WL_SHM_FORMAT_XRGB8888, t, scale, false);
				zcc_client_destroy(client);
			}
		}
	}
	zt_compositor_stop(&comp);
}

static void test_formats(void) {
	zt_section("every advertised shm format");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	setup_scene(&comp);
	struct zcc_client *client = zt_connect(&comp);
	if (client != NULL) {
		static const uint32_t formats[] = {
			WL_SHM_FORMAT_XRGB8888, WL_SHM_FORMAT_ARGB8888,
			WL_SHM_FORMAT_XBGR8888, WL_SHM_FORMAT_ABGR8888,
		};
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			check_capture(client, formats[i], WL_OUTPUT_TRANSFORM_NORMAL, 1, false);
		}
		zcc_client_destroy(client);
	}
	zt_compositor_stop(&comp);
}

static void test_raw_transform(void) {
	zt_section("raw transform: output orientation plus transform event");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", "--raw-transform", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	setup_scene(&comp);
	for (int t = 0; t < 8; t++) {
		if (!set_output(&comp, t, 1)) {
			continue;
		}
		struct zcc_client *client = zt_connect(&comp);
		if (client != NULL) {
			check_capture(client, WL_SHM_FORMAT_XRGB8888, t, 1, true);
			zcc_client_destroy(client);
		}
	}
	zt_compositor_stop(&comp);
}

static uint64_t ts_ns(const struct timespec *ts) {
	return (uint64_t)ts->tv_sec * 1000000000u + ts->tv_nsec;
}

static void test_presentation_time(void) {
	zt_section("presentation time is the output's, and increases");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		zt_compositor_stop(&comp);
		return;
	}
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	zcc_session_wait_constraints(session, -1);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		session->constraints.width, session->constraints.height, 0);
	uint64_t last = 0;
	for (int i = 0; i < 5; i++) {
		/* The two opening frames come at once; later ones wait for a change. */
		bool opening = i < 2;
		struct zcc_frame *frame = zcc_frame_create(session);
		zcc_frame_attach_buffer(frame, buffer);
		zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
		zcc_frame_capture(frame);
		if (!opening) {
			/* The frame waits for this change: its time is the commit's. */
			zt_cmd(&comp, "rect moving %d 0 10 10 ff00ffff", 20 * i);
		}
		enum zcc_frame_status status = zcc_frame_wait(frame, -1);
		ZT_CHECK(status == ZCC_FRAME_READY, "frame %d: %s", i, zcc_frame_status_str(status));
		if (status == ZCC_FRAME_READY) {
			uint64_t presented = ts_ns(&frame->result.presentation_time);
			ZT_CHECK(frame->result.has_presentation_time, "frame %d has a time", i);
			ZT_CHECK(presented <= frame->result.done_ns,
				"frame %d presented before ready arrived", i);
			/* The opening frames show the image the output had already
			 * presented (maybe long ago); later ones the commits they
			 * waited for. */
			if (!opening) {
				ZT_CHECK(presented > last, "frame %d time increases", i);
				ZT_CHECK(presented >= frame->result.capture_ns,
					"frame %d shows content committed after capture", i);
			}
			last = presented;
		}
		zcc_frame_destroy(frame);
	}
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
	zt_compositor_stop(&comp);
}

int main(void) {
	test_upright();
	test_formats();
	test_raw_transform();
	test_presentation_time();
	return zt_finish();
}
