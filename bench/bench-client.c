/*
 * zerocap-bench-client: the capture side of bench/run.
 *
 * Opens N capture sessions on the first output, each on its own Wayland
 * connection (N recorders), and captures continuously the way wf-recorder
 * and wayvnc do: zwlr_screencopy_manager_v1.capture_output, then
 * copy_with_damage into one buffer per session that is re-used for every
 * frame (shm, or a GBM dma-buf through zwp_linux_dmabuf_v1). With
 * --protocol ext it does the same through ext-image-copy-capture-v1 (one
 * session, one re-used buffer, a new frame after each ready), against
 * whichever implementation serves it (zerocap, or wlroots 0.19+'s own).
 *
 * For every ready frame it records, on CLOCK_MONOTONIC: when the event
 * arrived, the presentation time the compositor put in it and the damage it
 * reported. --verify-writes fills the buffer with a canary before every
 * copy and counts the pixels the compositor changed (shm only; costs client
 * CPU, so it is for checking the bytes-written accounting, not for timing).
 *
 * --check-ready (dma-buf) asks whether a frame is final when ready arrives:
 * before every copy it fills the buffer with the canary through a GBM
 * mapping; right at ready, with no waiting and no dma-buf sync, it counts
 * the pixels inside the reported damage that still hold the canary (stale),
 * then maps again every millisecond until none is left, or 5 s passed (what
 * is left then was never written). That stalls the client, so such runs
 * are checks, not timings.
 *
 * Output (stdout or -o FILE), one line each:
 *   window START_NS END_NS           the measured window
 *   size W H                         buffer size
 *   frame SESSION RECV_NS PRESENTED_NS DAMAGE_PX CHANGED_PX
 *   failed SESSION RECV_NS
 *   check SESSION RECV_NS DAMAGE_PX STALE_PX SETTLE_NS UNWRITTEN_PX
 *                                    --check-ready: per ready frame
 *   session SESSION FRAMES FAILED    frames ready inside the window
 * The warm-up starts once every session has had one frame ready (at most
 * --start-timeout seconds); frames before the window are not written.
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"

#define MAX_SESSIONS 64
#define CANARY 0x5a5a5a5au
#define MAX_CONSECUTIVE_FAILURES 50
#define MAX_DAMAGE_RECTS 4096
#define CHECK_SETTLE_NS 5000000000ull

enum buffer_kind { BUFFER_SHM, BUFFER_DMABUF };
enum protocol { PROTO_SCREENCOPY, PROTO_EXT };

struct options {
	int sessions;
	double warmup_s, duration_s, start_timeout_s;
	enum buffer_kind buffer;
	enum protocol protocol;
	bool verify_writes;
	bool check_ready;
	const char *drm_device;
	const char *out_path;
	const char *toplevel; /* --toplevel APP_ID: capture that window (ext) */
};

struct record {
	int session;
	uint64_t recv_ns, presented_ns, damage_px, changed_px;
	bool failed;
	/* --check-ready */
	bool checked;
	uint64_t stale_px, settle_ns, unwritten_px;
};

struct rect {
	int32_t x, y, width, height;
};

struct session {
	int index;
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct wl_output *output;
	struct zwlr_screencopy_manager_v1 *screencopy;
	struct zwp_linux_dmabuf_v1 *linux_dmabuf;
	struct ext_output_image_capture_source_manager_v1 *source_manager;
	struct ext_foreign_toplevel_image_capture_source_manager_v1 *toplevel_source_manager;
	struct ext_foreign_toplevel_list_v1 *toplevel_list;
	struct ext_foreign_toplevel_handle_v1 *toplevel; /* the --toplevel window, once done */
	struct ext_foreign_toplevel_handle_v1 *pending_toplevel; /* its app_id matched */
	struct ext_image_copy_capture_manager_v1 *copy_manager;

	/* zwlr_screencopy: the frame in flight and what it announced */
	struct zwlr_screencopy_frame_v1 *frame;
	bool got_shm, got_dmabuf;
	uint32_t shm_format, dmabuf_format;

	/* ext-image-copy-capture */
	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_session_v1 *ext_session;
	struct ext_image_copy_capture_frame_v1 *ext_frame;
	bool ext_has_xrgb, ext_has_argb;
	uint64_t ext_presented_ns;

	uint32_t width, height, stride;
	struct wl_buffer *buffer;
	void *data; /* shm mapping */
	size_t size;
	struct gbm_bo *bo;

	uint64_t frame_damage_px;
	struct rect damage[MAX_DAMAGE_RECTS];
	int n_damage; /* > MAX_DAMAGE_RECTS: too many to check */
	bool check_whole; /* check the whole buffer, not the damage */
	int consecutive_failures;
	uint64_t frames_total, failed_total;
	uint64_t frames_in_window, failed_in_window;
};

static struct options opts = {
	.sessions = 1,
	.warmup_s = 1.0,
	.duration_s = 5.0,
	.start_timeout_s = 60.0,
	.buffer = BUFFER_SHM,
	.protocol = PROTO_SCREENCOPY,
	.drm_device = "/dev/dri/renderD128",
};
static struct session sessions[MAX_SESSIONS];
static struct record *records;
static size_t n_records, cap_records;
/* Set once every session has had its first frame. */
static uint64_t window_start_ns = UINT64_MAX, window_end_ns = UINT64_MAX;
static struct gbm_device *gbm;
static int drm_fd = -1;

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg) {
	fprintf(stderr, "zerocap-bench-client: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void add_record(const struct record *r) {
	if (r->failed) {
		sessions[r->session].failed_total++;
	} else {
		sessions[r->session].frames_total++;
	}
	if (r->recv_ns < window_start_ns || r->recv_ns >= window_end_ns) {
		return;
	}
	if (n_records == cap_records) {
		cap_records = cap_records ? cap_records * 2 : 4096;
		records = realloc(records, cap_records * sizeof(*records));
		if (records == NULL) {
			die("%s", "out of memory");
		}
	}
	records[n_records++] = *r;
	if (r->failed) {
		sessions[r->session].failed_in_window++;
	} else {
		sessions[r->session].frames_in_window++;
	}
}

/* ---- buffers ---- */

static void create_shm_buffer(struct session *s, uint32_t format) {
	s->size = (size_t)s->stride * s->height;
	int fd = memfd_create("zerocap-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)s->size) != 0) {
		die("%s", "cannot create a shm buffer");
	}
	s->data = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->data == MAP_FAILED) {
		die("%s", "mmap failed");
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(s->shm, fd, (int32_t)s->size);
	s->buffer = wl_shm_pool_create_buffer(pool, 0, (int32_t)s->width, (int32_t)s->height,
		(int32_t)s->stride, format);
	wl_shm_pool_destroy(pool);
	close(fd);
}

static void create_dmabuf_buffer(struct session *s, uint32_t format) {
	if (s->linux_dmabuf == NULL) {
		die("%s", "the compositor has no zwp_linux_dmabuf_v1");
	}
	if (gbm == NULL) {
		drm_fd = open(opts.drm_device, O_RDWR | O_CLOEXEC);
		if (drm_fd < 0) {
			die("cannot open %s", opts.drm_device);
		}
		gbm = gbm_create_device(drm_fd);
		if (gbm == NULL) {
			die("%s", "gbm_create_device failed");
		}
	}
	s->bo = gbm_bo_create(gbm, s->width, s->height, format,
		GBM_BO_USE_RENDERING | GBM_BO_USE_LINEAR);
	if (s->bo == NULL) {
		die("%s", "gbm_bo_create failed");
	}
	uint64_t modifier = gbm_bo_get_modifier(s->bo);
	struct zwp_linux_buffer_params_v1 *params =
		zwp_linux_dmabuf_v1_create_params(s->linux_dmabuf);
	int planes = gbm_bo_get_plane_count(s->bo);
	for (int i = 0; i < planes; i++) {
		int fd = gbm_bo_get_fd_for_plane(s->bo, i);
		if (fd < 0) {
			die("%s", "gbm_bo_get_fd_for_plane failed");
		}
		zwp_linux_buffer_params_v1_add(params, fd, (uint32_t)i,
			gbm_bo_get_offset(s->bo, i), gbm_bo_get_stride_for_plane(s->bo, i),
			(uint32_t)(modifier >> 32), (uint32_t)(modifier & 0xffffffff));
		close(fd);
	}
	s->buffer = zwp_linux_buffer_params_v1_create_immed(params, (int32_t)s->width,
		(int32_t)s->height, format, 0);
	zwp_linux_buffer_params_v1_destroy(params);
}

static void fill_canary(struct session *s) {
	if (opts.verify_writes && s->data != NULL) {
		uint32_t *p = s->data;
		for (size_t i = 0; i < s->size / 4; i++) {
			p[i] = CANARY;
		}
	}
	if (opts.check_ready && s->bo != NULL) {
		uint32_t stride = 0;
		void *map_data = NULL;
		uint8_t *p = gbm_bo_map(s->bo, 0, 0, s->width, s->height, GBM_BO_TRANSFER_WRITE,
			&stride, &map_data);
		if (p == NULL) {
			die("%s", "gbm_bo_map failed");
		}
		for (uint32_t y = 0; y < s->height; y++) {
			uint32_t *row = (uint32_t *)(p + (size_t)y * stride);
			for (uint32_t x = 0; x < s->width; x++) {
				row[x] = CANARY;
			}
		}
		gbm_bo_unmap(s->bo, map_data);
	}
}

static void add_damage(struct session *s, int32_t x, int32_t y, int32_t width, int32_t height) {
	s->frame_damage_px += (uint64_t)width * (uint64_t)height;
	if (s->n_damage < MAX_DAMAGE_RECTS) {
		s->damage[s->n_damage] = (struct rect){x, y, width, height};
	}
	s->n_damage++;
}

/* Canary pixels inside the reported damage (or the whole buffer). */
static uint64_t count_stale(struct session *s) {
	uint32_t stride = 0;
	void *map_data = NULL;
	const uint8_t *p = gbm_bo_map(s->bo, 0, 0, s->width, s->height, GBM_BO_TRANSFER_READ,
		&stride, &map_data);
	if (p == NULL) {
		die("%s", "gbm_bo_map failed");
	}
	struct rect all = {0, 0, (int32_t)s->width, (int32_t)s->height};
	int n = s->check_whole ? 1 : s->n_damage;
	const struct rect *rects = s->check_whole ? &all : s->damage;
	uint64_t stale = 0;
	for (int i = 0; i < n; i++) {
		const struct rect *r = &rects[i];
		int32_t x1 = r->x < 0 ? 0 : r->x, y1 = r->y < 0 ? 0 : r->y;
		int32_t x2 = r->x + r->width, y2 = r->y + r->height;
		x2 = x2 > (int32_t)s->width ? (int32_t)s->width : x2;
		y2 = y2 > (int32_t)s->height ? (int32_t)s->height : y2;
		for (int32_t y = y1; y < y2; y++) {
			const uint32_t *row = (const uint32_t *)(p + (size_t)y * stride);
			for (int32_t x = x1; x < x2; x++) {
				stale += row[x] == CANARY;
			}
		}
	}
	gbm_bo_unmap(s->bo, map_data);
	return stale;
}

/* Right at ready: stale pixels, then how long until they were written. */
static void check_ready(struct session *s, struct record *r) {
	if (!opts.check_ready || s->bo == NULL || s->n_damage > MAX_DAMAGE_RECTS) {
		return;
	}
	r->checked = true;
	r->stale_px = count_stale(s);
	uint64_t left = r->stale_px;
	while (left > 0 && now_ns() - r->recv_ns < CHECK_SETTLE_NS) {
		struct timespec ts = {.tv_nsec = 1000000};
		nanosleep(&ts, NULL);
		left = count_stale(s);
		r->settle_ns = now_ns() - r->recv_ns;
	}
	r->unwritten_px = left;
}

static uint64_t count_changed(struct session *s) {
	if (!opts.verify_writes || s->data == NULL) {
		return 0;
	}
	uint64_t changed = 0;
	const uint32_t *p = s->data;
	for (size_t i = 0; i < s->size / 4; i++) {
		changed += p[i] != CANARY;
	}
	return changed;
}

/* ---- zwlr_screencopy_v1 ---- */

static void screencopy_request(struct session *s);

static void frame_handle_buffer(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t format, uint32_t width, uint32_t height, uint32_t stride) {
	struct session *s = data;
	s->got_shm = true;
	s->shm_format = format;
	if (s->buffer == NULL) {
		s->width = width;
		s->height = height;
		s->stride = stride;
	}
}

static void frame_handle_linux_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t format, uint32_t width, uint32_t height) {
	struct session *s = data;
	s->got_dmabuf = true;
	s->dmabuf_format = format;
	if (s->buffer == NULL) {
		s->width = width;
		s->height = height;
	}
}

static void frame_handle_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *frame) {
	struct session *s = data;
	if (s->buffer == NULL) {
		if (opts.buffer == BUFFER_SHM) {
			if (!s->got_shm) {
				die("%s", "no shm buffer offered");
			}
			create_shm_buffer(s, s->shm_format);
		} else {
			if (!s->got_dmabuf) {
				die("%s", "no dma-buf offered (is the renderer GLES2?)");
			}
			create_dmabuf_buffer(s, s->dmabuf_format);
		}
	}
	s->frame_damage_px = 0;
	s->n_damage = 0;
	fill_canary(s);
	zwlr_screencopy_frame_v1_copy_with_damage(frame, s->buffer);
}

static void frame_handle_flags(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t flags) {
}

static void frame_handle_damage(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t x, uint32_t y, uint32_t width, uint32_t height) {
	struct session *s = data;
	add_damage(s, (int32_t)x, (int32_t)y, (int32_t)width, (int32_t)height);
}

static void frame_handle_ready(void *data, struct zwlr_screencopy_frame_v1 *frame,
		uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec) {
	struct session *s = data;
	uint64_t recv = now_ns();
	uint64_t sec = ((uint64_t)tv_sec_hi << 32) | tv_sec_lo;
	struct record r = {
		.session = s->index,
		.recv_ns = recv,
		.presented_ns = sec * 1000000000u + tv_nsec,
		.damage_px = s->frame_damage_px,
		.changed_px = count_changed(s),
	};
	/*
	 * copy_with_damage writes the whole buffer: damage events say what
	 * changed, not what was written. Check all of it.
	 */
	s->check_whole = true;
	check_ready(s, &r);
	add_record(&r);
	s->consecutive_failures = 0;
	zwlr_screencopy_frame_v1_destroy(frame);
	s->frame = NULL;
	screencopy_request(s);
}

static void frame_handle_failed(void *data, struct zwlr_screencopy_frame_v1 *frame) {
	struct session *s = data;
	struct record r = {.session = s->index, .recv_ns = now_ns(), .failed = true};
	add_record(&r);
	zwlr_screencopy_frame_v1_destroy(frame);
	s->frame = NULL;
	if (++s->consecutive_failures >= MAX_CONSECUTIVE_FAILURES) {
		die("%s", "too many failed frames in a row");
	}
	screencopy_request(s);
}

static const struct zwlr_screencopy_frame_v1_listener frame_listener = {
	.buffer = frame_handle_buffer,
	.flags = frame_handle_flags,
	.ready = frame_handle_ready,
	.failed = frame_handle_failed,
	.damage = frame_handle_damage,
	.linux_dmabuf = frame_handle_linux_dmabuf,
	.buffer_done = frame_handle_buffer_done,
};

static void screencopy_request(struct session *s) {
	s->got_shm = s->got_dmabuf = false;
	s->frame = zwlr_screencopy_manager_v1_capture_output(s->screencopy, 0, s->output);
	zwlr_screencopy_frame_v1_add_listener(s->frame, &frame_listener, s);
}

/* ---- ext-image-copy-capture-v1 ---- */

static void ext_request(struct session *s);

static void ext_frame_handle_transform(void *data,
		struct ext_image_copy_capture_frame_v1 *frame, uint32_t transform) {
}

static void ext_frame_handle_damage(void *data, struct ext_image_copy_capture_frame_v1 *frame,
		int32_t x, int32_t y, int32_t width, int32_t height) {
	struct session *s = data;
	add_damage(s, x, y, width, height);
}

static void ext_frame_handle_presentation_time(void *data,
		struct ext_image_copy_capture_frame_v1 *frame, uint32_t tv_sec_hi, uint32_t tv_sec_lo,
		uint32_t tv_nsec) {
	struct session *s = data;
	uint64_t sec = ((uint64_t)tv_sec_hi << 32) | tv_sec_lo;
	s->ext_presented_ns = sec * 1000000000u + tv_nsec;
}

static void ext_frame_handle_ready(void *data, struct ext_image_copy_capture_frame_v1 *frame) {
	struct session *s = data;
	struct record r = {
		.session = s->index,
		.recv_ns = now_ns(),
		.presented_ns = s->ext_presented_ns,
		.damage_px = s->frame_damage_px,
		.changed_px = count_changed(s),
	};
	check_ready(s, &r);
	add_record(&r);
	s->consecutive_failures = 0;
	ext_image_copy_capture_frame_v1_destroy(frame);
	s->ext_frame = NULL;
	ext_request(s);
}

static void ext_frame_handle_failed(void *data, struct ext_image_copy_capture_frame_v1 *frame,
		uint32_t reason) {
	struct session *s = data;
	struct record r = {.session = s->index, .recv_ns = now_ns(), .failed = true};
	add_record(&r);
	ext_image_copy_capture_frame_v1_destroy(frame);
	s->ext_frame = NULL;
	if (reason == EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED) {
		die("%s", "the capture session stopped");
	}
	if (++s->consecutive_failures >= MAX_CONSECUTIVE_FAILURES) {
		die("%s", "too many failed frames in a row");
	}
	/* buffer_constraints: new constraints follow; the buffer is re-made on done. */
	if (reason != EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS) {
		ext_request(s);
	}
}

static const struct ext_image_copy_capture_frame_v1_listener ext_frame_listener = {
	.transform = ext_frame_handle_transform,
	.damage = ext_frame_handle_damage,
	.presentation_time = ext_frame_handle_presentation_time,
	.ready = ext_frame_handle_ready,
	.failed = ext_frame_handle_failed,
};

static void ext_request(struct session *s) {
	s->frame_damage_px = 0;
	s->n_damage = 0;
	s->ext_presented_ns = 0;
	fill_canary(s);
	s->ext_frame = ext_image_copy_capture_session_v1_create_frame(s->ext_session);
	ext_image_copy_capture_frame_v1_add_listener(s->ext_frame, &ext_frame_listener, s);
	ext_image_copy_capture_frame_v1_attach_buffer(s->ext_frame, s->buffer);
	ext_image_copy_capture_frame_v1_capture(s->ext_frame);
}

static void ext_session_handle_buffer_size(void *data,
		struct ext_image_copy_capture_session_v1 *session, uint32_t width, uint32_t height) {
	struct session *s = data;
	s->width = width;
	s->height = height;
	s->stride = width * 4;
}

static void ext_session_handle_shm_format(void *data,
		struct ext_image_copy_capture_session_v1 *session, uint32_t format) {
	struct session *s = data;
	s->ext_has_xrgb |= format == WL_SHM_FORMAT_XRGB8888;
	s->ext_has_argb |= format == WL_SHM_FORMAT_ARGB8888;
}

static void ext_session_handle_dmabuf_device(void *data,
		struct ext_image_copy_capture_session_v1 *session, struct wl_array *device) {
}

static void ext_session_handle_dmabuf_format(void *data,
		struct ext_image_copy_capture_session_v1 *session, uint32_t format,
		struct wl_array *modifiers) {
}

static void destroy_buffer(struct session *s) {
	if (s->buffer != NULL) {
		wl_buffer_destroy(s->buffer);
		s->buffer = NULL;
	}
	if (s->data != NULL) {
		munmap(s->data, s->size);
		s->data = NULL;
	}
	if (s->bo != NULL) {
		gbm_bo_destroy(s->bo);
		s->bo = NULL;
	}
}

static void ext_session_handle_done(void *data,
		struct ext_image_copy_capture_session_v1 *session) {
	struct session *s = data;
	if (s->ext_frame != NULL) {
		return;
	}
	destroy_buffer(s);
	if (opts.buffer == BUFFER_SHM) {
		create_shm_buffer(s, WL_SHM_FORMAT_XRGB8888);
	} else {
		create_dmabuf_buffer(s, DRM_FORMAT_XRGB8888);
	}
	ext_request(s);
}

static void ext_session_handle_stopped(void *data,
		struct ext_image_copy_capture_session_v1 *session) {
	die("%s", "the capture session stopped");
}

static const struct ext_image_copy_capture_session_v1_listener ext_session_listener = {
	.buffer_size = ext_session_handle_buffer_size,
	.shm_format = ext_session_handle_shm_format,
	.dmabuf_device = ext_session_handle_dmabuf_device,
	.dmabuf_format = ext_session_handle_dmabuf_format,
	.done = ext_session_handle_done,
	.stopped = ext_session_handle_stopped,
};

/* ---- setup ---- */

/* The --toplevel window: the first handle whose app_id matches. */
static void toplevel_handle_closed(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
}

static void toplevel_handle_done(void *data, struct ext_foreign_toplevel_handle_v1 *handle) {
	struct session *s = data;
	if (s->toplevel == NULL && s->pending_toplevel == handle) {
		s->toplevel = handle;
	}
}

static void toplevel_handle_title(void *data, struct ext_foreign_toplevel_handle_v1 *handle,
		const char *title) {
}

static void toplevel_handle_app_id(void *data, struct ext_foreign_toplevel_handle_v1 *handle,
		const char *app_id) {
	struct session *s = data;
	if (s->pending_toplevel == NULL && strcmp(app_id, opts.toplevel) == 0) {
		s->pending_toplevel = handle;
	}
}

static void toplevel_handle_identifier(void *data,
		struct ext_foreign_toplevel_handle_v1 *handle, const char *identifier) {
}

static const struct ext_foreign_toplevel_handle_v1_listener toplevel_handle_listener = {
	.closed = toplevel_handle_closed,
	.done = toplevel_handle_done,
	.title = toplevel_handle_title,
	.app_id = toplevel_handle_app_id,
	.identifier = toplevel_handle_identifier,
};

static void toplevel_list_toplevel(void *data, struct ext_foreign_toplevel_list_v1 *list,
		struct ext_foreign_toplevel_handle_v1 *handle) {
	ext_foreign_toplevel_handle_v1_add_listener(handle, &toplevel_handle_listener, data);
}

static void toplevel_list_finished(void *data, struct ext_foreign_toplevel_list_v1 *list) {
}

static const struct ext_foreign_toplevel_list_v1_listener toplevel_list_listener = {
	.toplevel = toplevel_list_toplevel,
	.finished = toplevel_list_finished,
};

static void registry_handle_global(void *data, struct wl_registry *registry, uint32_t name,
		const char *interface, uint32_t version) {
	struct session *s = data;
	if (strcmp(interface, wl_shm_interface.name) == 0) {
		s->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && s->output == NULL) {
		s->output = wl_registry_bind(registry, name, &wl_output_interface, 1);
	} else if (strcmp(interface, zwlr_screencopy_manager_v1_interface.name) == 0) {
		if (version < 3) {
			die("%s", "zwlr_screencopy_manager_v1 older than version 3");
		}
		s->screencopy = wl_registry_bind(registry, name,
			&zwlr_screencopy_manager_v1_interface, 3);
	} else if (strcmp(interface, zwp_linux_dmabuf_v1_interface.name) == 0) {
		s->linux_dmabuf = wl_registry_bind(registry, name, &zwp_linux_dmabuf_v1_interface,
			version < 3 ? version : 3);
	} else if (strcmp(interface,
			ext_output_image_capture_source_manager_v1_interface.name) == 0) {
		s->source_manager = wl_registry_bind(registry, name,
			&ext_output_image_capture_source_manager_v1_interface, 1);
	} else if (strcmp(interface,
			ext_foreign_toplevel_image_capture_source_manager_v1_interface.name) == 0) {
		s->toplevel_source_manager = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_image_capture_source_manager_v1_interface, 1);
	} else if (strcmp(interface, ext_foreign_toplevel_list_v1_interface.name) == 0 &&
			opts.toplevel != NULL) {
		s->toplevel_list = wl_registry_bind(registry, name,
			&ext_foreign_toplevel_list_v1_interface, 1);
		ext_foreign_toplevel_list_v1_add_listener(s->toplevel_list, &toplevel_list_listener, s);
	} else if (strcmp(interface, ext_image_copy_capture_manager_v1_interface.name) == 0) {
		s->copy_manager = wl_registry_bind(registry, name,
			&ext_image_copy_capture_manager_v1_interface, 1);
	}
}

static void registry_handle_global_remove(void *data, struct wl_registry *registry,
		uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_handle_global,
	.global_remove = registry_handle_global_remove,
};

static void session_connect(struct session *s) {
	s->display = wl_display_connect(NULL);
	if (s->display == NULL) {
		die("%s", "cannot connect to the Wayland display");
	}
	s->registry = wl_display_get_registry(s->display);
	wl_registry_add_listener(s->registry, &registry_listener, s);
	if (wl_display_roundtrip(s->display) < 0) {
		die("%s", "roundtrip failed");
	}
	if (s->output == NULL || s->shm == NULL) {
		die("%s", "no wl_output or wl_shm");
	}
	if (opts.protocol == PROTO_SCREENCOPY) {
		if (s->screencopy == NULL) {
			die("%s", "no zwlr_screencopy_manager_v1 (--screencopy=none?)");
		}
		screencopy_request(s);
	} else {
		if (s->source_manager == NULL || s->copy_manager == NULL) {
			die("%s", "no ext-image-copy-capture (zerocap, or wlroots 0.19+ with "
				"--capture=wlroots, serve it)");
		}
		if (opts.toplevel != NULL) {
			/* The window may map after we connect: wait for its handle. */
			for (int i = 0; i < 500 && s->toplevel == NULL; i++) {
				if (s->toplevel_list == NULL || s->toplevel_source_manager == NULL ||
						wl_display_roundtrip(s->display) < 0) {
					die("%s", "no ext-foreign-toplevel-list or toplevel source manager");
				}
				if (s->toplevel == NULL) {
					usleep(10000);
				}
			}
			if (s->toplevel == NULL) {
				die("no window with app_id %s", opts.toplevel);
			}
			s->source = ext_foreign_toplevel_image_capture_source_manager_v1_create_source(
				s->toplevel_source_manager, s->toplevel);
		} else {
			s->source = ext_output_image_capture_source_manager_v1_create_source(
				s->source_manager, s->output);
		}
		s->ext_session = ext_image_copy_capture_manager_v1_create_session(s->copy_manager,
			s->source, 0);
		ext_image_copy_capture_session_v1_add_listener(s->ext_session,
			&ext_session_listener, s);
	}
	wl_display_flush(s->display);
}

static void usage(FILE *f) {
	fprintf(f,
		"Usage: zerocap-bench-client [options]\n"
		"  -n, --sessions N        concurrent sessions, one connection each (1; 0:\n"
		"                          none, only the window is timed)\n"
		"  -w, --warmup S          seconds between every session's first frame and\n"
		"                          the measured window (1)\n"
		"  -t, --duration S        length of the measured window in seconds (5)\n"
		"  -b, --buffer shm|dmabuf client buffers (shm)\n"
		"  -p, --protocol screencopy|ext\n"
		"                          zwlr_screencopy copy_with_damage (default) or\n"
		"                          ext-image-copy-capture-v1\n"
		"      --verify-writes     canary-fill shm buffers, count changed pixels\n"
		"      --check-ready       dma-buf: canary-fill, count canary pixels in the\n"
		"                          damage right at ready and until they are gone\n"
		"      --drm-device PATH   GBM device for dma-bufs (/dev/dri/renderD128)\n"
		"      --start-timeout S   give up when a session has no frame after S (60)\n"
		"      --toplevel APP_ID   capture that window instead of the output (ext)\n"
		"  -o, --output FILE       records to FILE instead of stdout\n"
		"  -h, --help\n");
}

static void parse_options(int argc, char *argv[]) {
	enum { OPT_VERIFY = 256, OPT_CHECK_READY, OPT_DRM_DEVICE, OPT_START_TIMEOUT, OPT_TOPLEVEL };
	static const struct option long_options[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 't' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "verify-writes", no_argument, NULL, OPT_VERIFY },
		{ "check-ready", no_argument, NULL, OPT_CHECK_READY },
		{ "drm-device", required_argument, NULL, OPT_DRM_DEVICE },
		{ "start-timeout", required_argument, NULL, OPT_START_TIMEOUT },
		{ "toplevel", required_argument, NULL, OPT_TOPLEVEL },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:w:t:b:p:o:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'n':
			opts.sessions = atoi(optarg);
			if (opts.sessions < 0 || opts.sessions > MAX_SESSIONS) {
				die("invalid --sessions '%s'", optarg);
			}
			break;
		case 'w':
			opts.warmup_s = atof(optarg);
			break;
		case 't':
			opts.duration_s = atof(optarg);
			if (!(opts.duration_s > 0)) {
				die("invalid --duration '%s'", optarg);
			}
			break;
		case 'b':
			if (strcmp(optarg, "shm") == 0) {
				opts.buffer = BUFFER_SHM;
			} else if (strcmp(optarg, "dmabuf") == 0) {
				opts.buffer = BUFFER_DMABUF;
			} else {
				die("invalid --buffer '%s'", optarg);
			}
			break;
		case 'p':
			if (strcmp(optarg, "screencopy") == 0) {
				opts.protocol = PROTO_SCREENCOPY;
			} else if (strcmp(optarg, "ext") == 0) {
				opts.protocol = PROTO_EXT;
			} else {
				die("invalid --protocol '%s'", optarg);
			}
			break;
		case OPT_VERIFY:
			opts.verify_writes = true;
			break;
		case OPT_CHECK_READY:
			opts.check_ready = true;
			break;
		case OPT_DRM_DEVICE:
			opts.drm_device = optarg;
			break;
		case OPT_START_TIMEOUT:
			opts.start_timeout_s = atof(optarg);
			break;
		case OPT_TOPLEVEL:
			opts.toplevel = optarg;
			break;
		case 'o':
			opts.out_path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (opts.check_ready && opts.buffer != BUFFER_DMABUF) {
		die("%s", "--check-ready goes with --buffer dmabuf");
	}
}

static bool all_started(void) {
	for (int i = 0; i < opts.sessions; i++) {
		if (sessions[i].frames_total == 0) {
			return false;
		}
	}
	return true;
}

/*
 * Reads and dispatches what arrived on every connection, until deadline or,
 * with until_started, until every session has had a frame.
 */
static void run_until(uint64_t deadline, bool until_started) {
	struct pollfd fds[MAX_SESSIONS];
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline || (until_started && all_started())) {
			return;
		}
		for (int i = 0; i < opts.sessions; i++) {
			struct wl_display *d = sessions[i].display;
			while (wl_display_prepare_read(d) != 0) {
				wl_display_dispatch_pending(d);
			}
			if (wl_display_flush(d) < 0 && errno != EAGAIN) {
				die("%s", "connection lost");
			}
			fds[i] = (struct pollfd){.fd = wl_display_get_fd(d), .events = POLLIN};
		}
		int timeout_ms = (int)((deadline - now) / 1000000) + 1;
		int n = poll(fds, (nfds_t)opts.sessions, timeout_ms);
		if (n < 0 && errno != EINTR) {
			die("%s", "poll failed");
		}
		for (int i = 0; i < opts.sessions; i++) {
			struct wl_display *d = sessions[i].display;
			if (n > 0 && (fds[i].revents & (POLLIN | POLLERR | POLLHUP))) {
				if (wl_display_read_events(d) < 0) {
					die("%s", "connection lost");
				}
			} else {
				wl_display_cancel_read(d);
			}
			if (wl_display_dispatch_pending(d) < 0) {
				die("%s", "protocol error");
			}
		}
	}
}

int main(int argc, char *argv[]) {
	parse_options(argc, argv);
	for (int i = 0; i < opts.sessions; i++) {
		sessions[i].index = i;
		session_connect(&sessions[i]);
	}
	run_until(now_ns() + (uint64_t)(opts.start_timeout_s * 1e9), true);
	if (!all_started()) {
		for (int i = 0; i < opts.sessions; i++) {
			fprintf(stderr, "zerocap-bench-client: session %d: %llu frames, %llu failed, "
				"buffer %ux%u\n", i, (unsigned long long)sessions[i].frames_total,
				(unsigned long long)sessions[i].failed_total, sessions[i].width,
				sessions[i].height);
		}
		die("%s", "not every session got a frame in time (--start-timeout)");
	}
	window_start_ns = now_ns() + (uint64_t)(opts.warmup_s * 1e9);
	window_end_ns = window_start_ns + (uint64_t)(opts.duration_s * 1e9);
	run_until(window_end_ns, false);

	FILE *out = stdout;
	if (opts.out_path != NULL) {
		out = fopen(opts.out_path, "w");
		if (out == NULL) {
			die("cannot write %s", opts.out_path);
		}
	}
	fprintf(out, "window %llu %llu\n", (unsigned long long)window_start_ns,
		(unsigned long long)window_end_ns);
	fprintf(out, "size %u %u\n", sessions[0].width, sessions[0].height);
	for (size_t i = 0; i < n_records; i++) {
		const struct record *r = &records[i];
		if (r->failed) {
			fprintf(out, "failed %d %llu\n", r->session, (unsigned long long)r->recv_ns);
		} else {
			fprintf(out, "frame %d %llu %llu %llu %llu\n", r->session,
				(unsigned long long)r->recv_ns, (unsigned long long)r->presented_ns,
				(unsigned long long)r->damage_px, (unsigned long long)r->changed_px);
		}
		if (r->checked) {
			fprintf(out, "check %d %llu %llu %llu %llu %llu\n", r->session,
				(unsigned long long)r->recv_ns, (unsigned long long)r->damage_px,
				(unsigned long long)r->stale_px, (unsigned long long)r->settle_ns,
				(unsigned long long)r->unwritten_px);
		}
	}
	for (int i = 0; i < opts.sessions; i++) {
		fprintf(out, "session %d %llu %llu\n", i,
			(unsigned long long)sessions[i].frames_in_window,
			(unsigned long long)sessions[i].failed_in_window);
	}
	if (out != stdout) {
		fclose(out);
	}
	/* Sessions end when the connections close. */
	for (int i = 0; i < opts.sessions; i++) {
		destroy_buffer(&sessions[i]);
		wl_display_disconnect(sessions[i].display);
	}
	if (gbm != NULL) {
		gbm_device_destroy(gbm);
		close(drm_fd);
	}
	free(records);
	return 0;
}
