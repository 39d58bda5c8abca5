/*
 * 16-bit accumulation GEMM (gemm.h, dnnq_gemm_pack_acc16): the split of W
 * into W_main + W_outlier, the sparse outlier form, and the scalar path,
 * which is also the definition of every 16-bit addition the AVX2 kernel
 * (gemm-acc16-avx2.c) makes.
 *
 * Split: a weight outside [-2^(nbits-1), 2^(nbits-1) - 1] goes whole to
 * W_outlier and W_main is 0 there (rather than W_main = clamp(w), which
 * would leave the largest values in the 16-bit part): main + outlier == W
 * exactly, and W_main stays as small as it can.
 *
 * The 16-bit order, per output (i, j), K padded with zeros to 4G:
 *   for g in 0..G-1 (one step):
 *     p0 = sat16(a[4g] w[4g] + a[4g+1] w[4g+1])       vpmaddubsw
 *     p1 = sat16(a[4g+2] w[4g+2] + a[4g+3] w[4g+3])
 *     h0 = sat16(h0 + p0), h1 = sat16(h1 + p1)         vpaddsw
 *     after every `spill` steps and after the last: acc += h0 + h1 (int32,
 *     exact), h0 = h1 = 0
 * then acc += the exact outlier sum, then the output stage of the 32-bit
 * path (dnnq_gemm_correct with the row sums of the full W).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/gemm-kernels.h"

static int32_t sat16(int32_t v, uint64_t *events)
{
	if (v > INT16_MAX || v < INT16_MIN) {
		(*events)++;
		return v > 0 ? INT16_MAX : INT16_MIN;
	}
	return v;
}

/* The main part of one output: sum a[t] * wm[t] with the 16-bit order
 * above; *events counts the saturated additions. */
static int32_t main_dot(const uint8_t *a, const int8_t *wm, size_t k, unsigned spill,
                        uint64_t *events)
{
	int32_t acc = 0, h0 = 0, h1 = 0;
	unsigned s = 0;
	for (size_t g = 0; 4 * g < k; g++) {
		int32_t x[4];
		for (size_t t = 0; t < 4; t++)
			x[t] = 4 * g + t < k ? a[4 * g + t] * wm[4 * g + t] : 0;
		h0 = sat16(h0 + sat16(x[0] + x[1], events), events);
		h1 = sat16(h1 + sat16(x[2] + x[3], events), events);
		if (++s == spill) {
			acc += h0 + h1;
			h0 = h1 = 0;
			s = 0;
		}
	}
	return acc + h0 + h1;
}

int32_t dnnq_gemm_acc16_outlier_dot(const struct dnnq_gemm_weights *w, size_t j,
                                    const uint8_t *a)
{
	int32_t s = 0;
	for (uint32_t e = w->out_ptr[j]; e < w->out_ptr[j + 1]; e++) {
		uint32_t idx = w->out_idx[e];
		int32_t v = w->out_val[e];
		s += a[idx & 0xffff] * (int16_t)(v & 0xffff) + a[idx >> 16] * (v >> 16);
	}
	return s;
}

/* W_main[j][0..k) of either layout, into row. */
static void main_row(const struct dnnq_gemm_weights *w, size_t j, int8_t *row)
{
	if (!dnnq_gemm_paneled(w)) {
		memcpy(row, w->data + j * w->k, w->k);
		return;
	}
	for (size_t t = 0; t < w->k; t++)
		row[t] = dnnq_gemm_main_weight(w, j, t);
}

void dnnq_gemm_acc16_1x1__scalar(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                 size_t j0, size_t j1)
{
	const struct dnnq_gemm_weights *w = job->w;
	uint64_t events = 0;
	int32_t rowsum[DNNQ_GEMM_MC];
	for (size_t i = i0; i < i1; i++) {
		const uint8_t *arow = job->a + i * job->lda;
		rowsum[i - i0] = 0;
		for (size_t t = 0; t < w->k; t++)
			rowsum[i - i0] += arow[t];
	}
	for (size_t j = j0; j < j1; j++) {
		for (size_t i = i0; i < i1; i++) {
			const uint8_t *arow = job->a + i * job->lda;
			int32_t acc = main_dot(arow, w->data + j * w->k, w->k, w->acc16_spill, &events) +
			              dnnq_gemm_acc16_outlier_dot(w, j, arow);
			dnnq_gemm_store_1(dnnq_gemm_correct(acc, j, rowsum[i - i0], w, job->out), i, j,
			                  job->c, job->ldc, job->out);
		}
	}
}

int dnnq_gemm_acc16_saturation(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a,
                               size_t lda, uint64_t *events, uint64_t *adds)
{
	if (!w || !w->data || !w->acc16 || !events || !adds || (m && !a))
		return DNNQ_E_INVAL;
	if (m && lda < w->k)
		return DNNQ_E_SHAPE;
	int8_t *row = malloc(w->k);
	if (!row)
		return DNNQ_E_NOMEM;
	*events = 0;
	for (size_t j = 0; j < w->n; j++) {
		main_row(w, j, row);
		for (size_t i = 0; i < m; i++)
			(void)main_dot(a + i * lda, row, w->k, w->acc16_spill, events);
	}
	/* per output, step and lane: the pair sum and the accumulation */
	*adds = (uint64_t)m * w->n * ((w->k + 3) / 4) * 4;
	free(row);
	return DNNQ_OK;
}

/* The sparse form of W_outlier (all of W outside [lo, hi]), by channel. */
static int split_outliers(const int8_t *w, size_t n, size_t k, size_t ldw, int lo, int hi,
                          struct dnnq_gemm_weights *out)
{
	size_t entries = 0;
	for (size_t j = 0; j < n; j++) {
		size_t cnt = 0;
		for (size_t t = 0; t < k; t++)
			cnt += w[j * ldw + t] < lo || w[j * ldw + t] > hi;
		out->outliers += cnt;
		entries += (cnt + 1) / 2;
	}
	out->out_ptr = malloc((n + 1) * sizeof *out->out_ptr);
	out->out_idx = malloc((entries ? entries : 1) * sizeof *out->out_idx);
	out->out_val = malloc((entries ? entries : 1) * sizeof *out->out_val);
	if (!out->out_ptr || !out->out_idx || !out->out_val || entries > UINT32_MAX)
		return DNNQ_E_NOMEM;
	uint32_t e = 0;
	for (size_t j = 0; j < n; j++) {
		out->out_ptr[j] = e;
		bool half = false;   /* entry e has its first outlier only */
		for (size_t t = 0; t < k; t++) {
			int v = w[j * ldw + t];
			if (v >= lo && v <= hi)
				continue;
			if (!half) {
				out->out_idx[e] = (uint32_t)t * 0x10001u;
				out->out_val[e] = (int32_t)(uint16_t)v;
			} else {
				out->out_idx[e] = (out->out_idx[e] & 0xffff) | (uint32_t)t << 16;
				out->out_val[e++] |= (int32_t)((uint32_t)(uint16_t)v << 16);
			}
			half = !half;
		}
		e += half;
	}
	out->out_ptr[n] = e;
	out->outlier_density = (double)out->outliers / ((double)n * (double)k);
	return DNNQ_OK;
}

int dnnq_gemm_pack_acc16(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k, size_t ldw,
                         const struct dnnq_acc16_opts *o, struct dnnq_gemm_weights *out,
                         struct dnnq_diag *diag)
{
	unsigned nbits = o && o->nbits ? o->nbits : DNNQ_ACC16_DEFAULT_NBITS;
	unsigned spill = o && o->spill ? o->spill : DNNQ_ACC16_DEFAULT_SPILL;
	if (!out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "gemm pack acc16: NULL argument");
	if (nbits < 2 || nbits > 8) {
		memset(out, 0, sizeof *out);
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "gemm pack acc16: nbits = %u: "
		                     "nbits_in_non_outlier must be in 2..8 (0: %d)", nbits,
		                     DNNQ_ACC16_DEFAULT_NBITS);
	}
	if (spill > 65535) {
		memset(out, 0, sizeof *out);
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "gemm pack acc16: spill = %u: must be in "
		                     "1..65535 (0: %d)", spill, DNNQ_ACC16_DEFAULT_SPILL);
	}
	/* invalid shapes: let dnnq_gemm_pack say what is wrong */
	if (!w || n == 0 || k == 0 || ldw < k || k > DNNQ_GEMM_MAX_K)
		return dnnq_gemm_pack(isa, w, n, k, ldw, out, diag);
	int lo = -(1 << (nbits - 1)), hi = (1 << (nbits - 1)) - 1;
	int8_t *wm = malloc(n * k);
	if (!wm) {
		memset(out, 0, sizeof *out);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "gemm pack acc16: %zu bytes", n * k);
	}
	for (size_t j = 0; j < n; j++)
		for (size_t t = 0; t < k; t++) {
			int v = w[j * ldw + t];
			wm[j * k + t] = (int8_t)(v < lo || v > hi ? 0 : v);
		}
	int rc = dnnq_gemm_pack_kernel(isa, true, wm, n, k, k, out, diag);
	free(wm);
	if (rc)
		return rc;
	out->acc16 = true;
	out->acc16_nbits = nbits;
	out->acc16_spill = spill;
	for (size_t j = 0; j < n; j++) {   /* the row sums of the full W */
		int32_t s = 0;
		for (size_t t = 0; t < k; t++)
			s += w[j * ldw + t];
		out->row_sums[j] = s;
	}
	rc = split_outliers(w, n, k, ldw, lo, hi, out);
	if (rc) {
		dnnq_gemm_weights_free(out);
		return dnnq_diag_set(diag, rc, "gemm pack acc16: outlier part of %zu x %zu", n, k);
	}
	return DNNQ_OK;
}
