#ifndef ZC_PROTOCOL_PROTOCOL_H
#define ZC_PROTOCOL_PROTOCOL_H

#include <wayland-server-core.h>

struct zc_source;

/* The source behind an ext_image_capture_source_v1, NULL when inert. */
struct zc_source *zc_source_from_resource(struct wl_resource *resource);
/* The same for any such resource: NULL for another implementation's. */
struct zc_source *zc_source_try_from_resource(struct wl_resource *resource);
/* An ext_image_capture_source_v1 on source (NULL: inert); NULL without memory. */
struct wl_resource *zc_source_resource_create(struct wl_client *client, uint32_t version,
	uint32_t id, struct zc_source *source);

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

/*
 * ext_foreign_toplevel_list_v1: zerocap's own list, for compositors that
 * run none. One zc_foreign_toplevel per toplevel source; its handle
 * resources become inert (and get closed) when it is destroyed.
 */
struct zc_foreign_toplevel_list {
	struct zc_global base;
	struct wl_list toplevels; /* zc_foreign_toplevel.link */
	uint64_t next_id; /* for identifiers, never reused */
};
struct zc_foreign_toplevel {
	struct zc_foreign_toplevel_list *list; /* NULL once the list is gone */
	struct wl_list link;
	struct wl_list resources; /* ext_foreign_toplevel_handle_v1, wl_resource_get_link */
	char identifier[64];
	char *title, *app_id; /* never NULL */
	void *data; /* the owner's (the toplevel source) */
};
struct zc_foreign_toplevel_list *zc_foreign_toplevel_list_create(struct wl_display *display);
/* Destroys the global; toplevels live on, unlisted, until their owners destroy them. */
void zc_foreign_toplevel_list_destroy(struct zc_foreign_toplevel_list *list);
/* Announces a toplevel to every bound client; title and app_id may be NULL. */
struct zc_foreign_toplevel *zc_foreign_toplevel_create(struct zc_foreign_toplevel_list *list,
	const char *title, const char *app_id, void *data);
/* Sends the changed title/app_id (NULL: unchanged) then done. */
void zc_foreign_toplevel_update(struct zc_foreign_toplevel *toplevel, const char *title,
	const char *app_id);
/* Sends closed and makes the handle resources inert. */
void zc_foreign_toplevel_destroy(struct zc_foreign_toplevel *toplevel);
/* The toplevel behind a handle resource of zerocap's list; NULL when the
 * resource is another implementation's or inert. */
struct zc_foreign_toplevel *zc_foreign_toplevel_from_resource(struct wl_resource *resource);

/* ext_foreign_toplevel_image_capture_source_manager_v1 */
struct zc_ext_toplevel_source_manager {
	struct zc_global base;
	struct zc_capture_manager *manager;
};
struct zc_ext_toplevel_source_manager *zc_ext_toplevel_source_manager_create(
	struct zc_capture_manager *manager);
void zc_ext_toplevel_source_manager_destroy(struct zc_ext_toplevel_source_manager *m);

/* zerocap_capture_options_manager_v1 */
struct zc_options_manager {
	struct zc_global base;
	struct zc_capture_manager *manager;
};
struct zc_options_manager *zc_options_manager_create(struct zc_capture_manager *manager);
void zc_options_manager_destroy(struct zc_options_manager *options_manager);

/* zwlr_screencopy_manager_v1 and the sessions it keeps per client. */
struct zc_wlr_screencopy {
	struct zc_global base;
	struct zc_capture_manager *manager;
	struct wl_list sessions; /* kept_session.link, last used first */
};
struct zc_wlr_screencopy *zc_wlr_screencopy_create(struct zc_capture_manager *manager);
void zc_wlr_screencopy_destroy(struct zc_wlr_screencopy *screencopy);

#endif
