/*
 * Capture policy in the reference compositor, with real clients: who sees the
 * capture globals, which sessions run, revocation, the per-client session
 * limit, and the capture indicator (a red 4-pixel border on captured outputs,
 * reported as "event indicator OUTPUT on|off" and by the `indicator` command).
 *
 * What the indicator checks assert, and why:
 * - The border is part of the scene, so it reaches an output's image from the
 *   output's next frame after a capture became active. Control replies come
 *   after a frame, so once `indicator` answered "ok on" every later image has
 *   the border: a new session's first frame (taken at once from the output's
 *   last image) shows it exactly.
 * - The frame a capture takes at the moment it starts may or may not have it.
 *   In ask mode that moment is exact: a frame waiting on a pending session is
 *   copied inside `allow`, before the output renders again, so it shows no
 *   border, and the session's next frame (its second: full damage) shows it. In allow mode a fresh session's first frame is either without
 *   the border or with all of it, never a part or a leftover.
 * - After the last session of an output ends, "event indicator OUTPUT off"
 *   comes and `indicator` says off.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "fixture.h"

#define WAIT_MS 5000 /* for what must come */
#define QUIET_MS 300 /* for what must not come */

#define RED 0xff0000u /* the indicator, as RGB */
#define BACKGROUND 0x202020u
#define BORDER 4

#define MAX_SESSIONS 64

static struct zt_compositor comp;

/* ---- helpers: events and control ---- */

static bool expect_event(const char *expected, const char *what) {
	const char *event = zt_next_event(&comp, WAIT_MS);
	bool ok = event != NULL && strcmp(event, expected) == 0;
	ZT_CHECK(ok, "%s: expected event '%s', got '%s'", what, expected,
		event != NULL ? event : "(none)");
	return ok;
}

/* After a sync (every event written before its reply is queued), no event is left. */
static void expect_no_event(const char *what) {
	zt_cmd(&comp, "sync");
	const char *event = zt_next_event(&comp, 0);
	ZT_CHECK(event == NULL, "%s: unexpected event '%s'", what, event);
}

/* "event request ID PID OUTPUT cursor=C" */
struct request_event {
	unsigned id;
	int pid;
	char output[64];
	int cursor;
};

static bool expect_request(struct request_event *request, const char *what) {
	const char *event = zt_next_event(&comp, WAIT_MS);
	memset(request, 0, sizeof(*request));
	bool ok = event != NULL && sscanf(event, "request %u %d %63s cursor=%d", &request->id,
		&request->pid, request->output, &request->cursor) == 4;
	ZT_CHECK(ok, "%s: expected a request event, got '%s'", what,
		event != NULL ? event : "(none)");
	return ok;
}

static void check_indicator(const char *output, const char *state, const char *what) {
	bool ok = zt_cmd(&comp, "indicator %s", output);
	char expected[16];
	snprintf(expected, sizeof(expected), "ok %s", state);
	ZT_CHECK(ok && strcmp(comp.reply, expected) == 0, "%s: indicator %s is '%s', want '%s'",
		what, output, comp.reply, expected);
}

static void check_events_kept(const char *what) {
	ZT_CHECK(comp.events_dropped == 0, "%s: %u events dropped", what, comp.events_dropped);
}

/* ---- helpers: pixels ---- */

/* Pixels of image in the box whose RGB differs from rgb. */
static int count_other(const struct zcc_image *image, int x, int y, int w, int h,
		uint32_t rgb) {
	int n = 0;
	for (int j = y; j < y + h; j++) {
		for (int i = x; i < x + w; i++) {
			uint32_t pixel;
			if (!zcc_image_pixel(image, i, j, &pixel) || (pixel & 0xffffff) != rgb) {
				n++;
			}
		}
	}
	return n;
}

enum border_state {
	BORDER_NONE, /* the background alone */
	BORDER_FULL, /* exactly the border around the background */
	BORDER_OTHER,
};

static const char *border_name(enum border_state state) {
	return state == BORDER_NONE ? "no border" : state == BORDER_FULL ? "the border" :
		"something else";
}

/* For a scene with nothing but the background. */
static enum border_state border_state(const struct zcc_image *image) {
	int w = image->width, h = image->height;
	if (count_other(image, 0, 0, w, h, BACKGROUND) == 0) {
		return BORDER_NONE;
	}
	int bad = count_other(image, 0, 0, w, BORDER, RED) +
		count_other(image, 0, h - BORDER, w, BORDER, RED) +
		count_other(image, 0, BORDER, BORDER, h - 2 * BORDER, RED) +
		count_other(image, w - BORDER, BORDER, BORDER, h - 2 * BORDER, RED) +
		count_other(image, BORDER, BORDER, w - 2 * BORDER, h - 2 * BORDER, BACKGROUND);
	return bad == 0 ? BORDER_FULL : BORDER_OTHER;
}

static bool point_damaged(const struct zcc_capture_result *result, int x, int y) {
	for (size_t i = 0; i < result->n_damage; i++) {
		const struct zcc_rect *r = &result->damage[i];
		if (x >= r->x && x < r->x + r->width && y >= r->y && y < r->y + r->height) {
			return true;
		}
	}
	return false;
}

/* Whether the reported damage covers the whole border of a w x h image. */
static bool border_damaged(const struct zcc_capture_result *result, int w, int h) {
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			bool border = x < BORDER || y < BORDER || x >= w - BORDER || y >= h - BORDER;
			if (border && !point_damaged(result, x, y)) {
				return false;
			}
		}
	}
	return true;
}

/* ---- helpers: capture ---- */

static struct zcc_output *find_output(struct zcc_client *client, const char *name) {
	struct zcc_output *output = zcc_client_find_output(client, name);
	ZT_CHECK(output != NULL, "the client sees no output %s", name);
	return output;
}

/* A session that must start: constraints, not stopped. */
static struct zcc_session *open_session(struct zcc_client *client, const char *output_name,
		uint32_t options, const char *what) {
	struct zcc_output *output = find_output(client, output_name);
	if (output == NULL) {
		return NULL;
	}
	struct zcc_session *session = zcc_session_create(client, output, options);
	ZT_CHECK(session != NULL, "%s: no session: %s", what, zcc_client_last_error(client));
	if (session == NULL) {
		return NULL;
	}
	int ret = zcc_session_wait_constraints(session, WAIT_MS);
	ZT_CHECK(ret == 1 && !session->stopped && session->constraint_batches >= 1,
		"%s: session on %s did not start (wait %d, stopped %d)", what, output_name, ret,
		session->stopped);
	return session;
}

static struct zcc_buffer *session_buffer(struct zcc_client *client,
		const struct zcc_session *session) {
	return zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, session->constraints.width,
		session->constraints.height, 0);
}

/* Captures one frame (full buffer damage) and checks it is ready. */
static bool capture_ready(struct zcc_session *session, struct zcc_buffer *buffer,
		struct zcc_capture_result *result, const char *what) {
	enum zcc_frame_status status = zcc_session_capture(session, buffer, NULL, 0, WAIT_MS,
		result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s)", what,
		zcc_frame_status_str(status), status == ZCC_FRAME_FAILED ?
			zcc_failure_reason_str(result->failure_reason) : "-");
	return status == ZCC_FRAME_READY;
}

/* A fresh session's first frame: returns its border state (BORDER_OTHER on failure). */
static enum border_state first_frame_border(struct zcc_client *client, const char *output,
		const char *what) {
	struct zcc_session *session = open_session(client, output, 0, what);
	if (session == NULL || session->stopped) {
		zcc_session_destroy(session);
		return BORDER_OTHER;
	}
	struct zcc_buffer *buffer = session_buffer(client, session);
	struct zcc_capture_result result;
	enum border_state state = BORDER_OTHER;
	if (capture_ready(session, buffer, &result, what)) {
		struct zcc_image image = zcc_buffer_image(buffer);
		state = border_state(&image);
	}
	zcc_capture_result_finish(&result);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	zcc_client_roundtrip(client, WAIT_MS);
	return state;
}

static void check_frame_failed(struct zcc_frame *frame, uint32_t reason, const char *what) {
	enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_FAILED && frame->result.failure_reason == reason,
		"%s: frame %s (%s), want failed: %s", what, zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ?
			zcc_failure_reason_str(frame->result.failure_reason) : "-",
		zcc_failure_reason_str(reason));
}

/* A frame with a buffer of the output's size on a session that may have no constraints. */
static struct zcc_frame *start_frame(struct zcc_session *session, struct zcc_buffer *buffer) {
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, buffer);
	zcc_frame_damage_buffer(frame, 0, 0, buffer->width, buffer->height);
	zcc_frame_capture(frame);
	return frame;
}

/* ---- helpers: wlr-screencopy ---- */

struct sc_state {
	bool buffer, buffer_done, ready, failed;
	uint32_t format, width, height, stride;
};

static void sc_handle_buffer(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t format, uint32_t width, uint32_t height, uint32_t stride) {
	struct sc_state *state = data;
	state->buffer = true;
	state->format = format;
	state->width = width;
	state->height = height;
	state->stride = stride;
}

static void sc_handle_flags(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t flags) {
}

static void sc_handle_ready(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t sec_hi, uint32_t sec_lo, uint32_t nsec) {
	((struct sc_state *)data)->ready = true;
}

static void sc_handle_failed(void *data, struct zwlr_screencopy_frame_v1 *frame) {
	((struct sc_state *)data)->failed = true;
}

static void sc_handle_damage(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t x, uint32_t y, uint32_t width, uint32_t height) {
}

static void sc_handle_linux_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t format, uint32_t width, uint32_t height) {
}

static void sc_handle_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *frame) {
	((struct sc_state *)data)->buffer_done = true;
}

static const struct zwlr_screencopy_frame_v1_listener sc_listener = {
	.buffer = sc_handle_buffer,
	.flags = sc_handle_flags,
	.ready = sc_handle_ready,
	.failed = sc_handle_failed,
	.damage = sc_handle_damage,
	.linux_dmabuf = sc_handle_linux_dmabuf,
	.buffer_done = sc_handle_buffer_done,
};

static bool sc_described(void *data) {
	struct sc_state *state = data;
	return state->buffer_done || state->failed;
}

static bool sc_done(void *data) {
	struct sc_state *state = data;
	return state->ready || state->failed;
}

enum sc_result {
	SC_READY,
	SC_FAILED_AT_CREATION,
	SC_FAILED_AT_COPY,
	SC_NO_GLOBAL,
	SC_TIMEOUT,
};

static const char *sc_result_name(enum sc_result result) {
	static const char *const names[] = {
		"ready", "failed at creation", "failed at copy", "no global", "timeout",
	};
	return names[result];
}

/* One zwlr_screencopy_frame_v1 copy of output into shm. */
static enum sc_result screencopy(struct zcc_client *client, struct zcc_output *output) {
	struct zwlr_screencopy_manager_v1 *manager =
		zcc_client_bind(client, &zwlr_screencopy_manager_v1_interface, 3);
	if (manager == NULL) {
		return SC_NO_GLOBAL;
	}
	struct sc_state state = {0};
	struct zwlr_screencopy_frame_v1 *frame =
		zwlr_screencopy_manager_v1_capture_output(manager, 0, output->wl_output);
	zwlr_screencopy_frame_v1_add_listener(frame, &sc_listener, &state);
	enum sc_result result = SC_TIMEOUT;
	struct zcc_buffer *buffer = NULL;
	if (zcc_client_dispatch_until(client, sc_described, &state, WAIT_MS) != 1) {
		goto out;
	}
	if (state.failed || !state.buffer) {
		result = SC_FAILED_AT_CREATION;
		goto out;
	}
	buffer = zcc_buffer_create(client, state.format, state.width, state.height, state.stride);
	if (buffer == NULL) {
		goto out;
	}
	zwlr_screencopy_frame_v1_copy(frame, buffer->wl_buffer);
	if (zcc_client_dispatch_until(client, sc_done, &state, WAIT_MS) == 1) {
		result = state.ready ? SC_READY : SC_FAILED_AT_COPY;
	}
out:
	zwlr_screencopy_frame_v1_destroy(frame);
	zwlr_screencopy_manager_v1_destroy(manager);
	zcc_client_roundtrip(client, WAIT_MS);
	zcc_buffer_destroy(buffer);
	return result;
}

/* ---- helpers: other processes ---- */

/*
 * Runs argv with WAYLAND_DISPLAY set to the compositor; stdout and stderr go
 * to out. Returns the exit status, or -1 (killed after WAIT_MS, or not run).
 */
static int run_program(const char *const argv[], char *out, size_t out_size) {
	out[0] = '\0';
	int pipe_fds[2];
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		dup2(pipe_fds[1], STDERR_FILENO);
		setenv("WAYLAND_DISPLAY", comp.socket, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipe_fds[1]);
	size_t len = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = WAIT_MS - ((now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000);
		struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			break;
		}
		char chunk[512];
		ssize_t n = read(pipe_fds[0], chunk, sizeof(chunk));
		if (n <= 0) {
			break;
		}
		size_t copy = (size_t)n < out_size - 1 - len ? (size_t)n : out_size - 1 - len;
		memcpy(out + len, chunk, copy);
		len += copy;
		out[len] = '\0';
	}
	close(pipe_fds[0]);
	int status;
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static bool file_is_png(const char *path) {
	static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char head[8] = {0};
	FILE *file = fopen(path, "rb");
	if (file == NULL) {
		return false;
	}
	bool ok = fread(head, 1, sizeof(head), file) == sizeof(head) &&
		memcmp(head, signature, sizeof(signature)) == 0;
	fclose(file);
	return ok;
}

static bool have_grim(void) {
	if (access("/usr/bin/grim", X_OK) == 0) {
		return true;
	}
	fprintf(stderr, "  (no /usr/bin/grim: its checks are left out)\n");
	return false;
}

/*
 * A capture client in a child process (a pid of its own): a session on one
 * output; it writes "ready" once the session runs and "stopped" when it stops.
 * Closing to_child ends it.
 */
struct child {
	pid_t pid;
	int to_child, from_child;
};

static void child_run(const char *output_name, int from_parent, int to_parent) {
	struct zcc_client *client = zcc_client_connect(comp.socket);
	struct zcc_output *output = client != NULL ?
		zcc_client_find_output(client, output_name) : NULL;
	struct zcc_session *session = output != NULL ?
		zcc_session_create(client, output, 0) : NULL;
	if (session == NULL) {
		_exit(1);
	}
	bool ready = false;
	for (int i = 0; i < 1000; i++) {
		if (zcc_client_dispatch_for(client, 20) < 0) {
			_exit(1);
		}
		if (!ready && session->constraint_batches > 0 && !session->stopped) {
			ready = write(to_parent, "ready\n", 6) == 6;
		}
		if (session->stopped) {
			if (write(to_parent, "stopped\n", 8) != 8) {
				_exit(1);
			}
			break;
		}
		struct pollfd pfd = {.fd = from_parent, .events = POLLIN};
		if (poll(&pfd, 1, 0) > 0) {
			break;
		}
	}
	/* Skips exit handlers: nothing of the parent's may run here. */
	_exit(0);
}

static bool child_start(struct child *child, const char *output_name) {
	int down[2], up[2];
	if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) {
		return false;
	}
	child->pid = fork();
	if (child->pid < 0) {
		return false;
	}
	if (child->pid == 0) {
		close(down[1]);
		close(up[0]);
		child_run(output_name, down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	child->to_child = down[1];
	child->from_child = up[0];
	return true;
}

/* The child's next line ("ready", "stopped"), or "" after timeout_ms. */
static const char *child_line(struct child *child, int timeout_ms) {
	static char line[32];
	size_t len = 0;
	line[0] = '\0';
	struct pollfd pfd = {.fd = child->from_child, .events = POLLIN};
	while (len + 1 < sizeof(line) && poll(&pfd, 1, timeout_ms) > 0) {
		char c;
		if (read(child->from_child, &c, 1) != 1 || c == '\n') {
			break;
		}
		line[len++] = c;
		line[len] = '\0';
	}
	return line;
}

static void child_finish(struct child *child) {
	close(child->to_child);
	close(child->from_child);
	int status;
	waitpid(child->pid, &status, 0);
}

/* ---- raw session after execve (list mode) ---- */

/*
 * Run as "test-policy --raw-session FD SOURCE_MANAGER COPY_MANAGER OUTPUT
 * SOURCE_ID SESSION_ID SYNC_ID": the Wayland connection FD was opened and its
 * globals bound by the process before it called execve. Sends create_source,
 * create_session and wl_display.sync on the wire and prints what the session
 * answered: "constraints", "stopped", or "nothing" (sync came first).
 */
static int raw_session_main(char *argv[]) {
	uint32_t v[7];
	for (int i = 0; i < 7; i++) {
		v[i] = (uint32_t)strtoul(argv[2 + i], NULL, 10);
	}
	int fd = (int)v[0];
	uint32_t source_manager = v[1], copy_manager = v[2], output = v[3];
	uint32_t source_id = v[4], session_id = v[5], sync_id = v[6];
	/* Opcodes: create_source 0, create_session 0, wl_display.sync 0. */
	uint32_t requests[] = {
		source_manager, 16u << 16 | 0, source_id, output,
		copy_manager, 20u << 16 | 0, session_id, source_id, 0,
		1, 12u << 16 | 0, sync_id,
	};
	if (write(fd, requests, sizeof(requests)) != sizeof(requests)) {
		printf("write failed\n");
		return 1;
	}
	uint32_t buf[4096];
	size_t len = 0; /* bytes */
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, WAIT_MS) <= 0) {
			printf("timeout\n");
			return 1;
		}
		ssize_t n = read(fd, (char *)buf + len, sizeof(buf) - len);
		if (n <= 0) {
			printf("disconnected\n");
			return 1;
		}
		len += n;
		size_t pos = 0;
		while (len - pos >= 8) {
			uint32_t *msg = (uint32_t *)((char *)buf + pos);
			uint32_t size = msg[1] >> 16, opcode = msg[1] & 0xffff;
			if (size < 8 || len - pos < size) {
				break;
			}
			/* ext_image_copy_capture_session_v1: buffer_size 0 ... stopped 5 */
			if (msg[0] == session_id && opcode == 0) {
				printf("constraints\n");
				return 0;
			}
			if (msg[0] == session_id && opcode == 5) {
				printf("stopped\n");
				return 0;
			}
			if (msg[0] == sync_id) {
				printf("nothing\n");
				return 0;
			}
			if (msg[0] == 1 && opcode == 0) {
				printf("protocol error\n");
				return 1;
			}
			pos += size;
		}
		memmove(buf, (char *)buf + pos, len - pos);
		len -= pos;
	}
}

/*
 * A child connects and binds the capture globals as this (listed) executable,
 * then execs exe over the open connection, which creates a session there.
 * Returns what raw_session_main printed.
 */
static const char *session_after_exec(const char *exe, char *out, size_t out_size) {
	out[0] = '\0';
	int up[2];
	if (pipe2(up, O_CLOEXEC) != 0) {
		return out;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(up[1], STDOUT_FILENO);
		struct zcc_client *client = zcc_client_connect(comp.socket);
		if (client == NULL || !zcc_client_has_capture(client)) {
			printf("no capture globals before exec\n");
			fflush(stdout);
			_exit(1);
		}
		struct zcc_output *output = zcc_client_find_output(client, NULL);
		/*
		 * New ids that the server does not use: proxies made now and never
		 * sent (execve drops libwayland's unsent requests).
		 */
		struct wl_callback *ids[3];
		for (int i = 0; i < 3; i++) {
			ids[i] = wl_display_sync(client->display);
		}
		int fd = wl_display_get_fd(client->display);
		fcntl(fd, F_SETFD, 0);
		char args[7][16];
		uint32_t values[7] = {
			(uint32_t)fd,
			wl_proxy_get_id((struct wl_proxy *)client->output_source_manager),
			wl_proxy_get_id((struct wl_proxy *)client->copy_capture_manager),
			wl_proxy_get_id((struct wl_proxy *)output->wl_output),
			wl_proxy_get_id((struct wl_proxy *)ids[0]),
			wl_proxy_get_id((struct wl_proxy *)ids[1]),
			wl_proxy_get_id((struct wl_proxy *)ids[2]),
		};
		const char *argv[10] = {exe, "--raw-session"};
		for (int i = 0; i < 7; i++) {
			snprintf(args[i], sizeof(args[i]), "%u", values[i]);
			argv[2 + i] = args[i];
		}
		argv[9] = NULL;
		execv(exe, (char *const *)argv);
		printf("exec failed: %s\n", strerror(errno));
		fflush(stdout);
		_exit(127);
	}
	close(up[1]);
	size_t len = 0;
	struct pollfd pfd = {.fd = up[0], .events = POLLIN};
	while (len + 1 < out_size && poll(&pfd, 1, 2 * WAIT_MS) > 0) {
		ssize_t n = read(up[0], out + len, out_size - 1 - len);
		if (n <= 0) {
			break;
		}
		len += n;
	}
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(up[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return out;
}

static bool copy_file(const char *from, const char *to) {
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	bool ok = in >= 0 && out >= 0;
	char chunk[65536];
	ssize_t n;
	while (ok && (n = read(in, chunk, sizeof(chunk))) > 0) {
		ok = write(out, chunk, n) == n;
	}
	if (in >= 0) {
		close(in);
	}
	if (out >= 0 && close(out) != 0) {
		ok = false;
	}
	return ok;
}

/* ---- tests ---- */

static void test_options(void) {
	zt_section("options: invalid policies are refused");
	const char *compositor = getenv("ZC_COMPOSITOR");
	/* The arguments, then the message expected on stderr. */
	static const char *const bad[][5] = {
		{"--policy=bogus", NULL, "Invalid --policy"},
		{"--policy=ask", NULL, "needs --control"},
		{"--policy=deny", "--allow", "grim", NULL, "with --policy=list only"},
		{"--indicator=maybe", NULL, "Invalid --indicator"},
		/* wlroots' screencopy would serve everyone, past the policy */
		{"--policy=deny", "--screencopy=wlroots", NULL, "with --policy=allow only"},
		{"--control", "--policy-file", "/nonexistent/zerocap-policy", NULL,
			"Cannot open policy file"},
	};
	setenv("WLR_RENDERER", "pixman", 0);
	char out[4096];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[8] = {compositor};
		int argc = 1;
		for (int j = 0; bad[i][j] != NULL; j++) {
			argv[argc++] = bad[i][j];
		}
		argv[argc] = NULL;
		const char *message = bad[i][argc];
		int status = run_program(argv, out, sizeof(out));
		ZT_CHECK(status == 1 && strstr(out, message) != NULL,
			"zerocap-compositor %s %s: exit status %d, want 1 and '%s': %s", bad[i][0],
			bad[i][1] != NULL ? bad[i][1] : "", status, message, out);
	}
}

static void test_allow(void) {
	zt_section("allow (default): capture works, the indicator follows captures");
	const char *args[] = {"--indicator=on", "--output", "640x480", "--output", "320x240",
		NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	check_indicator("HEADLESS-1", "off", "before any capture");
	check_indicator("HEADLESS-2", "off", "before any capture");
	struct zcc_client *b = zt_connect(&comp);
	if (b == NULL) {
		goto out;
	}
	expect_no_event("a client that only connects");

	/* A (another process) captures: on, on that output only. */
	struct child a;
	if (!child_start(&a, "HEADLESS-1")) {
		ZT_CHECK(false, "cannot start a child");
		goto out;
	}
	const char *line = child_line(&a, WAIT_MS);
	ZT_CHECK(strcmp(line, "ready") == 0, "session A runs: '%s'", line);
	expect_event("indicator HEADLESS-1 on", "session A started");
	check_indicator("HEADLESS-1", "on", "session A");
	check_indicator("HEADLESS-2", "off", "session A on the other output");

	/* B's first frame comes from an image rendered after "on": the border. */
	struct zcc_session *sb = open_session(b, "HEADLESS-1", 0, "session B");
	struct zcc_buffer *buffer_b = sb != NULL ? session_buffer(b, sb) : NULL;
	struct zcc_capture_result result;
	if (buffer_b != NULL && capture_ready(sb, buffer_b, &result, "session B")) {
		struct zcc_image image = zcc_buffer_image(buffer_b);
		enum border_state state = border_state(&image);
		ZT_CHECK(state == BORDER_FULL, "session B while A runs: %s, want the border",
			border_name(state));
	}
	zcc_capture_result_finish(&result);
	expect_no_event("a second session on a captured output");

	/* B ends: A still captures. */
	zcc_buffer_destroy(buffer_b);
	zcc_session_destroy(sb);
	zcc_client_roundtrip(b, WAIT_MS);
	check_indicator("HEADLESS-1", "on", "B ended, A runs");
	expect_no_event("B ended, A runs");

	/* A's process exits without destroying anything: off. */
	child_finish(&a);
	expect_event("indicator HEADLESS-1 off", "client A gone");
	check_indicator("HEADLESS-1", "off", "client A gone");

	/*
	 * Off means off on screen: a new session's first frame is either the
	 * image from before it started (no border) or one rendered after it made
	 * the indicator come on (the whole border), never a leftover.
	 */
	enum border_state state = first_frame_border(b, "HEADLESS-1", "session C");
	ZT_CHECK(state == BORDER_NONE || state == BORDER_FULL,
		"session C's first frame: %s", border_name(state));
	expect_event("indicator HEADLESS-1 on", "session C started");
	expect_event("indicator HEADLESS-1 off", "session C ended");
	check_indicator("HEADLESS-1", "off", "session C ended");

	/* The border follows each output's place and size in the layout. */
	struct zcc_session *s2 = open_session(b, "HEADLESS-2", 0, "session on HEADLESS-2");
	expect_event("indicator HEADLESS-2 on", "session on HEADLESS-2");
	check_indicator("HEADLESS-2", "on", "session on HEADLESS-2");
	check_indicator("HEADLESS-1", "off", "session on HEADLESS-2");
	state = first_frame_border(b, "HEADLESS-2", "HEADLESS-2 at 640,0");
	ZT_CHECK(state == BORDER_FULL, "HEADLESS-2 at 640,0: %s", border_name(state));
	ZT_CHECK(zt_cmd(&comp, "output remove HEADLESS-1"), "output remove: %s", comp.reply);
	state = first_frame_border(b, "HEADLESS-2", "HEADLESS-2 moved to 0,0");
	ZT_CHECK(state == BORDER_FULL, "HEADLESS-2 moved to 0,0: %s", border_name(state));
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-2 mode 400 300"), "mode: %s", comp.reply);
	state = first_frame_border(b, "HEADLESS-2", "HEADLESS-2 at 400x300");
	ZT_CHECK(state == BORDER_FULL, "HEADLESS-2 at 400x300: %s", border_name(state));
	zcc_session_destroy(s2);
	zcc_client_roundtrip(b, WAIT_MS);
	expect_event("indicator HEADLESS-2 off", "session on HEADLESS-2 ended");

	/* wlr-screencopy: on while its client keeps the (per-client) session. */
	struct zcc_client *sc = zt_connect(&comp);
	if (sc != NULL) {
		enum sc_result r = screencopy(sc, find_output(sc, "HEADLESS-2"));
		ZT_CHECK(r == SC_READY, "screencopy: %s", sc_result_name(r));
		expect_event("indicator HEADLESS-2 on", "screencopy");
		zcc_client_destroy(sc);
		expect_event("indicator HEADLESS-2 off", "screencopy client gone");
	}
	check_indicator("HEADLESS-2", "off", "everything ended");
	check_events_kept("allow");
out:
	zcc_client_destroy(b);
	zt_compositor_stop(&comp);
}

static void test_deny(void) {
	zt_section("deny: the globals are there, nothing is captured");
	const char *args[] = {"--indicator=on", "--policy=deny", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		zt_compositor_stop(&comp);
		return;
	}
	ZT_CHECK(zcc_client_has_capture(client), "deny keeps the capture globals visible");
	struct zcc_output *output = find_output(client, "HEADLESS-1");
	struct zcc_session *session = output != NULL ? zcc_session_create(client, output, 0) : NULL;
	if (session != NULL) {
		int ret = zcc_session_wait_constraints(session, WAIT_MS);
		ZT_CHECK(ret == 1 && session->stopped, "denied session: stopped (wait %d)", ret);
		ZT_CHECK(session->constraint_batches == 0 && session->pending.buffer_size_events == 0,
			"denied session: no constraints (%u batches)", session->constraint_batches);
		struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888,
			640, 480, 0);
		struct zcc_frame *frame = start_frame(session, buffer);
		check_frame_failed(frame, ZCC_FAILURE_STOPPED, "frame on a denied session");
		zcc_frame_destroy(frame);
		zcc_buffer_destroy(buffer);
		zcc_session_destroy(session);
	}
	if (output != NULL) {
		enum sc_result r = screencopy(client, output);
		ZT_CHECK(r == SC_FAILED_AT_COPY, "screencopy: %s, want failed at copy",
			sc_result_name(r));
	}
	struct zcc_error err;
	ZT_CHECK(!zcc_client_get_error(client, &err), "no protocol error");
	zcc_client_destroy(client);

	char out[4096], path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/zt-policy-%d.png", getenv("XDG_RUNTIME_DIR"),
		(int)getpid());
	const char *shot[] = {getenv("ZC_SHOT"), "-q", "-t", "2000", path, NULL};
	int status = run_program(shot, out, sizeof(out));
	ZT_CHECK(status != 0 && status != 127 && access(path, F_OK) != 0,
		"zerocap-shot: exit status %d, file %s", status,
		access(path, F_OK) == 0 ? "written" : "absent");
	unlink(path);
	if (have_grim()) {
		const char *grim[] = {"/usr/bin/grim", path, NULL};
		status = run_program(grim, out, sizeof(out));
		ZT_CHECK(status != 0 && status != 127 && access(path, F_OK) != 0,
			"grim: exit status %d, file %s: %s", status,
			access(path, F_OK) == 0 ? "written" : "absent", out);
		unlink(path);
	}

	ZT_CHECK(zt_cmd(&comp, "stats") && strstr(comp.reply, " frames_ready=0 ") != NULL,
		"no frame was ready: %s", comp.reply);
	check_indicator("HEADLESS-1", "off", "after denied captures");
	expect_no_event("denied captures");
	ZT_CHECK(zt_log_contains(&comp, "policy: denied capture"), "the log tells the denial");
	zt_compositor_stop(&comp);
}

static void test_list(void) {
	zt_section("list: only listed executables see the globals and capture");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		ZT_CHECK(false, "readlink /proc/self/exe: %s", strerror(errno));
		return;
	}
	self[n] = '\0';
	char file[PATH_MAX], copy[PATH_MAX], png[PATH_MAX];
	snprintf(file, sizeof(file), "%s/zt-policy-%d.list", getenv("XDG_RUNTIME_DIR"),
		(int)getpid());
	snprintf(png, sizeof(png), "%s/zt-policy-%d.png", getenv("XDG_RUNTIME_DIR"),
		(int)getpid());
	/* A copy of this program, beside it (the build tree allows exec): another path. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(copy, sizeof(copy), "%s/test-policy-unlisted-%d", dirname(dir), (int)getpid());
	FILE *f = fopen(file, "w");
	if (f == NULL) {
		ZT_CHECK(false, "cannot write %s", file);
		return;
	}
	fprintf(f, "# who may capture\n\n   /nonexistent/recorder   # not installed\n%s\n",
		self);
	fclose(f);

	const char *args[] = {"--policy-file", file, NULL};
	if (!zt_compositor_start(&comp, args)) {
		unlink(file);
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client != NULL) {
		ZT_CHECK(zcc_client_has_capture(client), "the listed test program sees the globals");
		struct zcc_session *session = open_session(client, "HEADLESS-1", 0, "listed");
		struct zcc_buffer *buffer = session != NULL ? session_buffer(client, session) : NULL;
		struct zcc_capture_result result;
		if (buffer != NULL && capture_ready(session, buffer, &result, "listed")) {
			struct zcc_image image = zcc_buffer_image(buffer);
			ZT_CHECK(count_other(&image, 0, 0, 640, 480, BACKGROUND) == 0,
				"listed: the scene");
		}
		zcc_capture_result_finish(&result);
		zcc_buffer_destroy(buffer);
		zcc_session_destroy(session);
		zcc_client_destroy(client);
	}

	char out[4096];
	const char *list[] = {getenv("ZC_SHOT"), "list", NULL};
	int status = run_program(list, out, sizeof(out));
	ZT_CHECK(status == 0 && strstr(out, "HEADLESS-1") != NULL &&
		strstr(out, "ext capture: no") != NULL &&
		strstr(out, "zwlr_screencopy_manager_v1") == NULL,
		"zerocap-shot (not listed) sees no capture global: status %d: %s", status, out);
	const char *shot[] = {getenv("ZC_SHOT"), "-q", png, NULL};
	status = run_program(shot, out, sizeof(out));
	ZT_CHECK(status != 0 && status != 127 && access(png, F_OK) != 0,
		"zerocap-shot (not listed) captures nothing: status %d", status);
	unlink(png);
	if (have_grim()) {
		const char *grim[] = {"/usr/bin/grim", png, NULL};
		status = run_program(grim, out, sizeof(out));
		ZT_CHECK(status != 0 && status != 127 && access(png, F_OK) != 0,
			"grim (not listed) captures nothing: status %d: %s", status, out);
		unlink(png);
	}

	/*
	 * Per session, the request handler checks again: a listed process that
	 * bound the globals and then became another program gets its session
	 * stopped. The listed program itself, the same way, gets constraints.
	 */
	const char *what = session_after_exec(self, out, sizeof(out));
	ZT_CHECK(strcmp(what, "constraints") == 0, "listed program after exec: '%s'", what);
	if (copy_file(self, copy)) {
		what = session_after_exec(copy, out, sizeof(out));
		ZT_CHECK(strcmp(what, "stopped") == 0, "unlisted program after exec: '%s'", what);
		ZT_CHECK(zt_log_contains(&comp, "not listed"), "the log tells the denial");
	} else {
		ZT_CHECK(false, "cannot copy %s to %s", self, copy);
	}
	unlink(copy);
	zt_compositor_stop(&comp);
	unlink(file);

	zt_section("list by file name: --allow zerocap-shot --allow grim");
	const char *args2[] = {"--allow", "zerocap-shot", "--allow", "grim", NULL};
	if (!zt_compositor_start(&comp, args2)) {
		return;
	}
	client = zt_connect(&comp);
	if (client != NULL) {
		ZT_CHECK(!zcc_client_has_capture(client) &&
			zcc_client_find_global(client, "zwlr_screencopy_manager_v1") == NULL &&
			zcc_client_find_global(client, "wl_output") != NULL,
			"the unlisted test program sees outputs but no capture global");
		zcc_client_destroy(client);
	}
	status = run_program(list, out, sizeof(out));
	ZT_CHECK(status == 0 && strstr(out, "ext capture: yes") != NULL,
		"zerocap-shot (listed) sees the globals: status %d: %s", status, out);
	status = run_program(shot, out, sizeof(out));
	ZT_CHECK(status == 0 && file_is_png(png), "zerocap-shot (listed) captures: status %d: %s",
		status, out);
	unlink(png);
	if (have_grim()) {
		const char *grim[] = {"/usr/bin/grim", png, NULL};
		status = run_program(grim, out, sizeof(out));
		ZT_CHECK(status == 0 && file_is_png(png), "grim (listed) captures: status %d: %s",
			status, out);
		unlink(png);
	}
	zt_compositor_stop(&comp);
}

static void test_ask(void) {
	zt_section("ask: sessions wait for allow or deny on the control channel");
	const char *args[] = {"--indicator=on", "--policy=ask", "--output", "640x480",
		"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		zt_compositor_stop(&comp);
		return;
	}
	/* A pending session sends nothing and copies nothing. */
	struct zcc_output *output1 = find_output(client, "HEADLESS-1");
	struct zcc_session *sa = output1 != NULL ? zcc_session_create(client, output1, 0) : NULL;
	struct request_event ra;
	if (sa == NULL || !expect_request(&ra, "session A")) {
		goto out;
	}
	ZT_CHECK(ra.pid == (int)getpid() && strcmp(ra.output, "HEADLESS-1") == 0 &&
		ra.cursor == 0, "request: pid %d (want %d), output %s, cursor=%d", ra.pid,
		(int)getpid(), ra.output, ra.cursor);
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, 640, 480, 0);
	zcc_buffer_fill(buffer, 0x00123456);
	struct zcc_frame *frame = start_frame(sa, buffer);
	zcc_client_dispatch_for(client, QUIET_MS);
	ZT_CHECK(sa->constraint_batches == 0 && sa->pending.buffer_size_events == 0 &&
		!sa->stopped, "pending session: no constraints, not stopped");
	ZT_CHECK(frame->result.status == ZCC_FRAME_PENDING, "pending session: the frame waits (%s)",
		zcc_frame_status_str(frame->result.status));
	struct zcc_image image = zcc_buffer_image(buffer);
	ZT_CHECK(count_other(&image, 0, 0, 640, 480, 0x123456) == 0,
		"pending session: nothing written into the buffer");
	check_indicator("HEADLESS-1", "off", "pending session");
	expect_no_event("pending session");

	/* allow: the waiting frame is copied at once, from before the border. */
	ZT_CHECK(zt_cmd(&comp, "allow %u", ra.id), "allow: %s", comp.reply);
	enum zcc_frame_status status = zcc_frame_wait(frame, WAIT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "allowed: the waiting frame is %s",
		zcc_frame_status_str(status));
	ZT_CHECK(sa->constraint_batches >= 1 && !sa->stopped, "allowed: constraints");
	enum border_state state = border_state(&image);
	ZT_CHECK(status == ZCC_FRAME_READY && state == BORDER_NONE,
		"the frame taken as capture starts: %s, want no border", border_name(state));
	zcc_frame_destroy(frame);
	expect_event("indicator HEADLESS-1 on", "allowed");
	check_indicator("HEADLESS-1", "on", "allowed");
	/*
	 * ... and the next one gets the border, as damage (it is the session's
	 * second frame, which comes at once with full damage anyway).
	 */
	struct zcc_capture_result result;
	if (capture_ready(sa, buffer, &result, "allowed, second frame")) {
		state = border_state(&image);
		ZT_CHECK(state == BORDER_FULL, "second frame: %s, want the border",
			border_name(state));
		ZT_CHECK(border_damaged(&result, 640, 480), "second frame: the border is damage");
	}
	zcc_capture_result_finish(&result);

	ZT_CHECK(!zt_cmd(&comp, "allow %u", ra.id) && strncmp(comp.reply, "error", 5) == 0,
		"allow of an answered request: %s", comp.reply);
	ZT_CHECK(!zt_cmd(&comp, "deny 4242") && strncmp(comp.reply, "error", 5) == 0,
		"deny of an unknown request: %s", comp.reply);
	ZT_CHECK(!zt_cmd(&comp, "allow x") && strncmp(comp.reply, "error", 5) == 0,
		"allow x: %s", comp.reply);

	/* deny: stopped, no constraints; the running session goes on. */
	struct zcc_session *sb = zcc_session_create(client, output1, ZCC_OPTION_PAINT_CURSORS);
	struct request_event rb;
	if (expect_request(&rb, "session B")) {
		ZT_CHECK(rb.id != ra.id && rb.cursor == 1, "request B: id %u (A: %u), cursor=%d",
			rb.id, ra.id, rb.cursor);
		ZT_CHECK(zt_cmd(&comp, "deny %u", rb.id), "deny: %s", comp.reply);
		int ret = zcc_session_wait_constraints(sb, WAIT_MS);
		ZT_CHECK(ret == 1 && sb->stopped && sb->constraint_batches == 0,
			"denied: stopped without constraints (wait %d)", ret);
		frame = start_frame(sb, buffer);
		check_frame_failed(frame, ZCC_FAILURE_STOPPED, "frame on a denied session");
		zcc_frame_destroy(frame);
	}
	zcc_session_destroy(sb);
	zcc_client_roundtrip(client, WAIT_MS);
	ZT_CHECK(!sa->stopped, "the allowed session still runs");
	check_indicator("HEADLESS-1", "on", "after a denial");
	expect_no_event("denial");

	/* A client that leaves while asking: cancel. */
	struct child leaving;
	if (child_start(&leaving, "HEADLESS-2")) {
		struct request_event rc;
		bool asked = expect_request(&rc, "leaving client");
		child_finish(&leaving);
		if (asked) {
			ZT_CHECK(strcmp(rc.output, "HEADLESS-2") == 0 && rc.pid == leaving.pid,
				"request C: pid %d for %s", rc.pid, rc.output);
			char cancel[64];
			snprintf(cancel, sizeof(cancel), "cancel %u", rc.id);
			expect_event(cancel, "client left while asking");
			ZT_CHECK(!zt_cmd(&comp, "allow %u", rc.id), "allow after cancel: %s",
				comp.reply);
			check_indicator("HEADLESS-2", "off", "cancelled request");
		}
	}

	/* An output that goes away under a pending request: cancel. */
	ZT_CHECK(zt_cmd(&comp, "output add 320 240") && strcmp(comp.reply, "ok HEADLESS-3") == 0,
		"output add: %s", comp.reply);
	/* The global, then its name and done after binding. */
	struct zcc_output *output3 = NULL;
	for (int i = 0; i < 10 && (output3 == NULL || !output3->done); i++) {
		zcc_client_roundtrip(client, WAIT_MS);
		output3 = zcc_client_find_output(client, "HEADLESS-3");
	}
	struct zcc_session *s3 = output3 != NULL ? zcc_session_create(client, output3, 0) : NULL;
	struct request_event r3;
	if (s3 != NULL && expect_request(&r3, "session on HEADLESS-3")) {
		ZT_CHECK(zt_cmd(&comp, "output remove HEADLESS-3"), "output remove: %s", comp.reply);
		char cancel[64];
		snprintf(cancel, sizeof(cancel), "cancel %u", r3.id);
		expect_event(cancel, "output removed while asking");
		int ret = zcc_session_wait_constraints(s3, WAIT_MS);
		ZT_CHECK(ret == 1 && s3->stopped, "output removed while asking: stopped");
	} else {
		ZT_CHECK(false, "no session on HEADLESS-3");
	}
	zcc_session_destroy(s3);

	/* revoke OUTPUT of a pending request: cancel, stopped; A goes on. */
	struct zcc_session *sd = zcc_session_create(client, find_output(client, "HEADLESS-2"), 0);
	struct request_event rd;
	if (sd != NULL && expect_request(&rd, "session D")) {
		ZT_CHECK(zt_cmd(&comp, "revoke HEADLESS-2"), "revoke HEADLESS-2: %s", comp.reply);
		char cancel[64];
		snprintf(cancel, sizeof(cancel), "cancel %u", rd.id);
		expect_event(cancel, "pending request revoked");
		int ret = zcc_session_wait_constraints(sd, WAIT_MS);
		ZT_CHECK(ret == 1 && sd->stopped, "revoked pending session: stopped");
	}
	zcc_session_destroy(sd);
	zcc_client_roundtrip(client, WAIT_MS);
	ZT_CHECK(!sa->stopped, "revoke HEADLESS-2 leaves HEADLESS-1 alone");

	/* revoke PID: another process's session goes on; ours stop. */
	const char *line;
	struct child child;
	if (!child_start(&child, "HEADLESS-2")) {
		ZT_CHECK(false, "cannot start a child");
		goto out;
	}
	struct request_event re;
	if (expect_request(&re, "child's session")) {
		ZT_CHECK(re.pid == child.pid, "child's request: pid %d, want %d", re.pid,
			(int)child.pid);
		ZT_CHECK(zt_cmd(&comp, "allow %u", re.id), "allow child: %s", comp.reply);
		line = child_line(&child, WAIT_MS);
		ZT_CHECK(strcmp(line, "ready") == 0, "child's session runs: '%s'", line);
		expect_event("indicator HEADLESS-2 on", "child's session");
	}
	frame = start_frame(sa, buffer); /* nothing changes: it waits */
	ZT_CHECK(zt_cmd(&comp, "revoke %d", (int)getpid()), "revoke our pid: %s", comp.reply);
	check_frame_failed(frame, ZCC_FAILURE_STOPPED, "waiting frame of a revoked session");
	zcc_frame_destroy(frame);
	ZT_CHECK(sa->stopped, "revoked session: stopped");
	expect_event("indicator HEADLESS-1 off", "revoked");
	check_indicator("HEADLESS-1", "off", "revoked");
	check_indicator("HEADLESS-2", "on", "child's session after revoking ours");
	line = child_line(&child, QUIET_MS);
	ZT_CHECK(line[0] == '\0', "child's session after revoking ours: '%s'", line);
	ZT_CHECK(zt_cmd(&comp, "revoke %d HEADLESS-1", (int)child.pid), "revoke child on 1: %s",
		comp.reply);
	line = child_line(&child, QUIET_MS);
	ZT_CHECK(line[0] == '\0', "child's session after revoke on another output: '%s'", line);
	ZT_CHECK(zt_cmd(&comp, "revoke %d", (int)child.pid), "revoke child: %s", comp.reply);
	line = child_line(&child, WAIT_MS);
	ZT_CHECK(strcmp(line, "stopped") == 0, "child's session revoked: '%s'", line);
	expect_event("indicator HEADLESS-2 off", "child revoked");
	child_finish(&child);
	ZT_CHECK(!zt_cmd(&comp, "revoke 999999") && strncmp(comp.reply, "error", 5) == 0,
		"revoke of a pid without clients: %s", comp.reply);
	ZT_CHECK(!zt_cmd(&comp, "revoke HEADLESS-9") && strncmp(comp.reply, "error", 5) == 0,
		"revoke on an unknown output: %s", comp.reply);

	/* Revoked is not banned: a new session asks again. */
	struct zcc_session *sf = zcc_session_create(client, output1, 0);
	struct request_event rf;
	if (expect_request(&rf, "new session after revoke")) {
		ZT_CHECK(zt_cmd(&comp, "allow %u", rf.id), "allow: %s", comp.reply);
		ZT_CHECK(zcc_session_wait_constraints(sf, WAIT_MS) == 1 &&
			!sf->stopped, "new session after revoke runs");
		expect_event("indicator HEADLESS-1 on", "new session after revoke");
	}
	zcc_session_destroy(sf);
	zcc_client_roundtrip(client, WAIT_MS);
	expect_event("indicator HEADLESS-1 off", "new session ended");
	check_events_kept("ask");
	zcc_buffer_destroy(buffer);
out:
	zcc_session_destroy(sa);
	zcc_client_destroy(client);
	zt_compositor_stop(&comp);
}

static void test_limit(void) {
	zt_section("at most 64 sessions per client");
	const char *args[] = {"--output", "64x48", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	struct zcc_client *other = zt_connect(&comp);
	if (client == NULL || other == NULL) {
		goto out;
	}
	struct zcc_output *output = find_output(client, "HEADLESS-1");
	struct zcc_session *sessions[MAX_SESSIONS + 2] = {0};
	for (int i = 0; output != NULL && i <= MAX_SESSIONS; i++) {
		sessions[i] = zcc_session_create(client, output, 0);
	}
	int running = 0, stopped_at = -1;
	for (int i = 0; output != NULL && i <= MAX_SESSIONS; i++) {
		if (sessions[i] != NULL && zcc_session_wait_constraints(sessions[i], WAIT_MS) == 1) {
			if (sessions[i]->stopped) {
				stopped_at = stopped_at < 0 ? i : stopped_at;
			} else {
				running++;
			}
		}
	}
	ZT_CHECK(running == MAX_SESSIONS && stopped_at == MAX_SESSIONS,
		"%d sessions run, the first stopped is #%d (0: none); want %d, #%d", running,
		stopped_at + 1, MAX_SESSIONS, MAX_SESSIONS + 1);
	if (sessions[MAX_SESSIONS] != NULL) {
		ZT_CHECK(sessions[MAX_SESSIONS]->constraint_batches == 0,
			"the stopped session got no constraints");
	}
	struct zcc_buffer *buffer = zcc_buffer_create(client, WL_SHM_FORMAT_XRGB8888, 64, 48, 0);
	int ready = 0;
	for (int i = 0; i < MAX_SESSIONS && sessions[i] != NULL; i++) {
		struct zcc_capture_result result;
		ready += zcc_session_capture(sessions[i], buffer, NULL, 0, WAIT_MS, &result) ==
			ZCC_FRAME_READY;
		zcc_capture_result_finish(&result);
	}
	ZT_CHECK(ready == MAX_SESSIONS, "%d of the first %d sessions capture", ready,
		MAX_SESSIONS);
	if (sessions[MAX_SESSIONS] != NULL) {
		struct zcc_frame *frame = start_frame(sessions[MAX_SESSIONS], buffer);
		check_frame_failed(frame, ZCC_FAILURE_STOPPED, "frame on the 65th session");
		zcc_frame_destroy(frame);
	}
	zcc_buffer_destroy(buffer);

	/* Another client is not affected. */
	struct zcc_session *session = open_session(other, "HEADLESS-1", 0, "another client");
	struct zcc_buffer *other_buffer = session != NULL ? session_buffer(other, session) : NULL;
	struct zcc_capture_result result;
	if (other_buffer != NULL) {
		capture_ready(session, other_buffer, &result, "another client");
		zcc_capture_result_finish(&result);
	}
	zcc_buffer_destroy(other_buffer);
	zcc_session_destroy(session);

	/* The limit is on live sessions: one ends, one more may start. */
	zcc_session_destroy(sessions[0]);
	sessions[0] = NULL;
	zcc_client_roundtrip(client, WAIT_MS);
	sessions[MAX_SESSIONS + 1] = open_session(client, "HEADLESS-1", 0,
		"a new session after one ended");
	ZT_CHECK(zt_log_contains(&comp, "more than 64 capture sessions"), "the log tells the limit");
	for (int i = 0; i < MAX_SESSIONS + 2; i++) {
		zcc_session_destroy(sessions[i]);
	}
out:
	zcc_client_destroy(client);
	zcc_client_destroy(other);
	zt_compositor_stop(&comp);
}

int main(int argc, char *argv[]) {
	if (argc == 9 && strcmp(argv[1], "--raw-session") == 0) {
		return raw_session_main(argv);
	}
	test_options();
	test_allow();
	test_deny();
	test_list();
	test_ask();
	test_limit();
	return zt_finish();
}
