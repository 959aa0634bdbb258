#ifndef ZC_PROTOCOL_PROTOCOL_H
#define ZC_PROTOCOL_PROTOCOL_H

#include <wayland-server-core.h>

struct zc_source;

/* The source behind an ext_image_capture_source_v1, NULL when inert. */
struct zc_source *zc_source_from_resource(struct wl_resource *resource);

/*
 * Bound global resources whose user data must be cleared when the object
 * behind them goes away. Add with zc_resource_list_add() as the resource's
 * destroy handler is set; zc_resource_list_make_inert() clears them all.
 */
void zc_resource_list_add(struct wl_list *list, struct wl_resource *resource);
void zc_resource_unlink(struct wl_resource *resource);
void zc_resource_list_make_inert(struct wl_list *list);

/*
 * A protocol global and the resources bound to it. Each protocol object
 * embeds one and is destroyed by its owner or, at the latest, with the
 * display: then destroy (the object's own) runs. Bound resources outlive the
 * global, inert.
 */
struct zc_global {
	struct wl_global *global;
	struct wl_list resources;
	struct wl_listener display_destroy;
	void (*destroy)(struct zc_global *global);
};

bool zc_global_init(struct zc_global *global, struct wl_display *display,
	const struct wl_interface *interface, int version, void *data,
	wl_global_bind_func_t bind, void (*destroy)(struct zc_global *global));
/* Makes the resources inert and removes the global; safe after a failed init. */
void zc_global_finish(struct zc_global *global);
/* Adds a bound resource: its user data is cleared when the global goes. */
void zc_global_add_resource(struct zc_global *global, struct wl_resource *resource);

struct zc_capture_manager;

/* ext_output_image_capture_source_manager_v1 */
struct zc_ext_source_manager {
	struct zc_global base;
	struct zc_capture_manager *manager;
};
struct zc_ext_source_manager *zc_ext_source_manager_create(struct zc_capture_manager *manager);
void zc_ext_source_manager_destroy(struct zc_ext_source_manager *source_manager);

/* ext_image_copy_capture_manager_v1: sessions live on their sources, so it needs no state. */
struct zc_ext_copy_manager {
	struct zc_global base;
};
struct zc_ext_copy_manager *zc_ext_copy_manager_create(struct wl_display *display);
void zc_ext_copy_manager_destroy(struct zc_ext_copy_manager *copy_manager);

/* zwlr_screencopy_manager_v1 and the sessions it keeps per client. */
struct zc_wlr_screencopy {
	struct zc_global base;
	struct zc_capture_manager *manager;
	struct wl_list sessions; /* kept_session.link, last used first */
};
struct zc_wlr_screencopy *zc_wlr_screencopy_create(struct zc_capture_manager *manager);
void zc_wlr_screencopy_destroy(struct zc_wlr_screencopy *screencopy);

#endif
