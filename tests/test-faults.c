/*
 * Fault injection on the host (pixman): allocation and CPU-copy failures
 * inside zerocap fail the frame (failed: unknown) with a log line, the
 * compositor and the session live on, and the next capture works once the
 * fault is gone. The GPU-only faults (import, fence, read back) run in the
 * VM suite.
 */
#include <stdio.h>
#include <string.h>
#include <wayland-client-protocol.h>
#include "fixture.h"

static struct zt_compositor comp;

/* Captures one frame with full buffer damage; returns its status. */
static enum zcc_frame_status capture(struct zcc_session *session, struct zcc_buffer *buffer,
		uint32_t *reason) {
	struct zcc_capture_result result;
	enum zcc_frame_status status = zcc_session_capture(session, buffer, NULL, 0, -1, &result);
	*reason = result.failure_reason;
	zcc_capture_result_finish(&result);
	return status;
}

static void check_fault(const char *fault, const char *log_text) {
	zt_section(fault);
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	if (zcc_session_wait_constraints(session, -1) != 1) {
		ZT_CHECK(false, "%s: no constraints", fault);
		zcc_client_destroy(client);
		return;
	}
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		session->constraints.width, session->constraints.height, 0);

	ZT_CHECK(zt_cmd(&comp, "fault %s 1", fault), "inject %s: %s", fault, comp.reply);
	uint32_t reason = 0;
	enum zcc_frame_status status = capture(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_FAILED && reason == ZCC_FAILURE_UNKNOWN,
		"%s: frame %s (reason %s), want failed: unknown", fault,
		zcc_frame_status_str(status), zcc_failure_reason_str(reason));
	ZT_CHECK(zt_compositor_alive(&comp), "%s: compositor alive", fault);
	ZT_CHECK(zt_log_contains(&comp, log_text), "%s: log line '%s'", fault, log_text);

	/* The failed frame's damage is not lost: the next frame comes at once. */
	zcc_buffer_fill(buffer, 0x00123456);
	status = capture(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: next frame %s", fault,
		zcc_frame_status_str(status));
	uint32_t pixel = 0;
	struct zcc_image image = zcc_buffer_image(buffer);
	ZT_CHECK(zcc_image_pixel(&image, 5, 5, &pixel) && (pixel & 0xffffff) == 0x202020,
		"%s: next frame has the scene (pixel %08x)", fault, pixel);

	struct zcc_error err;
	ZT_CHECK(!zcc_client_get_error(client, &err), "%s: no protocol error", fault);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
}

/* A fault that outlasts several frames: each fails, then capture recovers. */
static void check_repeated_fault(void) {
	zt_section("repeated faults");
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	zcc_session_wait_constraints(session, -1);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		session->constraints.width, session->constraints.height, 0);
	ZT_CHECK(zt_cmd(&comp, "fault cpu-copy 3"), "inject: %s", comp.reply);
	for (int i = 0; i < 3; i++) {
		uint32_t reason = 0;
		enum zcc_frame_status status = capture(session, buffer, &reason);
		ZT_CHECK(status == ZCC_FRAME_FAILED, "faulted frame %d: %s", i,
			zcc_frame_status_str(status));
	}
	uint32_t reason = 0;
	ZT_CHECK(capture(session, buffer, &reason) == ZCC_FRAME_READY, "frame after the faults");
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
}

int main(void) {
	const char *args[] = {"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return zt_finish();
	}
	check_fault("alloc", "cannot use the client's buffer");
	check_fault("cpu-copy", "capture into the client's buffer failed");
	check_repeated_fault();
	ZT_CHECK(!zt_cmd(&comp, "fault nonsense 1"), "unknown faults are refused");
	zt_compositor_stop(&comp);
	return zt_finish();
}
