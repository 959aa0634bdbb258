/*
 * zerocap for tests and benchmarks: counters and fault injection. Not part
 * of what a compositor needs; the reference compositor uses it for its
 * --control commands (stats, fault) and the benchmark harness.
 */
#ifndef ZEROCAP_TESTING_H
#define ZEROCAP_TESTING_H

#include <stdint.h>
#include <zerocap/zerocap.h>

/* Counters exposed for tests and benchmarks; they only ever grow. */
struct zc_capture_stats {
	uint64_t frames_ready;
	uint64_t frames_failed;
	uint64_t bytes_written;     /* pixel bytes written into client buffers */
	uint64_t cpu_pixel_reads;   /* glReadPixels calls reading source pixels to the CPU */
	uint64_t gpu_blits;         /* draws straight into client dma-bufs */
	/*
	 * The longest time one copy of an output image took on the compositor
	 * thread, in ns: the whole CPU copy for shm buffers; for GPU copies the
	 * import and draw submission (the GPU works on after it; a read back
	 * finished when its fence signals is not in it). A maximum, not a sum.
	 */
	uint64_t max_copy_ns;
	/*
	 * GPU copies (dma-buf draws and asynchronous read backs) that finished,
	 * and the sum of their times from submission to the compositor seeing
	 * the fence signalled, in ns: the GPU's time plus the watching step (a
	 * fence fd wakes the event loop at once; a polled fence up to 1 ms late).
	 */
	uint64_t gpu_jobs;
	uint64_t gpu_wait_ns;
};

ZC_API void zc_capture_manager_get_stats(struct zc_capture_manager *manager,
	struct zc_capture_stats *stats);

/*
 * Fault injection: the next count times the named step runs it fails as if
 * the system had failed it. A fault is a transient failure: the copy is tried
 * again (a few times, then the frame fails with unknown); an import fault
 * fails the frame with buffer_constraints. Each gives a log line, never a
 * crash.
 */
enum zc_fault {
	ZC_FAULT_ALLOC, /* memory for a copy */
	ZC_FAULT_CPU_COPY, /* CPU access to the client's buffer */
	ZC_FAULT_READ_BACK, /* reading the output buffer back (GLES2 shm path) */
	ZC_FAULT_IMPORT, /* importing the client's dma-buf into EGL */
	ZC_FAULT_FENCE, /* creating the GPU fence */
	ZC_FAULT_COUNT,
};
ZC_API void zc_capture_manager_inject_fault(struct zc_capture_manager *manager,
	enum zc_fault fault, int count);

#endif
