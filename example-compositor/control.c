/*
 * --control: one command per line on stdin, one reply line per command on
 * stdout. Commands run one at a time, in order. A reply that reports a change
 * ("ok ...") is written only after every enabled output has run its frame
 * handler (wlr_scene_output_commit) once after the command, so whoever drives
 * the compositor can capture right after reading it. "error ..." replies are
 * written at once. See README.md for the command list.
 *
 * Events (capture requests in ask mode, the indicator) come on stdout too, at
 * any time, as whole lines starting with "event "; readers of replies skip
 * them.
 */
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wlr/backend/headless.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_cursor.h>
#include <wlr/types/wlr_ext_foreign_toplevel_list_v1.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/log.h>
#include <zerocap/testing.h>
#include <zerocap/zerocap.h>
#include "server.h"

#define CONTROL_READ_SIZE 4096
#define CONTROL_MAX_LINE 4096
#define CONTROL_MAX_ARGS 8
#define CONTROL_REPLY_SIZE 4096

struct comp_rect {
	struct wl_list link; /* comp_control.rects */
	char *name;
	struct wlr_scene_rect *rect;
};

struct comp_control {
	struct comp_server *server;
	struct wl_event_source *stdin_source;
	struct wl_event_source *idle;
	char *input;
	size_t input_len, input_cap;
	bool eof;
	bool quitting;
	bool awaiting_frames;
	char reply[CONTROL_REPLY_SIZE];
	struct wl_list rects; /* comp_rect.link */
};

static void reply_write(const char *line) {
	fprintf(stdout, "%s\n", line);
	fflush(stdout);
}

void control_event(struct comp_server *server, const char *fmt, ...) {
	if (server->control == NULL) {
		return;
	}
	char message[CONTROL_REPLY_SIZE];
	va_list args;
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	char line[CONTROL_REPLY_SIZE + 8];
	snprintf(line, sizeof(line), "event %s", message);
	reply_write(line);
}

static void reply_error(const char *fmt, ...) {
	char message[CONTROL_REPLY_SIZE];
	va_list args;
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	char line[CONTROL_REPLY_SIZE + 8];
	snprintf(line, sizeof(line), "error %s", message);
	reply_write(line);
}

static bool outputs_pending(struct comp_server *server) {
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		if (output->control_frame_pending) {
			return true;
		}
	}
	return false;
}

static void schedule_processing(struct comp_control *control);

static void finish_reply_if_done(struct comp_control *control) {
	if (!control->awaiting_frames || outputs_pending(control->server)) {
		return;
	}
	control->awaiting_frames = false;
	reply_write(control->reply);
	schedule_processing(control);
}

/* Writes the reply once every enabled output has shown the command's effect. */
static void reply_after_frames(struct comp_control *control, const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	vsnprintf(control->reply, sizeof(control->reply), fmt, args);
	va_end(args);

	control->awaiting_frames = true;
	struct comp_output *output;
	wl_list_for_each(output, &control->server->outputs, link) {
		if (output->wlr_output->enabled) {
			output->control_frame_pending = true;
			wlr_output_schedule_frame(output->wlr_output);
		}
	}
	finish_reply_if_done(control);
}

void control_output_frame_done(struct comp_output *output) {
	struct comp_control *control = output->server->control;
	if (control == NULL || !output->control_frame_pending) {
		return;
	}
	output->control_frame_pending = false;
	finish_reply_if_done(control);
}

void control_output_destroyed(struct comp_output *output) {
	struct comp_control *control = output->server->control;
	if (control != NULL) {
		finish_reply_if_done(control);
	}
}

static bool parse_int(const char *str, int *out) {
	char *end;
	errno = 0;
	long value = strtol(str, &end, 10);
	if (errno != 0 || end == str || *end != '\0' || value < -1000000 || value > 1000000) {
		return false;
	}
	*out = (int)value;
	return true;
}

static bool parse_double(const char *str, double *out) {
	char *end;
	errno = 0;
	double value = strtod(str, &end);
	if (errno != 0 || end == str || *end != '\0' || !isfinite(value)) {
		return false;
	}
	*out = value;
	return true;
}

static bool parse_color(const char *str, uint32_t *out) {
	if (strlen(str) != 8 || strspn(str, "0123456789abcdefABCDEF") != 8) {
		return false;
	}
	*out = (uint32_t)strtoul(str, NULL, 16);
	return true;
}

static uint32_t now_msec(void) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint32_t)(now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

static struct comp_rect *rect_find(struct comp_control *control, const char *name) {
	struct comp_rect *rect;
	wl_list_for_each(rect, &control->rects, link) {
		if (strcmp(rect->name, name) == 0) {
			return rect;
		}
	}
	return NULL;
}

static void rect_destroy(struct comp_rect *rect) {
	wl_list_remove(&rect->link);
	wlr_scene_node_destroy(&rect->rect->node);
	free(rect->name);
	free(rect);
}

static void command_rect(struct comp_control *control, int argc, char *argv[]) {
	int x, y, width, height;
	uint32_t rgba;
	if (argc != 7 || !parse_int(argv[2], &x) || !parse_int(argv[3], &y) ||
			!parse_int(argv[4], &width) || !parse_int(argv[5], &height) ||
			width < 0 || height < 0 || !parse_color(argv[6], &rgba)) {
		reply_error("usage: rect NAME X Y W H RRGGBBAA");
		return;
	}
	float color[4];
	color_from_rgba(color, rgba);

	struct comp_rect *rect = rect_find(control, argv[1]);
	if (rect == NULL) {
		rect = calloc(1, sizeof(*rect));
		if (rect == NULL || (rect->name = strdup(argv[1])) == NULL) {
			free(rect);
			reply_error("out of memory");
			return;
		}
		/* Empty until placed, so creation damages only where it lands. */
		rect->rect = wlr_scene_rect_create(control->server->rect_layer, 0, 0, color);
		wl_list_insert(control->rects.prev, &rect->link);
	}
	wlr_scene_node_set_position(&rect->rect->node, x, y);
	wlr_scene_rect_set_size(rect->rect, width, height);
	wlr_scene_rect_set_color(rect->rect, color);
	reply_after_frames(control, "ok");
}

static void command_remove(struct comp_control *control, int argc, char *argv[]) {
	if (argc != 2) {
		reply_error("usage: remove NAME");
		return;
	}
	struct comp_rect *rect = rect_find(control, argv[1]);
	if (rect == NULL) {
		reply_error("no rect named %s", argv[1]);
		return;
	}
	rect_destroy(rect);
	reply_after_frames(control, "ok");
}

static void command_cursor(struct comp_control *control, int argc, char *argv[]) {
	struct comp_server *server = control->server;
	if (argc == 2 && strcmp(argv[1], "hide") == 0) {
		server->cursor_visible = false;
		capture_cursor_changed(server);
		reply_after_frames(control, "ok");
		return;
	}
	if (argc == 2 && strcmp(argv[1], "show") == 0) {
		server->cursor_visible = true;
		capture_cursor_changed(server);
		reply_after_frames(control, "ok");
		return;
	}
	double x, y;
	if (argc != 3 || !parse_double(argv[1], &x) || !parse_double(argv[2], &y)) {
		reply_error("usage: cursor X Y | cursor hide | cursor show");
		return;
	}
	if (!wlr_cursor_warp(server->cursor, NULL, x, y)) {
		reply_error("%g,%g is outside the output layout", x, y);
		return;
	}
	input_pointer_moved(server, now_msec());
	reply_after_frames(control, "ok");
}

static void command_outputs(struct comp_control *control) {
	char list[CONTROL_REPLY_SIZE - 8] = "";
	size_t len = 0;
	struct comp_output *output;
	wl_list_for_each(output, &control->server->outputs, link) {
		struct wlr_output *o = output->wlr_output;
		int n = snprintf(list + len, sizeof(list) - len, "%s%s,%d,%d,%g,%s",
			len > 0 ? ";" : "", o->name, o->width, o->height, o->scale,
			output_transform_name(o->transform));
		if (n < 0 || (size_t)n >= sizeof(list) - len) {
			reply_error("too many outputs");
			return;
		}
		len += n;
	}
	reply_after_frames(control, len > 0 ? "ok %s" : "ok", list);
}

/* output NAME transform|scale|mode ...: the change into state; false after an error reply. */
static bool parse_output_change(int argc, char *argv[], struct wlr_output_state *state) {
	if (strcmp(argv[2], "transform") == 0) {
		int transform;
		if (argc != 4 || !output_transform_parse(argv[3], &transform)) {
			reply_error("usage: output NAME transform normal|90|180|270|flipped|"
				"flipped-90|flipped-180|flipped-270");
			return false;
		}
		wlr_output_state_set_transform(state, transform);
	} else if (strcmp(argv[2], "scale") == 0) {
		double scale;
		if (argc != 4 || !parse_double(argv[3], &scale) || scale <= 0 || scale > 16) {
			reply_error("usage: output NAME scale S");
			return false;
		}
		wlr_output_state_set_scale(state, (float)scale);
	} else if (strcmp(argv[2], "mode") == 0) {
		int width, height, refresh = 0;
		if ((argc != 5 && argc != 6) || !parse_int(argv[3], &width) ||
				!parse_int(argv[4], &height) || width <= 0 || height <= 0 ||
				(argc == 6 && (!parse_int(argv[5], &refresh) || refresh < 0))) {
			reply_error("usage: output NAME mode W H [REFRESH_MHZ]");
			return false;
		}
		wlr_output_state_set_custom_mode(state, width, height, refresh);
	} else if (argc == 3 && (strcmp(argv[2], "enable") == 0 ||
			strcmp(argv[2], "disable") == 0)) {
		wlr_output_state_set_enabled(state, strcmp(argv[2], "enable") == 0);
	} else {
		reply_error("unknown output property %s", argv[2]);
		return false;
	}
	return true;
}

static void command_output(struct comp_control *control, int argc, char *argv[]) {
	struct comp_server *server = control->server;
	if (argc == 4 && strcmp(argv[1], "add") == 0) {
		int width, height;
		if (!parse_int(argv[2], &width) || !parse_int(argv[3], &height) ||
				width <= 0 || height <= 0) {
			reply_error("usage: output add W H");
			return;
		}
		if (server->headless == NULL) {
			reply_error("output add needs the headless backend");
			return;
		}
		struct wlr_output *output = wlr_headless_add_output(server->headless, width, height);
		if (output == NULL || output_find(server, output->name) == NULL) {
			reply_error("failed to add an output");
			return;
		}
		reply_after_frames(control, "ok %s", output->name);
		return;
	}
	if (argc == 3 && strcmp(argv[1], "remove") == 0) {
		struct comp_output *output = output_find(server, argv[2]);
		if (output == NULL) {
			reply_error("no output named %s", argv[2]);
			return;
		}
		wlr_output_destroy(output->wlr_output);
		reply_after_frames(control, "ok");
		return;
	}
	if (argc < 3) {
		reply_error("usage: output NAME transform|scale|mode ... | output add W H | "
			"output remove NAME");
		return;
	}

	struct comp_output *output = output_find(server, argv[1]);
	if (output == NULL) {
		reply_error("no output named %s", argv[1]);
		return;
	}
	struct wlr_output *wlr_output = output->wlr_output;
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	bool parsed = parse_output_change(argc, argv, &state);
	bool committed = parsed && wlr_output_commit_state(wlr_output, &state);
	wlr_output_state_finish(&state);
	if (!parsed) {
		return;
	}
	if (!committed) {
		reply_error("output %s rejected the change", wlr_output->name);
		return;
	}
	reply_after_frames(control, "ok");
}

/*
 * windows: ID:APP_ID:TITLE:X,Y,WxH:IDENTIFIER;... with the main surface's
 * size; the identifier only where wlroots' list runs.
 */
static void command_windows(struct comp_control *control) {
	char list[CONTROL_REPLY_SIZE - 8] = "";
	size_t len = 0;
	struct comp_toplevel *toplevel;
	wl_list_for_each_reverse(toplevel, &control->server->toplevels, link) {
		struct wlr_xdg_toplevel *xdg = toplevel->xdg_toplevel;
		struct wlr_surface *surface = xdg->base->surface;
		int x = toplevel->scene_tree->node.x, y = toplevel->scene_tree->node.y;
		int n = snprintf(list + len, sizeof(list) - len, "%s%d:%s:%s:%d,%d,%dx%d:%s",
			len > 0 ? ";" : "", toplevel->id, xdg->app_id != NULL ? xdg->app_id : "",
			xdg->title != NULL ? xdg->title : "", x, y, surface->current.width, surface->current.height,
			toplevel->handle != NULL ? toplevel->handle->identifier : "");
		if (n < 0 || (size_t)n >= sizeof(list) - len) {
			reply_error("too many windows");
			return;
		}
		len += n;
	}
	reply_after_frames(control, len > 0 ? "ok %s" : "ok", list);
}

/* window-move|window-raise|window-resize|window-close|window-captured ID ... */
static void command_window(struct comp_control *control, int argc, char *argv[]) {
	int id, a = 0, b = 0;
	bool two = strcmp(argv[0], "window-move") == 0 || strcmp(argv[0], "window-resize") == 0;
	if (argc != (two ? 4 : 2) || !parse_int(argv[1], &id) ||
			(two && (!parse_int(argv[2], &a) || !parse_int(argv[3], &b)))) {
		reply_error("usage: window-move ID X Y | window-resize ID W H | "
			"window-raise|window-close|window-captured|window-revoke ID");
		return;
	}
	struct comp_toplevel *toplevel = toplevel_find(control->server, id);
	if (toplevel == NULL) {
		reply_error("no window %d", id);
		return;
	}
	if (strcmp(argv[0], "window-move") == 0) {
		wlr_scene_node_set_position(&toplevel->scene_tree->node, a, b);
		/* The pointer may be over something else now; window sources follow. */
		capture_cursor_changed(control->server);
	} else if (strcmp(argv[0], "window-resize") == 0) {
		if (a <= 0 || b <= 0) {
			reply_error("window-resize needs a positive size");
			return;
		}
		wlr_xdg_toplevel_set_size(toplevel->xdg_toplevel, a, b);
	} else if (strcmp(argv[0], "window-raise") == 0) {
		toplevel_raise(toplevel);
	} else if (strcmp(argv[0], "window-close") == 0) {
		wlr_xdg_toplevel_send_close(toplevel->xdg_toplevel);
	} else if (strcmp(argv[0], "window-captured") == 0 ||
			strcmp(argv[0], "window-revoke") == 0) {
		if (toplevel->capture_source == NULL) {
			reply_error("window %d has no zerocap source", id);
			return;
		}
		struct zc_capture_target *target =
			zc_toplevel_source_get_target(toplevel->capture_source);
		if (strcmp(argv[0], "window-revoke") == 0) {
			zc_capture_manager_revoke_target(control->server->capture_manager, NULL, target);
		} else {
			reply_after_frames(control, "ok %s",
				zc_capture_target_is_captured(target) ? "on" : "off");
			return;
		}
	}
	reply_after_frames(control, "ok");
}

/* renderer-reset: what a compositor does after a GPU reset (main.c). */
static void command_renderer_reset(struct comp_control *control) {
	if (!server_reset_renderer(control->server)) {
		reply_error("cannot create a new renderer");
		return;
	}
	reply_after_frames(control, "ok renderer-reset");
}

/* zerocap's counters, for tests that check which copy path ran. */
static void command_stats(struct comp_control *control) {
	struct zc_capture_stats stats;
	zc_capture_manager_get_stats(control->server->capture_manager, &stats);
	char line[CONTROL_REPLY_SIZE];
	snprintf(line, sizeof(line), "ok frames_ready=%llu frames_failed=%llu "
		"bytes_written=%llu cpu_pixel_reads=%llu gpu_blits=%llu gpu_jobs=%llu "
		"gpu_wait_ns=%llu",
		(unsigned long long)stats.frames_ready, (unsigned long long)stats.frames_failed,
		(unsigned long long)stats.bytes_written, (unsigned long long)stats.cpu_pixel_reads,
		(unsigned long long)stats.gpu_blits, (unsigned long long)stats.gpu_jobs,
		(unsigned long long)stats.gpu_wait_ns);
	reply_write(line);
}

/* fault NAME COUNT: zerocap fails the next COUNT runs of that step. */
static void command_fault(struct comp_control *control, int argc, char *argv[]) {
	static const char *const names[ZC_FAULT_COUNT] = {
		[ZC_FAULT_ALLOC] = "alloc",
		[ZC_FAULT_CPU_COPY] = "cpu-copy",
		[ZC_FAULT_READ_BACK] = "read-back",
		[ZC_FAULT_IMPORT] = "import",
		[ZC_FAULT_FENCE] = "fence",
	};
	int count;
	if (argc != 3 || !parse_int(argv[2], &count) || count < 0) {
		reply_error("usage: fault alloc|cpu-copy|read-back|import|fence COUNT");
		return;
	}
	for (int i = 0; i < ZC_FAULT_COUNT; i++) {
		if (strcmp(argv[1], names[i]) == 0) {
			zc_capture_manager_inject_fault(control->server->capture_manager, i, count);
			reply_write("ok");
			return;
		}
	}
	reply_error("unknown fault %s", argv[1]);
}

static bool parse_id(const char *str, uint32_t *out) {
	char *end;
	errno = 0;
	unsigned long value = strtoul(str, &end, 10);
	if (errno != 0 || end == str || *end != '\0' || str[0] == '-' || value == 0 ||
			value > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)value;
	return true;
}

/* allow ID, deny ID: answers a capture request of --policy=ask. */
static void command_answer(struct comp_control *control, int argc, char *argv[], bool allow) {
	uint32_t id;
	if (argc != 2 || !parse_id(argv[1], &id)) {
		reply_error("usage: %s ID", argv[0]);
		return;
	}
	if (!policy_answer(control->server, id, allow)) {
		reply_error("no pending capture request %s", argv[1]);
		return;
	}
	reply_after_frames(control, "ok");
}

/* revoke [PID] [OUTPUT]: a number is a client's pid, anything else an output. */
static void command_revoke(struct comp_control *control, int argc, char *argv[]) {
	struct comp_server *server = control->server;
	int pid = 0;
	struct comp_output *output = NULL;
	bool has_pid = false;
	for (int i = 1; i < argc; i++) {
		int value;
		if (!has_pid && output == NULL && parse_int(argv[i], &value)) {
			if (value <= 0) {
				reply_error("usage: revoke [PID] [OUTPUT]");
				return;
			}
			pid = value;
			has_pid = true;
		} else if (output == NULL) {
			output = output_find(server, argv[i]);
			if (output == NULL) {
				reply_error("no output named %s", argv[i]);
				return;
			}
		} else {
			reply_error("usage: revoke [PID] [OUTPUT]");
			return;
		}
	}
	if (!policy_revoke(server, pid, output != NULL ? output->wlr_output : NULL)) {
		reply_error("no client with pid %d", pid);
		return;
	}
	reply_after_frames(control, "ok");
}

/* indicator OUTPUT: whether a capture of the output is active (border shown). */
static void command_indicator(struct comp_control *control, int argc, char *argv[]) {
	if (argc != 2) {
		reply_error("usage: indicator OUTPUT");
		return;
	}
	struct comp_output *output = output_find(control->server, argv[1]);
	if (output == NULL) {
		reply_error("no output named %s", argv[1]);
		return;
	}
	reply_after_frames(control, "ok %s", output->captured ? "on" : "off");
}

/* Commands about zerocap's state: an error with --capture=wlroots. */
static bool needs_zerocap(const char *command) {
	static const char *const commands[] = {
		"stats", "fault", "allow", "deny", "revoke", "indicator", "max-fps",
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(command, commands[i]) == 0) {
			return true;
		}
	}
	return false;
}

static void execute(struct comp_control *control, char *line) {
	char *argv[CONTROL_MAX_ARGS + 1];
	int argc = 0;
	char *saveptr = NULL;
	for (char *token = strtok_r(line, " \t\r", &saveptr); token != NULL;
			token = strtok_r(NULL, " \t\r", &saveptr)) {
		if (argc == CONTROL_MAX_ARGS) {
			reply_error("too many arguments");
			return;
		}
		argv[argc++] = token;
	}
	if (argc == 0) {
		return;
	}
	argv[argc] = NULL;

	const char *command = argv[0];
	if (control->server->capture_manager == NULL && needs_zerocap(command)) {
		reply_error("%s needs --capture=zerocap", command);
		return;
	}
	if (strcmp(command, "rect") == 0) {
		command_rect(control, argc, argv);
	} else if (strcmp(command, "remove") == 0) {
		command_remove(control, argc, argv);
	} else if (strcmp(command, "cursor") == 0) {
		command_cursor(control, argc, argv);
	} else if (strcmp(command, "output") == 0) {
		command_output(control, argc, argv);
	} else if (strcmp(command, "windows") == 0 && argc == 1) {
		command_windows(control);
	} else if (strncmp(command, "window-", 7) == 0) {
		command_window(control, argc, argv);
	} else if (strcmp(command, "outputs") == 0 && argc == 1) {
		command_outputs(control);
	} else if (strcmp(command, "sync") == 0 && argc == 1) {
		reply_after_frames(control, "ok");
	} else if (strcmp(command, "renderer-reset") == 0 && argc == 1) {
		command_renderer_reset(control);
	} else if (strcmp(command, "stats") == 0 && argc == 1) {
		command_stats(control);
	} else if (strcmp(command, "fault") == 0) {
		command_fault(control, argc, argv);
	} else if (strcmp(command, "allow") == 0) {
		command_answer(control, argc, argv, true);
	} else if (strcmp(command, "deny") == 0) {
		command_answer(control, argc, argv, false);
	} else if (strcmp(command, "revoke") == 0) {
		command_revoke(control, argc, argv);
	} else if (strcmp(command, "indicator") == 0) {
		command_indicator(control, argc, argv);
	} else if (strcmp(command, "max-fps") == 0 && argc == 2) {
		/* Pacing of sessions created from now on. */
		zc_capture_manager_set_max_fps(control->server->capture_manager, atof(argv[1]));
		reply_write("ok");
	} else if (strcmp(command, "quit") == 0 && argc == 1) {
		reply_write("ok");
		control->quitting = true;
		wl_display_terminate(control->server->display);
	} else {
		reply_error("unknown command: %s", command);
	}
}

/* Runs queued lines until one waits for frames or the input runs dry. */
static void process_input(struct comp_control *control) {
	while (!control->awaiting_frames && !control->quitting) {
		char *newline = control->input_len > 0 ?
			memchr(control->input, '\n', control->input_len) : NULL;
		size_t line_len;
		if (newline != NULL) {
			line_len = newline - control->input;
		} else if (control->input_len >= CONTROL_MAX_LINE ||
				(control->eof && control->input_len > 0)) {
			line_len = control->input_len;
		} else {
			break;
		}

		char line[CONTROL_MAX_LINE + 1];
		size_t copy_len = line_len < CONTROL_MAX_LINE ? line_len : CONTROL_MAX_LINE;
		memcpy(line, control->input, copy_len);
		line[copy_len] = '\0';
		size_t consumed = newline != NULL ? line_len + 1 : line_len;
		memmove(control->input, control->input + consumed, control->input_len - consumed);
		control->input_len -= consumed;

		if (line_len > CONTROL_MAX_LINE) {
			reply_error("line too long");
			continue;
		}
		wlr_log(WLR_DEBUG, "control: %s", line);
		execute(control, line);
	}

	if (control->eof && control->input_len == 0 && !control->awaiting_frames &&
			!control->quitting) {
		wlr_log(WLR_INFO, "control: end of input, quitting");
		control->quitting = true;
		wl_display_terminate(control->server->display);
	}
}

static void handle_idle(void *data) {
	struct comp_control *control = data;
	control->idle = NULL;
	process_input(control);
}

/*
 * Frame and destroy handlers finish replies; the next command must not run
 * inside them (it could destroy the very output that is emitting).
 */
static void schedule_processing(struct comp_control *control) {
	if (control->idle == NULL) {
		control->idle = wl_event_loop_add_idle(control->server->event_loop,
			handle_idle, control);
	}
}

/* Reads once from stdin; false on end of input. */
static bool read_input(struct comp_control *control) {
	if (control->input_cap - control->input_len < CONTROL_READ_SIZE) {
		size_t cap = control->input_len + CONTROL_READ_SIZE;
		char *input = realloc(control->input, cap);
		if (input == NULL) {
			wlr_log(WLR_ERROR, "control: allocation failed");
			return false;
		}
		control->input = input;
		control->input_cap = cap;
	}

	ssize_t n = read(STDIN_FILENO, control->input + control->input_len, CONTROL_READ_SIZE);
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return true;
	}
	if (n <= 0) {
		if (n < 0) {
			wlr_log_errno(WLR_ERROR, "control: read failed");
		}
		return false;
	}
	control->input_len += n;
	return true;
}

static int handle_stdin(int fd, uint32_t mask, void *data) {
	struct comp_control *control = data;
	if (!read_input(control)) {
		control->eof = true;
		wl_event_source_remove(control->stdin_source);
		control->stdin_source = NULL;
	}
	process_input(control);
	return 0;
}

bool control_init(struct comp_server *server, const char *socket) {
	struct comp_control *control = calloc(1, sizeof(*control));
	if (control == NULL) {
		return false;
	}
	control->server = server;
	wl_list_init(&control->rects);
	control->stdin_source = wl_event_loop_add_fd(server->event_loop, STDIN_FILENO,
		WL_EVENT_READABLE, handle_stdin, control);
	if (control->stdin_source == NULL) {
		/* epoll refuses regular files and /dev/null: they never block, read them now. */
		while (read_input(control)) {
			continue;
		}
		control->eof = true;
	}
	server->control = control;

	/* Replies go to stdout one line at a time; logs go to stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	reply_after_frames(control, "ready %s", socket);
	return true;
}

void control_finish(struct comp_server *server) {
	struct comp_control *control = server->control;
	if (control == NULL) {
		return;
	}
	struct comp_rect *rect, *tmp;
	wl_list_for_each_safe(rect, tmp, &control->rects, link) {
		rect_destroy(rect);
	}
	if (control->stdin_source != NULL) {
		wl_event_source_remove(control->stdin_source);
	}
	if (control->idle != NULL) {
		wl_event_source_remove(control->idle);
	}
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		output->control_frame_pending = false;
	}
	free(control->input);
	free(control);
	server->control = NULL;
}
