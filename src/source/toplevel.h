#ifndef ZC_SOURCE_TOPLEVEL_H
#define ZC_SOURCE_TOPLEVEL_H

#include <wayland-server-core.h>
#include "capture/capture.h"

struct zc_capture_manager;
struct zc_toplevel_source;

/*
 * The capture source of the window whose foreign-toplevel handle resource
 * this is: a handle of zerocap's own list or of the wlroots list the
 * compositor passed handles of. NULL for any other resource (another
 * implementation's, an inert one, a closed window): never aborts.
 */
struct zc_source *zc_toplevel_source_from_handle(struct zc_capture_manager *manager,
	struct wl_resource *handle);
/* The toplevel source a target is, or NULL. */
struct zc_toplevel_source *zc_toplevel_source_from_target(struct zc_target *target);
/* The manager's engine is being replaced / was replaced (see output.h). */
void zc_toplevel_source_drop_engine(struct zc_toplevel_source *source);
void zc_toplevel_source_take_engine(struct zc_toplevel_source *source);

#endif
