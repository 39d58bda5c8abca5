/*
 * Teams: idle workers joining another worker's parallel_for (team.h).
 *
 * A job lives in one 64-bit word, so joining is one compare-and-swap that
 * checks everything at once: OPEN, the seats the job has (N, the
 * executor's thread count), the seats joiners took (a joiner's tid is 1 +
 * the count before its own: tids stay below N, as the plan's per-thread
 * scratch wants) and the joiners still in the job. The poster writes the
 * job (function, argument, task count, counter) while the word is closed
 * with nobody in, then opens it with a release store; a joiner reads the
 * job only after its CAS (acquire) saw that word, and leaves with a
 * release decrement. When the counter runs out the poster closes the word
 * (no new joiner) and waits, spinning, for the joiners in to leave: each
 * is finishing at most the task it took. Nobody ever waits for a joiner
 * to arrive, and a joiner never waits at all, so a team cannot deadlock;
 * the stop flag needs nothing either (a poster finishes its request).
 *
 * A CAS against a word read before the poster moved on fails, or meets
 * the next job's word, which is the one it then joins: the job it reads is
 * always the one its CAS saw open.
 *
 * Sleeping workers miss posted jobs, so a request that may use several
 * workers wakes the others when it starts (one eventfd write each); a
 * worker woken with nothing to do sleeps again after spin_us.
 */
#define _GNU_SOURCE
#include "daemon/team.h"
#include "daemon/worker.h"

#define OPEN (1ull << 63)
#define SEATS_SHIFT 32          /* the job's N */
#define TAKEN_SHIFT 16          /* seats joiners took */
#define FIELD 0xffffull
#define IN 1ull                 /* one joiner in the job (the low field) */

static unsigned field(uint64_t w, unsigned shift)
{
	return (unsigned)(w >> shift & FIELD);
}

/* Tasks of t's job under tid until none is left (the poster, tid 0, from
 * the front, joiners from the back: daemon/claim.h); how many ran. */
static size_t run_tasks(struct dnnqd_team *t, unsigned tid)
{
	uint64_t c = atomic_load_explicit(&t->claims.word, memory_order_relaxed);
	size_t i, end, ran = 0;
	while (dnnq_claims_take(&t->claims, &c, tid, t->seats, &i, &end))
		for (ran += end - i; i < end; i++)
			t->fn(t->arg, i, tid);
	return ran;
}

static void team_parallel_for(void *ctx, size_t n, dnnq_task_fn fn, void *arg)
{
	struct dnnqd_team *t = ctx;
	t->fn = fn;
	t->arg = arg;
	/* id 0: a joiner claims only inside the job (the word counts it in) */
	atomic_store_explicit(&t->claims.word, dnnq_claims_job(&t->claims, n, 0),
	                      memory_order_relaxed);
	atomic_store_explicit(&t->helped, 0, memory_order_relaxed);
	atomic_store_explicit(&t->word, OPEN | (uint64_t)t->seats << SEATS_SHIFT,
	                      memory_order_release);
	run_tasks(t, 0);
	atomic_fetch_and_explicit(&t->word, ~OPEN, memory_order_relaxed);
	while (field(atomic_load_explicit(&t->word, memory_order_acquire), 0))
		__builtin_ia32_pause();
	unsigned workers = 1 + atomic_load_explicit(&t->helped, memory_order_relaxed);
	if (workers > t->peak)
		t->peak = workers;
}

void dnnqd_team_init(struct dnnqd_team *t, struct dnnqd *d, unsigned worker_index)
{
	atomic_init(&t->word, 0);
	atomic_init(&t->claims.word, 0);
	atomic_init(&t->claims.units, 0);
	atomic_init(&t->helped, 0);
	t->fn = NULL;
	t->arg = NULL;
	t->d = d;
	t->index = worker_index;
	t->seats = 1;
	t->peak = 1;
}

struct dnnq_executor dnnqd_team_executor(struct dnnqd_team *t, unsigned threads)
{
	t->seats = threads;
	t->peak = 1;
	for (unsigned i = 0; threads > 1 && t->d && i < t->d->nworkers; i++)
		if (i != t->index)
			dnnqd_worker_wake(&t->d->workers[i]);
	return (struct dnnq_executor){ team_parallel_for, t, threads };
}

void dnnqd_team_count(struct dnnqd_team *t, struct dnnqd_model_counts *m)
{
	dnnqd_count(&m->team_requests, t->peak > 1);
	dnnqd_count(&m->team_workers, t->peak > 1 ? t->peak : 0);
}

/* A seat in t's job, if it is open and has one: the joiner's tid, or 0. */
static unsigned join(struct dnnqd_team *t)
{
	uint64_t w = atomic_load_explicit(&t->word, memory_order_relaxed);
	do {
		if (!(w & OPEN) || 1 + field(w, TAKEN_SHIFT) >= field(w, SEATS_SHIFT))
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(&t->word, &w,
	                                                w + (IN << TAKEN_SHIFT) + IN,
	                                                memory_order_acquire,
	                                                memory_order_relaxed));
	return 1 + field(w, TAKEN_SHIFT);
}

bool dnnqd_team_help(struct dnnqd *d, unsigned self)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct dnnqd_team *t = &d->workers[i].runner.team;
		unsigned tid = i == self ? 0 : join(t);
		if (!tid)
			continue;
		bool ran = run_tasks(t, tid) > 0;
		if (ran)
			atomic_fetch_add_explicit(&t->helped, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&t->word, IN, memory_order_release);
		return ran;
	}
	return false;
}
