#ifndef ZC_RENDER_TRANSFORM_H
#define ZC_RENDER_TRANSFORM_H

#include <stdbool.h>

/*
 * The affine map from destination pixels to source pixels when a src_w x
 * src_h image is drawn with a wl_output_transform (the inverse of
 * wlr_box_transform): sx = m[0] * dx + m[1] * dy + m[4],
 * sy = m[2] * dx + m[3] * dy + m[5].
 */
void zc_transform_source_map(int transform, int src_w, int src_h, int map[static 6]);

/*
 * The same map, from destination pixels to texture pixels, for a layer of a
 * composite: the src box (x, y, width, height; empty: the whole tex_w x
 * tex_h texture) drawn as wlroots' wlr_render_texture_options draw it,
 * turned by transform and scaled to the dst box (x, y, width, height; not
 * empty). True when the layer is drawn at another size than its own.
 */
bool zc_transform_layer_map(int transform, const double src[static 4], int tex_w, int tex_h,
	const int dst[static 4], double map[static 6]);

#endif
