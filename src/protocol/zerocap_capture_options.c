/*
 * zerocap-capture-options-v1: option sets, and capture sources derived from
 * existing ones with a set applied.
 *
 * Lifetimes: an option set resource owns its zc_derive_options; sources
 * copy the set when they are made. A derived source resource holds its
 * zc_derived_source (released in the resource's destroy listener); sessions
 * keep the source alive after that. The manager resources carry the
 * zc_capture_manager, cleared when the global goes.
 */
#include <assert.h>
#include <stdlib.h>
#include <wlr/util/log.h>
#include "ext-image-capture-source-v1-protocol.h"
#include "manager.h"
#include "protocol/protocol.h"
#include "source/derived.h"
#include "zerocap-capture-options-v1-protocol.h"

#define OPTIONS_MANAGER_VERSION 1

static const struct zerocap_capture_options_v1_interface options_impl;

static struct zc_derive_options *options_from_resource(struct wl_resource *resource) {
	assert(wl_resource_instance_of(resource, &zerocap_capture_options_v1_interface,
		&options_impl));
	return wl_resource_get_user_data(resource);
}

static void options_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static void options_handle_set_crop(struct wl_client *client, struct wl_resource *resource,
		int32_t x, int32_t y, int32_t width, int32_t height) {
	if (width <= 0 || height <= 0) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_CROP,
			"crop %dx%d is empty", width, height);
		return;
	}
	struct zc_derive_options *options = options_from_resource(resource);
	options->has_crop = true;
	options->crop = (struct wlr_box){x, y, width, height};
}

static void options_handle_set_size(struct wl_client *client, struct wl_resource *resource,
		uint32_t width, uint32_t height) {
	/* Beyond 16384 no renderer can draw; such sizes are refused as zero is. */
	if (width == 0 || height == 0 || width > 16384 || height > 16384) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_SIZE,
			"size %ux%u is not drawable", width, height);
		return;
	}
	struct zc_derive_options *options = options_from_resource(resource);
	options->width = width;
	options->height = height;
}

static void options_handle_set_format(struct wl_client *client, struct wl_resource *resource,
		uint32_t format) {
	if (!zc_convert_format_known(format)) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_FORMAT,
			"format 0x%08x is not one of XRGB8888, ARGB8888, XBGR8888, ABGR8888, NV12, "
			"P010", format);
		return;
	}
	options_from_resource(resource)->format = format;
}

static void options_handle_set_color(struct wl_client *client, struct wl_resource *resource,
		uint32_t matrix, uint32_t range) {
	if (matrix > ZEROCAP_CAPTURE_OPTIONS_V1_MATRIX_BT2020) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_MATRIX,
			"matrix %u is unknown", matrix);
		return;
	}
	if (range > ZEROCAP_CAPTURE_OPTIONS_V1_RANGE_FULL) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_RANGE,
			"range %u is unknown", range);
		return;
	}
	struct zc_derive_options *options = options_from_resource(resource);
	options->matrix = (enum zc_yuv_matrix)matrix;
	options->range = (enum zc_yuv_range)range;
}

static void options_handle_set_max_rate(struct wl_client *client,
		struct wl_resource *resource, uint32_t millihertz) {
	if (millihertz == 0) {
		wl_resource_post_error(resource, ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_RATE,
			"a maximum rate of 0");
		return;
	}
	options_from_resource(resource)->max_fps = millihertz / 1000.0;
}

static const struct zerocap_capture_options_v1_interface options_impl = {
	.destroy = options_handle_destroy,
	.set_crop = options_handle_set_crop,
	.set_size = options_handle_set_size,
	.set_format = options_handle_set_format,
	.set_color = options_handle_set_color,
	.set_max_rate = options_handle_set_max_rate,
};

static void options_resource_destroy(struct wl_resource *resource) {
	free(options_from_resource(resource));
}

static void manager_handle_get_options(struct wl_client *client, struct wl_resource *resource,
		uint32_t id) {
	struct zc_derive_options *options = calloc(1, sizeof(*options));
	if (options == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	options->matrix = ZC_MATRIX_BT709;
	options->range = ZC_RANGE_LIMITED;
	struct wl_resource *options_resource = wl_resource_create(client,
		&zerocap_capture_options_v1_interface, wl_resource_get_version(resource), id);
	if (options_resource == NULL) {
		free(options);
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(options_resource, &options_impl, options,
		options_resource_destroy);
}

/* The holder of a derived source: its resource's destroy listener. */
struct derived_holder {
	struct zc_derived_source *source;
	struct wl_listener resource_destroy;
};

static void handle_derived_resource_destroy(struct wl_listener *listener, void *data) {
	struct derived_holder *holder = wl_container_of(listener, holder, resource_destroy);
	zc_derived_source_release(holder->source);
	free(holder);
}

static void manager_handle_create_source(struct wl_client *client,
		struct wl_resource *resource, uint32_t id, struct wl_resource *source_resource,
		struct wl_resource *options_resource) {
	struct zc_capture_manager *manager = wl_resource_get_user_data(resource);
	struct zc_source *parent = zc_source_try_from_resource(source_resource);
	if (parent != NULL && zc_source_is_derived(parent)) {
		wl_resource_post_error(resource,
			ZEROCAP_CAPTURE_OPTIONS_MANAGER_V1_ERROR_DERIVED_SOURCE,
			"the source is a derived source already");
		return;
	}
	uint32_t version = wl_resource_get_version(source_resource);
	const struct zc_derive_options *options = options_from_resource(options_resource);
	struct zc_derived_source *derived = NULL;
	struct derived_holder *holder = NULL;
	if (manager != NULL && parent != NULL) {
		derived = zc_derived_source_create(manager, parent, options);
		holder = calloc(1, sizeof(*holder));
		if (derived == NULL || holder == NULL) {
			zc_derived_source_release(derived);
			free(holder);
			wl_client_post_no_memory(client);
			return;
		}
		if (derived->parent == NULL) {
			wlr_log(WLR_DEBUG, "zerocap: derived source of a source that cannot be "
				"derived from; it is inert");
			zc_derived_source_release(derived);
			derived = NULL;
		}
	}
	struct wl_resource *derived_resource = zc_source_resource_create(client, version, id,
		derived != NULL ? &derived->base : NULL);
	if (derived == NULL || derived_resource == NULL) {
		zc_derived_source_release(derived);
		free(holder);
		return;
	}
	holder->source = derived;
	holder->resource_destroy.notify = handle_derived_resource_destroy;
	wl_resource_add_destroy_listener(derived_resource, &holder->resource_destroy);
}

static void manager_handle_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static const struct zerocap_capture_options_manager_v1_interface manager_impl = {
	.destroy = manager_handle_destroy,
	.get_options = manager_handle_get_options,
	.create_source = manager_handle_create_source,
};

static void manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct zc_options_manager *options_manager = data;
	struct wl_resource *resource = wl_resource_create(client,
		&zerocap_capture_options_manager_v1_interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &manager_impl, options_manager->manager,
		zc_resource_unlink);
	zc_global_add_resource(&options_manager->base, resource);
}

static void manager_destroy_global(struct zc_global *global) {
	struct zc_options_manager *options_manager = wl_container_of(global, options_manager, base);
	zc_options_manager_destroy(options_manager);
}

struct zc_options_manager *zc_options_manager_create(struct zc_capture_manager *manager) {
	struct zc_options_manager *options_manager = calloc(1, sizeof(*options_manager));
	if (options_manager == NULL) {
		return NULL;
	}
	options_manager->manager = manager;
	if (!zc_global_init(&options_manager->base, manager->display,
			&zerocap_capture_options_manager_v1_interface, OPTIONS_MANAGER_VERSION,
			options_manager, manager_bind, manager_destroy_global)) {
		zc_options_manager_destroy(options_manager);
		return NULL;
	}
	return options_manager;
}

void zc_options_manager_destroy(struct zc_options_manager *options_manager) {
	if (options_manager == NULL) {
		return;
	}
	zc_global_finish(&options_manager->base);
	free(options_manager);
}
