/*
 * The graph (graph.h): building and validating, planning (shapes and the
 * liveness-based arena), running. What each operator kind needs is in
 * graph-nodes.c behind struct node_ops.
 */
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/wcache.h"

int dnnq_graph_create(struct dnnq_graph **out)
{
	if (!out)
		return DNNQ_E_INVAL;
	*out = calloc(1, sizeof **out);
	if (!*out)
		return DNNQ_E_NOMEM;
	(*out)->failed = -1;
	return DNNQ_OK;
}

/* Node n's operator freed (its destroy, or free() where it has none). */
static void op_free(struct gnode *n)
{
	if (n->ops->destroy)
		n->ops->destroy(n);
	else
		free(n->op);
}

void dnnq_graph_destroy(struct dnnq_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nn; i++) {
		if (g->n[i].op)
			op_free(&g->n[i]);
		free(g->n[i].aux);
	}
	dnnq_weights_cache_destroy(g->own_cache);    /* after the nodes borrowing from it */
	for (size_t i = 0; i < g->nt; i++) {
		free(g->t[i].const_data);
		free(g->t[i].perm);
	}
	free(g->t);
	free(g->n);
	free(g->inputs);
	free(g->outputs);
	free(g->names);
	free(g->arena);
	free(g->stage);
	free(g);
}

/* FNV-1a: the names table's slot to start at. */
static size_t name_slot(const char *name, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)h & (cap - 1);
}

static bool name_taken(const struct dnnq_graph *g, const char *name)
{
	for (size_t i = g->names_cap ? name_slot(name, g->names_cap) : 0;
	     g->names_cap && g->names[i] >= 0; i = (i + 1) & (g->names_cap - 1))
		if (!strcmp(g->t[g->names[i]].name, name))
			return true;
	return false;
}

/* Tensor id into the names table, doubling it at half full. */
static int name_add(struct dnnq_graph *g, int id)
{
	if (2 * (g->nt + 1) > g->names_cap) {
		size_t cap = g->names_cap ? 2 * g->names_cap : 64;
		int *a = malloc(cap * sizeof *a);
		if (!a)
			return DNNQ_E_NOMEM;
		memset(a, 0xff, cap * sizeof *a);
		free(g->names);
		g->names = a;
		g->names_cap = cap;
		for (int k = 0; k < id; k++)
			name_add(g, k);
	}
	size_t i = name_slot(g->t[id].name, g->names_cap);
	while (g->names[i] >= 0)
		i = (i + 1) & (g->names_cap - 1);
	g->names[i] = id;
	return DNNQ_OK;
}

/* Room for one more element in an array of `used` of *cap; doubles. */
static int grow(void **arr, size_t *cap, size_t used, size_t elem)
{
	if (used < *cap)
		return DNNQ_OK;
	size_t ncap = *cap ? 2 * *cap : 16;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return DNNQ_E_NOMEM;
	*arr = p;
	*cap = ncap;
	return DNNQ_OK;
}

/* The last tensor made taken back (a node or input that failed): out of
 * the names table by backward shift, so no probe chain is left broken. */
static void drop_last_tensor(struct dnnq_graph *g)
{
	int id = (int)--g->nt;
	size_t mask = g->names_cap - 1, i = name_slot(g->t[id].name, g->names_cap);
	while (g->names[i] != id)
		i = (i + 1) & mask;
	for (size_t j = i;;) {
		g->names[i] = -1;
		size_t k;
		do {
			j = (j + 1) & mask;
			if (g->names[j] < 0)
				return;
			k = name_slot(g->t[g->names[j]].name, g->names_cap);
		} while (i <= j ? i < k && k <= j : i < k || k <= j);   /* home in (i, j]: stays */
		g->names[i] = g->names[j];
		i = j;
	}
}

/* A new tensor named `name` (or "<node>:out"); its id, or a negative status. */
static int new_tensor(struct dnnq_graph *g, const char *name, struct dnnq_diag *diag)
{
	if (!name || !name[0] || strlen(name) >= DNNQ_GRAPH_NAME_MAX)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: tensor name '%s': must have 1..%d "
		                     "characters", name ? name : "(null)", DNNQ_GRAPH_NAME_MAX - 1);
	if (name_taken(g, name))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: tensor name '%s' used twice", name);
	if (g->finalized)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: already finalized");
	if (grow((void **)&g->t, &g->capt, g->nt, sizeof *g->t))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	struct gtensor *t = &g->t[g->nt];
	memset(t, 0, sizeof *t);
	strcpy(t->name, name);
	t->producer = t->last_use = t->input_idx = t->output_idx = t->view_of = t->out_alias = -1;
	if (name_add(g, (int)g->nt))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	return (int)g->nt++;
}

static int push_id(int **arr, size_t *n, int id)
{
	int *a = realloc(*arr, (*n + 1) * sizeof *a);
	if (!a)
		return DNNQ_E_NOMEM;
	a[(*n)++] = id;
	*arr = a;
	return DNNQ_OK;
}

/* The largest tensor, in bytes (2^58 with a 64-bit size_t): far more than
 * can be allocated, and small enough that the planner's sums cannot
 * overflow a size_t (an arena offset of at most MAX_ARENA_BYTES plus a
 * size; the staging copies of a node's 16 inputs). */
#define MAX_TENSOR_BYTES (SIZE_MAX >> 6)
#define MAX_ARENA_BYTES (SIZE_MAX >> 2)
#define SIZE_BITS_LIMIT ((int)(sizeof(size_t) * 8 - 6))   /* "2^58" in messages */
/* A node's output dims (graph inputs and constants: 2^24) */
#define MAX_DIM INT32_MAX

/* The bytes of one element: graph tensors are u8 or f32. */
static size_t elem_bytes(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_F32 || dt == DNNQ_DTYPE_S32 ? 4 : 1;
}

/* The bytes of dims[from..ndim) elements of `es` bytes into *bytes; false
 * when a dim is negative or the size passes MAX_TENSOR_BYTES. */
static bool shape_bytes(uint32_t ndim, const int64_t *dims, uint32_t from, size_t es,
                        size_t *bytes)
{
	size_t n = es;
	for (uint32_t i = from; i < ndim; i++)
		if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX || !dnnq_mul_size(n, (size_t)dims[i], &n))
			return false;
	if (n > MAX_TENSOR_BYTES)
		return false;
	*bytes = n;
	return true;
}

static int check_shape(uint32_t ndim, const int64_t *dims, bool batched, size_t es,
                       const char *name, struct dnnq_diag *diag)
{
	if (ndim < 1 || ndim > DNNQ_MAX_DIMS || !dims)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "graph: '%s': rank %u: must be 1..%d",
		                     name, ndim, DNNQ_MAX_DIMS);
	for (uint32_t i = batched ? 1 : 0; i < ndim; i++)
		if (dims[i] < 1 || dims[i] > (1 << 24))
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "graph: '%s': dims[%u] = %lld: must be "
			                     "1..2^24", name, i, (long long)dims[i]);
	size_t bytes;
	if (!shape_bytes(ndim, dims, batched ? 1 : 0, es, &bytes))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: '%s': the size overflows (more than "
		                     "2^%d bytes%s)", name, SIZE_BITS_LIMIT,
		                     batched ? " per batch item" : "");
	return DNNQ_OK;
}

int dnnq_graph_add_input(struct dnnq_graph *g, const char *name, enum dnnq_dtype dt,
                         uint32_t ndim, const int64_t *dims, const struct dnnq_qparams *qp,
                         struct dnnq_diag *diag)
{
	if (!g)
		return DNNQ_E_INVAL;
	int rc = check_shape(ndim, dims, true, elem_bytes(dt), name ? name : "", diag);
	if (rc)
		return rc;
	/* s32: integers as they are (token ids), no parameters */
	bool real = dt == DNNQ_DTYPE_F32 || dt == DNNQ_DTYPE_S32;
	if (dt != DNNQ_DTYPE_U8 && dt != DNNQ_DTYPE_S8 && !real)
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "graph: input '%s': dtype %s: need u8, s8, "
		                     "s32 or f32", name, dnnq_dtype_name(dt));
	struct dnnq_diag qd;
	if (!real && (!qp || dnnq_qparams_check(qp, dt, &qd)))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: input '%s': qparams: %s", name,
		                     qp ? qd.msg : "missing");
	int id = new_tensor(g, name, diag);
	if (id < 0)
		return id;
	if (push_id(&g->inputs, &g->ninputs, id)) {
		drop_last_tensor(g);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	}
	struct gtensor *t = &g->t[id];
	t->dtype = dt;
	t->qp = !real ? *qp : (struct dnnq_qparams){ 0 };
	t->ndim = ndim;
	memcpy(t->dims, dims, ndim * sizeof *dims);
	t->dims[0] = 0;
	t->input_idx = (int)g->ninputs - 1;
	return id;
}

static int add_constant(struct dnnq_graph *g, const char *name, uint32_t ndim,
                        const int64_t *dims, enum dnnq_dtype dt, const struct dnnq_qparams *qp,
                        const void *data, struct dnnq_diag *diag)
{
	int rc = check_shape(ndim, dims, false, 1, name ? name : "", diag);
	struct dnnq_diag qd;
	if (!rc && qp && dnnq_qparams_check(qp, DNNQ_DTYPE_U8, &qd))
		rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: constant '%s': qparams: %s", name, qd.msg);
	if (rc)
		return rc;
	int id = new_tensor(g, name, diag);
	if (id < 0)
		return id;
	struct gtensor *t = &g->t[id];
	t->dtype = dt;
	t->qp = qp ? *qp : (struct dnnq_qparams){ 0 };
	t->ndim = ndim;
	memcpy(t->dims, dims, ndim * sizeof *dims);
	size_t n = gnumel(t) * elem_bytes(dt);
	if (!(t->const_data = malloc(n ? n : 1))) {
		drop_last_tensor(g);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	}
	memcpy(t->const_data, data, n);
	t->bytes = n;
	return id;
}

int dnnq_graph_add_constant(struct dnnq_graph *g, const char *name, uint32_t ndim,
                            const int64_t *dims, const struct dnnq_qparams *qp,
                            const uint8_t *data, struct dnnq_diag *diag)
{
	if (!g || !data || !qp)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: constant: NULL argument");
	return add_constant(g, name, ndim, dims, DNNQ_DTYPE_U8, qp, data, diag);
}

int dnnq_graph_add_constant_f32(struct dnnq_graph *g, const char *name, uint32_t ndim,
                                const int64_t *dims, const float *data, struct dnnq_diag *diag)
{
	if (!g || !data)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: constant: NULL argument");
	return add_constant(g, name, ndim, dims, DNNQ_DTYPE_F32, NULL, data, diag);
}

/* Node n's output as inferred: rank 1..8, dims[0] the batch (0 until
 * planned), every other dim 1..2^31-1, and one batch item's size far from
 * overflowing. Shape inference derives dims from the inputs' (a concat's
 * sum, a pooling or convolution geometry, a reshape's -1); whatever it
 * derives, a dim that makes no sense is refused here, naming the node,
 * before any size is computed from it. A dim 0 other than the batch gave
 * each item what its place in the batch read, and sizes no buffer had: a
 * MatMul's constant B of [3, K, N] broadcast against A's batch put 3
 * items at every batch (96 bytes into a caller's 32), and a ReLU of a
 * constant [1, C] 1 item, which an Add with x [N, C] then read N items of
 * (the arena past it: other requests' values, then a SIGSEGV). */
static int check_output(struct dnnq_graph *g, const struct gnode *n, size_t batch,
                        struct dnnq_diag *diag)
{
	const struct gtensor *t = &g->t[n->out];
	size_t bytes;
	if (t->ndim < 1 || t->ndim > DNNQ_MAX_DIMS)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "graph: node '%s': output rank %u: must be "
		                     "1..%d", n->name, t->ndim, DNNQ_MAX_DIMS);
	if (t->dims[0] != (int64_t)batch) {
		char at[32] = "";
		if (batch)
			snprintf(at, sizeof at, " at batch %zu", batch);
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "graph: node '%s': output dims[0] = %lld%s: "
		                     "dim 0 must be the batch (a node of constants alone, or a "
		                     "constant's dim in the batch's place, gives an item what its "
		                     "place in the batch reads)", n->name, (long long)t->dims[0], at);
	}
	for (uint32_t i = 1; i < t->ndim; i++)
		if (t->dims[i] < 1 || t->dims[i] > MAX_DIM)
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "graph: node '%s': output dims[%u] = "
			                     "%lld: must be 1..%d", n->name, i, (long long)t->dims[i],
			                     MAX_DIM);
	if (!shape_bytes(t->ndim, t->dims, 1, elem_bytes(t->dtype), &bytes))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: node '%s': the output's size "
		                     "overflows (more than 2^%d bytes per batch item)", n->name,
		                     SIZE_BITS_LIMIT);
	return DNNQ_OK;
}

int dnnq_graph_add_node(struct dnnq_graph *g, const struct dnnq_node_desc *d,
                        struct dnnq_diag *diag)
{
	if (!g || !d)
		return DNNQ_E_INVAL;
	const char *name = d->name ? d->name : "";
	const struct dnnq_op_def *def = dnnq_op_get(d->kind);
	if (!def)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: node '%s': kind %d: unknown",
		                     name, (int)d->kind);
	const struct node_ops *ops = d->precision == DNNQ_PRECISION_FP32 ? def->ops_f32
	                           : d->precision == DNNQ_PRECISION_INT8 ? def->ops : NULL;
	if (!ops)
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "graph: node '%s': a %s node has no "
		                     "%s kernel", name, def->name,
		                     d->precision == DNNQ_PRECISION_FP32 ? "fp32" : "such");
	if (d->ninputs < 1 || d->ninputs > DNNQ_GRAPH_MAX_NODE_INPUTS)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: node '%s': %zu inputs", name, d->ninputs);
	for (size_t k = 0; k < d->ninputs; k++)
		if (d->inputs[k] < 0 || (size_t)d->inputs[k] >= g->nt)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: node '%s': inputs[%zu] = %d: "
			                     "no such tensor", name, k, d->inputs[k]);
	if (grow((void **)&g->n, &g->capn, g->nn, sizeof *g->n))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	int out = new_tensor(g, name, diag);
	if (out < 0)
		return out;
	struct gnode *n = &g->n[g->nn];
	memset(n, 0, sizeof *n);
	n->desc = *d;
	n->desc.name = NULL;
	snprintf(n->name, sizeof n->name, "%s", name);
	n->ops = ops;
	n->out = out;
	g->t[out].producer = (int)g->nn;
	/* shapes are known but for the batch: infer them now, so the next node
	 * is checked against them */
	int rc = n->ops->create(g, n, &g->t[out], diag);
	if (!rc)
		rc = n->ops->infer(g, n, &g->t[out], diag);
	if (!rc)
		rc = check_output(g, n, 0, diag);
	/* a create that failed half-way may hold its operator already (the
	 * fp32 and binary adapters allocate their state first) */
	if (rc && n->op)
		op_free(n);
	if (rc) {
		free(n->aux);
		drop_last_tensor(g);
		return rc;
	}
	for (size_t k = 0; k < d->ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		t->last_use = (int)g->nn;
		t->reads++;
	}
	g->nn++;
	return out;
}

int dnnq_graph_add_output(struct dnnq_graph *g, int tensor, struct dnnq_diag *diag)
{
	if (!g || tensor < 0 || (size_t)tensor >= g->nt)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: output: tensor %d: no such tensor", tensor);
	struct gtensor *t = &g->t[tensor];
	if (t->output_idx >= 0 || t->producer < 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: output '%s': %s", t->name,
		                     t->output_idx >= 0 ? "already an output"
		                                        : "graph inputs and constants cannot be outputs");
	if (push_id(&g->outputs, &g->noutputs, tensor))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	t->output_idx = (int)g->noutputs - 1;
	return DNNQ_OK;
}

/* The tensor whose buffer t uses (following reshape views). */
static struct gtensor *base_of(struct dnnq_graph *g, struct gtensor *t)
{
	while (t->view_of >= 0)
		t = &g->t[t->view_of];
	return t;
}

/* How many node inputs name each tensor (reads[t]) and whether a view is
 * made of it (viewed[t]): one pass, so fusing is linear in the node count. */
static int count_reads(const struct dnnq_graph *g, size_t **reads, bool **viewed)
{
	*reads = calloc(g->nt ? g->nt : 1, sizeof **reads);
	*viewed = calloc(g->nt ? g->nt : 1, sizeof **viewed);
	if (!*reads || !*viewed)
		return DNNQ_E_NOMEM;
	for (size_t i = 0; i < g->nn; i++)
		for (size_t k = 0; k < g->n[i].desc.ninputs; k++)
			(*reads)[g->n[i].desc.inputs[k]]++;
	for (size_t i = 0; i < g->nt; i++)
		if (g->t[i].view_of >= 0)
			(*viewed)[g->t[i].view_of] = true;
	return DNNQ_OK;
}

/*
 * A table activation (a HardSwish, Sigmoid, ...) whose input is a
 * convolution's u8 output that nothing else reads becomes part of that
 * convolution: each of the convolution's tasks puts what it just stored
 * through the table, while it is in L1, and the activation node does not
 * run (no pass over memory, no fork and join of its own). So does an
 * elementwise node (a residual Add, SumRelu, ...: every input full size)
 * whose latest input is such an output, its other inputs made before
 * that convolution: each task, after storing a tile (and putting it
 * through a fused table), runs the node's kernel on that tile's elements,
 * reading the other inputs' same elements; on two threads each task adds
 * the skip rows of the tile it made, where the node apart read the half
 * the other core wrote. The node's output is a view of the convolution's
 * (an Add wrote in place over one input anyway), so the bytes are those
 * of the two nodes run one after the other. The shadow run (g->unfused)
 * runs them apart again, the node in place, so that each reports its own
 * output.
 */
static int fused_input(const struct dnnq_graph *g, const struct gnode *n)
{
	if (dnnq_node_table(n))
		return n->desc.ninputs == 1 ? n->desc.inputs[0] : -1;
	if (!dnnq_node_runs_at(n))
		return -1;
	int t = n->desc.inputs[0];
	for (size_t k = 1; k < n->desc.ninputs; k++)
		if (g->t[n->desc.inputs[k]].producer > g->t[t].producer)
			t = n->desc.inputs[k];
	return t;
}

static int fuse_into_convs(struct dnnq_graph *g)
{
	size_t *reads;
	bool *viewed;
	int rc = count_reads(g, &reads, &viewed);
	for (size_t i = 0; !rc && i < g->nn; i++) {
		struct gnode *a = &g->n[i];
		int t = fused_input(g, a);
		if (t < 0)
			continue;
		struct gtensor *x = &g->t[t], *y = &g->t[a->out];
		struct gnode *p = x->producer >= 0 ? &g->n[x->producer] : NULL;
		if (!p || !dnnq_node_takes_table(p) || x->dtype != DNNQ_DTYPE_U8 ||
		    x->view_of >= 0 || x->output_idx >= 0 || reads[t] != 1 || viewed[t])
			continue;
		y->view_of = t;
		viewed[t] = true;   /* one node a convolution */
		if (dnnq_node_table(a))
			p->post_table = dnnq_node_table(a);
		else
			p->post_eltwise = a;
		a->fused = true;
	}
	free(reads);
	free(viewed);
	return rc;
}

/*
 * A node made pixel by pixel from one full-size input and a per-channel
 * row (dnnq_node_by_pixel: a squeeze-and-excitation scale's Mul), whose
 * output only a 1x1 convolution reads, runs in that convolution's tasks:
 * each makes the pixels of its row block just before its GEMM reads them
 * (where every task has all the columns; else all the pixels first, as
 * the node would), and the node does not run. That takes the node's fork
 * and join off the run and its output out of memory and back; on two
 * threads each task scales the rows the depthwise convolution before it
 * stored on the same thread. The node's inputs live until the
 * convolution runs; its output stays where the plan put it, so the bytes
 * are those of the two nodes run one after the other. The shadow run
 * runs the node apart again.
 */
static int fuse_into_inputs(struct dnnq_graph *g)
{
	size_t *reads;
	bool *viewed;
	int rc = count_reads(g, &reads, &viewed);
	for (size_t i = 0; !rc && i < g->nn; i++) {
		struct gnode *p = &g->n[i];
		if (!dnnq_node_takes_pre(p))
			continue;
		int t = p->desc.inputs[0];
		struct gtensor *x = &g->t[t];
		struct gnode *a = x->producer >= 0 ? &g->n[x->producer] : NULL;
		if (!a || a->fused || !dnnq_node_by_pixel(g, a) || x->view_of >= 0 ||
		    x->output_idx >= 0 || reads[t] != 1 || viewed[t])
			continue;
		for (size_t k = 0; k < a->desc.ninputs; k++)
			if (gin(g, a, k)->last_use < (int)i)
				gin(g, a, k)->last_use = (int)i;
		p->pre_node = a;
		a->fused = true;
	}
	free(reads);
	free(viewed);
	return rc;
}

/*
 * A global average pool (int8) of a depthwise convolution's output, or of
 * a node fused into one (its output a view of the convolution's), takes
 * that convolution's sums: its
 * tasks add up, per output row and channel, the values they just stored
 * (after the table), and the pool adds n x oh rows of sums instead of
 * reading n x oh x ow pixels, half of them from the other core's cache.
 * The sums are exact, so the bytes are the pool's on the output. Squeeze-
 * and-excitation blocks pool each depthwise output this way; the pool
 * runs serially, so what it reads is time no other thread shares. The
 * shadow run (g->unfused) pools the output again.
 */
static void fuse_pools(struct dnnq_graph *g)
{
	for (size_t i = 0; i < g->nn; i++) {
		struct gnode *p = &g->n[i];
		const struct gtensor *x = gin(g, p, 0);
		if (!dnnq_node_pools_sums(p) || x->producer < 0)
			continue;
		const struct gnode *a = &g->n[x->producer];
		if (a->fused)     /* its output is a view of the convolution's */
			x = &g->t[g->t[a->out].view_of];
		if (x->producer < 0 || !dnnq_node_sums_rows(&g->n[x->producer]))
			continue;
		g->n[x->producer].post_sums = true;
		p->sums_of = &g->n[x->producer];
	}
}

/* t lives until node i at least. */
static void live_until(struct gtensor *t, size_t i)
{
	if (t->last_use < (int)i)
		t->last_use = (int)i;
}

/* The 1x1 convolution (dnnq_node_takes_pre, no fused input) that alone
 * reads depthwise node d's output (through a fused table), right after
 * it, or NULL. */
static struct gnode *band_projection(struct dnnq_graph *g, const struct gnode *d,
                                     const size_t *reads, const bool *viewed)
{
	const struct gtensor *y = &g->t[d->out];
	int yi = d->out;
	size_t i = (size_t)(d - g->n) + 1;
	for (; i < g->nn && g->n[i].fused; i++)
		if (g->t[g->n[i].out].view_of == yi && reads[yi] == 1)
			yi = g->n[i].out;   /* the fused table's output */
	if (i >= g->nn || (yi == d->out && viewed[d->out]) || y->output_idx >= 0 ||
	    g->t[yi].output_idx >= 0 || reads[yi] != 1)
		return NULL;
	struct gnode *p = &g->n[i];
	return dnnq_node_takes_pre(p) && !p->pre_node && p->desc.inputs[0] == yi ? p : NULL;
}

/*
 * A 1x1 convolution (stride 1, int8: dnnq_node_takes_pre) with no fused
 * input or elementwise node, whose output (through a fused table) only a
 * depthwise convolution right after it reads (an inverted-residual
 * block's expansion), runs with that one by bands of its output rows
 * (dnnq_conv_run_bands, on several threads: on one they run one after
 * the other; not on the AVX2 kernels: dnnq_conv_bands_pay), and so does
 * the 1x1 convolution that alone reads the depthwise output right after
 * it (the block's projection, its residual Add fused; not where a
 * squeeze-and-excitation scale comes between, which needs the whole
 * depthwise output): each thread makes the expansion's rows its band
 * reads, the halo rows the band beside it makes too, in a private copy
 * in the staging buffer, then its band's rows of the others, so the
 * block's hidden tensor never crosses between the cores and the block
 * takes one fork and join, not two. What the
 * expansion reads lives until the last of them has run (the plan places
 * their outputs clear of it). The others do not run as nodes (fused);
 * the shadow run and dnnq_graph_run_nodes run them apart. Before
 * chain_convs: such an expansion is not chained to the projection before
 * it (docs/graph.md, "Bands").
 */
static int band_convs(struct dnnq_graph *g)
{
	size_t *reads;
	bool *viewed;
	int rc = count_reads(g, &reads, &viewed);
	for (size_t i = 0; !rc && i < g->nn; i++) {
		struct gnode *d = &g->n[i];
		if (d->fused || !dnnq_node_sums_rows(d) || d->post_eltwise)
			continue;
		int xi = d->desc.inputs[0], bi = g->t[xi].view_of >= 0 ? g->t[xi].view_of : xi;
		struct gtensor *x = &g->t[xi], *b = &g->t[bi];
		if (b->producer < 0 || b->view_of >= 0 || x->output_idx >= 0 || b->output_idx >= 0 ||
		    reads[xi] != 1 || (bi != xi && reads[bi] != 1) || (bi == xi && viewed[bi]))
			continue;
		struct gnode *e = &g->n[b->producer];
		bool apart = e->fused || e->pre_node || e->post_eltwise || e->bands ||
		             !dnnq_node_runs_bands(e);
		for (size_t k = (size_t)b->producer + 1; k < i && !apart; k++)
			apart = !g->n[k].fused;
		if (apart)
			continue;
		e->bands = d;
		d->fused = true;
		size_t last = i;
		struct gnode *p = band_projection(g, d, reads, viewed);
		if (p) {
			d->chain = p;
			p->fused = true;
			last = (size_t)(p - g->n);
		}
		for (size_t k = 0; k < e->desc.ninputs; k++)
			live_until(gin(g, e, k), last);
	}
	free(reads);
	free(viewed);
	return rc;
}

/*
 * A 1x1 convolution (stride 1, int8: dnnq_node_takes_pre) whose input is
 * the output of a 1x1 convolution before it, as that one stores it (its
 * fused table and residual Add applied), runs in that one's tasks: each
 * makes a block of the first's output pixels and then the second's of the
 * same pixels (dnnq_conv_run_chain; on several threads: on one the two
 * run one after the other), so the pair takes one fork and join, not
 * two, and the second reads rows its own thread just wrote (an
 * inverted-residual block's projection and the next block's expansion).
 * Only where every node between them does not run (fused), so that the
 * second reads nothing made after the first. Since a task of the second
 * may run while another thread's task of the first still reads its input,
 * what the first's tasks read (its inputs, a scale made in its tasks, a
 * fused Add's skip term) lives until the second has run: the plan places
 * the second's output clear of it. The second does not run as a node
 * (fused); the shadow run and dnnq_graph_run_nodes run the two apart.
 */
static void chain_convs(struct dnnq_graph *g)
{
	for (size_t i = 0; i < g->nn; i++) {
		struct gnode *e = &g->n[i];
		if (e->fused || e->pre_node || e->bands || !dnnq_node_takes_pre(e))
			continue;
		const struct gtensor *x = gin(g, e, 0), *b = x;
		if (x->view_of >= 0 && x->producer >= 0 && g->n[x->producer].fused)
			b = &g->t[x->view_of];   /* a fused Add's output: the convolution's */
		if (b->producer < 0 || b->view_of >= 0 || x->output_idx >= 0 || b->output_idx >= 0)
			continue;
		struct gnode *p = &g->n[b->producer];
		bool apart = p->fused || p->chain || !dnnq_node_takes_pre(p);
		for (size_t k = (size_t)b->producer + 1; k < i && !apart; k++)
			apart = !g->n[k].fused;
		if (apart)
			continue;
		const struct gnode *readers[] = { p, p->pre_node, p->post_eltwise };
		for (size_t r = 0; r < sizeof readers / sizeof *readers; r++)
			for (size_t k = 0; readers[r] && k < readers[r]->desc.ninputs; k++)
				live_until(gin(g, readers[r], k), i);
		p->chain = e;
		e->fused = true;
	}
}

int dnnq_graph_finalize(struct dnnq_graph *g, struct dnnq_diag *diag)
{
	if (!g || g->finalized)
		return DNNQ_E_INVAL;
	if (g->noutputs == 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: no outputs");
	/* a graph input no node reads is kept (ONNX Runtime's signature: the
	 * caller gives it, and it is ignored): not in the arena, its buffer
	 * bound by resolve() and never read */
	for (size_t i = 0; i < g->nt; i++) {
		struct gtensor *t = &g->t[i];
		if (t->last_use < 0 && t->output_idx < 0 && t->input_idx < 0)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: %s '%s' is never used",
			                     t->producer >= 0 ? "tensor of node" : "constant", t->name);
	}
	if (fuse_into_convs(g) || fuse_into_inputs(g))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	fuse_pools(g);
	if (band_convs(g))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	chain_convs(g);
	/* views keep their base alive; an output that is a view writes through
	 * its base, which must then be computed by a node */
	for (size_t i = 0; i < g->nt; i++) {
		struct gtensor *t = &g->t[i], *b = base_of(g, t);
		if (b == t)
			continue;
		if (t->last_use > b->last_use)
			b->last_use = t->last_use;
		if (t->output_idx >= 0) {
			if (b->producer < 0 || b->output_idx >= 0 || b->out_alias >= 0)
				return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "graph: output '%s' is a "
				                     "view of '%s', which is already bound", t->name, b->name);
			b->out_alias = t->output_idx;
		}
	}
	g->finalized = true;
	return DNNQ_OK;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* First fit: the lowest offset where t does not overlap any of the `n`
 * tensors of live[] (alive while t is made, sorted by offset). One sweep:
 * a tensor passed below off stays below it as off grows. */
static size_t place(const struct dnnq_graph *g, const struct gtensor *t, const int *live,
                    size_t n)
{
	size_t off = 0;
	for (size_t j = 0; j < n; j++) {
		const struct gtensor *u = &g->t[live[j]];
		if (off < u->offset + u->bytes && u->offset < off + t->bytes)
			off = align64(u->offset + u->bytes);
	}
	return off;
}

/* Tensor ti (placed) into live[] (n of them, in offset order). Tensors are
 * placed in the order their nodes run, so one dead before a tensor's node
 * is dead for every later one too and leaves live[] for good: the planner
 * is linear in the node count times the live set (a chain: two). */
static void live_insert(const struct dnnq_graph *g, int *live, size_t *n, int ti)
{
	size_t at = *n;
	for (; at > 0 && g->t[live[at - 1]].offset > g->t[ti].offset; at--)
		live[at] = live[at - 1];
	live[at] = ti;
	(*n)++;
}

/* t's buffer is the caller's (a graph input or output, or a view of
 * one): in dnnqd, memory a client may rewrite at any moment. */
static bool caller_bound(struct dnnq_graph *g, struct gtensor *t)
{
	const struct gtensor *b = base_of(g, t);
	return b->input_idx >= 0 || b->output_idx >= 0 || b->out_alias >= 0;
}

/* The bytes apart of the threads' private copies of node n's output in
 * the staging buffer when it runs by bands with the depthwise node after
 * it (band_convs), else 0: one item's, at every batch, though only a run
 * of one item runs by bands: the buffer only grows, so that a graph's
 * cost at a larger batch (dnnqd's memory bound at max_batch) counts what
 * its plan at batch 1 (dnnqd's warm-up) took. A convolution stages no
 * input, so the copies take the buffer from its start. */
static size_t band_stride(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct gtensor *t = &g->t[n->out];
	return n->bands && t->ndim > 0 && t->dims[0] > 0 ? align64(t->bytes / (size_t)t->dims[0])
	                                                 : 0;
}

/* The private bytes node n's caller-bound inputs need, if it wants them
 * stable. */
static size_t stage_need(struct dnnq_graph *g, const struct gnode *n)
{
	size_t need = 0;
	for (size_t k = 0; n->ops->stable_inputs && k < n->desc.ninputs; k++)
		if (caller_bound(g, gin(g, n, k)))
			need += align64(gin(g, n, k)->bytes);
	return need;
}

static bool in_arena(const struct gtensor *t)
{
	return t->producer >= 0 && t->view_of < 0 && t->output_idx < 0 && t->out_alias < 0;
}

/* The input whose buffer t may take (in place): input 0 of an operator that
 * allows it, in the arena, as big, and read by nothing after t's node. */
static struct gtensor *inplace_input(struct dnnq_graph *g, const struct gtensor *t)
{
	const struct gnode *n = &g->n[t->producer];
	if (!n->ops->inplace)
		return NULL;
	struct gtensor *u = gin(g, n, 0);
	if (!in_arena(u) || u->last_use != t->producer || u->bytes != t->bytes ||
	    u->dtype != t->dtype || u->offset == SIZE_MAX)
		return NULL;
	return u;
}

/* *buf holds at least `need` bytes (64-byte aligned), growing it. */
static int grow_buffer(uint8_t **buf, size_t *cap, size_t need, const char *what,
                       struct dnnq_diag *diag)
{
	if (need <= *cap)
		return DNNQ_OK;
	uint8_t *a = dnnq_aligned_alloc(need);
	if (!a)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: %s of %zu bytes", what, need);
	free(*buf);
	*buf = a;
	*cap = need;
	return DNNQ_OK;
}

/* A conv's or FC's multiply-adds per output element (0 for other kinds),
 * and into *outc its output channels (its weights: outc rows of that). */
static uint64_t macs_per_output(const struct gnode *n, uint64_t *outc)
{
	bool f32 = n->desc.precision == DNNQ_PRECISION_FP32;
	*outc = 0;
	if (n->desc.kind == DNNQ_NODE_CONV) {
		size_t cin = f32 ? n->desc.op.conv_f32.cin : n->desc.op.conv.cin;
		size_t groups = f32 ? n->desc.op.conv_f32.groups : n->desc.op.conv.groups;
		size_t kh = f32 ? n->desc.op.conv_f32.kh : n->desc.op.conv.kh;
		size_t kw = f32 ? n->desc.op.conv_f32.kw : n->desc.op.conv.kw;
		*outc = f32 ? n->desc.op.conv_f32.cout : n->desc.op.conv.cout;
		return (uint64_t)(groups ? cin / groups : 0) * kh * kw;
	}
	if (n->desc.kind == DNNQ_NODE_FC) {
		*outc = f32 ? n->desc.op.fc_f32.n : n->desc.op.fc.n;
		return f32 ? n->desc.op.fc_f32.k : n->desc.op.fc.k;
	}
	return 0;
}

/* A conv's or FC's multiply-adds at the current shapes; 0 for other kinds. */
static uint64_t node_macs(const struct dnnq_graph *g, const struct gnode *n)
{
	uint64_t outc;
	return (uint64_t)gnumel(&g->t[n->out]) * macs_per_output(n, &outc);
}

/* The bytes of a conv's or FC's weights (0 for other kinds): read once a
 * run, whatever the output's size. */
static uint64_t node_weight_bytes(const struct gnode *n)
{
	uint64_t outc, per = macs_per_output(n, &outc);
	return outc * per * (n->desc.precision == DNNQ_PRECISION_FP32 ? sizeof(float) : 1);
}

/* The bytes node n's inputs and output hold at the planned shapes. */
static uint64_t node_bytes(const struct dnnq_graph *g, const struct gnode *n)
{
	uint64_t bytes = g->t[n->out].bytes;
	for (size_t k = 0; k < n->desc.ninputs; k++)
		bytes += g->t[n->desc.inputs[k]].bytes;
	return bytes;
}

/*
 * Which nodes run on the calling thread alone whatever the executor: those
 * whose work is below what handing half of it to another thread costs.
 * Work is counted in units of about 0.1 ns of one Zen 4 core: a byte a
 * node reads or writes, its weights' included (a LUT or elementwise pass
 * moves ~10 GB/s; so does a convolution of one output pixel, which reads
 * every weight for one multiply-add: mobilenet_v3_small's squeeze-excite
 * 1x1 convolutions of 576 x 144 weights took 6-9 us, not the 1 us their
 * multiply-adds alone predict), or 8 multiply-adds (a VNNI convolution
 * does ~80 G/s). A job of the pool (daemon/pool.c) costs ~0.6 us to
 * fork and join with a spinning worker and several us when that worker
 * is not on a CPU (a shared host); measured on this machine class (2-core
 * EPYC VM), a 2-task LUT pass broke even at 8-16 KiB, ~6-12 us of work.
 * SERIAL_WORK, ~3 us, keeps the SE blocks' pools and their 1x1x1
 * convolutions up to ~30 K weights, small Adds and activations serial and
 * splits everything bigger. The decision depends
 * on shapes only, and kernels split work so that the result does not
 * depend on the thread count, so it never changes an output.
 */
#define SERIAL_WORK ((uint64_t)1 << 15)
#define MACS_PER_UNIT 8

static void plan_serial(struct dnnq_graph *g)
{
	for (size_t i = 0; i < g->nn; i++) {
		struct gnode *n = &g->n[i];
		n->serial = node_bytes(g, n) + node_weight_bytes(n) +
		            node_macs(g, n) / MACS_PER_UNIT +
		            (n->pre_node ? node_bytes(g, n->pre_node) : 0) < SERIAL_WORK;
	}
}

/* Shapes, arena offsets and sizes at `batch`, nothing allocated: *arena
 * and *stage are the bytes the arena and the staging buffer need on
 * nthreads threads. */
static int layout(struct dnnq_graph *g, size_t batch, unsigned nthreads, size_t *arena,
                  size_t *stage, struct dnnq_diag *diag)
{
	if (!g || !g->finalized)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "graph: plan before finalize");
	if (batch < 1 || batch > (1u << 16))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: batch %zu: must be 1..65536", batch);
	g->planned = false;
	for (size_t i = 0; i < g->ninputs; i++)
		g->t[g->inputs[i]].dims[0] = (int64_t)batch;
	for (size_t i = 0; i < g->nn; i++) {
		struct gnode *n = &g->n[i];
		int rc = n->ops->infer(g, n, &g->t[n->out], diag);
		if (!rc)
			rc = check_output(g, n, batch, diag);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < g->nt; i++) {
		struct gtensor *t = &g->t[i];
		if (!t->const_data &&
		    !shape_bytes(t->ndim, t->dims, 0, elem_bytes(t->dtype), &t->bytes))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: tensor '%s': at batch %zu the "
			                     "size overflows (more than 2^%d bytes)", t->name, batch,
			                     SIZE_BITS_LIMIT);
		t->offset = SIZE_MAX;
	}
	int *live = malloc((g->nt ? g->nt : 1) * sizeof *live);
	if (!live)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "graph: out of memory");
	size_t total = 0, nlive = 0;
	int rc = DNNQ_OK;
	/* every placed tensor ends by MAX_ARENA_BYTES and is at most
	 * MAX_TENSOR_BYTES: place()'s offsets and ends cannot overflow */
	for (size_t i = 0; i < g->nt && !rc; i++) {
		struct gtensor *t = &g->t[i];
		if (!in_arena(t))
			continue;
		struct gtensor *u = inplace_input(g, t);
		size_t k = 0;
		for (size_t j = 0; j < nlive; j++)      /* dead before t's node: gone */
			if (g->t[live[j]].last_use >= t->producer)
				live[k++] = live[j];
		nlive = k;
		t->offset = u ? u->offset : place(g, t, live, nlive);
		if (t->offset + t->bytes > MAX_ARENA_BYTES)
			rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "graph: tensor '%s': at batch %zu the "
			                   "arena passes 2^%d bytes", t->name, batch,
			                   (int)(sizeof(size_t) * 8 - 2));
		else if (align64(t->offset + t->bytes) > total)
			total = align64(t->offset + t->bytes);
		live_insert(g, live, &nlive, (int)i);
	}
	free(live);
	*stage = 0;
	for (size_t i = 0; i < g->nn; i++) {
		size_t need = stage_need(g, &g->n[i]);
		size_t bands = nthreads > 1 ? band_stride(g, &g->n[i]) * nthreads : 0;
		*stage = need > *stage ? need : *stage;
		*stage = bands > *stage ? bands : *stage;
	}
	*arena = total;
	return rc;
}

/* The activation arena's bytes for `total`: rounded up to whole huge
 * pages, which dnnq_aligned_alloc makes huge, where that adds at most half
 * a huge page. Every node streams its input and output through the arena,
 * and a stream through 4 KiB pages takes a TLB entry, often a page walk,
 * every 4 KiB (ResNet-18's 1.15 MB arena: its stem 0.98x, layer2 0.94x on
 * AVX2, 0.3 MB more peak RSS; docs/gemm.md, "F(4, 3) on the fly at its
 * bounds; huge pages"). */
static size_t arena_size(size_t total)
{
	if (total > SIZE_MAX - DNNQ_HUGE_PAGE)
		return total;
	size_t up = (total + DNNQ_HUGE_PAGE - 1) & ~(DNNQ_HUGE_PAGE - 1);
	return up - total <= DNNQ_HUGE_PAGE / 2 ? up : total;
}

int dnnq_graph_plan(struct dnnq_graph *g, size_t batch, unsigned nthreads,
                    struct dnnq_diag *diag)
{
	size_t total, stage;
	int rc = layout(g, batch, nthreads, &total, &stage, diag);
	if (!rc)
		rc = grow_buffer(&g->arena, &g->arena_bytes, arena_size(total), "arena", diag);
	if (!rc)
		rc = grow_buffer(&g->stage, &g->stage_bytes, stage, "staging buffer", diag);
	if (rc)
		return rc;
	/* under ASan, the arena past what this plan lays out is poisoned (a
	 * node writing past the last tensor is reported, as when the arena
	 * was that size): the rounding to huge pages, or a larger batch's
	 * plan before, left room there that took the bytes unseen */
	g->arena_used = g->arena ? dnnq_aligned_size(total) : 0;
	if (g->arena) {
		ASAN_UNPOISON_MEMORY_REGION(g->arena, g->arena_used);
		ASAN_POISON_MEMORY_REGION(g->arena + g->arena_used,
		                          dnnq_aligned_size(g->arena_bytes) - g->arena_used);
	}
	plan_serial(g);
	g->batch = batch;
	g->nthreads = nthreads ? nthreads : 1;
	g->planned = true;
	return DNNQ_OK;
}

int dnnq_graph_take_buffers(struct dnnq_graph *dst, struct dnnq_graph *src)
{
	if (!dst || !src || dst == src || dst->planned)
		return DNNQ_E_INVAL;
	free(dst->arena);
	free(dst->stage);
	dst->arena = src->arena;
	dst->arena_bytes = src->arena_bytes;
	dst->stage = src->stage;
	dst->stage_bytes = src->stage_bytes;
	src->arena = src->stage = NULL;
	src->arena_bytes = src->arena_used = src->stage_bytes = 0;
	src->planned = false;
	return DNNQ_OK;
}

/* Node n's operations a run at the laid-out shapes: a byte read or written,
 * a multiply-add, a pooling window's tap each count one. */
static uint64_t node_work(const struct dnnq_graph *g, const struct gnode *n)
{
	uint64_t w = node_bytes(g, n) + node_weight_bytes(n) + node_macs(g, n);
	if (n->desc.kind == DNNQ_NODE_MAXPOOL || n->desc.kind == DNNQ_NODE_AVGPOOL) {
		const struct dnnq_pooling_geom *p = n->desc.kind == DNNQ_NODE_MAXPOOL
			? &n->desc.op.maxpool.geom : &n->desc.op.avgpool.geom;
		w += (uint64_t)gnumel(&g->t[n->out]) * (uint64_t)p->kernel_h * (uint64_t)p->kernel_w;
	}
	const struct dnnq_op_def *def = dnnq_op_get(n->desc.kind);
	if (def && def->work)
		w += def->work(g, n);
	return w;
}

int dnnq_graph_cost(struct dnnq_graph *g, size_t batch, unsigned nthreads,
                    struct dnnq_graph_cost *out, struct dnnq_diag *diag)
{
	size_t arena, stage;
	memset(out, 0, sizeof *out);
	int rc = layout(g, batch, nthreads, &arena, &stage, diag);
	if (rc)
		return rc;
	out->bytes = (uint64_t)arena + stage;
	out->graph_bytes = (uint64_t)g->capn * sizeof *g->n + (uint64_t)g->capt * sizeof *g->t;
	for (size_t i = 0; i < g->nn; i++) {
		uint64_t w = node_work(g, &g->n[i]);
		if (w > out->node_work || i == 0) {
			out->node_work = w;
			out->node = i;
		}
		/* saturating: a sum past 2^64 is past any bound anyway */
		out->work = out->work + w < out->work ? UINT64_MAX : out->work + w;
	}
	return DNNQ_OK;
}

/* Every tensor's buffer for this run: caller's, constant, arena or view. */
static int resolve(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                   const struct dnnq_executor *ex)
{
	if (!g || !g->planned || (g->ninputs && !inputs) || !outputs)
		return DNNQ_E_INVAL;
	if (dnnq_executor_threads(ex) > g->nthreads)
		return DNNQ_E_INVAL;
	for (size_t i = 0; i < g->nt; i++) {
		struct gtensor *t = &g->t[i];
		t->buf = t->const_data                  ? t->const_data
		       : t->input_idx >= 0              ? (void *)inputs[t->input_idx]
		       : t->output_idx >= 0 && t->view_of < 0 ? outputs[t->output_idx]
		       : t->out_alias >= 0              ? outputs[t->out_alias]
		       : t->view_of < 0                 ? g->arena + t->offset
		       : NULL;
		if (!t->buf && t->view_of < 0)
			return DNNQ_E_INVAL;
	}
	for (size_t i = 0; i < g->nt; i++)
		if (g->t[i].view_of >= 0)
			g->t[i].buf = base_of(g, &g->t[i])->buf;
	return DNNQ_OK;
}

/* The invariant of the serving path: no kernel derives an index or a size
 * from memory another process can write. A node that needs its inputs
 * stable (node_ops.stable_inputs) reads a private copy of each input that
 * lives in the caller's buffers, taken once before it runs; `saved` keeps
 * the buffers to put back. */
static void stage_inputs(struct dnnq_graph *g, const struct gnode *n, void **saved)
{
	size_t off = 0;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		saved[k] = NULL;
		/* staged already: the same tensor named twice */
		uint8_t *b = t->buf;
		if (!caller_bound(g, t) || (b >= g->stage && b < g->stage + g->stage_bytes))
			continue;
		memcpy(g->stage + off, t->buf, t->bytes);
		saved[k] = t->buf;
		t->buf = g->stage + off;
		off += align64(t->bytes);
	}
}

static void unstage_inputs(struct dnnq_graph *g, const struct gnode *n, void *const *saved)
{
	for (size_t k = 0; k < n->desc.ninputs; k++)
		if (saved[k])
			gin(g, n, k)->buf = saved[k];
}

/* What node n's own run applies of the nodes fused into it, for this run
 * (none when the shadow run runs them apart). */
static int bind_fused(struct dnnq_graph *g, struct gnode *n)
{
	int rc = n->post_table ? dnnq_node_set_table(n, g->unfused ? NULL : n->post_table)
	                       : DNNQ_OK;
	if (!rc && n->post_sums)
		rc = dnnq_node_set_sums(n, !g->unfused);
	if (!rc && n->post_eltwise && !g->unfused)   /* bound to this run's buffers */
		rc = n->post_eltwise->ops->setup(g, n->post_eltwise, g->nthreads);
	if (!rc && n->post_eltwise)
		rc = dnnq_node_set_post(n, g->unfused ? NULL : n->post_eltwise);
	if (!rc && n->pre_node && !g->unfused)
		rc = n->pre_node->ops->setup(g, n->pre_node, g->nthreads);
	if (!rc && n->pre_node)
		rc = dnnq_node_set_pre(n, g->unfused ? NULL : n->pre_node);
	return rc;
}

static int run_node(struct dnnq_graph *g, struct gnode *n, const struct dnnq_executor *ex)
{
	void *saved[DNNQ_GRAPH_MAX_NODE_INPUTS];
	if (n->fused && !g->unfused)
		return DNNQ_OK;   /* its producer applied it, or ran it (a chain) */
	int rc = bind_fused(g, n);
	if (rc)
		return rc;
	if (n->ops->stable_inputs)
		stage_inputs(g, n, saved);
	rc = n->ops->setup(g, n, g->nthreads);
	if (!rc && n->chain && !g->unfused) {   /* 1x1 convolutions: no staging */
		struct gnode *e = n->chain;
		rc = bind_fused(g, e);
		if (!rc)
			rc = e->ops->setup(g, e, g->nthreads);
		/* one split and one serial: each as planned */
		if (!rc && n->serial == e->serial)
			rc = dnnq_node_run_chain(n, e, n->serial ? NULL : ex);
		else if (!rc && !(rc = n->ops->run(n, n->serial ? NULL : ex)))
			rc = e->ops->run(e, e->serial ? NULL : ex);
	} else if (!rc && n->bands && !g->unfused) {
		struct gnode *d = n->bands, *p = d->chain;
		rc = bind_fused(g, d);
		if (!rc)
			rc = d->ops->setup(g, d, g->nthreads);
		if (!rc && p && !(rc = bind_fused(g, p)))
			rc = p->ops->setup(g, p, g->nthreads);
		if (!rc && !n->serial && !d->serial && (!p || !p->serial))
			rc = dnnq_node_run_bands(n, d, p, g->stage, band_stride(g, n), ex);
		else if (!rc && !(rc = n->ops->run(n, n->serial ? NULL : ex)) &&
		         !(rc = d->ops->run(d, d->serial ? NULL : ex)) && p)
			rc = p->ops->run(p, p->serial ? NULL : ex);
	} else if (!rc && n->ops->run) {
		rc = n->ops->run(n, n->serial ? NULL : ex);
	}
	if (n->ops->stable_inputs)
		unstage_inputs(g, n, saved);
	return rc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int run_all(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                   const struct dnnq_executor *ex, uint64_t *ns, bool (*stop)(void *),
                   void *arg)
{
	int rc = resolve(g, inputs, outputs, ex);
	g->failed = -1;
	for (size_t i = 0; !rc && i < g->nn; i++) {
		if (stop && stop(arg))
			return DNNQ_E_AGAIN;
		uint64_t t0 = ns ? now_ns() : 0;
		if ((rc = run_node(g, &g->n[i], ex)))
			g->failed = (ptrdiff_t)i;
		if (ns)
			ns[i] += now_ns() - t0;
	}
	return rc;
}

int dnnq_graph_run_profiled(struct dnnq_graph *g, const void *const *inputs,
                            void *const *outputs, const struct dnnq_executor *ex, uint64_t *ns)
{
	return run_all(g, inputs, outputs, ex, ns, NULL, NULL);
}

int dnnq_graph_run_stoppable(struct dnnq_graph *g, const void *const *inputs,
                             void *const *outputs, const struct dnnq_executor *ex,
                             bool (*stop)(void *arg), void *arg)
{
	return run_all(g, inputs, outputs, ex, NULL, stop, arg);
}

ptrdiff_t dnnq_graph_failed_node(const struct dnnq_graph *g)
{
	return g ? g->failed : -1;
}

int dnnq_graph_run(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                   const struct dnnq_executor *ex)
{
	return dnnq_graph_run_profiled(g, inputs, outputs, ex, NULL);
}

int dnnq_graph_run_nodes(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                         const struct dnnq_executor *ex, size_t from, size_t to)
{
	int rc = resolve(g, inputs, outputs, ex);
	/* a part may end between a convolution and a node fused into it: the
	 * two run apart (the same bytes, fuse_into_convs) */
	g->unfused = true;
	for (size_t i = from; !rc && i < to && i < g->nn; i++)
		rc = run_node(g, &g->n[i], ex);
	g->unfused = false;
	return rc;
}

/* t's values (u8 dequantized) from data, as f32 (malloc'd). */
static float *as_f32(const struct gtensor *t, const void *data)
{
	size_t n = gnumel(t);
	float *x = malloc((n ? n : 1) * sizeof *x);
	if (!x)
		return NULL;
	if (t->dtype == DNNQ_DTYPE_F32)
		memcpy(x, data, n * sizeof *x);
	else if (t->dtype == DNNQ_DTYPE_S32)      /* an accumulator: its integers */
		for (size_t i = 0; i < n; i++)
			x[i] = (float)((const int32_t *)data)[i];
	else
		dnnq_dequantize(DNNQ_ISA_SCALAR, data, t->dtype, x, n, &t->qp);
	return x;
}

float *dnnq_graph_const_f32(const struct gtensor *t)
{
	return as_f32(t, t->const_data);
}

static float *real_values(const struct gtensor *t)
{
	return as_f32(t, t->buf);
}

/* Node n's quantized inputs as real values, taken before it runs: an
 * operator that works in place overwrites its input 0 (a residual Add's
 * local SQNR once read 3.6 dB, against its own output). */
static int shadow_inputs(struct dnnq_graph *g, const struct gnode *n, float **qin)
{
	for (size_t k = 0; k < n->desc.ninputs; k++)
		if (!(qin[k] = real_values(gin(g, n, k))))
			return DNNQ_E_NOMEM;
	return DNNQ_OK;
}

/* Node n of the shadow run, after it ran: its fp32 reference on the fp32
 * chain (into shadow[out]) and on its own quantized inputs qin, against
 * its output. */
static int shadow_node(struct dnnq_graph *g, struct gnode *n, float **shadow,
                       float *const *qin, struct dnnq_node_report *r)
{
	const float *sin[DNNQ_GRAPH_MAX_NODE_INPUTS];
	struct gtensor *t = &g->t[n->out];
	size_t nk = n->desc.ninputs, ne = gnumel(t);
	float *local = malloc((ne ? ne : 1) * sizeof *local), *q = real_values(t);
	shadow[n->out] = malloc((ne ? ne : 1) * sizeof(float));
	int rc = local && q && shadow[n->out] ? DNNQ_OK : DNNQ_E_NOMEM;
	for (size_t k = 0; k < nk; k++)
		sin[k] = shadow[n->desc.inputs[k]];
	if (!rc)
		rc = n->ops->reference(g, n, sin, shadow[n->out]);
	if (!rc)
		rc = n->ops->reference(g, n, (const float *const *)qin, local);
	if (!rc) {
		*r = (struct dnnq_node_report){ n->name, n->desc.kind,
		                                dnnq_sqnr_db(shadow[n->out], q, ne),
		                                dnnq_sqnr_db(local, q, ne), n->desc.precision };
	}
	free(local);
	free(q);
	return rc;
}

int dnnq_graph_shadow(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                      const struct dnnq_executor *ex, struct dnnq_node_report *report)
{
	return dnnq_graph_shadow_keep(g, inputs, outputs, ex, report, NULL, NULL);
}

/* Values v of t, its channels stored in t->perm's order, in the model's
 * order (v freed; NULL without memory) */
static float *model_order(const struct gtensor *t, float *v)
{
	size_t c = t->perm_n, px = gnumel(t) / c;
	float *o = malloc(gnumel(t) * sizeof *o);
	for (size_t p = 0; o && p < px; p++)
		for (size_t i = 0; i < c; i++)
			o[p * c + t->perm[i]] = v[p * c + i];
	free(v);
	return o;
}

int dnnq_graph_shadow_keep(struct dnnq_graph *g, const void *const *inputs,
                           void *const *outputs, const struct dnnq_executor *ex,
                           struct dnnq_node_report *report, const bool *keep, float **chain)
{
	int rc = resolve(g, inputs, outputs, ex);
	if (rc || !report)
		return rc ? rc : DNNQ_E_INVAL;
	float **shadow = calloc(g->nt, sizeof *shadow);
	if (!shadow)
		return DNNQ_E_NOMEM;
	g->shadow_ex = ex;
	g->unfused = true;
	for (size_t i = 0; i < g->nt && !rc; i++)
		if (g->t[i].producer < 0 && !(shadow[i] = real_values(&g->t[i])))
			rc = DNNQ_E_NOMEM;
	for (size_t i = 0; i < g->nn && !rc; i++) {
		float *qin[DNNQ_GRAPH_MAX_NODE_INPUTS] = { NULL };
		rc = shadow_inputs(g, &g->n[i], qin);
		if (!rc)
			rc = run_node(g, &g->n[i], ex);
		if (!rc)
			rc = shadow_node(g, &g->n[i], shadow, qin, &report[i]);
		for (size_t k = 0; k < DNNQ_GRAPH_MAX_NODE_INPUTS; k++)
			free(qin[k]);
	}
	for (size_t i = 0; i < g->nn && keep; i++) {
		chain[i] = NULL;
		if (keep[i] && !rc) {
			const struct gtensor *t = &g->t[g->n[i].out];
			chain[i] = shadow[g->n[i].out];
			shadow[g->n[i].out] = NULL;
			if (t->perm && !(chain[i] = model_order(t, chain[i])))
				rc = DNNQ_E_NOMEM;
		}
	}
	g->shadow_ex = NULL;
	g->unfused = false;
	for (size_t i = 0; i < g->nt; i++)
		free(shadow[i]);
	free(shadow);
	return rc;
}

size_t dnnq_graph_num_inputs(const struct dnnq_graph *g)
{
	return g->ninputs;
}

size_t dnnq_graph_num_outputs(const struct dnnq_graph *g)
{
	return g->noutputs;
}

size_t dnnq_graph_num_nodes(const struct dnnq_graph *g)
{
	return g->nn;
}

size_t dnnq_graph_arena_bytes(const struct dnnq_graph *g)
{
	return g->arena_bytes;
}

static int info(const struct dnnq_graph *g, const int *ids, size_t n, size_t i,
                struct dnnq_tensor_info *out)
{
	if (i >= n || !out)
		return DNNQ_E_RANGE;
	const struct gtensor *t = &g->t[ids[i]];
	out->name = t->name;
	out->dtype = t->dtype;
	out->qp = t->qp;
	out->ndim = t->ndim;
	memcpy(out->dims, t->dims, sizeof out->dims);
	out->bytes = g->planned ? t->bytes : 0;
	return DNNQ_OK;
}

int dnnq_graph_node_info(const struct dnnq_graph *g, size_t i, struct dnnq_node_info *out)
{
	if (!g || i >= g->nn || !out)
		return DNNQ_E_RANGE;
	const struct gnode *n = &g->n[i];
	int o = n->out;
	int rc = info(g, &o, 1, 0, &out->out);
	if (rc)
		return rc;
	out->name = n->name;
	out->kind = n->desc.kind;
	out->precision = n->desc.precision;
	out->macs = node_macs(g, n);
	out->bytes = g->planned ? node_bytes(g, n) : 0;
	out->serial = g->planned && n->serial;
	out->fused = n->fused;
	out->summed = n->sums_of != NULL;
	/* create cleared `dynamic` for a u8 input; an fp32 FC's desc is another */
	const struct dnnq_op_def *def = dnnq_op_get(n->desc.kind);
	out->couples_items = n->desc.kind == DNNQ_NODE_FC &&
	                     n->desc.precision == DNNQ_PRECISION_INT8 && n->desc.op.fc.dynamic
	                     ? "quantizes its input with one scale for the whole batch"
	                     : def && def->couples_items ? def->couples_items(g, n) : NULL;
	return DNNQ_OK;
}

int dnnq_graph_input_info(const struct dnnq_graph *g, size_t i, struct dnnq_tensor_info *out)
{
	return info(g, g->inputs, g->ninputs, i, out);
}

int dnnq_graph_output_info(const struct dnnq_graph *g, size_t i, struct dnnq_tensor_info *out)
{
	return info(g, g->outputs, g->noutputs, i, out);
}
