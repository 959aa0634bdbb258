#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "client-private.h"

struct zcc_buffer *zcc_buffer_create(struct zcc_client *client, uint32_t format,
		int32_t width, int32_t height, int32_t stride) {
	if (client->shm == NULL) {
		zcc_client_set_error(client, "the compositor has no wl_shm");
		return NULL;
	}
	if (width <= 0 || height <= 0) {
		zcc_client_set_error(client, "invalid buffer size %dx%d", width, height);
		return NULL;
	}
	if (stride == 0) {
		int bpp = zcc_format_bytes_per_pixel(format);
		if (bpp == 0) {
			zcc_client_set_error(client, "unknown bytes per pixel for format 0x%08x",
				format);
			return NULL;
		}
		stride = width * bpp;
	}
	if (stride <= 0) {
		zcc_client_set_error(client, "invalid stride %d", stride);
		return NULL;
	}
	size_t size = (size_t)stride * (size_t)height;
	/* YCbCr: the chroma plane follows the luma plane, with the same stride. */
	if (format == WL_SHM_FORMAT_NV12 || format == WL_SHM_FORMAT_P010) {
		size += (size_t)stride * (size_t)(height / 2);
	}
	if (size > INT32_MAX) {
		zcc_client_set_error(client, "buffer too large");
		return NULL;
	}

	struct zcc_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		zcc_client_set_error(client, "out of memory");
		return NULL;
	}
	buffer->format = format;
	buffer->width = width;
	buffer->height = height;
	buffer->stride = stride;
	buffer->size = size;
	buffer->data = MAP_FAILED;
	buffer->fd = -1;

	buffer->fd = memfd_create("zcclient-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (buffer->fd < 0) {
		zcc_client_set_error(client, "memfd_create: %s", strerror(errno));
		goto error;
	}
	int ret;
	do {
		ret = ftruncate(buffer->fd, (off_t)size);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		zcc_client_set_error(client, "ftruncate: %s", strerror(errno));
		goto error;
	}
	fcntl(buffer->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);
	buffer->data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buffer->fd, 0);
	if (buffer->data == MAP_FAILED) {
		zcc_client_set_error(client, "mmap: %s", strerror(errno));
		goto error;
	}

	struct wl_shm_pool *pool = wl_shm_create_pool(client->shm, buffer->fd, (int32_t)size);
	buffer->wl_buffer = wl_shm_pool_create_buffer(pool, 0, width, height, stride, format);
	wl_shm_pool_destroy(pool);
	return buffer;

error:
	zcc_buffer_destroy(buffer);
	return NULL;
}

void zcc_buffer_destroy(struct zcc_buffer *buffer) {
	if (buffer == NULL) {
		return;
	}
	if (buffer->type == ZCC_BUFFER_DMABUF) {
		zcc_dmabuf_buffer_destroy(buffer);
		return;
	}
	if (buffer->wl_buffer != NULL) {
		wl_buffer_destroy(buffer->wl_buffer);
	}
	if (buffer->data != MAP_FAILED && buffer->data != NULL) {
		munmap(buffer->data, buffer->size);
	}
	if (buffer->fd >= 0) {
		close(buffer->fd);
	}
	free(buffer);
}

void *zcc_buffer_data(struct zcc_buffer *buffer) {
	return buffer->data;
}

void zcc_buffer_fill(struct zcc_buffer *buffer, uint32_t value) {
	for (int32_t y = 0; y < buffer->height; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)buffer->data + (size_t)y * buffer->stride);
		for (int32_t x = 0; x < buffer->width && (x + 1) * 4 <= buffer->stride; x++) {
			row[x] = value;
		}
	}
}
