/*
 * Waking a batch's clients (wake.h).
 *
 * The ring is the worker's own (no SQPOLL), so a futex wake submitted is
 * issued inline by io_uring_enter: the wakes are done when it returns, as
 * a futex call's are. IOSQE_CQE_SKIP_SUCCESS leaves no completion for a
 * wake that worked; one that failed posts one, reaped at once (so the
 * completion queue, twice the entries, never fills) and its word woken
 * again by FUTEX_WAKE: whatever the ring's error, no waiter sleeps to its
 * deadline for it (EFAULT, a word whose page is gone, fails that way too,
 * harmlessly). A submission that did not take
 * every wake leaves the ring for good: the rest could otherwise be
 * submitted later, naming words of requests long completed; every word
 * is then woken the old way (a second wake of a word is harmless: its
 * waiter checks the state it waits on). The old way's FUTEX_WAKE_OP fails
 * both of its words when either faults (EFAULT before it wakes anyone), so
 * a pair it fails is woken one word at a time. The words are in regions
 * the daemon maps and seals, held while a worker serves them, so none
 * faults today; the ring's claim holds on the old way too.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>

#include "daemon/wake.h"
#include "shm/dnnq_shm.h"

/* Linux 6.7's, newer than the headers of the distributions built on */
#define OP_FUTEX_WAKE 52
#define FUTEX2_SIZE_U32 0x02    /* and not FUTEX2_PRIVATE: the words are shared */

void dnnqd_wake_init(struct dnnqd_wake *k, unsigned entries)
{
	k->entries = entries;
	k->uring = false;
	if (io_uring_queue_init(entries, &k->ring, 0))
		return;
	struct io_uring_probe *p = io_uring_get_probe_ring(&k->ring);
	k->uring = p && io_uring_opcode_supported(p, OP_FUTEX_WAKE) &&
	           (k->ring.features & IORING_FEAT_CQE_SKIP);
	io_uring_free_probe(p);
	if (!k->uring)
		io_uring_queue_exit(&k->ring);
}

void dnnqd_wake_destroy(struct dnnqd_wake *k)
{
	if (k->uring)
		io_uring_queue_exit(&k->ring);
	k->uring = false;
}

/* All n words in one io_uring_enter; false when the ring did not take
 * them all (it is then gone). */
static bool wake_ring(struct dnnqd_wake *k, uint32_t *const *words, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		/* the ring is empty between calls and n <= entries */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&k->ring);
		io_uring_prep_rw(OP_FUTEX_WAKE, sqe, FUTEX2_SIZE_U32, words[i], 0, 0);
		sqe->addr2 = INT_MAX;                   /* the waiters to wake */
		sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
		io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
		io_uring_sqe_set_data64(sqe, i);
	}
	int rc = io_uring_submit(&k->ring);
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	io_uring_for_each_cqe(&k->ring, head, cqe) {
		if (cqe->user_data < n)
			dnnq_shm_futex_wake(words[cqe->user_data], INT32_MAX);
		seen++;
	}
	io_uring_cq_advance(&k->ring, seen);
	if (rc == (int)n)
		return true;
	dnnqd_wake_destroy(k);
	return false;
}

void dnnqd_wake_all(struct dnnqd_wake *k, uint32_t *const *words, unsigned n)
{
	/* two words are one FUTEX_WAKE_OP, one call either way */
	if (k->uring && n > 2 && n <= k->entries && wake_ring(k, words, n))
		return;
	/* FUTEX_WAKE_OP wakes neither word when either faults: each alone then */
	unsigned i = 0;
	for (; i + 1 < n; i += 2)
		if (dnnq_shm_futex_wake2(words[i], words[i + 1]) < 0) {
			dnnq_shm_futex_wake(words[i], INT32_MAX);
			dnnq_shm_futex_wake(words[i + 1], INT32_MAX);
		}
	if (i < n)
		dnnq_shm_futex_wake(words[i], INT32_MAX);
}
