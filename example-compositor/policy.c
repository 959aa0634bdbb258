/*
 * zerocap wiring, part 2: who may capture, and the capture indicator.
 *
 * --policy=allow  no request handler: zerocap allows every session.
 * --policy=deny   the globals stay visible; every session is denied (stopped).
 * --policy=ask    every session waits; the control channel gets
 *                 "event request ID PID TARGET cursor=0|1" (TARGET: an output's
 *                 name, or window:APP_ID for a window) and answers with
 *                 "allow ID" or "deny ID" (a real compositor would ask the user).
 *                 A request that goes away unanswered: "event cancel ID".
 * --policy=list   (--allow EXE, --policy-file PATH) a global filter shows the
 *                 capture globals only to listed executables, and the request
 *                 handler checks again per session: the executable of a
 *                 process can change (execve) after it bound the globals.
 *
 * In every mode zerocap's activity handler drives the indicator: a red border
 * on each output while at least one allowed session captures it, and
 * "event indicator OUTPUT on|off".
 *
 * Executables are matched against /proc/PID/exe of the client's process (as
 * zc_client_get_info reads it): an entry with a slash must equal that path,
 * one without a slash must equal its last component. This identifies a
 * program, not a user's intent; a sandboxing compositor would match on
 * something stronger (e.g. a security context).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/log.h>
#include <zerocap/zerocap.h>
#include "server.h"

struct comp_request {
	struct wl_list link; /* comp_policy.requests */
	struct comp_policy *policy;
	uint32_t id;
	struct zc_capture_request *request;
	struct wl_listener cancel;
};

struct comp_policy {
	struct comp_server *server;
	enum comp_policy_mode mode;
	char **executables; /* list mode */
	size_t executables_len;
	struct wl_list requests; /* comp_request.link, ask mode */
	uint32_t next_id;
};

static const char *mode_name(enum comp_policy_mode mode) {
	switch (mode) {
	case COMP_POLICY_ALLOW:
		return "allow";
	case COMP_POLICY_DENY:
		return "deny";
	case COMP_POLICY_ASK:
		return "ask";
	case COMP_POLICY_LIST:
		return "list";
	}
	return "?";
}

static bool add_executable(struct comp_policy *policy, const char *name) {
	char **executables = realloc(policy->executables,
		(policy->executables_len + 1) * sizeof(*executables));
	if (executables == NULL) {
		return false;
	}
	policy->executables = executables;
	executables[policy->executables_len] = strdup(name);
	if (executables[policy->executables_len] == NULL) {
		return false;
	}
	policy->executables_len++;
	return true;
}

/* One executable per line; blank lines and '#' comments are ignored. */
static bool read_policy_file(struct comp_policy *policy, const char *path) {
	FILE *file = fopen(path, "r");
	if (file == NULL) {
		wlr_log(WLR_ERROR, "Cannot open policy file %s: %s", path, strerror(errno));
		return false;
	}
	char *line = NULL;
	size_t cap = 0;
	bool ok = true;
	while (ok && getline(&line, &cap, file) >= 0) {
		char *comment = strchr(line, '#');
		if (comment != NULL) {
			*comment = '\0';
		}
		char *start = line + strspn(line, " \t");
		size_t len = strlen(start);
		while (len > 0 && strchr(" \t\r\n", start[len - 1]) != NULL) {
			start[--len] = '\0';
		}
		if (len > 0) {
			ok = add_executable(policy, start);
		}
	}
	if (ferror(file)) {
		wlr_log(WLR_ERROR, "Cannot read policy file %s", path);
		ok = false;
	}
	free(line);
	fclose(file);
	return ok;
}

static bool is_listed(struct comp_policy *policy, const struct zc_client_info *info) {
	if (info->executable[0] == '\0') {
		return false;
	}
	const char *slash = strrchr(info->executable, '/');
	const char *base = slash != NULL ? slash + 1 : info->executable;
	for (size_t i = 0; i < policy->executables_len; i++) {
		const char *entry = policy->executables[i];
		const char *match = strchr(entry, '/') != NULL ? info->executable : base;
		if (strcmp(entry, match) == 0) {
			return true;
		}
	}
	return false;
}

static bool client_filter(struct wl_client *client, const struct zc_client_info *info,
		void *data) {
	return is_listed(data, info);
}

/* What the user would be asked about: an output's name or window:APP_ID. */
static const char *request_target_name(struct zc_capture_request *request, char *buf,
		size_t size) {
	struct zc_capture_target *target = zc_capture_request_get_target(request);
	if (target != NULL && zc_capture_target_get_type(target) == ZC_CAPTURE_TARGET_TOPLEVEL) {
		snprintf(buf, size, "window:%s", zc_capture_target_get_app_id(target));
		return buf;
	}
	struct wlr_output *output = zc_capture_request_get_output(request);
	return output != NULL ? output->name : "-";
}

static void request_free(struct comp_request *request) {
	wl_list_remove(&request->link);
	wl_list_remove(&request->cancel.link);
	free(request);
}

static void handle_request_cancel(struct wl_listener *listener, void *data) {
	struct comp_request *request = wl_container_of(listener, request, cancel);
	wlr_log(WLR_INFO, "policy: capture request %u went away unanswered", request->id);
	control_event(request->policy->server, "cancel %u", request->id);
	request_free(request);
}

/* ask: park the request until the control channel answers. */
static void ask(struct comp_policy *policy, struct zc_capture_request *zc_request,
		const struct zc_client_info *info) {
	struct comp_request *request = calloc(1, sizeof(*request));
	if (request == NULL) {
		wlr_log(WLR_ERROR, "policy: out of memory, denying a capture request");
		zc_capture_request_deny(zc_request);
		return;
	}
	request->policy = policy;
	request->id = policy->next_id++;
	if (policy->next_id == 0) {
		policy->next_id = 1;
	}
	request->request = zc_request;
	request->cancel.notify = handle_request_cancel;
	zc_capture_request_add_cancel_listener(zc_request, &request->cancel);
	wl_list_insert(policy->requests.prev, &request->link);
	char name[96];
	const char *target = request_target_name(zc_request, name, sizeof(name));
	wlr_log(WLR_INFO, "policy: capture request %u from pid %d (%s) for %s", request->id,
		(int)info->pid, info->executable, target);
	control_event(policy->server, "request %u %d %s cursor=%d", request->id, (int)info->pid,
		target, zc_capture_request_get_cursor(zc_request) ? 1 : 0);
}

static void handle_request(struct zc_capture_request *request, void *data) {
	struct comp_policy *policy = data;
	struct zc_client_info info;
	zc_client_get_info(zc_capture_request_get_client(request), &info);
	switch (policy->mode) {
	case COMP_POLICY_ALLOW:
		zc_capture_request_allow(request);
		return;
	case COMP_POLICY_DENY:
		wlr_log(WLR_INFO, "policy: denied capture by pid %d (%s)", (int)info.pid,
			info.executable);
		zc_capture_request_deny(request);
		return;
	case COMP_POLICY_LIST:
		if (is_listed(policy, &info)) {
			zc_capture_request_allow(request);
		} else {
			wlr_log(WLR_INFO, "policy: denied capture by pid %d (%s): not listed",
				(int)info.pid, info.executable);
			zc_capture_request_deny(request);
		}
		return;
	case COMP_POLICY_ASK:
		ask(policy, request, &info);
		return;
	}
}

bool policy_answer(struct comp_server *server, uint32_t id, bool allow) {
	struct comp_policy *policy = server->policy;
	struct comp_request *request;
	wl_list_for_each(request, &policy->requests, link) {
		if (request->id == id) {
			struct zc_capture_request *zc_request = request->request;
			/* Answered: no cancel event from here on. */
			request_free(request);
			wlr_log(WLR_INFO, "policy: capture request %u %s", id,
				allow ? "allowed" : "denied");
			if (allow) {
				zc_capture_request_allow(zc_request);
			} else {
				zc_capture_request_deny(zc_request);
			}
			return true;
		}
	}
	return false;
}

bool policy_revoke(struct comp_server *server, pid_t pid, struct wlr_output *output) {
	struct zc_capture_manager *manager = server->capture_manager;
	if (pid == 0) {
		zc_capture_manager_revoke(manager, NULL, output);
		return true;
	}
	/* One process may hold several connections. */
	bool found = false;
	struct wl_list *clients = wl_display_get_client_list(server->display);
	struct wl_client *client;
	wl_client_for_each(client, clients) {
		pid_t client_pid;
		wl_client_get_credentials(client, &client_pid, NULL, NULL);
		if (client_pid == pid) {
			zc_capture_manager_revoke(manager, client, output);
			found = true;
		}
	}
	return found;
}

static void handle_activity(const struct zc_capture_activity *activity, void *data) {
	struct comp_policy *policy = data;
	struct comp_server *server = policy->server;
	if (activity->toplevel != NULL) {
		control_event(server, "window-capture %s %s",
			zc_capture_target_get_app_id(activity->target), activity->active ? "on" : "off");
		return;
	}
	/* An output being destroyed has left the list already. */
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		if (output->wlr_output == activity->output) {
			output->captured = activity->active;
			indicator_set(output, activity->active);
			wlr_log(WLR_INFO, "Output %s: capture %s", activity->output->name,
				activity->active ? "active" : "over");
			control_event(server, "indicator %s %s", activity->output->name,
				activity->active ? "on" : "off");
			return;
		}
	}
}

bool policy_init(struct comp_server *server) {
	struct comp_options *options = server->options;
	struct comp_policy *policy = calloc(1, sizeof(*policy));
	if (policy == NULL) {
		return false;
	}
	policy->server = server;
	policy->mode = options->policy;
	policy->next_id = 1;
	wl_list_init(&policy->requests);
	server->policy = policy;

	for (int i = 0; i < options->allow_len; i++) {
		if (!add_executable(policy, options->allow[i])) {
			return false;
		}
	}
	if (options->policy_file != NULL && !read_policy_file(policy, options->policy_file)) {
		return false;
	}
	if (policy->mode == COMP_POLICY_ASK && !options->control) {
		wlr_log(WLR_ERROR, "--policy=ask needs --control to answer requests");
		return false;
	}

	struct zc_capture_manager *manager = server->capture_manager;
	zc_capture_manager_set_activity_handler(manager, handle_activity, policy);
	if (policy->mode == COMP_POLICY_LIST) {
		zc_capture_manager_set_client_filter(manager, client_filter, policy);
	}
	if (policy->mode != COMP_POLICY_ALLOW) {
		zc_capture_manager_set_request_handler(manager, handle_request, policy);
	}
	wlr_log(WLR_INFO, "Capture policy: %s (%zu executables listed)", mode_name(policy->mode),
		policy->executables_len);
	return true;
}

/* After zc_capture_manager_destroy(): every request has been cancelled. */
void policy_finish(struct comp_server *server) {
	struct comp_policy *policy = server->policy;
	if (policy == NULL) {
		return;
	}
	struct comp_request *request, *tmp;
	wl_list_for_each_safe(request, tmp, &policy->requests, link) {
		request_free(request);
	}
	for (size_t i = 0; i < policy->executables_len; i++) {
		free(policy->executables[i]);
	}
	free(policy->executables);
	free(policy);
	server->policy = NULL;
}
