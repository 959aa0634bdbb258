#ifndef ZC_SOURCE_SOURCE_H
#define ZC_SOURCE_SOURCE_H

#include "capture/capture.h"
#include "render/engine.h"

/*
 * The client buffer of a frame about to be copied into, locked; NULL when
 * the frame could not go on (it failed, or waits to try again). have_memory
 * false: the caller's own state could not be allocated.
 */
struct wlr_buffer *zc_source_copy_begin(struct zc_frame *frame, bool have_memory);
/*
 * Runs the copy and unlocks options->dst. On BAD_BUFFER and FAILED the
 * frame has failed or waits to try again: the caller drops its copy.
 */
enum zc_copy_status zc_source_copy_run(struct zc_render_engine *engine, struct zc_frame *frame,
	const struct zc_copy_options *options, zc_copy_done_func done, void *data,
	struct zc_render_job **job);

#endif
