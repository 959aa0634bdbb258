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
#include "wl-helpers.h"

#define WAIT_MS 5000 /* for events that must come */

static struct zt_compositor comp;
static int baseline_fds; /* compositor fds with no client connected */

/*
 * The compositor's mappings of client shm pools. libwayland's wl_shm closed
 * a pool's fd once it was mapped, wlroots' keeps it while the pool lives: a
 * buffer held too long shows here and in the fds.
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
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_check_ready(ctx.session, ctx.buffer, after);
		zt_check_no_error(ctx.client, after);
	}
	zt_ctx_close(&ctx);
	check_fds(baseline_fds, 0, after);
}

/*
 * Takes cc's two opening frames (the cursor image) into a new ARGB8888
 * buffer, then starts a third frame into it, which waits for a new image.
 * True when the opening frames were ready (what NULL: quiet).
 */
static bool start_waiting_cursor_frame(struct zt_cursor_capture *cc, struct zcc_client *client,
		struct zcc_buffer **buffer, struct zt_raw_frame *frame, const char *what) {
	*buffer = zcc_buffer_create(client, WL_SHM_FORMAT_ARGB8888, cc->session.width,
		cc->session.height, 0);
	bool ready = zt_raw_opening_frames(client, &cc->session, (*buffer)->wl_buffer,
		(*buffer)->width, (*buffer)->height, what);
	zt_raw_frame_start(frame, cc->session.proxy, (*buffer)->wl_buffer, (*buffer)->width,
		(*buffer)->height);
	return ready;
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
			zt_frame_start(session, buffer);
		}
		wl_display_flush(client->display);
		return buffer != NULL ? 0 : 1;
	}

	struct zt_ctx ctx;
	uint32_t options = mode == CHILD_EVERYTHING ? ZCC_OPTION_PAINT_CURSORS : 0;
	if (!zt_ctx_open_quiet(&ctx, &comp, NULL, options)) {
		return 1;
	}
	if (mode == CHILD_FIRST_CAPTURE) {
		zt_frame_start(ctx.session, ctx.buffer);
		wl_display_flush(ctx.client->display);
		return 0;
	}
	if (!zt_opening_frames(ctx.session, ctx.buffer, NULL)) {
		return 2;
	}
	struct zcc_frame *frame = zt_frame_start(ctx.session, ctx.buffer);
	zcc_client_dispatch_for(ctx.client, 100);
	if (frame->result.status != ZCC_FRAME_PENDING) {
		return 3;
	}
	if (mode == CHILD_FRAME_WAITING) {
		return 0;
	}

	/* CHILD_EVERYTHING */
	struct zcc_output *output = zcc_client_find_output(ctx.client, NULL);
	struct zt_cursor_capture cc;
	if (!zt_cursor_capture_open(&cc, ctx.client, output) || cc.session.stopped) {
		return 4;
	}
	struct zcc_buffer *cursor_buffer;
	struct zt_raw_frame cursor_frame;
	if (!start_waiting_cursor_frame(&cc, ctx.client, &cursor_buffer, &cursor_frame, NULL)) {
		return 5;
	}
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
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}
	zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
	struct zcc_frame *waiting = zt_frame_start(ctx.session, ctx.buffer);
	zt_check_waiting(ctx.client, waiting, "third frame");
	zcc_session_destroy(ctx.session);
	ctx.session = NULL;
	zt_check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "captured frame, session destroyed");
	zcc_frame_destroy(waiting);
	zt_check_no_error(ctx.client, "destroying the failed frame");

	/* A frame not captured yet: its capture fails later. */
	struct zcc_output *output = zcc_client_find_output(ctx.client, NULL);
	struct zcc_session *session = zcc_session_create(ctx.client, output, 0);
	zcc_session_wait_constraints(session, WAIT_MS);
	struct zcc_frame *idle = zcc_frame_create(session);
	zcc_frame_attach_buffer(idle, ctx.buffer);
	zcc_session_destroy(session);
	zcc_frame_damage_buffer(idle, 0, 0, 1, 1);
	zcc_frame_capture(idle);
	zt_check_frame_failed(idle, ZCC_FAILURE_STOPPED, "frame captured after its session died");
	zcc_frame_destroy(idle);

	/* A frame left alone, its session gone: destroying it later is fine. */
	session = zcc_session_create(ctx.client, output, ZCC_OPTION_PAINT_CURSORS);
	idle = zcc_frame_create(session);
	zcc_session_destroy(session);
	zt_check_no_error(ctx.client, "frame outliving its session");
	zcc_frame_destroy(idle);

	/* A cursor-painting session with a waiting frame. */
	session = zcc_session_create(ctx.client, output, ZCC_OPTION_PAINT_CURSORS);
	zcc_session_wait_constraints(session, WAIT_MS);
	zt_opening_frames(session, ctx.buffer, "opening frames with cursors");
	waiting = zt_frame_start(session, ctx.buffer);
	zt_check_waiting(ctx.client, waiting, "third frame with cursors");
	zcc_session_destroy(session);
	zt_check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "cursor-painting session destroyed");
	zcc_frame_destroy(waiting);
	zt_check_no_error(ctx.client, "after the sessions died");
	zt_ctx_close(&ctx);
	check_recovers("session destroyed with a pending frame");
}

/* Outputs removed under their sessions */

static void test_output_removed(void) {
	zt_section("output removed mid-capture");
	char name[64];
	if (!zt_output_add(&comp, 320, 240, name, sizeof(name))) {
		return;
	}
	struct zt_ctx ctx;
	struct zt_ctx cursors = {0}; /* paint_cursors session, on its own client */
	bool ok = zt_ctx_open(&ctx, &comp, name, 0) &&
		zt_ctx_open(&cursors, &comp, name, ZCC_OPTION_PAINT_CURSORS);
	struct zcc_output *output = ok ? zcc_client_find_output(ctx.client, name) : NULL;
	struct zt_cursor_capture cc = {0};
	ok = ok && zt_cursor_capture_open(&cc, ctx.client, output) && !cc.session.stopped;
	ZT_CHECK(ok, "setup on %s failed", name);
	if (!ok) {
		zt_cursor_capture_close(&cc);
		zt_ctx_close(&cursors);
		zt_ctx_close(&ctx);
		zt_output_remove(&comp, name);
		return;
	}
	/* A source of our own, to create sessions from after the output is gone. */
	struct ext_image_capture_source_v1 *source =
		ext_output_image_capture_source_manager_v1_create_source(
			ctx.client->output_source_manager, output->wl_output);

	zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
	zt_opening_frames(cursors.session, cursors.buffer, "opening frames with cursors");
	struct zcc_frame *waiting = zt_frame_start(ctx.session, ctx.buffer);
	struct zcc_frame *waiting_cursors = zt_frame_start(cursors.session, cursors.buffer);
	struct zcc_buffer *cursor_buffer;
	struct zt_raw_frame cursor_frame;
	start_waiting_cursor_frame(&cc, ctx.client, &cursor_buffer, &cursor_frame,
		"opening cursor frames");
	zt_check_waiting(ctx.client, waiting, "third frame");
	zt_check_waiting(cursors.client, waiting_cursors, "third frame with cursors");
	ZT_CHECK(cursor_frame.ready + cursor_frame.failed == 0, "third cursor frame should wait");

	zt_output_remove(&comp, name);
	zt_check_frame_failed(waiting, ZCC_FAILURE_STOPPED, "waiting frame");
	zt_check_frame_failed(waiting_cursors, ZCC_FAILURE_STOPPED, "waiting frame with cursors");
	zcc_client_dispatch_until(ctx.client, zt_raw_frame_done, &cursor_frame, WAIT_MS);
	ZT_CHECK(cursor_frame.failed == 1 && cursor_frame.reason == ZCC_FAILURE_STOPPED,
		"waiting cursor frame: %u failed (reason %u), %u ready", cursor_frame.failed,
		cursor_frame.reason, cursor_frame.ready);
	zcc_client_dispatch_until(ctx.client, zt_session_stopped, ctx.session, WAIT_MS);
	zcc_client_dispatch_until(cursors.client, zt_session_stopped, cursors.session, WAIT_MS);
	zcc_client_dispatch_until(ctx.client, zt_raw_session_started, &cc.session, WAIT_MS);
	ZT_CHECK(ctx.session->stopped && cursors.session->stopped && cc.session.stopped,
		"sessions not stopped: %d %d %u", ctx.session->stopped, cursors.session->stopped,
		cc.session.stopped);

	/* Later requests on every dead object are safe. */
	zcc_frame_destroy(waiting);
	zcc_frame_destroy(waiting_cursors);
	zt_raw_frame_finish(&cursor_frame);
	struct zcc_frame *late = zt_frame_start(ctx.session, ctx.buffer);
	zt_check_frame_failed(late, ZCC_FAILURE_STOPPED, "frame on the stopped session");
	zcc_frame_destroy(late);
	zt_raw_frame_start(&cursor_frame, cc.session.proxy, cursor_buffer->wl_buffer,
		cursor_buffer->width, cursor_buffer->height);
	zcc_client_dispatch_until(ctx.client, zt_raw_frame_done, &cursor_frame, WAIT_MS);
	ZT_CHECK(cursor_frame.failed == 1 && cursor_frame.reason == ZCC_FAILURE_STOPPED,
		"cursor frame on the stopped session: %u failed (reason %u)", cursor_frame.failed,
		cursor_frame.reason);
	zt_raw_frame_finish(&cursor_frame);
	struct zcc_session *dead = zcc_session_create_for_source(ctx.client, source, 0);
	zcc_session_wait_constraints(dead, WAIT_MS);
	ZT_CHECK(dead->stopped && dead->constraint_batches == 0,
		"session on the removed output's source: stopped %d, %u batches", dead->stopped,
		dead->constraint_batches);
	late = zt_frame_start(dead, ctx.buffer);
	zt_check_frame_failed(late, ZCC_FAILURE_STOPPED, "frame on a session born stopped");
	zcc_frame_destroy(late);
	zcc_session_destroy(dead);
	ext_image_capture_source_v1_destroy(source);
	zt_cursor_capture_close(&cc);
	zcc_buffer_destroy(cursor_buffer);
	zt_check_no_error(ctx.client, "requests after the output was removed");
	zt_check_no_error(cursors.client, "requests after the output was removed");
	zt_ctx_close(&cursors);
	zt_ctx_close(&ctx);

	/* A new output captures fine. */
	if (zt_output_add(&comp, 320, 240, name, sizeof(name))) {
		if (zt_ctx_open(&ctx, &comp, name, 0)) {
			ZT_CHECK(ctx.session->constraints.width == 320 &&
				ctx.session->constraints.height == 240, "new output: %ux%u",
				ctx.session->constraints.width, ctx.session->constraints.height);
			zt_check_ready(ctx.session, ctx.buffer, "capture on the new output");
		}
		zt_ctx_close(&ctx);
		zt_output_remove(&comp, name);
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

static struct zcc_buffer *new_buffer(struct zt_ctx *ctx) {
	return zcc_buffer_create(ctx->client, WL_SHM_FORMAT_XRGB8888,
		ctx->session->constraints.width, ctx->session->constraints.height, 0);
}

static void test_buffer_destroyed(void) {
	zt_section("buffer destroyed");
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}

	/*
	 * Right after capture on a session's first frame and on its second
	 * (both are copied at once), each on a session of its own.
	 */
	struct zcc_output *output = zcc_client_find_output(ctx.client, NULL);
	for (int i = 0; i < 2; i++) {
		const char *what = i == 0 ? "first frame" : "second frame";
		struct zcc_session *session = zt_session_open(ctx.client, output, 0);
		struct zcc_buffer *buffer = session != NULL ? zt_session_buffer(session) : NULL;
		if (buffer != NULL && (i == 0 || zt_capture(session, buffer, NULL) == ZCC_FRAME_READY)) {
			struct zcc_frame *frame = zt_frame_start(session, buffer);
			drop_wl_buffer(ctx.client, buffer);
			enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
			ZT_CHECK(status == ZCC_FRAME_READY || (status == ZCC_FRAME_FAILED &&
				frame->result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS),
				"%s, buffer destroyed after capture: %s (%s)", what,
				zcc_frame_status_str(status),
				zcc_failure_reason_str(frame->result.failure_reason));
			zcc_frame_destroy(frame);
		} else {
			ZT_CHECK(false, "%s: no session, buffer or first frame", what);
		}
		zcc_buffer_destroy(buffer);
		zcc_session_destroy(session);
	}

	/* Before ready: the frame waits for damage. */
	zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
	struct zcc_frame *frame = zt_frame_start(ctx.session, ctx.buffer);
	zt_check_waiting(ctx.client, frame, "waiting frame");
	drop_wl_buffer(ctx.client, ctx.buffer);
	zt_check_frame_failed(frame, ZCC_FAILURE_BUFFER_CONSTRAINTS,
		"buffer destroyed while waiting");
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Right after capture on a frame that will wait. */
	frame = zt_frame_start(ctx.session, ctx.buffer);
	drop_wl_buffer(ctx.client, ctx.buffer);
	zt_check_frame_failed(frame, ZCC_FAILURE_BUFFER_CONSTRAINTS,
		"buffer destroyed right after capture");
	zcc_frame_destroy(frame);
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Attached, destroyed, then the frame is destroyed without capture. */
	frame = zcc_frame_create(ctx.session);
	zcc_frame_attach_buffer(frame, ctx.buffer);
	drop_wl_buffer(ctx.client, ctx.buffer);
	zcc_frame_destroy(frame);
	zt_check_no_error(ctx.client, "frame destroyed after its buffer");
	zcc_buffer_destroy(ctx.buffer);
	ctx.buffer = new_buffer(&ctx);

	/* Damage that arrives after those failures is not lost. */
	frame = zt_frame_start(ctx.session, ctx.buffer);
	zt_check_waiting(ctx.client, frame, "frame after the failures");
	ZT_CHECK(zt_cmd(&comp, "rect lifetimes-buffer 0 0 16 16 00ff00ff"), "rect");
	enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "frame after the failures: %s",
		zcc_frame_status_str(status));
	ZT_CHECK(zt_cmd(&comp, "remove lifetimes-buffer"), "remove rect");
	zcc_frame_destroy(frame);
	zt_check_no_error(ctx.client, "buffers destroyed");
	zt_ctx_close(&ctx);
	check_recovers("buffer destroyed");
}

/*
 * Attached, destroyed, then captured. A buffer was attached, so this is no
 * protocol error: the frame fails (buffer_constraints: allocate again) and
 * the connection lives on.
 */
static void test_capture_destroyed_buffer(void) {
	const char *what = "capture after the attached buffer was destroyed";
	zt_section(what);
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, ctx.buffer);
		zcc_frame_damage_buffer(frame, 0, 0, 1, 1);
		drop_wl_buffer(ctx.client, ctx.buffer);
		zcc_frame_capture(frame);
		enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
		ZT_CHECK(status == ZCC_FRAME_FAILED &&
			frame->result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS,
			"%s: %s (reason %s)",
			what, zcc_frame_status_str(status),
			zcc_failure_reason_str(frame->result.failure_reason));
		zt_check_no_error(ctx.client, what);
		zcc_frame_destroy(frame);
	}
	zt_ctx_close(&ctx);
	check_recovers(what);
}

/* Many sessions and frames created and destroyed quickly */

static void test_churn(int rounds) {
	zt_section("churn");
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		output->mode_width, output->mode_height, 0);
	zcc_client_roundtrip(client, WAIT_MS);
	/* Counted with the buffer: wlroots' wl_shm keeps a pool's fd while it lives. */
	int fds_connected = zt_count_fds(comp.pid);
	int maps_connected = client_maps();
	for (int i = 0; i < rounds; i++) {
		struct zcc_session *session =
			zcc_session_create(client, output, i % 3 == 0 ? ZCC_OPTION_PAINT_CURSORS : 0);
		/* A buffer of its own now and then: one more shm pool each time. */
		struct zcc_buffer *own = i % 5 == 0 ? zcc_buffer_create(client,
			WL_SHM_FORMAT_XRGB8888, output->mode_width, output->mode_height, 0) : NULL;
		struct zcc_frame *frame = i % 4 == 3 ? NULL :
			zt_frame_start(session, own != NULL ? own : buffer);
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
		case 3: /* a third frame that waits, then everything goes */
			zt_opening_frames(session, own != NULL ? own : buffer, "churn");
			frame = zt_frame_start(session, buffer);
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
			zt_check_no_error(client, "churn");
		}
	}
	zt_check_no_error(client, "after churn");
	ZT_CHECK(zt_compositor_alive(&comp), "compositor died during churn");
	check_fds(fds_connected, maps_connected, "churn, client still connected");

	/* The client is still fine. */
	struct zcc_session *session = zcc_session_create(client, output, 0);
	zcc_session_wait_constraints(session, WAIT_MS);
	zt_check_ready(session, buffer, "capture after churn");
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
	baseline_fds = zt_baseline_fds(&comp);

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
