/*
 * zerocap-record: records an output, a region of one, or a window to a
 * video file with FFmpeg's libraries, on libzerocap-client.
 *
 * Where the compositor offers dma-bufs, frames are NV12 from zerocap's GPU
 * conversion (BT.709, limited range), mapped and handed to the encoder as
 * they are: no conversion on the CPU, and the buffer goes back to the pool
 * when the encoder lets go of the frame. Without dma-bufs (a compositor on
 * pixman) frames are XRGB8888 in shm and go to an RGB encoder (libx264rgb).
 *
 * A progress line once a second; SIGINT or SIGTERM stop cleanly and leave a
 * playable file.
 */
#define _GNU_SOURCE
#include <drm_fourcc.h>
#include <errno.h>
#include <getopt.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "zerocap-client.h"

struct options {
	const char *display, *output, *window, *encoder, *path;
	bool has_region, cursor, shm;
	int32_t region[4];
	uint32_t size[2];
	double fps;
	long frames, qp;
	double seconds;
	bool quiet;
};

struct recorder {
	struct options opts;
	struct zcl_client *client;
	struct zcl_capture *capture;
	AVFormatContext *format;
	AVCodecContext *codec;
	AVStream *stream;
	AVPacket *packet;
	bool opened, stopped, failed;
	bool fall_back; /* no NV12 dma-bufs here: try again with shm */
	uint32_t width, height, pixel_format;
	int64_t first_us, last_pts;
	long written;
	uint64_t started_ms, progress_ms;
};

static volatile sig_atomic_t interrupted;

static void handle_signal(int sig) {
	interrupted = 1;
}

static uint64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(FILE *f) {
	fprintf(f,
		"usage: zerocap-record [-d DISPLAY] [-o OUTPUT | -w WINDOW] [-r X,Y,WxH] [-s WxH]\n"
		"                      [-F FPS] [-c] [-e ENCODER] [-q QP] [-n FRAMES] [-t SECONDS]\n"
		"                      [--shm] FILE.mkv|FILE.mp4\n"
		"\n"
		"  -o, --output OUTPUT  output name (default: the first output)\n"
		"  -w, --window WINDOW  a window: its identifier or app_id\n"
		"  -r, --region X,Y,WxH only this rectangle, in logical coordinates\n"
		"  -s, --size WxH       scaled by the compositor to this size\n"
		"  -F, --fps FPS        at most FPS frames per second (default 30)\n"
		"  -c, --cursor         record the cursor\n"
		"  -e, --encoder NAME   FFmpeg encoder (default libx264, libx264rgb for shm)\n"
		"  -q, --qp QP          constant quantiser (0: lossless; default: the encoder's)\n"
		"  -n, --frames N       stop after N frames\n"
		"  -t, --time SECONDS   stop after SECONDS\n"
		"      --shm            shm buffers, XRGB8888 (no dma-buf, no GPU conversion;\n"
		"                       also what happens when the compositor has no dma-bufs)\n"
		"      --quiet          no progress line\n");
}

static int encode(struct recorder *rec, AVFrame *frame) {
	int ret = avcodec_send_frame(rec->codec, frame);
	if (ret < 0 && ret != AVERROR_EOF) {
		return ret;
	}
	while ((ret = avcodec_receive_packet(rec->codec, rec->packet)) == 0) {
		av_packet_rescale_ts(rec->packet, rec->codec->time_base, rec->stream->time_base);
		rec->packet->stream_index = rec->stream->index;
		ret = av_interleaved_write_frame(rec->format, rec->packet);
		if (ret < 0) {
			return ret;
		}
	}
	return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

static bool open_encoder(struct recorder *rec, const struct zcl_frame_info *info) {
	bool nv12 = info->format == DRM_FORMAT_NV12;
	const char *name = rec->opts.encoder != NULL ? rec->opts.encoder :
		nv12 ? "libx264" : "libx264rgb";
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	if (codec == NULL) {
		fprintf(stderr, "zerocap-record: no encoder %s\n", name);
		return false;
	}
	if (avformat_alloc_output_context2(&rec->format, NULL, NULL, rec->opts.path) < 0) {
		fprintf(stderr, "zerocap-record: no container for %s\n", rec->opts.path);
		return false;
	}
	rec->codec = avcodec_alloc_context3(codec);
	rec->codec->width = (int)info->width;
	rec->codec->height = (int)info->height;
	rec->codec->pix_fmt = nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_BGR0;
	rec->codec->time_base = (AVRational){1, 1000};
	rec->codec->framerate = (AVRational){(int)rec->opts.fps, 1};
	if (nv12) {
		rec->codec->colorspace = AVCOL_SPC_BT709;
		rec->codec->color_primaries = AVCOL_PRI_BT709;
		rec->codec->color_trc = AVCOL_TRC_BT709;
		rec->codec->color_range = AVCOL_RANGE_MPEG;
		rec->codec->chroma_sample_location = AVCHROMA_LOC_CENTER;
	}
	if (rec->format->oformat->flags & AVFMT_GLOBALHEADER) {
		rec->codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	}
	av_opt_set(rec->codec->priv_data, "preset", "ultrafast", 0);
	if (rec->opts.qp >= 0) {
		av_opt_set_int(rec->codec->priv_data, "qp", rec->opts.qp, 0);
	}
	if (avcodec_open2(rec->codec, codec, NULL) < 0) {
		fprintf(stderr, "zerocap-record: cannot open the encoder %s for %ux%u %s%s\n", name,
			info->width, info->height, nv12 ? "NV12" : "BGR0",
			nv12 ? "" : " (no NV12 dma-bufs here, so frames are RGB: pick an encoder that "
			"takes bgr0, such as libx264rgb, ffv1 or rawvideo)");
		return false;
	}
	rec->stream = avformat_new_stream(rec->format, NULL);
	rec->stream->time_base = rec->codec->time_base;
	avcodec_parameters_from_context(rec->stream->codecpar, rec->codec);
	if (avio_open(&rec->format->pb, rec->opts.path, AVIO_FLAG_WRITE) < 0 ||
			avformat_write_header(rec->format, NULL) < 0) {
		fprintf(stderr, "zerocap-record: cannot write %s\n", rec->opts.path);
		return false;
	}
	rec->packet = av_packet_alloc();
	rec->width = info->width;
	rec->height = info->height;
	rec->pixel_format = info->format;
	rec->opened = true;
	if (!rec->opts.quiet) {
		fprintf(stderr, "zerocap-record: %ux%u %s (%s) -> %s with %s\n", info->width,
			info->height, nv12 ? "NV12" : "XRGB8888", info->dmabuf ? "dma-buf" : "shm",
			rec->opts.path, name);
	}
	return true;
}

/* The mapping of a dma-buf frame, undone when the encoder drops the frame. */
struct mapped {
	struct zcl_frame *frame;
	void *data;
	size_t size;
	int fd;
};

static void release_mapped(void *opaque, uint8_t *data) {
	struct mapped *m = opaque;
	if (m->data != NULL) {
		struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ};
		ioctl(m->fd, DMA_BUF_IOCTL_SYNC, &sync);
		munmap(m->data, m->size);
	}
	zcl_frame_release(m->frame);
	free(m);
}

static void handle_frame(void *data, struct zcl_frame *frame) {
	struct recorder *rec = data;
	const struct zcl_frame_info *info = zcl_frame_get_info(frame);
	if (rec->stopped || (!rec->opened && !open_encoder(rec, info)) ||
			info->width != rec->width || info->height != rec->height) {
		if (rec->opened && !rec->stopped && (info->width != rec->width ||
				info->height != rec->height)) {
			fprintf(stderr, "zerocap-record: the size changed to %ux%u; stopping\n",
				info->width, info->height);
		}
		rec->failed = rec->failed || !rec->opened;
		rec->stopped = true;
		zcl_frame_release(frame);
		return;
	}
	struct mapped *m = calloc(1, sizeof(*m));
	m->frame = frame;
	m->fd = info->fds[0];
	uint8_t *base = info->data;
	m->size = (size_t)info->strides[0] * info->height;
	if (info->dmabuf) {
		if (info->sync_fd >= 0) {
			struct pollfd pfd = {.fd = info->sync_fd, .events = POLLIN};
			poll(&pfd, 1, 1000);
		}
		off_t size = lseek(m->fd, 0, SEEK_END);
		m->size = size > 0 ? (size_t)size : 0;
		m->data = m->size > 0 ? mmap(NULL, m->size, PROT_READ, MAP_SHARED, m->fd, 0) :
			MAP_FAILED;
		if (m->data == MAP_FAILED) {
			fprintf(stderr, "zerocap-record: cannot map a frame: %s\n", strerror(errno));
			m->data = NULL;
			release_mapped(m, NULL);
			rec->stopped = rec->failed = true;
			return;
		}
		struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
		ioctl(m->fd, DMA_BUF_IOCTL_SYNC, &sync);
		base = m->data;
	}
	AVFrame *av = av_frame_alloc();
	av->format = rec->codec->pix_fmt;
	av->width = (int)info->width;
	av->height = (int)info->height;
	av->buf[0] = av_buffer_create(base, m->size, release_mapped, m, AV_BUFFER_FLAG_READONLY);
	for (int i = 0; i < info->n_planes && i < 2; i++) {
		av->data[i] = base + info->offsets[i];
		av->linesize[i] = (int)info->strides[i];
	}
	int64_t us = (int64_t)info->presented.tv_sec * 1000000 + info->presented.tv_nsec / 1000;
	if (rec->written == 0) {
		rec->first_us = us;
	}
	int64_t pts = (us - rec->first_us) / 1000;
	if (rec->written > 0 && pts <= rec->last_pts) {
		pts = rec->last_pts + 1;
	}
	av->pts = pts;
	rec->last_pts = pts;
	int ret = encode(rec, av);
	av_frame_free(&av); /* the buffer goes back once the encoder is done with it */
	if (ret < 0) {
		fprintf(stderr, "zerocap-record: encoding failed: %s\n", av_err2str(ret));
		rec->stopped = rec->failed = true;
		return;
	}
	rec->written++;
	if (rec->opts.frames > 0 && rec->written >= rec->opts.frames) {
		rec->stopped = true;
	}
}

static void handle_stopped(void *data) {
	struct recorder *rec = data;
	fprintf(stderr, "zerocap-record: the capture stopped (target gone or revoked)\n");
	rec->stopped = true;
}

static void handle_failed(void *data, enum zcl_error error, const char *why) {
	struct recorder *rec = data;
	if (error == ZCL_ERROR_NO_FORMAT && !rec->opts.shm && !rec->opened) {
		rec->fall_back = true;
		return;
	}
	fprintf(stderr, "zerocap-record: the capture failed: %s\n", why);
	rec->stopped = rec->failed = true;
}

static const struct zcl_capture_listener capture_listener = {
	.frame = handle_frame,
	.stopped = handle_stopped,
	.failed = handle_failed,
};

static void progress(struct recorder *rec, bool last) {
	uint64_t now = now_ms();
	if (rec->opts.quiet || (!last && now - rec->progress_ms < 1000)) {
		return;
	}
	rec->progress_ms = now;
	double s = (now - rec->started_ms) / 1000.0;
	fprintf(stderr, "frames %ld, fps %.1f, dropped %llu%s", rec->written,
		s > 0 ? rec->written / s : 0.0,
		(unsigned long long)(rec->capture != NULL ? zcl_capture_get_dry_spells(rec->capture) :
			0), last ? "\n" : "\r");
}

static bool parse_args(int argc, char *argv[], struct options *o) {
	static const struct option long_options[] = {
		{"display", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
		{"window", required_argument, NULL, 'w'}, {"region", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'}, {"fps", required_argument, NULL, 'F'},
		{"cursor", no_argument, NULL, 'c'}, {"encoder", required_argument, NULL, 'e'},
		{"qp", required_argument, NULL, 'q'}, {"frames", required_argument, NULL, 'n'},
		{"time", required_argument, NULL, 't'}, {"shm", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'Q'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "d:o:w:r:s:F:ce:q:n:t:h", long_options,
			NULL)) != -1) {
		switch (opt) {
		case 'd': o->display = optarg; break;
		case 'o': o->output = optarg; break;
		case 'w': o->window = optarg; break;
		case 'r':
			if (sscanf(optarg, "%d,%d,%dx%d", &o->region[0], &o->region[1], &o->region[2],
					&o->region[3]) != 4 || o->region[2] <= 0 || o->region[3] <= 0) {
				return false;
			}
			o->has_region = true;
			break;
		case 's':
			if (sscanf(optarg, "%ux%u", &o->size[0], &o->size[1]) != 2 || o->size[0] == 0 ||
					o->size[1] == 0) {
				return false;
			}
			break;
		case 'F': o->fps = atof(optarg); break;
		case 'c': o->cursor = true; break;
		case 'e': o->encoder = optarg; break;
		case 'q': o->qp = atol(optarg); break;
		case 'n': o->frames = atol(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'S': o->shm = true; break;
		case 'Q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: return false;
		}
	}
	if (optind != argc - 1 || o->fps <= 0 || (o->output != NULL && o->window != NULL)) {
		return false;
	}
	o->path = argv[optind];
	return true;
}

static bool client_ready(struct recorder *rec) {
	uint64_t end = now_ms() + 5000;
	while (!zcl_client_ready(rec->client) && now_ms() < end) {
		struct pollfd pfd = {.fd = zcl_client_get_fd(rec->client), .events = POLLIN};
		poll(&pfd, 1, 100);
		if (zcl_client_dispatch(rec->client) < 0) {
			return false;
		}
	}
	return zcl_client_ready(rec->client);
}

int main(int argc, char *argv[]) {
	struct recorder rec = {.opts = {.fps = 30, .qp = -1}};
	av_log_set_level(AV_LOG_WARNING);
	if (!parse_args(argc, argv, &rec.opts)) {
		usage(stderr);
		return 2;
	}
	rec.client = zcl_client_connect(rec.opts.display, NULL, NULL);
	if (rec.client == NULL || !client_ready(&rec)) {
		fprintf(stderr, "zerocap-record: no compositor to talk to\n");
		return 1;
	}
	const char *key = rec.opts.window != NULL ? rec.opts.window : rec.opts.output;
	struct zcl_target *target = zcl_client_find_target(rec.client, key);
	if (target == NULL || (rec.opts.window == NULL &&
			zcl_target_get_type(target) != ZCL_TARGET_OUTPUT)) {
		fprintf(stderr, "zerocap-record: no %s %s\n", rec.opts.window ? "window" : "output",
			key != NULL ? key : "at all");
		zcl_client_destroy(rec.client);
		return 1;
	}
	struct zcl_capture_options o = {
		.has_region = rec.opts.has_region,
		.x = rec.opts.region[0], .y = rec.opts.region[1],
		.width = rec.opts.region[2], .height = rec.opts.region[3],
		.out_width = rec.opts.size[0], .out_height = rec.opts.size[1],
		.max_fps = rec.opts.fps,
		.cursor = rec.opts.cursor,
		.format = rec.opts.shm ? DRM_FORMAT_XRGB8888 : DRM_FORMAT_NV12,
		.matrix = ZCL_MATRIX_BT709,
		.range = ZCL_RANGE_LIMITED,
		.buffers = rec.opts.shm ? ZCL_BUFFERS_SHM : ZCL_BUFFERS_DMABUF,
	};
	signal(SIGINT, handle_signal);
	signal(SIGTERM, handle_signal);
	enum zcl_error error;
	rec.capture = zcl_capture_create(rec.client, target, &o, &capture_listener, &rec, &error);
	if (rec.capture == NULL) {
		fprintf(stderr, "zerocap-record: %s\n", zcl_client_last_error(rec.client));
		zcl_client_destroy(rec.client);
		return 1;
	}
	rec.started_ms = now_ms();
	rec.progress_ms = rec.started_ms;
	while (!interrupted && !rec.stopped) {
		if (rec.fall_back) {
			if (!rec.opts.quiet) {
				fprintf(stderr, "zerocap-record: no NV12 dma-bufs here; recording "
					"XRGB8888 from shm\n");
			}
			rec.fall_back = false;
			rec.opts.shm = true;
			o.format = DRM_FORMAT_XRGB8888;
			o.buffers = ZCL_BUFFERS_SHM;
			zcl_capture_destroy(rec.capture);
			rec.capture = zcl_capture_create(rec.client, target, &o, &capture_listener, &rec,
				&error);
			if (rec.capture == NULL) {
				fprintf(stderr, "zerocap-record: %s\n", zcl_client_last_error(rec.client));
				break;
			}
		}
		if (rec.opts.seconds > 0 && now_ms() - rec.started_ms >= rec.opts.seconds * 1000) {
			break;
		}
		struct pollfd pfd = {.fd = zcl_client_get_fd(rec.client), .events = POLLIN};
		poll(&pfd, 1, 100);
		if (zcl_client_dispatch(rec.client) < 0) {
			break;
		}
		progress(&rec, false);
	}
	int status = rec.failed ? 1 : 0;
	if (rec.opened) {
		encode(&rec, NULL); /* flush the encoder's delayed frames */
		av_write_trailer(rec.format);
		avio_closep(&rec.format->pb);
	} else {
		fprintf(stderr, "zerocap-record: no frame was recorded\n");
		status = 1;
	}
	progress(&rec, true);
	/* Frames the encoder still held are back; the capture may go. */
	avcodec_free_context(&rec.codec);
	avformat_free_context(rec.format);
	av_packet_free(&rec.packet);
	zcl_capture_destroy(rec.capture);
	zcl_client_destroy(rec.client);
	return status;
}
