/*
 * dma-buf buffers for captures: GBM allocates on the compositor's DRM device,
 * zwp_linux_dmabuf_v1 (create_immed) wraps the planes as a wl_buffer, and
 * gbm_bo_map gives tests the pixels.
 *
 * Lifetimes: a zcc_dmabuf_device owns its DRM fd, GBM device and
 * zwp_linux_dmabuf_v1 proxy; each dma-buf zcc_buffer owns its GBM bo, plane
 * fds and wl_buffer, and points at its device, which must outlive it.
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drm.h>
#include "client-private.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"

#define LINUX_DMABUF_VERSION 3

uint32_t zcc_shm_format_from_drm(uint32_t drm_format) {
	switch (drm_format) {
	case DRM_FORMAT_ARGB8888:
		return WL_SHM_FORMAT_ARGB8888;
	case DRM_FORMAT_XRGB8888:
		return WL_SHM_FORMAT_XRGB8888;
	default:
		return drm_format;
	}
}

uint32_t zcc_drm_format_from_shm(uint32_t shm_format) {
	switch (shm_format) {
	case WL_SHM_FORMAT_ARGB8888:
		return DRM_FORMAT_ARGB8888;
	case WL_SHM_FORMAT_XRGB8888:
		return DRM_FORMAT_XRGB8888;
	default:
		return shm_format;
	}
}

static void add_import_modifier(struct zcc_dmabuf_device *device, uint32_t format,
		uint64_t modifier) {
	struct zcc_dmabuf_format *f = NULL;
	for (size_t i = 0; i < device->n_import_formats; i++) {
		if (device->import_formats[i].format == format) {
			f = &device->import_formats[i];
			break;
		}
	}
	if (f == NULL) {
		struct zcc_dmabuf_format *formats = realloc(device->import_formats,
			(device->n_import_formats + 1) * sizeof(*formats));
		if (formats == NULL) {
			return;
		}
		device->import_formats = formats;
		f = &formats[device->n_import_formats++];
		memset(f, 0, sizeof(*f));
		f->format = format;
	}
	for (size_t i = 0; i < f->n_modifiers; i++) {
		if (f->modifiers[i] == modifier) {
			return;
		}
	}
	uint64_t *mods = realloc(f->modifiers, (f->n_modifiers + 1) * sizeof(*mods));
	if (mods == NULL) {
		return;
	}
	mods[f->n_modifiers++] = modifier;
	f->modifiers = mods;
}

static void linux_dmabuf_handle_format(void *data, struct zwp_linux_dmabuf_v1 *proxy,
		uint32_t format) {
	add_import_modifier(data, format, DRM_FORMAT_MOD_INVALID);
}

static void linux_dmabuf_handle_modifier(void *data, struct zwp_linux_dmabuf_v1 *proxy,
		uint32_t format, uint32_t modifier_hi, uint32_t modifier_lo) {
	add_import_modifier(data, format, (uint64_t)modifier_hi << 32 | modifier_lo);
}

static const struct zwp_linux_dmabuf_v1_listener linux_dmabuf_listener = {
	.format = linux_dmabuf_handle_format,
	.modifier = linux_dmabuf_handle_modifier,
};

bool zcc_dmabuf_device_can_import(const struct zcc_dmabuf_device *device, uint32_t format,
		uint64_t modifier) {
	for (size_t i = 0; i < device->n_import_formats; i++) {
		const struct zcc_dmabuf_format *f = &device->import_formats[i];
		if (f->format != format) {
			continue;
		}
		for (size_t j = 0; j < f->n_modifiers; j++) {
			if (f->modifiers[j] == modifier) {
				return true;
			}
		}
	}
	return false;
}

/* Whether a small linear XRGB8888 buffer can be allocated on gbm. */
static bool gbm_can_allocate(struct gbm_device *gbm) {
	struct gbm_bo *bo = gbm_bo_create(gbm, 16, 16, GBM_FORMAT_XRGB8888,
		GBM_BO_USE_LINEAR | GBM_BO_USE_RENDERING);
	if (bo == NULL) {
		return false;
	}
	gbm_bo_destroy(bo);
	return true;
}

static bool open_node(struct zcc_dmabuf_device *device, const char *path) {
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		zcc_client_set_error(device->client, "open %s: %s", path, strerror(errno));
		return false;
	}
	struct gbm_device *gbm = gbm_create_device(fd);
	if (gbm == NULL) {
		zcc_client_set_error(device->client, "gbm_create_device on %s failed", path);
		close(fd);
		return false;
	}
	if (!gbm_can_allocate(gbm)) {
		zcc_client_set_error(device->client, "GBM cannot allocate on %s", path);
		gbm_device_destroy(gbm);
		close(fd);
		return false;
	}
	device->drm_fd = fd;
	device->gbm = gbm;
	snprintf(device->node, sizeof(device->node), "%s", path);
	return true;
}

struct zcc_dmabuf_device *zcc_dmabuf_device_open(struct zcc_client *client, dev_t dev) {
	struct zcc_dmabuf_device *device = calloc(1, sizeof(*device));
	if (device == NULL) {
		zcc_client_set_error(client, "out of memory");
		return NULL;
	}
	device->client = client;
	device->dev = dev;
	device->drm_fd = -1;

	drmDevicePtr drm_device = NULL;
	if (drmGetDeviceFromDevId(dev, 0, &drm_device) != 0) {
		zcc_client_set_error(client, "no DRM device %u:%u", major(dev), minor(dev));
		free(device);
		return NULL;
	}
	static const int node_order[] = {DRM_NODE_PRIMARY, DRM_NODE_RENDER};
	char errors[256] = "";
	for (size_t i = 0; i < sizeof(node_order) / sizeof(node_order[0]); i++) {
		int node = node_order[i];
		if (!(drm_device->available_nodes & (1 << node))) {
			continue;
		}
		if (open_node(device, drm_device->nodes[node])) {
			break;
		}
		size_t len = strlen(errors);
		/* A long list is cut: it is only a message. */
		if (snprintf(errors + len, sizeof(errors) - len, "%s%s", len > 0 ? "; " : "",
				client->last_error) < 0) {
			errors[len] = '\0';
		}
	}
	drmFreeDevice(&drm_device);
	if (device->gbm == NULL) {
		zcc_client_set_error(client, "no usable node for DRM device %u:%u: %s",
			major(dev), minor(dev), errors[0] != '\0' ? errors : "no nodes");
		free(device);
		return NULL;
	}

	device->linux_dmabuf = zcc_client_bind(client, &zwp_linux_dmabuf_v1_interface,
		LINUX_DMABUF_VERSION);
	if (device->linux_dmabuf == NULL) {
		zcc_client_set_error(client, "the compositor has no %s",
			zwp_linux_dmabuf_v1_interface.name);
		zcc_dmabuf_device_destroy(device);
		return NULL;
	}
	zwp_linux_dmabuf_v1_add_listener(device->linux_dmabuf, &linux_dmabuf_listener, device);
	if (zcc_client_roundtrip(client, -1) != 1) {
		zcc_client_set_error(client, "round-trip after binding %s failed",
			zwp_linux_dmabuf_v1_interface.name);
		zcc_dmabuf_device_destroy(device);
		return NULL;
	}
	return device;
}

void zcc_dmabuf_device_destroy(struct zcc_dmabuf_device *device) {
	if (device == NULL) {
		return;
	}
	if (device->linux_dmabuf != NULL) {
		zwp_linux_dmabuf_v1_destroy(device->linux_dmabuf);
		wl_display_flush(device->client->display);
	}
	for (size_t i = 0; i < device->n_import_formats; i++) {
		free(device->import_formats[i].modifiers);
	}
	free(device->import_formats);
	if (device->gbm != NULL) {
		gbm_device_destroy(device->gbm);
	}
	if (device->drm_fd >= 0) {
		close(device->drm_fd);
	}
	free(device);
}

static struct gbm_bo *allocate(struct zcc_dmabuf_device *device, uint32_t format,
		uint64_t modifier, int32_t width, int32_t height) {
	struct gbm_bo *bo = NULL;
	if (modifier != DRM_FORMAT_MOD_INVALID) {
		bo = gbm_bo_create_with_modifiers(device->gbm, width, height, format, &modifier, 1);
		if (bo == NULL && modifier == DRM_FORMAT_MOD_LINEAR) {
			/* Drivers without modifier support still allocate linear buffers. */
			bo = gbm_bo_create(device->gbm, width, height, format,
				GBM_BO_USE_LINEAR | GBM_BO_USE_RENDERING);
		}
	} else {
		bo = gbm_bo_create(device->gbm, width, height, format, GBM_BO_USE_RENDERING);
	}
	if (bo == NULL) {
		zcc_client_set_error(device->client,
			"GBM cannot allocate %dx%d of format 0x%08x modifier 0x%016llx: %s",
			width, height, format, (unsigned long long)modifier, strerror(errno));
	}
	return bo;
}

static void dmabuf_free(struct zcc_buffer *buffer) {
	struct zcc_dmabuf_buffer *d = buffer->dmabuf;
	if (d != NULL) {
		if (d->map_data != NULL) {
			gbm_bo_unmap(d->bo, d->map_data);
		}
		for (int i = 0; i < d->n_planes; i++) {
			if (d->planes[i].fd >= 0) {
				close(d->planes[i].fd);
			}
		}
		if (d->bo != NULL) {
			gbm_bo_destroy(d->bo);
		}
		free(d);
	}
	if (buffer->wl_buffer != NULL) {
		wl_buffer_destroy(buffer->wl_buffer);
	}
	free(buffer);
}

/* Allocates and exports; the wl_buffer is made by the caller. */
static struct zcc_buffer *allocate_buffer(struct zcc_dmabuf_device *device,
		const struct zcc_dmabuf_options *options) {
	struct zcc_client *client = device->client;
	int32_t alloc_w = options->alloc_width > 0 ? options->alloc_width : options->width;
	int32_t alloc_h = options->alloc_height > 0 ? options->alloc_height : options->height;
	uint32_t alloc_format = options->alloc_format != 0 ? options->alloc_format :
		options->format;
	if (alloc_w <= 0 || alloc_h <= 0) {
		zcc_client_set_error(client, "invalid buffer size %dx%d", alloc_w, alloc_h);
		return NULL;
	}
	struct zcc_buffer *buffer = calloc(1, sizeof(*buffer));
	struct zcc_dmabuf_buffer *d = calloc(1, sizeof(*d));
	if (buffer == NULL || d == NULL) {
		zcc_client_set_error(client, "out of memory");
		free(buffer);
		free(d);
		return NULL;
	}
	buffer->type = ZCC_BUFFER_DMABUF;
	buffer->dmabuf = d;
	buffer->fd = -1;
	buffer->format = zcc_shm_format_from_drm(options->format);
	buffer->width = options->width;
	buffer->height = options->height;
	d->device = device;
	d->drm_format = options->format;
	for (int i = 0; i < 4; i++) {
		d->planes[i].fd = -1;
	}

	d->bo = allocate(device, alloc_format, options->modifier, alloc_w, alloc_h);
	if (d->bo == NULL) {
		goto error;
	}
	d->bo_modifier = gbm_bo_get_modifier(d->bo);
	d->modifier = options->announce_modifier_set ? options->announce_modifier :
		options->modifier;
	d->n_planes = gbm_bo_get_plane_count(d->bo);
	if (d->n_planes <= 0 || d->n_planes > 4) {
		zcc_client_set_error(client, "GBM reports %d planes", d->n_planes);
		goto error;
	}
	for (int i = 0; i < d->n_planes; i++) {
		d->bo_strides[i] = gbm_bo_get_stride_for_plane(d->bo, i);
		d->bo_offsets[i] = gbm_bo_get_offset(d->bo, i);
		d->planes[i].fd = gbm_bo_get_fd_for_plane(d->bo, i);
		d->planes[i].stride = d->bo_strides[i];
		d->planes[i].offset = d->bo_offsets[i];
		if (d->planes[i].fd < 0) {
			zcc_client_set_error(client, "cannot export plane %d of the GBM buffer", i);
			goto error;
		}
	}
	/*
	 * NV12 and P010 in one single-plane allocation (a one-channel buffer
	 * with room for both planes, for allocators without planar formats):
	 * the chroma plane is announced right after the luma rows.
	 */
	bool two_plane = options->format == DRM_FORMAT_NV12 || options->format == DRM_FORMAT_P010;
	if (two_plane && d->n_planes == 1) {
		d->planes[1].fd = dup(d->planes[0].fd);
		d->planes[1].stride = d->planes[0].stride;
		d->planes[1].offset = d->planes[0].offset + d->planes[0].stride * options->height;
		d->n_planes = 2;
		if (d->planes[1].fd < 0) {
			zcc_client_set_error(client, "cannot dup the plane fd");
			goto error;
		}
	}
	if (options->stride != 0) {
		d->planes[0].stride = options->stride;
	}
	if (options->offset != 0) {
		d->planes[0].offset = options->offset;
	}
	buffer->stride = (int32_t)d->planes[0].stride;
	buffer->size = (size_t)d->bo_strides[0] * (size_t)alloc_h;
	return buffer;

error:
	dmabuf_free(buffer);
	return NULL;
}

static struct zwp_linux_buffer_params_v1 *make_params(struct zcc_buffer *buffer) {
	struct zcc_dmabuf_buffer *d = buffer->dmabuf;
	struct zwp_linux_buffer_params_v1 *params =
		zwp_linux_dmabuf_v1_create_params(d->device->linux_dmabuf);
	for (int i = 0; i < d->n_planes; i++) {
		zwp_linux_buffer_params_v1_add(params, d->planes[i].fd, (uint32_t)i,
			d->planes[i].offset, d->planes[i].stride,
			(uint32_t)(d->modifier >> 32), (uint32_t)(d->modifier & 0xffffffff));
	}
	return params;
}

struct zcc_buffer *zcc_dmabuf_buffer_create_with(struct zcc_dmabuf_device *device,
		const struct zcc_dmabuf_options *options) {
	struct zcc_buffer *buffer = allocate_buffer(device, options);
	if (buffer == NULL) {
		return NULL;
	}
	struct zwp_linux_buffer_params_v1 *params = make_params(buffer);
	buffer->wl_buffer = zwp_linux_buffer_params_v1_create_immed(params, options->width,
		options->height, options->format, 0);
	zwp_linux_buffer_params_v1_destroy(params);
	wl_display_flush(device->client->display);
	return buffer;
}

struct create_wait {
	struct wl_buffer *wl_buffer;
	bool failed;
};

static void params_handle_created(void *data, struct zwp_linux_buffer_params_v1 *params,
		struct wl_buffer *wl_buffer) {
	struct create_wait *wait = data;
	wait->wl_buffer = wl_buffer;
}

static void params_handle_failed(void *data, struct zwp_linux_buffer_params_v1 *params) {
	struct create_wait *wait = data;
	wait->failed = true;
}

static const struct zwp_linux_buffer_params_v1_listener params_listener = {
	.created = params_handle_created,
	.failed = params_handle_failed,
};

static bool create_answered(void *data) {
	struct create_wait *wait = data;
	return wait->wl_buffer != NULL || wait->failed;
}

int zcc_dmabuf_buffer_try_create(struct zcc_dmabuf_device *device,
		const struct zcc_dmabuf_options *options, struct zcc_buffer **out, int timeout_ms) {
	*out = NULL;
	struct zcc_buffer *buffer = allocate_buffer(device, options);
	if (buffer == NULL) {
		return -1;
	}
	struct create_wait wait = {0};
	struct zwp_linux_buffer_params_v1 *params = make_params(buffer);
	zwp_linux_buffer_params_v1_add_listener(params, &params_listener, &wait);
	zwp_linux_buffer_params_v1_create(params, options->width, options->height,
		options->format, 0);
	int ret = zcc_client_dispatch_until(device->client, create_answered, &wait, timeout_ms);
	zwp_linux_buffer_params_v1_destroy(params);
	if (ret != 1) {
		zcc_client_set_error(device->client, "no created or failed event (%s)",
			ret == 0 ? "timeout" : "connection error");
		if (wait.wl_buffer != NULL) {
			wl_buffer_destroy(wait.wl_buffer);
		}
		dmabuf_free(buffer);
		return -1;
	}
	if (wait.failed) {
		zcc_client_set_error(device->client, "the compositor cannot import the buffer");
		dmabuf_free(buffer);
		return 0;
	}
	buffer->wl_buffer = wait.wl_buffer;
	*out = buffer;
	return 1;
}

struct zcc_buffer *zcc_dmabuf_buffer_create(struct zcc_dmabuf_device *device, uint32_t format,
		uint64_t modifier, int32_t width, int32_t height) {
	struct zcc_dmabuf_options options = {
		.format = format,
		.modifier = modifier,
		.width = width,
		.height = height,
	};
	return zcc_dmabuf_buffer_create_with(device, &options);
}

/* Called by zcc_buffer_destroy for dma-buf buffers. */
void zcc_dmabuf_buffer_destroy(struct zcc_buffer *buffer) {
	if (buffer == NULL) {
		return;
	}
	struct wl_display *display = buffer->dmabuf != NULL ?
		buffer->dmabuf->device->client->display : NULL;
	dmabuf_free(buffer);
	if (display != NULL) {
		wl_display_flush(display);
	}
}

struct zcc_image zcc_dmabuf_map(struct zcc_buffer *buffer) {
	struct zcc_image image = {0};
	struct zcc_dmabuf_buffer *d = buffer->dmabuf;
	if (d == NULL || d->map_data != NULL) {
		return image;
	}
	uint32_t w = gbm_bo_get_width(d->bo), h = gbm_bo_get_height(d->bo);
	uint32_t stride = 0;
	void *map_data = NULL;
	void *ptr = gbm_bo_map(d->bo, 0, 0, w, h, GBM_BO_TRANSFER_READ_WRITE, &stride, &map_data);
	if (ptr == NULL) {
		zcc_client_set_error(d->device->client, "gbm_bo_map failed: %s", strerror(errno));
		return image;
	}
	d->map_data = map_data;
	d->map_ptr = ptr;
	d->map_stride = stride;
	image.data = ptr;
	image.format = buffer->format;
	image.width = buffer->width < (int32_t)w ? buffer->width : (int32_t)w;
	image.height = buffer->height < (int32_t)h ? buffer->height : (int32_t)h;
	image.stride = (int32_t)stride;
	/*
	 * A layout announced differently from the allocation (tests): show the
	 * pixels where the compositor was told they are, as far as they lie
	 * inside the mapping of a linear buffer.
	 */
	const struct zcc_dmabuf_plane *p = &d->planes[0];
	if ((p->stride != d->bo_strides[0] || p->offset != d->bo_offsets[0]) &&
			stride == d->bo_strides[0] && p->offset >= d->bo_offsets[0] && p->stride > 0) {
		size_t size = (size_t)stride * h;
		size_t start = p->offset - d->bo_offsets[0];
		int bpp = zcc_format_bytes_per_pixel(buffer->format);
		size_t row = (size_t)buffer->width * (bpp > 0 ? bpp : 4);
		int32_t rows = 0;
		while (rows < buffer->height && start + (size_t)rows * p->stride + row <= size) {
			rows++;
		}
		image.data = (uint8_t *)ptr + start;
		image.stride = (int32_t)p->stride;
		image.width = buffer->width;
		image.height = rows;
	}
	return image;
}

void zcc_dmabuf_unmap(struct zcc_buffer *buffer) {
	struct zcc_dmabuf_buffer *d = buffer->dmabuf;
	if (d == NULL || d->map_data == NULL) {
		return;
	}
	gbm_bo_unmap(d->bo, d->map_data);
	d->map_data = NULL;
	d->map_ptr = NULL;
	d->map_stride = 0;
}

bool zcc_dmabuf_fill(struct zcc_buffer *buffer, uint32_t value) {
	struct zcc_image image = zcc_dmabuf_map(buffer);
	if (image.data == NULL) {
		return false;
	}
	for (int32_t y = 0; y < image.height; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)image.data + (size_t)y * image.stride);
		for (int32_t x = 0; x < image.width; x++) {
			row[x] = value;
		}
	}
	zcc_dmabuf_unmap(buffer);
	return true;
}

struct zcc_image zcc_dmabuf_read(struct zcc_buffer *buffer) {
	struct zcc_image copy = {0};
	struct zcc_image image = zcc_dmabuf_map(buffer);
	if (image.data == NULL) {
		return copy;
	}
	int bpp = zcc_format_bytes_per_pixel(image.format);
	if (bpp == 0) {
		bpp = 4;
	}
	size_t row = (size_t)image.width * bpp;
	uint8_t *pixels = malloc(row * (size_t)image.height);
	if (pixels != NULL) {
		for (int32_t y = 0; y < image.height; y++) {
			memcpy(pixels + row * y, (const uint8_t *)image.data + (size_t)y * image.stride,
				row);
		}
		copy = image;
		copy.data = pixels;
		copy.stride = (int32_t)row;
	}
	zcc_dmabuf_unmap(buffer);
	return copy;
}
