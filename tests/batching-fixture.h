/*
 * tests/batching-fixture.h — what the suites that test dynamic batching
 * share (test_batching.c, and the reload test in test_reload.c): a client
 * session with one request's tensors, and the model's MODEL_STATS, polled
 * until a partial batch holds the requests a test waits for.
 */
#ifndef DNNQ_TESTS_BATCHING_FIXTURE_H
#define DNNQ_TESTS_BATCHING_FIXTURE_H

#include <check.h>
#include <string.h>

#include "client/dnnq.h"
#include "tools/serve-fixture.h"

#define BATCH_WAIT_MS 60000     /* a condition not met by then will not be */

/* One session of its own (a client) and one request's tensors on it. */
struct party {
	struct dnnq_client *c;
	struct dnnq_model *m;
	uint32_t ni, no, batch;
	struct dnnq_tensor t[FIXTURE_MAX_IO];
	struct dnnq_tensor *p[FIXTURE_MAX_IO];
	struct dnnq_request req;
};

/* Connects, opens `model` and allocates its tensors at `batch` (inputs as
 * F32 when f32 and the model takes U8), inputs zero. */
static inline void party_open(struct party *p, const char *socket, const char *model,
                              uint32_t batch, bool f32)
{
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 4 << 20 };
	memset(p, 0, sizeof *p);
	p->batch = batch;
	int rc = dnnq_connect(socket, &o, &p->c);
	ck_assert_msg(rc == 0, "connect: %s", dnnq_strerror(rc));
	rc = dnnq_model_open(p->c, model, &p->m);
	ck_assert_msg(rc == 0, "open %s: %s", model, dnnq_strerror(rc));
	p->ni = dnnq_model_num_inputs(p->m);
	p->no = dnnq_model_num_outputs(p->m);
	for (uint32_t i = 0; i < p->ni + p->no; i++) {
		bool in = i < p->ni;
		rc = dnnq_tensor_alloc_io(p->m, in ? DNNQ_INPUT : DNNQ_OUTPUT, in ? i : i - p->ni,
		                          batch, &p->t[i]);
		ck_assert_int_eq(rc, 0);
		if (in && f32 && p->t[i].dtype == DNNQ_TYPE_U8) {
			struct dnnq_tensor u8 = p->t[i];
			rc = dnnq_tensor_alloc(p->c, DNNQ_TYPE_F32, u8.rank, u8.dims, &p->t[i]);
			ck_assert_int_eq(rc, 0);
			dnnq_tensor_free(p->c, &u8);
		}
		memset(p->t[i].data, 0, p->t[i].bytes);
		p->p[i] = &p->t[i];
	}
}

static inline void party_submit(struct party *p)
{
	int rc = dnnq_submit(p->m, (const struct dnnq_tensor *const *)p->p, p->p + p->ni,
	                     &p->req);
	ck_assert_msg(rc == 0, "submit: %s", dnnq_strerror(rc));
}

/* The request's status. */
static inline int party_wait(struct party *p)
{
	return dnnq_wait(&p->req, BATCH_WAIT_MS);
}

static inline void party_close(struct party *p)
{
	for (uint32_t i = 0; i < p->ni + p->no; i++)
		dnnq_tensor_free(p->c, &p->t[i]);
	dnnq_model_close(p->m);
	dnnq_close(p->c);
}

/* The MODEL_STATS of `model`, found by name. */
static inline void batching_stats(struct dnnq_client *c, const char *model,
                                  struct dnnq_model_stats *st)
{
	for (uint32_t i = 0; dnnq_model_stats(c, i, st) == 0; i++)
		if (!strcmp(st->name, model))
			return;
	ck_abort_msg("no MODEL_STATS for '%s'", model);
}

/* Until `n` requests of `model` wait in a partial batch (the gauge). */
static inline void batching_wait_held(struct dnnq_client *c, const char *model, uint64_t n)
{
	struct dnnq_model_stats st;
	for (int t = 0; t < BATCH_WAIT_MS / 2; t++) {
		batching_stats(c, model, &st);
		if (st.waiting >= n)
			return;
		fixture_sleep_ms(2);
	}
	ck_abort_msg("'%s': %llu requests waiting, not %llu", model,
	             (unsigned long long)st.waiting, (unsigned long long)n);
}

#endif
