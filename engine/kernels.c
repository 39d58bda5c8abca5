/*
 * The kernel tables (engine/kernels.h), one per ISA. Constant, so filled
 * once (at compile time) and shared by every thread without a lock; the
 * only run-time question is whether the CPU has the ISA (cpuid, asked by
 * dnnq_kernels before a table is handed out).
 */
#include "engine/kernels.h"

#include "engine/conv-kernels.h"
#include "engine/eltwise.h"
#include "engine/gemm-kernels.h"
#include "engine/pooling.h"
#include "engine/quant-kernels.h"

#define GEMM_ACC16_AVX2 \
	{ "gemm_acc16_4x16c4__avx2", DNNQ_GEMM_MR, DNNQ_GEMM_NR, 4, dnnq_gemm_acc16_4x16c4__avx2 }

#define DW(tile, isa) \
	{ "dw_" #tile "__" #isa, DNNQ_DW_TG_##isa, dnnq_dw_pack_##isa, dnnq_dw_row_##isa }

/* Every step but GEMM and depthwise, from the kernels whose names end in _<isa>
 * (AVX-512 VNNI takes the AVX2 ones but the byte table, the elementwise
 * kernel and the NCHW quantize). */
#define STEPS(isa) STEPS_OWN(isa, dnnq_lut_##isa, dnnq_ew_##isa, dnnq_quantize_nchw_##isa)
#define STEPS_OWN(isa, lut_kernel, ew_kernel, quantize_nchw_kernel) \
	.maxpool_row = dnnq_maxpool_row_##isa, \
	.avgpool = dnnq_avgpool_kernel_##isa, \
	.pool_sums = dnnq_pool_sums_##isa, \
	.ew = ew_kernel, \
	.ewlin = dnnq_ewlin_##isa, \
	.lut = lut_kernel, \
	.quantize_nchw = quantize_nchw_kernel, \
	.dequantize_nchw = dnnq_dequantize_nchw_##isa, \
	.softmax_row = dnnq_softmax_row_##isa, \
	.quantize = dnnq_quantize_##isa, \
	.dequantize = dnnq_dequantize_##isa, \
	.requantize = dnnq_requantize_##isa

const struct dnnq_kernels dnnq_kernel_tables[DNNQ_ISA_COUNT] = {
	[DNNQ_ISA_SCALAR] = {
		.isa = DNNQ_ISA_SCALAR,
		.gemm = { "gemm_1x1__scalar", 1, 1, 1, dnnq_gemm_1x1__scalar },
		.gemm_acc16 = { "gemm_acc16_1x1__scalar", 1, 1, 1, dnnq_gemm_acc16_1x1__scalar },
		.dw = DW(1x1, scalar),
		STEPS(scalar),
	},
	[DNNQ_ISA_AVX2] = {
		.isa = DNNQ_ISA_AVX2,
		.gemm = { "gemm_4x16c4__avx2", DNNQ_GEMM_MR, DNNQ_GEMM_NR, 4,
		          dnnq_gemm_4x16c4__avx2 },
		.gemm_acc16 = GEMM_ACC16_AVX2,
		.dw = DW(32c2, avx2),
		STEPS(avx2),
	},
	[DNNQ_ISA_AVX512VNNI] = {
		.isa = DNNQ_ISA_AVX512VNNI,
		/* up to 6 rows by 4 panels; fewer columns take narrower tiles */
		.gemm = { "gemm_6x64c4__avx512vnni", 6, 64, 4, dnnq_gemm_6x64c4__avx512vnni },
		/* acc16's gain is the int16 adds vpdpbusd does not need: its
		 * weights keep the AVX2 kernel (the same panels) */
		.gemm_acc16 = GEMM_ACC16_AVX2,
		.dw = DW(32c4, avx512vnni),
		/* the AVX2 steps, but the byte table (vpermi2b where there is
		 * VBMI), the two-input Add (64 elements a step) and an RGB
		 * input's quantize (16 positions a step, with VBMI) */
		STEPS_OWN(avx2, dnnq_lut_avx512vnni, dnnq_ew_avx512vnni,
		          dnnq_quantize_nchw_avx512vnni),
	},
};

const struct dnnq_kernels *dnnq_kernels(enum dnnq_isa isa)
{
	if ((unsigned)isa >= DNNQ_ISA_COUNT || !dnnq_isa_supported(isa))
		return NULL;
	return &dnnq_kernel_tables[isa];
}
