/*
 * The render engine's composites (zc_copy_options.layers) against pixels
 * computed here with plain loops: layers in all eight transforms, a source
 * crop, premultiplied blending, layers reaching past the destination, a
 * partial region, a 2x downscale (bilinear, not nearest), XRGB layers, the
 * cursor overlay and the four shm formats. Runs on wlroots' pixman renderer
 * always, and on its GLES2 renderer (shm read back and dma-buf draw) where
 * a DRM device lets one be made; the output says which ran.
 */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <drm_fourcc.h>
#include <gbm.h>
#include <wayland-server-core.h>
#include <wlr/interfaces/wlr_buffer.h>
#include <wlr/render/gles2.h>
#include <wlr/render/pass.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/render/wlr_texture.h>
#include <wlr/util/log.h>
#include "render/blit.h"
#include "render/engine.h"
#include "render/transform.h"

#include "check.h"

/* ---- buffers: CPU memory, or a GBM dma-buf ---- */

struct mem_buffer {
	struct wlr_buffer base;
	uint32_t format;
	size_t stride;
	uint8_t *data;
};

static void mem_destroy(struct wlr_buffer *base) {
	struct mem_buffer *buffer = wl_container_of(base, buffer, base);
	free(buffer->data);
	free(buffer);
}

static bool mem_begin(struct wlr_buffer *base, uint32_t flags, void **data, uint32_t *format,
		size_t *stride) {
	struct mem_buffer *buffer = wl_container_of(base, buffer, base);
	*data = buffer->data;
	*format = buffer->format;
	*stride = buffer->stride;
	return true;
}

static void mem_end(struct wlr_buffer *base) {
}

static const struct wlr_buffer_impl mem_impl = {
	.destroy = mem_destroy,
	.begin_data_ptr_access = mem_begin,
	.end_data_ptr_access = mem_end,
};

static struct mem_buffer *mem_create(int width, int height, uint32_t format) {
	struct mem_buffer *buffer = calloc(1, sizeof(*buffer));
	buffer->format = format;
	buffer->stride = (size_t)width * 4 + 8; /* not tightly packed on purpose */
	buffer->data = calloc(height, buffer->stride);
	wlr_buffer_init(&buffer->base, &mem_impl, width, height);
	return buffer;
}

static uint32_t *mem_pixel(struct mem_buffer *buffer, int x, int y) {
	return (uint32_t *)(buffer->data + (size_t)y * buffer->stride) + x;
}

struct gbm_buffer {
	struct wlr_buffer base;
	struct gbm_bo *bo;
	struct wlr_dmabuf_attributes attribs;
};

static void gbm_buffer_destroy(struct wlr_buffer *base) {
	struct gbm_buffer *buffer = wl_container_of(base, buffer, base);
	close(buffer->attribs.fd[0]);
	gbm_bo_destroy(buffer->bo);
	free(buffer);
}

static bool gbm_buffer_get_dmabuf(struct wlr_buffer *base,
		struct wlr_dmabuf_attributes *attribs) {
	struct gbm_buffer *buffer = wl_container_of(base, buffer, base);
	*attribs = buffer->attribs;
	return true;
}

static const struct wlr_buffer_impl gbm_impl = {
	.destroy = gbm_buffer_destroy,
	.get_dmabuf = gbm_buffer_get_dmabuf,
};

static struct gbm_buffer *gbm_buffer_create(struct gbm_device *gbm, int width, int height,
		uint32_t format) {
	struct gbm_bo *bo = gbm_bo_create(gbm, width, height, format,
		GBM_BO_USE_RENDERING | GBM_BO_USE_LINEAR);
	if (bo == NULL) {
		return NULL;
	}
	struct gbm_buffer *buffer = calloc(1, sizeof(*buffer));
	buffer->bo = bo;
	buffer->attribs = (struct wlr_dmabuf_attributes){
		.width = width,
		.height = height,
		.format = format,
		.modifier = gbm_bo_get_modifier(bo),
		.n_planes = 1,
		.offset = {gbm_bo_get_offset(bo, 0)},
		.stride = {gbm_bo_get_stride(bo)},
		.fd = {gbm_bo_get_fd(bo)},
	};
	wlr_buffer_init(&buffer->base, &gbm_impl, width, height);
	return buffer;
}

/* ---- the model: premultiplied RGBA, 0..255 ---- */

struct rgba {
	int r, g, b, a;
};

/* Texture pixels are stored as ARGB8888 or XRGB8888 words. */
static struct rgba unpack_argb(uint32_t v, bool opaque) {
	return (struct rgba){(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff,
		opaque ? 255 : (int)(v >> 24)};
}

static int mul_un8(int a, int b) {
	return (int)lround(a * b / 255.0);
}

static struct rgba over(struct rgba src, struct rgba dst) {
	int k = 255 - src.a;
	return (struct rgba){src.r + mul_un8(dst.r, k), src.g + mul_un8(dst.g, k),
		src.b + mul_un8(dst.b, k), src.a + mul_un8(dst.a, k)};
}

struct texture {
	struct mem_buffer *buffer;
	struct wlr_texture *texture;
	GLuint gl_tex; /* the GL-only run's copy */
	bool opaque;
};

struct model_layer {
	const struct texture *texture;
	struct wlr_fbox src; /* resolved: never empty */
	struct wlr_box dst;
	enum wl_output_transform transform;
	bool empty_src; /* handed to the engine as an empty box: the whole texture */
};

static struct rgba texel(const struct texture *t, int x, int y) {
	int w = t->buffer->base.width, h = t->buffer->base.height;
	x = x < 0 ? 0 : x >= w ? w - 1 : x;
	y = y < 0 ? 0 : y >= h ? h - 1 : y;
	return unpack_argb(*mem_pixel(t->buffer, x, y), t->opaque);
}

/*
 * Where a point (X, Y) of the transformed image of a w x h source comes
 * from, as wlroots draws textures (measured on its renderers: transform 90
 * puts the source's top right corner at the top left).
 */
static void untransform(enum wl_output_transform transform, double X, double Y, double w,
		double h, double *sx, double *sy) {
	switch (transform) {
	case WL_OUTPUT_TRANSFORM_NORMAL:
		*sx = X, *sy = Y;
		break;
	case WL_OUTPUT_TRANSFORM_90:
		*sx = w - Y, *sy = X;
		break;
	case WL_OUTPUT_TRANSFORM_180:
		*sx = w - X, *sy = h - Y;
		break;
	case WL_OUTPUT_TRANSFORM_270:
		*sx = Y, *sy = h - X;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED:
		*sx = w - X, *sy = Y;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_90:
		*sx = Y, *sy = X;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_180:
		*sx = X, *sy = h - Y;
		break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_270:
		*sx = w - Y, *sy = h - X;
		break;
	}
}

static struct rgba sample_layer(const struct model_layer *l, int x, int y) {
	double tw = l->transform % 2 ? l->src.height : l->src.width;
	double th = l->transform % 2 ? l->src.width : l->src.height;
	double X = (x + 0.5 - l->dst.x) * tw / l->dst.width;
	double Y = (y + 0.5 - l->dst.y) * th / l->dst.height;
	double sx, sy;
	untransform(l->transform, X, Y, l->src.width, l->src.height, &sx, &sy);
	sx += l->src.x;
	sy += l->src.y;
	if (tw == l->dst.width && th == l->dst.height) {
		return texel(l->texture, (int)floor(sx), (int)floor(sy));
	}
	/* Bilinear between the four nearest texel centres, edges repeated. */
	double fx = sx - 0.5, fy = sy - 0.5;
	int x0 = (int)floor(fx), y0 = (int)floor(fy);
	double ax = fx - x0, ay = fy - y0;
	struct rgba c[4] = {texel(l->texture, x0, y0), texel(l->texture, x0 + 1, y0),
		texel(l->texture, x0, y0 + 1), texel(l->texture, x0 + 1, y0 + 1)};
	double w[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
	double r = 0, g = 0, b = 0, a = 0;
	for (int i = 0; i < 4; i++) {
		r += w[i] * c[i].r;
		g += w[i] * c[i].g;
		b += w[i] * c[i].b;
		a += w[i] * c[i].a;
	}
	return (struct rgba){(int)lround(r), (int)lround(g), (int)lround(b), (int)lround(a)};
}

static bool in_box(const struct wlr_box *box, int x, int y) {
	return x >= box->x && x < box->x + box->width && y >= box->y && y < box->y + box->height;
}

/* ---- one composite on one renderer and destination ---- */

enum dst_kind {
	DST_SHM,
	DST_DMABUF,
};

struct env {
	const char *name;
	struct wlr_renderer *renderer;
	struct wl_event_loop *loop;
	struct zc_render_engine *engine;
	struct gbm_device *gbm; /* dma-buf destinations; NULL: none */
	int max_error_exact, max_error_scaled;
	/* Without a renderer: blit.c's composite on a bare EGL context. */
	bool blit_only;
	struct zc_blit_program program;
};

#define SENTINEL 0x5a3c1e99u

struct scene {
	const char *name;
	int width, height;
	struct model_layer layers[12];
	int n_layers;
	pixman_box32_t rects[4]; /* the region; none: the whole destination */
	int n_rects;
	const struct texture *cursor; /* drawn at cursor_x, cursor_y (1:1) */
	int cursor_x, cursor_y;
};

static bool unsupported_kind(const struct env *env, enum dst_kind kind) {
	return kind == DST_DMABUF && env->gbm == NULL;
}

static void handle_done(void *data, bool ok) {
	int *state = data;
	*state = ok ? 1 : 2;
}

static const char *format_name(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_ARGB8888:
		return "ARGB8888";
	case DRM_FORMAT_XRGB8888:
		return "XRGB8888";
	case DRM_FORMAT_ABGR8888:
		return "ABGR8888";
	case DRM_FORMAT_XBGR8888:
		return "XBGR8888";
	}
	return "?";
}

/* The pixel at (x, y) of the destination as premultiplied RGBA (a = -1: no alpha). */
static struct rgba read_dst(const uint8_t *data, size_t stride, uint32_t format, int x, int y) {
	uint32_t v = ((const uint32_t *)(data + (size_t)y * stride))[x];
	struct rgba c = unpack_argb(v, false);
	if (format == DRM_FORMAT_ABGR8888 || format == DRM_FORMAT_XBGR8888) {
		int r = c.r;
		c.r = c.b;
		c.b = r;
	}
	if (format == DRM_FORMAT_XRGB8888 || format == DRM_FORMAT_XBGR8888) {
		c.a = -1;
	}
	return c;
}

/* The destination's pixels (data, stride, format) against the model. */
static void compare_scene(const struct env *env, const struct scene *scene,
		const char *kind_name, uint32_t format, pixman_region32_t *region,
		const uint8_t *data, size_t stride) {
	const struct mem_buffer *cursor_copy = scene->cursor != NULL ? scene->cursor->buffer : NULL;
	int bad = 0;
	for (int y = 0; y < scene->height; y++) {
		for (int x = 0; x < scene->width; x++) {
			struct rgba want;
			bool inside = pixman_region32_contains_point(region, x, y, NULL);
			int tolerance = env->max_error_exact;
			if (!inside) {
				want = read_dst((const uint8_t *)&(uint32_t){SENTINEL}, 0, format, 0, 0);
				tolerance = 0;
			} else {
				want = (struct rgba){0, 0, 0, 0};
				for (int i = 0; i < scene->n_layers; i++) {
					const struct model_layer *l = &scene->layers[i];
					if (in_box(&l->dst, x, y)) {
						want = over(sample_layer(l, x, y), want);
						double tw = l->transform % 2 ? l->src.height : l->src.width;
						double th = l->transform % 2 ? l->src.width : l->src.height;
						if (tw != l->dst.width || th != l->dst.height) {
							tolerance = env->max_error_scaled;
						}
					}
				}
				if (scene->cursor != NULL) {
					struct wlr_box box = {scene->cursor_x, scene->cursor_y,
						cursor_copy->base.width, cursor_copy->base.height};
					if (in_box(&box, x, y)) {
						want = over(texel(scene->cursor, x - box.x, y - box.y), want);
					}
				}
			}
			struct rgba got = read_dst(data, stride, format, x, y);
			bool alpha = got.a >= 0;
			if (abs(got.r - want.r) > tolerance || abs(got.g - want.g) > tolerance ||
					abs(got.b - want.b) > tolerance ||
					(alpha && abs(got.a - want.a) > tolerance)) {
				if (bad++ < 4) {
					CHECK(false, "%s/%s/%s/%s: pixel %d,%d is %d,%d,%d,%d, want "
						"%d,%d,%d,%d (+-%d)", env->name, kind_name, format_name(format),
						scene->name, x, y, got.r, got.g, got.b, got.a, want.r, want.g,
						want.b, want.a, tolerance);
				}
			}
		}
	}
	if (bad == 0) {
		CHECK(true, "");
	} else if (bad > 4) {
		fprintf(stderr, "  ... %d wrong pixels in all\n", bad);
	}
}

/* The scene drawn by zc_blit_composite into a GL_RGBA texture, read back. */
static void run_scene_blit(struct env *env, const struct scene *scene) {
	int w = scene->width, h = scene->height;
	uint32_t *pixels = malloc((size_t)w * h * 4);
	for (int i = 0; i < w * h; i++) {
		pixels[i] = SENTINEL;
	}
	GLuint tex, fbo;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
	glBindTexture(GL_TEXTURE_2D, 0);
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);

	struct zc_blit_layer layers[13];
	int n = 0;
	for (int i = 0; i < scene->n_layers; i++) {
		const struct model_layer *l = &scene->layers[i];
		const struct texture *t = l->texture;
		const double src[4] = {l->src.x, l->src.y, l->empty_src ? 0 : l->src.width,
			l->empty_src ? 0 : l->src.height};
		const int dst[4] = {l->dst.x, l->dst.y, l->dst.width, l->dst.height};
		struct zc_blit_layer *out = &layers[n++];
		*out = (struct zc_blit_layer){
			.image = {GL_TEXTURE_2D, t->gl_tex, t->buffer->base.width,
				t->buffer->base.height},
			.opaque = t->opaque,
			.box = {dst[0], dst[1], dst[0] + dst[2], dst[1] + dst[3]},
		};
		out->linear = zc_transform_layer_map(l->transform, src, out->image.width,
			out->image.height, dst, out->map);
	}
	if (scene->cursor != NULL) {
		const struct texture *t = scene->cursor;
		const double src[4] = {0};
		const int dst[4] = {scene->cursor_x, scene->cursor_y, t->buffer->base.width,
			t->buffer->base.height};
		struct zc_blit_layer *out = &layers[n++];
		*out = (struct zc_blit_layer){
			.image = {GL_TEXTURE_2D, t->gl_tex, dst[2], dst[3]},
			.box = {dst[0], dst[1], dst[0] + dst[2], dst[1] + dst[3]},
		};
		zc_transform_layer_map(WL_OUTPUT_TRANSFORM_NORMAL, src, dst[2], dst[3], dst, out->map);
	}
	pixman_region32_t region;
	if (scene->n_rects == 0) {
		pixman_region32_init_rect(&region, 0, 0, w, h);
	} else {
		pixman_region32_init_rects(&region, scene->rects, scene->n_rects);
	}
	struct zc_blit_composite composite = {
		.dst_width = w,
		.dst_height = h,
		.layers = layers,
		.n_layers = n,
	};
	composite.boxes = (const struct zc_blit_box *)pixman_region32_rectangles(&region,
		&composite.n_boxes);
	CHECK(zc_blit_composite(&env->program, NULL, &composite), "%s/%s: the composite failed",
		env->name, scene->name);
	glPixelStorei(GL_PACK_ALIGNMENT, 4);
	glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
	CHECK(glGetError() == GL_NO_ERROR, "%s/%s: GL error", env->name, scene->name);
	/* GL_RGBA bytes are ABGR8888 words. */
	compare_scene(env, scene, "fbo", DRM_FORMAT_ABGR8888, &region, (const uint8_t *)pixels,
		(size_t)w * 4);
	pixman_region32_fini(&region);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glDeleteFramebuffers(1, &fbo);
	glDeleteTextures(1, &tex);
	free(pixels);
}

static void run_scene(struct env *env, const struct scene *scene, enum dst_kind kind,
		uint32_t format) {
	if (env->blit_only) {
		run_scene_blit(env, scene);
		return;
	}
	struct zc_layer layers[12];
	for (int i = 0; i < scene->n_layers; i++) {
		const struct model_layer *l = &scene->layers[i];
		layers[i] = (struct zc_layer){
			.texture = l->texture->texture,
			.src = l->empty_src ? (struct wlr_fbox){0} : l->src,
			.dst = l->dst,
			.transform = l->transform,
		};
	}
	pixman_region32_t region;
	if (scene->n_rects == 0) {
		pixman_region32_init_rect(&region, 0, 0, scene->width, scene->height);
	} else {
		pixman_region32_init_rects(&region, scene->rects, scene->n_rects);
	}

	struct mem_buffer *mem = NULL;
	struct gbm_buffer *dmabuf = NULL;
	struct wlr_buffer *dst;
	if (kind == DST_SHM) {
		mem = mem_create(scene->width, scene->height, format);
		dst = &mem->base;
		for (int y = 0; y < scene->height; y++) {
			for (int x = 0; x < scene->width; x++) {
				*mem_pixel(mem, x, y) = SENTINEL;
			}
		}
	} else {
		dmabuf = gbm_buffer_create(env->gbm, scene->width, scene->height, format);
		if (dmabuf == NULL) {
			CHECK(false, "%s: no %dx%d dma-buf", scene->name, scene->width, scene->height);
			pixman_region32_fini(&region);
			return;
		}
		dst = &dmabuf->base;
		uint32_t stride;
		void *map_data = NULL;
		uint8_t *p = gbm_bo_map(dmabuf->bo, 0, 0, scene->width, scene->height,
			GBM_BO_TRANSFER_WRITE, &stride, &map_data);
		CHECK(p != NULL, "%s: cannot map the dma-buf", scene->name);
		if (p != NULL) {
			for (int y = 0; y < scene->height; y++) {
				for (int x = 0; x < scene->width; x++) {
					((uint32_t *)(p + (size_t)y * stride))[x] = SENTINEL;
				}
			}
			gbm_bo_unmap(dmabuf->bo, map_data);
		}
	}

	struct mem_buffer *cursor_copy = NULL;
	struct zc_overlay overlay;
	if (scene->cursor != NULL) {
		cursor_copy = scene->cursor->buffer;
		overlay = (struct zc_overlay){
			.image = &cursor_copy->base,
			.box = {scene->cursor_x, scene->cursor_y, cursor_copy->base.width,
				cursor_copy->base.height},
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
	}
	struct zc_copy_options options = {
		.layers = layers,
		.n_layers = scene->n_layers,
		.dst = dst,
		.dst_type = kind == DST_SHM ? ZC_BUFFER_SHM : ZC_BUFFER_DMABUF,
		.region = &region,
		.overlay = scene->cursor != NULL ? &overlay : NULL,
	};
	uint64_t blits = env->engine->stats.gpu_blits;
	uint64_t written = env->engine->stats.bytes_written;
	int state = 0;
	struct zc_render_job *job = NULL;
	enum zc_copy_status status = zc_render_copy(env->engine, &options, handle_done, &state,
		&job);
	const char *kind_name = kind == DST_SHM ? "shm" : "dma-buf";
	CHECK(status == ZC_COPY_FINISHED || status == ZC_COPY_QUEUED,
		"%s/%s/%s/%s: copy status %d", env->name, kind_name, format_name(format),
		scene->name, status);
	if (status == ZC_COPY_QUEUED) {
		for (int i = 0; i < 500 && state == 0; i++) {
			wl_event_loop_dispatch(env->loop, 10);
		}
		CHECK(state == 1, "%s/%s/%s: job ended with %d", env->name, kind_name,
			scene->name, state);
	}
	if (env->engine->gl != NULL && kind == DST_DMABUF) {
		CHECK(env->engine->stats.gpu_blits == blits + 1, "%s/%s: %llu gpu blits",
			env->name, scene->name,
			(unsigned long long)(env->engine->stats.gpu_blits - blits));
	}
	CHECK(env->engine->stats.bytes_written - written == zc_region_area(&region) * 4,
		"%s/%s: bytes_written", env->name, scene->name);

	const uint8_t *data = NULL;
	size_t stride = 0;
	void *map_data = NULL;
	if (mem != NULL) {
		data = mem->data;
		stride = mem->stride;
	} else {
		uint32_t map_stride;
		data = gbm_bo_map(dmabuf->bo, 0, 0, scene->width, scene->height,
			GBM_BO_TRANSFER_READ, &map_stride, &map_data);
		stride = map_stride;
		CHECK(data != NULL, "%s: cannot map the dma-buf", scene->name);
	}
	if (data != NULL) {
		compare_scene(env, scene, kind_name, format, &region, data, stride);
	}
	if (dmabuf != NULL && map_data != NULL) {
		gbm_bo_unmap(dmabuf->bo, map_data);
	}
	wlr_buffer_drop(dst);
	pixman_region32_fini(&region);
}

/* ---- textures ---- */

#define MAX_TEXTURES 32

struct textures {
	struct texture all[MAX_TEXTURES];
	int n;
};

typedef uint32_t (*pixel_func)(int x, int y, int seed);

static const struct texture *make_texture(struct env *env, struct textures *set, int width,
		int height, bool opaque, pixel_func pixel, int seed) {
	struct texture *t = &set->all[set->n++];
	t->opaque = opaque;
	t->buffer = mem_create(width, height, opaque ? DRM_FORMAT_XRGB8888 : DRM_FORMAT_ARGB8888);
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			*mem_pixel(t->buffer, x, y) = pixel(x, y, seed);
		}
	}
	if (env->blit_only) {
		/* GL_RGBA bytes; the padding byte of XRGB pixels goes up as alpha. */
		uint8_t *rgba = malloc((size_t)width * height * 4);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				uint32_t v = *mem_pixel(t->buffer, x, y);
				uint8_t *p = &rgba[((size_t)y * width + x) * 4];
				p[0] = v >> 16, p[1] = v >> 8, p[2] = v, p[3] = v >> 24;
			}
		}
		glGenTextures(1, &t->gl_tex);
		glBindTexture(GL_TEXTURE_2D, t->gl_tex);
		glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
			rgba);
		glBindTexture(GL_TEXTURE_2D, 0);
		free(rgba);
		CHECK(glGetError() == GL_NO_ERROR, "%s: texture %d", env->name, set->n);
		return t;
	}
	t->texture = wlr_texture_from_buffer(env->renderer, &t->buffer->base);
	CHECK(t->texture != NULL, "%s: texture %d", env->name, set->n);
	return t;
}

static void textures_finish(struct textures *set) {
	for (int i = 0; i < set->n; i++) {
		wlr_texture_destroy(set->all[i].texture);
		glDeleteTextures(set->all[i].gl_tex != 0 ? 1 : 0, &set->all[i].gl_tex);
		wlr_buffer_drop(&set->all[i].buffer->base);
	}
	set->n = 0;
}

/* Distinct opaque pixels; the padding byte of XRGB layers is 0 on purpose. */
static uint32_t pixel_unique(int x, int y, int seed) {
	return 0xff000000u | (uint32_t)((seed * 37 + 11) & 0xff) << 16 |
		(uint32_t)(x * 23 + 5) << 8 | (uint32_t)(y * 29 + 3);
}

static uint32_t pixel_unique_x0(int x, int y, int seed) {
	return pixel_unique(x, y, seed) & 0x00ffffffu;
}

/* Premultiplied, alpha 128 or 64 by seed. */
static uint32_t pixel_translucent(int x, int y, int seed) {
	uint32_t a = seed == 0 ? 128 : 64;
	uint32_t r = (x * 7) % (a + 1), g = (y * 5) % (a + 1), b = seed == 0 ? a / 2 : a;
	return a << 24 | r << 16 | g << 8 | b;
}

static uint32_t pixel_checker(int x, int y, int seed) {
	return (x + y) % 2 == 0 ? 0xffc83c14u : 0x80102040u;
}

/* An arrow-like cursor: opaque top left, translucent elsewhere, clear corner. */
static uint32_t pixel_cursor(int x, int y, int seed) {
	if (x + y < 4) {
		return 0xffffffffu;
	}
	if (x > 5 && y > 5) {
		return 0;
	}
	return 0x80400000u;
}

static struct wlr_fbox whole(const struct texture *t) {
	return (struct wlr_fbox){0, 0, t->buffer->base.width, t->buffer->base.height};
}

static void run_all(struct env *env, enum dst_kind kind, uint32_t format) {
	if (unsupported_kind(env, kind)) {
		return;
	}
	struct textures set = {0};
	struct scene scene;

	/* Eight 5x3 textures, one per transform, drawn 1:1 side by side. */
	scene = (struct scene){.name = "transforms", .width = 44, .height = 16};
	for (int t = 0; t < 8; t++) {
		const struct texture *tex = make_texture(env, &set, 5, 3, false, pixel_unique, t);
		int w = t % 2 ? 3 : 5, h = t % 2 ? 5 : 3;
		scene.layers[scene.n_layers++] = (struct model_layer){
			.texture = tex, .src = whole(tex),
			.dst = {1 + (t % 4) * 10, 1 + (t / 4) * 7, w, h}, .transform = t,
		};
	}
	run_scene(env, &scene, kind, format);

	/* A viewport's crop of a 9x7 texture, plain and turned, and an empty src box. */
	scene = (struct scene){.name = "crop", .width = 24, .height = 12};
	const struct texture *big = make_texture(env, &set, 9, 7, false, pixel_unique, 3);
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = big, .src = {2, 1, 5, 4}, .dst = {0, 0, 5, 4},
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = big, .src = {3, 2, 6, 3}, .dst = {7, 1, 3, 6},
		.transform = WL_OUTPUT_TRANSFORM_90,
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = big, .src = {1, 3, 4, 4}, .dst = {12, 2, 4, 4},
		.transform = WL_OUTPUT_TRANSFORM_FLIPPED_270,
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = big, .src = whole(big), .dst = {15, 3, 9, 7},
		.transform = WL_OUTPUT_TRANSFORM_180, .empty_src = true,
	};
	run_scene(env, &scene, kind, format);

	/* Overlapping translucent layers over an opaque one, reaching past the edges. */
	scene = (struct scene){.name = "blend", .width = 20, .height = 14};
	const struct texture *back = make_texture(env, &set, 16, 10, false, pixel_unique, 5);
	const struct texture *half = make_texture(env, &set, 12, 9, false, pixel_translucent, 0);
	const struct texture *quarter = make_texture(env, &set, 9, 12, false,
		pixel_translucent, 1);
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = back, .src = whole(back), .dst = {2, 2, 16, 10},
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = half, .src = whole(half), .dst = {-4, -3, 12, 9},
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = quarter, .src = whole(quarter), .dst = {14, 5, 12, 9},
		.transform = WL_OUTPUT_TRANSFORM_270,
	};
	run_scene(env, &scene, kind, format);

	/* The same with a region of two boxes: the rest keeps the sentinel. */
	scene.name = "region";
	scene.rects[0] = (pixman_box32_t){1, 1, 9, 6};
	scene.rects[1] = (pixman_box32_t){11, 8, 19, 13};
	scene.n_rects = 2;
	run_scene(env, &scene, kind, format);

	/* XRGB layers whose padding byte is 0 are still opaque; a cursor on top. */
	scene = (struct scene){.name = "xrgb-cursor", .width = 16, .height = 12};
	const struct texture *x0 = make_texture(env, &set, 10, 8, true, pixel_unique_x0, 7);
	const struct texture *arrow = make_texture(env, &set, 8, 8, false, pixel_cursor, 0);
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = half, .src = whole(half), .dst = {0, 0, 12, 9},
	};
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = x0, .src = whole(x0), .dst = {4, 3, 8, 10},
		.transform = WL_OUTPUT_TRANSFORM_FLIPPED_90,
	};
	scene.cursor = arrow;
	scene.cursor_x = 9;
	scene.cursor_y = 6;
	run_scene(env, &scene, kind, format);

	/* A 16x16 checker drawn at 8x8: every pixel the average of two colours. */
	scene = (struct scene){.name = "downscale", .width = 12, .height = 12};
	const struct texture *checker = make_texture(env, &set, 16, 16, false, pixel_checker, 0);
	scene.layers[scene.n_layers++] = (struct model_layer){
		.texture = checker, .src = whole(checker), .dst = {2, 2, 8, 8},
	};
	run_scene(env, &scene, kind, format);

	/* No layers: the region is cleared. */
	scene = (struct scene){.name = "empty", .width = 8, .height = 8, .n_rects = 1,
		.rects = {{2, 2, 6, 5}}};
	run_scene(env, &scene, kind, format);

	textures_finish(&set);
}

/*
 * The test's own transform model against wlroots' renderer drawing the same
 * layers: a mistake in untransform() would otherwise pass both sides alike.
 */
static void check_model_against_wlroots(struct env *env) {
	struct textures set = {0};
	const struct texture *tex = make_texture(env, &set, 5, 3, false, pixel_unique, 1);
	for (int t = 0; t < 8; t++) {
		int w = t % 2 ? 2 : 4, h = t % 2 ? 4 : 2;
		struct mem_buffer *dst = mem_create(w, h, DRM_FORMAT_ARGB8888);
		struct model_layer l = {.texture = tex, .src = {1, 1, 4, 2}, .dst = {0, 0, w, h},
			.transform = t};
		struct wlr_render_pass *pass =
			wlr_renderer_begin_buffer_pass(env->renderer, &dst->base, NULL);
		wlr_render_pass_add_texture(pass, &(struct wlr_render_texture_options){
			.texture = tex->texture, .src_box = l.src, .dst_box = l.dst, .transform = t,
			.filter_mode = WLR_SCALE_FILTER_NEAREST,
		});
		CHECK(wlr_render_pass_submit(pass), "wlroots render pass");
		for (int y = 0; y < h; y++) {
			for (int x = 0; x < w; x++) {
				struct rgba want = sample_layer(&l, x, y);
				struct rgba got = unpack_argb(*mem_pixel(dst, x, y), false);
				CHECK(got.r == want.r && got.g == want.g && got.b == want.b,
					"transform %d: wlroots drew %d,%d,%d at %d,%d, the model says "
					"%d,%d,%d", t, got.r, got.g, got.b, x, y, want.r, want.g, want.b);
			}
		}
		wlr_buffer_drop(&dst->base);
	}
	textures_finish(&set);
}

static struct wlr_renderer *gles2_renderer(int *fd_out, const char **device) {
	const char *candidates[] = {getenv("ZC_TEST_DRM_DEVICE"), "/dev/dri/renderD128",
		"/dev/dri/renderD129", "/dev/dri/card0", "/dev/dri/card1"};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (candidates[i] == NULL) {
			continue;
		}
		int fd = open(candidates[i], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			continue;
		}
		struct wlr_renderer *renderer = wlr_gles2_renderer_create_with_drm_fd(fd);
		if (renderer != NULL) {
			*fd_out = fd;
			*device = candidates[i];
			return renderer;
		}
		close(fd);
	}
	return NULL;
}

/* Mesa's surfaceless platform (llvmpipe without a DRM device). */
static bool bare_gl_context(EGLDisplay *display_out) {
	const char *client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (client == NULL || strstr(client, "EGL_MESA_platform_surfaceless") == NULL ||
			get_platform_display == NULL) {
		return false;
	}
	EGLDisplay display = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA,
		EGL_DEFAULT_DISPLAY, NULL);
	if (display == EGL_NO_DISPLAY || !eglInitialize(display, NULL, NULL)) {
		return false;
	}
	const EGLint attribs[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
	EGLContext context = EGL_NO_CONTEXT;
	if (eglBindAPI(EGL_OPENGL_ES_API)) {
		context = eglCreateContext(display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attribs);
	}
	if (context == EGL_NO_CONTEXT ||
			!eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context)) {
		eglTerminate(display);
		return false;
	}
	*display_out = display;
	return true;
}

static void run_blit_only(void) {
	EGLDisplay display;
	if (!bare_gl_context(&display)) {
		printf("no bare EGL context either: blit.c's composite NOT tested\n");
		return;
	}
	struct env env = {
		.name = "blit",
		.blit_only = true,
		.max_error_exact = 1,
		.max_error_scaled = 1,
	};
	char error[512];
	bool ok = zc_blit_program_init(&env.program, false, error, sizeof(error));
	CHECK(ok, "blit programs: %s", error);
	if (ok) {
		run_all(&env, DST_SHM, DRM_FORMAT_ABGR8888);
		zc_blit_program_finish(&env.program);
	}
	printf("blit.c's composite (the GLES2 draw without wlroots) tested on %s\n",
		(const char *)glGetString(GL_RENDERER));
	eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglTerminate(display);
}

static const uint32_t shm_formats[] = {
	DRM_FORMAT_ARGB8888, DRM_FORMAT_XRGB8888, DRM_FORMAT_ABGR8888, DRM_FORMAT_XBGR8888,
};

static void run_env(struct env *env) {
	env->loop = wl_event_loop_create();
	env->engine = zc_render_engine_create(env->renderer, env->loop);
	for (size_t i = 0; i < sizeof(shm_formats) / sizeof(shm_formats[0]); i++) {
		run_all(env, DST_SHM, shm_formats[i]);
	}
	if (env->gbm != NULL && env->engine->gl == NULL) {
		printf("%s: the engine has no GPU path here: dma-buf destinations NOT tested\n",
			env->name);
		gbm_device_destroy(env->gbm);
		env->gbm = NULL;
	}
	run_all(env, DST_DMABUF, DRM_FORMAT_ARGB8888);
	run_all(env, DST_DMABUF, DRM_FORMAT_XRGB8888);
	zc_render_engine_destroy(env->engine);
	wl_event_loop_destroy(env->loop);
}

int main(void) {
	wlr_log_init(getenv("ZC_TEST_DEBUG") != NULL ? WLR_DEBUG : WLR_ERROR, NULL);

	struct env pixman_env = {
		.name = "pixman",
		.renderer = wlr_pixman_renderer_create(),
		.max_error_exact = 0,
		.max_error_scaled = 1,
	};
	CHECK(pixman_env.renderer != NULL, "no pixman renderer");
	if (pixman_env.renderer != NULL) {
		check_model_against_wlroots(&pixman_env);
		run_env(&pixman_env);
		wlr_renderer_destroy(pixman_env.renderer);
	}
	printf("pixman renderer: shm destinations in 4 formats tested\n");

	int fd = -1;
	const char *device = NULL;
	struct env gl_env = {
		.name = "gles2",
		.max_error_exact = 1, /* GL blends in floats, pixman in integers */
		.max_error_scaled = 1,
	};
	gl_env.renderer = gles2_renderer(&fd, &device);
	if (gl_env.renderer == NULL) {
		printf("no GLES2 renderer (no usable DRM device): the engine's GLES2 paths NOT "
			"tested\n");
		run_blit_only();
	} else {
		gl_env.gbm = gbm_create_device(fd);
		run_env(&gl_env);
		printf("GLES2 renderer on %s: shm read back tested, dma-buf destinations %s\n",
			device, gl_env.gbm != NULL ? "tested" : "NOT tested (no GBM device)");
		if (gl_env.gbm != NULL) {
			gbm_device_destroy(gl_env.gbm);
		}
		wlr_renderer_destroy(gl_env.renderer);
		close(fd);
	}

	printf("%d checks passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
