/*
 * Session region slow paths: layout, initialisation, validating attach,
 * descriptor copy-and-validate, and the futex system calls.
 *
 * The rule for anything read from shared memory: copy it into private memory
 * once, validate the copy, use only the copy. dnnq_shm_attach does it for
 * the header (the view keeps private pointers and sizes), and
 * dnnq_shm_desc_copy_validate for a request descriptor. All size arithmetic
 * is overflow-checked with __builtin_*_overflow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm/dnnq_shm.h"

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static uint64_t ring_bytes(uint32_t capacity)
{
	return sizeof(struct dnnq_shm_ring_ctl) +
	       (uint64_t)capacity * sizeof(struct dnnq_shm_ring_cell);
}

int dnnq_shm_layout(uint32_t slots, uint64_t arena_bytes, struct dnnq_shm_layout *l)
{
	if (!l || slots == 0 || slots > DNNQ_SHM_MAX_SLOTS)
		return DNNQ_E_INVAL;
	if (arena_bytes == 0 || arena_bytes > DNNQ_SHM_MAX_ARENA)
		return DNNQ_E_NOMEM;
	/* The limits keep every sum far below 2^63; no overflow is possible. */
	memset(l, 0, sizeof *l);
	l->slot_count = slots;
	l->ring_capacity = pow2_at_least(slots);
	l->ring_off = align_up(sizeof(struct dnnq_shm_header), DNNQ_SHM_ALIGN);
	l->ring_size = ring_bytes(l->ring_capacity);
	l->slots_off = align_up(l->ring_off + l->ring_size, DNNQ_SHM_ALIGN);
	l->slots_size = (uint64_t)slots * sizeof(struct dnnq_shm_slot);
	l->arena_off = align_up(l->slots_off + l->slots_size, 4096);
	l->arena_size = align_up(arena_bytes, DNNQ_SHM_ALIGN);
	l->total_size = align_up(l->arena_off + l->arena_size, 4096);
	return 0;
}

int dnnq_shm_init(void *base, size_t size, const struct dnnq_shm_layout *l)
{
	if (!base || !l || (uintptr_t)base % DNNQ_SHM_ALIGN || size < l->total_size)
		return DNNQ_E_INVAL;
	uint8_t *b = base;
	memset(b, 0, l->arena_off);
	struct dnnq_shm_header *h = base;
	h->version_major = DNNQ_SHM_ABI_MAJOR;
	h->version_minor = DNNQ_SHM_ABI_MINOR;
	h->slot_count = l->slot_count;
	h->total_size = l->total_size;
	h->ring_off = l->ring_off;
	h->ring_size = l->ring_size;
	h->slots_off = l->slots_off;
	h->slots_size = l->slots_size;
	h->arena_off = l->arena_off;
	h->arena_size = l->arena_size;
	h->ring_capacity = l->ring_capacity;
	struct dnnq_shm_ring_cell *cells =
		(void *)(b + l->ring_off + sizeof(struct dnnq_shm_ring_ctl));
	for (uint32_t i = 0; i < l->ring_capacity; i++)
		cells[i].seq = i;
	/* Publishes the initialised region to threads of this process; other
	 * processes receive it through the socket after this returns. */
	dnnq_shm_store_release32(&h->magic, DNNQ_SHM_MAGIC);
	return 0;
}

/* One area [off, off + len) must lie inside [sizeof header, total). */
static int check_area(struct dnnq_diag *d, const char *name, uint64_t off,
                      uint64_t len, uint64_t total)
{
	uint64_t end;
	if (off % DNNQ_SHM_ALIGN)
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "%s_off %llu: not 64-byte aligned", name,
		            (unsigned long long)off);
	if (off < sizeof(struct dnnq_shm_header))
		return dnnq_diag_set(d, DNNQ_E_RANGE, "%s_off %llu: overlaps the header", name,
		            (unsigned long long)off);
	if (len == 0)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "%s_size: zero", name);
	if (__builtin_add_overflow(off, len, &end) || end > total)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "%s_off + %s_size: outside the mapping", name, name);
	return 0;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_header(const struct dnnq_shm_header *h, size_t size, struct dnnq_diag *d)
{
	if (h->magic != DNNQ_SHM_MAGIC)
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "magic 0x%08x: not a dnnq region", h->magic);
	if (h->version_major != DNNQ_SHM_ABI_MAJOR)
		return dnnq_diag_set(d, DNNQ_E_VERSION, "version_major %u: this build speaks %u",
		            h->version_major, DNNQ_SHM_ABI_MAJOR);
	if (h->total_size > size)
		return dnnq_diag_set(d, DNNQ_E_TRUNCATED, "total_size %llu: mapping has only %zu bytes",
		            (unsigned long long)h->total_size, size);
	if (h->slot_count == 0 || h->slot_count > DNNQ_SHM_MAX_SLOTS)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "slot_count %u: outside [1, %u]", h->slot_count,
		            DNNQ_SHM_MAX_SLOTS);
	uint32_t cap = h->ring_capacity;
	if (cap == 0 || (cap & (cap - 1)))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "ring_capacity %u: not a power of two", cap);
	if (cap < h->slot_count || cap > 2 * DNNQ_SHM_MAX_SLOTS)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "ring_capacity %u: must hold every slot", cap);
	int rc;
	if ((rc = check_area(d, "ring", h->ring_off, h->ring_size, h->total_size)) ||
	    (rc = check_area(d, "slots", h->slots_off, h->slots_size, h->total_size)) ||
	    (rc = check_area(d, "arena", h->arena_off, h->arena_size, h->total_size)))
		return rc;
	if (h->ring_size != ring_bytes(cap))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "ring_size %llu: ring_capacity %u needs %llu",
		            (unsigned long long)h->ring_size, cap,
		            (unsigned long long)ring_bytes(cap));
	if (h->slots_size != (uint64_t)h->slot_count * sizeof(struct dnnq_shm_slot))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "slots_size %llu: does not match slot_count %u",
		            (unsigned long long)h->slots_size, h->slot_count);
	if (h->arena_size % DNNQ_SHM_ALIGN || h->arena_size > DNNQ_SHM_MAX_ARENA)
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "arena_size %llu: not a multiple of 64 or too big",
		            (unsigned long long)h->arena_size);
	if (overlaps(h->ring_off, h->ring_size, h->slots_off, h->slots_size))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "ring_off/slots_off: areas overlap");
	if (overlaps(h->ring_off, h->ring_size, h->arena_off, h->arena_size))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "ring_off/arena_off: areas overlap");
	if (overlaps(h->slots_off, h->slots_size, h->arena_off, h->arena_size))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "slots_off/arena_off: areas overlap");
	return 0;
}

int dnnq_shm_attach(void *base, size_t size, struct dnnq_shm *v, struct dnnq_diag *d)
{
	struct dnnq_shm_header h;
	if (d)
		d->msg[0] = 0;
	if (!base || !v)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "base/view: NULL");
	if ((uintptr_t)base % DNNQ_SHM_ALIGN)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "base: mapping not 64-byte aligned");
	if (size < sizeof h)
		return dnnq_diag_set(d, DNNQ_E_TRUNCATED, "size %zu: smaller than the header", size);
	memcpy(&h, base, sizeof h);	/* read once; validate and use the copy */
	int rc = check_header(&h, size, d);
	if (rc)
		return rc;
	uint8_t *b = base;
	memset(v, 0, sizeof *v);
	v->base = b;
	v->size = size;
	v->hdr = base;
	v->ring = (void *)(b + h.ring_off);
	v->cells = (void *)(b + h.ring_off + sizeof(struct dnnq_shm_ring_ctl));
	v->ring_mask = h.ring_capacity - 1;
	v->slot_count = h.slot_count;
	v->slots = (void *)(b + h.slots_off);
	v->arena = b + h.arena_off;
	v->arena_size = h.arena_size;
	return 0;
}

size_t dnnq_shm_dtype_size(uint32_t dtype)
{
	switch (dtype) {
	case DNNQ_SHM_DTYPE_U8:
	case DNNQ_SHM_DTYPE_S8:  return 1;
	case DNNQ_SHM_DTYPE_S32:
	case DNNQ_SHM_DTYPE_F32: return 4;
	}
	return 0;
}

static int check_tensor(const struct dnnq_shm *v, const struct dnnq_shm_tensor *t,
                        unsigned i, struct dnnq_diag *d)
{
	uint64_t end, n;
	size_t es = dnnq_shm_dtype_size(t->dtype);
	if (!es)
		return dnnq_diag_set(d, DNNQ_E_DTYPE, "tensor[%u].dtype %u: unknown", i, t->dtype);
	if (t->rank > DNNQ_SHM_MAX_RANK)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].rank %u: above %u", i, t->rank,
		            DNNQ_SHM_MAX_RANK);
	if (t->offset % DNNQ_SHM_ALIGN)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "tensor[%u].offset %llu: not 64-byte aligned", i,
		            (unsigned long long)t->offset);
	if (t->offset >= v->arena_size)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "tensor[%u].offset %llu: outside the arena", i,
		            (unsigned long long)t->offset);
	if (__builtin_add_overflow(t->offset, t->bytes, &end))
		return dnnq_diag_set(d, DNNQ_E_RANGE, "tensor[%u].offset + bytes: overflows", i);
	if (end > v->arena_size)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "tensor[%u].bytes %llu: runs past the arena", i,
		            (unsigned long long)t->bytes);
	n = es;
	for (unsigned k = 0; k < t->rank; k++) {
		if (t->dims[k] < 0)
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].dims[%u] %lld: negative", i, k,
			            (long long)t->dims[k]);
		if (__builtin_mul_overflow(n, (uint64_t)t->dims[k], &n))
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].dims: element count overflows", i);
	}
	if (n != t->bytes)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].bytes %llu: dims and dtype need %llu", i,
		            (unsigned long long)t->bytes, (unsigned long long)n);
	return 0;
}

int dnnq_shm_request_validate(const struct dnnq_shm *v, const struct dnnq_shm_request *r,
                              struct dnnq_diag *d)
{
	if (d)
		d->msg[0] = 0;
	if (r->batch == 0 || r->batch > DNNQ_SHM_MAX_BATCH)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "batch %u: outside [1, %u]", r->batch,
		            DNNQ_SHM_MAX_BATCH);
	if (r->n_inputs == 0 || r->n_inputs > DNNQ_SHM_MAX_TENSORS)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "n_inputs %u: outside [1, %u]", r->n_inputs,
		            DNNQ_SHM_MAX_TENSORS);
	if (r->n_outputs == 0 || r->n_outputs > DNNQ_SHM_MAX_TENSORS - r->n_inputs)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "n_outputs %u: with n_inputs %u above %u tensors",
		            r->n_outputs, r->n_inputs, DNNQ_SHM_MAX_TENSORS);
	for (unsigned i = 0; i < r->n_inputs + r->n_outputs; i++) {
		int rc = check_tensor(v, &r->t[i], i, d);
		if (rc)
			return rc;
	}
	return 0;
}

uint64_t dnnq_shm_slot_submit_ns(const struct dnnq_shm *v, uint32_t slot)
{
	return __atomic_load_n(&v->slots[slot].submit_ns, __ATOMIC_RELAXED);
}

int dnnq_shm_desc_copy_validate(const struct dnnq_shm *v, uint32_t slot,
                                struct dnnq_shm_request *out, struct dnnq_diag *d)
{
	if (slot >= v->slot_count)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "slot %u: outside [0, %u)", slot, v->slot_count);
	/* The one read of the descriptor; a client may rewrite it right now,
	 * but from here on only the private copy is looked at. */
	memcpy(out, &v->slots[slot].req, sizeof *out);
	return dnnq_shm_request_validate(v, out, d);
}

int dnnq_shm_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (timeout_ns >= 0) {
		end.tv_sec = now.tv_sec + timeout_ns / 1000000000;
		end.tv_nsec = now.tv_nsec + timeout_ns % 1000000000;
		if (end.tv_nsec >= 1000000000) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000;
		}
	}
	while (dnnq_shm_load_acquire32(word) == expected) {
		struct timespec rel, *tp = NULL;
		if (timeout_ns >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			int64_t left = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 +
			               (end.tv_nsec - now.tv_nsec);
			if (left <= 0)
				return DNNQ_E_TIMEDOUT;
			rel.tv_sec = left / 1000000000;
			rel.tv_nsec = left % 1000000000;
			tp = &rel;
		}
		/* Shared futex: the word lives in a MAP_SHARED mapping. */
		if (syscall(SYS_futex, word, FUTEX_WAIT, expected, tp, NULL, 0) == 0)
			return 0;
		if (errno == ETIMEDOUT)
			return DNNQ_E_TIMEDOUT;
		if (errno != EAGAIN && errno != EINTR)
			return DNNQ_E_IO;
	}
	return 0;
}

int dnnq_shm_futex_wake(uint32_t *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
	return r < 0 ? DNNQ_E_IO : (int)r;
}

int dnnq_shm_futex_wake2(uint32_t *a, uint32_t *b)
{
	/* *b |= 0, then b's waiters woken when the old value >= 0 as an int:
	 * any state a client leaves there but a negative one, whose waiter
	 * wakes at its next slice anyway */
	long r = syscall(SYS_futex, a, FUTEX_WAKE_OP, INT_MAX, (void *)(uintptr_t)INT_MAX, b,
	                 FUTEX_OP(FUTEX_OP_OR, 0, FUTEX_OP_CMP_GE, 0));
	return r < 0 ? DNNQ_E_IO : (int)r;
}

void dnnq_shm_doorbell_ring(const struct dnnq_shm *v, int doorbell_fd)
{
	dnnq_shm_fence_seqcst();	/* pairs with the one in sleep_begin */
	if (dnnq_shm_load_relaxed32(&v->hdr->workers_sleeping)) {
		char one = 1;
		/* EAGAIN (queue full) still leaves it readable; MSG_NOSIGNAL: a
		 * daemon that died must not kill the client */
		if (send(doorbell_fd, &one, sizeof one, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return;
	}
}

bool dnnq_shm_ring_nonempty(const struct dnnq_shm *v)
{
	uint64_t pos = dnnq_shm_load_relaxed64(&v->ring->head);
	const struct dnnq_shm_ring_cell *c = &v->cells[pos & v->ring_mask];
	return dnnq_shm_load_acquire64(&c->seq) == pos + 1;
}

bool dnnq_shm_sleep_begin(const struct dnnq_shm *v)
{
	dnnq_shm_fetch_add_release32(&v->hdr->workers_sleeping, 1);
	dnnq_shm_fence_seqcst();	/* flag store before the ring re-check */
	return dnnq_shm_ring_nonempty(v);
}

void dnnq_shm_sleep_end(const struct dnnq_shm *v)
{
	dnnq_shm_fetch_add_release32(&v->hdr->workers_sleeping, UINT32_MAX);	/* -1 */
}

int dnnq_shm_slot_wait(const struct dnnq_shm *v, uint32_t slot, uint32_t while_state,
                       int64_t timeout_ns)
{
	if (slot >= v->slot_count)
		return DNNQ_E_RANGE;
	uint32_t *w = &v->slots[slot].waiters;
	dnnq_shm_fetch_add_release32(w, 1);
	dnnq_shm_fence_seqcst();	/* pairs with the daemon's before dnnq_shm_slot_sleeper */
	int rc = dnnq_shm_futex_wait(&v->slots[slot].state, while_state, timeout_ns);
	dnnq_shm_fetch_add_release32(w, UINT32_MAX);	/* -1 */
	return rc;
}
