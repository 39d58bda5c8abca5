/*
 * The client's arena allocator: hands out 64-byte aligned blocks of the
 * session's tensor arena by offset. Its bookkeeping lives in the client's
 * private memory (never in the shared region, which the daemon must not
 * trust and the client must not let the daemon corrupt): a sorted array of
 * free extents, first fit on allocation, coalescing with both neighbours on
 * free. A mutex makes it safe for a client's threads to share.
 */
#include <stdlib.h>
#include <string.h>

#include "shm/dnnq_shm.h"

static uint64_t round64(uint64_t x)
{
	return (x + DNNQ_SHM_ALIGN - 1) & ~(uint64_t)(DNNQ_SHM_ALIGN - 1);
}

int dnnq_shm_arena_init(struct dnnq_shm_arena *a, uint64_t arena_size)
{
	memset(a, 0, sizeof *a);
	arena_size &= ~(uint64_t)(DNNQ_SHM_ALIGN - 1);
	if (arena_size == 0)
		return DNNQ_E_INVAL;
	a->free = malloc(8 * sizeof *a->free);
	if (!a->free)
		return DNNQ_E_NOMEM;
	a->cap = 8;
	a->nfree = 1;
	a->free[0] = (struct dnnq_shm_extent){ 0, arena_size };
	a->size = arena_size;
	pthread_mutex_init(&a->lock, NULL);
	return 0;
}

void dnnq_shm_arena_destroy(struct dnnq_shm_arena *a)
{
	if (!a->free)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->free);
	memset(a, 0, sizeof *a);
}

static void remove_at(struct dnnq_shm_arena *a, size_t i)
{
	memmove(&a->free[i], &a->free[i + 1], (a->nfree - i - 1) * sizeof *a->free);
	a->nfree--;
}

static int insert_at(struct dnnq_shm_arena *a, size_t i, uint64_t off, uint64_t len)
{
	if (a->nfree == a->cap) {
		struct dnnq_shm_extent *n = realloc(a->free, 2 * a->cap * sizeof *n);
		if (!n)
			return DNNQ_E_NOMEM;
		a->free = n;
		a->cap *= 2;
	}
	memmove(&a->free[i + 1], &a->free[i], (a->nfree - i) * sizeof *a->free);
	a->free[i] = (struct dnnq_shm_extent){ off, len };
	a->nfree++;
	return 0;
}

int dnnq_shm_arena_alloc(struct dnnq_shm_arena *a, uint64_t bytes, uint64_t *off)
{
	if (bytes == 0 || bytes > a->size)
		return bytes ? DNNQ_E_NOSPACE : DNNQ_E_INVAL;
	uint64_t len = round64(bytes);
	int rc = DNNQ_E_NOSPACE;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nfree; i++) {
		struct dnnq_shm_extent *e = &a->free[i];
		if (e->len < len)
			continue;
		*off = e->off;
		e->off += len;
		e->len -= len;
		if (e->len == 0)
			remove_at(a, i);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* Insert [off, off + len) at index i and merge it with its neighbours. */
static int give_back(struct dnnq_shm_arena *a, size_t i, uint64_t off, uint64_t len)
{
	struct dnnq_shm_extent *prev = i ? &a->free[i - 1] : NULL;
	struct dnnq_shm_extent *next = i < a->nfree ? &a->free[i] : NULL;
	if (prev && prev->off + prev->len == off) {
		prev->len += len;
		if (next && off + len == next->off) {
			prev->len += next->len;
			remove_at(a, i);
		}
		return 0;
	}
	if (next && off + len == next->off) {
		next->off = off;
		next->len += len;
		return 0;
	}
	return insert_at(a, i, off, len);
}

int dnnq_shm_arena_free(struct dnnq_shm_arena *a, uint64_t off, uint64_t bytes)
{
	uint64_t len = round64(bytes);
	if (bytes == 0 || off % DNNQ_SHM_ALIGN || off > a->size || len > a->size - off)
		return DNNQ_E_INVAL;
	pthread_mutex_lock(&a->lock);
	size_t i = 0;
	while (i < a->nfree && a->free[i].off < off)
		i++;
	int rc;
	if ((i > 0 && a->free[i - 1].off + a->free[i - 1].len > off) ||
	    (i < a->nfree && off + len > a->free[i].off))
		rc = DNNQ_E_INVAL;	/* overlaps free space: double free */
	else
		rc = give_back(a, i, off, len);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

uint64_t dnnq_shm_arena_free_bytes(struct dnnq_shm_arena *a)
{
	uint64_t n = 0;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nfree; i++)
		n += a->free[i].len;
	pthread_mutex_unlock(&a->lock);
	return n;
}
