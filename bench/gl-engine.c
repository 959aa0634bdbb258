/*
 * zerocap-gl-bench: times the capture draw of the library (src/render/blit.c
 * and shaders/, the same code) on GL textures, against the two things a
 * compositor would otherwise do with a frame: a plain GPU copy
 * (glBlitFramebuffer) and a read back to the CPU (glReadPixels, directly
 * and through a pixel buffer object).
 *
 * It also times the derived-image draw of zerocap-capture-options-v1
 * (zc_blit_convert: crop, scale and conversion to NV12, P010 or RGB) against
 * the same plain copy. Those methods run at every size the bench measures,
 * each time as a 2x downscale of the whole source (W x H into W/2 x H/2;
 * sizes whose sides are not multiples of 4 skip them), and P010 only where
 * the driver has GL_EXT_texture_norm16. After their timed frames the bench
 * reads a few samples of each plane back and compares them with the CPU
 * path (zc_convert_cpu) on the same source pixels: "check ok" or "check
 * FAILED", and a failure makes the exit status non-zero.
 *
 * It needs only EGL and GLES 3: it picks an EGL device (EGL_EXT_device_base,
 * e.g. NVIDIA's headless platform) or Mesa's surfaceless platform, so it runs
 * on a real GPU without a display server and on llvmpipe for a smoke test.
 *
 *   zerocap-gl-bench [-n FRAMES] [-s WxH ...] [-o results.csv]
 */
#define _POSIX_C_SOURCE 200809L
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES3/gl3.h>
#include <GLES2/gl2ext.h>
#include <drm_fourcc.h>
#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "render/blit.h"
#include "render/convert.h"
#include "render/transform.h"

#define TRANSFORM_90 1

struct size {
	int width, height;
};

struct result {
	struct size size;
	char name[64];
	double us_per_frame; /* each frame waited for (glFinish) */
	double us_pipelined; /* frames queued back to back, one wait at the end */
};

static double now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static bool has_ext(const char *list, const char *name) {
	size_t len = strlen(name);
	for (const char *p = list; p != NULL && (p = strstr(p, name)) != NULL; p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
			return true;
		}
	}
	return false;
}

static EGLDisplay open_display(void) {
	const char *client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (get_platform_display != NULL && has_ext(client, "EGL_EXT_platform_device")) {
		PFNEGLQUERYDEVICESEXTPROC query_devices =
			(PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
		EGLDeviceEXT devices[16];
		EGLint n = 0;
		if (query_devices != NULL && query_devices(16, devices, &n) && n > 0) {
			for (EGLint i = 0; i < n; i++) {
				EGLDisplay display = get_platform_display(EGL_PLATFORM_DEVICE_EXT,
					devices[i], NULL);
				if (display != EGL_NO_DISPLAY && eglInitialize(display, NULL, NULL)) {
					return display;
				}
			}
		}
	}
	if (get_platform_display != NULL && has_ext(client, "EGL_MESA_platform_surfaceless")) {
		EGLDisplay display = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA,
			EGL_DEFAULT_DISPLAY, NULL);
		if (display != EGL_NO_DISPLAY && eglInitialize(display, NULL, NULL)) {
			return display;
		}
	}
	return EGL_NO_DISPLAY;
}

static bool make_context(EGLDisplay display) {
	if (!eglBindAPI(EGL_OPENGL_ES_API)) {
		return false;
	}
	const EGLint attribs[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_NONE};
	EGLContext context = eglCreateContext(display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attribs);
	return context != EGL_NO_CONTEXT &&
		eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context);
}

struct target {
	GLuint tex, fbo;
	int width, height;
};

/* A render target of internal format (GL_RGBA8 for pixels, which may be NULL). */
static bool target_init_format(struct target *t, GLenum format, int width, int height,
		const void *pixels) {
	t->width = width;
	t->height = height;
	glGenTextures(1, &t->tex);
	glBindTexture(GL_TEXTURE_2D, t->tex);
	glTexStorage2D(GL_TEXTURE_2D, 1, format, width, height);
	if (pixels != NULL) {
		glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE,
			pixels);
	}
	glBindTexture(GL_TEXTURE_2D, 0);
	glGenFramebuffers(1, &t->fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, t->fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, t->tex, 0);
	bool ok = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	return ok;
}

static bool target_init(struct target *t, int width, int height, const void *pixels) {
	return target_init_format(t, GL_RGBA8, width, height, pixels);
}

static void target_finish(struct target *t) {
	if (t->tex != 0) {
		glDeleteFramebuffers(1, &t->fbo);
		glDeleteTextures(1, &t->tex);
	}
}

/* A pattern where every pixel differs from its neighbours. */
static uint32_t *make_pattern(int width, int height) {
	uint32_t *pixels = malloc((size_t)width * height * 4);
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			pixels[(size_t)y * width + x] = 0xff000000u | (uint32_t)(x * 7 + y * 13) << 8 |
				(uint32_t)((x ^ y) & 0xff);
		}
	}
	return pixels;
}

enum method {
	METHOD_BLIT_COPY,
	METHOD_COPY_DRAW,
	METHOD_TRANSFORM_DRAW,
	METHOD_TRANSFORM_DRAW_CURSOR,
	METHOD_DRAW_READ_PIXELS,
	METHOD_DRAW_PBO_READBACK,
	METHOD_WINDOW_COMPOSITE,
	METHOD_WINDOW_RENDER_COPY,
	METHOD_CONVERT_NV12,
	METHOD_SCALE_RGB,
	METHOD_CONVERT_P010,
	METHOD_COUNT,
};

static const char *const method_names[] = {
	"plain copy (glBlitFramebuffer)",
	"zerocap draw (no transform)",
	"zerocap transform draw",
	"zerocap transform draw + cursor",
	"draw + glReadPixels",
	"draw + PBO read back",
	"window: zerocap one composite",
	"window: render into a buffer + copy",
	/* The derived image's size follows. */
	"convert -> NV12",
	"scale -> RGB",
	"convert -> P010",
};

static bool method_is_derived(enum method method) {
	return method == METHOD_CONVERT_NV12 || method == METHOD_SCALE_RGB ||
		method == METHOD_CONVERT_P010;
}

/*
 * The derived draw of an output, as the GPU engine (gles2.c) sets it up: the
 * whole source as one opaque layer, cropped to all of it and scaled to half
 * its size, BT.709 limited range for NV12 and P010. Each plane is one
 * zc_blit_convert into its own render target.
 */
struct derived {
	struct zc_convert convert;
	struct zc_convert_programs programs;
	struct zc_convert_layer layer;
	struct zc_convert_plane rgb, nv12[2], p010[2];
	struct zc_blit_box full, half;
	struct target rgb_dst, nv12_dst[2], p010_dst[2];
	bool norm16; /* GL_EXT_texture_norm16: P010's 16-bit planes */
	bool failed; /* a zc_blit_convert call failed */
};

struct bench {
	struct zc_blit_program program;
	struct target src, dst_same, dst_rotated;
	/* A window: the main surface (src), a subsurface and a popup over it,
	 * and the intermediate buffer a scene-node source renders into. */
	struct target inter;
	struct zc_blit_layer layers[3];
	struct zc_blit_image cursor;
	GLuint pbo;
	void *cpu_pixels;
	struct zc_blit_box box_rotated, box_same;
	bool has_derived; /* the size allows the 2x downscale (sides multiples of 4) */
	struct derived derived;
};

/* The same draw without a transform, of src: what an upright output costs. */
static void copy_draw(struct bench *b, const struct target *src) {
	struct zc_blit blit = {
		.src = {GL_TEXTURE_2D, src->tex, src->width, src->height},
		.dst_width = b->dst_same.width,
		.dst_height = b->dst_same.height,
		.boxes = &b->box_same,
		.n_boxes = 1,
	};
	glBindFramebuffer(GL_FRAMEBUFFER, b->dst_same.fbo);
	zc_blit_draw(&b->program, &blit);
}

static void transform_draw(struct bench *b, bool cursor) {
	struct zc_blit blit = {
		.src = {GL_TEXTURE_2D, b->src.tex, b->src.width, b->src.height},
		.transform = TRANSFORM_90,
		.dst_width = b->dst_rotated.width,
		.dst_height = b->dst_rotated.height,
		.boxes = &b->box_rotated,
		.n_boxes = 1,
		.cursor = cursor ? &b->cursor : NULL,
		.cursor_x = 100,
		.cursor_y = 100,
	};
	glBindFramebuffer(GL_FRAMEBUFFER, b->dst_rotated.fbo);
	zc_blit_draw(&b->program, &blit);
}

/* The window's surfaces straight into the destination: what zerocap does. */
static void window_composite(struct bench *b, GLuint fbo) {
	const struct zc_blit_composite composite = {
		.dst_width = b->dst_same.width,
		.dst_height = b->dst_same.height,
		.boxes = &b->box_same,
		.n_boxes = 1,
		.layers = b->layers,
		.n_layers = 3,
	};
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	zc_blit_composite(&b->program, NULL, &composite);
}

/* A layer of the window: tex (w x h) drawn 1:1 at x, y. */
static struct zc_blit_layer window_layer(GLuint tex, int w, int h, int x, int y) {
	struct zc_blit_layer layer = {
		.image = {GL_TEXTURE_2D, tex, w, h},
		.opaque = true,
		.box = {x, y, x + w, y + h},
	};
	const double src[4] = {0};
	const int dst[4] = {x, y, w, h};
	zc_transform_layer_map(0, src, w, h, dst, layer.map);
	return layer;
}

/* One plane as gles2.c's plane_setup() fills it, the whole plane written. */
static void plane_init(struct zc_convert_plane *plane, const struct zc_convert *convert,
		int subsample, const struct zc_blit_box *box) {
	plane->width = box->x2;
	plane->height = box->y2;
	zc_convert_plane_map(convert, subsample, plane->map);
	plane->tap[0] = zc_convert_tap_offset(plane->map[0]);
	plane->tap[1] = zc_convert_tap_offset(plane->map[2]);
	plane->boxes = box;
	plane->n_boxes = 1;
}

/* Luma (full size) and chroma (half size) of NV12 or P010, as in gles2.c. */
static void yuv_planes_init(struct derived *d, uint32_t format, struct zc_convert_plane out[2]) {
	struct zc_yuv_coeffs k;
	zc_yuv_coeffs_get(format, d->convert.matrix, d->convert.range, &k);
	struct zc_convert_plane luma = {.yuv = true, .max_code = k.max_code,
		.code_unit = k.code_unit};
	plane_init(&luma, &d->convert, 1, &d->full);
	memcpy(luma.k0, k.y, sizeof(k.y));
	luma.off[0] = k.offset[0];
	luma.clear[0] = k.offset[0] * k.code_unit;
	struct zc_convert_plane cbcr = luma;
	plane_init(&cbcr, &d->convert, 2, &d->half);
	memcpy(cbcr.k0, k.u, sizeof(k.u));
	memcpy(cbcr.k1, k.v, sizeof(k.v));
	cbcr.off[0] = k.offset[1];
	cbcr.off[1] = k.offset[2];
	cbcr.clear[0] = k.offset[1] * k.code_unit;
	cbcr.clear[1] = k.offset[2] * k.code_unit;
	out[0] = luma;
	out[1] = cbcr;
}

static bool derived_init(struct derived *d, const struct target *src, bool norm16) {
	int w = src->width / 2, h = src->height / 2;
	d->convert = (struct zc_convert){
		.parent_width = src->width,
		.parent_height = src->height,
		.crop = {0, 0, src->width, src->height},
		.width = w,
		.height = h,
		.matrix = ZC_MATRIX_BT709,
		.range = ZC_RANGE_LIMITED,
	};
	d->full = (struct zc_blit_box){0, 0, w, h};
	d->half = (struct zc_blit_box){0, 0, w / 2, h / 2};
	d->layer = (struct zc_convert_layer){
		.image = {GL_TEXTURE_2D, src->tex, src->width, src->height},
		.opaque = true,
		.box = {0, 0, src->width, src->height},
	};
	int m[6];
	zc_transform_source_map(0, src->width, src->height, m);
	for (int i = 0; i < 6; i++) {
		d->layer.map[i] = m[i];
	}
	plane_init(&d->rgb, &d->convert, 1, &d->full);
	yuv_planes_init(d, DRM_FORMAT_NV12, d->nv12);
	d->norm16 = norm16;
	bool ok = target_init(&d->rgb_dst, w, h, NULL) &&
		target_init_format(&d->nv12_dst[0], GL_R8, w, h, NULL) &&
		target_init_format(&d->nv12_dst[1], GL_RG8, w / 2, h / 2, NULL);
	if (ok && norm16) {
		yuv_planes_init(d, DRM_FORMAT_P010, d->p010);
		ok = target_init_format(&d->p010_dst[0], GL_R16_EXT, w, h, NULL) &&
			target_init_format(&d->p010_dst[1], GL_RG16_EXT, w / 2, h / 2, NULL);
	}
	return ok;
}

static void derived_finish(struct derived *d) {
	zc_convert_programs_finish(&d->programs);
	target_finish(&d->rgb_dst);
	for (int i = 0; i < 2; i++) {
		target_finish(&d->nv12_dst[i]);
		target_finish(&d->p010_dst[i]);
	}
}

/* One frame of a derived image: one zc_blit_convert per plane. */
static void derived_draw(struct derived *d, const struct zc_convert_plane *planes,
		const struct target *dst, int n_planes) {
	for (int i = 0; i < n_planes; i++) {
		glBindFramebuffer(GL_FRAMEBUFFER, dst[i].fbo);
		if (!zc_blit_convert(&d->programs, &planes[i], &d->layer, 1)) {
			d->failed = true;
		}
	}
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
}

/* Reads back box (plane pixels) of a plane: GL_RGBA of 8 or 16 bits per channel. */
static bool read_plane(const struct target *t, const pixman_box32_t *box, bool ten,
		void *out) {
	glBindFramebuffer(GL_FRAMEBUFFER, t->fbo);
	glReadPixels(box->x1, box->y1, box->x2 - box->x1, box->y2 - box->y1, GL_RGBA,
		ten ? GL_UNSIGNED_SHORT : GL_UNSIGNED_BYTE, out);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	return glGetError() == GL_NO_ERROR;
}

/* Channel c of pixel i of a read back (code values; P010 keeps its 10 high bits). */
static int gpu_code(const void *pixels, bool ten, size_t i, int c) {
	if (ten) {
		return ((const uint16_t *)pixels)[i * 4 + c] >> 6;
	}
	return ((const uint8_t *)pixels)[i * 4 + c];
}

/* Code c of a CPU plane sample (cpu: first byte of the sample). */
static int cpu_code(const uint8_t *cpu, bool ten, int c) {
	if (ten) {
		uint16_t v;
		memcpy(&v, cpu + c * 2, sizeof(v));
		return v >> 6;
	}
	return cpu[c];
}

/*
 * The GPU result of method against zc_convert_cpu() on the same source pixels
 * (argb: the source as premultiplied ARGB8888), within one code value, over a
 * few boxes of the derived image: its corners, the middle and an odd spot.
 */
static bool derived_check(struct derived *d, enum method method, const uint32_t *argb,
		int *max_diff, int *n_checked) {
	const struct zc_convert *convert = &d->convert;
	int w = convert->width, h = convert->height;
	uint32_t format = method == METHOD_SCALE_RGB ? DRM_FORMAT_ABGR8888 :
		method == METHOD_CONVERT_P010 ? DRM_FORMAT_P010 : DRM_FORMAT_NV12;
	bool yuv = format != DRM_FORMAT_ABGR8888, ten = format == DRM_FORMAT_P010;
	int bytes = ten ? 2 : 1;
	size_t stride = format == DRM_FORMAT_ABGR8888 ? (size_t)w * 4 : (size_t)w * bytes;
	uint8_t *cpu = calloc(stride, (size_t)h * 2);
	uint16_t *gpu = malloc(16 * 16 * 4 * sizeof(uint16_t));
	const int spots[5][2] = {{0, 0}, {w - 16, 0}, {0, h - 16}, {w - 16, h - 16},
		{(w / 2) & ~1, (h / 3) & ~1}};
	pixman_region32_t region;
	pixman_region32_init(&region);
	for (int i = 0; i < 5; i++) {
		pixman_region32_union_rect(&region, &region, spots[i][0], spots[i][1], 16, 16);
	}
	const struct wlr_box box = {0, 0, convert->parent_width, convert->parent_height};
	bool ok = cpu != NULL && gpu != NULL &&
		zc_convert_cpu(convert, argb, (size_t)convert->parent_width * 4, box, cpu, format,
			stride, w, h, &region);
	const struct target *dst = method == METHOD_SCALE_RGB ? &d->rgb_dst :
		method == METHOD_CONVERT_P010 ? d->p010_dst : d->nv12_dst;
	*max_diff = 0;
	*n_checked = 0;
	for (int i = 0; i < 5 && ok; i++) {
		for (int plane = 0; plane < (yuv ? 2 : 1) && ok; plane++) {
			int sub = plane == 0 ? 1 : 2;
			/* Per sample: RGBA, Y, or Cb and Cr. */
			int channels = !yuv ? 4 : plane == 0 ? 1 : 2;
			pixman_box32_t b = {spots[i][0] / sub, spots[i][1] / sub,
				(spots[i][0] + 16) / sub, (spots[i][1] + 16) / sub};
			ok = read_plane(&dst[plane], &b, ten, gpu);
			const uint8_t *cpu_plane = cpu + (plane == 0 ? 0 : (size_t)h * stride);
			int bw = b.x2 - b.x1;
			for (int y = b.y1; y < b.y2 && ok; y++) {
				for (int x = b.x1; x < b.x2; x++) {
					const uint8_t *c = cpu_plane + (size_t)y * stride +
						(size_t)x * channels * (yuv ? bytes : 1);
					size_t g = (size_t)(y - b.y1) * bw + (x - b.x1);
					for (int k = 0; k < channels; k++) {
						int diff = abs(gpu_code(gpu, ten, g, k) -
							(yuv ? cpu_code(c, ten, k) : c[k]));
						*max_diff = diff > *max_diff ? diff : *max_diff;
						(*n_checked)++;
					}
				}
			}
		}
	}
	pixman_region32_fini(&region);
	free(cpu);
	free(gpu);
	return ok && *max_diff <= 1;
}

static void run_once(struct bench *b, enum method method) {
	int w = b->dst_rotated.width, h = b->dst_rotated.height;
	switch (method) {
	case METHOD_BLIT_COPY:
		glBindFramebuffer(GL_READ_FRAMEBUFFER, b->src.fbo);
		glBindFramebuffer(GL_DRAW_FRAMEBUFFER, b->dst_same.fbo);
		glBlitFramebuffer(0, 0, b->src.width, b->src.height, 0, 0, b->src.width,
			b->src.height, GL_COLOR_BUFFER_BIT, GL_NEAREST);
		break;
	case METHOD_COPY_DRAW:
		copy_draw(b, &b->src);
		break;
	case METHOD_TRANSFORM_DRAW:
		transform_draw(b, false);
		break;
	case METHOD_TRANSFORM_DRAW_CURSOR:
		transform_draw(b, true);
		break;
	case METHOD_DRAW_READ_PIXELS:
		transform_draw(b, false);
		glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, b->cpu_pixels);
		break;
	case METHOD_DRAW_PBO_READBACK:
		transform_draw(b, false);
		glBindBuffer(GL_PIXEL_PACK_BUFFER, b->pbo);
		glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
		void *map = glMapBufferRange(GL_PIXEL_PACK_BUFFER, 0, (GLsizeiptr)w * h * 4,
			GL_MAP_READ_BIT);
		if (map != NULL) {
			/* The consumer touches the frame, as a CPU encoder would. */
			memcpy(b->cpu_pixels, map, (size_t)w * h * 4);
		}
		glUnmapBuffer(GL_PIXEL_PACK_BUFFER);
		glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
		break;
	case METHOD_WINDOW_COMPOSITE:
		window_composite(b, b->dst_same.fbo);
		break;
	case METHOD_WINDOW_RENDER_COPY: {
		/* wlroots 0.20's scene-node source: a render of the node into its
		 * own buffer, then the copy into the client's. */
		window_composite(b, b->inter.fbo);
		copy_draw(b, &b->inter);
		break;
	}
	case METHOD_CONVERT_NV12:
		derived_draw(&b->derived, b->derived.nv12, b->derived.nv12_dst, 2);
		break;
	case METHOD_SCALE_RGB:
		derived_draw(&b->derived, &b->derived.rgb, &b->derived.rgb_dst, 1);
		break;
	case METHOD_CONVERT_P010:
		derived_draw(&b->derived, b->derived.p010, b->derived.p010_dst, 2);
		break;
	default:
		break;
	}
}

/* The rotated draw must be exact: dst (x, y) = src (y, H - 1 - x). */
static bool check_transform(struct bench *b) {
	transform_draw(b, false);
	int w = b->dst_rotated.width, h = b->dst_rotated.height;
	uint32_t *got = malloc((size_t)w * h * 4);
	uint32_t *src = make_pattern(b->src.width, b->src.height);
	glBindFramebuffer(GL_FRAMEBUFFER, b->dst_rotated.fbo);
	glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, got);
	int bad = 0;
	for (int y = 0; y < h; y += 7) {
		for (int x = 0; x < w; x += 5) {
			uint32_t want = src[(size_t)(b->src.height - 1 - x) * b->src.width + y];
			bad += got[(size_t)y * w + x] != want;
		}
	}
	free(got);
	free(src);
	return bad == 0;
}

static double time_method(struct bench *b, enum method method, int frames, bool each) {
	for (int i = 0; i < 5; i++) {
		run_once(b, method);
	}
	glFinish();
	double start = now_us();
	for (int i = 0; i < frames; i++) {
		run_once(b, method);
		if (each) {
			glFinish();
		}
	}
	glFinish();
	return (now_us() - start) / frames;
}

/* The source pattern as the CPU path reads it: premultiplied ARGB8888. */
static uint32_t *pattern_argb(int width, int height) {
	uint32_t *pixels = make_pattern(width, height);
	for (size_t i = 0; i < (size_t)width * height; i++) {
		uint32_t p = pixels[i]; /* R, G, B, A in memory: GL's RGBA */
		pixels[i] = (p & 0xff00ff00u) | (p & 0xffu) << 16 | (p >> 16 & 0xffu);
	}
	return pixels;
}

/* Runs the methods at size: out holds *n_out results; false on a GL or check failure. */
static bool bench_size(struct size size, int frames, bool norm16, struct result *out,
		int *n_out) {
	struct bench b = {0};
	char error[512];
	if (!zc_blit_program_init(&b.program, false, error, sizeof(error))) {
		fprintf(stderr, "shader program: %s\n", error);
		return false;
	}
	uint32_t *pattern = make_pattern(size.width, size.height);
	uint32_t cursor_pixels[24 * 24];
	for (int i = 0; i < 24 * 24; i++) {
		cursor_pixels[i] = (i % 3 == 0) ? 0xffffffffu : 0x80000000u;
	}
	struct target cursor;
	bool ok = target_init(&b.src, size.width, size.height, pattern) &&
		target_init(&b.dst_same, size.width, size.height, NULL) &&
		target_init(&b.dst_rotated, size.height, size.width, NULL) &&
		target_init(&cursor, 24, 24, cursor_pixels) &&
		target_init(&b.inter, size.width, size.height, NULL);
	free(pattern);
	if (!ok) {
		fprintf(stderr, "cannot create %dx%d targets\n", size.width, size.height);
		return false;
	}
	b.cursor = (struct zc_blit_image){GL_TEXTURE_2D, cursor.tex, 24, 24};
	b.box_rotated = (struct zc_blit_box){0, 0, size.height, size.width};
	b.box_same = (struct zc_blit_box){0, 0, size.width, size.height};
	b.cpu_pixels = malloc((size_t)size.width * size.height * 4);
	/* The subsurface and the popup: a quarter and a sixteenth of the window. */
	b.layers[0] = window_layer(b.src.tex, size.width, size.height, 0, 0);
	b.layers[1] = window_layer(b.src.tex, size.width / 2, size.height / 2, size.width / 8,
		size.height / 8);
	b.layers[2] = window_layer(cursor.tex, 24, 24, size.width / 2, size.height / 2);
	glGenBuffers(1, &b.pbo);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, b.pbo);
	glBufferData(GL_PIXEL_PACK_BUFFER, (GLsizeiptr)size.width * size.height * 4, NULL,
		GL_STREAM_READ);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
	b.has_derived = size.width % 4 == 0 && size.height % 4 == 0 && size.width >= 32 &&
		size.height >= 32;
	if (b.has_derived && !derived_init(&b.derived, &b.src, norm16)) {
		fprintf(stderr, "cannot create the derived images' targets at %dx%d\n",
			size.width, size.height);
		return false;
	}
	if (!b.has_derived) {
		printf("note: no derived-image methods at %dx%d (sides must be multiples of 4, "
			"at least 32)\n", size.width, size.height);
	}
	uint32_t *argb = b.has_derived ? pattern_argb(size.width, size.height) : NULL;

	if (!check_transform(&b)) {
		fprintf(stderr, "the transform draw gave wrong pixels at %dx%d\n",
			size.width, size.height);
		return false;
	}
	bool checks_ok = true;
	*n_out = 0;
	for (int m = 0; m < METHOD_COUNT; m++) {
		bool derived = method_is_derived(m);
		if ((derived && !b.has_derived) || (m == METHOD_CONVERT_P010 && !norm16)) {
			continue;
		}
		struct result *r = &out[(*n_out)++];
		r->size = size;
		if (derived) {
			snprintf(r->name, sizeof(r->name), "%s %dx%d", method_names[m],
				b.derived.convert.width, b.derived.convert.height);
		} else {
			snprintf(r->name, sizeof(r->name), "%s", method_names[m]);
		}
		r->us_per_frame = time_method(&b, m, frames, true);
		r->us_pipelined = time_method(&b, m, frames, false);
		if (derived) {
			/* What the last timed frame left in the planes. */
			int max_diff = 0, n_checked = 0;
			bool ok = !b.derived.failed &&
				derived_check(&b.derived, m, argb, &max_diff, &n_checked);
			printf("check %s: %s at %dx%d, %d codes against zc_convert_cpu, "
				"largest difference %d%s\n", ok ? "ok" : "FAILED", r->name, size.width,
				size.height, n_checked, max_diff,
				b.derived.failed ? " (a zc_blit_convert call failed)" : "");
			checks_ok = checks_ok && ok;
		}
	}
	bool gl_ok = glGetError() == GL_NO_ERROR;
	if (b.has_derived) {
		derived_finish(&b.derived);
		free(argb);
	}
	glDeleteBuffers(1, &b.pbo);
	free(b.cpu_pixels);
	target_finish(&cursor);
	target_finish(&b.src);
	target_finish(&b.dst_same);
	target_finish(&b.dst_rotated);
	target_finish(&b.inter);
	zc_blit_program_finish(&b.program);
	return gl_ok && checks_ok;
}

int main(int argc, char *argv[]) {
	struct size sizes[8] = {{1920, 1080}, {3840, 2160}};
	int n_sizes = 2, frames = 200;
	bool sizes_given = false;
	const char *csv = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			frames = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (!sizes_given) {
				n_sizes = 0;
				sizes_given = true;
			}
			if (n_sizes < 8 && sscanf(argv[++i], "%dx%d", &sizes[n_sizes].width,
					&sizes[n_sizes].height) == 2) {
				n_sizes++;
			}
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			csv = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [-n FRAMES] [-s WxH ...] [-o results.csv]\n", argv[0]);
			return 2;
		}
	}

	EGLDisplay display = open_display();
	if (display == EGL_NO_DISPLAY || !make_context(display)) {
		fprintf(stderr, "no EGL display with a GLES 3 context\n");
		return 1;
	}
	printf("GL: %s / %s / %s\n", (const char *)glGetString(GL_VENDOR),
		(const char *)glGetString(GL_RENDERER), (const char *)glGetString(GL_VERSION));
	bool norm16 = has_ext((const char *)glGetString(GL_EXTENSIONS), "GL_EXT_texture_norm16");
	printf("%d frames per measurement; rotation by 90 degrees; us per frame\n", frames);
	printf("derived images: 2x downscale, BT.709 limited; P010 %s\n\n",
		norm16 ? "too (GL_EXT_texture_norm16)" : "skipped (no GL_EXT_texture_norm16)");
	printf("%-10s %-36s %12s %9s %12s %9s\n", "size", "method", "each (us)", "ratio",
		"queued (us)", "ratio");

	FILE *out = csv != NULL ? fopen(csv, "w") : NULL;
	if (out != NULL) {
		fprintf(out, "size,method,us_each,ratio_each,us_queued,ratio_queued\n");
	}
	int status = 0;
	for (int s = 0; s < n_sizes; s++) {
		struct result results[METHOD_COUNT];
		int n_results = 0;
		if (!bench_size(sizes[s], frames, norm16, results, &n_results)) {
			status = 1;
		}
		for (int m = 0; m < n_results; m++) {
			char size[32];
			snprintf(size, sizeof(size), "%dx%d", sizes[s].width, sizes[s].height);
			double ratio_each = results[m].us_per_frame / results[0].us_per_frame;
			double ratio_queued = results[m].us_pipelined / results[0].us_pipelined;
			printf("%-10s %-36s %12.1f %8.2fx %12.1f %8.2fx\n", size, results[m].name,
				results[m].us_per_frame, ratio_each, results[m].us_pipelined, ratio_queued);
			if (out != NULL) {
				fprintf(out, "%s,%s,%.2f,%.3f,%.2f,%.3f\n", size, results[m].name,
					results[m].us_per_frame, ratio_each, results[m].us_pipelined,
					ratio_queued);
			}
		}
	}
	if (out != NULL) {
		fclose(out);
	}
	return status;
}
