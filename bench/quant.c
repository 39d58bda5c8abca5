/*
 * bench/quant.c — `dnnq-bench quant`: throughput of the quantization core
 * (engine/quant.h) on 1M elements, AVX2 kernels against the scalar reference
 * they must match bit for bit: quantize (f32 -> u8, on every layer input of
 * dynamic quantization), dequantize, and requantize (s32 -> u8, after every
 * GEMM) in its float (FBGEMM) and fixed-point (gemmlowp) forms, per tensor
 * and per output channel. Each row also checks the two outputs are equal.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "engine/quant.h"
#include "tests/rng.h"

#define N_ELEM (1u << 20)
#define N_COLS 1024u   /* channels of the per-channel rows */

enum qop { Q_QUANTIZE, Q_DEQUANTIZE, Q_REQUANT };

struct qrow {
	const char *name;
	enum qop op;
	enum dnnq_requant_kind kind;
	bool per_channel;
};

static const struct qrow rows[] = {
	{ "quantize f32->u8", Q_QUANTIZE, 0, false },
	{ "dequantize u8->f32", Q_DEQUANTIZE, 0, false },
	{ "requant float, per-tensor", Q_REQUANT, DNNQ_REQUANT_FLOAT, false },
	{ "requant float, per-channel", Q_REQUANT, DNNQ_REQUANT_FLOAT, true },
	{ "requant fixed, per-tensor", Q_REQUANT, DNNQ_REQUANT_FIXED, false },
	{ "requant fixed, per-channel", Q_REQUANT, DNNQ_REQUANT_FIXED, true },
};

/* Inputs shared by every row. */
struct qdata {
	float *x;
	uint8_t *q;
	int32_t *acc;
	float fmult[N_COLS];
	int32_t qmult[N_COLS], qshift[N_COLS];
	struct dnnq_qparams qp;
};

/* One candidate: a row's operation on one ISA, into its own output. */
struct qcand {
	const struct qrow *row;
	const struct qdata *d;
	struct dnnq_requant rq;
	enum dnnq_isa isa;
	void *out;
};

static void run_qcand(void *arg)
{
	struct qcand *c = arg;
	const struct qdata *d = c->d;
	int rc;
	if (c->row->op == Q_QUANTIZE)
		rc = dnnq_quantize(c->isa, d->x, c->out, DNNQ_DTYPE_U8, N_ELEM, &d->qp);
	else if (c->row->op == Q_DEQUANTIZE)
		rc = dnnq_dequantize(c->isa, d->q, DNNQ_DTYPE_U8, c->out, N_ELEM, &d->qp);
	else
		rc = dnnq_requantize(c->isa, d->acc, c->out, DNNQ_DTYPE_U8, N_ELEM / N_COLS,
		                     N_COLS, &c->rq);
	if (rc)
		bench_die("bench: %s (%s) failed: %s", c->row->name, dnnq_isa_name(c->isa),
		          dnnq_strerror(rc));
}

/* Gaussian activations, their u8 quantization, accumulators with the spread
 * of a K = 1024 dot product, multipliers mapping them onto most of u8. */
static void qdata_init(struct qdata *d)
{
	struct rng r = { 0x5eed };
	struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	d->x = bench_alloc(N_ELEM * sizeof *d->x);
	d->q = bench_alloc(N_ELEM);
	d->acc = bench_alloc(N_ELEM * sizeof *d->acc);
	for (size_t i = 0; i < N_ELEM; i++) {
		d->x[i] = (float)rng_gauss(&r);
		d->acc[i] = (int32_t)(5000 * rng_gauss(&r));
	}
	float lo, hi;
	dnnq_minmax(d->x, N_ELEM, &lo, &hi);
	if (dnnq_choose_qparams(lo, hi, &spec, &d->qp, NULL) ||
	    dnnq_quantize(DNNQ_ISA_SCALAR, d->x, d->q, DNNQ_DTYPE_U8, N_ELEM, &d->qp))
		bench_die("bench: cannot quantize the quant benchmark's input");
	for (size_t c = 0; c < N_COLS; c++) {
		struct dnnq_fixedpoint fp;
		d->fmult[c] = (float)rng_uniform(&r, 0.004, 0.012);
		if (dnnq_fixedpoint_from_real(d->fmult[c], &fp))
			bench_die("bench: multiplier %g has no fixed-point form", d->fmult[c]);
		d->qmult[c] = fp.multiplier;
		d->qshift[c] = fp.shift;
	}
}

static void qcand_init(struct qcand *c, const struct qrow *row, const struct qdata *d,
                       enum dnnq_isa isa)
{
	*c = (struct qcand){ .row = row, .d = d, .isa = isa };
	c->out = bench_alloc(N_ELEM * sizeof(float));
	c->rq = (struct dnnq_requant){
		.kind = row->kind, .nchan = row->per_channel ? N_COLS : 1,
		.fmult = d->fmult, .qmult = d->qmult, .qshift = d->qshift,
		.zero_point = 128, .qmin = 0, .qmax = 255,
	};
}

static size_t out_bytes(const struct qrow *row)
{
	return row->op == Q_DEQUANTIZE ? N_ELEM * sizeof(float) : N_ELEM;
}

static const struct bench_col qcols[] = {
	{ "kernel", "kernel", 26, -2 },
	{ "elements", "elements", 8, -1 },
	{ "scalar_gelem_s", "scalar Gelem/s", 14, 3 },
	{ "avx2_gelem_s", "avx2 Gelem/s", 12, 3 },
	{ "avx2_vs_scalar", "avx2/scalar", 11, 2 },
	{ "others_cpus", "others", 6, 2 },
	{ "scalar_us", "scalar us", 9, 1 },
	{ "avx2_us", "avx2 us", 8, 1 },
	{ "reps", "reps", 6, -1 },
};

static void quant_row(struct bench_table *t, const struct qrow *row, const struct qdata *d)
{
	struct qcand qc[2];
	struct bench_result res[2];
	qcand_init(&qc[0], row, d, DNNQ_ISA_SCALAR);
	qcand_init(&qc[1], row, d, DNNQ_ISA_AVX2);
	run_qcand(&qc[0]);
	run_qcand(&qc[1]);
	if (memcmp(qc[0].out, qc[1].out, out_bytes(row)))
		bench_die("bench: %s: AVX2 and scalar outputs differ", row->name);
	struct bench_cand c[2] = {
		{ "scalar", run_qcand, &qc[0] },
		{ "avx2", run_qcand, &qc[1] },
	};
	double others = bench_interleave_guarded(c, 2, bench_budget(), 1, res);
	bench_cell_str(t, row->name);
	bench_cell_int(t, N_ELEM);
	bench_cell_num(t, N_ELEM / res[0].median * 1e-9);
	bench_cell_num(t, N_ELEM / res[1].median * 1e-9);
	bench_cell_num(t, res[0].median / res[1].median);
	bench_cell_num(t, others);
	bench_cell_num(t, res[0].median * 1e6);
	bench_cell_num(t, res[1].median * 1e6);
	bench_cell_int(t, res[0].reps);
	bench_row_end(t);
	free(qc[0].out);
	free(qc[1].out);
}

int bench_cmd_quant(const struct bench_opts *o)
{
	struct bench_table t;
	struct qdata *d = bench_alloc(sizeof *d);
	fprintf(bench_text(o->tsv), "\n== quantization core, 1 thread ==\n");
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2)) {
		fprintf(bench_text(o->tsv), "quant: this CPU has no AVX2; nothing to compare\n");
		return 0;
	}
	qdata_init(d);
	bench_table_begin(&t, qcols, sizeof qcols / sizeof *qcols, o->tsv);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		quant_row(&t, &rows[i], d);
	bench_note(&t, "Gelem/s: 10^9 elements/s from the median of interleaved reps (scalar, "
	           "avx2, scalar, ...); us: median time of one call on %u elements. Per-channel "
	           "rows: %u x %u, one multiplier per column. Each row first checks that both "
	           "ISAs produce identical bytes. others: CPUs other processes kept busy meanwhile.", N_ELEM, N_ELEM / N_COLS, N_COLS);
	free(d->x);
	free(d->q);
	free(d->acc);
	free(d);
	return 0;
}
