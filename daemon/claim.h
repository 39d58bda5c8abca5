/*
 * daemon/claim.h — a job's tasks claimed from both ends, the one scheme of
 * the pool (daemon/pool.c) and the teams (daemon/team.c).
 *
 * Thread 0 (the caller, the poster) claims from the front of a job and
 * every other thread from its back; they meet somewhere in the middle.
 * Kernels number their tasks in memory order (rows, pixel blocks,
 * chunks), so on two threads thread 0 computes the top of each output and
 * the other thread the bottom, node after node, and each reads mostly
 * what it wrote itself, from its own L2. (With one shared counter the two
 * threads took tasks in turn and a node read half its input from the
 * other core's cache: mobilenet_v3_small's nodes ran 1.1-1.6x faster on
 * two threads.)
 *
 * The claims live in one 64-bit word, id << 32 | front << 16 | back, the
 * units [front, back) still unclaimed; a unit is one task, or several
 * consecutive ones when a job has more than DNNQ_CLAIM_UNITS_MAX. A claim
 * is a compare-and-swap on the word it read, and each moves the word's
 * cache line between cores (~0.1 us a task when every task was claimed
 * alone; a round trip of a line between the two vCPUs of the 2-core VM
 * took 0.44-0.47 us). A thread claims its own side of the job, the
 * caller the first fair share (1/nthreads of the units, rounding up), the
 * workers the rest, at most a fair share a claim: kernels cut their work
 * into pieces of equal size, as many as a multiple of the threads
 * (engine/executor.h dnnq_split_even), so two threads that both come
 * meet at the job's middle, which is where they met in the node before.
 * A fair share of DNNQ_CLAIM_TAIL_MIN units or more is claimed in two:
 * all but an eighth of it, then that eighth, the tail next to the middle.
 * A thread whose side is done takes 1/(2 nthreads) of what is left of the
 * other's, at least one unit, from the middle: so the tail of a thread
 * that is slow in this job (on a shared host one core often ran a node
 * 10-40 % slower than the other, a different one from run to run) goes
 * to the other, and a late or missing thread's whole side too. (With
 * shares of what is left from the start, a 14-task job took about 10
 * claims, each a trip of the line: mobilenet_v3_small's 50 jobs on two
 * threads summed 577-606 us, with whole fair shares at once 512-518 us,
 * medians of 500 runs under chrt; whole fair shares then left the caller
 * waiting 70-200 us a MobileNetV2 run for the slower thread's end, and
 * the tails made two threads 6-8 % faster on a loaded host: docs/graph.md.)
 * A claim read under one id fails under any other, and an odd id takes no
 * claim (the pool closes a job that way between jobs). The thread that
 * opens a job may take its first claim in the opening word itself
 * (dnnq_claims_open_first: the pool's caller, whose compare-and-swap
 * would otherwise wait for the line the workers spin on).
 */
#ifndef DNNQ_DAEMON_CLAIM_H
#define DNNQ_DAEMON_CLAIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DNNQ_CLAIM_UNITS_MAX 0xffffu   /* front and back are 16-bit fields */
#define DNNQ_CLAIM_TAIL_MIN 4          /* fair shares this big leave a tail */

struct dnnq_claims {
	_Atomic uint64_t word;      /* id << 32 | front << 16 | back */
	/* the job's shape: written before the word opens it, read under a claim */
	size_t ntasks, per_unit;    /* tasks, and tasks a unit */
	/* also read before a claim, for its size (a value of another job
	 * only sizes a claim whose compare-and-swap then fails) */
	_Atomic uint32_t units;
};

/* Sets up a job of n tasks and returns the word that opens it under id
 * (even); the caller stores it (release) once the job's other parameters
 * are written. */
static inline uint64_t dnnq_claims_job(struct dnnq_claims *cl, size_t n, uint32_t id)
{
	cl->ntasks = n;
	cl->per_unit = n / DNNQ_CLAIM_UNITS_MAX + (n % DNNQ_CLAIM_UNITS_MAX != 0);
	cl->per_unit += cl->per_unit == 0;
	uint32_t units = (uint32_t)(n / cl->per_unit + (n % cl->per_unit != 0));
	atomic_store_explicit(&cl->units, units, memory_order_relaxed);
	return (uint64_t)id << 32 | units;
}

/* How many units thread tid of nthreads claims from the open word c of a
 * job of `units` units that has some left: what is left of the thread's
 * own side of the job (the caller's fair share at the front, the rest at
 * the back), at most a fair share, in two claims: all but the eighth of a
 * fair share next to the middle, then that; then a share of what is left
 * of the other side. */
static inline uint32_t dnnq_claims_size(uint32_t units, uint64_t c, unsigned tid,
                                        unsigned nthreads)
{
	uint32_t front = (uint32_t)(c >> 16) & 0xffffu, back = (uint32_t)c & 0xffffu;
	uint32_t left = back - front, fair = (units + (tid ? 0 : nthreads - 1)) / nthreads;
	uint32_t split = (units + nthreads - 1) / nthreads;
	uint32_t mine = tid ? (back > split ? back - (front > split ? front : split) : 0)
	                    : (front < split ? (back < split ? back : split) - front : 0);
	uint32_t tail = fair >= DNNQ_CLAIM_TAIL_MIN ? (fair + 7) / 8 : 0;
	uint32_t k = mine < fair ? mine : fair;
	k = k >= 2 * tail ? k - tail : k;
	k = k ? k : left / (2 * nthreads);
	return k ? k : 1;
}

/* Tasks [*i0, *i1) of the k units a claim took at unit u. */
static inline void dnnq_claims_tasks(const struct dnnq_claims *cl, uint32_t u, uint32_t k,
                                     size_t *i0, size_t *i1)
{
	*i0 = (size_t)u * cl->per_unit;
	*i1 = *i0 + (size_t)k * cl->per_unit;
	*i1 = *i1 < cl->ntasks ? *i1 : cl->ntasks;
}

/* One claim for thread tid of nthreads, *c the word as last read (updated
 * on a failed CAS): the units it took (0: none left, or the job is closed)
 * and their tasks [*i0, *i1). The job's shape is read under the claim,
 * before its units are done. */
static inline uint32_t dnnq_claims_take(struct dnnq_claims *cl, uint64_t *c, unsigned tid,
                                        unsigned nthreads, size_t *i0, size_t *i1)
{
	for (;;) {
		uint32_t front = (uint32_t)(*c >> 16) & 0xffffu, back = (uint32_t)*c & 0xffffu;
		if (((*c >> 32) & 1) || front >= back)
			return 0;
		uint32_t k = dnnq_claims_size(atomic_load_explicit(&cl->units, memory_order_relaxed),
		                              *c, tid, nthreads);
		uint64_t next = tid ? *c - k : *c + ((uint64_t)k << 16);
		if (!atomic_compare_exchange_weak_explicit(&cl->word, c, next, memory_order_acquire,
		                                           memory_order_acquire))
			continue;
		dnnq_claims_tasks(cl, tid ? back - k : front, k, i0, i1);
		return k;
	}
}

/* The word that opens a job of n tasks under id (dnnq_claims_job's) with
 * thread 0's first claim already taken in it, so that the thread opening
 * the job claims without a compare-and-swap on a line the other threads
 * read: the units it took, their tasks [*i0, *i1). */
static inline uint64_t dnnq_claims_open_first(struct dnnq_claims *cl, size_t n, uint32_t id,
                                              unsigned nthreads, uint32_t *k, size_t *i0,
                                              size_t *i1)
{
	uint64_t open = dnnq_claims_job(cl, n, id);
	*k = dnnq_claims_size((uint32_t)open & 0xffffu, open, 0, nthreads);
	dnnq_claims_tasks(cl, 0, *k, i0, i1);
	return open + ((uint64_t)*k << 16);
}

#endif
