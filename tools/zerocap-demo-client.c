/*
 * zerocap-demo-client: an xdg-shell toplevel that draws a square of a known
 * colour on a known background and moves it one step per frame callback.
 * Surface damage covers only the old and new square, so captures of the
 * output see small damage. Exits when the toplevel is closed.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>
#include "xdg-shell-client-protocol.h"

#define N_BUFFERS 3

struct demo_buffer {
	struct demo *demo;
	struct wl_buffer *wl_buffer;
	uint32_t *data;
	size_t size;
	int32_t width, height;
	bool busy;
};

struct demo_rect {
	int32_t x, y, width, height;
};

struct demo {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *xdg_toplevel;
	struct wl_callback *frame_callback;
	struct demo_buffer buffers[N_BUFFERS];

	int32_t width, height;
	int32_t pending_width, pending_height;
	uint32_t color, background;
	bool animate;
	long max_frames;
	const char *title;

	bool configured;
	bool running;
	bool redraw_pending; /* a frame is due but every buffer was busy */
	bool drawn_once;
	long frames;
	int32_t square_x, square_y, dx, dy;
	struct demo_rect last_square;
};

static void buffer_handle_release(void *data, struct wl_buffer *wl_buffer);

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_handle_release,
};

static void buffer_finish(struct demo_buffer *buffer) {
	if (buffer->wl_buffer != NULL) {
		wl_buffer_destroy(buffer->wl_buffer);
	}
	if (buffer->data != NULL) {
		munmap(buffer->data, buffer->size);
	}
	struct demo *demo = buffer->demo;
	memset(buffer, 0, sizeof(*buffer));
	buffer->demo = demo;
}

static bool buffer_init(struct demo_buffer *buffer, struct wl_shm *shm, int32_t width,
		int32_t height) {
	int32_t stride = width * 4;
	size_t size = (size_t)stride * (size_t)height;
	int fd = memfd_create("zerocap-demo", MFD_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "zerocap-demo-client: memfd_create: %s\n", strerror(errno));
		return false;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "zerocap-demo-client: ftruncate: %s\n", strerror(errno));
		close(fd);
		return false;
	}
	void *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		fprintf(stderr, "zerocap-demo-client: mmap: %s\n", strerror(errno));
		close(fd);
		return false;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
	buffer->wl_buffer = wl_shm_pool_create_buffer(pool, 0, width, height, stride,
		WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	wl_buffer_add_listener(buffer->wl_buffer, &buffer_listener, buffer);
	buffer->data = data;
	buffer->size = size;
	buffer->width = width;
	buffer->height = height;
	buffer->busy = false;
	return true;
}

static struct demo_buffer *get_buffer(struct demo *demo) {
	for (int i = 0; i < N_BUFFERS; i++) {
		struct demo_buffer *buffer = &demo->buffers[i];
		if (buffer->busy) {
			continue;
		}
		if (buffer->wl_buffer != NULL && (buffer->width != demo->width
				|| buffer->height != demo->height)) {
			buffer_finish(buffer);
		}
		if (buffer->wl_buffer == NULL
				&& !buffer_init(buffer, demo->shm, demo->width, demo->height)) {
			return NULL;
		}
		return buffer;
	}
	return NULL;
}

static int32_t square_size(const struct demo *demo) {
	int32_t side = (demo->width < demo->height ? demo->width : demo->height) / 4;
	return side > 0 ? side : 1;
}

static void fill_rect(struct demo_buffer *buffer, struct demo_rect r, uint32_t color) {
	for (int32_t y = r.y; y < r.y + r.height && y < buffer->height; y++) {
		uint32_t *row = buffer->data + (size_t)y * (size_t)buffer->width;
		for (int32_t x = r.x; x < r.x + r.width && x < buffer->width; x++) {
			row[x] = color;
		}
	}
}

static void step_square(struct demo *demo) {
	int32_t side = square_size(demo);
	int32_t max_x = demo->width - side, max_y = demo->height - side;
	demo->square_x += demo->dx;
	demo->square_y += demo->dy;
	if (demo->square_x <= 0 || demo->square_x >= max_x) {
		demo->dx = -demo->dx;
	}
	if (demo->square_y <= 0 || demo->square_y >= max_y) {
		demo->dy = -demo->dy;
	}
	demo->square_x = demo->square_x < 0 ? 0 : (demo->square_x > max_x ? max_x : demo->square_x);
	demo->square_y = demo->square_y < 0 ? 0 : (demo->square_y > max_y ? max_y : demo->square_y);
}

static void frame_handle_done(void *data, struct wl_callback *callback, uint32_t time);

static const struct wl_callback_listener frame_listener = {
	.done = frame_handle_done,
};

static void draw(struct demo *demo) {
	struct demo_buffer *buffer = get_buffer(demo);
	if (buffer == NULL) {
		demo->redraw_pending = true;
		return;
	}
	demo->redraw_pending = false;
	if (demo->drawn_once && demo->animate) {
		step_square(demo);
	}
	int32_t side = square_size(demo);
	struct demo_rect square = {
		.x = demo->square_x,
		.y = demo->square_y,
		.width = side,
		.height = side,
	};
	fill_rect(buffer, (struct demo_rect){ 0, 0, buffer->width, buffer->height },
		demo->background);
	fill_rect(buffer, square, demo->color);

	wl_surface_attach(demo->surface, buffer->wl_buffer, 0, 0);
	bool full = !demo->drawn_once || wl_surface_get_version(demo->surface) < 4;
	if (full) {
		wl_surface_damage(demo->surface, 0, 0, INT32_MAX, INT32_MAX);
	} else {
		struct demo_rect *last = &demo->last_square;
		wl_surface_damage_buffer(demo->surface, last->x, last->y, last->width,
			last->height);
		wl_surface_damage_buffer(demo->surface, square.x, square.y, square.width,
			square.height);
	}
	demo->last_square = square;
	if (demo->animate) {
		demo->frame_callback = wl_surface_frame(demo->surface);
		wl_callback_add_listener(demo->frame_callback, &frame_listener, demo);
	}
	wl_surface_commit(demo->surface);
	buffer->busy = true;
	if (!demo->drawn_once) {
		printf("zerocap-demo-client: mapped %dx%d color %06x background %06x\n",
			demo->width, demo->height, demo->color & 0xffffff, demo->background & 0xffffff);
		fflush(stdout);
	}
	demo->drawn_once = true;
	demo->frames++;
	if (demo->max_frames > 0 && demo->frames >= demo->max_frames) {
		demo->running = false;
	}
}

static void frame_handle_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct demo *demo = data;
	wl_callback_destroy(callback);
	demo->frame_callback = NULL;
	draw(demo);
}

static void buffer_handle_release(void *data, struct wl_buffer *wl_buffer) {
	struct demo_buffer *buffer = data;
	buffer->busy = false;
	if (buffer->demo->redraw_pending) {
		draw(buffer->demo);
	}
}

static void wm_base_handle_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_handle_ping,
};

static void xdg_surface_handle_configure(void *data, struct xdg_surface *xdg_surface,
		uint32_t serial) {
	struct demo *demo = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	bool resized = false;
	if (demo->pending_width > 0 && demo->pending_height > 0
			&& (demo->pending_width != demo->width
				|| demo->pending_height != demo->height)) {
		demo->width = demo->pending_width;
		demo->height = demo->pending_height;
		resized = true;
	}
	if (!demo->configured || resized) {
		demo->configured = true;
		demo->drawn_once = false;
		demo->square_x = 0;
		demo->square_y = 0;
		if (demo->frame_callback == NULL) {
			draw(demo);
		}
	} else if (!demo->animate) {
		wl_surface_commit(demo->surface);
	}
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_handle_configure,
};

static void toplevel_handle_configure(void *data, struct xdg_toplevel *toplevel,
		int32_t width, int32_t height, struct wl_array *states) {
	struct demo *demo = data;
	demo->pending_width = width;
	demo->pending_height = height;
}

static void toplevel_handle_close(void *data, struct xdg_toplevel *toplevel) {
	struct demo *demo = data;
	demo->running = false;
}

static void toplevel_handle_configure_bounds(void *data, struct xdg_toplevel *toplevel,
		int32_t width, int32_t height) {
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_handle_configure,
	.close = toplevel_handle_close,
	.configure_bounds = toplevel_handle_configure_bounds,
};

static void registry_handle_global(void *data, struct wl_registry *registry, uint32_t name,
		const char *interface, uint32_t version) {
	struct demo *demo = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		demo->compositor = wl_registry_bind(registry, name, &wl_compositor_interface,
			version < 4 ? version : 4);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		demo->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		demo->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface,
			version < 4 ? version : 4);
		xdg_wm_base_add_listener(demo->wm_base, &wm_base_listener, demo);
	}
}

static void registry_handle_global_remove(void *data, struct wl_registry *registry,
		uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_handle_global,
	.global_remove = registry_handle_global_remove,
};

static bool parse_size(const char *s, int32_t *width, int32_t *height) {
	char *end;
	long w = strtol(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X')) {
		return false;
	}
	const char *h_str = end + 1;
	long h = strtol(h_str, &end, 10);
	if (end == h_str || *end != '\0' || w <= 0 || h <= 0 || w > 16384 || h > 16384) {
		return false;
	}
	*width = (int32_t)w;
	*height = (int32_t)h;
	return true;
}

static bool parse_color(const char *s, uint32_t *color) {
	if (s[0] == '#') {
		s++;
	}
	char *end;
	unsigned long v = strtoul(s, &end, 16);
	if (strlen(s) != 6 || *end != '\0') {
		return false;
	}
	*color = 0xff000000u | (uint32_t)v;
	return true;
}

static void usage(FILE *f) {
	fprintf(f,
		"usage: zerocap-demo-client [--size WxH] [--color RRGGBB] [--background RRGGBB]\n"
		"                           [--static] [--frames N] [--title TITLE]\n"
		"\n"
		"Draws a square of COLOR (default ff0000) on BACKGROUND (default 202020),\n"
		"XRGB8888, moving it one step per frame callback unless --static.\n"
		"Prints one line on stdout once the first buffer is committed.\n");
}

int main(int argc, char *argv[]) {
	struct demo demo = {
		.width = 256,
		.height = 256,
		.color = 0xffff0000,
		.background = 0xff202020,
		.animate = true,
		.title = "zerocap demo",
		.dx = 3,
		.dy = 2,
		.running = true,
	};
	for (int i = 0; i < N_BUFFERS; i++) {
		demo.buffers[i].demo = &demo;
	}
	static const struct option long_options[] = {
		{ "size", required_argument, NULL, 's' },
		{ "color", required_argument, NULL, 'c' },
		{ "background", required_argument, NULL, 'b' },
		{ "static", no_argument, NULL, 'S' },
		{ "frames", required_argument, NULL, 'n' },
		{ "title", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "s:c:b:Sn:t:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!parse_size(optarg, &demo.width, &demo.height)) {
				fprintf(stderr, "zerocap-demo-client: invalid size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (!parse_color(optarg, &demo.color)) {
				fprintf(stderr, "zerocap-demo-client: invalid color '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (!parse_color(optarg, &demo.background)) {
				fprintf(stderr, "zerocap-demo-client: invalid color '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
			demo.animate = false;
			break;
		case 'n':
			demo.max_frames = strtol(optarg, NULL, 10);
			break;
		case 't':
			demo.title = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	demo.display = wl_display_connect(NULL);
	if (demo.display == NULL) {
		fprintf(stderr, "zerocap-demo-client: cannot connect to the Wayland display\n");
		return 1;
	}
	demo.registry = wl_display_get_registry(demo.display);
	wl_registry_add_listener(demo.registry, &registry_listener, &demo);
	wl_display_roundtrip(demo.display);
	if (demo.compositor == NULL || demo.shm == NULL || demo.wm_base == NULL) {
		fprintf(stderr, "zerocap-demo-client: the compositor lacks wl_compositor, wl_shm "
			"or xdg_wm_base\n");
		return 1;
	}

	demo.surface = wl_compositor_create_surface(demo.compositor);
	demo.xdg_surface = xdg_wm_base_get_xdg_surface(demo.wm_base, demo.surface);
	xdg_surface_add_listener(demo.xdg_surface, &xdg_surface_listener, &demo);
	demo.xdg_toplevel = xdg_surface_get_toplevel(demo.xdg_surface);
	xdg_toplevel_add_listener(demo.xdg_toplevel, &toplevel_listener, &demo);
	xdg_toplevel_set_title(demo.xdg_toplevel, demo.title);
	xdg_toplevel_set_app_id(demo.xdg_toplevel, "zerocap-demo-client");
	wl_surface_commit(demo.surface);

	int ret = 0;
	while (demo.running) {
		if (wl_display_dispatch(demo.display) < 0) {
			fprintf(stderr, "zerocap-demo-client: connection lost: %s\n",
				strerror(wl_display_get_error(demo.display)));
			ret = 1;
			break;
		}
	}

	if (demo.frame_callback != NULL) {
		wl_callback_destroy(demo.frame_callback);
	}
	for (int i = 0; i < N_BUFFERS; i++) {
		buffer_finish(&demo.buffers[i]);
	}
	xdg_toplevel_destroy(demo.xdg_toplevel);
	xdg_surface_destroy(demo.xdg_surface);
	wl_surface_destroy(demo.surface);
	xdg_wm_base_destroy(demo.wm_base);
	wl_shm_destroy(demo.shm);
	wl_compositor_destroy(demo.compositor);
	wl_registry_destroy(demo.registry);
	wl_display_disconnect(demo.display);
	return ret;
}
