/*
 * The smallest compositor that embeds zerocap, built outside the project
 * from the installed headers and zerocap.pc alone (tests/embed/run.sh): a
 * headless output showing one colour, made capturable. It prints its socket
 * name and runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <wayland-server-core.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/render/allocator.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/log.h>
#include <zerocap/zerocap.h>

struct tiny {
	struct wl_display *display;
	struct wlr_backend *backend;
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_scene *scene;
	struct wlr_output_layout *layout;
	struct wlr_scene_output_layout *scene_layout;
	struct zc_capture_manager *capture;
	struct wl_listener new_output;
};

struct tiny_output {
	struct tiny *tiny;
	struct wlr_scene_output *scene_output;
	struct wl_listener frame;
	struct wl_listener destroy;
};

static void handle_frame(struct wl_listener *listener, void *data) {
	struct tiny_output *output = wl_container_of(listener, output, frame);
	wlr_scene_output_commit(output->scene_output, NULL);
}

static void handle_destroy(struct wl_listener *listener, void *data) {
	struct tiny_output *output = wl_container_of(listener, output, destroy);
	wl_list_remove(&output->frame.link);
	wl_list_remove(&output->destroy.link);
	free(output);
}

static void handle_new_output(struct wl_listener *listener, void *data) {
	struct tiny *tiny = wl_container_of(listener, tiny, new_output);
	struct wlr_output *wlr_output = data;
	wlr_output_init_render(wlr_output, tiny->allocator, tiny->renderer);
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_enabled(&state, true);
	wlr_output_state_set_custom_mode(&state, 320, 200, 0);
	wlr_output_commit_state(wlr_output, &state);
	wlr_output_state_finish(&state);

	struct tiny_output *output = calloc(1, sizeof(*output));
	output->tiny = tiny;
	output->scene_output = wlr_scene_output_create(tiny->scene, wlr_output);
	struct wlr_output_layout_output *layout_output =
		wlr_output_layout_add_auto(tiny->layout, wlr_output);
	wlr_scene_output_layout_add_output(tiny->scene_layout, layout_output,
		output->scene_output);
	output->frame.notify = handle_frame;
	wl_signal_add(&wlr_output->events.frame, &output->frame);
	output->destroy.notify = handle_destroy;
	wl_signal_add(&wlr_output->events.destroy, &output->destroy);

	/* zerocap: the output is capturable; its source dies with it. */
	zc_output_source_create(tiny->capture, wlr_output);
}

int main(void) {
	wlr_log_init(WLR_ERROR, NULL);
	struct tiny tiny = {0};
	tiny.display = wl_display_create();
	tiny.backend = wlr_headless_backend_create(wl_display_get_event_loop(tiny.display));
	tiny.renderer = wlr_renderer_autocreate(tiny.backend);
	if (tiny.backend == NULL || tiny.renderer == NULL) {
		return 1;
	}
	wlr_renderer_init_wl_shm(tiny.renderer, tiny.display);
	tiny.allocator = wlr_allocator_autocreate(tiny.backend, tiny.renderer);
	tiny.scene = wlr_scene_create();
	tiny.layout = wlr_output_layout_create(tiny.display);
	tiny.scene_layout = wlr_scene_attach_output_layout(tiny.scene, tiny.layout);
	const float colour[4] = {0.0f, 0.5f, 1.0f, 1.0f};
	wlr_scene_rect_create(&tiny.scene->tree, 320, 200, colour);

	/* zerocap: one manager on the display, with the renderer. */
	tiny.capture = zc_capture_manager_create(tiny.display, tiny.renderer, NULL);
	if (tiny.capture == NULL) {
		return 1;
	}
	tiny.new_output.notify = handle_new_output;
	wl_signal_add(&tiny.backend->events.new_output, &tiny.new_output);
	wlr_headless_add_output(tiny.backend, 320, 200);

	const char *socket = wl_display_add_socket_auto(tiny.display);
	if (socket == NULL || !wlr_backend_start(tiny.backend)) {
		return 1;
	}
	printf("%s\n", socket);
	fflush(stdout);
	wl_display_run(tiny.display);
	zc_capture_manager_destroy(tiny.capture);
	wl_display_destroy_clients(tiny.display);
	wlr_scene_node_destroy(&tiny.scene->tree.node);
	wlr_allocator_destroy(tiny.allocator);
	wlr_renderer_destroy(tiny.renderer);
	wlr_backend_destroy(tiny.backend);
	wl_display_destroy(tiny.display);
	return 0;
}
