#include <stdlib.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include "render/engine.h"
#include "render/gles2.h"

struct zc_render_engine *zc_render_engine_create(struct wlr_renderer *renderer,
		struct wl_event_loop *loop) {
	struct zc_render_engine *engine = calloc(1, sizeof(*engine));
	if (engine == NULL) {
		return NULL;
	}
	engine->renderer = renderer;
	engine->loop = loop;
	engine->gl = zc_gl_create(renderer, loop, &engine->stats, &engine->faults);
	return engine;
}

void zc_render_engine_destroy(struct zc_render_engine *engine) {
	if (engine == NULL) {
		return;
	}
	zc_gl_destroy(engine->gl);
	free(engine);
}

void zc_render_engine_set_renderer(struct zc_render_engine *engine,
		struct wlr_renderer *renderer) {
	zc_gl_destroy(engine->gl);
	engine->renderer = renderer;
	engine->gl = zc_gl_create(renderer, engine->loop, &engine->stats, &engine->faults);
}

bool zc_render_engine_has_gpu(struct zc_render_engine *engine) {
	return engine->gl != NULL;
}

bool zc_render_engine_dmabuf_constraints(struct zc_render_engine *engine,
		struct zc_constraints *constraints) {
	return engine->gl != NULL && zc_gl_dmabuf_constraints(engine->gl, constraints);
}

bool zc_render_engine_yuv_constraints(struct zc_render_engine *engine, uint32_t format,
		struct zc_constraints *constraints) {
	return engine->gl != NULL && zc_gl_yuv_constraints(engine->gl, format, constraints);
}

static enum zc_copy_status copy_status(enum zc_gl_result result) {
	switch (result) {
	case ZC_GL_OK:
		return ZC_COPY_QUEUED;
	case ZC_GL_BAD_BUFFER:
	case ZC_GL_UNSUPPORTED:
		return ZC_COPY_BAD_BUFFER;
	case ZC_GL_FAILED:
		break;
	}
	return ZC_COPY_FAILED;
}

static enum zc_copy_status copy_cpu(struct zc_render_engine *engine,
		const struct zc_copy_options *options) {
	if (zc_fault(&engine->faults, ZC_FAULT_CPU_COPY) ||
			!zc_render_copy_cpu(engine->renderer, options, &engine->stats, &engine->faults)) {
		return ZC_COPY_FAILED;
	}
	return ZC_COPY_FINISHED;
}

void zc_copy_options_shift(const struct zc_copy_options *in, struct wlr_box box,
		struct zc_copy_options *out, struct zc_layer *layers, struct zc_overlay *overlay) {
	*out = *in;
	out->convert = NULL;
	out->geometry.area = (struct wlr_box){in->geometry.area.x + box.x,
		in->geometry.area.y + box.y, box.width, box.height};
	if (in->layers != NULL) {
		for (size_t i = 0; i < in->n_layers; i++) {
			layers[i] = in->layers[i];
			layers[i].dst.x -= box.x;
			layers[i].dst.y -= box.y;
		}
		out->layers = layers;
	}
	if (in->overlay != NULL) {
		*overlay = *in->overlay;
		overlay->box.x -= box.x;
		overlay->box.y -= box.y;
		out->overlay = overlay;
	}
}

/* A derived image that is only a crop at 1x into an RGB buffer: a plain copy. */
static bool is_plain_crop(const struct zc_copy_options *options) {
	const struct zc_convert *c = options->convert;
	if (c == NULL || c->crop.width != c->width || c->crop.height != c->height) {
		return false;
	}
	struct wlr_shm_attributes shm;
	struct wlr_dmabuf_attributes dmabuf;
	uint32_t format = wlr_buffer_get_shm(options->dst, &shm) ? shm.format :
		wlr_buffer_get_dmabuf(options->dst, &dmabuf) ? dmabuf.format : 0;
	return format != 0 && !zc_format_is_yuv(format);
}

static enum zc_copy_status copy(struct zc_render_engine *engine,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job);

/* The plain path for a crop at 1x (pixman or the blit shader, no resampling). */
static enum zc_copy_status copy_plain_crop(struct zc_render_engine *engine,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job) {
	struct zc_layer *layers = calloc(options->n_layers + 1, sizeof(*layers));
	if (layers == NULL) {
		return ZC_COPY_FAILED;
	}
	struct zc_copy_options plain;
	struct zc_overlay overlay;
	zc_copy_options_shift(options, options->convert->crop, &plain, layers, &overlay);
	enum zc_copy_status status = copy(engine, &plain, done, data, job);
	free(layers);
	return status;
}

static enum zc_copy_status copy(struct zc_render_engine *engine,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job) {
	if (is_plain_crop(options)) {
		return copy_plain_crop(engine, options, done, data, job);
	}
	if (options->convert != NULL && options->dst_type == ZC_BUFFER_SHM) {
		if (zc_fault(&engine->faults, ZC_FAULT_CPU_COPY)) {
			return ZC_COPY_FAILED;
		}
		return zc_render_convert_cpu(engine->renderer, options, &engine->stats,
			&engine->faults);
	}
	if (options->dst_type == ZC_BUFFER_DMABUF) {
		if (engine->gl == NULL) {
			return ZC_COPY_BAD_BUFFER;
		}
		return copy_status(zc_gl_blit(engine->gl, options, done, data, job));
	}
	if (engine->gl != NULL &&
			(options->layers != NULL || !zc_render_has_cpu_access(options->src))) {
		/* GPU images into shm: read back asynchronously, else synchronously. */
		enum zc_gl_result result = zc_gl_read_back(engine->gl, options, done, data, job);
		if (result != ZC_GL_UNSUPPORTED) {
			return copy_status(result);
		}
		return zc_render_copy_cpu(engine->renderer, options, &engine->stats,
			&engine->faults) ? ZC_COPY_FINISHED : ZC_COPY_FAILED;
	}
	return copy_cpu(engine, options);
}

enum zc_copy_status zc_render_copy(struct zc_render_engine *engine,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job) {
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	enum zc_copy_status status = copy(engine, options, done, data, job);
	clock_gettime(CLOCK_MONOTONIC, &end);
	uint64_t ns = (uint64_t)(end.tv_sec - start.tv_sec) * 1000000000u +
		(uint64_t)(end.tv_nsec - start.tv_nsec);
	if (ns > engine->stats.max_copy_ns) {
		engine->stats.max_copy_ns = ns;
	}
	return status;
}
