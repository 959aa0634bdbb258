#ifndef ZC_SOURCE_DERIVED_H
#define ZC_SOURCE_DERIVED_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <wlr/util/box.h>
#include "capture/capture.h"
#include "render/convert.h"

struct zc_capture_manager;

/* What a client asked for (zerocap_capture_options_v1); zero fields are unset. */
struct zc_derive_options {
	bool has_crop;
	struct wlr_box crop; /* the parent's logical coordinates */
	uint32_t width, height;
	uint32_t format; /* DRM fourcc */
	enum zc_yuv_matrix matrix;
	enum zc_yuv_range range;
	double max_fps;
};

/*
 * A capture source showing another one cropped, scaled and converted. It
 * follows its parent's constraints and damage and has the parent copy into
 * its frames with the conversion applied. Lives while its holder (the
 * protocol resource) or any session keeps it; stopped when the parent goes.
 */
struct zc_derived_source {
	struct zc_source base;
	struct zc_source *parent; /* NULL once gone */
	struct zc_capture_manager *manager;
	struct zc_derive_options options;
	struct zc_convert convert; /* valid while base.has_constraints */
	bool held;
	bool finishing;

	struct wl_listener parent_destroy;
	struct wl_listener parent_constraints;
	struct wl_listener parent_damage;
};

/*
 * parent NULL, or one that cannot be derived from: a source whose sessions
 * stop at once. Returns NULL only without memory. The caller holds it.
 */
struct zc_derived_source *zc_derived_source_create(struct zc_capture_manager *manager,
	struct zc_source *parent, const struct zc_derive_options *options);
/* The holder lets go; the source goes with its last session. */
void zc_derived_source_release(struct zc_derived_source *source);
bool zc_source_is_derived(const struct zc_source *source);

#endif
