#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "gpu-common.h"
#include "wl-helpers.h"

/* Inside 240x240 so every transform and scale 2 of a 320x240 output shows it. */
const struct gt_scene_rect gt_scene[] = {
	{"red", 10, 20, 30, 40, 0xff0000ff},
	{"green", 200, 200, 40, 40, 0x00ff00ff},
	{"blue", 100, 0, 20, 10, 0x0000ffff},
	{"white", 0, 230, 7, 10, 0xffffffff},
	{"over", 30, 50, 20, 20, 0xffff00ff}, /* overlaps red */
	{"dark", 150, 100, 3, 1, 0x010203ff}, /* near black, one row */
};
const size_t gt_scene_len = sizeof(gt_scene) / sizeof(gt_scene[0]);

uint64_t gt_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool gt_start(struct zt_compositor *comp, const char *output_spec, const char *const *extra) {
	/* A compositor that died must fail checks, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	/* The shared helpers wait as long as this suite does for what must come. */
	zt_wait_ms = GT_EXPECT_MS;
	if (access("/dev/dri/card0", F_OK) != 0 && access("/dev/dri/renderD128", F_OK) != 0) {
		fprintf(stderr, "no DRM device: the GPU tests run in the test VM, through "
			"'meson test --suite gpu' (skipped)\n");
		exit(77);
	}
	const char *renderer = getenv("WLR_RENDERER");
	ZT_CHECK(renderer != NULL && strcmp(renderer, "gles2") == 0,
		"WLR_RENDERER is %s, the GPU suite needs gles2 (run it through meson in the VM)",
		renderer != NULL ? renderer : "unset");
	const char *args[32] = {"--output", output_spec};
	int n = 2;
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++) {
		args[n++] = extra[i];
	}
	args[n] = NULL;
	if (!zt_compositor_start(comp, args)) {
		return false;
	}
	bool gpu = zt_log_contains(comp, "zerocap: GPU capture on");
	ZT_CHECK(gpu, "the compositor's GPU capture path is off (no GLES2 renderer or no "
		"dma-buf import; LD_PRELOAD=%s)", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
	return gpu;
}

bool gt_stats(struct zt_compositor *comp, struct gt_stats *stats) {
	memset(stats, 0, sizeof(*stats));
	if (!zt_cmd(comp, "stats")) {
		ZT_CHECK(false, "stats: %s", comp->reply);
		return false;
	}
	unsigned long long v[5];
	int n = sscanf(comp->reply, "ok frames_ready=%llu frames_failed=%llu bytes_written=%llu "
		"cpu_pixel_reads=%llu gpu_blits=%llu", &v[0], &v[1], &v[2], &v[3], &v[4]);
	ZT_CHECK(n == 5, "cannot parse stats reply '%s'", comp->reply);
	if (n != 5) {
		return false;
	}
	stats->frames_ready = v[0];
	stats->frames_failed = v[1];
	stats->bytes_written = v[2];
	stats->cpu_pixel_reads = v[3];
	stats->gpu_blits = v[4];
	return true;
}

void gt_setup_scene(struct zt_compositor *comp) {
	for (size_t i = 0; i < gt_scene_len; i++) {
		const struct gt_scene_rect *s = &gt_scene[i];
		ZT_CHECK(zt_cmd(comp, "rect %s %d %d %d %d %08x", s->name, s->x, s->y, s->w, s->h,
			s->rgba), "rect %s: %s", s->name, comp->reply);
	}
}

uint32_t *gt_expected_scene(int width, int height, int scale) {
	uint32_t *img = calloc((size_t)width * height, sizeof(*img));
	if (img == NULL) {
		abort();
	}
	for (int i = 0; i < width * height; i++) {
		img[i] = GT_BACKGROUND;
	}
	for (size_t r = 0; r < gt_scene_len; r++) {
		const struct gt_scene_rect *s = &gt_scene[r];
		for (int y = s->y * scale; y < (s->y + s->h) * scale && y < height; y++) {
			for (int x = s->x * scale; x < (s->x + s->w) * scale && x < width; x++) {
				img[y * width + x] = zt_rgba_to_argb(s->rgba);
			}
		}
	}
	return img;
}

struct zcc_session *gt_session(struct zcc_client *client, uint32_t options) {
	struct zcc_session *session = zcc_session_create(client,
		zcc_client_find_output(client, NULL), options);
	ZT_CHECK(session != NULL, "session: %s", zcc_client_last_error(client));
	if (session == NULL) {
		return NULL;
	}
	int ret = zcc_session_wait_constraints(session, GT_EXPECT_MS);
	ZT_CHECK(ret == 1 && !session->stopped, "constraints (wait %d, stopped %d)", ret,
		session->stopped);
	if (ret != 1 || session->stopped) {
		zcc_session_destroy(session);
		return NULL;
	}
	const struct zcc_constraints *c = &session->constraints;
	ZT_CHECK(c->has_dmabuf_device && c->dmabuf_device_events == 1,
		"the session advertises one dmabuf_device (%u events)", c->dmabuf_device_events);
	ZT_CHECK(c->n_dmabuf_formats > 0, "the session advertises dmabuf formats");
	return session;
}

struct zcc_dmabuf_device *gt_device(struct zcc_session *session) {
	struct zcc_client *client = session->client;
	if (!session->constraints.has_dmabuf_device) {
		ZT_CHECK(false, "no dmabuf_device to open");
		return NULL;
	}
	struct zcc_dmabuf_device *device =
		zcc_dmabuf_device_open(client, session->constraints.dmabuf_device);
	ZT_CHECK(device != NULL, "dma-buf device: %s", zcc_client_last_error(client));
	return device;
}

bool gt_advertised(const struct zcc_session *session, uint32_t format, uint64_t modifier) {
	const struct zcc_constraints *c = &session->constraints;
	for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
		if (c->dmabuf_formats[i].format != format) {
			continue;
		}
		for (size_t j = 0; j < c->dmabuf_formats[i].n_modifiers; j++) {
			if (c->dmabuf_formats[i].modifiers[j] == modifier) {
				return true;
			}
		}
	}
	return false;
}

bool gt_pick_modifier(const struct zcc_session *session, uint32_t format, uint64_t *modifier) {
	if (gt_advertised(session, format, ZCC_DRM_FORMAT_MOD_LINEAR)) {
		*modifier = ZCC_DRM_FORMAT_MOD_LINEAR;
		return true;
	}
	const struct zcc_constraints *c = &session->constraints;
	for (size_t i = 0; i < c->n_dmabuf_formats; i++) {
		if (c->dmabuf_formats[i].format == format && c->dmabuf_formats[i].n_modifiers > 0) {
			*modifier = c->dmabuf_formats[i].modifiers[0];
			return true;
		}
	}
	return false;
}

struct zcc_buffer *gt_dmabuf(struct zcc_dmabuf_device *device, struct zcc_session *session,
		uint32_t format) {
	uint64_t modifier;
	char name[8];
	if (!gt_pick_modifier(session, format, &modifier)) {
		ZT_CHECK(false, "format %s is not advertised", gt_fourcc_str(format, name));
		return NULL;
	}
	struct zcc_buffer *buffer = zcc_dmabuf_buffer_create(device, format, modifier,
		(int32_t)session->constraints.width, (int32_t)session->constraints.height);
	ZT_CHECK(buffer != NULL, "dma-buf %s: %s", gt_fourcc_str(format, name),
		zcc_client_last_error(session->client));
	return buffer;
}

struct zcc_buffer *gt_shm(struct zcc_session *session, uint32_t shm_format) {
	struct zcc_buffer *buffer = zcc_buffer_create(session->client, shm_format,
		(int32_t)session->constraints.width, (int32_t)session->constraints.height, 0);
	ZT_CHECK(buffer != NULL, "shm buffer: %s", zcc_client_last_error(session->client));
	return buffer;
}

bool gt_dmabuf_open(struct zt_compositor *comp, struct gt_dmabuf_capture *capture) {
	capture->client = zt_connect(comp);
	capture->session = capture->client != NULL ? gt_session(capture->client, 0) : NULL;
	capture->device = capture->session != NULL ? gt_device(capture->session) : NULL;
	capture->buffer = capture->device != NULL ?
		gt_dmabuf(capture->device, capture->session, GT_DRM_FORMAT_XRGB8888) : NULL;
	return capture->buffer != NULL;
}

void gt_dmabuf_close(struct gt_dmabuf_capture *capture) {
	zcc_buffer_destroy(capture->buffer);
	zcc_dmabuf_device_destroy(capture->device);
	zcc_session_destroy(capture->session);
	zcc_client_destroy(capture->client);
}

int gt_count_diff(const struct zcc_image *a, const struct zcc_image *b, const char *what) {
	if (a->data == NULL || b->data == NULL || a->width != b->width ||
			a->height != b->height) {
		fprintf(stderr, "  %s: images differ in size (%dx%d vs %dx%d) or are missing\n",
			what, a->width, a->height, b->width, b->height);
		return -1;
	}
	bool alpha = zcc_format_has_alpha(a->format) && zcc_format_has_alpha(b->format);
	uint32_t mask = alpha ? 0xffffffffu : 0x00ffffffu;
	int bad = 0;
	for (int y = 0; y < a->height; y++) {
		for (int x = 0; x < a->width; x++) {
			uint32_t pa = 0, pb = 0;
			bool ok = zcc_image_pixel(a, x, y, &pa) && zcc_image_pixel(b, x, y, &pb);
			if (!ok || (pa & mask) != (pb & mask)) {
				if (bad < 3) {
					fprintf(stderr, "  %s: pixel %d,%d is %08x vs %08x\n", what, x, y,
						pa, pb);
				}
				bad++;
			}
		}
	}
	return bad;
}

int gt_count_diff_expected(const struct zcc_image *image, const uint32_t *want,
		const char *what) {
	struct zcc_image expected = {
		.data = want,
		.format = WL_SHM_FORMAT_ARGB8888,
		.width = image->width,
		.height = image->height,
		.stride = image->width * 4,
	};
	return gt_count_diff(image, &expected, what);
}

const char *gt_fourcc_str(uint32_t format, char buf[8]) {
	for (int i = 0; i < 4; i++) {
		char c = (char)((format >> (8 * i)) & 0xff);
		buf[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

long gt_log_mark(struct zt_compositor *comp) {
	struct stat st;
	return stat(comp->log_path, &st) == 0 ? (long)st.st_size : 0;
}

bool gt_log_has_line(struct zt_compositor *comp, long mark, const char *const *words) {
	FILE *log = fopen(comp->log_path, "r");
	if (log == NULL) {
		return false;
	}
	fseek(log, mark, SEEK_SET);
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), log) != NULL) {
		found = true;
		for (size_t i = 0; words[i] != NULL && found; i++) {
			found = strcasestr(line, words[i]) != NULL;
		}
	}
	if (!found) {
		fprintf(stderr, "  compositor log since the mark:\n");
		fseek(log, mark, SEEK_SET);
		while (fgets(line, sizeof(line), log) != NULL) {
			fprintf(stderr, "    %s", line);
		}
	}
	fclose(log);
	return found;
}

void gt_print_fds(pid_t pid) {
	char dir_path[64];
	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(dir_path);
	if (dir == NULL) {
		return;
	}
	fprintf(stderr, "  fds of %d:", (int)pid);
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		char path[320], target[256];
		snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		/* The same dma-buf behind two fds (a driver's dup) has one inode. */
		struct stat st;
		if (strncmp(target, "/dmabuf:", 8) == 0 && stat(path, &st) == 0) {
			fprintf(stderr, " %s=%s(inode %lu)", entry->d_name, target,
				(unsigned long)st.st_ino);
		} else {
			fprintf(stderr, " %s=%s", entry->d_name, target);
		}
	}
	fprintf(stderr, "\n");
	closedir(dir);
}
