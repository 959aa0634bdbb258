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

bool zc_transform_layer_map(int transform, const double src[static 4], int tex_w, int tex_h,
		const int dst[static 4], double map[static 6]) {
	double box[4] = {src[0], src[1], src[2], src[3]};
	if (box[2] <= 0 || box[3] <= 0) {
		box[0] = box[1] = 0;
		box[2] = tex_w;
		box[3] = tex_h;
	}
	/* The engine's transforms turn a source upright; wlroots' turn it from upright. */
	int turn = transform & 4 ? transform & 7 : (4 - (transform & 3)) & 3;
	int unit[6];
	zc_transform_source_map(turn, 1, 1, unit);
	double turned_w = turn % 2 == 1 ? box[3] : box[2];
	double turned_h = turn % 2 == 1 ? box[2] : box[3];
	double kx = turned_w / dst[2], ky = turned_h / dst[3];
	map[0] = unit[0] * kx;
	map[1] = unit[1] * ky;
	map[2] = unit[2] * kx;
	map[3] = unit[3] * ky;
	map[4] = unit[4] * box[2] + box[0] - map[0] * dst[0] - map[1] * dst[1];
	map[5] = unit[5] * box[3] + box[1] - map[2] * dst[0] - map[3] * dst[1];
	return turned_w != dst[2] || turned_h != dst[3];
}
