/*
 * ext-foreign-toplevel-list-v1: zerocap's own list of windows, for
 * compositors that run none.
 *
 * Lifetimes: a list resource is in the global's resource list until the
 * client stops it or the global goes (either way finished is sent and
 * nothing follows).
 * A handle resource is in its toplevel's resource list until the toplevel is
 * destroyed (closed is sent and the resource turns inert) or the client
 * destroys it. Toplevels belong to their owners (toplevel sources) and live
 * on unlisted when the list goes first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/util/log.h>
#include "ext-foreign-toplevel-list-v1-protocol.h"
#include "protocol/protocol.h"

#define LIST_VERSION 1

static const struct ext_foreign_toplevel_handle_v1_interface handle_impl;

struct zc_foreign_toplevel *zc_foreign_toplevel_from_resource(struct wl_resource *resource) {
	if (resource == NULL || !wl_resource_instance_of(resource,
			&ext_foreign_toplevel_handle_v1_interface, &handle_impl)) {
		return NULL;
	}
	return wl_resource_get_user_data(resource);
}

static void handle_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_foreign_toplevel_handle_v1_interface handle_impl = {
	.destroy = handle_handle_destroy,
};

static void send_state(struct zc_foreign_toplevel *toplevel, struct wl_resource *resource,
		bool title, bool app_id) {
	if (title) {
		ext_foreign_toplevel_handle_v1_send_title(resource, toplevel->title);
	}
	if (app_id) {
		ext_foreign_toplevel_handle_v1_send_app_id(resource, toplevel->app_id);
	}
	ext_foreign_toplevel_handle_v1_send_done(resource);
}

/* Announces toplevel on one list resource. */
static void announce(struct zc_foreign_toplevel *toplevel, struct wl_resource *list_resource) {
	struct wl_client *client = wl_resource_get_client(list_resource);
	struct wl_resource *resource = wl_resource_create(client,
		&ext_foreign_toplevel_handle_v1_interface, wl_resource_get_version(list_resource), 0);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &handle_impl, toplevel, zc_resource_unlink);
	zc_resource_list_add(&toplevel->resources, resource);
	ext_foreign_toplevel_list_v1_send_toplevel(list_resource, resource);
	ext_foreign_toplevel_handle_v1_send_identifier(resource, toplevel->identifier);
	send_state(toplevel, resource, true, true);
}

static void list_handle_stop(struct wl_client *client, struct wl_resource *resource) {
	if (wl_resource_get_user_data(resource) == NULL) {
		return;
	}
	wl_resource_set_user_data(resource, NULL);
	zc_resource_unlink(resource);
	ext_foreign_toplevel_list_v1_send_finished(resource);
}

static void list_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_foreign_toplevel_list_v1_interface list_impl = {
	.stop = list_handle_stop,
	.destroy = list_handle_destroy,
};

static void list_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct zc_foreign_toplevel_list *list = data;
	struct wl_resource *resource = wl_resource_create(client,
		&ext_foreign_toplevel_list_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &list_impl, list, zc_resource_unlink);
	zc_global_add_resource(&list->base, resource);
	struct zc_foreign_toplevel *toplevel;
	wl_list_for_each(toplevel, &list->toplevels, link) {
		announce(toplevel, resource);
	}
}

static void list_destroy_global(struct zc_global *global) {
	struct zc_foreign_toplevel_list *list = wl_container_of(global, list, base);
	zc_foreign_toplevel_list_destroy(list);
}

struct zc_foreign_toplevel_list *zc_foreign_toplevel_list_create(struct wl_display *display) {
	struct zc_foreign_toplevel_list *list = calloc(1, sizeof(*list));
	if (list == NULL) {
		return NULL;
	}
	wl_list_init(&list->toplevels);
	/* Identifiers differ between compositor runs too: a start-time prefix. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	list->next_id = ((uint64_t)now.tv_sec << 20) ^ (uint64_t)(now.tv_nsec / 1000);
	if (!zc_global_init(&list->base, display, &ext_foreign_toplevel_list_v1_interface,
			LIST_VERSION, list, list_bind, list_destroy_global)) {
		zc_foreign_toplevel_list_destroy(list);
		return NULL;
	}
	return list;
}

void zc_foreign_toplevel_list_destroy(struct zc_foreign_toplevel_list *list) {
	if (list == NULL) {
		return;
	}
	/* Nothing more comes on the bound lists: tell them, as after stop. */
	struct wl_resource *resource;
	wl_resource_for_each(resource, &list->base.resources) {
		ext_foreign_toplevel_list_v1_send_finished(resource);
	}
	struct zc_foreign_toplevel *toplevel, *tmp;
	wl_list_for_each_safe(toplevel, tmp, &list->toplevels, link) {
		wl_list_remove(&toplevel->link);
		wl_list_init(&toplevel->link);
		toplevel->list = NULL;
	}
	zc_global_finish(&list->base);
	free(list);
}

static char *dup_or_empty(const char *s) {
	return strdup(s != NULL ? s : "");
}

struct zc_foreign_toplevel *zc_foreign_toplevel_create(struct zc_foreign_toplevel_list *list,
		const char *title, const char *app_id, void *data) {
	struct zc_foreign_toplevel *toplevel = calloc(1, sizeof(*toplevel));
	if (toplevel == NULL) {
		return NULL;
	}
	toplevel->title = dup_or_empty(title);
	toplevel->app_id = dup_or_empty(app_id);
	if (toplevel->title == NULL || toplevel->app_id == NULL) {
		free(toplevel->title);
		free(toplevel->app_id);
		free(toplevel);
		return NULL;
	}
	toplevel->list = list;
	toplevel->data = data;
	wl_list_init(&toplevel->resources);
	snprintf(toplevel->identifier, sizeof(toplevel->identifier), "zc-%016llx",
		(unsigned long long)list->next_id++);
	wl_list_insert(list->toplevels.prev, &toplevel->link);
	struct wl_resource *resource;
	wl_resource_for_each(resource, &list->base.resources) {
		announce(toplevel, resource);
	}
	return toplevel;
}

static bool replace(char **dst, const char *value) {
	if (value == NULL || strcmp(*dst, value) == 0) {
		return false;
	}
	char *copy = strdup(value);
	if (copy == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory updating a toplevel handle");
		return false;
	}
	free(*dst);
	*dst = copy;
	return true;
}

void zc_foreign_toplevel_update(struct zc_foreign_toplevel *toplevel, const char *title,
		const char *app_id) {
	bool new_title = replace(&toplevel->title, title);
	bool new_app_id = replace(&toplevel->app_id, app_id);
	if (!new_title && !new_app_id) {
		return;
	}
	struct wl_resource *resource;
	wl_resource_for_each(resource, &toplevel->resources) {
		send_state(toplevel, resource, new_title, new_app_id);
	}
}

void zc_foreign_toplevel_destroy(struct zc_foreign_toplevel *toplevel) {
	if (toplevel == NULL) {
		return;
	}
	struct wl_resource *resource, *tmp;
	wl_resource_for_each_safe(resource, tmp, &toplevel->resources) {
		ext_foreign_toplevel_handle_v1_send_closed(resource);
	}
	zc_resource_list_make_inert(&toplevel->resources);
	wl_list_remove(&toplevel->link);
	free(toplevel->title);
	free(toplevel->app_id);
	free(toplevel);
}
