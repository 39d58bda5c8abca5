/*
 * tests/test_rnn.c — stateful and control-flow models (suite rnn): ONNX's
 * LSTM, GRU and RNN unrolled at import (onnx/import-rnn.c) against torch, their
 * batch kept (batch_first or not, layers, state inputs), an If inlined
 * once --input-value freezes the input its condition reads
 * (onnx/import-if.c) or, its condition known only at run time, run both
 * ways and selected, Where and the comparisons, and what either refuses.
 *
 * Fixtures: tests/onnx/rnn/, made by tools/mkrnn.py (torch's LSTM export
 * and outputs; an If model built with onnx.helper).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/npy.h"
#include "tests/conformance.h"
#include "onnx/ir.h"

#define RNN "tests/onnx/rnn"

struct arr {
	void *buf;
	struct dnnq_npy a;
};

static void load(const char *name, struct arr *out)
{
	char path[256];
	struct dnnq_diag d = { "" };
	snprintf(path, sizeof path, RNN "/%s.npy", name);
	ck_assert_msg(dnnq_npy_read_file(path, 1 << 20, &out->buf, &out->a, &d) == 0, "%s", d.msg);
}

/* Imports path with the frozen values (may be none); the status and the
 * diag's message. */
static int import(const char *path, const struct dnnq_onnx_value *v, size_t nv,
                  struct dnnq_ir *ir, struct dnnq_diag *d)
{
	struct dnnq_onnx_import_opts o = { .values = v, .nvalues = nv };
	char *list = NULL;
	int rc = dnnq_onnx_import_file(path, &o, ir, &list, NULL, d);
	free(list);
	return rc;
}

/* The buffers of nin inputs and nout outputs. */
static void free_arrs(struct arr *in, size_t nin, struct arr *want, size_t nout)
{
	for (size_t k = 0; k < nin; k++)
		free(in[k].buf);
	for (size_t k = 0; k < nout; k++)
		free(want[k].buf);
}

/* model's outputs on its inputs (files PREFIX*.npy: torch's, numpy's):
 * the reference executor, the engine all fp32 and int8 (conformance.h),
 * whose SQNR must pass min_db. */
static void matches(const char *model, const char *prefix, size_t nin,
                    const char *const *in_names, size_t nout, const char *const *out_names,
                    double min_db)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	char path[256];
	snprintf(path, sizeof path, RNN "/%s.onnx", model);
	ck_assert_msg(import(path, NULL, 0, &ir, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(ir.ninputs, nin);
	ck_assert_uint_eq(ir.noutputs, nout);
	struct arr in[3], want[3];
	struct dnnq_npy ina[3], wanta[3];
	const void *inp[3];
	void *out[3];
	size_t batch = 0;
	for (size_t k = 0; k < nin || k < nout; k++) {
		char name[64];
		if (k < nin) {
			snprintf(name, sizeof name, "%s%s", prefix, in_names[k]);
			load(name, &in[k]);
			ina[k] = in[k].a;
			inp[k] = ina[k].data;
			batch = ir.max_batch == 1 ? 1 : ina[k].shape[0];
		}
		if (k < nout) {
			snprintf(name, sizeof name, "%s%s", prefix, out_names[k]);
			load(name, &want[k]);
			wanta[k] = want[k].a;
			ck_assert_uint_eq(dnnq_ir_numel(&ir.values[ir.outputs[k]], batch),
			                  wanta[k].count);
			out[k] = malloc(wanta[k].count * sizeof(float));
		}
	}
	ck_assert_msg(dnnq_ir_run(&ir, batch, inp, out, NULL, NULL, &d) == 0, "%s", d.msg);
	for (size_t k = 0; k < nout; k++) {
		double rel = conf_max_rel(out[k], (const float *)wanta[k].data, wanta[k].count);
		ck_assert_msg(rel < 1e-5, "%s reference %s: max rel %g", model, out_names[k], rel);
		free(out[k]);
	}
	struct conf_result r;
	ck_assert_msg(conf_run(&ir, false, ina, wanta, &r, &d) == 0, "%s", d.msg);
	printf("rnn: %s all fp32 max rel %.3g; int8 SQNR %.2f dB\n", model, r.fp32_rel, r.sqnr_db);
	ck_assert_msg(r.fp32_rel < 1e-5, "%s all fp32: max rel %g", model, r.fp32_rel);
	ck_assert_msg(r.sqnr_db > min_db, "%s int8: %.2f dB", model, r.sqnr_db);
	free_arrs(in, nin, want, nout);
	dnnq_ir_free(&ir);
}

/* model keeps a symbolic batch: against its outputs (torch's) at batch 3,
 * and the 3 items at once giving the bytes each gives alone, int8 and fp32
 * (files MODEL_NAME.npy for the inputs and outputs named). */
static void keeps_batch(const char *model, size_t nin, const char *const *in_names, size_t nout,
                        const char *const *out_names)
{
	char path[256], prefix[64];
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	snprintf(path, sizeof path, RNN "/%s.onnx", model);
	snprintf(prefix, sizeof prefix, "%s_", model);
	ck_assert_msg(import(path, NULL, 0, &ir, &d) == 0, "%s", d.msg);
	ck_assert_msg(ir.max_batch != 1, "%s: max batch %u (%s)", model, ir.max_batch,
	              ir.batch_note);
	struct arr in[3], want[3];
	struct dnnq_npy ina[3], wanta[3];
	for (size_t k = 0; k < nin || k < nout; k++) {
		if (k < nin) {
			ck_assert(ir.values[ir.inputs[k]].batched);
			snprintf(path, sizeof path, "%s%s", prefix, in_names[k]);
			load(path, &in[k]);
			ina[k] = in[k].a;
			ck_assert_uint_eq(ina[k].shape[0], 3);
		}
		if (k < nout) {
			snprintf(path, sizeof path, "%s%s", prefix, out_names[k]);
			load(path, &want[k]);
			wanta[k] = want[k].a;
		}
	}
	size_t differ;
	ck_assert_msg(conf_items_alone(&ir, ina, wanta, &differ, &d) == 0, "%s", d.msg);
	ck_assert_msg(differ == 0, "%s: %zu elements differ from the items run alone", model,
	              differ);
	free_arrs(in, nin, want, nout);
	dnnq_ir_free(&ir);
	matches(model, prefix, nin, in_names, nout, out_names, 35);
}

/* torch's bidirectional layer without state, then a forward one from its
 * inputs' state, exported at batch 1 (x [T, 1, I], h0 [1, 1, H]): the
 * batch on dim 1 of X and of the state is kept, the zero state (an Expand
 * of zeros to the batch) no state. */
START_TEST(lstm_matches_torch)
{
	static const char *const in[3] = { "x", "h0", "c0" }, *const out[3] = { "y", "hn", "cn" };
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_msg(import(RNN "/lstm.onnx", NULL, 0, &ir, &d) == 0, "%s", d.msg);
	ck_assert_msg(ir.max_batch != 1 && !ir.batch_note, "%s", ir.batch_note);
	dnnq_ir_free(&ir);
	matches("lstm", "", 3, in, 3, out, 15);
}
END_TEST

/* torch exports GRU with linear_before_reset */
START_TEST(gru_matches_torch)
{
	static const char *const in[2] = { "x", "h0" }, *const out[2] = { "y", "hn" };
	matches("gru", "gru_", 2, in, 2, out, 15);
}
END_TEST

/* torch's batch_first layer (bidirectional, no state) exported with a
 * dynamic batch: X a Transpose of [N, T, I], the zero state a
 * ConstantOfShape of the batch, Y transposed and reshaped back to [N, T,
 * 2H] (forward only: squeezed and transposed, its last step taken). */
static void batch_first(const char *model)
{
	static const char *const x[1] = { "x" }, *const y[1] = { "y" };
	keeps_batch(model, 1, x, 1, y);
}

START_TEST(batch_first_keeps_batch)
{
	batch_first("lstm_bf");
	batch_first("gru_bf");
	batch_first("lstm_last");
}
END_TEST

/* num_layers 2 and 3: torch's zero state [layers * dirs, N, H] is one
 * ConstantOfShape sliced per layer before the layers read it, no state for
 * each; the heads after the last layer: a Linear on every step, the last
 * step y[:, -1], the mean over time. */
START_TEST(layers_keep_batch)
{
	batch_first("lstm_l2");         /* bidirectional, Linear on every step */
	batch_first("lstm_l3");         /* forward, y[:, -1] */
	batch_first("gru_l2");          /* forward, mean over time */
	batch_first("gru_l3");          /* bidirectional, Linear on every step */
}
END_TEST

/* batch_first False: the model input x [T, N, I] has its batch on dim 1,
 * taken as dnnq's items [N, T, 1, I]; y [T, N, H] given the same way, or
 * y[-1] (the batch on dim 0 again) into a Linear. */
START_TEST(time_major_keeps_batch)
{
	batch_first("lstm_tm");         /* 2 layers, bidirectional, Linear of y[-1] */
	batch_first("gru_tm");          /* 2 layers, forward, y */
	/* a Linear on every step of [T, N, 16]: MatMul and Add of the bias read
	 * the batch on dim 1 (before, they fixed it to 1) */
	batch_first("lstm_tm_fc");
}
END_TEST

/* torch's plain RNN (ONNX's RNN, one gate): bidirectional with ReLU
 * (DeepSpeech's) and batch_first, then a Linear on every step; tanh, 2
 * layers, time-major, y. */
START_TEST(rnn_keeps_batch)
{
	batch_first("rnn_relu_bf");
	batch_first("rnn_tm");
}
END_TEST

/* The state as model inputs and outputs, [dirs, N, H] (a streaming model
 * carries it from call to call): items [N, dirs, 1, H], a dirs of 1 the
 * batch axis itself ([N, 1, H]); of 2 layers, [2, N, H] sliced per layer
 * and its hn, cn concatenated from the layers'. */
START_TEST(state_inputs_keep_batch)
{
	static const char *const in[3] = { "x", "h0", "c0" }, *const out[3] = { "y", "hn", "cn" };
	keeps_batch("lstm_st", 3, in, 3, out);          /* forward */
	keeps_batch("gru_st", 2, in, 2, out);           /* bidirectional */
	/* 2 layers: h0, c0 sliced, y; hn, cn each the Concat of the layers'
	 * states (before, the Concat fixed the batch to 1) */
	keeps_batch("lstm_st2", 3, in, 3, out);
}
END_TEST

/* ONNX's layout 1 (batch first: X [N, T, I], states [N, dirs, H], Y [N,
 * T, dirs, H]), which torch does not write (tools/mkrnn.py lstm_l1: a
 * bidirectional LSTM from torch's batch_first weights and state inputs;
 * refused before, "layout 1 is not supported"): the IR's own form of a
 * batch-first LSTM, so the batch is kept, against torch's outputs. */
START_TEST(layout1_keeps_batch)
{
	static const char *const in[3] = { "x", "h0", "c0" }, *const out[3] = { "y", "hn", "cn" };
	keeps_batch("lstm_l1", 3, in, 3, out);
}
END_TEST

/* A condition only known at run time (if_select.onnx: both branches run,
 * each sample takes its own) and Where, Not, Less, LessOrEqual, Equal, a
 * bool initializer and Max with an infinite constant (where.onnx), against
 * numpy: exact in fp32 and, the samples away from the threshold, in int8 up
 * to the branches' own quantization. */
START_TEST(select_matches_numpy)
{
	static const char *const x[1] = { "x" }, *const y[1] = { "y" };
	static const char *const y3[3] = { "y", "y2", "y3" };
	matches("if_select", "sel_", 1, x, 1, y, 35);
	matches("where", "where_", 1, x, 3, y3, 35);
	/* two Ifs named alike in their first 110 bytes: four output nodes */
	matches("if_long_names", "ifl_", 1, x, 1, y, 30);
}
END_TEST

/* The value of x through if.onnx at sr: y = 2x (16000), -x (8000), relu(x). */
static void if_case(const char *sr, float want_scale, bool relu)
{
	struct dnnq_onnx_value v = { "sr", sr };
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_msg(import(RNN "/if.onnx", &v, 1, &ir, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(ir.ninputs, 1);          /* sr is a constant now */
	ck_assert_str_eq(ir.values[ir.inputs[0]].name, "x");
	ck_assert_uint_eq(ir.nnodes, 1);
	size_t inlined = 0;
	for (size_t i = 0; i < ir.nremoved; i++)
		inlined += ir.removed[i].how == DNNQ_IR_INLINED;
	ck_assert_uint_eq(inlined, relu || want_scale < 0 ? 2 : 1);
	float x[4] = { -1.5f, 0, 0.25f, 3 }, y[4];
	const void *in[1] = { x };
	void *out[1] = { y };
	ck_assert_msg(dnnq_ir_run(&ir, 1, in, out, NULL, NULL, &d) == 0, "%s", d.msg);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq(y[i], relu ? fmaxf(x[i], 0) : want_scale * x[i]);
	dnnq_ir_free(&ir);
}

START_TEST(if_inlined)
{
	if_case("16000", 2, false);
	if_case("8000", -1, false);
	if_case("44100", 1, true);
}
END_TEST

static void refused(const char *path, const struct dnnq_onnx_value *v, size_t nv, int rc,
                    const char *needle)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(import(path, v, nv, &ir, &d), rc);
	ck_assert_msg(strstr(d.msg, needle), "'%s' lacks '%s'", d.msg, needle);
	ck_assert_uint_eq(ir.nnodes, 0);
}

/* x [T, N, 6] with T symbolic too: --input-shape fixes T (its D1, the
 * batch, is not kept), without it the message names the option with the
 * batch on dim 1. */
START_TEST(symbolic_time_shape)
{
	struct dnnq_onnx_shape sh = { "x", 3, { 7, 2, 6 } };
	struct dnnq_onnx_import_opts o = { .shapes = &sh, .nshapes = 1 };
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	char *list = NULL;
	ck_assert_msg(dnnq_onnx_import_file(RNN "/gru_symt.onnx", &o, &ir, &list, NULL, &d) == 0,
	              "%s", d.msg);
	free(list);
	ck_assert_msg(ir.max_batch != 1, "%s", ir.batch_note);
	const struct dnnq_ir_value *x = &ir.values[ir.inputs[0]];
	int64_t want[4] = { 1, 7, 1, 6 };
	ck_assert_uint_eq(x->ndim, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(x->dims[i], want[i]);
	dnnq_ir_free(&ir);
	refused(RNN "/gru_symt.onnx", NULL, 0, DNNQ_E_UNSUPPORTED, "input 'x': dims[0] is 'T' "
	        "(symbolic): fix it with --input-shape x=<T>x1x6 (dim 1 is the batch)");
}
END_TEST

START_TEST(if_refusals)
{
	/* not frozen: an int64 input is refused, saying how to freeze it; a
	 * condition that stays dynamic is, naming the input it depends on */
	refused(RNN "/if.onnx", NULL, 0, DNNQ_E_DTYPE, "input 'sr': element type int64 is not "
	        "supported as a scalar input (a setting, as a sample rate? freeze it with "
	        "--input-value");
	refused(RNN "/if_dyn.onnx", NULL, 0, DNNQ_E_UNSUPPORTED,
	        "node 'dyn' (If): condition 'flag' is only known at run time (it depends on "
	        "'flag'): dnnq inlines an If whose condition is constant; freeze those inputs with "
	        "--input-value");
	/* --input-value: a bad value, a count that does not fit, a name that is
	 * no input, twice */
	struct dnnq_onnx_value v[2] = { { "sr", "16k" }, { "sr", "1" } };
	refused(RNN "/if.onnx", v, 1, DNNQ_E_INVAL, "input 'sr': --input-value '16k': value 0: "
	        "'16k' is not a number");
	v[0].text = "16000,8000";
	refused(RNN "/if.onnx", v, 1, DNNQ_E_INVAL, "more than the 1 value its shape [] holds");
	v[0].text = "99999999999999999999";
	refused(RNN "/if.onnx", v, 1, DNNQ_E_INVAL, "is not an integer in");
	v[0] = (struct dnnq_onnx_value){ "sr", "16000" };
	v[1] = (struct dnnq_onnx_value){ "rate", "16000" };
	refused(RNN "/if.onnx", v, 2, DNNQ_E_NOTFOUND, "--input-value 'rate': the model has no "
	        "input of that name");
	v[1].name = "sr";
	refused(RNN "/if.onnx", v, 2, DNNQ_E_INVAL, "--input-value 'sr': given twice");
	/* nested deeper than the importer follows: past protobuf's message
	 * depth, refused before unpacking (onnx/wire.c) */
	v[0] = (struct dnnq_onnx_value){ "sr", "16000" };
	refused(RNN "/if_deep.onnx", v, 1, DNNQ_E_FORMAT, "nests messages more than 100 deep");
	/* x has a symbolic dim 0: only an input of fixed shape is frozen */
	v[0] = (struct dnnq_onnx_value){ "x", "1,2,3,4" };
	refused(RNN "/if.onnx", v, 1, DNNQ_E_SHAPE, "input 'x': --input-value: dims[0] is not "
	        "fixed");
}
END_TEST

/* loop.onnx: a Loop of 3 iterations unrolled (its carried x through an If
 * on the iteration number, its indices grown by Concat, its sequence by
 * SequenceInsert then concatenated), CastLike and a Gather of 2-D indices,
 * against numpy; a computed stop condition, a sequence read by another
 * node and 2^40 iterations refused, naming the node. */
START_TEST(loop_unrolled)
{
	static const char *const x[1] = { "x" }, *const y[3] = { "y", "y2", "y3" };
	matches("loop", "loop_", 1, x, 3, y, 35);
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_msg(import(RNN "/loop.onnx", NULL, 0, &ir, &d) == 0, "%s", d.msg);
	size_t loops = 0;
	for (size_t i = 0; i < ir.nremoved; i++)
		loops += ir.removed[i].how == DNNQ_IR_INLINED && !strcmp(ir.removed[i].op_type, "Loop");
	ck_assert_uint_eq(loops, 1);
	ck_assert_msg(ir.max_batch != 1, "%s", ir.batch_note);
	for (size_t i = 0; i < ir.nnodes; i++)      /* each iteration's nodes named apart */
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(ir.nodes[i].name, ir.nodes[j].name);
	dnnq_ir_free(&ir);
	refused(RNN "/loop_while.onnx", NULL, 0, DNNQ_E_UNSUPPORTED, "node 'unrolled' (Loop): the "
	        "body's condition 'cond_out' is not a constant");
	refused(RNN "/loop_seqread.onnx", NULL, 0, DNNQ_E_UNSUPPORTED, "node 'all' (Identity): "
	        "reads 'seq3', a sequence: only ConcatFromSequence and a Loop read one");
	refused(RNN "/loop_long.onnx", NULL, 0, DNNQ_E_UNSUPPORTED, "node 'long' (Loop): iteration "
	        "262144 of 1099511627776 takes the walk past 1048576 nodes");
}
END_TEST

/* No two of ir's values, nor two of its nodes, share a name. */
static void names_distinct(const struct dnnq_ir *ir)
{
	for (size_t i = 0; i < ir->nvalues; i++)
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(ir->values[i].name, ir->values[j].name),
			              "values %zu and %zu are both '%s'", j, i, ir->values[i].name);
	for (size_t i = 0; i < ir->nnodes; i++)
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(ir->nodes[i].name, ir->nodes[j].name),
			              "nodes %zu and %zu are both '%s'", j, i, ir->nodes[i].name);
}

/* What an odd file does with a Loop: a Pad read by a Conv and by a body
 * stays a Pad (the body reads it padded), two Loops whose bodies use the
 * same names each read their own, scan outputs stacked (at most 16), a CastLike of a computed integer and
 * one to a bool, against numpy; a body input shadowing the graph's x, a
 * sequence copied each of 2^40 iterations, a condition not a bool, a
 * sequence of mixed types and noop_with_empty_axes 2 refused, naming the
 * node. */
START_TEST(loop_odd_files)
{
	static const char *const x[1] = { "x" }, *const yl[2] = { "Y", "L" }, *const y[1] = { "y" };
	matches("loop_pad", "loop_pad_", 1, x, 2, yl, 30);
	matches("loop_twice", "loop_twice_", 1, x, 1, y, 30);
	/* scan outputs stacked: ys [3, 1, 4], each iteration's a * i */
	static const char *const yys[2] = { "y", "ys" };
	matches("loop_scan", "loop_scan_", 1, x, 2, yys, 30);
	/* CastLike of a computed int64 (not folded): its input 1 gives the type;
	 * int8 may pick another of two close maxima (a plain Cast the same) */
	matches("castlike_int", "castlike_int_", 1, x, 1, y, 0);
	/* CastLike to a bool, as Cast(to=BOOL): of x to a bool initializer's
	 * type, of a constant to a computed bool's (before: cast to float, as
	 * the IR carries those bools, y was x and y2 x + k; outputs agreed
	 * with onnxruntime-node 1.x by tools/mkrnn.py's numpy) */
	static const char *const y12[2] = { "y", "y2" };
	matches("castlike_bool", "castlike_bool_", 1, x, 2, y12, 30);
	/* the graph's own t@1 and add@1 beside a body's t and add unrolled:
	 * its iterations take @@0, @@1 (before, iteration 1's made a second
	 * value t@1 and a second node add@1) */
	static const char *const yt[2] = { "y", "t@1" };
	matches("loop_at_names", "loop_at_names_", 1, x, 2, yt, 30);
	/* bool conditions carried as floats (Squeezes of a bool constant):
	 * taken (they were refused as float32 "not a bool"), and the body's
	 * cond input a bool to CastLike (0.5 like it was 0, y was x) */
	matches("loop_cond_squeeze", "loop_cond_squeeze_", 1, x, 1, y, 30);
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_msg(import(RNN "/loop_at_names.onnx", NULL, 0, &ir, &d) == 0, "%s", d.msg);
	names_distinct(&ir);
	bool body1 = false;
	for (size_t i = 0; i < ir.nnodes; i++)
		body1 |= !strcmp(ir.nodes[i].name, "add@@1");
	ck_assert(body1);
	dnnq_ir_free(&ir);
	static const struct { const char *file; int rc; const char *msg; } bad[] = {
		{ "/reduceprod_noop.onnx", DNNQ_E_RANGE, "node 'prod' (ReduceProd): "
		  "noop_with_empty_axes = 2: 0 or 1 expected" },
		/* a condition that is not a bool (the iteration number: taken
		 * as its truth, 0 stopped the loop) */
		{ "/loop_cond_int.onnx", DNNQ_E_DTYPE, "node 'counting' (Loop): the body's "
		  "condition 'i' is int64, not a bool" },
		/* the sequence's tensors named (were '' past input 0) */
		{ "/seq_mixed.onnx", DNNQ_E_DTYPE, "node 'cat' (ConcatFromSequence): input 0 'x' is "
		  "float32, input 1 'ints' int64" },
		{ "/loop_shadow.onnx", DNNQ_E_FORMAT, "node 'shadowing' (Loop): body input 2 'x' is a "
		  "name defined before" },
		{ "/loop_scan_long.onnx", DNNQ_E_UNSUPPORTED, "node 'scanning' (Loop): 1 scan "
		  "outputs of 17 iterations: 1 to 16 are stacked" },
		{ "/loop_seqmem.onnx", DNNQ_E_UNSUPPORTED, "node 'ins' (SequenceInsert): the "
		  "sequences take more than 4194304 tensors in all" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, RNN "%s", bad[i].file);
		refused(path, NULL, 0, bad[i].rc, bad[i].msg);
	}
}
END_TEST

/* bool_moves.onnx: x cast like 28 bools that moved unchanged (Squeeze,
 * Reshape, Flatten, Transpose, Expand, Slice, Gather, Concat, Identity,
 * Where, Tile, Split, ConstantOfShape, ConcatFromSequence of two
 * sequences, Pad, ScatterND, an If inlined, a Loop's carried value, of a
 * bool constant; Unsqueeze, Transpose, Slice, Concat, Gather, Where,
 * Flatten, Tile of a computed one; an If run both ways whose branches give
 * bools): each a Cast to bool, y x != 0 28 times
 * (before, 25 of them cast x to the float carrying the bool, y was x there:
 * all but the Identity's and the two Flattens', which keep the shape and so
 * name the bool's value); y2 x cast like a Cast of a bool to float, x (before: the
 * Cast named the bool's value, marked, and y2 was x != 0). numpy's
 * outputs, which onnxruntime-node 1.x gives too (its Where takes no bools:
 * checked with each Where as And, Or and Not). */
START_TEST(bool_moves)
{
	static const char *const x[1] = { "x" }, *const y[2] = { "y", "y2" };
	matches("bool_moves", "bool_moves_", 1, x, 2, y, 30);
	/* every bool the float 0 or 1, folded ones too: Not, Where's condition,
	 * Equal and Concat of a bool initializer beside a folded Cast to bool
	 * (before: refused, Not and Where folding only bytes, the folded Cast
	 * a byte beside the initializer's float) */
	matches("bool_carriers", "bool_carriers_", 1, x, 1, y, 30);
}
END_TEST

/* bool_frozen.onnx with --input-value flag=V: y = CastLike(x, flag), x != 0;
 * y2 = If(Not(flag)) then 2x else -x (before: a bool input could not be
 * frozen). */
static void frozen_flag(const char *flag, float scale)
{
	struct dnnq_onnx_value v = { "flag", flag };
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	ck_assert_msg(import(RNN "/bool_frozen.onnx", &v, 1, &ir, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(ir.ninputs, 1);
	float xs[4] = { -1.5f, 0, 0.25f, 3 }, y[4], y2[4];
	const void *in[1] = { xs };
	void *out[2] = { y, y2 };
	ck_assert_msg(dnnq_ir_run(&ir, 1, in, out, NULL, NULL, &d) == 0, "%s", d.msg);
	for (int i = 0; i < 4; i++) {
		ck_assert_float_eq(y[i], xs[i] != 0);
		ck_assert_float_eq(y2[i], scale * xs[i]);
	}
	dnnq_ir_free(&ir);
}

START_TEST(bool_frozen)
{
	frozen_flag("1", -1);
	frozen_flag("0", 2);
	struct dnnq_onnx_value v = { "flag", "2" };
	refused(RNN "/bool_frozen.onnx", &v, 1, DNNQ_E_INVAL, "input 'flag': --input-value '2': "
	        "value 0: '2' is not an integer in [0, 1] (bool)");
}
END_TEST

Suite *suite_rnn(void)
{
	Suite *s = suite_create("rnn");
	TCase *t = tcase_create("rnn");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, lstm_matches_torch);
	tcase_add_test(t, gru_matches_torch);
	tcase_add_test(t, batch_first_keeps_batch);
	tcase_add_test(t, layers_keep_batch);
	tcase_add_test(t, time_major_keeps_batch);
	tcase_add_test(t, state_inputs_keep_batch);
	tcase_add_test(t, layout1_keeps_batch);
	tcase_add_test(t, rnn_keeps_batch);
	tcase_add_test(t, symbolic_time_shape);
	tcase_add_test(t, if_inlined);
	tcase_add_test(t, select_matches_numpy);
	tcase_add_test(t, if_refusals);
	tcase_add_test(t, loop_unrolled);
	tcase_add_test(t, loop_odd_files);
	tcase_add_test(t, bool_moves);
	tcase_add_test(t, bool_frozen);
	suite_add_tcase(s, t);
	return s;
}
