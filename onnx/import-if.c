/*
 * onnx/import-if.c — an If whose condition is known at import is inlined.
 *
 * Exporters guard shape-dependent code with If (torch's `if x.dim() == 3`,
 * silero VAD's `if sr == 16000`): with static shapes and the inputs that
 * decide it frozen (--input-value), folding (onnx/import-fold.c) makes the
 * condition a constant. The branch it takes is walked in the If's place,
 * as if its nodes were the graph's: its initializers become constants,
 * names from outer scopes resolve through the one name table (ONNX names
 * are unique across scopes), nested Ifs recurse, and the If's outputs name
 * the branch's outputs. The other branch is never read.
 *
 * A condition only known at run time (a wake-word model that runs its
 * verifier when the detector's score passes 0.5) is settled by running
 * both branches and selecting each output by the condition, as
 * Where(cond, then, else) (imp_select): gated to a condition of one element
 * per sample (ONNX's, with the batch in front) and float outputs that
 * broadcast, so each sample takes its own branch. Otherwise it is refused,
 * naming the graph inputs it depends on.
 *
 * Bounded: nesting depth by the wire check before unpacking (onnx/wire.c:
 * 100 messages, three per If level, so the recursive walk goes at most 33
 * Ifs deep) and the ONNX nodes a walk visits (IMP_MAX_WALKED).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

/* The graph inputs value id depends on, ", "-separated into buf. */
static void inputs_of(const struct dnnq_ir *ir, int32_t id, char *buf, size_t cap)
{
	bool *seen = calloc(ir->nvalues, sizeof *seen);
	int32_t *stack = malloc(ir->nvalues * sizeof *stack);
	size_t n = 0, o = 0;
	buf[0] = '\0';
	if (!seen || !stack)
		goto out;
	stack[n++] = id;
	seen[id] = true;
	while (n) {
		const struct dnnq_ir_value *v = &ir->values[stack[--n]];
		if (v->producer < 0) {
			for (size_t k = 0; !v->data && k < ir->ninputs && o < cap; k++)
				if (&ir->values[ir->inputs[k]] == v)
					o += (size_t)snprintf(buf + o, cap - o, "%s'%.60s'", o ? ", " : "",
					                      v->name);
			continue;
		}
		const struct dnnq_ir_node *p = &ir->nodes[v->producer];
		for (uint32_t i = 0; i < p->ninputs; i++)
			if (p->inputs[i] >= 0 && !seen[p->inputs[i]]) {
				seen[p->inputs[i]] = true;
				stack[n++] = p->inputs[i];
			}
	}
out:
	free(seen);
	free(stack);
}

/* The branch the constant condition cond takes, or NULL (a problem said why). */
static const Onnx__GraphProto *graph_attr(struct nctx *c, const char *want);

/* The branch the constant condition cond takes, or NULL (a problem said
 * why); *both: the condition is dynamic, run both. */
static const Onnx__GraphProto *branch(struct nctx *c, int32_t cond, bool *both)
{
	const struct dnnq_ir_value *v = &c->m->ir->values[cond];
	*both = !v->data && v->dtype == DNNQ_IR_F32 && dnnq_ir_numel(v, 1) == 1;
	if (*both)
		return graph_attr(c, "then_branch");
	if (!v->data) {
		char in[200];
		inputs_of(c->m->ir, cond, in, sizeof in);
		bad(c, DNNQ_E_UNSUPPORTED, "condition '%.100s' is only known at run time%s%s%s: "
		    "dnnq inlines an If whose condition is constant; freeze %s with --input-value "
		    "NAME=V (and fix shapes with --input-shape)", v->name, *in ? " (it depends on " : "",
		    in, *in ? ")" : "", *in ? "those inputs" : "the inputs it depends on");
		return NULL;
	}
	if (dnnq_ir_numel(v, 1) != 1) {
		bad(c, DNNQ_E_SHAPE, "condition '%.100s' has %zu elements, not 1", v->name,
		    dnnq_ir_numel(v, 1));
		return NULL;
	}
	return graph_attr(c, imp_truth(v) ? "then_branch" : "else_branch");
}

bool imp_truth(const struct dnnq_ir_value *v)
{
	if (v->dtype == DNNQ_IR_F32)
		return *(const float *)v->data != 0;
	bool t = false;
	for (size_t b = 0; b < dnnq_ir_dtype_size(v->dtype); b++)
		t |= ((const uint8_t *)v->data)[b] != 0;
	return t;
}

static const Onnx__GraphProto *graph_attr(struct nctx *c, const char *want)
{
	const Onnx__AttributeProto *a = attr(c, want);
	if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH || !a->g) {
		bad(c, DNNQ_E_FORMAT, "attribute '%s' (the branch the condition takes) is missing or "
		    "not a graph", want);
		return NULL;
	}
	if (a->g->n_output != c->np->n_output) {
		bad(c, DNNQ_E_FORMAT, "%s has %zu outputs, the If %zu", want, a->g->n_output,
		    c->np->n_output);
		return NULL;
	}
	if (a->g->n_sparse_initializer) {
		bad(c, DNNQ_E_UNSUPPORTED, "%s: sparse initializers are not supported", want);
		return NULL;
	}
	return a->g;
}

/* The branch's initializers, as constants now: their names would otherwise
 * index the graph being walked when they are read. */
static int initializers(struct nctx *c, const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *t = g->initializer[i];
		const char *name = t ? S(t->name) : "";
		char what[400];
		snprintf(what, sizeof what, "%.200s: branch initializer '%.100s'", c->who, name);
		if (!*name || imp_find(c->m, name)) {
			bad(c, DNNQ_E_FORMAT, "branch initializer %zu: no name, or a name defined "
			    "before ('%.100s')", i, name);
			continue;
		}
		int32_t id = imp_tensor_value(c->m, t, name, what);
		if (id == DNNQ_E_NOMEM)
			return id;
		if (imp_add_name(c->m, name, id < 0 ? IMP_UNKNOWN : IMP_VALUE, id < 0 ? -1 : id))
			return DNNQ_E_NOMEM;
		imp_mark_bool(c->m, name, t->has_data_type &&
		              t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL);
	}
	return 0;
}

/* Each If output names the branch output at its position (a bool if it is). */
static int name_outputs(struct nctx *c, const Onnx__GraphProto *g)
{
	for (size_t k = 0; k < c->np->n_output; k++) {
		const char *o = S(c->np->output[k]);
		const char *from = g->output[k] ? S(g->output[k]->name) : "";
		if (!*o)
			continue;
		if (imp_find(c->m, o)) {
			bad(c, DNNQ_E_FORMAT, "output '%.100s' is defined twice", o);
			continue;
		}
		int32_t id = *from ? imp_lookup(c->m, from, c->who) : DNNQ_E_FORMAT;
		if (id == DNNQ_E_NOMEM)
			return id;
		if (!*from)
			bad(c, DNNQ_E_FORMAT, "branch output %zu has no name", k);
		if (imp_add_name(c->m, o, id < 0 ? IMP_UNKNOWN : IMP_VALUE, id < 0 ? -1 : id))
			return DNNQ_E_NOMEM;
		imp_mark_bool(c->m, o, *from && imp_is_bool(c->m, from));
	}
	return 0;
}

int imp_walk_sub(struct nctx *c, const Onnx__GraphProto *g)
{
	struct imp *m = c->m;
	if (g->n_node > IMP_MAX_WALKED - m->walked)
		return bad(c, DNNQ_E_UNSUPPORTED, "its %s's %zu nodes take the walk past %zu "
		           "nodes", strcmp(S(c->np->op_type), "If") ? "body" : "branch", g->n_node,
		           IMP_MAX_WALKED);
	m->walked += g->n_node;
	int rc = initializers(c, g);
	return rc ? rc : imp_walk(m, g);
}

/* A dynamic condition: both branches walked, each If output the Where of
 * the branches' outputs at its position (nodes NAME, NAME:then, NAME:else;
 * NAME:k for output k of several), a bool when both are. */
static int select_outputs(struct nctx *c, int32_t cond, const Onnx__GraphProto *then)
{
	const Onnx__GraphProto *other = graph_attr(c, "else_branch");
	int rc;
	if (!other)
		return DNNQ_E_FORMAT;
	if ((rc = imp_walk_sub(c, then)) || (rc = imp_walk_sub(c, other)))
		return rc;
	char base[sizeof c->name];
	memcpy(base, c->name, sizeof base);
	for (size_t k = 0; k < c->np->n_output; k++) {
		const char *o = S(c->np->output[k]);
		const char *t = then->output[k] ? S(then->output[k]->name) : "";
		const char *e = other->output[k] ? S(other->output[k]->name) : "";
		if (!*o)
			continue;
		if (!*t || !*e || imp_find(c->m, o))
			return bad(c, DNNQ_E_FORMAT, "output %zu: a branch output has no name, or "
			           "'%.100s' is defined twice", k, o);
		int32_t x = imp_lookup(c->m, t, c->who), y = imp_lookup(c->m, e, c->who), id;
		if (x < 0 || y < 0)
			return x < 0 ? x : y;
		if (c->np->n_output > 1) {       /* NAME:K, hashed past 120 bytes */
			char full[sizeof c->name + 24];
			snprintf(full, sizeof full, "%s:%zu", base, k);
			dnnq_ir_node_name(c->name, full);
		}
		if ((rc = imp_select(c, cond, x, y, &id)) ||
		    (rc = imp_add_name(c->m, o, IMP_VALUE, id)))
			return rc;
		imp_mark_bool(c->m, o, imp_is_bool(c->m, t) && imp_is_bool(c->m, e));
	}
	return 0;
}

int imp_if(struct nctx *c)
{
	struct imp *m = c->m;
	if (c->np->n_input != 1 || c->np->n_output < 1)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs and %zu outputs: an If takes 1 and gives "
		           "at least 1", c->np->n_input, c->np->n_output), imp_outputs_unknown(c);
	int32_t cond = imp_lookup(m, S(c->np->input[0]), c->who);
	if (cond == DNNQ_E_NOMEM)
		return cond;
	if (cond < 0 || !m->known[cond])
		return imp_outputs_unknown(c);
	bool both;
	const Onnx__GraphProto *g = branch(c, cond, &both);
	if (!g)
		return imp_outputs_unknown(c);
	if (both) {
		int rc = select_outputs(c, cond, g);
		return rc && rc != DNNQ_E_NOMEM ? imp_outputs_unknown(c) : rc;
	}
	int rc = imp_walk_sub(c, g);
	if (rc == DNNQ_E_NOMEM || (!rc && (rc = name_outputs(c, g))))
		return rc;
	if (rc)
		return imp_outputs_unknown(c);
	return imp_settled(m, c->name, "If", DNNQ_IR_INLINED);
}
