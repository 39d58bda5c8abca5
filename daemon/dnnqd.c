/*
 * The daemon's shared state (dnnqd.h): starting and stopping the workers,
 * publishing and reclaiming model tables, grace periods, the workers'
 * liveness, tearing everything down, summing counters.
 *
 * The models are loaded and every worker's graph built before start-up
 * (daemon/models.c), so a model that cannot be served stops the daemon
 * before any thread runs. The order of teardown matters: the workers
 * are joined before any session is freed, and a joined worker is offline,
 * so every grace period is over by then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/log.h"
#include "daemon/session.h"
#include "daemon/worker.h"

struct dnnqd_counters *dnnqd_counters_alloc(unsigned n)
{
	struct dnnqd_counters *c = aligned_alloc(_Alignof(struct dnnqd_counters),
	                                         (n ? n : 1) * sizeof *c);
	if (c)
		memset(c, 0, (n ? n : 1) * sizeof *c);
	return c;
}

void dnnqd_counters_sum(const struct dnnqd_counters *c, unsigned n, struct dnnqd_totals *out)
{
	memset(out, 0, sizeof *out);
	for (unsigned i = 0; i < n; i++) {
		out->requests += atomic_load_explicit(&c[i].requests, memory_order_relaxed);
		out->failures += atomic_load_explicit(&c[i].failures, memory_order_relaxed);
		out->bytes_copied += atomic_load_explicit(&c[i].bytes_copied, memory_order_relaxed);
	}
}

static int alloc_state(struct dnnqd *d, struct dnnq_diag *diag)
{
	d->table = calloc(d->cfg.max_clients, sizeof *d->table);
	d->workers = aligned_alloc(_Alignof(struct dnnqd_worker),
	                           d->cfg.ncpus * sizeof *d->workers);
	d->counts = dnnqd_counters_alloc(d->cfg.ncpus);
	d->mcounts = calloc((size_t)(d->cfg.ncpus ? d->cfg.ncpus : 1) * DNNQD_STATS_MODELS,
	                    sizeof *d->mcounts);
	d->uids = calloc(DNNQD_UID_RECORDS(d), sizeof *d->uids);
	d->loads = aligned_alloc(_Alignof(struct dnnqd_uid_load),
	                         d->cfg.max_clients * sizeof *d->loads);
	if (d->loads)
		memset(d->loads, 0, d->cfg.max_clients * sizeof *d->loads);
	if (!d->table || !d->workers || !d->counts || !d->mcounts || !d->uids || !d->loads)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "daemon state: out of memory");
	return 0;
}

/* The counters rows t's versions hold into used[]. */
static void rows_held(const struct dnnqd_models *t, bool *used)
{
	for (uint32_t k = 0; k < t->count; k++) {
		uint32_t r = t->m[t->order[k]]->stats;
		if (r < DNNQD_STATS_MODELS)
			used[r] = true;
	}
}

/* A counters row for each version of ms that has none (a name new to the
 * daemon): the lowest that no version of ms, of cur (the table served;
 * NULL before the workers start) or of one still in its grace period
 * holds. Workers count only through the tables they hold, so nobody
 * writes such a row: zeroed, it starts the model from nothing. When the
 * live tables hold every row (DNNQD_STATS_MODELS names at once, or more
 * names come and gone within one grace period) a version gets none and
 * keeps none while served (the workers read it): its name's next version
 * is given one. */
static void give_rows(struct dnnqd *d, struct dnnqd_models *ms, const struct dnnqd_models *cur)
{
	bool used[DNNQD_STATS_MODELS] = { false };
	rows_held(ms, used);
	if (cur)
		rows_held(cur, used);
	for (const struct dnnqd_models *t = d->retired_models; t; t = t->next)
		rows_held(t, used);
	uint32_t r = 0;
	for (uint32_t k = 0; k < ms->count; k++) {
		struct dnnqd_model *v = ms->m[ms->order[k]];
		if (v->stats != DNNQD_STATS_NONE || (cur && dnnqd_models_at(cur, v->id) == v))
			continue;
		while (r < DNNQD_STATS_MODELS && used[r])
			r++;
		if (r == DNNQD_STATS_MODELS)
			return;
		for (unsigned w = 0; w < d->nworkers; w++)
			memset(&d->mcounts[(size_t)w * DNNQD_STATS_MODELS + r], 0,
			       sizeof *d->mcounts);
		v->stats = r;
		used[r] = true;
	}
}

int dnnqd_start(struct dnnqd *d, const struct dnnqd_config *cfg, struct dnnqd_models *ms,
                struct dnnq_diag *diag)
{
	memset(d, 0, sizeof *d);
	d->cfg = *cfg;
	atomic_init(&d->models, ms);
	d->start_ns = dnnqd_now_ns();
	int rc = 0;
	if (!cfg->ncpus || !cfg->max_clients)
		rc = dnnq_diag_set(diag, DNNQ_E_INVAL, "daemon: needs a CPU and a session");
	else if (!ms || ms->nworkers != cfg->ncpus)
		rc = dnnq_diag_set(diag, DNNQ_E_INVAL, "daemon: the model table has graphs for"
		                   " %u workers, not %u", ms ? ms->nworkers : 0, cfg->ncpus);
	if (!rc && !(rc = alloc_state(d, diag)))
		give_rows(d, ms, NULL);
	while (!rc && d->nworkers < cfg->ncpus) {
		struct dnnqd_worker *w = &d->workers[d->nworkers];
		/* counted first: destroy cleans up a half-initialised worker */
		d->nworkers++;
		rc = dnnqd_worker_init(w, d, d->nworkers - 1, cfg->cpus[d->nworkers - 1], diag);
	}
	for (unsigned i = 0; !rc && i < d->nworkers; i++)
		rc = dnnqd_worker_start(&d->workers[i], diag);
	if (rc) {
		dnnqd_stop(d);
		dnnqd_destroy(d);
	}
	return rc;
}

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83        /* asm-generic/socket.h, Linux 6.16 */
#endif

void dnnqd_refuse_fds(int fd, bool read_side)
{
	int zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &zero, sizeof zero) && errno != ENOPROTOOPT)
		dnnqd_log(DNNQD_LOG_DEBUG, "SO_PASSRIGHTS: %s", strerror(errno));
	if (read_side)
		shutdown(fd, SHUT_RD);
}

void dnnqd_stop(struct dnnqd *d)
{
	atomic_store(&d->stop, true);
	for (unsigned i = 0; i < d->nworkers; i++)
		dnnqd_worker_wake(&d->workers[i]);
	for (unsigned i = 0; i < d->nworkers; i++)
		dnnqd_worker_join(&d->workers[i]);
}

void dnnqd_destroy(struct dnnqd *d)
{
	for (uint32_t i = 0; d->table && i < d->cfg.max_clients; i++) {
		struct dnnqd_session *s = atomic_load(&d->table[i]);
		if (s)
			dnnqd_session_retire(d, s, -1);
	}
	/* the workers are joined (offline): every grace period is over */
	dnnqd_reap(d);
	dnnqd_models_free(dnnqd_models_now(d));
	for (unsigned i = 0; i < d->nworkers; i++)
		dnnqd_worker_destroy(&d->workers[i]);
	free(d->workers);
	free(d->counts);
	free(d->mcounts);
	free(d->table);
	free(d->uids);
	free(d->loads);
	memset(d, 0, sizeof *d);
}

const struct dnnqd_uid *dnnqd_uid_find(const struct dnnqd *d, uint32_t uid)
{
	for (uint32_t i = 0; i < d->nuids; i++)
		if (d->uids[i].uid == uid)
			return &d->uids[i];
	return NULL;
}

struct dnnqd_uid *dnnqd_uid_get(struct dnnqd *d, uint32_t uid)
{
	const struct dnnqd_uid *had = dnnqd_uid_find(d, uid);
	if (had)
		return &d->uids[had - d->uids];
	/* every record holds a session or a pending connection, and both are
	 * capped: the array cannot be full, but a bug should not overflow it */
	if (d->nuids == DNNQD_UID_RECORDS(d))
		return NULL;
	d->uids[d->nuids] = (struct dnnqd_uid){ .uid = uid };
	return &d->uids[d->nuids++];
}

const char *dnnqd_uid_full(struct dnnqd *d, uint32_t uid, char *buf, size_t len)
{
	const struct dnnqd_uid *u = dnnqd_uid_find(d, uid);
	if (u && u->closing) {
		/* usually their grace period is over by now; their pages are
		 * freed from the tick's budget (session.h), which this shares */
		dnnqd_session_reap(d);
		u = dnnqd_uid_find(d, uid);
	}
	char kept[48] = "";
	if (u && u->kept)
		snprintf(kept, sizeof kept, " (%u closed, replies unread)", u->kept);
	if (u && u->sessions >= dnnqd_sessions_per_uid(d))
		snprintf(buf, len, "uid %u holds %u session%s%s, the most one uid may (%s)", uid,
		         u->sessions, u->sessions == 1 ? "" : "s", kept,
		         dnnqd_sessions_per_uid(d) != d->cfg.max_sessions_per_uid
		                 ? "limits.max_clients, --max-clients: below"
		                   " limits.max_sessions_per_uid"
		                 : "limits.max_sessions_per_uid, --max-sessions-per-uid");
	else if ((u && u->closing >= DNNQD_CLOSING_PER_UID) || d->nclosing >= DNNQD_CLOSING_MAX)
		snprintf(buf, len, "%u sessions closed (%u of them by uid %u) wait for the requests"
		         " running to end before they can be freed, the most the daemon keeps",
		         d->nclosing, u ? u->closing : 0, uid);
	else
		return NULL;
	return buf;
}

void dnnqd_uid_put(struct dnnqd *d, uint32_t uid)
{
	const struct dnnqd_uid *u = dnnqd_uid_find(d, uid);
	if (u && !u->sessions && !u->closing && !u->pending)
		d->uids[u - d->uids] = d->uids[--d->nuids];
}

void dnnqd_grace_begin(const struct dnnqd *d, uint64_t *snap)
{
	for (unsigned w = 0; w < d->nworkers; w++)
		snap[w] = dnnqd_qsbr_snapshot(&d->workers[w].qs);
}

bool dnnqd_grace_over(const struct dnnqd *d, const uint64_t *snap)
{
	for (unsigned w = 0; w < d->nworkers; w++)
		if (!dnnqd_qsbr_passed(&d->workers[w].qs, snap[w]))
			return false;
	return true;
}

int dnnqd_models_publish(struct dnnqd *d, struct dnnqd_models *ms)
{
	struct dnnqd_models *old = dnnqd_models_now(d);
	if (!(old->grace = calloc(d->nworkers ? d->nworkers : 1, sizeof *old->grace)))
		return DNNQ_E_NOMEM;
	give_rows(d, ms, old);
	atomic_store(&d->models, ms);
	/* after the store above: the order qsbr.h's argument needs */
	dnnqd_grace_begin(d, old->grace);
	old->next = d->retired_models;
	d->retired_models = old;
	return 0;
}

static void reap_models(struct dnnqd *d)
{
	bool freed = false;
	for (struct dnnqd_models **p = &d->retired_models; *p;) {
		struct dnnqd_models *ms = *p;
		if (dnnqd_grace_over(d, ms->grace)) {
			*p = ms->next;
			dnnqd_models_free(ms);
			freed = true;
		} else {
			p = &ms->next;
		}
	}
	/* old versions are large and rare: give their pages back now */
	if (freed)
		malloc_trim(0);
}

void dnnqd_reap(struct dnnqd *d)
{
	d->scrub_left = DNNQD_SCRUB_PER_REAP;
	dnnqd_session_reap(d);
	reap_models(d);
}

bool dnnqd_workers_alive(struct dnnqd *d, uint64_t now, uint64_t window_ns)
{
	bool alive = true;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct dnnqd_worker *w = &d->workers[i];
		uint64_t e = dnnqd_qsbr_snapshot(&w->qs);
		/* steps: life inside one request (a node, a gathering round), so
		 * a client's long request is not a stuck worker (before, one
		 * request longer than WatchdogSec= had systemd kill dnnqd) */
		uint64_t s = atomic_load_explicit(&w->runner.steps, memory_order_relaxed);
		if (e != w->seen_epoch || s != w->seen_steps || !w->seen_ns) {
			w->seen_epoch = e;
			w->seen_steps = s;
			w->seen_ns = now;
		}
		/* odd: asleep in epoll_wait, waiting for work, not stuck in one
		 * (an idle worker's epoch moves only once a sleep, and a shorter
		 * WatchdogSec= got pings too rarely for it); but its sleeps end,
		 * so an odd epoch that stopped moving is a worker that never got
		 * back from one */
		uint64_t limit = window_ns;
		if ((e & 1) && limit < 2 * (uint64_t)DNNQD_IDLE_SLEEP_NS)
			limit = 2 * (uint64_t)DNNQD_IDLE_SLEEP_NS;
		alive = alive && now - w->seen_ns < limit;
	}
	return alive;
}

void dnnqd_state_line(const struct dnnqd *d, char *buf, size_t len)
{
	uint32_t nm = atomic_load_explicit(&d->models, memory_order_relaxed)->count;
	int n = snprintf(buf, len, "serving %u model%s, %u session%s", nm, nm == 1 ? "" : "s",
	                 d->nsessions, d->nsessions == 1 ? "" : "s");
	if (d->reloads && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %u reload%s", d->reloads,
		              d->reloads == 1 ? "" : "s");
	if (d->reload_error[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; last reload failed: %s", d->reload_error);
}
