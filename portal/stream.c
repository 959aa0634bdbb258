/*
 * A PipeWire video source fed by a libzerocap-client capture.
 *
 * The stream is the driver: a new capture frame triggers one graph cycle,
 * and process() hands the frame to the consumer with its presentation time
 * and damage in metas. No pixel is copied: the PipeWire buffers are the
 * capture's own pool, buffer i being the pool's buffer i. A frame is queued
 * in its buffer as it is; the frame is released (and the compositor may
 * write that buffer again) only when the consumer has given the buffer
 * back. By what the consumer takes:
 *
 * - dma-bufs: when the compositor offers them, an EnumFormat carries every
 *   modifier it offers (DONT_FIXATE), and the consumer's choice settles
 *   the pool: the pool's own modifier where the consumer takes it, else a
 *   pool re-made for what it takes (negotiate_modifier); that modifier is
 *   then offered alone, first, and fixated. A consumer that cannot import
 *   the buffers drops their modifier, and the same happens again with
 *   what it has left. The compositor's `ready` comes after
 *   its GPU finished, so the consumer reads a complete picture (implicit
 *   sync). Where the device has timeline syncobjs and the consumer takes
 *   SPA_META_SyncTimeline, every buffer also carries an acquire and a
 *   release timeline (explicit sync): the acquire point is the frame's
 *   fence (its sync_file), and the buffer is written again only after the
 *   consumer signalled the release point.
 * - shm (memfds, BGRx): a consumer that takes the format without a
 *   modifier makes the capture use shm buffers (it is re-made once, if it
 *   had dma-bufs), and so does a pool that cannot be made with the
 *   modifiers a consumer takes.
 *
 * In cursor mode Metadata a cursor of libzerocap-client follows the
 * pointer, and every buffer says where it is and what it looks like
 * (SPA_META_Cursor with its bitmap); a cursor that moves over a still picture sends a
 * buffer with no pixels (chunk size 0) and only the cursor, as consumers
 * such as OBS expect. The stream is created once the capture knows its
 * size; its node id answers Start. Consumers that hold every buffer cost a
 * frame now and then, nothing else: the capture goes on and the newest
 * frame waits for a free buffer.
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <spa/buffer/meta.h>
#include <spa/param/buffers.h>
#include <spa/param/video/format-utils.h>
#include <spa/utils/result.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include "portal.h"

/* PipeWire before 1.6 has no such flag: every consumer signals the release point. */
#ifndef SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE
#define SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE 0
#endif

#define POOL_BUFFERS 6 /* the capture's pool: the PipeWire buffers in dma-buf mode */
#define MAX_DAMAGE 16
/* The cursor meta's size for a bitmap of w x h (BGRA). */
#define CURSOR_META_SIZE(w, h) ((int32_t)(sizeof(struct spa_meta_cursor) + \
	sizeof(struct spa_meta_bitmap) + (size_t)(w) * (h) * 4))
/* How soon a frame whose buffer is still with the consumer is tried again. */
#define RETRY_NS (2 * SPA_NSEC_PER_MSEC)
/*
 * PipeWire can lose the buffers a driver queues as a consumer starts or
 * renegotiates (1.4 does: the consumer never dequeues them), and a still
 * picture sends no other. So from the first picture after that on, for
 * REPEAT_WINDOW_NS, the newest picture is kept and sent again REPEAT_NS
 * after it, up to REPEATS times, unless a newer one follows.
 */
#define REPEATS 3
#define REPEAT_NS (150 * SPA_NSEC_PER_MSEC)
#define REPEAT_WINDOW_NS (1000 * SPA_NSEC_PER_MSEC)

static int64_t monotonic_ns(void) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * SPA_NSEC_PER_SEC + now.tv_nsec;
}

static uint32_t frame_stride(uint32_t width) {
	return width * 4;
}

enum format_kind {
	FORMAT_SHM,
	FORMAT_FIXATED, /* the pool's modifier alone */
	FORMAT_CHOICE, /* every modifier the compositor offers, for the consumer to choose */
};

/* An EnumFormat for the stream's size. */
static const struct spa_pod *format_param(struct spa_pod_builder *b,
		const struct zcp_stream *stream, enum format_kind kind) {
	double max_fps = stream->session->server->config.max_fps;
	uint32_t fps = max_fps > 0 ? (uint32_t)(max_fps + 0.5) : 60;
	struct spa_pod_frame f;
	spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
	spa_pod_builder_add(b,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(3, SPA_VIDEO_FORMAT_BGRx,
			SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRA),
		SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&SPA_RECTANGLE(stream->width,
			stream->height)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(0, 1)),
		SPA_FORMAT_VIDEO_maxFramerate, SPA_POD_CHOICE_RANGE_Fraction(
			&SPA_FRACTION(fps, 1), &SPA_FRACTION(1, 1), &SPA_FRACTION(fps, 1)),
		0);
	if (kind == FORMAT_FIXATED) {
		spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY);
		spa_pod_builder_long(b, (int64_t)stream->modifier);
	} else if (kind == FORMAT_CHOICE) {
		spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier,
			SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
		struct spa_pod_frame choice;
		spa_pod_builder_push_choice(b, &choice, SPA_CHOICE_Enum, 0);
		/* The default first: the pool's modifier, which needs no new pool. */
		spa_pod_builder_long(b, (int64_t)stream->modifier);
		for (size_t i = 0; i < stream->n_offered; i++) {
			spa_pod_builder_long(b, (int64_t)stream->offered[i]);
		}
		spa_pod_builder_pop(b, &choice);
	}
	return spa_pod_builder_pop(b, &f);
}

/*
 * Offers the formats: where the compositor has dma-bufs, the pool's
 * modifier alone once a consumer chose it, and every modifier the
 * compositor offers; then shm.
 */
static void announce(struct zcp_stream *stream, bool connect) {
	uint8_t storage[4096];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof(storage));
	const struct spa_pod *params[3];
	uint32_t n = 0;
	if (stream->pool_dmabuf && stream->fixated) {
		params[n++] = format_param(&b, stream, FORMAT_FIXATED);
	}
	if (stream->pool_dmabuf && stream->n_offered > 0) {
		params[n++] = format_param(&b, stream, FORMAT_CHOICE);
	}
	params[n++] = format_param(&b, stream, FORMAT_SHM);
	if (!connect) {
		pw_stream_update_params(stream->stream, params, n);
		return;
	}
	int ret = pw_stream_connect(stream->stream, PW_DIRECTION_OUTPUT, PW_ID_ANY,
		PW_STREAM_FLAG_DRIVER | PW_STREAM_FLAG_ALLOC_BUFFERS, params, n);
	if (ret < 0) {
		fprintf(stderr, "zerocap-portal: cannot connect a stream: %s\n", spa_strerror(ret));
		return;
	}
	stream->connected = true;
}

/* The kept picture is not kept any longer: the library may write its buffer again. */
static void kept_release(struct zcp_stream *stream) {
	int i = stream->kept;
	stream->kept = -1;
	if (i >= 0 && stream->held[i] && stream->queued[i] != NULL) {
		zcl_frame_release(stream->queued[i]);
		stream->queued[i] = NULL;
	}
}

static void repeats_end(struct zcp_stream *stream) {
	kept_release(stream);
	stream->repeats = 0;
	stream->repeat_due = false;
}

/* A consumer starts or renegotiates: its first pictures are sent again. */
static void repeats_arm(struct zcp_stream *stream) {
	repeats_end(stream);
	stream->repeats = REPEATS;
	stream->repeat_until = 0; /* set by the first picture */
}

static void repeat_later(struct zcp_stream *stream) {
	struct timespec later = {0, REPEAT_NS};
	pw_loop_update_timer(stream->session->server->pw_loop, stream->repeat, &later, NULL,
		false);
}

static void handle_state_changed(void *data, enum pw_stream_state old,
		enum pw_stream_state state, const char *error) {
	struct zcp_stream *stream = data;
	fprintf(stderr, "zerocap-portal: stream %s -> %s%s%s\n", pw_stream_state_as_string(old),
		pw_stream_state_as_string(state), error ? ": " : "", error ? error : "");
	bool was_streaming = stream->streaming;
	stream->streaming = state == PW_STREAM_STATE_STREAMING;
	if (stream->streaming && !was_streaming) {
		/* A new consumer needs the cursor at once. */
		stream->cursor_dirty = stream->cursor != NULL;
		stream->streaming_since = monotonic_ns();
		repeats_arm(stream);
	}
	if (state == PW_STREAM_STATE_PAUSED && stream->node_id == SPA_ID_INVALID) {
		stream->node_id = pw_stream_get_node_id(stream->stream);
		zcp_session_stream_ready(stream->session, stream->node_id != SPA_ID_INVALID);
	} else if (state == PW_STREAM_STATE_ERROR) {
		stream->failed = true;
		if (stream->node_id == SPA_ID_INVALID) {
			zcp_session_stream_ready(stream->session, false);
		}
	}
	if (stream->streaming) {
		/* A consumer is here: give it the current picture at once. */
		pw_stream_trigger_process(stream->stream);
	}
}

static bool capture_start(struct zcp_stream *stream, enum zcl_buffers buffers);

/*
 * The DRM device the timelines live on: the capture's, held by the stream
 * (a re-made capture closes its own, while old buffers' timelines remain).
 */
static int stream_device(struct zcp_stream *stream) {
	int fd = zcl_capture_get_device_fd(stream->capture);
	if (stream->drm_fd < 0 && fd >= 0) {
		stream->drm_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	}
	return stream->drm_fd;
}

/* Whether buffers can carry timeline syncobjs of the capture's device. */
static bool timelines_supported(int drm_fd) {
	uint64_t cap = 0;
	return drm_fd >= 0 && drmGetCap(drm_fd, DRM_CAP_SYNCOBJ_TIMELINE, &cap) == 0 && cap != 0;
}

/* A Buffers param: n buffers of the pool's layout (dma-bufs with timelines: two blocks more). */
static const struct spa_pod *buffers_param(struct spa_pod_builder *b,
		const struct zcl_frame_info *info, int n, bool timelines) {
	struct spa_pod_frame f;
	spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers);
	spa_pod_builder_add(b,
		SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(n, n, n),
		SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(info->n_planes + (timelines ? 2 : 0)),
		SPA_PARAM_BUFFERS_size, SPA_POD_Int(info->strides[0] * info->height),
		SPA_PARAM_BUFFERS_stride, SPA_POD_Int(info->strides[0]),
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(1 << (info->dmabuf ?
			SPA_DATA_DmaBuf : SPA_DATA_MemFd)),
		0);
	if (timelines) {
		/* Only when the consumer took the SyncTimeline meta too. */
		spa_pod_builder_prop(b, SPA_PARAM_BUFFERS_metaType, SPA_POD_PROP_FLAG_MANDATORY);
		spa_pod_builder_int(b, 1 << SPA_META_SyncTimeline);
	}
	return spa_pod_builder_pop(b, &f);
}

/* A Meta param: of size, or (min != max) of size within min..max. */
static const struct spa_pod *meta_param(struct spa_pod_builder *b, uint32_t type, int32_t size,
		int32_t min, int32_t max) {
	if (min == max) {
		return spa_pod_builder_add_object(b, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
			SPA_PARAM_META_type, SPA_POD_Id(type),
			SPA_PARAM_META_size, SPA_POD_Int(size));
	}
	return spa_pod_builder_add_object(b, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(type),
		SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int(size, min, max));
}

/*
 * Buffers and metas for the negotiated format: the pool's own buffers,
 * dma-bufs (with timelines first where they can be) or memfds.
 */
static void send_buffer_params(struct zcp_stream *stream) {
	uint8_t storage[2048];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof(storage));
	const struct spa_pod *params[8];
	uint32_t n = 0;
	struct zcl_frame_info info;
	if (stream->capture == NULL) {
		return; /* it could not be re-made: the stream stays without buffers */
	}
	int count = zcl_capture_get_buffer_count(stream->capture);
	if (count > ZCP_MAX_BUFFERS || !zcl_capture_get_buffer(stream->capture, 0, &info)) {
		return; /* the pool is being re-made: its constraints call this again */
	}
	if (info.dmabuf && timelines_supported(stream_device(stream))) {
		params[n++] = buffers_param(&b, &info, count, true);
		params[n++] = meta_param(&b, SPA_META_SyncTimeline,
			sizeof(struct spa_meta_sync_timeline), 0, 0);
	}
	params[n++] = buffers_param(&b, &info, count, false);
	params[n++] = meta_param(&b, SPA_META_Header, sizeof(struct spa_meta_header), 0, 0);
	params[n++] = meta_param(&b, SPA_META_VideoDamage,
		sizeof(struct spa_meta_region) * MAX_DAMAGE, sizeof(struct spa_meta_region),
		sizeof(struct spa_meta_region) * MAX_DAMAGE);
	if (stream->cursor != NULL) {
		params[n++] = meta_param(&b, SPA_META_Cursor, CURSOR_META_SIZE(64, 64),
			CURSOR_META_SIZE(1, 1), CURSOR_META_SIZE(256, 256));
	}
	pw_stream_update_params(stream->stream, params, n);
}

static bool has_modifier(const uint64_t *mods, size_t n, uint64_t modifier) {
	for (size_t i = 0; i < n; i++) {
		if (mods[i] == modifier) {
			return true;
		}
	}
	return false;
}

/* The modifiers a Format's modifier property leaves (one, or a choice), at most max. */
static size_t modifier_values(const struct spa_pod_prop *prop, uint64_t *mods, size_t max) {
	uint32_t n_values = 0, choice = 0;
	const struct spa_pod *value = spa_pod_get_values(&prop->value, &n_values, &choice);
	if (value == NULL || value->type != SPA_TYPE_Long || value->size != sizeof(int64_t)) {
		return 0;
	}
	const int64_t *values = SPA_POD_BODY_CONST(value);
	size_t n = 0;
	/* An enum's first value is its default, one of the others. */
	for (uint32_t i = choice == SPA_CHOICE_Enum && n_values > 1; i < n_values && n < max; i++) {
		if (!has_modifier(mods, n, (uint64_t)values[i])) {
			mods[n++] = (uint64_t)values[i];
		}
	}
	return n;
}

/*
 * Re-makes the capture into buffers the consumer takes: shm, or dma-bufs
 * with the modifier in accepted. The new pool's constraints
 * announce the formats anew, and that renegotiation makes PipeWire
 * allocate its buffers again, for the new pool.
 */
static void capture_remake(struct zcp_stream *stream, enum zcl_buffers buffers) {
	/* Its frames go with it, held ones too. */
	stream->pending = NULL;
	for (int i = 0; i < ZCP_MAX_BUFFERS; i++) {
		stream->queued[i] = NULL;
	}
	zcl_capture_destroy(stream->capture);
	stream->capture = NULL;
	stream->pool_switching = true;
	if (!capture_start(stream, buffers)) {
		stream->failed = true;
	}
}

/*
 * The consumer's dma-buf format. With DONT_FIXATE its modifiers are still
 * a choice: the pool's own modifier when the choice has it, else a pool
 * made for the choice (GBM allocates with one of them: the test
 * allocation), is then offered alone, first, for the consumer to fixate.
 * A consumer that cannot import the buffers it got drops their modifier
 * from its formats, which brings its narrower choice here again.
 */
static void negotiate_modifier(struct zcp_stream *stream, const struct spa_pod_prop *prop) {
	uint64_t chosen[ZCP_MAX_MODIFIERS];
	size_t n = modifier_values(prop, chosen, ZCP_MAX_MODIFIERS);
	if (n == 0) {
		fprintf(stderr, "zerocap-portal: the consumer's format has no modifier it can take\n");
		return;
	}
	if (has_modifier(chosen, n, stream->modifier)) {
		if ((prop->flags & SPA_POD_PROP_FLAG_DONT_FIXATE) == 0) {
			send_buffer_params(stream); /* fixated on the pool's modifier */
			return;
		}
		stream->fixated = true;
		stream->format_set = false; /* no buffers until it is fixated */
		announce(stream, false); /* the consumer fixates the pool's modifier */
		return;
	}
	/*
	 * The new modifier is offered at once: PipeWire allocates buffers for
	 * a format that is left unfixated, which the stream then refuses.
	 */
	uint64_t picked;
	if (!zcl_capture_test_modifiers(stream->capture, DRM_FORMAT_XRGB8888, chosen, n, &picked)) {
		fprintf(stderr, "zerocap-portal: no dma-buf can be made with the %zu modifier(s) "
			"the consumer takes: capturing into shm\n", n);
		stream->narrowed = false;
		stream->fixated = false;
		stream->pool_dmabuf = false; /* offers shm alone from now on */
		capture_remake(stream, ZCL_BUFFERS_SHM);
		announce(stream, false);
		return;
	}
	fprintf(stderr, "zerocap-portal: the consumer takes %zu modifier(s), not the pool's "
		"0x%llx: re-making the pool with 0x%llx\n", n, (unsigned long long)stream->modifier,
		(unsigned long long)picked);
	stream->accepted = picked;
	stream->narrowed = true;
	stream->modifier = picked;
	stream->fixated = true;
	stream->format_set = false; /* the new pool's buffers come once it is fixated */
	capture_remake(stream, ZCL_BUFFERS_DMABUF);
	announce(stream, false);
}

static void handle_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
	struct zcp_stream *stream = data;
	if (id != SPA_PARAM_Format || param == NULL) {
		return;
	}
	stream->format_set = true;
	repeats_arm(stream);
	const struct spa_pod_prop *modifier = spa_pod_find_prop(param, NULL,
		SPA_FORMAT_VIDEO_modifier);
	if (modifier != NULL && stream->pool_dmabuf && !stream->pool_switching) {
		negotiate_modifier(stream, modifier);
		return;
	}
	struct spa_video_info_raw info;
	if (modifier != NULL || spa_format_video_raw_parse(param, &info) < 0) {
		return; /* a dma-buf format while the pool is re-made: a renegotiation follows */
	}
	if (stream->pool_dmabuf && !stream->pool_switching) {
		/* The consumer takes shm only: the capture moves to shm buffers. */
		fprintf(stderr, "zerocap-portal: the consumer takes no dma-bufs: capturing into "
			"shm\n");
		/* pool_dmabuf stays set until the shm pool's constraints come. */
		capture_remake(stream, ZCL_BUFFERS_SHM);
		return;
	}
	send_buffer_params(stream);
}

/* Buffer i's acquire and release timelines, in the two blocks after its planes. */
static void timeline_make(struct zcp_stream *stream, int i, struct spa_meta_sync_timeline *meta,
		struct spa_data *blocks) {
	struct zcp_timeline *t = &stream->sync[i];
	memset(t, 0, sizeof(*t));
	t->acquire_fd = t->release_fd = -1;
	if (drmSyncobjCreate(stream->drm_fd, 0, &t->acquire) != 0 ||
			drmSyncobjCreate(stream->drm_fd, 0, &t->release) != 0 ||
			drmSyncobjHandleToFD(stream->drm_fd, t->acquire, &t->acquire_fd) != 0 ||
			drmSyncobjHandleToFD(stream->drm_fd, t->release, &t->release_fd) != 0) {
		fprintf(stderr, "zerocap-portal: cannot make timeline syncobjs: %s\n", strerror(errno));
		return; /* the consumer waits on nothing: it sees no points */
	}
	int fds[2] = {t->acquire_fd, t->release_fd};
	for (int k = 0; k < 2; k++) {
		blocks[k].type = SPA_DATA_SyncObj;
		blocks[k].flags = SPA_DATA_FLAG_READABLE;
		blocks[k].fd = fds[k];
		blocks[k].mapoffset = 0;
		blocks[k].maxsize = 0;
		blocks[k].data = NULL;
	}
	t->meta = meta;
}

static void timeline_free(struct zcp_stream *stream, int i) {
	struct zcp_timeline *t = &stream->sync[i];
	if (t->acquire_fd >= 0) {
		close(t->acquire_fd);
	}
	if (t->release_fd >= 0) {
		close(t->release_fd);
	}
	uint32_t handles[2] = {t->acquire, t->release};
	for (int k = 0; k < 2; k++) {
		if (handles[k] != 0) {
			drmSyncobjDestroy(stream->drm_fd, handles[k]);
		}
	}
	memset(t, 0, sizeof(*t));
	t->acquire_fd = t->release_fd = -1;
}

/*
 * Queues buffer i with the next point: acquired when the frame's fence
 * signals (at once without one, e.g. a cursor-only buffer), released by
 * the consumer at the same point.
 */
static void timeline_queue(struct zcp_stream *stream, int i, int sync_fd) {
	struct zcp_timeline *t = &stream->sync[i];
	if (t->meta == NULL) {
		return;
	}
	uint64_t point = ++t->point;
	uint32_t fence = 0;
	bool imported = sync_fd >= 0 && drmSyncobjCreate(stream->drm_fd, 0, &fence) == 0 &&
		drmSyncobjImportSyncFile(stream->drm_fd, fence, sync_fd) == 0 &&
		drmSyncobjTransfer(stream->drm_fd, t->acquire, point, fence, 0, 0) == 0;
	if (fence != 0) {
		drmSyncobjDestroy(stream->drm_fd, fence);
	}
	if (!imported) {
		drmSyncobjTimelineSignal(stream->drm_fd, &t->acquire, &point, 1);
	}
	t->meta->acquire_point = point;
	t->meta->release_point = point;
	/* Cleared by a consumer that will signal the release point. */
	t->meta->flags = SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE;
}

/* Whether the consumer signalled buffer i's release point (true without timelines). */
static bool timeline_released(struct zcp_stream *stream, int i) {
	struct zcp_timeline *t = &stream->sync[i];
	if (t->meta == NULL || t->point == 0 ||
			(t->meta->flags & SPA_META_SYNC_TIMELINE_UNSCHEDULED_RELEASE)) {
		return true; /* nothing to wait for: it will not be signalled */
	}
	return drmSyncobjTimelineWait(stream->drm_fd, &t->release, &t->point, 1, 0,
		DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL) == 0;
}

/* PipeWire buffer i is the pool's buffer i, planes and all. */
static void handle_add_buffer(void *data, struct pw_buffer *buffer) {
	struct zcp_stream *stream = data;
	struct spa_buffer *spa = buffer->buffer;
	int i = 0;
	while (i < ZCP_MAX_BUFFERS && stream->buffers[i] != NULL) {
		i++;
	}
	struct zcl_frame_info info;
	if (i == ZCP_MAX_BUFFERS || stream->capture == NULL ||
			!zcl_capture_get_buffer(stream->capture, i, &info) ||
			(int)spa->n_datas < info.n_planes) {
		/* Before the pool (or beyond it): an empty buffer, never queued. */
		if (i == 0) {
			fprintf(stderr, "zerocap-portal: PipeWire allocated buffers before the pool "
				"had them; waiting for the pool\n");
		}
		return;
	}
	bool mappable = !info.dmabuf || info.modifier == DRM_FORMAT_MOD_LINEAR ||
		info.modifier == DRM_FORMAT_MOD_INVALID;
	for (int p = 0; p < info.n_planes; p++) {
		struct spa_data *d = &spa->datas[p];
		d->type = info.dmabuf ? SPA_DATA_DmaBuf : SPA_DATA_MemFd;
		d->flags = SPA_DATA_FLAG_READABLE | (mappable ? SPA_DATA_FLAG_MAPPABLE : 0);
		d->fd = info.fds[p]; /* the library's: not closed here */
		d->mapoffset = 0;
		d->maxsize = info.offsets[p] + info.strides[p] * info.height;
		d->data = info.dmabuf ? NULL : info.data;
	}
	stream->buffers[i] = buffer;
	stream->buffer_pool[i] = stream->pool_serial;
	stream->held[i] = false;
	buffer->user_data = (void *)(uintptr_t)(i + 1);
	struct spa_meta_sync_timeline *meta = spa_buffer_find_meta_data(spa,
		SPA_META_SyncTimeline, sizeof(*meta));
	if (info.dmabuf && meta != NULL && (int)spa->n_datas >= info.n_planes + 2) {
		timeline_make(stream, i, meta, &spa->datas[info.n_planes]);
	}
}

static void handle_remove_buffer(void *data, struct pw_buffer *buffer) {
	struct zcp_stream *stream = data;
	if (buffer->user_data == NULL) {
		return; /* never given a buffer of the pool */
	}
	int i = (int)(uintptr_t)buffer->user_data - 1;
	if (stream->queued[i] != NULL) {
		zcl_frame_release(stream->queued[i]);
		stream->queued[i] = NULL;
	}
	if (i == stream->kept) {
		stream->kept = -1;
	}
	stream->buffers[i] = NULL;
	stream->held[i] = false;
	stream->sync[i].releasing = false;
	timeline_free(stream, i);
	buffer->user_data = NULL;
}

/*
 * Where the cursor is, and its bitmap, in every buffer: a consumer that
 * falls behind misses buffers (PipeWire hands it only the newest), and a
 * bitmap sent once would be lost with them. It is small (a 64x64 cursor is
 * 16 KiB).
 */
static void fill_cursor(struct zcp_stream *stream, struct spa_buffer *spa) {
	struct spa_meta *meta = spa_buffer_find_meta(spa, SPA_META_Cursor);
	if (meta == NULL || meta->size < sizeof(struct spa_meta_cursor)) {
		return;
	}
	struct spa_meta_cursor *mc = meta->data;
	const struct zcl_cursor_info *ci = &stream->cursor_info;
	memset(mc, 0, sizeof(*mc));
	if (!ci->inside) {
		return; /* id 0: no cursor over the picture */
	}
	mc->id = 1;
	mc->position = SPA_POINT(ci->x, ci->y);
	mc->hotspot = SPA_POINT(ci->hotspot_x, ci->hotspot_y);
	size_t bytes = (size_t)ci->width * ci->height * 4;
	if (ci->pixels == NULL ||
			meta->size < sizeof(*mc) + sizeof(struct spa_meta_bitmap) + bytes) {
		return; /* bitmap_offset 0: no image yet, or too big for the meta */
	}
	mc->bitmap_offset = sizeof(*mc);
	struct spa_meta_bitmap *bitmap = SPA_PTROFF(mc, mc->bitmap_offset, struct spa_meta_bitmap);
	bitmap->format = SPA_VIDEO_FORMAT_BGRA;
	bitmap->size = SPA_RECTANGLE(ci->width, ci->height);
	bitmap->stride = (int32_t)ci->width * 4;
	bitmap->offset = sizeof(*bitmap);
	uint8_t *dst = SPA_PTROFF(bitmap, bitmap->offset, uint8_t);
	for (uint32_t y = 0; y < ci->height; y++) {
		memcpy(dst + (size_t)y * ci->width * 4,
			(const uint8_t *)ci->pixels + (size_t)y * ci->stride, (size_t)ci->width * 4);
	}
}

/* The damage meta: info's rectangles, all of the picture (or whole), or none (info NULL). */
static void fill_damage(struct zcp_stream *stream, const struct zcl_frame_info *info,
		bool whole, struct spa_buffer *spa) {
	struct spa_meta *damage = spa_buffer_find_meta(spa, SPA_META_VideoDamage);
	if (damage == NULL) {
		return;
	}
	struct spa_meta_region *r = damage->data;
	size_t max = damage->size / sizeof(*r), n = 0;
	if (info == NULL) {
		/* nothing changed */
	} else if (info->n_damage < max && !whole) {
		for (; n < info->n_damage; n++) {
			r[n].region = SPA_REGION(info->damage[n].x, info->damage[n].y,
				(uint32_t)info->damage[n].width, (uint32_t)info->damage[n].height);
		}
	} else {
		r[n++].region = SPA_REGION(0, 0, stream->width, stream->height);
	}
	if (n < max) {
		r[n].region = SPA_REGION(0, 0, 0, 0); /* the end */
	}
}


/* Buffers the consumer gave back are ours again, their frames released. */
static void reclaim(struct zcp_stream *stream) {
	struct pw_buffer *buffer;
	while ((buffer = pw_stream_dequeue_buffer(stream->stream)) != NULL) {
		if (buffer->user_data == NULL) {
			pw_stream_queue_buffer(stream->stream, buffer); /* not one of ours */
			break;
		}
		int i = (int)(uintptr_t)buffer->user_data - 1;
		stream->sync[i].releasing = true;
	}
	/* Back, and (with timelines) released by the consumer: the compositor may write it. */
	bool waiting = false;
	for (int i = 0; i < ZCP_MAX_BUFFERS; i++) {
		if (!stream->sync[i].releasing) {
			continue;
		}
		if (!timeline_released(stream, i)) {
			waiting = true;
			continue;
		}
		stream->sync[i].releasing = false;
		stream->held[i] = true;
		if (stream->queued[i] != NULL && i != stream->kept) {
			zcl_frame_release(stream->queued[i]);
			stream->queued[i] = NULL;
		}
	}
	if (waiting) {
		struct timespec soon = {0, RETRY_NS};
		pw_loop_update_timer(stream->session->server->pw_loop, stream->retry, &soon, NULL,
			false);
	}
}

/* The buffer for this cycle and what goes in it; NULL: nothing to send now. */
static struct pw_buffer *take_buffer(struct zcp_stream *stream, struct zcl_frame *frame) {
	reclaim(stream);
	int i = -1;
	if (frame != NULL) {
		i = zcl_frame_get_info(frame)->buffer_index;
		if (i < 0 || i >= ZCP_MAX_BUFFERS) {
			return NULL;
		}
		if (stream->buffers[i] == NULL || stream->buffer_pool[i] != stream->pool_serial ||
				!stream->held[i]) {
			/*
			 * PipeWire's buffers are not this pool's yet (they are being
			 * re-made), or this one went out as a cursor-only buffer and is
			 * not back: soon. A still picture sends no new frame to wake us.
			 */
			struct timespec soon = {0, RETRY_NS};
			pw_loop_update_timer(stream->session->server->pw_loop, stream->retry, &soon,
				NULL, false);
			return NULL;
		}
	} else {
		/* The cursor alone: any buffer of ours, its pixels not read. */
		for (int k = 0; k < ZCP_MAX_BUFFERS && i < 0; k++) {
			if (stream->buffers[k] != NULL && stream->held[k] && stream->queued[k] == NULL &&
					stream->buffer_pool[k] == stream->pool_serial) {
				i = k;
			}
		}
		if (i < 0) {
			return NULL;
		}
	}
	stream->held[i] = false;
	stream->queued[i] = frame;
	return stream->buffers[i];
}

/* The chunks of a frame in one of the pool's buffers. */
static void frame_chunks(const struct zcl_frame_info *info, struct spa_buffer *spa) {
	for (int p = 0; p < info->n_planes && p < (int)spa->n_datas; p++) {
		struct spa_chunk *chunk = spa->datas[p].chunk;
		chunk->offset = info->offsets[p];
		chunk->stride = (int32_t)info->strides[p];
		chunk->size = info->strides[p] * info->height;
		chunk->flags = SPA_CHUNK_FLAG_NONE;
	}
}

/*
 * Queues buffer with info's picture, or the cursor alone (info NULL); a
 * repeat of a picture sent before says that all of it may have changed.
 */
static void send_buffer(struct zcp_stream *stream, struct pw_buffer *buffer,
		const struct zcl_frame_info *info, bool repeat) {
	struct spa_buffer *spa = buffer->buffer;
	struct spa_data *d = &spa->datas[0];
	if (info == NULL) {
		d->chunk->offset = 0;
		d->chunk->stride = (int32_t)frame_stride(stream->width);
		d->chunk->size = 0; /* the cursor only */
		d->chunk->flags = SPA_CHUNK_FLAG_NONE;
	} else {
		frame_chunks(info, spa);
	}
	struct spa_meta_header *header = spa_buffer_find_meta_data(spa, SPA_META_Header,
		sizeof(*header));
	if (header != NULL) {
		/*
		 * When the picture was presented; a still picture a new consumer
		 * gets at once counts from when it connected, as consumers that sync
		 * on timestamps would hold it back by its age otherwise. A cursor
		 * buffer and a repeat are stamped now.
		 */
		int64_t pts = info != NULL && !repeat ? (int64_t)info->presented.tv_sec *
			SPA_NSEC_PER_SEC + info->presented.tv_nsec : monotonic_ns();
		header->pts = pts > stream->streaming_since ? pts : stream->streaming_since;
		header->flags = 0;
		header->seq = stream->sequence++;
		header->dts_offset = 0;
	}
	fill_damage(stream, info, repeat, spa);
	if (stream->cursor != NULL) {
		fill_cursor(stream, spa);
		stream->cursor_dirty = false;
	}
	/* A repeat's pixels were written long ago: its acquire point is signalled now. */
	timeline_queue(stream, (int)(uintptr_t)buffer->user_data - 1,
		info != NULL && !repeat ? info->sync_fd : -1);
	pw_stream_queue_buffer(stream->stream, buffer);
}

/* The kept picture again, once the consumer gave its buffer back. */
static void repeat_kept(struct zcp_stream *stream) {
	stream->repeat_due = false;
	int i = stream->kept;
	if (i < 0) {
		return;
	}
	if (stream->held[i] && stream->buffers[i] != NULL && stream->queued[i] != NULL) {
		stream->held[i] = false;
		send_buffer(stream, stream->buffers[i], zcl_frame_get_info(stream->queued[i]), true);
	} /* else still with the consumer: a turn is lost */
	if (--stream->repeats > 0) {
		repeat_later(stream);
	} else {
		stream->kept = -1; /* released when it comes back */
	}
}

static void handle_repeat(void *data, uint64_t expirations) {
	struct zcp_stream *stream = data;
	if (stream->kept >= 0 && stream->streaming) {
		stream->repeat_due = true;
		pw_stream_trigger_process(stream->stream);
	}
}

/*
 * One graph cycle: the newest frame, if any, into its buffer; a moved
 * cursor over an unchanged picture gets a buffer of its own; else the
 * kept picture again when it is due.
 */
static void handle_process(void *data) {
	struct zcp_stream *stream = data;
	struct zcl_frame *frame = stream->pending;
	if (frame == NULL && !stream->cursor_dirty) {
		reclaim(stream);
		if (stream->repeat_due) {
			repeat_kept(stream);
		}
		return;
	}
	struct pw_buffer *buffer = take_buffer(stream, frame);
	if (buffer == NULL) {
		return; /* every buffer is with the consumer: the frame waits */
	}
	stream->pending = NULL;
	const struct zcl_frame_info *info = frame != NULL ? zcl_frame_get_info(frame) : NULL;
	send_buffer(stream, buffer, info, false);
	if (info == NULL) {
		return;
	}
	int64_t now = monotonic_ns();
	if (stream->repeats > 0 && stream->repeat_until == 0) {
		stream->repeat_until = now + REPEAT_WINDOW_NS;
	}
	if (stream->repeats > 0 && now < stream->repeat_until) {
		kept_release(stream); /* this one is newer */
		stream->kept = (int)(uintptr_t)buffer->user_data - 1;
		repeat_later(stream);
	} else if (stream->repeats > 0) {
		repeats_end(stream);
	}
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = handle_state_changed,
	.param_changed = handle_param_changed,
	.add_buffer = handle_add_buffer,
	.remove_buffer = handle_remove_buffer,
	.process = handle_process,
};

static void handle_retry(void *data, uint64_t expirations) {
	struct zcp_stream *stream = data;
	if (stream->streaming) {
		pw_stream_trigger_process(stream->stream);
	}
}

static bool stream_connect(struct zcp_stream *stream) {
	struct zcp_server *server = stream->session->server;
	char name[128];
	snprintf(name, sizeof(name), "zerocap %s", zcl_target_get_name(stream->target));
	stream->stream = pw_stream_new(server->pw_core, name, pw_properties_new(
		PW_KEY_MEDIA_CLASS, "Video/Source", PW_KEY_NODE_NAME, "xdg-desktop-portal-zerocap",
		NULL));
	if (stream->stream == NULL) {
		return false;
	}
	pw_stream_add_listener(stream->stream, &stream->listener, &stream_events, stream);
	stream->retry = pw_loop_add_timer(server->pw_loop, handle_retry, stream);
	stream->repeat = pw_loop_add_timer(server->pw_loop, handle_repeat, stream);
	announce(stream, true);
	return stream->connected;
}

static void handle_frame(void *data, struct zcl_frame *frame) {
	struct zcp_stream *stream = data;
	if (stream->retry != NULL) {
		struct timespec off = {0, 0};
		pw_loop_update_timer(stream->session->server->pw_loop, stream->retry, &off, NULL,
			false);
	}
	if (stream->pending != NULL) {
		zcl_frame_release(stream->pending); /* superseded before a buffer was free */
	}
	stream->pending = frame;
	if (stream->streaming) {
		pw_stream_trigger_process(stream->stream);
	}
}

static void handle_constraints(void *data, uint32_t width, uint32_t height, uint32_t format) {
	struct zcp_stream *stream = data;
	struct zcl_frame_info info;
	bool pool_dmabuf = zcl_capture_get_buffer(stream->capture, 0, &info) && info.dmabuf;
	uint64_t modifier = pool_dmabuf ? info.modifier : DRM_FORMAT_MOD_INVALID;
	bool same_size = width == stream->width && height == stream->height;
	bool changed = !same_size || pool_dmabuf != stream->pool_dmabuf ||
		modifier != stream->modifier;
	const uint64_t *offered = NULL;
	size_t n_offered = pool_dmabuf ? zcl_capture_get_modifiers(stream->capture, info.format,
		&offered) : 0;
	n_offered = n_offered < ZCP_MAX_MODIFIERS ? n_offered : ZCP_MAX_MODIFIERS;
	if (n_offered != stream->n_offered || (n_offered > 0 &&
			memcmp(offered, stream->offered, n_offered * sizeof(*offered)) != 0)) {
		changed = true;
		if (n_offered > 0) {
			memcpy(stream->offered, offered, n_offered * sizeof(*offered));
		}
		stream->n_offered = n_offered;
	}
	stream->width = width;
	stream->height = height;
	stream->pool_dmabuf = pool_dmabuf;
	stream->modifier = modifier;
	stream->pool_serial++; /* a new pool: PipeWire's buffers are re-made for it */
	repeats_arm(stream); /* its first pictures go into new buffers */
	if (pool_dmabuf) {
		char offers[ZCP_MAX_MODIFIERS * 20] = "";
		for (size_t i = 0, len = 0; i < stream->n_offered && len < sizeof(offers); i++) {
			len += (size_t)snprintf(offers + len, sizeof(offers) - len, " 0x%llx",
				(unsigned long long)stream->offered[i]);
		}
		fprintf(stderr, "zerocap-portal: %ux%u in dma-bufs, modifier 0x%llx (the compositor "
			"offers%s; the consumer takes %s)\n", width, height,
			(unsigned long long)modifier, offers, stream->narrowed ? "fewer" : "any");
	}
	stream->pool_switching = false;
	if (stream->stream == NULL) {
		if (!stream_connect(stream)) {
			stream->failed = true;
			zcp_session_stream_ready(stream->session, false);
		}
		return;
	}
	if (stream->pending != NULL) {
		zcl_frame_release(stream->pending);
		stream->pending = NULL;
	}
	if (changed || stream->format_set) {
		/*
		 * The source changed size or buffers, or PipeWire may hold buffers
		 * made before this pool: renegotiate the same stream. Its buffers
		 * are made again only when the format is set again; a new Buffers
		 * param alone changes none it holds.
		 */
		announce(stream, false);
	}
	if (same_size && stream->format_set) {
		/* The format may stay as it is: the new pool's buffers are offered at once too. */
		send_buffer_params(stream);
	}
}

/*
 * Every buffer of the pool is with the consumer or queued: only a cycle
 * gives them back, so cycles run until a frame comes.
 */
static void handle_pool_dry(void *data) {
	struct zcp_stream *stream = data;
	if (stream->retry != NULL) {
		struct timespec soon = {0, RETRY_NS};
		pw_loop_update_timer(stream->session->server->pw_loop, stream->retry, &soon, &soon,
			false);
	}
}

static void handle_stopped(void *data) {
	struct zcp_stream *stream = data;
	fprintf(stderr, "zerocap-portal: the capture of %s stopped; closing its session\n",
		stream->target != NULL ? zcl_target_get_name(stream->target) : "a target");
	stream->failed = true;
	if (stream->node_id == SPA_ID_INVALID) {
		zcp_session_stream_ready(stream->session, false);
	} else {
		zcp_session_close(stream->session, true);
	}
}

static void handle_failed(void *data, enum zcl_error error, const char *why) {
	struct zcp_stream *stream = data;
	fprintf(stderr, "zerocap-portal: capture failed: %s\n", why);
	if (stream->narrowed) {
		/* No pool with the modifiers the consumer chose: shm is what is left. */
		fprintf(stderr, "zerocap-portal: falling back to shm buffers\n");
		stream->narrowed = false;
		stream->fixated = false;
		stream->pool_dmabuf = false;
		capture_remake(stream, ZCL_BUFFERS_SHM);
		announce(stream, false);
		return;
	}
	handle_stopped(data);
}

static const struct zcl_capture_listener capture_listener = {
	.frame = handle_frame,
	.constraints = handle_constraints,
	.pool_dry = handle_pool_dry,
	.stopped = handle_stopped,
	.failed = handle_failed,
};

/* The capture: dma-bufs where the compositor offers them (AUTO), or shm. */
static bool capture_start(struct zcp_stream *stream, enum zcl_buffers buffers) {
	struct zcp_server *server = stream->session->server;
	struct zcl_capture_options options = {
		.format = DRM_FORMAT_XRGB8888,
		.cursor = stream->cursor_mode == ZCP_CURSOR_EMBEDDED,
		.buffers = buffers,
		.n_buffers = POOL_BUFFERS,
		.max_fps = zcl_client_has_options(server->client) ? server->config.max_fps : 0,
	};
	struct zcl_format_modifiers accepted = {
		.format = DRM_FORMAT_XRGB8888,
		.modifiers = &stream->accepted,
		.n_modifiers = 1,
	};
	if (buffers == ZCL_BUFFERS_DMABUF && stream->narrowed) {
		options.importable = &accepted;
		options.n_importable = 1;
	}
	enum zcl_error error;
	stream->capture = zcl_capture_create(server->client, stream->target, &options,
		&capture_listener, stream, &error);
	if (stream->capture == NULL) {
		fprintf(stderr, "zerocap-portal: cannot capture %s: %s\n",
			zcl_target_get_name(stream->target), zcl_client_last_error(server->client));
		return false;
	}
	return true;
}

static void handle_cursor_changed(void *data, const struct zcl_cursor_info *info) {
	struct zcp_stream *stream = data;
	stream->cursor_info = *info;
	stream->cursor_dirty = true;
	if (stream->streaming) {
		pw_stream_trigger_process(stream->stream);
	}
}

static void handle_cursor_stopped(void *data) {
	struct zcp_stream *stream = data;
	stream->cursor_info.inside = false;
	stream->cursor_dirty = true;
}

static const struct zcl_cursor_listener cursor_listener = {
	.changed = handle_cursor_changed,
	.stopped = handle_cursor_stopped,
};

struct zcp_stream *zcp_stream_create(struct zcp_session *session, struct zcl_target *target,
		uint32_t cursor_mode) {
	struct zcp_stream *stream = calloc(1, sizeof(*stream));
	if (stream == NULL) {
		return NULL;
	}
	stream->session = session;
	stream->target = target;
	stream->cursor_mode = cursor_mode;
	stream->node_id = SPA_ID_INVALID;
	stream->modifier = DRM_FORMAT_MOD_INVALID;
	stream->kept = -1;
	stream->drm_fd = -1;
	for (int i = 0; i < ZCP_MAX_BUFFERS; i++) {
		stream->sync[i].acquire_fd = stream->sync[i].release_fd = -1;
	}
	if (!capture_start(stream, ZCL_BUFFERS_AUTO)) {
		free(stream);
		return NULL;
	}
	if (cursor_mode == ZCP_CURSOR_METADATA) {
		enum zcl_error error;
		stream->cursor = zcl_cursor_create(session->server->client, target, &cursor_listener,
			stream, &error);
		if (stream->cursor == NULL) {
			/* The picture still streams; consumers see no cursor meta. */
			fprintf(stderr, "zerocap-portal: no cursor metadata for %s: %s\n",
				zcl_target_get_name(target), zcl_client_last_error(session->server->client));
		}
	}
	return stream;
}

void zcp_stream_destroy(struct zcp_stream *stream) {
	if (stream == NULL) {
		return;
	}
	if (stream->pending != NULL) {
		zcl_frame_release(stream->pending);
	}
	zcl_cursor_destroy(stream->cursor);
	if (stream->stream != NULL) {
		spa_hook_remove(&stream->listener);
		pw_stream_destroy(stream->stream); /* removes the buffers: queued frames released */
	}
	if (stream->retry != NULL) {
		pw_loop_destroy_source(stream->session->server->pw_loop, stream->retry);
	}
	if (stream->repeat != NULL) {
		pw_loop_destroy_source(stream->session->server->pw_loop, stream->repeat);
	}
	zcl_capture_destroy(stream->capture);
	if (stream->drm_fd >= 0) {
		close(stream->drm_fd);
	}
	free(stream);
}
