#include <drm_fourcc.h>
#include <math.h>
#include <string.h>
#include "render/convert.h"

bool zc_format_is_yuv(uint32_t format) {
	return format == DRM_FORMAT_NV12 || format == DRM_FORMAT_P010;
}

bool zc_convert_format_known(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
	case DRM_FORMAT_NV12:
	case DRM_FORMAT_P010:
		return true;
	default:
		return false;
	}
}

void zc_yuv_coeffs_get(uint32_t format, enum zc_yuv_matrix matrix, enum zc_yuv_range range,
		struct zc_yuv_coeffs *out) {
	static const double k[][2] = {
		[ZC_MATRIX_BT601] = {0.299, 0.114},
		[ZC_MATRIX_BT709] = {0.2126, 0.0722},
		[ZC_MATRIX_BT2020] = {0.2627, 0.0593},
	};
	double kr = k[matrix][0], kb = k[matrix][1], kg = 1.0 - kr - kb;
	bool ten = format == DRM_FORMAT_P010;
	double max = ten ? 1023.0 : 255.0;
	double y_scale, c_scale, y_off, c_off;
	if (range == ZC_RANGE_FULL) {
		y_scale = c_scale = max;
		y_off = 0;
		c_off = (max + 1) / 2;
	} else {
		double s = ten ? 4.0 : 1.0;
		y_scale = 219 * s;
		c_scale = 224 * s;
		y_off = 16 * s;
		c_off = 128 * s;
	}
	const double y[3] = {kr, kg, kb};
	const double u[3] = {-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5};
	const double v[3] = {0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))};
	for (int i = 0; i < 3; i++) {
		out->y[i] = (float)(y[i] * y_scale);
		out->u[i] = (float)(u[i] * c_scale);
		out->v[i] = (float)(v[i] * c_scale);
	}
	out->offset[0] = (float)y_off;
	out->offset[1] = out->offset[2] = (float)c_off;
	out->max_code = (float)max;
	out->code_unit = ten ? 64.0f / 65535.0f : 1.0f / 255.0f;
}

double zc_convert_tap_offset(double footprint) {
	if (footprint <= 1.0) {
		return 0.0;
	}
	if (footprint < 2.0) {
		return (footprint - 1.0) / 2.0;
	}
	return footprint / 4.0;
}

void zc_convert_plane_map(const struct zc_convert *convert, int subsample, double map[static 4]) {
	map[0] = (double)convert->crop.width / convert->width * subsample;
	map[1] = convert->crop.x;
	map[2] = (double)convert->crop.height / convert->height * subsample;
	map[3] = convert->crop.y;
}

/* How far, in parent pixels, a derived sample reads from its centre. */
static void reach(const struct zc_convert *convert, double *rx, double *ry) {
	double map[4];
	zc_convert_plane_map(convert, 2, map);
	*rx = map[0] / 2 + zc_convert_tap_offset(map[0]) + 1;
	*ry = map[2] / 2 + zc_convert_tap_offset(map[2]) + 1;
}

struct wlr_box zc_convert_source_box(const struct zc_convert *convert,
		const pixman_region32_t *region) {
	int parent_width = convert->parent_width, parent_height = convert->parent_height;
	const pixman_box32_t *e = pixman_region32_extents((pixman_region32_t *)region);
	double map[4], rx, ry;
	zc_convert_plane_map(convert, 1, map);
	reach(convert, &rx, &ry);
	/* Chroma pairs: a region edge on an odd pixel reads its neighbour too. */
	int x1 = e->x1 & ~1, y1 = e->y1 & ~1, x2 = e->x2 + 1, y2 = e->y2 + 1;
	int bx1 = (int)floor(map[1] + x1 * map[0] - rx) - 1;
	int by1 = (int)floor(map[3] + y1 * map[2] - ry) - 1;
	int bx2 = (int)ceil(map[1] + x2 * map[0] + rx) + 1;
	int by2 = (int)ceil(map[3] + y2 * map[2] + ry) + 1;
	bx1 = bx1 < 0 ? 0 : bx1;
	by1 = by1 < 0 ? 0 : by1;
	bx2 = bx2 > parent_width ? parent_width : bx2;
	by2 = by2 > parent_height ? parent_height : by2;
	if (bx2 <= bx1 || by2 <= by1) {
		return (struct wlr_box){0};
	}
	return (struct wlr_box){bx1, by1, bx2 - bx1, by2 - by1};
}

void zc_convert_damage(const struct zc_convert *convert, const pixman_region32_t *parent,
		pixman_region32_t *out) {
	double map[4], rx, ry;
	zc_convert_plane_map(convert, 1, map);
	reach(convert, &rx, &ry);
	pixman_region32_clear(out);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles((pixman_region32_t *)parent, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		int x1 = (int)floor((b->x1 - rx - map[1]) / map[0]);
		int y1 = (int)floor((b->y1 - ry - map[3]) / map[2]);
		int x2 = (int)ceil((b->x2 + rx - map[1]) / map[0]);
		int y2 = (int)ceil((b->y2 + ry - map[3]) / map[2]);
		x1 = (x1 < 0 ? 0 : x1) & ~1;
		y1 = (y1 < 0 ? 0 : y1) & ~1;
		x2 = x2 > convert->width ? convert->width : x2 + (x2 & 1);
		y2 = y2 > convert->height ? convert->height : y2 + (y2 & 1);
		x2 = x2 > convert->width ? convert->width : x2;
		y2 = y2 > convert->height ? convert->height : y2;
		if (x2 > x1 && y2 > y1) {
			pixman_region32_union_rect(out, out, x1, y1, x2 - x1, y2 - y1);
		}
	}
}

struct sampler {
	const uint32_t *src;
	size_t stride; /* in pixels */
	struct wlr_box box;
};

static void texel(const struct sampler *s, int x, int y, float out[4]) {
	x = x < 0 ? 0 : x >= s->box.width ? s->box.width - 1 : x;
	y = y < 0 ? 0 : y >= s->box.height ? s->box.height - 1 : y;
	uint32_t p = s->src[(size_t)y * s->stride + x];
	out[0] = ((p >> 16) & 0xff) / 255.0f;
	out[1] = ((p >> 8) & 0xff) / 255.0f;
	out[2] = (p & 0xff) / 255.0f;
	out[3] = (p >> 24) / 255.0f;
}

/* Bilinear at parent position (x, y), pixel centres at i + 0.5, as GL does. */
static void bilinear(const struct sampler *s, double x, double y, float out[4]) {
	double u = x - 0.5 - s->box.x, v = y - 0.5 - s->box.y;
	int i = (int)floor(u), j = (int)floor(v);
	float fu = (float)(u - i), fv = (float)(v - j);
	float a[4], b[4], c[4], d[4];
	texel(s, i, j, a);
	texel(s, i + 1, j, b);
	texel(s, i, j + 1, c);
	texel(s, i + 1, j + 1, d);
	for (int k = 0; k < 4; k++) {
		float top = a[k] + (b[k] - a[k]) * fu;
		float bottom = c[k] + (d[k] - c[k]) * fu;
		out[k] = top + (bottom - top) * fv;
	}
}

/* The filtered premultiplied RGBA of plane pixel (px, py). */
static void sample(const struct sampler *s, const double map[4], int px, int py, float out[4]) {
	double cx = map[0] * (px + 0.5) + map[1], cy = map[2] * (py + 0.5) + map[3];
	double ox = zc_convert_tap_offset(map[0]), oy = zc_convert_tap_offset(map[2]);
	float sum[4] = {0}, t[4];
	const double taps[4][2] = {{-ox, -oy}, {ox, -oy}, {-ox, oy}, {ox, oy}};
	for (int i = 0; i < 4; i++) {
		bilinear(s, cx + taps[i][0], cy + taps[i][1], t);
		for (int k = 0; k < 4; k++) {
			sum[k] += t[k];
		}
	}
	for (int k = 0; k < 4; k++) {
		out[k] = sum[k] / 4;
	}
}

static float code(const float k[3], float offset, float max, const float rgb[4]) {
	float v = k[0] * rgb[0] + k[1] * rgb[1] + k[2] * rgb[2] + offset;
	v = v < 0 ? 0 : v > max ? max : v;
	return floorf(v + 0.5f);
}

static uint32_t unorm8(float v) {
	return (uint32_t)floorf(v * 255.0f + 0.5f);
}

static void write_rgb(const struct sampler *s, const double map[4], uint32_t format,
		uint8_t *dst, size_t stride, const pixman_box32_t *b) {
	for (int y = b->y1; y < b->y2; y++) {
		uint32_t *row = (uint32_t *)(dst + (size_t)y * stride);
		for (int x = b->x1; x < b->x2; x++) {
			float c[4];
			sample(s, map, x, y, c);
			uint32_t r = unorm8(c[0]), g = unorm8(c[1]), bl = unorm8(c[2]);
			uint32_t a = format == DRM_FORMAT_XRGB8888 || format == DRM_FORMAT_XBGR8888 ?
				0xff : unorm8(c[3]);
			if (format == DRM_FORMAT_XBGR8888 || format == DRM_FORMAT_ABGR8888) {
				row[x] = a << 24 | bl << 16 | g << 8 | r;
			} else {
				row[x] = a << 24 | r << 16 | g << 8 | bl;
			}
		}
	}
}

static void put(uint8_t *p, bool ten, float value) {
	if (ten) {
		uint16_t v = (uint16_t)((unsigned)value << 6);
		memcpy(p, &v, sizeof(v));
	} else {
		*p = (uint8_t)value;
	}
}

static void write_yuv(const struct sampler *s, const struct zc_convert *convert,
		uint32_t format, uint8_t *dst, size_t stride, int height, const pixman_box32_t *b) {
	struct zc_yuv_coeffs k;
	zc_yuv_coeffs_get(format, convert->matrix, convert->range, &k);
	bool ten = format == DRM_FORMAT_P010;
	int bytes = ten ? 2 : 1;
	double map[4];
	zc_convert_plane_map(convert, 1, map);
	for (int y = b->y1; y < b->y2; y++) {
		uint8_t *row = dst + (size_t)y * stride;
		for (int x = b->x1; x < b->x2; x++) {
			float c[4];
			sample(s, map, x, y, c);
			put(row + (size_t)x * bytes, ten, code(k.y, k.offset[0], k.max_code, c));
		}
	}
	zc_convert_plane_map(convert, 2, map);
	uint8_t *chroma = dst + (size_t)height * stride;
	for (int y = b->y1 / 2; y < (b->y2 + 1) / 2; y++) {
		uint8_t *row = chroma + (size_t)y * stride;
		for (int x = b->x1 / 2; x < (b->x2 + 1) / 2; x++) {
			float c[4];
			sample(s, map, x, y, c);
			put(row + (size_t)x * 2 * bytes, ten, code(k.u, k.offset[1], k.max_code, c));
			put(row + (size_t)x * 2 * bytes + bytes, ten,
				code(k.v, k.offset[2], k.max_code, c));
		}
	}
}

bool zc_convert_cpu(const struct zc_convert *convert, const uint32_t *src, size_t src_stride,
		struct wlr_box box, void *dst, uint32_t format, size_t stride, int dst_width,
		int dst_height, const pixman_region32_t *region) {
	if (!zc_convert_format_known(format) || wlr_box_empty(&box)) {
		return false;
	}
	struct sampler s = {.src = src, .stride = src_stride / 4, .box = box};
	pixman_region32_t clip;
	pixman_region32_init(&clip);
	pixman_region32_intersect_rect(&clip, (pixman_region32_t *)region, 0, 0,
		dst_width, dst_height);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&clip, &n);
	double map[4];
	zc_convert_plane_map(convert, 1, map);
	for (int i = 0; i < n; i++) {
		if (zc_format_is_yuv(format)) {
			write_yuv(&s, convert, format, dst, stride, dst_height, &boxes[i]);
		} else {
			write_rgb(&s, map, format, dst, stride, &boxes[i]);
		}
	}
	pixman_region32_fini(&clip);
	return true;
}
