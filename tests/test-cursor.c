/*
 * Cursors: paint_cursors is honoured exactly (the compositor's arrow, pixel
 * for pixel, only in sessions that ask for it), cursor moves and hiding give
 * frames only to those sessions, the cursor lands upright at layout position *
 * scale on transformed and scaled outputs, and pointer cursor sessions report
 * enter, leave, position and hotspot and capture the arrow image itself.
 */
#include <pixman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "arrow.h"
#include "window.h"
#include "wl-helpers.h"

#define NOTHING_MS 500
#define EXPECT_MS 5000

#define BACKGROUND 0xff202020u
#define RGB_MASK 0x00ffffffu
/* Pixels checked around the cursor image. */
#define MARGIN 8

static const struct zcc_rect no_damage[1];

static struct zcc_rect arrow_box(int hotspot_x, int hotspot_y) {
	return (struct zcc_rect){hotspot_x, hotspot_y, ZT_ARROW_WIDTH, ZT_ARROW_HEIGHT};
}

/*
 * Compares the area around a cursor with the hotspot at hx,hy: the arrow over
 * the background when painted, the background everywhere otherwise. Pixels
 * outside the image are skipped. Returns the number of mismatches.
 */
static int check_cursor_area(const struct zcc_buffer *buffer, int hx, int hy, bool painted,
		const char *what) {
	struct zcc_image image = zcc_buffer_image(buffer);
	int bad = 0;
	for (int y = hy - MARGIN; y < hy + ZT_ARROW_HEIGHT + MARGIN; y++) {
		for (int x = hx - MARGIN; x < hx + ZT_ARROW_WIDTH + MARGIN; x++) {
			uint32_t got;
			if (!zcc_image_pixel(&image, x, y, &got)) {
				continue;
			}
			uint32_t arrow = painted ? zt_arrow_argb(x - hx, y - hy) : 0;
			uint32_t want = arrow != 0 ? arrow : BACKGROUND;
			if ((got & RGB_MASK) != (want & RGB_MASK) && bad++ == 0) {
				fprintf(stderr, "  %s: pixel %d,%d is %08x, expected %08x\n", what,
					x, y, got, want);
			}
		}
	}
	return bad;
}

static bool pixel_is(const struct zcc_buffer *buffer, int x, int y, uint32_t argb) {
	struct zcc_image image = zcc_buffer_image(buffer);
	uint32_t got;
	return zcc_image_pixel(&image, x, y, &got) && (got & RGB_MASK) == (argb & RGB_MASK);
}

static bool capture(struct zcc_session *session, struct zcc_buffer *buffer, bool full,
		struct zcc_capture_result *result, const char *what) {
	enum zcc_frame_status status = zcc_session_capture(session, buffer,
		full ? NULL : no_damage, 0, EXPECT_MS, result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s", what, zcc_frame_status_str(status));
	return status == ZCC_FRAME_READY;
}

/* Starts a capture that should wait; checks nothing comes within NOTHING_MS. */
static struct zcc_frame *expect_no_frame(struct zcc_session *session,
		struct zcc_buffer *buffer, const char *what) {
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT && frame->result.status == ZCC_FRAME_PENDING,
		"%s: no frame within %d ms (got %s)", what, NOTHING_MS,
		zcc_frame_status_str(status));
	return frame;
}

static void test_paint_cursors(void) {
	zt_section("paint_cursors is honoured exactly");
	struct zt_compositor comp;
	if (!zt_compositor_start(&comp, NULL)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	struct zcc_output *output = client != NULL ? zcc_client_find_output(client, NULL) : NULL;
	struct zcc_session *with = output != NULL ?
		zt_session_open(client, output, ZCC_OPTION_PAINT_CURSORS) : NULL;
	struct zcc_session *without = output != NULL ? zt_session_open(client, output, 0) : NULL;
	struct zcc_buffer *bw = with != NULL ? zt_session_buffer(with) : NULL;
	struct zcc_buffer *bn = without != NULL ? zt_session_buffer(without) : NULL;
	struct zcc_capture_result r = {0};
	if (bw == NULL || bn == NULL) {
		goto out;
	}

	ZT_CHECK(zt_cmd(&comp, "cursor 200 150"), "cursor 200 150: %s", comp.reply);
	ZT_CHECK(zt_cmd(&comp, "cursor show"), "cursor show: %s", comp.reply);
	/* The opening frames: later ones have only what changed since. */
	if (zt_opening_frames(with, bw, "with cursors")) {
		ZT_CHECK(check_cursor_area(bw, 200, 150, true, "with cursors") == 0,
			"with cursors: the arrow is drawn exactly, hotspot at 200,150");
		ZT_CHECK(pixel_is(bw, 200, 150, 0xff000000), "the tip is black");
		ZT_CHECK(pixel_is(bw, 201, 152, 0xffffffff), "the fill is white");
		ZT_CHECK(pixel_is(bw, 211, 161, 0xff000000), "the wing is black");
		ZT_CHECK(pixel_is(bw, 203, 167, BACKGROUND), "a transparent pixel shows through");
		ZT_CHECK(pixel_is(bw, 207, 168, 0xff000000) && pixel_is(bw, 208, 168, 0xff000000) &&
			pixel_is(bw, 207, 167, 0xffffffff) && pixel_is(bw, 209, 168, BACKGROUND),
			"the tail");
	}
	if (zt_opening_frames(without, bn, "without cursors")) {
		ZT_CHECK(check_cursor_area(bn, 200, 150, false, "without cursors") == 0,
			"without cursors: only the background around the pointer");
	}

	zt_section("cursor moves give frames only to paint_cursors sessions");
	struct zcc_rect old_box = arrow_box(200, 150), new_box = arrow_box(300, 250);
	ZT_CHECK(zt_cmd(&comp, "cursor 300 250"), "cursor 300 250: %s", comp.reply);
	if (capture(with, bw, false, &r, "moved")) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		ZT_CHECK(zt_region_has_rect(&damage, old_box) && zt_region_has_rect(&damage, new_box),
			"moved: damage covers the old and the new cursor box");
		ZT_CHECK(area <= 4 * ZT_ARROW_WIDTH * ZT_ARROW_HEIGHT, "moved: damage is small (%llu px)",
			(unsigned long long)area);
		zt_print_damage("moved", &r);
		pixman_region32_fini(&damage);
		ZT_CHECK(check_cursor_area(bw, 300, 250, true, "moved") == 0,
			"moved: the arrow is at the new place");
		ZT_CHECK(check_cursor_area(bw, 200, 150, false, "moved") == 0,
			"moved: the old place shows the background");
	}
	zcc_capture_result_finish(&r);

	struct zcc_frame *frame = expect_no_frame(without, bn, "without cursors, cursor moved");
	struct zcc_rect changed = {500, 50, 10, 10};
	ZT_CHECK(zt_cmd(&comp, "rect r %d %d 10 10 ff0000ff", changed.x, changed.y), "rect");
	enum zcc_frame_status status = zcc_frame_wait(frame, EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "without cursors: a scene change completes the frame");
	if (status == ZCC_FRAME_READY) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &frame->result);
		ZT_CHECK(zt_region_has_rect(&damage, changed), "without cursors: damage has the rect");
		ZT_CHECK(!zt_region_touches_rect(&damage, old_box) &&
			!zt_region_touches_rect(&damage, new_box),
			"without cursors: no cursor damage");
		zt_print_damage("without cursors", &frame->result);
		pixman_region32_fini(&damage);
	}
	zcc_frame_destroy(frame);
	if (capture(with, bw, false, &r, "rect with cursors")) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		ZT_CHECK(zt_region_has_rect(&damage, changed) && !zt_region_touches_rect(&damage, new_box),
			"with cursors: a scene change is not cursor damage");
		pixman_region32_fini(&damage);
	}
	zcc_capture_result_finish(&r);

	zt_section("a hidden cursor is gone from the next frame");
	ZT_CHECK(zt_cmd(&comp, "cursor hide"), "cursor hide: %s", comp.reply);
	if (capture(with, bw, false, &r, "hidden")) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		ZT_CHECK(zt_region_has_rect(&damage, new_box), "hidden: damage covers the cursor box");
		pixman_region32_fini(&damage);
		ZT_CHECK(check_cursor_area(bw, 300, 250, false, "hidden") == 0,
			"hidden: only the background");
	}
	zcc_capture_result_finish(&r);
	frame = expect_no_frame(with, bw, "hidden cursor moved");
	ZT_CHECK(zt_cmd(&comp, "cursor 100 300"), "cursor 100 300: %s", comp.reply);
	status = zcc_frame_wait(frame, NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT, "a hidden cursor's moves give no frame (%s)",
		zcc_frame_status_str(status));
	ZT_CHECK(zt_cmd(&comp, "cursor show"), "cursor show: %s", comp.reply);
	status = zcc_frame_wait(frame, EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "showing it gives a frame (%s)",
		zcc_frame_status_str(status));
	if (status == ZCC_FRAME_READY) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &frame->result);
		ZT_CHECK(zt_region_has_rect(&damage, arrow_box(100, 300)),
			"shown: damage covers the cursor at its new place");
		pixman_region32_fini(&damage);
		/* The buffer held the previous frame: it is now the whole current image. */
		ZT_CHECK(check_cursor_area(bw, 100, 300, true, "shown") == 0,
			"shown: the arrow is back, where the pointer moved while hidden");
		ZT_CHECK(check_cursor_area(bw, 300, 250, false, "shown") == 0,
			"shown: nothing at the place it was hidden");
	}
	zcc_frame_destroy(frame);

out:
	zcc_capture_result_finish(&r);
	zcc_buffer_destroy(bw);
	zcc_buffer_destroy(bn);
	zcc_session_destroy(with);
	zcc_session_destroy(without);
	zcc_client_destroy(client);
	zt_compositor_stop(&comp);
}

/* Output names from the control channel's "outputs" reply, in creation order. */
static int output_names(struct zt_compositor *comp, char names[][32], int max) {
	if (!zt_cmd(comp, "outputs") || strncmp(comp->reply, "ok ", 3) != 0) {
		return 0;
	}
	int n = 0;
	const char *p = comp->reply + 3;
	while (*p != '\0' && n < max) {
		size_t len = strcspn(p, ",");
		snprintf(names[n++], 32, "%.*s", (int)len, p);
		p = strchr(p, ';');
		if (p == NULL) {
			break;
		}
		p++;
	}
	return n;
}

/*
 * Two outputs side by side: HEADLESS-1 640x480 scale 2 transform 90 (logical
 * 240x320 at layout 0,0, image 480x640) and HEADLESS-2 320x240 transform 180
 * (logical 320x240 at layout 240,0, image 320x240).
 */
static const char *const two_outputs[] = {
	"--output", "640x480@2:90", "--output", "320x240:180", NULL,
};

/* Their image sizes. */
static const uint32_t two_outputs_size[2][2] = {{480, 640}, {320, 240}};

struct two_outputs {
	struct zt_compositor comp;
	struct zcc_client *client;
	struct zcc_output *outputs[2];
};

static bool two_outputs_start(struct two_outputs *t) {
	memset(t, 0, sizeof(*t));
	if (!zt_compositor_start(&t->comp, two_outputs)) {
		return false;
	}
	t->client = zt_connect(&t->comp);
	char names[2][32];
	int n = output_names(&t->comp, names, 2);
	ZT_CHECK(n == 2, "two outputs (reply '%s')", t->comp.reply);
	for (int i = 0; i < n && t->client != NULL; i++) {
		t->outputs[i] = zcc_client_find_output(t->client, names[i]);
		ZT_CHECK(t->outputs[i] != NULL, "output %s", names[i]);
	}
	return t->outputs[0] != NULL && t->outputs[1] != NULL;
}

static void two_outputs_stop(struct two_outputs *t) {
	zcc_client_destroy(t->client);
	zt_compositor_stop(&t->comp);
}

/* Captures the first frame of a new session; NULL unless ready. */
static struct zcc_buffer *first_frame(struct zcc_client *client, struct zcc_output *output,
		uint32_t options, uint32_t width, uint32_t height, const char *what) {
	struct zcc_session *session = zt_session_open(client, output, options);
	struct zcc_buffer *buffer = NULL;
	if (session != NULL) {
		ZT_CHECK(session->constraints.width == width && session->constraints.height == height,
			"%s: buffer size %ux%u (got %ux%u)", what, width, height,
			session->constraints.width, session->constraints.height);
		buffer = zt_session_buffer(session);
	}
	struct zcc_capture_result r = {0};
	if (buffer != NULL && !capture(session, buffer, true, &r, what)) {
		zcc_buffer_destroy(buffer);
		buffer = NULL;
	}
	zcc_capture_result_finish(&r);
	zcc_session_destroy(session);
	return buffer;
}

/*
 * A new session's first frame of t's output i, around the hotspot at hx,hy:
 * the arrow when the session paints cursors, the background when not.
 */
static void check_cursor(struct two_outputs *t, int i, uint32_t options, int hx, int hy,
		const char *what) {
	struct zcc_buffer *b = first_frame(t->client, t->outputs[i], options,
		two_outputs_size[i][0], two_outputs_size[i][1], what);
	if (b != NULL) {
		bool painted = (options & ZCC_OPTION_PAINT_CURSORS) != 0;
		ZT_CHECK(check_cursor_area(b, hx, hy, painted, what) == 0, "%s", what);
	}
	zcc_buffer_destroy(b);
}

/* A new cursor-painting session's first frame of t's output i: the background alone. */
static void check_no_cursor(struct two_outputs *t, int i, const char *what) {
	uint32_t width = two_outputs_size[i][0], height = two_outputs_size[i][1];
	struct zcc_buffer *b = first_frame(t->client, t->outputs[i], ZCC_OPTION_PAINT_CURSORS,
		width, height, what);
	if (b != NULL) {
		struct zcc_image image = zcc_buffer_image(b);
		ZT_CHECK(zt_count_mismatch(&image, 0, 0, (int)width, (int)height, BACKGROUND) == 0,
			"%s", what);
	}
	zcc_buffer_destroy(b);
}

static void test_transformed(void) {
	zt_section("cursor on transformed and scaled outputs");
	struct two_outputs t;
	if (!two_outputs_start(&t)) {
		two_outputs_stop(&t);
		return;
	}
	/* Layout 50,60 on the scale-2 output: hotspot at 100,120 of the upright image. */
	ZT_CHECK(zt_cmd(&t.comp, "cursor 50 60"), "cursor 50 60: %s", t.comp.reply);
	check_cursor(&t, 0, ZCC_OPTION_PAINT_CURSORS, 100, 120,
		"90, scale 2: the arrow is upright, unscaled, hotspot at 100,120");
	check_cursor(&t, 0, 0, 100, 120, "90, scale 2, no cursors: background only");
	check_no_cursor(&t, 1, "180: the cursor on the other output is not drawn here");

	/* Layout 270,40 is 30,40 on the transform-180 output. */
	ZT_CHECK(zt_cmd(&t.comp, "cursor 270 40"), "cursor 270 40: %s", t.comp.reply);
	check_cursor(&t, 1, ZCC_OPTION_PAINT_CURSORS, 30, 40,
		"180: the arrow is upright, hotspot at 30,40");
	check_no_cursor(&t, 0, "90: the cursor on the other output is not drawn here");

	/* Partly off the right edge of the scale-2 output: clipped, not moved. */
	ZT_CHECK(zt_cmd(&t.comp, "cursor 236 300"), "cursor 236 300: %s", t.comp.reply);
	check_cursor(&t, 0, ZCC_OPTION_PAINT_CURSORS, 472, 600,
		"90, scale 2: a cursor at the edge is clipped at 472,600");

	/* Straddling both outputs: hotspot 476,200 on the first, -2,100 on the second. */
	ZT_CHECK(zt_cmd(&t.comp, "cursor 238 100"), "cursor 238 100: %s", t.comp.reply);
	check_cursor(&t, 0, ZCC_OPTION_PAINT_CURSORS, 476, 200,
		"straddling: the first output shows the left of the arrow");
	check_cursor(&t, 1, ZCC_OPTION_PAINT_CURSORS, -2, 100,
		"straddling: the second output shows the rest, from column 2");
	two_outputs_stop(&t);
}

/*
 * Where pixel x,y of a W x H buffer lands once the buffer is turned by
 * transform (as wlr_box_transform() moves a 1x1 box).
 */
static void transform_point(uint32_t transform, int w, int h, int x, int y,
		int *out_x, int *out_y) {
	switch (transform) {
	case WL_OUTPUT_TRANSFORM_90:
		*out_x = h - y - 1;
		*out_y = x;
		break;
	case WL_OUTPUT_TRANSFORM_180:
		*out_x = w - x - 1;
		*out_y = h - y - 1;
		break;
	case WL_OUTPUT_TRANSFORM_270:
		*out_x = y;
		*out_y = w - x - 1;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED:
		*out_x = w - x - 1;
		*out_y = y;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_90:
		*out_x = y;
		*out_y = x;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_180:
		*out_x = x;
		*out_y = h - y - 1;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_270:
		*out_x = h - y - 1;
		*out_y = w - x - 1;
		break;
	default:
		*out_x = x;
		*out_y = y;
		break;
	}
}

/* Pixels of raw, turned by transform, that differ from upright. */
static int count_raw_mismatch(const struct zcc_buffer *raw, uint32_t transform,
		const struct zcc_buffer *upright, const char *what) {
	struct zcc_image ri = zcc_buffer_image(raw), ui = zcc_buffer_image(upright);
	int bad = 0;
	for (int y = 0; y < raw->height; y++) {
		for (int x = 0; x < raw->width; x++) {
			int ux, uy;
			transform_point(transform, raw->width, raw->height, x, y, &ux, &uy);
			uint32_t got = 0, want = 0;
			bool ok = zcc_image_pixel(&ri, x, y, &got) &&
				zcc_image_pixel(&ui, ux, uy, &want);
			if ((!ok || (got & RGB_MASK) != (want & RGB_MASK)) && bad++ == 0) {
				fprintf(stderr, "  %s: raw pixel %d,%d is %08x, upright %d,%d is %08x\n",
					what, x, y, got, ux, uy, want);
			}
		}
	}
	return bad;
}

/* A cursor-painting first frame of output, the size of raw turned upright by transform. */
static struct zcc_buffer *upright_frame(struct zcc_client *client, struct zcc_output *output,
		const struct zcc_buffer *raw, uint32_t transform, const char *what) {
	bool turned = transform % 2 != 0;
	uint32_t width = (uint32_t)(turned ? raw->height : raw->width);
	uint32_t height = (uint32_t)(turned ? raw->width : raw->height);
	return first_frame(client, output, ZCC_OPTION_PAINT_CURSORS, width, height, what);
}

/*
 * --raw-transform: images keep the output buffer's orientation and the
 * transform event says how to turn them; the cursor is drawn in that
 * orientation too, so the turned image equals the upright capture.
 */
static void test_raw_transform(const char *mode, uint32_t transform) {
	struct zt_compositor upright, raw;
	const char *upright_args[] = {"--output", mode, NULL};
	const char *raw_args[] = {"--output", mode, "--raw-transform", NULL};
	if (!zt_compositor_start(&upright, upright_args)) {
		return;
	}
	if (!zt_compositor_start(&raw, raw_args)) {
		zt_compositor_stop(&upright);
		return;
	}
	struct zcc_client *uc = zt_connect(&upright), *rc = zt_connect(&raw);
	struct zcc_output *uo = uc != NULL ? zcc_client_find_output(uc, NULL) : NULL;
	struct zcc_output *ro = rc != NULL ? zcc_client_find_output(rc, NULL) : NULL;
	struct zcc_session *rs = ro != NULL ? zt_session_open(rc, ro, ZCC_OPTION_PAINT_CURSORS) : NULL;
	struct zcc_buffer *rb = rs != NULL ? zt_session_buffer(rs) : NULL;
	struct zcc_buffer *ub = NULL;
	struct zcc_capture_result r = {0};
	if (uo == NULL || rb == NULL) {
		goto out;
	}
	/* Taken first: the frames below get what the commands change. */
	zt_opening_frames(rs, rb, mode);
	for (int i = 0; i < 2; i++) {
		struct zt_compositor *comp = i == 0 ? &upright : &raw;
		ZT_CHECK(zt_cmd(comp, "rect mark 20 30 40 10 ff0000ff"), "rect");
		ZT_CHECK(zt_cmd(comp, "cursor 50 60"), "cursor 50 60");
	}
	if (capture(rs, rb, true, &r, mode)) {
		ZT_CHECK(r.transform == transform, "raw %s: transform event %u (got %u)", mode,
			transform, r.transform);
		ub = upright_frame(uc, uo, rb, transform, mode);
		ZT_CHECK(ub != NULL && count_raw_mismatch(rb, transform, ub, mode) == 0,
			"raw %s: turned by its transform, the image with the cursor is upright", mode);
	}
	zcc_capture_result_finish(&r);
	zcc_buffer_destroy(ub);
	ub = NULL;

	for (int i = 0; i < 2; i++) {
		struct zt_compositor *comp = i == 0 ? &upright : &raw;
		ZT_CHECK(zt_cmd(comp, "cursor 100 150"), "cursor 100 150");
	}
	if (capture(rs, rb, false, &r, mode)) {
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		ZT_CHECK(area > 0 && area <= 4 * ZT_ARROW_WIDTH * ZT_ARROW_HEIGHT,
			"raw %s: a cursor move is small damage (%llu px)", mode,
			(unsigned long long)area);
		ub = upright_frame(uc, uo, rb, transform, mode);
		ZT_CHECK(ub != NULL && count_raw_mismatch(rb, transform, ub, mode) == 0,
			"raw %s: after the move, the re-used buffer is the whole upright image", mode);
	}
out:
	zcc_capture_result_finish(&r);
	zcc_buffer_destroy(ub);
	zcc_buffer_destroy(rb);
	zcc_session_destroy(rs);
	zcc_client_destroy(uc);
	zcc_client_destroy(rc);
	zt_compositor_stop(&raw);
	zt_compositor_stop(&upright);
}

/* Pointer cursor sessions */

struct cursor_events {
	unsigned enters, leaves, positions, hotspots;
	bool entered;
	bool misordered; /* position or hotspot outside enter ... leave */
	int32_t x, y, hotspot_x, hotspot_y;
};

static void cursor_handle_enter(void *data,
		struct ext_image_copy_capture_cursor_session_v1 *proxy) {
	struct cursor_events *ev = data;
	ev->misordered |= ev->entered;
	ev->enters++;
	ev->entered = true;
}

static void cursor_handle_leave(void *data,
		struct ext_image_copy_capture_cursor_session_v1 *proxy) {
	struct cursor_events *ev = data;
	ev->misordered |= !ev->entered;
	ev->leaves++;
	ev->entered = false;
}

static void cursor_handle_position(void *data,
		struct ext_image_copy_capture_cursor_session_v1 *proxy, int32_t x, int32_t y) {
	struct cursor_events *ev = data;
	ev->misordered |= !ev->entered;
	ev->positions++;
	ev->x = x;
	ev->y = y;
}

static void cursor_handle_hotspot(void *data,
		struct ext_image_copy_capture_cursor_session_v1 *proxy, int32_t x, int32_t y) {
	struct cursor_events *ev = data;
	ev->misordered |= !ev->entered;
	ev->hotspots++;
	ev->hotspot_x = x;
	ev->hotspot_y = y;
}

/* Pixels of a cursor-sized ARGB8888 buffer that differ from the arrow. */
static int count_arrow_mismatch(const struct zcc_buffer *buffer) {
	struct zcc_image image = zcc_buffer_image(buffer);
	int bad = 0;
	for (int y = 0; y < ZT_ARROW_HEIGHT; y++) {
		for (int x = 0; x < ZT_ARROW_WIDTH; x++) {
			uint32_t got = 0;
			zcc_image_pixel(&image, x, y, &got);
			if (got != zt_arrow_argb(x, y) && bad++ == 0) {
				fprintf(stderr, "  cursor image: pixel %d,%d is %08x, expected %08x\n",
					x, y, got, zt_arrow_argb(x, y));
			}
		}
	}
	return bad;
}

static const struct ext_image_copy_capture_cursor_session_v1_listener cursor_listener = {
	.enter = cursor_handle_enter,
	.leave = cursor_handle_leave,
	.position = cursor_handle_position,
	.hotspot = cursor_handle_hotspot,
};

struct cursor_session {
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_cursor_session_v1 *proxy;
	struct cursor_events ev;
};

/* A cursor session on source (owned from now on). */
static void cursor_session_init_source(struct cursor_session *cs, struct zcc_client *client,
		struct ext_image_capture_source_v1 *source, struct wl_pointer *pointer) {
	memset(cs, 0, sizeof(*cs));
	cs->source = source;
	cs->proxy = ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy_capture_manager, cs->source, pointer);
	ext_image_copy_capture_cursor_session_v1_add_listener(cs->proxy, &cursor_listener,
		&cs->ev);
}

static void cursor_session_init(struct cursor_session *cs, struct zcc_client *client,
		struct zcc_output *output, struct wl_pointer *pointer) {
	cursor_session_init_source(cs, client, ext_output_image_capture_source_manager_v1_create_source(
		client->output_source_manager, output->wl_output), pointer);
}

static void cursor_session_finish(struct cursor_session *cs) {
	if (cs->proxy != NULL) {
		ext_image_copy_capture_cursor_session_v1_destroy(cs->proxy);
	}
	if (cs->source != NULL) {
		ext_image_capture_source_v1_destroy(cs->source);
	}
}

/* Dispatches until the compositor has answered everything sent so far. */
static void sync(struct zcc_client *client) {
	ZT_CHECK(zcc_client_roundtrip(client, EXPECT_MS) == 1, "roundtrip");
}

static void check_entered(struct cursor_session *cs, const char *what, int32_t x, int32_t y) {
	ZT_CHECK(cs->ev.entered, "%s: entered", what);
	ZT_CHECK(cs->ev.x == x && cs->ev.y == y, "%s: position %d,%d (got %d,%d)", what, x, y,
		cs->ev.x, cs->ev.y);
	ZT_CHECK(cs->ev.hotspots > 0 && cs->ev.hotspot_x == 0 && cs->ev.hotspot_y == 0,
		"%s: hotspot 0,0 (%u events, got %d,%d)", what, cs->ev.hotspots,
		cs->ev.hotspot_x, cs->ev.hotspot_y);
}

static void test_cursor_sessions(void) {
	zt_section("pointer cursor sessions: enter, leave, position, hotspot");
	struct two_outputs t;
	if (!two_outputs_start(&t)) {
		two_outputs_stop(&t);
		return;
	}
	struct zcc_client *client = t.client;
	struct wl_seat *seat = zcc_client_bind(client, &wl_seat_interface, 5);
	ZT_CHECK(seat != NULL, "a wl_seat");
	if (seat == NULL) {
		two_outputs_stop(&t);
		return;
	}
	struct wl_pointer *pointer = wl_seat_get_pointer(seat);
	ZT_CHECK(zt_cmd(&t.comp, "cursor show"), "cursor show");
	ZT_CHECK(zt_cmd(&t.comp, "cursor 50 60"), "cursor 50 60: %s", t.comp.reply);

	struct cursor_session cs[2];
	cursor_session_init(&cs[0], client, t.outputs[0], pointer);
	cursor_session_init(&cs[1], client, t.outputs[1], pointer);
	sync(client);
	ZT_CHECK(cs[0].ev.enters == 1 && cs[0].ev.positions == 1 && cs[0].ev.hotspots == 1,
		"output 1: enter, position and hotspot once (%u %u %u)", cs[0].ev.enters,
		cs[0].ev.positions, cs[0].ev.hotspots);
	check_entered(&cs[0], "output 1", 100, 120);
	ZT_CHECK(cs[1].ev.enters == 0 && cs[1].ev.positions == 0 && cs[1].ev.hotspots == 0,
		"output 2: nothing while the cursor is elsewhere");

	ZT_CHECK(zt_cmd(&t.comp, "cursor 70 80"), "cursor 70 80: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[0].ev.enters == 1 && cs[0].ev.positions == 2 && cs[0].ev.leaves == 0,
		"output 1: a move is one position event");
	ZT_CHECK(cs[0].ev.x == 140 && cs[0].ev.y == 160, "output 1: position 140,160 (got %d,%d)",
		cs[0].ev.x, cs[0].ev.y);

	ZT_CHECK(zt_cmd(&t.comp, "cursor 270 40"), "cursor 270 40: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[0].ev.leaves == 1 && !cs[0].ev.entered, "output 1: leave on another output");
	ZT_CHECK(cs[0].ev.positions == 2, "output 1: no position after leave");
	ZT_CHECK(cs[1].ev.enters == 1, "output 2: enter");
	check_entered(&cs[1], "output 2", 30, 40);

	ZT_CHECK(zt_cmd(&t.comp, "cursor hide"), "cursor hide: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.leaves == 1 && !cs[1].ev.entered, "output 2: leave when hidden");
	ZT_CHECK(cs[0].ev.enters == 1, "output 1: nothing when hidden elsewhere");
	ZT_CHECK(zt_cmd(&t.comp, "cursor 280 50"), "cursor 280 50: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.enters == 1 && cs[1].ev.positions == 1,
		"output 2: nothing for a hidden cursor's moves");
	ZT_CHECK(zt_cmd(&t.comp, "cursor show"), "cursor show: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.enters == 2, "output 2: enter when shown");
	check_entered(&cs[1], "output 2 shown", 40, 50);

	ZT_CHECK(zt_cmd(&t.comp, "cursor 50 60"), "cursor 50 60: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.leaves == 2 && !cs[1].ev.entered, "output 2: leave");
	ZT_CHECK(cs[0].ev.enters == 2, "output 1: enter again");
	check_entered(&cs[0], "output 1 again", 100, 120);
	ZT_CHECK(!cs[0].ev.misordered && !cs[1].ev.misordered,
		"enter comes before position and hotspot; nothing between leave and enter");

	ZT_CHECK(zt_cmd(&t.comp, "cursor 238 100"), "cursor 238 100: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.entered && cs[0].ev.entered, "straddling: both outputs entered");
	ZT_CHECK(cs[0].ev.x == 476 && cs[0].ev.y == 200, "straddling: 476,200 (got %d,%d)",
		cs[0].ev.x, cs[0].ev.y);
	ZT_CHECK(cs[1].ev.x == -2 && cs[1].ev.y == 100, "straddling: -2,100 (got %d,%d)",
		cs[1].ev.x, cs[1].ev.y);
	ZT_CHECK(zt_cmd(&t.comp, "cursor 50 60"), "cursor 50 60: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[1].ev.leaves == 3 && !cs[1].ev.entered && cs[0].ev.entered,
		"straddling: leave the second output again");

	zt_section("cursor capture sessions capture the cursor image");
	struct zt_raw_session rs;
	zt_raw_session_init(&rs,
		ext_image_copy_capture_cursor_session_v1_get_capture_session(cs[0].proxy));
	ZT_CHECK(zcc_client_dispatch_until(client, zt_raw_session_started, &rs, EXPECT_MS) == 1,
		"cursor capture session: constraints");
	ZT_CHECK(rs.batches == 1 && rs.stopped == 0 && rs.buffer_size_events == 1,
		"cursor capture session: one batch, not stopped");
	ZT_CHECK(rs.width == ZT_ARROW_WIDTH && rs.height == ZT_ARROW_HEIGHT,
		"cursor capture session: buffer size %dx%d (got %ux%u)", ZT_ARROW_WIDTH, ZT_ARROW_HEIGHT,
		rs.width, rs.height);
	ZT_CHECK(rs.argb8888, "cursor capture session: argb8888 is advertised");

	struct zcc_buffer *buffer = NULL;
	if (rs.batches == 1 && rs.width == ZT_ARROW_WIDTH && rs.height == ZT_ARROW_HEIGHT) {
		buffer = zcc_buffer_create(client, WL_SHM_FORMAT_ARGB8888, ZT_ARROW_WIDTH,
			ZT_ARROW_HEIGHT, 0);
	}
	if (buffer != NULL) {
		zcc_buffer_fill(buffer, 0x12345678);
		struct zt_raw_frame f;
		zt_raw_frame_start(&f, rs.proxy, buffer->wl_buffer, buffer->width, buffer->height);
		ZT_CHECK(zcc_client_dispatch_until(client, zt_raw_frame_done, &f, EXPECT_MS) == 1,
			"cursor frame: an answer");
		ZT_CHECK(f.ready == 1 && f.failed == 0, "cursor frame: ready (failed %u, reason %u)",
			f.failed, f.reason);
		ZT_CHECK(f.transforms == 1 && f.transform == WL_OUTPUT_TRANSFORM_NORMAL,
			"cursor frame: transform normal");
		struct zcc_rect all = {0, 0, ZT_ARROW_WIDTH, ZT_ARROW_HEIGHT};
		ZT_CHECK(zt_region_has_rect(&f.damage, all), "cursor frame: full damage");
		int bad = count_arrow_mismatch(buffer);
		ZT_CHECK(bad == 0, "cursor frame: exactly the arrow image (%d pixels differ)", bad);
		zt_raw_frame_finish(&f);

		/*
		 * The second frame comes at once as well, with full damage though
		 * nothing changed: no buffer damage, so the damage alone must
		 * overwrite the sentinel with the whole image.
		 */
		zcc_buffer_fill(buffer, 0x12345678);
		zt_raw_frame_start(&f, rs.proxy, buffer->wl_buffer, 0, 0);
		ZT_CHECK(zcc_client_dispatch_until(client, zt_raw_frame_done, &f, EXPECT_MS) == 1,
			"second cursor frame: an answer, though nothing changed");
		ZT_CHECK(f.ready == 1 && f.failed == 0, "second cursor frame: ready (failed %u, "
			"reason %u)", f.failed, f.reason);
		ZT_CHECK(zt_region_has_rect(&f.damage, all), "second cursor frame: full damage");
		bad = count_arrow_mismatch(buffer);
		ZT_CHECK(bad == 0, "second cursor frame: exactly the arrow image (%d pixels differ)",
			bad);
		zt_raw_frame_finish(&f);

		/* The image did not change: moving the pointer is not a new cursor frame. */
		zt_raw_frame_start(&f, rs.proxy, buffer->wl_buffer, 0, 0);
		ZT_CHECK(zt_cmd(&t.comp, "cursor 60 70"), "cursor 60 70: %s", t.comp.reply);
		int ret = zcc_client_dispatch_until(client, zt_raw_frame_done, &f, NOTHING_MS);
		ZT_CHECK(ret == 0, "third cursor frame: no new image for a move (ret %d, ready %u, "
			"failed %u)", ret, f.ready, f.failed);
		ZT_CHECK(cs[0].ev.x == 120 && cs[0].ev.y == 140,
			"the move came as a position event (got %d,%d)", cs[0].ev.x, cs[0].ev.y);
		zt_raw_frame_finish(&f);
	}
	zcc_buffer_destroy(buffer);
	zt_raw_session_finish(&rs);

	/* A scale change moves the hotspot in buffer pixels. */
	char name[32];
	snprintf(name, sizeof(name), "%s", t.outputs[0]->name != NULL ? t.outputs[0]->name : "");
	ZT_CHECK(zt_cmd(&t.comp, "output %s scale 1", name), "scale 1: %s", t.comp.reply);
	sync(client);
	ZT_CHECK(cs[0].ev.entered && cs[0].ev.x == 60 && cs[0].ev.y == 70,
		"scale 1: position 60,70 (got %d,%d)", cs[0].ev.x, cs[0].ev.y);

	cursor_session_finish(&cs[0]);
	cursor_session_finish(&cs[1]);
	wl_pointer_destroy(pointer);
	wl_seat_destroy(seat);
	sync(client);
	two_outputs_stop(&t);
}

/* Cursor sessions on a window report positions relative to the window. */
static void test_window_cursor_sessions(void) {
	zt_section("pointer cursor sessions on a window: positions relative to it");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zt_window win = {.pid = -1};
	const char *size[] = {"--size", "200x150", "--scale", "2", NULL};
	struct zcc_client *client = NULL;
	if (zt_window_start(&win, &comp, "zt-cursor", size) &&
			(client = zt_connect(&comp)) != NULL) {
		zt_cmd(&comp, "window-move %d 100 80", win.id);
		ZT_CHECK(zt_cmd(&comp, "cursor 130 100"), "cursor: %s", comp.reply);
		zcc_client_roundtrip(client, EXPECT_MS);
		struct zcc_toplevel *toplevel = zcc_client_find_toplevel(client, "zt-cursor");
		struct wl_seat *seat = zcc_client_bind(client, &wl_seat_interface, 5);
		ZT_CHECK(toplevel != NULL && seat != NULL, "the window's handle and a seat");
		if (toplevel != NULL && seat != NULL) {
			struct wl_pointer *pointer = wl_seat_get_pointer(seat);
			struct cursor_session cs;
			cursor_session_init_source(&cs, client,
				ext_foreign_toplevel_image_capture_source_manager_v1_create_source(
					client->toplevel_source_manager, toplevel->handle), pointer);
			sync(client);
			/* Buffer scale 2: window pixels are twice the logical offset. */
			check_entered(&cs, "over the window", 60, 40);
			ZT_CHECK(zt_cmd(&comp, "cursor 110 90"), "cursor: %s", comp.reply);
			sync(client);
			check_entered(&cs, "moved over the window", 20, 20);
			ZT_CHECK(zt_cmd(&comp, "window-move %d 50 50", win.id), "move: %s", comp.reply);
			sync(client);
			check_entered(&cs, "the window moved under it", 120, 80);
			ZT_CHECK(zt_cmd(&comp, "cursor 600 400"), "cursor: %s", comp.reply);
			sync(client);
			ZT_CHECK(!cs.ev.entered && cs.ev.leaves == 1, "off the window: leave");
			ZT_CHECK(!cs.ev.misordered, "enter before position and hotspot");
			cursor_session_finish(&cs);
			wl_pointer_destroy(pointer);
		}
		if (seat != NULL) {
			wl_seat_destroy(seat);
		}
		zcc_client_destroy(client);
	}
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

int main(void) {
	test_paint_cursors();
	test_transformed();
	zt_section("raw transform: the cursor follows the buffer orientation");
	test_raw_transform("640x480@2:90", WL_OUTPUT_TRANSFORM_90);
	test_raw_transform("320x240:flipped-270", WL_OUTPUT_TRANSFORM_FLIPPED_270);
	test_cursor_sessions();
	test_window_cursor_sessions();
	return zt_finish();
}
