/*
 * Memory ordering for the shared session region: the only place in dnnq/shm
 * that names an ordering. Every access to a word another process may touch
 * at the same time goes through one of these wrappers over the __atomic
 * builtins, so a reader can audit the protocol by grepping for them instead
 * of hunting for scattered barriers (docs/shm.md lists the pairings).
 */
#ifndef DNNQ_SHM_ATOMIC_H
#define DNNQ_SHM_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

static inline uint32_t dnnq_shm_load_relaxed32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint32_t dnnq_shm_load_acquire32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t dnnq_shm_load_relaxed64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint64_t dnnq_shm_load_acquire64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void dnnq_shm_store_relaxed32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void dnnq_shm_store_release32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void dnnq_shm_store_relaxed_s32(int32_t *p, int32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline int32_t dnnq_shm_load_relaxed_s32(const int32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void dnnq_shm_store_release64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Strong CAS; on failure *expected receives the current value. */
static inline bool dnnq_shm_cas_acqrel32(uint32_t *p, uint32_t *expected, uint32_t desired)
{
	return __atomic_compare_exchange_n(p, expected, desired, false,
	                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Claims a ring position; the cell's sequence word carries the ordering. */
static inline bool dnnq_shm_cas_relaxed64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange_n(p, expected, desired, true,
	                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static inline uint32_t dnnq_shm_fetch_add_release32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELEASE);
}

static inline uint64_t dnnq_shm_fetch_add_release64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELEASE);
}

/* Store-load ordering for the sleeping-flag / doorbell handshake. */
static inline void dnnq_shm_fence_seqcst(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
