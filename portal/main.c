/*
 * xdg-desktop-portal-zerocap: the process, its configuration, the choice of
 * what to share, and the poll loop over D-Bus, PipeWire and Wayland.
 *
 *   xdg-desktop-portal-zerocap [-c CONFIG] [--choice output:NAME|window:KEY]
 *                              [--chooser CMD] [--max-fps FPS] [-r]
 *
 * CONFIG (default $XDG_CONFIG_HOME/xdg-desktop-portal-zerocap/config):
 *   [screencast]
 *   choice=output:HDMI-A-1     share this without asking (tests, kiosks)
 *   chooser_cmd=my-picker      prints output:NAME or window:ID on stdout
 *   max_fps=60
 *   access_cmd=my-prompt       grants an Access request (screenshots) when it
 *                              exits 0; $1 app id, $2 title, $3 subtitle, $4 body
 *   picker_cmd=my-picker       PickColor: prints "OUTPUT X Y" (a pixel of that
 *                              output); none, or nothing printed: no colour
 * Without a choice or a chooser nothing is shared: the request is cancelled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "portal.h"

static volatile sig_atomic_t interrupted;

static void handle_signal(int sig) {
	interrupted = 1;
}

static void set(char **dst, const char *value) {
	free(*dst);
	*dst = value != NULL ? strdup(value) : NULL;
}

void zcp_config_load(struct zcp_config *config, const char *path) {
	char fallback[512];
	if (path == NULL) {
		const char *home = getenv("XDG_CONFIG_HOME");
		const char *user = getenv("HOME");
		if (home != NULL) {
			snprintf(fallback, sizeof(fallback), "%s/xdg-desktop-portal-zerocap/config", home);
		} else {
			snprintf(fallback, sizeof(fallback), "%s/.config/xdg-desktop-portal-zerocap/config",
				user != NULL ? user : "");
		}
		path = fallback;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return;
	}
	char line[1024];
	bool in_screencast = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0') {
			continue;
		}
		if (line[0] == '[') {
			in_screencast = strcmp(line, "[screencast]") == 0;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in_screencast || eq == NULL) {
			continue;
		}
		*eq = '\0';
		const char *key = line, *value = eq + 1;
		if (strcmp(key, "choice") == 0) {
			set(&config->choice, value);
		} else if (strcmp(key, "chooser_cmd") == 0) {
			set(&config->chooser_cmd, value);
		} else if (strcmp(key, "access_cmd") == 0) {
			set(&config->access_cmd, value);
		} else if (strcmp(key, "picker_cmd") == 0) {
			set(&config->picker_cmd, value);
		} else if (strcmp(key, "max_fps") == 0) {
			config->max_fps = atof(value);
		} else {
			fprintf(stderr, "zerocap-portal: %s: unknown key %s\n", path, key);
		}
	}
	fclose(f);
}

void zcp_config_finish(struct zcp_config *config) {
	free(config->choice);
	free(config->chooser_cmd);
	free(config->access_cmd);
	free(config->picker_cmd);
}

struct zcl_target *zcp_find_choice(struct zcp_server *server, const char *choice) {
	const char *key = strchr(choice, ':');
	if (key == NULL) {
		return NULL;
	}
	bool window = strncmp(choice, "window:", 7) == 0;
	if (!window && strncmp(choice, "output:", 7) != 0) {
		return NULL;
	}
	struct zcl_target *target = zcl_client_find_target(server->client, key + 1);
	if (target == NULL || (zcl_target_get_type(target) == ZCL_TARGET_WINDOW) != window) {
		return NULL;
	}
	return target;
}

char *zcp_choose(struct zcp_server *server, uint32_t types) {
	if (server->config.choice != NULL) {
		return strdup(server->config.choice);
	}
	if (server->config.chooser_cmd == NULL) {
		return NULL;
	}
	/* The chooser gets the targets on stdin, one "output:NAME" / "window:ID TITLE" a line. */
	char path[] = "/tmp/zerocap-portal-XXXXXX";
	int fd = mkstemp(path);
	FILE *list = fd >= 0 ? fdopen(fd, "w") : NULL;
	for (size_t i = 0; list != NULL && i < zcl_client_target_count(server->client); i++) {
		struct zcl_target *t = zcl_client_target_at(server->client, i);
		bool window = zcl_target_get_type(t) == ZCL_TARGET_WINDOW;
		if (!(types & (window ? ZCP_SOURCE_WINDOW : ZCP_SOURCE_MONITOR))) {
			continue;
		}
		fprintf(list, "%s:%s %s\n", window ? "window" : "output", zcl_target_get_name(t),
			zcl_target_get_title(t));
	}
	if (list != NULL) {
		fclose(list);
	}
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s < %s", server->config.chooser_cmd, path);
	char *line = zcp_run_line(cmd);
	unlink(path);
	if (line != NULL) {
		line[strcspn(line, " ")] = '\0';
	}
	return line;
}

char *zcp_run_line(const char *cmd) {
	FILE *out = popen(cmd, "r");
	char line[512] = {0};
	bool got = out != NULL && fgets(line, sizeof(line), out) != NULL;
	if (out != NULL) {
		pclose(out);
	}
	line[strcspn(line, "\r\n")] = '\0';
	return got && line[0] != '\0' ? strdup(line) : NULL;
}

static void handle_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
	struct zcp_server *server = data;
	fprintf(stderr, "zerocap-portal: PipeWire error on %u: %s\n", id, message);
	if (id == PW_ID_CORE) {
		server->quit = true;
	}
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = handle_core_error,
};

static bool server_init(struct zcp_server *server, bool replace) {
	wl_list_init(&server->sessions);
	server->client = zcl_client_connect(NULL, NULL, NULL);
	if (server->client == NULL) {
		fprintf(stderr, "zerocap-portal: no Wayland compositor\n");
		return false;
	}
	while (!zcl_client_ready(server->client)) {
		struct pollfd pfd = {.fd = zcl_client_get_fd(server->client), .events = POLLIN};
		poll(&pfd, 1, 100);
		if (zcl_client_dispatch(server->client) < 0) {
			return false;
		}
	}
	server->pw_loop = pw_loop_new(NULL);
	server->pw_context = server->pw_loop != NULL ?
		pw_context_new(server->pw_loop, NULL, 0) : NULL;
	server->pw_core = server->pw_context != NULL ?
		pw_context_connect(server->pw_context, NULL, 0) : NULL;
	if (server->pw_core == NULL) {
		fprintf(stderr, "zerocap-portal: cannot connect to PipeWire: %s\n", strerror(errno));
		return false;
	}
	pw_core_add_listener(server->pw_core, &server->core_listener, &core_events, server);
	int r = sd_bus_open_user(&server->bus);
	if (r < 0) {
		fprintf(stderr, "zerocap-portal: no session bus: %s\n", strerror(-r));
		return false;
	}
	if ((r = zcp_screencast_init(server)) < 0 || (r = zcp_screenshot_init(server)) < 0 ||
			(r = zcp_access_init(server)) < 0) {
		fprintf(stderr, "zerocap-portal: cannot export the portal: %s\n", strerror(-r));
		return false;
	}
	r = sd_bus_request_name(server->bus, ZCP_BUS_NAME,
		replace ? SD_BUS_NAME_REPLACE_EXISTING | SD_BUS_NAME_ALLOW_REPLACEMENT :
		SD_BUS_NAME_ALLOW_REPLACEMENT);
	if (r < 0) {
		fprintf(stderr, "zerocap-portal: cannot own %s: %s\n", ZCP_BUS_NAME, strerror(-r));
		return false;
	}
	fprintf(stderr, "zerocap-portal: serving %s\n", ZCP_BUS_NAME);
	return true;
}

static void server_finish(struct zcp_server *server) {
	struct zcp_session *session, *tmp;
	wl_list_for_each_safe(session, tmp, &server->sessions, link) {
		zcp_session_close(session, true);
	}
	if (server->bus != NULL) {
		sd_bus_flush_close_unref(server->bus);
	}
	if (server->pw_core != NULL) {
		pw_core_disconnect(server->pw_core);
	}
	if (server->pw_context != NULL) {
		pw_context_destroy(server->pw_context);
	}
	if (server->pw_loop != NULL) {
		pw_loop_destroy(server->pw_loop);
	}
	zcl_client_destroy(server->client);
	zcp_config_finish(&server->config);
}

static void run(struct zcp_server *server) {
	int pw_fd = pw_loop_get_fd(server->pw_loop);
	pw_loop_enter(server->pw_loop);
	while (!interrupted && !server->quit) {
		struct pollfd fds[3] = {
			{.fd = sd_bus_get_fd(server->bus), .events = (short)sd_bus_get_events(server->bus)},
			{.fd = pw_fd, .events = POLLIN},
			{.fd = zcl_client_get_fd(server->client), .events = POLLIN},
		};
		uint64_t usec = UINT64_MAX;
		sd_bus_get_timeout(server->bus, &usec);
		int timeout = usec == UINT64_MAX ? 1000 : 1;
		poll(fds, 3, timeout);
		pw_loop_iterate(server->pw_loop, 0);
		if (zcl_client_dispatch(server->client) < 0) {
			fprintf(stderr, "zerocap-portal: the compositor went away\n");
			break;
		}
		int r;
		while ((r = sd_bus_process(server->bus, NULL)) > 0) {
		}
		if (r < 0) {
			fprintf(stderr, "zerocap-portal: the bus went away: %s\n", strerror(-r));
			break;
		}
	}
	pw_loop_leave(server->pw_loop);
}

int main(int argc, char *argv[]) {
	struct zcp_server server = {0};
	const char *config_path = NULL;
	const char *choice = NULL, *chooser = NULL;
	double max_fps = 0;
	bool replace = false;
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"choice", required_argument, NULL, 'C'},
		{"chooser", required_argument, NULL, 'x'},
		{"max-fps", required_argument, NULL, 'f'},
		{"replace", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:rh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'C': choice = optarg; break;
		case 'x': chooser = optarg; break;
		case 'f': max_fps = atof(optarg); break;
		case 'r': replace = true; break;
		default:
			fprintf(opt == 'h' ? stdout : stderr, "usage: xdg-desktop-portal-zerocap "
				"[-c CONFIG] [--choice output:NAME|window:KEY] [--chooser CMD] "
				"[--max-fps FPS] [-r]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	zcp_config_load(&server.config, config_path);
	if (choice != NULL) {
		set(&server.config.choice, choice);
	}
	if (chooser != NULL) {
		set(&server.config.chooser_cmd, chooser);
	}
	if (max_fps > 0) {
		server.config.max_fps = max_fps;
	}
	signal(SIGINT, handle_signal);
	signal(SIGTERM, handle_signal);
	signal(SIGPIPE, SIG_IGN);
	pw_init(&argc, &argv);
	int status = 1;
	if (server_init(&server, replace)) {
		run(&server);
		status = 0;
	}
	server_finish(&server);
	pw_deinit();
	return status;
}
