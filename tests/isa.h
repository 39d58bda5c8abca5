/*
 * Every kernel table the CPU runs, in one pass: the tests loop over the ISAs
 * with these instead of re-running suites under an environment variable.
 * An ISA the CPU lacks is skipped (its kernels cannot run here), never
 * failed; the scalar table, the oracle, always runs.
 */
#ifndef DNNQ_TESTS_ISA_H
#define DNNQ_TESTS_ISA_H

#include "engine/kernels.h"

/* isa over every ISA this CPU runs, scalar first. */
#define FOR_EACH_ISA(isa) \
	for (enum dnnq_isa isa = DNNQ_ISA_SCALAR; isa < DNNQ_ISA_COUNT; isa++) \
		if (dnnq_isa_supported(isa))

/* isa over every SIMD ISA this CPU runs (the ones checked against scalar). */
#define FOR_EACH_SIMD_ISA(isa) \
	for (enum dnnq_isa isa = DNNQ_ISA_SCALAR + 1; isa < DNNQ_ISA_COUNT; isa++) \
		if (dnnq_isa_supported(isa))

#endif
