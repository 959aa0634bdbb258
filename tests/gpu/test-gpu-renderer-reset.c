/*
 * Renderer replacement on GLES2 with live dma-buf and shm sessions: frames
 * the GPU is writing when the renderer goes fail with buffer_constraints
 * (never unknown or stopped), every session gets a new constraints batch
 * naming the new renderer's device, dma-buf captures after the reset are
 * drawn by the new renderer with the right pixels, and repeated resets leave
 * the compositor's file descriptors where they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include "gpu-common.h"
#include "wl-helpers.h"

#define RESETS 3
#define FRAMES_IN_FLIGHT_ROUNDS 4

static bool new_batch(struct zcc_session *session, unsigned before) {
	return zcc_session_wait_batches(session, before, GT_EXPECT_MS) == 1 &&
		session->constraint_batches > before;
}

/*
 * Captures into dmabuf (the session has new damage: a reset or a change came
 * before) and compares it with the first frame of a fresh shm session, which
 * is the whole current image.
 */
static void check_dmabuf_pixels(struct zcc_session *session, struct zcc_buffer *dmabuf,
		const char *what) {
	enum zcc_frame_status status = zt_capture(session, dmabuf, NULL);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: dma-buf frame %s", what,
		zcc_frame_status_str(status));
	struct zcc_session *reference = gt_session(session->client, 0);
	struct zcc_buffer *shm = reference != NULL ? gt_shm(reference, WL_SHM_FORMAT_XRGB8888) :
		NULL;
	status = shm != NULL ? zt_capture(reference, shm, NULL) : ZCC_FRAME_ERROR;
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: shm frame %s", what,
		zcc_frame_status_str(status));
	struct zcc_image a = zcc_dmabuf_map(dmabuf);
	if (a.data == NULL || status != ZCC_FRAME_READY) {
		ZT_CHECK(a.data != NULL, "%s: cannot map the dma-buf", what);
	} else {
		struct zcc_image b = zcc_buffer_image(shm);
		int diff = gt_count_diff(&a, &b, what);
		ZT_CHECK(diff == 0, "%s: dma-buf and shm captures differ in %d pixels", what, diff);
	}
	if (a.data != NULL) {
		zcc_dmabuf_unmap(dmabuf);
	}
	zcc_buffer_destroy(shm);
	zcc_session_destroy(reference);
}

int main(void) {
	struct zt_compositor comp;
	if (!gt_start(&comp, "320x240", NULL)) {
		return zt_finish();
	}
	gt_setup_scene(&comp);
	struct gt_dmabuf_capture capture;
	if (!gt_dmabuf_open(&comp, &capture)) {
		gt_dmabuf_close(&capture);
		zt_compositor_stop(&comp);
		return zt_finish();
	}
	struct zcc_session *session = capture.session;
	dev_t device = session->constraints.dmabuf_device;
	check_dmabuf_pixels(session, capture.buffer, "before any reset");

	zt_section("frames in flight when the renderer goes");
	int fds_before = -1;
	for (int round = 0; round < FRAMES_IN_FLIGHT_ROUNDS; round++) {
		/* Changing content keeps every capture a real draw. */
		ZT_CHECK(zt_cmd(&comp, "rect mover %d 100 40 40 ff00ffff", 10 + 40 * round), "mover");
		struct zcc_frame *frame = zt_frame_start(session, capture.buffer);
		/*
		 * The capture in before the reset: the two go down different
		 * pipes, and a capture the compositor reads after the reset takes
		 * the reset's full damage, leaving the check below none (the
		 * image did not change; its next frame would wait for a change).
		 */
		ZT_CHECK(zcc_client_roundtrip(session->client, GT_EXPECT_MS) == 1,
			"round %d: the capture is in", round);
		unsigned batches = session->constraint_batches;
		ZT_CHECK(zt_cmd(&comp, "renderer-reset"), "renderer-reset %d: %s", round, comp.reply);
		enum zcc_frame_status status = zcc_frame_wait(frame, GT_EXPECT_MS);
		bool ok = status == ZCC_FRAME_READY || (status == ZCC_FRAME_FAILED &&
			frame->result.failure_reason ==
				EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS);
		ZT_CHECK(ok, "round %d: the frame in flight is ready or fails with "
			"buffer_constraints, not %s (%s)", round, zcc_frame_status_str(status),
			zcc_failure_reason_str(frame->result.failure_reason));
		zcc_frame_destroy(frame);
		ZT_CHECK(new_batch(session, batches), "round %d: a new constraints batch", round);
		ZT_CHECK(!session->stopped, "round %d: the session goes on", round);
		ZT_CHECK(session->constraints.has_dmabuf_device &&
			session->constraints.dmabuf_device == device,
			"round %d: the batch names the DRM device again", round);
		check_dmabuf_pixels(session, capture.buffer, "after a reset");
		if (round == 0) {
			fds_before = zt_count_fds(comp.pid);
		}
	}

	zt_section("resets leak nothing");
	for (int i = 0; i < RESETS; i++) {
		unsigned batches = session->constraint_batches;
		ZT_CHECK(zt_cmd(&comp, "renderer-reset"), "renderer-reset");
		ZT_CHECK(new_batch(session, batches), "reset %d: new constraints", i);
		check_dmabuf_pixels(session, capture.buffer, "after more resets");
	}
	int fds_after = -1;
	for (int i = 0; i < 50; i++) {
		fds_after = zt_count_fds(comp.pid);
		if (fds_after <= fds_before) {
			break;
		}
		zcc_client_roundtrip(capture.client, GT_NOTHING_MS);
	}
	if (fds_after > fds_before) {
		gt_print_fds(comp.pid);
	}
	ZT_CHECK(fds_after <= fds_before, "compositor fds %d after the resets, %d before",
		fds_after, fds_before);

	gt_dmabuf_close(&capture);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
	return zt_finish();
}
