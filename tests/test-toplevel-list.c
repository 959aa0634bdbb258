/*
 * ext-foreign-toplevel-list-v1 and the toplevel source manager, with real
 * windows (the test window client, $ZT_WINDOW_CLIENT) on the reference
 * compositor, once with zerocap's own list and once with wlroots'.
 *
 * A window is announced with its identifier, title and app_id, then done;
 * changes come with done; closing sends closed and nothing after; a new
 * window never gets an old identifier; stop ends the list with finished.
 * Sources on closed windows give sessions that stop, and a source on a live
 * window gives a session with constraints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "window.h"
#include "wl-helpers.h"

static struct zt_compositor comp;
static const char *mode; /* "zerocap" or "wlroots" */

/* Every identifier seen in this compositor run: none may come twice. */
static char seen[16][64];
static int n_seen;

static void check_new_identifier(const char *identifier, const char *what) {
	for (int i = 0; i < n_seen; i++) {
		ZT_CHECK(strcmp(seen[i], identifier) != 0, "%s %s: identifier %s was used before",
			mode, what, identifier);
	}
	if (n_seen < (int)(sizeof(seen) / sizeof(seen[0]))) {
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", identifier);
	}
}

static bool start_window(struct zt_window *window, const char *app_id, const char *title) {
	const char *args[] = {"--title", title, NULL};
	return zt_window_start(window, &comp, app_id, args);
}

/* Closes the window from the compositor (xdg close); the client exits. */
static void close_window(struct zt_window *window, const char *what) {
	ZT_CHECK(zt_cmd(&comp, "window-close %d", window->id), "%s %s: window-close: %s", mode,
		what, comp.reply);
	ZT_CHECK(zt_window_wait_exit(window, zt_wait_ms), "%s %s: the window client did not exit",
		mode, what);
}

static void wait_closed(struct zcc_client *client, struct zcc_toplevel *toplevel,
		const char *what) {
	ZT_CHECK(zcc_client_dispatch_until(client, zt_toplevel_closed, toplevel, zt_wait_ms) == 1,
		"%s %s: no closed event", mode, what);
}

static bool title_is(void *data) {
	struct zcc_toplevel *toplevel = data;
	return toplevel->done_events > 1 && strcmp(toplevel->title, "Second") == 0;
}

static bool app_id_is_second(void *data) {
	struct zcc_toplevel *toplevel = data;
	return strcmp(toplevel->app_id, "zt-second") == 0;
}

/* The announcement of a new window as the protocol has it. */
static void check_announced(struct zcc_toplevel *toplevel, const char *app_id,
		const char *title, const char *what) {
	ZT_CHECK(toplevel->identifier_events == 1, "%s %s: %u identifier events", mode, what,
		toplevel->identifier_events);
	ZT_CHECK(toplevel->done_events >= 1, "%s %s: no done", mode, what);
	ZT_CHECK(zt_identifier_valid(toplevel->identifier), "%s %s: bad identifier '%s'", mode,
		what, toplevel->identifier);
	ZT_CHECK(strcmp(toplevel->app_id, app_id) == 0, "%s %s: app_id '%s'", mode, what,
		toplevel->app_id);
	ZT_CHECK(strcmp(toplevel->title, title) == 0, "%s %s: title '%s'", mode, what,
		toplevel->title);
	ZT_CHECK(!toplevel->closed, "%s %s: closed at once", mode, what);
}

/* A session on toplevel (live or not) that must stop without constraints. */
static void check_stopped_session(struct zcc_client *client, struct zcc_toplevel *toplevel,
		const char *what) {
	struct zcc_session *session = zcc_session_create_for_toplevel(client, toplevel, 0);
	ZT_CHECK(session != NULL, "%s %s: no session: %s", mode, what,
		zcc_client_last_error(client));
	if (session == NULL) {
		return;
	}
	ZT_CHECK(zcc_session_wait_constraints(session, zt_wait_ms) == 1 && session->stopped,
		"%s %s: the session did not stop", mode, what);
	ZT_CHECK(session->constraint_batches == 0, "%s %s: constraints on a closed window", mode,
		what);
	zcc_session_destroy(session);
	zt_check_no_error(client, what);
	ZT_CHECK(zt_compositor_alive(&comp), "%s %s: the compositor died", mode, what);
}

/* Announcement, late binding, changes, capture, close, sources after close, a new window. */
static void test_lifecycle(struct zcc_client *early) {
	zt_section("announce, update, capture, close");
	struct zt_window window;
	if (!start_window(&window, "zt-first", "First")) {
		return;
	}
	struct zcc_toplevel *toplevel = zt_toplevel_wait(early, "zt-first", "First");
	if (toplevel == NULL) {
		zt_window_stop(&window);
		return;
	}
	check_announced(toplevel, "zt-first", "First", "new window");
	check_new_identifier(toplevel->identifier, "new window");
	if (window.identifier[0] != '\0') {
		ZT_CHECK(strcmp(window.identifier, toplevel->identifier) == 0,
			"%s: identifier %s, the compositor says %s", mode, toplevel->identifier,
			window.identifier);
	}

	/* A client binding later gets the window at bind, under the same identifier. */
	struct zcc_client *late = zt_connect(&comp);
	struct zcc_toplevel *late_toplevel = NULL;
	if (late != NULL) {
		late_toplevel = zcc_client_find_toplevel(late, toplevel->identifier);
		ZT_CHECK(late_toplevel != NULL, "%s: a late client does not list %s", mode,
			toplevel->identifier);
		if (late_toplevel != NULL) {
			check_announced(late_toplevel, "zt-first", "First", "at bind");
		}
		ZT_CHECK(zcc_client_find_toplevel(late, "zt-first") == late_toplevel,
			"%s: find by app_id", mode);
	}

	unsigned done_before = toplevel->done_events;
	ZT_CHECK(zt_window_cmd(&window, "title Second"), "%s: title: %s", mode, window.reply);
	/* Arguments are read in no set order: dispatch before the check. */
	int ret = zcc_client_dispatch_until(early, title_is, toplevel, zt_wait_ms);
	ZT_CHECK(ret == 1, "%s: title now '%s'", mode, toplevel->title);
	ZT_CHECK(toplevel->done_events > done_before, "%s: no done after the title", mode);
	ZT_CHECK(toplevel->identifier_events == 1, "%s: identifier sent again", mode);
	ZT_CHECK(strcmp(toplevel->app_id, "zt-first") == 0, "%s: app_id changed with the title",
		mode);
	ZT_CHECK(zt_window_cmd(&window, "app-id zt-second"), "%s: app-id: %s", mode,
		window.reply);
	ret = zcc_client_dispatch_until(early, app_id_is_second, toplevel, zt_wait_ms);
	ZT_CHECK(ret == 1, "%s: app_id now '%s'", mode, toplevel->app_id);
	ZT_CHECK(strcmp(toplevel->title, "Second") == 0, "%s: title lost: '%s'", mode,
		toplevel->title);

	/* A capture session on the live window gets a size. */
	struct zcc_session *session = zcc_session_create_for_toplevel(early, toplevel, 0);
	ZT_CHECK(session != NULL, "%s: no session: %s", mode, zcc_client_last_error(early));
	if (session != NULL) {
		ret = zcc_session_wait_constraints(session, zt_wait_ms);
		ZT_CHECK(ret == 1 && !session->stopped,
			"%s: the window session got no constraints (wait %d, stopped %d)", mode, ret,
			session->stopped);
		ZT_CHECK(session->constraint_batches >= 1 && session->constraints.width > 0 &&
			session->constraints.height > 0 &&
			session->constraints.buffer_size_events == 1,
			"%s: window constraints %ux%u in %u batch(es)", mode,
			session->constraints.width, session->constraints.height,
			session->constraint_batches);
	}
	struct zt_cursor_capture cursor;
	ZT_CHECK(zt_cursor_capture_open_toplevel(&cursor, early, toplevel),
		"%s: a cursor session on a window neither started nor stopped", mode);
	zt_cursor_capture_close(&cursor);
	zt_check_no_error(early, "sessions on a window");

	close_window(&window, "close");
	wait_closed(early, toplevel, "close");
	if (late_toplevel != NULL) {
		wait_closed(late, late_toplevel, "close (late client)");
	}
	if (session != NULL) {
		ret = zcc_client_dispatch_until(early, zt_session_stopped, session, zt_wait_ms);
		ZT_CHECK(ret == 1, "%s: the window session did not stop on close", mode);
	}
	zcc_client_dispatch_for(early, zt_quiet_ms);
	ZT_CHECK(toplevel->closed_events == 1 && toplevel->events_after_closed == 0,
		"%s: %u closed, %u events after", mode, toplevel->closed_events,
		toplevel->events_after_closed);
	ZT_CHECK(zcc_client_find_toplevel(early, toplevel->identifier) == NULL,
		"%s: a closed window is still found", mode);
	zcc_session_destroy(session);

	/* The handle is inert, yet usable. */
	check_stopped_session(early, toplevel, "source after closed");
	if (late_toplevel != NULL) {
		check_stopped_session(late, late_toplevel, "source after closed (late client)");
	}

	struct zt_window again;
	if (start_window(&again, "zt-second", "Second")) {
		struct zcc_toplevel *next = zt_toplevel_wait(early, "zt-second", "Second");
		if (next != NULL) {
			check_announced(next, "zt-second", "Second", "same app_id");
			check_new_identifier(next->identifier, "same app_id");
		}
		zt_window_stop(&again);
		if (next != NULL) {
			wait_closed(early, next, "client quit");
		}
	}
	zcc_client_destroy(late);
}

/* The window's client destroys it (quit), the handles close; then sources on them. */
static void test_client_quits(struct zcc_client *client) {
	zt_section("window destroyed by its client");
	struct zt_window window;
	if (!start_window(&window, "zt-quit", "Quit")) {
		return;
	}
	struct zcc_toplevel *toplevel = zt_toplevel_wait(client, "zt-quit", NULL);
	if (toplevel == NULL) {
		zt_window_stop(&window);
		return;
	}
	check_new_identifier(toplevel->identifier, "quit");
	struct zcc_session *session = zcc_session_create_for_toplevel(client, toplevel, 0);
	ZT_CHECK(zt_window_stop(&window), "%s: the window client did not quit cleanly", mode);
	wait_closed(client, toplevel, "quit");
	if (session != NULL) {
		ZT_CHECK(zcc_client_dispatch_until(client, zt_session_stopped, session, zt_wait_ms)
			== 1, "%s: the session did not stop when the window went", mode);
		zcc_session_destroy(session);
	}
	check_stopped_session(client, toplevel, "source after the window was destroyed");

	/* The handle gone too, client side: nothing breaks. */
	zcc_toplevel_destroy(toplevel);
	zt_check_no_error(client, "handle destroyed after closed");
}

/* A source asked for while the window closes: whatever comes first, the session stops. */
static void test_close_race(struct zcc_client *client) {
	zt_section("source racing the close");
	struct zt_window window;
	if (!start_window(&window, "zt-race", "Race")) {
		return;
	}
	struct zcc_toplevel *toplevel = zt_toplevel_wait(client, "zt-race", NULL);
	if (toplevel == NULL) {
		zt_window_stop(&window);
		return;
	}
	check_new_identifier(toplevel->identifier, "race");
	ZT_CHECK(zt_cmd(&comp, "window-close %d", window.id), "%s race: window-close: %s", mode,
		comp.reply);
	struct zcc_session *session = zcc_session_create_for_toplevel(client, toplevel, 0);
	ZT_CHECK(zt_window_wait_exit(&window, zt_wait_ms), "%s race: the client did not exit",
		mode);
	if (session != NULL) {
		ZT_CHECK(zcc_client_dispatch_until(client, zt_session_stopped, session, zt_wait_ms)
			== 1, "%s race: the session did not stop", mode);
		zcc_session_destroy(session);
	}
	wait_closed(client, toplevel, "race");
	zt_check_no_error(client, "race");
	ZT_CHECK(zt_compositor_alive(&comp), "%s race: the compositor died", mode);
}

/* A client destroys the handle of a live window: the list and others go on. */
static void test_handle_destroyed(struct zcc_client *client) {
	zt_section("handle destroyed by the client");
	struct zt_window window;
	if (!start_window(&window, "zt-drop", "Drop")) {
		return;
	}
	struct zcc_toplevel *toplevel = zt_toplevel_wait(client, "zt-drop", NULL);
	if (toplevel != NULL) {
		check_new_identifier(toplevel->identifier, "drop");
		char identifier[64];
		snprintf(identifier, sizeof(identifier), "%s", toplevel->identifier);
		struct zcc_session *session = zcc_session_create_for_toplevel(client, toplevel, 0);
		if (session != NULL) {
			zcc_session_wait_constraints(session, zt_wait_ms);
		}
		zcc_toplevel_destroy(toplevel);
		zt_check_no_error(client, "handle destroyed under a session");
		zcc_session_destroy(session);
		zt_check_no_error(client, "session destroyed after its handle");

		struct zcc_client *other = zt_connect(&comp);
		if (other != NULL) {
			struct zcc_toplevel *listed = zcc_client_find_toplevel(other, identifier);
			ZT_CHECK(listed != NULL,
				"%s: the window left the list with one client's handle", mode);
			zcc_client_destroy(other);
		}
	}
	close_window(&window, "drop");
}

static bool list_finished(void *data) {
	return ((struct zcc_client *)data)->toplevel_list_finished;
}

/* stop: finished, then no more toplevels for that client; others still get them. */
static void test_stop(struct zcc_client *watcher) {
	zt_section("stop");
	struct zcc_client *client = zt_connect(&comp);
	if (client == NULL) {
		return;
	}
	zcc_client_stop_toplevel_list(client);
	ZT_CHECK(zcc_client_dispatch_until(client, list_finished, client, zt_wait_ms) == 1,
		"%s: no finished after stop", mode);
	/* A second stop on a finished list is harmless. */
	ext_foreign_toplevel_list_v1_stop(client->toplevel_list);
	zt_check_no_error(client, "stop twice");
	unsigned announced = client->toplevels_announced;

	struct zt_window window;
	if (start_window(&window, "zt-after-stop", "After")) {
		struct zcc_toplevel *toplevel = zt_toplevel_wait(watcher, "zt-after-stop", NULL);
		if (toplevel != NULL) {
			check_new_identifier(toplevel->identifier, "after stop");
		}
		zcc_client_roundtrip(client, zt_wait_ms);
		zcc_client_dispatch_for(client, zt_quiet_ms);
		ZT_CHECK(client->toplevels_announced == announced &&
			client->toplevels_after_finished == 0,
			"%s: %u toplevel(s) after stop", mode,
			client->toplevels_announced - announced);
		close_window(&window, "after stop");
		if (toplevel != NULL) {
			wait_closed(watcher, toplevel, "after stop");
		}
	}
	zt_check_no_error(client, "stopped list");
	zcc_client_destroy(client);
}

/* zerocap-shot lists the window and captures it by app_id. */
static void test_shot_list(void) {
	zt_section("zerocap-shot list");
	const char *shot = getenv("ZC_SHOT");
	if (shot == NULL) {
		return;
	}
	struct zt_window window;
	if (!start_window(&window, "zt-shot", "Shot")) {
		return;
	}
	char command[512];
	snprintf(command, sizeof(command), "'%s' -d '%s' list", shot, comp.socket);
	FILE *out = popen(command, "r");
	bool listed = false;
	char line[512];
	while (out != NULL && fgets(line, sizeof(line), out) != NULL) {
		listed = listed || (strncmp(line, "window ", 7) == 0 &&
			strstr(line, "app_id \"zt-shot\" title \"Shot\"") != NULL);
	}
	int status = out != NULL ? pclose(out) : -1;
	ZT_CHECK(status == 0 && listed, "%s: zerocap-shot list (status %d) lacks the window",
		mode, status);

	/* -w by app_id: one image of the window's size. */
	char path[160];
	snprintf(path, sizeof(path), "%s/%s-window.ppm", getenv("XDG_RUNTIME_DIR"), comp.socket);
	snprintf(command, sizeof(command), "'%s' -d '%s' -q -w zt-shot '%s'", shot, comp.socket,
		path);
	status = system(command);
	int width = 0, height = 0;
	FILE *image = fopen(path, "r");
	if (image != NULL) {
		if (fscanf(image, "P6 %d %d", &width, &height) != 2) {
			width = height = 0;
		}
		fclose(image);
	}
	unlink(path);
	ZT_CHECK(status == 0 && width == window.width && height == window.height,
		"%s: zerocap-shot -w: status %d, %dx%d for a %dx%d window", mode, status, width,
		height, window.width, window.height);
	close_window(&window, "shot");
}

static void run(const char *list) {
	mode = list;
	n_seen = 0;
	char flag[64];
	snprintf(flag, sizeof(flag), "--toplevel-list=%s", list);
	const char *args[] = {flag, NULL};
	fprintf(stderr, "==== --toplevel-list=%s\n", list);
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zcc_client *client = zt_connect(&comp);
	if (client != NULL) {
		ZT_CHECK(client->toplevel_list != NULL && client->toplevel_source_manager != NULL,
			"%s: no ext_foreign_toplevel_list_v1 or toplevel source manager", mode);
		ZT_CHECK(wl_list_empty(&client->toplevels), "%s: toplevels before any window", mode);
	}
	if (client != NULL && client->toplevel_list != NULL &&
			client->toplevel_source_manager != NULL) {
		test_lifecycle(client);
		test_client_quits(client);
		test_close_race(client);
		test_handle_destroyed(client);
		test_stop(client);
		test_shot_list();
		zt_check_no_error(client, "the whole run");
		ZT_CHECK(client->toplevels_after_finished == 0, "%s: toplevels after finished", mode);
	}
	zcc_client_destroy(client);
	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor died", mode);
	zt_compositor_stop(&comp);
}

int main(void) {
	if (getenv("ZT_WINDOW_CLIENT") == NULL) {
		fprintf(stderr, "ZT_WINDOW_CLIENT is not set: skipped\n");
		return 77;
	}
	run("zerocap");
	run("wlroots");
	return zt_finish();
}
