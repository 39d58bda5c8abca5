/*
 * dnnqd's logic without the binary (daemon/): the command line and CPU
 * lists; the model registry and its wire description; a request matched
 * against its model (each rule rejected with its code and field) and run
 * on a worker's graph, zero-copy or converted, with hostile F32 values;
 * QSBR's grace rule; the control protocol over a socketpair (every
 * malformed message, refusals, a session whose memfd is sealed); a
 * request served end to end by a real worker through the region; the
 * listening socket's stale-file rules. The tests that start dnnqd itself
 * are tests/test_serve.c's.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "daemon/qsbr.h"
#include "daemon/request.h"
#include "daemon/reserve.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/worker.h"
#include "engine/quant.h"
#include "tests/rng.h"
#include "tests/suites.h"

enum { MAX_BATCH = 8, RELU = 0, PAIR = 1 };

static const struct dnnq_qparams qx = { 0.05f, 128, 8, false };
static const struct dnnq_qparams qy = { 0.05f, 0, 8, false };
static const struct dnnq_qparams qsum = { 0.1f, 20, 8, false };

static void expect_msg(const char *msg, const char *part)
{
	ck_assert_msg(strstr(msg, part), "'%s' does not say '%s'", msg, part);
}

/* ---- models built in memory ---------------------------------------------- */

static struct dnnq_model_node *node(struct dnnq_model *m, size_t j, enum dnnq_node_kind kind,
                                    const char *name, struct dnnq_qparams out)
{
	struct dnnq_model_node *n = &m->nodes[j];
	dnnq_model_node_init(n, kind, name);
	n->out_dtype = DNNQ_DTYPE_U8;
	n->out_scale = out.scale;
	n->out_zero_point = out.zero_point;
	n->out_precision = out.precision;
	n->out_signed = out.is_signed;
	return n;
}

static void set_io(struct dnnq_model_io *dst, const char *name, enum dnnq_dtype dt,
                   int64_t features, struct dnnq_qparams qp, int32_t value)
{
	*dst = (struct dnnq_model_io){ .dtype = dt, .ndim = 2, .dims = { 1, features },
	                               .qp = dt == DNNQ_DTYPE_U8 ? qp : (struct dnnq_qparams){ 0 },
	                               .value = value };
	snprintf(dst->name, sizeof dst->name, "%s", name);
}

/* n inputs, n outputs and n nodes, to be filled in */
static void model_alloc(struct dnnq_model *m, size_t n)
{
	memset(m, 0, sizeof *m);
	m->ninputs = m->noutputs = m->nnodes = n;
	m->inputs = calloc(n, sizeof *m->inputs);
	m->outputs = calloc(n, sizeof *m->outputs);
	m->nodes = calloc(n, sizeof *m->nodes);
	ck_assert(m->inputs && m->outputs && m->nodes);
}

/* relu: x u8 [N, 64] -> Relu -> y u8 [N, 64] */
static void make_relu(struct dnnq_model *m)
{
	model_alloc(m, 1);
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 64, qx, 0);
	struct dnnq_model_node *n = node(m, 0, DNNQ_NODE_ACTIVATION, "relu", qy);
	n->ninputs = 1;
	n->op = DNNQ_ACT_RELU;
	set_io(&m->outputs[0], "y", DNNQ_DTYPE_U8, 64, qy, 1);
}

/* pair: a, b u8 [N, 8] -> Add -> sum u8 [N, 8] -> Softmax -> prob f32 [N, 8] */
static void make_pair(struct dnnq_model *m)
{
	model_alloc(m, 2);
	set_io(&m->inputs[0], "a", DNNQ_DTYPE_U8, 8, qx, 0);
	set_io(&m->inputs[1], "b", DNNQ_DTYPE_U8, 8, qy, 0);
	struct dnnq_model_node *n = node(m, 0, DNNQ_NODE_ELTWISE, "add", qsum);
	n->ninputs = 2;
	n->inputs[1] = 1;
	n->op = DNNQ_ELTWISE_ADD;
	n = node(m, 1, DNNQ_NODE_SOFTMAX, "softmax", qsum);
	n->ninputs = 1;
	n->inputs[0] = 2;
	set_io(&m->outputs[0], "sum", DNNQ_DTYPE_U8, 8, qsum, 2);
	set_io(&m->outputs[1], "prob", DNNQ_DTYPE_F32, 8, qsum, 3);
}

static void write_model(void (*make)(struct dnnq_model *), void **buf, size_t *len)
{
	struct dnnq_model m;
	struct dnnq_diag d;
	make(&m);
	ck_assert_msg(dnnq_model_write(&m, buf, len, &d) == 0, "%s", d.msg);
	dnnq_model_free(&m);
}

static void add_model(struct dnnqd_models *ms, const char *name, void (*make)(struct dnnq_model *))
{
	void *buf;
	size_t len;
	struct dnnq_diag d = { "" };
	write_model(make, &buf, &len);
	ck_assert_msg(dnnqd_models_add(ms, name, buf, len, MAX_BATCH, &d) == 0, "%s", d.msg);
	free(buf);
}

/* "relu" (id 0) and "pair" (id 1), with one worker's graphs */
static struct dnnqd_models *models_make(void)
{
	struct dnnqd_models *ms = dnnqd_models_new(1);
	ck_assert_ptr_nonnull(ms);
	add_model(ms, "relu", make_relu);
	add_model(ms, "pair", make_pair);
	return ms;
}

/* ---- requests -------------------------------------------------------------- */

static void set_bytes(struct dnnq_shm_tensor *t)
{
	t->bytes = dnnq_shm_dtype_size(t->dtype);
	for (uint32_t k = 0; k < t->rank; k++)
		t->bytes *= (uint64_t)t->dims[k];
}

/* A request for model id with the signature's dtypes, tensors laid out one
 * after another from arena offset 0, 64-aligned. */
static void request_for(const struct dnnqd_models *ms, uint32_t id, uint32_t batch,
                        struct dnnq_shm_request *r)
{
	const struct dnnqd_model *m = ms->m[id];
	memset(r, 0, sizeof *r);
	r->model_id = id;
	r->model_gen = m->generation;
	r->batch = batch;
	r->n_inputs = m->n_inputs;
	r->n_outputs = m->n_outputs;
	uint64_t off = 0;
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		struct dnnq_shm_tensor *t = &r->t[i];
		t->dtype = m->io[i].dtype;
		t->rank = m->io[i].rank;
		memcpy(t->dims, m->io[i].dims, sizeof t->dims);
		t->dims[0] = batch;
		set_bytes(t);
		t->offset = off;
		off = (off + t->bytes + 63) & ~(uint64_t)63;
	}
}

/* Tensor i becomes F32 (where the model has U8) at a fresh offset. */
static void as_f32(struct dnnq_shm_request *r, unsigned i, uint64_t offset)
{
	r->t[i].dtype = DNNQ_SHM_DTYPE_F32;
	r->t[i].offset = offset;
	set_bytes(&r->t[i]);
}

static void expect_check(const struct dnnqd_models *ms, const struct dnnq_shm_request *r,
                         int code, const char *part)
{
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnqd_request_check(ms, r, &d), code);
	if (part)
		expect_msg(d.msg, part);
}

START_TEST(request_accepted)
{
	struct dnnqd_models *ms;
	struct dnnq_shm_request r;
	ms = models_make();
	for (uint32_t b = 1; b <= MAX_BATCH; b += MAX_BATCH - 1) {
		request_for(ms, PAIR, b, &r);
		expect_check(ms, &r, 0, NULL);
	}
	/* inputs may share memory: only outputs are written */
	r.t[1].offset = r.t[0].offset;
	expect_check(ms, &r, 0, NULL);
	/* F32 where the model has U8, inputs and outputs */
	request_for(ms, PAIR, 2, &r);
	as_f32(&r, 0, 8192);
	as_f32(&r, 2, 16384);
	expect_check(ms, &r, 0, NULL);
	dnnqd_models_free(ms);
}
END_TEST

START_TEST(request_rules_rejected)
{
	struct dnnqd_models *ms;
	struct dnnq_shm_request r;
	ms = models_make();
	static const struct {
		size_t field;   /* offsetof in the request; its value becomes `value` */
		uint32_t value;
		int code;
		const char *part;
	} rules[] = {
		{ offsetof(struct dnnq_shm_request, model_id), 2, DNNQ_E_RANGE, "model_id 2" },
		{ offsetof(struct dnnq_shm_request, model_gen), 2, DNNQ_E_MODEL_CHANGED, "model_gen 2" },
		{ offsetof(struct dnnq_shm_request, n_inputs), 1, DNNQ_E_INVAL, "n_inputs 1" },
		{ offsetof(struct dnnq_shm_request, n_outputs), 1, DNNQ_E_INVAL, "n_outputs 1" },
		{ offsetof(struct dnnq_shm_request, batch), 0, DNNQ_E_RANGE, "batch 0" },
		{ offsetof(struct dnnq_shm_request, batch), MAX_BATCH + 1, DNNQ_E_RANGE, "batch 9" },
		{ offsetof(struct dnnq_shm_request, t[1].rank), 3, DNNQ_E_SHAPE, "tensor[1].rank 3" },
		{ offsetof(struct dnnq_shm_request, t[0].dtype), DNNQ_SHM_DTYPE_S8, DNNQ_E_DTYPE,
		  "tensor[0].dtype 2" },
		/* U8 where the model gives F32: no conversion that way */
		{ offsetof(struct dnnq_shm_request, t[3].dtype), DNNQ_SHM_DTYPE_U8, DNNQ_E_DTYPE,
		  "tensor[3].dtype 1" },
	};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		request_for(ms, PAIR, 2, &r);
		memcpy((char *)&r + rules[i].field, &rules[i].value, sizeof rules[i].value);
		expect_check(ms, &r, rules[i].code, rules[i].part);
	}
	request_for(ms, PAIR, 2, &r);
	r.t[2].dims[0] = 3;
	expect_check(ms, &r, DNNQ_E_SHAPE, "tensor[2].dims[0] 3");
	request_for(ms, PAIR, 2, &r);
	r.t[1].dims[1] = 9;
	expect_check(ms, &r, DNNQ_E_SHAPE, "tensor[1].dims[1] 9");
	dnnqd_models_free(ms);
}
END_TEST

START_TEST(request_overlaps_rejected)
{
	struct dnnqd_models *ms;
	struct dnnq_shm_request r;
	ms = models_make();
	request_for(ms, PAIR, 1, &r);
	r.t[2].offset = r.t[1].offset;          /* output over an input */
	expect_check(ms, &r, DNNQ_E_INVAL, "tensor[2]: an output overlapping tensor[1]");
	request_for(ms, PAIR, 1, &r);
	r.t[3].offset = r.t[2].offset;          /* two outputs in one place */
	expect_check(ms, &r, DNNQ_E_INVAL, "tensor[3]: an output overlapping tensor[2]");
	/* touching is not overlapping */
	request_for(ms, PAIR, 1, &r);
	r.t[3].offset = r.t[2].offset + r.t[2].bytes;
	expect_check(ms, &r, 0, NULL);
	dnnqd_models_free(ms);
}
END_TEST

/* ---- running on a worker's graphs ------------------------------------------ */

/* The answer: the same model built on its own, run at `batch`. */
static void reference(const struct dnnqd_models *ms, uint32_t id, uint32_t batch,
                      const void *const *in, void *const *out)
{
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_model_build(&ms->m[id]->parsed, DNNQ_ISA_SCALAR, &g, &d), 0);
	ck_assert_int_eq(dnnq_graph_plan(g, batch, 1, &d), 0);
	ck_assert_int_eq(dnnq_graph_run(g, in, out, NULL), 0);
	dnnq_graph_destroy(g);
}

static uint8_t *arena_new(void)
{
	uint8_t *a = aligned_alloc(4096, 1 << 20);
	ck_assert_ptr_nonnull(a);
	memset(a, 0, 1 << 20);
	return a;
}

static void fill_u8(uint8_t *p, size_t n, uint64_t seed)
{
	struct rng r = { seed };
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next(&r);
}

/* A worker's runner over both models, and an arena. */
struct run_fix {
	struct dnnqd_models *ms;
	struct dnnqd_runner run;
	uint8_t *arena;
};

static void runner_up(struct run_fix *f)
{
	f->ms = models_make();
	dnnqd_runner_init(&f->run, 0);
	f->arena = arena_new();
}

static void runner_down(struct run_fix *f)
{
	free(f->arena);
	dnnqd_runner_destroy(&f->run);
	dnnqd_models_free(f->ms);
}

START_TEST(runner_zero_copy_matches_reference)
{
	struct run_fix f;
	struct dnnq_shm_request r;
	runner_up(&f);
	uint8_t *arena = f.arena;
	static uint8_t want_sum[MAX_BATCH * 8];
	static float want_prob[MAX_BATCH * 8];
	/* batch changes re-plan the worker's graph */
	static const uint32_t batches[] = { 3, 1, MAX_BATCH };
	for (unsigned k = 0; k < 3; k++) {
		uint32_t batch = batches[k];
		request_for(f.ms, PAIR, batch, &r);
		fill_u8(arena + r.t[0].offset, r.t[0].bytes, batch);
		fill_u8(arena + r.t[1].offset, r.t[1].bytes, batch + 100);
		uint64_t copied = 0;
		ck_assert_int_eq(dnnqd_runner_run(&f.run, f.ms, arena, &r, &copied), 0);
		ck_assert_uint_eq(copied, 0);
		const void *in[] = { arena + r.t[0].offset, arena + r.t[1].offset };
		void *out[] = { want_sum, want_prob };
		reference(f.ms, PAIR, batch, in, out);
		ck_assert_mem_eq(arena + r.t[2].offset, want_sum, r.t[2].bytes);
		ck_assert_mem_eq(arena + r.t[3].offset, want_prob, r.t[3].bytes);
	}
	runner_down(&f);
}
END_TEST

/* F32 where the model has U8: quantized in, dequantized out, counted;
 * NaN and infinities from a client are just values. */
START_TEST(runner_converts_f32_and_counts)
{
	struct run_fix f;
	struct dnnq_shm_request r;
	runner_up(&f);
	uint8_t *arena = f.arena;
	enum { B = 2, N = B * 64 };
	request_for(f.ms, RELU, B, &r);
	as_f32(&r, 0, 65536);
	as_f32(&r, 1, 131072);
	float *x = (float *)(void *)(arena + r.t[0].offset);
	struct rng g = { 5 };
	for (int i = 0; i < N; i++)
		x[i] = (float)rng_uniform(&g, -8, 8);
	x[0] = NAN;
	x[1] = INFINITY;
	x[2] = -INFINITY;
	x[3] = 3e38f;
	x[4] = -NAN;
	uint64_t copied = 0;
	ck_assert_int_eq(dnnqd_runner_run(&f.run, f.ms, arena, &r, &copied), 0);
	ck_assert_uint_eq(copied, r.t[0].bytes + r.t[1].bytes);
	uint8_t q[N], yq[N];
	float want[N];
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, x, q, DNNQ_DTYPE_U8, N, &qx), 0);
	const void *in[] = { q };
	void *out[] = { yq };
	reference(f.ms, RELU, B, in, out);
	ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, yq, DNNQ_DTYPE_U8, want, N, &qy), 0);
	ck_assert_mem_eq(arena + r.t[1].offset, want, sizeof want);
	runner_down(&f);
}
END_TEST

/* ---- the model registry ----------------------------------------------------- */

START_TEST(models_describe_signature)
{
	struct dnnqd_models *ms;
	struct dnnq_msg_model w;
	ms = models_make();
	dnnqd_model_describe(ms, PAIR, &w);
	ck_assert_uint_eq(w.model_id, PAIR);
	ck_assert_uint_eq(w.generation, 1);
	ck_assert_uint_eq(w.n_inputs, 2);
	ck_assert_uint_eq(w.n_outputs, 2);
	ck_assert_uint_eq(w.max_batch, MAX_BATCH);
	ck_assert_uint_eq(w.n_models, 2);
	ck_assert_str_eq(w.name, "pair");
	static const char *const names[] = { "a", "b", "sum", "prob" };
	for (int i = 0; i < 4; i++) {
		ck_assert_str_eq(w.t[i].name, names[i]);
		ck_assert_uint_eq(w.t[i].rank, 2);
		ck_assert_int_eq(w.t[i].dims[0], 1);
		ck_assert_int_eq(w.t[i].dims[1], 8);
	}
	ck_assert_uint_eq(w.t[2].dtype, DNNQ_SHM_DTYPE_U8);
	ck_assert_float_eq(w.t[2].scale, qsum.scale);
	ck_assert_int_eq(w.t[2].zero_point, qsum.zero_point);
	ck_assert_uint_eq(w.t[3].dtype, DNNQ_SHM_DTYPE_F32);
	ck_assert_int_eq(dnnqd_models_find(ms, "relu"), RELU);
	ck_assert_int_eq(dnnqd_models_find(ms, "nope"), -1);
	dnnqd_models_free(ms);
}
END_TEST

START_TEST(models_bad_input_named)
{
	struct dnnqd_models *ms;
	struct dnnq_diag d = { "" };
	ms = models_make();
	void *buf;
	size_t len;
	write_model(make_relu, &buf, &len);
	ck_assert_int_eq(dnnqd_models_add(ms, "relu", buf, len, MAX_BATCH, &d), DNNQ_E_INVAL);
	expect_msg(d.msg, "'relu': used twice");
	((uint8_t *)buf)[len / 2] ^= 0x40;
	ck_assert_int_ne(dnnqd_models_add(ms, "flipped", buf, len, MAX_BATCH, &d), 0);
	char dir[] = "/tmp/dnnq-test-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/m.dnnq", dir);
	ck_assert_int_eq(dnnqd_models_load(ms, "gone", path, MAX_BATCH, &d), DNNQ_E_IO);
	expect_msg(d.msg, "m.dnnq: cannot stat");
	FILE *f = fopen(path, "wb");
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	ck_assert_int_ne(dnnqd_models_load(ms, "flipped", path, MAX_BATCH, &d), 0);
	ck_assert_msg(!strncmp(d.msg, path, strlen(path)) && d.msg[strlen(path)] == ':',
	              "'%s' does not start with the path", d.msg);
	ck_assert_uint_eq(ms->n, 2);
	unlink(path);
	rmdir(dir);
	free(buf);
	dnnqd_models_free(ms);
}
END_TEST

/* A signature that lies about the graph (the output's scale here). */
static void make_lying_relu(struct dnnq_model *m)
{
	make_relu(m);
	m->outputs[0].qp.scale *= 2;
}

START_TEST(models_signature_must_match_graph)
{
	struct dnnqd_models *ms = dnnqd_models_new(1);
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	write_model(make_lying_relu, &buf, &len);
	ck_assert_int_eq(dnnqd_models_add(ms, "liar", buf, len, MAX_BATCH, &d), DNNQ_E_FORMAT);
	expect_msg(d.msg, "'y': the signature does not match");
	ck_assert_uint_eq(ms->n, 0);
	free(buf);
	dnnqd_models_free(ms);
}
END_TEST

/* ---- QSBR ------------------------------------------------------------------ */

/* The gaps word after each of these gaps (ms), oldest first. */
static uint64_t gaps_of(const unsigned *ms, unsigned n)
{
	uint64_t g = 0;
	for (unsigned i = 0; i < n; i++)
		g = dnnqd_reserve_note(g, (uint64_t)ms[i] * 1000000);
	return g;
}

/* The reserve's window (reserve.h): 3/2 of a session's upper-median gap
 * when that fits under the cap, else the 10 ms floor. */
START_TEST(reserve_window)
{
	const uint64_t ms = 1000000, cap = 100 * ms, floor = DNNQD_RESERVE_MIN_NS;
	static const unsigned steady[] = { 31, 31, 31, 31 }, burst[] = { 31, 31, 31, 0 },
	                      one_long[] = { 31, 900, 31, 31 }, two_long[] = { 31, 900, 31, 900 },
	                      fast[] = { 4, 4, 4, 4 }, idle[] = { 10000, 10000, 10000, 10000 },
	                      old_long[] = { 900, 900, 900, 31, 31, 31, 31 },
	                      young[] = { 31 }, two[] = { 31, 31 };
	/* no gaps yet (a new session), or one: the floor */
	ck_assert_uint_eq(dnnqd_reserve_window(0, cap), floor);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(young, 1), cap), floor);
	/* a steady 32 ms cadence: ~46.5 ms (gaps in 65.5 µs units, rounded down) */
	uint64_t w = dnnqd_reserve_window(gaps_of(steady, 4), cap);
	ck_assert_uint_gt(w, 46 * ms);
	ck_assert_uint_le(w, 46500 * 1000);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(two, 2), cap), w);
	/* one short gap (a burst) or one long one (a pause) changes nothing */
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(burst, 4), cap), w);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(one_long, 4), cap), w);
	/* half of them past the cap: the floor, not the cap */
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(two_long, 4), cap), floor);
	/* ... unless the cap takes them in */
	w = dnnqd_reserve_window(gaps_of(two_long, 4), 2000 * ms);
	ck_assert_uint_gt(w, 1349 * ms);
	ck_assert_uint_le(w, 1350 * ms);
	w = dnnqd_reserve_window(gaps_of(steady, 4), cap);
	/* only the last four count */
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(old_long, 7), cap), w);
	/* a cadence the floor covers; gaps past 4.3 s saturate, cap or no cap */
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(fast, 4), cap), floor);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(idle, 4), cap), floor);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(idle, 4), UINT64_MAX),
	                  ((uint64_t)0xffff << DNNQD_RESERVE_UNIT_SHIFT) * 3 / 2);
	/* a cap of 0 (a daemon not told one) or at the floor: always the floor */
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(steady, 4), 0), floor);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(steady, 4), floor), floor);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(steady, 4), w), w);
	ck_assert_uint_eq(dnnqd_reserve_window(gaps_of(steady, 4), w - 1), floor);
	/* active within the window after the end; an end stamped after the
	 * worker read the clock (the tick between) is active, not 2^64 ago */
	const uint64_t now = 5000 * ms, g = gaps_of(steady, 4);
	ck_assert(dnnqd_reserve_active(now, now - 46 * ms, g, cap));
	ck_assert(!dnnqd_reserve_active(now, now - 47 * ms, g, cap));
	ck_assert(!dnnqd_reserve_active(now, now - 11 * ms, 0, cap));
	ck_assert(dnnqd_reserve_active(now, now, 0, cap));
	ck_assert(dnnqd_reserve_active(now, now + 4 * ms, 0, cap));
	ck_assert(dnnqd_reserve_active(now, now + 4 * ms, g, cap));
	/* a session none of whose requests has ended yet: not by its window */
	ck_assert(!dnnqd_reserve_active(5 * ms, 0, 0, cap));
}
END_TEST

START_TEST(qsbr_grace_rules)
{
	struct dnnqd_qsbr r;
	dnnqd_qsbr_init(&r);
	ck_assert(dnnqd_qsbr_passed(&r, dnnqd_qsbr_snapshot(&r)));   /* offline */
	dnnqd_qsbr_online(&r);
	uint64_t s = dnnqd_qsbr_snapshot(&r);
	ck_assert(!dnnqd_qsbr_passed(&r, s));                        /* may hold it */
	dnnqd_qsbr_quiescent(&r);
	ck_assert(dnnqd_qsbr_passed(&r, s));
	s = dnnqd_qsbr_snapshot(&r);
	dnnqd_qsbr_offline(&r);
	ck_assert(dnnqd_qsbr_passed(&r, s));
	dnnqd_qsbr_online(&r);
	ck_assert(dnnqd_qsbr_passed(&r, s));
}
END_TEST

/* The watchdog's look at the workers (no clock: the times are given): one
 * asleep waiting for work (QSBR-offline, an odd epoch) lives however long
 * it sleeps; one whose epoch stands still while online (stuck in a
 * request, no node begun either) stops the pings once the window has
 * passed, while one whose nodes go on lives (attack45: before, one long
 * request stopped them, and systemd killed dnnqd) (before: an idle
 * worker, whose epoch moves every 100 ms, stopped them under
 * WatchdogSec=50ms, and systemd killed an idle daemon). */
START_TEST(watchdog_sleeping_worker_lives)
{
	const uint64_t win = 50000000, t0 = 1000;
	struct dnnqd d;
	memset(&d, 0, sizeof d);
	d.nworkers = 2;
	d.workers = calloc(2, sizeof *d.workers);
	ck_assert_ptr_nonnull(d.workers);
	struct dnnqd_qsbr *q0 = &d.workers[0].qs, *q1 = &d.workers[1].qs;
	dnnqd_qsbr_init(q0);            /* asleep */
	dnnqd_qsbr_init(q1);
	dnnqd_qsbr_online(q1);          /* running */
	ck_assert(dnnqd_workers_alive(&d, t0, win));
	ck_assert(!dnnqd_workers_alive(&d, t0 + 2 * win, win));    /* worker 1 stuck */
	/* ... unless it is only in a long request: a node began since */
	dnnqd_runner_step(&d.workers[1].runner);
	ck_assert(dnnqd_workers_alive(&d, t0 + 2 * win, win));
	ck_assert(!dnnqd_workers_alive(&d, t0 + 4 * win, win));    /* and then no more */
	dnnqd_qsbr_quiescent(q1);
	dnnqd_qsbr_online(q0);          /* worker 0 woke from a sleep, and sleeps again */
	dnnqd_qsbr_offline(q0);
	ck_assert(dnnqd_workers_alive(&d, t0 + 5 * win, win));     /* worker 0 still asleep */
	dnnqd_qsbr_online(q0);
	dnnqd_qsbr_offline(q1);
	ck_assert(dnnqd_workers_alive(&d, t0 + 6 * win, win));
	ck_assert(!dnnqd_workers_alive(&d, t0 + 8 * win, win));    /* worker 0 stuck */
	/* both asleep again, and neither epoch moves after: sleeps end, so
	 * past two of them (DNNQD_IDLE_SLEEP_NS) a worker whose wake never
	 * came back fails */
	dnnqd_qsbr_offline(q0);
	dnnqd_qsbr_online(q1);
	dnnqd_qsbr_offline(q1);
	ck_assert(dnnqd_workers_alive(&d, t0 + 9 * win, win));
	ck_assert(dnnqd_workers_alive(&d, t0 + 9 * win + DNNQD_IDLE_SLEEP_NS, win));
	ck_assert(!dnnqd_workers_alive(&d, t0 + 9 * win + 2 * DNNQD_IDLE_SLEEP_NS, win));
	free(d.workers);
}
END_TEST

/* ---- the command line ------------------------------------------------------- */

static void expect_cpus_error(const char *list, const char *msg)
{
	cpu_set_t online;
	CPU_ZERO(&online);
	CPU_SET(0, &online);
	CPU_SET(1, &online);
	CPU_SET(4, &online);
	int *cpus = NULL;
	unsigned n = 0;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnqd_parse_cpus("--cpus", list, &online, &cpus, &n, &d), DNNQ_E_INVAL);
	ck_assert_str_eq(d.msg, msg);
	ck_assert_ptr_null(cpus);
}

START_TEST(cpu_lists)
{
	cpu_set_t online;
	CPU_ZERO(&online);
	for (int c = 0; c < 4; c++)
		CPU_SET(c, &online);
	int *cpus;
	unsigned n;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnqd_parse_cpus("--cpus", "3,0-1", &online, &cpus, &n, &d), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(cpus[0], 3);
	ck_assert_int_eq(cpus[1], 0);
	ck_assert_int_eq(cpus[2], 1);
	free(cpus);
	expect_cpus_error("7", "--cpus: '7': no such CPU (online: 0-1,4)");
	expect_cpus_error("0-3", "--cpus: '2': no such CPU (online: 0-1,4)");
	expect_cpus_error("0,1,0", "--cpus: '0': listed twice");
	expect_cpus_error("1-0", "--cpus: '1-0': range runs backwards");
	/* each number read as the numeric options' are: text is no number,
	 * a negative number or one past 2^64 no CPU */
	static const char *const text[] = { "", "x", "+1", "0x1", " 1", "1 ", "-0", "1-", "1-+4",
	                                    "1--0" };
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		char want[128];
		snprintf(want, sizeof want, "--cpus: '%s': must be a CPU or a range of them, digits "
		         "only (online: 0-1,4)", text[i]);
		expect_cpus_error(text[i], want);
	}
	expect_cpus_error("0,,1", "--cpus: '': must be a CPU or a range of them, digits only"
	                  " (online: 0-1,4)");
	static const char *const out[] = { "-1", "99999999999999999999", "-1-4", "0--4" };
	for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
		char want[128];
		snprintf(want, sizeof want, "--cpus: '%s': no such CPU (online: 0-1,4)", out[i]);
		expect_cpus_error(out[i], want);
	}
}
END_TEST

static int parse(struct dnnqd_options *o, struct dnnq_diag *d, const char *const *args)
{
	char *argv[32] = { "dnnqd" };
	int argc = 1;
	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return dnnqd_options_parse(o, argc, argv, d);
}

static void expect_args_error(const char *const *args, const char *msg)
{
	struct dnnqd_options o;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(parse(&o, &d, args), DNNQ_E_INVAL);
	ck_assert_str_eq(d.msg, msg);
	dnnqd_options_free(&o);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(arguments_rejected)
{
	expect_args_error(ARGS("--bogus"), "'--bogus': unknown option");
	expect_args_error(ARGS("--modle", "a=f"), "'--modle': unknown option: did you mean"
	                  " '--model'?");
	expect_args_error(ARGS("--max-bach=8"), "'--max-bach=8': unknown option: did you mean"
	                  " '--max-batch'?");
	expect_args_error(ARGS("--model", "m/digits.dnnq"), "--model: 'm/digits.dnnq': want"
	                  " NAME=FILE, the name clients open it by (--model digits=m/digits.dnnq)");
	expect_args_error(ARGS("--model"), "--model: needs a value");
	expect_args_error(ARGS("--config", ""), "--config: '': empty path");
	expect_args_error(ARGS("--model", "x"), "--model: 'x': want NAME=FILE");
	expect_args_error(ARGS("--model", "=f"), "--model: '=f': want NAME=FILE");
	expect_args_error(ARGS("--model", "a b=f"), "--model: 'a b': NAME may hold only letters,"
	                  " digits, '.', '_' and '-'");
	expect_args_error(ARGS("--model", "a=f", "--model=a=g"), "--model: 'a': NAME used twice");
	/* digits only, as the config's integers: the rest says so, with the
	 * range ("-0" was 'not a number') */
	static const char *const written[] = { "5x", "-0", "+5", "0x10", " 5", "5 ", "" };
	for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
		char want[96];
		snprintf(want, sizeof want, "--spin-us: '%s': must be 0..1000000, digits only",
		         written[i]);
		expect_args_error(ARGS("--spin-us", written[i]), want);
	}
	/* negative, or past 2^64: out of the range, not 'not a number' */
	expect_args_error(ARGS("--spin-us", "-5"), "--spin-us: '-5': must be 0..1000000");
	expect_args_error(ARGS("--max-batch", "-18446744073709551617"), "--max-batch: "
	                  "'-18446744073709551617': must be 1..65536");
	expect_args_error(ARGS("--max-batch", "18446744073709551616"), "--max-batch: "
	                  "'18446744073709551616': must be 1..65536");
	expect_args_error(ARGS("--max-clients=0"), "--max-clients: '0': must be 1..4096");
	expect_args_error(ARGS("--max-batch", "65537"), "--max-batch: '65537': must be 1..65536");
	expect_args_error(ARGS("--max-session-bytes", "100"), "--max-session-bytes: '100': must be"
	                  " 1 MiB..64 GiB");
	/* the config's range (limits.max_session_bytes): it took 4 KiB..1 TiB,
	 * 64 KiB and 65 GiB that the file refuses */
	expect_args_error(ARGS("--max-session-bytes", "64KiB"), "--max-session-bytes: '64KiB': must"
	                  " be 1 MiB..64 GiB");
	expect_args_error(ARGS("--max-session-bytes", "65GiB"), "--max-session-bytes: '65GiB': must"
	                  " be 1 MiB..64 GiB");
	/* the sizes and the ids read their numbers as the rest do (they said
	 * 'not a size', 'not a numeric id') */
	for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
		char want[160];
		snprintf(want, sizeof want, "--max-session-bytes: '%s': must be 1 MiB..64 GiB, "
		         "digits only or with B, KiB, MiB, GiB or TiB", written[i]);
		expect_args_error(ARGS("--max-session-bytes", written[i]), want);
		snprintf(want, sizeof want, "--allow-uid: '%s': must be 0..4294967294, digits only",
		         written[i]);
		expect_args_error(ARGS("--allow-uid", written[i]), want);
	}
	expect_args_error(ARGS("--max-session-bytes", "1MB"), "--max-session-bytes: '1MB': must be"
	                  " 1 MiB..64 GiB, digits only or with B, KiB, MiB, GiB or TiB");
	expect_args_error(ARGS("--max-bytes-per-uid", "-5MiB"), "--max-bytes-per-uid: '-5MiB': must"
	                  " be 1 MiB..1 TiB");
	expect_args_error(ARGS("--max-bytes-per-uid", "-0MiB"), "--max-bytes-per-uid: '-0MiB': must"
	                  " be 1 MiB..1 TiB, digits only or with B, KiB, MiB, GiB or TiB");
	expect_args_error(ARGS("--allow-uid", "0,bob"), "--allow-uid: 'bob': must be"
	                  " 0..4294967294, digits only");
	expect_args_error(ARGS("--allow-gid", "4294967295"), "--allow-gid: '4294967295': must be"
	                  " 0..4294967294");
	expect_args_error(ARGS("--allow-gid", "1,-5"), "--allow-gid: '-5': must be 0..4294967294");
	expect_args_error(ARGS("--log-level", "loud"), "--log-level: 'loud': want error, warn,"
	                  " info or debug");
	expect_args_error(ARGS("--help=1"), "--help: takes no value");
	expect_args_error(ARGS("dnnqd.yaml"), "'dnnqd.yaml': not an option (a config is --config"
	                  " FILE, a model --model NAME=FILE)");
	/* --check-config with an override it would not apply */
	expect_args_error(ARGS("--check-config", "c.yaml", "--max-batch", "8"), "--check-config FILE"
	                  " takes no other option: it checks FILE as --config FILE reads it, without"
	                  " the command line's overrides");
	expect_args_error(ARGS("--config=a.yaml", "--check-config", "c.yaml"), "--check-config FILE"
	                  " takes no other option: it checks FILE as --config FILE reads it, without"
	                  " the command line's overrides");
	char longpath[200];
	memset(longpath, 'p', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	struct dnnqd_options o;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(parse(&o, &d, ARGS("--socket", longpath)), DNNQ_E_INVAL);
	expect_msg(d.msg, "longer than 107 bytes");
	dnnqd_options_free(&o);
	ck_assert_int_eq(parse(&o, &d, ARGS("--cpus", "100000")), DNNQ_E_INVAL);
	expect_msg(d.msg, "--cpus: '100000': no such CPU (online: ");
	dnnqd_options_free(&o);
}
END_TEST

/* The settings: the default config with the command line over it. */
static void settings(const struct dnnqd_options *o, struct dnnq_config *c)
{
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnqd_settings_load(o, c, &d) == 0, "%s", d.msg);
}

START_TEST(arguments_defaults_and_values)
{
	struct dnnqd_options o;
	struct dnnq_config c;
	struct dnnqd_acl acl;
	struct dnnq_diag d = { "" };
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	ck_assert_msg(parse(&o, &d, ARGS("--model", "m=/f.dnnq")) == 0, "%s", d.msg);
	ck_assert_uint_eq(o.given, 0);
	ck_assert_uint_eq(o.nmodels, 1);
	settings(&o, &c);
	ck_assert_str_eq(c.listen.path, geteuid() ? "/run/user/1234/dnnq/dnnqd.sock"
	                                          : "/run/dnnq/dnnqd.sock");
	ck_assert_uint_eq(c.nmodels, 1);
	ck_assert_str_eq(c.models[0].name, "m");
	ck_assert_str_eq(c.models[0].path, "/f.dnnq");
	ck_assert_uint_eq(c.models[0].max_batch, 64);
	ck_assert(c.models[0].warmup);
	ck_assert_uint_eq(c.workers.spin_us, 50);
	ck_assert_uint_eq(c.limits.max_clients, 256);
	ck_assert_uint_eq(c.limits.max_session_bytes, (uint64_t)1 << 30);
	ck_assert_uint_eq(c.limits.max_batch, 64);
	ck_assert_int_eq(c.log_level, DNNQ_CONFIG_LOG_INFO);
	cpu_set_t online;
	ck_assert_int_eq(sched_getaffinity(0, sizeof online, &online), 0);
	ck_assert_uint_eq(c.workers.ncpus, (unsigned)CPU_COUNT(&online));
	ck_assert_int_eq(dnnqd_acl_from(&c, &acl), 0);
	ck_assert_uint_eq(acl.nuids, getuid() ? 2 : 1);
	ck_assert_uint_eq(acl.ngids, 0);
	dnnqd_acl_free(&acl);
	dnnq_config_free(&c);
	dnnqd_options_free(&o);
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_msg(parse(&o, &d, ARGS("--model", "a=1", "--model=b.2=2", "--cpus=0",
	                                 "--spin-us", "0", "--allow-uid", "7,8",
	                                 "--allow-gid=9", "--max-clients", "3",
	                                 "--max-session-bytes", "2MiB", "--max-batch", "2",
	                                 "--log-level", "debug")) == 0, "%s", d.msg);
	ck_assert_str_eq(o.models[1].name, "b.2");
	ck_assert_uint_eq(o.ncpus, 1);
	ck_assert_uint_eq(o.acl.uids[0], 7);
	ck_assert_uint_eq(o.acl.uids[1], 8);
	ck_assert_uint_eq(o.acl.gids[0], 9);
	settings(&o, &c);
	ck_assert_str_eq(c.listen.path, "/run/dnnq/dnnqd.sock");
	ck_assert_str_eq(c.models[1].name, "b.2");
	ck_assert_uint_eq(c.models[1].max_batch, 2);
	ck_assert_uint_eq(c.workers.ncpus, 1);
	ck_assert_int_eq(c.workers.cpus[0], 0);
	ck_assert_uint_eq(c.workers.spin_us, 0);
	ck_assert_uint_eq(c.access.nuids, 2);
	ck_assert_uint_eq(c.access.gids[0], 9);
	ck_assert_uint_eq(c.limits.max_clients, 3);
	ck_assert_uint_eq(c.limits.max_session_bytes, 2 << 20);
	ck_assert_uint_eq(c.limits.max_batch, 2);
	ck_assert_int_eq(c.log_level, DNNQ_CONFIG_LOG_DEBUG);
	dnnq_config_free(&c);
	dnnqd_options_free(&o);
	ck_assert_int_eq(parse(&o, &d, ARGS("--help", "--bogus-after-help")), DNNQ_E_INVAL);
	dnnqd_options_free(&o);
	ck_assert_int_eq(parse(&o, &d, ARGS("--version")), 0);
	ck_assert(o.version);
	dnnqd_options_free(&o);
}
END_TEST

/* ---- a daemon in this process, a client over a socketpair ------------------- */

struct fix {
	struct dnnqd_models *ms;
	struct dnnqd d;
	int cpu;
	uint32_t uid;
	struct dnnqd_acl acl;
	struct dnnqd_conn c;
	int peer;                       /* the client's end */
};

static void conn_open(struct fix *f, bool full)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	/* full: as if the control loop had published max_clients sessions */
	uint32_t had = f->d.nsessions;
	if (full)
		f->d.nsessions = f->d.cfg.max_clients;
	dnnqd_conn_admit(&f->d, &f->c, sv[0], &f->acl, dnnqd_now_ns());
	f->d.nsessions = had;
	f->peer = sv[1];
}

static void daemon_up(struct fix *f, uint32_t spin_us, uint64_t max_session_bytes)
{
	cpu_set_t online;
	struct dnnq_diag d = { "" };
	memset(f, 0, sizeof *f);
	dnnqd_log_threshold = DNNQD_LOG_ERROR;
	f->ms = models_make();
	ck_assert_int_eq(sched_getaffinity(0, sizeof online, &online), 0);
	while (!CPU_ISSET(f->cpu, &online))
		f->cpu++;
	struct dnnqd_config cfg = { .cpus = &f->cpu, .ncpus = 1, .spin_us = spin_us, .max_clients = 4,
	                            .max_session_bytes = max_session_bytes };
	ck_assert_msg(dnnqd_start(&f->d, &cfg, f->ms, &d) == 0, "%s", d.msg);
	f->uid = (uint32_t)getuid();
	f->acl = (struct dnnqd_acl){ .uids = &f->uid, .nuids = 1 };
	conn_open(f, false);
}

static void daemon_down(struct fix *f)
{
	dnnqd_conn_close(&f->d, &f->c);
	close(f->peer);
	dnnqd_stop(&f->d);
	dnnqd_destroy(&f->d);       /* frees the table too */
}

struct answer {
	bool alive;                     /* the daemon keeps the connection */
	ssize_t len;                    /* of the reply; -1: none */
	union {
		struct dnnq_msg_hdr hdr;
		struct dnnq_msg_hello_reply hello;
		struct dnnq_msg_model model;
		struct dnnq_msg_stats stats;
		uint8_t raw[DNNQ_PROTO_MAX_MSG];
	} u;
	int fds[DNNQ_PROTO_NFDS];
	unsigned nfds;
};

static void recv_answer(int fd, struct answer *a)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * DNNQ_PROTO_NFDS)];
	} ctl;
	struct iovec iov = { &a->u, sizeof a->u };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
	                     .msg_controllen = sizeof ctl.buf };
	a->nfds = 0;
	a->len = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	/* refused at accept and closed with our HELLO unread: the reset is
	 * reported once, before the refusal (client/control.c, recv_by) */
	if (a->len < 0 && errno == ECONNRESET)
		a->len = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = a->len >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_type == SCM_RIGHTS) {
		a->nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(a->fds, CMSG_DATA(cm), a->nfds * sizeof(int));
	}
}

static void exchange(struct fix *f, const void *msg, size_t len, struct answer *a)
{
	ck_assert_int_eq(send(f->peer, msg, len, 0), (ssize_t)len);
	a->alive = dnnqd_conn_readable(&f->d, &f->c);
	recv_answer(f->peer, a);
}

static struct dnnq_msg_hdr hdr(uint16_t type, uint32_t seq)
{
	return (struct dnnq_msg_hdr){ DNNQ_PROTO_MAGIC, DNNQ_PROTO_VERSION, type, seq, 0 };
}

static struct dnnq_msg_hello hello_msg(uint32_t slots, uint64_t arena)
{
	return (struct dnnq_msg_hello){ .hdr = hdr(DNNQ_MSG_HELLO, 1),
	                                .abi_major = DNNQ_SHM_ABI_MAJOR,
	                                .abi_minor = DNNQ_SHM_ABI_MINOR, .slots = slots,
	                                .arena_bytes = arena };
}

static struct dnnq_msg_open open_msg(uint16_t type, const char *name, uint32_t index)
{
	struct dnnq_msg_open m = { .hdr = hdr(type, 7), .index = index };
	snprintf(m.name, sizeof m.name, "%s", name);
	return m;
}

/* A reply of `len` bytes (0: any) with this status to message seq. */
static void expect_answer(const struct answer *a, int status, uint32_t seq, size_t len)
{
	ck_assert(a->alive);
	ck_assert_int_ge(a->len, (ssize_t)sizeof a->u.hdr);
	ck_assert_uint_eq(a->u.hdr.magic, DNNQ_PROTO_MAGIC);
	ck_assert_uint_eq(a->u.hdr.version, DNNQ_PROTO_VERSION);
	ck_assert_int_eq(a->u.hdr.status, status);
	ck_assert_uint_eq(a->u.hdr.seq, seq);
	if (len)
		ck_assert_int_eq(a->len, (ssize_t)len);
	ck_assert_uint_eq(a->nfds, 0);
}

static void send_expect(struct fix *f, const void *msg, size_t len, int status, size_t rlen,
                        const char *part)
{
	struct answer a;
	exchange(f, msg, len, &a);
	expect_answer(&a, status, ((const struct dnnq_msg_hdr *)msg)->seq, rlen);
	if (part && a.u.hdr.type == DNNQ_MSG_HELLO)
		expect_msg(a.u.hello.message, part);
	else if (part)
		expect_msg(a.u.stats.message, part);
}

/* msg in a zeroed buffer big enough to send more than the message */
static const void *padded(const void *msg, size_t size)
{
	static uint8_t buf[DNNQ_PROTO_MAX_MSG + 128];
	memset(buf, 0, sizeof buf);
	memcpy(buf, msg, size);
	return buf;
}

static unsigned open_fds(void)
{
	unsigned n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

START_TEST(proto_malformed_before_hello)
{
	struct fix f;
	daemon_up(&f, 50, (uint64_t)1 << 30);
	const size_t H = sizeof(struct dnnq_msg_hdr), HR = sizeof(struct dnnq_msg_hello_reply);
	struct dnnq_msg_hello m = hello_msg(0, 0);
	struct dnnq_msg_hdr st = hdr(DNNQ_MSG_STATS, 3);
	send_expect(&f, &st, H, DNNQ_E_PROTO, sizeof(struct dnnq_msg_stats), "STATS: before HELLO");
	struct dnnq_msg_open op = open_msg(DNNQ_MSG_OPEN, "relu", 0);
	send_expect(&f, &op, sizeof op, DNNQ_E_PROTO, H, NULL);
	m.hdr.magic ^= 1;
	send_expect(&f, &m, sizeof m, DNNQ_E_PROTO, HR, "magic 0x");
	m = hello_msg(0, 0);
	m.hdr.version = DNNQ_PROTO_VERSION + 1;
	char want[32];
	snprintf(want, sizeof want, "version %u", DNNQ_PROTO_VERSION + 1);
	send_expect(&f, &m, sizeof m, DNNQ_E_PROTO, HR, want);
	m = hello_msg(0, 0);
	m.hdr.status = -1;
	send_expect(&f, &m, sizeof m, DNNQ_E_PROTO, HR, "status -1");
	static const uint16_t types[] = { 0, DNNQ_MSG_MODEL, 77 };
	for (unsigned i = 0; i < 3; i++) {
		struct dnnq_msg_hdr h = hdr(types[i], 40 + i);
		send_expect(&f, &h, H, DNNQ_E_PROTO, H, NULL);
	}
	m = hello_msg(0, 0);
	send_expect(&f, &m, sizeof m - 1, DNNQ_E_PROTO, HR, "HELLO: 39 bytes: want 40");
	send_expect(&f, padded(&m, sizeof m), DNNQ_PROTO_MAX_MSG + 100, DNNQ_E_PROTO, HR,
	            "HELLO: 8292 bytes");
	m.reserved = 1;
	send_expect(&f, &m, sizeof m, DNNQ_E_PROTO, HR, "reserved 1");
	m = hello_msg(0, 0);
	m.abi_major = 2;
	send_expect(&f, &m, sizeof m, DNNQ_E_VERSION, HR, "abi_major 2");
	m = hello_msg(DNNQ_SHM_MAX_SLOTS + 1, 0);
	send_expect(&f, &m, sizeof m, DNNQ_E_RANGE, HR, "slots 4097");
	/* fds sent to the daemon are dropped, not kept */
	unsigned before = open_fds();
	int fd = dup(0);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { .buf = { 0 } };
	struct iovec iov = { &st, H };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
	                     .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	*cm = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
	                        .cmsg_type = SCM_RIGHTS };
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	ck_assert_int_eq(sendmsg(f.peer, &mh, 0), (ssize_t)H);
	close(fd);
	struct answer a;
	a.alive = dnnqd_conn_readable(&f.d, &f.c);
	recv_answer(f.peer, &a);
	expect_answer(&a, DNNQ_E_PROTO, 3, 0);
	ck_assert_uint_eq(open_fds(), before);
	/* too short for a header: nothing to answer, closed */
	exchange(&f, &m, 8, &a);
	ck_assert(!a.alive);
	ck_assert_int_eq(a.len, -1);
	daemon_down(&f);
}
END_TEST

/* HELLO, with the region mapped and attached on the client side. */
static void hello(struct fix *f, uint32_t slots, uint64_t arena, struct answer *a,
                  struct dnnq_shm *v)
{
	struct dnnq_msg_hello m = hello_msg(slots, arena);
	struct dnnq_diag d = { "" };
	exchange(f, &m, sizeof m, a);
	ck_assert_msg(a->u.hdr.status == 0, "%s", a->u.hello.message);
	ck_assert(a->alive);
	ck_assert_int_eq(a->len, (ssize_t)sizeof a->u.hello);
	ck_assert_uint_eq(a->nfds, DNNQ_PROTO_NFDS);
	void *base = mmap(NULL, a->u.hello.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	                  a->fds[0], 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	ck_assert_msg(dnnq_shm_attach(base, a->u.hello.region_size, v, &d) == 0, "%s", d.msg);
}

static void unhello(const struct answer *a, struct dnnq_shm *v)
{
	munmap(v->base, v->size);
	for (unsigned i = 0; i < a->nfds; i++)
		close(a->fds[i]);
}

START_TEST(session_region_sealed)
{
	struct fix f;
	struct answer a;
	struct dnnq_shm v;
	struct dnnq_shm_layout l;
	daemon_up(&f, 50, (uint64_t)1 << 30);
	hello(&f, 0, 0, &a, &v);
	const struct dnnq_msg_hello_reply *hr = &a.u.hello;
	ck_assert_uint_eq(hr->hdr.type, DNNQ_MSG_HELLO);
	ck_assert_uint_eq(hr->abi_major, DNNQ_SHM_ABI_MAJOR);
	ck_assert_uint_eq(hr->session_id, 1);
	ck_assert_int_eq(dnnq_shm_layout(64, (uint64_t)64 << 20, &l), 0);
	ck_assert_uint_eq(hr->region_size, l.total_size);
	ck_assert_uint_eq(hr->workers, 1);
	ck_assert_uint_eq(hr->spin_us, 50);
	ck_assert_uint_eq(hr->heartbeat_ms, 10);
	ck_assert_uint_eq(v.slot_count, 64);
	ck_assert_uint_eq(v.arena_size, (uint64_t)64 << 20);
	int memfd = a.fds[0];
	ck_assert_int_eq(fcntl(memfd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ck_assert_int_eq(ftruncate(memfd, (off_t)hr->region_size / 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(memfd, (off_t)hr->region_size * 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(fcntl(a.fds[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	struct answer again;
	struct dnnq_msg_hello m = hello_msg(0, 0);
	exchange(&f, &m, sizeof m, &again);
	expect_answer(&again, DNNQ_E_PROTO, 1, sizeof again.u.hello);
	expect_msg(again.u.hello.message, "HELLO: sent twice");
	unhello(&a, &v);
	daemon_down(&f);
}
END_TEST

START_TEST(session_size_limit)
{
	struct fix f;
	struct answer a;
	struct dnnq_shm v;
	daemon_up(&f, 50, 1 << 20);
	struct dnnq_msg_hello m = hello_msg(0, 0);
	send_expect(&f, &m, sizeof m, DNNQ_E_NOMEM, sizeof a.u.hello, "limit of 1048576 bytes"
	            " (limits.max_session_bytes, --max-session-bytes)");
	/* limits.max_inflight: more slots are refused, the default shrinks to it */
	f.d.cfg.max_inflight = 8;
	m = hello_msg(9, 4096);
	send_expect(&f, &m, sizeof m, DNNQ_E_NOMEM, sizeof a.u.hello, "slots 9: over the"
	            " daemon's limit of 8 requests in flight per client (limits.max_inflight)");
	hello(&f, 0, 4096, &a, &v);
	ck_assert_uint_eq(v.slot_count, 8);
	unhello(&a, &v);
	dnnqd_conn_close(&f.d, &f.c);
	close(f.peer);
	conn_open(&f, false);
	hello(&f, 4, 4096, &a, &v);
	ck_assert_uint_eq(v.slot_count, 4);
	unhello(&a, &v);
	daemon_down(&f);
}
END_TEST

START_TEST(proto_after_hello)
{
	struct fix f;
	struct answer a, s;
	struct dnnq_shm v;
	const size_t H = sizeof(struct dnnq_msg_hdr), M = sizeof(struct dnnq_msg_model);
	daemon_up(&f, 50, (uint64_t)1 << 30);
	hello(&f, 0, 0, &s, &v);
	struct dnnq_msg_open op = open_msg(DNNQ_MSG_OPEN, "relu", 0);
	exchange(&f, &op, sizeof op, &a);
	expect_answer(&a, 0, 7, M);
	const struct dnnq_msg_model *mm = &a.u.model;
	ck_assert_uint_eq(mm->hdr.type, DNNQ_MSG_MODEL);
	ck_assert_uint_eq(mm->model_id, RELU);
	ck_assert_uint_eq(mm->n_models, 2);
	ck_assert_str_eq(mm->t[0].name, "x");
	ck_assert_str_eq(mm->t[1].name, "y");
	ck_assert_int_eq(mm->t[1].dims[1], 64);
	ck_assert_float_eq(mm->t[0].scale, qx.scale);
	ck_assert_int_eq(mm->t[0].zero_point, qx.zero_point);
	op = open_msg(DNNQ_MSG_OPEN, "nope", 0);
	send_expect(&f, &op, sizeof op, DNNQ_E_NOTFOUND, H, NULL);
	op = open_msg(DNNQ_MSG_INFO, "ignored", 1);
	exchange(&f, &op, sizeof op, &a);
	expect_answer(&a, 0, 7, M);
	ck_assert_str_eq(a.u.model.name, "pair");
	op = open_msg(DNNQ_MSG_INFO, "", 2);
	send_expect(&f, &op, sizeof op, DNNQ_E_NOTFOUND, H, NULL);
	struct dnnq_msg_close cl = { .hdr = hdr(DNNQ_MSG_CLOSE, 9), .model_id = 1 };
	send_expect(&f, &cl, sizeof cl, 0, H, NULL);
	cl.model_id = 2;
	send_expect(&f, &cl, sizeof cl, DNNQ_E_RANGE, H, NULL);
	struct dnnq_msg_hdr st = hdr(DNNQ_MSG_STATS, 11);
	exchange(&f, &st, H, &a);
	expect_answer(&a, 0, 11, sizeof a.u.stats);
	ck_assert_uint_eq(a.u.stats.sessions, 1);
	ck_assert_uint_eq(a.u.stats.models, 2);
	ck_assert_uint_eq(a.u.stats.workers, 1);
	ck_assert_uint_eq(a.u.stats.pid, (uint32_t)getpid());
	ck_assert_uint_gt(a.u.stats.uptime_ns, 0);
	ck_assert_str_eq(a.u.stats.message, "serving 2 models, 1 session");
	/* every type at a wrong size; fields that break the rules */
	send_expect(&f, &op, sizeof op - 1, DNNQ_E_PROTO, H, NULL);
	send_expect(&f, padded(&cl, sizeof cl), sizeof cl + 1, DNNQ_E_PROTO, H, NULL);
	send_expect(&f, &op, H, DNNQ_E_PROTO, H, NULL);
	send_expect(&f, padded(&st, H), H + 8, DNNQ_E_PROTO, sizeof a.u.stats, "STATS: 24 bytes: want 16");
	op = open_msg(DNNQ_MSG_OPEN, "relu", 0);
	memset(op.name, 'r', sizeof op.name);
	send_expect(&f, &op, sizeof op, DNNQ_E_PROTO, H, NULL);
	op = open_msg(DNNQ_MSG_OPEN, "relu", 0);
	op.reserved = 3;
	send_expect(&f, &op, sizeof op, DNNQ_E_PROTO, H, NULL);
	cl.reserved = 3;
	send_expect(&f, &cl, sizeof cl, DNNQ_E_PROTO, H, NULL);
	/* still served after all that; an empty packet ends it */
	op.reserved = 0;
	send_expect(&f, &op, sizeof op, 0, M, NULL);
	exchange(&f, &op, 0, &a);
	ck_assert(!a.alive);
	unhello(&s, &v);
	daemon_down(&f);
}
END_TEST

/* A peer refused at accept: the refusal is waiting for it, seq 0, before
 * it sent anything; what it would send now fails (EPIPE). */
static void refused(struct fix *f, const struct dnnq_msg_hello *m, struct answer *a)
{
	recv_answer(f->peer, a);
	ck_assert_int_eq(a->len, sizeof(struct dnnq_msg_hello_reply));
	ck_assert_uint_eq(a->u.hdr.seq, 0);
	ck_assert_uint_eq(a->u.hdr.type, DNNQ_MSG_HELLO);
	ck_assert_int_eq(send(f->peer, m, sizeof *m, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EPIPE);
}

/* A uid at its limit is told which setting holds it: the sessions per uid,
 * or max_clients when that is lower (or the per-uid one is unset). */
START_TEST(uid_full_names_the_limit)
{
	struct fix f;
	char buf[256];
	daemon_up(&f, 50, (uint64_t)1 << 30);	/* max_clients 4 */
	struct dnnqd_uid *u = dnnqd_uid_get(&f.d, 4242);
	ck_assert_ptr_nonnull(u);
	static const struct { uint32_t per_uid, held; const char *names; } cases[] = {
		{ 2, 2, "(limits.max_sessions_per_uid, --max-sessions-per-uid)" },
		{ 4, 4, "(limits.max_sessions_per_uid, --max-sessions-per-uid)" },
		{ 8, 4, "(limits.max_clients, --max-clients: below limits.max_sessions_per_uid)" },
		{ 0, 4, "(limits.max_clients, --max-clients: below limits.max_sessions_per_uid)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		f.d.cfg.max_sessions_per_uid = cases[i].per_uid;
		u->sessions = cases[i].held - 1;
		ck_assert_ptr_null(dnnqd_uid_full(&f.d, 4242, buf, sizeof buf));
		u->sessions = cases[i].held;
		const char *why = dnnqd_uid_full(&f.d, 4242, buf, sizeof buf);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, cases[i].names), "%zu: %s", i, why);
		ck_assert_ptr_nonnull(strstr(why, "uid 4242 holds"));
	}
	u->sessions = 0;
	dnnqd_uid_put(&f.d, 4242);
	daemon_down(&f);
}
END_TEST

START_TEST(peers_refused)
{
	struct fix f;
	struct answer a;
	daemon_up(&f, 50, (uint64_t)1 << 30);
	struct dnnq_msg_hello m = hello_msg(0, 0);
	/* busy: answered and closed */
	dnnqd_conn_close(&f.d, &f.c);
	close(f.peer);
	conn_open(&f, true);
	ck_assert_int_eq(f.c.refusal, DNNQ_E_BUSY);
	refused(&f, &m, &a);
	ck_assert_int_eq(a.u.hdr.status, DNNQ_E_BUSY);
	expect_msg(a.u.hello.message, "--max-clients");
	ck_assert_uint_eq(a.nfds, 0);
	/* a uid the ACL does not list */
	dnnqd_conn_close(&f.d, &f.c);
	close(f.peer);
	uint32_t other = f.uid + 1;
	f.acl.uids = &other;
	conn_open(&f, false);
	ck_assert_int_eq(f.c.refusal, DNNQ_E_PERM);
	ck_assert_uint_eq(f.c.uid, f.uid);
	refused(&f, &m, &a);
	ck_assert_int_eq(a.u.hdr.status, DNNQ_E_PERM);
	expect_msg(a.u.hello.message, "not allowed");
	/* ... but whose group is allowed */
	dnnqd_conn_close(&f.d, &f.c);
	close(f.peer);
	uint32_t gid = (uint32_t)getgid();
	f.acl.gids = &gid;
	f.acl.ngids = 1;
	conn_open(&f, false);
	ck_assert_int_eq(f.c.refusal, 0);
	daemon_down(&f);
}
END_TEST

/* ---- one request end to end through a real worker --------------------------- */

static void submit(struct dnnq_shm *v, int doorbell, uint32_t slot,
                   const struct dnnq_shm_request *r)
{
	memcpy(&v->slots[slot].req, r, sizeof *r);
	ck_assert_int_eq(dnnq_shm_slot_transition(v, slot, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED), 0);
	ck_assert_int_eq(dnnq_shm_ring_push(v, slot), 0);
	dnnq_shm_doorbell_ring(v, doorbell);
}

/* The slot's status once done (then FREE again); DNNQ_E_TIMEDOUT after 5 s. */
static int finish(struct dnnq_shm *v, uint32_t slot)
{
	uint64_t end = dnnqd_now_ns() + 5000000000ull;
	uint32_t st;
	while ((st = dnnq_shm_slot_state(v, slot)) != DNNQ_SLOT_DONE && st != DNNQ_SLOT_FAILED) {
		if (dnnqd_now_ns() > end)
			return DNNQ_E_TIMEDOUT;
		dnnq_shm_slot_wait(v, slot, st, 50000000);
	}
	int status = v->slots[slot].status;
	ck_assert_int_eq(dnnq_shm_slot_transition(v, slot, st, DNNQ_SLOT_FREE), 0);
	return status;
}

static bool eventually(bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < 2000; i++) {
		if (cond(arg))
			return true;
		usleep(1000);
	}
	return false;
}

static bool worker_asleep(void *arg)
{
	struct dnnq_shm *v = arg;
	return dnnq_shm_load_acquire32(&v->hdr->workers_sleeping) != 0;
}

static bool all_reaped(void *arg)
{
	struct dnnqd *d = arg;
	dnnqd_reap(d);	/* a tick's: the budget of pages refilled */
	return !d->retired;
}

START_TEST(request_served_end_to_end)
{
	struct fix f;
	struct answer a, st;
	struct dnnq_shm v;
	struct dnnq_shm_request r;
	daemon_up(&f, 10, (uint64_t)1 << 30);
	hello(&f, 8, 1 << 20, &a, &v);
	int doorbell = a.fds[1], completion = a.fds[2];
	request_for(f.ms, RELU, 2, &r);
	fill_u8(v.arena + r.t[0].offset, r.t[0].bytes, 77);
	/* the worker is asleep by now: the doorbell must wake it */
	ck_assert(eventually(worker_asleep, &v));
	submit(&v, doorbell, 0, &r);
	ck_assert_int_eq(finish(&v, 0), 0);
	uint8_t want[2 * 64];
	const void *in[] = { v.arena + r.t[0].offset };
	void *out[] = { want };
	reference(f.ms, RELU, 2, in, out);
	ck_assert_mem_eq(v.arena + r.t[1].offset, want, sizeof want);
	/* a bad request fails its own slot only */
	r.model_id = 5;
	submit(&v, doorbell, 1, &r);
	ck_assert_int_eq(finish(&v, 1), DNNQ_E_RANGE);
	/* hostile pushes: a FREE slot, an index past the slots; both dropped */
	ck_assert_int_eq(dnnq_shm_ring_push(&v, 2), 0);
	ck_assert_int_eq(dnnq_shm_ring_push(&v, 9999), 0);
	r.model_id = RELU;
	__atomic_store_n(&v.hdr->event_armed, 1, __ATOMIC_RELAXED);
	submit(&v, doorbell, 3, &r);
	ck_assert_int_eq(finish(&v, 3), 0);
	ck_assert_uint_eq(dnnq_shm_slot_state(&v, 2), DNNQ_SLOT_FREE);
	struct pollfd p = { .fd = completion, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	struct dnnq_msg_hdr sm = hdr(DNNQ_MSG_STATS, 2);
	exchange(&f, &sm, sizeof sm, &st);
	ck_assert_uint_eq(st.u.stats.requests, 3);
	ck_assert_uint_eq(st.u.stats.failures, 1);
	ck_assert_uint_eq(st.u.stats.bytes_copied, 0);
	ck_assert_uint_eq(st.u.stats.session_requests, 3);
	ck_assert_uint_eq(st.u.stats.session_failures, 1);
	/* the request naming id 5 (2 given out) counts daemon-wide only: on
	 * id 5's counters a model loaded there later would show a failure it
	 * never had (one worker: the daemon's counters are worker 0's) */
	const struct dnnqd_model_counts *k5 = &f.d.mcounts[5], *relu = &f.d.mcounts[RELU];
	uint64_t counted[4] = { atomic_load(&k5->requests), atomic_load(&k5->failures),
	                        atomic_load(&relu->requests), atomic_load(&relu->failures) };
	ck_assert_uint_eq(counted[0], 0);
	ck_assert_uint_eq(counted[1], 0);
	ck_assert_uint_eq(counted[2], 2);
	ck_assert_uint_eq(counted[3], 0);
	/* hang-up: retired at once, freed once the worker has passed a
	 * quiescent point, its region punched out first: a client that kept
	 * the mapping (or the memfd) keeps none of the pages the daemon was
	 * charged for, and reads zeros there, never a SIGBUS */
	dnnqd_conn_close(&f.d, &f.c);
	ck_assert_ptr_nonnull(f.d.retired);
	ck_assert_uint_eq(f.d.nsessions, 0);
	ck_assert(eventually(all_reaped, &f.d));
	uint8_t zeros[sizeof want] = { 0 };
	ck_assert_mem_eq(v.arena + r.t[1].offset, zeros, sizeof zeros);
	ck_assert_uint_eq(dnnq_shm_slot_state(&v, 0), DNNQ_SLOT_FREE);
	unhello(&a, &v);
	daemon_down(&f);
}
END_TEST

static bool models_reaped(void *arg)
{
	struct dnnqd *d = arg;
	dnnqd_reap(d);
	return !d->retired_models;
}

/* A model's counters are in a row of its own, not at its id: a reload
 * serving a name never served before hands out a new id (an old handle
 * must never name another model), and counting by id left every model
 * past the 256th name the daemon had served unseen: after 257 reloads
 * each renaming relu64, `dnnqctl status` said requests 0 after 100
 * (attack48). Rows go back to use once no table holds them. */
START_TEST(model_counts_past_256_names)
{
	struct fix f;
	struct answer a;
	struct dnnq_shm v;
	struct dnnq_shm_request r;
	struct dnnq_diag d = { "" };
	char dir[] = "/tmp/dnnq-rows-XXXXXX", path[sizeof dir + 16];
	void *buf;
	size_t len;
	daemon_up(&f, 10, (uint64_t)1 << 30);
	hello(&f, 8, 1 << 20, &a, &v);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/relu.dnnq", dir);
	write_model(make_relu, &buf, &len);
	FILE *fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	free(buf);
	struct dnnq_config_model e = { .path = path, .max_batch = MAX_BATCH, .threads = 1 };
	struct dnnq_config c = { .models = &e, .nmodels = 1 };
	for (unsigned k = 0; k <= DNNQD_STATS_MODELS; k++) {
		struct dnnqd_models *next;
		unsigned changed;
		snprintf(e.name, sizeof e.name, "m%u", k);
		ck_assert_msg(dnnqd_models_next(dnnqd_models_now(&f.d), &c, NULL, &next, &changed,
		                                &d) == 0, "%s", d.msg);
		ck_assert_int_eq(dnnqd_models_publish(&f.d, next), 0);
		ck_assert(eventually(models_reaped, &f.d));
	}
	const struct dnnqd_models *ms = dnnqd_models_now(&f.d);
	uint32_t id = ms->order[0];
	ck_assert_uint_ge(id, DNNQD_STATS_MODELS);
	request_for(ms, id, 2, &r);
	for (uint32_t slot = 0; slot < 3; slot++) {
		submit(&v, a.fds[1], slot, &r);
		ck_assert_int_eq(finish(&v, slot), 0);
	}
	struct dnnq_msg_model_stats o = { 0 };
	dnnqd_model_stats_fill(&f.d, 0, &o);
	ck_assert_uint_eq(o.model_id, id);
	ck_assert_uint_eq(o.requests, 3);
	ck_assert_uint_eq(o.samples, 6);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	unhello(&a, &v);
	daemon_down(&f);
}
END_TEST

static bool retired_grace_over(void *arg)
{
	struct dnnqd *d = arg;
	return d->retired && dnnqd_grace_over(d, d->retired->grace);
}

static uint64_t memfd_held(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* A hung-up session whose region holds 256 MiB of pages is punched out
 * over several ticks (dnnqd_reap), a bounded share each, however many
 * reaps (a uid's connects and HELLOs, dnnqd_uid_full) come between. Freeing pages costs 0.2 to
 * 0.6 s a GiB, in the control loop, which moves every session's
 * heartbeat: regions closed together (3 uids at the default quota of
 * 4 GiB) held it past the 2 s after which every client takes its daemon
 * for dead. Counted, not timed. */
START_TEST(session_reap_bounded)
{
	struct fix f;
	struct answer a;
	struct dnnq_shm v;
	const uint64_t arena = (uint64_t)256 << 20, step = DNNQD_SCRUB_PER_REAP + DNNQD_SCRUB_CHUNK;
	daemon_up(&f, 10, (uint64_t)1 << 30);
	hello(&f, 1, arena, &a, &v);
	memset(v.arena, 1, arena);
	uint64_t held = memfd_held(a.fds[0]), most = 0;
	ck_assert_uint_ge(held, arena);
	dnnqd_conn_close(&f.d, &f.c);
	ck_assert(eventually(retired_grace_over, &f.d));
	unsigned reaps = 0;
	for (; f.d.retired && reaps < 1000; reaps++) {
		dnnqd_reap(&f.d);
		for (int k = 0; k < 4; k++)
			dnnqd_session_reap(&f.d);
		uint64_t now = memfd_held(a.fds[0]);
		if (now < held && held - now > most)
			most = held - now;
		held = now;
	}
	ck_assert_ptr_null(f.d.retired);
	ck_assert_uint_eq(held, 0);
	ck_assert_msg(most <= step, "one tick freed %llu bytes of pages: at most %llu",
	              (unsigned long long)most, (unsigned long long)step);
	ck_assert_uint_ge(reaps, arena / step);
	unhello(&a, &v);
	daemon_down(&f);
}
END_TEST

/* The tick's budget goes to the sessions in the order they closed: a
 * region closed first is punched out before any page of one closed after
 * it (a client closing a region of 64 MiB of pages every tick took the
 * whole budget each tick, and one closed before it kept its pages and its
 * uid's bytes for as long). Two regions of 96 MiB closed one after the
 * other, reaped tick by tick. */
static bool both_grace_over(void *arg)
{
	struct dnnqd *d = arg;
	return d->retired && d->retired->next && !d->retired->next->next &&
	       dnnqd_grace_over(d, d->retired->grace) && dnnqd_grace_over(d, d->retired->next->grace);
}

START_TEST(session_reap_in_close_order)
{
	struct fix f;
	struct answer a[2];
	struct dnnq_shm v[2];
	const uint64_t arena = (uint64_t)96 << 20;
	uint64_t held[2];
	daemon_up(&f, 10, (uint64_t)1 << 30);
	for (int k = 0; k < 2; k++) {
		if (k)
			conn_open(&f, false);
		hello(&f, 1, arena, &a[k], &v[k]);
		memset(v[k].arena, 1, arena);
		held[k] = memfd_held(a[k].fds[0]);
		ck_assert_uint_ge(held[k], arena);
		dnnqd_conn_close(&f.d, &f.c);
		close(f.peer);
	}
	ck_assert(eventually(both_grace_over, &f.d));
	unsigned ticks = 0;
	for (; f.d.retired && ticks < 100; ticks++) {
		dnnqd_reap(&f.d);
		uint64_t now[2] = { memfd_held(a[0].fds[0]), memfd_held(a[1].fds[0]) };
		ck_assert_msg(now[1] == held[1] || now[0] == 0, "tick %u: the region closed second"
		              " punched (%llu -> %llu bytes) before the first (%llu left)", ticks,
		              (unsigned long long)held[1], (unsigned long long)now[1],
		              (unsigned long long)now[0]);
		held[0] = now[0];
		held[1] = now[1];
	}
	ck_assert_ptr_null(f.d.retired);
	ck_assert_uint_eq(held[0] + held[1], 0);
	ck_assert_uint_ge(ticks, 3);
	for (int k = 0; k < 2; k++)
		unhello(&a[k], &v[k]);
	conn_open(&f, false);
	daemon_down(&f);
}
END_TEST

/* ---- the listening socket ---------------------------------------------------- */

START_TEST(listen_stale_and_busy)
{
	char dir[] = "/tmp/dnnq-test-XXXXXX", path[96];
	struct dnnq_diag d = { "" };
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/run/dnnqd.sock", dir);
	dnnqd_log_threshold = DNNQD_LOG_ERROR;
	/* a socket file nobody listens on: what a killed daemon leaves */
	char sub[80];
	snprintf(sub, sizeof sub, "%s/run", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
	close(s);
	int fd, fd2;
	ck_assert_msg(dnnqd_listen(path, &fd, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(dnnqd_listen(path, &fd2, &d), DNNQ_E_BUSY);
	expect_msg(d.msg, "another dnnqd is listening there");
	/* the listener another user's (attack52: a path under /tmp taken while
	 * dnnqd was down): it listens again as uid 65534, which is what
	 * SO_PEERCRED then reports */
	pid_t pid = geteuid() == 0 ? fork() : -1;
	if (pid == 0)
		_exit(setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		      setresuid(65534, 65534, 65534) || listen(fd, 8) ? 1 : 0);
	int st = 0;
	if (pid > 0) {
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "listen as uid 65534: %#x", st);
		ck_assert_int_eq(dnnqd_listen(path, &fd2, &d), DNNQ_E_BUSY);
		expect_msg(d.msg, "uid 65534 (pid ");
		expect_msg(d.msg, "is listening there, not root or dnnqd's uid 0: another user");
	}
	close(fd);
	unlink(path);
	rmdir(sub);
	/* a missing directory (not the default one) is refused, named; a
	 * file that is no socket stays */
	ck_assert_int_eq(dnnqd_listen(path, &fd, &d), DNNQ_E_IO);
	expect_msg(d.msg, "socket directory: does not exist");
	expect_msg(d.msg, sub);
	/* the start finds it before the models load (review rev57b: it
	 * passed, and dnnqd said so only once they had loaded) */
	struct dnnq_diag early = { "" };
	ck_assert_int_eq(dnnqd_listen_taken(path, &early), DNNQ_E_IO);
	ck_assert_str_eq(early.msg, d.msg);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_msg(dnnqd_listen(path, &fd, &d) == 0, "%s", d.msg);
	close(fd);
	unlink(path);
	int file = open(path, O_CREAT | O_WRONLY, 0644);
	close(file);
	ck_assert_int_eq(dnnqd_listen(path, &fd, &d), DNNQ_E_IO);
	expect_msg(d.msg, "exists and is not a socket");
	ck_assert_int_eq(dnnqd_listen_taken(path, &early), DNNQ_E_IO);
	expect_msg(early.msg, "is not a socket");
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

/* dnnqd_listen(path) as uid 65534, in a child, with $XDG_RUNTIME_DIR
 * runtime: whether it fails with DNNQ_E_IO and a message holding want. */
static bool listen_denied_says(const char *runtime, const char *path, const char *want)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct dnnq_diag d = { "" };
		int fd;
		if (setenv("XDG_RUNTIME_DIR", runtime, 1) || setgroups(0, NULL) || setgid(65534) ||
		    setuid(65534))
			_exit(2);
		int rc = dnnqd_listen(path, &fd, &d);
		if (rc != DNNQ_E_IO || !strstr(d.msg, want)) {
			fprintf(stderr, "listen %s as uid 65534: %d %s\n", path, rc, d.msg);
			_exit(1);
		}
		/* the start says the same before the models load, but of a
		 * default directory still to be made */
		struct dnnq_diag c = { "" };
		rc = dnnqd_listen_taken(path, &c);
		_exit(strstr(want, "cannot create") ? rc != 0
		      : rc == DNNQ_E_IO && !strcmp(c.msg, d.msg) ? 0 : 3);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A user who may not create the default socket's directory (here
 * $XDG_RUNTIME_DIR/dnnq under a root-owned XDG_RUNTIME_DIR, uid 65534) is
 * told the ways out, not only EACCES; so is one who may not bind in it
 * once root made it (a root dnnqd, or tmpfiles, made /run/dnnq: 'bind:
 * Permission denied' was all), and one who may not bind in another
 * directory. Root only: it drops to that uid in a child. */
START_TEST(listen_default_dir_denied)
{
	if (geteuid() != 0) {
		printf("daemon: listen_default_dir_denied: skipped (not root: cannot drop to uid "
		       "65534)\n");
		return;
	}
	char dir[] = "/tmp/dnnq-test-XXXXXX", path[96], sub[80];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/dnnq/dnnqd.sock", dir);
	ck_assert(listen_denied_says(dir, path, "/dnnq: cannot create: Permission denied (the "
	                             "default socket's directory: run dnnqd as root or as "
	                             "dnnqd.service, or listen where this user may: --socket PATH,"
	                             " listen.path, or set $XDG_RUNTIME_DIR)"));
	snprintf(sub, sizeof sub, "%s/dnnq", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert(listen_denied_says(dir, path, "/dnnq/dnnqd.sock: cannot make the socket there: "
	                             "Permission denied (the default socket's directory: run "
	                             "dnnqd as root or as dnnqd.service, or listen where"));
	snprintf(path, sizeof path, "%s/other.sock", dir);
	ck_assert(listen_denied_says(dir, path, "/other.sock: cannot make the socket there: "
	                             "Permission denied (this user may not write the socket's "
	                             "directory: listen where it may: --socket PATH, "
	                             "listen.path)"));
	/* judged by the ids bind uses, the effective ones: with the real uid
	 * root's, access() let it pass (review rev57b) */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct dnnq_diag e = { "" };
		if (setgroups(0, NULL) || setresgid(0, 65534, 0) || setresuid(0, 65534, 0))
			_exit(2);
		int rc = dnnqd_listen_taken(path, &e);
		bool ok = rc == DNNQ_E_IO && strstr(e.msg, "cannot make the socket there: Permission "
		                                    "denied");
		if (!ok)
			fprintf(stderr, "listen_taken %s as euid 65534: %d %s\n", path, rc, e.msg);
		_exit(ok ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

/* ---- the control loop ---------------------------------------------------------- */

struct loop_fix {
	struct fix f;
	int listen_fd, sig[2];          /* a pipe stands in for the signalfd */
	pthread_t thread;
	int rc;
	char dir[32], path[64];
};

static void *loop_main(void *arg)
{
	struct loop_fix *l = arg;
	struct dnnq_diag d = { "" };
	l->rc = dnnqd_serve(&l->f.d, &l->f.acl, l->listen_fd, l->sig[0], &d);
	return NULL;
}

static int client_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* The reply to a HELLO on fd (waiting up to 5 s). */
static void client_hello(int fd, struct answer *a)
{
	struct dnnq_msg_hello m = hello_msg(4, 4096);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	/* EPIPE: refused at accept already, and shut for reading */
	ssize_t n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
	ck_assert_msg(n == (ssize_t)sizeof m || (n < 0 && errno == EPIPE), "send: %s",
	              n < 0 ? strerror(errno) : "short");
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	recv_answer(fd, a);
}

/* Whether the daemon closes fd within 5 s (after reading any reply). */
static bool closed_by_daemon(int fd)
{
	char buf[DNNQ_PROTO_MAX_MSG];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (int i = 0; i < 10 && poll(&p, 1, 500) >= 0; i++)
		if ((p.revents & POLLIN) && recv(fd, buf, sizeof buf, MSG_DONTWAIT) == 0)
			return true;
	return false;
}

START_TEST(control_loop_serves_and_stops)
{
	struct loop_fix l;
	struct dnnq_diag d = { "" };
	struct answer a;
	struct dnnq_shm v;
	memset(&l, 0, sizeof l);
	daemon_up(&l.f, 50, (uint64_t)1 << 30);
	dnnqd_conn_close(&l.f.d, &l.f.c);
	l.f.d.cfg.max_clients = 1;      /* the table has 4: only the limit shrinks */
	snprintf(l.dir, sizeof l.dir, "/tmp/dnnq-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(l.dir));
	snprintf(l.path, sizeof l.path, "%s/s", l.dir);
	ck_assert_msg(dnnqd_listen(l.path, &l.listen_fd, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(pipe2(l.sig, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(pthread_create(&l.thread, NULL, loop_main, &l), 0);
	int c1 = client_connect(l.path);
	client_hello(c1, &a);
	ck_assert_int_eq(a.u.hdr.status, 0);
	void *base = mmap(NULL, a.u.hello.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	                  a.fds[0], 0);
	ck_assert_int_eq(dnnq_shm_attach(base, a.u.hello.region_size, &v, &d), 0);
	uint64_t beat = dnnq_shm_load_acquire64(&v.hdr->heartbeat);
	usleep(50000);
	ck_assert_uint_gt(dnnq_shm_load_acquire64(&v.hdr->heartbeat), beat);
	/* over --max-clients: told so, then closed */
	int c2 = client_connect(l.path);
	struct answer busy;
	client_hello(c2, &busy);
	ck_assert_int_eq(busy.u.hdr.status, DNNQ_E_BUSY);
	ck_assert(closed_by_daemon(c2));
	/* silent: closed after a second */
	int c3 = client_connect(l.path);
	ck_assert(closed_by_daemon(c3));
	/* SIGTERM: the loop ends, the session with it */
	struct signalfd_siginfo si = { .ssi_signo = SIGTERM };
	ck_assert_int_eq(write(l.sig[1], &si, sizeof si), (ssize_t)sizeof si);
	ck_assert_int_eq(pthread_join(l.thread, NULL), 0);
	ck_assert_int_eq(l.rc, 0);
	ck_assert(closed_by_daemon(c1));
	ck_assert_uint_eq(l.f.d.nsessions, 0);
	unhello(&a, &v);
	close(c1);
	close(c2);
	close(c3);
	close(l.sig[0]);
	close(l.sig[1]);
	close(l.listen_fd);
	unlink(l.path);
	rmdir(l.dir);
	close(l.f.peer);
	dnnqd_destroy(&l.f.d);
}
END_TEST

Suite *suite_daemon(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("request");
	tcase_add_test(tc, request_accepted);
	tcase_add_test(tc, watchdog_sleeping_worker_lives);
	tcase_add_test(tc, request_rules_rejected);
	tcase_add_test(tc, request_overlaps_rejected);
	tcase_add_test(tc, runner_zero_copy_matches_reference);
	tcase_add_test(tc, runner_converts_f32_and_counts);
	suite_add_tcase(s, tc);
	tc = tcase_create("models");
	tcase_add_test(tc, models_describe_signature);
	tcase_add_test(tc, models_bad_input_named);
	tcase_add_test(tc, models_signature_must_match_graph);
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_test(tc, cpu_lists);
	tcase_add_test(tc, arguments_rejected);
	tcase_add_test(tc, arguments_defaults_and_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("sessions");
	tcase_add_test(tc, qsbr_grace_rules);
	tcase_add_test(tc, reserve_window);
	tcase_add_test(tc, proto_malformed_before_hello);
	tcase_add_test(tc, session_region_sealed);
	tcase_add_test(tc, session_size_limit);
	tcase_add_test(tc, proto_after_hello);
	tcase_add_test(tc, peers_refused);
	tcase_add_test(tc, uid_full_names_the_limit);
	tcase_add_test(tc, request_served_end_to_end);
	tcase_add_test(tc, model_counts_past_256_names);
	tcase_add_test(tc, session_reap_bounded);
	tcase_add_test(tc, session_reap_in_close_order);
	tcase_add_test(tc, listen_stale_and_busy);
	tcase_add_test(tc, listen_default_dir_denied);
	tcase_add_test(tc, control_loop_serves_and_stops);
	suite_add_tcase(s, tc);
	return s;
}
