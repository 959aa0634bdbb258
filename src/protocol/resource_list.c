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
