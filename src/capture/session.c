#include <stdlib.h>
#include <time.h>
#include "capture/capture.h"

struct zc_session *zc_session_create(struct zc_source *source, bool paint_cursors,
		struct wl_client *client, const struct zc_session_impl *impl, void *data) {
	struct zc_session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		return NULL;
	}
	session->impl = impl;
	session->data = data;
	session->client = client;
	session->paint_cursors = paint_cursors;
	pixman_region32_init(&session->damage);
	wl_list_init(&session->frames);
	wl_list_init(&session->written);
	wl_signal_init(&session->events.cancel);
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
	if (source->max_fps > 0) {
		zc_session_set_max_fps(session, source->max_fps);
	}
	return session;
}

static void session_send_constraints(struct zc_session *session) {
	if (session->source->has_constraints) {
		session->impl->constraints(session, &session->source->constraints);
	}
}

void zc_session_start(struct zc_session *session) {
	if (session->stopped) {
		session->impl->stopped(session);
		return;
	}
	struct zc_policy *policy = session->source->policy;
	if (policy == NULL) {
		session->permitted = true;
		session_send_constraints(session);
		return;
	}
	session->policy = policy;
	policy->request(policy, session);
}

void zc_session_permit(struct zc_session *session, bool allow) {
	if (session->stopped || session->permitted) {
		return;
	}
	session->answered = true;
	if (!allow) {
		zc_session_stop(session);
		return;
	}
	session->permitted = true;
	session_send_constraints(session);
	zc_session_try_copy(session);
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* A session's timers (pacing, retries) only ever wake it up to try a copy. */
static void timer_stop(struct wl_event_source **timer) {
	if (*timer != NULL) {
		wl_event_source_remove(*timer);
		*timer = NULL;
	}
}

static bool timer_arm(struct zc_session *session, struct wl_event_source **timer,
		wl_event_loop_timer_func_t func, int ms) {
	if (*timer == NULL) {
		*timer = wl_event_loop_add_timer(session->source->loop, func, session);
		if (*timer == NULL) {
			return false;
		}
	}
	wl_event_source_timer_update(*timer, ms);
	return true;
}

static void session_stop_pacing(struct zc_session *session) {
	timer_stop(&session->pace_timer);
}

static int handle_pace_timer(void *data) {
	struct zc_session *session = data;
	session_stop_pacing(session);
	zc_session_try_copy(session);
	return 0;
}

void zc_session_set_max_fps(struct zc_session *session, double fps) {
	/* A source with a rate of its own (a derived one) is never faster. */
	struct zc_source *source = session->source;
	if (source != NULL && source->max_fps > 0 && (fps <= 0 || fps > source->max_fps)) {
		fps = source->max_fps;
	}
	session->min_interval_ns = fps > 0 ? (uint64_t)(1e9 / fps) : 0;
	if (session->min_interval_ns == 0) {
		session_stop_pacing(session);
		zc_session_try_copy(session);
	}
}

/*
 * How early a frame may be for its slot: a source that runs a little faster
 * than the limit (a 60.6 Hz output under a limit of 60) is not held back a
 * whole timer tick each frame.
 */
static uint64_t pace_slack(const struct zc_session *session) {
	uint64_t quarter = session->min_interval_ns / 4;
	return quarter < 2000000 ? quarter : 2000000;
}

/* True when the next frame must wait for its slot; arms the timer. */
static bool session_paced(struct zc_session *session) {
	if (session->min_interval_ns == 0 || session->pace_due_ns == 0 ||
			session->source->loop == NULL) {
		return false;
	}
	uint64_t due = session->pace_due_ns;
	uint64_t now = now_ns();
	if (now + pace_slack(session) >= due) {
		return false;
	}
	int ms = (int)((due - now + 999999) / 1000000);
	return timer_arm(session, &session->pace_timer, handle_pace_timer, ms);
}

static void written_remove(struct zc_written_buffer *written) {
	wl_list_remove(&written->link);
	wl_list_remove(&written->destroy.link);
	written->session->n_written--;
	free(written);
}

static void handle_written_destroy(struct wl_listener *listener, void *data) {
	struct zc_written_buffer *written = wl_container_of(listener, written, destroy);
	written_remove(written);
}

static struct zc_written_buffer *written_find(struct zc_session *session,
		struct wl_resource *buffer) {
	struct zc_written_buffer *written;
	wl_list_for_each(written, &session->written, link) {
		if (written->buffer == buffer) {
			return written;
		}
	}
	return NULL;
}

bool zc_session_buffer_written(struct zc_session *session, struct wl_resource *buffer) {
	return written_find(session, buffer) != NULL;
}

/* Remembers buffer as written whole, most recent first, forgetting the oldest. */
static void session_mark_written(struct zc_session *session, struct wl_resource *buffer) {
	struct zc_written_buffer *written = written_find(session, buffer);
	if (written != NULL) {
		wl_list_remove(&written->link);
		wl_list_insert(&session->written, &written->link);
		return;
	}
	if (session->n_written >= ZC_SESSION_MAX_WRITTEN) {
		struct zc_written_buffer *oldest =
			wl_container_of(session->written.prev, oldest, link);
		written_remove(oldest);
	}
	written = calloc(1, sizeof(*written));
	if (written == NULL) {
		return; /* the buffer is written whole again next time: correct, only slower */
	}
	written->session = session;
	written->buffer = buffer;
	written->destroy.notify = handle_written_destroy;
	wl_resource_add_destroy_listener(buffer, &written->destroy);
	wl_list_insert(&session->written, &written->link);
	session->n_written++;
}

void zc_session_frame_ready(struct zc_session *session, struct wl_resource *buffer) {
	/*
	 * The next slot: one interval after this one, keeping the phase for a
	 * frame that came early within the slack, and counted from now (less
	 * the slack) for one that came late. Slots are an interval apart and a
	 * frame is never earlier than its slot less the slack, so over time
	 * the rate stays at most the limit.
	 */
	uint64_t now = now_ns();
	uint64_t slack = pace_slack(session);
	uint64_t base = now - slack;
	if (session->pace_due_ns > base) {
		base = session->pace_due_ns;
	}
	session->pace_due_ns = session->min_interval_ns > 0 ? base + session->min_interval_ns : 0;
	if (buffer != NULL) {
		session_mark_written(session, buffer);
	}
	/*
	 * A second full frame right after the first: some clients (wayvnc with
	 * neatvnc) lose the first picture of a still screen, and would show
	 * nothing until the screen changes. Compositors that render twice at
	 * start hide that race; this makes it go away everywhere.
	 */
	if (session->frames_ready++ == 0) {
		zc_session_damage_all(session);
	}
}

static void session_stop_retry(struct zc_session *session) {
	timer_stop(&session->retry_timer);
}

static int handle_retry_timer(void *data) {
	struct zc_session *session = data;
	session_stop_retry(session);
	zc_session_try_copy(session);
	return 0;
}

bool zc_session_retry_later(struct zc_session *session, int attempt) {
	if (session->source == NULL || session->source->loop == NULL) {
		return false;
	}
	return timer_arm(session, &session->retry_timer, handle_retry_timer,
		ZC_FRAME_RETRY_MS * attempt);
}

static void session_fail_frame(struct zc_session *session) {
	if (session->frame != NULL) {
		zc_frame_fail(session->frame, ZC_FAILURE_STOPPED);
	}
}

/* Tells the policy, once, that the session is over. */
static void session_end(struct zc_session *session) {
	struct zc_policy *policy = session->policy;
	if (policy != NULL) {
		session->policy = NULL;
		policy->ended(policy, session);
		if (!session->answered) {
			wl_signal_emit(&session->events.cancel, session);
		}
	}
}

static void session_detach(struct zc_session *session) {
	struct zc_source *source = session->source;
	session_end(session);
	session_stop_pacing(session);
	session_stop_retry(session);
	wl_list_remove(&session->link);
	wl_list_init(&session->link);
	session->source = NULL;
	/* The counters belong to the source's manager, which may go first. */
	session->stats = NULL;
	session->stopped = true;
	if (wl_list_empty(&source->sessions) && source->impl->sessions_gone != NULL) {
		source->impl->sessions_gone(source);
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
	struct zc_written_buffer *written, *written_tmp;
	wl_list_for_each_safe(written, written_tmp, &session->written, link) {
		written_remove(written);
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
	if (frame == NULL || frame->state != ZC_FRAME_WAITING || session->stopped ||
			!session->permitted) {
		return;
	}
	if (frame->buffer == NULL) {
		zc_frame_fail(frame, ZC_FAILURE_BUFFER_CONSTRAINTS);
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
	if (!pixman_region32_not_empty(&session->damage) || !source->impl->has_image(source) ||
			session_paced(session)) {
		return;
	}

	pixman_region32_t region;
	pixman_region32_init(&region);
	if (zc_session_buffer_written(session, frame->buffer)) {
		pixman_region32_union(&region, &session->damage, &frame->buffer_damage);
		pixman_region32_intersect_rect(&region, &region, 0, 0,
			frame->buffer_info.width, frame->buffer_info.height);
	} else {
		pixman_region32_union_rect(&region, &region, 0, 0,
			frame->buffer_info.width, frame->buffer_info.height);
	}
	pixman_region32_copy(&frame->damage, &session->damage);
	pixman_region32_clear(&session->damage);

	frame->state = ZC_FRAME_COPYING;
	frame->copy_running = true;
	clock_gettime(CLOCK_MONOTONIC, &frame->copy_started);
	source->impl->copy(source, frame, &region);
	pixman_region32_fini(&region);
}
