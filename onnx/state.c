/*
 * onnx/state.c — a stateful model's state links (onnx/calib.h): which
 * graph output feeds which graph input at the next step, named
 * (dnnq-convert --state OUT=IN) or detected by names and shapes, and
 * confirmed by the calibration samples (docs/models.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/calib.h"

/* Whether graph output o can feed graph input i: both float32, the same
 * shape per sample. */
static bool same_shape(const struct dnnq_ir_value *o, const struct dnnq_ir_value *i)
{
	return o->dtype == DNNQ_IR_F32 && i->dtype == DNNQ_IR_F32 && o->ndim == i->ndim &&
	       o->batched == i->batched && !memcmp(o->dims, i->dims, o->ndim * sizeof *o->dims);
}

/* "2x1x128": v's shape per sample, in buf. */
static const char *shape_str(const struct dnnq_ir_value *v, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	for (uint32_t d = v->batched; d < v->ndim && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, "%s%lld", k ? "x" : "", (long long)v->dims[d]);
	if (!buf[0])
		snprintf(buf, len, "a scalar");
	return buf;
}

/* The index of the graph value named name among ids (n of them), or -1. */
static long find(const struct dnnq_ir *ir, const int32_t *ids, size_t n, const char *name,
                 size_t len)
{
	for (size_t k = 0; k < n; k++)
		if (strlen(ir->values[ids[k]].name) == len && !strncmp(ir->values[ids[k]].name, name, len))
			return (long)k;
	return -1;
}

/* "'a', 'b'": the names of ids, for a message. */
static const char *names(const struct dnnq_ir *ir, const int32_t *ids, size_t n, char *buf,
                         size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s'%s'", i ? ", " : "",
		                      ir->values[ids[i]].name);
	return buf;
}

int dnnq_onnx_state_parse(const struct dnnq_ir *ir, const char *spec,
                          struct dnnq_onnx_state *s, struct dnnq_diag *diag)
{
	const char *eq = strchr(spec, '=');
	char list[512], a[64], b[64];
	if (!eq)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "--state %s: not OUT=IN (a graph output, the"
		                     " graph input it feeds at the next step)", spec);
	/* a name may hold '=': the first split that names an output and an input */
	for (const char *e = eq; e; e = strchr(e + 1, '=')) {
		long o = find(ir, ir->outputs, ir->noutputs, spec, (size_t)(e - spec));
		long i = find(ir, ir->inputs, ir->ninputs, e + 1, strlen(e + 1));
		if (o >= 0 && i >= 0) {
			eq = e;
			break;
		}
	}
	long o = find(ir, ir->outputs, ir->noutputs, spec, (size_t)(eq - spec));
	long i = find(ir, ir->inputs, ir->ninputs, eq + 1, strlen(eq + 1));
	if (o < 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "--state %s: no graph output '%.*s' (the "
		                     "outputs: %s)", spec, (int)(eq - spec), spec,
		                     names(ir, ir->outputs, ir->noutputs, list, sizeof list));
	if (i < 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "--state %s: no graph input '%s' (the "
		                     "inputs: %s)", spec, eq + 1,
		                     names(ir, ir->inputs, ir->ninputs, list, sizeof list));
	const struct dnnq_ir_value *ov = &ir->values[ir->outputs[o]];
	const struct dnnq_ir_value *iv = &ir->values[ir->inputs[i]];
	if (!same_shape(ov, iv))
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "--state %s: output '%s' (%s %s) cannot feed "
		                     "input '%s' (%s %s): a state is float32 of one shape",
		                     spec, ov->name, dnnq_ir_dtype_name(ov->dtype),
		                     shape_str(ov, a, sizeof a), iv->name,
		                     dnnq_ir_dtype_name(iv->dtype), shape_str(iv, b, sizeof b));
	*s = (struct dnnq_onnx_state){ (size_t)i, (size_t)o, false, NAN };
	return DNNQ_OK;
}

size_t dnnq_onnx_state_detect(const struct dnnq_ir *ir, struct dnnq_onnx_state *s, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ir->ninputs && n < max; i++) {
		const struct dnnq_ir_value *iv = &ir->values[ir->inputs[i]];
		size_t len = strlen(iv->name), found = 0, at = 0;
		for (size_t o = 0; o < ir->noutputs; o++) {
			const struct dnnq_ir_value *ov = &ir->values[ir->outputs[o]];
			if (strlen(ov->name) <= len || strncmp(ov->name, iv->name, len) ||
			    !same_shape(ov, iv))
				continue;
			/* the longest input name it extends: stN of st, not of s */
			bool longer = false;
			for (size_t j = 0; j < ir->ninputs && !longer; j++) {
				const char *other = ir->values[ir->inputs[j]].name;
				size_t ol = strlen(other);
				longer = ol > len && ol < strlen(ov->name) && !strncmp(ov->name, other, ol) &&
				         same_shape(ov, &ir->values[ir->inputs[j]]);
			}
			if (!longer) {
				found++;
				at = o;
			}
		}
		if (found == 1)         /* two outputs extending one name: neither */
			s[n++] = (struct dnnq_onnx_state){ i, at, true, NAN };
	}
	return n < ir->ninputs ? n : 0;
}

/* Whether all of n floats are zero: a stream's start. */
static bool all_zero(const float *x, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (x[k] != 0)
			return false;
	return true;
}

double dnnq_onnx_state_chain_db(const struct dnnq_onnx_calib *c,
                                const struct dnnq_onnx_state *s)
{
	size_t n = c->x_numel[s->in];
	double sig = 0, noise = 0;
	for (size_t t = 1; t < c->samples; t++) {
		const float *x = (const float *)c->x[s->in] + t * n, *y = c->ref[s->out] + (t - 1) * n;
		if (all_zero(x, n))
			continue;
		for (size_t k = 0; k < n; k++) {
			double d = (double)x[k] - y[k];
			sig += (double)x[k] * x[k];
			noise += d * d;
		}
	}
	/* a recorded state, or the reference's output, not finite (its
	 * difference NaN): the worst, not a perfect chain */
	if (!isfinite(sig) || !isfinite(noise))
		return -INFINITY;
	if (!(sig > 0))
		return NAN;
	return noise > 0 ? 10 * log10(sig / noise) : INFINITY;
}

void dnnq_onnx_state_inputs(const struct dnnq_onnx_calib *c, size_t t, void *const *out,
                            const void **x)
{
	for (size_t i = 0; i < c->ir->ninputs; i++)
		x[i] = (const uint8_t *)c->x[i] + t * c->x_numel[i] * 4;
	for (size_t k = 0; t && !c->start[t] && k < c->nstate; k++)
		x[c->state[k].in] = (const float *)out[c->state[k].out] +
		                    (t - 1) * c->x_numel[c->state[k].in];
}

/* Whether all of n floats are finite. */
static bool all_finite(const float *x, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!isfinite(x[k]))
			return false;
	return true;
}

/* Whether sample t starts a stream: the first, or every state input of
 * its recorded all zeros (several recordings one after the other, each
 * from the zero state). */
static bool starts(const struct dnnq_onnx_calib *c, const struct dnnq_onnx_state *s, size_t n,
                   size_t t)
{
	bool zero = true;
	for (size_t k = 0; k < n && zero; k++)
		zero = all_zero((const float *)c->x[s[k].in] + t * c->x_numel[s[k].in],
		                c->x_numel[s[k].in]);
	return t == 0 || zero;
}

int dnnq_onnx_calib_state(struct dnnq_onnx_calib *c, const struct dnnq_onnx_state *s, size_t n,
                          struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	for (size_t k = 0; k < n; k++)
		for (size_t j = 0; j < k; j++)
			if (s[j].in == s[k].in || s[j].out == s[k].out)
				return dnnq_diag_set(diag, DNNQ_E_INVAL, "--state: %s '%s' is in two links",
				                     s[j].in == s[k].in ? "input" : "output",
				                     ir->values[s[j].in == s[k].in ? ir->inputs[s[k].in]
				                                                   : ir->outputs[s[k].out]].name);
	if (!n)
		return DNNQ_OK;
	struct dnnq_onnx_state *copy = malloc(n * sizeof *copy);
	bool *start = malloc((c->samples ? c->samples : 1) * sizeof *start);
	const void **x = malloc((ir->ninputs + 1) * sizeof *x);
	float **y = malloc((ir->noutputs + 1) * sizeof *y);
	if (!copy || !start || !x || !y) {
		free(copy);
		free(start);
		free(x);
		free(y);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: out of memory");
	}
	memcpy(copy, s, n * sizeof *copy);
	for (size_t t = 0; t < c->samples; t++)
		start[t] = starts(c, s, n, t);
	free(c->state);
	free(c->start);
	c->state = copy;
	c->nstate = n;
	c->start = start;
	/* the reference closed loop: each step's state its own step before's */
	int rc = DNNQ_OK;
	for (size_t t = 0, from = 0; !rc && t < c->samples; t++) {
		dnnq_onnx_state_inputs(c, t, (void *const *)c->ref, x);
		bool finite = true;     /* the outputs on the recorded state (open loop) */
		for (size_t k = 0; k < ir->noutputs; k++) {
			size_t m = dnnq_ir_numel(&ir->values[ir->outputs[k]], 1);
			y[k] = c->ref[k] + t * m;
			finite = finite && all_finite(y[k], m);
		}
		from = start[t] ? t : from;
		rc = dnnq_onnx_calib_ref(c, x, 1, y, diag);
		/* fed its own state, the fp32 model diverges: nothing to judge the
		 * int8 one against */
		for (size_t k = 0; !rc && finite && k < ir->noutputs; k++)
			if (!all_finite(y[k], dnnq_ir_numel(&ir->values[ir->outputs[k]], 1)))
				rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "closed loop: the fp32 model's output "
				                   "'%s' is not finite at sample %zu (it is from the recorded "
				                   "state), its state fed back from sample %zu: a link that is "
				                   "not a state (--state), or a state that diverges (--state "
				                   "none judges each call from its recorded state)",
				                   ir->values[ir->outputs[k]].name, t, from);
	}
	free(x);
	free(y);
	return rc;
}
