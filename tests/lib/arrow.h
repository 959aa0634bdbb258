/*
 * The reference compositor's built-in cursor as the tests expect it: a black
 * outline, a white fill, transparent elsewhere, hotspot at the tip (0,0).
 * Written down apart from the compositor's own copy
 * (example-compositor/capture.c), so that a change there shows in the tests.
 */
#ifndef ZT_ARROW_H
#define ZT_ARROW_H

#include <stdint.h>

#define ZT_ARROW_WIDTH 12
#define ZT_ARROW_HEIGHT 19

/* The pixel at x,y of the image as premultiplied ARGB: 0 where transparent or outside. */
uint32_t zt_arrow_argb(int x, int y);

#endif
