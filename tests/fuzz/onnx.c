/*
 * Fuzzes the ONNX importer (onnx/import.c): dnnq_onnx_import on the bytes
 * (protobuf-c's parser, then every check of the graph walk, the constant
 * folding and the QDQ fusion), with the symbolic dims of rank-4 inputs
 * fixed as calibration samples of shape [1,4,4,4] would; an accepted
 * model must be self-consistent: every node reads values with smaller ids
 * than it writes, and the reference executor runs it at batch 1 when it
 * is small.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_small(const struct dnnq_ir *ir)
{
	size_t total = 0;
	for (size_t i = 0; i < ir->nvalues; i++)
		total += dnnq_ir_numel(&ir->values[i], 1) * dnnq_ir_dtype_size(ir->values[i].dtype);
	if (total > (1u << 16) || ir->ninputs > 8 || ir->noutputs > 8)
		return;
	void *in[8] = { 0 }, *out[8] = { 0 };
	for (size_t i = 0; i < ir->ninputs; i++) {
		const struct dnnq_ir_value *v = &ir->values[ir->inputs[i]];
		size_t n = dnnq_ir_numel(v, 1) * dnnq_ir_dtype_size(v->dtype);
		in[i] = calloc(1, n + 1);
	}
	for (size_t i = 0; i < ir->noutputs; i++) {
		const struct dnnq_ir_value *v = &ir->values[ir->outputs[i]];
		out[i] = malloc(dnnq_ir_numel(v, 1) * dnnq_ir_dtype_size(v->dtype) + 1);
	}
	dnnq_ir_run(ir, 1, (const void *const *)in, out, NULL, NULL, NULL);
	for (size_t i = 0; i < 8; i++) {
		free(in[i]);
		free(out[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnq_ir ir;
	struct dnnq_diag diag = { "" };
	char *list = NULL;
	size_t count = 0;
	/* inputs 0 to 7, when of rank 4 (NCHW), as samples [1,4,4,4] fix them */
	struct dnnq_onnx_shape samples[8];
	for (size_t k = 0; k < 8; k++)
		samples[k] = (struct dnnq_onnx_shape){ .ndim = 4, .dims = { 1, 4, 4, 4 } };
	struct dnnq_onnx_import_opts opts = { .samples = samples, .nsamples = 8 };
	int rc = dnnq_onnx_import(data, size, &opts, &ir, &list, &count, &diag);
	if (rc) {
		if (!count || !list || !diag.msg[0])
			abort();
		free(list);
		return 0;
	}
	if (list || count)
		abort();
	for (size_t i = 0; i < ir.nnodes; i++) {
		const struct dnnq_ir_node *n = &ir.nodes[i];
		for (uint32_t k = 0; k < n->ninputs; k++)
			for (uint32_t o = 0; o < n->noutputs; o++)
				if (n->inputs[k] >= n->outputs[o] || n->outputs[o] >= (int32_t)ir.nvalues)
					abort();
	}
	run_small(&ir);
	dnnq_ir_free(&ir);
	return 0;
}
