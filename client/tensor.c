/*
 * Tensors in the session's shared arena. The arena allocator
 * (shm/arena.c) hands out 64-byte aligned blocks by offset from private
 * bookkeeping; a struct dnnq_tensor records the block (offset, bytes) beside
 * its pointer, dtype and shape, which is all a request descriptor needs.
 * Sizes are overflow-checked, and a tensor is recognised as this client's
 * by its pointer and offset agreeing with this client's mapping.
 */
#include <string.h>

#include "client/client-internal.h"

int tensor_bytes(uint32_t dtype, uint32_t rank, const int64_t *dims, uint64_t *bytes)
{
	uint64_t n = dnnq_shm_dtype_size(dtype);
	if (!n)
		return DNNQ_E_DTYPE;
	if (rank < 1 || rank > DNNQ_SHM_MAX_RANK)
		return DNNQ_E_SHAPE;
	for (uint32_t k = 0; k < rank; k++) {
		if (dims[k] < 1)
			return DNNQ_E_SHAPE;
		if (__builtin_mul_overflow(n, (uint64_t)dims[k], &n))
			return DNNQ_E_RANGE;
	}
	*bytes = n;
	return 0;
}

bool tensor_in_arena(const struct dnnq_client *c, const struct dnnq_tensor *t)
{
	uint64_t size = c->view.arena_size;
	return t->offset % DNNQ_SHM_ALIGN == 0 && t->offset < size && t->bytes > 0 &&
	       t->bytes <= size - t->offset && t->data == c->view.arena + t->offset;
}

/* dnnq_tensor_alloc's words for what tensor_bytes refused (rc): the
 * argument and its range, by rc first (an overflow met before a later
 * dim under 1 is the overflow, as tensor_bytes found it). */
static int alloc_refused(int rc, uint32_t dtype, uint32_t rank, const int64_t *dims)
{
	if (rc == DNNQ_E_DTYPE)
		return client_errorf(rc, "dnnq_tensor_alloc: dtype %u: not a DNNQ_TYPE_*", dtype);
	if (rc == DNNQ_E_RANGE)
		return client_errorf(rc, "dnnq_tensor_alloc: the tensor's bytes (the dims' product"
		                     " times %u) are past 2^64", (unsigned)dnnq_shm_dtype_size(dtype));
	if (rank < 1 || rank > DNNQ_SHM_MAX_RANK)
		return client_errorf(rc, "dnnq_tensor_alloc: rank %u: 1..%u", rank, DNNQ_SHM_MAX_RANK);
	uint32_t k = 0;
	while (k < rank && dims[k] >= 1)
		k++;
	return client_errorf(rc, "dnnq_tensor_alloc: dims[%u] %lld: 1 or more", k,
	                     k < rank ? (long long)dims[k] : 0ll);
}

static int tensor_alloc_call(struct dnnq_client *c, enum dnnq_type dtype, uint32_t rank,
                             const int64_t *dims, struct dnnq_tensor *out)
{
	uint64_t bytes, off;
	if (out)
		memset(out, 0, sizeof *out);
	if (!out || !c || !dims)
		return client_errorf(DNNQ_E_INVAL, "dnnq_tensor_alloc: %s is NULL", !out ? "out"
		                     : !c ? "the client" : "dims");
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	int rc = tensor_bytes(dtype, rank, dims, &bytes);
	if (rc)
		return alloc_refused(rc, dtype, rank, dims);
	rc = dnnq_shm_arena_alloc(&c->arena, bytes, &off);
	/* the code's generic text is about an output buffer: say what is full */
	if (rc == DNNQ_E_NOSPACE)
		return client_errorf(rc, "a tensor of %llu bytes: no free block that large in"
		                     " the session's %llu-byte arena (free tensors no longer used, or"
		                     " connect with a larger arena_bytes)", (unsigned long long)bytes,
		                     (unsigned long long)c->arena.size);
	if (rc)
		return rc;
	out->data = c->view.arena + off;
	out->bytes = (size_t)bytes;
	out->dtype = dtype;
	out->rank = rank;
	memcpy(out->dims, dims, rank * sizeof *dims);
	out->offset = off;
	return 0;
}

int dnnq_tensor_alloc(struct dnnq_client *c, enum dnnq_type dtype, uint32_t rank,
                      const int64_t *dims, struct dnnq_tensor *out)
{
	return client_status(tensor_alloc_call(c, dtype, rank, dims, out), "dnnq_tensor_alloc");
}

static int tensor_alloc_io_call(struct dnnq_model *m, enum dnnq_io_kind kind, uint32_t i,
                                uint32_t batch, struct dnnq_tensor *out)
{
	static const char fn[] = "dnnq_tensor_alloc_io";
	struct dnnq_io_info io;
	if (!out)
		return client_errorf(DNNQ_E_INVAL, "%s: out is NULL", fn);
	memset(out, 0, sizeof *out);
	int rc = model_io_call(fn, m, kind, i, &io);
	if (rc)
		return rc;
	if (batch < 1 || batch > m->max_batch)
		return client_errorf(DNNQ_E_RANGE, "%s: model '%s' %s %u '%s': batch %u: 1..%u (the"
		                     " model's max_batch)", fn, m->name, kind == DNNQ_INPUT ? "input"
		                     : "output", i, io.name, batch, m->max_batch);
	io.dims[0] = batch;
	return tensor_alloc_call(m->client, io.dtype, io.rank, io.dims, out);
}

int dnnq_tensor_alloc_io(struct dnnq_model *m, enum dnnq_io_kind kind, uint32_t i,
                         uint32_t batch, struct dnnq_tensor *out)
{
	return client_status(tensor_alloc_io_call(m, kind, i, batch, out), "dnnq_tensor_alloc_io");
}

void dnnq_tensor_free(struct dnnq_client *c, struct dnnq_tensor *t)
{
	if (!c || !t || !t->data)
		return;
	if (tensor_in_arena(c, t))
		dnnq_shm_arena_free(&c->arena, t->offset, t->bytes);
	memset(t, 0, sizeof *t);
}
