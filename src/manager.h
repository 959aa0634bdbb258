#ifndef ZC_MANAGER_H
#define ZC_MANAGER_H

#include <wayland-server-core.h>
#include <zerocap/zerocap.h>
#include "capture/capture.h"
#include "protocol/protocol.h"

/*
 * policy.c's state: what the compositor said about who may capture, and
 * the per-client session limit. base is what the capture core asks.
 */
struct zc_manager_policy {
	struct zc_policy base;
	zc_client_filter_func client_filter;
	void *client_filter_data;
	bool installed_global_filter;
	zc_capture_request_func request_handler;
	void *request_data;
	zc_capture_activity_func activity_handler;
	void *activity_data;
	/* The session limit's log line: at most one a second. */
	uint64_t limit_logged_ns;
	unsigned limit_hits_unlogged;
};

/* The pointer in scene coordinates, for window sources. */
struct zc_manager_cursor {
	struct wlr_buffer *image; /* locked; NULL: none */
	int32_t hotspot_x, hotspot_y;
	bool visible;
	double x, y;
};

struct zc_capture_manager {
	struct wl_display *display;
	struct zc_capture_manager_options options;
	struct zc_render_engine *engine;
	double max_fps; /* default pacing of new sessions; 0: none */

	struct zc_manager_policy policy;
	struct wl_list output_sources; /* zc_output_source.link */
	struct wl_list toplevel_sources; /* zc_toplevel_source.link */
	struct zc_manager_cursor cursor;
	struct wl_list targets; /* zc_target.link: everything capturable */

	/* The protocol globals (protocol/protocol.h); screencopy NULL when off. */
	struct zc_ext_source_manager *source_manager;
	struct zc_ext_copy_manager *copy_manager;
	struct zc_wlr_screencopy *screencopy;
	struct zc_ext_toplevel_source_manager *toplevel_source_manager;
	struct zc_options_manager *options_manager; /* zerocap-capture-options-v1 */
	struct zc_foreign_toplevel_list *toplevel_list; /* NULL with no_foreign_toplevel_list */
	struct wl_listener display_destroy;
	/* Output sources follow the cursor through it (set_output_layout). */
	struct wlr_output_layout *layout;
	struct wl_listener layout_change;
	struct wl_listener layout_destroy;
	/* A client's cursor surface the cursor image comes from (set_cursor_surface). */
	struct {
		struct wlr_surface *surface; /* NULL: none */
		int32_t hotspot_x, hotspot_y;
		struct wl_listener commit, destroy;
	} cursor_surface;
};

/* A new output source takes the manager's cursor (with an output layout). */
void zc_capture_manager_place_cursor(struct zc_capture_manager *manager,
	struct zc_output_source *source, bool new_image);
void zc_capture_manager_init_policy(struct zc_capture_manager *manager);
void zc_capture_manager_finish_policy(struct zc_capture_manager *manager);


#endif
