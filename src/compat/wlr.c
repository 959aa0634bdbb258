#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/box.h>
#include <wlr/version.h>
#include "compat/wlr.h"

#define ZC_WLR_AT_LEAST(major, minor) \
	(WLR_VERSION_MAJOR > (major) || \
		(WLR_VERSION_MAJOR == (major) && WLR_VERSION_MINOR >= (minor)))

static struct timespec now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

struct timespec zc_wlr_commit_when(const struct wlr_output_event_commit *event) {
#if ZC_WLR_AT_LEAST(0, 20)
	return event->when;
#else
	return event->when != NULL ? *event->when : now();
#endif
}

struct timespec zc_wlr_present_when(const struct wlr_output_event_present *event) {
	if (!event->presented) {
		return now();
	}
#if ZC_WLR_AT_LEAST(0, 19)
	return event->when;
#else
	return event->when != NULL ? *event->when : now();
#endif
}

bool zc_wlr_state_buffer_is_whole(const struct wlr_output_state *state,
		const struct wlr_output *output) {
	const struct wlr_buffer *buffer = state->buffer;
	if (buffer->width != output->width || buffer->height != output->height) {
		return false;
	}
#if ZC_WLR_AT_LEAST(0, 19)
	const struct wlr_fbox *src = &state->buffer_src_box;
	bool src_whole = wlr_fbox_empty(src) || (src->x == 0 && src->y == 0 &&
		src->width == buffer->width && src->height == buffer->height);
	const struct wlr_box *dst = &state->buffer_dst_box;
	bool dst_whole = (dst->width == 0 && dst->height == 0) || (dst->x == 0 && dst->y == 0 &&
		dst->width == output->width && dst->height == output->height);
	return src_whole && dst_whole;
#else
	return true;
#endif
}
