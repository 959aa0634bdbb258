#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "wl-helpers.h"

int zt_wait_ms = 5000;
int zt_quiet_ms = 500;

/* Returns NULL on success, else the step that failed. */
static const char *ctx_open(struct zt_ctx *ctx, struct zt_compositor *comp,
		const char *output_name, uint32_t options) {
	memset(ctx, 0, sizeof(*ctx));
	ctx->client = zcc_client_connect(comp->socket);
	if (ctx->client == NULL) {
		return "no connection";
	}
	struct zcc_output *output = zcc_client_find_output(ctx->client, output_name);
	if (output == NULL) {
		return "no such output";
	}
	ctx->session = zcc_session_create(ctx->client, output, options);
	if (ctx->session == NULL) {
		return "no session";
	}
	if (zcc_session_wait_constraints(ctx->session, zt_wait_ms) != 1) {
		return "no constraints";
	}
	if (ctx->session->stopped) {
		return "stopped";
	}
	const struct zcc_constraints *c = &ctx->session->constraints;
	ctx->buffer = zcc_buffer_create(ctx->client, WL_SHM_FORMAT_XRGB8888,
		c->width, c->height, 0);
	return ctx->buffer == NULL ? "no buffer" : NULL;
}

bool zt_ctx_open_quiet(struct zt_ctx *ctx, struct zt_compositor *comp,
		const char *output_name, uint32_t options) {
	return ctx_open(ctx, comp, output_name, options) == NULL;
}

bool zt_ctx_open(struct zt_ctx *ctx, struct zt_compositor *comp, const char *output_name,
		uint32_t options) {
	const char *failed = ctx_open(ctx, comp, output_name, options);
	ZT_CHECK(failed == NULL, "cannot open a capture session on %s: %s (%s)",
		output_name != NULL ? output_name : "the first output", failed,
		ctx->client != NULL ? zcc_client_last_error(ctx->client) : "-");
	return failed == NULL;
}

void zt_ctx_close(struct zt_ctx *ctx) {
	zcc_buffer_destroy(ctx->buffer);
	zcc_session_destroy(ctx->session);
	zcc_client_destroy(ctx->client);
	memset(ctx, 0, sizeof(*ctx));
}

int zt_baseline_fds(struct zt_compositor *comp) {
	struct zt_ctx ctx;
	if (zt_ctx_open(&ctx, comp, NULL, 0)) {
		zt_check_ready(ctx.session, ctx.buffer, "first client");
		/* Otherwise the checks on mappings would see nothing, ever. */
		ZT_CHECK(zt_count_maps(comp->pid, "zcclient-shm") > 0,
			"the compositor's mappings of client shm are not seen");
	}
	zt_ctx_close(&ctx);
	zt_cmd(comp, "sync");
	usleep(100000);
	int fds = zt_count_fds(comp->pid);
	ZT_CHECK(fds > 0, "cannot count the compositor's fds");
	return fds;
}

struct zcc_session *zt_session_open(struct zcc_client *client, struct zcc_output *output,
		uint32_t options) {
	struct zcc_session *session = zcc_session_create(client, output, options);
	ZT_CHECK(session != NULL, "session: %s", zcc_client_last_error(client));
	if (session == NULL) {
		return NULL;
	}
	int ret = zcc_session_wait_constraints(session, zt_wait_ms);
	ZT_CHECK(ret == 1 && !session->stopped, "constraints (wait %d, stopped %d)", ret,
		session->stopped);
	return session;
}

struct zcc_buffer *zt_session_buffer(struct zcc_session *session) {
	struct zcc_buffer *buffer = zcc_buffer_create(session->client, WL_SHM_FORMAT_XRGB8888,
		(int32_t)session->constraints.width, (int32_t)session->constraints.height, 0);
	ZT_CHECK(buffer != NULL, "buffer: %s", zcc_client_last_error(session->client));
	return buffer;
}

struct zcc_frame *zt_frame_start(struct zcc_session *session, struct zcc_buffer *buffer) {
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
	zcc_frame_capture(frame);
	return frame;
}

bool zt_opening_frames(struct zcc_session *session, struct zcc_buffer *buffer,
		const char *what) {
	static const char *const names[] = {"first", "second"};
	const struct zcc_rect all = {0, 0, buffer->width, buffer->height};
	for (int i = 0; i < 2; i++) {
		struct zcc_capture_result r;
		enum zcc_frame_status status =
			zcc_session_capture(session, buffer, NULL, 0, zt_wait_ms, &r);
		pixman_region32_t damage;
		zt_region_from_result(&damage, &r);
		bool full = zt_region_has_rect(&damage, all);
		pixman_region32_fini(&damage);
		if (what != NULL) {
			ZT_CHECK(status == ZCC_FRAME_READY, "%s: %s frame %s (%s)", what, names[i],
				zcc_frame_status_str(status), status == ZCC_FRAME_FAILED ?
					zcc_failure_reason_str(r.failure_reason) : "-");
			ZT_CHECK(status != ZCC_FRAME_READY || full,
				"%s: %s frame: damage is not the whole %dx%d buffer", what, names[i],
				buffer->width, buffer->height);
			if (status == ZCC_FRAME_READY && !full) {
				zt_print_damage(names[i], &r);
			}
		}
		zcc_capture_result_finish(&r);
		if (status != ZCC_FRAME_READY || !full) {
			return false;
		}
	}
	return true;
}

enum zcc_frame_status zt_capture(struct zcc_session *session, struct zcc_buffer *buffer,
		uint32_t *reason) {
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, zt_wait_ms, &result);
	if (reason != NULL) {
		*reason = result.failure_reason;
	}
	zcc_capture_result_finish(&result);
	return status;
}

void zt_check_ready(struct zcc_session *session, struct zcc_buffer *buffer, const char *what) {
	uint32_t reason;
	enum zcc_frame_status status = zt_capture(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s)", what,
		zcc_frame_status_str(status), zcc_failure_reason_str(reason));
}

void zt_check_failed(struct zcc_session *session, struct zcc_buffer *buffer, uint32_t expected,
		const char *what) {
	uint32_t reason;
	enum zcc_frame_status status = zt_capture(session, buffer, &reason);
	ZT_CHECK(status == ZCC_FRAME_FAILED && reason == expected,
		"%s: expected failed(%s), got %s (%s)", what, zcc_failure_reason_str(expected),
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(reason) : "-");
}

void zt_check_frame_failed(struct zcc_frame *frame, uint32_t expected, const char *what) {
	enum zcc_frame_status status = zcc_frame_wait(frame, zt_wait_ms);
	ZT_CHECK(status == ZCC_FRAME_FAILED && frame->result.failure_reason == expected,
		"%s: expected failed(%s), got %s (%s)", what, zcc_failure_reason_str(expected),
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ?
			zcc_failure_reason_str(frame->result.failure_reason) : "-");
	ZT_CHECK(frame->result.events_after_done == 0, "%s: %u events after failed", what,
		frame->result.events_after_done);
}

void zt_check_waiting(struct zcc_client *client, struct zcc_frame *frame, const char *what) {
	zcc_client_dispatch_for(client, zt_quiet_ms);
	ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING, "%s: frame should wait, it is %s",
		what, zcc_frame_status_str(frame->result.status));
}

void zt_check_no_error(struct zcc_client *client, const char *what) {
	zcc_client_roundtrip(client, zt_wait_ms);
	struct zcc_error err;
	char buf[160];
	bool failed = zcc_client_get_error(client, &err);
	ZT_CHECK(!failed, "%s: %s", what, zcc_error_str(&err, buf, sizeof(buf)));
}

void zt_check_error(struct zcc_client *client, const struct wl_interface *interface,
		uint32_t code, const char *what) {
	ZT_CHECK(zcc_client_expect_protocol_error(client, interface, code), "%s: %s", what,
		zcc_client_last_error(client));
}

void zt_region_from_result(pixman_region32_t *region, const struct zcc_capture_result *r) {
	pixman_region32_init(region);
	for (size_t i = 0; i < r->n_damage; i++) {
		const struct zcc_rect *d = &r->damage[i];
		if (d->width > 0 && d->height > 0) {
			pixman_region32_union_rect(region, region, d->x, d->y,
				(unsigned)d->width, (unsigned)d->height);
		}
	}
}

bool zt_region_has_rect(pixman_region32_t *region, struct zcc_rect rect) {
	pixman_box32_t box = {rect.x, rect.y, rect.x + rect.width, rect.y + rect.height};
	return pixman_region32_contains_rectangle(region, &box) == PIXMAN_REGION_IN;
}

bool zt_region_touches_rect(pixman_region32_t *region, struct zcc_rect rect) {
	pixman_box32_t box = {rect.x, rect.y, rect.x + rect.width, rect.y + rect.height};
	return pixman_region32_contains_rectangle(region, &box) != PIXMAN_REGION_OUT;
}

void zt_print_damage(const char *what, const struct zcc_capture_result *r) {
	fprintf(stderr, "  %s damage:", what);
	for (size_t i = 0; i < r->n_damage; i++) {
		fprintf(stderr, " %d,%d %dx%d", r->damage[i].x, r->damage[i].y,
			r->damage[i].width, r->damage[i].height);
	}
	fprintf(stderr, "\n");
}

bool zt_session_stopped(void *data) {
	return ((struct zcc_session *)data)->stopped;
}

/* Raw capture sessions */

static void raw_buffer_size(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t width, uint32_t height) {
	struct zt_raw_session *raw = data;
	raw->buffer_size_events++;
	raw->width = width;
	raw->height = height;
}

static void raw_shm_format(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t format) {
	struct zt_raw_session *raw = data;
	raw->argb8888 |= format == WL_SHM_FORMAT_ARGB8888;
}

static void raw_dmabuf_device(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		struct wl_array *device) {
}

static void raw_dmabuf_format(void *data, struct ext_image_copy_capture_session_v1 *proxy,
		uint32_t format, struct wl_array *modifiers) {
}

static void raw_done(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	((struct zt_raw_session *)data)->batches++;
}

static void raw_stopped(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	((struct zt_raw_session *)data)->stopped++;
}

static const struct ext_image_copy_capture_session_v1_listener raw_session_listener = {
	.buffer_size = raw_buffer_size,
	.shm_format = raw_shm_format,
	.dmabuf_device = raw_dmabuf_device,
	.dmabuf_format = raw_dmabuf_format,
	.done = raw_done,
	.stopped = raw_stopped,
};

void zt_raw_session_init(struct zt_raw_session *raw,
		struct ext_image_copy_capture_session_v1 *proxy) {
	memset(raw, 0, sizeof(*raw));
	raw->proxy = proxy;
	ext_image_copy_capture_session_v1_add_listener(proxy, &raw_session_listener, raw);
}

void zt_raw_session_finish(struct zt_raw_session *raw) {
	if (raw->proxy != NULL) {
		ext_image_copy_capture_session_v1_destroy(raw->proxy);
	}
	memset(raw, 0, sizeof(*raw));
}

bool zt_raw_session_started(void *data) {
	struct zt_raw_session *raw = data;
	return raw->batches > 0 || raw->stopped > 0;
}

/* Raw frames */

static void raw_frame_transform(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t transform) {
	struct zt_raw_frame *frame = data;
	frame->transforms++;
	frame->transform = transform;
}

static void raw_frame_damage(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		int32_t x, int32_t y, int32_t width, int32_t height) {
	struct zt_raw_frame *frame = data;
	if (width > 0 && height > 0) {
		pixman_region32_union_rect(&frame->damage, &frame->damage, x, y, (unsigned)width,
			(unsigned)height);
	}
}

static void raw_frame_presentation_time(void *data,
		struct ext_image_copy_capture_frame_v1 *proxy, uint32_t tv_sec_hi, uint32_t tv_sec_lo,
		uint32_t tv_nsec) {
}

static void raw_frame_ready(void *data, struct ext_image_copy_capture_frame_v1 *proxy) {
	((struct zt_raw_frame *)data)->ready++;
}

static void raw_frame_failed(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t reason) {
	struct zt_raw_frame *frame = data;
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

void zt_raw_frame_start(struct zt_raw_frame *frame,
		struct ext_image_copy_capture_session_v1 *session, struct wl_buffer *buffer,
		int32_t damage_width, int32_t damage_height) {
	memset(frame, 0, sizeof(*frame));
	pixman_region32_init(&frame->damage);
	frame->proxy = ext_image_copy_capture_session_v1_create_frame(session);
	ext_image_copy_capture_frame_v1_add_listener(frame->proxy, &raw_frame_listener, frame);
	ext_image_copy_capture_frame_v1_attach_buffer(frame->proxy, buffer);
	if (damage_width > 0 && damage_height > 0) {
		ext_image_copy_capture_frame_v1_damage_buffer(frame->proxy, 0, 0, damage_width,
			damage_height);
	}
	ext_image_copy_capture_frame_v1_capture(frame->proxy);
}

void zt_raw_frame_finish(struct zt_raw_frame *frame) {
	if (frame->proxy != NULL) {
		ext_image_copy_capture_frame_v1_destroy(frame->proxy);
	}
	pixman_region32_fini(&frame->damage);
	memset(frame, 0, sizeof(*frame));
}

bool zt_raw_frame_done(void *data) {
	struct zt_raw_frame *frame = data;
	return frame->ready + frame->failed > 0;
}

bool zt_raw_opening_frames(struct zcc_client *client, struct zt_raw_session *session,
		struct wl_buffer *buffer, int32_t width, int32_t height, const char *what) {
	static const char *const names[] = {"first", "second"};
	const struct zcc_rect all = {0, 0, width, height};
	for (int i = 0; i < 2; i++) {
		struct zt_raw_frame frame;
		zt_raw_frame_start(&frame, session->proxy, buffer, width, height);
		int ret = zcc_client_dispatch_until(client, zt_raw_frame_done, &frame, zt_wait_ms);
		bool ready = ret == 1 && frame.ready == 1 && frame.failed == 0;
		bool full = zt_region_has_rect(&frame.damage, all);
		if (what != NULL) {
			ZT_CHECK(ready, "%s: %s frame: ready %u, failed %u (reason %u)%s", what,
				names[i], frame.ready, frame.failed, frame.reason,
				ret == 1 ? "" : ret == 0 ? ", timed out" : ", connection failed");
			ZT_CHECK(!ready || full, "%s: %s frame: damage is not the whole %dx%d buffer",
				what, names[i], width, height);
		}
		zt_raw_frame_finish(&frame);
		if (!ready || !full) {
			return false;
		}
	}
	return true;
}

/* shm the test controls */

bool zt_shm_buffer_create(struct zt_shm_buffer *shm, struct zcc_client *client,
		const struct zt_shm_layout *layout) {
	memset(shm, 0, sizeof(*shm));
	shm->layout = *layout;
	shm->fd = memfd_create("zt-shm", MFD_CLOEXEC);
	if (shm->fd < 0 || ftruncate(shm->fd, layout->file_size) != 0) {
		ZT_CHECK(false, "memfd: %s", strerror(errno));
		return false;
	}
	shm->pool = wl_shm_create_pool(client->shm, shm->fd, layout->pool_size);
	shm->wl_buffer = wl_shm_pool_create_buffer(shm->pool, layout->offset, layout->width,
		layout->height, layout->stride, layout->format);
	wl_display_flush(client->display);
	return true;
}

bool zt_shm_buffer_create_xrgb(struct zt_shm_buffer *shm, struct zcc_client *client,
		int32_t width, int32_t height) {
	int32_t size = width * height * 4;
	const struct zt_shm_layout layout = {
		.file_size = size, .pool_size = size,
		.width = width, .height = height, .stride = width * 4,
		.format = WL_SHM_FORMAT_XRGB8888,
	};
	return zt_shm_buffer_create(shm, client, &layout);
}

void zt_shm_buffer_truncate(struct zt_shm_buffer *shm, off_t size) {
	ZT_CHECK(ftruncate(shm->fd, size) == 0, "ftruncate: %s", strerror(errno));
}

void zt_shm_buffer_finish(struct zt_shm_buffer *shm) {
	if (shm->wl_buffer != NULL) {
		wl_buffer_destroy(shm->wl_buffer);
	}
	if (shm->pool != NULL) {
		wl_shm_pool_destroy(shm->pool);
	}
	if (shm->fd > 0) {
		close(shm->fd);
	}
	memset(shm, 0, sizeof(*shm));
}

/* Cursor capture sessions */

/* A cursor session on the source of output or, when that is NULL, of toplevel. */
static bool cursor_capture_open(struct zt_cursor_capture *cc, struct zcc_client *client,
		struct zcc_output *output, struct zcc_toplevel *toplevel) {
	memset(cc, 0, sizeof(*cc));
	cc->seat = zcc_client_bind(client, &wl_seat_interface, 1);
	if ((output == NULL && toplevel == NULL) || cc->seat == NULL) {
		return false;
	}
	if (output != NULL) {
		cc->source = ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	} else {
		cc->source = zcc_toplevel_create_source(toplevel);
	}
	if (cc->source == NULL) {
		return false;
	}
	cc->pointer = wl_seat_get_pointer(cc->seat);
	cc->cursor = ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy_capture_manager, cc->source, cc->pointer);
	zt_raw_session_init(&cc->session,
		ext_image_copy_capture_cursor_session_v1_get_capture_session(cc->cursor));
	return zcc_client_dispatch_until(client, zt_raw_session_started, &cc->session,
		zt_wait_ms) == 1;
}

bool zt_cursor_capture_open(struct zt_cursor_capture *cc, struct zcc_client *client,
		struct zcc_output *output) {
	return output != NULL && cursor_capture_open(cc, client, output, NULL);
}

bool zt_cursor_capture_open_toplevel(struct zt_cursor_capture *cc, struct zcc_client *client,
		struct zcc_toplevel *toplevel) {
	return toplevel != NULL && cursor_capture_open(cc, client, NULL, toplevel);
}

void zt_cursor_capture_close(struct zt_cursor_capture *cc) {
	if (cc->session.proxy != NULL) {
		zt_raw_session_finish(&cc->session);
		ext_image_copy_capture_cursor_session_v1_destroy(cc->cursor);
		wl_pointer_destroy(cc->pointer);
	}
	if (cc->source != NULL) {
		ext_image_capture_source_v1_destroy(cc->source);
	}
	if (cc->seat != NULL) {
		wl_seat_destroy(cc->seat);
	}
	memset(cc, 0, sizeof(*cc));
}

/* Windows (ext-foreign-toplevel-list-v1) */

struct toplevel_wait {
	struct zcc_client *client;
	const char *app_id, *title;
	struct zcc_toplevel *found;
};

static bool toplevel_listed(void *data) {
	struct toplevel_wait *wait = data;
	struct zcc_toplevel *toplevel;
	wl_list_for_each(toplevel, &wait->client->toplevels, link) {
		if (toplevel->done && !toplevel->closed &&
				strcmp(toplevel->app_id, wait->app_id) == 0 &&
				(wait->title == NULL ||
					strcmp(toplevel->title, wait->title) == 0)) {
			wait->found = toplevel;
			return true;
		}
	}
	return false;
}

struct zcc_toplevel *zt_toplevel_wait(struct zcc_client *client, const char *app_id,
		const char *title) {
	struct toplevel_wait wait = {.client = client, .app_id = app_id, .title = title};
	zcc_client_dispatch_until(client, toplevel_listed, &wait, zt_wait_ms);
	ZT_CHECK(wait.found != NULL, "no toplevel with app_id %s%s%s", app_id,
		title != NULL ? " and title " : "", title != NULL ? title : "");
	return wait.found;
}

bool zt_toplevel_closed(void *data) {
	return ((struct zcc_toplevel *)data)->closed;
}

bool zt_identifier_valid(const char *identifier) {
	size_t len = strlen(identifier);
	if (len == 0 || len > 32) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (identifier[i] < 0x21 || identifier[i] > 0x7e) {
			return false;
		}
	}
	return true;
}
