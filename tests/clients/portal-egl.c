/*
 * The consumer's EGL import of a dma-buf frame, as a GPU application does it
 * (OBS, the browsers): an EGLImage from the buffer's fd, offset, stride and
 * modifier, a framebuffer on it, and glReadPixels to see what the GPU
 * sees, compared with the same buffer's CPU mapping.
 *
 * One EGL display (GBM platform, on the first consumer's DRM device) and
 * one context with no surface serve the whole process, made on first use
 * and kept until it exits; the context is current only while a frame is
 * compared, under one lock. Displays terminated and made again while
 * PipeWire threads came and went crashed Mesa (llvmpipe, 26.2) in
 * eglCreateContext in the VM, now and then.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <gbm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "portal-stack.h"

static pthread_mutex_t egl_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	bool tried;
	int fd;
	struct gbm_device *gbm;
	EGLDisplay display;
	EGLContext context;
	PFNEGLCREATEIMAGEKHRPROC create_image;
	PFNEGLDESTROYIMAGEKHRPROC destroy_image;
	PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC image_renderbuffer;
} shared = {.display = EGL_NO_DISPLAY, .context = EGL_NO_CONTEXT};

/* One consumer's read-back buffer. */
struct ct_egl {
	uint8_t *pixels;
	size_t size;
};

/* The process's display and context (under the lock); false if EGL cannot do it. */
static bool shared_init(int drm_fd) {
	if (shared.tried) {
		return shared.context != EGL_NO_CONTEXT;
	}
	shared.tried = true;
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)
		eglGetProcAddress("eglGetPlatformDisplayEXT");
	shared.create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	shared.destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
	shared.image_renderbuffer = (PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC)
		eglGetProcAddress("glEGLImageTargetRenderbufferStorageOES");
	shared.fd = fcntl(drm_fd, F_DUPFD_CLOEXEC, 0); /* the consumer closes its own */
	shared.gbm = shared.fd >= 0 ? gbm_create_device(shared.fd) : NULL;
	if (get_display == NULL || shared.create_image == NULL || shared.destroy_image == NULL ||
			shared.image_renderbuffer == NULL || shared.gbm == NULL) {
		return false;
	}
	shared.display = get_display(EGL_PLATFORM_GBM_KHR, shared.gbm, NULL);
	static const EGLint attribs[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
	if (shared.display == EGL_NO_DISPLAY || !eglInitialize(shared.display, NULL, NULL) ||
			!eglBindAPI(EGL_OPENGL_ES_API)) {
		return false;
	}
	shared.context = eglCreateContext(shared.display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT,
		attribs);
	return shared.context != EGL_NO_CONTEXT;
}

struct ct_egl *ct_egl_create(int drm_fd) {
	pthread_mutex_lock(&egl_lock);
	bool ok = shared_init(drm_fd);
	pthread_mutex_unlock(&egl_lock);
	return ok ? calloc(1, sizeof(struct ct_egl)) : NULL;
}

void ct_egl_destroy(struct ct_egl *egl) {
	if (egl != NULL) {
		free(egl->pixels);
		free(egl);
	}
}

/* The comparison, with the context current. */
static int compare(struct ct_egl *egl, const struct spa_buffer *buffer, uint32_t width,
		uint32_t height, uint64_t modifier) {
	const struct spa_data *d = &buffer->datas[0];
	EGLint attribs[32];
	int n = 0;
	attribs[n++] = EGL_WIDTH;
	attribs[n++] = (EGLint)width;
	attribs[n++] = EGL_HEIGHT;
	attribs[n++] = (EGLint)height;
	attribs[n++] = EGL_LINUX_DRM_FOURCC_EXT;
	attribs[n++] = DRM_FORMAT_XRGB8888;
	attribs[n++] = EGL_DMA_BUF_PLANE0_FD_EXT;
	attribs[n++] = (EGLint)d->fd;
	attribs[n++] = EGL_DMA_BUF_PLANE0_OFFSET_EXT;
	attribs[n++] = (EGLint)d->chunk->offset;
	attribs[n++] = EGL_DMA_BUF_PLANE0_PITCH_EXT;
	attribs[n++] = d->chunk->stride;
	if (modifier != DRM_FORMAT_MOD_INVALID) {
		attribs[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT;
		attribs[n++] = (EGLint)(modifier & 0xffffffff);
		attribs[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_HI_EXT;
		attribs[n++] = (EGLint)(modifier >> 32);
	}
	attribs[n++] = EGL_NONE;
	EGLImageKHR image = shared.create_image(shared.display, EGL_NO_CONTEXT,
		EGL_LINUX_DMA_BUF_EXT, NULL, attribs);
	if (image == EGL_NO_IMAGE_KHR) {
		return -1;
	}
	size_t size = (size_t)width * height * 4;
	if (size > egl->size) {
		free(egl->pixels);
		egl->pixels = malloc(size);
		egl->size = egl->pixels != NULL ? size : 0;
	}
	GLuint renderbuffer, framebuffer;
	glGenRenderbuffers(1, &renderbuffer);
	glBindRenderbuffer(GL_RENDERBUFFER, renderbuffer);
	shared.image_renderbuffer(GL_RENDERBUFFER, image);
	glGenFramebuffers(1, &framebuffer);
	glBindFramebuffer(GL_FRAMEBUFFER, framebuffer);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER,
		renderbuffer);
	int wrong = -1;
	if (egl->pixels != NULL &&
			glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE) {
		glReadPixels(0, 0, (GLsizei)width, (GLsizei)height, GL_RGBA, GL_UNSIGNED_BYTE,
			egl->pixels);
		wrong = glGetError() == GL_NO_ERROR ? 0 : -1;
	}
	/* Row y of the framebuffer is row y of the buffer's memory. */
	const uint8_t *mapped = (const uint8_t *)d->data + d->chunk->offset;
	for (uint32_t y = 0; wrong >= 0 && y < height; y++) {
		const uint8_t *gl = egl->pixels + (size_t)y * width * 4;
		const uint8_t *cpu = mapped + (size_t)y * (size_t)d->chunk->stride;
		for (uint32_t x = 0; x < width; x++) {
			/* XRGB8888 in memory: B, G, R, X */
			wrong += gl[x * 4] != cpu[x * 4 + 2] || gl[x * 4 + 1] != cpu[x * 4 + 1] ||
				gl[x * 4 + 2] != cpu[x * 4];
		}
	}
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glDeleteFramebuffers(1, &framebuffer);
	glDeleteRenderbuffers(1, &renderbuffer);
	shared.destroy_image(shared.display, image);
	return wrong;
}

int ct_egl_compare(struct ct_egl *egl, const struct spa_buffer *buffer, uint32_t width,
		uint32_t height, uint64_t modifier) {
	const struct spa_data *d = &buffer->datas[0];
	if (d->type != SPA_DATA_DmaBuf || d->data == NULL) {
		return -1;
	}
	pthread_mutex_lock(&egl_lock);
	int wrong = -1;
	if (eglMakeCurrent(shared.display, EGL_NO_SURFACE, EGL_NO_SURFACE, shared.context)) {
		wrong = compare(egl, buffer, width, height, modifier);
		eglMakeCurrent(shared.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	}
	pthread_mutex_unlock(&egl_lock);
	return wrong;
}
