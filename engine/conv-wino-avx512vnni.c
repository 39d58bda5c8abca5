/*
 * Winograd F(4, 3) on DNNQ_ISA_AVX512VNNI's table (dnnq_wino_avx512vnni):
 * the AVX2 table's transforms, layout and output stage
 * (engine/conv-wino-avx2.h, compiled here with the AVX-512 flags: the same
 * integer operations, so the same bits) with the products by 512-bit
 * vpdpwssd: per channel pair one 64-byte load of the 16 columns' weights
 * (the packed U's pair, 16 x 2 int16), the tile's pair broadcast (a
 * vpbroadcastd load; as vpdpwssd's embedded broadcast by inline asm it was
 * no faster), one vpdpwssd a tile adding both products into 16 int32
 * columns, up to 12 tiles a step. vpdpwssd does not saturate, vpmaddwd
 * only for -32768 * -32768 twice, which |V| <= 12800 and |U| <= 6272 rule
 * out: the sums are the AVX2 kernel's. Only from DNNQ_WINO_VNNI_MIN_CIN to
 * DNNQ_WINO_F43_MAX_CIN channels (conv.c's pack_wino), where it wins;
 * docs/gemm.md, "Winograd on the VNNI table".
 */
#include <immintrin.h>

#include "engine/conv-wino-avx2.h"
#include "engine/gemm-avx512.h"

/* Tiles a step: WINO_VNNI_MR accumulators cover vpdpwssd's latency at two
 * a cycle. */
#define WINO_VNNI_MR 12

/* The sums of mr tiles (wino_position), pf: the first step of a position,
 * which prefetches the next one's weights (a line a pair) into L1 (into
 * L2, as the AVX2 kernel, the first steps waited on them: 1.1x the
 * node's time). */
DNNQ_AVX512_INLINE void wino_vnni_dot(const int mr, const bool pf, const int16_t *v, size_t cin,
                                      size_t nq, const int16_t *w, int32_t *m, size_t ms)
{
	__m512i s[WINO_VNNI_MR];
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++)
		s[r] = _mm512_setzero_si512();
	for (size_t q = 0; q < nq; q++, w += 32) {
		__m512i wq = _mm512_loadu_si512(w);
		if (pf)
			_mm_prefetch((const char *)(w + 32 * nq), _MM_HINT_T0);
#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			int32_t pair;
			memcpy(&pair, v + r * cin + 2 * q, sizeof pair);
			s[r] = _mm512_dpwssd_epi32(s[r], _mm512_set1_epi32(pair), wq);
		}
	}
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++)
		_mm512_storeu_si512(m + r * ms, s[r]);
}

WINO_DOT(wino_vnni_dot, 1) WINO_DOT(wino_vnni_dot, 2) WINO_DOT(wino_vnni_dot, 3)
WINO_DOT(wino_vnni_dot, 4) WINO_DOT(wino_vnni_dot, 5) WINO_DOT(wino_vnni_dot, 6)
WINO_DOT(wino_vnni_dot, 7) WINO_DOT(wino_vnni_dot, 8) WINO_DOT(wino_vnni_dot, 9)
WINO_DOT(wino_vnni_dot, 10) WINO_DOT(wino_vnni_dot, 11) WINO_DOT(wino_vnni_dot, 12)

/* The fewest steps of at most WINO_VNNI_MR tiles, as even as can be (49
 * tiles 10, 10, 10, 10, 9 rather than 12, 12, 12, 12, 1: a step of fewer
 * tiles waits on vpdpwssd's latency, as long as a full one), the first
 * prefetching with pf. */
static void wino_position(bool pf, size_t tiles, const int16_t *v, size_t cin, size_t nq,
                          const int16_t *w, int32_t *m, size_t ms)
{
	size_t steps = (tiles + WINO_VNNI_MR - 1) / WINO_VNNI_MR;
	for (size_t i = 0; i < steps; i++) {
		size_t t = i * tiles / steps;
		switch ((i + 1) * tiles / steps - t) {
		WINO_CASE(wino_vnni_dot, 1) WINO_CASE(wino_vnni_dot, 2)
		WINO_CASE(wino_vnni_dot, 3) WINO_CASE(wino_vnni_dot, 4)
		WINO_CASE(wino_vnni_dot, 5) WINO_CASE(wino_vnni_dot, 6)
		WINO_CASE(wino_vnni_dot, 7) WINO_CASE(wino_vnni_dot, 8)
		WINO_CASE(wino_vnni_dot, 9) WINO_CASE(wino_vnni_dot, 10)
		WINO_CASE(wino_vnni_dot, 11) WINO_CASE(wino_vnni_dot, 12)
		}
	}
}

void dnnq_wino_avx512vnni(const struct dnnq_conv *c, size_t img, size_t t0, size_t t1,
                          size_t j0, size_t j1, void *scratch)
{
	wino_block(false, c, img, t0, t1 - t0, j0, j1, scratch);
}
