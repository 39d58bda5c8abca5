/*
 * GEMM driver (gemm.h): weight packing, argument checks, the split of a call
 * into tasks for the executor, and the scalar reference kernel.
 *
 * Tasks: the output is cut into row blocks of up to DNNQ_GEMM_MC rows (as
 * many as a multiple of the threads: dnnq_gemm_block_rows) and column
 * chunks of about DNNQ_GEMM_NC_BYTES of weights; one task computes one
 * (chunk, block) rectangle over the whole of K. Every output element is
 * computed by exactly one task in the same order whatever the thread count,
 * so results never depend on it.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/gemm-kernels.h"

static bool pairs_safe(const int8_t *row, size_t k)
{
	/* vpmaddubsw pairs k = 2t, 2t + 1: with u8 activations a pair sum
	 * lies in [255 * (its negative weights), 255 * (its positive ones)],
	 * within int16 while each side sums to at most 128 in magnitude (a
	 * pair of opposite signs always does) */
	for (size_t t = 0; t + 1 < k; t += 2) {
		int a = row[t], b = row[t + 1];
		if ((a > 0 && b > 0 && a + b > 128) || (a < 0 && b < 0 && a + b < -128))
			return false;
	}
	return true;
}

/* A group's int16 lanes in one half of a panel (8 columns, the two
 * vpmaddubsw pairs of each: lane 2 c + t has the weights 2t, 2t + 1 of
 * the group in column c): the sum of the lane's positive weights (pos)
 * and minus the sum of its negative ones (neg), capped at 255 (past 128
 * every lane is unsafe alike); 0 in a column past the panel's width,
 * which the kernel does not read. Vectors of GCC's extension (SSE2 here):
 * a check of a candidate pair (pair_groups makes up to PAIR_BUDGET a
 * group) is a few vector instructions whatever the weights (a loop over
 * the weights that stopped at the first unsafe lane took 1.76 s to pack
 * 512 x 4608 weights made to fail at the last one: docs/gemm.md). */
typedef uint8_t lanes16 __attribute__((vector_size(16)));
struct half_lanes {
	lanes16 pos, neg;
};

static void group_lanes(const int8_t *w, size_t ldw, size_t j0, size_t j1, size_t g,
                        struct half_lanes hl[2])
{
	memset(hl, 0, 2 * sizeof *hl);
	for (size_t j = j0; j < j1; j++)
		for (size_t t = 0; t < 2; t++) {
			int pos = 0, neg = 0;
			for (size_t u = 0; u < 2; u++) {
				int v = w[j * ldw + 4 * g + 2 * t + u];
				pos += v > 0 ? v : 0;
				neg -= v < 0 ? v : 0;
			}
			struct half_lanes *h = &hl[(j - j0) / 8];
			h->pos[(j - j0) % 8 * 2 + t] = (uint8_t)(pos < 255 ? pos : 255);
			h->neg[(j - j0) % 8 * 2 + t] = (uint8_t)(neg < 255 ? neg : 255);
		}
}

/* Whether no u8 activations can take a lane of the half b, added to the
 * same half a whose lanes are at most 128, out of int16: each lane's
 * positive weights sum to at most 128 and its negative ones to at least
 * -128 (255 * 128 fits in int16; a pair of opposite signs always does).
 * With a all zeros: whether b's own vpmaddubsw pair sums cannot saturate;
 * with a a safe half of a group: whether the vpaddw of the two groups'
 * products cannot wrap either (nor can they saturate). */
static bool lanes_fit(const struct half_lanes *a, const struct half_lanes *b)
{
	typedef uint64_t u64x2 __attribute__((vector_size(16)));
	u64x2 over = (u64x2)((b->pos > 128 - a->pos) | (b->neg > 128 - a->neg));
	return !(over[0] | over[1]);
}

/* The AVX2 32-bit kernel's group order (gemm.h: group_off, group_pos,
 * group_ends). Below ORDER_MIN_GROUPS groups (K < 64) every group is of
 * class 3, as if none were safe, in k order: there few are (MobileNetV2's
 * K = 16 and 24 expansions: 12-16 % of the halves' groups), and with the
 * classes a tile's four loops of 0-4 steps ran K = 16 at 1.17-1.19x
 * main's time, with one class at 1.02-1.03x (docs/gemm.md). */
#define ORDER_MIN_GROUPS 16
/* How many unpaired candidates past a group the packer checks for one to
 * pair it with (keeps packing linear in K; 64 found 10-15 % fewer pairs
 * in ResNet-18, an unbounded search 1 % more) */
#define PAIR_WINDOW 256
/* The checks a panel may spend on its pairs, per group (over the three
 * passes: up to 3 * PAIR_WINDOW a group without it). The bench models'
 * weights and N(0, 1) ones at +-127 spend at most 43 in a panel (18-30 on
 * average), so their pairs are those of the window alone; weights where
 * no two of many safe groups pair (a hostile model's) cannot make a panel
 * take more than this (docs/gemm.md, "the packer's time bounded"). */
#define PAIR_BUDGET 128

/* The classes of paired groups (gemm.h, group_ends), before the four of
 * single groups: both halves added in int16 (PP), or the first (PD) or
 * the second (DP) with two direct products in the other. */
enum { PAIR_PP, PAIR_PD, PAIR_DP, PAIR_CLASSES };

/* Whether groups a and b (their halves, struct half_lanes) are safe added
 * in both halves (half < 0) or in half `half` */
static bool pair_fits(const struct half_lanes a[2], const struct half_lanes b[2], int half)
{
	if (half >= 0)
		return lanes_fit(&a[half], &b[half]);
	return lanes_fit(&a[0], &b[0]) && lanes_fit(&a[1], &b[1]);
}

/* Pairs the unpaired groups of a panel that are safe in both halves, in k
 * order, each with the first of the next PAIR_WINDOW of them that it fits
 * (pair_fits, hl[g] the group's halves) in both halves (half < 0) or in
 * half `half`, while *budget checks are left: pair[g] = g2, pcls[g] the
 * pair's class, cls[] 4 for both. The unpaired ones are the circular list
 * nxt (head nxt[kg], in k order), which loses the pairs: a group's scan
 * never walks past paired or unsafe groups. */
static void pair_groups(const struct half_lanes (*hl)[2], size_t kg, int half, size_t *budget,
                        uint16_t *nxt, uint8_t *cls, uint16_t *pair, uint8_t *pcls)
{
	for (size_t prev = kg, g = nxt[kg]; g != kg; g = nxt[prev]) {
		size_t before = g, g2 = nxt[g];
		bool found = false;
		for (size_t seen = 0; g2 != kg && seen < PAIR_WINDOW && *budget;
		     seen++, before = g2, g2 = nxt[g2]) {
			--*budget;
			if ((found = pair_fits(hl[g], hl[g2], half)))
				break;
		}
		if (!found) {
			prev = g;
			continue;
		}
		pair[g] = (uint16_t)g2;
		pcls[g] = (uint8_t)(half < 0 ? PAIR_PP : half == 0 ? PAIR_PD : PAIR_DP);
		cls[g] = cls[g2] = 4;
		/* both out of the list (g's successor first: it is g2 when
		 * before == g) */
		nxt[before] = nxt[g2];
		nxt[prev] = nxt[g];
	}
}

/* How many halves (8 columns, of n) of the group of k q[0..3] are safe:
 * both pairs fit (lanes_fit's test) in every column. pn holds per k its
 * positive weights and then minus its negative ones, npad (a multiple of
 * 16) u8 columns each, zero past n. */
static size_t group_safe_halves(const uint8_t *pn, size_t npad, const uint32_t *q)
{
	typedef uint64_t u64x2 __attribute__((vector_size(16)));
	const lanes16 *v[4];
	for (int i = 0; i < 4; i++)
		v[i] = (const lanes16 *)(const void *)(pn + 2 * npad * q[i]);
	const lanes16 lim = (lanes16){ 0 } + 128;
	size_t safe = 0, w = npad / 16;
	for (size_t c = 0; c < w; c++) {
		/* b > 128 - a: a + b could wrap (128 + 128) */
		lanes16 over = (lanes16)((v[1][c] > lim - v[0][c]) | (v[3][c] > lim - v[2][c]) |
		                         (v[1][w + c] > lim - v[0][w + c]) |
		                         (v[3][w + c] > lim - v[2][w + c]));
		u64x2 h = (u64x2)over;
		safe += !h[0] + !h[1];
	}
	return safe;
}

/* The search's work per k: group evaluations (each 2 x n pair checks
 * a half) and swaps drawn (most, once the order settles, land in a group
 * already safe in every half and cost nothing) */
#define SAFE_ORDER_EVALS 128
#define SAFE_ORDER_TRIES 1024

/* Whether weights a and b of one vpmaddubsw pair cannot saturate it,
 * whatever the u8 activations (lanes_fit's test for one pair) */
static bool pair_fits1(int a, int b)
{
	return !(a > 0 && b > 0 && a + b > 128) && !(a < 0 && b < 0 && a + b < -128);
}

/* The safe groups of the expansion e (k x ke: its output channels are
 * the k ordered) in the 8 channels at places h * 8.. of perm: a bit per
 * group of 4 of e's ke, set where every channel's two pairs fit (emask) */
static int half_safe_groups(const uint64_t *emask, size_t k, const uint32_t *perm, size_t h)
{
	uint64_t all = ~(uint64_t)0;
	for (size_t c = 8 * h; c < 8 * h + 8 && c < k; c++)
		all &= emask[perm[c]];
	return __builtin_popcountll(all);
}

int dnnq_gemm_safe_order(const int8_t *w, size_t n, size_t k, const int8_t *e, size_t ke,
                         unsigned e_weight, uint32_t *perm, size_t *gained)
{
	size_t kg = k / 4, halves = (n + 7) / 8, eg = ke / 4;
	*gained = 0;
	for (size_t t = 0; t < k; t++)
		perm[t] = (uint32_t)t;
	if (kg < 2)
		return DNNQ_OK;
	/* e's groups take classes from ORDER_MIN_GROUPS on; a mask a channel */
	if (eg < ORDER_MIN_GROUPS || eg > 64)
		e = NULL;
	/* halves past n (of a padded 16 columns) are safe: not counted */
	size_t npad = (n + 15) & ~(size_t)15, pad = (npad - n) / 8, eh = (k + 7) / 8;
	uint8_t *pn = dnnq_aligned_alloc(2 * npad * k);
	size_t *score = malloc((kg + eh) * sizeof *score), *escore = score + kg;
	uint64_t *emask = calloc(k, sizeof *emask);
	if (!pn || !score || !emask) {
		free(pn);
		free(score);
		free(emask);
		return DNNQ_E_NOMEM;
	}
	memset(pn, 0, 2 * npad * k);
	for (size_t j = 0; j < n; j++)
		for (size_t t = 0; t < k; t++) {
			int v = w[j * k + t];
			pn[2 * npad * t + j] = (uint8_t)(v > 0 ? v : 0);
			pn[2 * npad * t + npad + j] = (uint8_t)(v < 0 ? -v : 0);
		}
	for (size_t c = 0; e && c < k; c++)
		for (size_t g = 0; g < eg; g++) {
			const int8_t *q = e + c * ke + 4 * g;
			if (pair_fits1(q[0], q[1]) && pair_fits1(q[2], q[3]))
				emask[c] |= (uint64_t)1 << g;
		}
	for (size_t g = 0; g < kg; g++)
		score[g] = group_safe_halves(pn, npad, perm + 4 * g) - pad;
	for (size_t h = 0; h < eh; h++)
		escore[h] = e ? (size_t)half_safe_groups(emask, k, perm, h) : eg;
	/* swaps of two k of different groups, kept when the safe halves of
	 * the two groups (and of e's two halves, times e_weight) do not drop;
	 * a fixed xorshift seed, so the order is the same for the same
	 * weights */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t evals = 0, tries = 0; evals < SAFE_ORDER_EVALS * k &&
	     tries < SAFE_ORDER_TRIES * k; tries++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t i = (size_t)(x % (4 * kg)), t = (size_t)((x >> 32) % (4 * kg));
		size_t gi = i / 4, gt = t / 4, hi = i / 8, ht = t / 8;
		if (gi == gt || (score[gi] == halves && escore[hi] == eg))
			continue;
		evals++;
		uint32_t tmp = perm[i];
		perm[i] = perm[t];
		perm[t] = tmp;
		size_t si = group_safe_halves(pn, npad, perm + 4 * gi) - pad;
		size_t st = group_safe_halves(pn, npad, perm + 4 * gt) - pad;
		size_t ei = escore[hi], et = escore[ht];
		if (e && hi != ht) {
			ei = (size_t)half_safe_groups(emask, k, perm, hi);
			et = (size_t)half_safe_groups(emask, k, perm, ht);
		}
		long d = (long)(si + st) - (long)(score[gi] + score[gt]) +
		         (long)e_weight * ((long)(ei + et) - (long)(escore[hi] + escore[ht]));
		if (d >= 0) {
			*gained += (size_t)d;
			score[gi] = si;
			score[gt] = st;
			escore[hi] = ei;
			escore[ht] = et;
		} else {
			perm[t] = perm[i];
			perm[i] = tmp;
		}
	}
	free(pn);
	free(score);
	free(emask);
	return DNNQ_OK;
}

static int order_groups(struct dnnq_gemm_weights *out, const int8_t *w, size_t ldw)
{
	size_t kg = out->k / 4, panels = (out->n + DNNQ_GEMM_NR - 1) / DNNQ_GEMM_NR;
	out->group_off = malloc((panels * kg + 1) * sizeof *out->group_off);
	out->group_pos = malloc((panels * kg + 1) * sizeof *out->group_pos);
	out->group_ends = malloc(DNNQ_GEMM_ENDS * panels * sizeof *out->group_ends);
	uint8_t *cls = malloc(2 * (kg + 1));
	uint16_t *pair = malloc(2 * (kg + 1) * sizeof *pair);
	struct half_lanes (*hl)[2] = dnnq_aligned_alloc((kg + 1) * sizeof *hl);
	int rc = DNNQ_OK;
	if (!out->group_off || !out->group_pos || !out->group_ends || !cls || !pair || !hl) {
		rc = DNNQ_E_NOMEM;
		goto out;
	}
	uint8_t *pcls = cls + kg + 1;
	uint16_t *nxt = pair + kg + 1;
	const struct half_lanes zero[2] = { 0 };
	for (size_t p = 0; p < panels; p++) {
		size_t j0 = p * DNNQ_GEMM_NR;
		size_t j1 = out->n - j0 < DNNQ_GEMM_NR ? out->n : j0 + DNNQ_GEMM_NR;
		uint16_t *off = out->group_off + p * kg, *pos = out->group_pos + p * kg;
		uint16_t *end = out->group_ends + DNNQ_GEMM_ENDS * p;
		size_t s = 0, last = kg;
		for (size_t g = 0; g < kg; g++) {
			pcls[g] = PAIR_CLASSES;
			cls[g] = 3;
			if (kg < ORDER_MIN_GROUPS)
				continue;
			/* 0 both halves safe, 1 the first only, 2 the second only,
			 * 3 neither (a missing second half is all zeros: safe) */
			group_lanes(w, ldw, j0, j1, g, hl[g]);
			bool s0 = lanes_fit(&zero[0], &hl[g][0]), s1 = lanes_fit(&zero[1], &hl[g][1]);
			cls[g] = (uint8_t)(s0 ? (s1 ? 0 : 1) : (s1 ? 2 : 3));
			if (!cls[g])
				last = nxt[last] = (uint16_t)g;
		}
		nxt[last] = (uint16_t)kg;
		/* both halves first, then either (no second half in a panel of
		 * up to 8 columns) */
		size_t budget = PAIR_BUDGET * kg;
		for (int half = -1; half < (j1 - j0 > 8 ? 2 : 1); half++)
			pair_groups(hl, kg, half, &budget, nxt, cls, pair, pcls);
		for (int c = 0; c < PAIR_CLASSES + 4; c++) {
			for (size_t g = 0; g < kg; g++) {
				if (c < PAIR_CLASSES ? pcls[g] != c : cls[g] != c - PAIR_CLASSES)
					continue;
				for (size_t q = 0, gq = g; q < 1 + (c < PAIR_CLASSES); q++, gq = pair[g]) {
					pos[gq] = (uint16_t)s;
					off[s++] = (uint16_t)(4 * gq);
				}
			}
			if (c < DNNQ_GEMM_ENDS)
				end[c] = (uint16_t)s;
		}
	}
out:
	free(cls);
	free(pair);
	free(hl);
	return rc;
}

/* Whether the AVX2 kernel runs k of column j by the sign trick (in the
 * tiles that take it): the groups of the classes unsafe for j's half, and
 * the partial group. */
static bool sign_group(const struct dnnq_gemm_weights *w, size_t j, size_t k)
{
	size_t kg = w->k / 4, p = j / DNNQ_GEMM_NR;
	if (k / 4 >= kg)
		return true;
	size_t s = w->group_pos[p * kg + k / 4];
	const uint16_t *end = w->group_ends + DNNQ_GEMM_ENDS * p;
	/* the single groups' classes 1-3 (after the pairs): half 1 unsafe in
	 * class 1, half 0 in class 2, both in 3 */
	end += PAIR_CLASSES;
	return j % DNNQ_GEMM_NR < 8 ? s >= end[1] : s >= end[2] || (s >= end[0] && s < end[1]);
}

bool dnnq_gemm_isa_sign_trick(enum dnnq_isa isa)
{
	const struct dnnq_kernels *kn = dnnq_kernels(isa);
	return kn && kn->gemm.block == dnnq_gemm_4x16c4__avx2;
}

int dnnq_gemm_pack(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k, size_t ldw,
                   struct dnnq_gemm_weights *out, struct dnnq_diag *diag)
{
	return dnnq_gemm_pack_kernel(isa, false, w, n, k, ldw, out, diag);
}

int dnnq_gemm_pack_kernel(enum dnnq_isa isa, bool acc16, const int8_t *w, size_t n, size_t k,
                          size_t ldw, struct dnnq_gemm_weights *out, struct dnnq_diag *diag)
{
	if (!out || (n && k && !w))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "gemm pack: NULL argument");
	memset(out, 0, sizeof *out);
	if (n == 0 || k == 0 || ldw < k)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "gemm pack: n = %zu, k = %zu, ldw = %zu: "
		                     "need n, k > 0 and ldw >= k", n, k, ldw);
	if (k > DNNQ_GEMM_MAX_K || n > (SIZE_MAX >> 8) / ((k + 3) & ~(size_t)3))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "gemm pack: k = %zu: at most %d", k,
		                     DNNQ_GEMM_MAX_K);
	const struct dnnq_kernels *kn = dnnq_kernels(isa);
	if (!kn)
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "gemm pack: %s not supported here",
		                     dnnq_isa_name(isa));
	out->kernel = acc16 ? &kn->gemm_acc16 : &kn->gemm;
	bool panels = dnnq_gemm_paneled(out), sign = dnnq_gemm_sign_trick(out);
	size_t bytes = panels ? dnnq_gemm_panel_bytes(n, k) : n * k;
	out->pair_safe = true;
	for (size_t j = 0; j < n && out->pair_safe; j++)
		out->pair_safe = pairs_safe(w + j * ldw, k);
	/* with one class of groups, every group of a sign tile by the trick:
	 * its operands packed too (twice the panels' bytes, at most 2 x 63
	 * a column) where a tile may take it */
	if (sign && !out->pair_safe && k / 4 < ORDER_MIN_GROUPS) {
		out->sign_off = bytes;
		bytes *= 3;
	}
	out->data = dnnq_aligned_alloc(bytes);
	out->row_sums = malloc(n * sizeof *out->row_sums);
	out->isa = isa;
	out->n = n;
	out->k = k;
	if (sign)
		out->sign_fix = malloc(n * sizeof *out->sign_fix);
	if (!out->data || !out->row_sums || (sign && (!out->sign_fix ||
	                                              order_groups(out, w, ldw)))) {
		dnnq_gemm_weights_free(out);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "gemm pack: %zu bytes", bytes);
	}
	out->data_bytes = bytes;
	for (size_t j = 0; j < n; j++) {
		const int8_t *row = w + j * ldw;
		int32_t s = 0, fix = 0;
		for (size_t t = 0; t < k; t++) {
			s += row[t];
			if (sign && sign_group(out, j, t))
				fix += 128 * row[t] - (row[t] < 0 ? row[t] : 0);
		}
		out->row_sums[j] = s;
		if (out->sign_fix)
			out->sign_fix[j] = fix;
		if (!panels)
			memcpy(out->data + j * k, row, k);
	}
	if (panels)
		dnnq_gemm_pack_avx2(w, n, k, ldw, out->group_off, out->data);
	if (out->sign_off)
		dnnq_gemm_pack_sign_avx2(out->data, n, k);
	return DNNQ_OK;
}

int8_t dnnq_gemm_main_weight(const struct dnnq_gemm_weights *w, size_t j, size_t k)
{
	if (!dnnq_gemm_paneled(w))
		return w->data[j * w->k + k];
	size_t j0 = j / DNNQ_GEMM_NR * DNNQ_GEMM_NR, kg = w->k / 4;
	size_t width = w->n - j0 < DNNQ_GEMM_NR ? w->n - j0 : DNNQ_GEMM_NR;
	size_t g = w->group_pos && k / 4 < kg ? w->group_pos[j0 / DNNQ_GEMM_NR * kg + k / 4]
	                                      : k / 4;
	return w->data[dnnq_gemm_panel_bytes(j0, w->k) + (g * width + (j - j0)) * 4 + k % 4];
}

int8_t dnnq_gemm_weight(const struct dnnq_gemm_weights *w, size_t j, size_t k)
{
	int v = dnnq_gemm_main_weight(w, j, k);
	if (w->acc16)
		for (uint32_t e = w->out_ptr[j]; e < w->out_ptr[j + 1]; e++) {
			if ((w->out_idx[e] & 0xffff) == k)
				v += (int16_t)(w->out_val[e] & 0xffff);
			else if (w->out_idx[e] >> 16 == k)
				v += w->out_val[e] >> 16;
		}
	return (int8_t)v;
}

void dnnq_gemm_weight_row(const struct dnnq_gemm_weights *w, size_t j, int8_t *row)
{
	for (size_t k = 0; k < w->k; k++)
		row[k] = dnnq_gemm_main_weight(w, j, k);
	for (uint32_t e = w->acc16 ? w->out_ptr[j] : 0; w->acc16 && e < w->out_ptr[j + 1]; e++) {
		uint32_t lo = w->out_idx[e] & 0xffff, hi = w->out_idx[e] >> 16;
		if (lo < w->k)
			row[lo] = (int8_t)(row[lo] + (int16_t)(w->out_val[e] & 0xffff));
		if (hi != lo && hi < w->k)
			row[hi] = (int8_t)(row[hi] + (w->out_val[e] >> 16));
	}
}

void dnnq_gemm_weights_free(struct dnnq_gemm_weights *w)
{
	if (!w)
		return;
	free(w->data);
	free(w->row_sums);
	free(w->sign_fix);
	free(w->group_off);
	free(w->group_pos);
	free(w->group_ends);
	free(w->out_ptr);
	free(w->out_idx);
	free(w->out_val);
	memset(w, 0, sizeof *w);
}

int dnnq_gemm_output_check(size_t n, const struct dnnq_gemm_output *o)
{
	if (o->a_zero_point < 0 || o->a_zero_point > 255)
		return DNNQ_E_RANGE;
	if (o->nwzp != 0 && o->nwzp != 1 && o->nwzp != n)
		return DNNQ_E_SHAPE;
	if (o->nwzp && !o->w_zero_points)
		return DNNQ_E_INVAL;
	for (size_t j = 0; j < o->nwzp; j++)
		if (o->w_zero_points[j] < -128 || o->w_zero_points[j] > 127)
			return DNNQ_E_RANGE;
	switch (o->dtype) {
	case DNNQ_DTYPE_S32:
		return DNNQ_OK;
	case DNNQ_DTYPE_U8:
		return dnnq_requant_check(DNNQ_DTYPE_U8, n, &o->rq);
	case DNNQ_DTYPE_F32:
		if (o->nscale != 1 && o->nscale != n)
			return DNNQ_E_SHAPE;
		return o->scale ? DNNQ_OK : DNNQ_E_INVAL;
	default:
		return DNNQ_E_DTYPE;
	}
}

static void gemm_task(void *arg, size_t task, unsigned tid);

/* Rows of A made in a pass of their own (out->pre), a row block a task. */
static void pre_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_gemm_job *job = arg;
	size_t i0 = task * job->mc, i1 = i0 + job->mc < job->m ? i0 + job->mc : job->m;
	(void)tid;
	job->out->pre(job->out->pre_ctx, i0, i1);
}

/* Small weights (every thread keeps them all in L2) with rows too few to
 * go evenly to the threads: row blocks with all the columns, rather than
 * every thread reading all of A for its part of the columns. The threads'
 * parts of A are then the rows they wrote themselves in the node before
 * (the pool claims from both ends). The blocks are as many as a multiple
 * of the threads and of equal rows (dnnq_even_pieces), since each thread
 * claims its share of a job at once (daemon/claim.h): a 7x7 output's 49
 * rows in blocks of two tiles (12 rows on VNNI) were 5 blocks, 36 rows
 * against 13 on two threads; now 25 against 24. */
static void small_rows(struct dnnq_gemm_job *job, const struct dnnq_gemm_weights *w,
                       const struct dnnq_executor *ex)
{
	size_t mr = w->kernel->mr ? w->kernel->mr : 1;
	size_t least = (DNNQ_GEMM_ROWSPLIT_ROWS + mr - 1) / mr * mr;
	if ((job->m + least - 1) / least < dnnq_executor_threads(ex))
		return;   /* a few tiles' rows for each thread at least */
	job->mc = dnnq_even_pieces(ex, job->m, DNNQ_GEMM_MC, 1);
	job->mblocks = (job->m + job->mc - 1) / job->mc;
	job->nc = w->n;
	job->nchunks = 1;
}

int dnnq_gemm(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a, size_t lda,
              void *c, size_t ldc, const struct dnnq_gemm_output *out,
              const struct dnnq_executor *ex)
{
	if (!w || !w->data || !out)
		return DNNQ_E_INVAL;
	int rc = dnnq_gemm_output_check(w->n, out);
	return rc ? rc : dnnq_gemm_run(w, m, a, lda, c, ldc, out, ex);
}

/* Cuts job (its operands set) into blocks and chunks for ex. */
static int gemm_job(struct dnnq_gemm_job *job, const struct dnnq_executor *ex)
{
	const struct dnnq_gemm_weights *w = job->w;
	if (!w || !w->data || !job->out)
		return DNNQ_E_INVAL;
	if (job->m && (!job->a || !job->c || job->lda < w->k || job->ldc < w->n))
		return job->a && job->c ? DNNQ_E_SHAPE : DNNQ_E_INVAL;
	if (job->m == 0)
		return DNNQ_OK;
	size_t kpad = (w->k + 3) & ~(size_t)3;
	size_t panels = DNNQ_GEMM_NC_BYTES / (DNNQ_GEMM_NR * kpad);
	job->mc = dnnq_gemm_block_rows(ex, job->m);
	job->mblocks = (job->m + job->mc - 1) / job->mc;
	/* columns split further when the row blocks leave threads idle (the
	 * weight-streaming small-M case) */
	job->nc = dnnq_gemm_chunk_cols(ex, job->mblocks, w->n, (panels ? panels : 1) * DNNQ_GEMM_NR);
	job->nchunks = (w->n + job->nc - 1) / job->nc;
	if (job->nchunks > 1 && w->n * kpad <= DNNQ_GEMM_ROWSPLIT_BYTES)
		small_rows(job, w, ex);
	return DNNQ_OK;
}

static void run_job(struct dnnq_gemm_job *job, const struct dnnq_executor *ex)
{
	if (job->out->pre && job->nchunks > 1)   /* tasks share rows: all made first */
		dnnq_parallel_for(ex, job->mblocks, pre_task, job);
	dnnq_parallel_for(ex, job->mblocks * job->nchunks, gemm_task, job);
}

int dnnq_gemm_run(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a, size_t lda,
                  void *c, size_t ldc, const struct dnnq_gemm_output *out,
                  const struct dnnq_executor *ex)
{
	struct dnnq_gemm_job job = { w, m, a, lda, c, ldc, out, 0, 0, 0, 0 };
	int rc = gemm_job(&job, ex);
	if (!rc && job.m)
		run_job(&job, ex);
	return rc;
}

/* job (its operands set) cut for ex into *kept, stored where it changed. */
static int keep_job(struct dnnq_gemm_job *kept, const struct dnnq_gemm_job *job,
                    const struct dnnq_executor *ex)
{
	struct dnnq_gemm_job j = *job;
	int rc = gemm_job(&j, ex);
	if (!rc)
		dnnq_keep_bytes(kept, &j, sizeof j);
	return rc;
}

int dnnq_gemm_run_kept(struct dnnq_gemm_job *kept, const struct dnnq_gemm_job *job,
                       const struct dnnq_executor *ex)
{
	int rc = keep_job(kept, job, ex);
	if (!rc && kept->m)
		run_job(kept, ex);
	return rc;
}

/* Task i of a chain: row block i of the first GEMM, then the same rows
 * of the second, which reads them while they are in L1. */
static void chain_task(void *arg, size_t i, unsigned tid)
{
	const struct dnnq_gemm_job *job = arg;
	gemm_task((void *)&job[0], i, tid);
	gemm_task((void *)&job[1], i, tid);
}

int dnnq_gemm_run_chain(struct dnnq_gemm_job kept[2], const struct dnnq_gemm_job job[2],
                        const struct dnnq_executor *ex)
{
	int rc = keep_job(&kept[0], &job[0], ex);
	if (!rc)
		rc = keep_job(&kept[1], &job[1], ex);
	if (rc)
		return rc;
	/* one job only where it saves a join (several threads; on one the
	 * calls apart were ~1 % faster: MobileNetV2's pairs, docs/graph.md),
	 * each task has all the columns of the same rows of both, and the
	 * second's rows are the first's output */
	if (dnnq_executor_threads(ex) > 1 && kept[0].m && kept[0].nchunks == 1 && kept[1].nchunks == 1 && kept[0].m == kept[1].m &&
	    kept[0].mc == kept[1].mc && !kept[1].out->pre && kept[1].a == kept[0].c &&
	    kept[1].lda == kept[0].ldc && kept[0].out->dtype == DNNQ_DTYPE_U8) {
		dnnq_parallel_for(ex, kept[0].mblocks, chain_task, kept);
		return DNNQ_OK;
	}
	for (size_t k = 0; k < 2; k++)
		if (kept[k].m)
			run_job(&kept[k], ex);
	return DNNQ_OK;
}

/* The rectangle task number `task` covers. */
static void task_rect(const struct dnnq_gemm_job *job, size_t task, size_t r[4])
{
	r[0] = task % job->mblocks * job->mc;
	r[2] = task / job->mblocks * job->nc;
	r[1] = r[0] + job->mc < job->m ? r[0] + job->mc : job->m;
	r[3] = r[2] + job->nc < job->w->n ? r[2] + job->nc : job->w->n;
}

/* One task: its rectangle, by the kernel the weights were packed for. */
static void gemm_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_gemm_job *job = arg;
	size_t r[4];
	(void)tid;
	task_rect(job, task, r);
	if (job->out->pre && job->nchunks == 1)   /* its own rows of A, while in cache */
		job->out->pre(job->out->pre_ctx, r[0], r[1]);
	job->w->kernel->block(job, r[0], r[1], r[2], r[3]);
	dnnq_gemm_apply_post(job->w->isa, job->out, job->c, job->ldc, r[0], r[1], r[2], r[3]);
}

void dnnq_gemm_apply_post(enum dnnq_isa isa, const struct dnnq_gemm_output *out, void *c,
                          size_t ldc, size_t i0, size_t i1, size_t j0, size_t j1)
{
	if ((!out->lut && !out->post) || i1 <= i0)
		return;
	uint8_t *y = (uint8_t *)c + i0 * ldc + j0;
	size_t rows = i1 - i0, cols = j1 - j0;
	if (cols == ldc) {   /* whole rows: one run */
		cols *= rows;
		rows = 1;
	}
	for (size_t i = 0; i < rows; i++, y += ldc) {
		if (out->lut)
			dnnq_kernels_of(isa)->lut(out->lut, y, y, cols);
		if (out->post)
			out->post(out->post_ctx, y, cols);
	}
}

/* The reference: one dot product per output, then the scalar output step. */
void dnnq_gemm_1x1__scalar(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                           size_t j0, size_t j1)
{
	const struct dnnq_gemm_weights *w = job->w;
	for (size_t i = i0; i < i1; i++) {
		const uint8_t *arow = job->a + i * job->lda;
		int32_t rowsum = 0;
		for (size_t t = 0; t < w->k; t++)
			rowsum += arow[t];
		for (size_t j = j0; j < j1; j++) {
			const int8_t *wrow = w->data + j * w->k;
			int32_t acc = 0;
			for (size_t t = 0; t < w->k; t++)
				acc += arow[t] * wrow[t];
			dnnq_gemm_store_1(dnnq_gemm_correct(acc, j, rowsum, w, job->out), i, j,
			                  job->c, job->ldc, job->out);
		}
	}
}

void dnnq_gemm_store_row_scalar(const struct dnnq_gemm_job *job, size_t i, size_t j0,
                                size_t j1, const int32_t *acc, const int32_t *xsum)
{
	for (size_t j = j0; j < j1; j++)
		dnnq_gemm_store_1(dnnq_gemm_correct(acc[j - j0], j, xsum ? xsum[j - j0] : 0,
		                                    job->w, job->out),
		                  i, j, job->c, job->ldc, job->out);
}
