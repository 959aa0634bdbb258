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
#include "source/toplevel.h"

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
	if (global == NULL) {
		return false;
	}
	return (manager->source_manager != NULL && global == manager->source_manager->base.global) ||
		(manager->copy_manager != NULL && global == manager->copy_manager->base.global) ||
		(manager->screencopy != NULL && global == manager->screencopy->base.global) ||
		(manager->toplevel_source_manager != NULL &&
			global == manager->toplevel_source_manager->base.global) ||
		(manager->toplevel_list != NULL && global == manager->toplevel_list->base.global);
}

bool zc_capture_manager_filter_global(struct zc_capture_manager *manager,
		const struct wl_client *client, const struct wl_global *global) {
	if (manager->policy.client_filter == NULL || !is_capture_global(manager, global)) {
		return true;
	}
	struct wl_client *c = (struct wl_client *)client;
	struct zc_client_info info;
	zc_client_get_info(c, &info);
	return manager->policy.client_filter(c, &info, manager->policy.client_filter_data);
}

static bool display_global_filter(const struct wl_client *client,
		const struct wl_global *global, void *data) {
	return zc_capture_manager_filter_global(data, client, global);
}

void zc_capture_manager_set_client_filter(struct zc_capture_manager *manager,
		zc_client_filter_func filter, void *data) {
	manager->policy.client_filter = filter;
	manager->policy.client_filter_data = data;
	manager->policy.installed_global_filter = filter != NULL;
	wl_display_set_global_filter(manager->display, filter != NULL ? display_global_filter : NULL,
		filter != NULL ? manager : NULL);
}

static struct zc_session *session_from_request(struct zc_capture_request *request) {
	return (struct zc_session *)request;
}

static struct zc_target *target_from_public(struct zc_capture_target *target) {
	return (struct zc_target *)target;
}

static struct zc_capture_target *target_to_public(struct zc_target *target) {
	return (struct zc_capture_target *)target;
}

struct wlr_output *zc_capture_target_get_output(struct zc_capture_target *target) {
	struct zc_output_source *source = zc_output_source_from_target(target_from_public(target));
	return source != NULL ? source->output : NULL;
}

enum zc_capture_target_type zc_capture_target_get_type(struct zc_capture_target *target) {
	return target_from_public(target)->type == ZC_TARGET_TOPLEVEL ?
		ZC_CAPTURE_TARGET_TOPLEVEL : ZC_CAPTURE_TARGET_OUTPUT;
}

struct zc_toplevel_source *zc_capture_target_get_toplevel(struct zc_capture_target *target) {
	return zc_toplevel_source_from_target(target_from_public(target));
}

const char *zc_capture_target_get_title(struct zc_capture_target *target) {
	struct zc_toplevel_source *source = zc_capture_target_get_toplevel(target);
	return source != NULL ? zc_toplevel_source_title(source) : "";
}

const char *zc_capture_target_get_app_id(struct zc_capture_target *target) {
	struct zc_toplevel_source *source = zc_capture_target_get_toplevel(target);
	return source != NULL ? zc_toplevel_source_app_id(source) : "";
}

bool zc_capture_target_is_captured(struct zc_capture_target *target) {
	return target != NULL && target_from_public(target)->captures > 0;
}

struct zc_capture_target *zc_output_source_get_target(struct zc_output_source *source) {
	return target_to_public(&source->target);
}

bool zc_output_source_is_captured(struct zc_output_source *source) {
	return source->target.captures > 0;
}

static void set_captured(struct zc_capture_manager *manager, struct zc_target *target,
		int delta) {
	if (target == NULL) {
		return;
	}
	bool was = target->captures > 0;
	target->captures += delta;
	bool is = target->captures > 0;
	struct zc_output_source *output = zc_output_source_from_target(target);
	if (was != is && output != NULL) {
		zc_output_source_set_captured(output, is);
	}
	if (was != is && manager->policy.activity_handler != NULL) {
		struct zc_capture_activity activity = {
			.target = target_to_public(target),
			.output = zc_capture_target_get_output(target_to_public(target)),
			.toplevel = zc_capture_target_get_toplevel(target_to_public(target)),
			.active = is,
		};
		manager->policy.activity_handler(&activity, manager->policy.activity_data);
	}
}

/* Calls func for every live session on target (NULL: on every target). */
static void for_each_session(struct zc_capture_manager *manager, struct zc_target *only,
		void (*func)(struct zc_session *session, void *data), void *data) {
	struct zc_target *target, *target_tmp;
	wl_list_for_each_safe(target, target_tmp, &manager->targets, link) {
		if (only != NULL && target != only) {
			continue;
		}
		struct zc_source *source, *source_tmp;
		wl_list_for_each_safe(source, source_tmp, &target->sources, target_link) {
			struct zc_session *session, *tmp;
			wl_list_for_each_safe(session, tmp, &source->sessions, link) {
				func(session, data);
			}
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
	if (manager->policy.limit_logged_ns != 0 && now - manager->policy.limit_logged_ns < 1000000000u) {
		manager->policy.limit_hits_unlogged++;
		return;
	}
	wlr_log(WLR_ERROR, "zerocap: a client asked for more than %d capture sessions; "
		"stopping the new one (and %u more since the last such line)",
		MAX_SESSIONS_PER_CLIENT, manager->policy.limit_hits_unlogged);
	manager->policy.limit_logged_ns = now;
	manager->policy.limit_hits_unlogged = 0;
}

static void policy_request(struct zc_policy *policy, struct zc_session *session) {
	struct zc_capture_manager *manager = wl_container_of(policy, manager, policy.base);
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
	if (manager->policy.request_handler == NULL) {
		zc_capture_request_allow((struct zc_capture_request *)session);
		return;
	}
	manager->policy.request_handler((struct zc_capture_request *)session, manager->policy.request_data);
}

static void policy_ended(struct zc_policy *policy, struct zc_session *session) {
	struct zc_capture_manager *manager = wl_container_of(policy, manager, policy.base);
	if (session->permitted) {
		set_captured(manager, session->source->target, -1);
	}
}

void zc_capture_manager_init_policy(struct zc_capture_manager *manager) {
	manager->policy.base.request = policy_request;
	manager->policy.base.ended = policy_ended;
}

void zc_capture_manager_finish_policy(struct zc_capture_manager *manager) {
	if (manager->policy.installed_global_filter) {
		wl_display_set_global_filter(manager->display, NULL, NULL);
	}
}

void zc_capture_manager_set_request_handler(struct zc_capture_manager *manager,
		zc_capture_request_func handler, void *data) {
	manager->policy.request_handler = handler;
	manager->policy.request_data = data;
}

void zc_capture_manager_set_activity_handler(struct zc_capture_manager *manager,
		zc_capture_activity_func handler, void *data) {
	manager->policy.activity_handler = handler;
	manager->policy.activity_data = data;
}

struct wl_client *zc_capture_request_get_client(struct zc_capture_request *request) {
	return session_from_request(request)->client;
}

struct zc_capture_target *zc_capture_request_get_target(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	return session->stopped ? NULL : target_to_public(session->source->target);
}

struct wlr_output *zc_capture_request_get_output(struct zc_capture_request *request) {
	struct zc_capture_target *target = zc_capture_request_get_target(request);
	return target != NULL ? zc_capture_target_get_output(target) : NULL;
}

bool zc_capture_request_get_cursor(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	if (session->paint_cursors) {
		return true;
	}
	return !session->stopped && session->source != NULL && session->source->is_cursor;
}

void zc_capture_request_set_max_fps(struct zc_capture_request *request, double fps) {
	zc_session_set_max_fps(session_from_request(request), fps);
}

void zc_capture_request_allow(struct zc_capture_request *request) {
	struct zc_session *session = session_from_request(request);
	if (session->stopped || session->permitted) {
		return;
	}
	struct zc_capture_manager *manager =
		wl_container_of(session->source->policy, manager, policy.base);
	set_captured(manager, session->source->target, +1);
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

void zc_capture_manager_revoke_target(struct zc_capture_manager *manager,
		struct wl_client *client, struct zc_capture_target *target) {
	struct revoke revoke = {.client = client};
	for_each_session(manager, target_from_public(target), revoke_session, &revoke);
}

void zc_capture_manager_revoke(struct zc_capture_manager *manager, struct wl_client *client,
		struct wlr_output *output) {
	if (output == NULL) {
		zc_capture_manager_revoke_target(manager, client, NULL);
		return;
	}
	struct zc_output_source *source = zc_output_source_find(manager, output);
	if (source != NULL) {
		zc_capture_manager_revoke_target(manager, client, zc_output_source_get_target(source));
	}
}
