/*
 * The workers (worker.h).
 *
 * A pass serves at most one request per uid, round-robin between uids and,
 * within a uid, between its sessions: a client with a deep queue, or with
 * many sessions, cannot starve the others. It looks at every session of
 * the table once, in index order, and picks for each uid with work the
 * first session after the one it served last (the worker's private uid
 * table); then it serves the picks from a start index that rotates. A
 * pass ends with the worker's QSBR quiescent point (daemon/qsbr.h):
 * between passes it holds no session.
 *
 * The reserve. A worker runs a request to its end, so fairness by count
 * is not enough: a session whose requests are long (max batch, a big
 * model) would hold every worker, and another client's short request
 * would wait for one of them to finish. So while another session is
 * active (work queued, a request running, or one finished within its
 * window), a session may run on every worker but one, and so may a
 * uid while another uid is active: the worker that would be its last is
 * held back for the others (claim). A session's window is learned from
 * its own gaps between requests (reserve.h): 10 ms, or 3/2 of its usual
 * gap when that is within workers.reserve_max_ms, so a client with a
 * steady cadence (an audio chunk every 32 ms, a camera frame every 33)
 * stays active between its requests and finds the held worker free. A
 * worker held back sleeps like an idle one, taking the held session's
 * queue for empty, for at most RESERVE_NS at a time (the pass after each
 * sleep sees whether the hold still stands); with one client active, or
 * one worker, nothing is held.
 *
 * Serving one request (serve_one): pop a slot index, CAS it SUBMITTED ->
 * RUNNING (a failed CAS is a duplicate or hostile push: dropped), copy and
 * validate the descriptor (shm/), load the model table (one atomic load:
 * the version it names serves the whole request even if a reload
 * publishes another table meanwhile), check the request against it and
 * run it (request.c), count it, then complete the slot: FUTEX_WAKE only if the
 * client sleeps on it, a byte on the completion pipe only if the client
 * armed it.
 * A request whose dtypes match costs no allocation or lock, and no system
 * call unless its model has threads > 1: then it wakes the other workers
 * (one eventfd write each, team.c) so they can join its graph run.
 * An idle worker with nothing of its own to run first looks for an open
 * job of another worker's team to join (dnnqd_team_help); a gathered
 * batch of such a model (below) is one graph run, split the same way.
 * The pass's quiescent point releases the table with the sessions.
 * Counters are bumped before the completion, so a client that sees its
 * result and then asks for STATS finds it counted.
 *
 * Sleeping (worker_sleep), after spin_us without work: announce the sleep
 * in every session (dnnq_shm_sleep_begin, which re-checks the ring after a
 * fence: docs/shm.md), and if none has work, go QSBR-offline and
 * epoll_pwait2 (100 ms at most) on the doorbells and the wake eventfd. Once
 * online again, the announcements are taken back (sleep_end) and the
 * readable doorbells drained, each only if its session is still the one in
 * the table: while offline the control loop may have freed it, and an fd
 * number from epoll may even belong to something else by then. A session
 * is named by a tag (its id and table index), never by a pointer kept
 * across the sleep.
 *
 * Dynamic batching (a model's dynamic_batching, docs/config.md). A request
 * for such a model, once checked, leads a batch instead of running alone
 * (serve_batch): the worker keeps gathering requests for the same model
 * from any session, in rounds over the session table from a rotating
 * start, taking at most one request per uid per round (so more sessions
 * buy a client no bigger share of a batch), each popped, copied, validated
 * and checked like any against the one table the leader loaded (so every
 * member runs on one version, whatever a reload publishes meanwhile). A
 * member that fails its check completes at once, alone, unless a reload
 * has published another table since (then it is checked again against
 * that one after the batch); one for another model, or too big for the
 * room left, is served right after the batch
 * (leading a batch of its own only if the first batch's leader was popped
 * by the pass: serve_one bounds the chain, so a pass ends). The batch
 * runs once it holds its largest preferred size (else max_batch) items,
 * or when a round finds nothing more and it holds a smaller preferred
 * size or its deadline has passed: the leader's start plus
 * max_queue_delay_us (the leader is the oldest, so no member waits longer
 * for company). A round that found company, and the first (which passes
 * over the leader's uid), is followed by another at once, so 0 gathers
 * what is queued. Between rounds that found nothing the clients it waits
 * for may need this CPU to submit, so for the first spin_us of the wait
 * the worker yields it (sched_yield: back at once when nobody else wants
 * it, and the clients ring no doorbell, since no worker announced a
 * sleep; after a yield that ran nobody, the rounds of the next
 * YIELD_GAP_NS only spin: the company runs elsewhere, and a yield per
 * round was a system call per round), and after that sleeps as an idle
 * one does (worker_sleep, the announcement making every submit ring its
 * doorbell) until a submit or the deadline, a tick at most at a time
 * (each round is a step of the runner, the watchdog's sign of life:
 * dnnqd_workers_alive), but stays QSBR-online (its jobs hold sessions).
 * A nap of
 * fixed length would either wake too early or hold the batch past its
 * company. The workers' timer slack is 1 µs, so the deadline is kept to
 * the microsecond rather than the default 50.
 * The run gathers the inputs into the worker's staging buffers and
 * scatters the outputs back (request.c); each member then completes with
 * the batch's status: every member's result published first, then the
 * clients that sleep woken, all in one system call where the kernel has
 * io_uring's futex wake, else two per FUTEX_WAKE_OP (wake.h): a woken
 * client takes this CPU where a system call returns, so waking one at a
 * time left the others' results unpublished behind each preemption, and
 * each call is a switch out and back in for the worker.
 * Members ride on the worker the leader claimed: they count as running on
 * their sessions (the reserve sees them) but are never held back. All of
 * it happens inside one pass, so the sessions a batch holds stay
 * allocated until it is done, a killed client's included.
 *
 * A worker never blocks on a file a client can touch. SCM_RIGHTS passes
 * the open file, O_NONBLOCK included, so the doorbell and the completion
 * signal are datagram socketpairs: the client gets one end of each, the
 * daemon keeps the other, and a worker calls only recv and send with
 * MSG_DONTWAIT on its own end, non-blocking whatever flags any file
 * carries (the eventfds of before were one shared file: a client could
 * clear the flag, fill the counter and block a worker's write), and
 * MSG_NOSIGNAL. A full completion queue is readable anyway, so a send
 * that would block is simply skipped; a doorbell is drained a bounded
 * number of datagrams at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/reserve.h"
#include "daemon/session.h"
#include "daemon/worker.h"

#define WAKE_TAG UINT64_MAX
#define MAX_EVENTS 64
#define INDEX_BITS 16   /* max-clients <= 4096 (options.c) */
#define DRAIN_MAX 64           /* datagrams one wake-up reads from a doorbell */
#define RESERVE_NS DNNQD_RESERVE_MIN_NS /* a held worker's longest sleep */
#define BATCH_CHAIN 2           /* batches one request may lead to (serve_one) */
#define YIELD_EMPTY_NS 3000     /* a sched_yield back this soon ran nobody else */
#define YIELD_GAP_NS 5000       /* ... and the next one waits this long */
/* a gathering worker's longest sleep: a round (a step, the watchdog's sign
 * of life) at least every control-loop tick, whose watchdog window is
 * two ticks at least, however long max_queue_delay_us is */
#define GATHER_NAP_NS ((uint64_t)DNNQD_HEARTBEAT_MS * 1000000)

static uint64_t session_tag(const struct dnnqd_session *s)
{
	return s->id << INDEX_BITS | s->index;
}

/* The session a tag names, if it is still in the table. Online only. */
static struct dnnqd_session *lookup(struct dnnqd *d, uint64_t tag)
{
	struct dnnqd_session *s = atomic_load(&d->table[tag & ((1u << INDEX_BITS) - 1)]);
	return s && session_tag(s) == tag ? s : NULL;
}

/* The worker's wake eventfd: the control loop's, never a client's. */
static void notify(int fd)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is saturated, so the fd is readable anyway */
	if (write(fd, &one, sizeof one) < 0)
		return;
}

/* A byte on a session's completion socket. EAGAIN: the client's queue is
 * full, and so readable anyway; ECONNREFUSED: it closed its end. */
static void signal_completion(int fd)
{
	char one = 1;
	if (send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/* A client orders its own requests (a buffer one request read may be
 * written by a later one, once the first completed), but in its own
 * process, where ThreadSanitizer cannot see it: to TSAN, two workers serving
 * one session in turn look unordered. The session stands for the client's
 * ordering: a worker acquires it when it takes a request and releases it
 * before it completes one. Nothing outside a TSAN build. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define CLIENT_ORDER_ACQUIRE(s) __tsan_acquire(&(s)->counts)
#define CLIENT_ORDER_RELEASE(s) __tsan_release(&(s)->counts)
#else
#define CLIENT_ORDER_ACQUIRE(s) ((void)(s))
#define CLIENT_ORDER_RELEASE(s) ((void)(s))
#endif

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const uint64_t hist_bounds[DNNQ_PROTO_HIST_BUCKETS - 1] = DNNQ_PROTO_HIST_BOUNDS_NS;

/* A request waits at most this long to count in the queue time: a stamp
 * older (or in the future) is the client's mistake or mischief. */
#define QUEUE_NS_MAX 60000000000ull

/* Worker w's counters in row r (a model's: dnnqd_model.stats); NULL for
 * DNNQD_STATS_NONE. */
static struct dnnqd_model_counts *model_counts(struct dnnqd_worker *w, uint32_t r)
{
	return r < DNNQD_STATS_MODELS ? &w->d->mcounts[(size_t)w->index * DNNQD_STATS_MODELS + r]
	                              : NULL;
}

/* The bucket of v: the first bound it does not pass, or the last. */
static unsigned bucket(const uint64_t *bounds, uint64_t v)
{
	unsigned b = 0;
	while (b < DNNQ_PROTO_HIST_BUCKETS - 1 && v > bounds[b])
		b++;
	return b;
}

/* Job j's counts on its model (one writer, relaxed): ns its time from
 * its check to its completion. */
static void count_model(struct dnnqd_worker *w, const struct dnnqd_job *j, uint64_t ns)
{
	struct dnnqd_model_counts *m = model_counts(w, j->stats);
	if (!m)
		return;
	dnnqd_count(&m->requests, 1);
	dnnqd_count(&m->failures, j->status != 0);
	dnnqd_count(&m->samples, j->status ? 0 : j->req.batch);
	dnnqd_count(&m->run_ns, ns);
	dnnqd_count(&m->hist[bucket(hist_bounds, ns)], 1);
	if (!j->status)
		dnnqd_team_count(&w->runner.team, m);
	if (j->submit && j->submit <= j->t0 && j->t0 - j->submit < QUEUE_NS_MAX) {
		dnnqd_count(&m->queued, 1);
		dnnqd_count(&m->queue_ns, j->t0 - j->submit);
	}
}

static const uint64_t batch_bounds[DNNQ_PROTO_HIST_BUCKETS - 1] = DNNQ_PROTO_BATCH_BOUNDS;

/* One graph run of `items` batch items on the model of counters row r;
 * expired: a partial batch that ran at its deadline. */
static void count_run(struct dnnqd_worker *w, uint32_t r, uint32_t items, bool expired)
{
	struct dnnqd_model_counts *m = model_counts(w, r);
	if (!m)
		return;
	dnnqd_count(&m->runs, 1);
	dnnqd_count(&m->run_items, items);
	dnnqd_count(&m->expired, expired);
	dnnqd_count(&m->batches[bucket(batch_bounds, items)], 1);
}

/* The worker's record of uid in this pass (open addressing, cleared by
 * bumping the pass number); NULL never: the table has twice the entries
 * of the session table. */
static struct dnnqd_uid_turn *turn_of(struct dnnqd_worker *w, uint32_t uid)
{
	uint32_t mask = w->nturns - 1;
	for (uint32_t h = uid * 2654435761u;; h++) {
		struct dnnqd_uid_turn *t = &w->turns[h & mask];
		if (t->pass != w->pass) {
			/* a free entry; the uid's cursor survives when it was its own */
			if (t->uid != uid)
				*t = (struct dnnqd_uid_turn){ .uid = uid, .last = UINT32_MAX };
			t->pass = w->pass;
			t->pick = UINT32_MAX;
			return t;
		}
		if (t->uid == uid)
			return t;
	}
}

/* Each uid with work: the first of its sessions with work after the one
 * served last (wrapping), into its t->pick; a session the reserve would
 * likely hold back (running on every worker but one) only when the uid
 * has no other. The count of sessions with work. */
static uint32_t pick_sessions(struct dnnqd_worker *w, uint32_t n)
{
	struct dnnqd *d = w->d;
	uint32_t with_work = 0, cap = d->nworkers - 1;
	w->pass++;
	for (uint32_t i = 0; i < n; i++) {
		struct dnnqd_session *s = atomic_load(&d->table[i]);
		if (!s || !dnnq_shm_ring_nonempty(&s->view))
			continue;
		struct dnnqd_uid_turn *t = turn_of(w, s->uid);
		bool full = cap && atomic_load_explicit(&s->load.running, memory_order_relaxed) >= cap;
		bool after = t->last == UINT32_MAX || i > t->last;
		with_work++;
		if (t->pick == UINT32_MAX || (t->pick_full && !full) ||
		    (t->pick_full == full && after && t->pick <= t->last)) {
			t->pick = i;
			t->pick_full = full;
		}
	}
	return with_work;
}

/* CLOCK_MONOTONIC_COARSE: the reserve's clock needs milliseconds, and a
 * worker reads it once per request. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether a session other than s (by_uid: of another uid) is active:
 * work queued, a request running, or one finished within its window
 * (reserve.h). */
static bool others_active(struct dnnqd *d, uint32_t n, const struct dnnqd_session *s,
                          bool by_uid)
{
	uint64_t now = coarse_ns(), cap = (uint64_t)d->cfg.reserve_max_ms * 1000000;
	for (uint32_t i = 0; i < n; i++) {
		const struct dnnqd_session *o = atomic_load(&d->table[i]);
		if (!o || o == s || (by_uid && o->uid == s->uid))
			continue;
		if (dnnq_shm_ring_nonempty(&o->view) ||
		    atomic_load_explicit(&o->load.running, memory_order_relaxed) ||
		    dnnqd_reserve_active(now, atomic_load_explicit(&o->load.active_ns,
		                                                   memory_order_relaxed),
		                         atomic_load_explicit(&o->load.gaps, memory_order_relaxed), cap))
			return true;
	}
	return false;
}

/* One more running request on l, unless it already runs on every worker
 * but one while others are active (s and by_uid as for others_active):
 * the number it ran before, or -1 when held back. */
static int64_t take(struct dnnqd_worker *w, struct dnnqd_load *l, uint32_t n,
                    const struct dnnqd_session *s, bool by_uid)
{
	uint32_t cap = w->d->nworkers - 1;
	uint32_t r = atomic_load_explicit(&l->running, memory_order_relaxed);
	do {
		if (cap && r >= cap) {
			if (others_active(w->d, n, s, by_uid))
				return -1;
			cap = 0;
		}
	} while (!atomic_compare_exchange_weak(&l->running, &r, r + 1));
	return r;
}

/* A request of s taken while none of its others ran: the gap from the
 * end of its last one to its submit joins the session's gaps
 * (reserve.h). The submit stamp (the client's CLOCK_MONOTONIC) counts
 * only between that end and now, else now does: a client can shorten
 * its own gap, never lengthen it, and a request that waited for a
 * worker does not count its wait as a gap (it did, measured to the
 * claim: a client that once found every worker taken looked slower,
 * past the cap, lost its window and found them taken again). Only the
 * claim that took running from 0 writes, so the plain load and store
 * race only with another such claim a whole request later. */
static void note_gap(struct dnnqd_load *l, uint64_t submit)
{
	uint64_t last = atomic_load_explicit(&l->active_ns, memory_order_relaxed);
	if (!last)	/* its first request: no gap yet */
		return;
	uint64_t at = coarse_ns(), gaps = atomic_load_explicit(&l->gaps, memory_order_relaxed);
	at = submit > last && submit < at ? submit : at;
	atomic_store_explicit(&l->gaps, dnnqd_reserve_note(gaps, at - last), memory_order_relaxed);
}

static void put(struct dnnqd_load *l)
{
	atomic_store_explicit(&l->active_ns, coarse_ns(), memory_order_relaxed);
	atomic_fetch_sub(&l->running, 1);
}

/* A worker for a request of s, unless the reserve holds it back (the top
 * comment): then false, and the worker remembers the session, or its uid
 * when the uid is what is held back. *first: none of s's ran before. */
static bool claim(struct dnnqd_worker *w, struct dnnqd_session *s, uint32_t n, bool *first)
{
	int64_t was = take(w, &s->load, n, s, false);
	if (was >= 0) {
		*first = !was;
		if (!s->uload || take(w, &s->uload->l, n, s, true) >= 0)
			return true;
		put(&s->load);
		w->held_uid = s->uid;
		w->held_by_uid = true;
	}
	w->held = session_tag(s);
	return false;
}

/* Whether the last pass held s back (its queue is not this worker's work). */
static bool held_back(const struct dnnqd_worker *w, const struct dnnqd_session *s)
{
	return w->held && (session_tag(s) == w->held || (w->held_by_uid && s->uid == w->held_uid));
}

static void release(struct dnnqd_session *s)
{
	if (s->uload)
		put(&s->uload->l);
	put(&s->load);
}

/* Validated job j checked against ms (request.c); j->status is 0 or why
 * it fails. */
static void job_check(const struct dnnqd_models *ms, struct dnnqd_job *j, struct dnnq_diag *diag)
{
	j->req.model_id = j->model_id;
	j->status = dnnqd_request_check(ms, &j->req, diag);
	/* an id not served (not yet, or no longer): counted daemon-wide only */
	const struct dnnqd_model *m = dnnqd_models_at(ms, j->req.model_id);
	if (!m)
		j->req.model_id = UINT32_MAX;
	j->stats = m ? m->stats : DNNQD_STATS_NONE;
}

/* A popped request into j: its descriptor copied and validated (shm/),
 * then checked against ms; j->status is 0 or why it fails. t0
 * (CLOCK_MONOTONIC, vDSO) starts its time in the daemon. */
static void job_take(struct dnnqd_session *s, uint32_t slot, const struct dnnqd_models *ms,
                     struct dnnqd_job *j, struct dnnq_diag *diag)
{
	j->s = s;
	j->slot = slot;
	j->arena = s->view.arena;
	j->copied = 0;
	j->joined = false;
	j->recheck = false;
	j->submit = dnnq_shm_slot_submit_ns(&s->view, slot);
	j->status = dnnq_shm_desc_copy_validate(&s->view, slot, &j->req, diag);
	j->t0 = mono_ns();
	j->model_id = j->status ? UINT32_MAX : j->req.model_id;
	if (!j->status) {
		job_check(ms, j, diag);
	} else {
		j->req.model_id = UINT32_MAX;	/* names no model to count it on */
		j->stats = DNNQD_STATS_NONE;
	}
}

static void count(struct dnnqd_counters *c, int status, uint64_t copied)
{
	dnnqd_count(&c->requests, 1);
	dnnqd_count(&c->failures, status != 0);
	dnnqd_count(&c->bytes_copied, copied);
}

/* Counts j and publishes its result: no system call, so a batch
 * publishes every member's before job_notify wakes the first. */
static void job_publish(struct dnnqd_worker *w, struct dnnqd_job *j, const struct dnnq_diag *diag)
{
	struct dnnqd_session *s = j->s;
	if (j->status && dnnqd_log_enabled(DNNQD_LOG_DEBUG))
		dnnqd_log(DNNQD_LOG_DEBUG, "session %llu: slot %u: %s (%s)", (unsigned long long)s->id,
		          j->slot, dnnq_strerror(j->status), diag->msg);
	count_model(w, j, mono_ns() - j->t0);
	count(&w->d->counts[w->index], j->status, j->copied);
	count(&s->counts[w->index], j->status, j->copied);
	CLIENT_ORDER_RELEASE(s);
	j->published = dnnq_shm_slot_publish(&s->view, j->slot, j->status) == 0;
}

/* After job_publish of jobs[0, n): the clients that sleep on them woken
 * in one system call where it can be (wake.h: each call's return is where
 * a woken client takes this CPU, one preemption per call, not per
 * request), a byte on the completion socket only if the client armed it. */
static void job_notify(struct dnnqd_worker *w, struct dnnqd_job *jobs, unsigned n)
{
	unsigned nwords = 0;
	dnnq_shm_fence_seqcst();	/* the results before the waiters words */
	for (unsigned k = 0; k < n; k++) {
		struct dnnqd_session *s = jobs[k].s;
		uint32_t *word = jobs[k].published ? dnnq_shm_slot_sleeper(&s->view, jobs[k].slot)
		                                   : NULL;
		if (word)
			w->wake_words[nwords++] = word;
		if (dnnq_shm_event_armed(&s->view))
			signal_completion(s->completion[0]);
		if (jobs[k].joined)
			release(s);
	}
	dnnqd_wake_all(&w->wake, w->wake_words, nwords);
}

/* Counts and completes j alone. */
static void job_finish(struct dnnqd_worker *w, struct dnnqd_job *j, const struct dnnq_diag *diag)
{
	job_publish(w, j, diag);
	job_notify(w, j, 1);
}

/* Up to DRAIN_MAX datagrams of a doorbell in one system call (a client
 * sending all the while cannot keep a worker here); their bytes are
 * dropped (one byte of buffer: a longer datagram is truncated). EAGAIN:
 * drained, maybe by another worker. */
static void drain_doorbell(int fd)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	struct mmsghdr m[DRAIN_MAX];
	for (int i = 0; i < DRAIN_MAX; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	(void)recvmmsg(fd, m, DRAIN_MAX, MSG_DONTWAIT, NULL);
}

static void drain(struct dnnqd_worker *w, const struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		struct dnnqd_session *s = NULL;
		uint64_t v;
		if (ev[i].data.u64 == WAKE_TAG) {
			if (read(w->wakefd, &v, sizeof v) < 0)
				continue;	/* EAGAIN: drained already */
		} else if ((s = lookup(w->d, ev[i].data.u64))) {
			drain_doorbell(s->doorbell[0]);
		}
	}
}

/* Sleeps on the doorbells and the wake eventfd for at most timeout_ns,
 * unless a session has work. Idle (between passes), the work of a session
 * the last pass held back does not count, and the worker is QSBR-offline
 * meanwhile; gathering a batch, any work counts (the next round takes it)
 * and the worker stays online, since its jobs hold sessions. */
static void worker_sleep(struct dnnqd_worker *w, uint64_t timeout_ns, bool idle)
{
	struct dnnqd *d = w->d;
	uint32_t n = 0, hwm = atomic_load(&d->hwm);
	bool work = false;
	for (uint32_t i = 0; i < hwm && !work; i++) {
		struct dnnqd_session *s = atomic_load(&d->table[i]);
		if (!s)
			continue;
		w->sleep_tags[n++] = session_tag(s);
		work = dnnq_shm_sleep_begin(&s->view) && !(idle && held_back(w, s));
	}
	if (!work) {
		struct epoll_event ev[MAX_EVENTS];
		struct timespec t = { (time_t)(timeout_ns / 1000000000u),
		                      (long)(timeout_ns % 1000000000u) };
		if (idle)
			dnnqd_qsbr_offline(&w->qs);
		int k = epoll_pwait2(w->epfd, ev, MAX_EVENTS, &t, NULL);
		if (idle)
			dnnqd_qsbr_online(&w->qs);
		drain(w, ev, k);
	}
	for (uint32_t j = 0; j < n; j++) {
		struct dnnqd_session *s = lookup(d, w->sleep_tags[j]);
		if (s)
			dnnq_shm_sleep_end(&s->view);
	}
}

/* --- dynamic batching (the top comment's "Dynamic batching") ------------- */

/* Whether checked job j leads a batch: its model batches, with room for
 * more. */
static bool batching(const struct dnnqd_models *ms, const struct dnnqd_job *j)
{
	const struct dnnqd_model *m = ms->m[j->req.model_id];
	return m->src.batching.enabled && j->req.batch < m->max_batch;
}

/* The items a batch of m gathers at most: its largest preferred size (the
 * requests beyond it are left for the next batch, which another worker may
 * be free to lead; models.c checked it is within max_batch), else
 * max_batch. */
static uint32_t gather_cap(const struct dnnqd_model *m)
{
	const struct dnnq_config_batching *b = &m->src.batching;
	return b->npreferred ? b->preferred[b->npreferred - 1] : m->max_batch;
}

static bool preferred(const struct dnnq_config_batching *b, uint32_t items)
{
	for (unsigned i = 0; i < b->npreferred; i++)
		if (b->preferred[i] == items)
			return true;
	return false;
}

/* A request that joins a batch rides on the worker its leader claimed: it
 * counts as running, so others see its session active, but the reserve
 * never holds it back. job_finish puts it. */
static void ride(struct dnnqd_session *s)
{
	atomic_fetch_add(&s->load.running, 1);
	if (s->uload)
		atomic_fetch_add(&s->uload->l.running, 1);
}

/* Whether a request of uid is among jobs [from, n) (this round's). */
static bool gave(const struct dnnqd_worker *w, unsigned from, unsigned n, uint32_t uid)
{
	for (unsigned k = from; k < n; k++)
		if (w->jobs[k].s->uid == uid)
			return true;
	return false;
}

enum join { JOIN_NONE, JOIN_ADDED, JOIN_LEFT };

/* One request of s into jobs[*n], to join the batch of jobs[0, *n) of
 * *items items: popped, taken and checked like any. One that fails is
 * completed at once, alone (unless ms is no longer the table served: then
 * it is left, marked recheck); one for another model, or too big for the
 * room left, stays in jobs[*n] for after the batch (JOIN_LEFT). */
static enum join join_one(struct dnnqd_worker *w, struct dnnqd_session *s,
                          const struct dnnqd_models *ms, unsigned *n, uint32_t *items)
{
	const struct dnnqd_job *lead = &w->jobs[0];
	struct dnnqd_job *j = &w->jobs[*n];
	uint32_t slot;
	int rc = dnnq_shm_ring_pop(&s->view, &slot);
	if (rc || dnnq_shm_slot_transition(&s->view, slot, DNNQ_SLOT_SUBMITTED, DNNQ_SLOT_RUNNING))
		return JOIN_NONE;	/* empty, or dropped as in serve_one */
	CLIENT_ORDER_ACQUIRE(s);
	ride(s);
	struct dnnq_diag diag;
	diag.msg[0] = 0;
	job_take(s, slot, ms, j, &diag);
	j->joined = true;
	/* judged by a table a reload has replaced since the leader loaded it
	 * (a model the reload added, a handle opened at the new generation):
	 * left for after the batch and checked again against the table then
	 * served (before: failed, DNNQ_E_RANGE or DNNQ_E_MODEL_CHANGED) */
	if ((j->status == DNNQ_E_RANGE || j->status == DNNQ_E_NOTFOUND ||
	     j->status == DNNQ_E_MODEL_CHANGED) &&
	    j->model_id != UINT32_MAX && atomic_load(&w->d->models) != ms) {
		j->recheck = true;
		return JOIN_LEFT;
	}
	if (j->status) {
		job_finish(w, j, &diag);
		return JOIN_NONE;
	}
	if (j->req.model_id != lead->req.model_id ||
	    j->req.batch > ms->m[lead->req.model_id]->max_batch - *items)
		return JOIN_LEFT;
	*items += j->req.batch;
	++*n;
	return JOIN_ADDED;
}

/* One round over the sessions from a rotating start, at most one request
 * per uid (the first round counts the leader's), so a client gets no more
 * of a batch by opening more sessions: the requests added; *left when one
 * was left for after the batch. */
static unsigned gather_round(struct dnnqd_worker *w, const struct dnnqd_models *ms, unsigned *n,
                             uint32_t *items, bool *left, bool first)
{
	struct dnnqd *d = w->d;
	uint32_t hwm = atomic_load(&d->hwm), max = gather_cap(ms->m[w->jobs[0].req.model_id]);
	unsigned from = first ? 0 : *n, added = *n;
	if (!hwm)
		return 0;
	uint32_t i = w->gather_rr++ % hwm;
	for (uint32_t k = 0; k < hwm && *items < max && *n < DNNQD_BATCH_JOBS - 1 && !*left;
	     k++, i = i + 1 == hwm ? 0 : i + 1) {
		struct dnnqd_session *s = atomic_load(&d->table[i]);
		if (s && dnnq_shm_ring_nonempty(&s->view) && !gave(w, from, *n, s->uid))
			*left = join_one(w, s, ms, n, items) == JOIN_LEFT;
	}
	return *n - added;
}

/* The requests of jobs[0]'s batch waiting for company, on its model's
 * gauge (one writer: this worker). */
static void set_waiting(struct dnnqd_model_counts *mc, unsigned n)
{
	if (mc)
		atomic_store_explicit(&mc->waiting, n, memory_order_relaxed);
}

/* sched_yield at now: the earliest time for the next one, YIELD_GAP_NS
 * later when this one came back within YIELD_EMPTY_NS (nobody else
 * wanted the CPU: the company is running elsewhere, and yielding again
 * at once would only be a system call per round), else at once. */
static uint64_t yield_cpu(uint64_t now)
{
	sched_yield();
	uint64_t t = mono_ns();
	return t - now < YIELD_EMPTY_NS ? t + YIELD_GAP_NS : t;
}

/* Gathers requests for jobs[0]'s model until the batch is full (its
 * largest preferred size, else max_batch), has a preferred size with
 * nothing more queued, or its deadline (jobs[0]'s start +
 * max_queue_delay_us) has passed; runs them as one and completes each. The
 * request left for after it, moved to jobs[0], or NULL. */
static struct dnnqd_job *serve_batch(struct dnnqd_worker *w, const struct dnnqd_models *ms)
{
	struct dnnqd_job *jobs = w->jobs;
	uint32_t id = jobs[0].req.model_id, items = jobs[0].req.batch;
	const struct dnnqd_model *m = ms->m[id];
	const struct dnnq_config_batching *b = &m->src.batching;
	const uint64_t deadline = jobs[0].t0 + (uint64_t)b->max_queue_delay_us * 1000;
	const uint64_t spin_ns = (uint64_t)w->d->cfg.spin_us * 1000;
	struct dnnqd_model_counts *mc = model_counts(w, m->stats);
	unsigned n = 1, rounds = 0;
	bool left = false, expired = false;
	uint64_t next_yield = 0;
	while (!left && items < gather_cap(m) && n < DNNQD_BATCH_JOBS - 1 &&
	       !atomic_load_explicit(&w->d->stop, memory_order_relaxed)) {
		set_waiting(mc, n);
		dnnqd_runner_step(&w->runner);	/* the watchdog's sign of life */
		bool first = rounds++ == 0;
		unsigned got = gather_round(w, ms, &n, &items, &left, first);
		/* a round that found company, or the first (it passed over the
		 * leader's uid), is followed by another at once: nobody waits for
		 * that, and each adds an item at least, so the cap bounds them;
		 * a request left for after the batch ends it (the loop's test) */
		if (got || first || left)
			continue;
		if (preferred(b, items))
			break;
		/* checked after every round that found nothing: a trickle of
		 * company cannot stretch the wait past it */
		uint64_t now = mono_ns();
		if ((expired = now >= deadline))
			break;
		/* the company comes from clients that may need this CPU: for
		 * the first spin_us the worker yields it to them (no doorbell
		 * to ring), though not again within YIELD_GAP_NS of a yield
		 * that ran nobody else (the rounds between spin), then sleeps
		 * until a submit rings a doorbell, or the deadline */
		if (now - jobs[0].t0 >= spin_ns)
			worker_sleep(w, deadline - now < GATHER_NAP_NS ? deadline - now
			                                               : GATHER_NAP_NS, false);
		else if (now >= next_yield)
			next_yield = yield_cpu(now);
		else
			__builtin_ia32_pause();
	}
	set_waiting(mc, 0);
	int rc = dnnqd_runner_run_batch(&w->runner, ms, jobs, n, items);
	count_run(w, m->stats, items, expired);
	struct dnnq_diag diag;
	diag.msg[0] = 0;
	if (rc)	/* only a failure is logged: no formatting on the serving path */
		snprintf(diag.msg, sizeof diag.msg, "a batch of %u requests, %u items%s", n, items,
		         n > 1 ? ", then alone" : "");
	/* every result first, then the wakes: a woken client that takes this
	 * CPU at the first system call's return delays no other member */
	bool alone = rc && n > 1;
	for (unsigned k = 0; k < n; k++) {
		struct dnnqd_job *j = &jobs[k];
		j->status = rc;
		/* a run that failed on what one request holds (an id outside an
		 * embedding's table) fails that request only: each runs again
		 * alone, in place, so its company gets its own answer, and is
		 * woken at once, not after the runs of the members after it */
		if (alone) {
			j->copied = 0;
			j->status = dnnqd_runner_run(&w->runner, ms, j->arena, &j->req, &j->copied);
			count_run(w, m->stats, j->req.batch, false);
		}
		job_publish(w, j, &diag);
		if (alone)
			job_notify(w, j, 1);
	}
	if (!alone)
		job_notify(w, jobs, n);
	if (!left)
		return NULL;
	jobs[0] = jobs[n];
	return &jobs[0];
}

/* One request of session s, if its ring has one; true when a ring cell
 * was consumed. first: none of s's others runs (its gap is noted). With dynamic batching on for its model, it leads a batch
 * (serve_batch); the request that batch leaves over leads one more, and
 * the one that one leaves runs alone: a client keeping two batched models
 * in turn in its queue would otherwise keep the worker going from batch
 * to batch, never at a quiescent point (no closed session freed, no old
 * model version, no watchdog ping). */
static bool serve_one(struct dnnqd_worker *w, struct dnnqd_session *s, bool first)
{
	uint32_t slot;
	int rc = dnnq_shm_ring_pop(&s->view, &slot);
	if (rc == DNNQ_E_AGAIN)
		return false;
	/* not a slot, or not SUBMITTED: a hostile or duplicate push, dropped */
	if (rc || dnnq_shm_slot_transition(&s->view, slot, DNNQ_SLOT_SUBMITTED, DNNQ_SLOT_RUNNING))
		return true;
	CLIENT_ORDER_ACQUIRE(s);
	struct dnnq_diag diag;
	diag.msg[0] = 0;	/* not zeroed whole: this is the serving path */
	/* seq_cst, like the session table's loads: qsbr.h's argument */
	const struct dnnqd_models *ms = atomic_load(&w->d->models);
	struct dnnqd_job *j = &w->jobs[0];
	job_take(s, slot, ms, j, &diag);
	if (first)
		note_gap(&s->load, j->submit);
	for (unsigned led = 0; j && !j->status && led < BATCH_CHAIN && batching(ms, j); led++) {
		j = serve_batch(w, ms);
		if (j && j->recheck) {
			ms = atomic_load(&w->d->models);
			job_check(ms, j, &diag);
		}
	}
	if (j) {
		if (!j->status) {
			j->status = dnnqd_runner_run(&w->runner, ms, j->arena, &j->req, &j->copied);
			count_run(w, j->stats, j->req.batch, false);
		}
		job_finish(w, j, &diag);
	}
	return true;
}

static bool worker_pass(struct dnnqd_worker *w)
{
	struct dnnqd *d = w->d;
	uint32_t n = atomic_load(&d->hwm);
	bool busy = false;
	w->held = 0;
	w->held_by_uid = false;
	if (!n || !pick_sessions(w, n))
		return false;
	uint32_t i = w->rr++ % n;
	/* on stop, the request running is the last one: no new ones */
	for (uint32_t k = 0; k < n && !atomic_load_explicit(&d->stop, memory_order_relaxed);
	     k++, i = i + 1 == n ? 0 : i + 1) {
		struct dnnqd_session *s = atomic_load(&d->table[i]);
		if (!s)
			continue;
		struct dnnqd_uid_turn *t = turn_of(w, s->uid);
		if (t->pick != i)
			continue;
		bool first;
		if (!claim(w, s, n, &first))
			continue;
		t->last = i;
		bool served = serve_one(w, s, first);
		release(s);
		/* no session or model pointer is held between picks: a pass of
		 * several uids' batches (each up to two delays long) still lets
		 * the control loop free what it retired, and ping the watchdog */
		if (served) {
			busy = true;
			dnnqd_qsbr_quiescent(&w->qs);
		}
	}
	return busy;
}

static void *worker_main(void *arg)
{
	struct dnnqd_worker *w = arg;
	struct dnnqd *d = w->d;
	const uint64_t spin_ns = (uint64_t)d->cfg.spin_us * 1000;
	uint64_t idle_since = 0;
	/* a batch's deadline is microseconds away: no 50 µs of timer slack */
	prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);
	dnnqd_qsbr_online(&w->qs);
	while (!atomic_load(&d->stop)) {
		bool busy = worker_pass(w);
		dnnqd_qsbr_quiescent(&w->qs);
		/* nothing of its own to run: a hand in another worker's request */
		if (busy || dnnqd_team_help(d, w->index)) {
			idle_since = 0;
			continue;
		}
		uint64_t now = dnnqd_now_ns();
		if (!idle_since) {
			idle_since = now;
		} else if (now - idle_since >= spin_ns) {
			worker_sleep(w, w->held ? RESERVE_NS : DNNQD_IDLE_SLEEP_NS, true);
			idle_since = 0;
		} else {
			__builtin_ia32_pause();
		}
	}
	dnnqd_qsbr_offline(&w->qs);
	return NULL;
}

int dnnqd_worker_init(struct dnnqd_worker *w, struct dnnqd *d, unsigned index, int cpu,
                      struct dnnq_diag *diag)
{
	memset(w, 0, sizeof *w);
	dnnqd_qsbr_init(&w->qs);
	w->d = d;
	w->index = index;
	w->cpu = cpu;
	w->epfd = w->wakefd = -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };
	for (w->nturns = 2; w->nturns < 2 * d->cfg.max_clients;)
		w->nturns *= 2;
	w->sleep_tags = calloc(d->cfg.max_clients, sizeof *w->sleep_tags);
	w->turns = calloc(w->nturns, sizeof *w->turns);
	w->jobs = calloc(DNNQD_BATCH_JOBS, sizeof *w->jobs);
	w->wake_words = calloc(DNNQD_BATCH_JOBS, sizeof *w->wake_words);
	if (!w->sleep_tags || !w->turns || !w->jobs || !w->wake_words)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "worker %u: out of memory", index);
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev))
		return dnnq_diag_set(diag, DNNQ_E_IO, "worker %u: epoll set: %s", index,
		                     strerror(errno));
	dnnqd_wake_init(&w->wake, DNNQD_BATCH_JOBS);
	dnnqd_runner_init(&w->runner, index);
	dnnqd_team_init(&w->runner.team, d, index);
	return 0;
}

int dnnqd_worker_start(struct dnnqd_worker *w, struct dnnq_diag *diag)
{
	pthread_attr_t attr;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	int rc = pthread_attr_init(&attr);
	/* pinned from its first instruction, so its memory is first touched there */
	if (!rc)
		rc = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
	if (!rc)
		rc = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc)
		return dnnq_diag_set(diag, DNNQ_E_IO, "worker %u: CPU %d: cannot start a pinned"
		                     " thread: %s", w->index, w->cpu, strerror(rc));
	char name[16];
	snprintf(name, sizeof name, "dnnqd-w%u", w->index);
	pthread_setname_np(w->thread, name);
	w->started = true;
	return 0;
}

void dnnqd_worker_wake(struct dnnqd_worker *w)
{
	notify(w->wakefd);
}

void dnnqd_worker_join(struct dnnqd_worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void dnnqd_worker_destroy(struct dnnqd_worker *w)
{
	dnnqd_runner_destroy(&w->runner);
	dnnqd_wake_destroy(&w->wake);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->wakefd >= 0)
		close(w->wakefd);
	free(w->sleep_tags);
	free(w->turns);
	free(w->jobs);
	free(w->wake_words);
	w->epfd = w->wakefd = -1;
	w->sleep_tags = NULL;
	w->turns = NULL;
	w->jobs = NULL;
	w->wake_words = NULL;
}

int dnnqd_worker_watch(struct dnnqd_worker *w, const struct dnnqd_session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = session_tag(s) };
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->doorbell[0], &ev) ? DNNQ_E_IO : 0;
}

void dnnqd_worker_unwatch(struct dnnqd_worker *w, const struct dnnqd_session *s)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->doorbell[0], NULL);
}
