/*
 * The daemon's shared state (dnnqd.h): starting and stopping the workers,
 * tearing everything down, summing counters.
 *
 * Start-up builds every worker's graphs first and starts the threads only
 * when all of them built, so a model that cannot be served stops the
 * daemon before any thread runs. The order of teardown matters: the workers
 * are joined before any session is freed, and a joined worker is offline,
 * so every grace period is over by then.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

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
	if (!d->table || !d->workers || !d->counts)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "daemon state: out of memory");
	return 0;
}

int dnnqd_start(struct dnnqd *d, const struct dnnqd_config *cfg, const struct dnnqd_models *ms,
                struct dnnq_diag *diag)
{
	memset(d, 0, sizeof *d);
	d->cfg = *cfg;
	d->models = ms;
	d->start_ns = dnnqd_now_ns();
	if (!cfg->ncpus || !cfg->max_clients)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "daemon: needs a CPU and a session");
	int rc = alloc_state(d, diag);
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
			dnnqd_session_retire(d, s);
	}
	/* the workers are joined (offline): every grace period is over */
	dnnqd_session_reap(d);
	for (unsigned i = 0; i < d->nworkers; i++)
		dnnqd_worker_destroy(&d->workers[i]);
	free(d->workers);
	free(d->counts);
	free(d->table);
	memset(d, 0, sizeof *d);
}
