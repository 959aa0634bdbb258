/*
 * Reference YCbCr code values for the tests, written from the standards'
 * formulas (BT.601, BT.709, BT.2020 with limited or full range, 8 or 10
 * bits), independent of src/render/convert.c.
 */
#ifndef ZT_YCBCR_H
#define ZT_YCBCR_H

#include <stdbool.h>

/* rgb in [0, 1]; matrix 0 BT.601, 1 BT.709, 2 BT.2020; range 0 limited, 1 full. */
static inline void zt_ycbcr(const double rgb[3], int matrix, int range, bool ten,
		double out[3]) {
	static const double kk[3][2] = {{0.299, 0.114}, {0.2126, 0.0722}, {0.2627, 0.0593}};
	double kr = kk[matrix][0], kb = kk[matrix][1];
	double y = kr * rgb[0] + (1 - kr - kb) * rgb[1] + kb * rgb[2];
	double pb = (rgb[2] - y) / (2 * (1 - kb)), pr = (rgb[0] - y) / (2 * (1 - kr));
	double n = ten ? 4 : 1, max = ten ? 1023 : 255;
	if (range == 1) {
		out[0] = max * y;
		out[1] = (max + 1) / 2 + max * pb;
		out[2] = (max + 1) / 2 + max * pr;
	} else {
		out[0] = n * (16 + 219 * y);
		out[1] = n * (128 + 224 * pb);
		out[2] = n * (128 + 224 * pr);
	}
	for (int k = 0; k < 3; k++) {
		out[k] = out[k] < 0 ? 0 : out[k] > max ? max : out[k];
	}
}

#endif
