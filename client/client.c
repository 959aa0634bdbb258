/*
 * libzerocap-client: the connection, its globals and the capture targets
 * (wl_output for outputs, ext-foreign-toplevel-list-v1 for windows).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "private.h"
#include "zerocap-capture-options-v1-client-protocol.h"

void zcl_set_error(struct zcl_client *client, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(client->error, sizeof(client->error), fmt, ap);
	va_end(ap);
}

const char *zcl_error_str(enum zcl_error error) {
	switch (error) {
	case ZCL_OK: return "ok";
	case ZCL_ERROR_CONNECT: return "no connection to the compositor";
	case ZCL_ERROR_UNSUPPORTED: return "not supported by the compositor";
	case ZCL_ERROR_INVALID: return "invalid argument";
	case ZCL_ERROR_NO_FORMAT: return "no usable pixel format";
	case ZCL_ERROR_ALLOC: return "buffers could not be allocated";
	case ZCL_ERROR_NO_MEMORY: return "out of memory";
	}
	return "unknown error";
}

static void set_str(char **dst, const char *value) {
	char *copy = strdup(value != NULL ? value : "");
	if (copy != NULL) {
		free(*dst);
		*dst = copy;
	}
}

static struct zcl_target *target_new(struct zcl_client *client, enum zcl_target_type type) {
	struct zcl_target *target = calloc(1, sizeof(*target));
	if (target == NULL) {
		return NULL;
	}
	target->client = client;
	target->type = type;
	set_str(&target->name, "");
	set_str(&target->title, "");
	set_str(&target->app_id, "");
	wl_list_insert(client->targets.prev, &target->link);
	return target;
}

static void target_announce(struct zcl_target *target) {
	struct zcl_client *client = target->client;
	bool first = !target->announced;
	target->announced = true;
	if (client->listener == NULL) {
		return;
	}
	if (first && client->listener->target_added != NULL) {
		client->listener->target_added(client->data, target);
	} else if (!first && client->listener->target_changed != NULL) {
		client->listener->target_changed(client->data, target);
	}
}

static void target_free(struct zcl_target *target, bool tell) {
	struct zcl_client *client = target->client;
	zcl_captures_target_gone(client, target);
	if (tell && target->announced && client->listener != NULL &&
			client->listener->target_removed != NULL) {
		client->listener->target_removed(client->data, target);
	}
	if (target->output != NULL) {
		if (wl_output_get_version(target->output) >= WL_OUTPUT_RELEASE_SINCE_VERSION) {
			wl_output_release(target->output);
		} else {
			wl_output_destroy(target->output);
		}
	}
	if (target->handle != NULL) {
		ext_foreign_toplevel_handle_v1_destroy(target->handle);
	}
	wl_list_remove(&target->link);
	free(target->name);
	free(target->title);
	free(target->app_id);
	free(target->pending_name);
	free(target->pending_title);
	free(target->pending_app_id);
	free(target);
}

/* wl_output */

static void output_geometry(void *data, struct wl_output *o, int32_t x, int32_t y,
		int32_t pw, int32_t ph, int32_t subpixel, const char *make, const char *model,
		int32_t transform) {
}

static void output_mode(void *data, struct wl_output *o, uint32_t flags, int32_t width,
		int32_t height, int32_t refresh) {
	struct zcl_target *target = data;
	if (flags & WL_OUTPUT_MODE_CURRENT) {
		target->width = width;
		target->height = height;
	}
}

static void output_done(void *data, struct wl_output *o) {
	target_announce(data);
}

static void output_scale(void *data, struct wl_output *o, int32_t factor) {
}

static void output_name(void *data, struct wl_output *o, const char *name) {
	struct zcl_target *target = data;
	set_str(&target->name, name);
}

static void output_description(void *data, struct wl_output *o, const char *description) {
	struct zcl_target *target = data;
	set_str(&target->title, description);
}

static const struct wl_output_listener output_listener = {
	.geometry = output_geometry,
	.mode = output_mode,
	.done = output_done,
	.scale = output_scale,
	.name = output_name,
	.description = output_description,
};

/* ext_foreign_toplevel_handle_v1 */

static void handle_closed(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcl_target *target = data;
	target->closed = true;
	target_free(target, true);
}

static void handle_done(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcl_target *target = data;
	if (target->pending_name != NULL) {
		set_str(&target->name, target->pending_name);
	}
	if (target->pending_title != NULL) {
		set_str(&target->title, target->pending_title);
	}
	if (target->pending_app_id != NULL) {
		set_str(&target->app_id, target->pending_app_id);
	}
	free(target->pending_name);
	free(target->pending_title);
	free(target->pending_app_id);
	target->pending_name = target->pending_title = target->pending_app_id = NULL;
	target_announce(target);
}

static void handle_title(void *data, struct ext_foreign_toplevel_handle_v1 *h, const char *v) {
	set_str(&((struct zcl_target *)data)->pending_title, v);
}

static void handle_app_id(void *data, struct ext_foreign_toplevel_handle_v1 *h, const char *v) {
	set_str(&((struct zcl_target *)data)->pending_app_id, v);
}

static void handle_identifier(void *data, struct ext_foreign_toplevel_handle_v1 *h,
		const char *v) {
	set_str(&((struct zcl_target *)data)->pending_name, v);
}

static const struct ext_foreign_toplevel_handle_v1_listener handle_listener = {
	.closed = handle_closed,
	.done = handle_done,
	.title = handle_title,
	.app_id = handle_app_id,
	.identifier = handle_identifier,
};

static void list_toplevel(void *data, struct ext_foreign_toplevel_list_v1 *list,
		struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcl_client *client = data;
	struct zcl_target *target = target_new(client, ZCL_TARGET_WINDOW);
	if (target == NULL) {
		ext_foreign_toplevel_handle_v1_destroy(handle);
		return;
	}
	target->handle = handle;
	ext_foreign_toplevel_handle_v1_add_listener(handle, &handle_listener, target);
}

static void list_finished(void *data, struct ext_foreign_toplevel_list_v1 *list) {
	struct zcl_client *client = data;
	ext_foreign_toplevel_list_v1_destroy(client->toplevels);
	client->toplevels = NULL;
}

static const struct ext_foreign_toplevel_list_v1_listener list_listener = {
	.toplevel = list_toplevel,
	.finished = list_finished,
};

/* The seat: its pointer is what cursor sessions follow. */

static void seat_capabilities(void *data, struct wl_seat *seat, uint32_t caps) {
	struct zcl_client *client = data;
	bool has = (caps & WL_SEAT_CAPABILITY_POINTER) != 0;
	if (has && client->pointer == NULL) {
		client->pointer = wl_seat_get_pointer(seat);
	} else if (!has && client->pointer != NULL) {
		wl_pointer_release(client->pointer);
		client->pointer = NULL;
	}
}

static void seat_name(void *data, struct wl_seat *seat, const char *name) {
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_capabilities,
	.name = seat_name,
};

/* Registry */

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
		const char *interface, uint32_t version) {
	struct zcl_client *client = data;
	if (strcmp(interface, wl_shm_interface.name) == 0 && client->shm == NULL) {
		client->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, zwp_linux_dmabuf_v1_interface.name) == 0 &&
			client->dmabuf == NULL && version >= 3) {
		client->dmabuf = wl_registry_bind(registry, name, &zwp_linux_dmabuf_v1_interface, 3);
	} else if (strcmp(interface, ext_output_image_capture_source_manager_v1_interface.name) ==
			0 && client->output_sources == NULL) {
		client->output_sources = wl_registry_bind(registry, name,
			&ext_output_image_capture_source_manager_v1_interface, 1);
	} else if (strcmp(interface,
			ext_foreign_toplevel_image_capture_source_manager_v1_interface.name) == 0 &&
			client->toplevel_sources == NULL) {
		client->toplevel_sources = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_image_capture_source_manager_v1_interface, 1);
	} else if (strcmp(interface, ext_image_copy_capture_manager_v1_interface.name) == 0 &&
			client->copy == NULL) {
		client->copy = wl_registry_bind(registry, name,
			&ext_image_copy_capture_manager_v1_interface, 1);
	} else if (strcmp(interface, ext_foreign_toplevel_list_v1_interface.name) == 0 &&
			client->toplevels == NULL) {
		client->toplevels = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_list_v1_interface, 1);
		ext_foreign_toplevel_list_v1_add_listener(client->toplevels, &list_listener, client);
	} else if (strcmp(interface, zerocap_capture_options_manager_v1_interface.name) == 0 &&
			client->options == NULL) {
		client->options = wl_registry_bind(registry, name,
			&zerocap_capture_options_manager_v1_interface, 1);
	} else if (strcmp(interface, wl_seat_interface.name) == 0 && client->seat == NULL &&
			version >= 5) {
		client->seat = wl_registry_bind(registry, name, &wl_seat_interface, 5);
		wl_seat_add_listener(client->seat, &seat_listener, client);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && version >= 4) {
		struct zcl_target *target = target_new(client, ZCL_TARGET_OUTPUT);
		if (target == NULL) {
			return;
		}
		target->global_name = name;
		target->output = wl_registry_bind(registry, name, &wl_output_interface, 4);
		wl_output_add_listener(target->output, &output_listener, target);
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
	struct zcl_client *client = data;
	struct zcl_target *target, *tmp;
	wl_list_for_each_safe(target, tmp, &client->targets, link) {
		if (target->type == ZCL_TARGET_OUTPUT && target->global_name == name) {
			target_free(target, true);
		}
	}
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void sync_done(void *data, struct wl_callback *callback, uint32_t serial);
static const struct wl_callback_listener sync_listener = {.done = sync_done};

/* Two round trips: the globals, then what binding them sent. */
static void sync_done(void *data, struct wl_callback *callback, uint32_t serial) {
	struct zcl_client *client = data;
	wl_callback_destroy(callback);
	client->sync = NULL;
	if (client->sync_rounds++ == 0) {
		client->sync = wl_display_sync(client->display);
		wl_callback_add_listener(client->sync, &sync_listener, client);
	} else {
		client->ready = true;
	}
}

struct zcl_client *zcl_client_connect(const char *display,
		const struct zcl_client_listener *listener, void *data) {
	struct zcl_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		return NULL;
	}
	wl_list_init(&client->targets);
	wl_list_init(&client->captures);
	client->listener = listener;
	client->data = data;
	client->display = wl_display_connect(display);
	if (client->display == NULL) {
		free(client);
		return NULL;
	}
	client->registry = wl_display_get_registry(client->display);
	wl_registry_add_listener(client->registry, &registry_listener, client);
	client->sync = wl_display_sync(client->display);
	wl_callback_add_listener(client->sync, &sync_listener, client);
	wl_display_flush(client->display);
	return client;
}

void zcl_client_destroy(struct zcl_client *client) {
	if (client == NULL) {
		return;
	}
	struct zcl_target *target, *tmp;
	wl_list_for_each_safe(target, tmp, &client->targets, link) {
		target_free(target, false);
	}
	if (client->sync != NULL) {
		wl_callback_destroy(client->sync);
	}
	if (client->toplevels != NULL) {
		ext_foreign_toplevel_list_v1_destroy(client->toplevels);
	}
	if (client->options != NULL) {
		zerocap_capture_options_manager_v1_destroy(client->options);
	}
	if (client->copy != NULL) {
		ext_image_copy_capture_manager_v1_destroy(client->copy);
	}
	if (client->output_sources != NULL) {
		ext_output_image_capture_source_manager_v1_destroy(client->output_sources);
	}
	if (client->toplevel_sources != NULL) {
		ext_foreign_toplevel_image_capture_source_manager_v1_destroy(
			client->toplevel_sources);
	}
	if (client->dmabuf != NULL) {
		zwp_linux_dmabuf_v1_destroy(client->dmabuf);
	}
	if (client->shm != NULL) {
		wl_shm_destroy(client->shm);
	}
	if (client->pointer != NULL) {
		wl_pointer_release(client->pointer);
	}
	if (client->seat != NULL) {
		wl_seat_release(client->seat);
	}
	wl_registry_destroy(client->registry);
	wl_display_disconnect(client->display);
	free(client);
}

int zcl_client_get_fd(struct zcl_client *client) {
	return wl_display_get_fd(client->display);
}

static int fail_connection(struct zcl_client *client) {
	if (!client->dead) {
		client->dead = true;
		zcl_set_error(client, "the connection to the compositor failed: %s",
			strerror(wl_display_get_error(client->display)));
		zcl_captures_lost(client);
	}
	return -1;
}

int zcl_client_dispatch(struct zcl_client *client) {
	if (client->dead) {
		return -1;
	}
	struct wl_display *display = client->display;
	int total = 0;
	while (wl_display_prepare_read(display) != 0) {
		int n = wl_display_dispatch_pending(display);
		if (n < 0) {
			return fail_connection(client);
		}
		total += n;
	}
	if (wl_display_flush(display) < 0 && errno != EAGAIN) {
		wl_display_cancel_read(display);
		return fail_connection(client);
	}
	struct pollfd pfd = {.fd = wl_display_get_fd(display), .events = POLLIN};
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
		if (wl_display_read_events(display) < 0) {
			return fail_connection(client);
		}
	} else {
		wl_display_cancel_read(display);
	}
	int n = wl_display_dispatch_pending(display);
	if (n < 0) {
		return fail_connection(client);
	}
	total += n;
	if (wl_display_flush(display) < 0 && errno != EAGAIN) {
		return fail_connection(client);
	}
	return total;
}

bool zcl_client_ready(const struct zcl_client *client) {
	return client->ready;
}

bool zcl_client_has_options(const struct zcl_client *client) {
	return client->options != NULL;
}

const char *zcl_client_last_error(const struct zcl_client *client) {
	return client->error;
}

size_t zcl_client_target_count(const struct zcl_client *client) {
	size_t n = 0;
	const struct zcl_target *target;
	wl_list_for_each(target, &client->targets, link) {
		n += target->announced;
	}
	return n;
}

struct zcl_target *zcl_client_target_at(struct zcl_client *client, size_t index) {
	struct zcl_target *target;
	wl_list_for_each(target, &client->targets, link) {
		if (target->announced && index-- == 0) {
			return target;
		}
	}
	return NULL;
}

struct zcl_target *zcl_client_find_target(struct zcl_client *client, const char *key) {
	struct zcl_target *target;
	wl_list_for_each(target, &client->targets, link) {
		if (target->announced && (key == NULL || strcmp(target->name, key) == 0)) {
			return target;
		}
	}
	wl_list_for_each(target, &client->targets, link) {
		if (target->announced && key != NULL && target->type == ZCL_TARGET_WINDOW &&
				strcmp(target->app_id, key) == 0) {
			return target;
		}
	}
	return NULL;
}

enum zcl_target_type zcl_target_get_type(const struct zcl_target *target) {
	return target->type;
}

const char *zcl_target_get_name(const struct zcl_target *target) {
	return target->name;
}

const char *zcl_target_get_title(const struct zcl_target *target) {
	return target->title;
}

const char *zcl_target_get_app_id(const struct zcl_target *target) {
	return target->app_id;
}

void zcl_target_get_size(const struct zcl_target *target, int32_t *width, int32_t *height) {
	*width = target->width;
	*height = target->height;
}
