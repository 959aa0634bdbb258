/* The OBS side of the obs-zerocap sources: obs-zerocap.h. */
#include <drm_fourcc.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <obs-module.h>
#include "obs-zerocap.h"

struct ozc_source {
	obs_source_t *source;
	enum ozc_kind kind;
	struct ozc_shared shared;
	struct ozc_thread *thread;
	atomic_bool show_cursor;
	atomic_uint width, height;
	/* the graphics thread's */
	gs_texture_t *texture;
	uint32_t texture_format; /* DRM fourcc of what it holds */
	bool imported; /* the texture is a dma-buf's, not ours to write */
	struct ozc_pixels shown;
	uint64_t shown_serial;
	struct ozc_dmabuf current; /* the imported dma-buf frame, held */
	gs_texture_t *cursor_texture;
	uint64_t cursor_serial;
	bool cursor_inside;
	int32_t cursor_x, cursor_y;
	bool import_logged;
	bool import_seen; /* a dma-buf of capture import_generation was imported */
	uint64_t import_generation;
	uint64_t n_imported, n_uploaded; /* frames, logged when the source goes */
};

static enum gs_color_format gs_format(uint32_t format) {
	switch (format) {
	case DRM_FORMAT_XRGB8888: return GS_BGRX;
	case DRM_FORMAT_ARGB8888: return GS_BGRA;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888: return GS_RGBA;
	default: return GS_UNKNOWN;
	}
}

/* ---- settings ---- */

static void read_settings(struct ozc_source *s, obs_data_t *settings, struct ozc_config *c) {
	memset(c, 0, sizeof(*c));
	c->kind = s->kind;
	snprintf(c->display, sizeof(c->display), "%s", obs_data_get_string(settings, "display"));
	snprintf(c->target, sizeof(c->target), "%s", obs_data_get_string(settings, "target"));
	if (s->kind == OZC_REGION) {
		c->x = (int32_t)obs_data_get_int(settings, "x");
		c->y = (int32_t)obs_data_get_int(settings, "y");
		c->width = (int32_t)obs_data_get_int(settings, "width");
		c->height = (int32_t)obs_data_get_int(settings, "height");
	}
	c->out_width = (uint32_t)obs_data_get_int(settings, "out_width");
	c->out_height = (uint32_t)obs_data_get_int(settings, "out_height");
	c->max_fps = (double)obs_data_get_int(settings, "max_fps");
}

static void source_update(void *data, obs_data_t *settings) {
	struct ozc_source *s = data;
	atomic_store(&s->show_cursor, obs_data_get_bool(settings, "show_cursor"));
	struct ozc_config config;
	read_settings(s, settings, &config);
	pthread_mutex_lock(&s->shared.lock);
	bool changed = memcmp(&config, &s->shared.config, sizeof(config)) != 0;
	if (changed) {
		s->shared.config = config;
		s->shared.config_changed = true;
	}
	pthread_mutex_unlock(&s->shared.lock);
	if (changed) {
		ozc_thread_wake(s->thread);
	}
}

static void source_defaults(obs_data_t *settings) {
	obs_data_set_default_bool(settings, "show_cursor", true);
	obs_data_set_default_int(settings, "width", 640);
	obs_data_set_default_int(settings, "height", 480);
}

static obs_properties_t *source_properties(void *data) {
	struct ozc_source *s = data;
	obs_properties_t *props = obs_properties_create();
	obs_property_t *list = obs_properties_add_list(props, "target",
		s->kind == OZC_WINDOW ? "Window" : "Output", OBS_COMBO_TYPE_EDITABLE,
		OBS_COMBO_FORMAT_STRING);
	pthread_mutex_lock(&s->shared.lock);
	for (int i = 0; i < s->shared.n_targets; i++) {
		const struct ozc_target_entry *entry = &s->shared.targets[i];
		if (entry->window == (s->kind == OZC_WINDOW)) {
			obs_property_list_add_string(list, entry->label, entry->key);
		}
	}
	pthread_mutex_unlock(&s->shared.lock);
	if (s->kind == OZC_REGION) {
		obs_properties_add_int(props, "x", "X", -16384, 16384, 1);
		obs_properties_add_int(props, "y", "Y", -16384, 16384, 1);
		obs_properties_add_int(props, "width", "Width", 1, 16384, 1);
		obs_properties_add_int(props, "height", "Height", 1, 16384, 1);
	}
	obs_properties_add_int(props, "out_width", "Output width (0: as captured)", 0, 16384, 1);
	obs_properties_add_int(props, "out_height", "Output height (0: as captured)", 0, 16384, 1);
	obs_properties_add_bool(props, "show_cursor", "Show cursor");
	obs_properties_add_int(props, "max_fps", "Frame rate limit (0: every change)", 0, 1000, 1);
	obs_properties_add_text(props, "display", "Wayland display (empty: OBS's own)",
		OBS_TEXT_DEFAULT);
	return props;
}

/* ---- create, destroy ---- */

/* What OBS's renderer can import (EGL only); shm everywhere else. */
static void query_dmabuf(struct ozc_shared *shared) {
	obs_enter_graphics();
	enum gs_dmabuf_flags flags = GS_DMABUF_FLAG_NONE;
	uint32_t *formats = NULL;
	size_t n_formats = 0;
	bool xrgb = false;
	if (gs_query_dmabuf_capabilities(&flags, &formats, &n_formats)) {
		for (size_t i = 0; i < n_formats; i++) {
			xrgb = xrgb || formats[i] == DRM_FORMAT_XRGB8888;
		}
	}
	bfree(formats);
	shared->dmabuf = xrgb && gs_query_dmabuf_modifiers_for_format(DRM_FORMAT_XRGB8888,
		&shared->modifiers, &shared->n_modifiers) && shared->n_modifiers > 0;
	obs_leave_graphics();
	blog(LOG_INFO, "[obs-zerocap] %s", shared->dmabuf ?
		"OBS's renderer can import dma-bufs" : "OBS's renderer imports no dma-bufs: shm only");
}

static void *source_create(obs_data_t *settings, obs_source_t *source, enum ozc_kind kind) {
	struct ozc_source *s = bzalloc(sizeof(*s));
	s->source = source;
	s->kind = kind;
	pthread_mutex_init(&s->shared.lock, NULL);
	s->shared.acquire_fd = s->shared.release_fd = -1;
	query_dmabuf(&s->shared);
	atomic_store(&s->show_cursor, obs_data_get_bool(settings, "show_cursor"));
	read_settings(s, settings, &s->shared.config);
	s->thread = ozc_thread_start(&s->shared);
	if (s->thread == NULL) {
		blog(LOG_ERROR, "[obs-zerocap] cannot start the capture thread");
	}
	return s;
}

static void *create_output(obs_data_t *settings, obs_source_t *source) {
	return source_create(settings, source, OZC_OUTPUT);
}

static void *create_window(obs_data_t *settings, obs_source_t *source) {
	return source_create(settings, source, OZC_WINDOW);
}

static void *create_region(obs_data_t *settings, obs_source_t *source) {
	return source_create(settings, source, OZC_REGION);
}

static void source_destroy(void *data) {
	struct ozc_source *s = data;
	/* The thread's end releases every frame; the textures hold their own references. */
	ozc_thread_stop(s->thread);
	blog(LOG_INFO, "[obs-zerocap] imported %" PRIu64 " dma-buf frames, uploaded %" PRIu64
		" shm frames", s->n_imported, s->n_uploaded);
	obs_enter_graphics();
	gs_texture_destroy(s->texture);
	gs_texture_destroy(s->cursor_texture);
	obs_leave_graphics();
	free(s->shared.ready.data);
	free(s->shown.data);
	free(s->shared.cursor.pixels);
	bfree(s->shared.modifiers);
	pthread_mutex_destroy(&s->shared.lock);
	bfree(s);
}

static uint32_t source_width(void *data) {
	struct ozc_source *s = data;
	return atomic_load(&s->width);
}

static uint32_t source_height(void *data) {
	struct ozc_source *s = data;
	return atomic_load(&s->height);
}

/* ---- the graphics thread ---- */

static void set_texture(struct ozc_source *s, gs_texture_t *texture, uint32_t format,
		bool imported) {
	s->imported = imported;
	if (texture != s->texture) {
		gs_texture_destroy(s->texture);
		s->texture = texture;
	}
	s->texture_format = format;
	atomic_store(&s->width, texture != NULL ? gs_texture_get_width(texture) : 0);
	atomic_store(&s->height, texture != NULL ? gs_texture_get_height(texture) : 0);
}

static void upload_pixels(struct ozc_source *s) {
	const struct ozc_pixels *p = &s->shown;
	enum gs_color_format format = gs_format(p->format);
	if (format == GS_UNKNOWN || p->data == NULL) {
		return;
	}
	gs_texture_t *texture = s->texture;
	if (texture == NULL || gs_texture_get_width(texture) != p->width ||
			gs_texture_get_height(texture) != p->height || s->texture_format != p->format ||
			s->imported) {
		texture = gs_texture_create(p->width, p->height, format, 1, NULL, GS_DYNAMIC);
	}
	if (texture != NULL) {
		gs_texture_set_image(texture, p->data, p->stride, false);
		s->n_uploaded++;
	}
	set_texture(s, texture, p->format, false);
}

/* Hands a dma-buf frame back, with a release point once the GPU has read it. */
static void give_back(struct ozc_source *s, struct ozc_dmabuf *d) {
	if (d->frame == NULL) {
		return;
	}
	pthread_mutex_lock(&s->shared.lock);
	int release_fd = s->shared.release_fd;
	uint64_t point = 0;
	if (release_fd >= 0) {
		gs_sync_t *sync = gs_sync_create();
		point = ++s->shared.release_serial;
		if (sync == NULL || !gs_sync_export_syncobj_timeline_point(sync, release_fd, point)) {
			point = 0; /* implicit sync: the compositor's writes wait for our reads */
		}
		gs_sync_destroy(sync);
	}
	d->release_point = point;
	if (s->shared.n_releases < OZC_MAX_RELEASES) {
		s->shared.releases[s->shared.n_releases++] = *d;
	}
	pthread_mutex_unlock(&s->shared.lock);
	d->frame = NULL;
	ozc_thread_wake(s->thread);
}

static void import_dmabuf(struct ozc_source *s, struct ozc_dmabuf *next, int acquire_fd) {
	const struct zcl_frame_info *info = &next->info;
	uint64_t modifiers[4];
	for (int i = 0; i < 4; i++) {
		modifiers[i] = info->modifier;
	}
	gs_texture_t *texture = gs_texture_create_from_dmabuf(info->width, info->height,
		info->format, gs_format(info->format), (uint32_t)info->n_planes, info->fds,
		info->strides, info->offsets, info->modifier != DRM_FORMAT_MOD_INVALID ?
		modifiers : NULL);
	if (texture == NULL) {
		if (!s->import_logged) {
			blog(LOG_WARNING, "[obs-zerocap] cannot import a dma-buf: shm from now on");
			s->import_logged = true;
		}
		pthread_mutex_lock(&s->shared.lock);
		s->shared.dmabuf_failed = true;
		pthread_mutex_unlock(&s->shared.lock);
		give_back(s, next);
		return;
	}
	const char *how = "implicit sync";
	if (next->acquire_point != 0 && acquire_fd >= 0) {
		gs_sync_t *sync = gs_sync_create_from_syncobj_timeline_point(acquire_fd,
			next->acquire_point);
		how = "an acquire point OBS cannot wait for: implicit sync";
		if (sync != NULL) {
			gs_sync_wait(sync); /* on the GPU: no CPU wait */
			gs_sync_destroy(sync);
			how = "explicit sync";
		}
	}
	if (!s->import_seen || next->generation != s->import_generation) {
		/* Once a capture: what the tests count, and what a user's log shows. */
		s->import_seen = true;
		s->import_generation = next->generation;
		blog(LOG_INFO, "[obs-zerocap] importing dma-bufs (%ux%u, format %.4s, modifier "
			"0x%016" PRIx64 ", %d plane%s, %s)", info->width, info->height,
			(const char *)&info->format, info->modifier, info->n_planes,
			info->n_planes == 1 ? "" : "s", how);
	}
	s->n_imported++;
	set_texture(s, texture, info->format, true);
	give_back(s, &s->current);
	s->current = *next;
}

static void update_cursor_texture(struct ozc_source *s) {
	struct ozc_cursor *c = &s->shared.cursor;
	s->cursor_inside = c->inside;
	s->cursor_x = c->x;
	s->cursor_y = c->y;
	if (c->serial == s->cursor_serial || c->pixels == NULL) {
		return;
	}
	s->cursor_serial = c->serial;
	gs_texture_destroy(s->cursor_texture);
	const uint8_t *pixels = c->pixels;
	s->cursor_texture = gs_texture_create(c->width, c->height, GS_BGRA, 1, &pixels, 0);
}

static void draw(gs_texture_t *texture, gs_effect_t *effect, int32_t x, int32_t y) {
	gs_effect_set_texture(gs_effect_get_param_by_name(effect, "image"), texture);
	gs_matrix_push();
	gs_matrix_translate3f((float)x, (float)y, 0.0f);
	while (gs_effect_loop(effect, "Draw")) {
		gs_draw_sprite(texture, 0, 0, 0);
	}
	gs_matrix_pop();
}

static void source_render(void *data, gs_effect_t *unused) {
	struct ozc_source *s = data;
	bool show_cursor = atomic_load(&s->show_cursor);
	pthread_mutex_lock(&s->shared.lock);
	bool new_pixels = s->shared.ready_serial != s->shown_serial;
	if (new_pixels) {
		ozc_swap_pixels(&s->shared.ready, &s->shown);
		s->shown_serial = s->shared.ready_serial;
	}
	struct ozc_dmabuf next = s->shared.pending;
	s->shared.pending.frame = NULL;
	int acquire_fd = s->shared.acquire_fd;
	if (show_cursor) {
		update_cursor_texture(s); /* a small bitmap: uploaded under the lock */
	}
	pthread_mutex_unlock(&s->shared.lock);
	if (new_pixels) {
		give_back(s, &s->current);
		upload_pixels(s);
	}
	if (next.frame != NULL) {
		import_dmabuf(s, &next, acquire_fd);
	}
	if (s->texture == NULL) {
		return;
	}
	draw(s->texture, obs_get_base_effect(OBS_EFFECT_OPAQUE), 0, 0);
	if (show_cursor && s->cursor_inside && s->cursor_texture != NULL) {
		gs_blend_state_push();
		gs_blend_function(GS_BLEND_ONE, GS_BLEND_INVSRCALPHA);
		draw(s->cursor_texture, obs_get_base_effect(OBS_EFFECT_DEFAULT), s->cursor_x,
			s->cursor_y);
		gs_blend_state_pop();
	}
}

static const char *name_output(void *unused) {
	return "Screen Capture (zerocap)";
}

static const char *name_window(void *unused) {
	return "Window Capture (zerocap)";
}

static const char *name_region(void *unused) {
	return "Region Capture (zerocap)";
}

#define OZC_SOURCE_INFO(ID, NAME, CREATE, ICON) { \
	.id = ID, \
	.type = OBS_SOURCE_TYPE_INPUT, \
	.output_flags = OBS_SOURCE_VIDEO | OBS_SOURCE_CUSTOM_DRAW | OBS_SOURCE_DO_NOT_DUPLICATE, \
	.get_name = NAME, \
	.create = CREATE, \
	.destroy = source_destroy, \
	.update = source_update, \
	.get_defaults = source_defaults, \
	.get_properties = source_properties, \
	.get_width = source_width, \
	.get_height = source_height, \
	.video_render = source_render, \
	.icon_type = ICON, \
}

static const struct obs_source_info sources[] = {
	OZC_SOURCE_INFO("zerocap-output-capture", name_output, create_output,
		OBS_ICON_TYPE_DESKTOP_CAPTURE),
	OZC_SOURCE_INFO("zerocap-window-capture", name_window, create_window,
		OBS_ICON_TYPE_WINDOW_CAPTURE),
	OZC_SOURCE_INFO("zerocap-region-capture", name_region, create_region,
		OBS_ICON_TYPE_DESKTOP_CAPTURE),
};

void ozc_register_sources(void) {
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		obs_register_source(&sources[i]);
	}
}
