/*
 * xdg-desktop-portal-zerocap through the whole desktop stack (portal-stack.h:
 * dbus-daemon, pipewire, wireplumber, Debian's xdg-desktop-portal, our
 * backend, the reference compositor), in what a share lives through after
 * it started:
 *
 * - cursor mode Metadata: the frames hold no cursor, every buffer carries
 *   SPA_META_Cursor (position, hotspot; the bitmap, the compositor's arrow
 *   pixel for pixel); a cursor moving over a still picture arrives in
 *   a buffer with no pixels; a hidden cursor is id 0;
 * - the output's mode changes twice mid-stream: the same stream
 *   renegotiates to each size, and frames of that size follow (cursor
 *   mode Hidden: no arrow in them; Embedded, in the next section: the
 *   arrow drawn in);
 * - VideoDamage metas hold what changed, not the whole output;
 * - a consumer process killed mid-stream (SIGKILL) costs nothing: the share
 *   lives, and a new consumer gets frames of the next change;
 * - GStreamer's pipewiresrc (gst-launch-1.0 ... ! pngenc) takes frames that
 *   show the scene;
 * - a consumer that stops returning buffers: its share stalls, another
 *   share of the same output streams every change, the compositor lives;
 * - PickColor through the frontend: the colour of the pixel the picker
 *   names, and 2 when it names none;
 * - the user cancels the chooser: Start answers 1 and nothing is shared;
 * - a window share through the chooser survives a resize loop, every size
 *   renegotiated and streamed;
 * - the backend killed mid-share and started again (what D-Bus activation
 *   does): the frontend lives, and a new share streams;
 * - the compositor's policy (--policy=list --allow xdg-desktop-portal-zerocap)
 *   shows the capture globals to the backend only: zerocap-shot, not on
 *   the list, finds nothing to capture with while the backend streams;
 * - the compositor revoking the backend's captures ends the share
 *   (Session::Closed), and the next share streams again;
 * - the compositor going away: the backend closes its session (the
 *   frontend forwards Session::Closed), logs it and exits with status 0.
 *
 * Pixels, metas and sizes come from the consumer's PipeWire buffers; every
 * wait is bounded.
 *
 * Built with ZT_PORTAL_GPU (test gpu-portal-life, in the VM on the GLES2
 * renderer) the consumers take dma-bufs and each section checks that its
 * frames came in the compositor's dma-bufs (zero copy); the mode change
 * section's consumer takes shm only, and gets the copy into memfds.
 */
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>
#include <spa/buffer/meta.h>
#include "arrow.h"
#include "portal-stack.h"
#include "window.h"

#define OUTPUT_W 640
#define OUTPUT_H 480
#define BACKGROUND 0x202020u
#ifdef ZT_PORTAL_GPU
#define WAIT_MS 20000 /* everything is slow in the emulated VM */
#else
#define WAIT_MS 8000
#endif

/* What a consumer saw, written on PipeWire's thread under its loop lock. */
struct watch {
	struct ct_consumer pw;
	int frames, empty; /* buffers with pixels; with none (the cursor only) */
	uint32_t width, height; /* of the last frame */
	uint32_t mark; /* colour of the last frame at MARK_X, MARK_Y */
	int cursor_pixels; /* opaque arrow pixels found in the last frame at the cursor */
	/* SPA_META_Cursor of the last buffer */
	bool cursor_meta, cursor_valid;
	int32_t cx, cy, hx, hy;
	int bitmaps, bitmap_bad;
	uint32_t bitmap_w, bitmap_h;
	/* SPA_META_VideoDamage of the last buffer with pixels: its bounding box */
	bool damage_meta;
	struct damage_box {
		int n; /* regions */
		int32_t x1, y1, x2, y2;
	} damage;
	/* that of the last frame that changed the mark (a repeat says all changed) */
	struct damage_box change;
};

static const char *stack_dir; /* for the backend's log after a failure */

#define MARK_X 30
#define MARK_Y 30
static int cursor_x = 300, cursor_y = 200;

static void check_bitmap(struct watch *w, const struct spa_meta_bitmap *bitmap) {
	w->bitmaps++;
	w->bitmap_w = bitmap->size.width;
	w->bitmap_h = bitmap->size.height;
	w->bitmap_bad = 0;
	const uint8_t *pixels = SPA_PTROFF(bitmap, bitmap->offset, const uint8_t);
	for (uint32_t y = 0; y < bitmap->size.height; y++) {
		const uint32_t *row = (const uint32_t *)(pixels + (size_t)y * bitmap->stride);
		for (uint32_t x = 0; x < bitmap->size.width; x++) {
			w->bitmap_bad += row[x] != zt_arrow_argb((int)x, (int)y);
		}
	}
	w->bitmap_bad += bitmap->format != SPA_VIDEO_FORMAT_BGRA;
}

/* The bounding box of the damage regions (up to the first empty one). */
static void record_damage(struct watch *w, const struct spa_buffer *buffer) {
	struct spa_meta *meta = spa_buffer_find_meta(buffer, SPA_META_VideoDamage);
	w->damage_meta = meta != NULL;
	struct damage_box *d = &w->damage;
	d->n = 0;
	if (meta == NULL) {
		return;
	}
	const struct spa_meta_region *r;
	spa_meta_for_each(r, meta) {
		if (!spa_meta_region_is_valid(r)) {
			break;
		}
		int32_t x2 = r->region.position.x + (int32_t)r->region.size.width;
		int32_t y2 = r->region.position.y + (int32_t)r->region.size.height;
		if (d->n++ == 0) {
			d->x1 = r->region.position.x;
			d->y1 = r->region.position.y;
			d->x2 = x2;
			d->y2 = y2;
		} else {
			d->x1 = SPA_MIN(d->x1, r->region.position.x);
			d->y1 = SPA_MIN(d->y1, r->region.position.y);
			d->x2 = SPA_MAX(d->x2, x2);
			d->y2 = SPA_MAX(d->y2, y2);
		}
	}
}

static void on_buffer(void *data, const struct spa_buffer *buffer, uint64_t arrived_ns) {
	struct watch *w = data;
	const struct spa_data *d = &buffer->datas[0];
	if (d->chunk->size == 0 && !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED)) {
		w->empty++;
	} else {
		record_damage(w, buffer);
	}
	struct spa_meta_cursor *mc = spa_buffer_find_meta_data(buffer, SPA_META_Cursor,
		sizeof(*mc));
	w->cursor_meta = mc != NULL;
	if (mc == NULL) {
		return;
	}
	w->cursor_valid = spa_meta_cursor_is_valid(mc);
	if (!w->cursor_valid) {
		return;
	}
	w->cx = mc->position.x;
	w->cy = mc->position.y;
	w->hx = mc->hotspot.x;
	w->hy = mc->hotspot.y;
	if (mc->bitmap_offset >= sizeof(*mc)) {
		const struct spa_meta_bitmap *bitmap = SPA_PTROFF(mc, mc->bitmap_offset,
			const struct spa_meta_bitmap);
		if (bitmap->size.width > 0) {
			check_bitmap(w, bitmap);
		}
	}
}

static void on_frame(void *data, const struct spa_buffer *buffer,
		const struct spa_video_info_raw *format, const struct spa_meta_header *header,
		uint64_t arrived_ns) {
	struct watch *w = data;
	struct ct_image image = {0};
	if (format == NULL || !ct_buffer_image(format, buffer, &image)) {
		return;
	}
	uint32_t mark = ct_image_pixel(&image, MARK_X, MARK_Y);
	if (w->frames == 0 || mark != w->mark) {
		w->change = w->damage;
	}
	w->frames++;
	w->width = (uint32_t)image.width;
	w->height = (uint32_t)image.height;
	w->mark = mark;
	w->cursor_pixels = 0;
	for (int y = 0; y < ZT_ARROW_HEIGHT; y++) {
		for (int x = 0; x < ZT_ARROW_WIDTH; x++) {
			int px = cursor_x + x, py = cursor_y + y;
			if ((zt_arrow_argb(x, y) >> 24) == 0xff && px < image.width &&
					py < image.height && ct_image_pixel(&image, px, py) != BACKGROUND) {
				w->cursor_pixels++;
			}
		}
	}
	ct_image_finish(&image);
}

#ifdef ZT_PORTAL_GPU
static bool take_dmabuf = true;
#define SYNC_DEVICE "/dev/dri/card0"
#else
static bool take_dmabuf = false;
#define SYNC_DEVICE NULL
#endif

/* Whether the device has timeline syncobjs: then the frames must come with them. */
static bool device_has_timelines(void) {
#ifdef ZT_PORTAL_GPU
	int fd = open(SYNC_DEVICE, O_RDWR | O_CLOEXEC);
	uint64_t cap = 0;
	bool has = fd >= 0 && drmGetCap(fd, DRM_CAP_SYNCOBJ_TIMELINE, &cap) == 0 && cap != 0;
	if (fd >= 0) {
		close(fd);
	}
	return has;
#else
	return false;
#endif
}

static bool watch_start(struct watch *w, const char *name, struct ct_portal *portal,
		bool cursor_meta) {
	memset(w, 0, sizeof(*w));
	int fd = ct_portal_remote(portal);
	const struct ct_consumer_options options = {
		.cursor_meta = cursor_meta, .damage_meta = true, .buffer = on_buffer,
		.dmabuf = take_dmabuf, .sync_device = SYNC_DEVICE, .egl = take_dmabuf,
	};
	return fd >= 0 && ct_consumer_start_with(&w->pw, name, fd, portal->node, portal->width,
		portal->height, on_frame, w, &options);
}

/* Waits until cond holds for w (checked under the loop lock). */
static bool watch_until(struct watch *w, bool (*cond)(const struct watch *, const void *),
		const void *arg, int timeout_ms) {
	bool ok = false;
	for (long start = ct_now_ms(); !ok && ct_now_ms() - start < timeout_ms;) {
		pw_thread_loop_lock(w->pw.loop);
		ok = cond(w, arg);
		pw_thread_loop_unlock(w->pw.loop);
		if (!ok) {
			usleep(20000);
		}
	}
	return ok;
}

/* The memory the frames came in: the compositor's dma-bufs where they can. */
static void check_memory(struct watch *w, const char *what) {
	pw_thread_loop_lock(w->pw.loop);
	int dmabuf = w->pw.dmabuf_frames, memfd = w->pw.memfd_frames;
	int synced = w->pw.synced_frames, sync_errors = w->pw.sync_errors;
	int egl_frames = w->pw.egl_frames, egl_failures = w->pw.egl_failures;
	int egl_wrong = w->pw.egl_wrong;
	pw_thread_loop_unlock(w->pw.loop);
	if (take_dmabuf) {
		ZT_CHECK(dmabuf > 0 && memfd == 0, "%s: the frames came in dma-bufs (%d dma-buf, "
			"%d memfd)", what, dmabuf, memfd);
		ZT_CHECK(egl_frames > 0 && egl_failures == 0 && egl_wrong == 0,
			"%s: dma-buf frames import with EGL and read back as mapped "
			"(%d of %d imported, %d failed, %d pixels differ)", what, egl_frames, dmabuf,
			egl_failures, egl_wrong);
		bool timelines = device_has_timelines();
		ZT_CHECK(timelines ? synced == dmabuf && sync_errors == 0 : synced == 0,
			"%s: %s (%d of %d frames with timelines, %d sync errors)", what,
			timelines ? "explicit sync on every frame" : "implicit sync (no timelines here)",
			synced, dmabuf, sync_errors);
	} else {
		ZT_CHECK(memfd > 0 && dmabuf == 0, "%s: the frames came in memfds (%d dma-buf, "
			"%d memfd)", what, dmabuf, memfd);
	}
}

/* Waits until no frame came for half a second (the picture is still). */
static void settle(struct watch *w) {
	int last = -1;
	for (long start = ct_now_ms(); ct_now_ms() - start < WAIT_MS;) {
		pw_thread_loop_lock(w->pw.loop);
		int frames = w->frames;
		pw_thread_loop_unlock(w->pw.loop);
		if (frames == last) {
			return;
		}
		last = frames;
		usleep(500000);
	}
}

static bool has_frames(const struct watch *w, const void *arg) {
	return w->frames >= *(const int *)arg;
}

static bool mark_is(const struct watch *w, const void *arg) {
	return w->frames > 0 && w->mark == *(const uint32_t *)arg;
}

static bool cursor_at(const struct watch *w, const void *arg) {
	const int32_t *xy = arg;
	return w->cursor_valid && w->cx == xy[0] && w->cy == xy[1];
}

static bool cursor_with_image_at(const struct watch *w, const void *arg) {
	return cursor_at(w, arg) && w->bitmaps > 0;
}

static bool cursor_hidden(const struct watch *w, const void *arg) {
	return w->cursor_meta && !w->cursor_valid;
}

static bool sized(const struct watch *w, const void *arg) {
	const uint32_t *wh = arg;
	return w->frames > 0 && w->width == wh[0] && w->height == wh[1];
}

static void set_mark(struct zt_compositor *comp, uint32_t rgb) {
	ZT_CHECK(zt_cmd(comp, "rect mark 20 20 40 40 %06xff", rgb), "rect: %s", comp->reply);
}

static void test_metadata(struct zt_compositor *comp, GDBusConnection *bus) {
	zt_section("cursor mode Metadata: SPA_META_Cursor, no cursor in the pixels");
	ZT_CHECK(zt_cmd(comp, "cursor show"), "cursor show");
	ZT_CHECK(zt_cmd(comp, "cursor %d %d", cursor_x, cursor_y), "cursor: %s", comp->reply);
	set_mark(comp, 0xff0000);
	struct ct_portal portal = {.bus = bus, .cursor_mode = 4};
	struct watch w;
	if (!ct_portal_start(&portal) || !watch_start(&w, "metadata", &portal, true)) {
		ct_portal_close(&portal);
		return;
	}
	int one = 1;
	const int32_t at[2] = {cursor_x, cursor_y};
	/* The first share of the run: the compositor's first GPU captures take longest. */
	bool first = watch_until(&w, has_frames, &one, 3 * WAIT_MS) &&
		watch_until(&w, cursor_with_image_at, at, 3 * WAIT_MS);
	ZT_CHECK(first, "a frame, and the cursor with its image at %d,%d "
		"(frames %d, meta %d, valid %d, at %d,%d)", cursor_x, cursor_y, w.frames,
		w.cursor_meta, w.cursor_valid, w.cx, w.cy);
	if (!first) {
		ct_print_log(stack_dir, ct_backend_log(CT_BACKEND_ZEROCAP));
	}
	pw_thread_loop_lock(w.pw.loop);
	ZT_CHECK(w.hx == 0 && w.hy == 0, "hotspot 0,0 (got %d,%d)", w.hx, w.hy);
	ZT_CHECK(w.bitmaps >= 1 && w.bitmap_w == ZT_ARROW_WIDTH &&
		w.bitmap_h == ZT_ARROW_HEIGHT && w.bitmap_bad == 0,
		"the bitmap is the arrow (%d bitmaps, %ux%u, %d pixels differ)", w.bitmaps,
		w.bitmap_w, w.bitmap_h, w.bitmap_bad);
	ZT_CHECK(w.cursor_pixels == 0, "the frame holds no cursor (%d arrow pixels at %d,%d)",
		w.cursor_pixels, cursor_x, cursor_y);
	pw_thread_loop_unlock(w.pw.loop);

	/*
	 * The picture is still (once the capture indicator's border is drawn):
	 * the move comes in a buffer of its own.
	 */
	settle(&w);
	pw_thread_loop_lock(w.pw.loop);
	int frames = w.frames, bitmaps = w.bitmaps;
	pw_thread_loop_unlock(w.pw.loop);
	/*
	 * The compositor sends two frames of a still picture; the backend
	 * sends its newest one again in case PipeWire lost them as the
	 * consumer started. Not in the VM: there this consumer keeps each
	 * buffer while it compares it with EGL (up to a second), and a buffer
	 * still with the consumer was not lost: it is not sent again.
	 */
	ZT_CHECK(take_dmabuf || frames >= 3, "the still picture came again (%d frames)", frames);
	const int32_t moved[2] = {420, 260};
	ZT_CHECK(zt_cmd(comp, "cursor %d %d", moved[0], moved[1]), "cursor: %s", comp->reply);
	ZT_CHECK(watch_until(&w, cursor_at, moved, WAIT_MS), "the cursor moved to 420,260 "
		"(at %d,%d)", w.cx, w.cy);
	pw_thread_loop_lock(w.pw.loop);
	ZT_CHECK(w.empty >= 1 && w.frames == frames, "the move came without pixels "
		"(%d empty buffers, frames %d -> %d)", w.empty, frames, w.frames);
	ZT_CHECK(w.bitmaps > bitmaps && w.bitmap_bad == 0, "the bitmap comes with the move "
		"too (a consumer that missed buffers still has it)");
	pw_thread_loop_unlock(w.pw.loop);

	set_mark(comp, 0x00ff00);
	const uint32_t green = 0x00ff00;
	ZT_CHECK(watch_until(&w, mark_is, &green, WAIT_MS), "a change of the picture streams");
	/* The mark (20,20 40x40) changed colour: the damage says that, not the whole output. */
	pw_thread_loop_lock(w.pw.loop);
	const struct damage_box *c = &w.change;
	ZT_CHECK(w.damage_meta && c->n > 0 && c->x1 <= 20 && c->y1 <= 20 && c->x2 >= 60 &&
		c->y2 >= 60 && (c->x2 - c->x1) * (c->y2 - c->y1) < OUTPUT_W * OUTPUT_H / 4,
		"VideoDamage holds the mark and little else (%d regions, %d,%d-%d,%d)", c->n, c->x1,
		c->y1, c->x2, c->y2);
	pw_thread_loop_unlock(w.pw.loop);
	ZT_CHECK(zt_cmd(comp, "cursor hide"), "cursor hide");
	ZT_CHECK(watch_until(&w, cursor_hidden, NULL, WAIT_MS), "a hidden cursor is id 0");
	ZT_CHECK(zt_cmd(comp, "cursor show"), "cursor show");
	check_memory(&w, "metadata");
	ct_consumer_stop(&w.pw);
	ct_portal_close(&portal);
}

static void test_mode_change(struct zt_compositor *comp, GDBusConnection *bus) {
	zt_section("the output's mode changes mid-stream: the stream renegotiates (cursor hidden)");
	ZT_CHECK(zt_cmd(comp, "cursor %d %d", cursor_x, cursor_y), "cursor: %s", comp->reply);
	struct ct_portal portal = {.bus = bus, .cursor_mode = 1};
	struct watch w;
	/* A consumer of shm only: on dma-buf compositors the backend copies for it. */
	bool dmabuf = take_dmabuf;
	take_dmabuf = false;
	bool started = ct_portal_start(&portal) && watch_start(&w, "modes", &portal, false);
	take_dmabuf = dmabuf;
	if (!started) {
		ct_portal_close(&portal);
		return;
	}
	const uint32_t sizes[][2] = {{800, 600}, {OUTPUT_W, OUTPUT_H}};
	for (size_t i = 0; i < 2; i++) {
		ZT_CHECK(zt_cmd(comp, "output HEADLESS-1 mode %u %u", sizes[i][0], sizes[i][1]),
			"mode: %s", comp->reply);
		ZT_CHECK(watch_until(&w, sized, sizes[i], WAIT_MS), "frames of %ux%u (last %ux%u)",
			sizes[i][0], sizes[i][1], w.width, w.height);
	}
	ZT_CHECK(!w.pw.error, "the consumer's stream has no error (%s)", w.pw.error_text);
	pw_thread_loop_lock(w.pw.loop);
	int memfd = w.pw.memfd_frames, dma = w.pw.dmabuf_frames;
	pw_thread_loop_unlock(w.pw.loop);
	ZT_CHECK(memfd > 0 && dma == 0, "a shm consumer gets memfds (%d, %d dma-bufs)", memfd,
		dma);
	/* A frame of a settled picture (right after a mode change the old one may show). */
	settle(&w);
	set_mark(comp, 0x0000ff);
	const uint32_t blue = 0x0000ff;
	ZT_CHECK(watch_until(&w, mark_is, &blue, WAIT_MS), "a change after the modes streams");
	pw_thread_loop_lock(w.pw.loop);
	ZT_CHECK(w.cursor_pixels == 0, "cursor mode Hidden: no cursor in the frames (%d arrow "
		"pixels)", w.cursor_pixels);
	pw_thread_loop_unlock(w.pw.loop);
	ct_consumer_stop(&w.pw);
	ct_portal_close(&portal); /* fails the test if the session ended */
}

/* The child: a consumer of node through fd that says "frame" on stdout at its first. */
static int child_consumer(int fd, uint32_t node) {
	pw_init(NULL, NULL);
	struct watch w;
	memset(&w, 0, sizeof(w));
	const struct ct_consumer_options options = {.dmabuf = take_dmabuf, .sync_device = SYNC_DEVICE};
	if (!ct_consumer_start_with(&w.pw, "doomed", fd, node, OUTPUT_W, OUTPUT_H, on_frame, &w,
			&options)) {
		return 1;
	}
	int one = 1;
	if (watch_until(&w, has_frames, &one, WAIT_MS)) {
		printf("frame\n");
		fflush(stdout);
	}
	pause(); /* until killed */
	return 0;
}

/*
 * Runs argv with fd inherited (as it is numbered here) and stdout on out (-1:
 * ours); the pid, or -1.
 */
static pid_t spawn_with_fd(const char *const *argv, int fd, int out) {
	pid_t child = fork();
	if (child == 0) {
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
		}
		fcntl(fd, F_SETFD, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return child;
}

static void test_consumer_killed(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("a consumer killed mid-stream costs nothing but its stream");
	struct ct_portal portal = {.bus = bus};
	if (!ct_portal_start(&portal)) {
		ct_portal_close(&portal);
		return;
	}
	int fd = ct_portal_remote(&portal);
	int out[2];
	if (fd < 0 || pipe2(out, O_CLOEXEC) < 0) {
		ZT_CHECK(false, "remote or pipe");
		ct_portal_close(&portal);
		return;
	}
	char fd_arg[16], node_arg[16];
	snprintf(fd_arg, sizeof(fd_arg), "%d", fd);
	snprintf(node_arg, sizeof(node_arg), "%u", portal.node);
	const char *argv[] = {"/proc/self/exe", "--consume", fd_arg, node_arg, NULL};
	pid_t child = spawn_with_fd(argv, fd, out[1]);
	close(out[1]);
	close(fd);
	char line[32] = "";
	FILE *from = fdopen(out[0], "r");
	struct pollfd pfd = {.fd = out[0], .events = POLLIN};
	bool got = poll(&pfd, 1, WAIT_MS) == 1 && fgets(line, sizeof(line), from) != NULL &&
		strcmp(line, "frame\n") == 0;
	ZT_CHECK(got, "the consumer process got a frame");
	kill(child, SIGKILL);
	ZT_CHECK(ct_wait(child, 5000) != -1, "the consumer process is gone");
	fclose(from);
	set_mark(comp, 0x0000ff);
	usleep(300000);
	ZT_CHECK(kill(stack->backend, 0) == 0 &&
		ct_name_has_owner(bus, ct_backend_bus_name(CT_BACKEND_ZEROCAP)),
		"the backend lives on");
	struct watch w;
	if (watch_start(&w, "after", &portal, false)) {
		set_mark(comp, 0xffff00);
		const uint32_t yellow = 0xffff00;
		ZT_CHECK(watch_until(&w, mark_is, &yellow, WAIT_MS),
			"a new consumer of the same share sees the next change");
		ZT_CHECK(w.cursor_pixels > 0, "cursor mode Embedded: the arrow is in the frames");
		check_memory(&w, "after the killed consumer");
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&portal);
}

/* GStreamer's pipewiresrc on the portal's remote, as GStreamer applications use it. */
static void test_pipewiresrc(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("GStreamer's pipewiresrc takes the stream");
	struct ct_portal portal = {.bus = bus};
	int fd = -1;
	if (!ct_portal_start(&portal) || (fd = ct_portal_remote(&portal)) < 0) {
		ct_portal_close(&portal);
		return;
	}
	char fd_prop[32], path_prop[32], location[600];
	snprintf(fd_prop, sizeof(fd_prop), "fd=%d", fd);
	snprintf(path_prop, sizeof(path_prop), "path=%u", portal.node);
	snprintf(location, sizeof(location), "location=%s/gst-%%d.png", stack->dir);
	const char *argv[] = {"/usr/bin/gst-launch-1.0", "pipewiresrc", fd_prop, path_prop,
		"num-buffers=3", "!", "videoconvert", "!", "pngenc", "!", "multifilesink",
		location, NULL};
	pid_t gst = spawn_with_fd(argv, fd, -1);
	close(fd);
	/* A still screen sends nothing new: change it until GStreamer has its frames. */
	static const uint32_t colors[] = {0x800000, 0x008000, 0x000080, 0x808000, 0x008080,
		0x800080};
	int status = -1;
	/* Up to 30 s: GStreamer takes its time to start in the emulated VM. */
	for (size_t i = 0; i < 100 && status == -1; i++) {
		set_mark(comp, colors[i % 6]);
		usleep(300000);
		int st;
		if (waitpid(gst, &st, WNOHANG) == gst) {
			status = st;
		}
	}
	if (status == -1) {
		status = ct_wait(gst, 5000);
	}
	bool ended = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ZT_CHECK(ended, "gst-launch-1.0 took 3 buffers and ended (%s)", ct_status_str(status));
	if (!ended) {
		ct_print_log(stack->dir, ct_backend_log(CT_BACKEND_ZEROCAP));
	}
	for (int i = 0; i < 3; i++) {
		char png[640];
		snprintf(png, sizeof(png), "%s/gst-%d.png", stack->dir, i);
		struct ct_image image = {0};
		bool read = ct_read_png(png, &image);
		ZT_CHECK(read && image.width == OUTPUT_W && image.height == OUTPUT_H,
			"GStreamer frame %d: a %dx%d PNG (%dx%d)", i, OUTPUT_W, OUTPUT_H, image.width,
			image.height);
		if (read) {
			uint32_t mark = ct_image_pixel(&image, MARK_X, MARK_Y);
			bool known = false;
			for (size_t c = 0; c < sizeof(colors) / sizeof(colors[0]); c++) {
				known = known || mark == colors[c];
			}
			ZT_CHECK(known || i == 0, "GStreamer frame %d shows one of the marks (%06x)", i,
				mark);
			ZT_CHECK(ct_image_pixel(&image, 600, 400) == BACKGROUND,
				"GStreamer frame %d: the background (%06x)", i,
				ct_image_pixel(&image, 600, 400));
			ct_image_finish(&image);
		}
	}
	ct_portal_close(&portal);
}

/* A consumer that keeps every buffer after two: its share stalls, nothing else does. */
static void test_hoarder(struct zt_compositor *comp, GDBusConnection *bus) {
	zt_section("a consumer that stops returning buffers stalls only its own share");
	struct ct_portal hoard = {.bus = bus}, other = {.bus = bus};
	struct watch h, w;
	memset(&h, 0, sizeof(h));
	int fd = -1;
	bool started = ct_portal_start(&hoard) && (fd = ct_portal_remote(&hoard)) >= 0;
	const struct ct_consumer_options keep = {
		.hold_after = 2, .dmabuf = take_dmabuf, .sync_device = SYNC_DEVICE,
	};
	started = started && ct_consumer_start_with(&h.pw, "hoarder", fd, hoard.node,
		hoard.width, hoard.height, on_frame, &h, &keep);
	if (started && ct_portal_start(&other) && watch_start(&w, "other", &other, false)) {
		static const uint32_t colors[] = {0x102030, 0x203040, 0x304050, 0x405060, 0x506070,
			0x607080, 0x708090, 0x8090a0};
		for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++) {
			set_mark(comp, colors[i]);
			ZT_CHECK(watch_until(&w, mark_is, &colors[i], WAIT_MS),
				"change %zu: the other share streams it (%06x)", i, w.mark);
		}
		pw_thread_loop_lock(h.pw.loop);
		int held = h.pw.held, frames = h.frames;
		pw_thread_loop_unlock(h.pw.loop);
		ZT_CHECK(held > 0 && frames <= 2 + held, "the hoarder keeps what it got (%d kept, "
			"%d frames)", held, frames);
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&other);
	if (started) {
		ct_consumer_stop(&h.pw);
	}
	ZT_CHECK(zt_compositor_alive(comp), "the compositor lives on");
	ct_portal_close(&hoard); /* the hoarder's share is still there */
}

#ifdef ZT_PORTAL_GPU
static void test_import_failure(struct zt_compositor *comp, GDBusConnection *bus) {
	zt_section("a consumer that cannot import its dma-bufs: the stream renegotiates");
	struct ct_portal portal = {.bus = bus};
	struct watch w;
	memset(&w, 0, sizeof(w));
	int fd = -1;
	const struct ct_consumer_options options = {
		.dmabuf = true, .sync_device = SYNC_DEVICE, .egl = true, .reject_modifier = true,
	};
	if (ct_portal_start(&portal) && (fd = ct_portal_remote(&portal)) >= 0 &&
			ct_consumer_start_with(&w.pw, "rejecter", fd, portal.node, portal.width,
				portal.height, on_frame, &w, &options)) {
		static const uint32_t colors[] = {0x3050a0, 0xa05030, 0x30a050};
		for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++) {
			set_mark(comp, colors[i]);
			ZT_CHECK(watch_until(&w, mark_is, &colors[i], WAIT_MS),
				"change %zu streams after the rejection (%06x)", i, w.mark);
		}
		pw_thread_loop_lock(w.pw.loop);
		bool rejected = w.pw.rejected;
		uint64_t bad = w.pw.rejected_modifier, now = w.pw.format.modifier;
		int dmabuf = w.pw.dmabuf_frames, memfd = w.pw.memfd_frames;
		int egl_frames = w.pw.egl_frames, egl_failures = w.pw.egl_failures;
		int egl_wrong = w.pw.egl_wrong;
		pw_thread_loop_unlock(w.pw.loop);
		ZT_CHECK(rejected, "the consumer rejected its first dma-buf frame (modifier 0x%llx)",
			(unsigned long long)bad);
		ZT_CHECK(memfd > 0 || (dmabuf > 0 && now != bad), "the frames came on in %s "
			"(%d dma-buf with modifier 0x%llx, %d memfd)", memfd > 0 ? "memfds" :
			"dma-bufs of another modifier", dmabuf, (unsigned long long)now, memfd);
		const char *log = ct_backend_log(CT_BACKEND_ZEROCAP);
		bool remade = ct_file_contains(stack_dir, log, "re-making the pool with") ||
			ct_file_contains(stack_dir, log, "capturing into shm");
		ZT_CHECK(remade, "the backend re-made its pool for the consumer's new choice");
		fprintf(stderr, "  rejected modifier 0x%llx; then %d dma-buf frames (0x%llx), %d memfd\n",
			(unsigned long long)bad, dmabuf, (unsigned long long)now, memfd);
		bool egl_ok = dmabuf == 0 || (egl_failures == 0 && egl_wrong == 0);
		ZT_CHECK(egl_ok, "the new dma-bufs import with EGL (%d imported, %d failed, "
			"%d pixels differ)", egl_frames, egl_failures, egl_wrong);
		if (!remade || !egl_ok || (memfd == 0 && (dmabuf == 0 || now == bad))) {
			ct_print_log(stack_dir, log);
		}
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&portal);
	ZT_CHECK(zt_compositor_alive(comp), "the compositor lives on");
}
#endif

static bool near(double a, double b) {
	return a - b < 1e-6 && b - a < 1e-6;
}

/* org.freedesktop.portal.Screenshot.PickColor: the picker names a pixel, the colour comes back. */
static void test_pick_color(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("PickColor: the colour of the pixel the picker names");
	set_mark(comp, 0x336699);
	struct ct_portal portal = {.bus = bus};
	if (!ct_portal_start(&portal)) {
		ct_portal_close(&portal);
		return;
	}
	for (int picked = 0; picked < 2; picked++) {
		/* First with no pick (the user picked nothing), then the mark. */
		if (picked) {
			char text[64];
			snprintf(text, sizeof(text), "HEADLESS-1 %d %d\n", MARK_X, MARK_Y);
			ZT_CHECK(ct_stack_write(stack, "pick", text), "pick");
		}
		GVariantBuilder options;
		g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&options, "{sv}", "handle_token",
			g_variant_new_string(picked ? "ztpick1" : "ztpick0"));
		guint32 code = 99;
		GVariant *results = ct_portal_call(&portal, "org.freedesktop.portal.Screenshot",
			"PickColor", g_variant_new("(sa{sv})", "", &options), "PickColor", &code);
		double r = -1, g = -1, b = -1;
		if (results != NULL) {
			g_variant_lookup(results, "color", "(ddd)", &r, &g, &b);
		}
		if (!picked) {
			ZT_CHECK(code == 2, "nothing picked: PickColor answers 2 (got %u)", code);
			continue;
		}
		ZT_CHECK(code == 0 && near(r, 0x33 / 255.0) && near(g, 0x66 / 255.0) &&
			near(b, 0x99 / 255.0), "PickColor answered %u with %.4f %.4f %.4f, "
			"want 0x336699", code, r, g, b);
	}
	ct_stack_remove(stack, "pick");
	ct_portal_close(&portal);
}

static void test_denied(struct ct_stack *stack, GDBusConnection *bus) {
	zt_section("the user cancels the chooser: nothing is shared");
	int asked = ct_stack_chooser_asked(stack);
	ZT_CHECK(ct_stack_write(stack, "deny", "1\n"), "deny");
	struct ct_portal portal = {.bus = bus, .expect_refusal = true};
	bool started = ct_portal_start(&portal);
	ZT_CHECK(!started && portal.start_code == 1, "Start is cancelled (started %d, code %u)",
		started, portal.start_code);
	ZT_CHECK(ct_stack_chooser_asked(stack) == asked + 1, "the chooser was asked");
	ct_stack_remove(stack, "deny");
	portal.session[0] = '\0'; /* the frontend closed it with the refusal */
	ct_portal_close(&portal);
}

static void test_window_resize(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("a window share survives a resize loop");
	struct zt_window win;
	const char *args[] = {"--size", "300x200", NULL};
	if (!zt_window_start(&win, comp, "zt.portal", args)) {
		ZT_CHECK(false, "the window client started");
		return;
	}
	ZT_CHECK(ct_stack_write(stack, "choice", "window:zt.portal\n"), "choice");
	struct ct_portal portal = {.bus = bus, .types = 2};
	struct watch w;
	if (ct_portal_start(&portal) && watch_start(&w, "window", &portal, false)) {
		ZT_CHECK(portal.width == 300 && portal.height == 200, "Start: 300x200 (got %dx%d)",
			portal.width, portal.height);
		static const uint32_t sizes[][2] = {
			{400, 250}, {220, 300}, {500, 120}, {301, 201}, {640, 400}, {300, 200},
		};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			ZT_CHECK(zt_cmd(comp, "window-resize %d %u %u", win.id, sizes[i][0],
				sizes[i][1]), "window-resize: %s", comp->reply);
			bool ok = watch_until(&w, sized, sizes[i], WAIT_MS);
			ZT_CHECK(ok, "resize %zu: frames of %ux%u (last %ux%u)", i, sizes[i][0],
				sizes[i][1], w.width, w.height);
			if (!ok) {
				ct_print_log(stack_dir, ct_backend_log(CT_BACKEND_ZEROCAP));
				break;
			}
		}
		ZT_CHECK(!w.pw.error, "the consumer's stream has no error (%s)", w.pw.error_text);
		check_memory(&w, "window");
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&portal); /* fails the test if the session ended */
	ct_stack_remove(stack, "choice");
	zt_window_stop(&win);
}

/* A share with a consumer that got a frame; false (checked) if not. */
static bool share_streams(struct ct_portal *portal, struct watch *w, const char *name,
		const char *what) {
	bool started = ct_portal_start(portal) && watch_start(w, name, portal, false);
	int one = 1;
	ZT_CHECK(started && watch_until(w, has_frames, &one, WAIT_MS), "%s", what);
	return started;
}

static void test_backend_restart(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("the backend dies mid-share and comes back: new shares stream");
	struct ct_portal portal = {.bus = bus};
	struct watch w;
	bool streaming = share_streams(&portal, &w, "before", "a share streams");
	ZT_CHECK(ct_stack_restart_backend(stack, bus, SIGKILL), "the backend started again");
	if (streaming) {
		ct_consumer_stop(&w.pw);
	}
	portal.session[0] = '\0'; /* went with the backend */
	ct_portal_close(&portal);
	ZT_CHECK(kill(stack->xdp, 0) == 0, "the frontend lives on");
	struct ct_portal again = {.bus = bus};
	/* The frontend reads the new backend's properties afresh: a moment of 0 first. */
	guint32 types = 0;
	for (long start = ct_now_ms(); types == 0 && ct_now_ms() - start < WAIT_MS;) {
		types = ct_portal_property(&again, "AvailableSourceTypes");
		if (types == 0) {
			usleep(100000);
		}
	}
	ZT_CHECK(types != 0, "the frontend offers the restarted backend's sources");
	if (ct_portal_start(&again) && watch_start(&w, "after restart", &again, false)) {
		set_mark(comp, 0xff00ff);
		const uint32_t magenta = 0xff00ff;
		ZT_CHECK(watch_until(&w, mark_is, &magenta, WAIT_MS), "the new share streams");
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&again);
}

static void handle_closed(GDBusConnection *bus, const char *sender, const char *path,
		const char *interface, const char *signal, GVariant *parameters, gpointer data) {
	(*(int *)data)++;
}

/* Listens for Session::Closed of portal's session; *closed counts them. */
static guint watch_closed(GDBusConnection *bus, const struct ct_portal *portal, int *closed) {
	*closed = 0;
	return g_dbus_connection_signal_subscribe(bus, CT_PORTAL_NAME,
		"org.freedesktop.portal.Session", "Closed", portal->session, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, handle_closed, closed, NULL);
}

static void wait_closed(const int *closed) {
	for (long start = ct_now_ms(); *closed == 0 && ct_now_ms() - start < WAIT_MS;) {
		if (!g_main_context_iteration(NULL, FALSE)) {
			usleep(10000);
		}
	}
}

static void test_policy(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("the policy shows the capture globals to the portal only; revoking ends a share");
	struct ct_portal portal = {.bus = bus};
	struct watch w;
	bool streaming = share_streams(&portal, &w, "listed", "the backend streams");
	const char *shot[] = {getenv("ZC_SHOT"), "-q", "-", NULL};
	ZT_CHECK(shot[0] != NULL && !ct_run(stack->dir, comp->socket, shot, 10000, "shot.log") &&
		ct_file_contains(stack->dir, "shot.log", "does not advertise"),
		"zerocap-shot, not listed, sees no capture globals");
	int closed;
	guint sub = watch_closed(bus, &portal, &closed);
	ZT_CHECK(zt_cmd(comp, "revoke %d", (int)stack->backend), "revoke: %s", comp->reply);
	wait_closed(&closed);
	ZT_CHECK(closed == 1, "revoked: the application got Session::Closed (%d)", closed);
	g_dbus_connection_signal_unsubscribe(bus, sub);
	if (streaming) {
		ct_consumer_stop(&w.pw);
	}
	portal.session[0] = '\0';
	ct_portal_close(&portal);
	ZT_CHECK(kill(stack->backend, 0) == 0, "the backend lives on");
	struct ct_portal again = {.bus = bus};
	if (ct_portal_start(&again) && watch_start(&w, "after revoke", &again, false)) {
		set_mark(comp, 0x00ffff);
		const uint32_t cyan = 0x00ffff;
		ZT_CHECK(watch_until(&w, mark_is, &cyan, WAIT_MS), "a new share streams (%d frames, "
			"the mark %06x)", w.frames, w.mark);
		ct_consumer_stop(&w.pw);
	}
	ct_portal_close(&again);
}

static void test_compositor_gone(struct zt_compositor *comp, struct ct_stack *stack,
		GDBusConnection *bus) {
	zt_section("the compositor goes away: the session closes, the backend exits cleanly");
	struct ct_portal portal = {.bus = bus};
	struct watch w;
	bool streaming = share_streams(&portal, &w, "last", "a share streams");
	int closed;
	guint sub = watch_closed(bus, &portal, &closed);
	zt_compositor_stop(comp);
	wait_closed(&closed);
	ZT_CHECK(closed == 1, "the application got Session::Closed (%d)", closed);
	int status = ct_wait(stack->backend, 5000);
	ZT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the backend exited with status 0 (%s)", ct_status_str(status));
	stack->backend = -1;
	ZT_CHECK(ct_file_contains(stack->dir, ct_backend_log(CT_BACKEND_ZEROCAP),
		"the compositor went away"), "the backend said why");
	g_dbus_connection_signal_unsubscribe(bus, sub);
	if (streaming) {
		ct_consumer_stop(&w.pw);
	}
	portal.session[0] = '\0';
	ct_portal_close(&portal);
	ZT_CHECK(kill(stack->xdp, 0) == 0, "the frontend lives on");
}

/* A crash says where it happened (there is no debugger in the test beds). */
static void handle_crash(int sig) {
	void *frames[64];
	int n = backtrace(frames, 64);
	fprintf(stderr, "test-portal-life: signal %d, backtrace:\n", sig);
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char *argv[]) {
	signal(SIGSEGV, handle_crash);
	if (argc == 4 && strcmp(argv[1], "--consume") == 0) {
		return child_consumer(atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10));
	}
	static const char *const programs[] = {"dbus-daemon", "pipewire", "wireplumber", CT_XDP};
	bool have_all = getenv("ZC_PORTAL") != NULL;
	ZT_CHECK(have_all, "ZC_PORTAL is set");
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed", programs[i]);
		have_all = have_all && have;
	}
	if (!have_all) {
		return zt_finish();
	}
	signal(SIGPIPE, SIG_IGN);
	pw_init(NULL, NULL);
	struct ct_stack stack = {0};
	struct zt_compositor comp;
	char size[32];
	snprintf(size, sizeof(size), "%dx%d", OUTPUT_W, OUTPUT_H);
	const char *args[] = {"--output", size, "--policy=list", "--allow",
		"xdg-desktop-portal-zerocap", NULL};
	GDBusConnection *bus = NULL;
	if (ct_tmpdir(stack.dir, sizeof(stack.dir))) {
		if (zt_compositor_start(&comp, args)) {
			const struct ct_stack_options options = {
				.backend = CT_BACKEND_ZEROCAP, .output = "HEADLESS-1", .max_fps = 60,
			};
			stack_dir = stack.dir;
			if (ct_stack_start(&stack, &options, &comp, &bus)) {
				test_metadata(&comp, bus);
				test_mode_change(&comp, bus);
				test_consumer_killed(&comp, &stack, bus);
				test_pipewiresrc(&comp, &stack, bus);
				test_pick_color(&comp, &stack, bus);
				test_hoarder(&comp, bus);
#ifdef ZT_PORTAL_GPU
				test_import_failure(&comp, bus);
#endif
				test_denied(&stack, bus);
				test_window_resize(&comp, &stack, bus);
				test_backend_restart(&comp, &stack, bus);
				test_policy(&comp, &stack, bus);
				test_compositor_gone(&comp, &stack, bus);
				g_object_unref(bus);
				ct_stack_stop(&stack);
			} else {
				zt_compositor_stop(&comp);
			}
		}
		ct_tmpdir_remove(stack.dir);
	}
	pw_deinit();
	return zt_finish();
}
