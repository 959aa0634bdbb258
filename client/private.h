#ifndef ZCL_PRIVATE_H
#define ZCL_PRIVATE_H

#include <wayland-client.h>
#include "zerocap-client.h"

struct zcl_target {
	struct zcl_client *client;
	enum zcl_target_type type;
	struct wl_list link; /* zcl_client.targets */
	char *name, *title, *app_id;
	int32_t width, height;
	bool announced; /* target_added was called */
	/* Outputs */
	struct wl_output *output;
	uint32_t global_name;
	/* Windows */
	struct ext_foreign_toplevel_handle_v1 *handle;
	char *pending_name, *pending_title, *pending_app_id;
	bool closed;
};

struct zcl_client {
	struct wl_display *display;
	struct wl_registry *registry;
	const struct zcl_client_listener *listener;
	void *data;
	struct wl_shm *shm;
	struct zwp_linux_dmabuf_v1 *dmabuf;
	struct ext_output_image_capture_source_manager_v1 *output_sources;
	struct ext_foreign_toplevel_image_capture_source_manager_v1 *toplevel_sources;
	struct ext_image_copy_capture_manager_v1 *copy;
	struct ext_foreign_toplevel_list_v1 *toplevels;
	struct zerocap_capture_options_manager_v1 *options;
	struct wl_seat *seat; /* the first one */
	struct wl_pointer *pointer; /* while the seat has one */
	struct wl_list targets; /* zcl_target.link */
	struct wl_list captures; /* zcl_capture.link */
	struct wl_callback *sync;
	int sync_rounds;
	bool ready, dead;
	char error[256];
};

/* A plain source for target (no options); NULL if the compositor has none. */
struct ext_image_capture_source_v1 *zcl_make_source(struct zcl_client *client,
	struct zcl_target *target);
/*
 * A capture on a session made elsewhere (a cursor session's), which it
 * takes over; options as for zcl_capture_create, without options of
 * zerocap-capture-options-v1.
 */
struct zcl_capture *zcl_capture_create_on_session(struct zcl_client *client,
	struct zcl_target *target, struct ext_image_copy_capture_session_v1 *session,
	const struct zcl_capture_options *options, const struct zcl_capture_listener *listener,
	void *data);

void zcl_set_error(struct zcl_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The connection died: every capture stops. */
void zcl_captures_lost(struct zcl_client *client);
/* A target went away: captures of it stop. */
void zcl_captures_target_gone(struct zcl_client *client, struct zcl_target *target);

#endif
