/*
 * zerocap-portal-bench: one run of the whole screen-sharing pipeline for
 * bench/portal (docs/benchmarks.md). The reference compositor (headless,
 * its renderer as the fixture sets it: pixman unless WLR_RENDERER says
 * otherwise) plays its demo, a rectangle that changes colour at --hz over
 * --damage percent of the output; a private desktop stack (portal-stack.h:
 * dbus-daemon, pipewire, wireplumber, the backend, xdg-desktop-portal)
 * shares HEADLESS-1 through org.freedesktop.portal.ScreenCast, and one
 * PipeWire consumer in this process takes every frame. The consumer reads
 * no pixels: it notes when each frame arrived and its pts.
 *
 * After the first frame and --warmup seconds, a window of --duration
 * seconds: CPU time (utime + stime of all threads, /proc/PID/stat) of the
 * compositor, the backend, this process (the consumer) and pipewire at
 * both ends, and every frame that arrived in it with its latency: arrival
 * (CLOCK_MONOTONIC) minus the buffer's pts (spa_meta_header), which both
 * backends set to the compositor's presentation time of the frame.
 * --backend none runs the compositor alone: its own work, for bench/portal
 * to subtract.
 *
 * --obs: the consumer is OBS Studio instead (obs-stack.h), recording the
 * output at its size and 30 fps with its PipeWire screen capture source
 * through the backend; --backend plugin records it with obs-zerocap (no
 * portal), --backend none a colour source (OBS's own recording work). The
 * consumer's CPU is then OBS's, and frames are left to bench/portal (the
 * compositor's ready events in the window); OBS's output and lagged frames
 * come from its log.
 *
 * Prints one JSON object on a line of its own; --latencies FILE writes
 * "arrived_ns pts_ns" per frame of the window.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clients.h"
#include "obs-stack.h"
#include "portal-stack.h"

#define MAX_FRAMES 65536

struct options {
	const char *backend; /* xdpw, zerocap or none */
	int width, height;
	double damage, hz;
	int max_fps;
	double warmup_s, duration_s;
	const char *stats; /* the compositor's --bench-stats */
	const char *latencies;
	bool obs;
};

/* What the consumer's thread writes; read under the loop's lock. */
struct frames {
	uint64_t window_start, window_end; /* 0: not yet */
	int total; /* every frame */
	uint64_t first_ns;
	int pts_zero; /* frames without a pts: left out of latencies */
	int n; /* in the window */
	uint64_t arrived_ns[MAX_FRAMES];
	uint64_t pts_ns[MAX_FRAMES];
};

struct cpu {
	long comp, backend, self, pipewire; /* clock ticks */
};

static void handle_frame(void *data, const struct spa_buffer *buffer,
		const struct spa_video_info_raw *format, const struct spa_meta_header *header,
		uint64_t arrived_ns) {
	struct frames *frames = data;
	if (frames->total++ == 0) {
		frames->first_ns = arrived_ns;
	}
	if (frames->window_start == 0 || arrived_ns < frames->window_start ||
			(frames->window_end != 0 && arrived_ns >= frames->window_end)) {
		return;
	}
	if (header == NULL || header->pts <= 0) {
		frames->pts_zero++;
		return;
	}
	if (frames->n < MAX_FRAMES) {
		frames->arrived_ns[frames->n] = arrived_ns;
		frames->pts_ns[frames->n] = (uint64_t)header->pts;
		frames->n++;
	}
}

/* utime + stime of a process in clock ticks; -1 when it cannot be read. */
static long proc_ticks(pid_t pid) {
	if (pid <= 0) {
		return -1;
	}
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	/* After the command's ")": state is field 3, utime and stime 14 and 15. */
	char *p = strrchr(text, ')');
	unsigned long utime = 0, stime = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			&utime, &stime) != 2) {
		return -1;
	}
	return (long)(utime + stime);
}

static void read_cpu(struct cpu *cpu, pid_t comp, const struct ct_stack *stack,
		pid_t consumer) {
	cpu->comp = proc_ticks(comp);
	cpu->backend = stack != NULL ? proc_ticks(stack->backend) : -1;
	cpu->self = proc_ticks(consumer);
	cpu->pipewire = stack != NULL ? proc_ticks(stack->pipewire) : -1;
}

static double ticks_ms(long a, long b) {
	return a < 0 || b < 0 ? -1 : (double)(b - a) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static int compare_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted values (nearest rank), in ms. */
static double quantile_ms(const uint64_t *sorted, int n, double q) {
	if (n == 0) {
		return -1;
	}
	int i = (int)(q * n);
	return (double)sorted[i < n ? i : n - 1] / 1e6;
}

static void sleep_s(double s) {
	usleep((useconds_t)(s * 1e6));
}

static void print_result(const struct options *options, struct frames *frames,
		const struct cpu *c0, const struct cpu *c1, uint64_t t0, uint64_t t1,
		double first_frame_s, int corrupted, const char *extra) {
	double duration = (double)(t1 - t0) / 1e9;
	int n = frames->n;
	uint64_t *latency = calloc(n > 0 ? n : 1, sizeof(*latency));
	int late = 0, negative = 0;
	for (int i = 0; latency != NULL && i < n; i++) {
		if (frames->pts_ns[i] > frames->arrived_ns[i]) {
			negative++;
			latency[i] = 0;
		} else {
			latency[i] = frames->arrived_ns[i] - frames->pts_ns[i];
		}
		late += latency[i] > (uint64_t)(1e9 / options->hz);
	}
	if (latency != NULL) {
		qsort(latency, n, sizeof(*latency), compare_u64);
	}
	printf("{\"backend\": \"%s\", \"size\": \"%dx%d\", \"damage\": %g, \"hz\": %g, "
		"\"max_fps\": %d, \"t0_ns\": %llu, \"t1_ns\": %llu, \"duration_s\": %.4f, "
		"\"frames\": %d, \"fps\": %.3f, \"frames_total\": %d, \"corrupted\": %d, "
		"\"pts_zero\": %d, \"pts_after_arrival\": %d, \"first_frame_s\": %.3f, "
		"\"comp_cpu_ms\": %.1f, \"backend_cpu_ms\": %.1f, \"consumer_cpu_ms\": %.1f, "
		"\"pipewire_cpu_ms\": %.1f",
		options->backend, options->width, options->height, options->damage, options->hz,
		options->max_fps, (unsigned long long)t0, (unsigned long long)t1, duration, n,
		n / duration, frames->total, corrupted, frames->pts_zero, negative, first_frame_s,
		ticks_ms(c0->comp, c1->comp), ticks_ms(c0->backend, c1->backend),
		ticks_ms(c0->self, c1->self), ticks_ms(c0->pipewire, c1->pipewire));
	if (latency != NULL && n > 0) {
		printf(", \"latency_ms_min\": %.3f, \"latency_ms_p50\": %.3f, "
			"\"latency_ms_p95\": %.3f, \"latency_ms_p99\": %.3f, \"latency_ms_max\": %.3f, "
			"\"latency_over_interval\": %d", quantile_ms(latency, n, 0),
			quantile_ms(latency, n, 0.5), quantile_ms(latency, n, 0.95),
			quantile_ms(latency, n, 0.99), quantile_ms(latency, n, 1), late);
	}
	printf("%s}\n", extra != NULL ? extra : "");
	fflush(stdout);
	free(latency);
	FILE *f = options->latencies != NULL ? fopen(options->latencies, "w") : NULL;
	for (int i = 0; f != NULL && i < n; i++) {
		fprintf(f, "%llu %llu\n", (unsigned long long)frames->arrived_ns[i],
			(unsigned long long)frames->pts_ns[i]);
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* Waits for the consumer's first frame; false on an error or after timeout_ms. */
static bool wait_first_frame(struct ct_consumer *consumer, struct frames *frames,
		int timeout_ms) {
	for (long start = ct_now_ms(); ct_now_ms() - start < timeout_ms;) {
		pw_thread_loop_lock(consumer->loop);
		bool done = frames->total > 0 || consumer->error;
		pw_thread_loop_unlock(consumer->loop);
		if (done) {
			return !consumer->error;
		}
		usleep(10000);
	}
	return false;
}

/*
 * One end of the window: its time into edge and the CPU times, together
 * under the consumer's lock so that frames count from the same instant.
 */
static uint64_t window_edge(struct ct_consumer *consumer, uint64_t *edge, struct cpu *cpu,
		pid_t comp, const struct ct_stack *stack) {
	if (consumer->loop != NULL) {
		pw_thread_loop_lock(consumer->loop);
	}
	uint64_t now = ct_now_ns();
	*edge = now;
	read_cpu(cpu, comp, stack, getpid());
	if (consumer->loop != NULL) {
		pw_thread_loop_unlock(consumer->loop);
	}
	return now;
}

/* The stack's directory and the compositor playing the demo; false if either failed. */
static bool start_compositor(const struct options *options, struct ct_stack *stack,
		struct zt_compositor *comp) {
	if (!ct_tmpdir(stack->dir, sizeof(stack->dir))) {
		return false;
	}
	char size[32], damage[32], hz[32], stats[600];
	snprintf(size, sizeof(size), "%dx%d", options->width, options->height);
	snprintf(damage, sizeof(damage), "%g", options->damage);
	snprintf(hz, sizeof(hz), "%g", options->hz);
	snprintf(stats, sizeof(stats), "--bench-stats=%s", options->stats);
	const char *args[] = {"--output", size, "--demo-damage", damage, "--demo-hz", hz,
		"--capture=zerocap", options->stats != NULL ? stats : NULL, NULL};
	if (!zt_compositor_start(comp, args)) {
		ct_tmpdir_remove(stack->dir);
		return false;
	}
	return true;
}

static int run(const struct options *options, struct frames *frames) {
	bool none = strcmp(options->backend, "none") == 0;
	struct ct_stack stack = {0};
	struct zt_compositor comp;
	if (!start_compositor(options, &stack, &comp)) {
		return 1;
	}
	GDBusConnection *bus = NULL;
	struct ct_portal portal = {0};
	struct ct_consumer consumer = {0};
	struct ct_stack_options stack_options = {
		.backend = strcmp(options->backend, "zerocap") == 0 ? CT_BACKEND_ZEROCAP :
			CT_BACKEND_XDPW,
		.output = "HEADLESS-1",
		.max_fps = options->max_fps,
	};
	bool ok = true;
	double first_frame_s = 0;
	if (!none) {
		ok = ct_stack_start(&stack, &stack_options, &comp, &bus);
		portal.bus = bus;
		ok = ok && ct_portal_start(&portal);
		ZT_CHECK(!ok || (portal.width == options->width && portal.height == options->height),
			"the stream is %dx%d, not %dx%d", portal.width, portal.height, options->width,
			options->height);
		int fd = ok ? ct_portal_remote(&portal) : -1;
		uint64_t start = ct_now_ns();
		ok = fd >= 0 && ct_consumer_start(&consumer, "bench", fd, portal.node,
			options->width, options->height, handle_frame, frames);
		ok = ok && wait_first_frame(&consumer, frames, 15000);
		ZT_CHECK(ok, "no frame reached the consumer%s%s", consumer.error ? ": " : "",
			consumer.error_text);
		first_frame_s = (double)(frames->first_ns - start) / 1e9;
	}
	if (ok) {
		sleep_s(options->warmup_s);
		struct cpu c0, c1;
		const struct ct_stack *measured = none ? NULL : &stack;
		uint64_t t0 = window_edge(&consumer, &frames->window_start, &c0, comp.pid, measured);
		sleep_s(options->duration_s);
		uint64_t t1 = window_edge(&consumer, &frames->window_end, &c1, comp.pid, measured);
		ok = !consumer.error;
		ZT_CHECK(ok, "PipeWire error: %s", consumer.error_text);
		ZT_CHECK(zt_compositor_alive(&comp), "the compositor is running");
		print_result(options, frames, &c0, &c1, t0, t1, first_frame_s, consumer.corrupted,
			NULL);
	}
	ct_consumer_stop(&consumer);
	if (bus != NULL) {
		ct_portal_close(&portal);
		g_object_unref(bus);
		ct_stack_stop(&stack);
	}
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(stack.dir);
	return ok ? 0 : 1;
}

/* The number after text on the last line of OBS's log that has it; -1 if none. */
static long obs_log_number(const struct ct_stack *stack, const struct ct_obs *obs,
		const char *text) {
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", stack->dir, obs->log);
	FILE *f = fopen(path, "r");
	long value = -1;
	char line[1024];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, text);
		if (p != NULL) {
			value = strtol(p + strlen(text), NULL, 10);
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return value;
}

/* OBS's source for the run: the portal's, obs-zerocap's, or a colour. */
static void obs_source(const struct options *options, const char *display,
		struct ct_obs_options *obs, char *settings, size_t size) {
	*obs = (struct ct_obs_options){
		.width = options->width, .height = options->height, .color_format = "NV12",
	};
	if (strcmp(options->backend, "none") == 0) {
		obs->source_id = "color_source_v3";
		snprintf(settings, size, "\"width\": %d, \"height\": %d, \"color\": 4282400832",
			options->width, options->height);
	} else if (strcmp(options->backend, "plugin") == 0) {
		obs->source_id = "zerocap-output-capture";
		obs->plugin_dir = getenv("ZC_OBS_PLUGIN_DIR");
		obs->plugin_name = "obs-zerocap";
		snprintf(settings, size, "\"display\": \"%s\", \"target\": \"HEADLESS-1\", "
			"\"show_cursor\": true", display);
	} else {
		obs->source_id = "pipewire-screen-capture-source";
		snprintf(settings, size, "\"ShowCursor\": true");
	}
	obs->settings = settings;
}

static int run_obs(const struct options *options, struct frames *frames) {
	const char *desk_args[] = {"--output", "1280x800", NULL};
	struct ct_stack stack = {0};
	struct zt_compositor comp, desk;
	if (!start_compositor(options, &stack, &comp)) {
		return 1;
	}
	bool ok = zt_compositor_start(&desk, desk_args);
	/* The stack runs for every source, so that OBS's surroundings are the same. */
	struct ct_stack_options stack_options = {
		.backend = strcmp(options->backend, "xdpw") == 0 ? CT_BACKEND_XDPW :
			CT_BACKEND_ZEROCAP,
		.output = "HEADLESS-1",
		.max_fps = options->max_fps,
	};
	GDBusConnection *bus = NULL;
	ok = ok && ct_stack_start(&stack, &stack_options, &comp, &bus);
	char display[400], settings[1024];
	snprintf(display, sizeof(display), "%s/%s", getenv("XDG_RUNTIME_DIR"), comp.socket);
	struct ct_obs_options obs_options;
	obs_source(options, display, &obs_options, settings, sizeof(settings));
	struct ct_obs obs = {.pid = -1};
	ok = ok && ct_obs_setup(&obs, &stack, &obs_options) && ct_obs_start(&obs, &stack,
		desk.socket);
	if (ok) {
		sleep_s(options->warmup_s);
		struct cpu c0, c1;
		/* The backend too where it only idles (obs-zerocap, the colour source). */
		uint64_t t0 = ct_now_ns();
		read_cpu(&c0, comp.pid, &stack, obs.pid);
		sleep_s(options->duration_s);
		uint64_t t1 = ct_now_ns();
		read_cpu(&c1, comp.pid, &stack, obs.pid);
		ok = ct_obs_stop_recording(&obs);
		ct_obs_quit(&obs, &stack);
		char extra[256];
		snprintf(extra, sizeof(extra), ", \"obs\": true, \"obs_frames_output\": %ld, "
			"\"obs_lagged_frames\": %ld", obs_log_number(&stack, &obs, "Total frames output: "),
			obs_log_number(&stack, &obs, "rendering lag/stalls: "));
		ZT_CHECK(zt_compositor_alive(&comp), "the compositor is running");
		print_result(options, frames, &c0, &c1, t0, t1, 0, 0, extra);
	} else if (obs.pid > 0) {
		ct_obs_quit(&obs, &stack);
	}
	if (bus != NULL) {
		g_object_unref(bus);
		ct_stack_stop(&stack);
	}
	if (desk.pid > 0) {
		zt_compositor_stop(&desk);
	}
	zt_compositor_stop(&comp);
	ct_tmpdir_remove(stack.dir);
	return ok ? 0 : 1;
}

static bool parse_size(const char *text, int *width, int *height) {
	return sscanf(text, "%dx%d", width, height) == 2 && *width > 0 && *height > 0;
}

static void usage(FILE *f) {
	fprintf(f, "Usage: zerocap-portal-bench --backend xdpw|zerocap|none|plugin [options]\n"
		"  --size WxH        the output (1280x720)\n"
		"  --damage PERCENT  demo rectangle area (100: every frame all new)\n"
		"  --hz HZ           demo changes per second (60)\n"
		"  --max-fps N       the backend's max_fps (60)\n"
		"  --warmup S        seconds after the first frame (2)\n"
		"  --duration S      the measured window (10)\n"
		"  --stats FILE      the compositor's --bench-stats\n"
		"  --latencies FILE  arrival and pts of every frame of the window\n"
		"  --obs             OBS Studio records (plugin: with obs-zerocap, ZC_OBS_PLUGIN_DIR)\n"
		"Needs ZC_COMPOSITOR, and ZC_PORTAL and ZC_PORTAL_DIR for zerocap.\n");
}

int main(int argc, char *argv[]) {
	struct options options = {
		.backend = NULL, .width = 1280, .height = 720, .damage = 100, .hz = 60,
		.max_fps = 60, .warmup_s = 2, .duration_s = 10,
	};
	static const struct option long_options[] = {
		{"backend", required_argument, NULL, 'b'},
		{"size", required_argument, NULL, 's'},
		{"damage", required_argument, NULL, 'd'},
		{"hz", required_argument, NULL, 'z'},
		{"max-fps", required_argument, NULL, 'm'},
		{"warmup", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 't'},
		{"stats", required_argument, NULL, 'S'},
		{"latencies", required_argument, NULL, 'L'},
		{"obs", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case 'b':
			options.backend = optarg;
			break;
		case 's':
			if (!parse_size(optarg, &options.width, &options.height)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'd':
			options.damage = strtod(optarg, NULL);
			break;
		case 'z':
			options.hz = strtod(optarg, NULL);
			break;
		case 'm':
			options.max_fps = atoi(optarg);
			break;
		case 'w':
			options.warmup_s = strtod(optarg, NULL);
			break;
		case 't':
			options.duration_s = strtod(optarg, NULL);
			break;
		case 'S':
			options.stats = optarg;
			break;
		case 'L':
			options.latencies = optarg;
			break;
		case 'o':
			options.obs = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (options.backend == NULL || (strcmp(options.backend, "xdpw") != 0 &&
			strcmp(options.backend, "zerocap") != 0 && strcmp(options.backend, "none") != 0 &&
			!(options.obs && strcmp(options.backend, "plugin") == 0)) ||
			!(options.hz > 0) || options.max_fps <= 0 || !(options.duration_s > 0)) {
		usage(stderr);
		return 2;
	}
	struct frames *frames = calloc(1, sizeof(*frames));
	if (frames == NULL) {
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	pw_init(NULL, NULL);
	int status = options.obs ? run_obs(&options, frames) : run(&options, frames);
	pw_deinit();
	free(frames);
	/* The tally of checks goes to stderr: stdout is the result. */
	fflush(stdout);
	int fd = dup(STDOUT_FILENO);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	int checks = zt_finish();
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	return status != 0 ? status : checks;
}
