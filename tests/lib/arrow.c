#include "arrow.h"

static const char *const arrow[ZT_ARROW_HEIGHT] = {
	"B...........",
	"BB..........",
	"BWB.........",
	"BWWB........",
	"BWWWB.......",
	"BWWWWB......",
	"BWWWWWB.....",
	"BWWWWWWB....",
	"BWWWWWWWB...",
	"BWWWWWWWWB..",
	"BWWWWWWWWWB.",
	"BWWWWWWBBBBB",
	"BWWWBWWB....",
	"BWWBBWWB....",
	"BWB..BWWB...",
	"BB...BWWB...",
	"B.....BWWB..",
	"......BWWB..",
	".......BB...",
};

uint32_t zt_arrow_argb(int x, int y) {
	if (x < 0 || y < 0 || x >= ZT_ARROW_WIDTH || y >= ZT_ARROW_HEIGHT) {
		return 0;
	}
	switch (arrow[y][x]) {
	case 'B':
		return 0xff000000;
	case 'W':
		return 0xffffffff;
	default:
		return 0;
	}
}
