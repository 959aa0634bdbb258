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

#endif
