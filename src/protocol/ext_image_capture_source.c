/*
 * ext-image-capture-source-v1: capture sources for outputs and for windows
 * (foreign-toplevel handles of zerocap's list or of the wlroots list the
 * compositor runs).
 *
 * Lifetimes: an ext_image_capture_source_v1 resource points at a zc_source
 * until either dies; when the source goes away first (output removed, window
 * closed) or never was (a handle zerocap cannot capture), the resource stays
 * inert and sessions created from it start stopped. The manager resources
 * carry the zc_capture_manager, cleared when the global goes (with the
 * manager, or with the display).
 */
#include <assert.h>
#include <stdlib.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/log.h>
#include "ext-image-capture-source-v1-protocol.h"
#include "manager.h"
#include "protocol/protocol.h"
#include "source/output.h"
#include "source/toplevel.h"

#define SOURCE_MANAGER_VERSION 1

struct zc_source_resource {
	struct wl_resource *resource;
	struct zc_source *source; /* NULL when inert */
	struct wl_listener source_destroy;
};

static const struct ext_image_capture_source_v1_interface source_impl;

static struct zc_source_resource *source_resource_from_resource(struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource, &ext_image_capture_source_v1_interface,
		&source_impl));
	return wl_resource_get_user_data(resource);
}

struct zc_source *zc_source_from_resource(struct wl_resource *resource) {
	struct zc_source_resource *source_resource = source_resource_from_resource(resource);
	return source_resource != NULL ? source_resource->source : NULL;
}

static void source_resource_handle_destroy(struct wl_client *client,
		struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_image_capture_source_v1_interface source_impl = {
	.destroy = source_resource_handle_destroy,
};

static void source_resource_detach(struct zc_source_resource *source_resource) {
	if (source_resource->source != NULL) {
		wl_list_remove(&source_resource->source_destroy.link);
		source_resource->source = NULL;
	}
}

static void handle_source_destroy(struct wl_listener *listener, void *data) {
	struct zc_source_resource *source_resource =
		wl_container_of(listener, source_resource, source_destroy);
	source_resource_detach(source_resource);
}

static void source_resource_destroy(struct wl_resource *resource) {
	struct zc_source_resource *source_resource = source_resource_from_resource(resource);
	source_resource_detach(source_resource);
	free(source_resource);
}

struct zc_source *zc_source_try_from_resource(struct wl_resource *resource) {
	if (!wl_resource_instance_of(resource, &ext_image_capture_source_v1_interface,
			&source_impl)) {
		return NULL;
	}
	return zc_source_from_resource(resource);
}

struct wl_resource *zc_source_resource_create(struct wl_client *client, uint32_t version,
		uint32_t id, struct zc_source *source) {
	struct zc_source_resource *source_resource = calloc(1, sizeof(*source_resource));
	if (source_resource == NULL) {
		wl_client_post_no_memory(client);
		return NULL;
	}
	source_resource->resource = wl_resource_create(client,
		&ext_image_capture_source_v1_interface, version, id);
	if (source_resource->resource == NULL) {
		free(source_resource);
		wl_client_post_no_memory(client);
		return NULL;
	}
	wl_resource_set_implementation(source_resource->resource, &source_impl,
		source_resource, source_resource_destroy);
	if (source == NULL) {
		return source_resource->resource;
	}
	source_resource->source = source;
	source_resource->source_destroy.notify = handle_source_destroy;
	wl_signal_add(&source->events.destroy, &source_resource->source_destroy);
	return source_resource->resource;
}

/* A source resource on source (NULL: inert). */
static void source_resource_create(struct wl_client *client,
		struct wl_resource *manager_resource, uint32_t id, struct zc_source *source) {
	zc_source_resource_create(client, wl_resource_get_version(manager_resource), id, source);
}

static void source_manager_handle_create_source(struct wl_client *client,
		struct wl_resource *manager_resource, uint32_t id, struct wl_resource *output_resource) {
	struct zc_capture_manager *manager = wl_resource_get_user_data(manager_resource);
	struct wlr_output *output = wlr_output_from_resource(output_resource);
	struct zc_output_source *output_source = NULL;
	if (manager != NULL && output != NULL) {
		output_source = zc_output_source_find(manager, output);
	}
	if (output_source == NULL) {
		wlr_log(WLR_DEBUG, "zerocap: capture source requested for an output that "
			"is not capturable; the source is inert");
	}
	source_resource_create(client, manager_resource, id,
		output_source != NULL ? &output_source->view->base : NULL);
}

static void source_manager_handle_destroy(struct wl_client *client,
		struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct ext_output_image_capture_source_manager_v1_interface source_manager_impl = {
	.create_source = source_manager_handle_create_source,
	.destroy = source_manager_handle_destroy,
};

static void source_manager_bind(struct wl_client *client, void *data, uint32_t version,
		uint32_t id) {
	struct zc_ext_source_manager *source_manager = data;
	struct wl_resource *resource = wl_resource_create(client,
		&ext_output_image_capture_source_manager_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &source_manager_impl, source_manager->manager,
		zc_resource_unlink);
	zc_global_add_resource(&source_manager->base, resource);
}

static void source_manager_destroy_global(struct zc_global *global) {
	struct zc_ext_source_manager *source_manager =
		wl_container_of(global, source_manager, base);
	zc_ext_source_manager_destroy(source_manager);
}

struct zc_ext_source_manager *zc_ext_source_manager_create(struct zc_capture_manager *manager) {
	struct zc_ext_source_manager *source_manager = calloc(1, sizeof(*source_manager));
	if (source_manager == NULL) {
		return NULL;
	}
	source_manager->manager = manager;
	if (!zc_global_init(&source_manager->base, manager->display,
			&ext_output_image_capture_source_manager_v1_interface, SOURCE_MANAGER_VERSION,
			source_manager, source_manager_bind, source_manager_destroy_global)) {
		zc_ext_source_manager_destroy(source_manager);
		return NULL;
	}
	return source_manager;
}

void zc_ext_source_manager_destroy(struct zc_ext_source_manager *source_manager) {
	if (source_manager == NULL) {
		return;
	}
	zc_global_finish(&source_manager->base);
	free(source_manager);
}

/* ext_foreign_toplevel_image_capture_source_manager_v1 */

static void toplevel_manager_handle_create_source(struct wl_client *client,
		struct wl_resource *manager_resource, uint32_t id, struct wl_resource *handle) {
	struct zc_capture_manager *manager = wl_resource_get_user_data(manager_resource);
	struct zc_source *source = zc_toplevel_source_from_handle(manager, handle);
	if (source == NULL) {
		wlr_log(WLR_DEBUG, "zerocap: capture source requested for a toplevel that "
			"is not capturable; the source is inert");
	}
	source_resource_create(client, manager_resource, id, source);
}

static const struct ext_foreign_toplevel_image_capture_source_manager_v1_interface
		toplevel_manager_impl = {
	.create_source = toplevel_manager_handle_create_source,
	.destroy = source_manager_handle_destroy,
};

static void toplevel_manager_bind(struct wl_client *client, void *data, uint32_t version,
		uint32_t id) {
	struct zc_ext_toplevel_source_manager *toplevel_manager = data;
	struct wl_resource *resource = wl_resource_create(client,
		&ext_foreign_toplevel_image_capture_source_manager_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &toplevel_manager_impl,
		toplevel_manager->manager, zc_resource_unlink);
	zc_global_add_resource(&toplevel_manager->base, resource);
}

static void toplevel_manager_destroy_global(struct zc_global *global) {
	struct zc_ext_toplevel_source_manager *toplevel_manager =
		wl_container_of(global, toplevel_manager, base);
	zc_ext_toplevel_source_manager_destroy(toplevel_manager);
}

struct zc_ext_toplevel_source_manager *zc_ext_toplevel_source_manager_create(
		struct zc_capture_manager *manager) {
	struct zc_ext_toplevel_source_manager *toplevel_manager =
		calloc(1, sizeof(*toplevel_manager));
	if (toplevel_manager == NULL) {
		return NULL;
	}
	toplevel_manager->manager = manager;
	if (!zc_global_init(&toplevel_manager->base, manager->display,
			&ext_foreign_toplevel_image_capture_source_manager_v1_interface,
			SOURCE_MANAGER_VERSION, toplevel_manager, toplevel_manager_bind,
			toplevel_manager_destroy_global)) {
		zc_ext_toplevel_source_manager_destroy(toplevel_manager);
		return NULL;
	}
	return toplevel_manager;
}

void zc_ext_toplevel_source_manager_destroy(struct zc_ext_toplevel_source_manager *m) {
	if (m == NULL) {
		return;
	}
	zc_global_finish(&m->base);
	free(m);
}
