/*
 * shm/dnnq_metrics.h — the daemon's counters in the Prometheus text
 * exposition format (version 0.0.4), written by one function for both of
 * its readers: `dnnqctl metrics` (from the STATS and MODEL_STATS replies)
 * and dnnqd's textfile writer (daemon/metrics.c, from the same structs
 * filled in-process).
 *
 * Families, each with one # HELP and one # TYPE line before its samples:
 *
 *   dnnq_uptime_seconds                  gauge
 *   dnnq_workers                         gauge
 *   dnnq_models                          gauge    models served
 *   dnnq_sessions{scope}                 gauge    sessions open
 *   dnnq_requests_total{scope}           counter  requests completed
 *   dnnq_request_failures_total{scope}   counter  of those, failed
 *   dnnq_bytes_copied_total{scope}       counter  tensor bytes copied
 *   dnnq_model_generation{model}         gauge    the served version
 *   dnnq_model_requests_total{model}     counter
 *   dnnq_model_failures_total{model}     counter
 *   dnnq_model_samples_total{model}      counter  batch items of successes
 *   dnnq_request_duration_seconds{model} histogram: the time in the daemon
 *                                        from the request's check to the
 *                                        end of its run (le buckets 50 µs
 *                                        to 100 ms, +Inf; _sum, _count)
 *   dnnq_model_queued_total{model}       counter  requests with a queue time
 *   dnnq_model_queue_seconds_total{model} counter their time queued
 *   dnnq_model_team_requests_total{model} counter requests run on several
 *                                        workers (the model's threads)
 *   dnnq_model_team_workers_total{model} counter  the workers they ran on
 *
 * scope is "daemon" (every client's traffic) or "uid" (the asking uid's
 * open sessions: what STATS gives a client that may not see the daemon's
 * figures); a comment line at the top says which. The per-model families
 * are daemon-wide figures: without them (models NULL) a comment says why
 * and none of their lines is written. Label values are escaped (\\, \",
 * \n) as the format wants.
 */
#ifndef DNNQ_SHM_METRICS_H
#define DNNQ_SHM_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "shm/dnnq_proto.h"

/* s and the n served models' counters (models may be NULL: then
 * models_note, one line, says why they are not shown) onto f. 0, or -1
 * when a write to f failed. */
int dnnq_metrics_write(FILE *f, const struct dnnq_msg_stats *s,
                       const struct dnnq_msg_model_stats *models, size_t n,
                       const char *models_note);

#endif
