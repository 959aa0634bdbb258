/*
 * Derived sources (zerocap-capture-options-v1) into dma-bufs on the GLES2
 * renderer: NV12 (and P010 where the renderer draws 16-bit targets) for each
 * matrix and range at 1x and with a 2x downscale, an RGB crop with a 2x
 * downscale, on a normal and a rotated output; every sample is compared with
 * a reference computed here from the known scene (within one code value).
 * The YCbCr buffers are one-channel GBM allocations holding both planes,
 * announced as NV12/P010 with two planes (kms_swrast has no planar
 * allocations).
 */
#include <drm_fourcc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "gpu-common.h"
#include "window.h"
#include "window-pattern.h"
#include "ycbcr.h"
#include "zerocap-capture-options-v1-client-protocol.h"

#define OUT_W 640
#define OUT_H 480

/* The reference image's width: the upright output's. */
static int ref_width = OUT_W;

struct derive {
	int x, y, w, h; /* crop, logical = pixels at scale 1 */
	int width, height;
	uint32_t format;
	int matrix, range;
};

static void mean(const uint32_t *ref, const struct derive *d, int x, int y, int n,
		double out[3]) {
	/* n x n derived pixels from (x, y), each the mean of its footprint. */
	int sx = d->w / d->width, sy = d->h / d->height;
	out[0] = out[1] = out[2] = 0;
	int count = n * sx * n * sy;
	for (int j = 0; j < n * sy; j++) {
		for (int i = 0; i < n * sx; i++) {
			uint32_t p = ref[(size_t)(d->y + y * sy + j) * ref_width + d->x + x * sx + i];
			out[0] += ((p >> 16) & 0xff) / 255.0 / count;
			out[1] += ((p >> 8) & 0xff) / 255.0 / count;
			out[2] += (p & 0xff) / 255.0 / count;
		}
	}
}

static int code(const uint8_t *base, size_t stride, bool ten, int x, int y) {
	const uint8_t *p = base + (size_t)y * stride + (size_t)x * (ten ? 2 : 1);
	if (!ten) {
		return *p;
	}
	uint16_t v;
	memcpy(&v, p, 2);
	return (v & 0x3f) != 0 ? -1 : v >> 6;
}

static int compare(const struct zcc_image *img, const uint32_t *ref, const struct derive *d) {
	const uint8_t *base = img->data;
	size_t stride = img->stride;
	int bad = 0;
	if (d->format == DRM_FORMAT_XRGB8888) {
		for (int y = 0; y < d->height; y++) {
			for (int x = 0; x < d->width; x++) {
				uint32_t p = ((const uint32_t *)(base + y * stride))[x];
				double want[3];
				mean(ref, d, x, y, 1, want);
				int got[3] = {(p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff};
				for (int k = 0; k < 3; k++) {
					if (fabs(got[k] - want[k] * 255) > 1.0 && bad++ < 3) {
						fprintf(stderr, "  RGB %d,%d channel %d: got %d want %.1f\n", x, y, k,
							got[k], want[k] * 255);
					}
				}
			}
		}
		return bad;
	}
	bool ten = d->format == DRM_FORMAT_P010;
	for (int y = 0; y < d->height; y++) {
		for (int x = 0; x < d->width; x++) {
			double rgb[3], want[3];
			mean(ref, d, x, y, 1, rgb);
			zt_ycbcr(rgb, d->matrix, d->range, ten, want);
			int got = code(base, stride, ten, x, y);
			if ((got < 0 || fabs(got - want[0]) > 1.0) && bad++ < 3) {
				fprintf(stderr, "  Y %d,%d: got %d want %.1f\n", x, y, got, want[0]);
			}
		}
	}
	const uint8_t *chroma = base + stride * d->height;
	for (int y = 0; y < d->height / 2; y++) {
		for (int x = 0; x < d->width / 2; x++) {
			double rgb[3], want[3];
			mean(ref, d, 2 * x, 2 * y, 2, rgb);
			zt_ycbcr(rgb, d->matrix, d->range, ten, want);
			for (int c = 0; c < 2; c++) {
				int got = code(chroma, stride, ten, 2 * x + c, y);
				if ((got < 0 || fabs(got - want[1 + c]) > 1.0) && bad++ < 3) {
					fprintf(stderr, "  C%d %d,%d: got %d want %.1f\n", c, x, y, got,
						want[1 + c]);
				}
			}
		}
	}
	return bad;
}

/* The window to derive from instead of the output, when set. */
static struct zcc_toplevel *window_parent;

static struct ext_image_capture_source_v1 *derived(struct zcc_client *client,
		struct zerocap_capture_options_manager_v1 *m, const struct derive *d) {
	struct zerocap_capture_options_v1 *o = zerocap_capture_options_manager_v1_get_options(m);
	zerocap_capture_options_v1_set_crop(o, d->x, d->y, d->w, d->h);
	zerocap_capture_options_v1_set_size(o, d->width, d->height);
	zerocap_capture_options_v1_set_format(o, d->format);
	zerocap_capture_options_v1_set_color(o, d->matrix, d->range);
	struct ext_image_capture_source_v1 *parent = window_parent != NULL ?
		zcc_toplevel_create_source(window_parent) :
		ext_output_image_capture_source_manager_v1_create_source(
			client->output_source_manager, zcc_client_find_output(client, NULL)->wl_output);
	struct ext_image_capture_source_v1 *source =
		zerocap_capture_options_manager_v1_create_source(m, parent, o);
	zerocap_capture_options_v1_destroy(o);
	ext_image_capture_source_v1_destroy(parent);
	return source;
}

/* Returns false when the format is not offered (P010 without 16-bit targets). */
static bool check(struct zcc_client *client, struct zerocap_capture_options_manager_v1 *m,
		const uint32_t *ref, const struct derive *d, const char *what) {
	struct ext_image_capture_source_v1 *source = derived(client, m, d);
	struct zcc_session *session = zcc_session_create_for_source(client, source, 0);
	bool offered = false;
	if (zcc_session_wait_constraints(session, GT_EXPECT_MS) != 1 || session->stopped) {
		ZT_CHECK(false, "%s: constraints", what);
		goto out;
	}
	uint64_t modifier;
	offered = gt_pick_modifier(session, d->format, &modifier);
	if (!offered) {
		goto out;
	}
	struct zcc_dmabuf_device *device = gt_device(session);
	bool yuv = d->format != DRM_FORMAT_XRGB8888;
	struct zcc_dmabuf_options options = {
		.format = d->format,
		.modifier = modifier,
		.width = d->width,
		.height = d->height,
		.alloc_format = !yuv ? 0 : d->format == DRM_FORMAT_P010 ? DRM_FORMAT_R16 :
			DRM_FORMAT_R8,
		.alloc_height = yuv ? d->height * 3 / 2 : 0,
	};
	struct zcc_buffer *buffer = device != NULL ?
		zcc_dmabuf_buffer_create_with(device, &options) : NULL;
	ZT_CHECK(buffer != NULL, "%s: a dma-buf (%s)", what, zcc_client_last_error(client));
	if (buffer != NULL) {
		struct zcc_capture_result result;
		enum zcc_frame_status status = zcc_session_capture(session, buffer, NULL, 0,
			GT_EXPECT_MS, &result);
		ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s (%s)", what,
			zcc_frame_status_str(status), zcc_failure_reason_str(result.failure_reason));
		if (status == ZCC_FRAME_READY) {
			struct zcc_image img = zcc_dmabuf_map(buffer);
			int bad = img.data != NULL ? compare(&img, ref, d) : -1;
			zcc_dmabuf_unmap(buffer);
			ZT_CHECK(bad == 0, "%s: %d samples off by more than one code value", what, bad);
		fflush(stdout);
		}
		zcc_capture_result_finish(&result);
		zcc_buffer_destroy(buffer);
	}
	zcc_dmabuf_device_destroy(device);
out:
	zcc_session_destroy(session);
	ext_image_capture_source_v1_destroy(source);
	return offered;
}

static void run(const char *transform) {
	char title[64];
	snprintf(title, sizeof(title), "derived dma-bufs, output %s", transform);
	zt_section(title);
	struct zt_compositor comp;
	if (!gt_start(&comp, "640x480", NULL)) {
		return;
	}
	gt_setup_scene(&comp);
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 transform %s", transform), "transform");
	bool rotated = strcmp(transform, "90") == 0;
	struct zcc_client *client = zt_connect(&comp);
	struct zerocap_capture_options_manager_v1 *m = client != NULL ?
		zcc_client_bind(client, &zerocap_capture_options_manager_v1_interface, 1) : NULL;
	ZT_CHECK(m != NULL, "the options manager");
	ref_width = rotated ? OUT_H : OUT_W;
	uint32_t *ref = gt_expected_scene(ref_width, rotated ? OUT_W : OUT_H, 1);
	if (m != NULL) {
		const struct derive rgb = {8, 16, 200, 100, 100, 50, DRM_FORMAT_XRGB8888, 1, 0};
		ZT_CHECK(check(client, m, ref, &rgb, "XRGB8888 crop + 2x down"),
			"XRGB8888 is offered");
		static const char *const names[] = {"BT.601", "BT.709", "BT.2020"};
		bool p010 = true;
		for (int f = 0; f < 2 && (f == 0 || p010); f++) {
			for (int mx = 0; mx < 3; mx++) {
				for (int r = 0; r < 2; r++) {
					for (int s = 1; s <= 2; s++) {
						const struct derive d = {0, 0, 240, 240, 240 / s, 240 / s,
							f ? DRM_FORMAT_P010 : DRM_FORMAT_NV12, mx, r};
						char what[64];
						snprintf(what, sizeof(what), "%s %s %s %dx", f ? "P010" : "NV12",
							names[mx], r ? "full" : "limited", s);
						bool offered = check(client, m, ref, &d, what);
						if (f == 0) {
							ZT_CHECK(offered, "%s: NV12 dma-bufs are offered", what);
						} else if (!offered) {
							p010 = false;
						}
					}
				}
			}
		}
		if (!p010) {
			printf("  P010: not offered (the renderer has no 16-bit render targets)\n");
		}
		zerocap_capture_options_manager_v1_destroy(m);
	}
	free(ref);
	zcc_client_destroy(client);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

/* A window (its own pattern) as NV12 and as RGB at half size. */
static void run_window(void) {
	zt_section("derived dma-bufs of a window");
	struct zt_compositor comp;
	if (!gt_start(&comp, "640x480", NULL)) {
		return;
	}
	struct zt_window win;
	const char *size[] = {"--size", "200x150", NULL};
	if (zt_window_start(&win, &comp, "zt-gpu-derive", size)) {
		struct zcc_client *client = zt_connect(&comp);
		struct zerocap_capture_options_manager_v1 *m = client != NULL ?
			zcc_client_bind(client, &zerocap_capture_options_manager_v1_interface, 1) : NULL;
		zcc_client_roundtrip(client, -1);
		window_parent = m != NULL ? zcc_client_find_toplevel(client, "zt-gpu-derive") : NULL;
		ZT_CHECK(window_parent != NULL, "the window is listed");
		if (window_parent != NULL) {
			uint32_t *ref = calloc(200 * 150, sizeof(*ref));
			for (int y = 0; y < 150; y++) {
				for (int x = 0; x < 200; x++) {
					ref[y * 200 + x] = zt_window_pattern(x, y, 0);
				}
			}
			ref_width = 200;
			const struct derive nv12 = {0, 0, 200, 150, 200, 150, DRM_FORMAT_NV12, 1, 0};
			ZT_CHECK(check(client, m, ref, &nv12, "window NV12"), "NV12 offered for a window");
			const struct derive half = {0, 0, 200, 148, 100, 74, DRM_FORMAT_XRGB8888, 1, 0};
			ZT_CHECK(check(client, m, ref, &half, "window RGB 2x down"), "XRGB8888 offered");
			free(ref);
		}
		window_parent = NULL;
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
	run_window();
	run("normal");
	run("90");
	return zt_finish();
}
