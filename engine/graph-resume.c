/*
 * engine/graph-resume.c — a run resumed at node k from another graph's
 * values (graph.h dnnq_graph_run_from). dnnq-convert's precision trials
 * differ from their baseline only from the changed unit on: the nodes
 * before it would compute the baseline's values again, bit for bit.
 * What g needs of them is what lives across k: the tensors its nodes
 * before k produce that a node from k on reads (or a view of them does),
 * and the graph outputs among them.
 */
#include <string.h>

#include "engine/graph-internal.h"

/* Tensor i of g, produced before node k, that g still needs at k. */
static bool live_at(const struct dnnq_graph *g, size_t i, size_t k)
{
	const struct gtensor *t = &g->t[i];
	return t->producer >= 0 && (size_t)t->producer < k && t->view_of < 0 &&
	       ((t->last_use >= 0 && (size_t)t->last_use >= k) || t->output_idx >= 0 ||
	        t->out_alias >= 0);
}

/* Whether s and t store their channels in the same order (model-build.c:
 * a graph built where a block's hidden channels take an order of their
 * own, another where that block does not qualify) */
static bool same_order(const struct gtensor *s, const struct gtensor *t)
{
	if (!s->perm || !t->perm)
		return !s->perm && !t->perm;
	return s->perm_n == t->perm_n && !memcmp(s->perm, t->perm, s->perm_n * sizeof *s->perm);
}

int dnnq_graph_run_from(struct dnnq_graph *g, const struct dnnq_graph *src, size_t k,
                        const void *const *inputs, void *const *outputs,
                        const struct dnnq_executor *ex)
{
	if (!g || !src || !src->planned || k > g->nn || k > src->nn)
		return DNNQ_E_INVAL;
	int rc = dnnq_graph_run_nodes(g, inputs, outputs, ex, k, k);
	for (size_t i = 0; !rc && i < g->nt; i++) {
		if (!live_at(g, i, k))
			continue;
		const struct gtensor *t = &g->t[i], *s = &src->t[i];
		/* the same tensor, and src's buffer holds it still: its last
		 * reader in src has not run (or the buffer is the caller's) */
		if (i >= src->nt || !live_at(src, i, k) || s->producer != t->producer ||
		    s->bytes != t->bytes || s->dtype != t->dtype || !s->buf || !t->buf ||
		    !same_order(s, t))
			return DNNQ_E_UNSUPPORTED;
	}
	for (size_t i = 0; !rc && i < g->nt; i++)
		if (live_at(g, i, k))
			memcpy(g->t[i].buf, src->t[i].buf, g->t[i].bytes);
	return rc ? rc : dnnq_graph_run_nodes(g, inputs, outputs, ex, k, g->nn);
}
