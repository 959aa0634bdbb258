/*
 * The reference compositor's adapter for the wlroots versions it builds
 * against (0.18, 0.19, 0.20): the only place that looks at WLR_VERSION_*.
 * No compositor state in here, so the protocol fuzzer (tests/fuzz) uses it too.
 */
#ifndef ZEROCAP_COMPOSITOR_COMPAT_H
#define ZEROCAP_COMPOSITOR_COMPAT_H

#include <stdbool.h>
#include <time.h>

struct wl_display;
struct wlr_backend;
struct wlr_output;
struct wlr_output_event_present;
struct wlr_output_state;
struct wlr_presentation;
struct wlr_render_pass;

/* wp_presentation at the newest version this wlroots implements. */
struct wlr_presentation *compat_presentation_create(struct wl_display *display,
	struct wlr_backend *backend);

/*
 * Whether this wlroots implements ext-image-copy-capture-v1 and the output
 * image capture source itself (0.19 on); 0.18 only has wlr-screencopy.
 */
bool compat_has_ext_image_copy_capture(void);
/*
 * Creates wlroots' ext_image_copy_capture_manager_v1 and
 * ext_output_image_capture_source_manager_v1 globals; false on failure, or
 * where compat_has_ext_image_copy_capture() is false.
 */
bool compat_ext_image_copy_capture_create(struct wl_display *display);

struct wlr_allocator;
struct wlr_ext_foreign_toplevel_handle_v1;
struct wlr_renderer;
struct wlr_scene_node;
struct wl_event_loop;

/*
 * wlroots' own window capture (0.20 on): its
 * ext_foreign_toplevel_image_capture_source_manager_v1, answering each
 * request with a scene-node source (wlroots renders the node into its own
 * swapchain, then copies). node() gives the window's scene node for a handle
 * of wlroots' list and the slot that caches its source (NULL: refused).
 * renderer and allocator are read at each request (they change after a GPU
 * reset). False where this wlroots has none, or on failure.
 */
struct compat_toplevel_capture {
	struct wl_event_loop *loop;
	struct wlr_renderer **renderer;
	struct wlr_allocator **allocator;
	struct wlr_scene_node *(*node)(struct wlr_ext_foreign_toplevel_handle_v1 *handle,
		void ***source_slot);
};
bool compat_has_toplevel_capture(void);
bool compat_toplevel_capture_create(struct wl_display *display,
	const struct compat_toplevel_capture *capture);

/*
 * Starts rendering the next frame of output into state (which gets the
 * buffer); wlr_render_pass_submit() ends it. NULL on failure.
 */
struct wlr_render_pass *compat_output_begin_render_pass(struct wlr_output *output,
	struct wlr_output_state *state);

/*
 * Sets the time of a present event. wlroots 0.18 keeps a pointer to when:
 * it must outlive the wlr_output_send_present() call.
 */
void compat_present_event_set_when(struct wlr_output_event_present *event,
	struct timespec *when);

#endif
