#ifndef ZC_SOURCE_SOURCE_H
#define ZC_SOURCE_SOURCE_H

#include "capture/capture.h"
#include "render/engine.h"

/*
 * A copy into a frame, from its start until its frame is told: the first
 * member of each source's own copy struct, which is malloc'd.
 */
struct zc_source_copy {
	struct zc_frame *frame;
	struct wl_list link; /* the source's list of copies */
	struct zc_render_job *job; /* while the GPU writes the buffer */
};

/* Unlinks and frees the copy (the struct it is the first member of). */
void zc_source_copy_destroy(struct zc_source_copy *copy);
/*
 * Its GPU job ended. False when the job failed: the copy is gone and its
 * frame is copied again later.
 */
bool zc_source_copy_gpu_done(struct zc_source_copy *copy, bool ok);
/* Fails the copies on list (gpu_only: those a GPU job writes) with reason. */
void zc_source_copies_fail(struct wl_list *copies, bool gpu_only, enum zc_failure reason);

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
