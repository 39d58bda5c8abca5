/*
 * What the files of libdnnq-client share: the client and model structs and
 * the few internal functions one file offers the others.
 *
 *   control.c   the socket: finding it, connecting, one request/reply
 *               exchange (serialised, bounded in time, every reply checked)
 *   session.c   dnnq_connect/dnnq_close: the HELLO, the region, the
 *               private slot table; dnnq_event_fd, dnnq_stats
 *   model.c     model handles: OPEN, INFO, CLOSE and the signature
 *   tensor.c    tensors in the shared arena
 *   request.c   the data path: free slots, submit, wait, poll, liveness
 *   error.c     dnnq_last_error: the thread's message of its last failure
 *
 * Everything the daemon wrote (a reply, the region) is checked before use
 * and then only private copies are used; the region's hot words are read
 * through shm/dnnq_shm_atomic.h. Words private to this process but shared by
 * its threads (the free list, tickets, flags) use __atomic builtins directly.
 */
#ifndef DNNQ_CLIENT_INTERNAL_H
#define DNNQ_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "client/dnnq.h"
#include "shm/dnnq_proto.h"
#include "shm/dnnq_shm.h"

/* The header's constants and the wire's must agree. */
_Static_assert(DNNQ_MAX_RANK == DNNQ_SHM_MAX_RANK, "rank");
_Static_assert(DNNQ_MAX_IO == DNNQ_SHM_MAX_TENSORS, "tensors");
_Static_assert((int)DNNQ_TYPE_U8 == (int)DNNQ_SHM_DTYPE_U8 &&
               (int)DNNQ_TYPE_S8 == (int)DNNQ_SHM_DTYPE_S8 &&
               (int)DNNQ_TYPE_S32 == (int)DNNQ_SHM_DTYPE_S32 &&
               (int)DNNQ_TYPE_F32 == (int)DNNQ_SHM_DTYPE_F32, "dtype codes");

#define CLIENT_DEFAULT_ARENA   ((uint64_t)64 << 20)
#define CLIENT_DEFAULT_SPIN_US 50
#define CLIENT_DEFAULT_TIMEOUT 5000	/* ms */
#define CLIENT_STALE_NS        ((int64_t)2000000000)	/* heartbeat silence = death */
#define CLIENT_WAIT_MODELS     64u	/* wait-time estimates, by model id modulo this */
#define CLIENT_SPIN_PROBE      16u	/* of the waits that sleep, one in this many spins */
#define CLIENT_PROBE_BACKOFF   6u	/* each failed probe doubles the gap, up to 16 << 6 */

/* One input or output of a signature; info.name points at name. */
struct client_io {
	char name[DNNQ_PROTO_NAME_MAX];
	struct dnnq_io_info info;
};

struct dnnq_model {
	struct dnnq_client *client;
	struct dnnq_model *next;	/* the client's open models (ctl_lock) */
	uint32_t id, generation, max_batch, n_inputs, n_outputs;
	char name[DNNQ_PROTO_NAME_MAX];
	struct client_io io[DNNQ_SHM_MAX_TENSORS];	/* inputs, then outputs */
};

/* Private bookkeeping for one shared slot; a cache line each, since
 * different threads poll different slots. */
struct client_slot {
	alignas(64) uint32_t ticket;	/* request in flight; 0: none */
	uint32_t issued;	/* last ticket handed out (written by the slot's taker) */
	uint32_t next;		/* free-list link: index + 1, 0 ends the list */
	uint32_t abandoned;	/* 1: left to the daemon by a timed-out infer */
	uint32_t model_id;	/* of the request in flight (written before its ticket) */
};

struct dnnq_client {
	/* Set by dnnq_connect, read-only after. */
	struct dnnq_shm view;
	struct client_slot *slots;	/* view.slot_count entries */
	struct dnnq_shm_arena arena;
	size_t map_size;
	int sock, doorbell_fd, event_fd;
	int timeout_ms;
	int64_t spin_ns;	/* < 0: never spin */
	int64_t stale_ns;	/* heartbeat silence that means the daemon died */

	/* The lock-free free list: ABA tag << 32 | (top index + 1). */
	alignas(64) uint64_t free_head;
	uint32_t n_abandoned;	/* slots waiting for a late completion */
	uint32_t dead;		/* 1: the daemon is gone; every call fails */

	/* Recent waits (ns from the start of a wait to the end seen), per
	 * model id modulo CLIENT_WAIT_MODELS (two ids sharing an entry only
	 * blur each other's estimate): request.c spins only when this is within
	 * spin_ns. Relaxed, any thread; a lost update is harmless. */
	alignas(64) int64_t wait_ns[CLIENT_WAIT_MODELS];
	uint32_t wait_probes;	/* waits that did not spin: every gap-th of them spins */
	/* The gap between probes, per model entry: CLIENT_SPIN_PROBE << this
	 * (at most CLIENT_PROBE_BACKOFF); a failed probe adds one, one that
	 * sees the end clears it. Relaxed, like wait_ns. */
	uint32_t probe_shift[CLIENT_WAIT_MODELS];

	/* Control channel: one exchange at a time. */
	alignas(64) pthread_mutex_t ctl_lock;
	uint32_t seq;		/* of the last request sent */
	struct dnnq_model *models;

	/* Liveness, looked at between sleeps (live_lock). */
	pthread_mutex_t live_lock;
	uint64_t hb_value;	/* the heartbeat word last seen ... */
	int64_t hb_moved_ns;	/* ... and when it was first seen so */
	int64_t live_checked_ns;	/* last socket look by dnnq_poll */
};

static inline int64_t client_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An error status the daemon sent (a reply header's, a completion's): one
 * of the codes this library documents, or DNNQ_E_PROTO. A daemon that
 * sends another value (newer, broken or hostile) must not hand the
 * application a code its switch has no case for. */
static inline int client_daemon_error(int32_t status)
{
	return status < 0 && status >= DNNQ_E_PROTO ? status : DNNQ_E_PROTO;
}

static inline bool client_is_dead(const struct dnnq_client *c)
{
	return __atomic_load_n(&c->dead, __ATOMIC_ACQUIRE) != 0;
}

static inline void client_mark_dead(struct dnnq_client *c)
{
	__atomic_store_n(&c->dead, 1, __ATOMIC_RELEASE);
}

/* ---- error.c: the thread's dnnq_last_error text --------------------------- */

/* dnnq_model_io's work, its refusals named for the public call fn. */
int model_io_call(const char *fn, const struct dnnq_model *m, enum dnnq_io_kind kind,
                  uint32_t i, struct dnnq_io_info *out);
/* Writes a detailed message for the public call in progress (it then
 * stands instead of the generic one); returns rc. */
int client_errorf(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a detail was written since the last client_status. */
bool client_error_pending(void);
/* The last step of every public int function: for a failure (rc < 0 other
 * than DNNQ_E_AGAIN) without a detail, "what: dnnq_strerror(rc)"; any
 * detail is consumed. Returns rc. */
int client_status(int rc, const char *what);
/* What to do after rc, to follow dnnq_strerror's text in a line ("" for
 * most codes; for DNNQ_E_DISCONNECTED: close, connect again). */
const char *client_hint(int rc);

/* ---- control.c ----------------------------------------------------------- */

/* What a reply to one kind of request must look like. */
struct ctl_spec {
	uint16_t req_type;	/* DNNQ_MSG_* sent */
	uint16_t reply_type;	/* DNNQ_MSG_* a success carries */
	uint32_t size;		/* bytes of the full reply */
	bool full_on_error;	/* an error reply is full-size too (HELLO, STATS) */
	bool takes_fds;		/* the reply carries DNNQ_PROTO_NFDS fds (HELLO) */
};

/* Resolves path (NULL: $DNNQ_SOCKET, then the default), opens a
 * non-blocking SOCK_SEQPACKET socket and connects it by deadline_ns. The
 * path tried goes to tried[0, cap); a failure also writes the last-error
 * text (the path, errno's text and a hint). */
int ctl_connect(const char *path, int64_t deadline_ns, int *sock, char *tried, size_t cap);

/* One exchange on c->sock: fills the request header (magic, version,
 * spec->req_type, a fresh seq), sends req_len bytes, receives the reply
 * into reply (spec->size bytes) and checks it. Late replies to requests
 * that timed out earlier are skipped. With spec->takes_fds the fds come
 * back in fds[DNNQ_PROTO_NFDS] (all -1 unless the reply is a success);
 * any other fd received is closed. Returns 0, the reply's error status,
 * or DNNQ_E_PROTO / TIMEDOUT / DISCONNECTED (which also marks c dead) / IO.
 * The exchange takes up to the client's timeout. */
int ctl_call(struct dnnq_client *c, const struct ctl_spec *spec, void *req, size_t req_len,
             void *reply, int *fds);
/* ctl_call taking up to timeout_ms (> 0) instead. */
int ctl_call_by(struct dnnq_client *c, const struct ctl_spec *spec, void *req, size_t req_len,
                void *reply, int *fds, int timeout_ms);

/* Whether a fixed-size string field of a reply is NUL-terminated. */
bool ctl_str_ok(const char *s, size_t size);
/* A message field (s, checked by ctl_str_ok) into out[0, size) as text
 * (dnnq_escape): dnnqd's are escaped already, which this leaves as they
 * are; a hostile daemon's escape sequences and newlines become \xNN.
 * Returns out. */
char *ctl_text(char *out, const char *s, size_t size);
/* ctl_str_ok, and UTF-8 text (dnnq_utf8_char) as dnnqd's names always are
 * (model names A-Z a-z 0-9 . _ -, signature names checked at load): a
 * hostile daemon's name with an escape sequence or a newline would reach
 * terminals, logs and dnnqctl's JSON through every caller that prints it. */
bool ctl_name_ok(const char *s, size_t size);

/* Whether a reply's n_models, to a question about model number index
 * (INFO, MODEL_STATS), can be dnnqd's: index is one of them, and they are
 * no more than a daemon serves (DNNQ_PROTO_MAX_MODELS). Callers walk the
 * indices until an error, so a daemon answering every one would otherwise
 * keep them going for good (dnnqctl status, metrics, models). */
bool ctl_models_ok(uint32_t n_models, uint32_t index);

/* ---- model.c --------------------------------------------------------------- */

/* Frees every model handle still open (dnnq_close). */
void model_free_all(struct dnnq_client *c);

/* ---- request.c ------------------------------------------------------------ */

/* Fills the free list with every slot (dnnq_connect). */
void request_slots_init(struct dnnq_client *c);
/* Whether a wait for a request of model_id spins before it sleeps: spin_us
 * allows it and the recent waits on the model were within it. */
bool client_wait_spins(const struct dnnq_client *c, uint32_t model_id);

/* ---- tensor.c ------------------------------------------------------------- */

/* Element count x size of dtype for dims[0, rank); DNNQ_E_DTYPE, _SHAPE
 * (rank outside [1, 8], a dim < 1) or _RANGE (overflow). */
int tensor_bytes(uint32_t dtype, uint32_t rank, const int64_t *dims, uint64_t *bytes);

/* Whether t describes a live block of c's arena. */
bool tensor_in_arena(const struct dnnq_client *c, const struct dnnq_tensor *t);

#endif
