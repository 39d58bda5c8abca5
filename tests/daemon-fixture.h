/*
 * tests/daemon-fixture.h — a dnnqd started and stopped inside a Check
 * test (tools/serve-fixture.h does the work): the one copy of what the
 * suites that start a daemon of their own all need.
 */
#ifndef DNNQ_TESTS_DAEMON_FIXTURE_H
#define DNNQ_TESTS_DAEMON_FIXTURE_H

#include <check.h>

#include "client/dnnq.h"
#include "tools/serve-fixture.h"

/* Configs naming the fixture models written beside them. */
#define TEST_YAML_RELU64 "models:\n  - name: relu64\n    path: relu64.dnnq\n"
#define TEST_YAML_BOTH TEST_YAML_RELU64 "  - name: fc1024\n    path: fc1024.dnnq\n"

/* dnnqd ($DNNQ_DNNQD) serving `models` (fixture bits) with extra
 * arguments; the test fails when it cannot start. */
static inline void test_daemon_start(struct fixture_daemon *d, unsigned models,
                                     const char *const *extra)
{
	struct dnnq_diag diag = { "" };
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD");
	int rc = fixture_daemon_start(d, bin, models, extra, &diag);
	ck_assert_msg(rc == 0, "%s", diag.msg);
}

/* SIGTERM: the test fails, with the log's tail, unless dnnqd exits 0. */
static inline void test_daemon_stop(struct fixture_daemon *d)
{
	struct dnnq_diag diag = { "" };
	char log[2048];
	int rc = fixture_daemon_stop(d, &diag);
	fixture_daemon_log(d, log, sizeof log);
	fixture_daemon_destroy(d);
	ck_assert_msg(rc == 0, "%s\n%s", diag.msg, log);
}

/* The generation OPEN gives for name, 0 when it is not served. */
static inline uint32_t test_generation(struct dnnq_client *c, const char *name)
{
	struct dnnq_model *m;
	if (dnnq_model_open(c, name, &m))
		return 0;
	uint32_t g = dnnq_model_generation(m);
	dnnq_model_close(m);
	return g;
}

#endif
