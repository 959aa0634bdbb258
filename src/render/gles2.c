/*
 * The GPU blit engine: draws the output's buffer, or a composite of a
 * window's surface textures, straight into a client's dma-buf with the
 * compositor's own GLES2 renderer.
 *
 * Imports are wlroots': the source texture (wlr_texture_from_buffer) and the
 * destination framebuffer (wlr_gles2_renderer_get_buffer_fbo) are cached per
 * wlr_buffer by the renderer and released when the buffer is destroyed. The
 * engine adds its program, one draw over the damage rectangles, and a fence
 * watched from the event loop so the compositor never waits for the GPU.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES3/gl3.h>
#include <GLES2/gl2ext.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wlr/render/egl.h>
#include <wlr/render/gles2.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/render/wlr_texture.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/box.h>
#include <wlr/util/log.h>
#include <wlr/util/transform.h>
#include "render/blit.h"
#include "render/convert.h"
#include "render/gles2.h"
#include "render/transform.h"

#define FENCE_POLL_MS 1

/* A GPU image and pixel buffer the shm path draws into and reads from. */
struct staging {
	struct wl_list link; /* zc_gl.staging */
	GLuint tex, fbo, pbo;
	int width, height;
	bool busy;
};

#define MAX_STAGING 4

struct zc_gl {
	struct wlr_renderer *renderer;
	/* The renderer's EGL display and context (struct wlr_egl is opaque). */
	EGLDisplay display;
	EGLContext context;
	struct wl_event_loop *loop;
	struct zc_capture_stats *stats;
	struct zc_faults *faults;

	bool programs_ready;
	bool has_pbo; /* GLES 3: asynchronous read back for shm buffers */
	struct zc_blit_program plain, external;
	struct zc_convert_programs convert;
	struct wl_list staging; /* staging.link */
	struct wl_list plane_targets; /* plane_target.link */
	bool has_norm16; /* 16-bit normalised render targets (P010) */
	PFNEGLCREATEIMAGEKHRPROC create_image;
	PFNEGLDESTROYIMAGEKHRPROC destroy_image;
	PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC image_target_renderbuffer;

	PFNEGLCREATESYNCKHRPROC create_sync;
	PFNEGLDESTROYSYNCKHRPROC destroy_sync;
	PFNEGLCLIENTWAITSYNCKHRPROC client_wait_sync;
	PFNEGLDUPNATIVEFENCEFDANDROIDPROC dup_native_fence_fd;
	PFNEGLQUERYDMABUFFORMATSEXTPROC query_formats;
	PFNEGLQUERYDMABUFMODIFIERSEXTPROC query_modifiers;

	/* The cursor uploaded once per image. */
	struct wlr_buffer *cursor_buffer;
	struct wlr_texture *cursor_texture;
	struct wl_listener cursor_destroy;

	struct wl_list jobs; /* zc_gl_job.link */
};

struct zc_render_job {
	struct zc_gl *gl;
	struct wl_list link;
	EGLSyncKHR sync;
	int fence_fd;
	struct wl_event_source *event;
	struct wlr_buffer *dst; /* locked while the GPU writes it */
	/* shm read back: copied from the staging PBO when the fence signals */
	struct staging *staging;
	bool pack_pending; /* the draw's fence first, then the PBO read's */
	pixman_region32_t region;
	zc_copy_done_func done; /* NULL once cancelled */
	void *data;
	/* The client's wl_buffer, while it lives: a read back never writes a dead one. */
	struct wl_listener dst_destroy;
	bool watching_dst;
	struct timespec submitted;
};

struct saved_context {
	EGLDisplay display;
	EGLContext context;
	EGLSurface draw, read;
};

static void save_context(struct saved_context *saved) {
	saved->display = eglGetCurrentDisplay();
	saved->context = eglGetCurrentContext();
	saved->draw = eglGetCurrentSurface(EGL_DRAW);
	saved->read = eglGetCurrentSurface(EGL_READ);
}

/* The renderer's context current, surfaceless as wlroots uses it. */
static bool make_current(struct zc_gl *gl) {
	return eglMakeCurrent(gl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, gl->context);
}

static void restore_context(struct zc_gl *gl, const struct saved_context *saved) {
	if (saved->context == EGL_NO_CONTEXT) {
		eglMakeCurrent(gl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	} else {
		eglMakeCurrent(saved->display, saved->draw, saved->read, saved->context);
	}
}

static bool has_extension(const char *list, const char *name) {
	size_t len = strlen(name);
	for (const char *p = list; p != NULL && (p = strstr(p, name)) != NULL; p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
			return true;
		}
	}
	return false;
}

/* Called with the context current. The external variant is optional. */
static bool ensure_programs(struct zc_gl *gl) {
	if (gl->programs_ready) {
		return true;
	}
	char error[512];
	if (!zc_blit_program_init(&gl->plain, false, error, sizeof(error))) {
		wlr_log(WLR_ERROR, "zerocap: capture shaders failed: %s", error);
		return false;
	}
	int major = 0;
	const char *version = (const char *)glGetString(GL_VERSION);
	gl->has_pbo = version != NULL && sscanf(version, "OpenGL ES %d", &major) == 1 &&
		major >= 3;
	const char *exts = (const char *)glGetString(GL_EXTENSIONS);
	gl->has_norm16 = has_extension(exts, "GL_EXT_texture_norm16");
	if (has_extension(exts, "GL_OES_EGL_image_external") &&
			!zc_blit_program_init(&gl->external, true, error, sizeof(error))) {
		wlr_log(WLR_ERROR, "zerocap: external-texture shaders failed: %s", error);
	}
	gl->programs_ready = true;
	return true;
}

struct zc_gl *zc_gl_create(struct wlr_renderer *renderer, struct wl_event_loop *loop,
		struct zc_capture_stats *stats, struct zc_faults *faults) {
	if (renderer == NULL || !wlr_renderer_is_gles2(renderer)) {
		return NULL;
	}
	struct wlr_egl *egl = wlr_gles2_renderer_get_egl(renderer);
	EGLDisplay display = wlr_egl_get_display(egl);
	const char *exts = eglQueryString(display, EGL_EXTENSIONS);
	if (!has_extension(exts, "EGL_EXT_image_dma_buf_import")) {
		wlr_log(WLR_INFO, "zerocap: EGL cannot import dma-bufs; dma-buf capture is off");
		return NULL;
	}
	struct zc_gl *gl = calloc(1, sizeof(*gl));
	if (gl == NULL) {
		return NULL;
	}
	gl->renderer = renderer;
	gl->display = display;
	gl->context = wlr_egl_get_context(egl);
	gl->loop = loop;
	gl->stats = stats;
	gl->faults = faults;
	wl_list_init(&gl->jobs);
	wl_list_init(&gl->staging);
	wl_list_init(&gl->plane_targets);
	gl->create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	gl->destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
	gl->image_target_renderbuffer = (PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC)
		eglGetProcAddress("glEGLImageTargetRenderbufferStorageOES");

	if (has_extension(exts, "EGL_KHR_fence_sync")) {
		gl->create_sync = (PFNEGLCREATESYNCKHRPROC)eglGetProcAddress("eglCreateSyncKHR");
		gl->destroy_sync = (PFNEGLDESTROYSYNCKHRPROC)eglGetProcAddress("eglDestroySyncKHR");
		gl->client_wait_sync =
			(PFNEGLCLIENTWAITSYNCKHRPROC)eglGetProcAddress("eglClientWaitSyncKHR");
	}
	if (gl->create_sync != NULL && has_extension(exts, "EGL_ANDROID_native_fence_sync")) {
		gl->dup_native_fence_fd = (PFNEGLDUPNATIVEFENCEFDANDROIDPROC)eglGetProcAddress(
			"eglDupNativeFenceFDANDROID");
	}
	if (has_extension(exts, "EGL_EXT_image_dma_buf_import_modifiers")) {
		gl->query_formats = (PFNEGLQUERYDMABUFFORMATSEXTPROC)eglGetProcAddress(
			"eglQueryDmaBufFormatsEXT");
		gl->query_modifiers = (PFNEGLQUERYDMABUFMODIFIERSEXTPROC)eglGetProcAddress(
			"eglQueryDmaBufModifiersEXT");
	}
	wlr_log(WLR_INFO, "zerocap: GPU capture on; completion by %s",
		gl->dup_native_fence_fd != NULL ? "native fence fd" :
		gl->create_sync != NULL ? "fence polling" : "glFinish");
	return gl;
}

/* Copies the finished read back from the staging PBO into the shm buffer. */
static bool read_back_finish(struct zc_gl *gl, struct zc_render_job *job) {
	/*
	 * The client destroyed its buffer meanwhile. wlroots keeps the memory
	 * mapped, but without the wl_buffer nothing guards the access
	 * (wl_shm_buffer_begin_access), and a client that shrank the file
	 * would bring the compositor down with SIGBUS.
	 */
	if (!job->watching_dst) {
		wlr_log(WLR_DEBUG, "zerocap: the client's buffer went away during the read back");
		return false;
	}
	struct staging *staging = job->staging;
	struct saved_context saved;
	save_context(&saved);
	make_current(gl);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, staging->pbo);
	size_t stride = (size_t)staging->width * 4;
	void *pixels = glMapBufferRange(GL_PIXEL_PACK_BUFFER, 0, stride * staging->height,
		GL_MAP_READ_BIT);
	bool ok = pixels != NULL && zc_render_copy_pixels(pixels, staging->width,
		staging->height, stride, job->dst, &job->region, gl->stats);
	if (pixels != NULL) {
		glUnmapBuffer(GL_PIXEL_PACK_BUFFER);
	}
	glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
	restore_context(gl, &saved);
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: copying the read back into the client's buffer failed");
	}
	return ok;
}

static bool job_arm(struct zc_gl *gl, struct zc_render_job *job);

/* Stops watching the job's fence and frees it. */
static void job_release_fence(struct zc_render_job *job) {
	if (job->event != NULL) {
		wl_event_source_remove(job->event);
		job->event = NULL;
	}
	if (job->fence_fd >= 0) {
		close(job->fence_fd);
		job->fence_fd = -1;
	}
	if (job->sync != EGL_NO_SYNC_KHR) {
		job->gl->destroy_sync(job->gl->display, job->sync);
		job->sync = EGL_NO_SYNC_KHR;
	}
}

/*
 * Reads the job's region of fbo, from x, y on, into the staging PBO (at the
 * region's place). Called with the context current.
 */
static void read_back_pack(struct zc_render_job *job, GLuint fbo, int x, int y) {
	struct staging *staging = job->staging;
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, staging->pbo);
	glPixelStorei(GL_PACK_ALIGNMENT, 4);
	glPixelStorei(GL_PACK_ROW_LENGTH, staging->width);
	int n;
	const pixman_box32_t *rects = pixman_region32_rectangles(&job->region, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &rects[i];
		uintptr_t offset = ((uintptr_t)b->y1 * staging->width + b->x1) * 4;
		glReadPixels(x + b->x1, y + b->y1, b->x2 - b->x1, b->y2 - b->y1, GL_RGBA,
			GL_UNSIGNED_BYTE, (void *)offset);
	}
	glPixelStorei(GL_PACK_ROW_LENGTH, 0);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
}

/*
 * The staging draw is done: queue its read into the PBO and watch that.
 * Issued only now because a driver that does the read on the CPU
 * (llvmpipe) would otherwise wait for the draw on the compositor thread.
 */
static bool read_back_next_stage(struct zc_gl *gl, struct zc_render_job *job) {
	job->pack_pending = false;
	job_release_fence(job);
	struct saved_context saved;
	save_context(&saved);
	make_current(gl);
	read_back_pack(job, job->staging->fbo, 0, 0);
	bool ok = glGetError() == GL_NO_ERROR && job_arm(gl, job);
	restore_context(gl, &saved);
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: the read back into the staging buffer failed");
	}
	return ok;
}

static void job_finish(struct zc_render_job *job, bool ok) {
	struct zc_gl *gl = job->gl;
	if (ok && job->pack_pending && job->done != NULL) {
		if (read_back_next_stage(gl, job)) {
			return;
		}
		ok = false;
	}
	job_release_fence(job);
	if (job->staging != NULL) {
		if (ok && job->done != NULL) {
			ok = read_back_finish(gl, job);
		}
		job->staging->busy = false;
		pixman_region32_fini(&job->region);
	}
	wlr_buffer_unlock(job->dst);
	if (job->watching_dst) {
		wl_list_remove(&job->dst_destroy.link);
	}
	wl_list_remove(&job->link);
	if (ok && job->done != NULL && gl->stats != NULL) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		gl->stats->gpu_jobs++;
		gl->stats->gpu_wait_ns += (uint64_t)(now.tv_sec - job->submitted.tv_sec) *
			1000000000u + (uint64_t)(now.tv_nsec - job->submitted.tv_nsec);
	}
	if (job->done != NULL) {
		job->done(job->data, ok);
	}
	free(job);
}

static void cursor_forget(struct zc_gl *gl) {
	if (gl->cursor_buffer == NULL) {
		return;
	}
	struct saved_context saved;
	save_context(&saved);
	make_current(gl);
	wlr_texture_destroy(gl->cursor_texture);
	restore_context(gl, &saved);
	wl_list_remove(&gl->cursor_destroy.link);
	gl->cursor_buffer = NULL;
	gl->cursor_texture = NULL;
}

/*
 * The planes of a client's YCbCr dma-buf as render targets: one EGL image
 * per plane in a one- or two-channel format (R8 and GR88 for NV12, R16 and
 * GR1616 for P010), kept until the buffer is destroyed.
 */
struct plane_target {
	struct zc_gl *gl;
	struct wl_list link; /* zc_gl.plane_targets */
	struct wlr_buffer *buffer;
	struct wl_listener destroy;
	EGLImageKHR image[2];
	GLuint renderbuffer[2], fbo[2];
};

static void plane_target_destroy(struct plane_target *target) {
	struct zc_gl *gl = target->gl;
	struct saved_context saved;
	save_context(&saved);
	make_current(gl);
	glDeleteFramebuffers(2, target->fbo);
	glDeleteRenderbuffers(2, target->renderbuffer);
	for (int i = 0; i < 2; i++) {
		if (target->image[i] != EGL_NO_IMAGE_KHR) {
			gl->destroy_image(gl->display, target->image[i]);
		}
	}
	restore_context(gl, &saved);
	wl_list_remove(&target->destroy.link);
	wl_list_remove(&target->link);
	free(target);
}

static void handle_plane_target_destroy(struct wl_listener *listener, void *data) {
	struct plane_target *target = wl_container_of(listener, target, destroy);
	plane_target_destroy(target);
}

static void yuv_plane_formats(uint32_t format, uint32_t planes[static 2]) {
	bool ten = format == DRM_FORMAT_P010;
	planes[0] = ten ? DRM_FORMAT_R16 : DRM_FORMAT_R8;
	planes[1] = ten ? DRM_FORMAT_GR1616 : DRM_FORMAT_GR88;
}

/* With the context current. NULL (and a log line) when the planes cannot be drawn to. */
static struct plane_target *plane_target_get(struct zc_gl *gl, struct wlr_buffer *buffer) {
	struct plane_target *target;
	wl_list_for_each(target, &gl->plane_targets, link) {
		if (target->buffer == buffer) {
			return target;
		}
	}
	struct wlr_dmabuf_attributes attribs;
	if (!wlr_buffer_get_dmabuf(buffer, &attribs) || attribs.n_planes != 2 ||
			gl->create_image == NULL || gl->image_target_renderbuffer == NULL) {
		wlr_log(WLR_ERROR, "zerocap: a YCbCr dma-buf needs two planes and EGL image "
			"render targets");
		return NULL;
	}
	target = calloc(1, sizeof(*target));
	if (target == NULL) {
		return NULL;
	}
	target->gl = gl;
	target->buffer = buffer;
	wl_list_insert(&gl->plane_targets, &target->link);
	target->destroy.notify = handle_plane_target_destroy;
	wl_signal_add(&buffer->events.destroy, &target->destroy);
	uint32_t formats[2];
	yuv_plane_formats(attribs.format, formats);
	glGenRenderbuffers(2, target->renderbuffer);
	glGenFramebuffers(2, target->fbo);
	bool ok = true;
	for (int i = 0; i < 2 && ok; i++) {
		int sub = i == 0 ? 1 : 2;
		EGLint attr[] = {
			EGL_WIDTH, attribs.width / sub,
			EGL_HEIGHT, attribs.height / sub,
			EGL_LINUX_DRM_FOURCC_EXT, (EGLint)formats[i],
			EGL_DMA_BUF_PLANE0_FD_EXT, attribs.fd[i],
			EGL_DMA_BUF_PLANE0_OFFSET_EXT, (EGLint)attribs.offset[i],
			EGL_DMA_BUF_PLANE0_PITCH_EXT, (EGLint)attribs.stride[i],
			EGL_NONE, EGL_NONE, EGL_NONE, EGL_NONE, EGL_NONE,
		};
		if (attribs.modifier != DRM_FORMAT_MOD_INVALID) {
			attr[12] = EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT;
			attr[13] = (EGLint)(attribs.modifier & 0xffffffff);
			attr[14] = EGL_DMA_BUF_PLANE0_MODIFIER_HI_EXT;
			attr[15] = (EGLint)(attribs.modifier >> 32);
		}
		target->image[i] = gl->create_image(gl->display, EGL_NO_CONTEXT,
			EGL_LINUX_DMA_BUF_EXT, NULL, attr);
		if (target->image[i] == EGL_NO_IMAGE_KHR) {
			wlr_log(WLR_ERROR, "zerocap: cannot import plane %d of a YCbCr dma-buf", i);
			ok = false;
			break;
		}
		glBindRenderbuffer(GL_RENDERBUFFER, target->renderbuffer[i]);
		gl->image_target_renderbuffer(GL_RENDERBUFFER, target->image[i]);
		glBindFramebuffer(GL_FRAMEBUFFER, target->fbo[i]);
		glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER,
			target->renderbuffer[i]);
		ok = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
		if (!ok) {
			wlr_log(WLR_ERROR, "zerocap: plane %d of a YCbCr dma-buf is not a "
				"complete render target", i);
		}
	}
	glBindRenderbuffer(GL_RENDERBUFFER, 0);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	if (!ok) {
		plane_target_destroy(target);
		make_current(gl);
		return NULL;
	}
	return target;
}

void zc_gl_destroy(struct zc_gl *gl) {
	if (gl == NULL) {
		return;
	}
	struct zc_render_job *job, *tmp;
	wl_list_for_each_safe(job, tmp, &gl->jobs, link) {
		if (job->sync != EGL_NO_SYNC_KHR) {
			gl->client_wait_sync(gl->display, job->sync, 0, EGL_FOREVER_KHR);
		}
		job_finish(job, true);
	}
	cursor_forget(gl);
	struct plane_target *target, *target_tmp;
	wl_list_for_each_safe(target, target_tmp, &gl->plane_targets, link) {
		plane_target_destroy(target);
	}
	if (gl->programs_ready) {
		struct saved_context saved;
		save_context(&saved);
		make_current(gl);
		zc_blit_program_finish(&gl->plain);
		zc_blit_program_finish(&gl->external);
		zc_convert_programs_finish(&gl->convert);
		struct staging *staging, *staging_tmp;
		wl_list_for_each_safe(staging, staging_tmp, &gl->staging, link) {
			glDeleteBuffers(1, &staging->pbo);
			glDeleteFramebuffers(1, &staging->fbo);
			glDeleteTextures(1, &staging->tex);
			wl_list_remove(&staging->link);
			free(staging);
		}
		restore_context(gl, &saved);
	}
	free(gl);
}

/*
 * Bytes per pixel of the formats a capture can be drawn into (RGB with all
 * three channels), 0 for others. The renderer's list also has YUV and one-
 * or two-channel formats when the driver does not say which are
 * external-only (llvmpipe).
 */
static int capture_format_bpp(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
	case DRM_FORMAT_RGBX8888:
	case DRM_FORMAT_RGBA8888:
	case DRM_FORMAT_BGRX8888:
	case DRM_FORMAT_BGRA8888:
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
	case DRM_FORMAT_XBGR2101010:
	case DRM_FORMAT_ABGR2101010:
		return 4;
	case DRM_FORMAT_XRGB16161616F:
	case DRM_FORMAT_ARGB16161616F:
	case DRM_FORMAT_XBGR16161616F:
	case DRM_FORMAT_ABGR16161616F:
	case DRM_FORMAT_XBGR16161616:
	case DRM_FORMAT_ABGR16161616:
		return 8;
	case DRM_FORMAT_RGB565:
	case DRM_FORMAT_BGR565:
		return 2;
	default:
		return 0;
	}
}

/*
 * Drivers trust the layout they are given: a stride shorter than a row makes
 * them write out of place, and llvmpipe crashes on a stride or offset that is
 * not a multiple of 16 bytes. Allocators align far more than that.
 */
#define DST_ALIGN 16

/* False, with why, for client dma-buf layouts not to draw into. */
static bool dst_layout_ok(struct wlr_buffer *dst, char *why, size_t why_size) {
	struct wlr_dmabuf_attributes attribs;
	if (!wlr_buffer_get_dmabuf(dst, &attribs)) {
		snprintf(why, why_size, "not a dma-buf");
		return false;
	}
	int bpp = capture_format_bpp(attribs.format);
	if (bpp == 0 || attribs.n_planes != 1) {
		snprintf(why, why_size, "format 0x%08x with %d planes cannot be drawn into",
			attribs.format, attribs.n_planes);
		return false;
	}
	if (attribs.stride[0] % DST_ALIGN != 0 ||
			attribs.stride[0] < (uint32_t)attribs.width * bpp) {
		snprintf(why, why_size, "plane 0 stride %u is not a multiple of %d bytes holding a "
			"row of %d pixels of %d bytes", attribs.stride[0], DST_ALIGN, attribs.width, bpp);
		return false;
	}
	if (attribs.offset[0] % DST_ALIGN != 0) {
		snprintf(why, why_size, "plane 0 offset %u is not a multiple of %d bytes",
			attribs.offset[0], DST_ALIGN);
		return false;
	}
	return true;
}

/*
 * The modifiers EGL can render format with: those not external-only, and
 * DRM_FORMAT_MOD_INVALID (the driver's implicit layout), which EGL always
 * takes. wlroots no longer exposes this list, so it is asked for here.
 */
static bool query_render_modifiers(struct zc_gl *gl, uint32_t format,
		struct zc_dmabuf_format *out) {
	EGLint n = 0;
	if (gl->query_modifiers != NULL &&
			!gl->query_modifiers(gl->display, format, 0, NULL, NULL, &n)) {
		n = 0;
	}
	uint64_t *modifiers = calloc(n + 1, sizeof(*modifiers));
	EGLBoolean *external = calloc(n + 1, sizeof(*external));
	if (modifiers == NULL || external == NULL) {
		free(modifiers);
		free(external);
		return false;
	}
	if (n > 0 && !gl->query_modifiers(gl->display, format, n, (EGLuint64KHR *)modifiers,
			external, &n)) {
		n = 0;
	}
	size_t kept = 0;
	for (EGLint i = 0; i < n; i++) {
		if (!external[i] && modifiers[i] != DRM_FORMAT_MOD_INVALID) {
			modifiers[kept++] = modifiers[i];
		}
	}
	modifiers[kept++] = DRM_FORMAT_MOD_INVALID;
	free(external);
	out->format = format;
	out->modifiers = modifiers;
	out->n_modifiers = kept;
	return true;
}

bool zc_gl_dmabuf_constraints(struct zc_gl *gl, struct zc_constraints *constraints) {
	int fd = wlr_renderer_get_drm_fd(gl->renderer);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		return false;
	}
	EGLint n_formats = 0;
	EGLint *formats = NULL;
	if (gl->query_formats != NULL &&
			gl->query_formats(gl->display, 0, NULL, &n_formats) && n_formats > 0) {
		formats = calloc(n_formats, sizeof(*formats));
		if (formats == NULL ||
				!gl->query_formats(gl->display, n_formats, formats, &n_formats)) {
			n_formats = 0;
		}
	} else {
		/* Without the query extension, the formats every GLES2 driver renders. */
		static const EGLint fallback[] = {DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888};
		n_formats = sizeof(fallback) / sizeof(fallback[0]);
		formats = calloc(n_formats, sizeof(*formats));
		if (formats != NULL) {
			memcpy(formats, fallback, sizeof(fallback));
		} else {
			n_formats = 0;
		}
	}
	constraints->dmabuf_formats = calloc(n_formats > 0 ? n_formats : 1,
		sizeof(*constraints->dmabuf_formats));
	if (constraints->dmabuf_formats == NULL) {
		free(formats);
		return false;
	}
	size_t n = 0;
	for (EGLint i = 0; i < n_formats; i++) {
		if (capture_format_bpp((uint32_t)formats[i]) != 0 &&
				query_render_modifiers(gl, (uint32_t)formats[i],
					&constraints->dmabuf_formats[n])) {
			n++;
		}
	}
	free(formats);
	constraints->n_dmabuf_formats = n;
	constraints->has_dmabuf = true;
	constraints->dmabuf_device = st.st_rdev;
	return true;
}

bool zc_gl_yuv_constraints(struct zc_gl *gl, uint32_t format, struct zc_constraints *out) {
	if (format == DRM_FORMAT_P010) {
		struct saved_context saved;
		save_context(&saved);
		make_current(gl);
		bool ready = ensure_programs(gl);
		restore_context(gl, &saved);
		if (!ready || !gl->has_norm16) {
			return true; /* no 16-bit render targets: no P010 dma-bufs */
		}
	}
	struct zc_constraints base = {0};
	if (!zc_gl_dmabuf_constraints(gl, &base)) {
		return false;
	}
	out->has_dmabuf = true;
	out->dmabuf_device = base.dmabuf_device;
	zc_constraints_finish(&base);
	uint32_t planes[2];
	yuv_plane_formats(format, planes);
	struct zc_dmabuf_format a = {0}, b = {0};
	bool ok = query_render_modifiers(gl, planes[0], &a) &&
		query_render_modifiers(gl, planes[1], &b);
	out->dmabuf_formats = ok ? calloc(1, sizeof(*out->dmabuf_formats)) : NULL;
	if (out->dmabuf_formats != NULL) {
		struct zc_dmabuf_format *f = &out->dmabuf_formats[0];
		f->format = format;
		f->modifiers = calloc(a.n_modifiers + 1, sizeof(*f->modifiers));
		for (size_t i = 0; f->modifiers != NULL && i < a.n_modifiers; i++) {
			for (size_t j = 0; j < b.n_modifiers; j++) {
				if (a.modifiers[i] == b.modifiers[j]) {
					f->modifiers[f->n_modifiers++] = a.modifiers[i];
					break;
				}
			}
		}
		ok = f->modifiers != NULL;
		out->n_dmabuf_formats = 1;
		if (f->n_modifiers == 0) {
			free(f->modifiers);
			f->modifiers = NULL;
			out->n_dmabuf_formats = 0;
		}
	}
	free(a.modifiers);
	free(b.modifiers);
	return ok;
}

static void handle_cursor_destroy(struct wl_listener *listener, void *data) {
	struct zc_gl *gl = wl_container_of(listener, gl, cursor_destroy);
	cursor_forget(gl);
}

/* Called with the context current. */
static struct wlr_texture *cursor_texture(struct zc_gl *gl, struct wlr_buffer *image) {
	if (gl->cursor_buffer == image) {
		return gl->cursor_texture;
	}
	cursor_forget(gl);
	struct wlr_texture *texture = wlr_texture_from_buffer(gl->renderer, image);
	if (texture == NULL) {
		return NULL;
	}
	gl->cursor_buffer = image;
	gl->cursor_texture = texture;
	gl->cursor_destroy.notify = handle_cursor_destroy;
	wl_signal_add(&image->events.destroy, &gl->cursor_destroy);
	return texture;
}

static struct zc_blit_image blit_image(struct wlr_texture *texture) {
	struct wlr_gles2_texture_attribs attribs;
	wlr_gles2_texture_get_attribs(texture, &attribs);
	return (struct zc_blit_image){
		.target = attribs.target,
		.tex = attribs.tex,
		.width = texture->width,
		.height = texture->height,
	};
}

/* Called with dst bound as the framebuffer. */
static bool draw(struct zc_gl *gl, struct wlr_texture *src,
		const struct zc_copy_geometry *geometry, int dst_width, int dst_height,
		const pixman_region32_t *region, const struct zc_overlay *overlay,
		struct wlr_texture *cursor) {
	struct zc_blit blit = {
		.src = blit_image(src),
		.transform = geometry->transform,
		.area_x = geometry->area.x,
		.area_y = geometry->area.y,
		.dst_width = dst_width,
		.dst_height = dst_height,
	};
	const struct zc_blit_program *prog = blit.src.target == GL_TEXTURE_EXTERNAL_OES ?
		&gl->external : &gl->plain;
	if (prog->copy.program == 0) {
		wlr_log(WLR_ERROR, "zerocap: no shader program for this source texture");
		return false;
	}
	struct zc_blit_image cursor_image;
	if (cursor != NULL) {
		cursor_image = blit_image(cursor);
		blit.cursor = &cursor_image;
		blit.cursor_transform = overlay->transform;
		blit.cursor_x = overlay->box.x;
		blit.cursor_y = overlay->box.y;
	}
	/* pixman boxes and ours share their layout: x1, y1, x2, y2. */
	blit.boxes = (const struct zc_blit_box *)pixman_region32_rectangles(
		(pixman_region32_t *)region, &blit.n_boxes);
	return zc_blit_draw(prog, &blit);
}

/* Called with dst bound as the framebuffer: the layers, then the cursor over them. */
static bool draw_composite(struct zc_gl *gl, const struct zc_copy_options *options,
		int dst_width, int dst_height, struct wlr_texture *cursor) {
	struct zc_blit_layer *layers = calloc(options->n_layers + 1, sizeof(*layers));
	if (layers == NULL) {
		return false;
	}
	int n = 0;
	bool ok = true;
	for (size_t i = 0; i < options->n_layers && ok; i++) {
		const struct zc_layer *layer = &options->layers[i];
		if (layer->texture == NULL || !wlr_texture_is_gles2(layer->texture)) {
			wlr_log(WLR_ERROR, "zerocap: a layer is not a texture of this renderer");
			ok = false;
			break;
		}
		if (wlr_box_empty(&layer->dst)) {
			continue;
		}
		struct wlr_gles2_texture_attribs attribs;
		wlr_gles2_texture_get_attribs(layer->texture, &attribs);
		const double src[4] = {layer->src.x, layer->src.y, layer->src.width,
			layer->src.height};
		const int dst[4] = {layer->dst.x, layer->dst.y, layer->dst.width, layer->dst.height};
		struct zc_blit_layer *out = &layers[n++];
		out->image = blit_image(layer->texture);
		out->opaque = !attribs.has_alpha;
		out->box = (struct zc_blit_box){dst[0], dst[1], dst[0] + dst[2], dst[1] + dst[3]};
		out->linear = zc_transform_layer_map(layer->transform, src, out->image.width,
			out->image.height, dst, out->map);
	}
	if (ok && cursor != NULL) {
		/* The overlay's transform is the engine's (turning an image upright). */
		const struct zc_overlay *overlay = options->overlay;
		struct zc_blit_layer *out = &layers[n++];
		out->image = blit_image(cursor);
		int w = out->image.width, h = out->image.height;
		if (overlay->transform % 2 == 1) {
			w = out->image.height;
			h = out->image.width;
		}
		const double src[4] = {0};
		const int dst[4] = {overlay->box.x, overlay->box.y, w, h};
		out->box = (struct zc_blit_box){dst[0], dst[1], dst[0] + w, dst[1] + h};
		zc_transform_layer_map(wlr_output_transform_invert(overlay->transform), src,
			out->image.width, out->image.height, dst, out->map);
	}
	if (ok) {
		struct zc_blit_composite composite = {
			.dst_width = dst_width,
			.dst_height = dst_height,
			.layers = layers,
			.n_layers = n,
		};
		/* pixman boxes and ours share their layout: x1, y1, x2, y2. */
		composite.boxes = (const struct zc_blit_box *)pixman_region32_rectangles(
			(pixman_region32_t *)options->region, &composite.n_boxes);
		ok = zc_blit_composite(&gl->plain, &gl->external, &composite);
	}
	free(layers);
	return ok;
}

/* The parent's image as layers of a derived draw: its buffer or surfaces, then the cursor. */
static int derived_layers(const struct zc_copy_options *options, struct wlr_texture *src_texture,
		struct wlr_texture *cursor, struct zc_convert_layer *out) {
	const struct zc_convert *convert = options->convert;
	int n = 0;
	if (src_texture != NULL) {
		struct wlr_gles2_texture_attribs attribs;
		wlr_gles2_texture_get_attribs(src_texture, &attribs);
		struct zc_convert_layer *layer = &out[n++];
		layer->image = blit_image(src_texture);
		layer->opaque = !attribs.has_alpha;
		int m[6];
		zc_transform_source_map(options->geometry.transform, layer->image.width,
			layer->image.height, m);
		int ax = options->geometry.area.x, ay = options->geometry.area.y;
		const double map[6] = {m[0], m[1], m[2], m[3], m[4] + m[0] * ax + m[1] * ay,
			m[5] + m[2] * ax + m[3] * ay};
		memcpy(layer->map, map, sizeof(map));
		const double box[4] = {0, 0, convert->parent_width, convert->parent_height};
		memcpy(layer->box, box, sizeof(box));
	}
	for (size_t i = 0; options->layers != NULL && i < options->n_layers; i++) {
		const struct zc_layer *in = &options->layers[i];
		if (in->texture == NULL || !wlr_texture_is_gles2(in->texture)) {
			return -1;
		}
		if (wlr_box_empty(&in->dst)) {
			continue;
		}
		struct wlr_gles2_texture_attribs attribs;
		wlr_gles2_texture_get_attribs(in->texture, &attribs);
		struct zc_convert_layer *layer = &out[n++];
		layer->image = blit_image(in->texture);
		layer->opaque = !attribs.has_alpha;
		const double src[4] = {in->src.x, in->src.y, in->src.width, in->src.height};
		const int dst[4] = {in->dst.x, in->dst.y, in->dst.width, in->dst.height};
		zc_transform_layer_map(in->transform, src, layer->image.width, layer->image.height,
			dst, layer->map);
		const double box[4] = {dst[0], dst[1], dst[0] + dst[2], dst[1] + dst[3]};
		memcpy(layer->box, box, sizeof(box));
	}
	if (cursor != NULL) {
		const struct zc_overlay *overlay = options->overlay;
		struct zc_convert_layer *layer = &out[n++];
		layer->image = blit_image(cursor);
		int w = layer->image.width, h = layer->image.height;
		if (overlay->transform % 2 == 1) {
			w = layer->image.height;
			h = layer->image.width;
		}
		const double src[4] = {0};
		const int dst[4] = {overlay->box.x, overlay->box.y, w, h};
		zc_transform_layer_map(wlr_output_transform_invert(overlay->transform), src,
			layer->image.width, layer->image.height, dst, layer->map);
		const double box[4] = {dst[0], dst[1], dst[0] + w, dst[1] + h};
		memcpy(layer->box, box, sizeof(box));
	}
	return n;
}

static void plane_setup(struct zc_convert_plane *plane, const struct zc_convert *convert,
		int subsample, int width, int height, const pixman_region32_t *region) {
	plane->width = width;
	plane->height = height;
	zc_convert_plane_map(convert, subsample, plane->map);
	plane->tap[0] = zc_convert_tap_offset(plane->map[0]);
	plane->tap[1] = zc_convert_tap_offset(plane->map[2]);
	plane->boxes = (const struct zc_blit_box *)pixman_region32_rectangles(
		(pixman_region32_t *)region, &plane->n_boxes);
}

/*
 * A derived image into dst: RGB formats through the framebuffer already
 * bound, NV12 and P010 through their plane targets (two draws).
 */
static bool draw_derived(struct zc_gl *gl, const struct zc_copy_options *options,
		struct wlr_texture *src_texture, struct wlr_texture *cursor, uint32_t format) {
	const struct zc_convert *convert = options->convert;
	struct wlr_buffer *dst = options->dst;
	struct zc_convert_layer *layers = calloc(options->n_layers + 2, sizeof(*layers));
	if (layers == NULL) {
		return false;
	}
	int n = derived_layers(options, options->layers == NULL ? src_texture : NULL, cursor,
		layers);
	bool ok = n >= 0;
	if (!ok) {
		wlr_log(WLR_ERROR, "zerocap: a layer is not a texture of this renderer");
	} else if (!zc_format_is_yuv(format)) {
		struct zc_convert_plane plane = {0};
		plane_setup(&plane, convert, 1, dst->width, dst->height, options->region);
		ok = zc_blit_convert(&gl->convert, &plane, layers, n);
	} else {
		struct plane_target *target = plane_target_get(gl, dst);
		struct zc_yuv_coeffs k;
		zc_yuv_coeffs_get(format, convert->matrix, convert->range, &k);
		pixman_region32_t chroma;
		pixman_region32_init(&chroma);
		int n_boxes;
		const pixman_box32_t *boxes = pixman_region32_rectangles(
			(pixman_region32_t *)options->region, &n_boxes);
		for (int i = 0; i < n_boxes; i++) {
			int x1 = boxes[i].x1 / 2, y1 = boxes[i].y1 / 2;
			pixman_region32_union_rect(&chroma, &chroma, x1, y1,
				(boxes[i].x2 + 1) / 2 - x1, (boxes[i].y2 + 1) / 2 - y1);
		}
		struct zc_convert_plane luma = {.yuv = true, .max_code = k.max_code,
			.code_unit = k.code_unit};
		plane_setup(&luma, convert, 1, dst->width, dst->height, options->region);
		memcpy(luma.k0, k.y, sizeof(k.y));
		luma.off[0] = k.offset[0];
		luma.clear[0] = k.offset[0] * k.code_unit;
		struct zc_convert_plane cbcr = luma;
		plane_setup(&cbcr, convert, 2, dst->width / 2, dst->height / 2, &chroma);
		memcpy(cbcr.k0, k.u, sizeof(k.u));
		memcpy(cbcr.k1, k.v, sizeof(k.v));
		cbcr.off[0] = k.offset[1];
		cbcr.off[1] = k.offset[2];
		cbcr.clear[0] = k.offset[1] * k.code_unit;
		cbcr.clear[1] = k.offset[2] * k.code_unit;
		ok = target != NULL;
		if (ok) {
			glBindFramebuffer(GL_FRAMEBUFFER, target->fbo[0]);
			ok = zc_blit_convert(&gl->convert, &luma, layers, n);
			glBindFramebuffer(GL_FRAMEBUFFER, target->fbo[1]);
			ok = ok && zc_blit_convert(&gl->convert, &cbcr, layers, n);
			glBindFramebuffer(GL_FRAMEBUFFER, 0);
		}
		pixman_region32_fini(&chroma);
	}
	free(layers);
	return ok;
}

/* Called with dst bound as the framebuffer; src_texture is NULL for a composite. */
static bool draw_copy(struct zc_gl *gl, const struct zc_copy_options *options,
		struct wlr_texture *src_texture, struct wlr_texture *cursor) {
	struct wlr_buffer *dst = options->dst;
	if (options->convert != NULL) {
		return draw_derived(gl, options, src_texture, cursor, DRM_FORMAT_ARGB8888);
	}
	if (options->layers != NULL) {
		return draw_composite(gl, options, dst->width, dst->height, cursor);
	}
	return draw(gl, src_texture, &options->geometry, dst->width, dst->height,
		options->region, options->overlay, cursor);
}

static int handle_fence_fd(int fd, uint32_t mask, void *data) {
	struct zc_render_job *job = data;
	job_finish(job, !(mask & (WL_EVENT_ERROR | WL_EVENT_HANGUP)));
	return 0;
}

static void handle_finished(void *data) {
	struct zc_render_job *job = data;
	/* Idle sources free themselves once they ran. */
	job->event = NULL;
	job_finish(job, true);
}

static int handle_fence_poll(void *data) {
	struct zc_render_job *job = data;
	struct zc_gl *gl = job->gl;
	EGLint status = gl->client_wait_sync(gl->display, job->sync, 0, 0);
	if (status == EGL_TIMEOUT_EXPIRED_KHR) {
		wl_event_source_timer_update(job->event, FENCE_POLL_MS);
		return 0;
	}
	job_finish(job, status == EGL_CONDITION_SATISFIED_KHR);
	return 0;
}

/* Puts the write fence into the dma-buf so implicit-sync readers wait too. */
static void attach_implicit_fence(struct wlr_buffer *dst, int fence_fd) {
	struct wlr_dmabuf_attributes attribs;
	if (!wlr_buffer_get_dmabuf(dst, &attribs)) {
		return;
	}
	for (int i = 0; i < attribs.n_planes; i++) {
		struct dma_buf_import_sync_file import = {
			.flags = DMA_BUF_SYNC_WRITE,
			.fd = fence_fd,
		};
		if (ioctl(attribs.fd[i], DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &import) != 0 &&
				errno != ENOTTY && errno != EINVAL) {
			wlr_log_errno(WLR_DEBUG, "zerocap: cannot attach the fence to the dma-buf");
		}
	}
}

/* Called with the context current, after the draw. */
static bool job_arm(struct zc_gl *gl, struct zc_render_job *job) {
	job->fence_fd = -1;
	job->sync = EGL_NO_SYNC_KHR;
	if (zc_fault(gl->faults, ZC_FAULT_FENCE)) {
		return false;
	}
	if (gl->dup_native_fence_fd != NULL) {
		const EGLint attribs[] = {
			EGL_SYNC_NATIVE_FENCE_FD_ANDROID, EGL_NO_NATIVE_FENCE_FD_ANDROID, EGL_NONE,
		};
		job->sync = gl->create_sync(gl->display, EGL_SYNC_NATIVE_FENCE_ANDROID, attribs);
		glFlush();
		if (job->sync != EGL_NO_SYNC_KHR) {
			job->fence_fd = gl->dup_native_fence_fd(gl->display, job->sync);
		}
		if (job->fence_fd >= 0) {
			attach_implicit_fence(job->dst, job->fence_fd);
			job->event = wl_event_loop_add_fd(gl->loop, job->fence_fd, WL_EVENT_READABLE,
				handle_fence_fd, job);
			return job->event != NULL;
		}
		if (job->sync != EGL_NO_SYNC_KHR) {
			gl->destroy_sync(gl->display, job->sync);
			job->sync = EGL_NO_SYNC_KHR;
		}
	}
	if (gl->create_sync != NULL) {
		job->sync = gl->create_sync(gl->display, EGL_SYNC_FENCE_KHR, NULL);
		glFlush();
		if (job->sync != EGL_NO_SYNC_KHR) {
			job->event = wl_event_loop_add_timer(gl->loop, handle_fence_poll, job);
			if (job->event == NULL) {
				return false;
			}
			wl_event_source_timer_update(job->event, FENCE_POLL_MS);
			return true;
		}
	}
	/* No fences at all: the last resort waits here. */
	glFinish();
	job->event = wl_event_loop_add_idle(gl->loop, handle_finished, job);
	return job->event != NULL;
}

/*
 * Fills in and arms a job whose GPU work was just submitted. On failure the
 * job is finished (and freed) without calling back.
 */
static void handle_dst_destroy(struct wl_listener *listener, void *data) {
	struct zc_render_job *job = wl_container_of(listener, job, dst_destroy);
	wl_list_remove(&job->dst_destroy.link);
	job->watching_dst = false;
}

static bool job_start(struct zc_gl *gl, struct zc_render_job *job,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data) {
	job->gl = gl;
	clock_gettime(CLOCK_MONOTONIC, &job->submitted);
	job->dst = wlr_buffer_lock(options->dst);
	job->data = data;
	if (options->dst_resource != NULL) {
		job->dst_destroy.notify = handle_dst_destroy;
		wl_resource_add_destroy_listener(options->dst_resource, &job->dst_destroy);
		job->watching_dst = true;
	}
	wl_list_insert(&gl->jobs, &job->link);
	if (!job_arm(gl, job)) {
		wlr_log(WLR_ERROR, "zerocap: cannot watch the GPU fence");
		job_finish(job, false);
		return false;
	}
	job->done = done;
	return true;
}

enum zc_gl_result zc_gl_blit(struct zc_gl *gl, const struct zc_copy_options *options,
		zc_copy_done_func done, void *data, struct zc_render_job **job_out) {
	struct wlr_buffer *src = options->src, *dst = options->dst;
	const pixman_region32_t *region = options->region;
	const struct zc_overlay *overlay = options->overlay;
	struct zc_render_job *job = calloc(1, sizeof(*job));
	if (job == NULL) {
		return ZC_GL_FAILED;
	}
	struct saved_context saved;
	save_context(&saved);

	enum zc_gl_result result = ZC_GL_FAILED;
	char why[128];
	struct wlr_dmabuf_attributes dst_attribs;
	bool yuv = options->convert != NULL && wlr_buffer_get_dmabuf(dst, &dst_attribs) &&
		zc_format_is_yuv(dst_attribs.format);
	if (!yuv && !dst_layout_ok(dst, why, sizeof(why))) {
		wlr_log(WLR_ERROR, "zerocap: cannot import the client's dma-buf: %s", why);
		free(job);
		return ZC_GL_BAD_BUFFER;
	}
	make_current(gl);
	struct wlr_texture *src_texture = NULL;
	if (options->layers == NULL &&
			(src_texture = wlr_texture_from_buffer(gl->renderer, src)) == NULL) {
		wlr_log(WLR_ERROR, "zerocap: cannot import the output buffer as a texture");
		goto out;
	}
	struct wlr_texture *cursor = NULL;
	if (overlay != NULL && overlay->image != NULL) {
		cursor = cursor_texture(gl, overlay->image);
	}
	GLuint fbo = 0;
	if (zc_fault(gl->faults, ZC_FAULT_IMPORT) || (!yuv &&
			(fbo = wlr_gles2_renderer_get_buffer_fbo(gl->renderer, dst)) == 0)) {
		wlr_log(WLR_ERROR, "zerocap: cannot import the client's dma-buf (%dx%d) as a "
			"render target", dst->width, dst->height);
		result = ZC_GL_BAD_BUFFER;
		goto out;
	}
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	if (!ensure_programs(gl)) {
		goto out_end;
	}
	if (yuv ? !draw_derived(gl, options, src_texture, cursor, dst_attribs.format) :
			!draw_copy(gl, options, src_texture, cursor)) {
		wlr_log(WLR_ERROR, "zerocap: the capture draw failed");
		goto out_end;
	}
	struct zc_render_job *armed = job;
	job = NULL;
	if (!job_start(gl, armed, options, done, data)) {
		goto out_end;
	}
	result = ZC_GL_OK;
	*job_out = armed;
	if (gl->stats != NULL) {
		gl->stats->gpu_blits++;
		gl->stats->bytes_written += zc_region_area(region) * 4;
	}

out_end:
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
out:
	wlr_texture_destroy(src_texture);
	restore_context(gl, &saved);
	free(job);
	return result;
}

/* A free staging target of that size, made when there is none; with the
 * context current. NULL when the pool is full or GL fails. */
static struct staging *staging_get(struct zc_gl *gl, int width, int height) {
	struct staging *staging;
	int count = 0;
	wl_list_for_each(staging, &gl->staging, link) {
		if (!staging->busy && staging->width == width && staging->height == height) {
			return staging;
		}
		count++;
	}
	if (count >= MAX_STAGING) {
		/* Drop an idle one of another size, if any. */
		struct staging *tmp;
		staging = NULL;
		wl_list_for_each(tmp, &gl->staging, link) {
			if (!tmp->busy) {
				staging = tmp;
				break;
			}
		}
		if (staging == NULL) {
			return NULL;
		}
		glDeleteBuffers(1, &staging->pbo);
		glDeleteFramebuffers(1, &staging->fbo);
		glDeleteTextures(1, &staging->tex);
		wl_list_remove(&staging->link);
		free(staging);
	}
	staging = calloc(1, sizeof(*staging));
	if (staging == NULL) {
		return NULL;
	}
	staging->width = width;
	staging->height = height;
	glGenTextures(1, &staging->tex);
	glBindTexture(GL_TEXTURE_2D, staging->tex);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
	glBindTexture(GL_TEXTURE_2D, 0);
	glGenFramebuffers(1, &staging->fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, staging->fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, staging->tex, 0);
	bool complete = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glGenBuffers(1, &staging->pbo);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, staging->pbo);
	glBufferData(GL_PIXEL_PACK_BUFFER, (GLsizeiptr)width * height * 4, NULL, GL_STREAM_READ);
	glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
	wl_list_insert(&gl->staging, &staging->link);
	if (!complete || glGetError() != GL_NO_ERROR) {
		wlr_log(WLR_ERROR, "zerocap: cannot make a %dx%d staging image", width, height);
		staging->busy = true; /* never handed out; freed with the engine */
		return NULL;
	}
	return staging;
}

/*
 * The source image as a framebuffer to read from, when the copy is plain
 * (upright, unscaled, no cursor, no composite): then the PBO reads it as it
 * is, and the staging draw, a whole pass over the region (on the CPU under
 * llvmpipe), is not needed. 0 otherwise. With the context current.
 */
static GLuint plain_source_fbo(const struct zc_copy_options *options,
		struct wlr_texture *src) {
	const struct wlr_box *area = &options->geometry.area;
	const struct zc_overlay *overlay = options->overlay;
	if (src == NULL || options->convert != NULL || options->layers != NULL ||
			(overlay != NULL && overlay->image != NULL) ||
			options->geometry.transform != WL_OUTPUT_TRANSFORM_NORMAL ||
			area->width != options->dst->width || area->height != options->dst->height ||
			area->x < 0 || area->y < 0 || area->x + area->width > (int)src->width ||
			area->y + area->height > (int)src->height) {
		return 0;
	}
	struct wlr_gles2_texture_attribs attribs;
	wlr_gles2_texture_get_attribs(src, &attribs);
	if (attribs.target != GL_TEXTURE_2D) {
		return 0; /* external images cannot be framebuffers */
	}
	GLuint fbo = 0;
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, attribs.tex, 0);
	bool complete = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	if (!complete) {
		glDeleteFramebuffers(1, &fbo);
		glGetError(); /* a source that is no render target: the draw reads it */
		return 0;
	}
	return fbo;
}

enum zc_gl_result zc_gl_read_back(struct zc_gl *gl, const struct zc_copy_options *options,
		zc_copy_done_func done, void *data, struct zc_render_job **job_out) {
	struct wlr_buffer *src = options->src, *dst = options->dst;
	const pixman_region32_t *region = options->region;
	const struct zc_overlay *overlay = options->overlay;
	struct saved_context saved;
	save_context(&saved);
	make_current(gl);
	enum zc_gl_result result = ZC_GL_UNSUPPORTED;
	struct wlr_texture *src_texture = NULL;
	struct staging *staging = NULL;
	struct zc_render_job *job = NULL;
	if (!ensure_programs(gl) || !gl->has_pbo ||
			(staging = staging_get(gl, dst->width, dst->height)) == NULL) {
		goto out;
	}
	result = ZC_GL_FAILED;
	if (zc_fault(gl->faults, ZC_FAULT_READ_BACK)) {
		wlr_log(WLR_ERROR, "zerocap: reading back the output buffer failed (injected)");
		goto out;
	}
	job = calloc(1, sizeof(*job));
	if (options->layers == NULL) {
		src_texture = wlr_texture_from_buffer(gl->renderer, src);
	}
	if (job == NULL || (options->layers == NULL && src_texture == NULL)) {
		wlr_log(WLR_ERROR, "zerocap: cannot read the output buffer back");
		goto out;
	}
	GLuint plain = plain_source_fbo(options, src_texture);
	if (plain == 0) {
		struct wlr_texture *cursor = NULL;
		if (overlay != NULL && overlay->image != NULL) {
			cursor = cursor_texture(gl, overlay->image);
		}
		glBindFramebuffer(GL_FRAMEBUFFER, staging->fbo);
		bool drawn = draw_copy(gl, options, src_texture, cursor);
		glBindFramebuffer(GL_FRAMEBUFFER, 0);
		if (!drawn || glGetError() != GL_NO_ERROR) {
			wlr_log(WLR_ERROR, "zerocap: the read back draw failed");
			goto out;
		}
	}
	int n = pixman_region32_n_rects(region);
	job->staging = staging;
	staging->busy = true;
	pixman_region32_init(&job->region);
	pixman_region32_copy(&job->region, region);
	if (plain != 0) {
		/* Nothing drawn: the source is read at once (in GL's order after its own draw). */
		read_back_pack(job, plain, options->geometry.area.x, options->geometry.area.y);
		glDeleteFramebuffers(1, &plain);
		job->pack_pending = false;
		if (glGetError() != GL_NO_ERROR) {
			wlr_log(WLR_ERROR, "zerocap: reading the output buffer back failed");
			staging->busy = false;
			pixman_region32_fini(&job->region);
			goto out;
		}
	} else {
		/* With fences the PBO read waits for the draw's; without, it goes now. */
		job->pack_pending = gl->create_sync != NULL;
		if (!job->pack_pending) {
			read_back_pack(job, staging->fbo, 0, 0);
		}
	}
	struct zc_render_job *armed = job;
	job = NULL;
	if (!job_start(gl, armed, options, done, data)) {
		goto out;
	}
	if (gl->stats != NULL) {
		gl->stats->cpu_pixel_reads += n;
	}
	*job_out = armed;
	result = ZC_GL_OK;
out:
	wlr_texture_destroy(src_texture);
	restore_context(gl, &saved);
	free(job);
	return result;
}

void zc_render_job_cancel(struct zc_render_job *job) {
	job->done = NULL;
}
