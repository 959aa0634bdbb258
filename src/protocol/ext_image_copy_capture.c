/*
 * ext-image-copy-capture-v1.
 *
 * Lifetimes:
 * - A session resource owns a zc_session; both die together in the
 *   resource's destroy handler. When the source goes away the zc_session is
 *   stopped (event "stopped") and the resource stays usable but idle.
 * - A frame resource owns a zc_frame. The session remembers its one frame
 *   resource to raise duplicate_frame; the frame clears that when it dies.
 *   Destroying the session fails a captured frame (stopped) and detaches it.
 * - A cursor session resource follows the cursor of its output source and
 *   hands out at most one capture session on the cursor image. Where the
 *   pointer is counts as captured content: with a request handler, the
 *   cursor session tells it only while that capture session is allowed
 *   and running (without one, every session is allowed at once). The two
 *   point at each other until either dies.
 */
#include <assert.h>
#include <drm_fourcc.h>
#include <stdlib.h>
#include <wlr/util/log.h>
#include "ext-image-copy-capture-v1-protocol.h"
#include "manager.h"
#include "protocol/protocol.h"
#include "source/output.h"

#define COPY_MANAGER_VERSION 1

struct ext_cursor_session;

struct ext_session {
	struct wl_resource *resource;
	struct zc_session *session;
	struct wl_resource *frame_resource; /* the session's frame, at most one */
	struct ext_cursor_session *cursor; /* the cursor session that handed it out */
};

struct ext_frame {
	struct wl_resource *resource;
	struct zc_frame *frame;
	bool attached; /* a buffer was attached, even if it is gone since */
	bool captured;
};

struct ext_cursor_session {
	struct wl_resource *resource;
	struct zc_pointer *pointer; /* NULL when the source is gone */
	struct ext_session *session; /* its capture session, while it lives */
	bool got_session;
	bool entered;
	int32_t x, y, hotspot_x, hotspot_y;
	struct wl_listener cursor_update;
	struct wl_listener source_destroy;
};

static const struct ext_image_copy_capture_session_v1_interface session_impl;
static const struct ext_image_copy_capture_frame_v1_interface frame_impl;
static void cursor_session_update(struct ext_cursor_session *cursor);
static const struct ext_image_copy_capture_cursor_session_v1_interface cursor_session_impl;

static struct ext_session *ext_session_from_resource(struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource, &ext_image_copy_capture_session_v1_interface,
		&session_impl));
	return wl_resource_get_user_data(resource);
}

static struct ext_frame *ext_frame_from_resource(struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource, &ext_image_copy_capture_frame_v1_interface,
		&frame_impl));
	return wl_resource_get_user_data(resource);
}

static struct ext_cursor_session *ext_cursor_session_from_resource(
		struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource,
		&ext_image_copy_capture_cursor_session_v1_interface, &cursor_session_impl));
	return wl_resource_get_user_data(resource);
}

/* Frames */

static void frame_send_ready(struct zc_frame *zc_frame, uint32_t transform,
		const pixman_region32_t *damage, const struct timespec *presented) {
	struct ext_frame *frame = zc_frame->data;
	ext_image_copy_capture_frame_v1_send_transform(frame->resource, transform);
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(damage, &n);
	for (int i = 0; i < n; i++) {
		ext_image_copy_capture_frame_v1_send_damage(frame->resource, rects[i].x1,
			rects[i].y1, rects[i].x2 - rects[i].x1, rects[i].y2 - rects[i].y1);
	}
	uint64_t sec = presented->tv_sec;
	ext_image_copy_capture_frame_v1_send_presentation_time(frame->resource,
		sec >> 32, sec & 0xffffffff, presented->tv_nsec);
	ext_image_copy_capture_frame_v1_send_ready(frame->resource);
}

/* Clients get only the reason code: the log says what did not fit. */
static void log_buffer_constraints(struct zc_frame *zc_frame) {
	char why[160] = "the buffer cannot be used (an import failure is logged above)";
	struct zc_session *session = zc_frame->session;
	if (session != NULL && session->source != NULL && session->source->has_constraints) {
		zc_constraints_check(&session->source->constraints, &zc_frame->buffer_info, why,
			sizeof(why));
	}
	wlr_log(WLR_INFO, "zerocap: frame failed with buffer_constraints: %s", why);
}

static void frame_send_failed(struct zc_frame *zc_frame, enum zc_failure reason) {
	struct ext_frame *frame = zc_frame->data;
	static const uint32_t reasons[] = {
		[ZC_FAILURE_UNKNOWN] = EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_UNKNOWN,
		[ZC_FAILURE_BUFFER_CONSTRAINTS] =
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS,
		[ZC_FAILURE_STOPPED] = EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED,
	};
	if (reason == ZC_FAILURE_BUFFER_CONSTRAINTS) {
		log_buffer_constraints(zc_frame);
	} else {
		wlr_log(WLR_DEBUG, "zerocap: frame failed (reason %d)", reason);
	}
	ext_image_copy_capture_frame_v1_send_failed(frame->resource, reasons[reason]);
}

static const struct zc_frame_impl ext_frame_impl = {
	.ready = frame_send_ready,
	.failed = frame_send_failed,
};

/* Posts already_captured and returns true when the frame was captured. */
static bool frame_check_not_captured(struct ext_frame *frame) {
	if (frame->captured) {
		wl_resource_post_error(frame->resource,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_ALREADY_CAPTURED,
			"the frame was already captured");
		return false;
	}
	return true;
}

static void frame_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static void frame_handle_attach_buffer(struct wl_client *client,
		struct wl_resource *resource, struct wl_resource *buffer) {
	struct ext_frame *frame = ext_frame_from_resource(resource);
	if (frame_check_not_captured(frame)) {
		frame->attached = true;
		zc_frame_attach_buffer(frame->frame, buffer);
	}
}

static void frame_handle_damage_buffer(struct wl_client *client,
		struct wl_resource *resource, int32_t x, int32_t y, int32_t width, int32_t height) {
	struct ext_frame *frame = ext_frame_from_resource(resource);
	if (!frame_check_not_captured(frame)) {
		return;
	}
	if (x < 0 || y < 0 || width <= 0 || height <= 0) {
		wl_resource_post_error(resource,
			EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_INVALID_BUFFER_DAMAGE,
			"invalid buffer damage %d,%d %dx%d", x, y, width, height);
		return;
	}
	zc_frame_damage_buffer(frame->frame, x, y, width, height);
}

static void frame_handle_capture(struct wl_client *client, struct wl_resource *resource) {
	struct ext_frame *frame = ext_frame_from_resource(resource);
	if (!frame_check_not_captured(frame)) {
		return;
	}
	if (!frame->attached) {
		wl_resource_post_error(resource, EXT_IMAGE_COPY_CAPTURE_FRAME_V1_ERROR_NO_BUFFER,
			"capture requested without a buffer attached");
		return;
	}
	frame->captured = true;
	zc_frame_capture(frame->frame);
}

static const struct ext_image_copy_capture_frame_v1_interface frame_impl = {
	.destroy = frame_handle_destroy,
	.attach_buffer = frame_handle_attach_buffer,
	.damage_buffer = frame_handle_damage_buffer,
	.capture = frame_handle_capture,
};

static void frame_resource_destroy(struct wl_resource *resource) {
	struct ext_frame *frame = ext_frame_from_resource(resource);
	struct zc_session *zc_session = frame->frame->session;
	if (zc_session != NULL) {
		struct ext_session *session = zc_session->data;
		if (session->frame_resource == resource) {
			session->frame_resource = NULL;
		}
	}
	zc_frame_destroy(frame->frame);
	free(frame);
}

/* Sessions */

static void session_send_constraints(struct zc_session *zc_session,
		const struct zc_constraints *c) {
	struct ext_session *session = zc_session->data;
	struct wl_resource *r = session->resource;
	ext_image_copy_capture_session_v1_send_buffer_size(r, c->width, c->height);
	for (size_t i = 0; i < c->n_shm_formats; i++) {
		uint32_t format = c->shm_formats[i];
		/* wl_shm spells the two oldest formats its own way. */
		if (format == DRM_FORMAT_ARGB8888) {
			format = WL_SHM_FORMAT_ARGB8888;
		} else if (format == DRM_FORMAT_XRGB8888) {
			format = WL_SHM_FORMAT_XRGB8888;
		}
		ext_image_copy_capture_session_v1_send_shm_format(r, format);
	}
	if (c->has_dmabuf) {
		struct wl_array device = {
			.size = sizeof(c->dmabuf_device),
			.alloc = sizeof(c->dmabuf_device),
			.data = (void *)&c->dmabuf_device,
		};
		ext_image_copy_capture_session_v1_send_dmabuf_device(r, &device);
		for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
			const struct zc_dmabuf_format *fmt = &c->dmabuf_formats[i];
			struct wl_array modifiers = {
				.size = fmt->n_modifiers * sizeof(uint64_t),
				.alloc = fmt->n_modifiers * sizeof(uint64_t),
				.data = fmt->modifiers,
			};
			ext_image_copy_capture_session_v1_send_dmabuf_format(r, fmt->format,
				&modifiers);
		}
	}
	ext_image_copy_capture_session_v1_send_done(r);
	if (session->cursor != NULL) {
		cursor_session_update(session->cursor);
	}
}

static void session_send_stopped(struct zc_session *zc_session) {
	struct ext_session *session = zc_session->data;
	ext_image_copy_capture_session_v1_send_stopped(session->resource);
	if (session->cursor != NULL) {
		cursor_session_update(session->cursor);
	}
}

static const struct zc_session_impl ext_session_impl = {
	.constraints = session_send_constraints,
	.stopped = session_send_stopped,
};

static void session_handle_create_frame(struct wl_client *client,
		struct wl_resource *resource, uint32_t id) {
	struct ext_session *session = ext_session_from_resource(resource);
	if (session->frame_resource != NULL) {
		wl_resource_post_error(resource,
			EXT_IMAGE_COPY_CAPTURE_SESSION_V1_ERROR_DUPLICATE_FRAME,
			"the session already has a frame");
		return;
	}
	struct ext_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	frame->resource = wl_resource_create(client, &ext_image_copy_capture_frame_v1_interface,
		wl_resource_get_version(resource), id);
	frame->frame = zc_frame_create(session->session, &ext_frame_impl, frame);
	if (frame->resource == NULL || frame->frame == NULL) {
		if (frame->resource != NULL) {
			wl_resource_destroy(frame->resource);
		}
		zc_frame_destroy(frame->frame);
		free(frame);
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(frame->resource, &frame_impl, frame,
		frame_resource_destroy);
	session->frame_resource = frame->resource;
}

static void session_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_image_copy_capture_session_v1_interface session_impl = {
	.create_frame = session_handle_create_frame,
	.destroy = session_handle_destroy,
};

static void session_resource_destroy(struct wl_resource *resource) {
	struct ext_session *session = ext_session_from_resource(resource);
	struct ext_cursor_session *cursor = session->cursor;
	zc_session_destroy(session->session);
	free(session);
	if (cursor != NULL) {
		cursor->session = NULL;
		cursor_session_update(cursor);
	}
}

/*
 * Creates a session resource on source (NULL: starts stopped); cursor is
 * the cursor session asking for it, or NULL.
 */
static void session_create(struct wl_client *client, uint32_t version, uint32_t id,
		struct zc_source *source, bool paint_cursors, struct ext_cursor_session *cursor) {
	struct ext_session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	session->resource = wl_resource_create(client,
		&ext_image_copy_capture_session_v1_interface, version, id);
	if (session->resource == NULL) {
		free(session);
		wl_client_post_no_memory(client);
		return;
	}
	session->session = zc_session_create(source, paint_cursors, client, &ext_session_impl,
		session);
	if (session->session == NULL) {
		wl_resource_destroy(session->resource);
		free(session);
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(session->resource, &session_impl, session,
		session_resource_destroy);
	if (cursor != NULL) {
		session->cursor = cursor;
		cursor->session = session;
	}
	zc_session_start(session->session);
}

/* Cursor sessions */

/* Whether the client may know where the pointer is (see the top of the file). */
static bool cursor_session_allowed(struct ext_cursor_session *cursor) {
	if (cursor->pointer == NULL) {
		return false;
	}
	if (cursor->pointer->manager->policy.request_handler == NULL) {
		return true;
	}
	struct zc_session *session = cursor->session != NULL ? cursor->session->session : NULL;
	return session != NULL && session->permitted && !session->stopped;
}

static void cursor_session_update(struct ext_cursor_session *cursor) {
	struct zc_cursor_state state = {0};
	if (cursor_session_allowed(cursor)) {
		cursor->pointer->get(cursor->pointer, &state);
	}
	if (!state.inside) {
		if (cursor->entered) {
			ext_image_copy_capture_cursor_session_v1_send_leave(cursor->resource);
			cursor->entered = false;
		}
		return;
	}
	bool entered = !cursor->entered;
	if (entered) {
		ext_image_copy_capture_cursor_session_v1_send_enter(cursor->resource);
		cursor->entered = true;
	}
	if (entered || state.x != cursor->x || state.y != cursor->y) {
		cursor->x = state.x;
		cursor->y = state.y;
		ext_image_copy_capture_cursor_session_v1_send_position(cursor->resource,
			state.x, state.y);
	}
	if (entered || state.hotspot_x != cursor->hotspot_x ||
			state.hotspot_y != cursor->hotspot_y) {
		cursor->hotspot_x = state.hotspot_x;
		cursor->hotspot_y = state.hotspot_y;
		ext_image_copy_capture_cursor_session_v1_send_hotspot(cursor->resource,
			state.hotspot_x, state.hotspot_y);
	}
}

static void cursor_session_detach(struct ext_cursor_session *cursor) {
	if (cursor->pointer != NULL) {
		wl_list_remove(&cursor->cursor_update.link);
		wl_list_remove(&cursor->source_destroy.link);
		cursor->pointer = NULL;
	}
}

static void handle_cursor_update(struct wl_listener *listener, void *data) {
	struct ext_cursor_session *cursor = wl_container_of(listener, cursor, cursor_update);
	cursor_session_update(cursor);
}

static void handle_cursor_source_destroy(struct wl_listener *listener, void *data) {
	struct ext_cursor_session *cursor = wl_container_of(listener, cursor, source_destroy);
	cursor_session_detach(cursor);
	cursor_session_update(cursor);
}

static void cursor_session_handle_get_capture_session(struct wl_client *client,
		struct wl_resource *resource, uint32_t id) {
	struct ext_cursor_session *cursor = ext_cursor_session_from_resource(resource);
	if (cursor->got_session) {
		wl_resource_post_error(resource,
			EXT_IMAGE_COPY_CAPTURE_CURSOR_SESSION_V1_ERROR_DUPLICATE_SESSION,
			"the cursor session already has a capture session");
		return;
	}
	cursor->got_session = true;
	struct zc_source *source = cursor->pointer != NULL ? cursor->pointer->image : NULL;
	session_create(client, wl_resource_get_version(resource), id, source, false, cursor);
}

static void cursor_session_handle_destroy(struct wl_client *client,
		struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_image_copy_capture_cursor_session_v1_interface cursor_session_impl = {
	.destroy = cursor_session_handle_destroy,
	.get_capture_session = cursor_session_handle_get_capture_session,
};

static void cursor_session_resource_destroy(struct wl_resource *resource) {
	struct ext_cursor_session *cursor = ext_cursor_session_from_resource(resource);
	cursor_session_detach(cursor);
	if (cursor->session != NULL) {
		cursor->session->cursor = NULL;
	}
	free(cursor);
}

/* Manager */

static bool check_options(struct wl_resource *resource, uint32_t options) {
	if (options & ~EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS) {
		wl_resource_post_error(resource, EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_ERROR_INVALID_OPTION,
			"unknown capture options 0x%x", options);
		return false;
	}
	return true;
}

static void manager_handle_create_session(struct wl_client *client,
		struct wl_resource *resource, uint32_t id, struct wl_resource *source_resource,
		uint32_t options) {
	if (!check_options(resource, options)) {
		return;
	}
	session_create(client, wl_resource_get_version(resource), id,
		zc_source_from_resource(source_resource),
		options & EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS, NULL);
}

static void manager_handle_create_pointer_cursor_session(struct wl_client *client,
		struct wl_resource *resource, uint32_t id, struct wl_resource *source_resource,
		struct wl_resource *pointer) {
	struct ext_cursor_session *cursor = calloc(1, sizeof(*cursor));
	if (cursor == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	cursor->resource = wl_resource_create(client,
		&ext_image_copy_capture_cursor_session_v1_interface,
		wl_resource_get_version(resource), id);
	if (cursor->resource == NULL) {
		free(cursor);
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(cursor->resource, &cursor_session_impl, cursor,
		cursor_session_resource_destroy);

	struct zc_source *source = zc_source_from_resource(source_resource);
	cursor->pointer = source != NULL ? source->pointer : NULL;
	if (cursor->pointer == NULL) {
		return;
	}
	cursor->cursor_update.notify = handle_cursor_update;
	wl_signal_add(&cursor->pointer->events.update, &cursor->cursor_update);
	cursor->source_destroy.notify = handle_cursor_source_destroy;
	wl_signal_add(&source->events.destroy, &cursor->source_destroy);
	cursor_session_update(cursor);
}

static void manager_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_image_copy_capture_manager_v1_interface manager_impl = {
	.create_session = manager_handle_create_session,
	.create_pointer_cursor_session = manager_handle_create_pointer_cursor_session,
	.destroy = manager_handle_destroy,
};

static void manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct wl_resource *resource = wl_resource_create(client,
		&ext_image_copy_capture_manager_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	/* Requests need no manager state: sessions live on their sources. */
	wl_resource_set_implementation(resource, &manager_impl, NULL, NULL);
}

static void copy_manager_destroy_global(struct zc_global *global) {
	struct zc_ext_copy_manager *copy_manager = wl_container_of(global, copy_manager, base);
	zc_ext_copy_manager_destroy(copy_manager);
}

struct zc_ext_copy_manager *zc_ext_copy_manager_create(struct wl_display *display) {
	struct zc_ext_copy_manager *copy_manager = calloc(1, sizeof(*copy_manager));
	if (copy_manager == NULL) {
		return NULL;
	}
	if (!zc_global_init(&copy_manager->base, display,
			&ext_image_copy_capture_manager_v1_interface, COPY_MANAGER_VERSION, copy_manager,
			manager_bind, copy_manager_destroy_global)) {
		zc_ext_copy_manager_destroy(copy_manager);
		return NULL;
	}
	return copy_manager;
}

void zc_ext_copy_manager_destroy(struct zc_ext_copy_manager *copy_manager) {
	if (copy_manager == NULL) {
		return;
	}
	zc_global_finish(&copy_manager->base);
	free(copy_manager);
}
