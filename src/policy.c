/*
 * Policy plumbing between the capture core and the compositor: the client
 * filter for the globals, the request handler that allows or denies each
 * session, revocation, the per-client session limit and the activity
 * count behind a capture indicator.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wlr/util/log.h>
#include "manager.h"
#include "source/output.h"

#define MAX_SESSIONS_PER_CLIENT 64

bool zc_client_get_info(struct wl_client *client, struct zc_client_info *info) {
	memset(info, 0, sizeof(*info));
	wl_client_get_credentials(client, &info->pid, &info->uid, &info->gid);
	if (info->pid <= 0) {
		return false;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)info->pid);
	ssize_t len = readlink(path, info->executable, sizeof(info->executable) - 1);
	info->executable[len > 0 ? len : 0] = '\0';
	return true;
}

static bool is_capture_global(struct zc_capture_manager *manager,
		const struct wl_global *global) {
	return global != NULL && (global == manager->source_manager_global ||
		global == manager->copy_manager_global || global == manager->screencopy_global);
}

bool zc_capture_manager_filter_global(struct zc_capture_manager *manager,
		const struct wl_client *client, const struct wl_global *global) {
	if (manager->client_filter == NULL || !is_capture_global(manager, global)) {
		return true;
	}
	struct wl_client *c = (struct wl_client *)client;
	struct zc_client_info info;
	zc_client_get_info(c, &info);
	return manager->client_filter(c, &info, manager->client_filter_data);
}

static bool display_global_filter(const struct wl_client *client,
		const struct wl_global *global, void *data) {
	return zc_capture_manager_filter_global(data, client, global);
}

void zc_capture_manager_set_client_filter(struct zc_capture_manager *manager,
		zc_client_filter_func filter, void *data) {
	manager->client_filter = filter;
	manager->client_filter_data = data;
	manager->installed_global_filter = filter != NULL;
	wl_display_set_global_filter(manager->display, filter != NULL ? display_global_filter : NULL,
		filter != NULL ? manager : NULL);
}

static struct zc_session *session_from_request(struct zc_capture_request *request) {
	return (struct zc_session *)request;
}

static void set_captured(struct zc_output_source *source, int delta) {
	bool was = source->captures > 0;
	source->captures += delta;
	bool is = source->captures > 0;
	struct zc_capture_manager *manager = source->manager;
	if (was != is && manager->activity_handler != NULL) {
		struct zc_capture_activity activity = {.output = source->output, .active = is};
		manager->activity_handler(&activity, manager->activity_data);
	}
}

bool zc_output_source_is_captured(struct zc_output_source *source) {
	return source->captures > 0;
}

/* Calls func for every live session of the manager's sources. */
static void for_each_session(struct zc_capture_manager *manager, struct wlr_output *output,
		void (*func)(struct zc_session *session, void *data), void *data) {
	struct zc_output_source *source;
	wl_list_for_each(source, &manager->output_sources, link) {
		if (output != NULL && source->output != output) {
			continue;
		}
		struct zc_output_view *view;
		wl_list_for_each(view, &source->views, link) {
			struct zc_session *session, *tmp;
			wl_list_for_each_safe(session, tmp, &view->base.sessions, link) {
				func(session, data);
			}
		}
		struct zc_session *session, *tmp;
		wl_list_for_each_safe(session, tmp, &source->cursor_base.sessions, link) {
			func(session, data);
		}
	}
}

struct client_count {
	struct wl_client *client;
	int n;
};

static void count_session(struct zc_session *session, void *data) {
	struct client_count *count = data;
	count->n += session->client == count->client && !session->stopped;
}

/* Clients choose how often they hit the limit: the log does not follow them. */
static void log_session_limit(struct zc_capture_manager *manager) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
	if (manager->limit_logged_ns != 0 && now - manager->limit_logged_ns < 1000000000u) {
		manager->limit_hits_unlogged++;
		return;
	}
	wlr_log(WLR_ERROR, "zerocap: a client asked for more than %d capture sessions; "
		"stopping the new one (and %u more since the last such line)",
		MAX_SESSIONS_PER_CLIENT, manager->limit_hits_unlogged);
	manager->limit_logged_ns = now;
	manager->limit_hits_unlogged = 0;
}

static void policy_request(struct zc_policy *policy, struct zc_session *session) {
	struct zc_capture_manager *manager = wl_container_of(policy, manager, policy);
	zc_session_set_max_fps(session, manager->max_fps);
	if (session->client != NULL) {
		struct client_count count = {.client = session->client};
		for_each_session(manager, NULL, count_session, &count);
		if (count.n > MAX_SESSIONS_PER_CLIENT) {
			log_session_limit(manager);
			zc_session_permit(session, false);
			return;
		}
	}
	if (manager->request_handler == NULL) {
		zc_capture_request_allow((struct zc_capture_request *)session);
		return;
	}
	manager->request_handler((struct zc_capture_request *)session, manager->request_data);
}

static void policy_ended(struct zc_policy *policy, struct zc_session *session) {
	if (session->permitted) {
		set_captured(zc_output_source_of(session->source), -1);
	}
}

void zc_capture_manager_init_policy(struct zc_capture_manager *manager) {
	manager->policy.request = policy_request;
	manager->policy.ended = policy_ended;
}

void zc_capture_manager_finish_policy(struct zc_capture_manager *manager) {
	if (manager->installed_global_filter) {
		wl_display_set_global_filter(manager->display, NULL, NULL);
	}
}

void zc_capture_manager_set_request_handler(struct zc_capture_manager *manager,
		zc_capture_request_func handler, void *data) {
	manager->request_handler = handler;
	manager->request_data = data;
}

void zc_capture_manager_set_activity_handler(struct zc_capture_manager *manager,
		zc_capture_activity_func handler, void *data) {
	manager->activity_handler = handler;
	manager->activity_data = data;
}

struct wl_client *zc_capture_request_get_client(struct zc_capture_request *request) {
	return session_from_request(request)->client;
}

struct wlr_output *zc_capture_request_get_output(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	struct zc_output_source *source = session->stopped ? NULL :
		zc_output_source_of(session->source);
	return source != NULL ? source->output : NULL;
}

bool zc_capture_request_get_cursor(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	if (session->paint_cursors) {
		return true;
	}
	struct zc_output_source *source = session->stopped ? NULL :
		zc_output_source_of(session->source);
	return source != NULL && session->source == &source->cursor_base;
}

void zc_capture_request_set_max_fps(struct zc_capture_request *request, double fps) {
	zc_session_set_max_fps(session_from_request(request), fps);
}

void zc_capture_request_allow(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	if (session->stopped || session->permitted) {
		return;
	}
	struct zc_output_source *source = zc_output_source_of(session->source);
	set_captured(source, +1);
	zc_session_permit(session, true);
}

void zc_capture_request_deny(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	wlr_log(WLR_INFO, "zerocap: capture session denied");
	zc_session_permit(session, false);
}

void zc_capture_request_add_cancel_listener(struct zc_capture_request *request,
		struct wl_listener *listener) {
	wl_signal_add(&session_from_request(request)->events.cancel, listener);
}

struct revoke {
	struct wl_client *client;
};

static void revoke_session(struct zc_session *session, void *data) {
	struct revoke *revoke = data;
	if (revoke->client == NULL || session->client == revoke->client) {
		zc_session_stop(session);
	}
}

void zc_capture_manager_revoke(struct zc_capture_manager *manager, struct wl_client *client,
		struct wlr_output *output) {
	struct revoke revoke = {.client = client};
	for_each_session(manager, output, revoke_session, &revoke);
}
