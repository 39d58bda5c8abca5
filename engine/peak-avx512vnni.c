/*
 * engine/peak-avx512vnni.c — the u8 x s8 multiply-add peak of one core with
 * AVX-512 VNNI: the ceiling of dnnq's vpdpbusd GEMM kernel
 * (engine/gemm-avx512vnni.c), which the AVX2 peak of peak-avx2.c does not
 * bound (one vpdpbusd zmm does 64 multiply-adds and the int32 accumulation
 * that takes vpmaddubsw + vpmaddwd + vpaddd, for 32, on AVX2).
 *
 * The loop: 16 vpdpbusd on zmm registers an iteration into 8 independent
 * accumulators (two rounds), so a latency of up to 8 cycles is hidden at one
 * instruction a cycle; there are no loads. Inline asm for the same reasons as
 * peak-avx2.c: the compiler may neither hoist, merge nor drop the identical
 * loop-invariant products. Only called when the CPU has AVX-512 F, BW, VL
 * and VNNI (peak.c checks, as engine/gemm.c does before it picks the kernel).
 */
#include <immintrin.h>

#include "engine/peak.h"

/* acc += dot4(zmm12 (u8), zmm13 (s8)) in every int32 lane */
#define STEP(acc) "vpdpbusd %%zmm13, %%zmm12, %%zmm" #acc "\n\t"

#define ROUND STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)

uint32_t dnnq_peak_avx512vnni_loop(uint64_t iters)
{
	__m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5), sum;
	if (!iters)
		return 0;
	__asm__ volatile(
		"vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
		"vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
		"vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
		"vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
		"vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
		"vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
		"vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
		"vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
		"vmovdqu64 %[a], %%zmm12\n\t"
		"vmovdqu64 %[b], %%zmm13\n\t"
		".p2align 5\n"
		"1:\n\t"
		ROUND
		ROUND
		"dec %[n]\n\t"
		"jnz 1b\n\t"
		"vpaddd %%zmm1, %%zmm0, %%zmm0\n\t"
		"vpaddd %%zmm3, %%zmm2, %%zmm2\n\t"
		"vpaddd %%zmm5, %%zmm4, %%zmm4\n\t"
		"vpaddd %%zmm7, %%zmm6, %%zmm6\n\t"
		"vpaddd %%zmm2, %%zmm0, %%zmm0\n\t"
		"vpaddd %%zmm6, %%zmm4, %%zmm4\n\t"
		"vpaddd %%zmm4, %%zmm0, %%zmm0\n\t"
		"vmovdqu64 %%zmm0, %[sum]\n\t"
		"vzeroupper\n\t"
		: [n] "+r"(iters), [sum] "=m"(sum)
		: [a] "m"(a), [b] "m"(b)
		: "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm12", "xmm13");
	/* vector adds wrap; _mm512_reduce_add_epi32 adds in int and may overflow */
	__m256i h = _mm256_add_epi32(_mm512_castsi512_si256(sum), _mm512_extracti64x4_epi64(sum, 1));
	__m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
	q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4e));
	q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xb1));
	return (uint32_t)_mm_cvtsi128_si32(q);
}
