#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "window.h"

static bool read_line(struct zt_window *window, int timeout_ms) {
	int fd = fileno(window->from_child);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, timeout_ms) <= 0) {
		return false;
	}
	if (fgets(window->reply, sizeof(window->reply), window->from_child) == NULL) {
		return false;
	}
	window->reply[strcspn(window->reply, "\n")] = '\0';
	return true;
}

/* The client's answer to a command; "event ..." lines are skipped. */
static bool read_reply(struct zt_window *window) {
	while (read_line(window, 10000)) {
		if (strncmp(window->reply, "event ", 6) != 0) {
			return strncmp(window->reply, "ok", 2) == 0;
		}
	}
	snprintf(window->reply, sizeof(window->reply), "(no answer)");
	return false;
}

static bool find_entry(struct zt_window *window, struct zt_compositor *comp,
		const char *app_id, bool by_app_id) {
	if (!zt_cmd(comp, "windows")) {
		return false;
	}
	char list[sizeof(comp->reply)];
	snprintf(list, sizeof(list), "%s", comp->reply + 2);
	char *save = NULL;
	for (char *entry = strtok_r(list, ";", &save); entry != NULL;
			entry = strtok_r(NULL, ";", &save)) {
		while (*entry == ' ') {
			entry++;
		}
		/* ID:APP_ID:TITLE:X,Y,WxH[:IDENTIFIER] */
		char *fields[5] = {0};
		int n = 0;
		for (char *p = entry; p != NULL && n < 5; n++) {
			fields[n] = p;
			p = strchr(p, ':');
			if (p != NULL) {
				*p++ = '\0';
			}
		}
		if (n < 4) {
			continue;
		}
		int id = atoi(fields[0]);
		if (by_app_id ? strcmp(fields[1], app_id) != 0 : id != window->id) {
			continue;
		}
		window->id = id;
		if (sscanf(fields[3], "%d,%d,%dx%d", &window->x, &window->y, &window->width,
				&window->height) != 4) {
			return false;
		}
		snprintf(window->identifier, sizeof(window->identifier), "%s",
			fields[4] != NULL ? fields[4] : "");
		return true;
	}
	return false;
}

bool zt_window_refresh(struct zt_window *window, struct zt_compositor *comp) {
	return find_entry(window, comp, NULL, false);
}

bool zt_window_start(struct zt_window *window, struct zt_compositor *comp,
		const char *app_id, const char *const *args) {
	memset(window, 0, sizeof(*window));
	window->pid = -1;
	const char *client = getenv("ZT_WINDOW_CLIENT");
	int to[2], from[2];
	if (client == NULL || pipe(to) != 0 || pipe(from) != 0) {
		ZT_CHECK(false, "cannot start the window client (ZT_WINDOW_CLIENT %s)",
			client != NULL ? client : "unset");
		return false;
	}
	const char *argv[32] = {client, "--app-id", app_id};
	int argc = 3;
	for (int i = 0; args != NULL && args[i] != NULL && argc < 31; i++) {
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	window->pid = fork();
	if (window->pid == 0) {
		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		close(to[1]);
		close(from[0]);
		setenv("WAYLAND_DISPLAY", comp->socket, 1);
		/* The helper leaves its proxies to exit(); sanitizer builds would
		 * report them and fail its exit status. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execv(client, (char *const *)argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	window->to_child = to[1];
	window->from_child = fdopen(from[0], "r");
	/* Mapped once the compositor lists it. */
	for (int i = 0; i < 200; i++) {
		if (find_entry(window, comp, app_id, true) && window->width > 0) {
			return true;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ZT_CHECK(false, "window %s never showed up: %s", app_id, comp->reply);
	return false;
}

bool zt_window_cmd(struct zt_window *window, const char *fmt, ...) {
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (window->pid <= 0 || write(window->to_child, line, strlen(line)) < 0) {
		return false;
	}
	return read_reply(window);
}

bool zt_window_wait_exit(struct zt_window *window, int timeout_ms) {
	if (window->pid <= 0) {
		return false;
	}
	int status = 0;
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(window->pid, &status, WNOHANG);
		if (r == window->pid) {
			window->pid = -1;
			fclose(window->from_child);
			close(window->to_child);
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

bool zt_window_stop(struct zt_window *window) {
	if (window->pid <= 0) {
		return true;
	}
	const char quit[] = "quit\n";
	if (write(window->to_child, quit, sizeof(quit) - 1) < 0) {
		kill(window->pid, SIGKILL);
	}
	bool ok = zt_window_wait_exit(window, 5000);
	if (window->pid > 0) {
		/* Still running after quit: no more waiting. */
		kill(window->pid, SIGKILL);
		zt_window_wait_exit(window, 5000);
	}
	return ok;
}
