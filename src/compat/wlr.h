/*
 * The differences between the wlroots versions zerocap builds against
 * (0.18, 0.19, 0.20) that the library meets. This pair of files is the only
 * place that looks at WLR_VERSION_*; everything else uses these helpers.
 */
#ifndef ZC_COMPAT_WLR_H
#define ZC_COMPAT_WLR_H

#include <time.h>

#include <stdbool.h>

struct wlr_output;
struct wlr_output_event_commit;
struct wlr_output_event_present;
struct wlr_output_state;

/* When the commit happened (0.20 passes it by value, earlier by pointer). */
struct timespec zc_wlr_commit_when(const struct wlr_output_event_commit *event);
/* When the image turned into light (0.19 passes it by value, 0.18 by pointer). */
struct timespec zc_wlr_present_when(const struct wlr_output_event_present *event);
/*
 * Whether the buffer of a committed state is the whole output's image: not
 * one that direct scan-out placed on part of it (0.19 on: source and
 * destination boxes) nor one of another size.
 */
bool zc_wlr_state_buffer_is_whole(const struct wlr_output_state *state,
	const struct wlr_output *output);

#endif
