/*
 * The test window client (zt-window-client, $ZT_WINDOW_CLIENT) run against a
 * fixture compositor: start it, send it commands, find its window on the
 * compositor's control channel.
 */
#ifndef ZT_WINDOW_H
#define ZT_WINDOW_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "fixture.h"

struct zt_window {
	pid_t pid;
	int to_child;
	FILE *from_child;
	char reply[256];
	int id; /* the compositor's window ID */
	int x, y, width, height; /* from the last zt_window_refresh */
	char identifier[64]; /* ext-foreign-toplevel identifier, when known */
};

/* Starts the client with --app-id app_id and the extra args (NULL-terminated,
 * may be NULL); waits for its window to be listed by the compositor. */
bool zt_window_start(struct zt_window *window, struct zt_compositor *comp,
	const char *app_id, const char *const *args);
/* Sends one command; true when the client answers "ok". */
bool zt_window_cmd(struct zt_window *window, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reads the window's entry (position, size, identifier) from `windows`. */
bool zt_window_refresh(struct zt_window *window, struct zt_compositor *comp);
/* Asks the client to quit (if alive) and reaps it; true on exit status 0. */
bool zt_window_stop(struct zt_window *window);
/* Waits up to timeout_ms for the client to exit by itself; true on status 0. */
bool zt_window_wait_exit(struct zt_window *window, int timeout_ms);

#endif
