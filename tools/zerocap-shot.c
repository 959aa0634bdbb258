/*
 * zerocap-shot: list outputs and windows, or capture one or more frames of an
 * output or a window with ext-image-copy-capture-v1 into shm buffers and save
 * the last one.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "ext-image-capture-source-v1-client-protocol.h"
#include "zc-client.h"
#include "zerocap-capture-options-v1-client-protocol.h"

struct options {
	const char *display;
	const char *output;
	const char *window; /* identifier or app_id */
	bool has_region, has_size;
	int32_t region[4]; /* x, y, width, height: logical */
	uint32_t size[2];
	bool cursors;
	bool has_format;
	uint32_t format;
	long count;
	bool reuse;
	bool quiet;
	int timeout_ms;
	const char *path;
};

static void usage(FILE *f) {
	fprintf(f,
		"usage: zerocap-shot [-d DISPLAY] list\n"
		"       zerocap-shot [-d DISPLAY] [-o OUTPUT | -w WINDOW] [-r X,Y,WxH] [-s WxH]\n"
		"                    [-c] [-f FORMAT] [-n N] [--reuse] [-t MS] [-q] FILE.png|FILE.ppm|-\n"
		"\n"
		"  -d, --display DISPLAY  Wayland display (default $WAYLAND_DISPLAY)\n"
		"  -o, --output OUTPUT    output name (default: the first output)\n"
		"  -w, --window WINDOW    capture a window: its identifier or app_id (see list)\n"
		"  -r, --region X,Y,WxH   only this rectangle (logical coordinates of the output\n"
		"                         or window), cropped by the compositor\n"
		"  -s, --size WxH         scaled by the compositor to this size\n"
		"                         (-r and -s need zerocap-capture-options-v1)\n"
		"  -c, --cursors          paint cursors into the frames\n"
		"  -f, --format FORMAT    shm format: xrgb8888, argb8888, xbgr8888, abgr8888, ...\n"
		"                         (default: the first advertised format)\n"
		"  -n, --count N          capture N successive frames (default 1)\n"
		"      --reuse            capture every frame into one buffer, damage only\n"
		"  -t, --timeout MS       wait at most MS per event batch (default %d)\n"
		"  -q, --quiet            print errors only\n"
		"  -h, --help             this text\n",
		ZCC_DEFAULT_TIMEOUT_MS);
}

static const char *transform_str(uint32_t transform) {
	static const char *names[] = {
		"normal", "90", "180", "270", "flipped", "flipped-90", "flipped-180", "flipped-270",
	};
	return transform < sizeof(names) / sizeof(names[0]) ? names[transform] : "invalid";
}

static void print_global(const struct zcc_client *client, const char *interface, bool *first) {
	const struct zcc_global *global = zcc_client_find_global(client, interface);
	if (global != NULL) {
		printf("%s%s v%u", *first ? "" : ", ", interface, global->version);
		*first = false;
	}
}

static int cmd_list(struct zcc_client *client) {
	struct zcc_output *output;
	wl_list_for_each(output, &client->outputs, link) {
		if (output->removed) {
			continue;
		}
		printf("%s: \"%s\" %dx%d@%.3fHz scale %d transform %s\n",
			output->name != NULL ? output->name : "(unnamed)",
			output->description != NULL ? output->description : "",
			output->mode_width, output->mode_height, output->refresh_mhz / 1000.0,
			output->scale, transform_str((uint32_t)output->transform));
	}
	struct zcc_toplevel *toplevel;
	wl_list_for_each(toplevel, &client->toplevels, link) {
		if (toplevel->done && !toplevel->closed) {
			printf("window %s: app_id \"%s\" title \"%s\"\n", toplevel->identifier,
				toplevel->app_id, toplevel->title);
		}
	}
	printf("ext capture: %s (", zcc_client_has_capture(client) ? "yes" : "no");
	bool first = true;
	print_global(client, "ext_output_image_capture_source_manager_v1", &first);
	print_global(client, "ext_foreign_toplevel_image_capture_source_manager_v1", &first);
	print_global(client, "ext_image_copy_capture_manager_v1", &first);
	print_global(client, "ext_foreign_toplevel_list_v1", &first);
	print_global(client, "zwlr_screencopy_manager_v1", &first);
	printf("%s)\n", first ? "no capture globals" : "");
	return 0;
}

static bool pick_format(const struct options *opts, const struct zcc_constraints *c,
		uint32_t *format) {
	if (opts->has_format) {
		if (!zcc_constraints_has_shm_format(c, opts->format)) {
			fprintf(stderr, "zerocap-shot: format %s is not advertised; the session offers:",
				zcc_format_name(opts->format));
			for (size_t i = 0; i < c->n_shm_formats; i++) {
				const char *name = zcc_format_name(c->shm_formats[i]);
				if (name != NULL) {
					fprintf(stderr, " %s", name);
				} else {
					fprintf(stderr, " 0x%08x", c->shm_formats[i]);
				}
			}
			fprintf(stderr, "\n");
			return false;
		}
		*format = opts->format;
		return true;
	}
	for (size_t i = 0; i < c->n_shm_formats; i++) {
		if (zcc_format_name(c->shm_formats[i]) != NULL) {
			*format = c->shm_formats[i];
			return true;
		}
	}
	fprintf(stderr, "zerocap-shot: the session offers no shm format this tool can write\n");
	return false;
}

static void print_frame(FILE *f, long index, const struct zcc_buffer *buffer,
		const struct zcc_capture_result *r, uint64_t area) {
	fprintf(f, "frame %ld: %dx%d damage %zu rect(s) [", index, buffer->width, buffer->height,
		r->n_damage);
	const size_t max_rects = 16;
	for (size_t i = 0; i < r->n_damage && i < max_rects; i++) {
		fprintf(f, "%s%d,%d %dx%d", i > 0 ? " " : "", r->damage[i].x, r->damage[i].y,
			r->damage[i].width, r->damage[i].height);
	}
	if (r->n_damage > max_rects) {
		fprintf(f, " +%zu more", r->n_damage - max_rects);
	}
	fprintf(f, "] area %llu px latency %llu us bytes %llu\n", (unsigned long long)area,
		(unsigned long long)r->latency_us,
		(unsigned long long)(area * (uint64_t)zcc_format_bytes_per_pixel(buffer->format)));
}

static bool buffer_fits(const struct zcc_buffer *buffer, const struct zcc_constraints *c,
		uint32_t format) {
	return buffer != NULL && (uint32_t)buffer->width == c->width
		&& (uint32_t)buffer->height == c->height && buffer->format == format;
}

/* A source derived with the region and size, through zerocap-capture-options-v1. */
static struct ext_image_capture_source_v1 *derive(struct zcc_client *client,
		const struct options *opts, struct ext_image_capture_source_v1 *parent) {
	struct zerocap_capture_options_manager_v1 *manager =
		zcc_client_bind(client, &zerocap_capture_options_manager_v1_interface, 1);
	if (manager == NULL || parent == NULL) {
		fprintf(stderr, "zerocap-shot: -r and -s need zerocap_capture_options_manager_v1, "
			"which the compositor does not advertise\n");
		if (parent != NULL) {
			ext_image_capture_source_v1_destroy(parent);
		}
		return NULL;
	}
	struct zerocap_capture_options_v1 *set =
		zerocap_capture_options_manager_v1_get_options(manager);
	if (opts->has_region) {
		zerocap_capture_options_v1_set_crop(set, opts->region[0], opts->region[1],
			opts->region[2], opts->region[3]);
	}
	if (opts->has_size) {
		zerocap_capture_options_v1_set_size(set, opts->size[0], opts->size[1]);
	}
	struct ext_image_capture_source_v1 *source =
		zerocap_capture_options_manager_v1_create_source(manager, parent, set);
	zerocap_capture_options_v1_destroy(set);
	ext_image_capture_source_v1_destroy(parent);
	zerocap_capture_options_manager_v1_destroy(manager);
	return source;
}

/* A session on the window or output the options name; target_name names it. */
static struct zcc_session *create_session(struct zcc_client *client, const struct options *opts,
		const char **target_name) {
	uint32_t options = opts->cursors ? ZCC_OPTION_PAINT_CURSORS : 0;
	if (opts->window != NULL) {
		if (client->toplevel_list == NULL || client->toplevel_source_manager == NULL ||
				client->copy_capture_manager == NULL) {
			fprintf(stderr, "zerocap-shot: the compositor does not advertise "
				"ext_foreign_toplevel_list_v1, "
				"ext_foreign_toplevel_image_capture_source_manager_v1 and "
				"ext_image_copy_capture_manager_v1\n");
			return NULL;
		}
		struct zcc_toplevel *toplevel = zcc_client_find_toplevel(client, opts->window);
		if (toplevel == NULL) {
			fprintf(stderr, "zerocap-shot: no window %s\n", opts->window);
			return NULL;
		}
		*target_name = toplevel->identifier;
		if (opts->has_region || opts->has_size) {
			return zcc_session_create_owning(client,
				derive(client, opts, zcc_toplevel_create_source(toplevel)), options);
		}
		return zcc_session_create_for_toplevel(client, toplevel, options);
	}
	if (!zcc_client_has_capture(client)) {
		fprintf(stderr, "zerocap-shot: the compositor does not advertise "
			"ext_output_image_capture_source_manager_v1 and "
			"ext_image_copy_capture_manager_v1\n");
		return NULL;
	}
	struct zcc_output *output = zcc_client_find_output(client, opts->output);
	if (output == NULL) {
		fprintf(stderr, "zerocap-shot: no output %s\n",
			opts->output != NULL ? opts->output : "at all");
		return NULL;
	}
	*target_name = output->name != NULL ? output->name : "(unnamed)";
	if (opts->has_region || opts->has_size) {
		return zcc_session_create_owning(client, derive(client, opts,
			ext_output_image_capture_source_manager_v1_create_source(
				client->output_source_manager, output->wl_output)), options);
	}
	return zcc_session_create(client, output, options);
}

static struct zcc_session *open_session(struct zcc_client *client, const struct options *opts,
		const char **target_name) {
	*target_name = NULL;
	struct zcc_session *session = create_session(client, opts, target_name);
	if (session == NULL && *target_name != NULL) {
		fprintf(stderr, "zerocap-shot: %s\n", zcc_client_last_error(client));
	}
	return session;
}

static int cmd_capture(struct zcc_client *client, const struct options *opts) {
	const char *target_name = NULL;
	struct zcc_session *session = open_session(client, opts, &target_name);
	if (session == NULL) {
		return 1;
	}

	int ret = 1;
	struct zcc_buffer *buffer = NULL;
	struct zcc_capture_result result = {0};
	FILE *log = strcmp(opts->path, "-") == 0 ? stderr : stdout;
	uint64_t total_area = 0, total_latency = 0, min_latency = UINT64_MAX, max_latency = 0;
	uint32_t last_transform = 0;
	long captured = 0;

	int wait = zcc_session_wait_constraints(session, opts->timeout_ms);
	if (wait != 1) {
		struct zcc_error err;
		char buf[160];
		zcc_client_get_error(client, &err);
		fprintf(stderr, "zerocap-shot: no buffer constraints: %s\n",
			wait == 0 ? "timeout" : zcc_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	if (session->stopped) {
		fprintf(stderr, "zerocap-shot: the session stopped before any constraints\n");
		goto out;
	}
	uint32_t format;
	if (!pick_format(opts, &session->constraints, &format)) {
		goto out;
	}

	unsigned buffer_batch = 0;
	bool retried = false;
	for (long i = 0; i < opts->count; i++) {
		const struct zcc_constraints *c = &session->constraints;
		bool fresh = !opts->reuse || !buffer_fits(buffer, c, format);
		if (fresh) {
			if (!zcc_constraints_has_shm_format(c, format)) {
				fprintf(stderr, "zerocap-shot: format %s is no longer advertised\n",
					zcc_format_name(format));
				goto out;
			}
			zcc_buffer_destroy(buffer);
			buffer = zcc_buffer_create(client, format, (int32_t)c->width,
				(int32_t)c->height, 0);
			if (buffer == NULL) {
				fprintf(stderr, "zerocap-shot: %s\n", zcc_client_last_error(client));
				goto out;
			}
			buffer_batch = session->constraint_batches;
		}
		/* A fresh buffer needs full damage; a reused one only what the server reports. */
		static const struct zcc_rect no_damage[1];
		zcc_capture_result_finish(&result);
		enum zcc_frame_status status = zcc_session_capture(session, buffer,
			fresh ? NULL : no_damage, 0, opts->timeout_ms, &result);
		if (status == ZCC_FRAME_FAILED && result.failure_reason == ZCC_FAILURE_BUFFER_CONSTRAINTS
				&& !retried && session->constraint_batches != buffer_batch) {
			/* New constraints crossed the capture: reallocate once and retry. */
			retried = true;
			zcc_buffer_destroy(buffer);
			buffer = NULL;
			i--;
			continue;
		}
		if (status == ZCC_FRAME_FAILED) {
			fprintf(stderr, "zerocap-shot: frame %ld failed: %s\n", i,
				zcc_failure_reason_str(result.failure_reason));
			goto out;
		}
		if (status != ZCC_FRAME_READY) {
			fprintf(stderr, "zerocap-shot: frame %ld: %s: %s\n", i,
				zcc_frame_status_str(status), zcc_client_last_error(client));
			goto out;
		}
		retried = false;
		uint64_t area = zcc_rects_union_area(result.damage, result.n_damage);
		if (!opts->quiet) {
			print_frame(log, i, buffer, &result, area);
		}
		captured++;
		total_area += area;
		total_latency += result.latency_us;
		if (result.latency_us < min_latency) {
			min_latency = result.latency_us;
		}
		if (result.latency_us > max_latency) {
			max_latency = result.latency_us;
		}
		last_transform = result.transform;
	}

	struct zcc_image image = zcc_buffer_image(buffer);
	if (!zcc_image_save(&image, opts->path)) {
		fprintf(stderr, "zerocap-shot: cannot write %s\n", opts->path);
		goto out;
	}
	if (!opts->quiet) {
		fprintf(log, "captured %ld frame(s) of %s: %dx%d %s transform %s, damage %llu px "
			"(%llu bytes), latency avg %llu us min %llu max %llu, wrote %s%s\n",
			captured, target_name, buffer->width, buffer->height,
			zcc_format_name(buffer->format), transform_str(last_transform),
			(unsigned long long)total_area,
			(unsigned long long)(total_area *
				(uint64_t)zcc_format_bytes_per_pixel(buffer->format)),
			(unsigned long long)(total_latency / (uint64_t)captured),
			(unsigned long long)min_latency, (unsigned long long)max_latency,
			strcmp(opts->path, "-") == 0 ? "stdout" : opts->path,
			session->constraints_resent ? " (constraints were re-sent)" : "");
	}
	ret = 0;

out:
	zcc_capture_result_finish(&result);
	zcc_buffer_destroy(buffer);
	zcc_session_destroy(session);
	return ret;
}

static bool parse_long(const char *s, long min, long max, long *out) {
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

int main(int argc, char *argv[]) {
	struct options opts = {
		.count = 1,
		.timeout_ms = ZCC_DEFAULT_TIMEOUT_MS,
	};
	enum { OPT_REUSE = 256 };
	static const struct option long_options[] = {
		{ "display", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "window", required_argument, NULL, 'w' },
		{ "region", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "cursors", no_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "reuse", no_argument, NULL, OPT_REUSE },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	long value;
	while ((opt = getopt_long(argc, argv, "d:o:w:r:s:cf:n:t:qh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			opts.display = optarg;
			break;
		case 'o':
			opts.output = optarg;
			break;
		case 'w':
			opts.window = optarg;
			break;
		case 'r':
			if (sscanf(optarg, "%d,%d,%dx%d", &opts.region[0], &opts.region[1],
					&opts.region[2], &opts.region[3]) != 4 || opts.region[2] <= 0 ||
					opts.region[3] <= 0) {
				fprintf(stderr, "zerocap-shot: invalid region '%s' (X,Y,WxH)\n", optarg);
				return 2;
			}
			opts.has_region = true;
			break;
		case 's':
			if (sscanf(optarg, "%ux%u", &opts.size[0], &opts.size[1]) != 2 ||
					opts.size[0] == 0 || opts.size[1] == 0 || opts.size[0] > 16384 ||
					opts.size[1] > 16384) {
				fprintf(stderr, "zerocap-shot: invalid size '%s' (WxH)\n", optarg);
				return 2;
			}
			opts.has_size = true;
			break;
		case 'c':
			opts.cursors = true;
			break;
		case 'f':
			if (!zcc_format_from_name(optarg, &opts.format)) {
				fprintf(stderr, "zerocap-shot: unknown format '%s'\n", optarg);
				return 2;
			}
			opts.has_format = true;
			break;
		case 'n':
			if (!parse_long(optarg, 1, 1000000, &opts.count)) {
				fprintf(stderr, "zerocap-shot: invalid frame count '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_REUSE:
			opts.reuse = true;
			break;
		case 't':
			if (!parse_long(optarg, 1, 3600000, &value)) {
				fprintf(stderr, "zerocap-shot: invalid timeout '%s'\n", optarg);
				return 2;
			}
			opts.timeout_ms = (int)value;
			break;
		case 'q':
			opts.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	opts.path = argv[optind];
	if (opts.output != NULL && opts.window != NULL) {
		fprintf(stderr, "zerocap-shot: -o and -w exclude each other\n");
		return 2;
	}

	struct zcc_client *client = zcc_client_connect(opts.display);
	if (client == NULL) {
		return 1;
	}
	client->timeout_ms = opts.timeout_ms;
	int ret = strcmp(opts.path, "list") == 0 ? cmd_list(client) : cmd_capture(client, &opts);
	zcc_client_destroy(client);
	return ret;
}
