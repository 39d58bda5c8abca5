/*
 * A fake dnnqd for the client tests: one listening socket in a temporary
 * directory, a control thread that speaks shm/dnnq_proto.h (a real region
 * made with dnnq_shm_layout/dnnq_shm_init in a sealed memfd, real
 * sockets) and a worker thread that serves the ring. Knobs let a test make
 * it misbehave: a malformed HELLO or MODEL reply, a paused worker, a
 * stopped heartbeat, a slow STATS reply, MODEL_STATS failing after its
 * first model, answers to every model index, a flood of completion bytes,
 * or a sudden death; or, seeded,
 * mutate every reply of a session (the good one recorded, then bits,
 * fields at their edges, lengths, the fds) and what it shares with the
 * client (the region header, the completions' statuses, the slots' state
 * and waiters words).
 *
 * It serves three models:
 *   "double" (id 7, gen 3): x F32 [N, 4] -> y F32 [N, 4], y = 2x; max batch 8
 *   "quant"  (id 9, gen 1): img U8 [N, 2, 2] (scale 0.5, zp 10) -> probs U8
 *            [N, 3] (scale 0.25, zp 0), each row {0, 200, 0}; max batch 4
 *   "stale"  (id 11, gen 1): like "double", every request fails with
 *            DNNQ_E_MODEL_CHANGED
 * Sessions are served one after another: once the client hangs up the
 * daemon cleans up and accepts the next.
 */
#ifndef DNNQ_TESTS_FAKEDAEMON_H
#define DNNQ_TESTS_FAKEDAEMON_H

#include <pthread.h>
#include <stdint.h>

#include "shm/dnnq_shm.h"
#include "tests/rng.h"

enum fake_hello_fault {
	FAKE_HELLO_OK,
	FAKE_HELLO_SHORT,	/* 20 bytes */
	FAKE_HELLO_LONG,	/* one byte more than the struct */
	FAKE_HELLO_TYPE,	/* type OPEN */
	FAKE_HELLO_SEQ,		/* seq + 1 */
	FAKE_HELLO_MAGIC,
	FAKE_HELLO_VERSION,	/* protocol version + 1 */
	FAKE_HELLO_NO_FDS,
	FAKE_HELLO_TWO_FDS,
	FAKE_HELLO_FOUR_FDS,
	FAKE_HELLO_BIG_REGION,	/* region_size > the memfd's size */
	FAKE_HELLO_CORRUPT,	/* the region header's magic broken */
	FAKE_HELLO_UNSEALED,	/* the memfd may shrink */
	FAKE_HELLO_MESSAGE,	/* message not NUL-terminated */
	FAKE_HELLO_ABI,		/* abi_major + 1 */
	FAKE_HELLO_PERM,	/* status DNNQ_E_PERM, with fds all the same */
	FAKE_HELLO_SMALL,	/* fewer slots than asked for */
	FAKE_HELLO_HDR_ONLY,	/* an error reply of only a header */
	FAKE_HELLO_HANGUP,	/* closes without answering */
	FAKE_HELLO_SILENT,	/* never answers */
	FAKE_HELLO_EMPTY_FD,	/* an empty packet carrying an eventfd first */
	FAKE_HELLO_ESCAPE,	/* DNNQ_E_PERM, the message with ESC [ 2 J and a newline */
	FAKE_HELLO_PIPE_FDS,	/* a pipe's ends for the doorbell and completion ends */
	FAKE_HELLO_STREAM_FD,	/* a stream socket for the completion end */
	FAKE_HELLO_HUGETLB,	/* the region's bytes in a sealed hugetlbfs memfd */
	FAKE_HELLO_WRITE_SEALED,	/* the memfd sealed against writing too */
	FAKE_HELLO_NFAULTS
};

enum fake_model_fault {
	FAKE_MODEL_OK,
	FAKE_MODEL_NAME,	/* a tensor name without NUL */
	FAKE_MODEL_NO_INPUTS,
	FAKE_MODEL_TOO_MANY,	/* 15 inputs + 2 outputs */
	FAKE_MODEL_DTYPE,	/* S32 in a signature */
	FAKE_MODEL_RANK,	/* rank 9 */
	FAKE_MODEL_BATCH_DIM,	/* dims[0] = 2 */
	FAKE_MODEL_MAX_BATCH,	/* 0 */
	FAKE_MODEL_SCALE,	/* NaN scale on a U8 tensor */
	FAKE_MODEL_SHORT,	/* one byte short */
	FAKE_MODEL_HDR_ONLY,	/* status 0 in a bare header */
	FAKE_MODEL_SEQ,		/* seq + 1 */
	FAKE_MODEL_ESCAPE,	/* a tensor name with ESC [ 2 J and a newline */
	FAKE_MODEL_NFAULTS
};

struct fake_daemon {
	char dir[64], path[128];
	int listen_fd;
	pthread_t ctl, worker;

	/* Knobs: set them with __atomic stores (or before the session). */
	int hello_fault;	/* enum fake_hello_fault */
	int model_fault;	/* enum fake_model_fault, for the next MODEL replies */
	int paused;		/* the worker leaves the ring alone */
	int beat;		/* the heartbeat moves (default 1) */
	int stats_delay_ms;	/* STATS is answered this late */
	int stats_copies;	/* then its reply sent this many times more: late
				   answers, whose seq every later request passed */
	int model_hold;		/* OPEN and INFO are answered once this is 0 again */
	int late_sent;		/* set once such copies, or a held MODEL reply,
				   have been sent */
	int model_stats_fail;	/* MODEL_STATS answered for model 0, failed (DNNQ_E_IO) past it;
				   0: the type unknown (DNNQ_E_PROTO), a dnnqd without it */
	int flood;		/* the worker sends completion bytes without a pause */
	int blocking;		/* the worker clears O_NONBLOCK on the client's completion
				   end (the fake keeps it: one open file) before each
				   completion byte */
	uint32_t endless;	/* nonzero: INFO and MODEL_STATS answer every index
				 * (as model index % 3), claiming index + endless
				 * models */
	int killed;		/* dead: socket closed, no beat, no work */
	uint64_t mutate_seed;	/* nonzero: the next sessions' replies mutated */
	int stop;

	/* The current session (the control thread's, readable once ready). */
	int conn, memfd;
	int doorbell[2], event[2];	/* socketpairs: [0] ours, [1] the client's */
	void *base;
	size_t size;
	struct dnnq_shm view;
	int ready;		/* view is attached and served */
	uint32_t hello_slots;
	uint64_t hello_arena;
	struct rng mut, wmut;	/* the control thread's and the worker's, s 0: off */

	/* What the worker did, for the tests to check (atomics). */
	uint64_t served;
	uint64_t doorbells;	/* doorbell reads that found bytes */
	uint64_t sessions_ended;
	pthread_mutex_t lock;	/* guards last */
	struct dnnq_shm_request last;	/* the last descriptor served */
};

/* Starts it listening at fd->path, in a new directory under /tmp; returns
 * 0 or -1. */
int fake_daemon_start(struct fake_daemon *fd);
/* The same, the directory made under base. */
int fake_daemon_start_in(struct fake_daemon *fd, const char *base);
/* A sudden death: the session socket closes, the heartbeat and the worker
 * stop (the region stays mapped, as in a real crash seen from the client). */
void fake_daemon_kill(struct fake_daemon *fd);
void fake_daemon_stop(struct fake_daemon *fd);
/* Waits up to 2 s for sessions_ended to reach n; 0 or -1. */
int fake_daemon_wait_ended(struct fake_daemon *fd, uint64_t n);

#endif
