#ifndef ZC_MANAGER_H
#define ZC_MANAGER_H

#include <wayland-server-core.h>
#include <zerocap/zerocap.h>
#include "capture/capture.h"

struct zc_capture_manager {
	struct wl_display *display;
	struct zc_capture_manager_options options;
	struct zc_render_engine *engine;
	double max_fps; /* default pacing of new sessions; 0: none */

	/* policy.c */
	struct zc_policy policy;
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
	struct wl_list output_sources; /* zc_output_source.link */
	struct wl_list targets; /* zc_target.link: everything capturable */

	struct wl_global *source_manager_global;
	struct wl_list source_manager_resources;
	struct wl_global *copy_manager_global;
	struct wl_global *screencopy_global; /* NULL when turned off */
	struct wl_list screencopy_resources;
	struct wl_list screencopy_sessions; /* kept per client, see wlr_screencopy.c */
	struct wl_listener display_destroy;
};

void zc_capture_manager_init_policy(struct zc_capture_manager *manager);
void zc_capture_manager_finish_policy(struct zc_capture_manager *manager);


/* Globals, one pair per protocol file; finish is safe after a failed init. */
bool zc_ext_source_manager_init(struct zc_capture_manager *manager);
void zc_ext_source_manager_finish(struct zc_capture_manager *manager);
bool zc_ext_copy_manager_init(struct zc_capture_manager *manager);
void zc_ext_copy_manager_finish(struct zc_capture_manager *manager);
bool zc_wlr_screencopy_init(struct zc_capture_manager *manager);
void zc_wlr_screencopy_finish(struct zc_capture_manager *manager);

#endif
