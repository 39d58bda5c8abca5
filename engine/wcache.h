/*
 * engine/wcache.h — packed weights shared by the graphs built from one
 * model (XNNPACK's weights cache, in small).
 *
 * dnnqd builds one graph per worker from a model version: each graph owns
 * its plan (arena, bound buffers, scratch), but the packed weights are the
 * same bytes for all of them. The first graph's convolutions and FCs pack
 * their weights into the cache (which owns them from then on) and every
 * later graph built with the same cache borrows them: one copy per model
 * version, whatever the worker count. Entries are keyed by the node's name
 * (unique in a graph), or by its weight tensor's when other convs or FCs
 * read it (engine/graph-nodes.c weights_key: packed once for them all),
 * and the operator asking (ISA, kind, shape): one entry
 * per variant, so graphs that alternate a node's form (--precision auto's
 * trials: int8 in one, fp32 in the next) share each form's one copy rather
 * than adding another each build.
 *
 * Adding is for the one thread that builds; once built, the cache is read
 * only (by nobody at run time: the operators hold the pointers). Destroy
 * it after every graph that borrows from it.
 */
#ifndef DNNQ_ENGINE_WCACHE_H
#define DNNQ_ENGINE_WCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/gemm.h"

struct dnnq_weights_cache;

int dnnq_weights_cache_create(struct dnnq_weights_cache **out);
/* NULL is a no-op. */
void dnnq_weights_cache_destroy(struct dnnq_weights_cache *c);
/* Bytes of packed weights held. */
size_t dnnq_weights_cache_bytes(const struct dnnq_weights_cache *c);

/* One operator's packed weights: GEMM weights (ngw sets: an FC's one, a
 * convolution's one per group), a depthwise convolution's widened taps
 * and channel sums, or an fp32 operator's weights (engine/f32.h); what the
 * operator does not use is NULL / 0. */
struct dnnq_wcache_entry {
	const char *key;                /* the node's name, or its tensor's */
	int kind;                       /* the operator's own tag (conv, fc) */
	enum dnnq_isa isa;
	size_t n, k;                    /* the operator's checks: output channels, depth */
	struct dnnq_gemm_weights *gw;
	size_t ngw;
	void *blob;                     /* depthwise: the packed block; Winograd: the
	                                 * transformed weights (conv-kernels.h) */
	int32_t *dw_row_sums;
	size_t blob_bytes;
	float *f32w;                    /* DNNQ_ALIGN-aligned, f32w_count floats */
	size_t f32w_count;
};

/* The entry of key, if it was packed for kind, isa, n and k; else NULL. */
const struct dnnq_wcache_entry *dnnq_weights_cache_find(const struct dnnq_weights_cache *c,
                                                        const char *key, int kind,
                                                        enum dnnq_isa isa, size_t n, size_t k);
/* n bytes (n > 0), DNNQ_ALIGN aligned, from c's huge-page arena
 * (wcache.c), to be filled and then added in an entry: the cache's whether
 * or not dnnq_weights_cache_add takes the entry (freed by
 * dnnq_weights_cache_destroy, never by free). Without a cache (c NULL)
 * dnnq_aligned_alloc's, the caller's to free. NULL when there is no
 * room. Packing in place saves add's copy (and the peak RSS of both). */
void *dnnq_weights_cache_alloc(struct dnnq_weights_cache *c, size_t n);
/* Hands e's arrays to the cache (copying the key). Its big ones (each gw's
 * data, blob, f32w), unless from dnnq_weights_cache_alloc, are moved into
 * the cache's huge-page arena (wcache.c):
 * the caller's are freed and e (and e->gw's entries) point at the
 * cache's copies, which the caller must use from then on. DNNQ_E_NOMEM,
 * and e and its arrays stay the caller's, unchanged, when there is no
 * room. */
int dnnq_weights_cache_add(struct dnnq_weights_cache *c, struct dnnq_wcache_entry *e);

#endif
