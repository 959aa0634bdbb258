/*
 * zerocap-compositor: a small wlroots compositor that embeds zerocap.
 *
 * main.c       options, setup, shutdown
 * capture.c    zerocap wiring: the capture manager, one source per output,
 *              the software cursor handed to zerocap
 * output.c     outputs, output layout, background, frame handling
 * input.c      seat, pointer (wlr_cursor), keyboards
 * xdg_shell.c  xdg-shell toplevels and popups
 * control.c    --control: line commands on stdin for tests
 * demo.c       --demo: animated content
 */
#ifndef ZEROCAP_COMPOSITOR_SERVER_H
#define ZEROCAP_COMPOSITOR_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

struct wlr_backend;
struct wlr_buffer;
struct wlr_output;
struct wlr_scene_node;
struct wlr_scene_rect;
struct wlr_surface;
struct zc_capture_manager;
struct zc_output_source;

#define COMP_MAX_OUTPUT_CONFIGS 16

enum comp_screencopy {
	COMP_SCREENCOPY_NONE,
	COMP_SCREENCOPY_WLROOTS,
	COMP_SCREENCOPY_ZEROCAP,
};

/* One --output WxH[@SCALE][:TRANSFORM] argument. */
struct comp_output_config {
	int width, height;
	float scale;
	int transform; /* enum wl_output_transform */
};

struct comp_options {
	const char *startup_cmd;
	const char *socket;
	struct comp_output_config outputs[COMP_MAX_OUTPUT_CONFIGS];
	int outputs_len;
	bool raw_transform;
	bool demo;
	double demo_damage; /* percent of the output area */
	bool control;
	enum comp_screencopy screencopy;
	bool debug;
};

struct comp_server {
	struct wl_display *display;
	struct wl_event_loop *event_loop;
	struct comp_options *options;

	struct wlr_backend *backend;
	struct wlr_backend *headless; /* the headless sub-backend, or NULL */
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;

	struct wlr_scene *scene;
	struct wlr_scene_tree *background_layer;
	struct wlr_scene_tree *demo_layer;
	struct wlr_scene_tree *rect_layer; /* control rects */
	struct wlr_scene_tree *toplevel_layer;

	struct wlr_output_layout *output_layout;
	struct wl_list outputs; /* comp_output.link, in creation order */
	int next_output_config; /* index into options->outputs */
	struct wl_listener new_output;
	struct wl_listener layout_change;

	struct wlr_xdg_shell *xdg_shell;
	struct wl_list toplevels; /* comp_toplevel.link, topmost first */
	struct wl_listener new_xdg_surface;

	struct wlr_seat *seat;
	struct wlr_cursor *cursor;
	bool cursor_visible;
	struct wl_list keyboards; /* comp_keyboard.link */
	struct wl_listener new_input;
	struct wl_listener cursor_motion;
	struct wl_listener cursor_motion_absolute;
	struct wl_listener cursor_button;
	struct wl_listener cursor_axis;
	struct wl_listener cursor_frame;
	struct wl_listener request_set_selection;

	/* zerocap wiring (capture.c) */
	struct zc_capture_manager *capture_manager;
	struct wlr_buffer *cursor_image;
	bool hardware_cursor; /* false on headless: nobody draws the cursor but zerocap */

	struct comp_control *control; /* NULL without --control */
	struct comp_demo *demo;       /* NULL without --demo */
};

struct comp_output {
	struct wl_list link; /* comp_server.outputs */
	struct comp_server *server;
	struct wlr_output *wlr_output;
	struct wlr_scene_rect *background;
	struct wlr_scene_rect *demo_rect; /* NULL without --demo */
	struct zc_output_source *capture_source;
	bool control_frame_pending; /* a control reply waits for this output's frame */

	struct wl_listener frame;
	struct wl_listener destroy;
};

/* output.c */
void output_init(struct comp_server *server);
void output_finish(struct comp_server *server);
struct comp_output *output_find(struct comp_server *server, const char *name);
const char *output_transform_name(int transform);
bool output_transform_parse(const char *name, int *transform);

/* input.c */
void input_init(struct comp_server *server);
void input_finish(struct comp_server *server);
/* Updates pointer focus and zerocap after the cursor moved. */
void input_pointer_moved(struct comp_server *server, uint32_t time_msec);

/* xdg_shell.c */
void xdg_shell_init(struct comp_server *server);
void xdg_shell_finish(struct comp_server *server);
void toplevel_focus_at(struct comp_server *server, struct wlr_scene_node *node,
	struct wlr_surface *surface);

/* capture.c: zerocap wiring */
bool capture_init(struct comp_server *server);
void capture_finish(struct comp_server *server);
void capture_output_added(struct comp_output *output);
void capture_cursor_changed(struct comp_server *server);

/* control.c */
bool control_init(struct comp_server *server, const char *socket);
void control_finish(struct comp_server *server);
void control_output_frame_done(struct comp_output *output);
void control_output_destroyed(struct comp_output *output);

/* demo.c */
bool demo_init(struct comp_server *server, double damage_percent);
void demo_finish(struct comp_server *server);

/* Colors are straight-alpha RGBA; wlr_scene wants premultiplied. */
void color_from_rgba(float out[static 4], uint32_t rgba);

#endif
