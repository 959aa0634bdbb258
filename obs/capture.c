/* The capture thread of an obs-zerocap source: obs-zerocap.h. */
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xf86drm.h>
#include <util/base.h>
#include "obs-zerocap.h"

#define RETRY_MS 1000 /* no compositor, or no target: try again this often */
#define RELEASE_POLL_MS 2 /* while a release point has not signalled */

struct ozc_thread {
	struct ozc_shared *shared;
	pthread_t thread;
	int wake_fd;
	struct ozc_config config; /* the one in use */
	struct zcl_client *client;
	struct zcl_target *target;
	struct zcl_capture *capture;
	struct zcl_cursor *cursor;
	uint64_t generation; /* of the capture: releases of older ones are stale */
	bool restart; /* the capture ended: make a new one when its target is there */
	bool use_shm; /* a dma-buf could not be imported: shm from now on */
	char last_log[256]; /* not repeated while nothing changes */
	struct ozc_pixels spare;
	uint32_t frame_width, frame_height;
	/* explicit sync: timeline syncobjs on a dup of the capture's device */
	int drm_fd;
	uint32_t acquire, release;
	uint64_t acquire_point;
	struct ozc_dmabuf waiting[OZC_MAX_RELEASES * 2];
	int n_waiting;
	uint64_t cursor_image;
	/* the cursor's last position, kept to place it again once the frame size is known */
	bool cursor_known;
	int32_t cursor_x, cursor_y, hotspot_x, hotspot_y;
};

static void log_once(struct ozc_thread *t, const char *fmt, const char *arg) {
	char line[256];
	snprintf(line, sizeof(line), fmt, arg);
	if (strcmp(line, t->last_log) != 0) {
		snprintf(t->last_log, sizeof(t->last_log), "%s", line);
		blog(LOG_INFO, "[obs-zerocap] %s", line);
	}
}

void ozc_swap_pixels(struct ozc_pixels *a, struct ozc_pixels *b) {
	struct ozc_pixels tmp = *a;
	*a = *b;
	*b = tmp;
}

/* ---- targets ---- */

static const char *target_key(struct zcl_target *target) {
	const char *app_id = zcl_target_get_app_id(target);
	return zcl_target_get_type(target) == ZCL_TARGET_WINDOW && app_id[0] != '\0' ? app_id :
		zcl_target_get_name(target);
}

/* The targets for the properties' list, without gone (about to be removed). */
static void publish_targets(struct ozc_thread *t, struct zcl_target *gone) {
	struct ozc_shared *shared = t->shared;
	pthread_mutex_lock(&shared->lock);
	shared->n_targets = 0;
	size_t count = t->client != NULL ? zcl_client_target_count(t->client) : 0;
	for (size_t i = 0; i < count && shared->n_targets < OZC_MAX_TARGETS; i++) {
		struct zcl_target *target = zcl_client_target_at(t->client, i);
		if (target == gone) {
			continue;
		}
		struct ozc_target_entry *entry = &shared->targets[shared->n_targets++];
		entry->window = zcl_target_get_type(target) == ZCL_TARGET_WINDOW;
		snprintf(entry->key, sizeof(entry->key), "%s", target_key(target));
		snprintf(entry->label, sizeof(entry->label), "%s (%s)", zcl_target_get_title(target),
			target_key(target));
	}
	pthread_mutex_unlock(&shared->lock);
}

static void handle_target_added(void *data, struct zcl_target *target) {
	publish_targets(data, NULL);
}

static void handle_target_removed(void *data, struct zcl_target *target) {
	struct ozc_thread *t = data;
	if (target == t->target) {
		t->target = NULL;
		t->restart = true;
	}
	publish_targets(t, target);
}

static const struct zcl_client_listener client_listener = {
	.target_added = handle_target_added,
	.target_changed = handle_target_added,
	.target_removed = handle_target_removed,
};

static struct zcl_target *find_target(struct ozc_thread *t) {
	bool window = t->config.kind == OZC_WINDOW;
	if (t->config.target[0] != '\0') {
		struct zcl_target *target = zcl_client_find_target(t->client, t->config.target);
		return target != NULL && (zcl_target_get_type(target) == ZCL_TARGET_WINDOW) == window ?
			target : NULL;
	}
	for (size_t i = 0; i < zcl_client_target_count(t->client); i++) {
		struct zcl_target *target = zcl_client_target_at(t->client, i);
		if ((zcl_target_get_type(target) == ZCL_TARGET_WINDOW) == window) {
			return target;
		}
	}
	return NULL;
}

/* ---- explicit sync ---- */

static void sync_finish(struct ozc_thread *t) {
	pthread_mutex_lock(&t->shared->lock);
	int fds[2] = {t->shared->acquire_fd, t->shared->release_fd};
	t->shared->acquire_fd = t->shared->release_fd = -1;
	pthread_mutex_unlock(&t->shared->lock);
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	if (t->drm_fd >= 0) {
		drmSyncobjDestroy(t->drm_fd, t->acquire);
		drmSyncobjDestroy(t->drm_fd, t->release);
		close(t->drm_fd);
		t->drm_fd = -1;
	}
}

/* Timelines on the capture's device, once, where it has them. */
static void sync_init(struct ozc_thread *t) {
	int device = zcl_capture_get_device_fd(t->capture);
	uint64_t timeline = 0;
	if (t->drm_fd >= 0 || device < 0 || drmGetCap(device, DRM_CAP_SYNCOBJ_TIMELINE,
			&timeline) != 0 || timeline == 0) {
		return;
	}
	t->drm_fd = fcntl(device, F_DUPFD_CLOEXEC, 0);
	int acquire_fd = -1, release_fd = -1;
	bool ok = t->drm_fd >= 0 && drmSyncobjCreate(t->drm_fd, 0, &t->acquire) == 0 &&
		drmSyncobjCreate(t->drm_fd, 0, &t->release) == 0 &&
		drmSyncobjHandleToFD(t->drm_fd, t->acquire, &acquire_fd) == 0 &&
		drmSyncobjHandleToFD(t->drm_fd, t->release, &release_fd) == 0;
	if (!ok) {
		blog(LOG_INFO, "[obs-zerocap] no timeline syncobjs: implicit sync");
		if (acquire_fd >= 0) {
			close(acquire_fd);
		}
		sync_finish(t);
		return;
	}
	pthread_mutex_lock(&t->shared->lock);
	t->shared->acquire_fd = acquire_fd;
	t->shared->release_fd = release_fd;
	pthread_mutex_unlock(&t->shared->lock);
	blog(LOG_INFO, "[obs-zerocap] explicit sync on timeline syncobjs");
}

/* The frame's sync_file as the next point of the acquire timeline; 0 if none. */
static uint64_t sync_acquire(struct ozc_thread *t, int sync_fd) {
	uint32_t binary = 0;
	if (t->drm_fd < 0 || sync_fd < 0 || drmSyncobjCreate(t->drm_fd, 0, &binary) != 0) {
		return 0;
	}
	bool ok = drmSyncobjImportSyncFile(t->drm_fd, binary, sync_fd) == 0 &&
		drmSyncobjTransfer(t->drm_fd, t->acquire, t->acquire_point + 1, binary, 0, 0) == 0;
	drmSyncobjDestroy(t->drm_fd, binary);
	return ok ? ++t->acquire_point : 0;
}

static bool released(struct ozc_thread *t, uint64_t point) {
	if (point == 0 || t->drm_fd < 0) {
		return true;
	}
	/* An absolute timeout of 0 has passed: this only looks. */
	return drmSyncobjTimelineWait(t->drm_fd, &t->release, &point, 1, 0,
		DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL) == 0;
}

/* Releases what the graphics side gave back once its GPU reads are done; true if some wait. */
static bool process_releases(struct ozc_thread *t) {
	pthread_mutex_lock(&t->shared->lock);
	for (int i = 0; i < t->shared->n_releases; i++) {
		if (t->n_waiting < (int)(sizeof(t->waiting) / sizeof(t->waiting[0]))) {
			t->waiting[t->n_waiting++] = t->shared->releases[i];
		}
	}
	t->shared->n_releases = 0;
	if (t->shared->dmabuf_failed && !t->use_shm) {
		t->use_shm = true;
		t->restart = true;
	}
	pthread_mutex_unlock(&t->shared->lock);
	int kept = 0;
	for (int i = 0; i < t->n_waiting; i++) {
		struct ozc_dmabuf *d = &t->waiting[i];
		if (d->generation != t->generation || t->capture == NULL) {
			continue; /* its capture is gone, and released it */
		}
		if (released(t, d->release_point)) {
			zcl_frame_release(d->frame);
		} else {
			t->waiting[kept++] = *d;
		}
	}
	t->n_waiting = kept;
	return kept > 0;
}

/* ---- the capture ---- */

static void copy_pixels(struct ozc_thread *t, const struct zcl_frame_info *info) {
	struct ozc_pixels *p = &t->spare;
	size_t row = (size_t)info->width * 4, size = row * info->height;
	if (p->size < size) {
		uint8_t *data = realloc(p->data, size);
		if (data == NULL) {
			return;
		}
		p->data = data;
		p->size = size;
	}
	const uint8_t *src = (const uint8_t *)info->data + info->offsets[0];
	for (uint32_t y = 0; y < info->height; y++) {
		memcpy(p->data + row * y, src + (size_t)info->strides[0] * y, row);
	}
	p->width = info->width;
	p->height = info->height;
	p->stride = (uint32_t)row;
	p->format = info->format;
	pthread_mutex_lock(&t->shared->lock);
	ozc_swap_pixels(&t->shared->ready, p);
	t->shared->ready_serial++;
	pthread_mutex_unlock(&t->shared->lock);
}

static void place_cursor(struct ozc_thread *t);

static void handle_frame(void *data, struct zcl_frame *frame) {
	struct ozc_thread *t = data;
	const struct zcl_frame_info *info = zcl_frame_get_info(frame);
	if (info->width != t->frame_width || info->height != t->frame_height) {
		t->frame_width = info->width;
		t->frame_height = info->height;
		/* A cursor placed before the first frame (dma-bufs come later) was not scaled. */
		place_cursor(t);
	}
	if (info->sequence == 0) {
		log_once(t, "frames in %s", info->dmabuf ? "dma-bufs" : "shm");
	}
	if (!info->dmabuf) {
		copy_pixels(t, info);
		zcl_frame_release(frame);
		return;
	}
	sync_init(t);
	struct ozc_dmabuf next = {
		.frame = frame, .info = *info, .generation = t->generation,
		.acquire_point = sync_acquire(t, info->sync_fd),
	};
	pthread_mutex_lock(&t->shared->lock);
	struct ozc_dmabuf old = t->shared->pending;
	t->shared->pending = next;
	pthread_mutex_unlock(&t->shared->lock);
	if (old.frame != NULL && old.generation == t->generation) {
		zcl_frame_release(old.frame); /* never imported */
	}
}

static void handle_stopped(void *data) {
	struct ozc_thread *t = data;
	log_once(t, "the capture of %s stopped", t->target != NULL ? target_key(t->target) :
		"its target");
	t->restart = true;
}

static void handle_failed(void *data, enum zcl_error error, const char *why) {
	struct ozc_thread *t = data;
	log_once(t, "the capture failed: %s", why != NULL ? why : zcl_error_str(error));
	t->restart = true;
}

static const struct zcl_capture_listener capture_listener = {
	.frame = handle_frame,
	.stopped = handle_stopped,
	.failed = handle_failed,
};

/*
 * The cursor in frame pixels: the target's image offset by the region,
 * scaled as the frames. Called with the lock held.
 */
static void place_cursor_locked(struct ozc_thread *t) {
	struct ozc_config *c = &t->config;
	int32_t src_w = c->kind == OZC_REGION ? c->width : 0, src_h = c->kind == OZC_REGION ?
		c->height : 0;
	if (src_w <= 0 && t->target != NULL) {
		zcl_target_get_size(t->target, &src_w, &src_h);
	}
	double sx = src_w > 0 && t->frame_width > 0 ? (double)t->frame_width / src_w : 1;
	double sy = src_h > 0 && t->frame_height > 0 ? (double)t->frame_height / src_h : 1;
	int32_t ox = c->kind == OZC_REGION ? c->x : 0, oy = c->kind == OZC_REGION ? c->y : 0;
	struct ozc_cursor *cursor = &t->shared->cursor;
	cursor->x = (int32_t)((t->cursor_x - t->hotspot_x - ox) * sx);
	cursor->y = (int32_t)((t->cursor_y - t->hotspot_y - oy) * sy);
}

static void place_cursor(struct ozc_thread *t) {
	if (!t->cursor_known) {
		return;
	}
	pthread_mutex_lock(&t->shared->lock);
	place_cursor_locked(t);
	pthread_mutex_unlock(&t->shared->lock);
}

static void handle_cursor(void *data, const struct zcl_cursor_info *info) {
	struct ozc_thread *t = data;
	struct ozc_cursor *cursor = &t->shared->cursor;
	t->cursor_known = true;
	t->cursor_x = info->x;
	t->cursor_y = info->y;
	t->hotspot_x = info->hotspot_x;
	t->hotspot_y = info->hotspot_y;
	pthread_mutex_lock(&t->shared->lock);
	cursor->inside = info->inside && info->pixels != NULL;
	place_cursor_locked(t);
	if (info->pixels != NULL && info->image_serial != t->cursor_image) {
		size_t size = (size_t)info->width * info->height * 4;
		uint8_t *pixels = realloc(cursor->pixels, size > 0 ? size : 4);
		if (pixels != NULL) {
			for (uint32_t y = 0; y < info->height; y++) {
				memcpy(pixels + (size_t)y * info->width * 4,
					(const uint8_t *)info->pixels + (size_t)y * info->stride,
					(size_t)info->width * 4);
			}
			cursor->pixels = pixels;
			cursor->width = info->width;
			cursor->height = info->height;
			cursor->serial++;
			t->cursor_image = info->image_serial;
		}
	}
	pthread_mutex_unlock(&t->shared->lock);
}

static void handle_cursor_stopped(void *data) {
	struct ozc_thread *t = data;
	pthread_mutex_lock(&t->shared->lock);
	t->shared->cursor.inside = false;
	pthread_mutex_unlock(&t->shared->lock);
}

static const struct zcl_cursor_listener cursor_listener = {
	.changed = handle_cursor,
	.stopped = handle_cursor_stopped,
};

static void stop_capture(struct ozc_thread *t) {
	zcl_cursor_destroy(t->cursor);
	t->cursor = NULL;
	t->cursor_known = false;
	t->frame_width = t->frame_height = 0;
	if (t->capture == NULL) {
		return;
	}
	pthread_mutex_lock(&t->shared->lock);
	t->shared->pending.frame = NULL; /* released with the capture */
	t->shared->cursor.inside = false;
	pthread_mutex_unlock(&t->shared->lock);
	zcl_capture_destroy(t->capture);
	t->capture = NULL;
	t->n_waiting = 0;
	t->generation++;
}

static void start_capture(struct ozc_thread *t) {
	t->target = find_target(t);
	if (t->target == NULL) {
		log_once(t, "waiting for %s to appear", t->config.target[0] != '\0' ?
			t->config.target : t->config.kind == OZC_WINDOW ? "a window" : "an output");
		return;
	}
	const struct zcl_format_modifiers importable[] = {
		{DRM_FORMAT_XRGB8888, t->shared->modifiers, t->shared->n_modifiers},
		{DRM_FORMAT_ARGB8888, t->shared->modifiers, t->shared->n_modifiers},
	};
	bool dmabuf = t->shared->dmabuf && !t->use_shm;
	struct zcl_capture_options options = {
		.has_region = t->config.kind == OZC_REGION,
		.x = t->config.x, .y = t->config.y,
		.width = t->config.width, .height = t->config.height,
		.out_width = t->config.out_width, .out_height = t->config.out_height,
		.max_fps = t->config.max_fps,
		.buffers = dmabuf ? ZCL_BUFFERS_AUTO : ZCL_BUFFERS_SHM,
		.importable = dmabuf ? importable : NULL,
		.n_importable = dmabuf ? 2 : 0,
	};
	t->restart = false;
	t->capture = zcl_capture_create(t->client, t->target, &options, &capture_listener, t, NULL);
	if (t->capture == NULL) {
		log_once(t, "cannot capture: %s", zcl_client_last_error(t->client));
		return;
	}
	t->cursor = zcl_cursor_create(t->client, t->target, &cursor_listener, t, NULL);
	log_once(t, "capturing %s", target_key(t->target));
}

static void disconnect(struct ozc_thread *t) {
	stop_capture(t);
	zcl_client_destroy(t->client);
	t->client = NULL;
	t->target = NULL;
	publish_targets(t, NULL);
	pthread_mutex_lock(&t->shared->lock);
	t->shared->connected = false;
	pthread_mutex_unlock(&t->shared->lock);
}

static void connect_client(struct ozc_thread *t) {
	const char *display = t->config.display[0] != '\0' ? t->config.display : NULL;
	t->client = zcl_client_connect(display, &client_listener, t);
	if (t->client == NULL) {
		log_once(t, "no compositor at %s: trying again every second",
			display != NULL ? display : "$WAYLAND_DISPLAY");
		return;
	}
	log_once(t, "connected to %s", display != NULL ? display : "$WAYLAND_DISPLAY");
	pthread_mutex_lock(&t->shared->lock);
	t->shared->connected = true;
	pthread_mutex_unlock(&t->shared->lock);
}

/* Takes a new config; false when told to quit. */
static bool read_config(struct ozc_thread *t) {
	pthread_mutex_lock(&t->shared->lock);
	bool quit = t->shared->quit, changed = t->shared->config_changed;
	struct ozc_config config = t->shared->config;
	t->shared->config_changed = false;
	pthread_mutex_unlock(&t->shared->lock);
	if (quit || !changed) {
		return !quit;
	}
	if (strcmp(config.display, t->config.display) != 0) {
		disconnect(t);
	} else {
		stop_capture(t);
	}
	t->config = config;
	t->last_log[0] = '\0';
	return true;
}

static void *run(void *data) {
	struct ozc_thread *t = data;
	while (read_config(t)) {
		if (t->client == NULL) {
			connect_client(t);
		}
		if (t->restart) {
			stop_capture(t);
		}
		if (t->client != NULL && t->capture == NULL && zcl_client_ready(t->client)) {
			start_capture(t);
		}
		bool waiting = process_releases(t);
		struct pollfd fds[2] = {
			{.fd = t->wake_fd, .events = POLLIN},
			{.fd = t->client != NULL ? zcl_client_get_fd(t->client) : -1, .events = POLLIN},
		};
		int timeout = waiting ? RELEASE_POLL_MS :
			t->client == NULL || t->capture == NULL || t->restart ? RETRY_MS : -1;
		if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
			break;
		}
		if (fds[0].revents & POLLIN) {
			uint64_t count;
			if (read(t->wake_fd, &count, sizeof(count)) < 0) {
				continue;
			}
		}
		if (t->client != NULL && zcl_client_dispatch(t->client) < 0) {
			log_once(t, "the compositor went away (%s): connecting again",
				zcl_client_last_error(t->client));
			disconnect(t);
		}
	}
	disconnect(t);
	sync_finish(t);
	free(t->spare.data);
	t->spare = (struct ozc_pixels){0};
	return NULL;
}

struct ozc_thread *ozc_thread_start(struct ozc_shared *shared) {
	struct ozc_thread *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	t->shared = shared;
	t->drm_fd = -1;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_lock(&shared->lock);
	t->config = shared->config;
	shared->config_changed = false;
	pthread_mutex_unlock(&shared->lock);
	if (t->wake_fd < 0 || pthread_create(&t->thread, NULL, run, t) != 0) {
		if (t->wake_fd >= 0) {
			close(t->wake_fd);
		}
		free(t);
		return NULL;
	}
	return t;
}

void ozc_thread_wake(struct ozc_thread *thread) {
	uint64_t one = 1;
	if (thread != NULL && write(thread->wake_fd, &one, sizeof(one)) < 0) {
		blog(LOG_WARNING, "[obs-zerocap] cannot wake the capture thread");
	}
}

void ozc_thread_stop(struct ozc_thread *thread) {
	if (thread == NULL) {
		return;
	}
	pthread_mutex_lock(&thread->shared->lock);
	thread->shared->quit = true;
	pthread_mutex_unlock(&thread->shared->lock);
	ozc_thread_wake(thread);
	pthread_join(thread->thread, NULL);
	close(thread->wake_fd);
	free(thread);
}
