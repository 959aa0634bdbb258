#include <stdlib.h>
#include "capture/capture.h"

struct zc_session *zc_session_create(struct zc_source *source, bool paint_cursors,
		const struct zc_session_impl *impl, void *data) {
	struct zc_session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		return NULL;
	}
	session->impl = impl;
	session->data = data;
	session->paint_cursors = paint_cursors;
	pixman_region32_init(&session->damage);
	wl_list_init(&session->frames);
	if (source == NULL) {
		session->stopped = true;
		wl_list_init(&session->link);
		return session;
	}
	session->source = source;
	session->stats = source->stats;
	wl_list_insert(&source->sessions, &session->link);
	if (source->has_constraints) {
		pixman_region32_init_rect(&session->damage, 0, 0,
			source->constraints.width, source->constraints.height);
	}
	if (paint_cursors && source->impl->sessions_changed != NULL) {
		source->impl->sessions_changed(source);
	}
	return session;
}

void zc_session_start(struct zc_session *session) {
	if (session->stopped) {
		session->impl->stopped(session);
	} else if (session->source->has_constraints) {
		session->impl->constraints(session, &session->source->constraints);
	}
}

static void session_fail_frame(struct zc_session *session) {
	if (session->frame != NULL) {
		zc_frame_fail(session->frame, ZC_FAILURE_STOPPED);
	}
}

static void session_detach(struct zc_session *session) {
	struct zc_source *source = session->source;
	wl_list_remove(&session->link);
	wl_list_init(&session->link);
	session->source = NULL;
	session->stopped = true;
	if (session->paint_cursors && source->impl->sessions_changed != NULL) {
		source->impl->sessions_changed(source);
	}
}

void zc_session_stop(struct zc_session *session) {
	if (session->stopped) {
		return;
	}
	session_fail_frame(session);
	session_detach(session);
	session->impl->stopped(session);
}

void zc_session_destroy(struct zc_session *session) {
	if (session == NULL) {
		return;
	}
	session_fail_frame(session);
	if (!session->stopped) {
		session_detach(session);
	}
	struct zc_frame *frame, *tmp;
	wl_list_for_each_safe(frame, tmp, &session->frames, session_link) {
		wl_list_remove(&frame->session_link);
		wl_list_init(&frame->session_link);
		frame->session = NULL;
	}
	wl_list_remove(&session->link);
	pixman_region32_fini(&session->damage);
	free(session);
}

void zc_session_damage_all(struct zc_session *session) {
	if (session->stopped || !session->source->has_constraints) {
		return;
	}
	const struct zc_constraints *c = &session->source->constraints;
	pixman_region32_union_rect(&session->damage, &session->damage, 0, 0,
		c->width, c->height);
}

void zc_session_try_copy(struct zc_session *session) {
	struct zc_frame *frame = session->frame;
	if (frame == NULL || frame->state != ZC_FRAME_WAITING || session->stopped) {
		return;
	}
	struct zc_source *source = session->source;
	if (!source->has_constraints) {
		return;
	}
	if (!zc_constraints_accept(&source->constraints, &frame->buffer_info)) {
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
		return;
	}
	if (!pixman_region32_not_empty(&session->damage) || !source->impl->has_image(source)) {
		return;
	}

	pixman_region32_t region;
	pixman_region32_init(&region);
	pixman_region32_union(&region, &session->damage, &frame->buffer_damage);
	pixman_region32_intersect_rect(&region, &region, 0, 0,
		frame->buffer_info.width, frame->buffer_info.height);
	pixman_region32_copy(&frame->damage, &session->damage);
	pixman_region32_clear(&session->damage);

	frame->state = ZC_FRAME_COPYING;
	frame->copy_running = true;
	source->impl->copy(source, frame, &region);
	pixman_region32_fini(&region);
}
