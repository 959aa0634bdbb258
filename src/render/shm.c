#include <drm_fourcc.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/render/wlr_texture.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include <wlr/util/transform.h>
#include "render/engine.h"
#include "render/transform.h"

static pixman_format_code_t pixman_format_from_drm(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_ARGB8888:
		return PIXMAN_a8r8g8b8;
	case DRM_FORMAT_XRGB8888:
		return PIXMAN_x8r8g8b8;
	case DRM_FORMAT_ABGR8888:
		return PIXMAN_a8b8g8r8;
	case DRM_FORMAT_XBGR8888:
		return PIXMAN_x8b8g8r8;
	default:
		return 0;
	}
}

/* pixman applies the map to coordinates relative to the destination origin. */
static void set_image_transform(pixman_image_t *image, enum wl_output_transform transform,
		int src_w, int src_h) {
	int m[6];
	zc_transform_source_map(transform, src_w, src_h, m);
	struct pixman_transform t = {{
		{pixman_int_to_fixed(m[0]), pixman_int_to_fixed(m[1]), pixman_int_to_fixed(m[4])},
		{pixman_int_to_fixed(m[2]), pixman_int_to_fixed(m[3]), pixman_int_to_fixed(m[5])},
		{0, 0, pixman_fixed_1},
	}};
	pixman_image_set_transform(image, &t);
	pixman_image_set_filter(image, PIXMAN_FILTER_NEAREST, NULL, 0);
}

struct cpu_image {
	struct wlr_buffer *buffer;
	pixman_image_t *image;
	void *readback; /* owned pixels when read back through the renderer */
};

static bool cpu_image_begin(struct cpu_image *img, struct wlr_buffer *buffer, uint32_t flags) {
	void *data;
	uint32_t format;
	size_t stride;
	img->buffer = NULL;
	img->readback = NULL;
	if (!wlr_buffer_begin_data_ptr_access(buffer, flags, &data, &format, &stride)) {
		return false;
	}
	pixman_format_code_t pf = pixman_format_from_drm(format);
	if (pf == 0) {
		wlr_log(WLR_ERROR, "zerocap: unsupported buffer format 0x%08x", format);
		wlr_buffer_end_data_ptr_access(buffer);
		return false;
	}
	img->image = pixman_image_create_bits_no_clear(pf, buffer->width, buffer->height,
		data, stride);
	if (img->image == NULL) {
		wlr_buffer_end_data_ptr_access(buffer);
		return false;
	}
	img->buffer = buffer;
	return true;
}

static bool read_back_rects(struct wlr_texture *texture, uint32_t format, size_t stride,
		const pixman_region32_t *region, void *data, struct zc_capture_stats *stats) {
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &rects[i];
		const struct wlr_texture_read_pixels_options options = {
			.data = data,
			.format = format,
			.stride = stride,
			.dst_x = b->x1,
			.dst_y = b->y1,
			.src_box = {.x = b->x1, .y = b->y1, .width = b->x2 - b->x1,
				.height = b->y2 - b->y1},
		};
		if (!wlr_texture_read_pixels(texture, &options)) {
			return false;
		}
		if (stats != NULL) {
			stats->cpu_pixel_reads++;
		}
	}
	return true;
}

/* Reads the pixels of region (source coordinates) of a GPU buffer. */
static bool cpu_image_read_back(struct cpu_image *img, struct wlr_renderer *renderer,
		struct wlr_buffer *buffer, const pixman_region32_t *region,
		struct zc_capture_stats *stats) {
	img->buffer = NULL;
	size_t stride = (size_t)buffer->width * 4;
	img->readback = malloc(stride * buffer->height);
	if (img->readback == NULL) {
		return false;
	}
	struct wlr_texture *texture = renderer != NULL ?
		wlr_texture_from_buffer(renderer, buffer) : NULL;
	if (texture == NULL) {
		wlr_log(WLR_ERROR, "zerocap: cannot import the output buffer for read back");
		free(img->readback);
		return false;
	}
	/* The renderer's own read format first (no conversion), then the ones we know. */
	uint32_t formats[] = {
		wlr_texture_preferred_read_format(texture), DRM_FORMAT_ARGB8888, DRM_FORMAT_ABGR8888,
	};
	uint32_t format = 0;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]) && format == 0; i++) {
		if (pixman_format_from_drm(formats[i]) != 0 &&
				read_back_rects(texture, formats[i], stride, region, img->readback, stats)) {
			format = formats[i];
		}
	}
	wlr_texture_destroy(texture);
	if (format == 0) {
		wlr_log(WLR_ERROR, "zerocap: reading back the output buffer failed");
		free(img->readback);
		return false;
	}
	img->image = pixman_image_create_bits_no_clear(pixman_format_from_drm(format),
		buffer->width, buffer->height, img->readback, stride);
	if (img->image == NULL) {
		free(img->readback);
		return false;
	}
	return true;
}

static void cpu_image_end(struct cpu_image *img) {
	pixman_image_unref(img->image);
	if (img->buffer != NULL) {
		wlr_buffer_end_data_ptr_access(img->buffer);
	}
	free(img->readback);
}

/* The source pixels that region (destination coordinates) samples. */
static void source_region(pixman_region32_t *out, const pixman_region32_t *region,
		const struct zc_copy_geometry *geometry, struct wlr_buffer *src) {
	pixman_region32_init(out);
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(region, &n);
	enum wl_output_transform inverse = wlr_output_transform_invert(geometry->transform);
	int full_w = src->width, full_h = src->height;
	if (geometry->transform % 2 == 1) {
		full_w = src->height;
		full_h = src->width;
	}
	for (int i = 0; i < n; i++) {
		struct wlr_box box = {
			.x = rects[i].x1 + geometry->area.x,
			.y = rects[i].y1 + geometry->area.y,
			.width = rects[i].x2 - rects[i].x1,
			.height = rects[i].y2 - rects[i].y1,
		};
		wlr_box_transform(&box, &box, inverse, full_w, full_h);
		pixman_region32_union_rect(out, out, box.x, box.y, box.width, box.height);
	}
}

/* Lays the overlay over dst, within dst's clip region. */
static void draw_overlay(pixman_image_t *dst, const struct zc_overlay *overlay) {
	if (overlay == NULL || overlay->image == NULL) {
		return;
	}
	struct cpu_image cursor;
	if (cpu_image_begin(&cursor, overlay->image, WLR_BUFFER_DATA_PTR_ACCESS_READ)) {
		set_image_transform(cursor.image, overlay->transform,
			overlay->image->width, overlay->image->height);
		pixman_image_composite32(PIXMAN_OP_OVER, cursor.image, NULL, dst,
			0, 0, 0, 0, overlay->box.x, overlay->box.y,
			overlay->box.width, overlay->box.height);
		cpu_image_end(&cursor);
	} else {
		wlr_log(WLR_ERROR, "zerocap: cursor image has no CPU access");
	}
}

/*
 * A layer texture's pixels as an image of our own, whose transform and
 * filter are ours to set: the pixman renderer's image shared, or, for other
 * renderers, the texture read back into *owned.
 */
static pixman_image_t *layer_image(struct wlr_texture *texture, void **owned,
		struct zc_capture_stats *stats) {
	*owned = NULL;
	if (wlr_texture_is_pixman(texture)) {
		pixman_image_t *image = wlr_pixman_texture_get_image(texture);
		return pixman_image_create_bits_no_clear(pixman_image_get_format(image),
			pixman_image_get_width(image), pixman_image_get_height(image),
			pixman_image_get_data(image), pixman_image_get_stride(image));
	}
	size_t stride = (size_t)texture->width * 4;
	*owned = malloc(stride * texture->height);
	if (*owned == NULL) {
		return NULL;
	}
	const struct wlr_texture_read_pixels_options options = {
		.data = *owned,
		.format = DRM_FORMAT_ARGB8888,
		.stride = stride,
	};
	if (!wlr_texture_read_pixels(texture, &options)) {
		wlr_log(WLR_ERROR, "zerocap: cannot read a layer's texture");
		free(*owned);
		*owned = NULL;
		return NULL;
	}
	if (stats != NULL) {
		stats->cpu_pixel_reads++;
	}
	pixman_image_t *image = pixman_image_create_bits_no_clear(PIXMAN_a8r8g8b8,
		texture->width, texture->height, *owned, stride);
	if (image == NULL) {
		free(*owned);
		*owned = NULL;
	}
	return image;
}

/* Blends one layer over dst (whose clip region is the copy's region). */
static bool composite_layer(pixman_image_t *dst, const struct zc_layer *layer,
		struct zc_capture_stats *stats) {
	if (layer->texture == NULL) {
		return false;
	}
	if (wlr_box_empty(&layer->dst)) {
		return true;
	}
	void *owned;
	pixman_image_t *image = layer_image(layer->texture, &owned, stats);
	if (image == NULL) {
		return false;
	}
	const double src[4] = {layer->src.x, layer->src.y, layer->src.width, layer->src.height};
	const int box[4] = {layer->dst.x, layer->dst.y, layer->dst.width, layer->dst.height};
	double m[6];
	bool scaled = zc_transform_layer_map(layer->transform, src, layer->texture->width,
		layer->texture->height, box, m);
	struct pixman_f_transform ft = {{
		{m[0], m[1], m[4]},
		{m[2], m[3], m[5]},
		{0, 0, 1},
	}};
	struct pixman_transform t;
	bool ok = pixman_transform_from_pixman_f_transform(&t, &ft);
	if (ok) {
		pixman_image_set_transform(image, &t);
		pixman_image_set_filter(image, scaled ? PIXMAN_FILTER_BILINEAR : PIXMAN_FILTER_NEAREST,
			NULL, 0);
		/* Samples at the layer's edges repeat them, as GL's clamp to edge does. */
		pixman_image_set_repeat(image, PIXMAN_REPEAT_PAD);
		/* The map takes destination pixels: the source origin is the destination's. */
		pixman_image_composite32(PIXMAN_OP_OVER, image, NULL, dst, box[0], box[1], 0, 0,
			box[0], box[1], box[2], box[3]);
	}
	pixman_image_unref(image);
	free(owned);
	return ok;
}

/* The composite of options->layers into dst's region, then the overlay. */
static bool copy_layers_cpu(const struct zc_copy_options *options,
		struct zc_capture_stats *stats) {
	struct cpu_image out;
	if (!cpu_image_begin(&out, options->dst, WLR_BUFFER_DATA_PTR_ACCESS_WRITE)) {
		wlr_log(WLR_ERROR, "zerocap: client buffer has no CPU access");
		return false;
	}
	pixman_region32_t *region = (pixman_region32_t *)options->region;
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(region, &n);
	const pixman_color_t transparent = {0};
	pixman_image_fill_boxes(PIXMAN_OP_SRC, out.image, &transparent, n, boxes);
	pixman_image_set_clip_region32(out.image, region);
	bool ok = true;
	for (size_t i = 0; i < options->n_layers && ok; i++) {
		ok = composite_layer(out.image, &options->layers[i], stats);
	}
	if (ok) {
		draw_overlay(out.image, options->overlay);
	} else {
		wlr_log(WLR_ERROR, "zerocap: a layer of the composite cannot be drawn");
	}
	cpu_image_end(&out);
	if (ok && stats != NULL) {
		stats->bytes_written += zc_region_area(region) * 4;
	}
	return ok;
}

bool zc_render_copy_cpu(struct wlr_renderer *renderer, const struct zc_copy_options *options,
		struct zc_capture_stats *stats, struct zc_faults *faults) {
	if (options->layers != NULL) {
		return copy_layers_cpu(options, stats);
	}
	struct wlr_buffer *src = options->src, *dst = options->dst;
	const struct zc_copy_geometry *geometry = &options->geometry;
	const pixman_region32_t *region = options->region;
	const struct zc_overlay *overlay = options->overlay;
	struct cpu_image out;
	if (!cpu_image_begin(&out, dst, WLR_BUFFER_DATA_PTR_ACCESS_WRITE)) {
		wlr_log(WLR_ERROR, "zerocap: client buffer has no CPU access");
		return false;
	}

	struct cpu_image in;
	bool ok = cpu_image_begin(&in, src, WLR_BUFFER_DATA_PTR_ACCESS_READ);
	if (!ok && renderer != NULL) {
		pixman_region32_t needed;
		source_region(&needed, region, geometry, src);
		if (zc_fault(faults, ZC_FAULT_READ_BACK)) {
			wlr_log(WLR_ERROR, "zerocap: reading back the output buffer failed (injected)");
		} else {
			ok = cpu_image_read_back(&in, renderer, src, &needed, stats);
		}
		pixman_region32_fini(&needed);
	}
	if (!ok) {
		cpu_image_end(&out);
		return false;
	}

	pixman_image_set_clip_region32(out.image, (pixman_region32_t *)region);
	set_image_transform(in.image, geometry->transform, src->width, src->height);
	pixman_image_composite32(PIXMAN_OP_SRC, in.image, NULL, out.image,
		geometry->area.x, geometry->area.y, 0, 0, 0, 0, dst->width, dst->height);
	cpu_image_end(&in);

	draw_overlay(out.image, overlay);
	cpu_image_end(&out);
	if (stats != NULL) {
		stats->bytes_written += zc_region_area(region) * 4;
	}
	return true;
}

bool zc_render_copy_pixels(const void *pixels, int width, int height, size_t stride,
		struct wlr_buffer *dst, const pixman_region32_t *region,
		struct zc_capture_stats *stats) {
	struct cpu_image out;
	if (!cpu_image_begin(&out, dst, WLR_BUFFER_DATA_PTR_ACCESS_WRITE)) {
		return false;
	}
	pixman_image_t *in = pixman_image_create_bits_no_clear(PIXMAN_a8b8g8r8, width, height,
		(uint32_t *)pixels, stride);
	if (in == NULL) {
		cpu_image_end(&out);
		return false;
	}
	pixman_image_set_clip_region32(out.image, (pixman_region32_t *)region);
	pixman_image_composite32(PIXMAN_OP_SRC, in, NULL, out.image, 0, 0, 0, 0, 0, 0,
		dst->width, dst->height);
	pixman_image_unref(in);
	cpu_image_end(&out);
	if (stats != NULL) {
		stats->bytes_written += zc_region_area(region) * 4;
	}
	return true;
}

bool zc_render_has_cpu_access(struct wlr_buffer *buffer) {
	void *data;
	uint32_t format;
	size_t stride;
	if (!wlr_buffer_begin_data_ptr_access(buffer, WLR_BUFFER_DATA_PTR_ACCESS_READ, &data,
			&format, &stride)) {
		return false;
	}
	wlr_buffer_end_data_ptr_access(buffer);
	return true;
}

/* Whether a shm buffer's file holds both planes of a YCbCr image. */
static bool shm_holds_planes(struct wlr_buffer *dst, uint32_t format, size_t stride) {
	struct wlr_shm_attributes shm;
	if (!zc_format_is_yuv(format) || !wlr_buffer_get_shm(dst, &shm)) {
		return true;
	}
	struct stat st;
	uint64_t need = (uint64_t)shm.offset + (uint64_t)stride * dst->height +
		(uint64_t)stride * (dst->height / 2);
	return fstat(shm.fd, &st) == 0 && (uint64_t)st.st_size >= need;
}

enum zc_copy_status zc_render_convert_cpu(struct wlr_renderer *renderer,
		const struct zc_copy_options *options, struct zc_capture_stats *stats,
		struct zc_faults *faults) {
	const struct zc_convert *convert = options->convert;
	struct wlr_box box = zc_convert_source_box(convert, options->region);
	if (wlr_box_empty(&box)) {
		return ZC_COPY_FINISHED;
	}
	/* The parent's image under the region, in a scratch image. */
	struct wlr_buffer *scratch = zc_memory_buffer_create(box.width, box.height,
		DRM_FORMAT_ARGB8888);
	struct zc_layer *layers = calloc(options->n_layers + 1, sizeof(*layers));
	if (scratch == NULL || layers == NULL) {
		wlr_buffer_drop(scratch);
		free(layers);
		return ZC_COPY_FAILED;
	}
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, box.width, box.height);
	struct zc_copy_options stage;
	struct zc_overlay overlay;
	zc_copy_options_shift(options, box, &stage, layers, &overlay);
	stage.dst = scratch;
	stage.dst_type = ZC_BUFFER_SHM;
	stage.dst_resource = NULL;
	stage.region = &all;
	bool ok = zc_render_copy_cpu(renderer, &stage, NULL, faults);
	pixman_region32_fini(&all);
	free(layers);

	enum zc_copy_status status = ok ? ZC_COPY_FINISHED : ZC_COPY_FAILED;
	void *data;
	uint32_t format = 0;
	size_t stride;
	if (ok && !wlr_buffer_begin_data_ptr_access(options->dst,
			WLR_BUFFER_DATA_PTR_ACCESS_WRITE, &data, &format, &stride)) {
		wlr_log(WLR_ERROR, "zerocap: client buffer has no CPU access");
		status = ZC_COPY_FAILED;
	} else if (ok) {
		size_t src_stride;
		const uint32_t *src = zc_memory_buffer_data(scratch, &src_stride);
		if (!shm_holds_planes(options->dst, format, stride)) {
			wlr_log(WLR_ERROR, "zerocap: a %ux%u YCbCr shm buffer is too small for its "
				"chroma plane", options->dst->width, options->dst->height);
			status = ZC_COPY_BAD_BUFFER;
		} else if (!zc_convert_cpu(convert, src, src_stride, box, data, format, stride,
				options->dst->width, options->dst->height, options->region)) {
			wlr_log(WLR_ERROR, "zerocap: cannot convert into format 0x%08x", format);
			status = ZC_COPY_BAD_BUFFER;
		}
		wlr_buffer_end_data_ptr_access(options->dst);
	}
	wlr_buffer_drop(scratch);
	if (status == ZC_COPY_FINISHED && stats != NULL) {
		uint64_t area = zc_region_area(options->region);
		stats->bytes_written += format == DRM_FORMAT_NV12 ? area * 3 / 2 :
			format == DRM_FORMAT_P010 ? area * 3 : area * 4;
	}
	return status;
}
