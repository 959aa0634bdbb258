/*
 * The consumer's EGL import of a dma-buf frame, as a GPU application does it
 * (OBS, the browsers): an EGLImage from the buffer's fd, offset, stride and
 * modifier, a framebuffer on it, and glReadPixels to see what the GPU
 * sees, compared with the same buffer's CPU mapping.
 *
 * EGL on the GBM platform of the consumer's DRM device, a context with no
 * surface; made current on the thread that imports (PipeWire's).
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <drm_fourcc.h>
#include <gbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "portal-stack.h"

struct ct_egl {
	struct gbm_device *gbm;
	EGLDisplay display;
	EGLContext context;
	PFNEGLCREATEIMAGEKHRPROC create_image;
	PFNEGLDESTROYIMAGEKHRPROC destroy_image;
	PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC image_renderbuffer;
	bool current;
	uint8_t *pixels;
	size_t size;
};

struct ct_egl *ct_egl_create(int drm_fd) {
	struct ct_egl *egl = calloc(1, sizeof(*egl));
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)
		eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (egl == NULL || get_display == NULL || (egl->gbm = gbm_create_device(drm_fd)) == NULL) {
		ct_egl_destroy(egl);
		return NULL;
	}
	egl->create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	egl->destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
	egl->image_renderbuffer = (PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC)
		eglGetProcAddress("glEGLImageTargetRenderbufferStorageOES");
	egl->display = get_display(EGL_PLATFORM_GBM_KHR, egl->gbm, NULL);
	static const EGLint attribs[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
	if (egl->create_image == NULL || egl->destroy_image == NULL ||
			egl->image_renderbuffer == NULL || egl->display == EGL_NO_DISPLAY ||
			!eglInitialize(egl->display, NULL, NULL) || !eglBindAPI(EGL_OPENGL_ES_API) ||
			(egl->context = eglCreateContext(egl->display, EGL_NO_CONFIG_KHR,
				EGL_NO_CONTEXT, attribs)) == EGL_NO_CONTEXT) {
		ct_egl_destroy(egl);
		return NULL;
	}
	return egl;
}

void ct_egl_destroy(struct ct_egl *egl) {
	if (egl == NULL) {
		return;
	}
	if (egl->display != EGL_NO_DISPLAY && egl->display != NULL) {
		/* Current on PipeWire's thread, which has ended: destroyed with the display. */
		if (egl->context != EGL_NO_CONTEXT && egl->context != NULL) {
			eglDestroyContext(egl->display, egl->context);
		}
		eglTerminate(egl->display);
	}
	if (egl->gbm != NULL) {
		gbm_device_destroy(egl->gbm);
	}
	free(egl->pixels);
	free(egl);
}

int ct_egl_compare(struct ct_egl *egl, const struct spa_buffer *buffer, uint32_t width,
		uint32_t height, uint64_t modifier) {
	const struct spa_data *d = &buffer->datas[0];
	if (d->type != SPA_DATA_DmaBuf || d->data == NULL) {
		return -1;
	}
	if (!egl->current) {
		egl->current = eglMakeCurrent(egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
			egl->context);
		if (!egl->current) {
			return -1;
		}
	}
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
	EGLImageKHR image = egl->create_image(egl->display, EGL_NO_CONTEXT, EGL_LINUX_DMA_BUF_EXT,
		NULL, attribs);
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
	egl->image_renderbuffer(GL_RENDERBUFFER, image);
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
	/* GL's rows are bottom up from the framebuffer's origin: row y of the image. */
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
	egl->destroy_image(egl->display, image);
	return wrong;
}
