/*
 * The screen-sharing stack of a desktop, private to one process: a session
 * dbus-daemon on its own socket, pipewire, wireplumber, a ScreenCast portal
 * backend (xdg-desktop-portal-wlr or xdg-desktop-portal-zerocap) and the
 * xdg-desktop-portal frontend, all under one directory (runtime, config,
 * home, logs) that the caller owns. Used by test-xdpw.c (tests 'xdpw' and
 * 'portal') and by the portal benchmark (bench/portal-bench.c).
 *
 * Also here: the org.freedesktop.portal.ScreenCast calls an application
 * makes (GDBus), and a libpipewire consumer of the stream that hands each
 * frame to a callback on PipeWire's thread.
 *
 * Failures are recorded with ZT_CHECK. Every wait is bounded.
 */
#ifndef CT_PORTAL_STACK_H
#define CT_PORTAL_STACK_H

#include <gio/gio.h>
#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "clients.h"
#include "fixture.h"

#define CT_XDP "/usr/libexec/xdg-desktop-portal"
#define CT_XDPW "/usr/libexec/xdg-desktop-portal-wlr"
#define CT_PORTAL_NAME "org.freedesktop.portal.Desktop"
#define CT_PORTAL_PATH "/org/freedesktop/portal/desktop"

long ct_now_ms(void);
uint64_t ct_now_ns(void);

/* ---- the desktop stack ---- */

enum ct_backend {
	CT_BACKEND_XDPW, /* CT_XDPW */
	CT_BACKEND_ZEROCAP, /* $ZC_PORTAL, its .portal file in $ZC_PORTAL_DIR */
};

struct ct_stack_options {
	enum ct_backend backend;
	const char *output; /* what the backend shares (its config, no chooser) */
	int max_fps; /* the backend's max_fps */
	bool wayland_debug; /* WAYLAND_DEBUG=1: the backend's protocol in its log */
	bool debug_log; /* xdpw: -l DEBUG */
};

struct ct_stack {
	char dir[256]; /* set by the caller: everything goes below it */
	struct ct_stack_options options;
	char run[300], config[300], home[300], portals[300];
	char bus_address[512];
	char wayland[400]; /* absolute WAYLAND_DISPLAY */
	/* started in this order, stopped the other way round */
	pid_t dbus, pipewire, wireplumber, backend, xdp;
	char env[8][700];
	const char *envp[9];
};

/* The backend's D-Bus name, log file (in dir) and name in messages. */
const char *ct_backend_bus_name(enum ct_backend backend);
const char *ct_backend_log(enum ct_backend backend);
const char *ct_backend_title(enum ct_backend backend);

/*
 * Starts the stack for comp's socket with stack->dir and options; on
 * failure stops what it started. bus gets a connection to the stack's bus.
 */
bool ct_stack_start(struct ct_stack *stack, const struct ct_stack_options *options,
	struct zt_compositor *comp, GDBusConnection **bus);
void ct_stack_stop(struct ct_stack *stack);
/*
 * Ends the backend with sig (it must be gone within 5 s) and starts it
 * again: a user's portal crashing and D-Bus activation bringing it back.
 */
bool ct_stack_restart_backend(struct ct_stack *stack, GDBusConnection *bus, int sig);

bool ct_name_has_owner(GDBusConnection *bus, const char *name);

/*
 * The zerocap backend's chooser (its config, written by ct_stack_start)
 * logs each time it is asked, answers nothing while the stack's file
 * "deny" exists, else what the file "choice" says (output:NAME or
 * window:KEY), else options.output. These write and remove those files
 * (and "pick", what picker_cmd prints) and count the times it was asked.
 */
/* Writes text to path; false (checked) on failure. */
bool ct_write_file(const char *path, const char *text);
bool ct_stack_write(const struct ct_stack *stack, const char *name, const char *text);
void ct_stack_remove(const struct ct_stack *stack, const char *name);
int ct_stack_chooser_asked(const struct ct_stack *stack);

/* ---- the ScreenCast portal ---- */

struct ct_portal {
	GDBusConnection *bus;
	guint subscription;
	/* Request::Response signals as they came: path, code, results */
	struct {
		char path[256];
		guint32 code;
		GVariant *results;
	} responses[8];
	int n_responses;
	char session[256];
	guint32 node;
	int width, height;
	char restore_token[128]; /* from Start (persist_mode 2); sent back when set */
	bool persist;
	guint32 types, cursor_mode; /* SelectSources; 0: a monitor, embedded cursor */
	/* Start may be refused: start_code gets its response code, no check fails. */
	bool expect_refusal;
	guint32 start_code;
};

/* CreateSession, SelectSources (types, cursor_mode), Start. */
bool ct_portal_start(struct ct_portal *portal);
/* A uint32 property of the frontend's ScreenCast interface; 0 if it has none (yet). */
guint32 ct_portal_property(struct ct_portal *portal, const char *name);
/* OpenPipeWireRemote: an fd for a consumer; -1 on failure. */
int ct_portal_remote(struct ct_portal *portal);
/* Session.Close, and no more listening for responses. */
void ct_portal_close(struct ct_portal *portal);
/*
 * Calls interface.method of the frontend (a method that answers through a
 * Request, e.g. org.freedesktop.portal.Screenshot.PickColor) and waits for
 * the Response: its results, or NULL. code NULL: a response other than 0
 * fails the test (what names the call); else it gets the response code.
 * The portal must listen for responses (ct_portal_start did it).
 */
GVariant *ct_portal_call(struct ct_portal *portal, const char *interface, const char *method,
	GVariant *parameters, const char *what, guint32 *code);
/* The response to request handle, within timeout_ms; NULL if none. */
GVariant *ct_portal_wait_response(struct ct_portal *portal, const char *handle,
	guint32 *code, int timeout_ms);

/* ---- the consumer ---- */

/*
 * A frame: a buffer that is not marked corrupted, mapped; header may be
 * NULL. Called on PipeWire's thread, with the loop locked; the buffer goes
 * back to the stream when it returns.
 */
typedef void (*ct_consumer_frame_fn)(void *data, const struct spa_buffer *buffer,
	const struct spa_video_info_raw *format, const struct spa_meta_header *header,
	uint64_t arrived_ns);

/* Every buffer as it arrives, before any check (cursor-only buffers too). */
typedef void (*ct_consumer_buffer_fn)(void *data, const struct spa_buffer *buffer,
	uint64_t arrived_ns);

struct ct_consumer_options {
	bool cursor_meta; /* ask for SPA_META_Cursor */
	bool damage_meta; /* ask for SPA_META_VideoDamage */
	/*
	 * Take dma-bufs (LINEAR or implicit modifier, mapped to read them) first,
	 * memfds else; without it only memfds.
	 */
	bool dmabuf;
	/*
	 * With dmabuf: take SPA_META_SyncTimeline too (explicit sync) where the
	 * producer offers it, on the DRM device at sync_device; wait for each
	 * acquire point before reading, signal the release point after.
	 */
	const char *sync_device;
	/*
	 * With sync_device: import dma-buf frames with EGL (GBM platform), at
	 * most two a second, and compare what glReadPixels gives with the CPU
	 * mapping.
	 */
	bool egl;
	ct_consumer_buffer_fn buffer; /* may be NULL */
	/* A consumer that stops returning buffers after this many (0: returns all). */
	int hold_after;
	/*
	 * With dmabuf: "cannot import" the first dma-buf frame, and take its
	 * modifier out of the formats (renegotiation, as OBS does).
	 */
	bool reject_modifier;
};

/*
 * What a screen-sharing application does with the portal's PipeWire remote
 * (OBS's PipeWire source, the browsers' WebRTC capturers): one input
 * stream on the node, BGRx or RGBx, connected once and active until it
 * leaves, buffers mapped, every frame given back at once. Read what the
 * thread writes under pw_thread_loop_lock(consumer->loop).
 */
struct ct_consumer {
	const char *name;
	ct_consumer_frame_fn frame;
	void *data;
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct pw_stream *stream;
	struct spa_hook core_listener, stream_listener;
	struct ct_consumer_options options;
	uint64_t connected_ns; /* CLOCK_MONOTONIC when it connected */
	/* PipeWire's thread writes */
	struct spa_video_info_raw format;
	bool have_format;
	bool error;
	char error_text[160];
	int corrupted; /* buffers marked corrupted: not frames */
	int taken, held; /* buffers dequeued; kept (hold_after) */
	int width, height; /* asked for */
	int dmabuf_frames, memfd_frames; /* frames by the type of their memory */
	bool rejected; /* reject_modifier: the modifier taken out */
	uint64_t rejected_modifier;
	int rejected_frames; /* frames of it that still came */
	int synced_frames; /* frames with timelines: acquired, then released */
	int sync_errors; /* acquire points that did not signal, or ioctls that failed */
	int egl_frames, egl_failures, egl_wrong; /* imported; not imported; pixels that differ */
	uint64_t egl_last_ns;
	struct ct_egl *egl;
	int drm_fd;
};

/*
 * Connects to node through the portal's remote fd (taken over), asking for
 * width x height at first; false on failure.
 */
bool ct_consumer_start(struct ct_consumer *consumer, const char *name, int fd, uint32_t node,
	int width, int height, ct_consumer_frame_fn frame, void *data);
/* The same with options (NULL: none). */
bool ct_consumer_start_with(struct ct_consumer *consumer, const char *name, int fd,
	uint32_t node, int width, int height, ct_consumer_frame_fn frame, void *data,
	const struct ct_consumer_options *options);
/* EGL import of dma-buf frames (portal-egl.c). */
struct ct_egl;
struct ct_egl *ct_egl_create(int drm_fd);
void ct_egl_destroy(struct ct_egl *egl);
/*
 * Imports buffer's first plane (XRGB8888 of width x height, modifier) as an
 * EGLImage and reads it back with GL: how many pixels differ from the
 * buffer's CPU mapping, or -1 when it cannot be imported or read.
 */
int ct_egl_compare(struct ct_egl *egl, const struct spa_buffer *buffer, uint32_t width,
	uint32_t height, uint64_t modifier);

/* The BGRx or RGBx pixels of a buffer as RGB (ct_image_finish it); false if unreadable. */
bool ct_buffer_image(const struct spa_video_info_raw *format, const struct spa_buffer *buffer,
	struct ct_image *image);
/* Disconnects (the application leaving the share) and frees everything. */
void ct_consumer_stop(struct ct_consumer *consumer);

#endif
