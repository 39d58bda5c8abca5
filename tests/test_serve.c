/*
 * The serving path end to end (suite serve): a real dnnqd, started from
 * $DNNQ_DNNQD on a socket in a temporary directory, driven only through
 * client/dnnq.h (and dnnqctl, run as a process), with the fixture models of
 * tools/serve-fixture.h. Every result is compared, bit for bit, with the
 * same model run in-process by the engine.
 *
 * Each test starts its own daemon and stops it with SIGTERM, asserting
 * exit status 0: a graceful shutdown, and under ASan an empty leak report.
 * A test that fails before that leaves no daemon behind: dnnqd dies with
 * the test's process (PR_SET_PDEATHSIG), and the temporary directories live
 * under one that the Check parent removes after the suite.
 *
 * Nothing here asserts a speed. Where a bound in time is part of the
 * contract (a waiting call returns DNNQ_E_DISCONNECTED once dnnqd dies),
 * the test asserts that it returns at all and prints how long it took.
 */
#define _GNU_SOURCE   /* pthread_timedjoin_np */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calibration/npy.h"
#include "client/dnnq.h"
#include "tests/daemon-fixture.h"
#include "tests/rng.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define TIMEOUT_MS 60000        /* a request that takes this long has hung */
#define F32_IN(i)  (1u << (i))  /* req_init: an F32 tensor where the signature says U8 */
#define F32_OUT(i) (1u << (16 + (i)))

/* A DNNQ_E_* code: negative and named. */
static bool is_error_code(int rc)
{
	return rc < 0 && strcmp(dnnq_strerror(rc), dnnq_strerror(-100000)) != 0;
}

/* ---- the daemon ---------------------------------------------------------- */

static void dump_log(const struct fixture_daemon *d)
{
	char buf[4096];
	fixture_daemon_log(d, buf, sizeof buf);
	fprintf(stderr, "---- %s (end) ----\n%s---- end of log ----\n", d->log, buf);
}

/* The outcome of a fixture_daemon_* call: on failure, the log and why. */
static void assert_daemon(const struct fixture_daemon *d, int rc, const struct dnnq_diag *diag)
{
	if (rc)
		dump_log(d);
	ck_assert_msg(rc == 0, "%s", diag->msg);
}

/* dnnqd serving every fixture model, with extra arguments (or NULL). */
static void start(struct fixture_daemon *d, const char *const *extra)
{
	struct dnnq_diag diag = { "" };
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD to the binary (make check does)");
	assert_daemon(d, fixture_daemon_start(d, bin, FIXTURE_ALL_MODELS, extra, &diag), &diag);
}

static void restart(struct fixture_daemon *d)
{
	struct dnnq_diag diag = { "" };
	assert_daemon(d, fixture_daemon_restart(d, &diag), &diag);
}

/* SIGTERM: dnnqd must exit with status 0. The directory goes either way
 * (the log is printed first). */
static void stop(struct fixture_daemon *d)
{
	struct dnnq_diag diag = { "" };
	int rc = fixture_daemon_stop(d, &diag);
	if (rc)
		dump_log(d);
	fixture_daemon_destroy(d);
	ck_assert_msg(rc == 0, "%s", diag.msg);
}

/* ---- one request and its expected result --------------------------------- */

/* A request of model m at `batch`: its tensors in the arena, the inputs
 * filled from a seed, and the outputs the engine computes for them (in the
 * dtype of each output tensor: dequantized where it is F32 for a U8
 * output). */
struct req {
	struct dnnq_client *c;
	struct dnnq_model *m;
	uint32_t n[2], batch;
	struct dnnq_tensor t[2][FIXTURE_MAX_IO];     /* inputs, outputs */
	const struct dnnq_tensor *ins[FIXTURE_MAX_IO];
	struct dnnq_tensor *outs[FIXTURE_MAX_IO];
	void *want[FIXTURE_MAX_IO];
};

static int alloc_tensor(struct req *q, int kind, uint32_t i, bool f32, struct dnnq_tensor *t)
{
	struct dnnq_io_info io;
	int rc = dnnq_model_io(q->m, kind ? DNNQ_OUTPUT : DNNQ_INPUT, i, &io);
	if (rc)
		return rc;
	if (!f32 || io.dtype != DNNQ_TYPE_U8)
		return dnnq_tensor_alloc_io(q->m, kind ? DNNQ_OUTPUT : DNNQ_INPUT, i, q->batch, t);
	io.dims[0] = q->batch;
	return dnnq_tensor_alloc(q->c, DNNQ_TYPE_F32, io.rank, io.dims, t);
}

/* Input i from the rng; *staged: what the engine reads for it (the tensor
 * itself, or its F32 values quantized into a buffer to free). */
static int fill_input(struct req *q, const struct fixture_io *io, uint32_t i, struct rng *r,
                      void **staged)
{
	struct dnnq_tensor *t = &q->t[0][i];
	*staged = t->data;
	if (t->dtype == io->dtype) {
		for (size_t k = 0; k < t->bytes; k++)
			((uint8_t *)t->data)[k] = (uint8_t)rng_next(r);
		return DNNQ_OK;
	}
	/* real values over the u8 range and a little past both ends */
	size_t n = t->bytes / sizeof(float);
	float *x = t->data;
	for (size_t k = 0; k < n; k++)
		x[k] = io->scale * (float)(rng_uniform(r, -8, 263) - io->zero_point);
	if (!(*staged = malloc(n)))
		return DNNQ_E_NOMEM;
	fixture_quantize(io, x, *staged, n);
	return DNNQ_OK;
}

/* want[i] for output tensor i from the engine's output in its own dtype. */
static int expect_output(struct req *q, const struct fixture_io *io, uint32_t i, void *got)
{
	const struct dnnq_tensor *t = &q->t[1][i];
	if (t->dtype == io->dtype) {
		q->want[i] = got;
		return DNNQ_OK;
	}
	q->want[i] = malloc(t->bytes);
	if (q->want[i])
		fixture_dequantize(io, got, q->want[i], t->bytes / sizeof(float));
	free(got);
	return q->want[i] ? DNNQ_OK : DNNQ_E_NOMEM;
}

/* The engine's run of the request's inputs. */
static int reference(struct req *q, struct fixture_ref *ref, uint64_t seed)
{
	struct rng r = { seed | 1 };
	void *in[FIXTURE_MAX_IO] = { 0 }, *out[FIXTURE_MAX_IO] = { 0 };
	int rc = DNNQ_OK;
	for (uint32_t i = 0; !rc && i < q->n[0]; i++)
		rc = fill_input(q, fixture_ref_io(ref, 0, i), i, &r, &in[i]);
	for (uint32_t i = 0; !rc && i < q->n[1]; i++)
		if (!(out[i] = malloc(fixture_io_bytes(fixture_ref_io(ref, 1, i), q->batch))))
			rc = DNNQ_E_NOMEM;
	if (!rc)
		rc = fixture_ref_run(ref, q->batch, (const void *const *)in, out);
	for (uint32_t i = 0; i < q->n[1]; i++) {
		if (!rc)
			rc = expect_output(q, fixture_ref_io(ref, 1, i), i, out[i]);
		else
			free(out[i]);
	}
	for (uint32_t i = 0; i < q->n[0]; i++)
		if (in[i] != q->t[0][i].data)
			free(in[i]);
	return rc;
}

static void req_free(struct req *q)
{
	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < q->n[k]; i++)
			if (q->t[k][i].data)
				dnnq_tensor_free(q->c, &q->t[k][i]);
	for (uint32_t i = 0; i < q->n[1]; i++)
		free(q->want[i]);
	memset(q, 0, sizeof *q);
}

/* f32: F32_IN / F32_OUT bits. No Check assertions: forked clients use it. */
static int req_init(struct req *q, struct dnnq_client *c, struct dnnq_model *m,
                    struct fixture_ref *ref, uint32_t batch, uint32_t f32, uint64_t seed)
{
	memset(q, 0, sizeof *q);
	q->c = c;
	q->m = m;
	q->batch = batch;
	q->n[0] = dnnq_model_num_inputs(m);
	q->n[1] = dnnq_model_num_outputs(m);
	if (q->n[0] != fixture_ref_count(ref, 0) || q->n[1] != fixture_ref_count(ref, 1))
		return DNNQ_E_SHAPE;
	int rc = DNNQ_OK;
	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; !rc && i < q->n[k]; i++)
			rc = alloc_tensor(q, k, i, (f32 & (k ? F32_OUT(i) : F32_IN(i))) != 0, &q->t[k][i]);
	}
	for (uint32_t i = 0; i < q->n[0]; i++)
		q->ins[i] = &q->t[0][i];
	for (uint32_t i = 0; i < q->n[1]; i++)
		q->outs[i] = &q->t[1][i];
	if (!rc)
		rc = reference(q, ref, seed);
	if (rc)
		req_free(q);
	return rc;
}

/* A pattern over the outputs, so a result the daemon did not write shows. */
static void req_clear(struct req *q)
{
	for (uint32_t i = 0; i < q->n[1]; i++)
		memset(q->t[1][i].data, 0xa5, q->t[1][i].bytes);
}

/* 0 when every output equals the engine's; else -1 and why. */
static int req_check(const struct req *q, char *why, size_t len)
{
	for (uint32_t i = 0; i < q->n[1]; i++) {
		const uint8_t *got = q->t[1][i].data, *want = q->want[i];
		for (size_t k = 0; k < q->t[1][i].bytes; k++) {
			if (got[k] == want[k])
				continue;
			snprintf(why, len, "%s batch %u: output %u byte %zu: %u, the engine gives %u",
			         dnnq_model_name_of(q->m), q->batch, i, k, got[k], want[k]);
			return -1;
		}
	}
	return 0;
}

static int req_infer(struct req *q)
{
	req_clear(q);
	return dnnq_infer(q->m, q->ins, q->outs, TIMEOUT_MS);
}

static void assert_req_init(struct req *q, struct dnnq_client *c, struct dnnq_model *m,
                            struct fixture_ref *ref, uint32_t batch, uint32_t f32,
                            uint64_t seed)
{
	int rc = req_init(q, c, m, ref, batch, f32, seed);
	ck_assert_msg(rc == 0, "%s batch %u: preparing the request: %s", dnnq_model_name_of(m),
	              batch, dnnq_strerror(rc));
}

static void assert_result(const struct req *q)
{
	char why[256];
	ck_assert_msg(req_check(q, why, sizeof why) == 0, "%s", why);
}

static void assert_infer(struct req *q)
{
	int rc = req_infer(q);
	ck_assert_msg(rc == 0, "%s batch %u: dnnq_infer: %s", dnnq_model_name_of(q->m), q->batch,
	              dnnq_strerror(rc));
	assert_result(q);
}

/* ---- a client with every fixture model open -------------------------------- */

struct sess {
	struct dnnq_client *c;
	struct dnnq_model *m[FIXTURE_NMODELS];
	struct fixture_ref *ref[FIXTURE_NMODELS];
};

static void sess_close(struct sess *s)
{
	for (int i = 0; i < FIXTURE_NMODELS; i++) {
		if (s->m[i])
			dnnq_model_close(s->m[i]);
		fixture_ref_destroy(s->ref[i]);
	}
	dnnq_close(s->c);
	memset(s, 0, sizeof *s);
}

/* No Check assertions: forked clients use it. */
static int sess_open(struct sess *s, const char *socket, const struct dnnq_connect_opts *o)
{
	memset(s, 0, sizeof *s);
	int rc = dnnq_connect(socket, o, &s->c);
	for (int i = 0; !rc && i < FIXTURE_NMODELS; i++) {
		rc = dnnq_model_open(s->c, fixture_model_name(i), &s->m[i]);
		if (!rc)
			rc = fixture_ref_create(i, &s->ref[i], NULL);
	}
	if (rc)
		sess_close(s);
	return rc;
}

static void assert_sess_open(struct sess *s, const struct fixture_daemon *d,
                             const struct dnnq_connect_opts *o)
{
	int rc = sess_open(s, d->socket, o);
	ck_assert_msg(rc == 0, "connecting to %s and opening the models: %s", d->socket,
	              dnnq_strerror(rc));
}

/* A request of model `which` on s. */
static void sess_req(struct sess *s, struct req *q, enum fixture_model which, uint32_t batch,
                     uint32_t f32, uint64_t seed)
{
	assert_req_init(q, s->c, s->m[which], s->ref[which], batch, f32, seed);
}

static struct dnnq_stats stats_of(struct dnnq_client *c)
{
	struct dnnq_stats st;
	int rc = dnnq_stats(c, &st);
	ck_assert_msg(rc == 0, "dnnq_stats: %s", dnnq_strerror(rc));
	return st;
}

/* This session's counters: n requests served, none failed. */
static void assert_served(struct dnnq_client *c, uint64_t n)
{
	struct dnnq_stats st = stats_of(c);
	ck_assert_uint_eq(st.session_requests, n);
	ck_assert_uint_eq(st.session_failures, 0);
}

/* ---- the fixture itself ---------------------------------------------------- */

/* Each model's reference computes something, and a row's result does not
 * depend on the batch it is in. */
START_TEST(serve_fixture_models)
{
	enum { B = 3 };
	for (int m = 0; m < FIXTURE_NMODELS; m++) {
		struct fixture_ref *r;
		struct dnnq_diag diag = { "" };
		ck_assert_msg(fixture_ref_create(m, &r, &diag) == 0, "%s", diag.msg);
		const struct fixture_io *o = fixture_ref_io(r, 1, 0);
		ck_assert_ptr_nonnull(o);
		ck_assert_ptr_null(fixture_ref_io(r, 1, fixture_ref_count(r, 1)));
		void *in[FIXTURE_MAX_IO], *out[FIXTURE_MAX_IO], *one[FIXTURE_MAX_IO];
		struct rng g = { 7 };
		for (uint32_t i = 0; i < fixture_ref_count(r, 0); i++) {
			size_t n = fixture_io_bytes(fixture_ref_io(r, 0, i), B);
			in[i] = malloc(n);
			for (size_t k = 0; k < n; k++)
				((uint8_t *)in[i])[k] = (uint8_t)rng_next(&g);
		}
		for (uint32_t i = 0; i < fixture_ref_count(r, 1); i++) {
			out[i] = malloc(fixture_io_bytes(fixture_ref_io(r, 1, i), B));
			one[i] = malloc(fixture_io_bytes(fixture_ref_io(r, 1, i), 1));
		}
		ck_assert_int_eq(fixture_ref_run(r, B, (const void *const *)in, out), 0);
		ck_assert_int_eq(fixture_ref_run(r, 1, (const void *const *)in, one), 0);
		size_t n1 = fixture_io_bytes(o, 1), distinct = 0;
		ck_assert_mem_eq(out[0], one[0], n1);
		for (size_t k = 1; k < n1; k++)
			distinct += ((uint8_t *)out[0])[k] != ((uint8_t *)out[0])[0];
		ck_assert_msg(distinct > 0, "%s: constant output", fixture_model_name(m));
		for (uint32_t i = 0; i < fixture_ref_count(r, 0); i++)
			free(in[i]);
		for (uint32_t i = 0; i < fixture_ref_count(r, 1); i++) {
			free(out[i]);
			free(one[i]);
		}
		fixture_ref_destroy(r);
	}
}
END_TEST

/* ---- results --------------------------------------------------------------- */

/* The daemon's signature of a model is the file's. */
static void assert_signature(struct dnnq_model *m, const struct fixture_ref *ref)
{
	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < fixture_ref_count(ref, k); i++) {
			const struct fixture_io *want = fixture_ref_io(ref, k, i);
			struct dnnq_io_info io;
			ck_assert_int_eq(dnnq_model_io(m, k ? DNNQ_OUTPUT : DNNQ_INPUT, i, &io), 0);
			ck_assert_str_eq(io.name, want->name);
			ck_assert_uint_eq(io.dtype, want->dtype);
			ck_assert_uint_eq(io.rank, want->rank);
			ck_assert_mem_eq(io.dims, want->dims, want->rank * sizeof *io.dims);
			if (want->dtype == DNNQ_TYPE_U8) {
				ck_assert(io.scale == want->scale);
				ck_assert_int_eq(io.zero_point, want->zero_point);
			}
		}
	}
}

static uint32_t larger_batch(struct dnnq_model *m)
{
	uint32_t max = dnnq_model_max_batch(m);
	ck_assert_uint_ge(max, 1);
	return max < 7 ? max : 7;
}

START_TEST(serve_results_equal_engine)
{
	struct fixture_daemon d;
	struct sess s;
	struct req q;
	start(&d, NULL);
	assert_sess_open(&s, &d, NULL);
	unsigned n = 0;
	for (int m = 0; m < FIXTURE_NMODELS; m++) {
		ck_assert_str_eq(dnnq_model_name_of(s.m[m]), fixture_model_name(m));
		ck_assert_uint_eq(dnnq_model_num_inputs(s.m[m]), fixture_ref_count(s.ref[m], 0));
		ck_assert_uint_eq(dnnq_model_num_outputs(s.m[m]), fixture_ref_count(s.ref[m], 1));
		assert_signature(s.m[m], s.ref[m]);
		uint32_t batches[2] = { 1, larger_batch(s.m[m]) };
		for (int b = 0; b < 2; b++, n++) {
			sess_req(&s, &q, m, batches[b], 0, 100 + n);
			assert_infer(&q);
			req_free(&q);
		}
	}
	assert_served(s.c, n);
	struct dnnq_stats st = stats_of(s.c);
	ck_assert_uint_eq(st.bytes_copied, 0);   /* every tensor had the signature's dtype */
	ck_assert_uint_ge(st.requests, n);
	ck_assert_uint_eq(st.models, FIXTURE_NMODELS);
	ck_assert_uint_eq(st.pid, (uint32_t)d.pid);
	ck_assert_uint_ge(st.sessions, 1);
	ck_assert_uint_ge(st.workers, 1);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* F32 tensors where the signature says U8: the daemon quantizes inputs and
 * dequantizes outputs (a copy, counted), and the result is the engine's run
 * of the quantized inputs. */
START_TEST(serve_f32_conversions)
{
	static const struct {
		enum fixture_model m;
		uint32_t f32;
	} cases[] = {
		{ FIXTURE_RELU64, F32_IN(0) },
		{ FIXTURE_RELU64, F32_OUT(0) },
		{ FIXTURE_RELU64, F32_IN(0) | F32_OUT(0) },
		{ FIXTURE_MULTI, F32_IN(1) | F32_OUT(0) },   /* prob is F32 anyway */
		{ FIXTURE_FC1024, F32_IN(0) },
	};
	struct fixture_daemon d;
	struct sess s;
	struct req q;
	start(&d, NULL);
	assert_sess_open(&s, &d, NULL);
	uint64_t copied = stats_of(s.c).bytes_copied;
	ck_assert_uint_eq(copied, 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sess_req(&s, &q, cases[i].m, i % 2 ? 1 : larger_batch(s.m[cases[i].m]),
		         cases[i].f32, 200 + i);
		assert_infer(&q);
		req_free(&q);
		uint64_t now = stats_of(s.c).bytes_copied;
		ck_assert_msg(now > copied, "case %zu: bytes_copied stayed %llu", i,
		              (unsigned long long)now);
		copied = now;
	}
	/* a zero-copy request copies nothing */
	sess_req(&s, &q, FIXTURE_MULTI, 2, 0, 299);
	assert_infer(&q);
	req_free(&q);
	ck_assert_uint_eq(stats_of(s.c).bytes_copied, copied);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* ---- concurrency ----------------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 60, PROCS = 3, PER_PROC = 60 };

/* One request of each model, run in turn `rounds` times; 0 or why not. */
static int run_rounds(struct req *q, unsigned nreq, unsigned rounds, char *why, size_t len)
{
	for (unsigned k = 0; k < rounds; k++) {
		struct req *r = &q[k % nreq];
		int rc = req_infer(r);
		if (rc) {
			snprintf(why, len, "%s: request %u: dnnq_infer: %s", dnnq_model_name_of(r->m),
			         k, dnnq_strerror(rc));
			return -1;
		}
		if (req_check(r, why, len))
			return -1;
	}
	return 0;
}

struct worker {
	pthread_t t;
	struct req q[FIXTURE_NMODELS];
	int rc;
	char why[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->rc = run_rounds(w->q, FIXTURE_NMODELS, PER_THREAD, w->why, sizeof w->why);
	return NULL;
}

START_TEST(serve_threads_of_one_client)
{
	struct fixture_daemon d;
	struct sess s;
	struct worker w[THREADS];
	start(&d, NULL);
	assert_sess_open(&s, &d, NULL);
	for (int t = 0; t < THREADS; t++)
		for (int m = 0; m < FIXTURE_NMODELS; m++)
			sess_req(&s, &w[t].q[m], m, 1 + (uint32_t)(t + m) % 3, 0, 300 + 10 * t + m);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&w[t].t, NULL, worker_main, &w[t]), 0);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_join(w[t].t, NULL), 0);
	for (int t = 0; t < THREADS; t++) {
		ck_assert_msg(w[t].rc == 0, "thread %d: %s", t, w[t].why);
		for (int m = 0; m < FIXTURE_NMODELS; m++)
			req_free(&w[t].q[m]);
	}
	assert_served(s.c, THREADS * PER_THREAD);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* A forked client: its own connection, `rounds` checked requests; the exit
 * status says how it went (the reason on stderr). */
static void client_process(const char *socket, unsigned seed, unsigned rounds)
{
	struct sess s;
	struct req q[FIXTURE_NMODELS];
	char why[256] = "";
	int rc = sess_open(&s, socket, NULL);
	for (int m = 0; !rc && m < FIXTURE_NMODELS; m++) {
		rc = req_init(&q[m], s.c, s.m[m], s.ref[m], 1 + (seed + (unsigned)m) % 3, 0,
		              seed * 16 + m);
	}
	if (rc)
		snprintf(why, sizeof why, "setting up: %s", dnnq_strerror(rc));
	else
		rc = run_rounds(q, FIXTURE_NMODELS, rounds, why, sizeof why);
	if (rc)
		fprintf(stderr, "client process %u: %s\n", seed, why);
	_exit(rc ? 1 : 0);
}

START_TEST(serve_processes_at_once)
{
	struct fixture_daemon d;
	struct sess s;
	pid_t pid[PROCS];
	start(&d, NULL);
	for (unsigned p = 0; p < PROCS; p++) {
		pid[p] = fixture_fork();
		ck_assert_int_ge(pid[p], 0);
		if (pid[p] == 0)
			client_process(d.socket, p + 1, PER_PROC);
	}
	for (unsigned p = 0; p < PROCS; p++) {
		int status;
		ck_assert_int_eq(waitpid(pid[p], &status, 0), pid[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "client process %u failed (wait status %#x)", p + 1, status);
	}
	assert_sess_open(&s, &d, NULL);
	struct dnnq_stats st = stats_of(s.c);
	ck_assert_uint_ge(st.requests, PROCS * PER_PROC);
	ck_assert_uint_eq(st.failures, 0);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* ---- async ----------------------------------------------------------------- */

enum { ASYNC_SLOTS = 256 };

/* Waits for the completion socket and clears it. */
static void assert_event(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ck_assert_msg(poll(&p, 1, TIMEOUT_MS) == 1, "the event fd did not become readable");
	char v[256];
	ck_assert_int_gt(read(fd, v, sizeof v), 0);
}

/* dnnq_poll until it stops saying DNNQ_E_AGAIN. */
static int poll_until_done(struct dnnq_request *r)
{
	double t0 = fixture_now_s();
	int rc;
	while ((rc = dnnq_poll(r)) == DNNQ_E_AGAIN && fixture_now_s() - t0 < TIMEOUT_MS / 1000.0)
		sched_yield();
	return rc;
}

START_TEST(serve_async_in_flight)
{
	static const enum fixture_model kinds[3] = { FIXTURE_RELU64, FIXTURE_FC1024,
	                                             FIXTURE_MULTI };
	struct fixture_daemon d;
	struct sess s;
	struct req *q = calloc(ASYNC_SLOTS, sizeof *q);
	struct dnnq_request *r = calloc(ASYNC_SLOTS + 1, sizeof *r);
	/* above the default cap of limits.max_inflight (64) */
	start(&d, (const char *const[]){ "--max-inflight", "256", NULL });
	assert_sess_open(&s, &d, &(struct dnnq_connect_opts){ .slots = ASYNC_SLOTS });
	int ev = dnnq_event_fd(s.c);
	ck_assert_int_ge(ev, 0);
	for (unsigned i = 0; i < ASYNC_SLOTS; i++)
		sess_req(&s, &q[i], kinds[i % 3], 1 + i % 2, 0, 1000 + i);
	for (unsigned i = 0; i < ASYNC_SLOTS; i++) {
		req_clear(&q[i]);
		int rc = dnnq_submit(q[i].m, q[i].ins, q[i].outs, &r[i]);
		ck_assert_msg(rc == 0, "submit %u: %s", i, dnnq_strerror(rc));
	}
	/* every slot is in flight until its request is polled */
	ck_assert_int_eq(dnnq_submit(q[0].m, q[0].ins, q[0].outs, &r[ASYNC_SLOTS]), DNNQ_E_BUSY);
	assert_event(ev);
	for (unsigned i = 0; i < ASYNC_SLOTS; i++) {
		int rc = i % 2 ? dnnq_wait(&r[i], TIMEOUT_MS) : poll_until_done(&r[i]);
		ck_assert_msg(rc == 0, "request %u: %s", i, dnnq_strerror(rc));
		assert_result(&q[i]);
	}
	ck_assert_int_eq(dnnq_poll(&r[0]), DNNQ_E_INVAL);   /* finished once */
	assert_served(s.c, ASYNC_SLOTS);
	/* the slots are free again */
	ck_assert_int_eq(dnnq_submit(q[1].m, q[1].ins, q[1].outs, &r[1]), 0);
	ck_assert_int_eq(dnnq_wait(&r[1], TIMEOUT_MS), 0);
	assert_result(&q[1]);
	for (unsigned i = 0; i < ASYNC_SLOTS; i++)
		req_free(&q[i]);
	free(q);
	free(r);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* A default connect (slots 0) to a daemon whose limits.max_inflight is
 * below 64 gets that many slots, as dnnq(3) says: the library sent 64,
 * which dnnqd refused, so every client with default options failed
 * (DNNQ_E_NOMEM, "slots 64: over the daemon's limit of 4"). An explicit
 * count over the limit is still refused, naming it. */
START_TEST(serve_default_slots_under_max_inflight)
{
	struct fixture_daemon d;
	struct sess s;
	struct req q[5];
	struct dnnq_request r[5];
	start(&d, (const char *const[]){ "--max-inflight", "4", "--max-sessions-per-uid", "1",
	                                 NULL });
	assert_sess_open(&s, &d, NULL);
	/* and the one session a uid may hold, said in the singular */
	struct dnnq_client *c = NULL;
	char said[96];
	ck_assert_int_eq(dnnq_connect(d.socket, NULL, &c), DNNQ_E_BUSY);
	snprintf(said, sizeof said, "uid %u holds 1 session, the most one uid may",
	         (unsigned)getuid());
	ck_assert_msg(strstr(dnnq_last_error(), said), "%s", dnnq_last_error());
	for (unsigned i = 0; i < 5; i++)
		sess_req(&s, &q[i], FIXTURE_RELU64, 1, 0, 10 + i);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(dnnq_submit(q[i].m, q[i].ins, q[i].outs, &r[i]), 0);
	ck_assert_int_eq(dnnq_submit(q[4].m, q[4].ins, q[4].outs, &r[4]), DNNQ_E_BUSY);
	ck_assert_msg(strstr(dnnq_last_error(), "every request slot of this client (4)"), "%s",
	              dnnq_last_error());
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(dnnq_wait(&r[i], TIMEOUT_MS), 0);
		assert_result(&q[i]);
	}
	for (unsigned i = 0; i < 5; i++)
		req_free(&q[i]);
	sess_close(&s);
	ck_assert_int_eq(dnnq_connect(d.socket, &(struct dnnq_connect_opts){ .slots = 5 }, &c),
	                 DNNQ_E_NOMEM);
	ck_assert_msg(strstr(dnnq_last_error(), "limit of 4 requests in flight per client"
	                     " (limits.max_inflight)"), "%s", dnnq_last_error());
	stop(&d);
}
END_TEST

/* ---- faults ---------------------------------------------------------------- */

enum { STREAM_DEPTH = 8 };

/* A forked client that keeps STREAM_DEPTH fc1024 requests in flight until
 * it is killed; one byte on `ready` after its first completion. */
static void streaming_client(const char *socket, int ready)
{
	struct sess s;
	struct req q[STREAM_DEPTH];
	struct dnnq_request r[STREAM_DEPTH];
	if (sess_open(&s, socket, NULL))
		_exit(2);
	for (int i = 0; i < STREAM_DEPTH; i++) {
		if (req_init(&q[i], s.c, s.m[FIXTURE_FC1024], s.ref[FIXTURE_FC1024], 4, 0, 50 + i))
			_exit(3);
		if (dnnq_submit(q[i].m, q[i].ins, q[i].outs, &r[i]))
			_exit(4);
	}
	for (unsigned k = 0;; k++) {
		int i = (int)(k % STREAM_DEPTH);
		if (dnnq_wait(&r[i], TIMEOUT_MS) || dnnq_submit(q[i].m, q[i].ins, q[i].outs, &r[i]))
			_exit(5);
		if (k == 0 && write(ready, "x", 1) != 1)
			_exit(6);
	}
}

/* Polls the daemon's session count until it is `want` (or TIMEOUT_MS). */
static uint32_t wait_sessions(struct dnnq_client *c, uint32_t want)
{
	double t0 = fixture_now_s();
	uint32_t n;
	while ((n = stats_of(c).sessions) != want && fixture_now_s() - t0 < TIMEOUT_MS / 1000.0)
		fixture_sleep_ms(10);
	return n;
}

static void assert_each_model(struct sess *s, uint64_t seed)
{
	struct req q;
	for (int m = 0; m < FIXTURE_NMODELS; m++) {
		sess_req(s, &q, m, 2, 0, seed + (uint64_t)m);
		assert_infer(&q);
		req_free(&q);
	}
}

START_TEST(serve_client_killed)
{
	struct fixture_daemon d;
	struct sess s;
	int p[2];
	char byte;
	start(&d, NULL);
	assert_sess_open(&s, &d, NULL);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		streaming_client(d.socket, p[1]);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	ck_assert_msg(poll(&pf, 1, TIMEOUT_MS) == 1 && read(p[0], &byte, 1) == 1,
	              "the streaming client did not get a result");
	/* the child's and ours (the fixture's probe session may take a while to go) */
	ck_assert_uint_eq(wait_sessions(s.c, 2), 2);
	assert_each_model(&s, 400);   /* served while the other streams */
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	assert_each_model(&s, 410);
	ck_assert_uint_eq(wait_sessions(s.c, 1), 1);
	uint64_t before = stats_of(s.c).session_requests;
	assert_each_model(&s, 420);
	ck_assert_uint_eq(stats_of(s.c).session_requests, before + FIXTURE_NMODELS);
	close(p[0]);
	close(p[1]);
	sess_close(&s);
	stop(&d);
}
END_TEST

enum { WAITERS = 2, KILL_INFLIGHT = 32 };

/* A thread in dnnq_infer (no timeout) over and over until a call fails. */
struct waiter {
	pthread_t t;
	struct req q;
	unsigned done;          /* results, atomic */
	int rc, bad;
	double end;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char why[256];
	while ((w->rc = dnnq_infer(w->q.m, w->q.ins, w->q.outs, -1)) == 0) {
		w->bad += req_check(&w->q, why, sizeof why) != 0;
		__atomic_add_fetch(&w->done, 1, __ATOMIC_RELEASE);
	}
	w->end = fixture_now_s();
	return NULL;
}

/* Joins a waiter that must return; its time after t_kill. */
static double join_waiter(struct waiter *w, double t_kill)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TIMEOUT_MS / 1000;
	ck_assert_msg(pthread_timedjoin_np(w->t, NULL, &ts) == 0,
	              "dnnq_infer still waits %d s after dnnqd was killed", TIMEOUT_MS / 1000);
	ck_assert_msg(w->rc == DNNQ_E_DISCONNECTED, "dnnq_infer: %s, expected DNNQ_E_DISCONNECTED",
	              dnnq_strerror(w->rc));
	ck_assert_int_eq(w->bad, 0);
	return w->end - t_kill;
}

/* Every later call on the dead client fails the same way. */
static void assert_dead(struct sess *s, struct req *q)
{
	struct dnnq_request r;
	struct dnnq_model *m;
	struct dnnq_stats st;
	ck_assert_int_eq(dnnq_infer(q->m, q->ins, q->outs, TIMEOUT_MS), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_submit(q->m, q->ins, q->outs, &r), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_stats(s->c, &st), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_model_open(s->c, "relu64", &m), DNNQ_E_DISCONNECTED);
}

/* Submits KILL_INFLIGHT fc1024 requests (batch up to 64: a millisecond or
 * more each, tens of milliseconds queued on the workers), kills dnnqd, and
 * waits for each: done before the kill (then correct) or
 * DNNQ_E_DISCONNECTED; returns the latest return after the kill. */
static double kill_with_inflight(struct fixture_daemon *d, struct req *q, double *t_kill,
                                 double *reaped)
{
	struct dnnq_request r[KILL_INFLIGHT];
	unsigned lost = 0;
	double last = 0;
	for (unsigned i = 0; i < KILL_INFLIGHT; i++) {
		req_clear(&q[i]);
		ck_assert_int_eq(dnnq_submit(q[i].m, q[i].ins, q[i].outs, &r[i]), 0);
	}
	*t_kill = fixture_now_s();
	fixture_daemon_kill(d);
	*reaped = fixture_now_s() - *t_kill;
	for (unsigned i = 0; i < KILL_INFLIGHT; i++) {
		int rc = dnnq_wait(&r[i], TIMEOUT_MS);
		last = fixture_now_s() - *t_kill;
		ck_assert_msg(rc == 0 || rc == DNNQ_E_DISCONNECTED, "request %u: %s", i,
		              dnnq_strerror(rc));
		if (rc == 0)
			assert_result(&q[i]);
		lost += rc == DNNQ_E_DISCONNECTED;
	}
	ck_assert_msg(lost > 0, "all %d requests finished before the kill: nobody waited",
	              KILL_INFLIGHT);
	return last;
}

START_TEST(serve_daemon_killed)
{
	struct fixture_daemon d;
	struct sess s;
	struct waiter w[WAITERS];
	struct req q[KILL_INFLIGHT];
	double t_kill, reaped;
	start(&d, NULL);
	assert_sess_open(&s, &d, NULL);
	uint32_t big = dnnq_model_max_batch(s.m[FIXTURE_FC1024]);
	big = big < 64 ? big : 64;
	for (unsigned i = 0; i < KILL_INFLIGHT; i++)
		sess_req(&s, &q[i], FIXTURE_FC1024, big, 0, 500 + i);
	memset(w, 0, sizeof w);
	for (int t = 0; t < WAITERS; t++) {
		sess_req(&s, &w[t].q, FIXTURE_FC1024, 1, 0, 600 + t);
		ck_assert_int_eq(pthread_create(&w[t].t, NULL, waiter_main, &w[t]), 0);
	}
	double t0 = fixture_now_s();   /* until both loop in dnnq_infer (a failure ends the wait) */
	for (int t = 0; t < WAITERS; t++)
		while (__atomic_load_n(&w[t].done, __ATOMIC_ACQUIRE) == 0 &&
		       fixture_now_s() - t0 < TIMEOUT_MS / 1000.0)
			fixture_sleep_ms(1);
	double async_s = kill_with_inflight(&d, q, &t_kill, &reaped);
	double sync_s[WAITERS];
	for (int t = 0; t < WAITERS; t++)
		sync_s[t] = join_waiter(&w[t], t_kill);
	printf("serve_daemon_killed: DNNQ_E_DISCONNECTED %.1f ms after SIGKILL (dnnq_wait, last "
	       "of %d), %.1f and %.1f ms (threads in dnnq_infer); dnnqd reaped after %.1f ms; "
	       "the contract says 100 ms\n", async_s * 1e3, KILL_INFLIGHT, sync_s[0] * 1e3,
	       sync_s[1] * 1e3, reaped * 1e3);
	assert_dead(&s, &q[0]);
	for (unsigned i = 0; i < KILL_INFLIGHT; i++)
		req_free(&q[i]);
	for (int t = 0; t < WAITERS; t++)
		req_free(&w[t].q);
	sess_close(&s);
	restart(&d);   /* the same socket path, a stale socket file on it */
	assert_sess_open(&s, &d, NULL);
	assert_each_model(&s, 700);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* ---- errors ---------------------------------------------------------------- */

#define MAX_SESSION_MIB 32       /* dnnqd --max-session-bytes */

/* A request of relu64 built from tensors of the given shapes. */
static int infer_shaped(struct sess *s, enum dnnq_type dt, uint32_t rank, const int64_t *in_dims,
                        const int64_t *out_dims)
{
	struct dnnq_tensor in, out;
	ck_assert_int_eq(dnnq_tensor_alloc(s->c, dt, rank, in_dims, &in), 0);
	ck_assert_int_eq(dnnq_tensor_alloc(s->c, DNNQ_TYPE_U8, 2, out_dims, &out), 0);
	const struct dnnq_tensor *ins[1] = { &in };
	struct dnnq_tensor *outs[1] = { &out };
	int rc = dnnq_infer(s->m[FIXTURE_RELU64], ins, outs, TIMEOUT_MS);
	dnnq_tensor_free(s->c, &in);
	dnnq_tensor_free(s->c, &out);
	return rc;
}

/* rc is a refusal, and the session still serves. */
static void assert_refused(struct sess *s, int rc, const char *what)
{
	struct req q;
	ck_assert_msg(is_error_code(rc), "%s: accepted (%d)", what, rc);
	sess_req(s, &q, FIXTURE_RELU64, 1, 0, 800);
	assert_infer(&q);
	req_free(&q);
}

static void bad_relu64_requests(struct sess *s)
{
	uint32_t max = dnnq_model_max_batch(s->m[FIXTURE_RELU64]);
	const int64_t ok[2] = { 1, 64 }, narrow[2] = { 1, 63 }, rank3[3] = { 1, 8, 8 };
	const int64_t over[2] = { (int64_t)max + 1, 64 }, two[2] = { 2, 64 };
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_U8, 2, narrow, ok), "relu64: x [1, 63]");
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_U8, 2, ok, narrow), "relu64: y [1, 63]");
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_U8, 3, rank3, ok), "relu64: x [1, 8, 8]");
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_U8, 2, over, over), "relu64: batch max + 1");
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_U8, 2, ok, two), "relu64: batches 1 and 2");
	assert_refused(s, infer_shaped(s, DNNQ_TYPE_S8, 2, ok, ok), "relu64: x s8");
}

/* multi's inputs at different batches; both outputs in one tensor. */
static void bad_multi_requests(struct sess *s)
{
	struct req q;
	struct dnnq_tensor b3, shared;
	sess_req(s, &q, FIXTURE_MULTI, 2, 0, 900);
	const int64_t dims3[4] = { 3, 6, 6, 4 }, prob[2] = { 2, 10 };
	ck_assert_int_eq(dnnq_tensor_alloc(s->c, DNNQ_TYPE_U8, 4, dims3, &b3), 0);
	const struct dnnq_tensor *ins[2] = { q.ins[0], &b3 };
	assert_refused(s, dnnq_infer(q.m, ins, q.outs, TIMEOUT_MS), "multi: batches 2 and 3");
	ck_assert_int_eq(dnnq_tensor_alloc(s->c, DNNQ_TYPE_F32, 2, prob, &shared), 0);
	struct dnnq_tensor *outs[2] = { &shared, &shared };
	assert_refused(s, dnnq_infer(q.m, q.ins, outs, TIMEOUT_MS), "multi: overlapping outputs");
	dnnq_tensor_free(s->c, &b3);
	dnnq_tensor_free(s->c, &shared);
	assert_infer(&q);   /* the well-formed request still works */
	req_free(&q);
}

/* What the client refuses by itself, whatever the daemon. */
static void bad_local_calls(struct sess *s)
{
	struct dnnq_io_info io;
	struct dnnq_tensor t;
	struct dnnq_request r;
	struct req q;
	const int64_t huge[2] = { 1, (int64_t)1 << 40 };
	ck_assert_int_eq(dnnq_model_io(s->m[FIXTURE_RELU64], DNNQ_INPUT, 1, &io), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_model_io(s->m[FIXTURE_MULTI], DNNQ_OUTPUT, 2, &io), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_tensor_alloc(s->c, DNNQ_TYPE_U8, 2, huge, &t), DNNQ_E_NOSPACE);
	sess_req(s, &q, FIXTURE_RELU64, 1, 0, 950);
	ck_assert_int_eq(dnnq_submit(q.m, q.ins, q.outs, &r), 0);
	ck_assert_int_eq(dnnq_wait(&r, TIMEOUT_MS), 0);
	ck_assert_int_eq(dnnq_poll(&r), DNNQ_E_INVAL);
	assert_result(&q);
	req_free(&q);
}

/* dnnq_model_name lists the three models, then says NOTFOUND. */
static void assert_listing(struct sess *s)
{
	unsigned seen = 0;
	char name[64];
	for (uint32_t i = 0; i < FIXTURE_NMODELS; i++) {
		ck_assert_int_eq(dnnq_model_name(s->c, i, name, sizeof name), FIXTURE_NMODELS);
		for (int m = 0; m < FIXTURE_NMODELS; m++)
			seen |= !strcmp(name, fixture_model_name(m)) ? 1u << m : 0;
	}
	ck_assert_uint_eq(seen, FIXTURE_ALL_MODELS);
	ck_assert_int_eq(dnnq_model_name(s->c, FIXTURE_NMODELS, name, sizeof name), DNNQ_E_NOTFOUND);
}

START_TEST(serve_errors)
{
	char max[32];
	const char *const extra[] = { "--max-session-bytes", max, NULL };
	const struct dnnq_connect_opts small = { .arena_bytes = 8 << 20 },
		huge = { .arena_bytes = (uint64_t)2 * MAX_SESSION_MIB << 20 };
	struct fixture_daemon d;
	struct sess s;
	struct dnnq_client *big;
	struct dnnq_model *m;
	snprintf(max, sizeof max, "%u", MAX_SESSION_MIB << 20);
	start(&d, extra);
	assert_sess_open(&s, &d, &small);
	ck_assert_int_eq(dnnq_model_open(s.c, "no-such-model", &m), DNNQ_E_NOTFOUND);
	ck_assert_int_eq(dnnq_connect(d.socket, &huge, &big), DNNQ_E_NOMEM);
	assert_listing(&s);
	bad_relu64_requests(&s);
	bad_multi_requests(&s);
	bad_local_calls(&s);
	sess_close(&s);
	stop(&d);
}
END_TEST

/* ---- dnnqctl --------------------------------------------------------------- */

/* Runs `dnnqctl --socket SOCKET args...`; its stdout into out; the wait
 * status (its stderr stays the test's). test_ctlreload.c uses it too. */
int serve_run_ctl(const struct fixture_daemon *d, const char *const *args, char *out,
                  size_t len)
{
	const char *bin = fixture_binary("DNNQ_DNNQCTL", "dnnqctl");
	const char *argv[16] = { bin, "--socket", d->socket };
	int n = 3;
	ck_assert_msg(bin, "no dnnqctl: set DNNQ_DNNQCTL to the binary (make check does)");
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	return test_run_as(argv, -1, out, len);
}

static void assert_ctl_ok(const struct fixture_daemon *d, const char *const *args, char *out,
                          size_t len)
{
	int status = serve_run_ctl(d, args, out, len);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "dnnqctl %s: wait status %#x; stdout: %s", args[0], status, out);
}

static void assert_ctl_status(const struct fixture_daemon *d)
{
	char out[4096], pid[64];
	assert_ctl_ok(d, (const char *[]){ "status", "--json", NULL }, out, sizeof out);
	snprintf(pid, sizeof pid, "\"pid\":%d,", (int)d->pid);
	ck_assert_msg(out[0] == '{' && strstr(out, pid) && strstr(out, "\"models\":3"),
	              "status --json: %s", out);
	ck_assert_str_eq(out + strlen(out) - 2, "}\n");
	assert_ctl_ok(d, (const char *[]){ "status", NULL }, out, sizeof out);
	snprintf(pid, sizeof pid, "pid %d", (int)d->pid);
	ck_assert_msg(strstr(out, pid), "status: %s", out);
	/* the count holds dnnqctl's own session, and says so (an idle daemon
	 * showed "sessions 1", a client the operator could not find) */
	ck_assert_msg(strstr(out, " (this dnnqctl's among them)\n  models        3\n"),
	              "status: %s", out);
}

/* Every model, with its inputs and outputs by name. */
static void assert_ctl_models(const struct fixture_daemon *d)
{
	static const char *const names[] = { "relu64", "fc1024", "multi", "logits", "prob" };
	char out[16384], quoted[80];
	assert_ctl_ok(d, (const char *[]){ "models", NULL }, out, sizeof out);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		ck_assert_msg(strstr(out, names[i]), "models: no %s in: %s", names[i], out);
	assert_ctl_ok(d, (const char *[]){ "models", "--json", NULL }, out, sizeof out);
	ck_assert_msg(!strncmp(out, "{\"models\":[", 11), "models --json: %s", out);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(quoted, sizeof quoted, "\"%s\"", names[i]);
		ck_assert_msg(strstr(out, quoted), "models --json: no %s in: %s", quoted, out);
	}
}

/* A .npy file of the output `name` in dir equals want (dtype, shape, bytes). */
static void assert_npy_eq(const char *dir, const char *name, enum dnnq_dtype dt,
                          const size_t *shape, unsigned ndim, const void *want, size_t bytes)
{
	char path[512];
	void *buf;
	struct dnnq_npy a;
	struct dnnq_diag diag = { "" };
	snprintf(path, sizeof path, "%s/%s.npy", dir, name);
	ck_assert_msg(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &diag) == 0, "%s", diag.msg);
	ck_assert_int_eq(a.dtype, dt);
	ck_assert_uint_eq(a.ndim, ndim);
	ck_assert_mem_eq(a.shape, shape, ndim * sizeof *shape);
	ck_assert_uint_eq(a.nbytes, bytes);
	ck_assert_mem_eq(a.data, want, bytes);
	free(buf);
}

/* multi on two .npy inputs (batch 2): its outputs are the engine's. */
static void assert_ctl_infer(const struct fixture_daemon *d)
{
	enum { B = 2 };
	static const size_t in_shape[4] = { B, 6, 6, 4 }, out_shape[2] = { B, 10 };
	uint8_t a[B * 144], b[B * 144], logits[B * 10];
	float prob[B * 10];
	char pa[400], pb[400], outdir[400], ia[420], ib[420], out[4096];
	struct fixture_ref *ref;
	struct dnnq_diag diag = { "" };
	struct rng r = { 77 };
	for (size_t i = 0; i < sizeof a; i++) {
		a[i] = (uint8_t)rng_next(&r);
		b[i] = (uint8_t)rng_next(&r);
	}
	ck_assert_int_eq(fixture_ref_create(FIXTURE_MULTI, &ref, &diag), 0);
	ck_assert_int_eq(fixture_ref_run(ref, B, (const void *[]){ a, b }, (void *[]){ logits, prob }), 0);
	fixture_ref_destroy(ref);
	snprintf(pa, sizeof pa, "%s/a.npy", d->dir);
	snprintf(pb, sizeof pb, "%s/b.npy", d->dir);
	snprintf(outdir, sizeof outdir, "%s/out", d->dir);
	ck_assert_int_eq(mkdir(outdir, 0755), 0);
	ck_assert_int_eq(dnnq_npy_write_file(pa, DNNQ_DTYPE_U8, in_shape, 4, a, &diag), 0);
	ck_assert_int_eq(dnnq_npy_write_file(pb, DNNQ_DTYPE_U8, in_shape, 4, b, &diag), 0);
	snprintf(ia, sizeof ia, "a=%s", pa);
	snprintf(ib, sizeof ib, "b=%s", pb);
	assert_ctl_ok(d, (const char *[]){ "infer", "multi", "--input", ia, "--input", ib,
	                                   "--output-dir", outdir, NULL }, out, sizeof out);
	assert_npy_eq(outdir, "logits", DNNQ_DTYPE_U8, out_shape, 2, logits, sizeof logits);
	assert_npy_eq(outdir, "prob", DNNQ_DTYPE_F32, out_shape, 2, prob, sizeof prob);
	/* an unknown model fails, with a non-zero exit status */
	int status = serve_run_ctl(d, (const char *[]){ "infer", "no-such-model", "--input", ia,
	                                          "--output-dir", outdir, NULL }, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "wait status %#x", status);
	/* a file without its input's name, to a model of two inputs: name them */
	const char *argv[] = { "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
	                       fixture_binary("DNNQ_DNNQCTL", "dnnqctl"), "--socket", d->socket,
	                       "infer", "multi", "--input", pa, NULL };
	status = test_run_as(argv, -1, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "wait status %#x", status);
	ck_assert_msg(strstr(out, "dnnqctl: infer: model 'multi' has 2 inputs: name each file"
	                          " (--input a=FILE)\n"), "%s", out);
}

START_TEST(serve_dnnqctl)
{
	struct fixture_daemon d;
	start(&d, NULL);
	assert_ctl_status(&d);
	assert_ctl_models(&d);
	assert_ctl_infer(&d);
	stop(&d);
}
END_TEST

/* dnnqctl bench whose sessions the daemon refuses (8 MiB of fc1024
 * tensors over --max-session-bytes 4MiB): the daemon's reason, from the
 * thread that connected, and no report of zeros. */
START_TEST(serve_dnnqctl_bench_refused)
{
	struct fixture_daemon d;
	char out[4096];
	start(&d, (const char *[]){ "--max-session-bytes", "4MiB", NULL });
	const char *argv[] = { "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
	                       fixture_binary("DNNQ_DNNQCTL", "dnnqctl"), "--socket", d.socket,
	                       "bench", "fc1024", "--batch", "64", "--async", "64", NULL };
	int status = test_run_as(argv, -1, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "wait status %#x", status);
	ck_assert_msg(!strncmp(out, "dnnqctl: bench: dnnqd at ", 25) &&
	              strstr(out, " is over the daemon's limit of 4194304 bytes"
	                          " (limits.max_session_bytes, --max-session-bytes)") &&
	              !strstr(out, "requests"), "%s", out);
	stop(&d);
}
END_TEST

/* A $DNNQ_SOCKET in dnnqd's environment naming another path (exported for
 * the clients, dnnqd then run by hand from that shell): dnnqd, which does
 * not follow it, says the clients will not find it. */
START_TEST(serve_dnnq_socket_elsewhere)
{
	struct fixture_daemon d;
	ck_assert_int_eq(setenv("DNNQ_SOCKET", "/tmp/dnnq-elsewhere.sock", 1), 0);
	start(&d, NULL);
	ck_assert_int_eq(unsetenv("DNNQ_SOCKET"), 0);
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);	/* the log whole */
	unsigned n = fixture_daemon_log_count(&d, "$DNNQ_SOCKET is /tmp/dnnq-elsewhere.sock, not"
	                                          " this socket: clients that follow it will not"
	                                          " find dnnqd");
	fixture_daemon_destroy(&d);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* A client that closes its session and connects again at once, under a
 * --max-bytes-per-uid with room for one region: the closed session's
 * bytes count until a reap frees it, after a grace period that a worker
 * woken by the close may hold past the new HELLO. That HELLO was refused
 * DNNQ_E_NOMEM ('uid 0 holds 67207168 bytes of regions'), from Python a
 * quarter of 300 reconnects; it now waits for the reap (the tick). */
START_TEST(serve_reconnect_within_bytes_quota)
{
	struct fixture_daemon d;
	const char *const extra[] = { "--max-bytes-per-uid", "100000000", NULL };
	start(&d, extra);
	for (int i = 0; i < 200; i++) {
		struct dnnq_client *c;
		int rc = dnnq_connect(d.socket, NULL, &c);
		ck_assert_msg(rc == 0, "reconnect %d: %s: %s", i, dnnq_strerror(rc),
		              dnnq_last_error());
		dnnq_close(c);
	}
	stop(&d);
}
END_TEST

Suite *suite_serve(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("serve");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, serve_fixture_models);
	tcase_add_test(tc, serve_results_equal_engine);
	tcase_add_test(tc, serve_f32_conversions);
	tcase_add_test(tc, serve_threads_of_one_client);
	tcase_add_test(tc, serve_processes_at_once);
	tcase_add_test(tc, serve_async_in_flight);
	tcase_add_test(tc, serve_default_slots_under_max_inflight);
	tcase_add_test(tc, serve_client_killed);
	tcase_add_test(tc, serve_daemon_killed);
	tcase_add_test(tc, serve_errors);
	tcase_add_test(tc, serve_dnnqctl);
	tcase_add_test(tc, serve_dnnqctl_bench_refused);
	tcase_add_test(tc, serve_dnnq_socket_elsewhere);
	tcase_add_test(tc, serve_reconnect_within_bytes_quota);
	suite_add_tcase(s, tc);
	return s;
}
