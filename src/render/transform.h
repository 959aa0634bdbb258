#ifndef ZC_RENDER_TRANSFORM_H
#define ZC_RENDER_TRANSFORM_H

/*
 * The affine map from destination pixels to source pixels when a src_w x
 * src_h image is drawn with a wl_output_transform (the inverse of
 * wlr_box_transform): sx = m[0] * dx + m[1] * dy + m[4],
 * sy = m[2] * dx + m[3] * dy + m[5].
 */
void zc_transform_source_map(int transform, int src_w, int src_h, int map[static 6]);

#endif
