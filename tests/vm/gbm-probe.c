/*
 * Proves the DRM test bed works: allocate a linear XRGB8888 buffer with GBM,
 * render into it through EGL/GLES as an imported dma-buf, and read the pixels
 * back through a CPU mapping. Exit 0 on success, 1 on failure, 77 without DRM.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>

#define EXIT_SKIP 77

enum {
	width = 256,
	height = 128,
};

/* Left half and right half of the buffer, as XRGB8888 without the X byte. */
static const uint32_t left_color = 0x336699;
static const uint32_t right_color = 0xcc2200;

static PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display;
static PFNEGLCREATEIMAGEKHRPROC create_image;
static PFNEGLDESTROYIMAGEKHRPROC destroy_image;
static PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC image_target_renderbuffer;

static int fail(const char *what)
{
	fprintf(stderr, "gbm-probe: FAIL: %s\n", what);
	return 1;
}

static bool has_extension(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; p && (p = strstr(p, name)); p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	}
	return false;
}

static void set_clear_color(uint32_t rgb)
{
	glClearColor(((rgb >> 16) & 0xff) / 255.0f, ((rgb >> 8) & 0xff) / 255.0f,
		(rgb & 0xff) / 255.0f, 1.0f);
}

static int check_pixels(struct gbm_bo *bo)
{
	uint32_t stride = 0;
	void *map_data = NULL;
	const uint8_t *pixels = gbm_bo_map(bo, 0, 0, width, height,
		GBM_BO_TRANSFER_READ, &stride, &map_data);
	if (!pixels)
		return fail("gbm_bo_map");

	int wrong = 0;
	for (int y = 0; y < height; y++) {
		const uint32_t *row = (const uint32_t *)(pixels + (size_t)y * stride);
		for (int x = 0; x < width; x++) {
			uint32_t want = x < width / 2 ? left_color : right_color;
			uint32_t got = row[x] & 0xffffff;
			if (got != want && wrong++ < 5)
				fprintf(stderr, "gbm-probe: pixel (%d,%d) is %06x, want %06x\n",
					x, y, got, want);
		}
	}
	gbm_bo_unmap(bo, map_data);
	if (wrong)
		return fail("wrong pixels in the mapped buffer");
	printf("mapped the buffer (stride %u): all %d pixels right\n", stride,
		width * height);
	return 0;
}

static int render_and_check(EGLDisplay display, struct gbm_bo *bo)
{
	int fd = gbm_bo_get_fd(bo);
	if (fd < 0)
		return fail("gbm_bo_get_fd");

	const EGLint image_attribs[] = {
		EGL_WIDTH, width,
		EGL_HEIGHT, height,
		EGL_LINUX_DRM_FOURCC_EXT, DRM_FORMAT_XRGB8888,
		EGL_DMA_BUF_PLANE0_FD_EXT, fd,
		EGL_DMA_BUF_PLANE0_OFFSET_EXT, (EGLint)gbm_bo_get_offset(bo, 0),
		EGL_DMA_BUF_PLANE0_PITCH_EXT, (EGLint)gbm_bo_get_stride(bo),
		EGL_NONE,
	};
	EGLImageKHR image = create_image(display, EGL_NO_CONTEXT,
		EGL_LINUX_DMA_BUF_EXT, NULL, image_attribs);
	close(fd);
	if (image == EGL_NO_IMAGE_KHR)
		return fail("eglCreateImageKHR from the dma-buf");
	printf("imported the dma-buf as an EGLImage\n");

	GLuint renderbuffer, framebuffer;
	glGenRenderbuffers(1, &renderbuffer);
	glBindRenderbuffer(GL_RENDERBUFFER, renderbuffer);
	image_target_renderbuffer(GL_RENDERBUFFER, image);
	glGenFramebuffers(1, &framebuffer);
	glBindFramebuffer(GL_FRAMEBUFFER, framebuffer);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
		GL_RENDERBUFFER, renderbuffer);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
		return fail("framebuffer on the EGLImage is incomplete");

	glViewport(0, 0, width, height);
	set_clear_color(left_color);
	glClear(GL_COLOR_BUFFER_BIT);
	glEnable(GL_SCISSOR_TEST);
	glScissor(width / 2, 0, width - width / 2, height);
	set_clear_color(right_color);
	glClear(GL_COLOR_BUFFER_BIT);
	glDisable(GL_SCISSOR_TEST);
	glFinish();
	if (glGetError() != GL_NO_ERROR)
		return fail("GL error while rendering");
	printf("cleared it through a GL framebuffer: left %06x, right %06x\n",
		left_color, right_color);

	int result = check_pixels(bo);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glDeleteFramebuffers(1, &framebuffer);
	glDeleteRenderbuffers(1, &renderbuffer);
	destroy_image(display, image);
	return result;
}

static int probe_egl(struct gbm_device *gbm, struct gbm_bo *bo)
{
	const char *client_exts = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	if (!has_extension(client_exts, "EGL_KHR_platform_gbm") &&
	    !has_extension(client_exts, "EGL_MESA_platform_gbm"))
		return fail("EGL has no GBM platform");
	get_platform_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)
		eglGetProcAddress("eglGetPlatformDisplayEXT");
	create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
	image_target_renderbuffer = (PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC)
		eglGetProcAddress("glEGLImageTargetRenderbufferStorageOES");
	if (!get_platform_display || !create_image || !destroy_image ||
	    !image_target_renderbuffer)
		return fail("missing EGL or GL entry points");

	EGLDisplay display = get_platform_display(EGL_PLATFORM_GBM_KHR, gbm, NULL);
	EGLint major, minor;
	if (display == EGL_NO_DISPLAY || !eglInitialize(display, &major, &minor))
		return fail("EGL display on GBM");
	printf("EGL %d.%d: %s\n", major, minor, eglQueryString(display, EGL_VENDOR));

	const char *exts = eglQueryString(display, EGL_EXTENSIONS);
	static const char *const needed[] = {
		"EGL_EXT_image_dma_buf_import",
		"EGL_KHR_surfaceless_context",
		"EGL_KHR_no_config_context",
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!has_extension(exts, needed[i])) {
			fprintf(stderr, "gbm-probe: missing %s\n", needed[i]);
			return fail("EGL extensions");
		}
	}

	static const EGLint context_attribs[] = {
		EGL_CONTEXT_CLIENT_VERSION, 2,
		EGL_NONE,
	};
	if (!eglBindAPI(EGL_OPENGL_ES_API))
		return fail("eglBindAPI");
	EGLContext context = eglCreateContext(display, EGL_NO_CONFIG_KHR,
		EGL_NO_CONTEXT, context_attribs);
	if (context == EGL_NO_CONTEXT)
		return fail("eglCreateContext");
	if (!eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context))
		return fail("eglMakeCurrent without a surface");
	printf("GL: %s, %s\n", (const char *)glGetString(GL_RENDERER),
		(const char *)glGetString(GL_VERSION));
	if (!has_extension((const char *)glGetString(GL_EXTENSIONS), "GL_OES_EGL_image"))
		return fail("GL_OES_EGL_image missing");

	int result = render_and_check(display, bo);
	eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(display, context);
	eglTerminate(display);
	return result;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/dri/card0";
	struct stat st;
	if (stat("/dev/dri", &st) != 0) {
		printf("gbm-probe: no /dev/dri, skipping\n");
		return EXIT_SKIP;
	}

	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "gbm-probe: open %s: %s\n", path, strerror(errno));
		return errno == ENOENT ? EXIT_SKIP : 1;
	}
	drmVersionPtr version = drmGetVersion(fd);
	printf("opened %s: kernel driver %s\n", path, version ? version->name : "?");
	drmFreeVersion(version);

	struct gbm_device *gbm = gbm_create_device(fd);
	if (!gbm)
		return fail("gbm_create_device");
	printf("GBM backend: %s\n", gbm_device_get_backend_name(gbm));

	struct gbm_bo *bo = gbm_bo_create(gbm, width, height, GBM_FORMAT_XRGB8888,
		GBM_BO_USE_LINEAR | GBM_BO_USE_RENDERING);
	if (!bo)
		return fail("gbm_bo_create XRGB8888 LINEAR");
	printf("allocated a %dx%d XRGB8888 linear buffer, stride %u\n", width,
		height, gbm_bo_get_stride(bo));

	int result = probe_egl(gbm, bo);
	gbm_bo_destroy(bo);
	gbm_device_destroy(gbm);
	close(fd);
	printf("gbm-probe: %s\n", result == 0 ? "OK" : "FAILED");
	return result;
}
