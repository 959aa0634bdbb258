/*
 * zerocap: server-side screen capture for wlroots compositors.
 *
 * A compositor creates one zc_capture_manager on its wl_display, hands it the
 * wlr_renderer it renders with, and registers a zc_output_source for each
 * wlr_output it wants to make capturable. zerocap then serves
 * ext-image-capture-source-v1 and ext-image-copy-capture-v1 for those outputs,
 * and wlr-screencopy-unstable-v1 on the same engine.
 *
 * Ownership:
 * - The manager belongs to the compositor. It is destroyed by
 *   zc_capture_manager_destroy() or, at the latest, when the wl_display is
 *   destroyed. Destroying it stops every capture session and destroys every
 *   source.
 * - A zc_output_source belongs to the manager. It is destroyed by
 *   zc_output_source_destroy() or automatically when its wlr_output is
 *   destroyed; running sessions on it are stopped.
 * - The renderer and outputs are borrowed: they must outlive the manager
 *   (or the source), as usual for wlroots helpers.
 * - Cursor images passed in are locked by zerocap (wlr_buffer_lock) and
 *   unlocked when replaced or when the source is destroyed.
 */
#ifndef ZEROCAP_ZEROCAP_H
#define ZEROCAP_ZEROCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

struct wlr_buffer;
struct wlr_ext_foreign_toplevel_handle_v1;
struct wlr_output;
struct wlr_output_layout;
struct wlr_renderer;
struct wlr_scene_node;
struct wlr_scene_tree;
struct wlr_surface;

struct wl_client;
struct zc_capture_manager;
struct zc_output_source;
struct zc_toplevel_source;
/*
 * What a session captures, as policy sees it: an output or a window
 * (a toplevel source). Owned by zerocap; valid while its source exists.
 */
struct zc_capture_target;
/* A capture session asking for permission; see the policy section below. */
struct zc_capture_request;

#if defined(__GNUC__)
#define ZC_API __attribute__((visibility("default")))
#else
#define ZC_API
#endif

struct zc_capture_manager_options {
	/*
	 * false (default): images are delivered upright; the output transform is
	 * applied at the source and the transform event says normal.
	 * true: images keep the output buffer's own orientation and the
	 * transform event carries the output transform.
	 */
	bool raw_transform;
	/*
	 * false (default): zerocap also serves zwlr_screencopy_manager_v1 (v3)
	 * for older clients (grim, wf-recorder, wayvnc, xdg-desktop-portal-wlr).
	 * Set it when the compositor offers wlroots' own screencopy instead.
	 */
	bool no_wlr_screencopy;
	/*
	 * false (default): zerocap offers ext_foreign_toplevel_list_v1 and
	 * publishes a handle for every toplevel source. Set it when the
	 * compositor runs wlroots' own list (wlr_ext_foreign_toplevel_list_v1)
	 * and passes its handles to zc_toplevel_source_create().
	 */
	bool no_foreign_toplevel_list;
};

/*
 * Creates the manager and its globals. options may be NULL. renderer is the
 * wlr_renderer the compositor renders its outputs with (pixman or GLES2).
 * Returns NULL on failure.
 */
ZC_API struct zc_capture_manager *zc_capture_manager_create(struct wl_display *display,
	struct wlr_renderer *renderer, const struct zc_capture_manager_options *options);
ZC_API void zc_capture_manager_destroy(struct zc_capture_manager *manager);
/*
 * Follows a renderer the compositor replaced, e.g. after a GPU reset (the
 * renderer's `lost` event). Call it once the new renderer exists and before
 * the old one is destroyed: zerocap drops every texture, framebuffer and
 * fence of the old one, fails the frames the GPU was writing with
 * buffer_constraints (clients re-allocate and go on), and sends every
 * session new constraints for the new renderer. The old renderer is not
 * used again.
 */
ZC_API void zc_capture_manager_set_renderer(struct zc_capture_manager *manager,
	struct wlr_renderer *renderer);

/*
 * Makes an output capturable. The source watches the output's commits,
 * damage, mode, scale and transform by itself. Returns NULL on failure.
 */
ZC_API struct zc_output_source *zc_output_source_create(struct zc_capture_manager *manager,
	struct wlr_output *output);
ZC_API void zc_output_source_destroy(struct zc_output_source *source);

/*
 * Pacing: sessions get at most fps frames per second (0, the default: as
 * many as the output shows). Frames are never rendered for capture alone;
 * this only spaces out the ones a session gets: over time at most fps, each
 * frame at most a quarter interval (2 ms at most) before its slot, so an
 * output slightly faster than the limit still gives the limit. Applies to
 * sessions created afterwards; zc_capture_request_set_max_fps sets one
 * session's rate.
 */
ZC_API void zc_capture_manager_set_max_fps(struct zc_capture_manager *manager, double fps);

/*
 * Cursor for captures that ask for cursors (paint_cursors). zerocap draws the
 * cursor itself, so the compositor's output buffers should not contain it
 * (use hardware cursor planes, or leave it out on backends without them):
 * captures without cursors then never show it.
 *
 * image: an ARGB8888 buffer with CPU access (or NULL to remove the cursor),
 * drawn at its own pixel size; hotspot in image pixels.
 */
ZC_API void zc_output_source_set_cursor_image(struct zc_output_source *source,
	struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y);
/*
 * A cursor image from ARGB8888 pixels (premultiplied, rows stride bytes
 * apart), e.g. a wlr_xcursor_image's: the pixels are copied. The caller owns
 * the buffer and drops it with wlr_buffer_drop() when done (zerocap keeps
 * its own lock while it uses it). NULL on failure.
 */
ZC_API struct wlr_buffer *zc_cursor_image_create(const void *pixels, int32_t width,
	int32_t height, int32_t stride);
/* Cursor position in output-local logical coordinates. */
ZC_API void zc_output_source_move_cursor(struct zc_output_source *source,
	bool visible, double x, double y);

/*
 * The pointer for window captures, in scene (layout) coordinates: window
 * sources draw it (paint_cursors) and report it to cursor sessions relative
 * to the window. Same image rules as zc_output_source_set_cursor_image.
 * Call move_cursor also after moving a window (with the same position):
 * the pointer's place in that window changed.
 */
ZC_API void zc_capture_manager_set_cursor_image(struct zc_capture_manager *manager,
	struct wlr_buffer *image, int32_t hotspot_x, int32_t hotspot_y);
ZC_API void zc_capture_manager_move_cursor(struct zc_capture_manager *manager,
	bool visible, double x, double y);
/*
 * The cursor as a client's cursor surface (wl_pointer.set_cursor, the seat's
 * request_set_cursor event), hotspot in surface coordinates: zerocap reads
 * the surface's image back on every commit (buffer pixels: a scale-2 cursor
 * is drawn at twice the size) and moves the hotspot with the surface's
 * offsets, until set_cursor_image or another surface replaces it; a
 * destroyed surface leaves no image. surface NULL: no image. Borrowed.
 */
ZC_API void zc_capture_manager_set_cursor_surface(struct zc_capture_manager *manager,
	struct wlr_surface *surface, int32_t hotspot_x, int32_t hotspot_y);
/*
 * With the compositor's output layout, output sources follow the manager's
 * cursor too: set_cursor_image and move_cursor (layout coordinates) reach
 * every output source, placed through the layout (and again whenever the
 * layout changes), and the zc_output_source_* cursor calls are not needed.
 * layout NULL: each output source keeps its own cursor again. The layout is
 * borrowed and forgotten when it is destroyed.
 */
ZC_API void zc_capture_manager_set_output_layout(struct zc_capture_manager *manager,
	struct wlr_output_layout *layout);

/*
 * Windows. A toplevel source captures one window from its own surfaces,
 * wherever it is: covered, off-screen, on a disabled, rotated or scaled
 * output. Each capture draws the window's surfaces (the main surface,
 * subsurfaces and popups, each with its buffer transform, scale and
 * viewport) straight into the client's buffer: one GPU draw for dma-bufs,
 * a damage-limited pixman composite for shm. Nothing else is rendered.
 *
 * Image size: the extents of the main surface and its subsurfaces (popups
 * are drawn where they overlap and never grow the image, so a menu does
 * not make clients re-allocate), in logical pixels times the main
 * surface's buffer scale: a scale-2 client gives a 2x image, the pixels it
 * drew, whatever output it is on. Images are upright (transform normal).
 * A resize sends new constraints and fails the waiting frame with
 * buffer_constraints; the session goes on in the new size.
 *
 * Damage comes from commits of the window's own surfaces only.
 *
 * Wiring (an xdg-shell compositor on wlr_scene):
 *	tree = wlr_scene_xdg_surface_create(parent, xdg_toplevel->base);
 *	popups: wlr_scene_xdg_surface_create(<the parent's tree>, popup->base),
 *	        so they live under the toplevel's tree
 *	on map: zc_toplevel_source_create(manager, &(struct zc_toplevel_source_options){
 *	        .tree = tree, .surface = xdg_toplevel->base->surface,
 *	        .handle = <wlroots' handle, or NULL>,
 *	        .title = xdg_toplevel->title, .app_id = xdg_toplevel->app_id });
 *	on set_title / set_app_id: zc_toplevel_source_set_title / _set_app_id
 *	on unmap or destroy: zc_toplevel_source_destroy
 *
 * Ownership: the source belongs to the manager; it is destroyed by
 * zc_toplevel_source_destroy(), or by itself when the tree, the surface or
 * the handle is destroyed. Sessions on it stop and a waiting frame fails
 * with stopped; zerocap's own handle sends closed. tree, surface and handle
 * are borrowed.
 */
struct zc_toplevel_source_options {
	struct wlr_scene_tree *tree; /* the window's scene subtree; required */
	struct wlr_surface *surface; /* the toplevel's main surface; required */
	/*
	 * The window's handle in wlroots' ext-foreign-toplevel-list, when the
	 * compositor runs it (with no_foreign_toplevel_list). NULL: zerocap's
	 * own list publishes a handle.
	 */
	struct wlr_ext_foreign_toplevel_handle_v1 *handle;
	/*
	 * May be NULL; copied. With a handle, NULL means the handle's own
	 * title or app_id, which the compositor keeps current anyway.
	 */
	const char *title;
	const char *app_id;
	/*
	 * For a tree kept in a scene of its own (labwc's per-view capture
	 * scenes): a node of the compositor's scene that stands where the
	 * tree's origin is on screen. Window captures place the pointer
	 * relative to it. NULL: the tree itself. Borrowed; forgotten when
	 * destroyed.
	 */
	struct wlr_scene_node *place;
};

ZC_API struct zc_toplevel_source *zc_toplevel_source_create(struct zc_capture_manager *manager,
	const struct zc_toplevel_source_options *options);
ZC_API void zc_toplevel_source_destroy(struct zc_toplevel_source *source);
/* Also update zerocap's handle, when it has one. */
ZC_API void zc_toplevel_source_set_title(struct zc_toplevel_source *source, const char *title);
ZC_API void zc_toplevel_source_set_app_id(struct zc_toplevel_source *source,
	const char *app_id);
ZC_API struct zc_capture_target *zc_toplevel_source_get_target(
	struct zc_toplevel_source *source);

/*
 * Policy: who may capture what.
 *
 * Capture is the most sensitive thing a compositor hands out. zerocap gives
 * the compositor three levers:
 * 1. A client filter deciding which clients even see the capture globals.
 * 2. A request handler asked for every capture session (ext sessions, cursor
 *    sessions and the sessions behind wlr-screencopy frames). Until it
 *    answers, the session sends no constraints and captures nothing; allow
 *    starts it, deny stops it. The answer may come later (after asking the
 *    user). Without a handler every session is allowed at once. With one, a
 *    cursor session tells where the pointer is only while its capture
 *    session is allowed and running.
 * 3. Revocation at any time, and an activity handler telling when an output
 *    starts or stops being captured, for an on-screen indicator.
 * A client also gets at most 64 sessions at once; more are stopped.
 */
struct zc_client_info {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char executable[256]; /* the target of /proc/PID/exe; empty if unknown */
};

/* Fills info from the client's socket credentials and /proc. */
ZC_API bool zc_client_get_info(struct wl_client *client, struct zc_client_info *info);

typedef bool (*zc_client_filter_func)(struct wl_client *client,
	const struct zc_client_info *info, void *data);
/*
 * Installs a wl_display global filter that shows the capture globals only
 * to clients the filter accepts (filter NULL: to everyone again). A
 * compositor with a global filter of its own calls
 * zc_capture_manager_filter_global() from it instead.
 */
ZC_API void zc_capture_manager_set_client_filter(struct zc_capture_manager *manager,
	zc_client_filter_func filter, void *data);
/* false when global is one of zerocap's and the client filter rejects client. */
ZC_API bool zc_capture_manager_filter_global(struct zc_capture_manager *manager,
	const struct wl_client *client, const struct wl_global *global);

typedef void (*zc_capture_request_func)(struct zc_capture_request *request, void *data);
/* handler NULL: every session is allowed at once (the default). */
ZC_API void zc_capture_manager_set_request_handler(struct zc_capture_manager *manager,
	zc_capture_request_func handler, void *data);
ZC_API struct wl_client *zc_capture_request_get_client(struct zc_capture_request *request);
/* What is to be captured (NULL once the source went away). */
ZC_API struct zc_capture_target *zc_capture_request_get_target(
	struct zc_capture_request *request);
enum zc_capture_target_type {
	ZC_CAPTURE_TARGET_OUTPUT,
	ZC_CAPTURE_TARGET_TOPLEVEL,
};
ZC_API enum zc_capture_target_type zc_capture_target_get_type(struct zc_capture_target *target);
/* The window behind a target; NULL when it is not a window. */
ZC_API struct zc_toplevel_source *zc_capture_target_get_toplevel(
	struct zc_capture_target *target);
/* A window's title and app_id (never NULL, maybe empty); "" for outputs. */
ZC_API const char *zc_capture_target_get_title(struct zc_capture_target *target);
ZC_API const char *zc_capture_target_get_app_id(struct zc_capture_target *target);
/* The output to be captured; NULL when the target is not an output. */
ZC_API struct wlr_output *zc_capture_request_get_output(struct zc_capture_request *request);
/* Whether the cursor will be in the images (or is all they show). */
ZC_API bool zc_capture_request_get_cursor(struct zc_capture_request *request);
/* At most fps frames per second for this session (0: no limit). */
ZC_API void zc_capture_request_set_max_fps(struct zc_capture_request *request, double fps);
/* Answers; the request must not be used afterwards. */
ZC_API void zc_capture_request_allow(struct zc_capture_request *request);
ZC_API void zc_capture_request_deny(struct zc_capture_request *request);
/*
 * listener runs when the request goes away unanswered (the client left or
 * the output went away); the request must not be used afterwards.
 */
ZC_API void zc_capture_request_add_cancel_listener(struct zc_capture_request *request,
	struct wl_listener *listener);

/* Stops running and pending sessions of client (NULL: any) on target (NULL: any). */
ZC_API void zc_capture_manager_revoke_target(struct zc_capture_manager *manager,
	struct wl_client *client, struct zc_capture_target *target);
/* The same for an output's target (output NULL: any target). */
ZC_API void zc_capture_manager_revoke(struct zc_capture_manager *manager,
	struct wl_client *client, struct wlr_output *output);

struct zc_capture_activity {
	struct zc_capture_target *target;
	struct wlr_output *output; /* the target's output; NULL for other targets */
	struct zc_toplevel_source *toplevel; /* the target's window; NULL for outputs */
	bool active; /* at least one allowed session captures this target */
};
typedef void (*zc_capture_activity_func)(const struct zc_capture_activity *activity,
	void *data);
ZC_API void zc_capture_manager_set_activity_handler(struct zc_capture_manager *manager,
	zc_capture_activity_func handler, void *data);
ZC_API bool zc_output_source_is_captured(struct zc_output_source *source);
ZC_API struct zc_capture_target *zc_output_source_get_target(struct zc_output_source *source);
ZC_API struct wlr_output *zc_capture_target_get_output(struct zc_capture_target *target);
ZC_API bool zc_capture_target_is_captured(struct zc_capture_target *target);

#endif
