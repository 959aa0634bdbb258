#include "render/transform.h"

void zc_transform_source_map(int transform, int src_w, int src_h, int map[static 6]) {
	/* Indexed by wl_output_transform: normal, 90, 180, 270, then flipped. */
	static const int rotation[8][4] = {
		{1, 0, 0, 1},
		{0, 1, -1, 0},
		{-1, 0, 0, -1},
		{0, -1, 1, 0},
		{-1, 0, 0, 1},
		{0, 1, 1, 0},
		{1, 0, 0, -1},
		{0, -1, -1, 0},
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
