#include <drm_fourcc.h>
#include <stdlib.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include <wlr/util/region.h>
#include "manager.h"
#include "render/gles2.h"
#include "render/render.h"
#include "source/output.h"

static const uint32_t shm_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,
	DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,
};

static const struct zc_source_impl output_source_impl;

struct zc_output_source *zc_output_source_from_source(struct zc_source *source) {
	if (source->impl != &output_source_impl) {
		return NULL;
	}
	struct zc_output_source *output_source = wl_container_of(source, output_source, base);
	return output_source;
}

/*
 * Turns the output's buffer into the image the user sees: wlroots renders
 * the buffer with the inverse of the output transform.
 */
static enum wl_output_transform upright_transform(struct zc_output_source *source) {
	return source->output->transform;
}

/* How the output buffer is turned into the captured image. */
static enum wl_output_transform capture_transform(struct zc_output_source *source) {
	if (source->manager->options.raw_transform) {
		return WL_OUTPUT_TRANSFORM_NORMAL;
	}
	return upright_transform(source);
}

/* How upright pixels (the cursor) are drawn into the captured image. */
static enum wl_output_transform overlay_transform(struct zc_output_source *source) {
	if (source->manager->options.raw_transform) {
		return wlr_output_transform_invert(upright_transform(source));
	}
	return WL_OUTPUT_TRANSFORM_NORMAL;
}

/* The transform event: what the client still has to apply. */
static uint32_t reported_transform(struct zc_output_source *source) {
	if (source->manager->options.raw_transform) {
		return source->output->transform;
	}
	return WL_OUTPUT_TRANSFORM_NORMAL;
}

static void update_constraints(struct zc_output_source *source, bool force) {
	struct wlr_output *output = source->output;
	if (!output->enabled || output->width <= 0 || output->height <= 0) {
		return;
	}
	int width = output->width, height = output->height;
	if (!source->manager->options.raw_transform && output->transform % 2 == 1) {
		width = output->height;
		height = output->width;
	}
	struct zc_constraints constraints = source->dmabuf;
	constraints.width = width;
	constraints.height = height;
	constraints.shm_formats = (uint32_t *)shm_formats;
	constraints.n_shm_formats = sizeof(shm_formats) / sizeof(shm_formats[0]);
	if (!zc_source_set_constraints(&source->base, &constraints, force)) {
		wlr_log(WLR_ERROR, "zerocap: out of memory updating capture constraints");
	}
}

/* The cursor's box in capture buffer coordinates, empty when hidden. */
static struct wlr_box cursor_box(struct zc_output_source *source) {
	struct wlr_box box = {0};
	struct zc_cursor_state state;
	zc_output_source_get_cursor(source, &state);
	if (!state.inside) {
		return box;
	}
	box.x = state.x - state.hotspot_x;
	box.y = state.y - state.hotspot_y;
	box.width = source->cursor_image->width;
	box.height = source->cursor_image->height;
	int w, h;
	wlr_output_transformed_resolution(source->output, &w, &h);
	wlr_box_transform(&box, &box, overlay_transform(source), w, h);
	return box;
}

static void damage_cursor(struct zc_output_source *source, const struct wlr_box *before) {
	wl_signal_emit(&source->events.cursor_update, NULL);
	struct wlr_box after = cursor_box(source);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, before->x, before->y, before->width, before->height);
	pixman_region32_union_rect(&damage, &damage, after.x, after.y, after.width, after.height);
	if (pixman_region32_not_empty(&damage) && source->base.has_constraints) {
		zc_source_damage(&source->base, &damage, true);
	}
	pixman_region32_fini(&damage);
}

static bool source_describe_buffer(struct zc_source *base, struct wl_resource *buffer,
		struct zc_buffer_info *info) {
	return zc_render_describe_buffer(buffer, info);
}

static bool source_has_image(struct zc_source *base) {
	struct zc_output_source *source = zc_output_source_from_source(base);
	return source->image != NULL;
}

static void source_request_image(struct zc_source *base) {
	struct zc_output_source *source = zc_output_source_from_source(base);
	if (source->output->enabled) {
		wlr_output_schedule_frame(source->output);
	}
}

/* One copy of the current image into a frame, until its frame is told. */
struct output_copy {
	struct zc_output_source *source;
	struct zc_frame *frame;
	struct wl_list link; /* zc_output_source.copies */
	uint32_t transform; /* for the transform event */
	uint32_t image_seq;
	bool has_time;
	struct timespec when;
	struct zc_gl_job *job; /* while the GPU writes the buffer */
};

static void copy_destroy(struct output_copy *copy) {
	wl_list_remove(&copy->link);
	free(copy);
}

/* Reports the frame once the GPU is done and the image's time is known. */
static void copy_try_finish(struct output_copy *copy) {
	if (copy->job != NULL || !copy->has_time) {
		return;
	}
	struct zc_frame *frame = copy->frame;
	uint32_t transform = copy->transform;
	struct timespec when = copy->when;
	copy_destroy(copy);
	zc_frame_copy_done(frame, transform, &when);
}

static void copy_set_time(struct zc_output_source *source, uint32_t seq,
		const struct timespec *when) {
	struct output_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, &source->copies, link) {
		if (copy->image_seq == seq && !copy->has_time) {
			copy->has_time = true;
			copy->when = *when;
			copy_try_finish(copy);
		}
	}
}

static void handle_gpu_done(struct zc_frame *frame, void *data, bool ok) {
	struct output_copy *copy = data;
	copy->job = NULL;
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: the GPU did not finish the capture");
		copy_destroy(copy);
		zc_frame_copy_failed(frame, ZC_FAILURE_UNKNOWN);
		return;
	}
	copy_try_finish(copy);
}

static struct zc_overlay *frame_overlay(struct zc_output_source *source,
		struct zc_frame *frame, struct zc_overlay *cursor) {
	if (!frame->session->paint_cursors || !source->cursor_visible ||
			source->cursor_image == NULL) {
		return NULL;
	}
	cursor->image = source->cursor_image;
	cursor->box = cursor_box(source);
	cursor->transform = overlay_transform(source);
	return cursor;
}

static void source_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct zc_output_source *source = zc_output_source_from_source(base);
	struct output_copy *copy = calloc(1, sizeof(*copy));
	struct wlr_buffer *dst = wlr_buffer_from_resource(frame->buffer);
	if (copy == NULL || dst == NULL) {
		wlr_log(WLR_ERROR, "zerocap: cannot use the client's buffer");
		free(copy);
		wlr_buffer_unlock(dst);
		zc_frame_copy_failed(frame, ZC_FAILURE_UNKNOWN);
		return;
	}
	copy->source = source;
	copy->frame = frame;
	copy->transform = reported_transform(source);
	copy->image_seq = source->image_seq;
	copy->has_time = source->image_presented;
	copy->when = source->image_when;
	wl_list_insert(source->copies.prev, &copy->link);

	struct zc_overlay cursor;
	const struct zc_overlay *overlay = frame_overlay(source, frame, &cursor);
	enum zc_failure failure = ZC_FAILURE_UNKNOWN;
	bool ok;
	if (frame->buffer_info.type == ZC_BUFFER_DMABUF) {
		enum zc_gl_result result = zc_gl_blit(source->manager->gl, source->image,
			capture_transform(source), dst, region, overlay, handle_gpu_done, frame,
			copy, &copy->job);
		ok = result == ZC_GL_OK;
		if (result == ZC_GL_BAD_BUFFER) {
			failure = ZC_FAILURE_BUFFER_CONSTRAINTS;
		}
	} else {
		ok = zc_render_copy_cpu(source->manager->renderer, source->image,
			capture_transform(source), dst, region, overlay, &source->manager->stats);
	}
	wlr_buffer_unlock(dst);
	if (!ok) {
		copy_destroy(copy);
		zc_frame_copy_failed(frame, failure);
		return;
	}
	copy_try_finish(copy);
}

static const struct zc_source_impl output_source_impl = {
	.describe_buffer = source_describe_buffer,
	.has_image = source_has_image,
	.request_image = source_request_image,
	.copy = source_copy,
};

static struct zc_output_source *output_source_from_cursor(struct zc_source *base) {
	struct zc_output_source *source = wl_container_of(base, source, cursor_base);
	return source;
}

static bool cursor_has_image(struct zc_source *base) {
	return output_source_from_cursor(base)->cursor_image != NULL;
}

static void cursor_request_image(struct zc_source *base) {
	/* The cursor image is always current: nothing to wait for. */
}

static void cursor_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct zc_output_source *source = output_source_from_cursor(base);
	struct wlr_buffer *dst = wlr_buffer_from_resource(frame->buffer);
	bool ok = dst != NULL && zc_render_copy_cpu(NULL, source->cursor_image,
		WL_OUTPUT_TRANSFORM_NORMAL, dst, region, NULL, &source->manager->stats);
	wlr_buffer_unlock(dst);
	if (ok) {
		zc_frame_copy_done(frame, WL_OUTPUT_TRANSFORM_NORMAL, &source->cursor_when);
	} else {
		zc_frame_copy_failed(frame, ZC_FAILURE_UNKNOWN);
	}
}

static const struct zc_source_impl cursor_source_impl = {
	.describe_buffer = source_describe_buffer,
	.has_image = cursor_has_image,
	.request_image = cursor_request_image,
	.copy = cursor_copy,
};

struct zc_source *zc_output_source_cursor(struct zc_output_source *source) {
	return &source->cursor_base;
}

void zc_output_source_get_cursor(struct zc_output_source *source,
		struct zc_cursor_state *state) {
	*state = (struct zc_cursor_state){0};
	if (!source->cursor_visible || source->cursor_image == NULL) {
		return;
	}
	float scale = source->output->scale;
	state->x = (int32_t)(source->cursor_x * scale);
	state->y = (int32_t)(source->cursor_y * scale);
	state->hotspot_x = source->cursor_hotspot_x;
	state->hotspot_y = source->cursor_hotspot_y;
	int width, height;
	wlr_output_transformed_resolution(source->output, &width, &height);
	struct wlr_box image = {
		.x = state->x - state->hotspot_x,
		.y = state->y - state->hotspot_y,
		.width = source->cursor_image->width,
		.height = source->cursor_image->height,
	};
	struct wlr_box area = {.width = width, .height = height};
	struct wlr_box overlap;
	state->inside = wlr_box_intersection(&overlap, &image, &area);
}

static void handle_output_precommit(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_precommit);
	struct wlr_output *output = source->output;
	if (!(output->pending.committed & WLR_OUTPUT_STATE_BUFFER)) {
		return;
	}
	if (output->pending.committed & WLR_OUTPUT_STATE_DAMAGE) {
		pixman_region32_union(&source->pending_damage, &source->pending_damage,
			&output->pending.damage);
	} else {
		pixman_region32_union_rect(&source->pending_damage, &source->pending_damage,
			0, 0, output->width, output->height);
	}
}

static void handle_output_commit(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_commit);
	struct wlr_output_event_commit *event = data;
	struct wlr_output *output = source->output;

	if (event->committed & (WLR_OUTPUT_STATE_MODE | WLR_OUTPUT_STATE_ENABLED |
			WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE)) {
		bool force = event->committed & (WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE);
		update_constraints(source, force);
		wl_signal_emit(&source->events.cursor_update, NULL);
	}
	if (event->buffer == NULL) {
		return;
	}

	/* Copies of an image never presented get the time it was replaced. */
	if (!source->image_presented && source->image != NULL) {
		copy_set_time(source, source->image_seq, event->when);
	}
	wlr_buffer_unlock(source->image);
	source->image = wlr_buffer_lock(event->buffer);
	source->image_seq = output->commit_seq;
	source->image_presented = source->early_present && source->early_seq == output->commit_seq;
	if (source->image_presented) {
		source->image_when = source->early_when;
	}
	source->early_present = false;

	pixman_region32_t damage;
	pixman_region32_init(&damage);
	wlr_region_transform(&damage, &source->pending_damage, capture_transform(source),
		output->width, output->height);
	pixman_region32_clear(&source->pending_damage);
	if (source->base.has_constraints) {
		zc_source_damage(&source->base, &damage, false);
	}
	pixman_region32_fini(&damage);
}

static void handle_output_present(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_present);
	struct wlr_output_event_present *event = data;
	struct timespec when;
	if (event->presented && event->when != NULL) {
		when = *event->when;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &when);
	}
	if (event->commit_seq == source->output->commit_seq + 1) {
		source->early_present = true;
		source->early_seq = event->commit_seq;
		source->early_when = when;
		return;
	}
	if (source->image == NULL || source->image_presented ||
			event->commit_seq != source->image_seq) {
		return;
	}
	source->image_when = when;
	source->image_presented = true;
	copy_set_time(source, source->image_seq, &when);
}

static void handle_output_destroy(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_destroy);
	zc_output_source_destroy(source);
}

struct zc_output_source *zc_output_source_create(struct zc_capture_manager *manager,
		struct wlr_output *output) {
	struct zc_output_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory");
		return NULL;
	}
	zc_source_init(&source->base, &output_source_impl);
	source->base.stats = &manager->stats;
	zc_source_init(&source->cursor_base, &cursor_source_impl);
	source->cursor_base.stats = &manager->stats;
	wl_signal_init(&source->events.cursor_update);
	source->manager = manager;
	source->output = output;
	pixman_region32_init(&source->pending_damage);
	wl_list_init(&source->copies);
	if (manager->gl != NULL && !zc_gl_dmabuf_constraints(manager->gl, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for %s", output->name);
	}

	source->output_destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &source->output_destroy);
	source->output_precommit.notify = handle_output_precommit;
	wl_signal_add(&output->events.precommit, &source->output_precommit);
	source->output_commit.notify = handle_output_commit;
	wl_signal_add(&output->events.commit, &source->output_commit);
	source->output_present.notify = handle_output_present;
	wl_signal_add(&output->events.present, &source->output_present);

	wl_list_insert(&manager->output_sources, &source->link);
	update_constraints(source, false);
	return source;
}

void zc_output_source_destroy(struct zc_output_source *source) {
	if (source == NULL) {
		return;
	}
	zc_source_finish(&source->base);
	zc_source_finish(&source->cursor_base);
	struct output_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, &source->copies, link) {
		struct zc_frame *frame = copy->frame;
		if (copy->job != NULL) {
			zc_gl_job_forget(copy->job);
		}
		copy_destroy(copy);
		zc_frame_copy_failed(frame, ZC_FAILURE_STOPPED);
	}
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	wl_list_remove(&source->output_destroy.link);
	wl_list_remove(&source->output_precommit.link);
	wl_list_remove(&source->output_commit.link);
	wl_list_remove(&source->output_present.link);
	wl_list_remove(&source->link);
	pixman_region32_fini(&source->pending_damage);
	wlr_buffer_unlock(source->image);
	wlr_buffer_unlock(source->cursor_image);
	free(source);
}

void zc_output_source_set_cursor_image(struct zc_output_source *source,
		struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y) {
	struct wlr_box before = cursor_box(source);
	if (image != NULL) {
		wlr_buffer_lock(image);
	}
	wlr_buffer_unlock(source->cursor_image);
	source->cursor_image = image;
	source->cursor_hotspot_x = hotspot_x;
	source->cursor_hotspot_y = hotspot_y;
	clock_gettime(CLOCK_MONOTONIC, &source->cursor_when);
	if (image != NULL) {
		struct zc_constraints constraints = {
			.width = image->width,
			.height = image->height,
			.shm_formats = (uint32_t *)shm_formats,
			.n_shm_formats = sizeof(shm_formats) / sizeof(shm_formats[0]),
		};
		zc_source_set_constraints(&source->cursor_base, &constraints, false);
		zc_source_damage_all(&source->cursor_base);
	}
	damage_cursor(source, &before);
}

void zc_output_source_move_cursor(struct zc_output_source *source,
		bool visible, double x, double y) {
	if (source->cursor_visible == visible && source->cursor_x == x && source->cursor_y == y) {
		return;
	}
	struct wlr_box before = cursor_box(source);
	source->cursor_visible = visible;
	source->cursor_x = x;
	source->cursor_y = y;
	damage_cursor(source, &before);
}
