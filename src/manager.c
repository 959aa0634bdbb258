#include <drm_fourcc.h>
#include <stdlib.h>
#include <wlr/render/wlr_texture.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/util/log.h>
#include "manager.h"
#include "render/engine.h"
#include "render/render.h"
#include "source/output.h"
#include "source/toplevel.h"

static void handle_display_destroy(struct wl_listener *listener, void *data) {
	struct zc_capture_manager *manager =
		wl_container_of(listener, manager, display_destroy);
	zc_capture_manager_destroy(manager);
}

struct zc_capture_manager *zc_capture_manager_create(struct wl_display *display,
		struct wlr_renderer *renderer, const struct zc_capture_manager_options *options) {
	struct zc_capture_manager *manager = calloc(1, sizeof(*manager));
	if (manager == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory");
		return NULL;
	}
	manager->display = display;
	if (options != NULL) {
		manager->options = *options;
	}
	wl_list_init(&manager->output_sources);
	wl_list_init(&manager->toplevel_sources);
	wl_list_init(&manager->targets);
	zc_capture_manager_init_policy(manager);
	/* Before the globals' own: the manager takes them down with it. */
	manager->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &manager->display_destroy);
	wl_list_init(&manager->layout_change.link);
	wl_list_init(&manager->layout_destroy.link);
	wl_list_init(&manager->cursor_surface.commit.link);
	wl_list_init(&manager->cursor_surface.destroy.link);

	manager->engine = zc_render_engine_create(renderer, wl_display_get_event_loop(display));
	manager->source_manager = zc_ext_source_manager_create(manager);
	manager->copy_manager = zc_ext_copy_manager_create(display);
	if (!manager->options.no_wlr_screencopy) {
		manager->screencopy = zc_wlr_screencopy_create(manager);
	}
	manager->toplevel_source_manager = zc_ext_toplevel_source_manager_create(manager);
	manager->options_manager = zc_options_manager_create(manager);
	if (!manager->options.no_foreign_toplevel_list) {
		manager->toplevel_list = zc_foreign_toplevel_list_create(display);
	}
	if (manager->engine == NULL || manager->source_manager == NULL ||
			manager->copy_manager == NULL || manager->toplevel_source_manager == NULL ||
			manager->options_manager == NULL ||
			(!manager->options.no_foreign_toplevel_list && manager->toplevel_list == NULL) ||
			(!manager->options.no_wlr_screencopy && manager->screencopy == NULL)) {
		wlr_log(WLR_ERROR, "zerocap: failed to create capture globals");
		zc_capture_manager_destroy(manager);
		return NULL;
	}
	return manager;
}

void zc_capture_manager_destroy(struct zc_capture_manager *manager) {
	if (manager == NULL) {
		return;
	}
	struct zc_output_source *source, *tmp;
	wl_list_for_each_safe(source, tmp, &manager->output_sources, link) {
		zc_output_source_destroy(source);
	}
	struct zc_toplevel_source *toplevel, *toplevel_tmp;
	wl_list_for_each_safe(toplevel, toplevel_tmp, &manager->toplevel_sources, link) {
		zc_toplevel_source_destroy(toplevel);
	}
	zc_ext_source_manager_destroy(manager->source_manager);
	zc_ext_toplevel_source_manager_destroy(manager->toplevel_source_manager);
	zc_options_manager_destroy(manager->options_manager);
	zc_foreign_toplevel_list_destroy(manager->toplevel_list);
	wlr_buffer_unlock(manager->cursor.image);
	zc_ext_copy_manager_destroy(manager->copy_manager);
	zc_wlr_screencopy_destroy(manager->screencopy);
	zc_capture_manager_finish_policy(manager);
	zc_render_engine_destroy(manager->engine);
	wl_list_remove(&manager->display_destroy.link);
	wl_list_remove(&manager->layout_change.link);
	wl_list_remove(&manager->layout_destroy.link);
	wl_list_remove(&manager->cursor_surface.commit.link);
	wl_list_remove(&manager->cursor_surface.destroy.link);
	free(manager);
}

void zc_capture_manager_set_renderer(struct zc_capture_manager *manager,
		struct wlr_renderer *renderer) {
	if (renderer == manager->engine->renderer) {
		return;
	}
	struct zc_output_source *source;
	wl_list_for_each(source, &manager->output_sources, link) {
		zc_output_source_drop_engine(source);
	}
	struct zc_toplevel_source *toplevel;
	wl_list_for_each(toplevel, &manager->toplevel_sources, link) {
		zc_toplevel_source_drop_engine(toplevel);
	}
	zc_render_engine_set_renderer(manager->engine, renderer);
	wlr_log(WLR_INFO, "zerocap: renderer replaced; GPU capture %s",
		zc_render_engine_has_gpu(manager->engine) ? "on" : "off");
	wl_list_for_each(source, &manager->output_sources, link) {
		zc_output_source_take_engine(source);
	}
	wl_list_for_each(toplevel, &manager->toplevel_sources, link) {
		zc_toplevel_source_take_engine(toplevel);
	}
}

void zc_capture_manager_get_stats(struct zc_capture_manager *manager,
		struct zc_capture_stats *stats) {
	*stats = manager->engine->stats;
}


void zc_capture_manager_inject_fault(struct zc_capture_manager *manager,
		enum zc_fault fault, int count) {
	if (fault >= 0 && fault < ZC_FAULT_COUNT) {
		manager->engine->faults.remaining[fault] = count;
	}
}

void zc_capture_manager_set_max_fps(struct zc_capture_manager *manager, double fps) {
	manager->max_fps = fps > 0 ? fps : 0;
}

void zc_capture_manager_place_cursor(struct zc_capture_manager *manager,
		struct zc_output_source *source, bool new_image) {
	if (manager->layout == NULL) {
		return;
	}
	const struct zc_manager_cursor *cursor = &manager->cursor;
	if (new_image) {
		zc_output_source_set_cursor_image(source, cursor->image, cursor->hotspot_x,
			cursor->hotspot_y);
	}
	double x = cursor->x, y = cursor->y;
	bool in_layout = wlr_output_layout_get(manager->layout, source->output) != NULL;
	if (in_layout) {
		wlr_output_layout_output_coords(manager->layout, source->output, &x, &y);
	}
	zc_output_source_move_cursor(source, cursor->visible && in_layout, x, y);
}

static void cursor_changed(struct zc_capture_manager *manager, bool new_image) {
	struct zc_output_source *output, *output_tmp;
	wl_list_for_each_safe(output, output_tmp, &manager->output_sources, link) {
		zc_capture_manager_place_cursor(manager, output, new_image);
	}
	struct zc_toplevel_source *toplevel, *tmp;
	wl_list_for_each_safe(toplevel, tmp, &manager->toplevel_sources, link) {
		zc_toplevel_source_cursor_changed(toplevel, new_image);
	}
}

static void set_cursor_image(struct zc_capture_manager *manager,
		struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y) {
	struct wlr_buffer *old = manager->cursor.image;
	if (image != NULL) {
		wlr_buffer_lock(image);
	}
	manager->cursor.image = image;
	manager->cursor.hotspot_x = hotspot_x;
	manager->cursor.hotspot_y = hotspot_y;
	cursor_changed(manager, true);
	wlr_buffer_unlock(old);
}

static void forget_cursor_surface(struct zc_capture_manager *manager) {
	wl_list_remove(&manager->cursor_surface.commit.link);
	wl_list_remove(&manager->cursor_surface.destroy.link);
	wl_list_init(&manager->cursor_surface.commit.link);
	wl_list_init(&manager->cursor_surface.destroy.link);
	manager->cursor_surface.surface = NULL;
}

void zc_capture_manager_set_cursor_image(struct zc_capture_manager *manager,
		struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y) {
	forget_cursor_surface(manager);
	set_cursor_image(manager, image, hotspot_x, hotspot_y);
}

/* The surface's texture read back into a CPU buffer; NULL when it has none. */
static struct wlr_buffer *read_surface_image(struct wlr_surface *surface) {
	struct wlr_texture *texture = wlr_surface_get_texture(surface);
	struct wlr_buffer *image = texture != NULL ?
		zc_memory_buffer_create(texture->width, texture->height, DRM_FORMAT_ARGB8888) : NULL;
	void *data;
	uint32_t format;
	size_t stride;
	if (image == NULL || !wlr_buffer_begin_data_ptr_access(image,
			WLR_BUFFER_DATA_PTR_ACCESS_WRITE, &data, &format, &stride)) {
		if (image != NULL) {
			wlr_buffer_drop(image);
		}
		return NULL;
	}
	const struct wlr_texture_read_pixels_options options = {
		.data = data,
		.format = DRM_FORMAT_ARGB8888,
		.stride = stride,
	};
	bool ok = wlr_texture_read_pixels(texture, &options);
	wlr_buffer_end_data_ptr_access(image);
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: cannot read a cursor surface");
		wlr_buffer_drop(image);
		return NULL;
	}
	return image;
}

static void cursor_surface_update(struct zc_capture_manager *manager) {
	struct wlr_buffer *image = read_surface_image(manager->cursor_surface.surface);
	set_cursor_image(manager, image, manager->cursor_surface.hotspot_x,
		manager->cursor_surface.hotspot_y);
	if (image != NULL) {
		wlr_buffer_drop(image);
	}
}

static void handle_cursor_surface_commit(struct wl_listener *listener, void *data) {
	struct zc_capture_manager *manager =
		wl_container_of(listener, manager, cursor_surface.commit);
	struct wlr_surface *surface = manager->cursor_surface.surface;
	/* As wl_surface.offset moves the surface, the hotspot moves the other way. */
	manager->cursor_surface.hotspot_x -= surface->current.dx;
	manager->cursor_surface.hotspot_y -= surface->current.dy;
	cursor_surface_update(manager);
}

static void handle_cursor_surface_destroy(struct wl_listener *listener, void *data) {
	struct zc_capture_manager *manager =
		wl_container_of(listener, manager, cursor_surface.destroy);
	forget_cursor_surface(manager);
	set_cursor_image(manager, NULL, 0, 0);
}

void zc_capture_manager_set_cursor_surface(struct zc_capture_manager *manager,
		struct wlr_surface *surface, int32_t hotspot_x, int32_t hotspot_y) {
	forget_cursor_surface(manager);
	if (surface == NULL) {
		set_cursor_image(manager, NULL, 0, 0);
		return;
	}
	manager->cursor_surface.surface = surface;
	manager->cursor_surface.hotspot_x = hotspot_x;
	manager->cursor_surface.hotspot_y = hotspot_y;
	manager->cursor_surface.commit.notify = handle_cursor_surface_commit;
	wl_signal_add(&surface->events.commit, &manager->cursor_surface.commit);
	manager->cursor_surface.destroy.notify = handle_cursor_surface_destroy;
	wl_signal_add(&surface->events.destroy, &manager->cursor_surface.destroy);
	cursor_surface_update(manager);
}

void zc_capture_manager_move_cursor(struct zc_capture_manager *manager,
		bool visible, double x, double y) {
	/* Unchanged too: a window may have moved under the pointer. */
	manager->cursor.visible = visible;
	manager->cursor.x = x;
	manager->cursor.y = y;
	cursor_changed(manager, false);
}

static void handle_layout_change(struct wl_listener *listener, void *data) {
	struct zc_capture_manager *manager = wl_container_of(listener, manager, layout_change);
	cursor_changed(manager, false);
}

static void handle_layout_destroy(struct wl_listener *listener, void *data) {
	struct zc_capture_manager *manager = wl_container_of(listener, manager, layout_destroy);
	zc_capture_manager_set_output_layout(manager, NULL);
}

void zc_capture_manager_set_output_layout(struct zc_capture_manager *manager,
		struct wlr_output_layout *layout) {
	wl_list_remove(&manager->layout_change.link);
	wl_list_remove(&manager->layout_destroy.link);
	wl_list_init(&manager->layout_change.link);
	wl_list_init(&manager->layout_destroy.link);
	manager->layout = layout;
	if (layout == NULL) {
		return;
	}
	manager->layout_change.notify = handle_layout_change;
	wl_signal_add(&layout->events.change, &manager->layout_change);
	manager->layout_destroy.notify = handle_layout_destroy;
	wl_signal_add(&layout->events.destroy, &manager->layout_destroy);
	cursor_changed(manager, true);
}
