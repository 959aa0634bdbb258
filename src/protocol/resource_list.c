#include <stddef.h>
#include "protocol/protocol.h"

void zc_resource_list_add(struct wl_list *list, struct wl_resource *resource) {
	wl_list_insert(list, wl_resource_get_link(resource));
}

void zc_resource_unlink(struct wl_resource *resource) {
	wl_list_remove(wl_resource_get_link(resource));
	wl_list_init(wl_resource_get_link(resource));
}

void zc_resource_list_make_inert(struct wl_list *list) {
	struct wl_resource *resource, *tmp;
	wl_resource_for_each_safe(resource, tmp, list) {
		wl_resource_set_user_data(resource, NULL);
		zc_resource_unlink(resource);
	}
}

static void handle_display_destroy(struct wl_listener *listener, void *data) {
	struct zc_global *global = wl_container_of(listener, global, display_destroy);
	global->destroy(global);
}

bool zc_global_init(struct zc_global *global, struct wl_display *display,
		const struct wl_interface *interface, int version, void *data,
		wl_global_bind_func_t bind, void (*destroy)(struct zc_global *global)) {
	wl_list_init(&global->resources);
	global->destroy = destroy;
	global->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &global->display_destroy);
	global->global = wl_global_create(display, interface, version, data, bind);
	return global->global != NULL;
}

void zc_global_finish(struct zc_global *global) {
	zc_resource_list_make_inert(&global->resources);
	if (global->global != NULL) {
		wl_global_destroy(global->global);
		global->global = NULL;
	}
	wl_list_remove(&global->display_destroy.link);
	wl_list_init(&global->display_destroy.link);
}

void zc_global_add_resource(struct zc_global *global, struct wl_resource *resource) {
	zc_resource_list_add(&global->resources, resource);
}
