/*
 * libzerocap-client captures: a session on the target's source (derived
 * through zerocap-capture-options-v1 when options ask for it), a pool of
 * buffers allocated to the session's constraints, and one frame in flight.
 *
 * Buffers are free, capturing or held (by the application). A constraints
 * batch replaces the pool: free buffers go at once, held ones when released.
 * Each buffer remembers what changed since it was last written, and asks
 * the compositor to write that (all of it the first time).
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <linux/dma-buf.h>
#include <pixman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drm.h>
#include "ext-foreign-toplevel-list-v1-client-protocol.h"
#include "ext-image-capture-source-v1-client-protocol.h"
#include "ext-image-copy-capture-v1-client-protocol.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "private.h"
#include "zerocap-capture-options-v1-client-protocol.h"

#define MAX_BUFFERS 16
#define MAX_UNKNOWN_FAILURES 8

enum buffer_state {
	BUFFER_FREE,
	BUFFER_CAPTURING,
	BUFFER_HELD,
};

struct zcl_frame {
	struct zcl_buffer *buffer;
	struct zcl_frame_info info;
	struct zcl_rect *damage;
	size_t n_damage, cap_damage;
};

struct zcl_buffer {
	struct zcl_capture *capture; /* NULL for an orphan of an old pool */
	enum buffer_state state;
	struct wl_buffer *wl_buffer;
	struct gbm_bo *bo;
	int fds[4];
	int n_planes;
	uint32_t offsets[4], strides[4];
	uint64_t modifier;
	void *data;
	size_t size;
	uint32_t width, height, format;
	pixman_region32_t stale; /* to write on the next capture into it */
	struct zcl_frame frame;
};

struct constraints {
	uint32_t width, height;
	uint32_t *shm;
	size_t n_shm;
	struct zcl_format_modifiers *dmabuf; /* modifiers owned (cast) */
	size_t n_dmabuf;
	bool has_device;
	dev_t device;
};

struct zcl_capture {
	struct zcl_client *client;
	struct zcl_target *target;
	struct wl_list link; /* zcl_client.captures */
	struct zcl_capture_options options;
	struct zcl_format_modifiers *importable;
	const struct zcl_capture_listener *listener;
	void *data;

	struct ext_image_capture_source_v1 *source;
	struct ext_image_copy_capture_session_v1 *session;
	struct constraints pending, current;
	bool have_constraints;

	struct zcl_buffer *buffers[MAX_BUFFERS];
	int n_buffers;
	uint64_t pool_generation;

	struct ext_image_copy_capture_frame_v1 *frame;
	struct zcl_buffer *frame_buffer;
	uint64_t frame_generation;
	struct zcl_frame_info frame_info;
	pixman_region32_t frame_damage;

	int drm_fd;
	struct gbm_device *gbm;
	dev_t gbm_device;
	bool gbm_primary;

	bool image_of_target; /* its size is the target's (not a cursor image's) */
	bool ended; /* stopped or failed was told */
	bool stopping; /* to be told it stopped (stop_captures) */
	bool dry;
	int unknown_failures;
	uint64_t frames, dry_spells;
};

/* Buffers */

static void buffer_destroy(struct zcl_buffer *buffer) {
	if (buffer->wl_buffer != NULL) {
		wl_buffer_destroy(buffer->wl_buffer);
	}
	for (int i = 0; i < buffer->n_planes; i++) {
		if (buffer->fds[i] >= 0) {
			close(buffer->fds[i]);
		}
	}
	if (buffer->frame.info.sync_fd >= 0) {
		close(buffer->frame.info.sync_fd);
	}
	if (buffer->data != NULL) {
		munmap(buffer->data, buffer->size);
	}
	if (buffer->bo != NULL) {
		gbm_bo_destroy(buffer->bo);
	}
	pixman_region32_fini(&buffer->stale);
	free(buffer->frame.damage);
	free(buffer);
}

static struct zcl_buffer *buffer_new(struct zcl_capture *capture, uint32_t width,
		uint32_t height, uint32_t format) {
	struct zcl_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		return NULL;
	}
	buffer->capture = capture;
	buffer->width = width;
	buffer->height = height;
	buffer->format = format;
	buffer->modifier = DRM_FORMAT_MOD_INVALID;
	buffer->frame.buffer = buffer;
	buffer->frame.info.sync_fd = -1;
	for (int i = 0; i < 4; i++) {
		buffer->fds[i] = -1;
	}
	pixman_region32_init_rect(&buffer->stale, 0, 0, width, height);
	return buffer;
}

static bool is_two_plane(uint32_t format) {
	return format == DRM_FORMAT_NV12 || format == DRM_FORMAT_P010;
}

static uint32_t shm_code(uint32_t drm_format) {
	return drm_format == DRM_FORMAT_ARGB8888 ? WL_SHM_FORMAT_ARGB8888 :
		drm_format == DRM_FORMAT_XRGB8888 ? WL_SHM_FORMAT_XRGB8888 : drm_format;
}

static int bytes_per_pixel(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_NV12: return 1;
	case DRM_FORMAT_P010: return 2;
	case DRM_FORMAT_RGB565: case DRM_FORMAT_BGR565: return 2;
	case DRM_FORMAT_XRGB16161616F: case DRM_FORMAT_ARGB16161616F:
	case DRM_FORMAT_XBGR16161616F: case DRM_FORMAT_ABGR16161616F:
	case DRM_FORMAT_XBGR16161616: case DRM_FORMAT_ABGR16161616: return 8;
	default: return 4;
	}
}

static struct zcl_buffer *shm_buffer(struct zcl_capture *capture, uint32_t w, uint32_t h,
		uint32_t format) {
	struct zcl_client *client = capture->client;
	struct zcl_buffer *buffer = buffer_new(capture, w, h, format);
	if (buffer == NULL) {
		return NULL;
	}
	uint32_t stride = w * bytes_per_pixel(format);
	buffer->size = (size_t)stride * h * (is_two_plane(format) ? 3 : 2) / 2;
	int fd = memfd_create("zerocap-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)buffer->size) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		buffer_destroy(buffer);
		return NULL;
	}
	buffer->data = mmap(NULL, buffer->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buffer->data == MAP_FAILED) {
		buffer->data = NULL;
		close(fd);
		buffer_destroy(buffer);
		return NULL;
	}
	buffer->fds[0] = fd;
	buffer->n_planes = 1;
	buffer->strides[0] = stride;
	struct wl_shm_pool *pool = wl_shm_create_pool(client->shm, fd, (int32_t)buffer->size);
	buffer->wl_buffer = wl_shm_pool_create_buffer(pool, 0, (int32_t)w, (int32_t)h,
		(int32_t)stride, shm_code(format));
	wl_shm_pool_destroy(pool);
	return buffer;
}

/*
 * GBM on the advertised device: its render node, or its primary node when
 * primary is set (software drivers such as kms_swrast allocate dumb
 * buffers, which only the primary node hands out).
 */
static bool open_device(struct zcl_capture *capture, dev_t dev, bool primary) {
	if (capture->gbm != NULL && capture->gbm_device == dev &&
			capture->gbm_primary == primary) {
		return true;
	}
	if (capture->gbm != NULL) {
		gbm_device_destroy(capture->gbm);
		close(capture->drm_fd);
		capture->gbm = NULL;
		capture->drm_fd = -1;
	}
	drmDevicePtr device = NULL;
	if (drmGetDeviceFromDevId(dev, 0, &device) != 0) {
		return false;
	}
	const char *path = NULL;
	if (primary) {
		path = device->available_nodes & (1 << DRM_NODE_PRIMARY) ?
			device->nodes[DRM_NODE_PRIMARY] : NULL;
	} else if (device->available_nodes & (1 << DRM_NODE_RENDER)) {
		path = device->nodes[DRM_NODE_RENDER];
	} else if (device->available_nodes & (1 << DRM_NODE_PRIMARY)) {
		path = device->nodes[DRM_NODE_PRIMARY];
	}
	int fd = path != NULL ? open(path, O_RDWR | O_CLOEXEC) : -1;
	drmFreeDevice(&device);
	if (fd < 0) {
		return false;
	}
	capture->gbm = gbm_create_device(fd);
	if (capture->gbm == NULL) {
		close(fd);
		return false;
	}
	capture->drm_fd = fd;
	capture->gbm_device = dev;
	capture->gbm_primary = primary;
	return true;
}

/*
 * A GBM buffer: with the modifiers when there are explicit ones, else the
 * driver's implicit layout. Two-plane YCbCr formats fall back to one
 * one-channel allocation holding both planes, for allocators that have no
 * planar formats (dumb buffers).
 */
static struct gbm_bo *allocate(struct zcl_capture *capture, uint32_t w, uint32_t h,
		uint32_t format, const uint64_t *mods, size_t n_mods, uint64_t *modifier,
		bool *packed) {
	uint64_t explicit[64];
	size_t n = 0;
	bool implicit = false;
	for (size_t i = 0; i < n_mods && n < 64; i++) {
		if (mods[i] == DRM_FORMAT_MOD_INVALID) {
			implicit = true;
		} else {
			explicit[n++] = mods[i];
		}
	}
	*packed = false;
	struct gbm_bo *bo = NULL;
	if (n > 0) {
		bo = gbm_bo_create_with_modifiers2(capture->gbm, w, h, format, explicit,
			(unsigned)n, GBM_BO_USE_RENDERING);
		if (bo != NULL) {
			*modifier = gbm_bo_get_modifier(bo);
			return bo;
		}
	}
	if (implicit) {
		bo = gbm_bo_create(capture->gbm, w, h, format, GBM_BO_USE_RENDERING);
		*modifier = DRM_FORMAT_MOD_INVALID;
	}
	bool linear_ok = implicit;
	for (size_t i = 0; i < n; i++) {
		linear_ok = linear_ok || explicit[i] == DRM_FORMAT_MOD_LINEAR;
	}
	if (bo == NULL && is_two_plane(format) && linear_ok) {
		uint32_t one = format == DRM_FORMAT_P010 ? DRM_FORMAT_R16 : DRM_FORMAT_R8;
		bo = gbm_bo_create(capture->gbm, w, h + h / 2, one,
			GBM_BO_USE_RENDERING | GBM_BO_USE_LINEAR);
		*modifier = implicit ? DRM_FORMAT_MOD_INVALID : DRM_FORMAT_MOD_LINEAR;
		*packed = bo != NULL;
	}
	return bo;
}

static struct zcl_buffer *dmabuf_buffer(struct zcl_capture *capture, uint32_t w, uint32_t h,
		uint32_t format, const uint64_t *mods, size_t n_mods) {
	struct zcl_client *client = capture->client;
	struct zcl_buffer *buffer = buffer_new(capture, w, h, format);
	if (buffer == NULL) {
		return NULL;
	}
	bool packed;
	buffer->bo = allocate(capture, w, h, format, mods, n_mods, &buffer->modifier, &packed);
	if (buffer->bo == NULL) {
		buffer_destroy(buffer);
		return NULL;
	}
	int planes = gbm_bo_get_plane_count(buffer->bo);
	buffer->n_planes = planes > 4 ? 4 : planes;
	for (int i = 0; i < buffer->n_planes; i++) {
		buffer->fds[i] = gbm_bo_get_fd_for_plane(buffer->bo, i);
		buffer->strides[i] = gbm_bo_get_stride_for_plane(buffer->bo, i);
		buffer->offsets[i] = gbm_bo_get_offset(buffer->bo, i);
	}
	if (packed) {
		buffer->n_planes = 2;
		buffer->fds[1] = dup(buffer->fds[0]);
		buffer->strides[1] = buffer->strides[0];
		buffer->offsets[1] = buffer->offsets[0] + buffer->strides[0] * h;
	}
	struct zwp_linux_buffer_params_v1 *params =
		zwp_linux_dmabuf_v1_create_params(client->dmabuf);
	for (int i = 0; i < buffer->n_planes; i++) {
		if (buffer->fds[i] < 0) {
			zwp_linux_buffer_params_v1_destroy(params);
			buffer_destroy(buffer);
			return NULL;
		}
		zwp_linux_buffer_params_v1_add(params, buffer->fds[i], (uint32_t)i,
			buffer->offsets[i], buffer->strides[i], (uint32_t)(buffer->modifier >> 32),
			(uint32_t)(buffer->modifier & 0xffffffff));
	}
	buffer->wl_buffer = zwp_linux_buffer_params_v1_create_immed(params, (int32_t)w,
		(int32_t)h, format, 0);
	zwp_linux_buffer_params_v1_destroy(params);
	return buffer;
}

/* Constraints and the pool */

static void constraints_clear(struct constraints *c) {
	free(c->shm);
	for (size_t i = 0; i < c->n_dmabuf; i++) {
		free((uint64_t *)c->dmabuf[i].modifiers);
	}
	free(c->dmabuf);
	memset(c, 0, sizeof(*c));
}

static const struct zcl_format_modifiers *importable_find(const struct zcl_capture *capture,
		uint32_t format) {
	for (size_t i = 0; i < capture->options.n_importable; i++) {
		if (capture->importable[i].format == format) {
			return &capture->importable[i];
		}
	}
	return NULL;
}

static bool wanted(const struct zcl_capture *capture, uint32_t format) {
	if (capture->options.format != 0) {
		return format == capture->options.format;
	}
	return capture->importable == NULL || importable_find(capture, format) != NULL;
}

static void capture_fail(struct zcl_capture *capture, enum zcl_error error, const char *why);
static void capture_next(struct zcl_capture *capture);

/* Drops the pool: free buffers now, held ones when released. */
static void pool_drop(struct zcl_capture *capture) {
	for (int i = 0; i < capture->n_buffers; i++) {
		struct zcl_buffer *buffer = capture->buffers[i];
		if (buffer->state == BUFFER_FREE) {
			buffer_destroy(buffer);
		} else {
			buffer->capture = NULL; /* orphan: goes when released or written */
		}
	}
	capture->n_buffers = 0;
}

static bool pool_make(struct zcl_capture *capture) {
	const struct constraints *c = &capture->current;
	struct zcl_client *client = capture->client;
	bool dmabuf = capture->options.buffers != ZCL_BUFFERS_SHM && c->has_device &&
		client->dmabuf != NULL && open_device(capture, c->device, false);
	uint32_t format = 0;
	const uint64_t *mods = NULL;
	size_t n_mods = 0;
	uint64_t common[64];
	for (size_t i = 0; dmabuf && format == 0 && i < c->n_dmabuf; i++) {
		const struct zcl_format_modifiers *f = &c->dmabuf[i];
		if (!wanted(capture, f->format)) {
			continue;
		}
		const struct zcl_format_modifiers *imp = importable_find(capture, f->format);
		n_mods = 0;
		for (size_t j = 0; j < f->n_modifiers && n_mods < 64; j++) {
			bool ok = imp == NULL;
			for (size_t k = 0; imp != NULL && k < imp->n_modifiers; k++) {
				ok = ok || imp->modifiers[k] == f->modifiers[j];
			}
			if (ok) {
				common[n_mods++] = f->modifiers[j];
			}
		}
		if (n_mods > 0) {
			format = f->format;
			mods = common;
		}
	}
	if (format == 0 && capture->options.buffers != ZCL_BUFFERS_DMABUF && client->shm != NULL) {
		dmabuf = false;
		for (size_t i = 0; format == 0 && i < c->n_shm; i++) {
			if (wanted(capture, c->shm[i])) {
				format = c->shm[i];
			}
		}
	}
	if (format == 0) {
		capture_fail(capture, ZCL_ERROR_NO_FORMAT, "the compositor offers no format and "
			"buffer type the capture can use");
		return false;
	}
	int n = capture->options.n_buffers;
	for (int i = 0; i < n; i++) {
		struct zcl_buffer *buffer = dmabuf ?
			dmabuf_buffer(capture, c->width, c->height, format, mods, n_mods) :
			shm_buffer(capture, c->width, c->height, format);
		if (buffer == NULL && dmabuf && i == 0 && !capture->gbm_primary &&
				open_device(capture, c->device, true)) {
			buffer = dmabuf_buffer(capture, c->width, c->height, format, mods, n_mods);
		}
		if (buffer == NULL) {
			pool_drop(capture);
			capture_fail(capture, ZCL_ERROR_ALLOC, dmabuf ? "GBM could not allocate the "
				"buffers" : "shared memory could not be allocated");
			return false;
		}
		capture->buffers[capture->n_buffers++] = buffer;
	}
	capture->pool_generation++;
	if (capture->listener->constraints != NULL) {
		capture->listener->constraints(capture->data, c->width, c->height, format);
	}
	return true;
}

/* The frame in flight */

static void frame_end(struct zcl_capture *capture) {
	if (capture->frame != NULL) {
		ext_image_copy_capture_frame_v1_destroy(capture->frame);
		capture->frame = NULL;
	}
	capture->frame_buffer = NULL;
	pixman_region32_clear(&capture->frame_damage);
}

static void frame_transform(void *data, struct ext_image_copy_capture_frame_v1 *f,
		uint32_t transform) {
	struct zcl_capture *capture = data;
	capture->frame_info.transform = transform;
}

static void frame_damage(void *data, struct ext_image_copy_capture_frame_v1 *f, int32_t x,
		int32_t y, int32_t w, int32_t h) {
	struct zcl_capture *capture = data;
	pixman_region32_union_rect(&capture->frame_damage, &capture->frame_damage, x, y, w, h);
}

static void frame_presentation_time(void *data, struct ext_image_copy_capture_frame_v1 *f,
		uint32_t sec_hi, uint32_t sec_lo, uint32_t nsec) {
	struct zcl_capture *capture = data;
	capture->frame_info.presented.tv_sec = (time_t)(((uint64_t)sec_hi << 32) | sec_lo);
	capture->frame_info.presented.tv_nsec = nsec;
}

static int export_sync_file(int fd) {
#ifdef DMA_BUF_IOCTL_EXPORT_SYNC_FILE
	struct dma_buf_export_sync_file arg = {.flags = DMA_BUF_SYNC_READ, .fd = -1};
	if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg) == 0) {
		return arg.fd;
	}
#endif
	return -1;
}

/* The buffer's planes and index into info. */
static void describe_buffer(const struct zcl_buffer *buffer, struct zcl_frame_info *info) {
	info->width = buffer->width;
	info->height = buffer->height;
	info->format = buffer->format;
	info->modifier = buffer->modifier;
	info->dmabuf = buffer->bo != NULL;
	info->n_planes = buffer->n_planes;
	memcpy(info->fds, buffer->fds, sizeof(info->fds));
	memcpy(info->offsets, buffer->offsets, sizeof(info->offsets));
	memcpy(info->strides, buffer->strides, sizeof(info->strides));
	info->data = buffer->data;
	info->buffer_index = -1;
	const struct zcl_capture *capture = buffer->capture;
	for (int i = 0; capture != NULL && i < capture->n_buffers; i++) {
		if (capture->buffers[i] == buffer) {
			info->buffer_index = i;
		}
	}
}

static void frame_ready(void *data, struct ext_image_copy_capture_frame_v1 *f) {
	struct zcl_capture *capture = data;
	struct zcl_buffer *buffer = capture->frame_buffer;
	capture->unknown_failures = 0;
	/* What changed is stale in every other buffer; this one is current. */
	for (int i = 0; i < capture->n_buffers; i++) {
		if (capture->buffers[i] != buffer) {
			pixman_region32_union(&capture->buffers[i]->stale,
				&capture->buffers[i]->stale, &capture->frame_damage);
		}
	}
	struct zcl_frame *frame = &buffer->frame;
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&capture->frame_damage, &n);
	if ((size_t)n > frame->cap_damage) {
		struct zcl_rect *grown = realloc(frame->damage, (size_t)n * sizeof(*grown));
		if (grown != NULL) {
			frame->damage = grown;
			frame->cap_damage = (size_t)n;
		}
	}
	frame->n_damage = 0;
	for (int i = 0; i < n && (size_t)i < frame->cap_damage; i++) {
		frame->damage[frame->n_damage++] = (struct zcl_rect){boxes[i].x1, boxes[i].y1,
			boxes[i].x2 - boxes[i].x1, boxes[i].y2 - boxes[i].y1};
	}
	struct zcl_frame_info *info = &frame->info;
	*info = capture->frame_info;
	describe_buffer(buffer, info);
	info->damage = frame->damage;
	info->n_damage = frame->n_damage;
	info->sequence = capture->frames++;
	info->sync_fd = info->dmabuf ? export_sync_file(buffer->fds[0]) : -1;
	pixman_region32_clear(&buffer->stale);
	frame_end(capture);
	if (buffer->capture == NULL) {
		buffer_destroy(buffer); /* from a pool replaced meanwhile */
	} else {
		buffer->state = BUFFER_HELD;
		capture->listener->frame(capture->data, frame);
	}
	capture_next(capture);
}

static void frame_failed(void *data, struct ext_image_copy_capture_frame_v1 *f,
		uint32_t reason) {
	struct zcl_capture *capture = data;
	struct zcl_buffer *buffer = capture->frame_buffer;
	bool same_pool = capture->frame_generation == capture->pool_generation;
	frame_end(capture);
	if (buffer->capture == NULL) {
		buffer_destroy(buffer);
	} else {
		buffer->state = BUFFER_FREE;
	}
	switch (reason) {
	case EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED:
		return; /* the session's stopped event follows */
	case EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS:
		/* A new batch is on its way (or came already and replaced the pool). */
		if (!same_pool) {
			capture_next(capture);
		}
		return;
	default:
		if (++capture->unknown_failures > MAX_UNKNOWN_FAILURES) {
			capture_fail(capture, ZCL_ERROR_CONNECT, "the compositor failed every frame");
			return;
		}
		capture_next(capture);
	}
}

static const struct ext_image_copy_capture_frame_v1_listener frame_listener = {
	.transform = frame_transform,
	.damage = frame_damage,
	.presentation_time = frame_presentation_time,
	.ready = frame_ready,
	.failed = frame_failed,
};

/* Captures into a free buffer, unless a frame is in flight or none is free. */
static void capture_next(struct zcl_capture *capture) {
	if (capture->ended || capture->frame != NULL || capture->n_buffers == 0) {
		return;
	}
	struct zcl_buffer *buffer = NULL;
	for (int i = 0; i < capture->n_buffers && buffer == NULL; i++) {
		if (capture->buffers[i]->state == BUFFER_FREE) {
			buffer = capture->buffers[i];
		}
	}
	if (buffer == NULL) {
		if (!capture->dry) {
			capture->dry = true;
			capture->dry_spells++;
			if (capture->listener->pool_dry != NULL) {
				capture->listener->pool_dry(capture->data);
			}
		}
		return;
	}
	capture->dry = false;
	buffer->state = BUFFER_CAPTURING;
	capture->frame_buffer = buffer;
	capture->frame_generation = capture->pool_generation;
	memset(&capture->frame_info, 0, sizeof(capture->frame_info));
	capture->frame = ext_image_copy_capture_session_v1_create_frame(capture->session);
	ext_image_copy_capture_frame_v1_add_listener(capture->frame, &frame_listener, capture);
	ext_image_copy_capture_frame_v1_attach_buffer(capture->frame, buffer->wl_buffer);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&buffer->stale, &n);
	for (int i = 0; i < n; i++) {
		ext_image_copy_capture_frame_v1_damage_buffer(capture->frame, boxes[i].x1,
			boxes[i].y1, boxes[i].x2 - boxes[i].x1, boxes[i].y2 - boxes[i].y1);
	}
	ext_image_copy_capture_frame_v1_capture(capture->frame);
	/* Applications may poll before they dispatch again: send it now. */
	wl_display_flush(capture->client->display);
}

/* Session events */

static void session_buffer_size(void *data, struct ext_image_copy_capture_session_v1 *s,
		uint32_t width, uint32_t height) {
	struct zcl_capture *capture = data;
	capture->pending.width = width;
	capture->pending.height = height;
}

static void session_shm_format(void *data, struct ext_image_copy_capture_session_v1 *s,
		uint32_t format) {
	struct zcl_capture *capture = data;
	struct constraints *c = &capture->pending;
	uint32_t *grown = realloc(c->shm, (c->n_shm + 1) * sizeof(*grown));
	if (grown != NULL) {
		c->shm = grown;
		/* wl_shm codes to DRM fourcc: they differ only for the first two. */
		c->shm[c->n_shm++] = format == WL_SHM_FORMAT_ARGB8888 ? DRM_FORMAT_ARGB8888 :
			format == WL_SHM_FORMAT_XRGB8888 ? DRM_FORMAT_XRGB8888 : format;
	}
}

static void session_dmabuf_device(void *data, struct ext_image_copy_capture_session_v1 *s,
		struct wl_array *device) {
	struct zcl_capture *capture = data;
	if (device->size == sizeof(dev_t)) {
		memcpy(&capture->pending.device, device->data, sizeof(dev_t));
		capture->pending.has_device = true;
	}
}

static void session_dmabuf_format(void *data, struct ext_image_copy_capture_session_v1 *s,
		uint32_t format, struct wl_array *modifiers) {
	struct zcl_capture *capture = data;
	struct constraints *c = &capture->pending;
	struct zcl_format_modifiers *grown = realloc(c->dmabuf, (c->n_dmabuf + 1) * sizeof(*grown));
	if (grown == NULL) {
		return;
	}
	c->dmabuf = grown;
	uint64_t *mods = malloc(modifiers->size > 0 ? modifiers->size : 1);
	if (mods == NULL) {
		return;
	}
	memcpy(mods, modifiers->data, modifiers->size);
	c->dmabuf[c->n_dmabuf++] = (struct zcl_format_modifiers){
		.format = format,
		.modifiers = mods,
		.n_modifiers = modifiers->size / sizeof(uint64_t),
	};
}

static void session_done(void *data, struct ext_image_copy_capture_session_v1 *s) {
	struct zcl_capture *capture = data;
	constraints_clear(&capture->current);
	capture->current = capture->pending;
	memset(&capture->pending, 0, sizeof(capture->pending));
	capture->have_constraints = true;
	if (capture->image_of_target && capture->target != NULL &&
			capture->target->type == ZCL_TARGET_WINDOW) {
		capture->target->width = (int32_t)capture->current.width;
		capture->target->height = (int32_t)capture->current.height;
	}
	pool_drop(capture);
	if (pool_make(capture)) {
		capture_next(capture);
	}
}

static void capture_stop(struct zcl_capture *capture) {
	if (capture->ended) {
		return;
	}
	capture->ended = true;
	if (capture->listener->stopped != NULL) {
		capture->listener->stopped(capture->data);
	}
}

static void session_stopped(void *data, struct ext_image_copy_capture_session_v1 *s) {
	capture_stop(data);
}

static const struct ext_image_copy_capture_session_v1_listener session_listener = {
	.buffer_size = session_buffer_size,
	.shm_format = session_shm_format,
	.dmabuf_device = session_dmabuf_device,
	.dmabuf_format = session_dmabuf_format,
	.done = session_done,
	.stopped = session_stopped,
};

static void capture_fail(struct zcl_capture *capture, enum zcl_error error, const char *why) {
	zcl_set_error(capture->client, "%s", why);
	if (capture->ended) {
		return;
	}
	capture->ended = true;
	if (capture->listener->failed != NULL) {
		capture->listener->failed(capture->data, error, why);
	}
}

/*
 * Tells every capture that matches (target NULL: all of them) that it
 * stopped. A stopped callback may destroy any capture, its own or others
 * (a portal stream destroys its capture and its cursor's), so the walk
 * starts over after each call, and captures told already are skipped.
 */
static void stop_captures(struct zcl_client *client, struct zcl_target *target, bool all) {
	struct zcl_capture *capture;
	wl_list_for_each(capture, &client->captures, link) {
		if (all || capture->target == target) {
			capture->stopping = true;
		}
	}
	bool told;
	do {
		told = false;
		wl_list_for_each(capture, &client->captures, link) {
			if (!capture->stopping) {
				continue;
			}
			capture->stopping = false;
			if (!all) {
				capture->target = NULL;
			}
			capture_stop(capture);
			told = true;
			break;
		}
	} while (told);
}

void zcl_captures_lost(struct zcl_client *client) {
	stop_captures(client, NULL, true);
}

void zcl_captures_target_gone(struct zcl_client *client, struct zcl_target *target) {
	stop_captures(client, target, false);
}

/* Creation */

static bool needs_options(const struct zcl_capture_options *o) {
	bool yuv = o->format == DRM_FORMAT_NV12 || o->format == DRM_FORMAT_P010;
	return o->has_region || o->out_width != 0 || o->out_height != 0 || yuv ||
		o->max_fps > 0;
}

struct ext_image_capture_source_v1 *zcl_make_source(struct zcl_client *client,
		struct zcl_target *target) {
	if (target->type == ZCL_TARGET_OUTPUT) {
		return client->output_sources != NULL ?
			ext_output_image_capture_source_manager_v1_create_source(client->output_sources,
				target->output) : NULL;
	}
	return client->toplevel_sources != NULL ?
		ext_foreign_toplevel_image_capture_source_manager_v1_create_source(
			client->toplevel_sources, target->handle) : NULL;
}

static struct ext_image_capture_source_v1 *derive(struct zcl_client *client,
		struct ext_image_capture_source_v1 *parent, const struct zcl_capture_options *o) {
	struct zerocap_capture_options_v1 *set =
		zerocap_capture_options_manager_v1_get_options(client->options);
	if (o->has_region) {
		zerocap_capture_options_v1_set_crop(set, o->x, o->y, o->width, o->height);
	}
	if (o->out_width != 0) {
		zerocap_capture_options_v1_set_size(set, o->out_width, o->out_height);
	}
	if (o->format != 0) {
		zerocap_capture_options_v1_set_format(set, o->format);
	}
	zerocap_capture_options_v1_set_color(set, o->matrix, o->range);
	if (o->max_fps > 0) {
		uint32_t mhz = (uint32_t)(o->max_fps * 1000 + 0.5);
		zerocap_capture_options_v1_set_max_rate(set, mhz > 0 ? mhz : 1);
	}
	struct ext_image_capture_source_v1 *source =
		zerocap_capture_options_manager_v1_create_source(client->options, parent, set);
	zerocap_capture_options_v1_destroy(set);
	ext_image_capture_source_v1_destroy(parent);
	return source;
}

/* A capture with its options, not started yet; NULL when out of memory. */
static struct zcl_capture *capture_alloc(struct zcl_client *client, struct zcl_target *target,
		const struct zcl_capture_options *options, const struct zcl_capture_listener *listener,
		void *data) {
	struct zcl_capture *capture = calloc(1, sizeof(*capture));
	if (capture == NULL) {
		return NULL;
	}
	capture->options = *options;
	if (capture->options.n_buffers == 0) {
		capture->options.n_buffers = 4;
	}
	if (options->n_importable > 0) {
		capture->importable = calloc(options->n_importable, sizeof(*capture->importable));
		if (capture->importable == NULL) {
			free(capture);
			return NULL;
		}
		memcpy(capture->importable, options->importable,
			options->n_importable * sizeof(*capture->importable));
	}
	capture->options.importable = NULL;
	capture->client = client;
	capture->target = target;
	capture->listener = listener;
	capture->data = data;
	capture->drm_fd = -1;
	capture->image_of_target = true;
	pixman_region32_init(&capture->frame_damage);
	return capture;
}

/* Listens to session (taken over) and lists the capture. */
static void capture_begin(struct zcl_capture *capture,
		struct ext_image_copy_capture_session_v1 *session) {
	capture->session = session;
	ext_image_copy_capture_session_v1_add_listener(session, &session_listener, capture);
	wl_list_insert(&capture->client->captures, &capture->link);
	wl_display_flush(capture->client->display);
}

struct zcl_capture *zcl_capture_create(struct zcl_client *client, struct zcl_target *target,
		const struct zcl_capture_options *options, const struct zcl_capture_listener *listener,
		void *data, enum zcl_error *error) {
	enum zcl_error dummy;
	error = error != NULL ? error : &dummy;
	static const struct zcl_capture_options defaults = {0};
	options = options != NULL ? options : &defaults;
	*error = ZCL_ERROR_INVALID;
	if (target == NULL || listener == NULL || listener->frame == NULL) {
		zcl_set_error(client, "a capture needs a target and a frame callback");
		return NULL;
	}
	if ((options->has_region && (options->width <= 0 || options->height <= 0)) ||
			(options->out_width == 0) != (options->out_height == 0) ||
			options->max_fps < 0 || options->n_buffers < 0 ||
			(options->n_buffers > 0 && options->n_buffers < 3) ||
			options->n_buffers > MAX_BUFFERS || options->matrix > ZCL_MATRIX_BT2020 ||
			options->range > ZCL_RANGE_FULL) {
		zcl_set_error(client, "invalid capture options");
		return NULL;
	}
	*error = ZCL_ERROR_UNSUPPORTED;
	if (client->dead) {
		*error = ZCL_ERROR_CONNECT;
		zcl_set_error(client, "the connection is gone");
		return NULL;
	}
	if (client->copy == NULL) {
		zcl_set_error(client, "the compositor has no ext-image-copy-capture-v1");
		return NULL;
	}
	if (needs_options(options) && client->options == NULL) {
		zcl_set_error(client, "region, size, YCbCr formats and rate limits need "
			"zerocap-capture-options-v1, which the compositor lacks");
		return NULL;
	}
	struct ext_image_capture_source_v1 *source = zcl_make_source(client, target);
	if (source == NULL) {
		zcl_set_error(client, "the compositor cannot capture this kind of target");
		return NULL;
	}
	*error = ZCL_ERROR_NO_MEMORY;
	struct zcl_capture *capture = capture_alloc(client, target, options, listener, data);
	if (capture == NULL) {
		ext_image_capture_source_v1_destroy(source);
		return NULL;
	}
	if (needs_options(options) || (options->format != 0 && client->options != NULL)) {
		source = derive(client, source, options);
	}
	capture->source = source;
	capture_begin(capture, ext_image_copy_capture_manager_v1_create_session(client->copy,
		source, options->cursor ? EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS : 0));
	*error = ZCL_OK;
	return capture;
}

struct zcl_capture *zcl_capture_create_on_session(struct zcl_client *client,
		struct zcl_target *target, struct ext_image_copy_capture_session_v1 *session,
		const struct zcl_capture_options *options, const struct zcl_capture_listener *listener,
		void *data) {
	struct zcl_capture *capture = capture_alloc(client, target, options, listener, data);
	if (capture == NULL) {
		ext_image_copy_capture_session_v1_destroy(session);
		return NULL;
	}
	capture->image_of_target = false;
	capture_begin(capture, session);
	return capture;
}

void zcl_capture_destroy(struct zcl_capture *capture) {
	if (capture == NULL) {
		return;
	}
	if (capture->frame_buffer != NULL) {
		capture->frame_buffer->state = BUFFER_FREE;
	}
	frame_end(capture);
	for (int i = 0; i < capture->n_buffers; i++) {
		buffer_destroy(capture->buffers[i]);
	}
	capture->n_buffers = 0;
	ext_image_copy_capture_session_v1_destroy(capture->session);
	if (capture->source != NULL) {
		ext_image_capture_source_v1_destroy(capture->source);
	}
	constraints_clear(&capture->pending);
	constraints_clear(&capture->current);
	pixman_region32_fini(&capture->frame_damage);
	if (capture->gbm != NULL) {
		gbm_device_destroy(capture->gbm);
		close(capture->drm_fd);
	}
	wl_list_remove(&capture->link);
	wl_display_flush(capture->client->display);
	free(capture->importable);
	free(capture);
}

uint64_t zcl_capture_get_frames(const struct zcl_capture *capture) {
	return capture->frames;
}

uint64_t zcl_capture_get_dry_spells(const struct zcl_capture *capture) {
	return capture->dry_spells;
}

int zcl_capture_get_buffer_count(const struct zcl_capture *capture) {
	return capture->n_buffers;
}

size_t zcl_capture_get_modifiers(const struct zcl_capture *capture, uint32_t format,
		const uint64_t **modifiers) {
	const struct constraints *c = &capture->current;
	for (size_t i = 0; c->has_device && i < c->n_dmabuf; i++) {
		if (c->dmabuf[i].format == format) {
			*modifiers = c->dmabuf[i].modifiers;
			return c->dmabuf[i].n_modifiers;
		}
	}
	*modifiers = NULL;
	return 0;
}

bool zcl_capture_test_modifiers(struct zcl_capture *capture, uint32_t format,
		const uint64_t *modifiers, size_t n_modifiers, uint64_t *modifier) {
	const struct constraints *c = &capture->current;
	if (capture->gbm == NULL || c->width == 0 || c->height == 0) {
		return false;
	}
	bool packed;
	struct gbm_bo *bo = allocate(capture, c->width, c->height, format, modifiers,
		n_modifiers, modifier, &packed);
	if (bo == NULL) {
		return false;
	}
	gbm_bo_destroy(bo);
	return true;
}

int zcl_capture_get_device_fd(const struct zcl_capture *capture) {
	return capture->gbm != NULL ? capture->drm_fd : -1;
}

bool zcl_capture_get_buffer(const struct zcl_capture *capture, int index,
		struct zcl_frame_info *info) {
	if (index < 0 || index >= capture->n_buffers) {
		return false;
	}
	memset(info, 0, sizeof(*info));
	info->sync_fd = -1;
	describe_buffer(capture->buffers[index], info);
	return true;
}

const struct zcl_frame_info *zcl_frame_get_info(const struct zcl_frame *frame) {
	return &frame->info;
}

void zcl_frame_release(struct zcl_frame *frame) {
	struct zcl_buffer *buffer = frame->buffer;
	if (buffer->state != BUFFER_HELD) {
		return;
	}
	if (frame->info.sync_fd >= 0) {
		close(frame->info.sync_fd);
		frame->info.sync_fd = -1;
	}
	struct zcl_capture *capture = buffer->capture;
	if (capture == NULL) {
		buffer_destroy(buffer);
		return;
	}
	buffer->state = BUFFER_FREE;
	capture_next(capture);
}
