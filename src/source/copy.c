/*
 * What every source does around an engine copy into a frame's buffer: the
 * client buffer, the copy's bookkeeping while the GPU works, and the
 * frame's outcome when the copy cannot go on.
 */
#include <stdlib.h>
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

void zc_source_copy_destroy(struct zc_source_copy *copy) {
	wl_list_remove(&copy->link);
	free(copy);
}

bool zc_source_copy_gpu_done(struct zc_source_copy *copy, bool ok) {
	copy->job = NULL;
	if (ok) {
		return true;
	}
	wlr_log(WLR_ERROR, "zerocap: the GPU did not finish the capture; trying again");
	struct zc_frame *frame = copy->frame;
	zc_source_copy_destroy(copy);
	zc_frame_copy_retry(frame);
	return false;
}

void zc_source_copies_fail(struct wl_list *copies, bool gpu_only, enum zc_failure reason) {
	struct zc_source_copy *copy, *tmp;
	wl_list_for_each_safe(copy, tmp, copies, link) {
		if (gpu_only && copy->job == NULL) {
			continue;
		}
		struct zc_frame *frame = copy->frame;
		if (copy->job != NULL) {
			zc_render_job_cancel(copy->job);
		}
		zc_source_copy_destroy(copy);
		zc_frame_copy_failed(frame, reason);
	}
}
