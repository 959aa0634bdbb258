/*
 * --demo: a rectangle per output that moves and changes color at about
 * 30 Hz, so captures always have fresh content. Its area is
 * --demo-damage percent of the output area.
 */
#include <math.h>
#include <stdlib.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/box.h>
#include "server.h"

#define DEMO_INTERVAL_MS 33

struct comp_demo {
	struct comp_server *server;
	struct wl_event_source *timer;
	int interval_ms;
	double side; /* rect side / output side */
	uint32_t tick;
};

/* 0 up to range and back down, period 2 * range. */
static int triangle(uint32_t t, int range) {
	if (range <= 0) {
		return 0;
	}
	int phase = (int)(t % (uint32_t)(2 * range));
	return phase <= range ? phase : 2 * range - phase;
}

static void animate_output(struct comp_demo *demo, struct comp_output *output) {
	struct comp_server *server = demo->server;
	struct wlr_box box;
	wlr_output_layout_get_box(server->output_layout, output->wlr_output, &box);
	if (wlr_box_empty(&box)) {
		return;
	}
	int width = (int)lround(box.width * demo->side);
	int height = (int)lround(box.height * demo->side);
	width = width < 1 ? 1 : width;
	height = height < 1 ? 1 : height;

	uint32_t t = demo->tick;
	uint32_t rgba = (uint32_t)triangle(3 * t, 255) << 24 |
		(uint32_t)triangle(5 * t + 85, 255) << 16 |
		(uint32_t)triangle(7 * t + 170, 255) << 8 | 0xff;
	float color[4];
	color_from_rgba(color, rgba);

	if (output->demo_rect == NULL) {
		output->demo_rect =
			wlr_scene_rect_create(server->demo_layer, width, height, color);
	}
	wlr_scene_rect_set_size(output->demo_rect, width, height);
	wlr_scene_rect_set_color(output->demo_rect, color);
	wlr_scene_node_set_position(&output->demo_rect->node,
		box.x + triangle(7 * t, box.width - width),
		box.y + triangle(5 * t, box.height - height));
}

static int handle_timer(void *data) {
	struct comp_demo *demo = data;
	demo->tick++;
	struct comp_output *output;
	wl_list_for_each(output, &demo->server->outputs, link) {
		animate_output(demo, output);
	}
	wl_event_source_timer_update(demo->timer, demo->interval_ms);
	return 0;
}

bool demo_init(struct comp_server *server, double damage_percent, double hz) {
	struct comp_demo *demo = calloc(1, sizeof(*demo));
	if (demo == NULL) {
		return false;
	}
	demo->server = server;
	demo->side = sqrt(damage_percent / 100.0);
	demo->interval_ms = hz > 0 ? (int)(1000.0 / hz) : DEMO_INTERVAL_MS;
	demo->interval_ms = demo->interval_ms > 0 ? demo->interval_ms : 1;
	demo->timer = wl_event_loop_add_timer(server->event_loop, handle_timer, demo);
	if (demo->timer == NULL) {
		free(demo);
		return false;
	}
	server->demo = demo;
	handle_timer(demo);
	return true;
}

void demo_finish(struct comp_server *server) {
	struct comp_demo *demo = server->demo;
	if (demo == NULL) {
		return;
	}
	wl_event_source_remove(demo->timer);
	free(demo);
	server->demo = NULL;
}
