/*
 * grim against zerocap-compositor: full layout, one output (-o), a region
 * (-g), PNG and PPM (-t ppm), a rotated output, a flipped one, scale 2 and
 * two outputs side by side; the cursor (shown, over the background): with -c
 * the arrow pixel for pixel, without -c or once hidden none of it. grim
 * composes the layout itself from per-output images in each output
 * buffer's own orientation, so every image must be the upright scene, pixel
 * for pixel. grim only uses wl_shm, so this runs on the host (pixman).
 *
 * Which protocol grim speaks depends on its version, and every run's
 * WAYLAND_DEBUG log must show that one and no capture on the other:
 * - grim 1.5 (Debian sid; its help lists -T) takes ext-image-copy-capture-v1
 *   whenever the compositor offers it, which zerocap's always does, so
 *   wlr-screencopy stays unused and there is no wlroots baseline to compare
 *   with: its images are checked against the scene alone.
 * - grim 1.4 (trixie) speaks only wlr-screencopy: each layout is captured
 *   with --screencopy=zerocap and again with wlroots' own screencopy
 *   (--screencopy=wlroots); both must equal the scene and each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "clients.h"
#include "window-pattern.h"
#include "window.h"

#define GRIM "grim"

/* Inside 240x240 so that every layout below shows all of them. */
static const struct ct_rect base_rects[] = {
	{"red", 10, 20, 30, 40, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 20, 10, 0x0000ff},
	{"white", 0, 230, 7, 10, 0xffffff},
	{"yellow", 30, 50, 20, 20, 0xffff00}, /* over red */
};

/* With a second 320x240 output at 640,0. */
static const struct ct_rect two_output_rects[] = {
	{"red", 10, 20, 30, 40, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 20, 10, 0x0000ff},
	{"white", 0, 230, 7, 10, 0xffffff},
	{"yellow", 30, 50, 20, 20, 0xffff00},
	{"teal", 620, 100, 40, 20, 0x008080}, /* across both outputs */
	{"purple", 900, 200, 60, 40, 0x800080}, /* the second output's corner */
};

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct grim_case {
	const char *name;
	const char *args[6]; /* grim options before the file name */
	bool ppm;
	int x, y; /* layout origin of the image */
	int width, height; /* expected size in pixels */
	bool cursor; /* the arrow is expected */
	/* wlroots' screencopy draws only wlr_output cursors, unused here on headless */
	bool zerocap_only;
};

struct layout {
	const char *name;
	const char *outputs[3]; /* --output values */
	int scale;
	struct ct_output boxes[2];
	int n_boxes;
	const struct ct_rect *rects;
	int n_rects;
	const struct grim_case *cases;
	int n_cases;
};

static const struct grim_case one_output_cases[] = {
	{"full PNG", {NULL}, false, 0, 0, 640, 480, false, false},
	{"full PPM", {"-t", "ppm", NULL}, true, 0, 0, 640, 480, false, false},
	{"-o HEADLESS-1", {"-o", "HEADLESS-1", "-t", "ppm", NULL}, true, 0, 0, 640, 480, false,
		false},
	{"-g region", {"-g", "5,15 50x60", "-t", "ppm", NULL}, true, 5, 15, 50, 60, false, false},
	{"-c cursor", {"-c", "-t", "ppm", NULL}, true, 0, 0, 640, 480, true, true},
	{"-c -g region with the cursor", {"-c", "-g", "140,50 40x40", NULL}, false, 140, 50, 40, 40,
		true, true},
};

static const struct grim_case two_output_cases[] = {
	{"full layout", {"-t", "ppm", NULL}, true, 0, 0, 960, 480, false, false},
	{"-o HEADLESS-2", {"-o", "HEADLESS-2", "-t", "ppm", NULL}, true, 640, 0, 320, 240, false,
		false},
	{"-o HEADLESS-1", {"-o", "HEADLESS-1", NULL}, false, 0, 0, 640, 480, false, false},
	{"-g across both", {"-g", "600,90 100x50", "-t", "ppm", NULL}, true, 600, 90, 100, 50,
		false, false},
};

static const struct grim_case rotated_cases[] = {
	{"full", {"-t", "ppm", NULL}, true, 0, 0, 480, 640, false, false},
	{"-g region", {"-g", "190,190 60x60", NULL}, false, 190, 190, 60, 60, false, false},
	{"-c cursor", {"-c", "-t", "ppm", NULL}, true, 0, 0, 480, 640, true, true},
};

static const struct grim_case scaled_cases[] = {
	{"full", {"-t", "ppm", NULL}, true, 0, 0, 640, 480, false, false},
	{"-g region", {"-g", "5,15 50x60", NULL}, false, 5, 15, 100, 120, false, false},
};

static const struct layout layouts[] = {
	{"one output 640x480", {"640x480", NULL}, 1, {{0, 0, 640, 480}}, 1,
		base_rects, LEN(base_rects), one_output_cases, LEN(one_output_cases)},
	{"two outputs 640x480 + 320x240", {"640x480", "320x240", NULL}, 1,
		{{0, 0, 640, 480}, {640, 0, 320, 240}}, 2,
		two_output_rects, LEN(two_output_rects), two_output_cases, LEN(two_output_cases)},
	{"rotated 640x480:90", {"640x480:90", NULL}, 1, {{0, 0, 480, 640}}, 1,
		base_rects, LEN(base_rects), rotated_cases, LEN(rotated_cases)},
	{"flipped 640x480:flipped-270", {"640x480:flipped-270", NULL}, 1, {{0, 0, 480, 640}}, 1,
		base_rects, LEN(base_rects), rotated_cases, LEN(rotated_cases)},
	{"scale 2 640x480@2", {"640x480@2", NULL}, 2, {{0, 0, 320, 240}}, 1,
		base_rects, LEN(base_rects), scaled_cases, LEN(scaled_cases)},
};

#define MAX_CASES 8

/* The protocol grim is expected to speak (from its version, in main). */
static enum ct_protocol grim_protocol;

/* Where the cursor is for the whole test: over the background. */
#define CURSOR_X 150
#define CURSOR_Y 60

static bool images_equal(const struct ct_image *a, const struct ct_image *b) {
	return a->width == b->width && a->height == b->height &&
		memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3) == 0;
}

/* Runs one grim case; image gets what it wrote (kept for the cross-check). */
static void run_case(struct zt_compositor *comp, const char *dir, const struct layout *layout,
		const struct grim_case *c, const char *provider, struct ct_image *image) {
	char label[256];
	snprintf(label, sizeof(label), "%s, %s, %s", provider, layout->name, c->name);
	const char *file = c->ppm ? "shot.ppm" : "shot.png";
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);

	const char *argv[12] = {GRIM};
	int argc = 1;
	for (int i = 0; c->args[i] != NULL; i++) {
		argv[argc++] = c->args[i];
	}
	argv[argc++] = file;
	argv[argc] = NULL;
	char log_path[4096];
	snprintf(log_path, sizeof(log_path), "%s/grim.log", dir);
	unlink(log_path);
	static const char *const env[] = {"WAYLAND_DEBUG=1", NULL};
	bool ran = ct_run_env(dir, comp->socket, argv, env, 20000, "grim.log");
	ZT_CHECK(ran, "%s: grim failed", label);
	if (!ran) {
		return;
	}
	ct_check_protocol(dir, "grim.log", grim_protocol, label);
	bool read = c->ppm ? ct_read_ppm(path, image) : ct_read_png(path, image);
	ZT_CHECK(read, "%s: cannot decode grim's %s", label, file);
	if (!read) {
		return;
	}
	ZT_CHECK(image->width == c->width && image->height == c->height,
		"%s: image is %dx%d, expected %dx%d", label, image->width, image->height,
		c->width, c->height);
	if (image->width != c->width || image->height != c->height) {
		return;
	}
	struct ct_scene scene = {
		.rects = layout->rects, .n_rects = layout->n_rects,
		.outputs = layout->boxes, .n_outputs = layout->n_boxes,
		.cursor = c->cursor, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
	};
	struct ct_scene_view view = {
		.scene = &scene, .ox = c->x, .oy = c->y, .scale = layout->scale,
		.transform = WL_OUTPUT_TRANSFORM_NORMAL,
	};
	struct ct_compare cmp = {0};
	int bad = ct_compare_image(image, ct_scene_view_expect, &view, &cmp, label);
	ZT_CHECK(bad == 0 && cmp.checked > 0, "%s: %d of %d pixels differ from the scene", label,
		bad, cmp.checked);
}

static void run_layout(const struct layout *layout, const char *provider,
		struct ct_image images[MAX_CASES]) {
	char section[256];
	snprintf(section, sizeof(section), "grim, %s, --screencopy=%s", layout->name, provider);
	zt_section(section);
	char dir[256];
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return;
	}
	char screencopy[64];
	snprintf(screencopy, sizeof(screencopy), "--screencopy=%s", provider);
	const char *args[8] = {screencopy};
	int argc = 1;
	for (int i = 0; layout->outputs[i] != NULL; i++) {
		args[argc++] = "--output";
		args[argc++] = layout->outputs[i];
	}
	args[argc] = NULL;

	struct zt_compositor comp;
	if (!zt_compositor_start(&comp, args)) {
		ct_tmpdir_remove(dir);
		return;
	}
	struct ct_scene scene = {
		.rects = layout->rects, .n_rects = layout->n_rects,
		.cursor = true, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
	};
	ct_scene_apply(&comp, &scene);
	bool zerocap = strcmp(provider, "zerocap") == 0;
	for (int i = 0; i < layout->n_cases; i++) {
		if (layout->cases[i].zerocap_only && !zerocap) {
			continue;
		}
		run_case(&comp, dir, layout, &layout->cases[i], provider, &images[i]);
	}

	if (zerocap && layout->cases == one_output_cases) {
		/* A hidden cursor is not drawn, even with -c. */
		ZT_CHECK(zt_cmd(&comp, "cursor hide"), "cursor hide: %s", comp.reply);
		struct grim_case hidden = one_output_cases[4];
		hidden.name = "-c with the cursor hidden";
		hidden.cursor = false;
		struct ct_image image = {0};
		run_case(&comp, dir, layout, &hidden, provider, &image);
		ct_image_finish(&image);
	}
	ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor is still running", section);
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(dir);
}

/* grim 1.5 added -T (a toplevel) along with ext-image-copy-capture-v1. */
static bool grim_has_ext(void) {
	char dir[256];
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return false;
	}
	const char *argv[] = {GRIM, "-h", NULL};
	bool ran = ct_run(dir, NULL, argv, 10000, "help.txt");
	char path[512];
	snprintf(path, sizeof(path), "%s/help.txt", dir);
	FILE *f = fopen(path, "r");
	bool ext = false;
	char line[256];
	while (ran && f != NULL && fgets(line, sizeof(line), f) != NULL) {
		ext = ext || strncmp(line, "  -T ", 5) == 0;
	}
	if (f != NULL) {
		fclose(f);
	}
	ct_tmpdir_remove(dir);
	ZT_CHECK(ran, "grim -h failed");
	return ext;
}

/* grim -T IDENTIFIER on window app_id (logical w x h at scale): its own pixels, g. */
static void grim_window(struct zt_compositor *comp, struct zt_window *win, const char *what,
		int scale, int g) {
	char dir[256];
	if (!zt_window_refresh(win, comp) || win->identifier[0] == '\0' ||
			!ct_tmpdir(dir, sizeof(dir))) {
		ZT_CHECK(false, "%s: no identifier for the window (%s)", what, comp->reply);
		return;
	}
	const char *argv[] = {GRIM, "-T", win->identifier, "window.png", NULL};
	static const char *const env[] = {"WAYLAND_DEBUG=1", NULL};
	bool ran = ct_run_env(dir, comp->socket, argv, env, 20000, "grim.log");
	ZT_CHECK(ran, "%s: grim -T failed", what);
	char path[512];
	snprintf(path, sizeof(path), "%s/window.png", dir);
	struct ct_image image = {0};
	if (ran && ct_read_png(path, &image)) {
		ZT_CHECK(ct_file_contains(dir, "grim.log",
			"ext_foreign_toplevel_image_capture_source_manager_v1#"),
			"%s: grim asked zerocap's toplevel source manager", what);
		int w = win->width * scale, h = win->height * scale;
		ZT_CHECK(image.width == w && image.height == h, "%s: %dx%d, want %dx%d", what,
			image.width, image.height, w, h);
		int bad = 0;
		for (int y = 0; y < h && y < image.height; y++) {
			for (int x = 0; x < w && x < image.width; x++) {
				uint32_t want = zt_window_pattern(x, y, g) & 0xffffff;
				if (ct_image_pixel(&image, x, y) != want && bad++ < 3) {
					fprintf(stderr, "  %s: %d,%d is %06x, want %06x\n", what, x, y,
						ct_image_pixel(&image, x, y), want);
				}
			}
		}
		ZT_CHECK(bad == 0, "%s: %d pixels differ from the window's own", what, bad);
	} else {
		ZT_CHECK(false, "%s: cannot decode grim's image", what);
		ct_print_log(dir, "grim.log");
	}
	ct_image_finish(&image);
	ct_tmpdir_remove(dir);
}

/* Windows by identifier, covered and partly off-screen, at scale 1 and 2 (grim 1.5). */
static void run_windows(void) {
	zt_section("grim -T: windows by their foreign-toplevel identifier");
	struct zt_compositor comp;
	const char *args[] = {"--output", "640x480", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	struct zt_window win = {.pid = -1}, cover = {.pid = -1}, hidpi = {.pid = -1};
	const char *size[] = {"--size", "200x150", NULL};
	const char *scaled[] = {"--size", "120x80", "--scale", "2", NULL};
	if (zt_window_start(&win, &comp, "zt-grim", size) &&
			zt_window_start(&cover, &comp, "zt-cover", size)) {
		zt_cmd(&comp, "window-move %d -50 -40", win.id);
		zt_cmd(&comp, "window-move %d 0 0", cover.id);
		zt_cmd(&comp, "window-raise %d", cover.id);
		grim_window(&comp, &win, "covered and partly off-screen", 1, 0);
		ZT_CHECK(zt_window_cmd(&win, "draw"), "draw: %s", win.reply);
		grim_window(&comp, &win, "after a redraw", 1, 1);
		if (zt_window_start(&hidpi, &comp, "zt-hidpi", scaled)) {
			grim_window(&comp, &hidpi, "buffer scale 2", 2, 0);
		}
		zt_window_stop(&hidpi);
	}
	zt_window_stop(&cover);
	zt_window_stop(&win);
	zt_compositor_stop(&comp);
}

int main(void) {
	if (!ct_have_program(GRIM)) {
		/* scripts/dev installs it: a missing grim is a failure, not a skip. */
		ZT_CHECK(false, "%s is not installed (Debian package grim)", GRIM);
		return zt_finish();
	}
	bool ext = grim_has_ext();
	grim_protocol = ext ? CT_EXT_IMAGE_COPY_CAPTURE : CT_SCREENCOPY;
	fprintf(stderr, "note: grim %s: expecting %s\n", ext ? ">= 1.5 (has -T)" : "< 1.5",
		ct_protocol_name(grim_protocol));
	for (int l = 0; l < LEN(layouts); l++) {
		const struct layout *layout = &layouts[l];
		struct ct_image ours[MAX_CASES] = {0}, theirs[MAX_CASES] = {0};
		run_layout(layout, "zerocap", ours);
		if (!ext) {
			run_layout(layout, "wlroots", theirs);
		}
		for (int i = 0; i < layout->n_cases; i++) {
			if (ours[i].rgb != NULL && theirs[i].rgb != NULL) {
				ZT_CHECK(images_equal(&ours[i], &theirs[i]),
					"%s, %s: zerocap's and wlroots' screencopy give different "
					"images", layout->name, layout->cases[i].name);
			}
			ct_image_finish(&ours[i]);
			ct_image_finish(&theirs[i]);
		}
	}
	if (ext) {
		run_windows();
	} else {
		fprintf(stderr, "note: grim < 1.5 has no -T: no window capture to test\n");
	}
	return zt_finish();
}
