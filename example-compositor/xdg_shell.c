#include <stdlib.h>
#include <wlr/types/wlr_keyboard.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>
#include "server.h"

struct comp_toplevel {
	struct wl_list link; /* comp_server.toplevels while mapped */
	struct comp_server *server;
	struct wlr_xdg_surface *xdg_surface;
	struct wlr_scene_node *scene_node;

	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener destroy;
};

static void set_activated(struct wlr_surface *surface, bool activated) {
	if (surface == NULL || !wlr_surface_is_xdg_surface(surface)) {
		return;
	}
	struct wlr_xdg_surface *xdg_surface = wlr_xdg_surface_from_wlr_surface(surface);
	if (xdg_surface != NULL && xdg_surface->role == WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
		wlr_xdg_toplevel_set_activated(xdg_surface, activated);
	}
}

static void focus_toplevel(struct comp_toplevel *toplevel) {
	struct comp_server *server = toplevel->server;
	struct wlr_seat *seat = server->seat;
	struct wlr_surface *surface = toplevel->xdg_surface->surface;
	struct wlr_surface *prev = seat->keyboard_state.focused_surface;
	if (prev == surface) {
		return;
	}
	set_activated(prev, false);

	wlr_scene_node_raise_to_top(toplevel->scene_node);
	wl_list_remove(&toplevel->link);
	wl_list_insert(&server->toplevels, &toplevel->link);
	wlr_xdg_toplevel_set_activated(toplevel->xdg_surface, true);

	struct wlr_keyboard *keyboard = wlr_seat_get_keyboard(seat);
	if (keyboard != NULL) {
		wlr_seat_keyboard_notify_enter(seat, surface, keyboard->keycodes,
			keyboard->num_keycodes, &keyboard->modifiers);
	} else {
		wlr_seat_keyboard_notify_enter(seat, surface, NULL, 0, NULL);
	}
}

void toplevel_focus_at(struct comp_server *server, struct wlr_scene_node *node,
		struct wlr_surface *surface) {
	/* Only toplevel scene nodes carry data: walk up to one. */
	while (node != NULL && node->data == NULL) {
		node = node->parent;
	}
	if (node != NULL) {
		focus_toplevel(node->data);
	}
}

static void handle_map(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, map);
	wl_list_insert(&toplevel->server->toplevels, &toplevel->link);
	focus_toplevel(toplevel);
}

static void handle_unmap(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, unmap);
	struct comp_server *server = toplevel->server;
	wl_list_remove(&toplevel->link);
	wl_list_init(&toplevel->link);

	if (server->seat->keyboard_state.focused_surface == toplevel->xdg_surface->surface) {
		wlr_seat_keyboard_notify_clear_focus(server->seat);
		if (!wl_list_empty(&server->toplevels)) {
			struct comp_toplevel *next =
				wl_container_of(server->toplevels.next, next, link);
			focus_toplevel(next);
		}
	}
}

static void handle_destroy(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, destroy);
	/* The scene node goes away with the xdg_surface. */
	wl_list_remove(&toplevel->map.link);
	wl_list_remove(&toplevel->unmap.link);
	wl_list_remove(&toplevel->destroy.link);
	wl_list_remove(&toplevel->link);
	free(toplevel);
}

static void handle_new_xdg_surface(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_surface *xdg_surface = data;

	if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_POPUP) {
		/* Popups hang off their parent's scene node (kept in ->data). */
		struct wlr_surface *parent_surface = xdg_surface->popup->parent;
		if (parent_surface == NULL || !wlr_surface_is_xdg_surface(parent_surface)) {
			return;
		}
		struct wlr_xdg_surface *parent = wlr_xdg_surface_from_wlr_surface(parent_surface);
		if (parent == NULL || parent->data == NULL) {
			return;
		}
		xdg_surface->data = wlr_scene_xdg_surface_create(parent->data, xdg_surface);
		return;
	}
	if (xdg_surface->role != WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
		return;
	}

	struct comp_toplevel *toplevel = calloc(1, sizeof(*toplevel));
	if (toplevel == NULL) {
		wlr_log(WLR_ERROR, "Allocation failed");
		return;
	}
	toplevel->server = server;
	toplevel->xdg_surface = xdg_surface;
	toplevel->scene_node =
		wlr_scene_xdg_surface_create(&server->toplevel_layer->node, xdg_surface);
	if (toplevel->scene_node == NULL) {
		free(toplevel);
		return;
	}
	toplevel->scene_node->data = toplevel;
	xdg_surface->data = toplevel->scene_node;
	wl_list_init(&toplevel->link);

	toplevel->map.notify = handle_map;
	wl_signal_add(&xdg_surface->events.map, &toplevel->map);
	toplevel->unmap.notify = handle_unmap;
	wl_signal_add(&xdg_surface->events.unmap, &toplevel->unmap);
	toplevel->destroy.notify = handle_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &toplevel->destroy);
}

void xdg_shell_init(struct comp_server *server) {
	server->xdg_shell = wlr_xdg_shell_create(server->display);
	server->new_xdg_surface.notify = handle_new_xdg_surface;
	wl_signal_add(&server->xdg_shell->events.new_surface, &server->new_xdg_surface);
}

void xdg_shell_finish(struct comp_server *server) {
	if (server->xdg_shell == NULL) {
		return;
	}
	wl_list_remove(&server->new_xdg_surface.link);
}
