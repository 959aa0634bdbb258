/*
 * Protocol errors and frame failure reasons of ext-image-copy-capture-v1, sent
 * by real clients to the reference compositor.
 *
 * Every protocol error kills its connection, so each case runs on a fresh
 * client; afterwards the compositor must still run and serve a new client.
 */
#include <string.h>
#include <wayland-client.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "fixture.h"

#define WAIT_MS 5000 /* for events that must come */
#define QUIET_MS 500 /* for events that must not come */

static struct zt_compositor comp;

/* A client with one session on an output and a buffer that fits it. */
struct ctx {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_buffer *buffer;
};

static bool ctx_open(struct ctx *ctx, const char *output_name, uint32_t options) {
	memset(ctx, 0, sizeof(*ctx));
	ctx->client = zt_connect(&comp);
	if (ctx->client == NULL) {
		return false;
	}
	struct zcc_output *output = zcc_client_find_output(ctx->client, output_name);
	ZT_CHECK(output != NULL, "no output %s", output_name ? output_name : "(first)");
	if (output == NULL) {
		return false;
	}
	ctx->session = zcc_session_create(ctx->client, output, options);
	ZT_CHECK(ctx->session != NULL, "session: %s", zcc_client_last_error(ctx->client));
	if (ctx->session == NULL) {
		return false;
	}
	int ret = zcc_session_wait_constraints(ctx->session, WAIT_MS);
	ZT_CHECK(ret == 1 && !ctx->session->stopped, "no constraints (ret %d, stopped %d)",
		ret, ctx->session->stopped);
	if (ret != 1 || ctx->session->stopped) {
		return false;
	}
	const struct zcc_constraints *c = &ctx->session->constraints;
	ctx->buffer = zcc_buffer_create(ctx->client, WL_SHM_FORMAT_XRGB8888,
		c->width, c->height, 0);
	ZT_CHECK(ctx->buffer != NULL, "buffer: %s", zcc_client_last_error(ctx->client));
	return ctx->buffer != NULL;
}

static void ctx_close(struct ctx *ctx) {
	zcc_buffer_destroy(ctx->buffer);
	zcc_session_destroy(ctx->session);
	zcc_client_destroy(ctx->client);
	memset(ctx, 0, sizeof(*ctx));
}

/* Opens a frame with ctx's buffer attached and the whole buffer damaged. */
static struct zcc_frame *ctx_frame(struct ctx *ctx) {
	struct zcc_frame *frame = zcc_frame_create(ctx->session);
	zcc_frame_attach_buffer(frame, ctx->buffer);
	zcc_frame_damage_buffer(frame, 0, 0, ctx->buffer->width, ctx->buffer->height);
	return frame;
}

static enum zcc_frame_status capture_status(struct zcc_session *session,
		struct zcc_buffer *buffer, uint32_t *reason) {
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, WAIT_MS, &result);
	*reason = result.failure_reason;
	zcc_capture_result_finish(&result);
	return status;
}

static void check_ready(struct zcc_session *session, struct zcc_buffer *buffer,
		const char *what) {
	uint32_t reason;
	enum zcc_frame_status status = capture_status(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s)", what,
		zcc_frame_status_str(status), zcc_failure_reason_str(reason));
}

static void check_failed(struct zcc_session *session, struct zcc_buffer *buffer,
		uint32_t expected, const char *what) {
	uint32_t reason;
	enum zcc_frame_status status = capture_status(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_FAILED && reason == expected,
		"%s: expected failed(%s), got %s (%s)", what, zcc_failure_reason_str(expected),
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-");
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

static void check_no_error(struct zcc_client *client, const char *what) {
	zcc_client_roundtrip(client, WAIT_MS);
	struct zcc_error err;
	char buf[160];
	bool failed = zcc_client_get_error(client, &err);
	ZT_CHECK(!failed, "%s: %s", what, zcc_error_str(&err, buf, sizeof(buf)));
}

static void check_error(struct zcc_client *client, const struct wl_interface *interface,
		uint32_t code, const char *what) {
	ZT_CHECK(zcc_client_expect_protocol_error(client, interface, code), "%s: %s", what,
		zcc_client_last_error(client));
}

/* The compositor survived and serves a new client. */
static void check_recovers(const char *after) {
	ZT_CHECK(zt_compositor_alive(&comp), "compositor died after %s", after);
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		check_ready(ctx.session, ctx.buffer, after);
		check_no_error(ctx.client, after);
	}
	ctx_close(&ctx);
}

static bool session_stopped(void *data) {
	return ((struct zcc_session *)data)->stopped;
}

/* Waits until frame is captured and still pending: it waits for damage. */
static void check_waiting(struct ctx *ctx, struct zcc_frame *frame, const char *what) {
	zcc_client_dispatch_for(ctx->client, QUIET_MS);
	ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING, "%s: frame should wait, it is %s",
		what, zcc_frame_status_str(frame->result.status));
}

/* Adds a headless output; its name goes to name. */
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

/* Protocol errors */

static void test_invalid_option(uint32_t options) {
	char what[64];
	snprintf(what, sizeof(what), "invalid_option 0x%x", options);
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_session *session =
		zcc_session_create(client, zcc_client_find_output(client, NULL), options);
	check_error(client, &ext_image_copy_capture_manager_v1_interface,
		EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_ERROR_INVALID_OPTION, what);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
	check_recovers(what);
}

static void test_duplicate_frame(void) {
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		struct zcc_frame *first = zcc_frame_create(ctx.session);
		check_no_error(ctx.client, "first frame");
		struct zcc_frame *second = zcc_frame_create(ctx.session);
		check_error(ctx.client, &ext_image_copy_capture_session_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_SESSION_V1_ERROR_DUPLICATE_FRAME, "duplicate_frame");
		zcc_frame_destroy(second);
		zcc_frame_destroy(first);
	}
	ctx_close(&ctx);
	check_recovers("duplicate_frame");
}

static void test_no_buffer(void) {
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_damage_buffer(frame, 0, 0, 10, 10);
		zcc_frame_capture(frame);
		check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_NO_BUFFER, "no_buffer");
		zcc_frame_destroy(frame);
	}
	ctx_close(&ctx);
	check_recovers("no_buffer");
}

static void test_invalid_damage(int32_t x, int32_t y, int32_t w, int32_t h) {
	char what[96];
	snprintf(what, sizeof(what), "invalid_buffer_damage %d,%d %dx%d", x, y, w, h);
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, ctx.buffer);
		zcc_frame_damage_buffer(frame, 0, 0, 1, 1);
		check_no_error(ctx.client, "valid damage");
		zcc_frame_damage_buffer(frame, x, y, w, h);
		check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_INVALID_BUFFER_DAMAGE, what);
		zcc_frame_destroy(frame);
	}
	ctx_close(&ctx);
	check_recovers(what);
}

enum late_request {
	LATE_CAPTURE,
	LATE_ATTACH,
	LATE_DAMAGE,
};

enum late_when {
	LATE_AFTER_CAPTURE, /* right after capture, before any answer */
	LATE_AFTER_READY,
	LATE_AFTER_FAILED,
};

/* A request after capture: already_captured. */
static void test_already_captured(enum late_request request, enum late_when when) {
	static const char *const requests[] = {"capture", "attach_buffer", "damage_buffer"};
	static const char *const whens[] = {"capture", "ready", "failed"};
	char what[96];
	snprintf(what, sizeof(what), "already_captured: %s after %s", requests[request],
		whens[when]);
	struct ctx ctx;
	struct zcc_buffer *bad = NULL;
	if (ctx_open(&ctx, NULL, 0)) {
		struct zcc_frame *frame = ctx_frame(&ctx);
		if (when == LATE_AFTER_FAILED) {
			bad = zcc_buffer_create(ctx.client, WL_SHM_FORMAT_XRGB8888,
				ctx.buffer->width + 1, ctx.buffer->height, 0);
			zcc_frame_attach_buffer(frame, bad);
		}
		zcc_frame_capture(frame);
		if (when != LATE_AFTER_CAPTURE) {
			enum zcc_frame_status expected =
				when == LATE_AFTER_READY ? ZCC_FRAME_READY : ZCC_FRAME_FAILED;
			enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
			ZT_CHECK(status == expected, "%s: frame %s, expected %s", what,
				zcc_frame_status_str(status), zcc_frame_status_str(expected));
		}
		switch (request) {
		case LATE_CAPTURE:
			zcc_frame_capture(frame);
			break;
		case LATE_ATTACH:
			zcc_frame_attach_buffer(frame, ctx.buffer);
			break;
		case LATE_DAMAGE:
			zcc_frame_damage_buffer(frame, 0, 0, 1, 1);
			break;
		}
		check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_ALREADY_CAPTURED, what);
		zcc_frame_destroy(frame);
	}
	zcc_buffer_destroy(bad);
	ctx_close(&ctx);
	check_recovers(what);
}

/* A session proxy the library does not model (a cursor's capture session). */
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

static bool raw_session_started(void *data) {
	struct raw_session *raw = data;
	return raw->batches > 0 || raw->stopped;
}

/* A pointer cursor session on source, with a fresh seat and pointer. */
static struct ext_image_copy_capture_cursor_session_v1 *cursor_session_create(
		struct zcc_client *client, struct ext_image_capture_source_v1 *source,
		struct wl_seat **seat, struct wl_pointer **pointer) {
	*seat = zcc_client_bind(client, &wl_seat_interface, 1);
	ZT_CHECK(*seat != NULL, "no wl_seat: %s", zcc_client_last_error(client));
	if (*seat == NULL) {
		return NULL;
	}
	/* Without the pointer capability wlroots still hands out an (inert) wl_pointer. */
	*pointer = wl_seat_get_pointer(*seat);
	return ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy_capture_manager, source, *pointer);
}

static void cursor_session_destroy(struct ext_image_copy_capture_cursor_session_v1 *cursor,
		struct wl_seat *seat, struct wl_pointer *pointer) {
	if (cursor != NULL) {
		ext_image_copy_capture_cursor_session_v1_destroy(cursor);
	}
	if (pointer != NULL) {
		wl_pointer_destroy(pointer);
	}
	if (seat != NULL) {
		wl_seat_destroy(seat);
	}
}

static void test_duplicate_session(void) {
	const char *what = "cursor duplicate_session";
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, NULL);
	struct ext_image_capture_source_v1 *source =
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	struct wl_seat *seat = NULL;
	struct wl_pointer *pointer = NULL;
	struct ext_image_copy_capture_cursor_session_v1 *cursor =
		cursor_session_create(client, source, &seat, &pointer);
	if (cursor != NULL) {
		struct raw_session raw = {0};
		struct ext_image_copy_capture_session_v1 *first =
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor);
		ext_image_copy_capture_session_v1_add_listener(first, &raw_session_listener, &raw);
		zcc_client_dispatch_until(client, raw_session_started, &raw, WAIT_MS);
		ZT_CHECK(raw.batches == 1 && !raw.stopped && raw.width > 0 && raw.height > 0,
			"cursor capture session: %u batches, %ux%u, stopped %d", raw.batches,
			raw.width, raw.height, raw.stopped);
		check_no_error(client, "first cursor capture session");
		struct ext_image_copy_capture_session_v1 *second =
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor);
		check_error(client, &ext_image_copy_capture_cursor_session_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_CURSOR_SESSION_V1_ERROR_DUPLICATE_SESSION, what);
		ext_image_copy_capture_session_v1_destroy(second);
		ext_image_copy_capture_session_v1_destroy(first);
	}
	cursor_session_destroy(cursor, seat, pointer);
	ext_image_capture_source_v1_destroy(source);
	zcc_client_destroy(client);
	check_recovers(what);
}

/* Failure reasons */

/* A wl_shm format the compositor takes but the session does not advertise. */
static bool unadvertised_format(struct zcc_client *client, const struct zcc_constraints *c,
		uint32_t *format) {
	bool found = false;
	for (size_t i = 0; i < client->n_wl_shm_formats; i++) {
		uint32_t f = client->wl_shm_formats[i];
		if (zcc_constraints_has_shm_format(c, f)) {
			continue;
		}
		if (f == WL_SHM_FORMAT_RGB565 || !found) {
			*format = f;
			found = true;
		}
	}
	return found;
}

static void test_buffer_constraints(void) {
	zt_section("failed: buffer_constraints");
	struct ctx ctx;
	if (!ctx_open(&ctx, NULL, 0)) {
		ctx_close(&ctx);
		return;
	}
	int32_t w = ctx.buffer->width, h = ctx.buffer->height;
	struct {
		const char *what;
		uint32_t format;
		int32_t width, height, stride;
	} cases[] = {
		{"width + 1", WL_SHM_FORMAT_XRGB8888, w + 1, h, 0},
		{"width - 1", WL_SHM_FORMAT_XRGB8888, w - 1, h, 0},
		{"height + 1", WL_SHM_FORMAT_XRGB8888, w, h + 1, 0},
		{"height - 1", WL_SHM_FORMAT_XRGB8888, w, h - 1, 0},
		/* wl_shm only asks for stride >= width, in bytes. */
		{"stride too small", WL_SHM_FORMAT_XRGB8888, w, h, (w - 1) * 4},
		{"unadvertised format", 0, w, h, w * 4},
	};
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	if (!unadvertised_format(ctx.client, &ctx.session->constraints, &cases[n_cases - 1].format)) {
		fprintf(stderr, "  wl_shm has no format beyond the session's: skipping that case\n");
		n_cases--;
	} else {
		fprintf(stderr, "  unadvertised format: 0x%08x\n", cases[n_cases - 1].format);
	}
	for (size_t i = 0; i < n_cases; i++) {
		struct zcc_buffer *buffer = zcc_buffer_create(ctx.client, cases[i].format,
			cases[i].width, cases[i].height, cases[i].stride);
		ZT_CHECK(buffer != NULL, "%s: buffer: %s", cases[i].what,
			zcc_client_last_error(ctx.client));
		if (buffer != NULL) {
			check_failed(ctx.session, buffer, ZCC_FAILURE_BUFFER_CONSTRAINTS, cases[i].what);
		}
		zcc_buffer_destroy(buffer);
		check_no_error(ctx.client, cases[i].what);
	}
	/* The session stays usable. */
	check_ready(ctx.session, ctx.buffer, "correct buffer after failures");
	ctx_close(&ctx);
	check_recovers("buffer_constraints");
}

/* Output removed while a frame waits: failed(stopped), stopped, and it stays so. */
static void test_stopped_by_output_removal(void) {
	zt_section("failed: stopped (output removed)");
	char name[64];
	if (!add_output(320, 240, name, sizeof(name))) {
		return;
	}
	struct ctx ctx;
	if (ctx_open(&ctx, name, 0)) {
		check_ready(ctx.session, ctx.buffer, "first frame");
		struct zcc_frame *frame = ctx_frame(&ctx);
		zcc_frame_capture(frame);
		check_waiting(&ctx, frame, "second frame");
		remove_output(name);
		check_frame_failed(frame, ZCC_FAILURE_STOPPED, "waiting frame, output removed");
		zcc_client_dispatch_until(ctx.client, session_stopped, ctx.session, WAIT_MS);
		ZT_CHECK(ctx.session->stopped, "session did not get stopped");
		zcc_frame_destroy(frame);

		check_failed(ctx.session, ctx.buffer, ZCC_FAILURE_STOPPED, "frame on stopped session");
		/* A frame that is never captured, on a stopped session. */
		frame = ctx_frame(&ctx);
		zcc_frame_destroy(frame);
		check_no_error(ctx.client, "requests on a stopped session");
		ZT_CHECK(ctx.session->events_after_stopped == 0, "%u session events after stopped",
			ctx.session->events_after_stopped);
	} else {
		remove_output(name);
	}
	ctx_close(&ctx);
	check_recovers("stopped");
}

/* Checks a session created on a source that is inert, then uses it. */
static void check_starts_stopped(struct zcc_client *client,
		struct ext_image_capture_source_v1 *source, const char *what) {
	struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
	int ret = zcc_session_wait_constraints(session, WAIT_MS);
	ZT_CHECK(ret == 1 && session->stopped, "%s: session should start stopped "
		"(ret %d, stopped %d)", what, ret, session->stopped);
	ZT_CHECK(session->constraint_batches == 0, "%s: %u constraint batches on a dead source",
		what, session->constraint_batches);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		320, 240, 0);
	check_failed(session, buffer, ZCC_FAILURE_STOPPED, what);
	zcc_buffer_destroy(buffer);

	/* A cursor session on the same source hands out a stopped session too. */
	struct wl_seat *seat = NULL;
	struct wl_pointer *pointer = NULL;
	struct ext_image_copy_capture_cursor_session_v1 *cursor =
		cursor_session_create(client, source, &seat, &pointer);
	if (cursor != NULL) {
		struct raw_session raw = {0};
		struct ext_image_copy_capture_session_v1 *proxy =
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor);
		ext_image_copy_capture_session_v1_add_listener(proxy, &raw_session_listener, &raw);
		zcc_client_dispatch_until(client, raw_session_started, &raw, WAIT_MS);
		ZT_CHECK(raw.stopped && raw.batches == 0, "%s: cursor capture session should "
			"start stopped (stopped %d, %u batches)", what, raw.stopped, raw.batches);
		ext_image_copy_capture_session_v1_destroy(proxy);
	}
	cursor_session_destroy(cursor, seat, pointer);
	zcc_session_destroy(session);
	check_no_error(client, what);
}

static void test_dead_sources(void) {
	zt_section("inert sources");
	char name[64];
	if (!add_output(320, 240, name, sizeof(name))) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		remove_output(name);
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, name);
	ZT_CHECK(output != NULL, "no output %s", name);
	if (output == NULL) {
		remove_output(name);
		zcc_client_destroy(client);
		return;
	}

	/* A source created while the output lived; the output goes first. */
	struct ext_image_capture_source_v1 *early =
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	/* A session whose source object is destroyed at once keeps working. */
	struct zcc_session *orphan = zcc_session_create(client, output, 0);
	ext_image_capture_source_v1_destroy(orphan->source);
	orphan->owns_source = false;
	check_no_error(client, "source created");
	zcc_session_wait_constraints(orphan, WAIT_MS);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		320, 240, 0);
	check_ready(orphan, buffer, "session after its source object was destroyed");

	remove_output(name);
	/*
	 * The client has not seen global_remove yet: this source is created
	 * from a wl_output the compositor already made inert.
	 */
	struct ext_image_capture_source_v1 *late =
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	check_no_error(client, "sources of a removed output");

	check_starts_stopped(client, early, "source whose output was removed");
	check_starts_stopped(client, late, "source created on a removed output");
	zcc_client_dispatch_until(client, session_stopped, orphan, WAIT_MS);
	ZT_CHECK(orphan->stopped, "session without source object did not get stopped");
	check_failed(orphan, buffer, ZCC_FAILURE_STOPPED, "orphan session after removal");

	ext_image_capture_source_v1_destroy(early);
	ext_image_capture_source_v1_destroy(late);
	zcc_session_destroy(orphan);
	zcc_buffer_destroy(buffer);
	check_no_error(client, "destroying inert objects");
	zcc_client_destroy(client);
	check_recovers("inert sources");
}

/* The buffer of a waiting frame is destroyed: failed(unknown). */
static void test_unknown(void) {
	zt_section("failed: unknown");
	struct ctx ctx;
	if (ctx_open(&ctx, NULL, 0)) {
		check_ready(ctx.session, ctx.buffer, "first frame");
		struct zcc_frame *frame = ctx_frame(&ctx);
		zcc_frame_capture(frame);
		check_waiting(&ctx, frame, "second frame");
		wl_buffer_destroy(ctx.buffer->wl_buffer);
		ctx.buffer->wl_buffer = NULL;
		wl_display_flush(ctx.client->display);
		check_frame_failed(frame, ZCC_FAILURE_UNKNOWN, "buffer destroyed while waiting");
		zcc_frame_destroy(frame);
		check_no_error(ctx.client, "after failed(unknown)");

		/* The session stays usable with a new buffer. */
		struct zcc_buffer *buffer = zcc_buffer_create(ctx.client, WL_SHM_FORMAT_XRGB8888,
			ctx.buffer->width, ctx.buffer->height, 0);
		frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, buffer);
		zcc_frame_capture(frame);
		check_waiting(&ctx, frame, "frame after failed(unknown)");
		ZT_CHECK(zt_cmd(&comp, "rect errors-unknown 0 0 16 16 ff0000ff"), "rect");
		enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
		ZT_CHECK(status == ZCC_FRAME_READY, "frame after failed(unknown): %s",
			zcc_frame_status_str(status));
		ZT_CHECK(zt_cmd(&comp, "remove errors-unknown"), "remove rect");
		zcc_frame_destroy(frame);
		zcc_buffer_destroy(buffer);
	}
	ctx_close(&ctx);
	check_recovers("failed(unknown)");
}

int main(void) {
	if (!zt_compositor_start(&comp, NULL)) {
		return zt_finish();
	}
	ZT_CHECK(zt_cmd(&comp, "rect bg 0 0 640 480 102030ff"), "rect bg: %s", comp.reply);
	ZT_CHECK(zt_cmd(&comp, "sync"), "sync");
	check_recovers("start");

	zt_section("manager: invalid_option");
	test_invalid_option(2);
	test_invalid_option(0x80000000u);
	test_invalid_option(ZCC_OPTION_PAINT_CURSORS | 4);

	zt_section("session: duplicate_frame");
	test_duplicate_frame();

	zt_section("frame: no_buffer");
	test_no_buffer();

	zt_section("frame: invalid_buffer_damage");
	test_invalid_damage(-1, 0, 10, 10);
	test_invalid_damage(0, -1, 10, 10);
	test_invalid_damage(0, 0, 0, 10);
	test_invalid_damage(0, 0, -5, 10);
	test_invalid_damage(0, 0, 10, 0);
	test_invalid_damage(0, 0, 10, -1);
	test_invalid_damage(INT32_MIN, INT32_MIN, 1, 1);

	zt_section("frame: already_captured");
	for (int when = LATE_AFTER_CAPTURE; when <= LATE_AFTER_FAILED; when++) {
		for (int request = LATE_CAPTURE; request <= LATE_DAMAGE; request++) {
			test_already_captured(request, when);
		}
	}

	zt_section("cursor session: duplicate_session");
	test_duplicate_session();

	test_buffer_constraints();
	test_stopped_by_output_removal();
	test_dead_sources();
	test_unknown();

	zt_compositor_stop(&comp);
	return zt_finish();
}
