/*
 * onnx/import-func.c — a call of a model-local function (ModelProto's
 * functions) is walked as its body, inlined in the call's place.
 *
 * torch 2.1-2.4's dynamo exporter (`torch.onnx.dynamo_export`) wrote every
 * module and every aten operator as a function of its own domain
 * (pkg.onnxscript.torch_lib, pkg.torch.*), and torch's TorchScript exporter
 * does with export_modules_as_functions; ONNX Runtime inlines them when it
 * loads the model. Here the body's nodes are copied with their names made
 * the call's: a formal input or output is the call's actual one at its
 * position (an output the call leaves out, or an input it does, "": an
 * absent optional), any other name CALL/name (CALL the call node's name,
 * unique), each node named CALL/its name (or CALL/OP#k); an attribute that
 * refers to one of the function's (ref_attr_name) is the call's of that
 * name. The copy is walked as an If branch is (imp_walk: in topological
 * order, the graph the folds and merges look at), in the opset the
 * function imports for the default domain (the model's without one), and a
 * call in it is inlined in turn.
 *
 * Refused, naming the call: a referred attribute the call does not give
 * (the function's default is in attribute_proto, a field the 1.12 schema
 * this build reads lacks), a body node with a subgraph (its names would
 * need the same renaming), more inputs or outputs than the function
 * declares, a function that calls itself (directly or not), calls nested
 * deeper than IMP_MAX_CALL_DEPTH, more body nodes in all than IMP_MIN_INLINED
 * or one for each 64 bytes of the model, and the walk past IMP_MAX_WALKED
 * nodes in all (with the If branches and Loop iterations). After one of
 * those the calls left are not walked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/import-int.h"

/* Function body nodes copied in all: one for each 64 bytes of the model
 * (its file, then its external data), at least 2^15. What the copies hold
 * is kept to the import's end, and they become IR nodes: a 2 kB file of 24
 * functions each calling the next twice (2^24 calls) took 1.9 s and 184 MB
 * to stop at 2^17, 0.42 s and 50 MB at 2^15 (bad_fanout.onnx); a real model's functions
 * inline a few nodes for each of its operators, whose weights take far more
 * than 64 bytes. */
#define IMP_MIN_INLINED ((size_t)1 << 15)

/* The prefixes a call's own names may take: CALL, CALL~1, ... (each one
 * taken costs a look-up of every body name). */
#define IMP_CALL_PREFIXES 8

static const char *S(const char *s)
{
	return s ? s : "";
}

const Onnx__FunctionProto *imp_function(const struct imp *m, const char *domain,
                                        const char *op)
{
	for (size_t i = 0; m->model && i < m->model->n_functions; i++) {
		const Onnx__FunctionProto *f = m->model->functions[i];
		if (f && !strcmp(S(f->domain), domain) && !strcmp(S(f->name), op))
			return f;
	}
	return NULL;
}

/* CALL/name, malloc'd (NULL: no memory). */
static char *joined(const char *call, const char *name)
{
	size_t n = strlen(call) + strlen(name) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", call, name);
	return s;
}

static char *join(struct imp *m, const char *call, const char *name)
{
	return imp_hold(m, joined(call, name));
}

/* Body node np (the k-th)'s own name: its name, or OP#k in own. */
static const char *own_name(const Onnx__NodeProto *np, size_t k, char own[96])
{
	if (*S(np->name))
		return np->name;
	snprintf(own, 96, "%.60s#%zu", S(np->op_type), k);
	return own;
}

/* Body name `name` as the call's: a formal input or output the actual one
 * at its position, NULL any other (one of the body's own). */
static const char *actual_name(const struct nctx *c, const Onnx__FunctionProto *f,
                               const char *name)
{
	for (size_t i = 0; i < f->n_input; i++)
		if (!strcmp(S(f->input[i]), name))
			return i < c->np->n_input ? S(c->np->input[i]) : "";
	for (size_t i = 0; i < f->n_output; i++)
		if (!strcmp(S(f->output[i]), name) && i < c->np->n_output)
			return S(c->np->output[i]);
	return NULL;
}

/* Body name `name` as the call's: the actual one, or PRE/name ("" stays
 * ""); NULL: no memory. */
static const char *call_name(struct nctx *c, const Onnx__FunctionProto *f, const char *pre,
                             const char *name)
{
	const char *a = *name ? actual_name(c, f, name) : "";
	return a ? a : join(c->m, pre, name);
}

/* Whether PRE/name for a name of the body's own is a name defined already
 * or one of the call's outputs: 1, 0, or DNNQ_E_NOMEM. */
static int made_taken(struct nctx *c, const Onnx__FunctionProto *f, const char *pre,
                      const char *name)
{
	if (!*name || actual_name(c, f, name))
		return 0;
	char *s = joined(pre, name);
	if (!s)
		return DNNQ_E_NOMEM;
	int taken = imp_find(c->m, s) != NULL;
	for (size_t i = 0; !taken && i < c->np->n_output; i++)
		taken = !strcmp(S(c->np->output[i]), s);
	free(s);
	return taken;
}

/* The model's node names holding a '/' (the only ones a node name a call
 * makes, CALL/NAME or CALL/OP#k, can be), sorted: a node of the model's
 * named so beside the call made the IR's nodes one name twice. */
struct imp_slashed {
	size_t n;
	const char *name[];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* m->slashed, built at the first call: 0 or DNNQ_E_NOMEM. */
static int slashed(struct imp *m)
{
	if (m->slashed)
		return 0;
	const Onnx__GraphProto *g = m->root;
	size_t n = 0;
	for (size_t i = 0; i < g->n_node; i++)
		n += g->node[i] && strchr(S(g->node[i]->name), '/') != NULL;
	struct imp_slashed *s = imp_hold(m, malloc(sizeof *s + n * sizeof *s->name));
	if (!s)
		return DNNQ_E_NOMEM;
	s->n = 0;
	for (size_t i = 0; i < g->n_node; i++)
		if (g->node[i] && strchr(S(g->node[i]->name), '/'))
			s->name[s->n++] = g->node[i]->name;
	qsort(s->name, s->n, sizeof *s->name, by_name);
	m->slashed = s;
	return 0;
}

/* Whether body node k's name made with prefix pre is a node name of the
 * model's: 1, 0, or DNNQ_E_NOMEM. */
static int node_taken(struct nctx *c, const Onnx__FunctionProto *f, const char *pre, size_t k)
{
	const Onnx__NodeProto *np = f->node[k];
	if (!np || !c->m->slashed->n)
		return 0;
	char own[96];
	char *s = joined(pre, own_name(np, k, own));
	if (!s)
		return DNNQ_E_NOMEM;
	const char *key = s;
	int taken = bsearch(&key, c->m->slashed->name, c->m->slashed->n,
	                    sizeof *c->m->slashed->name, by_name) != NULL;
	free(s);
	return taken;
}

/* Whether a name of the body's own made with prefix pre is taken (a value
 * or node name of the model's, or a value of a call before, that it would
 * shadow): 1, 0, or DNNQ_E_NOMEM. */
static int prefix_taken(struct nctx *c, const Onnx__FunctionProto *f, const char *pre)
{
	int rc = slashed(c->m);
	for (size_t k = 0; !rc && k < f->n_node; k++) {
		const Onnx__NodeProto *np = f->node[k];
		rc = node_taken(c, f, pre, k);
		for (size_t i = 0; !rc && np && i < np->n_input; i++)
			rc = made_taken(c, f, pre, S(np->input[i]));
		for (size_t i = 0; !rc && np && i < np->n_output; i++)
			rc = made_taken(c, f, pre, S(np->output[i]));
	}
	return rc;
}

/* The call's attribute `name`, or NULL. */
static Onnx__AttributeProto *call_attr(const struct nctx *c, const char *name)
{
	for (size_t i = 0; i < c->np->n_attribute; i++)
		if (c->np->attribute[i] && !strcmp(S(c->np->attribute[i]->name), name))
			return c->np->attribute[i];
	return NULL;
}

/* Body node k copied into *out (its names, arrays and attributes held):
 * 0, or the problem recorded. */
static int copy_node(struct nctx *c, const Onnx__FunctionProto *f, const char *pre, size_t k,
                     Onnx__NodeProto *out)
{
	struct imp *m = c->m;
	const Onnx__NodeProto *np = f->node[k];
	if (!np)
		return bad(c, DNNQ_E_FORMAT, "function '%.60s': node %zu is empty", S(f->name), k);
	char own[96];
	*out = *np;
	out->name = join(m, pre, own_name(np, k, own));
	out->input = imp_hold(m, calloc(np->n_input + 1, sizeof *out->input));
	out->output = imp_hold(m, calloc(np->n_output + 1, sizeof *out->output));
	out->attribute = imp_hold(m, calloc(np->n_attribute + 1, sizeof *out->attribute));
	Onnx__AttributeProto *at = imp_hold(m, calloc(np->n_attribute + 1, sizeof *at));
	if (!out->name || !out->input || !out->output || !out->attribute || !at)
		return DNNQ_E_NOMEM;
	for (size_t i = 0; i < np->n_input; i++)
		if (!(out->input[i] = (char *)call_name(c, f, pre, S(np->input[i]))))
			return DNNQ_E_NOMEM;
	for (size_t i = 0; i < np->n_output; i++)
		if (!(out->output[i] = (char *)call_name(c, f, pre, S(np->output[i]))))
			return DNNQ_E_NOMEM;
	for (size_t i = 0; i < np->n_attribute; i++) {
		const Onnx__AttributeProto *a = np->attribute[i];
		if (!a)
			return bad(c, DNNQ_E_FORMAT, "function '%.60s': node '%.60s' has an empty "
			           "attribute", S(f->name), S(np->name));
		at[i] = *a;
		if (*S(a->ref_attr_name)) {
			const Onnx__AttributeProto *v = call_attr(c, a->ref_attr_name);
			if (!v)
				return bad(c, DNNQ_E_UNSUPPORTED, "function '%.60s': attribute '%.60s' is "
				           "not given by the call (a function's default is not read)",
				           S(f->name), a->ref_attr_name);
			at[i] = *v;
			at[i].name = a->name;
		}
		/* the body's or one the call gives it (a graph it refers to: read in
		 * the body's scope, not renamed) */
		if (at[i].g || at[i].n_graphs)
			return bad(c, DNNQ_E_UNSUPPORTED, "function '%.60s': node '%.60s' (%.40s) has "
			           "a subgraph: not inlined", S(f->name), S(np->name), S(np->op_type));
		out->attribute[i] = &at[i];
	}
	return 0;
}

int imp_call(struct nctx *c, const Onnx__FunctionProto *f)
{
	struct imp *m = c->m;
	const Onnx__NodeProto *np = c->np;
	if (np->n_input > f->n_input || np->n_output > f->n_output)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs and %zu outputs: function '%.60s' takes %zu "
		           "and gives %zu", np->n_input, np->n_output, S(f->name), f->n_input,
		           f->n_output), imp_outputs_unknown(c);
	/* after one refusal of these, the calls left are not walked (one
	 * problem, not one a call) */
	if (m->calls_refused)
		return imp_outputs_unknown(c);
	for (int i = 0; i < m->calls; i++)
		if (m->call_stack[i] == f)
			return m->calls_refused = true, bad(c, DNNQ_E_FORMAT, "function '%.60s' calls "
			       "itself", S(f->name)), imp_outputs_unknown(c);
	if (m->calls >= IMP_MAX_CALL_DEPTH)
		return m->calls_refused = true, bad(c, DNNQ_E_UNSUPPORTED, "function calls nested "
		       "deeper than %d", IMP_MAX_CALL_DEPTH), imp_outputs_unknown(c);
	size_t most = m->model_bytes / 64 > IMP_MIN_INLINED ? m->model_bytes / 64 : IMP_MIN_INLINED;
	if (f->n_node > IMP_MAX_WALKED - m->walked || f->n_node > most - m->inlined)
		return m->calls_refused = true, bad(c, DNNQ_E_UNSUPPORTED, "function '%.60s''s %zu "
		       "nodes take the inlined functions past %zu nodes (one for each 64 bytes of "
		       "the model, at least %zu) or the walk past %zu", S(f->name), f->n_node, most,
		       IMP_MIN_INLINED, IMP_MAX_WALKED), imp_outputs_unknown(c);
	m->walked += f->n_node;
	m->inlined += f->n_node;
	/* the call's outputs are the body graph's: read after it */
	Onnx__GraphProto *g = imp_hold(m, malloc(sizeof *g));
	Onnx__NodeProto *nodes = imp_hold(m, calloc(f->n_node + 1, sizeof *nodes));
	Onnx__ValueInfoProto *outs = imp_hold(m, calloc(np->n_output + 1, sizeof *outs));
	if (!g || !nodes || !outs)
		return DNNQ_E_NOMEM;
	*g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
	g->node = imp_hold(m, calloc(f->n_node + 1, sizeof *g->node));
	g->output = imp_hold(m, calloc(np->n_output + 1, sizeof *g->output));
	if (!g->node || !g->output)
		return DNNQ_E_NOMEM;
	/* CALL, or CALL~1, ~2, ... when a name of the body's own would be one
	 * defined before (a name of the model of that form, or a call of the
	 * same name), or a node's one of the model's nodes */
	char pre[sizeof c->name + 16];
	int rc;
	snprintf(pre, sizeof pre, "%s", c->name);
	for (unsigned k = 1; (rc = prefix_taken(c, f, pre)) == 1; k++) {
		if (k > IMP_CALL_PREFIXES)
			return bad(c, DNNQ_E_FORMAT, "function '%.60s': its names made as '%s/NAME' "
			           "and '%s~1..%d/NAME' are names of the model", S(f->name), c->name,
			           c->name, IMP_CALL_PREFIXES), imp_outputs_unknown(c);
		snprintf(pre, sizeof pre, "%s~%u", c->name, k);
	}
	for (size_t k = 0; !rc && k < f->n_node; k++) {
		rc = copy_node(c, f, pre, k, &nodes[k]);
		g->node[k] = &nodes[k];
	}
	if (rc)
		return rc == DNNQ_E_NOMEM ? rc : imp_outputs_unknown(c);
	for (size_t i = 0; i < np->n_output; i++) {
		outs[i] = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
		outs[i].name = np->output[i];
		g->output[i] = &outs[i];
	}
	g->name = f->name;
	g->n_node = f->n_node;
	g->n_output = np->n_output;
	int64_t was = m->opset;
	for (size_t i = 0; i < f->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = f->opset_import[i];
		if (o && (!*S(o->domain) || !strcmp(o->domain, "ai.onnx")) && o->has_version &&
		    o->version >= 1 && o->version <= 1000)
			m->opset = o->version;
	}
	m->call_stack[m->calls++] = f;
	rc = imp_walk(m, g);
	m->calls--;
	m->opset = was;
	/* the body's own names are the body's: forgotten, a later call of the
	 * same name (a Loop's next iteration, an If's other branch) makes them
	 * again */
	for (size_t k = 0; k < f->n_node; k++)
		for (size_t i = 0; i < nodes[k].n_output; i++)
			if (f->node[k] && *S(f->node[k]->output[i]) &&
			    !actual_name(c, f, S(f->node[k]->output[i])))
				imp_forget_name(m, nodes[k].output[i]);
	return rc;
}
