#include <wlr/types/wlr_output.h>
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
