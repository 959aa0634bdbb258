/* The test window client's content, shared with the tests that check it. */
#ifndef ZT_WINDOW_PATTERN_H
#define ZT_WINDOW_PATTERN_H

#include <stdint.h>

/* ARGB pixel at buffer coordinates x, y of generation g (opaque). */
static inline uint32_t zt_window_pattern(int x, int y, int g) {
	return 0xff000000u | (uint32_t)((x * 3 + g * 17) & 0xff) << 16 |
		(uint32_t)((y * 5) & 0xff) << 8 | (uint32_t)((x + y) & 0xff);
}

#endif
