/*
 * wlr-screencopy-unstable-v1 (version 3) on the capture core.
 *
 * Images are in the output buffer's own orientation, as every screencopy
 * client expects (they apply wl_output.transform themselves); regions are
 * cropped views of that buffer. Each frame captures through a zc_session on
 * an output view:
 * - copy_with_damage uses a session kept per (client, view, cursor), so the
 *   damage since that client's previous copy is what it waits for and gets;
 * - copy uses the same session with everything damaged, so it is served at
 *   once from the output's last image.
 * A second frame in flight on the same (client, view, cursor) gets a session
 * of its own.
 *
 * Lifetimes: a frame resource owns its zc_frame, a view reference and, if it
 * needed one, its own session. Kept sessions die with their client, or
 * earlier: a client keeps at most KEPT_SESSIONS_PER_CLIENT idle ones (a new
 * region for every frame would otherwise pile up sessions and views until
 * it hits the session limit), the least recently used going first; its
 * next copy_with_damage there reports everything as damaged. Manager
 * resources are inert once the global is gone (with the zc_capture_manager,
 * or with the display).
 */
#include <assert.h>
#include <drm_fourcc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/log.h>
#include <wlr/util/transform.h>
#include "manager.h"
#include "protocol/protocol.h"
#include "render/engine.h"
#include "source/output.h"
#include "wlr-screencopy-unstable-v1-protocol.h"

#define SCREENCOPY_VERSION 3
#define KEPT_SESSIONS_PER_CLIENT 8

/* The one format offered, as wl_shm and as DRM spell it. */
#define SHM_FORMAT WL_SHM_FORMAT_XRGB8888
#define DRM_FORMAT DRM_FORMAT_XRGB8888

struct kept_session {
	struct wl_list link; /* zc_wlr_screencopy.sessions, last used first */
	struct wl_client *client;
	struct zc_output_view *view;
	bool cursor;
	struct zc_session *session;
	struct wl_listener client_destroy;
};

struct sc_frame {
	struct wl_resource *resource;
	struct zc_wlr_screencopy *screencopy;
	struct zc_output_view *view; /* NULL when the frame failed at creation */
	bool cursor;
	bool used;
	bool with_damage;
	bool dmabuf_ok; /* the GPU path was offered */
	uint32_t width, height;
	struct zc_frame *frame;
	struct zc_session *own_session;
};

static const struct zwlr_screencopy_frame_v1_interface frame_impl;

static struct sc_frame *sc_frame_from_resource(struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource, &zwlr_screencopy_frame_v1_interface,
		&frame_impl));
	return wl_resource_get_user_data(resource);
}

/* Sessions here send nothing: screencopy frames carry their own buffer info. */
static void session_constraints(struct zc_session *session, const struct zc_constraints *c) {
}

static void session_stopped(struct zc_session *session) {
}

static const struct zc_session_impl session_impl = {
	.constraints = session_constraints,
	.stopped = session_stopped,
};

static void kept_session_destroy(struct kept_session *kept) {
	wl_list_remove(&kept->link);
	wl_list_remove(&kept->client_destroy.link);
	zc_session_destroy(kept->session);
	zc_output_view_unref(kept->view);
	free(kept);
}

static void handle_client_destroy(struct wl_listener *listener, void *data) {
	struct kept_session *kept = wl_container_of(listener, kept, client_destroy);
	kept_session_destroy(kept);
}

/* Makes room for one more kept session of client: drops its oldest idle ones. */
static void kept_sessions_trim(struct zc_wlr_screencopy *screencopy, struct wl_client *client) {
	int n = 0;
	struct kept_session *kept, *tmp;
	wl_list_for_each_safe(kept, tmp, &screencopy->sessions, link) {
		if (kept->client != client) {
			continue;
		}
		n++;
		if (n >= KEPT_SESSIONS_PER_CLIENT && kept->session->frame == NULL) {
			kept_session_destroy(kept);
		}
	}
}

static struct zc_session *kept_session_get(struct zc_wlr_screencopy *screencopy,
		struct wl_client *client, struct zc_output_view *view, bool cursor) {
	struct kept_session *kept;
	wl_list_for_each(kept, &screencopy->sessions, link) {
		if (kept->client == client && kept->view == view && kept->cursor == cursor) {
			wl_list_remove(&kept->link);
			wl_list_insert(&screencopy->sessions, &kept->link);
			return kept->session;
		}
	}
	kept_sessions_trim(screencopy, client);
	kept = calloc(1, sizeof(*kept));
	if (kept == NULL) {
		return NULL;
	}
	kept->session = zc_session_create(&view->base, cursor, client, &session_impl, kept);
	if (kept->session == NULL) {
		free(kept);
		return NULL;
	}
	kept->client = client;
	kept->view = view;
	view->refs++;
	kept->cursor = cursor;
	kept->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client, &kept->client_destroy);
	wl_list_insert(&screencopy->sessions, &kept->link);
	zc_session_start(kept->session);
	return kept->session;
}

static void frame_send_ready(struct zc_frame *zc_frame, uint32_t transform,
		const pixman_region32_t *damage, const struct timespec *presented) {
	struct sc_frame *frame = zc_frame->data;
	zwlr_screencopy_frame_v1_send_flags(frame->resource, 0);
	if (frame->with_damage) {
		int n;
		const pixman_box32_t *rects = pixman_region32_rectangles(damage, &n);
		for (int i = 0; i < n; i++) {
			zwlr_screencopy_frame_v1_send_damage(frame->resource, rects[i].x1, rects[i].y1,
				rects[i].x2 - rects[i].x1, rects[i].y2 - rects[i].y1);
		}
	}
	uint64_t sec = presented->tv_sec;
	zwlr_screencopy_frame_v1_send_ready(frame->resource, sec >> 32, sec & 0xffffffff,
		presented->tv_nsec);
}

static void frame_send_failed(struct zc_frame *zc_frame, enum zc_failure reason) {
	struct sc_frame *frame = zc_frame->data;
	wlr_log(WLR_DEBUG, "zerocap: screencopy frame failed (reason %d)", reason);
	zwlr_screencopy_frame_v1_send_failed(frame->resource);
}

static const struct zc_frame_impl sc_frame_impl = {
	.ready = frame_send_ready,
	.failed = frame_send_failed,
};

/* Whether buffer has exactly what the frame announced. */
static bool buffer_matches(struct sc_frame *frame, struct wl_resource *buffer) {
	struct zc_buffer_info info;
	if (!zc_render_describe_buffer(buffer, &info) || info.width != frame->width ||
			info.height != frame->height || info.format != DRM_FORMAT) {
		return false;
	}
	if (info.type == ZC_BUFFER_SHM) {
		return info.stride == (int32_t)frame->width * 4;
	}
	return frame->dmabuf_ok;
}

static void frame_copy(struct wl_resource *resource, struct wl_resource *buffer,
		bool with_damage) {
	struct sc_frame *frame = sc_frame_from_resource(resource);
	if (frame->used) {
		wl_resource_post_error(resource, ZWLR_SCREENCOPY_FRAME_V1_ERROR_ALREADY_USED,
			"the frame was already copied");
		return;
	}
	if (frame->view == NULL) {
		/* Failed at creation; the client may still try. */
		return;
	}
	if (!buffer_matches(frame, buffer)) {
		wl_resource_post_error(resource, ZWLR_SCREENCOPY_FRAME_V1_ERROR_INVALID_BUFFER,
			"the buffer does not match the advertised format, size or stride");
		return;
	}
	frame->used = true;
	frame->with_damage = with_damage;

	/* A view keeps its output only while the manager lives. */
	struct zc_session *session = NULL;
	if (frame->view->output != NULL) {
		session = kept_session_get(frame->screencopy, wl_resource_get_client(resource),
			frame->view, frame->cursor);
	}
	struct wl_client *client = wl_resource_get_client(resource);
	if (session != NULL && session->frame != NULL) {
		frame->own_session = zc_session_create(&frame->view->base, frame->cursor, client,
			&session_impl, NULL);
		session = frame->own_session;
		if (session != NULL) {
			zc_session_start(session);
		}
	}
	if (frame->view->output != NULL && session == NULL) {
		wl_resource_post_no_memory(resource);
		return;
	}
	if (session == NULL) {
		/* The output went away: a stopped session fails the frame. */
		session = frame->own_session = zc_session_create(NULL, false, client, &session_impl,
			NULL);
		if (session == NULL) {
			wl_resource_post_no_memory(resource);
			return;
		}
	}
	if (!with_damage && !session->stopped) {
		zc_session_damage_all(session);
	}
	frame->frame = zc_frame_create(session, &sc_frame_impl, frame);
	if (frame->frame == NULL) {
		wl_resource_post_no_memory(resource);
		return;
	}
	zc_frame_attach_buffer(frame->frame, buffer);
	/*
	 * Screencopy has no buffer damage: every copy fills the whole buffer
	 * (clients rotate several buffers); damage events only say what changed.
	 */
	zc_frame_damage_buffer(frame->frame, 0, 0, frame->width, frame->height);
	zc_frame_capture(frame->frame);
}

static void frame_handle_copy(struct wl_client *client, struct wl_resource *resource,
		struct wl_resource *buffer) {
	frame_copy(resource, buffer, false);
}

static void frame_handle_copy_with_damage(struct wl_client *client,
		struct wl_resource *resource, struct wl_resource *buffer) {
	frame_copy(resource, buffer, true);
}

static void frame_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct zwlr_screencopy_frame_v1_interface frame_impl = {
	.copy = frame_handle_copy,
	.destroy = frame_handle_destroy,
	.copy_with_damage = frame_handle_copy_with_damage,
};

static void frame_resource_destroy(struct wl_resource *resource) {
	struct sc_frame *frame = sc_frame_from_resource(resource);
	zc_frame_destroy(frame->frame);
	zc_session_destroy(frame->own_session);
	zc_output_view_unref(frame->view);
	free(frame);
}

/*
 * The output buffer's pixels under a logical region of the output (NULL:
 * all of it), or an empty box when they do not overlap.
 */
static struct wlr_box buffer_region(struct wlr_output *output, const struct wlr_box *logical) {
	struct wlr_box full = {.width = output->width, .height = output->height};
	if (logical == NULL) {
		return full;
	}
	int width, height;
	wlr_output_effective_resolution(output, &width, &height);
	/* Clipped in 64 bits: clients may send any int32 values. */
	int64_t left = logical->x > 0 ? logical->x : 0;
	int64_t top = logical->y > 0 ? logical->y : 0;
	int64_t right = (int64_t)logical->x + logical->width;
	int64_t bottom = (int64_t)logical->y + logical->height;
	right = right < width ? right : width;
	bottom = bottom < height ? bottom : height;
	if (logical->width <= 0 || logical->height <= 0 || right <= left || bottom <= top) {
		return (struct wlr_box){0};
	}
	struct wlr_box box = {.x = left, .y = top, .width = right - left, .height = bottom - top};
	wlr_box_transform(&box, &box, wlr_output_transform_invert(output->transform),
		width, height);
	double scale = output->scale;
	int x1 = floor(box.x * scale), y1 = floor(box.y * scale);
	int x2 = ceil((box.x + box.width) * scale), y2 = ceil((box.y + box.height) * scale);
	struct wlr_box scaled = {.x = x1, .y = y1, .width = x2 - x1, .height = y2 - y1};
	wlr_box_intersection(&box, &scaled, &full);
	return box;
}

static void capture(struct wl_client *client, struct wl_resource *manager_resource,
		uint32_t id, int32_t overlay_cursor, struct wl_resource *output_resource,
		const struct wlr_box *logical) {
	struct zc_wlr_screencopy *screencopy = wl_resource_get_user_data(manager_resource);
	struct zc_capture_manager *manager = screencopy != NULL ? screencopy->manager : NULL;
	struct sc_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	uint32_t version = wl_resource_get_version(manager_resource);
	frame->resource = wl_resource_create(client, &zwlr_screencopy_frame_v1_interface,
		version, id);
	if (frame->resource == NULL) {
		free(frame);
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(frame->resource, &frame_impl, frame,
		frame_resource_destroy);
	frame->screencopy = screencopy;
	frame->cursor = overlay_cursor != 0;

	struct wlr_output *output = wlr_output_from_resource(output_resource);
	struct zc_output_source *source = NULL;
	if (manager != NULL && output != NULL && output->enabled) {
		source = zc_output_source_find(manager, output);
	}
	struct wlr_box box = {0};
	if (source != NULL) {
		box = buffer_region(output, logical);
	}
	if (!wlr_box_empty(&box)) {
		frame->view = zc_output_view_get(source, true, &box);
	}
	if (frame->view == NULL) {
		wlr_log(WLR_DEBUG, "zerocap: nothing to capture for this screencopy frame");
		zwlr_screencopy_frame_v1_send_failed(frame->resource);
		return;
	}
	frame->width = box.width;
	frame->height = box.height;
	zwlr_screencopy_frame_v1_send_buffer(frame->resource, SHM_FORMAT, box.width, box.height,
		box.width * 4);
	if (version >= ZWLR_SCREENCOPY_FRAME_V1_LINUX_DMABUF_SINCE_VERSION) {
		frame->dmabuf_ok = zc_render_engine_has_gpu(manager->engine);
		if (frame->dmabuf_ok) {
			zwlr_screencopy_frame_v1_send_linux_dmabuf(frame->resource, DRM_FORMAT,
				box.width, box.height);
		}
		zwlr_screencopy_frame_v1_send_buffer_done(frame->resource);
	}
}

static void manager_handle_capture_output(struct wl_client *client,
		struct wl_resource *resource, uint32_t id, int32_t overlay_cursor,
		struct wl_resource *output) {
	capture(client, resource, id, overlay_cursor, output, NULL);
}

static void manager_handle_capture_output_region(struct wl_client *client,
		struct wl_resource *resource, uint32_t id, int32_t overlay_cursor,
		struct wl_resource *output, int32_t x, int32_t y, int32_t width, int32_t height) {
	struct wlr_box logical = {.x = x, .y = y, .width = width, .height = height};
	capture(client, resource, id, overlay_cursor, output, &logical);
}

static void manager_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct zwlr_screencopy_manager_v1_interface manager_impl = {
	.capture_output = manager_handle_capture_output,
	.capture_output_region = manager_handle_capture_output_region,
	.destroy = manager_handle_destroy,
};

static void manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct zc_wlr_screencopy *screencopy = data;
	struct wl_resource *resource = wl_resource_create(client,
		&zwlr_screencopy_manager_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &manager_impl, screencopy, zc_resource_unlink);
	zc_global_add_resource(&screencopy->base, resource);
}

static void screencopy_destroy_global(struct zc_global *global) {
	struct zc_wlr_screencopy *screencopy = wl_container_of(global, screencopy, base);
	zc_wlr_screencopy_destroy(screencopy);
}

struct zc_wlr_screencopy *zc_wlr_screencopy_create(struct zc_capture_manager *manager) {
	struct zc_wlr_screencopy *screencopy = calloc(1, sizeof(*screencopy));
	if (screencopy == NULL) {
		return NULL;
	}
	screencopy->manager = manager;
	wl_list_init(&screencopy->sessions);
	if (!zc_global_init(&screencopy->base, manager->display,
			&zwlr_screencopy_manager_v1_interface, SCREENCOPY_VERSION, screencopy,
			manager_bind, screencopy_destroy_global)) {
		zc_wlr_screencopy_destroy(screencopy);
		return NULL;
	}
	return screencopy;
}

void zc_wlr_screencopy_destroy(struct zc_wlr_screencopy *screencopy) {
	if (screencopy == NULL) {
		return;
	}
	struct kept_session *kept, *tmp;
	wl_list_for_each_safe(kept, tmp, &screencopy->sessions, link) {
		kept_session_destroy(kept);
	}
	zc_global_finish(&screencopy->base);
	free(screencopy);
}
