/*
 * zerocap wiring: everything this compositor does for screen capture.
 *
 * 1. capture_init():        one zc_capture_manager, created with the renderer
 *                           the outputs render with.
 * 2. capture_output_added(): one zc_output_source per output. zerocap follows
 *                           the output's commits, mode, scale and transform by
 *                           itself and destroys the source with the output.
 * 3. The cursor: zerocap draws it into captures that ask for it, so the
 *    compositor hands it an image (set_cursor_image) and the position on every
 *    move (capture_cursor_changed). The output buffers themselves never contain
 *    the cursor on headless; elsewhere the image also goes to the hardware
 *    cursor plane.
 * 4. The policy (policy.c): who sees the capture globals, who may capture,
 *    and the indicator while an output is being captured.
 * 5. capture_renderer_changed(): after a GPU reset the compositor makes a new
 *    renderer; zerocap moves to it while the old one still exists.
 * 6. capture_finish():      zc_capture_manager_destroy() before the renderer,
 *                           the outputs and the display go away.
 *
 * --capture=wlroots instead sets up what a plain wlroots compositor has:
 * wlroots' own ext-image-copy-capture-v1 and output source globals (wlroots
 * 0.19 on; main.c adds its wlr-screencopy), the cursor on wlr_cursor only
 * (wlroots puts it on a cursor plane or draws it in software), no policy.
 */
#include <stdlib.h>
#include <string.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_cursor.h>
#include <wlr/types/wlr_ext_foreign_toplevel_list_v1.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/util/log.h>
#include <zerocap/zerocap.h>
#include "compat.h"
#include "server.h"

/*
 * The built-in cursor: an arrow with a black outline and a white fill,
 * hotspot at its tip (0,0). Every pixel is either opaque or fully
 * transparent, so the ARGB8888 data is premultiplied as it is.
 */
static const char *const arrow[] = {
	"B...........",
	"BB..........",
	"BWB.........",
	"BWWB........",
	"BWWWB.......",
	"BWWWWB......",
	"BWWWWWB.....",
	"BWWWWWWB....",
	"BWWWWWWWB...",
	"BWWWWWWWWB..",
	"BWWWWWWWWWB.",
	"BWWWWWWBBBBB",
	"BWWWBWWB....",
	"BWWBBWWB....",
	"BWB..BWWB...",
	"BB...BWWB...",
	"B.....BWWB..",
	"......BWWB..",
	".......BB...",
};

#define ARROW_WIDTH 12
#define ARROW_HEIGHT ((int)(sizeof(arrow) / sizeof(arrow[0])))

static struct wlr_buffer *cursor_image_create(void) {
	uint32_t pixels[ARROW_HEIGHT][ARROW_WIDTH];
	for (int y = 0; y < ARROW_HEIGHT; y++) {
		for (int x = 0; x < ARROW_WIDTH; x++) {
			uint32_t pixel = 0x00000000;
			if (arrow[y][x] == 'B') {
				pixel = 0xff000000;
			} else if (arrow[y][x] == 'W') {
				pixel = 0xffffffff;
			}
			pixels[y][x] = pixel;
		}
	}
	return zc_cursor_image_create(pixels, ARROW_WIDTH, ARROW_HEIGHT, sizeof(pixels[0]));
}

static void show_cursor_on_outputs(struct comp_server *server) {
	if (!server->cursor_on_outputs) {
		return;
	}
	if (server->cursor_visible) {
		wlr_cursor_set_buffer(server->cursor, server->cursor_image, 0, 0, 1.0f);
	} else {
		wlr_cursor_unset_image(server->cursor);
	}
	server->cursor_shown = server->cursor_visible;
}

/* wlroots' handles carry their comp_toplevel (xdg_shell.c). */
static struct wlr_scene_node *toplevel_capture_node(
		struct wlr_ext_foreign_toplevel_handle_v1 *handle, void ***slot) {
	struct comp_toplevel *toplevel = handle != NULL ? handle->data : NULL;
	if (toplevel == NULL) {
		return NULL;
	}
	*slot = &toplevel->wlr_capture_source;
	return &toplevel->scene_tree->node;
}

static bool wlroots_capture_init(struct comp_server *server) {
	if (!compat_has_ext_image_copy_capture()) {
		wlr_log(WLR_INFO, "Capture: wlroots' own; this wlroots has no "
			"ext-image-copy-capture-v1, only wlr-screencopy");
	} else if (!compat_ext_image_copy_capture_create(server->display)) {
		wlr_log(WLR_ERROR, "Failed to create wlroots' ext-image-copy-capture globals");
		return false;
	} else {
		wlr_log(WLR_INFO, "Capture: wlroots' own ext-image-copy-capture-v1");
	}
	if (compat_has_toplevel_capture()) {
		const struct compat_toplevel_capture capture = {
			.loop = server->event_loop,
			.renderer = &server->renderer,
			.allocator = &server->allocator,
			.node = toplevel_capture_node,
		};
		if (!compat_toplevel_capture_create(server->display, &capture)) {
			wlr_log(WLR_ERROR, "Failed to create wlroots' toplevel capture source manager");
			return false;
		}
		wlr_log(WLR_INFO, "Capture: windows through wlroots' scene-node sources");
	}
	server->cursor_on_outputs = true;
	show_cursor_on_outputs(server);
	return true;
}

bool capture_init(struct comp_server *server) {
	server->cursor_image = cursor_image_create();
	if (server->cursor_image == NULL) {
		wlr_log(WLR_ERROR, "Failed to create the cursor image");
		return false;
	}
	if (server->options->capture == COMP_CAPTURE_WLROOTS) {
		return wlroots_capture_init(server);
	}

	struct zc_capture_manager_options options = {
		.raw_transform = server->options->raw_transform,
		.no_wlr_screencopy = server->options->screencopy != COMP_SCREENCOPY_ZEROCAP,
		/* Windows come with wlroots' handles when its list runs. */
		.no_foreign_toplevel_list = server->foreign_toplevel_list != NULL,
	};
	server->capture_manager =
		zc_capture_manager_create(server->display, server->renderer, &options);
	if (server->capture_manager == NULL) {
		wlr_log(WLR_ERROR, "Failed to create the zerocap capture manager");
		return false;
	}
	/* Output sources follow the cursor through the layout. */
	zc_capture_manager_set_output_layout(server->capture_manager, server->output_layout);
	zc_capture_manager_set_cursor_image(server->capture_manager, server->cursor_image, 0, 0);
	zc_capture_manager_move_cursor(server->capture_manager, server->cursor_visible,
		server->cursor->x, server->cursor->y);
	/* Headless outputs have no cursor plane: leave the cursor to zerocap. */
	server->cursor_on_outputs = server->headless == NULL;
	show_cursor_on_outputs(server);
	return policy_init(server);
}

void capture_renderer_changed(struct comp_server *server) {
	if (server->capture_manager != NULL) {
		zc_capture_manager_set_renderer(server->capture_manager, server->renderer);
	}
	if (server->cursor_on_outputs && server->cursor_shown) {
		/* The outputs' cursor textures died with the old renderer: upload again. */
		wlr_cursor_unset_image(server->cursor);
		show_cursor_on_outputs(server);
	}
}

void capture_finish(struct comp_server *server) {
	/* Destroys every source and stops every session. */
	if (server->capture_manager != NULL) {
		zc_capture_manager_destroy(server->capture_manager);
		server->capture_manager = NULL;
	}
	policy_finish(server);
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		output->capture_source = NULL;
	}
	if (server->cursor_image != NULL) {
		if (server->cursor_on_outputs && server->cursor != NULL) {
			wlr_cursor_unset_image(server->cursor);
		}
		wlr_buffer_drop(server->cursor_image);
		server->cursor_image = NULL;
	}
}

/* wlr_cursor puts its image on outputs that join the layout by itself. */
void capture_output_added(struct comp_output *output) {
	struct comp_server *server = output->server;
	if (server->capture_manager == NULL) {
		return;
	}
	output->capture_source =
		zc_output_source_create(server->capture_manager, output->wlr_output);
	if (output->capture_source == NULL) {
		wlr_log(WLR_ERROR, "Output %s is not capturable", output->wlr_output->name);
		return;
	}
}

void capture_cursor_changed(struct comp_server *server) {
	if (server->cursor_on_outputs && server->cursor_shown != server->cursor_visible) {
		show_cursor_on_outputs(server);
	}
	if (server->capture_manager != NULL) {
		/* Scene coordinates, which are layout coordinates here: outputs and windows. */
		zc_capture_manager_move_cursor(server->capture_manager, server->cursor_visible,
			server->cursor->x, server->cursor->y);
	}
}
