/*
 * The byte table of DNNQ_ISA_AVX512VNNI's kernels (engine/kernels.c): on
 * CPUs that also have AVX512_VBMI (Ice Lake, Zen 4; not Cascade Lake,
 * whose VNNI comes without it), vpermi2b looks 64 bytes up in a 128-entry
 * half of the table at once, two of them and a blend on the index's top
 * bit make the 256 entries: three instructions for 64 bytes where the
 * AVX2 kernel's sixteen vpshufb steps take 46 for 32. Elsewhere the AVX2
 * kernel. The same bytes either way (the scalar loop's: test
 * lut_kernel_lengths).
 */
#include <immintrin.h>
#include <stdatomic.h>

#include "engine/eltwise.h"

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void lut_vbmi(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
	const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
	for (size_t i = 0; i < n; i += 64) {
		__mmask64 m = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
		__m512i v = _mm512_maskz_loadu_epi8(m, x + i);
		__m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
		__m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
		_mm512_mask_storeu_epi8(y + i, m,
		                        _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
}

void dnnq_lut_avx512vnni(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	static _Atomic int vbmi = -1;   /* racing first calls store the same value */
	int v = atomic_load_explicit(&vbmi, memory_order_relaxed);
	if (v < 0)
		atomic_store_explicit(&vbmi, v = __builtin_cpu_supports("avx512vbmi") != 0,
		                      memory_order_relaxed);
	(v ? lut_vbmi : dnnq_lut_avx2)(table, x, y, n);
}
