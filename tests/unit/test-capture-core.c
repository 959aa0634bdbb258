/*
 * Unit tests of the capture core (src/capture): sessions, frames, damage,
 * constraints, retries and pacing against a source written here, on a real
 * wl_display with real wl_buffer resources of an in-process client. No
 * wlroots, no compositor.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <wayland-server.h>
#include "capture/capture.h"

#include "check.h"

/* ---- a source whose copies the test decides ---- */

enum copy_mode {
	COPY_DONE, /* finish at once */
	COPY_RETRY, /* a transient failure */
	COPY_HOLD, /* keep the frame copying until the test finishes it */
};

struct test_source {
	struct zc_source base;
	bool has_image;
	int image_requests;
	enum copy_mode mode;
	int copies;
	pixman_region32_t last_region;
	struct zc_frame *held;
};

static bool test_describe(struct zc_source *base, struct wl_resource *buffer,
		struct zc_buffer_info *info) {
	struct zc_buffer_info *described = wl_resource_get_user_data(buffer);
	*info = *described;
	return true;
}

static bool test_has_image(struct zc_source *base) {
	struct test_source *source = wl_container_of(base, source, base);
	return source->has_image;
}

static void test_request_image(struct zc_source *base) {
	struct test_source *source = wl_container_of(base, source, base);
	source->image_requests++;
}

static void test_copy(struct zc_source *base, struct zc_frame *frame,
		const pixman_region32_t *region) {
	struct test_source *source = wl_container_of(base, source, base);
	source->copies++;
	pixman_region32_copy(&source->last_region, region);
	struct timespec when = {.tv_sec = 1};
	switch (source->mode) {
	case COPY_DONE:
		zc_frame_copy_done(frame, 0, &when);
		break;
	case COPY_RETRY:
		zc_frame_copy_retry(frame);
		break;
	case COPY_HOLD:
		source->held = frame;
		break;
	}
}

static const struct zc_source_impl test_source_impl = {
	.describe_buffer = test_describe,
	.has_image = test_has_image,
	.request_image = test_request_image,
	.copy = test_copy,
};

static const uint32_t shm_formats[] = {DRM_FORMAT_XRGB8888};

static void source_set_size(struct test_source *source, uint32_t width, uint32_t height) {
	struct zc_constraints constraints = {
		.width = width,
		.height = height,
		.shm_formats = (uint32_t *)shm_formats,
		.n_shm_formats = 1,
	};
	zc_source_set_constraints(&source->base, &constraints, false);
}

/* ---- sessions and frames as a protocol would drive them ---- */

struct test_session {
	struct zc_session *session;
	int constraints;
	uint32_t width, height;
	bool stopped;
};

static void session_constraints(struct zc_session *session,
		const struct zc_constraints *constraints) {
	struct test_session *ts = session->data;
	ts->constraints++;
	ts->width = constraints->width;
	ts->height = constraints->height;
}

static void session_stopped(struct zc_session *session) {
	struct test_session *ts = session->data;
	ts->stopped = true;
}

static const struct zc_session_impl test_session_impl = {
	.constraints = session_constraints,
	.stopped = session_stopped,
};

struct test_frame {
	struct zc_frame *frame;
	int ready, failed;
	enum zc_failure reason;
	pixman_region32_t damage;
	struct timespec presented;
};

static void frame_ready(struct zc_frame *frame, uint32_t transform,
		const pixman_region32_t *damage, const struct timespec *presented) {
	struct test_frame *tf = frame->data;
	tf->ready++;
	pixman_region32_copy(&tf->damage, damage);
	tf->presented = *presented;
}

static void frame_failed(struct zc_frame *frame, enum zc_failure reason) {
	struct test_frame *tf = frame->data;
	tf->failed++;
	tf->reason = reason;
}

static const struct zc_frame_impl test_frame_impl = {
	.ready = frame_ready,
	.failed = frame_failed,
};

struct env {
	struct wl_display *display;
	struct wl_event_loop *loop;
	struct wl_client *client;
	int client_fd;
	struct test_source source;
	struct zc_buffer_info info;
};

static void env_init(struct env *env, uint32_t width, uint32_t height) {
	memset(env, 0, sizeof(*env));
	env->display = wl_display_create();
	env->loop = wl_display_get_event_loop(env->display);
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		perror("socketpair");
		exit(1);
	}
	env->client = wl_client_create(env->display, fds[0]);
	env->client_fd = fds[1];
	zc_source_init(&env->source.base, &test_source_impl);
	env->source.base.loop = env->loop;
	env->source.has_image = true;
	pixman_region32_init(&env->source.last_region);
	source_set_size(&env->source, width, height);
	env->info = (struct zc_buffer_info){
		.type = ZC_BUFFER_SHM,
		.width = width,
		.height = height,
		.format = DRM_FORMAT_XRGB8888,
		.stride = width * 4,
	};
}

static void env_finish(struct env *env) {
	zc_source_finish(&env->source.base);
	pixman_region32_fini(&env->source.last_region);
	wl_client_destroy(env->client);
	close(env->client_fd);
	wl_display_destroy(env->display);
}

static struct wl_resource *env_buffer(struct env *env) {
	struct wl_resource *buffer = wl_resource_create(env->client, &wl_buffer_interface, 1, 0);
	wl_resource_set_user_data(buffer, &env->info);
	return buffer;
}

static void session_open(struct env *env, struct test_session *ts) {
	memset(ts, 0, sizeof(*ts));
	ts->session = zc_session_create(&env->source.base, false, env->client,
		&test_session_impl, ts);
	zc_session_start(ts->session);
}

/* A frame on buffer with the client's damage (w == 0: none), captured. */
static void frame_capture(struct test_frame *tf, struct test_session *ts,
		struct wl_resource *buffer, int x, int y, int w, int h) {
	memset(tf, 0, sizeof(*tf));
	pixman_region32_init(&tf->damage);
	tf->frame = zc_frame_create(ts->session, &test_frame_impl, tf);
	zc_frame_attach_buffer(tf->frame, buffer);
	if (w > 0) {
		zc_frame_damage_buffer(tf->frame, x, y, w, h);
	}
	zc_frame_capture(tf->frame);
}

static void frame_finish(struct test_frame *tf) {
	zc_frame_destroy(tf->frame);
	pixman_region32_fini(&tf->damage);
}

static bool region_is(const pixman_region32_t *region, int x, int y, int w, int h) {
	pixman_region32_t want;
	pixman_region32_init_rect(&want, x, y, w, h);
	bool same = pixman_region32_equal((pixman_region32_t *)region, &want);
	pixman_region32_fini(&want);
	return same;
}

static void damage_rect(struct env *env, int x, int y, int w, int h) {
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, x, y, w, h);
	zc_source_damage(&env->source.base, &damage, false);
	pixman_region32_fini(&damage);
}

static void dispatch_for(struct env *env, int ms) {
	for (int i = 0; i < ms; i++) {
		wl_event_loop_dispatch(env->loop, 1);
	}
}

/* ---- the tests ---- */

static void test_first_frames(void) {
	struct env env;
	env_init(&env, 64, 32);
	struct test_session ts;
	session_open(&env, &ts);
	CHECK(ts.constraints == 1 && ts.width == 64 && ts.height == 32,
		"one constraints batch of the source's size, got %d (%ux%u)",
		ts.constraints, ts.width, ts.height);

	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame first;
	frame_capture(&first, &ts, buffer, 0, 0, 0, 0);
	CHECK(first.ready == 1, "the first frame is ready at once (%d)", first.ready);
	CHECK(region_is(&first.damage, 0, 0, 64, 32), "with full damage");
	frame_finish(&first);

	/* The second frame comes at once with full damage, with no change. */
	struct test_frame second;
	frame_capture(&second, &ts, buffer, 0, 0, 0, 0);
	CHECK(second.ready == 1, "the second frame does not wait (%d)", second.ready);
	CHECK(region_is(&second.damage, 0, 0, 64, 32), "and is full again");
	frame_finish(&second);

	/* The third one waits for damage. */
	struct test_frame third;
	frame_capture(&third, &ts, buffer, 0, 0, 0, 0);
	CHECK(third.ready == 0 && third.failed == 0, "the third frame waits for damage");
	damage_rect(&env, 3, 4, 5, 6);
	CHECK(third.ready == 1, "and is ready once the source changes");
	CHECK(region_is(&third.damage, 3, 4, 5, 6), "with just that damage");
	CHECK(region_is(&env.source.last_region, 3, 4, 5, 6),
		"and only the damage is written into a buffer written before");
	frame_finish(&third);

	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_fresh_buffers_written_whole(void) {
	struct env env;
	env_init(&env, 40, 20);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *a = env_buffer(&env), *b = env_buffer(&env);
	struct test_frame tf;
	frame_capture(&tf, &ts, a, 0, 0, 0, 0);
	frame_finish(&tf);
	frame_capture(&tf, &ts, a, 0, 0, 0, 0); /* the prompt second frame */
	frame_finish(&tf);

	/* A buffer the session never wrote, with partial client damage. */
	frame_capture(&tf, &ts, b, 1, 1, 2, 2);
	damage_rect(&env, 10, 10, 4, 4);
	CHECK(tf.ready == 1, "frame on a fresh buffer is ready");
	CHECK(region_is(&env.source.last_region, 0, 0, 40, 20),
		"a buffer never written is written whole, whatever the client declared");
	CHECK(region_is(&tf.damage, 10, 10, 4, 4), "the reported damage stays what changed");
	frame_finish(&tf);

	/* The same buffer again: the union of both damages only. */
	frame_capture(&tf, &ts, b, 1, 1, 2, 2);
	damage_rect(&env, 10, 10, 4, 4);
	pixman_region32_t want;
	pixman_region32_init_rect(&want, 1, 1, 2, 2);
	pixman_region32_union_rect(&want, &want, 10, 10, 4, 4);
	CHECK(pixman_region32_equal(&env.source.last_region, &want),
		"a written buffer gets the client's damage and the new damage");
	pixman_region32_fini(&want);
	frame_finish(&tf);

	/* A destroyed buffer is forgotten; a new one at the same address is fresh. */
	wl_resource_destroy(b);
	CHECK(ts.session->n_written == 1, "a destroyed buffer leaves the written set (%d)",
		ts.session->n_written);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_written_set_is_bounded(void) {
	struct env env;
	env_init(&env, 8, 8);
	struct test_session ts;
	session_open(&env, &ts);
	for (int i = 0; i < ZC_SESSION_MAX_WRITTEN * 3; i++) {
		struct test_frame tf;
		frame_capture(&tf, &ts, env_buffer(&env), 0, 0, 0, 0);
		damage_rect(&env, 0, 0, 1, 1);
		frame_finish(&tf);
	}
	CHECK(ts.session->n_written == ZC_SESSION_MAX_WRITTEN,
		"at most %d buffers remembered, got %d", ZC_SESSION_MAX_WRITTEN,
		ts.session->n_written);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_transient_failures_retry(void) {
	struct env env;
	env_init(&env, 16, 16);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *buffer = env_buffer(&env);

	env.source.mode = COPY_RETRY;
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.failed == 0 && tf.ready == 0, "a transient failure does not fail the frame");
	CHECK(env.source.copies == 1, "one copy so far (%d)", env.source.copies);
	env.source.mode = COPY_DONE;
	dispatch_for(&env, 100);
	CHECK(env.source.copies == 2, "the copy is tried again on its own (%d)",
		env.source.copies);
	CHECK(tf.ready == 1 && tf.failed == 0, "and the frame is then ready");
	CHECK(region_is(&tf.damage, 0, 0, 16, 16), "with the damage of the failed try");
	frame_finish(&tf);

	/* A failure that does not go away ends as unknown after the retries. */
	env.source.mode = COPY_RETRY;
	env.source.copies = 0;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	for (int i = 0; i < 100 && tf.failed == 0; i++) {
		dispatch_for(&env, 10);
	}
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_UNKNOWN,
		"a lasting failure fails with unknown (failed %d, reason %d)", tf.failed, tf.reason);
	CHECK(env.source.copies == ZC_FRAME_MAX_RETRIES + 1, "after %d tries, got %d",
		ZC_FRAME_MAX_RETRIES + 1, env.source.copies);
	frame_finish(&tf);

	/* A session stopped while a retry is pending: stopped, and no copy. */
	env.source.copies = 0;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	zc_session_stop(ts.session);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_STOPPED, "stopped, not unknown");
	dispatch_for(&env, 50);
	CHECK(env.source.copies == 1, "no copy after the stop (%d)", env.source.copies);
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_buffer_gone_during_copy(void) {
	struct env env;
	env_init(&env, 16, 16);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *buffer = env_buffer(&env);
	env.source.mode = COPY_HOLD;
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(env.source.held == tf.frame, "the copy runs");
	wl_resource_destroy(buffer);
	CHECK(tf.failed == 0, "a running copy is not failed by the buffer going");
	env.source.mode = COPY_DONE;
	zc_frame_copy_retry(tf.frame);
	dispatch_for(&env, 50);
	CHECK(env.source.copies == 1, "no copy into a destroyed buffer (%d)", env.source.copies);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_BUFFER_CONSTRAINTS,
		"a failed copy into a destroyed buffer fails with buffer_constraints (%d, %d)",
		tf.failed, tf.reason);
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_buffer_gone_while_waiting(void) {
	struct env env;
	env_init(&env, 16, 16);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.ready == 0 && tf.failed == 0, "the third frame waits");
	wl_resource_destroy(buffer);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_BUFFER_CONSTRAINTS,
		"its buffer destroyed: buffer_constraints, so the client re-allocates (%d, %d)",
		tf.failed, tf.reason);
	CHECK(!ts.stopped, "the session goes on");
	frame_finish(&tf);
	struct test_frame next;
	frame_capture(&next, &ts, env_buffer(&env), 0, 0, 0, 0);
	damage_rect(&env, 0, 0, 2, 2);
	CHECK(next.ready == 1, "and a frame on a new buffer is ready");
	frame_finish(&next);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static uint64_t ns_of(const struct timespec *ts) {
	return (uint64_t)ts->tv_sec * 1000000000u + ts->tv_nsec;
}

static uint64_t monotonic_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ns_of(&ts);
}

/*
 * A frame copied from an image presented before the copy (the source says
 * {1, 0}: a screen still since boot) is stamped with the copy's start; one
 * whose image comes after the copy started keeps the source's time.
 */
static void test_presentation_time(void) {
	struct env env;
	env_init(&env, 16, 16);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame tf;
	uint64_t before = monotonic_ns();
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	uint64_t after = monotonic_ns();
	uint64_t first = ns_of(&tf.presented);
	CHECK(tf.ready == 1 && first >= before && first <= after,
		"an image presented long ago is stamped when its copy started (%llu, not in "
		"%llu..%llu)", (unsigned long long)first, (unsigned long long)before,
		(unsigned long long)after);
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.ready == 1 && ns_of(&tf.presented) > first,
		"the prompt second frame of the same image comes later (%llu after %llu)",
		(unsigned long long)ns_of(&tf.presented), (unsigned long long)first);
	frame_finish(&tf);

	env.source.mode = COPY_HOLD;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	damage_rect(&env, 0, 0, 2, 2);
	CHECK(env.source.held == tf.frame, "the third frame is copying");
	struct timespec later;
	clock_gettime(CLOCK_MONOTONIC, &later);
	later.tv_sec += 1;
	zc_frame_copy_done(tf.frame, 0, &later);
	CHECK(tf.ready == 1 && ns_of(&tf.presented) == ns_of(&later),
		"an image presented after the copy started keeps its time");
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_constraints(void) {
	struct env env;
	env_init(&env, 30, 10);
	struct test_session ts;
	session_open(&env, &ts);
	source_set_size(&env.source, 30, 10);
	CHECK(ts.constraints == 1, "an equal batch is not sent again (%d)", ts.constraints);
	source_set_size(&env.source, 31, 10);
	CHECK(ts.constraints == 2 && ts.width == 31, "a new size is (%d, %u)", ts.constraints,
		ts.width);

	/* A buffer of the old size fails with buffer_constraints. */
	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_BUFFER_CONSTRAINTS,
		"a 30x10 buffer on a 31x10 source: buffer_constraints (%d, %d)", tf.failed,
		tf.reason);
	frame_finish(&tf);

	struct zc_constraints c = {
		.width = 8,
		.height = 8,
		.shm_formats = (uint32_t *)shm_formats,
		.n_shm_formats = 1,
	};
	struct zc_buffer_info info = {
		.type = ZC_BUFFER_SHM, .width = 8, .height = 8, .format = DRM_FORMAT_ARGB8888,
		.stride = 32,
	};
	char why[128];
	CHECK(!zc_constraints_check(&c, &info, why, sizeof(why)), "an unlisted format is refused");
	info.format = DRM_FORMAT_XRGB8888;
	CHECK(zc_constraints_check(&c, &info, why, sizeof(why)), "a listed one is taken: %s", why);
	info.type = ZC_BUFFER_DMABUF;
	CHECK(!zc_constraints_check(&c, &info, why, sizeof(why)),
		"no dma-buf without dma-buf constraints");

	/* Frames in flight when the size changes fail so the client re-allocates. */
	source_set_size(&env.source, 30, 10);
	env.source.mode = COPY_HOLD;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(env.source.held == tf.frame, "the copy runs");
	zc_session_stop(ts.session);
	struct timespec when = {0};
	zc_frame_copy_done(tf.frame, 0, &when);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_STOPPED && tf.ready == 0,
		"a copy that ends after the stop reports stopped");
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

static void test_source_gone(void) {
	struct env env;
	env_init(&env, 10, 10);
	struct test_session ts;
	session_open(&env, &ts);
	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.ready == 0, "waiting for damage");
	zc_source_finish(&env.source.base);
	CHECK(ts.stopped, "the session is stopped with its source");
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_STOPPED, "the waiting frame fails stopped");
	frame_finish(&tf);
	/* A frame on the stopped session still answers. */
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.failed == 1 && tf.reason == ZC_FAILURE_STOPPED, "a later frame fails stopped");
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	zc_source_init(&env.source.base, &test_source_impl); /* for env_finish */
	env_finish(&env);
}

static void test_pacing(void) {
	struct env env;
	env_init(&env, 4, 4);
	struct test_session ts;
	session_open(&env, &ts);
	zc_session_set_max_fps(ts.session, 20); /* 50 ms apart */
	struct wl_resource *buffer = env_buffer(&env);
	struct test_frame tf;
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.ready == 1, "the first frame is not paced");
	frame_finish(&tf);
	frame_capture(&tf, &ts, buffer, 0, 0, 0, 0);
	CHECK(tf.ready == 0, "the next one waits for its slot though it has damage");
	dispatch_for(&env, 10);
	CHECK(tf.ready == 0, "still waiting after 10 ms");
	for (int i = 0; i < 200 && tf.ready == 0; i++) {
		dispatch_for(&env, 1);
	}
	CHECK(tf.ready == 1, "ready once its slot came");
	frame_finish(&tf);
	zc_session_destroy(ts.session);
	env_finish(&env);
}

int main(void) {
	test_first_frames();
	test_fresh_buffers_written_whole();
	test_written_set_is_bounded();
	test_transient_failures_retry();
	test_buffer_gone_during_copy();
	test_buffer_gone_while_waiting();
	test_presentation_time();
	test_constraints();
	test_source_gone();
	test_pacing();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
