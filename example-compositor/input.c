#include <stdlib.h>
#include <wlr/backend.h>
#include <wlr/types/wlr_cursor.h>
#include <wlr/types/wlr_data_device.h>
#include <wlr/types/wlr_input_device.h>
#include <wlr/types/wlr_keyboard.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_pointer.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_virtual_keyboard_v1.h>
#include <wlr/types/wlr_virtual_pointer_v1.h>
#include <wlr/util/log.h>
#include <xkbcommon/xkbcommon.h>
#include "server.h"

struct comp_keyboard {
	struct wl_list link; /* comp_server.keyboards */
	struct comp_server *server;
	struct wlr_keyboard *keyboard;

	struct wl_listener modifiers;
	struct wl_listener key;
	struct wl_listener destroy;
};

static void handle_keyboard_modifiers(struct wl_listener *listener, void *data) {
	struct comp_keyboard *keyboard = wl_container_of(listener, keyboard, modifiers);
	struct wlr_seat *seat = keyboard->server->seat;
	wlr_seat_set_keyboard(seat, keyboard->keyboard);
	wlr_seat_keyboard_notify_modifiers(seat, &keyboard->keyboard->modifiers);
}

static void handle_keyboard_key(struct wl_listener *listener, void *data) {
	struct comp_keyboard *keyboard = wl_container_of(listener, keyboard, key);
	struct wlr_keyboard_key_event *event = data;
	struct wlr_seat *seat = keyboard->server->seat;
	wlr_seat_set_keyboard(seat, keyboard->keyboard);
	wlr_seat_keyboard_notify_key(seat, event->time_msec, event->keycode, event->state);
}

static void handle_keyboard_destroy(struct wl_listener *listener, void *data) {
	struct comp_keyboard *keyboard = wl_container_of(listener, keyboard, destroy);
	wl_list_remove(&keyboard->modifiers.link);
	wl_list_remove(&keyboard->key.link);
	wl_list_remove(&keyboard->destroy.link);
	wl_list_remove(&keyboard->link);
	free(keyboard);
}

/* Virtual keyboards bring their own keymap: default_keymap false. */
static void add_keyboard(struct comp_server *server, struct wlr_input_device *device,
		bool default_keymap) {
	struct comp_keyboard *keyboard = calloc(1, sizeof(*keyboard));
	if (keyboard == NULL) {
		wlr_log(WLR_ERROR, "Allocation failed");
		return;
	}
	keyboard->server = server;
	keyboard->keyboard = wlr_keyboard_from_input_device(device);

	if (default_keymap) {
		struct xkb_context *context = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
		struct xkb_keymap *keymap =
			xkb_keymap_new_from_names(context, NULL, XKB_KEYMAP_COMPILE_NO_FLAGS);
		wlr_keyboard_set_keymap(keyboard->keyboard, keymap);
		xkb_keymap_unref(keymap);
		xkb_context_unref(context);
		wlr_keyboard_set_repeat_info(keyboard->keyboard, 25, 600);
	}

	keyboard->modifiers.notify = handle_keyboard_modifiers;
	wl_signal_add(&keyboard->keyboard->events.modifiers, &keyboard->modifiers);
	keyboard->key.notify = handle_keyboard_key;
	wl_signal_add(&keyboard->keyboard->events.key, &keyboard->key);
	keyboard->destroy.notify = handle_keyboard_destroy;
	wl_signal_add(&device->events.destroy, &keyboard->destroy);

	wlr_seat_set_keyboard(server->seat, keyboard->keyboard);
	wl_list_insert(&server->keyboards, &keyboard->link);
}

static void update_capabilities(struct comp_server *server) {
	uint32_t caps = WL_SEAT_CAPABILITY_POINTER;
	if (!wl_list_empty(&server->keyboards)) {
		caps |= WL_SEAT_CAPABILITY_KEYBOARD;
	}
	wlr_seat_set_capabilities(server->seat, caps);
}

static void handle_new_input(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_input);
	struct wlr_input_device *device = data;
	switch (device->type) {
	case WLR_INPUT_DEVICE_KEYBOARD:
		add_keyboard(server, device, true);
		break;
	case WLR_INPUT_DEVICE_POINTER:
		wlr_cursor_attach_input_device(server->cursor, device);
		break;
	default:
		break;
	}
	update_capabilities(server);
}

/* zwp_virtual_keyboard_v1 and zwlr_virtual_pointer_v1 (wayvnc's input): devices like others. */
static void handle_new_virtual_keyboard(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_virtual_keyboard);
	struct wlr_virtual_keyboard_v1 *keyboard = data;
	add_keyboard(server, &keyboard->keyboard.base, false);
	update_capabilities(server);
}

static void handle_new_virtual_pointer(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_virtual_pointer);
	const struct wlr_virtual_pointer_v1_new_pointer_event *event = data;
	struct wlr_input_device *device = &event->new_pointer->pointer.base;
	wlr_cursor_attach_input_device(server->cursor, device);
	if (event->suggested_output != NULL) {
		wlr_cursor_map_input_to_output(server->cursor, device, event->suggested_output);
	}
}

static struct wlr_surface *surface_at(struct comp_server *server, double lx, double ly,
		struct wlr_scene_node **node_out, double *sx, double *sy) {
	struct wlr_scene_node *node = wlr_scene_node_at(&server->scene->tree.node, lx, ly, sx, sy);
	*node_out = node;
	if (node == NULL || node->type != WLR_SCENE_NODE_BUFFER) {
		return NULL;
	}
	struct wlr_scene_surface *scene_surface =
		wlr_scene_surface_try_from_buffer(wlr_scene_buffer_from_node(node));
	return scene_surface != NULL ? scene_surface->surface : NULL;
}

void input_pointer_moved(struct comp_server *server, uint32_t time_msec) {
	struct wlr_scene_node *node;
	double sx, sy;
	struct wlr_surface *surface =
		surface_at(server, server->cursor->x, server->cursor->y, &node, &sx, &sy);
	if (surface != NULL) {
		wlr_seat_pointer_notify_enter(server->seat, surface, sx, sy);
		wlr_seat_pointer_notify_motion(server->seat, time_msec, sx, sy);
	} else {
		wlr_seat_pointer_clear_focus(server->seat);
	}
	capture_cursor_changed(server);
}

static void handle_cursor_motion(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, cursor_motion);
	struct wlr_pointer_motion_event *event = data;
	wlr_cursor_move(server->cursor, &event->pointer->base, event->delta_x, event->delta_y);
	input_pointer_moved(server, event->time_msec);
}

static void handle_cursor_motion_absolute(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, cursor_motion_absolute);
	struct wlr_pointer_motion_absolute_event *event = data;
	wlr_cursor_warp_absolute(server->cursor, &event->pointer->base, event->x, event->y);
	input_pointer_moved(server, event->time_msec);
}

static void handle_cursor_button(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, cursor_button);
	struct wlr_pointer_button_event *event = data;
	wlr_seat_pointer_notify_button(server->seat, event->time_msec, event->button,
		event->state);
	if (event->state == WL_POINTER_BUTTON_STATE_PRESSED) {
		struct wlr_scene_node *node;
		double sx, sy;
		struct wlr_surface *surface =
			surface_at(server, server->cursor->x, server->cursor->y, &node, &sx, &sy);
		toplevel_focus_at(server, node, surface);
	}
}

static void handle_cursor_axis(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, cursor_axis);
	struct wlr_pointer_axis_event *event = data;
	wlr_seat_pointer_notify_axis(server->seat, event->time_msec, event->orientation,
		event->delta, event->delta_discrete, event->source, event->relative_direction);
}

static void handle_cursor_frame(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, cursor_frame);
	wlr_seat_pointer_notify_frame(server->seat);
}

static void handle_request_set_selection(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, request_set_selection);
	struct wlr_seat_request_set_selection_event *event = data;
	wlr_seat_set_selection(server->seat, event->source, event->serial);
}

/*
 * Client cursor surfaces (wl_pointer.set_cursor) are ignored: the compositor
 * always shows its built-in arrow (see capture.c).
 */
void input_init(struct comp_server *server) {
	server->cursor_visible = true;

	server->cursor = wlr_cursor_create();
	wlr_cursor_attach_output_layout(server->cursor, server->output_layout);
	server->cursor_motion.notify = handle_cursor_motion;
	wl_signal_add(&server->cursor->events.motion, &server->cursor_motion);
	server->cursor_motion_absolute.notify = handle_cursor_motion_absolute;
	wl_signal_add(&server->cursor->events.motion_absolute, &server->cursor_motion_absolute);
	server->cursor_button.notify = handle_cursor_button;
	wl_signal_add(&server->cursor->events.button, &server->cursor_button);
	server->cursor_axis.notify = handle_cursor_axis;
	wl_signal_add(&server->cursor->events.axis, &server->cursor_axis);
	server->cursor_frame.notify = handle_cursor_frame;
	wl_signal_add(&server->cursor->events.frame, &server->cursor_frame);

	server->seat = wlr_seat_create(server->display, "seat0");
	/* The control channel moves the pointer even without a pointer device. */
	wlr_seat_set_capabilities(server->seat, WL_SEAT_CAPABILITY_POINTER);
	server->request_set_selection.notify = handle_request_set_selection;
	wl_signal_add(&server->seat->events.request_set_selection,
		&server->request_set_selection);

	server->new_input.notify = handle_new_input;
	wl_signal_add(&server->backend->events.new_input, &server->new_input);

	struct wlr_virtual_keyboard_manager_v1 *virtual_keyboards =
		wlr_virtual_keyboard_manager_v1_create(server->display);
	server->new_virtual_keyboard.notify = handle_new_virtual_keyboard;
	wl_signal_add(&virtual_keyboards->events.new_virtual_keyboard,
		&server->new_virtual_keyboard);
	struct wlr_virtual_pointer_manager_v1 *virtual_pointers =
		wlr_virtual_pointer_manager_v1_create(server->display);
	server->new_virtual_pointer.notify = handle_new_virtual_pointer;
	wl_signal_add(&virtual_pointers->events.new_virtual_pointer,
		&server->new_virtual_pointer);
}

void input_finish(struct comp_server *server) {
	if (server->cursor == NULL) {
		return;
	}
	wl_list_remove(&server->new_input.link);
	wl_list_remove(&server->new_virtual_keyboard.link);
	wl_list_remove(&server->new_virtual_pointer.link);
	wl_list_remove(&server->request_set_selection.link);
	wl_list_remove(&server->cursor_motion.link);
	wl_list_remove(&server->cursor_motion_absolute.link);
	wl_list_remove(&server->cursor_button.link);
	wl_list_remove(&server->cursor_axis.link);
	wl_list_remove(&server->cursor_frame.link);
	wlr_cursor_destroy(server->cursor);
	server->cursor = NULL;
}
