/*
 * OBS Studio records the reference compositor (obs-stack.h): Debian's OBS,
 * its own "Screen Capture (PipeWire)" source (linux-pipewire.so) through
 * xdg-desktop-portal and xdg-desktop-portal-zerocap. Two compositors: the
 * one that is recorded (--demo: a solid rect that moves and changes colour
 * at ~30 Hz, a static mark, a grey patch with the cursor on it), and one that
 * OBS's own window lives on, so that the recorded one can die under OBS.
 *
 * - an output, cursor shown, then hidden live (ShowCursor through
 *   obs-websocket): the chooser is asked once, the recording is the
 *   output's size, every frame after OBS's black start shows the mark and
 *   the grey patch, one solid demo rect of its size, moving; the arrow is
 *   there, then gone for good, in one session; the collection saved on
 *   quit holds a restore token;
 * - OBS started again on that collection: no chooser, the output recorded;
 * - a window (the chooser names it): the window's content at the canvas'
 *   origin, its animated square moving;
 * - the recorded compositor killed mid-recording: OBS lives, stops the
 *   recording cleanly through obs-websocket, and the file decodes, with
 *   the output in it up to the kill.
 *
 * Pixels come from the recording, decoded by ffmpeg (x264, 4:4:4, full
 * range: lossy, so colours are checked with a tolerance, away from edges).
 * Without a GPU OBS renders with llvmpipe and takes shm (memfd BGRx) frames.
 *
 * Built with ZT_OBS_GPU (test gpu-obs-zerocap, the plugin's sections in the
 * VM of tests/vm, both compositors on GLES2): a 320x240 output, and each
 * capture must take dma-bufs that OBS imports (check_imports); the motion
 * checks are left out there (see MOTION_CHECKED).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "arrow.h"
#include "obs-stack.h"
#include "window-pattern.h"
#include "window.h"

#ifdef ZT_OBS_GPU
/* In the emulated VM: a quarter of the pixels, for OBS's llvmpipe and x264. */
#define OUTPUT_W 320
#define OUTPUT_H 240
#define OUTPUT_SIZE "320x240"
#define DEMO_W 64 /* --demo-damage 4: a fifth of each side */
#define DEMO_H 48
#define MARK_X 16
#define MARK_Y 16
#define MARK_W 32
#define MARK_H 32
#define PATCH_X 200
#define PATCH_Y 120
#define WINDOW_W 160
#define WINDOW_H 120
#else
#define OUTPUT_W 640
#define OUTPUT_H 480
#define OUTPUT_SIZE "640x480"
#define DEMO_W 128 /* --demo-damage 4: a fifth of each side */
#define DEMO_H 96
#define MARK_X 24
#define MARK_Y 24
#define MARK_W 48
#define MARK_H 48
#define PATCH_X 400
#define PATCH_Y 300
#define WINDOW_W 320
#define WINDOW_H 240
#endif
#define MARK_RGB 0x00c000u
#define PATCH_W 64
#define PATCH_H 64
#define PATCH_RGB 0x808080u
#define CURSOR_X (PATCH_X + 16)
#define CURSOR_Y (PATCH_Y + 16)
#define TOLERANCE 40
#ifdef ZT_OBS_GPU
/*
 * Under emulation OBS, x264 and the compositors share two slow vCPUs: OBS
 * records fewer frames, and the recorded compositor's demo and the window
 * client's square hardly move while OBS records (measured: the demo rect
 * moved once in 4 s, while OBS imported 6-7 new dma-bufs a second from it).
 * What is checked there is the path the frames took (dma-bufs, imported
 * over and over) and their pixels, not the motion.
 */
#define MIN_FPS 15
#define MOTION_CHECKED false
#define MIN_DURATION 0.5 /* of the time recorded: OBS falls behind */
#define REGION_MS 8000 /* its first seconds came black in the VM (not understood) */
#define TAIL_MS 6000
#define RESTART_MS 60000 /* the compositor loads Mesa again */
#else
#define MIN_FPS 30
#define MOTION_CHECKED true
#define MIN_DURATION 1.0
#define REGION_MS 3000
#define TAIL_MS 3000
#define RESTART_MS 15000
#endif

static int channel(uint32_t rgb, int shift) {
	return (int)((rgb >> shift) & 0xff);
}

static int distance(uint32_t a, uint32_t b) {
	int d = 0;
	for (int shift = 0; shift <= 16; shift += 8) {
		int c = abs(channel(a, shift) - channel(b, shift));
		d = c > d ? c : d;
	}
	return d;
}

static int luma(uint32_t rgb) {
	return (channel(rgb, 16) * 3 + channel(rgb, 8) * 6 + channel(rgb, 0)) / 10;
}

/* Pixels of the box (inset by 3) further than TOLERANCE from rgb. */
static int box_wrong(const struct ct_image *image, int x, int y, int w, int h, uint32_t rgb) {
	int wrong = 0;
	for (int j = y + 3; j < y + h - 3; j++) {
		for (int i = x + 3; i < x + w - 3; i++) {
			wrong += distance(ct_image_pixel(image, i, j), rgb) > TOLERANCE;
		}
	}
	return wrong;
}

/* OBS's black start: hardly a pixel above black (the scene's background is 0x202020). */
static bool black(const struct ct_image *image) {
	int lit = 0, all = 0;
	for (int y = 0; y < image->height; y += 4) {
		for (int x = 0; x < image->width; x += 4) {
			lit += luma(ct_image_pixel(image, x, y)) > 16;
			all++;
		}
	}
	return lit * 100 < all;
}

/* Whether the arrow is drawn at the cursor: most arrow pixels nearer it than the patch. */
static int arrow_share_at(const struct ct_image *image, int cx, int cy) {
	int near = 0, all = 0;
	for (int y = 1; y < ZT_ARROW_HEIGHT - 1; y++) {
		for (int x = 1; x < ZT_ARROW_WIDTH - 1; x++) {
			uint32_t arrow = zt_arrow_argb(x, y);
			if (arrow == 0) {
				continue;
			}
			int got = luma(ct_image_pixel(image, cx + x, cy + y));
			int want = luma(arrow & 0xffffff);
			all++;
			near += abs(got - want) < abs(got - luma(PATCH_RGB));
		}
	}
	return all > 0 ? near * 100 / all : 0;
}

static int arrow_share(const struct ct_image *image) {
	return arrow_share_at(image, CURSOR_X, CURSOR_Y);
}

static bool in_box(int x, int y, int bx, int by, int bw, int bh, int margin) {
	return x >= bx - margin && x < bx + bw + margin && y >= by - margin && y < by + bh + margin;
}

struct demo_rect {
	int x, y, w, h;
	uint32_t rgb; /* at its centre */
	int off; /* pixels inside the box that are not its colour */
};

/* The box of what is not the background, away from the static rects. */
static bool find_demo(const struct ct_image *image, struct demo_rect *rect) {
	int x1 = image->width, y1 = image->height, x2 = -1, y2 = -1;
	for (int y = 0; y < image->height; y++) {
		for (int x = 0; x < image->width; x++) {
			if (in_box(x, y, MARK_X, MARK_Y, MARK_W, MARK_H, 4) ||
					in_box(x, y, PATCH_X, PATCH_Y, PATCH_W, PATCH_H, 4)) {
				continue;
			}
			if (distance(ct_image_pixel(image, x, y), CT_BACKGROUND) > 12) {
				x1 = x < x1 ? x : x1;
				y1 = y < y1 ? y : y1;
				x2 = x > x2 ? x : x2;
				y2 = y > y2 ? y : y2;
			}
		}
	}
	if (x2 < 0) {
		return false;
	}
	rect->x = x1;
	rect->y = y1;
	rect->w = x2 - x1 + 1;
	rect->h = y2 - y1 + 1;
	/* Its colour: the first pixel inside that no static rect covers. */
	rect->rgb = CT_BACKGROUND;
	for (int y = y1 + 3, found = 0; y <= y2 - 3 && !found; y++) {
		for (int x = x1 + 3; x <= x2 - 3 && !found; x++) {
			found = !in_box(x, y, MARK_X, MARK_Y, MARK_W, MARK_H, 4) &&
				!in_box(x, y, PATCH_X, PATCH_Y, PATCH_W, PATCH_H, 4);
			rect->rgb = found ? ct_image_pixel(image, x, y) : rect->rgb;
		}
	}
	rect->off = 0;
	for (int y = y1 + 3; y <= y2 - 3; y++) {
		for (int x = x1 + 3; x <= x2 - 3; x++) {
			if (!in_box(x, y, MARK_X, MARK_Y, MARK_W, MARK_H, 4) &&
					!in_box(x, y, PATCH_X, PATCH_Y, PATCH_W, PATCH_H, 4)) {
				rect->off += distance(ct_image_pixel(image, x, y), rect->rgb) > TOLERANCE;
			}
		}
	}
	return true;
}

/*
 * Whether the rect borders the mark or the patch: those are drawn over the
 * demo rect, so what shows of it ends there.
 */
static bool borders_static(const struct demo_rect *rect) {
	const int m = 6;
	const int zones[2][4] = {{MARK_X, MARK_Y, MARK_W, MARK_H},
		{PATCH_X, PATCH_Y, PATCH_W, PATCH_H}};
	for (int i = 0; i < 2; i++) {
		const int *z = zones[i];
		if (rect->x - m < z[0] + z[2] && rect->x + rect->w + m > z[0] &&
				rect->y - m < z[1] + z[3] && rect->y + rect->h + m > z[1]) {
			return true;
		}
	}
	return false;
}

struct output_result {
	int content; /* frames after the black start */
	int good; /* of those: mark, patch and one solid demo rect of its size */
	int positions; /* times the demo rect moved between frames */
	int with_cursor, cursor_changes;
	bool cursor_first, cursor_last;
};

/* The recording of the output; the first bad frames are described. */
static void check_output_frames(const struct ct_video *video, struct output_result *r) {
	memset(r, 0, sizeof(*r));
	int last_x = -1, last_y = -1, reported = 0;
	int last_cursor = -1;
	for (int i = 0; i < video->frames; i++) {
		struct ct_image frame = ct_video_frame(video, i);
		if (r->content == 0 && black(&frame)) {
			continue;
		}
		r->content++;
		struct demo_rect demo;
		bool found = find_demo(&frame, &demo);
		int mark = box_wrong(&frame, MARK_X, MARK_Y, MARK_W, MARK_H, MARK_RGB);
		/* The patch below the arrow. */
		int below = CURSOR_Y - PATCH_Y + ZT_ARROW_HEIGHT + 2;
		int patch = box_wrong(&frame, PATCH_X, PATCH_Y + below, PATCH_W, PATCH_H - below,
			PATCH_RGB);
		/*
		 * x264 rings around the moving edges: the box found is a few pixels
		 * larger. Where the mark or the patch covers part of the rect, less of it
		 * shows, never more.
		 */
		bool sized = found && ((abs(demo.w - DEMO_W) <= 8 && abs(demo.h - DEMO_H) <= 8) ||
			(borders_static(&demo) && demo.w <= DEMO_W + 8 && demo.h <= DEMO_H + 8));
		bool good = mark == 0 && patch == 0 && sized && demo.off == 0;
		r->good += good;
		if (!good && reported++ < 3) {
			fprintf(stderr, "  frame %d: mark %d and patch %d pixels off; demo rect %s "
				"%d,%d %dx%d %06x (%d pixels off its colour)\n", i, mark, patch,
				found ? "at" : "not found", demo.x, demo.y, demo.w, demo.h, demo.rgb,
				found ? demo.off : 0);
		}
		if (found && (demo.x != last_x || demo.y != last_y)) {
			r->positions += last_x >= 0;
			last_x = demo.x;
			last_y = demo.y;
		}
		int share = arrow_share(&frame);
		int cursor = share >= 70 ? 1 : share <= 20 ? 0 : -1;
		if (cursor < 0) {
			continue; /* the demo rect under the arrow's edge: undecided */
		}
		r->with_cursor += cursor;
		if (last_cursor < 0) {
			r->cursor_first = cursor;
		} else if (cursor != last_cursor) {
			r->cursor_changes++;
		}
		last_cursor = cursor;
		r->cursor_last = cursor;
	}
	fprintf(stderr, "  %d content frames, %d good, the demo rect moved %d times; cursor in "
		"%d, first %d, last %d, %d changes\n", r->content, r->good, r->positions,
		r->with_cursor, r->cursor_first, r->cursor_last, r->cursor_changes);
}

static void check_recorded_output(const struct ct_video *video, const struct output_result *r,
		double seconds, const char *what) {
	ZT_CHECK(video->width == OUTPUT_W && video->height == OUTPUT_H,
		"%s: the recording is %dx%d (got %dx%d)", what, OUTPUT_W, OUTPUT_H, video->width,
		video->height);
	/* 30 fps (MIN_FPS), from OBS's black start (about a second) on. */
	ZT_CHECK(video->duration >= seconds * MIN_DURATION &&
		r->content >= (int)((seconds - 1.5) * MIN_FPS),
		"%s: %d frames with content in %.2f s recorded for %.1f s", what, r->content,
		video->duration, seconds);
	ZT_CHECK(r->good >= r->content * 95 / 100 && r->good > 0,
		"%s: %d of %d frames show the output", what, r->good, r->content);
	/* The demo rect moves at ~30 Hz; OBS samples it at 30 fps. */
	if (MOTION_CHECKED) {
		ZT_CHECK(r->positions >= r->content / 3,
			"%s: the demo rect moved %d times in %d frames", what, r->positions, r->content);
	}
}

#if defined(ZT_OBS_GPU) && !defined(ZT_OBS_PLUGIN)
#error "ZT_OBS_GPU is the plugin's test"
#endif
#ifdef ZT_OBS_PLUGIN
static const bool plugin = true;
#define CURSOR_KEY "show_cursor"
#else
static const bool plugin = false;
#define CURSOR_KEY "ShowCursor"
#endif
static char recorded_display[300]; /* the recorded compositor's socket, absolute */

/*
 * The source under test: OBS's PipeWire screen capture (the portal's
 * chooser picks output or window), or obs-zerocap's source of kind
 * ("output", "window", "region") on target with more settings in extra.
 */
static void source_options(struct ct_obs_options *options, const char *kind,
		const char *target, bool cursor, const char *extra) {
	static char id[64], settings[1024];
	*options = (struct ct_obs_options){.width = OUTPUT_W, .height = OUTPUT_H};
	if (!plugin) {
		options->source_id = "pipewire-screen-capture-source";
		snprintf(settings, sizeof(settings), "\"ShowCursor\": %s", cursor ? "true" : "false");
	} else {
		snprintf(id, sizeof(id), "zerocap-%s-capture", kind);
		options->source_id = id;
		snprintf(settings, sizeof(settings), "\"display\": \"%s\", \"target\": \"%s\", "
			"\"show_cursor\": %s%s", recorded_display, target, cursor ? "true" : "false",
			extra != NULL ? extra : "");
		options->plugin_dir = getenv("ZC_OBS_PLUGIN_DIR");
		options->plugin_name = "obs-zerocap";
	}
#ifdef ZT_OBS_GPU
	options->start_ms = 240000; /* OBS's first start reads Qt and Mesa over 9p */
	options->stop_ms = 90000; /* OBS ends a recording late in the guest (20 s was short) */
#endif
	options->settings = settings;
}

static int count_lines(const char *dir, const char *file, const char *text) {
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	int n = 0;
	char line[1024];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		n += strstr(line, text) != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	return n;
}

#ifdef ZT_OBS_GPU
/* The sum of the numbers that follow prefix on the lines of file; -1 if no line has it. */
static int sum_after(const char *dir, const char *file, const char *prefix) {
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	int sum = -1;
	char line[1024];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *at = strstr(line, prefix);
		if (at != NULL) {
			sum = (sum < 0 ? 0 : sum) + atoi(at + strlen(prefix));
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return sum;
}
#endif

/*
 * In the VM (ZT_OBS_GPU): every one of the captures OBS made took dma-bufs
 * and its renderer imported them (gs_texture_create_from_dmabuf), with no
 * fallback to shm. A no-op elsewhere: there the compositor (pixman) offers
 * only shm.
 */
static void check_imports(struct ct_stack *stack, struct ct_obs *obs, int captures,
		const char *what) {
#ifdef ZT_OBS_GPU
	bool can = ct_file_contains(stack->dir, obs->log,
		"[obs-zerocap] OBS's renderer can import dma-bufs");
	int dmabuf = count_lines(stack->dir, obs->log, "[obs-zerocap] frames in dma-bufs");
	int shm = count_lines(stack->dir, obs->log, "[obs-zerocap] frames in shm");
	int imports = count_lines(stack->dir, obs->log, "[obs-zerocap] importing dma-bufs (");
	int failed = count_lines(stack->dir, obs->log, "[obs-zerocap] cannot import a dma-buf");
	int explicit = count_lines(stack->dir, obs->log, "explicit sync)");
	/* Logged when OBS destroys the source (not if OBS crashed before that). */
	int frames = sum_after(stack->dir, obs->log, "[obs-zerocap] imported ");
	/* What OBS rendered of the frames it recorded (the rest repeat the last one). */
	int drawn = sum_after(stack->dir, obs->log, "Total drawn frames: ");
	fprintf(stderr, "  %s: %d captures in dma-bufs, %d in shm, %d imported (%d with explicit "
		"sync), %d failed imports; %d dma-buf frames imported in all; OBS drew %d frames\n",
		what, dmabuf, shm, imports, explicit, failed, frames, drawn);
	ZT_CHECK(can, "%s: OBS's renderer (EGL) can import dma-bufs", what);
	ZT_CHECK(dmabuf == captures && shm == 0, "%s: the %d capture(s) took dma-bufs (%d; %d in "
		"shm)", what, captures, dmabuf, shm);
	ZT_CHECK(imports == captures && failed == 0, "%s: OBS imported the dma-bufs of each "
		"capture (%d of %d; %d failed)", what, imports, captures, failed);
	/*
	 * Not only the first frame of each: the import runs for every new frame
	 * (measured: 4 to 8 in 8 s of a region at 10 fps, where little moves;
	 * 11 to 47 in 7 to 11 s of an output).
	 */
	ZT_CHECK(frames < 0 || frames >= 2 * captures, "%s: %d dma-bufs imported in %d "
		"capture(s)", what, frames, captures);
	if (frames < 0) {
		fprintf(stderr, "  note: OBS did not log its frame count (it died before it "
			"destroyed the source)\n");
	}
	if (!can || dmabuf != captures || shm != 0 || imports != captures || failed != 0) {
		ct_print_log(stack->dir, obs->log);
	}
#else
	(void)stack;
	(void)obs;
	(void)captures;
	(void)what;
#endif
}

static bool read_video(struct ct_stack *stack, struct ct_obs *obs, struct ct_video *video) {
	bool ok = ct_video_read(stack->dir, obs->recording, video);
	if (!ok) {
		ct_print_log(stack->dir, obs->log);
	}
	return ok;
}

/* Starts OBS, lets it record for ms; returns the seconds it recorded (0: it did not). */
static double record(struct ct_obs *obs, struct ct_stack *stack, const char *socket,
		int ms) {
	if (!ct_obs_start(obs, stack, socket)) {
		return 0;
	}
	long start = ct_now_ms();
	usleep((useconds_t)ms * 1000);
	return (ct_now_ms() - start) / 1000.0;
}

/* record() with a fresh configuration for options. */
static double record_new(struct ct_obs *obs, struct ct_stack *stack, const char *socket,
		const struct ct_obs_options *options, int ms) {
	return ct_obs_setup(obs, stack, options) ? record(obs, stack, socket, ms) : 0;
}

static void test_output(struct ct_stack *stack, const char *socket) {
	zt_section("an output, the cursor shown and then hidden live");
	struct ct_obs obs;
	struct ct_obs_options options;
	source_options(&options, "output", "HEADLESS-1", true, NULL);
	if (!ct_obs_setup(&obs, stack, &options)) {
		return;
	}
	int sessions = count_lines(stack->dir, "backend.log", "zerocap-portal: session ");
	double seconds = record(&obs, stack, socket, 4000);
	if (seconds <= 0) {
		return;
	}
	const char *screenshot = getenv("ZT_OBS_SCREENSHOT");
	if (screenshot != NULL && !plugin) {
		/* docs/obs.md's picture: OBS's own output, with zerocap-shot. */
		const char *argv[] = {getenv("ZC_SHOT"), "-q", screenshot, NULL};
		ZT_CHECK(ct_run(stack->dir, socket, argv, 20000, "zerocap-shot.log"),
			"zerocap-shot of OBS's compositor into %s", screenshot);
	}
	char reply[1024];
	ZT_CHECK(ct_obs_request(&obs, "SetInputSettings", "{\"inputName\": \"" CT_OBS_SOURCE
		"\", \"inputSettings\": {\"" CURSOR_KEY "\": false}}", reply, sizeof(reply)),
		"SetInputSettings " CURSOR_KEY " false: %s", reply);
	/* In the VM OBS draws few frames: the change shows seconds later. */
	usleep(TAIL_MS * 1000);
	seconds += TAIL_MS / 1000.0;
	ct_obs_stop_recording(&obs);
	ct_obs_quit(&obs, stack);
	check_imports(stack, &obs, 1, "output");
	struct ct_video video;
	struct output_result r;
	if (read_video(stack, &obs, &video)) {
		check_output_frames(&video, &r);
		check_recorded_output(&video, &r, seconds, "output");
		ZT_CHECK(r.cursor_first && !r.cursor_last && r.cursor_changes == 1,
			"the arrow is drawn, then gone (first %d, last %d, %d changes)", r.cursor_first,
			r.cursor_last, r.cursor_changes);
		ct_video_finish(&video);
	}
	if (plugin) {
		/* The cursor is OBS's to draw: no new capture for it. */
		int captures = count_lines(stack->dir, obs.log, "[obs-zerocap] capturing HEADLESS-1");
		ZT_CHECK(captures == 1, "one capture, the cursor toggled in OBS (%d)", captures);
		return;
	}
	ZT_CHECK(ct_stack_chooser_asked(stack) == 1, "the chooser was asked once (%d)",
		ct_stack_chooser_asked(stack));
	/* One session and one stream through the toggle ("session ... for", "... streams"). */
	sessions = count_lines(stack->dir, "backend.log", "zerocap-portal: session ") - sessions;
	ZT_CHECK(sessions == 2, "one portal session for both cursor settings (%d log lines)",
		sessions);
	ZT_CHECK(ct_file_contains(stack->dir, "config/obs-studio/basic/scenes/zerocap.json",
		"\"RestoreToken\": \"") &&
		!ct_file_contains(stack->dir, "config/obs-studio/basic/scenes/zerocap.json",
		"\"RestoreToken\": \"\""), "the saved collection holds a restore token");
	zt_section("the saved collection reopens without the chooser");
	seconds = record(&obs, stack, socket, 3000);
	if (seconds <= 0) {
		return;
	}
	ct_obs_stop_recording(&obs);
	ct_obs_quit(&obs, stack);
	ZT_CHECK(ct_stack_chooser_asked(stack) == 1, "the chooser was not asked again (%d)",
		ct_stack_chooser_asked(stack));
	if (read_video(stack, &obs, &video)) {
		check_output_frames(&video, &r);
		check_recorded_output(&video, &r, seconds, "restored");
		ZT_CHECK(r.with_cursor == 0, "ShowCursor false was saved: no arrow (%d frames)",
			r.with_cursor);
		ct_video_finish(&video);
	}
}

static void test_window(struct zt_compositor *comp, struct ct_stack *stack,
		const char *socket) {
	zt_section("a window");
	struct zt_window win;
	char size[32];
	snprintf(size, sizeof(size), "%dx%d", WINDOW_W, WINDOW_H);
	const char *args[] = {"--size", size, "--animate", "4", NULL};
	if (!zt_window_start(&win, comp, "zt.obs", args)) {
		ZT_CHECK(false, "the window client started");
		return;
	}
	ZT_CHECK(zt_cmd(comp, "window-move %d 200 150", win.id), "window-move");
	int asked = ct_stack_chooser_asked(stack);
	ZT_CHECK(plugin || ct_stack_write(stack, "choice", "window:zt.obs\n"), "choice");
	struct ct_obs obs;
	struct ct_obs_options options;
	source_options(&options, "window", "zt.obs", false, NULL);
	double seconds = record_new(&obs, stack, socket, &options, 3000);
	if (seconds > 0) {
		ct_obs_stop_recording(&obs);
		ct_obs_quit(&obs, stack);
		check_imports(stack, &obs, 1, "window");
	}
	ZT_CHECK(ct_stack_chooser_asked(stack) == asked + !plugin,
		"the chooser was asked (the portal only)");
	struct ct_video video;
	if (seconds > 0 && read_video(stack, &obs, &video)) {
		int content = 0, good = 0, changes = 0, reported = 0;
		uint32_t last = 0;
		for (int i = 0; i < video.frames; i++) {
			struct ct_image frame = ct_video_frame(&video, i);
			if (content == 0 && black(&frame)) {
				continue;
			}
			content++;
			/* The pattern in the window's lower half, away from the square's row. */
			int wrong = 0;
			for (int y = WINDOW_H / 2 + 20; y < WINDOW_H - 4; y += 3) {
				for (int x = 4; x < WINDOW_W - 4; x += 3) {
					uint32_t want = zt_window_pattern(x, y, 0) & 0xffffff;
					wrong += distance(ct_image_pixel(&frame, x, y), want) > TOLERANCE;
				}
			}
			/* Outside the window: the canvas' black. */
			wrong += box_wrong(&frame, WINDOW_W + 8, 0, OUTPUT_W - WINDOW_W - 8, OUTPUT_H,
				0x000000);
			good += wrong == 0;
			if (wrong > 0 && reported++ < 3) {
				fprintf(stderr, "  frame %d: %d pixels off\n", i, wrong);
			}
			/* The square moves along the window's top. */
			uint32_t hash = 0;
			for (int x = 0; x < WINDOW_W; x++) {
				hash = hash * 31 + (ct_image_pixel(&frame, x, 8) >> 20);
			}
			changes += content > 1 && hash != last;
			last = hash;
		}
		fprintf(stderr, "  window: %d content frames, %d good, %d changed\n", content, good,
			changes);
		ZT_CHECK(content >= (int)((seconds - 1.5) * MIN_FPS),
			"window: %d frames with content", content);
		ZT_CHECK(good >= content * 95 / 100 && good > 0,
			"window: %d of %d frames show the window", good, content);
		/*
		 * ~30 moves a second; one run on a loaded machine gave 20 in 94 frames
		 * (the cause was not found).
		 */
		if (MOTION_CHECKED) {
			ZT_CHECK(changes >= content / 6, "window: the square moved (%d changes)",
				changes);
		}
		ct_video_finish(&video);
	}
	ct_stack_remove(stack, "choice");
	zt_window_stop(&win);
}

/* Region REGION_X, REGION_Y, REGION_W x REGION_H of the output, scaled by half. */
#define REGION_X 16
#define REGION_Y 16
#define REGION_W (OUTPUT_W * 3 / 4)
#define REGION_H (OUTPUT_H * 3 / 4)
#define HALF(v, origin) (((v) - (origin)) / 2)

/* Whether the picture in w x h changed more than the encoder's noise between a and b. */
static bool moved(const struct ct_image *a, const struct ct_image *b, int w, int h) {
	int changed = 0;
	for (int y = 0; y < h; y += 2) {
		for (int x = 0; x < w; x += 2) {
			changed += distance(ct_image_pixel(a, x, y), ct_image_pixel(b, x, y)) > 48;
		}
	}
	return changed > 20;
}

static void test_region(struct ct_stack *stack, const char *socket) {
	zt_section("a region of the output, scaled to half its size, at most 10 frames a second");
	char extra[256];
	snprintf(extra, sizeof(extra), ", \"x\": %d, \"y\": %d, \"width\": %d, \"height\": %d, "
		"\"out_width\": %d, \"out_height\": %d, \"max_fps\": 10", REGION_X, REGION_Y,
		REGION_W, REGION_H, REGION_W / 2, REGION_H / 2);
	struct ct_obs obs;
	struct ct_obs_options options;
	source_options(&options, "region", "HEADLESS-1", true, extra);
	double seconds = record_new(&obs, stack, socket, &options, REGION_MS);
	if (seconds <= 0) {
		return;
	}
	ct_obs_stop_recording(&obs);
	ct_obs_quit(&obs, stack);
	check_imports(stack, &obs, 1, "region");
	struct ct_video video;
	if (!read_video(stack, &obs, &video)) {
		return;
	}
	int content = 0, good = 0, changes = 0, cursor = 0, reported = 0;
	int w = REGION_W / 2, h = REGION_H / 2;
	for (int i = 0; i < video.frames; i++) {
		struct ct_image frame = ct_video_frame(&video, i);
		if (content == 0 && black(&frame)) {
			continue;
		}
		content++;
		int mark = box_wrong(&frame, HALF(MARK_X, REGION_X), HALF(MARK_Y, REGION_Y),
			MARK_W / 2, MARK_H / 2, MARK_RGB);
		int outside = box_wrong(&frame, w + 4, 0, OUTPUT_W - w - 4, OUTPUT_H, 0x000000) +
			box_wrong(&frame, 0, h + 4, w + 4, OUTPUT_H - h - 4, 0x000000);
		good += mark == 0 && outside == 0;
		if ((mark != 0 || outside != 0) && reported++ < 3) {
			fprintf(stderr, "  frame %d: mark %d pixels off, %d outside the region\n", i, mark,
				outside);
		}
		/* The arrow at its place in the scaled region, drawn at its own size. */
		cursor += arrow_share_at(&frame, HALF(CURSOR_X, REGION_X),
			HALF(CURSOR_Y, REGION_Y)) >= 70;
		if (content > 1) {
			struct ct_image previous = ct_video_frame(&video, i - 1);
			changes += moved(&previous, &frame, w, h);
		}
	}
	fprintf(stderr, "  region: %d content frames, %d good, %d with the arrow, %d changed\n",
		content, good, cursor, changes);
	ZT_CHECK(content >= (int)((seconds - 1.5) * MIN_FPS), "region: %d frames with content",
		content);
	ZT_CHECK(good >= content * 95 / 100 && good > 0, "region: %d of %d frames show it", good,
		content);
	ZT_CHECK(cursor >= content * 95 / 100, "region: the arrow in %d of %d frames", cursor,
		content);
	/* 30 Hz content, 10 frames a second from the compositor, 30 fps recorded. */
	ZT_CHECK((!MOTION_CHECKED || changes >= content / 5) && changes <= content / 2,
		"region: the picture changed in %d of %d frames (about a third)", changes, content);
	ct_video_finish(&video);
}

static void apply_scene(struct zt_compositor *comp) {
	ZT_CHECK(zt_cmd(comp, "rect mark %d %d %d %d %06xff", MARK_X, MARK_Y, MARK_W, MARK_H,
		MARK_RGB) && zt_cmd(comp, "rect patch %d %d %d %d %06xff", PATCH_X, PATCH_Y,
		PATCH_W, PATCH_H, PATCH_RGB) && zt_cmd(comp, "cursor %d %d", CURSOR_X, CURSOR_Y) &&
		zt_cmd(comp, "cursor show"), "the scene: %s", comp->reply);
}

static void test_compositor_killed(struct zt_compositor *comp, struct ct_stack *stack,
		const char *socket) {
	zt_section("the recorded compositor killed mid-recording");
	struct ct_obs obs;
	struct ct_obs_options options;
	source_options(&options, "output", "HEADLESS-1", true, NULL);
	double seconds = record_new(&obs, stack, socket, &options, 3000);
	if (seconds <= 0) {
		return;
	}
	kill(comp->pid, SIGKILL);
	waitpid(comp->pid, NULL, 0);
	comp->pid = -1;
	usleep(2000000);
	ZT_CHECK(ct_obs_alive(&obs), "OBS lives on");
	ZT_CHECK(ct_obs_recording(&obs), "OBS still records and answers");
	if (plugin) {
		/* The compositor back on the same socket: the source connects again. */
		char name[64];
		snprintf(name, sizeof(name), "%s", comp->socket);
		const char *args[] = {"--output", OUTPUT_SIZE, "--demo-damage", "4", "--socket", name,
			NULL};
		if (zt_compositor_start(comp, args)) {
			snprintf(comp->socket, sizeof(comp->socket), "%s", name);
			apply_scene(comp);
		}
		/* It tries every second; a loaded machine starts the compositor slowly. */
		const char *again = "[obs-zerocap] capturing HEADLESS-1";
		int captures = 0;
		for (long start = ct_now_ms(); captures < 2 && ct_now_ms() - start < RESTART_MS;) {
			usleep(200000);
			captures = count_lines(stack->dir, obs.log, again);
		}
		ZT_CHECK(captures == 2, "the source connected and captures again (%d captures)",
			captures);
		usleep(TAIL_MS * 1000); /* the tail below: the new compositor's frames */
	}
	ct_obs_stop_recording(&obs);
	ct_obs_quit(&obs, stack);
	check_imports(stack, &obs, 2, "killed");
	struct ct_video video;
	if (read_video(stack, &obs, &video)) {
		struct output_result r;
		check_output_frames(&video, &r);
		ZT_CHECK(video.duration >= seconds + 1.5, "the file goes on after the kill (%.2f s)",
			video.duration);
		check_recorded_output(&video, &r, seconds, "killed");
		if (plugin) {
			/* The last 2 s are the new compositor's: the demo rect moves again. */
			struct ct_video tail = video;
			int skip = video.frames > 60 ? video.frames - 60 : 0;
			tail.frames -= skip;
			tail.rgb += (size_t)skip * video.width * video.height * 3;
			check_output_frames(&tail, &r);
			ZT_CHECK(r.good >= 57 && (!MOTION_CHECKED || r.positions >= 20),
				"after the restart: %d good frames of 60, %d moves", r.good, r.positions);
		}
		ct_video_finish(&video);
	}
}

int main(void) {
	if (!ct_have_program("obs") || !ct_have_program(CT_XDP) ||
			!ct_have_program("ffmpeg")) {
		fprintf(stderr, "obs, xdg-desktop-portal or ffmpeg missing\n");
		return 1;
	}
	char dir[256];
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return zt_finish();
	}
	struct zt_compositor recorded, desk;
	const char *recorded_args[] = {"--output", OUTPUT_SIZE, "--demo-damage", "4", NULL};
	const char *desk_args[] = {"--output", "1280x800", NULL};
	if (!zt_compositor_start(&recorded, recorded_args)) {
		return zt_finish();
	}
	if (!zt_compositor_start(&desk, desk_args)) {
		zt_compositor_stop(&recorded);
		return zt_finish();
	}
	apply_scene(&recorded);
	snprintf(recorded_display, sizeof(recorded_display), "%s/%s", getenv("XDG_RUNTIME_DIR"),
		recorded.socket);
	struct ct_stack stack = {0};
	snprintf(stack.dir, sizeof(stack.dir), "%s", dir);
	struct ct_stack_options options = {
		.backend = CT_BACKEND_ZEROCAP, .output = "HEADLESS-1", .max_fps = 60,
	};
	GDBusConnection *bus = NULL;
	if (ct_stack_start(&stack, &options, &recorded, &bus)) {
		test_output(&stack, desk.socket);
		test_window(&recorded, &stack, desk.socket);
		if (plugin) {
			test_region(&stack, desk.socket);
		}
		test_compositor_killed(&recorded, &stack, desk.socket);
		g_object_unref(bus);
		ct_stack_stop(&stack);
	}
	if (recorded.pid > 0) {
		zt_compositor_stop(&recorded);
	}
	ZT_CHECK(zt_compositor_alive(&desk), "OBS's compositor lives");
	zt_compositor_stop(&desk);
	int status = zt_finish();
	if (status != 0) {
		ct_print_log(dir, ct_backend_log(CT_BACKEND_ZEROCAP));
	}
	ct_tmpdir_remove(dir);
	return status;
}
