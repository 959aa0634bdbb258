/*
 * Injected GPU faults on the GLES2 renderer: the client's dma-buf cannot be
 * imported, the fence cannot be made, the read back of the shm path fails.
 * Each fails its frame (buffer_constraints for the import, unknown for the
 * others) with a log line naming the step; the compositor and the session
 * live on, and the next capture is ready with the right pixels. The host
 * suite's test-faults covers the allocation and CPU copy faults.
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

/* The tick: a change, so that the next frame has something to copy. */
static void tick(int i) {
	uint32_t rgba = i % 2 == 0 ? TICK_RGBA : 0xffffffffu;
	ZT_CHECK(zt_cmd(&comp, "rect tick 300 220 10 10 %08x", rgba), "rect tick: %s", comp.reply);
	/* The expected image follows the tick. */
	uint32_t argb = zt_rgba_to_argb(rgba);
	for (int y = 220; y < 230; y++) {
		for (int x = 300; x < 310; x++) {
			expected[y * width + x] = argb;
		}
	}
}

/*
 * Injects count faults, changes the scene and captures: count frames fail
 * with want_reason and the log names the step; then a frame into a buffer
 * full of the sentinel is ready with the whole scene.
 */
static void check_fault(struct zcc_session *session, struct zcc_buffer *buffer,
		const char *fault, int count, uint32_t want_reason, const char *const *log_words) {
	static int ticks;
	char what[96];
	snprintf(what, sizeof(what), "%s x%d (%s)", fault, count,
		buffer->type == ZCC_BUFFER_DMABUF ? "dma-buf" : "shm");
	zt_section(what);
	struct gt_stats before, after;
	gt_stats(&comp, &before);
	long mark = gt_log_mark(&comp);
	ZT_CHECK(zt_cmd(&comp, "fault %s %d", fault, count), "fault %s: %s", fault, comp.reply);
	tick(++ticks);
	for (int i = 0; i < count; i++) {
		uint32_t reason = 0;
		enum zcc_frame_status status = capture(session, buffer, &reason);
		ZT_CHECK(status == ZCC_FRAME_FAILED && reason == want_reason,
			"%s: frame %d: %s (%s), want failed: %s", what, i, zcc_frame_status_str(status),
			status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-",
			zcc_failure_reason_str(want_reason));
	}
	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor died", what);
	ZT_CHECK(gt_log_has_line(&comp, mark, log_words), "%s: no log line with '%s'", what,
		log_words[1]);

	/* The failed frames' damage is not lost: the next frame comes at once. */
	fill(buffer);
	uint32_t reason = 0;
	uint64_t start = gt_now_ms();
	enum zcc_frame_status status = capture(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: the next frame: %s (%s)", what,
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-");
	if (status == ZCC_FRAME_READY) {
		fprintf(stderr, "  the next frame: ready in %llu ms\n",
			(unsigned long long)(gt_now_ms() - start));
		ZT_CHECK(count_wrong(buffer, what) == 0, "%s: the next frame's pixels are wrong",
			what);
	}
	if (gt_stats(&comp, &after)) {
		ZT_CHECK(after.frames_failed == before.frames_failed + (uint64_t)count &&
			after.frames_ready == before.frames_ready + 1, "%s: counters: failed +%llu, "
			"ready +%llu, want +%d and +1", what,
			(unsigned long long)(after.frames_failed - before.frames_failed),
			(unsigned long long)(after.frames_ready - before.frames_ready), count);
	}
	struct zcc_error err;
	char buf[160];
	ZT_CHECK(!zcc_client_get_error(session->client, &err), "%s: %s", what,
		zcc_error_str(&err, buf, sizeof(buf)));
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
		frame->result.failure_reason == ZCC_FAILURE_UNKNOWN, "%s: frame %s (%s), want "
		"failed: unknown", what, zcc_frame_status_str(status),
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

	/* Both paths once, so that imports and staging images are made. */
	uint32_t reason;
	ZT_CHECK(capture(session, dmabuf, &reason) == ZCC_FRAME_READY, "first dma-buf frame");
	tick(0);
	ZT_CHECK(capture(session, shm, &reason) == ZCC_FRAME_READY, "first shm frame");
	zt_cmd(&comp, "sync");
	int fds_before = zt_count_fds(comp.pid);

	check_fault(session, dmabuf, "import", 1, ZCC_FAILURE_BUFFER_CONSTRAINTS,
		(const char *const[]){"zerocap", "cannot import the client's dma-buf", NULL});
	check_fault(session, dmabuf, "fence", 1, ZCC_FAILURE_UNKNOWN,
		(const char *const[]){"zerocap", "cannot watch the GPU fence", NULL});
	check_fault(session, shm, "read-back", 1, ZCC_FAILURE_UNKNOWN,
		(const char *const[]){"zerocap", "reading back the output buffer failed", NULL});
	check_fault(session, shm, "fence", 1, ZCC_FAILURE_UNKNOWN,
		(const char *const[]){"zerocap", "cannot watch the GPU fence", NULL});
	check_fault(session, dmabuf, "fence", 3, ZCC_FAILURE_UNKNOWN,
		(const char *const[]){"zerocap", "cannot watch the GPU fence", NULL});
	check_fault(session, shm, "read-back", 3, ZCC_FAILURE_UNKNOWN,
		(const char *const[]){"zerocap", "reading back the output buffer failed", NULL});

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
	tick(1);
	ZT_CHECK(capture(session, shm, &reason) == ZCC_FRAME_READY, "last shm frame");
	ZT_CHECK(count_wrong(shm, "last shm frame") == 0, "last shm frame: wrong pixels");

	zcc_buffer_destroy(shm);
	gt_dmabuf_close(&opened);
	free(expected);
	zt_compositor_stop(&comp);
	return zt_finish();
}
