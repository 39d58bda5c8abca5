/*
 * The session region: the shared-memory ABI between the daemon and a client.
 *
 * One memfd mapping per session holds, in order and each 64-byte aligned:
 *
 *   header | submission ring | slot table | tensor arena
 *
 * The daemon lays it out (dnnq_shm_layout) and writes it (dnnq_shm_init);
 * both sides then build a private `struct dnnq_shm` view with
 * dnnq_shm_attach, which validates the header as hostile input. After that
 * nobody reads an offset or size from the header again: the view holds
 * private copies, so a client rewriting the header cannot move the daemon.
 *
 * As in liburing, the fast paths (ring push/pop, slot state changes) are
 * static inline here; the slow paths (layout, validation, futex system
 * calls, the client's arena allocator) live in shm/shm.c and shm/arena.c.
 * Memory ordering is confined to shm/dnnq_shm_atomic.h. docs/shm.md has
 * the protocol.
 *
 * Every shared struct has fixed-width fields, explicit padding and
 * _Static_asserts on its size and field offsets: the layout is the ABI.
 */
#ifndef DNNQ_SHM_H
#define DNNQ_SHM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/dnnq_error.h"
#include "shm/dnnq_shm_atomic.h"

#define DNNQ_SHM_MAGIC         0x4d514e44u	/* "DNQM" little-endian */
#define DNNQ_SHM_ABI_MAJOR     1u
#define DNNQ_SHM_ABI_MINOR     0u
#define DNNQ_SHM_ALIGN         64u
#define DNNQ_SHM_MAX_SLOTS     4096u
#define DNNQ_SHM_MAX_ARENA     ((uint64_t)1 << 36)	/* 64 GiB */
#define DNNQ_SHM_MAX_RANK      8u
#define DNNQ_SHM_MAX_TENSORS   16u	/* inputs + outputs of one request */
#define DNNQ_SHM_MAX_BATCH     65536u

/* Tensor element types; values match engine/base.h's enum dnnq_dtype. */
enum dnnq_shm_dtype {
	DNNQ_SHM_DTYPE_U8  = 1,
	DNNQ_SHM_DTYPE_S8  = 2,
	DNNQ_SHM_DTYPE_S32 = 3,
	DNNQ_SHM_DTYPE_F32 = 4,
};

/* "u8", "s8", "s32", "f32" ("?" for another value): for messages and
 * dnnqctl's output. */
static inline const char *dnnq_shm_dtype_name(uint32_t dtype)
{
	static const char *const names[] = { "?", "u8", "s8", "s32", "f32" };
	return dtype < sizeof names / sizeof names[0] ? names[dtype] : "?";
}

/* Slot states; the word is also the futex a waiting client sleeps on. */
enum dnnq_shm_slot_state {
	DNNQ_SLOT_FREE      = 0,	/* owned by the client, not in use */
	DNNQ_SLOT_SUBMITTED = 1,	/* descriptor written, index on the ring */
	DNNQ_SLOT_RUNNING   = 2,	/* a worker copied the descriptor */
	DNNQ_SLOT_DONE      = 3,	/* outputs written, status 0 */
	DNNQ_SLOT_FAILED    = 4,	/* status holds a DNNQ_E_* code */
};

struct dnnq_shm_header {
	uint32_t magic;
	uint32_t version_major;
	uint32_t version_minor;
	uint32_t slot_count;
	uint64_t total_size;
	uint64_t ring_off;
	uint64_t ring_size;
	uint64_t slots_off;
	uint64_t slots_size;
	uint64_t arena_off;
	uint64_t arena_size;
	uint32_t ring_capacity;	/* cells, a power of two >= slot_count */
	uint32_t reserved0;
	uint8_t  pad0[48];
	/* Second cache line: the words that change at run time. */
	uint64_t heartbeat;	/* bumped by the daemon while it lives */
	uint32_t workers_sleeping;	/* workers that may sleep: ring the doorbell */
	uint32_t event_armed;	/* client: signal the completion socket */
	uint8_t  pad1[48];
};

_Static_assert(sizeof(struct dnnq_shm_header) == 192, "header size");
_Static_assert(offsetof(struct dnnq_shm_header, magic) == 0, "magic");
_Static_assert(offsetof(struct dnnq_shm_header, version_major) == 4, "major");
_Static_assert(offsetof(struct dnnq_shm_header, version_minor) == 8, "minor");
_Static_assert(offsetof(struct dnnq_shm_header, slot_count) == 12, "slot_count");
_Static_assert(offsetof(struct dnnq_shm_header, total_size) == 16, "total_size");
_Static_assert(offsetof(struct dnnq_shm_header, ring_off) == 24, "ring_off");
_Static_assert(offsetof(struct dnnq_shm_header, ring_size) == 32, "ring_size");
_Static_assert(offsetof(struct dnnq_shm_header, slots_off) == 40, "slots_off");
_Static_assert(offsetof(struct dnnq_shm_header, slots_size) == 48, "slots_size");
_Static_assert(offsetof(struct dnnq_shm_header, arena_off) == 56, "arena_off");
_Static_assert(offsetof(struct dnnq_shm_header, arena_size) == 64, "arena_size");
_Static_assert(offsetof(struct dnnq_shm_header, ring_capacity) == 72, "ring_capacity");
_Static_assert(offsetof(struct dnnq_shm_header, heartbeat) == 128, "heartbeat");
_Static_assert(offsetof(struct dnnq_shm_header, workers_sleeping) == 136, "sleeping");
_Static_assert(offsetof(struct dnnq_shm_header, event_armed) == 140, "event_armed");

/* Ring control: producers' and consumers' positions on separate lines. */
struct dnnq_shm_ring_ctl {
	uint64_t tail;	/* next position to enqueue (clients) */
	uint8_t  pad0[56];
	uint64_t head;	/* next position to dequeue (daemon) */
	uint8_t  pad1[56];
};

_Static_assert(sizeof(struct dnnq_shm_ring_ctl) == 128, "ring ctl size");
_Static_assert(offsetof(struct dnnq_shm_ring_ctl, tail) == 0, "tail");
_Static_assert(offsetof(struct dnnq_shm_ring_ctl, head) == 64, "head");

/* One cell of the Vyukov queue: seq == pos means free for the producer of
 * pos, seq == pos + 1 means full for the consumer of pos. */
struct dnnq_shm_ring_cell {
	uint64_t seq;
	uint32_t value;
	uint32_t reserved;
};

_Static_assert(sizeof(struct dnnq_shm_ring_cell) == 16, "cell size");
_Static_assert(offsetof(struct dnnq_shm_ring_cell, seq) == 0, "cell seq");
_Static_assert(offsetof(struct dnnq_shm_ring_cell, value) == 8, "cell value");

struct dnnq_shm_tensor {
	uint64_t offset;	/* from the start of the arena, 64-aligned */
	uint64_t bytes;
	uint32_t dtype;		/* enum dnnq_shm_dtype */
	uint32_t rank;		/* <= DNNQ_SHM_MAX_RANK */
	int64_t  dims[DNNQ_SHM_MAX_RANK];
};

_Static_assert(sizeof(struct dnnq_shm_tensor) == 88, "tensor size");
_Static_assert(offsetof(struct dnnq_shm_tensor, offset) == 0, "t.offset");
_Static_assert(offsetof(struct dnnq_shm_tensor, bytes) == 8, "t.bytes");
_Static_assert(offsetof(struct dnnq_shm_tensor, dtype) == 16, "t.dtype");
_Static_assert(offsetof(struct dnnq_shm_tensor, rank) == 20, "t.rank");
_Static_assert(offsetof(struct dnnq_shm_tensor, dims) == 24, "t.dims");

/* Inputs are t[0, n_inputs), outputs t[n_inputs, n_inputs + n_outputs). */
struct dnnq_shm_request {
	uint32_t model_id;
	uint32_t model_gen;
	uint32_t batch;
	uint32_t n_inputs;
	uint32_t n_outputs;
	uint32_t reserved;
	struct dnnq_shm_tensor t[DNNQ_SHM_MAX_TENSORS];
};

_Static_assert(sizeof(struct dnnq_shm_request) == 24 + 16 * 88, "request size");
_Static_assert(offsetof(struct dnnq_shm_request, model_id) == 0, "model_id");
_Static_assert(offsetof(struct dnnq_shm_request, model_gen) == 4, "model_gen");
_Static_assert(offsetof(struct dnnq_shm_request, batch) == 8, "batch");
_Static_assert(offsetof(struct dnnq_shm_request, n_inputs) == 12, "n_inputs");
_Static_assert(offsetof(struct dnnq_shm_request, n_outputs) == 16, "n_outputs");
_Static_assert(offsetof(struct dnnq_shm_request, t) == 24, "tensors");

struct dnnq_shm_slot {
	uint32_t state;		/* enum dnnq_shm_slot_state; futex word */
	int32_t  status;	/* DNNQ_E_* once DONE or FAILED */
	uint32_t waiters;	/* clients in FUTEX_WAIT on state: wake them */
	uint32_t reserved;
	struct dnnq_shm_request req;
	/* The client's CLOCK_MONOTONIC at submit, in ns (0: not stamped). A
	 * hint for the daemon's queue-time statistics only: read once, used
	 * only when it lies in the last minute, never for anything else. */
	uint64_t submit_ns;
	uint8_t  pad[16];
};

_Static_assert(sizeof(struct dnnq_shm_slot) == 1472, "slot size");
_Static_assert(sizeof(struct dnnq_shm_slot) % DNNQ_SHM_ALIGN == 0, "slot align");
_Static_assert(offsetof(struct dnnq_shm_slot, state) == 0, "slot state");
_Static_assert(offsetof(struct dnnq_shm_slot, status) == 4, "slot status");
_Static_assert(offsetof(struct dnnq_shm_slot, waiters) == 8, "slot waiters");
_Static_assert(offsetof(struct dnnq_shm_slot, req) == 16, "slot req");
_Static_assert(offsetof(struct dnnq_shm_slot, submit_ns) == 16 + sizeof(struct dnnq_shm_request),
               "slot submit_ns");

/* Where everything goes; computed by dnnq_shm_layout. */
struct dnnq_shm_layout {
	uint32_t slot_count;
	uint32_t ring_capacity;
	uint64_t ring_off, ring_size;
	uint64_t slots_off, slots_size;
	uint64_t arena_off, arena_size;
	uint64_t total_size;
};

/* A process's private, validated view of a region. */
struct dnnq_shm {
	uint8_t *base;
	size_t size;
	struct dnnq_shm_header *hdr;
	struct dnnq_shm_ring_ctl *ring;
	struct dnnq_shm_ring_cell *cells;
	uint32_t ring_mask;
	uint32_t slot_count;
	struct dnnq_shm_slot *slots;
	uint8_t *arena;
	uint64_t arena_size;
};

int dnnq_shm_layout(uint32_t slots, uint64_t arena_bytes, struct dnnq_shm_layout *out);
int dnnq_shm_init(void *base, size_t size, const struct dnnq_shm_layout *l);
int dnnq_shm_attach(void *base, size_t size, struct dnnq_shm *view, struct dnnq_diag *diag);

/* Copy slot's descriptor once into *out, then validate the copy. */
/* Slot `slot`'s submit stamp as the client left it (slot < slot_count). */
uint64_t dnnq_shm_slot_submit_ns(const struct dnnq_shm *v, uint32_t slot);
int dnnq_shm_desc_copy_validate(const struct dnnq_shm *view, uint32_t slot,
                                struct dnnq_shm_request *out, struct dnnq_diag *diag);
/* Validate a private request against the region (no shared reads). */
int dnnq_shm_request_validate(const struct dnnq_shm *view, const struct dnnq_shm_request *r,
                              struct dnnq_diag *diag);
size_t dnnq_shm_dtype_size(uint32_t dtype);

/* futex(2) on a shared word: FUTEX_WAIT/FUTEX_WAKE, never _PRIVATE.
 * timeout_ns < 0 waits forever. Returns 0 once *word != expected (or on a
 * wake-up), DNNQ_E_TIMEDOUT, or DNNQ_E_IO. */
int dnnq_shm_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
int dnnq_shm_futex_wake(uint32_t *word, int n);
/* Every waiter on a and on b in one system call (FUTEX_WAKE_OP, whose
 * operation on b is an atomic OR of 0: b keeps its value). */
int dnnq_shm_futex_wake2(uint32_t *a, uint32_t *b);

/*
 * The doorbell is a datagram socketpair the daemon creates per session;
 * the client gets one end with the region (a futex word cannot be waited
 * on for many sessions at once; an epoll set of sockets can). The daemon
 * reads its own end, always with MSG_DONTWAIT. The sleeping count in the
 * header keeps it free while workers spin: a client sends a byte only when
 * a worker may sleep, and a worker announces that before its last look at
 * the ring.
 */
/* Client, after a push: send a byte on the doorbell if a worker may sleep
 * (MSG_DONTWAIT | MSG_NOSIGNAL: never blocks, never raises SIGPIPE). */
void dnnq_shm_doorbell_ring(const struct dnnq_shm *view, int doorbell_fd);
/* Daemon, before sleeping on the doorbells: announce it, then look once
 * more. Returns true when the ring holds work (do not sleep). Always pair
 * with dnnq_shm_sleep_end once awake (or not gone to sleep). */
bool dnnq_shm_sleep_begin(const struct dnnq_shm *view);
void dnnq_shm_sleep_end(const struct dnnq_shm *view);
/* Whether the ring holds a submission (a peek; pop decides). */
bool dnnq_shm_ring_nonempty(const struct dnnq_shm *view);

/* Client: sleep while the slot's state is `while_state` (or until the
 * timeout); announces itself in the slot's waiters word so the worker
 * issues FUTEX_WAKE only for sleeping clients. */
int dnnq_shm_slot_wait(const struct dnnq_shm *view, uint32_t slot, uint32_t while_state,
                       int64_t timeout_ns);

/* ---- fast paths ---------------------------------------------------------- */

/* Bound on retries against a position that keeps moving: a hostile client
 * scribbling the ring must not pin a daemon worker forever. */
#define DNNQ_SHM_RING_SPIN 4096

/* Client: enqueue a slot index. 0, or DNNQ_E_AGAIN when the ring is full. */
static inline int dnnq_shm_ring_push(const struct dnnq_shm *v, uint32_t idx)
{
	uint64_t pos = dnnq_shm_load_relaxed64(&v->ring->tail);
	for (int i = 0; i < DNNQ_SHM_RING_SPIN; i++) {
		struct dnnq_shm_ring_cell *c = &v->cells[pos & v->ring_mask];
		int64_t diff = (int64_t)(dnnq_shm_load_acquire64(&c->seq) - pos);
		if (diff == 0) {
			if (dnnq_shm_cas_relaxed64(&v->ring->tail, &pos, pos + 1)) {
				dnnq_shm_store_relaxed32(&c->value, idx);
				dnnq_shm_store_release64(&c->seq, pos + 1);
				return 0;
			}
		} else if (diff < 0) {
			return DNNQ_E_AGAIN;
		} else {
			pos = dnnq_shm_load_relaxed64(&v->ring->tail);
		}
	}
	return DNNQ_E_AGAIN;
}

/* Daemon: dequeue a slot index. 0, DNNQ_E_AGAIN when empty, or
 * DNNQ_E_RANGE when the index read is not a slot (hostile ring). */
static inline int dnnq_shm_ring_pop(const struct dnnq_shm *v, uint32_t *idx)
{
	uint64_t pos = dnnq_shm_load_relaxed64(&v->ring->head);
	for (int i = 0; i < DNNQ_SHM_RING_SPIN; i++) {
		struct dnnq_shm_ring_cell *c = &v->cells[pos & v->ring_mask];
		int64_t diff = (int64_t)(dnnq_shm_load_acquire64(&c->seq) - (pos + 1));
		if (diff == 0) {
			if (dnnq_shm_cas_relaxed64(&v->ring->head, &pos, pos + 1)) {
				uint32_t x = dnnq_shm_load_relaxed32(&c->value);
				dnnq_shm_store_release64(&c->seq, pos + (uint64_t)v->ring_mask + 1);
				*idx = x;
				return x < v->slot_count ? 0 : DNNQ_E_RANGE;
			}
		} else if (diff < 0) {
			return DNNQ_E_AGAIN;
		} else {
			/* Another consumer took pos, so head has moved past it (the
			 * seq we acquired was stored after that consumer's CAS). A
			 * head that has not moved means a scribbled cell: give up
			 * now, not after DNNQ_SHM_RING_SPIN reloads, or one client's
			 * corrupt ring slows every worker's pass over all sessions. */
			uint64_t now = dnnq_shm_load_relaxed64(&v->ring->head);
			if (now == pos)
				return DNNQ_E_AGAIN;
			pos = now;
		}
	}
	return DNNQ_E_AGAIN;
}

/* Move a slot from `from` to `to` if it is in `from`; acq_rel so the
 * descriptor written before SUBMITTED is visible after RUNNING is taken.
 * Returns 0, DNNQ_E_RANGE for a bad index, or DNNQ_E_AGAIN (state != from). */
static inline int dnnq_shm_slot_transition(const struct dnnq_shm *v, uint32_t slot,
                                           uint32_t from, uint32_t to)
{
	if (slot >= v->slot_count)
		return DNNQ_E_RANGE;
	return dnnq_shm_cas_acqrel32(&v->slots[slot].state, &from, to) ? 0 : DNNQ_E_AGAIN;
}

/* slot must be < v->slot_count (a popped index already is). */
static inline uint32_t dnnq_shm_slot_state(const struct dnnq_shm *v, uint32_t slot)
{
	return dnnq_shm_load_acquire32(&v->slots[slot].state);
}

/* Daemon: publish a result (RUNNING -> DONE/FAILED); the waiter, if one
 * sleeps, is woken apart (dnnq_shm_slot_sleeper), so that a batch
 * publishes every member's result before its first system call, and
 * wakes the sleepers together (daemon/wake.h, dnnq_shm_futex_wake2). */
static inline int dnnq_shm_slot_publish(const struct dnnq_shm *v, uint32_t slot, int status)
{
	if (slot >= v->slot_count)
		return DNNQ_E_RANGE;
	dnnq_shm_store_relaxed_s32(&v->slots[slot].status, status);
	return dnnq_shm_slot_transition(v, slot, DNNQ_SLOT_RUNNING,
	                                status ? DNNQ_SLOT_FAILED : DNNQ_SLOT_DONE);
}

/* Daemon, after publishing slot's result and then a seq_cst fence (which
 * pairs with the one in dnnq_shm_slot_wait: a client either sees the new
 * state or is seen in `waiters`): the futex word to wake, or NULL when no
 * client sleeps on it. slot must be < v->slot_count (a published one is). */
static inline uint32_t *dnnq_shm_slot_sleeper(const struct dnnq_shm *v, uint32_t slot)
{
	return dnnq_shm_load_relaxed32(&v->slots[slot].waiters) ? &v->slots[slot].state : NULL;
}

/* One slot alone: publish, fence, and wake the waiter if one sleeps. */
static inline int dnnq_shm_slot_complete(const struct dnnq_shm *v, uint32_t slot, int status)
{
	int rc = dnnq_shm_slot_publish(v, slot, status);
	if (rc == 0) {
		dnnq_shm_fence_seqcst();
		uint32_t *word = dnnq_shm_slot_sleeper(v, slot);
		if (word)
			dnnq_shm_futex_wake(word, INT32_MAX);
	}
	return rc;
}

/* Daemon, after completions: whether the client asked for a byte on its
 * completion socket (dnnq_event_fd). */
static inline bool dnnq_shm_event_armed(const struct dnnq_shm *v)
{
	return dnnq_shm_load_relaxed32(&v->hdr->event_armed) != 0;
}

static inline void dnnq_shm_heartbeat(const struct dnnq_shm *v)
{
	dnnq_shm_fetch_add_release64(&v->hdr->heartbeat, 1);
}

/* ---- client-side arena allocator (private memory, first fit) ----------- */

struct dnnq_shm_extent {
	uint64_t off, len;
};

struct dnnq_shm_arena {
	pthread_mutex_t lock;
	uint64_t size;
	struct dnnq_shm_extent *free;	/* sorted by offset, never adjacent */
	size_t nfree, cap;
};

int dnnq_shm_arena_init(struct dnnq_shm_arena *a, uint64_t arena_size);
void dnnq_shm_arena_destroy(struct dnnq_shm_arena *a);
/* Offset of a 64-byte aligned block of at least `bytes`; DNNQ_E_NOSPACE. */
int dnnq_shm_arena_alloc(struct dnnq_shm_arena *a, uint64_t bytes, uint64_t *off);
/* Give back a block with the size it was allocated with; DNNQ_E_INVAL when
 * it is not a live block (misaligned, out of range, overlapping free). */
int dnnq_shm_arena_free(struct dnnq_shm_arena *a, uint64_t off, uint64_t bytes);
uint64_t dnnq_shm_arena_free_bytes(struct dnnq_shm_arena *a);

#endif
