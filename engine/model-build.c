/*
 * dnnq_model_build: a struct dnnq_model to a finalized graph through the
 * builder API. Weights come from the model's tensors (PACKED ones unpacked
 * to int8 first), scales from the weight tensor's qparams (per tensor or per
 * output channel, axis 0); every size is checked against the tensor before
 * an operator sees it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model-internal.h"

#include <stdarg.h>

#include "engine/crc32c.h"
#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/wcache.h"

int dnnq_op_build_err(struct dnnq_op_build *b, struct dnnq_diag *diag, int rc,
                      const char *fmt, ...)
{
	char msg[sizeof diag->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return dnnq_model_node_err(diag, "", b->j, b->m->nodes[b->j].name, rc, "%s", msg);
}

#define BERR(rc, ...) dnnq_op_build_err(b, diag, rc, __VA_ARGS__)

/* wt in b->perm's order (struct dnnq_op_build), copied into b->owned: the
 * rows (and per-channel scales, zero points, bias) or each row's 1x1 input
 * channels */
static int permute_weights(struct dnnq_op_build *b, size_t rows, size_t numel,
                           struct dnnq_op_weights *wt, struct dnnq_diag *diag)
{
	size_t per = numel / rows, np = b->perm_n;
	if (b->perm_in ? per != np : rows != np)
		return BERR(DNNQ_E_SHAPE, "%zu x %zu weights: cannot take an order of %zu channels",
		            rows, per, np);
	/* scales, zero points, bias (4 bytes each a row), then the weights */
	uint8_t *blk = malloc(3 * 4 * rows + numel);
	if (!blk)
		return BERR(DNNQ_E_NOMEM, "cannot order %zu weights", numel);
	float *scale = (float *)blk;
	int32_t *zp = (int32_t *)(blk + 4 * rows);
	uint8_t *bias = blk + 8 * rows;
	int8_t *w = (int8_t *)(blk + 12 * rows);
	for (size_t r = 0; r < rows; r++)
		for (size_t t = 0; t < per; t++)
			w[r * per + t] = b->perm_in ? wt->w[r * per + b->perm[t]]
			                            : wt->w[b->perm[r] * per + t];
	if (!b->perm_in) {
		/* the bias's 4 bytes a row, f32 or s32 alike */
		const char *bs = wt->bias ? (const char *)wt->bias : (const char *)wt->bias_i32;
		for (size_t r = 0; r < rows; r++) {
			if (wt->nwq == rows)
				scale[r] = wt->scale[b->perm[r]];
			if (wt->zp && wt->nwq == rows)
				zp[r] = wt->zp[b->perm[r]];
			if (bs)
				memcpy(bias + 4 * r, bs + 4 * (size_t)b->perm[r], 4);
		}
		if (wt->nwq == rows) {
			wt->scale = scale;
			wt->zp = wt->zp ? zp : NULL;
		}
		if (wt->bias)
			wt->bias = (const float *)(const void *)bias;
		else if (wt->bias_i32)
			wt->bias_i32 = (const int32_t *)bias;
	}
	free(b->owned);
	b->owned = blk;
	wt->w = w;
	return DNNQ_OK;
}

int dnnq_op_weights(struct dnnq_op_build *b, size_t rows, size_t numel,
                    struct dnnq_op_weights *wt, struct dnnq_diag *diag)
{
	const struct dnnq_model *m = b->m;
	const struct dnnq_model_node *n = &m->nodes[b->j];
	memset(wt, 0, sizeof *wt);
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors)
		return BERR(DNNQ_E_FORMAT, "weight %d: no such tensor", n->weight);
	const struct dnnq_qtensor *t = &m->tensors[n->weight].t;
	if (dnnq_qtensor_numel(t) != numel || !t->is_signed ||
	    (t->dtype != DNNQ_DTYPE_S8 && t->dtype != DNNQ_DTYPE_PACKED))
		return BERR(DNNQ_E_SHAPE, "weight tensor %d: want %zu signed s8 or packed values",
		            n->weight, numel);
	if (t->nqparams != 1 && !(t->qaxis == 0 && t->nqparams == rows))
		return BERR(DNNQ_E_SHAPE, "weight tensor %d: qparams: want per tensor or %zu on axis 0",
		            n->weight, rows);
	wt->nwq = t->nqparams;
	wt->scale = t->scales;
	for (size_t i = 0; i < t->nqparams; i++)
		if (t->zero_points[i])
			wt->zp = t->zero_points;
	if (t->dtype == DNNQ_DTYPE_S8) {
		wt->w = t->data;
	} else {
		if (!(b->owned = wt->w = malloc(numel ? numel : 1)))
			return BERR(DNNQ_E_NOMEM, "cannot unpack %zu weights", numel);
		dnnq_unpack_bits(t->data, numel, t->precision, true, wt->w);
	}
	if (n->bias >= (int32_t)m->ntensors)
		return BERR(DNNQ_E_FORMAT, "bias %d: no such tensor", n->bias);
	if (n->bias >= 0) {
		const struct dnnq_qtensor *bt = &m->tensors[n->bias].t;
		if (dnnq_qtensor_numel(bt) != rows ||
		    (bt->dtype != DNNQ_DTYPE_F32 && bt->dtype != DNNQ_DTYPE_S32))
			return BERR(DNNQ_E_SHAPE, "bias tensor %d: want %zu f32 or s32 values",
			            n->bias, rows);
		if (bt->dtype == DNNQ_DTYPE_F32)
			wt->bias = bt->data;
		else
			wt->bias_i32 = bt->data;
	}
	return b->perm ? permute_weights(b, rows, numel, wt, diag) : DNNQ_OK;
}

int dnnq_op_weights_f32(struct dnnq_op_build *b, size_t rows, size_t numel, const float **w,
                        const float **bias, struct dnnq_diag *diag)
{
	const struct dnnq_model *m = b->m;
	const struct dnnq_model_node *n = &m->nodes[b->j];
	*w = *bias = NULL;
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors ||
	    m->tensors[n->weight].t.dtype != DNNQ_DTYPE_F32 ||
	    dnnq_qtensor_numel(&m->tensors[n->weight].t) != numel)
		return BERR(DNNQ_E_SHAPE, "weight %d: an fp32 node wants a tensor of %zu f32 values",
		            n->weight, numel);
	*w = m->tensors[n->weight].t.data;
	if (n->bias >= (int32_t)m->ntensors)
		return BERR(DNNQ_E_FORMAT, "bias %d: no such tensor", n->bias);
	if (n->bias >= 0) {
		const struct dnnq_qtensor *bt = &m->tensors[n->bias].t;
		if (bt->dtype != DNNQ_DTYPE_F32 || dnnq_qtensor_numel(bt) != rows)
			return BERR(DNNQ_E_SHAPE, "bias %d: an fp32 node wants %zu f32 values", n->bias,
			            rows);
		*bias = bt->data;
	}
	return DNNQ_OK;
}

struct dnnq_qparams dnnq_op_out_qp(const struct dnnq_model_node *n)
{
	return (struct dnnq_qparams){ n->out_scale, n->out_zero_point, (uint8_t)n->out_precision,
	                              n->out_signed };
}

/*
 * Hidden channels in the AVX2 kernel's order. An inverted residual block
 * (MobileNetV2's) is a 1x1 convolution e, a depthwise one d of e's output
 * and a 1x1 one p of d's; nothing else reads e's or d's output. Their
 * channels (e's output channels, d's, p's input channels) can be stored
 * in any order, the same for all three: e's rows (and scales, zero
 * points, bias), d's rows and p's weight columns permuted give p the same
 * sums, so the same bytes. The AVX2 table runs a group of 4 k of p by the
 * sign trick in each half (8 columns) where one of its vpmaddubsw pairs
 * could saturate; dnnq_gemm_safe_order finds an order in which fewer do
 * (docs/gemm.md, "Hidden channels in a safe order"). ord[j]: node j's
 * order (perm NULL: none); e owns the block's.
 */
struct node_order {
	uint32_t *perm;
	size_t n;
	bool in, own;
	uint32_t sum;
};

/* Whether node j is an int8 conv of one input to u8 whose weights no other
 * node reads, of the given groups and, with one_by_one, 1x1 */
static bool plain_conv(const struct dnnq_model *m, size_t j, const bool *shared, uint32_t groups,
                       bool one_by_one)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	return n->kind == DNNQ_NODE_CONV && n->precision == DNNQ_PRECISION_INT8 &&
	       n->ninputs == 1 && n->out_dtype == DNNQ_DTYPE_U8 && !n->acc16 && n->weight >= 0 &&
	       (size_t)n->weight < m->ntensors && !(shared && shared[n->weight]) &&
	       n->groups == groups &&
	       (!one_by_one || (n->kernel[0] == 1 && n->kernel[1] == 1));
}

/* The only node reading value v (none when it is an output or read twice) */
static bool sole_reader(const struct dnnq_model *m, const size_t *reads, const size_t *reader,
                        size_t v, size_t *j)
{
	if (v >= dnnq_model_num_values(m) || reads[v] != 1)
		return false;
	*j = reader[v];
	return true;
}

static void orders_free(struct node_order *ord, size_t nn)
{
	for (size_t j = 0; ord && j < nn; j++)
		if (ord[j].own)
			free(ord[j].perm);
	free(ord);
}

/* The weights cache's tag of a projection's hidden order (conv.c's 1-2
 * and 9, fc.c's 3-4, f32.c's 5-7, ops/embed.c's 8). */
enum { WCACHE_ORDER = 10 };

/* Whether the cache's entry e holds an order of hidden channels (each of
 * [0, hidden) once; blob_bytes 0: none gained), with *gained set. */
static bool cached_order(const struct dnnq_wcache_entry *e, size_t hidden, size_t *gained)
{
	const uint32_t *p = e->blob;
	if (!e->blob_bytes) {
		*gained = 0;
		return true;
	}
	if (!p || e->blob_bytes != hidden * sizeof *p)
		return false;
	uint8_t *seen = calloc(hidden, 1);
	bool ok = seen != NULL;
	for (size_t i = 0; ok && i < hidden; i++)
		ok = p[i] < hidden && !seen[p[i]]++;
	free(seen);
	*gained = ok;
	return ok;
}

/* dnnq_gemm_safe_order's order (*gained 0: none gained), found in the
 * cache when a graph built with it searched the same weights (each of
 * dnnqd's workers, each of dnnq-convert's trials: tens of ms a
 * MobileNetV2), else searched and handed to the cache (one without room:
 * searched each time). Keyed by the weights' CRC32C: the order depends on
 * them alone, and any order is exact (the packing judges the weights it
 * is given), so a collision costs speed, never a bit. An entry is taken
 * only as an order of the hidden channels (cached_order): one that is not
 * (a row twice, an index past them: out of the weights' bounds) is
 * searched again, never trusted. */
static int safe_order(struct dnnq_weights_cache *cache, enum dnnq_isa isa, const int8_t *wp,
                      size_t n, size_t hidden, const int8_t *we, size_t ke, unsigned rows,
                      uint32_t *perm, size_t *gained)
{
	char key[80];
	snprintf(key, sizeof key, "order/p%08" PRIx32 "/e%08" PRIx32 "/%zu/%u",
	         dnnq_crc32c(wp, n * hidden), we ? dnnq_crc32c(we, hidden * ke) : 0, ke, rows);
	size_t bytes = hidden * sizeof *perm;
	const struct dnnq_wcache_entry *e =
		dnnq_weights_cache_find(cache, key, WCACHE_ORDER, isa, n, hidden);
	if (e && cached_order(e, hidden, gained)) {
		if (*gained)
			memcpy(perm, e->blob, bytes);
		return DNNQ_OK;
	}
	int rc = dnnq_gemm_safe_order(wp, n, hidden, we, ke, rows, perm, gained);
	if (rc || !cache || e)
		return rc;
	/* no order gained: an entry without one */
	void *copy = *gained ? dnnq_weights_cache_alloc(cache, bytes) : NULL;
	if (*gained && !copy)
		return DNNQ_OK;
	if (copy)
		memcpy(copy, perm, bytes);
	struct dnnq_wcache_entry add = { .key = key, .kind = WCACHE_ORDER, .isa = isa, .n = n,
	                                 .k = hidden, .blob = copy, .blob_bytes = copy ? bytes : 0 };
	(void)dnnq_weights_cache_add(cache, &add);
	return DNNQ_OK;
}

static int plan_orders(const struct dnnq_model *m, enum dnnq_isa isa, const bool *shared,
                       struct dnnq_weights_cache *cache, struct node_order **out)
{
	size_t nv = dnnq_model_num_values(m);
	struct node_order *ord = calloc(m->nnodes + 1, sizeof *ord);
	size_t *reads = calloc(nv + 1, sizeof *reads), *reader = calloc(nv + 1, sizeof *reader);
	int rc = ord && reads && reader ? DNNQ_OK : DNNQ_E_NOMEM;
	for (size_t j = 0; !rc && j < m->nnodes; j++)
		for (uint32_t i = 0; i < m->nodes[j].ninputs && i < DNNQ_GRAPH_MAX_NODE_INPUTS; i++) {
			int32_t v = m->nodes[j].inputs[i];
			if (v >= 0 && (size_t)v < nv) {
				reads[v]++;
				reader[v] = j;
			}
		}
	for (size_t i = 0; !rc && i < m->noutputs; i++)
		if (m->outputs[i].value >= 0 && (size_t)m->outputs[i].value < nv)
			reads[m->outputs[i].value] += 2;
	for (size_t e = 0; !rc && dnnq_gemm_isa_sign_trick(isa) && e < m->nnodes; e++) {
		size_t d, p, hidden = m->nodes[e].cout;
		if (ord[e].perm || !plain_conv(m, e, shared, 1, true) ||
		    !sole_reader(m, reads, reader, dnnq_model_node_value(m, e), &d) ||
		    !plain_conv(m, d, shared, (uint32_t)hidden, false) || m->nodes[d].cin != hidden ||
		    m->nodes[d].cout != hidden ||
		    !sole_reader(m, reads, reader, dnnq_model_node_value(m, d), &p) ||
		    !plain_conv(m, p, shared, 1, true) || m->nodes[p].cin != hidden)
			continue;
		const struct dnnq_qtensor *wp = &m->tensors[m->nodes[p].weight].t;
		const struct dnnq_qtensor *we = &m->tensors[m->nodes[e].weight].t;
		size_t n = m->nodes[p].cout, ke = m->nodes[e].cin, gained;
		if (wp->dtype != DNNQ_DTYPE_S8 || !n || dnnq_qtensor_numel(wp) != n * hidden)
			continue;
		/* e's (group, half) too, each worth d's stride's rows of p's */
		bool e8 = we->dtype == DNNQ_DTYPE_S8 && dnnq_qtensor_numel(we) == hidden * ke;
		unsigned rows = m->nodes[d].strides[0] * m->nodes[d].strides[1];
		uint32_t *perm = malloc(hidden * sizeof *perm);
		if (!perm || (rc = safe_order(cache, isa, wp->data, n, hidden,
		                              e8 ? we->data : NULL, ke, rows, perm, &gained))) {
			free(perm);
			rc = DNNQ_E_NOMEM;
			break;
		}
		if (!gained) {
			free(perm);
			continue;
		}
		uint32_t sum = dnnq_crc32c(perm, hidden * sizeof *perm);
		ord[e] = (struct node_order){ perm, hidden, false, true, sum };
		ord[d] = (struct node_order){ perm, hidden, false, false, sum };
		ord[p] = (struct node_order){ perm, hidden, true, false, sum };
	}
	free(reads);
	free(reader);
	if (rc) {
		orders_free(ord, m->nnodes);
		ord = NULL;
	}
	*out = ord;
	return rc;
}

static int add_node(struct dnnq_graph *g, const struct dnnq_model *m, size_t j,
                    enum dnnq_isa isa, struct dnnq_weights_cache *cache, const bool *shared,
                    const uint32_t *sums, const struct node_order *ord, int *vals,
                    struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	const struct node_order *o = &ord[j];
	struct dnnq_op_build bld = { .m = m, .j = j, .isa = isa, .cache = cache, .shared = shared,
	                             .sums = sums, .perm = o->perm, .perm_n = o->n,
	                             .perm_in = o->in, .perm_sum = o->sum };
	struct dnnq_op_build *b = &bld;
	const struct dnnq_op_def *def = dnnq_op_get(n->kind);
	if (!def)
		return BERR(DNNQ_E_UNSUPPORTED, "kind %u: unknown", (unsigned)n->kind);
	struct dnnq_node_desc d;
	memset(&d, 0, sizeof d);
	d.kind = n->kind;
	d.precision = n->precision;
	d.name = n->name;
	if (n->ninputs > DNNQ_GRAPH_MAX_NODE_INPUTS)
		return BERR(DNNQ_E_FORMAT, "ninputs %u: at most %d", n->ninputs,
		            DNNQ_GRAPH_MAX_NODE_INPUTS);
	d.ninputs = n->ninputs;
	for (uint32_t i = 0; i < n->ninputs; i++) {
		if (n->inputs[i] < 0 || (size_t)n->inputs[i] >= dnnq_model_node_value(m, j))
			return BERR(DNNQ_E_FORMAT, "input %d: no such tensor", n->inputs[i]);
		d.inputs[i] = vals[n->inputs[i]];
	}
	int rc = def->build ? def->build(b, &d, diag) : DNNQ_OK;
	if (!rc) {
		rc = dnnq_graph_add_node(g, &d, diag);
		if (rc >= 0) {
			vals[dnnq_model_node_value(m, j)] = rc;
			struct gtensor *t = &g->t[rc];
			rc = DNNQ_OK;
			/* the output's channels in the order (shadow_keep hands them
			 * back in the model's) */
			if (o->perm && !o->in) {
				if (!(t->perm = malloc(o->n * sizeof *t->perm)))
					rc = BERR(DNNQ_E_NOMEM, "cannot keep its channel order");
				else
					memcpy(t->perm, o->perm, o->n * sizeof *t->perm);
				t->perm_n = o->n;
			}
		}
	}
	free(b->owned);
	return rc;
}

static int add_constant(struct dnnq_graph *g, const struct dnnq_model *m, size_t c, int *vals,
                        struct dnnq_diag *diag)
{
	int32_t id = m->constants[c];
	if (id < 0 || (size_t)id >= m->ntensors)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: constant %zu: tensor %d: no such"
		                     " tensor", c, id);
	const struct dnnq_model_tensor *mt = &m->tensors[id];
	struct dnnq_qparams qp;
	int rc;
	if (mt->t.dtype == DNNQ_DTYPE_F32)
		rc = dnnq_graph_add_constant_f32(g, mt->name, mt->t.ndim, mt->t.dims, mt->t.data, diag);
	else if (mt->t.dtype != DNNQ_DTYPE_U8 || mt->t.nqparams != 1 ||
	         dnnq_qtensor_qparams(&mt->t, 0, &qp))
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: constant %zu: tensor %d ('%s'): must"
		                     " be f32, or u8 with per-tensor qparams", c, id, mt->name);
	else
		rc = dnnq_graph_add_constant(g, mt->name, mt->t.ndim, mt->t.dims, &qp, mt->t.data,
		                             diag);
	if (rc < 0)
		return rc;
	vals[m->ninputs + c] = rc;
	return DNNQ_OK;
}

static bool quantized(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_U8 || dt == DNNQ_DTYPE_S8;
}

/* "u8 [1, 1000] scale 0.5 zp 3" (dims[0], the batch, as 1) into buf. */
static const char *io_str(char *buf, size_t len, enum dnnq_dtype dt, uint32_t ndim,
                          const int64_t *dims, const struct dnnq_qparams *qp)
{
	size_t n = (size_t)snprintf(buf, len, "%s [", dnnq_dtype_name(dt));
	for (uint32_t k = 0; k < ndim && k < DNNQ_MAX_DIMS && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64, k ? ", " : "", k ? dims[k] : 1);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "]");
	if (n < len && quantized(dt))
		snprintf(buf + n, len - n, " scale %g zp %d", (double)qp->scale, (int)qp->zero_point);
	return buf;
}

/* The signature's output i against the graph's tensor it names, as a
 * caller sizes its buffers and .npy shapes from the signature while the
 * engine writes what the graph computes (dnnq-run read past a 1000-float
 * output a mutated file declared [1, 33555432]; dnnqd and dnnq-convert's
 * lowering had checks of their own): dtype, rank, dims but the batch, and
 * a quantized one's qparams. The inputs are the graph's, made from the
 * signature. An output of rank 0, which no file has (the reader wants
 * 1..8), is one a caller adds in memory to read a value whatever it is
 * (onnx/calib.c's acc16 trials): the graph's tensor info says. */
static int check_output(const struct dnnq_graph *g, const struct dnnq_model *m, size_t i,
                        struct dnnq_diag *diag)
{
	const struct dnnq_model_io *decl = &m->outputs[i];
	struct dnnq_tensor_info ti;
	if (!decl->ndim)
		return DNNQ_OK;
	int rc = dnnq_graph_output_info(g, i, &ti);
	if (rc)
		return dnnq_diag_set(diag, rc, "model: output %zu '%s': no graph tensor", i,
		                     decl->name);
	bool same = decl->dtype == ti.dtype && decl->ndim == ti.ndim;
	for (uint32_t k = 1; same && k < ti.ndim; k++)
		same = decl->dims[k] == ti.dims[k];
	if (same && quantized(ti.dtype))
		same = decl->qp.scale == ti.qp.scale && decl->qp.zero_point == ti.qp.zero_point;
	if (same)
		return DNNQ_OK;
	char says[192], has[192];
	return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: output %zu '%s': the signature does not"
	                     " match the graph: it says %s, the graph computes %s (tensor '%s')",
	                     i, decl->name,
	                     io_str(says, sizeof says, decl->dtype, decl->ndim, decl->dims,
	                            &decl->qp),
	                     io_str(has, sizeof has, ti.dtype, ti.ndim, ti.dims, &ti.qp), ti.name);
}

static int build(struct dnnq_graph *g, const struct dnnq_model *m, enum dnnq_isa isa,
                 struct dnnq_weights_cache *cache, const bool *shared, const uint32_t *sums,
                 const struct node_order *ord, int *vals, struct dnnq_diag *diag)
{
	int rc;
	/* dnnqd served one, which no client could open (the library takes no
	 * model reply of no inputs, a request's batch being its inputs') */
	if (!m->ninputs)
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "model: no inputs: dim 0 of every "
		                     "value is the batch, the inputs' dim 0, and a graph of constants "
		                     "alone has none");
	for (size_t i = 0; i < m->ninputs; i++) {
		const struct dnnq_model_io *io = &m->inputs[i];
		if (io->ndim > DNNQ_MAX_DIMS)
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: input %zu: rank %u", i, io->ndim);
		rc = dnnq_graph_add_input(g, io->name, io->dtype, io->ndim, io->dims, &io->qp, diag);
		if (rc < 0)
			return rc;
		vals[i] = rc;
	}
	for (size_t c = 0; c < m->nconstants; c++)
		if ((rc = add_constant(g, m, c, vals, diag)))
			return rc;
	for (size_t j = 0; j < m->nnodes; j++)
		if ((rc = add_node(g, m, j, isa, cache, shared, sums, ord, vals, diag)))
			return rc;
	for (size_t i = 0; i < m->noutputs; i++) {
		int v = m->outputs[i].value;
		if (v < 0 || (size_t)v >= dnnq_model_num_values(m))
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: output %zu: value %d: no such"
			                     " tensor", i, v);
		if ((rc = dnnq_graph_add_output(g, vals[v], diag)))
			return rc;
	}
	if ((rc = dnnq_graph_finalize(g, diag)))
		return rc;
	for (size_t i = 0; i < m->noutputs; i++)
		if ((rc = check_output(g, m, i, diag)))
			return rc;
	return DNNQ_OK;
}

int dnnq_model_build(const struct dnnq_model *m, enum dnnq_isa isa, struct dnnq_graph **out,
                     struct dnnq_diag *diag)
{
	return dnnq_model_build_shared(m, isa, NULL, out, diag);
}

int dnnq_model_build_shared(const struct dnnq_model *m, enum dnnq_isa isa,
                            struct dnnq_weights_cache *cache, struct dnnq_graph **out,
                            struct dnnq_diag *diag)
{
	if (!m || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model: NULL argument");
	struct dnnq_graph *g;
	int *vals = calloc(dnnq_model_num_values(m) + 1, sizeof *vals);
	bool *shared = calloc(m->ntensors + 1, sizeof *shared), any = false;
	bool *seen = calloc(m->ntensors + 1, sizeof *seen);
	uint32_t *sums = calloc(m->ntensors + 1, sizeof *sums);
	int rc = vals && shared && seen && sums ? dnnq_graph_create(&g) : DNNQ_E_NOMEM;
	const bool made = !rc;
	/* a weight tensor several convs or FCs read (a 3-D Conv's depths, an
	 * unrolled LSTM's steps): packed once for them, in the caller's cache
	 * or the graph's own, under the checksum of its bytes too: a reader's
	 * lowering may change them (onnx/lower-ops.c int8_bias requantizes a
	 * row), and a cache that serves several models (--precision auto's
	 * trials) holds the packings of the tensor's other bytes under the
	 * same name and id */
	for (size_t j = 0; !rc && j < m->nnodes; j++) {
		const struct dnnq_model_node *n = &m->nodes[j];
		if ((n->kind != DNNQ_NODE_CONV && n->kind != DNNQ_NODE_FC) || n->weight < 0 ||
		    (size_t)n->weight >= m->ntensors)
			continue;
		if (seen[n->weight] && !shared[n->weight]) {
			const struct dnnq_qtensor *t = &m->tensors[n->weight].t;
			sums[n->weight] = dnnq_crc32c(t->data, t->data ? dnnq_qtensor_nbytes(t) : 0);
			any = shared[n->weight] = true;
		}
		seen[n->weight] = true;
	}
	/* without the caller's, the graph's own cache, shared weights or not:
	 * its arena puts the packed weights in huge pages (engine/wcache.c) */
	if (!rc && !cache && !(rc = dnnq_weights_cache_create(&g->own_cache)))
		cache = g->own_cache;
	free(seen);
	if (rc) {
		if (made)
			dnnq_graph_destroy(g);
		free(vals);
		free(shared);
		free(sums);
		return dnnq_diag_set(diag, rc, "model: cannot create the graph");
	}
	struct node_order *ord;
	if ((rc = plan_orders(m, isa, any ? shared : NULL, cache, &ord)))
		dnnq_diag_set(diag, rc, "model: cannot order the hidden channels");
	else
		rc = build(g, m, isa, cache, any ? shared : NULL, sums, ord, vals, diag);
	orders_free(ord, m->nnodes);
	free(vals);
	free(shared);
	free(sums);
	if (rc) {
		dnnq_graph_destroy(g);
		return rc;
	}
	*out = g;
	return DNNQ_OK;
}
