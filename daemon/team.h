/*
 * daemon/team.h — one request on several workers (a model's `threads: N`).
 *
 * Every worker has a team: the job board of the request it runs. Its
 * runner hands the graph a team executor (dnnqd_team_executor) whose
 * parallel_for posts each job (the task function and count) on the board;
 * idle workers, those whose pass found no request of their own, join it
 * (dnnqd_team_help) and claim its tasks from the back while the poster
 * claims from the front (daemon/claim.h, as the pool's), and it waits for them before it returns. The executor says N
 * threads whoever joins: the engine splits work by that count and indexes
 * per-thread scratch by tid < N, so the results do not depend on how many
 * workers came, and a request nobody joins runs all N-way tasks alone.
 *
 * The policy this gives (docs/serving.md, "One request on several
 * workers"): a worker serves the queues first and joins a team only when
 * it has nothing to run, and it goes back to the queues between jobs (a
 * job is one parallel_for of one node), so under load every worker runs
 * its own request and a team shrinks to its poster.
 */
#ifndef DNNQ_DAEMON_TEAM_H
#define DNNQ_DAEMON_TEAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/claim.h"
#include "engine/executor.h"

struct dnnqd;
struct dnnqd_model_counts;

struct dnnqd_team {
	/* OPEN, the job's seats (N), seats taken by joiners, joiners in it */
	_Alignas(64) _Atomic uint64_t word;
	_Atomic uint32_t helped;        /* joiners that ran a task of the job */
	/* the job: written by the poster while it is closed and nobody is in */
	dnnq_task_fn fn;
	void *arg;
	struct dnnq_claims claims;      /* its tasks (daemon/claim.h) */
	/* the poster's own */
	struct dnnqd *d;
	unsigned index;                 /* its worker */
	unsigned seats;                 /* the request's N */
	unsigned peak;                  /* most workers on one job of the graph
	                                   run (dnnqd_team_count) */
};

/* Worker worker_index's team in d. A runner outside a daemon (the tests'
 * and the fuzzer's, zeroed by dnnqd_runner_init) has d NULL: its requests
 * run alone. */
void dnnqd_team_init(struct dnnqd_team *t, struct dnnqd *d, unsigned worker_index);

/* The executor for one graph run (a request, or a gathered batch of
 * them) that may use `threads` workers (1: just the caller's); with more,
 * the other workers are woken to look. */
struct dnnq_executor dnnqd_team_executor(struct dnnqd_team *t, unsigned threads);

/* A request's team into m (its worker's counters of its model): one more
 * team request and its size when the last graph run (the request's, or
 * its batch's: every member counts it) ran on several workers. Only for a
 * request that ran: dnnqd_team_executor starts the count at 1 (alone). */
void dnnqd_team_count(struct dnnqd_team *t, struct dnnqd_model_counts *m);

/* Worker `self`, idle: joins one open job of another worker's team with a
 * free seat and runs tasks until the job has none left. True when it ran
 * one. */
bool dnnqd_team_help(struct dnnqd *d, unsigned self);

#endif
