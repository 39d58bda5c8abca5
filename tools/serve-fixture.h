/*
 * tools/serve-fixture.h — what the serving tests (tests/test_serve.c) and
 * the IPC benchmark (bench/ipc.c) stand on: small models written as
 * `.dnnq` files, the same models run in-process by the engine (the answer
 * the daemon's results must equal bit for bit), and a dnnqd process with a
 * socket in a temporary directory.
 *
 * The header speaks plain C types only (no engine or client structs), so a
 * file that drives dnnqd through client/dnnq.h includes nothing else of the
 * engine; dtype values are those of dnnq.h's enum dnnq_type (U8 1, F32 4).
 * Failures return a DNNQ_E_* code and fill the optional diag with one line.
 */
#ifndef DNNQ_TOOLS_SERVE_FIXTURE_H
#define DNNQ_TOOLS_SERVE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/dnnq_error.h"

/* ---- models -------------------------------------------------------------- */

/*
 *   relu64  x u8 [N, 64] -> Relu -> y u8 [N, 64]: the latency benchmark's
 *           request, as small as a request gets
 *   fc1024  x u8 [N, 1024] -> FC 1024 -> 1024 (per-channel s8 weights, s32
 *           bias) -> y u8 [N, 1024]: enough work to keep a worker busy
 *   multi   a, b u8 [N, 6, 6, 4] -> Add -> Conv 3x3 (ReLU) -> MaxPool 2x2
 *           -> Flatten -> FC 10 -> logits u8 [N, 10] -> Softmax -> prob f32
 *           [N, 10]: two inputs, two outputs, one of them F32
 *
 * and one small model per engine node kind (the hostile suite's: a client
 * may rewrite any input or output while a worker reads it), each with its
 * node reading graph inputs and writing a graph output, and a second node
 * reading that output (caller memory too) into another output:
 *
 *   k-conv        x [N,6,6,4] -> Conv 3x3 -> a -> depthwise Conv 3x3 -> b
 *   k-fc          x [N,64] -> FC 32 -> a -> FC 16 -> b
 *   k-maxpool     x [N,8,8,4] -> MaxPool 2x2/2 -> a -> MaxPool 3x3/1 pad 1 -> b
 *   k-avgpool     the same with AveragePool (the second excluding the pad)
 *   k-gavgpool    x [N,6,6,8] -> GlobalAveragePool -> a -> again -> b
 *   k-eltwise     x, y [N,6,6,4]: a = Add(x, y), b = Mul(a, x),
 *                 c = SumRelu(x, y, a)
 *   k-activation  x [N,64]: a = Sigmoid(x), b = Tanh(a), c = Clip(x)
 *   k-convert     x f32 [N,32] -> Quantize -> a u8 -> Dequantize -> b f32
 *   k-softmax     x [N,16]: q = Softmax(x) f32, r = Relu(x), p = Softmax(r)
 *   k-ewlin       x [N,6,6,8] -> ElementwiseLinear -> a -> again -> b
 *   k-concat      x, y [N,6,6,4]: a = Concat(x, y) on C, b = Concat(a, x)
 *                 on C, c = Concat(x, y) on H
 *   k-reshape     x [N,4,4,4]: c = FC(Reshape(x)), a = Reshape(Relu(x))
 *                 [N,64] (an output that is a view), b = FC(a)
 *
 * and, for the benchmarks, a model of a real network's size:
 *
 *   resnet18      x u8 [N,224,224,3] -> ResNet-18 (20 convolutions with
 *                 ReLU fused, 8 residual SumRelu, max and global average
 *                 pooling, FC 1000) -> logits u8 [N,1000]; 11.7 M weights
 *   mlp           x u8 [N,1024] -> FC 2048 (ReLU) -> FC 2048 (ReLU) -> FC 1024
 *                 -> y u8 [N,1024]: a ranking model's shape (issue 18),
 *                 bound by weight bandwidth at batch 1; 8.4 M weights
 *
 * Weights are random with a fixed seed: every run writes the same bytes.
 */
enum fixture_model {
	FIXTURE_RELU64,
	FIXTURE_FC1024,
	FIXTURE_MULTI,
	FIXTURE_NMODELS,        /* the serving models: FIXTURE_ALL_MODELS */
	FIXTURE_KIND_CONV = FIXTURE_NMODELS,
	FIXTURE_KIND_FC,
	FIXTURE_KIND_MAXPOOL,
	FIXTURE_KIND_AVGPOOL,
	FIXTURE_KIND_GAVGPOOL,
	FIXTURE_KIND_ELTWISE,
	FIXTURE_KIND_ACTIVATION,
	FIXTURE_KIND_CONVERT,
	FIXTURE_KIND_SOFTMAX,
	FIXTURE_KIND_EWLIN,
	FIXTURE_KIND_CONCAT,
	FIXTURE_KIND_RESHAPE,
	FIXTURE_RESNET18,
	FIXTURE_MLP,
	FIXTURE_NMODELS_ALL,    /* every model above */
};

#define FIXTURE_ALL_MODELS ((1u << FIXTURE_NMODELS) - 1)
#define FIXTURE_KIND_MODELS (((1u << FIXTURE_MLP) - 1) & ~FIXTURE_ALL_MODELS)

const char *fixture_model_name(enum fixture_model m);
/* Writes the model's .dnnq file to path (replacing it). */
/* The model's .dnnq bytes in memory (*buf malloc'd: free it). */
int fixture_model_bytes(enum fixture_model which, void **buf, size_t *len,
                        struct dnnq_diag *diag);
int fixture_model_write(enum fixture_model m, const char *path, struct dnnq_diag *diag);

/* ---- the in-process reference -------------------------------------------- */

#define FIXTURE_MAX_IO 16
#define FIXTURE_MAX_RANK 8

/* One input or output of a model's signature. */
struct fixture_io {
	char name[64];
	uint32_t dtype;                 /* 1 U8, 4 F32 */
	uint32_t rank;
	int64_t dims[FIXTURE_MAX_RANK]; /* dims[0] = 1: the batch */
	float scale;                    /* U8 */
	int32_t zero_point;
};

/* The model built from the same description as the file (dnnq_model_build)
 * and run with dnnq_graph_run on the calling thread. One run at a time. */
struct fixture_ref;
struct dnnq_weights_cache;

int fixture_ref_create(enum fixture_model m, struct fixture_ref **out, struct dnnq_diag *diag);
/* The same with the packed weights shared through cache (NULL: its own), as
 * dnnqd's graphs of one model share them: several refs of one model then
 * stream one copy of the weights. Destroy the cache after the refs. */
int fixture_ref_create_shared(enum fixture_model m, struct dnnq_weights_cache *cache,
                              struct fixture_ref **out, struct dnnq_diag *diag);
void fixture_ref_destroy(struct fixture_ref *r);
uint32_t fixture_ref_count(const struct fixture_ref *r, int output);
/* output 0: input i, 1: output i; NULL past the count. */
const struct fixture_io *fixture_ref_io(const struct fixture_ref *r, int output, uint32_t i);
/* Bytes of a tensor of io's dtype and shape at `batch`. */
size_t fixture_io_bytes(const struct fixture_io *io, uint32_t batch);
/* inputs / outputs: buffers for every input / output at `batch` (re-plans
 * when the batch changes). */
int fixture_ref_run(struct fixture_ref *r, uint32_t batch, const void *const *inputs,
                    void *const *outputs);

/* The engine's own conversions with io's scale and zero point (what the
 * daemon does for an F32 tensor where the signature says U8). */
void fixture_quantize(const struct fixture_io *io, const float *x, uint8_t *q, size_t n);
void fixture_dequantize(const struct fixture_io *io, const uint8_t *q, float *x, size_t n);

/* ---- processes ----------------------------------------------------------- */

/* The binary to start: $env_var when set (NULL when not executable), else
 * `name` in bin/ beside the running executable's directory (build/tests/ ->
 * build/bin/, so the same build tree). NULL when there is none. */
const char *fixture_binary(const char *env_var, const char *name);

/* fork(), with the child set to die when the calling thread does
 * (PR_SET_PDEATHSIG): a test that fails or is killed leaves no process. */
pid_t fixture_fork(void);

/* The value in KiB of a line of /proc/PID/status ("VmRSS:", "RssShmem:"),
 * or -1 when there is no such process or line. */
long fixture_status_kib(pid_t pid, const char *key);

/* Waits for pid up to timeout_ms; its wait status, or -1 (still running). */
int fixture_wait(pid_t pid, int timeout_ms);

/* A parent directory for every fixture directory made meanwhile, removed
 * with everything below it by fixture_tmp_end: a test process that dies
 * before its own clean-up leaves nothing behind (run them in the process
 * that outlives the tests: Check's unchecked fixtures). */
void fixture_tmp_begin(void);
void fixture_tmp_end(void);

/* ---- a dnnqd process ----------------------------------------------------- */

#define FIXTURE_MAX_ARGS 64

struct fixture_daemon {
	char dir[256];       /* mkdtemp: the socket, the log, the model files */
	char socket[320];    /* dir/dnnqd.sock */
	char log[320];       /* dir/dnnqd.log: dnnqd's stdout and stderr */
	pid_t pid;           /* 0 while not running */
	int argc;
	char *argv[FIXTURE_MAX_ARGS + 1];
};

/*
 * Writes the models of `models` (bits 1 << enum fixture_model) to dir and
 * starts `dnnqd --socket DIR/dnnqd.sock --model NAME=DIR/NAME.dnnq ...
 * EXTRA...` (extra: NULL-terminated, may be NULL), then connects every 5 ms
 * until dnnq_connect succeeds (up to 20 s). Fails with the exit status and
 * the log's last line when dnnqd exits first.
 */
int fixture_daemon_start(struct fixture_daemon *d, const char *dnnqd, unsigned models,
                         const char *const *extra, struct dnnq_diag *diag);
/* Starts it again with the same arguments (after a stop or a kill). */
int fixture_daemon_restart(struct fixture_daemon *d, struct dnnq_diag *diag);
/* SIGTERM and wait: 0 when dnnqd exited with status 0 (a graceful shutdown,
 * which under ASan includes an empty leak report); otherwise how it ended. */
int fixture_daemon_stop(struct fixture_daemon *d, struct dnnq_diag *diag);
/* SIGKILL and reap. */
void fixture_daemon_kill(struct fixture_daemon *d);
/* Kills it when still running and removes dir; d may be zeroed or stopped. */
void fixture_daemon_destroy(struct fixture_daemon *d);
/* The last up to len - 1 bytes of the log, NUL-terminated. */
void fixture_daemon_log(const struct fixture_daemon *d, char *buf, size_t len);
/* The lines of the whole log that hold needle (a line cut at 2047 bytes). */
unsigned fixture_daemon_log_count(const struct fixture_daemon *d, const char *needle);

/* Sleeps ms milliseconds (through EINTR); CLOCK_MONOTONIC in seconds. */
void fixture_sleep_ms(long ms);
double fixture_now_s(void);

#endif
