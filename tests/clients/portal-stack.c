/* The desktop stack, the ScreenCast portal and a PipeWire consumer: portal-stack.h. */
#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <spa/utils/result.h>
#include "clients.h"
#include "portal-stack.h"

#ifndef SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE
#define SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE 0
#endif

#define DESKTOP "zerocap-test"
#define SCREENCAST "org.freedesktop.portal.ScreenCast"
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

long ct_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

uint64_t ct_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* ---- the desktop stack ---- */

bool ct_write_file(const char *path, const char *text) {
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
	for (long start = ct_now_ms(); ct_now_ms() - start < timeout_ms;) {
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

const char *ct_backend_bus_name(enum ct_backend backend) {
	return backend == CT_BACKEND_ZEROCAP ? "org.freedesktop.impl.portal.desktop.zerocap" :
		"org.freedesktop.impl.portal.desktop.wlr";
}

const char *ct_backend_log(enum ct_backend backend) {
	return backend == CT_BACKEND_ZEROCAP ? "backend.log" : "xdpw.log";
}

const char *ct_backend_title(enum ct_backend backend) {
	return backend == CT_BACKEND_ZEROCAP ? "xdg-desktop-portal-zerocap" :
		"xdg-desktop-portal-wlr";
}

/*
 * With XDG_DESKTOP_PORTAL_DIR the frontend reads both the .portal files and
 * the portals.conf from there: a directory of the stack's own with a copy of
 * zerocap.portal.
 */
static bool zerocap_files(struct ct_stack *stack) {
	char path[512], text[2048];
	char portal_file[600];
	snprintf(portal_file, sizeof(portal_file), "%s/zerocap.portal",
		getenv("ZC_PORTAL_DIR") != NULL ? getenv("ZC_PORTAL_DIR") : ".");
	FILE *in = fopen(portal_file, "r");
	char portal_text[512] = {0};
	bool ok = in != NULL && fread(portal_text, 1, sizeof(portal_text) - 1, in) > 0;
	if (in != NULL) {
		fclose(in);
	}
	snprintf(stack->portals, sizeof(stack->portals), "%s/portals", stack->dir);
	ok = ok && make_dir(stack->portals);
	snprintf(path, sizeof(path), "%s/zerocap.portal", stack->portals);
	ok = ok && ct_write_file(path, portal_text);
	snprintf(path, sizeof(path), "%s/%s-portals.conf", stack->portals, DESKTOP);
	ok = ok && ct_write_file(path, "[preferred]\ndefault=none\n"
		"org.freedesktop.impl.portal.ScreenCast=zerocap\n"
		"org.freedesktop.impl.portal.Screenshot=zerocap\n"
		"org.freedesktop.impl.portal.Access=zerocap\n");
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-zerocap", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-zerocap/config", stack->config);
	/*
	 * A chooser that logs every time it is asked (restore tokens must skip
	 * it), answers nothing while DIR/deny exists (the user cancelled), and
	 * else what DIR/choice says, or the output.
	 */
	snprintf(text, sizeof(text), "[screencast]\nchooser_cmd=sh -c 'echo asked >> %s/chooser.log; "
		"test -e %s/deny && exit 1; cat %s/choice 2>/dev/null || echo output:%s'\n"
		"max_fps=%d\naccess_cmd=echo \"$2\" >> %s/access.log\n"
		"picker_cmd=cat %s/pick\n", stack->dir, stack->dir,
		stack->dir, stack->options.output, stack->options.max_fps, stack->dir, stack->dir);
	return ok && ct_write_file(path, text);
}

static bool xdpw_files(struct ct_stack *stack) {
	char path[512], text[1024];
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal/%s-portals.conf", stack->config,
		DESKTOP);
	bool ok = ct_write_file(path, "[preferred]\ndefault=none\n"
		"org.freedesktop.impl.portal.ScreenCast=wlr\n");
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr", stack->config);
	ok = ok && make_dir(path);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal-wlr/config", stack->config);
	snprintf(text, sizeof(text), "[screencast]\noutput_name=%s\nchooser_type=none\n"
		"max_fps=%d\n", stack->options.output, stack->options.max_fps);
	return ok && ct_write_file(path, text);
}

static bool stack_files(struct ct_stack *stack) {
	snprintf(stack->run, sizeof(stack->run), "%s/run", stack->dir);
	snprintf(stack->config, sizeof(stack->config), "%s/config", stack->dir);
	snprintf(stack->home, sizeof(stack->home), "%s/home", stack->dir);
	char path[512];
	bool ok = make_dir(stack->run) && make_dir(stack->config) && make_dir(stack->home);
	snprintf(path, sizeof(path), "%s/xdg-desktop-portal", stack->config);
	ok = ok && make_dir(path);
	if (stack->options.backend == CT_BACKEND_ZEROCAP) {
		return ok && zerocap_files(stack);
	}
	return ok && xdpw_files(stack);
}

static void stack_env(struct ct_stack *stack) {
	int n = 0;
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_RUNTIME_DIR=%s", stack->run);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_CONFIG_HOME=%s", stack->config);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "HOME=%s", stack->home);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_CURRENT_DESKTOP=%s", DESKTOP);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "DBUS_SESSION_BUS_ADDRESS=%s",
		stack->bus_address);
	snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_SESSION_TYPE=wayland");
	if (stack->options.wayland_debug) {
		snprintf(stack->env[n++], sizeof(stack->env[0]), "WAYLAND_DEBUG=1");
	}
	if (stack->options.backend == CT_BACKEND_ZEROCAP) {
		snprintf(stack->env[n++], sizeof(stack->env[0]), "XDG_DESKTOP_PORTAL_DIR=%s",
			stack->portals);
	}
	for (int i = 0; i < n; i++) {
		stack->envp[i] = stack->env[i];
	}
	stack->envp[n] = NULL;
}

bool ct_stack_write(const struct ct_stack *stack, const char *name, const char *text) {
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", stack->dir, name);
	return ct_write_file(path, text);
}

void ct_stack_remove(const struct ct_stack *stack, const char *name) {
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", stack->dir, name);
	unlink(path);
}

int ct_stack_chooser_asked(const struct ct_stack *stack) {
	char path[600];
	snprintf(path, sizeof(path), "%s/chooser.log", stack->dir);
	FILE *f = fopen(path, "r");
	int n = 0;
	char line[64];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		n++;
	}
	if (f != NULL) {
		fclose(f);
	}
	return n;
}

bool ct_name_has_owner(GDBusConnection *bus, const char *name) {
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
	for (long start = ct_now_ms(); ct_now_ms() - start < timeout_ms;) {
		if (ct_name_has_owner(bus, name)) {
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
static void stop_activated(const struct ct_stack *stack) {
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

void ct_stack_stop(struct ct_stack *stack) {
	enum ct_backend backend = stack->options.backend;
	stop_process(&stack->xdp, "xdg-desktop-portal", stack->dir, "xdp.log");
	stop_process(&stack->backend, ct_backend_title(backend), stack->dir,
		ct_backend_log(backend));
	stop_process(&stack->wireplumber, "wireplumber", stack->dir, "wireplumber.log");
	stop_process(&stack->pipewire, "pipewire", stack->dir, "pipewire.log");
	stop_activated(stack);
	stop_process(&stack->dbus, "dbus-daemon", stack->dir, "dbus.log");
}

/* Starts the backend; true once it owns its D-Bus name. */
static bool start_backend(struct ct_stack *stack, GDBusConnection *bus) {
	enum ct_backend backend = stack->options.backend;
	const char *zerocap_argv[] = {getenv("ZC_PORTAL"), NULL};
	const char *xdpw_argv[] = {CT_XDPW, NULL};
	const char *xdpw_debug_argv[] = {CT_XDPW, "-l", "DEBUG", NULL};
	const char *const *backend_argv = backend == CT_BACKEND_ZEROCAP ? zerocap_argv :
		stack->options.debug_log ? xdpw_debug_argv : xdpw_argv;
	stack->backend = ct_spawn(stack->dir, stack->wayland, backend_argv, stack->envp,
		ct_backend_log(backend));
	bool ok = wait_name(bus, ct_backend_bus_name(backend), stack->backend, 10000);
	ZT_CHECK(ok, "%s did not take its D-Bus name", ct_backend_title(backend));
	if (!ok) {
		ct_print_log(stack->dir, ct_backend_log(backend));
	}
	return ok;
}

bool ct_stack_restart_backend(struct ct_stack *stack, GDBusConnection *bus, int sig) {
	if (stack->backend > 0) {
		kill(stack->backend, sig);
		int status = ct_wait(stack->backend, 5000);
		ZT_CHECK(status != -1, "%s did not end on signal %d",
			ct_backend_title(stack->options.backend), sig);
		stack->backend = -1;
	}
	for (long start = ct_now_ms(); ct_name_has_owner(bus,
			ct_backend_bus_name(stack->options.backend)) && ct_now_ms() - start < 5000;) {
		usleep(20000);
	}
	return start_backend(stack, bus);
}

bool ct_stack_start(struct ct_stack *stack, const struct ct_stack_options *options,
		struct zt_compositor *comp, GDBusConnection **bus) {
	*bus = NULL;
	stack->options = *options;
	stack->dbus = stack->pipewire = stack->wireplumber = stack->backend = stack->xdp = -1;
	snprintf(stack->wayland, sizeof(stack->wayland), "%s/%s", getenv("XDG_RUNTIME_DIR"),
		comp->socket);
	if (!stack_files(stack)) {
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
		ct_stack_stop(stack);
		return false;
	}
	GError *error = NULL;
	*bus = g_dbus_connection_new_for_address_sync(stack->bus_address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
	if (*bus == NULL) {
		ZT_CHECK(false, "cannot connect to our bus: %s", error->message);
		g_error_free(error);
		ct_stack_stop(stack);
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
	ok = ok && start_backend(stack, *bus);
	const char *xdp_argv[] = {CT_XDP, "-v", NULL};
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
		ct_stack_stop(stack);
	}
	return ok;
}

/* ---- the ScreenCast portal ---- */

static void handle_response(GDBusConnection *bus, const char *sender, const char *path,
		const char *interface, const char *signal, GVariant *parameters, gpointer data) {
	struct ct_portal *portal = data;
	if (portal->n_responses == LEN(portal->responses)) {
		return;
	}
	int i = portal->n_responses++;
	snprintf(portal->responses[i].path, sizeof(portal->responses[i].path), "%s", path);
	g_variant_get(parameters, "(u@a{sv})", &portal->responses[i].code,
		&portal->responses[i].results);
}

GVariant *ct_portal_wait_response(struct ct_portal *portal, const char *handle,
		guint32 *code, int timeout_ms) {
	for (long start = ct_now_ms(); ct_now_ms() - start < timeout_ms;) {
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

/*
 * Calls a portal method that answers through a Request; its results or
 * NULL. code NULL: any response but 0 fails the test; else it gets the
 * response's code.
 */
static GVariant *portal_request_code(struct ct_portal *portal, const char *method,
		GVariant *parameters, const char *what, guint32 *code_out) {
	return ct_portal_call(portal, SCREENCAST, method, parameters, what, code_out);
}

GVariant *ct_portal_call(struct ct_portal *portal, const char *interface, const char *method,
		GVariant *parameters, const char *what, guint32 *code_out) {
	GError *error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(portal->bus, CT_PORTAL_NAME, CT_PORTAL_PATH,
		interface, method, parameters, G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
		20000, NULL, &error);
	if (reply == NULL) {
		ZT_CHECK(false, "%s: %s failed: %s", what, method, error->message);
		g_error_free(error);
		return NULL;
	}
	const char *handle = NULL;
	g_variant_get(reply, "(&o)", &handle);
	guint32 code = 99;
	GVariant *results = ct_portal_wait_response(portal, handle, &code, 20000);
	ZT_CHECK(results != NULL, "%s: no Response to %s", what, method);
	if (code_out != NULL) {
		*code_out = code;
	} else {
		ZT_CHECK(results == NULL || code == 0, "%s: %s answered %u (0 is success)", what,
			method, code);
	}
	g_variant_unref(reply);
	return results != NULL && code == 0 ? results : NULL;
}

static GVariant *portal_request(struct ct_portal *portal, const char *method,
		GVariant *parameters, const char *what) {
	return portal_request_code(portal, method, parameters, what, NULL);
}

guint32 ct_portal_property(struct ct_portal *portal, const char *name) {
	GVariant *reply = g_dbus_connection_call_sync(portal->bus, CT_PORTAL_NAME, CT_PORTAL_PATH,
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

bool ct_portal_start(struct ct_portal *portal) {
	portal->subscription = g_dbus_connection_signal_subscribe(portal->bus, CT_PORTAL_NAME,
		"org.freedesktop.portal.Request", "Response", NULL, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, handle_response, portal, NULL);
	guint32 version = ct_portal_property(portal, "version");
	guint32 sources = ct_portal_property(portal, "AvailableSourceTypes");
	guint32 cursors = ct_portal_property(portal, "AvailableCursorModes");
	fprintf(stderr, "  ScreenCast portal version %u, source types %#x, cursor modes %#x\n",
		version, sources, cursors);
	ZT_CHECK(version >= 1 && (sources & 1) != 0 && (cursors & 2) != 0,
		"the ScreenCast portal offers no monitor with an embedded cursor");

	/* Tokens of their own for every session, so that sessions may overlap. */
	static int sessions;
	char tokens[4][32];
	sessions++;
	for (int i = 0; i < 4; i++) {
		snprintf(tokens[i], sizeof(tokens[i]), "zt%d_%d", i, sessions);
	}
	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string(tokens[1]));
	g_variant_builder_add(&options, "{sv}", "session_handle_token",
		g_variant_new_string(tokens[0]));
	GVariant *results = portal_request(portal, "CreateSession",
		g_variant_new("(a{sv})", &options), "CreateSession");
	const char *session = NULL;
	if (results == NULL || !g_variant_lookup(results, "session_handle", "&s", &session)) {
		ZT_CHECK(results == NULL, "CreateSession: no session_handle in its response");
		return false;
	}
	snprintf(portal->session, sizeof(portal->session), "%s", session);

	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string(tokens[2]));
	g_variant_builder_add(&options, "{sv}", "types",
		g_variant_new_uint32(portal->types != 0 ? portal->types : 1));
	g_variant_builder_add(&options, "{sv}", "multiple", g_variant_new_boolean(FALSE));
	g_variant_builder_add(&options, "{sv}", "cursor_mode",
		g_variant_new_uint32(portal->cursor_mode != 0 ? portal->cursor_mode : 2));
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
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string(tokens[3]));
	results = portal_request_code(portal, "Start", g_variant_new("(osa{sv})", portal->session,
		"", &options), "Start", portal->expect_refusal ? &portal->start_code : NULL);
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

int ct_portal_remote(struct ct_portal *portal) {
	GError *error = NULL;
	GUnixFDList *fds = NULL;
	GVariant *reply = g_dbus_connection_call_with_unix_fd_list_sync(portal->bus, CT_PORTAL_NAME,
		CT_PORTAL_PATH, SCREENCAST, "OpenPipeWireRemote",
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

void ct_portal_close(struct ct_portal *portal) {
	if (portal->session[0] != '\0') {
		GVariant *reply = g_dbus_connection_call_sync(portal->bus, CT_PORTAL_NAME,
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

/* ---- the consumer ---- */

/* The BGRx or RGBx pixels of a buffer as RGB; false if they cannot be read. */
bool ct_buffer_image(const struct spa_video_info_raw *format,
		const struct spa_buffer *buffer, struct ct_image *image) {
	const struct spa_data *d = &buffer->datas[0];
	uint32_t width = format->size.width, height = format->size.height;
	int32_t stride = d->chunk->stride != 0 ? d->chunk->stride : (int32_t)width * 4;
	if (d->data == NULL || stride < (int32_t)width * 4 ||
			d->chunk->offset + (uint64_t)stride * height > d->maxsize) {
		return false;
	}
	bool bgr = format->format == SPA_VIDEO_FORMAT_BGRx;
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


/*
 * The EnumFormats: BGRx or RGBx at about the size asked for, with the
 * modifiers a consumer that maps what it gets can read (less a rejected
 * one) first, then without modifier (memfds). params has room for two.
 */
static uint32_t consumer_formats(struct ct_consumer *consumer, struct spa_pod_builder *b,
		const struct spa_pod **params) {
	uint32_t n_params = 0;
	uint64_t mods[2];
	int n_mods = 0;
	for (int i = 0; i < 2; i++) {
		uint64_t mod = i == 0 ? DRM_FORMAT_MOD_LINEAR : DRM_FORMAT_MOD_INVALID;
		if (!consumer->rejected || mod != consumer->rejected_modifier) {
			mods[n_mods++] = mod;
		}
	}
	for (int with_modifier = consumer->options.dmabuf; with_modifier >= 0; with_modifier--) {
		struct spa_pod_frame f;
		spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
		spa_pod_builder_add(b,
			SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
			SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
			SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(3, SPA_VIDEO_FORMAT_BGRx,
				SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_RGBx),
			SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(
				&SPA_RECTANGLE(consumer->width, consumer->height), &SPA_RECTANGLE(1, 1),
				&SPA_RECTANGLE(8192, 8192)),
			SPA_FORMAT_VIDEO_framerate, SPA_POD_CHOICE_RANGE_Fraction(
				&SPA_FRACTION(60, 1), &SPA_FRACTION(0, 1), &SPA_FRACTION(360, 1)),
			0);
		if (with_modifier) {
			spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier,
				SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
			struct spa_pod_frame choice;
			spa_pod_builder_push_choice(b, &choice, SPA_CHOICE_Enum, 0);
			spa_pod_builder_long(b, (int64_t)mods[0]); /* the default */
			for (int i = 0; i < n_mods; i++) {
				spa_pod_builder_long(b, (int64_t)mods[i]);
			}
			spa_pod_builder_pop(b, &choice);
		}
		params[n_params++] = spa_pod_builder_pop(b, &f);
	}
	return n_params;
}

/*
 * A consumer that cannot import the dma-bufs it got (reject_modifier)
 * does what OBS does: it takes their modifier out of its formats, and
 * the producer must renegotiate.
 */
static void consumer_reject(struct ct_consumer *consumer) {
	consumer->rejected = true;
	consumer->rejected_modifier = consumer->format.modifier;
	uint8_t storage[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof(storage));
	const struct spa_pod *params[2];
	uint32_t n_params = consumer_formats(consumer, &b, params);
	pw_stream_update_params(consumer->stream, params, n_params);
}

static void consumer_frame(struct ct_consumer *consumer, struct pw_buffer *pw_buffer) {
	struct spa_buffer *buffer = pw_buffer->buffer;
	if (consumer->options.buffer != NULL) {
		consumer->options.buffer(consumer->data, buffer, ct_now_ns());
	}
	struct spa_meta_header *header = spa_buffer_find_meta_data(buffer, SPA_META_Header,
		sizeof(*header));
	const struct spa_data *d = &buffer->datas[0];
	if ((header != NULL && (header->flags & SPA_META_HEADER_FLAG_CORRUPTED)) ||
			(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) || d->chunk->size == 0) {
		consumer->corrupted++;
		return;
	}
	uint64_t arrived_ns = ct_now_ns();
	if (d->type == SPA_DATA_DmaBuf && consumer->rejected &&
			consumer->format.modifier == consumer->rejected_modifier) {
		consumer->rejected_frames++; /* in flight when it rejected them */
		return;
	}
	if (d->type == SPA_DATA_DmaBuf && consumer->options.reject_modifier &&
			!consumer->rejected && consumer->have_format) {
		consumer_reject(consumer);
		return;
	}
	if (d->type == SPA_DATA_DmaBuf) {
		consumer->dmabuf_frames++;
	} else if (d->type == SPA_DATA_MemFd) {
		consumer->memfd_frames++;
	}
	struct spa_meta_sync_timeline *timeline = consumer->drm_fd >= 0 ?
		spa_buffer_find_meta_data(buffer, SPA_META_SyncTimeline, sizeof(*timeline)) : NULL;
	uint32_t acquire = 0, release = 0;
	if (timeline != NULL && buffer->n_datas >= 3) {
		/* Explicit sync: the last two blocks are the acquire and release timelines. */
		const struct spa_data *a = &buffer->datas[buffer->n_datas - 2];
		const struct spa_data *r = &buffer->datas[buffer->n_datas - 1];
		uint64_t point = timeline->acquire_point;
		bool ok = a->type == SPA_DATA_SyncObj && r->type == SPA_DATA_SyncObj &&
			drmSyncobjFDToHandle(consumer->drm_fd, (int)a->fd, &acquire) == 0 &&
			drmSyncobjFDToHandle(consumer->drm_fd, (int)r->fd, &release) == 0 &&
			drmSyncobjTimelineWait(consumer->drm_fd, &acquire, &point, 1,
				(int64_t)ct_now_ns() + 2000000000, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
				NULL) == 0;
		consumer->sync_errors += !ok;
		consumer->synced_frames += ok;
		/* The promise to signal the release point. */
		timeline->flags &= ~SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE;
	}
	/* At most twice a second: llvmpipe in the emulated VM reads back slowly. */
	if (consumer->options.egl && consumer->drm_fd >= 0 && d->type == SPA_DATA_DmaBuf &&
			consumer->have_format && arrived_ns - consumer->egl_last_ns > 500000000u) {
		consumer->egl_last_ns = arrived_ns;
		if (consumer->egl == NULL) {
			consumer->egl = ct_egl_create(consumer->drm_fd);
		}
		int wrong = consumer->egl != NULL ? ct_egl_compare(consumer->egl, buffer,
			consumer->format.size.width, consumer->format.size.height,
			consumer->format.modifier) : -1;
		if (wrong < 0) {
			consumer->egl_failures++;
		} else {
			consumer->egl_frames++;
			consumer->egl_wrong += wrong;
		}
	}
	consumer->frame(consumer->data, buffer, consumer->have_format ? &consumer->format : NULL,
		header, arrived_ns);
	if (release != 0) {
		uint64_t point = timeline->release_point;
		consumer->sync_errors += drmSyncobjTimelineSignal(consumer->drm_fd, &release, &point,
			1) != 0;
	}
	if (acquire != 0) {
		drmSyncobjDestroy(consumer->drm_fd, acquire);
	}
	if (release != 0) {
		drmSyncobjDestroy(consumer->drm_fd, release);
	}
}

static void handle_process(void *data) {
	struct ct_consumer *consumer = data;
	struct pw_buffer *pw_buffer;
	while ((pw_buffer = pw_stream_dequeue_buffer(consumer->stream)) != NULL) {
		consumer_frame(consumer, pw_buffer);
		if (consumer->options.hold_after > 0 &&
				++consumer->taken > consumer->options.hold_after) {
			consumer->held++; /* kept: never given back */
			continue;
		}
		pw_stream_queue_buffer(consumer->stream, pw_buffer);
	}
	pw_thread_loop_signal(consumer->loop, false);
}

static void handle_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
	struct ct_consumer *consumer = data;
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
	const struct spa_pod *params[7];
	uint32_t n_params = 0;
	int types = (1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr) |
		(consumer->options.dmabuf ? 1 << SPA_DATA_DmaBuf : 0);
	if (consumer->drm_fd >= 0) {
		/* Timelines first, where the producer has them. */
		params[n_params++] = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
			SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(types),
			SPA_PARAM_BUFFERS_metaType, SPA_POD_CHOICE_FLAGS_Int(1 << SPA_META_SyncTimeline));
	}
	params[n_params++] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(types));
	params[n_params++] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
		SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
	if (consumer->drm_fd >= 0) {
		params[n_params++] = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
			SPA_PARAM_META_type, SPA_POD_Id(SPA_META_SyncTimeline),
			SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_sync_timeline)));
	}
	if (consumer->options.damage_meta) {
		params[n_params++] = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
			SPA_PARAM_META_type, SPA_POD_Id(SPA_META_VideoDamage),
			SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int(
				(int)sizeof(struct spa_meta_region) * 16, (int)sizeof(struct spa_meta_region),
				(int)sizeof(struct spa_meta_region) * 16));
	}
	if (consumer->options.cursor_meta) {
		/* What OBS asks for: room for a 64x64 bitmap, up to 256x256. */
		size_t head = sizeof(struct spa_meta_cursor) + sizeof(struct spa_meta_bitmap);
		params[n_params++] = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
			SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Cursor),
			SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int((int)(head + 64 * 64 * 4),
				(int)(head + 4), (int)(head + 256 * 256 * 4)));
	}
	pw_stream_update_params(consumer->stream, params, n_params);
}

static void handle_state_changed(void *data, enum pw_stream_state old,
		enum pw_stream_state state, const char *error) {
	struct ct_consumer *consumer = data;
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
	struct ct_consumer *consumer = data;
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

bool ct_consumer_start(struct ct_consumer *consumer, const char *name, int fd, uint32_t node,
		int width, int height, ct_consumer_frame_fn frame, void *data) {
	return ct_consumer_start_with(consumer, name, fd, node, width, height, frame, data, NULL);
}

bool ct_consumer_start_with(struct ct_consumer *consumer, const char *name, int fd,
		uint32_t node, int width, int height, ct_consumer_frame_fn frame, void *data,
		const struct ct_consumer_options *options) {
	memset(consumer, 0, sizeof(*consumer));
	consumer->drm_fd = -1;
	if (options != NULL) {
		consumer->options = *options;
	}
	if (consumer->options.dmabuf && consumer->options.sync_device != NULL) {
		consumer->drm_fd = open(consumer->options.sync_device, O_RDWR | O_CLOEXEC);
		ZT_CHECK(consumer->drm_fd >= 0, "%s: cannot open %s", name,
			consumer->options.sync_device);
	}
	consumer->name = name;
	consumer->width = width;
	consumer->height = height;
	consumer->frame = frame;
	consumer->data = data;
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
	const struct spa_pod *params[2];
	uint32_t n_params = consumer_formats(consumer, &b, params);
	consumer->connected_ns = ct_now_ns();
	int res = pw_stream_connect(consumer->stream, PW_DIRECTION_INPUT, node,
		PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, n_params);
	pw_thread_loop_unlock(consumer->loop);
	ZT_CHECK(res >= 0, "%s: pw_stream_connect: %s", name, spa_strerror(res));
	return res >= 0;
}

void ct_consumer_stop(struct ct_consumer *consumer) {
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
	ct_egl_destroy(consumer->egl);
	consumer->egl = NULL;
	if (consumer->drm_fd >= 0) {
		close(consumer->drm_fd);
		consumer->drm_fd = -1;
	}
}

