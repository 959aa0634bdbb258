#ifndef ZC_RENDER_GLES2_H
#define ZC_RENDER_GLES2_H

#include <pixman.h>
#include <stdbool.h>
#include <sys/types.h>
#include <wayland-server-core.h>
#include "capture/capture.h"
#include "render/engine.h"

struct wlr_buffer;
struct wlr_renderer;
struct zc_gl;

enum zc_gl_result {
	ZC_GL_OK,
	ZC_GL_BAD_BUFFER, /* the client buffer cannot be imported or drawn to */
	ZC_GL_FAILED, /* anything else: source import, fence, GL errors */
	ZC_GL_UNSUPPORTED, /* not possible here: use another path */
};

/*
 * The GPU blit engine on the compositor's GLES2 renderer. NULL when the
 * renderer is not GLES2 or lacks what the engine needs.
 */
struct zc_gl *zc_gl_create(struct wlr_renderer *renderer, struct wl_event_loop *loop,
	struct zc_capture_stats *stats, struct zc_faults *faults);
/* Waits for jobs still on the GPU, then frees everything. */
void zc_gl_destroy(struct zc_gl *gl);

/* The dma-buf half for NV12 or P010 (see zc_render_engine_yuv_constraints). */
bool zc_gl_yuv_constraints(struct zc_gl *gl, uint32_t format, struct zc_constraints *out);
/* The DRM device and the formats the renderer can draw into. */
bool zc_gl_dmabuf_constraints(struct zc_gl *gl, struct zc_constraints *constraints);

/*
 * Draws src as geometry says (or the composite of options->layers) into the
 * dma-buf dst, only inside region, with overlay (may be NULL) laid over it:
 * one render pass. done runs from the event
 * loop once the GPU has finished. On ZC_GL_OK *job is set; on failure
 * done is never called.
 */
enum zc_gl_result zc_gl_blit(struct zc_gl *gl, const struct zc_copy_options *options,
	zc_copy_done_func done, void *data, struct zc_render_job **job);
/*
 * The shm path for GPU sources: draws as zc_gl_blit does into a staging
 * image, reads region into a pixel buffer object and, once the fence
 * signals, copies it into the shm buffer dst; the compositor never waits
 * for the read. ZC_GL_UNSUPPORTED without GLES 3 or a free staging image.
 */
enum zc_gl_result zc_gl_read_back(struct zc_gl *gl, const struct zc_copy_options *options,
	zc_copy_done_func done, void *data, struct zc_render_job **job);

#endif
