#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_presentation_time.h>
#include <wlr/version.h>
#include "compat.h"

#if WLR_VERSION_MAJOR == 0 && WLR_VERSION_MINOR < 18
#error "wlroots 0.18 or newer is needed"
#endif

#define COMPAT_WLR_AT_LEAST(minor) (WLR_VERSION_MAJOR > 0 || WLR_VERSION_MINOR >= (minor))

#if COMPAT_WLR_AT_LEAST(19)
#include <wlr/types/wlr_ext_image_capture_source_v1.h>
#include <wlr/types/wlr_ext_image_copy_capture_v1.h>
#endif

struct wlr_presentation *compat_presentation_create(struct wl_display *display,
		struct wlr_backend *backend) {
#if COMPAT_WLR_AT_LEAST(19)
	return wlr_presentation_create(display, backend, 2);
#else
	return wlr_presentation_create(display, backend);
#endif
}

bool compat_has_ext_image_copy_capture(void) {
	return COMPAT_WLR_AT_LEAST(19);
}

bool compat_ext_image_copy_capture_create(struct wl_display *display) {
#if COMPAT_WLR_AT_LEAST(19)
	return wlr_ext_image_copy_capture_manager_v1_create(display, 1) != NULL &&
		wlr_ext_output_image_capture_source_manager_v1_create(display, 1) != NULL;
#else
	(void)display;
	return false;
#endif
}

struct wlr_render_pass *compat_output_begin_render_pass(struct wlr_output *output,
		struct wlr_output_state *state) {
#if COMPAT_WLR_AT_LEAST(19)
	return wlr_output_begin_render_pass(output, state, NULL);
#else
	return wlr_output_begin_render_pass(output, state, NULL, NULL);
#endif
}

void compat_present_event_set_when(struct wlr_output_event_present *event,
		struct timespec *when) {
#if COMPAT_WLR_AT_LEAST(19)
	event->when = *when;
#else
	event->when = when;
#endif
}
