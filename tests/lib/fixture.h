/*
 * Test fixture: runs the real reference compositor (headless, its own socket,
 * driven through --control) and connects real Wayland clients to it.
 *
 * Checks count into a per-process tally; zt_finish() prints
 * "N passed, M failed" and gives the exit status. Exit 77 means skipped.
 */
#ifndef ZT_FIXTURE_H
#define ZT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "zc-client.h"

#define ZT_MAX_EVENTS 64

struct zt_compositor {
	pid_t pid;
	int to_child; /* its stdin */
	FILE *from_child; /* its stdout */
	char socket[64];
	char reply[4096];
	char log_path[128]; /* the compositor's stderr */
	/*
	 * "event ..." lines read while waiting for replies, oldest first, without
	 * the "event " prefix; when full the oldest is dropped (events_dropped).
	 */
	char events[ZT_MAX_EVENTS][160];
	int events_first, events_len;
	unsigned events_dropped;
	char event[160]; /* the last zt_next_event() */
};

/*
 * Starts zerocap-compositor ($ZC_COMPOSITOR) with --control, a fresh socket,
 * --indicator=off (so captures show the scene alone; pass --indicator=on to
 * see the capture indicator) and the extra arguments (NULL-terminated, may be
 * NULL). The renderer is pixman unless WLR_RENDERER is set. Returns false
 * (and records a failure) when it does not come up.
 */
bool zt_compositor_start(struct zt_compositor *comp, const char *const *args);
/* Sends one control command, waits for its reply; true when it says "ok". */
bool zt_cmd(struct zt_compositor *comp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The next asynchronous "event ..." line (queued while reading replies, or
 * read now), without the "event " prefix, within timeout_ms; NULL if none.
 * The string lives in comp->event until the next call.
 */
const char *zt_next_event(struct zt_compositor *comp, int timeout_ms);
/*
 * Adds a headless output of width x height, its name to name, or removes one;
 * both record a failure when the compositor refuses.
 */
bool zt_output_add(struct zt_compositor *comp, int width, int height, char *name,
	size_t size);
void zt_output_remove(struct zt_compositor *comp, const char *name);
/* Asks it to quit; true when it exits with status 0 (sanitizers included). */
bool zt_compositor_stop(struct zt_compositor *comp);
/* True while the process runs. */
bool zt_compositor_alive(struct zt_compositor *comp);
/* Whether the compositor's log so far holds text. */
bool zt_log_contains(struct zt_compositor *comp, const char *text);
/* Lines of the compositor's log so far that hold text; -1 without a log. */
int zt_log_count(struct zt_compositor *comp, const char *text);

/* Connects a client to comp; records a failure on error. */
struct zcc_client *zt_connect(struct zt_compositor *comp);

/* Checks */
void zt_check(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define ZT_CHECK(cond, ...) zt_check((cond), __FILE__, __LINE__, __VA_ARGS__)
int zt_finish(void);
/* Prints a heading for the next group of checks. */
void zt_section(const char *name);

/* Open file descriptors of a process (pid 0: ourselves). */
int zt_count_fds(pid_t pid);
/* Memory mappings of a process whose /proc/PID/maps line contains name. */
int zt_count_maps(pid_t pid, const char *name);
/* Resident memory of a process in KiB (VmRSS), -1 when unknown. */
long zt_rss_kib(pid_t pid);

/* Expected pixels: 0xAARRGGBB of the capture for a control colour RRGGBBAA. */
uint32_t zt_rgba_to_argb(uint32_t rgba);
/*
 * Counts pixels of image inside box that differ from argb (alpha ignored for
 * formats without alpha). Returns the count; reports the first one.
 */
int zt_count_mismatch(const struct zcc_image *image, int x, int y, int w, int h,
	uint32_t argb);

#endif
