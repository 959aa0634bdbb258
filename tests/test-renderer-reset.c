/*
 * Renderer replacement (a GPU reset in sway or labwc): the compositor makes a
 * new renderer and allocator and hands the renderer to zerocap with
 * zc_capture_manager_set_renderer (`renderer-reset` on the control channel).
 * Live sessions get a new constraints batch, a frame that waits is served,
 * captures go on with the right pixels on every path (ext sessions, cursor
 * sessions, wlr-screencopy through zerocap-shot's peers), and repeated
 * resets leak no file descriptors. The dma-buf half is in
 * tests/gpu/test-gpu-renderer-reset.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "fixture.h"
#include "wl-helpers.h"

#define WIDTH 320
#define HEIGHT 240
#define RESETS 5

static int mismatch(const struct zcc_buffer *buffer, int x, int y, int w, int h,
		uint32_t rgba) {
	struct zcc_image image = zcc_buffer_image(buffer);
	return zt_count_mismatch(&image, x, y, w, h, zt_rgba_to_argb(rgba));
}

static void check_scene(const struct zcc_buffer *buffer, uint32_t rect_rgba, const char *what) {
	int bad = mismatch(buffer, 40, 30, 100, 60, rect_rgba);
	ZT_CHECK(bad == 0, "%s: the rect is right (%d pixels off)", what, bad);
	bad = mismatch(buffer, 200, 150, 100, 80, 0x202020ff);
	ZT_CHECK(bad == 0, "%s: the background is right (%d pixels off)", what, bad);
}

/*
 * The compositor's fds less the buffers of its outputs' swapchains
 * (/dev/shm/wlroots-*): a swapchain holds one to three of them depending on
 * how many frames are in flight, with or without a reset.
 */
static int count_fds_but_swapchains(pid_t pid) {
	char dir_path[64];
	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(dir_path);
	if (dir == NULL) {
		return -1;
	}
	int n = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		char path[384], target[256];
		snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		n += strncmp(target, "/dev/shm/wlroots-", strlen("/dev/shm/wlroots-")) != 0;
	}
	closedir(dir);
	return n;
}

/* Waits for the session's batch count to pass before; true when it did. */
static bool new_batch(struct zcc_session *session, unsigned before) {
	return zcc_session_wait_batches(session, before, zt_wait_ms) == 1 &&
		session->constraint_batches > before;
}

int main(void) {
	struct zt_compositor comp;
	const char *args[] = {"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return zt_finish();
	}
	ZT_CHECK(zt_cmd(&comp, "rect a 40 30 100 60 3070c0ff"), "scene");

	zt_section("a waiting frame across a reset");
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		zt_compositor_stop(&comp);
		return zt_finish();
	}
	zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
	struct zcc_frame *frame = zt_frame_start(ctx.session, ctx.buffer);
	zt_check_waiting(ctx.client, frame, "third frame, still screen");
	unsigned batches = ctx.session->constraint_batches;
	ZT_CHECK(zt_cmd(&comp, "renderer-reset"), "renderer-reset");
	ZT_CHECK(new_batch(ctx.session, batches), "a new constraints batch after the reset (%u, %u "
		"before)", ctx.session->constraint_batches, batches);
	ZT_CHECK(ctx.session->constraints.width == WIDTH &&
		ctx.session->constraints.height == HEIGHT, "same size: %ux%u",
		ctx.session->constraints.width, ctx.session->constraints.height);
	enum zcc_frame_status status = zcc_frame_wait(frame, zt_wait_ms);
	ZT_CHECK(status == ZCC_FRAME_READY, "the waiting frame is served after the reset: %s",
		zcc_frame_status_str(status));
	if (status == ZCC_FRAME_READY) {
		check_scene(ctx.buffer, 0x3070c0ff, "after the reset");
	}
	zcc_frame_destroy(frame);

	zt_section("captures go on");
	ZT_CHECK(zt_cmd(&comp, "rect a 40 30 100 60 c03030ff"), "change the scene");
	struct zcc_capture_result result;
	struct zcc_rect none;
	status = zcc_session_capture(ctx.session, ctx.buffer, &none, 0, zt_wait_ms, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "a frame after the change: %s",
		zcc_frame_status_str(status));
	ZT_CHECK(result.n_damage > 0 && zcc_rects_union_area(result.damage, result.n_damage) <
		WIDTH * HEIGHT, "with the change's damage, not everything (%llu px)",
		(unsigned long long)zcc_rects_union_area(result.damage, result.n_damage));
	zcc_capture_result_finish(&result);
	check_scene(ctx.buffer, 0xc03030ff, "changed after the reset");

	zt_section("repeated resets leak nothing");
	int fds_before = count_fds_but_swapchains(comp.pid);
	for (int i = 0; i < RESETS; i++) {
		batches = ctx.session->constraint_batches;
		ZT_CHECK(zt_cmd(&comp, "renderer-reset"), "reset %d", i);
		ZT_CHECK(new_batch(ctx.session, batches), "reset %d: new constraints", i);
		zt_check_ready(ctx.session, ctx.buffer, "frame after a reset");
	}
	check_scene(ctx.buffer, 0xc03030ff, "after the resets");
	int fds_after = count_fds_but_swapchains(comp.pid);
	ZT_CHECK(fds_after == fds_before, "compositor fds after %d resets: %d, %d before",
		RESETS, fds_after, fds_before);

	zt_section("new clients after the resets");
	struct zt_ctx other;
	if (zt_ctx_open(&other, &comp, NULL, 0)) {
		zt_check_ready(other.session, other.buffer, "a new session's first frame");
		check_scene(other.buffer, 0xc03030ff, "a new session");
	}
	zt_ctx_close(&other);
	zt_ctx_close(&ctx);

	ZT_CHECK(zt_cmd(&comp, "stats"), "stats still answer");
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor is alive");
	ZT_CHECK(zt_compositor_stop(&comp), "clean exit");
	return zt_finish();
}
