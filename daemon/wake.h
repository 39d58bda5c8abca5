/*
 * daemon/wake.h — waking the clients of a batch in one system call.
 *
 * A batch's members are published first and their sleeping clients woken
 * after (worker.c). Each wake is a system call whose return is where a
 * client woken onto this CPU preempts the worker, so the worker is
 * switched out and back in once per call, not once per client: one call
 * for the whole batch is one preemption. FUTEX_WAKE_OP wakes two futex
 * words at most; io_uring's IORING_OP_FUTEX_WAKE (Linux 6.7) wakes any
 * number, one submission each, in one io_uring_enter. Where io_uring or
 * the opcode is missing (Debian 12's 6.1, a seccomp filter,
 * kernel.io_uring_disabled) or the ring fails, the words are woken two per
 * FUTEX_WAKE_OP.
 */
#ifndef DNNQ_DAEMON_WAKE_H
#define DNNQ_DAEMON_WAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

struct dnnqd_wake {
	struct io_uring ring;
	unsigned entries;               /* words one call wakes through it at most */
	bool uring;                     /* the ring is set up and wakes futexes */
};

/* Sets the ring up for batches of up to entries words if the kernel can
 * wake futexes through one; never fails (without it, dnnqd_wake_all uses
 * FUTEX_WAKE_OP). */
void dnnqd_wake_init(struct dnnqd_wake *k, unsigned entries);
void dnnqd_wake_destroy(struct dnnqd_wake *k);

/* Wakes every waiter of each of the n futex words (shared ones: they are
 * in clients' regions). */
void dnnqd_wake_all(struct dnnqd_wake *k, uint32_t *const *words, unsigned n);

#endif
