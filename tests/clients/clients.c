#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <jpeglib.h> /* after stdio.h: it uses FILE */
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include "arrow.h"
#include "clients.h"

/* ---- images ---- */

void ct_image_finish(struct ct_image *image) {
	free(image->rgb);
	image->rgb = NULL;
	image->width = image->height = 0;
}

uint32_t ct_image_pixel(const struct ct_image *image, int x, int y) {
	const uint8_t *p = image->rgb + ((size_t)y * image->width + x) * 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static bool image_alloc(struct ct_image *image, int width, int height) {
	image->width = width;
	image->height = height;
	image->rgb = width > 0 && height > 0 ? malloc((size_t)width * height * 3) : NULL;
	return image->rgb != NULL;
}

bool ct_read_png(const char *path, struct ct_image *image) {
	memset(image, 0, sizeof(*image));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "  cannot open %s: %s\n", path, strerror(errno));
		return false;
	}
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
	bool ok = false;
	if (info == NULL) {
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "  %s: not a valid PNG\n", path);
		ct_image_finish(image);
		goto out;
	}
	png_init_io(png, f);
	png_read_info(png, info);
	/* Whatever the file holds: 8-bit RGB, alpha dropped. */
	png_set_expand(png);
	png_set_strip_16(png);
	png_set_gray_to_rgb(png);
	png_set_strip_alpha(png);
	png_read_update_info(png, info);
	int width = (int)png_get_image_width(png, info);
	int height = (int)png_get_image_height(png, info);
	if (png_get_rowbytes(png, info) != (size_t)width * 3 || !image_alloc(image, width, height)) {
		fprintf(stderr, "  %s: unexpected PNG layout\n", path);
		goto out;
	}
	for (int y = 0; y < height; y++) {
		png_read_row(png, image->rgb + (size_t)y * width * 3, NULL);
	}
	png_read_end(png, NULL);
	ok = true;
out:
	png_destroy_read_struct(&png, info != NULL ? &info : NULL, NULL);
	fclose(f);
	return ok;
}

static int ppm_number(FILE *f) {
	int c = fgetc(f);
	while (c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
		if (c == '#') {
			while (c != '\n' && c != EOF) {
				c = fgetc(f);
			}
		}
		c = fgetc(f);
	}
	int n = -1;
	while (c >= '0' && c <= '9') {
		n = (n < 0 ? 0 : n * 10) + (c - '0');
		c = fgetc(f);
	}
	return n; /* the one whitespace after it is consumed */
}

bool ct_read_ppm(const char *path, struct ct_image *image) {
	memset(image, 0, sizeof(*image));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "  cannot open %s: %s\n", path, strerror(errno));
		return false;
	}
	bool ok = false;
	if (fgetc(f) != 'P' || fgetc(f) != '6') {
		fprintf(stderr, "  %s: not a binary PPM (P6)\n", path);
		goto out;
	}
	int width = ppm_number(f), height = ppm_number(f), max = ppm_number(f);
	if (width <= 0 || height <= 0 || max != 255 || !image_alloc(image, width, height)) {
		fprintf(stderr, "  %s: unexpected PPM header %d %d %d\n", path, width, height, max);
		goto out;
	}
	size_t size = (size_t)width * height * 3;
	if (fread(image->rgb, 1, size, f) != size) {
		fprintf(stderr, "  %s: short PPM\n", path);
		ct_image_finish(image);
		goto out;
	}
	ok = true;
out:
	fclose(f);
	return ok;
}

struct jpeg_error {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

static void jpeg_error_exit(j_common_ptr cinfo) {
	struct jpeg_error *error = (struct jpeg_error *)cinfo->err;
	(*cinfo->err->output_message)(cinfo);
	longjmp(error->jump, 1);
}

bool ct_read_jpeg(const char *path, struct ct_image *image) {
	memset(image, 0, sizeof(*image));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "  cannot open %s: %s\n", path, strerror(errno));
		return false;
	}
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error error;
	cinfo.err = jpeg_std_error(&error.mgr);
	error.mgr.error_exit = jpeg_error_exit;
	if (setjmp(error.jump)) {
		jpeg_destroy_decompress(&cinfo);
		ct_image_finish(image);
		fclose(f);
		return false;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, f);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_components != 3 ||
			!image_alloc(image, (int)cinfo.output_width, (int)cinfo.output_height)) {
		fprintf(stderr, "  %s: unexpected JPEG layout\n", path);
		jpeg_destroy_decompress(&cinfo);
		ct_image_finish(image);
		fclose(f);
		return false;
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = image->rgb + (size_t)cinfo.output_scanline * image->width * 3;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	fclose(f);
	return true;
}

/* ---- the scene ---- */

bool ct_scene_apply(struct zt_compositor *comp, const struct ct_scene *scene) {
	bool ok = true;
	for (int i = 0; i < scene->n_rects; i++) {
		const struct ct_rect *r = &scene->rects[i];
		bool done = zt_cmd(comp, "rect %s %d %d %d %d %06xff", r->name, r->x, r->y, r->w,
			r->h, r->rgb);
		ZT_CHECK(done, "rect %s: %s", r->name, comp->reply);
		ok = ok && done;
	}
	if (scene->cursor) {
		bool done = zt_cmd(comp, "cursor %d %d", scene->cursor_x, scene->cursor_y) &&
			zt_cmd(comp, "cursor show");
		ZT_CHECK(done, "cursor: %s", comp->reply);
		ok = ok && done;
	}
	return ok;
}

static int floor_div(int a, int b) {
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

uint32_t ct_scene_color(const struct ct_scene *scene, int px, int py, int scale) {
	int lx = floor_div(px, scale), ly = floor_div(py, scale);
	bool inside = false;
	for (int i = 0; i < scene->n_outputs && !inside; i++) {
		const struct ct_output *o = &scene->outputs[i];
		inside = lx >= o->x && lx < o->x + o->w && ly >= o->y && ly < o->y + o->h;
	}
	if (!inside) {
		return CT_OUTSIDE;
	}
	if (scene->cursor) {
		/* Arrow pixels are device pixels at the hotspot (scale 1 scenes). */
		uint32_t arrow = zt_arrow_argb(px - scene->cursor_x * scale,
			py - scene->cursor_y * scale);
		if (arrow != 0) {
			return arrow & 0xffffff;
		}
	}
	for (int i = scene->n_rects - 1; i >= 0; i--) {
		const struct ct_rect *r = &scene->rects[i];
		if (lx >= r->x && lx < r->x + r->w && ly >= r->y && ly < r->y + r->h) {
			return r->rgb;
		}
	}
	return CT_BACKGROUND;
}

/* Upright position of raw buffer pixel (rx, ry); raw is raw_w x raw_h. */
static void upright_position(int transform, int raw_w, int raw_h, int rx, int ry,
		int *x, int *y) {
	switch (transform) {
	case WL_OUTPUT_TRANSFORM_NORMAL: *x = rx; *y = ry; break;
	case WL_OUTPUT_TRANSFORM_90: *x = raw_h - 1 - ry; *y = rx; break;
	case WL_OUTPUT_TRANSFORM_180: *x = raw_w - 1 - rx; *y = raw_h - 1 - ry; break;
	case WL_OUTPUT_TRANSFORM_270: *x = ry; *y = raw_w - 1 - rx; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED: *x = raw_w - 1 - rx; *y = ry; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_90: *x = ry; *y = rx; break;
	case WL_OUTPUT_TRANSFORM_FLIPPED_180: *x = rx; *y = raw_h - 1 - ry; break;
	default: *x = raw_h - 1 - ry; *y = raw_w - 1 - rx; break;
	}
}

uint32_t ct_scene_view_expect(void *data, int x, int y) {
	const struct ct_scene_view *view = data;
	int ux = x, uy = y;
	if (view->transform != WL_OUTPUT_TRANSFORM_NORMAL) {
		bool rotated = view->transform % 2 == 1;
		int raw_w = rotated ? view->up_h : view->up_w;
		int raw_h = rotated ? view->up_w : view->up_h;
		upright_position(view->transform, raw_w, raw_h, x, y, &ux, &uy);
	}
	return ct_scene_color(view->scene, view->ox * view->scale + ux,
		view->oy * view->scale + uy, view->scale);
}

static bool near_change(ct_expect_fn want, void *data, int x, int y, int w, int h, int margin,
		uint32_t value) {
	for (int j = y - margin; j <= y + margin; j++) {
		for (int i = x - margin; i <= x + margin; i++) {
			if (i < 0 || j < 0 || i >= w || j >= h) {
				continue;
			}
			if (want(data, i, j) != value) {
				return true;
			}
		}
	}
	return false;
}

static int channel_diff(uint32_t a, uint32_t b, int shift) {
	int d = (int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff);
	return d < 0 ? -d : d;
}

int ct_compare_image(const struct ct_image *image, ct_expect_fn want, void *data,
		struct ct_compare *options, const char *label) {
	options->checked = options->bad = 0;
	int max_diff = 0;
	for (int y = 0; y < image->height; y++) {
		for (int x = 0; x < image->width; x++) {
			uint32_t expected = want(data, x, y);
			if (expected == CT_OUTSIDE) {
				continue;
			}
			if (options->margin > 0 && near_change(want, data, x, y, image->width,
					image->height, options->margin, expected)) {
				continue;
			}
			options->checked++;
			uint32_t got = ct_image_pixel(image, x, y);
			int diff = channel_diff(got, expected, 16);
			int dg = channel_diff(got, expected, 8), db = channel_diff(got, expected, 0);
			diff = dg > diff ? dg : diff;
			diff = db > diff ? db : diff;
			max_diff = diff > max_diff ? diff : max_diff;
			if (diff > options->tolerance) {
				if (options->bad < 3) {
					fprintf(stderr, "  %s: pixel %d,%d is %06x, expected %06x\n",
						label, x, y, got, expected);
				}
				options->bad++;
			}
		}
	}
	if (options->tolerance > 0) {
		fprintf(stderr, "  %s: %d pixels checked, largest channel difference %d "
			"(tolerance %d)\n", label, options->checked, max_diff, options->tolerance);
	}
	return options->bad;
}

/* ---- processes ---- */

bool ct_have_program(const char *name) {
	if (strchr(name, '/') != NULL) {
		return access(name, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (path == NULL) {
		path = "/usr/local/bin:/usr/bin:/bin";
	}
	char *copy = strdup(path);
	bool found = false;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL && !found;
			dir = strtok_r(NULL, ":", &save)) {
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", dir, name);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

pid_t ct_spawn(const char *dir, const char *socket, const char *const *argv,
		const char *const *extra_env, const char *log) {
	char log_path[4096];
	snprintf(log_path, sizeof(log_path), "%s/%s", dir, log);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0) {
		return pid;
	}
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	if (chdir(dir) != 0) {
		_exit(126);
	}
	if (socket != NULL) {
		setenv("WAYLAND_DISPLAY", socket, 1);
	} else {
		unsetenv("WAYLAND_DISPLAY");
	}
	for (int i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
		putenv((char *)extra_env[i]);
	}
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int ct_wait(pid_t pid, int timeout_ms) {
	int status = 0;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			return status;
		}
		if (r < 0 || waited >= timeout_ms) {
			break;
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

const char *ct_status_str(int status) {
	static char text[32];
	if (status == -1) {
		return "timeout";
	}
	if (WIFEXITED(status)) {
		snprintf(text, sizeof(text), "exit %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(text, sizeof(text), "signal %d", WTERMSIG(status));
	} else {
		snprintf(text, sizeof(text), "status %#x", status);
	}
	return text;
}

bool ct_file_contains(const char *dir, const char *file, const char *text) {
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return false;
	}
	char *line = NULL;
	size_t size = 0;
	bool found = false;
	while (!found && getline(&line, &size, f) >= 0) {
		found = strstr(line, text) != NULL;
	}
	free(line);
	fclose(f);
	return found;
}

void ct_print_log(const char *dir, const char *log) {
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, log);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return;
	}
	fprintf(stderr, "---- %s\n", path);
	char line[1024];
	while (fgets(line, sizeof(line), f) != NULL) {
		fputs(line, stderr);
	}
	fprintf(stderr, "---- end of %s\n", log);
	fclose(f);
}

bool ct_run(const char *dir, const char *socket, const char *const *argv, int timeout_ms,
		const char *log) {
	return ct_run_env(dir, socket, argv, NULL, timeout_ms, log);
}

bool ct_run_env(const char *dir, const char *socket, const char *const *argv,
		const char *const *extra_env, int timeout_ms, const char *log) {
	pid_t pid = ct_spawn(dir, socket, argv, extra_env, log);
	if (pid < 0) {
		ZT_CHECK(false, "fork: %s", strerror(errno));
		return false;
	}
	int status = ct_wait(pid, timeout_ms);
	bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		fprintf(stderr, "  %s: %s\n", argv[0], ct_status_str(status));
		ct_print_log(dir, log);
	}
	return ok;
}

bool ct_tmpdir(char *path, size_t size) {
	const char *base = getenv("TMPDIR");
	snprintf(path, size, "%s/zt-clients-XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(path) == NULL) {
		ZT_CHECK(false, "mkdtemp %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

void ct_tmpdir_remove(const char *path) {
	if (getenv("CT_KEEP_TMP") != NULL) {
		fprintf(stderr, "note: CT_KEEP_TMP: keeping %s\n", path);
		return;
	}
	DIR *dir = opendir(path);
	if (dir == NULL) {
		return;
	}
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
			continue;
		}
		char file[4096];
		snprintf(file, sizeof(file), "%s/%s", path, entry->d_name);
		struct stat st;
		if (lstat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
			ct_tmpdir_remove(file);
		} else {
			unlink(file);
		}
	}
	closedir(dir);
	rmdir(path);
}

/* ---- the protocol log ---- */

/* Object ids that a client created, up to this many (client ids start at 1). */
#define WIRE_IDS 65536

struct wire_ids {
	bool cursor_session[WIRE_IDS]; /* capture sessions of cursor sessions */
	bool cursor_frame[WIRE_IDS]; /* frames of those */
};

static bool starts_with(const char *s, const char *prefix) {
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The id after "new id IFACE#" in args, or 0. */
static unsigned new_id(const char *args) {
	const char *p = strstr(args, "new id ");
	p = p != NULL ? strchr(p, '#') : NULL;
	unsigned id = p != NULL ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
	return id < WIRE_IDS ? id : 0;
}

static bool is_ext_interface(const char *iface) {
	return starts_with(iface, "ext_image_copy_capture_") ||
		(starts_with(iface, "ext_") && strstr(iface, "image_capture_source") != NULL);
}

static bool is_manager(const char *iface) {
	return strstr(iface, "_manager_v1") != NULL;
}

static void wire_line(struct ct_wire *wire, struct wire_ids *ids, const char *line) {
	/* "[timestamp] {queue} -> iface#id.message(args)", queue and arrow optional */
	const char *p = strchr(line, ']');
	if (line[0] != '[' || p == NULL) {
		return;
	}
	p++;
	while (*p == ' ') {
		p++;
	}
	if (*p == '{') {
		p = strchr(p, '}');
		if (p == NULL) {
			return;
		}
		p++;
		while (*p == ' ') {
			p++;
		}
	}
	bool request = starts_with(p, "-> ");
	if (request) {
		p += 3;
	}
	char iface[128], message[128];
	unsigned id = 0;
	int used = 0;
	if (sscanf(p, "%127[a-z0-9_]#%u.%127[a-z0-9_](%n", iface, &id, message, &used) != 3 ||
			used == 0) {
		return;
	}
	const char *args = p + used;
	id = id < WIRE_IDS ? id : 0;
	wire->lines++;
	bool destroy = strcmp(message, "destroy") == 0;
	if (is_ext_interface(iface)) {
		if (!request) {
			if (strcmp(iface, "ext_image_copy_capture_frame_v1") == 0) {
				bool ready = strcmp(message, "ready") == 0;
				wire->ext_ready += ready;
				wire->ext_failed += strcmp(message, "failed") == 0;
				wire->ext_cursor_ready += ready && ids->cursor_frame[id];
			}
			return;
		}
		if (!(destroy && is_manager(iface))) {
			wire->ext_requests++;
		}
		if (strcmp(iface, "ext_image_copy_capture_manager_v1") == 0) {
			wire->ext_sessions += strcmp(message, "create_session") == 0;
			wire->ext_cursor_sessions +=
				strcmp(message, "create_pointer_cursor_session") == 0;
		} else if (strcmp(iface, "ext_image_copy_capture_cursor_session_v1") == 0 &&
				strcmp(message, "get_capture_session") == 0) {
			ids->cursor_session[new_id(args)] = true;
		} else if (strcmp(iface, "ext_image_copy_capture_session_v1") == 0) {
			if (strcmp(message, "create_frame") == 0) {
				ids->cursor_frame[new_id(args)] = ids->cursor_session[id];
			} else if (destroy) {
				ids->cursor_session[id] = false;
			}
		} else if (strcmp(iface, "ext_image_copy_capture_frame_v1") == 0) {
			wire->ext_captures += strcmp(message, "capture") == 0;
			if (destroy) {
				ids->cursor_frame[id] = false;
			}
		}
		ids->cursor_session[0] = ids->cursor_frame[0] = false;
	} else if (starts_with(iface, "zwlr_screencopy_")) {
		bool frame = strcmp(iface, "zwlr_screencopy_frame_v1") == 0;
		if (!request) {
			if (frame) {
				wire->screencopy_ready += strcmp(message, "ready") == 0;
				wire->screencopy_failed += strcmp(message, "failed") == 0;
			}
			return;
		}
		if (!(destroy && is_manager(iface))) {
			wire->screencopy_requests++;
		}
		wire->screencopy_copies += frame && starts_with(message, "copy");
	}
}

bool ct_wire_read(const char *dir, const char *log, struct ct_wire *wire) {
	memset(wire, 0, sizeof(*wire));
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, log);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return false;
	}
	struct wire_ids *ids = calloc(1, sizeof(*ids));
	char *line = NULL;
	size_t size = 0;
	while (ids != NULL && getline(&line, &size, f) >= 0) {
		wire_line(wire, ids, line);
	}
	free(line);
	free(ids);
	fclose(f);
	return true;
}

const char *ct_protocol_name(enum ct_protocol protocol) {
	return protocol == CT_EXT_IMAGE_COPY_CAPTURE ? "ext-image-copy-capture-v1" :
		"wlr-screencopy";
}

void ct_check_protocol(const char *dir, const char *log, enum ct_protocol protocol,
		const char *label) {
	struct ct_wire wire;
	bool read = ct_wire_read(dir, log, &wire);
	ZT_CHECK(read && wire.lines > 0, "%s: no WAYLAND_DEBUG protocol log in %s", label, log);
	if (!read || wire.lines == 0) {
		return;
	}
	fprintf(stderr, "  %s: wire: ext %d requests, %d+%d sessions, %d captures, %d+%d ready, "
		"%d failed; screencopy %d requests, %d copies, %d ready, %d failed\n", label,
		wire.ext_requests, wire.ext_sessions, wire.ext_cursor_sessions, wire.ext_captures,
		wire.ext_ready - wire.ext_cursor_ready, wire.ext_cursor_ready, wire.ext_failed,
		wire.screencopy_requests, wire.screencopy_copies, wire.screencopy_ready,
		wire.screencopy_failed);
	if (protocol == CT_EXT_IMAGE_COPY_CAPTURE) {
		ZT_CHECK(wire.ext_sessions > 0 && wire.ext_captures > 0 && wire.ext_ready > 0,
			"%s: no frame captured and ready on ext-image-copy-capture-v1", label);
		ZT_CHECK(wire.screencopy_requests == 0,
			"%s: %d wlr-screencopy requests, expected none", label,
			wire.screencopy_requests);
	} else {
		ZT_CHECK(wire.screencopy_copies > 0 && wire.screencopy_ready > 0,
			"%s: no frame copied and ready on wlr-screencopy", label);
		ZT_CHECK(wire.ext_requests == 0,
			"%s: %d ext-image-copy-capture requests, expected none", label,
			wire.ext_requests);
	}
}
