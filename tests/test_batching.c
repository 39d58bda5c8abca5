/*
 * Dynamic batching end to end (suite batching): a real dnnqd ($DNNQ_DNNQD)
 * with one worker (--cpus 0), so a batch's membership does not depend on
 * which worker wins a race: the worker that takes the first request holds
 * it and gathers the others as they come. Requests come from separate
 * client sessions (separate connections and regions), some sending F32
 * where the model takes U8, at mixed batch sizes.
 *
 * No assertion is about time. A partial batch is seen through the
 * model's `waiting` gauge (MODEL_STATS); what ran is counted by the
 * model's graph runs, their items, the batch-size histogram and the runs
 * that expired (ran at max_queue_delay_us without reaching a preferred
 * size): the delay bound shows as a lone request that completes, counted
 * as an expired run of one.
 */
#define _GNU_SOURCE
#include <check.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client-internal.h"
#include "tests/batching-fixture.h"
#include "tests/daemon-fixture.h"
#include "tests/rng.h"
#include "tests/suites.h"

#define ROUNDS 3

/* dnnqctl ARGS... against d (test_serve.c): its wait status, stdout in out. */
int serve_run_ctl(const struct fixture_daemon *d, const char *const *args, char *out,
                  size_t len);

static void ctl_says(const struct fixture_daemon *d, const char *const *args, const char *part)
{
	char out[16384];
	int st = serve_run_ctl(d, args, out, sizeof out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dnnqctl %s: %#x: %s", args[0], st,
	              out);
	ck_assert_msg(strstr(out, part), "dnnqctl %s does not say '%s':\n%s", args[0], part, out);
}

/* tests/batching-model.c */
int batching_model_write(const char *path, uint32_t max_batch, struct dnnq_diag *d);
int batching_s32_model_write(const char *path, struct dnnq_diag *d);
int batching_embed_model_write(const char *path, struct dnnq_diag *d);

/* A directory with fc1024.dnnq, multi.dnnq, s32.dnnq (fc1024 emitting
 * s32) and embed.dnnq (token ids) and a config of `models` (YAML list items), served by one worker. */
static void start_yaml(struct fixture_daemon *d, char *dir, size_t len, const char *models)
{
	struct dnnq_diag diag = { "" };
	char path[400];
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, len, "%s/batching-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int m = FIXTURE_FC1024; m <= FIXTURE_MULTI; m++) {
		snprintf(path, sizeof path, "%s/%s.dnnq", dir, fixture_model_name(m));
		ck_assert_msg(fixture_model_write(m, path, &diag) == 0, "%s", diag.msg);
	}
	snprintf(path, sizeof path, "%s/s32.dnnq", dir);
	ck_assert_msg(batching_s32_model_write(path, &diag) == 0, "%s", diag.msg);
	snprintf(path, sizeof path, "%s/embed.dnnq", dir);
	ck_assert_msg(batching_embed_model_write(path, &diag) == 0, "%s", diag.msg);
	snprintf(path, sizeof path, "%s/dnnqd.yaml", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "models:\n%s", models);
	ck_assert_int_eq(fclose(f), 0);
	test_daemon_start(d, 0, (const char *const[]){ "--config", path, "--cpus", "0", NULL });
}

/* fc1024 and multi, batching up to 8 items, a batch of `preferred` run at
 * once, waiting up to 10 s for it otherwise (the company a test sends
 * comes much sooner, however loaded the machine). */
#define BATCHED(name, preferred) \
	"  - name: " name "\n    path: " name ".dnnq\n    max_batch: 8\n" \
	"    dynamic_batching: { max_queue_delay_us: 10000000, preferred_batch_size: [" \
	preferred "] }\n"

static void fill(struct party *p, struct rng *r)
{
	for (uint32_t i = 0; i < p->ni; i++) {
		struct dnnq_tensor *t = &p->t[i];
		if (t->dtype == DNNQ_TYPE_F32)
			for (size_t k = 0; k < t->bytes / sizeof(float); k++)
				((float *)t->data)[k] = (float)rng_uniform(r, -3, 3);
		else
			for (size_t k = 0; k < t->bytes; k++)
				((uint8_t *)t->data)[k] = (uint8_t)rng_int(r, 0, 255);
	}
}

/* p's outputs equal the in-process engine's at p's own batch, byte for
 * byte (F32 inputs quantized as the daemon does). */
static void check_alone(const struct party *p, struct fixture_ref *ref)
{
	void *in[FIXTURE_MAX_IO], *out[FIXTURE_MAX_IO];
	for (uint32_t i = 0; i < p->ni + p->no; i++) {
		bool input = i < p->ni;
		const struct fixture_io *io = fixture_ref_io(ref, !input, input ? i : i - p->ni);
		size_t bytes = fixture_io_bytes(io, p->batch);
		void *b = malloc(bytes);
		ck_assert_ptr_nonnull(b);
		if (input && p->t[i].dtype != io->dtype)
			fixture_quantize(io, p->t[i].data, b, bytes);
		else if (input)
			memcpy(b, p->t[i].data, bytes);
		(input ? in : out)[input ? i : i - p->ni] = b;
	}
	ck_assert_int_eq(fixture_ref_run(ref, p->batch, (const void *const *)in, out), 0);
	for (uint32_t o = 0; o < p->no; o++) {
		const struct dnnq_tensor *t = &p->t[p->ni + o];
		ck_assert_msg(!memcmp(out[o], t->data, t->bytes), "output %u of a batch %u request "
		              "differs from its run alone", o, p->batch);
	}
	for (uint32_t i = 0; i < p->ni; i++)
		free(in[i]);
	for (uint32_t o = 0; o < p->no; o++)
		free(out[o]);
}

/* Each of p[0..n) waited for: done, and right. */
static void expect_right(struct party *p, int n, struct fixture_ref *ref)
{
	for (int k = 0; k < n; k++) {
		ck_assert_int_eq(party_wait(&p[k]), 0);
		check_alone(&p[k], ref);
	}
}

/* New inputs for p[0..n), all submitted, then expect_right. */
static void round_trip(struct party *p, int n, struct rng *r, struct fixture_ref *ref)
{
	for (int k = 0; k < n; k++) {
		fill(&p[k], r);
		party_submit(&p[k]);
	}
	expect_right(p, n, ref);
}

static struct fixture_ref *ref_of(enum fixture_model m)
{
	struct fixture_ref *r;
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_ref_create(m, &r, &diag) == 0, "%s", diag.msg);
	return r;
}

static void stop_and_clean(struct fixture_daemon *d, const char *dir)
{
	char cmd[600];
	test_daemon_stop(d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Sessions sending batches of 1, 2 and 3 (6 items, the preferred size),
 * one of them F32: each round is one graph run of all three, and each
 * answer is the one its request gets alone. Both models, the one with an
 * F32 output too. */
START_TEST(batched_equals_alone)
{
	static const uint32_t sizes[3] = { 1, 2, 3 };
	static const char *const names[2] = { "fc1024", "multi" };
	struct fixture_daemon d;
	char dir[300];
	struct party p[3];
	struct rng r = { 0xba7c4ed };
	start_yaml(&d, dir, sizeof dir, BATCHED("fc1024", "6") BATCHED("multi", "6"));
	for (int m = 0; m < 2; m++) {
		struct fixture_ref *ref = ref_of(m ? FIXTURE_MULTI : FIXTURE_FC1024);
		for (int k = 0; k < 3; k++)
			party_open(&p[k], d.socket, names[m], sizes[k], k == 1);
		for (int round = 0; round < ROUNDS; round++)
			round_trip(p, 3, &r, ref);
		struct dnnq_model_stats st;
		batching_stats(p[0].c, names[m], &st);
		ck_assert_uint_eq(st.requests, 3 * ROUNDS);
		ck_assert_uint_eq(st.runs, ROUNDS);
		ck_assert_uint_eq(st.run_items, 6 * ROUNDS);
		ck_assert_uint_eq(st.batches[3], ROUNDS);   /* 5-8 items */
		ck_assert_uint_eq(st.expired, 0);
		ck_assert_uint_eq(st.waiting, 0);
		for (int k = 0; k < 3; k++)
			party_close(&p[k]);
		fixture_ref_destroy(ref);
	}
	stop_and_clean(&d, dir);
}
END_TEST

/* Between two good requests (3 items, the preferred size) a session whose
 * library believes fc1024 takes 512 values: its request fails alone with
 * the daemon's shape error, the others run together and are right. */
START_TEST(bad_shape_fails_alone)
{
	struct fixture_daemon d;
	char dir[300];
	struct party good[2], bad;
	struct rng r = { 0xbad5 };
	start_yaml(&d, dir, sizeof dir, BATCHED("fc1024", "3"));
	struct fixture_ref *ref = ref_of(FIXTURE_FC1024);
	party_open(&good[0], d.socket, "fc1024", 1, false);
	party_open(&good[1], d.socket, "fc1024", 2, true);
	/* the client checks against its own copy of the signature */
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 1 << 20 };
	memset(&bad, 0, sizeof bad);
	ck_assert_int_eq(dnnq_connect(d.socket, &o, &bad.c), 0);
	ck_assert_int_eq(dnnq_model_open(bad.c, "fc1024", &bad.m), 0);
	bad.m->io[0].info.dims[1] = 512;
	bad.ni = bad.no = 1;
	bad.batch = 1;
	for (uint32_t i = 0; i < 2; i++) {
		ck_assert_int_eq(dnnq_tensor_alloc_io(bad.m, i ? DNNQ_OUTPUT : DNNQ_INPUT, 0, 1,
		                                      &bad.t[i]), 0);
		bad.p[i] = &bad.t[i];
	}
	fill(&good[0], &r);
	fill(&good[1], &r);
	party_submit(&good[0]);
	batching_wait_held(good[0].c, "fc1024", 1);
	party_submit(&bad);
	party_submit(&good[1]);
	ck_assert_int_eq(party_wait(&bad), DNNQ_E_SHAPE);
	expect_right(good, 2, ref);
	struct dnnq_model_stats st;
	batching_stats(good[0].c, "fc1024", &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_uint_eq(st.runs, 1);
	ck_assert_uint_eq(st.run_items, 3);
	ck_assert_uint_eq(st.expired, 0);
	party_close(&good[0]);
	party_close(&good[1]);
	party_close(&bad);
	fixture_ref_destroy(ref);
	stop_and_clean(&d, dir);
}
END_TEST

/* A request with no company runs alone once its max_queue_delay_us has
 * passed: N requests one after the other are N expired runs of one item,
 * whatever the clock says. A model without dynamic_batching runs each
 * request as it comes and never expires. */
START_TEST(delay_bound_counted)
{
	enum { N = 5 };
	struct fixture_daemon d;
	char dir[300];
	struct party p, q;
	start_yaml(&d, dir, sizeof dir,
	           "  - name: fc1024\n    path: fc1024.dnnq\n    max_batch: 8\n"
	           "    dynamic_batching: { max_queue_delay_us: 20000 }\n"
	           "  - { name: multi, path: multi.dnnq, max_batch: 8 }\n");
	party_open(&p, d.socket, "fc1024", 1, false);
	party_open(&q, d.socket, "multi", 2, false);
	for (int i = 0; i < N; i++) {
		party_submit(&p);
		ck_assert_int_eq(party_wait(&p), 0);
		party_submit(&q);
		ck_assert_int_eq(party_wait(&q), 0);
	}
	struct dnnq_model_stats st;
	batching_stats(p.c, "fc1024", &st);
	ck_assert_uint_eq(st.runs, N);
	ck_assert_uint_eq(st.expired, N);
	ck_assert_uint_eq(st.batches[0], N);
	batching_stats(p.c, "multi", &st);
	ck_assert_uint_eq(st.runs, N);
	ck_assert_uint_eq(st.run_items, 2 * N);
	ck_assert_uint_eq(st.expired, 0);
	ck_assert_uint_eq(st.batches[1], N);
	/* what dnnqctl status and metrics show of it */
	ctl_says(&d, (const char *const[]){ "status", "--json", NULL },
	         "\"runs\":5,\"run_items\":5,\"mean_batch\":1.000,\"expired\":5,\"queue_depth\":0");
	/* the text table: the queue depth is "depth" (JSON "queued" counts
	 * the requests whose wait "queue us" averages) */
	ctl_says(&d, (const char *const[]){ "status", NULL }, "queue us  depth  batch");
	ctl_says(&d, (const char *const[]){ "metrics", NULL },
	         "dnnq_model_batch_size_bucket{model=\"multi\",le=\"2\"} 5\n");
	ctl_says(&d, (const char *const[]){ "metrics", NULL },
	         "dnnq_model_batch_expired_total{model=\"fc1024\"} 5\n");
	ctl_says(&d, (const char *const[]){ "metrics", NULL },
	         "dnnq_model_queue_depth{model=\"fc1024\"} 0\n");
	party_close(&p);
	party_close(&q);
	stop_and_clean(&d, dir);
}
END_TEST

/* A client killed while its request waits in a partial batch: the batch
 * runs when the others come (the dead client's arena is still the
 * daemon's until the worker lets go of its session), their answers are
 * right, and dnnqd stops cleanly (under ASan: no leak, no bad access). */
START_TEST(client_killed_while_queued)
{
	struct fixture_daemon d;
	char dir[300];
	struct party p[2];
	struct rng r = { 0xdead };
	start_yaml(&d, dir, sizeof dir, BATCHED("fc1024", "4"));
	struct fixture_ref *ref = ref_of(FIXTURE_FC1024);
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t kid = fixture_fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		struct party k;
		char one = 1;
		party_open(&k, d.socket, "fc1024", 1, false);
		party_submit(&k);
		if (write(ready[1], &one, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char got;
	ck_assert_int_eq(read(ready[0], &got, 1), 1);
	party_open(&p[0], d.socket, "fc1024", 1, false);
	party_open(&p[1], d.socket, "fc1024", 2, true);
	batching_wait_held(p[0].c, "fc1024", 1);
	ck_assert_int_eq(kill(kid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(kid, NULL, 0), kid);
	round_trip(p, 2, &r, ref);
	struct dnnq_model_stats st;
	batching_stats(p[0].c, "fc1024", &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.runs, 1);
	ck_assert_uint_eq(st.run_items, 4);
	close(ready[0]);
	close(ready[1]);
	party_close(&p[0]);
	party_close(&p[1]);
	fixture_ref_destroy(ref);
	stop_and_clean(&d, dir);
}
END_TEST

/* Gathering takes one request per uid per round over the sessions (the
 * fairness rule), and rounds go on while they find some: 4 sessions of one
 * uid, a batch of 1 each, preferred 4: one run of 4. */
START_TEST(sessions_of_one_uid)
{
	struct fixture_daemon d;
	char dir[300];
	struct party p[4];
	struct rng r = { 0x5e55 };
	start_yaml(&d, dir, sizeof dir, BATCHED("multi", "4"));
	struct fixture_ref *ref = ref_of(FIXTURE_MULTI);
	for (int k = 0; k < 4; k++) {
		party_open(&p[k], d.socket, "multi", 1, k % 2);
		fill(&p[k], &r);
	}
	party_submit(&p[0]);
	batching_wait_held(p[0].c, "multi", 1);
	for (int k = 1; k < 4; k++)
		party_submit(&p[k]);
	expect_right(p, 4, ref);
	struct dnnq_model_stats st;
	batching_stats(p[0].c, "multi", &st);
	ck_assert_uint_eq(st.runs, 1);
	ck_assert_uint_eq(st.batches[2], 1);   /* 3-4 items */
	for (int k = 0; k < 4; k++)
		party_close(&p[k]);
	fixture_ref_destroy(ref);
	stop_and_clean(&d, dir);
}
END_TEST

/* A batch that reaches its largest preferred size runs at once, leaving
 * the requests queued beyond it to the next batch (with 2 workers, the
 * other's to lead): 4 requests of 1 item, preferred [2], are two runs of
 * 2, neither waiting out its 10 s delay. */
START_TEST(largest_preferred_caps_a_batch)
{
	struct fixture_daemon d;
	char dir[300];
	struct party p[4];
	struct rng r = { 0xca9 };
	start_yaml(&d, dir, sizeof dir, BATCHED("fc1024", "2"));
	struct fixture_ref *ref = ref_of(FIXTURE_FC1024);
	for (int k = 0; k < 4; k++) {
		party_open(&p[k], d.socket, "fc1024", 1, k % 2);
		fill(&p[k], &r);
	}
	party_submit(&p[0]);
	batching_wait_held(p[0].c, "fc1024", 1);
	for (int k = 1; k < 4; k++)
		party_submit(&p[k]);
	expect_right(p, 4, ref);
	struct dnnq_model_stats st;
	batching_stats(p[0].c, "fc1024", &st);
	ck_assert_uint_eq(st.runs, 2);
	ck_assert_uint_eq(st.batches[1], 2);   /* 2 items */
	ck_assert_uint_eq(st.expired, 0);
	for (int k = 0; k < 4; k++)
		party_close(&p[k]);
	fixture_ref_destroy(ref);
	stop_and_clean(&d, dir);
}
END_TEST

/* The other uid's client of uid_fair (uid/gid 65534): two requests on one
 * session, submitted when told (a byte on go), then waited for; exit 0
 * when both succeeded. No Check assertion runs here. */
#define NOBODY 65534
static int nobody_client(const char *socket, int go, int done)
{
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 1 << 20 };
	struct dnnq_client *c;
	struct dnnq_model *m;
	struct dnnq_tensor t[2][2];
	struct dnnq_request req[2];
	char b = 0;
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 100;
	if (dnnq_connect(socket, &o, &c) || dnnq_model_open(c, "fc1024", &m))
		return 101;
	for (int k = 0; k < 2; k++)
		if (dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &t[k][0]) ||
		    dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &t[k][1]))
			return 102;
	if (write(done, &b, 1) != 1 || read(go, &b, 1) != 1)
		return 103;
	for (int k = 0; k < 2; k++) {
		const struct dnnq_tensor *in[1] = { &t[k][0] };
		struct dnnq_tensor *out[1] = { &t[k][1] };
		if (dnnq_submit(m, in, out, &req[k]))
			return 104;
	}
	if (write(done, &b, 1) != 1)
		return 105;
	for (int k = 0; k < 2; k++)
		if (dnnq_wait(&req[k], BATCH_WAIT_MS))
			return 106;
	return 0;
}

/* Fairness between uids: 3 sessions of one uid with a request each and 1
 * session of another uid with 2, all queued while dnnqd is stopped, a
 * batch of 4 at most: the batch takes 2 of each uid (one per uid per
 * round), not 3 of the uid with more sessions. So the other uid's two
 * requests are done after one run, while the first uid's third still
 * waits for company (until its 5 s deadline). */
START_TEST(uid_fair)
{
	struct fixture_daemon d;
	char dir[300], parent[300];
	struct party p[3];
	if (geteuid() != 0) {
		printf("batching: uid_fair: skipped (not root: cannot drop to uid %d)\n", NOBODY);
		return;
	}
	start_yaml(&d, dir, sizeof dir,
	           "  - name: fc1024\n    path: fc1024.dnnq\n    max_batch: 4\n"
	           "    dynamic_batching: { max_queue_delay_us: 5000000 }\n"
	           "access: { uids: [65534] }\n");
	snprintf(parent, sizeof parent, "%s", d.dir);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	ck_assert_int_eq(chmod(dirname(parent), 0755), 0);
	ck_assert_int_eq(chmod(d.socket, 0666), 0);
	for (int k = 0; k < 3; k++)
		party_open(&p[k], d.socket, "fc1024", 1, false);
	int go[2], done[2];
	char b = 1;
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid_t kid = fixture_fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0)
		_exit(nobody_client(d.socket, go[0], done[1]));
	ck_assert_int_eq(read(done[0], &b, 1), 1);       /* connected */
	ck_assert_int_eq(kill(d.pid, SIGSTOP), 0);
	int st;
	ck_assert_int_eq(waitpid(d.pid, &st, WUNTRACED), d.pid);   /* every thread stopped */
	ck_assert(WIFSTOPPED(st));
	for (int k = 0; k < 3; k++)
		party_submit(&p[k]);
	ck_assert_int_eq(write(go[1], &b, 1), 1);
	ck_assert_int_eq(read(done[0], &b, 1), 1);       /* submitted */
	ck_assert_int_eq(kill(d.pid, SIGCONT), 0);
	ck_assert_int_eq(waitpid(kid, &st, 0), kid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "uid %d's client: wait status %#x",
	              NOBODY, st);
	/* the worker leads the third request's batch after waking the
	 * first's clients: under TSAN on a loaded host the other uid's client
	 * could exit and this read the gauge before it had */
	batching_wait_held(p[0].c, "fc1024", 1);
	struct dnnq_model_stats ms;
	batching_stats(p[0].c, "fc1024", &ms);
	ck_assert_msg(ms.runs == 1 && ms.run_items == 4 && ms.waiting == 1, "%llu runs of %llu "
	              "items, %llu waiting", (unsigned long long)ms.runs,
	              (unsigned long long)ms.run_items, (unsigned long long)ms.waiting);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(party_wait(&p[k]), 0);
	batching_stats(p[0].c, "fc1024", &ms);
	ck_assert_uint_eq(ms.runs, 2);
	ck_assert_uint_eq(ms.expired, 1);
	for (int k = 0; k < 3; k++)
		party_close(&p[k]);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	stop_and_clean(&d, dir);
}
END_TEST

/* The feeder of two_models_keep_quiescing: one session keeping 4 requests
 * of one item in flight, fc1024 and multi in turn (so the request queued
 * behind a batch's leader is always for the other model), until killed.
 * Exit status 1 when a request fails. No Check assertion runs here. */
static int alternating_feeder(const char *socket)
{
	struct dnnq_connect_opts o = { .slots = 4, .arena_bytes = 1 << 20 };
	struct dnnq_client *c;
	struct dnnq_model *m[2];
	struct dnnq_tensor t[4][FIXTURE_MAX_IO], *p[4][FIXTURE_MAX_IO];
	struct dnnq_request req[4] = { { 0 } };
	uint32_t ni[2];
	if (dnnq_connect(socket, &o, &c) || dnnq_model_open(c, "fc1024", &m[0]) ||
	    dnnq_model_open(c, "multi", &m[1]))
		return 2;
	for (int k = 0; k < 2; k++)
		ni[k] = dnnq_model_num_inputs(m[k]);
	for (int k = 0; k < 4; k++) {
		struct dnnq_model *mk = m[k % 2];
		uint32_t n = ni[k % 2] + dnnq_model_num_outputs(mk);
		for (uint32_t i = 0; i < n; i++) {
			bool in = i < ni[k % 2];
			if (dnnq_tensor_alloc_io(mk, in ? DNNQ_INPUT : DNNQ_OUTPUT,
			                         in ? i : i - ni[k % 2], 1, &t[k][i]))
				return 3;
			p[k][i] = &t[k][i];
		}
	}
	for (int k = 0;; k = (k + 1) % 4) {
		if (req[k].client && dnnq_wait(&req[k], BATCH_WAIT_MS))
			return 1;
		if (dnnq_submit(m[k % 2], (const struct dnnq_tensor *const *)p[k],
		                p[k] + ni[k % 2], &req[k]))
			return 1;
	}
}

/* A session made and closed, retried until it is made: the daemon frees
 * a closed session, and gives its bytes back to its uid's quota, once
 * every worker has passed a quiescent point. */
static void session_churn(const char *socket)
{
	struct dnnq_connect_opts o = { .slots = 4, .arena_bytes = 1 << 20 };
	struct dnnq_client *c = NULL;
	int rc = 0;
	for (int t = 0; t < BATCH_WAIT_MS / 10; t++) {
		if (!(rc = dnnq_connect(socket, &o, &c)))
			break;
		fixture_sleep_ms(10);
	}
	ck_assert_msg(rc == 0, "a session closed earlier is never freed: %s", dnnq_strerror(rc));
	dnnq_close(c);
}

/* A batch's leader that finds a request for another batched model leaves
 * it for after the batch, where it leads a batch of its own; a client
 * that keeps the two models in turn in its queue must not keep the worker
 * going from batch to batch without a quiescent point (the closed
 * sessions it must free, a reload's old models, the watchdog all wait for
 * one). With a uid quota of the feeder's session, the monitor's and one
 * more, sessions are made and closed one after the other: each needs the
 * one before it freed. */
START_TEST(two_models_keep_quiescing)
{
	struct fixture_daemon d;
	char dir[300];
	struct dnnq_client *mon;
	struct dnnq_connect_opts o = { .slots = 4, .arena_bytes = 1 << 20 };
	struct dnnq_model_stats a, b;
	start_yaml(&d, dir, sizeof dir, BATCHED("fc1024", "8") BATCHED("multi", "8")
	           "limits: { max_bytes_per_uid: 3670016 }\n");
	pid_t kid = fixture_fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0)
		_exit(alternating_feeder(d.socket));
	ck_assert_int_eq(dnnq_connect(d.socket, &o, &mon), 0);
	for (int t = 0; t < BATCH_WAIT_MS / 2; t++) {
		batching_stats(mon, "fc1024", &a);
		batching_stats(mon, "multi", &b);
		if (a.runs >= 4 && b.runs >= 4)
			break;
		fixture_sleep_ms(2);
	}
	ck_assert_msg(a.runs >= 4 && b.runs >= 4, "%llu and %llu runs",
	              (unsigned long long)a.runs, (unsigned long long)b.runs);
	for (int k = 0; k < 4; k++)
		session_churn(d.socket);
	int st = fixture_wait(kid, 0);
	ck_assert_msg(st == -1, "the feeder: wait status %#x", st);
	ck_assert_int_eq(kill(kid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(kid, NULL, 0), kid);
	batching_stats(mon, "fc1024", &a);
	ck_assert_uint_eq(a.failures, 0);
	dnnq_close(mon);
	stop_and_clean(&d, dir);
}
END_TEST

/* A model with an s32 output (4 bytes an element) in a batch: each
 * request's rows of the staging buffers are as wide as its dtype, and
 * each answer is the one the same model gives it unbatched. */
START_TEST(batched_s32)
{
	struct fixture_daemon d;
	char dir[300];
	struct party p[2], solo;
	struct rng r = { 0x532 };
	start_yaml(&d, dir, sizeof dir, BATCHED("s32", "2")
	           "  - { name: solo, path: s32.dnnq, max_batch: 8 }\n");
	for (int k = 0; k < 2; k++) {
		party_open(&p[k], d.socket, "s32", 1, false);
		fill(&p[k], &r);
	}
	party_open(&solo, d.socket, "solo", 1, false);
	party_submit(&p[0]);
	batching_wait_held(p[0].c, "s32", 1);
	party_submit(&p[1]);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(party_wait(&p[k]), 0);
		memcpy(solo.t[0].data, p[k].t[0].data, solo.t[0].bytes);
		party_submit(&solo);
		ck_assert_int_eq(party_wait(&solo), 0);
		ck_assert_uint_eq(solo.t[1].bytes, 1024 * sizeof(int32_t));
		ck_assert_msg(!memcmp(solo.t[1].data, p[k].t[1].data, solo.t[1].bytes),
		              "request %d's s32 output differs from its run alone", k);
	}
	struct dnnq_model_stats st;
	batching_stats(p[0].c, "s32", &st);
	ck_assert_uint_eq(st.runs, 1);
	ck_assert_uint_eq(st.run_items, 2);
	for (int k = 0; k < 2; k++)
		party_close(&p[k]);
	party_close(&solo);
	stop_and_clean(&d, dir);
}
END_TEST

/* p's ids (wrapped once when negative) looked up in embed's table: row r
 * holds r * 10 + column. */
static void expect_rows(const struct party *p)
{
	const int32_t *ids = p->t[0].data;
	const float *y = p->t[1].data;
	for (size_t k = 0; k < p->t[0].bytes / sizeof *ids; k++)
		for (int c = 0; c < 4; c++)
			ck_assert_msg(y[4 * k + c] == (float)((ids[k] < 0 ? ids[k] + 8 : ids[k]) * 10 + c),
			              "id %d: y[%zu][%d] = %g", ids[k], k, c, (double)y[4 * k + c]);
}

/* Token ids steer a read (an embedding's row): a request holding an id
 * outside the table, gathered into one batch with two honest ones (4
 * items, the preferred size), fails alone with DNNQ_E_RANGE; the honest
 * ones get their rows (before: the batch's run failed, and with it every
 * request in it). */
START_TEST(bad_ids_fail_alone)
{
	static const int32_t outside[] = { 8, -9, INT32_MAX, INT32_MIN };
	enum { ROUNDS_BAD = sizeof outside / sizeof *outside };
	struct fixture_daemon d;
	char dir[300];
	struct party good[2], bad;
	start_yaml(&d, dir, sizeof dir, BATCHED("embed", "4"));
	party_open(&good[0], d.socket, "embed", 1, false);
	party_open(&good[1], d.socket, "embed", 2, false);
	party_open(&bad, d.socket, "embed", 1, false);
	for (int round = 0; round < ROUNDS_BAD; round++) {
		for (int k = 0; k < 2; k++)
			for (int i = 0; i < 4 * (k + 1); i++)
				((int32_t *)good[k].t[0].data)[i] = (round + i * 3 + k) % 16 - 8;
		memcpy(bad.t[0].data, (const int32_t[]){ 1, -1, outside[round], 2 }, 16);
		party_submit(&good[0]);
		batching_wait_held(good[0].c, "embed", 1);
		party_submit(&bad);
		party_submit(&good[1]);
		ck_assert_int_eq(party_wait(&bad), DNNQ_E_RANGE);
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(party_wait(&good[k]), 0);
			expect_rows(&good[k]);
		}
	}
	struct dnnq_model_stats st;
	batching_stats(good[0].c, "embed", &st);
	ck_assert_uint_eq(st.requests, 3 * ROUNDS_BAD);
	ck_assert_uint_eq(st.failures, ROUNDS_BAD);
	ck_assert_uint_eq(st.batches[2], ROUNDS_BAD);   /* 3-4 items: each round gathered */
	party_close(&good[0]);
	party_close(&good[1]);
	party_close(&bad);
	stop_and_clean(&d, dir);
}
END_TEST

/* max_queue_delay_us 0 gathers what is queued and never waits: 4
 * sessions of one uid, a request each, all queued while dnnqd is stopped,
 * are one run of 4 (the first round passes over the leader's uid, so the
 * deadline cannot end the gathering after it: the rounds go on while
 * they find company). */
START_TEST(zero_delay_gathers_queued)
{
	struct fixture_daemon d;
	char dir[300];
	struct party p[4];
	struct rng r = { 0x0de1a7 };
	int st;
	start_yaml(&d, dir, sizeof dir,
	           "  - name: fc1024\n    path: fc1024.dnnq\n    max_batch: 8\n"
	           "    dynamic_batching: { max_queue_delay_us: 0 }\n");
	struct fixture_ref *ref = ref_of(FIXTURE_FC1024);
	for (int k = 0; k < 4; k++) {
		party_open(&p[k], d.socket, "fc1024", 1, k % 2);
		fill(&p[k], &r);
	}
	ck_assert_int_eq(kill(d.pid, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(d.pid, &st, WUNTRACED), d.pid);   /* every thread stopped */
	for (int k = 0; k < 4; k++)
		party_submit(&p[k]);
	ck_assert_int_eq(kill(d.pid, SIGCONT), 0);
	expect_right(p, 4, ref);
	struct dnnq_model_stats ms;
	batching_stats(p[0].c, "fc1024", &ms);
	ck_assert_msg(ms.runs == 1 && ms.run_items == 4, "%llu runs of %llu items",
	              (unsigned long long)ms.runs, (unsigned long long)ms.run_items);
	for (int k = 0; k < 4; k++)
		party_close(&p[k]);
	fixture_ref_destroy(ref);
	stop_and_clean(&d, dir);
}
END_TEST


/* `dnnqd --check-config` of `yaml` written in dir: its wait status, what
 * it said in out. */
static int check_config(const char *dir, const char *yaml, char *out, size_t len)
{
	char path[400], cmd[1000];
	const char *dnnqd = getenv("DNNQ_DNNQD");
	ck_assert_ptr_nonnull(dnnqd);
	snprintf(path, sizeof path, "%s/check.yaml", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "'%s' --check-config '%s' 2>&1", dnnqd, path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = 0;
	return pclose(p);
}

static void config_refused(const char *dir, const char *yaml, const char *why)
{
	char out[2048];
	int st = check_config(dir, yaml, out, sizeof out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "accepted (%#x): %s", st, out);
	ck_assert_msg(strstr(out, why), "refused, but not saying '%s': %s", why, out);
}

/* dynamic_batching that could never gather or never reach a preferred
 * size is refused, not left to silently do nothing: on a model entry of
 * max_batch 1 (with the file and line), and on a graph that takes fewer
 * items than the entry's max_batch (fc1024 recording 1 and 2 at most). */
START_TEST(batching_past_the_graph)
{
	char dir[300], path[400], out[2048];
	struct dnnq_diag diag = { "" };
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, sizeof dir, "%s/batching-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (uint32_t b = 1; b <= 2; b++) {
		snprintf(path, sizeof path, "%s/fc%u.dnnq", dir, b);
		ck_assert_msg(batching_model_write(path, b, &diag) == 0, "%s", diag.msg);
	}
	config_refused(dir, "models:\n  - { name: a, path: fc2.dnnq, max_batch: 1,"
	               " dynamic_batching: {} }\n",
	               "check.yaml:2:64: models[0].dynamic_batching: the model's max_batch is 1");
	config_refused(dir, "limits: { max_batch: 1 }\nmodels:\n  - { name: a, path: fc2.dnnq,"
	               " dynamic_batching: { max_queue_delay_us: 0 } }\n",
	               "check.yaml:3:50: models[0].dynamic_batching: the model's max_batch is 1");
	config_refused(dir, "models:\n  - { name: a, path: fc1.dnnq, max_batch: 8,"
	               " dynamic_batching: {} }\n", "dynamic_batching: the graph takes 1 item at most");
	config_refused(dir, "models:\n  - { name: a, path: fc2.dnnq, max_batch: 8,"
	               " dynamic_batching: { preferred_batch_size: [2, 4] } }\n",
	               "dynamic_batching.preferred_batch_size[1] 4: the graph takes 2 items at most");
	/* what the graph takes, it may prefer */
	int st = check_config(dir, "models:\n  - { name: a, path: fc2.dnnq, max_batch: 8,"
	                      " dynamic_batching: { preferred_batch_size: [2] } }\n", out, sizeof out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "refused (%#x): %s", st, out);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

Suite *suite_batching(void)
{
	Suite *s = suite_create("batching");
	TCase *tc = tcase_create("batching");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, batched_equals_alone);
	tcase_add_test(tc, bad_shape_fails_alone);
	tcase_add_test(tc, delay_bound_counted);
	tcase_add_test(tc, client_killed_while_queued);
	tcase_add_test(tc, sessions_of_one_uid);
	tcase_add_test(tc, largest_preferred_caps_a_batch);
	tcase_add_test(tc, uid_fair);
	tcase_add_test(tc, two_models_keep_quiescing);
	tcase_add_test(tc, batching_past_the_graph);
	tcase_add_test(tc, zero_delay_gathers_queued);
	tcase_add_test(tc, batched_s32);
	tcase_add_test(tc, bad_ids_fail_alone);
	suite_add_tcase(s, tc);
	return s;
}
