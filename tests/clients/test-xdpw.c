/*
 * The screen-sharing path of a desktop user: xdg-desktop-portal (the
 * frontend) -> xdg-desktop-portal-wlr (xdpw) -> PipeWire -> an application,
 * against zerocap-compositor. Everything is real and private to the test: a
 * session dbus-daemon on its own socket, pipewire, wireplumber, xdpw
 * (config: chooser_type=none, output_name=HEADLESS-1, max_fps=30), and the
 * frontend with XDG_CURRENT_DESKTOP=zerocap-test and a
 * zerocap-test-portals.conf that routes ScreenCast to wlr; all under one
 * temporary directory (runtime, config, home), all stopped and removed at
 * the end, and every wait bounded.
 *
 * The test drives the ScreenCast portal over D-Bus the way an application
 * does (GDBus): CreateSession, SelectSources (a monitor, embedded cursor),
 * Start (the node id of the stream from its response), OpenPipeWireRemote
 * (the fd the consumer connects with). The consumer is what OBS's PipeWire
 * source and the browsers do (libpipewire): one input stream on the node,
 * BGRx or RGBx, mapped shm buffers, connected once and active until it
 * leaves. A first consumer sees scene A, then each of two changes; it
 * leaves, and a second consumer on a new remote sees the next change.
 *
 * Checked: every frame is exactly one of the scenes (the rects and the
 * embedded arrow, compared pixel for pixel), in order, the first frame the
 * scene on screen; xdpw hands zerocap PipeWire buffers with partial damage,
 * so a frame with stale or black areas matches no scene. Frame timestamps
 * (zerocap's presentation_time, which xdpw passes on as the buffer's pts)
 * do not go back and are not older than the consumer: consumers that sync
 * on them hold every frame back by the age of the first. No frame fails
 * while a consumer streams; when one leaves, xdpw destroys the buffers of
 * the frame that waits for a change, which fails with buffer_constraints
 * (xdpw logs an error and goes on; with wlroots' own capture the frame
 * stays pending, and xdpw's next create_frame, for the next consumer, is a
 * duplicate_frame protocol error). The share must survive that: the second
 * consumer, then Session.Close. The protocol xdpw used comes from its
 * WAYLAND_DEBUG log: xdpw 0.8 (sid) must take ext-image-copy-capture-v1.
 * xdpw 0.7 (trixie) cannot screencast from a compositor without dma-buf at
 * all (wlroots' screencopy or zerocap's): the test skips there (exit 77),
 * by the version dpkg reports.
 *
 * Why not GStreamer's pipewiresrc: it deactivates its stream at the end of
 * READY->PAUSED and activates it again at PAUSED->PLAYING (gstpipewiresrc.c,
 * "This is janky"), a few milliseconds after xdpw started streaming. xdpw
 * 0.8.4 neither cancels its frame-rate timer nor drops its frame in flight
 * when the stream pauses, and captures again when it resumes: two
 * create_frame requests back to back (duplicate_frame, which wlroots raises
 * the same way), or, when the pause beats the first frame, a buffer
 * returned with pts 0 that makes pipewiresrc wait for hours. Which one
 * depends on microseconds, with wlroots' capture as with zerocap's; an
 * application that keeps its stream active, as OBS and the browsers do,
 * never meets it.
 *
 * Built a second time with ZT_PORTAL_ZEROCAP (test 'portal'), the same
 * stack and checks run with xdg-desktop-portal-zerocap ($ZC_PORTAL, its
 * .portal file found through XDG_DESKTOP_PORTAL_DIR, its choice configured
 * as output:HEADLESS-1) in xdpw's place: the frontend, PipeWire and the
 * consumer are the same, and the share must live through both consumers
 * with no frame lost or broken. Restore tokens are checked there too: a
 * second session with the token of the first starts without a choice.
 */
#include <dirent.h>
#include <errno.h>
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
#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <spa/utils/result.h>
#include <wayland-client-protocol.h>
#include "clients.h"

#define XDP "/usr/libexec/xdg-desktop-portal"
#define XDPW "/usr/libexec/xdg-desktop-portal-wlr"
#ifdef ZT_PORTAL_ZEROCAP
#define BACKEND_NAME "org.freedesktop.impl.portal.desktop.zerocap"
#define BACKEND_LOG "backend.log"
#define BACKEND_TITLE "xdg-desktop-portal-zerocap"
#else
#define BACKEND_NAME "org.freedesktop.impl.portal.desktop.wlr"
#define BACKEND_LOG "xdpw.log"
#define BACKEND_TITLE "xdg-desktop-portal-wlr"
#endif
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
/* green moved (for the second consumer) */
static const struct ct_rect scene_d[] = {
	{"red", 10, 20, 600, 400, 0xff0000},
	{"green", 300, 50, 40, 40, 0x00ff00},
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
	{"scene D", scene_d, LEN(scene_d)},
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
	char run[300], config[300], home[300], portals[300];
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
	char path[512], text[1024];
	bool ok = make_dir(stack->run) && make_dir(stack->config) && make_dir(stack->home);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal/%s-portals.conf", stack->config,
		DESKTOP);
#ifdef ZT_PORTAL_ZEROCAP
	/*
	 * With XDG_DESKTOP_PORTAL_DIR the frontend reads both the .portal files
	 * and the portals.conf from there: a directory of the test's own with a
	 * copy of zerocap.portal.
	 */
	char portal_file[600];
	snprintf(portal_file, sizeof(portal_file), "%s/zerocap.portal",
		getenv("ZC_PORTAL_DIR") != NULL ? getenv("ZC_PORTAL_DIR") : ".");
	FILE *in = fopen(portal_file, "r");
	char portal_text[512] = {0};
	ok = ok && in != NULL && fread(portal_text, 1, sizeof(portal_text) - 1, in) > 0;
	if (in != NULL) {
		fclose(in);
	}
	snprintf(stack->portals, sizeof(stack->portals), "%s/portals", stack->dir);
	ok = ok && make_dir(stack->portals);
	snprintf(path, sizeof(path), "%s/zerocap.portal", stack->portals);
	ok = ok && write_file(path, portal_text);
	snprintf(path, sizeof(path), "%s/%s-portals.conf", stack->portals, DESKTOP);
	ok = ok && write_file(path, "[preferred]\ndefault=none\n"
		"org.freedesktop.impl.portal.ScreenCast=zerocap\n"
		"org.freedesktop.impl.portal.Screenshot=zerocap\n"
		"org.freedesktop.impl.portal.Access=zerocap\n");
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-zerocap", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-zerocap/config", stack->config);
	/* A chooser that logs every time it is asked: restore tokens must skip it. */
	snprintf(text, sizeof(text), "[screencast]\nchooser_cmd=sh -c 'echo asked >> %s/chooser.log; "
		"echo output:%s'\nmax_fps=30\naccess_cmd=echo \"$2\" >> %s/access.log\n", stack->dir,
		output, stack->dir);
#else
	ok = ok && write_file(path, "[preferred]\ndefault=none\n"
		"org.freedesktop.impl.portal.ScreenCast=wlr\n");
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr/config", stack->config);
	snprintf(text, sizeof(text), "[screencast]\noutput_name=%s\nchooser_type=none\n"
		"max_fps=30\n", output);
#endif
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
#ifdef ZT_PORTAL_ZEROCAP
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_DESKTOP_PORTAL_DIR=%s",
		stack->portals);
#endif
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
	stop_process(&stack->xdpw, BACKEND_TITLE, stack->dir, BACKEND_LOG);
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
#ifdef ZT_PORTAL_ZEROCAP
	const char *xdpw_argv[] = {getenv("ZC_PORTAL"), NULL};
#else
	const char *xdpw_argv[] = {XDPW, "-l", "DEBUG", NULL};
#endif
	if (ok) {
		stack->xdpw = ct_spawn(stack->dir, stack->wayland, xdpw_argv, stack->envp,
			BACKEND_LOG);
		ok = wait_name(*bus, BACKEND_NAME, stack->xdpw, 10000);
		ZT_CHECK(ok, "%s did not take its D-Bus name", BACKEND_TITLE);
		if (!ok) {
			ct_print_log(stack->dir, BACKEND_LOG);
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
	char restore_token[128]; /* from Start (persist_mode 2); sent back when set */
	bool persist;
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
	if (portal->persist) {
		g_variant_builder_add(&options, "{sv}", "persist_mode", g_variant_new_uint32(2));
	}
	if (portal->restore_token[0] != '\0') {
		g_variant_builder_add(&options, "{sv}", "restore_token",
			g_variant_new_string(portal->restore_token));
	}
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
	const char *token = NULL;
	if (g_variant_lookup(results, "restore_token", "&s", &token)) {
		snprintf(portal->restore_token, sizeof(portal->restore_token), "%s", token);
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

/* OpenPipeWireRemote: an fd for a consumer; -1 on failure. */
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

#ifndef ZT_PORTAL_ZEROCAP
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
#endif

/* ---- the consumer ---- */

/*
 * What a screen-sharing application does with the portal's PipeWire remote
 * (OBS's PipeWire source, the browsers' WebRTC capturers): one input
 * stream on the node, connected once and active until the share ends,
 * buffers mapped, every frame looked at and given back at once. Frames are
 * classified here, on PipeWire's thread; the test reads the results under
 * the thread loop's lock.
 */
#define MAX_FRAMES 200

struct consumer {
	const char *name; /* in messages and in the names of saved frames */
	const char *dir; /* unmatched frames are saved there as PPM */
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct pw_stream *stream;
	struct spa_hook core_listener, stream_listener;
	uint64_t connected_ns; /* CLOCK_MONOTONIC when it connected */
	/* PipeWire's thread writes, the test reads (locked) */
	struct spa_video_info_raw format;
	bool have_format;
	bool error;
	char error_text[160];
	int results[MAX_FRAMES]; /* scene index, -1 for none */
	uint64_t pts_ns[MAX_FRAMES]; /* the compositor's presentation time */
	uint64_t arrived_ns[MAX_FRAMES];
	int n_frames;
	int corrupted; /* buffers xdpw marked corrupted: not frames */
	int dropped; /* frames past MAX_FRAMES */
};

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
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

static void save_ppm(const struct consumer *consumer, int index, const struct ct_image *image) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s-frame-%03d.ppm", consumer->dir, consumer->name,
		index);
	FILE *f = fopen(path, "wb");
	if (f != NULL) {
		fprintf(f, "P6\n%d %d\n255\n", image->width, image->height);
		fwrite(image->rgb, 1, (size_t)image->width * image->height * 3, f);
		fclose(f);
	}
}

/* The BGRx or RGBx pixels of a buffer as RGB; false if they cannot be read. */
static bool buffer_image(const struct consumer *consumer, const struct spa_buffer *buffer,
		struct ct_image *image) {
	const struct spa_data *d = &buffer->datas[0];
	uint32_t width = consumer->format.size.width, height = consumer->format.size.height;
	int32_t stride = d->chunk->stride != 0 ? d->chunk->stride : (int32_t)width * 4;
	if (d->data == NULL || stride < (int32_t)width * 4 ||
			d->chunk->offset + (uint64_t)stride * height > d->maxsize) {
		return false;
	}
	bool bgr = consumer->format.format == SPA_VIDEO_FORMAT_BGRx;
	image->width = (int)width;
	image->height = (int)height;
	image->rgb = malloc((size_t)width * height * 3);
	if (image->rgb == NULL) {
		return false;
	}
	const uint8_t *src = (const uint8_t *)d->data + d->chunk->offset;
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *row = src + (size_t)y * stride;
		uint8_t *out = image->rgb + (size_t)y * width * 3;
		for (uint32_t x = 0; x < width; x++) {
			out[x * 3 + 0] = row[x * 4 + (bgr ? 2 : 0)];
			out[x * 3 + 1] = row[x * 4 + 1];
			out[x * 3 + 2] = row[x * 4 + (bgr ? 0 : 2)];
		}
	}
	return true;
}

static void consumer_frame(struct consumer *consumer, struct pw_buffer *pw_buffer) {
	struct spa_buffer *buffer = pw_buffer->buffer;
	struct spa_meta_header *header = spa_buffer_find_meta_data(buffer, SPA_META_Header,
		sizeof(*header));
	const struct spa_data *d = &buffer->datas[0];
	if ((header != NULL && (header->flags & SPA_META_HEADER_FLAG_CORRUPTED)) ||
			(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) || d->chunk->size == 0) {
		consumer->corrupted++;
		return;
	}
	if (consumer->n_frames == MAX_FRAMES) {
		consumer->dropped++;
		return;
	}
	int i = consumer->n_frames++;
	consumer->arrived_ns[i] = now_ns();
	consumer->pts_ns[i] = header != NULL ? (uint64_t)header->pts : 0;
	struct ct_image image = {0};
	int bad[N_SCENES] = {0};
	consumer->results[i] = -1;
	if (consumer->have_format && buffer_image(consumer, buffer, &image)) {
		consumer->results[i] = classify(&image, bad);
		if (consumer->results[i] < 0) {
			fprintf(stderr, "  %s: frame %d matches no scene "
				"(%d, %d, %d, %d pixels off)\n", consumer->name, i, bad[0], bad[1], bad[2],
				bad[3]);
			save_ppm(consumer, i, &image);
		}
		ct_image_finish(&image);
	} else {
		fprintf(stderr, "  %s: frame %d cannot be read\n", consumer->name, i);
	}
}

static void handle_process(void *data) {
	struct consumer *consumer = data;
	struct pw_buffer *pw_buffer;
	while ((pw_buffer = pw_stream_dequeue_buffer(consumer->stream)) != NULL) {
		consumer_frame(consumer, pw_buffer);
		pw_stream_queue_buffer(consumer->stream, pw_buffer);
	}
	pw_thread_loop_signal(consumer->loop, false);
}

static void handle_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
	struct consumer *consumer = data;
	if (param == NULL || id != SPA_PARAM_Format) {
		return;
	}
	uint32_t media_type, media_subtype;
	if (spa_format_parse(param, &media_type, &media_subtype) < 0 ||
			media_type != SPA_MEDIA_TYPE_video ||
			media_subtype != SPA_MEDIA_SUBTYPE_raw ||
			spa_format_video_raw_parse(param, &consumer->format) < 0) {
		return;
	}
	consumer->have_format = true;
	uint8_t storage[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof(storage));
	const struct spa_pod *params[2];
	params[0] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_dataType,
		SPA_POD_CHOICE_FLAGS_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr)));
	params[1] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
		SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
	pw_stream_update_params(consumer->stream, params, 2);
}

static void handle_state_changed(void *data, enum pw_stream_state old,
		enum pw_stream_state state, const char *error) {
	struct consumer *consumer = data;
	if (state == PW_STREAM_STATE_ERROR) {
		consumer->error = true;
		snprintf(consumer->error_text, sizeof(consumer->error_text), "%s",
			error != NULL ? error : "unknown");
	}
	pw_thread_loop_signal(consumer->loop, false);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = handle_state_changed,
	.param_changed = handle_param_changed,
	.process = handle_process,
};

static void handle_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
	struct consumer *consumer = data;
	if (id == PW_ID_CORE) {
		consumer->error = true;
		snprintf(consumer->error_text, sizeof(consumer->error_text), "core: %s", message);
		pw_thread_loop_signal(consumer->loop, false);
	}
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = handle_core_error,
};

/* Connects to node through the portal's remote fd (taken over); false on failure. */
static bool consumer_start(struct consumer *consumer, const char *name, const char *dir,
		int fd, uint32_t node) {
	memset(consumer, 0, sizeof(*consumer));
	consumer->name = name;
	consumer->dir = dir;
	consumer->loop = pw_thread_loop_new(name, NULL);
	consumer->context = consumer->loop != NULL ?
		pw_context_new(pw_thread_loop_get_loop(consumer->loop), NULL, 0) : NULL;
	if (consumer->context == NULL || pw_thread_loop_start(consumer->loop) < 0) {
		ZT_CHECK(false, "%s: cannot start a PipeWire thread loop", name);
		close(fd);
		return false;
	}
	pw_thread_loop_lock(consumer->loop);
	consumer->core = pw_context_connect_fd(consumer->context, fd, NULL, 0);
	if (consumer->core == NULL) {
		pw_thread_loop_unlock(consumer->loop);
		ZT_CHECK(false, "%s: cannot connect to PipeWire through the portal's fd", name);
		return false;
	}
	pw_core_add_listener(consumer->core, &consumer->core_listener, &core_events, consumer);
	consumer->stream = pw_stream_new(consumer->core, name, pw_properties_new(
		PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture",
		PW_KEY_MEDIA_ROLE, "Screen", NULL));
	if (consumer->stream == NULL) {
		pw_thread_loop_unlock(consumer->loop);
		ZT_CHECK(false, "%s: cannot create a PipeWire stream", name);
		return false;
	}
	pw_stream_add_listener(consumer->stream, &consumer->stream_listener, &stream_events,
		consumer);
	uint8_t storage[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof(storage));
	const struct spa_pod *params[1];
	params[0] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(3, SPA_VIDEO_FORMAT_BGRx,
			SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_RGBx),
		SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(
			&SPA_RECTANGLE(OUTPUT_W, OUTPUT_H), &SPA_RECTANGLE(1, 1),
			&SPA_RECTANGLE(8192, 8192)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_CHOICE_RANGE_Fraction(
			&SPA_FRACTION(60, 1), &SPA_FRACTION(0, 1), &SPA_FRACTION(360, 1)));
	consumer->connected_ns = now_ns();
	int res = pw_stream_connect(consumer->stream, PW_DIRECTION_INPUT, node,
		PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	pw_thread_loop_unlock(consumer->loop);
	ZT_CHECK(res >= 0, "%s: pw_stream_connect: %s", name, spa_strerror(res));
	return res >= 0;
}

/* Disconnects (the application leaving the share) and frees everything. */
static void consumer_stop(struct consumer *consumer) {
	if (consumer->loop == NULL) {
		return;
	}
	pw_thread_loop_lock(consumer->loop);
	if (consumer->stream != NULL) {
		pw_stream_disconnect(consumer->stream);
		pw_stream_destroy(consumer->stream);
		consumer->stream = NULL;
	}
	if (consumer->core != NULL) {
		pw_core_disconnect(consumer->core);
		consumer->core = NULL;
	}
	pw_thread_loop_unlock(consumer->loop);
	pw_thread_loop_stop(consumer->loop);
	if (consumer->context != NULL) {
		pw_context_destroy(consumer->context);
		consumer->context = NULL;
	}
	pw_thread_loop_destroy(consumer->loop);
	consumer->loop = NULL;
}

/* Waits until a frame after `after` shows scene; its index or -1. */
static int wait_scene(struct consumer *consumer, int after, int scene, int timeout_ms) {
	int found = -1;
	bool error = false;
	for (long start = now_ms(); found < 0 && !error && now_ms() - start < timeout_ms;) {
		pw_thread_loop_lock(consumer->loop);
		for (int i = after + 1; found < 0 && i < consumer->n_frames; i++) {
			found = consumer->results[i] == scene ? i : -1;
		}
		error = consumer->error;
		pw_thread_loop_unlock(consumer->loop);
		usleep(10000);
	}
	return found;
}

/*
 * Checks a consumer's frames, in order: each one exactly a scene, never an
 * older scene than the one before, first shows `first`; timestamps that do
 * not go back and are no older than the consumer. A consumer that syncs on
 * timestamps (GStreamer's pipewiresrc) holds every frame back by the age
 * of its first one: a first frame stamped with the time a still screen was
 * last redrawn delays the whole stream by as long as the screen was still.
 */
static void consumer_check(struct consumer *consumer, int first) {
	pw_thread_loop_lock(consumer->loop);
	int n = consumer->n_frames, none = 0, backwards = 0, last = first;
	int pts_backwards = 0, pts_stale = 0, pts_late = 0;
	for (int i = 0; i < n; i++) {
		int scene = consumer->results[i];
		none += scene < 0;
		if (scene >= 0) {
			backwards += scene < last;
			last = scene;
		}
		uint64_t pts = consumer->pts_ns[i];
		pts_backwards += i > 0 && pts < consumer->pts_ns[i - 1];
		pts_stale += pts < consumer->connected_ns;
		pts_late += pts > consumer->arrived_ns[i];
	}
	fprintf(stderr, "  %s: %d frames, %d corrupted buffers (skipped)%s; first %s\n",
		consumer->name, n, consumer->corrupted,
		consumer->dropped > 0 ? ", some dropped" : "", n > 0 && consumer->results[0] >= 0 ? scenes[consumer->results[0]].name : "-");
	ZT_CHECK(!consumer->error, "%s: PipeWire error: %s", consumer->name, consumer->error_text);
	ZT_CHECK(n > 0 && consumer->results[0] == first, "%s: the first frame is not %s",
		consumer->name, scenes[first].name);
	ZT_CHECK(none == 0, "%s: %d of %d frames match no scene", consumer->name, none, n);
	ZT_CHECK(backwards == 0, "%s: %d frames show an older scene than the one before",
		consumer->name, backwards);
	ZT_CHECK(pts_backwards == 0, "%s: %d frames have a timestamp before the previous one's",
		consumer->name, pts_backwards);
	ZT_CHECK(pts_stale == 0, "%s: %d frames are stamped before the consumer connected "
		"(a timestamp-syncing consumer would show them that much later)", consumer->name,
		pts_stale);
	ZT_CHECK(pts_late == 0, "%s: %d frames are stamped after they arrived", consumer->name,
		pts_late);
	pw_thread_loop_unlock(consumer->loop);
}

/* One consumer's share: waits for its first frame, then each change. */
static void consume(struct consumer *consumer, struct zt_compositor *comp, int first,
		int last) {
	int at = wait_scene(consumer, -1, first, 10000);
	ZT_CHECK(at >= 0, "%s: no frame shows %s", consumer->name, scenes[first].name);
	for (int s = first + 1; at >= 0 && s <= last; s++) {
		long t = now_ms();
		change_scene(comp, s);
		at = wait_scene(consumer, at, s, 10000);
		ZT_CHECK(at >= 0, "%s: no frame shows %s after the change", consumer->name,
			scenes[s].name);
		fprintf(stderr, "  %s: %s from frame %d, %ld ms after the change\n",
			consumer->name, scenes[s].name, at, now_ms() - t);
	}
	/* A moment for late frames, then every frame is checked. */
	usleep(300000);
	consumer_check(consumer, first);
}

/* How many lines of dir/file contain text. */
static int count_lines(const char *dir, const char *file, const char *text) {
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	char *line = NULL;
	size_t size = 0;
	int n = 0;
	while (getline(&line, &size, f) >= 0) {
		n += strstr(line, text) != NULL;
	}
	free(line);
	fclose(f);
	return n;
}

/*
 * xdpw's log lines for failed frames (ext_image_copy.c): unknown and
 * stopped end the share; buffer_constraints makes it allocate again.
 */
#define XDPW_FAILED_UNKNOWN "frame capture failed: unknown reason"
#define XDPW_FAILED_STOPPED "frame capture failed: capture session stopped"
#define XDPW_FAILED_CONSTRAINTS "frame capture failed: buffer constraint mismatch"

static void check_share_alive(const struct stack *stack, const char *when) {
#ifdef ZT_PORTAL_ZEROCAP
	/* stream.c's lines when a share ends or a capture fails. */
	ZT_CHECK(count_lines(stack->dir, BACKEND_LOG, "closing its session") == 0 &&
		count_lines(stack->dir, BACKEND_LOG, "capture failed") == 0 &&
		count_lines(stack->dir, BACKEND_LOG, "-> error") == 0,
		"%s: %s ended the share", when, BACKEND_TITLE);
#else
	ZT_CHECK(count_lines(stack->dir, "xdpw.log", XDPW_FAILED_UNKNOWN) == 0 &&
		count_lines(stack->dir, "xdpw.log", XDPW_FAILED_STOPPED) == 0 &&
		count_lines(stack->dir, "xdpw.log", "destroying cast instance") == 0,
		"%s: xdg-desktop-portal-wlr ended the share", when);
#endif
}

#ifdef ZT_PORTAL_ZEROCAP
/* Prints the lines of log that contain text. */
static void print_lines(const char *dir, const char *log, const char *text) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, log);
	FILE *f = fopen(path, "r");
	char line[1024];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, text) != NULL) {
			fprintf(stderr, "  %s: %s", log, line);
		}
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* org.freedesktop.portal.Screenshot, not interactive: a PNG of the scene. */
static void check_screenshot(struct portal *portal, int scene_index, const char *dir) {
	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string("zts"));
	g_variant_builder_add(&options, "{sv}", "interactive", g_variant_new_boolean(FALSE));
	GError *error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(portal->bus, PORTAL_NAME, PORTAL_PATH,
		"org.freedesktop.portal.Screenshot", "Screenshot",
		g_variant_new("(sa{sv})", "", &options), G_VARIANT_TYPE("(o)"),
		G_DBUS_CALL_FLAGS_NONE, 20000, NULL, &error);
	if (reply == NULL) {
		ZT_CHECK(false, "Screenshot failed: %s", error->message);
		g_error_free(error);
		return;
	}
	const char *handle = NULL;
	g_variant_get(reply, "(&o)", &handle);
	guint32 code = 99;
	GVariant *results = wait_response(portal, handle, &code, 20000);
	const char *uri = NULL;
	ZT_CHECK(results != NULL && code == 0 && g_variant_lookup(results, "uri", "&s", &uri) &&
		strncmp(uri, "file://", 7) == 0, "Screenshot answered %u with a file URI", code);
	if (uri == NULL) {
		print_lines(dir, BACKEND_LOG, "zerocap-portal:");
		print_lines(dir, "xdp.log", "XDP");
	}
	struct ct_image image;
	if (uri != NULL && ct_read_png(uri + 7, &image)) {
		struct ct_scene scene = {.rects = scenes[scene_index].rects,
			.n_rects = scenes[scene_index].n};
		struct ct_scene_view view = {.scene = &scene, .scale = 1, .up_w = OUTPUT_W,
			.up_h = OUTPUT_H};
		struct ct_compare compare = {0};
		ZT_CHECK(image.width == OUTPUT_W && image.height == OUTPUT_H &&
			ct_compare_image(&image, ct_scene_view_expect, &view, &compare, "screenshot") == 0,
			"the screenshot is the scene, pixel for pixel (%dx%d)", image.width, image.height);
		ct_image_finish(&image);
		unlink(uri + 7);
	} else {
		ZT_CHECK(false, "cannot read the screenshot %s", uri != NULL ? uri : "(none)");
	}
	g_variant_unref(reply);
}
#endif

#ifdef ZT_PORTAL_ZEROCAP
/* A direct call to the backend; true when it answered with a D-Bus error. */
static bool backend_refuses(GDBusConnection *bus, const char *path, const char *interface,
		const char *method, GVariant *args, const char *what) {
	GError *error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(bus, BACKEND_NAME, path, interface, method,
		args, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
	if (reply != NULL) {
		g_variant_unref(reply);
		ZT_CHECK(false, "%s: the backend accepted it", what);
		return false;
	}
	bool remote = g_dbus_error_is_remote_error(error) &&
		!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	ZT_CHECK(remote, "%s: no D-Bus error but %s", what, error->message);
	g_error_free(error);
	return remote;
}

/*
 * Bad calls straight to the backend (what a hostile or broken client could
 * send): each gets a D-Bus error, and the backend goes on serving.
 */
static void check_bad_calls(GDBusConnection *bus) {
	const char *impl = "org.freedesktop.impl.portal.ScreenCast";
	const char *req = "/org/freedesktop/portal/desktop/request/1_9/bad";
	const char *ses = "/org/freedesktop/portal/desktop/session/1_9/bad";
	backend_refuses(bus, PORTAL_PATH, impl, "Start",
		g_variant_new("(ooss@a{sv})", req, ses, "", "", g_variant_new("a{sv}", NULL)),
		"Start of a session that does not exist");
	backend_refuses(bus, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		"SelectSources of a session that does not exist");
	backend_refuses(bus, PORTAL_PATH, impl, "CreateSession", g_variant_new("(s)", "x"),
		"CreateSession with the wrong arguments");
	GVariant *ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, PORTAL_PATH, impl,
		"CreateSession", g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		G_VARIANT_TYPE("(ua{sv})"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "a direct CreateSession works");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	backend_refuses(bus, PORTAL_PATH, impl, "CreateSession",
		g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		"CreateSession of a session that exists");
	backend_refuses(bus, PORTAL_PATH, impl, "Start",
		g_variant_new("(ooss@a{sv})", req, ses, "", "", g_variant_new("a{sv}", NULL)),
		"Start before SelectSources");
	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "types", g_variant_new_uint32(0));
	backend_refuses(bus, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oosa{sv})", req, ses, "", &options), "SelectSources of no type");
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "restore_data",
		g_variant_new("(suv)", "zerocap", 1, g_variant_new_string("not a dict")));
	g_variant_builder_add(&options, "{sv}", "cursor_mode", g_variant_new_string("2"));
	ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oosa{sv})", req, ses, "", &options), G_VARIANT_TYPE("(ua{sv})"),
		G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "mistyped options and a foreign restore token are ignored");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	backend_refuses(bus, "/org/freedesktop/portal/desktop/session/1_9/none",
		"org.freedesktop.impl.portal.Session", "Close", NULL, "Close of no session");
	backend_refuses(bus, PORTAL_PATH, impl, "Launch", NULL, "an unknown method");
	ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, ses,
		"org.freedesktop.impl.portal.Session", "Close", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
		5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "the direct session closes");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	ZT_CHECK(name_has_owner(bus, BACKEND_NAME), "the backend still serves after the bad calls");
}
#endif

static void test_screencast(enum ct_protocol protocol) {
	zt_section("ScreenCast portal -> " BACKEND_TITLE " -> PipeWire -> a consumer");
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
#ifdef ZT_PORTAL_ZEROCAP
	portal.persist = true;
#endif
	int fd = -1;
	if (portal_start(&portal)) {
		ZT_CHECK(portal.width == OUTPUT_W && portal.height == OUTPUT_H,
			"the stream is %dx%d, expected %dx%d", portal.width, portal.height, OUTPUT_W,
			OUTPUT_H);
		fd = portal_remote(&portal);
	}
	struct consumer consumer;
	if (fd >= 0 && consumer_start(&consumer, "consumer 1", stack.dir, fd, portal.node)) {
		consume(&consumer, &comp, 0, 2);
		ZT_CHECK(count_lines(stack.dir, "xdpw.log", XDPW_FAILED_CONSTRAINTS) == 0,
			"a frame failed while the consumer was streaming");
		/*
		 * The consumer leaves: xdpw pauses its stream and destroys the
		 * wl_buffers of PipeWire's buffers, one of them attached to the
		 * frame that waits for the next change. That frame fails with
		 * buffer_constraints (xdpw logs an error and goes on); the share
		 * lives on, and the next consumer gets new buffers and frames.
		 */
		consumer_stop(&consumer);
		usleep(300000);
		check_share_alive(&stack, "after the first consumer left");
		fd = portal_remote(&portal);
		if (fd >= 0 &&
				consumer_start(&consumer, "consumer 2", stack.dir, fd, portal.node)) {
			/* A still screen gives a new consumer nothing: it waits for a change. */
			usleep(300000);
			change_scene(&comp, 3);
			consume(&consumer, &comp, 3, 3);
			consumer_stop(&consumer);
			usleep(300000);
		}
		check_share_alive(&stack, "after the second consumer left");
		ZT_CHECK(count_lines(stack.dir, "xdpw.log", XDPW_FAILED_CONSTRAINTS) <= 2,
			"more frames failed than consumers left");
	}
#ifdef ZT_PORTAL_ZEROCAP
	check_bad_calls(bus);
	/* While the portal listens for Responses (portal_close stops that). */
	check_screenshot(&portal, 3, stack.dir);
	ZT_CHECK(count_lines(stack.dir, "access.log", "") >= 1,
		"the frontend asked the backend's Access prompt before the screenshot");
#endif
	portal_close(&portal);
#ifdef ZT_PORTAL_ZEROCAP
	/* A new session with the first one's token: started without asking again. */
	ZT_CHECK(portal.restore_token[0] != '\0', "Start gave a restore token (persist_mode 2)");
	ZT_CHECK(count_lines(stack.dir, "chooser.log", "asked") == 1, "the chooser was asked once");
	if (portal.restore_token[0] != '\0') {
		struct portal again = {.bus = bus, .persist = true};
		snprintf(again.restore_token, sizeof(again.restore_token), "%s", portal.restore_token);
		ZT_CHECK(portal_start(&again) && again.width == OUTPUT_W,
			"a session restored from the token starts (%dx%d)", again.width, again.height);
		ZT_CHECK(count_lines(stack.dir, "chooser.log", "asked") == 1,
			"the restored session did not ask the chooser (%d times asked)",
			count_lines(stack.dir, "chooser.log", "asked"));
		portal_close(&again);
	}
#endif
	g_object_unref(bus);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor is still running");
	stack_stop(&stack);
	ct_check_protocol(stack.dir, BACKEND_LOG, protocol, BACKEND_TITLE);
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(stack.dir);
}

int main(void) {
#ifdef ZT_PORTAL_ZEROCAP
	ZT_CHECK(getenv("ZC_PORTAL") != NULL && getenv("ZC_PORTAL_DIR") != NULL,
		"ZC_PORTAL and ZC_PORTAL_DIR are set");
	enum ct_protocol protocol = CT_EXT_IMAGE_COPY_CAPTURE;
	bool have_all = getenv("ZC_PORTAL") != NULL;
#else
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
	bool have_all = v >= 0;
#endif
	static const char *const programs[] = {"dbus-daemon", "pipewire", "wireplumber", XDP};
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed", programs[i]);
		have_all = have_all && have;
	}
	if (have_all) {
		signal(SIGPIPE, SIG_IGN);
		pw_init(NULL, NULL);
		test_screencast(protocol);
		pw_deinit();
	}
	return zt_finish();
}
