/*
 * org.freedesktop.impl.portal.Access: the frontend asks it before it lets an
 * application take screenshots (and use other portals). This backend has no
 * dialog of its own: it runs the configured access_cmd with the request's
 * title, subtitle and body as arguments and grants when the command exits 0
 * (a desktop's own prompt, e.g. zenity --question). Without access_cmd
 * every request is denied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "portal.h"

static bool ask(const char *cmd, const char *app_id, const char *title, const char *subtitle,
		const char *body) {
	pid_t pid = fork();
	if (pid < 0) {
		return false;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "access_cmd", app_id, title, subtitle, body,
			(char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return false;
		}
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int method_access_dialog(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	const char *handle, *app_id, *parent, *title, *subtitle, *body;
	int r = sd_bus_message_read(m, "ossss" "s", &handle, &app_id, &parent, &title, &subtitle,
		&body);
	if (r < 0 || (r = sd_bus_message_skip(m, "a{sv}")) < 0) {
		return r;
	}
	bool granted = server->config.access_cmd != NULL &&
		ask(server->config.access_cmd, app_id, title, subtitle, body);
	fprintf(stderr, "zerocap-portal: access for '%s' (%s): %s\n", app_id, title,
		granted ? "granted" : "denied");
	return sd_bus_reply_method_return(m, "ua{sv}", granted ? 0 : 1, 0);
}

static const sd_bus_vtable access_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("AccessDialog", "osssssa{sv}", "ua{sv}", method_access_dialog,
		SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

int zcp_access_init(struct zcp_server *server) {
	return sd_bus_add_object_vtable(server->bus, NULL, ZCP_OBJECT_PATH,
		"org.freedesktop.impl.portal.Access", access_vtable, server);
}
