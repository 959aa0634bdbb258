/*
 * paint_cursors on the dma-buf path: the cursor is in the dma-buf exactly
 * when the session asks for it (the compositor's arrow, pixel for pixel, at
 * its place on normal and rotated outputs), nowhere else, and a hidden
 * cursor is never painted; each dma-buf capture equals an shm capture with
 * the same option, also on a scaled output.
 */
#include <stdio.h>
#include <stdlib.h>
#include "arrow.h"
#include "gpu-common.h"

/* The scene, with the arrow at x,y when cursor is set. */
static uint32_t *expected(int width, int height, bool cursor, int x, int y) {
	uint32_t *want = gt_expected_scene(width, height, 1);
	for (int j = 0; cursor && j < ZT_ARROW_HEIGHT; j++) {
		for (int i = 0; i < ZT_ARROW_WIDTH; i++) {
			uint32_t arrow = zt_arrow_argb(i, j);
			if (arrow != 0 && x + i < width && y + j < height) {
				want[(y + j) * width + x + i] = arrow;
			}
		}
	}
	return want;
}

/* Captures a fresh session's first frame into buffer. */
static bool capture(struct zcc_client *client, uint32_t options, struct zcc_buffer *buffer,
		const char *what) {
	struct zcc_session *session = gt_session(client, options);
	if (session == NULL) {
		return false;
	}
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s", what, zcc_frame_status_str(status));
	zcc_capture_result_finish(&result);
	zcc_session_destroy(session);
	return status == ZCC_FRAME_READY;
}

/*
 * For both options: dma-buf = shm; with scene_check, both equal the scene
 * with the arrow at x,y iff cursors are asked for and shown.
 */
static void check_both(struct zt_compositor *comp, bool shown, int x, int y,
		bool scene_check, const char *label) {
	struct zcc_client *client = zt_connect(comp);
	struct zcc_session *probe = client != NULL ? gt_session(client, 0) : NULL;
	struct zcc_dmabuf_device *device = probe != NULL ? gt_device(probe) : NULL;
	for (int with = 0; device != NULL && with <= 1; with++) {
		char what[96];
		snprintf(what, sizeof(what), "%s, paint_cursors=%d", label, with);
		struct zcc_buffer *dmabuf = gt_dmabuf(device, probe, GT_DRM_FORMAT_XRGB8888);
		struct zcc_buffer *shm = gt_shm(probe, WL_SHM_FORMAT_XRGB8888);
		uint32_t options = with ? ZCC_OPTION_PAINT_CURSORS : 0;
		if (dmabuf != NULL && shm != NULL && capture(client, options, dmabuf, what) &&
				capture(client, options, shm, what)) {
			struct zcc_image dimg = zcc_dmabuf_read(dmabuf);
			struct zcc_image simg = zcc_buffer_image(shm);
			int diff = gt_count_diff(&dimg, &simg, what);
			ZT_CHECK(diff == 0, "%s: dma-buf and shm captures differ in %d pixels", what, diff);
			if (scene_check && dimg.data != NULL) {
				uint32_t *want = expected(dimg.width, dimg.height, with && shown, x, y);
				int bad = gt_count_diff_expected(&dimg, want, what);
				ZT_CHECK(bad == 0, "%s: %d pixels differ from the scene %s the arrow", what,
					bad, with && shown ? "with" : "without");
				free(want);
			}
			free((void *)dimg.data);
		}
		zcc_buffer_destroy(dmabuf);
		zcc_buffer_destroy(shm);
	}
	zcc_dmabuf_device_destroy(device);
	zcc_session_destroy(probe);
	zcc_client_destroy(client);
}

static void test_output(const char *spec, const char *transform, bool scene_check) {
	char section[96];
	snprintf(section, sizeof(section), "cursor iff asked for: %s %s", spec, transform);
	zt_section(section);
	struct zt_compositor comp;
	if (!gt_start(&comp, spec, NULL)) {
		return;
	}
	gt_setup_scene(&comp);
	ZT_CHECK(zt_cmd(&comp, "output HEADLESS-1 transform %s", transform), "transform: %s",
		comp.reply);
	/* On the red and yellow rects, so that the arrow's outline shows. */
	ZT_CHECK(zt_cmd(&comp, "cursor 20 30"), "cursor: %s", comp.reply);
	check_both(&comp, true, 20, 30, scene_check, "at 20,30");
	ZT_CHECK(zt_cmd(&comp, "cursor 190 190"), "cursor: %s", comp.reply);
	check_both(&comp, true, 190, 190, scene_check, "at 190,190");
	ZT_CHECK(zt_cmd(&comp, "cursor hide"), "cursor hide: %s", comp.reply);
	check_both(&comp, false, 190, 190, scene_check, "hidden");
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
}

int main(void) {
	test_output("320x240", "normal", true);
	test_output("320x240", "90", true);
	test_output("640x480@2", "normal", false);
	return zt_finish();
}
