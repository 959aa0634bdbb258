/*
 * zerocap-fuzz-protocol: a libFuzzer harness for the capture protocols.
 *
 * An in-process compositor (wl_display, two headless outputs and one of the
 * harness's own whose presentation comes late, as on DRM; pixman renderer,
 * a seat, one zc_capture_manager) is built once, on the first input, and
 * kept. Each input is decoded into a program that drives it:
 * wire-level requests from up to two clients, each on a socketpair with
 * wl_client_create() on the server end, interleaved with compositor actions
 * (output commits with damage, presentation, mode/transform/scale changes,
 * cursor moves, policy answers, revocation, pacing, source and manager
 * teardown, injected faults).
 * Requests are marshalled by hand from the wl_interface signatures, so any
 * object id, opcode or argument value can be sent; the harness only keeps a
 * model of the ids it created so that most requests reach real objects.
 * Events are read back (delete_id, wl_registry.global) and otherwise dropped.
 * At the end of each input every client is destroyed and the compositor is
 * put back into its starting state; nothing a client did may survive that
 * (LeakSanitizer), no capture request may still wait and no output may
 * still count as captured.
 *
 * Input format: see README.md and gen-seeds.py (the encoder), which must be
 * kept in step with the decoder below.
 */
#include <assert.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/interfaces/wlr_output.h>
#include <wlr/render/allocator.h>
#include <wlr/render/pass.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/util/log.h>
#include <zerocap/testing.h>
#include <zerocap/zerocap.h>
#include "compat.h"
#include "ext-image-capture-source-v1-protocol.h"
#include "ext-image-copy-capture-v1-protocol.h"
#include "wlr-screencopy-unstable-v1-protocol.h"

#define N_OUTPUTS 3 /* two headless ones, one of ours (late presentation) */
#define N_SLOTS 2
#define MAX_OBJECTS 256
#define MAX_GLOBALS 32
#define MAX_FDS 8
#define MAX_PENDING 128
#define MAX_WORDS 256 /* 1 KiB messages at most */

/* ---- The compositor, built once ---- */

struct output_config {
	int width, height;
	enum wl_output_transform transform;
	float scale;
};

/* What every input starts with. */
static const struct output_config default_config[N_OUTPUTS] = {
	{.width = 64, .height = 48, .transform = WL_OUTPUT_TRANSFORM_NORMAL, .scale = 1.0f},
	{.width = 40, .height = 30, .transform = WL_OUTPUT_TRANSFORM_90, .scale = 2.0f},
	{.width = 48, .height = 32, .transform = WL_OUTPUT_TRANSFORM_FLIPPED_180, .scale = 1.0f},
};

#define MAX_UNPRESENTED 16

struct fz_output {
	struct wlr_output *output;
	struct zc_output_source *source; /* NULL while removed by the program */
	bool active; /* as the activity handler last said */
	/* Late output: commits with a buffer still waiting for their present. */
	uint32_t unpresented[MAX_UNPRESENTED];
	int n_unpresented;
	struct output_config config; /* as last committed */
	bool enabled;
	bool dirty; /* differs from the default */
	struct wl_listener destroy;
};

struct pending_request {
	bool used;
	struct zc_capture_request *request;
	struct wl_listener cancel;
};

enum policy_mode {
	POLICY_NONE, /* no handler: allowed at once */
	POLICY_DEFER, /* handler keeps the request for a later answer */
	POLICY_DENY, /* handler denies at once */
	POLICY_ALLOW, /* handler allows at once */
};

enum filter_mode {
	FILTER_NONE,
	FILTER_ACCEPT,
	FILTER_REJECT,
};

struct compositor {
	struct wl_display *display;
	struct wl_event_loop *loop;
	struct wlr_backend *backend;
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_seat *seat;
	struct zc_capture_manager *manager; /* NULL while removed by the program */
	struct fz_output outputs[N_OUTPUTS];
	int n_outputs;
	struct wl_listener new_output;
	struct wlr_buffer *cursors[4]; /* [0] stays NULL: no cursor */
	enum policy_mode policy;
	enum filter_mode filter;
	struct pending_request pending[MAX_PENDING];
};

static struct compositor comp;

static bool trace; /* ZC_FUZZ_TRACE: what the harness does, on stderr */

#define TRACE(...) do { \
	if (trace) { \
		fprintf(stderr, "zerocap-fuzz: " __VA_ARGS__); \
	} \
} while (0)

/* A wlr_buffer over malloc'ed ARGB8888 pixels, for cursor images. */
static struct wlr_buffer *cursor_buffer_create(int width, int height) {
	uint32_t *pixels = calloc((size_t)width * height, 4);
	if (pixels == NULL) {
		abort();
	}
	for (int i = 0; i < width * height; i++) {
		pixels[i] = (i % 3 == 0) ? 0xff000000 : 0x80808080;
	}
	struct wlr_buffer *buffer = zc_cursor_image_create(pixels, width, height, width * 4);
	free(pixels);
	if (buffer == NULL) {
		abort();
	}
	return buffer;
}

/* Stands in for the vblank the headless backend would send later. */
static void output_frame_done(struct wlr_output *output) {
	if (output->frame_pending) {
		wlr_output_send_frame(output);
	}
}

/* Adds a plain frame of one colour to state, at the size state gives the output. */
static bool render_frame(struct fz_output *o, struct wlr_output_state *state, uint8_t color) {
	struct wlr_render_pass *pass = compat_output_begin_render_pass(o->output, state);
	if (pass == NULL) {
		TRACE("%s: cannot render\n", o->output->name);
		return false;
	}
	wlr_render_pass_add_rect(pass, &(struct wlr_render_rect_options){
		.box = {.width = state->buffer->width, .height = state->buffer->height},
		.color = {
			.r = (color & 3) / 3.0f,
			.g = ((color >> 2) & 7) / 7.0f,
			.b = ((color >> 5) & 7) / 7.0f,
			.a = 1.0f,
		},
		.blend_mode = WLR_RENDER_BLEND_MODE_NONE,
	});
	if (!wlr_render_pass_submit(pass)) {
		TRACE("%s: cannot render\n", o->output->name);
		return false;
	}
	return true;
}

/* Commits state (and finishes it), then stands in for the vblank. */
static bool output_commit(struct fz_output *o, struct wlr_output_state *state) {
	bool ok = wlr_output_commit_state(o->output, state);
	wlr_output_state_finish(state);
	TRACE("%s: commit %s\n", o->output->name, ok ? "done" : "failed");
	output_frame_done(o->output);
	return ok;
}

/* Renders a plain frame and commits it; damage NULL: no damage given. */
static bool render_commit(struct fz_output *o, uint8_t color, const pixman_region32_t *damage) {
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	if (!render_frame(o, &state, color)) {
		wlr_output_state_finish(&state);
		return false;
	}
	if (damage != NULL) {
		wlr_output_state_set_damage(&state, damage);
	}
	return output_commit(o, &state);
}

/*
 * Commits a configuration, with a new frame when o is enabled. A disabled
 * output takes no mode: that waits until it is enabled again.
 */
static void output_set_config(struct fz_output *o, const struct output_config *config,
		bool enabled) {
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_enabled(&state, enabled);
	wlr_output_state_set_transform(&state, config->transform);
	wlr_output_state_set_scale(&state, config->scale);
	o->config = *config;
	o->enabled = enabled;
	if (enabled) {
		wlr_output_state_set_custom_mode(&state, config->width, config->height, 0);
		render_frame(o, &state, 0x5a);
	}
	output_commit(o, &state);
}

static void handle_output_destroy(struct wl_listener *listener, void *data) {
	struct fz_output *o = wl_container_of(listener, o, destroy);
	/* Only at exit; zerocap drops the source by itself. */
	wl_list_remove(&o->destroy.link);
	o->output = NULL;
	o->source = NULL;
}

static void source_create(struct fz_output *o) {
	o->source = zc_output_source_create(comp.manager, o->output);
	if (o->source == NULL) {
		abort();
	}
	zc_output_source_set_cursor_image(o->source, comp.cursors[1], 2, 3);
	zc_output_source_move_cursor(o->source, true, 5.0, 6.5);
}

/*
 * The late output: like a DRM output, its presentation comes after the
 * commit (here when the program says so), where the headless backend
 * presents within the commit. This is what makes copies wait for their
 * image's time in zerocap.
 */
static struct fz_output *late_output;

/* wlroots applies the state itself; the output only remembers what waits for its present. */
static bool late_output_commit(struct wlr_output *output, const struct wlr_output_state *state) {
	struct fz_output *o = late_output;
	if ((state->committed & WLR_OUTPUT_STATE_BUFFER) && o != NULL) {
		if (o->n_unpresented == MAX_UNPRESENTED) {
			memmove(&o->unpresented[0], &o->unpresented[1],
				(MAX_UNPRESENTED - 1) * sizeof(uint32_t));
			o->n_unpresented--;
		}
		o->unpresented[o->n_unpresented++] = output->commit_seq + 1;
	}
	return true;
}

/* No destroy: wlr_output_destroy() then frees the calloc'ed wlr_output by itself. */
static const struct wlr_output_impl late_output_impl = {
	.commit = late_output_commit,
};

static void late_output_present(struct fz_output *o, uint32_t seq, bool presented) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct wlr_output_event_present event = {
		.commit_seq = seq,
		.presented = presented,
		.refresh = 16666666,
	};
	compat_present_event_set_when(&event, &now);
	wlr_output_send_present(o->output, &event);
}

/* Presents the oldest waiting commits (all: count < 0). */
static void late_output_present_pending(struct fz_output *o, int count, bool presented) {
	while (o->n_unpresented > 0 && count-- != 0) {
		uint32_t seq = o->unpresented[0];
		memmove(&o->unpresented[0], &o->unpresented[1],
			(o->n_unpresented - 1) * sizeof(uint32_t));
		o->n_unpresented--;
		late_output_present(o, seq, presented);
	}
}

static void output_setup(struct wlr_output *output) {
	if (comp.n_outputs == N_OUTPUTS || !wlr_output_init_render(output, comp.allocator,
			comp.renderer)) {
		abort();
	}
	struct fz_output *o = &comp.outputs[comp.n_outputs++];
	o->output = output;
	o->destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &o->destroy);
	wlr_output_create_global(output, comp.display);
	if (output->impl == &late_output_impl) {
		late_output = o;
	}
	output_set_config(o, &default_config[o - comp.outputs], true);
}

static void handle_new_output(struct wl_listener *listener, void *data) {
	output_setup(data);
}

static void late_output_create(void) {
	struct wlr_output *output = calloc(1, sizeof(*output));
	if (output == NULL) {
		abort();
	}
	/* Borrows the headless backend for its buffer capabilities. */
	const struct output_config *config = &default_config[N_OUTPUTS - 1];
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_custom_mode(&state, config->width, config->height, 0);
	wlr_output_init(output, comp.backend, &late_output_impl, comp.loop, &state);
	wlr_output_state_finish(&state);
	wlr_output_set_name(output, "LATE-1");
	output_setup(output);
}

static void pending_remove(struct pending_request *p) {
	wl_list_remove(&p->cancel.link);
	p->used = false;
	p->request = NULL;
}

static void handle_request_cancel(struct wl_listener *listener, void *data) {
	struct pending_request *p = wl_container_of(listener, p, cancel);
	pending_remove(p);
}

static void handle_capture_request(struct zc_capture_request *request, void *data) {
	/* The getters must work on every request. */
	(void)zc_capture_request_get_client(request);
	(void)zc_capture_request_get_output(request);
	(void)zc_capture_request_get_cursor(request);
	switch (comp.policy) {
	case POLICY_DENY:
		zc_capture_request_deny(request);
		return;
	case POLICY_NONE:
	case POLICY_ALLOW:
		zc_capture_request_allow(request);
		return;
	case POLICY_DEFER:
		break;
	}
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending_request *p = &comp.pending[i];
		if (!p->used) {
			p->used = true;
			p->request = request;
			p->cancel.notify = handle_request_cancel;
			zc_capture_request_add_cancel_listener(request, &p->cancel);
			return;
		}
	}
	zc_capture_request_allow(request);
}

/* The capture indicator: it must only ever flip, and end off (see below). */
static void handle_activity(const struct zc_capture_activity *activity, void *data) {
	for (int i = 0; i < comp.n_outputs; i++) {
		struct fz_output *o = &comp.outputs[i];
		if (o->output != activity->output) {
			continue;
		}
		if (o->active == activity->active) {
			fprintf(stderr, "zerocap-fuzz: activity of output %d reported %s twice\n", i,
				activity->active ? "on" : "off");
			abort();
		}
		o->active = activity->active;
		return;
	}
	fprintf(stderr, "zerocap-fuzz: activity for an unknown output\n");
	abort();
}

static bool client_filter(struct wl_client *client, const struct zc_client_info *info,
		void *data) {
	return comp.filter != FILTER_REJECT;
}

static void apply_policy(void) {
	if (comp.manager == NULL) {
		return;
	}
	zc_capture_manager_set_request_handler(comp.manager,
		comp.policy == POLICY_NONE ? NULL : handle_capture_request, NULL);
	zc_capture_manager_set_client_filter(comp.manager,
		comp.filter == FILTER_NONE ? NULL : client_filter, NULL);
}

static void manager_create(void) {
	comp.manager = zc_capture_manager_create(comp.display, comp.renderer, NULL);
	if (comp.manager == NULL) {
		abort();
	}
	zc_capture_manager_set_activity_handler(comp.manager, handle_activity, NULL);
	for (int i = 0; i < comp.n_outputs; i++) {
		source_create(&comp.outputs[i]);
	}
	apply_policy();
}

/* Once nothing can capture an output, its indicator must be off. */
static void check_inactive(struct fz_output *o, const char *why) {
	if (o->active) {
		fprintf(stderr, "zerocap-fuzz: output %d still shown as captured after %s\n",
			(int)(o - comp.outputs), why);
		abort();
	}
}

static void manager_destroy(void) {
	struct zc_capture_stats stats;
	zc_capture_manager_get_stats(comp.manager, &stats);
	zc_capture_manager_destroy(comp.manager);
	comp.manager = NULL;
	for (int i = 0; i < comp.n_outputs; i++) {
		comp.outputs[i].source = NULL;
		check_inactive(&comp.outputs[i], "the capture manager was destroyed");
	}
}

static void silent_wl_log(const char *fmt, va_list args) {
}

static void compositor_init(void) {
	if (getenv("ZC_FUZZ_DEBUG") != NULL) {
		wlr_log_init(WLR_DEBUG, NULL);
	} else {
		wlr_log_init(WLR_SILENT, NULL);
		wl_log_set_handler_server(silent_wl_log);
	}
	signal(SIGPIPE, SIG_IGN);
	trace = getenv("ZC_FUZZ_TRACE") != NULL;

	comp.display = wl_display_create();
	comp.loop = wl_display_get_event_loop(comp.display);
	comp.backend = wlr_headless_backend_create(comp.loop);
	comp.renderer = wlr_pixman_renderer_create();
	if (comp.display == NULL || comp.backend == NULL || comp.renderer == NULL ||
			!wlr_renderer_init_wl_display(comp.renderer, comp.display)) {
		abort();
	}
	comp.allocator = wlr_allocator_autocreate(comp.backend, comp.renderer);
	comp.seat = wlr_seat_create(comp.display, "seat0");
	if (comp.allocator == NULL || comp.seat == NULL) {
		abort();
	}
	wlr_seat_set_capabilities(comp.seat,
		WL_SEAT_CAPABILITY_POINTER | WL_SEAT_CAPABILITY_KEYBOARD);
	comp.cursors[1] = cursor_buffer_create(16, 16);
	comp.cursors[2] = cursor_buffer_create(1, 1);
	comp.cursors[3] = cursor_buffer_create(24, 32);

	comp.new_output.notify = handle_new_output;
	wl_signal_add(&comp.backend->events.new_output, &comp.new_output);
	if (!wlr_backend_start(comp.backend)) {
		abort();
	}
	for (int i = 0; i < N_OUTPUTS - 1; i++) {
		wlr_headless_add_output(comp.backend, default_config[i].width,
			default_config[i].height);
	}
	late_output_create();
	if (comp.n_outputs != N_OUTPUTS) {
		abort();
	}
	manager_create();
	for (int i = 0; i < comp.n_outputs; i++) {
		render_commit(&comp.outputs[i], 0x5a, NULL); /* the sources' first image */
	}
	wl_event_loop_dispatch(comp.loop, 0);
}

/* ---- Input reader ---- */

struct reader {
	const uint8_t *data;
	size_t size, pos;
};

static bool rd_more(struct reader *r) {
	return r->pos < r->size;
}

/* Past the end everything reads as zero. */
static uint8_t rd_u8(struct reader *r) {
	return r->pos < r->size ? r->data[r->pos++] : 0;
}

static uint16_t rd_u16(struct reader *r) {
	uint16_t lo = rd_u8(r);
	return lo | (uint16_t)rd_u8(r) << 8;
}

static uint32_t rd_u32(struct reader *r) {
	uint32_t lo = rd_u16(r);
	return lo | (uint32_t)rd_u16(r) << 16;
}

/* ---- The client side: a model of one connection ---- */

struct object {
	uint32_t id;
	const struct wl_interface *iface; /* NULL: unknown to the harness */
	uint32_t version;
};

struct global {
	uint32_t name;
	const struct wl_interface *iface;
	uint32_t version;
};

struct slot {
	struct wl_client *client; /* NULL when there is none */
	struct wl_listener client_destroy;
	int fd; /* our end of the socketpair, -1 when closed */
	struct object objects[MAX_OBJECTS];
	int n_objects;
	uint32_t free_ids[MAX_OBJECTS];
	int n_free;
	uint32_t next_id;
	uint32_t last_deleted;
	struct global globals[MAX_GLOBALS];
	int n_globals;
	int fds[MAX_FDS]; /* memfds we sent, kept for truncation */
	int n_fds;
	uint8_t in[8192];
	size_t in_len;
};

static struct slot slots[N_SLOTS];
static int current_slot;

/*
 * The interfaces a program can name, by index (gen-seeds.py has the same
 * list): target objects and object arguments are picked by interface.
 */
static const struct wl_interface *const known[] = {
	&wl_display_interface,
	&wl_registry_interface,
	&wl_callback_interface,
	&wl_shm_interface,
	&wl_shm_pool_interface,
	&wl_buffer_interface,
	&wl_output_interface,
	&wl_seat_interface,
	&wl_pointer_interface,
	&wl_keyboard_interface,
	&ext_output_image_capture_source_manager_v1_interface,
	&ext_image_capture_source_v1_interface,
	&ext_image_copy_capture_manager_v1_interface,
	&ext_image_copy_capture_session_v1_interface,
	&ext_image_copy_capture_frame_v1_interface,
	&ext_image_copy_capture_cursor_session_v1_interface,
	&zwlr_screencopy_manager_v1_interface,
	&zwlr_screencopy_frame_v1_interface,
};
#define N_KNOWN ((int)(sizeof(known) / sizeof(known[0])))

/* The globals wl_registry.bind picks from, by index. */
static const struct wl_interface *const bindable[] = {
	&wl_shm_interface,
	&wl_seat_interface,
	&wl_output_interface,
	&ext_output_image_capture_source_manager_v1_interface,
	&ext_image_copy_capture_manager_v1_interface,
	&zwlr_screencopy_manager_v1_interface,
};
#define N_BINDABLE ((int)(sizeof(bindable) / sizeof(bindable[0])))

static const struct wl_interface *known_by_name(const char *name, size_t len) {
	for (int i = 0; i < N_KNOWN; i++) {
		if (strlen(known[i]->name) == len && memcmp(known[i]->name, name, len) == 0) {
			return known[i];
		}
	}
	return NULL;
}

static void slot_close_fds(struct slot *s) {
	for (int i = 0; i < s->n_fds; i++) {
		close(s->fds[i]);
	}
	s->n_fds = 0;
}

/* Forgets the connection; the wl_client must be gone already. */
static void slot_reset(struct slot *s) {
	assert(s->client == NULL);
	if (s->fd >= 0) {
		close(s->fd);
	}
	slot_close_fds(s);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static void handle_client_destroy(struct wl_listener *listener, void *data) {
	struct slot *s = wl_container_of(listener, s, client_destroy);
	wl_list_remove(&s->client_destroy.link);
	s->client = NULL;
}

static bool slot_connect(struct slot *s) {
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		return false;
	}
	s->client = wl_client_create(comp.display, fds[0]);
	if (s->client == NULL) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	s->fd = fds[1];
	s->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(s->client, &s->client_destroy);
	s->objects[0] = (struct object){.id = 1, .iface = &wl_display_interface, .version = 1};
	s->n_objects = 1;
	s->next_id = 2;
	return true;
}

static void slot_disconnect(struct slot *s) {
	if (s->client != NULL) {
		wl_client_destroy(s->client);
	}
	slot_reset(s);
}

/* The current slot, connected (a new client when the last one ended). */
static struct slot *slot_get(void) {
	struct slot *s = &slots[current_slot];
	if (s->client == NULL) {
		slot_reset(s);
		if (!slot_connect(s)) {
			return NULL;
		}
	}
	return s;
}

static void model_add(struct slot *s, uint32_t id, const struct wl_interface *iface,
		uint32_t version) {
	if (s->n_objects < MAX_OBJECTS) {
		s->objects[s->n_objects++] = (struct object){id, iface, version};
	}
}

/* The object is gone for the client (destructor sent, or deleted). */
static void model_remove(struct slot *s, uint32_t id) {
	for (int i = 1; i < s->n_objects; i++) { /* [0], wl_display, always stays */
		if (s->objects[i].id == id) {
			memmove(&s->objects[i], &s->objects[i + 1],
				(s->n_objects - i - 1) * sizeof(s->objects[0]));
			s->n_objects--;
			break;
		}
	}
	s->last_deleted = id;
}

/*
 * wl_display.delete_id: the id may be used again. It comes late (the
 * compositor queues it without a flush), so objects leave the model when
 * their destructor is sent, as in libwayland-client.
 */
static void model_delete(struct slot *s, uint32_t id) {
	model_remove(s, id);
	if (id < 0xff000000 && s->n_free < MAX_OBJECTS) {
		s->free_ids[s->n_free++] = id;
	}
}

static struct object *model_find(struct slot *s, uint32_t id) {
	for (int i = 0; i < s->n_objects; i++) {
		if (s->objects[i].id == id) {
			return &s->objects[i];
		}
	}
	return NULL;
}

/* Like libwayland-client: the last freed id first, else the next one. */
static uint32_t model_new_id(struct slot *s) {
	if (s->n_free > 0) {
		return s->free_ids[--s->n_free];
	}
	return s->next_id++;
}

/* The nth live object of iface (wrapping), or NULL if there is none. */
static struct object *model_nth(struct slot *s, const struct wl_interface *iface, int nth) {
	int count = 0;
	for (int i = 0; i < s->n_objects; i++) {
		count += s->objects[i].iface == iface;
	}
	if (count == 0) {
		return NULL;
	}
	nth %= count;
	for (int i = 0; i < s->n_objects; i++) {
		if (s->objects[i].iface == iface && nth-- == 0) {
			return &s->objects[i];
		}
	}
	return NULL;
}

static void handle_event(struct slot *s, const uint32_t *w, uint32_t size) {
	uint32_t id = w[0], opcode = w[1] & 0xffff;
	size_t n = size / 4;
	if (id == 1) {
		TRACE("event wl_display.%s\n", opcode == WL_DISPLAY_ERROR ? "error" : "delete_id");
		if (opcode == WL_DISPLAY_DELETE_ID && n >= 3) {
			model_delete(s, w[2]);
		}
		return;
	}
	struct object *obj = model_find(s, id);
	if (obj == NULL || obj->iface != &wl_registry_interface) {
		return;
	}
	if (opcode == WL_REGISTRY_GLOBAL && n >= 5) {
		uint32_t len = w[3];
		size_t words = (len + 3) / 4;
		if (len == 0 || 4 + words + 1 > n || s->n_globals == MAX_GLOBALS) {
			return;
		}
		const char *name = (const char *)&w[4];
		s->globals[s->n_globals++] = (struct global){
			.name = w[2],
			.iface = known_by_name(name, strnlen(name, len)),
			.version = w[4 + words],
		};
	} else if (opcode == WL_REGISTRY_GLOBAL_REMOVE && n >= 3) {
		for (int i = 0; i < s->n_globals; i++) {
			if (s->globals[i].name == w[2]) {
				s->globals[i] = s->globals[--s->n_globals];
				break;
			}
		}
	}
}

/* Reads and handles every event waiting on the client end. */
static void slot_drain(struct slot *s) {
	while (s->fd >= 0) {
		if (s->in_len == sizeof(s->in)) {
			s->in_len = 0; /* cannot happen with well-formed events */
		}
		char control[CMSG_SPACE(sizeof(int) * 28)];
		struct iovec iov = {.iov_base = s->in + s->in_len, .iov_len = sizeof(s->in) - s->in_len};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};
		ssize_t len = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); len >= 0 && c != NULL;
				c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (int i = 0; i < nfd; i++) {
					int fd;
					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
					close(fd);
				}
			}
		}
		if (len <= 0) {
			return;
		}
		s->in_len += len;
		size_t pos = 0;
		while (s->in_len - pos >= 8) {
			uint32_t header[2];
			memcpy(header, s->in + pos, sizeof(header));
			uint32_t size = header[1] >> 16;
			if (size < 8 || size % 4 != 0 || size > 4096) {
				pos = s->in_len; /* garbage: drop it all */
				break;
			}
			if (s->in_len - pos < size) {
				break;
			}
			uint32_t w[1024];
			memcpy(w, s->in + pos, size);
			handle_event(s, w, size);
			pos += size;
		}
		memmove(s->in, s->in + pos, s->in_len - pos);
		s->in_len -= pos;
	}
}

/* One turn of the compositor: requests, idle work, events out and read. */
static void pump(void) {
	wl_event_loop_dispatch(comp.loop, 0);
	wl_display_flush_clients(comp.display);
	for (int i = 0; i < N_SLOTS; i++) {
		slot_drain(&slots[i]);
	}
}

/* ---- Requests ---- */

struct message {
	uint32_t w[MAX_WORDS];
	size_t n; /* words of arguments, after the 2-word header */
	int fds[4];
	int n_fds;
};

static void put_u32(struct message *m, uint32_t v) {
	if (2 + m->n < MAX_WORDS) {
		m->w[2 + m->n++] = v;
	}
}

/* Bytes with a length word, padded to 32 bits (strings include their NUL). */
static void put_bytes(struct message *m, const void *data, uint32_t len, uint32_t wire_len) {
	put_u32(m, wire_len);
	size_t words = (len + 3) / 4;
	if (2 + m->n + words > MAX_WORDS) {
		return;
	}
	memset(&m->w[2 + m->n], 0, words * 4);
	memcpy(&m->w[2 + m->n], data, len);
	m->n += words;
}

/* Interesting 32-bit values for int, uint and fixed arguments. */
static const uint32_t values[32] = {
	0, 1, 2, 3, 4, 8, 16, 32,
	48, 64, 128, 256, 192, 12288, 4096, 65536,
	0xffffffff, 0xfffffffe, (uint32_t)-64, 0x7fffffff, 0x80000000, 0x7fff, 0x8000, 12287,
	255, 24576, 63, 47, DRM_FORMAT_XBGR8888, DRM_FORMAT_ABGR8888, DRM_FORMAT_RGB565, 1 << 24,
};

static uint32_t decode_value(struct reader *r) {
	uint8_t v = rd_u8(r);
	return v < 0xe0 ? values[v % 32] : rd_u32(r);
}

static uint32_t decode_new_id(struct slot *s, struct reader *r) {
	uint8_t v = rd_u8(r);
	return v < 0xf0 ? model_new_id(s) : rd_u32(r);
}

static uint32_t any_object(struct slot *s, uint8_t v) {
	return s->objects[v % s->n_objects].id;
}

static uint32_t decode_object(struct slot *s, struct reader *r, const struct wl_interface *type) {
	uint8_t v = rd_u8(r);
	switch (v) {
	case 0xff:
		return 0;
	case 0xfe:
		return rd_u32(r);
	case 0xfd:
		return s->last_deleted != 0 ? s->last_deleted : s->next_id + 5;
	case 0xfc:
		return any_object(s, rd_u8(r));
	}
	struct object *obj = type != NULL ? model_nth(s, type, v) : NULL;
	return obj != NULL ? obj->id : any_object(s, v);
}

/* Memory for wl_shm: a memfd of one of a few sizes, or a pipe (no mmap). */
static int decode_fd(struct slot *s, struct reader *r) {
	static const off_t sizes[] = {0, 4096, 12288, 24576, 1, 12287, 65536};
	uint8_t v = rd_u8(r);
	if (v % 8 == 7) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) != 0) {
			return -1;
		}
		close(p[1]);
		return p[0];
	}
	int fd = memfd_create("zc-fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, sizes[v % 8]) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

static void decode_args(struct slot *s, struct reader *r, const struct wl_message *msg,
		uint32_t version, struct message *m) {
	int arg = 0;
	for (const char *c = msg->signature; *c != '\0'; c++) {
		switch (*c) {
		case 'i':
		case 'u':
		case 'f':
			put_u32(m, decode_value(r));
			break;
		case 'o':
			put_u32(m, decode_object(s, r, msg->types[arg]));
			break;
		case 'n': {
			uint32_t id = decode_new_id(s, r);
			put_u32(m, id);
			model_add(s, id, msg->types[arg], version);
			break;
		}
		case 's':
		case 'a': {
			uint8_t len = rd_u8(r) % 64;
			uint8_t bytes[64];
			for (int i = 0; i < len; i++) {
				bytes[i] = rd_u8(r);
			}
			if (*c == 's') {
				bytes[len] = '\0'; /* len < 64 */
				put_bytes(m, bytes, len + 1, len + 1);
			} else {
				put_bytes(m, bytes, len, len);
			}
			break;
		}
		case 'h': {
			int fd = decode_fd(s, r);
			if (fd >= 0 && m->n_fds < 4) {
				m->fds[m->n_fds++] = fd;
			} else if (fd >= 0) {
				close(fd);
			}
			break;
		}
		default:
			continue; /* version digits and '?' */
		}
		arg++;
	}
}

/* wl_registry.bind: a global picked by interface, its name, a version. */
static void decode_bind(struct slot *s, struct reader *r, struct message *m) {
	uint8_t g = rd_u8(r);
	const struct global *global = NULL;
	struct global raw = {0};
	if (g < 0xf0) {
		const struct wl_interface *want = bindable[g % N_BINDABLE];
		int nth = g / N_BINDABLE % N_OUTPUTS, count = 0;
		for (int pass = 0; pass < 2 && global == NULL; pass++) {
			for (int i = 0; i < s->n_globals; i++) {
				if (s->globals[i].iface == want && (count++ == nth || pass == 1)) {
					global = &s->globals[i];
					break;
				}
			}
		}
		if (global == NULL) {
			raw = (struct global){.name = g, .iface = want, .version = 1};
			global = &raw;
		}
	} else {
		raw = (struct global){.name = rd_u32(r), .iface = known[rd_u8(r) % N_KNOWN],
			.version = 1};
		global = &raw;
	}
	uint8_t i = rd_u8(r);
	const struct wl_interface *iface = i < 0xe0 ? global->iface : known[i % N_KNOWN];
	uint8_t v = rd_u8(r);
	uint32_t version;
	if (v < 0xc0) {
		version = global->version < (uint32_t)iface->version ?
			global->version : (uint32_t)iface->version;
	} else if (v < 0xe0) {
		version = 1;
	} else {
		version = rd_u32(r);
	}
	uint32_t id = decode_new_id(s, r);
	put_u32(m, global->name);
	put_bytes(m, iface->name, strlen(iface->name) + 1, strlen(iface->name) + 1);
	put_u32(m, version);
	put_u32(m, id);
	model_add(s, id, iface, version);
}

static void slot_keep_fd(struct slot *s, int fd) {
	if (s->n_fds == MAX_FDS) {
		close(s->fds[0]);
		memmove(&s->fds[0], &s->fds[1], (MAX_FDS - 1) * sizeof(int));
		s->n_fds--;
	}
	s->fds[s->n_fds++] = fd;
}

/* Writes one message; the compositor runs while the socket is full. */
static void send_message(struct slot *s, uint32_t id, uint32_t opcode, struct message *m) {
	size_t size = (2 + m->n) * 4;
	m->w[0] = id;
	m->w[1] = (uint32_t)size << 16 | (opcode & 0xffff);
	const uint8_t *data = (const uint8_t *)m->w;
	size_t sent = 0;
	bool fds_sent = false;
	for (int tries = 0; sent < size && tries < 64 && s->fd >= 0; tries++) {
		char control[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = {.iov_base = (void *)(data + sent), .iov_len = size - sent};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (!fds_sent && m->n_fds > 0) {
			memset(control, 0, sizeof(control));
			msg.msg_control = control;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * m->n_fds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * m->n_fds);
			memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->n_fds);
		}
		ssize_t len = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (len > 0) {
			sent += len;
			fds_sent = true;
		} else if (len < 0 && errno == EAGAIN) {
			pump();
		} else {
			break; /* the compositor hung up on this client */
		}
	}
	for (int i = 0; i < m->n_fds; i++) {
		slot_keep_fd(s, m->fds[i]);
	}
	m->n_fds = 0;
}

/* A request to a live object (picked by interface), decoded from its signature. */
static void op_request(struct reader *r) {
	struct slot *s = slot_get();
	if (s == NULL) {
		return;
	}
	uint8_t t = rd_u8(r);
	struct object *target = NULL;
	if (t < 0xe0) {
		target = model_nth(s, known[t % N_KNOWN], t / N_KNOWN);
	}
	if (target == NULL) {
		target = &s->objects[(t < 0xe0 ? t : rd_u8(r)) % s->n_objects];
	}
	struct object obj = *target; /* the model changes while decoding */
	const struct wl_interface *iface = obj.iface;
	int methods = iface != NULL ? iface->method_count : 0;
	uint8_t o = rd_u8(r);
	struct message m = {0};
	uint32_t opcode;
	bool destructor = false;
	if (methods > 0 && o < 0xf0) {
		opcode = o % methods;
		/* Every destructor in these protocols has one of these names. */
		const char *name = iface->methods[opcode].name;
		destructor = strcmp(name, "destroy") == 0 || strcmp(name, "release") == 0;
		if (iface == &wl_registry_interface && opcode == 0) { /* bind */
			decode_bind(s, r, &m);
		} else {
			decode_args(s, r, &iface->methods[opcode], obj.version, &m);
		}
	} else {
		opcode = methods + (o & 0x0f); /* no such request */
	}
	TRACE("request %u (%s) opcode %u, %zu words, %d fds\n", obj.id,
		iface != NULL ? iface->name : "?", opcode, m.n, m.n_fds);
	send_message(s, obj.id, opcode, &m);
	if (destructor) {
		model_remove(s, obj.id);
	}
}

/* A well-framed message with arbitrary opcode and argument words. */
static void op_raw(struct reader *r) {
	struct slot *s = slot_get();
	if (s == NULL) {
		return;
	}
	uint32_t id = any_object(s, rd_u8(r));
	uint32_t opcode = rd_u8(r);
	struct message m = {0};
	int words = rd_u8(r) % 8;
	for (int i = 0; i < words; i++) {
		put_u32(&m, decode_value(r));
	}
	send_message(s, id, opcode, &m);
}

/* ---- Compositor actions ---- */

/* Outputs by the low two bits: A, B, the late one, A. */
static struct fz_output *pick_output(uint8_t v) {
	return &comp.outputs[(v & 3) % N_OUTPUTS];
}

static void op_commit(struct reader *r, uint8_t sub) {
	struct fz_output *o = pick_output(sub);
	int mode = (sub >> 2) & 3;
	uint8_t color = rd_u8(r);
	if (!o->enabled) {
		return;
	}
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	switch (mode) {
	case 0:
		render_commit(o, color, NULL);
		break;
	case 1: {
		int x = (int8_t)rd_u8(r), y = (int8_t)rd_u8(r);
		int w = rd_u8(r), h = rd_u8(r);
		pixman_region32_union_rect(&damage, &damage, x, y, w, h);
		render_commit(o, color, &damage);
		break;
	}
	case 2:
		render_commit(o, color, &damage); /* a frame with empty damage */
		break;
	case 3: { /* no new buffer */
		struct wlr_output_state state;
		wlr_output_state_init(&state);
		output_commit(o, &state);
		break;
	}
	}
	pixman_region32_fini(&damage);
}

static void op_output(struct reader *r, uint8_t sub) {
	static const float scales[] = {1.0f, 2.0f, 0.5f, 1.5f, 3.0f, 0.75f, 1.25f, 2.5f};
	static const int sizes[][2] = {
		{64, 48}, {48, 64}, {32, 32}, {1, 1}, {17, 13}, {100, 7}, {64, 47}, {128, 96},
	};
	uint8_t p = rd_u8(r);
	struct fz_output *o = pick_output(p);
	int param = p >> 2;
	struct output_config config = o->config;
	o->dirty = true;
	switch (sub % 8) {
	case 0:
		config.transform = param % 8;
		output_set_config(o, &config, o->enabled);
		break;
	case 1:
		config.scale = scales[param % 8];
		output_set_config(o, &config, o->enabled);
		break;
	case 2:
		config.width = sizes[param % 8][0];
		config.height = sizes[param % 8][1];
		output_set_config(o, &config, o->enabled);
		break;
	case 3:
		output_set_config(o, &config, false);
		break;
	case 4:
		output_set_config(o, &config, true);
		break;
	case 5: /* the compositor stops (or again starts) offering the output */
		if (o->source != NULL) {
			zc_output_source_destroy(o->source);
			o->source = NULL;
			check_inactive(o, "its source was destroyed");
		} else if (comp.manager != NULL) {
			source_create(o);
		}
		break;
	case 6: /* the whole capture manager goes away, or comes back */
		if (comp.manager != NULL) {
			manager_destroy();
		} else {
			manager_create();
		}
		break;
	case 7:
		for (int i = 0; i < comp.n_outputs; i++) {
			if (comp.outputs[i].enabled) {
				render_commit(&comp.outputs[i], p, NULL);
			}
		}
		break;
	}
}

static void op_cursor(struct reader *r, uint8_t sub) {
	uint8_t p = rd_u8(r);
	struct fz_output *o = pick_output(p);
	if (sub % 4 == 0) {
		struct wlr_buffer *image = comp.cursors[(p >> 2) % 4];
		int hx = (int8_t)rd_u8(r), hy = (int8_t)rd_u8(r);
		if (o->source != NULL) {
			zc_output_source_set_cursor_image(o->source, image, hx, hy);
		}
		return;
	}
	bool visible = sub % 4 != 2 && (p & 4);
	double x = (int16_t)rd_u16(r) / 4.0, y = (int16_t)rd_u16(r) / 4.0;
	if (o->source != NULL) {
		zc_output_source_move_cursor(o->source, visible, x, y);
	}
}

static void op_policy(struct reader *r, uint8_t sub) {
	switch (sub % 8) {
	case 0:
		comp.policy = POLICY_NONE;
		apply_policy();
		break;
	case 1:
		comp.policy = POLICY_DEFER;
		apply_policy();
		break;
	case 2:
	case 3: {
		int start = rd_u8(r) % MAX_PENDING;
		for (int i = 0; i < MAX_PENDING; i++) {
			struct pending_request *p = &comp.pending[(start + i) % MAX_PENDING];
			if (p->used) {
				struct zc_capture_request *request = p->request;
				pending_remove(p);
				if (sub % 8 == 2) {
					zc_capture_request_allow(request);
				} else {
					zc_capture_request_deny(request);
				}
				break;
			}
		}
		break;
	}
	case 4: {
		uint8_t p = rd_u8(r);
		struct wl_client *client = (p & 1) ? slots[current_slot].client : NULL;
		int out = (p >> 1) % 4;
		struct wlr_output *output = out < N_OUTPUTS ? comp.outputs[out].output : NULL;
		if (comp.manager != NULL) {
			zc_capture_manager_revoke(comp.manager, client, output);
		}
		break;
	}
	case 5:
		comp.policy = POLICY_DENY;
		apply_policy();
		break;
	case 6:
		comp.policy = POLICY_ALLOW;
		apply_policy();
		break;
	case 7:
		comp.filter = rd_u8(r) % 3;
		apply_policy();
		break;
	}
}

static void op_client(struct reader *r, uint8_t sub) {
	struct slot *s = &slots[current_slot];
	switch (sub % 4) {
	case 0:
		current_slot = (current_slot + 1) % N_SLOTS;
		break;
	case 1: /* the compositor kicks the client */
		slot_disconnect(s);
		break;
	case 2: /* the client hangs up */
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
		}
		break;
	case 3:
		break; /* just a turn of the loop */
	}
}

static int sleeps_left;
static bool paced; /* this input set a frame rate: sleeping may matter */

static void op_misc(struct reader *r, uint8_t sub) {
	switch (sub % 8) {
	case 0: {
		uint8_t p = rd_u8(r);
		if (comp.manager != NULL) {
			zc_capture_manager_inject_fault(comp.manager, (p & 15) % ZC_FAULT_COUNT,
				1 + (p >> 4) % 4);
		}
		break;
	}
	case 1:
		op_raw(r);
		break;
	case 2: { /* the client shrinks (or grows) memory it shared */
		static const off_t sizes[] = {0, 1, 4096, 12287, 12288, 24576, 65536, 1 << 20};
		uint8_t p = rd_u8(r);
		struct slot *s = &slots[current_slot];
		if (s->n_fds > 0 && ftruncate(s->fds[(p >> 3) % s->n_fds], sizes[p % 8]) != 0) {
			/* a pipe: nothing to truncate */
		}
		break;
	}
	case 3: { /* pacing: manager-wide for new sessions, or for a waiting request */
		static const double fps[] = {0, 1, 10, 30, 60, 1000, 1e6, 0.001};
		uint8_t p = rd_u8(r);
		if (comp.manager == NULL) {
			break;
		}
		paced = paced || fps[p % 8] > 0;
		if (p & 8) {
			zc_capture_manager_set_max_fps(comp.manager, fps[p % 8]);
			break;
		}
		for (int i = 0; i < MAX_PENDING; i++) {
			if (comp.pending[i].used) {
				zc_capture_request_set_max_fps(comp.pending[i].request, fps[p % 8]);
				break;
			}
		}
		break;
	}
	case 4: { /* the late output's presentation events */
		uint8_t p = rd_u8(r);
		switch (p % 4) {
		case 0:
			late_output_present_pending(late_output, 1, true);
			break;
		case 1: /* the frame was discarded */
			late_output_present_pending(late_output, 1, false);
			break;
		case 2:
			late_output_present_pending(late_output, -1, true);
			break;
		case 3: /* one that was never committed, or long ago */
			late_output_present(late_output,
				late_output->output->commit_seq + (int8_t)(p & 0xf0) / 16, p & 4);
			break;
		}
		break;
	}
	case 5: /* time passes (1 ms, twice per input at most): pacing timers fire */
		if (sleeps_left > 0 && paced) {
			sleeps_left--;
			struct timespec ts = {.tv_nsec = 1000000L};
			nanosleep(&ts, NULL);
		}
		break;
	default:
		break;
	}
}

/* ---- Per input ---- */

static void compositor_reset(void) {
	for (int i = 0; i < N_SLOTS; i++) {
		slot_disconnect(&slots[i]);
	}
	current_slot = 0;
	pump();

	/* Nothing a client did may outlive it. */
	for (int i = 0; i < MAX_PENDING; i++) {
		if (comp.pending[i].used) {
			fprintf(stderr, "zerocap-fuzz: a capture request outlived its client\n");
			abort();
		}
	}
	for (int i = 0; i < comp.n_outputs; i++) {
		struct fz_output *o = &comp.outputs[i];
		if (o->source != NULL && zc_output_source_is_captured(o->source)) {
			fprintf(stderr, "zerocap-fuzz: output %d still counts as captured with "
				"no client left\n", i);
			abort();
		}
		check_inactive(o, "every client left");
	}

	comp.policy = POLICY_NONE;
	comp.filter = FILTER_NONE;
	if (comp.manager == NULL) {
		manager_create();
	}
	apply_policy();
	zc_capture_manager_set_max_fps(comp.manager, 0);
	for (int f = 0; f < ZC_FAULT_COUNT; f++) {
		zc_capture_manager_inject_fault(comp.manager, f, 0);
	}
	for (int i = 0; i < comp.n_outputs; i++) {
		struct fz_output *o = &comp.outputs[i];
		if (o->dirty) {
			output_set_config(o, &default_config[i], true);
			o->dirty = false;
		}
		if (o->source == NULL) {
			source_create(o);
			if (o->enabled) {
				render_commit(o, 0x5a, NULL);
			}
		} else {
			zc_output_source_set_cursor_image(o->source, comp.cursors[1], 2, 3);
			zc_output_source_move_cursor(o->source, true, 5.0, 6.5);
		}
	}
	late_output_present_pending(late_output, -1, true);
	pump();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static bool initialized = false;
	if (!initialized) {
		compositor_init();
		for (int i = 0; i < N_SLOTS; i++) {
			slots[i].fd = -1;
		}
		compositor_reset();
		initialized = true;
	}

	struct reader r = {.data = data, .size = size};
	sleeps_left = 2;
	paced = false;
	while (rd_more(&r)) {
		uint8_t op = rd_u8(&r);
		uint8_t kind = op & 15, sub = op >> 4;
		switch (kind) {
		case 10:
			op_commit(&r, sub);
			break;
		case 11:
			op_output(&r, sub);
			break;
		case 12:
			op_cursor(&r, sub);
			break;
		case 13:
			op_policy(&r, sub);
			break;
		case 14:
			op_client(&r, sub);
			break;
		case 15:
			op_misc(&r, sub);
			break;
		default:
			op_request(&r);
			break;
		}
		pump();
	}
	compositor_reset();
	return 0;
}
