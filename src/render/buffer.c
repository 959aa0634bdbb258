#include <drm_fourcc.h>
#include <stdlib.h>
#include <wlr/interfaces/wlr_buffer.h>
#include <wayland-server-core.h>
#include <wlr/types/wlr_buffer.h>
#include "render/render.h"

/*
 * Since wlroots 0.17 wl_shm is served by wlroots itself (wlr_shm), so a
 * client buffer is looked at through the wlr_buffer wlroots keeps for it:
 * wl_shm_buffer_get() would say "not shm" for every one of them.
 */
bool zc_render_describe_buffer(struct wl_resource *resource, struct zc_buffer_info *info) {
	struct wlr_buffer *buffer = wlr_buffer_try_from_resource(resource);
	if (buffer == NULL) {
		return false;
	}
	struct wlr_shm_attributes shm;
	struct wlr_dmabuf_attributes dmabuf;
	bool ok = true;
	if (wlr_buffer_get_shm(buffer, &shm)) {
		*info = (struct zc_buffer_info){
			.type = ZC_BUFFER_SHM,
			.width = shm.width,
			.height = shm.height,
			.format = shm.format,
			.stride = shm.stride,
		};
	} else if (wlr_buffer_get_dmabuf(buffer, &dmabuf)) {
		*info = (struct zc_buffer_info){
			.type = ZC_BUFFER_DMABUF,
			.width = dmabuf.width,
			.height = dmabuf.height,
			.format = dmabuf.format,
			.modifier = dmabuf.modifier,
			.stride = dmabuf.stride[0],
		};
	} else {
		ok = false;
	}
	wlr_buffer_unlock(buffer);
	return ok;
}

uint64_t zc_region_area(const pixman_region32_t *region) {
	uint64_t area = 0;
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		area += (uint64_t)(rects[i].x2 - rects[i].x1) * (rects[i].y2 - rects[i].y1);
	}
	return area;
}

/* A CPU image as a wlr_buffer, for copies that go through a scratch image. */
struct memory_buffer {
	struct wlr_buffer base;
	void *data;
	size_t stride;
	uint32_t format;
};

static void memory_buffer_destroy(struct wlr_buffer *base) {
	struct memory_buffer *buffer = wl_container_of(base, buffer, base);
	free(buffer->data);
	free(buffer);
}

static bool memory_buffer_begin(struct wlr_buffer *base, uint32_t flags, void **data,
		uint32_t *format, size_t *stride) {
	struct memory_buffer *buffer = wl_container_of(base, buffer, base);
	*data = buffer->data;
	*format = buffer->format;
	*stride = buffer->stride;
	return true;
}

static void memory_buffer_end(struct wlr_buffer *base) {
}

static const struct wlr_buffer_impl memory_buffer_impl = {
	.destroy = memory_buffer_destroy,
	.begin_data_ptr_access = memory_buffer_begin,
	.end_data_ptr_access = memory_buffer_end,
};

struct wlr_buffer *zc_memory_buffer_create(int width, int height, uint32_t format) {
	struct memory_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		return NULL;
	}
	buffer->stride = (size_t)width * 4;
	buffer->format = format;
	buffer->data = calloc((size_t)height, buffer->stride);
	if (buffer->data == NULL) {
		free(buffer);
		return NULL;
	}
	wlr_buffer_init(&buffer->base, &memory_buffer_impl, width, height);
	return &buffer->base;
}

void *zc_memory_buffer_data(struct wlr_buffer *base, size_t *stride) {
	struct memory_buffer *buffer = wl_container_of(base, buffer, base);
	*stride = buffer->stride;
	return buffer->data;
}
