/* The unit suites, one per tests/test_*.c file. */
#ifndef DNNQ_TESTS_SUITES_H
#define DNNQ_TESTS_SUITES_H

#include <check.h>

#define DNNQ_SUITES \
	DNNQ_SUITE(quant) \
	DNNQ_SUITE(qtensor) \
	DNNQ_SUITE(gemm) \
	DNNQ_SUITE(fc) \
	DNNQ_SUITE(eltwise) \
	DNNQ_SUITE(f32) \
	DNNQ_SUITE(pooling) \
	DNNQ_SUITE(conv) \
	DNNQ_SUITE(calib) \
	DNNQ_SUITE(model) \
	DNNQ_SUITE(shm) \
	DNNQ_SUITE(conf) \
	DNNQ_SUITE(graph) \
	DNNQ_SUITE(loader) \
	DNNQ_SUITE(daemon) \
	DNNQ_SUITE(client) \
	DNNQ_SUITE(api) \
	DNNQ_SUITE(serve) \
	DNNQ_SUITE(reload) \
	DNNQ_SUITE(team) \
	DNNQ_SUITE(ctlreload) \
	DNNQ_SUITE(batching) \
	DNNQ_SUITE(metrics) \
	DNNQ_SUITE(systemd) \
	DNNQ_SUITE(faults) \
	DNNQ_SUITE(hostile) \
	DNNQ_SUITE(hostile_files) \
	DNNQ_SUITE(hostile_daemon) \
	DNNQ_SUITE(onnx) \
	DNNQ_SUITE(lower) \
	DNNQ_SUITE(convert) \
	DNNQ_SUITE(nodetests) \
	DNNQ_SUITE(ops) \
	DNNQ_SUITE(registry) \
	DNNQ_SUITE(xfmr) \
	DNNQ_SUITE(unary) \
	DNNQ_SUITE(vision) \
	DNNQ_SUITE(rnn)

#define DNNQ_SUITE(name) Suite *suite_##name(void);
DNNQ_SUITES
#undef DNNQ_SUITE

#endif
