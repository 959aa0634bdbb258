#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fixture.h"

static int passed, failed;

void zt_check(bool ok, const char *file, int line, const char *fmt, ...) {
	if (ok) {
		passed++;
		return;
	}
	failed++;
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
}

void zt_section(const char *name) {
	fprintf(stderr, "== %s\n", name);
}

int zt_finish(void) {
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}

static void ensure_runtime_dir(void) {
	const char *dir = getenv("XDG_RUNTIME_DIR");
	if (dir != NULL && access(dir, W_OK) == 0) {
		return;
	}
	char path[] = "/tmp/zt-runtime-XXXXXX";
	if (mkdtemp(path) != NULL) {
		setenv("XDG_RUNTIME_DIR", path, 1);
	}
}

static long elapsed_ms(const struct timespec *start) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * Reads one line into comp->reply, if it starts within timeout_ms. Lines are
 * written whole, so a started one is finished (within a second more).
 */
static bool read_line(struct zt_compositor *comp, int timeout_ms) {
	comp->reply[0] = '\0';
	int fd = fileno(comp->from_child);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	size_t len = 0;
	while (len + 1 < sizeof(comp->reply)) {
		long left = (len > 0 ? timeout_ms + 1000 : timeout_ms) - elapsed_ms(&start);
		if (left < 0) {
			return false;
		}
		fd_set set;
		FD_ZERO(&set);
		FD_SET(fd, &set);
		struct timeval tv = {.tv_sec = 0, .tv_usec = (left < 50 ? left : 50) * 1000};
		if (select(fd + 1, &set, NULL, NULL, &tv) <= 0) {
			continue;
		}
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n <= 0) {
			return false;
		}
		if (c == '\n') {
			break;
		}
		comp->reply[len++] = c;
	}
	comp->reply[len] = '\0';
	return true;
}

static bool is_event(const char *line) {
	return strncmp(line, "event ", 6) == 0;
}

static void queue_event(struct zt_compositor *comp, const char *line) {
	if (comp->events_len == ZT_MAX_EVENTS) {
		comp->events_first = (comp->events_first + 1) % ZT_MAX_EVENTS;
		comp->events_len--;
		comp->events_dropped++;
	}
	int slot = (comp->events_first + comp->events_len) % ZT_MAX_EVENTS;
	snprintf(comp->events[slot], sizeof(comp->events[slot]), "%s", line + 6);
	comp->events_len++;
}

/* Reads the next line that is not an event; events go to the queue. */
static bool read_reply(struct zt_compositor *comp, int timeout_ms) {
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (read_line(comp, timeout_ms - elapsed_ms(&start))) {
		if (!is_event(comp->reply)) {
			return true;
		}
		queue_event(comp, comp->reply);
	}
	return false;
}

const char *zt_next_event(struct zt_compositor *comp, int timeout_ms) {
	if (comp->events_len == 0) {
		if (comp->pid <= 0 || !read_line(comp, timeout_ms)) {
			return NULL;
		}
		if (!is_event(comp->reply)) {
			ZT_CHECK(false, "unexpected line from the compositor: '%s'", comp->reply);
			return NULL;
		}
		queue_event(comp, comp->reply);
	}
	snprintf(comp->event, sizeof(comp->event), "%s", comp->events[comp->events_first]);
	comp->events_first = (comp->events_first + 1) % ZT_MAX_EVENTS;
	comp->events_len--;
	return comp->event;
}

bool zt_compositor_start(struct zt_compositor *comp, const char *const *args) {
	memset(comp, 0, sizeof(*comp));
	const char *path = getenv("ZC_COMPOSITOR");
	if (path == NULL) {
		ZT_CHECK(false, "ZC_COMPOSITOR is not set");
		return false;
	}
	ensure_runtime_dir();
	static int serial;
	snprintf(comp->socket, sizeof(comp->socket), "zt-%d-%d", (int)getpid(), serial++);
	snprintf(comp->log_path, sizeof(comp->log_path), "%s/%s.log", getenv("XDG_RUNTIME_DIR"),
		comp->socket);

	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		ZT_CHECK(false, "pipe: %s", strerror(errno));
		return false;
	}
	const char *argv[64] = {path, "--control", "--socket", comp->socket, "--indicator=off"};
	int argc = 5;
	for (int i = 0; args != NULL && args[i] != NULL && argc < 62; i++) {
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	comp->pid = fork();
	if (comp->pid < 0) {
		ZT_CHECK(false, "fork: %s", strerror(errno));
		return false;
	}
	if (comp->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		int log = open(comp->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (log >= 0) {
			dup2(log, STDERR_FILENO);
			close(log);
		}
		setenv("WLR_BACKENDS", "headless", 1);
		setenv("WLR_RENDERER", getenv("WLR_RENDERER") ? getenv("WLR_RENDERER") : "pixman", 1);
		setenv("WLR_LIBINPUT_NO_DEVICES", "1", 1);
		unsetenv("WAYLAND_DISPLAY");
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	comp->to_child = in[1];
	comp->from_child = fdopen(out[0], "r");

	if (!read_reply(comp, 20000) || strncmp(comp->reply, "ready ", 6) != 0) {
		ZT_CHECK(false, "compositor did not start (got '%s')", comp->reply);
		kill(comp->pid, SIGKILL);
		waitpid(comp->pid, NULL, 0);
		comp->pid = 0;
		return false;
	}
	return true;
}

bool zt_cmd(struct zt_compositor *comp, const char *fmt, ...) {
	char line[1024];
	va_list args;
	va_start(args, fmt);
	int len = vsnprintf(line, sizeof(line) - 1, fmt, args);
	va_end(args);
	if (len < 0 || len >= (int)sizeof(line) - 1) {
		return false;
	}
	line[len++] = '\n';
	if (write(comp->to_child, line, len) != len) {
		ZT_CHECK(false, "cannot write control command");
		return false;
	}
	if (!read_reply(comp, 10000)) {
		ZT_CHECK(false, "no reply to control command '%.*s'", len - 1, line);
		return false;
	}
	return strncmp(comp->reply, "ok", 2) == 0;
}

static void dump_log(struct zt_compositor *comp) {
	FILE *log = fopen(comp->log_path, "r");
	if (log == NULL) {
		return;
	}
	fprintf(stderr, "---- compositor log (%s)\n", comp->socket);
	char line[1024];
	while (fgets(line, sizeof(line), log) != NULL) {
		fputs(line, stderr);
	}
	fprintf(stderr, "---- end of compositor log\n");
	fclose(log);
}

int zt_log_count(struct zt_compositor *comp, const char *text) {
	FILE *log = fopen(comp->log_path, "r");
	if (log == NULL) {
		return -1;
	}
	int n = 0;
	char line[1024];
	while (fgets(line, sizeof(line), log) != NULL) {
		n += strstr(line, text) != NULL;
	}
	fclose(log);
	return n;
}

bool zt_log_contains(struct zt_compositor *comp, const char *text) {
	return zt_log_count(comp, text) > 0;
}

bool zt_compositor_alive(struct zt_compositor *comp) {
	return comp->pid > 0 && waitpid(comp->pid, NULL, WNOHANG) == 0;
}

bool zt_output_add(struct zt_compositor *comp, int width, int height, char *name,
		size_t size) {
	bool ok = zt_cmd(comp, "output add %d %d", width, height) && strlen(comp->reply) > 3;
	ZT_CHECK(ok, "output add: %s", comp->reply);
	if (!ok) {
		return false;
	}
	snprintf(name, size, "%s", comp->reply + 3);
	return true;
}

void zt_output_remove(struct zt_compositor *comp, const char *name) {
	ZT_CHECK(zt_cmd(comp, "output remove %s", name), "output remove %s: %s", name,
		comp->reply);
}

bool zt_compositor_stop(struct zt_compositor *comp) {
	if (comp->pid <= 0) {
		return false;
	}
	static const char quit[] = "quit\n";
	if (write(comp->to_child, quit, sizeof(quit) - 1) < 0) {
		/* it may be gone already: waitpid tells */
	}
	close(comp->to_child);
	int status = 0;
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(comp->pid, &status, WNOHANG);
		if (r == comp->pid) {
			break;
		}
		if (i == 299) {
			kill(comp->pid, SIGKILL);
			waitpid(comp->pid, &status, 0);
			ZT_CHECK(false, "compositor did not quit");
		}
		usleep(50000);
	}
	fclose(comp->from_child);
	comp->pid = 0;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ZT_CHECK(ok, "compositor exit status %d (signal %d)",
		WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	/* The log is kept in the test output when something went wrong. */
	if (failed > 0 || !ok) {
		dump_log(comp);
	}
	unlink(comp->log_path);
	return ok;
}

struct zcc_client *zt_connect(struct zt_compositor *comp) {
	struct zcc_client *client = zcc_client_connect(comp->socket);
	ZT_CHECK(client != NULL, "cannot connect to %s", comp->socket);
	return client;
}

int zt_count_fds(pid_t pid) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid == 0 ? (int)getpid() : (int)pid);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		return -1;
	}
	int n = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] != '.') {
			n++;
		}
	}
	closedir(dir);
	return n - (pid == 0 ? 1 : 0);
}

int zt_count_maps(pid_t pid, const char *name) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	if (maps == NULL) {
		return -1;
	}
	int n = 0;
	char line[1024];
	while (fgets(line, sizeof(line), maps) != NULL) {
		n += strstr(line, name) != NULL;
	}
	fclose(maps);
	return n;
}

long zt_rss_kib(pid_t pid) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *status = fopen(path, "r");
	if (status == NULL) {
		return -1;
	}
	long kib = -1;
	char line[256];
	while (fgets(line, sizeof(line), status) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
			break;
		}
	}
	fclose(status);
	return kib;
}

uint32_t zt_rgba_to_argb(uint32_t rgba) {
	return (rgba >> 8) | (rgba << 24);
}

int zt_count_mismatch(const struct zcc_image *image, int x, int y, int w, int h,
		uint32_t argb) {
	bool alpha = zcc_format_has_alpha(image->format);
	uint32_t mask = alpha ? 0xffffffff : 0x00ffffff;
	int bad = 0;
	for (int j = y; j < y + h; j++) {
		for (int i = x; i < x + w; i++) {
			uint32_t got;
			if (!zcc_image_pixel(image, i, j, &got) || (got & mask) != (argb & mask)) {
				if (bad == 0) {
					fprintf(stderr, "  pixel %d,%d is %08x, expected %08x\n",
						i, j, got, argb);
				}
				bad++;
			}
		}
	}
	return bad;
}
