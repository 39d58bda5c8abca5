/*
 * onnx/import-loop.c — a Loop of a constant trip count is unrolled; the
 * sequences it and its readers build are known at import.
 *
 * torch's dynamo exporter (torch 2.x, opset 18 and on) writes as_strided
 * as a Loop over the tensor's rank that builds the gathered indices from
 * constants, a sequence of ones growing by one each iteration
 * (detypify-service's classifier: docs/onnx.md), its trip count a
 * constant. The body is walked once per iteration in the Loop's place, as
 * an If's branch is (onnx/import-if.c): the iteration number a new int64
 * constant, the condition in a constant true, each loop-carried value
 * bound to the name the body reads it by; folding makes what is constant
 * constants, what is computed becomes IR nodes like any other. Between
 * iterations the names the body defined are forgotten (ONNX names are
 * unique across scopes, but each iteration defines them again). The
 * Loop's outputs name the last iteration's carried values.
 *
 * Refused, naming the node: a trip count that is not a constant (a while
 * loop, or one only known at run time), a condition out of the body that
 * is not a constant, a condition that is an integer (integer_cond). Scan
 * outputs (the body's outputs after the carried ones: torch's EmbeddingBag
 * writes each bag's mean so) stack each iteration's value along a new
 * axis 0: a Reshape to [1, ...] of each (NAME:scanK@i) and a Concat of
 * them, at most DNNQ_IR_MAX_INPUTS iterations; a batched value would move
 * the batch to dim 1 (refused so the import fixes the batch). Bounded: the
 * trip count by the ONNX nodes a walk visits
 * (IMP_MAX_WALKED, shared with the Ifs), each iteration charged the
 * names its body defines (forgotten and bound again) as well as the nodes
 * it walks.
 *
 * Sequences: SequenceEmpty, SequenceConstruct and SequenceInsert (at a
 * constant position) make a list of value ids, no IR; SplitToSequence
 * makes its pieces as Slices (and Squeezes) of the tensor;
 * ConcatFromSequence (new_axis 0) is the Concat of its tensors, folded
 * when they are constants; SequenceAt (a constant position) is the tensor
 * there, as an Identity of it; a sequence holds at most IMP_MAX_SEQ
 * tensors, and all of them IMP_MAX_SEQ_IDS. Any other
 * reader of a sequence is refused (onnx/import.c, imp_lookup).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

/* A new scalar constant of dtype dt (int64, or a bool's float 0 or 1)
 * holding x, named name; its id, or < 0. */
static int32_t scalar(struct nctx *c, const char *name, enum dnnq_ir_dtype dt, int64_t x)
{
	struct dnnq_ir_value v = { .name = (char *)name, .dtype = dt, .producer = -1 };
	size_t es = dnnq_ir_dtype_size(dt);
	int rc = imp_const_alloc(c->m, es, c->who, &v.data);
	if (rc)
		return rc;
	if (dt == DNNQ_IR_S64)
		memcpy(v.data, &x, es);
	else
		*(float *)v.data = x != 0;
	int32_t id = imp_new_value(c->m, &v, true);
	if (id < 0)
		free(v.data);
	return id;
}

/* The names graph g defines, with those of the graphs in its nodes'
 * attributes: what forget_scope visits. */
static size_t scope_size(const Onnx__GraphProto *g)
{
	size_t n = g->n_input + g->n_initializer;
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		for (size_t a = 0; np && a < np->n_attribute; a++) {
			const Onnx__AttributeProto *at = np->attribute[a];
			if (at && at->g)
				n += scope_size(at->g);
			for (size_t k = 0; at && k < at->n_graphs; k++)
				if (at->graphs[k])
					n += scope_size(at->graphs[k]);
		}
		n += np ? np->n_output + 1 : 1;
	}
	return n;
}

/* Forgets the names graph g defines: its inputs, initializers and node
 * outputs, and those of the graphs in its nodes' attributes. */
static void forget_scope(struct imp *m, const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_input; i++)
		if (g->input[i])
			imp_forget_name(m, S(g->input[i]->name));
	for (size_t i = 0; i < g->n_initializer; i++)
		if (g->initializer[i])
			imp_forget_name(m, S(g->initializer[i]->name));
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		if (!np)
			continue;
		for (size_t k = 0; k < np->n_output; k++)
			imp_forget_name(m, S(np->output[k]));
		for (size_t a = 0; a < np->n_attribute; a++) {
			const Onnx__AttributeProto *at = np->attribute[a];
			if (at && at->g)
				forget_scope(m, at->g);
			for (size_t k = 0; at && k < at->n_graphs; k++)
				if (at->graphs[k])
					forget_scope(m, at->graphs[k]);
		}
	}
}

/* The longest run of '@' in s. */
static size_t at_run(const char *s)
{
	size_t best = 0, n = 0;
	for (; s && *s; s++)
		if ((n = *s == '@' ? n + 1 : 0) > best)
			best = n;
	return best;
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* The longest run of '@' in a name of graph g (or a graph in its nodes'
 * attributes): a node's, or a value's it defines or reads. */
static size_t longest_at_run(const Onnx__GraphProto *g)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n_input; i++)
		n = max_size(n, g->input[i] ? at_run(g->input[i]->name) : 0);
	for (size_t i = 0; i < g->n_initializer; i++)
		n = max_size(n, g->initializer[i] ? at_run(g->initializer[i]->name) : 0);
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		if (!np)
			continue;
		n = max_size(n, at_run(np->name));
		for (size_t k = 0; k < np->n_input; k++)
			n = max_size(n, at_run(np->input[k]));
		for (size_t k = 0; k < np->n_output; k++)
			n = max_size(n, at_run(np->output[k]));
		for (size_t a = 0; a < np->n_attribute; a++) {
			const Onnx__AttributeProto *at = np->attribute[a];
			if (at && at->g)
				n = max_size(n, longest_at_run(at->g));
			for (size_t k = 0; at && k < at->n_graphs; k++)
				if (at->graphs[k])
					n = max_size(n, longest_at_run(at->graphs[k]));
		}
	}
	return n;
}

/* Binds body input k to what entry e names (a carried value); refused
 * when its name is defined already (an outer value it would shadow, or
 * another body input: the body's names are forgotten between iterations,
 * so only such a name is found). */
static int bind(struct nctx *c, const Onnx__GraphProto *body, size_t k, struct imp_name e)
{
	const char *name = S(body->input[k]->name);
	if (imp_find(c->m, name))
		return bad(c, DNNQ_E_FORMAT, "body input %zu '%.100s' is a name defined before", k,
		           name);
	int rc = imp_add_name(c->m, name, e.kind, e.idx);
	imp_mark_bool(c->m, name, e.is_bool);
	return rc;
}

/* Input name, what (for messages): a constant integer scalar, *x; else
 * refused (an unknown value quietly: its problem said why). */
static int const_int(struct nctx *c, const char *name, const char *what, int64_t *x)
{
	int32_t id = imp_lookup(c->m, name, c->who);
	if (id < 0)
		return id == DNNQ_E_NOMEM ? id : DNNQ_E_UNSUPPORTED;
	const struct dnnq_ir_value *v = &c->m->ir->values[id];
	if (!v->data || (v->dtype != DNNQ_IR_S64 && v->dtype != DNNQ_IR_S32) ||
	    dnnq_ir_numel(v, 1) != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "%s '%.100s' is not a constant integer scalar", what,
		           name);
	*x = v->dtype == DNNQ_IR_S64 ? *(const int64_t *)v->data : *(const int32_t *)v->data;
	return 0;
}

/* The trip count: a constant integer scalar, *n; else refused. */
static int trip_count(struct nctx *c, int64_t *n)
{
	const char *name = c->np->n_input ? S(c->np->input[0]) : "";
	if (!*name)
		return bad(c, DNNQ_E_UNSUPPORTED, "no trip count (M): a loop that runs until a "
		           "condition is not unrolled, only one of a constant trip count");
	return const_int(c, name, "trip count", n);
}

/* Whether name (value id), a Loop's condition, is an integer ONNX does not
 * type bool (a body's iteration number as its condition): refused. A bool
 * is the IR's float 0 or 1, never an integer: a float (or byte)
 * condition is taken as a bool (the mark, struct imp_name, follows what
 * moves one: a Squeeze of a bool constant). */
static bool integer_cond(struct imp *m, const char *name, int32_t id)
{
	enum dnnq_ir_dtype dt = m->ir->values[id].dtype;
	return !imp_is_bool(m, name) && (dt == DNNQ_IR_S32 || dt == DNNQ_IR_S64);
}

/* The body's condition out: *go; refused when it is not a constant. */
static int cond_out(struct nctx *c, const Onnx__GraphProto *body, bool *go)
{
	const char *name = body->output[0] ? S(body->output[0]->name) : "";
	int32_t id = imp_lookup(c->m, name, c->who);
	if (id < 0)
		return id == DNNQ_E_NOMEM ? id : DNNQ_E_UNSUPPORTED;
	const struct dnnq_ir_value *v = &c->m->ir->values[id];
	if (integer_cond(c->m, name, id))
		return bad(c, DNNQ_E_DTYPE, "the body's condition '%.100s' is %s, not a bool", name,
		           dnnq_ir_dtype_name(v->dtype));
	if (!v->data || dnnq_ir_numel(v, 1) != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "the body's condition '%.100s' is not a constant: "
		           "a loop that stops on a computed condition is not unrolled", name);
	*go = imp_truth(v);
	return 0;
}

/* Iteration i: the body walked on carried, which it updates, and *go. */
static int iteration(struct nctx *c, const Onnx__GraphProto *body, int64_t i, bool *go,
                     struct imp_name *carried, size_t ncarried, struct imp_name *scans,
                     size_t nscan)
{
	struct imp *m = c->m;
	if (i)      /* iteration 0 finds a name the body shares with the graph */
		forget_scope(m, body);
	char nm[160], cn[160];
	snprintf(nm, sizeof nm, "%s:i", c->name);       /* c->name: at most 120 bytes */
	snprintf(cn, sizeof cn, "%s:cond", c->name);
	int32_t it = scalar(c, nm, DNNQ_IR_S64, i), yes = scalar(c, cn, DNNQ_IR_F32, 1);
	if (it < 0 || yes < 0)
		return it < 0 ? it : yes;
	int rc = bind(c, body, 0, (struct imp_name){ .kind = IMP_VALUE, .idx = it });
	if (!rc)        /* ONNX's bool cond: a CastLike to it casts to bool */
		rc = bind(c, body, 1, (struct imp_name){ .kind = IMP_VALUE, .idx = yes,
		                                          .is_bool = true });
	for (size_t k = 0; !rc && k < ncarried; k++)
		rc = bind(c, body, k + 2, carried[k]);
	size_t problems = m->nproblems;
	if (rc || (rc = imp_walk_sub(c, body)))
		return rc;
	if (m->nproblems > problems)
		return DNNQ_E_UNSUPPORTED;      /* the body's problems say why */
	for (size_t k = 0; k < ncarried; k++) {
		const struct imp_name *e = imp_find(m, S(body->output[k + 1]->name));
		if (!e)
			return bad(c, DNNQ_E_FORMAT, "body output %zu '%.100s' is not defined", k + 1,
			           S(body->output[k + 1]->name));
		carried[k] = *e;
	}
	for (size_t k = 0; k < nscan; k++) {
		const char *o = S(body->output[ncarried + 1 + k]->name);
		const struct imp_name *e = imp_find(m, o);
		if (!e || e->kind != IMP_VALUE)
			return bad(c, DNNQ_E_FORMAT, "body output %zu '%.100s' is not %s",
			           ncarried + 1 + k, o, e ? "a tensor" : "defined");
		scans[(size_t)i * nscan + k] = *e;
	}
	return cond_out(c, body, go);
}

/* Runs the iterations, each naming its values and nodes NAME@i (m->scope;
 * @@i, ... when a name in the model holds @ already: no name made can be
 * one of the model's); carried[k] what carried value k names at the end. */
static int unroll(struct nctx *c, const Onnx__GraphProto *body, int64_t n, bool go,
                  struct imp_name *carried, size_t ncarried, struct imp_name *scans,
                  size_t nscan, int64_t *ran)
{
	struct imp *m = c->m;
	char outer[sizeof m->scope], ats[sizeof m->scope];
	memcpy(outer, m->scope, sizeof outer);
	if (!m->loop_ats)
		m->loop_ats = longest_at_run(m->root) + 1;
	size_t cost = scope_size(body) + 1;     /* forgetting, binding: each iteration's */
	int rc = 0;
	if (m->loop_ats >= sizeof ats)
		rc = bad(c, DNNQ_E_UNSUPPORTED, "a name holds %zu '@' in a row: too many to name "
		         "the iterations' values apart", m->loop_ats - 1);
	memset(ats, '@', sizeof ats);
	ats[rc ? 0 : m->loop_ats] = 0;
	for (int64_t i = 0; !rc && go && i < n; i++) {
		if (cost > IMP_MAX_WALKED - m->walked) {
			rc = bad(c, DNNQ_E_UNSUPPORTED, "iteration %lld of %lld takes the walk past %zu "
			         "nodes", (long long)i, (long long)n, IMP_MAX_WALKED);
			break;
		}
		m->walked += cost;
		if (snprintf(m->scope, sizeof m->scope, "%s%s%lld", outer, ats, (long long)i) >=
		    (int)sizeof m->scope)
			rc = bad(c, DNNQ_E_UNSUPPORTED, "Loops nested too deep to name their "
			         "iterations' values");
		else if (!(rc = iteration(c, body, i, &go, carried, ncarried, scans, nscan)))
			*ran = i + 1;
	}
	memcpy(m->scope, outer, sizeof outer);
	if (!rc)        /* a later Loop's body may use the same names */
		forget_scope(m, body);
	return rc;
}

/* The body graph, its inputs and outputs checked against the Loop's. */
static const Onnx__GraphProto *body_of(struct nctx *c, size_t ncarried)
{
	const Onnx__AttributeProto *a = attr(c, "body");
	const Onnx__GraphProto *g = a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ?
	                            a->g : NULL;
	if (!g) {
		bad(c, DNNQ_E_FORMAT, "attribute 'body' is missing or not a graph");
		return NULL;
	}
	if (g->n_input != ncarried + 2 || g->n_output < ncarried + 1) {
		bad(c, DNNQ_E_FORMAT, "the body has %zu inputs and %zu outputs, the Loop %zu "
		    "carried values (2 + carried inputs, 1 + carried outputs expected)", g->n_input,
		    g->n_output, ncarried);
		return NULL;
	}
	if (c->np->n_output > g->n_output - 1) {
		bad(c, DNNQ_E_FORMAT, "%zu outputs, the body %zu carried and scan outputs",
		    c->np->n_output, g->n_output - 1);
		return NULL;
	}
	for (size_t i = 0; i < g->n_input; i++)
		if (!g->input[i] || !*S(g->input[i]->name)) {
			bad(c, DNNQ_E_FORMAT, "body input %zu has no name", i);
			return NULL;
		}
	for (size_t i = 0; i < g->n_output; i++)
		if (!g->output[i] || !*S(g->output[i]->name)) {
			bad(c, DNNQ_E_FORMAT, "body output %zu has no name", i);
			return NULL;
		}
	if (g->n_sparse_initializer) {
		bad(c, DNNQ_E_UNSUPPORTED, "the body's sparse initializers are not supported");
		return NULL;
	}
	return g;
}

/* A new node of op (a Reshape, a Concat along axis 0) named node reading
 * ins[0 .. nin), its output named name, of src's dtype with dim 0 d0
 * before src's dims; its value id, or < 0. */
static int32_t stack_node(struct nctx *c, enum dnnq_ir_op op, const int32_t *ins, size_t nin,
                          const struct dnnq_ir_value *src, int64_t d0, const char *node,
                          const char *name)
{
	struct imp *m = c->m;
	struct dnnq_ir_value v = { .name = (char *)name, .dtype = src->dtype,
	                           .ndim = src->ndim + 1, .dims = { d0 },
	                           .producer = (int32_t)m->ir->nnodes, .integer = src->integer };
	memcpy(v.dims + 1, src->dims, src->ndim * sizeof *v.dims);
	int32_t id = imp_new_value(m, &v, true);
	if (id < 0)
		return id;
	struct dnnq_ir_node n = { .op = op, .ninputs = (uint32_t)nin, .noutputs = 1,
	                          .name = strdup(node), .op_type = strdup("Loop") };
	for (size_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
		n.inputs[i] = i < nin ? ins[i] : -1;
	for (size_t i = 0; i < DNNQ_IR_MAX_OUTPUTS; i++)
		n.outputs[i] = i ? -1 : id;
	if (!n.name || !n.op_type) {
		free(n.name);
		free(n.op_type);
		return DNNQ_E_NOMEM;
	}
	int rc = imp_new_node(m, &n);
	return rc ? rc : id;
}

/* Scan output k (the Loop's output name o) of the ran iterations' values
 * sc[i * nscan + k]: each a Reshape to [1, ...] (NAME:scanK@i), then
 * their Concat along axis 0 named o (one iteration: the Reshape is). */
static int stack_scan(struct nctx *c, const struct imp_name *sc, size_t nscan, size_t k,
                      int64_t ran, const char *o)
{
	struct imp *m = c->m;
	if (ran < 1 || ran > DNNQ_IR_MAX_INPUTS)
		return bad(c, DNNQ_E_UNSUPPORTED, "scan output %zu of %lld iterations: 1 to %d are "
		           "stacked", k, (long long)ran, DNNQ_IR_MAX_INPUTS);
	int32_t ids[DNNQ_IR_MAX_INPUTS];
	bool bools = true;
	for (int64_t i = 0; i < ran; i++) {
		const struct imp_name *e = &sc[(size_t)i * nscan + k];
		const struct dnnq_ir_value *v = &m->ir->values[e->idx];
		const struct dnnq_ir_value *v0 = &m->ir->values[sc[k].idx];
		bools &= e->is_bool;
		if (v->batched)
			return batch_moves(c, "scan output %zu stacks batched values (the batch "
			                   "would move to dim 1)", k);
		if (v->ndim >= DNNQ_IR_MAX_DIMS || v->ndim != v0->ndim || v->dtype != v0->dtype ||
		    memcmp(v->dims, v0->dims, v->ndim * sizeof *v->dims))
			return bad(c, DNNQ_E_SHAPE, "scan output %zu: iteration %lld's [%s] differs "
			           "from iteration 0's (or has rank %d)", k, (long long)i,
			           imp_dims_str(v), DNNQ_IR_MAX_DIMS);
		char nm[200];
		snprintf(nm, sizeof nm, "%.120s:scan%zu@%lld", c->name, k, (long long)i);
		int32_t in = e->idx;
		if ((ids[i] = stack_node(c, DNNQ_IR_RESHAPE, &in, 1, v, 1, nm,
		                         ran == 1 ? o : nm)) < 0)
			return ids[i];
	}
	int32_t id = ids[0];
	if (ran > 1) {
		const struct dnnq_ir_value v0 = m->ir->values[sc[k].idx];
		char nm[200];
		snprintf(nm, sizeof nm, "%.120s:scan%zu", c->name, k);
		id = stack_node(c, DNNQ_IR_CONCAT, ids, (size_t)ran, &v0, ran, nm, o);
	}
	if (id < 0)
		return id;
	int rc = imp_add_name(m, o, IMP_VALUE, id);
	if (!rc)
		imp_mark_bool(m, o, bools);
	return rc;
}

int imp_loop(struct nctx *c)
{
	struct imp *m = c->m;
	const Onnx__NodeProto *np = c->np;
	if (np->n_input < 2)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs: a Loop takes M, cond and its carried "
		           "values", np->n_input), imp_outputs_unknown(c);
	size_t ncarried = np->n_input - 2;
	const Onnx__GraphProto *body = body_of(c, ncarried);
	int64_t n = 0;
	int rc = body ? trip_count(c, &n) : DNNQ_E_FORMAT;
	bool go = true;
	const char *cname = S(np->input[1]);
	if (!rc && *cname) {
		int32_t id = imp_lookup(m, cname, c->who);
		const struct dnnq_ir_value *v = id >= 0 ? &m->ir->values[id] : NULL;
		if (id == DNNQ_E_NOMEM)
			return id;
		if (!v)
			rc = DNNQ_E_UNSUPPORTED;
		else if (integer_cond(m, cname, id))
			rc = bad(c, DNNQ_E_DTYPE, "condition '%.100s' is %s, not a bool", cname,
			         dnnq_ir_dtype_name(v->dtype));
		else if (!v->data || dnnq_ir_numel(v, 1) != 1)
			rc = bad(c, DNNQ_E_UNSUPPORTED, "condition '%.100s' is not a constant: only a "
			         "Loop of a constant trip count is unrolled", cname);
		else
			go = imp_truth(v);
	}
	size_t nscan = body ? body->n_output - 1 - ncarried : 0;
	if (!rc && nscan && (n < 1 || n > DNNQ_IR_MAX_INPUTS))
		rc = bad(c, DNNQ_E_UNSUPPORTED, "%zu scan outputs of %lld iterations: 1 to %d are "
		         "stacked", nscan, (long long)n, DNNQ_IR_MAX_INPUTS);
	struct imp_name *carried = rc ? NULL : calloc(ncarried + 1, sizeof *carried);
	struct imp_name *scans = rc ? NULL : calloc((size_t)n * nscan + 1, sizeof *scans);
	int64_t ran = 0;
	if (!rc && (!carried || !scans)) {
		free(carried);
		free(scans);
		return DNNQ_E_NOMEM;
	}
	for (size_t k = 0; !rc && k < ncarried; k++) {
		const char *name = S(np->input[k + 2]);
		const struct imp_name *e = imp_find(m, name);
		if (!*name)
			rc = bad(c, DNNQ_E_FORMAT, "carried input %zu has no name", k);
		else if (!e)    /* the lookup says why */
			rc = imp_lookup(m, name, c->who);
		else
			carried[k] = *e;
	}
	if (!rc)
		rc = unroll(c, body, n, go, carried, ncarried, scans, nscan, &ran);
	for (size_t k = 0; !rc && k < np->n_output; k++) {
		const char *o = S(np->output[k]);
		if (!*o)
			continue;
		if (imp_find(m, o))
			rc = bad(c, DNNQ_E_FORMAT, "output '%.100s' is defined twice", o);
		else if (k >= ncarried)
			rc = stack_scan(c, scans, nscan, k - ncarried, ran, o);
		else if (!(rc = imp_add_name(m, o, carried[k].kind, carried[k].idx)))
			imp_mark_bool(m, o, carried[k].is_bool);
	}
	free(carried);
	free(scans);
	if (rc == DNNQ_E_NOMEM)
		return rc;
	if (rc)
		return imp_outputs_unknown(c);
	return imp_settled(m, c->name, "Loop", DNNQ_IR_INLINED);
}

/* ---- sequences ------------------------------------------------------------------ */

/* A new sequence of ids[0 .. n), its index in *idx; 0, DNNQ_E_NOMEM, or
 * refused past IMP_MAX_SEQ_IDS (each sequence a copy: SequenceInserts
 * into one long sequence would take memory a small file does not). */
static int new_seq(struct nctx *c, const int32_t *ids, size_t n, int32_t *idx)
{
	struct imp *m = c->m;
	if (n > IMP_MAX_SEQ_IDS - m->seq_ids)
		return bad(c, DNNQ_E_UNSUPPORTED, "the sequences take more than %zu tensors in all",
		           IMP_MAX_SEQ_IDS);
	if (m->nseqs >= INT32_MAX || dnnq_ir_grow((void **)&m->seqs, &m->scap, m->nseqs, sizeof *m->seqs))
		return DNNQ_E_NOMEM;
	int32_t *p = malloc((n ? n : 1) * sizeof *p);
	if (!p)
		return DNNQ_E_NOMEM;
	if (n)
		memcpy(p, ids, n * sizeof *p);
	m->seqs[m->nseqs] = (struct imp_seq){ p, n };
	m->seq_ids += n;
	*idx = (int32_t)m->nseqs++;
	return 0;
}

/* Input i as a sequence: its index, IMP_ID_UNKNOWN (quietly: a problem
 * said why), or another status with the problem recorded. */
static int32_t seq_in(struct nctx *c, size_t i)
{
	const char *name = S(c->np->input[i]);
	const struct imp_name *e = imp_find(c->m, name);
	if (e && e->kind == IMP_SEQUENCE)
		return e->idx;
	if (e && e->kind == IMP_UNKNOWN)
		return IMP_ID_UNKNOWN;
	return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.100s' is not a sequence known at import "
	           "(SequenceEmpty's, SequenceConstruct's, SequenceInsert's, SplitToSequence's)",
	           i, name);
}

/* The sequence SequenceInsert makes: seq's tensors with input 1 at the
 * position input 2 gives (the end without it); its index in *idx, *bools
 * whether it holds only bools. */
static int insert(struct nctx *c, int32_t *idx, bool *bools)
{
	int32_t s = seq_in(c, 0), t = imp_lookup(c->m, S(c->np->input[1]), c->who);
	if (t == -1)
		return bad(c, DNNQ_E_FORMAT, "input 1 (the tensor to insert) is empty");
	if (s < 0 || t < 0)
		return s < 0 ? s : t;
	const struct imp_seq *q = &c->m->seqs[s];
	int64_t at = (int64_t)q->n;
	if (c->np->n_input > 2 && *S(c->np->input[2])) {
		int rc = const_int(c, S(c->np->input[2]), "position", &at);
		if (rc)
			return rc;
		if (at < -(int64_t)q->n || at > (int64_t)q->n)
			return bad(c, DNNQ_E_RANGE, "position %lld is outside [-%zu, %zu]", (long long)at,
			           q->n, q->n);
		at += at < 0 ? (int64_t)q->n : 0;
	}
	if (q->n >= IMP_MAX_SEQ)
		return bad(c, DNNQ_E_UNSUPPORTED, "a sequence of more than %d tensors", IMP_MAX_SEQ);
	*bools = imp_is_bool(c->m, S(c->np->input[1])) &&
	         (!q->n || imp_is_bool(c->m, S(c->np->input[0])));
	int32_t ids[IMP_MAX_SEQ];
	memcpy(ids, q->ids, (size_t)at * sizeof *ids);
	ids[at] = t;
	memcpy(ids + at + 1, q->ids + at, (q->n - (size_t)at) * sizeof *ids);
	return new_seq(c, ids, q->n + 1, idx);
}

/* "NAME:what", held to the import's end (a name of the names table);
 * NULL without memory. */
static char *held_name(struct nctx *c, const char *what)
{
	char buf[200];
	snprintf(buf, sizeof buf, "%.150s:%s", c->name, what);
	return imp_hold(c->m, strdup(buf));
}

/* A new int64 constant [n] of v named NAME:what; its name into *out. */
static int ints_const(struct nctx *c, const char *what, const int64_t *v, size_t n,
                      const char **out)
{
	char *name = held_name(c, what);
	if (!name)
		return DNNQ_E_NOMEM;
	*out = name;
	if (imp_find(c->m, name))
		return bad(c, DNNQ_E_FORMAT, "'%.100s', a name its import makes, is a name of the "
		           "model", name);
	struct dnnq_ir_value t = { .name = name, .dtype = DNNQ_IR_S64, .ndim = 1, .dims = { n },
	                           .producer = -1 };
	int rc = imp_const_alloc(c->m, n * sizeof *v, c->who, &t.data);
	if (rc)
		return rc;
	memcpy(t.data, v, n * sizeof *v);
	int32_t id = imp_new_value(c->m, &t, true);
	if (id < 0) {
		free(t.data);
		return id;
	}
	return imp_add_name(c->m, name, IMP_VALUE, id) ? DNNQ_E_NOMEM : 0;
}

/* Node op (name and output out) of inputs in, imported in opset 13 (Slice's
 * and Squeeze's inputs) in c's place; its output's id into *id. */
static int piece_node(struct nctx *c, const char *op, const char *out, const char **in,
                      size_t nin, int32_t *id)
{
	Onnx__NodeProto np = ONNX__NODE_PROTO__INIT;
	np.n_input = nin;
	np.input = (char **)in;
	np.n_output = 1;
	np.output = (char **)&out;
	np.name = (char *)out;
	np.op_type = (char *)op;
	np.domain = (char *)"";
	int64_t was = c->m->opset;
	c->m->opset = 13;
	int rc = imp_node(c->m, &np, c->index);
	c->m->opset = was;
	if (rc)
		return rc;
	*id = imp_lookup(c->m, out, c->who);
	return *id >= 0 || *id == DNNQ_E_NOMEM ? (*id < 0 ? *id : 0) : DNNQ_E_UNSUPPORTED;
}

/* Piece K of n of input xn (lengths len along axis) a Slice (NAME:K, its
 * starts, ends and axes NAME:K:s, :e, :a) [and a Squeeze, NAME:K:sq of
 * axes NAME:a, when squeeze], its value into ids[K]; each name made into
 * made[*nmade++] (at most 4 n + 1). */
static int pieces(struct nctx *c, const char *xn, int64_t axis, const int64_t *len, size_t n,
                  bool squeeze, int32_t *ids, const char **made, size_t *nmade)
{
	int64_t at = 0;
	const char *an, *sn, *en, *out, *sq;
	int rc = ints_const(c, "a", &axis, 1, &an);
	if (rc)
		return rc;
	made[(*nmade)++] = an;
	for (size_t k = 0; k < n; at += len[k++]) {
		char what[40];
		int64_t end = at + len[k];
		snprintf(what, sizeof what, "%zu:s", k);
		if ((rc = ints_const(c, what, &at, 1, &sn)))
			return rc;
		made[(*nmade)++] = sn;
		snprintf(what, sizeof what, "%zu:e", k);
		if ((rc = ints_const(c, what, &end, 1, &en)))
			return rc;
		made[(*nmade)++] = en;
		snprintf(what, sizeof what, "%zu", k);
		if (!(out = held_name(c, what)))
			return DNNQ_E_NOMEM;
		if (!imp_find(c->m, out))       /* else the Slice refuses it, the model's */
			made[(*nmade)++] = out;
		const char *in[4] = { xn, sn, en, an };
		if ((rc = piece_node(c, "Slice", out, in, 4, &ids[k])))
			return rc;
		if (!squeeze)
			continue;
		snprintf(what, sizeof what, "%zu:sq", k);
		if (!(sq = held_name(c, what)))
			return DNNQ_E_NOMEM;
		if (!imp_find(c->m, sq))
			made[(*nmade)++] = sq;
		in[0] = out;
		in[1] = an;
		if ((rc = piece_node(c, "Squeeze", sq, in, 2, &ids[k])))
			return rc;
	}
	return 0;
}

/* SplitToSequence (torch 2's dynamo export of unbind and split: `q, k, v =
 * qkv.unbind(0)`): input 0 cut along axis into pieces of the lengths input
 * 1 gives (a scalar: that length, the last piece shorter; a 1-D constant:
 * each piece's) or, without it, of 1 each, Squeezed on axis unless keepdims
 * is 1: pieces; the sequence holds them, its index in *idx. */
static int split_to_seq(struct nctx *c, int32_t *idx, bool *bools)
{
	const Onnx__NodeProto *np = c->np;
	const char *xn = np->n_input ? S(np->input[0]) : "";
	int64_t axis, keep, len[IMP_MAX_SEQ];
	size_t n = 0;
	int rc;
	if (np->n_input < 1 || np->n_input > 2)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs (1 to 2 expected)", np->n_input);
	int32_t x = imp_lookup(c->m, xn, c->who);
	if (x < 0)
		return x == -1 ? bad(c, DNNQ_E_FORMAT, "input 0 is empty") : x;
	if ((rc = a_int(c, "axis", 0, &axis)) || (rc = a_int(c, "keepdims", 1, &keep)))
		return rc;
	const struct dnnq_ir_value *v = &c->m->ir->values[x];
	uint32_t r = v->ndim;
	if ((rc = norm_axis(c, &axis, r, "axis")))
		return rc;
	/* ONNX's axis in the IR's dims, which keep a batch a Transpose moved
	 * first (import-int.h, moved) */
	int64_t mv = c->m->moved[x],
	        dim = v->dims[!mv || axis > mv ? axis : axis == mv ? 0 : axis + 1];
	bool split = np->n_input > 1 && *S(np->input[1]);
	if (!split) {
		if (dim > IMP_MAX_SEQ)
			return bad(c, DNNQ_E_UNSUPPORTED, "a sequence of more than %d tensors",
			           IMP_MAX_SEQ);
		for (n = 0; n < (size_t)dim; n++)
			len[n] = 1;
	} else {
		int32_t sid = imp_lookup(c->m, S(np->input[1]), c->who);
		if (sid < 0)
			return sid == -1 ? bad(c, DNNQ_E_FORMAT, "input 1 is empty") : sid;
		const struct dnnq_ir_value *sv = &c->m->ir->values[sid];
		size_t k = dnnq_ir_numel(sv, 1);
		if (!sv->data || (sv->dtype != DNNQ_IR_S64 && sv->dtype != DNNQ_IR_S32) ||
		    sv->ndim > 1)
			return bad(c, DNNQ_E_UNSUPPORTED, "input 1 'split' must be a constant integer "
			           "scalar or 1-D tensor");
		if (k > IMP_MAX_SEQ)
			return bad(c, DNNQ_E_UNSUPPORTED, "a sequence of more than %d tensors",
			           IMP_MAX_SEQ);
		int64_t sum = 0;        /* at most 1024 lengths of at most 2^31 */
		for (n = 0; n < k; sum += len[n++]) {
			len[n] = sv->dtype == DNNQ_IR_S64 ? ((const int64_t *)sv->data)[n]
			                                  : ((const int32_t *)sv->data)[n];
			if (sv->ndim ? len[n] < 0 || len[n] > dim : len[n] < 1)
				return bad(c, DNNQ_E_RANGE, "split[%zu] = %lld: want %s%lld", n,
				           (long long)len[n], sv->ndim ? "0.." : "at least ",
				           sv->ndim ? (long long)dim : 1LL);
		}
		if (!sv->ndim) {        /* a scalar: pieces of that length, the last shorter
		                           (one piece when it is longer than the axis) */
			int64_t l = len[0] < dim ? len[0] : dim > 0 ? dim : 1;
			if ((dim + l - 1) / l > IMP_MAX_SEQ)
				return bad(c, DNNQ_E_UNSUPPORTED, "a sequence of more than %d tensors",
				           IMP_MAX_SEQ);
			for (n = 0, sum = 0; sum < dim; sum += len[n++])
				len[n] = l < dim - sum ? l : dim - sum;
		}
		if (sum != dim)
			return bad(c, DNNQ_E_SHAPE, "split's lengths add to %lld, not the %lld of axis "
			           "%lld", (long long)sum, (long long)dim, (long long)axis);
	}
	if (!n)
		return bad(c, DNNQ_E_SHAPE, "axis %lld has 0 elements: an empty sequence",
		           (long long)axis);
	/* the names made, forgotten after: only the sequence names the pieces,
	 * and a Loop's next iteration makes them again */
	const char **made = malloc((4 * n + 1) * sizeof *made);
	size_t nmade = 0;
	int32_t ids[IMP_MAX_SEQ];
	if (!made)
		return DNNQ_E_NOMEM;
	rc = pieces(c, xn, axis, len, n, !split && !keep, ids, made, &nmade);
	for (size_t k = 0; k < nmade; k++)
		imp_forget_name(c->m, made[k]);
	free(made);
	if (rc)
		return rc;
	*bools = imp_is_bool(c->m, xn);
	return new_seq(c, ids, n, idx);
}

int imp_sequence_at(struct nctx *c, bool *unknown)
{
	int64_t at;
	*unknown = false;
	if (c->np->n_input != 2)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs (2 expected)", c->np->n_input);
	int32_t s = seq_in(c, 0);
	if (s == IMP_ID_UNKNOWN)
		*unknown = true;
	if (s < 0)
		return s == IMP_ID_UNKNOWN ? 0 : s;
	int rc = const_int(c, S(c->np->input[1]), "position", &at);
	if (rc)
		return rc;
	const struct imp_seq *q = &c->m->seqs[s];
	if (at < -(int64_t)q->n || at >= (int64_t)q->n)
		return bad(c, DNNQ_E_RANGE, "position %lld is outside [-%zu, %zu)", (long long)at,
		           q->n, q->n);
	c->nin = 1;
	c->in[0] = q->ids[at < 0 ? at + (int64_t)q->n : at];
	return 0;
}

int imp_sequence(struct nctx *c)
{
	const Onnx__NodeProto *np = c->np;
	const char *op = S(np->op_type);
	int32_t idx = -1, ids[IMP_MAX_SEQ];
	int64_t dt;
	bool bools = false;     /* ONNX's seq(tensor(bool)): SequenceEmpty's dtype
	                           says, the others' tensors */
	int rc = 0;
	if (np->n_output != 1)
		rc = bad(c, DNNQ_E_FORMAT, "%zu outputs (1 expected)", np->n_output);
	else if (!strcmp(op, "SequenceInsert"))
		rc = np->n_input < 2 || np->n_input > 3 ?
		     bad(c, DNNQ_E_FORMAT, "%zu inputs (2 to 3 expected)", np->n_input) :
		     insert(c, &idx, &bools);
	else if (!strcmp(op, "SplitToSequence"))
		rc = split_to_seq(c, &idx, &bools);
	else if (np->n_input > IMP_MAX_SEQ)
		rc = bad(c, DNNQ_E_UNSUPPORTED, "a sequence of more than %d tensors", IMP_MAX_SEQ);
	else {      /* SequenceEmpty (no inputs), SequenceConstruct */
		bools = np->n_input ? true : !a_int(c, "dtype", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
		                                    &dt) && dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
		for (size_t i = 0; !rc && i < np->n_input; i++) {
			int32_t id = imp_lookup(c->m, S(np->input[i]), c->who);
			rc = id < 0 ? (id == -1 ? bad(c, DNNQ_E_FORMAT, "input %zu is empty", i) : id) : 0;
			ids[i] = id;
			bools &= imp_is_bool(c->m, S(np->input[i]));
		}
		if (!rc)
			rc = new_seq(c, ids, np->n_input, &idx);
	}
	if (rc == DNNQ_E_NOMEM)
		return rc;
	if (rc)
		return imp_outputs_unknown(c);
	const char *o = S(np->output[0]);
	if (imp_find(c->m, o))
		return bad(c, DNNQ_E_FORMAT, "output '%.100s' is defined twice", o), 0;
	if (!*o || (rc = imp_add_name(c->m, o, IMP_SEQUENCE, idx)))
		return rc;
	imp_mark_bool(c->m, o, bools);
	return 0;
}

int imp_sequence_inputs(struct nctx *c, bool *unknown)
{
	int64_t new_axis;
	*unknown = false;
	int rc = c->np->n_input != 1 ? bad(c, DNNQ_E_FORMAT, "%zu inputs (1 expected)",
	                                   c->np->n_input) : a_int(c, "new_axis", 0, &new_axis);
	if (rc)
		return rc;
	if (new_axis)
		return bad(c, DNNQ_E_UNSUPPORTED, "new_axis = %lld: only 0, a Concat of the tensors",
		           (long long)new_axis);
	int32_t s = seq_in(c, 0);
	if (s == IMP_ID_UNKNOWN)
		*unknown = true;
	if (s < 0)
		return s == IMP_ID_UNKNOWN ? 0 : s;
	const struct imp_seq *q = &c->m->seqs[s];
	if (!q->n)
		return bad(c, DNNQ_E_UNSUPPORTED, "an empty sequence: nothing to concatenate");
	c->nin = q->n;
	memcpy(c->in, q->ids, q->n * sizeof *q->ids);
	return 0;
}
