#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-client.h>
#include "client-private.h"
#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"

#define OUTPUT_VERSION 4

uint64_t zcc_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void zcc_client_set_error(struct zcc_client *client, const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	vsnprintf(client->last_error, sizeof(client->last_error), fmt, args);
	va_end(args);
}

const char *zcc_client_last_error(const struct zcc_client *client) {
	return client->last_error;
}

static void replace_string(char **dst, const char *src) {
	free(*dst);
	*dst = src != NULL ? strdup(src) : NULL;
}

static void output_handle_geometry(void *data, struct wl_output *wl_output, int32_t x, int32_t y,
		int32_t phys_width, int32_t phys_height, int32_t subpixel, const char *make,
		const char *model, int32_t transform) {
	struct zcc_output *output = data;
	output->x = x;
	output->y = y;
	output->phys_width = phys_width;
	output->phys_height = phys_height;
	output->subpixel = subpixel;
	output->transform = transform;
	replace_string(&output->make, make);
	replace_string(&output->model, model);
}

static void output_handle_mode(void *data, struct wl_output *wl_output, uint32_t flags,
		int32_t width, int32_t height, int32_t refresh) {
	struct zcc_output *output = data;
	if (!(flags & WL_OUTPUT_MODE_CURRENT)) {
		return;
	}
	output->mode_width = width;
	output->mode_height = height;
	output->refresh_mhz = refresh;
}

static void output_handle_done(void *data, struct wl_output *wl_output) {
	struct zcc_output *output = data;
	output->done = true;
}

static void output_handle_scale(void *data, struct wl_output *wl_output, int32_t factor) {
	struct zcc_output *output = data;
	output->scale = factor;
}

static void output_handle_name(void *data, struct wl_output *wl_output, const char *name) {
	struct zcc_output *output = data;
	replace_string(&output->name, name);
}

static void output_handle_description(void *data, struct wl_output *wl_output,
		const char *description) {
	struct zcc_output *output = data;
	replace_string(&output->description, description);
}

static const struct wl_output_listener output_listener = {
	.geometry = output_handle_geometry,
	.mode = output_handle_mode,
	.done = output_handle_done,
	.scale = output_handle_scale,
	.name = output_handle_name,
	.description = output_handle_description,
};

static void add_output(struct zcc_client *client, uint32_t name, uint32_t version) {
	struct zcc_output *output = calloc(1, sizeof(*output));
	if (output == NULL) {
		zcc_client_set_error(client, "out of memory");
		return;
	}
	output->client = client;
	output->global_name = name;
	output->version = version < OUTPUT_VERSION ? version : OUTPUT_VERSION;
	output->scale = 1;
	output->done = output->version < 2;
	output->wl_output = wl_registry_bind(client->registry, name, &wl_output_interface,
		output->version);
	wl_output_add_listener(output->wl_output, &output_listener, output);
	wl_list_insert(client->outputs.prev, &output->link);
}

static void release_output_proxy(struct zcc_output *output) {
	if (output->wl_output == NULL) {
		return;
	}
	if (output->version >= WL_OUTPUT_RELEASE_SINCE_VERSION) {
		wl_output_release(output->wl_output);
	} else {
		wl_output_destroy(output->wl_output);
	}
	output->wl_output = NULL;
}

static void output_destroy(struct zcc_output *output) {
	release_output_proxy(output);
	wl_list_remove(&output->link);
	free(output->name);
	free(output->description);
	free(output->make);
	free(output->model);
	free(output);
}

static void shm_handle_format(void *data, struct wl_shm *shm, uint32_t format) {
	struct zcc_client *client = data;
	uint32_t *formats = realloc(client->wl_shm_formats,
		(client->n_wl_shm_formats + 1) * sizeof(*formats));
	if (formats == NULL) {
		return;
	}
	formats[client->n_wl_shm_formats++] = format;
	client->wl_shm_formats = formats;
}

static const struct wl_shm_listener shm_listener = {
	.format = shm_handle_format,
};

static uint32_t min_u32(uint32_t a, uint32_t b) {
	return a < b ? a : b;
}

static void note_toplevel_event(struct zcc_toplevel *toplevel) {
	if (toplevel->closed) {
		toplevel->events_after_closed++;
	}
}

static void handle_toplevel_closed(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcc_toplevel *toplevel = data;
	note_toplevel_event(toplevel);
	toplevel->closed = true;
	toplevel->closed_events++;
}

/* Moves a pending string (if any) into place; strings are never NULL after the first done. */
static void apply_pending(char **current, char **pending) {
	if (*pending != NULL) {
		free(*current);
		*current = *pending;
		*pending = NULL;
	} else if (*current == NULL) {
		*current = strdup("");
	}
}

static void handle_toplevel_done(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcc_toplevel *toplevel = data;
	note_toplevel_event(toplevel);
	apply_pending(&toplevel->identifier, &toplevel->pending_identifier);
	apply_pending(&toplevel->title, &toplevel->pending_title);
	apply_pending(&toplevel->app_id, &toplevel->pending_app_id);
	toplevel->done = true;
	toplevel->done_events++;
}

static void handle_toplevel_title(void *data, struct ext_foreign_toplevel_handle_v1 *handle,
		const char *title) {
	struct zcc_toplevel *toplevel = data;
	note_toplevel_event(toplevel);
	replace_string(&toplevel->pending_title, title);
}

static void handle_toplevel_app_id(void *data, struct ext_foreign_toplevel_handle_v1 *handle,
		const char *app_id) {
	struct zcc_toplevel *toplevel = data;
	note_toplevel_event(toplevel);
	replace_string(&toplevel->pending_app_id, app_id);
}

static void handle_toplevel_identifier(void *data,
		struct ext_foreign_toplevel_handle_v1 *handle, const char *identifier) {
	struct zcc_toplevel *toplevel = data;
	note_toplevel_event(toplevel);
	toplevel->identifier_events++;
	replace_string(&toplevel->pending_identifier, identifier);
}

static const struct ext_foreign_toplevel_handle_v1_listener toplevel_listener = {
	.closed = handle_toplevel_closed,
	.done = handle_toplevel_done,
	.title = handle_toplevel_title,
	.app_id = handle_toplevel_app_id,
	.identifier = handle_toplevel_identifier,
};

static void handle_list_toplevel(void *data, struct ext_foreign_toplevel_list_v1 *list,
		struct ext_foreign_toplevel_handle_v1 *handle) {
	struct zcc_client *client = data;
	if (client->toplevel_list_finished) {
		client->toplevels_after_finished++;
	}
	struct zcc_toplevel *toplevel = calloc(1, sizeof(*toplevel));
	if (toplevel == NULL) {
		zcc_client_set_error(client, "out of memory");
		ext_foreign_toplevel_handle_v1_destroy(handle);
		return;
	}
	toplevel->client = client;
	toplevel->handle = handle;
	ext_foreign_toplevel_handle_v1_add_listener(handle, &toplevel_listener, toplevel);
	wl_list_insert(client->toplevels.prev, &toplevel->link);
	client->toplevels_announced++;
}

static void handle_list_finished(void *data, struct ext_foreign_toplevel_list_v1 *list) {
	struct zcc_client *client = data;
	client->toplevel_list_finished = true;
}

static const struct ext_foreign_toplevel_list_v1_listener toplevel_list_listener = {
	.toplevel = handle_list_toplevel,
	.finished = handle_list_finished,
};

void zcc_toplevel_destroy(struct zcc_toplevel *toplevel) {
	if (toplevel == NULL) {
		return;
	}
	ext_foreign_toplevel_handle_v1_destroy(toplevel->handle);
	wl_list_remove(&toplevel->link);
	free(toplevel->identifier);
	free(toplevel->title);
	free(toplevel->app_id);
	free(toplevel->pending_identifier);
	free(toplevel->pending_title);
	free(toplevel->pending_app_id);
	free(toplevel);
}

struct zcc_toplevel *zcc_client_find_toplevel(struct zcc_client *client, const char *key) {
	struct zcc_toplevel *toplevel;
	wl_list_for_each(toplevel, &client->toplevels, link) {
		if (toplevel->done && !toplevel->closed && (key == NULL ||
				strcmp(toplevel->identifier, key) == 0)) {
			return toplevel;
		}
	}
	if (key == NULL) {
		return NULL;
	}
	wl_list_for_each(toplevel, &client->toplevels, link) {
		if (toplevel->done && !toplevel->closed && strcmp(toplevel->app_id, key) == 0) {
			return toplevel;
		}
	}
	return NULL;
}

void zcc_client_stop_toplevel_list(struct zcc_client *client) {
	if (client->toplevel_list != NULL && !client->toplevel_list_stopped) {
		ext_foreign_toplevel_list_v1_stop(client->toplevel_list);
		client->toplevel_list_stopped = true;
		wl_display_flush(client->display);
	}
}

static void registry_handle_global(void *data, struct wl_registry *registry, uint32_t name,
		const char *interface, uint32_t version) {
	struct zcc_client *client = data;
	struct zcc_global *global = calloc(1, sizeof(*global));
	if (global == NULL) {
		return;
	}
	global->name = name;
	global->interface = strdup(interface);
	global->version = version;
	wl_list_insert(client->globals.prev, &global->link);

	if (strcmp(interface, wl_output_interface.name) == 0) {
		add_output(client, name, version);
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && client->shm == NULL) {
		client->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		wl_shm_add_listener(client->shm, &shm_listener, client);
	} else if (strcmp(interface, ext_output_image_capture_source_manager_v1_interface.name) == 0
			&& client->output_source_manager == NULL) {
		client->output_source_manager = wl_registry_bind(registry, name,
			&ext_output_image_capture_source_manager_v1_interface, min_u32(version, 1));
	} else if (strcmp(interface,
			ext_foreign_toplevel_image_capture_source_manager_v1_interface.name) == 0
			&& client->toplevel_source_manager == NULL) {
		client->toplevel_source_manager = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_image_capture_source_manager_v1_interface,
			min_u32(version, 1));
	} else if (strcmp(interface, ext_foreign_toplevel_list_v1_interface.name) == 0 &&
			client->toplevel_list == NULL) {
		client->toplevel_list = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_list_v1_interface, min_u32(version, 1));
		ext_foreign_toplevel_list_v1_add_listener(client->toplevel_list,
			&toplevel_list_listener, client);
	} else if (strcmp(interface, ext_image_copy_capture_manager_v1_interface.name) == 0
			&& client->copy_capture_manager == NULL) {
		client->copy_capture_manager = wl_registry_bind(registry, name,
			&ext_image_copy_capture_manager_v1_interface, min_u32(version, 1));
	}
}

static void registry_handle_global_remove(void *data, struct wl_registry *registry,
		uint32_t name) {
	struct zcc_client *client = data;
	struct zcc_global *global;
	wl_list_for_each(global, &client->globals, link) {
		if (global->name == name) {
			global->removed = true;
		}
	}
	struct zcc_output *output;
	wl_list_for_each(output, &client->outputs, link) {
		if (output->global_name == name && !output->removed) {
			output->removed = true;
			release_output_proxy(output);
		}
	}
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_handle_global,
	.global_remove = registry_handle_global_remove,
};

static bool outputs_done(void *data) {
	struct zcc_client *client = data;
	struct zcc_output *output;
	wl_list_for_each(output, &client->outputs, link) {
		if (!output->removed && !output->done) {
			return false;
		}
	}
	return true;
}

struct zcc_client *zcc_client_connect(const char *display_name) {
	struct zcc_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		fprintf(stderr, "zcclient: out of memory\n");
		return NULL;
	}
	client->timeout_ms = ZCC_DEFAULT_TIMEOUT_MS;
	wl_list_init(&client->globals);
	wl_list_init(&client->outputs);
	wl_list_init(&client->toplevels);

	client->display = wl_display_connect(display_name);
	if (client->display == NULL) {
		fprintf(stderr, "zcclient: cannot connect to Wayland display %s: %s\n",
			display_name != NULL ? display_name : "(default)", strerror(errno));
		free(client);
		return NULL;
	}
	client->registry = wl_display_get_registry(client->display);
	wl_registry_add_listener(client->registry, &registry_listener, client);

	/* First: globals. Second: wl_shm formats and wl_output state. */
	if (zcc_client_roundtrip(client, -1) != 1 || zcc_client_roundtrip(client, -1) != 1
			|| zcc_client_dispatch_until(client, outputs_done, client, -1) != 1) {
		struct zcc_error err;
		char buf[160];
		zcc_client_get_error(client, &err);
		fprintf(stderr, "zcclient: initial round-trip failed: %s\n",
			err.error != 0 ? zcc_error_str(&err, buf, sizeof(buf)) : "timeout");
		zcc_client_destroy(client);
		return NULL;
	}
	return client;
}

void zcc_client_destroy(struct zcc_client *client) {
	if (client == NULL) {
		return;
	}
	struct zcc_output *output, *output_tmp;
	wl_list_for_each_safe(output, output_tmp, &client->outputs, link) {
		output_destroy(output);
	}
	struct zcc_global *global, *global_tmp;
	wl_list_for_each_safe(global, global_tmp, &client->globals, link) {
		wl_list_remove(&global->link);
		free(global->interface);
		free(global);
	}
	if (client->output_source_manager != NULL) {
		ext_output_image_capture_source_manager_v1_destroy(client->output_source_manager);
	}
	struct zcc_toplevel *toplevel, *toplevel_tmp;
	wl_list_for_each_safe(toplevel, toplevel_tmp, &client->toplevels, link) {
		zcc_toplevel_destroy(toplevel);
	}
	if (client->toplevel_list != NULL) {
		ext_foreign_toplevel_list_v1_destroy(client->toplevel_list);
	}
	if (client->toplevel_source_manager != NULL) {
		ext_foreign_toplevel_image_capture_source_manager_v1_destroy(
			client->toplevel_source_manager);
	}
	if (client->copy_capture_manager != NULL) {
		ext_image_copy_capture_manager_v1_destroy(client->copy_capture_manager);
	}
	if (client->shm != NULL) {
		wl_shm_destroy(client->shm);
	}
	if (client->registry != NULL) {
		wl_registry_destroy(client->registry);
	}
	if (client->display != NULL) {
		wl_display_flush(client->display);
		wl_display_disconnect(client->display);
	}
	free(client->wl_shm_formats);
	free(client);
}

bool zcc_client_has_capture(const struct zcc_client *client) {
	return client->output_source_manager != NULL && client->copy_capture_manager != NULL;
}

struct zcc_output *zcc_client_find_output(struct zcc_client *client, const char *name) {
	struct zcc_output *output;
	wl_list_for_each(output, &client->outputs, link) {
		if (output->removed) {
			continue;
		}
		if (name == NULL || (output->name != NULL && strcmp(output->name, name) == 0)) {
			return output;
		}
	}
	return NULL;
}

const struct zcc_global *zcc_client_find_global(const struct zcc_client *client,
		const char *interface) {
	const struct zcc_global *global;
	wl_list_for_each(global, &client->globals, link) {
		if (!global->removed && strcmp(global->interface, interface) == 0) {
			return global;
		}
	}
	return NULL;
}

void *zcc_client_bind(struct zcc_client *client, const struct wl_interface *interface,
		uint32_t version) {
	const struct zcc_global *global = zcc_client_find_global(client, interface->name);
	if (global == NULL) {
		zcc_client_set_error(client, "no %s global", interface->name);
		return NULL;
	}
	return wl_registry_bind(client->registry, global->name, interface,
		min_u32(version, global->version));
}

static int remaining_ms(uint64_t deadline_ns) {
	uint64_t now = zcc_now_ns();
	if (now >= deadline_ns) {
		return 0;
	}
	/* Round up so that a wait never ends a little early. */
	return (int)((deadline_ns - now + 999999) / 1000000);
}

static int resolve_timeout(const struct zcc_client *client, int timeout_ms) {
	return timeout_ms < 0 ? client->timeout_ms : timeout_ms;
}

/*
 * The one event loop of the library: flush, read and dispatch until the
 * predicate holds (predicate NULL: never), the deadline passes or the
 * connection fails.
 */
static int dispatch_until_deadline(struct zcc_client *client, zcc_predicate_func predicate,
		void *data, uint64_t deadline_ns) {
	struct wl_display *display = client->display;
	while (true) {
		if (wl_display_dispatch_pending(display) < 0) {
			return -1;
		}
		if (predicate != NULL && predicate(data)) {
			return 1;
		}
		if (wl_display_get_error(display) != 0) {
			return -1;
		}
		if (wl_display_prepare_read(display) != 0) {
			continue;
		}

		/*
		 * EPIPE: the server closed the connection, usually after a
		 * protocol error. Keep reading: the error event is still queued.
		 */
		short events = POLLIN;
		if (wl_display_flush(display) < 0) {
			if (errno == EAGAIN) {
				events |= POLLOUT;
			} else if (errno != EPIPE) {
				wl_display_cancel_read(display);
				return -1;
			}
		}

		int timeout = remaining_ms(deadline_ns);
		if (timeout == 0) {
			wl_display_cancel_read(display);
			return 0;
		}
		struct pollfd pfd = {
			.fd = wl_display_get_fd(display),
			.events = events,
		};
		int ret = poll(&pfd, 1, timeout);
		if (ret < 0) {
			wl_display_cancel_read(display);
			if (errno == EINTR) {
				continue;
			}
			zcc_client_set_error(client, "poll: %s", strerror(errno));
			return -1;
		}
		if (ret == 0 || !(pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
			wl_display_cancel_read(display);
			continue;
		}
		if (wl_display_read_events(display) < 0) {
			wl_display_dispatch_pending(display);
			return -1;
		}
	}
}

int zcc_client_dispatch_until(struct zcc_client *client, zcc_predicate_func predicate,
		void *data, int timeout_ms) {
	uint64_t deadline = zcc_now_ns() + (uint64_t)resolve_timeout(client, timeout_ms) * 1000000u;
	return dispatch_until_deadline(client, predicate, data, deadline);
}

int zcc_client_dispatch_for(struct zcc_client *client, int timeout_ms) {
	uint64_t deadline = zcc_now_ns() + (uint64_t)resolve_timeout(client, timeout_ms) * 1000000u;
	return dispatch_until_deadline(client, NULL, NULL, deadline);
}

static void sync_handle_done(void *data, struct wl_callback *callback, uint32_t serial) {
	bool *done = data;
	*done = true;
}

static const struct wl_callback_listener sync_listener = {
	.done = sync_handle_done,
};

static bool bool_is_set(void *data) {
	return *(bool *)data;
}

int zcc_client_roundtrip(struct zcc_client *client, int timeout_ms) {
	bool done = false;
	struct wl_callback *callback = wl_display_sync(client->display);
	if (callback == NULL) {
		return -1;
	}
	wl_callback_add_listener(callback, &sync_listener, &done);
	int ret = zcc_client_dispatch_until(client, bool_is_set, &done, timeout_ms);
	wl_callback_destroy(callback);
	return ret;
}

bool zcc_client_get_error(struct zcc_client *client, struct zcc_error *err) {
	memset(err, 0, sizeof(*err));
	err->error = wl_display_get_error(client->display);
	if (err->error == EPROTO) {
		const struct wl_interface *interface = NULL;
		err->protocol = true;
		err->code = wl_display_get_protocol_error(client->display, &interface,
			&err->object_id);
		snprintf(err->interface, sizeof(err->interface), "%s",
			interface != NULL ? interface->name : "unknown");
	}
	return err->error != 0;
}

static bool display_failed(void *data) {
	return wl_display_get_error(data) != 0;
}

bool zcc_client_expect_protocol_error(struct zcc_client *client,
		const struct wl_interface *interface, uint32_t code) {
	/*
	 * Read before writing anything more: the compositor closes the
	 * connection after the error, and a request that reaches it after its
	 * last read turns the close into a reset, which loses the error event
	 * still on its way. Only when no error comes, a round trip.
	 */
	wl_display_flush(client->display);
	zcc_client_dispatch_until(client, display_failed, client->display, 2000);
	if (wl_display_get_error(client->display) == 0) {
		zcc_client_roundtrip(client, -1);
	}
	struct zcc_error err;
	if (!zcc_client_get_error(client, &err)) {
		zcc_client_set_error(client, "expected %s error %u, got none", interface->name, code);
		return false;
	}
	char buf[160];
	if (!err.protocol || err.code != code || strcmp(err.interface, interface->name) != 0) {
		zcc_client_set_error(client, "expected %s error %u, got %s", interface->name, code,
			zcc_error_str(&err, buf, sizeof(buf)));
		return false;
	}
	return true;
}

const char *zcc_error_str(const struct zcc_error *err, char *buf, size_t size) {
	if (err->protocol) {
		snprintf(buf, size, "protocol error %u on %s#%u", err->code, err->interface,
			err->object_id);
	} else if (err->error != 0) {
		snprintf(buf, size, "connection error: %s", strerror(err->error));
	} else {
		snprintf(buf, size, "no error");
	}
	return buf;
}
