/*
 * Fuzzes the .dnnq reader (engine/model.h): dnnq_model_read on the bytes,
 * and for a file it accepts, dnnq_model_build, which must refuse what the
 * reader let through but the graph cannot run, never crash on it.
 *
 * A mutated section almost never keeps its crc32c, so the sections' parsers
 * would only ever see the seeds: each input is read once as it is (the
 * header and table checks), then, when that changes anything, once more
 * with the header's file size and every in-bounds table entry's checksum
 * set to what the bytes are.
 *
 * A graph that builds is planned at batch 1 and 2 and run, twice each:
 * inputs filled from the fuzz input, outputs and the arena filled with one
 * poison pattern the first time and another the second. A byte nobody
 * writes keeps its poison, so the two runs' outputs differ and the harness
 * aborts: the "uninitialised output" bugs (issue 19, finding 6) show
 * without MSan. The inputs must come out of a run unchanged. Graphs whose
 * tensors or work are too big to run quickly are not run (the plan's size
 * checks still are, below the bounds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/graph-internal.h"
#include "engine/le.h"
#include "engine/model.h"

#define HEADER_SIZE 24u      /* engine/model.c */
#define ENTRY_SIZE 28u
#define RUN_MAX_BYTES ((size_t)16 << 20)   /* every tensor's bytes, summed, at the batch */
#define RUN_MAX_WORK ((size_t)1 << 22)     /* multiply-adds (roughly), at the batch */
/* the engine's own count at the batch (dnnq_graph_cost: bytes, multiply-adds,
 * pooling taps, a registry kind's work such as a TopK's selection, len x 2
 * (1 + log2 k) compares a line: a 708-byte model of one long line ran 14 s
 * here while that was counted as the bytes it moves and the selection
 * kept its k sorted, ~1 s since) */
#define RUN_MAX_COST ((uint64_t)1 << 26)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes of t per batch item (all of a constant), into *n; false on
 * overflow. A built graph's dims but the batch are >= 1: one that is not
 * (issue 19, finding 6: a reshape to {-1, -16}) aborts. */
static bool item_bytes(const struct gtensor *t, size_t *n)
{
	*n = t->dtype == DNNQ_DTYPE_F32 ? 4 : 1;
	for (uint32_t k = t->const_data ? 0 : 1; k < t->ndim; k++) {
		if (t->dims[k] < 1) {
			fprintf(stderr, "fuzz-model: built tensor '%s' has dims[%u] = %lld\n", t->name, k,
			        (long long)t->dims[k]);
			abort();
		}
		if (__builtin_mul_overflow(*n, (size_t)t->dims[k], n))
			return false;
	}
	return true;
}

/* Operations per output element of node n, roughly. */
static size_t cost(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct dnnq_node_desc *d = &n->desc;
	const struct gtensor *x = &g->t[d->inputs[0]];
	switch (d->kind) {
	case DNNQ_NODE_CONV:
		return d->op.conv.kh * d->op.conv.kw * (d->op.conv.cin / d->op.conv.groups);
	case DNNQ_NODE_FC:
		return d->op.fc.k;
	case DNNQ_NODE_MAXPOOL:
		return (size_t)d->op.maxpool.geom.kernel_h * (size_t)d->op.maxpool.geom.kernel_w;
	case DNNQ_NODE_AVGPOOL:
		return (size_t)d->op.avgpool.geom.kernel_h * (size_t)d->op.avgpool.geom.kernel_w;
	case DNNQ_NODE_GAVGPOOL:
		return x->ndim == 4 ? (size_t)x->dims[1] * (size_t)x->dims[2] : 1;
	default:
		return d->ninputs + 1;
	}
}

/* Whether the graph is small enough to plan and run at `batch` here: the
 * bytes of all its tensors and a rough count of its operations, known
 * (but for the batch) once it is built. */
static bool small_enough(struct dnnq_graph *g, size_t batch)
{
	struct dnnq_graph_cost c;
	struct dnnq_diag d = { "" };
	size_t bytes = 0, work = 0, b;
	for (size_t i = 0; i < g->nt; i++)
		if (!item_bytes(&g->t[i], &b) || __builtin_add_overflow(bytes, b, &bytes))
			return false;
	for (size_t i = 0; i < g->nn; i++) {
		const struct gtensor *y = &g->t[g->n[i].out];
		if (!item_bytes(y, &b) || __builtin_mul_overflow(b, cost(g, &g->n[i]), &b) ||
		    __builtin_add_overflow(work, b, &work))
			return false;
	}
	return !__builtin_mul_overflow(bytes, batch, &bytes) && bytes <= RUN_MAX_BYTES &&
	       !__builtin_mul_overflow(work, batch, &work) && work <= RUN_MAX_WORK &&
	       dnnq_graph_cost(g, batch, 1, &c, &d) == 0 && c.work <= RUN_MAX_COST;
}

/* buf (n bytes of a tensor of dtype dt) from the fuzz input, cycled; f32
 * values finite, in [-8, 8). */
static void fill(uint8_t *buf, size_t n, enum dnnq_dtype dt, const uint8_t *data, size_t size,
                 size_t salt)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = i / (dt == DNNQ_DTYPE_F32 ? 4 : 1) + salt;
		uint8_t v = size ? data[k % size] : (uint8_t)(k * 131 + 7);
		if (dt != DNNQ_DTYPE_F32) {
			buf[i] = v;
		} else if (i % 4 == 0) {
			float f = ((float)v - 128.0f) / 16.0f;
			memcpy(buf + i, &f, n - i < 4 ? n - i : 4);
		}
	}
}

struct io {
	size_t n;
	uint8_t *buf[DNNQ_GRAPH_MAX_NODE_INPUTS * 64];
	size_t bytes[DNNQ_GRAPH_MAX_NODE_INPUTS * 64];
};

static void io_free(struct io *io)
{
	for (size_t i = 0; i < io->n; i++)
		free(io->buf[i]);
	io->n = 0;
}

/* Buffers for the graph's inputs (filled; *keep: a copy) or outputs. */
static bool io_alloc(const struct dnnq_graph *g, bool inputs, struct io *io, struct io *keep,
                     const uint8_t *data, size_t size)
{
	size_t n = inputs ? dnnq_graph_num_inputs(g) : dnnq_graph_num_outputs(g);
	if (n > sizeof io->buf / sizeof io->buf[0])
		return false;
	for (size_t i = 0; i < n; i++) {
		struct dnnq_tensor_info ti;
		if (inputs ? dnnq_graph_input_info(g, i, &ti) : dnnq_graph_output_info(g, i, &ti))
			abort();   /* i < n */
		io->bytes[i] = ti.bytes;
		if (!(io->buf[i] = malloc(ti.bytes ? ti.bytes : 1)))
			return false;
		io->n = i + 1;
		if (inputs) {
			fill(io->buf[i], ti.bytes, ti.dtype, data, size, 977 * i);
			keep->bytes[i] = ti.bytes;
			if (!(keep->buf[i] = malloc(ti.bytes ? ti.bytes : 1)))
				return false;
			keep->n = i + 1;
			memcpy(keep->buf[i], io->buf[i], ti.bytes);
		}
	}
	return true;
}

/* Two runs at the planned batch, poisoned differently: same status, same
 * outputs, inputs untouched. */
static void run_twice(struct dnnq_graph *g, size_t batch, const uint8_t *data, size_t size)
{
	static const uint8_t poison[2] = { 0xa5, 0x5a };
	struct io in = { 0 }, keep = { 0 }, out[2] = { { 0 }, { 0 } };
	int rc[2];
	if (!io_alloc(g, true, &in, &keep, data, size) || !io_alloc(g, false, &out[0], NULL, NULL, 0) ||
	    !io_alloc(g, false, &out[1], NULL, NULL, 0))
		goto done;
	for (int p = 0; p < 2; p++) {
		for (size_t o = 0; o < out[p].n; o++)
			memset(out[p].buf[o], poison[p], out[p].bytes[o]);
		if (g->arena)	/* what the plan lays out: past it the arena is
			         * poisoned (engine/graph.c) */
			memset(g->arena, poison[p], g->arena_used);
		rc[p] = dnnq_graph_run(g, (const void *const *)in.buf, (void *const *)out[p].buf, NULL);
		for (size_t i = 0; i < in.n; i++)
			if (memcmp(in.buf[i], keep.buf[i], in.bytes[i])) {
				fprintf(stderr, "fuzz-model: batch %zu: the run wrote into input %zu\n",
				        batch, i);
				abort();
			}
	}
	if (rc[0] != rc[1]) {
		fprintf(stderr, "fuzz-model: batch %zu: run returned %d, then %d\n", batch, rc[0], rc[1]);
		abort();
	}
	for (size_t o = 0; !rc[0] && o < out[0].n; o++)
		for (size_t k = 0; k < out[0].bytes[o]; k++)
			if (out[0].buf[o][k] != out[1].buf[o][k]) {
				fprintf(stderr, "fuzz-model: batch %zu: output %zu byte %zu of %zu: 0x%02x "
				        "then 0x%02x: written by nobody, or not the same twice\n", batch, o,
				        k, out[0].bytes[o], out[0].buf[o][k], out[1].buf[o][k]);
				abort();
			}
done:
	io_free(&in);
	io_free(&keep);
	io_free(&out[0]);
	io_free(&out[1]);
}

static void read_build(const uint8_t *p, size_t len, enum dnnq_isa isa)
{
	struct dnnq_model m;
	struct dnnq_graph *g;
	struct dnnq_diag diag = { "" };
	if (dnnq_model_read(p, len, &m, &diag))
		return;
	if (dnnq_model_build(&m, isa, &g, &diag) == 0) {
		for (size_t batch = 1; batch <= 2; batch++)
			if (small_enough(g, batch) && dnnq_graph_plan(g, batch, 1, &diag) == 0)
				run_twice(g, batch, p, len);
		dnnq_graph_destroy(g);
	}
	dnnq_model_free(&m);
}

/* The header's size and the checksums made right; false: nothing to fix. */
static bool fix_up(uint8_t *p, size_t len)
{
	if (len < HEADER_SIZE || memcmp(p, DNNQ_MODEL_MAGIC, 8))
		return false;
	dnnq_put_le64(p + 16, len);
	uint32_t n = dnnq_le32(p + 12);
	for (uint32_t i = 0; i < n && i < DNNQ_MODEL_MAX_SECTIONS; i++) {
		uint8_t *e = p + HEADER_SIZE + (size_t)i * ENTRY_SIZE;
		if ((size_t)(e - p) + ENTRY_SIZE > len)
			break;
		uint64_t off = dnnq_le64(e + 8), sz = dnnq_le64(e + 16);
		if (off <= len && sz <= len - off)
			dnnq_put_le32(e + 24, dnnq_crc32c(p + off, (size_t)sz));
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static enum dnnq_isa isa;
	static int have_isa;
	if (!have_isa) {
		isa = dnnq_isa_best();
		have_isa = 1;
	}
	read_build(data, size, isa);
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (fix_up(copy, size) && memcmp(copy, data, size))
		read_build(copy, size, isa);
	free(copy);
	return 0;
}
