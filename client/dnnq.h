/*
 * dnnq.h — libdnnq-client: run int8 models served by dnnqd, through shared
 * memory, with no copy on the data path.
 *
 *   struct dnnq_client *c;
 *   struct dnnq_model *m;
 *   dnnq_connect(NULL, NULL, &c);            // $DNNQ_SOCKET or the default
 *   dnnq_model_open(c, "digits", &m);
 *   struct dnnq_tensor in, out;
 *   dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &in);   // batch 1, model dtype
 *   dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &out);
 *   memcpy(in.data, pixels, in.bytes);
 *   const struct dnnq_tensor *ins[] = { &in };
 *   struct dnnq_tensor *outs[] = { &out };
 *   int rc = dnnq_infer(m, ins, outs, 1000);   // out.data holds the result
 *   ...
 *   dnnq_tensor_free(c, &in); dnnq_tensor_free(c, &out);
 *   dnnq_model_close(m); dnnq_close(c);
 *
 * Connection. dnnq_connect opens a Unix SOCK_SEQPACKET socket to dnnqd,
 * which checks the caller's credentials and hands over a sealed shared
 * memory region: a submission ring, request slots and a tensor arena.
 * Tensors live in the arena; dnnqd reads inputs and writes outputs there.
 *
 * Types. A model's signature gives each input and output a dtype (U8 with a
 * scale and zero point, or F32) and a shape whose dims[0] is the batch.
 * Tensors passed to dnnq_infer / dnnq_submit have the signature's rank and
 * dims (dims[0] = the batch, 1..max_batch, the same for all), and either the
 * signature's dtype (zero copy) or F32 where the signature says U8: the
 * daemon then quantizes the input / dequantizes the output with the
 * signature's scale and zero point (a copy, counted in bytes_copied).
 *
 * Threads. Every function may be called from any thread; one client serves
 * many threads (each request uses its own slot). A model handle and tensors
 * belong to their client and must not outlive it.
 *
 * Failure. Functions return 0 (or a count) on success and a negative
 * DNNQ_E_* code otherwise, never another value (a code the daemon sends
 * that this library does not know is DNNQ_E_PROTO); dnnq_strerror() gives the code's text and
 * dnnq_last_error() a line that says what failed and why (the socket path
 * and the system's reason for a connect, the daemon's own message when it
 * refuses a session). When dnnqd dies
 * or restarts, every waiting call returns DNNQ_E_DISCONNECTED within 100 ms
 * and so does every later call on that client: dnnq_close it and
 * dnnq_connect again once the daemon is back.
 *
 * C++: the header compiles as C++11 and later. The functions dnnq_stats
 * and dnnq_model_stats hide the structs of those names: write
 * `struct dnnq_stats s{};`.
 *
 * Link with `pkg-config --libs dnnq-client` (libc and pthread only).
 */
#ifndef DNNQ_H
#define DNNQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
/* dnnq_stats() and dnnq_model_stats() share their structs' names, as
 * stat() does (C++ names those structs with `struct`); g++'s -Wshadow
 * takes each for a function hiding a constructor, which would stop a
 * C++ program built with -Wshadow -Werror at this header. */
#ifdef __GNUC__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#endif

/* ---- status codes -------------------------------------------------------- */

#include "shm/dnnq_error.h"

/* The message of the calling thread's last failed dnnq call: one line
 * naming what failed and why, e.g. "connect to /run/dnnq/dnnqd.sock (the
 * default socket): No such file or directory; no such socket: is dnnqd
 * running? ...". Every public function that returns a negative code other
 * than DNNQ_E_AGAIN writes it; calls that succeed leave it as it was. ""
 * before the first failure. The pointer is the thread's own (valid until
 * the thread ends), the text good until its next failing call. */
const char *dnnq_last_error(void);

/* dnnq's one version, written only here: every tool's --version (dnnqd,
 * dnnqctl, dnnq-convert, dnnq-run, dnnq-inspect, dnnq-calibrate), the
 * library's (the "(0.N)" notes below), dnnq-client.pc's (the Makefile
 * reads it from here), the Python package's (make check-api holds
 * python/pyproject.toml and dnnq.__version__ to it). */
#define DNNQ_VERSION "0.7.0"
#define DNNQ_CLIENT_VERSION DNNQ_VERSION	/* its name before 0.7 */
#define DNNQ_MAX_RANK 8
#define DNNQ_MAX_IO 16            /* inputs + outputs of a model */
#define DNNQ_DEFAULT_SOCKET "/run/dnnq/dnnqd.sock"

/* Element types (the values the daemon uses on the wire). */
enum dnnq_type {
	DNNQ_TYPE_U8  = 1,
	DNNQ_TYPE_S8  = 2,
	DNNQ_TYPE_S32 = 3,
	DNNQ_TYPE_F32 = 4,
};

struct dnnq_client;
struct dnnq_model;

/* ---- connection ---------------------------------------------------------- */

/* Zero-initialise and set what you need; NULL means all defaults. */
struct dnnq_connect_opts {
	uint32_t slots;          /* requests in flight at most; 0: 64, or
	                            dnnqd's limits.max_inflight when lower */
	uint64_t arena_bytes;    /* tensor arena; 0: 64 MiB */
	int32_t  spin_us;        /* spin on a result before sleeping, while the
	                            model's recent waits fit in it; <0: never
	                            spin, 0: 50 µs */
	int32_t  timeout_ms;     /* connect + control replies; 0: 5000; < 0 is
	                            DNNQ_E_INVAL (nothing waits forever) */
};

/* path NULL: $DNNQ_SOCKET when set, else the default socket, the same rule
 * dnnqd follows for its own default: for root DNNQ_DEFAULT_SOCKET (where
 * the system service listens); for any other user
 * $XDG_RUNTIME_DIR/dnnq/dnnqd.sock (a dnnqd of their own) when the
 * variable is set and absolute and that socket exists, else
 * DNNQ_DEFAULT_SOCKET. A failure's dnnq_last_error() names the path tried,
 * the system's reason and a hint. DNNQ_E_INVAL
 * for a path longer than a Unix socket address holds, DNNQ_E_IO when
 * nothing listens, DNNQ_E_PERM when dnnqd refuses the caller or the
 * caller refuses what listens (its uid, SO_PEERCRED, none of root, the
 * caller's, the owner of a socket directory only root and that uid may
 * change, or $DNNQ_DAEMON_UID's: another user's program on a path under
 * /tmp taken while dnnqd was down; dnnq(3), "The daemon's uid"), DNNQ_E_NOMEM
 * when the region asked for is over the daemon's limit, DNNQ_E_TIMEDOUT
 * when it does not answer within timeout_ms, DNNQ_E_VERSION / _PROTO when
 * it speaks another protocol or its answer is malformed. */
int dnnq_connect(const char *path, const struct dnnq_connect_opts *opts,
                 struct dnnq_client **out);
/* Frees the client, its models and arena; requests still in flight are
 * abandoned (dnnqd finishes them into the closed region). NULL is a no-op.
 * It touches only the calling process: after fork(2) both processes hold
 * the one session, and only one of them may go on using it (two using it
 * get each other's results); the other dnnq_closes its copy, which leaves
 * the session to the first. The Python package closes its clients in a
 * forked child. */
void dnnq_close(struct dnnq_client *c);
/* (0.4) dnnq_close for a caller that may still hold pointers into the
 * arena afterwards, such as a language binding whose arrays view tensors:
 * instead of unmapping the shared region, replaces it in place with
 * private zero pages of the same size (no longer shared with dnnqd, never
 * unmapped in between) and hands that mapping to the caller, who
 * munmap(*base, *size)s it once nothing points into it. Reads through an
 * old tensor then see zeros and writes stay private, where after
 * dnnq_close they would fault. *base is NULL and *size 0 when c is NULL
 * (or base or size is, which closes c as dnnq_close does). */
void dnnq_close_keep_mapping(struct dnnq_client *c, void **base, size_t *size);

/* An fd that becomes readable when a request of this client completes (an
 * AF_UNIX datagram socket, non-blocking; dnnq_connect refuses a HELLO
 * reply carrying anything else): read some of it (each completion queues
 * a one-byte datagram, until the queue is full), then dnnq_poll the
 * requests in flight. Read with recv(fd, buf, n, MSG_DONTWAIT), not
 * read(): O_NONBLOCK is the open file's flag, and the daemon that made the
 * socket may hold it too and clear it. Read a bounded number a wake-up
 * (the Python package reads 64) rather than until EAGAIN: a
 * level-triggered poll wakes again while bytes are left, and a hostile
 * daemon that kept sending would never let the EAGAIN come. The first
 * call arms it (from then on each completion costs the daemon one send);
 * the fd belongs to the client, and nothing done to it can slow the
 * daemon. A daemon that dies never makes it readable: wait on it with a
 * timeout and dnnq_poll, which then reports DNNQ_E_DISCONNECTED. */
int dnnq_event_fd(struct dnnq_client *c);

/* ---- models -------------------------------------------------------------- */

/* DNNQ_E_NOTFOUND when dnnqd serves no model of that name. */
int dnnq_model_open(struct dnnq_client *c, const char *name, struct dnnq_model **out);
void dnnq_model_close(struct dnnq_model *m);

/* The name of the daemon's index-th model into buf (at most len bytes, NUL
 * included; DNNQ_E_NOSPACE when it does not fit, buf NULL with len 0 to
 * count only); returns how many models it serves, or DNNQ_E_NOTFOUND past
 * the end. */
int dnnq_model_name(struct dnnq_client *c, uint32_t index, char *buf, size_t len);

enum dnnq_io_kind { DNNQ_INPUT = 0, DNNQ_OUTPUT = 1 };

struct dnnq_io_info {
	const char *name;        /* valid while the model handle is */
	enum dnnq_type dtype;    /* U8, S8 (int8 models' edges), S32 (integer sums) or F32 */
	uint32_t rank;
	int64_t dims[DNNQ_MAX_RANK];   /* dims[0] = 1: the batch */
	float scale;             /* U8, S8: real = scale * (q - zero_point) */
	int32_t zero_point;
};

const char *dnnq_model_name_of(const struct dnnq_model *m);
uint32_t dnnq_model_num_inputs(const struct dnnq_model *m);
uint32_t dnnq_model_num_outputs(const struct dnnq_model *m);
uint32_t dnnq_model_max_batch(const struct dnnq_model *m);
uint32_t dnnq_model_generation(const struct dnnq_model *m);
/* DNNQ_E_RANGE for an index past the count. */
int dnnq_model_io(const struct dnnq_model *m, enum dnnq_io_kind kind, uint32_t i,
                  struct dnnq_io_info *out);

/* ---- tensors in the shared arena ----------------------------------------- */

/* A tensor in the arena. data is 64-byte aligned; write inputs and read
 * outputs through it. Filled by dnnq_tensor_alloc*, fields read-only. */
struct dnnq_tensor {
	void *data;
	size_t bytes;
	enum dnnq_type dtype;
	uint32_t rank;
	int64_t dims[DNNQ_MAX_RANK];
	uint64_t offset;         /* in the arena (private to the library) */
};

/* rank 1..DNNQ_MAX_RANK, every dim >= 1. DNNQ_E_DTYPE / _SHAPE for a bad
 * dtype / shape, DNNQ_E_RANGE when the size overflows, DNNQ_E_NOSPACE when
 * the arena has no block that large. */
int dnnq_tensor_alloc(struct dnnq_client *c, enum dnnq_type dtype, uint32_t rank,
                      const int64_t *dims, struct dnnq_tensor *out);
/* The model's i-th input or output at `batch`, in its signature dtype. */
int dnnq_tensor_alloc_io(struct dnnq_model *m, enum dnnq_io_kind kind, uint32_t i,
                         uint32_t batch, struct dnnq_tensor *out);
/* Frees a tensor alloc'd from c (its fields are cleared): its space goes to
 * the next allocation at once, so free it only when no request in flight
 * names it. A request dnnq_infer abandoned on a timeout keeps its tensors
 * dnnqd's until it ends, which no call reports: keep them (unused) until
 * dnnq_close, or use dnnq_submit and dnnq_wait, whose timeout leaves the
 * request to be polled to its end. */
void dnnq_tensor_free(struct dnnq_client *c, struct dnnq_tensor *t);

/* ---- inference ----------------------------------------------------------- */

/* Synchronous: inputs[dnnq_model_num_inputs(m)], outputs[num_outputs].
 * timeout_ms < 0 waits forever. On DNNQ_E_TIMEDOUT the request is abandoned:
 * its slot is reused only once dnnqd has finished with it, and the outputs
 * may still be written. */
int dnnq_infer(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
               struct dnnq_tensor *const *outputs, int timeout_ms);

/* Asynchronous: many in flight (up to the session's slots). The struct is
 * the caller's; its fields are private. */
struct dnnq_request {
	struct dnnq_client *client;
	uint32_t slot;
	uint32_t ticket;
};

/* DNNQ_E_BUSY when every slot is in flight. Checked before submitting (and
 * again by dnnqd): DNNQ_E_INVAL for a NULL or a tensor not allocated from
 * this client, DNNQ_E_DTYPE, DNNQ_E_SHAPE (rank, dims or a batch that
 * differs between tensors), DNNQ_E_RANGE for a batch outside
 * 1..max_batch; dnnq_last_error() then names the model, the tensor and the
 * field. A failed request reports dnnqd's status, e.g.
 * DNNQ_E_MODEL_CHANGED. */
int dnnq_submit(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
                struct dnnq_tensor *const *outputs, struct dnnq_request *req);
/* DNNQ_E_AGAIN while the request runs; then its status (0 or DNNQ_E_*),
 * once: the request is then finished and a further call gives
 * DNNQ_E_INVAL. */
int dnnq_poll(struct dnnq_request *req);
/* Like dnnq_poll, sleeping up to timeout_ms (< 0: forever) for the end;
 * DNNQ_E_TIMEDOUT leaves the request in flight. */
int dnnq_wait(struct dnnq_request *req, int timeout_ms);

/* ---- statistics ---------------------------------------------------------- */

/* scope: what requests, failures, bytes_copied and sessions count. dnnqd
 * gives the whole daemon's (DNNQ_STATS_SCOPE_DAEMON) to root and its own
 * uid, and to everyone when its config says access.public_stats: true;
 * any other client gets its own uid's open sessions' (DNNQ_STATS_SCOPE_UID). */
#define DNNQ_STATS_SCOPE_DAEMON 0
#define DNNQ_STATS_SCOPE_UID    1

struct dnnq_stats {
	uint64_t uptime_ns;
	uint64_t requests, failures;         /* completed, in the scope */
	uint64_t bytes_copied;               /* 0 when every request is zero-copy */
	uint64_t session_requests, session_failures;
	uint32_t sessions, models, workers, pid;
	uint32_t scope;                      /* DNNQ_STATS_SCOPE_* */
	char status[256];                    /* the daemon's state in one line */
};

int dnnq_stats(struct dnnq_client *c, struct dnnq_stats *out);

/* Per-model counters (0.3; queued and queue_ns 0.5; team_requests and
 * team_workers 0.6), since dnnqd started,
 * by model: requests that named the model, failures among them, samples
 * (the batch items of the successful ones), run_ns (in the daemon, from the
 * request's check to the end of its run: copies, quantization, the graph),
 * queue_ns (from the client's submit to that check: the time the request
 * waited for a worker, summed over `queued` requests, those whose submit
 * time the daemon could use; this library stamps every request),
 * team_requests (those that ran on more than one worker: a model with
 * threads > 1 while other workers were idle) with team_workers (the
 * workers they ran on, summed) and a
 * latency histogram of the run time: latency[i] counts the
 * requests (every counted one, failed or not) with a time <= the i-th
 * bound of DNNQ_LATENCY_BOUNDS_US (not cumulative), the last bucket the
 * rest (+Inf), so the buckets sum to requests. A reloaded model keeps its
 * counts. These are daemon-wide figures: dnnqd gives them to root, its own
 * uid, or everyone under access.public_stats; others get DNNQ_E_PERM.
 * index counts the served models in order, like a listing;
 * DNNQ_E_NOTFOUND past the end. */
/* 0.6: runs (graph runs), run_items (their batch items: run_items / runs
 * is the mean executed batch), expired (partial batches run at their
 * max_queue_delay_us deadline), waiting (requests held in partial batches
 * now: the model's queue depth) and batches[i], the runs with at most the
 * i-th bound of DNNQ_BATCH_BOUNDS items (the last bucket the rest). Dynamic
 * batching (docs/config.md) gathers requests of several sessions into one
 * run; without it every request is one run. */
#define DNNQ_LATENCY_BUCKETS 12
#define DNNQ_LATENCY_BOUNDS_US { 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, \
	50000, 100000 }

struct dnnq_model_stats {
	char name[64];
	uint32_t model_id, generation;
	uint32_t models;                     /* served now */
	uint64_t requests, failures, samples;
	uint64_t run_ns;
	uint64_t latency[DNNQ_LATENCY_BUCKETS];
	uint64_t queued, queue_ns;
	uint64_t runs, run_items, expired, waiting;
	uint64_t batches[DNNQ_LATENCY_BUCKETS];
	uint64_t team_requests, team_workers;   /* 0.6: run on several workers */
};
#define DNNQ_BATCH_BOUNDS { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 }

int dnnq_model_stats(struct dnnq_client *c, uint32_t index, struct dnnq_model_stats *out);

/* ---- reload (0.3) -------------------------------------------------------- */

/* What a reload did to one model name. */
#define DNNQ_RELOAD_ADDED   1
#define DNNQ_RELOAD_CHANGED 2
#define DNNQ_RELOAD_REMOVED 3
#define DNNQ_RELOAD_MAX_LISTED 64

struct dnnq_reload_model {
	char name[64];
	uint32_t change;                     /* DNNQ_RELOAD_* */
	uint32_t generation;                 /* served now (REMOVED: the last) */
};

struct dnnq_reload_result {
	int status;                          /* 0, or why the reload failed */
	uint32_t added, changed, removed;    /* model names */
	uint32_t served;                     /* models served after it */
	uint32_t reloads;                    /* finished since dnnqd started */
	uint32_t n_listed;                   /* the first ones of models[] */
	char message[256];                   /* the failure, when status != 0 */
	struct dnnq_reload_model models[DNNQ_RELOAD_MAX_LISTED];
};

/* Asks dnnqd to reload its config and model files (like SIGHUP) and waits,
 * up to the client's timeout (dnnq_connect_opts.timeout_ms), for a reload
 * that started after the call to finish. Only root and the daemon's own
 * uid may: others get DNNQ_E_PERM; a daemon without hot reload answers
 * DNNQ_E_UNSUPPORTED. A reload that failed (a broken model file: nothing
 * changed, the old models are still served) returns its status, with
 * out->status and out->message saying why (dnnq_last_error too). out is
 * filled whenever the daemon answered. */
int dnnq_reload(struct dnnq_client *c, struct dnnq_reload_result *out);
/* (0.7) dnnq_reload waiting up to timeout_ms for the reload instead of
 * the client's timeout (0: the client's; < 0 is DNNQ_E_INVAL): a client
 * that connects with the short default, so that a daemon that does not
 * answer is found out in seconds, and waits minutes for a reload of big
 * models (dnnqctl reload: 300 s). */
int dnnq_reload_wait(struct dnnq_client *c, struct dnnq_reload_result *out, int timeout_ms);

#ifdef __cplusplus
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif
}
#endif

#endif
