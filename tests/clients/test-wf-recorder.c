/*
 * wf-recorder against zerocap-compositor's --demo content (a solid rect that
 * moves and changes colour at ~30 Hz) under a static control rect.
 * wf-recorder asks for copy_with_damage frames, so it gets one frame per
 * change of the content. wf-recorder (Debian's 0.5 in trixie, 0.6 in sid)
 * speaks only wlr-screencopy, so its WAYLAND_DEBUG log must show screencopy
 * frames and no ext-image-copy-capture request.
 *
 * 1. Lossless: -c rawvideo into NUT, the whole output. ffprobe -count_frames
 *    gives size and frame count; ffmpeg decodes every frame to rgb24 and
 *    each must be exactly the scene: the background, one solid 64x48 demo
 *    rect, the static rect on top and on it the cursor (wf-recorder asks for
 *    it), the arrow pixel for pixel. Consecutive frames must differ (the
 *    demo rect moved), and the count must match ~30 frames a second. One
 *    exception: wf-recorder keeps two frames in flight from the start, and
 *    zerocap answers a session's second frame at once with full damage (so
 *    that a client on a static screen gets its second picture too), so
 *    frame 1 may repeat frame 0.
 * 2. wf-recorder's default codec (libx264, lossy) into MP4 with -g, which
 *    uses capture_output_region: size and count from ffprobe, the static
 *    rect at its place in the region (with a tolerance: H.264 in 4:2:0 is
 *    lossy), and frames that differ as the content moves.
 *
 * wf-recorder captures into wl_shm here (its dma-buf path is for GPU
 * encoders), so this runs on the host.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clients.h"

#define OUTPUT_W 320
#define OUTPUT_H 240
/* --demo-damage 4: a rect of sqrt(4%) of each side. */
#define DEMO_W 64
#define DEMO_H 48
#define RECORD_MS 2000

/*
 * The static rect, above the demo layer, and the cursor on it: wf-recorder
 * asks for the cursor (overlay_cursor), which zerocap paints on top.
 */
#define MARK_X 0
#define MARK_Y 0
#define MARK_W 32
#define MARK_H 32
#define MARK_RGB 0xff0000u
#define CURSOR_X 8
#define CURSOR_Y 8
/* The region of the second recording and a static rect inside it. */
#define REGION_X 40
#define REGION_Y 30
#define REGION_W 200
#define REGION_H 160
#define MARK2_X 200
#define MARK2_Y 150
#define MARK2_W 24
#define MARK2_H 24
#define MARK2_RGB 0x0000ffu

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A fresh directory in dir and a compositor with the demo content; false,
 * with nothing left behind, when either cannot be had.
 */
static bool demo_start(struct zt_compositor *comp, char *dir, size_t size) {
	if (!ct_tmpdir(dir, size)) {
		return false;
	}
	const char *args[] = {"--output", "320x240", "--demo-damage", "4", NULL};
	if (!zt_compositor_start(comp, args)) {
		ct_tmpdir_remove(dir);
		return false;
	}
	return true;
}

/*
 * Records for RECORD_MS, stops it with SIGINT like Ctrl+C, then stops the
 * compositor (which must have survived); returns the seconds recorded.
 */
static double record(struct zt_compositor *comp, const char *dir, const char *const *argv) {
	double start = now_s();
	static const char *const env[] = {"WAYLAND_DEBUG=1", NULL};
	pid_t pid = ct_spawn(dir, comp->socket, argv, env, "wf-recorder.log");
	ZT_CHECK(pid > 0, "cannot start wf-recorder");
	double seconds = 0;
	if (pid > 0) {
		usleep(RECORD_MS * 1000);
		seconds = now_s() - start;
		kill(pid, SIGINT);
		int status = ct_wait(pid, 30000);
		bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		ZT_CHECK(ok, "wf-recorder: %s after SIGINT", ct_status_str(status));
		if (!ok) {
			ct_print_log(dir, "wf-recorder.log");
		}
	}
	ZT_CHECK(zt_compositor_alive(comp), "the compositor survived the recording");
	zt_compositor_stop(comp);
	if (pid > 0) {
		ct_check_protocol(dir, "wf-recorder.log", CT_SCREENCOPY, "wf-recorder");
	}
	return seconds;
}

struct probe {
	int width, height, frames;
	char codec[64];
};

/* ffprobe -count_frames on the first video stream. */
static bool probe(const char *dir, const char *file, struct probe *out) {
	memset(out, 0, sizeof(*out));
	const char *argv[] = {"ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames",
		"-of", "default=noprint_wrappers=1", file, NULL};
	if (!ct_run(dir, NULL, argv, 60000, "ffprobe.txt")) {
		ZT_CHECK(false, "ffprobe %s failed", file);
		return false;
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/ffprobe.txt", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return false;
	}
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "width=", 6) == 0) {
			out->width = atoi(line + 6);
		} else if (strncmp(line, "height=", 7) == 0) {
			out->height = atoi(line + 7);
		} else if (strncmp(line, "nb_read_frames=", 15) == 0) {
			out->frames = atoi(line + 15);
		} else if (strncmp(line, "codec_name=", 11) == 0) {
			if (snprintf(out->codec, sizeof(out->codec), "%s", line + 11) < 0) {
				out->codec[0] = '\0';
			}
		}
	}
	fclose(f);
	unlink(path);
	fprintf(stderr, "  ffprobe %s: %s %dx%d, %d frames\n", file, out->codec, out->width,
		out->height, out->frames);
	return true;
}

/* Decodes every frame to rgb24; returns the frames (count in *n) or NULL. */
static uint8_t *decode(const char *dir, const char *file, int width, int height, int *n) {
	*n = 0;
	/* Every frame as it is: no frames dropped or repeated for a constant rate. */
	const char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-i", file, "-fps_mode",
		"passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "frames.rgb", NULL};
	if (!ct_run(dir, NULL, argv, 60000, "ffmpeg.log")) {
		ZT_CHECK(false, "ffmpeg could not decode %s", file);
		return NULL;
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/frames.rgb", dir);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	struct stat st;
	size_t frame_size = (size_t)width * height * 3;
	uint8_t *data = NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && (size_t)st.st_size % frame_size == 0) {
		data = malloc(st.st_size);
		if (data != NULL && fread(data, 1, st.st_size, f) == (size_t)st.st_size) {
			*n = (int)(st.st_size / frame_size);
		} else {
			free(data);
			data = NULL;
		}
	}
	ZT_CHECK(data != NULL, "ffmpeg's rgb24 output of %s is not whole %dx%d frames", file,
		width, height);
	fclose(f);
	unlink(path);
	return data;
}

/* The frame count matches ~30 changes a second over the recording. */
static void check_count(int frames, double seconds, double low, const char *what) {
	int min = (int)(seconds * 30 * low), max = (int)(seconds * 30 * 1.2) + 3;
	ZT_CHECK(frames >= min && frames <= max,
		"%s: %d frames for %.2f s of ~30 Hz content, expected %d..%d", what, frames, seconds,
		min, max);
}

/*
 * The video in file, recorded for seconds: its codec, its size and ~30
 * frames a second (down to low of that). Its frames, decoded to rgb24 when
 * the size is right, go to frames (n of them; free them). False when there
 * was no recording or ffprobe could not read it.
 */
static bool check_video(const char *dir, const char *file, const char *codec, int width,
		int height, double seconds, double low, uint8_t **frames, int *n) {
	*frames = NULL;
	*n = 0;
	struct probe p;
	if (seconds <= 0 || !probe(dir, file, &p)) {
		return false;
	}
	ZT_CHECK(strcmp(p.codec, codec) == 0, "codec %s, expected %s", p.codec, codec);
	ZT_CHECK(p.width == width && p.height == height, "video is %dx%d, expected %dx%d",
		p.width, p.height, width, height);
	check_count(p.frames, seconds, low, file);
	if (p.width == width && p.height == height) {
		*frames = decode(dir, file, width, height, n);
	}
	ZT_CHECK(*frames == NULL || *n == p.frames, "ffmpeg decoded %d frames, ffprobe "
		"counted %d", *n, p.frames);
	return true;
}

static bool in_box(int x, int y, int bx, int by, int bw, int bh) {
	return x >= bx && x < bx + bw && y >= by && y < by + bh;
}

/*
 * One lossless frame: the mark exactly, and everywhere else the background
 * except one solid DEMO_W x DEMO_H rect (which may pass under the mark; being
 * larger than the mark in both directions, its visible part still spans it).
 */
static bool check_exact_frame(const struct ct_image *frame, int index, int *demo_x, int *demo_y) {
	static const struct ct_rect mark = {"mark", MARK_X, MARK_Y, MARK_W, MARK_H, MARK_RGB};
	static const struct ct_output box = {0, 0, OUTPUT_W, OUTPUT_H};
	static const struct ct_scene scene = {
		.rects = &mark, .n_rects = 1, .outputs = &box, .n_outputs = 1,
		.cursor = true, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
	};
	int x0 = frame->width, y0 = frame->height, x1 = -1, y1 = -1;
	uint32_t demo = CT_BACKGROUND;
	int bad = 0;
	for (int y = 0; y < frame->height; y++) {
		for (int x = 0; x < frame->width; x++) {
			uint32_t got = ct_image_pixel(frame, x, y);
			if (in_box(x, y, MARK_X, MARK_Y, MARK_W, MARK_H)) {
				uint32_t want = ct_scene_color(&scene, x, y, 1);
				if (got != want && bad++ == 0) {
					fprintf(stderr, "  frame %d: pixel %d,%d is %06x, expected %06x "
						"(the static rect and the cursor)\n", index, x, y, got,
						want);
				}
				continue;
			}
			if (got == CT_BACKGROUND) {
				continue;
			}
			if (x1 < 0) {
				demo = got;
			}
			x0 = x < x0 ? x : x0;
			y0 = y < y0 ? y : y0;
			x1 = x > x1 ? x : x1;
			y1 = y > y1 ? y : y1;
		}
	}
	if (x1 < 0) {
		fprintf(stderr, "  frame %d: no demo rect\n", index);
		return false;
	}
	if (x1 - x0 + 1 != DEMO_W || y1 - y0 + 1 != DEMO_H) {
		fprintf(stderr, "  frame %d: the content off the background spans %d,%d %dx%d, "
			"not one %dx%d rect\n", index, x0, y0, x1 - x0 + 1, y1 - y0 + 1, DEMO_W, DEMO_H);
		bad++;
	}
	for (int y = y0; y <= y1; y++) {
		for (int x = x0; x <= x1; x++) {
			uint32_t got = ct_image_pixel(frame, x, y);
			if (!in_box(x, y, MARK_X, MARK_Y, MARK_W, MARK_H) && got != demo &&
					bad++ == 0) {
				fprintf(stderr, "  frame %d: pixel %d,%d is %06x inside the demo rect "
					"of %06x\n", index, x, y, got, demo);
			}
		}
	}
	*demo_x = x0;
	*demo_y = y0;
	return bad == 0;
}

static void test_rawvideo(void) {
	zt_section("wf-recorder -c rawvideo (lossless), whole output");
	char dir[256];
	struct zt_compositor comp;
	if (!demo_start(&comp, dir, sizeof(dir))) {
		return;
	}
	ZT_CHECK(zt_cmd(&comp, "rect mark %d %d %d %d %06xff", MARK_X, MARK_Y, MARK_W, MARK_H,
		MARK_RGB), "rect mark: %s", comp.reply);
	ZT_CHECK(zt_cmd(&comp, "cursor %d %d", CURSOR_X, CURSOR_Y), "cursor: %s", comp.reply);
	const char *argv[] = {"wf-recorder", "-c", "rawvideo", "-f", "clip.nut", NULL};
	double seconds = record(&comp, dir, argv);

	uint8_t *frames;
	int n;
	if (check_video(dir, "clip.nut", "rawvideo", OUTPUT_W, OUTPUT_H, seconds, 0.5, &frames,
			&n)) {
		size_t size = (size_t)OUTPUT_W * OUTPUT_H * 3;
		int exact = 0, same = 0, moved = 0, repeated = 0;
		int last_x = -1, last_y = -1;
		for (int i = 0; i < n; i++) {
			struct ct_image frame = {OUTPUT_W, OUTPUT_H, frames + i * size};
			int x = -1, y = -1;
			exact += check_exact_frame(&frame, i, &x, &y);
			if (i > 0) {
				bool repeat = memcmp(frames + i * size, frames + (i - 1) * size,
					size) == 0;
				if (i == 1 && repeat) {
					fprintf(stderr, "  frame 1 repeats frame 0 (the prompt second "
						"frame)\n");
					repeated = 1;
				} else {
					same += repeat;
					moved += x != last_x || y != last_y;
				}
			}
			last_x = x;
			last_y = y;
		}
		ZT_CHECK(exact == n, "%d of %d frames are not exactly the scene", n - exact, n);
		ZT_CHECK(n > 1 && same == 0, "%d of %d consecutive frames are identical", same,
			n - 1);
		ZT_CHECK(n > 2 && moved == n - 1 - repeated,
			"the demo rect moved in %d of %d frame changes", moved, n - 1 - repeated);
		free(frames);
	}
	ct_tmpdir_remove(dir);
}

static int abs_diff(int a, int b) {
	return a > b ? a - b : b - a;
}

static void test_x264_region(void) {
	zt_section("wf-recorder, default codec (libx264), -g region");
	char dir[256];
	struct zt_compositor comp;
	if (!demo_start(&comp, dir, sizeof(dir))) {
		return;
	}
	ZT_CHECK(zt_cmd(&comp, "rect mark2 %d %d %d %d %06xff", MARK2_X, MARK2_Y, MARK2_W, MARK2_H,
		MARK2_RGB), "rect mark2: %s", comp.reply);
	char geometry[64];
	snprintf(geometry, sizeof(geometry), "%d,%d %dx%d", REGION_X, REGION_Y, REGION_W, REGION_H);
	const char *argv[] = {"wf-recorder", "-g", geometry, "-f", "clip.mp4", NULL};
	double seconds = record(&comp, dir, argv);

	/* The demo rect leaves the region at times: no damage, no frames. */
	uint8_t *frames;
	int n;
	if (check_video(dir, "clip.mp4", "h264", REGION_W, REGION_H, seconds, 0.3, &frames, &n)) {
		size_t size = (size_t)REGION_W * REGION_H * 3;
		/*
		 * Lossy: H.264 at its default quality in 4:2:0. The static rect's
		 * inside (4 px from its edges, clear of chroma bleeding) must stay
		 * within 40 per channel of its colour, which no other colour of the
		 * scene is. Consecutive frames differ by a mean of more than 0.5
		 * per byte, except (at most a quarter of them) while the demo rect
		 * passes the region's edge, where only a sliver of it is inside.
		 */
		int mark_bad = 0, same = 0;
		for (int i = 0; i < n; i++) {
			struct ct_image frame = {REGION_W, REGION_H, frames + i * size};
			for (int y = MARK2_Y + 4; y < MARK2_Y + MARK2_H - 4; y++) {
				for (int x = MARK2_X + 4; x < MARK2_X + MARK2_W - 4; x++) {
					uint32_t got = ct_image_pixel(&frame, x - REGION_X, y - REGION_Y);
					int d = 0;
					for (int s = 0; s <= 16; s += 8) {
						int c = abs_diff((got >> s) & 0xff, (MARK2_RGB >> s) & 0xff);
						d = c > d ? c : d;
					}
					if (d > 40 && mark_bad++ == 0) {
						fprintf(stderr, "  frame %d: %d,%d is %06x, expected about "
							"%06x\n", i, x, y, got, MARK2_RGB);
					}
				}
			}
			if (i > 0) {
				const uint8_t *a = frames + i * size, *b = a - size;
				uint64_t sum = 0;
				for (size_t k = 0; k < size; k++) {
					sum += abs_diff(a[k], b[k]);
				}
				same += 2 * sum <= size;
			}
		}
		ZT_CHECK(n > 0 && mark_bad == 0, "the static rect is off in %d pixels", mark_bad);
		ZT_CHECK(n > 1 && same <= (n - 1) / 4, "%d of %d consecutive frames barely differ",
			same, n - 1);
		free(frames);
	}
	ct_tmpdir_remove(dir);
}

int main(void) {
	static const char *const programs[] = {"wf-recorder", "ffprobe", "ffmpeg"};
	bool have_all = true;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed (Debian packages wf-recorder, ffmpeg)",
			programs[i]);
		have_all = have_all && have;
	}
	if (have_all) {
		test_rawvideo();
		test_x264_region();
	}
	return zt_finish();
}
