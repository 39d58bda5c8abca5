/*
 * bench/timing.c — the interleaved timing harness every dnnq-bench row goes
 * through. It measures wall time per call of each candidate of a row with
 * CLOCK_MONOTONIC, running the candidates in alternation (A B C A B C ...)
 * after a warm-up, so frequency drift and neighbours' noise fall on all of
 * them alike; it reports medians, which one slow rep cannot move.
 *
 * The rep count is chosen per row from the warm-up timings: every candidate
 * gets at least the budget's time and rep count. A call shorter than
 * REP_MIN_TIME (or the budget's rep_min) is repeated within a rep so the
 * clock's cost (or the settling sleep) stays negligible;
 * when one candidate is far slower than the others, the rep count is set by
 * the slow one and the fast ones repeat their call within a rep instead, so a
 * row never takes more than about SLOW_FACTOR budgets per candidate.
 *
 * The machine may be shared: each row also reports how many CPUs other
 * processes kept busy meanwhile (/proc/stat), and a row that lost CPUs its
 * candidates needed is measured a second time (bench_interleave_guarded).
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define REP_MIN_TIME 20e-6
#define SETTLE       1e-3    /* > the idle spin of every thread pool (main.c) */
#define SETTLE_REP   5e-3
#define SLOW_FACTOR  5.0
#define MAX_REPS     1000000u
#define WARM_ROUNDS  2

static int quick = -1;

void bench_set_quick(bool q)
{
	const char *env = getenv("DNNQ_BENCH_QUICK");
	quick = q || (env && *env && strcmp(env, "0") != 0);
}

bool bench_is_quick(void)
{
	if (quick < 0)
		bench_set_quick(false);
	return quick;
}

struct bench_budget bench_budget(void)
{
	if (bench_is_quick())
		return (struct bench_budget){ .min_time = 0.02, .min_reps = 3 };
	return (struct bench_budget){ .min_time = 0.2, .min_reps = 5 };
}

struct bench_budget bench_budget_threads(struct bench_budget b, unsigned nthreads)
{
	if (nthreads > 1) {
		b.settle = SETTLE;
		b.rep_min = SETTLE_REP;
	}
	return b;
}

struct bench_budget bench_budget_probe(void)
{
	struct bench_budget b = bench_budget();
	b.min_time /= 4;
	b.min_reps = 3;
	return b;
}

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	while (nanosleep(&ts, &ts))
		;
}

/* One timed rep: `inner` calls; seconds per call. With settle > 0, first a
 * sleep (the previous candidate's threads stop spinning) and an untimed call
 * (this one's threads wake up), so the timed calls see only their own
 * threads, awake, as in back-to-back layers. */
static double time_rep(const struct bench_cand *c, unsigned inner, double settle)
{
	if (settle > 0) {
		bench_sleep(settle);
		c->run(c->arg);   /* wakes this candidate's workers, untimed */
	}
	double t0 = bench_now();
	for (unsigned k = 0; k < inner; k++)
		c->run(c->arg);
	return (bench_now() - t0) / inner;
}

/* An untimed first call each (page faults, JIT code generation), then
 * alternating rounds for warm_time; est[i] = fastest call seen. */
static void warm_up(const struct bench_cand *c, size_t n, double warm_time, double *est)
{
	for (size_t i = 0; i < n; i++) {
		c[i].run(c[i].arg);
		est[i] = INFINITY;
	}
	double t0 = bench_now();
	for (unsigned r = 0; r < WARM_ROUNDS || bench_now() - t0 < warm_time; r++)
		for (size_t i = 0; i < n; i++)
			est[i] = fmin(est[i], time_rep(&c[i], 1, 0));
}

/* Reps for the row and calls per rep for each candidate (header comment). */
static unsigned plan(const double *est, size_t n, struct bench_budget b, unsigned *inner)
{
	double fast = INFINITY, slow = 0, rep_min = fmax(b.rep_min, REP_MIN_TIME);
	for (size_t i = 0; i < n; i++) {
		double t = fmax(est[i], 1e-9);
		inner[i] = t < rep_min ? (unsigned)ceil(rep_min / t) : 1;
		fast = fmin(fast, inner[i] * t);
		slow = fmax(slow, inner[i] * t);
	}
	double reps = fmax(b.min_reps, ceil(b.min_time / fast));
	if (reps * slow > SLOW_FACTOR * b.min_time) {
		reps = fmax(b.min_reps, ceil(SLOW_FACTOR * b.min_time / slow));
		for (size_t i = 0; i < n; i++) {
			double need = ceil(b.min_time / (reps * fmax(est[i], 1e-9)));
			if (need > inner[i])
				inner[i] = (unsigned)need;
		}
	}
	return (unsigned)fmin(reps, MAX_REPS);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Sorts s[0..reps) and fills the statistics of r. */
static void summarize(double *s, unsigned reps, unsigned inner, struct bench_result *r)
{
	r->median = bench_median(s, reps);
	r->iqr = (s[(3 * (reps - 1)) / 4] - s[(reps - 1) / 4]) / r->median;
	r->reps = reps;
	r->inner = inner;
}

void bench_interleave(const struct bench_cand *c, size_t n,
                      struct bench_budget b, struct bench_result *res)
{
	double *est = bench_alloc(n * sizeof *est);
	unsigned *inner = bench_alloc(n * sizeof *inner);
	warm_up(c, n, b.min_time / 4, est);
	unsigned reps = plan(est, n, b, inner);
	double *s = bench_alloc((size_t)reps * n * sizeof *s);
	for (unsigned r = 0; r < reps; r++)
		for (size_t i = 0; i < n; i++)
			s[i * reps + r] = time_rep(&c[i], inner[i], b.settle);
	for (size_t i = 0; i < n; i++)
		summarize(s + i * reps, reps, inner[i], &res[i]);
	free(s);
	free(inner);
	free(est);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

double bench_cpu_per_wall(const struct bench_cand *c, double seconds)
{
	c->run(c->arg);
	bench_sleep(0.01);   /* until every pool's workers sleep */
	double cpu0 = cpu_seconds(), t0 = bench_now(), t;
	do
		c->run(c->arg);
	while ((t = bench_now()) - t0 < seconds);
	return (cpu_seconds() - cpu0) / (t - t0);
}

/* Seconds all CPUs spent busy since boot (/proc/stat, USER_HZ ticks); -1
 * when unreadable. */
static double busy_seconds(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;
	if (f)
		fclose(f);
	if (n != 8)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)(hz > 0 ? hz : 100);
}

double bench_waited_seconds(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	double s = 0;
	bool any = false;
	for (struct dirent *e; (e = readdir(d));) {
		char path[300];
		unsigned long long run, delay;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
		FILE *f = fopen(path, "r");
		if (f && fscanf(f, "%llu %llu", &run, &delay) == 2) {
			s += (double)delay * 1e-9;
			any = true;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return any ? s : -1;
}

void bench_load_begin(struct bench_load *l)
{
	l->busy = busy_seconds();
	l->own = cpu_seconds();
	l->wall = bench_now();
}

double bench_load_end(const struct bench_load *l)
{
	double busy = busy_seconds(), wall = bench_now() - l->wall;
	if (busy < 0 || l->busy < 0 || wall <= 0)
		return 0;
	double others = (busy - l->busy - (cpu_seconds() - l->own)) / wall;
	return others > 0 ? others : 0;
}

bool bench_load_disturbed(double others, unsigned threads)
{
	static unsigned cpus;
	if (!cpus) {
		struct bench_machine m;
		bench_machine_read(&m);
		cpus = m.cpus;
	}
	double free_cpus = cpus > threads ? cpus - threads : 0;
	return others > free_cpus + 0.1;
}

double bench_interleave_guarded(const struct bench_cand *c, size_t n, struct bench_budget b,
                                unsigned threads, struct bench_result *res)
{
	struct bench_result *again = bench_alloc(n * sizeof *again);
	struct bench_load load;
	bench_load_begin(&load);
	bench_interleave(c, n, b, res);
	double others = bench_load_end(&load);
	if (bench_load_disturbed(others, threads)) {
		bench_load_begin(&load);
		bench_interleave(c, n, b, again);
		double o2 = bench_load_end(&load);
		if (o2 < others) {
			memcpy(res, again, n * sizeof *res);
			others = o2;
		}
	}
	free(again);
	return others;
}
