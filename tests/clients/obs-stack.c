/* OBS Studio in the desktop stack, driven through obs-websocket: obs-stack.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "obs-stack.h"

#define OBS_START_MS 60000 /* OBS on software GL, sharing two cores */
#define OBS_STOP_MS 20000
#define WS_TIMEOUT_MS 5000

/* mkdir -p for the directories below base. */
static bool make_dirs(const char *base, const char *sub) {
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	for (char *p = path + strlen(base) + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST) {
				ZT_CHECK(false, "mkdir %s: %s", path, strerror(errno));
				return false;
			}
			*p = c;
			if (c == '\0') {
				return true;
			}
		}
	}
}

static int free_port(void) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
			getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
		port = ntohs(addr.sin_port);
	}
	if (fd >= 0) {
		close(fd);
	}
	return port;
}

static bool write_profile(struct ct_obs *obs, const char *dir) {
	char path[700], text[2048];
	snprintf(path, sizeof(path), "%s/basic/profiles/zerocap/basic.ini", obs->config);
	snprintf(text, sizeof(text),
		"[General]\nName=zerocap\n"
		"[Video]\nBaseCX=%d\nBaseCY=%d\nOutputCX=%d\nOutputCY=%d\nFPSType=0\nFPSCommon=30\n"
		"ColorFormat=%s\nColorSpace=709\nColorRange=Full\n"
		"[Output]\nMode=Simple\nFilenameFormatting=%s\nOverwriteIfExists=true\n"
		"[SimpleOutput]\nFilePath=%s\nRecFormat2=mkv\nRecQuality=HQ\nRecEncoder=x264\n"
		"Preset=ultrafast\n"
		"[Audio]\nSampleRate=48000\nChannelSetup=Stereo\n",
		obs->options.width, obs->options.height, obs->options.width, obs->options.height,
		obs->options.color_format != NULL ? obs->options.color_format : "I444", obs->name, dir);
	return ct_write_file(path, text);
}

static bool write_collection(struct ct_obs *obs) {
	char text[4096];
	snprintf(text, sizeof(text),
		"{\"name\": \"zerocap\", \"current_scene\": \"Scene\", "
		"\"current_program_scene\": \"Scene\", \"scene_order\": [{\"name\": \"Scene\"}], "
		"\"sources\": [{\"id\": \"scene\", \"versioned_id\": \"scene\", \"name\": \"Scene\", "
		"\"settings\": {\"id_counter\": 1, \"items\": [{\"name\": \"%s\", \"id\": 1, "
		"\"visible\": true, \"pos\": {\"x\": 0.0, \"y\": 0.0}, "
		"\"scale\": {\"x\": 1.0, \"y\": 1.0}, \"align\": 5, \"bounds_type\": 0}]}}, "
		"{\"id\": \"%s\", \"versioned_id\": \"%s\", \"name\": \"%s\", "
		"\"settings\": {%s}}]}\n",
		CT_OBS_SOURCE, obs->options.source_id, obs->options.source_id, CT_OBS_SOURCE,
		obs->options.settings != NULL ? obs->options.settings : "");
	return ct_write_file(obs->collection, text);
}

bool ct_obs_setup(struct ct_obs *obs, struct ct_stack *stack,
		const struct ct_obs_options *options) {
	memset(obs, 0, sizeof(*obs));
	obs->options = *options;
	obs->pid = -1;
	obs->port = free_port();
	snprintf(obs->config, sizeof(obs->config), "%s/obs-studio", stack->config);
	snprintf(obs->collection, sizeof(obs->collection), "%s/basic/scenes/zerocap.json",
		obs->config);
	static int setups;
	snprintf(obs->name, sizeof(obs->name), "recording-%d", ++setups);
	snprintf(obs->recording, sizeof(obs->recording), "%s/%s.mkv", stack->dir, obs->name);
	bool ok = obs->port > 0 && make_dirs(stack->config, "obs-studio/basic/profiles/zerocap") &&
		make_dirs(stack->config, "obs-studio/basic/scenes") &&
		make_dirs(stack->config, "obs-studio/plugin_config/obs-websocket");
	char path[700], text[1024];
	/* FirstRun: the wizard ran; ConfirmOnExit off: no box that blocks quitting. */
	snprintf(path, sizeof(path), "%s/user.ini", obs->config);
	ok = ok && ct_write_file(path, "[General]\nFirstRun=true\nConfirmOnExit=false\n"
		"EnableAutoUpdates=false\n[Basic]\nProfile=zerocap\nProfileDir=zerocap\n"
		"SceneCollection=zerocap\nSceneCollectionFile=zerocap\n"
		"[BasicWindow]\nSysTrayEnabled=false\nWarnBeforeStartingRecord=false\n"
		"WarnBeforeStoppingRecord=false\n");
	snprintf(path, sizeof(path), "%s/plugin_config/obs-websocket/config.json", obs->config);
	snprintf(text, sizeof(text), "{\"alerts_enabled\": false, \"auth_required\": false, "
		"\"first_load\": false, \"server_enabled\": true, \"server_password\": \"\", "
		"\"server_port\": %d}\n", obs->port);
	ok = ok && ct_write_file(path, text);
	ok = ok && write_profile(obs, stack->dir) && write_collection(obs);
	if (ok && options->plugin_dir != NULL) {
		/* The user's plugins: plugins/NAME/bin/64bit/NAME.so and plugins/NAME/data. */
		char sub[300];
		snprintf(sub, sizeof(sub), "obs-studio/plugins/%s/bin/64bit", options->plugin_name);
		ok = make_dirs(stack->config, sub);
		snprintf(sub, sizeof(sub), "obs-studio/plugins/%s/data", options->plugin_name);
		ok = ok && make_dirs(stack->config, sub);
		char target[700];
		snprintf(target, sizeof(target), "%s/%s.so", options->plugin_dir,
			options->plugin_name);
		snprintf(path, sizeof(path), "%s/plugins/%s/bin/64bit/%s.so", obs->config,
			options->plugin_name, options->plugin_name);
		unlink(path); /* from an earlier setup */
		ok = ok && symlink(target, path) == 0;
		ZT_CHECK(ok, "the plugin %s installed as the user's", target);
	}
	return ok;
}

/* ---- obs-websocket (RFC 6455, the client's side, text frames) ---- */

static bool send_all(int fd, const void *data, size_t size) {
	const uint8_t *p = data;
	while (size > 0) {
		ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
		if (n <= 0) {
			return false;
		}
		p += n;
		size -= (size_t)n;
	}
	return true;
}

static bool recv_all(int fd, void *data, size_t size) {
	uint8_t *p = data;
	while (size > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, WS_TIMEOUT_MS) <= 0) {
			return false;
		}
		ssize_t n = recv(fd, p, size, 0);
		if (n <= 0) {
			return false;
		}
		p += n;
		size -= (size_t)n;
	}
	return true;
}

static bool ws_send(int fd, const char *text) {
	size_t len = strlen(text);
	uint8_t header[8] = {0x81}; /* FIN, text */
	size_t n = 2;
	if (len < 126) {
		header[1] = 0x80 | (uint8_t)len;
	} else if (len < 65536) {
		header[1] = 0x80 | 126;
		header[2] = (uint8_t)(len >> 8);
		header[3] = (uint8_t)len;
		n = 4;
	} else {
		return false;
	}
	uint8_t mask[4];
	for (int i = 0; i < 4; i++) {
		mask[i] = (uint8_t)rand();
	}
	char *masked = malloc(len);
	if (masked == NULL) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		masked[i] = (char)(text[i] ^ mask[i % 4]);
	}
	bool ok = send_all(fd, header, n) && send_all(fd, mask, 4) && send_all(fd, masked, len);
	free(masked);
	return ok;
}

/* The next text message (a ping or other control frame is skipped); NULL on failure. */
static char *ws_recv(int fd) {
	for (;;) {
		uint8_t header[2];
		if (!recv_all(fd, header, 2)) {
			return NULL;
		}
		uint64_t len = header[1] & 0x7f;
		if (len == 126 || len == 127) {
			uint8_t ext[8];
			int n = len == 126 ? 2 : 8;
			if (!recv_all(fd, ext, (size_t)n)) {
				return NULL;
			}
			len = 0;
			for (int i = 0; i < n; i++) {
				len = len << 8 | ext[i];
			}
		}
		if ((header[1] & 0x80) != 0 || len > (1u << 24)) {
			return NULL; /* a server never masks */
		}
		char *text = malloc(len + 1);
		if (text == NULL || !recv_all(fd, text, len)) {
			free(text);
			return NULL;
		}
		text[len] = '\0';
		int opcode = header[0] & 0x0f;
		if (opcode == 1) {
			return text;
		}
		free(text);
		if (opcode == 8) {
			return NULL;
		}
	}
}

/* Connects and identifies (Hello, Identify, Identified): the socket, or -1. */
static int ws_connect(struct ct_obs *obs) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)obs->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	char request[512];
	snprintf(request, sizeof(request), "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: emVyb2NhcC10ZXN0LWtleQ==\r\n"
		"Sec-WebSocket-Protocol: obswebsocket.json\r\nSec-WebSocket-Version: 13\r\n\r\n",
		obs->port);
	char response[2048];
	size_t len = 0;
	bool ok = send_all(fd, request, strlen(request));
	/* The handshake's answer ends with an empty line; nothing follows before Hello. */
	while (ok && len + 1 < sizeof(response)) {
		ok = recv_all(fd, response + len, 1);
		len += ok;
		response[len] = '\0';
		if (len >= 4 && strcmp(response + len - 4, "\r\n\r\n") == 0) {
			break;
		}
	}
	ok = ok && strncmp(response, "HTTP/1.1 101", 12) == 0;
	char *hello = ok ? ws_recv(fd) : NULL;
	ok = hello != NULL && strstr(hello, "\"op\":0") != NULL;
	free(hello);
	ok = ok && ws_send(fd, "{\"op\":1,\"d\":{\"rpcVersion\":1,\"eventSubscriptions\":0}}");
	char *identified = ok ? ws_recv(fd) : NULL;
	ok = identified != NULL && strstr(identified, "\"op\":2") != NULL;
	free(identified);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

bool ct_obs_request(struct ct_obs *obs, const char *type, const char *data, char *reply,
		size_t size) {
	if (reply != NULL && size > 0) {
		reply[0] = '\0';
	}
	int fd = ws_connect(obs);
	if (fd < 0) {
		return false;
	}
	char request[2048];
	snprintf(request, sizeof(request), "{\"op\":6,\"d\":{\"requestType\":\"%s\","
		"\"requestId\":\"zerocap\",\"requestData\":%s}}", type, data != NULL ? data : "{}");
	char *response = ws_send(fd, request) ? ws_recv(fd) : NULL;
	close(fd);
	if (response == NULL) {
		return false;
	}
	if (reply != NULL && snprintf(reply, size, "%s", response) < 0) {
		reply[0] = '\0';
	}
	bool ok = strstr(response, "\"op\":7") != NULL && strstr(response, "\"result\":true");
	free(response);
	return ok;
}

bool ct_obs_recording(struct ct_obs *obs) {
	char reply[1024];
	return ct_obs_request(obs, "GetRecordStatus", NULL, reply, sizeof(reply)) &&
		strstr(reply, "\"outputActive\":true") != NULL;
}

bool ct_obs_alive(struct ct_obs *obs) {
	return obs->pid > 0 && waitpid(obs->pid, NULL, WNOHANG) == 0;
}

bool ct_obs_start(struct ct_obs *obs, struct ct_stack *stack, const char *socket) {
	char wayland[400];
	if (socket[0] == '/') {
		snprintf(wayland, sizeof(wayland), "%s", socket);
	} else {
		snprintf(wayland, sizeof(wayland), "%s/%s", getenv("XDG_RUNTIME_DIR"), socket);
	}
	const char *env[16];
	int n = 0;
	for (int i = 0; stack->envp[i] != NULL && n < 12; i++) {
		env[n++] = stack->envp[i];
	}
	env[n++] = "QT_QPA_PLATFORM=wayland";
	env[n++] = "LIBGL_ALWAYS_SOFTWARE=1";
	env[n] = NULL;
	snprintf(obs->log, sizeof(obs->log), "%s-obs-%d.log", obs->name, ++obs->runs);
	const char *argv[] = {"obs", "--profile", "zerocap", "--collection", "zerocap",
		"--scene", "Scene", "--startrecording", "--disable-updater", "--disable-shutdown-check",
		NULL};
	obs->pid = ct_spawn(stack->dir, wayland, argv, env, obs->log);
	bool recording = false;
	int start_ms = obs->options.start_ms > 0 ? obs->options.start_ms : OBS_START_MS;
	for (long start = ct_now_ms(); !recording && ct_now_ms() - start < start_ms;) {
		if (!ct_obs_alive(obs)) {
			break;
		}
		recording = ct_obs_recording(obs);
		if (!recording) {
			usleep(200000);
		}
	}
	ZT_CHECK(recording, "OBS runs and records (%s)", obs->log);
	if (!recording) {
		ct_print_log(stack->dir, obs->log);
	}
	return recording;
}

bool ct_obs_stop_recording(struct ct_obs *obs) {
	char reply[1024];
	bool ok = ct_obs_request(obs, "StopRecord", NULL, reply, sizeof(reply));
	ZT_CHECK(ok, "obs-websocket StopRecord: %s", reply);
	int stop_ms = obs->options.stop_ms > 0 ? obs->options.stop_ms : OBS_STOP_MS;
	for (long start = ct_now_ms(); ok && ct_now_ms() - start < stop_ms;) {
		if (!ct_obs_recording(obs)) {
			return true;
		}
		usleep(100000);
	}
	ZT_CHECK(false, "the recording stopped (within %d ms)", stop_ms);
	return false;
}

bool ct_obs_quit(struct ct_obs *obs, struct ct_stack *stack) {
	if (obs->pid <= 0) {
		return false;
	}
	kill(obs->pid, SIGINT);
	int status = ct_wait(obs->pid, 30000);
	obs->pid = -1;
	bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	/*
	 * OBS 32.2.2 often dies of SIGSEGV in its main window's close event
	 * (obs_canvas_enum_scenes, while it shuts down), with any
	 * source, a colour source too: after it saved everything, so that is
	 * taken as a clean exit, with a note.
	 */
	bool known = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV &&
		ct_file_contains(stack->dir, obs->log, "==== Shutting down");
	if (known) {
		fprintf(stderr, "  note: OBS crashed in its close path after shutting down "
			"(an OBS bug, not ours)\n");
	}
	ZT_CHECK(ok || known, "OBS quits on SIGINT (%s)", ct_status_str(status));
	return ok || known;
}

/* ---- the recording ---- */

void ct_video_finish(struct ct_video *video) {
	free(video->rgb);
	memset(video, 0, sizeof(*video));
}

struct ct_image ct_video_frame(const struct ct_video *video, int i) {
	size_t size = (size_t)video->width * video->height * 3;
	return (struct ct_image){video->width, video->height, video->rgb + size * i};
}

static bool probe(const char *dir, const char *path, struct ct_video *video) {
	const char *argv[] = {"ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height:format=duration",
		"-of", "default=noprint_wrappers=1", path, NULL};
	if (!ct_run(dir, NULL, argv, 60000, "ffprobe.txt")) {
		return false;
	}
	char file[600];
	snprintf(file, sizeof(file), "%s/ffprobe.txt", dir);
	FILE *f = fopen(file, "r");
	char line[256];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "width=", 6) == 0) {
			video->width = atoi(line + 6);
		} else if (strncmp(line, "height=", 7) == 0) {
			video->height = atoi(line + 7);
		} else if (strncmp(line, "duration=", 9) == 0) {
			video->duration = atof(line + 9);
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	unlink(file);
	return video->width > 0 && video->height > 0;
}

bool ct_video_read(const char *dir, const char *path, struct ct_video *video) {
	memset(video, 0, sizeof(*video));
	bool ok = probe(dir, path, video);
	ZT_CHECK(ok, "ffprobe reads %s", path);
	const char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-i", path, "-fps_mode",
		"passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "frames.rgb", NULL};
	ok = ok && ct_run(dir, NULL, argv, 120000, "ffmpeg.log");
	char file[600];
	snprintf(file, sizeof(file), "%s/frames.rgb", dir);
	FILE *f = ok ? fopen(file, "rb") : NULL;
	struct stat st;
	size_t frame = (size_t)video->width * video->height * 3;
	ok = f != NULL && fstat(fileno(f), &st) == 0 && st.st_size > 0 &&
		(size_t)st.st_size % frame == 0;
	video->rgb = ok ? malloc((size_t)st.st_size) : NULL;
	ok = video->rgb != NULL && fread(video->rgb, 1, (size_t)st.st_size, f) == (size_t)st.st_size;
	if (f != NULL) {
		fclose(f);
	}
	unlink(file);
	ZT_CHECK(ok, "ffmpeg decodes %s into whole %dx%d frames", path, video->width,
		video->height);
	if (!ok) {
		ct_video_finish(video);
		return false;
	}
	video->frames = (int)((size_t)st.st_size / frame);
	fprintf(stderr, "  %s: %dx%d, %d frames, %.2f s\n", path, video->width, video->height,
		video->frames, video->duration);
	return true;
}
