/*
 * Derived capture sources (zerocap-capture-options-v1): a parent source's
 * image cropped, scaled and converted in the copy that writes the client's
 * buffer. The parent does the copy (copy_derived); this file keeps the
 * derived geometry, constraints and damage in step with the parent.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wlr/util/log.h>
#include "manager.h"
#include "render/engine.h"
#include "source/derived.h"
#include "source/output.h"
#include "source/toplevel.h"

static const struct zc_source_impl derived_impl;

static struct zc_derived_source *derived_from_source(struct zc_source *base) {
	struct zc_derived_source *source = wl_container_of(base, source, base);
	return source;
}

bool zc_source_is_derived(const struct zc_source *source) {
	return source->impl == &derived_impl;
}

/* The crop in parent image pixels: logical coordinates times the parent's scale. */
static struct wlr_box parent_crop(struct zc_derived_source *source) {
	struct zc_source *parent = source->parent;
	struct wlr_box full = {.width = parent->constraints.width,
		.height = parent->constraints.height};
	if (!source->options.has_crop) {
		return full;
	}
	const struct wlr_box *crop = &source->options.crop;
	double scale = 1, origin_x = 0, origin_y = 0;
	struct zc_output_source *output = zc_output_source_from_source(parent);
	struct zc_toplevel_source *toplevel = parent->target != NULL ?
		zc_toplevel_source_from_target(parent->target) : NULL;
	if (output != NULL) {
		scale = output->output->scale;
	} else if (toplevel != NULL) {
		scale = toplevel->scale;
		origin_x = toplevel->extents.x;
		origin_y = toplevel->extents.y;
	}
	int x1 = (int)lround((crop->x - origin_x) * scale);
	int y1 = (int)lround((crop->y - origin_y) * scale);
	int x2 = (int)lround((crop->x + crop->width - origin_x) * scale);
	int y2 = (int)lround((crop->y + crop->height - origin_y) * scale);
	struct wlr_box box = {x1, y1, x2 - x1, y2 - y1}, clipped;
	if (!wlr_box_intersection(&clipped, &box, &full)) {
		return (struct wlr_box){0};
	}
	return clipped;
}

/* The parent's dma-buf formats as the derived source offers them. */
static bool derived_dmabuf(struct zc_derived_source *source, struct zc_constraints *out) {
	const struct zc_constraints *parent = &source->parent->constraints;
	uint32_t format = source->options.format;
	if (!parent->has_dmabuf) {
		return true;
	}
	if (zc_format_is_yuv(format)) {
		return zc_render_engine_yuv_constraints(source->manager->engine, format, out);
	}
	out->has_dmabuf = true;
	out->dmabuf_device = parent->dmabuf_device;
	out->dmabuf_formats = calloc(parent->n_dmabuf_formats + 1, sizeof(*out->dmabuf_formats));
	if (out->dmabuf_formats == NULL) {
		return false;
	}
	for (size_t i = 0; i < parent->n_dmabuf_formats; i++) {
		const struct zc_dmabuf_format *f = &parent->dmabuf_formats[i];
		if (format != 0 && f->format != format) {
			continue;
		}
		struct zc_dmabuf_format *copy = &out->dmabuf_formats[out->n_dmabuf_formats];
		copy->modifiers = calloc(f->n_modifiers + 1, sizeof(*copy->modifiers));
		if (copy->modifiers == NULL) {
			return false;
		}
		memcpy(copy->modifiers, f->modifiers, f->n_modifiers * sizeof(*f->modifiers));
		copy->n_modifiers = f->n_modifiers;
		copy->format = f->format;
		out->n_dmabuf_formats++;
	}
	return true;
}

static void derived_stop(struct zc_derived_source *source) {
	if (source->parent != NULL) {
		wl_list_remove(&source->parent_destroy.link);
		wl_list_remove(&source->parent_constraints.link);
		wl_list_remove(&source->parent_damage.link);
		source->parent = NULL;
	}
	source->finishing = true;
	zc_source_finish(&source->base);
	source->finishing = false;
}

static void derived_update(struct zc_derived_source *source) {
	struct zc_source *parent = source->parent;
	if (parent == NULL || !parent->has_constraints) {
		return;
	}
	struct wlr_box crop = parent_crop(source);
	int width = source->options.width > 0 ? (int)source->options.width : crop.width;
	int height = source->options.height > 0 ? (int)source->options.height : crop.height;
	uint32_t format = source->options.format;
	if (zc_format_is_yuv(format)) {
		width &= ~1;
		height &= ~1;
	}
	if (wlr_box_empty(&crop) || width <= 0 || height <= 0) {
		wlr_log(WLR_INFO, "zerocap: a derived capture source shows nothing of its "
			"parent (crop outside it, or under two pixels); stopping its sessions");
		derived_stop(source);
		return;
	}
	source->convert = (struct zc_convert){
		.parent_width = parent->constraints.width,
		.parent_height = parent->constraints.height,
		.crop = crop,
		.width = width,
		.height = height,
		.matrix = source->options.matrix,
		.range = source->options.range,
	};
	struct zc_constraints constraints = {
		.width = width,
		.height = height,
	};
	uint32_t one_format[1] = {format};
	bool ok = derived_dmabuf(source, &constraints);
	/* shm formats are borrowed, the rest is ours to free. */
	if (zc_format_is_yuv(format)) {
		/* wlroots' wl_shm refuses multi-planar formats: YCbCr is dma-buf only. */
	} else if (format != 0) {
		constraints.shm_formats = one_format;
		constraints.n_shm_formats = 1;
	} else {
		constraints.shm_formats = parent->constraints.shm_formats;
		constraints.n_shm_formats = parent->constraints.n_shm_formats;
	}
	ok = ok && zc_source_set_constraints(&source->base, &constraints, false);
	constraints.shm_formats = NULL;
	constraints.n_shm_formats = 0;
	zc_constraints_finish(&constraints);
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: out of memory for a derived source's constraints");
	}
}

static void handle_parent_destroy(struct wl_listener *listener, void *data) {
	struct zc_derived_source *source = wl_container_of(listener, source, parent_destroy);
	derived_stop(source);
}

static void handle_parent_constraints(struct wl_listener *listener, void *data) {
	struct zc_derived_source *source = wl_container_of(listener, source, parent_constraints);
	derived_update(source);
}

static void handle_parent_damage(struct wl_listener *listener, void *data) {
	struct zc_derived_source *source = wl_container_of(listener, source, parent_damage);
	const struct zc_source_damage_event *event = data;
	if (!source->base.has_constraints) {
		return;
	}
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	zc_convert_damage(&source->convert, event->damage, &damage);
	if (pixman_region32_not_empty(&damage)) {
		zc_source_damage(&source->base, &damage, event->cursor_only);
	}
	pixman_region32_fini(&damage);
}

static bool derived_describe_buffer(struct zc_source *base, struct wl_resource *buffer,
		struct zc_buffer_info *info) {
	return zc_render_describe_buffer(buffer, info);
}

static bool derived_has_image(struct zc_source *base) {
	struct zc_source *parent = derived_from_source(base)->parent;
	return parent != NULL && parent->impl->has_image(parent);
}

static void derived_request_image(struct zc_source *base) {
	struct zc_source *parent = derived_from_source(base)->parent;
	if (parent != NULL) {
		parent->impl->request_image(parent);
	}
}

static void derived_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct zc_derived_source *source = derived_from_source(base);
	struct zc_source *parent = source->parent;
	if (parent == NULL) {
		zc_frame_copy_failed(frame, ZC_FAILURE_STOPPED);
		return;
	}
	parent->impl->copy_derived(parent, frame, region, &source->convert);
}

static void derived_destroy(struct zc_derived_source *source) {
	derived_stop(source);
	free(source);
}

static void derived_sessions_gone(struct zc_source *base) {
	struct zc_derived_source *source = derived_from_source(base);
	if (!source->held && !source->finishing) {
		derived_destroy(source);
	}
}

static const struct zc_source_impl derived_impl = {
	.describe_buffer = derived_describe_buffer,
	.has_image = derived_has_image,
	.request_image = derived_request_image,
	.copy = derived_copy,
	.sessions_gone = derived_sessions_gone,
};

struct zc_derived_source *zc_derived_source_create(struct zc_capture_manager *manager,
		struct zc_source *parent, const struct zc_derive_options *options) {
	struct zc_derived_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		return NULL;
	}
	zc_source_init(&source->base, &derived_impl);
	source->manager = manager;
	source->options = *options;
	source->held = true;
	source->base.max_fps = options->max_fps;
	if (parent == NULL || parent->impl->copy_derived == NULL || parent->is_cursor) {
		return source; /* sessions start stopped: no parent */
	}
	source->parent = parent;
	source->base.stats = parent->stats;
	source->base.policy = parent->policy;
	source->base.loop = parent->loop;
	if (parent->target != NULL) {
		zc_target_add_source(parent->target, &source->base);
	}
	source->parent_destroy.notify = handle_parent_destroy;
	wl_signal_add(&parent->events.destroy, &source->parent_destroy);
	source->parent_constraints.notify = handle_parent_constraints;
	wl_signal_add(&parent->events.constraints, &source->parent_constraints);
	source->parent_damage.notify = handle_parent_damage;
	wl_signal_add(&parent->events.damage, &source->parent_damage);
	derived_update(source);
	return source;
}

void zc_derived_source_release(struct zc_derived_source *source) {
	if (source == NULL) {
		return;
	}
	source->held = false;
	if (wl_list_empty(&source->base.sessions)) {
		derived_destroy(source);
	}
}
