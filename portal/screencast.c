/*
 * org.freedesktop.impl.portal.ScreenCast and its Session objects.
 *
 * Lifetimes: a session lives from CreateSession until Close (from the
 * frontend), the end of its stream (target gone, capture revoked: then
 * Closed is emitted), or the server's end. Start answers asynchronously,
 * once the PipeWire stream has a node id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "portal.h"

#define SCREENCAST_VERSION 5
#define RESTORE_VENDOR "zerocap"
#define RESTORE_VERSION 1

static const char session_interface[] = "org.freedesktop.impl.portal.Session";

static struct zcp_session *session_find(struct zcp_server *server, const char *path) {
	struct zcp_session *session;
	wl_list_for_each(session, &server->sessions, link) {
		if (strcmp(session->path, path) == 0) {
			return session;
		}
	}
	return NULL;
}

void zcp_session_close(struct zcp_session *session, bool emit) {
	struct zcp_server *server = session->server;
	if (session->start_reply != NULL) {
		sd_bus_reply_method_return(session->start_reply, "ua{sv}", 2, 0);
		sd_bus_message_unref(session->start_reply);
		session->start_reply = NULL;
	}
	if (emit) {
		sd_bus_emit_signal(server->bus, session->path, session_interface, "Closed", NULL);
	}
	zcp_stream_destroy(session->stream);
	sd_bus_slot_unref(session->slot);
	wl_list_remove(&session->link);
	free(session->path);
	free(session->app_id);
	free(session->restore_choice);
	free(session->start_choice);
	free(session);
}

static int session_method_close(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_session *session = data;
	zcp_session_close(session, false);
	return sd_bus_reply_method_return(m, "");
}

static int session_prop_version(sd_bus *bus, const char *path, const char *interface,
		const char *property, sd_bus_message *reply, void *data, sd_bus_error *error) {
	return sd_bus_message_append(reply, "u", 1);
}

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Close", "", "", session_method_close, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL("Closed", "", 0),
	SD_BUS_PROPERTY("version", "u", session_prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

/*
 * Walks an a{sv}: for each key, handler reads the variant's contents (the
 * message is inside the variant when it is called) or returns 0 to skip.
 */
typedef int (*option_func)(sd_bus_message *m, const char *key, const char *type, void *data);

static int read_options(sd_bus_message *m, option_func handler, void *data) {
	int r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0) {
		return r;
	}
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *type;
		if ((r = sd_bus_message_read(m, "s", &key)) < 0 ||
				(r = sd_bus_message_peek_type(m, NULL, &type)) < 0) {
			return r;
		}
		if ((r = sd_bus_message_enter_container(m, 'v', type)) < 0) {
			return r;
		}
		r = handler(m, key, type, data);
		if (r < 0) {
			return r;
		}
		if (r == 0 && (r = sd_bus_message_skip(m, type)) < 0) {
			return r;
		}
		if ((r = sd_bus_message_exit_container(m)) < 0 ||
				(r = sd_bus_message_exit_container(m)) < 0) {
			return r;
		}
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

static int reply_response(sd_bus_message *m, uint32_t response) {
	return sd_bus_reply_method_return(m, "ua{sv}", response, 0);
}

static int skip_options(sd_bus_message *m, const char *key, const char *type, void *data) {
	return 0;
}

static int method_create_session(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	const char *handle, *session_path, *app_id;
	int r = sd_bus_message_read(m, "oos", &handle, &session_path, &app_id);
	if (r < 0 || (r = read_options(m, skip_options, NULL)) < 0) {
		return r;
	}
	if (session_find(server, session_path) != NULL) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			"session %s exists already", session_path);
	}
	struct zcp_session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		return -ENOMEM;
	}
	session->server = server;
	session->path = strdup(session_path);
	session->app_id = strdup(app_id);
	session->cursor_mode = ZCP_CURSOR_HIDDEN;
	session->types = ZCP_SOURCE_MONITOR;
	wl_list_insert(&server->sessions, &session->link);
	r = sd_bus_add_object_vtable(server->bus, &session->slot, session_path, session_interface,
		session_vtable, session);
	if (r < 0 || session->path == NULL || session->app_id == NULL) {
		zcp_session_close(session, false);
		return r < 0 ? r : -ENOMEM;
	}
	fprintf(stderr, "zerocap-portal: session %s for '%s'\n", session_path, app_id);
	return sd_bus_reply_method_return(m, "ua{sv}", 0, 1, "session_id", "s", session_path);
}

/* restore_data (suv) of our own making: a{sv} with "choice". */
static int read_restore(sd_bus_message *m, struct zcp_session *session) {
	const char *vendor;
	uint32_t version;
	int r = sd_bus_message_enter_container(m, 'r', "suv");
	if (r < 0 || (r = sd_bus_message_read(m, "su", &vendor, &version)) < 0) {
		return r;
	}
	const char *type;
	if ((r = sd_bus_message_peek_type(m, NULL, &type)) < 0) {
		return r;
	}
	if (strcmp(vendor, RESTORE_VENDOR) != 0 || version != RESTORE_VERSION ||
			strcmp(type, "a{sv}") != 0) {
		/* Someone else's token: the chooser decides, as without one. */
		if ((r = sd_bus_message_skip(m, "v")) < 0) {
			return r;
		}
		return sd_bus_message_exit_container(m);
	}
	if ((r = sd_bus_message_enter_container(m, 'v', type)) < 0 ||
			(r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0) {
		return r;
	}
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *value;
		if ((r = sd_bus_message_read(m, "s", &key)) < 0) {
			return r;
		}
		if (strcmp(key, "choice") == 0 &&
				(r = sd_bus_message_read(m, "v", "s", &value)) >= 0) {
			free(session->restore_choice);
			session->restore_choice = strdup(value);
		} else if (r < 0 || (r = sd_bus_message_skip(m, "v")) < 0) {
			return r;
		}
		if ((r = sd_bus_message_exit_container(m)) < 0) {
			return r;
		}
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 ||
			(r = sd_bus_message_exit_container(m)) < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

static int select_option(sd_bus_message *m, const char *key, const char *type, void *data) {
	struct zcp_session *session = data;
	int r;
	if (strcmp(key, "types") == 0 && strcmp(type, "u") == 0) {
		r = sd_bus_message_read(m, "u", &session->types);
	} else if (strcmp(key, "multiple") == 0 && strcmp(type, "b") == 0) {
		int multiple;
		r = sd_bus_message_read(m, "b", &multiple);
		session->multiple = multiple;
	} else if (strcmp(key, "cursor_mode") == 0 && strcmp(type, "u") == 0) {
		r = sd_bus_message_read(m, "u", &session->cursor_mode);
	} else if (strcmp(key, "persist_mode") == 0 && strcmp(type, "u") == 0) {
		r = sd_bus_message_read(m, "u", &session->persist_mode);
	} else if (strcmp(key, "restore_data") == 0 && strcmp(type, "(suv)") == 0) {
		r = read_restore(m, session);
	} else {
		return 0; /* unknown or mistyped: ignored, as the frontend checks types */
	}
	return r < 0 ? r : 1;
}

static int method_select_sources(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	const char *handle, *session_path, *app_id;
	int r = sd_bus_message_read(m, "oos", &handle, &session_path, &app_id);
	if (r < 0) {
		return r;
	}
	struct zcp_session *session = session_find(server, session_path);
	if (session == NULL || session->state > ZCP_SESSION_SELECTED) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			"no session %s to select sources for", session_path);
	}
	/* Read into a copy: a refused request leaves the session as it was. */
	struct zcp_session selected = *session;
	selected.restore_choice = NULL;
	selected.types = ZCP_SOURCE_MONITOR;
	selected.cursor_mode = ZCP_CURSOR_HIDDEN;
	r = read_options(m, select_option, &selected);
	bool offered = (selected.types & (ZCP_SOURCE_MONITOR | ZCP_SOURCE_WINDOW)) != 0 &&
		(selected.cursor_mode == ZCP_CURSOR_HIDDEN ||
		selected.cursor_mode == ZCP_CURSOR_EMBEDDED ||
		selected.cursor_mode == ZCP_CURSOR_METADATA);
	if (r < 0 || !offered) {
		free(selected.restore_choice);
		if (r < 0) {
			return r;
		}
		return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
			"source types 0x%x / cursor mode %u are not offered", selected.types,
			selected.cursor_mode);
	}
	session->types = selected.types;
	session->multiple = selected.multiple;
	session->cursor_mode = selected.cursor_mode;
	session->persist_mode = selected.persist_mode;
	free(session->restore_choice);
	session->restore_choice = selected.restore_choice;
	session->state = ZCP_SESSION_SELECTED;
	return reply_response(m, 0);
}

static int start_option(sd_bus_message *m, const char *key, const char *type, void *data) {
	return 0;
}

void zcp_session_stream_ready(struct zcp_session *session, bool ok) {
	sd_bus_message *call = session->start_reply;
	if (call == NULL) {
		return;
	}
	session->start_reply = NULL;
	struct zcp_stream *stream = session->stream;
	if (!ok || stream == NULL) {
		reply_response(call, 2);
		sd_bus_message_unref(call);
		return;
	}
	sd_bus_message *reply = NULL;
	int r = sd_bus_message_new_method_return(call, &reply);
	uint32_t source_type = zcl_target_get_type(stream->target) == ZCL_TARGET_WINDOW ?
		ZCP_SOURCE_WINDOW : ZCP_SOURCE_MONITOR;
	if (r >= 0) {
		r = sd_bus_message_append(reply, "u", 0);
	}
	if (r >= 0) {
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	}
	if (r >= 0) {
		r = sd_bus_message_append(reply, "{sv}", "streams", "a(ua{sv})", 1, stream->node_id,
			3, "position", "(ii)", 0, 0, "size", "(ii)", (int32_t)stream->width,
			(int32_t)stream->height, "source_type", "u", source_type);
	}
	if (r >= 0 && session->persist_mode != 0 && session->start_choice != NULL) {
		r = sd_bus_message_append(reply, "{sv}", "persist_mode", "u", session->persist_mode);
		if (r >= 0) {
			r = sd_bus_message_append(reply, "{sv}", "restore_data", "(suv)", RESTORE_VENDOR,
				RESTORE_VERSION, "a{sv}", 1, "choice", "s", session->start_choice);
		}
	}
	if (r >= 0) {
		r = sd_bus_message_close_container(reply);
	}
	if (r >= 0) {
		r = sd_bus_send(NULL, reply, NULL);
	}
	if (r < 0) {
		fprintf(stderr, "zerocap-portal: cannot answer Start: %s\n", strerror(-r));
	} else {
		session->state = ZCP_SESSION_STARTED;
		fprintf(stderr, "zerocap-portal: session %s streams node %u (%ux%u)\n",
			session->path, stream->node_id, stream->width, stream->height);
	}
	sd_bus_message_unref(reply);
	sd_bus_message_unref(call);
}

static int method_start(sd_bus_message *m, void *data, sd_bus_error *error) {
	struct zcp_server *server = data;
	const char *handle, *session_path, *app_id, *parent;
	int r = sd_bus_message_read(m, "ooss", &handle, &session_path, &app_id, &parent);
	if (r < 0 || (r = read_options(m, start_option, NULL)) < 0) {
		return r;
	}
	struct zcp_session *session = session_find(server, session_path);
	if (session == NULL || session->state != ZCP_SESSION_SELECTED) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			"session %s has no sources selected, or started already", session_path);
	}
	/* A valid restore token chooses without asking; otherwise the chooser. */
	char *choice = NULL;
	struct zcl_target *target = NULL;
	if (session->restore_choice != NULL) {
		target = zcp_find_choice(server, session->restore_choice);
		choice = target != NULL ? strdup(session->restore_choice) : NULL;
	}
	if (target == NULL) {
		choice = zcp_choose(server, session->types);
		target = choice != NULL ? zcp_find_choice(server, choice) : NULL;
	}
	if (target == NULL) {
		fprintf(stderr, "zerocap-portal: nothing chosen for %s: cancelled\n", session_path);
		free(choice);
		return reply_response(m, 1);
	}
	session->start_choice = choice;
	session->stream = zcp_stream_create(session, target, session->cursor_mode);
	if (session->stream == NULL) {
		return reply_response(m, 2);
	}
	session->state = ZCP_SESSION_STARTING;
	session->start_reply = sd_bus_message_ref(m);
	return 1; /* answered when the stream has its node */
}

static int prop_u(sd_bus_message *reply, uint32_t value) {
	return sd_bus_message_append(reply, "u", value);
}

static int prop_source_types(sd_bus *bus, const char *path, const char *interface,
		const char *property, sd_bus_message *reply, void *data, sd_bus_error *error) {
	return prop_u(reply, ZCP_SOURCE_MONITOR | ZCP_SOURCE_WINDOW);
}

static int prop_cursor_modes(sd_bus *bus, const char *path, const char *interface,
		const char *property, sd_bus_message *reply, void *data, sd_bus_error *error) {
	return prop_u(reply, ZCP_CURSOR_HIDDEN | ZCP_CURSOR_EMBEDDED | ZCP_CURSOR_METADATA);
}

static int prop_version(sd_bus *bus, const char *path, const char *interface,
		const char *property, sd_bus_message *reply, void *data, sd_bus_error *error) {
	return prop_u(reply, SCREENCAST_VERSION);
}

static const sd_bus_vtable screencast_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("CreateSession", "oosa{sv}", "ua{sv}", method_create_session,
		SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SelectSources", "oosa{sv}", "ua{sv}", method_select_sources,
		SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Start", "oossa{sv}", "ua{sv}", method_start, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("AvailableSourceTypes", "u", prop_source_types, 0,
		SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("AvailableCursorModes", "u", prop_cursor_modes, 0,
		SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("version", "u", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

int zcp_screencast_init(struct zcp_server *server) {
	return sd_bus_add_object_vtable(server->bus, NULL, ZCP_OBJECT_PATH,
		"org.freedesktop.impl.portal.ScreenCast", screencast_vtable, server);
}
