#include "render/render.h"

void zc_transform_source_map(enum wl_output_transform transform, int src_w, int src_h,
		int map[static 6]) {
	static const int rotation[8][4] = {
		[WL_OUTPUT_TRANSFORM_NORMAL] = {1, 0, 0, 1},
		[WL_OUTPUT_TRANSFORM_90] = {0, 1, -1, 0},
		[WL_OUTPUT_TRANSFORM_180] = {-1, 0, 0, -1},
		[WL_OUTPUT_TRANSFORM_270] = {0, -1, 1, 0},
		[WL_OUTPUT_TRANSFORM_FLIPPED] = {-1, 0, 0, 1},
		[WL_OUTPUT_TRANSFORM_FLIPPED_90] = {0, 1, 1, 0},
		[WL_OUTPUT_TRANSFORM_FLIPPED_180] = {1, 0, 0, -1},
		[WL_OUTPUT_TRANSFORM_FLIPPED_270] = {0, -1, -1, 0},
	};
	const int *r = rotation[transform & 7];
	map[0] = r[0];
	map[1] = r[1];
	map[2] = r[2];
	map[3] = r[3];
	/* Offsets bring the mirrored axes back to the image's origin. */
	map[4] = (r[0] < 0 || r[1] < 0) ? src_w : 0;
	map[5] = (r[2] < 0 || r[3] < 0) ? src_h : 0;
}

uint64_t zc_region_area(const pixman_region32_t *region) {
	uint64_t area = 0;
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		area += (uint64_t)(rects[i].x2 - rects[i].x1) * (rects[i].y2 - rects[i].y1);
	}
	return area;
}
