/*
 * The render engine: everything that writes pixels into client buffers.
 *
 * It owns what the copies need from the compositor's renderer (the GLES2
 * state in gles2.c, when the renderer is GLES2), the counters and the
 * injected faults, and it picks the path of each copy: one GPU draw into a
 * dma-buf, an asynchronous GPU read back into shm, or a CPU copy. Callers
 * describe a copy with zc_copy_options and get its outcome; they know
 * nothing of frames on this side, and the engine nothing of protocols.
 *
 * Lifetimes: the engine belongs to the manager. A queued job belongs to the
 * engine; its caller may cancel it (the job then finishes without calling
 * back). Destroying the engine, or giving it another renderer, finishes
 * every job first.
 */
#ifndef ZC_RENDER_ENGINE_H
#define ZC_RENDER_ENGINE_H

#include <stdbool.h>
#include <wayland-server-core.h>
#include "capture/capture.h"
#include "render/convert.h"
#include "render/render.h"

struct wlr_buffer;
struct wlr_renderer;
struct zc_gl;
struct zc_render_job;

struct zc_render_engine {
	struct wlr_renderer *renderer;
	struct wl_event_loop *loop;
	struct zc_gl *gl; /* NULL without a GLES2 renderer: no dma-buf capture */
	struct zc_capture_stats stats;
	struct zc_faults faults;
};

/*
 * One texture of a composite (a window's surface). Drawn like wlroots'
 * wlr_render_texture_options: src is in texture pixels, the texture is
 * turned by transform and scaled to dst.
 */
struct zc_layer {
	struct wlr_texture *texture; /* the engine renderer's; borrowed for the call */
	struct wlr_fbox src; /* texture pixels; empty: the whole texture */
	struct wlr_box dst; /* destination pixels; may reach past its edges */
	enum wl_output_transform transform;
};

struct zc_copy_options {
	/* Either src with geometry (an output image), or layers (a composite). */
	struct wlr_buffer *src;
	struct zc_copy_geometry geometry;
	/*
	 * A composite: region is cleared to transparent black, then the layers
	 * are blended in order (premultiplied alpha, over); filtering is nearest
	 * where a layer is drawn at its own size, bilinear where it is scaled.
	 */
	const struct zc_layer *layers;
	size_t n_layers;
	struct wlr_buffer *dst;
	enum zc_buffer_type dst_type;
	/* The client's wl_buffer behind dst (may be NULL): a job that outlives it
	 * leaves the memory alone. */
	struct wl_resource *dst_resource;
	const pixman_region32_t *region; /* what to write, dst coordinates */
	const struct zc_overlay *overlay; /* drawn over the copy; may be NULL */
	/*
	 * A derived image (may be NULL): geometry, layers and overlay then
	 * describe the parent's image, region and dst the derived one, whose
	 * pixel format is dst's (RGB, NV12 or P010).
	 */
	const struct zc_convert *convert;
};

enum zc_copy_status {
	ZC_COPY_FINISHED, /* written already; done is not called */
	ZC_COPY_QUEUED, /* *job is set; done runs from the event loop */
	ZC_COPY_BAD_BUFFER, /* dst cannot be written this way (buffer_constraints) */
	ZC_COPY_FAILED, /* a failure that may go away: worth trying again */
};

typedef void (*zc_copy_done_func)(void *data, bool ok);

struct zc_render_engine *zc_render_engine_create(struct wlr_renderer *renderer,
	struct wl_event_loop *loop);
void zc_render_engine_destroy(struct zc_render_engine *engine);
/* Moves to another renderer; every job of the old one is finished first. */
void zc_render_engine_set_renderer(struct zc_render_engine *engine,
	struct wlr_renderer *renderer);
/* The dma-buf half of the constraints; false when there is no GPU path. */
bool zc_render_engine_dmabuf_constraints(struct zc_render_engine *engine,
	struct zc_constraints *constraints);
bool zc_render_engine_has_gpu(struct zc_render_engine *engine);
/* The dma-buf half for a YCbCr format (NV12, P010): the render-target
 * modifiers of its planes; no formats when the GPU cannot draw them. */
bool zc_render_engine_yuv_constraints(struct zc_render_engine *engine, uint32_t format,
	struct zc_constraints *constraints);

/* Writes options->region of dst from src; see zc_copy_status. */
enum zc_copy_status zc_render_copy(struct zc_render_engine *engine,
	const struct zc_copy_options *options, zc_copy_done_func done, void *data,
	struct zc_render_job **job);
/* The job finishes without calling back; the pointer must not be used after. */
void zc_render_job_cancel(struct zc_render_job *job);

/*
 * Copies src as options say into the CPU-accessible dst, then draws the
 * overlay over it. Sources without CPU access are read back with the
 * renderer (which may be NULL: then they fail).
 */
bool zc_render_copy_cpu(struct wlr_renderer *renderer, const struct zc_copy_options *options,
	struct zc_capture_stats *stats, struct zc_faults *faults);

/*
 * in, moved so that pixel (box.x, box.y) of the parent's image lands at the
 * destination's origin, without its conversion: layers (room for
 * in->n_layers) and overlay hold the moved copies.
 */
void zc_copy_options_shift(const struct zc_copy_options *in, struct wlr_box box,
	struct zc_copy_options *out, struct zc_layer *layers, struct zc_overlay *overlay);

/*
 * A derived copy (options->convert) into a CPU-accessible dst: the parent's
 * image under the region is drawn into a scratch image, then sampled and
 * converted into dst.
 */
enum zc_copy_status zc_render_convert_cpu(struct wlr_renderer *renderer,
	const struct zc_copy_options *options, struct zc_capture_stats *stats,
	struct zc_faults *faults);

#endif
