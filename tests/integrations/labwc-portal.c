/*
 * labwc-portal: the screen-sharing stack on a running compositor, for
 * test-labwc.py. It starts the private desktop stack of portal-stack.h
 * (dbus, PipeWire, WirePlumber, xdg-desktop-portal-zerocap, the
 * xdg-desktop-portal frontend) on $XDG_RUNTIME_DIR/SOCKET, starts a
 * ScreenCast session of OUTPUT through the frontend and consumes the
 * PipeWire stream. Lines on stdin drive it, each answered on stdout:
 *   (at start)  "streaming W H" once the consumer is connected, or "error ..."
 *   snap PATH   the newest frame (after frames stopped coming for 300 ms) as
 *               a PPM at PATH: "ok FRAMES", or "error ..."
 *   quit        stops the stack; "ok" when the share lived to the end
 * Checks (ZT_CHECK) go to stderr; the exit status says whether all passed.
 *
 *   labwc-portal SOCKET OUTPUT    ($ZC_PORTAL, $ZC_PORTAL_DIR as for 'portal')
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "portal-stack.h"

struct latest {
	struct ct_consumer pw;
	struct ct_image image; /* the newest frame, under the loop lock */
	int frames;
	uint64_t last_ns;
};

static void handle_frame(void *data, const struct spa_buffer *buffer,
		const struct spa_video_info_raw *format, const struct spa_meta_header *header,
		uint64_t arrived_ns) {
	struct latest *latest = data;
	struct ct_image image;
	if (!ct_buffer_image(format, buffer, &image)) {
		return;
	}
	ct_image_finish(&latest->image);
	latest->image = image;
	latest->frames++;
	latest->last_ns = arrived_ns;
}

static bool write_ppm(const char *path, const struct ct_image *image) {
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		return false;
	}
	fprintf(f, "P6\n%d %d\n255\n", image->width, image->height);
	size_t n = (size_t)image->width * image->height * 3;
	bool ok = fwrite(image->rgb, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/* Waits until no frame came for 300 ms (at most 5 s), then writes the newest. */
static void snap(struct latest *latest, const char *path) {
	int frames = 0;
	struct ct_image copy = {0};
	for (long start = ct_now_ms(); ct_now_ms() - start < 5000;) {
		pw_thread_loop_lock(latest->pw.loop);
		bool settled = latest->frames > 0 && ct_now_ns() - latest->last_ns > 300000000u;
		if (settled) {
			frames = latest->frames;
			copy = latest->image;
			size_t n = (size_t)copy.width * copy.height * 3;
			copy.rgb = malloc(n);
			if (copy.rgb != NULL) {
				memcpy(copy.rgb, latest->image.rgb, n);
			}
		}
		pw_thread_loop_unlock(latest->pw.loop);
		if (settled) {
			break;
		}
		usleep(20000);
	}
	if (copy.rgb == NULL) {
		printf("error no settled frame\n");
	} else if (!write_ppm(path, &copy)) {
		printf("error cannot write %s\n", path);
	} else {
		printf("ok %d\n", frames);
	}
	free(copy.rgb);
	fflush(stdout);
}

int main(int argc, char *argv[]) {
	if (argc != 3 || getenv("ZC_PORTAL") == NULL || getenv("ZC_PORTAL_DIR") == NULL) {
		fprintf(stderr, "usage: labwc-portal SOCKET OUTPUT (with ZC_PORTAL, ZC_PORTAL_DIR)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pw_init(NULL, NULL);
	struct zt_compositor comp = {0};
	snprintf(comp.socket, sizeof(comp.socket), "%s", argv[1]);
	struct ct_stack stack = {0};
	if (!ct_tmpdir(stack.dir, sizeof(stack.dir))) {
		return 1;
	}
	GDBusConnection *bus = NULL;
	const struct ct_stack_options options = {
		.backend = CT_BACKEND_ZEROCAP, .output = argv[2], .max_fps = 60, .wayland_debug = true,
	};
	struct latest latest = {0};
	bool streaming = false;
	if (ct_stack_start(&stack, &options, &comp, &bus)) {
		struct ct_portal portal = {.bus = bus};
		int fd = ct_portal_start(&portal) ? ct_portal_remote(&portal) : -1;
		streaming = fd >= 0 && ct_consumer_start(&latest.pw, "labwc consumer", fd,
			portal.node, portal.width, portal.height, handle_frame, &latest);
		if (streaming) {
			printf("streaming %d %d\n", portal.width, portal.height);
		} else {
			printf("error the share did not start\n");
		}
		fflush(stdout);
		char line[4096];
		while (streaming && fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "snap ", 5) == 0) {
				snap(&latest, line + 5);
			} else if (strcmp(line, "quit") == 0) {
				break;
			} else {
				printf("error unknown command %s\n", line);
				fflush(stdout);
			}
		}
		if (streaming) {
			pw_thread_loop_lock(latest.pw.loop);
			ZT_CHECK(!latest.pw.error, "the stream ended: %s", latest.pw.error_text);
			pw_thread_loop_unlock(latest.pw.loop);
			ZT_CHECK(ct_name_has_owner(bus, ct_backend_bus_name(CT_BACKEND_ZEROCAP)),
				"the portal backend is still running");
			ct_consumer_stop(&latest.pw);
		}
		ct_portal_close(&portal);
		g_object_unref(bus);
		ct_stack_stop(&stack);
		ct_check_protocol(stack.dir, ct_backend_log(CT_BACKEND_ZEROCAP),
			CT_EXT_IMAGE_COPY_CAPTURE, "xdg-desktop-portal-zerocap");
	}
	ct_image_finish(&latest.image);
	ct_tmpdir_remove(stack.dir);
	pw_deinit();
	int failed = zt_finish();
	printf("%s\n", failed == 0 && streaming ? "ok" : "error checks failed");
	return failed;
}
