#include <stdlib.h>
#include "capture/capture.h"

static void frame_free(struct zc_frame *frame) {
	pixman_region32_fini(&frame->buffer_damage);
	pixman_region32_fini(&frame->damage);
	free(frame);
}

static void frame_release_buffer(struct zc_frame *frame) {
	if (frame->buffer != NULL) {
		wl_list_remove(&frame->buffer_destroy.link);
		frame->buffer = NULL;
	}
}

/* Gives the frame's unreported damage back to its session. */
static void frame_return_damage(struct zc_frame *frame) {
	struct zc_session *session = frame->session;
	if (session != NULL && !session->stopped) {
		pixman_region32_union(&session->damage, &session->damage, &frame->damage);
	}
	pixman_region32_clear(&frame->damage);
}

static void frame_detach(struct zc_frame *frame) {
	if (frame->session != NULL && frame->session->frame == frame) {
		frame->session->frame = NULL;
	}
}

void zc_frame_fail(struct zc_frame *frame, enum zc_failure reason) {
	if (frame->state == ZC_FRAME_DONE) {
		return;
	}
	frame_return_damage(frame);
	frame_detach(frame);
	frame->state = ZC_FRAME_DONE;
	if (frame->session != NULL && frame->session->stats != NULL) {
		frame->session->stats->frames_failed++;
	}
	frame->impl->failed(frame, reason);
}

struct zc_frame *zc_frame_create(struct zc_session *session,
		const struct zc_frame_impl *impl, void *data) {
	struct zc_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL) {
		return NULL;
	}
	frame->session = session;
	wl_list_insert(&session->frames, &frame->session_link);
	frame->impl = impl;
	frame->data = data;
	frame->state = ZC_FRAME_IDLE;
	pixman_region32_init(&frame->buffer_damage);
	pixman_region32_init(&frame->damage);
	return frame;
}

void zc_frame_destroy(struct zc_frame *frame) {
	if (frame == NULL) {
		return;
	}
	frame_release_buffer(frame);
	if (frame->state != ZC_FRAME_DONE) {
		frame_return_damage(frame);
	}
	frame_detach(frame);
	frame->session = NULL;
	wl_list_remove(&frame->session_link);
	wl_list_init(&frame->session_link);
	if (frame->copy_running) {
		frame->destroyed = true;
		return;
	}
	frame_free(frame);
}

/*
 * A client that destroys the buffer of a frame in flight (a PipeWire
 * consumer pausing makes xdg-desktop-portal-wlr do it) gets
 * buffer_constraints: allocate again and go on. unknown would end the share.
 */
static void handle_buffer_destroy(struct wl_listener *listener, void *data) {
	struct zc_frame *frame = wl_container_of(listener, frame, buffer_destroy);
	frame_release_buffer(frame);
	if (frame->state == ZC_FRAME_WAITING) {
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
	}
}

void zc_frame_attach_buffer(struct zc_frame *frame, struct wl_resource *buffer) {
	frame_release_buffer(frame);
	frame->buffer = buffer;
	frame->buffer_destroy.notify = handle_buffer_destroy;
	wl_resource_add_destroy_listener(buffer, &frame->buffer_destroy);
}

void zc_frame_damage_buffer(struct zc_frame *frame, int32_t x, int32_t y,
		int32_t width, int32_t height) {
	/*
	 * Clients may send any size: an edge past INT32_MAX would wrap in
	 * pixman, which then drops the rectangle. Buffers end long before.
	 */
	int64_t x2 = (int64_t)x + width, y2 = (int64_t)y + height;
	x2 = x2 < INT32_MAX ? x2 : INT32_MAX;
	y2 = y2 < INT32_MAX ? y2 : INT32_MAX;
	if (x2 <= x || y2 <= y) {
		return;
	}
	pixman_region32_union_rect(&frame->buffer_damage, &frame->buffer_damage,
		x, y, (unsigned int)(x2 - x), (unsigned int)(y2 - y));
}

void zc_frame_capture(struct zc_frame *frame) {
	struct zc_session *session = frame->session;
	if (session == NULL || session->stopped) {
		zc_frame_fail(frame, ZC_FAILURE_STOPPED);
		return;
	}
	struct zc_source *source = session->source;
	if (frame->buffer == NULL) {
		/* Attached, then destroyed by the client. */
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	if (!source->impl->describe_buffer(source, frame->buffer, &frame->buffer_info)) {
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	frame->state = ZC_FRAME_WAITING;
	session->frame = frame;
	if (!source->impl->has_image(source)) {
		source->impl->request_image(source);
	}
	zc_session_try_copy(session);
}

/* Ends the copy; true when the frame still wants an outcome. */
static bool frame_end_copy(struct zc_frame *frame) {
	frame->copy_running = false;
	if (frame->destroyed) {
		frame_free(frame);
		return false;
	}
	return frame->state == ZC_FRAME_COPYING;
}

void zc_frame_copy_failed(struct zc_frame *frame, enum zc_failure reason) {
	if (!frame_end_copy(frame)) {
		return;
	}
	struct zc_session *session = frame->session;
	bool stopped = session == NULL || session->stopped;
	zc_frame_fail(frame, stopped ? ZC_FAILURE_STOPPED : reason);
}

void zc_frame_copy_retry(struct zc_frame *frame) {
	if (!frame_end_copy(frame)) {
		return;
	}
	struct zc_session *session = frame->session;
	if (session == NULL || session->stopped) {
		zc_frame_fail(frame, ZC_FAILURE_STOPPED);
		return;
	}
	if (frame->buffer == NULL) {
		/* The client destroyed the buffer during the copy: nothing to retry. */
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	frame->retries++;
	frame_return_damage(frame);
	frame->state = ZC_FRAME_WAITING;
	if (frame->retries > ZC_FRAME_MAX_RETRIES ||
			!zc_session_retry_later(session, frame->retries)) {
		zc_frame_fail(frame, ZC_FAILURE_UNKNOWN);
	}
}

static bool timespec_before(const struct timespec *a, const struct timespec *b) {
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void zc_frame_copy_done(struct zc_frame *frame, uint32_t transform,
		const struct timespec *presented) {
	if (!frame_end_copy(frame)) {
		return;
	}
	struct zc_session *session = frame->session;
	if (frame->buffer == NULL || session == NULL || session->stopped) {
		bool stopped = session == NULL || session->stopped;
		zc_frame_fail(frame, stopped ? ZC_FAILURE_STOPPED : ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	/* Not older than the copy: see zc_frame_copy_done in capture.h. */
	const struct timespec *when =
		timespec_before(presented, &frame->copy_started) ? &frame->copy_started : presented;
	frame_detach(frame);
	frame->state = ZC_FRAME_DONE;
	zc_session_frame_ready(session, frame->buffer);
	if (session->stats != NULL) {
		session->stats->frames_ready++;
	}
	frame->impl->ready(frame, transform, &frame->damage, when);
}
