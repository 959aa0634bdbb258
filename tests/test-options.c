/*
 * zerocap-capture-options-v1 on the host (pixman, shm): every request's
 * error, and derived sources checked by pixels against references computed
 * here from a plain capture of the same output: crop, 2x downscale,
 * a rotated output, NV12/P010 constraints (dma-buf only), damage limited to
 * the crop, a crop outside the output, and the maximum rate. The YCbCr
 * conversion itself is checked in tests/unit/test-convert.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "fixture.h"
#include "window.h"
#include "window-pattern.h"
#include "zerocap-capture-options-v1-client-protocol.h"

#define BACKGROUND 0xff202020u

static const struct {
	const char *name;
	int x, y, w, h;
	uint32_t rgba;
} scene[] = {
	{"red", 10, 20, 30, 40, 0xff0000ff},
	{"green", 200, 200, 40, 40, 0x00ff00ff},
	{"blue", 100, 0, 20, 10, 0x0000ffff},
	{"white", 0, 230, 7, 10, 0xffffffff},
	{"teal", 64, 96, 50, 30, 0x3090a0ff},
};

static void setup_scene(struct zt_compositor *comp) {
	for (size_t i = 0; i < sizeof(scene) / sizeof(scene[0]); i++) {
		ZT_CHECK(zt_cmd(comp, "rect %s %d %d %d %d %08x", scene[i].name, scene[i].x,
			scene[i].y, scene[i].w, scene[i].h, scene[i].rgba), "rect: %s", comp->reply);
	}
}

/* A plain capture of the first output: the reference, XRGB8888. */
static uint32_t *reference(struct zcc_client *client, int *width, int *height) {
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), 0);
	uint32_t *pixels = NULL;
	if (zcc_session_wait_constraints(session, -1) == 1 && !session->stopped) {
		*width = session->constraints.width;
		*height = session->constraints.height;
		struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
			*width, *height, 0);
		struct zcc_capture_result result;
		if (zcc_session_capture(session, buffer, NULL, 0, -1, &result) == ZCC_FRAME_READY) {
			pixels = malloc((size_t)*width * *height * 4);
			for (int y = 0; y < *height; y++) {
				memcpy(pixels + (size_t)y * *width,
					(uint8_t *)buffer->data + (size_t)y * buffer->stride, *width * 4);
			}
		}
		zcc_capture_result_finish(&result);
		zcc_buffer_destroy(buffer);
	}
	zcc_session_destroy(session);
	ZT_CHECK(pixels != NULL, "a reference capture");
	return pixels;
}

struct derive {
	bool crop;
	int x, y, w, h;
	uint32_t width, height, format;
	uint32_t matrix, range;
	uint32_t rate_mhz;
};

static struct zerocap_capture_options_manager_v1 *bind_manager(struct zcc_client *client) {
	struct zerocap_capture_options_manager_v1 *manager =
		zcc_client_bind(client, &zerocap_capture_options_manager_v1_interface, 1);
	ZT_CHECK(manager != NULL, "the compositor offers zerocap_capture_options_manager_v1");
	return manager;
}

static struct ext_image_capture_source_v1 *output_source(struct zcc_client *client) {
	return ext_output_image_capture_source_manager_v1_create_source(
		client->output_source_manager, zcc_client_find_output(client, NULL)->wl_output);
}

static struct ext_image_capture_source_v1 *derived_source(struct zcc_client *client,
		struct zerocap_capture_options_manager_v1 *manager, const struct derive *d) {
	struct zerocap_capture_options_v1 *options =
		zerocap_capture_options_manager_v1_get_options(manager);
	if (d->crop) {
		zerocap_capture_options_v1_set_crop(options, d->x, d->y, d->w, d->h);
	}
	if (d->width != 0) {
		zerocap_capture_options_v1_set_size(options, d->width, d->height);
	}
	if (d->format != 0) {
		zerocap_capture_options_v1_set_format(options, d->format);
	}
	zerocap_capture_options_v1_set_color(options, d->matrix, d->range);
	if (d->rate_mhz != 0) {
		zerocap_capture_options_v1_set_max_rate(options, d->rate_mhz);
	}
	struct ext_image_capture_source_v1 *parent = output_source(client);
	struct ext_image_capture_source_v1 *source =
		zerocap_capture_options_manager_v1_create_source(manager, parent, options);
	/* Neither is needed any more: the derived source keeps what it uses. */
	zerocap_capture_options_v1_destroy(options);
	ext_image_capture_source_v1_destroy(parent);
	return source;
}

/* Reference pixel of the derived image (RGB), averaged over its box footprint. */
static void expect_rgb(const uint32_t *ref, int ref_w, const struct derive *d, int x, int y,
		double out[3]) {
	double sx = (double)d->w / d->width, sy = (double)d->h / d->height;
	int x0 = d->x + (int)(x * sx), y0 = d->y + (int)(y * sy);
	int nx = (int)sx, ny = (int)sy;
	out[0] = out[1] = out[2] = 0;
	for (int j = 0; j < ny; j++) {
		for (int i = 0; i < nx; i++) {
			uint32_t p = ref[(size_t)(y0 + j) * ref_w + x0 + i];
			out[0] += ((p >> 16) & 0xff) / 255.0;
			out[1] += ((p >> 8) & 0xff) / 255.0;
			out[2] += (p & 0xff) / 255.0;
		}
	}
	for (int k = 0; k < 3; k++) {
		out[k] /= nx * ny;
	}
}

/* Compares a derived RGB frame with the reference; returns the samples off by more than 1. */
static int compare(const struct zcc_buffer *b, const uint32_t *ref, int ref_w,
		const struct derive *d) {
	int bad = 0;
	for (int y = 0; y < (int)d->height; y++) {
		const uint32_t *row = (const uint32_t *)((const uint8_t *)b->data +
			(size_t)y * b->stride);
		for (int x = 0; x < (int)d->width; x++) {
			double rgb[3];
			expect_rgb(ref, ref_w, d, x, y, rgb);
			int got[3] = {(row[x] >> 16) & 0xff, (row[x] >> 8) & 0xff, row[x] & 0xff};
			for (int k = 0; k < 3; k++) {
				if (fabs(got[k] - rgb[k] * 255) > 1.0 && bad++ < 3) {
					fprintf(stderr, "  %d,%d channel %d: got %d want %.1f\n", x, y, k,
						got[k], rgb[k] * 255);
				}
			}
		}
	}
	return bad;
}

/* NV12 and P010 sources offer dma-bufs only: wlroots' wl_shm takes no planar formats. */
static void check_yuv_constraints(struct zcc_client *client,
		struct zerocap_capture_options_manager_v1 *m, uint32_t format) {
	const struct derive d = {true, 0, 0, 241, 99, 0, 0, format, 1, 0, 0};
	struct ext_image_capture_source_v1 *source = derived_source(client, m, &d);
	struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
	ZT_CHECK(zcc_session_wait_constraints(session, -1) == 1 && !session->stopped,
		"%s: constraints", zcc_format_name(format));
	ZT_CHECK(session->constraints.width == 240 && session->constraints.height == 98,
		"%s: an odd crop is made even (%ux%u)", zcc_format_name(format),
		session->constraints.width, session->constraints.height);
	ZT_CHECK(session->constraints.n_shm_formats == 0, "%s: no shm formats",
		zcc_format_name(format));
	zcc_session_destroy(session);
	ext_image_capture_source_v1_destroy(source);
}

/* One derived frame, checked against the reference. */
static void check_derived(struct zcc_client *client, struct zerocap_capture_options_manager_v1 *m,
		const uint32_t *ref, int ref_w, const char *what, const struct derive *d) {
	struct ext_image_capture_source_v1 *source = derived_source(client, m, d);
	struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
	if (zcc_session_wait_constraints(session, -1) != 1 || session->stopped) {
		ZT_CHECK(false, "%s: no constraints", what);
		zcc_session_destroy(session);
		ext_image_capture_source_v1_destroy(source);
		return;
	}
	ZT_CHECK(session->constraints.width == d->width && session->constraints.height == d->height,
		"%s: buffer_size %ux%u, want %ux%u", what, session->constraints.width,
		session->constraints.height, d->width, d->height);
	uint32_t shm_format = d->format == DRM_FORMAT_XRGB8888 ? WL_SHM_FORMAT_XRGB8888 : d->format;
	ZT_CHECK(session->constraints.n_shm_formats == 1 &&
		zcc_constraints_has_shm_format(&session->constraints, shm_format),
		"%s: the one shm format is the requested one", what);
	struct zcc_buffer *buffer = zcc_buffer_create(client, shm_format, d->width, d->height, 0);
	ZT_CHECK(buffer != NULL, "%s: a %s shm buffer (%s)", what, zcc_format_name(shm_format),
		zcc_client_last_error(client));
	struct zcc_capture_result result = {0};
	enum zcc_frame_status status = buffer == NULL ? ZCC_FRAME_ERROR :
		zcc_session_capture(session, buffer, NULL, 0, -1, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s", what, zcc_frame_status_str(status));
	if (status == ZCC_FRAME_READY) {
		int bad = compare(buffer, ref, ref_w, d);
		ZT_CHECK(bad == 0, "%s: %d samples off by more than one code value", what, bad);
	}
	zcc_capture_result_finish(&result);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	ext_image_capture_source_v1_destroy(source);
}

/* zerocap-shot -r -s writes the derived image (PPM), the same as a derived session's. */
static void check_shot(struct zt_compositor *comp, const uint32_t *ref, int ref_w) {
	const char *shot = getenv("ZC_SHOT");
	ZT_CHECK(shot != NULL, "ZC_SHOT is set");
	if (shot == NULL) {
		return;
	}
	char path[] = "/tmp/zt-options-XXXXXX.ppm";
	int fd = mkstemps(path, 4);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -q -d %s -r 8,16,200x100 -s 100x50 %s", shot,
		comp->socket, path);
	ZT_CHECK(system(cmd) == 0, "zerocap-shot -r -s runs");
	FILE *f = fopen(path, "rb");
	int w = 0, h = 0, max = 0;
	bool header = f != NULL && fscanf(f, "P6 %d %d %d", &w, &h, &max) == 3 && fgetc(f) != EOF;
	ZT_CHECK(header && w == 100 && h == 50 && max == 255, "a 100x50 PPM (%dx%d)", w, h);
	const struct derive d = {true, 8, 16, 200, 100, 100, 50, DRM_FORMAT_XRGB8888, 1, 0, 0};
	int bad = 0;
	for (int y = 0; header && y < 50; y++) {
		for (int x = 0; x < 100; x++) {
			unsigned char rgb[3];
			double want[3];
			if (fread(rgb, 1, 3, f) != 3) {
				bad++;
				continue;
			}
			expect_rgb(ref, ref_w, &d, x, y, want);
			for (int k = 0; k < 3; k++) {
				bad += fabs(rgb[k] - want[k] * 255) > 1.0;
			}
		}
	}
	ZT_CHECK(header && bad == 0, "zerocap-shot's pixels are the derived image (%d off)", bad);
	if (f != NULL) {
		fclose(f);
	}
	unlink(path);
}

static void test_pixels(const char *transform) {
	char title[96];
	snprintf(title, sizeof(title), "derived pixels, output %s", transform);
	zt_section(title);
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	setup_scene(&comp);
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 transform %s", transform), "transform");
	struct zcc_client *client = zt_connect(&comp);
	struct zerocap_capture_options_manager_v1 *m = client != NULL ? bind_manager(client) : NULL;
	int w = 0, h = 0;
	uint32_t *ref = m != NULL ? reference(client, &w, &h) : NULL;
	if (ref != NULL) {
		const struct derive crop = {true, 8, 16, 200, 100, 200, 100, DRM_FORMAT_XRGB8888,
			1, 0, 0};
		check_derived(client, m, ref, w, "crop", &crop);
		const struct derive half = {true, 8, 16, 200, 100, 100, 50, DRM_FORMAT_XRGB8888,
			1, 0, 0};
		check_derived(client, m, ref, w, "crop + 2x down", &half);
		check_shot(&comp, ref, w);
		check_yuv_constraints(client, m, DRM_FORMAT_NV12);
		check_yuv_constraints(client, m, DRM_FORMAT_P010);
	}
	free(ref);
	if (m != NULL) {
		zerocap_capture_options_manager_v1_destroy(m);
	}
	zcc_client_destroy(client);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

/* Each invalid value is its own protocol error; the compositor lives on. */
static void test_errors(void) {
	zt_section("protocol errors");
	struct zt_compositor comp;
	const char *args[] = {"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	for (int i = 0; i < 7; i++) {
		struct zcc_client *client = zt_connect(&comp);
		struct zerocap_capture_options_manager_v1 *m = client != NULL ?
			bind_manager(client) : NULL;
		if (m == NULL) {
			zcc_client_destroy(client);
			continue;
		}
		struct zerocap_capture_options_v1 *o = zerocap_capture_options_manager_v1_get_options(m);
		const struct wl_interface *iface = &zerocap_capture_options_v1_interface;
		uint32_t code = 0;
		struct ext_image_capture_source_v1 *made[3] = {NULL, NULL, NULL};
		switch (i) {
		case 0:
			zerocap_capture_options_v1_set_crop(o, 0, 0, 0, 10);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_CROP;
			break;
		case 1:
			zerocap_capture_options_v1_set_size(o, 10, 0);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_SIZE;
			break;
		case 2:
			zerocap_capture_options_v1_set_format(o, DRM_FORMAT_YUYV);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_FORMAT;
			break;
		case 3:
			zerocap_capture_options_v1_set_color(o, 7, 0);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_MATRIX;
			break;
		case 4:
			zerocap_capture_options_v1_set_color(o, 0, 7);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_RANGE;
			break;
		case 5:
			zerocap_capture_options_v1_set_max_rate(o, 0);
			code = ZEROCAP_CAPTURE_OPTIONS_V1_ERROR_INVALID_RATE;
			break;
		default: {
			made[0] = output_source(client);
			made[1] = zerocap_capture_options_manager_v1_create_source(m, made[0], o);
			made[2] = zerocap_capture_options_manager_v1_create_source(m, made[1], o);
			iface = &zerocap_capture_options_manager_v1_interface;
			code = ZEROCAP_CAPTURE_OPTIONS_MANAGER_V1_ERROR_DERIVED_SOURCE;
			break;
		}
		}
		ZT_CHECK(zcc_client_expect_protocol_error(client, iface, code),
			"case %d: protocol error %u on %s", i, code, iface->name);
		for (int j = 2; j >= 0; j--) {
			if (made[j] != NULL) {
				ext_image_capture_source_v1_destroy(made[j]);
			}
		}
		zerocap_capture_options_v1_destroy(o);
		zerocap_capture_options_manager_v1_destroy(m);
		zcc_client_destroy(client);
	}
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive after the errors");
	zt_compositor_stop(&comp);
}

/* Damage outside the crop makes no frame; inside, a frame with damage in the crop. */
static void test_damage_and_stop(void) {
	zt_section("damage limited to the crop; a crop outside stops; the maximum rate");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	setup_scene(&comp);
	struct zcc_client *client = zt_connect(&comp);
	struct zerocap_capture_options_manager_v1 *m = client != NULL ? bind_manager(client) : NULL;
	if (m != NULL) {
		const struct derive d = {true, 0, 0, 100, 100, 50, 50, DRM_FORMAT_XRGB8888, 1, 0,
			4000};
		struct ext_image_capture_source_v1 *source = derived_source(client, m, &d);
		struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
		if (zcc_session_wait_constraints(session, -1) == 1 && !session->stopped) {
			struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
				50, 50, 0);
			struct zcc_capture_result r;
			/* A session's first two frames come at once (the second for clients
			 * that fill a buffer ring), whatever changed. */
			for (int i = 0; i < 2; i++) {
				ZT_CHECK(zcc_session_capture(session, buffer, NULL, 0, -1, &r) ==
					ZCC_FRAME_READY, "opening frame %d", i);
				zcc_capture_result_finish(&r);
			}
			ZT_CHECK(zt_cmd(&comp, "rect far 400 300 20 20 ff00ffff"), "far rect");
			enum zcc_frame_status st = zcc_session_capture(session, buffer, NULL, 0, 700, &r);
			ZT_CHECK(st == ZCC_FRAME_TIMEOUT, "a change outside the crop gives no frame "
				"(%s)", zcc_frame_status_str(st));
			zcc_capture_result_finish(&r);
			zcc_session_destroy(session);
			session = zcc_session_create_for_source(client, source, 0);
			zcc_session_wait_constraints(session, -1);
			for (int i = 0; i < 2; i++) {
				zcc_session_capture(session, buffer, NULL, 0, -1, &r);
				zcc_capture_result_finish(&r);
			}
			uint64_t last = 0, min_gap = UINT64_MAX;
			for (int i = 0; i < 4; i++) {
				ZT_CHECK(zt_cmd(&comp, "rect near 20 20 10 10 %02x0000ff", 0x40 + i * 0x30),
					"near rect");
				st = zcc_session_capture(session, buffer, NULL, 0, -1, &r);
				ZT_CHECK(st == ZCC_FRAME_READY, "frame %d: %s", i, zcc_frame_status_str(st));
				bool inside = r.n_damage > 0;
				for (size_t k = 0; k < r.n_damage; k++) {
					inside = inside && r.damage[k].x >= 0 && r.damage[k].y >= 0 &&
						r.damage[k].x + r.damage[k].width <= 50 &&
						r.damage[k].y + r.damage[k].height <= 50 &&
						zcc_rects_union_area(r.damage, r.n_damage) < 50 * 50;
				}
				ZT_CHECK(inside, "frame %d: damage inside the derived image, not all of it", i);
				if (last != 0 && r.done_ns - last < min_gap) {
					min_gap = r.done_ns - last;
				}
				last = r.done_ns;
				zcc_capture_result_finish(&r);
			}
			ZT_CHECK(min_gap >= 230000000u, "4 Hz: frames at least 230 ms apart (%.0f ms)",
				min_gap / 1e6);
			zcc_buffer_destroy(buffer);
		} else {
			ZT_CHECK(false, "derived session has constraints");
		}
		zcc_session_destroy(session);
		ext_image_capture_source_v1_destroy(source);

		const struct derive outside = {true, 5000, 5000, 10, 10, 0, 0, 0, 1, 0, 0};
		source = derived_source(client, m, &outside);
		session = zcc_session_create_for_source(client, source, 0);
		zcc_session_wait_constraints(session, -1);
		ZT_CHECK(session->stopped, "a crop outside the output: the session is stopped");
		zcc_session_destroy(session);
		ext_image_capture_source_v1_destroy(source);
		zerocap_capture_options_manager_v1_destroy(m);
	}
	zcc_client_destroy(client);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

/* A window's derived image: crop 1x exact, crop + 2x down against the box mean. */
static void check_window(struct zcc_client *client, struct zerocap_capture_options_manager_v1 *m,
		struct zcc_toplevel *toplevel, const struct derive *d, const char *what) {
	struct zerocap_capture_options_v1 *o = zerocap_capture_options_manager_v1_get_options(m);
	zerocap_capture_options_v1_set_crop(o, d->x, d->y, d->w, d->h);
	zerocap_capture_options_v1_set_size(o, d->width, d->height);
	zerocap_capture_options_v1_set_format(o, DRM_FORMAT_XRGB8888);
	struct ext_image_capture_source_v1 *parent = zcc_toplevel_create_source(toplevel);
	struct ext_image_capture_source_v1 *source =
		zerocap_capture_options_manager_v1_create_source(m, parent, o);
	zerocap_capture_options_v1_destroy(o);
	ext_image_capture_source_v1_destroy(parent);
	struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
	if (zcc_session_wait_constraints(session, -1) != 1 || session->stopped) {
		ZT_CHECK(false, "%s: constraints", what);
	} else {
		ZT_CHECK(session->constraints.width == d->width &&
			session->constraints.height == d->height, "%s: %ux%u", what,
			session->constraints.width, session->constraints.height);
		struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
			d->width, d->height, 0);
		struct zcc_capture_result r;
		ZT_CHECK(zcc_session_capture(session, buffer, NULL, 0, -1, &r) == ZCC_FRAME_READY,
			"%s: a frame", what);
		int sx = d->w / d->width, sy = d->h / d->height, bad = 0;
		for (int y = 0; y < (int)d->height; y++) {
			const uint32_t *row = (const uint32_t *)((uint8_t *)buffer->data +
				(size_t)y * buffer->stride);
			for (int x = 0; x < (int)d->width; x++) {
				double want[3] = {0};
				for (int j = 0; j < sy; j++) {
					for (int i = 0; i < sx; i++) {
						uint32_t p = zt_window_pattern(d->x + x * sx + i, d->y + y * sy + j, 0);
						for (int k = 0; k < 3; k++) {
							want[k] += ((p >> (16 - 8 * k)) & 0xff) / (double)(sx * sy);
						}
					}
				}
				for (int k = 0; k < 3; k++) {
					bad += fabs(((row[x] >> (16 - 8 * k)) & 0xff) - want[k]) > 1.0;
				}
			}
		}
		ZT_CHECK(bad == 0, "%s: the window's pixels (%d samples off)", what, bad);
		zcc_capture_result_finish(&r);
		zcc_buffer_destroy(buffer);
	}
	zcc_session_destroy(session);
	ext_image_capture_source_v1_destroy(source);
}

static void test_window(void) {
	zt_section("derived window sources");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zt_window win;
	const char *size[] = {"--size", "200x150", NULL};
	if (zt_window_start(&win, &comp, "zt-derive", size)) {
		/* Covered and moved: the window's own pixels all the same. */
		ZT_CHECK(zt_cmd(&comp, "rect cover 0 0 640 480 ff00ffff"), "cover");
		struct zcc_client *client = zt_connect(&comp);
		struct zerocap_capture_options_manager_v1 *m = client != NULL ?
			bind_manager(client) : NULL;
		zcc_client_roundtrip(client, -1);
		struct zcc_toplevel *toplevel = m != NULL ?
			zcc_client_find_toplevel(client, "zt-derive") : NULL;
		ZT_CHECK(toplevel != NULL, "the window is listed");
		if (toplevel != NULL) {
			const struct derive crop = {true, 10, 20, 100, 60, 100, 60, 0, 1, 0, 0};
			check_window(client, m, toplevel, &crop, "window crop");
			const struct derive half = {true, 10, 20, 100, 60, 50, 30, 0, 1, 0, 0};
			check_window(client, m, toplevel, &half, "window crop + 2x down");
		}
		if (m != NULL) {
			zerocap_capture_options_manager_v1_destroy(m);
		}
		zcc_client_destroy(client);
		zt_window_stop(&win);
	}
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

int main(void) {
	test_errors();
	test_window();
	test_pixels("normal");
	test_pixels("90");
	test_damage_and_stop();
	return zt_finish();
}
