/*
 * libzerocap-client: asks a Wayland compositor for exactly the frames an
 * application wants (an output, a window or a region of one, at a size, in
 * a pixel format, at a rate) and hands them over as dma-buf (or shm) buffers
 * with a fence, without touching a pixel on the CPU.
 *
 * It speaks ext-image-copy-capture-v1 to any compositor that has it; crop,
 * scaling, pixel format conversion and the rate limit need zerocap's
 * zerocap-capture-options-v1 and report ZCL_ERROR_UNSUPPORTED elsewhere.
 *
 * Nothing blocks: the application owns the event loop. It polls
 * zcl_client_get_fd() for input and calls zcl_client_dispatch() when it is
 * readable; the library flushes what it sends itself, so polling first is
 * fine. Callbacks run from zcl_client_dispatch() only.
 *
 * Ownership:
 * - zcl_client owns the connection and every zcl_target; a target pointer
 *   is valid until its target_removed callback returns (or the client is
 *   destroyed).
 * - zcl_capture is owned by the application (zcl_capture_destroy). It owns
 *   its buffer pool. Destroy captures before their client.
 * - zcl_frame belongs to the capture; the application holds it from the
 *   frame callback until zcl_frame_release(). Its file descriptors (planes,
 *   sync_fd) stay owned by the library: dup() what must outlive the release.
 *   Frames not released when the capture is destroyed are released then.
 * - zcl_cursor is owned by the application (zcl_cursor_destroy), like a
 *   capture; the bitmap it reports stays valid until the next callback.
 */
#ifndef ZEROCAP_CLIENT_H
#define ZEROCAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zcl_client;
struct zcl_target;
struct zcl_capture;
struct zcl_frame;
struct zcl_cursor;

enum zcl_error {
	ZCL_OK = 0,
	ZCL_ERROR_CONNECT, /* no compositor, or it went away */
	ZCL_ERROR_UNSUPPORTED, /* the compositor lacks what the request needs */
	ZCL_ERROR_INVALID, /* a bad argument */
	ZCL_ERROR_NO_FORMAT, /* no format both sides can use */
	ZCL_ERROR_ALLOC, /* buffers could not be allocated or imported */
	ZCL_ERROR_NO_MEMORY,
};

enum zcl_target_type {
	ZCL_TARGET_OUTPUT,
	ZCL_TARGET_WINDOW,
};

struct zcl_client_listener {
	/* A target appeared (outputs at connection too), or its fields changed. */
	void (*target_added)(void *data, struct zcl_target *target);
	void (*target_changed)(void *data, struct zcl_target *target);
	/* The target is gone; the pointer dies when this returns. May be NULL. */
	void (*target_removed)(void *data, struct zcl_target *target);
};

/*
 * Connects (display NULL: $WAYLAND_DISPLAY) and sends the first requests;
 * targets arrive with the following dispatches. listener may be NULL.
 * Returns NULL when there is no compositor.
 */
struct zcl_client *zcl_client_connect(const char *display,
	const struct zcl_client_listener *listener, void *data);
void zcl_client_destroy(struct zcl_client *client);
/* The connection's fd, to poll for POLLIN. */
int zcl_client_get_fd(struct zcl_client *client);
/*
 * Reads what has arrived without waiting, runs the callbacks, flushes
 * requests. Returns the number of events dispatched, or -1 when the
 * connection is gone (every capture has then had its stopped callback).
 */
int zcl_client_dispatch(struct zcl_client *client);
/* Whether the initial round of globals, outputs and windows is in. */
bool zcl_client_ready(const struct zcl_client *client);
/* Whether crop, scale, format and rate options can be served. */
bool zcl_client_has_options(const struct zcl_client *client);
const char *zcl_client_last_error(const struct zcl_client *client);

/* Targets, in the order they appeared; index from 0 to count - 1. */
size_t zcl_client_target_count(const struct zcl_client *client);
struct zcl_target *zcl_client_target_at(struct zcl_client *client, size_t index);
/* The output with that name, or the window with that identifier or app_id. */
struct zcl_target *zcl_client_find_target(struct zcl_client *client, const char *key);
enum zcl_target_type zcl_target_get_type(const struct zcl_target *target);
/* Output name (e.g. "HEADLESS-1") or window identifier; never NULL. */
const char *zcl_target_get_name(const struct zcl_target *target);
/* Output description or window title; app_id is "" for outputs. */
const char *zcl_target_get_title(const struct zcl_target *target);
const char *zcl_target_get_app_id(const struct zcl_target *target);
/* Outputs: the current mode; windows: 0 until a capture reports a size. */
void zcl_target_get_size(const struct zcl_target *target, int32_t *width, int32_t *height);

enum zcl_matrix {
	ZCL_MATRIX_BT601 = 0,
	ZCL_MATRIX_BT709 = 1,
	ZCL_MATRIX_BT2020 = 2,
};

enum zcl_range {
	ZCL_RANGE_LIMITED = 0,
	ZCL_RANGE_FULL = 1,
};

enum zcl_buffers {
	ZCL_BUFFERS_AUTO = 0, /* dma-buf when the compositor offers a device GBM opens */
	ZCL_BUFFERS_DMABUF,
	ZCL_BUFFERS_SHM,
};

/* A format and the modifiers the application can import it with. */
struct zcl_format_modifiers {
	uint32_t format; /* DRM fourcc */
	const uint64_t *modifiers;
	size_t n_modifiers;
};

/* Zero-initialise, then set what matters. */
struct zcl_capture_options {
	bool has_region;
	int32_t x, y, width, height; /* region, in the target's logical coordinates */
	uint32_t out_width, out_height; /* scale to this size; 0: the region's size */
	uint32_t format; /* DRM fourcc; 0: the first the compositor offers */
	enum zcl_matrix matrix; /* for NV12 and P010; 0 is BT.601, set BT.709 for HD */
	enum zcl_range range;
	double max_fps; /* 0: as fast as the target changes */
	bool cursor; /* draw the cursor into the frames */
	enum zcl_buffers buffers;
	/* What the application can import; NULL: whatever the compositor offers. */
	const struct zcl_format_modifiers *importable;
	size_t n_importable;
	int n_buffers; /* buffers in the pool; 0: 4; at least 3 */
};

struct zcl_rect {
	int32_t x, y, width, height;
};

/* What a frame holds. Valid until the frame is released. */
struct zcl_frame_info {
	uint32_t width, height;
	uint32_t format; /* DRM fourcc */
	uint64_t modifier; /* DRM_FORMAT_MOD_INVALID for shm */
	bool dmabuf;
	int n_planes;
	int fds[4]; /* dma-buf planes (may share one fd); shm: the memfd */
	uint32_t offsets[4], strides[4];
	void *data; /* shm: the mapping; dma-buf: NULL */
	const struct zcl_rect *damage; /* changed since the previous frame */
	size_t n_damage;
	struct timespec presented; /* CLOCK_MONOTONIC */
	uint32_t transform; /* wl_output_transform still to apply (0 for upright images) */
	/*
	 * A sync_file that signals when the compositor's writes are done, from
	 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE; -1 when the kernel lacks it or for
	 * shm (the frame is complete when the callback runs).
	 */
	int sync_fd;
	uint64_t sequence; /* frames delivered by this capture before this one */
	/*
	 * Its buffer's index in the capture's pool (zcl_capture_get_buffer), for
	 * applications that hand the pool's buffers on themselves, e.g. as
	 * PipeWire buffers: frame i is always written into buffer i.
	 */
	int buffer_index;
};

struct zcl_capture_listener {
	/* A frame is ready and held by the application until zcl_frame_release(). */
	void (*frame)(void *data, struct zcl_frame *frame);
	/* The size or format changed; the pool is being re-made. May be NULL. */
	void (*constraints)(void *data, uint32_t width, uint32_t height, uint32_t format);
	/*
	 * Every buffer is held by the application: no frame is captured until
	 * one is released. Once per dry spell. May be NULL.
	 */
	void (*pool_dry)(void *data);
	/* The target is gone or the capture was revoked; no frames will come. */
	void (*stopped)(void *data);
	/* The capture cannot go on (error says why); no frames will come. */
	void (*failed)(void *data, enum zcl_error error, const char *why);
};

/*
 * Starts capturing target. options may be NULL (the whole target, its own
 * size, the first format offered). NULL on failure: zcl_client_last_error()
 * says why, error (may be NULL) gets the code. Frames follow dispatches.
 */
struct zcl_capture *zcl_capture_create(struct zcl_client *client, struct zcl_target *target,
	const struct zcl_capture_options *options, const struct zcl_capture_listener *listener,
	void *data, enum zcl_error *error);
/* Stops and frees the capture and its pool. Accepts NULL. */
void zcl_capture_destroy(struct zcl_capture *capture);
/* Frames delivered, and times a frame waited for a free buffer. */
uint64_t zcl_capture_get_frames(const struct zcl_capture *capture);
uint64_t zcl_capture_get_dry_spells(const struct zcl_capture *capture);

/*
 * The current pool (re-made before each constraints callback): how many
 * buffers, and buffer index's planes as a frame in it reports them (no
 * damage, times or sync_fd). A buffer is written only while the
 * application holds no frame of it. false if there is no such buffer.
 */
int zcl_capture_get_buffer_count(const struct zcl_capture *capture);
/*
 * The modifiers the compositor offers for dma-bufs of format in the current
 * constraints (valid until the next constraints callback), 0 when it offers
 * that format in no dma-buf: for applications that negotiate with a
 * consumer of their own (options.importable then narrows the pool).
 */
size_t zcl_capture_get_modifiers(const struct zcl_capture *capture, uint32_t format,
	const uint64_t **modifiers);
/*
 * A test allocation: one dma-buf of the current size and format on the
 * pool's device, with one of modifiers (DRM_FORMAT_MOD_INVALID: the
 * driver's implicit layout), freed at once. true and the modifier the
 * driver chose, or false when none of them can be allocated. For choosing
 * options.importable before re-making a capture for a consumer.
 */
bool zcl_capture_test_modifiers(struct zcl_capture *capture, uint32_t format,
	const uint64_t *modifiers, size_t n_modifiers, uint64_t *modifier);
/* The DRM device the dma-bufs were allocated on (owned by the capture); -1: none. */
int zcl_capture_get_device_fd(const struct zcl_capture *capture);
bool zcl_capture_get_buffer(const struct zcl_capture *capture, int index,
	struct zcl_frame_info *info);

const struct zcl_frame_info *zcl_frame_get_info(const struct zcl_frame *frame);
/* Gives the buffer back to the pool. The frame must not be used after. */
void zcl_frame_release(struct zcl_frame *frame);

/*
 * The pointer's cursor over a target, for applications that draw it
 * themselves (a capture without options.cursor, plus this): where it is,
 * and its image. Positions are in the target's own image (its buffer
 * pixels, upright, before any region or scaling of a capture).
 */
struct zcl_cursor_info {
	bool inside; /* the cursor image overlaps the target */
	int32_t x, y; /* the hotspot (the pointer's position); may lie outside */
	int32_t hotspot_x, hotspot_y; /* the hotspot within the bitmap */
	uint32_t width, height, stride; /* the bitmap; 0 until the first image */
	const void *pixels; /* DRM_FORMAT_ARGB8888, premultiplied alpha; NULL: none yet */
	uint64_t image_serial; /* changes with every new bitmap */
};

struct zcl_cursor_listener {
	/* Entered, left, moved, or a new image. info is valid until the next call. */
	void (*changed)(void *data, const struct zcl_cursor_info *info);
	/* The target is gone, or the cursor cannot be followed; nothing more comes. May be NULL. */
	void (*stopped)(void *data);
};

/*
 * Follows the cursor of the compositor's first seat's pointer over target
 * (ext-image-copy-capture-v1 cursor sessions). NULL when the compositor
 * has no cursor sessions or no pointer: zcl_client_last_error() says why.
 */
struct zcl_cursor *zcl_cursor_create(struct zcl_client *client, struct zcl_target *target,
	const struct zcl_cursor_listener *listener, void *data, enum zcl_error *error);
/* Accepts NULL. */
void zcl_cursor_destroy(struct zcl_cursor *cursor);

const char *zcl_error_str(enum zcl_error error);

#ifdef __cplusplus
}
#endif

#endif
