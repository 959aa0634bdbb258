/*
 * Cursors: the cursor image as a capture source of its own (cursor sessions'
 * capture sessions), shared by output and window sources; and an output
 * source's cursor as the compositor sets it, the damage a move causes in
 * every view, and where cursor sessions on the output see it.
 */
#include <drm_fourcc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/box.h>
#include <wlr/util/log.h>
#include "manager.h"
#include "render/engine.h"
#include "render/render.h"
#include "source/output.h"

struct wlr_buffer *zc_cursor_image_create(const void *pixels, int32_t width, int32_t height,
		int32_t stride) {
	if (pixels == NULL || width <= 0 || height <= 0 || stride < width * 4) {
		return NULL;
	}
	struct wlr_buffer *image = zc_memory_buffer_create(width, height, DRM_FORMAT_ARGB8888);
	void *data;
	uint32_t format;
	size_t dst_stride;
	if (image == NULL) {
		return NULL;
	}
	if (!wlr_buffer_begin_data_ptr_access(image, WLR_BUFFER_DATA_PTR_ACCESS_WRITE,
			&data, &format, &dst_stride)) {
		wlr_buffer_drop(image);
		return NULL;
	}
	for (int32_t y = 0; y < height; y++) {
		memcpy((uint8_t *)data + (size_t)y * dst_stride,
			(const uint8_t *)pixels + (size_t)y * stride, (size_t)width * 4);
	}
	wlr_buffer_end_data_ptr_access(image);
	return image;
}

static struct zc_cursor_source *cursor_source_from_source(struct zc_source *base) {
	struct zc_cursor_source *cursor = wl_container_of(base, cursor, base);
	return cursor;
}

static bool cursor_has_image(struct zc_source *base) {
	return cursor_source_from_source(base)->image != NULL;
}

static void cursor_request_image(struct zc_source *base) {
	/* The cursor image is always current: nothing to wait for. */
}

static void cursor_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct zc_cursor_source *cursor = cursor_source_from_source(base);
	struct wlr_buffer *dst = wlr_buffer_try_from_resource(frame->buffer);
	const struct zc_copy_options options = {
		.src = cursor->image,
		.geometry = {
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
			.area = {.width = cursor->image->width, .height = cursor->image->height},
		},
		.dst = dst,
		.dst_type = ZC_BUFFER_SHM,
		.region = region,
	};
	bool ok = dst != NULL && zc_render_copy_cpu(NULL, &options, cursor->stats, NULL);
	wlr_buffer_unlock(dst);
	if (ok) {
		zc_frame_copy_done(frame, WL_OUTPUT_TRANSFORM_NORMAL, &cursor->when);
	} else if (dst == NULL) {
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
	} else {
		zc_frame_copy_retry(frame);
	}
}

static const struct zc_source_impl cursor_source_impl = {
	.describe_buffer = zc_output_describe_buffer,
	.has_image = cursor_has_image,
	.request_image = cursor_request_image,
	.copy = cursor_copy,
};

void zc_cursor_source_init(struct zc_cursor_source *cursor, struct zc_capture_manager *manager,
		struct zc_target *target) {
	zc_source_init(&cursor->base, &cursor_source_impl);
	cursor->base.is_cursor = true;
	zc_target_add_source(target, &cursor->base);
	cursor->stats = &manager->engine->stats;
	cursor->base.stats = &manager->engine->stats;
	cursor->base.policy = &manager->policy.base;
	cursor->base.loop = wl_display_get_event_loop(manager->display);
	cursor->image = NULL;
}

void zc_cursor_source_finish(struct zc_cursor_source *cursor) {
	zc_source_finish(&cursor->base);
	wlr_buffer_unlock(cursor->image);
	cursor->image = NULL;
}

void zc_cursor_source_set_image(struct zc_cursor_source *cursor, struct wlr_buffer *image,
		int32_t hotspot_x, int32_t hotspot_y) {
	if (image != NULL) {
		wlr_buffer_lock(image);
	}
	wlr_buffer_unlock(cursor->image);
	cursor->image = image;
	cursor->hotspot_x = hotspot_x;
	cursor->hotspot_y = hotspot_y;
	clock_gettime(CLOCK_MONOTONIC, &cursor->when);
	if (image != NULL) {
		struct zc_constraints constraints = {
			.width = image->width,
			.height = image->height,
			.shm_formats = (uint32_t *)zc_output_shm_formats,
			.n_shm_formats = ZC_OUTPUT_N_SHM_FORMATS,
		};
		zc_source_set_constraints(&cursor->base, &constraints, false);
		zc_source_damage_all(&cursor->base);
	}
}

static void damage_cursor(struct zc_output_source *source, const struct wlr_box *before) {
	wl_signal_emit(&source->pointer.events.update, NULL);
	if (before == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory tracking the cursor");
		return;
	}
	struct zc_output_view *view;
	size_t i = 0;
	wl_list_for_each(view, &source->views, link) {
		struct wlr_box after = zc_output_view_cursor_box(view);
		pixman_region32_t damage;
		pixman_region32_init_rect(&damage, before[i].x, before[i].y,
			before[i].width, before[i].height);
		pixman_region32_union_rect(&damage, &damage, after.x, after.y,
			after.width, after.height);
		/* Already in view buffer coordinates: clip only. */
		struct wlr_box area = zc_output_view_area(view);
		pixman_region32_intersect_rect(&damage, &damage, 0, 0, area.width, area.height);
		if (pixman_region32_not_empty(&damage) && view->base.has_constraints) {
			zc_source_damage(&view->base, &damage, true);
		}
		pixman_region32_fini(&damage);
		i++;
	}
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
		boxes[i++] = zc_output_view_cursor_box(view);
	}
	return boxes;
}

static void output_pointer_get(struct zc_pointer *pointer, struct zc_cursor_state *state) {
	struct zc_output_source *source = wl_container_of(pointer, source, pointer);
	*state = (struct zc_cursor_state){0};
	if (!source->cursor_visible || source->cursor.image == NULL) {
		return;
	}
	float scale = source->output->scale;
	/* Down: a pointer on the output to the left or above is negative here. */
	state->x = (int32_t)floor(source->cursor_x * scale);
	state->y = (int32_t)floor(source->cursor_y * scale);
	state->hotspot_x = source->cursor.hotspot_x;
	state->hotspot_y = source->cursor.hotspot_y;
	int width, height;
	wlr_output_transformed_resolution(source->output, &width, &height);
	struct wlr_box image = {
		.x = state->x - state->hotspot_x,
		.y = state->y - state->hotspot_y,
		.width = source->cursor.image->width,
		.height = source->cursor.image->height,
	};
	struct wlr_box area = {.width = width, .height = height};
	struct wlr_box overlap;
	state->inside = wlr_box_intersection(&overlap, &image, &area);
}

void zc_output_source_set_cursor_image(struct zc_output_source *source,
		struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y) {
	struct wlr_box *before = cursor_boxes(source);
	zc_cursor_source_set_image(&source->cursor, image, hotspot_x, hotspot_y);
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

void zc_output_cursor_init(struct zc_output_source *source) {
	zc_cursor_source_init(&source->cursor, source->manager, &source->target);
	source->pointer = (struct zc_pointer){
		.image = &source->cursor.base,
		.manager = source->manager,
		.get = output_pointer_get,
	};
	wl_signal_init(&source->pointer.events.update);
}
