/*
 * --bench-stats FILE: measurements for bench/run (docs/benchmarks.md), so
 * that zerocap's capture and wlroots' own (--screencopy=wlroots,
 * --capture=wlroots) are measured the same way in the same binary. Nothing
 * here runs without the option.
 *
 * Recorded in memory while the compositor runs, written to FILE at exit:
 * - every main loop iteration: from the return of epoll_wait to the next
 *   call (the time the compositor thread was busy, wall and thread CPU), with
 *   the output frames and ready events it contained. The loop is libwayland's
 *   (wl_display_run); its epoll_wait is wrapped below;
 * - every output frame handler (render, commit and whatever the commit
 *   signal runs: both screencopy implementations copy there), split at the
 *   output's precommit event: before it the scene is rendered, after it the
 *   backend commits and the commit listeners (the copies) run;
 * - every ready or failed event of a capture frame (zwlr_screencopy_frame_v1
 *   and ext_image_copy_capture_frame_v1), through a protocol logger: when it
 *   was queued, the presentation time it carries, the damage it reports,
 *   zerocap's bytes_written counter at that moment and when the client asked
 *   for that frame (copy, copy_with_damage or capture request);
 * - every 100 ms: thread and process CPU time and RssAnon, RssShmem, RssFile;
 * - at exit: getrusage(RUSAGE_SELF) and zerocap's counters.
 * Records live in pre-reserved anonymous mappings; the memory they have
 * touched is reported with each sample (bench_kb) so it can be subtracted.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wlr/render/gles2.h>
#include <wlr/render/pixman.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/log.h>
#include <zerocap/testing.h>
#include <zerocap/zerocap.h>
#include "server.h"

#define MEM_INTERVAL_MS 100
#define MAX_CLIENTS 256
#define MAX_OUTPUTS 16

struct iter_record {
	uint64_t start_ns;
	uint32_t wall_ns, cpu_ns;
	uint16_t frames, commits, readies;
};

struct frame_record {
	uint64_t start_ns;
	uint32_t wall_ns, cpu_ns;
	uint32_t render_wall_ns, render_cpu_ns; /* up to the precommit event */
	uint16_t readies;
	bool committed;
};

struct ready_record {
	uint64_t sent_ns, presented_ns, damage_px;
	uint64_t request_ns; /* the client's last copy or capture request */
	uint64_t zc_bytes_written; /* zerocap's counter when the event was sent */
	uint16_t client;
	char kind; /* 's' screencopy ready, 'e' ext ready, 'x' failed */
};

struct mem_record {
	uint64_t t_ns, thread_cpu_ns, process_cpu_ns;
	uint32_t rss_anon_kb, rss_shmem_kb, rss_file_kb, bench_kb;
};

/* A fixed reservation; pages count only once written. */
struct record_array {
	void *data;
	size_t size, len, cap;
};

struct bench_output {
	struct comp_bench *bench;
	struct wlr_output *output;
	struct wl_listener precommit;
	struct wl_listener destroy;
};

struct comp_bench {
	struct comp_server *server;
	FILE *out;
	int epoll_fd;
	int status_fd;
	struct wl_protocol_logger *logger;
	struct wl_event_source *mem_timer;

	struct record_array iters, frames, readies, mems;

	bool in_iter;
	uint64_t iter_start_ns, iter_start_cpu;
	uint16_t iter_frames, iter_commits, iter_readies;

	uint64_t frame_start_ns, frame_start_cpu;
	uint64_t frame_precommit_ns, frame_precommit_cpu; /* 0: no precommit yet */
	struct wlr_output *frame_output; /* inside its frame handler, else NULL */
	uint32_t frame_commit_seq;
	uint64_t frame_readies_start;
	uint64_t total_readies;

	/* damage and presentation time announced ahead of the next ready */
	struct wl_resource *pending_resource;
	uint64_t pending_damage_px, pending_presented_ns;

	struct wl_client *clients[MAX_CLIENTS];
	uint64_t request_ns[MAX_CLIENTS]; /* per client: its last copy request */
	int n_clients;

	struct bench_output outputs[MAX_OUTPUTS];
};

static struct comp_bench *active_bench;

static uint64_t clock_ns(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t clamp32(uint64_t v) {
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static bool record_array_init(struct record_array *a, size_t size, size_t cap) {
	a->data = mmap(NULL, size * cap, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->data == MAP_FAILED) {
		a->data = NULL;
		return false;
	}
	a->size = size;
	a->cap = cap;
	return true;
}

static void record_array_finish(struct record_array *a) {
	if (a->data != NULL) {
		munmap(a->data, a->size * a->cap);
	}
}

/* NULL when full: later records are dropped, and counted. */
static void *record_array_add(struct record_array *a) {
	if (a->len == a->cap) {
		return NULL;
	}
	return (char *)a->data + a->size * a->len++;
}

static uint64_t record_array_touched(const struct record_array *a) {
	return a->size * a->len;
}

/*
 * libwayland-server calls epoll_wait once per wl_event_loop_dispatch; this
 * definition in the executable comes before libc's for it. Only the main
 * loop's epoll fd is timed, only with --bench-stats.
 */
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
	struct comp_bench *bench = active_bench;
	bool timed = bench != NULL && epfd == bench->epoll_fd;
	if (timed && bench->in_iter) {
		struct iter_record *r = record_array_add(&bench->iters);
		if (r != NULL) {
			*r = (struct iter_record){
				.start_ns = bench->iter_start_ns,
				.wall_ns = clamp32(clock_ns(CLOCK_MONOTONIC) - bench->iter_start_ns),
				.cpu_ns = clamp32(clock_ns(CLOCK_THREAD_CPUTIME_ID) - bench->iter_start_cpu),
				.frames = bench->iter_frames,
				.commits = bench->iter_commits,
				.readies = bench->iter_readies,
			};
		}
	}
	int n = epoll_pwait(epfd, events, maxevents, timeout, NULL);
	if (timed) {
		bench->in_iter = true;
		bench->iter_start_ns = clock_ns(CLOCK_MONOTONIC);
		bench->iter_start_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		bench->iter_frames = bench->iter_commits = bench->iter_readies = 0;
	}
	return n;
}

static uint16_t client_index(struct comp_bench *bench, struct wl_client *client) {
	for (int i = 0; i < bench->n_clients; i++) {
		if (bench->clients[i] == client) {
			return (uint16_t)i;
		}
	}
	if (bench->n_clients == MAX_CLIENTS) {
		return MAX_CLIENTS;
	}
	bench->clients[bench->n_clients] = client;
	return (uint16_t)bench->n_clients++;
}

static void add_ready(struct comp_bench *bench, struct wl_resource *resource, char kind,
		uint64_t presented_ns) {
	struct zc_capture_stats stats = {0};
	if (bench->server->capture_manager != NULL) {
		zc_capture_manager_get_stats(bench->server->capture_manager, &stats);
	}
	struct ready_record *r = record_array_add(&bench->readies);
	if (r != NULL) {
		*r = (struct ready_record){
			.zc_bytes_written = stats.bytes_written,
			.sent_ns = clock_ns(CLOCK_MONOTONIC),
			.presented_ns = presented_ns,
			.damage_px = bench->pending_damage_px,
			.client = client_index(bench, wl_resource_get_client(resource)),
			.kind = kind,
		};
		r->request_ns = r->client < MAX_CLIENTS ? bench->request_ns[r->client] : 0;
	}
	if (kind != 'x') {
		bench->total_readies++;
		bench->iter_readies++;
	}
	bench->pending_resource = NULL;
}

static uint64_t timestamp_ns(const union wl_argument *args) {
	uint64_t sec = ((uint64_t)args[0].u << 32) | args[1].u;
	return sec * 1000000000u + args[2].u;
}

static void handle_protocol_message(void *data, enum wl_protocol_logger_type direction,
		const struct wl_protocol_logger_message *message) {
	struct comp_bench *bench = data;
	const char *name = message->message->name;
	if (direction == WL_PROTOCOL_LOGGER_REQUEST) {
		/* copy, copy_with_damage (zwlr_screencopy_frame_v1), capture (ext) */
		if (name[0] == 'c' && (strcmp(name, "copy_with_damage") == 0 ||
				strcmp(name, "copy") == 0 || strcmp(name, "capture") == 0)) {
			const char *interface = wl_resource_get_class(message->resource);
			if (strcmp(interface, "zwlr_screencopy_frame_v1") == 0 ||
					strcmp(interface, "ext_image_copy_capture_frame_v1") == 0) {
				uint16_t i = client_index(bench, wl_resource_get_client(message->resource));
				if (i < MAX_CLIENTS) {
					bench->request_ns[i] = clock_ns(CLOCK_MONOTONIC);
				}
			}
		}
		return;
	}
	if (name[0] != 'r' && name[0] != 'd' && name[0] != 'p' && name[0] != 'f') {
		return;
	}
	const char *interface = wl_resource_get_class(message->resource);
	bool screencopy = strcmp(interface, "zwlr_screencopy_frame_v1") == 0;
	if (!screencopy && strcmp(interface, "ext_image_copy_capture_frame_v1") != 0) {
		return;
	}
	if (bench->pending_resource != message->resource) {
		bench->pending_resource = message->resource;
		bench->pending_damage_px = 0;
		bench->pending_presented_ns = 0;
	}
	const union wl_argument *args = message->arguments;
	if (strcmp(name, "damage") == 0) {
		bench->pending_damage_px += (uint64_t)args[2].u * args[3].u;
	} else if (strcmp(name, "presentation_time") == 0) {
		bench->pending_presented_ns = timestamp_ns(args);
	} else if (strcmp(name, "ready") == 0) {
		add_ready(bench, message->resource, screencopy ? 's' : 'e',
			screencopy ? timestamp_ns(args) : bench->pending_presented_ns);
	} else if (strcmp(name, "failed") == 0) {
		add_ready(bench, message->resource, 'x', 0);
	}
}

static uint32_t status_field_kb(const char *status, const char *field) {
	const char *p = strstr(status, field);
	return p != NULL ? (uint32_t)strtoul(p + strlen(field), NULL, 10) : 0;
}

static int handle_mem_timer(void *data) {
	struct comp_bench *bench = data;
	char status[4096];
	ssize_t n = bench->status_fd >= 0 ?
		pread(bench->status_fd, status, sizeof(status) - 1, 0) : -1;
	status[n > 0 ? n : 0] = '\0';
	uint64_t touched = record_array_touched(&bench->iters) +
		record_array_touched(&bench->frames) + record_array_touched(&bench->readies) +
		record_array_touched(&bench->mems);
	struct mem_record *r = record_array_add(&bench->mems);
	if (r != NULL) {
		*r = (struct mem_record){
			.t_ns = clock_ns(CLOCK_MONOTONIC),
			.thread_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID),
			.process_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID),
			.rss_anon_kb = status_field_kb(status, "RssAnon:"),
			.rss_shmem_kb = status_field_kb(status, "RssShmem:"),
			.rss_file_kb = status_field_kb(status, "RssFile:"),
			.bench_kb = (uint32_t)((touched + 4095) / 4096 * 4),
		};
	}
	wl_event_source_timer_update(bench->mem_timer, MEM_INTERVAL_MS);
	return 0;
}

static void handle_output_precommit(struct wl_listener *listener, void *data) {
	struct bench_output *bo = wl_container_of(listener, bo, precommit);
	struct comp_bench *bench = bo->bench;
	if (bench->frame_output == bo->output && bench->frame_precommit_ns == 0) {
		bench->frame_precommit_ns = clock_ns(CLOCK_MONOTONIC);
		bench->frame_precommit_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	}
}

static void bench_output_forget(struct bench_output *bo) {
	wl_list_remove(&bo->precommit.link);
	wl_list_remove(&bo->destroy.link);
	bo->output = NULL;
}

static void handle_output_destroy(struct wl_listener *listener, void *data) {
	struct bench_output *bo = wl_container_of(listener, bo, destroy);
	bench_output_forget(bo);
}

/* Watches the output's precommit event, once. */
static void watch_output(struct comp_bench *bench, struct wlr_output *output) {
	struct bench_output *free_slot = NULL;
	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (bench->outputs[i].output == output) {
			return;
		}
		if (bench->outputs[i].output == NULL && free_slot == NULL) {
			free_slot = &bench->outputs[i];
		}
	}
	if (free_slot == NULL) {
		return;
	}
	free_slot->bench = bench;
	free_slot->output = output;
	free_slot->precommit.notify = handle_output_precommit;
	wl_signal_add(&output->events.precommit, &free_slot->precommit);
	free_slot->destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &free_slot->destroy);
}

void bench_frame_begin(struct comp_output *output) {
	struct comp_bench *bench = output->server->bench;
	if (bench == NULL) {
		return;
	}
	watch_output(bench, output->wlr_output);
	bench->frame_output = output->wlr_output;
	bench->frame_precommit_ns = 0;
	bench->frame_start_ns = clock_ns(CLOCK_MONOTONIC);
	bench->frame_start_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bench->frame_commit_seq = output->wlr_output->commit_seq;
	bench->frame_readies_start = bench->total_readies;
}

void bench_frame_end(struct comp_output *output) {
	struct comp_bench *bench = output->server->bench;
	if (bench == NULL) {
		return;
	}
	uint64_t end_ns = clock_ns(CLOCK_MONOTONIC);
	uint64_t end_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bool committed = output->wlr_output->commit_seq != bench->frame_commit_seq;
	bench->frame_output = NULL;
	if (bench->frame_precommit_ns == 0) {
		bench->frame_precommit_ns = end_ns;
		bench->frame_precommit_cpu = end_cpu;
	}
	struct frame_record *r = record_array_add(&bench->frames);
	if (r != NULL) {
		*r = (struct frame_record){
			.start_ns = bench->frame_start_ns,
			.wall_ns = clamp32(end_ns - bench->frame_start_ns),
			.cpu_ns = clamp32(end_cpu - bench->frame_start_cpu),
			.render_wall_ns = clamp32(bench->frame_precommit_ns - bench->frame_start_ns),
			.render_cpu_ns = clamp32(bench->frame_precommit_cpu - bench->frame_start_cpu),
			.readies = (uint16_t)(bench->total_readies - bench->frame_readies_start),
			.committed = committed,
		};
	}
	bench->iter_frames++;
	bench->iter_commits += committed;
}

bool bench_init(struct comp_server *server, const char *path) {
	struct comp_bench *bench = calloc(1, sizeof(*bench));
	if (bench == NULL) {
		return false;
	}
	bench->server = server;
	bench->out = fopen(path, "w");
	if (bench->out == NULL) {
		wlr_log_errno(WLR_ERROR, "Cannot write %s", path);
		free(bench);
		return false;
	}
	bench->epoll_fd = wl_event_loop_get_fd(server->event_loop);
	bench->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (!record_array_init(&bench->iters, sizeof(struct iter_record), 1 << 22) ||
			!record_array_init(&bench->frames, sizeof(struct frame_record), 1 << 20) ||
			!record_array_init(&bench->readies, sizeof(struct ready_record), 1 << 22) ||
			!record_array_init(&bench->mems, sizeof(struct mem_record), 1 << 16)) {
		wlr_log(WLR_ERROR, "Cannot reserve memory for --bench-stats");
		bench->mem_timer = NULL;
		server->bench = bench;
		bench_finish(server);
		return false;
	}
	bench->logger = wl_display_add_protocol_logger(server->display,
		handle_protocol_message, bench);
	bench->mem_timer = wl_event_loop_add_timer(server->event_loop, handle_mem_timer, bench);
	if (bench->logger == NULL || bench->mem_timer == NULL) {
		server->bench = bench;
		bench_finish(server);
		return false;
	}
	handle_mem_timer(bench);
	server->bench = bench;
	active_bench = bench;
	return true;
}

static const char *renderer_name(struct comp_server *server) {
	if (server->renderer != NULL && wlr_renderer_is_gles2(server->renderer)) {
		return "gles2";
	}
	if (server->renderer != NULL && wlr_renderer_is_pixman(server->renderer)) {
		return "pixman";
	}
	return "other";
}

static void write_stats(struct comp_bench *bench) {
	struct comp_server *server = bench->server;
	FILE *f = bench->out;
	static const char *screencopy_names[] = {
		[COMP_SCREENCOPY_NONE] = "none",
		[COMP_SCREENCOPY_WLROOTS] = "wlroots",
		[COMP_SCREENCOPY_ZEROCAP] = "zerocap",
	};
	fprintf(f, "# zerocap-compositor --bench-stats v1\n");
	fprintf(f, "info capture=%s screencopy=%s renderer=%s\n",
		server->options->capture == COMP_CAPTURE_WLROOTS ? "wlroots" : "zerocap",
		screencopy_names[server->options->screencopy], renderer_name(server));
	if (server->capture_manager != NULL) {
		struct zc_capture_stats stats = {0};
		zc_capture_manager_get_stats(server->capture_manager, &stats);
		fprintf(f, "zc frames_ready=%llu frames_failed=%llu bytes_written=%llu "
			"cpu_pixel_reads=%llu gpu_blits=%llu max_copy_ns=%llu gpu_jobs=%llu "
			"gpu_wait_ns=%llu\n",
			(unsigned long long)stats.frames_ready, (unsigned long long)stats.frames_failed,
			(unsigned long long)stats.bytes_written,
			(unsigned long long)stats.cpu_pixel_reads,
			(unsigned long long)stats.gpu_blits, (unsigned long long)stats.max_copy_ns,
			(unsigned long long)stats.gpu_jobs, (unsigned long long)stats.gpu_wait_ns);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "rusage utime_ns=%llu stime_ns=%llu maxrss_kb=%ld minflt=%ld majflt=%ld "
		"nvcsw=%ld nivcsw=%ld\n",
		(unsigned long long)ru.ru_utime.tv_sec * 1000000000ull + ru.ru_utime.tv_usec * 1000ull,
		(unsigned long long)ru.ru_stime.tv_sec * 1000000000ull + ru.ru_stime.tv_usec * 1000ull,
		ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw);
	fprintf(f, "dropped iters=%d frames=%d readies=%d\n",
		bench->iters.len == bench->iters.cap, bench->frames.len == bench->frames.cap,
		bench->readies.len == bench->readies.cap);

	const struct iter_record *it = bench->iters.data;
	for (size_t i = 0; i < bench->iters.len; i++) {
		fprintf(f, "i %llu %u %u %u %u %u\n", (unsigned long long)it[i].start_ns,
			it[i].wall_ns, it[i].cpu_ns, it[i].frames, it[i].commits, it[i].readies);
	}
	const struct frame_record *fr = bench->frames.data;
	for (size_t i = 0; i < bench->frames.len; i++) {
		fprintf(f, "f %llu %u %u %d %u %u %u\n", (unsigned long long)fr[i].start_ns,
			fr[i].wall_ns, fr[i].cpu_ns, fr[i].committed, fr[i].readies,
			fr[i].render_wall_ns, fr[i].render_cpu_ns);
	}
	const struct ready_record *rr = bench->readies.data;
	for (size_t i = 0; i < bench->readies.len; i++) {
		fprintf(f, "%c %llu %llu %u %llu %llu %llu\n", rr[i].kind,
			(unsigned long long)rr[i].sent_ns, (unsigned long long)rr[i].presented_ns,
			rr[i].client, (unsigned long long)rr[i].damage_px,
			(unsigned long long)rr[i].zc_bytes_written,
			(unsigned long long)rr[i].request_ns);
	}
	const struct mem_record *m = bench->mems.data;
	for (size_t i = 0; i < bench->mems.len; i++) {
		fprintf(f, "m %llu %llu %llu %u %u %u %u\n", (unsigned long long)m[i].t_ns,
			(unsigned long long)m[i].thread_cpu_ns, (unsigned long long)m[i].process_cpu_ns,
			m[i].rss_anon_kb, m[i].rss_shmem_kb, m[i].rss_file_kb, m[i].bench_kb);
	}
}

void bench_finish(struct comp_server *server) {
	struct comp_bench *bench = server->bench;
	if (bench == NULL) {
		return;
	}
	active_bench = NULL;
	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (bench->outputs[i].output != NULL) {
			bench_output_forget(&bench->outputs[i]);
		}
	}
	if (bench->logger != NULL) {
		handle_mem_timer(bench);
		write_stats(bench);
		wl_protocol_logger_destroy(bench->logger);
	}
	if (bench->mem_timer != NULL) {
		wl_event_source_remove(bench->mem_timer);
	}
	if (bench->status_fd >= 0) {
		close(bench->status_fd);
	}
	fclose(bench->out);
	record_array_finish(&bench->iters);
	record_array_finish(&bench->frames);
	record_array_finish(&bench->readies);
	record_array_finish(&bench->mems);
	free(bench);
	server->bench = NULL;
}
