/*
 * What every source does around an engine copy into a frame's buffer: the
 * client buffer, and the frame's outcome when the copy cannot go on.
 */
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include "render/engine.h"
#include "source/source.h"

struct wlr_buffer *zc_source_copy_begin(struct zc_frame *frame, bool have_memory) {
	struct wlr_buffer *dst = wlr_buffer_try_from_resource(frame->buffer);
	if (dst == NULL) {
		wlr_log(WLR_ERROR, "zerocap: the client's buffer is not one wlroots knows");
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return NULL;
	}
	if (!have_memory) {
		wlr_log(WLR_ERROR, "zerocap: out of memory for a copy; trying again");
		wlr_buffer_unlock(dst);
		zc_frame_copy_retry(frame);
		return NULL;
	}
	return dst;
}

enum zc_copy_status zc_source_copy_run(struct zc_render_engine *engine, struct zc_frame *frame,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job) {
	enum zc_copy_status status = zc_render_copy(engine, options, done, data, job);
	wlr_buffer_unlock(options->dst);
	switch (status) {
	case ZC_COPY_FINISHED:
	case ZC_COPY_QUEUED:
		break;
	case ZC_COPY_BAD_BUFFER:
		wlr_log(WLR_ERROR, "zerocap: the client's buffer cannot be drawn into");
		zc_frame_copy_failed(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		break;
	case ZC_COPY_FAILED:
		wlr_log(WLR_ERROR, "zerocap: capture into the client's buffer failed; trying again");
		zc_frame_copy_retry(frame);
		break;
	}
	return status;
}
