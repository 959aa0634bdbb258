/*
 * Pacing: a session limited to N frames per second gets its frames no
 * closer than 1/N s apart (less the slack of twice 2 ms) even when the
 * output changes faster, an
 * unlimited one follows the output, and a static output gets no frames at
 * all (the compositor renders nothing for capture alone).
 */
#include <stdio.h>
#include <wayland-client-protocol.h>
#include "fixture.h"

#define FRAMES 8

/* Captures FRAMES frames back to back into one buffer; returns the
 * shortest gap between two ready events in ms, or -1 on failure. */
static double capture_run(struct zt_compositor *comp, double *total_ms) {
	struct zcc_client *client = zt_connect(comp);
	if (client == NULL) {
		return -1;
	}
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	double min_gap = -1;
	uint64_t first = 0, last = 0;
	if (zcc_session_wait_constraints(session, -1) == 1) {
		struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
			session->constraints.width, session->constraints.height, 0);
		for (int i = 0; i < FRAMES; i++) {
			struct zcc_capture_result result;
			struct zcc_rect none;
			enum zcc_frame_status status = zcc_session_capture(session, buffer,
				i == 0 ? NULL : &none, 0, -1, &result);
			ZT_CHECK(status == ZCC_FRAME_READY, "frame %d: %s", i,
				zcc_frame_status_str(status));
			if (status == ZCC_FRAME_READY) {
				if (i == 1) {
					first = result.done_ns;
				} else if (i > 1) {
					double gap = (result.done_ns - last) / 1e6;
					min_gap = min_gap < 0 || gap < min_gap ? gap : min_gap;
				}
				last = result.done_ns;
			}
			zcc_capture_result_finish(&result);
		}
		zcc_buffer_destroy(buffer);
	}
	*total_ms = (last - first) / 1e6;
	zcc_session_destroy(session);
	zcc_client_destroy(client);
	return min_gap;
}

int main(void) {
	struct zt_compositor comp;
	/* The demo changes the output about 30 times a second. */
	const char *args[] = {"--output", "320x240", "--demo", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return zt_finish();
	}

	zt_section("unlimited: frames follow the output");
	double total = 0;
	double gap = capture_run(&comp, &total);
	double unlimited_total = total;
	ZT_CHECK(gap >= 0 && gap < 95, "unlimited: the closest frames are %.1f ms apart, "
		"closer than a 10 fps pace", gap);

	zt_section("10 fps: frames at least 100 ms apart");
	ZT_CHECK(zt_cmd(&comp, "max-fps 10"), "max-fps: %s", comp.reply);
	gap = capture_run(&comp, &total);
	ZT_CHECK(gap >= 95, "paced frames are %.1f ms apart at least, want >= ~100", gap);
	ZT_CHECK(total >= (FRAMES - 2) * 95.0, "paced run took %.0f ms", total);
	ZT_CHECK(total > unlimited_total, "paced run (%.0f ms) slower than unlimited (%.0f ms)",
		total, unlimited_total);

	ZT_CHECK(zt_cmd(&comp, "max-fps 0"), "max-fps 0: %s", comp.reply);
	zt_compositor_stop(&comp);
	return zt_finish();
}
