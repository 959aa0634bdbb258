/*
 * The screen-sharing path of a desktop user: xdg-desktop-portal (the
 * frontend) -> xdg-desktop-portal-wlr (xdpw) -> PipeWire -> an application,
 * against zerocap-compositor. Everything is real and private to the test: a
 * session dbus-daemon on its own socket, pipewire, wireplumber, xdpw
 * (config: chooser_type=none, output_name=HEADLESS-1, max_fps=30), and the
 * frontend with XDG_CURRENT_DESKTOP=zerocap-test and a
 * zerocap-test-portals.conf that routes ScreenCast to wlr; all under one
 * temporary directory (runtime, config, home), all stopped and removed at
 * the end, and every wait bounded. The stack, the portal calls and the
 * consumer's PipeWire side are in portal-stack.c (the portal benchmark
 * runs on them too); the scenes and the checks are here.
 *
 * The test drives the ScreenCast portal over D-Bus the way an application
 * does (GDBus): CreateSession, SelectSources (a monitor, embedded cursor),
 * Start (the node id of the stream from its response), OpenPipeWireRemote
 * (the fd the consumer connects with). The consumer is what OBS's PipeWire
 * source and the browsers do (libpipewire): one input stream on the node,
 * BGRx or RGBx, mapped shm buffers, connected once and active until it
 * leaves. A first consumer sees scene A, then each of two changes; it
 * leaves, and a second consumer on a new remote sees the next change.
 *
 * Checked: every frame is exactly one of the scenes (the rects and the
 * embedded arrow, compared pixel for pixel), in order, the first frame the
 * scene on screen; xdpw hands zerocap PipeWire buffers with partial damage,
 * so a frame with stale or black areas matches no scene. Frame timestamps
 * (zerocap's presentation_time, which xdpw passes on as the buffer's pts)
 * do not go back and are not older than the consumer: consumers that sync
 * on them hold every frame back by the age of the first. No frame fails
 * while a consumer streams; when one leaves, xdpw destroys the buffers of
 * the frame that waits for a change, which fails with buffer_constraints
 * (xdpw logs an error and goes on; with wlroots' own capture the frame
 * stays pending, and xdpw's next create_frame, for the next consumer, is a
 * duplicate_frame protocol error). The share must survive that: the second
 * consumer, then Session.Close. The protocol xdpw used comes from its
 * WAYLAND_DEBUG log: xdpw 0.8 (sid) must take ext-image-copy-capture-v1.
 * xdpw 0.7 (trixie) cannot screencast from a compositor without dma-buf at
 * all (wlroots' screencopy or zerocap's): the test skips there (exit 77),
 * by the version dpkg reports.
 *
 * Why not GStreamer's pipewiresrc: it deactivates its stream at the end of
 * READY->PAUSED and activates it again at PAUSED->PLAYING (gstpipewiresrc.c,
 * "This is janky"), a few milliseconds after xdpw started streaming. xdpw
 * 0.8.4 neither cancels its frame-rate timer nor drops its frame in flight
 * when the stream pauses, and captures again when it resumes: two
 * create_frame requests back to back (duplicate_frame, which wlroots raises
 * the same way), or, when the pause beats the first frame, a buffer
 * returned with pts 0 that makes pipewiresrc wait for hours. Which one
 * depends on microseconds, with wlroots' capture as with zerocap's; an
 * application that keeps its stream active, as OBS and the browsers do,
 * never meets it.
 *
 * Built a second time with ZT_PORTAL_ZEROCAP (test 'portal'), the same
 * stack and checks run with xdg-desktop-portal-zerocap ($ZC_PORTAL, its
 * .portal file found through XDG_DESKTOP_PORTAL_DIR, its choice configured
 * as output:HEADLESS-1) in xdpw's place: the frontend, PipeWire and the
 * consumer are the same, and the share must live through both consumers
 * with no frame lost or broken. Restore tokens are checked there too: a
 * second session with the token of the first starts without a choice.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "clients.h"
#include "portal-stack.h"

#ifdef ZT_PORTAL_ZEROCAP
#define BACKEND CT_BACKEND_ZEROCAP
#define BACKEND_NAME "org.freedesktop.impl.portal.desktop.zerocap"
#define BACKEND_LOG "backend.log"
#define BACKEND_TITLE "xdg-desktop-portal-zerocap"
#else
#define BACKEND CT_BACKEND_XDPW
#define BACKEND_NAME "org.freedesktop.impl.portal.desktop.wlr"
#define BACKEND_LOG "xdpw.log"
#define BACKEND_TITLE "xdg-desktop-portal-wlr"
#endif
#define PORTAL_NAME CT_PORTAL_NAME
#define PORTAL_PATH CT_PORTAL_PATH

#define OUTPUT_W 640
#define OUTPUT_H 480
#define CURSOR_X 300
#define CURSOR_Y 200

static const struct ct_rect scene_a[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
/* Each change is one control command, so no frame can show half of it. */
/* blue moved */
static const struct ct_rect scene_b[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 500, 300, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
/* red grown over most of the screen */
static const struct ct_rect scene_c[] = {
	{"red", 10, 20, 600, 400, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 500, 300, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
/* green moved (for the second consumer) */
static const struct ct_rect scene_d[] = {
	{"red", 10, 20, 600, 400, 0xff0000},
	{"green", 300, 50, 40, 40, 0x00ff00},
	{"blue", 500, 300, 80, 40, 0x0000ff},
	{"white", 0, 470, 640, 10, 0xffffff},
};
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct scene_def {
	const char *name;
	const struct ct_rect *rects;
	int n;
};
static const struct scene_def scenes[] = {
	{"scene A", scene_a, LEN(scene_a)},
	{"scene B", scene_b, LEN(scene_b)},
	{"scene C", scene_c, LEN(scene_c)},
	{"scene D", scene_d, LEN(scene_d)},
};
#define N_SCENES LEN(scenes)

/* The one rect that differs from the scene before (all of them for scene A). */
static void change_scene(struct zt_compositor *comp, int index) {
	const struct scene_def *scene = &scenes[index];
	for (int i = 0; i < scene->n; i++) {
		const struct ct_rect *r = &scene->rects[i];
		const struct ct_rect *was = index > 0 ? &scenes[index - 1].rects[i] : NULL;
		if (was != NULL && memcmp(r, was, sizeof(*r)) == 0) {
			continue;
		}
		struct ct_scene one = {.rects = r, .n_rects = 1};
		ct_scene_apply(comp, &one);
	}
}

#ifndef ZT_PORTAL_ZEROCAP
/* xdpw's version from dpkg as major * 100 + minor; -1 when unknown. */
static int xdpw_version(char *text, size_t size) {
	char dir[256];
	text[0] = '\0';
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return -1;
	}
	const char *argv[] = {"dpkg-query", "-W", "-f=${Version}\\n", "xdg-desktop-portal-wlr",
		NULL};
	bool ran = ct_run(dir, NULL, argv, 10000, "version.txt");
	char path[512];
	snprintf(path, sizeof(path), "%s/version.txt", dir);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(text, (int)size, f) == NULL) {
			text[0] = '\0';
		}
		fclose(f);
	}
	ct_tmpdir_remove(dir);
	text[strcspn(text, "\n")] = '\0';
	int major = 0, minor = 0;
	return ran && sscanf(text, "%d.%d", &major, &minor) == 2 ? major * 100 + minor : -1;
}
#endif

/* ---- the consumer ---- */

/*
 * The consumer (portal-stack.h) looks at every frame: frames are classified
 * here, on PipeWire's thread; the test reads the results under the thread
 * loop's lock.
 */
#define MAX_FRAMES 200

struct consumer {
	struct ct_consumer pw;
	const char *name; /* in messages and in the names of saved frames */
	const char *dir; /* unmatched frames are saved there as PPM */
	/* PipeWire's thread writes, the test reads (locked) */
	int results[MAX_FRAMES]; /* scene index, -1 for none */
	uint64_t pts_ns[MAX_FRAMES]; /* the compositor's presentation time */
	uint64_t arrived_ns[MAX_FRAMES];
	int n_frames;
	int dropped; /* frames past MAX_FRAMES */
};

/* Which scene image is (index into scenes), -1 for none; mismatch counts. */
static int classify(const struct ct_image *image, int bad[N_SCENES]) {
	static const struct ct_output box = {0, 0, OUTPUT_W, OUTPUT_H};
	int found = -1;
	for (int s = 0; s < N_SCENES; s++) {
		struct ct_scene scene = {
			.rects = scenes[s].rects, .n_rects = scenes[s].n, .outputs = &box,
			.n_outputs = 1, .cursor = true, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
		};
		struct ct_scene_view view = {
			.scene = &scene, .scale = 1, .transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
		bad[s] = 0;
		for (int y = 0; y < image->height; y++) {
			for (int x = 0; x < image->width; x++) {
				bad[s] += ct_image_pixel(image, x, y) != ct_scene_view_expect(&view, x, y);
			}
		}
		if (bad[s] == 0 && found < 0) {
			found = s;
		}
	}
	return found;
}

static void save_ppm(const struct consumer *consumer, int index, const struct ct_image *image) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s-frame-%03d.ppm", consumer->dir, consumer->name,
		index);
	FILE *f = fopen(path, "wb");
	if (f != NULL) {
		fprintf(f, "P6\n%d %d\n255\n", image->width, image->height);
		fwrite(image->rgb, 1, (size_t)image->width * image->height * 3, f);
		fclose(f);
	}
}

static void consumer_frame(void *data, const struct spa_buffer *buffer,
		const struct spa_video_info_raw *format, const struct spa_meta_header *header,
		uint64_t arrived_ns) {
	struct consumer *consumer = data;
	if (consumer->n_frames == MAX_FRAMES) {
		consumer->dropped++;
		return;
	}
	int i = consumer->n_frames++;
	consumer->arrived_ns[i] = arrived_ns;
	consumer->pts_ns[i] = header != NULL ? (uint64_t)header->pts : 0;
	struct ct_image image = {0};
	int bad[N_SCENES] = {0};
	consumer->results[i] = -1;
	if (format != NULL && ct_buffer_image(format, buffer, &image)) {
		consumer->results[i] = classify(&image, bad);
		if (consumer->results[i] < 0) {
			fprintf(stderr, "  %s: frame %d matches no scene "
				"(%d, %d, %d, %d pixels off)\n", consumer->name, i, bad[0], bad[1], bad[2],
				bad[3]);
			save_ppm(consumer, i, &image);
		}
		ct_image_finish(&image);
	} else {
		fprintf(stderr, "  %s: frame %d cannot be read\n", consumer->name, i);
	}
}

/* A consumer of node that classifies every frame; false on failure. */
static bool consumer_start(struct consumer *consumer, const char *name, const char *dir,
		int fd, uint32_t node) {
	memset(consumer, 0, sizeof(*consumer));
	consumer->name = name;
	consumer->dir = dir;
	return ct_consumer_start(&consumer->pw, name, fd, node, OUTPUT_W, OUTPUT_H,
		consumer_frame, consumer);
}

/* Waits until a frame after `after` shows scene; its index or -1. */
static int wait_scene(struct consumer *consumer, int after, int scene, int timeout_ms) {
	int found = -1;
	bool error = false;
	for (long start = ct_now_ms(); found < 0 && !error && ct_now_ms() - start < timeout_ms;) {
		pw_thread_loop_lock(consumer->pw.loop);
		for (int i = after + 1; found < 0 && i < consumer->n_frames; i++) {
			found = consumer->results[i] == scene ? i : -1;
		}
		error = consumer->pw.error;
		pw_thread_loop_unlock(consumer->pw.loop);
		usleep(10000);
	}
	return found;
}

/*
 * Checks a consumer's frames, in order: each one exactly a scene, never an
 * older scene than the one before, first shows `first`; timestamps that do
 * not go back and are no older than the consumer. A consumer that syncs on
 * timestamps (GStreamer's pipewiresrc) holds every frame back by the age
 * of its first one: a first frame stamped with the time a still screen was
 * last redrawn delays the whole stream by as long as the screen was still.
 */
static void consumer_check(struct consumer *consumer, int first) {
	pw_thread_loop_lock(consumer->pw.loop);
	int n = consumer->n_frames, none = 0, backwards = 0, last = first;
	int pts_backwards = 0, pts_stale = 0, pts_late = 0;
	for (int i = 0; i < n; i++) {
		int scene = consumer->results[i];
		none += scene < 0;
		if (scene >= 0) {
			backwards += scene < last;
			last = scene;
		}
		uint64_t pts = consumer->pts_ns[i];
		pts_backwards += i > 0 && pts < consumer->pts_ns[i - 1];
		pts_stale += pts < consumer->pw.connected_ns;
		pts_late += pts > consumer->arrived_ns[i];
	}
	fprintf(stderr, "  %s: %d frames, %d corrupted buffers (skipped)%s; first %s\n",
		consumer->name, n, consumer->pw.corrupted,
		consumer->dropped > 0 ? ", some dropped" : "",
		n > 0 && consumer->results[0] >= 0 ? scenes[consumer->results[0]].name : "-");
	ZT_CHECK(!consumer->pw.error, "%s: PipeWire error: %s", consumer->name,
		consumer->pw.error_text);
	ZT_CHECK(n > 0 && consumer->results[0] == first, "%s: the first frame is not %s",
		consumer->name, scenes[first].name);
	ZT_CHECK(none == 0, "%s: %d of %d frames match no scene", consumer->name, none, n);
	ZT_CHECK(backwards == 0, "%s: %d frames show an older scene than the one before",
		consumer->name, backwards);
	ZT_CHECK(pts_backwards == 0, "%s: %d frames have a timestamp before the previous one's",
		consumer->name, pts_backwards);
	ZT_CHECK(pts_stale == 0, "%s: %d frames are stamped before the consumer connected "
		"(a timestamp-syncing consumer would show them that much later)", consumer->name,
		pts_stale);
	ZT_CHECK(pts_late == 0, "%s: %d frames are stamped after they arrived", consumer->name,
		pts_late);
	pw_thread_loop_unlock(consumer->pw.loop);
}

/* One consumer's share: waits for its first frame, then each change. */
static void consume(struct consumer *consumer, struct zt_compositor *comp, int first,
		int last) {
	int at = wait_scene(consumer, -1, first, 10000);
	ZT_CHECK(at >= 0, "%s: no frame shows %s", consumer->name, scenes[first].name);
	for (int s = first + 1; at >= 0 && s <= last; s++) {
		long t = ct_now_ms();
		change_scene(comp, s);
		at = wait_scene(consumer, at, s, 10000);
		ZT_CHECK(at >= 0, "%s: no frame shows %s after the change", consumer->name,
			scenes[s].name);
		fprintf(stderr, "  %s: %s from frame %d, %ld ms after the change\n",
			consumer->name, scenes[s].name, at, ct_now_ms() - t);
	}
	/* A moment for late frames, then every frame is checked. */
	usleep(300000);
	consumer_check(consumer, first);
}

/* How many lines of dir/file contain text. */
static int count_lines(const char *dir, const char *file, const char *text) {
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	char *line = NULL;
	size_t size = 0;
	int n = 0;
	while (getline(&line, &size, f) >= 0) {
		n += strstr(line, text) != NULL;
	}
	free(line);
	fclose(f);
	return n;
}

/*
 * xdpw's log lines for failed frames (ext_image_copy.c): unknown and
 * stopped end the share; buffer_constraints makes it allocate again.
 */
#define XDPW_FAILED_UNKNOWN "frame capture failed: unknown reason"
#define XDPW_FAILED_STOPPED "frame capture failed: capture session stopped"
#define XDPW_FAILED_CONSTRAINTS "frame capture failed: buffer constraint mismatch"

static void check_share_alive(const struct ct_stack *stack, const char *when) {
#ifdef ZT_PORTAL_ZEROCAP
	/* stream.c's lines when a share ends or a capture fails. */
	ZT_CHECK(count_lines(stack->dir, BACKEND_LOG, "closing its session") == 0 &&
		count_lines(stack->dir, BACKEND_LOG, "capture failed") == 0 &&
		count_lines(stack->dir, BACKEND_LOG, "-> error") == 0,
		"%s: %s ended the share", when, BACKEND_TITLE);
#else
	ZT_CHECK(count_lines(stack->dir, "xdpw.log", XDPW_FAILED_UNKNOWN) == 0 &&
		count_lines(stack->dir, "xdpw.log", XDPW_FAILED_STOPPED) == 0 &&
		count_lines(stack->dir, "xdpw.log", "destroying cast instance") == 0,
		"%s: xdg-desktop-portal-wlr ended the share", when);
#endif
}

#ifdef ZT_PORTAL_ZEROCAP
/* Prints the lines of log that contain text. */
static void print_lines(const char *dir, const char *log, const char *text) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, log);
	FILE *f = fopen(path, "r");
	char line[1024];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, text) != NULL) {
			fprintf(stderr, "  %s: %s", log, line);
		}
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* org.freedesktop.portal.Screenshot, not interactive: a PNG of the scene. */
static void check_screenshot(struct ct_portal *portal, int scene_index, const char *dir) {
	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "handle_token", g_variant_new_string("zts"));
	g_variant_builder_add(&options, "{sv}", "interactive", g_variant_new_boolean(FALSE));
	guint32 code = 99;
	GVariant *results = ct_portal_call(portal, "org.freedesktop.portal.Screenshot",
		"Screenshot", g_variant_new("(sa{sv})", "", &options), "Screenshot", &code);
	const char *uri = NULL;
	ZT_CHECK(results != NULL && code == 0 && g_variant_lookup(results, "uri", "&s", &uri) &&
		strncmp(uri, "file://", 7) == 0, "Screenshot answered %u with a file URI", code);
	if (uri == NULL) {
		print_lines(dir, BACKEND_LOG, "zerocap-portal:");
		print_lines(dir, "xdp.log", "XDP");
	}
	struct ct_image image;
	if (uri != NULL && ct_read_png(uri + 7, &image)) {
		struct ct_scene scene = {.rects = scenes[scene_index].rects,
			.n_rects = scenes[scene_index].n};
		struct ct_scene_view view = {.scene = &scene, .scale = 1, .up_w = OUTPUT_W,
			.up_h = OUTPUT_H};
		struct ct_compare compare = {0};
		ZT_CHECK(image.width == OUTPUT_W && image.height == OUTPUT_H &&
			ct_compare_image(&image, ct_scene_view_expect, &view, &compare, "screenshot") == 0,
			"the screenshot is the scene, pixel for pixel (%dx%d)", image.width, image.height);
		ct_image_finish(&image);
		unlink(uri + 7);
	} else {
		ZT_CHECK(false, "cannot read the screenshot %s", uri != NULL ? uri : "(none)");
	}
}
#endif

#ifdef ZT_PORTAL_ZEROCAP
/* A direct call to the backend; true when it answered with a D-Bus error. */
static bool backend_refuses(GDBusConnection *bus, const char *path, const char *interface,
		const char *method, GVariant *args, const char *what) {
	GError *error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(bus, BACKEND_NAME, path, interface, method,
		args, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
	if (reply != NULL) {
		g_variant_unref(reply);
		ZT_CHECK(false, "%s: the backend accepted it", what);
		return false;
	}
	bool remote = g_dbus_error_is_remote_error(error) &&
		!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	ZT_CHECK(remote, "%s: no D-Bus error but %s", what, error->message);
	g_error_free(error);
	return remote;
}

/*
 * Bad calls straight to the backend (what a hostile or broken client could
 * send): each gets a D-Bus error, and the backend goes on serving.
 */
static void check_bad_calls(GDBusConnection *bus) {
	const char *impl = "org.freedesktop.impl.portal.ScreenCast";
	const char *req = "/org/freedesktop/portal/desktop/request/1_9/bad";
	const char *ses = "/org/freedesktop/portal/desktop/session/1_9/bad";
	backend_refuses(bus, PORTAL_PATH, impl, "Start",
		g_variant_new("(ooss@a{sv})", req, ses, "", "", g_variant_new("a{sv}", NULL)),
		"Start of a session that does not exist");
	backend_refuses(bus, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		"SelectSources of a session that does not exist");
	backend_refuses(bus, PORTAL_PATH, impl, "CreateSession", g_variant_new("(s)", "x"),
		"CreateSession with the wrong arguments");
	GVariant *ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, PORTAL_PATH, impl,
		"CreateSession", g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		G_VARIANT_TYPE("(ua{sv})"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "a direct CreateSession works");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	backend_refuses(bus, PORTAL_PATH, impl, "CreateSession",
		g_variant_new("(oos@a{sv})", req, ses, "", g_variant_new("a{sv}", NULL)),
		"CreateSession of a session that exists");
	backend_refuses(bus, PORTAL_PATH, impl, "Start",
		g_variant_new("(ooss@a{sv})", req, ses, "", "", g_variant_new("a{sv}", NULL)),
		"Start before SelectSources");
	GVariantBuilder options;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "types", g_variant_new_uint32(0));
	backend_refuses(bus, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oosa{sv})", req, ses, "", &options), "SelectSources of no type");
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "restore_data",
		g_variant_new("(suv)", "zerocap", 1, g_variant_new_string("not a dict")));
	g_variant_builder_add(&options, "{sv}", "cursor_mode", g_variant_new_string("2"));
	ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, PORTAL_PATH, impl, "SelectSources",
		g_variant_new("(oosa{sv})", req, ses, "", &options), G_VARIANT_TYPE("(ua{sv})"),
		G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "mistyped options and a foreign restore token are ignored");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	backend_refuses(bus, "/org/freedesktop/portal/desktop/session/1_9/none",
		"org.freedesktop.impl.portal.Session", "Close", NULL, "Close of no session");
	backend_refuses(bus, PORTAL_PATH, impl, "Launch", NULL, "an unknown method");
	ok = g_dbus_connection_call_sync(bus, BACKEND_NAME, ses,
		"org.freedesktop.impl.portal.Session", "Close", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
		5000, NULL, NULL);
	ZT_CHECK(ok != NULL, "the direct session closes");
	if (ok != NULL) {
		g_variant_unref(ok);
	}
	ZT_CHECK(ct_name_has_owner(bus, BACKEND_NAME), "the backend still serves after the bad calls");
}
#endif

static void test_screencast(enum ct_protocol protocol) {
	zt_section("ScreenCast portal -> " BACKEND_TITLE " -> PipeWire -> a consumer");
	struct ct_stack stack = {0};
	if (!ct_tmpdir(stack.dir, sizeof(stack.dir))) {
		return;
	}
	char size[32];
	snprintf(size, sizeof(size), "%dx%d", OUTPUT_W, OUTPUT_H);
	const char *args[] = {"--output", size, NULL};
	struct zt_compositor comp;
	if (!zt_compositor_start(&comp, args)) {
		ct_tmpdir_remove(stack.dir);
		return;
	}
	change_scene(&comp, 0);
	ZT_CHECK(zt_cmd(&comp, "cursor %d %d", CURSOR_X, CURSOR_Y), "cursor: %s", comp.reply);

	GDBusConnection *bus = NULL;
	struct ct_stack_options options = {
		.backend = BACKEND, .output = "HEADLESS-1", .max_fps = 30, .wayland_debug = true,
		.debug_log = true,
	};
	if (!ct_stack_start(&stack, &options, &comp, &bus)) {
		zt_compositor_stop(&comp);
		ct_tmpdir_remove(stack.dir);
		return;
	}
	struct ct_portal portal = {.bus = bus};
#ifdef ZT_PORTAL_ZEROCAP
	portal.persist = true;
#endif
	int fd = -1;
	if (ct_portal_start(&portal)) {
		ZT_CHECK(portal.width == OUTPUT_W && portal.height == OUTPUT_H,
			"the stream is %dx%d, expected %dx%d", portal.width, portal.height, OUTPUT_W,
			OUTPUT_H);
		fd = ct_portal_remote(&portal);
	}
	struct consumer consumer;
	if (fd >= 0 && consumer_start(&consumer, "consumer 1", stack.dir, fd, portal.node)) {
		consume(&consumer, &comp, 0, 2);
		ZT_CHECK(count_lines(stack.dir, "xdpw.log", XDPW_FAILED_CONSTRAINTS) == 0,
			"a frame failed while the consumer was streaming");
		/*
		 * The consumer leaves: xdpw pauses its stream and destroys the
		 * wl_buffers of PipeWire's buffers, one of them attached to the
		 * frame that waits for the next change. That frame fails with
		 * buffer_constraints (xdpw logs an error and goes on); the share
		 * lives on, and the next consumer gets new buffers and frames.
		 */
		ct_consumer_stop(&consumer.pw);
		usleep(300000);
		check_share_alive(&stack, "after the first consumer left");
		fd = ct_portal_remote(&portal);
		if (fd >= 0 &&
				consumer_start(&consumer, "consumer 2", stack.dir, fd, portal.node)) {
			/* A still screen gives a new consumer nothing: it waits for a change. */
			usleep(300000);
			change_scene(&comp, 3);
			consume(&consumer, &comp, 3, 3);
			ct_consumer_stop(&consumer.pw);
			usleep(300000);
		}
		check_share_alive(&stack, "after the second consumer left");
		ZT_CHECK(count_lines(stack.dir, "xdpw.log", XDPW_FAILED_CONSTRAINTS) <= 2,
			"more frames failed than consumers left");
	}
#ifdef ZT_PORTAL_ZEROCAP
	check_bad_calls(bus);
	/* While the portal listens for Responses (ct_portal_close stops that). */
	check_screenshot(&portal, 3, stack.dir);
	ZT_CHECK(count_lines(stack.dir, "access.log", "") >= 1,
		"the frontend asked the backend's Access prompt before the screenshot");
#endif
	ct_portal_close(&portal);
#ifdef ZT_PORTAL_ZEROCAP
	/* A new session with the first one's token: started without asking again. */
	ZT_CHECK(portal.restore_token[0] != '\0', "Start gave a restore token (persist_mode 2)");
	ZT_CHECK(count_lines(stack.dir, "chooser.log", "asked") == 1, "the chooser was asked once");
	if (portal.restore_token[0] != '\0') {
		struct ct_portal again = {.bus = bus, .persist = true};
		snprintf(again.restore_token, sizeof(again.restore_token), "%s", portal.restore_token);
		ZT_CHECK(ct_portal_start(&again) && again.width == OUTPUT_W,
			"a session restored from the token starts (%dx%d)", again.width, again.height);
		ZT_CHECK(count_lines(stack.dir, "chooser.log", "asked") == 1,
			"the restored session did not ask the chooser (%d times asked)",
			count_lines(stack.dir, "chooser.log", "asked"));
		ct_portal_close(&again);
	}
#endif
	g_object_unref(bus);
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor is still running");
	ct_stack_stop(&stack);
	ct_check_protocol(stack.dir, BACKEND_LOG, protocol, BACKEND_TITLE);
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(stack.dir);
}

int main(void) {
#ifdef ZT_PORTAL_ZEROCAP
	ZT_CHECK(getenv("ZC_PORTAL") != NULL && getenv("ZC_PORTAL_DIR") != NULL,
		"ZC_PORTAL and ZC_PORTAL_DIR are set");
	enum ct_protocol protocol = CT_EXT_IMAGE_COPY_CAPTURE;
	bool have_all = getenv("ZC_PORTAL") != NULL;
#else
	if (!ct_have_program(CT_XDPW) || !ct_have_program("dpkg-query")) {
		/* scripts/dev installs it: missing is a failure, not a skip. */
		ZT_CHECK(false, "%s or dpkg-query is not installed", CT_XDPW);
		return zt_finish();
	}
	char version[64];
	int v = xdpw_version(version, sizeof(version));
	ZT_CHECK(v >= 0, "cannot tell xdg-desktop-portal-wlr's version (dpkg: '%s')", version);
	if (v >= 0 && v < 8) {
		/*
		 * 0.7 (trixie) ends the share at Start on a compositor without
		 * dma-buf ("unable to receive a valid format from wlr_screencopy"),
		 * with wlroots' own screencopy as with zerocap's: too old for the
		 * headless pixman compositor.
		 */
		printf("SKIP: xdg-desktop-portal-wlr %s is older than 0.8, which screencasts "
			"from wl_shm-only compositors\n", version);
		return 77;
	}
	/* From 0.8 on xdpw takes ext-image-copy-capture-v1 when the compositor has it. */
	enum ct_protocol protocol = CT_EXT_IMAGE_COPY_CAPTURE;
	fprintf(stderr, "note: xdg-desktop-portal-wlr %s: expecting %s\n", version,
		ct_protocol_name(protocol));
	bool have_all = v >= 0;
#endif
	static const char *const programs[] = {"dbus-daemon", "pipewire", "wireplumber", CT_XDP};
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed", programs[i]);
		have_all = have_all && have;
	}
	if (have_all) {
		signal(SIGPIPE, SIG_IGN);
		pw_init(NULL, NULL);
		test_screencast(protocol);
		pw_deinit();
	}
	return zt_finish();
}
