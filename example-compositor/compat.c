#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_presentation_time.h>
#include <wlr/version.h>
#include "compat.h"

#if WLR_VERSION_MAJOR == 0 && WLR_VERSION_MINOR < 18
#error "wlroots 0.18 or newer is needed"
#endif

#define COMPAT_WLR_AT_LEAST(minor) (WLR_VERSION_MAJOR > 0 || WLR_VERSION_MINOR >= (minor))

#include <stdlib.h>
#include <wlr/util/log.h>

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

bool compat_has_toplevel_capture(void) {
	return COMPAT_WLR_AT_LEAST(20);
}

#if COMPAT_WLR_AT_LEAST(20)
struct toplevel_capture {
	struct compat_toplevel_capture impl;
	struct wl_listener new_request;
	struct wl_listener destroy;
};

/* wlroots asserts that nobody listens any more when the display goes. */
static void handle_toplevel_capture_destroy(struct wl_listener *listener, void *data) {
	struct toplevel_capture *capture = wl_container_of(listener, capture, destroy);
	wl_list_remove(&capture->new_request.link);
	wl_list_remove(&capture->destroy.link);
	free(capture);
}

static void handle_toplevel_capture_request(struct wl_listener *listener, void *data) {
	struct toplevel_capture *capture = wl_container_of(listener, capture, new_request);
	struct wlr_ext_foreign_toplevel_image_capture_source_manager_v1_request *request = data;
	void **slot = NULL;
	struct wlr_scene_node *node = capture->impl.node(request->toplevel_handle, &slot);
	if (node == NULL || slot == NULL) {
		return;
	}
	if (*slot == NULL) {
		*slot = wlr_ext_image_capture_source_v1_create_with_scene_node(node,
			capture->impl.loop, *capture->impl.allocator, *capture->impl.renderer);
	}
	if (*slot == NULL) {
		wlr_log(WLR_ERROR, "wlroots could not make a capture source for a window");
		return;
	}
	wlr_ext_foreign_toplevel_image_capture_source_manager_v1_request_accept(request, *slot);
}
#endif

bool compat_toplevel_capture_create(struct wl_display *display,
		const struct compat_toplevel_capture *impl) {
#if COMPAT_WLR_AT_LEAST(20)
	struct wlr_ext_foreign_toplevel_image_capture_source_manager_v1 *manager =
		wlr_ext_foreign_toplevel_image_capture_source_manager_v1_create(display, 1);
	struct toplevel_capture *capture = manager != NULL ? calloc(1, sizeof(*capture)) : NULL;
	if (capture == NULL) {
		return false;
	}
	capture->impl = *impl;
	capture->new_request.notify = handle_toplevel_capture_request;
	wl_signal_add(&manager->events.new_request, &capture->new_request);
	capture->destroy.notify = handle_toplevel_capture_destroy;
	wl_signal_add(&manager->events.destroy, &capture->destroy);
	return true;
#else
	(void)display;
	(void)impl;
	return false;
#endif
}
