/*
 * Output sources: one per wlr_output the compositor makes capturable. This
 * file follows the output (precommit damage, commits, presentation times,
 * mode/scale/transform changes) and owns the source's lifetime; view.c
 * holds the views (upright or raw, whole or cropped) and their copies,
 * cursor.c the cursor and its own capture source.
 *
 * Lifetimes: the source dies with its wlr_output or the manager; views are
 * reference counted and outlive it, stopped; copies in flight fail stopped.
 */
#include <stdlib.h>
#include <time.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>
#include <wlr/util/region.h>
#include "compat/wlr.h"
#include "manager.h"
#include "render/engine.h"
#include "source/output.h"
#include "source/source.h"

struct zc_output_source *zc_output_source_from_target(struct zc_target *target) {
	if (target == NULL || target->type != ZC_TARGET_OUTPUT) {
		return NULL;
	}
	struct zc_output_source *source = wl_container_of(target, source, target);
	return source;
}

static void handle_output_precommit(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_precommit);
	const struct wlr_output_event_precommit *event = data;
	const struct wlr_output_state *state = event->state;
	if (!(state->committed & WLR_OUTPUT_STATE_BUFFER)) {
		return;
	}
	if (state->committed & WLR_OUTPUT_STATE_DAMAGE) {
		pixman_region32_union(&source->pending_damage, &source->pending_damage,
			&state->damage);
	} else {
		pixman_region32_union_rect(&source->pending_damage, &source->pending_damage,
			0, 0, source->output->width, source->output->height);
	}
}

static void handle_output_commit(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_commit);
	const struct wlr_output_event_commit *event = data;
	const struct wlr_output_state *state = event->state;
	struct wlr_output *output = source->output;

	if (state->committed & (WLR_OUTPUT_STATE_MODE | WLR_OUTPUT_STATE_ENABLED |
			WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE)) {
		bool force = state->committed & (WLR_OUTPUT_STATE_TRANSFORM | WLR_OUTPUT_STATE_SCALE);
		struct zc_output_view *view;
		wl_list_for_each(view, &source->views, link) {
			zc_output_view_update_constraints(view, force);
		}
		wl_signal_emit(&source->pointer.events.update, NULL);
	}
	if (!(state->committed & WLR_OUTPUT_STATE_BUFFER) || state->buffer == NULL) {
		return;
	}
	if (!zc_wlr_state_buffer_is_whole(state, output)) {
		/*
		 * Direct scan-out of a buffer on part of the output: no image of
		 * the output. Captures wait for the next composited frame (there
		 * is no direct scan-out while the output is captured); its
		 * damage is all of it.
		 */
		wlr_buffer_unlock(source->image);
		source->image = NULL;
		pixman_region32_union_rect(&source->pending_damage, &source->pending_damage, 0, 0,
			output->width, output->height);
		if (source->render_locked) {
			wlr_output_schedule_frame(output);
		}
		return;
	}

	/* Copies of an image never presented get the time it was replaced. */
	if (!source->image_presented && source->image != NULL) {
		struct timespec when = zc_wlr_commit_when(event);
		zc_output_source_set_copy_time(source, source->image_seq, &when);
	}
	wlr_buffer_unlock(source->image);
	source->image = wlr_buffer_lock(state->buffer);
	source->image_seq = output->commit_seq;
	source->image_presented = source->early_present && source->early_seq == output->commit_seq;
	if (source->image_presented) {
		source->image_when = source->early_when;
	}
	source->early_present = false;

	pixman_region32_t damage;
	pixman_region32_init(&damage);
	struct zc_output_view *view, *tmp;
	wl_list_for_each_safe(view, tmp, &source->views, link) {
		wlr_region_transform(&damage, &source->pending_damage,
			zc_output_view_capture_transform(view), output->width, output->height);
		zc_output_view_damage(view, &damage, false);
	}
	pixman_region32_clear(&source->pending_damage);
	pixman_region32_fini(&damage);
}

static void handle_output_present(struct wl_listener *listener, void *data) {
	struct zc_output_source *source = wl_container_of(listener, source, output_present);
	const struct wlr_output_event_present *event = data;
	struct timespec when = zc_wlr_present_when(event);
	if (event->commit_seq == source->output->commit_seq + 1) {
		source->early_present = true;
		source->early_seq = event->commit_seq;
		source->early_when = when;
		return;
	}
	if (source->image == NULL || source->image_presented ||
			event->commit_seq != source->image_seq) {
		return;
	}
	source->image_when = when;
	source->image_presented = true;
	zc_output_source_set_copy_time(source, source->image_seq, &when);
}

static void handle_addon_destroy(struct wlr_addon *addon) {
	struct zc_output_source *source = wl_container_of(addon, source, addon);
	zc_output_source_destroy(source);
}

static const struct wlr_addon_interface addon_impl = {
	.name = "zerocap-output-source",
	.destroy = handle_addon_destroy,
};

struct zc_output_source *zc_output_source_find(struct zc_capture_manager *manager,
		struct wlr_output *output) {
	struct wlr_addon *addon = wlr_addon_find(&output->addons, manager, &addon_impl);
	if (addon == NULL) {
		return NULL;
	}
	struct zc_output_source *source = wl_container_of(addon, source, addon);
	return source;
}

struct zc_output_source *zc_output_source_create(struct zc_capture_manager *manager,
		struct wlr_output *output) {
	if (zc_output_source_find(manager, output) != NULL) {
		wlr_log(WLR_ERROR, "zerocap: %s is capturable already", output->name);
		return NULL;
	}
	struct zc_output_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		wlr_log(WLR_ERROR, "zerocap: out of memory");
		return NULL;
	}
	wl_list_init(&source->views);
	zc_target_init(&source->target, ZC_TARGET_OUTPUT);
	source->manager = manager;
	zc_output_cursor_init(source);
	source->output = output;
	pixman_region32_init(&source->pending_damage);
	wl_list_init(&source->copies);
	if (zc_render_engine_has_gpu(manager->engine) &&
			!zc_render_engine_dmabuf_constraints(manager->engine, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for %s", output->name);
	}

	wlr_addon_init(&source->addon, &output->addons, manager, &addon_impl);
	source->output_precommit.notify = handle_output_precommit;
	wl_signal_add(&output->events.precommit, &source->output_precommit);
	source->output_commit.notify = handle_output_commit;
	wl_signal_add(&output->events.commit, &source->output_commit);
	source->output_present.notify = handle_output_present;
	wl_signal_add(&output->events.present, &source->output_present);

	wl_list_insert(&manager->output_sources, &source->link);
	wl_list_insert(&manager->targets, &source->target.link);
	source->view = zc_output_view_get(source, manager->options.raw_transform, NULL);
	if (source->view == NULL) {
		zc_output_source_destroy(source);
		return NULL;
	}
	zc_capture_manager_place_cursor(manager, source, true);
	return source;
}

void zc_output_source_set_captured(struct zc_output_source *source, bool captured) {
	if (source->render_locked == captured) {
		return;
	}
	/* Composited frames only, as long as the output is captured. */
	source->render_locked = captured;
	wlr_output_lock_attach_render(source->output, captured);
	if (captured && source->image == NULL) {
		wlr_output_schedule_frame(source->output);
	}
}

void zc_output_source_destroy(struct zc_output_source *source) {
	if (source == NULL) {
		return;
	}
	zc_output_source_set_captured(source, false);
	struct zc_output_view *view, *view_tmp;
	wl_list_for_each_safe(view, view_tmp, &source->views, link) {
		zc_output_view_detach(view);
	}
	zc_output_view_unref(source->view);
	zc_cursor_source_finish(&source->cursor);
	zc_source_copies_fail(&source->copies, false, ZC_FAILURE_STOPPED);
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	wlr_addon_finish(&source->addon);
	wl_list_remove(&source->output_precommit.link);
	wl_list_remove(&source->output_commit.link);
	wl_list_remove(&source->output_present.link);
	wl_list_remove(&source->link);
	wl_list_remove(&source->target.link);
	pixman_region32_fini(&source->pending_damage);
	wlr_buffer_unlock(source->image);
	free(source);
}

void zc_output_source_drop_engine(struct zc_output_source *source) {
	zc_source_copies_fail(&source->copies, true, ZC_FAILURE_BUFFER_CONSTRAINTS);
	source->dmabuf.shm_formats = NULL;
	zc_constraints_finish(&source->dmabuf);
	source->dmabuf = (struct zc_constraints){0};
}

void zc_output_source_take_engine(struct zc_output_source *source) {
	struct zc_capture_manager *manager = source->manager;
	if (zc_render_engine_has_gpu(manager->engine) &&
			!zc_render_engine_dmabuf_constraints(manager->engine, &source->dmabuf)) {
		wlr_log(WLR_ERROR, "zerocap: no dma-buf constraints for %s", source->output->name);
	}
	struct zc_output_view *view;
	wl_list_for_each(view, &source->views, link) {
		zc_output_view_update_constraints(view, true);
	}
}
