/*
 * Zero CPU pixel copies on the dma-buf path: over N dma-buf captures
 * zerocap's counters show gpu_blits + N, frames_ready + N, cpu_pixel_reads
 * unchanged, and bytes_written grown by exactly the reported damage; an shm
 * capture on the same GLES2 renderer does read pixels back (the counter
 * works).
 */
#include <stdio.h>
#include <stdlib.h>
#include "gpu-common.h"
#include "wl-helpers.h"

#define N_FRAMES 6

/* Captures after moving the mover; returns the reported damage area, 0 on failure. */
static uint64_t capture_after_change(struct zt_compositor *comp, struct zcc_session *session,
		struct zcc_buffer *buffer, int i) {
	ZT_CHECK(zt_cmd(comp, "rect mover %d 100 20 20 ff00ffff", 20 + 30 * i), "rect mover: %s",
		comp->reply);
	static const struct zcc_rect no_damage[1];
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, no_damage, 0, GT_EXPECT_MS, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "frame %d: %s", i, zcc_frame_status_str(status));
	uint64_t area = status == ZCC_FRAME_READY ?
		zcc_rects_union_area(result.damage, result.n_damage) : 0;
	zcc_capture_result_finish(&result);
	return area;
}

int main(void) {
	zt_section("dma-buf captures copy nothing on the CPU");
	struct zt_compositor comp;
	if (!gt_start(&comp, "320x240", NULL)) {
		return zt_finish();
	}
	gt_setup_scene(&comp);
	struct gt_dmabuf_capture capture;
	gt_dmabuf_open(&comp, &capture);
	struct zcc_session *session = capture.session;
	struct zcc_buffer *dmabuf = capture.buffer;
	struct gt_stats before, after;
	if (dmabuf != NULL && gt_stats(&comp, &before)) {
		/* The two opening frames: the whole buffer each; then what changes. */
		zt_opening_frames(session, dmabuf, "opening frames");
		uint64_t area = 2 * (uint64_t)dmabuf->width * dmabuf->height;
		for (int i = 0; i < N_FRAMES - 2; i++) {
			area += capture_after_change(&comp, session, dmabuf, i);
		}
		if (gt_stats(&comp, &after)) {
			fprintf(stderr, "  dma-buf: gpu_blits %llu -> %llu, cpu_pixel_reads %llu -> %llu, "
				"bytes_written +%llu\n", (unsigned long long)before.gpu_blits,
				(unsigned long long)after.gpu_blits,
				(unsigned long long)before.cpu_pixel_reads,
				(unsigned long long)after.cpu_pixel_reads,
				(unsigned long long)(after.bytes_written - before.bytes_written));
			ZT_CHECK(after.gpu_blits == before.gpu_blits + N_FRAMES,
				"gpu_blits grew by %llu, want %d",
				(unsigned long long)(after.gpu_blits - before.gpu_blits), N_FRAMES);
			ZT_CHECK(after.cpu_pixel_reads == before.cpu_pixel_reads,
				"cpu_pixel_reads grew by %llu on the dma-buf path",
				(unsigned long long)(after.cpu_pixel_reads - before.cpu_pixel_reads));
			ZT_CHECK(after.frames_ready == before.frames_ready + N_FRAMES,
				"frames_ready grew by %llu, want %d",
				(unsigned long long)(after.frames_ready - before.frames_ready), N_FRAMES);
			ZT_CHECK(after.frames_failed == before.frames_failed, "no frame failed");
			ZT_CHECK(after.bytes_written - before.bytes_written == area * 4,
				"bytes_written grew by %llu, the reported damage is %llu bytes",
				(unsigned long long)(after.bytes_written - before.bytes_written),
				(unsigned long long)(area * 4));
		}
	}

	zt_section("an shm capture on GLES2 reads pixels back");
	struct zcc_buffer *shm = session != NULL ? gt_shm(session, WL_SHM_FORMAT_XRGB8888) : NULL;
	if (shm != NULL && gt_stats(&comp, &before)) {
		capture_after_change(&comp, session, shm, N_FRAMES);
		if (gt_stats(&comp, &after)) {
			fprintf(stderr, "  shm: gpu_blits %llu -> %llu, cpu_pixel_reads %llu -> %llu\n",
				(unsigned long long)before.gpu_blits, (unsigned long long)after.gpu_blits,
				(unsigned long long)before.cpu_pixel_reads,
				(unsigned long long)after.cpu_pixel_reads);
			ZT_CHECK(after.cpu_pixel_reads > before.cpu_pixel_reads,
				"cpu_pixel_reads did not grow for an shm capture on GLES2");
			ZT_CHECK(after.frames_ready == before.frames_ready + 1, "one more frame ready");
		}
	}
	zcc_buffer_destroy(shm);
	gt_dmabuf_close(&capture);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
	return zt_finish();
}
