/*
 * zt-window-client: an xdg-shell window with known content for the window
 * capture tests. wl_shm only, so it runs on the pixman renderer.
 *
 *   zt-window-client --app-id ID [--title T] [--size WxH] [--scale N]
 *
 * The main surface shows zt_window_pattern(x, y, g) in buffer pixels (g
 * starts at 0). Commands on stdin, each answered "ok" once committed and
 * round-tripped ("error ..." otherwise):
 *   draw                 g++, redraw everything
 *   paint X Y W H        that buffer rect turns 0xff00ff00, damaged alone
 *   sub X Y W H [transform T] [viewport SX SY SW SH]
 *                        a desync subsurface at X,Y (logical) of W x H logical,
 *                        pattern g=100 in its buffer (scale as the main
 *                        surface); T a wl_output transform number; a viewport
 *                        crops the buffer to SX,SY SWxSH buffer pixels shown at
 *                        W x H
 *   sub-remove
 *   popup X Y W H        an xdg_popup at X,Y (logical) of W x H, pattern g=200
 *   popup-close
 *   title S, app-id S
 *   size                 "ok W H": the current logical size
 *   quit
 * A configure with a size redraws at that size; then "event configured W H".
 *
 * --cursor: on pointer enter it sets a cursor surface of its own, 16x16,
 * pattern g=50, hotspot 2,3 (test-labwc.py checks captures draw it).
 *
 * --animate PERCENT (for bench/run): about 30 times a second a square of
 * PERCENT of the window's area moves one step and changes colour, drawn in
 * place into one buffer and damaged alone (old and new place).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include "viewporter-client-protocol.h"
#include "window-pattern.h"
#include "xdg-shell-client-protocol.h"

static uint64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct client {
	struct wl_display *display;
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wp_viewporter *viewporter;
	struct wl_seat *seat;
	struct wl_pointer *pointer;
	bool cursor; /* --cursor */
	struct wl_surface *cursor_surface;

	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	int width, height, scale, g;
	bool configured, closed;
	int pending_w, pending_h;

	struct wl_surface *sub_surface;
	struct wl_subsurface *subsurface;
	struct wp_viewport *sub_viewport;

	struct wl_surface *popup_surface;
	struct xdg_surface *popup_xdg;
	struct xdg_popup *popup;
	struct xdg_positioner *positioner;
	int popup_w, popup_h;
	bool popup_configured;

	uint32_t *main_pixels; /* the last main buffer's content, for paint */

	/* --animate */
	double animate; /* percent of the area; 0: off */
	struct wl_buffer *anim_buffer;
	uint32_t *anim_data;
	int anim_w, anim_h, anim_x, anim_step; /* the square (the whole window at 100%) */
};

static void buffer_release(void *data, struct wl_buffer *buffer) {
	wl_buffer_destroy(buffer);
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

/*
 * A w x h XRGB8888 wl_buffer on a fresh memfd; *data gets the mapping (the
 * caller unmaps it, size w * h * 4). once: destroyed on its release.
 */
static struct wl_buffer *shm_buffer(struct client *c, int w, int h, bool once,
		uint32_t **data) {
	size_t size = (size_t)w * h * 4;
	int fd = memfd_create("zt-window", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	*data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*data == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(c->shm, fd, (int32_t)size);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(pool, 0, w, h, w * 4,
		WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	if (once) {
		wl_buffer_add_listener(buffer, &buffer_listener, NULL);
	}
	return buffer;
}

/* A buffer of the pattern of generation g; copy (may be NULL) gets its pixels. */
static struct wl_buffer *make_buffer(struct client *c, int w, int h, int g, uint32_t **copy) {
	uint32_t *data;
	struct wl_buffer *buffer = shm_buffer(c, w, h, true, &data);
	if (buffer == NULL) {
		return NULL;
	}
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			data[y * w + x] = zt_window_pattern(x, y, g);
		}
	}
	size_t size = (size_t)w * h * 4;
	if (copy != NULL) {
		free(*copy);
		*copy = malloc(size);
		if (*copy != NULL) {
			memcpy(*copy, data, size);
		}
	}
	munmap(data, size);
	return buffer;
}

static void draw_main(struct client *c) {
	int w = c->width * c->scale, h = c->height * c->scale;
	struct wl_buffer *buffer = make_buffer(c, w, h, c->g, &c->main_pixels);
	wl_surface_set_buffer_scale(c->surface, c->scale);
	wl_surface_attach(c->surface, buffer, 0, 0);
	wl_surface_damage_buffer(c->surface, 0, 0, w, h);
	wl_surface_commit(c->surface);
}

/* paint: a copy of the last content with the rect green, damaged alone. */
static bool paint(struct client *c, int px, int py, int pw, int ph) {
	int w = c->width * c->scale, h = c->height * c->scale;
	if (c->main_pixels == NULL || px < 0 || py < 0 || pw <= 0 || ph <= 0 ||
			px + pw > w || py + ph > h) {
		return false;
	}
	for (int y = py; y < py + ph; y++) {
		for (int x = px; x < px + pw; x++) {
			c->main_pixels[y * w + x] = 0xff00ff00;
		}
	}
	uint32_t *data;
	struct wl_buffer *buffer = shm_buffer(c, w, h, true, &data);
	if (buffer == NULL) {
		return false;
	}
	memcpy(data, c->main_pixels, (size_t)w * h * 4);
	munmap(data, (size_t)w * h * 4);
	wl_surface_attach(c->surface, buffer, 0, 0);
	wl_surface_damage_buffer(c->surface, px, py, pw, ph);
	wl_surface_commit(c->surface);
	return true;
}

/* The animation's buffer: the pattern once, mapped for drawing in place. */
static bool animate_init(struct client *c) {
	int w = c->width * c->scale, h = c->height * c->scale;
	c->anim_buffer = shm_buffer(c, w, h, false, &c->anim_data);
	if (c->anim_buffer == NULL) {
		return false;
	}
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			c->anim_data[y * w + x] = zt_window_pattern(x, y, 0);
		}
	}
	if (c->animate >= 100) {
		c->anim_w = w;
		c->anim_h = h;
		return true;
	}
	int side = 1;
	while ((double)(side + 1) * (side + 1) <= c->animate / 100.0 * w * h) {
		side++;
	}
	c->anim_w = c->anim_h = side < w && side < h ? side : (w < h ? w : h);
	return true;
}

static void animate_fill(struct client *c, int x0, bool square, uint32_t color) {
	int w = c->width * c->scale;
	for (int y = 0; y < c->anim_h; y++) {
		for (int x = x0; x < x0 + c->anim_w; x++) {
			c->anim_data[y * w + x] = square ? color : zt_window_pattern(x, y, 0);
		}
	}
	wl_surface_damage_buffer(c->surface, x0, 0, c->anim_w, c->anim_h);
}

static void animate_tick(struct client *c) {
	int w = c->width * c->scale;
	if (c->anim_buffer == NULL) {
		return;
	}
	int span = w - c->anim_w;
	animate_fill(c, c->anim_x, false, 0);
	c->anim_step++;
	c->anim_x = span > 0 ? (c->anim_step * 7) % span : 0;
	animate_fill(c, c->anim_x, true, (c->anim_step & 1) ? 0xffff8000u : 0xff0080ffu);
	wl_surface_attach(c->surface, c->anim_buffer, 0, 0);
	wl_surface_commit(c->surface);
}

static void sub_remove(struct client *c) {
	if (c->sub_viewport != NULL) {
		wp_viewport_destroy(c->sub_viewport);
		c->sub_viewport = NULL;
	}
	if (c->subsurface != NULL) {
		wl_subsurface_destroy(c->subsurface);
		wl_surface_destroy(c->sub_surface);
		c->subsurface = NULL;
		c->sub_surface = NULL;
		wl_surface_commit(c->surface);
	}
}

static bool sub_add(struct client *c, char **argv, int argc) {
	int x, y, w, h, transform = 0;
	int vp[4] = {0};
	bool viewport = false;
	if (argc < 5 || sscanf(argv[1], "%d", &x) != 1 || sscanf(argv[2], "%d", &y) != 1 ||
			sscanf(argv[3], "%d", &w) != 1 || sscanf(argv[4], "%d", &h) != 1 ||
			w <= 0 || h <= 0) {
		return false;
	}
	for (int i = 5; i < argc; i++) {
		if (strcmp(argv[i], "transform") == 0 && i + 1 < argc) {
			transform = atoi(argv[++i]);
		} else if (strcmp(argv[i], "viewport") == 0 && i + 4 < argc) {
			for (int k = 0; k < 4; k++) {
				vp[k] = atoi(argv[++i]);
			}
			viewport = true;
		} else {
			return false;
		}
	}
	if (viewport && c->viewporter == NULL) {
		return false;
	}
	sub_remove(c);
	c->sub_surface = wl_compositor_create_surface(c->compositor);
	c->subsurface = wl_subcompositor_get_subsurface(c->subcompositor, c->sub_surface,
		c->surface);
	wl_subsurface_set_position(c->subsurface, x, y);
	wl_subsurface_set_desync(c->subsurface);
	/* The buffer: the logical size at scale, turned by the transform; or the viewport's source. */
	int bw = w * c->scale, bh = h * c->scale;
	if (transform % 2 == 1) {
		int t = bw;
		bw = bh;
		bh = t;
	}
	if (viewport) {
		bw = vp[0] + vp[2];
		bh = vp[1] + vp[3];
		c->sub_viewport = wp_viewporter_get_viewport(c->viewporter, c->sub_surface);
		wp_viewport_set_source(c->sub_viewport, wl_fixed_from_int(vp[0]),
			wl_fixed_from_int(vp[1]), wl_fixed_from_int(vp[2]), wl_fixed_from_int(vp[3]));
		wp_viewport_set_destination(c->sub_viewport, w, h);
	} else {
		wl_surface_set_buffer_scale(c->sub_surface, c->scale);
	}
	wl_surface_set_buffer_transform(c->sub_surface, transform);
	struct wl_buffer *buffer = make_buffer(c, bw, bh, 100, NULL);
	wl_surface_attach(c->sub_surface, buffer, 0, 0);
	wl_surface_damage_buffer(c->sub_surface, 0, 0, bw, bh);
	wl_surface_commit(c->sub_surface);
	wl_surface_commit(c->surface);
	return true;
}

static void popup_configure(void *data, struct xdg_popup *popup, int32_t x, int32_t y,
		int32_t w, int32_t h) {
}

static void popup_done(void *data, struct xdg_popup *popup) {
}

static void popup_repositioned(void *data, struct xdg_popup *popup, uint32_t token) {
}

static const struct xdg_popup_listener popup_listener = {
	.configure = popup_configure,
	.popup_done = popup_done,
	.repositioned = popup_repositioned,
};

static void popup_xdg_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	struct client *c = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	if (!c->popup_configured) {
		int w = c->popup_w * c->scale, h = c->popup_h * c->scale;
		struct wl_buffer *buffer = make_buffer(c, w, h, 200, NULL);
		wl_surface_set_buffer_scale(c->popup_surface, c->scale);
		wl_surface_attach(c->popup_surface, buffer, 0, 0);
		wl_surface_damage_buffer(c->popup_surface, 0, 0, w, h);
	}
	c->popup_configured = true;
	wl_surface_commit(c->popup_surface);
}

static const struct xdg_surface_listener popup_xdg_listener = {
	.configure = popup_xdg_configure,
};

static void popup_close(struct client *c) {
	if (c->popup != NULL) {
		xdg_popup_destroy(c->popup);
		xdg_surface_destroy(c->popup_xdg);
		wl_surface_destroy(c->popup_surface);
		xdg_positioner_destroy(c->positioner);
		c->popup = NULL;
	}
}

static bool popup_open(struct client *c, char **argv, int argc) {
	int x, y, w, h;
	if (argc != 5 || sscanf(argv[1], "%d", &x) != 1 || sscanf(argv[2], "%d", &y) != 1 ||
			sscanf(argv[3], "%d", &w) != 1 || sscanf(argv[4], "%d", &h) != 1 ||
			w <= 0 || h <= 0) {
		return false;
	}
	popup_close(c);
	c->popup_w = w;
	c->popup_h = h;
	c->popup_configured = false;
	c->positioner = xdg_wm_base_create_positioner(c->wm_base);
	xdg_positioner_set_size(c->positioner, w, h);
	xdg_positioner_set_anchor_rect(c->positioner, x, y, 1, 1);
	xdg_positioner_set_anchor(c->positioner, XDG_POSITIONER_ANCHOR_TOP_LEFT);
	xdg_positioner_set_gravity(c->positioner, XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT);
	c->popup_surface = wl_compositor_create_surface(c->compositor);
	c->popup_xdg = xdg_wm_base_get_xdg_surface(c->wm_base, c->popup_surface);
	xdg_surface_add_listener(c->popup_xdg, &popup_xdg_listener, c);
	c->popup = xdg_surface_get_popup(c->popup_xdg, c->xdg_surface, c->positioner);
	xdg_popup_add_listener(c->popup, &popup_listener, c);
	wl_surface_commit(c->popup_surface);
	for (int i = 0; i < 50 && !c->popup_configured; i++) {
		if (wl_display_roundtrip(c->display) < 0) {
			return false;
		}
	}
	return c->popup_configured;
}

static void toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t w,
		int32_t h, struct wl_array *states) {
	struct client *c = data;
	c->pending_w = w;
	c->pending_h = h;
}

static void toplevel_close(void *data, struct xdg_toplevel *toplevel) {
	struct client *c = data;
	c->closed = true;
}

static void toplevel_bounds(void *data, struct xdg_toplevel *toplevel, int32_t w, int32_t h) {
}

static void toplevel_caps(void *data, struct xdg_toplevel *toplevel, struct wl_array *caps) {
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
	.configure_bounds = toplevel_bounds,
	.wm_capabilities = toplevel_caps,
};

static void xdg_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	struct client *c = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	bool resized = c->pending_w > 0 && c->pending_h > 0 &&
		(c->pending_w != c->width || c->pending_h != c->height);
	if (resized) {
		c->width = c->pending_w;
		c->height = c->pending_h;
	}
	if (!c->configured || resized) {
		draw_main(c);
	} else {
		wl_surface_commit(c->surface);
	}
	if (c->configured && resized) {
		printf("event configured %d %d\n", c->width, c->height);
		fflush(stdout);
	}
	c->configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_configure,
};

static void wm_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_ping,
};

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
		const char *interface, uint32_t version) {
	struct client *c = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		c->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
	} else if (strcmp(interface, wl_subcompositor_interface.name) == 0) {
		c->subcompositor = wl_registry_bind(registry, name, &wl_subcompositor_interface, 1);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		c->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		c->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 3);
		xdg_wm_base_add_listener(c->wm_base, &wm_base_listener, c);
	} else if (strcmp(interface, wp_viewporter_interface.name) == 0) {
		c->viewporter = wl_registry_bind(registry, name, &wp_viewporter_interface, 1);
	} else if (c->cursor && strcmp(interface, wl_seat_interface.name) == 0 && c->seat == NULL) {
		c->seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
	}
}

#define CURSOR_SIZE 16

static void pointer_enter(void *data, struct wl_pointer *pointer, uint32_t serial,
		struct wl_surface *surface, wl_fixed_t x, wl_fixed_t y) {
	struct client *c = data;
	wl_pointer_set_cursor(pointer, serial, c->cursor_surface, 2, 3);
}

static void pointer_leave(void *data, struct wl_pointer *pointer, uint32_t serial,
		struct wl_surface *surface) {
}

static void pointer_motion(void *data, struct wl_pointer *pointer, uint32_t time,
		wl_fixed_t x, wl_fixed_t y) {
}

static void pointer_button(void *data, struct wl_pointer *pointer, uint32_t serial,
		uint32_t time, uint32_t button, uint32_t state) {
}

static void pointer_axis(void *data, struct wl_pointer *pointer, uint32_t time,
		uint32_t axis, wl_fixed_t value) {
}

static const struct wl_pointer_listener pointer_listener = {
	.enter = pointer_enter,
	.leave = pointer_leave,
	.motion = pointer_motion,
	.button = pointer_button,
	.axis = pointer_axis,
};

/* The cursor surface of --cursor, and the pointer that shows it. */
static bool cursor_init(struct client *c) {
	if (c->seat == NULL) {
		return false;
	}
	struct wl_buffer *buffer = make_buffer(c, CURSOR_SIZE, CURSOR_SIZE, 50, NULL);
	if (buffer == NULL) {
		return false;
	}
	c->cursor_surface = wl_compositor_create_surface(c->compositor);
	wl_surface_attach(c->cursor_surface, buffer, 0, 0);
	wl_surface_damage(c->cursor_surface, 0, 0, CURSOR_SIZE, CURSOR_SIZE);
	wl_surface_commit(c->cursor_surface);
	c->pointer = wl_seat_get_pointer(c->seat);
	wl_pointer_add_listener(c->pointer, &pointer_listener, c);
	return true;
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void answer(struct client *c, bool ok) {
	ok = ok && wl_display_roundtrip(c->display) >= 0;
	printf(ok ? "ok\n" : "error\n");
	fflush(stdout);
}

/* One stdin line; false on quit. */
static bool command(struct client *c, char *line) {
	char *argv[16];
	int argc = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\n", &save); t != NULL && argc < 16;
			t = strtok_r(NULL, " \t\n", &save)) {
		argv[argc++] = t;
	}
	if (argc == 0) {
		return true;
	}
	const char *cmd = argv[0];
	int x, y, w, h;
	if (strcmp(cmd, "quit") == 0) {
		return false;
	} else if (strcmp(cmd, "draw") == 0) {
		c->g++;
		draw_main(c);
		answer(c, true);
	} else if (strcmp(cmd, "paint") == 0 && argc == 5 && sscanf(argv[1], "%d", &x) == 1 &&
			sscanf(argv[2], "%d", &y) == 1 && sscanf(argv[3], "%d", &w) == 1 &&
			sscanf(argv[4], "%d", &h) == 1) {
		answer(c, paint(c, x, y, w, h));
	} else if (strcmp(cmd, "sub") == 0) {
		answer(c, sub_add(c, argv, argc));
	} else if (strcmp(cmd, "sub-remove") == 0) {
		sub_remove(c);
		answer(c, true);
	} else if (strcmp(cmd, "popup") == 0) {
		answer(c, popup_open(c, argv, argc));
	} else if (strcmp(cmd, "popup-close") == 0) {
		popup_close(c);
		answer(c, true);
	} else if (strcmp(cmd, "title") == 0 && argc == 2) {
		xdg_toplevel_set_title(c->toplevel, argv[1]);
		wl_surface_commit(c->surface);
		answer(c, true);
	} else if (strcmp(cmd, "app-id") == 0 && argc == 2) {
		xdg_toplevel_set_app_id(c->toplevel, argv[1]);
		wl_surface_commit(c->surface);
		answer(c, true);
	} else if (strcmp(cmd, "size") == 0) {
		wl_display_roundtrip(c->display);
		printf("ok %d %d\n", c->width, c->height);
		fflush(stdout);
	} else {
		printf("error unknown command %s\n", cmd);
		fflush(stdout);
	}
	return true;
}

int main(int argc, char *argv[]) {
	struct client c = {.width = 200, .height = 150, .scale = 1};
	const char *app_id = "zt-window", *title = "zt-window";
	static const struct option options[] = {
		{"app-id", required_argument, NULL, 'a'},
		{"title", required_argument, NULL, 't'},
		{"size", required_argument, NULL, 's'},
		{"scale", required_argument, NULL, 'S'},
		{"animate", required_argument, NULL, 'A'},
		{"cursor", no_argument, NULL, 'C'},
		{0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'a': app_id = optarg; break;
		case 't': title = optarg; break;
		case 's':
			if (sscanf(optarg, "%dx%d", &c.width, &c.height) != 2 || c.width <= 0 ||
					c.height <= 0) {
				fprintf(stderr, "bad --size\n");
				return 1;
			}
			break;
		case 'S': c.scale = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'A': c.animate = atof(optarg); break;
		case 'C': c.cursor = true; break;
		default: return 1;
		}
	}
	c.display = wl_display_connect(NULL);
	if (c.display == NULL) {
		fprintf(stderr, "zt-window-client: cannot connect\n");
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(c.display);
	wl_registry_add_listener(registry, &registry_listener, &c);
	wl_display_roundtrip(c.display);
	if (c.compositor == NULL || c.shm == NULL || c.wm_base == NULL ||
			c.subcompositor == NULL) {
		fprintf(stderr, "zt-window-client: globals missing\n");
		return 1;
	}
	if (c.cursor && !cursor_init(&c)) {
		fprintf(stderr, "zt-window-client: no seat for --cursor\n");
		return 1;
	}
	c.surface = wl_compositor_create_surface(c.compositor);
	c.xdg_surface = xdg_wm_base_get_xdg_surface(c.wm_base, c.surface);
	xdg_surface_add_listener(c.xdg_surface, &xdg_surface_listener, &c);
	c.toplevel = xdg_surface_get_toplevel(c.xdg_surface);
	xdg_toplevel_add_listener(c.toplevel, &toplevel_listener, &c);
	xdg_toplevel_set_app_id(c.toplevel, app_id);
	xdg_toplevel_set_title(c.toplevel, title);
	wl_surface_commit(c.surface);

	if (c.animate > 0) {
		while (!c.configured && wl_display_dispatch(c.display) >= 0) {
		}
		if (!animate_init(&c)) {
			fprintf(stderr, "zt-window-client: cannot set up the animation\n");
			return 1;
		}
	}
	char line[256];
	size_t len = 0;
	bool running = true, input = true;
	uint64_t next_tick = now_ms() + 33;
	while (running && !c.closed) {
		wl_display_flush(c.display);
		struct pollfd fds[2] = {
			{.fd = wl_display_get_fd(c.display), .events = POLLIN},
			{.fd = input ? STDIN_FILENO : -1, .events = POLLIN},
		};
		int timeout = -1;
		if (c.animate > 0) {
			uint64_t now = now_ms();
			timeout = next_tick > now ? (int)(next_tick - now) : 0;
		}
		int ready = poll(fds, 2, timeout);
		if (ready < 0 && errno != EINTR) {
			break;
		}
		if (c.animate > 0 && now_ms() >= next_tick) {
			animate_tick(&c);
			next_tick += 33;
		}
		if (ready <= 0) {
			continue;
		}
		if (fds[0].revents & POLLIN) {
			if (wl_display_dispatch(c.display) < 0) {
				break;
			}
		}
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, line + len, sizeof(line) - 1 - len);
			if (n <= 0 && c.animate > 0) {
				/* Run by bench/run with no commands to come: animate on. */
				input = false;
				continue;
			}
			if (n <= 0) {
				break;
			}
			len += (size_t)n;
			line[len] = '\0';
			char *nl;
			while (running && (nl = strchr(line, '\n')) != NULL) {
				*nl = '\0';
				running = command(&c, line);
				size_t rest = len - (size_t)(nl + 1 - line);
				memmove(line, nl + 1, rest + 1);
				len = rest;
			}
		}
	}
	free(c.main_pixels);
	wl_display_disconnect(c.display);
	return 0;
}
