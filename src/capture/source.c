#include <stdlib.h>
#include <string.h>
#include "capture/capture.h"

void zc_target_init(struct zc_target *target, enum zc_target_type type) {
	target->type = type;
	target->captures = 0;
	wl_list_init(&target->sources);
}

void zc_target_add_source(struct zc_target *target, struct zc_source *source) {
	wl_list_remove(&source->target_link);
	wl_list_insert(target->sources.prev, &source->target_link);
	source->target = target;
}

void zc_source_init(struct zc_source *source, const struct zc_source_impl *impl) {
	memset(source, 0, sizeof(*source));
	source->impl = impl;
	wl_list_init(&source->sessions);
	wl_list_init(&source->target_link);
	wl_signal_init(&source->events.destroy);
	wl_signal_init(&source->events.constraints);
	wl_signal_init(&source->events.damage);
}

void zc_source_finish(struct zc_source *source) {
	wl_signal_emit(&source->events.destroy, source);
	wl_list_remove(&source->target_link);
	wl_list_init(&source->target_link);
	struct zc_session *session, *tmp;
	wl_list_for_each_safe(session, tmp, &source->sessions, link) {
		zc_session_stop(session);
	}
	zc_constraints_finish(&source->constraints);
	source->has_constraints = false;
}

bool zc_source_set_constraints(struct zc_source *source,
		const struct zc_constraints *constraints, bool force) {
	if (!force && source->has_constraints &&
			zc_constraints_equal(&source->constraints, constraints)) {
		return true;
	}
	struct zc_constraints copy;
	if (!zc_constraints_copy(&copy, constraints)) {
		return false;
	}
	zc_constraints_finish(&source->constraints);
	source->constraints = copy;
	source->has_constraints = true;

	struct zc_session *session, *tmp;
	wl_list_for_each_safe(session, tmp, &source->sessions, link) {
		if (session->permitted) {
			session->impl->constraints(session, &source->constraints);
		}
	}
	/* New geometry: every session gets a full frame, and a frame whose
	 * buffer no longer fits fails so the client can re-allocate. */
	zc_source_damage_all(source);
	wl_signal_emit(&source->events.constraints, source);
	return true;
}

static void session_add_damage(struct zc_session *session, const pixman_region32_t *damage) {
	const struct zc_constraints *c = &session->source->constraints;
	pixman_region32_union(&session->damage, &session->damage, damage);
	pixman_region32_intersect_rect(&session->damage, &session->damage,
		0, 0, c->width, c->height);
}

void zc_source_damage(struct zc_source *source, const pixman_region32_t *damage,
		bool cursor_only) {
	struct zc_source_damage_event event = {.damage = damage, .cursor_only = cursor_only};
	wl_signal_emit(&source->events.damage, &event);
	struct zc_session *session, *tmp;
	wl_list_for_each(session, &source->sessions, link) {
		if (!cursor_only || session->paint_cursors) {
			session_add_damage(session, damage);
		}
	}
	wl_list_for_each_safe(session, tmp, &source->sessions, link) {
		zc_session_try_copy(session);
	}
}

void zc_source_damage_all(struct zc_source *source) {
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0,
		source->constraints.width, source->constraints.height);
	zc_source_damage(source, &all, false);
	pixman_region32_fini(&all);
}
