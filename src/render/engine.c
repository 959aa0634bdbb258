#include <stdlib.h>
#include <time.h>
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

static enum zc_copy_status copy(struct zc_render_engine *engine,
		const struct zc_copy_options *options, zc_copy_done_func done, void *data,
		struct zc_render_job **job) {
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
