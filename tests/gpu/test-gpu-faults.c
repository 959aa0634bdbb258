/*
 * Injected GPU faults on the GLES2 renderer: the client's dma-buf cannot be
 * imported, the fence cannot be made, the read back of the shm path fails.
 * An import fault fails its frame with buffer_constraints. The others are
 * transient: the copy is tried again (up to 8 more times, further apart
 * each time), and the frame is ready with the right pixels when a try
 * works; only a fault that outlasts every try fails it (unknown). Each
 * logs a line naming the step; the compositor and the session live on, and
 * the damage of a failed frame goes to the next. The host suite's
 * test-faults covers the allocation and CPU copy faults.
 *
 * Also on the shm path: a buffer destroyed, and its memory truncated, while
 * its read back is still on the GPU. The copy out of the pixel buffer comes
 * later, from the event loop: it must not write into memory the client has
 * let go of.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "gpu-common.h"

#define TICK_RGBA 0xff00ffffu

static struct zt_compositor comp;
static uint32_t *expected; /* the scene with the tick */
static int width, height;

/* Fills the buffer with the sentinel, whatever its kind. */
static void fill(struct zcc_buffer *buffer) {
	if (buffer->type == ZCC_BUFFER_DMABUF) {
		ZT_CHECK(zcc_dmabuf_fill(buffer, GT_SENTINEL), "cannot fill the dma-buf");
	} else {
		zcc_buffer_fill(buffer, GT_SENTINEL);
	}
}

/* Pixels of the buffer that differ from the scene with the tick. */
static int count_wrong(struct zcc_buffer *buffer, const char *what) {
	if (buffer->type == ZCC_BUFFER_DMABUF) {
		struct zcc_image image = zcc_dmabuf_read(buffer);
		int bad = gt_count_diff_expected(&image, expected, what);
		free((void *)image.data);
		return bad;
	}
	struct zcc_image image = zcc_buffer_image(buffer);
	return gt_count_diff_expected(&image, expected, what);
}

static enum zcc_frame_status capture(struct zcc_session *session, struct zcc_buffer *buffer,
		uint32_t *reason) {
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
	*reason = result.failure_reason;
	zcc_capture_result_finish(&result);
	return status;
}

/*
 * The tick: a change, so that the next frame has something to copy. Each
 * tick has the other color: one that repeats the last damages nothing, and
 * the next frame would wait for a change that never comes.
 */
static void tick(void) {
	static int ticks;
	uint32_t rgba = ticks++ % 2 == 0 ? TICK_RGBA : 0xffffffffu;
	ZT_CHECK(zt_cmd(&comp, "rect tick 300 220 10 10 %08x", rgba), "rect tick: %s", comp.reply);
	/* The expected image follows the tick. */
	uint32_t argb = zt_rgba_to_argb(rgba);
	for (int y = 220; y < 230; y++) {
		for (int x = 300; x < 310; x++) {
			expected[y * width + x] = argb;
		}
	}
}

/* src/capture/capture.h: tries after the first. */
#define MAX_RETRIES 8

static const char *const retry_words[] = {"zerocap", "trying again", NULL};

/* Fills, captures with full buffer damage and checks the pixels when ready. */
static enum zcc_frame_status capture_checked(struct zcc_session *session,
		struct zcc_buffer *buffer, uint32_t *reason, const char *what) {
	fill(buffer);
	uint64_t start = gt_now_ms();
	enum zcc_frame_status status = capture(session, buffer, reason);
	if (status == ZCC_FRAME_READY) {
		fprintf(stderr, "  %s: ready in %llu ms\n", what,
			(unsigned long long)(gt_now_ms() - start));
		ZT_CHECK(count_wrong(buffer, what) == 0, "%s: the pixels are wrong", what);
	}
	return status;
}

/*
 * Injects count faults, changes the scene and captures into a buffer full
 * of the sentinel. A transient fault (fence, read back) up to MAX_RETRIES
 * times: the frame is ready with the whole scene and the log names the step
 * and the new try. Beyond, or an import fault: the frame fails (unknown,
 * buffer_constraints), the rest of the faults are cleared, and the next
 * frame comes at once with the whole scene.
 */
static void check_fault(struct zcc_session *session, struct zcc_buffer *buffer,
		const char *fault, int count, const char *const *log_words) {
	bool transient = strcmp(fault, "import") != 0;
	bool fails = !transient || count > MAX_RETRIES;
	uint32_t want_reason = transient ? ZCC_FAILURE_UNKNOWN : ZCC_FAILURE_BUFFER_CONSTRAINTS;
	char what[96];
	snprintf(what, sizeof(what), "%s x%d (%s)", fault, count,
		buffer->type == ZCC_BUFFER_DMABUF ? "dma-buf" : "shm");
	zt_section(what);
	struct gt_stats before, after;
	gt_stats(&comp, &before);
	long mark = gt_log_mark(&comp);
	ZT_CHECK(zt_cmd(&comp, "fault %s %d", fault, count), "fault %s: %s", fault, comp.reply);
	tick();
	uint32_t reason = 0;
	enum zcc_frame_status status = capture_checked(session, buffer, &reason, what);
	if (fails) {
		ZT_CHECK(status == ZCC_FRAME_FAILED && reason == want_reason,
			"%s: frame %s (%s), want failed: %s", what, zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-",
			zcc_failure_reason_str(want_reason));
	} else {
		ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s), want ready after %d more "
			"tries", what, zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-", count);
	}
	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor died", what);
	ZT_CHECK(gt_log_has_line(&comp, mark, log_words), "%s: no log line with '%s'", what,
		log_words[1]);
	if (transient) {
		ZT_CHECK(gt_log_has_line(&comp, mark, retry_words), "%s: no log line with '%s'",
			what, retry_words[1]);
	}
	if (fails) {
		ZT_CHECK(zt_cmd(&comp, "fault %s 0", fault), "clear %s: %s", fault, comp.reply);
		/* The failed frame's damage is not lost: the next frame comes at once. */
		status = capture_checked(session, buffer, &reason, "the next frame");
		ZT_CHECK(status == ZCC_FRAME_READY, "%s: the next frame: %s (%s)", what,
			zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-");
	}
	if (gt_stats(&comp, &after)) {
		uint64_t want_failed = fails ? 1 : 0;
		ZT_CHECK(after.frames_failed == before.frames_failed + want_failed &&
			after.frames_ready == before.frames_ready + 1, "%s: counters: failed +%llu, "
			"ready +%llu, want +%llu and +1", what,
			(unsigned long long)(after.frames_failed - before.frames_failed),
			(unsigned long long)(after.frames_ready - before.frames_ready),
			(unsigned long long)want_failed);
	}
	struct zcc_error err = {0};
	char buf[160];
	ZT_CHECK(!zcc_client_get_error(session->client, &err), "%s: %s", what,
		zcc_error_str(&err, buf, sizeof(buf)));
}

/*
 * A client that captures on through transient faults, frame after frame,
 * into both kinds of buffer: every frame is ready and right, none fails.
 */
static void check_series(struct zcc_session *session, struct zcc_buffer *dmabuf,
		struct zcc_buffer *shm) {
	zt_section("a client captures on through a series of transient faults");
	static const struct {
		const char *fault;
		bool shm;
	} steps[] = {
		{"fence", false}, {"read-back", true}, {"fence", true},
		{"fence", false}, {"read-back", true}, {"fence", true},
	};
	struct gt_stats before, after;
	gt_stats(&comp, &before);
	int n = (int)(sizeof(steps) / sizeof(steps[0]));
	for (int i = 0; i < n; i++) {
		char what[64];
		snprintf(what, sizeof(what), "frame %d (%s, %s)", i, steps[i].fault,
			steps[i].shm ? "shm" : "dma-buf");
		ZT_CHECK(zt_cmd(&comp, "fault %s %d", steps[i].fault, 1 + i % 3), "fault: %s",
			comp.reply);
		tick();
		uint32_t reason = 0;
		enum zcc_frame_status status = capture_checked(session,
			steps[i].shm ? shm : dmabuf, &reason, what);
		ZT_CHECK(status == ZCC_FRAME_READY, "%s: %s (%s)", what, zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-");
	}
	if (gt_stats(&comp, &after)) {
		ZT_CHECK(after.frames_failed == before.frames_failed &&
			after.frames_ready == before.frames_ready + (uint64_t)n,
			"series: counters: failed +%llu, ready +%llu, want +0 and +%d",
			(unsigned long long)(after.frames_failed - before.frames_failed),
			(unsigned long long)(after.frames_ready - before.frames_ready), n);
	}
}

/*
 * An shm buffer in a memfd the test can shrink (zcclient seals its own),
 * attached to a frame of a new session, captured (the first frame is copied
 * at once: the read back starts), then destroyed at once, and the memory
 * truncated when truncate says so. The frame fails; nothing crashes.
 */
static void check_gone_during_read_back(struct zcc_client *client, bool truncate) {
	const char *what = truncate ? "shm buffer destroyed and truncated during the read back" :
		"shm buffer destroyed during the read back";
	zt_section(what);
	struct zcc_session *session = gt_session(client, 0);
	if (session == NULL) {
		return;
	}
	size_t size = (size_t)width * height * 4;
	int fd = memfd_create("gt-faults", MFD_CLOEXEC);
	ZT_CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "memfd: %s", strerror(errno));
	struct wl_shm_pool *pool = wl_shm_create_pool(client->shm, fd, (int32_t)size);
	struct wl_buffer *wl_buffer = wl_shm_pool_create_buffer(pool, 0, width, height,
		width * 4, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	struct gt_stats before;
	gt_stats(&comp, &before);

	struct zcc_frame *frame = zcc_frame_create(session);
	ext_image_copy_capture_frame_v1_attach_buffer(frame->frame, wl_buffer);
	zcc_frame_damage_buffer(frame, 0, 0, width, height);
	/* Both in one flush: the destroy is in before the GPU is done. */
	ext_image_copy_capture_frame_v1_capture(frame->frame);
	wl_buffer_destroy(wl_buffer);
	wl_display_flush(client->display);
	if (truncate) {
		ZT_CHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	}
	enum zcc_frame_status status = zcc_frame_wait(frame, GT_EXPECT_MS);
	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor died", what);
	ZT_CHECK(status == ZCC_FRAME_FAILED &&
		frame->result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS, "%s: frame %s (%s), "
		"want failed: buffer_constraints", what, zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(frame->result.failure_reason) :
		"-");
	zcc_frame_destroy(frame);
	close(fd);
	/* It did go through the read back: the pixels were read. */
	struct gt_stats after;
	if (zt_compositor_alive(&comp) && gt_stats(&comp, &after)) {
		ZT_CHECK(after.cpu_pixel_reads > before.cpu_pixel_reads, "%s: no read back ran",
			what);
	}
	zcc_session_destroy(session);
}

int main(void) {
	if (!gt_start(&comp, "320x240", NULL)) {
		return zt_finish();
	}
	gt_setup_scene(&comp);
	struct gt_dmabuf_capture opened;
	gt_dmabuf_open(&comp, &opened);
	struct zcc_session *session = opened.session;
	struct zcc_buffer *dmabuf = opened.buffer;
	struct zcc_buffer *shm = session != NULL ? gt_shm(session, WL_SHM_FORMAT_XRGB8888) : NULL;
	if (dmabuf == NULL || shm == NULL) {
		zt_compositor_stop(&comp);
		return zt_finish();
	}
	width = (int)session->constraints.width;
	height = (int)session->constraints.height;
	expected = gt_expected_scene(width, height, 1);

	/*
	 * Both paths once, so that imports and staging images are made: the
	 * session's two opening frames (both come at once), one into each
	 * buffer. Later frames wait for a tick.
	 */
	uint32_t reason;
	ZT_CHECK(capture(session, dmabuf, &reason) == ZCC_FRAME_READY, "first dma-buf frame");
	tick();
	ZT_CHECK(capture(session, shm, &reason) == ZCC_FRAME_READY, "first shm frame");
	zt_cmd(&comp, "sync");
	int fds_before = zt_count_fds(comp.pid);

	static const char *const import_words[] = {
		"zerocap", "cannot import the client's dma-buf", NULL,
	};
	static const char *const fence_words[] = {"zerocap", "cannot watch the GPU fence", NULL};
	static const char *const read_back_words[] = {
		"zerocap", "reading back the output buffer failed", NULL,
	};
	check_fault(session, dmabuf, "import", 1, import_words);
	check_fault(session, dmabuf, "fence", 1, fence_words);
	check_fault(session, shm, "read-back", 1, read_back_words);
	check_fault(session, shm, "fence", 1, fence_words);
	check_fault(session, dmabuf, "fence", MAX_RETRIES, fence_words);
	check_fault(session, shm, "read-back", MAX_RETRIES, read_back_words);
	check_fault(session, dmabuf, "fence", 20, fence_words);
	check_fault(session, shm, "read-back", 20, read_back_words);
	check_fault(session, shm, "fence", 20, fence_words);
	check_series(session, dmabuf, shm);

	zt_section("file descriptors after the faults");
	int fds_after = -1;
	for (int i = 0; i < 40 && fds_after != fds_before; i++) {
		zt_cmd(&comp, "sync");
		fds_after = zt_count_fds(comp.pid);
		if (fds_after != fds_before) {
			usleep(50000);
		}
	}
	ZT_CHECK(fds_after == fds_before, "the compositor has %d fds, %d before the faults",
		fds_after, fds_before);
	if (fds_after != fds_before) {
		gt_print_fds(comp.pid);
	}

	check_gone_during_read_back(opened.client, false);
	check_gone_during_read_back(opened.client, true);

	zt_section("capture after everything");
	fill(shm);
	tick();
	ZT_CHECK(capture(session, shm, &reason) == ZCC_FRAME_READY, "last shm frame");
	ZT_CHECK(count_wrong(shm, "last shm frame") == 0, "last shm frame: wrong pixels");

	zcc_buffer_destroy(shm);
	gt_dmabuf_close(&opened);
	free(expected);
	zt_compositor_stop(&comp);
	return zt_finish();
}
