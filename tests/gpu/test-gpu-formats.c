/*
 * The advertised dma-buf constraints match what the renderer can render:
 * dmabuf_device is a DRM device clients can allocate on, and every
 * advertised (format, modifier) pair can be allocated with GBM and captured
 * into, with every row written and the right colours (decoded per format);
 * XRGB8888 and ARGB8888 with LINEAR are among them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <drm_fourcc.h>
#include "gpu-common.h"

#define DRM_MAJOR 226
#define FILL_BYTE 0x5a

enum layout {
	L_8888, /* one byte per channel */
	L_2101010,
	L_16F, /* half floats */
	L_16, /* 16-bit unorm */
	L_565,
};

/* Channel positions: byte index (8888, 16-bit layouts: 16-bit word index) or bit shift. */
struct format_desc {
	uint32_t format;
	enum layout layout;
	int bpp;
	int r, g, b, a; /* a < 0: no alpha */
};

static const struct format_desc descs[] = {
	{DRM_FORMAT_XRGB8888, L_8888, 4, 2, 1, 0, -1},
	{DRM_FORMAT_ARGB8888, L_8888, 4, 2, 1, 0, 3},
	{DRM_FORMAT_XBGR8888, L_8888, 4, 0, 1, 2, -1},
	{DRM_FORMAT_ABGR8888, L_8888, 4, 0, 1, 2, 3},
	{DRM_FORMAT_RGBX8888, L_8888, 4, 3, 2, 1, -1},
	{DRM_FORMAT_RGBA8888, L_8888, 4, 3, 2, 1, 0},
	{DRM_FORMAT_BGRX8888, L_8888, 4, 1, 2, 3, -1},
	{DRM_FORMAT_BGRA8888, L_8888, 4, 1, 2, 3, 0},
	{DRM_FORMAT_XRGB2101010, L_2101010, 4, 20, 10, 0, -1},
	{DRM_FORMAT_ARGB2101010, L_2101010, 4, 20, 10, 0, 30},
	{DRM_FORMAT_XBGR2101010, L_2101010, 4, 0, 10, 20, -1},
	{DRM_FORMAT_ABGR2101010, L_2101010, 4, 0, 10, 20, 30},
	{DRM_FORMAT_XRGB16161616F, L_16F, 8, 2, 1, 0, -1},
	{DRM_FORMAT_ARGB16161616F, L_16F, 8, 2, 1, 0, 3},
	{DRM_FORMAT_XBGR16161616F, L_16F, 8, 0, 1, 2, -1},
	{DRM_FORMAT_ABGR16161616F, L_16F, 8, 0, 1, 2, 3},
	{DRM_FORMAT_XBGR16161616, L_16, 8, 0, 1, 2, -1},
	{DRM_FORMAT_ABGR16161616, L_16, 8, 0, 1, 2, 3},
	{DRM_FORMAT_RGB565, L_565, 2, 11, 5, 0, -1},
	{DRM_FORMAT_BGR565, L_565, 2, 0, 5, 11, -1},
};

static const struct format_desc *find_desc(uint32_t format) {
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
		if (descs[i].format == format) {
			return &descs[i];
		}
	}
	return NULL;
}

static float half_to_float(uint16_t h) {
	int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	float v;
	if (exp == 0) {
		v = ldexpf((float)mant, -24);
	} else if (exp == 31) {
		v = INFINITY;
	} else {
		v = ldexpf((float)(mant | 0x400), exp - 25);
	}
	return (h & 0x8000) ? -v : v;
}

/* Channel value in [0, 1] and its quantum, from the pixel at p. */
static float channel(const struct format_desc *d, const uint8_t *p, int pos, float *quantum) {
	uint32_t word;
	uint16_t half;
	switch (d->layout) {
	case L_8888:
		*quantum = 1.0f / 255;
		return p[pos] / 255.0f;
	case L_2101010:
		memcpy(&word, p, 4);
		*quantum = pos == 30 ? 1.0f / 3 : 1.0f / 1023;
		return pos == 30 ? (word >> 30) / 3.0f : ((word >> pos) & 0x3ff) / 1023.0f;
	case L_16F:
		memcpy(&half, p + pos * 2, 2);
		*quantum = 1.0f / 2048; /* relative precision of a half near 1 */
		return half_to_float(half);
	case L_16:
		memcpy(&half, p + pos * 2, 2);
		*quantum = 1.0f / 65535;
		return half / 65535.0f;
	case L_565: {
		uint16_t v;
		memcpy(&v, p, 2);
		int bits = pos == 5 ? 6 : 5;
		int max = (1 << bits) - 1;
		*quantum = 1.0f / max;
		return ((v >> pos) & max) / (float)max;
	}
	}
	return -1;
}

/* Whether the pixel at p is argb (8-bit), within rounding. */
static bool pixel_matches(const struct format_desc *d, const uint8_t *p, uint32_t argb,
		uint32_t *got) {
	int pos[4] = {d->r, d->g, d->b, d->a};
	int shift[4] = {16, 8, 0, 24};
	bool ok = true;
	*got = 0;
	for (int c = 0; c < 4; c++) {
		if (pos[c] < 0) {
			*got |= 0xffu << 24;
			continue;
		}
		float quantum = 0;
		float v = channel(d, p, pos[c], &quantum);
		float want = ((argb >> shift[c]) & 0xff) / 255.0f;
		/* Correct rounding: within half a quantum, plus float slack. */
		if (fabsf(v - want) > quantum / 2 + 1e-4f) {
			ok = false;
		}
		int v8 = (int)lrintf(v * 255);
		*got |= (uint32_t)(v8 < 0 ? 0 : v8 > 255 ? 255 : v8) << shift[c];
	}
	return ok;
}

static void print_constraints(const struct zcc_session *session,
		const struct zcc_dmabuf_device *device) {
	const struct zcc_constraints *c = &session->constraints;
	fprintf(stderr, "  buffer size %ux%u, dmabuf_device %u:%u (opened %s)\n", c->width,
		c->height, major(c->dmabuf_device), minor(c->dmabuf_device),
		device != NULL ? device->node : "-");
	for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
		char name[8];
		fprintf(stderr, "  dmabuf_format %s:", gt_fourcc_str(c->dmabuf_formats[i].format,
			name));
		for (size_t j = 0; j < c->dmabuf_formats[i].n_modifiers; j++) {
			fprintf(stderr, " 0x%llx", (unsigned long long)c->dmabuf_formats[i].modifiers[j]);
		}
		fprintf(stderr, "\n");
	}
}

struct conn {
	struct zcc_client *client;
	struct zcc_dmabuf_device *device;
};

static void conn_close(struct conn *conn) {
	zcc_dmabuf_device_destroy(conn->device);
	zcc_client_destroy(conn->client);
	conn->device = NULL;
	conn->client = NULL;
}

/* (Re)connects after a failure killed the connection. */
static bool conn_ensure(struct conn *conn, struct zt_compositor *comp) {
	struct zcc_error err;
	if (conn->client != NULL && !zcc_client_get_error(conn->client, &err)) {
		return true;
	}
	conn_close(conn);
	conn->client = zt_connect(comp);
	struct zcc_session *session = conn->client != NULL ? gt_session(conn->client, 0) : NULL;
	conn->device = session != NULL ? gt_device(session) : NULL;
	zcc_session_destroy(session);
	return conn->device != NULL;
}

/* Fills plane 0 bytes of the image area with FILL_BYTE. */
static bool fill_bytes(struct zcc_buffer *buffer, int bpp) {
	struct zcc_image image = zcc_dmabuf_map(buffer);
	if (image.data == NULL) {
		return false;
	}
	for (int y = 0; y < image.height; y++) {
		memset((uint8_t *)image.data + (size_t)y * image.stride, FILL_BYTE,
			(size_t)image.width * bpp);
	}
	zcc_dmabuf_unmap(buffer);
	return true;
}

/* Checks rows written and colours against want; returns mismatching pixels. */
static int check_pixels(struct zcc_buffer *buffer, const struct format_desc *d,
		const uint32_t *want, const char *what, int *unwritten_rows) {
	struct zcc_image image = zcc_dmabuf_map(buffer);
	if (image.data == NULL) {
		return -1;
	}
	int bad = 0;
	*unwritten_rows = 0;
	for (int y = 0; y < image.height; y++) {
		const uint8_t *row = (const uint8_t *)image.data + (size_t)y * image.stride;
		bool untouched = true;
		for (int i = 0; i < image.width * d->bpp && untouched; i++) {
			untouched = row[i] == FILL_BYTE;
		}
		if (untouched) {
			(*unwritten_rows)++;
		}
		for (int x = 0; x < image.width; x++) {
			uint32_t got;
			uint32_t expect = want[y * image.width + x];
			if (!pixel_matches(d, row + (size_t)x * d->bpp, expect, &got)) {
				if (bad < 3) {
					fprintf(stderr, "  %s: pixel %d,%d is ~%08x, want %08x\n", what, x, y,
						got, expect);
				}
				bad++;
			}
		}
	}
	zcc_dmabuf_unmap(buffer);
	return bad;
}

/* One capture into a fresh session (first frames are captured at once). */
static void check_pair(struct conn *conn, struct zt_compositor *comp, uint32_t format,
		uint64_t modifier, const uint32_t *want) {
	char name[24], fourcc[8];
	snprintf(name, sizeof(name), "%s/0x%llx", gt_fourcc_str(format, fourcc),
		(unsigned long long)modifier);
	if (!conn_ensure(conn, comp)) {
		ZT_CHECK(false, "%s: no connection", name);
		return;
	}
	struct zcc_client *client = conn->client;
	struct zcc_session *session = gt_session(client, 0);
	if (session == NULL) {
		return;
	}
	const struct format_desc *d = find_desc(format);
	ZT_CHECK(d != NULL, "%s is advertised but is not an RGB format a capture can fill", name);
	struct zcc_buffer *buffer = zcc_dmabuf_buffer_create(conn->device, format, modifier,
		(int32_t)session->constraints.width, (int32_t)session->constraints.height);
	ZT_CHECK(buffer != NULL, "%s is advertised but cannot be allocated: %s", name,
		zcc_client_last_error(client));
	if (buffer == NULL) {
		zcc_session_destroy(session);
		return;
	}
	if (d != NULL) {
		ZT_CHECK(fill_bytes(buffer, d->bpp), "%s: map: %s", name,
			zcc_client_last_error(client));
	}
	struct zcc_capture_result result;
	enum zcc_frame_status status =
		zcc_session_capture(session, buffer, NULL, 0, GT_EXPECT_MS, &result);
	ZT_CHECK(status == ZCC_FRAME_READY, "%s: capture %s (%s)", name,
		zcc_frame_status_str(status),
		status == ZCC_FRAME_FAILED ? zcc_failure_reason_str(result.failure_reason) :
		zcc_client_last_error(client));
	if (status == ZCC_FRAME_READY && d != NULL) {
		int unwritten = 0;
		int bad = check_pixels(buffer, d, want, name, &unwritten);
		ZT_CHECK(bad >= 0, "%s: map after ready: %s", name, zcc_client_last_error(client));
		ZT_CHECK(unwritten == 0, "%s: %d rows were not written", name, unwritten);
		ZT_CHECK(bad == 0, "%s: %d pixels differ from the scene", name, bad);
		if (bad == 0 && unwritten == 0) {
			fprintf(stderr, "  %s: ok\n", name);
		}
	}
	zcc_capture_result_finish(&result);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
}

int main(void) {
	zt_section("advertised dma-buf formats and modifiers are all usable");
	struct zt_compositor comp;
	if (!gt_start(&comp, "320x240", NULL)) {
		return zt_finish();
	}
	gt_setup_scene(&comp);
	struct conn conn = {0};
	struct zcc_client *client = zt_connect(&comp);
	struct zcc_session *session = client != NULL ? gt_session(client, 0) : NULL;
	struct zcc_dmabuf_device *device = session != NULL ? gt_device(session) : NULL;
	if (session != NULL) {
		print_constraints(session, device);
	}
	if (device != NULL) {
		const struct zcc_constraints *c = &session->constraints;
		struct stat st;
		ZT_CHECK(fstat(device->drm_fd, &st) == 0 && major(st.st_rdev) == DRM_MAJOR,
			"the opened node %s is a DRM device", device->node);
		ZT_CHECK(major(c->dmabuf_device) == DRM_MAJOR, "dmabuf_device %u:%u is a DRM device",
			major(c->dmabuf_device), minor(c->dmabuf_device));
		ZT_CHECK(c->width == 320 && c->height == 240, "buffer size %ux%u", c->width,
			c->height);
		/* llvmpipe has no modifiers: wlroots offers LINEAR (and implicit) for each. */
		ZT_CHECK(gt_advertised(session, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR),
			"XRGB8888 with LINEAR is advertised");
		ZT_CHECK(gt_advertised(session, DRM_FORMAT_ARGB8888, DRM_FORMAT_MOD_LINEAR),
			"ARGB8888 with LINEAR is advertised");
		for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
			ZT_CHECK(c->dmabuf_formats[i].n_modifiers > 0, "format %zu has modifiers", i);
			for (size_t j = 0; j < i; j++) {
				ZT_CHECK(c->dmabuf_formats[j].format != c->dmabuf_formats[i].format,
					"format %zu is advertised once", i);
			}
		}

		uint32_t *want = gt_expected_scene((int)c->width, (int)c->height, 1);
		size_t n_pairs = 0;
		for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
			n_pairs += c->dmabuf_formats[i].n_modifiers;
		}
		uint32_t *formats = calloc(n_pairs + 1, sizeof(*formats));
		uint64_t *modifiers = calloc(n_pairs + 1, sizeof(*modifiers));
		size_t k = 0;
		for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
			for (size_t j = 0; j < c->dmabuf_formats[i].n_modifiers; j++) {
				formats[k] = c->dmabuf_formats[i].format;
				modifiers[k++] = c->dmabuf_formats[i].modifiers[j];
			}
		}
		fprintf(stderr, "  %zu (format, modifier) pairs\n", n_pairs);
		zcc_session_destroy(session);
		session = NULL;
		conn.client = client;
		conn.device = device;
		client = NULL;
		device = NULL;
		for (size_t i = 0; i < n_pairs; i++) {
			check_pair(&conn, &comp, formats[i], modifiers[i], want);
		}
		free(formats);
		free(modifiers);
		free(want);
	}
	zcc_session_destroy(session);
	zcc_dmabuf_device_destroy(device);
	zcc_client_destroy(client);
	conn_close(&conn);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor survived");
	zt_compositor_stop(&comp);
	return zt_finish();
}
