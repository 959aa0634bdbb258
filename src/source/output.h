#ifndef ZC_SOURCE_OUTPUT_H
#define ZC_SOURCE_OUTPUT_H

#include <wlr/types/wlr_output.h>
#include <wlr/util/box.h>
#include "capture/capture.h"

struct zc_capture_manager;

struct zc_output_source {
	struct zc_source base;
	/* The cursor image on its own, for cursor capture sessions. */
	struct zc_source cursor_base;
	struct timespec cursor_when;
	struct zc_capture_manager *manager;
	struct wl_list link; /* zc_capture_manager.output_sources */
	struct wlr_output *output;

	/* Output damage of the commit in progress, buffer coordinates. */
	pixman_region32_t pending_damage;

	/* The last committed buffer: what a capture copies. */
	struct wlr_buffer *image;
	uint32_t image_seq;
	bool image_presented;
	struct timespec image_when;
	/* A present event that came before its commit event (headless). */
	bool early_present;
	uint32_t early_seq;
	struct timespec early_when;
	/* Copies that wait for the GPU or for their image's presentation. */
	struct wl_list copies; /* output_copy.link */
	/* dma-buf part of the constraints, when the GPU path is on. */
	struct zc_constraints dmabuf;

	struct wlr_buffer *cursor_image;
	int32_t cursor_hotspot_x, cursor_hotspot_y;
	bool cursor_visible;
	double cursor_x, cursor_y;

	struct {
		struct wl_signal cursor_update; /* NULL */
	} events;

	struct wl_listener output_destroy;
	struct wl_listener output_precommit;
	struct wl_listener output_commit;
	struct wl_listener output_present;
};

struct zc_cursor_state {
	bool inside; /* the cursor image overlaps the captured area */
	/* Hotspot position in upright buffer pixels, and the hotspot. */
	int32_t x, y;
	int32_t hotspot_x, hotspot_y;
};

/* NULL when source is not the main source of an output. */
struct zc_output_source *zc_output_source_from_source(struct zc_source *source);
struct zc_source *zc_output_source_cursor(struct zc_output_source *source);
void zc_output_source_get_cursor(struct zc_output_source *source, struct zc_cursor_state *state);

#endif
