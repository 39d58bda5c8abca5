/*
 * One request on several workers (suite team): a real dnnqd ($DNNQ_DNNQD)
 * serving the same model files twice, as NAME_t1 (threads: 1) and NAME_t2
 * (threads: 2), driven through client/dnnq.h.
 *
 * What must hold whoever joins a request (daemon/team.h): NAME_t2 gives
 * NAME_t1's results bit for bit, and both give the in-process engine's,
 * at several batches, from one client and from several at once (then
 * workers are busy with their own requests and teams shrink); a reload
 * that changes only a model's threads loads it again and keeps the
 * results. The team counters are checked for what they must say whatever
 * the timing: nothing for threads: 1, teams of exactly two for threads: 2,
 * never more team requests than requests. Whether a given request found
 * an idle worker is timing, and not asserted.
 *
 * NAME_tb is NAME_t2 with dynamic batching (threads: 2 always): the
 * concurrent clients' requests gather into batches, and each batch is one
 * graph run split over the team, its results still the engine's.
 *
 * The daemon has one worker per CPU of its affinity mask; threads: 2 needs
 * two, so on a single CPU there is nothing to test and the tests say so.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "tests/daemon-fixture.h"
#include "tests/rng.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define WAIT_MS 60000
#define NCLIENTS 4
#define ROUNDS 12
#define ALIGN64(n) (((n) + 63) & ~(size_t)63)

static const enum fixture_model models[] = { FIXTURE_MULTI, FIXTURE_FC1024, FIXTURE_KIND_CONV };
#define NMODELS (sizeof models / sizeof models[0])
static const uint32_t batches[] = { 1, 3, 8 };

static bool two_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) || CPU_COUNT(&set) < 2) {
		fprintf(stderr, "team: fewer than 2 CPUs, no team to test\n");
		return false;
	}
	return true;
}

/* ---- the daemon ------------------------------------------------------------ */

struct team_dir {
	char dir[256], yaml[300];
};

/* The config: every model of models[] as NAME_t1, NAME_t2 with `threads`
 * workers and NAME_tb with two and dynamic batching. */
static void write_yaml(const struct team_dir *t, unsigned threads)
{
	char text[4096];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof text - n, "models:\n");
	for (size_t i = 0; i < NMODELS; i++) {
		const char *name = fixture_model_name(models[i]);
		n += (size_t)snprintf(text + n, sizeof text - n,
		                      "  - { name: %s_t1, path: %s.dnnq }\n"
		                      "  - { name: %s_t2, path: %s.dnnq, threads: %u }\n"
		                      "  - { name: %s_tb, path: %s.dnnq, threads: 2, max_batch: 16,\n"
		                      "      dynamic_batching: { max_queue_delay_us: 2000 } }\n",
		                      name, name, name, name, threads, name, name);
	}
	ck_assert_uint_lt(n, sizeof text);
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.tmp", t->yaml);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", tmp, strerror(errno));
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(tmp, t->yaml), 0);
}

static struct dnnq_client *start(struct team_dir *t, struct fixture_daemon *d, unsigned threads)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	struct dnnq_diag diag = { "" };
	char path[320];
	snprintf(t->dir, sizeof t->dir, "%s/team-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->yaml, sizeof t->yaml, "%s/dnnqd.yaml", t->dir);
	for (size_t i = 0; i < NMODELS; i++) {
		snprintf(path, sizeof path, "%s/%s.dnnq", t->dir, fixture_model_name(models[i]));
		ck_assert_msg(fixture_model_write(models[i], path, &diag) == 0, "%s", diag.msg);
	}
	write_yaml(t, threads);
	test_daemon_start(d, 0, (const char *const[]){ "--config", t->yaml, NULL });
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 8 << 20 };
	int rc = dnnq_connect(d->socket, &o, &c);
	ck_assert_msg(rc == 0, "connect: %s", dnnq_strerror(rc));
	return c;
}

/* ---- requests ---------------------------------------------------------------- */

/* One request's outputs, each at a multiple of 64 bytes (an F32 output
 * after a U8 one stays aligned for the engine), zero between, and the
 * engine's for its inputs. */
struct result {
	uint8_t *got, *want;
	size_t bytes;
};

static void result_free(struct result *r)
{
	free(r->got);
	free(r->want);
	memset(r, 0, sizeof *r);
}

/* A request of `name` at `batch` on inputs from seed; ref: the model's
 * in-process engine (NULL: no reference). 0, or why not (into why). */
static int run_one(struct dnnq_client *c, const char *name, struct fixture_ref *ref,
                   uint32_t batch, uint64_t seed, struct result *r, char *why, size_t len)
{
	struct dnnq_model *m;
	struct dnnq_tensor t[FIXTURE_MAX_IO];
	void *refout[FIXTURE_MAX_IO];
	const void *refin[FIXTURE_MAX_IO];
	struct rng g = { seed | 1 };
	int rc = dnnq_model_open(c, name, &m);
	if (rc) {
		snprintf(why, len, "open %s: %s", name, dnnq_strerror(rc));
		return rc;
	}
	uint32_t ni = dnnq_model_num_inputs(m), no = dnnq_model_num_outputs(m), k = 0;
	memset(r, 0, sizeof *r);
	while (k < ni + no && !rc)
		if (!(rc = dnnq_tensor_alloc_io(m, k < ni ? DNNQ_INPUT : DNNQ_OUTPUT,
		                                k < ni ? k : k - ni, batch, &t[k])))
			k++;
	for (uint32_t i = 0; !rc && i < ni; i++) {
		for (size_t b = 0; b < t[i].bytes; b++)
			((uint8_t *)t[i].data)[b] = (uint8_t)rng_next(&g);
		refin[i] = t[i].data;
	}
	for (uint32_t i = ni; !rc && i < ni + no; i++)
		r->bytes += ALIGN64(t[i].bytes);
	if (!rc && (!(r->got = calloc(1, r->bytes)) || !(r->want = calloc(1, r->bytes))))
		rc = DNNQ_E_NOMEM;
	const struct dnnq_tensor *in[FIXTURE_MAX_IO];
	struct dnnq_tensor *out[FIXTURE_MAX_IO];
	for (uint32_t i = 0; i < ni; i++)
		in[i] = &t[i];
	for (uint32_t i = 0; i < no; i++)
		out[i] = &t[ni + i];
	if (!rc && (rc = dnnq_infer(m, in, out, WAIT_MS)))
		snprintf(why, len, "%s batch %u: %s", name, batch, dnnq_strerror(rc));
	for (size_t i = ni, off = 0; !rc && i < ni + no; off += ALIGN64(t[i].bytes), i++) {
		memcpy(r->got + off, t[i].data, t[i].bytes);
		refout[i - ni] = r->want + off;
	}
	if (!rc && ref && (rc = fixture_ref_run(ref, batch, refin, refout)))
		snprintf(why, len, "%s: the reference: %s", name, dnnq_strerror(rc));
	if (!rc && ref && memcmp(r->got, r->want, r->bytes)) {
		snprintf(why, len, "%s batch %u seed %llu: not the engine's result", name, batch,
		         (unsigned long long)seed);
		rc = DNNQ_E_INVAL;
	}
	while (k--)
		dnnq_tensor_free(c, &t[k]);
	dnnq_model_close(m);
	return rc;
}

static void assert_run(struct dnnq_client *c, const char *name, struct fixture_ref *ref,
                       uint32_t batch, uint64_t seed, struct result *r)
{
	char why[256] = "";
	int rc = run_one(c, name, ref, batch, seed, r, why, sizeof why);
	ck_assert_msg(rc == 0, "%s", why);
}

/* NAME_t2 gives NAME_t1's result, and the engine's, for each model,
 * batch and seed in [seed0, seed0 + rounds). */
static void assert_pairs_equal(struct dnnq_client *c, uint64_t seed0, unsigned rounds)
{
	char t1[80], t2[80];
	struct dnnq_diag diag = { "" };
	for (size_t i = 0; i < NMODELS; i++) {
		struct fixture_ref *ref;
		ck_assert_msg(fixture_ref_create(models[i], &ref, &diag) == 0, "%s", diag.msg);
		snprintf(t1, sizeof t1, "%s_t1", fixture_model_name(models[i]));
		snprintf(t2, sizeof t2, "%s_t2", fixture_model_name(models[i]));
		for (unsigned k = 0; k < rounds; k++) {
			uint32_t b = batches[k % (sizeof batches / sizeof batches[0])];
			struct result a, z;
			assert_run(c, t1, ref, b, seed0 + k, &a);
			assert_run(c, t2, ref, b, seed0 + k, &z);
			ck_assert_uint_eq(a.bytes, z.bytes);
			ck_assert_msg(!memcmp(a.got, z.got, a.bytes), "%s and %s differ at batch %u",
			              t1, t2, b);
			result_free(&a);
			result_free(&z);
		}
		fixture_ref_destroy(ref);
	}
}

/* ---- the counters -------------------------------------------------------- */

/* What the team counters must say whatever the timing: no team for a
 * model of threads 1, teams of `threads` workers for NAME_t2 and of two
 * for NAME_tb (at most two here, so every team is exactly two; a batch's
 * members each count their run's). The team requests of NAME_t2 and
 * NAME_tb, summed, into *teams. */
static void assert_team_counts(struct dnnq_client *c, unsigned threads, uint64_t *teams)
{
	struct dnnq_model_stats st;
	*teams = 0;
	for (uint32_t i = 0; dnnq_model_stats(c, i, &st) == 0; i++) {
		bool tb = strstr(st.name, "_tb") != NULL;
		bool t2 = strstr(st.name, "_t2") != NULL;
		ck_assert_uint_le(st.team_requests, st.requests);
		if (!tb && (!t2 || threads == 1)) {
			ck_assert_msg(st.team_requests == 0 && st.team_workers == 0,
			              "%s: %llu team requests on one thread", st.name,
			              (unsigned long long)st.team_requests);
			continue;
		}
		ck_assert_uint_eq(st.team_workers, 2 * st.team_requests);
		*teams += st.team_requests;
	}
}

START_TEST(team_results_equal)
{
	if (!two_cpus())
		return;
	struct team_dir t;
	struct fixture_daemon d;
	uint64_t teams;
	struct dnnq_client *c = start(&t, &d, 2);
	assert_pairs_equal(c, 100, ROUNDS);
	assert_team_counts(c, 2, &teams);
	fprintf(stderr, "team: %llu of the threads: 2 requests ran on two workers\n",
	        (unsigned long long)teams);
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* ---- several clients ------------------------------------------------------- */

struct client_arg {
	const char *socket;
	unsigned seed;
	char why[256];
};

/* ROUNDS requests of each NAME_t2 and NAME_tb against the engine, on its
 * own session. */
static void *client_main(void *arg)
{
	struct client_arg *a = arg;
	struct dnnq_client *c;
	struct dnnq_diag diag = { "" };
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 8 << 20 };
	char name[80];
	int rc = dnnq_connect(a->socket, &o, &c);
	if (rc) {
		snprintf(a->why, sizeof a->why, "connect: %s", dnnq_strerror(rc));
		return NULL;
	}
	for (size_t i = 0; !rc && i < NMODELS; i++) {
		struct fixture_ref *ref;
		if ((rc = fixture_ref_create(models[i], &ref, &diag))) {
			snprintf(a->why, sizeof a->why, "%s", diag.msg);
			break;
		}
		for (unsigned k = 0; !rc && k < 2 * ROUNDS; k++) {
			struct result r;
			snprintf(name, sizeof name, "%s_t%c", fixture_model_name(models[i]),
			         k % 2 ? 'b' : '2');
			rc = run_one(c, name, ref, batches[(a->seed + k / 2) % 3], a->seed * 1000 + k / 2,
			             &r, a->why, sizeof a->why);
			result_free(&r);
		}
		fixture_ref_destroy(ref);
	}
	dnnq_close(c);
	return NULL;
}

START_TEST(team_concurrent_clients)
{
	if (!two_cpus())
		return;
	struct team_dir t;
	struct fixture_daemon d;
	struct client_arg a[NCLIENTS];
	pthread_t th[NCLIENTS];
	uint64_t teams;
	struct dnnq_client *c = start(&t, &d, 2);
	for (unsigned i = 0; i < NCLIENTS; i++) {
		a[i] = (struct client_arg){ .socket = d.socket, .seed = i + 1 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &a[i]), 0);
	}
	for (unsigned i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(!a[i].why[0], "client %u: %s", i, a[i].why);
	}
	/* nothing lost: every request counted, none failed */
	struct dnnq_stats st;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	ck_assert_uint_eq(st.requests, (uint64_t)NCLIENTS * NMODELS * ROUNDS * 2);
	ck_assert_uint_eq(st.failures, 0);
	assert_team_counts(c, 2, &teams);
	/* NAME_tb's graph runs carried every item, in no more runs than requests */
	struct dnnq_model_stats ms;
	for (uint32_t i = 0; dnnq_model_stats(c, i, &ms) == 0; i++) {
		if (!strstr(ms.name, "_tb"))
			continue;
		ck_assert_uint_eq(ms.requests, (uint64_t)NCLIENTS * ROUNDS);
		ck_assert_uint_eq(ms.run_items, ms.samples);
		ck_assert_uint_le(ms.runs, ms.requests);
	}
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* ---- reload ---------------------------------------------------------------- */

/* The config says NAME_t2 has `threads`: a reload loads each NAME_t2 again
 * (generation `gen`) and nothing else. */
static void reload_threads(struct team_dir *t, struct dnnq_client *c, unsigned threads,
                           uint32_t gen)
{
	struct dnnq_reload_result r;
	write_yaml(t, threads);
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	/* dnnqd's own watch on the config may have reloaded it first (its
	 * quiet period over before this request, on a loaded host): then this
	 * reload finds nothing left to change, and the generations tell */
	ck_assert_msg(r.changed == NMODELS || r.changed == 0, "changed %u", (unsigned)r.changed);
	ck_assert_uint_eq(r.added + r.removed, 0);
	for (size_t i = 0; i < NMODELS; i++) {
		char name[80];
		snprintf(name, sizeof name, "%s_t2", fixture_model_name(models[i]));
		ck_assert_uint_eq(test_generation(c, name), gen);
		snprintf(name, sizeof name, "%s_t1", fixture_model_name(models[i]));
		ck_assert_uint_eq(test_generation(c, name), 1);
	}
}

START_TEST(team_reload_threads)
{
	if (!two_cpus())
		return;
	struct team_dir t;
	struct fixture_daemon d;
	uint64_t teams;
	struct dnnq_client *c = start(&t, &d, 1);
	assert_pairs_equal(c, 200, 3);
	assert_team_counts(c, 1, &teams);
	reload_threads(&t, c, 2, 2);
	assert_pairs_equal(c, 300, 3);
	assert_team_counts(c, 2, &teams);
	reload_threads(&t, c, 1, 3);
	assert_pairs_equal(c, 400, 3);
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

Suite *suite_team(void)
{
	Suite *s = suite_create("team");
	TCase *tc = tcase_create("team");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, team_results_equal);
	tcase_add_test(tc, team_concurrent_clients);
	tcase_add_test(tc, team_reload_threads);
	suite_add_tcase(s, tc);
	return s;
}
