/*
 * The derived-image step of a capture (zerocap-capture-options-v1): crop,
 * scale and conversion to the buffer's pixel format, after the image of the
 * parent source (and its cursor) is known. The GPU draw (blit.c) and the CPU
 * path here use the same sampling: the GPU result is the CPU result within
 * one code value.
 *
 * Sampling: each destination sample averages four bilinear taps placed
 * symmetrically inside its footprint in the parent image (a 2x box filter
 * exactly, a 4x one through the centre 2x2 of each quarter). Chroma of NV12
 * and P010 is the average over the 2x2 luma samples it covers, sited at
 * their centre.
 */
#ifndef ZC_RENDER_CONVERT_H
#define ZC_RENDER_CONVERT_H

#include <pixman.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wlr/util/box.h>

enum zc_yuv_matrix {
	ZC_MATRIX_BT601 = 0,
	ZC_MATRIX_BT709 = 1,
	ZC_MATRIX_BT2020 = 2,
};

enum zc_yuv_range {
	ZC_RANGE_LIMITED = 0,
	ZC_RANGE_FULL = 1,
};

struct zc_convert {
	int parent_width, parent_height; /* the parent's image */
	struct wlr_box crop; /* parent image pixels, inside the parent image */
	int width, height; /* the derived image */
	enum zc_yuv_matrix matrix;
	enum zc_yuv_range range;
};

/* Code values from premultiplied RGB in [0, 1] (over black): dot + offset. */
struct zc_yuv_coeffs {
	float y[3], u[3], v[3];
	float offset[3];
	float max_code; /* 255 or 1023 */
	float code_unit; /* a code as a fraction of the stored sample: 1/255, 64/65535 */
};

bool zc_format_is_yuv(uint32_t format);
/* The RGB formats a derived source may be asked for. */
bool zc_convert_format_known(uint32_t format);
void zc_yuv_coeffs_get(uint32_t format, enum zc_yuv_matrix matrix, enum zc_yuv_range range,
	struct zc_yuv_coeffs *out);

/* Offset of the taps from a sample's centre, for a footprint in source pixels. */
double zc_convert_tap_offset(double footprint);
/*
 * A plane pixel's centre to parent image pixels: x = map[0] * px + map[1],
 * y = map[2] * py + map[3], with px, py at pixel centres (i + 0.5).
 * subsample: 1 for RGB and luma, 2 for chroma.
 */
void zc_convert_plane_map(const struct zc_convert *convert, int subsample, double map[static 4]);
/* The parent image pixels that region (derived pixels) reads, with a margin. */
struct wlr_box zc_convert_source_box(const struct zc_convert *convert,
	const pixman_region32_t *region);
/* Parent damage to derived damage (rounded out, with the filter's reach). */
void zc_convert_damage(const struct zc_convert *convert, const pixman_region32_t *parent,
	pixman_region32_t *out);

/*
 * Writes region of the derived image into dst (format with stride; NV12 and
 * P010 carry their chroma plane right after the luma plane, same stride)
 * from a premultiplied ARGB8888 image of the parent whose pixel (0, 0) is
 * parent pixel (box.x, box.y). Pixels outside box read as its edge.
 */
bool zc_convert_cpu(const struct zc_convert *convert, const uint32_t *src, size_t src_stride,
	struct wlr_box box, void *dst, uint32_t format, size_t stride, int dst_width,
	int dst_height, const pixman_region32_t *region);

#endif
