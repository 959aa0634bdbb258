/*
 * Damage: after a session's two opening frames (both at once, with full
 * damage) static scenes give no frames, small changes give small damage in
 * buffer coordinates (transformed and scaled outputs included), re-used
 * buffers only get the damaged pixels written, damage accumulates across
 * frames that were not captured, and zerocap-shot works end to end.
 */
#include <errno.h>
#include <pixman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "wl-helpers.h"

#define NOTHING_MS 500
#define EXPECT_MS 5000

#define BACKGROUND 0xff202020u
/* Not a colour any scene of these tests contains. */
#define SENTINEL 0x12345678u
#define RGB_MASK 0x00ffffffu

static const struct zcc_rect no_damage[1];

/*
 * Every damage rect lies inside the allowed boxes (the changed boxes with a
 * margin; for a rect the scene graph just created, also its first place at
 * the layout origin).
 */
static bool damage_inside(const struct zcc_capture_result *r, const struct zcc_rect *allowed,
		size_t n_allowed) {
	pixman_region32_t damage, outside;
	zt_region_from_result(&damage, r);
	pixman_region32_init(&outside);
	pixman_region32_copy(&outside, &damage);
	for (size_t i = 0; i < n_allowed; i++) {
		pixman_region32_t box;
		pixman_region32_init_rect(&box, allowed[i].x, allowed[i].y,
			(unsigned)allowed[i].width, (unsigned)allowed[i].height);
		pixman_region32_subtract(&outside, &outside, &box);
		pixman_region32_fini(&box);
	}
	bool inside = !pixman_region32_not_empty(&outside);
	pixman_region32_fini(&outside);
	pixman_region32_fini(&damage);
	return inside;
}

static uint32_t raw_pixel(const struct zcc_buffer *buffer, int x, int y) {
	const uint8_t *row = (const uint8_t *)buffer->data + (size_t)y * buffer->stride;
	uint32_t value;
	memcpy(&value, row + (size_t)x * 4, sizeof(value));
	return value;
}

/* zt_session_open(), and XRGB8888 must be among its formats. */
static struct zcc_session *open_session(struct zcc_client *client, struct zcc_output *output,
		uint32_t options) {
	struct zcc_session *session = zt_session_open(client, output, options);
	if (session != NULL) {
		ZT_CHECK(zcc_constraints_has_shm_format(&session->constraints,
			WL_SHM_FORMAT_XRGB8888), "xrgb8888 is advertised");
	}
	return session;
}

/* Captures with the whole buffer damaged; true when ready. */
static bool capture_full(struct zcc_session *session, struct zcc_buffer *buffer,
		struct zcc_capture_result *result) {
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, EXPECT_MS, result);
	ZT_CHECK(status == ZCC_FRAME_READY, "capture: %s", zcc_frame_status_str(status));
	return status == ZCC_FRAME_READY;
}

/* Captures into buffer with no buffer damage (a re-used buffer). */
static bool capture_reuse(struct zcc_session *session, struct zcc_buffer *buffer,
		struct zcc_capture_result *result) {
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, no_damage, 0, EXPECT_MS, result);
	ZT_CHECK(status == ZCC_FRAME_READY, "capture: %s", zcc_frame_status_str(status));
	return status == ZCC_FRAME_READY;
}

/*
 * A session on output with a buffer that fits, its two opening frames taken
 * (the whole scene, twice), so that the next frame has only what changes;
 * false, with nothing left open, when there is no buffer.
 */
static bool start_session(struct zcc_client *client, struct zcc_output *output,
		struct zcc_session **session, struct zcc_buffer **buffer) {
	*session = open_session(client, output, 0);
	*buffer = *session != NULL ? zt_session_buffer(*session) : NULL;
	if (*buffer == NULL) {
		zcc_session_destroy(*session);
		return false;
	}
	zt_opening_frames(*session, *buffer, "opening frames");
	return true;
}

/* A fresh session's first frame: the current scene, every pixel written. */
static struct zcc_buffer *reference_image(struct zcc_client *client, struct zcc_output *output) {
	struct zcc_session *session = open_session(client, output, 0);
	if (session == NULL) {
		return NULL;
	}
	struct zcc_buffer *buffer = zt_session_buffer(session);
	struct zcc_capture_result result;
	if (buffer != NULL && !capture_full(session, buffer, &result)) {
		zcc_buffer_destroy(buffer);
		buffer = NULL;
	}
	zcc_capture_result_finish(&result);
	zcc_session_destroy(session);
	return buffer;
}

/* Mismatching pixels inside a box against one colour (low 24 bits). */
static int count_color(const struct zcc_buffer *buffer, struct zcc_rect b, uint32_t argb) {
	struct zcc_image image = zcc_buffer_image(buffer);
	return zt_count_mismatch(&image, b.x, b.y, b.width, b.height, argb);
}

/*
 * The bounding box of the pixels that differ between two images of the same
 * size; width 0 when they are equal.
 */
static struct zcc_rect diff_box(const struct zcc_buffer *a, const struct zcc_buffer *b) {
	int x1 = a->width, y1 = a->height, x2 = -1, y2 = -1;
	for (int y = 0; y < a->height; y++) {
		for (int x = 0; x < a->width; x++) {
			if ((raw_pixel(a, x, y) & RGB_MASK) != (raw_pixel(b, x, y) & RGB_MASK)) {
				x1 = x < x1 ? x : x1;
				y1 = y < y1 ? y : y1;
				x2 = x > x2 ? x : x2;
				y2 = y > y2 ? y : y2;
			}
		}
	}
	if (x2 < 0) {
		return (struct zcc_rect){0};
	}
	return (struct zcc_rect){x1, y1, x2 - x1 + 1, y2 - y1 + 1};
}

/*
 * Checks a re-used buffer: pixels inside written equal the reference, every
 * other pixel still holds the sentinel.
 */
static void check_written(const struct zcc_buffer *buffer, const struct zcc_buffer *reference,
		pixman_region32_t *written, const char *what) {
	int wrong_inside = 0, wrong_outside = 0, inside = 0;
	for (int y = 0; y < buffer->height; y++) {
		for (int x = 0; x < buffer->width; x++) {
			uint32_t got = raw_pixel(buffer, x, y) & RGB_MASK;
			if (pixman_region32_contains_point(written, x, y, NULL)) {
				inside++;
				uint32_t want = raw_pixel(reference, x, y) & RGB_MASK;
				if (got != want && wrong_inside++ == 0) {
					fprintf(stderr, "  %s: pixel %d,%d is %06x, scene has %06x\n",
						what, x, y, got, want);
				}
			} else if (got != (SENTINEL & RGB_MASK) && wrong_outside++ == 0) {
				fprintf(stderr, "  %s: pixel %d,%d outside the damage is %06x\n",
					what, x, y, got);
			}
		}
	}
	ZT_CHECK(inside > 0, "%s: something was to be written", what);
	ZT_CHECK(wrong_inside == 0, "%s: %d damaged pixels differ from the scene", what,
		wrong_inside);
	ZT_CHECK(wrong_outside == 0, "%s: %d pixels outside the damage were written", what,
		wrong_outside);
}

static void test_static_scene(struct zt_compositor *comp, struct zcc_client *client,
		struct zcc_output *output) {
	zt_section("a static scene yields no frame until it changes");
	struct zcc_session *session = open_session(client, output, 0);
	struct zcc_buffer *buffer = session != NULL ? zt_session_buffer(session) : NULL;
	if (buffer == NULL) {
		zcc_session_destroy(session);
		return;
	}
	int w = buffer->width, h = buffer->height;

	struct zcc_capture_result r;
	if (capture_full(session, buffer, &r)) {
		ZT_CHECK(r.n_damage == 1 && r.damage[0].x == 0 && r.damage[0].y == 0 &&
			r.damage[0].width == w && r.damage[0].height == h,
			"first frame: full damage, one rect 0,0 %dx%d (%zu rects)", w, h, r.n_damage);
		if (r.n_damage != 1) {
			zt_print_damage("first frame", &r);
		}
	}
	zcc_capture_result_finish(&r);

	/*
	 * The second frame comes too, though nothing changed, with full damage:
	 * into a buffer full of the sentinel and without buffer damage, the
	 * damage alone must make it the whole scene again.
	 */
	zcc_buffer_fill(buffer, SENTINEL);
	if (capture_reuse(session, buffer, &r)) {
		ZT_CHECK(r.n_damage == 1 && r.damage[0].x == 0 && r.damage[0].y == 0 &&
			r.damage[0].width == w && r.damage[0].height == h,
			"second frame: full damage, one rect 0,0 %dx%d (%zu rects)", w, h, r.n_damage);
		if (r.n_damage != 1) {
			zt_print_damage("second frame", &r);
		}
		struct zcc_buffer *reference = reference_image(client, output);
		if (reference != NULL) {
			pixman_region32_t all;
			pixman_region32_init_rect(&all, 0, 0, (unsigned)w, (unsigned)h);
			check_written(buffer, reference, &all, "second frame");
			pixman_region32_fini(&all);
		}
		zcc_buffer_destroy(reference);
	}
	zcc_capture_result_finish(&r);

	/* The third waits. */
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_damage_buffer(frame, 0, 0, w, h);
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT, "static scene: no frame within %d ms (got %s)",
		NOTHING_MS, zcc_frame_status_str(status));
	ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING && frame->result.n_damage == 0 &&
		frame->result.transform_events == 0, "static scene: the frame is still pending");

	struct zcc_rect changed = {100, 80, 20, 10};
	ZT_CHECK(zt_cmd(comp, "rect static %d %d %d %d ff0000ff", changed.x, changed.y,
		changed.width, changed.height), "rect: %s", comp->reply);
	status = zcc_frame_wait(frame, EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "the scene changed: the waiting frame completes (%s)",
		zcc_frame_status_str(status));
	if (status == ZCC_FRAME_READY) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &frame->result);
		ZT_CHECK(zt_region_has_rect(&damage, changed), "the damage covers the new rect");
		uint64_t area = zcc_rects_union_area(frame->result.damage, frame->result.n_damage);
		ZT_CHECK(area < (uint64_t)w * h / 100, "the damage is small (%llu px)",
			(unsigned long long)area);
		if (!zt_region_has_rect(&damage, changed) || area >= (uint64_t)w * h / 100) {
			zt_print_damage("changed", &frame->result);
		}
		pixman_region32_fini(&damage);
		ZT_CHECK(count_color(buffer, changed, 0xffff0000) == 0, "the new rect is red");
	}
	zcc_frame_destroy(frame);
	ZT_CHECK(zt_cmd(comp, "remove static"), "remove: %s", comp->reply);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

static void test_small_change(struct zt_compositor *comp, struct zcc_client *client,
		struct zcc_output *output) {
	zt_section("a small change yields a small damage rectangle");
	struct zcc_session *session;
	struct zcc_buffer *buffer;
	if (!start_session(client, output, &session, &buffer)) {
		return;
	}
	uint64_t limit = (uint64_t)buffer->width * buffer->height / 100;
	struct zcc_capture_result r;

	struct zcc_rect first = {300, 200, 10, 10};
	struct zcc_rect second = {330, 215, 10, 10};
	ZT_CHECK(zt_cmd(comp, "rect small %d %d 10 10 00ff00ff", first.x, first.y), "rect");
	if (capture_reuse(session, buffer, &r)) {
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		ZT_CHECK(area >= 100 && area < limit, "new rect: damage area %llu px, 100..%llu",
			(unsigned long long)area, (unsigned long long)limit);
		ZT_CHECK(zt_region_has_rect(&damage, first), "new rect: damage contains it");
		/* wlr_scene_rect_create() damages the rect at 0,0 before it moves. */
		const struct zcc_rect allowed[] = {{first.x - 16, first.y - 16, 42, 42}, {0, 0, 10, 10}};
		ZT_CHECK(damage_inside(&r, allowed, 2), "new rect: damage stays near it");
		zt_print_damage("new rect", &r);
		pixman_region32_fini(&damage);
		ZT_CHECK(count_color(buffer, first, 0xff00ff00) == 0, "new rect: drawn");
	}
	zcc_capture_result_finish(&r);

	ZT_CHECK(zt_cmd(comp, "rect small %d %d 10 10 00ff00ff", second.x, second.y), "move");
	if (capture_reuse(session, buffer, &r)) {
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		ZT_CHECK(area >= 200 && area < limit, "moved rect: damage area %llu px, 200..%llu",
			(unsigned long long)area, (unsigned long long)limit);
		ZT_CHECK(zt_region_has_rect(&damage, first) && zt_region_has_rect(&damage, second),
			"moved rect: damage covers the old and the new box");
		const struct zcc_rect allowed[] = {{first.x - 16, first.y - 16, 72, 57}};
		ZT_CHECK(damage_inside(&r, allowed, 1), "moved rect: damage stays near the boxes");
		zt_print_damage("moved rect", &r);
		pixman_region32_fini(&damage);
		ZT_CHECK(count_color(buffer, second, 0xff00ff00) == 0, "moved rect: drawn");
		ZT_CHECK(count_color(buffer, (struct zcc_rect){300, 200, 10, 10}, BACKGROUND) == 0,
			"moved rect: the old place shows the background");
	}
	zcc_capture_result_finish(&r);
	ZT_CHECK(zt_cmd(comp, "remove small"), "remove");
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

/*
 * Takes the damage the session has (the caller knows it has some: a new
 * session, or new constraints), waited for in full: a full-frame copy may
 * take longer than NOTHING_MS (GLES2 under emulation), and a frame given up
 * on while it is copied hands its damage on to the next frame. A new
 * session (opening) has it in its two opening frames, new constraints in one
 * frame. The sync first makes every change so far reach the session.
 */
static void take_damage(struct zt_compositor *comp, struct zcc_session *session,
		struct zcc_buffer *buffer, bool opening, const char *what) {
	ZT_CHECK(zt_cmd(comp, "sync"), "%s: sync: %s", what, comp->reply);
	if (opening) {
		zt_opening_frames(session, buffer, what);
		return;
	}
	struct zcc_capture_result r;
	capture_full(session, buffer, &r);
	zcc_capture_result_finish(&r);
}

/*
 * On a transformed (and scaled) output: the pixels that change and the
 * reported damage are both at the upright place, layout position * scale.
 * The frame that sees the change is captured before it, so it is never
 * given up on.
 */
static void check_transformed_change(struct zt_compositor *comp, struct zcc_session *session,
		bool opening, const char *what, int scale, struct zcc_rect logical, uint32_t rgba) {
	struct zcc_buffer *after = zt_session_buffer(session);
	struct zcc_buffer *before = NULL;
	struct zcc_frame *frame = NULL;
	bool added = false;
	if (after == NULL) {
		return;
	}
	take_damage(comp, session, after, opening, what);
	frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, after);
	zcc_frame_damage_buffer(frame, 0, 0, after->width, after->height);
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT, "%s: no damage is left before the change (got %s)",
		what, zcc_frame_status_str(status));
	if (status != ZCC_FRAME_TIMEOUT) {
		zt_print_damage("left", &frame->result);
		goto out;
	}
	before = reference_image(session->client, session->output);
	if (before == NULL) {
		goto out;
	}
	added = zt_cmd(comp, "rect tr %d %d %d %d %08x", logical.x, logical.y, logical.width,
		logical.height, rgba);
	ZT_CHECK(added, "%s: rect: %s", what, comp->reply);
	status = zcc_frame_wait(frame, EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: the waiting frame sees the change (%s)", what,
		zcc_frame_status_str(status));
	if (status != ZCC_FRAME_READY) {
		goto out;
	}
	const struct zcc_capture_result *r = &frame->result;
	struct zcc_rect expected = {logical.x * scale, logical.y * scale,
		logical.width * scale, logical.height * scale};
	struct zcc_rect diff = diff_box(before, after);
	ZT_CHECK(diff.x == expected.x && diff.y == expected.y &&
		diff.width == expected.width && diff.height == expected.height,
		"%s: the pixels change at %d,%d %dx%d (got %d,%d %dx%d)", what,
		expected.x, expected.y, expected.width, expected.height,
		diff.x, diff.y, diff.width, diff.height);
	ZT_CHECK(count_color(after, expected, zt_rgba_to_argb(rgba)) == 0,
		"%s: the rect is drawn upright at layout position * scale", what);
	pixman_region32_t damage;
	zt_region_from_result(&damage, r);
	uint64_t area = zcc_rects_union_area(r->damage, r->n_damage);
	uint64_t limit = (uint64_t)after->width * after->height / 100;
	ZT_CHECK(diff.width > 0 && zt_region_has_rect(&damage, diff),
		"%s: the damage covers the changed pixels", what);
	ZT_CHECK(zt_region_has_rect(&damage, expected), "%s: the damage covers the rect", what);
	ZT_CHECK(area >= (uint64_t)expected.width * expected.height && area < limit,
		"%s: damage area %llu px is small", what, (unsigned long long)area);
	zt_print_damage(what, r);
	pixman_region32_fini(&damage);
out:
	if (added) {
		ZT_CHECK(zt_cmd(comp, "remove tr"), "%s: remove: %s", what, comp->reply);
	}
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(before);
	zcc_buffer_destroy(after);
}

static void test_transformed(void) {
	zt_section("damage in buffer coordinates on a transformed, scaled output");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480@2:90", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	struct zcc_output *output = client != NULL ? zcc_client_find_output(client, NULL) : NULL;
	struct zcc_session *session = output != NULL ? open_session(client, output, 0) : NULL;
	if (session != NULL) {
		ZT_CHECK(session->constraints.width == 480 && session->constraints.height == 640,
			"transform 90: buffer size 480x640 (got %ux%u)", session->constraints.width,
			session->constraints.height);
		check_transformed_change(&comp, session, true, "transform 90 scale 2", 2,
			(struct zcc_rect){30, 50, 10, 10}, 0x0000ffff);

		const char *name = output->name != NULL ? output->name : "HEADLESS-1";
		unsigned batches = session->constraint_batches;
		ZT_CHECK(zt_cmd(&comp, "output %s transform 270", name), "transform 270: %s",
			comp.reply);
		ZT_CHECK(zcc_session_wait_batches(session, batches, EXPECT_MS) == 1,
			"transform 270: new constraints");
		check_transformed_change(&comp, session, false, "transform 270 scale 2", 2,
			(struct zcc_rect){150, 20, 10, 5}, 0xff00ffff);

		ZT_CHECK(zt_cmd(&comp, "output %s scale 1", name), "scale 1: %s", comp.reply);
		ZT_CHECK(zt_cmd(&comp, "output %s transform flipped-180", name),
			"flipped-180: %s", comp.reply);
		ZT_CHECK(zcc_client_roundtrip(client, EXPECT_MS) == 1, "roundtrip");
		ZT_CHECK(session->constraints.width == 640 && session->constraints.height == 480,
			"flipped-180: buffer size 640x480 (got %ux%u)", session->constraints.width,
			session->constraints.height);
		check_transformed_change(&comp, session, false, "flipped-180 scale 1", 1,
			(struct zcc_rect){500, 40, 12, 7}, 0xffff00ff);
	}
	zcc_session_destroy(session);
	zcc_client_destroy(client);
	zt_compositor_stop(&comp);
}

static void test_reused_buffer(struct zt_compositor *comp, struct zcc_client *client,
		struct zcc_output *output) {
	zt_section("re-used buffers get only damaged pixels written");
	struct zcc_session *session;
	struct zcc_buffer *buffer;
	if (!start_session(client, output, &session, &buffer)) {
		return;
	}
	uint64_t limit = (uint64_t)buffer->width * buffer->height / 100;
	struct zcc_capture_result r;

	/* Frame 3: no buffer damage, only the scene's damage is written. */
	zcc_buffer_fill(buffer, SENTINEL);
	struct zcc_rect changed = {400, 300, 10, 10};
	ZT_CHECK(zt_cmd(comp, "rect reuse1 %d %d 10 10 0000ffff", changed.x, changed.y), "rect");
	if (capture_reuse(session, buffer, &r)) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		ZT_CHECK(zt_region_has_rect(&damage, changed), "frame 3: damage covers the change");
		ZT_CHECK(area < limit, "frame 3: damage is small (%llu px)", (unsigned long long)area);
		struct zcc_buffer *reference = reference_image(client, output);
		if (reference != NULL) {
			check_written(buffer, reference, &damage, "frame 3");
		}
		zcc_buffer_destroy(reference);
		pixman_region32_fini(&damage);
	}
	zcc_capture_result_finish(&r);

	/* Frame 4: buffer damage R away from the change: R and the damage are written. */
	zcc_buffer_fill(buffer, SENTINEL);
	struct zcc_rect buffer_damage = {200, 20, 64, 48};
	struct zcc_rect changed2 = {50, 350, 10, 10};
	ZT_CHECK(zt_cmd(comp, "rect reuse2 %d %d 10 10 ffff00ff", changed2.x, changed2.y), "rect");
	struct zcc_rect rect = {buffer_damage.x, buffer_damage.y, buffer_damage.width,
		buffer_damage.height};
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, &rect, 1, EXPECT_MS, &r);
	ZT_CHECK(status == ZCC_FRAME_READY, "frame 4: %s", zcc_frame_status_str(status));
	if (status == ZCC_FRAME_READY) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		ZT_CHECK(zt_region_has_rect(&damage, changed2), "frame 4: damage covers the change");
		ZT_CHECK(area < limit, "frame 4: damage is small (%llu px)", (unsigned long long)area);
		ZT_CHECK(!zt_region_touches_rect(&damage, buffer_damage),
			"frame 4: buffer damage is not reported as damage");
		pixman_region32_t written;
		pixman_region32_init(&written);
		pixman_region32_union_rect(&written, &damage, buffer_damage.x, buffer_damage.y,
			buffer_damage.width, buffer_damage.height);
		struct zcc_buffer *reference = reference_image(client, output);
		if (reference != NULL) {
			check_written(buffer, reference, &written, "frame 4");
		}
		zcc_buffer_destroy(reference);
		pixman_region32_fini(&written);
		pixman_region32_fini(&damage);
	}
	zcc_capture_result_finish(&r);
	ZT_CHECK(zt_cmd(comp, "remove reuse1"), "remove");
	ZT_CHECK(zt_cmd(comp, "remove reuse2"), "remove");
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

static void test_accumulation(struct zt_compositor *comp, struct zcc_client *client,
		struct zcc_output *output) {
	zt_section("damage accumulates across frames not captured");
	struct zcc_session *session;
	struct zcc_buffer *buffer;
	if (!start_session(client, output, &session, &buffer)) {
		return;
	}
	uint64_t limit = (uint64_t)buffer->width * buffer->height / 100;
	struct zcc_capture_result r;

	struct zcc_rect a = {20, 20, 10, 10}, b = {600, 440, 10, 10};
	ZT_CHECK(zt_cmd(comp, "rect acc1 %d %d 10 10 ff00ffff", a.x, a.y), "rect");
	ZT_CHECK(zt_cmd(comp, "rect acc2 %d %d 10 10 00ffffff", b.x, b.y), "rect");
	if (capture_reuse(session, buffer, &r)) {
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		uint64_t area = zcc_rects_union_area(r.damage, r.n_damage);
		ZT_CHECK(zt_region_has_rect(&damage, a) && zt_region_has_rect(&damage, b),
			"one frame's damage covers both changes");
		ZT_CHECK(area >= 200 && area < limit, "and only them (%llu px)",
			(unsigned long long)area);
		zt_print_damage("two changes", &r);
		pixman_region32_fini(&damage);
		ZT_CHECK(count_color(buffer, a, 0xffff00ff) == 0 &&
			count_color(buffer, b, 0xff00ffff) == 0, "both changes are drawn");
	}
	zcc_capture_result_finish(&r);

	/* The accumulated damage was consumed by that frame. */
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT, "nothing left after that frame (got %s)",
		zcc_frame_status_str(status));
	zcc_frame_destroy(frame);
	ZT_CHECK(zt_cmd(comp, "remove acc1"), "remove");
	ZT_CHECK(zt_cmd(comp, "remove acc2"), "remove");
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

/* Runs argv with stdout into out (size bytes, NUL-terminated); exit status or -1. */
static int run_capture(char *const argv[], char *out, size_t size) {
	int fds[2];
	if (pipe(fds) != 0) {
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(fds[0], out + len, size - 1 - len)) > 0 ||
			(n < 0 && errno == EINTR)) {
		len += n > 0 ? (size_t)n : 0;
		if (len + 1 >= size) {
			break;
		}
	}
	out[len] = '\0';
	close(fds[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		return -1;
	}
	return WEXITSTATUS(status);
}

static void test_shot(void) {
	zt_section("zerocap-shot end to end");
	const char *shot = getenv("ZC_SHOT");
	ZT_CHECK(shot != NULL, "ZC_SHOT is set");
	if (shot == NULL) {
		return;
	}
	struct zt_compositor comp;
	const char *args[] = {"--demo", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	char dir[] = "/tmp/zt-damage-XXXXXX";
	ZT_CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	char path[64];
	snprintf(path, sizeof(path), "%s/shot.png", dir);

	char *argv[] = {(char *)shot, "-d", comp.socket, "-n", "4", "--reuse", path, NULL};
	static char out[8192];
	int status = run_capture(argv, out, sizeof(out));
	fprintf(stderr, "%s", out);
	ZT_CHECK(status == 0, "zerocap-shot exit status %d", status);

	int frames = 0;
	uint64_t areas[4] = {0};
	int width = 0, height = 0;
	for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		long index;
		int w, h;
		if (sscanf(line, "frame %ld: %dx%d", &index, &w, &h) != 3) {
			continue;
		}
		const char *area = strstr(line, "] area ");
		unsigned long long value = 0;
		ZT_CHECK(index == frames && area != NULL &&
			sscanf(area, "] area %llu px", &value) == 1, "frame line: %s", line);
		if (frames < 4) {
			areas[frames] = value;
		}
		width = w;
		height = h;
		frames++;
	}
	ZT_CHECK(frames == 4, "4 frame lines (got %d)", frames);
	uint64_t full = (uint64_t)width * height;
	ZT_CHECK(width == 640 && height == 480, "frames are 640x480 (got %dx%d)", width, height);
	/* The two opening frames have full damage, later ones what changed. */
	for (int i = 0; i < 2; i++) {
		ZT_CHECK(areas[i] == full, "frame %d: full damage (%llu px)", i,
			(unsigned long long)areas[i]);
	}
	for (int i = 2; i < 4; i++) {
		ZT_CHECK(areas[i] > 0 && areas[i] < full / 10,
			"frame %d: damage %llu px, much less than %llu", i,
			(unsigned long long)areas[i], (unsigned long long)full);
	}

	struct stat st;
	ZT_CHECK(stat(path, &st) == 0 && st.st_size > 8, "the PNG exists and is not empty");
	FILE *f = fopen(path, "rb");
	unsigned char magic[8] = {0};
	if (f != NULL) {
		if (fread(magic, 1, sizeof(magic), f) != sizeof(magic)) {
			memset(magic, 0, sizeof(magic));
		}
		fclose(f);
	}
	ZT_CHECK(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0, "the file is a PNG");
	unlink(path);
	rmdir(dir);
	zt_compositor_stop(&comp);
}

int main(void) {
	struct zt_compositor comp;
	if (zt_compositor_start(&comp, NULL)) {
		struct zcc_client *client = zt_connect(&comp);
		struct zcc_output *output =
			client != NULL ? zcc_client_find_output(client, NULL) : NULL;
		ZT_CHECK(client == NULL || output != NULL, "an output");
		if (output != NULL) {
			test_static_scene(&comp, client, output);
			test_small_change(&comp, client, output);
			test_reused_buffer(&comp, client, output);
			test_accumulation(&comp, client, output);
		}
		zcc_client_destroy(client);
		zt_compositor_stop(&comp);
	}
	test_transformed();
	test_shot();
	return zt_finish();
}
