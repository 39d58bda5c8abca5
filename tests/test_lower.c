/*
 * The lowering (onnx/lower.h): small IRs built by hand, lowered with the
 * quantization parameters of their values' true ranges (from an fp32 run
 * of the IR written here, in NCHW), written, read back, built and run
 * through the engine, and compared with that fp32 run: SQNR for the fp32
 * operators, exact equality for the quantized ones (QLinearConv against an
 * integer reference; Q/DQ around a MaxPool). Unsupported shapes give one
 * line naming the node.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"
#include "engine/model.h"
#include "engine/op.h"
#include "engine/qlinear.h"
#include "onnx/lower-internal.h"
#include "onnx/lower.h"
#include "tests/rng.h"
#include "tests/suites.h"

/* ---- building IRs ---- */

static struct dnnq_ir *ir_new(void)
{
	struct dnnq_ir *ir = calloc(1, sizeof *ir);
	ir->values = calloc(64, sizeof *ir->values);
	ir->nodes = calloc(32, sizeof *ir->nodes);
	ir->inputs = calloc(8, sizeof *ir->inputs);
	ir->outputs = calloc(8, sizeof *ir->outputs);
	ir->name = strdup("t");
	ir->producer = strdup("test");
	ir->opset = 13;
	return ir;
}

static void ir_destroy(struct dnnq_ir *ir)
{
	dnnq_ir_free(ir);
	free(ir);
}

static int32_t ir_value(struct dnnq_ir *ir, const char *name, enum dnnq_ir_dtype dt,
                        uint32_t ndim, const int64_t *dims, bool batched, const void *data)
{
	ck_assert_uint_lt(ir->nvalues, 64);
	struct dnnq_ir_value *v = &ir->values[ir->nvalues];
	v->name = strdup(name);
	v->dtype = dt;
	v->ndim = ndim;
	if (ndim)
		memcpy(v->dims, dims, ndim * sizeof *dims);
	v->batched = batched;
	v->producer = -1;
	if (data) {
		size_t n = dnnq_ir_numel(v, 1) * dnnq_ir_dtype_size(dt);
		v->data = malloc(n ? n : 1);
		memcpy(v->data, data, n);
	}
	return (int32_t)ir->nvalues++;
}

static int32_t ir_input(struct dnnq_ir *ir, const char *name, uint32_t ndim, const int64_t *dims)
{
	int32_t v = ir_value(ir, name, DNNQ_IR_F32, ndim, dims, true, NULL);
	ir->inputs[ir->ninputs++] = v;
	return v;
}

static int32_t ir_const(struct dnnq_ir *ir, const char *name, uint32_t ndim, const int64_t *dims,
                        const float *data)
{
	return ir_value(ir, name, DNNQ_IR_F32, ndim, dims, false, data);
}

static int32_t ir_scalar(struct dnnq_ir *ir, const char *name, enum dnnq_ir_dtype dt, double x)
{
	float f = (float)x;
	uint8_t u = (uint8_t)x;
	int8_t s = (int8_t)x;
	const void *p = dt == DNNQ_IR_F32 ? (const void *)&f : dt == DNNQ_IR_U8 ? (const void *)&u
	                                                                      : (const void *)&s;
	return ir_value(ir, name, dt, 0, NULL, false, p);
}

/* A node with the output value `out` (batched, of shape dims). */
static struct dnnq_ir_node *ir_node(struct dnnq_ir *ir, enum dnnq_ir_op op, const char *name,
                                    const char *op_type, uint32_t nin, const int32_t *in,
                                    enum dnnq_ir_dtype odt, uint32_t ndim, const int64_t *dims,
                                    int32_t *out)
{
	ck_assert_uint_lt(ir->nnodes, 32);
	struct dnnq_ir_node *n = &ir->nodes[ir->nnodes];
	*out = ir_value(ir, name, odt, ndim, dims, true, NULL);
	ir->values[*out].producer = (int32_t)ir->nnodes++;
	n->op = op;
	n->name = strdup(name);
	n->op_type = strdup(op_type);
	n->ninputs = nin;
	memcpy(n->inputs, in, nin * sizeof *in);
	n->noutputs = 1;
	n->outputs[0] = *out;
	n->strides[0] = n->strides[1] = n->dilations[0] = n->dilations[1] = 1;
	n->group = 1;
	n->alpha = n->beta = 1;
	n->clip_min = -INFINITY;
	n->clip_max = INFINITY;
	n->epsilon = 1e-5f;
	return n;
}

static void ir_output(struct dnnq_ir *ir, int32_t v)
{
	ck_assert_uint_lt(ir->noutputs, 8);
	ir->outputs[ir->noutputs++] = v;
}

static float *randf(struct rng *r, size_t n, double lo, double hi)
{
	float *p = malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)rng_uniform(r, lo, hi);
	return p;
}

/* ---- the fp32 reference, NCHW ---- */

static double cval(const struct dnnq_ir_value *v, size_t i)
{
	switch (v->dtype) {
	case DNNQ_IR_F32: return ((const float *)v->data)[i];
	case DNNQ_IR_U8:  return ((const uint8_t *)v->data)[i];
	case DNNQ_IR_S8:  return ((const int8_t *)v->data)[i];
	case DNNQ_IR_S32: return ((const int32_t *)v->data)[i];
	default:          return (double)((const int64_t *)v->data)[i];
	}
}

static size_t nel(const struct dnnq_ir *ir, int32_t v, size_t b)
{
	return dnnq_ir_numel(&ir->values[v], b);
}

static double quant(double x, double s, double z, double lo, double hi)
{
	double q = nearbyint(x / s) + z;
	return q < lo ? lo : q > hi ? hi : q;
}

static void ref_conv(const struct dnnq_ir *ir, const struct dnnq_ir_node *n, float **val,
                     size_t B, const float *x, const float *w, const float *bias, float *y,
                     double xz, const double *wz)
{
	const struct dnnq_ir_value *xv = &ir->values[n->inputs[0]];
	const struct dnnq_ir_value *yv = &ir->values[n->outputs[0]];
	const struct dnnq_ir_value *wv = &ir->values[n->inputs[n->op == DNNQ_IR_CONV ? 1 : 3]];
	int64_t C = xv->dims[1], H = xv->dims[2], W = xv->dims[3];
	int64_t O = yv->dims[1], OH = yv->dims[2], OW = yv->dims[3];
	int64_t cg = wv->dims[1], kh = wv->dims[2], kw = wv->dims[3], og = O / n->group;
	(void)val;
	(void)C;
	for (size_t b = 0; b < B; b++)
		for (int64_t o = 0; o < O; o++)
			for (int64_t oh = 0; oh < OH; oh++)
				for (int64_t ow = 0; ow < OW; ow++) {
					double acc = bias ? bias[o] : 0;
					int64_t g = o / og;
					for (int64_t c = 0; c < cg; c++)
						for (int64_t i = 0; i < kh; i++)
							for (int64_t j = 0; j < kw; j++) {
								int64_t h = oh * n->strides[0] - n->pads[0] + i * n->dilations[0];
								int64_t ww = ow * n->strides[1] - n->pads[1] + j * n->dilations[1];
								if (h < 0 || h >= H || ww < 0 || ww >= W)
									continue;
								double xx = x[((b * (size_t)xv->dims[1] + (size_t)(g * cg + c)) * H + h) * W + ww];
								double wq = w[((o * cg + c) * kh + i) * kw + j];
								acc += (xx - xz) * (wq - (wz ? wz[o] : 0));
							}
					y[((b * O + o) * OH + oh) * OW + ow] = (float)acc;
				}
}

static void ref_pool(const struct dnnq_ir *ir, const struct dnnq_ir_node *n, size_t B,
                     const float *x, float *y)
{
	const struct dnnq_ir_value *xv = &ir->values[n->inputs[0]];
	const struct dnnq_ir_value *yv = &ir->values[n->outputs[0]];
	int64_t C = xv->dims[1], H = xv->dims[2], W = xv->dims[3], OH = yv->dims[2], OW = yv->dims[3];
	bool gap = n->op == DNNQ_IR_GAVGPOOL;
	int64_t kh = gap ? H : n->kernel[0], kw = gap ? W : n->kernel[1];
	for (size_t b = 0; b < B; b++)
		for (int64_t c = 0; c < C; c++)
			for (int64_t oh = 0; oh < OH; oh++)
				for (int64_t ow = 0; ow < OW; ow++) {
					double acc = n->op == DNNQ_IR_MAXPOOL ? -INFINITY : 0;
					int64_t cnt = 0;
					for (int64_t i = 0; i < kh; i++)
						for (int64_t j = 0; j < kw; j++) {
							int64_t h = gap ? i : oh * n->strides[0] - n->pads[0] + i;
							int64_t w = gap ? j : ow * n->strides[1] - n->pads[1] + j;
							bool in = h >= 0 && h < H && w >= 0 && w < W;
							bool padded = h >= -n->pads[0] && h < H + n->pads[2] &&
							              w >= -n->pads[1] && w < W + n->pads[3];
							if (n->count_include_pad ? padded : in)
								cnt++;
							if (!in)
								continue;
							double v = x[((b * C + c) * H + h) * W + w];
							acc = n->op == DNNQ_IR_MAXPOOL ? fmax(acc, v) : acc + v;
						}
					y[((b * C + c) * OH + oh) * OW + ow] =
						(float)(n->op == DNNQ_IR_MAXPOOL ? acc : acc / (double)cnt);
				}
}

static double hardswish(double x)
{
	return x * fmax(0, fmin(1, x / 6 + 0.5));
}

/* Runs the IR on B samples; val[v] gets every value (malloc'd). */
static void ref_run(const struct dnnq_ir *ir, size_t B, float **val)
{
	for (size_t v = 0; v < ir->nvalues; v++)
		if (ir->values[v].data && !val[v]) {
			size_t n = nel(ir, (int32_t)v, 1);
			val[v] = malloc((n + 1) * sizeof **val);
			for (size_t i = 0; i < n; i++)
				val[v][i] = (float)cval(&ir->values[v], i);
		}
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		const struct dnnq_ir_value *xv = &ir->values[n->inputs[0]];
		int32_t o = n->outputs[0];
		size_t ny = nel(ir, o, B), nx = nel(ir, n->inputs[0], xv->batched ? B : 1);
		float *y = val[o] = calloc(ny + 1, sizeof *y), *x = val[n->inputs[0]];
		switch (n->op) {
		case DNNQ_IR_CONV:
			ref_conv(ir, n, val, B, x, val[n->inputs[1]],
			         n->ninputs > 2 && n->inputs[2] >= 0 ? val[n->inputs[2]] : NULL, y, 0, NULL);
			break;
		case DNNQ_IR_GEMM: {
			const struct dnnq_ir_value *bv = &ir->values[n->inputs[1]];
			size_t K = (size_t)xv->dims[1], N = (size_t)ir->values[o].dims[1];
			const float *w = val[n->inputs[1]];
			const float *c = n->ninputs > 2 && n->inputs[2] >= 0 ? val[n->inputs[2]] : NULL;
			size_t nc = c ? nel(ir, n->inputs[2], 1) : 0;
			(void)bv;
			for (size_t b = 0; b < B; b++)
				for (size_t jj = 0; jj < N; jj++) {
					double acc = 0;
					for (size_t k = 0; k < K; k++)
						acc += (double)x[b * K + k] * (n->trans_b ? w[jj * K + k] : w[k * N + jj]);
					y[b * N + jj] = (float)(n->alpha * acc + (c ? n->beta * c[nc == 1 ? 0 : jj] : 0));
				}
			break;
		}
		case DNNQ_IR_BATCHNORM: {
			size_t C = (size_t)xv->dims[1], inner = nx / B / C;
			const float *s = val[n->inputs[1]], *bb = val[n->inputs[2]], *m = val[n->inputs[3]],
			            *var = val[n->inputs[4]];
			for (size_t i = 0; i < nx; i++) {
				size_t c = i / inner % C;
				y[i] = (float)(s[c] * (x[i] - m[c]) / sqrt((double)var[c] + n->epsilon) + bb[c]);
			}
			break;
		}
		case DNNQ_IR_RELU:
			for (size_t i = 0; i < nx; i++)
				y[i] = x[i] > 0 ? x[i] : 0;
			break;
		case DNNQ_IR_CLIP:
			for (size_t i = 0; i < nx; i++)
				y[i] = fminf(fmaxf(x[i], n->clip_min), n->clip_max);
			break;
		case DNNQ_IR_LEAKYRELU:
			for (size_t i = 0; i < nx; i++)
				y[i] = x[i] >= 0 ? x[i] : n->alpha * x[i];
			break;
		case DNNQ_IR_TANH:
			for (size_t i = 0; i < nx; i++)
				y[i] = (float)tanh(x[i]);
			break;
		case DNNQ_IR_HARDSIGMOID:
			for (size_t i = 0; i < nx; i++)
				y[i] = (float)fmax(0, fmin(1, (double)n->alpha * x[i] + n->beta));
			break;
		case DNNQ_IR_SUM:
			for (size_t i = 0; i < nx; i++)
				for (uint32_t k = 0; k < n->ninputs; k++)
					y[i] += val[n->inputs[k]][i];
			break;
		case DNNQ_IR_SIGMOID:
			for (size_t i = 0; i < nx; i++)
				y[i] = (float)(1 / (1 + exp(-x[i])));
			break;
		case DNNQ_IR_HARDSWISH:
			for (size_t i = 0; i < nx; i++)
				y[i] = (float)hardswish(x[i]);
			break;
		case DNNQ_IR_MAXPOOL:
		case DNNQ_IR_AVGPOOL:
		case DNNQ_IR_GAVGPOOL:
			ref_pool(ir, n, B, x, y);
			break;
		case DNNQ_IR_ADD:
		case DNNQ_IR_MUL: {
			int32_t i0 = n->inputs[0], i1 = n->inputs[1];
			if (ir->values[i0].data) {
				i0 = i1;
				i1 = n->inputs[0];
			}
			xv = &ir->values[i0];
			x = val[i0];
			nx = nel(ir, i0, B);
			const struct dnnq_ir_value *bv = &ir->values[i1];
			const float *b = val[i1];
			size_t nb = nel(ir, i1, bv->batched ? B : 1);
			size_t C = xv->ndim >= 2 ? (size_t)xv->dims[1] : 1, inner = nx / B / C;
			for (size_t i = 0; i < nx; i++) {
				float bb = nb == nx ? b[i] : nb == 1 ? b[0] : b[i / inner % C];
				y[i] = n->op == DNNQ_IR_ADD ? x[i] + bb : x[i] * bb;
			}
			break;
		}
		case DNNQ_IR_CONCAT: {
			/* axis 1 */
			size_t off = 0, per = ny / B;
			for (uint32_t k = 0; k < n->ninputs; k++) {
				size_t m = nel(ir, n->inputs[k], B) / B;
				for (size_t b = 0; b < B; b++)
					memcpy(y + b * per + off, val[n->inputs[k]] + b * m, m * sizeof *y);
				off += m;
			}
			break;
		}
		case DNNQ_IR_RESHAPE:
			memcpy(y, x, nx * sizeof *y);
			break;
		case DNNQ_IR_SOFTMAX: {
			size_t C = (size_t)xv->dims[n->axis], inner = nx / B / C;
			for (size_t b = 0; b < B; b++)
				for (size_t in = 0; in < inner; in++) {
					const float *xp = x + b * C * inner + in;
					float *yp = y + b * C * inner + in;
					double mx = -INFINITY, s = 0;
					for (size_t c = 0; c < C; c++)
						mx = fmax(mx, xp[c * inner]);
					for (size_t c = 0; c < C; c++)
						s += exp(xp[c * inner] - mx);
					for (size_t c = 0; c < C; c++)
						yp[c * inner] = (float)(exp(xp[c * inner] - mx) / s);
				}
			break;
		}
		case DNNQ_IR_QUANTIZE:
		case DNNQ_IR_DEQUANTIZE: {
			const float *s = val[n->inputs[1]], *z = n->ninputs > 2 ? val[n->inputs[2]] : NULL;
			bool s8 = n->ninputs > 2 ? ir->values[n->inputs[2]].dtype == DNNQ_IR_S8
			                         : xv->dtype == DNNQ_IR_S8;
			size_t ns = nel(ir, n->inputs[1], 1), inner = 1;
			for (uint32_t d = (uint32_t)n->axis + 1; ns > 1 && d < xv->ndim; d++)
				inner *= (size_t)xv->dims[d];
			for (size_t i = 0; i < nx; i++) {
				size_t c = ns == 1 ? 0 : i / inner % ns;
				double zz = z ? z[c] : 0;
				y[i] = n->op == DNNQ_IR_QUANTIZE
				       ? (float)quant(x[i], s[c], zz, s8 ? -128 : 0, s8 ? 127 : 255)
				       : (float)(x[i] - zz) * s[c];
			}
			break;
		}
		case DNNQ_IR_QLINEARMATMUL: {
			const float *w = val[n->inputs[3]], *bs = val[n->inputs[4]], *bz = val[n->inputs[5]];
			size_t K = (size_t)xv->dims[1], N = (size_t)ir->values[o].dims[1];
			size_t ns = nel(ir, n->inputs[4], 1), nz = nel(ir, n->inputs[5], 1);
			double as = val[n->inputs[1]][0], az = val[n->inputs[2]][0];
			double ys = val[n->inputs[6]][0], yz = val[n->inputs[7]][0];
			for (size_t b = 0; b < B; b++)
				for (size_t jj = 0; jj < N; jj++) {
					int64_t acc = n->ninputs > 8 ? (int64_t)val[n->inputs[8]][jj] : 0;
					for (size_t k = 0; k < K; k++)
						acc += (int64_t)(x[b * K + k] - az) *
						       (int64_t)(w[k * N + jj] - bz[nz == 1 ? 0 : jj]);
					float m = (float)(as * (double)bs[ns == 1 ? 0 : jj] / ys);
					double q = rintf((float)(int32_t)acc * m) + yz;
					y[b * N + jj] = (float)(q < 0 ? 0 : q > 255 ? 255 : q);
				}
			break;
		}
		case DNNQ_IR_QLINEARCONV: {
			/* integers; requantized as the engine does: m rounded once to float */
			const struct dnnq_ir_value *yv = &ir->values[o];
			size_t O = (size_t)yv->dims[1], per = ny / B / O;
			double wz[64];
			size_t nz = nel(ir, n->inputs[5], 1), ns = nel(ir, n->inputs[4], 1);
			for (size_t c = 0; c < O; c++)
				wz[c] = val[n->inputs[5]][nz == 1 ? 0 : c];
			float *acc = calloc(ny, sizeof *acc);
			ref_conv(ir, n, val, B, x, val[n->inputs[3]], n->ninputs > 8 ? val[n->inputs[8]] : NULL,
			         acc, val[n->inputs[2]][0], wz);
			double xs = val[n->inputs[1]][0], ys = val[n->inputs[6]][0], yz = val[n->inputs[7]][0];
			for (size_t i = 0; i < ny; i++) {
				size_t c = i / per % O;
				float m = (float)(xs * (double)val[n->inputs[4]][ns == 1 ? 0 : c] / ys);
				double q = rintf((float)(int32_t)acc[i] * m) + yz;
				y[i] = (float)(q < 0 ? 0 : q > 255 ? 255 : q);
			}
			free(acc);
			break;
		}
		default:
			ck_abort_msg("ref: op %d", n->op);
		}
	}
}

static void vals_free(const struct dnnq_ir *ir, float **val)
{
	for (size_t v = 0; v < ir->nvalues; v++)
		free(val[v]);
}

/* qp of every computed f32 value from its range (asymmetric u8, or
 * symmetric int8 when ranges_signed). */
static bool ranges_signed;

static void ranges(const struct dnnq_ir *ir, size_t B, float **val, struct dnnq_qparams *qp,
                   bool *has)
{
	struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	if (ranges_signed)
		spec = (struct dnnq_qspec){ DNNQ_QSCHEME_SYMMETRIC, 8, true, false };
	for (size_t v = 0; v < ir->nvalues; v++) {
		has[v] = false;
		if (ir->values[v].data || ir->values[v].dtype != DNNQ_IR_F32 || !val[v])
			continue;
		float lo, hi;
		dnnq_minmax(val[v], nel(ir, (int32_t)v, B), &lo, &hi);
		ck_assert_int_eq(dnnq_choose_qparams(lo, hi, &spec, &qp[v], NULL), 0);
		has[v] = true;
	}
}

/* ---- lower, write, read, build, run ---- */

struct run {
	struct dnnq_model m;
	size_t nnodes;
	char names[16][DNNQ_MODEL_NAME_MAX];
	enum dnnq_node_kind kinds[16];
	uint32_t ops[16];
};

/* Lowers; on success checks the file round trip and the signature against
 * the graph, and runs batch B on the reference's inputs into out[i]. */
static int lower_run(const struct dnnq_ir *ir, const struct dnnq_lower_opts *o,
                     const struct dnnq_qparams *qp, const bool *has, size_t B, float **val,
                     float **out, struct run *r, struct dnnq_diag *d)
{
	memset(r, 0, sizeof *r);
	int rc = dnnq_onnx_lower(ir, o, qp, has, &r->m, d);
	if (rc)
		return rc;
	r->nnodes = r->m.nnodes;
	for (size_t j = 0; j < r->m.nnodes && j < 16; j++) {
		memcpy(r->names[j], r->m.nodes[j].name, DNNQ_MODEL_NAME_MAX);
		r->kinds[j] = r->m.nodes[j].kind;
		r->ops[j] = r->m.nodes[j].op;
	}
	void *buf;
	size_t len;
	struct dnnq_model back;
	struct dnnq_graph *g;
	ck_assert_msg(dnnq_model_write(&r->m, &buf, &len, d) == 0, "%s", d->msg);
	ck_assert_msg(dnnq_model_read(buf, len, &back, d) == 0, "%s", d->msg);
	free(buf);
	ck_assert_str_eq(back.producer, "dnnq-convert");
	ck_assert_int_eq(back.created, 0);
	ck_assert_msg(dnnq_model_build(&back, dnnq_isa_best(), &g, d) == 0, "%s", d->msg);
	ck_assert_msg(dnnq_graph_plan(g, B, 1, d) == 0, "%s", d->msg);
	ck_assert_uint_eq(dnnq_graph_num_inputs(g), ir->ninputs);
	ck_assert_uint_eq(dnnq_graph_num_outputs(g), ir->noutputs);
	const void *in[8];
	void *outs[8];
	uint8_t *u8in[8];
	size_t nu8 = 0;
	for (size_t i = 0; i < ir->ninputs + ir->noutputs; i++) {
		const struct dnnq_model_io *io = i < ir->ninputs ? &back.inputs[i]
		                                                 : &back.outputs[i - ir->ninputs];
		const struct dnnq_ir_value *iv = &ir->values[i < ir->ninputs ? ir->inputs[i]
		                                             : ir->outputs[i - ir->ninputs]];
		struct dnnq_tensor_info ti;
		ck_assert_int_eq(i < ir->ninputs ? dnnq_graph_input_info(g, i, &ti)
		                                 : dnnq_graph_output_info(g, i - ir->ninputs, &ti), 0);
		/* what the daemon checks: the signature is the graph's, in ONNX terms */
		ck_assert_str_eq(io->name, iv->name);
		ck_assert_int_eq(io->dtype, ti.dtype);
		ck_assert_uint_eq(io->ndim, iv->ndim);
		ck_assert_uint_eq(ti.ndim, iv->ndim);
		for (uint32_t k = 1; k < iv->ndim; k++) {
			ck_assert_int_eq(io->dims[k], iv->dims[k]);
			ck_assert_int_eq(ti.dims[k], iv->dims[k]);
		}
		if (i < ir->ninputs && iv->dtype == DNNQ_IR_U8) {
			size_t k = nel(ir, ir->inputs[i], B);
			uint8_t *u = malloc(k);
			for (size_t e = 0; e < k; e++)
				u[e] = (uint8_t)val[ir->inputs[i]][e];
			in[i] = u8in[nu8++] = u;
		} else if (i < ir->ninputs)
			in[i] = val[ir->inputs[i]];
		else
			outs[i - ir->ninputs] = out[i - ir->ninputs];
	}
	ck_assert_int_eq(dnnq_graph_run(g, in, outs, NULL), 0);
	for (size_t i = 0; i < nu8; i++)
		free(u8in[i]);
	dnnq_graph_destroy(g);
	dnnq_model_free(&back);
	return 0;
}

static const struct dnnq_lower_opts opts_pc = { .per_channel = true, .symmetric_weights = true,
                                                .calibration = "minmax" };
static const struct dnnq_lower_opts opts_pt = { .per_channel = false,
                                                .symmetric_weights = false };

/* Lowers and runs ir on B samples of its fp32 reference; returns the worst
 * output SQNR. */
static double sqnr_of(const struct dnnq_ir *ir, const struct dnnq_lower_opts *o, size_t B,
                      float **val, struct run *r)
{
	struct dnnq_qparams qp[64];
	bool has[64];
	ranges(ir, B, val, qp, has);
	float *out[8];
	for (size_t i = 0; i < ir->noutputs; i++)
		out[i] = calloc(nel(ir, ir->outputs[i], B), sizeof **out);
	struct dnnq_diag d = { "" };
	int rc = lower_run(ir, o, qp, has, B, val, out, r, &d);
	ck_assert_msg(rc == 0, "lower: %s", d.msg);
	double worst = INFINITY;
	for (size_t i = 0; i < ir->noutputs; i++) {
		double s = dnnq_sqnr_db(val[ir->outputs[i]], out[i], nel(ir, ir->outputs[i], B));
		worst = fmin(worst, s);
		free(out[i]);
	}
	dnnq_model_free(&r->m);
	return worst;
}

static int find_node(const struct run *r, const char *name)
{
	for (size_t j = 0; j < r->nnodes && j < 16; j++)
		if (!strcmp(r->names[j], name))
			return (int)j;
	return -1;
}

/* ---- fp32 operators ---- */

enum { B = 3 };

/* Lowers and runs ir with o on B samples: its worst output SQNR must reach
 * 30 dB; what names the case in a failure. */
static void expect_sqnr(const struct dnnq_ir *ir, const struct dnnq_lower_opts *o, float **val,
                        struct run *r, const char *what)
{
	double s = sqnr_of(ir, o, B, val, r);
	ck_assert_msg(s >= 30, "%s: %.1f dB", what, s);
}

/* Lowers ir with opts_pc and the parameters qp / has (NULL: none
 * calibrated, all from the model), runs B samples of the reference's
 * inputs, and checks the one output y (f32 or uint8) is the reference's
 * exactly. The lowered model is left in *r. */
static void expect_exact(const struct dnnq_ir *ir, const struct dnnq_qparams *qp, const bool *has,
                         float **val, int32_t y, struct run *r)
{
	struct dnnq_qparams none_qp[64];
	bool none[64] = { 0 };
	if (!qp) {
		qp = none_qp;
		has = none;
	}
	size_t ny = nel(ir, y, B);
	bool u8 = ir->values[y].dtype == DNNQ_IR_U8;
	void *buf = calloc(ny, u8 ? 1 : sizeof (float));
	float *out[1] = { buf };
	struct dnnq_diag d = { "" };
	ck_assert_msg(lower_run(ir, &opts_pc, qp, has, B, val, out, r, &d) == 0, "%s", d.msg);
	for (size_t i = 0; i < ny; i++) {
		double o = u8 ? ((const uint8_t *)buf)[i] : out[0][i];
		ck_assert_msg(o == val[y][i], "[%zu]: %g, want %g", i, o, val[y][i]);
	}
	free(buf);
}

/* How many of u8 value v's B samples are 0 or 255 (an exact test that
 * saturates everything tests little). */
static size_t saturated(const struct dnnq_ir *ir, float **val, int32_t v)
{
	size_t k = 0, n = nel(ir, v, B);
	for (size_t i = 0; i < n; i++)
		k += val[v][i] == 0 || val[v][i] == 255;
	return k;
}

/* x [B,3,8,8] -> Conv 3x3 (3 -> 8) -> BatchNorm -> Relu */
static struct dnnq_ir *conv_bn_relu(struct rng *r, int32_t *x_out)
{
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 3, 8, 8 }), c, bn, y;
	float *w = randf(r, 8 * 3 * 9, -0.5, 0.5), *b = randf(r, 8, -0.2, 0.2);
	float *sc = randf(r, 8, 0.5, 1.5), *bb = randf(r, 8, -0.3, 0.3), *mu = randf(r, 8, -0.2, 0.2),
	      *var = randf(r, 8, 0.5, 2);
	int32_t wv = ir_const(ir, "w", 4, (int64_t[]){ 8, 3, 3, 3 }, w);
	int32_t bv = ir_const(ir, "b", 1, (int64_t[]){ 8 }, b);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 3, (int32_t[]){ x, wv, bv },
	                                 DNNQ_IR_F32, 4, (int64_t[]){ 1, 8, 8, 8 }, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	int32_t p[4] = { ir_const(ir, "s", 1, (int64_t[]){ 8 }, sc),
	                 ir_const(ir, "bb", 1, (int64_t[]){ 8 }, bb),
	                 ir_const(ir, "mu", 1, (int64_t[]){ 8 }, mu),
	                 ir_const(ir, "var", 1, (int64_t[]){ 8 }, var) };
	ir_node(ir, DNNQ_IR_BATCHNORM, "bn", "BatchNormalization", 5,
	        (int32_t[]){ c, p[0], p[1], p[2], p[3] }, DNNQ_IR_F32, 4, (int64_t[]){ 1, 8, 8, 8 }, &bn);
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &bn, DNNQ_IR_F32, 4, (int64_t[]){ 1, 8, 8, 8 }, &y);
	ir_output(ir, y);
	free(w), free(b), free(sc), free(bb), free(mu), free(var);
	*x_out = x;
	return ir;
}

START_TEST(lower_conv_bn_relu)
{
	struct rng r = { 1 };
	int32_t x;
	struct dnnq_ir *ir = conv_bn_relu(&r, &x);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 3 * 64, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel symmetric");
	/* quantize, the conv with BN and Relu folded in, dequantize */
	ck_assert_uint_eq(run.nnodes, 3);
	ck_assert_int_eq(run.kinds[find_node(&run, "relu")], DNNQ_NODE_CONV);
	ck_assert_int_ge(find_node(&run, "x:quantize"), 0);
	expect_sqnr(ir, &opts_pt, val, &run, "per tensor asymmetric");
	/* int8 calibration parameters are used as the equivalent uint8 ones */
	ranges_signed = true;
	expect_sqnr(ir, &opts_pc, val, &run, "int8 activation parameters");
	ranges_signed = false;
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* A bias int8 cannot hold (conv weights of 1e-12, so the bias at the
 * input's scale times the weights' is beyond int32): per channel, each
 * channel's weight scale grows until its bias fits; per tensor, an error
 * naming the node, or, with int8_refused, the node and the followers it
 * fuses are lowered fp32 and the refusal is noted; unit names the fused
 * chain. */
START_TEST(lower_int8_refused)
{
	struct rng r = { 1 };
	int32_t x;
	struct dnnq_ir *ir = conv_bn_relu(&r, &x);
	float *w = ir->values[ir->nodes[0].inputs[1]].data;
	for (size_t i = 0; i < 8 * 3 * 9; i++)
		w[i] *= 1e-12f;
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 3 * 64, -1, 1);
	ref_run(ir, B, val);
	struct dnnq_qparams qp[64];
	bool has[64];
	ranges(ir, B, val, qp, has);
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_onnx_lower(ir, &opts_pc, qp, has, &m, &d) == 0, "%s", d.msg);
	for (size_t j = 0; j < m.nnodes; j++)
		ck_assert(m.nodes[j].precision == DNNQ_PRECISION_INT8);
	size_t cv = 0;
	while (cv < m.nnodes && m.nodes[cv].kind != DNNQ_NODE_CONV)
		cv++;
	ck_assert_uint_lt(cv, m.nnodes);
	const struct dnnq_qtensor *wq = &m.tensors[m.nodes[cv].weight].t;
	const float *bq = m.tensors[m.nodes[cv].bias].t.data;
	ck_assert_uint_eq(wq->nqparams, 8);
	for (size_t c = 0; c < 8; c++)
		ck_assert(dnnq_qlinear_bias_fits(bq[c], (double)wq->scales[c] * qp[x].scale));
	dnnq_model_free(&m);
	ck_assert_int_eq(dnnq_onnx_lower(ir, &opts_pt, qp, has, &m, &d), DNNQ_E_RANGE);
	ck_assert_msg(strstr(d.msg, "node 'conv' (Conv): bias[") &&
	              strstr(d.msg, "too large for int32 at scale") &&
	              strstr(d.msg, "(one weight scale for every row: --per-channel gives each its "
	                     "own)"), "%s", d.msg);
	struct dnnq_diag refused[3] = { { "" }, { "" }, { "" } };
	int32_t unit[3];
	struct dnnq_lower_opts o = opts_pt;
	o.int8_refused = refused;
	o.unit = unit;
	ck_assert_msg(dnnq_onnx_lower(ir, &o, qp, has, &m, &d) == 0, "%s", d.msg);
	ck_assert_msg(strstr(refused[0].msg, "node 'conv' (Conv): bias["), "%s", refused[0].msg);
	ck_assert(!refused[1].msg[0] && !refused[2].msg[0]);
	ck_assert(unit[0] == 0 && unit[1] == 0 && unit[2] == 0);
	size_t fp32 = 0, conv = 0;
	for (size_t j = 0; j < m.nnodes; j++) {
		fp32 += m.nodes[j].precision == DNNQ_PRECISION_FP32;
		conv += m.nodes[j].kind == DNNQ_NODE_CONV && !strcmp(m.nodes[j].name, "relu");
	}
	ck_assert_uint_eq(conv, 1);     /* BatchNormalization and Relu fused, fp32 */
	ck_assert_uint_eq(fp32, 1);
	dnnq_model_free(&m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* A Linear of one output whose weights are all but zero (1e-40: SSR-Net's
 * dead stage of faceplugin's fr_gender.onnx) and whose bias is not: per
 * tensor too, its one row's scale grows until the bias fits, where
 * `--precision int8` refused the model (the weights' scale FLT_MIN). */
START_TEST(lower_one_row_bias)
{
	struct rng r = { 3 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 2, (int64_t[]){ 1, 16 }), y;
	float w[16], c = 0.058f;
	for (size_t i = 0; i < 16; i++)
		w[i] = (i & 1 ? -1e-40f : 2e-40f);
	int32_t wv = ir_const(ir, "B", 2, (int64_t[]){ 1, 16 }, w);
	int32_t cv = ir_const(ir, "C", 1, (int64_t[]){ 1 }, &c);
	ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 3, (int32_t[]){ x, wv, cv }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, 1 }, &y)->trans_b = true;
	ir_output(ir, y);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 16, -1, 1);
	ref_run(ir, B, val);
	struct dnnq_qparams qp[64];
	bool has[64];
	ranges(ir, B, val, qp, has);
	for (int pc = 0; pc < 2; pc++) {
		struct dnnq_model m;
		struct dnnq_diag d = { "" };
		ck_assert_msg(dnnq_onnx_lower(ir, pc ? &opts_pc : &opts_pt, qp, has, &m, &d) == 0,
		              "%s", d.msg);
		size_t fc = 0;
		while (fc < m.nnodes && m.nodes[fc].kind != DNNQ_NODE_FC)
			fc++;
		ck_assert_uint_lt(fc, m.nnodes);
		ck_assert(m.nodes[fc].precision == DNNQ_PRECISION_INT8);
		const struct dnnq_qtensor *wq = &m.tensors[m.nodes[fc].weight].t;
		ck_assert(dnnq_qlinear_bias_fits(((const float *)m.tensors[m.nodes[fc].bias].t.data)[0],
		                                 (double)wq->scales[0] * qp[x].scale));
		dnnq_model_free(&m);
	}
	/* a bias of inf or NaN: the model's to fix, per channel or not (one
	 * row said '--per-channel gives each its own', which changes nothing) */
	float *bias = ir->values[cv].data;
	for (int k = 0; k < 4; k++) {
		struct dnnq_model m;
		struct dnnq_diag d = { "" };
		bias[0] = k & 2 ? NAN : INFINITY;
		ck_assert_int_eq(dnnq_onnx_lower(ir, k & 1 ? &opts_pc : &opts_pt, qp, has, &m, &d),
		                 DNNQ_E_RANGE);
		char want[160];
		snprintf(want, sizeof want, "node 'fc' (Gemm): bias[0] = %s: not finite, which no int32"
		         " holds at any scale (the model's bias, or what it folds in: fix the model)",
		         k & 2 ? "nan" : "inf");
		ck_assert_msg(strstr(d.msg, want) && !strstr(d.msg, "--per-channel"), "%s", d.msg);
	}
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* x [B,16] -> Gemm (alpha, beta, C [1,10]) -> Relu */
static struct dnnq_ir *gemm_ir(struct rng *r, bool trans_b, int32_t *x_out)
{
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 2, (int64_t[]){ 1, 16 }), g, y;
	float *w = randf(r, 160, -0.5, 0.5), *c = randf(r, 10, -1, 1);
	int32_t wv = ir_const(ir, "B", 2, trans_b ? (int64_t[]){ 10, 16 } : (int64_t[]){ 16, 10 }, w);
	int32_t cv = ir_const(ir, "C", 2, (int64_t[]){ 1, 10 }, c);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 3, (int32_t[]){ x, wv, cv },
	                                 DNNQ_IR_F32, 2, (int64_t[]){ 1, 10 }, &g);
	n->trans_b = trans_b;
	n->alpha = 0.75f;
	n->beta = 1.5f;
	ir_node(ir, DNNQ_IR_SIGMOID, "sig", "Sigmoid", 1, &g, DNNQ_IR_F32, 2, (int64_t[]){ 1, 10 }, &y);
	ir_output(ir, g);
	ir_output(ir, y);
	free(w), free(c);
	*x_out = x;
	return ir;
}

START_TEST(lower_gemm)
{
	for (int tb = 0; tb < 2; tb++) {
		struct rng r = { 2 };
		int32_t x;
		struct dnnq_ir *ir = gemm_ir(&r, tb, &x);
		float *val[64] = { 0 };
		val[x] = randf(&r, B * 16, -2, 2);
		ref_run(ir, B, val);
		struct run run;
		expect_sqnr(ir, &opts_pc, val, &run, tb ? "transB 1" : "transB 0");
		expect_sqnr(ir, &opts_pt, val, &run, tb ? "transB 1 per tensor" : "transB 0 per tensor");
		/* dynamic: f32 in, f32 out; the sigmoid reads it quantized */
		struct dnnq_lower_opts dyn = opts_pc;
		dyn.dynamic = true;
		expect_sqnr(ir, &dyn, val, &run, tb ? "transB 1 dynamic" : "transB 0 dynamic");
		ck_assert_int_eq(run.kinds[find_node(&run, "fc")], DNNQ_NODE_FC);
		ck_assert_int_ge(find_node(&run, "fc:quantize"), 0);
		vals_free(ir, val);
		ir_destroy(ir);
	}
}
END_TEST

/* x [B,2,5,5] -> Conv 3x3 (2 -> 4) + Relu -> Flatten [B,100] -> Gemm 6 */
START_TEST(lower_flatten_gemm)
{
	struct rng r = { 3 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 2, 5, 5 }), c, a, f, y;
	float *w = randf(&r, 4 * 2 * 9, -0.5, 0.5), *fw = randf(&r, 600, -0.3, 0.3);
	int32_t wv = ir_const(ir, "w", 4, (int64_t[]){ 4, 2, 3, 3 }, w);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 2, (int32_t[]){ x, wv },
	                                 DNNQ_IR_F32, 4, (int64_t[]){ 1, 4, 5, 5 }, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &c, DNNQ_IR_F32, 4, (int64_t[]){ 1, 4, 5, 5 }, &a);
	ir_node(ir, DNNQ_IR_RESHAPE, "flat", "Flatten", 1, &a, DNNQ_IR_F32, 2, (int64_t[]){ 1, 100 }, &f);
	int32_t fv = ir_const(ir, "fw", 2, (int64_t[]){ 6, 100 }, fw);
	n = ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 2, (int32_t[]){ f, fv }, DNNQ_IR_F32, 2,
	            (int64_t[]){ 1, 6 }, &y);
	n->trans_b = true;
	ir_output(ir, y);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 50, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel");
	ck_assert_int_eq(run.kinds[find_node(&run, "flat")], DNNQ_NODE_RESHAPE);
	free(w), free(fw);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* x [B,4,9,9] -> MaxPool 3x3/2 pad 1 -> AvgPool 2x2/1 pad 1 (pads not
 * counted) -> GlobalAveragePool; the avgpool and the gap are outputs */
START_TEST(lower_pools)
{
	struct rng r = { 4 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 4, 9, 9 }), mp, ap, gp;
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_MAXPOOL, "mp", "MaxPool", 1, &x, DNNQ_IR_F32, 4,
	                                 (int64_t[]){ 1, 4, 5, 5 }, &mp);
	n->kernel[0] = n->kernel[1] = 3;
	n->strides[0] = n->strides[1] = 2;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	n = ir_node(ir, DNNQ_IR_AVGPOOL, "ap", "AveragePool", 1, &mp, DNNQ_IR_F32, 4,
	            (int64_t[]){ 1, 4, 6, 6 }, &ap);
	n->kernel[0] = n->kernel[1] = 2;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_GAVGPOOL, "gap", "GlobalAveragePool", 1, &ap, DNNQ_IR_F32, 4,
	        (int64_t[]){ 1, 4, 1, 1 }, &gp);
	ir_output(ir, ap);
	ir_output(ir, gp);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 4 * 81, -1, 3);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel");
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* x [B,4,6,6] + c [1,4,1,1] -> * 0.5 (scalar) -> + x (two activations);
 * a 2-D [B,5] * c [5] */
START_TEST(lower_add_mul_constants)
{
	struct rng r = { 5 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 4, 6, 6 }), z = ir_input(ir, "z", 2,
	                                                                        (int64_t[]){ 1, 5 });
	int32_t a, m, s2, zm;
	float cst[4] = { 0.5f, -1, 2, 0.25f }, c5[5] = { 1, -2, 0.5f, 3, -0.75f };
	int32_t cv = ir_const(ir, "c", 4, (int64_t[]){ 1, 4, 1, 1 }, cst);
	ir_node(ir, DNNQ_IR_ADD, "add", "Add", 2, (int32_t[]){ cv, x }, DNNQ_IR_F32, 4,
	        (int64_t[]){ 1, 4, 6, 6 }, &a);
	int32_t half = ir_scalar(ir, "half", DNNQ_IR_F32, 0.5);
	ir_node(ir, DNNQ_IR_MUL, "mul", "Mul", 2, (int32_t[]){ a, half }, DNNQ_IR_F32, 4,
	        (int64_t[]){ 1, 4, 6, 6 }, &m);
	ir_node(ir, DNNQ_IR_ADD, "add2", "Add", 2, (int32_t[]){ m, x }, DNNQ_IR_F32, 4,
	        (int64_t[]){ 1, 4, 6, 6 }, &s2);
	int32_t c5v = ir_const(ir, "c5", 1, (int64_t[]){ 5 }, c5);
	ir_node(ir, DNNQ_IR_MUL, "zmul", "Mul", 2, (int32_t[]){ z, c5v }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, 5 }, &zm);
	ir_output(ir, s2);
	ir_output(ir, zm);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 144, -1, 1);
	val[z] = randf(&r, B * 5, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel");
	ck_assert_int_eq(run.kinds[find_node(&run, "add")], DNNQ_NODE_ELTWISE);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* A ResNet block's tail: Relu(Conv(x) + x). The Relu folds into the Add
 * (one SumRelu node named after it) when it is the Add's sole reader and
 * of its precision; kept fp32, it stays a node of its own. */
START_TEST(lower_add_relu)
{
	struct rng r = { 12 };
	struct dnnq_ir *ir = ir_new();
	int64_t d[4] = { 1, 8, 6, 6 };
	int32_t x = ir_input(ir, "x", 4, d), c, a, y;
	float *w = randf(&r, 8 * 8 * 9, -0.3, 0.3), *b = randf(&r, 8, -0.2, 0.2);
	int32_t wv = ir_const(ir, "w", 4, (int64_t[]){ 8, 8, 3, 3 }, w);
	int32_t bv = ir_const(ir, "b", 1, (int64_t[]){ 8 }, b);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 3,
	                                 (int32_t[]){ x, wv, bv }, DNNQ_IR_F32, 4, d, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_ADD, "add", "Add", 2, (int32_t[]){ c, x }, DNNQ_IR_F32, 4, d, &a);
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &a, DNNQ_IR_F32, 4, d, &y);
	ir_output(ir, y);
	free(w), free(b);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 8 * 36, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "fused");
	/* quantize, conv, the Add and Relu as one eltwise, dequantize */
	ck_assert_uint_eq(run.nnodes, 4);
	ck_assert_int_lt(find_node(&run, "add"), 0);
	int k = find_node(&run, "relu");
	ck_assert_int_ge(k, 0);
	ck_assert_int_eq(run.kinds[k], DNNQ_NODE_ELTWISE);
	ck_assert_uint_eq(run.ops[k], DNNQ_ELTWISE_SUM_RELU);
	bool fp32[3] = { false, false, true };
	struct dnnq_lower_opts o = opts_pc;
	o.fp32_nodes = fp32;
	expect_sqnr(ir, &o, val, &run, "Relu fp32");
	ck_assert_uint_eq(run.nnodes, 6);   /* and the Dequantize before the Relu */
	k = find_node(&run, "add");
	ck_assert_int_ge(k, 0);
	ck_assert_uint_eq(run.ops[k], DNNQ_ELTWISE_ADD);
	ck_assert_int_eq(run.kinds[find_node(&run, "relu")], DNNQ_NODE_ACTIVATION);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* Concat (axis 1) of Relu(x) and Sigmoid(x), then Softmax over the
 * channels of a 2-D Gemm; a HardSwish */
START_TEST(lower_concat_softmax_hardswish)
{
	struct rng r = { 6 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 3, 4, 5 }), a, b, c, hs;
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &x, DNNQ_IR_F32, 4, (int64_t[]){ 1, 3, 4, 5 }, &a);
	ir_node(ir, DNNQ_IR_SIGMOID, "sig", "Sigmoid", 1, &x, DNNQ_IR_F32, 4, (int64_t[]){ 1, 3, 4, 5 },
	        &b);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_CONCAT, "cat", "Concat", 2, (int32_t[]){ a, b },
	                                 DNNQ_IR_F32, 4, (int64_t[]){ 1, 6, 4, 5 }, &c);
	n->axis = 1;
	ir_node(ir, DNNQ_IR_HARDSWISH, "hs", "HardSwish", 1, &x, DNNQ_IR_F32, 4,
	        (int64_t[]){ 1, 3, 4, 5 }, &hs);
	int32_t z = ir_input(ir, "z", 2, (int64_t[]){ 1, 8 }), g, sm;
	float *w = randf(&r, 80, -1, 1);
	int32_t wv = ir_const(ir, "w", 2, (int64_t[]){ 8, 10 }, w);
	ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 2, (int32_t[]){ z, wv }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, 10 }, &g);
	n = ir_node(ir, DNNQ_IR_SOFTMAX, "prob", "Softmax", 1, &g, DNNQ_IR_F32, 2,
	            (int64_t[]){ 1, 10 }, &sm);
	n->axis = 1;
	ir_output(ir, c);
	ir_output(ir, sm);
	ir_output(ir, hs);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 60, -4, 4);
	val[z] = randf(&r, B * 8, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel");
	/* the softmax output is f32 already: it is the graph output itself */
	ck_assert_int_lt(find_node(&run, "prob:dequantize"), 0);
	ck_assert_int_eq(run.kinds[find_node(&run, "prob")], DNNQ_NODE_SOFTMAX);
	free(w);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* ---- quantized operators ---- */

/* x -> QuantizeLinear -> QLinearConv (u8 weights, per-channel scales and
 * zero points, int32 bias, stride 2, pads 1) -> DequantizeLinear */
START_TEST(lower_qlinearconv_exact)
{
	struct rng r = { 7 };
	struct dnnq_ir *ir = ir_new();
	enum { O = 5, CI = 3 };
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, CI, 7, 7 }), q, c, y;
	int32_t xs = ir_scalar(ir, "xs", DNNQ_IR_F32, 0.02), xz = ir_scalar(ir, "xz", DNNQ_IR_U8, 120);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q", "QuantizeLinear", 3, (int32_t[]){ x, xs, xz }, DNNQ_IR_U8,
	        4, (int64_t[]){ 1, CI, 7, 7 }, &q);
	uint8_t w[O * CI * 9], wz[O];
	float ws[O];
	int32_t bias[O];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (uint8_t)rng_int(&r, 0, 255);
	for (int o = 0; o < O; o++) {
		wz[o] = (uint8_t)rng_int(&r, 100, 150);
		ws[o] = (float)rng_uniform(&r, 0.001, 0.01);
		bias[o] = (int32_t)rng_int(&r, -2000, 2000);
	}
	int32_t wv = ir_value(ir, "w", DNNQ_IR_U8, 4, (int64_t[]){ O, CI, 3, 3 }, false, w);
	int32_t wsv = ir_value(ir, "ws", DNNQ_IR_F32, 1, (int64_t[]){ O }, false, ws);
	int32_t wzv = ir_value(ir, "wz", DNNQ_IR_U8, 1, (int64_t[]){ O }, false, wz);
	int32_t ys = ir_scalar(ir, "ys", DNNQ_IR_F32, 0.05), yz = ir_scalar(ir, "yz", DNNQ_IR_U8, 110);
	int32_t bv = ir_value(ir, "bias", DNNQ_IR_S32, 1, (int64_t[]){ O }, false, bias);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_QLINEARCONV, "qconv", "QLinearConv", 9,
	                                 (int32_t[]){ q, xs, xz, wv, wsv, wzv, ys, yz, bv },
	                                 DNNQ_IR_U8, 4, (int64_t[]){ 1, O, 4, 4 }, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->strides[0] = n->strides[1] = 2;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "dq", "DequantizeLinear", 3, (int32_t[]){ c, ys, yz },
	        DNNQ_IR_F32, 4, (int64_t[]){ 1, O, 4, 4 }, &y);
	ir_output(ir, y);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * CI * 49, -2.5, 2.5);
	ref_run(ir, B, val);
	/* the parameters come from the model: nothing calibrated */
	struct run run;
	expect_exact(ir, NULL, NULL, val, y, &run);
	ck_assert_uint_lt(saturated(ir, val, c), nel(ir, c, B) / 4);
	ck_assert_int_eq(run.kinds[find_node(&run, "q")], DNNQ_NODE_CONVERT);
	ck_assert_int_eq(run.kinds[find_node(&run, "qconv")], DNNQ_NODE_CONV);
	ck_assert_int_eq(run.kinds[find_node(&run, "dq")], DNNQ_NODE_CONVERT);
	ck_assert_uint_eq(run.nnodes, 3);
	ck_assert_uint_eq(run.m.nodes[find_node(&run, "qconv")].acc16, 0);
	/* acc16 asked for: on the QLinearConv's node, with its nbits and
	 * spill; a mask that names another IR node leaves it acc32 */
	struct dnnq_lower_opts o16 = { .acc16 = DNNQ_ACC16_ON, .acc16_opts = { 5, 3 } };
	struct dnnq_model m16;
	struct dnnq_diag d;
	bool mask[16] = { false };
	ck_assert_uint_le(ir->nnodes, 16);
	for (int k = 0; k < 2; k++) {
		ck_assert_msg(dnnq_onnx_lower(ir, &o16, NULL, NULL, &m16, &d) == 0, "%s", d.msg);
		for (size_t j = 0; j < m16.nnodes; j++) {
			const struct dnnq_model_node *mn = &m16.nodes[j];
			bool conv = mn->kind == DNNQ_NODE_CONV;
			ck_assert_uint_eq(mn->acc16, conv && k == 0);
			ck_assert_uint_eq(mn->acc16_nbits, conv && k == 0 ? 5 : 0);
			ck_assert_uint_eq(mn->acc16_spill, conv && k == 0 ? 3 : 0);
		}
		dnnq_model_free(&m16);
		for (size_t i = 0; i < ir->nnodes; i++)
			mask[i] = !strcmp(ir->nodes[i].name, "dq");
		o16.acc16_nodes = mask;
	}
	dnnq_model_free(&run.m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* x -> Q -> DQ -> MaxPool -> Q -> DQ: exact, with the model's parameters
 * overriding (wrong) calibrated ones */
START_TEST(lower_qdq_maxpool_exact)
{
	struct rng r = { 8 };
	struct dnnq_ir *ir = ir_new();
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, 2, 6, 6 }), q1, d1, mp, q2, d2;
	int32_t s = ir_scalar(ir, "s", DNNQ_IR_F32, 0.03), z = ir_scalar(ir, "z", DNNQ_IR_S8, -5);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q1", "QuantizeLinear", 3, (int32_t[]){ x, s, z }, DNNQ_IR_S8, 4,
	        (int64_t[]){ 1, 2, 6, 6 }, &q1);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "d1", "DequantizeLinear", 3, (int32_t[]){ q1, s, z },
	        DNNQ_IR_F32, 4, (int64_t[]){ 1, 2, 6, 6 }, &d1);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_MAXPOOL, "mp", "MaxPool", 1, &d1, DNNQ_IR_F32, 4,
	                                 (int64_t[]){ 1, 2, 3, 3 }, &mp);
	n->kernel[0] = n->kernel[1] = 2;
	n->strides[0] = n->strides[1] = 2;
	ir_node(ir, DNNQ_IR_QUANTIZE, "q2", "QuantizeLinear", 3, (int32_t[]){ mp, s, z }, DNNQ_IR_S8, 4,
	        (int64_t[]){ 1, 2, 3, 3 }, &q2);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "d2", "DequantizeLinear", 3, (int32_t[]){ q2, s, z },
	        DNNQ_IR_F32, 4, (int64_t[]){ 1, 2, 3, 3 }, &d2);
	ir_output(ir, d2);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 72, -5, 5);   /* beyond the int8 range: saturates */
	ref_run(ir, B, val);
	struct dnnq_qparams qp[64];
	bool has[64];
	ranges(ir, B, val, qp, has);
	for (size_t v = 0; v < ir->nvalues; v++)
		qp[v].scale *= 3;   /* calibration is overridden by the Q/DQ parameters */
	struct run run;
	expect_exact(ir, qp, has, val, d2, &run);
	/* q1 on the input, the maxpool, d2 at the output */
	ck_assert_uint_eq(run.nnodes, 3);
	ck_assert_int_ge(find_node(&run, "q1"), 0);
	ck_assert_int_ge(find_node(&run, "d2"), 0);
	dnnq_model_free(&run.m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* x -> Q -> QLinearConv (int8 weights) -> Flatten (uint8, NCHW order) ->
 * QLinearMatMul (uint8 b, per-column scales and zero points, dnnq's int32
 * bias) -> DQ: the
 * flatten's permutation on integer weights, exactly */
START_TEST(lower_qlinear_flatten_matmul_exact)
{
	struct rng r = { 9 };
	struct dnnq_ir *ir = ir_new();
	enum { O = 3, CI = 2, N = 5 };
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, CI, 4, 4 }), q, c, f, mm, y;
	int32_t xs = ir_scalar(ir, "xs", DNNQ_IR_F32, 0.01), xz = ir_scalar(ir, "xz", DNNQ_IR_U8, 128);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q", "QuantizeLinear", 3, (int32_t[]){ x, xs, xz }, DNNQ_IR_U8,
	        4, (int64_t[]){ 1, CI, 4, 4 }, &q);
	int8_t w[O * CI * 9];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (int8_t)rng_int(&r, -128, 127);
	int32_t wv = ir_value(ir, "w", DNNQ_IR_S8, 4, (int64_t[]){ O, CI, 3, 3 }, false, w);
	int32_t ws = ir_scalar(ir, "ws", DNNQ_IR_F32, 0.004), wz = ir_scalar(ir, "wz", DNNQ_IR_S8, 0);
	int32_t ys = ir_scalar(ir, "ys", DNNQ_IR_F32, 0.03), yz = ir_scalar(ir, "yz", DNNQ_IR_U8, 100);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_QLINEARCONV, "qconv", "QLinearConv", 8,
	                                 (int32_t[]){ q, xs, xz, wv, ws, wz, ys, yz }, DNNQ_IR_U8, 4,
	                                 (int64_t[]){ 1, O, 4, 4 }, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_RESHAPE, "flat", "Flatten", 1, &c, DNNQ_IR_U8, 2,
	        (int64_t[]){ 1, O * 16 }, &f);
	uint8_t b[O * 16 * N], bz[N];
	float bs[N];
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)rng_int(&r, 0, 255);
	for (int k = 0; k < N; k++) {
		bz[k] = (uint8_t)rng_int(&r, 110, 140);
		bs[k] = (float)rng_uniform(&r, 0.002, 0.006);
	}
	int32_t bv = ir_value(ir, "b", DNNQ_IR_U8, 2, (int64_t[]){ O * 16, N }, false, b);
	int32_t bsv = ir_value(ir, "bs", DNNQ_IR_F32, 1, (int64_t[]){ N }, false, bs);
	int32_t bzv = ir_value(ir, "bz", DNNQ_IR_U8, 1, (int64_t[]){ N }, false, bz);
	int32_t ms = ir_scalar(ir, "ms", DNNQ_IR_F32, 0.2), mz = ir_scalar(ir, "mz", DNNQ_IR_U8, 128);
	int32_t mb[N];
	for (int k = 0; k < N; k++)
		mb[k] = (int32_t)rng_int(&r, -3000, 3000);
	int32_t mbv = ir_value(ir, "mb", DNNQ_IR_S32, 1, (int64_t[]){ N }, false, mb);
	ir_node(ir, DNNQ_IR_QLINEARMATMUL, "qmm", "QLinearMatMul", 9,
	        (int32_t[]){ f, ys, yz, bv, bsv, bzv, ms, mz, mbv }, DNNQ_IR_U8, 2,
	        (int64_t[]){ 1, N }, &mm);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "dq", "DequantizeLinear", 3, (int32_t[]){ mm, ms, mz },
	        DNNQ_IR_F32, 2, (int64_t[]){ 1, N }, &y);
	ir_output(ir, y);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * CI * 16, -1.2, 1.2);
	ref_run(ir, B, val);
	struct run run;
	expect_exact(ir, NULL, NULL, val, y, &run);
	ck_assert_uint_lt(saturated(ir, val, mm), nel(ir, mm, B) / 3);
	ck_assert_int_eq(run.kinds[find_node(&run, "qmm")], DNNQ_NODE_FC);
	dnnq_model_free(&run.m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* Conv + Clip(0, 6) fused; a BatchNorm on its own (elementwise linear), a
 * LeakyRelu, a Sum, a Tanh; a HardSigmoid; a Softmax over NCHW channels as
 * an output (f32 NHWC inside: requantized to reach NCHW); Gemm + BN + Relu
 * fused; a Conv whose weights are a DequantizeLinear (per channel) of int8;
 * a Flatten of the f32 graph input itself (no permutation needed) */
START_TEST(lower_more_ops)
{
	struct rng r = { 10 };
	struct dnnq_ir *ir = ir_new();
	const int64_t X[4] = { 1, 4, 5, 5 };
	int32_t x = ir_input(ir, "x", 4, X), c, cl, bn, lr, sm, t, hsg, su;
	float *w = randf(&r, 4 * 4 * 9, -0.4, 0.4);
	int32_t wv = ir_const(ir, "w", 4, (int64_t[]){ 4, 4, 3, 3 }, w);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 2, (int32_t[]){ x, wv },
	                                 DNNQ_IR_F32, 4, X, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	n = ir_node(ir, DNNQ_IR_CLIP, "relu6", "Clip", 1, &c, DNNQ_IR_F32, 4, X, &cl);
	n->clip_min = 0;
	n->clip_max = 0.6f;
	float *p[4] = { randf(&r, 4, 0.5, 1.5), randf(&r, 4, -0.3, 0.3), randf(&r, 4, -0.2, 0.2),
	                randf(&r, 4, 0.5, 2) };
	int32_t pv[4];
	for (int i = 0; i < 4; i++) {
		char nm[8] = { 'p', (char)('0' + i), 0 };
		pv[i] = ir_const(ir, nm, 1, (int64_t[]){ 4 }, p[i]);
	}
	ir_node(ir, DNNQ_IR_BATCHNORM, "bn", "BatchNormalization", 5,
	        (int32_t[]){ x, pv[0], pv[1], pv[2], pv[3] }, DNNQ_IR_F32, 4, X, &bn);
	n = ir_node(ir, DNNQ_IR_LEAKYRELU, "lrelu", "LeakyRelu", 1, &bn, DNNQ_IR_F32, 4, X, &lr);
	n->alpha = 0.1f;
	ir_node(ir, DNNQ_IR_SUM, "sum", "Sum", 2, (int32_t[]){ cl, lr }, DNNQ_IR_F32, 4, X, &su);
	ir_node(ir, DNNQ_IR_TANH, "tanh", "Tanh", 1, &su, DNNQ_IR_F32, 4, X, &t);
	n = ir_node(ir, DNNQ_IR_HARDSIGMOID, "hsig", "HardSigmoid", 1, &x, DNNQ_IR_F32, 4, X, &hsg);
	n->alpha = 0.2f;
	n->beta = 0.5f;
	n = ir_node(ir, DNNQ_IR_SOFTMAX, "sm", "Softmax", 1, &x, DNNQ_IR_F32, 4, X, &sm);
	n->axis = 1;
	/* Gemm + BN + Relu */
	int32_t z = ir_input(ir, "z", 2, (int64_t[]){ 1, 6 }), g, gb, gr;
	float *gw = randf(&r, 24, -1, 1);
	int32_t gwv = ir_const(ir, "gw", 2, (int64_t[]){ 6, 4 }, gw);
	ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 2, (int32_t[]){ z, gwv }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, 4 }, &g);
	ir_node(ir, DNNQ_IR_BATCHNORM, "fcbn", "BatchNormalization", 5,
	        (int32_t[]){ g, pv[0], pv[1], pv[2], pv[3] }, DNNQ_IR_F32, 2, (int64_t[]){ 1, 4 }, &gb);
	ir_node(ir, DNNQ_IR_RELU, "fcrelu", "Relu", 1, &gb, DNNQ_IR_F32, 2, (int64_t[]){ 1, 4 }, &gr);
	/* Conv(x, DQ(int8 w, per-channel scales, axis 0)) */
	int8_t w8[3 * 4];
	float s8[3] = { 0.01f, 0.02f, 0.005f };
	for (size_t i = 0; i < sizeof w8; i++)
		w8[i] = (int8_t)rng_int(&r, -127, 127);
	int32_t w8v = ir_value(ir, "w8", DNNQ_IR_S8, 4, (int64_t[]){ 3, 4, 1, 1 }, false, w8);
	int32_t s8v = ir_value(ir, "s8", DNNQ_IR_F32, 1, (int64_t[]){ 3 }, false, s8);
	int32_t wdq, c2;
	n = ir_node(ir, DNNQ_IR_DEQUANTIZE, "wdq", "DequantizeLinear", 2, (int32_t[]){ w8v, s8v },
	            DNNQ_IR_F32, 4, (int64_t[]){ 3, 4, 1, 1 }, &wdq);
	ir->values[wdq].batched = false;
	n->axis = 0;
	n = ir_node(ir, DNNQ_IR_CONV, "conv1x1", "Conv", 2, (int32_t[]){ x, wdq }, DNNQ_IR_F32, 4,
	            (int64_t[]){ 1, 3, 5, 5 }, &c2);
	n->kernel[0] = n->kernel[1] = 1;
	/* Flatten of the input -> Gemm */
	int32_t fl, g2;
	float *g2w = randf(&r, 100 * 3, -0.2, 0.2);
	ir_node(ir, DNNQ_IR_RESHAPE, "flat", "Flatten", 1, &x, DNNQ_IR_F32, 2, (int64_t[]){ 1, 100 },
	        &fl);
	int32_t g2wv = ir_const(ir, "g2w", 2, (int64_t[]){ 100, 3 }, g2w);
	ir_node(ir, DNNQ_IR_GEMM, "fc2", "Gemm", 2, (int32_t[]){ fl, g2wv }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, 3 }, &g2);
	int32_t outs[] = { t, hsg, sm, gr, c2, g2 };
	for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
		ir_output(ir, outs[i]);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * 100, -2, 2);
	val[z] = randf(&r, B * 6, -1, 1);
	ref_run(ir, B, val);
	struct run run;
	expect_sqnr(ir, &opts_pc, val, &run, "per channel");
	ck_assert_int_eq(run.kinds[find_node(&run, "relu6")], DNNQ_NODE_CONV);
	ck_assert_int_lt(find_node(&run, "conv"), 0);
	ck_assert_int_eq(run.kinds[find_node(&run, "bn")], DNNQ_NODE_ELTWISE_LINEAR);
	ck_assert_int_eq(run.kinds[find_node(&run, "fcrelu")], DNNQ_NODE_FC);
	ck_assert_int_lt(find_node(&run, "fcbn"), 0);
	ck_assert_int_eq(run.kinds[find_node(&run, "sum")], DNNQ_NODE_ELTWISE);
	expect_sqnr(ir, &opts_pt, val, &run, "per tensor");
	free(w), free(gw), free(g2w);
	for (int i = 0; i < 4; i++)
		free(p[i]);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* QDQ form the importer leaves alone: x -> Q -> DQ -> Conv (weights and
 * bias DequantizeLinear of int8 / int32, per channel) -> Relu -> Q -> DQ ->
 * Flatten -> Gemm (B a DequantizeLinear of uint8, per column) -> Q -> DQ.
 * The model's integers and parameters are kept: every output within one
 * step of the fp32 reference of the QDQ graph, nearly all exactly. */
START_TEST(lower_qdq_conv_gemm)
{
	struct rng r = { 11 };
	struct dnnq_ir *ir = ir_new();
	enum { O = 3, CI = 2, N = 4 };
	const float xs_ = 0.02f, ys_ = 0.04f, zs_ = 0.1f;
	int32_t x = ir_input(ir, "x", 4, (int64_t[]){ 1, CI, 4, 4 }), q0, d0, cw, cb, c, rl, q1, d1;
	int32_t xs = ir_scalar(ir, "xs", DNNQ_IR_F32, xs_), xz = ir_scalar(ir, "xz", DNNQ_IR_U8, 128);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q0", "QuantizeLinear", 3, (int32_t[]){ x, xs, xz }, DNNQ_IR_U8,
	        4, (int64_t[]){ 1, CI, 4, 4 }, &q0);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "d0", "DequantizeLinear", 3, (int32_t[]){ q0, xs, xz },
	        DNNQ_IR_F32, 4, (int64_t[]){ 1, CI, 4, 4 }, &d0);
	int8_t w[O * CI * 9];
	float ws[O], bsc[O];
	int32_t bias[O];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (int8_t)rng_int(&r, -127, 127);
	for (int o = 0; o < O; o++) {
		ws[o] = (float)rng_uniform(&r, 0.002, 0.01);
		bsc[o] = xs_ * ws[o];
		bias[o] = (int32_t)rng_int(&r, -500, 500);
	}
	int32_t wv = ir_value(ir, "w8", DNNQ_IR_S8, 4, (int64_t[]){ O, CI, 3, 3 }, false, w);
	int32_t wsv = ir_value(ir, "ws", DNNQ_IR_F32, 1, (int64_t[]){ O }, false, ws);
	int32_t bv = ir_value(ir, "b32", DNNQ_IR_S32, 1, (int64_t[]){ O }, false, bias);
	int32_t bsv = ir_value(ir, "bs", DNNQ_IR_F32, 1, (int64_t[]){ O }, false, bsc);
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_DEQUANTIZE, "wdq", "DequantizeLinear", 2,
	                                 (int32_t[]){ wv, wsv }, DNNQ_IR_F32, 4,
	                                 (int64_t[]){ O, CI, 3, 3 }, &cw);
	ir->values[cw].batched = false;
	n = ir_node(ir, DNNQ_IR_DEQUANTIZE, "bdq", "DequantizeLinear", 2, (int32_t[]){ bv, bsv },
	            DNNQ_IR_F32, 1, (int64_t[]){ O }, &cb);
	ir->values[cb].batched = false;
	n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 3, (int32_t[]){ d0, cw, cb }, DNNQ_IR_F32, 4,
	            (int64_t[]){ 1, O, 4, 4 }, &c);
	n->kernel[0] = n->kernel[1] = 3;
	n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &c, DNNQ_IR_F32, 4, (int64_t[]){ 1, O, 4, 4 }, &rl);
	int32_t ys = ir_scalar(ir, "ys", DNNQ_IR_F32, ys_), yz = ir_scalar(ir, "yz", DNNQ_IR_U8, 0);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q1", "QuantizeLinear", 3, (int32_t[]){ rl, ys, yz }, DNNQ_IR_U8,
	        4, (int64_t[]){ 1, O, 4, 4 }, &q1);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "d1", "DequantizeLinear", 3, (int32_t[]){ q1, ys, yz },
	        DNNQ_IR_F32, 4, (int64_t[]){ 1, O, 4, 4 }, &d1);
	int32_t f, gw, g, q2, d2;
	ir_node(ir, DNNQ_IR_RESHAPE, "flat", "Flatten", 1, &d1, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, O * 16 }, &f);
	uint8_t b8[O * 16 * N], bz[N];
	float bs[N];
	for (size_t i = 0; i < sizeof b8; i++)
		b8[i] = (uint8_t)rng_int(&r, 0, 255);
	for (int k = 0; k < N; k++) {
		bz[k] = (uint8_t)rng_int(&r, 120, 136);
		bs[k] = (float)rng_uniform(&r, 0.001, 0.004);
	}
	int32_t b8v = ir_value(ir, "b8", DNNQ_IR_U8, 2, (int64_t[]){ O * 16, N }, false, b8);
	int32_t bs8 = ir_value(ir, "bs8", DNNQ_IR_F32, 1, (int64_t[]){ N }, false, bs);
	int32_t bz8 = ir_value(ir, "bz8", DNNQ_IR_U8, 1, (int64_t[]){ N }, false, bz);
	n = ir_node(ir, DNNQ_IR_DEQUANTIZE, "gdq", "DequantizeLinear", 3, (int32_t[]){ b8v, bs8, bz8 },
	            DNNQ_IR_F32, 2, (int64_t[]){ O * 16, N }, &gw);
	ir->values[gw].batched = false;
	n->axis = 1;
	ir_node(ir, DNNQ_IR_GEMM, "fc", "Gemm", 2, (int32_t[]){ f, gw }, DNNQ_IR_F32, 2,
	        (int64_t[]){ 1, N }, &g);
	int32_t zs = ir_scalar(ir, "zs", DNNQ_IR_F32, zs_), zz = ir_scalar(ir, "zz", DNNQ_IR_U8, 128);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q2", "QuantizeLinear", 3, (int32_t[]){ g, zs, zz }, DNNQ_IR_U8,
	        2, (int64_t[]){ 1, N }, &q2);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "d2", "DequantizeLinear", 3, (int32_t[]){ q2, zs, zz },
	        DNNQ_IR_F32, 2, (int64_t[]){ 1, N }, &d2);
	ir_output(ir, d1);
	ir_output(ir, d2);
	float *val[64] = { 0 };
	val[x] = randf(&r, B * CI * 16, -2, 2);
	ref_run(ir, B, val);
	struct dnnq_qparams qp[64];
	bool has[64];
	ranges(ir, B, val, qp, has);
	float *out[2] = { calloc(nel(ir, d1, B), sizeof (float)), calloc(nel(ir, d2, B), sizeof (float)) };
	struct run run;
	struct dnnq_diag d = { "" };
	ck_assert_msg(lower_run(ir, &opts_pt, qp, has, B, val, out, &run, &d) == 0, "%s", d.msg);
	int32_t vo[2] = { d1, d2 };
	float step[2] = { ys_, zs_ };
	for (int k = 0; k < 2; k++) {
		size_t ny = nel(ir, vo[k], B), same = 0;
		for (size_t i = 0; i < ny; i++) {
			ck_assert_float_le(fabsf(out[k][i] - val[vo[k]][i]), step[k] * 1.001f);
			same += out[k][i] == val[vo[k]][i];
		}
		ck_assert_msg(same * 10 >= ny * 9, "output %d: %zu of %zu exact", k, same, ny);
		free(out[k]);
	}
	/* the model's per-channel scales, not a per-tensor requantization */
	const struct dnnq_qtensor *wt = NULL;
	for (size_t i = 0; i < run.m.ntensors; i++)
		if (!strcmp(run.m.tensors[i].name, "relu:weight"))
			wt = &run.m.tensors[i].t;
	ck_assert_ptr_nonnull(wt);
	ck_assert_uint_eq(wt->nqparams, O);
	for (int o = 0; o < O; o++)
		ck_assert_float_eq(wt->scales[o], ws[o]);
	for (size_t i = 0; i < run.m.ntensors; i++)
		if (!strcmp(run.m.tensors[i].name, "fc:weight"))
			wt = &run.m.tensors[i].t;
	ck_assert_uint_eq(wt->nqparams, N);
	for (int k = 0; k < N; k++) {
		ck_assert_float_eq(wt->scales[k], bs[k]);
		ck_assert_int_eq(wt->zero_points[k], bz[k] - 128);
	}
	/* Q, conv (relu fused), DQ to the output; flatten, fc, DQ */
	ck_assert_uint_eq(run.nnodes, 6);
	dnnq_model_free(&run.m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* uint8 in, uint8 out, both NCHW: x -> DequantizeLinear -> Relu ->
 * QuantizeLinear (the same parameters): exactly max(x, zero point) */
START_TEST(lower_u8_edges_exact)
{
	struct rng r = { 12 };
	struct dnnq_ir *ir = ir_new();
	const int64_t X[4] = { 1, 3, 2, 5 };
	int32_t x = ir_value(ir, "x", DNNQ_IR_U8, 4, X, true, NULL), dq, rl, q;
	ir->inputs[ir->ninputs++] = x;
	int32_t s = ir_scalar(ir, "s", DNNQ_IR_F32, 0.05), z = ir_scalar(ir, "z", DNNQ_IR_U8, 90);
	ir_node(ir, DNNQ_IR_DEQUANTIZE, "dq", "DequantizeLinear", 3, (int32_t[]){ x, s, z },
	        DNNQ_IR_F32, 4, X, &dq);
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, &dq, DNNQ_IR_F32, 4, X, &rl);
	ir_node(ir, DNNQ_IR_QUANTIZE, "q", "QuantizeLinear", 3, (int32_t[]){ rl, s, z }, DNNQ_IR_U8,
	        4, X, &q);
	ir_output(ir, q);
	float *val[64] = { 0 };
	size_t n = B * 30;
	val[x] = malloc(n * sizeof (float));
	for (size_t i = 0; i < n; i++)
		val[x][i] = (float)rng_int(&r, 0, 255);
	ref_run(ir, B, val);
	struct run run;
	expect_exact(ir, NULL, NULL, val, q, &run);
	ck_assert_int_eq(run.m.inputs[0].dtype, DNNQ_DTYPE_U8);
	ck_assert_int_eq(run.m.inputs[0].qp.zero_point, 90);
	ck_assert_int_eq(run.m.outputs[0].dtype, DNNQ_DTYPE_U8);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq((int)val[q][i], val[x][i] > 90 ? (int)val[x][i] : 90);
	dnnq_model_free(&run.m);
	vals_free(ir, val);
	ir_destroy(ir);
}
END_TEST

/* Lowers ir with opts_pc, every value with parameters qp; 0 or the status
 * (the message in d). */
static int lower_all_qp(const struct dnnq_ir *ir, struct dnnq_qparams qp1, struct dnnq_model *m,
                        struct dnnq_diag *d)
{
	struct dnnq_qparams qp[64];
	bool has[64];
	for (size_t v = 0; v < 64; v++) {
		qp[v] = qp1;
		has[v] = true;
	}
	return dnnq_onnx_lower(ir, &opts_pc, qp, has, m, d);
}

/* ---- xfmr: LayerNorm's decomposition fused (onnx/fuse-norm.c) ---- */

/* torch's nn.LayerNorm below opset 17 over the last dim of [B, 4, 8];
 * share_d: Sub's output also read outside the pattern (then no fusion).
 * Pow and Sqrt are ENGINE nodes by op_type (the registry's elementwise
 * kinds; any kind here, the pass reads the op_type). */
static struct dnnq_ir *ln_decomposed(bool share_d, int32_t *x, int32_t *gamma, int32_t *beta,
                                     int32_t *y)
{
	const int64_t X[3] = { 1, 4, 8 }, M[3] = { 1, 4, 1 };
	float g[8], b[8];
	for (int i = 0; i < 8; i++)
		g[i] = 1.0f + 0.1f * (float)i, b[i] = 0.05f * (float)i;
	uint32_t rm = dnnq_op_find("reduce_mean")->kind, any = dnnq_op_find("sub")->kind;
	struct dnnq_ir *ir = ir_new();
	int32_t m, d, p, v, ve, sq, n, gm, two = ir_scalar(ir, "two", DNNQ_IR_F32, 2.0);
	int32_t eps = ir_scalar(ir, "eps", DNNQ_IR_F32, 1e-5);
	*x = ir_input(ir, "x", 3, X);
	*gamma = ir_value(ir, "gamma", DNNQ_IR_F32, 1, (int64_t[]){ 8 }, false, g);
	*beta = ir_value(ir, "beta", DNNQ_IR_F32, 1, (int64_t[]){ 8 }, false, b);
	struct dnnq_ir_node *nd = ir_node(ir, DNNQ_IR_ENGINE, "m", "ReduceMean", 1, x,
	                                  DNNQ_IR_F32, 3, M, &m);
	nd->kind = rm, nd->ints[0] = 2, nd->nints = 1, nd->keepdims = true;
	ir_node(ir, DNNQ_IR_ENGINE, "d", "Sub", 2, (int32_t[]){ *x, m }, DNNQ_IR_F32, 3, X,
	        &d)->kind = any;
	ir_node(ir, DNNQ_IR_ENGINE, "p", "Pow", 2, (int32_t[]){ d, two }, DNNQ_IR_F32, 3, X,
	        &p)->kind = any;
	nd = ir_node(ir, DNNQ_IR_ENGINE, "v", "ReduceMean", 1, &p, DNNQ_IR_F32, 3, M, &v);
	nd->kind = rm, nd->ints[0] = 2, nd->nints = 1, nd->keepdims = true;
	ir_node(ir, DNNQ_IR_ADD, "ve", "Add", 2, (int32_t[]){ v, eps }, DNNQ_IR_F32, 3, M, &ve);
	ir_node(ir, DNNQ_IR_ENGINE, "sq", "Sqrt", 1, &ve, DNNQ_IR_F32, 3, M, &sq)->kind = any;
	ir_node(ir, DNNQ_IR_ENGINE, "n", "Div", 2, (int32_t[]){ d, sq }, DNNQ_IR_F32, 3, X,
	        &n)->kind = dnnq_op_find("div")->kind;
	ir_node(ir, DNNQ_IR_MUL, "g", "Mul", 2, (int32_t[]){ n, *gamma }, DNNQ_IR_F32, 3, X, &gm);
	ir_node(ir, DNNQ_IR_ADD, "y", "Add", 2, (int32_t[]){ gm, *beta }, DNNQ_IR_F32, 3, X, y);
	ir_output(ir, *y);
	if (share_d)
		ir_output(ir, d);
	return ir;
}

START_TEST(lower_fuse_layernorm)
{
	int32_t x, gamma, beta, y;
	struct dnnq_ir *ir = ln_decomposed(false, &x, &gamma, &beta, &y);
	ck_assert_int_eq(dnnq_ir_fuse_norm(ir), 1);
	ck_assert_uint_eq(ir->fused[DNNQ_IR_FUSED_LAYERNORM], 1);      /* --report counts it */
	const struct dnnq_ir_node *ln = &ir->nodes[ir->values[y].producer];
	ck_assert_int_eq(ln->op, DNNQ_IR_ENGINE);
	ck_assert_uint_eq(ln->kind, dnnq_op_find("layernorm")->kind);
	ck_assert_str_eq(ln->op_type, "LayerNormalization");
	ck_assert_uint_eq(ln->ninputs, 3);
	ck_assert_int_eq(ln->inputs[0], x);
	ck_assert_int_eq(ln->inputs[1], gamma);
	ck_assert_int_eq(ln->inputs[2], beta);
	ck_assert_int_eq(ln->axis, 2);
	ck_assert_float_eq_tol(ln->epsilon, 1e-5f, 1e-12f);
	/* it lowers to one fp32 layernorm node and its converts; the dead
	 * decomposition (Pow, Sqrt of no kind of theirs here) is not lowered */
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	ck_assert_msg(lower_all_qp(ir, (struct dnnq_qparams){ 0.05f, 128, 8, false }, &m, &d) == 0,
	              "%s", d.msg);
	size_t lns = 0;
	for (size_t j = 0; j < m.nnodes; j++) {
		ck_assert_str_ne(dnnq_node_kind_name(m.nodes[j].kind), "div");
		ck_assert_str_ne(dnnq_node_kind_name(m.nodes[j].kind), "reduce_mean");
		lns += m.nodes[j].kind == dnnq_op_find("layernorm")->kind;
	}
	ck_assert_uint_eq(lns, 1);
	dnnq_model_free(&m);
	ir_destroy(ir);
	/* Sub's output read elsewhere too: left as it is */
	ir = ln_decomposed(true, &x, &gamma, &beta, &y);
	ck_assert_int_eq(dnnq_ir_fuse_norm(ir), 0);
	ck_assert_int_eq(ir->nodes[ir->values[y].producer].op, DNNQ_IR_ADD);
	ir_destroy(ir);
}
END_TEST

/* ---- what is refused ---- */

static void expect_error(const struct dnnq_ir *ir, const bool *has_all, int rc_want,
                         const char *must1, const char *must2)
{
	struct dnnq_qparams qp[64];
	bool has[64];
	for (size_t v = 0; v < 64; v++) {
		qp[v] = (struct dnnq_qparams){ 0.1f, 128, 8, false };
		has[v] = has_all ? has_all[v] : true;
	}
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	int rc = dnnq_onnx_lower(ir, &opts_pc, qp, has, &m, &d);
	ck_assert_msg(rc == rc_want, "rc %d, want %d: '%s'", rc, rc_want, d.msg);
	ck_assert_msg(strstr(d.msg, must1) && strstr(d.msg, must2), "'%s': want '%s' and '%s'",
	              d.msg, must1, must2);
	ck_assert_ptr_null(strchr(d.msg, '\n'));
	ck_assert_uint_eq(m.nnodes, 0);
}

START_TEST(lower_refuses)
{
	/* a flatten of NCHW (in NHWC inside: after a Relu) read by a Relu, or
	 * a graph output: lowered through a transpose to NCHW's order (xfmr)
	 * rather than refused */
	struct dnnq_ir *ir;
	int32_t x, f, y, a;
	for (int out = 0; out < 2; out++) {
		ir = ir_new();
		x = ir_input(ir, "x", 4, (int64_t[]){ 1, 2, 3, 3 });
		ir_node(ir, DNNQ_IR_RELU, "r0", "Relu", 1, &x, DNNQ_IR_F32, 4,
		        (int64_t[]){ 1, 2, 3, 3 }, &a);
		ir_node(ir, DNNQ_IR_RESHAPE, "flat", "Flatten", 1, &a, DNNQ_IR_F32, 2,
		        (int64_t[]){ 1, 18 }, &f);
		if (!out)
			ir_node(ir, DNNQ_IR_RELU, "r", "Relu", 1, &f, DNNQ_IR_F32, 2,
			        (int64_t[]){ 1, 18 }, &y);
		ir_output(ir, out ? f : y);
		struct dnnq_model m;
		struct dnnq_diag d = { "" };
		ck_assert_msg(lower_all_qp(ir, (struct dnnq_qparams){ 0.1f, 128, 8, false }, &m, &d) ==
		              0, "%s", d.msg);
		bool transposed = false;
		for (size_t j = 0; j < m.nnodes; j++)
			transposed |= m.nodes[j].kind == dnnq_op_find("transpose")->kind;
		ck_assert(transposed);
		dnnq_model_free(&m);
		ir_destroy(ir);
	}

	/* Gemm with transA; Gemm with a per-row C */
	for (int k = 0; k < 2; k++) {
		ir = ir_new();
		float w[12] = { 0 }, cc[6] = { 0 };
		x = ir_input(ir, "x", 2, (int64_t[]){ 1, 4 });
		int32_t wv = ir_const(ir, "w", 2, (int64_t[]){ 4, 3 }, w);
		int32_t cv = ir_const(ir, "c", 2, (int64_t[]){ 2, 3 }, cc);
		struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_GEMM, "g", "Gemm", 3,
		                                 (int32_t[]){ x, wv, cv }, DNNQ_IR_F32, 2,
		                                 (int64_t[]){ 1, 3 }, &y);
		n->trans_a = k == 0;
		ir_output(ir, y);
		expect_error(ir, NULL, DNNQ_E_UNSUPPORTED, "node 'g' (Gemm)", k ? "C has 6" : "transA");
		ir_destroy(ir);
	}

	/* a value without parameters */
	ir = ir_new();
	x = ir_input(ir, "x", 2, (int64_t[]){ 1, 4 });
	ir_node(ir, DNNQ_IR_RELU, "r", "Relu", 1, &x, DNNQ_IR_F32, 2, (int64_t[]){ 1, 4 }, &y);
	ir_output(ir, y);
	bool has[64] = { false, true, true };
	expect_error(ir, has, DNNQ_E_INVAL, "node 'r' (Relu)", "'x'");
	ir_destroy(ir);

	/* a uint8 or int8 NCHW graph input that is a graph output too: refused
	 * as a 2-D one is (its dequantization's f32 value once let it through
	 * to the u8 copy, whose node took that name again: "tensor name
	 * 'xq:dequantize' used twice" when the model was built) */
	for (int s8 = 0; s8 < 2; s8++) {
		ir = ir_new();
		enum dnnq_ir_dtype qdt = s8 ? DNNQ_IR_S8 : DNNQ_IR_U8;
		int32_t xq = ir_value(ir, "xq", qdt, 4, (int64_t[]){ 1, 3, 2, 2 }, true, NULL);
		ir->inputs[ir->ninputs++] = xq;
		int32_t s = ir_scalar(ir, "s", DNNQ_IR_F32, 0.1), z = ir_scalar(ir, "z", qdt, 0);
		ir_node(ir, DNNQ_IR_DEQUANTIZE, "dq", "DequantizeLinear", 3, (int32_t[]){ xq, s, z },
		        DNNQ_IR_F32, 4, (int64_t[]){ 1, 3, 2, 2 }, &f);
		ir_node(ir, DNNQ_IR_RELU, "r", "Relu", 1, &f, DNNQ_IR_F32, 4, (int64_t[]){ 1, 3, 2, 2 },
		        &y);
		ir_output(ir, y);
		ir_output(ir, xq);
		expect_error(ir, NULL, DNNQ_E_UNSUPPORTED, "graph output 'xq'",
		             "a uint8/int8 graph input");
		ir_destroy(ir);
	}

	/* not refused: ReduceMean over H of NCHW without keepdims (NHWC inside
	 * leaves [N, W, C]) is followed by a transpose that puts C before W */
	ir = ir_new();
	x = ir_input(ir, "x", 4, (int64_t[]){ 1, 2, 3, 3 });
	struct dnnq_ir_node *n = ir_node(ir, DNNQ_IR_ENGINE, "rm", "ReduceMean", 1, &x, DNNQ_IR_F32,
	                                 3, (int64_t[]){ 1, 2, 3 }, &y);
	n->kind = dnnq_op_find("reduce_mean")->kind;
	n->ints[0] = 2;
	n->nints = 1;
	ir_output(ir, y);
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	ck_assert_msg(lower_all_qp(ir, (struct dnnq_qparams){ 0.1f, 128, 8, false }, &m, &d) == 0,
	              "%s", d.msg);
	size_t t = 0;
	while (t < m.nnodes && m.nodes[t].kind != dnnq_op_find("transpose")->kind)
		t++;
	ck_assert_uint_lt(t, m.nnodes);
	ck_assert_uint_eq(m.nodes[t].ndim, 3);
	ck_assert(m.nodes[t].dims[0] == 0 && m.nodes[t].dims[1] == 2 && m.nodes[t].dims[2] == 1);
	dnnq_model_free(&m);
	ir_destroy(ir);

	/* ConvInteger */

	ir = ir_new();
	uint8_t w8[4] = { 1, 2, 3, 4 };
	int32_t xu = ir_value(ir, "xu", DNNQ_IR_U8, 4, (int64_t[]){ 1, 1, 2, 2 }, true, NULL);
	ir->inputs[ir->ninputs++] = xu;
	int32_t wv = ir_value(ir, "w", DNNQ_IR_U8, 4, (int64_t[]){ 1, 1, 2, 2 }, false, w8);
	ir_node(ir, DNNQ_IR_CONVINTEGER, "ci", "ConvInteger", 2, (int32_t[]){ xu, wv }, DNNQ_IR_S32,
	        4, (int64_t[]){ 1, 1, 1, 1 }, &y);
	/* its int32 sums are a graph output, through a reshape that keeps
	 * their order (a view), a Cast, or nothing: no other node reads them */
	ir_node(ir, DNNQ_IR_RESHAPE, "r", "Reshape", 1, (int32_t[]){ y }, DNNQ_IR_S32, 2,
	        (int64_t[]){ 1, 1 }, &y);
	ir_node(ir, DNNQ_IR_RELU, "relu", "Relu", 1, (int32_t[]){ y }, DNNQ_IR_S32, 2,
	        (int64_t[]){ 1, 1 }, &y);
	ir_output(ir, y);
	expect_error(ir, NULL, DNNQ_E_UNSUPPORTED, "node 'relu' (Relu)", "not computed");
	ir_destroy(ir);

	/* an IR whose shapes do not follow from its operators */
	ir = ir_new();
	x = ir_input(ir, "x", 4, (int64_t[]){ 1, 1, 4, 4 });
	float w9[9] = { 0 };
	wv = ir_const(ir, "w", 4, (int64_t[]){ 1, 1, 3, 3 }, w9);
	n = ir_node(ir, DNNQ_IR_CONV, "conv", "Conv", 2, (int32_t[]){ x, wv }, DNNQ_IR_F32, 4,
	            (int64_t[]){ 1, 1, 4, 4 }, &y);
	n->kernel[0] = n->kernel[1] = 3;
	ir_output(ir, y);
	expect_error(ir, NULL, DNNQ_E_FORMAT, "output 0 'conv'",
	             "the graph computes f32 [1, 1, 2, 2]");
	ir_destroy(ir);

	/* an input id that is not an earlier value */
	ir = ir_new();
	x = ir_input(ir, "x", 2, (int64_t[]){ 1, 4 });
	n = ir_node(ir, DNNQ_IR_RELU, "r", "Relu", 1, &x, DNNQ_IR_F32, 2, (int64_t[]){ 1, 4 }, &y);
	n->inputs[0] = 7;
	ir_output(ir, y);
	expect_error(ir, NULL, DNNQ_E_FORMAT, "node 'r' (Relu)", "input 0");
	ir_destroy(ir);
}
END_TEST

/* --keep-fp32 names a node as its ONNX name, though the importer kept
 * 111 bytes of it and a hash (tf2onnx fuses names of 250:
 * dnnq_ir_node_name), as the IR holds it, or as the report shows it (the
 * lowered node's name, shortened with a hash); a name that differs from
 * it anywhere, past byte 120 too, names another node. */
START_TEST(lower_keep_fp32_long_names)
{
	char onnx[200], ir_name[DNNQ_IR_NODE_NAME_MAX + 8], other[200], late[200],
	     lowered[DNNQ_MODEL_NAME_MAX];
	memset(onnx, 'a', sizeof onnx - 1);
	onnx[sizeof onnx - 1] = '\0';
	dnnq_ir_node_name(ir_name, onnx);
	ck_assert_uint_eq(strlen(ir_name), DNNQ_IR_NODE_NAME_MAX);
	memcpy(other, onnx, sizeof other);
	other[100] = 'b';
	memcpy(late, onnx, sizeof late);
	late[150] = 'b';
	struct dnnq_ir_node nodes[2] = {
		{ .name = ir_name, .op = DNNQ_IR_CONV },
		{ .name = (char *)"relu", .op = DNNQ_IR_RELU },
	};
	struct dnnq_ir ir = { .nodes = nodes, .nnodes = 2 };
	model_name(lowered, ir_name, "");
	ck_assert_uint_eq(strlen(lowered), DNNQ_MODEL_NAME_MAX - 1);
	const char *ok[3] = { onnx, ir_name, lowered };
	for (int i = 0; i < 3; i++) {
		bool *keep = NULL;
		struct dnnq_diag d = { 0 };
		ck_assert_int_eq(dnnq_onnx_keep_fp32(&ir, ok[i], &keep, &d), DNNQ_OK);
		ck_assert(keep[0] && !keep[1]);
		free(keep);
	}
	const char *no[3] = { other, late, "rel" };
	for (int i = 0; i < 3; i++) {
		bool *keep = NULL;
		struct dnnq_diag d = { 0 };
		ck_assert_int_eq(dnnq_onnx_keep_fp32(&ir, no[i], &keep, &d), DNNQ_E_INVAL);
		ck_assert_ptr_nonnull(strstr(d.msg, "is no node of the model"));
	}
}
END_TEST

/* model_name keeps every name that fits in 63 bytes with its suffix, and
 * cuts the others to 63 with '~' and a hash: a name of 54 bytes without
 * a suffix (64 - 10) was given '~811c9dc5' too, which no IR name matched
 * (--precision auto then never measured that node: silero VAD's ReLUs). */
START_TEST(lower_model_name_cut_only_when_long)
{
	static const char *const suffixes[] = { "", ":quantize" };
	char name[80], buf[DNNQ_MODEL_NAME_MAX], want[128];
	for (size_t k = 0; k < 2; k++)
		for (size_t n = 40; n < 70; n++) {
			memset(name, 'a' + (int)(n % 26), n);
			name[n] = 0;
			model_name(buf, name, suffixes[k]);
			size_t sl = strlen(suffixes[k]);
			if (n + sl < DNNQ_MODEL_NAME_MAX) {
				snprintf(want, sizeof want, "%s%s", name, suffixes[k]);
				ck_assert_str_eq(buf, want);
			} else {
				ck_assert_uint_eq(strlen(buf), DNNQ_MODEL_NAME_MAX - 1);
				ck_assert_msg(buf[DNNQ_MODEL_NAME_MAX - 10 - sl] == '~' &&
				              !strstr(buf, "~811c9dc5"), "%zu: %s", n, buf);
			}
		}
}
END_TEST

/* A cut name keeps whole UTF-8 characters: a prefix of 0, 1 or 2 bytes
 * and '\u20ac' (3 bytes) repeated, cut at each byte offset of one, leaves
 * whole ones before the '~' (it kept the first byte or two of the last,
 * which JSON output such as dnnq-run --profile --json then carried as
 * invalid UTF-8); the IR's names (dnnq_ir_node_name) the same. */
START_TEST(lower_model_name_cut_utf8)
{
	static const char *const suffixes[] = { "", ":quantize" };
	char name[200], buf[DNNQ_MODEL_NAME_MAX], ir[DNNQ_IR_NODE_NAME_MAX + 8];
	for (size_t p = 0; p < 3; p++) {
		snprintf(name, sizeof name, "%.*s", (int)p, "ab");
		for (size_t n = 0; n < 60; n++)
			strcat(name, "\xe2\x82\xac");
		for (size_t k = 0; k < 2; k++) {
			model_name(buf, name, suffixes[k]);
			size_t kept = (size_t)(strrchr(buf, '~') - buf);
			ck_assert_msg((kept - p) % 3 == 0 &&
			              kept + 2 >= DNNQ_MODEL_NAME_MAX - 10 - strlen(suffixes[k]),
			              "prefix %zu, '%s': %zu bytes kept", p, suffixes[k], kept);
		}
		dnnq_ir_node_name(ir, name);
		size_t kept = (size_t)(strrchr(ir, '~') - ir);
		ck_assert_msg((kept - p) % 3 == 0 && kept + 2 >= DNNQ_IR_NODE_NAME_MAX - 9,
		              "IR, prefix %zu: %zu bytes kept", p, kept);
	}
}
END_TEST

Suite *suite_lower(void)
{
	Suite *s = suite_create("lower");
	TCase *tc = tcase_create("lower");
	tcase_add_test(tc, lower_conv_bn_relu);
	tcase_add_test(tc, lower_keep_fp32_long_names);
	tcase_add_test(tc, lower_int8_refused);
	tcase_add_test(tc, lower_one_row_bias);
	tcase_add_test(tc, lower_gemm);
	tcase_add_test(tc, lower_flatten_gemm);
	tcase_add_test(tc, lower_pools);
	tcase_add_test(tc, lower_add_mul_constants);
	tcase_add_test(tc, lower_concat_softmax_hardswish);
	tcase_add_test(tc, lower_qlinearconv_exact);
	tcase_add_test(tc, lower_qdq_maxpool_exact);
	tcase_add_test(tc, lower_qlinear_flatten_matmul_exact);
	tcase_add_test(tc, lower_more_ops);
	tcase_add_test(tc, lower_qdq_conv_gemm);
	tcase_add_test(tc, lower_u8_edges_exact);
	tcase_add_test(tc, lower_refuses);
	tcase_add_test(tc, lower_fuse_layernorm);
	tcase_add_test(tc, lower_add_relu);
	tcase_add_test(tc, lower_model_name_cut_only_when_long);
	tcase_add_test(tc, lower_model_name_cut_utf8);
	suite_add_tcase(s, tc);
	return s;
}
