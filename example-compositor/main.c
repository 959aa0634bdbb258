/*
 * zerocap-compositor: the zerocap reference compositor.
 *
 * A small wlroots scene-graph compositor (xdg-shell, one seat, outputs left to
 * right) that makes every output capturable through zerocap. The zerocap
 * wiring lives in capture.c; look for "zerocap wiring" below for where it is
 * hooked in.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/backend/multi.h>
#include <wlr/render/allocator.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_data_device.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_screencopy_v1.h>
#include <wlr/types/wlr_subcompositor.h>
#include <wlr/types/wlr_xdg_output_v1.h>
#include <wlr/util/log.h>
#include "compat.h"
#include "server.h"

static const char usage[] =
	"Usage: zerocap-compositor [options]\n"
	"\n"
	"  -s CMD                     run CMD with /bin/sh -c once the compositor is up\n"
	"      --socket NAME          listen on NAME instead of the first free wayland-N\n"
	"      --output WxH[@SCALE][:TRANSFORM]\n"
	"                             add an output (repeatable; headless: default one\n"
	"                             640x480). TRANSFORM: normal, 90, 180, 270, flipped,\n"
	"                             flipped-90, flipped-180, flipped-270\n"
	"      --raw-transform        captures keep the output buffer's orientation\n"
	"      --no-background        bare outputs: a window alone may be scanned out\n"
	"      --demo                 animate a rectangle on every output (~30 Hz)\n"
	"      --demo-damage PERCENT  demo rectangle area in percent of the output (1)\n"
	"      --control              read commands on stdin, reply on stdout\n"
	"      --toplevel-list=wlroots|zerocap\n"
	"                             whose ext-foreign-toplevel-list-v1 lists the windows\n"
	"                             (default wlroots; zerocap captures them either way)\n"
	"      --capture=zerocap|wlroots\n"
	"                             capture globals: zerocap's (default) or wlroots' own\n"
	"      --screencopy=zerocap|wlroots|none\n"
	"                             wlr-screencopy provider (zerocap; wlroots with\n"
	"                             --capture=wlroots)\n"
	"      --policy=allow|deny|ask|list\n"
	"                             who may capture (allow); ask needs --control\n"
	"      --allow EXE            list mode: EXE (a path, or a file name) may capture\n"
	"                             (repeatable; implies --policy=list)\n"
	"      --policy-file PATH     list mode: executables, one per line, # comments\n"
	"                             (implies --policy=list)\n"
	"      --indicator=on|off     red border on outputs while captured (on)\n"
	"      --bench-stats FILE     write measurements for bench/run to FILE at exit\n"
	"  -v, --debug                debug logging\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Backends: WLR_BACKENDS (headless when unset). Renderer: WLR_RENDERER.\n";

enum {
	OPT_SOCKET = 256,
	OPT_OUTPUT,
	OPT_RAW_TRANSFORM,
	OPT_NO_BACKGROUND,
	OPT_DEMO,
	OPT_DEMO_DAMAGE,
	OPT_DEMO_HZ,
	OPT_CONTROL,
	OPT_CAPTURE,
	OPT_SCREENCOPY,
	OPT_TOPLEVEL_LIST,
	OPT_POLICY,
	OPT_ALLOW,
	OPT_POLICY_FILE,
	OPT_INDICATOR,
	OPT_BENCH_STATS,
};

/*
 * wlroots destroys wl_output and wl_seat globals with a 5 s delay
 * (wlr_global_destroy_safe); at shutdown the delay's timer outlives the event
 * loop. Tell LeakSanitizer, in sanitizer builds, that this is not ours.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
	return "leak:wlr_global_destroy_safe\n";
}

void color_from_rgba(float out[static 4], uint32_t rgba) {
	float alpha = (rgba & 0xff) / 255.0f;
	out[0] = ((rgba >> 24) & 0xff) / 255.0f * alpha;
	out[1] = ((rgba >> 16) & 0xff) / 255.0f * alpha;
	out[2] = ((rgba >> 8) & 0xff) / 255.0f * alpha;
	out[3] = alpha;
}

/* WxH[@SCALE][:TRANSFORM] */
static bool parse_output_config(const char *arg, struct comp_output_config *config) {
	char *end;
	long width = strtol(arg, &end, 10);
	if (end == arg || *end != 'x' || width <= 0 || width > 16384) {
		return false;
	}
	const char *height_str = end + 1;
	long height = strtol(height_str, &end, 10);
	if (end == height_str || height <= 0 || height > 16384) {
		return false;
	}
	config->width = (int)width;
	config->height = (int)height;
	config->scale = 1.0f;
	config->transform = WL_OUTPUT_TRANSFORM_NORMAL;

	if (*end == '@') {
		const char *scale_str = end + 1;
		double scale = strtod(scale_str, &end);
		if (end == scale_str || !(scale > 0 && scale <= 16)) {
			return false;
		}
		config->scale = (float)scale;
	}
	if (*end == ':') {
		return output_transform_parse(end + 1, &config->transform);
	}
	return *end == '\0';
}

static bool parse_policy(const char *arg, enum comp_policy_mode *mode) {
	static const struct {
		const char *name;
		enum comp_policy_mode mode;
	} modes[] = {
		{ "allow", COMP_POLICY_ALLOW },
		{ "deny", COMP_POLICY_DENY },
		{ "ask", COMP_POLICY_ASK },
		{ "list", COMP_POLICY_LIST },
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(arg, modes[i].name) == 0) {
			*mode = modes[i].mode;
			return true;
		}
	}
	return false;
}

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char *argv[], struct comp_options *options) {
	static const struct option long_options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "debug", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "raw-transform", no_argument, NULL, OPT_RAW_TRANSFORM },
		{ "no-background", no_argument, NULL, OPT_NO_BACKGROUND },
		{ "demo", no_argument, NULL, OPT_DEMO },
		{ "demo-damage", required_argument, NULL, OPT_DEMO_DAMAGE },
		{ "demo-hz", required_argument, NULL, OPT_DEMO_HZ },
		{ "control", no_argument, NULL, OPT_CONTROL },
		{ "capture", required_argument, NULL, OPT_CAPTURE },
		{ "screencopy", required_argument, NULL, OPT_SCREENCOPY },
		{ "toplevel-list", required_argument, NULL, OPT_TOPLEVEL_LIST },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "policy-file", required_argument, NULL, OPT_POLICY_FILE },
		{ "indicator", required_argument, NULL, OPT_INDICATOR },
		{ "bench-stats", required_argument, NULL, OPT_BENCH_STATS },
		{ 0 },
	};

	int c;
	while ((c = getopt_long(argc, argv, "s:vh", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			options->startup_cmd = optarg;
			break;
		case 'v':
			options->debug = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_SOCKET:
			options->socket = optarg;
			break;
		case OPT_OUTPUT:
			if (options->outputs_len == COMP_MAX_OUTPUT_CONFIGS) {
				fprintf(stderr, "At most %d --output options\n", COMP_MAX_OUTPUT_CONFIGS);
				return 1;
			}
			if (!parse_output_config(optarg, &options->outputs[options->outputs_len])) {
				fprintf(stderr, "Invalid --output '%s'\n", optarg);
				return 1;
			}
			options->outputs_len++;
			break;
		case OPT_RAW_TRANSFORM:
			options->raw_transform = true;
			break;
		case OPT_NO_BACKGROUND:
			options->no_background = true;
			break;
		case OPT_DEMO:
			options->demo = true;
			break;
		case OPT_DEMO_DAMAGE:;
			char *end;
			options->demo_damage = strtod(optarg, &end);
			if (end == optarg || *end != '\0' ||
					!(options->demo_damage > 0 && options->demo_damage <= 100)) {
				fprintf(stderr, "Invalid --demo-damage '%s' (0 < PERCENT <= 100)\n",
					optarg);
				return 1;
			}
			options->demo = true;
			break;
		case OPT_DEMO_HZ:;
			char *hz_end;
			options->demo_hz = strtod(optarg, &hz_end);
			if (hz_end == optarg || *hz_end != '\0' ||
					!(options->demo_hz > 0 && options->demo_hz <= 1000)) {
				fprintf(stderr, "Invalid --demo-hz '%s' (0 < HZ <= 1000)\n", optarg);
				return 1;
			}
			options->demo = true;
			break;
		case OPT_CONTROL:
			options->control = true;
			break;
		case OPT_CAPTURE:
			if (strcmp(optarg, "zerocap") == 0) {
				options->capture = COMP_CAPTURE_ZEROCAP;
			} else if (strcmp(optarg, "wlroots") == 0) {
				options->capture = COMP_CAPTURE_WLROOTS;
			} else {
				fprintf(stderr, "Invalid --capture '%s'\n", optarg);
				return 1;
			}
			break;
		case OPT_TOPLEVEL_LIST:
			if (strcmp(optarg, "wlroots") == 0) {
				options->toplevel_list = COMP_TOPLEVEL_LIST_WLROOTS;
			} else if (strcmp(optarg, "zerocap") == 0) {
				options->toplevel_list = COMP_TOPLEVEL_LIST_ZEROCAP;
			} else {
				fprintf(stderr, "Invalid --toplevel-list '%s'\n", optarg);
				return 1;
			}
			break;
		case OPT_SCREENCOPY:
			options->screencopy_given = true;
			if (strcmp(optarg, "none") == 0) {
				options->screencopy = COMP_SCREENCOPY_NONE;
			} else if (strcmp(optarg, "wlroots") == 0) {
				options->screencopy = COMP_SCREENCOPY_WLROOTS;
			} else if (strcmp(optarg, "zerocap") == 0) {
				options->screencopy = COMP_SCREENCOPY_ZEROCAP;
			} else {
				fprintf(stderr, "Invalid --screencopy '%s'\n", optarg);
				return 1;
			}
			break;
		case OPT_POLICY:
			if (!parse_policy(optarg, &options->policy)) {
				fprintf(stderr, "Invalid --policy '%s'\n", optarg);
				return 1;
			}
			options->policy_given = true;
			break;
		case OPT_ALLOW:
			if (options->allow == NULL) {
				options->allow = calloc(argc, sizeof(*options->allow));
				if (options->allow == NULL) {
					return 1;
				}
			}
			if (optarg[0] == '\0') {
				fprintf(stderr, "Invalid --allow ''\n");
				return 1;
			}
			options->allow[options->allow_len++] = optarg;
			break;
		case OPT_POLICY_FILE:
			options->policy_file = optarg;
			break;
		case OPT_INDICATOR:
			if (strcmp(optarg, "on") == 0) {
				options->indicator = true;
			} else if (strcmp(optarg, "off") == 0) {
				options->indicator = false;
			} else {
				fprintf(stderr, "Invalid --indicator '%s'\n", optarg);
				return 1;
			}
			break;
		case OPT_BENCH_STATS:
			options->bench_stats = optarg;
			break;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 1;
	}
	if (options->allow_len > 0 || options->policy_file != NULL) {
		if (options->policy_given && options->policy != COMP_POLICY_LIST) {
			fprintf(stderr, "--allow and --policy-file go with --policy=list only\n");
			return 1;
		}
		options->policy = COMP_POLICY_LIST;
	}
	if (options->policy == COMP_POLICY_ASK && !options->control) {
		fprintf(stderr, "--policy=ask needs --control to answer requests\n");
		return 1;
	}
	if (options->capture == COMP_CAPTURE_WLROOTS) {
		/* wlroots' globals know no policy, no indicator and no zerocap options. */
		if (options->policy != COMP_POLICY_ALLOW) {
			fprintf(stderr, "--capture=wlroots goes with --policy=allow only\n");
			return 1;
		}
		if (options->raw_transform) {
			fprintf(stderr, "--raw-transform goes with --capture=zerocap only\n");
			return 1;
		}
		if (options->screencopy == COMP_SCREENCOPY_ZEROCAP) {
			if (options->screencopy_given) {
				fprintf(stderr, "--screencopy=zerocap goes with --capture=zerocap only\n");
				return 1;
			}
			options->screencopy = COMP_SCREENCOPY_WLROOTS;
		}
	}
	if (options->policy != COMP_POLICY_ALLOW &&
			options->screencopy == COMP_SCREENCOPY_WLROOTS) {
		/* wlroots' screencopy would serve everyone, past the policy and the indicator. */
		fprintf(stderr, "--screencopy=wlroots goes with --policy=allow only\n");
		return 1;
	}
	return -1;
}

static void find_headless(struct wlr_backend *backend, void *data) {
	struct comp_server *server = data;
	if (wlr_backend_is_headless(backend)) {
		server->headless = backend;
	}
}

static int handle_terminate_signal(int signal, void *data) {
	struct comp_server *server = data;
	wlr_log(WLR_INFO, "Caught signal %d, shutting down", signal);
	wl_display_terminate(server->display);
	return 0;
}

static int handle_sigchld(int signal, void *data) {
	while (waitpid(-1, NULL, WNOHANG) > 0) {
		/* Reap startup commands. */
	}
	return 0;
}

static void spawn(const char *command, bool quiet_stdio) {
	pid_t pid = fork();
	if (pid < 0) {
		wlr_log_errno(WLR_ERROR, "fork failed");
		return;
	}
	if (pid > 0) {
		return;
	}
	/* wl_event_loop_add_signal() blocked these signals in this process. */
	sigset_t set;
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (quiet_stdio) {
		/* stdin and stdout belong to the control channel. */
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0) {
			dup2(null_fd, STDIN_FILENO);
			close(null_fd);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	execl("/bin/sh", "/bin/sh", "-c", command, (char *)NULL);
	_exit(127);
}

static void handle_renderer_reset_idle(void *data) {
	struct comp_server *server = data;
	server->renderer_reset_idle = NULL;
	server_reset_renderer(server);
}

/*
 * The GPU was reset: the renderer is unusable. It is replaced from the event
 * loop, not from inside the renderer call that found out.
 */
static void handle_renderer_lost(struct wl_listener *listener, void *data) {
	struct comp_server *server = wl_container_of(listener, server, renderer_lost);
	wlr_log(WLR_INFO, "Renderer lost (GPU reset?), recreating it");
	if (server->renderer_reset_idle == NULL) {
		server->renderer_reset_idle = wl_event_loop_add_idle(server->event_loop,
			handle_renderer_reset_idle, server);
	}
}

static bool renderer_create(struct comp_server *server, struct wlr_renderer **renderer_out,
		struct wlr_allocator **allocator_out) {
	struct wlr_renderer *renderer = wlr_renderer_autocreate(server->backend);
	if (renderer == NULL) {
		wlr_log(WLR_ERROR, "Failed to create a renderer");
		return false;
	}
	struct wlr_allocator *allocator = wlr_allocator_autocreate(server->backend, renderer);
	if (allocator == NULL) {
		wlr_log(WLR_ERROR, "Failed to create an allocator");
		wlr_renderer_destroy(renderer);
		return false;
	}
	*renderer_out = renderer;
	*allocator_out = allocator;
	return true;
}

bool server_reset_renderer(struct comp_server *server) {
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	if (!renderer_create(server, &renderer, &allocator)) {
		return false;
	}
	struct wlr_renderer *old_renderer = server->renderer;
	struct wlr_allocator *old_allocator = server->allocator;
	server->renderer = renderer;
	server->allocator = allocator;
	wl_list_remove(&server->renderer_lost.link);
	wl_signal_add(&renderer->events.lost, &server->renderer_lost);

	wlr_compositor_set_renderer(server->compositor, renderer);
	struct comp_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		if (!wlr_output_init_render(output->wlr_output, allocator, renderer)) {
			wlr_log(WLR_ERROR, "Failed to init rendering on output %s",
				output->wlr_output->name);
		}
	}
	/* ---- zerocap wiring: zerocap follows while the old renderer still exists ---- */
	capture_renderer_changed(server);

	wlr_allocator_destroy(old_allocator);
	wlr_renderer_destroy(old_renderer);
	wlr_log(WLR_INFO, "Renderer recreated");
	return true;
}

static bool server_start(struct comp_server *server) {
	struct comp_options *options = server->options;

	server->backend = wlr_backend_autocreate(server->event_loop, NULL);
	if (server->backend == NULL) {
		wlr_log(WLR_ERROR, "Failed to create a backend");
		return false;
	}
	wlr_multi_for_each_backend(server->backend, find_headless, server);

	if (!renderer_create(server, &server->renderer, &server->allocator)) {
		return false;
	}
	server->renderer_lost.notify = handle_renderer_lost;
	wl_signal_add(&server->renderer->events.lost, &server->renderer_lost);
	if (!wlr_renderer_init_wl_display(server->renderer, server->display)) {
		wlr_log(WLR_ERROR, "Failed to create wl_shm or linux-dmabuf");
		return false;
	}

	server->compositor = wlr_compositor_create(server->display, 6, server->renderer);
	wlr_subcompositor_create(server->display);
	wlr_data_device_manager_create(server->display);

	output_init(server);
	wlr_xdg_output_manager_v1_create(server->display, server->output_layout);

	/* Bottom to top: backgrounds, demo, control rects, windows, capture indicators. */
	server->scene = wlr_scene_create();
	server->background_layer = wlr_scene_tree_create(&server->scene->tree);
	server->demo_layer = wlr_scene_tree_create(&server->scene->tree);
	server->rect_layer = wlr_scene_tree_create(&server->scene->tree);
	server->toplevel_layer = wlr_scene_tree_create(&server->scene->tree);
	server->indicator_layer = wlr_scene_tree_create(&server->scene->tree);
	server->scene_layout = wlr_scene_attach_output_layout(server->scene,
		server->output_layout);
	/* wlr_scene sends the feedback by itself. */
	compat_presentation_create(server->display, server->backend);

	xdg_shell_init(server);
	input_init(server);

	switch (options->screencopy) {
	case COMP_SCREENCOPY_NONE:
		break;
	case COMP_SCREENCOPY_WLROOTS:
		wlr_screencopy_manager_v1_create(server->display);
		break;
	case COMP_SCREENCOPY_ZEROCAP:
		/* zerocap's own, created with the capture manager */
		break;
	}

	/*
	 * ---- zerocap wiring: the capture manager (sources follow outputs), policy;
	 * or wlroots' own capture globals ----
	 */
	if (!capture_init(server)) {
		return false;
	}

	const char *socket = options->socket;
	if (socket != NULL) {
		if (wl_display_add_socket(server->display, socket) != 0) {
			wlr_log(WLR_ERROR, "Cannot listen on socket %s", socket);
			return false;
		}
	} else {
		socket = wl_display_add_socket_auto(server->display);
		if (socket == NULL) {
			wlr_log(WLR_ERROR, "Cannot create a Wayland socket");
			return false;
		}
	}

	if (!wlr_backend_start(server->backend)) {
		wlr_log(WLR_ERROR, "Failed to start the backend");
		return false;
	}
	if (server->headless != NULL) {
		if (options->outputs_len == 0) {
			options->outputs[options->outputs_len++] = (struct comp_output_config){
				.width = 640, .height = 480, .scale = 1.0f,
			};
		}
		for (int i = 0; i < options->outputs_len; i++) {
			wlr_headless_add_output(server->headless,
				options->outputs[i].width, options->outputs[i].height);
		}
	}

	setenv("WAYLAND_DISPLAY", socket, true);
	wlr_log(WLR_INFO, "Running on WAYLAND_DISPLAY=%s", socket);

	if (options->demo && !demo_init(server, options->demo_damage, options->demo_hz)) {
		return false;
	}
	if (options->control && !control_init(server, socket)) {
		return false;
	}
	if (options->bench_stats != NULL && !bench_init(server, options->bench_stats)) {
		return false;
	}
	if (options->startup_cmd != NULL) {
		spawn(options->startup_cmd, options->control);
	}
	return true;
}

/* Tears down whatever server_start() got to, in dependency order. */
static void server_finish(struct comp_server *server) {
	bench_finish(server);
	wl_display_destroy_clients(server->display);
	control_finish(server);
	demo_finish(server);
	/* ---- zerocap wiring: the manager goes before outputs and renderer ---- */
	capture_finish(server);
	xdg_shell_finish(server);
	input_finish(server);
	output_finish(server);
	if (server->renderer_reset_idle != NULL) {
		wl_event_source_remove(server->renderer_reset_idle);
	}
	if (server->backend != NULL) {
		wlr_backend_destroy(server->backend);
	}
	if (server->output_layout != NULL) {
		wlr_output_layout_destroy(server->output_layout);
	}
	if (server->scene != NULL) {
		wlr_scene_node_destroy(&server->scene->tree.node);
	}
	if (server->allocator != NULL) {
		wlr_allocator_destroy(server->allocator);
	}
	if (server->renderer != NULL) {
		wl_list_remove(&server->renderer_lost.link);
		wlr_renderer_destroy(server->renderer);
	}
	wl_display_destroy(server->display);
}

int main(int argc, char *argv[]) {
	struct comp_options options = {
		.demo_damage = 1.0,
		.capture = COMP_CAPTURE_ZEROCAP,
		.screencopy = COMP_SCREENCOPY_ZEROCAP,
		.policy = COMP_POLICY_ALLOW,
		.indicator = true,
	};
	int status = parse_options(argc, argv, &options);
	if (status >= 0) {
		free(options.allow);
		return status;
	}
	wlr_log_init(options.debug ? WLR_DEBUG : WLR_INFO, NULL);

	/* Headless unless told otherwise; outputs come from --output only. */
	setenv("WLR_BACKENDS", "headless", 0);
	setenv("WLR_HEADLESS_OUTPUTS", "0", 0);

	struct comp_server server = { .options = &options };
	wl_list_init(&server.outputs);
	wl_list_init(&server.toplevels);
	wl_list_init(&server.keyboards);
	server.display = wl_display_create();
	if (server.display == NULL) {
		return 1;
	}
	server.event_loop = wl_display_get_event_loop(server.display);

	struct wl_event_source *signals[] = {
		wl_event_loop_add_signal(server.event_loop, SIGTERM, handle_terminate_signal, &server),
		wl_event_loop_add_signal(server.event_loop, SIGINT, handle_terminate_signal, &server),
		wl_event_loop_add_signal(server.event_loop, SIGCHLD, handle_sigchld, NULL),
	};
	/* A control reader that goes away must not kill us mid-reply. */
	signal(SIGPIPE, SIG_IGN);

	status = 1;
	if (server_start(&server)) {
		wl_display_run(server.display);
		status = 0;
	}

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] != NULL) {
			wl_event_source_remove(signals[i]);
		}
	}
	server_finish(&server);
	free(options.allow);
	return status;
}
