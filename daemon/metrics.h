/*
 * daemon/metrics.h — the Prometheus textfile (config metrics.textfile):
 * every interval the control loop takes a snapshot of the daemon's
 * counters (the daemon's scope: the operator asked for the file) and
 * formats it (shm/dnnq_metrics.h, the formatter `dnnqctl metrics` uses)
 * into memory; a thread of its own writes it to PATH.tmp.PID (mode 0644)
 * and renames that over PATH, so node_exporter's textfile collector never
 * reads half a file, and a slow or failing filesystem never holds up the
 * control loop or a worker. A failure is logged once (and once more when
 * it changes, or when writing works again); the daemon goes on serving.
 * The file is left in place when dnnqd stops.
 */
#ifndef DNNQ_DAEMON_METRICS_H
#define DNNQ_DAEMON_METRICS_H

#include <stdint.h>

#include "daemon/dnnqd.h"

struct dnnqd_metrics;

/* Starts the writer thread for path (absolute) every interval_s seconds;
 * the first file is written at the first tick. */
int dnnqd_metrics_create(const char *path, uint32_t interval_s, struct dnnqd_metrics **out,
                         struct dnnq_diag *diag);
/* The control loop's tick: a snapshot handed to the writer when one is
 * due (a snapshot the writer has not taken yet is replaced). */
void dnnqd_metrics_tick(struct dnnqd_metrics *m, struct dnnqd *d, uint64_t now_ns);
/* Ends the thread (after the write it may be doing) and frees m; NULL is
 * a no-op. */
void dnnqd_metrics_destroy(struct dnnqd_metrics *m);

#endif
