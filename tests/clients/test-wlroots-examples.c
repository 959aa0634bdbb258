/*
 * wlroots' own screencopy examples (Debian package libwlroots-examples)
 * against zerocap-compositor: /usr/lib/wlroots/screencopy copies the first
 * output into a wl_shm buffer, /usr/lib/wlroots/screencopy-dmabuf into a
 * linear GBM buffer object it maps afterwards; both write
 * wayland-screenshot.png into their working directory, in the output
 * buffer's own orientation (they honour y_invert but never apply the output
 * transform). So the PNG must be the raw output buffer, pixel for pixel: the
 * scene turned by the output transform, at the output scale. One compositor
 * per provider; the output is turned and scaled through --control.
 *
 * Host suite (no arguments): pixman renderer, the shm example, every
 * transform and scale 2. The dma-buf example needs a DRM render node, which
 * the host lacks.
 * With --gpu (suite gpu-vm, inside the VM test bed with WLR_RENDERER=gles2
 * and LD_PRELOAD of the render node shim): both examples, the dma-buf one
 * through GBM on the VM's DRM device, on four layouts (captures are slow
 * there); zerocap's dma-buf copies must be GPU blits.
 *
 * Every image from --screencopy=zerocap must also equal the shm example's
 * image from wlroots' own screencopy (--screencopy=wlroots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-client-protocol.h>
#include "clients.h"

#define SHM_EXAMPLE "/usr/lib/wlroots/screencopy"
#define DMABUF_EXAMPLE "/usr/lib/wlroots/screencopy-dmabuf"

static const struct ct_rect rects[] = {
	{"red", 10, 20, 30, 40, 0xff0000},
	{"green", 200, 200, 40, 40, 0x00ff00},
	{"blue", 100, 0, 20, 10, 0x0000ff},
	{"white", 0, 230, 7, 10, 0xffffff},
	{"yellow", 30, 50, 20, 20, 0xffff00},
};
#define N_RECTS ((int)(sizeof(rects) / sizeof(rects[0])))

/* The one 640x480 output, turned and scaled through the control channel. */
struct layout {
	const char *name;
	const char *transform_name; /* as the control command spells it */
	int transform;
	int scale;
	int up_w, up_h; /* upright logical size */
	bool gpu; /* also in the VM, where every capture is slow */
};

static const struct layout layouts[] = {
	{"normal", "normal", WL_OUTPUT_TRANSFORM_NORMAL, 1, 640, 480, true},
	{"transform 90", "90", WL_OUTPUT_TRANSFORM_90, 1, 480, 640, true},
	{"transform 180", "180", WL_OUTPUT_TRANSFORM_180, 1, 640, 480, false},
	{"transform 270", "270", WL_OUTPUT_TRANSFORM_270, 1, 480, 640, false},
	{"transform flipped", "flipped", WL_OUTPUT_TRANSFORM_FLIPPED, 1, 640, 480, false},
	{"transform flipped-90", "flipped-90", WL_OUTPUT_TRANSFORM_FLIPPED_90, 1, 480, 640, false},
	{"transform flipped-180", "flipped-180", WL_OUTPUT_TRANSFORM_FLIPPED_180, 1, 640, 480,
		true},
	{"transform flipped-270", "flipped-270", WL_OUTPUT_TRANSFORM_FLIPPED_270, 1, 480, 640,
		false},
	{"scale 2", "normal", WL_OUTPUT_TRANSFORM_NORMAL, 2, 320, 240, false},
	{"scale 2, transform 270", "270", WL_OUTPUT_TRANSFORM_270, 2, 240, 320, true},
};
#define N_LAYOUTS ((int)(sizeof(layouts) / sizeof(layouts[0])))

struct example {
	const char *name;
	const char *path;
};

static const struct example examples[] = {
	{"screencopy (shm)", SHM_EXAMPLE},
	{"screencopy-dmabuf", DMABUF_EXAMPLE},
};

/* Runs one example; image gets its PNG. */
static bool run_example(struct zt_compositor *comp, const struct example *example,
		const struct layout *layout, const char *provider, struct ct_image *image) {
	char label[256];
	snprintf(label, sizeof(label), "%s, %s, --screencopy=%s", example->name, layout->name,
		provider);
	char dir[256];
	if (!ct_tmpdir(dir, sizeof(dir))) {
		return false;
	}
	const char *argv[] = {example->path, NULL};
	bool ran = ct_run(dir, comp->socket, argv, 60000, "example.log");
	ZT_CHECK(ran, "%s: the example failed", label);
	char path[512];
	snprintf(path, sizeof(path), "%s/wayland-screenshot.png", dir);
	bool read = ran && ct_read_png(path, image);
	ZT_CHECK(!ran || read, "%s: cannot decode its wayland-screenshot.png", label);
	if (read) {
		/* The raw buffer: the mode's size whatever the transform and scale. */
		ZT_CHECK(image->width == 640 && image->height == 480,
			"%s: image is %dx%d, expected the 640x480 buffer", label, image->width,
			image->height);
		struct ct_output box = {0, 0, layout->up_w, layout->up_h};
		struct ct_scene scene = {
			.rects = rects, .n_rects = N_RECTS, .outputs = &box, .n_outputs = 1,
		};
		struct ct_scene_view view = {
			.scene = &scene, .scale = layout->scale, .transform = layout->transform,
			.up_w = layout->up_w * layout->scale, .up_h = layout->up_h * layout->scale,
		};
		struct ct_compare cmp = {0};
		if (image->width == 640 && image->height == 480) {
			int bad = ct_compare_image(image, ct_scene_view_expect, &view, &cmp, label);
			ZT_CHECK(bad == 0 && cmp.checked == 640 * 480,
				"%s: %d of %d pixels differ from the scene", label, bad, cmp.checked);
		}
	}
	ct_tmpdir_remove(dir);
	return read;
}

/* zerocap's gpu_blits counter (control command stats), -1 if unknown. */
static long gpu_blits(struct zt_compositor *comp) {
	if (!zt_cmd(comp, "stats")) {
		return -1;
	}
	const char *field = strstr(comp->reply, "gpu_blits=");
	return field != NULL ? strtol(field + strlen("gpu_blits="), NULL, 10) : -1;
}

int main(int argc, char *argv[]) {
	bool gpu = argc > 1 && strcmp(argv[1], "--gpu") == 0;
	int n_examples = gpu ? 2 : 1;
	if (!gpu) {
		fprintf(stderr, "note: %s needs a DRM render node (GBM); it runs in the VM "
			"test bed (suite gpu-vm, --gpu), not here\n", DMABUF_EXAMPLE);
	}
	for (int e = 0; e < n_examples; e++) {
		/* scripts/dev installs libwlroots-examples: missing is a failure. */
		ZT_CHECK(ct_have_program(examples[e].path),
			"%s is missing (Debian package libwlroots-examples)", examples[e].path);
	}
	if (!ct_have_program(examples[0].path) ||
			(gpu && !ct_have_program(examples[1].path))) {
		return zt_finish();
	}

	/* [layout][provider][example] */
	static struct ct_image images[N_LAYOUTS][2][2];
	static const char *const providers[] = {"zerocap", "wlroots"};
	for (int p = 0; p < 2; p++) {
		char section[256];
		snprintf(section, sizeof(section), "--screencopy=%s%s", providers[p],
			gpu ? ", GLES2" : ", pixman");
		zt_section(section);
		char screencopy[64];
		snprintf(screencopy, sizeof(screencopy), "--screencopy=%s", providers[p]);
		const char *args[] = {screencopy, "--output", "640x480", NULL};
		struct zt_compositor comp;
		if (!zt_compositor_start(&comp, args)) {
			continue;
		}
		struct ct_scene scene = {.rects = rects, .n_rects = N_RECTS};
		ct_scene_apply(&comp, &scene);
		for (int l = 0; l < N_LAYOUTS; l++) {
			const struct layout *layout = &layouts[l];
			if (gpu && !layout->gpu) {
				continue;
			}
			bool set = zt_cmd(&comp, "output HEADLESS-1 transform %s",
				layout->transform_name) &&
				zt_cmd(&comp, "output HEADLESS-1 scale %d", layout->scale);
			ZT_CHECK(set, "%s: %s", layout->name, comp.reply);
			/*
			 * wlroots 0.15's own dma-buf copy sends ready without waiting for
			 * its draw: in the VM (llvmpipe into dumb buffers, no implicit
			 * sync) the example then maps a partly drawn buffer (black
			 * areas, different ones each run). So the wlroots baseline is
			 * the shm example only; zerocap's dma-buf image must equal its
			 * shm image and the scene.
			 */
			int n = p == 1 ? 1 : n_examples;
			for (int e = 0; set && e < n; e++) {
				long blits = p == 0 ? gpu_blits(&comp) : 0;
				run_example(&comp, &examples[e], layout, providers[p],
					&images[l][p][e]);
				if (p == 0 && e == 1) {
					/* The dma-buf copy is zerocap's GPU draw, not a CPU copy. */
					long now = gpu_blits(&comp);
					ZT_CHECK(now > blits, "%s, %s: zerocap made no GPU blit "
						"(gpu_blits %ld -> %ld)", examples[e].name, layout->name,
						blits, now);
				}
			}
		}
		ZT_CHECK(zt_compositor_alive(&comp), "%s: the compositor is still running",
			section);
		zt_compositor_stop(&comp);
	}

	zt_section("zerocap's images equal wlroots' shm images");
	for (int l = 0; l < N_LAYOUTS; l++) {
		for (int e = 0; e < n_examples; e++) {
			struct ct_image *a = &images[l][0][e], *b = &images[l][1][0];
			if (a->rgb != NULL && b->rgb != NULL) {
				ZT_CHECK(a->width == b->width && a->height == b->height &&
					memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3) == 0,
					"%s, %s: zerocap's image differs from wlroots' (shm)",
					examples[e].name, layouts[l].name);
			}
		}
		for (int e = 0; e < n_examples; e++) {
			ct_image_finish(&images[l][0][e]);
			ct_image_finish(&images[l][1][e]);
		}
	}
	return zt_finish();
}
