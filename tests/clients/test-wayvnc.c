/*
 * wayvnc (Debian's 0.5, on neatvnc 0.5) serves zerocap-compositor over VNC
 * through zwlr_screencopy (copy_with_damage, wl_shm), and vncsnapshot
 * (Debian's 1.2a) takes snapshots of it: the whole screen, a -rect region,
 * wayvnc -r (overlay cursor: zerocap paints the arrow) and a rotated output.
 *
 * vncsnapshot speaks only RFB 3.3 and neatvnc 0.5 only RFB 3.8: neatvnc
 * closes the connection on vncsnapshot's version string ("ReadFromRFBServer:
 * rdr::EndOfStream"), whatever the compositor. The test tries the direct
 * connection first and says so when it fails; then it puts a small
 * handshake bridge between them (bridge() below: version strings, and
 * 3.8's security type list and result as 3.3's single security type, "None"
 * here). After the handshake it only copies bytes: pixel format, encodings
 * and framebuffer updates are vncsnapshot and wayvnc talking unchanged.
 *
 * vncsnapshot writes only JPEG; the transfer itself is lossless (-encodings
 * raw -nojpeg). At -quality 100 its libjpeg output is close to exact but not
 * lossless: the RGB -> YCbCr -> RGB round trip rounds. Measured here: at most
 * 1 per channel anywhere, edges of saturated rects and the cursor included.
 * So every pixel is compared, with a tolerance of 3 per channel.
 *
 * Debian's wayvnc 0.5 is built without GBM (it does not link libgbm): no
 * dma-buf capture, so it runs on the host only.
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
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "clients.h"

#define TOLERANCE 3

static const struct ct_rect rects[] = {
	{"red", 10, 20, 60, 80, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 80, 40, 0x0000ff},
	{"white", 0, 230, 30, 10, 0xffffff},
	{"yellow", 40, 60, 40, 40, 0xffff00}, /* over red */
	{"grey", 300, 100, 120, 90, 0x808080},
};
#define N_RECTS ((int)(sizeof(rects) / sizeof(rects[0])))

#define CURSOR_X 150
#define CURSOR_Y 60

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

/*
 * The RFB 3.3 (viewer) <-> 3.8 (server) handshake bridge, for one
 * connection; then it copies bytes both ways until one side closes. Runs in
 * a child process; exit status 0 when the handshake went through.
 */
static int bridge(int listen_fd, int server_port) {
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
	if (poll(&pfd, 1, 20000) <= 0) {
		return 2;
	}
	int viewer = accept(listen_fd, NULL, NULL);
	int server = connect_port(server_port);
	if (viewer < 0 || server < 0) {
		return 3;
	}
	char version[12];
	if (!read_all(server, version, 12) || memcmp(version, "RFB 003.008\n", 12) != 0) {
		fprintf(stderr, "bridge: server version '%.11s', expected RFB 003.008\n", version);
		return 4;
	}
	if (!write_all(viewer, "RFB 003.003\n", 12) || !read_all(viewer, version, 12) ||
			memcmp(version, "RFB 003.003\n", 12) != 0) {
		fprintf(stderr, "bridge: the viewer does not speak RFB 3.3\n");
		return 5;
	}
	uint8_t n_types, types[256];
	if (!write_all(server, "RFB 003.008\n", 12) || !read_all(server, &n_types, 1) ||
			n_types == 0 || !read_all(server, types, n_types) ||
			memchr(types, 1, n_types) == NULL) {
		fprintf(stderr, "bridge: the server offers no \"None\" security type\n");
		return 6;
	}
	uint8_t none = 1;
	uint8_t result[4];
	if (!write_all(server, &none, 1) || !read_all(server, result, 4) ||
			memcmp(result, "\0\0\0\0", 4) != 0) {
		fprintf(stderr, "bridge: security handshake failed\n");
		return 7;
	}
	static const uint8_t security_none_33[4] = {0, 0, 0, 1};
	if (!write_all(viewer, security_none_33, 4)) {
		return 8;
	}
	struct pollfd fds[2] = {{.fd = viewer, .events = POLLIN}, {.fd = server, .events = POLLIN}};
	for (;;) {
		if (poll(fds, 2, 30000) <= 0) {
			return 9;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].revents == 0) {
				continue;
			}
			uint8_t buf[65536];
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n <= 0 || !write_all(fds[1 - i].fd, buf, n)) {
				return 0; /* one side is done */
			}
		}
	}
}

/* ---- the programs ---- */

struct vnc {
	pid_t pid;
	int port;
};

static bool start_wayvnc(struct vnc *vnc, struct zt_compositor *comp, const char *dir,
		bool cursor) {
	vnc->port = free_port();
	char port[16];
	snprintf(port, sizeof(port), "%d", vnc->port);
	char config_home[300];
	snprintf(config_home, sizeof(config_home), "XDG_CONFIG_HOME=%s", dir);
	const char *env[] = {config_home, NULL};
	/* -d: no input (the compositor has no virtual keyboard/pointer). */
	const char *with_cursor[] = {"wayvnc", "-d", "-r", "127.0.0.1", port, NULL};
	const char *without[] = {"wayvnc", "-d", "127.0.0.1", port, NULL};
	vnc->pid = ct_spawn(dir, comp->socket, cursor ? with_cursor : without, env, "wayvnc.log");
	/* Ready once it accepts connections. */
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
	ZT_CHECK(false, "wayvnc did not come up on port %d", vnc->port);
	ct_print_log(dir, "wayvnc.log");
	return false;
}

static void stop_wayvnc(struct vnc *vnc, const char *dir) {
	kill(vnc->pid, SIGINT);
	int status = ct_wait(vnc->pid, 10000);
	bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ZT_CHECK(ok, "wayvnc: %s after SIGINT", ct_status_str(status));
	if (!ok) {
		ct_print_log(dir, "wayvnc.log");
	}
}

/* Runs vncsnapshot against port; rect is "WxH+X+Y" or NULL. */
static bool snapshot(const char *dir, int port, const char *rect, const char *file) {
	char display[64];
	snprintf(display, sizeof(display), "127.0.0.1::%d", port);
	const char *argv[16] = {"vncsnapshot", "-encodings", "raw", "-nojpeg", "-quality", "100"};
	int argc = 6;
	if (rect != NULL) {
		argv[argc++] = "-rect";
		argv[argc++] = rect;
	}
	argv[argc++] = display;
	argv[argc++] = file;
	argv[argc] = NULL;
	char path[512];
	snprintf(path, sizeof(path), "%s/vncsnapshot.log", dir);
	unlink(path);
	pid_t pid = ct_spawn(dir, NULL, argv, NULL, "vncsnapshot.log");
	int status = pid > 0 ? ct_wait(pid, 30000) : -1;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* vncsnapshot through the bridge. */
static bool bridged_snapshot(const char *dir, int server_port, const char *rect,
		const char *file) {
	int port = -1;
	int listen_fd = listen_any(&port);
	if (listen_fd < 0) {
		ZT_CHECK(false, "cannot listen for the bridge: %s", strerror(errno));
		return false;
	}
	fflush(stderr);
	pid_t child = fork();
	if (child == 0) {
		_exit(bridge(listen_fd, server_port));
	}
	close(listen_fd);
	bool ok = snapshot(dir, port, rect, file);
	int status = ct_wait(child, 10000);
	ZT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the RFB 3.3/3.8 bridge: %s", ct_status_str(status));
	if (!ok) {
		ct_print_log(dir, "vncsnapshot.log");
	}
	return ok;
}

/* ---- checks ---- */

/* The expectation restricted to the cursor's box. */
static uint32_t cursor_box_expect(void *data, int x, int y) {
	struct ct_scene_view *view = data;
	int lx = view->ox + x, ly = view->oy + y;
	if (lx < CURSOR_X || lx >= CURSOR_X + 12 || ly < CURSOR_Y || ly >= CURSOR_Y + 19) {
		return CT_OUTSIDE;
	}
	return ct_scene_view_expect(data, x, y);
}

static void check_snapshot(const char *dir, const char *file, const struct ct_output *box,
		int x, int y, int width, int height, bool cursor, const char *label) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	struct ct_image image;
	bool read = ct_read_jpeg(path, &image);
	ZT_CHECK(read, "%s: cannot decode vncsnapshot's JPEG", label);
	if (!read) {
		return;
	}
	ZT_CHECK(image.width == width && image.height == height,
		"%s: snapshot is %dx%d, expected %dx%d", label, image.width, image.height, width,
		height);
	if (image.width == width && image.height == height) {
		struct ct_scene scene = {
			.rects = rects, .n_rects = N_RECTS, .outputs = box, .n_outputs = 1,
			.cursor = cursor, .cursor_x = CURSOR_X, .cursor_y = CURSOR_Y,
		};
		struct ct_scene_view view = {
			.scene = &scene, .ox = x, .oy = y, .scale = 1,
			.transform = WL_OUTPUT_TRANSFORM_NORMAL,
		};
		struct ct_compare cmp = {.tolerance = TOLERANCE};
		int bad = ct_compare_image(&image, ct_scene_view_expect, &view, &cmp, label);
		ZT_CHECK(bad == 0 && cmp.checked == width * height,
			"%s: %d of %d pixels differ from the scene", label, bad, cmp.checked);
		if (cursor) {
			struct ct_compare exact = {.tolerance = TOLERANCE};
			bad = ct_compare_image(&image, cursor_box_expect, &view, &exact, label);
			ZT_CHECK(bad == 0 && exact.checked == 12 * 19,
				"%s: %d of %d pixels of the cursor's box differ", label, bad,
				exact.checked);
		}
	}
	ct_image_finish(&image);
	unlink(path);
}

static void test_layout(const char *output, int up_w, int up_h, bool direct_first) {
	char section[128];
	snprintf(section, sizeof(section), "wayvnc + vncsnapshot, output %s", output);
	zt_section(section);
	char dir[256];
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return;
	}
	const char *args[] = {"--output", output, NULL};
	struct zt_compositor comp;
	if (!zt_compositor_start(&comp, args)) {
		ct_tmpdir_remove(dir);
		return;
	}
	struct ct_scene scene = {.rects = rects, .n_rects = N_RECTS, .cursor = true,
		.cursor_x = CURSOR_X, .cursor_y = CURSOR_Y};
	ct_scene_apply(&comp, &scene);
	struct ct_output box = {0, 0, up_w, up_h};

	struct vnc vnc;
	if (start_wayvnc(&vnc, &comp, dir, false)) {
		char label[160];
		if (direct_first) {
			if (snapshot(dir, vnc.port, NULL, "direct.jpg")) {
				snprintf(label, sizeof(label), "%s, direct", output);
				check_snapshot(dir, "direct.jpg", &box, 0, 0, up_w, up_h, false, label);
			} else {
				fprintf(stderr, "note: vncsnapshot cannot talk to wayvnc directly "
					"(vncsnapshot 1.2a speaks RFB 3.3, neatvnc 0.5 only 3.8); "
					"its log:\n");
				ct_print_log(dir, "vncsnapshot.log");
				fprintf(stderr, "note: going through the RFB 3.3/3.8 handshake "
					"bridge\n");
			}
		}
		snprintf(label, sizeof(label), "%s, whole screen", output);
		if (bridged_snapshot(dir, vnc.port, NULL, "full.jpg")) {
			check_snapshot(dir, "full.jpg", &box, 0, 0, up_w, up_h, false, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		snprintf(label, sizeof(label), "%s, -rect 200x150+20+10", output);
		if (bridged_snapshot(dir, vnc.port, "200x150+20+10", "rect.jpg")) {
			check_snapshot(dir, "rect.jpg", &box, 20, 10, 200, 150, false, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		stop_wayvnc(&vnc, dir);
	}
	if (start_wayvnc(&vnc, &comp, dir, true)) {
		char label[160];
		snprintf(label, sizeof(label), "%s, wayvnc -r (cursor)", output);
		if (bridged_snapshot(dir, vnc.port, NULL, "cursor.jpg")) {
			check_snapshot(dir, "cursor.jpg", &box, 0, 0, up_w, up_h, true, label);
		} else {
			ZT_CHECK(false, "%s: vncsnapshot failed", label);
		}
		stop_wayvnc(&vnc, dir);
	}
	ZT_CHECK(zt_compositor_alive(&comp), "the compositor is still running");
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(dir);
}

int main(void) {
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
	test_layout("640x480", 640, 480, true);
	test_layout("640x480:90", 480, 640, false);
	return zt_finish();
}
