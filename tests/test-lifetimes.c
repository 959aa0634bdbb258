/*
 * Object lifetimes around ext-image-copy-capture-v1: clients that vanish
 * mid-capture, sessions destroyed under their frames, outputs removed under
 * their sessions, buffers destroyed under their frames, and churn. The
 * compositor must survive each, keep its file descriptors in check and, at
 * the end, exit cleanly (under ASan/LSan in CI: no leak, no use after free).
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "fixture.h"

#define WAIT_MS 5000 /* for events that must come */
#define QUIET_MS 500 /* for events that must not come */

static struct zt_compositor comp;
static int baseline_fds; /* compositor fds with no client connected */

/* A client with one session on an output and a buffer that fits it. */
struct ctx {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_buffer *buffer;
};

/* Quiet: for child processes, which have no checks to count. */
static bool ctx_open_quiet(struct ctx *ctx, const char *output_name, uint32_t options) {
	memset(ctx, 0, sizeof(*ctx));
	ctx->client = zcc_client_connect(comp.socket);
	if (ctx->client == NULL) {
		return false;
	}
	struct zcc_output *output = zcc_client_find_output(ctx->client, output_name);
	if (output == NULL) {
		return false;
	}
	ctx->session = zcc_session_create(ctx->client, output, options);
	if (ctx->session == NULL || zcc_session_wait_constraints(ctx->session, WAIT_MS) != 1 ||
			ctx->session->stopped) {
		return false;
	}
	const struct zcc_constraints *c = &ctx->session->constraints;
	ctx->buffer = zcc_buffer_create(ctx->client, WL_SHM_FORMAT_XRGB8888,
		c->width, c->height, 0);
	return ctx->buffer != NULL;
}

static bool ctx_open(struct ctx *ctx, const char *output_name, uint32_t options) {
	bool ok = ctx_open_quiet(ctx, output_name, options);
	ZT_CHECK(ok, "cannot open a capture session on %s: %s",
		output_name != NULL ? output_name : "the first output",
		ctx->client != NULL ? zcc_client_last_error(ctx->client) : "no connection");
	return ok;
}

static void ctx_close(struct ctx *ctx) {
	zcc_buffer_destroy(ctx->buffer);
	zcc_session_destroy(ctx->session);
	zcc_client_destroy(ctx->client);
	memset(ctx, 0, sizeof(*ctx));
}

/* Creates a frame with buffer attached and fully damaged, and captures it. */
static struct zcc_frame *start_frame(struct zcc_session *session, struct zcc_buffer *buffer) {
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
	zcc_frame_capture(frame);
	return frame;
}

static enum zcc_frame_status capture(struct zcc_session *session, struct zcc_buffer *buffer) {
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, WAIT_MS, &result);
	zcc_capture_result_finish(&result);
	return status;
}

static void check_ready(struct zcc_session *session, struct zcc_buffer *buffer,
		const char *what) {
	enum zcc_frame_status status = capture(session, buffer);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s", what, zcc_frame_status_str(status));
}

static void check_frame_failed(struct zcc_frame *frame, uint32_t expected, const char *what) {
	enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_FAILED && frame->result.failure_reason == expected,
		"%s: expected failed(%s), got %s (%s)", what, zcc_failure_reason_str(expected),
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ?
			zcc_failure_reason_str(frame->result.failure_reason) : "-");
	ZT_CHECK(frame->result.events_after_done == 0, "%s: %u events after failed", what,
		frame->result.events_after_done);
}

/* The frame was captured and nothing came: it waits for new content. */
static void check_waiting(struct zcc_client *client, struct zcc_frame *frame,
		const char *what) {
	zcc_client_dispatch_for(client, QUIET_MS);
	ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING, "%s: frame should wait, it is %s",
		what, zcc_frame_status_str(frame->result.status));
}

static void check_no_error(struct zcc_client *client, const char *what) {
	zcc_client_roundtrip(client, WAIT_MS);
	struct zcc_error err;
	char buf[160];
	bool failed = zcc_client_get_error(client, &err);
	ZT_CHECK(!failed, "%s: %s", what, zcc_error_str(&err, buf, sizeof(buf)));
}

/*
 * The compositor's mappings of client shm pools. wl_shm closes a pool's fd
 * once it is mapped: a buffer held too long shows here, not in the fds.
 */
static int client_maps(void) {
	return zt_count_maps(comp.pid, "zcclient-shm");
}

/*
 * The compositor's fd count and client shm mappings reach the expected
 * numbers within a couple of seconds.
 */
static void check_fds(int expected, int expected_maps, const char *what) {
	int n = -1, maps = -1;
	for (int i = 0; i < 40; i++) {
		zt_cmd(&comp, "sync");
		n = zt_count_fds(comp.pid);
		maps = client_maps();
		if (n == expected && maps == expected_maps) {
			break;
		}
		usleep(50000);
	}
	ZT_CHECK(n == expected, "%s: the compositor has %d fds, %d before", what, n, expected);
	ZT_CHECK(maps == expected_maps, "%s: the compositor maps %d client shm pools, want %d",
		what, maps, expected_maps);
}

/* The compositor survived, serves a new client and has no fd more than before. */
static void check_recovers(const char *after) {
	ZT_CHECK(zt_compositor_alive(&comp), "compositor died after %s", after);
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		check_ready(ctx.session, ctx.buffer, after);
		check_no_error(ctx.client, after);
	}
	ctx_close(&ctx);
	check_fds(baseline_fds, 0, after);
}

static bool session_stopped(void *data) {
	return ((struct zcc_session *)data)->stopped;
}

static bool add_output(int width, int height, char *name, size_t size) {
	bool ok = zt_cmd(&comp, "output add %d %d", width, height);
	ZT_CHECK(ok && strlen(comp.reply) > 3, "output add: %s", comp.reply);
	if (!ok || strlen(comp.reply) <= 3) {
		return false;
	}
	snprintf(name, size, "%s", comp.reply + 3);
	return true;
}

static void remove_output(const char *name) {
	ZT_CHECK(zt_cmd(&comp, "output remove %s", name), "output remove %s: %s", name,
		comp.reply);
}

/* Raw cursor capture sessions and frames, which zcclient does not model. */
struct raw_session {
	unsigned batches;
	uint32_t width, height;
	bool stopped;
};

static void raw_buffer_size(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t width, uint32_t height) {
	struct raw_session *raw = data;
	raw->width = width;
	raw->height = height;
}

static void raw_shm_format(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t format) {
}

static void raw_dmabuf_device(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		struct wl_array *device) {
}

static void raw_dmabuf_format(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t format, struct wl_array *modifiers) {
}

static void raw_done(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	((struct raw_session *)data)->batches++;
}

static void raw_stopped(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	((struct raw_session *)data)->stopped = true;
}

static const struct ext_image_copy_capture_session_v1_listener raw_session_listener = {
	.buffer_size = raw_buffer_size,
	.shm_format = raw_shm_format,
	.dmabuf_device = raw_dmabuf_device,
	.dmabuf_format = raw_dmabuf_format,
	.done = raw_done,
	.stopped = raw_stopped,
};

struct raw_frame {
	struct ext_image_copy_capture_frame_v1 *proxy;
	unsigned ready, failed;
	uint32_t reason;
};

static void raw_frame_transform(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t transform) {
}

static void raw_frame_damage(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		int32_t x, int32_t y, int32_t width, int32_t height) {
}

static void raw_frame_presentation_time(void *data,
		struct ext_image_copy_capture_frame_v1 *proxy, uint32_t tv_sec_hi, uint32_t tv_sec_lo,
		uint32_t tv_nsec) {
}

static void raw_frame_ready(void *data, struct ext_image_copy_capture_frame_v1 *proxy) {
	((struct raw_frame *)data)->ready++;
}

static void raw_frame_failed(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t reason) {
	struct raw_frame *frame = data;
	frame->failed++;
	frame->reason = reason;
}

static const struct ext_image_copy_capture_frame_v1_listener raw_frame_listener = {
	.transform = raw_frame_transform,
	.damage = raw_frame_damage,
	.presentation_time = raw_frame_presentation_time,
	.ready = raw_frame_ready,
	.failed = raw_frame_failed,
};

static bool raw_session_started(void *data) {
	struct raw_session *raw = data;
	return raw->batches > 0 || raw->stopped;
}

static bool raw_frame_done(void *data) {
	struct raw_frame *frame = data;
	return frame->ready + frame->failed > 0;
}

static void raw_frame_start(struct raw_frame *frame,
		struct ext_image_copy_capture_session_v1 *session, struct zcc_buffer *buffer) {
	memset(frame, 0, sizeof(*frame));
	frame->proxy = ext_image_copy_capture_session_v1_create_frame(session);
	ext_image_copy_capture_frame_v1_add_listener(frame->proxy, &raw_frame_listener, frame);
	ext_image_copy_capture_frame_v1_attach_buffer(frame->proxy, buffer->wl_buffer);
	ext_image_copy_capture_frame_v1_damage_buffer(frame->proxy, 0, 0,
		buffer->width, buffer->height);
	ext_image_copy_capture_frame_v1_capture(frame->proxy);
}

/* A cursor capture session on an output, with everything it needs. */
struct cursor_capture {
	struct wl_seat *seat;
	struct wl_pointer *pointer;
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_cursor_session_v1 *cursor;
	struct ext_image_copy_capture_session_v1 *session;
	struct raw_session state;
};

static bool cursor_capture_open(struct cursor_capture *cc, struct zcc_client *client,
		struct zcc_output *output) {
	memset(cc, 0, sizeof(*cc));
	cc->seat = zcc_client_bind(client, &wl_seat_interface, 1);
	if (cc->seat == NULL) {
		return false;
	}
	cc->pointer = wl_seat_get_pointer(cc->seat);
	cc->source = ext_output_image_capture_source_manager_v1_create_source(
		client->output_source_manager, output->wl_output);
	cc->cursor = ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy_capture_manager, cc->source, cc->pointer);
	cc->session = ext_image_copy_capture_cursor_session_v1_get_capture_session(cc->cursor);
	ext_image_copy_capture_session_v1_add_listener(cc->session, &raw_session_listener,
		&cc->state);
	return zcc_client_dispatch_until(client, raw_session_started, &cc->state, WAIT_MS) == 1;
}

static void cursor_capture_close(struct cursor_capture *cc) {
	if (cc->session != NULL) {
		ext_image_copy_capture_session_v1_destroy(cc->session);
		ext_image_copy_capture_cursor_session_v1_destroy(cc->cursor);
		ext_image_capture_source_v1_destroy(cc->source);
		wl_pointer_destroy(cc->pointer);
	}
	if (cc->seat != NULL) {
		wl_seat_destroy(cc->seat);
	}
	memset(cc, 0, sizeof(*cc));
}

/* Clients that disappear without cleaning up */

enum child_mode {
	CHILD_FRAME_WAITING, /* a captured frame waits for damage */
	CHILD_FIRST_CAPTURE, /* gone right after sending capture on the first frame */
	CHILD_EVERYTHING, /* cursor sessions, waiting frames, idle frames, inert sources */
	CHILD_NO_WAIT, /* requests queued without reading a single event */
};

/* Runs in the child: 0 when it got to the point of vanishing as planned. */
static int child_main(enum child_mode mode) {
	if (mode == CHILD_NO_WAIT) {
		struct zcc_client *client = zcc_client_connect(comp.socket);
		struct zcc_output *output = client != NULL ? zcc_client_find_output(client, NULL) : NULL;
		if (output == NULL) {
			return 1;
		}
		struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
			output->mode_width, output->mode_height, 0);
		for (int i = 0; i < 20 && buffer != NULL; i++) {
			struct zcc_session *session = zcc_session_create(client, output, i % 2);
			start_frame(session, buffer);
		}
		wl_display_flush(client->display);
		return buffer != NULL ? 0 : 1;
	}

	struct ctx ctx;
	if (!ctx_open_quiet(&ctx, NULL, mode == CHILD_EVERYTHING ? ZCC_OPTION_PAINT_CURSORS : 0)) {
		return 1;
	}
	if (mode == CHILD_FIRST_CAPTURE) {
		start_frame(ctx.session, ctx.buffer);
		wl_display_flush(ctx.client->display);
		return 0;
	}
	if (capture(ctx.session, ctx.buffer) != ZCC_FRAME_READY) {
		return 2;
	}
	struct zcc_frame *frame = start_frame(ctx.session, ctx.buffer);
	zcc_client_dispatch_for(ctx.client, 100);
	if (frame->result.status != ZCC_FRAME_PENDING) {
		return 3;
	}
	if (mode == CHILD_FRAME_WAITING) {
		return 0;
	}

	/* CHILD_EVERYTHING */
	struct zcc_output *output = zcc_client_find_output(ctx.client, NULL);
	struct cursor_capture cc;
	if (!cursor_capture_open(&cc, ctx.client, output) || cc.state.stopped) {
		return 4;
	}
	struct zcc_buffer *cursor_buffer = zcc_buffer_create(ctx.client, WL_SHM_FORMAT_ARGB8888,
		cc.state.width, cc.state.height, 0);
	struct raw_frame cursor_frame;
	raw_frame_start(&cursor_frame, cc.session, cursor_buffer);
	zcc_client_dispatch_until(ctx.client, raw_frame_done, &cursor_frame, WAIT_MS);
	if (cursor_frame.ready != 1) {
		return 5;
	}
	ext_image_copy_capture_frame_v1_destroy(cursor_frame.proxy);
	raw_frame_start(&cursor_frame, cc.session, cursor_buffer);
	struct zcc_session *idle = zcc_session_create(ctx.client, output, 0);
	struct zcc_frame *idle_frame = zcc_frame_create(idle);
	zcc_frame_attach_buffer(idle_frame, ctx.buffer);
	zcc_client_roundtrip(ctx.client, WAIT_MS);
	return 0;
}

static void run_child(enum child_mode mode, const char *what) {
	zt_section(what);
	pid_t pid = fork();
	ZT_CHECK(pid >= 0, "fork failed");
	if (pid < 0) {
		return;
	}
	if (pid == 0) {
		_exit(child_main(mode));
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ZT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"%s: the child failed before it vanished (status %d)", what,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	check_recovers(what);
}

/* Sessions destroyed under their frames */

static void test_session_destroyed(void) {
	zt_section("session destroyed with a pending frame");
	struct ctx ctx;
	if (!ctx_open(&ctx, NULL, 0)) {
		ctx_close(&ctx);
		return;
	}
	check_ready(ctx.session, ctx.buffer, "first frame");
	struct zcc_frame *waiting = start_frame(ctx.session, ctx.buffer);
	check_waiting(ctx.client, waiting, "second frame");
	zcc_session_destroy(ctx.session);
	ctx.session = NULL;
	check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "captured frame, session destroyed");
	zcc_frame_destroy(waiting);
	check_no_error(ctx.client, "destroying the failed frame");

	/* A frame not captured yet: its capture fails later. */
	struct zcc_output *output = zcc_client_find_output(ctx.client, NULL);
	struct zcc_session *session = zcc_session_create(ctx.client, output, 0);
	zcc_session_wait_constraints(session, WAIT_MS);
	struct zcc_frame *idle = zcc_frame_create(session);
	zcc_frame_attach_buffer(idle, ctx.buffer);
	zcc_session_destroy(session);
	zcc_frame_damage_buffer(idle, 0, 0, 1, 1);
	zcc_frame_capture(idle);
	check_frame_failed(idle, ZCC_FAILURE_STOPPED, "frame captured after its session died");
	zcc_frame_destroy(idle);

	/* A frame left alone, its session gone: destroying it later is fine. */
	session = zcc_session_create(ctx.client, output, ZCC_OPTION_PAINT_CURSORS);
	idle = zcc_frame_create(session);
	zcc_session_destroy(session);
	check_no_error(ctx.client, "frame outliving its session");
	zcc_frame_destroy(idle);

	/* A cursor-painting session with a waiting frame. */
	session = zcc_session_create(ctx.client, output, ZCC_OPTION_PAINT_CURSORS);
	zcc_session_wait_constraints(session, WAIT_MS);
	check_ready(session, ctx.buffer, "first frame with cursors");
	waiting = start_frame(session, ctx.buffer);
	check_waiting(ctx.client, waiting, "second frame with cursors");
	zcc_session_destroy(session);
	check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "cursor-painting session destroyed");
	zcc_frame_destroy(waiting);
	check_no_error(ctx.client, "after the sessions died");
	ctx_close(&ctx);
	check_recovers("session destroyed with a pending frame");
}

/* Outputs removed under their sessions */

static void test_output_removed(void) {
	zt_section("output removed mid-capture");
	char name[64];
	if (!add_output(320, 240, name, sizeof(name))) {
		return;
	}
	struct ctx ctx;
	struct ctx cursors; /* paint_cursors session, on its own client */
	bool ok = ctx_open(&ctx, name, 0) && ctx_open(&cursors, name, ZCC_OPTION_PAINT_CURSORS);
	struct zcc_output *output = ok ? zcc_client_find_output(ctx.client, name) : NULL;
	struct cursor_capture cc = {0};
	ok = ok && cursor_capture_open(&cc, ctx.client, output) && !cc.state.stopped;
	ZT_CHECK(ok, "setup on %s failed", name);
	if (!ok) {
		cursor_capture_close(&cc);
		ctx_close(&cursors);
		ctx_close(&ctx);
		remove_output(name);
		return;
	}
	/* A source of our own, to create sessions from after the output is gone. */
	struct ext_image_capture_source_v1 *source =
		ext_output_image_capture_source_manager_v1_create_source(
			ctx.client->output_source_manager, output->wl_output);

	check_ready(ctx.session, ctx.buffer, "first frame");
	check_ready(cursors.session, cursors.buffer, "first frame with cursors");
	struct zcc_frame *waiting = start_frame(ctx.session, ctx.buffer);
	struct zcc_frame *waiting_cursors = start_frame(cursors.session, cursors.buffer);
	struct zcc_buffer *cursor_buffer = zcc_buffer_create(ctx.client, WL_SHM_FORMAT_ARGB8888,
		cc.state.width, cc.state.height, 0);
	struct raw_frame cursor_frame;
	raw_frame_start(&cursor_frame, cc.session, cursor_buffer);
	zcc_client_dispatch_until(ctx.client, raw_frame_done, &cursor_frame, WAIT_MS);
	ZT_CHECK(cursor_frame.ready == 1, "first cursor frame not ready");
	ext_image_copy_capture_frame_v1_destroy(cursor_frame.proxy);
	raw_frame_start(&cursor_frame, cc.session, cursor_buffer);
	check_waiting(ctx.client, waiting, "second frame");
	check_waiting(cursors.client, waiting_cursors, "second frame with cursors");
	ZT_CHECK(cursor_frame.ready + cursor_frame.failed == 0, "second cursor frame should wait");

	remove_output(name);
	check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "waiting frame");
	check_frame_failed(waiting_cursors, ZCC_FAILURE_STOPPED, "waiting frame with cursors");
	zcc_client_dispatch_until(ctx.client, raw_frame_done, &cursor_frame, WAIT_MS);
	ZT_CHECK(cursor_frame.failed == 1 && cursor_frame.reason == ZCC_FAILURE_STOPPED,
		"waiting cursor frame: %u failed (reason %u), %u ready", cursor_frame.failed,
		cursor_frame.reason, cursor_frame.ready);
	zcc_client_dispatch_until(ctx.client, session_stopped, ctx.session, WAIT_MS);
	zcc_client_dispatch_until(cursors.client, session_stopped, cursors.session, WAIT_MS);
	zcc_client_dispatch_until(ctx.client, raw_session_started, &cc.state, WAIT_MS);
	ZT_CHECK(ctx.session->stopped && cursors.session->stopped && cc.state.stopped,
		"sessions not stopped: %d %d %d", ctx.session->stopped, cursors.session->stopped,
		cc.state.stopped);

	/* Later requests on every dead object are safe. */
	zcc_frame_destroy(waiting);
	zcc_frame_destroy(waiting_cursors);
	ext_image_copy_capture_frame_v1_destroy(cursor_frame.proxy);
	struct zcc_frame *late = start_frame(ctx.session, ctx.buffer);
	check_frame_failed(late, ZCC_FAILURE_STOPPED, "frame on the stopped session");
	zcc_frame_destroy(late);
	raw_frame_start(&cursor_frame, cc.session, cursor_buffer);
	zcc_client_dispatch_until(ctx.client, raw_frame_done, &cursor_frame, WAIT_MS);
	ZT_CHECK(cursor_frame.failed == 1 && cursor_frame.reason == ZCC_FAILURE_STOPPED,
		"cursor frame on the stopped session: %u failed (reason %u)", cursor_frame.failed,
		cursor_frame.reason);
	ext_image_copy_capture_frame_v1_destroy(cursor_frame.proxy);
	struct zcc_session *dead = zcc_session_create_for_source(ctx.client, source, 0);
	zcc_session_wait_constraints(dead, WAIT_MS);
	ZT_CHECK(dead->stopped && dead->constraint_batches == 0,
		"session on the removed output's source: stopped %d, %u batches", dead->stopped,
		dead->constraint_batches);
	late = start_frame(dead, ctx.buffer);
	check_frame_failed(late, ZCC_FAILURE_STOPPED, "frame on a session born stopped");
	zcc_frame_destroy(late);
	zcc_session_destroy(dead);
	ext_image_capture_source_v1_destroy(source);
	cursor_capture_close(&cc);
	zcc_buffer_destroy(cursor_buffer);
	check_no_error(ctx.client, "requests after the output was removed");
	check_no_error(cursors.client, "requests after the output was removed");
	ctx_close(&cursors);
	ctx_close(&ctx);

	/* A new output captures fine. */
	if (add_output(320, 240, name, sizeof(name))) {
		if (ctx_open(&ctx, name, 0)) {
			ZT_CHECK(ctx.session->constraints.width == 320 &&
				ctx.session->constraints.height == 240, "new output: %ux%u",
				ctx.session->constraints.width, ctx.session->constraints.height);
			check_ready(ctx.session, ctx.buffer, "capture on the new output");
		}
		ctx_close(&ctx);
		remove_output(name);
	}
	check_recovers("output removed mid-capture");
}

/* Buffers destroyed under their frames */

/* Destroys the wl_buffer now; the zcc_buffer keeps its memory. */
static void drop_wl_buffer(struct zcc_client *client, struct zcc_buffer *buffer) {
	wl_buffer_destroy(buffer->wl_buffer);
	buffer->wl_buffer = NULL;
	wl_display_flush(client->display);
}

static struct zcc_buffer *new_buffer(struct ctx *ctx) {
	return zcc_buffer_create(ctx->client, WL_SHM_FORMAT_XRGB8888,
		ctx->session->constraints.width, ctx->session->constraints.height, 0);
}

static void test_buffer_destroyed(void) {
	zt_section("buffer destroyed");
	struct ctx ctx;
	if (!ctx_open(&ctx, NULL, 0)) {
		ctx_close(&ctx);
		return;
	}

	/* Right after capture on a session's first frame (captured at once). */
	struct zcc_frame *frame = start_frame(ctx.session, ctx.buffer);
	drop_wl_buffer(ctx.client, ctx.buffer);
	enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY || (status == ZCC_FRAME_FAILED &&
		frame->result.failure_reason == ZCC_FAILURE_UNKNOWN),
		"first frame, buffer destroyed after capture: %s (%s)",
		zcc_frame_status_str(status), zcc_failure_reason_str(frame->result.failure_reason));
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Before ready: the frame waits for damage. */
	frame = start_frame(ctx.session, ctx.buffer);
	check_waiting(ctx.client, frame, "waiting frame");
	drop_wl_buffer(ctx.client, ctx.buffer);
	check_frame_failed(frame, ZCC_FAILURE_UNKNOWN, "buffer destroyed while waiting");
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Right after capture on a frame that will wait. */
	frame = start_frame(ctx.session, ctx.buffer);
	drop_wl_buffer(ctx.client, ctx.buffer);
	check_frame_failed(frame, ZCC_FAILURE_UNKNOWN, "buffer destroyed right after capture");
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Attached, destroyed, then the frame is destroyed without capture. */
	frame = zcc_frame_create(ctx.session);
	zcc_frame_attach_buffer(frame, ctx.buffer);
	drop_wl_buffer(ctx.client, ctx.buffer);
	zcc_frame_destroy(frame);
	check_no_error(ctx.client, "frame destroyed after its buffer");
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Damage that arrives after a failed(unknown) is not lost. */
	frame = start_frame(ctx.session, ctx.buffer);
	check_waiting(ctx.client, frame, "frame after the failures");
	ZT_CHECK(zt_cmd(&comp, "rect lifetimes-buffer 0 0 16 16 00ff00ff"), "rect");
	status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "frame after the failures: %s",
		zcc_frame_status_str(status));
	ZT_CHECK(zt_cmd(&comp, "remove lifetimes-buffer"), "remove rect");
	zcc_frame_destroy(frame);
	check_no_error(ctx.client, "buffers destroyed");
	ctx_close(&ctx);
	check_recovers("buffer destroyed");
}

/*
 * Attached, destroyed, then captured. A buffer was attached, so this is no
 * protocol error: the frame fails (unknown) and the connection lives on.
 */
static void test_capture_destroyed_buffer(void) {
	const char *what = "capture after the attached buffer was destroyed";
	zt_section(what);
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, ctx.buffer);
		zcc_frame_damage_buffer(frame, 0, 0, 1, 1);
		drop_wl_buffer(ctx.client, ctx.buffer);
		zcc_frame_capture(frame);
		enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
		ZT_CHECK(status == ZCC_FRAME_FAILED &&
			frame->result.failure_reason == ZCC_FAILURE_UNKNOWN, "%s: %s (reason %s)",
			what, zcc_frame_status_str(status),
			zcc_failure_reason_str(frame->result.failure_reason));
		check_no_error(ctx.client, what);
		zcc_frame_destroy(frame);
	}
	ctx_close(&ctx);
	check_recovers(what);
}

/* Many sessions and frames created and destroyed quickly */

static void test_churn(int rounds) {
	zt_section("churn");
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	int fds_connected = zt_count_fds(comp.pid);
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		output->mode_width, output->mode_height, 0);
	zcc_client_roundtrip(client, WAIT_MS);
	int maps_connected = client_maps();
	for (int i = 0; i < rounds; i++) {
		struct zcc_session *session =
			zcc_session_create(client, output, i % 3 == 0 ? ZCC_OPTION_PAINT_CURSORS : 0);
		/* A buffer of its own now and then: one more shm pool each time. */
		struct zcc_buffer *own = i % 5 == 0 ? zcc_buffer_create(client,
			WL_SHM_FORMAT_XRGB8888, output->mode_width, output->mode_height, 0) : NULL;
		struct zcc_frame *frame = start_frame(session, own != NULL ? own : buffer);
		switch (i % 4) {
		case 0: /* wait for the first frame */
			zcc_frame_wait(frame, WAIT_MS);
			zcc_frame_destroy(frame);
			zcc_session_destroy(session);
			break;
		case 1: /* frame first, unanswered */
			zcc_frame_destroy(frame);
			zcc_session_destroy(session);
			break;
		case 2: /* session first, unanswered */
			zcc_session_destroy(session);
			zcc_frame_destroy(frame);
			break;
		case 3: /* a second frame that waits, then everything goes */
			zcc_frame_wait(frame, WAIT_MS);
			zcc_frame_destroy(frame);
			frame = start_frame(session, buffer);
			zcc_session_destroy(session);
			zcc_frame_wait(frame, WAIT_MS);
			ZT_CHECK(frame->result.status == ZCC_FRAME_FAILED, "round %d: %s", i,
				zcc_frame_status_str(frame->result.status));
			zcc_frame_destroy(frame);
			break;
		}
		if (own != NULL) {
			zcc_buffer_destroy(own);
		}
		if (i % 50 == 49) {
			check_no_error(client, "churn");
		}
	}
	check_no_error(client, "after churn");
	ZT_CHECK(zt_compositor_alive(&comp), "compositor died during churn");
	check_fds(fds_connected, maps_connected, "churn, client still connected");

	/* The client is still fine. */
	struct zcc_session *session = zcc_session_create(client, output, 0);
	zcc_session_wait_constraints(session, WAIT_MS);
	check_ready(session, buffer, "capture after churn");
	zcc_session_destroy(session);
	zcc_buffer_destroy(buffer);
	zcc_client_destroy(client);
	check_recovers("churn");
}

int main(void) {
	if (!zt_compositor_start(&comp, NULL)) {
		return zt_finish();
	}
	ZT_CHECK(zt_cmd(&comp, "rect bg 0 0 640 480 102030ff"), "rect bg: %s", comp.reply);
	ZT_CHECK(zt_cmd(&comp, "sync"), "sync");
	/* One client first, so that whatever the compositor sets up once is there. */
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		check_ready(ctx.session, ctx.buffer, "first client");
		/* Otherwise the checks on mappings would see nothing, ever. */
		ZT_CHECK(client_maps() > 0, "the compositor's mappings of client shm are not seen");
	}
	ctx_close(&ctx);
	zt_cmd(&comp, "sync");
	usleep(100000);
	baseline_fds = zt_count_fds(comp.pid);
	ZT_CHECK(baseline_fds > 0, "cannot count the compositor's fds");

	run_child(CHILD_FRAME_WAITING, "client gone with a waiting frame");
	run_child(CHILD_FIRST_CAPTURE, "client gone right after capture");
	run_child(CHILD_EVERYTHING, "client gone with sessions of every kind");
	run_child(CHILD_NO_WAIT, "client gone with unread requests");
	test_session_destroyed();
	test_output_removed();
	test_buffer_destroyed();
	test_capture_destroyed_buffer();
	test_churn(200);

	zt_compositor_stop(&comp);
	return zt_finish();
}
