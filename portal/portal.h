/*
 * xdg-desktop-portal-zerocap: the ScreenCast and Screenshot backends of
 * xdg-desktop-portal for zerocap compositors, on libzerocap-client and
 * PipeWire.
 *
 * One process, one poll loop: the D-Bus connection (sd-bus), the PipeWire
 * loop and the Wayland connection (libzerocap-client).
 */
#ifndef ZCP_PORTAL_H
#define ZCP_PORTAL_H

#include <pipewire/pipewire.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <wayland-util.h>
#include "zerocap-client.h"

#define ZCP_BUS_NAME "org.freedesktop.impl.portal.desktop.zerocap"
#define ZCP_OBJECT_PATH "/org/freedesktop/portal/desktop"

/* Source types and cursor modes of the ScreenCast interface. */
#define ZCP_SOURCE_MONITOR 1u
#define ZCP_SOURCE_WINDOW 2u
#define ZCP_CURSOR_HIDDEN 1u
#define ZCP_CURSOR_EMBEDDED 2u
#define ZCP_CURSOR_METADATA 4u

struct zcp_config {
	/* What to share without asking (tests, kiosks): "output:NAME", "window:APP_ID". */
	char *choice;
	/* The user's chooser: a command that prints "output:NAME" or "window:ID". */
	char *chooser_cmd;
	double max_fps;
	/* The access prompt: granted when it exits 0; none: everything denied. */
	char *access_cmd;
	/* PickColor's picker: prints "OUTPUT X Y". */
	char *picker_cmd;
};

struct zcp_server {
	struct zcp_config config;
	sd_bus *bus;
	struct pw_loop *pw_loop;
	struct pw_context *pw_context;
	struct pw_core *pw_core;
	struct spa_hook core_listener;
	struct zcl_client *client;
	struct wl_list sessions; /* zcp_session.link */
	bool quit;
};

enum zcp_session_state {
	ZCP_SESSION_CREATED,
	ZCP_SESSION_SELECTED,
	ZCP_SESSION_STARTING,
	ZCP_SESSION_STARTED,
	ZCP_SESSION_CLOSED,
};

struct zcp_stream;

/* A ScreenCast session: what was selected, and its streams once started. */
struct zcp_session {
	struct zcp_server *server;
	struct wl_list link; /* zcp_server.sessions */
	char *path, *app_id;
	sd_bus_slot *slot;
	enum zcp_session_state state;
	uint32_t types, cursor_mode, persist_mode;
	bool multiple;
	char *restore_choice; /* from restore_data, when valid */
	struct zcp_stream *stream;
	sd_bus_message *start_reply; /* Start, waiting for the stream's node */
	char *start_choice;
};

#define ZCP_MAX_BUFFERS 8
#define ZCP_MAX_MODIFIERS 32

/* The PipeWire side of one shared target. */
struct zcp_stream {
	struct zcp_session *session;
	struct zcl_capture *capture;
	struct zcl_target *target;
	struct pw_stream *stream;
	struct spa_hook listener;
	uint32_t width, height, node_id;
	bool format_set, streaming, connected, failed;
	struct zcl_frame *pending; /* the newest frame, until process() sends it */
	uint32_t cursor_mode;
	/*
	 * PipeWire buffer i is the pool's buffer i (dma-bufs: pool_dmabuf, or
	 * memfds): held[i] while it is ours (dequeued), queued[i] the frame in
	 * it while the consumer has it.
	 */
	bool pool_dmabuf;
	bool pool_switching; /* the capture is being re-made for the consumer */
	uint64_t modifier; /* the pool's */
	/*
	 * dma-buf negotiation: offered[] are the compositor's modifiers, which
	 * the consumer chooses from (DONT_FIXATE); narrowed: the pool was
	 * re-made for the one of them a test allocation picked (accepted);
	 * fixated: the pool's modifier is offered alone, first.
	 */
	uint64_t offered[ZCP_MAX_MODIFIERS], accepted;
	size_t n_offered;
	bool narrowed;
	bool fixated;
	int n_planes;
	struct pw_buffer *buffers[ZCP_MAX_BUFFERS];
	/* The pool each PipeWire buffer was made for: frames of another go nowhere. */
	uint64_t pool_serial, buffer_pool[ZCP_MAX_BUFFERS];
	bool held[ZCP_MAX_BUFFERS];
	struct zcl_frame *queued[ZCP_MAX_BUFFERS];
	struct spa_source *retry; /* a frame waits for its buffer to come back */
	/*
	 * Explicit sync, where the device has timeline syncobjs and the consumer
	 * takes SPA_META_SyncTimeline: buffer i has an acquire and a release
	 * timeline; point[i] is the last point it was queued with, and the
	 * frame in it is released once the consumer signalled that point on
	 * the release timeline (releasing[i] until then).
	 */
	int drm_fd;
	struct zcp_timeline {
		struct spa_meta_sync_timeline *meta;
		uint32_t acquire, release; /* handles */
		int acquire_fd, release_fd;
		uint64_t point;
		bool releasing;
	} sync[ZCP_MAX_BUFFERS];
	/* Cursor mode Metadata: the cursor, sent in SPA_META_Cursor. */
	struct zcl_cursor *cursor;
	struct zcl_cursor_info cursor_info;
	bool cursor_dirty; /* moved or changed since the last buffer */
	uint64_t sequence;
	int64_t streaming_since; /* CLOCK_MONOTONIC ns: the consumer's start */
	/*
	 * Right after the consumer started or renegotiated (from its first
	 * picture until repeat_until), the newest picture is kept in buffer
	 * kept (queued[kept] stays set when it comes back) and sent again,
	 * repeats more times, unless a newer one follows.
	 */
	int kept;
	int repeats;
	bool repeat_due;
	int64_t repeat_until;
	struct spa_source *repeat;
};

void zcp_config_load(struct zcp_config *config, const char *path);
void zcp_config_finish(struct zcp_config *config);

int zcp_screencast_init(struct zcp_server *server);
void zcp_session_close(struct zcp_session *session, bool emit);
/* The stream knows its node (or failed): Start can be answered. */
void zcp_session_stream_ready(struct zcp_session *session, bool ok);

int zcp_screenshot_init(struct zcp_server *server);
int zcp_access_init(struct zcp_server *server);

/* Resolves a choice ("output:NAME", "window:KEY") to a target; NULL if none. */
struct zcl_target *zcp_find_choice(struct zcp_server *server, const char *choice);
/* The first line cmd (a shell command) prints, without its newline; malloc'd, or NULL if none. */
char *zcp_run_line(const char *cmd);
/* Asks the chooser command or takes the configured choice; malloc'd or NULL. */
char *zcp_choose(struct zcp_server *server, uint32_t types);

/* cursor_mode: ZCP_CURSOR_*. */
struct zcp_stream *zcp_stream_create(struct zcp_session *session, struct zcl_target *target,
	uint32_t cursor_mode);
void zcp_stream_destroy(struct zcp_stream *stream);

#endif
