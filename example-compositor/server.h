/*
 * zerocap-compositor: a small wlroots compositor that embeds zerocap.
 *
 * main.c       options, setup, shutdown, renderer recreation
 * capture.c    zerocap wiring: the capture manager, one source per output,
 *              the software cursor handed to zerocap (--capture=wlroots:
 *              wlroots' own capture globals instead)
 * output.c     outputs, output layout, background, frame handling
 * input.c      seat, pointer (wlr_cursor), keyboards, virtual pointers and keyboards
 * xdg_shell.c  xdg-shell toplevels and popups
 * policy.c     who may capture (--policy, --allow, --policy-file)
 * indicator.c  the red border on outputs that are being captured
 * control.c    --control: line commands on stdin for tests
 * demo.c       --demo: animated content
 * bench.c      --bench-stats: measurements for bench/run
 * compat.c     what differs between the wlroots versions (compat.h)
 */
#ifndef ZEROCAP_COMPOSITOR_SERVER_H
#define ZEROCAP_COMPOSITOR_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

struct wlr_allocator;
struct wlr_backend;
struct wlr_buffer;
struct wlr_compositor;
struct wlr_output;
struct wlr_renderer;
struct wlr_scene_node;
struct wlr_scene_output;
struct wlr_scene_output_layout;
struct wlr_scene_rect;
struct wlr_surface;
struct wlr_scene_tree;
struct zc_capture_manager;
struct zc_output_source;
struct zc_toplevel_source;
struct wlr_ext_foreign_toplevel_list_v1;
struct wlr_ext_foreign_toplevel_handle_v1;

#define COMP_MAX_OUTPUT_CONFIGS 16

/* Who serves the capture protocols. */
enum comp_capture {
	COMP_CAPTURE_ZEROCAP,
	COMP_CAPTURE_WLROOTS, /* wlroots' own globals: the baseline for benchmarks */
};

enum comp_screencopy {
	COMP_SCREENCOPY_NONE,
	COMP_SCREENCOPY_WLROOTS,
	COMP_SCREENCOPY_ZEROCAP,
};

/* Whose ext-foreign-toplevel-list-v1 runs. */
enum comp_toplevel_list {
	COMP_TOPLEVEL_LIST_WLROOTS, /* wlroots' own; zerocap gets its handles */
	COMP_TOPLEVEL_LIST_ZEROCAP,
};

enum comp_policy_mode {
	COMP_POLICY_ALLOW, /* every client captures (the default) */
	COMP_POLICY_DENY, /* the globals are there, every session is denied */
	COMP_POLICY_ASK, /* each session waits for allow/deny on the control channel */
	COMP_POLICY_LIST, /* only listed executables see the globals and capture */
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
	bool no_background; /* outputs without the background rect */
	bool demo;
	double demo_damage; /* percent of the output area */
	double demo_hz; /* the animation's rate; 0: about 30 */
	bool control;
	enum comp_capture capture;
	enum comp_screencopy screencopy;
	enum comp_toplevel_list toplevel_list;
	bool screencopy_given; /* --screencopy appeared */
	enum comp_policy_mode policy;
	bool policy_given; /* --policy appeared */
	const char **allow; /* --allow arguments */
	int allow_len;
	const char *policy_file;
	bool indicator; /* draw the capture indicator (default true) */
	bool debug;
	const char *bench_stats; /* --bench-stats FILE, or NULL */
};

struct comp_server {
	struct wl_display *display;
	struct wl_event_loop *event_loop;
	struct comp_options *options;

	struct wlr_backend *backend;
	struct wlr_backend *headless; /* the headless sub-backend, or NULL */
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wl_listener renderer_lost;
	struct wl_event_source *renderer_reset_idle; /* a reset after renderer_lost */
	struct wlr_compositor *compositor;

	struct wlr_scene *scene;
	struct wlr_scene_output_layout *scene_layout;
	struct wlr_scene_tree *background_layer;
	struct wlr_scene_tree *demo_layer;
	struct wlr_scene_tree *rect_layer; /* control rects */
	struct wlr_scene_tree *toplevel_layer;
	struct wlr_scene_tree *indicator_layer; /* capture indicators, above everything */

	struct wlr_output_layout *output_layout;
	struct wl_list outputs; /* comp_output.link, in creation order */
	int next_output_config; /* index into options->outputs */
	struct wl_listener new_output;
	struct wl_listener layout_change;

	struct wlr_xdg_shell *xdg_shell;
	struct wl_list toplevels; /* comp_toplevel.link, topmost first */
	int next_toplevel_id;
	/* wlroots' ext-foreign-toplevel-list, with --toplevel-list=wlroots */
	struct wlr_ext_foreign_toplevel_list_v1 *foreign_toplevel_list;
	struct wl_listener new_xdg_toplevel;
	struct wl_listener new_xdg_popup;

	struct wlr_seat *seat;
	struct wlr_cursor *cursor;
	bool cursor_visible;
	struct wl_list keyboards; /* comp_keyboard.link */
	struct wl_listener new_input;
	struct wl_listener new_virtual_keyboard;
	struct wl_listener new_virtual_pointer;
	struct wl_listener cursor_motion;
	struct wl_listener cursor_motion_absolute;
	struct wl_listener cursor_button;
	struct wl_listener cursor_axis;
	struct wl_listener cursor_frame;
	struct wl_listener request_set_selection;

	/* zerocap wiring (capture.c); capture_manager and policy are NULL with --capture=wlroots */
	struct zc_capture_manager *capture_manager;
	struct wlr_buffer *cursor_image;
	/*
	 * wlr_cursor shows the image on the outputs (a cursor plane, or drawn
	 * into the output buffers by wlroots). False with zerocap on headless:
	 * nobody draws the cursor but zerocap, into the captures that want it.
	 */
	bool cursor_on_outputs;
	bool cursor_shown; /* with cursor_on_outputs: wlr_cursor has the image */
	struct comp_policy *policy;

	struct comp_control *control; /* NULL without --control */
	struct comp_demo *demo;       /* NULL without --demo */
	struct comp_bench *bench;     /* NULL without --bench-stats */
};

/* A mapped xdg toplevel, its handle and its zerocap source. */
struct comp_toplevel {
	struct wl_list link; /* comp_server.toplevels while mapped */
	struct comp_server *server;
	int id; /* for the control channel */
	struct wlr_xdg_toplevel *xdg_toplevel;
	struct wlr_scene_tree *scene_tree;
	struct wlr_ext_foreign_toplevel_handle_v1 *handle; /* while mapped, wlroots' list */
	struct zc_toplevel_source *capture_source; /* while mapped, with zerocap */
	void *wlr_capture_source; /* --capture=wlroots (0.20): wlroots' scene-node source */

	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener commit;
	struct wl_listener destroy;
	struct wl_listener set_title;
	struct wl_listener set_app_id;
};

struct comp_output {
	struct wl_list link; /* comp_server.outputs */
	struct comp_server *server;
	struct wlr_output *wlr_output;
	struct wlr_scene_output *scene_output;
	struct wlr_scene_rect *background;
	struct wlr_scene_rect *demo_rect; /* NULL without --demo */
	struct zc_output_source *capture_source;
	bool control_frame_pending; /* a control reply waits for this output's frame */
	bool captured; /* zerocap says a capture of this output is active */
	struct wlr_scene_tree *indicator; /* NULL with --indicator=off */
	struct wlr_scene_rect *indicator_edges[4]; /* top, bottom, left, right */

	struct wl_listener frame;
	struct wl_listener request_state;
	struct wl_listener destroy;
};

/* main.c */
/*
 * Replaces the renderer and the allocator by new ones, as after a GPU reset:
 * outputs, surfaces and zerocap move to the new renderer before the old one
 * is destroyed. False (and nothing changed) when no new renderer could be made.
 */
bool server_reset_renderer(struct comp_server *server);

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
struct comp_toplevel *toplevel_find(struct comp_server *server, int id);
void toplevel_raise(struct comp_toplevel *toplevel);

/* capture.c: zerocap wiring */
bool capture_init(struct comp_server *server);
void capture_finish(struct comp_server *server);
void capture_output_added(struct comp_output *output);
/* After a move of the pointer or of outputs, and after cursor show/hide. */
void capture_cursor_changed(struct comp_server *server);
/* Hands zerocap the new renderer; the old one still exists. */
void capture_renderer_changed(struct comp_server *server);

/* policy.c: the capture policy (zerocap wiring) */
bool policy_init(struct comp_server *server);
void policy_finish(struct comp_server *server);
/* Answers the pending request id (ask mode); false when there is none. */
bool policy_answer(struct comp_server *server, uint32_t id, bool allow);
/*
 * Stops the sessions of every client of process pid (0: any client) on output
 * (NULL: any); false when pid is not 0 and no client has it.
 */
bool policy_revoke(struct comp_server *server, pid_t pid, struct wlr_output *output);

/* indicator.c */
void indicator_output_added(struct comp_output *output);
void indicator_output_destroyed(struct comp_output *output);
/* Places the border on the output's layout box. */
void indicator_output_moved(struct comp_output *output);
/* Shows or hides the border. */
void indicator_set(struct comp_output *output, bool captured);

/* control.c */
bool control_init(struct comp_server *server, const char *socket);
void control_finish(struct comp_server *server);
void control_output_frame_done(struct comp_output *output);
void control_output_destroyed(struct comp_output *output);
/* Writes "event ..." on the control channel (a no-op without --control). */
void control_event(struct comp_server *server, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* bench.c: --bench-stats, for bench/run */
bool bench_init(struct comp_server *server, const char *path);
void bench_finish(struct comp_server *server);
/* Around an output's frame handler: render, commit, what the commit runs. */
void bench_frame_begin(struct comp_output *output);
void bench_frame_end(struct comp_output *output);

/* demo.c */
bool demo_init(struct comp_server *server, double damage_percent, double hz);
void demo_finish(struct comp_server *server);

/* Colors are straight-alpha RGBA; wlr_scene wants premultiplied. */
void color_from_rgba(float out[static 4], uint32_t rgba);

#endif
