/*
 * Client-side helpers shared by the protocol tests: a client with a session
 * and a buffer, the checks most tests make on captures and errors, and the
 * cursor capture sessions and frames that zcclient does not model.
 *
 * Every check records into the fixture's tally (fixture.h); "quiet" helpers
 * record nothing, for child processes.
 */
#ifndef ZT_WL_HELPERS_H
#define ZT_WL_HELPERS_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "fixture.h"

/*
 * How long the helpers wait, in ms: for events that must come (5000) and for
 * events that must not come (500). A test may set other values before it
 * starts.
 */
extern int zt_wait_ms;
extern int zt_quiet_ms;

/* A client with one session on an output and an XRGB8888 buffer that fits it. */
struct zt_ctx {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_buffer *buffer;
};

/*
 * Connects to comp and opens a session on the named output (NULL: the first)
 * with options; true once it has its constraints and a buffer. Check and
 * quiet variants. zt_ctx_close() afterwards either way.
 */
bool zt_ctx_open(struct zt_ctx *ctx, struct zt_compositor *comp, const char *output_name,
	uint32_t options);
bool zt_ctx_open_quiet(struct zt_ctx *ctx, struct zt_compositor *comp,
	const char *output_name, uint32_t options);
void zt_ctx_close(struct zt_ctx *ctx);

/*
 * The compositor's file descriptors with no client connected, counted after a
 * first client has captured (so that what the compositor sets up once is
 * there) and left. Checks that the compositor's mappings of client shm can
 * be seen and that the count is known.
 */
int zt_baseline_fds(struct zt_compositor *comp);

/*
 * A session on output that must start: checks that it has constraints and is
 * not stopped. NULL when it cannot be created.
 */
struct zcc_session *zt_session_open(struct zcc_client *client, struct zcc_output *output,
	uint32_t options);
/* An XRGB8888 buffer of the session's buffer size; checks that it was made. */
struct zcc_buffer *zt_session_buffer(struct zcc_session *session);

/* Creates a frame with buffer attached and fully damaged, and captures it. */
struct zcc_frame *zt_frame_start(struct zcc_session *session, struct zcc_buffer *buffer);

/*
 * The session's two opening frames, each into buffer with full buffer damage.
 * A session's first frame is captured at once, and so is its second, with
 * full damage even on a still screen (some clients lose the first picture);
 * only later frames wait for the source to change. Checks that both are
 * ready with full damage (what NULL: quiet, records nothing, for child
 * processes); true when they were. Afterwards the session has no damage
 * left: its next frame waits for a change.
 */
bool zt_opening_frames(struct zcc_session *session, struct zcc_buffer *buffer,
	const char *what);

/* One capture into buffer with full damage; the failure reason goes to reason (may be NULL). */
enum zcc_frame_status zt_capture(struct zcc_session *session, struct zcc_buffer *buffer,
	uint32_t *reason);

/* Checks */
void zt_check_ready(struct zcc_session *session, struct zcc_buffer *buffer, const char *what);
void zt_check_failed(struct zcc_session *session, struct zcc_buffer *buffer, uint32_t expected,
	const char *what);
/* The frame fails with expected and sends nothing after. */
void zt_check_frame_failed(struct zcc_frame *frame, uint32_t expected, const char *what);
/* The frame was captured and nothing comes for zt_quiet_ms: it waits for new content. */
void zt_check_waiting(struct zcc_client *client, struct zcc_frame *frame, const char *what);
/* After a roundtrip the client has no error. */
void zt_check_no_error(struct zcc_client *client, const char *what);
/* The client's connection ended with the protocol error code of interface. */
void zt_check_error(struct zcc_client *client, const struct wl_interface *interface,
	uint32_t code, const char *what);

/* The damage of a capture result as one region; pixman_region32_fini() it. */
void zt_region_from_result(pixman_region32_t *region, const struct zcc_capture_result *r);
/* Whether region covers all of rect, or any of it. */
bool zt_region_has_rect(pixman_region32_t *region, struct zcc_rect rect);
bool zt_region_touches_rect(pixman_region32_t *region, struct zcc_rect rect);
/* Prints the damage rects of a capture result, after what. */
void zt_print_damage(const char *what, const struct zcc_capture_result *r);

/* For zcc_client_dispatch_until(): data is a struct zcc_session. */
bool zt_session_stopped(void *data);

/* A capture session proxy zcclient does not model (a cursor's) and what it sent. */
struct zt_raw_session {
	struct ext_image_copy_capture_session_v1 *proxy;
	unsigned batches; /* done events */
	unsigned buffer_size_events;
	unsigned stopped; /* stopped events */
	uint32_t width, height; /* the last buffer_size */
	bool argb8888; /* among the shm formats */
};

/* Takes proxy (owned from now on) and listens to it. */
void zt_raw_session_init(struct zt_raw_session *raw,
	struct ext_image_copy_capture_session_v1 *proxy);
/* Destroys the proxy, if any. */
void zt_raw_session_finish(struct zt_raw_session *raw);
/* For zcc_client_dispatch_until(): a batch is done or the session stopped. */
bool zt_raw_session_started(void *data);

/*
 * What zt_opening_frames() does, for a raw session: two frames into buffer
 * (width x height), both ready at once with full damage. what NULL: quiet.
 */
bool zt_raw_opening_frames(struct zcc_client *client, struct zt_raw_session *session,
	struct wl_buffer *buffer, int32_t width, int32_t height, const char *what);

/* A frame of a zt_raw_session. */
struct zt_raw_frame {
	struct ext_image_copy_capture_frame_v1 *proxy;
	unsigned ready, failed, transforms;
	uint32_t transform, reason;
	pixman_region32_t damage; /* the union of the damage events */
};

/*
 * Creates a frame on session with buffer attached, damages damage_width x
 * damage_height at 0,0 (nothing when either is 0) and captures it.
 * zt_raw_frame_finish() afterwards.
 */
void zt_raw_frame_start(struct zt_raw_frame *frame,
	struct ext_image_copy_capture_session_v1 *session, struct wl_buffer *buffer,
	int32_t damage_width, int32_t damage_height);
void zt_raw_frame_finish(struct zt_raw_frame *frame);
/* For zcc_client_dispatch_until(): ready or failed. */
bool zt_raw_frame_done(void *data);

/*
 * shm memory the test controls: a memfd ("zt-shm", without seals, so that it
 * can shrink) of file_size bytes, a pool claiming pool_size of them and one
 * wl_buffer at offset. The pool lives as long as the buffer, so that the
 * errors wl_shm sends for it name the wl_shm_pool (zcclient destroys its
 * pools at once: their errors name no interface).
 */
struct zt_shm_layout {
	off_t file_size;
	int32_t pool_size, offset;
	int32_t width, height, stride;
	uint32_t format; /* wl_shm.format */
};

struct zt_shm_buffer {
	int fd;
	struct wl_shm_pool *pool;
	struct wl_buffer *wl_buffer;
	struct zt_shm_layout layout;
};

/* Sends the requests and flushes; false (checked) when the memfd cannot be made. */
bool zt_shm_buffer_create(struct zt_shm_buffer *shm, struct zcc_client *client,
	const struct zt_shm_layout *layout);
/* A tight XRGB8888 width x height buffer alone in its file and pool. */
bool zt_shm_buffer_create_xrgb(struct zt_shm_buffer *shm, struct zcc_client *client,
	int32_t width, int32_t height);
/* Shrinks (or grows) the file under the pool; checked. */
void zt_shm_buffer_truncate(struct zt_shm_buffer *shm, off_t size);
/* Destroys what is left; accepts a zeroed or finished struct. */
void zt_shm_buffer_finish(struct zt_shm_buffer *shm);

/* A pointer cursor session on an output, with its capture session. */
struct zt_cursor_capture {
	struct wl_seat *seat;
	struct wl_pointer *pointer;
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_cursor_session_v1 *cursor;
	struct zt_raw_session session;
};

/*
 * Binds a seat and opens a cursor session on output (NULL: false) for its
 * pointer; true once the capture session has sent a batch or stopped.
 * zt_cursor_capture_close() afterwards either way.
 */
bool zt_cursor_capture_open(struct zt_cursor_capture *cc, struct zcc_client *client,
	struct zcc_output *output);
/* The same on a window's toplevel source (NULL toplevel: false). */
bool zt_cursor_capture_open_toplevel(struct zt_cursor_capture *cc, struct zcc_client *client,
	struct zcc_toplevel *toplevel);
void zt_cursor_capture_close(struct zt_cursor_capture *cc);

/*
 * Windows. Dispatches until client lists a live toplevel (done, not closed)
 * with app_id and, when title is not NULL, that title; checks that it came.
 */
struct zcc_toplevel *zt_toplevel_wait(struct zcc_client *client, const char *app_id,
	const char *title);
/* For zcc_client_dispatch_until(): data is a struct zcc_toplevel. */
bool zt_toplevel_closed(void *data);
/* A foreign-toplevel identifier: 1 to 32 bytes of printable ASCII, no space. */
bool zt_identifier_valid(const char *identifier);

#endif
