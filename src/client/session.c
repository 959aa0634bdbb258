#include <stdlib.h>
#include <string.h>
#include <pixman.h>
#include "client-private.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"

void zcc_constraints_finish(struct zcc_constraints *c) {
	for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
		free(c->dmabuf_formats[i].modifiers);
	}
	free(c->dmabuf_formats);
	free(c->shm_formats);
	memset(c, 0, sizeof(*c));
}

bool zcc_constraints_has_shm_format(const struct zcc_constraints *c, uint32_t format) {
	for (size_t i = 0; i < c->n_shm_formats; i++) {
		if (c->shm_formats[i] == format) {
			return true;
		}
	}
	return false;
}

static void note_session_event(struct zcc_session *session) {
	if (session->stopped) {
		session->events_after_stopped++;
	}
}

static void session_handle_buffer_size(void *data,
		struct ext_image_copy_capture_session_v1 *proxy, uint32_t width, uint32_t height) {
	struct zcc_session *session = data;
	note_session_event(session);
	session->pending.width = width;
	session->pending.height = height;
	session->pending.buffer_size_events++;
}

static void session_handle_shm_format(void *data,
		struct ext_image_copy_capture_session_v1 *proxy, uint32_t format) {
	struct zcc_session *session = data;
	note_session_event(session);
	struct zcc_constraints *c = &session->pending;
	uint32_t *formats = realloc(c->shm_formats, (c->n_shm_formats + 1) * sizeof(*formats));
	if (formats == NULL) {
		return;
	}
	formats[c->n_shm_formats++] = format;
	c->shm_formats = formats;
}

static void session_handle_dmabuf_device(void *data,
		struct ext_image_copy_capture_session_v1 *proxy, struct wl_array *device) {
	struct zcc_session *session = data;
	note_session_event(session);
	session->pending.dmabuf_device_events++;
	if (device->size == sizeof(dev_t)) {
		memcpy(&session->pending.dmabuf_device, device->data, sizeof(dev_t));
		session->pending.has_dmabuf_device = true;
	}
}

static void session_handle_dmabuf_format(void *data,
		struct ext_image_copy_capture_session_v1 *proxy, uint32_t format,
		struct wl_array *modifiers) {
	struct zcc_session *session = data;
	note_session_event(session);
	struct zcc_constraints *c = &session->pending;
	struct zcc_dmabuf_format *formats = realloc(c->dmabuf_formats,
		(c->n_dmabuf_formats + 1) * sizeof(*formats));
	if (formats == NULL) {
		return;
	}
	c->dmabuf_formats = formats;
	struct zcc_dmabuf_format *f = &formats[c->n_dmabuf_formats];
	memset(f, 0, sizeof(*f));
	f->format = format;
	size_t n = modifiers->size / sizeof(uint64_t);
	if (n > 0) {
		f->modifiers = calloc(n, sizeof(uint64_t));
		if (f->modifiers == NULL) {
			return;
		}
		memcpy(f->modifiers, modifiers->data, n * sizeof(uint64_t));
		f->n_modifiers = n;
	}
	c->n_dmabuf_formats++;
}

static void session_handle_done(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	struct zcc_session *session = data;
	note_session_event(session);
	zcc_constraints_finish(&session->constraints);
	session->constraints = session->pending;
	memset(&session->pending, 0, sizeof(session->pending));
	session->constraint_batches++;
	session->constraints_resent = session->constraint_batches > 1;
}

static void session_handle_stopped(void *data, struct ext_image_copy_capture_session_v1 *proxy) {
	struct zcc_session *session = data;
	note_session_event(session);
	session->stopped = true;
}

static const struct ext_image_copy_capture_session_v1_listener session_listener = {
	.buffer_size = session_handle_buffer_size,
	.shm_format = session_handle_shm_format,
	.dmabuf_device = session_handle_dmabuf_device,
	.dmabuf_format = session_handle_dmabuf_format,
	.done = session_handle_done,
	.stopped = session_handle_stopped,
};

struct zcc_session *zcc_session_create_for_source(struct zcc_client *client,
		struct ext_image_capture_source_v1 *source, uint32_t options) {
	if (client->copy_capture_manager == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			ext_image_copy_capture_manager_v1_interface.name);
		return NULL;
	}
	struct zcc_session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		zcc_client_set_error(client, "out of memory");
		return NULL;
	}
	session->client = client;
	session->source = source;
	session->options = options;
	wl_list_init(&session->frames);
	session->session = ext_image_copy_capture_manager_v1_create_session(
		client->copy_capture_manager, source, options);
	ext_image_copy_capture_session_v1_add_listener(session->session, &session_listener,
		session);
	wl_display_flush(client->display);
	return session;
}

struct zcc_session *zcc_session_create(struct zcc_client *client, struct zcc_output *output,
		uint32_t options) {
	if (client->output_source_manager == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			ext_output_image_capture_source_manager_v1_interface.name);
		return NULL;
	}
	if (output == NULL || output->wl_output == NULL) {
		zcc_client_set_error(client, "no such output");
		return NULL;
	}
	if (client->copy_capture_manager == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			ext_image_copy_capture_manager_v1_interface.name);
		return NULL;
	}
	struct ext_image_capture_source_v1 *source =
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, output->wl_output);
	struct zcc_session *session = zcc_session_create_for_source(client, source, options);
	if (session == NULL) {
		ext_image_capture_source_v1_destroy(source);
		return NULL;
	}
	session->output = output;
	session->owns_source = true;
	return session;
}

struct ext_image_capture_source_v1 *zcc_toplevel_create_source(struct zcc_toplevel *toplevel) {
	struct zcc_client *client = toplevel->client;
	if (client->toplevel_source_manager == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			ext_foreign_toplevel_image_capture_source_manager_v1_interface.name);
		return NULL;
	}
	return ext_foreign_toplevel_image_capture_source_manager_v1_create_source(
		client->toplevel_source_manager, toplevel->handle);
}

struct zcc_session *zcc_session_create_for_toplevel(struct zcc_client *client,
		struct zcc_toplevel *toplevel, uint32_t options) {
	if (toplevel == NULL) {
		zcc_client_set_error(client, "no such toplevel");
		return NULL;
	}
	if (client->copy_capture_manager == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			ext_image_copy_capture_manager_v1_interface.name);
		return NULL;
	}
	struct zcc_session *session = zcc_session_create_owning(client,
		zcc_toplevel_create_source(toplevel), options);
	if (session != NULL) {
		session->toplevel = toplevel;
	}
	return session;
}

struct zcc_session *zcc_session_create_owning(struct zcc_client *client,
		struct ext_image_capture_source_v1 *source, uint32_t options) {
	if (source == NULL) {
		return NULL;
	}
	struct zcc_session *session = zcc_session_create_for_source(client, source, options);
	if (session == NULL) {
		ext_image_capture_source_v1_destroy(source);
		return NULL;
	}
	session->owns_source = true;
	return session;
}

struct batches_wait {
	struct zcc_session *session;
	unsigned batches;
};

static bool batches_reached(void *data) {
	struct batches_wait *wait = data;
	return wait->session->stopped || wait->session->constraint_batches > wait->batches;
}

int zcc_session_wait_batches(struct zcc_session *session, unsigned batches, int timeout_ms) {
	struct batches_wait wait = {
		.session = session,
		.batches = batches,
	};
	return zcc_client_dispatch_until(session->client, batches_reached, &wait, timeout_ms);
}

int zcc_session_wait_constraints(struct zcc_session *session, int timeout_ms) {
	return zcc_session_wait_batches(session, 0, timeout_ms);
}

void zcc_session_destroy(struct zcc_session *session) {
	if (session == NULL) {
		return;
	}
	struct zcc_frame *frame, *tmp;
	wl_list_for_each_safe(frame, tmp, &session->frames, link) {
		frame->session = NULL;
		wl_list_remove(&frame->link);
		wl_list_init(&frame->link);
	}
	ext_image_copy_capture_session_v1_destroy(session->session);
	if (session->owns_source) {
		ext_image_capture_source_v1_destroy(session->source);
	}
	wl_display_flush(session->client->display);
	zcc_constraints_finish(&session->constraints);
	zcc_constraints_finish(&session->pending);
	free(session);
}

static bool frame_done(const struct zcc_frame *frame) {
	return frame->result.ready_events > 0 || frame->result.failed_events > 0;
}

static void frame_handle_transform(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t transform) {
	struct zcc_frame *frame = data;
	if (frame_done(frame)) {
		frame->result.events_after_done++;
		return;
	}
	frame->result.has_transform = true;
	frame->result.transform = transform;
	frame->result.transform_events++;
}

static void frame_handle_damage(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		int32_t x, int32_t y, int32_t width, int32_t height) {
	struct zcc_frame *frame = data;
	struct zcc_capture_result *r = &frame->result;
	if (frame_done(frame)) {
		r->events_after_done++;
		return;
	}
	struct zcc_rect *rects = realloc(r->damage, (r->n_damage + 1) * sizeof(*rects));
	if (rects == NULL) {
		return;
	}
	rects[r->n_damage++] = (struct zcc_rect){
		.x = x,
		.y = y,
		.width = width,
		.height = height,
	};
	r->damage = rects;
}

static void frame_handle_presentation_time(void *data,
		struct ext_image_copy_capture_frame_v1 *proxy, uint32_t tv_sec_hi, uint32_t tv_sec_lo,
		uint32_t tv_nsec) {
	struct zcc_frame *frame = data;
	if (frame_done(frame)) {
		frame->result.events_after_done++;
		return;
	}
	frame->result.has_presentation_time = true;
	frame->result.presentation_time.tv_sec =
		(time_t)(((uint64_t)tv_sec_hi << 32) | (uint64_t)tv_sec_lo);
	frame->result.presentation_time.tv_nsec = (long)tv_nsec;
	frame->result.presentation_events++;
}

static void finish_frame(struct zcc_frame *frame, enum zcc_frame_status status) {
	struct zcc_capture_result *r = &frame->result;
	r->status = status;
	r->done_ns = zcc_now_ns();
	if (r->capture_ns != 0 && r->done_ns >= r->capture_ns) {
		r->latency_us = (r->done_ns - r->capture_ns) / 1000u;
	}
}

static void frame_handle_ready(void *data, struct ext_image_copy_capture_frame_v1 *proxy) {
	struct zcc_frame *frame = data;
	if (frame_done(frame)) {
		frame->result.events_after_done++;
		frame->result.ready_events++;
		return;
	}
	frame->result.ready_events++;
	finish_frame(frame, ZCC_FRAME_READY);
}

static void frame_handle_failed(void *data, struct ext_image_copy_capture_frame_v1 *proxy,
		uint32_t reason) {
	struct zcc_frame *frame = data;
	if (frame_done(frame)) {
		frame->result.events_after_done++;
		frame->result.failed_events++;
		return;
	}
	frame->result.failed_events++;
	frame->result.failure_reason = reason;
	finish_frame(frame, ZCC_FRAME_FAILED);
}

static const struct ext_image_copy_capture_frame_v1_listener frame_listener = {
	.transform = frame_handle_transform,
	.damage = frame_handle_damage,
	.presentation_time = frame_handle_presentation_time,
	.ready = frame_handle_ready,
	.failed = frame_handle_failed,
};

struct zcc_frame *zcc_frame_create(struct zcc_session *session) {
	struct zcc_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL) {
		zcc_client_set_error(session->client, "out of memory");
		return NULL;
	}
	frame->client = session->client;
	frame->session = session;
	frame->frame = ext_image_copy_capture_session_v1_create_frame(session->session);
	ext_image_copy_capture_frame_v1_add_listener(frame->frame, &frame_listener, frame);
	wl_list_insert(&session->frames, &frame->link);
	return frame;
}

void zcc_frame_attach_buffer(struct zcc_frame *frame, struct zcc_buffer *buffer) {
	if (buffer == NULL) {
		return;
	}
	frame->buffer = buffer;
	ext_image_copy_capture_frame_v1_attach_buffer(frame->frame, buffer->wl_buffer);
}

void zcc_frame_damage_buffer(struct zcc_frame *frame, int32_t x, int32_t y,
		int32_t width, int32_t height) {
	ext_image_copy_capture_frame_v1_damage_buffer(frame->frame, x, y, width, height);
}

void zcc_frame_capture(struct zcc_frame *frame) {
	frame->captured = true;
	frame->result.capture_ns = zcc_now_ns();
	ext_image_copy_capture_frame_v1_capture(frame->frame);
	wl_display_flush(frame->client->display);
}

static bool frame_is_done(void *data) {
	return frame_done(data);
}

enum zcc_frame_status zcc_frame_wait(struct zcc_frame *frame, int timeout_ms) {
	if (frame_done(frame)) {
		return frame->result.status;
	}
	int ret = zcc_client_dispatch_until(frame->client, frame_is_done, frame, timeout_ms);
	if (ret == 1) {
		return frame->result.status;
	}
	return ret == 0 ? ZCC_FRAME_TIMEOUT : ZCC_FRAME_ERROR;
}

void zcc_frame_destroy(struct zcc_frame *frame) {
	if (frame == NULL) {
		return;
	}
	if (frame->frame != NULL) {
		ext_image_copy_capture_frame_v1_destroy(frame->frame);
	}
	wl_list_remove(&frame->link);
	zcc_capture_result_finish(&frame->result);
	free(frame);
}

void zcc_capture_result_finish(struct zcc_capture_result *result) {
	free(result->damage);
	memset(result, 0, sizeof(*result));
}

enum zcc_frame_status zcc_session_capture(struct zcc_session *session,
		struct zcc_buffer *buffer, const struct zcc_rect *damage, size_t n_damage,
		int timeout_ms, struct zcc_capture_result *result) {
	memset(result, 0, sizeof(*result));
	struct zcc_frame *frame = zcc_frame_create(session);
	if (frame == NULL) {
		result->status = ZCC_FRAME_ERROR;
		return result->status;
	}
	zcc_frame_attach_buffer(frame, buffer);
	if (damage == NULL) {
		zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
	} else {
		for (size_t i = 0; i < n_damage; i++) {
			zcc_frame_damage_buffer(frame, damage[i].x, damage[i].y,
				damage[i].width, damage[i].height);
		}
	}
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, timeout_ms);
	*result = frame->result;
	memset(&frame->result, 0, sizeof(frame->result));
	result->status = status;
	if (status == ZCC_FRAME_TIMEOUT) {
		zcc_client_set_error(session->client, "no ready or failed event in time");
	} else if (status == ZCC_FRAME_ERROR) {
		struct zcc_error err;
		char buf[160];
		zcc_client_get_error(session->client, &err);
		zcc_client_set_error(session->client, "%s", zcc_error_str(&err, buf, sizeof(buf)));
	}
	zcc_frame_destroy(frame);
	wl_display_flush(session->client->display);
	return status;
}

const char *zcc_failure_reason_str(uint32_t reason) {
	switch (reason) {
	case ZCC_FAILURE_UNKNOWN:
		return "unknown";
	case ZCC_FAILURE_BUFFER_CONSTRAINTS:
		return "buffer_constraints";
	case ZCC_FAILURE_STOPPED:
		return "stopped";
	}
	return "invalid";
}

const char *zcc_frame_status_str(enum zcc_frame_status status) {
	switch (status) {
	case ZCC_FRAME_PENDING:
		return "pending";
	case ZCC_FRAME_READY:
		return "ready";
	case ZCC_FRAME_FAILED:
		return "failed";
	case ZCC_FRAME_TIMEOUT:
		return "timeout";
	case ZCC_FRAME_ERROR:
		return "connection error";
	}
	return "invalid";
}

uint64_t zcc_rects_union_area(const struct zcc_rect *rects, size_t n_rects) {
	pixman_region32_t region;
	pixman_region32_init(&region);
	for (size_t i = 0; i < n_rects; i++) {
		if (rects[i].width <= 0 || rects[i].height <= 0) {
			continue;
		}
		pixman_region32_union_rect(&region, &region, rects[i].x, rects[i].y,
			(unsigned)rects[i].width, (unsigned)rects[i].height);
	}
	uint64_t area = 0;
	int n = 0;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&region, &n);
	for (int i = 0; i < n; i++) {
		area += (uint64_t)(boxes[i].x2 - boxes[i].x1) * (uint64_t)(boxes[i].y2 - boxes[i].y1);
	}
	pixman_region32_fini(&region);
	return area;
}
