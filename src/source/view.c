/*
 * Views of an output: each is a capture source with its own orientation
 * (upright, or the buffer's own), crop, constraints and damage, and each
 * copy of the output's image into a client buffer starts here and waits
 * for the image's presentation time before it is reported.
 */
#include <drm_fourcc.h>
#include <stdlib.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include <wlr/util/transform.h>
#include "manager.h"
#include "render/engine.h"
#include "source/output.h"
#include "source/source.h"

static const struct zc_source_impl view_impl;

const uint32_t zc_output_shm_formats[ZC_OUTPUT_N_SHM_FORMATS] = {
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
enum wl_output_transform zc_output_view_capture_transform(struct zc_output_view *view) {
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
struct wlr_box zc_output_view_area(struct zc_output_view *view) {
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

void zc_output_view_update_constraints(struct zc_output_view *view, bool force) {
	struct zc_output_source *source = view->output;
	struct wlr_output *output = source->output;
	struct wlr_box area = zc_output_view_area(view);
	if (!output->enabled || wlr_box_empty(&area)) {
		return;
	}
	struct zc_constraints constraints = source->dmabuf;
	constraints.width = area.width;
	constraints.height = area.height;
	constraints.shm_formats = (uint32_t *)zc_output_shm_formats;
	constraints.n_shm_formats = ZC_OUTPUT_N_SHM_FORMATS;
	if (!zc_source_set_constraints(&view->base, &constraints, force)) {
		wlr_log(WLR_ERROR, "zerocap: out of memory updating capture constraints");
	}
}

/* Damage of the full view image, clipped and moved to the view's buffer. */
void zc_output_view_damage(struct zc_output_view *view, pixman_region32_t *damage,
		bool cursor_only) {
	struct wlr_box area = zc_output_view_area(view);
	pixman_region32_intersect_rect(damage, damage, area.x, area.y, area.width, area.height);
	pixman_region32_translate(damage, -area.x, -area.y);
	if (pixman_region32_not_empty(damage) && view->base.has_constraints) {
		zc_source_damage(&view->base, damage, cursor_only);
	}
}

/* The cursor's box in the view's buffer, empty when it is not there. */
struct wlr_box zc_output_view_cursor_box(struct zc_output_view *view) {
	struct zc_output_source *source = view->output;
	struct wlr_box box = {0};
	struct zc_cursor_state state;
	source->pointer.get(&source->pointer, &state);
	if (!state.inside) {
		return box;
	}
	box.x = state.x - state.hotspot_x;
	box.y = state.y - state.hotspot_y;
	box.width = source->cursor.image->width;
	box.height = source->cursor.image->height;
	int w, h;
	wlr_output_transformed_resolution(source->output, &w, &h);
	wlr_box_transform(&box, &box, overlay_transform(view), w, h);
	struct wlr_box area = zc_output_view_area(view);
	box.x -= area.x;
	box.y -= area.y;
	return box;
}

bool zc_output_describe_buffer(struct zc_source *base, struct wl_resource *buffer,
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
	struct zc_source_copy base; /* in zc_output_source.copies */
	uint32_t transform; /* for the transform event */
	uint32_t image_seq;
	bool has_time;
	struct timespec when;
};

/* Reports the frame once the GPU is done and the image's time is known. */
static void copy_try_finish(struct output_copy *copy) {
	if (copy->base.job != NULL || !copy->has_time) {
		return;
	}
	struct zc_frame *frame = copy->base.frame;
	uint32_t transform = copy->transform;
	struct timespec when = copy->when;
	zc_source_copy_destroy(&copy->base);
	zc_frame_copy_done(frame, transform, &when);
}

void zc_output_source_set_copy_time(struct zc_output_source *source, uint32_t seq,
		const struct timespec *when) {
	struct output_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, &source->copies, base.link) {
		if (copy->image_seq == seq && !copy->has_time) {
			copy->has_time = true;
			copy->when = *when;
			copy_try_finish(copy);
		}
	}
}

static void handle_gpu_done(void *data, bool ok) {
	struct output_copy *copy = data;
	if (zc_source_copy_gpu_done(&copy->base, ok)) {
		copy_try_finish(copy);
	}
}

static struct zc_overlay *frame_overlay(struct zc_output_view *view,
		struct zc_frame *frame, struct zc_overlay *cursor) {
	struct zc_output_source *source = view->output;
	if (!frame->session->paint_cursors || !source->cursor_visible ||
			source->cursor.image == NULL) {
		return NULL;
	}
	cursor->image = source->cursor.image;
	cursor->box = zc_output_view_cursor_box(view);
	cursor->transform = overlay_transform(view);
	/* Not on this output: nothing to draw (the GPU would draw it at 0,0). */
	return wlr_box_empty(&cursor->box) ? NULL : cursor;
}

static void view_copy_derived(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region, const struct zc_convert *convert) {
	struct zc_output_view *view = view_from_source(base);
	struct zc_output_source *source = view->output;
	struct zc_render_engine *engine = source->manager->engine;
	struct output_copy *copy = zc_fault(&engine->faults, ZC_FAULT_ALLOC) ? NULL :
		calloc(1, sizeof(*copy));
	struct wlr_buffer *dst = zc_source_copy_begin(frame, copy != NULL);
	if (dst == NULL) {
		free(copy);
		return;
	}
	copy->base.frame = frame;
	copy->transform = reported_transform(view);
	copy->image_seq = source->image_seq;
	copy->has_time = source->image_presented;
	copy->when = source->image_when;
	wl_list_insert(source->copies.prev, &copy->base.link);

	struct zc_overlay cursor;
	const struct zc_copy_options options = {
		.src = source->image,
		.geometry = {
			.transform = zc_output_view_capture_transform(view),
			.area = zc_output_view_area(view),
		},
		.dst = dst,
		.dst_type = frame->buffer_info.type,
		.dst_resource = frame->buffer,
		.region = region,
		.overlay = frame_overlay(view, frame, &cursor),
		.convert = convert,
	};
	switch (zc_source_copy_run(engine, frame, &options, handle_gpu_done, copy,
			&copy->base.job)) {
	case ZC_COPY_FINISHED:
		copy_try_finish(copy);
		break;
	case ZC_COPY_QUEUED:
		break;
	case ZC_COPY_BAD_BUFFER:
	case ZC_COPY_FAILED:
		zc_source_copy_destroy(&copy->base);
		break;
	}
}

static void view_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	view_copy_derived(base, frame, region, NULL);
}

static const struct zc_source_impl view_impl = {
	.describe_buffer = zc_output_describe_buffer,
	.has_image = view_has_image,
	.request_image = view_request_image,
	.copy = view_copy,
	.copy_derived = view_copy_derived,
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
	view->base.policy = &source->manager->policy.base;
	view->base.pointer = &source->pointer;
	view->base.loop = wl_display_get_event_loop(source->manager->display);
	zc_target_add_source(&source->target, &view->base);
	view->output = source;
	view->raw = raw;
	view->crop = want;
	view->refs = 1;
	wl_list_insert(source->views.prev, &view->link);
	zc_output_view_update_constraints(view, false);
	return view;
}

/* The output is going away: sessions stop, the view stays for its users. */
void zc_output_view_detach(struct zc_output_view *view) {
	zc_source_finish(&view->base);
	wl_list_remove(&view->link);
	wl_list_init(&view->link);
	view->output = NULL;
	view->base.pointer = NULL;
}

void zc_output_view_unref(struct zc_output_view *view) {
	if (view == NULL || --view->refs > 0) {
		return;
	}
	if (view->output != NULL) {
		zc_output_view_detach(view);
	}
	free(view);
}
