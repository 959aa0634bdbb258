#include <stdlib.h>
#include <wlr/util/log.h>
#include "manager.h"
#include "render/engine.h"
#include "source/output.h"

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
	wl_list_init(&manager->targets);
	zc_capture_manager_init_policy(manager);
	/* Before the globals' own: the manager takes them down with it. */
	manager->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &manager->display_destroy);

	manager->engine = zc_render_engine_create(renderer, wl_display_get_event_loop(display));
	manager->source_manager = zc_ext_source_manager_create(manager);
	manager->copy_manager = zc_ext_copy_manager_create(display);
	if (!manager->options.no_wlr_screencopy) {
		manager->screencopy = zc_wlr_screencopy_create(manager);
	}
	if (manager->engine == NULL || manager->source_manager == NULL ||
			manager->copy_manager == NULL ||
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
	zc_ext_source_manager_destroy(manager->source_manager);
	zc_ext_copy_manager_destroy(manager->copy_manager);
	zc_wlr_screencopy_destroy(manager->screencopy);
	zc_capture_manager_finish_policy(manager);
	zc_render_engine_destroy(manager->engine);
	wl_list_remove(&manager->display_destroy.link);
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
	zc_render_engine_set_renderer(manager->engine, renderer);
	wlr_log(WLR_INFO, "zerocap: renderer replaced; GPU capture %s",
		zc_render_engine_has_gpu(manager->engine) ? "on" : "off");
	wl_list_for_each(source, &manager->output_sources, link) {
		zc_output_source_take_engine(source);
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
