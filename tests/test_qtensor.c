/*
 * QTensor (engine/qtensor.h) and CRC32C (engine/crc32c.h): the checksum's
 * known vectors and the agreement of its scalar and SSE4.2 versions; storage
 * (types, shapes, alignment, growth); quantization parameters per tensor and
 * per axis; low-bit packing; quantize/dequantize through a tensor on every
 * ISA; and the serialized record: round trips of every type, precision,
 * signedness, quantization mode and a few shapes, then the reader's defences
 * against truncated, corrupted and forged records.
 */
#include <check.h>
#include <float.h>
#include <sanitizer/asan_interface.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/le.h"
#include "engine/qtensor.h"
#include "engine/wcache.h"
#include "tests/qtensor-eq.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

/* ---- helpers ---------------------------------------------------------- */

static bool have_sse42(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}


/* The rule of engine/qtensor.h, written out independently. */
static bool type_ok(int dt, unsigned p, bool s)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:     return p >= 1 && p <= 8 && !s;
	case DNNQ_DTYPE_S8:     return p >= 1 && p <= 8 && s;
	case DNNQ_DTYPE_S32:    return p >= 1 && p <= (s ? 32u : 31u);
	case DNNQ_DTYPE_F32:    return p == 32 && s;
	case DNNQ_DTYPE_PACKED: return p >= 1 && p <= 7;
	}
	return false;
}

static size_t ceil_bits(size_t n, unsigned bits)
{
	return (size_t)(((unsigned __int128)n * bits + 7) / 8);
}

static size_t expect_nbytes(int dt, unsigned p, size_t numel)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:
	case DNNQ_DTYPE_S8:     return numel;
	case DNNQ_DTYPE_PACKED: return ceil_bits(numel, p);
	default:                return numel * 4;
	}
}

static size_t prod(uint32_t ndim, const int64_t *dims)
{
	size_t n = 1;
	for (uint32_t i = 0; i < ndim; i++)
		n *= (size_t)dims[i];
	return n;
}

static void assert_storage_ok(const struct dnnq_qtensor *t)
{
	size_t nbytes = dnnq_qtensor_nbytes(t);
	ck_assert_uint_ge(t->capacity, nbytes);
	if (nbytes) {
		ck_assert_ptr_nonnull(t->data);
		ck_assert(dnnq_is_aligned(t->data));
		/* ASan checks that the whole capacity is really there */
		memset(t->data, 0x5a, t->capacity);
	}
}

static void assert_empty(const struct dnnq_qtensor *t)
{
	ck_assert_uint_eq(t->ndim, 0);
	ck_assert_ptr_null(t->data);
	ck_assert_ptr_null(t->scales);
	ck_assert_ptr_null(t->zero_points);
	ck_assert_uint_eq(t->nqparams, 0);
	ck_assert_int_eq(t->qaxis, -1);
}

/* Element i's channel under t's quantization axis. */
static size_t channel_of(const struct dnnq_qtensor *t, size_t i)
{
	if (t->qaxis < 0)
		return 0;
	size_t inner = 1;
	for (uint32_t d = (uint32_t)t->qaxis + 1; d < t->ndim; d++)
		inner *= (size_t)t->dims[d];
	return i / inner % (size_t)t->dims[t->qaxis];
}

static float random_scale(struct rng *r)
{
	switch (rng_int(r, 0, 9)) {
	case 0:  return FLT_TRUE_MIN;
	case 1:  return FLT_MAX;
	case 2:  return 1.0f;
	default: return ldexpf((float)rng_uniform(r, 1, 2), (int)rng_int(r, -30, 30));
	}
}

static int32_t random_q(struct rng *r, unsigned p, bool s)
{
	return (int32_t)rng_int(r, dnnq_qmin(p, s), dnnq_qmax(p, s));
}

/* Random valid contents: integers within the precision, any float. */
static void fill_random(struct dnnq_qtensor *t, struct rng *r)
{
	if (t->capacity)
		memset(t->data, 0, t->capacity);
	size_t n = dnnq_qtensor_numel(t);
	for (size_t i = 0; i < n; i++) {
		if (t->dtype == DNNQ_DTYPE_F32)
			((float *)t->data)[i] = (float)(rng_gauss(r) * 100);
		else
			dnnq_qtensor_set_int(t, i, random_q(r, t->precision, t->is_signed));
	}
}

/* qmode: -2 no parameters, -1 per tensor, >= 0 per axis on that axis. */
static void make_tensor(struct dnnq_qtensor *t, int dt, unsigned p, bool s,
                        uint32_t ndim, const int64_t *dims, int qmode, struct rng *r)
{
	dnnq_qtensor_init(t);
	ck_assert_int_eq(dnnq_qtensor_set_type(t, dt, p, s), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(t, ndim, dims), DNNQ_OK);
	if (qmode == -1) {
		struct dnnq_qparams qp = { random_scale(r), random_q(r, p, s), (uint8_t)p, s };
		ck_assert_int_eq(dnnq_qtensor_set_qparams(t, &qp), DNNQ_OK);
	} else if (qmode >= 0) {
		size_t n = (size_t)dims[qmode];
		float sc[64];
		int32_t zp[64];
		ck_assert_uint_le(n, 64);
		for (size_t i = 0; i < n; i++) {
			sc[i] = random_scale(r);
			zp[i] = random_q(r, p, s);
		}
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(t, (uint32_t)qmode, n, sc, zp),
		                 DNNQ_OK);
	}
	ck_assert_uint_eq(t->precision, p);
	ck_assert_int_eq(t->is_signed, s);
	fill_random(t, r);
}


/* A malloc'ed record of t; checks the size against the layout. */
static uint8_t *serialize(const struct dnnq_qtensor *t, size_t *len)
{
	size_t want = 24 + 8 * (size_t)t->ndim + 8 * (size_t)t->nqparams + 8 +
	              dnnq_qtensor_nbytes(t) + 4;
	size_t need = dnnq_qtensor_serialized_size(t), written = 0;
	ck_assert_uint_eq(need, want);
	uint8_t *buf = malloc(need);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(dnnq_qtensor_serialize(t, buf, need, &written), DNNQ_OK);
	ck_assert_uint_eq(written, need);
	*len = written;
	return buf;
}

/* Recomputes the record's trailing CRC32C, so a forged field gets past it. */
static void fix_crc(uint8_t *rec, size_t len)
{
	dnnq_put_le32(rec + len - 4, dnnq_crc32c(rec, len - 4));
}

static void put_field(uint8_t *p, unsigned width, uint64_t v)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- CRC32C ----------------------------------------------------------- */

/* Bit at a time, straight from the definition. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82F63B78u : 0);
	}
	return ~crc;
}

START_TEST(crc32c_known_vectors)
{
	/* "123456789" is the standard check value; the 32-byte vectors are
	 * RFC 3720 appendix B.4 (they exercise the 8-byte steps). */
	uint8_t zeros[32], ones[32], up[32], down[32];
	memset(zeros, 0, sizeof zeros);
	memset(ones, 0xff, sizeof ones);
	for (int i = 0; i < 32; i++) {
		up[i] = (uint8_t)i;
		down[i] = (uint8_t)(31 - i);
	}
	const struct {
		const void *p;
		size_t n;
		uint32_t crc;
	} v[] = {
		{ "123456789", 9, 0xE3069283u },
		{ "", 0, 0 },
		{ "a", 1, 0xC1D04330u },
		{ zeros, 32, 0x8A9136AAu },
		{ ones, 32, 0x62A8AB43u },
		{ up, 32, 0x46DD794Eu },
		{ down, 32, 0x113FDB5Cu },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ck_assert_uint_eq(dnnq_crc32c(v[i].p, v[i].n), v[i].crc);
		ck_assert_uint_eq(dnnq_crc32c_update(0, v[i].p, v[i].n), v[i].crc);
		ck_assert_uint_eq(dnnq_crc32c_update_scalar(0, v[i].p, v[i].n), v[i].crc);
		ck_assert_uint_eq(crc32c_bitwise(0, v[i].p, v[i].n), v[i].crc);
		if (have_sse42())
			ck_assert_uint_eq(dnnq_crc32c_update_sse42(0, v[i].p, v[i].n), v[i].crc);
	}
}
END_TEST

START_TEST(crc32c_scalar_matches_bitwise)
{
	struct rng r = { 0x1234567 };
	uint8_t buf[300 + 8];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rng_next(&r);
	/* every table entry: one byte from every start value's low byte */
	for (unsigned b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b;
		ck_assert_uint_eq(dnnq_crc32c_update_scalar(0, &one, 1), crc32c_bitwise(0, &one, 1));
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 300; n++) {
			uint32_t seed = (uint32_t)rng_next(&r);
			ck_assert_uint_eq(dnnq_crc32c_update_scalar(seed, buf + off, n),
			                  crc32c_bitwise(seed, buf + off, n));
		}
	}
}
END_TEST

START_TEST(crc32c_sse42_matches_scalar)
{
	if (!have_sse42())
		return;
	struct rng r = { 0xC0FFEE };
	uint8_t buf[300 + 8];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rng_next(&r);
	for (size_t off = 0; off < 8; off++) {   /* 1, 3, 5, 7: odd starts */
		for (size_t n = 0; n <= 300; n++) {
			uint32_t seed = off & 1 ? (uint32_t)rng_next(&r) : 0;
			ck_assert_msg(dnnq_crc32c_update_sse42(seed, buf + off, n) ==
			              dnnq_crc32c_update_scalar(seed, buf + off, n),
			              "sse42 != scalar at offset %zu length %zu", off, n);
		}
	}
}
END_TEST

START_TEST(crc32c_update_in_pieces)
{
	struct rng r = { 99 };
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rng_next(&r);
	uint32_t whole = dnnq_crc32c(buf, sizeof buf);
	ck_assert_uint_eq(whole, crc32c_bitwise(0, buf, sizeof buf));
	for (size_t k = 0; k <= sizeof buf; k++) {
		size_t rest = sizeof buf - k;
		ck_assert_uint_eq(dnnq_crc32c_update(dnnq_crc32c(buf, k), buf + k, rest), whole);
		ck_assert_uint_eq(dnnq_crc32c_update_scalar(dnnq_crc32c_update_scalar(0, buf, k),
		                                            buf + k, rest), whole);
		if (have_sse42())
			ck_assert_uint_eq(dnnq_crc32c_update_sse42(dnnq_crc32c_update_sse42(0, buf, k),
			                                           buf + k, rest), whole);
	}
}
END_TEST

/* ---- storage ------------------------------------------------------------ */

START_TEST(aligned_size_rounds_up)
{
	ck_assert_uint_eq(dnnq_aligned_size(0), 0);
	ck_assert_uint_eq(dnnq_aligned_size(1), 64);
	ck_assert_uint_eq(dnnq_aligned_size(63), 64);
	ck_assert_uint_eq(dnnq_aligned_size(64), 64);
	ck_assert_uint_eq(dnnq_aligned_size(65), 128);
	ck_assert_uint_eq(dnnq_aligned_size(SIZE_MAX - 63 - 63), SIZE_MAX - 63);
	ck_assert_uint_eq(dnnq_aligned_size(SIZE_MAX - 63), SIZE_MAX - 63);
	ck_assert_uint_eq(dnnq_aligned_size(SIZE_MAX - 62), SIZE_MAX);
	ck_assert_uint_eq(dnnq_aligned_size(SIZE_MAX), SIZE_MAX);
}
END_TEST

/* From a huge page (2 MiB) on, the block starts at a huge page's boundary
 * (its whole huge pages advised as such, docs/gemm.md); below, at
 * DNNQ_ALIGN. Every byte usable either way, freed with free(). */
START_TEST(aligned_alloc_huge_pages)
{
	const size_t huge = (size_t)2 << 20;
	const size_t sizes[] = { 1, huge - 64, huge, huge + 1, 2 * huge + 4096 + 7 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i], sz = dnnq_aligned_size(n);
		ck_assert_uint_lt(sz, 3 * huge);
		unsigned char *p = dnnq_aligned_alloc(n);
		ck_assert_ptr_nonnull(p);
		ck_assert(dnnq_is_aligned(p));
		if (n >= huge)
			ck_assert_uint_eq((uintptr_t)p % huge, 0);
		memset(p, (int)i + 1, sz);
		ck_assert_uint_eq(p[0], i + 1);
		ck_assert_uint_eq(p[sz - 1], i + 1);
		free(p);
	}
	ck_assert_ptr_null(dnnq_aligned_alloc(0));
}
END_TEST

/* The weights cache's arena (engine/wcache.c): blobs packed in place
 * (dnnq_weights_cache_alloc) and malloc'd ones moved in at add time are
 * DNNQ_ALIGN aligned, disjoint, keep their bytes, and are the cache's: the
 * moved ones' originals freed by add, all of them by destroy (ASan's leak
 * check, and its use-after-free check on the moved ones' new homes). A
 * blob larger than a chunk gets its own, at a huge page's boundary. Under
 * ASan each is followed by a poisoned redzone, as a malloc'd one. */
START_TEST(weights_cache_arena)
{
	const size_t huge = DNNQ_HUGE_PAGE;
	struct dnnq_weights_cache *c;
	ck_assert_int_eq(dnnq_weights_cache_create(&c), DNNQ_OK);
	ck_assert_ptr_null(dnnq_weights_cache_alloc(c, 0));
	const size_t sizes[] = { 1, 600 << 10, huge + 5, 100, 33 * huge, 3 * huge };
	enum { N = sizeof sizes / sizeof *sizes };
	unsigned char *p[2 * N];
	size_t len[2 * N];
	struct dnnq_gemm_weights gw[N];
	for (size_t i = 0; i < N; i++) {
		len[i] = len[N + i] = sizes[i];
		p[i] = dnnq_weights_cache_alloc(c, sizes[i]);
		ck_assert_ptr_nonnull(p[i]);
		/* the big ones' ends only (64 MiB chunks: the test stays cheap) */
		memset(p[i], (int)i + 1, sizes[i] < huge ? sizes[i] : 64);
		p[i][sizes[i] - 1] = (unsigned char)(i + 1);
		char key[8];
		snprintf(key, sizeof key, "n%zu", i);
		/* an entry of a packed-in-place blob, and one of a malloc'd
		 * GEMM panel set, moved in */
		struct dnnq_wcache_entry in_place = { .key = key, .blob = p[i],
		                                      .blob_bytes = sizes[i] };
		ck_assert_int_eq(dnnq_weights_cache_add(c, &in_place), DNNQ_OK);
		ck_assert_ptr_eq(in_place.blob, p[i]);
		key[0] = 'g';
		gw[i] = (struct dnnq_gemm_weights){ .data = dnnq_aligned_alloc(sizes[i]),
		                                    .data_bytes = sizes[i] };
		ck_assert_ptr_nonnull(gw[i].data);
		void *orig = gw[i].data;
		memset(gw[i].data, (int)(N + i + 1), sizes[i] < huge ? sizes[i] : 64);
		gw[i].data[sizes[i] - 1] = (int8_t)(N + i + 1);
		struct dnnq_gemm_weights *g = malloc(sizeof *g);
		ck_assert_ptr_nonnull(g);
		*g = gw[i];
		struct dnnq_wcache_entry moved = { .key = key, .gw = g, .ngw = 1 };
		ck_assert_int_eq(dnnq_weights_cache_add(c, &moved), DNNQ_OK);
		ck_assert_ptr_ne(g->data, orig);
		p[N + i] = (unsigned char *)g->data;
	}
	for (size_t i = 0; i < 2 * N; i++) {
		ck_assert(dnnq_is_aligned(p[i]));
		if (len[i] > 32 * huge)
			ck_assert_uint_eq((uintptr_t)p[i] % huge, 0);
		size_t head = len[i] < huge ? len[i] : 64;
		for (size_t b = 0; b < head; b++)
			ck_assert_uint_eq(p[i][b], i + 1);
		ck_assert_uint_eq(p[i][len[i] - 1], i + 1);
		for (size_t j = 0; j < i; j++)
			ck_assert(p[i] + len[i] <= p[j] || p[j] + len[j] <= p[i]);
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
		/* ASan: usable to its aligned end, as a malloc'd one, and
		 * poisoned right after (a read past it was the next array's
		 * bytes, or a chunk's zero pages, and went unreported) */
		size_t sz = dnnq_aligned_size(len[i]);
		ck_assert(!__asan_address_is_poisoned(p[i] + sz - 1));
		ck_assert_msg(__asan_address_is_poisoned(p[i] + sz), "array %zu: no redzone", i);
#endif
	}
	/* no key: not taken, the arrays still the caller's */
	void *mine = dnnq_aligned_alloc(64);
	ck_assert_ptr_nonnull(mine);
	struct dnnq_wcache_entry none = { .blob = mine, .blob_bytes = 64 };
	ck_assert_int_eq(dnnq_weights_cache_add(c, &none), DNNQ_E_INVAL);
	ck_assert_ptr_eq(none.blob, mine);
	free(mine);
	dnnq_weights_cache_destroy(c);
	/* without a cache, the caller's to free */
	void *own = dnnq_weights_cache_alloc(NULL, 100);
	ck_assert_ptr_nonnull(own);
	ck_assert(dnnq_is_aligned(own));
	free(own);
}
END_TEST

START_TEST(init_and_free_defaults)
{
	struct dnnq_qtensor t;
	memset(&t, 0xa5, sizeof t);
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(t.dtype, DNNQ_DTYPE_F32);
	ck_assert_uint_eq(t.precision, 32);
	ck_assert(t.is_signed);
	ck_assert_uint_eq(t.capacity, 0);
	for (int i = 0; i < DNNQ_MAX_DIMS; i++)
		ck_assert_int_eq(t.dims[i], 0);
	assert_empty(&t);

	/* free gives back the same state, and may be repeated */
	int64_t dims[2] = { 3, 4 };
	struct dnnq_qparams qp = { 0.5f, 1, 8, true };
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_S8, 8, true), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, dims), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &qp), DNNQ_OK);
	dnnq_qtensor_free(&t);
	ck_assert_int_eq(t.dtype, DNNQ_DTYPE_F32);
	ck_assert_uint_eq(t.precision, 32);
	ck_assert(t.is_signed);
	ck_assert_uint_eq(t.capacity, 0);
	ck_assert_int_eq(t.dims[0], 0);
	assert_empty(&t);
	dnnq_qtensor_free(&t);
	assert_empty(&t);
}
END_TEST

START_TEST(set_type_every_combination)
{
	static const unsigned precs[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 30, 31, 32, 33, 64, 255, 256 + 8,
	};
	int64_t dims[2] = { 3, 7 };
	for (int dt = 0; dt <= DNNQ_DTYPE_COUNT; dt++) {
		for (size_t pi = 0; pi < sizeof precs / sizeof precs[0]; pi++) {
			for (int s = 0; s <= 1; s++) {
				unsigned p = precs[pi], eff = p;
				if (p == 0)
					eff = dt == DNNQ_DTYPE_U8 || dt == DNNQ_DTYPE_S8 ? 8
					    : dt == DNNQ_DTYPE_S32 && !s ? 31
					    : dt == DNNQ_DTYPE_PACKED ? 0 : 32;
				bool ok = type_ok(dt, eff, s);
				struct dnnq_qtensor t;
				dnnq_qtensor_init(&t);
				ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, dims), DNNQ_OK);
				struct dnnq_qtensor before;
				memcpy(&before, &t, sizeof t);
				int rc = dnnq_qtensor_set_type(&t, dt, p, s);
				ck_assert_msg(rc == (ok ? DNNQ_OK : DNNQ_E_DTYPE),
				              "set_type(%d, %u, %d) = %d", dt, p, s, rc);
				ck_assert_int_eq(dnnq_dtype_check(dt, eff, s, NULL),
				                 ok ? DNNQ_OK : DNNQ_E_DTYPE);
				if (ok) {
					ck_assert_int_eq(t.dtype, dt);
					ck_assert_uint_eq(t.precision, eff);
					ck_assert_int_eq(t.is_signed, s);
					ck_assert_uint_eq(t.nqparams, 0);
					ck_assert_int_eq(t.qaxis, -1);
					ck_assert_uint_eq(t.ndim, 2);
					ck_assert_uint_eq(dnnq_qtensor_numel(&t), 21);
					ck_assert_uint_eq(dnnq_qtensor_nbytes(&t),
					                  expect_nbytes(dt, eff, 21));
					assert_storage_ok(&t);
				} else {
					ck_assert_mem_eq(&t, &before, sizeof t);
				}
				dnnq_qtensor_free(&t);
			}
		}
	}
}
END_TEST

START_TEST(set_type_default_precision)
{
	static const struct {
		int dt;
		bool s;
		int rc;
		unsigned p;
	} v[] = {
		{ DNNQ_DTYPE_U8, false, DNNQ_OK, 8 },
		{ DNNQ_DTYPE_S8, true, DNNQ_OK, 8 },
		{ DNNQ_DTYPE_S32, true, DNNQ_OK, 32 },
		{ DNNQ_DTYPE_S32, false, DNNQ_OK, 31 },
		{ DNNQ_DTYPE_F32, true, DNNQ_OK, 32 },
		{ DNNQ_DTYPE_U8, true, DNNQ_E_DTYPE, 0 },
		{ DNNQ_DTYPE_S8, false, DNNQ_E_DTYPE, 0 },
		{ DNNQ_DTYPE_F32, false, DNNQ_E_DTYPE, 0 },
		{ DNNQ_DTYPE_PACKED, true, DNNQ_E_DTYPE, 0 },
		{ DNNQ_DTYPE_PACKED, false, DNNQ_E_DTYPE, 0 },
		{ DNNQ_DTYPE_INVALID, true, DNNQ_E_DTYPE, 0 },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct dnnq_qtensor t;
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, v[i].dt, 0, v[i].s), v[i].rc);
		if (v[i].rc == DNNQ_OK)
			ck_assert_uint_eq(t.precision, v[i].p);
		dnnq_qtensor_free(&t);
	}
}
END_TEST

START_TEST(set_type_drops_qparams)
{
	struct dnnq_qtensor t;
	int64_t dims[2] = { 2, 3 };
	float sc[3] = { 1, 2, 3 };
	int32_t zp[3] = { 0, 1, 2 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 8, false), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, dims), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 1, 3, sc, zp), DNNQ_OK);
	/* a rejected type keeps them */
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 9, false), DNNQ_E_DTYPE);
	ck_assert_uint_eq(t.nqparams, 3);
	ck_assert_int_eq(t.qaxis, 1);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_S32, 0, true), DNNQ_OK);
	ck_assert_uint_eq(t.nqparams, 0);
	ck_assert_int_eq(t.qaxis, -1);
	ck_assert_ptr_null(t.scales);
	ck_assert_ptr_null(t.zero_points);
	assert_storage_ok(&t);
	dnnq_qtensor_free(&t);
}
END_TEST

START_TEST(resize_up_to_eight_dims)
{
	int64_t dims[9] = { 1, 2, 1, 3, 1, 2, 1, 2, 2 };
	struct dnnq_qtensor t;
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_S8, 8, true), DNNQ_OK);
	for (uint32_t nd = 0; nd <= DNNQ_MAX_DIMS; nd++) {
		ck_assert_int_eq(dnnq_qtensor_resize(&t, nd, dims), DNNQ_OK);
		ck_assert_uint_eq(t.ndim, nd);
		ck_assert_mem_eq(t.dims, dims, nd * sizeof *dims);
		for (uint32_t i = nd; i < DNNQ_MAX_DIMS; i++)
			ck_assert_int_eq(t.dims[i], 0);
		ck_assert_uint_eq(dnnq_qtensor_numel(&t), prod(nd, dims));
		assert_storage_ok(&t);
	}
	struct dnnq_qtensor before;
	memcpy(&before, &t, sizeof t);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 9, dims), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 200, dims), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, NULL), DNNQ_E_INVAL);
	ck_assert_mem_eq(&t, &before, sizeof t);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 0, NULL), DNNQ_OK);   /* a scalar */
	ck_assert_uint_eq(t.ndim, 0);
	ck_assert_uint_eq(dnnq_qtensor_numel(&t), 1);
	assert_storage_ok(&t);
	dnnq_qtensor_free(&t);
}
END_TEST

START_TEST(resize_rejects_bad_dims)
{
	static const struct {
		int dt;
		uint32_t ndim;
		int64_t dims[3];
		int rc;
	} v[] = {
		{ DNNQ_DTYPE_U8, 1, { -1 }, DNNQ_E_SHAPE },
		{ DNNQ_DTYPE_U8, 3, { 2, 3, -5 }, DNNQ_E_SHAPE },
		{ DNNQ_DTYPE_U8, 2, { INT64_MIN, 1 }, DNNQ_E_SHAPE },
		{ DNNQ_DTYPE_U8, 2, { 0, -1 }, DNNQ_E_SHAPE },
		{ DNNQ_DTYPE_U8, 2, { (int64_t)1 << 40, (int64_t)1 << 40 }, DNNQ_E_RANGE },
		{ DNNQ_DTYPE_F32, 1, { (int64_t)1 << 62 }, DNNQ_E_RANGE },   /* bytes overflow */
		{ DNNQ_DTYPE_S32, 2, { (int64_t)1 << 31, (int64_t)1 << 31 }, DNNQ_E_RANGE },
		{ DNNQ_DTYPE_U8, 2, { INT64_MAX, 2 }, DNNQ_E_RANGE },   /* aligned size overflows */
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct dnnq_qtensor t;
		int64_t ok[2] = { 4, 5 };
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, v[i].dt, 0, v[i].dt != DNNQ_DTYPE_U8),
		                 DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, ok), DNNQ_OK);
		struct dnnq_qtensor before;
		memcpy(&before, &t, sizeof t);
		ck_assert_msg(dnnq_qtensor_resize(&t, v[i].ndim, v[i].dims) == v[i].rc,
		              "case %zu", i);
		ck_assert_mem_eq(&t, &before, sizeof t);
		size_t numel = 0, nbytes = 0;
		struct dnnq_diag d = { "" };
		ck_assert_int_eq(dnnq_shape_size(v[i].dt, t.precision, v[i].ndim, v[i].dims,
		                                 &numel, &nbytes, &d), v[i].rc);
		ck_assert(strstr(d.msg, "dims") || strstr(d.msg, "size"));
		dnnq_qtensor_free(&t);
	}
}
END_TEST

START_TEST(resize_grows_and_keeps_capacity)
{
	for (int dt = DNNQ_DTYPE_U8; dt <= DNNQ_DTYPE_PACKED; dt++) {
		struct dnnq_qtensor t;
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, dt, dt == DNNQ_DTYPE_PACKED ? 3 : 0,
		                                       dt != DNNQ_DTYPE_U8), DNNQ_OK);
		size_t cap = t.capacity;
		for (int64_t n = 1; n <= 300; n += 7) {
			int64_t dims[2] = { n, 3 };
			ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, dims), DNNQ_OK);
			size_t nbytes = dnnq_qtensor_nbytes(&t);
			ck_assert_uint_eq(nbytes, expect_nbytes(dt, t.precision, (size_t)n * 3));
			ck_assert_uint_eq(t.capacity, cap < nbytes ? dnnq_aligned_size(nbytes) : cap);
			assert_storage_ok(&t);
			cap = t.capacity;
		}
		/* shrinking keeps the storage */
		void *data = t.data;
		int64_t small[1] = { 5 };
		ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, small), DNNQ_OK);
		ck_assert_ptr_eq(t.data, data);
		ck_assert_uint_eq(t.capacity, cap);
		dnnq_qtensor_free(&t);
	}
}
END_TEST

START_TEST(resize_zero_dim_is_empty)
{
	int64_t dims[3] = { 4, 0, 3 };
	for (int dt = DNNQ_DTYPE_U8; dt <= DNNQ_DTYPE_PACKED; dt++) {
		struct dnnq_qtensor t;
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, dt, dt == DNNQ_DTYPE_PACKED ? 5 : 0,
		                                       dt != DNNQ_DTYPE_U8), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, dims), DNNQ_OK);
		ck_assert_uint_eq(dnnq_qtensor_numel(&t), 0);
		ck_assert_uint_eq(dnnq_qtensor_nbytes(&t), 0);
		size_t numel = 1, nbytes = 1;
		ck_assert_int_eq(dnnq_shape_size(dt, t.precision, 3, dims, &numel, &nbytes, NULL),
		                 DNNQ_OK);
		ck_assert_uint_eq(numel, 0);
		ck_assert_uint_eq(nbytes, 0);
		dnnq_qtensor_free(&t);
	}
}
END_TEST

/* ---- quantization parameters ------------------------------------------- */

START_TEST(set_qparams_per_tensor)
{
	static const struct {
		int dt;
		unsigned tp;
		bool ts;
		struct dnnq_qparams qp;
		int rc;
	} v[] = {
		{ DNNQ_DTYPE_U8, 8, false, { 0.5f, 3, 5, false }, DNNQ_OK },
		{ DNNQ_DTYPE_U8, 8, false, { 0.5f, 255, 8, false }, DNNQ_OK },
		{ DNNQ_DTYPE_U8, 8, false, { 0.5f, 0, 9, false }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_U8, 8, false, { 0.5f, 0, 8, true }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_U8, 8, false, { 0.5f, 0, 0, false }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_S8, 8, true, { 2.0f, -4, 4, true }, DNNQ_OK },
		{ DNNQ_DTYPE_S8, 8, true, { 2.0f, -128, 8, true }, DNNQ_OK },
		{ DNNQ_DTYPE_S32, 32, true, { 1e-3f, INT32_MIN, 32, true }, DNNQ_OK },
		{ DNNQ_DTYPE_S32, 32, true, { 1e-3f, INT32_MAX, 31, false }, DNNQ_OK },
		{ DNNQ_DTYPE_S32, 32, true, { 1e-3f, 0, 32, false }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_PACKED, 4, true, { 0.1f, 3, 4, true }, DNNQ_OK },
		{ DNNQ_DTYPE_PACKED, 4, true, { 0.1f, 1, 4, false }, DNNQ_OK },
		/* a packed tensor's precision is its layout: set_type changes it */
		{ DNNQ_DTYPE_PACKED, 4, true, { 0.1f, 3, 3, true }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_PACKED, 1, false, { 0.5f, 0, 7, false }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_PACKED, 4, true, { 0.1f, 0, 8, true }, DNNQ_E_DTYPE },
		{ DNNQ_DTYPE_F32, 32, true, { 1.0f, 0, 32, true }, DNNQ_E_DTYPE },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct dnnq_qtensor t;
		int64_t dims[1] = { 16 };
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, v[i].dt, v[i].tp, v[i].ts), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, dims), DNNQ_OK);
		int rc = dnnq_qtensor_set_qparams(&t, &v[i].qp);
		ck_assert_msg(rc == v[i].rc, "case %zu: %d", i, rc);
		if (rc == DNNQ_OK) {
			ck_assert_uint_eq(t.precision, v[i].qp.precision);
			ck_assert_int_eq(t.is_signed, v[i].qp.is_signed);
			ck_assert_int_eq(t.qaxis, -1);
			ck_assert_uint_eq(t.nqparams, 1);
			ck_assert(t.scales[0] == v[i].qp.scale);
			ck_assert_int_eq(t.zero_points[0], v[i].qp.zero_point);
			struct dnnq_qparams out;
			ck_assert_int_eq(dnnq_qtensor_qparams(&t, 0, &out), DNNQ_OK);
			ck_assert(out.scale == v[i].qp.scale);
			ck_assert_int_eq(out.zero_point, v[i].qp.zero_point);
			ck_assert_uint_eq(out.precision, v[i].qp.precision);
			ck_assert_int_eq(out.is_signed, v[i].qp.is_signed);
			ck_assert_int_eq(dnnq_qtensor_qparams(&t, 1, &out), DNNQ_E_RANGE);
		} else {
			ck_assert_uint_eq(t.precision, v[i].tp);
			ck_assert_int_eq(t.is_signed, v[i].ts);
			ck_assert_uint_eq(t.nqparams, 0);
		}
		dnnq_qtensor_free(&t);
	}
	struct dnnq_qtensor t;
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 8, false), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, NULL), DNNQ_E_INVAL);
	dnnq_qtensor_free(&t);
}
END_TEST

START_TEST(set_qparams_rejects_bad_values)
{
	static const float bad_scales[] = { 0.0f, -0.0f, -1.0f, -FLT_TRUE_MIN, NAN, -NAN,
	                                    INFINITY, -INFINITY };
	struct dnnq_qtensor t;
	int64_t dims[2] = { 3, 2 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 8, false), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, dims), DNNQ_OK);
	struct dnnq_qparams good = { 0.25f, 7, 6, false };
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &good), DNNQ_OK);
	for (size_t i = 0; i < sizeof bad_scales / sizeof bad_scales[0]; i++) {
		struct dnnq_qparams qp = { bad_scales[i], 0, 4, false };
		ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &qp), DNNQ_E_RANGE);
	}
	/* zero points just outside each precision's range */
	for (unsigned p = 1; p <= 8; p++) {
		struct dnnq_qparams lo = { 1, -1, (uint8_t)p, false };
		struct dnnq_qparams hi = { 1, (1 << p), (uint8_t)p, false };
		struct dnnq_qparams edge = { 1, (1 << p) - 1, (uint8_t)p, false };
		ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &lo), DNNQ_E_RANGE);
		ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &hi), DNNQ_E_RANGE);
		/* a rejection leaves the previous parameters and precision */
		ck_assert_uint_eq(t.precision, 6);
		ck_assert_uint_eq(t.nqparams, 1);
		ck_assert(t.scales[0] == 0.25f);
		ck_assert_int_eq(t.zero_points[0], 7);
		ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &edge), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &good), DNNQ_OK);
	}
	/* the same through the checker, with a diagnostic */
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_qtensor_qparam_check(&t, NAN, 0, 5, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "scales[5]"));
	ck_assert_int_eq(dnnq_qtensor_qparam_check(&t, 1, 64, 2, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "zero_points[2]"));
	dnnq_qtensor_free(&t);
}
END_TEST

START_TEST(set_qparams_axis_rules)
{
	struct dnnq_qtensor t;
	int64_t dims[3] = { 2, 3, 4 };
	float sc[4] = { 0.5f, 1.0f, 2.0f, 4.0f };
	int32_t zp[4] = { -128, 0, 127, 5 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_S8, 8, true), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, dims), DNNQ_OK);
	for (uint32_t axis = 0; axis < 3; axis++) {
		size_t n = (size_t)dims[axis];
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, axis, n, sc, zp), DNNQ_OK);
		ck_assert_int_eq(t.qaxis, (int)axis);
		ck_assert_uint_eq(t.nqparams, n);
		for (size_t c = 0; c < n; c++) {
			struct dnnq_qparams out;
			ck_assert_int_eq(dnnq_qtensor_qparams(&t, c, &out), DNNQ_OK);
			ck_assert(out.scale == sc[c]);
			ck_assert_int_eq(out.zero_point, zp[c]);
			ck_assert_uint_eq(out.precision, 8);
			ck_assert(out.is_signed);
		}
		struct dnnq_qparams out;
		ck_assert_int_eq(dnnq_qtensor_qparams(&t, n, &out), DNNQ_E_RANGE);
		/* n must match the axis */
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, axis, n + 1, sc, zp),
		                 DNNQ_E_SHAPE);
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, axis, n - 1, sc, zp),
		                 DNNQ_E_SHAPE);
	}
	struct dnnq_qtensor before;
	memcpy(&before, &t, sizeof t);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 3, 4, sc, zp), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 2, 4, NULL, zp), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 2, 4, sc, NULL), DNNQ_E_INVAL);
	/* one bad entry anywhere rejects the lot, and keeps what was there */
	for (size_t bad = 0; bad < 4; bad++) {
		float s2[4];
		int32_t z2[4];
		memcpy(s2, sc, sizeof s2);
		memcpy(z2, zp, sizeof z2);
		s2[bad] = bad & 1 ? NAN : 0.0f;
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 2, 4, s2, z2), DNNQ_E_RANGE);
		memcpy(s2, sc, sizeof s2);
		z2[bad] = bad & 1 ? 128 : -129;
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 2, 4, s2, z2), DNNQ_E_RANGE);
	}
	ck_assert_mem_eq(&t, &before, sizeof t);
	ck_assert_mem_eq(t.scales, sc, sizeof sc);
	dnnq_qtensor_free(&t);

	/* no per-axis parameters on F32, and none for an empty axis */
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, dims), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 0, 2, sc, zp), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 4, false), DNNQ_OK);
	int64_t zero[2] = { 0, 3 };
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 2, zero), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 0, 0, sc, zp), DNNQ_E_SHAPE);
	/* U8 4-bit: zero points 0..15 */
	int32_t zu[3] = { 0, 15, 16 };
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 1, 3, sc, zu), DNNQ_E_RANGE);
	zu[2] = 3;
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 1, 3, sc, zu), DNNQ_OK);
	struct dnnq_qparams out;
	dnnq_qtensor_free(&t);
	ck_assert_int_eq(dnnq_qtensor_qparams(&t, 0, &out), DNNQ_E_INVAL);
}
END_TEST

START_TEST(resize_keeps_quantized_axis)
{
	struct dnnq_qtensor t;
	int64_t dims[3] = { 2, 3, 4 };
	float sc[3] = { 1, 2, 3 };
	int32_t zp[3] = { 0, 0, 0 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 8, false), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, dims), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, 1, 3, sc, zp), DNNQ_OK);
	struct dnnq_qtensor before;
	memcpy(&before, &t, sizeof t);
	int64_t other[3] = { 2, 4, 4 };
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, other), DNNQ_E_SHAPE);
	int64_t fewer[1] = { 3 };    /* axis 1 no longer exists */
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, fewer), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 0, NULL), DNNQ_E_SHAPE);
	ck_assert_mem_eq(&t, &before, sizeof t);
	/* other axes may change */
	int64_t grown[4] = { 7, 3, 9, 2 };
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 4, grown), DNNQ_OK);
	ck_assert_uint_eq(t.nqparams, 3);
	assert_storage_ok(&t);
	/* per-tensor parameters allow any shape */
	struct dnnq_qparams qp = { 1, 0, 8, false };
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &qp), DNNQ_OK);
	ck_assert_int_eq(t.qaxis, -1);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, other), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 0, NULL), DNNQ_OK);
	dnnq_qtensor_free(&t);
}
END_TEST

/*
 * set_qparams takes its precision from qp, and for PACKED the precision is
 * the element width: the storage must still hold nbytes afterwards (or the
 * call must refuse), since dnnq_qtensor_quantize writes nbytes.
 */
START_TEST(set_qparams_packed_wider_precision_keeps_storage)
{
	struct dnnq_qtensor t;
	int64_t dims[1] = { 512 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_PACKED, 1, false), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, dims), DNNQ_OK);
	ck_assert_uint_eq(dnnq_qtensor_nbytes(&t), 64);
	struct dnnq_qparams qp = { 0.5f, 0, 7, false };
	if (dnnq_qtensor_set_qparams(&t, &qp) == DNNQ_OK) {
		ck_assert_uint_eq(dnnq_qtensor_nbytes(&t), 448);
		ck_assert_msg(t.capacity >= dnnq_qtensor_nbytes(&t),
		              "capacity %zu < nbytes %zu after set_qparams widened PACKED 1 -> 7 bits",
		              t.capacity, dnnq_qtensor_nbytes(&t));
		float x[512] = { 0 };
		ck_assert_int_eq(dnnq_qtensor_quantize(DNNQ_ISA_SCALAR, x, &t), DNNQ_OK);
	} else {
		ck_assert_uint_eq(t.precision, 1);
	}
	dnnq_qtensor_free(&t);
}
END_TEST

/* ---- packed low-bit values ----------------------------------------------- */

START_TEST(packed_size_is_ceiling)
{
	for (unsigned bits = 1; bits <= 7; bits++) {
		for (size_t n = 0; n <= 1000; n++)
			ck_assert_uint_eq(dnnq_packed_size(n, bits), ceil_bits(n, bits));
		for (size_t n = SIZE_MAX - 20; n != 0; n++)   /* no overflow near the top */
			ck_assert_uint_eq(dnnq_packed_size(n, bits), ceil_bits(n, bits));
	}
}
END_TEST

START_TEST(pack_unpack_round_trip)
{
	struct rng r = { 7 };
	int8_t src[101], back[101 + 4];
	uint8_t packed[101 + 8], ref[101 + 8];
	for (unsigned bits = 1; bits <= 7; bits++) {
		for (int s = 0; s <= 1; s++) {
			int32_t lo = dnnq_qmin(bits, s), hi = dnnq_qmax(bits, s);
			for (size_t n = 0; n <= 100; n++) {
				/* every representable value in turn, then random ones */
				for (size_t i = 0; i < n; i++)
					src[i] = (int8_t)(i < (size_t)(hi - lo + 1) ? lo + (int32_t)i
					                  : random_q(&r, bits, s));
				size_t ps = dnnq_packed_size(n, bits);
				memset(packed, 0xcc, sizeof packed);
				dnnq_pack_bits(src, n, bits, packed);
				/* the layout: element i at bit i*bits, little-endian */
				memset(ref, 0, sizeof ref);
				for (size_t i = 0; i < n; i++)
					for (unsigned b = 0; b < bits; b++)
						if ((uint8_t)src[i] >> b & 1)
							ref[(i * bits + b) / 8] |= (uint8_t)(1u << ((i * bits + b) % 8));
				ck_assert_mem_eq(packed, ref, ps);
				for (size_t i = ps; i < sizeof packed; i++)
					ck_assert_uint_eq(packed[i], 0xcc);   /* nothing past the end */
				memset(back, 0x77, sizeof back);
				dnnq_unpack_bits(packed, n, bits, s, back);
				ck_assert_mem_eq(back, src, n);
				ck_assert_int_eq(back[n], 0x77);
			}
		}
	}
}
END_TEST

START_TEST(packed_get_set_leave_neighbours)
{
	struct rng r = { 31337 };
	enum { N = 37 };
	for (unsigned bits = 1; bits <= 7; bits++) {
		for (int s = 0; s <= 1; s++) {
			struct dnnq_qtensor t;
			int64_t dims[1] = { N };
			int32_t shadow[N];
			dnnq_qtensor_init(&t);
			ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_PACKED, bits, s), DNNQ_OK);
			ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, dims), DNNQ_OK);
			size_t nb = dnnq_qtensor_nbytes(&t);
			ck_assert_uint_eq(nb, ceil_bits(N, bits));
			memset(t.data, 0xa5, t.capacity);
			for (size_t i = 0; i < N; i++) {
				shadow[i] = random_q(&r, bits, s);
				dnnq_qtensor_set_int(&t, i, shadow[i]);
			}
			for (size_t k = 0; k < 4 * N; k++) {
				size_t i = (size_t)rng_int(&r, 0, N - 1);
				shadow[i] = random_q(&r, bits, s);
				dnnq_qtensor_set_int(&t, i, shadow[i]);
				for (size_t j = 0; j < N; j++)
					ck_assert_int_eq(dnnq_qtensor_get_int(&t, j), shadow[j]);
			}
			/* the spare bits of the last byte and the bytes after it */
			const uint8_t *d = t.data;
			unsigned used = (N * bits) % 8;
			if (used)
				ck_assert_uint_eq(d[nb - 1] >> used, 0xa5 >> used);
			for (size_t i = nb; i < t.capacity; i++)
				ck_assert_uint_eq(d[i], 0xa5);
			/* the tensor's bytes are exactly dnnq_pack_bits' */
			int8_t img[N];
			uint8_t packed[N];
			for (size_t i = 0; i < N; i++)
				img[i] = (int8_t)shadow[i];
			dnnq_pack_bits(img, N, bits, packed);
			for (size_t i = 0; i + 1 < nb; i++)
				ck_assert_uint_eq(d[i], packed[i]);
			uint8_t low = used ? (uint8_t)((1u << used) - 1) : 0xff;
			ck_assert_uint_eq(d[nb - 1] & low, packed[nb - 1] & low);
			dnnq_qtensor_free(&t);
		}
	}
}
END_TEST

START_TEST(byte_types_get_set)
{
	static const struct {
		int dt;
		bool s;
		int32_t v[4];
	} c[] = {
		{ DNNQ_DTYPE_U8, false, { 0, 1, 200, 255 } },
		{ DNNQ_DTYPE_S8, true, { -128, -1, 0, 127 } },
		{ DNNQ_DTYPE_S32, true, { INT32_MIN, -1, 1, INT32_MAX } },
	};
	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
		struct dnnq_qtensor t;
		int64_t dims[1] = { 4 };
		dnnq_qtensor_init(&t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&t, c[k].dt, 0, c[k].s), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, dims), DNNQ_OK);
		for (size_t i = 0; i < 4; i++)
			dnnq_qtensor_set_int(&t, i, c[k].v[i]);
		for (size_t i = 0; i < 4; i++)
			ck_assert_int_eq(dnnq_qtensor_get_int(&t, i), c[k].v[i]);
		dnnq_qtensor_free(&t);
	}
}
END_TEST

/* ---- quantize / dequantize through a tensor ----------------------------- */

static const struct {
	int dt;
	unsigned p;
	bool s;
} qtypes[] = {
	{ DNNQ_DTYPE_U8, 8, false },
	{ DNNQ_DTYPE_S8, 8, true },
	{ DNNQ_DTYPE_PACKED, 4, true },
	{ DNNQ_DTYPE_PACKED, 4, false },
	{ DNNQ_DTYPE_U8, 5, false },
	{ DNNQ_DTYPE_S8, 3, true },
};

/* A {3, 5, 19} tensor of qtypes[k] quantized per tensor (axis -1) or on
 * `axis`, with random channel parameters (some with ties-friendly 0.25). */
static void quant_tensor(struct dnnq_qtensor *t, size_t k, int axis, struct rng *r)
{
	int64_t dims[3] = { 3, 5, 19 };
	unsigned p = qtypes[k].p;
	bool s = qtypes[k].s;
	dnnq_qtensor_init(t);
	ck_assert_int_eq(dnnq_qtensor_set_type(t, qtypes[k].dt, p, s), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(t, 3, dims), DNNQ_OK);
	float sc[19];
	int32_t zp[19];
	size_t n = axis < 0 ? 1 : (size_t)dims[axis];
	for (size_t c = 0; c < n; c++) {
		sc[c] = c % 3 == 1 ? 0.25f : (float)rng_uniform(r, 0.01, 2.0);
		zp[c] = random_q(r, p, s);
	}
	if (axis < 0) {
		struct dnnq_qparams qp = { sc[0], zp[0], (uint8_t)p, s };
		ck_assert_int_eq(dnnq_qtensor_set_qparams(t, &qp), DNNQ_OK);
	} else {
		ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(t, (uint32_t)axis, n, sc, zp),
		                 DNNQ_OK);
	}
}

START_TEST(quantize_round_trip_within_half_step)
{
	struct rng r = { 2024 };
	for (size_t k = 0; k < sizeof qtypes / sizeof qtypes[0]; k++) {
		for (int axis = -1; axis < 3; axis++) {
			FOR_EACH_ISA(isa) {
				struct dnnq_qtensor t;
				quant_tensor(&t, k, axis, &r);
				size_t n = dnnq_qtensor_numel(&t);
				ck_assert_uint_eq(n, 3 * 5 * 19);
				float x[3 * 5 * 19], y[3 * 5 * 19];
				for (size_t i = 0; i < n; i++) {
					struct dnnq_qparams qp;
					ck_assert_int_eq(dnnq_qtensor_qparams(&t, channel_of(&t, i), &qp), 0);
					double lo = dnnq_qmin(qp.precision, qp.is_signed) - qp.zero_point;
					double hi = dnnq_qmax(qp.precision, qp.is_signed) - qp.zero_point;
					x[i] = (float)(qp.scale * rng_uniform(&r, lo, hi));
				}
				ck_assert_int_eq(dnnq_qtensor_quantize(isa, x, &t), DNNQ_OK);
				ck_assert_int_eq(dnnq_qtensor_dequantize(isa, &t, y), DNNQ_OK);
				for (size_t i = 0; i < n; i++) {
					struct dnnq_qparams qp;
					dnnq_qtensor_qparams(&t, channel_of(&t, i), &qp);
					/* the ONNX rule, element by element */
					float v = rintf(x[i] / qp.scale) + (float)qp.zero_point;
					float qlo = (float)dnnq_qmin(qp.precision, qp.is_signed);
					float qhi = (float)dnnq_qmax(qp.precision, qp.is_signed);
					int32_t want = (int32_t)(v < qlo ? qlo : v > qhi ? qhi : v);
					ck_assert_msg(dnnq_qtensor_get_int(&t, i) == want,
					              "type %zu axis %d isa %d: q[%zu] = %d, want %d",
					              k, axis, isa, i, dnnq_qtensor_get_int(&t, i), want);
					ck_assert_msg(fabs((double)y[i] - x[i]) <= qp.scale * (0.5 + 1e-4),
					              "type %zu axis %d isa %d: x[%zu] = %g came back %g (scale %g)",
					              k, axis, isa, i, x[i], y[i], qp.scale);
				}
				dnnq_qtensor_free(&t);
			}
		}
	}
}
END_TEST

START_TEST(quantize_isa_bit_identical)
{
	struct rng r = { 555 };
	for (size_t k = 0; k < sizeof qtypes / sizeof qtypes[0]; k++) {
		for (int axis = -1; axis < 3; axis++) {
			struct dnnq_qtensor a, b;
			struct rng r2;
			r2 = r;
			quant_tensor(&a, k, axis, &r);
			quant_tensor(&b, k, axis, &r2);
			size_t n = dnnq_qtensor_numel(&a);
			float x[3 * 5 * 19], ya[3 * 5 * 19], yb[3 * 5 * 19];
			for (size_t i = 0; i < n; i++) {
				struct dnnq_qparams qp;
				dnnq_qtensor_qparams(&a, channel_of(&a, i), &qp);
				double lo = dnnq_qmin(qp.precision, qp.is_signed) - qp.zero_point - 8;
				double hi = dnnq_qmax(qp.precision, qp.is_signed) - qp.zero_point + 8;
				/* out of range (saturating) and exact ties included */
				double q = i % 4 == 0 ? floor(rng_uniform(&r, lo, hi)) + 0.5
				                      : rng_uniform(&r, lo, hi);
				x[i] = (float)(qp.scale * q);
			}
			memset(a.data, 0x11, a.capacity);
			ck_assert_int_eq(dnnq_qtensor_quantize(DNNQ_ISA_SCALAR, x, &a), DNNQ_OK);
			ck_assert_int_eq(dnnq_qtensor_dequantize(DNNQ_ISA_SCALAR, &a, ya), DNNQ_OK);
			FOR_EACH_SIMD_ISA(isa) {
				memset(b.data, 0x99, b.capacity);
				ck_assert_int_eq(dnnq_qtensor_quantize(isa, x, &b), DNNQ_OK);
				ck_assert_mem_eq(a.data, b.data, dnnq_qtensor_nbytes(&a));
				ck_assert_int_eq(dnnq_qtensor_dequantize(isa, &a, yb), DNNQ_OK);
				ck_assert_mem_eq(ya, yb, n * sizeof *ya);
			}
			dnnq_qtensor_free(&a);
			dnnq_qtensor_free(&b);
		}
	}
}
END_TEST

START_TEST(quantize_needs_qparams)
{
	struct dnnq_qtensor t;
	int64_t dims[1] = { 4 };
	float x[4] = { 0 };
	dnnq_qtensor_init(&t);
	ck_assert_int_eq(dnnq_qtensor_resize(&t, 1, dims), DNNQ_OK);
	ck_assert_int_lt(dnnq_qtensor_quantize(DNNQ_ISA_SCALAR, x, &t), 0);   /* F32 */
	ck_assert_int_eq(dnnq_qtensor_set_type(&t, DNNQ_DTYPE_U8, 8, false), DNNQ_OK);
	ck_assert_int_lt(dnnq_qtensor_quantize(DNNQ_ISA_SCALAR, x, &t), 0);
	ck_assert_int_lt(dnnq_qtensor_dequantize(DNNQ_ISA_SCALAR, &t, x), 0);
	dnnq_qtensor_free(&t);
}
END_TEST

/* A tensor with no elements quantizes to nothing, whatever its axis. */
START_TEST(quantize_empty_tensor)
{
	static const int64_t shapes[][3] = { { 0, 3, 4 }, { 2, 3, 0 }, { 2, 0, 4 } };
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		for (int axis = -1; axis < 3; axis++) {
			if (axis >= 0 && shapes[k][axis] == 0)
				continue;
			for (int dt = DNNQ_DTYPE_U8; dt <= DNNQ_DTYPE_PACKED; dt += 4) {  /* U8, PACKED */
				struct dnnq_qtensor t;
				float x[1] = { 1.0f };
				int64_t full[3] = { 2, 3, 4 };
				float sc[4] = { 1, 1, 1, 1 };
				int32_t zp[4] = { 0, 0, 0, 0 };
				dnnq_qtensor_init(&t);
				ck_assert_int_eq(dnnq_qtensor_set_type(&t, dt, 4, false), DNNQ_OK);
				ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, full), DNNQ_OK);
				if (axis < 0) {
					struct dnnq_qparams qp = { 1, 0, 4, false };
					ck_assert_int_eq(dnnq_qtensor_set_qparams(&t, &qp), DNNQ_OK);
				} else {
					ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(&t, (uint32_t)axis,
					                 (size_t)full[axis], sc, zp), DNNQ_OK);
				}
				ck_assert_int_eq(dnnq_qtensor_resize(&t, 3, shapes[k]), DNNQ_OK);
				ck_assert_uint_eq(dnnq_qtensor_numel(&t), 0);
				ck_assert_int_eq(dnnq_qtensor_quantize(DNNQ_ISA_SCALAR, x, &t), DNNQ_OK);
				ck_assert_int_eq(dnnq_qtensor_dequantize(DNNQ_ISA_SCALAR, &t, x), DNNQ_OK);
				ck_assert(x[0] == 1.0f);
				dnnq_qtensor_free(&t);
			}
		}
	}
}
END_TEST

/* ---- serialization round trips ----------------------------------------- */

static const struct shape {
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];
} shapes[] = {
	{ 0, { 0 } },
	{ 1, { 5 } },
	{ 3, { 3, 0, 2 } },
	{ 3, { 2, 3, 4 } },
	{ 8, { 1, 2, 1, 3, 1, 1, 2, 1 } },
};

START_TEST(serialize_round_trip_every_combination)
{
	struct rng r = { 0xDEADBEEF };
	size_t count = 0;
	for (int dt = DNNQ_DTYPE_U8; dt <= DNNQ_DTYPE_PACKED; dt++) {
		for (unsigned p = 1; p <= 32; p++) {
			for (int s = 0; s <= 1; s++) {
				if (!type_ok(dt, p, s))
					continue;
				for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
					const struct shape *S = &shapes[sh];
					for (int q = -2; q < (int)S->ndim; q++) {
						if (dt == DNNQ_DTYPE_F32 && q != -2)
							continue;
						if (q >= 0 && S->dims[q] == 0)
							continue;
						struct dnnq_qtensor t, u;
						make_tensor(&t, dt, p, s, S->ndim, S->dims, q, &r);
						size_t len, consumed = 0;
						uint8_t *buf = serialize(&t, &len);
						dnnq_qtensor_init(&u);
						struct dnnq_diag d = { "" };
						int rc = dnnq_qtensor_deserialize(buf, len, &u, &consumed, &d);
						ck_assert_msg(rc == DNNQ_OK,
						              "%s/%u/%d shape %zu q %d: %d (%s)",
						              dnnq_dtype_name(dt), p, s, sh, q, rc, d.msg);
						ck_assert_uint_eq(consumed, len);
						assert_qtensor_eq(&t, &u);
						/* and the copy writes the very same bytes */
						size_t len2;
						uint8_t *buf2 = serialize(&u, &len2);
						ck_assert_uint_eq(len2, len);
						ck_assert_mem_eq(buf2, buf, len);
						free(buf2);
						free(buf);
						dnnq_qtensor_free(&t);
						dnnq_qtensor_free(&u);
						count++;
					}
				}
			}
		}
	}
	/* 93 integer types x 24 (shape, mode) pairs + F32 x 5 shapes */
	ck_assert_uint_eq(count, 93 * 24 + 5);
}
END_TEST

START_TEST(serialize_back_to_back)
{
	struct rng r = { 4 };
	int64_t da[2] = { 3, 5 }, db[1] = { 11 };
	struct dnnq_qtensor a, b, u;
	make_tensor(&a, DNNQ_DTYPE_S8, 6, true, 2, da, 0, &r);
	make_tensor(&b, DNNQ_DTYPE_PACKED, 3, false, 1, db, -1, &r);
	size_t na = dnnq_qtensor_serialized_size(&a), nb = dnnq_qtensor_serialized_size(&b);
	size_t total = na + nb + 5, wa = 0, wb = 0;
	uint8_t *buf = malloc(total);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xee, total);   /* trailing junk after the second record */
	ck_assert_int_eq(dnnq_qtensor_serialize(&a, buf, total, &wa), DNNQ_OK);
	ck_assert_uint_eq(wa, na);
	ck_assert_int_eq(dnnq_qtensor_serialize(&b, buf + wa, total - wa, &wb), DNNQ_OK);
	ck_assert_uint_eq(wb, nb);
	dnnq_qtensor_init(&u);
	size_t off = 0, consumed = 0;
	ck_assert_int_eq(dnnq_qtensor_deserialize(buf, total, &u, &consumed, NULL), DNNQ_OK);
	ck_assert_uint_eq(consumed, na);
	assert_qtensor_eq(&a, &u);
	off += consumed;
	ck_assert_int_eq(dnnq_qtensor_deserialize(buf + off, total - off, &u, &consumed, NULL),
	                 DNNQ_OK);
	ck_assert_uint_eq(consumed, nb);
	assert_qtensor_eq(&b, &u);
	off += consumed;
	ck_assert_uint_eq(total - off, 5);
	ck_assert_int_eq(dnnq_qtensor_deserialize(buf + off, total - off, &u, &consumed, NULL),
	                 DNNQ_E_TRUNCATED);
	free(buf);
	dnnq_qtensor_free(&a);
	dnnq_qtensor_free(&b);
	dnnq_qtensor_free(&u);
}
END_TEST

/* The bits of a packed tensor's last byte that no element owns are written
 * as zeros: two tensors of the same values serialize to the same bytes
 * whatever their storage held there (it held heap bytes after a resize). */
START_TEST(serialize_packed_pad_bits_zero)
{
	const unsigned bits[] = { 1, 3, 4, 5, 7 };
	for (size_t k = 0; k < sizeof bits / sizeof *bits; k++) {
		int64_t dims[1] = { 9 };
		struct dnnq_qtensor a, b;
		uint8_t ra[256], rb[256];
		size_t na = 0, nb = 0;
		dnnq_qtensor_init(&a);
		dnnq_qtensor_init(&b);
		ck_assert_int_eq(dnnq_qtensor_set_type(&a, DNNQ_DTYPE_PACKED, bits[k], false), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_set_type(&b, DNNQ_DTYPE_PACKED, bits[k], false), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&a, 1, dims), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_resize(&b, 1, dims), DNNQ_OK);
		size_t nbytes = dnnq_qtensor_nbytes(&a);
		memset(a.data, 0x00, nbytes);
		memset(b.data, 0xff, nbytes);
		for (size_t i = 0; i < 9; i++) {
			dnnq_qtensor_set_int(&a, i, (int32_t)(i % 2));
			dnnq_qtensor_set_int(&b, i, (int32_t)(i % 2));
		}
		ck_assert_int_eq(dnnq_qtensor_serialize(&a, ra, sizeof ra, &na), DNNQ_OK);
		ck_assert_int_eq(dnnq_qtensor_serialize(&b, rb, sizeof rb, &nb), DNNQ_OK);
		ck_assert_uint_eq(na, nb);
		ck_assert_msg(memcmp(ra, rb, na) == 0, "%u-bit records differ", bits[k]);
		dnnq_qtensor_free(&a);
		dnnq_qtensor_free(&b);
	}
}
END_TEST

START_TEST(serialize_needs_space)
{
	struct rng r = { 5 };
	int64_t dims[2] = { 2, 2 };
	struct dnnq_qtensor t;
	make_tensor(&t, DNNQ_DTYPE_U8, 8, false, 2, dims, -1, &r);
	size_t need = dnnq_qtensor_serialized_size(&t), written = 12345;
	uint8_t *buf = malloc(need);
	ck_assert_ptr_nonnull(buf);
	for (size_t cap = 0; cap < need; cap++)
		ck_assert_int_eq(dnnq_qtensor_serialize(&t, buf, cap, &written), DNNQ_E_NOSPACE);
	ck_assert_uint_eq(written, 12345);
	ck_assert_int_eq(dnnq_qtensor_serialize(&t, NULL, need, &written), DNNQ_E_NOSPACE);
	ck_assert_int_eq(dnnq_qtensor_serialize(&t, buf, need, NULL), DNNQ_OK);
	free(buf);
	dnnq_qtensor_free(&t);
}
END_TEST

/*
 * A freshly initialized tensor is documented as "an empty F32 scalar": it has
 * one element by the shape rules but no storage. Serializing it must not
 * read through the NULL data pointer: it either fails or writes a record
 * that reads back.
 */
START_TEST(serialize_fresh_tensor)
{
	struct dnnq_qtensor t, u;
	dnnq_qtensor_init(&t);
	dnnq_qtensor_init(&u);
	size_t need = dnnq_qtensor_serialized_size(&t), written = 0;
	uint8_t *buf = malloc(need);
	ck_assert_ptr_nonnull(buf);
	int rc = dnnq_qtensor_serialize(&t, buf, need, &written);
	if (rc == DNNQ_OK) {
		ck_assert_int_eq(dnnq_qtensor_deserialize(buf, written, &u, NULL, NULL), DNNQ_OK);
		ck_assert_uint_eq(u.ndim, 0);
		ck_assert_int_eq(u.dtype, DNNQ_DTYPE_F32);
	} else {
		ck_assert_int_lt(rc, 0);
	}
	free(buf);
	dnnq_qtensor_free(&u);
}
END_TEST

/* ---- the reader's defences ------------------------------------------------ */

/*
 * The sample record: S8 8-bit signed, dims {2, 3}, per axis on axis 1.
 *   0 magic, 4 major, 6 minor, 8 dtype, 9 precision, 10 is_signed, 11 ndim,
 *   12 qaxis, 16 nqparams, 20 reserved, 24 dims[0], 32 dims[1],
 *   40 scales[3], 52 zero_points[3], 64 data size, 72 data[6], 78 crc32c
 */
enum {
	SAMPLE_LEN = 82,
	O_MAJOR = 4, O_MINOR = 6, O_DTYPE = 8, O_PREC = 9, O_SIGNED = 10, O_NDIM = 11,
	O_QAXIS = 12, O_NQ = 16, O_RESERVED = 20, O_DIMS = 24, O_SCALES = 40, O_ZPS = 52,
	O_NBYTES = 64, O_DATA = 72, O_CRC = 78,
};

static uint8_t *sample_record(struct dnnq_qtensor *t, size_t *len)
{
	int64_t dims[2] = { 2, 3 };
	float sc[3] = { 0.5f, 0.25f, 2.0f };
	int32_t zp[3] = { -3, 0, 7 };
	dnnq_qtensor_init(t);
	ck_assert_int_eq(dnnq_qtensor_set_type(t, DNNQ_DTYPE_S8, 8, true), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_resize(t, 2, dims), DNNQ_OK);
	ck_assert_int_eq(dnnq_qtensor_set_qparams_axis(t, 1, 3, sc, zp), DNNQ_OK);
	for (size_t i = 0; i < 6; i++)
		dnnq_qtensor_set_int(t, i, (int32_t)(i * 37 % 256) - 128);
	uint8_t *buf = serialize(t, len);
	ck_assert_uint_eq(*len, SAMPLE_LEN);
	ck_assert_uint_eq(dnnq_le32(buf), DNNQ_QTENSOR_MAGIC);
	ck_assert_uint_eq(dnnq_le64(buf + O_NBYTES), 6);
	ck_assert_uint_eq(dnnq_le32(buf + O_CRC), dnnq_crc32c(buf, O_CRC));
	return buf;
}

START_TEST(truncated_records_rejected)
{
	struct rng r = { 77 };
	struct dnnq_qtensor src[3];
	uint8_t *rec[3];
	size_t len[3];
	int64_t d1[1] = { 9 };
	rec[0] = sample_record(&src[0], &len[0]);
	make_tensor(&src[1], DNNQ_DTYPE_F32, 32, true, 0, NULL, -2, &r);
	make_tensor(&src[2], DNNQ_DTYPE_PACKED, 3, true, 1, d1, -1, &r);
	rec[1] = serialize(&src[1], &len[1]);
	rec[2] = serialize(&src[2], &len[2]);
	for (size_t k = 0; k < 3; k++) {
		for (size_t n = 0; n < len[k]; n++) {
			/* an exact-size copy, so ASan sees any read past the end */
			uint8_t *cut = malloc(n ? n : 1);
			ck_assert_ptr_nonnull(cut);
			memcpy(cut, rec[k], n);
			struct dnnq_qtensor u;
			struct dnnq_diag d = { "" };
			size_t consumed = 0;
			dnnq_qtensor_init(&u);
			int rc = dnnq_qtensor_deserialize(cut, n, &u, &consumed, &d);
			ck_assert_msg(rc == DNNQ_E_TRUNCATED, "record %zu cut at %zu: %d", k, n, rc);
			ck_assert_uint_gt(strlen(d.msg), 0);
			assert_empty(&u);
			free(cut);
		}
		free(rec[k]);
		dnnq_qtensor_free(&src[k]);
	}
}
END_TEST

START_TEST(every_bit_flip_rejected)
{
	struct rng r = { 1 };
	struct dnnq_qtensor src[3];
	uint8_t *rec[3];
	size_t len[3];
	int64_t d1[1] = { 13 }, d3[3] = { 2, 1, 2 };
	rec[0] = sample_record(&src[0], &len[0]);
	make_tensor(&src[1], DNNQ_DTYPE_PACKED, 5, false, 1, d1, 0, &r);
	make_tensor(&src[2], DNNQ_DTYPE_F32, 32, true, 3, d3, -2, &r);
	rec[1] = serialize(&src[1], &len[1]);
	rec[2] = serialize(&src[2], &len[2]);
	for (size_t k = 0; k < 3; k++) {
		uint8_t *buf = malloc(len[k]);
		ck_assert_ptr_nonnull(buf);
		for (size_t bit = 0; bit < 8 * len[k]; bit++) {
			memcpy(buf, rec[k], len[k]);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			struct dnnq_qtensor u;
			struct dnnq_diag d = { "" };
			dnnq_qtensor_init(&u);
			int rc = dnnq_qtensor_deserialize(buf, len[k], &u, NULL, &d);
			ck_assert_msg(rc < 0, "record %zu, bit %zu flipped: accepted", k, bit);
			ck_assert_uint_gt(strlen(d.msg), 0);
			assert_empty(&u);
			dnnq_qtensor_free(&u);
		}
		free(buf);
		free(rec[k]);
		dnnq_qtensor_free(&src[k]);
	}
}
END_TEST

/* One forged field of the sample record, with the CRC made right again. */
static const struct forge {
	const char *what;
	size_t off;
	unsigned width;
	uint64_t value;
	int rc;
	const char *word;   /* the diagnostic must name it */
} forges[] = {
	{ "magic", 0, 4, 0x54514e45, DNNQ_E_FORMAT, "magic" },
	{ "magic zero", 0, 4, 0, DNNQ_E_FORMAT, "magic" },
	{ "major 2", O_MAJOR, 2, 2, DNNQ_E_VERSION, "version" },
	{ "major 0", O_MAJOR, 2, 0, DNNQ_E_VERSION, "version" },
	{ "major 0xffff", O_MAJOR, 2, 0xffff, DNNQ_E_VERSION, "version" },
	{ "dtype 0", O_DTYPE, 1, 0, DNNQ_E_DTYPE, "dtype" },
	{ "dtype 6", O_DTYPE, 1, 6, DNNQ_E_DTYPE, "dtype" },
	{ "dtype 255", O_DTYPE, 1, 255, DNNQ_E_DTYPE, "dtype" },
	{ "dtype u8 for signed", O_DTYPE, 1, DNNQ_DTYPE_U8, DNNQ_E_DTYPE, "dtype" },
	{ "dtype f32 8-bit", O_DTYPE, 1, DNNQ_DTYPE_F32, DNNQ_E_DTYPE, "dtype" },
	{ "precision 0", O_PREC, 1, 0, DNNQ_E_DTYPE, "precision" },
	{ "precision 9", O_PREC, 1, 9, DNNQ_E_DTYPE, "precision" },
	{ "precision 255", O_PREC, 1, 255, DNNQ_E_DTYPE, "precision" },
	{ "unsigned s8", O_SIGNED, 1, 0, DNNQ_E_DTYPE, "dtype" },
	{ "is_signed 2", O_SIGNED, 1, 2, DNNQ_E_FORMAT, "is_signed" },
	{ "is_signed 255", O_SIGNED, 1, 255, DNNQ_E_FORMAT, "is_signed" },
	{ "ndim 9", O_NDIM, 1, 9, DNNQ_E_FORMAT, "ndim" },
	{ "ndim 255", O_NDIM, 1, 255, DNNQ_E_FORMAT, "ndim" },
	{ "reserved", O_RESERVED, 4, 1, DNNQ_E_FORMAT, "reserved" },
	{ "reserved high", O_RESERVED + 3, 1, 0x80, DNNQ_E_FORMAT, "reserved" },
	{ "qaxis 2", O_QAXIS, 4, 2, DNNQ_E_FORMAT, "qaxis" },
	{ "qaxis -2", O_QAXIS, 4, 0xfffffffe, DNNQ_E_FORMAT, "qaxis" },
	{ "qaxis INT32_MIN", O_QAXIS, 4, 0x80000000, DNNQ_E_FORMAT, "qaxis" },
	{ "qaxis on the wrong axis", O_QAXIS, 4, 0, DNNQ_E_FORMAT, "nqparams" },
	{ "per tensor with 3 qparams", O_QAXIS, 4, 0xffffffff, DNNQ_E_FORMAT, "nqparams" },
	{ "qaxis without qparams", O_NQ, 4, 0, DNNQ_E_FORMAT, "qaxis" },
	{ "nqparams 0xffffffff", O_NQ, 4, 0xffffffff, DNNQ_E_FORMAT, "nqparams" },
	{ "nqparams 2", O_NQ, 4, 2, DNNQ_E_FORMAT, "nqparams" },
	{ "dims[0] 2^63", O_DIMS, 8, (uint64_t)1 << 63, DNNQ_E_SHAPE, "dims[0]" },
	{ "dims[0] -1", O_DIMS, 8, UINT64_MAX, DNNQ_E_SHAPE, "dims[0]" },
	{ "dims[1] -7", O_DIMS + 8, 8, (uint64_t)-7, DNNQ_E_SHAPE, "dims[1]" },
	{ "dims[0] INT64_MAX", O_DIMS, 8, INT64_MAX, DNNQ_E_RANGE, "dims[1]" },
	{ "dims[0] 2^62", O_DIMS, 8, (uint64_t)1 << 62, DNNQ_E_FORMAT, "data size" },
	{ "dims[0] 3", O_DIMS, 8, 3, DNNQ_E_FORMAT, "data size" },
	{ "dims[0] 0", O_DIMS, 8, 0, DNNQ_E_FORMAT, "data size" },
	{ "dims[1] 2^62", O_DIMS + 8, 8, (uint64_t)1 << 62, DNNQ_E_FORMAT, "nqparams" },
	{ "scale 0", O_SCALES + 4, 4, 0, DNNQ_E_RANGE, "scales[1]" },
	{ "scale -0", O_SCALES, 4, 0x80000000, DNNQ_E_RANGE, "scales[0]" },
	{ "scale NaN", O_SCALES, 4, 0x7fc00000, DNNQ_E_RANGE, "scales[0]" },
	{ "scale inf", O_SCALES + 8, 4, 0x7f800000, DNNQ_E_RANGE, "scales[2]" },
	{ "scale -inf", O_SCALES + 8, 4, 0xff800000, DNNQ_E_RANGE, "scales[2]" },
	{ "scale -0.5", O_SCALES + 4, 4, 0xbf000000, DNNQ_E_RANGE, "scales[1]" },
	{ "zero point 128", O_ZPS + 8, 4, 128, DNNQ_E_RANGE, "zero_points[2]" },
	{ "zero point -129", O_ZPS, 4, (uint32_t)-129, DNNQ_E_RANGE, "zero_points[0]" },
	{ "zero point INT32_MIN", O_ZPS + 4, 4, 0x80000000, DNNQ_E_RANGE, "zero_points[1]" },
	{ "data size 2^63", O_NBYTES, 8, (uint64_t)1 << 63, DNNQ_E_FORMAT, "data size" },
	{ "data size 2^64-1", O_NBYTES, 8, UINT64_MAX, DNNQ_E_FORMAT, "data size" },
	{ "data size 5", O_NBYTES, 8, 5, DNNQ_E_FORMAT, "data size" },
	{ "data size 7", O_NBYTES, 8, 7, DNNQ_E_FORMAT, "data size" },
};

START_TEST(forged_fields_rejected)
{
	struct dnnq_qtensor src;
	size_t len;
	uint8_t *rec = sample_record(&src, &len);
	uint8_t buf[SAMPLE_LEN];
	for (size_t i = 0; i < sizeof forges / sizeof forges[0]; i++) {
		const struct forge *f = &forges[i];
		memcpy(buf, rec, len);
		put_field(buf + f->off, f->width, f->value);
		fix_crc(buf, len);
		struct dnnq_qtensor u;
		struct dnnq_diag d = { "" };
		size_t consumed = 0;
		dnnq_qtensor_init(&u);
		int rc = dnnq_qtensor_deserialize(buf, len, &u, &consumed, &d);
		ck_assert_msg(rc == f->rc, "%s: %d, want %d (%s)", f->what, rc, f->rc, d.msg);
		ck_assert_msg(strstr(d.msg, f->word), "%s: diag \"%s\" does not name %s",
		              f->what, d.msg, f->word);
		assert_empty(&u);
		/* the same without a diag */
		ck_assert_int_eq(dnnq_qtensor_deserialize(buf, len, &u, NULL, NULL), f->rc);
		assert_empty(&u);
	}
	free(rec);
	dnnq_qtensor_free(&src);
}
END_TEST

START_TEST(checksum_mismatch_rejected)
{
	struct dnnq_qtensor src, u;
	size_t len;
	uint8_t *rec = sample_record(&src, &len);
	struct dnnq_diag d = { "" };
	dnnq_qtensor_init(&u);
	/* a changed data byte, and a changed checksum */
	rec[O_DATA + 2] ^= 0x40;
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_CHECKSUM);
	ck_assert_ptr_nonnull(strstr(d.msg, "crc32c"));
	rec[O_DATA + 2] ^= 0x40;
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, NULL), DNNQ_OK);
	rec[O_CRC + 3] ^= 0x01;
	d.msg[0] = 0;
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_CHECKSUM);
	ck_assert_ptr_nonnull(strstr(d.msg, "crc32c"));
	ck_assert_int_eq(dnnq_qtensor_deserialize(NULL, len, &u, NULL, &d), DNNQ_E_INVAL);
	free(rec);
	dnnq_qtensor_free(&src);
	dnnq_qtensor_free(&u);
}
END_TEST

START_TEST(newer_minor_version_reads)
{
	struct dnnq_qtensor src, u;
	size_t len, consumed = 0;
	uint8_t *rec = sample_record(&src, &len);
	put_field(rec + O_MINOR, 2, 7);
	fix_crc(rec, len);
	dnnq_qtensor_init(&u);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, &consumed, NULL), DNNQ_OK);
	ck_assert_uint_eq(consumed, len);
	assert_qtensor_eq(&src, &u);
	free(rec);
	dnnq_qtensor_free(&src);
	dnnq_qtensor_free(&u);
}
END_TEST

/*
 * Huge declared sizes with a valid CRC: the reader must notice that the
 * buffer cannot hold them before it allocates (under ASan an attempt to
 * allocate 2^62 bytes aborts the test).
 */
START_TEST(huge_sizes_rejected_without_allocating)
{
	struct rng r = { 3 };
	struct dnnq_qtensor t, u;
	size_t len;
	uint8_t *rec;
	struct dnnq_diag d;

	/* U8 {4}: dims[0] = 2^62 with a matching data size */
	int64_t d4[1] = { 4 };
	make_tensor(&t, DNNQ_DTYPE_U8, 8, false, 1, d4, -2, &r);
	rec = serialize(&t, &len);
	put_field(rec + 24, 8, (uint64_t)1 << 62);
	put_field(rec + 32, 8, (uint64_t)1 << 62);
	fix_crc(rec, len);
	dnnq_qtensor_init(&u);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "data"));
	assert_empty(&u);
	free(rec);
	dnnq_qtensor_free(&t);

	/* F32 {4}: dims[0] = 2^61, data size 2^63 */
	make_tensor(&t, DNNQ_DTYPE_F32, 32, true, 1, d4, -2, &r);
	rec = serialize(&t, &len);
	put_field(rec + 24, 8, (uint64_t)1 << 61);
	put_field(rec + 32, 8, (uint64_t)1 << 63);
	fix_crc(rec, len);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "data"));
	assert_empty(&u);
	free(rec);
	dnnq_qtensor_free(&t);

	/* U8 {0, 3} per axis 1: dims[1] = nqparams = 2^32 - 1, no elements */
	int64_t d03[2] = { 0, 3 };
	make_tensor(&t, DNNQ_DTYPE_U8, 8, false, 2, d03, 1, &r);
	rec = serialize(&t, &len);
	put_field(rec + 16, 4, 0xffffffff);
	put_field(rec + 32, 8, 0xffffffff);
	fix_crc(rec, len);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "qparams"));
	assert_empty(&u);
	free(rec);
	dnnq_qtensor_free(&t);

	/* S32 8-D, every dimension 2^8: 2^64 elements */
	int64_t d8[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	make_tensor(&t, DNNQ_DTYPE_S32, 32, true, 8, d8, -1, &r);
	rec = serialize(&t, &len);
	for (int i = 0; i < 8; i++)
		put_field(rec + 24 + 8 * i, 8, 256);
	fix_crc(rec, len);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "dims[7]"));
	assert_empty(&u);
	/* ... and 2^56 of them: fits size_t, but 2^58 bytes are not there */
	put_field(rec + 24 + 8 * 7, 8, 1);
	put_field(rec + 24 + 64 + 8, 8, (uint64_t)1 << 58);
	fix_crc(rec, len);
	ck_assert_int_eq(dnnq_qtensor_deserialize(rec, len, &u, NULL, &d), DNNQ_E_TRUNCATED);
	assert_empty(&u);
	free(rec);
	dnnq_qtensor_free(&t);
}
END_TEST

/* Reading into a tensor that already holds data replaces it (ASan's leak
 * check sees anything left behind). */
START_TEST(deserialize_replaces_contents)
{
	struct rng r = { 8 };
	int64_t big[3] = { 4, 5, 6 }, small[2] = { 3, 3 };
	struct dnnq_qtensor t, a, b;
	make_tensor(&t, DNNQ_DTYPE_U8, 7, false, 3, big, 2, &r);
	make_tensor(&a, DNNQ_DTYPE_PACKED, 2, true, 2, small, 0, &r);
	make_tensor(&b, DNNQ_DTYPE_F32, 32, true, 3, big, -2, &r);
	size_t la, lb, consumed;
	uint8_t *ra = serialize(&a, &la), *rb = serialize(&b, &lb);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(dnnq_qtensor_deserialize(ra, la, &t, &consumed, NULL), DNNQ_OK);
		assert_qtensor_eq(&a, &t);
		ck_assert_int_eq(dnnq_qtensor_deserialize(rb, lb, &t, &consumed, NULL), DNNQ_OK);
		assert_qtensor_eq(&b, &t);
	}
	ck_assert_int_eq(dnnq_qtensor_deserialize(ra, la, &t, &consumed, NULL), DNNQ_OK);
	free(ra);
	free(rb);
	dnnq_qtensor_free(&t);
	dnnq_qtensor_free(&a);
	dnnq_qtensor_free(&b);
}
END_TEST

/* ---- the suite ------------------------------------------------------------ */

Suite *suite_qtensor(void)
{
	Suite *s = suite_create("qtensor");
	TCase *tc;

	tc = tcase_create("crc32c");
	tcase_add_test(tc, crc32c_known_vectors);
	tcase_add_test(tc, crc32c_scalar_matches_bitwise);
	tcase_add_test(tc, crc32c_sse42_matches_scalar);
	tcase_add_test(tc, crc32c_update_in_pieces);
	suite_add_tcase(s, tc);

	tc = tcase_create("storage");
	tcase_add_test(tc, aligned_size_rounds_up);
	tcase_add_test(tc, aligned_alloc_huge_pages);
	tcase_add_test(tc, weights_cache_arena);
	tcase_add_test(tc, init_and_free_defaults);
	tcase_add_test(tc, set_type_every_combination);
	tcase_add_test(tc, set_type_default_precision);
	tcase_add_test(tc, set_type_drops_qparams);
	tcase_add_test(tc, resize_up_to_eight_dims);
	tcase_add_test(tc, resize_rejects_bad_dims);
	tcase_add_test(tc, resize_grows_and_keeps_capacity);
	tcase_add_test(tc, resize_zero_dim_is_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("qparams");
	tcase_add_test(tc, set_qparams_per_tensor);
	tcase_add_test(tc, set_qparams_rejects_bad_values);
	tcase_add_test(tc, set_qparams_axis_rules);
	tcase_add_test(tc, resize_keeps_quantized_axis);
	tcase_add_test(tc, set_qparams_packed_wider_precision_keeps_storage);
	suite_add_tcase(s, tc);

	tc = tcase_create("packed");
	tcase_add_test(tc, packed_size_is_ceiling);
	tcase_add_test(tc, pack_unpack_round_trip);
	tcase_add_test(tc, packed_get_set_leave_neighbours);
	tcase_add_test(tc, byte_types_get_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("quantize");
	tcase_add_test(tc, quantize_round_trip_within_half_step);
	tcase_add_test(tc, quantize_isa_bit_identical);
	tcase_add_test(tc, quantize_needs_qparams);
	tcase_add_test(tc, quantize_empty_tensor);
	suite_add_tcase(s, tc);

	tc = tcase_create("serialize");
	tcase_add_test(tc, serialize_round_trip_every_combination);
	tcase_add_test(tc, serialize_back_to_back);
	tcase_add_test(tc, serialize_packed_pad_bits_zero);
	tcase_add_test(tc, serialize_needs_space);
	tcase_add_test(tc, serialize_fresh_tensor);
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_test(tc, truncated_records_rejected);
	tcase_add_test(tc, every_bit_flip_rejected);
	tcase_add_test(tc, forged_fields_rejected);
	tcase_add_test(tc, checksum_mismatch_rejected);
	tcase_add_test(tc, newer_minor_version_reads);
	tcase_add_test(tc, huge_sizes_rejected_without_allocating);
	tcase_add_test(tc, deserialize_replaces_contents);
	suite_add_tcase(s, tc);

	return s;
}
