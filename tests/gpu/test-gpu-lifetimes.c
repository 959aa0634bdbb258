/*
 * Lifetimes on the dma-buf path: buffers, frames and sessions destroyed
 * while the GPU draws into the buffer, and clients killed mid-frame, leave a
 * compositor that runs on, serves new dma-buf captures, and is back at its
 * file descriptor count once the clients are gone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "gpu-common.h"

#define ROUNDS 6
#define FD_WAIT_MS 30000 /* queued GPU jobs hold their buffers; slow under emulation */

static const uint32_t colors[] = {
	0xff0000ff, 0x00ff00ff, 0x0000ffff, 0xffffffff, 0x102030ff, 0xf0e0d0ff,
};
#define N_COLORS (sizeof(colors) / sizeof(colors[0]))

/*
 * Makes the compositor draw: a round trip through the control channel that
 * lets it run its loop, and a change on top of the output. Mesa keeps a GL
 * context's last render target until the context draws again (llvmpipe
 * holds a dup of its dma-buf fd), even once wlroots has destroyed the
 * buffer: on a still output, a capture's draw into a client's buffer is that
 * target, and the client's fd would stay in the driver after the client left.
 * A new rect goes on top of the others, so its coming and going are seen.
 */
static void redraw(struct zt_compositor *comp) {
	static bool shown;
	zt_cmd(comp, shown ? "remove redraw" : "rect redraw 0 0 1 1 ffffffff");
	shown = !shown;
}

/* Waits until the compositor's fd count is want; returns the last count. */
static int wait_fds(struct zt_compositor *comp, int want) {
	uint64_t deadline = gt_now_ms() + FD_WAIT_MS;
	int n;
	while ((n = zt_count_fds(comp->pid)) != want && gt_now_ms() < deadline) {
		redraw(comp);
		usleep(20000);
	}
	return n;
}

/* One dma-buf capture on a fresh connection: the compositor still serves them. */
static void check_serves(struct zt_compositor *comp, const char *after) {
	struct gt_dmabuf_capture capture;
	gt_dmabuf_open(comp, &capture);
	struct zcc_session *session = capture.session;
	struct zcc_buffer *buffer = capture.buffer;
	if (buffer != NULL) {
		struct zcc_capture_result result;
		enum zcc_frame_status status =
			zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
		ZT_CHECK(status == ZCC_FRAME_READY, "after %s: a new capture is %s", after,
			zcc_frame_status_str(status));
		zcc_capture_result_finish(&result);
	}
	gt_dmabuf_close(&capture);
}

enum victim {
	V_BUFFER,
	V_FRAME,
	V_SESSION,
};

static const char *const victim_names[] = {"buffer", "frame", "session"};

/*
 * Starts a full-frame GPU draw and destroys the victim at once, before any
 * event is read; then the connection must stay healthy.
 */
static void destroy_mid_draw(struct zt_compositor *comp, enum victim victim) {
	char what[64];
	snprintf(what, sizeof(what), "%s destroyed while the GPU draws", victim_names[victim]);
	struct zcc_client *client = zt_connect(comp);
	struct zcc_session *probe = client != NULL ? gt_session(client, 0) : NULL;
	struct zcc_dmabuf_device *device = probe != NULL ? gt_device(probe) : NULL;
	for (int round = 0; device != NULL && round < ROUNDS; round++) {
		struct zcc_session *session = gt_session(client, 0);
		struct zcc_buffer *buffer = session != NULL ?
			gt_dmabuf(device, session, GT_DRM_FORMAT_XRGB8888) : NULL;
		if (buffer == NULL) {
			zcc_session_destroy(session);
			break;
		}
		ZT_CHECK(zt_cmd(comp, "rect flash 0 0 640 480 %08x", colors[round % N_COLORS]),
			"rect flash: %s", comp->reply);
		/* A new session's first frame is drawn at once. */
		struct zcc_frame *frame = zcc_frame_create(session);
		zcc_frame_attach_buffer(frame, buffer);
		zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
		zcc_frame_capture(frame);
		/* Give the compositor the request, not the time to finish. */
		usleep(2000);
		switch (victim) {
		case V_BUFFER:
			zcc_buffer_destroy(buffer);
			buffer = NULL;
			break;
		case V_FRAME:
			zcc_frame_destroy(frame);
			frame = NULL;
			break;
		case V_SESSION:
			zcc_session_destroy(session);
			session = NULL;
			break;
		}
		wl_display_flush(client->display);
		if (frame != NULL) {
			enum zcc_frame_status status = zcc_frame_wait(frame, GT_EXPECT_MS);
			ZT_CHECK(status == ZCC_FRAME_READY || status == ZCC_FRAME_FAILED,
				"%s: the frame ends (%s)", what, zcc_frame_status_str(status));
			ZT_CHECK(frame->result.events_after_done == 0, "%s: one outcome", what);
		}
		ZT_CHECK(zcc_client_roundtrip(client, GT_EXPECT_MS) == 1, "%s: the connection is "
			"healthy (%s)", what, zcc_client_last_error(client));
		zcc_frame_destroy(frame);
		zcc_buffer_destroy(buffer);
		zcc_session_destroy(session);
	}
	zcc_dmabuf_device_destroy(device);
	zcc_session_destroy(probe);
	zcc_client_destroy(client);
}

/*
 * A child process captures dma-buf frames as fast as the output changes;
 * the parent changes the output and kills the child right after, while its
 * frame is on the GPU.
 */
static void kill_mid_frame(struct zt_compositor *comp, int round) {
	int ready[2];
	if (pipe(ready) != 0) {
		ZT_CHECK(false, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		struct zcc_client *client = zcc_client_connect(comp->socket);
		struct zcc_session *session = client != NULL ?
			zcc_session_create(client, zcc_client_find_output(client, NULL), 0) : NULL;
		if (session == NULL || zcc_session_wait_constraints(session, GT_EXPECT_MS) != 1) {
			_exit(1);
		}
		struct zcc_dmabuf_device *device =
			zcc_dmabuf_device_open(client, session->constraints.dmabuf_device);
		/* Several buffers and sessions in flight: more to clean up. */
		struct zcc_buffer *buffers[3];
		for (int i = 0; i < 3; i++) {
			buffers[i] = device != NULL ? zcc_dmabuf_buffer_create(device, GT_DRM_FORMAT_XRGB8888,
				ZCC_DRM_FORMAT_MOD_LINEAR, (int32_t)session->constraints.width,
				(int32_t)session->constraints.height) : NULL;
			if (buffers[i] == NULL) {
				_exit(1);
			}
		}
		struct zcc_capture_result result;
		if (zcc_session_capture(session, buffers[0], NULL, 0, GT_EXPECT_MS, &result) !=
				ZCC_FRAME_READY) {
			_exit(1);
		}
		if (write(ready[1], "r", 1) != 1) {
			_exit(1);
		}
		for (int i = 1;; i++) {
			/* Waits for the parent's change; then the draw starts at once. */
			zcc_session_capture(session, buffers[i % 3], NULL, 0, 60000, &result);
			zcc_capture_result_finish(&result);
		}
	}
	close(ready[1]);
	char c;
	bool child_ready = read(ready[0], &c, 1) == 1;
	close(ready[0]);
	ZT_CHECK(child_ready, "round %d: the child captured its first frame", round);
	if (child_ready) {
		/* Let its next frame wait, then change the whole output and kill. */
		usleep(50000);
		ZT_CHECK(zt_cmd(comp, "rect flash 0 0 640 480 %08x", colors[round % N_COLORS]),
			"rect flash: %s", comp->reply);
	}
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	ZT_CHECK(zt_compositor_alive(comp), "round %d: the compositor survived", round);
}

int main(void) {
	zt_section("dma-buf lifetimes");
	struct zt_compositor comp;
	if (!gt_start(&comp, "640x480", NULL)) {
		return zt_finish();
	}
	/* Warm up the GPU path once (programs, caches), then count. */
	check_serves(&comp, "start");
	int baseline = -1;
	for (int i = 0; i < 50; i++) {
		redraw(&comp);
		usleep(50000);
		int n = zt_count_fds(comp.pid);
		if (n == baseline) {
			break;
		}
		baseline = n;
	}
	ZT_CHECK(baseline > 0, "the compositor's fds can be counted");
	gt_print_fds(comp.pid);

	zt_section("destroyed while the GPU draws");
	for (int v = V_BUFFER; v <= V_SESSION; v++) {
		destroy_mid_draw(&comp, (enum victim)v);
		ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor survived", victim_names[v]);
		int n = wait_fds(&comp, baseline);
		ZT_CHECK(n == baseline, "%s: %d fds after the client left, baseline %d",
			victim_names[v], n, baseline);
		if (n != baseline) {
			gt_print_fds(comp.pid);
		}
	}

	zt_section("clients killed mid-frame");
	for (int round = 0; round < ROUNDS; round++) {
		kill_mid_frame(&comp, round);
		int n = wait_fds(&comp, baseline);
		ZT_CHECK(n == baseline, "round %d: %d fds after the killed client, baseline %d",
			round, n, baseline);
		if (n != baseline) {
			gt_print_fds(comp.pid);
		}
	}
	check_serves(&comp, "the killed clients");
	int n = wait_fds(&comp, baseline);
	ZT_CHECK(n == baseline, "%d fds at the end, baseline %d", n, baseline);
	if (n != baseline) {
		gt_print_fds(comp.pid);
	}
	zt_compositor_stop(&comp);
	return zt_finish();
}
