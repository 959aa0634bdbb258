/*
 * dma-buf frames are damage-limited and final at ready:
 * - a re-used dma-buf filled with a sentinel, captured after a small change
 *   with no client damage, keeps the sentinel outside the reported damage
 *   and gets the true colours inside (normal and 90-degree outputs);
 * - with client damage, the union of both is written, nothing else;
 * - mapped right at ready, with no waiting, a full-frame capture of a
 *   640x480 output (big enough that llvmpipe is still drawing when a
 *   premature ready would arrive) already holds the new content, frame
 *   after frame.
 */
#include <pixman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gpu-common.h"
#include "wl-helpers.h"

#define MOVER_RGBA 0xff00ffffu /* magenta */

struct box {
	int x, y, w, h;
};

static void region_from_damage(pixman_region32_t *region, const struct zcc_capture_result *r) {
	pixman_region32_init(region);
	for (size_t i = 0; i < r->n_damage; i++) {
		const struct zcc_rect *d = &r->damage[i];
		if (d->width > 0 && d->height > 0) {
			pixman_region32_union_rect(region, region, d->x, d->y, (unsigned)d->width,
				(unsigned)d->height);
		}
	}
}

static void print_damage(const struct zcc_capture_result *r) {
	fprintf(stderr, "  damage:");
	for (size_t i = 0; i < r->n_damage; i++) {
		fprintf(stderr, " %d,%d %dx%d", r->damage[i].x, r->damage[i].y, r->damage[i].width,
			r->damage[i].height);
	}
	fprintf(stderr, "\n");
}

/* The scene plus the mover at box (upright, scale 1). */
static uint32_t *expected(int width, int height, struct box mover) {
	uint32_t *want = gt_expected_scene(width, height, 1);
	for (int y = mover.y; y < mover.y + mover.h && y < height; y++) {
		for (int x = mover.x; x < mover.x + mover.w && x < width; x++) {
			want[y * width + x] = zt_rgba_to_argb(MOVER_RGBA);
		}
	}
	return want;
}

/*
 * Inside written: the true colours; elsewhere the sentinel, untouched (raw
 * 32-bit value). Returns the wrong pixels.
 */
static int check_limited(struct zcc_buffer *buffer, pixman_region32_t *written,
		const uint32_t *want, const char *what, int *inside_px) {
	struct zcc_image image = zcc_dmabuf_map(buffer);
	if (image.data == NULL) {
		ZT_CHECK(false, "%s: cannot map the dma-buf", what);
		return -1;
	}
	int bad = 0;
	*inside_px = 0;
	for (int y = 0; y < image.height; y++) {
		const uint32_t *row = (const uint32_t *)((const uint8_t *)image.data +
			(size_t)y * image.stride);
		for (int x = 0; x < image.width; x++) {
			bool inside = pixman_region32_contains_point(written, x, y, NULL);
			uint32_t got = row[x];
			bool ok;
			if (inside) {
				(*inside_px)++;
				ok = (got & 0x00ffffffu) == (want[y * image.width + x] & 0x00ffffffu);
			} else {
				ok = got == GT_SENTINEL;
			}
			if (!ok) {
				if (bad < 3) {
					fprintf(stderr, "  %s: pixel %d,%d (%s the damage) is %08x, want %08x\n",
						what, x, y, inside ? "inside" : "outside", got,
						inside ? want[y * image.width + x] : GT_SENTINEL);
				}
				bad++;
			}
		}
	}
	zcc_dmabuf_unmap(buffer);
	return bad;
}

/*
 * The mover goes from its place to `to`; a frame captured with client damage
 * `client_damage` (NULL: none) into a sentinel-filled buffer must be written
 * exactly inside reported damage plus client damage.
 */
static void check_move(struct zt_compositor *comp, struct zcc_session *session,
		struct zcc_buffer *buffer, struct box from, struct box to,
		const struct box *client_damage, const char *what) {
	ZT_CHECK(zcc_dmabuf_fill(buffer, GT_SENTINEL), "%s: fill", what);
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	if (client_damage != NULL) {
		zcc_frame_damage_buffer(frame, client_damage->x, client_damage->y, client_damage->w,
			client_damage->h);
	}
	zcc_frame_capture(frame);
	/* Nothing changed yet: the frame waits. */
	enum zcc_frame_status status = zcc_frame_wait(frame, GT_NOTHING_MS);
	ZT_CHECK(status == ZCC_FRAME_TIMEOUT, "%s: a frame without a change is %s", what,
		zcc_frame_status_str(status));
	ZT_CHECK(zt_cmd(comp, "rect mover %d %d %d %d %08x", to.x, to.y, to.w, to.h, MOVER_RGBA),
		"rect mover: %s", comp->reply);
	status = zcc_frame_wait(frame, GT_EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s)", what,
		zcc_frame_status_str(status), zcc_failure_reason_str(frame->result.failure_reason));
	if (status != ZCC_FRAME_READY) {
		zcc_frame_destroy(frame);
		return;
	}
	print_damage(&frame->result);
	pixman_region32_t damage, written;
	region_from_damage(&damage, &frame->result);
	pixman_box32_t to_box = {to.x, to.y, to.x + to.w, to.y + to.h};
	pixman_box32_t from_box = {from.x, from.y, from.x + from.w, from.y + from.h};
	ZT_CHECK(pixman_region32_contains_rectangle(&damage, &to_box) == PIXMAN_REGION_IN,
		"%s: the damage covers the mover's new place", what);
	ZT_CHECK(pixman_region32_contains_rectangle(&damage, &from_box) == PIXMAN_REGION_IN,
		"%s: the damage covers the mover's old place", what);
	uint64_t area = zcc_rects_union_area(frame->result.damage, frame->result.n_damage);
	uint64_t total = (uint64_t)buffer->width * buffer->height;
	ZT_CHECK(area * 10 < total, "%s: the damage is small (%llu of %llu pixels)", what,
		(unsigned long long)area, (unsigned long long)total);
	pixman_region32_init(&written);
	pixman_region32_copy(&written, &damage);
	if (client_damage != NULL) {
		pixman_region32_union_rect(&written, &written, client_damage->x, client_damage->y,
			(unsigned)client_damage->w, (unsigned)client_damage->h);
	}
	uint32_t *want = expected(buffer->width, buffer->height, to);
	int inside = 0;
	int bad = check_limited(buffer, &written, want, what, &inside);
	ZT_CHECK(bad == 0, "%s: %d pixels wrong (sentinel must survive outside the damage, true "
		"colours inside)", what, bad);
	ZT_CHECK(inside > 0, "%s: something was written", what);
	free(want);
	pixman_region32_fini(&written);
	pixman_region32_fini(&damage);
	zcc_frame_destroy(frame);
}

static void test_damage_limited(const char *transform) {
	char section[96];
	snprintf(section, sizeof(section), "damage-limited dma-buf writes, transform %s",
		transform);
	zt_section(section);
	struct zt_compositor comp;
	if (!gt_start(&comp, "320x240", NULL)) {
		return;
	}
	gt_setup_scene(&comp);
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 transform %s", transform), "transform: %s",
		comp.reply);
	struct box a = {60, 70, 16, 12}, b = {90, 120, 16, 12}, c = {150, 30, 8, 8};
	ZT_CHECK(zt_cmd(&comp, "rect mover %d %d %d %d %08x", a.x, a.y, a.w, a.h, MOVER_RGBA),
		"rect mover: %s", comp.reply);
	struct gt_dmabuf_capture capture;
	gt_dmabuf_open(&comp, &capture);
	struct zcc_session *session = capture.session;
	struct zcc_buffer *buffer = capture.buffer;
	if (buffer != NULL) {
		/* The two opening frames: everything, twice; then only what changes. */
		zt_opening_frames(session, buffer, "opening frames");

		check_move(&comp, session, buffer, a, b, NULL, "no client damage");
		struct box extra = {200, 10, 30, 30};
		check_move(&comp, session, buffer, b, c, &extra, "client damage elsewhere");
	}
	gt_dmabuf_close(&capture);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
}

static void test_final_at_ready(void) {
	zt_section("the dma-buf holds the new frame when ready arrives");
	static const uint32_t colors[] = {
		0xff0000ff, 0x00ff00ff, 0x0000ffff, 0xffffffff, 0x102030ff, 0xf0e0d0ff,
		0x00ffffff, 0x808080ff,
	};
	struct zt_compositor comp;
	if (!gt_start(&comp, "640x480", NULL)) {
		return;
	}
	struct gt_dmabuf_capture capture;
	gt_dmabuf_open(&comp, &capture);
	struct zcc_session *session = capture.session;
	struct zcc_buffer *buffer = capture.buffer;
	if (buffer != NULL) {
		/* The first draw compiles shaders (slow under emulation): not measured. */
		struct zcc_capture_result result;
		enum zcc_frame_status status =
			zcc_session_capture(session, buffer, NULL, 0, 60000, &result);
		ZT_CHECK(status == ZCC_FRAME_READY, "warm-up frame: %s", zcc_frame_status_str(status));
		fprintf(stderr, "  warm-up frame: %llu us\n", (unsigned long long)result.latency_us);
		zcc_capture_result_finish(&result);
	}
	for (size_t i = 0; buffer != NULL && i < sizeof(colors) / sizeof(colors[0]); i++) {
		ZT_CHECK(zcc_dmabuf_fill(buffer, GT_SENTINEL), "fill");
		/* The change first: the frame is drawn at capture, ready follows the GPU. */
		ZT_CHECK(zt_cmd(&comp, "rect flash 0 0 640 480 %08x", colors[i]), "rect flash: %s",
			comp.reply);
		struct zcc_capture_result result;
		enum zcc_frame_status status =
			zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
		/* Right at ready: no waiting, no dma-buf sync. */
		struct zcc_image image = status == ZCC_FRAME_READY ? zcc_dmabuf_map(buffer) :
			(struct zcc_image){0};
		int wrong = -1;
		if (image.data != NULL) {
			wrong = zt_count_mismatch(&image, 0, 0, image.width, image.height,
				zt_rgba_to_argb(colors[i]));
			zcc_dmabuf_unmap(buffer);
		}
		ZT_CHECK(status == ZCC_FRAME_READY, "frame %zu: %s", i, zcc_frame_status_str(status));
		if (status == ZCC_FRAME_READY) {
			fprintf(stderr, "  frame %zu: ready %llu us after capture\n", i,
				(unsigned long long)result.latency_us);
			ZT_CHECK(zcc_rects_union_area(result.damage, result.n_damage) == 640u * 480u,
				"frame %zu: full damage", i);
			ZT_CHECK(wrong == 0, "frame %zu: %d pixels not final at ready (latency %llu us)",
				i, wrong, (unsigned long long)result.latency_us);
		}
		zcc_capture_result_finish(&result);
	}
	gt_dmabuf_close(&capture);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
}

int main(void) {
	test_damage_limited("normal");
	test_damage_limited("90");
	test_final_at_ready();
	return zt_finish();
}
