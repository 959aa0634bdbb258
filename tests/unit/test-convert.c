/*
 * The CPU half of derived images (src/render/convert.c): NV12 and P010
 * planes for every matrix and range, at 1x and with a 2x downscale, and RGB
 * crops, against references computed here from the standards' formulas on
 * a synthetic image (blocks of 2x2 pixels with their own colours, so a 2x
 * box filter and the 2x2 chroma average are exact). Damage mapping and the
 * source box are checked to cover what a derived pixel reads.
 */
#include <drm_fourcc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "render/convert.h"
#include "ycbcr.h"

#define W 64
#define H 48

static uint32_t image[W * H];

static void make_image(void) {
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			uint32_t r = (x * 37 + y * 11) & 0xff, g = (x * 5 + y * 29 + 60) & 0xff;
			uint32_t b = ((x / 2) * 71 + (y / 2) * 13) & 0xff;
			image[y * W + x] = 0xff000000u | r << 16 | g << 8 | b;
		}
	}
}

static void rgb_at(int x, int y, double out[3]) {
	uint32_t p = image[y * W + x];
	out[0] = ((p >> 16) & 0xff) / 255.0;
	out[1] = ((p >> 8) & 0xff) / 255.0;
	out[2] = (p & 0xff) / 255.0;
}

/* The mean colour of an n x n block at (x, y). */
static void mean(int x, int y, int n, double out[3]) {
	out[0] = out[1] = out[2] = 0;
	for (int j = 0; j < n; j++) {
		for (int i = 0; i < n; i++) {
			double c[3];
			rgb_at(x + i, y + j, c);
			for (int k = 0; k < 3; k++) {
				out[k] += c[k] / (n * n);
			}
		}
	}
}

static int sample(const uint8_t *buf, size_t stride, bool ten, size_t offset, int x, int y) {
	const uint8_t *p = buf + offset + (size_t)y * stride + (size_t)x * (ten ? 2 : 1);
	if (!ten) {
		return *p;
	}
	uint16_t v;
	memcpy(&v, p, 2);
	return (v & 0x3f) != 0 ? -1 : v >> 6;
}

static void check_yuv(uint32_t format, int matrix, int range, int scale) {
	bool ten = format == DRM_FORMAT_P010;
	struct zc_convert c = {
		.parent_width = W, .parent_height = H,
		.crop = {0, 0, W, H},
		.width = W / scale, .height = H / scale,
		.matrix = matrix, .range = range,
	};
	size_t stride = (size_t)c.width * (ten ? 2 : 1) + 16;
	uint8_t *buf = calloc(stride * c.height * 3 / 2, 1);
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, c.width, c.height);
	struct wlr_box box = {0, 0, W, H};
	CHECK(zc_convert_cpu(&c, image, W * 4, box, buf, format, stride, c.width, c.height, &all),
		"convert");
	int bad = 0;
	for (int y = 0; y < c.height; y++) {
		for (int x = 0; x < c.width; x++) {
			double rgb[3], want[3];
			mean(x * scale, y * scale, scale, rgb);
			zt_ycbcr(rgb, matrix, range, ten, want);
			int got = sample(buf, stride, ten, 0, x, y);
			bad += got < 0 || fabs(got - want[0]) > 1.0;
		}
	}
	for (int y = 0; y < c.height / 2; y++) {
		for (int x = 0; x < c.width / 2; x++) {
			double rgb[3], want[3];
			mean(x * 2 * scale, y * 2 * scale, 2 * scale, rgb);
			zt_ycbcr(rgb, matrix, range, ten, want);
			for (int k = 0; k < 2; k++) {
				int got = sample(buf, stride, ten, stride * c.height, 2 * x + k, y);
				bad += got < 0 || fabs(got - want[1 + k]) > 1.0;
			}
		}
	}
	CHECK(bad == 0, "%s matrix %d range %d scale %d: %d samples off by more than one",
		ten ? "P010" : "NV12", matrix, range, scale, bad);
	pixman_region32_fini(&all);
	free(buf);
}

static void check_rgb_crop(void) {
	struct zc_convert c = {
		.parent_width = W, .parent_height = H,
		.crop = {6, 4, 20, 16}, .width = 20, .height = 16,
	};
	uint32_t out[20 * 16];
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, 20, 16);
	/* The source handed over is only the box the region reads. */
	struct wlr_box box = zc_convert_source_box(&c, &all);
	CHECK(box.x <= 6 && box.y <= 4 && box.x + box.width >= 26 && box.y + box.height >= 20,
		"source box %d,%d %dx%d covers the crop", box.x, box.y, box.width, box.height);
	CHECK(zc_convert_cpu(&c, image + box.y * W + box.x, W * 4, box, out,
		DRM_FORMAT_XRGB8888, 20 * 4, 20, 16, &all), "convert");
	int bad = 0;
	for (int y = 0; y < 16; y++) {
		for (int x = 0; x < 20; x++) {
			bad += (out[y * 20 + x] & 0xffffff) != (image[(y + 4) * W + x + 6] & 0xffffff);
		}
	}
	CHECK(bad == 0, "a 1x crop is exact (%d pixels differ)", bad);
	pixman_region32_fini(&all);
}

static void check_damage(void) {
	struct zc_convert c = {
		.parent_width = W, .parent_height = H,
		.crop = {16, 8, 32, 32}, .width = 16, .height = 16,
		.matrix = ZC_MATRIX_BT709,
	};
	pixman_region32_t in, out;
	pixman_region32_init_rect(&in, 30, 20, 1, 1);
	pixman_region32_init(&out);
	zc_convert_damage(&c, &in, &out);
	/* Parent pixel 30,20 is derived pixel 7,6: it and its filter neighbours. */
	CHECK(pixman_region32_contains_point(&out, 7, 6, NULL), "damage holds the pixel");
	const pixman_box32_t *e = pixman_region32_extents(&out);
	CHECK(e->x2 - e->x1 <= 6 && e->y2 - e->y1 <= 6, "damage stays small (%dx%d)",
		e->x2 - e->x1, e->y2 - e->y1);
	pixman_region32_fini(&in);
	pixman_region32_init_rect(&in, 0, 0, 8, 8);
	zc_convert_damage(&c, &in, &out);
	CHECK(!pixman_region32_not_empty(&out), "damage outside the crop is dropped");
	pixman_region32_fini(&in);
	pixman_region32_fini(&out);
}

int main(void) {
	make_image();
	for (int f = 0; f < 2; f++) {
		for (int m = 0; m < 3; m++) {
			for (int r = 0; r < 2; r++) {
				for (int s = 1; s <= 2; s++) {
					check_yuv(f ? DRM_FORMAT_P010 : DRM_FORMAT_NV12, m, r, s);
				}
			}
		}
	}
	check_rgb_crop();
	check_damage();
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0;
}
