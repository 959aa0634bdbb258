#ifndef ZC_SOURCE_TOPLEVEL_H
#define ZC_SOURCE_TOPLEVEL_H

#include <wayland-server-core.h>
#include <wlr/util/box.h>
#include "capture/capture.h"
#include "source/output.h"

struct zc_capture_manager;
struct zc_foreign_toplevel;
struct wlr_buffer;
struct wlr_ext_foreign_toplevel_handle_v1;
struct wlr_scene_buffer;
struct wlr_scene_tree;
struct wlr_surface;

/* What one surface looked like in the image at the last walk. */
struct toplevel_layer {
	struct wlr_scene_buffer *node; /* only compared, never followed */
	struct wlr_buffer *buffer; /* only compared */
	struct wlr_box dst; /* image pixels */
	struct wlr_fbox src;
	enum wl_output_transform transform;
};

struct zc_toplevel_source {
	struct zc_target target;
	struct zc_source base;
	struct zc_cursor_source cursor;
	struct zc_pointer pointer;
	struct zc_capture_manager *manager;
	struct wl_list link; /* zc_capture_manager.toplevel_sources */
	struct wlr_scene_tree *tree;
	struct wlr_surface *surface;
	struct wlr_ext_foreign_toplevel_handle_v1 *handle;
	struct zc_foreign_toplevel *own_handle;
	char *title, *app_id; /* NULL: the handle's */
	struct wlr_scene_node *place; /* NULL: tree */

	struct wl_list surfaces; /* toplevel_surface.link */
	struct wl_event_source *walk_idle;
	/* The last walk: the image's extents in tree coordinates, its scale. */
	struct wlr_box extents;
	int scale;
	struct toplevel_layer *layers;
	size_t n_layers;
	bool has_image;
	struct timespec image_when;
	/* The cursor's box in the image at the last update (empty: not drawn). */
	struct wlr_box cursor_drawn;
	/* Where the window was for the cursor: its tree's scene position. */
	int tree_x, tree_y;

	struct wl_list copies; /* zc_source_copy.link (toplevel.c's toplevel_copy) */
	struct zc_constraints dmabuf;

	struct wl_listener tree_destroy;
	struct wl_listener surface_destroy;
	struct wl_listener handle_destroy;
	struct wl_listener place_destroy;
};


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
const char *zc_toplevel_source_title(struct zc_toplevel_source *source);
const char *zc_toplevel_source_app_id(struct zc_toplevel_source *source);
/* The manager's cursor moved or changed (new_image: its image too). */
void zc_toplevel_source_cursor_changed(struct zc_toplevel_source *source, bool new_image);
/* The manager's engine is being replaced / was replaced (see output.h). */
void zc_toplevel_source_drop_engine(struct zc_toplevel_source *source);
void zc_toplevel_source_take_engine(struct zc_toplevel_source *source);

#endif
