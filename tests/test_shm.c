/*
 * The shared-memory ABI (shm/dnnq_shm.h): layout and validating attach
 * (every corrupted header field refused, by name), the submission ring
 * (FIFO, full, empty, many threads, two processes over a memfd), the slot
 * state machine and its futex waits (the daemon's batch wakes too),
 * descriptor copy-and-validate against a
 * hostile client, and the client's arena allocator. No timing assertions:
 * waits have generous timeouts and only their outcome is checked.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/wake.h"
#include "shm/dnnq_shm.h"
#include "tests/suites.h"

struct region {
	void *base;
	size_t size;
	struct dnnq_shm_layout l;
	struct dnnq_shm v;
};

static void region_make(struct region *r, uint32_t slots, uint64_t arena)
{
	ck_assert_int_eq(dnnq_shm_layout(slots, arena, &r->l), 0);
	r->size = r->l.total_size;
	r->base = aligned_alloc(4096, r->size);
	ck_assert_ptr_nonnull(r->base);
	ck_assert_int_eq(dnnq_shm_init(r->base, r->size, &r->l), 0);
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_shm_attach(r->base, r->size, &r->v, &d), 0);
}

static void region_free(struct region *r)
{
	free(r->base);
}

START_TEST(layout_attach_round_trip)
{
	struct region r;
	region_make(&r, 5, 1000);
	ck_assert_uint_eq(r.l.ring_capacity, 8);
	ck_assert_uint_eq(r.l.arena_size, 1024);
	ck_assert_uint_eq(r.l.arena_off % 4096, 0);
	ck_assert_uint_eq(r.l.total_size % 4096, 0);
	ck_assert_uint_eq(r.v.slot_count, 5);
	ck_assert_uint_eq(r.v.ring_mask, 7);
	ck_assert_uint_eq(r.v.arena_size, 1024);
	ck_assert_ptr_eq(r.v.arena, (uint8_t *)r.base + r.l.arena_off);
	ck_assert_ptr_eq(r.v.slots, (void *)((uint8_t *)r.base + r.l.slots_off));
	for (uint32_t i = 0; i < 5; i++)
		ck_assert_uint_eq(dnnq_shm_slot_state(&r.v, i), DNNQ_SLOT_FREE);
	const struct dnnq_shm_header *h = r.base;
	ck_assert_uint_eq(h->magic, DNNQ_SHM_MAGIC);
	ck_assert_uint_eq(h->version_major, DNNQ_SHM_ABI_MAJOR);
	dnnq_shm_heartbeat(&r.v);
	ck_assert_uint_eq(h->heartbeat, 1);
	region_free(&r);

	struct dnnq_shm_layout l;
	ck_assert_int_eq(dnnq_shm_layout(0, 4096, &l), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_shm_layout(DNNQ_SHM_MAX_SLOTS + 1, 4096, &l), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_shm_layout(4, 0, &l), DNNQ_E_NOMEM);
	ck_assert_int_eq(dnnq_shm_layout(4, DNNQ_SHM_MAX_ARENA + 1, &l), DNNQ_E_NOMEM);
	ck_assert_int_eq(dnnq_shm_layout(DNNQ_SHM_MAX_SLOTS, DNNQ_SHM_MAX_ARENA, &l), 0);
	ck_assert_uint_eq(l.ring_capacity, DNNQ_SHM_MAX_SLOTS);
}
END_TEST

enum field {
	F_MAGIC, F_MAJOR, F_TOTAL, F_SLOTS0, F_CAP3, F_CAPSMALL, F_RINGOFF_OUT,
	F_RINGOFF_MISALIGNED, F_RINGOFF_HEADER, F_RINGSIZE, F_SLOTS_OVERLAP,
	F_ARENA_OVERLAP, F_ARENA_OVERFLOW, F_ARENASIZE, F_NFIELDS
};

static const struct {
	int code;
	const char *name;
} corrupt_want[F_NFIELDS] = {
	[F_MAGIC]              = { DNNQ_E_FORMAT,    "magic" },
	[F_MAJOR]              = { DNNQ_E_VERSION,   "version_major" },
	[F_TOTAL]              = { DNNQ_E_TRUNCATED, "total_size" },
	[F_SLOTS0]             = { DNNQ_E_RANGE,     "slot_count" },
	[F_CAP3]               = { DNNQ_E_FORMAT,    "ring_capacity" },
	[F_CAPSMALL]           = { DNNQ_E_RANGE,     "ring_capacity" },
	[F_RINGOFF_OUT]        = { DNNQ_E_RANGE,     "ring_off" },
	[F_RINGOFF_MISALIGNED] = { DNNQ_E_FORMAT,    "ring_off" },
	[F_RINGOFF_HEADER]     = { DNNQ_E_RANGE,     "ring_off" },
	[F_RINGSIZE]           = { DNNQ_E_FORMAT,    "ring_size" },
	[F_SLOTS_OVERLAP]      = { DNNQ_E_FORMAT,    "slots_off" },
	[F_ARENA_OVERLAP]      = { DNNQ_E_FORMAT,    "arena_off" },
	[F_ARENA_OVERFLOW]     = { DNNQ_E_RANGE,     "arena_off" },
	[F_ARENASIZE]          = { DNNQ_E_FORMAT,    "arena_size" },
};

static void corrupt(struct dnnq_shm_header *h, enum field f)
{
	switch (f) {
	case F_MAGIC:              h->magic ^= 1; break;
	case F_MAJOR:              h->version_major++; break;
	case F_TOTAL:              h->total_size += 4096; break;
	case F_SLOTS0:             h->slot_count = 0; break;
	case F_CAP3:               h->ring_capacity = 3; break;
	case F_CAPSMALL:           h->ring_capacity = 2; break;
	case F_RINGOFF_OUT:        h->ring_off = h->total_size; break;
	case F_RINGOFF_MISALIGNED: h->ring_off += 8; break;
	case F_RINGOFF_HEADER:     h->ring_off = 64; break;
	case F_RINGSIZE:           h->ring_size += 64; break;
	case F_SLOTS_OVERLAP:      h->slots_off = h->ring_off + 64; break;
	case F_ARENA_OVERLAP:      h->arena_off = h->slots_off; break;
	case F_ARENA_OVERFLOW:     h->arena_off = UINT64_MAX - 63; break;
	case F_ARENASIZE:          h->arena_size -= 32; break;
	case F_NFIELDS:            break;
	}
}

START_TEST(attach_rejects_corrupt_header)
{
	struct region r;
	region_make(&r, 4, 1 << 16);
	void *pristine = malloc(r.size);
	memcpy(pristine, r.base, r.size);
	for (int f = 0; f < F_NFIELDS; f++) {
		struct dnnq_shm v;
		struct dnnq_diag d;
		memcpy(r.base, pristine, r.size);
		corrupt(r.base, f);
		int rc = dnnq_shm_attach(r.base, r.size, &v, &d);
		ck_assert_msg(rc == corrupt_want[f].code, "field %d: rc %d (%s)", f, rc, d.msg);
		ck_assert_msg(strstr(d.msg, corrupt_want[f].name), "field %d: '%s' lacks '%s'",
		              f, d.msg, corrupt_want[f].name);
	}
	memcpy(r.base, pristine, r.size);
	struct dnnq_shm v;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_shm_attach(r.base, 100, &v, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "size"));
	ck_assert_int_eq(dnnq_shm_attach(r.base, r.size - 4096, &v, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "total_size"));
	ck_assert_int_eq(dnnq_shm_attach((uint8_t *)r.base + 8, r.size - 8, &v, &d), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_shm_attach(r.base, r.size, &v, &d), 0);
	free(pristine);
	region_free(&r);
}
END_TEST

START_TEST(ring_fifo_full_empty)
{
	struct region r;
	region_make(&r, 8, 4096);
	uint32_t x;
	ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), DNNQ_E_AGAIN);
	for (int round = 0; round < 5; round++) {
		for (uint32_t i = 0; i < 8; i++)
			ck_assert_int_eq(dnnq_shm_ring_push(&r.v, (i + round) % 8), 0);
		ck_assert_int_eq(dnnq_shm_ring_push(&r.v, 0), DNNQ_E_AGAIN);
		for (uint32_t i = 0; i < 8; i++) {
			ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), 0);
			ck_assert_uint_eq(x, (i + round) % 8);
		}
		ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), DNNQ_E_AGAIN);
	}
	/* A value that is no slot is flagged, and consumed. */
	ck_assert_int_eq(dnnq_shm_ring_push(&r.v, 8), 0);
	ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), DNNQ_E_AGAIN);
	region_free(&r);
}
END_TEST

#define PRODUCERS 4
#define PER_PRODUCER 10000

struct producer {
	struct dnnq_shm *v;
	uint32_t first;
};

static void push_all(struct dnnq_shm *v, uint32_t first, uint32_t n, pid_t parent)
{
	for (uint32_t i = 0; i < n; i++) {
		while (dnnq_shm_ring_push(v, first + i) == DNNQ_E_AGAIN) {
			if (parent && getppid() != parent)
				_exit(3);	/* the consumer is gone */
			sched_yield();
		}
	}
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	push_all(p->v, p->first, PER_PRODUCER, 0);
	return NULL;
}

/* Pops `total` values, each in [0, total), and checks every one came once. */
static void consume_all(struct dnnq_shm *v, uint32_t total)
{
	uint8_t *seen = calloc(total, 1);
	for (uint32_t got = 0; got < total;) {
		uint32_t x;
		int rc = dnnq_shm_ring_pop(v, &x);
		if (rc == DNNQ_E_AGAIN) {
			sched_yield();
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_lt(x, total);
		ck_assert_msg(!seen[x], "value %u popped twice", x);
		seen[x] = 1;
		got++;
	}
	uint32_t x;
	ck_assert_int_eq(dnnq_shm_ring_pop(v, &x), DNNQ_E_AGAIN);
	free(seen);
}

START_TEST(ring_threads_mpsc)
{
	struct region r;
	region_make(&r, 16, 4096);
	r.v.slot_count = UINT32_MAX;	/* let the ring carry any u32 here */
	pthread_t t[PRODUCERS];
	struct producer p[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){ &r.v, (uint32_t)i * PER_PRODUCER };
		ck_assert_int_eq(pthread_create(&t[i], NULL, producer_main, &p[i]), 0);
	}
	consume_all(&r.v, PRODUCERS * PER_PRODUCER);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	region_free(&r);
}
END_TEST

START_TEST(ring_processes_memfd)
{
	struct dnnq_shm_layout l;
	ck_assert_int_eq(dnnq_shm_layout(16, 4096, &l), 0);
	int fd = memfd_create("dnnq-test-shm", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)l.total_size), 0);
	void *base = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	ck_assert_int_eq(dnnq_shm_init(base, l.total_size, &l), 0);
	struct dnnq_shm v;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_shm_attach(base, l.total_size, &v, &d), 0);
	v.slot_count = UINT32_MAX;
	pid_t parent = getpid(), kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			/* A child maps the memfd afresh, as a client would. */
			void *b = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			struct dnnq_shm cv;
			if (b == MAP_FAILED || dnnq_shm_attach(b, l.total_size, &cv, NULL))
				_exit(2);
			push_all(&cv, (uint32_t)i * PER_PRODUCER, PER_PRODUCER, parent);
			_exit(0);
		}
	}
	consume_all(&v, 2 * PER_PRODUCER);
	for (int i = 0; i < 2; i++) {
		int st;
		ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	munmap(base, l.total_size);
	close(fd);
}
END_TEST

START_TEST(slot_state_machine)
{
	struct region r;
	region_make(&r, 4, 4096);
	struct dnnq_shm *v = &r.v;
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 1, DNNQ_SLOT_SUBMITTED, DNNQ_SLOT_RUNNING),
	                 DNNQ_E_AGAIN);
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 1, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED), 0);
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 1, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED),
	                 DNNQ_E_AGAIN);
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 4, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED),
	                 DNNQ_E_RANGE);
	/* Nobody runs it: the client's wait times out. */
	ck_assert_int_eq(dnnq_shm_slot_wait(v, 1, DNNQ_SLOT_SUBMITTED, 20 * 1000 * 1000),
	                 DNNQ_E_TIMEDOUT);
	ck_assert_int_eq(dnnq_shm_slot_wait(v, 1, DNNQ_SLOT_SUBMITTED, 0), DNNQ_E_TIMEDOUT);
	/* Already past the state waited on: returns at once. */
	ck_assert_int_eq(dnnq_shm_slot_wait(v, 1, DNNQ_SLOT_RUNNING, -1), 0);
	ck_assert_int_eq(dnnq_shm_slot_complete(v, 1, 0), DNNQ_E_AGAIN);	/* not RUNNING */
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 1, DNNQ_SLOT_SUBMITTED, DNNQ_SLOT_RUNNING), 0);
	ck_assert_int_eq(dnnq_shm_slot_complete(v, 1, DNNQ_E_SHAPE), 0);
	ck_assert_uint_eq(dnnq_shm_slot_state(v, 1), DNNQ_SLOT_FAILED);
	ck_assert_int_eq(dnnq_shm_load_relaxed_s32(&v->slots[1].status), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_shm_slot_transition(v, 1, DNNQ_SLOT_FAILED, DNNQ_SLOT_FREE), 0);
	ck_assert_int_eq(dnnq_shm_slot_wait(v, 9, DNNQ_SLOT_FREE, 0), DNNQ_E_RANGE);
	uint32_t w = 5;
	ck_assert_int_eq(dnnq_shm_futex_wait(&w, 5, 1000 * 1000), DNNQ_E_TIMEDOUT);
	ck_assert_int_eq(dnnq_shm_futex_wait(&w, 6, 1000 * 1000), 0);
	region_free(&r);
}
END_TEST

struct waiter {
	struct dnnq_shm *v;
	int rc;
	uint32_t slot;
};

static void *slot_waiter(void *arg)
{
	struct waiter *w = arg;
	w->rc = dnnq_shm_slot_wait(w->v, w->slot, DNNQ_SLOT_RUNNING, 10LL * 1000 * 1000 * 1000);
	return NULL;
}


START_TEST(waiter_woken_by_other_thread)
{
	struct region r;
	region_make(&r, 4, 4096);
	ck_assert_int_eq(dnnq_shm_slot_transition(&r.v, 2, DNNQ_SLOT_FREE, DNNQ_SLOT_RUNNING), 0);
	struct waiter w = { &r.v, 99, 2 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, slot_waiter, &w), 0);
	usleep(10000);	/* usually asleep by now; the outcome is the same if not */
	ck_assert_int_eq(dnnq_shm_slot_complete(&r.v, 2, 0), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_uint_eq(dnnq_shm_slot_state(&r.v, 2), DNNQ_SLOT_DONE);

	ck_assert_uint_eq(r.v.slots[2].waiters, 0);

	/* The doorbell: silent while no worker sleeps, written once one may. */
	int door[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, door), 0);
	char n[8];
	ck_assert_int_eq(dnnq_shm_ring_push(&r.v, 2), 0);
	dnnq_shm_doorbell_ring(&r.v, door[1]);
	ck_assert_int_eq(read(door[0], n, sizeof n), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* A worker about to sleep finds the ring non-empty. */
	ck_assert(dnnq_shm_sleep_begin(&r.v));
	dnnq_shm_sleep_end(&r.v);
	uint32_t x;
	ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), 0);
	ck_assert_uint_eq(x, 2);
	ck_assert(!dnnq_shm_sleep_begin(&r.v));
	ck_assert_uint_eq(r.v.hdr->workers_sleeping, 1);
	ck_assert_int_eq(dnnq_shm_ring_push(&r.v, 3), 0);
	dnnq_shm_doorbell_ring(&r.v, door[1]);
	ck_assert_int_eq(read(door[0], n, sizeof n), 1);
	dnnq_shm_sleep_end(&r.v);
	ck_assert_uint_eq(r.v.hdr->workers_sleeping, 0);
	ck_assert(dnnq_shm_ring_nonempty(&r.v));
	ck_assert_int_eq(dnnq_shm_ring_pop(&r.v, &x), 0);
	ck_assert(!dnnq_shm_ring_nonempty(&r.v));
	close(door[0]);
	close(door[1]);
	region_free(&r);
}
END_TEST

/* Input s8 [2,3,4] at 0, output f32 [2,10] at 64. */
static void good_request(struct dnnq_shm_request *q)
{
	memset(q, 0, sizeof *q);
	q->model_id = 7;
	q->model_gen = 1;
	q->batch = 2;
	q->n_inputs = 1;
	q->n_outputs = 1;
	q->t[0] = (struct dnnq_shm_tensor){ .offset = 0, .bytes = 24, .dtype = DNNQ_SHM_DTYPE_S8,
	                                    .rank = 3, .dims = { 2, 3, 4 } };
	q->t[1] = (struct dnnq_shm_tensor){ .offset = 64, .bytes = 80,
	                                    .dtype = DNNQ_SHM_DTYPE_F32, .rank = 2,
	                                    .dims = { 2, 10 } };
}

enum bad {
	B_OFF_OUT, B_OFF_ALIGN, B_BYTES_PAST, B_OVERFLOW, B_RANK, B_DIM_NEG, B_DIM_OVERFLOW,
	B_DTYPE, B_BYTES_MISMATCH, B_NIN, B_NOUT, B_BATCH, B_NBAD
};

static const struct {
	int code;
	const char *field;
} bad_want[B_NBAD] = {
	[B_OFF_OUT]        = { DNNQ_E_RANGE, "tensor[0].offset" },
	[B_OFF_ALIGN]      = { DNNQ_E_RANGE, "tensor[1].offset" },
	[B_BYTES_PAST]     = { DNNQ_E_RANGE, "tensor[1].bytes" },
	[B_OVERFLOW]       = { DNNQ_E_RANGE, "tensor[1].offset + bytes" },
	[B_RANK]           = { DNNQ_E_SHAPE, "tensor[1].rank" },
	[B_DIM_NEG]        = { DNNQ_E_SHAPE, "tensor[0].dims[1]" },
	[B_DIM_OVERFLOW]   = { DNNQ_E_SHAPE, "tensor[0].dims" },
	[B_DTYPE]          = { DNNQ_E_DTYPE, "tensor[0].dtype" },
	[B_BYTES_MISMATCH] = { DNNQ_E_SHAPE, "tensor[0].bytes" },
	[B_NIN]            = { DNNQ_E_RANGE, "n_inputs" },
	[B_NOUT]           = { DNNQ_E_RANGE, "n_outputs" },
	[B_BATCH]          = { DNNQ_E_RANGE, "batch" },
};

static void make_bad(struct dnnq_shm_request *q, enum bad b, uint64_t arena)
{
	switch (b) {
	case B_OFF_OUT:        q->t[0].offset = arena; break;
	case B_OFF_ALIGN:      q->t[1].offset = 72; break;
	case B_BYTES_PAST:     q->t[1].offset = arena - 64; break;
	case B_OVERFLOW:       q->t[1].bytes = UINT64_MAX - 10; break;
	case B_RANK:           q->t[1].rank = 9; break;
	case B_DIM_NEG:        q->t[0].dims[1] = -3; break;
	case B_DIM_OVERFLOW:   q->t[0].dims[0] = INT64_MAX; q->t[0].dims[1] = INT64_MAX; break;
	case B_DTYPE:          q->t[0].dtype = 77; break;
	case B_BYTES_MISMATCH: q->t[0].bytes = 25; break;
	case B_NIN:            q->n_inputs = 17; break;
	case B_NOUT:           q->n_outputs = DNNQ_SHM_MAX_TENSORS; break;
	case B_BATCH:          q->batch = 0; break;
	case B_NBAD:           break;
	}
}

/* A batch's completion: n results published (the odd ones failed), then
 * wake() on the n sleepers' words; each wakes with its own result (a wake
 * lost would leave its wait to time out after 10 s). */
static void sleepers_woken(unsigned n, void (*wake)(uint32_t *const *words, unsigned n))
{
	enum { MOST = 8 };
	struct region r;
	region_make(&r, 2 * MOST, 4096);
	struct waiter w[MOST];
	pthread_t t[MOST];
	uint32_t *words[MOST];
	ck_assert_uint_le(n, MOST);
	for (unsigned k = 0; k < n; k++) {
		w[k] = (struct waiter){ &r.v, 99, 2 * k + 1 };
		ck_assert_int_eq(dnnq_shm_slot_transition(&r.v, w[k].slot, DNNQ_SLOT_FREE,
		                                          DNNQ_SLOT_RUNNING), 0);
		ck_assert_int_eq(pthread_create(&t[k], NULL, slot_waiter, &w[k]), 0);
	}
	/* all announced: each is asleep or about to find its result */
	for (unsigned k = 0; k < n; k++)
		while (!dnnq_shm_load_acquire32(&r.v.slots[w[k].slot].waiters))
			usleep(1000);
	ck_assert_int_eq(dnnq_shm_slot_publish(&r.v, 2, 0), DNNQ_E_AGAIN);	/* not RUNNING */
	for (unsigned k = 0; k < n; k++)
		ck_assert_int_eq(dnnq_shm_slot_publish(&r.v, w[k].slot, k % 2 ? DNNQ_E_SHAPE : 0), 0);
	dnnq_shm_fence_seqcst();
	for (unsigned k = 0; k < n; k++) {
		words[k] = dnnq_shm_slot_sleeper(&r.v, w[k].slot);
		ck_assert_ptr_eq(words[k], &r.v.slots[w[k].slot].state);
	}
	wake(words, n);
	for (unsigned k = 0; k < n; k++) {
		pthread_join(t[k], NULL);
		ck_assert_int_eq(w[k].rc, 0);
		ck_assert_uint_eq(r.v.slots[w[k].slot].waiters, 0);
		/* a wake changed no word (FUTEX_WAKE_OP's OR of 0 included) */
		ck_assert_uint_eq(dnnq_shm_slot_state(&r.v, w[k].slot),
		                  k % 2 ? DNNQ_SLOT_FAILED : DNNQ_SLOT_DONE);
		ck_assert_int_eq(dnnq_shm_load_relaxed_s32(&r.v.slots[w[k].slot].status),
		                 k % 2 ? DNNQ_E_SHAPE : 0);
		ck_assert_ptr_null(dnnq_shm_slot_sleeper(&r.v, w[k].slot));	/* nobody sleeps now */
	}
	region_free(&r);
}

static void wake_pair(uint32_t *const *words, unsigned n)
{
	ck_assert_uint_eq(n, 2);
	ck_assert_int_ge(dnnq_shm_futex_wake2(words[0], words[1]), 0);
}

/* The daemon's batch wake (daemon/wake.h) through io_uring where this
 * kernel has its futex wake (Linux 6.7), else as below. */
static void wake_batch(uint32_t *const *words, unsigned n)
{
	struct dnnqd_wake k;
	dnnqd_wake_init(&k, 8);
	dnnqd_wake_all(&k, words, n);
	dnnqd_wake_destroy(&k);
}

/* The same without io_uring: pairs per FUTEX_WAKE_OP, the odd one alone. */
static void wake_batch_fallback(uint32_t *const *words, unsigned n)
{
	struct dnnqd_wake k = { .uring = false };
	dnnqd_wake_all(&k, words, n);
}

/* A word whose wake fails (EFAULT: a PROT_NONE page) among the n, second:
 * the others are woken all the same, by the ring (the failed wake's
 * completion, done again alone) or by the pairs (FUTEX_WAKE_OP fails both
 * of a pair when either faults: words[0] slept to its deadline, rev45). */
static uint32_t *fault_word;

static void with_fault(uint32_t *const *words, unsigned n, bool ring)
{
	uint32_t *w[9] = { words[0], fault_word };
	ck_assert_uint_le(n, 8);
	memcpy(w + 2, words + 1, (n - 1) * sizeof *w);
	struct dnnqd_wake k = { .uring = false };
	if (ring)
		dnnqd_wake_init(&k, 16);
	dnnqd_wake_all(&k, w, n + 1);
	dnnqd_wake_destroy(&k);
}

static void fault_ring(uint32_t *const *words, unsigned n)
{
	with_fault(words, n, true);
}

static void fault_pairs(uint32_t *const *words, unsigned n)
{
	with_fault(words, n, false);
}

START_TEST(batch_wake_fault)
{
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	fault_word = page;
	ck_assert_int_lt(dnnq_shm_futex_wake(fault_word, 1), 0);
	sleepers_woken(4, fault_ring);
	sleepers_woken(4, fault_pairs);
	munmap(page, 4096);
}
END_TEST

START_TEST(two_sleepers_one_wake)
{
	sleepers_woken(2, wake_pair);
}
END_TEST

START_TEST(batch_sleepers_woken)
{
	sleepers_woken(5, wake_batch);
	sleepers_woken(8, wake_batch);
	sleepers_woken(5, wake_batch_fallback);
}
END_TEST

START_TEST(desc_validation_names_field)
{
	struct region r;
	region_make(&r, 4, 4096);
	struct dnnq_shm_request out;
	struct dnnq_diag d;
	good_request(&r.v.slots[3].req);
	ck_assert_int_eq(dnnq_shm_desc_copy_validate(&r.v, 3, &out, &d), 0);
	ck_assert_mem_eq(&out, &r.v.slots[3].req, sizeof out);
	for (int b = 0; b < B_NBAD; b++) {
		good_request(&r.v.slots[3].req);
		make_bad(&r.v.slots[3].req, b, r.v.arena_size);
		int rc = dnnq_shm_desc_copy_validate(&r.v, 3, &out, &d);
		ck_assert_msg(rc == bad_want[b].code, "case %d: rc %d (%s)", b, rc, d.msg);
		ck_assert_msg(strstr(d.msg, bad_want[b].field), "case %d: '%s' lacks '%s'", b,
		              d.msg, bad_want[b].field);
	}
	ck_assert_int_eq(dnnq_shm_desc_copy_validate(&r.v, 4, &out, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "slot"));
	/* Rank 0 is a scalar: one element. */
	good_request(&r.v.slots[0].req);
	r.v.slots[0].req.t[1] = (struct dnnq_shm_tensor){ .offset = 128, .bytes = 4,
	                                                  .dtype = DNNQ_SHM_DTYPE_S32 };
	ck_assert_int_eq(dnnq_shm_desc_copy_validate(&r.v, 0, &out, &d), 0);
	region_free(&r);
}
END_TEST

struct scribbler {
	struct dnnq_shm_request *req;
	int stop;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	uint32_t *w = (uint32_t *)s->req;
	uint64_t x = 88172645463325252ull;
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t i = (size_t)(x % (sizeof *s->req / 4));
		/* Half the writes restore a valid field, so both outcomes occur. */
		struct dnnq_shm_request good;
		good_request(&good);
		uint32_t val = (x >> 40) & 1 ? ((uint32_t *)&good)[i] : (uint32_t)(x >> 32);
		dnnq_shm_store_relaxed32(&w[i], val);
	}
	return NULL;
}

START_TEST(desc_private_copy_survives_scribbling)
{
	struct region r;
	region_make(&r, 2, 4096);
	struct dnnq_shm_request *shared = &r.v.slots[1].req;
	good_request(shared);
	struct scribbler s = { shared, 0 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, scribble, &s), 0);
	int ok = 0;
	for (int i = 0; i < 20000; i++) {
		struct dnnq_shm_request out, keep;
		struct dnnq_diag d;
		if (dnnq_shm_desc_copy_validate(&r.v, 1, &out, &d))
			continue;
		ok++;
		memcpy(&keep, &out, sizeof keep);
		for (int k = 0; k < 50; k++)
			sched_yield();
		/* The copy did not move, and what was validated is still valid. */
		ck_assert_mem_eq(&keep, &out, sizeof out);
		ck_assert_int_eq(dnnq_shm_request_validate(&r.v, &out, &d), 0);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	/* Deterministic part: validate, then scribble; the copy is untouched. */
	struct dnnq_shm_request out, keep;
	good_request(shared);
	ck_assert_int_eq(dnnq_shm_desc_copy_validate(&r.v, 1, &out, NULL), 0);
	memcpy(&keep, &out, sizeof keep);
	memset(shared, 0xff, sizeof *shared);
	ck_assert_mem_eq(&keep, &out, sizeof out);
	ck_assert_int_eq(dnnq_shm_request_validate(&r.v, &out, NULL), 0);
	(void)ok;
	region_free(&r);
}
END_TEST

START_TEST(arena_alloc_free_coalesce)
{
	struct dnnq_shm_arena a;
	uint64_t o[4];
	ck_assert_int_eq(dnnq_shm_arena_init(&a, 1024), 0);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 1, &o[0]), 0);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 100, &o[1]), 0);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 64, &o[2]), 0);
	ck_assert_uint_eq(o[0], 0);
	ck_assert_uint_eq(o[1], 64);
	ck_assert_uint_eq(o[2], 192);
	ck_assert_uint_eq(dnnq_shm_arena_free_bytes(&a), 1024 - 256);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 0, &o[3]), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 1024, &o[3]), DNNQ_E_NOSPACE);
	/* Free the middle block, then its left neighbour: one extent of 192. */
	ck_assert_int_eq(dnnq_shm_arena_free(&a, o[1], 100), 0);
	ck_assert_uint_eq(a.nfree, 2);
	ck_assert_int_eq(dnnq_shm_arena_free(&a, o[1], 100), DNNQ_E_INVAL);	/* double */
	ck_assert_int_eq(dnnq_shm_arena_free(&a, 8, 64), DNNQ_E_INVAL);	/* misaligned */
	ck_assert_int_eq(dnnq_shm_arena_free(&a, 1024, 64), DNNQ_E_INVAL);	/* outside */
	ck_assert_int_eq(dnnq_shm_arena_free(&a, o[0], 1), 0);
	ck_assert_uint_eq(a.nfree, 2);
	ck_assert_uint_eq(a.free[0].off, 0);
	ck_assert_uint_eq(a.free[0].len, 192);
	/* First fit reuses the hole. */
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 128, &o[3]), 0);
	ck_assert_uint_eq(o[3], 0);
	ck_assert_int_eq(dnnq_shm_arena_free(&a, o[3], 128), 0);
	/* The last free joins both sides: the whole arena again. */
	ck_assert_int_eq(dnnq_shm_arena_free(&a, o[2], 64), 0);
	ck_assert_uint_eq(a.nfree, 1);
	ck_assert_uint_eq(a.free[0].len, 1024);
	/* Exhaustion, one block at a time. */
	for (int i = 0; i < 16; i++) {
		uint64_t off;
		ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 64, &off), 0);
		ck_assert_uint_eq(off, (uint64_t)i * 64);
	}
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 1, &o[3]), DNNQ_E_NOSPACE);
	ck_assert_uint_eq(a.nfree, 0);
	/* Free every other block: 8 separate extents (the array grows). */
	for (int i = 0; i < 16; i += 2)
		ck_assert_int_eq(dnnq_shm_arena_free(&a, (uint64_t)i * 64, 64), 0);
	ck_assert_uint_eq(a.nfree, 8);
	ck_assert_int_eq(dnnq_shm_arena_alloc(&a, 128, &o[3]), DNNQ_E_NOSPACE);
	for (int i = 1; i < 16; i += 2)
		ck_assert_int_eq(dnnq_shm_arena_free(&a, (uint64_t)i * 64, 64), 0);
	ck_assert_uint_eq(a.nfree, 1);
	ck_assert_uint_eq(dnnq_shm_arena_free_bytes(&a), 1024);
	dnnq_shm_arena_destroy(&a);
}
END_TEST

Suite *suite_shm(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("layout");
	tcase_add_test(tc, layout_attach_round_trip);
	tcase_add_test(tc, attach_rejects_corrupt_header);
	suite_add_tcase(s, tc);
	tc = tcase_create("ring");
	tcase_add_test(tc, ring_fifo_full_empty);
	tcase_add_test(tc, ring_threads_mpsc);
	tcase_add_test(tc, ring_processes_memfd);
	suite_add_tcase(s, tc);
	tc = tcase_create("slot");
	tcase_add_test(tc, slot_state_machine);
	tcase_add_test(tc, waiter_woken_by_other_thread);
	tcase_add_test(tc, two_sleepers_one_wake);
	tcase_add_test(tc, batch_sleepers_woken);
	tcase_add_test(tc, batch_wake_fault);
	tcase_add_test(tc, desc_validation_names_field);
	tcase_add_test(tc, desc_private_copy_survives_scribbling);
	suite_add_tcase(s, tc);
	tc = tcase_create("arena");
	tcase_add_test(tc, arena_alloc_free_coalesce);
	suite_add_tcase(s, tc);
	return s;
}
