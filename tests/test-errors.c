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
#include "wl-helpers.h"

#define WAIT_MS 5000 /* for events that must come */

static struct zt_compositor comp;

/* Opens a frame with ctx's buffer attached and the whole buffer damaged. */
static struct zcc_frame *ctx_frame(struct zt_ctx *ctx) {
	struct zcc_frame *frame = zcc_frame_create(ctx->session);
	zcc_frame_attach_buffer(frame, ctx->buffer);
	zcc_frame_damage_buffer(frame, 0, 0, ctx->buffer->width, ctx->buffer->height);
	return frame;
}

/* The compositor survived and serves a new client. */
static void check_recovers(const char *after) {
	ZT_CHECK(zt_compositor_alive(&comp), "compositor died after %s", after);
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_check_ready(ctx.session, ctx.buffer, after);
		zt_check_no_error(ctx.client, after);
	}
	zt_ctx_close(&ctx);
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
	zt_check_error(client, &ext_image_copy_capture_manager_v1_interface,
		EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_ERROR_INVALID_OPTION, what);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
	check_recovers(what);
}

static void test_duplicate_frame(void) {
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		struct zcc_frame *first = zcc_frame_create(ctx.session);
		zt_check_no_error(ctx.client, "first frame");
		struct zcc_frame *second = zcc_frame_create(ctx.session);
		zt_check_error(ctx.client, &ext_image_copy_capture_session_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_SESSION_V1_ERROR_DUPLICATE_FRAME, "duplicate_frame");
		zcc_frame_destroy(second);
		zcc_frame_destroy(first);
	}
	zt_ctx_close(&ctx);
	check_recovers("duplicate_frame");
}

static void test_no_buffer(void) {
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_damage_buffer(frame, 0, 0, 10, 10);
		zcc_frame_capture(frame);
		zt_check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_NO_BUFFER, "no_buffer");
		zcc_frame_destroy(frame);
	}
	zt_ctx_close(&ctx);
	check_recovers("no_buffer");
}

static void test_invalid_damage(int32_t x, int32_t y, int32_t w, int32_t h) {
	char what[96];
	snprintf(what, sizeof(what), "invalid_buffer_damage %d,%d %dx%d", x, y, w, h);
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, ctx.buffer);
		zcc_frame_damage_buffer(frame, 0, 0, 1, 1);
		zt_check_no_error(ctx.client, "valid damage");
		zcc_frame_damage_buffer(frame, x, y, w, h);
		zt_check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_INVALID_BUFFER_DAMAGE, what);
		zcc_frame_destroy(frame);
	}
	zt_ctx_close(&ctx);
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
	struct zt_ctx ctx;
	struct zcc_buffer *bad = NULL;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
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
		zt_check_error(ctx.client, &ext_image_copy_capture_frame_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_ALREADY_CAPTURED, what);
		zcc_frame_destroy(frame);
	}
	zcc_buffer_destroy(bad);
	zt_ctx_close(&ctx);
	check_recovers(what);
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
		struct zt_raw_session first;
		zt_raw_session_init(&first,
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor));
		zcc_client_dispatch_until(client, zt_raw_session_started, &first, WAIT_MS);
		ZT_CHECK(first.batches == 1 && !first.stopped && first.width > 0 && first.height > 0,
			"cursor capture session: %u batches, %ux%u, stopped %u", first.batches,
			first.width, first.height, first.stopped);
		zt_check_no_error(client, "first cursor capture session");
		struct ext_image_copy_capture_session_v1 *second =
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor);
		zt_check_error(client, &ext_image_copy_capture_cursor_session_v1_interface,
			EXT_IMAGE_COPY_CAPTURE_CURSOR_SESSION_V1_ERROR_DUPLICATE_SESSION, what);
		ext_image_copy_capture_session_v1_destroy(second);
		zt_raw_session_finish(&first);
	}
	cursor_session_destroy(cursor, seat, pointer);
	ext_image_capture_source_v1_destroy(source);
	zcc_client_destroy(client);
	check_recovers(what);
}

/* Failure reasons */

static bool wl_shm_has_format(struct zcc_client *client, uint32_t format) {
	for (size_t i = 0; i < client->n_wl_shm_formats; i++) {
		if (client->wl_shm_formats[i] == format) {
			return true;
		}
	}
	return false;
}

/*
 * A format wl_shm takes but the session does not advertise, 0 if none:
 * RGB565 or ARGB2101010 (wlroots' pixman and GLES2 renderers read both from
 * shm), else any other of known size.
 */
static int shm_bytes_per_pixel(uint32_t format) {
	switch (format) {
	case WL_SHM_FORMAT_RGB565:
		return 2;
	case WL_SHM_FORMAT_ARGB2101010:
		return 4;
	default:
		return zcc_format_bytes_per_pixel(format);
	}
}

static uint32_t unadvertised_format(struct zcc_client *client, const struct zcc_constraints *c) {
	static const uint32_t preferred[] = {WL_SHM_FORMAT_RGB565, WL_SHM_FORMAT_ARGB2101010};
	for (size_t i = 0; i < sizeof(preferred) / sizeof(preferred[0]); i++) {
		if (wl_shm_has_format(client, preferred[i]) &&
				!zcc_constraints_has_shm_format(c, preferred[i])) {
			return preferred[i];
		}
	}
	for (size_t i = 0; i < client->n_wl_shm_formats; i++) {
		uint32_t f = client->wl_shm_formats[i];
		if (!zcc_constraints_has_shm_format(c, f) && shm_bytes_per_pixel(f) > 0) {
			return f;
		}
	}
	return 0;
}

/*
 * Buffers that zerocap cannot use, though wl_shm took them: the wrong size,
 * a format wl_shm has and the session does not advertise. failed
 * (buffer_constraints), and the session goes on.
 */
static void test_buffer_constraints(void) {
	zt_section("failed: buffer_constraints");
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}
	int32_t w = ctx.buffer->width, h = ctx.buffer->height;
	struct {
		const char *what;
		uint32_t format;
		int32_t width, height;
	} cases[] = {
		{"width + 1", WL_SHM_FORMAT_XRGB8888, w + 1, h},
		{"width - 1", WL_SHM_FORMAT_XRGB8888, w - 1, h},
		{"height + 1", WL_SHM_FORMAT_XRGB8888, w, h + 1},
		{"height - 1", WL_SHM_FORMAT_XRGB8888, w, h - 1},
		{"unadvertised format", 0, w, h},
	};
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	uint32_t format = unadvertised_format(ctx.client, &ctx.session->constraints);
	ZT_CHECK(format != 0, "wl_shm has no format beyond the session's");
	if (format == 0) {
		n_cases--;
	} else {
		fprintf(stderr, "  unadvertised format: %s (0x%08x)\n",
			zcc_format_name(format) != NULL ? zcc_format_name(format) : "?", format);
		cases[n_cases - 1].format = format;
	}
	for (size_t i = 0; i < n_cases; i++) {
		struct zcc_buffer *buffer = zcc_buffer_create(ctx.client, cases[i].format,
			cases[i].width, cases[i].height,
			cases[i].width * shm_bytes_per_pixel(cases[i].format));
		ZT_CHECK(buffer != NULL, "%s: buffer: %s", cases[i].what,
			zcc_client_last_error(ctx.client));
		/* wl_shm takes it: what follows is zerocap's own check. */
		zt_check_no_error(ctx.client, cases[i].what);
		if (buffer != NULL) {
			zt_check_failed(ctx.session, buffer, ZCC_FAILURE_BUFFER_CONSTRAINTS, cases[i].what);
		}
		zcc_buffer_destroy(buffer);
		zt_check_no_error(ctx.client, cases[i].what);
	}
	/* The session stays usable. */
	zt_check_ready(ctx.session, ctx.buffer, "correct buffer after failures");
	zt_ctx_close(&ctx);
	check_recovers("buffer_constraints");
}

/*
 * Buffers wl_shm refuses (wlroots serves wl_shm): a stride below the width,
 * a format the renderer cannot read. The error comes at creation, on the
 * pool, before zerocap sees the buffer; a frame that uses it at once changes
 * nothing.
 */
static void test_wl_shm_refuses(const char *what, uint32_t format, int32_t stride_pixels,
		uint32_t code) {
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		int32_t w = ctx.buffer->width, h = ctx.buffer->height;
		struct zt_shm_buffer shm;
		zt_shm_buffer_create(&shm, ctx.client, &(struct zt_shm_layout){
			.file_size = (off_t)w * h * 4, .pool_size = w * h * 4,
			.width = w, .height = h, .stride = stride_pixels * 4, .format = format,
		});
		struct zcc_frame *frame = zcc_frame_create(ctx.session);
		ext_image_copy_capture_frame_v1_attach_buffer(frame->frame, shm.wl_buffer);
		zcc_frame_damage_buffer(frame, 0, 0, w, h);
		zcc_frame_capture(frame);
		zt_check_error(ctx.client, &wl_shm_pool_interface, code, what);
		zcc_frame_destroy(frame);
		zt_shm_buffer_finish(&shm);
	}
	zt_ctx_close(&ctx);
	check_recovers(what);
}

static void test_wl_shm_errors(void) {
	zt_section("wl_shm errors for buffers zerocap never sees");
	struct zt_ctx ctx;
	if (!zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_ctx_close(&ctx);
		return;
	}
	int32_t w = ctx.buffer->width;
	/* Formats no wlroots renderer reads from shm. */
	static const uint32_t candidates[] = {
		WL_SHM_FORMAT_YUYV, WL_SHM_FORMAT_NV12, WL_SHM_FORMAT_C8,
	};
	uint32_t refused = 0;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && refused == 0; i++) {
		if (!wl_shm_has_format(ctx.client, candidates[i])) {
			refused = candidates[i];
		}
	}
	zt_ctx_close(&ctx);
	test_wl_shm_refuses("stride too small", WL_SHM_FORMAT_XRGB8888, w - 1,
		WL_SHM_ERROR_INVALID_STRIDE);
	ZT_CHECK(refused != 0, "wl_shm announces YUYV, NV12 and C8");
	if (refused != 0) {
		fprintf(stderr, "  a format wl_shm does not announce: 0x%08x\n", refused);
		test_wl_shm_refuses("format wl_shm does not take", refused, w,
			WL_SHM_ERROR_INVALID_FORMAT);
	}
}

/* Output removed while a frame waits: failed(stopped), stopped, and it stays so. */
static void test_stopped_by_output_removal(void) {
	zt_section("failed: stopped (output removed)");
	char name[64];
	if (!zt_output_add(&comp, 320, 240, name, sizeof(name))) {
		return;
	}
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, name, 0)) {
		zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
		struct zcc_frame *frame = ctx_frame(&ctx);
		zcc_frame_capture(frame);
		zt_check_waiting(ctx.client, frame, "third frame");
		zt_output_remove(&comp, name);
		zt_check_frame_failed(frame, ZCC_FAILURE_STOPPED, "waiting frame, output removed");
		zcc_client_dispatch_until(ctx.client, zt_session_stopped, ctx.session, WAIT_MS);
		ZT_CHECK(ctx.session->stopped, "session did not get stopped");
		zcc_frame_destroy(frame);

		zt_check_failed(ctx.session, ctx.buffer, ZCC_FAILURE_STOPPED, "frame on stopped session");
		/* A frame that is never captured, on a stopped session. */
		frame = ctx_frame(&ctx);
		zcc_frame_destroy(frame);
		zt_check_no_error(ctx.client, "requests on a stopped session");
		ZT_CHECK(ctx.session->events_after_stopped == 0, "%u session events after stopped",
			ctx.session->events_after_stopped);
	} else {
		zt_output_remove(&comp, name);
	}
	zt_ctx_close(&ctx);
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
	zt_check_failed(session, buffer, ZCC_FAILURE_STOPPED, what);
	zcc_buffer_destroy(buffer);

	/* A cursor session on the same source hands out a stopped session too. */
	struct wl_seat *seat = NULL;
	struct wl_pointer *pointer = NULL;
	struct ext_image_copy_capture_cursor_session_v1 *cursor =
		cursor_session_create(client, source, &seat, &pointer);
	if (cursor != NULL) {
		struct zt_raw_session raw;
		zt_raw_session_init(&raw,
			ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor));
		zcc_client_dispatch_until(client, zt_raw_session_started, &raw, WAIT_MS);
		ZT_CHECK(raw.stopped && raw.batches == 0, "%s: cursor capture session should "
			"start stopped (stopped %u, %u batches)", what, raw.stopped, raw.batches);
		zt_raw_session_finish(&raw);
	}
	cursor_session_destroy(cursor, seat, pointer);
	zcc_session_destroy(session);
	zt_check_no_error(client, what);
}

static void test_dead_sources(void) {
	zt_section("inert sources");
	char name[64];
	if (!zt_output_add(&comp, 320, 240, name, sizeof(name))) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		zt_output_remove(&comp, name);
		return;
	}
	struct zcc_output *output = zcc_client_find_output(client, name);
	ZT_CHECK(output != NULL, "no output %s", name);
	if (output == NULL) {
		zt_output_remove(&comp, name);
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
	zt_check_no_error(client, "source created");
	zcc_session_wait_constraints(orphan, WAIT_MS);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
		320, 240, 0);
	zt_check_ready(orphan, buffer, "session after its source object was destroyed");

	zt_output_remove(&comp, name);
	/*
	 * The client has not seen global_remove yet: this source is created
	 * from a wl_output the compositor already made inert.
	 */
	struct ext_image_capture_source_v1 *late =
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	zt_check_no_error(client, "sources of a removed output");

	check_starts_stopped(client, early, "source whose output was removed");
	check_starts_stopped(client, late, "source created on a removed output");
	zcc_client_dispatch_until(client, zt_session_stopped, orphan, WAIT_MS);
	ZT_CHECK(orphan->stopped, "session without source object did not get stopped");
	zt_check_failed(orphan, buffer, ZCC_FAILURE_STOPPED, "orphan session after removal");

	ext_image_capture_source_v1_destroy(early);
	ext_image_capture_source_v1_destroy(late);
	zcc_session_destroy(orphan);
	zcc_buffer_destroy(buffer);
	zt_check_no_error(client, "destroying inert objects");
	zcc_client_destroy(client);
	check_recovers("inert sources");
}

/*
 * The buffer of a waiting frame is destroyed: failed(buffer_constraints), so
 * that the client allocates again and goes on (xdg-desktop-portal-wlr ends a
 * share on unknown). failed(unknown), for failures that last, is in
 * test-faults.
 */
static void test_buffer_gone(void) {
	zt_section("failed: buffer destroyed");
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, &comp, NULL, 0)) {
		zt_opening_frames(ctx.session, ctx.buffer, "opening frames");
		struct zcc_frame *frame = ctx_frame(&ctx);
		zcc_frame_capture(frame);
		zt_check_waiting(ctx.client, frame, "third frame");
		wl_buffer_destroy(ctx.buffer->wl_buffer);
		ctx.buffer->wl_buffer = NULL;
		wl_display_flush(ctx.client->display);
		zt_check_frame_failed(frame, ZCC_FAILURE_BUFFER_CONSTRAINTS,
			"buffer destroyed while waiting");
		zcc_frame_destroy(frame);
		zt_check_no_error(ctx.client, "after the failure");

		/* The session stays usable with a new buffer. */
		struct zcc_buffer *buffer = zcc_buffer_create(ctx.client, WL_SHM_FORMAT_XRGB8888,
			ctx.buffer->width, ctx.buffer->height, 0);
		frame = zcc_frame_create(ctx.session);
		zcc_frame_attach_buffer(frame, buffer);
		zcc_frame_capture(frame);
		zt_check_waiting(ctx.client, frame, "frame after failed(unknown)");
		ZT_CHECK(zt_cmd(&comp, "rect errors-unknown 0 0 16 16 ff0000ff"), "rect");
		enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
		ZT_CHECK(status == ZCC_FRAME_READY, "frame after failed(unknown): %s",
			zcc_frame_status_str(status));
		ZT_CHECK(zt_cmd(&comp, "remove errors-unknown"), "remove rect");
		zcc_frame_destroy(frame);
		zcc_buffer_destroy(buffer);
	}
	zt_ctx_close(&ctx);
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
	test_wl_shm_errors();
	test_stopped_by_output_removal();
	test_dead_sources();
	test_buffer_gone();

	zt_compositor_stop(&comp);
	return zt_finish();
}
