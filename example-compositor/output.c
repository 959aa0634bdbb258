#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/backend.h>
#include <wlr/render/allocator.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/box.h>
#include <wlr/util/log.h>
#include "server.h"

#define BACKGROUND_COLOR 0x202020ff

static const struct {
	const char *name;
	enum wl_output_transform transform;
} transform_names[] = {
	{ "normal", WL_OUTPUT_TRANSFORM_NORMAL },
	{ "90", WL_OUTPUT_TRANSFORM_90 },
	{ "180", WL_OUTPUT_TRANSFORM_180 },
	{ "270", WL_OUTPUT_TRANSFORM_270 },
	{ "flipped", WL_OUTPUT_TRANSFORM_FLIPPED },
	{ "flipped-90", WL_OUTPUT_TRANSFORM_FLIPPED_90 },
	{ "flipped-180", WL_OUTPUT_TRANSFORM_FLIPPED_180 },
	{ "flipped-270", WL_OUTPUT_TRANSFORM_FLIPPED_270 },
};

const char *output_transform_name(int transform) {
	for (size_t i = 0; i < sizeof(transform_names) / sizeof(transform_names[0]); i++) {
		if ((int)transform_names[i].transform == transform) {
			return transform_names[i].name;
		}
	}
	return "unknown";
}

bool output_transform_parse(const char *name, int *transform) {
	for (size_t i = 0; i < sizeof(transform_names) / sizeof(transform_names[0]); i++) {
		if (strcmp(transform_names[i].name, name) == 0) {
			*transform = transform_names[i].transform;
			return true;
		}
	}
	return false;
}

struct comp_output *output_find(struct comp_server *server, const char *name) {
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		if (strcmp(output->wlr_output->name, name) == 0) {
			return output;
		}
	}
	return NULL;
}

static void handle_output_frame(struct wl_listener *listener, void *data) {
	struct comp_output *output = wl_container_of(listener, output, frame);
	bench_frame_begin(output);
	wlr_scene_output_commit(output->scene_output, NULL);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	wlr_scene_output_send_frame_done(output->scene_output, &now);
	bench_frame_end(output);
	control_output_frame_done(output);
}

/* The backend wants another mode (e.g. the window of a nested backend was resized). */
static void handle_output_request_state(struct wl_listener *listener, void *data) {
	struct comp_output *output = wl_container_of(listener, output, request_state);
	const struct wlr_output_event_request_state *event = data;
	if (!wlr_output_commit_state(output->wlr_output, event->state)) {
		wlr_log(WLR_ERROR, "Output %s rejected the state its backend asked for",
			output->wlr_output->name);
	}
}

static void handle_output_destroy(struct wl_listener *listener, void *data) {
	struct comp_output *output = wl_container_of(listener, output, destroy);
	wlr_log(WLR_INFO, "Output %s removed", output->wlr_output->name);
	/* zerocap destroys the output's capture source by itself; wlr_scene its scene output. */
	wl_list_remove(&output->frame.link);
	wl_list_remove(&output->request_state.link);
	wl_list_remove(&output->destroy.link);
	wl_list_remove(&output->link);
	wlr_scene_node_destroy(&output->background->node);
	if (output->demo_rect != NULL) {
		wlr_scene_node_destroy(&output->demo_rect->node);
	}
	indicator_output_destroyed(output);
	control_output_destroyed(output);
	free(output);
}

/* --output arguments apply to outputs in the order they appear. */
static const struct comp_output_config *take_output_config(struct comp_server *server) {
	if (server->next_output_config >= server->options->outputs_len) {
		return NULL;
	}
	return &server->options->outputs[server->next_output_config++];
}

static void handle_new_output(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, new_output);
	struct wlr_output *wlr_output = data;

	if (!wlr_output_init_render(wlr_output, server->allocator, server->renderer)) {
		wlr_log(WLR_ERROR, "Failed to init rendering on output %s", wlr_output->name);
		return;
	}

	const struct comp_output_config *config = take_output_config(server);
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_enabled(&state, true);
	struct wlr_output_mode *mode = wlr_output_preferred_mode(wlr_output);
	if (mode != NULL) {
		wlr_output_state_set_mode(&state, mode);
	} else if (config != NULL) {
		wlr_output_state_set_custom_mode(&state, config->width, config->height, 0);
	}
	if (config != NULL) {
		wlr_output_state_set_scale(&state, config->scale);
		wlr_output_state_set_transform(&state, config->transform);
	}
	bool committed = wlr_output_commit_state(wlr_output, &state);
	wlr_output_state_finish(&state);
	if (!committed) {
		wlr_log(WLR_ERROR, "Failed to enable output %s", wlr_output->name);
		return;
	}

	struct comp_output *output = calloc(1, sizeof(*output));
	if (output == NULL) {
		wlr_log(WLR_ERROR, "Allocation failed");
		return;
	}
	output->server = server;
	output->wlr_output = wlr_output;

	float color[4];
	color_from_rgba(color, BACKGROUND_COLOR);
	output->background = wlr_scene_rect_create(server->background_layer, 0, 0, color);
	output->scene_output = wlr_scene_output_create(server->scene, wlr_output);
	if (output->background != NULL && server->options->no_background) {
		wlr_scene_node_set_enabled(&output->background->node, false);
	}
	if (output->background == NULL || output->scene_output == NULL) {
		wlr_log(WLR_ERROR, "Failed to add output %s to the scene", wlr_output->name);
		if (output->background != NULL) {
			wlr_scene_node_destroy(&output->background->node);
		}
		wlr_scene_output_destroy(output->scene_output);
		free(output);
		return;
	}

	output->frame.notify = handle_output_frame;
	wl_signal_add(&wlr_output->events.frame, &output->frame);
	output->request_state.notify = handle_output_request_state;
	wl_signal_add(&wlr_output->events.request_state, &output->request_state);
	output->destroy.notify = handle_output_destroy;
	wl_signal_add(&wlr_output->events.destroy, &output->destroy);
	wl_list_insert(server->outputs.prev, &output->link);

	/* Places the output left to right; the scene output follows the layout. */
	struct wlr_output_layout_output *layout_output =
		wlr_output_layout_add_auto(server->output_layout, wlr_output);
	if (layout_output != NULL) {
		wlr_scene_output_layout_add_output(server->scene_layout, layout_output,
			output->scene_output);
	}
	indicator_output_added(output);

	wlr_log(WLR_INFO, "Output %s: %dx%d, scale %g, transform %s", wlr_output->name,
		wlr_output->width, wlr_output->height, wlr_output->scale,
		output_transform_name(wlr_output->transform));

	capture_output_added(output);
}

static void handle_layout_change(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, layout_change);
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		struct wlr_box box;
		wlr_output_layout_get_box(server->output_layout, output->wlr_output, &box);
		if (wlr_box_empty(&box)) {
			continue;
		}
		/*
		 * One logical pixel more than the box, so that fractional scales
		 * leave no unpainted edge; the overlap has the same color.
		 */
		wlr_scene_node_set_position(&output->background->node, box.x, box.y);
		wlr_scene_rect_set_size(output->background, box.width + 1, box.height + 1);
		indicator_output_moved(output);
	}
	/* Output-local cursor positions change when outputs move. */
	capture_cursor_changed(server);
}

void output_init(struct comp_server *server) {
	server->output_layout = wlr_output_layout_create(server->display);
	server->layout_change.notify = handle_layout_change;
	wl_signal_add(&server->output_layout->events.change, &server->layout_change);
	server->new_output.notify = handle_new_output;
	wl_signal_add(&server->backend->events.new_output, &server->new_output);
}

void output_finish(struct comp_server *server) {
	if (server->output_layout == NULL) {
		return;
	}
	wl_list_remove(&server->new_output.link);
	wl_list_remove(&server->layout_change.link);
}
