/*
 * The data path: submit a request to a slot, wait for or poll its end.
 *
 * Free slots. A Treiber stack in private memory: free_head packs an ABA
 * tag (bumped by every change) above the top slot's index + 1, and each
 * slot's `next` links to the one below. Taking and returning a slot is one
 * CAS each, so threads sharing a client never take a lock to submit.
 *
 * Tickets. Each slot hands out a fresh ticket per request (its private
 * counter) and records the ticket in flight; a struct dnnq_request carries
 * (slot, ticket). Ending a request is a CAS of the slot's ticket to 0, so
 * it happens once: a repeated or stale dnnq_poll/dnnq_wait finds another
 * ticket and gets DNNQ_E_INVAL without touching the reused slot.
 *
 * Waiting. First spin on the slot's state word for spin_us (a daemon whose
 * worker spins answers within microseconds: no system call on either
 * side), then sleep on the futex in slices of at most 10 ms. The spin is
 * adaptive: it pays only when the result comes within it, so a wait spins
 * only while the recent waits on its model (an average of the time from
 * the start of a wait to the end it saw) are within spin_us, and else
 * sleeps at once. A spin that cannot succeed burns the CPU the daemon's
 * workers need, which on a host with fewer cores than clients is the one
 * they run on (8 clients spinning 50 µs per request of a 500 µs model
 * took a third of 2 cores). Sleeping still measures the waits (a wait that
 * times out counts as long as it was). A wait that sleeps sees the end
 * late (the futex wake), which alone could hold the estimate above
 * spin_us for a model that is fast again after one slow request; so one
 * in CLIENT_SPIN_PROBE of the waits that would sleep spins anyway, and
 * when that spin sees the end, its wait replaces the estimate. A probe
 * that does not see the end doubles the gap to the next, up to 1024 waits:
 * a model that stays slow (a batched one: 8 clients probing 50 µs in 16
 * waits of ~300 µs took 0.07 of 2 CPUs, a fifth of the clients' time).
 * Once a slice (and before a wait gives up, not before every sleep: poll
 * is a system call) the client checks that the daemon lives: the socket
 * must not have hung up, and the heartbeat word must have moved within
 * stale_ns. A dead daemon marks the client dead (all later calls fail with
 * DNNQ_E_DISCONNECTED) and is noticed by every waiter within one slice.
 *
 * Abandoned slots. A dnnq_infer that times out or fails while waiting
 * cannot free its slot: the daemon may still write it. The slot is marked
 * abandoned and kept off the free list; when the list runs empty, submit
 * looks for abandoned slots that have since ended and reclaims them.
 */
#define _GNU_SOURCE	/* POLLRDHUP */
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "client/client-internal.h"

#define WAIT_SLICE_NS    10000000	/* 10 ms: the bound on noticing a death */
#define LIVE_POLL_NS     10000000	/* dnnq_poll looks at the socket this often */
#define WAIT_EWMA_SHIFT  3		/* each wait weighs 1/8 in the estimate */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static bool slot_ended(uint32_t state)
{
	return state == DNNQ_SLOT_DONE || state == DNNQ_SLOT_FAILED;
}

/* ---- the free list ---------------------------------------------------- */

static bool free_pop(struct dnnq_client *c, uint32_t *idx)
{
	uint64_t head = __atomic_load_n(&c->free_head, __ATOMIC_ACQUIRE);
	for (;;) {
		uint32_t top = (uint32_t)head;
		if (!top)
			return false;
		uint32_t next = __atomic_load_n(&c->slots[top - 1].next, __ATOMIC_RELAXED);
		uint64_t want = (((head >> 32) + 1) << 32) | next;
		if (__atomic_compare_exchange_n(&c->free_head, &head, want, true,
		                                __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
			*idx = top - 1;
			return true;
		}
	}
}

static void free_push(struct dnnq_client *c, uint32_t idx)
{
	uint64_t head = __atomic_load_n(&c->free_head, __ATOMIC_RELAXED), want;
	do {
		__atomic_store_n(&c->slots[idx].next, (uint32_t)head, __ATOMIC_RELAXED);
		want = (((head >> 32) + 1) << 32) | (idx + 1);
	} while (!__atomic_compare_exchange_n(&c->free_head, &head, want, true,
	                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void request_slots_init(struct dnnq_client *c)
{
	for (uint32_t i = c->view.slot_count; i-- > 0;)
		free_push(c, i);	/* slot 0 on top */
}

static void slot_abandon(struct dnnq_client *c, uint32_t idx)
{
	__atomic_store_n(&c->slots[idx].abandoned, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&c->n_abandoned, 1, __ATOMIC_RELEASE);
}

/* An ended slot back to FREE and onto the free list; one whose state
 * changed under us (a daemon scribbling) stays abandoned instead. */
static void slot_release(struct dnnq_client *c, uint32_t idx, uint32_t state)
{
	if (dnnq_shm_slot_transition(&c->view, idx, state, DNNQ_SLOT_FREE) == 0)
		free_push(c, idx);
	else
		slot_abandon(c, idx);
}

static void reclaim(struct dnnq_client *c)
{
	for (uint32_t i = 0; i < c->view.slot_count; i++) {
		uint32_t one = 1, st = dnnq_shm_slot_state(&c->view, i);
		if (!slot_ended(st) || !__atomic_compare_exchange_n(&c->slots[i].abandoned, &one, 0,
		                                                     false, __ATOMIC_ACQ_REL,
		                                                     __ATOMIC_RELAXED))
			continue;
		__atomic_fetch_sub(&c->n_abandoned, 1, __ATOMIC_RELEASE);
		slot_release(c, i, st);
	}
}

static bool slot_take(struct dnnq_client *c, uint32_t *idx)
{
	if (free_pop(c, idx))
		return true;
	if (!__atomic_load_n(&c->n_abandoned, __ATOMIC_ACQUIRE))
		return false;
	reclaim(c);
	return free_pop(c, idx);
}

/* ---- checks and the descriptor ----------------------------------------- */

/* Where tensor i of a request on m goes: "model 'multi' input 1 'b'". */
static const char *io_where(const struct dnnq_model *m, uint32_t i, char *buf, size_t len)
{
	bool out = i >= m->n_inputs;
	snprintf(buf, len, "model '%s' %s %u '%s'", m->name, out ? "output" : "input",
	         out ? i - m->n_inputs : i, m->io[i].info.name);
	return buf;
}

/* Tensor i (t) against the signature; the last-error line names the
 * tensor and the field that breaks it. */
static int check_tensor(const struct dnnq_model *m, uint32_t i, const struct dnnq_tensor *t,
                        int64_t batch)
{
	const struct dnnq_io_info *io = &m->io[i].info;
	char at[160];
	uint64_t bytes;
	if (!t)
		return client_errorf(DNNQ_E_INVAL, "%s: the tensor pointer is NULL",
		                     io_where(m, i, at, sizeof at));
	if (!tensor_in_arena(m->client, t))
		return client_errorf(DNNQ_E_INVAL, "%s: not a tensor allocated from this client",
		                     io_where(m, i, at, sizeof at));
	if (t->dtype != io->dtype && !(io->dtype == DNNQ_TYPE_U8 && t->dtype == DNNQ_TYPE_F32))
		return client_errorf(DNNQ_E_DTYPE, "%s: dtype %s, the signature's is %s%s",
		                     io_where(m, i, at, sizeof at), dnnq_shm_dtype_name(t->dtype),
		                     dnnq_shm_dtype_name(io->dtype),
		                     io->dtype == DNNQ_TYPE_U8 ? " (or f32, which dnnqd converts)" : "");
	if (t->rank != io->rank)
		return client_errorf(DNNQ_E_SHAPE, "%s: rank %u, the signature's is %u",
		                     io_where(m, i, at, sizeof at), t->rank, io->rank);
	if (t->dims[0] != batch)
		return client_errorf(DNNQ_E_SHAPE, "%s: batch (dims[0]) %lld, inputs[0]'s is %lld",
		                     io_where(m, i, at, sizeof at), (long long)t->dims[0],
		                     (long long)batch);
	for (uint32_t k = 1; k < t->rank; k++)
		if (t->dims[k] != io->dims[k])
			return client_errorf(DNNQ_E_SHAPE, "%s: dims[%u] %lld, the signature's is %lld",
			                     io_where(m, i, at, sizeof at), k, (long long)t->dims[k],
			                     (long long)io->dims[k]);
	if (tensor_bytes(t->dtype, t->rank, t->dims, &bytes) || bytes != t->bytes)
		return client_errorf(DNNQ_E_INVAL, "%s: bytes or dims changed after dnnq_tensor_alloc",
		                     io_where(m, i, at, sizeof at));
	return 0;
}

/* The batch of inputs[0], then every tensor against the signature. */
static int check_args(const struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
                      const struct dnnq_tensor *const *outputs, uint32_t *batch)
{
	if (!inputs || !outputs || !inputs[0])
		return client_errorf(DNNQ_E_INVAL, "model '%s': %s is NULL", m->name,
		                     !inputs ? "inputs" : !outputs ? "outputs" : "inputs[0]");
	int64_t b = inputs[0]->dims[0];
	if (b < 1 || b > m->max_batch)
		return client_errorf(DNNQ_E_RANGE, "model '%s': batch (inputs[0]->dims[0]) %lld "
		                     "outside 1..%u, its max_batch", m->name, (long long)b,
		                     m->max_batch);
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		int rc = check_tensor(m, i, i < m->n_inputs ? inputs[i] : outputs[i - m->n_inputs], b);
		if (rc)
			return rc;
	}
	*batch = (uint32_t)b;
	return 0;
}

/* Writes only the fields the request uses; the daemon reads the rest of
 * the slot but validates only these. */
static void write_desc(struct dnnq_shm_request *d, const struct dnnq_model *m, uint32_t batch,
                       const struct dnnq_tensor *const *inputs,
                       const struct dnnq_tensor *const *outputs)
{
	d->model_id = m->id;
	d->model_gen = m->generation;
	d->batch = batch;
	d->n_inputs = m->n_inputs;
	d->n_outputs = m->n_outputs;
	d->reserved = 0;
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		const struct dnnq_tensor *t = i < m->n_inputs ? inputs[i] : outputs[i - m->n_inputs];
		struct dnnq_shm_tensor *w = &d->t[i];
		w->offset = t->offset;
		w->bytes = t->bytes;
		w->dtype = t->dtype;
		w->rank = t->rank;
		memcpy(w->dims, t->dims, sizeof w->dims);
	}
}

/* what: the public call, for the message of a full set of slots. */
static int submit(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
                  const struct dnnq_tensor *const *outputs, struct dnnq_request *req,
                  const char *what)
{
	uint32_t batch = 0, idx;
	if (!m || !req)
		return client_errorf(DNNQ_E_INVAL, "%s: %s is NULL", what, !m ? "the model" : "req");
	struct dnnq_client *c = m->client;
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	int rc = check_args(m, inputs, outputs, &batch);
	if (rc)
		return rc;
	if (!slot_take(c, &idx))
		return client_errorf(DNNQ_E_BUSY, "%s: every request slot of this client (%u) is "
		                     "in flight: end one (dnnq_poll, dnnq_wait) or connect with more "
		                     "(dnnq_connect_opts.slots)", what, c->view.slot_count);
	write_desc(&c->view.slots[idx].req, m, batch, inputs, outputs);
	struct client_slot *s = &c->slots[idx];
	uint32_t ticket = s->issued + 1 ? s->issued + 1 : 1;	/* 0 means none */
	s->issued = ticket;
	s->model_id = m->id;
	__atomic_store_n(&s->ticket, ticket, __ATOMIC_RELEASE);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	__atomic_store_n(&c->view.slots[idx].submit_ns,
	                 (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, __ATOMIC_RELAXED);
	/* The CAS publishes the descriptor (release) to the worker that takes it. */
	if (dnnq_shm_slot_transition(&c->view, idx, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED)) {
		__atomic_store_n(&s->ticket, 0, __ATOMIC_RELAXED);
		slot_abandon(c, idx);	/* the daemon wrote a slot it does not own */
		return DNNQ_E_PROTO;
	}
	if (dnnq_shm_ring_push(&c->view, idx)) {
		/* Only a scribbled ring is full: the slot is on no ring, so no
		 * worker can take it and it goes straight back. */
		__atomic_store_n(&s->ticket, 0, __ATOMIC_RELAXED);
		slot_release(c, idx, DNNQ_SLOT_SUBMITTED);
		return DNNQ_E_BUSY;
	}
	dnnq_shm_doorbell_ring(&c->view, c->doorbell_fd);
	*req = (struct dnnq_request){ .client = c, .slot = idx, .ticket = ticket };
	return 0;
}

/* ---- the end of a request ---------------------------------------------- */

static int result_of(uint32_t state, int32_t status)
{
	if (state == DNNQ_SLOT_DONE)
		return status == 0 ? 0 : DNNQ_E_PROTO;
	return client_daemon_error(status);
}

/* Ends request (idx, ticket), seen in the ended state `state`: once only. */
static int finish(struct dnnq_client *c, uint32_t idx, uint32_t ticket, uint32_t state)
{
	uint32_t t = ticket;
	if (!__atomic_compare_exchange_n(&c->slots[idx].ticket, &t, 0, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_RELAXED))
		return DNNQ_E_INVAL;	/* another call ended it first */
	/* Ordered after the acquire load that saw `state`, which the worker
	 * stored (release) after the status. */
	int32_t status = dnnq_shm_load_relaxed_s32(&c->view.slots[idx].status);
	slot_release(c, idx, state);
	return result_of(state, status);
}

/* DNNQ_E_INVAL for a req that dnnq_poll or dnnq_wait (what) cannot follow
 * (request_client NULL), saying why. */
static int not_in_flight(const struct dnnq_request *req, const char *what)
{
	if (!req)
		return client_errorf(DNNQ_E_INVAL, "%s: req is NULL", what);
	return client_errorf(DNNQ_E_INVAL, "%s: not a request in flight (never submitted, or its"
	                     " end was returned already, by dnnq_wait or dnnq_poll)", what);
}

/* The client of a request that is still in flight, else NULL. */
static struct dnnq_client *request_client(const struct dnnq_request *req)
{
	if (!req || !req->client || req->ticket == 0)
		return NULL;
	struct dnnq_client *c = req->client;
	if (req->slot >= c->view.slot_count ||
	    __atomic_load_n(&c->slots[req->slot].ticket, __ATOMIC_ACQUIRE) != req->ticket)
		return NULL;
	return c;
}

/* ---- liveness and waiting --------------------------------------------- */

static bool heartbeat_stale(struct dnnq_client *c)
{
	int64_t now = client_now_ns();
	uint64_t hb = dnnq_shm_load_acquire64(&c->view.hdr->heartbeat);
	pthread_mutex_lock(&c->live_lock);
	if (hb != c->hb_value) {
		c->hb_value = hb;
		c->hb_moved_ns = now;
	}
	bool stale = now - c->hb_moved_ns > c->stale_ns;
	pthread_mutex_unlock(&c->live_lock);
	return stale;
}

static bool socket_hung_up(const struct dnnq_client *c)
{
	struct pollfd p = { .fd = c->sock, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL));
}

static bool still_alive(struct dnnq_client *c)
{
	if (client_is_dead(c))
		return false;
	if (!socket_hung_up(c) && !heartbeat_stale(c))
		return true;
	client_mark_dead(c);
	return false;
}

/* Spins until the slot ends (true, *state its state) or until `until`. */
static bool spin(const struct dnnq_client *c, uint32_t idx, int64_t until, uint32_t *state)
{
	for (unsigned i = 1;; i++) {
		*state = dnnq_shm_slot_state(&c->view, idx);
		if (slot_ended(*state))
			return true;
		if (i % 16 == 0 && client_now_ns() >= until)
			return false;
		cpu_relax();
	}
}

bool client_wait_spins(const struct dnnq_client *c, uint32_t model_id)
{
	return c->spin_ns >= 0 &&
	       __atomic_load_n(&c->wait_ns[model_id % CLIENT_WAIT_MODELS], __ATOMIC_RELAXED) <=
	               c->spin_ns;
}

/* Whether this wait, one that would sleep, spins as a probe: one in
 * CLIENT_SPIN_PROBE << shift of them does. */
static bool probe_due(struct dnnq_client *c, uint32_t shift)
{
	uint32_t gap = CLIENT_SPIN_PROBE << shift;
	return (__atomic_add_fetch(&c->wait_probes, 1, __ATOMIC_RELAXED) & (gap - 1)) == 0;
}

/* A probe that did not see the end: the next comes twice as late, up to
 * CLIENT_SPIN_PROBE << CLIENT_PROBE_BACKOFF waits (a model that stays slow
 * then costs its clients a spin in a thousand waits, not one in 16). */
static void probe_failed(uint32_t *shift)
{
	uint32_t s = __atomic_load_n(shift, __ATOMIC_RELAXED);
	if (s < CLIENT_PROBE_BACKOFF)
		__atomic_store_n(shift, s + 1, __ATOMIC_RELAXED);
}

/* A wait of ns into the estimate e. */
static void wait_seen(int64_t *e, int64_t ns)
{
	int64_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
	__atomic_store_n(e, v + ((ns - v) >> WAIT_EWMA_SHIFT), __ATOMIC_RELAXED);
}

/* Until slot idx ends (0, *state its state), the deadline passes or the
 * daemon is found dead. */
static int wait_end(struct dnnq_client *c, uint32_t idx, int timeout_ms, uint32_t *state)
{
	const int64_t start = client_now_ns();
	uint32_t model_id = c->slots[idx].model_id;
	int64_t now = start, *estimate = &c->wait_ns[model_id % CLIENT_WAIT_MODELS];
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
	uint32_t *shift = &c->probe_shift[model_id % CLIENT_WAIT_MODELS];
	bool spins = client_wait_spins(c, model_id), probe = false;
	if (!spins && c->spin_ns >= 0)
		probe = spins = probe_due(c, __atomic_load_n(shift, __ATOMIC_RELAXED));
	if (spins &&
	    spin(c, idx, deadline - now < c->spin_ns ? deadline : now + c->spin_ns, state)) {
		if (probe) {
			__atomic_store_n(estimate, client_now_ns() - start, __ATOMIC_RELAXED);
			__atomic_store_n(shift, 0, __ATOMIC_RELAXED);
		} else {
			wait_seen(estimate, client_now_ns() - start);
		}
		return 0;
	}
	if (probe)
		probe_failed(shift);
	for (int64_t alive_seen = start;;) {
		*state = dnnq_shm_slot_state(&c->view, idx);
		if (slot_ended(*state)) {
			wait_seen(estimate, client_now_ns() - start);
			return 0;
		}
		now = client_now_ns();
		if (now - alive_seen >= WAIT_SLICE_NS || now >= deadline) {
			if (!still_alive(c))
				return DNNQ_E_DISCONNECTED;
			alive_seen = now;
		}
		if (now >= deadline) {
			wait_seen(estimate, now - start);	/* at least this long */
			return DNNQ_E_TIMEDOUT;
		}
		int64_t slice = deadline - now < WAIT_SLICE_NS ? deadline - now : WAIT_SLICE_NS;
		if (dnnq_shm_slot_wait(&c->view, idx, *state, slice) == DNNQ_E_IO)
			return DNNQ_E_IO;
	}
}

/* dnnq_poll's look at the socket, at most once per LIVE_POLL_NS per client. */
static bool poll_finds_dead(struct dnnq_client *c)
{
	int64_t now = client_now_ns();
	int64_t last = __atomic_load_n(&c->live_checked_ns, __ATOMIC_RELAXED);
	if (now - last < LIVE_POLL_NS ||
	    !__atomic_compare_exchange_n(&c->live_checked_ns, &last, now, false,
	                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return false;
	return !still_alive(c);
}

/* ---- the API ------------------------------------------------------------ */

int dnnq_submit(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
                struct dnnq_tensor *const *outputs, struct dnnq_request *req)
{
	int rc = submit(m, inputs, (const struct dnnq_tensor *const *)outputs, req, "dnnq_submit");
	return client_status(rc, "dnnq_submit");
}

static int poll_call(struct dnnq_request *req)
{
	struct dnnq_client *c = request_client(req);
	if (!c)
		return not_in_flight(req, "dnnq_poll");
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	uint32_t st = dnnq_shm_slot_state(&c->view, req->slot);
	if (slot_ended(st))
		return finish(c, req->slot, req->ticket, st);
	return poll_finds_dead(c) ? DNNQ_E_DISCONNECTED : DNNQ_E_AGAIN;
}

int dnnq_poll(struct dnnq_request *req)
{
	return client_status(poll_call(req), "dnnq_poll");
}

static int wait_call(struct dnnq_request *req, int timeout_ms)
{
	uint32_t st;
	struct dnnq_client *c = request_client(req);
	if (!c)
		return not_in_flight(req, "dnnq_wait");
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	int rc = wait_end(c, req->slot, timeout_ms, &st);
	if (rc == DNNQ_E_TIMEDOUT)
		return client_errorf(rc, "dnnq_wait: no result within %d ms (the request is still in"
		                     " flight: dnnq_wait or dnnq_poll it again)", timeout_ms);
	return rc ? rc : finish(c, req->slot, req->ticket, st);
}

int dnnq_wait(struct dnnq_request *req, int timeout_ms)
{
	return client_status(wait_call(req, timeout_ms), "dnnq_wait");
}

static int infer_call(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
                      struct dnnq_tensor *const *outputs, int timeout_ms)
{
	struct dnnq_request r;
	uint32_t st;
	int rc = submit(m, inputs, (const struct dnnq_tensor *const *)outputs, &r, "dnnq_infer");
	if (rc)
		return rc;
	rc = wait_end(r.client, r.slot, timeout_ms, &st);
	if (rc) {
		/* Nobody else holds this ticket: leave the slot to the daemon. */
		__atomic_store_n(&r.client->slots[r.slot].ticket, 0, __ATOMIC_RELAXED);
		slot_abandon(r.client, r.slot);
		if (rc == DNNQ_E_TIMEDOUT)
			return client_errorf(rc, "model '%s': dnnq_infer: no result within %d ms (the"
			                     " request is abandoned: dnnqd may still write its outputs)",
			                     dnnq_model_name_of(m), timeout_ms);
		return rc;
	}
	return finish(r.client, r.slot, r.ticket, st);
}

int dnnq_infer(struct dnnq_model *m, const struct dnnq_tensor *const *inputs,
               struct dnnq_tensor *const *outputs, int timeout_ms)
{
	return client_status(infer_call(m, inputs, outputs, timeout_ms), "dnnq_infer");
}
