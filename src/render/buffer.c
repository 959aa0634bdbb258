#include <drm_fourcc.h>
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
