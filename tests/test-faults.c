/*
 * Fault injection on the host (pixman): allocation and CPU-copy failures
 * inside zerocap are transient. A failed copy is logged ("... trying
 * again") and tried again, up to 8 more times with growing pauses, and the
 * frame is ready as soon as a try works: clients such as wayvnc stop for
 * good on a failed frame. Only a fault that outlasts every try fails the
 * frame (unknown); the compositor and the session live on, and nothing of
 * the damage is lost. The GPU-only faults (import, fence, read back) run in
 * the VM suite.
 */
#include <stdio.h>
#include <string.h>
#include <wayland-client-protocol.h>
#include "wl-helpers.h"

/* src/capture/capture.h: tries after the first, and the pause before try n (n x 8 ms). */
#define MAX_RETRIES 8
#define RETRY_MS 8

#define BACKGROUND 0xff202020u
#define SENTINEL 0x00123456u

static struct zt_compositor comp;

static const struct zcc_rect tick_box = {100, 80, 10, 10};
static uint32_t tick_argb = BACKGROUND;

/* A change of the scene, so that the next frame has something to copy. */
static void tick(void) {
	static int ticks;
	uint32_t rgba = ++ticks % 2 == 0 ? 0xff00ffffu : 0x00ff00ffu;
	ZT_CHECK(zt_cmd(&comp, "rect tick %d %d %d %d %08x", tick_box.x, tick_box.y,
		tick_box.width, tick_box.height, rgba), "rect tick: %s", comp.reply);
	tick_argb = zt_rgba_to_argb(rgba);
}

/* Pixels of the buffer that differ from the scene: the background and the tick. */
static int count_wrong(const struct zcc_buffer *buffer) {
	struct zcc_image image = zcc_buffer_image(buffer);
	int bad = zt_count_mismatch(&image, tick_box.x, tick_box.y, tick_box.width,
		tick_box.height, tick_argb);
	const struct zcc_rect around[] = {
		{0, 0, buffer->width, tick_box.y},
		{0, tick_box.y, tick_box.x, tick_box.height},
		{tick_box.x + tick_box.width, tick_box.y,
			buffer->width - tick_box.x - tick_box.width, tick_box.height},
		{0, tick_box.y + tick_box.height, buffer->width,
			buffer->height - tick_box.y - tick_box.height},
	};
	for (size_t i = 0; i < sizeof(around) / sizeof(around[0]); i++) {
		bad += zt_count_mismatch(&image, around[i].x, around[i].y, around[i].width,
			around[i].height, BACKGROUND);
	}
	return bad;
}

/*
 * Captures into buffer, filled with the sentinel first, with full buffer
 * damage after a tick; result holds the outcome (finish it).
 */
static enum zcc_frame_status capture_tick(struct zcc_session *session,
		struct zcc_buffer *buffer, struct zcc_capture_result *result) {
	tick();
	zcc_buffer_fill(buffer, SENTINEL);
	return zcc_session_capture(session, buffer, NULL, 0, zt_wait_ms, result);
}

/* The frame is ready, has the tick as damage, and the buffer the whole scene. */
static void check_tick_frame(enum zcc_frame_status status, const struct zcc_capture_result *r,
		const struct zcc_buffer *buffer, const char *what) {
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s)", what,
		zcc_frame_status_str(status), status == ZCC_FRAME_FAILED ?
			zcc_failure_reason_str(r->failure_reason) : "-");
	if (status != ZCC_FRAME_READY) {
		return;
	}
	pixman_region32_t damage;
	zt_region_from_result(&damage, r);
	ZT_CHECK(zt_region_has_rect(&damage, tick_box), "%s: the damage covers the change", what);
	uint64_t area = zcc_rects_union_area(r->damage, r->n_damage);
	ZT_CHECK(area < (uint64_t)buffer->width * buffer->height / 10,
		"%s: the damage is only the change (%llu px)", what, (unsigned long long)area);
	pixman_region32_fini(&damage);
	ZT_CHECK(count_wrong(buffer) == 0, "%s: the buffer is not the scene", what);
}

static void check_no_protocol_error(struct zcc_client *client, const char *what) {
	struct zcc_error err = {0};
	char buf[160];
	ZT_CHECK(!zcc_client_get_error(client, &err), "%s: %s", what,
		zcc_error_str(&err, buf, sizeof(buf)));
}

/*
 * count faults of one kind on a frame that waits for a change. Up to
 * MAX_RETRIES of them the frame is still ready, with the change as damage
 * and the right pixels; beyond, it fails (unknown) after every try, and once
 * the fault is gone the next frame comes at once with the damage of the
 * failed one.
 */
static void check_fault(const char *fault, const char *log_text, int count) {
	char what[96];
	snprintf(what, sizeof(what), "%s x%d", fault, count);
	zt_section(what);
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0) ||
			!zt_opening_frames(ctx.session, ctx.buffer, what)) {
		zt_ctx_close(&ctx);
		return;
	}
	int lines = zt_log_count(&comp, log_text);
	ZT_CHECK(zt_cmd(&comp, "fault %s %d", fault, count), "inject %s: %s", fault, comp.reply);
	struct zcc_capture_result r;
	enum zcc_frame_status status = capture_tick(ctx.session, ctx.buffer, &r);
	ZT_CHECK(zt_compositor_alive(&comp), "%s: compositor alive", what);
	int failed_tries = count <= MAX_RETRIES ? count : MAX_RETRIES + 1;
	int logged = zt_log_count(&comp, log_text) - lines;
	ZT_CHECK(logged == failed_tries, "%s: %d log lines '%s', want %d: one per failed try",
		what, logged, log_text, failed_tries);
	if (count <= MAX_RETRIES) {
		check_tick_frame(status, &r, ctx.buffer, what);
	} else {
		ZT_CHECK(status == ZCC_FRAME_FAILED && r.failure_reason == ZCC_FAILURE_UNKNOWN,
			"%s: frame %s (%s), want failed: unknown", what, zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(r.failure_reason) : "-");
		/* Every try ran, each after its pause. */
		uint64_t pauses_ms = 0;
		for (int i = 1; i <= MAX_RETRIES; i++) {
			pauses_ms += (uint64_t)RETRY_MS * i;
		}
		ZT_CHECK(r.latency_us >= pauses_ms * 1000, "%s: failed after %llu us, the pauses "
			"alone take %llu ms", what, (unsigned long long)r.latency_us,
			(unsigned long long)pauses_ms);
		ZT_CHECK(zt_cmd(&comp, "fault %s 0", fault), "clear %s: %s", fault, comp.reply);

		/* The failed frame's damage is not lost: the next frame comes at once. */
		zcc_capture_result_finish(&r);
		zcc_buffer_fill(ctx.buffer, SENTINEL);
		status = zcc_session_capture(ctx.session, ctx.buffer, NULL, 0, zt_wait_ms, &r);
		check_tick_frame(status, &r, ctx.buffer, "the frame after the failure");
	}
	zcc_capture_result_finish(&r);
	check_no_protocol_error(ctx.client, what);
	zt_ctx_close(&ctx);
}

/*
 * A client that captures on through faults of both kinds, one frame after
 * another, from its very first frame: every frame is ready and right.
 */
static void check_series(void) {
	zt_section("a client captures on through a series of faults");
	static const char *const faults[] = {"alloc", "cpu-copy"};
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}
	const int frames = 12;
	int ready = 0, failed = 0;
	for (int i = 0; i < frames; i++) {
		char what[64];
		snprintf(what, sizeof(what), "frame %d", i);
		ZT_CHECK(zt_cmd(&comp, "fault %s %d", faults[i % 2], 1 + i % 3), "inject: %s",
			comp.reply);
		struct zcc_capture_result r;
		enum zcc_frame_status status;
		if (i < 2) {
			/* The opening frames come at once, whole. */
			zcc_buffer_fill(ctx.buffer, SENTINEL);
			status = zcc_session_capture(ctx.session, ctx.buffer, NULL, 0, zt_wait_ms, &r);
			ZT_CHECK(status == ZCC_FRAME_READY && count_wrong(ctx.buffer) == 0,
				"%s: %s, or not the scene", what, zcc_frame_status_str(status));
		} else {
			status = capture_tick(ctx.session, ctx.buffer, &r);
			check_tick_frame(status, &r, ctx.buffer, what);
		}
		ready += status == ZCC_FRAME_READY;
		failed += status == ZCC_FRAME_FAILED;
		zcc_capture_result_finish(&r);
	}
	ZT_CHECK(ready == frames && failed == 0, "%d of %d frames ready, %d failed", ready,
		frames, failed);
	check_no_protocol_error(ctx.client, "series");
	zt_ctx_close(&ctx);
}

int main(void) {
	const char *args[] = {"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return zt_finish();
	}
	static const struct {
		const char *name, *log;
	} kinds[] = {
		{"alloc", "out of memory for a copy; trying again"},
		{"cpu-copy", "capture into the client's buffer failed; trying again"},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		check_fault(kinds[i].name, kinds[i].log, 1);
		check_fault(kinds[i].name, kinds[i].log, MAX_RETRIES);
		check_fault(kinds[i].name, kinds[i].log, 20);
	}
	check_series();
	ZT_CHECK(!zt_cmd(&comp, "fault nonsense 1"), "unknown faults are refused");

	/* The compositor serves a new client as ever. */
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_check_ready(ctx.session, ctx.buffer, "after the faults");
	}
	zt_ctx_close(&ctx);
	zt_compositor_stop(&comp);
	return zt_finish();
}
