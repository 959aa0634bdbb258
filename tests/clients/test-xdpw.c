/*
 * The screen-sharing path of a desktop user: xdg-desktop-portal (the
 * frontend) -> xdg-desktop-portal-wlr (xdpw) -> PipeWire -> a GStreamer
 * pipewiresrc consumer, against zerocap-compositor. Everything is real and
 * private to the test: a session dbus-daemon on its own socket, pipewire,
 * wireplumber, xdpw (config: chooser_type=none, output_name=HEADLESS-1), and
 * the frontend with XDG_CURRENT_DESKTOP=zerocap-test and a
 * zerocap-test-portals.conf that routes ScreenCast to wlr; all under one
 * temporary directory (runtime, config, home), all stopped and removed at
 * the end, and every wait bounded.
 *
 * The test drives the ScreenCast portal over D-Bus the way an application
 * does (GDBus): CreateSession, SelectSources (a monitor, embedded cursor),
 * Start (the node id of the stream from its response), OpenPipeWireRemote
 * (the fd the consumer connects with). Then gst-launch-1.0 pipewiresrc
 * fd=FD target-object=NODE ! videoconvert ! pngenc ! multifilesink writes
 * every frame as PNG while the test changes the scene twice.
 *
 * Checked: every frame is exactly one of the three scenes (the rects and the
 * embedded arrow; shm buffers, videoconvert from BGRx is lossless), in
 * order: the first frames the first scene, and each change shows in later
 * frames. xdpw hands zerocap fresh PipeWire buffers with partial damage;
 * a frame with stale or black areas is a frame that matches no scene. The
 * protocol xdpw used comes from its WAYLAND_DEBUG log: xdpw 0.8 (sid) must
 * take ext-image-copy-capture-v1. xdpw 0.7 (trixie) cannot screencast from
 * a compositor without dma-buf at all (wlroots' screencopy or zerocap's):
 * the test skips there (exit 77), by the version dpkg reports.
 *
 * Start-up: the consumer may get one or more all-black frames before the
 * first picture (xdpw drops its first captured frame when PipeWire pauses
 * and restarts the stream during negotiation); black frames are allowed
 * there only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "clients.h"

#define XDP "/usr/libexec/xdg-desktop-portal"
#define XDPW "/usr/libexec/xdg-desktop-portal-wlr"
#define DESKTOP "zerocap-test"

#define OUTPUT_W 640
#define OUTPUT_H 480
#define CURSOR_X 300
#define CURSOR_Y 200

static const struct ct_rect scene_a[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
/* Each change is one control command, so no frame can show half of it. */
/* blue moved */
static const struct ct_rect scene_b[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 500, 300, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
/* red grown over most of the screen */
static const struct ct_rect scene_c[] = {
	{"red", 10, 20, 600, 400, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 500, 300, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct scene_def {
	const char *name;
	const struct ct_rect *rects;
	int n;
};
static const struct scene_def scenes[] = {
	{"scene A", scene_a, LEN(scene_a)},
	{"scene B", scene_b, LEN(scene_b)},
	{"scene C", scene_c, LEN(scene_c)},
};
#define N_SCENES LEN(scenes)

static long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- the desktop stack ---- */

struct stack {
	char dir[256]; /* everything below it */
	char run[300], config[300], home[300];
	char bus_address[512];
	char wayland[400]; /* absolute WAYLAND_DISPLAY */
	/* started in this order, stopped the other way round */
	pid_t dbus, pipewire, wireplumber, xdpw, xdp;
	char env[8][700];
	const char *envp[9];
};

static bool write_file(const char *path, const char *text) {
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		ZT_CHECK(false, "cannot write %s: %s", path, strerror(errno));
		return false;
	}
	fputs(text, f);
	fclose(f);
	return true;
}

static bool make_dir(const char *path) {
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		ZT_CHECK(false, "mkdir %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

static bool wait_path(const char *path, pid_t pid, int timeout_ms) {
	for (long start = now_ms(); now_ms() - start < timeout_ms;) {
		if (access(path, F_OK) == 0) {
			return true;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid) {
			return false;
		}
		usleep(20000);
	}
	return false;
}

static bool stack_files(struct stack *stack, const char *output) {
	snprintf(stack->run, sizeof(stack->run), "%s/run", stack->dir);
	snprintf(stack->config, sizeof(stack->config), "%s/config", stack->dir);
	snprintf(stack->home, sizeof(stack->home), "%s/home", stack->dir);
	char path[512], text[512];
	bool ok = make_dir(stack->run) && make_dir(stack->config) && make_dir(stack->home);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal/%s-portals.conf", stack->config,
		DESKTOP);
	ok = ok && write_file(path, "[preferred]\ndefault=none\n"
		"org.freedesktop.impl.portal.ScreenCast=wlr\n");
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr/config", stack->config);
	snprintf(text, sizeof(text), "[screencast]\noutput_name=%s\nchooser_type=none\n"
		"max_fps=30\n", output);
	ok = ok && write_file(path, text);
	return ok;
}

static void stack_env(struct stack *stack) {
	int n = 0;
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_RUNTIME_DIR=%s", stack->run);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_CONFIG_HOME=%s", stack->config);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "HOME=%s", stack->home);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_CURRENT_DESKTOP=%s", DESKTOP);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "DBUS_SESSION_BUS_ADDRESS=%s",
		stack->bus_address);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_SESSION_TYPE=wayland");
	snprintf(stack->env[n++], sizeof(stack->env[0]), "WAYLAND_DEBUG=1");
	for (int i = 0; i < n; i++) {
		stack->envp[i] = stack->env[i];
	}
	stack->envp[n] = NULL;
}

static bool name_has_owner(GDBusConnection *bus, const char *name) {
	GVariant *reply = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
		g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, 2000,
		NULL, NULL);
	gboolean has = FALSE;
	if (reply != NULL) {
		g_variant_get(reply, "(b)", &has);
		g_variant_unref(reply);
	}
	return has;
}

static bool wait_name(GDBusConnection *bus, const char *name, pid_t pid, int timeout_ms) {
	for (long start = now_ms(); now_ms() - start < timeout_ms;) {
		if (name_has_owner(bus, name)) {
			return true;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid) {
			return false;
		}
		usleep(50000);
	}
	return false;
}

static void stop_process(pid_t *pid, const char *name, const char *dir, const char *log) {
	if (*pid <= 0) {
		return;
	}
	kill(*pid, SIGTERM);
	int status = ct_wait(*pid, 5000);
	ZT_CHECK(status != -1, "%s did not stop on SIGTERM (killed)", name);
	if (status != -1 && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
		ZT_CHECK(false, "%s died of signal %d", name, WTERMSIG(status));
		ct_print_log(dir, log);
	}
	*pid = -1;
}

/*
 * Processes that the bus started for us (xdg-permission-store, ...) carry
 * our bus address in their environment; they are ended by pid.
 */
static void stop_activated(const struct stack *stack) {
	DIR *proc = opendir("/proc");
	if (proc == NULL) {
		return;
	}
	char needle[600];
	snprintf(needle, sizeof(needle), "DBUS_SESSION_BUS_ADDRESS=%s", stack->bus_address);
	struct dirent *entry;
	while ((entry = readdir(proc)) != NULL) {
		pid_t pid = (pid_t)atoi(entry->d_name);
		if (pid <= 0 || pid == getpid()) {
			continue;
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		char var[4096];
		size_t len = 0;
		int c;
		bool ours = false;
		while (!ours && (c = fgetc(f)) != EOF) {
			if (c != '\0' && len + 1 < sizeof(var)) {
				var[len++] = (char)c;
				continue;
			}
			var[len] = '\0';
			ours = strcmp(var, needle) == 0;
			len = 0;
		}
		fclose(f);
		if (ours) {
			fprintf(stderr, "  ending pid %d, started through our bus\n", (int)pid);
			kill(pid, SIGTERM);
		}
	}
	closedir(proc);
}

static void stack_stop(struct stack *stack) {
	stop_process(&stack->xdp, "xdg-desktop-portal", stack->dir, "xdp.log");
	stop_process(&stack->xdpw, "xdg-desktop-portal-wlr", stack->dir, "xdpw.log");
	stop_process(&stack->wireplumber, "wireplumber", stack->dir, "wireplumber.log");
	stop_process(&stack->pipewire, "pipewire", stack->dir, "pipewire.log");
	stop_activated(stack);
	stop_process(&stack->dbus, "dbus-daemon", stack->dir, "dbus.log");
}

/* Starts the stack; on failure stops what it started. bus gets a connection. */
static bool stack_start(struct stack *stack, struct zt_compositor *comp, GDBusConnection **bus) {
	*bus = NULL;
	stack->dbus = stack->pipewire = stack->wireplumber = stack->xdpw = stack->xdp = -1;
	snprintf(stack->wayland, sizeof(stack->wayland), "%s/%s", getenv("XDG_RUNTIME_DIR"),
		comp->socket);
	if (!stack_files(stack, "HEADLESS-1")) {
		return false;
	}
	char bus_path[400];
	snprintf(bus_path, sizeof(bus_path), "%s/bus", stack->run);
	snprintf(stack->bus_address, sizeof(stack->bus_address), "unix:path=%s", bus_path);
	stack_env(stack);
	char address[600];
	snprintf(address, sizeof(address), "--address=%s", stack->bus_address);
	const char *dbus_argv[] = {"dbus-daemon", "--session", "--nofork", "--nopidfile", address,
		NULL};
	stack->dbus = ct_spawn(stack->dir, stack->wayland, dbus_argv, stack->envp, "dbus.log");
	if (!wait_path(bus_path, stack->dbus, 10000)) {
		ZT_CHECK(false, "dbus-daemon did not come up");
		ct_print_log(stack->dir, "dbus.log");
		stack_stop(stack);
		return false;
	}
	GError *error = NULL;
	*bus = g_dbus_connection_new_for_address_sync(stack->bus_address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
	if (*bus == NULL) {
		ZT_CHECK(false, "cannot connect to our bus: %s", error->message);
		g_error_free(error);
		stack_stop(stack);
		return false;
	}

	const char *pipewire_argv[] = {"pipewire", NULL};
	stack->pipewire = ct_spawn(stack->dir, NULL, pipewire_argv, stack->envp, "pipewire.log");
	char pw_socket[400];
	snprintf(pw_socket, sizeof(pw_socket), "%s/pipewire-0", stack->run);
	bool ok = wait_path(pw_socket, stack->pipewire, 10000);
	ZT_CHECK(ok, "pipewire did not come up");
	if (!ok) {
		ct_print_log(stack->dir, "pipewire.log");
	}
	const char *wireplumber_argv[] = {"wireplumber", NULL};
	if (ok) {
		stack->wireplumber = ct_spawn(stack->dir, NULL, wireplumber_argv, stack->envp,
			"wireplumber.log");
		/* Let it register as the session manager before the portal streams. */
		usleep(300000);
		ok = waitpid(stack->wireplumber, NULL, WNOHANG) == 0;
		ZT_CHECK(ok, "wireplumber exited");
		if (!ok) {
			ct_print_log(stack->dir, "wireplumber.log");
		}
	}
	const char *xdpw_argv[] = {XDPW, "-l", "DEBUG", NULL};
	if (ok) {
		stack->xdpw = ct_spawn(stack->dir, stack->wayland, xdpw_argv, stack->envp,
			"xdpw.log");
		ok = wait_name(*bus, "org.freedesktop.impl.portal.desktop.wlr", stack->xdpw, 10000);
		ZT_CHECK(ok, "xdg-desktop-portal-wlr did not take its D-Bus name");
		if (!ok) {
			ct_print_log(stack->dir, "xdpw.log");
		}
	}
	const char *xdp_argv[] = {XDP, "-v", NULL};
	if (ok) {
		stack->xdp = ct_spawn(stack->dir, NULL, xdp_argv, stack->envp, "xdp.log");
		ok = wait_name(*bus, "org.freedesktop.portal.Desktop", stack->xdp, 15000);
		ZT_CHECK(ok, "xdg-desktop-portal did not take its D-Bus name");
		if (!ok) {
			ct_print_log(stack->dir, "xdp.log");
		}
	}
	if (!ok) {
		g_object_unref(*bus);
		*bus = NULL;
		stack_stop(stack);
	}
	return ok;
}

/* ---- the ScreenCast portal ---- */

#define PORTAL_NAME "org.freedesktop.portal.Desktop"
#define PORTAL_PATH "/org/freedesktop/portal/desktop"
#define SCREENCAST "org.freedesktop.portal.ScreenCast"

struct portal {
	GDBusConnection *bus;
	guint subscription;
	/* Request::Response signals as they came: path, code, results */
	struct {
		char path[256];
		guint32 code;
		GVariant *results;
	} responses[8];
	int n_responses;
	char session[256];
	guint32 node;
	int width, height;
};

static void handle_response(GDBusConnection *bus, const char *sender, const char *path,
		const char *interface, const char *signal, GVariant *parameters, gpointer data) {
	struct portal *portal = data;
	if (portal->n_responses == LEN(portal->responses)) {
		return;
	}
	int i = portal->n_responses++;
	snprintf(portal->responses[i].path, sizeof(portal->responses[i].path), "%s", path);
	g_variant_get(parameters, "(u@a{sv})", &portal->responses[i].code,
		&portal->responses[i].results);
}

/* The response to request handle, within timeout_ms; NULL if none. */
static GVariant *wait_response(struct portal *portal, const char *handle, guint32 *code,
		int timeout_ms) {
	for (long start = now_ms(); now_ms() - start < timeout_ms;) {
		for (int i = 0; i < portal->n_responses; i++) {
			if (strcmp(portal->responses[i].path, handle) == 0) {
				*code = portal->responses[i].code;
				return portal->responses[i].results;
			}
		}
		if (!g_main_context_iteration(NULL, FALSE)) {
			usleep(10000);
		}
	}
	return NULL;
}

/* Calls a portal method that answers through a Request; its results or NULL. */
static GVariant *portal_request(struct portal *portal, const char *method,
		GVariant *parameters, const char *what) {
	GError *error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(portal->bus, PORTAL_NAME, PORTAL_PATH,
		SCREENCAST, method, parameters, G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
		20000, NULL, &error);
	if (reply == NULL) {
		ZT_CHECK(false, "%s: %s failed: %s", what, method, error->message);
		g_error_free(error);
		return NULL;
	}
	const char *handle = NULL;
	g_variant_get(reply, "(&o)", &handle);
	guint32 code = 99;
	GVariant *results = wait_response(portal, handle, &code, 20000);
	ZT_CHECK(results != NULL, "%s: no Response to %s", what, method);
	ZT_CHECK(results == NULL || code == 0, "%s: %s answered %u (0 is success)", what, method,
		code);
	g_variant_unref(reply);
	return results != NULL && code == 0 ? results : NULL;
}

static guint32 portal_property(struct portal *portal, const char *name) {
	GVariant *reply = g_dbus_connection_call_sync(portal->bus, PORTAL_NAME, PORTAL_PATH,
		"org.freedesktop.DBus.Properties", "Get", g_variant_new("(ss)", SCREENCAST, name),
		G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
	guint32 value = 0;
	if (reply != NULL) {
		GVariant *inner = NULL;
		g_variant_get(reply, "(v)", &inner);
		if (g_variant_is_of_type(inner, G_VARIANT_TYPE_UINT32)) {
			value = g_variant_get_uint32(inner);
		}
		g_variant_unref(inner);
		g_variant_unref(reply);
	}
	return value;
}

/* CreateSession, SelectSources (a monitor, embedded cursor), Start. */
static bool portal_start(struct portal *portal) {
	portal->subscription = g_dbus_connection_signal_subscribe(portal->bus, PORTAL_NAME,
		"org.freedesktop.portal.Request", "Response", NULL, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, handle_response, portal, NULL);
	guint32 version = portal_property(portal, "version");
	guint32 sources = portal_property(portal, "AvailableSourceTypes");
	guint32 cursors = portal_property(portal, "AvailableCursorModes");
	fprintf(stderr, "  ScreenCast portal version %u, source types %#x, cursor modes %#x\n",
		version, sources, cursors);
	ZT_CHECK(version >= 1 && (sources & 1) != 0 && (cursors & 2) != 0,
		"the ScreenCast portal offers no monitor with an embedded cursor");

	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string("zt1"));
	g_variant_builder_add(&options, "{sv}", "session_handle_token",
		g_variant_new_string("ztsession"));
	GVariant *results = portal_request(portal, "CreateSession",
		g_variant_new("(a{sv})", &options), "CreateSession");
	const char *session = NULL;
	if (results == NULL || !g_variant_lookup(results, "session_handle", "&s", &session)) {
		ZT_CHECK(results == NULL, "CreateSession: no session_handle in its response");
		return false;
	}
	snprintf(portal->session, sizeof(portal->session), "%s", session);

	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string("zt2"));
	g_variant_builder_add(&options, "{sv}", "types", g_variant_new_uint32(1));
	g_variant_builder_add(&options, "{sv}", "multiple", g_variant_new_boolean(FALSE));
	g_variant_builder_add(&options, "{sv}", "cursor_mode", g_variant_new_uint32(2));
	if (portal_request(portal, "SelectSources", g_variant_new("(oa{sv})", portal->session,
			&options), "SelectSources") == NULL) {
		return false;
	}

	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string("zt3"));
	results = portal_request(portal, "Start", g_variant_new("(osa{sv})", portal->session, "",
		&options), "Start");
	GVariant *streams = results != NULL ?
		g_variant_lookup_value(results, "streams", G_VARIANT_TYPE("a(ua{sv})")) : NULL;
	bool one = streams != NULL && g_variant_n_children(streams) == 1;
	ZT_CHECK(results == NULL || one, "Start: expected one stream in its response");
	if (!one) {
		if (streams != NULL) {
			g_variant_unref(streams);
		}
		return false;
	}
	GVariant *props = NULL;
	g_variant_get_child(streams, 0, "(u@a{sv})", &portal->node, &props);
	gint32 w = 0, h = 0;
	g_variant_lookup(props, "size", "(ii)", &w, &h);
	portal->width = w;
	portal->height = h;
	fprintf(stderr, "  Start: PipeWire node %u, size %dx%d\n", portal->node, w, h);
	g_variant_unref(props);
	g_variant_unref(streams);
	return true;
}

/* OpenPipeWireRemote: an fd for the consumer, without FD_CLOEXEC; -1 on failure. */
static int portal_remote(struct portal *portal) {
	GError *error = NULL;
	GUnixFDList *fds = NULL;
	GVariant *reply = g_dbus_connection_call_with_unix_fd_list_sync(portal->bus, PORTAL_NAME,
		PORTAL_PATH, SCREENCAST, "OpenPipeWireRemote",
		g_variant_new("(oa{sv})", portal->session, NULL), G_VARIANT_TYPE("(h)"),
		G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &fds, NULL, &error);
	if (reply == NULL) {
		ZT_CHECK(false, "OpenPipeWireRemote failed: %s", error->message);
		g_error_free(error);
		return -1;
	}
	gint32 index = -1;
	g_variant_get(reply, "(h)", &index);
	int fd = fds != NULL ? g_unix_fd_list_get(fds, index, NULL) : -1;
	ZT_CHECK(fd >= 0, "OpenPipeWireRemote gave no fd");
	if (fd >= 0) {
		fcntl(fd, F_SETFD, 0);
	}
	g_variant_unref(reply);
	if (fds != NULL) {
		g_object_unref(fds);
	}
	return fd;
}

static void portal_close(struct portal *portal) {
	if (portal->session[0] != '\0') {
		GVariant *reply = g_dbus_connection_call_sync(portal->bus, PORTAL_NAME,
			portal->session, "org.freedesktop.portal.Session", "Close", NULL, NULL,
			G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
		ZT_CHECK(reply != NULL, "Session.Close failed: the share had ended");
		if (reply != NULL) {
			g_variant_unref(reply);
		}
	}
	if (portal->subscription != 0) {
		g_dbus_connection_signal_unsubscribe(portal->bus, portal->subscription);
	}
	for (int i = 0; i < portal->n_responses; i++) {
		g_variant_unref(portal->responses[i].results);
	}
	portal->n_responses = 0;
}

/* ---- frames ---- */

static bool frame_path(const char *dir, int index, char *path, size_t size) {
	snprintf(path, size, "%s/frames/frame-%05d.png", dir, index);
	return access(path, F_OK) == 0;
}

/* A PNG is whole once it ends with its IEND chunk. */
static bool png_whole(const char *path) {
	static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
	FILE *f = fopen(path, "rb");
	uint8_t tail[12];
	bool whole = f != NULL && fseek(f, -12, SEEK_END) == 0 &&
		fread(tail, 1, sizeof(tail), f) == sizeof(tail) && memcmp(tail, iend, 12) == 0;
	if (f != NULL) {
		fclose(f);
	}
	return whole;
}

/* The frames gst wrote whole so far. */
static int frames_complete(const char *dir) {
	char path[512];
	int n = 0;
	while (frame_path(dir, n, path, sizeof(path)) && png_whole(path)) {
		n++;
	}
	return n;
}

/* Which scene image is (index into scenes), -1 for none; mismatch counts. */
static int classify(const struct ct_image *image, int bad[N_SCENES]) {
	static const struct ct_output box = {0, 0, OUTPUT_W, OUTPUT_H};
	int found = -1;
	for (int s = 0; s < N_SCENES; s++) {
		struct ct_scene scene = {
			.rects = scenes[s].rects, .n_rects = scenes[s].n, .outputs = &box,
			.n_outputs = 1, .cursor = true, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
		};
		struct ct_scene_view view = {
			.scene = &scene, .scale = 1, .transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
		bad[s] = 0;
		for (int y = 0; y < image->height; y++) {
			for (int x = 0; x < image->width; x++) {
				bad[s] += ct_image_pixel(image, x, y) != ct_scene_view_expect(&view, x, y);
			}
		}
		if (bad[s] == 0 && found < 0) {
			found = s;
		}
	}
	return found;
}

#define FRAME_BLACK (-3)

/*
 * Decodes and classifies frame index: a scene, -1 for none, FRAME_BLACK for
 * all black, -2 when it cannot be read.
 */
static int check_frame(const char *dir, int index, int bad[N_SCENES]) {
	char path[512];
	frame_path(dir, index, path, sizeof(path));
	struct ct_image image;
	if (!ct_read_png(path, &image)) {
		return -2;
	}
	int scene = -2;
	if (image.width == OUTPUT_W && image.height == OUTPUT_H) {
		scene = classify(&image, bad);
		bool black = true;
		for (int i = 0; black && i < image.width * image.height * 3; i++) {
			black = image.rgb[i] == 0;
		}
		scene = scene < 0 && black ? FRAME_BLACK : scene;
	} else {
		fprintf(stderr, "  frame %d is %dx%d\n", index, image.width, image.height);
	}
	ct_image_finish(&image);
	return scene;
}

/* Waits until a complete frame after `after` shows scene; its index or -1. */
static int wait_scene(const char *dir, pid_t gst, int after, int scene, int *checked,
		int *results, int max_frames, int timeout_ms) {
	for (long start = now_ms(); now_ms() - start < timeout_ms;) {
		siginfo_t info = {0};
		bool ended = waitid(P_PID, gst, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
			info.si_pid == gst;
		int n = frames_complete(dir);
		for (; *checked < n && *checked < max_frames; (*checked)++) {
			int bad[N_SCENES];
			results[*checked] = check_frame(dir, *checked, bad);
			if (results[*checked] == -1 || results[*checked] == -2) {
				fprintf(stderr, "  frame %d matches no scene (%d, %d, %d pixels off)\n",
					*checked, bad[0], bad[1], bad[2]);
			}
		}
		for (int i = after + 1; i < *checked; i++) {
			if (results[i] == scene) {
				return i;
			}
		}
		if (ended) {
			return -1;
		}
		usleep(20000);
	}
	return -1;
}

/* The one rect that differs from the scene before (all of them for scene A). */
static void change_scene(struct zt_compositor *comp, int index) {
	const struct scene_def *scene = &scenes[index];
	for (int i = 0; i < scene->n; i++) {
		const struct ct_rect *r = &scene->rects[i];
		const struct ct_rect *was = index > 0 ? &scenes[index - 1].rects[i] : NULL;
		if (was != NULL && memcmp(r, was, sizeof(*r)) == 0) {
			continue;
		}
		struct ct_scene one = {.rects = r, .n_rects = 1};
		ct_scene_apply(comp, &one);
	}
}

/* xdpw's version from dpkg as major * 100 + minor; -1 when unknown. */
static int xdpw_version(char *text, size_t size) {
	char dir[256];
	text[0] = '\0';
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return -1;
	}
	const char *argv[] = {"dpkg-query", "-W", "-f=${Version}\\n", "xdg-desktop-portal-wlr",
		NULL};
	bool ran = ct_run(dir, NULL, argv, 10000, "version.txt");
	char path[512];
	snprintf(path, sizeof(path), "%s/version.txt", dir);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(text, (int)size, f) == NULL) {
			text[0] = '\0';
		}
		fclose(f);
	}
	ct_tmpdir_remove(dir);
	text[strcspn(text, "\n")] = '\0';
	int major = 0, minor = 0;
	return ran && sscanf(text, "%d.%d", &major, &minor) == 2 ? major * 100 + minor : -1;
}

#define MAX_FRAMES 400

static void test_screencast(enum ct_protocol protocol) {
	zt_section("ScreenCast portal -> xdg-desktop-portal-wlr -> PipeWire -> pipewiresrc");
	struct stack stack = {0};
	if (!ct_tmpdir(stack.dir, sizeof(stack.dir))) {
		return;
	}
	char size[32];
	snprintf(size, sizeof(size), "%dx%d", OUTPUT_W, OUTPUT_H);
	const char *args[] = {"--output", size, NULL};
	struct zt_compositor comp;
	if (!zt_compositor_start(&comp, args)) {
		ct_tmpdir_remove(stack.dir);
		return;
	}
	change_scene(&comp, 0);
	ZT_CHECK(zt_cmd(&comp, "cursor %d %d", CURSOR_X, CURSOR_Y), "cursor: %s", comp.reply);

	GDBusConnection *bus = NULL;
	if (!stack_start(&stack, &comp, &bus)) {
		zt_compositor_stop(&comp);
		ct_tmpdir_remove(stack.dir);
		return;
	}
	struct portal portal = {.bus = bus};
	int fd = -1;
	if (portal_start(&portal)) {
		ZT_CHECK(portal.width == OUTPUT_W && portal.height == OUTPUT_H,
			"the stream is %dx%d, expected %dx%d", portal.width, portal.height, OUTPUT_W,
			OUTPUT_H);
		fd = portal_remote(&portal);
	}
	pid_t gst = -1;
	if (fd >= 0) {
		char frames[400], fd_arg[32], target[64], location[450];
		snprintf(frames, sizeof(frames), "%s/frames", stack.dir);
		make_dir(frames);
		snprintf(fd_arg, sizeof(fd_arg), "fd=%d", fd);
		snprintf(target, sizeof(target), "target-object=%u", portal.node);
		snprintf(location, sizeof(location), "location=%s/frame-%%05d.png", frames);
		const char *argv[] = {"gst-launch-1.0", "-e", "pipewiresrc", fd_arg, target,
			"always-copy=true", "provide-clock=false", "!", "videoconvert", "!", "video/x-raw,format=RGB", "!",
			"pngenc", "compression-level=1", "!", "multifilesink", "sync=false", location, NULL};
		gst = ct_spawn(stack.dir, NULL, argv, stack.envp, "gst.log");
		close(fd);
	}
	if (gst > 0) {
		int results[MAX_FRAMES];
		int checked = 0;
		int a = wait_scene(stack.dir, gst, -1, 0, &checked, results, MAX_FRAMES, 15000);
		bool first = a >= 0;
		for (int i = 0; i < a; i++) {
			first = first && results[i] == FRAME_BLACK;
		}
		ZT_CHECK(first, "the first picture is not scene A (frame %d is)", a);
		if (a < 0) {
			ct_print_log(stack.dir, "gst.log");
		}
		int b = -1, c = -1;
		if (a >= 0) {
			long t = now_ms();
			change_scene(&comp, 1);
			b = wait_scene(stack.dir, gst, a, 1, &checked, results, MAX_FRAMES, 10000);
			ZT_CHECK(b > a, "no frame shows scene B after the change");
			fprintf(stderr, "  scene B from frame %d, %ld ms after the change\n", b,
				now_ms() - t);
		}
		if (b > a) {
			long t = now_ms();
			change_scene(&comp, 2);
			c = wait_scene(stack.dir, gst, b, 2, &checked, results, MAX_FRAMES, 10000);
			ZT_CHECK(c > b, "no frame shows scene C after the change");
			fprintf(stderr, "  scene C from frame %d, %ld ms after the change\n", c,
				now_ms() - t);
		}
		/* A moment for late frames, then every frame must be a scene, in order. */
		usleep(300000);
		kill(gst, SIGINT);
		int status = ct_wait(gst, 10000);
		ZT_CHECK(status != -1 && WIFEXITED(status),
			"gst-launch-1.0: %s after SIGINT", ct_status_str(status));
		int n = frames_complete(stack.dir);
		for (; checked < n && checked < MAX_FRAMES; checked++) {
			int bad[N_SCENES];
			results[checked] = check_frame(stack.dir, checked, bad);
			if (results[checked] == -1) {
				fprintf(stderr, "  frame %d matches no scene (%d, %d, %d pixels off)\n",
					checked, bad[0], bad[1], bad[2]);
			}
		}
		int none = 0, backwards = 0, last = 0, leading_black = 0, black = 0;
		bool seen = false;
		for (int i = 0; i < checked; i++) {
			if (results[i] == FRAME_BLACK) {
				black++;
				leading_black += !seen;
				continue;
			}
			none += results[i] < 0;
			if (results[i] >= 0) {
				seen = true;
				backwards += results[i] < last;
				last = results[i];
			}
		}
		fprintf(stderr, "  %d frames: %d black before the first picture, A from %d, B from "
			"%d, C from %d\n", checked, leading_black, a, b, c);
		ZT_CHECK(checked > 0 && none == 0, "%d of %d frames match no scene", none, checked);
		ZT_CHECK(black == leading_black, "%d black frames after the first picture",
			black - leading_black);
		ZT_CHECK(backwards == 0, "%d frames show an older scene than the one before",
			backwards);
		/*
		 * The consumer left: xdpw pauses its stream and removes the buffers.
		 * The share itself must survive that (another consumer may come, a
		 * paused one may resume): no failed capture, the session still there.
		 */
		usleep(300000);
		ZT_CHECK(!ct_file_contains(stack.dir, "xdpw.log", "frame capture failed"),
			"xdg-desktop-portal-wlr saw a capture fail when its consumer paused the "
			"stream (and ended the share)");
	}
	portal_close(&portal);
	g_object_unref(bus);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor is still running");
	stack_stop(&stack);
	ct_check_protocol(stack.dir, "xdpw.log", protocol, "xdg-desktop-portal-wlr");
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(stack.dir);
}

int main(void) {
	if (!ct_have_program(XDPW) || !ct_have_program("dpkg-query")) {
		/* scripts/dev installs it: missing is a failure, not a skip. */
		ZT_CHECK(false, "%s or dpkg-query is not installed", XDPW);
		return zt_finish();
	}
	char version[64];
	int v = xdpw_version(version, sizeof(version));
	ZT_CHECK(v >= 0, "cannot tell xdg-desktop-portal-wlr's version (dpkg: '%s')", version);
	if (v >= 0 && v < 8) {
		/*
		 * 0.7 (trixie) ends the share at Start on a compositor without
		 * dma-buf ("unable to receive a valid format from wlr_screencopy"),
		 * with wlroots' own screencopy as with zerocap's: too old for the
		 * headless pixman compositor.
		 */
		printf("SKIP: xdg-desktop-portal-wlr %s is older than 0.8, which screencasts "
			"from wl_shm-only compositors\n", version);
		return 77;
	}
	/* From 0.8 on xdpw takes ext-image-copy-capture-v1 when the compositor has it. */
	enum ct_protocol protocol = CT_EXT_IMAGE_COPY_CAPTURE;
	fprintf(stderr, "note: xdg-desktop-portal-wlr %s: expecting %s\n", version,
		ct_protocol_name(protocol));
	static const char *const programs[] = {"dbus-daemon", "pipewire", "wireplumber", XDP,
		"gst-launch-1.0"};
	bool have_all = v >= 0;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed", programs[i]);
		have_all = have_all && have;
	}
	if (have_all) {
		signal(SIGPIPE, SIG_IGN);
		test_screencast(protocol);
	}
	return zt_finish();
}
