/*
 * org.freedesktop.impl.portal.Screenshot: one frame of an output (the
 * configured choice when it is an output, else the first one), written as
 * a PNG file whose URI the reply carries. PickColor asks the configured
 * picker (picker_cmd: the user's own, which prints "OUTPUT X Y") for a
 * pixel and answers its colour from one frame of that output; without a
 * picker, or when it picks nothing, it answers "other" (2).
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
	bool pick; /* PickColor: the colour at x, y instead of a file */
	int32_t x, y;
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

/* The reply: a file's uri, a colour (rgb, 0..1), or neither. */
static void shot_end(struct shot *shot, uint32_t response, const char *uri, const double *rgb) {
	if (shot->done) {
		return;
	}
	shot->done = true;
	if (uri != NULL) {
		sd_bus_reply_method_return(shot->call, "ua{sv}", response, 1, "uri", "s", uri);
	} else if (rgb != NULL) {
		sd_bus_reply_method_return(shot->call, "ua{sv}", response, 1, "color", "(ddd)",
			rgb[0], rgb[1], rgb[2]);
	} else {
		sd_bus_reply_method_return(shot->call, "ua{sv}", response, 0);
	}
	sd_bus_message_unref(shot->call);
	shot->call = NULL;
	sd_bus_flush(shot->server->bus);
}

/* PickColor's answer: the pixel at x, y of the frame. */
static void pick_end(struct shot *shot, const struct zcl_frame_info *info) {
	if (info->data == NULL || shot->x < 0 || shot->y < 0 || (uint32_t)shot->x >= info->width ||
			(uint32_t)shot->y >= info->height) {
		fprintf(stderr, "zerocap-portal: PickColor: %d,%d is outside the %ux%u output\n",
			shot->x, shot->y, info->width, info->height);
		shot_end(shot, 2, NULL, NULL);
		return;
	}
	uint32_t px = ((const uint32_t *)((const uint8_t *)info->data +
		(size_t)shot->y * info->strides[0]))[shot->x];
	const double rgb[3] = {((px >> 16) & 0xff) / 255.0, ((px >> 8) & 0xff) / 255.0,
		(px & 0xff) / 255.0};
	shot_end(shot, 0, NULL, rgb);
}

static void handle_frame(void *data, struct zcl_frame *frame) {
	struct shot *shot = data;
	if (shot->done) {
		zcl_frame_release(frame); /* the session's second opening frame */
		return;
	}
	const struct zcl_frame_info *info = zcl_frame_get_info(frame);
	if (shot->pick) {
		pick_end(shot, info);
		zcl_frame_release(frame);
		return;
	}
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
	shot_end(shot, ok ? 0 : 2, ok ? uri : NULL, NULL);
}

static void handle_stopped(void *data) {
	shot_end(data, 2, NULL, NULL);
}

static void handle_failed(void *data, enum zcl_error error, const char *why) {
	fprintf(stderr, "zerocap-portal: screenshot failed: %s\n", why);
	shot_end(data, 2, NULL, NULL);
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

/* One frame of target into shot (taken over); the reply comes from the loop. */
static int shot_start(sd_bus_message *m, struct zcp_server *server, struct shot *shot,
		struct zcl_target *target) {
	shot->server = server;
	shot->call = sd_bus_message_ref(m);
	struct zcl_capture_options options = {
		.format = DRM_FORMAT_XRGB8888,
		.buffers = ZCL_BUFFERS_SHM,
		.n_buffers = 3,
	};
	shot->capture = target != NULL ? zcl_capture_create(server->client, target, &options,
		&shot_listener, shot, NULL) : NULL;
	if (shot->capture == NULL) {
		shot_free(shot);
		return sd_bus_reply_method_return(m, "ua{sv}", 2, 0);
	}
	last_shot = shot;
	return 1;
}

/* Reads the call's arguments; false (with r set) when another shot is under way. */
static bool shot_begin(sd_bus_message *m, int *r, sd_bus_error *error) {
	const char *handle, *app_id, *parent;
	*r = sd_bus_message_read(m, "oss", &handle, &app_id, &parent);
	if (*r < 0 || (*r = sd_bus_message_skip(m, "a{sv}")) < 0) {
		return false;
	}
	if (last_shot != NULL && last_shot->done) {
		shot_free(last_shot);
		last_shot = NULL;
	}
	if (last_shot != NULL) {
		*r = sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
			"a screenshot is being taken");
		return false;
	}
	return true;
}

static int method_screenshot(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	int r;
	if (!shot_begin(m, &r, error)) {
		return r;
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
	struct shot *shot = calloc(1, sizeof(*shot));
	if (shot == NULL) {
		return -ENOMEM;
	}
	return shot_start(m, server, shot, target);
}

static int method_pick_color(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	int r;
	if (!shot_begin(m, &r, error)) {
		return r;
	}
	char *picked = server->config.picker_cmd != NULL ?
		zcp_run_line(server->config.picker_cmd) : NULL;
	char name[128];
	int32_t x, y;
	struct zcl_target *target = NULL;
	if (picked != NULL && sscanf(picked, "%127s %d %d", name, &x, &y) == 3) {
		target = zcl_client_find_target(server->client, name);
		target = target != NULL && zcl_target_get_type(target) == ZCL_TARGET_OUTPUT ?
			target : NULL;
	}
	if (target == NULL) {
		fprintf(stderr, "zerocap-portal: PickColor: %s\n", server->config.picker_cmd == NULL ?
			"no picker_cmd configured" : picked == NULL ? "the picker picked nothing" :
			"the picker named no output (OUTPUT X Y)");
		free(picked);
		return sd_bus_reply_method_return(m, "ua{sv}", 2, 0);
	}
	free(picked);
	struct shot *shot = calloc(1, sizeof(*shot));
	if (shot == NULL) {
		return -ENOMEM;
	}
	shot->pick = true;
	shot->x = x;
	shot->y = y;
	return shot_start(m, server, shot, target);
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
