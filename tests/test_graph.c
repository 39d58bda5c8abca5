/*
 * The graph executor (engine/graph.h): a small residual network run through
 * the graph equals the same operators run one by one, bit for bit, at two
 * batch sizes and thread counts, for every ISA the CPU runs (and those
 * equal the scalar ones); the arena reuses buffers; views cost
 * nothing; only nodes with work enough are split over the executor;
 * table activations run in their convolution's output stage;
 * malformed graphs are refused with the node named.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/claim.h"
#include "daemon/pool.h"
#include "engine/conv-kernels.h"
#include "engine/graph.h"
#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/wcache.h"
#include "tests/rng.h"
#include "tests/suites.h"

enum { H = 9, W = 7, C = 8, C2 = 16, NCLS = 10 };

struct weights {
	int8_t w1[C2 * 9 * C], w2[C2 * 9 * C2], wf[NCLS * C2];
	float s1[C2], s2[C2], sf[1], b1[C2], b2[C2], bf[NCLS];
};

static void make_weights(struct rng *r, struct weights *w)
{
	for (size_t i = 0; i < sizeof w->w1; i++)
		w->w1[i] = (int8_t)rng_int(r, -127, 127);
	for (size_t i = 0; i < sizeof w->w2; i++)
		w->w2[i] = (int8_t)rng_int(r, -127, 127);
	for (size_t i = 0; i < sizeof w->wf; i++)
		w->wf[i] = (int8_t)rng_int(r, -127, 127);
	for (int i = 0; i < C2; i++) {
		w->s1[i] = (float)rng_uniform(r, 0.002, 0.006);
		w->s2[i] = (float)rng_uniform(r, 0.002, 0.006);
		w->b1[i] = (float)rng_uniform(r, -0.5, 0.5);
		w->b2[i] = (float)rng_uniform(r, -0.5, 0.5);
	}
	w->sf[0] = 0.01f;
	for (int i = 0; i < NCLS; i++)
		w->bf[i] = (float)rng_uniform(r, -0.5, 0.5);
}

/* The ISA the network's operators are created for: the best one, unless a
 * test that runs every ISA sets one. */
static enum dnnq_isa net_isa_set = DNNQ_ISA_COUNT;

static enum dnnq_isa net_isa(void)
{
	return net_isa_set < DNNQ_ISA_COUNT ? net_isa_set : dnnq_isa_best();
}

static const struct dnnq_qparams qin = { 0.02f, 128, 8, false };
static const struct dnnq_qparams qa = { 0.05f, 0, 8, false };     /* after ReLU */
static const struct dnnq_qparams qb = { 0.08f, 100, 8, false };

static struct dnnq_conv_desc conv3x3(const int8_t *w, const float *s, const float *b,
                                     size_t cin, size_t cout, bool relu,
                                     struct dnnq_qparams out)
{
	return (struct dnnq_conv_desc){
		.isa = net_isa(), .cin = cin, .cout = cout, .groups = 1, .kh = 3, .kw = 3,
		.stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
		.pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1, .w = w, .nwq = cout, .w_scale = s,
		.bias = b, .out_dtype = DNNQ_DTYPE_U8, .out_qp = out, .relu = relu,
	};
}

/* y -> last (one input); y and last's output are g's outputs; g
 * finalized. */
static struct dnnq_graph *finish_with(struct dnnq_graph *g, int y, struct dnnq_node_desc *last,
                                      struct dnnq_diag *d)
{
	last->ninputs = 1;
	last->inputs[0] = y;
	int z = dnnq_graph_add_node(g, last, d);
	ck_assert_msg(z >= 0, "%s", d->msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, d), 0);
	ck_assert_int_eq(dnnq_graph_add_output(g, z, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/*
 * x -> conv1 (relu) -> conv2 -> add(conv1, conv2) -> gap -> flatten -> fc
 *   -> softmax
 */
static struct dnnq_graph *build(const struct weights *w, struct dnnq_diag *d, float conv2_scale)
{
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[4] = { 0, H, W, C };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, d);
	ck_assert_int_ge(x, 0);
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = "conv1", .ninputs = 1,
	                            .inputs = { x } };
	n.op.conv = conv3x3(w->w1, w->s1, w->b1, C, C2, true, qa);
	int c1 = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(c1 >= 0, "%s", d->msg);
	n.name = "conv2";
	n.inputs[0] = c1;
	struct dnnq_qparams q2 = qb;
	q2.scale = conv2_scale;
	n.op.conv = conv3x3(w->w2, w->s2, w->b2, C2, C2, false, q2);
	int c2 = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(c2 >= 0, "%s", d->msg);
	struct dnnq_node_desc add = { .kind = DNNQ_NODE_ELTWISE, .name = "add", .ninputs = 2,
	                              .inputs = { c1, c2 } };
	add.op.eltwise = (struct dnnq_eltwise_desc){ .isa = net_isa(),
	                                             .op = DNNQ_ELTWISE_SUM_RELU, .out_qp = qa };
	int s = dnnq_graph_add_node(g, &add, d);
	ck_assert_msg(s >= 0, "%s", d->msg);
	struct dnnq_node_desc gap = { .kind = DNNQ_NODE_GAVGPOOL, .name = "gap", .ninputs = 1,
	                              .inputs = { s } };
	gap.op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = net_isa(), .out_qp = qa };
	int p = dnnq_graph_add_node(g, &gap, d);
	ck_assert_msg(p >= 0, "%s", d->msg);
	struct dnnq_node_desc fl = { .kind = DNNQ_NODE_RESHAPE, .name = "flatten", .ninputs = 1,
	                             .inputs = { p } };
	fl.op.reshape.ndim = 2;
	fl.op.reshape.dims[1] = C2;
	int f = dnnq_graph_add_node(g, &fl, d);
	ck_assert_msg(f >= 0, "%s", d->msg);
	struct dnnq_node_desc fc = { .kind = DNNQ_NODE_FC, .name = "fc", .ninputs = 1,
	                             .inputs = { f } };
	fc.op.fc = (struct dnnq_fc_desc){ .isa = net_isa(), .n = NCLS, .k = C2, .w = w->wf,
	                                  .nwq = 1, .w_scale = w->sf, .bias = w->bf,
	                                  .out_dtype = DNNQ_DTYPE_U8, .out_qp = qb };
	int y = dnnq_graph_add_node(g, &fc, d);
	ck_assert_msg(y >= 0, "%s", d->msg);
	struct dnnq_node_desc sm = { .kind = DNNQ_NODE_SOFTMAX, .name = "prob" };
	sm.op.softmax.isa = net_isa();
	return finish_with(g, y, &sm, d);
}

/* The same network, operator by operator, for one image. */
static void by_hand(const struct weights *w, const uint8_t *x, uint8_t *logits)
{
	uint8_t a1[H * W * C2], a2[H * W * C2], s[H * W * C2], p[C2];
	struct dnnq_conv_desc d1 = conv3x3(w->w1, w->s1, w->b1, C, C2, true, qa);
	d1.in_qp = qin;
	struct dnnq_conv_desc d2 = conv3x3(w->w2, w->s2, w->b2, C2, C2, false, qb);
	d2.in_qp = qa;
	struct dnnq_conv *k1, *k2;
	ck_assert_int_eq(dnnq_conv_create(&d1, &k1, NULL), 0);
	ck_assert_int_eq(dnnq_conv_create(&d2, &k2, NULL), 0);
	ck_assert_int_eq(dnnq_conv_setup(k1, 1, H, W, x, a1, 1), 0);
	ck_assert_int_eq(dnnq_conv_run(k1, NULL), 0);
	ck_assert_int_eq(dnnq_conv_setup(k2, 1, H, W, a1, a2, 1), 0);
	ck_assert_int_eq(dnnq_conv_run(k2, NULL), 0);
	struct dnnq_eltwise_desc ed = { .isa = net_isa(), .op = DNNQ_ELTWISE_SUM_RELU,
	                                .ninputs = 2, .channels = C2, .in_qp = { qa, qb },
	                                .out_qp = qa };
	struct dnnq_eltwise *e;
	ck_assert_int_eq(dnnq_eltwise_create(&ed, &e, NULL), 0);
	const uint8_t *in[2] = { a1, a2 };
	ck_assert_int_eq(dnnq_eltwise_setup(e, H * W * C2, in, s, NULL), 0);
	ck_assert_int_eq(dnnq_eltwise_run(e, NULL), 0);
	struct dnnq_gavgpool_desc gd = { .isa = net_isa(), .in_qp = qa, .out_qp = qa };
	struct dnnq_gavgpool *gp;
	ck_assert_int_eq(dnnq_gavgpool_create(&gd, &gp, NULL), 0);
	ck_assert_int_eq(dnnq_gavgpool_setup(gp, 1, H, W, C2, s, p), 0);
	ck_assert_int_eq(dnnq_gavgpool_run(gp, NULL), 0);
	struct dnnq_fc_desc fd = { .isa = net_isa(), .n = NCLS, .k = C2, .w = w->wf,
	                           .nwq = 1, .w_scale = w->sf, .bias = w->bf,
	                           .in_dtype = DNNQ_DTYPE_U8, .in_qp = qa,
	                           .out_dtype = DNNQ_DTYPE_U8, .out_qp = qb };
	struct dnnq_fc *fc;
	ck_assert_int_eq(dnnq_fc_create(&fd, &fc, NULL), 0);
	ck_assert_int_eq(dnnq_fc_setup(fc, 1, p, logits), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
	dnnq_conv_destroy(k1);
	dnnq_conv_destroy(k2);
	dnnq_eltwise_destroy(e);
	dnnq_gavgpool_destroy(gp);
	dnnq_fc_destroy(fc);
}

/* _i: the ISA (each one the CPU runs; the others are skipped). Its
 * operators must also give the scalar ones' bytes. */
START_TEST(graph_equals_operators)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	struct rng r = { 17 };
	struct weights *w = malloc(sizeof *w);
	make_weights(&r, w);
	struct dnnq_diag d;
	net_isa_set = (enum dnnq_isa)_i;
	struct dnnq_graph *g = build(w, &d, qb.scale);
	ck_assert_uint_eq(dnnq_graph_num_nodes(g), 7);
	enum { B = 3 };
	uint8_t x[B * H * W * C], logits[B * NCLS], want[NCLS];
	float prob[B * NCLS];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	for (size_t batch = 1; batch <= B; batch += B - 1) {
		ck_assert_msg(dnnq_graph_plan(g, batch, 2, &d) == 0, "%s", d.msg);
		struct dnnq_tensor_info ti;
		ck_assert_int_eq(dnnq_graph_output_info(g, 0, &ti), 0);
		ck_assert_int_eq(ti.dims[0], (int64_t)batch);
		ck_assert_int_eq(ti.dims[1], NCLS);
		ck_assert_uint_eq(ti.bytes, batch * NCLS);
		/* conv1 and conv2 live at once; the sum is written over conv1 (in
		 * place: conv1's last reader); nothing else adds */
		ck_assert_uint_le(dnnq_graph_arena_bytes(g), 2 * batch * H * W * C2 + 2 * 64 + 256);
		for (int threads = 1; threads <= 2; threads++) {
			const void *in[1] = { x };
			void *out[2] = { logits, prob };
			memset(logits, 0, sizeof logits);
			ck_assert_int_eq(dnnq_graph_run(g, in, out, threads == 2 ? &ex : NULL), 0);
			for (size_t b = 0; b < batch; b++) {
				by_hand(w, x + b * H * W * C, want);
				ck_assert_mem_eq(logits + b * NCLS, want, NCLS);
				net_isa_set = DNNQ_ISA_SCALAR;
				by_hand(w, x + b * H * W * C, want);
				net_isa_set = (enum dnnq_isa)_i;
				ck_assert_msg(!memcmp(logits + b * NCLS, want, NCLS), "%s != scalar",
				              dnnq_isa_name(net_isa_set));
				float sum = 0;
				for (int i = 0; i < NCLS; i++)
					sum += prob[b * NCLS + i];
				ck_assert_float_eq_tol(sum, 1.0f, 1e-5);
			}
		}
	}
	dnnq_pool_destroy(pool);
	dnnq_graph_destroy(g);
	free(w);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* A batch whose activation arena is rounded up to whole huge pages (700
 * items: 1.4 MB laid out, 2 MiB allocated) runs as the operators do; then
 * batch 1 in the same arena. Under ASan the arena past what each plan lays
 * out is poisoned, as a malloc'd arena of its size was: the rounding (and
 * a larger batch's plan before) left room a node could write past its
 * last tensor into unreported. */
START_TEST(graph_arena_tail)
{
	struct rng r = { 29 };
	struct weights *w = malloc(sizeof *w);
	make_weights(&r, w);
	struct dnnq_diag d;
	struct dnnq_graph *g = build(w, &d, qb.scale);
	enum { B = 700 };
	uint8_t *x = malloc((size_t)B * H * W * C), logits[B * NCLS], want[NCLS];
	float prob[B * NCLS];
	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < (size_t)B * H * W * C; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	for (size_t batch = B; batch; batch = batch == B ? 1 : 0) {
		ck_assert_msg(dnnq_graph_plan(g, batch, 1, &d) == 0, "%s", d.msg);
		ck_assert_uint_eq(dnnq_graph_arena_bytes(g), DNNQ_HUGE_PAGE);
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
		ck_assert(!__asan_address_is_poisoned(g->arena));
		ck_assert_msg(__asan_address_is_poisoned(g->arena + DNNQ_HUGE_PAGE - 1),
		              "batch %zu: the arena's tail is not poisoned", batch);
#endif
		const void *in[1] = { x };
		void *out[2] = { logits, prob };
		ck_assert_int_eq(dnnq_graph_run(g, in, out, NULL), 0);
		for (size_t b = 0; b < batch; b += 233) {
			by_hand(w, x + b * H * W * C, want);
			ck_assert_mem_eq(logits + b * NCLS, want, NCLS);
		}
	}
	dnnq_graph_destroy(g);
	free(x);
	free(w);
}
END_TEST

/* The shadow run of g on 3 threads (the conv and FC references split per
 * image and group, per row) reports what rep (the calling thread's) says,
 * bit for bit; dnnq_graph_shadow_keep hands over the fp32 chain at the
 * nodes asked, the same on either, and NULL elsewhere. */
static void shadow_threads_agree(struct dnnq_graph *g, const void *const *in,
                                 const struct dnnq_node_report *rep)
{
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t l[NCLS * 2];
	float p[NCLS * 2];
	void *o[2] = { l, p };
	size_t nn = dnnq_graph_num_nodes(g);
	struct dnnq_node_report r3[8];
	bool keep[8] = { [0] = true, [1] = true };
	float *c1[8], *c3[8];
	ck_assert_uint_le(nn, 8);
	ck_assert_int_eq(dnnq_graph_shadow_keep(g, in, o, NULL, r3, keep, c1), 0);
	ck_assert_int_eq(dnnq_graph_shadow_keep(g, in, o, &ex, r3, keep, c3), 0);
	for (size_t i = 0; i < nn; i++) {
		ck_assert_msg(!memcmp(&r3[i].sqnr_db, &rep[i].sqnr_db, sizeof(double)) &&
		              !memcmp(&r3[i].local_sqnr_db, &rep[i].local_sqnr_db, sizeof(double)),
		              "%s: %.17g %.17g on 3 threads, %.17g %.17g on 1", rep[i].name,
		              r3[i].sqnr_db, r3[i].local_sqnr_db, rep[i].sqnr_db, rep[i].local_sqnr_db);
		ck_assert(!keep[i] == !c1[i] && !keep[i] == !c3[i]);
	}
	/* conv1 and conv2: 2 images of H x W x C2 each */
	for (size_t i = 0; i < 2; i++) {
		ck_assert_mem_eq(c1[i], c3[i], 2 * H * W * C2 * sizeof(float));
		free(c1[i]);
		free(c3[i]);
	}
	dnnq_pool_destroy(pool);
}

/* The network's weights (free them) and a random input x of n bytes. */
static struct weights *net_fixture(struct rng *r, uint8_t *x, size_t n)
{
	struct weights *w = malloc(sizeof *w);
	ck_assert_ptr_nonnull(w);
	make_weights(r, w);
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)rng_int(r, 0, 255);
	return w;
}

/* The shadow run: same outputs as a plain run, every node reports a finite
 * SQNR, and a node whose output range is far too narrow stands out. */
START_TEST(shadow_reports_each_node)
{
	struct rng r = { 23 };
	struct dnnq_diag d;
	enum { B = 2 };
	uint8_t x[B * H * W * C], l1[B * NCLS], l2[B * NCLS];
	float p1[B * NCLS], p2[B * NCLS];
	struct weights *w = net_fixture(&r, x, sizeof x);
	const void *in[1] = { x };
	struct dnnq_node_report rep[8];
	double good_conv2 = 0;
	for (int broken = 0; broken <= 1; broken++) {
		struct dnnq_graph *g = build(w, &d, broken ? 0.0005f : qb.scale);
		ck_assert_int_eq(dnnq_graph_plan(g, B, 3, &d), 0);
		void *o1[2] = { l1, p1 }, *o2[2] = { l2, p2 };
		ck_assert_int_eq(dnnq_graph_run(g, in, o1, NULL), 0);
		ck_assert_int_eq(dnnq_graph_shadow(g, in, o2, NULL, rep), 0);
		ck_assert_mem_eq(l1, l2, sizeof l1);
		shadow_threads_agree(g, in, rep);
		ck_assert_str_eq(rep[0].name, "conv1");
		ck_assert_int_eq(rep[1].kind, DNNQ_NODE_CONV);
		for (size_t i = 0; i < dnnq_graph_num_nodes(g); i++) {
			ck_assert_msg(isfinite(rep[i].local_sqnr_db) || rep[i].local_sqnr_db > 0,
			              "%s: %g", rep[i].name, rep[i].local_sqnr_db);
			if (!broken)
				ck_assert_msg(rep[i].local_sqnr_db > 5, "%s: local SQNR %.1f dB",
				              rep[i].name, rep[i].local_sqnr_db);
			/* the error accumulates: never better than fp32 end to end
			 * by much more than the local error allows */
			ck_assert(!isnan(rep[i].sqnr_db));
		}
		/* conv2's output saturates when its scale is 160x too small */
		if (!broken)
			good_conv2 = rep[1].local_sqnr_db;
		else
			ck_assert_msg(rep[1].local_sqnr_db < good_conv2 - 5, "conv2 %.1f dB, was %.1f",
			              rep[1].local_sqnr_db, good_conv2);
		/* the reshape adds no error of its own */
		ck_assert(isinf(rep[4].local_sqnr_db));
		/* the add works in place: its local SQNR is taken on its inputs
		 * as they were before it ran (17 dB here; 6.4 dB when it read
		 * its own output as its input 0) */
		ck_assert_int_eq(rep[2].kind, DNNQ_NODE_ELTWISE);
		if (!broken)
			ck_assert_msg(rep[2].local_sqnr_db > 12, "add: local SQNR %.1f dB",
			              rep[2].local_sqnr_db);
		dnnq_graph_destroy(g);
	}
	free(w);
}
END_TEST

/* A run in parts (dnnq_graph_run_nodes) computes what one run does, and
 * a run resumed at node k from another graph whose nodes before k are the
 * same (dnnq_graph_run_from) what that graph computes whole: here the
 * second graph's conv2 writes at another scale, so it differs from node 1
 * on. A source planned at another batch holds the values at other sizes:
 * refused before anything runs. */
START_TEST(graph_run_resumed)
{
	struct rng r = { 29 };
	struct dnnq_diag d;
	enum { B = 2 };
	uint8_t x[B * H * W * C], l[3][B * NCLS];
	float p[3][B * NCLS];
	struct weights *w = net_fixture(&r, x, sizeof x);
	const void *in[1] = { x };
	void *o[3][2] = { { l[0], p[0] }, { l[1], p[1] }, { l[2], p[2] } };
	struct dnnq_graph *src = build(w, &d, qb.scale), *g = build(w, &d, 0.03f);
	ck_assert_int_eq(dnnq_graph_plan(src, B, 1, &d), 0);
	ck_assert_int_eq(dnnq_graph_plan(g, B, 1, &d), 0);
	size_t n = dnnq_graph_num_nodes(src);
	ck_assert_int_eq(dnnq_graph_run(src, in, o[0], NULL), 0);
	ck_assert_int_eq(dnnq_graph_run_nodes(src, in, o[1], NULL, 0, 3), 0);
	ck_assert_int_eq(dnnq_graph_run_nodes(src, in, o[1], NULL, 3, n), 0);
	ck_assert_mem_eq(l[0], l[1], sizeof l[0]);
	ck_assert_mem_eq(p[0], p[1], sizeof p[0]);
	ck_assert_int_eq(dnnq_graph_run(g, in, o[0], NULL), 0);
	ck_assert_mem_ne(l[0], l[1], sizeof l[0]);
	memset(l[2], 0, sizeof l[2]);
	ck_assert_int_eq(dnnq_graph_run_nodes(src, in, o[1], NULL, 0, 1), 0);
	ck_assert_int_eq(dnnq_graph_run_from(g, src, 1, in, o[2], NULL), 0);
	ck_assert_mem_eq(l[0], l[2], sizeof l[0]);
	ck_assert_mem_eq(p[0], p[2], sizeof p[0]);
	ck_assert_int_eq(dnnq_graph_plan(g, 1, 1, &d), 0);
	memset(l[2], 0, sizeof l[2]);
	ck_assert_int_eq(dnnq_graph_run_from(g, src, 1, in, o[2], NULL), DNNQ_E_UNSUPPORTED);
	for (size_t i = 0; i < sizeof l[2]; i++)
		ck_assert_uint_eq(l[2][i], 0);
	dnnq_graph_destroy(src);
	dnnq_graph_destroy(g);
	free(w);
}
END_TEST

/* A graph planned with another's buffers (dnnq_graph_take_buffers, the
 * trials' reuse of one arena) keeps the larger arena, however its bytes
 * were left, and computes what a graph with its own does; the graph
 * that gave them runs no more until planned again, and a planned graph
 * takes none. */
START_TEST(graph_take_buffers)
{
	struct rng r = { 31 };
	struct dnnq_diag d;
	enum { B = 3 };
	uint8_t x[2 * B * H * W * C], l[2][2 * B * NCLS];   /* src runs 2 B */
	float p[2][2 * B * NCLS];
	struct weights *w = net_fixture(&r, x, sizeof x);
	const void *in[1] = { x };
	void *o[2][2] = { { l[0], p[0] }, { l[1], p[1] } };
	struct dnnq_graph *ref = build(w, &d, qb.scale), *src = build(w, &d, 0.03f);
	struct dnnq_graph *g = build(w, &d, qb.scale);
	ck_assert_int_eq(dnnq_graph_plan(ref, B, 1, &d), 0);
	ck_assert_int_eq(dnnq_graph_run(ref, in, o[0], NULL), 0);
	ck_assert_int_eq(dnnq_graph_plan(src, 2 * B, 1, &d), 0);
	ck_assert_int_eq(dnnq_graph_run(src, in, o[1], NULL), 0);   /* bytes left in it */
	size_t big = dnnq_graph_arena_bytes(src);
	ck_assert_uint_gt(big, dnnq_graph_arena_bytes(ref));
	ck_assert_int_eq(dnnq_graph_take_buffers(ref, src), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_graph_take_buffers(g, src), 0);
	ck_assert_uint_eq(dnnq_graph_arena_bytes(src), 0);
	ck_assert_int_eq(dnnq_graph_run(src, in, o[1], NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_graph_plan(g, B, 1, &d), 0);
	ck_assert_uint_eq(dnnq_graph_arena_bytes(g), big);
	memset(l[1], 0, sizeof l[1]);
	ck_assert_int_eq(dnnq_graph_run(g, in, o[1], NULL), 0);
	ck_assert_mem_eq(l[0], l[1], B * NCLS);
	ck_assert_mem_eq(p[0], p[1], B * NCLS * sizeof **p);
	ck_assert_int_eq(dnnq_graph_plan(src, B, 1, &d), 0);        /* planned again: its own */
	ck_assert_int_eq(dnnq_graph_run(src, in, o[1], NULL), 0);
	dnnq_graph_destroy(ref);
	dnnq_graph_destroy(src);
	dnnq_graph_destroy(g);
	free(w);
}
END_TEST

START_TEST(graph_refuses_malformed)
{
	struct rng r = { 2 };
	struct weights *w = malloc(sizeof *w);
	make_weights(&r, w);
	struct dnnq_diag d;
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[4] = { 0, H, W, C };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, &d);
	ck_assert_int_lt(dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "used twice"));
	/* wrong channel count: the node is named */
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = "bad", .ninputs = 1,
	                            .inputs = { x } };
	n.op.conv = conv3x3(w->w2, w->s2, w->b2, C2, C2, false, qb);
	ck_assert_int_lt(dnnq_graph_add_node(g, &n, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "node 'bad'"));
	/* a tensor that does not exist */
	n.inputs[0] = 42;
	ck_assert_int_lt(dnnq_graph_add_node(g, &n, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "no such tensor"));
	/* a node nobody reads */
	n.inputs[0] = x;
	n.name = "c1";
	n.op.conv = conv3x3(w->w1, w->s1, w->b1, C, C2, true, qa);
	int c1 = dnnq_graph_add_node(g, &n, &d);
	n.name = "c2";
	ck_assert_int_ge(dnnq_graph_add_node(g, &n, &d), 0);
	ck_assert_int_eq(dnnq_graph_add_output(g, c1, &d), 0);
	ck_assert_int_lt(dnnq_graph_finalize(g, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "'c2' is never used"));
	/* inputs cannot be outputs */
	ck_assert_int_lt(dnnq_graph_add_output(g, x, &d), 0);
	ck_assert_int_lt(dnnq_graph_plan(g, 1, 1, &d), 0);
	dnnq_graph_destroy(g);
	free(w);
}
END_TEST

/*
 * A model's f32 edges: x -> quantize -> conv1 (relu) -> conv2 -> dequantize,
 * with x and the output NCHW (the NCHW converts) or NHWC (the plain ones).
 */
static struct dnnq_graph *build_edges(const struct weights *w, bool nchw, struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dc[4] = { 0, C, H, W }, dh[4] = { 0, H, W, C };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_F32, 4, nchw ? dc : dh, NULL, d);
	ck_assert_msg(x >= 0, "%s", d->msg);
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONVERT, .name = "q", .ninputs = 1,
	                            .inputs = { x } };
	n.op.convert = (struct dnnq_convert_desc){
		.isa = dnnq_isa_best(),
		.kind = nchw ? DNNQ_CONVERT_QUANTIZE_NCHW : DNNQ_CONVERT_QUANTIZE, .qp = qin };
	int q = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(q >= 0, "%s", d->msg);
	n = (struct dnnq_node_desc){ .kind = DNNQ_NODE_CONV, .name = "conv1", .ninputs = 1,
	                             .inputs = { q } };
	n.op.conv = conv3x3(w->w1, w->s1, w->b1, C, C2, true, qa);
	int c1 = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(c1 >= 0, "%s", d->msg);
	n.name = "conv2";
	n.inputs[0] = c1;
	n.op.conv = conv3x3(w->w2, w->s2, w->b2, C2, C2, false, qb);
	int c2 = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(c2 >= 0, "%s", d->msg);
	n = (struct dnnq_node_desc){ .kind = DNNQ_NODE_CONVERT, .name = "deq", .ninputs = 1,
	                             .inputs = { c2 } };
	n.op.convert = (struct dnnq_convert_desc){
		.isa = dnnq_isa_best(),
		.kind = nchw ? DNNQ_CONVERT_DEQUANTIZE_NCHW : DNNQ_CONVERT_DEQUANTIZE };
	int y = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(y >= 0, "%s", d->msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* [nb][ns][nc] -> [nb][nc][ns] (to_nchw) or back */
static void transpose(const float *x, float *y, size_t nb, size_t nc, size_t ns, bool to_nchw)
{
	for (size_t b = 0; b < nb; b++)
		for (size_t c = 0; c < nc; c++)
			for (size_t p = 0; p < ns; p++) {
				size_t chw = (b * nc + c) * ns + p, hwc = (b * ns + p) * nc + c;
				if (to_nchw)
					y[chw] = x[hwc];
				else
					y[hwc] = x[chw];
			}
}

/* The NCHW graph fed x equals the NHWC graph fed x transposed, its output
 * transposed back, bit for bit, at two batches and thread counts; the
 * shadow run sees the same errors in both (its references permute too). */
START_TEST(graph_nchw_edges)
{
	enum { B = 3, NX = B * C * H * W, NY = B * C2 * H * W };
	struct rng r = { 41 };
	struct weights *w = malloc(sizeof *w);
	make_weights(&r, w);
	static float xc[NX], xh[NX], ya[NY], yb[NY], yt[NY];
	for (size_t i = 0; i < NX; i++)
		xc[i] = (float)rng_uniform(&r, -2.5, 2.5);
	transpose(xc, xh, B, C, H * W, false);
	struct dnnq_diag d;
	struct dnnq_graph *ga = build_edges(w, true, &d), *gb = build_edges(w, false, &d);
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	for (size_t batch = 1; batch <= B; batch += B - 1) {
		ck_assert_msg(dnnq_graph_plan(ga, batch, 2, &d) == 0, "%s", d.msg);
		ck_assert_msg(dnnq_graph_plan(gb, batch, 2, &d) == 0, "%s", d.msg);
		struct dnnq_tensor_info ti;
		ck_assert_int_eq(dnnq_graph_output_info(ga, 0, &ti), 0);
		int64_t want[4] = { (int64_t)batch, C2, H, W };
		ck_assert_mem_eq(ti.dims, want, sizeof want);
		ck_assert_uint_eq(ti.bytes, batch * C2 * H * W * sizeof(float));
		for (int threads = 1; threads <= 2; threads++) {
			const void *ia[1] = { xc }, *ib[1] = { xh };
			void *oa[1] = { ya }, *ob[1] = { yb };
			memset(ya, 0, sizeof ya);
			ck_assert_int_eq(dnnq_graph_run(ga, ia, oa, threads == 2 ? &ex : NULL), 0);
			ck_assert_int_eq(dnnq_graph_run(gb, ib, ob, threads == 2 ? &ex : NULL), 0);
			transpose(yb, yt, batch, C2, H * W, true);
			ck_assert_mem_eq(ya, yt, batch * C2 * H * W * sizeof(float));
		}
	}
	/* not a constant output */
	int distinct = 0;
	for (size_t i = 1; i < NY; i++)
		distinct += ya[i] != ya[0];
	ck_assert_int_gt(distinct, NY / 2);
	struct dnnq_node_report ra[4], rb[4];
	const void *ia[1] = { xc }, *ib[1] = { xh };
	void *oa[1] = { yt }, *ob[1] = { yb };
	ck_assert_int_eq(dnnq_graph_shadow(ga, ia, oa, NULL, ra), 0);
	ck_assert_int_eq(dnnq_graph_shadow(gb, ib, ob, NULL, rb), 0);
	ck_assert_mem_eq(ya, yt, sizeof ya);
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(fabs(ra[i].sqnr_db - rb[i].sqnr_db) < 1e-3, "%s: %g dB, NHWC %g dB",
		              ra[i].name, ra[i].sqnr_db, rb[i].sqnr_db);
		ck_assert_msg(fabs(ra[i].local_sqnr_db - rb[i].local_sqnr_db) < 1e-3 ||
		              (isinf(ra[i].local_sqnr_db) && isinf(rb[i].local_sqnr_db)),
		              "%s: local %g dB, NHWC %g dB", ra[i].name, ra[i].local_sqnr_db,
		              rb[i].local_sqnr_db);
	}
	/* 8-bit quantization of the input adds ~45 dB of noise; dequantizing none */
	ck_assert_msg(ra[0].local_sqnr_db > 35, "quantize_nchw: %g dB", ra[0].local_sqnr_db);
	ck_assert_msg(isinf(ra[3].local_sqnr_db), "dequantize_nchw: %g dB", ra[3].local_sqnr_db);
	dnnq_pool_destroy(pool);
	dnnq_graph_destroy(ga);
	dnnq_graph_destroy(gb);
	free(w);
}
END_TEST

/* An NCHW convert wants a 4-D input; the error names the node. */
START_TEST(graph_nchw_needs_rank_4)
{
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[2] = { 0, 12 };
	int v = dnnq_graph_add_input(g, "v", DNNQ_DTYPE_F32, 2, dims, NULL, &d);
	int u = dnnq_graph_add_input(g, "u", DNNQ_DTYPE_U8, 2, dims, &qin, &d);
	ck_assert_int_ge(v, 0);
	ck_assert_int_ge(u, 0);
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONVERT, .name = "qn", .ninputs = 1,
	                            .inputs = { v } };
	n.op.convert = (struct dnnq_convert_desc){ dnnq_isa_best(), DNNQ_CONVERT_QUANTIZE_NCHW, qin, false };
	ck_assert_int_eq(dnnq_graph_add_node(g, &n, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 'qn': input 'v' has rank 2: need 4 ([N, C, H, W])");
	n.name = "dn";
	n.inputs[0] = u;
	n.op.convert.kind = DNNQ_CONVERT_DEQUANTIZE_NCHW;
	ck_assert_int_eq(dnnq_graph_add_node(g, &n, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 'dn': input 'u' has rank 2: need 4 ([N, H, W, C])");
	/* the plain kinds take any rank; the refused nodes left no trace */
	n.op.convert.kind = DNNQ_CONVERT_DEQUANTIZE;
	ck_assert_int_ge(dnnq_graph_add_node(g, &n, &d), 0);
	ck_assert_uint_eq(dnnq_graph_num_nodes(g), 1);
	dnnq_graph_destroy(g);
}
END_TEST

static int add_reshape(struct dnnq_graph *g, const char *name, int x, uint32_t nd,
                       const int64_t *dims, struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_RESHAPE, .name = name, .ninputs = 1,
	                            .inputs = { x } };
	n.op.reshape.ndim = nd;
	memcpy(n.op.reshape.dims, dims, nd * sizeof *dims);
	return dnnq_graph_add_node(g, &n, d);
}

static int add_relu(struct dnnq_graph *g, const char *name, int x, struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_ACTIVATION, .name = name, .ninputs = 1,
	                            .inputs = { x } };
	n.op.activation = (struct dnnq_activation_desc){ .isa = dnnq_isa_best(),
	                                                 .kind = DNNQ_ACT_RELU, .out_qp = qa };
	return dnnq_graph_add_node(g, &n, d);
}

static int add_concat(struct dnnq_graph *g, const char *name, int x, struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONCAT, .name = name, .ninputs = 16 };
	for (int k = 0; k < 16; k++)
		n.inputs[k] = x;
	n.op.concat = (struct dnnq_concat_desc){ .isa = dnnq_isa_best(), .axis = 1, .out_qp = qin };
	return dnnq_graph_add_node(g, &n, d);
}

/*
 * No size the graph computes wraps: an input or a constant whose size
 * overflows, a reshape whose product only matches its input's after
 * wrapping, a dim derived past 2^31 - 1 (concatenations of
 * concatenations), a size at the planned batch. Each is refused naming the
 * tensor or node, and nothing is allocated for it. Reshape dims follow
 * ONNX: 0 copies, one -1 is resolved, anything else below 1 is refused.
 */
START_TEST(graph_refuses_overflowing_shapes)
{
	struct dnnq_graph *g;
	struct dnnq_diag d;
	uint8_t data[16] = { 0 };
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t huge[5] = { 0, 1 << 24, 1 << 24, 1 << 24, 1 << 24 };
	ck_assert_int_eq(dnnq_graph_add_input(g, "huge", DNNQ_DTYPE_U8, 5, huge, &qin, &d),
	                 DNNQ_E_RANGE);
	ck_assert_str_eq(d.msg, "graph: 'huge': the size overflows (more than 2^58 bytes per "
	                 "batch item)");
	ck_assert_int_eq(dnnq_graph_add_constant(g, "k", 4, huge + 1, &qin, data, &d), DNNQ_E_RANGE);
	ck_assert_str_eq(d.msg, "graph: 'k': the size overflows (more than 2^58 bytes)");
	/* 2^57 bytes an item: fine until planned at batch 2 */
	int64_t big[4] = { 0, 1 << 24, 1 << 24, 1 << 9 };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 4, big, &qin, &d);
	ck_assert_msg(x >= 0, "%s", d.msg);
	/* 2^57 * 129 = 2^57 once wrapped */
	int64_t wrap[5] = { 0, 1 << 24, 1 << 24, 1 << 9, 129 };
	ck_assert_int_eq(add_reshape(g, "r0", x, 5, wrap, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 'r0': dims[1..4] hold more elements than the "
	                 "144115188075855872 per batch item of input 'x'");
	/* finding 6 of issue 19: {1, -1, -16} multiplies to 16 */
	int64_t small[3] = { 0, 2, 8 };
	int s = dnnq_graph_add_input(g, "s", DNNQ_DTYPE_U8, 3, small, &qin, &d);
	int64_t neg[3] = { 1, -1, -16 }, two[4] = { 1, -1, 4, -1 }, onnx[4] = { 1, 0, -1, 2 };
	ck_assert_int_eq(add_reshape(g, "r1", s, 3, neg, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 'r1': dims[2] = -16: must be 1..2147483647, 0 (the input's) "
	                 "or one -1");
	ck_assert_int_eq(add_reshape(g, "r1", s, 4, two, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 'r1': dims[3] = -1: a second -1 (dims[1] is one)");
	int r = add_reshape(g, "r1", s, 4, onnx, &d);
	ck_assert_msg(r >= 0, "%s", d.msg);
	/* [B, 2^24] concatenated 16 times: 2^28, then 2^32 */
	int64_t wide[2] = { 0, 1 << 24 };
	int w = dnnq_graph_add_input(g, "w", DNNQ_DTYPE_U8, 2, wide, &qin, &d);
	int c1 = add_concat(g, "c1", w, &d);
	ck_assert_msg(c1 >= 0, "%s", d.msg);
	ck_assert_int_eq(add_concat(g, "c2", c1, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "graph: node 'c2': output dims[1] = 4294967296: must be "
	                 "1..2147483647");
	int outs[3] = { add_relu(g, "relu1", r, &d), c1, add_relu(g, "relu", x, &d) };
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(dnnq_graph_add_output(g, outs[k], &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_graph_plan(g, 2, 1, &d), DNNQ_E_RANGE);
	ck_assert_str_eq(d.msg, "graph: tensor 'x': at batch 2 the size overflows (more than 2^58 "
	                 "bytes)");
	struct dnnq_tensor_info ti;
	ck_assert_int_eq(dnnq_graph_output_info(g, 0, &ti), 0);
	ck_assert_uint_eq(ti.ndim, 4);
	ck_assert_int_eq(ti.dims[1], 2);
	ck_assert_int_eq(ti.dims[2], 4);
	ck_assert_int_eq(ti.dims[3], 2);
	ck_assert_uint_eq(ti.bytes, 0);   /* not planned */
	dnnq_graph_destroy(g);
}
END_TEST

/* A graph input no node reads (an ONNX input read only for its shape)
 * finalizes and keeps its place in the signature; it takes no arena, a
 * run is given its buffer and never reads it (NULL would be refused by a
 * run, as any input's), and a constant nobody reads is still refused. */
START_TEST(graph_keeps_unread_input)
{
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[2] = { 0, 64 }, big[2] = { 0, 1 << 20 };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 2, dims, &qin, &d);
	ck_assert_msg(x >= 0, "%s", d.msg);
	ck_assert_int_ge(dnnq_graph_add_input(g, "u", DNNQ_DTYPE_F32, 2, big, NULL, &d), 0);
	int y = add_relu(g, "relu", x, &d);
	ck_assert_msg(y >= 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, 2, 1, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(dnnq_graph_num_inputs(g), 2);
	struct dnnq_tensor_info ti;
	ck_assert_int_eq(dnnq_graph_input_info(g, 1, &ti), 0);
	ck_assert_str_eq(ti.name, "u");
	ck_assert_uint_eq(ti.bytes, 2u << 22);
	ck_assert_uint_lt(dnnq_graph_arena_bytes(g), 1u << 20);
	static uint8_t xb[128], yb[128];
	static float ub[1];
	for (size_t i = 0; i < sizeof xb; i++)
		xb[i] = (uint8_t)(128 + i % 64 * 2);
	const void *in[2] = { xb, ub };
	void *out[1] = { yb };
	ck_assert_int_eq(dnnq_graph_run(g, in, out, NULL), 0);
	ck_assert_uint_eq(yb[0], 0);        /* relu of 0 */
	ck_assert_uint_eq(yb[127], 50);     /* 126 * 0.02 / 0.05 = 50.4 */
	dnnq_graph_destroy(g);
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	uint8_t k[64] = { 0 };
	x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 2, dims, &qin, &d);
	ck_assert_int_ge(dnnq_graph_add_constant(g, "k", 1, dims + 1, &qin, k, &d), 0);
	ck_assert_int_eq(dnnq_graph_add_output(g, add_relu(g, "relu", x, &d), &d), 0);
	ck_assert_int_eq(dnnq_graph_finalize(g, &d), DNNQ_E_INVAL);
	ck_assert_str_eq(d.msg, "graph: constant 'k' is never used");
	dnnq_graph_destroy(g);
}
END_TEST

/* The pool runs every task of every job exactly once, whoever claims it:
 * many short jobs back to back (late workers meet closed or newer jobs),
 * counts from 0 up, on 3 threads; a task's tid is within the pool. */
struct pool_job {
	_Atomic uint32_t *hits;
	uint32_t job;
	_Atomic int bad_tid;
};

static void pool_count(void *arg, size_t i, unsigned tid)
{
	struct pool_job *j = arg;
	if (tid >= 3)
		atomic_store(&j->bad_tid, 1);
	atomic_fetch_add_explicit(&j->hits[i], j->job, memory_order_relaxed);
}

START_TEST(pool_runs_each_task_once)
{
	enum { JOBS = 20000, MAXN = 37 };
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	_Atomic uint32_t hits[MAXN];
	struct pool_job j = { hits, 0, 0 };
	for (uint32_t job = 1; job <= JOBS; job++) {
		size_t n = job % MAXN;   /* 0 tasks too */
		for (size_t i = 0; i < MAXN; i++)
			atomic_init(&hits[i], 0);
		j.job = job;
		ex.parallel_for(ex.ctx, n, pool_count, &j);   /* n = 0 and 1 too */
		for (size_t i = 0; i < MAXN; i++)
			ck_assert_msg(atomic_load(&hits[i]) == (i < n ? job : 0),
			              "job %u task %zu: %u", job, i, (unsigned)atomic_load(&hits[i]));
	}
	ck_assert_int_eq(atomic_load(&j.bad_tid), 0);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Jobs past the claim word's 16-bit unit count (daemon/pool.c: units of
 * several tasks) run every task once too; and on two threads the caller's
 * tasks come before the worker's (it claims from the front, the worker
 * from the back), so each thread keeps one part of a tensor. */
struct pool_order {
	_Atomic uint32_t *hits;
	_Atomic uint8_t *tid;
};

static void pool_mark(void *arg, size_t i, unsigned tid)
{
	struct pool_order *o = arg;
	atomic_fetch_add_explicit(&o->hits[i], 1, memory_order_relaxed);
	atomic_store_explicit(&o->tid[i], (uint8_t)tid, memory_order_relaxed);
}

START_TEST(pool_big_jobs_and_order)
{
	static const size_t ns[] = { 2, 7, 49, 65535, 65536, 200003 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct pool_order o = { malloc(200003 * sizeof *o.hits), malloc(200003) };
	ck_assert(o.hits && o.tid);
	for (int rep = 0; rep < 20; rep++)
		for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
			size_t n = ns[k], switches = 0, wrong = 0;
			for (size_t i = 0; i < n; i++)
				atomic_init(&o.hits[i], 0);
			ex.parallel_for(ex.ctx, n, pool_mark, &o);
			/* counted, then asserted once: a Check assertion per task
			 * costs a message to the runner */
			for (size_t i = 0; i < n; i++) {
				wrong += atomic_load(&o.hits[i]) != 1;
				switches += i && atomic_load(&o.tid[i]) != atomic_load(&o.tid[i - 1]);
			}
			ck_assert_msg(!wrong, "%zu tasks: %zu not run exactly once", n, wrong);
			ck_assert_msg(switches == 0 || (switches == 1 && atomic_load(&o.tid[0]) == 0),
			              "%zu tasks: the threads' parts interleave", n);
		}
	free(o.hits);
	free((void *)o.tid);
	dnnq_pool_destroy(pool);
}
END_TEST

/* daemon/claim.h alone, two claimers taking turns: thread 0's claims
 * are one run from the front, the other's one run from the back, they
 * meet with every task claimed once (past the 16-bit unit count too), and
 * a closed word (odd id) gives nothing. */
START_TEST(claims_meet_from_both_ends)
{
	static const size_t ns[] = { 1, 2, 7, 49, 65535, 65536, 200003 };
	uint8_t *owner = malloc(200003);
	ck_assert_ptr_nonnull(owner);
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		struct dnnq_claims cl;
		size_t n = ns[k], front = 0, back = n, i0, i1;
		atomic_init(&cl.word, dnnq_claims_job(&cl, n, 2));
		memset(owner, 0xff, n);
		for (unsigned turn = 0;; turn++) {
			unsigned tid = turn % 2;
			uint64_t c = atomic_load(&cl.word);
			if (!dnnq_claims_take(&cl, &c, tid, 2, &i0, &i1))
				break;
			ck_assert_uint_lt(i0, i1);
			ck_assert_uint_eq(tid ? i1 : i0, tid ? back : front);
			for (size_t i = i0; i < i1; i++) {
				ck_assert_uint_eq(owner[i], 0xff);
				owner[i] = (uint8_t)tid;
			}
			if (tid)
				back = i0;
			else
				front = i1;
		}
		ck_assert_uint_eq(front, back);
		for (size_t i = 0; i < n; i++)
			ck_assert_uint_eq(owner[i], i >= front);
		atomic_store(&cl.word, dnnq_claims_job(&cl, n, 3));
		uint64_t c = atomic_load(&cl.word);
		ck_assert_uint_eq(dnnq_claims_take(&cl, &c, 0, 2, &i0, &i1), 0);
	}
	free(owner);
}
END_TEST

/* The word that opens a job with thread 0's first claim in it holds what
 * thread 0's first dnnq_claims_take would have left, and the tasks are
 * that claim's, for every size and thread count (past the 16-bit unit
 * count too). */
START_TEST(claims_open_with_first_claim)
{
	static const size_t ns[] = { 1, 2, 3, 7, 8, 14, 21, 49, 196, 65535, 65536, 200003 };
	for (unsigned nt = 1; nt <= 4; nt++)
		for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
			struct dnnq_claims a, b;
			size_t i0, i1, j0, j1;
			uint32_t ka;
			atomic_init(&a.word, dnnq_claims_open_first(&a, ns[k], 2, nt, &ka, &i0, &i1));
			atomic_init(&b.word, dnnq_claims_job(&b, ns[k], 2));
			uint64_t c = atomic_load(&b.word);
			ck_assert_uint_eq(dnnq_claims_take(&b, &c, 0, nt, &j0, &j1), ka);
			ck_assert_uint_eq(atomic_load(&a.word), atomic_load(&b.word));
			ck_assert_uint_eq(i0, 0);
			ck_assert_uint_eq(i0, j0);
			ck_assert_uint_eq(i1, j1);
		}
}
END_TEST

/* Claims of a job of 49 tasks in the order given: each takes k units,
 * tasks [i0, i1) (k 0: none left). */
struct claim_step {
	unsigned tid, nthreads;
	uint32_t k;
	size_t i0, i1;
};

static void claim_steps(const struct claim_step *s, size_t n)
{
	struct dnnq_claims cl;
	atomic_init(&cl.word, dnnq_claims_job(&cl, 49, 2));
	for (size_t i = 0; i < n; i++) {
		uint64_t c = atomic_load(&cl.word);
		size_t i0 = 0, i1 = 0;
		ck_assert_uint_eq(dnnq_claims_take(&cl, &c, s[i].tid, s[i].nthreads, &i0, &i1),
		                  s[i].k);
		ck_assert_msg(!s[i].k || (i0 == s[i].i0 && i1 == s[i].i1),
		              "claim %zu: tasks [%zu, %zu), not [%zu, %zu)", i, i0, i1, s[i].i0, s[i].i1);
	}
}

/* daemon/claim.h's claims of a thread's own side: a fair share (the
 * caller rounding up) of at least DNNQ_CLAIM_TAIL_MIN units is taken in
 * two claims, all but an eighth of it, then that eighth next to the
 * middle, so two threads that both arrive meet at the middle in two
 * claims each; a smaller share is one claim. A thread whose side is done
 * takes shares of what is left of the other's, from the middle: the
 * tail of a thread that is late is taken by the other; a worker that
 * comes after the caller has taken more than its share takes a share of
 * what is left, and so does a second worker on three threads. */
START_TEST(claims_take_own_side_then_tail)
{
	static const size_t ns[] = { 1, 2, 7, 8, 14, 21, 49, 65535, 200003 };
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		struct dnnq_claims cl;
		size_t n = ns[k], i0, i1;
		atomic_init(&cl.word, dnnq_claims_job(&cl, n, 2));
		uint32_t units = cl.units, fair[2] = { (units + 1) / 2, units / 2 };
		size_t half = fair[0] * cl.per_unit;
		for (unsigned tid = 0; tid < 2; tid++) {
			uint32_t tail = fair[tid] >= DNNQ_CLAIM_TAIL_MIN ? (fair[tid] + 7) / 8 : 0;
			uint64_t c = atomic_load(&cl.word);
			if (!fair[tid]) {
				ck_assert_uint_eq(dnnq_claims_take(&cl, &c, tid, 2, &i0, &i1), 0);
				continue;
			}
			ck_assert_uint_eq(dnnq_claims_take(&cl, &c, tid, 2, &i0, &i1), fair[tid] - tail);
			ck_assert_uint_eq(tid ? i1 : i0, tid ? n : 0);
			if (tail) {
				c = atomic_load(&cl.word);
				ck_assert_uint_eq(dnnq_claims_take(&cl, &c, tid, 2, &i0, &i1), tail);
			}
			ck_assert_uint_eq(tid ? i0 : i1, half < n ? half : n);   /* at the middle */
		}
		uint64_t c = atomic_load(&cl.word);
		ck_assert_uint_eq(dnnq_claims_take(&cl, &c, 0, 2, &i0, &i1), 0);
	}
	/* 49 tasks, the worker late: the caller takes its 25 in 21 and 4,
	 * then steals 6 (24 / 4) of the worker's side; the worker takes the
	 * rest of its side but the tail, 18 - 3, then the tail */
	static const struct claim_step late_worker[] = {
		{ 0, 2, 21, 0, 21 }, { 0, 2, 4, 21, 25 }, { 0, 2, 6, 25, 31 },
		{ 1, 2, 15, 34, 49 }, { 1, 2, 3, 31, 34 }, { 0, 2, 0, 0, 0 },
	};
	/* the caller late: the worker takes its 24 in 21 and 3, then steals
	 * 6 (25 / 4) next to the middle; the caller its 19 left in 15 and 4 */
	static const struct claim_step late_caller[] = {
		{ 1, 2, 21, 28, 49 }, { 1, 2, 3, 25, 28 }, { 1, 2, 6, 19, 25 },
		{ 0, 2, 15, 0, 15 }, { 0, 2, 4, 15, 19 }, { 1, 2, 0, 0, 0 },
	};
	/* three threads: the caller 17 (14 and 3); a worker 16 less its tail
	 * of 2 (the back side is 32, a claim at most a fair share), the second
	 * worker as much; the 4 left of the back side in 2 and 2 */
	static const struct claim_step three[] = {
		{ 0, 3, 14, 0, 14 }, { 0, 3, 3, 14, 17 }, { 1, 3, 14, 35, 49 },
		{ 2, 3, 14, 21, 35 }, { 1, 3, 2, 19, 21 }, { 2, 3, 2, 17, 19 },
		{ 0, 3, 0, 0, 0 },
	};
	claim_steps(late_worker, sizeof late_worker / sizeof late_worker[0]);
	claim_steps(late_caller, sizeof late_caller / sizeof late_caller[0]);
	claim_steps(three, sizeof three / sizeof three[0]);
}
END_TEST

/* The pool's sleeps: between jobs the workers sleep (a pause longer than
 * their spin), and in each job the caller waits past its spin for the
 * worker's task, so both are woken through the sleeping count and the
 * waiting flag (daemon/pool.c). A lost wake-up hangs the test. Each job's
 * two tasks meet, so each runs on its own thread; the worker's finishes
 * late. */
struct pool_meet {
	_Atomic unsigned started;
	_Atomic unsigned done;
};

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000 }, NULL);
}

static void pool_meet_task(void *arg, size_t i, unsigned tid)
{
	(void)i;
	struct pool_meet *m = arg;
	atomic_fetch_add(&m->started, 1);
	while (atomic_load(&m->started) < 2)
		;
	if (tid)
		sleep_ms(10);
	atomic_fetch_add(&m->done, 1);
}

/* jobs of two meeting tasks, each after 10 ms idle (the workers asleep) */
static void meet_after_sleeps(const struct dnnq_executor *ex, int jobs)
{
	for (int job = 0; job < jobs; job++) {
		struct pool_meet m = { 0, 0 };
		sleep_ms(10);
		ex->parallel_for(ex->ctx, 2, pool_meet_task, &m);
		ck_assert_uint_eq(atomic_load(&m.done), 2);
	}
}

START_TEST(pool_wakes_sleepers)
{
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	meet_after_sleeps(&ex, 10);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Jobs posted while the workers are falling asleep (gaps around the
 * pool's spin, ~0.5 ms on a 2-GHz Zen 5, from 0.1 to 1 ms): a worker
 * that misses a job's opening leaves it to the caller (every task still
 * runs once), and a later job wakes it (the meeting tasks, which need
 * both threads, end). */
START_TEST(pool_jobs_as_workers_fall_asleep)
{
	enum { MAXN = 19 };
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	_Atomic uint32_t hits[MAXN];
	struct pool_job j = { hits, 0, 0 };
	for (uint32_t job = 1; job <= 300; job++) {
		struct timespec ts = { 0, 100000 + (long)(job * 7919 % 900) * 1000 };
		nanosleep(&ts, NULL);
		size_t n = 2 + job % (MAXN - 1);
		for (size_t i = 0; i < MAXN; i++)
			atomic_init(&hits[i], 0);
		j.job = job;
		ex.parallel_for(ex.ctx, n, pool_count, &j);
		for (size_t i = 0; i < MAXN; i++)
			ck_assert_uint_eq(atomic_load(&hits[i]), i < n ? job : 0);
	}
	ck_assert_int_eq(atomic_load(&j.bad_tid), 0);
	meet_after_sleeps(&ex, 3);
	dnnq_pool_destroy(pool);
}
END_TEST

/* An executor that runs every task on the calling thread and counts the
 * jobs it was given: which nodes the plan splits. */
static void count_jobs(void *ctx, size_t n, dnnq_task_fn fn, void *arg)
{
	++*(unsigned *)ctx;
	for (size_t i = 0; i < n; i++)
		fn(arg, i, (unsigned)(i % 2));
}

enum { BH = 28, BW = 28, BC = 16, BC2 = 32 };

/* y -> gap; y and the pool are g's outputs; g finalized. */
static struct dnnq_graph *finish_with_gap(struct dnnq_graph *g, int y, struct dnnq_diag *d)
{
	struct dnnq_node_desc gap = { .kind = DNNQ_NODE_GAVGPOOL, .name = "gap" };
	gap.op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = net_isa(), .out_qp = qa };
	return finish_with(g, y, &gap, d);
}

/* Random weights (n), and per channel (BC2) scales in [smin, smax] and
 * biases. */
static void random_conv(struct rng *r, int8_t *w, size_t n, float *s, float *b, double smin,
                        double smax)
{
	for (size_t i = 0; i < n; i++)
		w[i] = (int8_t)rng_int(r, -127, 127);
	for (int i = 0; i < BC2; i++) {
		s[i] = (float)rng_uniform(r, smin, smax);
		b[i] = (float)rng_uniform(r, -0.5, 0.5);
	}
}

/* A new graph *g with input x (BH x BW x BC) -> conv `name`: its output. */
static int conv_on_input(struct dnnq_graph **g, const char *name, struct dnnq_conv_desc conv,
                         struct dnnq_diag *d)
{
	ck_assert_int_eq(dnnq_graph_create(g), 0);
	int64_t dims[4] = { 0, BH, BW, BC };
	int x = dnnq_graph_add_input(*g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, d);
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = name, .ninputs = 1,
	                            .inputs = { x } };
	n.op.conv = conv;
	int c = dnnq_graph_add_node(*g, &n, d);
	ck_assert_msg(c >= 0, "%s", d->msg);
	return c;
}

/* x (BH x BW x BC) -> big: a 3x3 conv to BC2 channels -> gap -> output;
 * the conv's output is an output too. */
static struct dnnq_graph *build_big_small(const int8_t *wb, const float *s, const float *b,
                                          struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int c = conv_on_input(&g, "big", conv3x3(wb, s, b, BC, BC2, false, qb), d);
	return finish_with_gap(g, c, d);
}

/* The plan splits a node over the executor only when its work pays for a
 * fork and join: the 3x3 conv (3.6 M multiply-adds) is split, the global
 * pool of its 25 KiB and the small network's nodes run on the calling
 * thread; either way the bytes are those of a run without executor. */
START_TEST(graph_splits_big_nodes_only)
{
	struct rng r = { 29 };
	static int8_t wb[BC2 * 9 * BC];
	float s[BC2], b[BC2];
	random_conv(&r, wb, sizeof wb, s, b, 0.0005, 0.002);
	struct dnnq_diag d;
	struct dnnq_graph *g = build_big_small(wb, s, b, &d);
	ck_assert_msg(dnnq_graph_plan(g, 1, 2, &d) == 0, "%s", d.msg);
	struct dnnq_node_info ni;
	ck_assert_int_eq(dnnq_graph_node_info(g, 0, &ni), 0);
	ck_assert(!ni.serial);
	ck_assert_int_eq(dnnq_graph_node_info(g, 1, &ni), 0);
	ck_assert(ni.serial);
	static uint8_t x[BH * BW * BC], y1[BH * BW * BC2], y2[BH * BW * BC2];
	uint8_t p1[BC2], p2[BC2];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	const void *in[1] = { x };
	void *o1[2] = { y1, p1 }, *o2[2] = { y2, p2 };
	ck_assert_int_eq(dnnq_graph_run(g, in, o1, NULL), 0);
	unsigned jobs = 0;
	struct dnnq_executor ex = { count_jobs, &jobs, 2 };
	ck_assert_int_eq(dnnq_graph_run(g, in, o2, &ex), 0);
	ck_assert_uint_eq(jobs, 1);   /* the conv's alone */
	ck_assert_mem_eq(y1, y2, sizeof y1);
	ck_assert_mem_eq(p1, p2, sizeof p1);
	dnnq_graph_destroy(g);
	/* the small network: nothing worth a fork */
	struct weights *w = malloc(sizeof *w);
	make_weights(&r, w);
	g = build(w, &d, qb.scale);
	ck_assert_int_eq(dnnq_graph_plan(g, 1, 2, &d), 0);
	uint8_t xs[H * W * C] = { 0 }, logits[NCLS];
	float prob[NCLS];
	const void *ins[1] = { xs };
	void *outs[2] = { logits, prob };
	jobs = 0;
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, &ex), 0);
	ck_assert_uint_eq(jobs, 0);
	dnnq_graph_destroy(g);
	free(w);
}
END_TEST

/* A squeeze-excite 1x1 convolution of one pixel reads each of its
 * weights for one multiply-add: with WC x WC = 64 K weights it is split
 * (the plan counts weight bytes as work), and it gives the bytes it gives
 * without an executor. With 16 x 16 it runs serial. */
enum { WC = 256 };

static bool pointwise_split(size_t c, const int8_t *w, const float *s, const float *b)
{
	struct dnnq_diag d;
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[4] = { 0, 1, 1, (int64_t)c };
	int x = dnnq_graph_add_input(g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, &d);
	struct dnnq_conv_desc cd = conv3x3(w, s, b, c, c, true, qa);
	cd.kh = cd.kw = 1;
	cd.pad_t = cd.pad_l = cd.pad_b = cd.pad_r = 0;
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = "fc1", .ninputs = 1,
	                            .inputs = { x } };
	n.op.conv = cd;
	int y = dnnq_graph_add_node(g, &n, &d);
	ck_assert_msg(y >= 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, 1, 2, &d) == 0, "%s", d.msg);
	struct dnnq_node_info ni;
	ck_assert_int_eq(dnnq_graph_node_info(g, 0, &ni), 0);
	uint8_t in[WC], o1[WC], o2[WC];
	for (size_t i = 0; i < c; i++)
		in[i] = (uint8_t)(i * 37 + 11);
	const void *ins[1] = { in };
	void *outs1[1] = { o1 }, *outs2[1] = { o2 };
	unsigned jobs = 0;
	struct dnnq_executor ex = { count_jobs, &jobs, 2 };
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs1, NULL), 0);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs2, &ex), 0);
	ck_assert_uint_eq(jobs, ni.serial ? 0 : 1);
	ck_assert_mem_eq(o1, o2, c);
	dnnq_graph_destroy(g);
	return !ni.serial;
}

START_TEST(graph_splits_wide_pointwise)
{
	struct rng r = { 31 };
	static int8_t w[WC * WC];
	static float s[WC], b[WC];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (int8_t)rng_int(&r, -127, 127);
	for (int i = 0; i < WC; i++) {
		s[i] = (float)rng_uniform(&r, 0.0002, 0.001);
		b[i] = (float)rng_uniform(&r, -0.5, 0.5);
	}
	ck_assert(pointwise_split(WC, w, s, b));
	ck_assert(!pointwise_split(16, w, s, b));
}
END_TEST

/* Node n added to g: its output (asserted). */
static int add_checked(struct dnnq_graph *g, const struct dnnq_node_desc *n, struct dnnq_diag *d)
{
	int y = dnnq_graph_add_node(g, n, d);
	ck_assert_msg(y >= 0, "%s", d->msg);
	return y;
}

/* An activation node after x: kind k, output qparams qa. */
static int add_act(struct dnnq_graph *g, const char *name, int x, enum dnnq_activation_kind k,
                   struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_ACTIVATION, .name = name, .ninputs = 1,
	                            .inputs = { x } };
	n.op.activation = (struct dnnq_activation_desc){ .isa = net_isa(), .kind = k,
	                                                 .p = { 1.0f / 6, 0.5f, 0, 0 },
	                                                 .out_qp = qa };
	return add_checked(g, &n, d);
}

/* An eltwise node `name` of op on a and b, output qparams q. */
static int add_eltwise(struct dnnq_graph *g, const char *name, enum dnnq_eltwise_op op, int a,
                       int b, struct dnnq_qparams q, struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_ELTWISE, .name = name, .ninputs = 2,
	                            .inputs = { a, b } };
	n.op.eltwise = (struct dnnq_eltwise_desc){ .isa = net_isa(), .op = op, .out_qp = q };
	return add_checked(g, &n, d);
}

/* A conv `name` of x. */
static int add_conv(struct dnnq_graph *g, const char *name, int x, struct dnnq_conv_desc cd,
                    struct dnnq_diag *d)
{
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = name, .ninputs = 1,
	                            .inputs = { x } };
	n.op.conv = cd;
	return add_checked(g, &n, d);
}

/* A global pool `name` of x, an output of g. */
static void gap_output(struct dnnq_graph *g, const char *name, int x, struct dnnq_diag *d)
{
	struct dnnq_node_desc gap = { .kind = DNNQ_NODE_GAVGPOOL, .name = name, .ninputs = 1,
	                              .inputs = { x } };
	gap.op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = net_isa(), .out_qp = qa };
	ck_assert_int_eq(dnnq_graph_add_output(g, add_checked(g, &gap, d), d), 0);
}

/* A new graph *g with input x (h x w x c, u8): x. */
static int nhwc_input(struct dnnq_graph **g, int64_t h, int64_t w, int64_t c,
                      struct dnnq_diag *d)
{
	ck_assert_int_eq(dnnq_graph_create(g), 0);
	int64_t dims[4] = { 0, h, w, c };
	return dnnq_graph_add_input(*g, "x", DNNQ_DTYPE_U8, 4, dims, &qin, d);
}

/* The same, BH x BW x 3. */
static int rgb_input(struct dnnq_graph **g, struct dnnq_diag *d)
{
	return nhwc_input(g, BH, BW, 3, d);
}

/* x (BH x BW x 3) -> 3x3 conv to BC -> HardSwish -> 3x3 depthwise ->
 * Sigmoid -> 1x1 conv to BC2 -> HardSigmoid -> gap; the last activation
 * and the pool are the outputs. Each convolution path (im2col, on AVX2
 * with int16 pairs for 3 channels; depthwise; the 1x1 GEMM) then applies
 * an activation in its output stage. */
static struct dnnq_graph *build_fused(const int8_t *w, const float *s, const float *b,
                                      struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = rgb_input(&g, d);
	int c = add_conv(g, "c1", x, conv3x3(w, s, b, 3, BC, false, qb), d);
	struct dnnq_conv_desc dw = conv3x3(w, s, b, BC, BC, false, qb);
	dw.groups = BC;
	c = add_conv(g, "dw", add_act(g, "hswish", c, DNNQ_ACT_HARD_SWISH, d), dw, d);
	struct dnnq_conv_desc pw = conv3x3(w, s, b, BC, BC2, false, qb);
	pw.kh = pw.kw = 1;
	pw.pad_t = pw.pad_l = pw.pad_b = pw.pad_r = 0;
	c = add_conv(g, "c2", add_act(g, "sigmoid", c, DNNQ_ACT_SIGMOID, d), pw, d);
	return finish_with_gap(g, add_act(g, "hsig", c, DNNQ_ACT_HARD_SIGMOID, d), d);
}

/* One run of build_fused's graph at batch 2 on ex; the shadow run too
 * (shadow), which runs the activations as nodes of their own. */
static void run_fused(const int8_t *w, const float *s, const float *b, const uint8_t *x,
                      const struct dnnq_executor *ex, bool shadow, uint8_t *y, uint8_t *p)
{
	struct dnnq_diag d;
	struct dnnq_graph *g = build_fused(w, s, b, &d);
	ck_assert_msg(dnnq_graph_plan(g, 2, 2, &d) == 0, "%s", d.msg);
	static const bool fused[8] = { false, true, false, true, false, true, false };
	for (size_t i = 0; i < dnnq_graph_num_nodes(g); i++) {
		struct dnnq_node_info ni;
		ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
		ck_assert_msg(ni.fused == fused[i], "node %zu (%s): fused %d", i, ni.name, ni.fused);
	}
	const void *in[1] = { x };
	void *out[2] = { y, p };
	struct dnnq_node_report rep[7];
	ck_assert_int_eq(shadow ? dnnq_graph_shadow(g, in, out, ex, rep)
	                        : dnnq_graph_run(g, in, out, ex), 0);
	/* each node's own output in the shadow: the convolution's before the
	 * table (else its SQNR is that of a HardSwish: ~0 dB) */
	for (size_t i = 0; shadow && i < 7; i++)
		ck_assert_msg(rep[i].local_sqnr_db > (i % 2 ? 8 : 20), "%s: local SQNR %.1f dB",
		              rep[i].name, rep[i].local_sqnr_db);
	dnnq_graph_destroy(g);
}

/* _i: the ISA. A table activation after a convolution is applied in the
 * convolution's output stage and does not run; the bytes are those of the
 * shadow run, which runs it as a node, and of the scalar kernels, on 1
 * and 2 threads (the counting executor splits the convolutions). */
START_TEST(graph_fuses_activations)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	struct rng r = { 31 };
	static int8_t w[BC2 * 9 * BC];
	float s[BC2], b[BC2];
	random_conv(&r, w, sizeof w, s, b, 0.001, 0.003);
	static uint8_t x[2 * BH * BW * 3], y[4][2 * BH * BW * BC2];
	uint8_t p[4][2 * BC2];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	unsigned jobs = 0;
	struct dnnq_executor ex = { count_jobs, &jobs, 2 };
	net_isa_set = DNNQ_ISA_SCALAR;
	run_fused(w, s, b, x, NULL, false, y[0], p[0]);
	net_isa_set = (enum dnnq_isa)_i;
	run_fused(w, s, b, x, NULL, false, y[1], p[1]);
	run_fused(w, s, b, x, &ex, false, y[2], p[2]);
	ck_assert_uint_ge(jobs, 3);
	run_fused(w, s, b, x, &ex, true, y[3], p[3]);
	for (int k = 1; k < 4; k++) {
		ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "run %d: %s", k,
		              dnnq_isa_name(net_isa_set));
		ck_assert_mem_eq(p[k], p[0], sizeof p[0]);
	}
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* x (BH x BW x BC) -> 3x3 depthwise -> HardSwish -> a; a -> gap1; a ->
 * 3x3 depthwise stride 2 (ReLU) -> gap2; the pools are the outputs, each
 * adding its depthwise convolution's row sums. */
static struct dnnq_graph *build_pooled(const int8_t *w, const float *s, const float *b,
                                       struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	struct dnnq_conv_desc dw = conv3x3(w, s, b, BC, BC, false, qb);
	dw.groups = BC;
	int c = conv_on_input(&g, "dw1", dw, d);
	int a = add_act(g, "hswish", c, DNNQ_ACT_HARD_SWISH, d);
	struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = "dw2", .ninputs = 1,
	                            .inputs = { a } };
	n.op.conv = conv3x3(w, s, b, BC, BC, true, qa);
	n.op.conv.groups = BC;
	n.op.conv.stride_h = n.op.conv.stride_w = 2;
	c = dnnq_graph_add_node(g, &n, d);
	ck_assert_msg(c >= 0, "%s", d->msg);
	gap_output(g, "gap1", a, d);
	gap_output(g, "gap2", c, d);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* _i: the ISA. A global pool of a depthwise convolution's output adds the
 * sums the convolution's tasks took of the rows they stored: the bytes of
 * the pool on the pixels (the shadow run's, which pools them, and the
 * scalar kernels'), on 1 and 2 threads, at batch 2. */
START_TEST(graph_pools_where_made)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	struct rng r = { 37 };
	int8_t w[BC * 9];
	float s[BC2], b[BC2];
	random_conv(&r, w, sizeof w, s, b, 0.005, 0.02);
	static uint8_t x[2 * BH * BW * BC];
	uint8_t y[4][2][2 * BC];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	unsigned jobs = 0;
	struct dnnq_executor ex = { count_jobs, &jobs, 2 };
	const void *in[1] = { x };
	struct dnnq_node_report rep[6];
	for (int k = 0; k < 4; k++) {
		net_isa_set = k ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
		struct dnnq_diag d;
		struct dnnq_graph *g = build_pooled(w, s, b, &d);
		ck_assert_msg(dnnq_graph_plan(g, 2, 2, &d) == 0, "%s", d.msg);
		for (size_t i = 0; i < dnnq_graph_num_nodes(g); i++) {
			struct dnnq_node_info ni;
			ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
			ck_assert_msg(ni.summed == (ni.kind == DNNQ_NODE_GAVGPOOL), "%s", ni.name);
		}
		void *out[2] = { y[k][0], y[k][1] };
		ck_assert_int_eq(k == 3 ? dnnq_graph_shadow(g, in, out, &ex, rep)
		                        : dnnq_graph_run(g, in, out, k == 2 ? &ex : NULL), 0);
		dnnq_graph_destroy(g);
		ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "run %d: %s", k,
		              dnnq_isa_name(net_isa_set));
	}
	ck_assert_uint_ge(jobs, 2);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* Whether node `name` of g does not run as a node of its own. */
static bool node_fused(const struct dnnq_graph *g, const char *name)
{
	for (size_t i = 0; i < dnnq_graph_num_nodes(g); i++) {
		struct dnnq_node_info ni;
		ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
		if (!strcmp(ni.name, name))
			return ni.fused;
	}
	ck_abort_msg("no node %s", name);
	return false;
}

/* x (7 x 32 x 72) -> 3x3 depthwise -> HardSwish -> a; a and a pool of a
 * (the depthwise convolution's row sums, after the table) are the
 * outputs: on two threads an odd number of rows, the middle one in two
 * tasks of half the channels (32 and 40). */
enum { MH = 7, MW = 32, MC = 72 };   /* wide enough not to run serially */
static struct dnnq_graph *build_mid_row(const int8_t *w, const float *s, const float *b,
                                        struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = nhwc_input(&g, MH, MW, MC, d);
	struct dnnq_conv_desc dw = conv3x3(w, s, b, MC, MC, false, qb);
	dw.groups = MC;
	int a = add_act(g, "hswish", add_conv(g, "dw", x, dw, d), DNNQ_ACT_HARD_SWISH, d);
	ck_assert_int_eq(dnnq_graph_add_output(g, a, d), 0);
	gap_output(g, "gap", a, d);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* _i: the ISA. The middle row of a depthwise convolution split in two
 * tasks (build_mid_row), its table and row sums fused, at batch 1 and 3:
 * the pixels and the pool those of the scalar kernels on one thread, on
 * 1 and 2 threads (a pool, and the tasks in order with their thread ids)
 * and apart (the shadow run). */
START_TEST(graph_splits_middle_row)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	struct rng r = { 59 };
	int8_t w[MC * 9];
	float s[MC], b[MC];
	random_conv(&r, w, sizeof w, s, b, 0.005, 0.02);   /* BC2 channels' scales */
	for (size_t i = BC2; i < MC; i++) {
		s[i] = s[i - BC2];
		b[i] = -b[i - BC2];
	}
	static uint8_t x[3 * MH * MW * MC], y[5][2][3 * MH * MW * MC];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	unsigned jobs = 0;
	struct dnnq_pool *pool2 = dnnq_pool_create(2, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool2), counted = { count_jobs, &jobs, 2 };
	const struct dnnq_executor *ex[5] = { NULL, NULL, &two, &counted, &two };
	const void *in[1] = { x };
	struct dnnq_node_report rep[3];
	for (size_t batch = 1; batch <= 3; batch += 2)
		for (int k = 0; k < 5; k++) {
			net_isa_set = k ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
			struct dnnq_diag d;
			struct dnnq_graph *g = build_mid_row(w, s, b, &d);
			ck_assert_msg(dnnq_graph_plan(g, batch, 2, &d) == 0, "%s", d.msg);
			ck_assert_msg(node_fused(g, "hswish"), "table not fused");
			memset(y[k], 0, sizeof y[k]);
			void *out[2] = { y[k][0], y[k][1] };
			ck_assert_int_eq(k == 4 ? dnnq_graph_shadow(g, in, out, ex[k], rep)
			                        : dnnq_graph_run(g, in, out, ex[k]), 0);
			dnnq_graph_destroy(g);
			ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "batch %zu run %d: %s", batch, k,
			              dnnq_isa_name(net_isa_set));
			ck_assert_msg(k || memcmp(y[0][1], y[0][1] + 1, MC - 1), "flat pool");
		}
	ck_assert_uint_ge(jobs, 2);
	dnnq_pool_destroy(pool2);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* x (BH x BW x 3) -> c0 (3x3, ReLU); x -> c1 (3x3; int16 pairs on AVX2)
 * -> a1 = Add(c0, c1) -> c2 (3x3 depthwise) -> a2 = SumRelu(c2, a1) ->
 * c3 (1x1, the GEMM) -> a3 = Add(c3, a2) -> c4 (3x3 from 16 channels:
 * the VNNI segments) -> a4 = Add(c4, a3); a4 and a pool of a2 (the
 * depthwise convolution's row sums, taken after the Add) are the outputs.
 * Then ResNet's downsample: a4 -> c5 (3x3 stride 2) and s5 (1x1 stride 2:
 * im2col, blocks of pixels across output rows and the two images) -> a5
 * = Add(s5, c5); x -> s6 (1x1 stride 2 of 3 channels: on AVX2 the int16
 * pairs) -> a6 = SumRelu(s6, a5), the third output. Each Add runs in the
 * output stage of the convolution it reads, which is its input 1 (a1) or
 * 0 (the others). */
static struct dnnq_graph *build_residual(const int8_t *w, const float *s, const float *b,
                                         struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = rgb_input(&g, d);
	int c0 = add_conv(g, "c0", x, conv3x3(w, s, b, 3, BC, true, qa), d);
	int c1 = add_conv(g, "c1", x, conv3x3(w + 7, s, b, 3, BC, false, qb), d);
	int a = add_eltwise(g, "a1", DNNQ_ELTWISE_ADD, c0, c1, qb, d);
	struct dnnq_conv_desc dw = conv3x3(w, s, b, BC, BC, false, qb);
	dw.groups = BC;
	int a2 = add_eltwise(g, "a2", DNNQ_ELTWISE_SUM_RELU, add_conv(g, "c2", a, dw, d), a, qa, d);
	struct dnnq_conv_desc pw = conv3x3(w + 11, s, b, BC, BC, false, qb);
	pw.kh = pw.kw = 1;
	pw.pad_t = pw.pad_l = pw.pad_b = pw.pad_r = 0;
	a = add_eltwise(g, "a3", DNNQ_ELTWISE_ADD, add_conv(g, "c3", a2, pw, d), a2, qb, d);
	struct dnnq_conv_desc c4 = conv3x3(w + 13, s, b, BC, BC, false, qb);
	a = add_eltwise(g, "a4", DNNQ_ELTWISE_ADD, add_conv(g, "c4", a, c4, d), a, qb, d);
	ck_assert_int_eq(dnnq_graph_add_output(g, a, d), 0);
	gap_output(g, "gap", a2, d);
	struct dnnq_conv_desc c5 = conv3x3(w + 5, s, b, BC, BC, true, qa);
	c5.stride_h = c5.stride_w = 2;
	struct dnnq_conv_desc s5 = pw;
	s5.w = w + 9;
	s5.stride_h = s5.stride_w = 2;
	struct dnnq_conv_desc s6 = s5;
	s6.cin = 3;
	s6.w = w + 15;
	int c5n = add_conv(g, "c5", a, c5, d);
	a = add_eltwise(g, "a5", DNNQ_ELTWISE_ADD, add_conv(g, "s5", a, s5, d), c5n, qb, d);
	a = add_eltwise(g, "a6", DNNQ_ELTWISE_SUM_RELU, add_conv(g, "s6", x, s6, d), a, qa, d);
	ck_assert_int_eq(dnnq_graph_add_output(g, a, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

enum { NRES = 15 };   /* build_residual's nodes */

/* _i: the ISA. A residual Add (SumRelu) after a convolution runs in the
 * convolution's output stage, on each tile a task stored; the bytes are
 * those of the nodes run apart (dnnq_graph_run_nodes: nothing fused) and
 * of the scalar kernels, on 1 and 2 threads (the counting executor and
 * the pool), and the shadow run reports each node's own output: the
 * convolution's before the Add. */
START_TEST(graph_fuses_residual_adds)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	struct rng r = { 41 };
	static int8_t w[9 * BC * BC + 16];
	float s[BC2], b[BC2];
	random_conv(&r, w, sizeof w, s, b, 0.001, 0.003);
	static uint8_t x[2 * BH * BW * 3], y[8][2 * BH * BW * BC], y6[8][2 * BH * BW * BC / 4];
	uint8_t p[8][2 * BC];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	unsigned jobs = 0;
	struct dnnq_executor count = { count_jobs, &jobs, 2 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool);
	/* run k: scalar; the ISA fused on 1 thread, 2 (counting), 2 (pool);
	 * apart on 1, 2 (counting), 2 (pool); the shadow run on 2 */
	const struct dnnq_executor *ex[8] = { NULL, NULL, &count, &two, NULL, &count, &two, &two };
	static const char fused[NRES] = "001010101000101";
	struct dnnq_node_report rep[NRES];
	const void *in[1] = { x };
	for (int k = 0; k < 8; k++) {
		net_isa_set = k ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
		struct dnnq_diag d;
		struct dnnq_graph *g = build_residual(w, s, b, &d);
		ck_assert_msg(dnnq_graph_plan(g, 2, 2, &d) == 0, "%s", d.msg);
		ck_assert_uint_eq(dnnq_graph_num_nodes(g), NRES);
		for (size_t i = 0; i < NRES; i++) {
			struct dnnq_node_info ni;
			ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
			ck_assert_msg(ni.fused == (fused[i] == '1'), "%s: fused %d", ni.name, ni.fused);
			ck_assert_msg(ni.summed == (i == 9), "%s: summed %d", ni.name, ni.summed);
		}
		void *out[3] = { y[k], p[k], y6[k] };
		int rc = k == 7 ? dnnq_graph_shadow(g, in, out, ex[k], rep)
		       : k >= 4 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0, NRES)
		                : dnnq_graph_run(g, in, out, ex[k]);
		ck_assert_int_eq(rc, 0);
		dnnq_graph_destroy(g);
		ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "run %d: %s", k,
		              dnnq_isa_name(net_isa_set));
		ck_assert_msg(!memcmp(p[k], p[0], sizeof p[0]), "run %d: %s pool", k,
		              dnnq_isa_name(net_isa_set));
		ck_assert_msg(!memcmp(y6[k], y6[0], sizeof y6[0]), "run %d: %s downsample", k,
		              dnnq_isa_name(net_isa_set));
	}
	dnnq_pool_destroy(pool);
	ck_assert_uint_ge(jobs, 8);
	/* a convolution's output with the skip added already would be some
	 * dB off its reference; the values are not saturated throughout */
	for (size_t i = 0; i < NRES; i++)
		ck_assert_msg(rep[i].local_sqnr_db > 25, "%s: local SQNR %.1f dB", rep[i].name,
		              rep[i].local_sqnr_db);
	size_t distinct = 0, distinct6 = 0;
	for (size_t i = 1; i < sizeof y[0]; i++)
		distinct += y[0][i] != y[0][i - 1];
	for (size_t i = 1; i < sizeof y6[0]; i++)
		distinct6 += y6[0][i] != y6[0][i - 1];
	ck_assert_uint_gt(distinct, sizeof y[0] / 4);
	ck_assert_uint_gt(distinct6, sizeof y6[0] / 4);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

static struct dnnq_conv_desc conv1x1(const int8_t *w, const float *s, const float *b,
                                     size_t cin, size_t cout, bool relu,
                                     struct dnnq_qparams out)
{
	struct dnnq_conv_desc cd = conv3x3(w, s, b, cin, cout, relu, out);
	cd.kh = cd.kw = 1;
	cd.pad_t = cd.pad_l = cd.pad_b = cd.pad_r = 0;
	return cd;
}

/* The 1x1 tests' weights (random_conv's, scales in [0.002, 0.01]) and
 * input (batch 2 of BH x BW x 3), from seed. */
struct pw_fixture {
	int8_t w[9 * BC * BC2 + 16];
	float s[BC2], b[BC2];
	uint8_t x[2 * BH * BW * 3];
};

static void pw_fixture_make(struct pw_fixture *f, uint64_t seed)
{
	struct rng r = { seed };
	random_conv(&r, f->w, sizeof f->w, f->s, f->b, 0.002, 0.01);
	for (size_t i = 0; i < sizeof f->x; i++)
		f->x[i] = (uint8_t)rng_int(&r, 0, 255);
}

/* A new graph *g: x (BH x BW x 3) -> c1 (3x3) -> c2 (3x3 depthwise) ->
 * pool -> f (1x1, the excitation) -> m = Mul(c2 or f first, the other
 * second), a squeeze-and-excitation scale: m's output. */
static int add_scaled(struct dnnq_graph **gp, const int8_t *w, const float *s, const float *b,
                      bool scale_first, struct dnnq_diag *d)
{
	int x = rgb_input(gp, d);
	struct dnnq_graph *g = *gp;
	int c1 = add_conv(g, "c1", x, conv3x3(w, s, b, 3, BC, false, qb), d);
	struct dnnq_conv_desc dw = conv3x3(w + 3, s, b, BC, BC, false, qb);
	dw.groups = BC;
	int c2 = add_conv(g, "c2", c1, dw, d);
	struct dnnq_node_desc gap = { .kind = DNNQ_NODE_GAVGPOOL, .name = "pool", .ninputs = 1,
	                              .inputs = { c2 } };
	gap.op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = net_isa(), .out_qp = qa };
	int f = add_conv(g, "f", add_checked(g, &gap, d), conv1x1(w + 5, s, b, BC, BC, true, qa), d);
	struct dnnq_node_desc m = { .kind = dnnq_op_find("mul")->kind, .name = "m", .ninputs = 2,
	                            .inputs = { scale_first ? f : c2, scale_first ? c2 : f } };
	m.op.binary.isa = net_isa();
	m.op.binary.out_qp = (struct dnnq_qparams){ 0.5f, 128, 8, false };
	return add_checked(g, &m, d);
}

/* add_scaled -> c3 (1x1 to BC2), the output. */
static struct dnnq_graph *build_scaled(const int8_t *w, const float *s, const float *b,
                                       bool scale_first, struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int m = add_scaled(&g, w, s, b, scale_first, d);
	int c3 = add_conv(g, "c3", m, conv1x1(w + 7, s, b, BC, BC2, false, qb), d);
	ck_assert_int_eq(dnnq_graph_add_output(g, c3, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* The scale is not fused when its output has another use: also a graph
 * output (shared 0) or read by a second 1x1 convolution (shared 1); the
 * Mul then runs apart and both outputs are the scalar kernels' bytes on
 * 1 and 3 threads. */
static void scale_shared_not_fused(const int8_t *w, const float *s, const float *b,
                                   const uint8_t *x, enum dnnq_isa isa,
                                   const struct dnnq_executor *three)
{
	static uint8_t y[3][2][2 * BH * BW * BC2];
	const struct dnnq_executor *ex[3] = { NULL, NULL, three };
	const void *in[1] = { x };
	for (int shared = 0; shared < 2; shared++)
		for (int k = 0; k < 3; k++) {
			net_isa_set = k ? isa : DNNQ_ISA_SCALAR;
			struct dnnq_diag d;
			struct dnnq_graph *g;
			int mt = add_scaled(&g, w, s, b, false, &d);
			int c3 = add_conv(g, "c3", mt, conv1x1(w + 7, s, b, BC, BC2, false, qb), &d);
			int other = shared ? add_conv(g, "c4", mt, conv1x1(w + 9, s, b, BC, BC2, false, qb),
			                              &d)
			                   : mt;
			ck_assert_int_eq(dnnq_graph_add_output(g, c3, &d), 0);
			ck_assert_int_eq(dnnq_graph_add_output(g, other, &d), 0);
			ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
			ck_assert_msg(dnnq_graph_plan(g, 2, 3, &d) == 0, "%s", d.msg);
			struct dnnq_node_info ni;
			ck_assert_int_eq(dnnq_graph_node_info(g, 4, &ni), 0);
			ck_assert_msg(!ni.fused, "%s: fused with another use", ni.name);
			memset(y[k], 0, sizeof y[k]);
			void *out[2] = { y[k][0], y[k][1] };
			ck_assert_int_eq(dnnq_graph_run(g, in, out, ex[k]), 0);
			dnnq_graph_destroy(g);
			ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "shared %d run %d: %s", shared,
			              k, dnnq_isa_name(net_isa_set));
		}
}

/* _i: the ISA. A squeeze-and-excitation scale (a Mul of the depthwise
 * output by a per-channel row) runs in the tasks of the 1x1 convolution
 * that reads it, each making its own rows first; the bytes are those of
 * the nodes run apart (dnnq_graph_run_nodes) and of the scalar kernels,
 * on 1, 2 and 3 threads (the pools: the tasks' rows cut three ways too),
 * with either input order, and the shadow run reports the Mul's own
 * output; not fused where its output has another use
 * (scale_shared_not_fused). */
START_TEST(graph_fuses_scales_into_inputs)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	static struct pw_fixture f;
	pw_fixture_make(&f, 43);
	const int8_t *w = f.w;
	const float *s = f.s, *b = f.b;
	const uint8_t *x = f.x;
	static uint8_t y[2][9][2 * BH * BW * BC2];
	struct dnnq_pool *pool2 = dnnq_pool_create(2, NULL), *pool3 = dnnq_pool_create(3, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool2), three = dnnq_pool_executor(pool3);
	/* run k: scalar; the ISA fused on 1, 2 and 3 threads; apart on 1, 2
	 * and 3; the shadow run on 2 and 3 */
	const struct dnnq_executor *ex[9] = { NULL, NULL, &two, &three, NULL, &two, &three,
	                                      &two, &three };
	struct dnnq_node_report rep[6];
	const void *in[1] = { x };
	for (int o = 0; o < 2; o++)
		for (int k = 0; k < 9; k++) {
			net_isa_set = k ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
			struct dnnq_diag d;
			struct dnnq_graph *g = build_scaled(w, s, b, o, &d);
			ck_assert_msg(dnnq_graph_plan(g, 2, 3, &d) == 0, "%s", d.msg);
			ck_assert_uint_eq(dnnq_graph_num_nodes(g), 6);
			for (size_t i = 0; i < 6; i++) {
				struct dnnq_node_info ni;
				ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
				ck_assert_msg(ni.fused == (i == 4), "%s: fused %d", ni.name, ni.fused);
			}
			void *out[1] = { y[o][k] };
			int rc = k >= 7 ? dnnq_graph_shadow(g, in, out, ex[k], rep)
			       : k >= 4 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0, 6)
			                : dnnq_graph_run(g, in, out, ex[k]);
			ck_assert_int_eq(rc, 0);
			dnnq_graph_destroy(g);
			ck_assert_msg(!memcmp(y[o][k], y[0][0], sizeof y[0][0]), "order %d run %d: %s",
			              o, k, dnnq_isa_name(net_isa_set));
		}
	scale_shared_not_fused(w, s, b, x, (enum dnnq_isa)_i, &three);
	dnnq_pool_destroy(pool2);
	dnnq_pool_destroy(pool3);
	/* the shadow run reports the Mul's own output, which it made */
	ck_assert_msg(rep[4].local_sqnr_db > 25, "%s: local SQNR %.1f dB", rep[4].name,
	              rep[4].local_sqnr_db);
	size_t distinct = 0;
	for (size_t i = 1; i < sizeof y[0][0]; i++)
		distinct += y[0][0][i] != y[0][0][i - 1];
	ck_assert_uint_gt(distinct, sizeof y[0][0] / 4);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* x (BH x BW x 3) -> ca (3x3 to BC) -> c0 (3x3) -> p (1x1) -> a = Add(p,
 * c0) -> e (1x1 to BC2, stride 2 when `strided`) -> HardSwish -> gap, the
 * output (ca and c0 are where the plan would put e's output, were c0 not
 * kept alive until e: e's tasks would write over rows of c0 that p's
 * later tasks read, on any thread count);
 * `shared`: a is an output too; `between`: a 3x3 convolution of c0 (its
 * pool an output) is added after a, before e. p and e are split on two
 * threads. */
static struct dnnq_graph *build_chained(const int8_t *w, const float *s, const float *b,
                                        bool shared, bool between, bool strided,
                                        struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = rgb_input(&g, d);
	int ca = add_conv(g, "ca", x, conv3x3(w, s, b, 3, BC, false, qb), d);
	int c0 = add_conv(g, "c0", ca, conv3x3(w + 3, s, b, BC, BC, false, qb), d);
	int p = add_conv(g, "p", c0, conv1x1(w + 5, s, b, BC, BC, false, qb), d);
	int a = add_eltwise(g, "a", DNNQ_ELTWISE_ADD, p, c0, qb, d);
	if (shared)
		ck_assert_int_eq(dnnq_graph_add_output(g, a, d), 0);
	if (between)
		gap_output(g, "gap0", add_conv(g, "mid", c0, conv3x3(w + 9, s, b, BC, BC, false, qb), d),
		           d);
	struct dnnq_conv_desc cd = conv1x1(w + 7, s, b, BC, BC2, false, qb);
	cd.stride_h = cd.stride_w = strided ? 2 : 1;
	gap_output(g, "gap", add_act(g, "hswish", add_conv(g, "e", a, cd, d), DNNQ_ACT_HARD_SWISH, d),
	           d);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* _i: the ISA. A 1x1 convolution reading the output of the 1x1
 * convolution before it (through the residual Add fused into that one)
 * runs in its tasks, a block of pixels of the first, then of the second
 * (graph.c, chain_convs): the bytes are those of the nodes run apart
 * (dnnq_graph_run_nodes), of the shadow run and of the scalar kernels, on
 * 1, 2 and 3 threads at batch 2; the first convolution's input, which the
 * Add reads too, outlives the second (build_chained). Not chained: the first's output also
 * a graph output, a node that runs between the two, a strided second. */
START_TEST(graph_chains_pointwise)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	static struct pw_fixture f;
	pw_fixture_make(&f, 47);
	static uint8_t y[7][3][2 * BH * BW * BC];
	struct dnnq_pool *pool2 = dnnq_pool_create(2, NULL), *pool3 = dnnq_pool_create(3, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool2), three = dnnq_pool_executor(pool3);
	/* run k: scalar; the ISA on 1, 2 and 3 threads; apart on 1 and 2;
	 * the shadow run on 2 */
	const struct dnnq_executor *ex[7] = { NULL, NULL, &two, &three, NULL, &two, &two };
	struct dnnq_node_report rep[10];   /* variant 2: ten nodes */
	const void *in[1] = { f.x };
	for (int v = 0; v < 4; v++)
		for (int k = 0; k < 7; k++) {
			net_isa_set = k ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
			struct dnnq_diag d;
			struct dnnq_graph *g = build_chained(f.w, f.s, f.b, v == 1, v == 2, v == 3, &d);
			ck_assert_msg(dnnq_graph_plan(g, 2, 3, &d) == 0, "%s", d.msg);
			ck_assert_msg(node_fused(g, "a") && node_fused(g, "hswish"), "variant %d", v);
			ck_assert_msg(node_fused(g, "e") == (v == 0), "variant %d: e fused %d", v,
			              node_fused(g, "e"));
			memset(y[k], 0, sizeof y[k]);
			void *out[3] = { y[k][0], y[k][1], y[k][2] };
			size_t nn = dnnq_graph_num_nodes(g);
			ck_assert_uint_le(nn, sizeof rep / sizeof *rep);
			int rc = k == 6 ? dnnq_graph_shadow(g, in, out, ex[k], rep)
			       : k >= 4 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0, nn)
			                : dnnq_graph_run(g, in, out, ex[k]);
			ck_assert_int_eq(rc, 0);
			dnnq_graph_destroy(g);
			ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "variant %d run %d: %s", v, k,
			              dnnq_isa_name(net_isa_set));
			/* the pool's values are not all one */
			ck_assert_msg(v || k || memcmp(y[0][0], y[0][0] + 1, BC2 - 1), "flat pool");
		}
	dnnq_pool_destroy(pool2);
	dnnq_pool_destroy(pool3);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* x (BH x BW x 3) -> ca (3x3 to BC) -> p (1x1 to C1 channels) -> e (1x1),
 * e chained into p, channel counts no multiples of 16; variant v:
 * 0: e per-tensor (one weight scale) with a residual Add of p's output
 * fused into it, p read again after e by a 3x3 convolution (its pool an
 * output); 1: a HardSwish fused into p, e's output f32 and an output
 * itself; 2: e's fused Add reads ca, the first's input, too. */
enum { PC1 = 24, PC2 = 13 };
static struct dnnq_graph *build_chain_shapes(const int8_t *w, const float *s, const float *b,
                                             int v, struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = rgb_input(&g, d);
	int ca = add_conv(g, "ca", x, conv3x3(w, s, b, 3, BC, false, qb), d);
	int p = add_conv(g, "p", ca, conv1x1(w + 3, s, b, BC, PC1, false, qb), d);
	int pa = v == 1 ? add_act(g, "hswish", p, DNNQ_ACT_HARD_SWISH, d) : p;
	struct dnnq_conv_desc cd = conv1x1(w + 5, s, b, PC1, v == 0 ? PC1 : v == 1 ? PC2 : BC, false, qb);
	if (v == 0)
		cd.nwq = 1;
	if (v == 1)
		cd.out_dtype = DNNQ_DTYPE_F32;
	int e = add_conv(g, "e", pa, cd, d);
	if (v == 1)
		ck_assert_int_eq(dnnq_graph_add_output(g, e, d), 0);
	else
		gap_output(g, "gap", add_eltwise(g, "a", DNNQ_ELTWISE_ADD, e, v ? ca : p, qb, d), d);
	if (v == 0)
		gap_output(g, "gap0", add_conv(g, "mid", p, conv3x3(w + 7, s, b, PC1, 8, false, qb), d),
		           d);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* _i: the ISA. Chained 1x1 convolutions (build_chain_shapes: the first's
 * output read again, per-tensor weights, an f32 output, a table in the
 * first, an Add in the second reading either convolution's input) at
 * batch 1 and 2: the bytes of the scalar kernels on one thread, on 1, 2
 * and 3 threads, chained and apart, and of the scalar kernels chained on
 * 3. */
START_TEST(graph_chains_pointwise_shapes)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	static struct pw_fixture f;
	pw_fixture_make(&f, 53);
	static uint8_t y[7][2][2 * BH * BW * PC2 * 4];
	struct dnnq_pool *pool2 = dnnq_pool_create(2, NULL), *pool3 = dnnq_pool_create(3, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool2), three = dnnq_pool_executor(pool3);
	/* run k: scalar; the ISA on 1, 2 and 3 threads; apart on 2 and 3;
	 * scalar on 3 */
	const struct dnnq_executor *ex[7] = { NULL, NULL, &two, &three, &two, &three, &three };
	const void *in[1] = { f.x };
	for (int v = 0; v < 3; v++)
		for (size_t batch = 1; batch <= 2; batch++)
			for (int k = 0; k < 7; k++) {
				net_isa_set = k && k < 6 ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
				struct dnnq_diag d;
				struct dnnq_graph *g = build_chain_shapes(f.w, f.s, f.b, v, &d);
				ck_assert_msg(dnnq_graph_plan(g, batch, 3, &d) == 0, "%s", d.msg);
				ck_assert_msg(node_fused(g, "e"), "variant %d: e not chained", v);
				memset(y[k], 0, sizeof y[k]);
				void *out[2] = { y[k][0], y[k][1] };
				size_t nn = dnnq_graph_num_nodes(g);
				int rc = k == 4 || k == 5 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0, nn)
				                : dnnq_graph_run(g, in, out, ex[k]);
				ck_assert_int_eq(rc, 0);
				dnnq_graph_destroy(g);
				ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "variant %d batch %zu run %d: %s",
				              v, batch, k, dnnq_isa_name(net_isa_set));
				ck_assert_msg(k || memcmp(y[0][0], y[0][0] + 1, 15), "variant %d: flat", v);
			}
	dnnq_pool_destroy(pool2);
	dnnq_pool_destroy(pool3);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* _i: the ISA. A chain whose first 1x1 convolution makes its input in its
 * tasks (add_scaled's squeeze-and-excitation Mul, fused): the Mul's
 * inputs (the depthwise output, the excitation row) are read by the
 * first's tasks while the second's write, so they outlive the second
 * (chain_convs; without that, the second's output took the depthwise
 * output's place and two threads failed). The second's pool is the
 * output: at batch 1..4 on 1..4 threads, chained and apart, the bytes of
 * the scalar kernels on one thread. */
START_TEST(graph_chains_scaled)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	static struct pw_fixture f;
	pw_fixture_make(&f, 59);
	static uint8_t x[4 * BH * BW * 3], y[7][4 * BC2];
	for (size_t i = 0; i < sizeof x; i++)   /* images 3 and 4: others */
		x[i] = (uint8_t)(f.x[i % sizeof f.x] + 97 * (i / sizeof f.x));
	struct dnnq_pool *pools[3] = { dnnq_pool_create(2, NULL), dnnq_pool_create(3, NULL),
	                               dnnq_pool_create(4, NULL) };
	struct dnnq_executor two = dnnq_pool_executor(pools[0]),
	                     three = dnnq_pool_executor(pools[1]),
	                     four = dnnq_pool_executor(pools[2]);
	/* run k: scalar; the ISA on 1..4 threads; apart on 4; scalar on 4 */
	const struct dnnq_executor *ex[7] = { NULL, NULL, &two, &three, &four, &four, &four };
	const void *in[1] = { x };
	for (size_t batch = 1; batch <= 4; batch++)
		for (int k = 0; k < 7; k++) {
			net_isa_set = k && k < 6 ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
			struct dnnq_diag d;
			struct dnnq_graph *g;
			int m = add_scaled(&g, f.w, f.s, f.b, false, &d);
			int p = add_conv(g, "p", m, conv1x1(f.w + 7, f.s, f.b, BC, BC, false, qb), &d);
			int e = add_conv(g, "e", p, conv1x1(f.w + 9, f.s, f.b, BC, BC2, false, qb), &d);
			gap_output(g, "gap", e, &d);   /* e's output in the arena */
			ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
			ck_assert_msg(dnnq_graph_plan(g, batch, 4, &d) == 0, "%s", d.msg);
			ck_assert_msg(node_fused(g, "m") && node_fused(g, "e"), "m %d, e %d",
			              node_fused(g, "m"), node_fused(g, "e"));
			memset(y[k], 0, sizeof y[k]);
			void *out[1] = { y[k] };
			int rc = k == 5 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0, dnnq_graph_num_nodes(g))
			                : dnnq_graph_run(g, in, out, ex[k]);
			ck_assert_int_eq(rc, 0);
			dnnq_graph_destroy(g);
			ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "batch %zu run %d: %s", batch, k,
			              dnnq_isa_name(net_isa_set));
			ck_assert_msg(k || memcmp(y[0], y[0] + 1, BC2 - 1), "batch %zu: flat", batch);
		}
	for (int i = 0; i < 3; i++)
		dnnq_pool_destroy(pools[i]);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* x (h x BDW x BDI) -> c0 (1x1) -> e (1x1 to BDC) -> HardSwish -> dw
 * (k x k depthwise, stride `stride`) -> HardSigmoid -> y; with `proj`, y
 * -> p (1x1 to BDI) -> Add(p, c0) when the stride is 1, else p alone;
 * the last is the output, and its pool: an inverted residual block,
 * which runs by bands of dw's output rows on several threads (graph.c,
 * band_convs), the expansion's halo rows made by each band. c0's output
 * is e's input (and the Add's), which the bands read until the last one
 * ends. */
enum { BDW = 96, BDI = 24, BDC = 80 };
/* dw's geometry: rows h of x, a kh x kw kernel, its stride, dilation and
 * padding (top, bottom, left, right). */
struct band_geom {
	int64_t h;
	size_t kh, kw, stride, dil, pt, pb, pl, pr;
};

static struct dnnq_graph *build_bands_geom(const int8_t *w, const float *s, const float *b,
                                           const struct band_geom *gm, bool proj,
                                           struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = nhwc_input(&g, gm->h, BDW, BDI, d);
	int c0 = add_conv(g, "c0", x, conv1x1(w, s, b, BDI, BDI, false, qb), d);
	int e = add_act(g, "hswish", add_conv(g, "e", c0, conv1x1(w + BDI * BDI, s, b, BDI, BDC,
	                                                            false, qb), d),
	                DNNQ_ACT_HARD_SWISH, d);
	struct dnnq_conv_desc dw = conv3x3(w + BDI * BDI + BDI * BDC, s, b, BDC, BDC, false, qb);
	dw.groups = BDC;
	dw.kh = gm->kh;
	dw.kw = gm->kw;
	dw.pad_t = gm->pt;
	dw.pad_b = gm->pb;
	dw.pad_l = gm->pl;
	dw.pad_r = gm->pr;
	dw.stride_h = dw.stride_w = gm->stride;
	dw.dil_h = dw.dil_w = gm->dil;
	int y = add_act(g, "hsig", add_conv(g, "dw", e, dw, d), DNNQ_ACT_HARD_SIGMOID, d);
	size_t oh = ((size_t)gm->h + gm->pt + gm->pb - gm->dil * (gm->kh - 1) - 1) / gm->stride + 1;
	size_t ow = (BDW + gm->pl + gm->pr - gm->dil * (gm->kw - 1) - 1) / gm->stride + 1;
	if (proj)
		y = add_conv(g, "p", y, conv1x1(w + BDI * BDI, s, b, BDC, BDI, false, qb), d);
	if (proj && oh == (size_t)gm->h && ow == BDW)
		y = add_eltwise(g, "a", DNNQ_ELTWISE_ADD, y, c0, qb, d);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, d), 0);
	gap_output(g, "gap", y, d);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

/* A square k x k kernel padded k / 2 all round. */
static struct dnnq_graph *build_bands(const int8_t *w, const float *s, const float *b,
                                      int64_t h, size_t k, size_t stride, bool proj,
                                      struct dnnq_diag *d)
{
	const struct band_geom gm = { h, k, k, stride, 1, k / 2, k / 2, k / 2, k / 2 };
	return build_bands_geom(w, s, b, &gm, proj, d);
}

/* build_bands' weights w (nw), scales s and biases b (BDC each) and an
 * input x (nx bytes), from seed. */
static void bands_data(uint64_t seed, int8_t *w, size_t nw, float *s, float *b, uint8_t *x,
                       size_t nx)
{
	struct rng r = { seed };
	for (size_t i = 0; i < nw; i++)
		w[i] = (int8_t)rng_int(&r, -127, 127);
	for (size_t i = 0; i < BDC; i++) {
		s[i] = (float)rng_uniform(&r, 0.002, 0.01);
		b[i] = (float)rng_uniform(&r, -0.5, 0.5);
	}
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
}

/* _i: the ISA. An expansion, the depthwise convolution after it and, in
 * every other variant, the projection (with a residual Add) run by bands
 * of output rows (build_bands; apart on the AVX2 kernels) on shapes whose rows do not go evenly to
 * the threads (7 and 9 rows), stride 2, 5x5 kernels, and bands of one
 * row (2 rows on 2 threads, 3 on 3; stride 2 to 3 rows on 3), and 14
 * rows at stride 2 to 7, whose middle row goes to the first of two bands
 * (band_rows_cut): at batch 1
 * (bands on 2 and 3 threads) and 2 (apart), the bytes of the scalar
 * kernels on one thread, on 1, 2 and 3 threads, apart
 * (dnnq_graph_run_nodes) on 2, and of the scalar kernels by bands on 3. */
START_TEST(graph_bands_expansion_depthwise)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i))
		return;
	static const struct { int64_t h; size_t k, stride; } shape[] = {
		{ 7, 5, 1 }, { 9, 3, 2 }, { 9, 5, 2 }, { 2, 3, 1 }, { 3, 3, 1 }, { 5, 5, 2 },
		{ 14, 3, 2 },
	};
	static int8_t w[BDI * BDI + BDI * BDC + 25 * BDC];
	static float s[BDC], b[BDC];
	static uint8_t x[2 * 14 * BDW * BDI], y[6][2][2 * 9 * BDW * BDC];
	bool proj = false;
	bands_data(61, w, sizeof w, s, b, x, sizeof x);
	struct dnnq_pool *pool2 = dnnq_pool_create(2, NULL), *pool3 = dnnq_pool_create(3, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool2), three = dnnq_pool_executor(pool3);
	/* run k: scalar; the ISA on 1, 2 and 3 threads; apart on 2; scalar on 3 */
	const struct dnnq_executor *ex[6] = { NULL, NULL, &two, &three, &two, &three };
	const void *in[1] = { x };
	for (size_t v = 0; v < 2 * sizeof shape / sizeof *shape; v++, proj = !proj)
		for (size_t batch = 1; batch <= 2; batch++)
			for (int k = 0; k < 6; k++) {
				net_isa_set = k && k < 5 ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
				struct dnnq_diag d;
				struct dnnq_graph *g = build_bands(w, s, b, shape[v / 2].h, shape[v / 2].k,
				                                   shape[v / 2].stride, proj, &d);
				ck_assert_msg(dnnq_graph_plan(g, batch, 3, &d) == 0, "%s", d.msg);
				/* not by bands on the AVX2 kernels (dnnq_conv_bands_pay) */
				bool bands = net_isa_set != DNNQ_ISA_AVX2;
				ck_assert_msg(node_fused(g, "dw") == bands && node_fused(g, "hswish"),
				              "shape %zu", v);
				ck_assert_msg(!proj || node_fused(g, "p") == bands, "shape %zu: p", v);
				for (size_t i = 0; i < dnnq_graph_num_nodes(g); i++) {
					struct dnnq_node_info ni;
					ck_assert_int_eq(dnnq_graph_node_info(g, i, &ni), 0);
					ck_assert_msg(strcmp(ni.name, "e") || !ni.serial, "shape %zu: e serial", v);
				}
				memset(y[k], 0, sizeof y[k]);
				void *out[2] = { y[k][0], y[k][1] };
				int rc = k == 4 ? dnnq_graph_run_nodes(g, in, out, ex[k], 0,
				                                       dnnq_graph_num_nodes(g))
				                : dnnq_graph_run(g, in, out, ex[k]);
				ck_assert_int_eq(rc, 0);
				dnnq_graph_destroy(g);
				ck_assert_msg(!memcmp(y[k], y[0], sizeof y[0]), "shape %zu batch %zu run %d: %s",
				              v, batch, k, dnnq_isa_name(net_isa_set));
				ck_assert_msg(k || memcmp(y[0][0], y[0][0] + BDC, BDC), "shape %zu: flat", v);
			}
	dnnq_pool_destroy(pool2);
	dnnq_pool_destroy(pool3);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* _i: the ISA. By bands on geometries graph_bands_expansion_depthwise
 * has not: a dilated kernel (2 and 3, the halo rows 2 and 3 apart), no
 * padding, padding at the bottom and right only (TensorFlow's SAME at
 * stride 2), a kernel of 3 x 1 and one of 1 x 1, stride 3, and one output
 * row; on 2, 3, 5 and 9 threads (more threads than rows), at batch 1
 * and 2: the bytes of the scalar kernels on one thread. */
START_TEST(graph_bands_geometry)
{
	if (!dnnq_isa_supported((enum dnnq_isa)_i) || _i == DNNQ_ISA_AVX2)
		return;
	static const struct band_geom geom[] = {
		{ 9, 3, 3, 1, 2, 2, 2, 2, 2 }, { 9, 3, 3, 1, 1, 0, 0, 0, 0 },
		{ 8, 3, 3, 2, 1, 0, 1, 0, 1 }, { 9, 5, 5, 2, 2, 4, 4, 4, 4 },
		{ 7, 3, 1, 1, 1, 1, 1, 0, 0 }, { 6, 1, 1, 1, 1, 0, 0, 0, 0 },
		{ 5, 5, 5, 1, 1, 0, 0, 2, 2 }, { 4, 3, 3, 3, 1, 1, 1, 1, 1 },
		{ 9, 3, 3, 1, 3, 3, 3, 3, 3 },
	};
	static const unsigned nthreads[] = { 2, 3, 5, 9 };
	static int8_t w[BDI * BDI + BDI * BDC + 25 * BDC];
	static float s[BDC], b[BDC];
	static uint8_t x[2 * 9 * BDW * BDI], y[2][2][2 * 10 * BDW * BDC];
	bands_data(67, w, sizeof w, s, b, x, sizeof x);
	struct dnnq_pool *pools[4];
	for (size_t t = 0; t < 4; t++)
		pools[t] = dnnq_pool_create(nthreads[t], NULL);
	const void *in[1] = { x };
	for (size_t v = 0; v < 2 * sizeof geom / sizeof *geom; v++)
		for (size_t batch = 1; batch <= 2; batch++)
			for (size_t t = 0; t <= 4; t++) {
				/* run 0: scalar on one thread; then the ISA on each pool */
				net_isa_set = t ? (enum dnnq_isa)_i : DNNQ_ISA_SCALAR;
				struct dnnq_executor ex = t ? dnnq_pool_executor(pools[t - 1])
				                            : (struct dnnq_executor){ 0 };
				struct dnnq_diag d;
				struct dnnq_graph *g = build_bands_geom(w, s, b, &geom[v / 2], v % 2, &d);
				ck_assert_msg(node_fused(g, "dw"), "geometry %zu", v / 2);
				ck_assert_msg(dnnq_graph_plan(g, batch, t ? nthreads[t - 1] : 1, &d) == 0,
				              "%s", d.msg);
				uint8_t (*out)[sizeof y[0][0]] = y[t ? 1 : 0];
				memset(out, 0, sizeof y[0]);
				void *o[2] = { out[0], out[1] };
				ck_assert_int_eq(dnnq_graph_run(g, in, o, t ? &ex : NULL), 0);
				dnnq_graph_destroy(g);
				ck_assert_msg(!memcmp(y[1], y[0], sizeof y[0]) || !t,
				              "geometry %zu%s batch %zu, %u threads: %s", v / 2,
				              v % 2 ? " (projection)" : "", batch, nthreads[t ? t - 1 : 0],
				              dnnq_isa_name(net_isa_set));
				ck_assert_msg(t || memcmp(y[0][0], y[0][0] + BDC, BDC), "geometry %zu: flat",
				              v / 2);
			}
	for (size_t t = 0; t < 4; t++)
		dnnq_pool_destroy(pools[t]);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* What a graph run by bands takes (dnnq_graph_cost, dnnqd's memory
 * bound): the staging buffer holds the threads' copies of one item of
 * the expansion's output on the threads asked for, at a batch larger than
 * 1 as well, which the plan at batch 1 (dnnqd's warm-up) left there. The
 * cost counted the copies on the last plan's threads (none before a
 * plan: dnnqd judged its models before) and at batch 1 only. */
START_TEST(graph_bands_cost)
{
	static int8_t w[BDI * BDI + BDI * BDC + 25 * BDC];
	static float s[BDC], b[BDC];
	for (size_t i = 0; i < BDC; i++)
		s[i] = 0.005f;
	struct dnnq_diag d;
	net_isa_set = DNNQ_ISA_SCALAR;
	struct dnnq_graph *g = build_bands(w, s, b, 9, 3, 1, false, &d);
	ck_assert(node_fused(g, "dw"));
	struct dnnq_graph_cost one, three;
	for (size_t batch = 1; batch <= 4; batch += 3) {
		ck_assert_msg(dnnq_graph_cost(g, batch, 1, &one, &d) == 0, "%s", d.msg);
		ck_assert_msg(dnnq_graph_cost(g, batch, 3, &three, &d) == 0, "%s", d.msg);
		ck_assert_msg(three.bytes - one.bytes == 3 * ((9 * BDW * BDC + 63) / 64 * 64),
		              "batch %zu: %llu and %llu bytes", batch,
		              (unsigned long long)one.bytes, (unsigned long long)three.bytes);
	}
	dnnq_graph_destroy(g);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

/* Winograd's per-thread scratch sized at setup (engine/conv.c): x (GWH x
 * GWW x GWC, its weights on the fly) -> wa (3x3 to GWO, ReLU) -> wb (3x3,
 * packed)
 * -> Add(wb, wa) in wb's output stage; wa and the sum are the outputs. */
enum { GWH = 5, GWW = 6, GWC = 288, GWO = 32, GWB = 4 };

static struct dnnq_graph *build_wino(const int8_t *wa, const int8_t *wb, const float *s,
                                     const float *b, struct dnnq_weights_cache *cache,
                                     struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int x = nhwc_input(&g, GWH, GWW, GWC, d);
	struct dnnq_conv_desc ca = conv3x3(wa, s, b, GWC, GWO, true, qa);
	struct dnnq_conv_desc cb = conv3x3(wb, s, b, GWO, GWO, false, qb);
	ca.cache = cb.cache = cache;
	ca.cache_key = "wa";
	cb.cache_key = "wb";
	int a = add_conv(g, "wa", x, ca, d);
	int y = add_eltwise(g, "sum", DNNQ_ELTWISE_ADD, add_conv(g, "wb", a, cb, d), a, qb, d);
	ck_assert_int_eq(dnnq_graph_add_output(g, a, d), 0);
	ck_assert_int_eq(dnnq_graph_add_output(g, y, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	return g;
}

struct wino_run {
	struct dnnq_graph *g;
	const void *const *in;
	void *const *out;
	int rc;
};

static void *wino_run_serial(void *arg)
{
	struct wino_run *w = arg;
	w->rc = dnnq_graph_run(w->g, w->in, w->out, NULL);
	return NULL;
}

/* dnnqd's way with a layer of 288 channels on AVX2: two graphs of one
 * weights cache (the second borrows both packings, the cache's bytes
 * unchanged), each planned again whenever the batch changes (1, 4, 1, 2,
 * 4, 1 on two threads: an image's block split by columns or blocks by
 * images, the scratch regrown or kept), one run on two threads while the other runs
 * serially on its own thread (a warm-up's way: fewer threads than
 * planned); both give the scalar graph's bytes. */
START_TEST(graph_winograd_batches)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static int8_t wa[GWO * 9 * GWC], wb[GWO * 9 * GWO];
	static uint8_t x[GWB * GWH * GWW * GWC], y[3][2][GWB * GWH * GWW * GWO];
	float s[BC2], b[BC2];
	_Static_assert((int)GWO <= (int)BC2, "random_conv's channels");
	struct rng r = { 61 };
	random_conv(&r, wb, sizeof wb, s, b, 0.002, 0.006);
	random_conv(&r, wa, sizeof wa, s, b, 0.0001, 0.0003);
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)rng_int(&r, 0, 255);
	struct dnnq_diag d;
	net_isa_set = DNNQ_ISA_SCALAR;
	struct dnnq_graph *ref = build_wino(wa, wb, s, b, NULL, &d);
	net_isa_set = DNNQ_ISA_AVX2;
	struct dnnq_weights_cache *cache;
	ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
	struct dnnq_graph *g[2] = { build_wino(wa, wb, s, b, cache, &d), NULL };
	size_t bytes = dnnq_weights_cache_bytes(cache);
	g[1] = build_wino(wa, wb, s, b, cache, &d);
	ck_assert_uint_eq(dnnq_weights_cache_bytes(cache), bytes);
	/* wa's int8 panels and its int8 weights for the transform on the fly */
	ck_assert_uint_ge(bytes,
	                  (size_t)GWO * 9 * GWC + dnnq_wino_fly_pack_avx2(NULL, GWO, GWC, NULL));
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor two = dnnq_pool_executor(pool);
	const void *in[1] = { x };
	static const size_t batches[] = { 1, GWB, 1, 2, GWB, 1 };
	for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
		size_t n = batches[i];
		void *out[3][2];
		for (int k = 0; k < 3; k++) {
			memset(y[k], 0xEE, sizeof y[k]);
			out[k][0] = y[k][0];
			out[k][1] = y[k][1];
			struct dnnq_graph *gk = k < 2 ? g[k] : ref;
			ck_assert_msg(dnnq_graph_plan(gk, n, 2, &d) == 0, "%s", d.msg);
		}
		ck_assert_int_eq(dnnq_graph_run(ref, in, out[2], NULL), 0);
		struct wino_run serial = { g[1], in, out[1], -1 };
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, wino_run_serial, &serial), 0);
		ck_assert_int_eq(dnnq_graph_run(g[0], in, out[0], &two), 0);
		pthread_join(t, NULL);
		ck_assert_int_eq(serial.rc, 0);
		for (int k = 0; k < 2; k++)
			ck_assert_msg(!memcmp(y[k], y[2], sizeof y[2]), "batch %zu, graph %d", n, k);
		ck_assert_msg(memcmp(y[2][0], y[2][0] + 1, GWO - 1), "flat output");
		for (size_t q = n * GWH * GWW * GWO; q < sizeof y[0][0]; q++)   /* nothing past n images */
			ck_assert_msg(y[0][1][q] == 0xEE && y[1][1][q] == 0xEE, "batch %zu: %zu", n, q);
	}
	dnnq_pool_destroy(pool);
	for (int k = 0; k < 2; k++)
		dnnq_graph_destroy(g[k]);
	dnnq_graph_destroy(ref);
	dnnq_weights_cache_destroy(cache);
	net_isa_set = DNNQ_ISA_COUNT;
}
END_TEST

Suite *suite_graph(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("graph");
	tcase_add_loop_test(tc, graph_equals_operators, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_test(tc, graph_arena_tail);
	tcase_add_test(tc, shadow_reports_each_node);
	tcase_add_test(tc, graph_splits_big_nodes_only);
	tcase_add_test(tc, graph_splits_wide_pointwise);
	tcase_add_loop_test(tc, graph_fuses_activations, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_pools_where_made, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_splits_middle_row, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_fuses_residual_adds, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_fuses_scales_into_inputs, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_chains_pointwise, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_chains_pointwise_shapes, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_chains_scaled, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_bands_expansion_depthwise, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_loop_test(tc, graph_bands_geometry, DNNQ_ISA_SCALAR, DNNQ_ISA_COUNT);
	tcase_add_test(tc, graph_bands_cost);
	tcase_add_test(tc, graph_winograd_batches);
	tcase_add_test(tc, graph_run_resumed);
	tcase_add_test(tc, graph_take_buffers);
	tcase_add_test(tc, graph_keeps_unread_input);
	tcase_add_test(tc, pool_runs_each_task_once);
	tcase_add_test(tc, pool_big_jobs_and_order);
	tcase_add_test(tc, claims_meet_from_both_ends);
	tcase_add_test(tc, claims_take_own_side_then_tail);
	tcase_add_test(tc, pool_wakes_sleepers);
	tcase_add_test(tc, pool_jobs_as_workers_fall_asleep);
	tcase_add_test(tc, claims_open_with_first_claim);
	tcase_add_test(tc, graph_refuses_malformed);
	tcase_add_test(tc, graph_nchw_edges);
	tcase_add_test(tc, graph_nchw_needs_rank_4);
	tcase_add_test(tc, graph_refuses_overflowing_shapes);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
