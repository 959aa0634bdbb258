/*
 * wayvnc serves zerocap-compositor over VNC and vncsnapshot (Debian's 1.2a)
 * takes snapshots of it. wayvnc 0.9 (trixie) and 0.10 (sid) capture on
 * ext-image-copy-capture-v1 (wl_shm here), which every wayvnc log
 * (WAYLAND_DEBUG=1) must show, with no wlr-screencopy capture.
 *
 * - The whole screen, a -rect region, wayvnc -r (overlay cursor: zerocap
 *   paints the arrow into the frames), on a normal and a rotated output.
 * - wayvnc with input (no -d): it then follows the pointer with an
 *   ext-image-copy-capture cursor session and sends the cursor's image to
 *   viewers as an RFB cursor (RichCursor). The log must show the cursor
 *   session and its frames; the shape that reaches the viewer must be the
 *   arrow, pixel for pixel, with its hotspot; the screen itself has no
 *   cursor in it. wayvnc makes that session only when the compositor offers
 *   zwlr_virtual_pointer_manager_v1 and zwp_virtual_keyboard_manager_v1.
 * - Updates: one viewer connection takes two pictures seconds apart while
 *   the test changes the scene between them; each must be the scene of its
 *   moment.
 * - A static screen: eight connections, one after the other, to an idle
 *   compositor; each picture must be the real screen, not wayvnc's grey
 *   placeholder (0x606060, what it shows before its first frame); then one
 *   change, and the next connection shows it.
 *
 * Between vncsnapshot and wayvnc sits a small RFB tap (tap_run() below):
 * - vncsnapshot speaks only RFB 3.3, neatvnc 0.9 only 3.8 (neatvnc 1.0
 *   takes 3.3 too; the test tries a direct connection first and says how it
 *   went). The tap speaks 3.8 to wayvnc and 3.3 to vncsnapshot: version
 *   strings, 3.8's security type list and result as 3.3's single security
 *   type ("None" here).
 * - It behaves like an interactive viewer towards wayvnc, which vncsnapshot
 *   is not: vncsnapshot saves its picture after the first update it gets,
 *   and neatvnc answers a request that arrives before wayvnc's first
 *   capture of the connection with what it had (its grey placeholder right
 *   after wayvnc started); an interactive viewer keeps asking for
 *   incremental updates and shows the screen a moment later. So the tap
 *   passes each request of vncsnapshot on, keeps asking for incremental
 *   updates itself and puts them together, and after SETTLE_MS answers
 *   vncsnapshot with one raw rect of the picture it has then. A
 *   placeholder in that picture means the screen never came.
 * - It asks wayvnc for raw rects and RichCursor only; the cursor shapes go
 *   into a file that the test checks.
 *
 * vncsnapshot writes only JPEG; the transfer itself is lossless (-encodings
 * raw -nojpeg). At -quality 100 its libjpeg output is close to exact but not
 * lossless: the RGB -> YCbCr -> RGB round trip rounds. Measured here: at most
 * 1 per channel anywhere, edges of saturated rects and the cursor included.
 * So every pixel is compared, with a tolerance of 3 per channel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "arrow.h"
#include "clients.h"

#define TOLERANCE 3
#define PLACEHOLDER 0x606060u
/* How long the tap watches updates before it answers a request. */
#define SETTLE_MS 300

static const struct ct_rect rects[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 80, 40, 0x0000ff},
	{"white", 0, 230, 30, 10, 0xffffff},
	{"yellow", 40, 60, 40, 40, 0xffff00}, /* over red */
	{"grey", 300, 100, 120, 90, 0x808080},
};
#define N_RECTS ((int)(sizeof(rects) / sizeof(rects[0])))

/* rects after the first change: blue moved and magenta, a new cyan one */
static const struct ct_rect rects_b[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 400, 300, 80, 40, 0xff00ff},
	{"white", 0, 230, 30, 10, 0xffffff},
	{"yellow", 40, 60, 40, 40, 0xffff00},
	{"grey", 300, 100, 120, 90, 0x808080},
	{"cyan", 500, 20, 30, 200, 0x00ffff},
};
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define CURSOR_X 150
#define CURSOR_Y 60

static long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- sockets ---- */

static int listen_any(int *port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
			listen(fd, 4) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

/* A free port for wayvnc (it is closed again; nothing else races for it here). */
static int free_port(void) {
	int port = -1;
	int fd = listen_any(&port);
	if (fd >= 0) {
		close(fd);
	}
	return port;
}

static int connect_port(int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		return fd;
	}
	if (fd >= 0) {
		close(fd);
	}
	return -1;
}

static bool read_all(int fd, void *buf, size_t len) {
	uint8_t *p = buf;
	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 20000) <= 0) {
			return false;
		}
		ssize_t n = read(fd, p, len);
		if (n <= 0) {
			return false;
		}
		p += n;
		len -= n;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t len) {
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			return false;
		}
		p += n;
		len -= n;
	}
	return true;
}

/* ---- the RFB tap ---- */

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static bool buf_append(struct buf *b, const void *data, size_t len) {
	if (b->len + len > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 65536;
		while (cap < b->len + len) {
			cap *= 2;
		}
		uint8_t *grown = realloc(b->data, cap);
		if (grown == NULL) {
			return false;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

static void buf_consume(struct buf *b, size_t len) {
	memmove(b->data, b->data + len, b->len - len);
	b->len -= len;
}

static uint32_t be16(const uint8_t *p) {
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct tap_options {
	/*
	 * How long the tap looks at updates, like a viewer, before it answers
	 * the viewer's request with the picture it has then.
	 */
	int settle_ms;
	const char *cursor_path; /* the last cursor shape goes there */
};

struct tap {
	const struct tap_options *options;
	int viewer, server;
	struct buf from_viewer, from_server;
	uint8_t format[16]; /* RFB PIXEL_FORMAT of the updates */
	int width, height; /* the framebuffer's */
	uint8_t *fb; /* the picture so far, in format */
	uint8_t request[10]; /* the viewer's request being answered */
	long answer_at; /* when to answer it; 0: no request pending */
	int updates; /* framebuffer updates with screen content */
};

#define RFB_RAW 0
#define RFB_RICH_CURSOR (-239)

static uint32_t tap_pixel(const struct tap *tap, const uint8_t *p) {
	int bytes = tap->format[0] / 8;
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++) {
		int byte = tap->format[2] ? i : bytes - 1 - i;
		v = v << 8 | p[byte];
	}
	uint32_t rgb = 0;
	for (int c = 0; c < 3; c++) {
		uint32_t max = be16(tap->format + 4 + 2 * c);
		uint32_t value = max > 0 ? ((v >> tap->format[10 + c]) & max) * 255 / max : 0;
		rgb = rgb << 8 | value;
	}
	return rgb;
}

/* Writes the shape as int32 width, height, hotspot x, y, then ARGB pixels. */
static void tap_save_cursor(struct tap *tap, const uint8_t *rect, const uint8_t *pixels) {
	int32_t header[4] = {(int32_t)be16(rect + 4), (int32_t)be16(rect + 6),
		(int32_t)be16(rect), (int32_t)be16(rect + 2)};
	int w = header[0], h = header[1], bytes = tap->format[0] / 8;
	const uint8_t *mask = pixels + (size_t)w * h * bytes;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", tap->options->cursor_path);
	FILE *f = fopen(tmp, "wb");
	if (f == NULL) {
		return;
	}
	fwrite(header, sizeof(header), 1, f);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			bool opaque = mask[y * ((w + 7) / 8) + x / 8] & (0x80 >> (x % 8));
			uint32_t argb = (opaque ? 0xff000000u : 0) |
				tap_pixel(tap, pixels + ((size_t)y * w + x) * bytes);
			fwrite(&argb, sizeof(argb), 1, f);
		}
	}
	fclose(f);
	rename(tmp, tap->options->cursor_path);
}

/* An incremental request for the whole screen, as a viewer sends after each update. */
static bool tap_request_more(struct tap *tap) {
	uint8_t request[10] = {3, 1, 0, 0, 0, 0, tap->width >> 8, tap->width & 0xff,
		tap->height >> 8, tap->height & 0xff};
	return write_all(tap->server, request, sizeof(request));
}

/* Answers the viewer's request with the picture so far, as one raw rect. */
static bool tap_answer(struct tap *tap) {
	tap->answer_at = 0;
	int x = (int)be16(tap->request + 2), y = (int)be16(tap->request + 4);
	int w = (int)be16(tap->request + 6), h = (int)be16(tap->request + 8);
	if (x + w > tap->width || y + h > tap->height) {
		fprintf(stderr, "tap: request %dx%d+%d+%d outside the screen\n", w, h, x, y);
		return false;
	}
	size_t bytes = tap->format[0] / 8;
	uint8_t header[16] = {0, 0, 0, 1, x >> 8, x & 0xff, y >> 8, y & 0xff, w >> 8, w & 0xff,
		h >> 8, h & 0xff, 0, 0, 0, RFB_RAW};
	bool ok = write_all(tap->viewer, header, sizeof(header));
	for (int row = y; ok && row < y + h; row++) {
		ok = write_all(tap->viewer, tap->fb + ((size_t)row * tap->width + x) * bytes,
			w * bytes);
	}
	return ok;
}

/* Handles whole viewer messages; false on one it does not know. */
static bool tap_viewer_messages(struct tap *tap) {
	struct buf *in = &tap->from_viewer;
	while (in->len > 0) {
		const uint8_t *m = in->data;
		size_t need;
		switch (m[0]) {
		case 0: need = 20; break; /* SetPixelFormat */
		case 2: need = in->len >= 4 ? 4 + 4 * be16(m + 2) : 4; break; /* SetEncodings */
		case 3: need = 10; break; /* FramebufferUpdateRequest */
		case 4: need = 8; break; /* KeyEvent */
		case 5: need = 6; break; /* PointerEvent */
		case 6: need = in->len >= 8 ? 8 + be32(m + 4) : 8; break; /* ClientCutText */
		default:
			fprintf(stderr, "tap: unknown viewer message %u\n", m[0]);
			return false;
		}
		if (in->len < need) {
			return true;
		}
		bool ok = true;
		if (m[0] == 0) {
			if (memcmp(tap->format, m + 4, sizeof(tap->format)) != 0 && tap->updates > 0) {
				fprintf(stderr, "tap: pixel format changed after updates\n");
				return false;
			}
			memcpy(tap->format, m + 4, sizeof(tap->format));
			size_t size = (size_t)tap->width * tap->height * (tap->format[0] / 8);
			uint8_t *fb = realloc(tap->fb, size);
			if (fb == NULL) {
				return false;
			}
			tap->fb = fb;
			memset(tap->fb, 0, size);
			ok = write_all(tap->server, m, need);
		} else if (m[0] == 2) {
			static const uint8_t encodings[] = {2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x11};
			ok = write_all(tap->server, encodings, sizeof(encodings));
		} else if (m[0] == 3) {
			/* Asks as it is (incremental or not), answers after settle_ms. */
			memcpy(tap->request, m, sizeof(tap->request));
			tap->answer_at = now_ms() + tap->options->settle_ms;
			ok = write_all(tap->server, m, need);
		} else {
			ok = write_all(tap->server, m, need);
		}
		if (!ok) {
			return false;
		}
		buf_consume(in, need);
	}
	return true;
}

/*
 * The size of the FramebufferUpdate at the start of in, once it is all
 * there (0 before); -1 for an encoding the tap did not ask for.
 */
static long tap_update_size(const struct tap *tap, const struct buf *in) {
	if (in->len < 4) {
		return 0;
	}
	size_t bytes = tap->format[0] / 8, off = 4;
	for (uint32_t i = 0, n = be16(in->data + 2); i < n; i++) {
		if (in->len < off + 12) {
			return 0;
		}
		const uint8_t *rect = in->data + off;
		size_t w = be16(rect + 4), h = be16(rect + 6);
		int32_t encoding = (int32_t)be32(rect + 8);
		off += 12 + w * h * bytes;
		if (encoding == RFB_RICH_CURSOR) {
			off += (w + 7) / 8 * h;
		} else if (encoding != RFB_RAW) {
			fprintf(stderr, "tap: unexpected encoding %d\n", encoding);
			return -1;
		}
	}
	return in->len >= off ? (long)off : 0;
}

/* Takes an update into the picture (cursor shapes to the file); asks for more. */
static bool tap_update(struct tap *tap, const uint8_t *m) {
	size_t bytes = tap->format[0] / 8, off = 4;
	for (uint32_t i = 0, n = be16(m + 2); i < n; i++) {
		const uint8_t *rect = m + off;
		int x = (int)be16(rect), y = (int)be16(rect + 2);
		int w = (int)be16(rect + 4), h = (int)be16(rect + 6);
		const uint8_t *pixels = rect + 12;
		off += 12 + (size_t)w * h * bytes;
		if ((int32_t)be32(rect + 8) == RFB_RICH_CURSOR) {
			off += (size_t)(w + 7) / 8 * h;
			tap_save_cursor(tap, rect, pixels);
			continue;
		}
		if (x + w > tap->width || y + h > tap->height) {
			fprintf(stderr, "tap: rect %dx%d+%d+%d outside the screen\n", w, h, x, y);
			return false;
		}
		for (int row = 0; row < h; row++) {
			memcpy(tap->fb + ((size_t)(y + row) * tap->width + x) * bytes,
				pixels + (size_t)row * w * bytes, (size_t)w * bytes);
		}
		tap->updates++;
	}
	return tap_request_more(tap);
}

/* Handles whole server messages; false on one it does not know. */
static bool tap_server_messages(struct tap *tap) {
	struct buf *in = &tap->from_server;
	while (in->len > 0) {
		const uint8_t *m = in->data;
		long need;
		switch (m[0]) {
		case 0: need = tap_update_size(tap, in); break; /* FramebufferUpdate */
		case 1: need = in->len >= 6 ? 6 + 6 * (long)be16(m + 4) : 0; break; /* colour map */
		case 2: need = 1; break; /* Bell */
		case 3: need = in->len >= 8 ? 8 + (long)be32(m + 4) : 0; break; /* ServerCutText */
		default:
			fprintf(stderr, "tap: unknown server message %u\n", m[0]);
			return false;
		}
		if (need < 0) {
			return false;
		}
		if (need == 0 || in->len < (size_t)need) {
			return true;
		}
		bool ok = m[0] == 0 ? tap_update(tap, m) : write_all(tap->viewer, m, need);
		if (!ok) {
			return false;
		}
		buf_consume(in, need);
	}
	return true;
}

/* RFB 3.3 to the viewer, 3.8 to the server, up to the end of ServerInit. */
static int tap_handshake(struct tap *tap) {
	char version[12];
	if (!read_all(tap->server, version, 12) || memcmp(version, "RFB 003.008\n", 12) != 0) {
		fprintf(stderr, "tap: server version '%.11s', expected RFB 003.008\n", version);
		return 4;
	}
	if (!write_all(tap->viewer, "RFB 003.003\n", 12) || !read_all(tap->viewer, version, 12) ||
			memcmp(version, "RFB 003.003\n", 12) != 0) {
		fprintf(stderr, "tap: the viewer does not speak RFB 3.3\n");
		return 5;
	}
	uint8_t n_types, types[256];
	if (!write_all(tap->server, "RFB 003.008\n", 12) || !read_all(tap->server, &n_types, 1) ||
			n_types == 0 || !read_all(tap->server, types, n_types) ||
			memchr(types, 1, n_types) == NULL) {
		fprintf(stderr, "tap: the server offers no \"None\" security type\n");
		return 6;
	}
	uint8_t none = 1;
	uint8_t result[4];
	if (!write_all(tap->server, &none, 1) || !read_all(tap->server, result, 4) ||
			memcmp(result, "\0\0\0\0", 4) != 0) {
		fprintf(stderr, "tap: security handshake failed\n");
		return 7;
	}
	static const uint8_t security_none_33[4] = {0, 0, 0, 1};
	uint8_t shared, init[24];
	if (!write_all(tap->viewer, security_none_33, 4) || !read_all(tap->viewer, &shared, 1) ||
			!write_all(tap->server, &shared, 1) || !read_all(tap->server, init, 24)) {
		return 8;
	}
	memcpy(tap->format, init + 4, sizeof(tap->format));
	tap->width = (int)be16(init);
	tap->height = (int)be16(init + 2);
	tap->fb = calloc((size_t)tap->width * tap->height, tap->format[0] / 8);
	if (tap->fb == NULL) {
		return 8;
	}
	uint32_t name_len = be32(init + 20);
	char name[256];
	if (name_len > sizeof(name) || !read_all(tap->server, name, name_len) ||
			!write_all(tap->viewer, init, 24) || !write_all(tap->viewer, name, name_len)) {
		return 8;
	}
	return 0;
}

/*
 * One connection: accepts the viewer on listen_fd, connects to the server,
 * then relays until one side closes. Runs in a child process; exit status 0
 * when all went through.
 */
static int tap_run(int listen_fd, int server_port, const struct tap_options *options) {
	struct tap tap = {.options = options};
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
	if (poll(&pfd, 1, 20000) <= 0) {
		return 2;
	}
	tap.viewer = accept(listen_fd, NULL, NULL);
	tap.server = connect_port(server_port);
	if (tap.viewer < 0 || tap.server < 0) {
		return 3;
	}
	int status = tap_handshake(&tap);
	if (status != 0) {
		return status;
	}
	struct pollfd fds[2] = {{.fd = tap.viewer, .events = POLLIN},
		{.fd = tap.server, .events = POLLIN}};
	for (;;) {
		int timeout = 30000;
		if (tap.answer_at != 0) {
			long left = tap.answer_at - now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		int ready = poll(fds, 2, timeout);
		if (ready < 0) {
			return 9;
		}
		if (ready == 0 && tap.answer_at == 0) {
			fprintf(stderr, "tap: nothing for 30 s\n");
			return 9;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].revents == 0) {
				continue;
			}
			uint8_t data[65536];
			ssize_t n = read(fds[i].fd, data, sizeof(data));
			if (n <= 0) {
				free(tap.fb);
				return 0; /* one side is done */
			}
			if (!buf_append(i == 0 ? &tap.from_viewer : &tap.from_server, data, n)) {
				return 11;
			}
		}
		if (!tap_viewer_messages(&tap) || !tap_server_messages(&tap)) {
			return 12;
		}
		if (tap.answer_at != 0 && now_ms() >= tap.answer_at && !tap_answer(&tap)) {
			return 10;
		}
	}
}

/* ---- the programs ---- */

enum vnc_mode {
	VNC_NO_INPUT, /* -d */
	VNC_OVERLAY_CURSOR, /* -d -r */
	VNC_INPUT, /* virtual pointer and keyboard: a cursor session */
};

static const char *const mode_names[] = {"wayvnc -d", "wayvnc -d -r", "wayvnc with input"};

struct vnc {
	pid_t pid;
	int port;
	enum vnc_mode mode;
};

static bool start_wayvnc(struct vnc *vnc, struct zt_compositor *comp, const char *dir,
		enum vnc_mode mode) {
	vnc->mode = mode;
	vnc->port = free_port();
	char port[16];
	snprintf(port, sizeof(port), "%d", vnc->port);
	char config_home[300];
	snprintf(config_home, sizeof(config_home), "XDG_CONFIG_HOME=%s", dir);
	const char *env[] = {config_home, "WAYLAND_DEBUG=1", NULL};
	const char *argv[8] = {"wayvnc"};
	int argc = 1;
	if (mode != VNC_INPUT) {
		argv[argc++] = "-d";
	}
	if (mode == VNC_OVERLAY_CURSOR) {
		argv[argc++] = "-r";
	}
	argv[argc++] = "127.0.0.1";
	argv[argc++] = port;
	argv[argc] = NULL;
	char log[4096];
	snprintf(log, sizeof(log), "%s/wayvnc.log", dir);
	unlink(log);
	vnc->pid = ct_spawn(dir, comp->socket, argv, env, "wayvnc.log");
	/* Ready once it accepts connections (this connection starts its capture). */
	for (int i = 0; i < 200 && vnc->pid > 0; i++) {
		int fd = connect_port(vnc->port);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (waitpid(vnc->pid, NULL, WNOHANG) == vnc->pid) {
			break;
		}
		usleep(50000);
	}
	ZT_CHECK(false, "%s did not come up on port %d", mode_names[mode], vnc->port);
	ct_print_log(dir, "wayvnc.log");
	return false;
}

/* Stops it; its log must show ext-image-copy-capture (and the cursor session). */
static void stop_wayvnc(struct vnc *vnc, const char *dir, const char *label) {
	kill(vnc->pid, SIGINT);
	int status = ct_wait(vnc->pid, 10000);
	bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ZT_CHECK(ok, "%s: wayvnc: %s after SIGINT", label, ct_status_str(status));
	if (!ok) {
		ct_print_log(dir, "wayvnc.log");
	}
	char what[200];
	snprintf(what, sizeof(what), "%s, %s", label, mode_names[vnc->mode]);
	ct_check_protocol(dir, "wayvnc.log", CT_EXT_IMAGE_COPY_CAPTURE, what);
	if (vnc->mode == VNC_INPUT) {
		struct ct_wire wire;
		ct_wire_read(dir, "wayvnc.log", &wire);
		ZT_CHECK(wire.ext_cursor_sessions > 0 && wire.ext_cursor_ready > 0,
			"%s: %d cursor sessions, %d cursor frames ready; expected some", what,
			wire.ext_cursor_sessions, wire.ext_cursor_ready);
	}
}

struct snapshot {
	const char *rect; /* "WxH+X+Y" or NULL */
	int count, interval_s; /* -count, -fps (0: vncsnapshot's defaults) */
};

/* Starts vncsnapshot against port, writing file. */
static pid_t snapshot_spawn(const char *dir, int port, const struct snapshot *snap,
		const char *file) {
	char display[64], count[16], interval[16];
	snprintf(display, sizeof(display), "127.0.0.1::%d", port);
	const char *argv[20] = {"vncsnapshot", "-encodings", "raw", "-nojpeg", "-quality", "100"};
	int argc = 6;
	if (snap->rect != NULL) {
		argv[argc++] = "-rect";
		argv[argc++] = snap->rect;
	}
	if (snap->count > 0) {
		snprintf(count, sizeof(count), "%d", snap->count);
		snprintf(interval, sizeof(interval), "%d", snap->interval_s);
		argv[argc++] = "-count";
		argv[argc++] = count;
		argv[argc++] = "-fps";
		argv[argc++] = interval;
	}
	argv[argc++] = display;
	argv[argc++] = file;
	argv[argc] = NULL;
	char path[512];
	snprintf(path, sizeof(path), "%s/vncsnapshot.log", dir);
	unlink(path);
	return ct_spawn(dir, NULL, argv, NULL, "vncsnapshot.log");
}

static bool snapshot_wait(pid_t pid, int timeout_ms) {
	int status = pid > 0 ? ct_wait(pid, timeout_ms) : -1;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A viewer connection through the tap. */
struct tapped {
	pid_t tap, viewer;
};

static bool tapped_start(struct tapped *t, const char *dir, int server_port,
		const struct snapshot *snap, const char *file, const struct tap_options *options) {
	t->tap = t->viewer = -1;
	int port = -1;
	int listen_fd = listen_any(&port);
	if (listen_fd < 0) {
		ZT_CHECK(false, "cannot listen for the tap: %s", strerror(errno));
		return false;
	}
	fflush(stderr);
	t->tap = fork();
	if (t->tap == 0) {
		_exit(tap_run(listen_fd, server_port, options));
	}
	close(listen_fd);
	t->viewer = snapshot_spawn(dir, port, snap, file);
	return t->tap > 0 && t->viewer > 0;
}

static bool tapped_finish(struct tapped *t, const char *dir, int timeout_ms) {
	bool ok = snapshot_wait(t->viewer, timeout_ms);
	int status = t->tap > 0 ? ct_wait(t->tap, 10000) : -1;
	ZT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the RFB tap: %s", ct_status_str(status));
	if (!ok) {
		ct_print_log(dir, "vncsnapshot.log");
	}
	return ok;
}

static bool tapped_snapshot(const char *dir, int server_port, const char *rect,
		const char *file, const struct tap_options *options) {
	struct snapshot snap = {.rect = rect};
	struct tapped t;
	bool started = tapped_start(&t, dir, server_port, &snap, file, options);
	return tapped_finish(&t, dir, 30000) && started;
}

/* ---- checks ---- */

struct expect {
	const struct ct_rect *rects;
	int n_rects;
	const struct ct_output *box;
	bool cursor;
};

/* The expectation restricted to the cursor's box. */
static uint32_t cursor_box_expect(void *data, int x, int y) {
	struct ct_scene_view *view = data;
	int lx = view->ox + x, ly = view->oy + y;
	if (lx < CURSOR_X || lx >= CURSOR_X + ZT_ARROW_WIDTH || ly < CURSOR_Y ||
			ly >= CURSOR_Y + ZT_ARROW_HEIGHT) {
		return CT_OUTSIDE;
	}
	return ct_scene_view_expect(data, x, y);
}

static bool all_placeholder(const struct ct_image *image) {
	for (int y = 0; y < image->height; y++) {
		for (int x = 0; x < image->width; x++) {
			uint32_t p = ct_image_pixel(image, x, y);
			for (int s = 0; s <= 16; s += 8) {
				int d = (int)((p >> s) & 0xff) - 0x60;
				if (d > TOLERANCE || d < -TOLERANCE) {
					return false;
				}
			}
		}
	}
	return true;
}

/* Compares dir/file with the scene; true when it matches. */
static bool check_snapshot(const char *dir, const char *file, const struct expect *want,
		int x, int y, int width, int height, const char *label) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	struct ct_image image;
	bool read = ct_read_jpeg(path, &image);
	ZT_CHECK(read, "%s: cannot decode vncsnapshot's JPEG", label);
	if (!read) {
		return false;
	}
	bool good = image.width == width && image.height == height;
	ZT_CHECK(good, "%s: snapshot is %dx%d, expected %dx%d", label, image.width,
		image.height, width, height);
	if (good) {
		struct ct_scene scene = {
			.rects = want->rects, .n_rects = want->n_rects, .outputs = want->box,
			.n_outputs = 1, .cursor = want->cursor, .cursor_x = CURSOR_X,
			.cursor_y = CURSOR_Y,
		};
		struct ct_scene_view view = {
			.scene = &scene, .ox = x, .oy = y, .scale = 1,
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
		bool placeholder = all_placeholder(&image);
		ZT_CHECK(!placeholder, "%s: the picture is wayvnc's grey placeholder", label);
		struct ct_compare cmp = {.tolerance = TOLERANCE};
		int bad = placeholder ? -1 :
			ct_compare_image(&image, ct_scene_view_expect, &view, &cmp, label);
		good = bad == 0 && cmp.checked == width * height;
		ZT_CHECK(placeholder || good, "%s: %d of %d pixels differ from the scene", label,
			bad, cmp.checked);
		if (want->cursor && good) {
			struct ct_compare exact = {.tolerance = TOLERANCE};
			bad = ct_compare_image(&image, cursor_box_expect, &view, &exact, label);
			ZT_CHECK(bad == 0 && exact.checked == ZT_ARROW_WIDTH * ZT_ARROW_HEIGHT,
				"%s: %d of %d pixels of the cursor's box differ", label, bad,
				exact.checked);
			good = good && bad == 0;
		}
	}
	ct_image_finish(&image);
	unlink(path);
	return good;
}

/* The cursor shape the tap saved: the arrow, hotspot 0,0. */
static void check_cursor_shape(const char *path, const char *label) {
	FILE *f = fopen(path, "rb");
	ZT_CHECK(f != NULL, "%s: wayvnc sent the viewer no cursor shape", label);
	if (f == NULL) {
		return;
	}
	int32_t header[4] = {0};
	bool read = fread(header, sizeof(header), 1, f) == 1;
	ZT_CHECK(read && header[0] == ZT_ARROW_WIDTH && header[1] == ZT_ARROW_HEIGHT &&
		header[2] == 0 && header[3] == 0,
		"%s: cursor shape %dx%d, hotspot %d,%d; expected %dx%d, hotspot 0,0", label,
		header[0], header[1], header[2], header[3], ZT_ARROW_WIDTH, ZT_ARROW_HEIGHT);
	if (read && header[0] == ZT_ARROW_WIDTH && header[1] == ZT_ARROW_HEIGHT) {
		int bad = 0;
		for (int y = 0; y < ZT_ARROW_HEIGHT; y++) {
			for (int x = 0; x < ZT_ARROW_WIDTH; x++) {
				uint32_t got = 0;
				if (fread(&got, sizeof(got), 1, f) != 1) {
					got = 0x12345678;
				}
				uint32_t want = zt_arrow_argb(x, y);
				bool same = want >> 24 == 0 ? got >> 24 == 0 : got == want;
				if (!same && bad++ < 3) {
					fprintf(stderr, "  %s: cursor pixel %d,%d is %08x, expected "
						"%08x\n", label, x, y, got, want);
				}
			}
		}
		ZT_CHECK(bad == 0, "%s: %d of %d cursor pixels differ from the arrow", label, bad,
			ZT_ARROW_WIDTH * ZT_ARROW_HEIGHT);
	}
	fclose(f);
	unlink(path);
}

/* ---- the tests ---- */

/* A compositor with the scene on one output and a fresh directory. */
static bool setup(struct zt_compositor *comp, char *dir, size_t size, const char *output) {
	if (!ct_tmpdir(dir, size)) {
		return false;
	}
	const char *args[] = {"--output", output, NULL};
	if (!zt_compositor_start(comp, args)) {
		ct_tmpdir_remove(dir);
		return false;
	}
	struct ct_scene scene = {.rects = rects, .n_rects = N_RECTS, .cursor = true,
		.cursor_x = CURSOR_X, .cursor_y = CURSOR_Y};
	ct_scene_apply(comp, &scene);
	return true;
}

static void teardown(struct zt_compositor *comp, const char *dir) {
	ZT_CHECK(zt_compositor_alive(comp), "the compositor is still running");
	zt_compositor_stop(comp);
	ct_tmpdir_remove(dir);
}

/* Applies rects (created or updated by name). */
static void change_scene(struct zt_compositor *comp, const struct ct_rect *r, int n) {
	struct ct_scene scene = {.rects = r, .n_rects = n};
	ct_scene_apply(comp, &scene);
}

static void test_layout(const char *output, int up_w, int up_h, bool direct_first,
		bool input) {
	char section[128];
	snprintf(section, sizeof(section), "wayvnc + vncsnapshot, output %s", output);
	zt_section(section);
	char dir[256];
	struct zt_compositor comp;
	if (!setup(&comp, dir, sizeof(dir), output)) {
		return;
	}
	struct ct_output box = {0, 0, up_w, up_h};
	struct expect plain = {rects, N_RECTS, &box, false};
	struct expect with_cursor = {rects, N_RECTS, &box, true};
	char cursor_path[300];
	snprintf(cursor_path, sizeof(cursor_path), "%s/cursor.bin", dir);
	struct tap_options tap = {.settle_ms = SETTLE_MS, .cursor_path = cursor_path};
	char label[160];

	struct vnc vnc;
	if (start_wayvnc(&vnc, &comp, dir, VNC_NO_INPUT)) {
		if (direct_first) {
			/*
			 * Only a note: without the tap's pause, vncsnapshot may well get
			 * the placeholder (wayvnc's race, see the top).
			 */
			struct snapshot snap = {0};
			if (snapshot_wait(snapshot_spawn(dir, vnc.port, &snap, "direct.jpg"), 30000)) {
				fprintf(stderr, "note: vncsnapshot talks to wayvnc directly (neatvnc "
					"takes RFB 3.3)\n");
			} else {
				fprintf(stderr, "note: vncsnapshot cannot talk to wayvnc directly "
					"(vncsnapshot 1.2a speaks RFB 3.3, neatvnc 0.9 only 3.8); "
					"its log:\n");
				ct_print_log(dir, "vncsnapshot.log");
			}
		}
		snprintf(label, sizeof(label), "%s, whole screen", output);
		if (tapped_snapshot(dir, vnc.port, NULL, "full.jpg", &tap)) {
			check_snapshot(dir, "full.jpg", &plain, 0, 0, up_w, up_h, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		snprintf(label, sizeof(label), "%s, -rect 200x150+20+10", output);
		if (tapped_snapshot(dir, vnc.port, "200x150+20+10", "rect.jpg", &tap)) {
			check_snapshot(dir, "rect.jpg", &plain, 20, 10, 200, 150, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		stop_wayvnc(&vnc, dir, output);
	}
	if (start_wayvnc(&vnc, &comp, dir, VNC_OVERLAY_CURSOR)) {
		snprintf(label, sizeof(label), "%s, wayvnc -r (cursor)", output);
		if (tapped_snapshot(dir, vnc.port, NULL, "cursor.jpg", &tap)) {
			check_snapshot(dir, "cursor.jpg", &with_cursor, 0, 0, up_w, up_h, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		stop_wayvnc(&vnc, dir, output);
	}
	if (input && start_wayvnc(&vnc, &comp, dir, VNC_INPUT)) {
		snprintf(label, sizeof(label), "%s, cursor session", output);
		unlink(cursor_path);
		if (tapped_snapshot(dir, vnc.port, NULL, "session.jpg", &tap)) {
			check_snapshot(dir, "session.jpg", &plain, 0, 0, up_w, up_h, label);
			check_cursor_shape(cursor_path, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		stop_wayvnc(&vnc, dir, output);
	}
	teardown(&comp, dir);
}

/* Waits until vncsnapshot says it saved file. */
static bool wait_saved(const char *dir, const char *file, int timeout_ms) {
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (ct_file_contains(dir, "vncsnapshot.log", file)) {
			return true;
		}
		usleep(20000);
	}
	return false;
}

/*
 * vncsnapshot -count 2 -fps 3: a picture, a pause of two to three seconds
 * (it counts whole seconds of time()), then another one from a
 * non-incremental request on the same connection. (With -count 3 the
 * third comes right after the second: it restarts its clock before
 * sleeping.)
 */
static void test_updates(enum vnc_mode mode) {
	zt_section("wayvnc: one connection, the scene changes between two pictures");
	char dir[256];
	struct zt_compositor comp;
	if (!setup(&comp, dir, sizeof(dir), "640x480")) {
		return;
	}
	struct ct_output box = {0, 0, 640, 480};
	const struct expect steps[] = {
		{rects, N_RECTS, &box, false},
		{rects_b, LEN(rects_b), &box, false},
	};
	static const char *const files[] = {"up00000.jpg", "up00001.jpg"};
	char cursor_path[300];
	snprintf(cursor_path, sizeof(cursor_path), "%s/cursor.bin", dir);
	struct tap_options tap = {.settle_ms = SETTLE_MS, .cursor_path = cursor_path};
	struct vnc vnc;
	if (start_wayvnc(&vnc, &comp, dir, mode)) {
		struct snapshot snap = {.count = 2, .interval_s = 3};
		struct tapped t;
		long start = now_ms();
		if (tapped_start(&t, dir, vnc.port, &snap, "up.jpg", &tap)) {
			for (int i = 0; i < 2; i++) {
				char label[64];
				snprintf(label, sizeof(label), "picture %d", i + 1);
				bool saved = wait_saved(dir, files[i], 15000);
				ZT_CHECK(saved, "%s: vncsnapshot did not save %s", label, files[i]);
				if (!saved) {
					break;
				}
				long at = now_ms() - start;
				if (i == 0) {
					/* Right away: the next picture is two seconds away. */
					change_scene(&comp, rects_b, LEN(rects_b));
					long changed = now_ms() - start;
					fprintf(stderr, "  %s at %ld ms; scene changed at %ld ms\n",
						files[i], at, changed);
					ZT_CHECK(changed - at < 1000, "the change took %ld ms",
						changed - at);
				} else {
					fprintf(stderr, "  %s at %ld ms\n", files[i], at);
				}
				check_snapshot(dir, files[i], &steps[i], 0, 0, 640, 480, label);
			}
		}
		ZT_CHECK(tapped_finish(&t, dir, 20000), "vncsnapshot -count 2 failed");
		stop_wayvnc(&vnc, dir, "updates");
	}
	teardown(&comp, dir);
}

#define STATIC_CONNECTIONS 8

static void test_static(enum vnc_mode mode) {
	zt_section("wayvnc: a static screen, connection after connection");
	char dir[256];
	struct zt_compositor comp;
	if (!setup(&comp, dir, sizeof(dir), "640x480")) {
		return;
	}
	struct ct_output box = {0, 0, 640, 480};
	struct expect before = {rects, N_RECTS, &box, false};
	struct expect after = {rects_b, LEN(rects_b), &box, false};
	char cursor_path[300];
	snprintf(cursor_path, sizeof(cursor_path), "%s/cursor.bin", dir);
	struct tap_options tap = {.settle_ms = SETTLE_MS, .cursor_path = cursor_path};
	struct vnc vnc;
	if (start_wayvnc(&vnc, &comp, dir, mode)) {
		int good = 0;
		for (int i = 0; i < STATIC_CONNECTIONS; i++) {
			char label[64];
			snprintf(label, sizeof(label), "connection %d", i + 1);
			if (tapped_snapshot(dir, vnc.port, NULL, "static.jpg", &tap)) {
				good += check_snapshot(dir, "static.jpg", &before, 0, 0, 640, 480,
					label);
			} else {
				ZT_CHECK(false, "%s: vncsnapshot failed", label);
			}
			usleep(i * 50000);
		}
		fprintf(stderr, "  %d of %d connections showed the screen\n", good,
			STATIC_CONNECTIONS);
		change_scene(&comp, rects_b, LEN(rects_b));
		if (tapped_snapshot(dir, vnc.port, NULL, "changed.jpg", &tap)) {
			check_snapshot(dir, "changed.jpg", &after, 0, 0, 640, 480,
				"after one change");
		} else {
			ZT_CHECK(false, "after one change: vncsnapshot failed");
		}
		stop_wayvnc(&vnc, dir, "static screen");
	}
	teardown(&comp, dir);
}

/*
 * Whether the compositor offers what wayvnc needs for input (and so for its
 * cursor session), from the registry in a wayvnc log.
 */
static bool offers_input(void) {
	char dir[256];
	struct zt_compositor comp;
	if (!setup(&comp, dir, sizeof(dir), "640x480")) {
		return false;
	}
	struct vnc vnc;
	bool input = false;
	if (start_wayvnc(&vnc, &comp, dir, VNC_NO_INPUT)) {
		kill(vnc.pid, SIGINT);
		ct_wait(vnc.pid, 10000);
		input = ct_file_contains(dir, "wayvnc.log", "\"zwlr_virtual_pointer_manager_v1\"") &&
			ct_file_contains(dir, "wayvnc.log", "\"zwp_virtual_keyboard_manager_v1\"");
	}
	teardown(&comp, dir);
	return input;
}

/* No arguments: every test; otherwise the ones named (layouts, updates, static). */
static bool wanted(int argc, char *argv[], const char *name) {
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			return true;
		}
	}
	return argc <= 1;
}

int main(int argc, char *argv[]) {
	static const char *const programs[] = {"wayvnc", "vncsnapshot"};
	bool have_all = true;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		/* scripts/dev installs them: missing is a failure, not a skip. */
		bool have = ct_have_program(programs[i]);
		ZT_CHECK(have, "%s is not installed (Debian package of that name)", programs[i]);
		have_all = have_all && have;
	}
	if (!have_all) {
		return zt_finish();
	}
	signal(SIGPIPE, SIG_IGN);
	bool input = offers_input();
	ZT_CHECK(input, "the compositor offers no zwlr_virtual_pointer_manager_v1 and "
		"zwp_virtual_keyboard_manager_v1: wayvnc runs without input then, and without "
		"its cursor session");
	enum vnc_mode mode = input ? VNC_INPUT : VNC_NO_INPUT;
	if (wanted(argc, argv, "layouts")) {
		test_layout("640x480", 640, 480, true, input);
		test_layout("640x480:90", 480, 640, false, input);
	}
	if (wanted(argc, argv, "updates")) {
		test_updates(mode);
	}
	if (wanted(argc, argv, "static")) {
		test_static(mode);
		if (input) {
			/* the same without the cursor session */
			test_static(VNC_NO_INPUT);
		}
	}
	return zt_finish();
}
