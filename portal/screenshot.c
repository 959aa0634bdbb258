/*
 * org.freedesktop.impl.portal.Screenshot: one frame of an output (the
 * configured choice when it is an output, else the first one), written as
 * a PNG file whose URI the reply carries. PickColor needs a picker the user
 * clicks with, which this backend does not have: it answers "other" (2).
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "portal.h"

#define SCREENSHOT_VERSION 2

struct shot {
	struct zcp_server *server;
	sd_bus_message *call;
	struct zcl_capture *capture;
	bool done;
};

static bool write_png(const char *path, const struct zcl_frame_info *info) {
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		return false;
	}
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop pinfo = png != NULL ? png_create_info_struct(png) : NULL;
	uint8_t *row = malloc((size_t)info->width * 3);
	bool ok = png != NULL && pinfo != NULL && row != NULL;
	if (ok && setjmp(png_jmpbuf(png)) == 0) {
		png_init_io(png, f);
		png_set_IHDR(png, pinfo, info->width, info->height, 8, PNG_COLOR_TYPE_RGB,
			PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
		png_write_info(png, pinfo);
		for (uint32_t y = 0; y < info->height; y++) {
			const uint32_t *src = (const uint32_t *)((const uint8_t *)info->data +
				(size_t)y * info->strides[0]);
			for (uint32_t x = 0; x < info->width; x++) {
				row[x * 3] = (uint8_t)(src[x] >> 16);
				row[x * 3 + 1] = (uint8_t)(src[x] >> 8);
				row[x * 3 + 2] = (uint8_t)src[x];
			}
			png_write_row(png, row);
		}
		png_write_end(png, NULL);
	} else {
		ok = false;
	}
	png_destroy_write_struct(&png, &pinfo);
	free(row);
	return fclose(f) == 0 && ok;
}

static void shot_end(struct shot *shot, uint32_t response, const char *uri) {
	if (shot->done) {
		return;
	}
	shot->done = true;
	if (uri != NULL) {
		sd_bus_reply_method_return(shot->call, "ua{sv}", response, 1, "uri", "s", uri);
	} else {
		sd_bus_reply_method_return(shot->call, "ua{sv}", response, 0);
	}
	sd_bus_message_unref(shot->call);
	shot->call = NULL;
	sd_bus_flush(shot->server->bus);
}

static void handle_frame(void *data, struct zcl_frame *frame) {
	struct shot *shot = data;
	if (shot->done) {
		zcl_frame_release(frame); /* the session's second opening frame */
		return;
	}
	const struct zcl_frame_info *info = zcl_frame_get_info(frame);
	const char *dir = getenv("XDG_PICTURES_DIR");
	dir = dir != NULL ? dir : getenv("HOME");
	dir = dir != NULL ? dir : "/tmp";
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char path[600], uri[700];
	snprintf(path, sizeof(path), "%s/Screenshot-%lld-%09ld.png", dir, (long long)now.tv_sec,
		now.tv_nsec);
	snprintf(uri, sizeof(uri), "file://%s", path);
	bool ok = info->data != NULL && write_png(path, info);
	zcl_frame_release(frame);
	if (!ok) {
		fprintf(stderr, "zerocap-portal: cannot write %s\n", path);
	} else {
		fprintf(stderr, "zerocap-portal: screenshot %ux%u in %s\n", info->width, info->height,
			path);
	}
	shot_end(shot, ok ? 0 : 2, ok ? uri : NULL);
}

static void handle_stopped(void *data) {
	shot_end(data, 2, NULL);
}

static void handle_failed(void *data, enum zcl_error error, const char *why) {
	fprintf(stderr, "zerocap-portal: screenshot failed: %s\n", why);
	shot_end(data, 2, NULL);
}

static const struct zcl_capture_listener shot_listener = {
	.frame = handle_frame,
	.stopped = handle_stopped,
	.failed = handle_failed,
};

/* Captures finish from the loop; each is freed on the next request or at exit. */
static struct shot *last_shot;

static void shot_free(struct shot *shot) {
	if (shot == NULL) {
		return;
	}
	zcl_capture_destroy(shot->capture);
	if (shot->call != NULL) {
		sd_bus_message_unref(shot->call);
	}
	free(shot);
}

static int method_screenshot(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	const char *handle, *app_id, *parent;
	int r = sd_bus_message_read(m, "oss", &handle, &app_id, &parent);
	if (r < 0 || (r = sd_bus_message_skip(m, "a{sv}")) < 0) {
		return r;
	}
	if (last_shot != NULL && last_shot->done) {
		shot_free(last_shot);
		last_shot = NULL;
	}
	if (last_shot != NULL) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
			"a screenshot is being taken");
	}
	struct zcl_target *target = server->config.choice != NULL ?
		zcp_find_choice(server, server->config.choice) : NULL;
	if (target == NULL || zcl_target_get_type(target) != ZCL_TARGET_OUTPUT) {
		target = NULL;
		for (size_t i = 0; target == NULL && i < zcl_client_target_count(server->client); i++) {
			struct zcl_target *t = zcl_client_target_at(server->client, i);
			target = zcl_target_get_type(t) == ZCL_TARGET_OUTPUT ? t : NULL;
		}
	}
	if (target == NULL) {
		return sd_bus_reply_method_return(m, "ua{sv}", 2, 0);
	}
	struct shot *shot = calloc(1, sizeof(*shot));
	if (shot == NULL) {
		return -ENOMEM;
	}
	shot->server = server;
	shot->call = sd_bus_message_ref(m);
	struct zcl_capture_options options = {
		.format = DRM_FORMAT_XRGB8888,
		.buffers = ZCL_BUFFERS_SHM,
		.n_buffers = 3,
	};
	shot->capture = zcl_capture_create(server->client, target, &options, &shot_listener, shot,
		NULL);
	if (shot->capture == NULL) {
		shot_free(shot);
		return sd_bus_reply_method_return(m, "ua{sv}", 2, 0);
	}
	last_shot = shot;
	return 1;
}

static int method_pick_color(sd_bus_message *m, void *data, sd_bus_error *error) {
	fprintf(stderr, "zerocap-portal: PickColor needs an interactive picker, which this "
		"backend has not\n");
	return sd_bus_reply_method_return(m, "ua{sv}", 2, 0);
}

static int prop_version(sd_bus *bus, const char *path, const char *interface,
		const char *property, sd_bus_message *reply, void *data, sd_bus_error *error) {
	return sd_bus_message_append(reply, "u", SCREENSHOT_VERSION);
}

static const sd_bus_vtable screenshot_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Screenshot", "ossa{sv}", "ua{sv}", method_screenshot,
		SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("PickColor", "ossa{sv}", "ua{sv}", method_pick_color,
		SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("version", "u", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

int zcp_screenshot_init(struct zcp_server *server) {
	return sd_bus_add_object_vtable(server->bus, NULL, ZCP_OBJECT_PATH,
		"org.freedesktop.impl.portal.Screenshot", screenshot_vtable, server);
}
