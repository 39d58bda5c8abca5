/*
 * onnx/precision.c — automatic mixed precision (onnx/precision.h).
 *
 * The all-int8 lowering (with lo's fp32 nodes and int8's refusals fp32)
 * gives the units (dnnq_lower_opts.unit) and each unit's precision; then
 * each int8 unit with an fp32 form is lowered alone fp32 and the model run
 * on the first samples (dnnq_onnx_eval on a prefix of the calibration
 * set: the samples are stored one after the other). The engine, not the
 * fp32 reference executor, runs these trials: it is the int8 arithmetic
 * being judged, and its kernels are many times faster than the
 * reference's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/precision.h"

const char *dnnq_precision_why_name(enum dnnq_precision_why why)
{
	switch (why) {
	case DNNQ_PRECISION_WHY_LOSS: return "loss";
	case DNNQ_PRECISION_WHY_KEPT: return "keep-fp32";
	case DNNQ_PRECISION_WHY_REFUSED: return "int8 refused";
	case DNNQ_PRECISION_WHY_FP32_ONLY: return "fp32 only";
	}
	return "?";
}

/* The lowered node named name with an arithmetic precision, or NULL. */
static const struct dnnq_model_node *arith_node(const struct dnnq_model *m, const char *name)
{
	for (size_t i = 0; i < m->nnodes; i++)
		if (!strcmp(m->nodes[i].name, name) &&
		    dnnq_op_has(dnnq_op_get(m->nodes[i].kind), DNNQ_A_PRECISION))
			return &m->nodes[i];
	return NULL;
}

/* Sets fp32[k] = on for every node k of unit j. */
static void mark_unit(const int32_t *unit, size_t nnodes, int32_t j, bool *fp32, bool on)
{
	for (size_t k = (size_t)j; k < nnodes; k++)
		if (unit[k] == j)
			fp32[k] = on;
}

/* The units of the all-int8 lowering m (unit[] its node units; all[] the
 * nodes with an fp32 form), in *u (*n entries). */
static int find_units(const struct dnnq_ir *ir, const struct dnnq_lower_opts *lo,
                      const struct dnnq_model *m, const int32_t *unit, const bool *all,
                      struct dnnq_precision_unit **u, size_t *n, struct dnnq_diag *diag)
{
	*n = 0;
	if (!(*u = calloc(ir->nnodes + 1, sizeof **u)))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "precision: out of memory");
	for (size_t j = 0; j < ir->nnodes; j++) {
		if (unit[j] != (int32_t)j || !all[j])
			continue;
		size_t last = j;
		for (size_t k = j + 1; k < ir->nnodes; k++)
			if (unit[k] == (int32_t)j)
				last = k;
		const struct dnnq_model_node *mn = arith_node(m, ir->nodes[last].name);
		if (!mn)
			continue;
		struct dnnq_precision_unit *p = &(*u)[(*n)++];
		*p = (struct dnnq_precision_unit){ (int32_t)j, (int32_t)last,
		                                   mn->precision == DNNQ_PRECISION_FP32,
		                                   DNNQ_PRECISION_WHY_LOSS, NAN };
		if (lo->fp32_nodes && lo->fp32_nodes[j])
			p->why = DNNQ_PRECISION_WHY_KEPT;
		else if (lo->int8_refused[j].msg[0])
			p->why = DNNQ_PRECISION_WHY_REFUSED;
		else if (p->fp32)
			p->why = DNNQ_PRECISION_WHY_FP32_ONLY;
	}
	return DNNQ_OK;
}

int dnnq_onnx_precision_auto(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *co,
                             const enum dnnq_calib_method *method,
                             const struct dnnq_lower_opts *lo,
                             const struct dnnq_precision_opts *po, bool *fp32,
                             struct dnnq_precision_unit **units, size_t *nunits,
                             double *base_db,
                             void (*progress)(void *ctx, size_t done, size_t total),
                             void *ctx, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	*units = NULL;
	*nunits = 0;
	if (!lo->int8_refused || po->samples < 1 || c->samples < 1)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "precision: %s",
		                     !lo->int8_refused ? "int8_refused must be set"
		                                       : "no samples to measure on");
	/* the first samples: a view of c, sharing its parameter cache */
	struct dnnq_onnx_calib sub = *c;
	sub.samples = po->samples < c->samples ? po->samples : c->samples;
	int32_t *unit = calloc(ir->nnodes + 1, sizeof *unit);
	bool *all = NULL;
	int rc = unit ? dnnq_onnx_keep_fp32(ir, "*", &all, diag)
	              : dnnq_diag_set(diag, DNNQ_E_NOMEM, "precision: out of memory");
	if (rc)
		goto out;
	for (size_t j = 0; j < ir->nnodes; j++)
		fp32[j] = lo->fp32_nodes && lo->fp32_nodes[j];
	struct dnnq_lower_opts t = *lo;
	t.fp32_nodes = fp32;
	t.unit = unit;
	struct dnnq_model m;
	if ((rc = dnnq_onnx_calib_lower(&sub, co, method, &t, &m, diag)))
		goto out;
	rc = find_units(ir, lo, &m, unit, all, units, nunits, diag);
	if (!rc)
		rc = dnnq_onnx_eval(&sub, &m, sub.ex, base_db, diag);
	dnnq_model_free(&m);
	t.unit = NULL;
	size_t total = 1, done = 1;
	for (size_t i = 0; !rc && i < *nunits; i++) {
		struct dnnq_precision_unit *u = &(*units)[i];
		mark_unit(unit, ir->nnodes, u->head, fp32, u->fp32);
		total += u->why == DNNQ_PRECISION_WHY_LOSS;
	}
	if (progress)
		progress(ctx, done, total);
	for (size_t i = 0; !rc && i < *nunits; i++) {
		struct dnnq_precision_unit *u = &(*units)[i];
		if (u->why != DNNQ_PRECISION_WHY_LOSS)
			continue;
		double db;
		mark_unit(unit, ir->nnodes, u->head, fp32, true);
		if ((rc = dnnq_onnx_calib_trial(&sub, co, method, &t, sub.ex, &db, diag)))
			break;
		u->loss_db = fmin(db, DNNQ_PRECISION_CEILING_DB) -
		             fmin(*base_db, DNNQ_PRECISION_CEILING_DB);
		u->fp32 = u->loss_db > po->threshold_db;
		mark_unit(unit, ir->nnodes, u->head, fp32, false);
		if (progress)
			progress(ctx, ++done, total);
	}
	for (size_t i = 0; !rc && i < *nunits; i++)
		mark_unit(unit, ir->nnodes, (*units)[i].head, fp32, (*units)[i].fp32);
out:
	c->cache_opts = sub.cache_opts;     /* what the shared cache now holds */
	if (rc) {
		free(*units);
		*units = NULL;
		*nunits = 0;
	}
	free(unit);
	free(all);
	return rc;
}
