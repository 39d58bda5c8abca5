/*
 * daemon/reserve.h — how long a session counts as active after its last
 * request finished: the reserve's window (worker.c's top comment,
 * docs/serving.md "The reserve"), learned from the session's own gaps.
 *
 * A session's gaps are the times from the end of its last request to the
 * submit of its next one, counted when it had none running (worker.c
 * note_gap: a wait for a worker is no gap): the last
 * DNNQD_RESERVE_GAPS of them, each in units of 2^16 ns (65.5 µs,
 * saturating at 4.3 s), packed in one 64-bit word, the newest in the low
 * bits (0 until there are that many). The window is 3/2 of their upper
 * median (the second longest of four: one short gap, a burst, does not
 * shorten it, nor one long one, a pause, lengthen it) when that fits in the operator's cap
 * (workers.reserve_max_ms), else the floor, DNNQD_RESERVE_MIN_NS: a
 * client with a steady cadence is active between its requests, and the
 * worker held back for it is there when its next request comes; one
 * whose gaps are longer than the cap, or irregular past it, would only
 * cost the others an idle worker for the whole cap and still find it
 * taken often, so it gets the floor (10 ms, the fixed window of before).
 * Pure functions of their arguments: the tests call them with made-up
 * gaps (suite daemon, reserve_window).
 */
#ifndef DNNQ_DAEMON_RESERVE_H
#define DNNQ_DAEMON_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

#define DNNQD_RESERVE_MIN_NS 10000000ull  /* the floor: every session's window */
#define DNNQD_RESERVE_GAPS 4
#define DNNQD_RESERVE_UNIT_SHIFT 16       /* a gap's unit: 2^16 ns */

/* gaps (a packed word) with gap_ns added as the newest. */
static inline uint64_t dnnqd_reserve_note(uint64_t gaps, uint64_t gap_ns)
{
	uint64_t g = gap_ns >> DNNQD_RESERVE_UNIT_SHIFT;
	return gaps << 16 | (g < 0xffff ? g : 0xffff);
}

/* The window of a session with these gaps, in ns, under cap_ns. */
static inline uint64_t dnnqd_reserve_window(uint64_t gaps, uint64_t cap_ns)
{
	uint64_t top = 0, second = 0;
	for (unsigned i = 0; i < DNNQD_RESERVE_GAPS; i++) {
		uint64_t g = gaps >> (16 * i) & 0xffff;
		if (g > top) {
			second = top;
			top = g;
		} else if (g > second) {
			second = g;
		}
	}
	uint64_t w = (second << DNNQD_RESERVE_UNIT_SHIFT) * 3 / 2;
	return w > DNNQD_RESERVE_MIN_NS && w <= cap_ns ? w : DNNQD_RESERVE_MIN_NS;
}

/* Whether a session whose last request ended at active_ns (0: none has)
 * is still active at now, both on the one clock: within its window. An
 * end after now (stamped by another worker since this one read the clock,
 * the clock's tick between the two) is within it: now - active_ns wrapped
 * to ~2^64, and the session just served counted as idle. */
static inline bool dnnqd_reserve_active(uint64_t now, uint64_t active_ns, uint64_t gaps,
                                        uint64_t cap_ns)
{
	return active_ns && (active_ns >= now || now - active_ns < dnnqd_reserve_window(gaps, cap_ns));
}

#endif
