/*
 * dma-buf captures are pixel-identical to shm captures of the same frame,
 * and both are the known scene, upright, for the output transforms normal,
 * 90, 180, 270 and flipped-90 at scale 1 (320x240) and 2 (640x480), in
 * XRGB8888 and ARGB8888.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gpu-common.h"

struct transform {
	const char *name;
	bool rotated;
};

static const struct transform transforms[] = {
	{"normal", false},
	{"90", true},
	{"180", false},
	{"270", true},
	{"flipped-90", true},
};

struct format_pair {
	uint32_t drm, shm;
};

static const struct format_pair formats[] = {
	{GT_DRM_FORMAT_XRGB8888, WL_SHM_FORMAT_XRGB8888},
	{GT_DRM_FORMAT_ARGB8888, WL_SHM_FORMAT_ARGB8888},
};

/* Captures the current frame into a fresh session (full frame at once). */
static bool capture(struct zcc_client *client, struct zcc_buffer *buffer, const char *what) {
	struct zcc_session *session = gt_session(client, 0);
	if (session == NULL) {
		return false;
	}
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s (%s)", what,
		zcc_frame_status_str(status), zcc_failure_reason_str(result.failure_reason));
	bool ok = status == ZCC_FRAME_READY;
	if (ok) {
		ZT_CHECK(result.transform_events == 1 && result.transform == WL_OUTPUT_TRANSFORM_NORMAL,
			"%s: transform event %u (%u events)", what, result.transform,
			result.transform_events);
		ZT_CHECK(zcc_rects_union_area(result.damage, result.n_damage) ==
			(uint64_t)buffer->width * buffer->height, "%s: first frame has full damage", what);
	}
	zcc_capture_result_finish(&result);
	zcc_session_destroy(session);
	return ok;
}

static void check_config(struct zt_compositor *comp, const struct transform *t, int scale,
		int mode_w, int mode_h) {
	char what[96];
	struct zcc_client *client = zt_connect(comp);
	struct zcc_session *session = client != NULL ? gt_session(client, 0) : NULL;
	struct zcc_dmabuf_device *device = session != NULL ? gt_device(session) : NULL;
	if (device == NULL) {
		goto out;
	}
	int up_w = t->rotated ? mode_h : mode_w, up_h = t->rotated ? mode_w : mode_h;
	ZT_CHECK(session->constraints.width == (uint32_t)up_w &&
		session->constraints.height == (uint32_t)up_h, "%s x%d: buffer_size %ux%u, want %dx%d",
		t->name, scale, session->constraints.width, session->constraints.height, up_w, up_h);
	uint32_t *want = gt_expected_scene(up_w, up_h, scale);
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		snprintf(what, sizeof(what), "%s x%d %s", t->name, scale,
			zcc_format_name(formats[f].shm));
		struct zcc_buffer *dmabuf = gt_dmabuf(device, session, formats[f].drm);
		struct zcc_buffer *shm = gt_shm(session, formats[f].shm);
		if (dmabuf == NULL || shm == NULL) {
			zcc_buffer_destroy(dmabuf);
			zcc_buffer_destroy(shm);
			continue;
		}
		zcc_dmabuf_fill(dmabuf, GT_SENTINEL);
		zcc_buffer_fill(shm, GT_SENTINEL);
		bool ok = capture(client, dmabuf, what);
		ok = capture(client, shm, what) && ok;
		if (ok) {
			struct zcc_image dimg = zcc_dmabuf_read(dmabuf);
			struct zcc_image simg = zcc_buffer_image(shm);
			ZT_CHECK(dimg.data != NULL, "%s: map: %s", what, zcc_client_last_error(client));
			int diff = gt_count_diff(&dimg, &simg, what);
			ZT_CHECK(diff == 0, "%s: dma-buf and shm captures differ in %d pixels", what, diff);
			int bad_dmabuf = gt_count_diff_expected(&dimg, want, what);
			ZT_CHECK(bad_dmabuf == 0, "%s: dma-buf capture differs from the scene in %d pixels",
				what, bad_dmabuf);
			int bad_shm = gt_count_diff_expected(&simg, want, what);
			ZT_CHECK(bad_shm == 0, "%s: shm capture differs from the scene in %d pixels", what,
				bad_shm);
			free((void *)dimg.data);
		}
		zcc_buffer_destroy(dmabuf);
		zcc_buffer_destroy(shm);
	}
	free(want);
out:
	zcc_dmabuf_device_destroy(device);
	zcc_session_destroy(session);
	zcc_client_destroy(client);
}

int main(void) {
	static const struct {
		int scale;
		const char *spec;
		int w, h;
	} sizes[] = {
		{1, "320x240", 320, 240},
		{2, "640x480@2", 640, 480},
	};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		char section[64];
		snprintf(section, sizeof(section), "dma-buf = shm = scene, %s", sizes[s].spec);
		zt_section(section);
		struct zt_compositor comp;
		if (!gt_start(&comp, sizes[s].spec, NULL)) {
			continue;
		}
		gt_setup_scene(&comp);
		for (size_t t = 0; t < sizeof(transforms) / sizeof(transforms[0]); t++) {
			if (!zt_cmd(&comp, "output HEADLESS-1 transform %s", transforms[t].name)) {
				ZT_CHECK(false, "transform %s: %s", transforms[t].name, comp.reply);
				continue;
			}
			check_config(&comp, &transforms[t], sizes[s].scale, sizes[s].w, sizes[s].h);
		}
		ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
		zt_compositor_stop(&comp);
	}
	return zt_finish();
}
