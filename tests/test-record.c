/*
 * zerocap-record end to end: it records the reference compositor while the
 * scene changes, and the file, decoded by Debian's ffmpeg, holds frames that
 * are the scene's states in order. On the host the frames are XRGB8888 shm
 * into libx264rgb at qp 0 (lossless: pixel-exact); in the GPU suite
 * (ZT_RECORD_GPU) they are NV12 dma-bufs from zerocap's GPU conversion into
 * libx264 at qp 0, compared away from colour edges within a few code values
 * (4:2:0 chroma). -n stops by itself; SIGINT mid-recording leaves a
 * playable file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fixture.h"

#define W 320
#define H 240
#define N_STATES 4

static const uint32_t colors[N_STATES] = {0xff0000ff, 0x00ff00ff, 0x2060c0ff, 0xffffffff};

#ifdef ZT_RECORD_GPU
#define TOLERANCE 4
#define EDGE 2
#define STEP_US 3000000 /* llvmpipe converts slowly: a frame took over 1.5 s now and then */
static const char *const mode_args[] = {NULL};
#else
#define TOLERANCE 0
#define EDGE 0
#define STEP_US 400000
static const char *const mode_args[] = {"--shm", NULL};
#endif

static pid_t spawn(char *const argv[]) {
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int timeout_ms) {
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* The expected pixel of state s (0xRRGGBB) at x, y; -1 near an edge. */
static int64_t expected(int s, int x, int y) {
	bool in = x >= 40 && x < 120 && y >= 40 && y < 100;
	bool near = x >= 40 - EDGE && x < 120 + EDGE && y >= 40 - EDGE && y < 100 + EDGE &&
		!(x >= 40 + EDGE && x < 120 - EDGE && y >= 40 + EDGE && y < 100 - EDGE);
	if (EDGE > 0 && near) {
		return -1;
	}
	return in ? (int64_t)(colors[s] >> 8) : 0x202020;
}

static int frame_state(const uint8_t *bgr0) {
	for (int s = 0; s < N_STATES; s++) {
		int bad = 0;
		for (int y = 0; y < H && bad == 0; y++) {
			for (int x = 0; x < W; x++) {
				int64_t want = expected(s, x, y);
				if (want < 0) {
					continue;
				}
				const uint8_t *p = bgr0 + ((size_t)y * W + x) * 4;
				int got[3] = {p[2], p[1], p[0]};
				int w[3] = {(int)(want >> 16) & 0xff, (int)(want >> 8) & 0xff, (int)want & 0xff};
				for (int k = 0; k < 3; k++) {
					bad += abs(got[k] - w[k]) > TOLERANCE;
				}
			}
		}
		if (bad == 0) {
			return s;
		}
	}
	return -1;
}

/* Decodes path with ffmpeg into raw BGR0 frames; returns the frame count, -1 on error. */
static int decode(const char *path, uint8_t **frames) {
	char raw[96], cmd[512];
	snprintf(raw, sizeof(raw), "%s.raw", path);
	snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y -i %s -fps_mode passthrough -f rawvideo -pix_fmt bgr0 %s", path,
		raw);
	if (system(cmd) != 0) {
		return -1;
	}
	FILE *f = fopen(raw, "rb");
	if (f == NULL) {
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	*frames = malloc(size > 0 ? (size_t)size : 1);
	size_t got = fread(*frames, 1, (size_t)size, f);
	fclose(f);
	unlink(raw);
	return got == (size_t)size ? (int)(size / (W * H * 4)) : -1;
}

static void test_record(const char *record) {
	zt_section("a recording holds the scene's states in order");
	struct zt_compositor comp;
	const char *args[] = {"--output", "320x240", NULL};
	if (!zt_compositor_start(&comp, args)) {
		return;
	}
	ZT_CHECK(zt_cmd(&comp, "rect a 40 40 80 60 %08x", colors[0]), "rect");
	char path[] = "/tmp/zt-record-XXXXXX.mkv";
	close(mkstemps(path, 4));
	char *argv[16] = {(char *)record, "-d", comp.socket, "-q", "0", "--quiet", "-n", "2"};
	int n = 8;
	for (int i = 0; mode_args[i] != NULL; i++) {
		argv[n++] = (char *)mode_args[i];
	}
	argv[n++] = path;
	argv[n] = NULL;

	/* -n 2: the two opening frames come at once; it stops by itself. */
	pid_t pid = spawn(argv);
	int status = wait_exit(pid, 60000);
	ZT_CHECK(status == 0, "zerocap-record -n 2 exits 0 by itself (%d)", status);
	uint8_t *frames = NULL;
	int count = decode(path, &frames);
	ZT_CHECK(count == 2, "2 frames decoded (%d)", count);
	for (int i = 0; i < count; i++) {
		ZT_CHECK(frame_state(frames + (size_t)i * W * H * 4) == 0, "frame %d is the scene", i);
	}
	free(frames);

	/* Every state in turn, then SIGINT: a playable file with them in order. */
	argv[6] = "-F";
	argv[7] = "30";
	pid = spawn(argv);
	usleep(STEP_US * 2);
	for (int s = 1; s < N_STATES; s++) {
		ZT_CHECK(zt_cmd(&comp, "rect a 40 40 80 60 %08x", colors[s]), "rect state %d", s);
		usleep(STEP_US);
	}
	ZT_CHECK(pid > 0 && kill(pid, SIGINT) == 0, "SIGINT");
	status = wait_exit(pid, 20000);
	ZT_CHECK(status == 0, "zerocap-record stops cleanly on SIGINT (%d)", status);
	count = decode(path, &frames);
	ZT_CHECK(count >= N_STATES, "the interrupted file plays (%d frames)", count);
	int last = -1, seen = 0;
	bool ok = true;
	for (int i = 0; i < count; i++) {
		int s = frame_state(frames + (size_t)i * W * H * 4);
		ok = ok && s >= last;
		seen += s > last;
		last = s > last ? s : last;
	}
	ZT_CHECK(ok && seen == N_STATES && last == N_STATES - 1,
		"every frame is a state of the scene, all %d states in order (%d seen)", N_STATES,
		seen);
	free(frames);
	unlink(path);
	ZT_CHECK(zt_compositor_alive(&comp), "compositor alive");
	zt_compositor_stop(&comp);
}

int main(void) {
	const char *record = getenv("ZC_RECORD");
	ZT_CHECK(record != NULL, "ZC_RECORD is set");
	if (record != NULL) {
		test_record(record);
	}
	return zt_finish();
}
