/*
 * Toplevel sources: one window, captured from its own surfaces.
 *
 * The window is the compositor's scene subtree for it. zerocap watches the
 * surfaces in that tree (commits, new subsurfaces and popups) and, once per
 * burst of commits (an idle callback), walks the tree: the main surface and
 * its subsurfaces give the image's extents, every surface with a buffer
 * becomes a layer, and the difference to the last walk plus the surfaces'
 * own damage is the frame damage. A copy hands the layers to the engine:
 * one draw into the client's buffer.
 *
 * Lifetimes: the source dies with its tree, its main surface, its wlroots
 * handle, the manager, or zc_toplevel_source_destroy(). Watched surfaces
 * are forgotten when they are destroyed or leave the tree; copies in flight
 * fail with stopped when the source goes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_ext_foreign_toplevel_list_v1.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>
#include <wlr/util/region.h>
#include <wlr/util/transform.h>
#include "manager.h"
#include "source/output.h"
#include "source/source.h"
#include "source/toplevel.h"

/* A surface of the window whose commits zerocap follows. */
struct toplevel_surface {
	struct zc_toplevel_source *source;
	struct wl_list link; /* zc_toplevel_source.surfaces */
	struct wlr_surface *surface;
	pixman_region32_t damage; /* surface-local, since the last walk */
	bool seen; /* found in the current walk */
	struct wl_listener commit;
	struct wl_listener destroy;
	struct wl_listener new_subsurface;
	struct wlr_xdg_surface *xdg; /* while it is an xdg surface: for its popups */
	struct wl_listener new_popup;
	struct wl_listener xdg_destroy;
};

struct toplevel_copy {
	struct zc_source_copy base; /* in zc_toplevel_source.copies */
	struct timespec when;
};

static const struct zc_source_impl toplevel_impl;
static void schedule_walk(struct zc_toplevel_source *source);

static struct zc_toplevel_source *toplevel_from_source(struct zc_source *base) {
	struct zc_toplevel_source *source = wl_container_of(base, source, base);
	return source;
}

struct zc_toplevel_source *zc_toplevel_source_from_target(struct zc_target *target) {
	if (target == NULL || target->type != ZC_TARGET_TOPLEVEL) {
		return NULL;
	}
	struct zc_toplevel_source *source = wl_container_of(target, source, target);
	return source;
}

/* Watched surfaces */

static void surface_forget(struct toplevel_surface *ts) {
	wl_list_remove(&ts->link);
	wl_list_remove(&ts->commit.link);
	wl_list_remove(&ts->destroy.link);
	wl_list_remove(&ts->new_subsurface.link);
	if (ts->xdg != NULL) {
		wl_list_remove(&ts->new_popup.link);
		wl_list_remove(&ts->xdg_destroy.link);
	}
	pixman_region32_fini(&ts->damage);
	free(ts);
}

/* A popup's wl_surface may outlive its role: then only the walk keeps it. */
static void handle_xdg_destroy(struct wl_listener *listener, void *data) {
	struct toplevel_surface *ts = wl_container_of(listener, ts, xdg_destroy);
	wl_list_remove(&ts->new_popup.link);
	wl_list_remove(&ts->xdg_destroy.link);
	ts->xdg = NULL;
	schedule_walk(ts->source);
}

static void handle_surface_commit(struct wl_listener *listener, void *data) {
	struct toplevel_surface *ts = wl_container_of(listener, ts, commit);
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	wlr_surface_get_effective_damage(ts->surface, &damage);
	pixman_region32_union(&ts->damage, &ts->damage, &damage);
	pixman_region32_fini(&damage);
	schedule_walk(ts->source);
}

static void handle_surface_gone(struct wl_listener *listener, void *data) {
	struct toplevel_surface *ts = wl_container_of(listener, ts, destroy);
	struct zc_toplevel_source *source = ts->source;
	surface_forget(ts);
	schedule_walk(source);
}

static void handle_surface_grows(struct wl_listener *listener, void *data) {
	struct toplevel_surface *ts = wl_container_of(listener, ts, new_subsurface);
	schedule_walk(ts->source);
}

static struct toplevel_surface *surface_watch(struct zc_toplevel_source *source,
	struct wlr_surface *surface);

static void handle_new_popup(struct wl_listener *listener, void *data) {
	struct toplevel_surface *ts = wl_container_of(listener, ts, new_popup);
	struct wlr_xdg_popup *popup = data;
	/* Its first buffer comes with its own commit: follow it from now on. */
	surface_watch(ts->source, popup->base->surface);
	schedule_walk(ts->source);
}

static struct toplevel_surface *surface_find(struct zc_toplevel_source *source,
		struct wlr_surface *surface) {
	struct toplevel_surface *ts;
	wl_list_for_each(ts, &source->surfaces, link) {
		if (ts->surface == surface) {
			return ts;
		}
	}
	return NULL;
}

static struct toplevel_surface *surface_watch(struct zc_toplevel_source *source,
		struct wlr_surface *surface) {
	struct toplevel_surface *ts = surface_find(source, surface);
	if (ts != NULL) {
		return ts;
	}
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory following a window's surface");
		return NULL;
	}
	ts->source = source;
	ts->surface = surface;
	pixman_region32_init(&ts->damage);
	ts->commit.notify = handle_surface_commit;
	wl_signal_add(&surface->events.commit, &ts->commit);
	ts->destroy.notify = handle_surface_gone;
	wl_signal_add(&surface->events.destroy, &ts->destroy);
	ts->new_subsurface.notify = handle_surface_grows;
	wl_signal_add(&surface->events.new_subsurface, &ts->new_subsurface);
	ts->xdg = wlr_xdg_surface_try_from_wlr_surface(surface);
	if (ts->xdg != NULL) {
		ts->new_popup.notify = handle_new_popup;
		wl_signal_add(&ts->xdg->events.new_popup, &ts->new_popup);
		ts->xdg_destroy.notify = handle_xdg_destroy;
		wl_signal_add(&ts->xdg->events.destroy, &ts->xdg_destroy);
	}
	wl_list_insert(source->surfaces.prev, &ts->link);
	return ts;
}

/* The walk */

struct walk {
	struct zc_toplevel_source *source;
	struct toplevel_layer *layers;
	struct wlr_surface **surfaces; /* of each layer; NULL: not a surface */
	size_t n, cap;
	bool failed;
	bool have_extents;
	struct wlr_box extents; /* tree coordinates, logical */
};

static void box_union(struct wlr_box *dst, const struct wlr_box *box) {
	int x1 = dst->x < box->x ? dst->x : box->x;
	int y1 = dst->y < box->y ? dst->y : box->y;
	int x2 = dst->x + dst->width > box->x + box->width ?
		dst->x + dst->width : box->x + box->width;
	int y2 = dst->y + dst->height > box->y + box->height ?
		dst->y + dst->height : box->y + box->height;
	*dst = (struct wlr_box){.x = x1, .y = y1, .width = x2 - x1, .height = y2 - y1};
}

static void walk_add(struct walk *walk, struct wlr_scene_buffer *node, int x, int y) {
	struct wlr_scene_surface *scene_surface = wlr_scene_surface_try_from_buffer(node);
	struct wlr_surface *surface = scene_surface != NULL ? scene_surface->surface : NULL;
	if (surface != NULL) {
		struct toplevel_surface *ts = surface_watch(walk->source, surface);
		if (ts != NULL) {
			ts->seen = true;
		}
	}
	if (node->buffer == NULL) {
		return;
	}
	int width = node->dst_width, height = node->dst_height;
	if (width <= 0 || height <= 0) {
		width = node->buffer->width;
		height = node->buffer->height;
		if (node->transform % 2 == 1) {
			width = node->buffer->height;
			height = node->buffer->width;
		}
	}
	struct wlr_box box = {.x = x, .y = y, .width = width, .height = height};
	if (surface == NULL || wlr_surface_get_root_surface(surface) == walk->source->surface) {
		if (walk->have_extents) {
			box_union(&walk->extents, &box);
		} else {
			walk->extents = box;
			walk->have_extents = true;
		}
	}
	if (walk->n == walk->cap) {
		size_t cap = walk->cap > 0 ? walk->cap * 2 : 8;
		struct toplevel_layer *layers = realloc(walk->layers, cap * sizeof(*layers));
		struct wlr_surface **surfaces = layers != NULL ?
			realloc(walk->surfaces, cap * sizeof(*surfaces)) : NULL;
		if (layers != NULL) {
			walk->layers = layers;
		}
		if (surfaces == NULL) {
			walk->failed = true;
			return;
		}
		walk->surfaces = surfaces;
		walk->cap = cap;
	}
	walk->surfaces[walk->n] = surface;
	walk->layers[walk->n++] = (struct toplevel_layer){
		.node = node,
		.buffer = node->buffer,
		.dst = box, /* tree coordinates until the extents are known */
		.src = node->src_box,
		.transform = wlr_output_transform_invert(node->transform),
	};
}

/* Depth first, bottom to top; the root counts even when it is disabled. */
static void walk_node(struct walk *walk, struct wlr_scene_node *node, int x, int y, bool root) {
	if (!node->enabled && !root) {
		return;
	}
	x += node->x;
	y += node->y;
	if (root) {
		x = 0;
		y = 0;
	}
	if (node->type == WLR_SCENE_NODE_BUFFER) {
		walk_add(walk, wlr_scene_buffer_from_node(node), x, y);
	} else if (node->type == WLR_SCENE_NODE_TREE) {
		struct wlr_scene_tree *tree = wlr_scene_tree_from_node(node);
		struct wlr_scene_node *child;
		wl_list_for_each(child, &tree->children, link) {
			walk_node(walk, child, x, y, false);
		}
	}
}

static bool layer_same(const struct toplevel_layer *a, const struct toplevel_layer *b) {
	return a->node == b->node && wlr_box_equal(&a->dst, &b->dst) &&
		wlr_fbox_equal(&a->src, &b->src) && a->transform == b->transform;
}

static void damage_box(pixman_region32_t *damage, const struct wlr_box *box) {
	pixman_region32_union_rect(damage, damage, box->x, box->y, box->width, box->height);
}

static void update_constraints(struct zc_toplevel_source *source, bool force) {
	if (!source->has_image) {
		return;
	}
	struct zc_constraints constraints = source->dmabuf;
	constraints.width = source->extents.width * source->scale;
	constraints.height = source->extents.height * source->scale;
	constraints.shm_formats = (uint32_t *)zc_output_shm_formats;
	constraints.n_shm_formats = ZC_OUTPUT_N_SHM_FORMATS;
	if (!zc_source_set_constraints(&source->base, &constraints, force)) {
		wlr_log(WLR_ERROR, "zerocap: out of memory updating capture constraints");
	}
}

static void cursor_update(struct zc_toplevel_source *source);

/* Where the tree's origin is on screen, for the cursor. */
static void tree_position(struct zc_toplevel_source *source) {
	struct wlr_scene_node *node = source->place != NULL ? source->place : &source->tree->node;
	wlr_scene_node_coords(node, &source->tree_x, &source->tree_y);
}

static void walk(struct zc_toplevel_source *source) {
	struct walk w = {.source = source};
	struct toplevel_surface *ts, *ts_tmp;
	wl_list_for_each(ts, &source->surfaces, link) {
		ts->seen = ts->surface == source->surface;
	}
	walk_node(&w, &source->tree->node, 0, 0, true);
	if (w.failed) {
		wlr_log(WLR_ERROR, "zerocap: out of memory walking a window");
		free(w.layers);
		free(w.surfaces);
		return;
	}
	int scale = source->surface->current.scale > 0 ? source->surface->current.scale : 1;
	struct wlr_box extents = w.have_extents ? w.extents : (struct wlr_box){0};
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	for (size_t i = 0; i < w.n; i++) {
		struct toplevel_layer *layer = &w.layers[i];
		layer->dst.x = (layer->dst.x - extents.x) * scale;
		layer->dst.y = (layer->dst.y - extents.y) * scale;
		layer->dst.width *= scale;
		layer->dst.height *= scale;
		const struct toplevel_layer *old = i < source->n_layers ? &source->layers[i] : NULL;
		if (old == NULL || !layer_same(old, layer)) {
			damage_box(&damage, &layer->dst);
			if (old != NULL) {
				damage_box(&damage, &old->dst);
			}
			continue;
		}
		ts = w.surfaces[i] != NULL ? surface_find(source, w.surfaces[i]) : NULL;
		if (ts != NULL && pixman_region32_not_empty(&ts->damage)) {
			/* Surface-local to image pixels: the layer is the surface at scale. */
			pixman_region32_t local;
			pixman_region32_init(&local);
			wlr_region_scale(&local, &ts->damage, scale);
			pixman_region32_translate(&local, layer->dst.x, layer->dst.y);
			pixman_region32_union(&damage, &damage, &local);
			pixman_region32_fini(&local);
		} else if (old->buffer != layer->buffer) {
			damage_box(&damage, &layer->dst);
		}
	}
	for (size_t i = w.n; i < source->n_layers; i++) {
		damage_box(&damage, &source->layers[i].dst);
	}
	wl_list_for_each_safe(ts, ts_tmp, &source->surfaces, link) {
		pixman_region32_clear(&ts->damage);
		if (!ts->seen && ts->xdg == NULL) {
			surface_forget(ts);
		}
	}
	free(w.surfaces);

	bool resized = extents.width != source->extents.width ||
		extents.height != source->extents.height || scale != source->scale;
	free(source->layers);
	source->layers = w.layers;
	source->n_layers = w.n;
	source->extents = extents;
	source->scale = scale;
	source->has_image = extents.width > 0 && extents.height > 0;
	tree_position(source);
	clock_gettime(CLOCK_MONOTONIC, &source->image_when);
	if (resized) {
		update_constraints(source, false);
		wl_signal_emit(&source->pointer.events.update, NULL);
	} else if (source->has_image && pixman_region32_not_empty(&damage)) {
		zc_source_damage(&source->base, &damage, false);
	}
	pixman_region32_fini(&damage);
	cursor_update(source);
}

static void handle_walk_idle(void *data) {
	struct zc_toplevel_source *source = data;
	source->walk_idle = NULL;
	walk(source);
}

static void schedule_walk(struct zc_toplevel_source *source) {
	if (source->walk_idle != NULL) {
		return;
	}
	struct wl_event_loop *loop = wl_display_get_event_loop(source->manager->display);
	source->walk_idle = wl_event_loop_add_idle(loop, handle_walk_idle, source);
	if (source->walk_idle == NULL) {
		walk(source);
	}
}

/* The cursor */

/* The cursor's hotspot in image pixels. */
static void cursor_position(struct zc_toplevel_source *source, int32_t *x, int32_t *y) {
	const struct zc_manager_cursor *cursor = &source->manager->cursor;
	double lx = cursor->x - (source->tree_x + source->extents.x);
	double ly = cursor->y - (source->tree_y + source->extents.y);
	/* Down, as on the output: a pointer left of or above the window is negative. */
	*x = (int32_t)floor(lx * source->scale);
	*y = (int32_t)floor(ly * source->scale);
}

/* Where the cursor image lands in the image; empty when it is not there. */
static struct wlr_box cursor_box(struct zc_toplevel_source *source) {
	const struct zc_manager_cursor *cursor = &source->manager->cursor;
	struct wlr_box box = {0};
	if (!source->has_image || !cursor->visible || cursor->image == NULL) {
		return box;
	}
	int32_t x, y;
	cursor_position(source, &x, &y);
	box = (struct wlr_box){
		.x = x - cursor->hotspot_x,
		.y = y - cursor->hotspot_y,
		.width = cursor->image->width,
		.height = cursor->image->height,
	};
	struct wlr_box image = {
		.width = source->extents.width * source->scale,
		.height = source->extents.height * source->scale,
	};
	struct wlr_box inside;
	if (!wlr_box_intersection(&inside, &box, &image)) {
		return (struct wlr_box){0};
	}
	return box;
}

/* The cursor's box moved (or came, or went): damage for paint_cursors, news for cursor sessions. */
static void cursor_update(struct zc_toplevel_source *source) {
	struct wlr_box before = source->cursor_drawn;
	struct wlr_box after = cursor_box(source);
	if (wlr_box_equal(&before, &after)) {
		return;
	}
	source->cursor_drawn = after;
	wl_signal_emit(&source->pointer.events.update, NULL);
	if (!source->base.has_constraints) {
		return;
	}
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	damage_box(&damage, &before);
	damage_box(&damage, &after);
	pixman_region32_intersect_rect(&damage, &damage, 0, 0,
		source->base.constraints.width, source->base.constraints.height);
	if (pixman_region32_not_empty(&damage)) {
		zc_source_damage(&source->base, &damage, true);
	}
	pixman_region32_fini(&damage);
}

static void pointer_get(struct zc_pointer *pointer, struct zc_cursor_state *state) {
	struct zc_toplevel_source *source = wl_container_of(pointer, source, pointer);
	const struct zc_manager_cursor *cursor = &source->manager->cursor;
	*state = (struct zc_cursor_state){0};
	struct wlr_box box = cursor_box(source);
	if (wlr_box_empty(&box)) {
		return;
	}
	state->inside = true;
	cursor_position(source, &state->x, &state->y);
	state->hotspot_x = cursor->hotspot_x;
	state->hotspot_y = cursor->hotspot_y;
}

void zc_toplevel_source_cursor_changed(struct zc_toplevel_source *source, bool new_image) {
	const struct zc_manager_cursor *cursor = &source->manager->cursor;
	if (new_image) {
		zc_cursor_source_set_image(&source->cursor, cursor->image, cursor->hotspot_x,
			cursor->hotspot_y);
	}
	/* The window may have moved since the last walk. */
	tree_position(source);
	cursor_update(source);
	if (new_image) {
		wl_signal_emit(&source->pointer.events.update, NULL);
	}
}

/* Copies */

static void copy_finish(struct toplevel_copy *copy) {
	struct zc_frame *frame = copy->base.frame;
	struct timespec when = copy->when;
	zc_source_copy_destroy(&copy->base);
	zc_frame_copy_done(frame, WL_OUTPUT_TRANSFORM_NORMAL, &when);
}

static void handle_gpu_done(void *data, bool ok) {
	struct toplevel_copy *copy = data;
	if (zc_source_copy_gpu_done(&copy->base, ok)) {
		copy_finish(copy);
	}
}

/* The layers as the engine takes them, with the surfaces' current textures. */
static struct zc_layer *engine_layers(struct zc_toplevel_source *source, size_t *n_out,
		struct wlr_texture ***owned_out, size_t *n_owned) {
	struct zc_layer *layers = calloc(source->n_layers > 0 ? source->n_layers : 1,
		sizeof(*layers));
	struct wlr_texture **owned = calloc(source->n_layers > 0 ? source->n_layers : 1,
		sizeof(*owned));
	*n_out = 0;
	*n_owned = 0;
	if (layers == NULL || owned == NULL) {
		free(layers);
		free(owned);
		return NULL;
	}
	struct wlr_renderer *renderer = source->manager->engine->renderer;
	for (size_t i = 0; i < source->n_layers; i++) {
		const struct toplevel_layer *layer = &source->layers[i];
		struct wlr_client_buffer *client = wlr_client_buffer_get(layer->buffer);
		struct wlr_texture *texture = client != NULL ? client->texture : NULL;
		if (texture == NULL) {
			/* Not a client's buffer (e.g. the compositor's own): import it. */
			texture = wlr_texture_from_buffer(renderer, layer->buffer);
			if (texture == NULL) {
				continue;
			}
			owned[(*n_owned)++] = texture;
		}
		layers[(*n_out)++] = (struct zc_layer){
			.texture = texture,
			.src = layer->src,
			.dst = layer->dst,
			.transform = layer->transform,
		};
	}
	*owned_out = owned;
	return layers;
}

static void toplevel_copy_derived(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region, const struct zc_convert *convert) {
	struct zc_toplevel_source *source = toplevel_from_source(base);
	struct zc_render_engine *engine = source->manager->engine;
	struct toplevel_copy *copy = zc_fault(&engine->faults, ZC_FAULT_ALLOC) ? NULL :
		calloc(1, sizeof(*copy));
	struct wlr_buffer *dst = zc_source_copy_begin(frame, copy != NULL);
	if (dst == NULL) {
		free(copy);
		return;
	}
	copy->base.frame = frame;
	copy->when = source->image_when;
	wl_list_insert(source->copies.prev, &copy->base.link);

	size_t n_layers, n_owned;
	struct wlr_texture **owned = NULL;
	struct zc_layer *layers = engine_layers(source, &n_layers, &owned, &n_owned);
	struct zc_overlay overlay = {0};
	const struct zc_manager_cursor *cursor = &source->manager->cursor;
	struct wlr_box box = cursor_box(source);
	bool with_cursor = frame->session->paint_cursors && !wlr_box_empty(&box);
	if (with_cursor) {
		overlay = (struct zc_overlay){
			.image = cursor->image,
			.box = box,
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
	}
	const struct zc_copy_options options = {
		.layers = layers,
		.n_layers = n_layers,
		.dst = dst,
		.dst_type = frame->buffer_info.type,
		.dst_resource = frame->buffer,
		.region = region,
		.overlay = with_cursor ? &overlay : NULL,
		.convert = convert,
	};
	enum zc_copy_status status;
	if (layers == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory for a window capture; trying again");
		wlr_buffer_unlock(dst);
		zc_frame_copy_retry(frame);
		status = ZC_COPY_FAILED;
	} else {
		status = zc_source_copy_run(engine, frame, &options, handle_gpu_done, copy,
			&copy->base.job);
	}
	for (size_t i = 0; i < n_owned; i++) {
		wlr_texture_destroy(owned[i]);
	}
	free(owned);
	free(layers);
	switch (status) {
	case ZC_COPY_FINISHED:
		copy_finish(copy);
		break;
	case ZC_COPY_QUEUED:
		break;
	case ZC_COPY_BAD_BUFFER:
	case ZC_COPY_FAILED:
		zc_source_copy_destroy(&copy->base);
		break;
	}
}

static bool toplevel_has_image(struct zc_source *base) {
	return toplevel_from_source(base)->has_image;
}

static void toplevel_request_image(struct zc_source *base) {
	/* Windows draw by themselves; their commits bring new images. */
}

static void toplevel_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	toplevel_copy_derived(base, frame, region, NULL);
}

static const struct zc_source_impl toplevel_impl = {
	.describe_buffer = zc_output_describe_buffer,
	.has_image = toplevel_has_image,
	.request_image = toplevel_request_image,
	.copy = toplevel_copy,
	.copy_derived = toplevel_copy_derived,
};

/* Lifetime */

static void handle_tree_destroy(struct wl_listener *listener, void *data) {
	struct zc_toplevel_source *source = wl_container_of(listener, source, tree_destroy);
	zc_toplevel_source_destroy(source);
}

static void handle_main_surface_destroy(struct wl_listener *listener, void *data) {
	struct zc_toplevel_source *source = wl_container_of(listener, source, surface_destroy);
	zc_toplevel_source_destroy(source);
}

static void handle_handle_destroy(struct wl_listener *listener, void *data) {
	struct zc_toplevel_source *source = wl_container_of(listener, source, handle_destroy);
	zc_toplevel_source_destroy(source);
}

static void handle_place_destroy(struct wl_listener *listener, void *data) {
	struct zc_toplevel_source *source = wl_container_of(listener, source, place_destroy);
	wl_list_remove(&source->place_destroy.link);
	wl_list_init(&source->place_destroy.link);
	source->place = NULL;
}

static void set_string(char **dst, const char *value) {
	char *copy = strdup(value != NULL ? value : "");
	if (copy == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory for a window's title or app_id");
		return;
	}
	free(*dst);
	*dst = copy;
}

struct zc_toplevel_source *zc_toplevel_source_create(struct zc_capture_manager *manager,
		const struct zc_toplevel_source_options *options) {
	if (options == NULL || options->tree == NULL || options->surface == NULL) {
		wlr_log(WLR_ERROR, "zerocap: a toplevel source needs a scene tree and a surface");
		return NULL;
	}
	struct zc_toplevel_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory");
		return NULL;
	}
	source->manager = manager;
	source->tree = options->tree;
	source->surface = options->surface;
	source->handle = options->handle;
	source->scale = 1;
	wl_list_init(&source->surfaces);
	wl_list_init(&source->copies);
	if (options->title != NULL || options->handle == NULL) {
		set_string(&source->title, options->title);
	}
	if (options->app_id != NULL || options->handle == NULL) {
		set_string(&source->app_id, options->app_id);
	}
	zc_target_init(&source->target, ZC_TARGET_TOPLEVEL);
	zc_source_init(&source->base, &toplevel_impl);
	zc_target_add_source(&source->target, &source->base);
	source->base.stats = &manager->engine->stats;
	source->base.policy = &manager->policy.base;
	source->base.loop = wl_display_get_event_loop(manager->display);
	source->base.pointer = &source->pointer;
	zc_cursor_source_init(&source->cursor, manager, &source->target);
	source->pointer = (struct zc_pointer){
		.image = &source->cursor.base,
		.manager = manager,
		.get = pointer_get,
	};
	wl_signal_init(&source->pointer.events.update);
	const struct zc_manager_cursor *cursor = &manager->cursor;
	zc_cursor_source_set_image(&source->cursor, cursor->image, cursor->hotspot_x,
		cursor->hotspot_y);
	if (zc_render_engine_has_gpu(manager->engine) &&
			!zc_render_engine_dmabuf_constraints(manager->engine, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for a window");
	}

	source->tree_destroy.notify = handle_tree_destroy;
	wl_signal_add(&source->tree->node.events.destroy, &source->tree_destroy);
	source->surface_destroy.notify = handle_main_surface_destroy;
	wl_signal_add(&source->surface->events.destroy, &source->surface_destroy);
	source->handle_destroy.notify = handle_handle_destroy;
	if (source->handle != NULL) {
		wl_signal_add(&source->handle->events.destroy, &source->handle_destroy);
	} else {
		wl_list_init(&source->handle_destroy.link);
	}
	source->place = options->place;
	source->place_destroy.notify = handle_place_destroy;
	if (source->place != NULL) {
		wl_signal_add(&source->place->events.destroy, &source->place_destroy);
	} else {
		wl_list_init(&source->place_destroy.link);
	}
	wl_list_insert(&manager->toplevel_sources, &source->link);
	wl_list_insert(&manager->targets, &source->target.link);
	surface_watch(source, source->surface);
	walk(source);
	if (source->handle == NULL && manager->toplevel_list != NULL) {
		source->own_handle = zc_foreign_toplevel_create(manager->toplevel_list,
			source->title, source->app_id, source);
		if (source->own_handle == NULL) {
			wlr_log(WLR_ERROR, "zerocap: cannot list a window");
		}
	}
	return source;
}

void zc_toplevel_source_destroy(struct zc_toplevel_source *source) {
	if (source == NULL) {
		return;
	}
	if (source->own_handle != NULL) {
		zc_foreign_toplevel_destroy(source->own_handle);
	}
	zc_source_copies_fail(&source->copies, false, ZC_FAILURE_STOPPED);
	zc_source_finish(&source->base);
	zc_cursor_source_finish(&source->cursor);
	if (source->walk_idle != NULL) {
		wl_event_source_remove(source->walk_idle);
	}
	struct toplevel_surface *ts, *tmp;
	wl_list_for_each_safe(ts, tmp, &source->surfaces, link) {
		surface_forget(ts);
	}
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	wl_list_remove(&source->tree_destroy.link);
	wl_list_remove(&source->surface_destroy.link);
	wl_list_remove(&source->handle_destroy.link);
	wl_list_remove(&source->place_destroy.link);
	wl_list_remove(&source->link);
	wl_list_remove(&source->target.link);
	free(source->layers);
	free(source->title);
	free(source->app_id);
	free(source);
}

void zc_toplevel_source_set_title(struct zc_toplevel_source *source, const char *title) {
	set_string(&source->title, title);
	if (source->own_handle != NULL) {
		zc_foreign_toplevel_update(source->own_handle, source->title, NULL);
	}
}

void zc_toplevel_source_set_app_id(struct zc_toplevel_source *source, const char *app_id) {
	set_string(&source->app_id, app_id);
	if (source->own_handle != NULL) {
		zc_foreign_toplevel_update(source->own_handle, NULL, source->app_id);
	}
}

static const char *string_or_handle(const char *own, const char *handle) {
	if (own != NULL) {
		return own;
	}
	return handle != NULL ? handle : "";
}

const char *zc_toplevel_source_title(struct zc_toplevel_source *source) {
	return string_or_handle(source->title,
		source->handle != NULL ? source->handle->title : NULL);
}

const char *zc_toplevel_source_app_id(struct zc_toplevel_source *source) {
	return string_or_handle(source->app_id,
		source->handle != NULL ? source->handle->app_id : NULL);
}

struct zc_capture_target *zc_toplevel_source_get_target(struct zc_toplevel_source *source) {
	return (struct zc_capture_target *)&source->target;
}

static bool handle_has_resource(struct wlr_ext_foreign_toplevel_handle_v1 *handle,
		struct wl_resource *resource) {
	struct wl_resource *r;
	wl_resource_for_each(r, &handle->resources) {
		if (r == resource) {
			return true;
		}
	}
	return false;
}

struct zc_source *zc_toplevel_source_from_handle(struct zc_capture_manager *manager,
		struct wl_resource *handle) {
	if (manager == NULL || handle == NULL) {
		return NULL;
	}
	struct zc_foreign_toplevel *own = zc_foreign_toplevel_from_resource(handle);
	struct zc_toplevel_source *source;
	wl_list_for_each(source, &manager->toplevel_sources, link) {
		if (own != NULL ? source->own_handle == own :
				(source->handle != NULL && handle_has_resource(source->handle, handle))) {
			return &source->base;
		}
	}
	return NULL;
}

void zc_toplevel_source_drop_engine(struct zc_toplevel_source *source) {
	zc_source_copies_fail(&source->copies, true, ZC_FAILURE_BUFFER_CONSTRAINTS);
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	source->dmabuf = (struct zc_constraints){0};
}

void zc_toplevel_source_take_engine(struct zc_toplevel_source *source) {
	struct zc_render_engine *engine = source->manager->engine;
	if (zc_render_engine_has_gpu(engine) &&
			!zc_render_engine_dmabuf_constraints(engine, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for a window");
	}
	update_constraints(source, true);
}
