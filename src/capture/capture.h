/*
 * The capture core: sources, sessions and frames, independent of any protocol
 * and of wlroots.
 *
 * Lifetimes:
 * - A zc_source is embedded in a source implementation (an output source).
 *   zc_source_finish() stops every session on it.
 * - A zc_session is owned by whoever created it (a protocol object). It
 *   outlives its source: once the source is gone the session is stopped and
 *   its source pointer is NULL.
 * - A zc_frame is owned by its creator too. The frame keeps a reference to its
 *   session; destroying the session fails the frame (stopped) first. A frame
 *   whose copy is still running on the GPU when it is destroyed lives on,
 *   detached, until the copy completes.
 */
#ifndef ZC_CAPTURE_CAPTURE_H
#define ZC_CAPTURE_CAPTURE_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <wayland-server-core.h>
#include <zerocap/testing.h>
#include <zerocap/zerocap.h>

struct zc_source;
struct zc_session;
struct zc_frame;
struct zc_convert;

/* Injected failures (zc_capture_manager_inject_fault), per enum zc_fault. */
struct zc_faults {
	int remaining[ZC_FAULT_COUNT];
};

/* Consumes one injected failure of that kind; faults may be NULL. */
static inline bool zc_fault(struct zc_faults *faults, enum zc_fault fault) {
	if (faults == NULL || faults->remaining[fault] <= 0) {
		return false;
	}
	faults->remaining[fault]--;
	return true;
}

enum zc_failure {
	ZC_FAILURE_UNKNOWN = 0,
	ZC_FAILURE_BUFFER_CONSTRAINTS = 1,
	ZC_FAILURE_STOPPED = 2,
};

struct zc_dmabuf_format {
	uint32_t format;
	uint64_t *modifiers;
	size_t n_modifiers;
};

struct zc_constraints {
	uint32_t width, height;
	uint32_t *shm_formats; /* DRM fourcc codes */
	size_t n_shm_formats;
	bool has_dmabuf;
	dev_t dmabuf_device;
	struct zc_dmabuf_format *dmabuf_formats;
	size_t n_dmabuf_formats;
};

enum zc_buffer_type {
	ZC_BUFFER_SHM,
	ZC_BUFFER_DMABUF,
};

struct zc_buffer_info {
	enum zc_buffer_type type;
	uint32_t width, height;
	uint32_t format; /* DRM fourcc */
	uint64_t modifier;
	int32_t stride;
};

struct zc_source_impl {
	/* Describes a client buffer; false if zerocap cannot write into it. */
	bool (*describe_buffer)(struct zc_source *source, struct wl_resource *buffer,
		struct zc_buffer_info *info);
	/* Whether an image is available to copy right now. */
	bool (*has_image)(struct zc_source *source);
	/* Asks for a new image; zc_source_damage() follows when it arrives. */
	void (*request_image)(struct zc_source *source);
	/*
	 * Copies the current image into frame->buffer, writing at least region
	 * (buffer coordinates). Completion is reported with zc_frame_copy_done(),
	 * possibly before this returns.
	 */
	void (*copy)(struct zc_source *source, struct zc_frame *frame,
		const pixman_region32_t *region);
	/*
	 * Optional: the same copy turned into a derived image (crop, scale,
	 * format) as convert says; region is in the derived image. Sources
	 * without it cannot be derived from.
	 */
	void (*copy_derived)(struct zc_source *source, struct zc_frame *frame,
		const pixman_region32_t *region, const struct zc_convert *convert);
	/* Optional: the last session on the source went away. */
	void (*sessions_gone)(struct zc_source *source);
};

/* Payload of zc_source.events.damage. */
struct zc_source_damage_event {
	const pixman_region32_t *damage;
	bool cursor_only;
};

/*
 * Who decides whether a session may capture. Without a policy every session
 * may. With one, a session sends no constraints and copies nothing until
 * zc_session_permit() allows it.
 */
struct zc_policy {
	/* A session started and waits for zc_session_permit(), now or later. */
	void (*request)(struct zc_policy *policy, struct zc_session *session);
	/* A session that asked is stopping or going away. */
	void (*ended)(struct zc_policy *policy, struct zc_session *session);
};

/*
 * What a user thinks of as one thing being captured: an output or a
 * window. It groups the capture sources that show it (an output's views, a
 * window, and their cursors) and counts the allowed sessions on them, for the indicator.
 * Policy requests, activity and revocation are keyed by it. Embedded in
 * whatever implements it; the public struct zc_capture_target is this.
 */
enum zc_target_type {
	ZC_TARGET_OUTPUT,
	ZC_TARGET_TOPLEVEL,
};

struct zc_target {
	enum zc_target_type type;
	struct wl_list link; /* the manager's list of targets */
	struct wl_list sources; /* zc_source.target_link */
	int captures; /* allowed sessions alive on its sources */
};

struct zc_cursor_state {
	bool inside; /* the cursor image overlaps the captured area */
	/* Hotspot position in the source's (upright) image pixels, and the hotspot. */
	int32_t x, y;
	int32_t hotspot_x, hotspot_y;
};

/*
 * The pointer over a source, as cursor sessions see it: where it is
 * relative to the source's image, and the cursor image as a capture source
 * of its own. Embedded in the source implementation.
 */
struct zc_pointer {
	struct zc_source *image; /* the cursor image source */
	/* Whose policy decides whether a client may know where the pointer is. */
	struct zc_capture_manager *manager;
	void (*get)(struct zc_pointer *pointer, struct zc_cursor_state *state);
	struct {
		struct wl_signal update; /* NULL: moved, or a new image */
	} events;
};

struct zc_source {
	const struct zc_source_impl *impl;
	struct zc_pointer *pointer; /* for cursor sessions; may be NULL */
	bool is_cursor; /* the source is a cursor image */
	struct zc_target *target; /* may be NULL */
	struct wl_list target_link; /* zc_target.sources */
	struct zc_capture_stats *stats; /* may be NULL */
	struct zc_policy *policy; /* may be NULL: everything is allowed */
	struct wl_event_loop *loop; /* for frame pacing; may be NULL */
	struct zc_constraints constraints;
	bool has_constraints;
	struct wl_list sessions; /* zc_session.link */
	/* Sessions created on the source are paced to this rate (0: none). */
	double max_fps;

	struct {
		struct wl_signal destroy; /* struct zc_source * */
		struct wl_signal constraints; /* struct zc_source *: new constraints */
		struct wl_signal damage; /* struct zc_source_damage_event */
	} events;
};

struct zc_session_impl {
	/* A new constraint batch must be sent to the client. */
	void (*constraints)(struct zc_session *session, const struct zc_constraints *constraints);
	/* The source is gone; the session will never produce frames again. */
	void (*stopped)(struct zc_session *session);
};

/*
 * A client buffer a session has written whole. A buffer the session never
 * wrote gets every pixel on its first capture, whatever damage the client
 * declared (xdg-desktop-portal-wlr declares only what changed, also for
 * buffers it never captured into).
 */
struct zc_written_buffer {
	struct wl_list link; /* zc_session.written, most recent first */
	struct zc_session *session;
	struct wl_resource *buffer;
	struct wl_listener destroy;
};

/* Buffers remembered per session; clients rotate a handful. */
#define ZC_SESSION_MAX_WRITTEN 16
/*
 * Transient copy failures (memory, CPU access, read back, GPU) are retried
 * this many times, RETRY_MS apart and further each time, before the frame
 * fails with unknown: clients such as wayvnc stop for good on failures.
 */
#define ZC_FRAME_MAX_RETRIES 8
#define ZC_FRAME_RETRY_MS 8

struct zc_session {
	struct zc_source *source; /* NULL once stopped */
	struct zc_policy *policy; /* the one asked, until ended */
	struct wl_list link; /* zc_source.sessions */
	const struct zc_session_impl *impl;
	void *data;
	struct wl_client *client; /* may be NULL */
	bool answered; /* the policy allowed or denied it */
	bool permitted;
	struct zc_capture_stats *stats; /* may be NULL */
	bool paint_cursors;
	bool stopped;
	/* Damage since the last ready frame, buffer coordinates. */
	pixman_region32_t damage;
	/* Pacing: at most one ready frame per interval (0: no limit). */
	uint64_t min_interval_ns;
	uint64_t pace_due_ns; /* the next frame's slot; 0: none yet */
	struct wl_event_source *pace_timer;
	struct wl_event_source *retry_timer;
	uint64_t frames_ready;
	struct wl_list written; /* zc_written_buffer.link */
	int n_written;
	struct zc_frame *frame; /* captured, not yet finished */
	struct wl_list frames; /* zc_frame.session_link, every live frame */

	struct {
		/* Stopped or destroyed before the policy answered. */
		struct wl_signal cancel; /* struct zc_session * */
	} events;
};

struct zc_frame_impl {
	/*
	 * presented: when the source presented the image, or the start of the
	 * copy if that was later (see zc_frame_copy_done).
	 */
	void (*ready)(struct zc_frame *frame, uint32_t transform,
		const pixman_region32_t *damage, const struct timespec *presented);
	void (*failed)(struct zc_frame *frame, enum zc_failure reason);
};

enum zc_frame_state {
	ZC_FRAME_IDLE, /* not captured yet */
	ZC_FRAME_WAITING, /* captured, waiting for an image with damage */
	ZC_FRAME_COPYING, /* the source is writing the buffer */
	ZC_FRAME_DONE, /* ready or failed was reported */
};

struct zc_frame {
	struct zc_session *session; /* NULL once detached */
	struct wl_list session_link;
	const struct zc_frame_impl *impl;
	void *data;
	enum zc_frame_state state;
	bool copy_running; /* between impl->copy and zc_frame_copy_done() */
	bool destroyed; /* the owner let go while a copy was running */
	int retries; /* transient copy failures so far */
	struct timespec copy_started; /* CLOCK_MONOTONIC, of the last copy */

	struct wl_resource *buffer;
	struct wl_listener buffer_destroy;
	struct zc_buffer_info buffer_info;
	pixman_region32_t buffer_damage; /* from the client */
	pixman_region32_t damage; /* reported damage of this frame */
};

void zc_target_init(struct zc_target *target, enum zc_target_type type);
/* source shows target from now on (until zc_source_finish). */
void zc_target_add_source(struct zc_target *target, struct zc_source *source);

void zc_source_init(struct zc_source *source, const struct zc_source_impl *impl);
void zc_source_finish(struct zc_source *source);
/*
 * Copies constraints; sessions get a new batch when they differ, or always
 * with force (scale or transform changes re-send the batch).
 */
bool zc_source_set_constraints(struct zc_source *source, const struct zc_constraints *constraints,
	bool force);
/* New content: damage in buffer coordinates. cursor_only damage only
 * concerns sessions that paint cursors. */
void zc_source_damage(struct zc_source *source, const pixman_region32_t *damage,
	bool cursor_only);
/* Damages everything for every session (e.g. after a geometry change). */
void zc_source_damage_all(struct zc_source *source);

void zc_constraints_finish(struct zc_constraints *constraints);
bool zc_constraints_copy(struct zc_constraints *dst, const struct zc_constraints *src);
bool zc_constraints_equal(const struct zc_constraints *a, const struct zc_constraints *b);
/* Whether a client buffer may be used with these constraints. */
bool zc_constraints_accept(const struct zc_constraints *constraints,
	const struct zc_buffer_info *info);
/* The same; when it may not, why says why (for logs). */
bool zc_constraints_check(const struct zc_constraints *constraints,
	const struct zc_buffer_info *info, char *why, size_t why_size);

/* source may be NULL: the session starts stopped. client may be NULL. */
struct zc_session *zc_session_create(struct zc_source *source, bool paint_cursors,
	struct wl_client *client, const struct zc_session_impl *impl, void *data);
/*
 * Asks the source's policy, then sends the first constraint batch (or
 * stopped). Call once, after create.
 */
void zc_session_start(struct zc_session *session);
/* The policy's answer: allow starts the session, deny stops it. */
void zc_session_permit(struct zc_session *session, bool allow);
/* At most fps frames per second (0: no limit); needs the source's loop. */
void zc_session_set_max_fps(struct zc_session *session, double fps);
void zc_session_destroy(struct zc_session *session);
void zc_session_stop(struct zc_session *session);
/* Everything counts as changed: the next frame is a full one, at once. */
void zc_session_damage_all(struct zc_session *session);
/*
 * A frame of the session was reported ready (pacing counts from here);
 * buffer (may be NULL) now holds a whole image.
 */
void zc_session_frame_ready(struct zc_session *session, struct wl_resource *buffer);
/* Copies the waiting frame again after a while (the attempt-th time). */
bool zc_session_retry_later(struct zc_session *session, int attempt);
/* Starts the copy of the waiting frame if there is damage and an image. */
void zc_session_try_copy(struct zc_session *session);
/* Whether the session wrote buffer whole before (see zc_written_buffer). */
bool zc_session_buffer_written(struct zc_session *session, struct wl_resource *buffer);

struct zc_frame *zc_frame_create(struct zc_session *session,
	const struct zc_frame_impl *impl, void *data);
/* Detaches the owner; the frame is freed now or when its copy finishes. */
void zc_frame_destroy(struct zc_frame *frame);
void zc_frame_attach_buffer(struct zc_frame *frame, struct wl_resource *buffer);
void zc_frame_damage_buffer(struct zc_frame *frame, int32_t x, int32_t y,
	int32_t width, int32_t height);
/* Starts the capture; the outcome comes through impl->ready or ->failed. */
void zc_frame_capture(struct zc_frame *frame);

/* Reports failure unless the frame already finished. */
void zc_frame_fail(struct zc_frame *frame, enum zc_failure reason);

/*
 * For sources: the end of a copy started with impl->copy; presented is when
 * the copied image was presented. An image presented before the copy
 * started (a still screen, maybe for minutes) is reported at the copy's
 * start instead: clients take the time as the frame's timestamp, and
 * consumers that sync on timestamps (GStreamer's pipewiresrc behind
 * xdg-desktop-portal-wlr) would hold every later frame back by its age.
 */
void zc_frame_copy_done(struct zc_frame *frame, uint32_t transform,
	const struct timespec *presented);
void zc_frame_copy_failed(struct zc_frame *frame, enum zc_failure reason);
/*
 * A copy failed for a reason that may go away (out of memory, a failed read
 * back): the frame waits again and is copied anew shortly, with its damage
 * given back; after ZC_FRAME_MAX_RETRIES it fails with unknown.
 */
void zc_frame_copy_retry(struct zc_frame *frame);

#endif
