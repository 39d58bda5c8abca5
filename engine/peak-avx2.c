/*
 * engine/peak-avx2.c — the u8 x s8 multiply-add peak of one core with AVX2:
 * the ceiling any AVX2 int8 GEMM kernel (dnnq's included) works under, so
 * that a GEMM result can be read as "x % of what this core can do".
 *
 * One step is the inner product sequence of an AVX2 int8 kernel:
 * vpmaddubsw (32 u8 x s8 products, summed in pairs to 16 s16), vpmaddwd
 * with a vector of ones (pairs to 8 s32) and vpaddd into an accumulator.
 * Eight independent accumulators hide the latencies; there are no loads in
 * the loop. It is written in inline asm so the compiler can neither hoist
 * the loop-invariant products nor merge the identical ones nor drop the
 * loop: the accumulators are summed into the return value.
 */
#include <immintrin.h>

#include "engine/peak.h"

/* acc += madd(maddubs(ymm12 (u8), ymm13 (s8)), ones); tmp is a scratch. */
#define STEP(acc, tmp)                                                  \
	"vpmaddubsw %%ymm13, %%ymm12, %%ymm" #tmp "\n\t"                \
	"vpmaddwd   %%ymm15, %%ymm" #tmp ", %%ymm" #tmp "\n\t"          \
	"vpaddd     %%ymm" #tmp ", %%ymm" #acc ", %%ymm" #acc "\n\t"

#define ROUND                                                           \
	STEP(0, 8) STEP(1, 9) STEP(2, 10) STEP(3, 11)                   \
	STEP(4, 8) STEP(5, 9) STEP(6, 10) STEP(7, 11)

uint32_t dnnq_peak_avx2_loop(uint64_t iters)
{
	__m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5), sum;
	if (!iters)
		return 0;
	__asm__ volatile(
		"vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
		"vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
		"vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
		"vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
		"vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
		"vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
		"vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
		"vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
		"vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t"
		"vpsrlw $15, %%ymm15, %%ymm15\n\t"      /* 16-bit ones */
		"vmovdqu %[a], %%ymm12\n\t"
		"vmovdqu %[b], %%ymm13\n\t"
		".p2align 5\n"
		"1:\n\t"
		ROUND
		ROUND
		"dec %[n]\n\t"
		"jnz 1b\n\t"
		"vpaddd %%ymm1, %%ymm0, %%ymm0\n\t"
		"vpaddd %%ymm3, %%ymm2, %%ymm2\n\t"
		"vpaddd %%ymm5, %%ymm4, %%ymm4\n\t"
		"vpaddd %%ymm7, %%ymm6, %%ymm6\n\t"
		"vpaddd %%ymm2, %%ymm0, %%ymm0\n\t"
		"vpaddd %%ymm6, %%ymm4, %%ymm4\n\t"
		"vpaddd %%ymm4, %%ymm0, %%ymm0\n\t"
		"vmovdqu %%ymm0, %[sum]\n\t"
		"vzeroupper\n\t"
		: [n] "+r"(iters), [sum] "=m"(sum)
		: [a] "m"(a), [b] "m"(b)
		: "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm15");
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return (uint32_t)_mm_cvtsi128_si32(s);
}
