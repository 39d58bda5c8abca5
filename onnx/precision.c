/*
 * onnx/precision.c — automatic mixed precision (onnx/precision.h).
 *
 * The all-int8 lowering (with lo's fp32 nodes and int8's refusals fp32)
 * gives the units (dnnq_lower_opts.unit) and each unit's precision; then
 * each int8 unit with an fp32 form is lowered alone fp32 and the model run
 * on the first samples (a prefix of the calibration set: the samples are
 * stored one after the other), from that unit on: the nodes before it are
 * the baseline's (onnx/trials.h). The engine, not the fp32 reference
 * executor, runs these trials: it is the int8 arithmetic being judged, and
 * its kernels are many times faster than the reference's.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "engine/wcache.h"
#include "onnx/precision.h"
#include "onnx/trials.h"

const char *dnnq_precision_why_name(enum dnnq_precision_why why)
{
	switch (why) {
	case DNNQ_PRECISION_WHY_LOSS: return "loss";
	case DNNQ_PRECISION_WHY_KEPT: return "keep-fp32";
	case DNNQ_PRECISION_WHY_REFUSED: return "int8 refused";
	case DNNQ_PRECISION_WHY_FP32_ONLY: return "fp32 only";
	case DNNQ_PRECISION_WHY_FLOOR: return "sqnr floor";
	case DNNQ_PRECISION_WHY_UNMEASURED: return "unmeasured";
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
		/* its last node's, or (a 3-D pool's last node is a Reshape) the
		 * last one's of its nodes with an arithmetic precision */
		const struct dnnq_model_node *mn = NULL;
		for (size_t k = last + 1; !mn && k-- > j;)
			if (unit[k] == (int32_t)j)
				mn = arith_node(m, ir->nodes[k].name);
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

/* Unit j measured int8 for good: when no SQNR floor pass follows (all
 * int8 at int8_db meets po's floor; that pass lowers every unit fp32 in
 * each of its trials), its fp32 weights leave t's cache (dnnq_lower_wcache),
 * which otherwise ends the first pass holding every unit's. A pass-2
 * trial that measures it again makes them afresh. */
static void drop_fp32(const struct dnnq_lower_opts *t, const struct dnnq_precision_opts *po,
                      double int8_db, const int32_t *unit, size_t nnodes, int32_t j)
{
	if (po->floor_db > 0 && int8_db < po->floor_db)
		return;
	for (size_t k = (size_t)j; k < nnodes; k++)
		if (unit[k] == j)
			dnnq_lower_wcache_drop_fp32(t->wcache, k);
}

/* The noise power, relative to the signal's, of an output SQNR of db
 * (capped: DNNQ_PRECISION_CEILING_DB). */
static double noise(double db)
{
	return pow(10, -fmin(db, DNNQ_PRECISION_CEILING_DB) / 10);
}

/* A unit's loss: the noise its fp32 form removes from the model at
 * SQNR from_db (to trial_db), as a loss in dB of the all-int8 model (at
 * int8_db): 10 log10(N_int8 / (N_int8 - (N_from - N_trial))). From the
 * all-int8 model itself that is trial_db - int8_db; pass 2 measures from
 * the choice so far, and a unit's share of the little noise left there
 * would otherwise look large (a small model's every unit would follow
 * the first one into fp32). +inf when it removes all of it. */
static double loss_db(double int8_db, double from_db, double trial_db)
{
	/* outputs not finite (run_sqnr's -inf): a unit that leaves them so
	 * gains nothing measurable; one that makes them finite, everything */
	if (trial_db == -INFINITY)
		return 0;
	if (from_db == -INFINITY)
		return INFINITY;
	double n8 = noise(int8_db), left = n8 - (noise(from_db) - noise(trial_db));
	return left > 0 ? 10 * log10(n8 / left) : INFINITY;
}

/* Whether IR node m reads a value n writes, or n one m writes. */
static bool linked(const struct dnnq_ir_node *n, const struct dnnq_ir_node *m)
{
	for (uint32_t a = 0; a < n->noutputs; a++)
		for (uint32_t b = 0; b < m->ninputs; b++)
			if (n->outputs[a] >= 0 && m->inputs[b] == n->outputs[a])
				return true;
	for (uint32_t a = 0; a < n->ninputs; a++)
		for (uint32_t b = 0; b < m->noutputs; b++)
			if (n->inputs[a] >= 0 && m->outputs[b] == n->inputs[a])
				return true;
	return false;
}

/* The int8 units next to one measured into fp32, for pass 2: cand[i] set
 * for each unit i measured (why LOSS), int8 and not yet measured again
 * (done[i] false) that reads a value such a unit writes, or writes one it
 * reads, directly or through nodes of no unit (reshapes, transposes, the
 * units without an fp32 form). The units fp32 for another reason (kept,
 * refused, fp32 only: a LayerNorm) were fp32 in the first pass already,
 * which measured their neighbours beside them. owner[k]: the unit of IR
 * node k, or -1; seen and queue: scratch of ir->nnodes entries. The
 * number of them. */
static size_t neighbours(const struct dnnq_ir *ir, const int32_t *owner,
                         const struct dnnq_precision_unit *u, const bool *done, bool *cand,
                         bool *seen, int32_t *queue)
{
	size_t head = 0, tail = 0, found = 0;
	for (size_t k = 0; k < ir->nnodes; k++) {
		seen[k] = owner[k] >= 0 && u[owner[k]].fp32 &&
		          u[owner[k]].why == DNNQ_PRECISION_WHY_LOSS;
		if (seen[k])
			queue[tail++] = (int32_t)k;
	}
	while (head < tail) {
		const struct dnnq_ir_node *n = &ir->nodes[queue[head++]];
		for (size_t k = 0; k < ir->nnodes; k++) {
			if (seen[k] || !linked(n, &ir->nodes[k]))
				continue;
			seen[k] = true;
			int32_t i = owner[k];
			if (i < 0) {
				queue[tail++] = (int32_t)k;
			} else if (u[i].why == DNNQ_PRECISION_WHY_LOSS && !done[i] && !cand[i]) {
				cand[i] = true;
				found++;
			}
		}
	}
	return found;
}

/* The model of the fp32 choice in t (t->trial set: r builds it) run
 * through r: its SQNR in *db. */
static int trial(struct dnnq_onnx_calib *sub, const struct dnnq_calib_opts *co,
                 const enum dnnq_calib_method *method, const struct dnnq_lower_opts *t,
                 struct dnnq_onnx_trials *r, double *db, struct dnnq_diag *diag)
{
	struct dnnq_model m;
	dnnq_onnx_trials_done(r);
	int rc = dnnq_onnx_calib_lower(sub, co, method, t, &m, diag);
	return rc ? rc : dnnq_onnx_trials_run(r, &m, db, diag);
}

/* Pass 2: the int8 units next to fp32 ones (neighbours) measured again,
 * each against the choice so far (fp32[] holds it; *db its SQNR), in
 * rounds until none is left: a unit's int8 error can matter only once
 * its neighbour is fp32 (a ViT's class token, quantized with the patch
 * embeddings it is concatenated with, loses its few levels in the Add
 * after the Concat whether the Concat is int8 or not, until that Add is
 * fp32). Each is run from the choice so far (r's baseline). *done and
 * *total count the trials for progress. */
static int pass2(struct dnnq_onnx_calib *sub, const struct dnnq_calib_opts *co,
                 const enum dnnq_calib_method *method, const struct dnnq_lower_opts *t,
                 struct dnnq_onnx_trials *r,
                 const struct dnnq_precision_opts *po, const int32_t *unit, bool *fp32,
                 struct dnnq_precision_unit *u, size_t nunits, double int8_db, double *db,
                 void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                 size_t *done, size_t *total, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = sub->ir;
	size_t nn = ir->nnodes ? ir->nnodes : 1;
	int32_t *owner = malloc(nn * sizeof *owner), *queue = malloc(nn * sizeof *queue);
	bool *seen = malloc(nn * sizeof *seen), *cand = calloc(nunits + 1, sizeof *cand);
	bool *again = calloc(nunits + 1, sizeof *again);
	int rc = owner && queue && seen && cand && again
	       ? DNNQ_OK : dnnq_diag_set(diag, DNNQ_E_NOMEM, "precision: out of memory");
	for (size_t k = 0; !rc && k < ir->nnodes; k++)
		owner[k] = -1;
	for (size_t i = 0; !rc && i < nunits; i++)
		for (int32_t k = u[i].head; k <= u[i].last; k++)
			if (unit[k] == u[i].head)
				owner[k] = (int32_t)i;
	size_t n = rc ? 0 : neighbours(ir, owner, u, again, cand, seen, queue);
	if (n && !(rc = trial(sub, co, method, t, r, db, diag)))
		dnnq_onnx_trials_keep(r);
	if (rc)
		n = 0;
	while (n) {
		*total += n;
		for (size_t i = 0; !rc && i < nunits; i++) {
			if (!cand[i])
				continue;
			cand[i] = false;
			again[i] = true;
			mark_unit(unit, ir->nnodes, u[i].head, fp32, true);
			double tdb;
			if ((rc = trial(sub, co, method, t, r, &tdb, diag)))
				break;
			u[i].loss_db = loss_db(int8_db, *db, tdb);
			u[i].fp32 = u[i].loss_db > po->threshold_db;
			if (u[i].fp32) {
				*db = tdb;
				dnnq_onnx_trials_keep(r);
			} else {
				mark_unit(unit, ir->nnodes, u[i].head, fp32, false);
				drop_fp32(t, po, int8_db, unit, ir->nnodes, u[i].head);
			}
			if (progress)
				progress(ctx, ++*done, *total);
		}
		n = rc ? 0 : neighbours(ir, owner, u, again, cand, seen, queue);
	}
	free(owner);
	free(queue);
	free(seen);
	free(cand);
	free(again);
	return rc;
}

/* floor_pass's ranking: by the noise of each unit alone int8 (ctx),
 * largest first. */
static int by_noise(const void *a, const void *b, void *ctx)
{
	const double *alone = ctx;
	double x = alone[*(const size_t *)a], y = alone[*(const size_t *)b];
	return (x < y) - (x > y);
}

/* fp32[] = choice[] with the first k units of rank[] fp32 too; the
 * trial's SQNR (run through r) in *db. */
static int floor_trial(struct dnnq_onnx_calib *sub, const struct dnnq_calib_opts *co,
                       const enum dnnq_calib_method *method, const struct dnnq_lower_opts *t,
                       struct dnnq_onnx_trials *r, const int32_t *unit, const bool *choice,
                       bool *fp32, const struct dnnq_precision_unit *u, const size_t *rank,
                       size_t k, double *db, struct dnnq_diag *diag)
{
	memcpy(fp32, choice, sub->ir->nnodes * sizeof *fp32);
	for (size_t j = 0; j < k; j++)
		mark_unit(unit, sub->ir->nnodes, u[rank[j]].head, fp32, true);
	return trial(sub, co, method, t, r, db, diag);
}

/* The SQNR floor (po->floor_db): the trials above judge each unit against
 * all the others int8, and when the model's int8 noise is spread over
 * many units (PaddleOCR's detector and recognizer: depthwise convolutions
 * reading channels of very different ranges, every layer a little) no
 * unit alone moves the outputs and the choice stays far below any useful
 * SQNR. Then, and only then, the units still int8 are ranked by the noise
 * each gives alone (every other unit with an fp32 form fp32: all[]), and
 * the fewest of the worst that lift the choice (fp32[], at choice_db) to
 * the floor go fp32, found by a binary search along the ranking. Cost:
 * none while the all-int8 model meets the floor (the common case), else
 * one trial for the choice, one per int8 unit and log2 of their count,
 * and one for the all-fp32 baseline: the units' trials, in node order,
 * each differ from it from their unit on, and run through r from there
 * (onnx/trials.h), on the buffers of the trial before. */
static int floor_pass(struct dnnq_onnx_calib *sub, const struct dnnq_calib_opts *co,
                      const enum dnnq_calib_method *method, const struct dnnq_lower_opts *t,
                      struct dnnq_onnx_trials *r,
                      const struct dnnq_precision_opts *po, const int32_t *unit,
                      const bool *all, bool *fp32, struct dnnq_precision_unit *u,
                      size_t nunits,
                      void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                      size_t *done, size_t *total, struct dnnq_diag *diag)
{
	size_t nn = sub->ir->nnodes ? sub->ir->nnodes : 1, m = 0;
	bool *choice = malloc(nn * sizeof *choice);
	size_t *rank = malloc((nunits + 1) * sizeof *rank);
	double *alone = calloc(nunits + 1, sizeof *alone);
	int rc = choice && rank && alone
	       ? DNNQ_OK : dnnq_diag_set(diag, DNNQ_E_NOMEM, "precision: out of memory");
	if (rc)
		goto out;
	memcpy(choice, fp32, sub->ir->nnodes * sizeof *choice);
	double db;
	if ((rc = trial(sub, co, method, t, r, &db, diag)) || db >= po->floor_db)
		goto out;
	for (size_t i = 0; i < nunits; i++)
		if (!u[i].fp32 && u[i].why == DNNQ_PRECISION_WHY_LOSS)
			rank[m++] = i;
	*total += m + (m > 0);
	for (size_t h = m; h > 1; h = (h + 1) / 2)
		++*total;
	for (size_t j = 0; j <= m && m; j++) {
		/* j == 0: the baseline, every unit with an fp32 form fp32 */
		for (size_t k = 0; k < sub->ir->nnodes; k++)
			fp32[k] = choice[k] || all[k];
		if (j)
			mark_unit(unit, sub->ir->nnodes, u[rank[j - 1]].head, fp32, false);
		if ((rc = trial(sub, co, method, t, r, &db, diag)))
			goto out;
		if (progress)
			progress(ctx, ++*done, *total);
		if (!j) {
			dnnq_onnx_trials_keep(r);
			continue;
		}
		alone[rank[j - 1]] = noise(db);
	}
	qsort_r(rank, m, sizeof *rank, by_noise, alone);
	size_t lo = 0, hi = m;          /* choice + rank[0..lo) below the floor, [0..hi) not */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((rc = floor_trial(sub, co, method, t, r, unit, choice, fp32, u, rank, mid, &db,
		                      diag)))
			goto out;
		if (db >= po->floor_db)
			hi = mid;
		else
			lo = mid;
		if (progress)
			progress(ctx, ++*done, *total);
	}
	for (size_t j = 0; j < hi; j++) {
		u[rank[j]].fp32 = true;
		u[rank[j]].why = DNNQ_PRECISION_WHY_FLOOR;
	}
	memcpy(fp32, choice, sub->ir->nnodes * sizeof *fp32);
	for (size_t j = 0; j < hi; j++)
		mark_unit(unit, sub->ir->nnodes, u[rank[j]].head, fp32, true);
out:
	free(choice);
	free(rank);
	free(alone);
	return rc;
}

int dnnq_onnx_precision_auto(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *co,
                             const enum dnnq_calib_method *method,
                             const struct dnnq_lower_opts *lo,
                             const struct dnnq_precision_opts *po, bool *fp32,
                             struct dnnq_precision_unit **units, size_t *nunits,
                             double *base_db, struct dnnq_precision_cost *cost,
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
	/* the trials differ only in which units are fp32: each int8 node
	 * packs its weights once, for all of them (a tenth of the pass) */
	sub.wcache = NULL;
	struct dnnq_onnx_trials r;
	dnnq_onnx_trials_init(&r, &sub, sub.ex, po->whole);
	int32_t *unit = calloc(ir->nnodes + 1, sizeof *unit);
	bool *all = NULL;
	struct dnnq_lower_wcache *lw = NULL;
	int rc = unit && !dnnq_weights_cache_create(&sub.wcache) &&
	         (po->whole || !dnnq_lower_wcache_create(ir->nnodes, &lw))
	       ? dnnq_onnx_keep_fp32(ir, "*", &all, diag)
	       : dnnq_diag_set(diag, DNNQ_E_NOMEM, "precision: out of memory");
	if (rc)
		goto out;
	for (size_t j = 0; j < ir->nnodes; j++)
		fp32[j] = lo->fp32_nodes && lo->fp32_nodes[j];
	struct dnnq_lower_opts t = *lo;
	t.fp32_nodes = fp32;
	t.unit = unit;
	t.trial = true;               /* the trials' runner builds each model */
	t.wcache = lw;                /* and their int8 weights are quantized once */
	struct dnnq_model m;
	if ((rc = dnnq_onnx_calib_lower(&sub, co, method, &t, &m, diag)))
		goto out;
	if ((rc = find_units(ir, lo, &m, unit, all, units, nunits, diag)))
		dnnq_model_free(&m);
	else if (!(rc = dnnq_onnx_trials_run(&r, &m, base_db, diag)))
		dnnq_onnx_trials_keep(&r);
	t.unit = NULL;
	size_t total = 1, done = 1;
	for (size_t i = 0; !rc && i < *nunits; i++) {
		struct dnnq_precision_unit *u = &(*units)[i];
		mark_unit(unit, ir->nnodes, u->head, fp32, u->fp32);
		total += u->why == DNNQ_PRECISION_WHY_LOSS;
	}
	if ((uint64_t)(total - 1) * ir->nnodes > DNNQ_PRECISION_MAX_WORK) {
		for (size_t i = 0; !rc && i < *nunits; i++)
			if ((*units)[i].why == DNNQ_PRECISION_WHY_LOSS)
				(*units)[i].why = DNNQ_PRECISION_WHY_UNMEASURED;
		total = 1;
	}
	if (progress)
		progress(ctx, done, total);
	for (size_t i = 0; !rc && i < *nunits; i++) {
		struct dnnq_precision_unit *u = &(*units)[i];
		if (u->why != DNNQ_PRECISION_WHY_LOSS)
			continue;
		double db;
		mark_unit(unit, ir->nnodes, u->head, fp32, true);
		if ((rc = trial(&sub, co, method, &t, &r, &db, diag)))
			break;
		u->loss_db = loss_db(*base_db, *base_db, db);
		u->fp32 = u->loss_db > po->threshold_db;
		mark_unit(unit, ir->nnodes, u->head, fp32, false);
		if (!u->fp32)
			drop_fp32(&t, po, *base_db, unit, ir->nnodes, u->head);
		if (progress)
			progress(ctx, ++done, total);
	}
	for (size_t i = 0; !rc && i < *nunits; i++)
		mark_unit(unit, ir->nnodes, (*units)[i].head, fp32, (*units)[i].fp32);
	double db;
	if (!rc)
		rc = pass2(&sub, co, method, &t, &r, po, unit, fp32, *units, *nunits, *base_db, &db,
		           progress, ctx, &done, &total, diag);
	if (!rc && po->floor_db > 0 && *base_db < po->floor_db)
		rc = floor_pass(&sub, co, method, &t, &r, po, unit, all, fp32, *units, *nunits,
		                progress, ctx, &done, &total, diag);
out:
	c->cache_opts = sub.cache_opts;     /* what the shared cache now holds */
	*cost = (struct dnnq_precision_cost){ r.resumed + r.wholes, r.resumed, r.nodes_run,
	                                      r.nodes_all };
	dnnq_onnx_trials_free(&r);
	if (rc) {
		free(*units);
		*units = NULL;
		*nunits = 0;
	}
	free(unit);
	free(all);
	dnnq_weights_cache_destroy(sub.wcache);
	dnnq_lower_wcache_destroy(lw);
	return rc;
}
