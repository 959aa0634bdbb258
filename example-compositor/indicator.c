/*
 * The capture indicator: a red border, INDICATOR_WIDTH logical pixels wide,
 * along the edges of every output that is being captured (policy.c tells
 * when). Four rects in a tree of the topmost scene layer, so nothing covers
 * it, and captures show it too: a recording shows that it was recording.
 *
 * It changes the scene, so it shows from the output's next frame on: the
 * image a capture takes at the moment it starts can still be the one without
 * the border.
 */
#include <stdlib.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/box.h>
#include "server.h"

#define INDICATOR_WIDTH 4
#define INDICATOR_COLOR 0xff0000ff

void indicator_output_added(struct comp_output *output) {
	struct comp_server *server = output->server;
	if (!server->options->indicator) {
		return;
	}
	output->indicator = wlr_scene_tree_create(server->indicator_layer);
	if (output->indicator == NULL) {
		return;
	}
	float color[4];
	color_from_rgba(color, INDICATOR_COLOR);
	for (int i = 0; i < 4; i++) {
		output->indicator_edges[i] =
			wlr_scene_rect_create(output->indicator, 0, 0, color);
	}
	wlr_scene_node_set_enabled(&output->indicator->node, output->captured);
	indicator_output_moved(output);
}

void indicator_output_destroyed(struct comp_output *output) {
	if (output->indicator != NULL) {
		wlr_scene_node_destroy(&output->indicator->node);
		output->indicator = NULL;
		for (int i = 0; i < 4; i++) {
			output->indicator_edges[i] = NULL;
		}
	}
}

void indicator_output_moved(struct comp_output *output) {
	if (output->indicator == NULL) {
		return;
	}
	struct wlr_box box;
	wlr_output_layout_get_box(output->server->output_layout, output->wlr_output, &box);
	if (wlr_box_empty(&box)) {
		return;
	}
	int w = INDICATOR_WIDTH;
	/* top, bottom, left, right; the sides go between top and bottom */
	const struct wlr_box edges[4] = {
		{0, 0, box.width, w},
		{0, box.height - w, box.width, w},
		{0, w, w, box.height - 2 * w},
		{box.width - w, w, w, box.height - 2 * w},
	};
	wlr_scene_node_set_position(&output->indicator->node, box.x, box.y);
	for (int i = 0; i < 4; i++) {
		struct wlr_scene_rect *rect = output->indicator_edges[i];
		if (rect == NULL) {
			continue;
		}
		wlr_scene_node_set_position(&rect->node, edges[i].x, edges[i].y);
		wlr_scene_rect_set_size(rect, edges[i].width > 0 ? edges[i].width : 0,
			edges[i].height > 0 ? edges[i].height : 0);
	}
}

void indicator_set(struct comp_output *output, bool captured) {
	if (output->indicator != NULL) {
		wlr_scene_node_set_enabled(&output->indicator->node, captured);
	}
}
