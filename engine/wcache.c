/*
 * The weights cache (wcache.h): a growing array of entries, looked up by
 * name. A model has tens of convolutions, and lookups happen only while a
 * graph is built, so a linear search is all it needs.
 *
 * The entries' big arrays (GEMM panels, depthwise and Winograd blobs, fp32
 * weights) are copied at add time into an arena of 2 MiB-aligned chunks,
 * one after the other, and each huge page they fill is collapsed into one
 * (MADV_COLLAPSE): the weights are streamed from memory every run, and a
 * stream through 4 KiB pages takes a TLB entry, often a page walk, every
 * 4 KiB (docs/gemm.md, "F(4, 3) on the fly at its bounds; huge pages").
 * Packed one by one, blobs of 0.5-2 MiB would each need a whole huge
 * page; packed together, only the last huge page, never filled, stays in
 * 4 KiB pages, and nothing past the arrays' last byte is made resident.
 */
#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/wcache.h"

/* Under ASan (GCC's, or clang's: the fuzzers) the arena's bytes are
 * poisoned but what it hands out, dnnq_aligned_size(n) for an array of n
 * bytes as malloc'd ones had, and each array has a poisoned redzone after
 * it: a kernel reading past its packed weights is reported, as it was when
 * they were malloc'd, not fed the next array's bytes (or a chunk's unused
 * zero pages). Elsewhere the macros do nothing. */
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define REDZONE ((size_t)DNNQ_ALIGN)
#else
#define REDZONE ((size_t)0)
#endif

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25        /* Linux 6.1 */
#endif

/* An arena chunk's address space (only what is written becomes resident;
 * a blob larger gets its own). */
#define ARENA_CHUNK ((size_t)64 << 20)

struct chunk {
	char *base;
	size_t size;
	size_t top;             /* bytes handed out */
	size_t collapsed;       /* bytes collapsed into huge pages (or tried) */
};

struct dnnq_weights_cache {
	struct dnnq_wcache_entry *e;
	size_t n, cap;
	size_t bytes;
	struct chunk *chunks;
	size_t nchunks;
};

/* A new chunk of at least `need` bytes, DNNQ_HUGE_PAGE aligned; false when
 * there is no room. */
static bool chunk_new(struct dnnq_weights_cache *c, size_t need)
{
	size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
	if (size > SIZE_MAX - 2 * DNNQ_HUGE_PAGE)
		return false;
	size = (size + DNNQ_HUGE_PAGE - 1) & ~(DNNQ_HUGE_PAGE - 1);
	struct chunk *ch = realloc(c->chunks, (c->nchunks + 1) * sizeof *ch);
	if (!ch)
		return false;
	c->chunks = ch;
	/* mmap aligns to 4 KiB: map a huge page more, unmap around it */
	char *p = mmap(NULL, size + DNNQ_HUGE_PAGE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	size_t head = -(uintptr_t)p & (DNNQ_HUGE_PAGE - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + size, DNNQ_HUGE_PAGE - head);
	ch[c->nchunks++] = (struct chunk){ .base = p + head, .size = size };
	ASAN_POISON_MEMORY_REGION(p + head, size);
	return true;
}

/* `bytes` (a multiple of DNNQ_ALIGN) from the arena; NULL when there is
 * no room. */
static void *arena_alloc(struct dnnq_weights_cache *c, size_t bytes)
{
	struct chunk *ch = c->nchunks ? &c->chunks[c->nchunks - 1] : NULL;
	if (!ch || ch->size - ch->top < bytes) {
		if (!chunk_new(c, bytes))
			return NULL;
		ch = &c->chunks[c->nchunks - 1];
	}
	void *p = ch->base + ch->top;
	ch->top += bytes;
	return p;
}

/* The last chunk's huge pages filled since the last call, collapsed:
 * written first in 4 KiB pages (THP "madvise" gives huge pages only where
 * advised, and advising a page not yet full would make its unused end
 * resident). Advice only: where THP is off, or no huge page is free, the
 * pages stay 4 KiB. */
static void arena_collapse(struct dnnq_weights_cache *c)
{
	struct chunk *ch = &c->chunks[c->nchunks - 1];
	size_t full = ch->top & ~(DNNQ_HUGE_PAGE - 1);
	if (full > ch->collapsed)
		(void)madvise(ch->base + ch->collapsed, full - ch->collapsed, MADV_COLLAPSE);
	ch->collapsed = full;
}

/* The arena's bytes for an array of n (its aligned size below SIZE_MAX - REDZONE). */
static size_t span(size_t n)
{
	return dnnq_aligned_size(n) + REDZONE;
}

void *dnnq_weights_cache_alloc(struct dnnq_weights_cache *c, size_t n)
{
	size_t sz = dnnq_aligned_size(n);
	if (!c || n == 0 || sz >= SIZE_MAX - REDZONE)
		return c ? NULL : dnnq_aligned_alloc(n);
	void *p = arena_alloc(c, span(n));
	if (p)
		ASAN_UNPOISON_MEMORY_REGION(p, sz);
	return p;
}

static bool in_arena(const struct dnnq_weights_cache *c, const void *p)
{
	for (size_t i = 0; i < c->nchunks; i++)
		if ((const char *)p >= c->chunks[i].base &&
		    (const char *)p < c->chunks[i].base + c->chunks[i].top)
			return true;
	return false;
}

/* *p (`bytes` long) moved into the arena at q, unless it is the arena's
 * already (dnnq_weights_cache_alloc). */
static void move_to(const struct dnnq_weights_cache *c, void **p, size_t bytes, char **q)
{
	if (!*p || in_arena(c, *p))
		return;
	ASAN_UNPOISON_MEMORY_REGION(*q, dnnq_aligned_size(bytes));
	memcpy(*q, *p, bytes);
	free(*p);
	*p = *q;
	*q += span(bytes);
}

int dnnq_weights_cache_create(struct dnnq_weights_cache **out)
{
	if (!out)
		return DNNQ_E_INVAL;
	*out = calloc(1, sizeof **out);
	return *out ? DNNQ_OK : DNNQ_E_NOMEM;
}

void dnnq_weights_cache_destroy(struct dnnq_weights_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct dnnq_wcache_entry *e = &c->e[i];
		for (size_t g = 0; g < e->ngw; g++) {
			e->gw[g].data = NULL;   /* the arena's */
			dnnq_gemm_weights_free(&e->gw[g]);
		}
		free(e->gw);
		free(e->dw_row_sums);
		free((char *)e->key);
	}
	for (size_t i = 0; i < c->nchunks; i++) {
		ASAN_UNPOISON_MEMORY_REGION(c->chunks[i].base, c->chunks[i].size);
		munmap(c->chunks[i].base, c->chunks[i].size);
	}
	free(c->chunks);
	free(c->e);
	free(c);
}

size_t dnnq_weights_cache_bytes(const struct dnnq_weights_cache *c)
{
	return c ? c->bytes : 0;
}

const struct dnnq_wcache_entry *dnnq_weights_cache_find(const struct dnnq_weights_cache *c,
                                                        const char *key, int kind,
                                                        enum dnnq_isa isa, size_t n, size_t k)
{
	for (size_t i = 0; c && key && i < c->n; i++) {
		const struct dnnq_wcache_entry *e = &c->e[i];
		if (!strcmp(e->key, key) && e->kind == kind && e->isa == isa && e->n == n &&
		    e->k == k)
			return e;
	}
	return NULL;
}

int dnnq_weights_cache_add(struct dnnq_weights_cache *c, struct dnnq_wcache_entry *e)
{
	if (!c || !e || !e->key)
		return DNNQ_E_INVAL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct dnnq_wcache_entry *p = realloc(c->e, cap * sizeof *p);
		if (!p)
			return DNNQ_E_NOMEM;
		c->e = p;
		c->cap = cap;
	}
	/* the arrays' room in the arena, all of it before anything moves */
	size_t f32_bytes = e->f32w_count * sizeof(float), need = 0;
	if (e->blob && !in_arena(c, e->blob))
		need += span(e->blob_bytes);
	if (e->f32w && !in_arena(c, e->f32w))
		need += span(f32_bytes);
	for (size_t g = 0; g < e->ngw; g++)
		if (e->gw[g].data && !in_arena(c, e->gw[g].data))
			need += span(e->gw[g].data_bytes);
	char *key = strdup(e->key);
	char *q = key && need ? arena_alloc(c, need) : NULL;
	if (!key || (need && !q)) {
		free(key);
		return DNNQ_E_NOMEM;
	}
	for (size_t g = 0; g < e->ngw; g++)
		move_to(c, (void **)&e->gw[g].data, e->gw[g].data_bytes, &q);
	move_to(c, &e->blob, e->blob_bytes, &q);
	move_to(c, (void **)&e->f32w, f32_bytes, &q);
	if (c->nchunks)
		arena_collapse(c);
	c->e[c->n] = *e;
	c->e[c->n].key = key;
	c->n++;
	c->bytes += e->blob_bytes + e->f32w_count * sizeof(float);
	for (size_t g = 0; g < e->ngw; g++)
		c->bytes += e->gw[g].data_bytes;
	return DNNQ_OK;
}
