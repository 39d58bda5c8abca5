/*
 * onnx/import-fold.c — constant folding and no-op removal at import.
 *
 * A node whose inputs are constants (initializers, Constant nodes, earlier
 * folds) is computed here, its output a constant value, no IR node: the
 * shape arithmetic exporters put before a Reshape (torch's
 * x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat; paddle's
 * Shape -> Cast -> Slice -> Concat) disappears and the Reshape reads a
 * constant target. Shape and Size need only their input's static shape.
 * Reshape, Flatten, Squeeze and Unsqueeze of a constant fold in
 * onnx/import-ops.c (their shape rule is the operator's).
 *
 * The batch stays symbolic: Shape of a batched value gives IMP_BATCH for
 * dim 0 (onnx/import-int.h), which moves through Gather, Slice, Concat,
 * Unsqueeze and integer Casts and is read by Reshape as "keep the batch";
 * arithmetic that needs its value is refused, naming the node.
 *
 * Each folded output is checked against the importer's limits before it
 * is allocated (a ConstantOfShape of 2^40 elements is refused).
 *
 * No-ops: a Cast to the value's own type, a Pad of zeros; a constant Pad
 * of zeros on the spatial dims feeding only a Conv or an AveragePool is
 * merged into that node's pads. What cannot be folded goes on to the
 * operator table (IMP_NOT_FOLDED): a Cast of a computed integer value to
 * float is its DNNQ_IR_CAST node, a Pad that stays is its Pad (or an
 * unsupported operator).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "engine/unary.h"
#include "onnx/import-int.h"

/* ---- int64 shape tensors and element access ---------------------------------- */

static int32_t id_of(struct nctx *c, const struct dnnq_ir_value *v)
{
	return (int32_t)(v - c->m->ir->values);
}

/* Element i of an integer constant (getf for any) as int64: IMP_BATCH for
 * the batch; an INT64_MIN that is not the batch reads as INT64_MIN + 1
 * (for Slice, as far out as INT64_MIN). */
static int64_t geti(struct nctx *c, const struct dnnq_ir_value *v, size_t i)
{
	bool b = c->m->batch[id_of(c, v)];
	switch (v->dtype) {
	case DNNQ_IR_S64: {
		int64_t x = ((const int64_t *)v->data)[i];
		return x == INT64_MIN && !b ? INT64_MIN + 1 : x;
	}
	case DNNQ_IR_S32: {
		int32_t x = ((const int32_t *)v->data)[i];
		return b && x == INT32_MIN ? IMP_BATCH : x;
	}
	case DNNQ_IR_U8: return ((const uint8_t *)v->data)[i];
	default: return ((const int8_t *)v->data)[i];
	}
}

static double getf(struct nctx *c, const struct dnnq_ir_value *v, size_t i)
{
	return v->dtype == DNNQ_IR_F32 ? ((const float *)v->data)[i] : (double)geti(c, v, i);
}

static bool is_int(enum dnnq_ir_dtype dt)
{
	return dt != DNNQ_IR_F32;
}

static int batch_refused(struct nctx *c)
{
	return batch_moves(c, "computes with the batch, which stays symbolic (only "
	           "moving it into a Reshape's dim 0 is folded)");
}

/* Element i of an integer output; the batch only in int64 and int32. */
static int puti(struct nctx *c, enum dnnq_ir_dtype dt, void *p, size_t i, int64_t x)
{
	if (x == IMP_BATCH && dt != DNNQ_IR_S64 && dt != DNNQ_IR_S32)
		return batch_refused(c);
	int64_t lo = dt == DNNQ_IR_U8 ? 0 : dt == DNNQ_IR_S8 ? -128 : INT32_MIN;
	int64_t hi = dt == DNNQ_IR_U8 ? 255 : dt == DNNQ_IR_S8 ? 127 : INT32_MAX;
	if (dt != DNNQ_IR_S64 && x != IMP_BATCH && (x < lo || x > hi))
		return bad(c, DNNQ_E_RANGE, "element %zu = %lld does not fit %s", i, (long long)x,
		           dnnq_ir_dtype_name(dt));
	switch (dt) {
	case DNNQ_IR_S64: ((int64_t *)p)[i] = x; break;
	case DNNQ_IR_S32: ((int32_t *)p)[i] = x == IMP_BATCH ? INT32_MIN : (int32_t)x; break;
	case DNNQ_IR_U8: ((uint8_t *)p)[i] = (uint8_t)x; break;
	default: ((int8_t *)p)[i] = (int8_t)x; break;
	}
	return 0;
}

/* Element i of an output of dtype dt from a double (floats; integers
 * truncated toward zero, as a C cast). */
static int putf(struct nctx *c, enum dnnq_ir_dtype dt, void *p, size_t i, double x)
{
	if (dt == DNNQ_IR_F32) {
		((float *)p)[i] = (float)x;
		return 0;
	}
	if (!(x > -9.2e18 && x < 9.2e18))
		return bad(c, DNNQ_E_RANGE, "element %zu = %g does not fit %s", i, x,
		           dnnq_ir_dtype_name(dt));
	return puti(c, dt, p, i, (int64_t)x);
}

/* A 1-D integer constant (a shape, starts, axes) of at most `max` values into v. */
static int int_list(struct nctx *c, size_t i, size_t max, int64_t *v, size_t *n)
{
	int rc = need(c, i, DT_INT, true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, i);
	*n = dnnq_ir_numel(x, 1);
	if (x->ndim > 1 || *n > max)
		return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: 1-D, at most %zu values expected",
		           i, iname(c, i), imp_dims_str(x), max);
	for (size_t k = 0; k < *n; k++)
		v[k] = geti(c, x, k);
	return 0;
}

/* ---- folded outputs --------------------------------------------------------------- */

/* Output k's shape set and checked, *data allocated for it. */
static int alloc_nth(struct nctx *c, uint32_t k, enum dnnq_ir_dtype dt, uint32_t ndim,
                     const int64_t *dims, void **data)
{
	*data = NULL;
	if (ndim > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_UNSUPPORTED, "the result would have rank %u (at most %d)", ndim,
		           DNNQ_IR_MAX_DIMS);
	int rc = set_out(c, k, dt, ndim, dims, false);
	if (rc)
		return rc;
	return imp_const_alloc(c->m, dnnq_ir_numel(&c->out[k], 1) * dnnq_ir_dtype_size(dt), c->who,
	                       data);
}

static int alloc_out(struct nctx *c, enum dnnq_ir_dtype dt, uint32_t ndim, const int64_t *dims,
                     void **data)
{
	return alloc_nth(c, 0, dt, ndim, dims, data);
}

/* Output k becomes the constant holding data (taken), which may hold the
 * batch when `batch`. */
static int const_nth(struct nctx *c, uint32_t k, void *data, int rc, bool batch)
{
	if (rc) {
		free(data);
		return rc;
	}
	struct dnnq_ir_value v = c->out[k];
	v.name = (char *)(k < c->np->n_output && c->np->output[k] ? c->np->output[k] : "");
	v.data = data;
	v.producer = -1;
	int32_t id = imp_new_value(c->m, &v, true);
	if (id < 0) {
		free(data);
		return id;
	}
	c->m->batch[id] = batch;
	if (k)
		c->consts[k] = id;
	else
		c->constant = id;
	if (c->nconst < k + 1)
		c->nconst = k + 1;
	return 0;
}

static int const_out(struct nctx *c, void *data, int rc, bool batch)
{
	return const_nth(c, 0, data, rc, batch);
}

int imp_fold_data(struct nctx *c, const struct dnnq_ir_value *x)
{
	void *data;
	bool batch = c->m->batch[id_of(c, x)];
	const struct dnnq_ir_value o = c->out[0];
	int rc = alloc_out(c, o.dtype, o.ndim, o.dims, &data);
	if (!rc)
		memcpy(data, x->data, dnnq_ir_numel(&o, 1) * dnnq_ir_dtype_size(o.dtype));
	return const_out(c, data, rc, batch);
}

/* Nothing to compute: a value of no elements is the same at every run
 * (torchaudio's Emformer slices its empty right context and memory,
 * [0, N, D], clips them and concatenates them with the next layer's
 * frames). As empty constants the folds carry them on and Concat skips
 * them; the engine never sees a tensor of no elements. */
int imp_fold_empty(struct nctx *c)
{
	if (c->alias >= 0 || c->constant >= 0 || !c->nout)
		return 0;
	for (uint32_t k = 0; k < c->nout; k++)
		if (dnnq_ir_numel(&c->out[k], 1))
			return 0;
	for (uint32_t k = 0; k < c->nout; k++) {
		void *data;
		bool batched = c->out[k].batched;
		c->out[k].batched = false;
		int rc = imp_const_alloc(c->m, 0, c->who, &data);
		if ((rc = const_nth(c, k, data, rc, false)))
			return rc;
		c->m->empty_batch[k ? c->consts[k] : c->constant] = batched;
	}
	return 0;
}

bool imp_empty_batch_read(struct nctx *c)
{
	for (size_t i = 0; i < c->nin; i++) {
		const struct dnnq_ir_value *v = V(c, i);
		if (v && c->m->empty_batch[c->in[i]])
			return true;
	}
	return false;
}

int imp_empty_batch(struct nctx *c)
{
	bool concat = !strcmp(c->np->op_type, "Concat");       /* it adds nothing */
	for (uint32_t k = 0; k < c->nout; k++) {
		int32_t id = k ? (k < c->nconst ? c->consts[k] : -1) : c->constant;
		if (!dnnq_ir_numel(&c->out[k], 1)) {
			if (id >= 0)
				c->m->empty_batch[id] = true;
		} else if (!concat) {
			return batch_moves(c, "makes elements of a value of no elements that had the "
			                   "batch (its dims hold it as 1: Shape, a reduction over its "
			                   "empty axis, a Pad)");
		}
	}
	return 0;
}

/* The elements of x an output of rank r and dims od reads, in order: on
 * axis k (x's dims right-aligned to r), index start[k] + i * step[k]
 * (step 0 broadcasts). */
struct walk {
	uint32_t r;
	int64_t od[DNNQ_IR_MAX_DIMS], idx[DNNQ_IR_MAX_DIMS], step[DNNQ_IR_MAX_DIMS];
	int64_t stride[DNNQ_IR_MAX_DIMS], off;
};

static void walk_init(struct walk *w, uint32_t r, const int64_t *od,
                      const struct dnnq_ir_value *x, const int64_t *start, const int64_t *step)
{
	int64_t s = 1;
	*w = (struct walk){ .r = r };
	for (uint32_t k = r; k-- > 0;) {
		uint32_t lead = r - x->ndim;
		w->od[k] = od[k];
		w->step[k] = step[k];
		w->stride[k] = k >= lead ? s : 0;
		s *= k >= lead ? x->dims[k - lead] : 1;
		w->off += start[k] * w->stride[k];
	}
}

/* NumPy broadcasting of x to rank r and dims od: step 0 where x is 1. */
static void walk_broadcast(struct walk *w, uint32_t r, const int64_t *od,
                           const struct dnnq_ir_value *x)
{
	int64_t start[DNNQ_IR_MAX_DIMS] = { 0 }, step[DNNQ_IR_MAX_DIMS];
	for (uint32_t k = 0; k < r; k++)
		step[k] = k >= r - x->ndim && x->dims[k - (r - x->ndim)] != 1;
	walk_init(w, r, od, x, start, step);
}

/* The current element's offset in x; then on to the next. */
static size_t walk_next(struct walk *w)
{
	size_t off = (size_t)w->off;
	for (uint32_t k = w->r; k-- > 0;) {
		w->off += w->step[k] * w->stride[k];
		if (++w->idx[k] < w->od[k])
			break;
		w->off -= w->idx[k] * w->step[k] * w->stride[k];
		w->idx[k] = 0;
	}
	return off;
}

/* The broadcast of dims a (rank ra) with b (rank rb) into d, rank *r. */
static int broadcast(struct nctx *c, const int64_t *a, uint32_t ra, const int64_t *b,
                     uint32_t rb, int64_t *d, uint32_t *r)
{
	*r = ra > rb ? ra : rb;
	for (uint32_t k = 0; k < *r; k++) {
		int64_t x = k + ra >= *r ? a[k + ra - *r] : 1, y = k + rb >= *r ? b[k + rb - *r] : 1;
		if (x != y && x != 1 && y != 1)
			return bad(c, DNNQ_E_SHAPE, "dims %lld and %lld do not broadcast (axis %u)",
			           (long long)x, (long long)y, k);
		d[k] = x == 1 ? y : x;
	}
	return 0;
}

/* A new output k of dims od: the elements of x that w walks. */
static int copy_nth(struct nctx *c, uint32_t k, const struct dnnq_ir_value *x, uint32_t r,
                    const int64_t *od, struct walk *w)
{
	void *data;
	size_t es = dnnq_ir_dtype_size(x->dtype);
	int rc = alloc_nth(c, k, x->dtype, r, od, &data);
	for (size_t e = 0; !rc && e < dnnq_ir_numel(&c->out[k], 1); e++)
		memcpy((char *)data + e * es, (const char *)x->data + walk_next(w) * es, es);
	return const_nth(c, k, data, rc, c->m->batch[id_of(c, x)]);
}

static int copy_walk(struct nctx *c, const struct dnnq_ir_value *x, uint32_t r,
                     const int64_t *od, struct walk *w)
{
	return copy_nth(c, 0, x, r, od, w);
}

/* ---- Shape, Size ------------------------------------------------------------------ */

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int fold_shape(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t r = x->ndim, start, end;
	if ((rc = a_int(c, "start", 0, &start)) || (rc = a_int(c, "end", r, &end)))
		return rc;
	start = clamp(start < 0 ? start + r : start, 0, r);
	end = clamp(end < 0 ? end + r : end, 0, r);
	int64_t n = end > start ? end - start : 0;
	void *data;
	rc = alloc_out(c, DNNQ_IR_S64, 1, &n, &data);
	/* ONNX's dims: the batch on dim b (the IR's 0, then ONNX's others) */
	int64_t b = c->m->moved[c->in[0]];
	for (int64_t k = 0, j = start; !rc && k < n; k++, j++)
		((int64_t *)data)[k] = j == b && x->batched ? IMP_BATCH : x->dims[j < b ? j + 1 : j];
	return const_out(c, data, rc, x->batched);
}

static int fold_size(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->batched)
		return batch_refused(c);
	void *data;
	rc = alloc_out(c, DNNQ_IR_S64, 0, NULL, &data);
	if (!rc)
		*(int64_t *)data = (int64_t)dnnq_ir_numel(x, 1);
	return const_out(c, data, rc, false);
}

/* ---- Cast --------------------------------------------------------------------------- */

/* A float cast to integer type dt as the computed Cast casts it (engine/unary.h
 * dnnq_cast_int1: ONNX Runtime's x86 results; a NaN, an infinite or another
 * value out of range, which ONNX leaves undefined, gives int64's and int32's
 * smallest, 8 bits wrapped), but int64's smallest -2^63 (IMP_BATCH, the batch
 * to the folds) -2^62. */
static int64_t cast_int(enum dnnq_ir_dtype dt, float x)
{
	int bits = dt == DNNQ_IR_S64 ? 64 : dt == DNNQ_IR_S32 ? 32 : 8;
	float r = dnnq_cast_int1(x, bits, dt == DNNQ_IR_S8);
	return r == -0x1p63f ? -((int64_t)1 << 62) : (int64_t)r;
}

/* Element i of integer x cast to integer type dt into data, as C's casts
 * and ONNX Runtime's: its low bits, two's complement (int64 300 to int8 is
 * 44; a file's -2^63, which geti reads as -2^63 + 1, is 0); the batch
 * stays the batch (puti refuses it in 8 bits). In a value that holds the
 * batch, int32's -2^31 is its mark: a wrap onto it is refused (it read as
 * the batch, a Reshape to [N, -1] where ONNX Runtime's refuses the dim). */
static int cast_int_int(struct nctx *c, const struct dnnq_ir_value *x, size_t i,
                        enum dnnq_ir_dtype dt, void *data)
{
	int64_t v = geti(c, x, i);
	if (v == IMP_BATCH || dt == DNNQ_IR_S64)
		return puti(c, dt, data, i, v);
	uint64_t u = x->dtype == DNNQ_IR_S64 ? (uint64_t)((const int64_t *)x->data)[i]
	                                      : (uint64_t)v;
	int64_t w = dt == DNNQ_IR_S32 ? (int32_t)(uint32_t)u
	          : dt == DNNQ_IR_U8 ? (uint8_t)u : (int8_t)(uint8_t)u;
	if (dt == DNNQ_IR_S32 && w == INT32_MIN && c->m->batch[id_of(c, x)])
		return bad(c, DNNQ_E_RANGE, "element %zu = %lld wraps to -2^31, which marks the batch "
		           "in a shape", i, (long long)v);
	return puti(c, dt, data, i, w);
}

/* x is computed by Floor, Ceil or Round: floats that are integers already,
 * which a cast to int32 or int64 leaves as they are (ONNX Runtime's older
 * dynamic quantization rounds a bias to the accumulator's scale so:
 * docs/onnx.md, "Dynamic quantization"). */
static bool rounded(const struct dnnq_ir *ir, const struct dnnq_ir_value *x)
{
	if (x->data || x->producer < 0 || ir->nodes[x->producer].op != DNNQ_IR_ENGINE)
		return false;
	uint32_t k = ir->nodes[x->producer].kind;
	return k == dnnq_op_find("floor")->kind || k == dnnq_op_find("ceil")->kind ||
	       k == dnnq_op_find("round")->kind;
}

/* Whether ONNX type to is one of the integer types dnnq has no cast to. */
static bool onnx_int_other(int64_t to)
{
	return to == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ||
	       to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 ||
	       to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 ||
	       to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64;
}

/* A constant cast to float16, carried as float: x rounded to half
 * precision, to nearest even (past 65504 infinite), as ONNX Runtime's
 * (through float, as its casts from integers go). It was not rounded: 0.1
 * stayed 0.1 where ONNX Runtime's is 0.0999755859375. */
static double half_of(double x)
{
	float f = (float)x;
	if (!isfinite(f) || f == 0)
		return f;
	/* the multiple of half's quantum at f's binade (2^-24 at the least:
	 * the subnormals'), in double, exactly (no _Float16: clang 14, which
	 * builds the fuzzers, has none on x86) */
	int e;
	frexpf(f, &e);
	double q = ldexp(1, e - 11 > -24 ? e - 11 : -24), r = rint(f / q) * q;
	return fabs(r) > 65504 ? copysign(INFINITY, r) : r;
}

static int fold_cast(struct nctx *c)
{
	int64_t to;
	size_t nin = c->nin;    /* a CastLike's 2, for the table's Cast when not folded */
	int rc = need(c, 0, DT_ANY, false);
	if (rc || (rc = imp_cast_to(c, &to)))
		return rc;
	enum dnnq_ir_dtype dt;
	bool to_bool = to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	if (to_bool)
		dt = DNNQ_IR_F32;       /* the IR has no bool: the float 0 or 1, as a bool
		                           initializer, input or comparison */
	else if (to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
		dt = DNNQ_IR_F32;       /* float16 values are carried as float (docs/onnx.md) */
	else if (imp_dtype((int32_t)to, &dt))
		return bad(c, DNNQ_E_DTYPE, "casting to %s is not supported%s",
		           imp_onnx_dtype_name((int32_t)to), V(c, 0)->data || !onnx_int_other(to) ? "" :
		           " (a float computed at run time: to int8, uint8, int32 or int64)");
	struct dnnq_ir_value *x = V(c, 0);
	if (!x->data && dt == x->dtype && !to_bool)
		return pass_through(c);
	/* integers computed at run time stay what carries them (docs/onnx.md,
	 * "Token ids"): int32 ids as int32 (int64 is read so), integers and
	 * bools held in floats as those floats, marked integers */
	bool ints = x->dtype == DNNQ_IR_S32 || (x->dtype == DNNQ_IR_F32 &&
	            (imp_is_int(c->m, iname(c, 0)) || imp_is_bool(c->m, iname(c, 0)) ||
	             rounded(c->m->ir, x)));
	if (!x->data && ints && (dt == DNNQ_IR_S32 || dt == DNNQ_IR_S64)) {
		c->ints = x->integer = x->dtype == DNNQ_IR_F32;
		return pass_through(c);
	}
	if (!x->data) {
		c->nin = nin;
		return IMP_NOT_FOLDED;  /* the operator table's Cast: integers to float */
	}
	void *data;
	size_t n = dnnq_ir_numel(x, 1);
	rc = alloc_out(c, dt, x->ndim, x->dims, &data);
	for (size_t i = 0; !rc && i < n; i++) {
		if (to_bool)
			rc = putf(c, dt, data, i, getf(c, x, i) != 0);
		else if (is_int(x->dtype) && is_int(dt))
			rc = cast_int_int(c, x, i, dt, data);
		else if (is_int(x->dtype) && geti(c, x, i) == IMP_BATCH)
			rc = batch_refused(c);
		else if (is_int(dt) && !is_int(x->dtype))
			/* T5's log(0) cast to int64 (discarded by its Where) */
			rc = puti(c, dt, data, i, cast_int(dt, (float)getf(c, x, i)));
		else if (to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
			rc = putf(c, dt, data, i, half_of(getf(c, x, i)));
		else
			rc = putf(c, dt, data, i, getf(c, x, i));
	}
	return const_out(c, data, rc, c->m->batch[id_of(c, x)] && is_int(dt));
}

/* ---- data movement: Gather, Slice, Concat, Expand ----------------------------------- */

static int fold_gather(struct nctx *c)
{
	int rc;
	int64_t axis;
	if ((rc = need(c, 0, DT_ANY, true)) || (rc = need(c, 1, DT_INT, true)) ||
	    (rc = a_int(c, "axis", 0, &axis)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *ix = V(c, 1);
	if ((rc = norm_axis(c, &axis, x->ndim, "axis")))
		return rc;
	int64_t od[2 * DNNQ_IR_MAX_DIMS], len = x->dims[axis];
	size_t inner = 1, outer = 1, ni = dnnq_ir_numel(ix, 1), es = dnnq_ir_dtype_size(x->dtype);
	uint32_t r = 0;
	for (uint32_t k = 0; k < (uint32_t)axis; k++)
		outer *= (size_t)(od[r++] = x->dims[k]);
	for (uint32_t k = 0; k < ix->ndim; k++)
		od[r++] = ix->dims[k];
	for (uint32_t k = (uint32_t)axis + 1; k < x->ndim; k++)
		inner *= (size_t)(od[r++] = x->dims[k]);
	for (size_t j = 0; j < ni; j++)
		if (geti(c, ix, j) < -len || geti(c, ix, j) >= len)
			return bad(c, DNNQ_E_RANGE, "index %lld is out of range for axis %lld of [%s]",
			           (long long)geti(c, ix, j), (long long)axis, imp_dims_str(x));
	void *data;
	if ((rc = alloc_out(c, x->dtype, r, od, &data)))
		return rc;
	char *o = data;
	for (size_t k = 0; k < outer; k++)
		for (size_t j = 0; j < ni; j++, o += inner * es) {
			int64_t i = geti(c, ix, j);
			size_t at = (k * (size_t)len + (size_t)(i < 0 ? i + len : i)) * inner;
			memcpy(o, (const char *)x->data + at * es, inner * es);
		}
	return const_out(c, data, 0, c->m->batch[id_of(c, x)]);
}

/* The output a copy of the constant x, to be changed (the scatters). */
static int copy_out(struct nctx *c, const struct dnnq_ir_value *x, void **data)
{
	int rc = alloc_out(c, x->dtype, x->ndim, x->dims, data);
	if (!rc && dnnq_ir_numel(x, 1))
		memcpy(*data, x->data, dnnq_ir_numel(x, 1) * dnnq_ir_dtype_size(x->dtype));
	return rc;
}

/* ScatterND on constants, reduction none (the masks of shifted windows, Swin's):
 * a copy of data with each index tuple's slice replaced by its updates. */
static int fold_scatternd(struct nctx *c)
{
	int rc;
	char red[16];
	if ((rc = need(c, 0, DT_ANY, true)) || (rc = need(c, 1, DT_INT, true)) ||
	    (rc = need(c, 2, DT_ANY, true)) || (rc = same_dtype(c, 0, 2)) ||
	    (rc = a_str(c, "reduction", "none", red, sizeof red)))
		return rc;
	if (strcmp(red, "none"))
		return bad(c, DNNQ_E_UNSUPPORTED, "reduction '%s' (only none)", red);
	const struct dnnq_ir_value *x = V(c, 0), *ix = V(c, 1), *u = V(c, 2);
	if (c->m->batch[id_of(c, x)] || c->m->batch[id_of(c, u)])
		return batch_refused(c);
	int64_t last = ix->ndim ? ix->dims[ix->ndim - 1] : 0;
	uint32_t k = last >= 1 && last <= x->ndim ? (uint32_t)last : 0;
	bool fits = k >= 1 && u->ndim == ix->ndim - 1 + x->ndim - k;
	for (uint32_t d = 0; fits && d < u->ndim; d++)
		fits = u->dims[d] == (d < ix->ndim - 1 ? ix->dims[d] : x->dims[k + d - (ix->ndim - 1)]);
	if (!fits)
		return bad(c, DNNQ_E_SHAPE, "data [%s], indices [%s] and updates [%s] do not agree",
		           imp_dims_str(x), imp_dims_str(ix), imp_dims_str(u));
	size_t es = dnnq_ir_dtype_size(x->dtype), inner = 1, n = dnnq_ir_numel(ix, 1) / k;
	for (uint32_t d = k; d < x->ndim; d++)
		inner *= (size_t)x->dims[d];
	void *data;
	if ((rc = copy_out(c, x, &data)))
		return rc;
	for (size_t t = 0; !rc && t < n; t++) {
		size_t at = 0;
		for (uint32_t d = 0; !rc && d < k; d++) {
			int64_t i = geti(c, ix, t * k + d), len = x->dims[d];
			if (i < -len || i >= len)
				rc = bad(c, DNNQ_E_RANGE, "index %lld is out of range for axis %u of [%s]",
				         (long long)i, d, imp_dims_str(x));
			at = at * (size_t)len + (size_t)(i < 0 ? i + len : i);
		}
		if (!rc)
			memcpy((char *)data + at * inner * es, (const char *)u->data + t * inner * es,
			       inner * es);
	}
	return const_out(c, data, rc, false);
}

/* ScatterElements on constants, reduction none (torch's index_fill and
 * index_put on a shape, x[:, idx] = v's export: a shape's element set):
 * a copy of data with element p of updates written where the indices
 * (updates' shape, each dim but the axis at most data's, as
 * op_scatter_elements takes them) point along the axis. */
static int fold_scatterelements(struct nctx *c)
{
	int rc;
	char red[16];
	int64_t axis;
	if ((rc = need(c, 0, DT_ANY, true)) || (rc = need(c, 1, DT_INT, true)) ||
	    (rc = need(c, 2, DT_ANY, true)) || (rc = same_dtype(c, 0, 2)) ||
	    (rc = a_str(c, "reduction", "none", red, sizeof red)) ||
	    (rc = a_int(c, "axis", 0, &axis)))
		return rc;
	if (strcmp(red, "none"))
		return bad(c, DNNQ_E_UNSUPPORTED, "reduction '%s' (only none)", red);
	const struct dnnq_ir_value *x = V(c, 0), *ix = V(c, 1), *u = V(c, 2);
	if ((rc = norm_axis(c, &axis, x->ndim, "axis")))
		return rc;
	if (c->m->batch[id_of(c, x)] || c->m->batch[id_of(c, u)])
		return batch_refused(c);
	bool fits = ix->ndim == x->ndim && u->ndim == x->ndim;
	for (uint32_t d = 0; fits && d < x->ndim; d++)
		fits = u->dims[d] == ix->dims[d] && (d == axis || ix->dims[d] <= x->dims[d]);
	if (!fits)
		return bad(c, DNNQ_E_SHAPE, "data [%s], indices [%s] and updates [%s] do not agree",
		           imp_dims_str(x), imp_dims_str(ix), imp_dims_str(u));
	size_t es = dnnq_ir_dtype_size(x->dtype), n = dnnq_ir_numel(ix, 1);
	void *data;
	if ((rc = copy_out(c, x, &data)))
		return rc;
	for (size_t p = 0; !rc && p < n; p++) {
		int64_t i = geti(c, ix, p), len = x->dims[axis];
		if (i < -len || i >= len) {
			rc = bad(c, DNNQ_E_RANGE, "index %lld is out of range for axis %lld of [%s]",
			         (long long)i, (long long)axis, imp_dims_str(x));
			break;
		}
		size_t at = 0, stride = 1, rest = p;
		for (uint32_t d = x->ndim; d-- > 0; stride *= (size_t)x->dims[d]) {
			size_t q = rest % (size_t)ix->dims[d];
			rest /= (size_t)ix->dims[d];
			at += ((int64_t)d == axis ? (size_t)(i < 0 ? i + len : i) : q) * stride;
		}
		memcpy((char *)data + at * es, (const char *)u->data + p * es, es);
	}
	return const_out(c, data, rc, false);
}

/* Slice's starts, ends, axes and steps: attributes before opset 10, inputs after. */
static int slice_args(struct nctx *c, int64_t v[4][DNNQ_IR_MAX_DIMS], size_t *n)
{
	static const char *const names[3] = { "starts", "ends", "axes" };
	size_t k[4] = { 0 };
	int rc;
	for (int a = 0; a < 4; a++) {
		bool given = c->m->opset < 10 ? a < 3 && attr(c, names[a]) : V(c, 1 + (size_t)a) != NULL;
		if (c->m->opset < 10 && given) {
			const int64_t *p;
			ptrdiff_t m;
			if ((rc = a_ints(c, names[a], &p, &m)))
				return rc;
			if (m > DNNQ_IR_MAX_DIMS)
				return bad(c, DNNQ_E_SHAPE, "attribute '%s' has %td values", names[a], m);
			k[a] = (size_t)m;
			memcpy(v[a], p, k[a] * sizeof *p);
		} else if (given && (rc = int_list(c, 1 + (size_t)a, DNNQ_IR_MAX_DIMS, v[a], &k[a]))) {
			return rc;
		}
		if (a >= 2 && !given)
			for (size_t i = 0; i < DNNQ_IR_MAX_DIMS; i++)
				v[a][i] = a == 2 ? (int64_t)i : 1;
		if (a >= 2 && !given)
			k[a] = k[0];
	}
	if (k[1] != k[0] || k[2] != k[0] || k[3] != k[0])
		return bad(c, DNNQ_E_SHAPE, "starts, ends, axes and steps differ in length");
	*n = k[0];
	return 0;
}

static int fold_slice(struct nctx *c)
{
	int64_t v[4][DNNQ_IR_MAX_DIMS], start[DNNQ_IR_MAX_DIMS] = { 0 }, step[DNNQ_IR_MAX_DIMS];
	size_t n = 0;
	int rc = need(c, 0, DT_ANY, true);
	if (rc || (rc = slice_args(c, v, &n)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t od[DNNQ_IR_MAX_DIMS];
	bool seen[DNNQ_IR_MAX_DIMS] = { false };
	for (uint32_t k = 0; k < x->ndim; k++)
		od[k] = x->dims[k], step[k] = 1;
	for (size_t i = 0; i < n; i++) {
		int64_t ax = v[2][i], s = v[0][i], e = v[1][i], st = v[3][i];
		if ((rc = norm_axis(c, &ax, x->ndim, "axis")))
			return rc;
		if (s == IMP_BATCH || e == IMP_BATCH)
			return batch_refused(c);
		if (seen[ax] || st == 0)
			return bad(c, DNNQ_E_RANGE, "axis %lld: %s", (long long)ax,
			           st ? "given twice" : "step 0");
		seen[ax] = true;
		int64_t d = x->dims[ax];
		st = clamp(st, -d - 1, d + 1);  /* a larger step takes one element all the same */
		s += s < 0 ? d : 0;
		e += e < 0 ? d : 0;
		s = st > 0 ? clamp(s, 0, d) : clamp(s, 0, d - 1);
		e = st > 0 ? clamp(e, 0, d) : clamp(e, -1, d - 1);
		int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st;
		od[ax] = len > 0 ? len : 0;
		start[ax] = s;
		step[ax] = st;
	}
	struct walk w;
	walk_init(&w, x->ndim, od, x, start, step);
	return copy_walk(c, x, x->ndim, od, &w);
}

/* Each output a constant: the walk over its part of axis `axis`. */
static int fold_split(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, true);
	if (rc || (rc = imp_split_outs(c)))
		return rc;
	int64_t start[DNNQ_IR_MAX_DIMS] = { 0 }, step[DNNQ_IR_MAX_DIMS], ax = c->node.axis;
	for (uint32_t k = 0; k < DNNQ_IR_MAX_DIMS; k++)
		step[k] = 1;
	for (uint32_t i = 0; !rc && i < c->nout; i++) {
		/* afresh: the output made before may have moved the values table */
		const struct dnnq_ir_value *x = V(c, 0);
		struct walk w;
		int64_t od[DNNQ_IR_MAX_DIMS];
		memcpy(od, c->out[i].dims, sizeof od);
		walk_init(&w, x->ndim, od, x, start, step);
		rc = copy_nth(c, i, x, x->ndim, od, &w);
		start[ax] += od[ax];
	}
	return rc;
}

static int fold_concat(struct nctx *c)
{
	int rc;
	int64_t axis;
	if (!attr(c, "axis"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'axis' is missing");
	if ((rc = a_int(c, "axis", 0, &axis)) || (rc = need(c, 0, DT_ANY, true)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0);
	if ((rc = norm_axis(c, &axis, a->ndim, "axis")))
		return rc;
	int64_t od[DNNQ_IR_MAX_DIMS], outer = 1;
	memcpy(od, a->dims, sizeof od);
	od[axis] = 0;
	bool batch = false;
	for (size_t i = 0; i < c->nin; i++) {
		const struct dnnq_ir_value *v = V(c, i);
		if ((rc = need(c, i, DT(a->dtype), true)))
			return rc;
		bool ok = v->ndim == a->ndim;
		for (uint32_t k = 0; ok && k < a->ndim; k++)
			ok = k == axis || v->dims[k] == a->dims[k];
		if (!ok)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s] does not match input 0 but "
			           "on axis %lld", i, iname(c, i), imp_dims_str(v), (long long)axis);
		od[axis] += v->dims[axis];
		batch |= c->m->batch[c->in[i]];
	}
	for (int64_t k = 0; k < axis; k++)
		outer *= a->dims[k];
	void *data;
	size_t es = dnnq_ir_dtype_size(a->dtype);
	if ((rc = alloc_out(c, a->dtype, a->ndim, od, &data)))
		return const_out(c, data, rc, false);
	char *o = data;
	for (int64_t k = 0; k < outer; k++)
		for (size_t i = 0; i < c->nin; i++) {
			size_t block = dnnq_ir_numel(V(c, i), 1) / (size_t)outer * es;
			memcpy(o, (const char *)V(c, i)->data + (size_t)k * block, block);
			o += block;
		}
	return const_out(c, data, 0, batch);
}

/* A shape input (1-D int64, no negative dim) into d, rank *r; the batch
 * refused, or when batch_one (past dim 0) taken as 1. */
static int shape_arg(struct nctx *c, size_t i, bool batch_one, int64_t *d, uint32_t *r)
{
	size_t n;
	int rc = int_list(c, i, DNNQ_IR_MAX_DIMS, d, &n);
	for (size_t k = 0; !rc && k < n; k++)
		if (d[k] == IMP_BATCH && batch_one && k)
			d[k] = 1;
		else if (d[k] == IMP_BATCH)
			rc = batch_refused(c);
		else if (d[k] < 0)
			rc = bad(c, DNNQ_E_SHAPE, "shape[%zu] = %lld is negative", k, (long long)d[k]);
	*r = (uint32_t)n;
	return rc;
}

/* Whether output 0 is only read as an LSTM's or GRU's initial_h or
 * initial_c (inputs 5, 6), directly or through a Slice, in this graph and
 * no branch of it, and fill is float zeros: torch's zero state, a
 * ConstantOfShape (or an Expand of zeros) of [layers * dirs, batch, hidden],
 * sliced per layer when there are several. The unroller takes zeros as no
 * state, so the batch in the shape may be 1 (onnx/import-rnn.c). */
static bool zero_state_only(struct nctx *c, const struct dnnq_ir_value *fill)
{
	const char *o = c->np->n_output ? c->np->output[0] : NULL;
	bool zero = o && fill->dtype == DNNQ_IR_F32;
	for (size_t i = 0; zero && i < dnnq_ir_numel(fill, 1); i++)
		zero = ((const float *)fill->data)[i] == 0;
	return zero && imp_read_elsewhere(c->m, o) == 0;
}

/* Expand of a float constant to a shape whose dim 0 is the batch (and no
 * other dim): the registry's expand node (engine/ops/expand.c), its
 * output batched, every batch row the constant broadcast to the rest. */
static int expand_batched(struct nctx *c, const int64_t *sh, uint32_t n)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t s[DNNQ_IR_MAX_DIMS], od[DNNQ_IR_MAX_DIMS];
	uint32_t r;
	int rc;
	const struct dnnq_op_def *def = dnnq_op_find("expand");
	if (!def)
		return bad(c, DNNQ_E_UNSUPPORTED, "this build has no 'expand' operator");
	/* integers (transformers' token type ids, buffered zeros) as floats
	 * holding them, as computed integers are (docs/onnx.md, "Token ids") */
	c->ints = is_int(x->dtype);
	if (c->ints && (rc = imp_int_const(c, 0)))
		return rc;
	x = V(c, 0);        /* imp_int_const's new value may have moved the table */
	if (x->dtype != DNNQ_IR_F32)
		return bad(c, DNNQ_E_UNSUPPORTED, "expanding a %s constant to the batch (only float "
		           "and integer data is)", dnnq_ir_dtype_name(x->dtype));
	if (x->ndim > n || (x->ndim == n && x->dims[0] != 1))
		return bad(c, DNNQ_E_SHAPE, "input '%.80s' [%s] against shape of rank %u: the batch "
		           "(shape[0]) must meet a dim of 1 or none", iname(c, 0), imp_dims_str(x), n);
	for (uint32_t k = 0; k < n; k++) {
		if (k && sh[k] == IMP_BATCH)
			return batch_refused(c);
		if (k && sh[k] < 0)
			return bad(c, DNNQ_E_SHAPE, "shape[%u] = %lld is negative", k, (long long)sh[k]);
		s[k] = k ? sh[k] : 1;
	}
	if ((rc = broadcast(c, x->dims, x->ndim, s, n, od, &r)))
		return rc;
	c->node.op = DNNQ_IR_ENGINE;
	c->node.kind = def->kind;
	c->nin = 1;
	return set_out(c, 0, DNNQ_IR_F32, r, od, true);
}

static int fold_expand(struct nctx *c)
{
	int64_t sh[DNNQ_IR_MAX_DIMS], od[DNNQ_IR_MAX_DIMS];
	uint32_t n, r;
	size_t nb;
	int rc = need(c, 0, DT_ANY, true);
	if (!rc && !(rc = int_list(c, 1, DNNQ_IR_MAX_DIMS, sh, &nb)) && nb && sh[0] == IMP_BATCH)
		return expand_batched(c, sh, (uint32_t)nb);
	if (rc || (rc = shape_arg(c, 1, zero_state_only(c, V(c, 0)), sh, &n)) ||
	    (rc = broadcast(c, V(c, 0)->dims, V(c, 0)->ndim, sh, n, od, &r)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	struct walk w;
	walk_broadcast(&w, r, od, x);
	return copy_walk(c, x, r, od, &w);
}

/* ---- Range, ConstantOfShape ---------------------------------------------------------- */

/* The element count of an integer Range, ceil((limit - start) / delta)
 * (0 for none), in integers: in doubles, 2^53 + 1 is 2^53 and a range
 * (0, 2^53 + 1, 2^53) lost its second element. The span and the step are
 * exact in uint64 whatever the int64s; delta is not 0. */
static int64_t range_count(int64_t start, int64_t limit, int64_t delta)
{
	if (delta > 0 ? limit <= start : limit >= start)
		return 0;
	uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start
	                          : (uint64_t)start - (uint64_t)limit;
	uint64_t step = delta > 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
	uint64_t n = span / step + (span % step != 0);
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

static int fold_range(struct nctx *c)
{
	int rc;
	for (size_t i = 0; i < 3; i++)
		if ((rc = need(c, i, DT_F32 | DT_INT, true)) || (rc = same_dtype(c, 0, i)))
			return rc;
	const struct dnnq_ir_value *a = V(c, 0);
	for (size_t i = 0; i < 3; i++)
		if (dnnq_ir_numel(V(c, i), 1) != 1)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: a scalar expected", i,
			           iname(c, i), imp_dims_str(V(c, i)));
	double s = getf(c, a, 0), l = getf(c, V(c, 1), 0), d = getf(c, V(c, 2), 0);
	if (is_int(a->dtype) && (geti(c, a, 0) == IMP_BATCH || geti(c, V(c, 1), 0) == IMP_BATCH ||
	                         geti(c, V(c, 2), 0) == IMP_BATCH))
		return batch_refused(c);
	if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
		return bad(c, DNNQ_E_RANGE, "start %g, limit %g, delta %g: a finite range with a "
		           "nonzero delta expected", s, l, d);
	double len = ceil((l - s) / d);
	int64_t n = is_int(a->dtype) ? range_count(geti(c, a, 0), geti(c, V(c, 1), 0),
	                                           geti(c, V(c, 2), 0))
	          : len > 0 ? (len < 4e18 ? (int64_t)len : INT64_MAX) : 0;
	void *data;
	rc = alloc_out(c, a->dtype, 1, &n, &data);
	/* an integer element start + i * delta, in [start, limit), is an int64;
	 * i * delta alone may not be (start -2^63 + 1, delta 2^62, i 2): the sum
	 * is taken in uint64, modulo 2^64, which is exact there */
	for (int64_t i = 0; !rc && i < n; i++)
		rc = is_int(a->dtype) ? puti(c, a->dtype, data, (size_t)i,
		                             (int64_t)((uint64_t)geti(c, a, 0) +
		                                       (uint64_t)i * (uint64_t)geti(c, V(c, 2), 0)))
		                      : putf(c, a->dtype, data, (size_t)i, s + (double)i * d);
	return const_out(c, data, rc, false);
}

static int fold_constantofshape(struct nctx *c)
{
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r;
	const Onnx__AttributeProto *a = attr(c, "value");
	struct dnnq_ir_value fill = { .dtype = DNNQ_IR_F32, .data = &(float){ 0 } };
	if (a) {
		char what[240];
		snprintf(what, sizeof what, "%s: value", c->who);
		if (!a->t)
			return bad(c, DNNQ_E_FORMAT, "attribute 'value' is not a tensor");
		int32_t id = imp_tensor_value(c->m, a->t, "", what);
		if (id < 0)
			return id;
		fill = c->m->ir->values[id];
		if (dnnq_ir_numel(&fill, 1) != 1)
			return bad(c, DNNQ_E_SHAPE, "attribute 'value' has %zu elements, not 1",
			           dnnq_ir_numel(&fill, 1));
	}
	int rc = shape_arg(c, 0, zero_state_only(c, &fill), d, &r);
	if (rc)
		return rc;
	void *data;
	size_t es = dnnq_ir_dtype_size(fill.dtype);
	rc = alloc_out(c, fill.dtype, r, d, &data);
	for (size_t i = 0; !rc && i < dnnq_ir_numel(&c->out[0], 1); i++)
		memcpy((char *)data + i * es, fill.data, es);
	return const_out(c, data, rc, false);
}

/* ---- arithmetic: Add, Sub, Mul, Div, Mod, Pow, Equal, Not, Where ------------------------ */

/* AR_MOD: Mod's default, the remainder takes the divisor's sign (Python's %);
 * AR_FMOD: fmod=1, the dividend's (C's % and fmod) */
enum arith { AR_ADD, AR_SUB, AR_MUL, AR_DIV, AR_MOD, AR_FMOD, AR_POW, AR_EQUAL, AR_GREATER,
             AR_LESS, AR_GREATER_EQUAL, AR_LESS_EQUAL, AR_MIN, AR_MAX,
             AR_SHL, AR_SHR /* of uint8 only: fold_bitshift */ };

/* Whether op gives a bool (the float 0 or 1). */
static bool arith_bool(enum arith op)
{
	return op == AR_EQUAL || op == AR_GREATER || op == AR_LESS || op == AR_GREATER_EQUAL ||
	       op == AR_LESS_EQUAL;
}

/* a op b on integers; the batch only through an identity (N*1, N+0...). */
static int arith_int(struct nctx *c, enum arith op, int64_t a, int64_t b, int64_t *y)
{
	if (b == IMP_BATCH && (op == AR_ADD || op == AR_MUL)) {
		int64_t t = a;
		a = b, b = t;
	}
	if (a == IMP_BATCH || b == IMP_BATCH) {
		bool keep = b != IMP_BATCH && (((op == AR_ADD || op == AR_SUB) && b == 0) ||
		                               ((op == AR_MUL || op == AR_DIV) && b == 1));
		if (op == AR_EQUAL && b < 1)
			return *y = 0, 0;   /* the batch is at least 1 */
		return keep ? (*y = a, 0) : batch_refused(c);
	}
	bool ovf = false;
	switch (op) {
	case AR_ADD: ovf = __builtin_add_overflow(a, b, y); break;
	case AR_SUB: ovf = __builtin_sub_overflow(a, b, y); break;
	case AR_MUL: ovf = __builtin_mul_overflow(a, b, y); break;
	case AR_DIV:
		if (b == 0 || (a == INT64_MIN && b == -1))
			return bad(c, DNNQ_E_RANGE, "integer division of %lld by %lld", (long long)a,
			           (long long)b);
		*y = a / b;
		break;
	case AR_MOD:
	case AR_FMOD:
		if (b == 0)
			return bad(c, DNNQ_E_RANGE, "integer modulo of %lld by 0", (long long)a);
		*y = b == -1 ? 0 : a % b;
		if (op == AR_MOD && *y && (*y < 0) != (b < 0))
			*y += b;
		break;
	case AR_SHL:
	case AR_SHR:        /* bits past the byte gone */
		*y = b >= 8 ? 0 : op == AR_SHL ? (a << b) & 0xff : a >> b;
		break;
	case AR_POW:
		if (b < 0)
			return bad(c, DNNQ_E_RANGE, "integer power %lld ** %lld", (long long)a,
			           (long long)b);
		/* 0, 1 and -1 at once (a file's exponent may be 2^62); any other
		 * base overflows within 63 steps */
		if (b == 0 || a == 0 || a == 1)
			*y = b == 0 ? 1 : a;
		else if (a == -1)
			*y = b & 1 ? -1 : 1;
		else {
			*y = 1;
			for (int64_t e = 0; !ovf && e < b; e++)
				ovf = __builtin_mul_overflow(*y, a, y);
		}
		break;
	case AR_EQUAL: *y = a == b; break;
	case AR_GREATER: *y = a > b; break;
	case AR_LESS: *y = a < b; break;
	case AR_GREATER_EQUAL: *y = a >= b; break;
	case AR_LESS_EQUAL: *y = a <= b; break;
	case AR_MIN: *y = a < b ? a : b; break;
	case AR_MAX: *y = a > b ? a : b; break;
	}
	return ovf ? bad(c, DNNQ_E_RANGE, "%lld and %lld: integer overflow", (long long)a,
	                 (long long)b) : 0;
}

static double arith_f(enum arith op, double a, double b)
{
	switch (op) {
	case AR_ADD: return (float)a + (float)b;
	case AR_SUB: return (float)a - (float)b;
	case AR_MUL: return (float)a * (float)b;
	case AR_DIV: return (float)a / (float)b;
	case AR_MOD:
	case AR_FMOD: {
		float r = fmodf((float)a, (float)b);
		return op == AR_MOD && r != 0 && (r < 0) != (b < 0) ? r + (float)b : r;
	}
	case AR_POW: return powf((float)a, (float)b);
	case AR_GREATER: return a > b;
	case AR_LESS: return a < b;
	case AR_GREATER_EQUAL: return a >= b;
	case AR_LESS_EQUAL: return a <= b;
	case AR_MIN: return isnan(a) || isnan(b) ? NAN : (float)(a < b ? a : b);
	case AR_MAX: return isnan(a) || isnan(b) ? NAN : (float)(a > b ? a : b);
	default: return a == b;
	}
}

static int fold_arith(struct nctx *c, enum arith op)
{
	unsigned dts = op == AR_SHL || op == AR_SHR ? DT(DNNQ_IR_U8) : DT_F32 | DT_INT;
	int rc;
	if ((rc = need(c, 0, dts, true)) || (rc = need(c, 1, dts, true)) ||
	    (rc = same_dtype(c, 0, 1)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	int64_t od[DNNQ_IR_MAX_DIMS];
	uint32_t r;
	if ((rc = broadcast(c, a->dims, a->ndim, b->dims, b->ndim, od, &r)))
		return rc;
	struct walk wa, wb;
	walk_broadcast(&wa, r, od, a);
	walk_broadcast(&wb, r, od, b);
	enum dnnq_ir_dtype dt = arith_bool(op) ? DNNQ_IR_F32 : a->dtype;    /* a bool: 0 or 1 */
	void *data;
	rc = alloc_out(c, dt, r, od, &data);
	for (size_t e = 0; !rc && e < dnnq_ir_numel(&c->out[0], 1); e++) {
		size_t i = walk_next(&wa), j = walk_next(&wb);
		int64_t y = 0;
		if (!is_int(a->dtype))
			rc = putf(c, dt, data, e, arith_f(op, getf(c, a, i), getf(c, b, j)));
		else if (!(rc = arith_int(c, op, geti(c, a, i), geti(c, b, j), &y)))
			rc = is_int(dt) ? puti(c, dt, data, e, y) : putf(c, dt, data, e, (double)y);
	}
	return const_out(c, data, rc, !arith_bool(op) && (c->m->batch[c->in[0]] ||
	                                                  c->m->batch[c->in[1]]));
}

static int fold_add(struct nctx *c) { return fold_arith(c, AR_ADD); }
static int fold_sub(struct nctx *c) { return fold_arith(c, AR_SUB); }
static int fold_mul(struct nctx *c) { return fold_arith(c, AR_MUL); }
static int fold_div(struct nctx *c) { return fold_arith(c, AR_DIV); }
static int fold_equal(struct nctx *c) { return fold_arith(c, AR_EQUAL); }
static int fold_pow(struct nctx *c) { return fold_arith(c, AR_POW); }
static int fold_greater(struct nctx *c) { return fold_arith(c, AR_GREATER); }
static int fold_less(struct nctx *c) { return fold_arith(c, AR_LESS); }
/* a padding mask from lengths, arange(T) >= lengths[:, None] (torchaudio's
 * conformer), once the batch is fixed */
static int fold_greater_equal(struct nctx *c) { return fold_arith(c, AR_GREATER_EQUAL); }
static int fold_less_equal(struct nctx *c) { return fold_arith(c, AR_LESS_EQUAL); }

/* Min and Max of two constants (T5's relative position buckets). */
static int fold_min(struct nctx *c)
{
	return c->nin == 2 ? fold_arith(c, AR_MIN) : IMP_NOT_FOLDED;
}

static int fold_max(struct nctx *c)
{
	return c->nin == 2 ? fold_arith(c, AR_MAX) : IMP_NOT_FOLDED;
}

static float recipf(float f)
{
	return 1.0f / f;
}

/* f of a float constant: Log (T5's relative position buckets: the log of
 * the far ones), Sqrt and Reciprocal (torch 2's scaled_dot_product_attention
 * scales q and k by sqrt(1 / sqrt(dh)), dh from the shape), Exp, Sin and
 * Cos (sinusoidal and rotary position tables of positions made by a
 * Range), the inverse and hyperbolic functions and Tan, Floor and Ceil
 * (SAM's output size from an image size that --input-value freezes:
 * floor(side * 1024 / max(h, w) + 0.5)); libm's float functions, as ONNX
 * Runtime's. */
static float fold_float(const char *op, float f)
{
	static const struct { const char *op; float (*f)(float); } fns[] = {
		{ "Log", logf }, { "Sqrt", sqrtf }, { "Reciprocal", recipf }, { "Exp", expf },
		{ "Sin", sinf }, { "Cos", cosf }, { "Tan", tanf }, { "Atan", atanf },
		{ "Asin", asinf }, { "Acos", acosf }, { "Sinh", sinhf }, { "Cosh", coshf },
		{ "Asinh", asinhf }, { "Acosh", acoshf }, { "Atanh", atanhf },
		{ "Floor", floorf }, { "Ceil", ceilf },
	};
	size_t k = 0;
	while (strcmp(op, fns[k].op))
		k++;
	return fns[k].f(f);
}

/* Abs, Neg of a constant, and the fold_float functions of a float one
 * (T5's relative position buckets: abs of the distances). */
static int fold_unary(struct nctx *c)
{
	const char *op = c->np->op_type;
	bool fl = strcmp(op, "Abs") && strcmp(op, "Neg"), neg = !strcmp(op, "Neg");
	int rc = need(c, 0, fl ? DT_F32 : DT_F32 | DT_INT, true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	void *data;
	rc = alloc_out(c, x->dtype, x->ndim, x->dims, &data);
	for (size_t i = 0; !rc && i < dnnq_ir_numel(x, 1); i++) {
		if (!is_int(x->dtype)) {
			float f = (float)getf(c, x, i);
			rc = putf(c, x->dtype, data, i, fl ? fold_float(op, f) : neg ? -f : fabsf(f));
			continue;
		}
		int64_t v = geti(c, x, i);
		if (v == IMP_BATCH)
			rc = batch_refused(c);
		else if (v == INT64_MIN)
			rc = bad(c, DNNQ_E_RANGE, "%s of %lld: integer overflow", op, (long long)v);
		else
			rc = puti(c, x->dtype, data, i, neg || v < 0 ? -v : v);
	}
	return const_out(c, data, rc, false);
}

/* ReduceProd, ReduceSum, ReduceMax and ReduceMin of a constant: torch's
 * x.var() counts the reduced elements as ReduceProd(Gather(Shape(x),
 * axes)), the count the Div of the variance reads (SpeechBrain's
 * ECAPA-TDNN pooling); SAM's decoder scales to the longest side of an
 * image size --input-value freezes (ReduceMax). Axes an attribute, or
 * input 1 (ReduceSum from opset 13, the others from 18); none: every axis,
 * or nothing with noop_with_empty_axes. Integers in int64 (refused past
 * +-2^62), floats in double; a float max or min is the first element,
 * then a later larger or smaller one, as the engine's (a NaN first stays,
 * other NaNs are passed over; ONNX Runtime 1.31's depends on where the NaN
 * stands and the row's length: ReduceMax of [1, NaN, 3] is 3, of [15, 16,
 * NaN, 18, 19] 18, docs/onnx.md "NaN in the maxima"); the max or min of no
 * elements is refused for integers (ONNX's lowest or highest value;
 * INT64_MIN reads as the batch here). */
static int fold_reduce(struct nctx *c)
{
	const char *op = c->np->op_type;
	bool prod = !strcmp(op, "ReduceProd"), max = !strcmp(op, "ReduceMax"),
	     min = !strcmp(op, "ReduceMin");
	int64_t keep, noop, ax[DNNQ_IR_MAX_DIMS];
	const int64_t *aa = NULL;
	ptrdiff_t na = -1;
	size_t n = 0;
	int rc = need(c, 0, DT_F32 | DT_INT, true);
	if (rc || (rc = a_int(c, "keepdims", 1, &keep)) ||
	    (rc = a_int(c, "noop_with_empty_axes", 0, &noop)) || (rc = a_ints(c, "axes", &aa, &na)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (c->nin > 1 && V(c, 1) && (rc = int_list(c, 1, DNNQ_IR_MAX_DIMS, ax, &n)))
		return rc;
	/* axes in both places (a file's, not ONNX's) must fit ax together */
	if (na > DNNQ_IR_MAX_DIMS - (ptrdiff_t)n)
		return bad(c, DNNQ_E_SHAPE, "%zu axes for rank %u", n + (size_t)na, x->ndim);
	for (ptrdiff_t i = 0; i < na; i++)
		ax[n++] = aa[i];
	if ((!n && noop) || (noop != 0 && noop != 1))
		return IMP_NOT_FOLDED;      /* the operator's own rule: the input, or refused */
	bool red[DNNQ_IR_MAX_DIMS] = { false };
	for (size_t i = 0; i < n; i++) {
		int64_t a = ax[i] < 0 ? ax[i] + x->ndim : ax[i];
		if (a < 0 || a >= x->ndim)
			return bad(c, DNNQ_E_RANGE, "axis %lld out of range for rank %u",
			           (long long)ax[i], x->ndim);
		red[a] = true;
	}
	int64_t od[DNNQ_IR_MAX_DIMS];
	uint32_t r = 0;
	for (uint32_t d = 0; d < x->ndim; d++)
		if (!n || red[d]) {
			red[d] = true;
			if (keep)
				od[r++] = 1;
		} else {
			od[r++] = x->dims[d];
		}
	/* the result's size checked (and counted as constants) before the
	 * sums are: a [0, 2^31, 2^30] constant, no bytes in the file, summed
	 * over dim 0 has 2^61 of them */
	void *data = NULL;
	if ((rc = alloc_out(c, x->dtype, r, od, &data)))
		return rc;
	size_t on = dnnq_ir_numel(&c->out[0], 1), xn = dnnq_ir_numel(x, 1);
	/* integers in int64, not doubles: past 2^53 a double's sum or product
	 * is not the integer (3^34 came out one less) */
	union { double f; int64_t i; } *acc = malloc((on ? on : 1) * sizeof *acc);
	if (!acc)
		return const_out(c, data, DNNQ_E_NOMEM, false);
	if ((max || min) && is_int(x->dtype) && on && !xn) {
		free(acc);
		return const_out(c, data, bad(c, DNNQ_E_RANGE, "%s of no integers", op), false);
	}
	for (size_t o = 0; o < on; o++) {
		if (is_int(x->dtype))
			acc[o].i = max ? INT64_MIN : min ? INT64_MAX : prod;
		else
			acc[o].f = max ? -INFINITY : min ? INFINITY : prod;
	}
	for (size_t e = 0; !rc && e < xn; e++) {
		size_t rem = e, o = 0, scale = 1;  /* e's output: its kept coordinates */
		bool first = true;                  /* o's first element */
		for (uint32_t d = x->ndim; d-- > 0;) {
			size_t k = rem % (size_t)x->dims[d];
			rem /= (size_t)x->dims[d];
			first = first && (red[d] ? !k : true);
			if (!red[d]) {
				o += k * scale;
				scale *= (size_t)x->dims[d];
			}
		}
		if (!is_int(x->dtype)) {
			double v = getf(c, x, e), a = acc[o].f;
			if (max || min)
				acc[o].f = first || (max ? v > a : v < a) ? v : a;
			else
				acc[o].f = prod ? a * v : a + v;
			continue;
		}
		int64_t v = geti(c, x, e), t;
		if (v == IMP_BATCH) {
			rc = batch_refused(c);
			break;
		}
		if (max || min) {
			acc[o].i = max ? (v > acc[o].i ? v : acc[o].i) : (v < acc[o].i ? v : acc[o].i);
			continue;
		}
		if ((prod ? __builtin_mul_overflow(acc[o].i, v, &t)
		          : __builtin_add_overflow(acc[o].i, v, &t)) ||
		    t >= INT64_C(1) << 62 || t <= -(INT64_C(1) << 62))
			rc = bad(c, DNNQ_E_RANGE, "the %s passes 2^62", prod ? "product" : "sum");
		acc[o].i = t;
	}
	for (size_t o = 0; !rc && o < on; o++)
		rc = is_int(x->dtype) ? puti(c, x->dtype, data, o, acc[o].i)
		                      : putf(c, x->dtype, data, o, acc[o].f);
	free(acc);
	return const_out(c, data, rc, false);
}

#define FOLD_MATMUL_MAX ((size_t)1 << 28)   /* multiply-adds: a second or so */

/* Element offset of batch index e (over the broadcast batch dims ob, rank
 * r) in an operand whose batch dims are d (rank rd <= r) of m x k matrices. */
static size_t mm_at(size_t e, const int64_t *ob, uint32_t r, const int64_t *d, uint32_t rd,
                    size_t mk)
{
	size_t off = 0, stride = mk;
	for (uint32_t j = r; j-- > 0;) {
		size_t i = e % (size_t)ob[j];
		e /= (size_t)ob[j];
		if (j + rd < r)
			continue;
		int64_t dim = d[j + rd - r];
		off += (dim == 1 ? 0 : i) * stride;
		stride *= (size_t)dim;
	}
	return off;
}

/* MatMul of two constants (ESPnet's relative position encoding: the
 * constant table by the linear_pos weight), NumPy's rules: a 1-D operand
 * a row or column that leaves the result, the batch dims broadcast.
 * Floats in double, integers exact (refused past 2^53); past
 * FOLD_MATMUL_MAX multiply-adds it stays the operator's. */
static int fold_matmul(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32 | DT_INT, true)) || (rc = need(c, 1, DT_F32 | DT_INT, true)) ||
	    (rc = same_dtype(c, 0, 1)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	if (!a->ndim || !b->ndim)
		return bad(c, DNNQ_E_SHAPE, "a scalar operand: MatMul wants rank >= 1");
	int64_t ad[DNNQ_IR_MAX_DIMS + 1] = { 1 }, bd[DNNQ_IR_MAX_DIMS + 1] = { 0, 1 },
		ob[DNNQ_IR_MAX_DIMS], od[DNNQ_IR_MAX_DIMS];
	uint32_t ra = a->ndim + (a->ndim == 1), rb = b->ndim + (b->ndim == 1), r;
	memcpy(ad + (a->ndim == 1), a->dims, a->ndim * sizeof *ad);    /* [K] as [1, K] */
	memcpy(bd, b->dims, b->ndim * sizeof *bd);                      /* [K] as [K, 1] */
	int64_t M = ad[ra - 2], K = ad[ra - 1], N = bd[rb - 1];
	if (bd[rb - 2] != K)
		return bad(c, DNNQ_E_SHAPE, "A [%s] and B [%s] do not chain", imp_dims_str(a),
		           imp_dims_str(b));
	if ((rc = broadcast(c, ad, ra - 2, bd, rb - 2, ob, &r)))
		return rc;
	size_t nb = 1, or = 0;
	for (uint32_t j = 0; j < r; j++) {
		nb *= (size_t)ob[j];
		od[or++] = ob[j];
	}
	if (a->ndim > 1)
		od[or++] = M;
	if (b->ndim > 1)
		od[or++] = N;
	if (nb * (size_t)(M * N) * (size_t)K > FOLD_MATMUL_MAX)
		return IMP_NOT_FOLDED;
	void *data;
	if ((rc = alloc_out(c, a->dtype, (uint32_t)or, od, &data)))
		return rc;
	for (size_t e = 0; !rc && e < nb; e++) {
		size_t pa = mm_at(e, ob, r, ad, ra - 2, (size_t)(M * K));
		size_t pb = mm_at(e, ob, r, bd, rb - 2, (size_t)(K * N));
		for (int64_t i = 0; !rc && i < M; i++)
			for (int64_t j = 0; !rc && j < N; j++) {
				size_t at = (e * (size_t)M + (size_t)i) * (size_t)N + (size_t)j;
				double acc = 0;
				for (int64_t k = 0; !rc && k < K; k++) {
					size_t ia = pa + (size_t)(i * K + k), ib = pb + (size_t)(k * N + j);
					if (is_int(a->dtype) && (geti(c, a, ia) == IMP_BATCH ||
					                         geti(c, b, ib) == IMP_BATCH))
						rc = batch_refused(c);
					double p = getf(c, a, ia) * getf(c, b, ib);
					acc += p;
					/* every step, not only the result: a product or a
					 * partial sum past 2^53 rounds, and a later term
					 * may bring the sum back below */
					if (!rc && is_int(a->dtype) &&
					    !(fabs(p) < 0x1p53 && fabs(acc) < 0x1p53))
						rc = bad(c, DNNQ_E_RANGE, "element %zu passes 2^53",
						         at);
				}
				if (!rc)
					rc = putf(c, a->dtype, data, at, acc);
			}
	}
	return const_out(c, data, rc, false);
}

/* Not on a bool (the IR's float 0 or 1): an If's condition from Equal. */
static int fold_not(struct nctx *c)
{
	int rc = need(c, 0, DT_F32, true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	void *data;
	rc = alloc_out(c, DNNQ_IR_F32, x->ndim, x->dims, &data);
	for (size_t i = 0; !rc && i < dnnq_ir_numel(x, 1); i++)
		((float *)data)[i] = ((const float *)x->data)[i] == 0;
	return const_out(c, data, rc, false);
}

/* NonZero of a constant (a mask or a table a model carries): the int64
 * [rank, count] indices of its nonzero elements in row-major order, as
 * ONNX Runtime; of a computed value its shape would depend on the values
 * (unsupported_why in onnx/import-ops.c says so). */
static int fold_nonzero(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	size_t n = dnnq_ir_numel(x, 1), count = 0;
	if (!x->ndim)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' is a scalar: want rank 1 or more",
		           iname(c, 0));
	for (size_t i = 0; i < n; i++) {
		if (is_int(x->dtype) && geti(c, x, i) == IMP_BATCH)
			return batch_refused(c);
		count += getf(c, x, i) != 0;
	}
	int64_t d[2] = { x->ndim, (int64_t)count };
	void *data;
	rc = alloc_out(c, DNNQ_IR_S64, 2, d, &data);
	for (size_t i = 0, k = 0; !rc && i < n; i++) {
		if (getf(c, x, i) == 0)
			continue;
		size_t q = i;
		for (uint32_t a = x->ndim; a-- > 0; q /= (size_t)x->dims[a])
			((int64_t *)data)[a * count + k] = (int64_t)(q % (size_t)x->dims[a]);
		k++;
	}
	return const_out(c, data, rc, false);
}

static int fold_where(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, true)) || (rc = need(c, 1, DT_ANY, true)) ||
	    (rc = need(c, 2, DT_ANY, true)) || (rc = same_dtype(c, 1, 2)))
		return rc;
	const struct dnnq_ir_value *v[3] = { V(c, 0), V(c, 1), V(c, 2) };
	int64_t od[DNNQ_IR_MAX_DIMS], t[DNNQ_IR_MAX_DIMS];
	uint32_t r, rt;
	if ((rc = broadcast(c, v[0]->dims, v[0]->ndim, v[1]->dims, v[1]->ndim, t, &rt)) ||
	    (rc = broadcast(c, t, rt, v[2]->dims, v[2]->ndim, od, &r)))
		return rc;
	struct walk w[3];
	for (int k = 0; k < 3; k++)
		walk_broadcast(&w[k], r, od, v[k]);
	void *data;
	size_t es = dnnq_ir_dtype_size(v[1]->dtype);
	rc = alloc_out(c, v[1]->dtype, r, od, &data);
	for (size_t e = 0; !rc && e < dnnq_ir_numel(&c->out[0], 1); e++) {
		size_t at[3] = { walk_next(&w[0]), walk_next(&w[1]), walk_next(&w[2]) };
		int k = ((const float *)v[0]->data)[at[0]] != 0 ? 1 : 2;
		memcpy((char *)data + e * es, (const char *)v[k]->data + at[k] * es, es);
	}
	return const_out(c, data, rc, c->m->batch[c->in[1]] || c->m->batch[c->in[2]]);
}

/* Trilu of a constant (CLIP's causal mask, torch.full(...).triu_(1)): the
 * elements of the upper (lower) triangle of the last two dims from
 * diagonal k kept, the others 0. */
static int fold_trilu(struct nctx *c)
{
	int64_t k = 0;
	bool upper;
	int rc = need(c, 0, DT_ANY, true);
	if (!rc && V(c, 1) && !(rc = need(c, 1, DT_INT, true)) && dnnq_ir_numel(V(c, 1), 1) != 1)
		rc = bad(c, DNNQ_E_SHAPE, "k has %zu elements, not 1", dnnq_ir_numel(V(c, 1), 1));
	if (rc || (rc = a_bool(c, "upper", true, &upper)))
		return rc;
	if (V(c, 1))
		k = geti(c, V(c, 1), 0);
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 2)
		return bad(c, DNNQ_E_SHAPE, "input of rank %u: a matrix or more expected", x->ndim);
	void *data;
	size_t es = dnnq_ir_dtype_size(x->dtype), n = dnnq_ir_numel(x, 1);
	int64_t rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
	rc = alloc_out(c, x->dtype, x->ndim, x->dims, &data);
	for (size_t e = 0; !rc && e < n; e++) {
		int64_t j = (int64_t)(e % (size_t)cols), i = (int64_t)(e / (size_t)cols % (size_t)rows);
		bool keep = upper ? j - i >= k : j - i <= k;
		if (keep)
			memcpy((char *)data + e * es, (const char *)x->data + e * es, es);
		else
			memset((char *)data + e * es, 0, es);
	}
	return const_out(c, data, rc, false);
}

/* OneHot of constants (torch's repeat_interleave by a static count, as
 * SAM's mask decoder exports it: OneHot([1], 5, [1, n]) is a Tile's
 * repeats). Indices of any type, truncated (as ONNX Runtime casts them);
 * an index in [-depth, 0) counts from the end, one outside [-depth,
 * depth) gives a row of off values; the output is values' type. A computed
 * OneHot is op_onehot's (onnx/import-ops.c). */
static int fold_onehot(struct nctx *c)
{
	int64_t axis;
	int rc;
	if ((rc = need(c, 0, DT_ANY, true)) || (rc = need(c, 1, DT_ANY, true)) ||
	    (rc = need(c, 2, DT_ANY, true)) || (rc = a_int(c, "axis", -1, &axis)))
		return rc;
	const struct dnnq_ir_value *ix = V(c, 0), *dv = V(c, 1), *vv = V(c, 2);
	if (dnnq_ir_numel(dv, 1) != 1 || dnnq_ir_numel(vv, 1) != 2)
		return bad(c, DNNQ_E_SHAPE, "depth [%s] and values [%s]: one value and two "
		           "([off, on]) expected", imp_dims_str(dv), imp_dims_str(vv));
	if (c->m->batch[c->in[0]] || c->m->batch[c->in[1]])
		return batch_refused(c);
	double depth = getf(c, dv, 0);
	if (!(depth >= 1 && depth <= IMP_MAX_DIM))
		return bad(c, DNNQ_E_RANGE, "depth %g: want 1..%lld", depth, (long long)IMP_MAX_DIM);
	uint32_t r = ix->ndim + 1;
	if (r > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices [%s]: want rank < %d", imp_dims_str(ix),
		           DNNQ_IR_MAX_DIMS);
	if ((rc = norm_axis(c, &axis, r, "axis")))
		return rc;
	int64_t t = (int64_t)depth, d[DNNQ_IR_MAX_DIMS];
	size_t outer = 1, inner = 1, es = dnnq_ir_dtype_size(vv->dtype);
	for (uint32_t k = 0; k < r; k++) {
		d[k] = k < axis ? ix->dims[k] : k == axis ? t : ix->dims[k - 1];
		if (k < axis)
			outer *= (size_t)d[k];
		else if (k > axis)
			inner *= (size_t)d[k];
	}
	void *data;
	if ((rc = alloc_out(c, vv->dtype, r, d, &data)))
		return rc;
	char *o = data;
	for (size_t a = 0; a < outer; a++)
		for (int64_t j = 0; j < t; j++)
			for (size_t i = 0; i < inner; i++, o += es) {
				double x = trunc(getf(c, ix, a * inner + i));
				bool on = x == (double)j || x == (double)(j - t);
				memcpy(o, (const char *)vv->data + (on ? es : 0), es);
			}
	return const_out(c, data, 0, c->m->batch[c->in[2]]);
}

int imp_fold_where(struct nctx *c)
{
	return fold_where(c);
}

/* Transpose of a constant (torch's reflect padding transposes its pad
 * amounts): the elements permuted by perm (default: the dims reversed). */
static int fold_transpose(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const int64_t *perm;
	ptrdiff_t np;
	int rc = a_ints(c, "perm", &perm, &np);
	if (rc)
		return rc;
	int64_t p[DNNQ_IR_MAX_DIMS], od[DNNQ_IR_MAX_DIMS];
	size_t st[DNNQ_IR_MAX_DIMS], os = 1;
	bool seen[DNNQ_IR_MAX_DIMS] = { false };
	if (np >= 0 && (size_t)np != x->ndim)
		return bad(c, DNNQ_E_SHAPE, "perm has %td entries for rank %u", np, x->ndim);
	for (uint32_t i = x->ndim; i-- > 0;) {
		p[i] = np >= 0 ? perm[i] : (int64_t)(x->ndim - 1 - i);
		st[i] = os;                     /* x's row-major strides */
		os *= (size_t)x->dims[i];
	}
	for (uint32_t i = 0; i < x->ndim; i++) {
		if (p[i] < 0 || p[i] >= x->ndim || seen[p[i]])
			return bad(c, DNNQ_E_RANGE, "perm[%u] = %lld: not a permutation of 0..%u", i,
			           (long long)p[i], x->ndim - 1);
		seen[p[i]] = true;
		od[i] = x->dims[p[i]];
	}
	void *data;
	size_t es = dnnq_ir_dtype_size(x->dtype), n = dnnq_ir_numel(x, 1);
	rc = alloc_out(c, x->dtype, x->ndim, od, &data);
	for (size_t e = 0; !rc && e < n; e++) {
		size_t rem = e, src = 0;
		for (uint32_t i = x->ndim; i-- > 0;) {
			src += rem % (size_t)od[i] * st[p[i]];
			rem /= (size_t)od[i];
		}
		memcpy((char *)data + e * es, (const char *)x->data + src * es, es);
	}
	return const_out(c, data, rc, c->m->batch[c->in[0]]);
}

/* ---- Pad: removed when zero, merged into a Conv or AveragePool when it can ----------- */

static bool attr_int_is(const Onnx__NodeProto *np, const char *name, int64_t want)
{
	const Onnx__AttributeProto *a = imp_attr(np, name);
	return a ? a->has_i && a->i == want : want == 0;
}

/* Mod on constants (the shape arithmetic of padded windows, Swin's) */
static int fold_mod(struct nctx *c)
{
	return fold_arith(c, attr_int_is(c->np, "fmod", 1) ? AR_FMOD : AR_MOD);
}

/* BitShift of uint8 constants (a quantizer's int4 weights, two to a byte,
 * are unpacked so): x << y or x >> y as uint8 arithmetic, bits shifted
 * past the byte gone (a shift of 8 or more gives 0), broadcasting. The
 * IR has no wider unsigned type; a computed input is refused as an
 * unsupported operator (onnx/import-ops.c unsupported_why). */
static int fold_bitshift(struct nctx *c)
{
	char dir[8];
	int rc;
	if ((rc = a_str(c, "direction", "", dir, sizeof dir)))
		return rc;
	bool left = !strcmp(dir, "LEFT");
	if (!left && strcmp(dir, "RIGHT"))
		return bad(c, DNNQ_E_RANGE, "direction '%s': LEFT or RIGHT expected", dir);
	return fold_arith(c, left ? AR_SHL : AR_SHR);
}

static bool graph_reads(const Onnx__GraphProto *g, const char *name);

/* Whether a subgraph of node np (an If's branch, a Loop's body) reads
 * `name`, an outer value. */
static bool sub_reads(const Onnx__NodeProto *np, const char *name)
{
	for (size_t a = 0; a < np->n_attribute; a++) {
		const Onnx__AttributeProto *at = np->attribute[a];
		if (at && at->g && graph_reads(at->g, name))
			return true;
		for (size_t k = 0; at && k < at->n_graphs; k++)
			if (at->graphs[k] && graph_reads(at->graphs[k], name))
				return true;
	}
	return false;
}

static bool graph_reads(const Onnx__GraphProto *g, const char *name)
{
	for (size_t i = 0; i < g->n_output; i++)
		if (g->output[i] && g->output[i]->name && !strcmp(g->output[i]->name, name))
			return true;
	for (size_t j = 0; j < g->n_node; j++) {
		const Onnx__NodeProto *np = g->node[j];
		for (size_t k = 0; np && k < np->n_input; k++)
			if (np->input[k] && !strcmp(np->input[k], name))
				return true;
		if (np && sub_reads(np, name))
			return true;
	}
	return false;
}

const Onnx__NodeProto *imp_only_reader(struct imp *m, const char *name, size_t index,
                                       size_t *at)
{
	const Onnx__NodeProto *r = NULL;
	for (size_t i = 0; i < m->g->n_output; i++)
		if (m->g->output[i] && m->g->output[i]->name && !strcmp(m->g->output[i]->name, name))
			return NULL;
	for (size_t j = 0; j < m->g->n_node; j++) {     /* the file's order need not be the walk's */
		const Onnx__NodeProto *np = j != index ? m->g->node[j] : NULL;
		if (np && sub_reads(np, name))
			return NULL;
		for (size_t k = 0; np && k < np->n_input; k++) {
			if (!np->input[k] || strcmp(np->input[k], name))
				continue;
			if (r || k)
				return NULL;
			r = np;
			*at = j;
		}
	}
	return r;
}

/* Whether reader takes extra zero padding in its own pads: a Conv, or an
 * AveragePool that counts padding (or has none of its own) without
 * ceil_mode; explicit pads only (no auto_pad). */
static bool takes_pads(const Onnx__NodeProto *r)
{
	const Onnx__AttributeProto *ap = imp_attr(r, "auto_pad");
	if (ap && !(ap->has_s && (!ap->s.len || (ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6)))))
		return false;
	if (r->domain && *r->domain && strcmp(r->domain, "ai.onnx"))
		return false;
	if (r->op_type && !strcmp(r->op_type, "Conv"))
		return true;
	if (!r->op_type || strcmp(r->op_type, "AveragePool") || !attr_int_is(r, "ceil_mode", 0))
		return false;
	if (attr_int_is(r, "count_include_pad", 1))
		return true;
	const Onnx__AttributeProto *p = imp_attr(r, "pads");
	for (size_t i = 0; p && i < p->n_ints; i++)
		if (p->ints[i])
			return false;
	return true;
}

/* Pad's pads (begin[r], end[r]) and constant value: attributes before
 * opset 11, inputs after (with axes from opset 18). */
static int pad_args(struct nctx *c, int64_t *pb, int64_t *pe, double *value)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t p[2 * DNNQ_IR_MAX_DIMS], axes[DNNQ_IR_MAX_DIMS];
	size_t n, na = x->ndim;
	int rc;
	*value = 0;
	if (c->m->opset < 11) {
		const int64_t *v;
		ptrdiff_t k;
		float f;
		if ((rc = a_ints(c, "pads", &v, &k)) || (rc = a_float(c, "value", 0, &f)))
			return rc;
		n = k < 0 ? 0 : (size_t)k;
		if (n > 2 * DNNQ_IR_MAX_DIMS)
			return bad(c, DNNQ_E_SHAPE, "attribute 'pads' has %zu values", n);
		if (n)
			memcpy(p, v, n * sizeof *v);
		*value = f;
	} else {
		if ((rc = int_list(c, 1, 2 * DNNQ_IR_MAX_DIMS, p, &n)))
			return rc;
		if (V(c, 2)) {
			if ((rc = need(c, 2, DT_F32 | DT_INT | DT_Q8, true)))
				return rc;
			*value = getf(c, V(c, 2), 0);
		}
		if (V(c, 3) && (rc = int_list(c, 3, DNNQ_IR_MAX_DIMS, axes, &na)))
			return rc;
	}
	for (size_t i = 0; i < na; i++)
		axes[i] = V(c, 3) ? axes[i] : (int64_t)i;
	if (n != 2 * na)
		return bad(c, DNNQ_E_SHAPE, "%zu pads for %zu axes", n, na);
	for (uint32_t k = 0; k < x->ndim; k++)
		pb[k] = pe[k] = 0;
	for (size_t i = 0; i < na; i++) {
		if ((rc = norm_axis(c, &axes[i], x->ndim, "axis")))
			return rc;
		pb[axes[i]] = p[i];
		pe[axes[i]] = p[na + i];
	}
	return 0;
}

static int fold_pad(struct nctx *c)
{
	char mode[16];
	int64_t pb[DNNQ_IR_MAX_DIMS], pe[DNNQ_IR_MAX_DIMS];
	double value;
	int rc;
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = a_str(c, "mode", "constant", mode, sizeof mode)) ||
	    (rc = pad_args(c, pb, pe, &value)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	/* the alias below names what x does: integers stay integers (docs/onnx.md,
	 * "Token ids"), as the operator table's nodes mark theirs */
	c->ints = imp_is_int(c->m, iname(c, 0));
	bool zero = true, spatial = x->ndim == 4 && !pb[0] && !pb[1] && !pe[0] && !pe[1];
	for (uint32_t k = 0; k < x->ndim; k++) {
		zero &= !pb[k] && !pe[k];
		spatial &= pb[k] >= 0 && pe[k] >= 0 && pb[k] <= IMP_MAX_DIM && pe[k] <= IMP_MAX_DIM;
	}
	if (zero)
		return pass_through(c);
	size_t at = 0;
	const Onnx__NodeProto *r = imp_only_reader(c->m, c->np->output[0], c->index, &at);
	if (strcmp(mode, "constant") || value != 0 || !spatial || !r || !takes_pads(r))
		return IMP_NOT_FOLDED;
	struct imp *m = c->m;
	if (dnnq_ir_grow((void **)&m->pads, &m->pcap, m->npads, sizeof *m->pads))
		return DNNQ_E_NOMEM;
	m->pads[m->npads++] = (struct imp_pad){ m->g, at, { pb[2], pb[3], pe[2], pe[3] } };
	c->alias = c->in[0];
	c->merged = true;
	return 0;
}

bool imp_bn_folded(const struct imp *m, size_t index)
{
	for (size_t i = 0; i < m->nbn_folded; i++)
		if (m->bn_folded[i].g == m->g && m->bn_folded[i].node == index)
			return true;
	return false;
}

void imp_merged_pads(struct imp *m, size_t index, int64_t pads[4])
{
	memset(pads, 0, 4 * sizeof *pads);
	for (size_t i = 0; i < m->npads; i++)
		if (m->pads[i].g == m->g && m->pads[i].reader == index)
			memcpy(pads, m->pads[i].pads, 4 * sizeof *pads);
}

/* ---- the table ------------------------------------------------------------------------ */

static const struct imp_fold FOLDS[] = {
	{ "Shape", fold_shape, 1, 1, IMP_ANY_INPUT },
	{ "Size", fold_size, 1, 1, IMP_ANY_INPUT },
	{ "Cast", fold_cast, 1, 1, IMP_ANY_INPUT },
	{ "CastLike", fold_cast, 2, 2, IMP_ANY_INPUT },
	{ "Pad", fold_pad, 1, 4, 1 },
	{ "Gather", fold_gather, 2, 2, 0 },
	{ "ScatterND", fold_scatternd, 3, 3, 0 },
	{ "ScatterElements", fold_scatterelements, 3, 3, 0 },
	{ "Slice", fold_slice, 1, 5, 0 },
	{ "Concat", fold_concat, 1, IMP_MAX_NODE_INPUTS, 0 },
	{ "Split", fold_split, 1, 2, 0 },
	{ "Expand", fold_expand, 2, 2, 0 },
	{ "Range", fold_range, 3, 3, 0 },
	{ "ConstantOfShape", fold_constantofshape, 1, 1, 0 },
	{ "Add", fold_add, 2, 2, 0 },
	{ "Sub", fold_sub, 2, 2, 0 },
	{ "Mul", fold_mul, 2, 2, 0 },
	{ "Div", fold_div, 2, 2, 0 },
	{ "Mod", fold_mod, 2, 2, 0 },
	{ "Pow", fold_pow, 2, 2, 0 },
	{ "Equal", fold_equal, 2, 2, 0 },
	{ "Greater", fold_greater, 2, 2, 0 },
	{ "Less", fold_less, 2, 2, 0 },
	{ "GreaterOrEqual", fold_greater_equal, 2, 2, 0 },
	{ "LessOrEqual", fold_less_equal, 2, 2, 0 },
	{ "Min", fold_min, 1, 2, 0 },
	{ "Max", fold_max, 1, 2, 0 },
	{ "Abs", fold_unary, 1, 1, 0 },
	{ "Neg", fold_unary, 1, 1, 0 },
	{ "Log", fold_unary, 1, 1, 0 },
	{ "Sqrt", fold_unary, 1, 1, 0 },
	{ "Reciprocal", fold_unary, 1, 1, 0 },
	{ "Exp", fold_unary, 1, 1, 0 },
	{ "Sin", fold_unary, 1, 1, 0 },
	{ "Cos", fold_unary, 1, 1, 0 },
	{ "Tan", fold_unary, 1, 1, 0 },
	{ "Atan", fold_unary, 1, 1, 0 },
	{ "Asin", fold_unary, 1, 1, 0 },
	{ "Acos", fold_unary, 1, 1, 0 },
	{ "Sinh", fold_unary, 1, 1, 0 },
	{ "Cosh", fold_unary, 1, 1, 0 },
	{ "Asinh", fold_unary, 1, 1, 0 },
	{ "Acosh", fold_unary, 1, 1, 0 },
	{ "Atanh", fold_unary, 1, 1, 0 },
	{ "Floor", fold_unary, 1, 1, 0 },
	{ "Ceil", fold_unary, 1, 1, 0 },
	{ "Not", fold_not, 1, 1, 0 },
	{ "NonZero", fold_nonzero, 1, 1, 0 },
	{ "BitShift", fold_bitshift, 2, 2, 0 },
	{ "ReduceProd", fold_reduce, 1, 2, 0 },
	{ "MatMul", fold_matmul, 2, 2, 0 },
	{ "ReduceSum", fold_reduce, 1, 2, 0 },
	{ "ReduceMax", fold_reduce, 1, 2, 0 },
	{ "ReduceMin", fold_reduce, 1, 2, 0 },
	{ "Transpose", fold_transpose, 1, 1, 0 },
	{ "Trilu", fold_trilu, 1, 2, 0 },
	{ "Where", fold_where, 3, 3, 0 },
	{ "OneHot", fold_onehot, 3, 3, 0 },
};

const struct imp_fold *imp_fold_find(const char *op_type)
{
	for (size_t i = 0; i < sizeof FOLDS / sizeof FOLDS[0]; i++)
		if (!strcmp(FOLDS[i].name, op_type))
			return &FOLDS[i];
	return NULL;
}

size_t imp_fold_outputs(const struct imp_fold *f)
{
	return f->fn == fold_split ? DNNQ_IR_MAX_OUTPUTS : 1;
}
