#include <drm_fourcc.h>
#include <wayland-server-core.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_linux_dmabuf_v1.h>
#include "render/render.h"

static uint32_t shm_format_to_drm(uint32_t format) {
	switch (format) {
	case WL_SHM_FORMAT_ARGB8888:
		return DRM_FORMAT_ARGB8888;
	case WL_SHM_FORMAT_XRGB8888:
		return DRM_FORMAT_XRGB8888;
	default:
		return format;
	}
}

bool zc_render_describe_buffer(struct wl_resource *resource, struct zc_buffer_info *info) {
	struct wl_shm_buffer *shm = wl_shm_buffer_get(resource);
	if (shm != NULL) {
		*info = (struct zc_buffer_info){
			.type = ZC_BUFFER_SHM,
			.width = wl_shm_buffer_get_width(shm),
			.height = wl_shm_buffer_get_height(shm),
			.format = shm_format_to_drm(wl_shm_buffer_get_format(shm)),
			.stride = wl_shm_buffer_get_stride(shm),
		};
		return true;
	}
	if (wlr_dmabuf_v1_resource_is_buffer(resource)) {
		struct wlr_dmabuf_v1_buffer *dmabuf =
			wlr_dmabuf_v1_buffer_from_buffer_resource(resource);
		*info = (struct zc_buffer_info){
			.type = ZC_BUFFER_DMABUF,
			.width = dmabuf->attributes.width,
			.height = dmabuf->attributes.height,
			.format = dmabuf->attributes.format,
			.modifier = dmabuf->attributes.modifier,
			.stride = dmabuf->attributes.stride[0],
		};
		return true;
	}
	return false;
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
