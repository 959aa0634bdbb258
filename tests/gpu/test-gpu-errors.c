/*
 * Buffers that do not fit: wrong size, wrong format, an unadvertised
 * modifier, buffers the GPU cannot draw into (bogus stride or offset: some
 * crash llvmpipe; an import failure) fail with buffer_constraints (or, for
 * the modifier and layouts, may already be refused by zwp_linux_dmabuf_v1);
 * the compositor logs a line naming the reason; it survives; the next
 * correct frame on the same session is ready with the right pixels. Unusual
 * but valid layouts (padded rows, a plane offset) are captured correctly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <drm_fourcc.h>
#include "gpu-common.h"

enum kind {
	K_SIZE,
	K_FORMAT,
	K_MODIFIER,
	K_STRIDE_SHORT, /* shorter than a row */
	K_STRIDE_SPLIT, /* not a whole number of pixels */
	K_STRIDE_UNALIGNED, /* whole pixels, not a multiple of 16 bytes (llvmpipe crashes) */
	K_OFFSET_SPLIT, /* inside a pixel */
	K_OFFSET_UNALIGNED, /* one pixel, not a multiple of 16 bytes (llvmpipe crashes) */
	K_IMPORT_FAULT,
	/* Unusual but valid: must work */
	K_STRIDE_PADDED,
	K_OFFSET_PIXEL,
};

struct hostile {
	const char *name;
	enum kind kind;
	int dw, dh; /* K_SIZE: announced size minus the session's */
	int w, h; /* K_SIZE: absolute size when not 0 */
	const char *const log_words[4];
};

static const struct hostile cases[] = {
	{"one column too narrow", K_SIZE, -1, 0, 0, 0, {"buffer_constraints", "size", NULL}},
	{"one row too tall", K_SIZE, 0, 1, 0, 0, {"buffer_constraints", "size", NULL}},
	{"1x1", K_SIZE, 0, 0, 1, 1, {"buffer_constraints", "size", NULL}},
	{"unadvertised format", K_FORMAT, 0, 0, 0, 0, {"buffer_constraints", "format", NULL}},
	{"unadvertised modifier", K_MODIFIER, 0, 0, 0, 0,
		{"buffer_constraints", "modifier", NULL}},
	{"stride shorter than a row", K_STRIDE_SHORT, 0, 0, 0, 0,
		{"zerocap", "dma-buf", "stride", NULL}},
	{"stride not a whole number of pixels", K_STRIDE_SPLIT, 0, 0, 0, 0,
		{"zerocap", "dma-buf", "stride", NULL}},
	{"stride not a multiple of 16 bytes", K_STRIDE_UNALIGNED, 0, 0, 0, 0,
		{"zerocap", "dma-buf", "stride", NULL}},
	{"offset inside a pixel", K_OFFSET_SPLIT, 0, 0, 0, 0,
		{"zerocap", "dma-buf", "offset", NULL}},
	{"offset not a multiple of 16 bytes", K_OFFSET_UNALIGNED, 0, 0, 0, 0,
		{"zerocap", "dma-buf", "offset", NULL}},
	{"render target import fails", K_IMPORT_FAULT, 0, 0, 0, 0,
		{"zerocap", "cannot import", NULL}},
	{"valid: rows padded by 64 bytes", K_STRIDE_PADDED, 0, 0, 0, 0, {NULL}},
	{"valid: plane at offset 256", K_OFFSET_PIXEL, 0, 0, 0, 0, {NULL}},
};

static bool is_valid(enum kind kind) {
	return kind == K_STRIDE_PADDED || kind == K_OFFSET_PIXEL;
}

/* A format zwp_linux_dmabuf_v1 accepts that the session does not advertise. */
static bool pick_unadvertised_format(struct zcc_session *session,
		struct zcc_dmabuf_device *device, uint32_t *format) {
	static const uint32_t candidates[] = {
		DRM_FORMAT_R8, DRM_FORMAT_GR88, DRM_FORMAT_R16, DRM_FORMAT_RG1616,
		DRM_FORMAT_ARGB1555, DRM_FORMAT_RGB565, DRM_FORMAT_XBGR8888,
	};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		uint64_t mod;
		if (!gt_pick_modifier(session, candidates[i], &mod) &&
				zcc_dmabuf_device_can_import(device, candidates[i], DRM_FORMAT_MOD_INVALID)) {
			*format = candidates[i];
			return true;
		}
	}
	return false;
}

/*
 * The buffer, through zwp_linux_buffer_params_v1.create. NULL with *refused
 * when the compositor's linux-dmabuf already refuses it (then it never
 * reaches a capture).
 */
static struct zcc_buffer *make_hostile(const struct hostile *h, struct zcc_session *session,
		struct zcc_dmabuf_device *device, bool *refused) {
	int32_t w = (int32_t)session->constraints.width, hgt = (int32_t)session->constraints.height;
	struct zcc_dmabuf_options o = {
		.format = DRM_FORMAT_XRGB8888,
		.modifier = DRM_FORMAT_MOD_LINEAR,
		.width = w,
		.height = hgt,
	};
	char name[8];
	switch (h->kind) {
	case K_SIZE:
		o.width = h->w > 0 ? h->w : w + h->dw;
		o.height = h->h > 0 ? h->h : hgt + h->dh;
		break;
	case K_FORMAT:
		if (!pick_unadvertised_format(session, device, &o.format)) {
			ZT_CHECK(false, "no importable format outside the advertised ones to try");
			return NULL;
		}
		o.modifier = DRM_FORMAT_MOD_INVALID;
		fprintf(stderr, "  (format %s)\n", gt_fourcc_str(o.format, name));
		break;
	case K_MODIFIER:
		/* Allocated linear, announced with a modifier nobody advertised. */
		o.announce_modifier_set = true;
		o.announce_modifier = I915_FORMAT_MOD_X_TILED;
		break;
	case K_STRIDE_SHORT:
		o.stride = (uint32_t)w * 2;
		break;
	case K_STRIDE_SPLIT:
		o.alloc_width = w + 1;
		o.stride = (uint32_t)w * 4 + 2;
		break;
	case K_STRIDE_UNALIGNED:
		o.alloc_width = w + 16;
		o.stride = (uint32_t)w * 4 + 4;
		break;
	case K_OFFSET_SPLIT:
		o.alloc_height = hgt + 1;
		o.offset = 2;
		break;
	case K_OFFSET_UNALIGNED:
		o.alloc_height = hgt + 1;
		o.offset = 4;
		break;
	case K_STRIDE_PADDED:
		o.alloc_width = w + 16;
		o.stride = (uint32_t)w * 4 + 64;
		break;
	case K_OFFSET_PIXEL:
		o.alloc_height = hgt + 1;
		o.offset = 256;
		break;
	case K_IMPORT_FAULT:
		break;
	}
	struct zcc_buffer *buffer = NULL;
	*refused = false;
	int ret = zcc_dmabuf_buffer_try_create(device, &o, &buffer, GT_EXPECT_MS);
	if (ret == 0) {
		*refused = true;
		return NULL;
	}
	ZT_CHECK(ret == 1, "%s: allocation: %s", h->name, zcc_client_last_error(session->client));
	return buffer;
}

/* The buffer holds the scene with the tick at its place. */
static void check_pixels(struct zcc_buffer *buffer, int tick, const char *what) {
	struct zcc_image image = zcc_dmabuf_read(buffer);
	if (image.data == NULL) {
		ZT_CHECK(false, "%s: cannot map the buffer", what);
		return;
	}
	ZT_CHECK(image.width == buffer->width && image.height == buffer->height,
		"%s: the whole buffer is mapped (%dx%d)", what, image.width, image.height);
	uint32_t *want = gt_expected_scene(image.width, image.height, 1);
	for (int y = 200; y < 210 && y < image.height; y++) {
		for (int x = 10 + 12 * tick; x < 20 + 12 * tick && x < image.width; x++) {
			want[y * image.width + x] = 0xffff00ff;
		}
	}
	int bad = gt_count_diff_expected(&image, want, what);
	ZT_CHECK(bad == 0, "%s: %d pixels differ from the scene", what, bad);
	free(want);
	free((void *)image.data);
}

/* A correct frame on session: ready, the scene (plus tick) in the buffer. */
static void check_correct_frame(struct zt_compositor *comp, struct zcc_session *session,
		struct zcc_buffer *good, int tick, const char *after) {
	/* Frames after the first wait for a change: make one first. */
	ZT_CHECK(zt_cmd(comp, "rect tick %d 200 10 10 ff00ffff", 10 + 12 * tick),
		"rect tick: %s", comp->reply);
	struct zcc_frame *frame = zcc_frame_create(session);
	zcc_frame_attach_buffer(frame, good);
	zcc_frame_damage_buffer(frame, 0, 0, good->width, good->height);
	zcc_frame_capture(frame);
	enum zcc_frame_status status = zcc_frame_wait(frame, GT_EXPECT_MS);
	ZT_CHECK(status == ZCC_FRAME_READY, "after %s: the next correct frame is %s (%s)", after,
		zcc_frame_status_str(status), zcc_failure_reason_str(frame->result.failure_reason));
	zcc_frame_destroy(frame);
	if (status != ZCC_FRAME_READY) {
		return;
	}
	check_pixels(good, tick, after);
}

struct conn {
	struct zcc_client *client;
	struct zcc_session *session;
	struct zcc_dmabuf_device *device;
	struct zcc_buffer *good;
};

static void conn_close(struct conn *c) {
	zcc_buffer_destroy(c->good);
	zcc_dmabuf_device_destroy(c->device);
	zcc_session_destroy(c->session);
	zcc_client_destroy(c->client);
	memset(c, 0, sizeof(*c));
}

static bool conn_open(struct conn *c, struct zt_compositor *comp) {
	c->client = zt_connect(comp);
	c->session = c->client != NULL ? gt_session(c->client, 0) : NULL;
	c->device = c->session != NULL ? gt_device(c->session) : NULL;
	c->good = c->device != NULL ? gt_dmabuf(c->device, c->session, DRM_FORMAT_XRGB8888) : NULL;
	return c->good != NULL;
}

/* Whether a buffer of this kind may be refused by zwp_linux_dmabuf_v1 itself. */
static bool may_be_refused(enum kind kind) {
	return kind == K_MODIFIER || kind == K_STRIDE_SHORT || kind == K_STRIDE_SPLIT ||
		kind == K_STRIDE_UNALIGNED || kind == K_OFFSET_SPLIT || kind == K_OFFSET_UNALIGNED;
}

int main(void) {
	zt_section("buffers that do not fit fail with buffer_constraints; the session goes on");
	struct zt_compositor comp;
	if (!gt_start(&comp, "320x240", NULL)) {
		return zt_finish();
	}
	gt_setup_scene(&comp);
	struct conn c = {0};
	conn_open(&c, &comp);
	for (size_t i = 0; c.good != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hostile *h = &cases[i];
		if (getenv("GT_CASE") != NULL && (size_t)atoi(getenv("GT_CASE")) != i) {
			continue;
		}
		zt_section(h->name);
		long mark = gt_log_mark(&comp);
		if (h->kind == K_IMPORT_FAULT) {
			ZT_CHECK(zt_cmd(&comp, "fault import 1"), "fault import: %s", comp.reply);
		}
		/* A change first, so that a buffer that passes the checks is drawn into. */
		ZT_CHECK(zt_cmd(&comp, "rect tick %d 200 10 10 ff00ffff", 10 + 12 * 2 * (int)i),
			"rect tick: %s", comp.reply);
		bool refused = false;
		struct zcc_buffer *bad = make_hostile(h, c.session, c.device, &refused);
		enum zcc_frame_status status = ZCC_FRAME_PENDING;
		if (refused) {
			ZT_CHECK(may_be_refused(h->kind), "%s: zwp_linux_dmabuf_v1 refused a valid "
				"dma-buf", h->name);
			fprintf(stderr, "  refused by zwp_linux_dmabuf_v1 (failed event): it never reaches "
				"a capture\n");
		} else if (bad != NULL) {
			struct zcc_frame *frame = zcc_frame_create(c.session);
			zcc_frame_attach_buffer(frame, bad);
			zcc_frame_damage_buffer(frame, 0, 0, c.good->width, c.good->height);
			zcc_frame_capture(frame);
			status = zcc_frame_wait(frame, GT_EXPECT_MS);
			if (status == ZCC_FRAME_ERROR) {
				struct zcc_error err;
				char buf[160];
				zcc_client_get_error(c.client, &err);
				ZT_CHECK(false, "%s: the connection died: %s", h->name,
					zcc_error_str(&err, buf, sizeof(buf)));
			} else if (is_valid(h->kind)) {
				ZT_CHECK(status == ZCC_FRAME_READY, "%s: frame %s (%s), want ready", h->name,
					zcc_frame_status_str(status),
					zcc_failure_reason_str(frame->result.failure_reason));
				if (status == ZCC_FRAME_READY) {
					check_pixels(bad, 2 * (int)i, h->name);
				}
			} else {
				ZT_CHECK(status == ZCC_FRAME_FAILED &&
					frame->result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS,
					"%s: frame %s (%s), want failed buffer_constraints", h->name,
					zcc_frame_status_str(status),
					zcc_failure_reason_str(frame->result.failure_reason));
				ZT_CHECK(frame->result.ready_events == 0 &&
					frame->result.events_after_done == 0, "%s: exactly one outcome", h->name);
				ZT_CHECK(gt_log_has_line(&comp, mark, h->log_words),
					"%s: the compositor logs a line naming the reason ('%s')", h->name,
					h->log_words[1]);
			}
			zcc_frame_destroy(frame);
			zcc_buffer_destroy(bad);
		}
		if (h->kind == K_IMPORT_FAULT && status != ZCC_FRAME_FAILED) {
			zt_cmd(&comp, "fault import 0");
		}
		ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor survived", h->name);
		if (!zt_compositor_alive(&comp)) {
			break;
		}
		struct zcc_error err;
		if (zcc_client_get_error(c.client, &err)) {
			/* Go on with the next case on a new connection. */
			conn_close(&c);
			conn_open(&c, &comp);
			continue;
		}
		check_correct_frame(&comp, c.session, c.good, 2 * (int)i + 1, h->name);
	}
	conn_close(&c);
	zt_compositor_stop(&comp);
	return zt_finish();
}
