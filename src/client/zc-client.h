/*
 * zcclient: a small client library for ext-image-copy-capture-v1.
 *
 * Ownership:
 * - zcc_client owns the connection, the registry, every bound global, every
 *   zcc_output and every zcc_toplevel. zcc_client_destroy() frees them;
 *   destroy sessions, frames and buffers first. Closed toplevels stay listed
 *   (their handles still usable) until zcc_toplevel_destroy() or the end.
 * - zcc_session owns its ext_image_capture_source_v1 when the library created
 *   it (zcc_session_create), and always owns its session proxy.
 * - zcc_frame owns its frame proxy. It does not own the buffer attached to it.
 * - zcc_buffer owns its wl_buffer, mapping and file descriptor.
 * - Arrays inside results and constraints are owned by the struct holding
 *   them.
 *
 * Struct fields are readable by callers; proxies may be used directly to send
 * requests the library does not model (tests do this to check protocol
 * errors). Fields must not be written, except where noted.
 *
 * Every blocking call takes a timeout in milliseconds: a negative value means
 * the client default (client->timeout_ms, 5000 unless changed). Blocking calls
 * return 1 when the awaited condition holds, 0 on timeout and -1 when the
 * connection failed (see zcc_client_get_error()).
 */
#ifndef ZC_CLIENT_H
#define ZC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <wayland-client-core.h>
#include <wayland-client-protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ext_output_image_capture_source_manager_v1;
struct ext_foreign_toplevel_image_capture_source_manager_v1;
struct ext_image_copy_capture_manager_v1;
struct ext_foreign_toplevel_list_v1;
struct ext_foreign_toplevel_handle_v1;
struct ext_image_capture_source_v1;
struct ext_image_copy_capture_session_v1;
struct ext_image_copy_capture_frame_v1;
struct zwp_linux_dmabuf_v1;
struct gbm_device;
struct gbm_bo;

#define ZCC_DEFAULT_TIMEOUT_MS 5000

/* Values of ext_image_copy_capture_manager_v1.options */
#define ZCC_OPTION_PAINT_CURSORS 1u

/* Values of ext_image_copy_capture_frame_v1.failure_reason */
enum zcc_failure_reason {
	ZCC_FAILURE_UNKNOWN = 0,
	ZCC_FAILURE_BUFFER_CONSTRAINTS = 1,
	ZCC_FAILURE_STOPPED = 2,
};

struct zcc_rect {
	int32_t x, y, width, height;
};

/* Any global the registry announced. */
struct zcc_global {
	uint32_t name;
	char *interface;
	uint32_t version;
	bool removed;
	struct wl_list link; /* zcc_client.globals */
};

struct zcc_output {
	struct zcc_client *client;
	struct wl_output *wl_output; /* NULL once the global is gone */
	uint32_t global_name;
	uint32_t version; /* bound version */

	char *name, *description; /* v4; may be NULL */
	char *make, *model;
	int32_t x, y;
	int32_t phys_width, phys_height; /* mm */
	int32_t subpixel;
	int32_t transform; /* enum wl_output_transform */
	int32_t mode_width, mode_height; /* current mode */
	int32_t refresh_mhz;
	int32_t scale;
	bool done; /* at least one done event (or bound below v2) */
	bool removed; /* global_remove seen; the struct lives until the client dies */

	struct wl_list link; /* zcc_client.outputs, in announcement order */
};

struct zcc_error {
	int error; /* wl_display_get_error(); 0: no error */
	bool protocol; /* error == EPROTO: the fields below are set */
	char interface[64];
	uint32_t code;
	uint32_t object_id;
};

struct zcc_client {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct ext_output_image_capture_source_manager_v1 *output_source_manager;
	struct ext_foreign_toplevel_image_capture_source_manager_v1 *toplevel_source_manager;
	struct ext_image_copy_capture_manager_v1 *copy_capture_manager;

	struct wl_list globals; /* zcc_global.link */
	struct wl_list outputs; /* zcc_output.link */
	struct ext_foreign_toplevel_list_v1 *toplevel_list; /* NULL: none offered */
	struct wl_list toplevels; /* zcc_toplevel.link, in the order announced */
	bool toplevel_list_stopped; /* stop sent */
	bool toplevel_list_finished; /* finished received */
	unsigned toplevels_announced; /* toplevel events so far */
	unsigned toplevels_after_finished; /* toplevel events after finished: a server bug */
	uint32_t *wl_shm_formats; /* formats announced by wl_shm */
	size_t n_wl_shm_formats;

	int timeout_ms; /* default for blocking calls; writable */
	char last_error[256]; /* message of the last library-level failure */
};

/*
 * A window from ext-foreign-toplevel-list-v1, as the compositor described it:
 * the state of the last done event (identifier, title and app_id are
 * double-buffered until done).
 */
struct zcc_toplevel {
	struct zcc_client *client;
	struct ext_foreign_toplevel_handle_v1 *handle; /* owned; alive until destroyed */
	char *identifier, *title, *app_id; /* never NULL after the first done */
	bool done; /* the first done came */
	bool closed;
	/* Event counts, for protocol checks */
	unsigned identifier_events, done_events, closed_events;
	unsigned events_after_closed; /* a server bug */
	char *pending_identifier, *pending_title, *pending_app_id; /* until done */
	struct wl_list link; /* zcc_client.toplevels */
};

/*
 * Connects to display_name (NULL: $WAYLAND_DISPLAY), binds wl_shm, every
 * wl_output (version up to 4), the capture managers and
 * ext_foreign_toplevel_list_v1 (version 1), and waits until outputs and the
 * toplevels listed at bind time have sent their initial state. Returns NULL
 * on failure, with a message on stderr.
 */
struct zcc_client *zcc_client_connect(const char *display_name);
void zcc_client_destroy(struct zcc_client *client);

/* True when both the output source manager and the copy capture manager exist. */
bool zcc_client_has_capture(const struct zcc_client *client);
/* The first output (name NULL) or the output with that wl_output.name. */
struct zcc_output *zcc_client_find_output(struct zcc_client *client, const char *name);
const struct zcc_global *zcc_client_find_global(const struct zcc_client *client,
	const char *interface);
/*
 * Binds the global implementing interface at min(version, advertised version).
 * The caller owns the returned proxy. NULL if there is no such global.
 */
void *zcc_client_bind(struct zcc_client *client, const struct wl_interface *interface,
	uint32_t version);
const char *zcc_client_last_error(const struct zcc_client *client);

/* Dispatching. All of these flush first and never block past the timeout. */
typedef bool (*zcc_predicate_func)(void *data);
int zcc_client_dispatch_until(struct zcc_client *client, zcc_predicate_func predicate,
	void *data, int timeout_ms);
/* Dispatches events for timeout_ms, whatever comes. 0 after the time, -1 on error. */
int zcc_client_dispatch_for(struct zcc_client *client, int timeout_ms);
/* wl_display.sync and wait for its callback. */
int zcc_client_roundtrip(struct zcc_client *client, int timeout_ms);

/*
 * Fills err with the connection state. Returns true when the connection has
 * failed (a protocol error or a lost connection).
 */
bool zcc_client_get_error(struct zcc_client *client, struct zcc_error *err);
/*
 * Round-trips, then returns true when the connection died with the protocol
 * error code on an object implementing interface.
 */
bool zcc_client_expect_protocol_error(struct zcc_client *client,
	const struct wl_interface *interface, uint32_t code);
/* Formats err into buf, e.g. "protocol error 1 on ext_image_copy_capture_frame_v1#12". */
const char *zcc_error_str(const struct zcc_error *err, char *buf, size_t size);

/* Session constraints: one complete batch (buffer_size ... done). */
struct zcc_dmabuf_format {
	uint32_t format; /* DRM fourcc */
	uint64_t *modifiers;
	size_t n_modifiers;
};

struct zcc_constraints {
	uint32_t width, height;
	uint32_t *shm_formats; /* wl_shm.format values */
	size_t n_shm_formats;
	bool has_dmabuf_device;
	dev_t dmabuf_device;
	struct zcc_dmabuf_format *dmabuf_formats;
	size_t n_dmabuf_formats;
	/* Event counts in the batch, to check "exactly one buffer_size, at most one device" */
	unsigned buffer_size_events;
	unsigned dmabuf_device_events;
};

struct zcc_session {
	struct zcc_client *client;
	struct zcc_output *output; /* NULL for sessions on a caller's source or a toplevel */
	struct zcc_toplevel *toplevel; /* for zcc_session_create_for_toplevel; else NULL */
	struct ext_image_capture_source_v1 *source;
	bool owns_source;
	struct ext_image_copy_capture_session_v1 *session;
	uint32_t options;

	struct zcc_constraints constraints; /* latest complete batch */
	struct zcc_constraints pending; /* batch being received */
	unsigned constraint_batches; /* done events so far */
	bool constraints_resent; /* more than one batch seen */
	bool stopped;
	unsigned events_after_stopped; /* any session event after stopped */

	struct wl_list frames; /* zcc_frame.link */
};

/*
 * Creates an output source and a session with options (ZCC_OPTION_*; other
 * bits are sent as they are). Does not wait: see zcc_session_wait_constraints.
 */
struct zcc_session *zcc_session_create(struct zcc_client *client, struct zcc_output *output,
	uint32_t options);
/* Session on a source the caller created and keeps owning. */
struct zcc_session *zcc_session_create_for_source(struct zcc_client *client,
	struct ext_image_capture_source_v1 *source, uint32_t options);
/* The same, taking source over (destroyed with the session, or now on failure; NULL: none). */
struct zcc_session *zcc_session_create_owning(struct zcc_client *client,
	struct ext_image_capture_source_v1 *source, uint32_t options);
/*
 * The first live (done, not closed) toplevel whose identifier is key, else
 * the first whose app_id is key (key NULL: the first live one); NULL if none.
 * Toplevels announced since the last dispatch are not seen yet.
 */
struct zcc_toplevel *zcc_client_find_toplevel(struct zcc_client *client, const char *key);
/* Sends ext_foreign_toplevel_list_v1.stop (once); finished sets toplevel_list_finished. */
void zcc_client_stop_toplevel_list(struct zcc_client *client);
/* Destroys the handle and unlists the toplevel. Accepts NULL. */
void zcc_toplevel_destroy(struct zcc_toplevel *toplevel);
/*
 * A capture source for toplevel's handle, owned by the caller (for sessions
 * zcclient does not model, e.g. cursor sessions). NULL without the toplevel
 * source manager. Closed toplevels give a source too: an inert one.
 */
struct ext_image_capture_source_v1 *zcc_toplevel_create_source(struct zcc_toplevel *toplevel);
/*
 * A toplevel source for toplevel and a session on it, like zcc_session_create
 * (options: ZCC_OPTION_*). A closed toplevel gives a session that stops.
 */
struct zcc_session *zcc_session_create_for_toplevel(struct zcc_client *client,
	struct zcc_toplevel *toplevel, uint32_t options);
/* Waits for the first constraint batch, or stopped. */
int zcc_session_wait_constraints(struct zcc_session *session, int timeout_ms);
/* Waits until more than `batches` constraint batches have been seen, or stopped. */
int zcc_session_wait_batches(struct zcc_session *session, unsigned batches, int timeout_ms);
/* Sends destroy. Frames of the session stay alive, detached. Accepts NULL. */
void zcc_session_destroy(struct zcc_session *session);

bool zcc_constraints_has_shm_format(const struct zcc_constraints *c, uint32_t format);
void zcc_constraints_finish(struct zcc_constraints *c);

/* Buffers: shm (zcc_buffer_create) or dma-buf (zcc_dmabuf_buffer_create). */
enum zcc_buffer_type {
	ZCC_BUFFER_SHM = 0,
	ZCC_BUFFER_DMABUF,
};

struct zcc_dmabuf_buffer;

struct zcc_buffer {
	struct wl_buffer *wl_buffer;
	uint32_t format; /* wl_shm.format (for dma-bufs: the one matching drm_format) */
	int32_t width, height, stride; /* dma-buf: stride of plane 0 as announced */
	void *data; /* shm only; dma-bufs: see zcc_dmabuf_map */
	size_t size;
	int fd; /* shm only; -1 for dma-bufs */
	enum zcc_buffer_type type;
	struct zcc_dmabuf_buffer *dmabuf; /* dma-buf only, NULL for shm */
};

/* stride 0: width * bytes per pixel (known formats only). */
struct zcc_buffer *zcc_buffer_create(struct zcc_client *client, uint32_t format,
	int32_t width, int32_t height, int32_t stride);
/* Destroys shm and dma-buf buffers alike. Accepts NULL. */
void zcc_buffer_destroy(struct zcc_buffer *buffer);
void *zcc_buffer_data(struct zcc_buffer *buffer);
/* Stores a 32-bit value in every pixel (4-byte formats), e.g. a sentinel. */
void zcc_buffer_fill(struct zcc_buffer *buffer, uint32_t value);

/*
 * dma-buf buffers (zwp_linux_dmabuf_v1 and GBM; see dmabuf.c).
 *
 * A zcc_dmabuf_device is one DRM device opened for allocation, with its GBM
 * device and a bound zwp_linux_dmabuf_v1 (version 3 at most). It must outlive
 * the buffers made on it. Buffers are zcc_buffers of type ZCC_BUFFER_DMABUF:
 * they work with every frame function and zcc_buffer_destroy.
 */
#define ZCC_DRM_FORMAT_MOD_INVALID 0x00ffffffffffffffull
#define ZCC_DRM_FORMAT_MOD_LINEAR 0ull

struct zcc_dmabuf_device {
	struct zcc_client *client;
	struct zwp_linux_dmabuf_v1 *linux_dmabuf;
	int drm_fd;
	char node[64]; /* the path opened, e.g. /dev/dri/card0 */
	dev_t dev; /* as asked for */
	struct gbm_device *gbm;
	/* zwp_linux_dmabuf_v1 format/modifier events: what the compositor can import */
	struct zcc_dmabuf_format *import_formats;
	size_t n_import_formats;
};

struct zcc_dmabuf_plane {
	int fd; /* owned by the buffer */
	uint32_t offset, stride;
};

struct zcc_dmabuf_buffer {
	struct zcc_dmabuf_device *device;
	struct gbm_bo *bo;
	uint32_t drm_format; /* DRM fourcc */
	uint64_t modifier; /* announced to the compositor */
	uint64_t bo_modifier; /* what GBM says the allocation has */
	int n_planes;
	struct zcc_dmabuf_plane planes[4]; /* as announced */
	uint32_t bo_strides[4], bo_offsets[4]; /* the allocation's real layout */
	void *map_data; /* while mapped */
	void *map_ptr;
	uint32_t map_stride;
};

/*
 * Opens the DRM device dev (e.g. session->constraints.dmabuf_device): the
 * primary node when it has one and allocation works there (kms_swrast can
 * allocate only on primary nodes), else the render node. Binds
 * zwp_linux_dmabuf_v1 and waits for its formats. NULL on failure, with
 * zcc_client_last_error() telling why.
 */
struct zcc_dmabuf_device *zcc_dmabuf_device_open(struct zcc_client *client, dev_t dev);
void zcc_dmabuf_device_destroy(struct zcc_dmabuf_device *device);
/* Whether the compositor announced (format, modifier) through zwp_linux_dmabuf_v1. */
bool zcc_dmabuf_device_can_import(const struct zcc_dmabuf_device *device, uint32_t format,
	uint64_t modifier);

/*
 * Allocates a width x height buffer of the DRM format with modifier
 * (ZCC_DRM_FORMAT_MOD_INVALID: implicit, the allocator picks) and wraps it
 * with create_immed. NULL on failure (see zcc_client_last_error()).
 */
struct zcc_buffer *zcc_dmabuf_buffer_create(struct zcc_dmabuf_device *device, uint32_t format,
	uint64_t modifier, int32_t width, int32_t height);

/*
 * For tests: what is allocated and what is announced may differ. Zero fields
 * mean "as allocated" (alloc_* fields: as announced).
 */
struct zcc_dmabuf_options {
	uint32_t format; /* announced DRM fourcc */
	uint64_t modifier; /* allocation modifier, ZCC_DRM_FORMAT_MOD_INVALID: implicit */
	int32_t width, height; /* announced size */
	int32_t alloc_width, alloc_height; /* allocated size; 0: width, height */
	uint32_t alloc_format; /* allocated format; 0: format */
	bool announce_modifier_set; /* announce announce_modifier instead of modifier */
	uint64_t announce_modifier;
	uint32_t stride, offset; /* announced for plane 0; 0: the real ones */
};
struct zcc_buffer *zcc_dmabuf_buffer_create_with(struct zcc_dmabuf_device *device,
	const struct zcc_dmabuf_options *options);
/*
 * Like zcc_dmabuf_buffer_create_with, through zwp_linux_buffer_params_v1.create
 * instead of create_immed: waits for created or failed. Returns 1 with *out
 * set; 0 when the compositor refused to import the buffer (the connection
 * stays up); -1 on a local error, a timeout or a dead connection.
 */
int zcc_dmabuf_buffer_try_create(struct zcc_dmabuf_device *device,
	const struct zcc_dmabuf_options *options, struct zcc_buffer **out, int timeout_ms);
/* What zcc_buffer_destroy does for dma-buf buffers. Accepts NULL. */
void zcc_dmabuf_buffer_destroy(struct zcc_buffer *buffer);

/*
 * Maps the buffer for reading and writing (gbm_bo_map) and returns its first
 * plane as an image (data NULL on failure). Nothing waits: the mapping shows
 * the memory as it is now. One mapping at a time; zcc_dmabuf_unmap ends it.
 */
struct zcc_image zcc_dmabuf_map(struct zcc_buffer *buffer);
void zcc_dmabuf_unmap(struct zcc_buffer *buffer);
/* Maps, stores value in every pixel (4-byte formats), unmaps. */
bool zcc_dmabuf_fill(struct zcc_buffer *buffer, uint32_t value);
/*
 * Maps, copies the pixels into a tight image (stride width * bytes per
 * pixel), unmaps. The caller frees image.data. data NULL on failure.
 */
struct zcc_image zcc_dmabuf_read(struct zcc_buffer *buffer);
/* wl_shm.format for a DRM fourcc (they differ only for ARGB8888 and XRGB8888). */
uint32_t zcc_shm_format_from_drm(uint32_t drm_format);
uint32_t zcc_drm_format_from_shm(uint32_t shm_format);

/* Frames */
enum zcc_frame_status {
	ZCC_FRAME_PENDING = 0,
	ZCC_FRAME_READY,
	ZCC_FRAME_FAILED, /* failure_reason is set */
	ZCC_FRAME_TIMEOUT, /* client-side: nothing came in time */
	ZCC_FRAME_ERROR, /* client-side: the connection failed */
};

struct zcc_capture_result {
	enum zcc_frame_status status;
	uint32_t failure_reason; /* enum zcc_failure_reason */
	bool has_transform;
	uint32_t transform;
	struct zcc_rect *damage; /* in buffer coordinates, as received */
	size_t n_damage;
	bool has_presentation_time;
	struct timespec presentation_time; /* CLOCK_MONOTONIC per the protocol */
	uint64_t capture_ns; /* CLOCK_MONOTONIC when capture was sent */
	uint64_t done_ns; /* when ready or failed arrived */
	uint64_t latency_us; /* done_ns - capture_ns */
	/* Event counts, for ordering checks */
	unsigned transform_events, presentation_events, ready_events, failed_events;
	unsigned events_after_done; /* events after ready/failed: a server bug */
};

struct zcc_frame {
	struct zcc_client *client;
	struct zcc_session *session; /* NULL once the session is destroyed */
	struct ext_image_copy_capture_frame_v1 *frame;
	struct zcc_buffer *buffer; /* last attached, not owned */
	bool captured;
	struct zcc_capture_result result;
	struct wl_list link; /* zcc_session.frames */
};

/* Non-blocking primitives: each sends one request. */
struct zcc_frame *zcc_frame_create(struct zcc_session *session);
/* buffer must not be NULL. */
void zcc_frame_attach_buffer(struct zcc_frame *frame, struct zcc_buffer *buffer);
void zcc_frame_damage_buffer(struct zcc_frame *frame, int32_t x, int32_t y,
	int32_t width, int32_t height);
/* Records the monotonic time, sends capture and flushes. */
void zcc_frame_capture(struct zcc_frame *frame);
/* Waits for ready or failed. Returns result.status (TIMEOUT and ERROR included). */
enum zcc_frame_status zcc_frame_wait(struct zcc_frame *frame, int timeout_ms);
/* Sends destroy (when the proxy is alive) and frees. Accepts NULL. */
void zcc_frame_destroy(struct zcc_frame *frame);

/*
 * Captures one frame into buffer and blocks until ready, failed or timeout.
 * damage: the buffer damage to send; NULL damages the whole buffer, a non-NULL
 * array with n_damage == 0 sends no damage. The frame is destroyed afterwards;
 * result receives its outcome (release with zcc_capture_result_finish).
 * Returns result->status.
 */
enum zcc_frame_status zcc_session_capture(struct zcc_session *session,
	struct zcc_buffer *buffer, const struct zcc_rect *damage, size_t n_damage,
	int timeout_ms, struct zcc_capture_result *result);
void zcc_capture_result_finish(struct zcc_capture_result *result);

const char *zcc_failure_reason_str(uint32_t reason);
const char *zcc_frame_status_str(enum zcc_frame_status status);
/* Area of the union of rects, in pixels. */
uint64_t zcc_rects_union_area(const struct zcc_rect *rects, size_t n_rects);

/* Pixel formats (wl_shm.format) and image files */
struct zcc_image {
	const void *data;
	uint32_t format; /* wl_shm.format */
	int32_t width, height, stride;
};

/* NULL for formats the library cannot convert. */
const char *zcc_format_name(uint32_t format);
/* Accepts names as printed by zcc_format_name, any case. */
bool zcc_format_from_name(const char *name, uint32_t *format);
/* 0 for unknown formats. */
int zcc_format_bytes_per_pixel(uint32_t format);
bool zcc_format_has_alpha(uint32_t format);

struct zcc_image zcc_buffer_image(const struct zcc_buffer *buffer);
/* Pixel as 0xAARRGGBB (alpha 0xff for formats without alpha). */
bool zcc_image_pixel(const struct zcc_image *image, int32_t x, int32_t y, uint32_t *argb);
/* 8-bit RGBA PNG for formats with alpha, RGB otherwise. */
bool zcc_image_write_png(const struct zcc_image *image, FILE *out);
/* Binary PPM (P6), alpha dropped. */
bool zcc_image_write_ppm(const struct zcc_image *image, FILE *out);
/* By extension: .ppm writes PPM, anything else PNG; "-" writes PNG to stdout. */
bool zcc_image_save(const struct zcc_image *image, const char *path);

/* Monotonic clock in nanoseconds. */
uint64_t zcc_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
