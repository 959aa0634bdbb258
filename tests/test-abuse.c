/*
 * Protocol abuse: what a broken or hostile client can do to the compositor
 * beyond the protocol errors test-errors sends.
 *
 * - shm memory that is not there: pools smaller than their buffers (wl_shm
 *   refuses them), pools larger than their file and files truncated under
 *   an attached buffer (the copy faults; wlroots' wl_shm catches the SIGBUS
 *   and maps zero pages there, so the frame may even come back ready);
 * - thousands of sessions and frames from one client (64 sessions run, the
 *   rest are stopped), a new screencopy region for every frame;
 * - damage and regions at the ends of int32;
 * - a client that sends requests and never reads its socket;
 * - buffers destroyed and clients killed mid-capture.
 *
 * After each the compositor must run, capture for a new client at once, and
 * hold no more file descriptors and no more mappings of client shm memory
 * than before.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "wl-helpers.h"

#define WAIT_MS 10000 /* for events that must come */
#define QUIET_MS 300 /* for events that must not come */
#define RECOVER_MS 3000 /* a new client's whole capture, while or after the abuse */
#define SESSION_LIMIT 64 /* per client, include/zerocap/zerocap.h */
#define OUTPUT_W 640
#define OUTPUT_H 480

static struct zt_compositor comp;
static int baseline_fds; /* compositor fds with no client connected */

/* The compositor's mappings of client shm memory (zcclient's and ours). */
static int client_maps(void) {
	return zt_count_maps(comp.pid, "zcclient-shm") + zt_count_maps(comp.pid, "zt-shm");
}

static long ms_since(uint64_t start_ns) {
	return (long)((zcc_now_ns() - start_ns) / 1000000);
}

/* A new client captures a frame, within RECOVER_MS from connecting. */
static void check_other_client(const char *what) {
	uint64_t start = zcc_now_ns();
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_check_ready(ctx.session, ctx.buffer, what);
		zt_check_no_error(ctx.client, what);
	}
	zt_ctx_close(&ctx);
	long ms = ms_since(start);
	fprintf(stderr, "  %s: another client captured in %ld ms\n", what, ms);
	ZT_CHECK(ms < RECOVER_MS, "%s: another client needed %ld ms to capture", what, ms);
}

/* With no client left: fds and client shm mappings are back to where they were. */
static void check_clean(const char *what) {
	int fds = -1, maps = -1;
	for (int i = 0; i < 40; i++) {
		zt_cmd(&comp, "sync");
		fds = zt_count_fds(comp.pid);
		maps = client_maps();
		if (fds == baseline_fds && maps == 0) {
			break;
		}
		usleep(50000);
	}
	ZT_CHECK(fds == baseline_fds, "%s: the compositor has %d fds, %d before", what, fds,
		baseline_fds);
	ZT_CHECK(maps == 0, "%s: the compositor still maps %d client shm pools", what, maps);
}

/* The compositor survived, serves a new client quickly and leaks nothing. */
static void check_recovers(const char *after) {
	bool alive = zt_compositor_alive(&comp);
	ZT_CHECK(alive, "compositor died after %s", after);
	if (!alive) {
		return;
	}
	check_other_client(after);
	check_clean(after);
}

/* Raw objects zcclient does not model */

/* A screencopy frame and what it got. */
struct sc_frame {
	struct zwlr_screencopy_frame_v1 *proxy;
	uint32_t format, width, height, stride;
	unsigned buffers, buffer_done, ready, failed;
};

static void sc_buffer(void *data, struct zwlr_screencopy_frame_v1 *proxy, uint32_t format,
		uint32_t width, uint32_t height, uint32_t stride) {
	struct sc_frame *frame = data;
	frame->format = format;
	frame->width = width;
	frame->height = height;
	frame->stride = stride;
	frame->buffers++;
}

static void sc_flags(void *data, struct zwlr_screencopy_frame_v1 *proxy, uint32_t flags) {
}

static void sc_ready(void *data, struct zwlr_screencopy_frame_v1 *proxy, uint32_t sec_hi,
		uint32_t sec_lo, uint32_t nsec) {
	((struct sc_frame *)data)->ready++;
}

static void sc_failed(void *data, struct zwlr_screencopy_frame_v1 *proxy) {
	((struct sc_frame *)data)->failed++;
}

static void sc_damage(void *data, struct zwlr_screencopy_frame_v1 *proxy, uint32_t x,
		uint32_t y, uint32_t width, uint32_t height) {
}

static void sc_linux_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *proxy,
		uint32_t format, uint32_t width, uint32_t height) {
}

static void sc_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *proxy) {
	((struct sc_frame *)data)->buffer_done++;
}

static const struct zwlr_screencopy_frame_v1_listener sc_frame_listener = {
	.buffer = sc_buffer,
	.flags = sc_flags,
	.ready = sc_ready,
	.failed = sc_failed,
	.damage = sc_damage,
	.linux_dmabuf = sc_linux_dmabuf,
	.buffer_done = sc_buffer_done,
};

static bool sc_announced(void *data) {
	struct sc_frame *frame = data;
	return frame->buffer_done + frame->failed > 0;
}

static bool sc_done(void *data) {
	struct sc_frame *frame = data;
	return frame->ready + frame->failed > 0;
}

/* Starts a frame of the output (region NULL: all of it); does not wait. */
static void sc_frame_start(struct sc_frame *frame, struct zwlr_screencopy_manager_v1 *manager,
		struct zcc_output *output, const struct zcc_rect *region) {
	memset(frame, 0, sizeof(*frame));
	if (region == NULL) {
		frame->proxy = zwlr_screencopy_manager_v1_capture_output(manager, 0,
			output->wl_output);
	} else {
		frame->proxy = zwlr_screencopy_manager_v1_capture_output_region(manager, 0,
			output->wl_output, region->x, region->y, region->width, region->height);
	}
	zwlr_screencopy_frame_v1_add_listener(frame->proxy, &sc_frame_listener, frame);
}

static void sc_frame_finish(struct sc_frame *frame) {
	if (frame->proxy != NULL) {
		zwlr_screencopy_frame_v1_destroy(frame->proxy);
	}
	memset(frame, 0, sizeof(*frame));
}

/*
 * The two opening frames of a screencopy region (NULL: the whole output)
 * into buffer, with copy_with_damage: as for a capture session
 * (zt_opening_frames), both are copied at once, and later frames of the
 * region wait for damage. Checks that both are ready (what NULL: quiet);
 * true when they were.
 */
static bool sc_opening_frames(struct zcc_client *client,
		struct zwlr_screencopy_manager_v1 *manager, struct zcc_output *output,
		const struct zcc_rect *region, struct wl_buffer *buffer, const char *what) {
	for (int i = 0; i < 2; i++) {
		struct sc_frame frame;
		sc_frame_start(&frame, manager, output, region);
		zwlr_screencopy_frame_v1_copy_with_damage(frame.proxy, buffer);
		zcc_client_dispatch_until(client, sc_done, &frame, WAIT_MS);
		bool ready = frame.ready == 1 && frame.failed == 0;
		if (what != NULL) {
			ZT_CHECK(ready, "%s: %s frame: ready %u, failed %u", what,
				i == 0 ? "first" : "second", frame.ready, frame.failed);
		}
		sc_frame_finish(&frame);
		if (!ready) {
			return false;
		}
	}
	return true;
}

static struct zwlr_screencopy_manager_v1 *bind_screencopy(struct zcc_client *client) {
	struct zwlr_screencopy_manager_v1 *manager =
		zcc_client_bind(client, &zwlr_screencopy_manager_v1_interface, 3);
	ZT_CHECK(manager != NULL, "no zwlr_screencopy_manager_v1");
	return manager;
}

/* A new client with the screencopy manager bound; NULL (checked) without. */
static struct zcc_client *screencopy_connect(struct zwlr_screencopy_manager_v1 **manager) {
	struct zcc_client *client = zt_connect(&comp);
	*manager = client != NULL ? bind_screencopy(client) : NULL;
	if (*manager == NULL) {
		zcc_client_destroy(client);
		return NULL;
	}
	return client;
}

/* shm memory that is not there */

static void test_pool_too_small(void) {
	zt_section("shm: pools too small for their buffers");
	const int32_t size = OUTPUT_W * OUTPUT_H * 4;
	struct {
		const char *what;
		int32_t pool_size, offset;
		const struct wl_interface *interface; /* of the object wl_shm blames */
	} cases[] = {
		{"pool one byte short", size - 1, 0, &wl_shm_pool_interface},
		{"buffer past the pool's end", size, 4, &wl_shm_pool_interface},
		{"buffer at the pool's end", size, size, &wl_shm_pool_interface},
		{"negative offset", size, -4, &wl_shm_pool_interface},
		{"pool of size 0", 0, 0, &wl_shm_interface},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zt_ctx ctx;
		if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
			struct zt_shm_buffer raw;
			zt_shm_buffer_create(&raw, ctx.client, &(struct zt_shm_layout){
				.file_size = size, .pool_size = cases[i].pool_size,
				.offset = cases[i].offset, .width = OUTPUT_W, .height = OUTPUT_H,
				.stride = OUTPUT_W * 4, .format = WL_SHM_FORMAT_XRGB8888,
			});
			/* The buffer is used at once, before the error can arrive. */
			struct zcc_frame *frame = zcc_frame_create(ctx.session);
			ext_image_copy_capture_frame_v1_attach_buffer(frame->frame, raw.wl_buffer);
			zcc_frame_damage_buffer(frame, 0, 0, OUTPUT_W, OUTPUT_H);
			zcc_frame_capture(frame);
			zt_check_error(ctx.client, cases[i].interface, WL_SHM_ERROR_INVALID_STRIDE,
				cases[i].what);
			zcc_frame_destroy(frame);
			zt_shm_buffer_finish(&raw);
		}
		zt_ctx_close(&ctx);
		check_recovers(cases[i].what);
	}
}

enum missing_memory {
	POOL_BEYOND_FILE, /* the pool claims more than its 4 KiB file */
	TRUNCATED_BEFORE_CAPTURE, /* attached, file truncated, then captured */
	TRUNCATED_HALF, /* the second half of the rows is gone */
	TRUNCATED_WHILE_WAITING, /* a waiting frame's file shrinks, then damage comes */
	TRUNCATED_SCREENCOPY,
	TRUNCATED_CURSOR, /* a cursor capture session's frame */
};

/*
 * A copy into memory that is gone may end in ready (wlroots' wl_shm maps
 * zero pages over what faults and, unlike libwayland's, sends no error: the
 * copy writes into memory nobody sees), in failed, or in a wl_shm error
 * (invalid_fd on the wl_buffer); what matters is the compositor's survival
 * and what it holds afterwards, which check_recovers() checks.
 */
static void check_missing_outcome(struct zcc_client *client, bool ready, bool failed,
		const char *what) {
	struct zcc_error err;
	char buf[160];
	if (zcc_client_get_error(client, &err)) {
		ZT_CHECK(err.protocol && strcmp(err.interface, "wl_buffer") == 0 &&
			err.code == WL_SHM_ERROR_INVALID_FD, "%s: unexpected error: %s", what,
			zcc_error_str(&err, buf, sizeof(buf)));
		fprintf(stderr, "  %s: %s\n", what, zcc_error_str(&err, buf, sizeof(buf)));
		return;
	}
	ZT_CHECK(ready != failed, "%s: ready %d, failed %d, want ready, failed or a wl_shm "
		"error", what, ready, failed);
	if (ready || failed) {
		fprintf(stderr, "  %s: %s\n", what, ready ? "ready" : "failed");
	}
}

static bool client_dead(void *data) {
	struct zcc_error err;
	return zcc_client_get_error(data, &err);
}

static void test_missing_memory(enum missing_memory kind, const char *what) {
	zt_section(what);
	const int32_t size = OUTPUT_W * OUTPUT_H * 4;
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}
	struct zt_shm_buffer raw = {.fd = -1};
	bool ready = false, failed = false;
	switch (kind) {
	case POOL_BEYOND_FILE:
	case TRUNCATED_BEFORE_CAPTURE:
	case TRUNCATED_HALF:
	case TRUNCATED_WHILE_WAITING: {
		zt_shm_buffer_create(&raw, ctx.client, &(struct zt_shm_layout){
			.file_size = kind == POOL_BEYOND_FILE ? 4096 : size, .pool_size = size,
			.width = OUTPUT_W, .height = OUTPUT_H, .stride = OUTPUT_W * 4,
			.format = WL_SHM_FORMAT_XRGB8888,
		});
		if (kind == TRUNCATED_WHILE_WAITING) {
			/* Then the next frame waits; it writes all of raw, never written before. */
			zt_opening_frames(ctx.session, ctx.buffer, what);
		}
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		ext_image_copy_capture_frame_v1_attach_buffer(frame->frame, raw.wl_buffer);
		zcc_frame_damage_buffer(frame, 0, 0, OUTPUT_W, OUTPUT_H);
		if (kind == TRUNCATED_BEFORE_CAPTURE) {
			zt_shm_buffer_truncate(&raw, 0);
		} else if (kind == TRUNCATED_HALF) {
			zt_shm_buffer_truncate(&raw, size / 2);
		}
		zcc_frame_capture(frame);
		if (kind == TRUNCATED_WHILE_WAITING) {
			zcc_client_dispatch_for(ctx.client, QUIET_MS);
			ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING, "%s: frame should wait, "
				"it is %s", what, zcc_frame_status_str(frame->result.status));
			zt_shm_buffer_truncate(&raw, 0);
			ZT_CHECK(zt_cmd(&comp, "rect abuse-shm 0 0 32 32 ff00ffff"), "rect");
		}
		enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
		ready = status == ZCC_FRAME_READY;
		failed = status == ZCC_FRAME_FAILED;
		zcc_frame_destroy(frame);
		break;
	}
	case TRUNCATED_SCREENCOPY: {
		struct zwlr_screencopy_manager_v1 *manager = bind_screencopy(ctx.client);
		if (manager == NULL) {
			break;
		}
		struct sc_frame frame;
		sc_frame_start(&frame, manager, zcc_client_find_output(ctx.client, NULL), NULL);
		zcc_client_dispatch_until(ctx.client, sc_announced, &frame, WAIT_MS);
		ZT_CHECK(frame.buffers == 1 && frame.width == OUTPUT_W &&
			frame.stride == OUTPUT_W * 4, "%s: buffer %ux%u stride %u", what, frame.width,
			frame.height, frame.stride);
		zt_shm_buffer_create_xrgb(&raw, ctx.client, (int32_t)frame.width,
			(int32_t)frame.height);
		zt_shm_buffer_truncate(&raw, 0);
		zwlr_screencopy_frame_v1_copy(frame.proxy, raw.wl_buffer);
		zcc_client_dispatch_until(ctx.client, sc_done, &frame, WAIT_MS);
		ready = frame.ready > 0;
		failed = frame.failed > 0;
		sc_frame_finish(&frame);
		zwlr_screencopy_manager_v1_destroy(manager);
		break;
	}
	case TRUNCATED_CURSOR: {
		struct zt_cursor_capture cc;
		bool ok = zt_cursor_capture_open(&cc, ctx.client,
			zcc_client_find_output(ctx.client, NULL)) &&
			!cc.session.stopped && cc.session.width > 0;
		ZT_CHECK(ok, "%s: no cursor capture session", what);
		if (ok) {
			int32_t width = (int32_t)cc.session.width, height = (int32_t)cc.session.height;
			zt_shm_buffer_create_xrgb(&raw, ctx.client, width, height);
			zt_shm_buffer_truncate(&raw, 0);
			struct zt_raw_frame frame;
			zt_raw_frame_start(&frame, cc.session.proxy, raw.wl_buffer, width, height);
			zcc_client_dispatch_until(ctx.client, zt_raw_frame_done, &frame, WAIT_MS);
			ready = frame.ready > 0;
			failed = frame.failed > 0;
			zt_raw_frame_finish(&frame);
		}
		zt_cursor_capture_close(&cc);
		break;
	}
	}
	/* The error, if any, may follow the frame's last event. */
	if (!ready && !failed) {
		zcc_client_dispatch_until(ctx.client, client_dead, ctx.client, WAIT_MS);
	} else {
		zcc_client_roundtrip(ctx.client, WAIT_MS);
	}
	check_missing_outcome(ctx.client, ready, failed, what);
	zt_shm_buffer_finish(&raw);
	zt_ctx_close(&ctx);
	if (kind == TRUNCATED_WHILE_WAITING) {
		ZT_CHECK(zt_cmd(&comp, "remove abuse-shm"), "remove rect");
	}
	check_recovers(what);
}

/* Thousands of sessions and frames */

static struct zcc_frame **pending_frames;
static int n_pending_frames;

static bool all_frames_done(void *data) {
	for (int i = 0; i < n_pending_frames; i++) {
		if (pending_frames[i]->result.status == ZCC_FRAME_PENDING) {
			return false;
		}
	}
	return true;
}

static void test_many_sessions(int n) {
	char what[96];
	snprintf(what, sizeof(what), "%d sessions and frames from one client", n);
	zt_section(what);
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_session **sessions = calloc(n, sizeof(*sessions));
	struct zcc_frame **frames = calloc(n, sizeof(*frames));
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		OUTPUT_W, OUTPUT_H, 0);
	uint64_t start = zcc_now_ns();
	for (int i = 0; i < n; i++) {
		sessions[i] = zcc_session_create(client, output,
			i % 2 == 1 ? ZCC_OPTION_PAINT_CURSORS : 0);
		if (i % 256 == 255) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}
	zcc_client_roundtrip(client, WAIT_MS);
	int running = 0, stopped = 0;
	for (int i = 0; i < n; i++) {
		running += sessions[i]->constraint_batches > 0 && !sessions[i]->stopped;
		stopped += sessions[i]->constraint_batches == 0 && sessions[i]->stopped;
	}
	fprintf(stderr, "  %d sessions in %ld ms: %d running, %d stopped\n", n, ms_since(start),
		running, stopped);
	ZT_CHECK(running == SESSION_LIMIT && stopped == n - SESSION_LIMIT,
		"%d running and %d stopped sessions, want %d and %d", running, stopped,
		SESSION_LIMIT, n - SESSION_LIMIT);
	/* One line, not one per session: the client does not decide how much is logged. */
	int lines = zt_log_count(&comp, "more than 64 capture sessions");
	ZT_CHECK(lines >= 1 && lines <= 5, "%d log lines for the session limit, want 1 to 5",
		lines);
	check_other_client("while one client holds thousands of sessions");

	/* A frame on every one: the running ones capture at once, the others fail. */
	start = zcc_now_ns();
	for (int i = 0; i < n; i++) {
		frames[i] = zcc_frame_create(sessions[i]);
		zcc_frame_attach_buffer(frames[i], buffer);
		zcc_frame_damage_buffer(frames[i], 0, 0, OUTPUT_W, OUTPUT_H);
		zcc_frame_capture(frames[i]);
		if (i % 256 == 255) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}
	pending_frames = frames;
	n_pending_frames = n;
	zcc_client_dispatch_until(client, all_frames_done, NULL, WAIT_MS);
	int ready = 0, failed_stopped = 0;
	for (int i = 0; i < n; i++) {
		ready += frames[i]->result.status == ZCC_FRAME_READY;
		failed_stopped += frames[i]->result.status == ZCC_FRAME_FAILED &&
			frames[i]->result.failure_reason == ZCC_FAILURE_STOPPED;
	}
	fprintf(stderr, "  %d frames in %ld ms: %d ready, %d failed (stopped)\n", n,
		ms_since(start), ready, failed_stopped);
	ZT_CHECK(ready == SESSION_LIMIT && failed_stopped == n - SESSION_LIMIT,
		"%d ready and %d failed frames, want %d and %d", ready, failed_stopped,
		SESSION_LIMIT, n - SESSION_LIMIT);
	check_other_client("while one client holds thousands of frames");
	for (int i = 0; i < n; i++) {
		zcc_frame_destroy(frames[i]);
		if (i % 256 == 255) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}

	/* Frames made and dropped on one running session, never captured. */
	start = zcc_now_ns();
	for (int i = 0; i < 10 * n; i++) {
		zcc_frame_destroy(zcc_frame_create(sessions[0]));
		if (i % 512 == 511) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}
	zt_check_no_error(client, "frames created and destroyed");
	fprintf(stderr, "  %d frames created and destroyed in %ld ms\n", 10 * n, ms_since(start));

	for (int i = 0; i < n; i++) {
		zcc_session_destroy(sessions[i]);
		if (i % 256 == 255) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}
	zt_check_no_error(client, "sessions destroyed");
	/* The limit counts live sessions: the same client may start again. */
	struct zcc_session *again = zcc_session_create(client, output, 0);
	zcc_session_wait_constraints(again, WAIT_MS);
	ZT_CHECK(!again->stopped && again->constraint_batches == 1, "a new session after the "
		"others were destroyed: stopped %d, %u batches", again->stopped,
		again->constraint_batches);
	zt_check_ready(again, buffer, "a new session after the others were destroyed");
	zcc_session_destroy(again);
	zcc_buffer_destroy(buffer);
	free(frames);
	free(sessions);
	zcc_client_destroy(client);
	pending_frames = NULL;
	n_pending_frames = 0;
	check_recovers(what);
}

/*
 * Screencopy: a new region for every frame, one frame at a time, as a
 * magnifier or a region recorder does. Every frame must work, however many
 * regions the client has used before.
 */
static void test_screencopy_regions(int n) {
	char what[96];
	snprintf(what, sizeof(what), "screencopy: %d regions, one after the other", n);
	zt_section(what);
	struct zwlr_screencopy_manager_v1 *manager;
	struct zcc_client *client = screencopy_connect(&manager);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, 16, 16, 0);
	long rss_before = zt_rss_kib(comp.pid);
	uint64_t start = zcc_now_ns();
	int ready = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		struct zcc_rect region = {
			.x = i % (OUTPUT_W - 16), .y = (i / (OUTPUT_W - 16)) % (OUTPUT_H - 16),
			.width = 16, .height = 16,
		};
		struct sc_frame frame;
		sc_frame_start(&frame, manager, output, &region);
		zcc_client_dispatch_until(client, sc_announced, &frame, WAIT_MS);
		if (frame.buffers == 1 && frame.width == 16 && frame.height == 16) {
			zwlr_screencopy_frame_v1_copy_with_damage(frame.proxy, buffer->wl_buffer);
			zcc_client_dispatch_until(client, sc_done, &frame, WAIT_MS);
		}
		ready += frame.ready;
		failed += frame.failed;
		if (frame.failed > 0 && failed == 1) {
			fprintf(stderr, "  region %d (%d,%d) failed\n", i, region.x, region.y);
		}
		sc_frame_finish(&frame);
	}
	long rss_after = zt_rss_kib(comp.pid);
	fprintf(stderr, "  %d region frames in %ld ms: %d ready, %d failed; compositor RSS "
		"%ld -> %ld KiB\n", n, ms_since(start), ready, failed, rss_before, rss_after);
	ZT_CHECK(ready == n && failed == 0, "%d of %d region frames ready, %d failed", ready, n,
		failed);
	zt_check_no_error(client, what);
	check_other_client(what);
	zcc_buffer_destroy(buffer);
	zwlr_screencopy_manager_v1_destroy(manager);
	zcc_client_destroy(client);
	check_recovers(what);
}

/* Many full-output screencopy frames in flight at once. */
static void test_screencopy_burst(int n) {
	char what[96];
	snprintf(what, sizeof(what), "screencopy: %d frames in flight", n);
	zt_section(what);
	struct zwlr_screencopy_manager_v1 *manager;
	struct zcc_client *client = screencopy_connect(&manager);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		OUTPUT_W, OUTPUT_H, 0);
	struct sc_frame *frames = calloc(n, sizeof(*frames));
	uint64_t start = zcc_now_ns();
	for (int i = 0; i < n; i++) {
		sc_frame_start(&frames[i], manager, output, NULL);
		/* Copied before the buffer events arrive: the size is known. */
		zwlr_screencopy_frame_v1_copy(frames[i].proxy, buffer->wl_buffer);
		if (i % 64 == 63) {
			zcc_client_roundtrip(client, WAIT_MS);
		}
	}
	zcc_client_roundtrip(client, WAIT_MS);
	int ready = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		zcc_client_dispatch_until(client, sc_done, &frames[i], WAIT_MS);
		ready += frames[i].ready;
		failed += frames[i].failed;
	}
	fprintf(stderr, "  %d frames in %ld ms: %d ready, %d failed\n", n, ms_since(start),
		ready, failed);
	ZT_CHECK(ready == n, "%d of %d frames ready, %d failed", ready, n, failed);
	check_other_client(what);
	for (int i = 0; i < n; i++) {
		sc_frame_finish(&frames[i]);
	}
	free(frames);
	zt_check_no_error(client, what);
	zcc_buffer_destroy(buffer);
	zwlr_screencopy_manager_v1_destroy(manager);
	zcc_client_destroy(client);
	check_recovers(what);
}

/* Damage and regions at the ends of int32 */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Valid buffer damage far beyond the buffer: no error, and every pixel of
 * the buffer inside the damage is written.
 */
static void test_damage_limits(void) {
	zt_section("frame: damage_buffer at the ends of int32");
	static const struct zcc_rect cases[] = {
		{0, 0, INT32_MAX, INT32_MAX},
		{1, 1, INT32_MAX, INT32_MAX},
		{OUTPUT_W / 2, OUTPUT_H / 2, INT32_MAX, INT32_MAX},
		{OUTPUT_W - 1, OUTPUT_H - 1, INT32_MAX, INT32_MAX},
		{INT32_MAX - 1, 0, INT32_MAX, 1},
		{0, INT32_MAX, 1, INT32_MAX},
		{INT32_MAX, INT32_MAX, 1, 1},
		{INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX},
	};
	const uint32_t sentinel = 0x00563412;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct zcc_rect *r = &cases[i];
		char what[96];
		snprintf(what, sizeof(what), "damage %d,%d %dx%d", r->x, r->y, r->width, r->height);
		struct zt_ctx ctx;
		if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
			zt_ctx_close(&ctx);
			continue;
		}
		zt_opening_frames(ctx.session, ctx.buffer, what);
		zcc_buffer_fill(ctx.buffer, sentinel);
		/* A small change far from most of the damage, so that a frame comes. */
		ZT_CHECK(zt_cmd(&comp, "rect abuse-damage 0 0 4 4 %s",
			i % 2 == 0 ? "ff0000ff" : "00ff00ff"), "rect");
		struct zcc_capture_result result;
		enum zcc_frame_status status =
			zcc_session_capture(ctx.session, ctx.buffer, r, 1, WAIT_MS, &result);
		zcc_capture_result_finish(&result);
		ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s", what,
			zcc_frame_status_str(status));
		zt_check_no_error(ctx.client, what);
		int x1 = (int)clamp64(r->x, 0, OUTPUT_W);
		int y1 = (int)clamp64(r->y, 0, OUTPUT_H);
		int x2 = (int)clamp64((int64_t)r->x + r->width, 0, OUTPUT_W);
		int y2 = (int)clamp64((int64_t)r->y + r->height, 0, OUTPUT_H);
		if (status == ZCC_FRAME_READY && x2 > x1 && y2 > y1) {
			struct zcc_image image = zcc_buffer_image(ctx.buffer);
			int stale = 0;
			for (int y = y1; y < y2; y++) {
				for (int x = x1; x < x2; x++) {
					uint32_t pixel = 0;
					zcc_image_pixel(&image, x, y, &pixel);
					stale += (pixel & 0xffffff) == sentinel;
				}
			}
			ZT_CHECK(stale == 0, "%s: %d pixels inside the damage were not written", what,
				stale);
		}
		zt_ctx_close(&ctx);
	}
	ZT_CHECK(zt_cmd(&comp, "remove abuse-damage"), "remove rect");
	check_recovers("damage at the ends of int32");

	zt_section("frame: invalid damage_buffer at the ends of int32");
	static const struct zcc_rect invalid[] = {
		{0, 0, INT32_MIN, INT32_MIN},
		{INT32_MAX, INT32_MAX, 0, 0},
		{INT32_MIN, 0, INT32_MAX, 1},
		{0, INT32_MIN, 1, INT32_MAX},
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const struct zcc_rect *r = &invalid[i];
		char what[96];
		snprintf(what, sizeof(what), "damage %d,%d %dx%d", r->x, r->y, r->width, r->height);
		struct zt_ctx ctx;
		if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
			struct zcc_frame *frame = zcc_frame_create(ctx.session);
			zcc_frame_attach_buffer(frame, ctx.buffer);
			zcc_frame_damage_buffer(frame, r->x, r->y, r->width, r->height);
			zcc_frame_capture(frame);
			zt_check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
				EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_INVALID_BUFFER_DAMAGE, what);
			zcc_frame_destroy(frame);
		}
		zt_ctx_close(&ctx);
	}
	check_recovers("invalid damage at the ends of int32");
}

/*
 * capture_output_region with any int32 values: the region is clipped to the
 * output, or the frame fails when nothing is left; a frame that announces a
 * buffer captures into it.
 */
static void test_screencopy_region_limits(void) {
	zt_section("screencopy: regions at the ends of int32");
	static const struct zcc_rect cases[] = {
		{INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX},
		{INT32_MAX - 5, 0, 10, 10},
		{0, INT32_MAX - 5, 10, 10},
		{-10, -10, INT32_MAX, INT32_MAX},
		{INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX},
		{INT32_MIN, INT32_MIN, -1, -1},
		{-1, -1, 2, 2},
		{OUTPUT_W - 1, OUTPUT_H - 1, INT32_MAX, INT32_MAX},
		{0, 0, 0, 0},
		{0, 0, -1, 100},
		{0, 0, 100, INT32_MIN},
		{OUTPUT_W, 0, 10, 10},
	};
	struct zwlr_screencopy_manager_v1 *manager;
	struct zcc_client *client = screencopy_connect(&manager);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct zcc_rect *r = &cases[i];
		char what[96];
		snprintf(what, sizeof(what), "region %d,%d %dx%d", r->x, r->y, r->width, r->height);
		int64_t x1 = clamp64(r->x, 0, OUTPUT_W), y1 = clamp64(r->y, 0, OUTPUT_H);
		int64_t x2 = clamp64((int64_t)r->x + r->width, 0, OUTPUT_W);
		int64_t y2 = clamp64((int64_t)r->y + r->height, 0, OUTPUT_H);
		bool empty = r->width <= 0 || r->height <= 0 || x2 <= x1 || y2 <= y1;
		struct sc_frame frame;
		sc_frame_start(&frame, manager, output, r);
		zcc_client_dispatch_until(client, sc_announced, &frame, WAIT_MS);
		if (empty) {
			ZT_CHECK(frame.failed == 1 && frame.buffers == 0, "%s: nothing to capture: "
				"failed %u, buffers %u", what, frame.failed, frame.buffers);
		} else {
			ZT_CHECK(frame.buffers == 1 && frame.width == x2 - x1 &&
				frame.height == y2 - y1, "%s: buffer %ux%u, want %dx%d", what, frame.width,
				frame.height, (int)(x2 - x1), (int)(y2 - y1));
		}
		if (frame.buffers == 1 && frame.width > 0 && frame.height > 0 &&
				frame.width <= OUTPUT_W && frame.height <= OUTPUT_H) {
			struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
				(int32_t)frame.width, (int32_t)frame.height, 0);
			zwlr_screencopy_frame_v1_copy(frame.proxy, buffer->wl_buffer);
			zcc_client_dispatch_until(client, sc_done, &frame, WAIT_MS);
			ZT_CHECK(frame.ready == 1, "%s: copy: ready %u, failed %u", what, frame.ready,
				frame.failed);
			zcc_buffer_destroy(buffer);
		}
		sc_frame_finish(&frame);
		zt_check_no_error(client, what);
	}
	zwlr_screencopy_manager_v1_destroy(manager);
	zcc_client_destroy(client);
	check_recovers("screencopy regions at the ends of int32");
}

/* A client that never reads */

enum flood {
	FLOOD_SCREENCOPY, /* capture_output and copy: a full copy and five events each */
	FLOOD_SESSIONS, /* session, frame, capture: constraints or stopped, failed */
};

/* Proxies to destroy at the end, in the order made. */
struct proxies {
	struct wl_proxy **items;
	size_t len, cap;
};

static void proxies_add(struct proxies *p, void *proxy) {
	if (p->len == p->cap) {
		p->cap = p->cap > 0 ? 2 * p->cap : 1024;
		p->items = realloc(p->items, p->cap * sizeof(*p->items));
	}
	p->items[p->len++] = proxy;
}

static void proxies_destroy(struct proxies *p) {
	while (p->len > 0) {
		wl_proxy_destroy(p->items[--p->len]);
	}
	free(p->items);
}

/*
 * Sends requests, flushing as the compositor takes them, and never reads
 * an event; stops when the compositor hangs up, or after max_units or
 * max_ms. Returns the units sent.
 */
static size_t flood(struct zcc_client *client, enum flood kind, struct proxies *made,
		struct zcc_buffer *buffer, size_t max_units, long max_ms, bool *hung_up) {
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zwlr_screencopy_manager_v1 *manager = NULL;
	struct ext_image_capture_source_v1 *source = NULL;
	if (kind == FLOOD_SCREENCOPY) {
		manager = bind_screencopy(client);
		proxies_add(made, manager);
	} else {
		source = ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
		proxies_add(made, source);
	}
	zcc_client_roundtrip(client, WAIT_MS);
	int fd = wl_display_get_fd(client->display);
	uint64_t start = zcc_now_ns();
	size_t sent = 0;
	*hung_up = false;
	while (sent < max_units && ms_since(start) < max_ms) {
		/* Less than libwayland's 4 KiB of requests between flushes. */
		for (int i = 0; i < 32; i++, sent++) {
			if (kind == FLOOD_SCREENCOPY) {
				struct zwlr_screencopy_frame_v1 *frame =
					zwlr_screencopy_manager_v1_capture_output(manager, 0, output->wl_output);
				zwlr_screencopy_frame_v1_copy(frame, buffer->wl_buffer);
				proxies_add(made, frame);
			} else {
				struct ext_image_copy_capture_session_v1 *session =
					ext_image_copy_capture_manager_v1_create_session(
						client->copy_capture_manager, source, 0);
				struct ext_image_copy_capture_frame_v1 *frame =
					ext_image_copy_capture_session_v1_create_frame(session);
				ext_image_copy_capture_frame_v1_attach_buffer(frame, buffer->wl_buffer);
				ext_image_copy_capture_frame_v1_capture(frame);
				proxies_add(made, frame);
				proxies_add(made, session);
			}
		}
		while (wl_display_flush(client->display) < 0) {
			if (errno != EAGAIN) {
				*hung_up = true;
				return sent;
			}
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, 1000) < 0 || (pfd.revents & (POLLHUP | POLLERR))) {
				*hung_up = true;
				return sent;
			}
			if (ms_since(start) >= max_ms) {
				return sent;
			}
		}
	}
	return sent;
}

static void test_never_reads(enum flood kind) {
	const char *what = kind == FLOOD_SCREENCOPY ?
		"never reads: screencopy frames" : "never reads: sessions and frames";
	zt_section(what);
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		OUTPUT_W, OUTPUT_H, 0);
	long rss_before = zt_rss_kib(comp.pid);
	struct proxies made = {0};
	bool hung_up = false;
	uint64_t start = zcc_now_ns();
	size_t sent = flood(client, kind, &made, buffer, 200000, 20000, &hung_up);
	long flood_ms = ms_since(start);

	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor died", what);
	start = zcc_now_ns();
	ZT_CHECK(zt_cmd(&comp, "sync"), "%s: sync", what);
	long sync_ms = ms_since(start);
	long rss_after = zt_rss_kib(comp.pid);
	fprintf(stderr, "  %zu units in %ld ms, %s; sync %ld ms; compositor RSS %ld -> %ld KiB\n",
		sent, flood_ms, hung_up ? "the compositor hung up" : "still connected", sync_ms,
		rss_before, rss_after);
	ZT_CHECK(sync_ms < 1000, "%s: the compositor took %ld ms to answer", what, sync_ms);
	ZT_CHECK(rss_after - rss_before < 64 * 1024, "%s: the compositor grew by %ld KiB", what,
		rss_after - rss_before);
	/* Still connected and not reading: others are served all the same. */
	check_other_client(what);

	proxies_destroy(&made);
	zcc_buffer_destroy(buffer);
	zcc_client_destroy(client);
	check_recovers(what);
}

/* Buffers and clients gone mid-capture */

static void test_screencopy_buffer_destroyed(void) {
	const char *what = "screencopy: buffer destroyed while the copy waits";
	zt_section(what);
	struct zwlr_screencopy_manager_v1 *manager;
	struct zcc_client *client = screencopy_connect(&manager);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		OUTPUT_W, OUTPUT_H, 0);
	sc_opening_frames(client, manager, output, NULL, buffer->wl_buffer, what);

	/* Nothing changed since: copy_with_damage waits. */
	struct sc_frame frame;
	sc_frame_start(&frame, manager, output, NULL);
	zwlr_screencopy_frame_v1_copy_with_damage(frame.proxy, buffer->wl_buffer);
	zcc_client_dispatch_for(client, QUIET_MS);
	ZT_CHECK(frame.ready + frame.failed == 0, "third frame should wait: ready %u, failed %u",
		frame.ready, frame.failed);
	wl_buffer_destroy(buffer->wl_buffer);
	buffer->wl_buffer = NULL;
	zcc_client_dispatch_until(client, sc_done, &frame, WAIT_MS);
	ZT_CHECK(frame.failed == 1 && frame.ready == 0, "%s: ready %u, failed %u", what,
		frame.ready, frame.failed);
	sc_frame_finish(&frame);
	zcc_buffer_destroy(buffer);

	/* The next copy gets what changed meanwhile. */
	buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, OUTPUT_W, OUTPUT_H, 0);
	sc_frame_start(&frame, manager, output, NULL);
	zwlr_screencopy_frame_v1_copy_with_damage(frame.proxy, buffer->wl_buffer);
	ZT_CHECK(zt_cmd(&comp, "rect abuse-sc 0 0 8 8 0000ffff"), "rect");
	zcc_client_dispatch_until(client, sc_done, &frame, WAIT_MS);
	ZT_CHECK(frame.ready == 1, "frame after the failure: ready %u, failed %u", frame.ready,
		frame.failed);
	ZT_CHECK(zt_cmd(&comp, "remove abuse-sc"), "remove rect");
	sc_frame_finish(&frame);
	zt_check_no_error(client, what);
	zcc_buffer_destroy(buffer);
	zwlr_screencopy_manager_v1_destroy(manager);
	zcc_client_destroy(client);
	check_recovers(what);
}

/*
 * Runs in a child: everything in flight at once (32 sessions with waiting
 * frames, screencopy frames waiting for damage on 16 regions, a burst of
 * copies and sessions whose events it never reads), then SIGKILL.
 */
static int vanish_child(void) {
	struct zcc_client *client = zcc_client_connect(comp.socket);
	if (client == NULL) {
		return 1;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		OUTPUT_W, OUTPUT_H, 0);
	struct zcc_buffer *small = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, 16, 16, 0);
	struct zwlr_screencopy_manager_v1 *manager =
		zcc_client_bind(client, &zwlr_screencopy_manager_v1_interface, 3);
	if (output == NULL || buffer == NULL || small == NULL || manager == NULL) {
		return 1;
	}
	for (int i = 0; i < SESSION_LIMIT / 2; i++) {
		struct zcc_session *session = zcc_session_create(client, output,
			i % 2 == 1 ? ZCC_OPTION_PAINT_CURSORS : 0);
		if (zcc_session_wait_constraints(session, WAIT_MS) != 1 ||
				!zt_opening_frames(session, buffer, NULL)) {
			return 1;
		}
		struct zcc_frame *frame = zcc_frame_create(session);
		zcc_frame_attach_buffer(frame, buffer);
		zcc_frame_capture(frame);
	}
	for (int i = 0; i < 16; i++) {
		struct zcc_rect region = {.x = 16 * i, .y = 16, .width = 16, .height = 16};
		if (!sc_opening_frames(client, manager, output, &region, small->wl_buffer, NULL)) {
			return 1;
		}
		struct sc_frame *frame = calloc(1, sizeof(*frame));
		sc_frame_start(frame, manager, output, &region);
		zwlr_screencopy_frame_v1_copy_with_damage(frame->proxy, small->wl_buffer);
	}
	zcc_client_roundtrip(client, WAIT_MS);
	struct proxies made = {0};
	bool hung_up;
	flood(client, FLOOD_SCREENCOPY, &made, buffer, 256, 2000, &hung_up);
	flood(client, FLOOD_SESSIONS, &made, buffer, 256, 2000, &hung_up);
	raise(SIGKILL);
	return 1;
}

static void test_client_vanishes(void) {
	const char *what = "client killed with everything in flight";
	zt_section(what);
	pid_t pid = fork();
	ZT_CHECK(pid >= 0, "fork failed");
	if (pid < 0) {
		return;
	}
	if (pid == 0) {
		_exit(vanish_child());
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ZT_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		"%s: the child failed before it was killed (status %d)", what,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	check_recovers(what);
}

/* The pointer position a cursor session tells, under a policy */

struct cursor_watch {
	unsigned enters, leaves, positions;
};

static void cw_enter(void *data, struct ext_image_copy_capture_cursor_session_v1 *proxy) {
	((struct cursor_watch *)data)->enters++;
}

static void cw_leave(void *data, struct ext_image_copy_capture_cursor_session_v1 *proxy) {
	((struct cursor_watch *)data)->leaves++;
}

static void cw_position(void *data, struct ext_image_copy_capture_cursor_session_v1 *proxy,
		int32_t x, int32_t y) {
	((struct cursor_watch *)data)->positions++;
}

static void cw_hotspot(void *data, struct ext_image_copy_capture_cursor_session_v1 *proxy,
		int32_t x, int32_t y) {
}

static const struct ext_image_copy_capture_cursor_session_v1_listener cursor_watch_listener = {
	.enter = cw_enter,
	.leave = cw_leave,
	.position = cw_position,
	.hotspot = cw_hotspot,
};

/* A pointer cursor session on the first output, watched; with a capture session if asked. */
struct watched_cursor {
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_cursor_session_v1 *cursor;
	struct zt_raw_session capture; /* when asked for */
	struct cursor_watch watch;
};

static void watched_cursor_open(struct watched_cursor *wc, struct zcc_client *client,
		struct wl_pointer *pointer, bool with_capture) {
	memset(wc, 0, sizeof(*wc));
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	wc->source = ext_output_image_capture_source_manager_v1_create_source(
		client->output_source_manager, output->wl_output);
	wc->cursor = ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy_capture_manager, wc->source, pointer);
	ext_image_copy_capture_cursor_session_v1_add_listener(wc->cursor, &cursor_watch_listener,
		&wc->watch);
	if (with_capture) {
		zt_raw_session_init(&wc->capture,
			ext_image_copy_capture_cursor_session_v1_get_capture_session(wc->cursor));
	}
	zcc_client_roundtrip(client, WAIT_MS);
}

static void watched_cursor_close(struct watched_cursor *wc) {
	zt_raw_session_finish(&wc->capture);
	ext_image_copy_capture_cursor_session_v1_destroy(wc->cursor);
	ext_image_capture_source_v1_destroy(wc->source);
}

/* Moves the pointer twice over the first output, and lets the events come. */
static void move_pointer(struct zt_compositor *c, struct zcc_client *client) {
	static int step;
	step = (step + 1) % 8;
	ZT_CHECK(zt_cmd(c, "cursor %d %d", 100 + 10 * step, 120), "cursor: %s", c->reply);
	ZT_CHECK(zt_cmd(c, "cursor %d %d", 110 + 10 * step, 130), "cursor: %s", c->reply);
	zcc_client_roundtrip(client, WAIT_MS);
}

/* The next "request ID ..." event of a policed compositor: its ID, 0 if none. */
static unsigned next_request(struct zt_compositor *c) {
	const char *event;
	unsigned id = 0;
	while (id == 0 && (event = zt_next_event(c, WAIT_MS)) != NULL) {
		if (sscanf(event, "request %u", &id) != 1) {
			id = 0;
		}
	}
	return id;
}

static bool watch_entered(void *data) {
	return ((struct cursor_watch *)data)->enters > 0;
}

static bool watch_left(void *data) {
	return ((struct cursor_watch *)data)->leaves > 0;
}

/*
 * Where the pointer is, is captured content like the cursor's image. Without
 * a request handler every cursor session follows the pointer; with one, only
 * a cursor session whose capture session is allowed, and only while it runs.
 */
static void test_cursor_position_policy(void) {
	zt_section("cursor session: no policy, the pointer position comes at once");
	struct zcc_client *client = zt_connect(&comp);
	struct wl_seat *seat = client != NULL ? zcc_client_bind(client, &wl_seat_interface, 1) :
		NULL;
	if (seat != NULL) {
		struct wl_pointer *pointer = wl_seat_get_pointer(seat);
		struct watched_cursor open;
		watched_cursor_open(&open, client, pointer, false);
		move_pointer(&comp, client);
		ZT_CHECK(open.watch.enters == 1 && open.watch.positions >= 2, "without a policy: "
			"%u enter, %u position events", open.watch.enters, open.watch.positions);
		watched_cursor_close(&open);
		wl_pointer_destroy(pointer);
		wl_seat_destroy(seat);
		zt_check_no_error(client, "cursor session without a policy");
	}
	zcc_client_destroy(client);

	zt_section("cursor session: asked, denied, allowed, revoked");
	struct zt_compositor policed;
	const char *args[] = {"--policy=ask", NULL};
	if (!zt_compositor_start(&policed, args)) {
		return;
	}
	client = zt_connect(&policed);
	seat = client != NULL ? zcc_client_bind(client, &wl_seat_interface, 1) : NULL;
	ZT_CHECK(seat != NULL, "no wl_seat");
	if (seat != NULL) {
		struct wl_pointer *pointer = wl_seat_get_pointer(seat);
		struct watched_cursor bare, denied, allowed;
		watched_cursor_open(&bare, client, pointer, false);
		watched_cursor_open(&denied, client, pointer, true);
		unsigned denied_id = next_request(&policed);
		watched_cursor_open(&allowed, client, pointer, true);
		unsigned allowed_id = next_request(&policed);
		ZT_CHECK(denied_id > 0 && allowed_id > 0, "capture requests: %u %u", denied_id,
			allowed_id);

		move_pointer(&policed, client);
		ZT_CHECK(bare.watch.enters + bare.watch.positions == 0, "no capture session: "
			"%u enter, %u position events", bare.watch.enters, bare.watch.positions);
		ZT_CHECK(denied.watch.enters + denied.watch.positions == 0 &&
			allowed.watch.enters + allowed.watch.positions == 0, "while asking: %u and %u "
			"enter, %u and %u position events", denied.watch.enters, allowed.watch.enters,
			denied.watch.positions, allowed.watch.positions);

		ZT_CHECK(zt_cmd(&policed, "deny %u", denied_id), "deny: %s", policed.reply);
		ZT_CHECK(zt_cmd(&policed, "allow %u", allowed_id), "allow: %s", policed.reply);
		zcc_client_dispatch_until(client, watch_entered, &allowed.watch, WAIT_MS);
		ZT_CHECK(allowed.watch.enters == 1 && allowed.watch.positions >= 1, "allowed: "
			"%u enter, %u position events", allowed.watch.enters, allowed.watch.positions);
		unsigned positions = allowed.watch.positions;
		move_pointer(&policed, client);
		ZT_CHECK(allowed.watch.positions >= positions + 2, "allowed: %u position events "
			"after two moves, %u before", allowed.watch.positions, positions);
		ZT_CHECK(denied.capture.stopped && denied.watch.enters + denied.watch.positions == 0,
			"denied: stopped %u, %u enter, %u position events", denied.capture.stopped,
			denied.watch.enters, denied.watch.positions);
		ZT_CHECK(bare.watch.enters + bare.watch.positions == 0, "no capture session: "
			"%u enter, %u position events", bare.watch.enters, bare.watch.positions);

		ZT_CHECK(zt_cmd(&policed, "revoke"), "revoke: %s", policed.reply);
		zcc_client_dispatch_until(client, watch_left, &allowed.watch, WAIT_MS);
		positions = allowed.watch.positions;
		move_pointer(&policed, client);
		ZT_CHECK(allowed.watch.leaves == 1 && allowed.watch.positions == positions,
			"revoked: %u leave, %u position events after two moves, %u before",
			allowed.watch.leaves, allowed.watch.positions, positions);

		watched_cursor_close(&allowed);
		watched_cursor_close(&denied);
		watched_cursor_close(&bare);
		wl_pointer_destroy(pointer);
		wl_seat_destroy(seat);
		zt_check_no_error(client, "cursor sessions under a policy");
	}
	zcc_client_destroy(client);
	zt_compositor_stop(&policed);
}

int main(void) {
	zt_wait_ms = WAIT_MS;
	zt_quiet_ms = QUIET_MS;
	if (!zt_compositor_start(&comp, NULL)) {
		return zt_finish();
	}
	ZT_CHECK(zt_cmd(&comp, "rect bg 0 0 640 480 102030ff"), "rect bg: %s", comp.reply);
	baseline_fds = zt_baseline_fds(&comp);

	test_pool_too_small();
	test_missing_memory(POOL_BEYOND_FILE, "shm: pool larger than its file");
	test_missing_memory(TRUNCATED_BEFORE_CAPTURE, "shm: file truncated before capture");
	test_missing_memory(TRUNCATED_HALF, "shm: file truncated to half");
	test_missing_memory(TRUNCATED_WHILE_WAITING, "shm: file truncated while the frame waits");
	test_missing_memory(TRUNCATED_SCREENCOPY, "shm: file truncated, screencopy");
	test_missing_memory(TRUNCATED_CURSOR, "shm: file truncated, cursor session");

	test_many_sessions(3000);
	test_screencopy_regions(300);
	test_screencopy_burst(500);

	test_damage_limits();
	test_screencopy_region_limits();

	test_never_reads(FLOOD_SCREENCOPY);
	test_never_reads(FLOOD_SESSIONS);

	test_screencopy_buffer_destroyed();
	test_client_vanishes();

	test_cursor_position_policy();

	zt_compositor_stop(&comp);
	return zt_finish();
}
