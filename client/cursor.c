/*
 * libzerocap-client cursors: a pointer cursor session on the target's
 * plain source, for the position and hotspot, and a capture of its cursor
 * capture session (shm, ARGB8888), for the image. The capture goes on by
 * itself, and each frame's pixels are copied out and the frame released at
 * once, so the application never holds a cursor buffer; a frame equal to
 * the image before (a new buffer's first capture) is not a new image.
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <stdlib.h>
#include <string.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "private.h"

struct zcl_cursor {
	struct zcl_client *client;
	const struct zcl_cursor_listener *listener;
	void *data;
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_cursor_session_v1 *session;
	struct zcl_capture *capture;
	struct zcl_cursor_info info;
	int32_t pending_hotspot_x, pending_hotspot_y;
	void *pixels;
	size_t pixels_size;
	bool stopped;
};

static void changed(struct zcl_cursor *cursor) {
	if (!cursor->stopped) {
		cursor->listener->changed(cursor->data, &cursor->info);
	}
}

static void stop(struct zcl_cursor *cursor) {
	if (cursor->stopped) {
		return;
	}
	cursor->stopped = true;
	if (cursor->listener->stopped != NULL) {
		cursor->listener->stopped(cursor->data);
	}
}

/* The cursor session */

static void cursor_enter(void *data, struct ext_image_copy_capture_cursor_session_v1 *s) {
	struct zcl_cursor *cursor = data;
	cursor->info.inside = true;
	changed(cursor);
}

static void cursor_leave(void *data, struct ext_image_copy_capture_cursor_session_v1 *s) {
	struct zcl_cursor *cursor = data;
	cursor->info.inside = false;
	changed(cursor);
}

static void cursor_position(void *data, struct ext_image_copy_capture_cursor_session_v1 *s,
		int32_t x, int32_t y) {
	struct zcl_cursor *cursor = data;
	cursor->info.x = x;
	cursor->info.y = y;
	changed(cursor);
}

static void cursor_hotspot(void *data, struct ext_image_copy_capture_cursor_session_v1 *s,
		int32_t x, int32_t y) {
	struct zcl_cursor *cursor = data;
	/* Takes effect with the next cursor frame. */
	cursor->pending_hotspot_x = x;
	cursor->pending_hotspot_y = y;
}

static const struct ext_image_copy_capture_cursor_session_v1_listener cursor_listener = {
	.enter = cursor_enter,
	.leave = cursor_leave,
	.position = cursor_position,
	.hotspot = cursor_hotspot,
};

/* The capture of the cursor image */

static void image_frame(void *data, struct zcl_frame *frame) {
	struct zcl_cursor *cursor = data;
	const struct zcl_frame_info *f = zcl_frame_get_info(frame);
	size_t size = (size_t)f->strides[0] * f->height;
	bool same = f->data != NULL && cursor->info.pixels != NULL &&
		f->width == cursor->info.width && f->height == cursor->info.height &&
		f->strides[0] == cursor->info.stride &&
		cursor->pending_hotspot_x == cursor->info.hotspot_x &&
		cursor->pending_hotspot_y == cursor->info.hotspot_y &&
		memcmp(cursor->pixels, f->data, size) == 0;
	if (same) {
		zcl_frame_release(frame); /* captured again, not changed */
		return;
	}
	if (f->data != NULL && size > 0) {
		if (size > cursor->pixels_size) {
			void *grown = realloc(cursor->pixels, size);
			if (grown == NULL) {
				zcl_frame_release(frame);
				return;
			}
			cursor->pixels = grown;
			cursor->pixels_size = size;
		}
		memcpy(cursor->pixels, f->data, size);
		cursor->info.pixels = cursor->pixels;
		cursor->info.width = f->width;
		cursor->info.height = f->height;
		cursor->info.stride = f->strides[0];
		cursor->info.hotspot_x = cursor->pending_hotspot_x;
		cursor->info.hotspot_y = cursor->pending_hotspot_y;
		cursor->info.image_serial++;
	}
	zcl_frame_release(frame);
	changed(cursor);
}

static void image_stopped(void *data) {
	stop(data);
}

static void image_failed(void *data, enum zcl_error error, const char *why) {
	stop(data);
}

static const struct zcl_capture_listener image_listener = {
	.frame = image_frame,
	.stopped = image_stopped,
	.failed = image_failed,
};

struct zcl_cursor *zcl_cursor_create(struct zcl_client *client, struct zcl_target *target,
		const struct zcl_cursor_listener *listener, void *data, enum zcl_error *error) {
	enum zcl_error dummy;
	error = error != NULL ? error : &dummy;
	*error = ZCL_ERROR_INVALID;
	if (target == NULL || listener == NULL || listener->changed == NULL) {
		zcl_set_error(client, "a cursor needs a target and a changed callback");
		return NULL;
	}
	*error = ZCL_ERROR_CONNECT;
	if (client->dead) {
		zcl_set_error(client, "the connection is gone");
		return NULL;
	}
	*error = ZCL_ERROR_UNSUPPORTED;
	if (client->copy == NULL || client->shm == NULL) {
		zcl_set_error(client, "the compositor has no ext-image-copy-capture-v1 or wl_shm");
		return NULL;
	}
	if (client->pointer == NULL) {
		zcl_set_error(client, "the compositor's seat has no pointer");
		return NULL;
	}
	struct ext_image_capture_source_v1 *source = zcl_make_source(client, target);
	if (source == NULL) {
		zcl_set_error(client, "the compositor cannot capture this kind of target");
		return NULL;
	}
	*error = ZCL_ERROR_NO_MEMORY;
	struct zcl_cursor *cursor = calloc(1, sizeof(*cursor));
	if (cursor == NULL) {
		ext_image_capture_source_v1_destroy(source);
		return NULL;
	}
	cursor->client = client;
	cursor->listener = listener;
	cursor->data = data;
	cursor->source = source;
	cursor->session = ext_image_copy_capture_manager_v1_create_pointer_cursor_session(
		client->copy, source, client->pointer);
	ext_image_copy_capture_cursor_session_v1_add_listener(cursor->session, &cursor_listener,
		cursor);
	const struct zcl_capture_options options = {
		.format = DRM_FORMAT_ARGB8888,
		.buffers = ZCL_BUFFERS_SHM,
		.n_buffers = 3,
	};
	cursor->capture = zcl_capture_create_on_session(client, target,
		ext_image_copy_capture_cursor_session_v1_get_capture_session(cursor->session),
		&options, &image_listener, cursor);
	if (cursor->capture == NULL) {
		zcl_cursor_destroy(cursor);
		return NULL;
	}
	*error = ZCL_OK;
	return cursor;
}

void zcl_cursor_destroy(struct zcl_cursor *cursor) {
	if (cursor == NULL) {
		return;
	}
	zcl_capture_destroy(cursor->capture);
	ext_image_copy_capture_cursor_session_v1_destroy(cursor->session);
	ext_image_capture_source_v1_destroy(cursor->source);
	free(cursor->pixels);
	free(cursor);
}
