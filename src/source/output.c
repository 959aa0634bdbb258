#include <drm_fourcc.h>
#include <stdlib.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include <wlr/util/region.h>
#include <wlr/util/transform.h>
#include "compat/wlr.h"
#include "manager.h"
#include "render/engine.h"
#include "source/output.h"

static const uint32_t shm_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,
	DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,
};

static const struct zc_source_impl view_impl;

static struct zc_output_view *view_from_source(struct zc_source *source) {
	struct zc_output_view *view = wl_container_of(source, view, base);
	return view;
}

struct zc_output_source *zc_output_source_from_source(struct zc_source *source) {
	if (source->impl != &view_impl) {
		return NULL;
	}
	return view_from_source(source)->output;
}

/*
 * Turns the output's buffer into the image the user sees: wlroots renders
 * the buffer with the inverse of the output transform.
 */
static enum wl_output_transform upright_transform(struct zc_output_source *source) {
	return source->output->transform;
}

/* How the output buffer is turned into the view's image. */
static enum wl_output_transform capture_transform(struct zc_output_view *view) {
	return view->raw ? WL_OUTPUT_TRANSFORM_NORMAL : upright_transform(view->output);
}

/* How upright pixels (the cursor) are drawn into the view's image. */
static enum wl_output_transform overlay_transform(struct zc_output_view *view) {
	if (view->raw) {
		return wlr_output_transform_invert(upright_transform(view->output));
	}
	return WL_OUTPUT_TRANSFORM_NORMAL;
}

/* The transform event: what the client still has to apply. */
static uint32_t reported_transform(struct zc_output_view *view) {
	return view->raw ? view->output->output->transform : WL_OUTPUT_TRANSFORM_NORMAL;
}

/* The whole image of the view before cropping. */
static void view_full_size(struct zc_output_view *view, int *width, int *height) {
	struct wlr_output *output = view->output->output;
	*width = output->width;
	*height = output->height;
	if (!view->raw && output->transform % 2 == 1) {
		*width = output->height;
		*height = output->width;
	}
}

/* The part of the full image the view shows. */
static struct wlr_box view_area(struct zc_output_view *view) {
	int width, height;
	view_full_size(view, &width, &height);
	struct wlr_box full = {.width = width, .height = height};
	if (wlr_box_empty(&view->crop)) {
		return full;
	}
	struct wlr_box area;
	if (!wlr_box_intersection(&area, &view->crop, &full)) {
		return (struct wlr_box){0};
	}
	return area;
}

static void view_update_constraints(struct zc_output_view *view, bool force) {
	struct zc_output_source *source = view->output;
	struct wlr_output *output = source->output;
	struct wlr_box area = view_area(view);
	if (!output->enabled || wlr_box_empty(&area)) {
		return;
	}
	struct zc_constraints constraints = source->dmabuf;
	constraints.width = area.width;
	constraints.height = area.height;
	constraints.shm_formats = (uint32_t *)shm_formats;
	constraints.n_shm_formats = sizeof(shm_formats) / sizeof(shm_formats[0]);
	if (!zc_source_set_constraints(&view->base, &constraints, force)) {
		wlr_log(WLR_ERROR, "zerocap: out of memory updating capture constraints");
	}
}

/* Damage of the full view image, clipped and moved to the view's buffer. */
static void view_damage(struct zc_output_view *view, pixman_region32_t *damage,
		bool cursor_only) {
	struct wlr_box area = view_area(view);
	pixman_region32_intersect_rect(damage, damage, area.x, area.y, area.width, area.height);
	pixman_region32_translate(damage, -area.x, -area.y);
	if (pixman_region32_not_empty(damage) && view->base.has_constraints) {
		zc_source_damage(&view->base, damage, cursor_only);
	}
}

/* The cursor's box in the view's buffer, empty when it is not there. */
static struct wlr_box cursor_box(struct zc_output_view *view) {
	struct zc_output_source *source = view->output;
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
	wlr_box_transform(&box, &box, overlay_transform(view), w, h);
	struct wlr_box area = view_area(view);
	box.x -= area.x;
	box.y -= area.y;
	return box;
}

/* before: each view's cursor box ahead of the change (NULL: out of memory). */
static void damage_cursor(struct zc_output_source *source, const struct wlr_box *before) {
	wl_signal_emit(&source->events.cursor_update, NULL);
	if (before == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory tracking the cursor");
		return;
	}
	struct zc_output_view *view;
	size_t i = 0;
	wl_list_for_each(view, &source->views, link) {
		struct wlr_box after = cursor_box(view);
		pixman_region32_t damage;
		pixman_region32_init_rect(&damage, before[i].x, before[i].y,
			before[i].width, before[i].height);
		pixman_region32_union_rect(&damage, &damage, after.x, after.y,
			after.width, after.height);
		/* Already in view buffer coordinates: clip only. */
		struct wlr_box area = view_area(view);
		pixman_region32_intersect_rect(&damage, &damage, 0, 0, area.width, area.height);
		if (pixman_region32_not_empty(&damage) && view->base.has_constraints) {
			zc_source_damage(&view->base, &damage, true);
		}
		pixman_region32_fini(&damage);
		i++;
	}
}

static bool source_describe_buffer(struct zc_source *base, struct wl_resource *buffer,
		struct zc_buffer_info *info) {
	return zc_render_describe_buffer(buffer, info);
}

static bool view_has_image(struct zc_source *base) {
	struct zc_output_view *view = view_from_source(base);
	return view->output != NULL && view->output->image != NULL;
}

static void view_request_image(struct zc_source *base) {
	struct zc_output_view *view = view_from_source(base);
	if (view->output != NULL && view->output->output->enabled) {
		wlr_output_schedule_frame(view->output->output);
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
	struct zc_render_job *job; /* while the GPU writes the buffer */
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

static void handle_gpu_done(void *data, bool ok) {
	struct output_copy *copy = data;
	struct zc_frame *frame = copy->frame;
	copy->job = NULL;
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: the GPU did not finish the capture; trying again");
		copy_destroy(copy);
		zc_frame_copy_retry(frame);
		return;
	}
	copy_try_finish(copy);
}

static struct zc_overlay *frame_overlay(struct zc_output_view *view,
		struct zc_frame *frame, struct zc_overlay *cursor) {
	struct zc_output_source *source = view->output;
	if (!frame->session->paint_cursors || !source->cursor_visible ||
			source->cursor_image == NULL) {
		return NULL;
	}
	cursor->image = source->cursor_image;
	cursor->box = cursor_box(view);
	cursor->transform = overlay_transform(view);
	/* Not on this output: nothing to draw (the GPU would draw it at 0,0). */
	return wlr_box_empty(&cursor->box) ? NULL : cursor;
}

static void view_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct zc_output_view *view = view_from_source(base);
	struct zc_output_source *source = view->output;
	struct zc_render_engine *engine = source->manager->engine;
	struct output_copy *copy = zc_fault(&engine->faults, ZC_FAULT_ALLOC) ? NULL :
		calloc(1, sizeof(*copy));
	struct wlr_buffer *dst = wlr_buffer_try_from_resource(frame->buffer);
	if (dst == NULL) {
		wlr_log(WLR_ERROR, "zerocap: the client's buffer is not one wlroots knows");
		free(copy);
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	if (copy == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory for a copy; trying again");
		wlr_buffer_unlock(dst);
		zc_frame_copy_retry(frame);
		return;
	}
	copy->source = source;
	copy->frame = frame;
	copy->transform = reported_transform(view);
	copy->image_seq = source->image_seq;
	copy->has_time = source->image_presented;
	copy->when = source->image_when;
	wl_list_insert(source->copies.prev, &copy->link);

	struct zc_overlay cursor;
	const struct zc_copy_options options = {
		.src = source->image,
		.geometry = {
			.transform = capture_transform(view),
			.area = view_area(view),
		},
		.dst = dst,
		.dst_type = frame->buffer_info.type,
		.dst_resource = frame->buffer,
		.region = region,
		.overlay = frame_overlay(view, frame, &cursor),
	};
	enum zc_copy_status status = zc_render_copy(engine, &options, handle_gpu_done, copy,
		&copy->job);
	wlr_buffer_unlock(dst);
	switch (status) {
	case ZC_COPY_FINISHED:
		copy_try_finish(copy);
		break;
	case ZC_COPY_QUEUED:
		break;
	case ZC_COPY_BAD_BUFFER:
		wlr_log(WLR_ERROR, "zerocap: the client's buffer cannot be drawn into");
		copy_destroy(copy);
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		break;
	case ZC_COPY_FAILED:
		wlr_log(WLR_ERROR, "zerocap: capture into the client's buffer failed; trying again");
		copy_destroy(copy);
		zc_frame_copy_retry(frame);
		break;
	}
}

static const struct zc_source_impl view_impl = {
	.describe_buffer = source_describe_buffer,
	.has_image = view_has_image,
	.request_image = view_request_image,
	.copy = view_copy,
};

static bool box_equal(const struct wlr_box *a, const struct wlr_box *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height;
}

struct zc_output_view *zc_output_view_get(struct zc_output_source *source, bool raw,
		const struct wlr_box *crop) {
	struct wlr_box want = {0};
	if (crop != NULL && !wlr_box_empty(crop)) {
		want = *crop;
	}
	struct zc_output_view *view;
	wl_list_for_each(view, &source->views, link) {
		if (view->raw == raw && box_equal(&view->crop, &want)) {
			view->refs++;
			return view;
		}
	}
	view = calloc(1, sizeof(*view));
	if (view == NULL) {
		return NULL;
	}
	zc_source_init(&view->base, &view_impl);
	view->base.stats = &source->manager->engine->stats;
	view->base.policy = &source->manager->policy;
	view->base.loop = wl_display_get_event_loop(source->manager->display);
	zc_target_add_source(&source->target, &view->base);
	view->output = source;
	view->raw = raw;
	view->crop = want;
	view->refs = 1;
	wl_list_insert(source->views.prev, &view->link);
	view_update_constraints(view, false);
	return view;
}

/* The output is going away: sessions stop, the view stays for its users. */
static void view_detach(struct zc_output_view *view) {
	zc_source_finish(&view->base);
	wl_list_remove(&view->link);
	wl_list_init(&view->link);
	view->output = NULL;
}

void zc_output_view_unref(struct zc_output_view *view) {
	if (view == NULL || --view->refs > 0) {
		return;
	}
	if (view->output != NULL) {
		view_detach(view);
	}
	free(view);
}

/* Every view's cursor box, in view order, to damage after a change. */
static struct wlr_box *cursor_boxes(struct zc_output_source *source) {
	size_t n = wl_list_length(&source->views);
	struct wlr_box *boxes = calloc(n > 0 ? n : 1, sizeof(*boxes));
	if (boxes == NULL) {
		return NULL;
	}
	struct zc_output_view *view;
	size_t i = 0;
	wl_list_for_each(view, &source->views, link) {
		boxes[i++] = cursor_box(view);
	}
	return boxes;
}

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
	struct wlr_buffer *dst = wlr_buffer_try_from_resource(frame->buffer);
	const struct zc_copy_options options = {
		.src = source->cursor_image,
		.geometry = {
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
			.area = {.width = source->cursor_image->width,
				.height = source->cursor_image->height},
		},
		.dst = dst,
		.dst_type = ZC_BUFFER_SHM,
		.region = region,
	};
	bool ok = dst != NULL && zc_render_copy_cpu(NULL, &options,
		&source->manager->engine->stats, NULL);
	wlr_buffer_unlock(dst);
	if (ok) {
		zc_frame_copy_done(frame, WL_OUTPUT_TRANSFORM_NORMAL, &source->cursor_when);
	} else if (dst == NULL) {
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
	} else {
		zc_frame_copy_retry(frame);
	}
}

static const struct zc_source_impl cursor_source_impl = {
	.describe_buffer = source_describe_buffer,
	.has_image = cursor_has_image,
	.request_image = cursor_request_image,
	.copy = cursor_copy,
};

struct zc_output_source *zc_output_source_of(struct zc_source *source) {
	if (source->impl == &cursor_source_impl) {
		return output_source_from_cursor(source);
	}
	return zc_output_source_from_source(source);
}

struct zc_output_source *zc_output_source_from_target(struct zc_target *target) {
	if (target == NULL || target->type != ZC_TARGET_OUTPUT) {
		return NULL;
	}
	struct zc_output_source *source = wl_container_of(target, source, target);
	return source;
}

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
	const struct wlr_output_event_precommit *event = data;
	const struct wlr_output_state *state = event->state;
	if (!(state->committed & WLR_OUTPUT_STATE_BUFFER)) {
		return;
	}
	if (state->committed & WLR_OUTPUT_STATE_DAMAGE) {
		pixman_region32_union(&source->pending_damage, &source->pending_damage,
			&state->damage);
	} else {
		pixman_region32_union_rect(&source->pending_damage, &source->pending_damage,
			0, 0, source->output->width, source->output->height);
	}
}

static void handle_output_commit(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_commit);
	const struct wlr_output_event_commit *event = data;
	const struct wlr_output_state *state = event->state;
	struct wlr_output *output = source->output;

	if (state->committed & (WLR_OUTPUT_STATE_MODE | WLR_OUTPUT_STATE_ENABLED |
			WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE)) {
		bool force = state->committed & (WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE);
		struct zc_output_view *view;
		wl_list_for_each(view, &source->views, link) {
			view_update_constraints(view, force);
		}
		wl_signal_emit(&source->events.cursor_update, NULL);
	}
	if (!(state->committed & WLR_OUTPUT_STATE_BUFFER) || state->buffer == NULL) {
		return;
	}

	/* Copies of an image never presented get the time it was replaced. */
	if (!source->image_presented && source->image != NULL) {
		struct timespec when = zc_wlr_commit_when(event);
		copy_set_time(source, source->image_seq, &when);
	}
	wlr_buffer_unlock(source->image);
	source->image = wlr_buffer_lock(state->buffer);
	source->image_seq = output->commit_seq;
	source->image_presented = source->early_present && source->early_seq == output->commit_seq;
	if (source->image_presented) {
		source->image_when = source->early_when;
	}
	source->early_present = false;

	pixman_region32_t damage;
	pixman_region32_init(&damage);
	struct zc_output_view *view, *tmp;
	wl_list_for_each_safe(view, tmp, &source->views, link) {
		wlr_region_transform(&damage, &source->pending_damage, capture_transform(view),
			output->width, output->height);
		view_damage(view, &damage, false);
	}
	pixman_region32_clear(&source->pending_damage);
	pixman_region32_fini(&damage);
}

static void handle_output_present(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_present);
	const struct wlr_output_event_present *event = data;
	struct timespec when = zc_wlr_present_when(event);
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
	wl_list_init(&source->views);
	zc_target_init(&source->target, ZC_TARGET_OUTPUT);
	zc_source_init(&source->cursor_base, &cursor_source_impl);
	zc_target_add_source(&source->target, &source->cursor_base);
	source->cursor_base.stats = &manager->engine->stats;
	source->cursor_base.policy = &manager->policy;
	source->cursor_base.loop = wl_display_get_event_loop(manager->display);
	wl_signal_init(&source->events.cursor_update);
	source->manager = manager;
	source->output = output;
	pixman_region32_init(&source->pending_damage);
	wl_list_init(&source->copies);
	if (zc_render_engine_has_gpu(manager->engine) &&
			!zc_render_engine_dmabuf_constraints(manager->engine, &source->dmabuf)) {
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
	wl_list_insert(&manager->targets, &source->target.link);
	source->view = zc_output_view_get(source, manager->options.raw_transform, NULL);
	if (source->view == NULL) {
		zc_output_source_destroy(source);
		return NULL;
	}
	return source;
}

void zc_output_source_destroy(struct zc_output_source *source) {
	if (source == NULL) {
		return;
	}
	struct zc_output_view *view, *view_tmp;
	wl_list_for_each_safe(view, view_tmp, &source->views, link) {
		view_detach(view);
	}
	zc_output_view_unref(source->view);
	zc_source_finish(&source->cursor_base);
	struct output_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, &source->copies, link) {
		struct zc_frame *frame = copy->frame;
		if (copy->job != NULL) {
			zc_render_job_cancel(copy->job);
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
	wl_list_remove(&source->target.link);
	pixman_region32_fini(&source->pending_damage);
	wlr_buffer_unlock(source->image);
	wlr_buffer_unlock(source->cursor_image);
	free(source);
}

void zc_output_source_drop_engine(struct zc_output_source *source) {
	struct output_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, &source->copies, link) {
		if (copy->job == NULL) {
			continue;
		}
		struct zc_frame *frame = copy->frame;
		zc_render_job_cancel(copy->job);
		copy_destroy(copy);
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
	}
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	source->dmabuf = (struct zc_constraints){0};
}

void zc_output_source_take_engine(struct zc_output_source *source) {
	struct zc_capture_manager *manager = source->manager;
	if (zc_render_engine_has_gpu(manager->engine) &&
			!zc_render_engine_dmabuf_constraints(manager->engine, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for %s", source->output->name);
	}
	struct zc_output_view *view;
	wl_list_for_each(view, &source->views, link) {
		view_update_constraints(view, true);
	}
}

void zc_output_source_set_cursor_image(struct zc_output_source *source,
		struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y) {
	struct wlr_box *before = cursor_boxes(source);
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
	damage_cursor(source, before);
	free(before);
}

void zc_output_source_move_cursor(struct zc_output_source *source,
		bool visible, double x, double y) {
	if (source->cursor_visible == visible && source->cursor_x == x && source->cursor_y == y) {
		return;
	}
	struct wlr_box *before = cursor_boxes(source);
	source->cursor_visible = visible;
	source->cursor_x = x;
	source->cursor_y = y;
	damage_cursor(source, before);
	free(before);
}
