/*
 * engine/peak.h — what this machine can do at most, measured: the u8 x s8
 * multiply-add peak of the loops in peak-avx2.c (vpmaddubsw + vpmaddwd +
 * vpaddd: the ceiling of an AVX2 kernel) and peak-avx512vnni.c (vpdpbusd on
 * zmm: the ceiling of the VNNI GEMM kernel), on one thread or several at
 * once (on the caller's executor: the engine owns no thread), and the rate
 * memcpy moves activation-sized buffers at. dnnq-bench reports them
 * (`peak`, `gemm`) and dnnq-run --profile reads each node's GOP/s and GB/s
 * as a fraction of them. Each measurement spins the CPUs for
 * about the seconds it is given.
 */
#ifndef DNNQ_ENGINE_PEAK_H
#define DNNQ_ENGINE_PEAK_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/base.h"
#include "engine/executor.h"

enum dnnq_peak_kind {
	DNNQ_PEAK_AVX2,
	DNNQ_PEAK_VNNI,
};
#define DNNQ_PEAK_KINDS 2

bool dnnq_peak_supported(enum dnnq_peak_kind k);
const char *dnnq_peak_name(enum dnnq_peak_kind k);   /* "avx2", "avx512-vnni" */
const char *dnnq_peak_insn(enum dnnq_peak_kind k);   /* "vpmaddubsw", "vpdpbusd" */
/* u8 x s8 multiply-adds one such instruction does. */
double dnnq_peak_madds_per_insn(enum dnnq_peak_kind k);
/* The peak that bounds the kernels of isa (VNNI for avx512vnni, AVX2 for
 * avx2); false for scalar, which has none measured. */
bool dnnq_peak_of_isa(enum dnnq_isa isa, enum dnnq_peak_kind *k);

/* Each figure is the best of this many slices of seconds / DNNQ_PEAK_SLICES. */
#define DNNQ_PEAK_SLICES 5

/* u8 x s8 peak in GOPS (one multiply-add = 2 ops) of the loop of kind k on
 * every thread of ex at once (aggregate; NULL: the calling thread), measured
 * for about `seconds`. 0 when the CPU cannot run the loop or ex has more
 * than DNNQ_PEAK_MAX_THREADS threads. */
#define DNNQ_PEAK_MAX_THREADS 256
double dnnq_peak_gops(enum dnnq_peak_kind k, double seconds, const struct dnnq_executor *ex);
/* GB/s (bytes read + bytes written) of memcpy between two buffers of
 * DNNQ_PEAK_COPY_BYTES on every thread of ex at once, each its own pair:
 * the ceiling of a pass over activations that stay in the caches. 0 when
 * the buffers cannot be had. */
#define DNNQ_PEAK_COPY_BYTES ((size_t)2 << 20)
double dnnq_peak_copy_gbps(double seconds, const struct dnnq_executor *ex);
/* The clock estimate, GHz, from a chain of dependent adds. */
double dnnq_clock_ghz(double seconds);

/* The loops (peak-avx2.c, peak-avx512vnni.c): `iters` iterations of 8
 * independent accumulators x 2 steps (16 vpmaddubsw or 16 vpdpbusd).
 * Return a value depending on every accumulator so nothing can be dropped.
 * Only on CPUs dnnq_peak_supported() accepts. */
#define DNNQ_PEAK_OPS_PER_ITER (16.0 * 32 * 2)
uint32_t dnnq_peak_avx2_loop(uint64_t iters);
#define DNNQ_PEAK_VNNI_OPS_PER_ITER (16.0 * 64 * 2)
uint32_t dnnq_peak_avx512vnni_loop(uint64_t iters);

#endif
