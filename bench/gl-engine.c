/*
 * zerocap-gl-bench: times the capture draw of the library (src/render/blit.c
 * and shaders/, the same code) on GL textures, against the two things a
 * compositor would otherwise do with a frame: a plain GPU copy
 * (glBlitFramebuffer) and a read back to the CPU (glReadPixels, directly
 * and through a pixel buffer object).
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "render/blit.h"
#include "render/transform.h"

#define TRANSFORM_90 1

struct size {
	int width, height;
};

struct result {
	struct size size;
	const char *name;
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

static bool target_init(struct target *t, int width, int height, const void *pixels) {
	t->width = width;
	t->height = height;
	glGenTextures(1, &t->tex);
	glBindTexture(GL_TEXTURE_2D, t->tex);
	glTexStorage2D(GL_TEXTURE_2D, 1, GL_RGBA8, width, height);
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

static void target_finish(struct target *t) {
	glDeleteFramebuffers(1, &t->fbo);
	glDeleteTextures(1, &t->tex);
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

static bool bench_size(struct size size, int frames, struct result *out) {
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

	if (!check_transform(&b)) {
		fprintf(stderr, "the transform draw gave wrong pixels at %dx%d\n",
			size.width, size.height);
		return false;
	}
	for (int m = 0; m < METHOD_COUNT; m++) {
		out[m].size = size;
		out[m].name = method_names[m];
		out[m].us_per_frame = time_method(&b, m, frames, true);
		out[m].us_pipelined = time_method(&b, m, frames, false);
	}
	bool gl_ok = glGetError() == GL_NO_ERROR;
	glDeleteBuffers(1, &b.pbo);
	free(b.cpu_pixels);
	target_finish(&cursor);
	target_finish(&b.src);
	target_finish(&b.dst_same);
	target_finish(&b.dst_rotated);
	target_finish(&b.inter);
	zc_blit_program_finish(&b.program);
	return gl_ok;
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
	printf("%d frames per measurement; rotation by 90 degrees; us per frame\n\n", frames);
	printf("%-10s %-34s %12s %9s %12s %9s\n", "size", "method", "each (us)", "ratio",
		"queued (us)", "ratio");

	FILE *out = csv != NULL ? fopen(csv, "w") : NULL;
	if (out != NULL) {
		fprintf(out, "size,method,us_each,ratio_each,us_queued,ratio_queued\n");
	}
	int status = 0;
	for (int s = 0; s < n_sizes; s++) {
		struct result results[METHOD_COUNT];
		if (!bench_size(sizes[s], frames, results)) {
			status = 1;
			continue;
		}
		for (int m = 0; m < METHOD_COUNT; m++) {
			char size[32];
			snprintf(size, sizeof(size), "%dx%d", sizes[s].width, sizes[s].height);
			double ratio_each = results[m].us_per_frame / results[0].us_per_frame;
			double ratio_queued = results[m].us_pipelined / results[0].us_pipelined;
			printf("%-10s %-34s %12.1f %8.2fx %12.1f %8.2fx\n", size, results[m].name,
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
