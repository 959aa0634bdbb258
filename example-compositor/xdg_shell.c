#include <stdlib.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_ext_foreign_toplevel_list_v1.h>
#include <wlr/types/wlr_keyboard.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_viewporter.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>
#include <zerocap/zerocap.h>
#include "server.h"

struct comp_popup {
	struct wlr_xdg_popup *xdg_popup;

	struct wl_listener commit;
	struct wl_listener destroy;
};

static void set_activated(struct wlr_surface *surface, bool activated) {
	if (surface == NULL) {
		return;
	}
	struct wlr_xdg_toplevel *xdg_toplevel = wlr_xdg_toplevel_try_from_wlr_surface(surface);
	if (xdg_toplevel != NULL) {
		wlr_xdg_toplevel_set_activated(xdg_toplevel, activated);
	}
}

static void focus_toplevel(struct comp_toplevel *toplevel) {
	struct comp_server *server = toplevel->server;
	struct wlr_seat *seat = server->seat;
	struct wlr_surface *surface = toplevel->xdg_toplevel->base->surface;
	struct wlr_surface *prev = seat->keyboard_state.focused_surface;
	if (prev == surface) {
		return;
	}
	set_activated(prev, false);

	wlr_scene_node_raise_to_top(&toplevel->scene_tree->node);
	wl_list_remove(&toplevel->link);
	wl_list_insert(&server->toplevels, &toplevel->link);
	wlr_xdg_toplevel_set_activated(toplevel->xdg_toplevel, true);

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
	/* Only toplevel scene trees carry data: walk up to one. */
	while (node != NULL && node->data == NULL) {
		node = node->parent != NULL ? &node->parent->node : NULL;
	}
	if (node != NULL) {
		focus_toplevel(node->data);
	}
}

struct comp_toplevel *toplevel_find(struct comp_server *server, int id) {
	struct comp_toplevel *toplevel;
	wl_list_for_each(toplevel, &server->toplevels, link) {
		if (toplevel->id == id) {
			return toplevel;
		}
	}
	return NULL;
}

void toplevel_raise(struct comp_toplevel *toplevel) {
	focus_toplevel(toplevel);
	wlr_scene_node_raise_to_top(&toplevel->scene_tree->node);
}

/* The window for wlroots' list and zerocap: a handle, then a capture source. */
static void toplevel_publish(struct comp_toplevel *toplevel) {
	struct comp_server *server = toplevel->server;
	struct wlr_xdg_toplevel *xdg = toplevel->xdg_toplevel;
	if (server->foreign_toplevel_list != NULL) {
		const struct wlr_ext_foreign_toplevel_handle_v1_state state = {
			.title = xdg->title,
			.app_id = xdg->app_id,
		};
		toplevel->handle = wlr_ext_foreign_toplevel_handle_v1_create(
			server->foreign_toplevel_list, &state);
		if (toplevel->handle != NULL) {
			toplevel->handle->data = toplevel;
		}
	}
	if (server->capture_manager != NULL) {
		const struct zc_toplevel_source_options options = {
			.tree = toplevel->scene_tree,
			.surface = xdg->base->surface,
			.handle = toplevel->handle,
			/* With wlroots' handle, zerocap reads title and app_id from it. */
			.title = toplevel->handle == NULL ? xdg->title : NULL,
			.app_id = toplevel->handle == NULL ? xdg->app_id : NULL,
		};
		toplevel->capture_source = zc_toplevel_source_create(server->capture_manager,
			&options);
		if (toplevel->capture_source == NULL) {
			wlr_log(WLR_ERROR, "Window %d is not capturable", toplevel->id);
		}
	}
}

static void toplevel_unpublish(struct comp_toplevel *toplevel) {
	zc_toplevel_source_destroy(toplevel->capture_source);
	toplevel->capture_source = NULL;
	if (toplevel->handle != NULL) {
		wlr_ext_foreign_toplevel_handle_v1_destroy(toplevel->handle);
		toplevel->handle = NULL;
	}
}

static void toplevel_update_state(struct comp_toplevel *toplevel) {
	struct wlr_xdg_toplevel *xdg = toplevel->xdg_toplevel;
	if (toplevel->handle != NULL) {
		const struct wlr_ext_foreign_toplevel_handle_v1_state state = {
			.title = xdg->title,
			.app_id = xdg->app_id,
		};
		wlr_ext_foreign_toplevel_handle_v1_update_state(toplevel->handle, &state);
	} else if (toplevel->capture_source != NULL) {
		zc_toplevel_source_set_title(toplevel->capture_source, xdg->title);
		zc_toplevel_source_set_app_id(toplevel->capture_source, xdg->app_id);
	}
}

static void handle_set_title(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, set_title);
	toplevel_update_state(toplevel);
}

static void handle_set_app_id(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, set_app_id);
	toplevel_update_state(toplevel);
}

static void handle_toplevel_map(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, map);
	wl_list_insert(&toplevel->server->toplevels, &toplevel->link);
	toplevel->id = ++toplevel->server->next_toplevel_id;
	focus_toplevel(toplevel);
	toplevel_publish(toplevel);
}

static void handle_toplevel_unmap(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, unmap);
	struct comp_server *server = toplevel->server;
	toplevel_unpublish(toplevel);
	wl_list_remove(&toplevel->link);
	wl_list_init(&toplevel->link);

	if (server->seat->keyboard_state.focused_surface == toplevel->xdg_toplevel->base->surface) {
		wlr_seat_keyboard_notify_clear_focus(server->seat);
		if (!wl_list_empty(&server->toplevels)) {
			struct comp_toplevel *next =
				wl_container_of(server->toplevels.next, next, link);
			focus_toplevel(next);
		}
	}
}

static void handle_toplevel_commit(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, commit);
	if (toplevel->xdg_toplevel->base->initial_commit) {
		/* The first configure: the client picks its size. */
		wlr_xdg_toplevel_set_size(toplevel->xdg_toplevel, 0, 0);
	}
}

static void handle_toplevel_destroy(struct wl_listener *listener, void *data) {
	struct comp_toplevel *toplevel = wl_container_of(listener, toplevel, destroy);
	/* The scene tree goes away with the xdg_surface. */
	wl_list_remove(&toplevel->map.link);
	wl_list_remove(&toplevel->unmap.link);
	wl_list_remove(&toplevel->commit.link);
	wl_list_remove(&toplevel->destroy.link);
	wl_list_remove(&toplevel->set_title.link);
	wl_list_remove(&toplevel->set_app_id.link);
	wl_list_remove(&toplevel->link);
	toplevel_unpublish(toplevel);
	free(toplevel);
}

static void handle_new_xdg_toplevel(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_xdg_toplevel);
	struct wlr_xdg_toplevel *xdg_toplevel = data;

	struct comp_toplevel *toplevel = calloc(1, sizeof(*toplevel));
	if (toplevel == NULL) {
		wlr_log(WLR_ERROR, "Allocation failed");
		return;
	}
	toplevel->server = server;
	toplevel->xdg_toplevel = xdg_toplevel;
	toplevel->scene_tree =
		wlr_scene_xdg_surface_create(server->toplevel_layer, xdg_toplevel->base);
	if (toplevel->scene_tree == NULL) {
		free(toplevel);
		return;
	}
	toplevel->scene_tree->node.data = toplevel;
	/* Popups hang off the scene tree of their parent (kept in ->data). */
	xdg_toplevel->base->data = toplevel->scene_tree;
	wl_list_init(&toplevel->link);

	struct wlr_surface *surface = xdg_toplevel->base->surface;
	toplevel->map.notify = handle_toplevel_map;
	wl_signal_add(&surface->events.map, &toplevel->map);
	toplevel->unmap.notify = handle_toplevel_unmap;
	wl_signal_add(&surface->events.unmap, &toplevel->unmap);
	toplevel->commit.notify = handle_toplevel_commit;
	wl_signal_add(&surface->events.commit, &toplevel->commit);
	toplevel->destroy.notify = handle_toplevel_destroy;
	wl_signal_add(&xdg_toplevel->events.destroy, &toplevel->destroy);
	toplevel->set_title.notify = handle_set_title;
	wl_signal_add(&xdg_toplevel->events.set_title, &toplevel->set_title);
	toplevel->set_app_id.notify = handle_set_app_id;
	wl_signal_add(&xdg_toplevel->events.set_app_id, &toplevel->set_app_id);
}

static void handle_popup_commit(struct wl_listener *listener, void *data) {
	struct comp_popup *popup = wl_container_of(listener, popup, commit);
	if (popup->xdg_popup->base->initial_commit) {
		/* Placed where the client asked, even partly off the output. */
		wlr_xdg_surface_schedule_configure(popup->xdg_popup->base);
	}
}

static void handle_popup_destroy(struct wl_listener *listener, void *data) {
	struct comp_popup *popup = wl_container_of(listener, popup, destroy);
	wl_list_remove(&popup->commit.link);
	wl_list_remove(&popup->destroy.link);
	free(popup);
}

static void handle_new_xdg_popup(struct wl_listener *listener, void *data) {
	struct wlr_xdg_popup *xdg_popup = data;
	/* Popups of parents that are not xdg surfaces (layer shell...) do not exist here. */
	struct wlr_xdg_surface *parent = xdg_popup->parent != NULL ?
		wlr_xdg_surface_try_from_wlr_surface(xdg_popup->parent) : NULL;
	if (parent == NULL || parent->data == NULL) {
		return;
	}
	struct comp_popup *popup = calloc(1, sizeof(*popup));
	if (popup == NULL) {
		wlr_log(WLR_ERROR, "Allocation failed");
		return;
	}
	popup->xdg_popup = xdg_popup;
	xdg_popup->base->data = wlr_scene_xdg_surface_create(parent->data, xdg_popup->base);

	popup->commit.notify = handle_popup_commit;
	wl_signal_add(&xdg_popup->base->surface->events.commit, &popup->commit);
	popup->destroy.notify = handle_popup_destroy;
	wl_signal_add(&xdg_popup->events.destroy, &popup->destroy);
}

void xdg_shell_init(struct comp_server *server) {
	server->xdg_shell = wlr_xdg_shell_create(server->display, 3);
	wlr_viewporter_create(server->display);
	if (server->options->toplevel_list == COMP_TOPLEVEL_LIST_WLROOTS ||
			server->options->capture == COMP_CAPTURE_WLROOTS) {
		server->foreign_toplevel_list =
			wlr_ext_foreign_toplevel_list_v1_create(server->display, 1);
	}
	server->new_xdg_toplevel.notify = handle_new_xdg_toplevel;
	wl_signal_add(&server->xdg_shell->events.new_toplevel, &server->new_xdg_toplevel);
	server->new_xdg_popup.notify = handle_new_xdg_popup;
	wl_signal_add(&server->xdg_shell->events.new_popup, &server->new_xdg_popup);
}

void xdg_shell_finish(struct comp_server *server) {
	if (server->xdg_shell == NULL) {
		return;
	}
	wl_list_remove(&server->new_xdg_toplevel.link);
	wl_list_remove(&server->new_xdg_popup.link);
}
