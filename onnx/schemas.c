/*
 * onnx/schemas.c — a node's attributes against its operator's ONNX schema:
 * an attribute the schema (the greatest since_version <= the model's opset
 * of the default domain) does not define is refused, as ONNX Runtime's
 * "Unrecognized attribute" (docs/onnx.md, "Attributes an operator does not
 * define"). The schemas: onnx/schemas-gen.c (tools/mkschemas.py), sorted by
 * name then since_version, searched by bisection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

/* The schema of op at opset: the last row (op, since <= opset); NULL when
 * the table has none (an operator it does not hold, or newer than opset). */
static const struct imp_schema *schema_at(const char *op, int64_t opset)
{
	size_t lo = 0, hi = imp_nschemas;       /* the first row after (op, opset) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(imp_schemas[mid].op, op);
		if (c < 0 || (!c && imp_schemas[mid].since <= opset))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && !strcmp(imp_schemas[lo - 1].op, op) ? &imp_schemas[lo - 1] : NULL;
}

/* Whether attrs (" a b c ") holds name, one of its words. */
static bool defines(const char *attrs, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = attrs + 1; *p; p += strcspn(p, " ") + 1)
		if (strcspn(p, " ") == n && !memcmp(p, name, n))
			return true;
	return false;
}

/* attrs (" a b c ") as "a, b, c" into list, "none" when empty. */
static void attr_list(const char *attrs, char *list, size_t cap)
{
	size_t n = 0;
	for (const char *p = attrs + 1; *p && n + 3 < cap; p++)
		if (*p != ' ')
			list[n++] = *p;
		else if (p[1]) {
			list[n++] = ',';
			list[n++] = ' ';
		}
	snprintf(list + n, cap - n, "%s", n ? "" : "none");
}

/* Of s's operator, the version nearest s defining name (an attribute that
 * became an input, or one added later); NULL when none does. */
static const struct imp_schema *defined_by(const struct imp_schema *s, const char *name)
{
	const struct imp_schema *first = s, *end = s + 1, *best = NULL;
	while (first > imp_schemas && !strcmp(first[-1].op, s->op))
		first--;
	while (end < imp_schemas + imp_nschemas && !strcmp(end->op, s->op))
		end++;
	for (const struct imp_schema *v = first; v < end; v++)
		if (defines(v->attrs, name) && (!best || abs(v->since - s->since) <
		                                         abs(best->since - s->since)))
			best = v;
	return best;
}

int imp_schema_check(struct imp *m, const Onnx__NodeProto *np, const char *name)
{
	if (m->opset > imp_schema_max_opset)
		return 0;
	const struct imp_schema *s = schema_at(S(np->op_type), m->opset);
	for (size_t i = 0; s && i < np->n_attribute; i++) {
		const char *a = np->attribute[i] ? S(np->attribute[i]->name) : "";
		if (defines(s->attrs, a))
			continue;
		char list[400], was[160] = "";
		attr_list(s->attrs, list, sizeof list);
		const struct imp_schema *v = defined_by(s, a);
		if (v)
			snprintf(was, sizeof was, "; %s-%d defines it", v->op, v->since);
		imp_problem(m, DNNQ_E_FORMAT, "node '%s' (%.60s, opset %lld): unknown attribute "
		            "'%.60s' (%s-%d takes %s%s)", name, s->op, (long long)m->opset, a, s->op,
		            s->since, list, was);
		return DNNQ_E_FORMAT;
	}
	return 0;
}
