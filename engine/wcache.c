/*
 * The weights cache (wcache.h): a growing array of entries, looked up by
 * name. A model has tens of convolutions, and lookups happen only while a
 * graph is built, so a linear search is all it needs.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/wcache.h"

struct dnnq_weights_cache {
	struct dnnq_wcache_entry *e;
	size_t n, cap;
	size_t bytes;
};

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
		for (size_t g = 0; g < e->ngw; g++)
			dnnq_gemm_weights_free(&e->gw[g]);
		free(e->gw);
		free(e->blob);
		free(e->dw_row_sums);
		free(e->f32w);
		free((char *)e->key);
	}
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

int dnnq_weights_cache_add(struct dnnq_weights_cache *c, const struct dnnq_wcache_entry *e)
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
	char *key = strdup(e->key);
	if (!key)
		return DNNQ_E_NOMEM;
	c->e[c->n] = *e;
	c->e[c->n].key = key;
	c->n++;
	c->bytes += e->blob_bytes + e->f32w_count * sizeof(float);
	for (size_t g = 0; g < e->ngw; g++)
		c->bytes += e->gw[g].data_bytes;
	return DNNQ_OK;
}
