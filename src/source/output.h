#ifndef ZC_SOURCE_OUTPUT_H
#define ZC_SOURCE_OUTPUT_H

#include <wlr/types/wlr_output.h>
#include <wlr/util/addon.h>
#include <wlr/util/box.h>
#include "capture/capture.h"

struct zc_capture_manager;
struct zc_output_source;

/*
 * A cursor image as a capture source (cursor sessions' capture sessions):
 * the image the compositor set, at its own size. Embedded in the output and
 * window sources.
 */
struct zc_cursor_source {
	struct zc_source base;
	struct zc_capture_stats *stats;
	struct wlr_buffer *image; /* locked; NULL: no cursor */
	int32_t hotspot_x, hotspot_y;
	struct timespec when;
};

void zc_cursor_source_init(struct zc_cursor_source *cursor, struct zc_capture_manager *manager,
	struct zc_target *target);
void zc_cursor_source_finish(struct zc_cursor_source *cursor);
void zc_cursor_source_set_image(struct zc_cursor_source *cursor, struct wlr_buffer *image,
	int32_t hotspot_x, int32_t hotspot_y);

/*
 * One way of looking at an output: upright or in the buffer's own
 * orientation, whole or cropped. Each view is a capture source with its own
 * constraints and damage. Views are shared and reference counted; a view
 * outlives its output (stopped, output NULL) until its last reference goes.
 */
struct zc_output_view {
	struct zc_source base;
	struct zc_output_source *output; /* NULL once the output is gone */
	struct wl_list link; /* zc_output_source.views */
	int refs;
	bool raw;
	/* In the view's orientation, buffer pixels; empty: the whole image. */
	struct wlr_box crop;
};

struct zc_output_source {
	/* The output as policy sees it: every view and the cursor source. */
	struct zc_target target;
	/* Direct scan-out is off while captured (wlr_output_lock_attach_render). */
	bool render_locked;
	/* The view ext-image-capture-source hands out. */
	struct zc_output_view *view;
	struct wl_list views; /* zc_output_view.link */
	/* The cursor image on its own, and the pointer for cursor sessions. */
	struct zc_cursor_source cursor;
	struct zc_pointer pointer;
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
	struct wl_list copies; /* zc_source_copy.link (view.c's output_copy) */
	/* dma-buf part of the constraints, when the GPU path is on. */
	struct zc_constraints dmabuf;

	bool cursor_visible;
	double cursor_x, cursor_y;

	/* On the output, owned by the manager: finds the source, dies with the output. */
	struct wlr_addon addon;
	struct wl_listener output_precommit;
	struct wl_listener output_commit;
	struct wl_listener output_present;
};

/* The shm formats every output source offers. */
#define ZC_OUTPUT_N_SHM_FORMATS 4
extern const uint32_t zc_output_shm_formats[ZC_OUTPUT_N_SHM_FORMATS];

/* The manager's source of output, or NULL. */
struct zc_output_source *zc_output_source_find(struct zc_capture_manager *manager,
	struct wlr_output *output);

/* NULL when source is not an output view or its output is gone. */
struct zc_output_source *zc_output_source_from_source(struct zc_source *source);
/*
 * A view with these parameters (crop NULL or empty: whole image), with a new
 * reference. NULL on allocation failure.
 */
struct zc_output_view *zc_output_view_get(struct zc_output_source *source, bool raw,
	const struct wlr_box *crop);
void zc_output_view_unref(struct zc_output_view *view);
/* The output source a target is, or NULL when it is not an output. */
struct zc_output_source *zc_output_source_from_target(struct zc_target *target);
/* Policy: whether an allowed session captures the output (direct scan-out off). */
void zc_output_source_set_captured(struct zc_output_source *source, bool captured);
/* view.c */
/* describe_buffer of every output source: any shm or dma-buf buffer wlroots knows. */
bool zc_output_describe_buffer(struct zc_source *source, struct wl_resource *buffer,
	struct zc_buffer_info *info);
void zc_output_view_update_constraints(struct zc_output_view *view, bool force);
/* Damage of the full view image, clipped and moved to the view's buffer. */
void zc_output_view_damage(struct zc_output_view *view, pixman_region32_t *damage,
	bool cursor_only);
/* How the output buffer is turned into the view's image. */
enum wl_output_transform zc_output_view_capture_transform(struct zc_output_view *view);
/* The part of the full image the view shows. */
struct wlr_box zc_output_view_area(struct zc_output_view *view);
/* The cursor's box in the view's buffer, empty when it is not there. */
struct wlr_box zc_output_view_cursor_box(struct zc_output_view *view);
/* The output is going away: sessions stop, the view stays for its users. */
void zc_output_view_detach(struct zc_output_view *view);
/* Copies of image seq learn when it was shown (and may be reported). */
void zc_output_source_set_copy_time(struct zc_output_source *source, uint32_t seq,
	const struct timespec *when);
/* cursor.c: sets up the cursor capture source. */
void zc_output_cursor_init(struct zc_output_source *source);

/*
 * The manager's engine is about to be replaced: copies the GPU still works
 * on fail with buffer_constraints, and the dma-buf constraints go.
 */
void zc_output_source_drop_engine(struct zc_output_source *source);
/* The new engine is in place: new dma-buf constraints for every session. */
void zc_output_source_take_engine(struct zc_output_source *source);

#endif
