#ifndef ZC_RENDER_RENDER_H
#define ZC_RENDER_RENDER_H

#include <pixman.h>
#include <stdbool.h>
#include <wayland-server-protocol.h>
#include <wlr/util/box.h>
#include "capture/capture.h"

struct wlr_buffer;
struct wlr_renderer;

/*
 * Where a copy comes from: the source drawn with transform gives the full
 * image; area is the part of it that lands at the destination's origin.
 */
struct zc_copy_geometry {
	enum wl_output_transform transform;
	struct wlr_box area;
};

/* An image drawn on top of the copy, e.g. the cursor. */
struct zc_overlay {
	struct wlr_buffer *image;
	/* Where it lands in the destination, after transform. */
	struct wlr_box box;
	enum wl_output_transform transform;
};

/*
 * Copies region of a tightly packed RGBA image (a GL read back, bytes R, G,
 * B, A) into the CPU-accessible dst, converting to its format.
 */
bool zc_render_copy_pixels(const void *pixels, int width, int height, size_t stride,
	struct wlr_buffer *dst, const pixman_region32_t *region, struct zc_capture_stats *stats);
/* Whether buffer's pixels can be read by the CPU directly. */
bool zc_render_has_cpu_access(struct wlr_buffer *buffer);

/* A zeroed CPU image of 32-bit pixels; wlr_buffer_drop() frees it. */
struct wlr_buffer *zc_memory_buffer_create(int width, int height, uint32_t format);
void *zc_memory_buffer_data(struct wlr_buffer *buffer, size_t *stride);

/* Pixels covered by region. */
uint64_t zc_region_area(const pixman_region32_t *region);

/* Fills info for a client wl_buffer (shm or dma-buf). */
bool zc_render_describe_buffer(struct wl_resource *resource, struct zc_buffer_info *info);

#endif
