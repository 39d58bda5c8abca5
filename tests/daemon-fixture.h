/*
 * tests/daemon-fixture.h — a dnnqd started and stopped inside a Check
 * test (tools/serve-fixture.h does the work): the one copy of what the
 * suites that start a daemon of their own all need.
 */
#ifndef DNNQ_TESTS_DAEMON_FIXTURE_H
#define DNNQ_TESTS_DAEMON_FIXTURE_H

#include <check.h>
#include <grp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* argv's stdout into out (NUL-terminated, cut at len - 1), run as uid
 * (-1: as we are); the wait status. */
static inline int test_run_as(const char *const *argv, long uid, char *out, size_t len)
{
	int p[2], status;
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if (uid >= 0 && (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid)))
			_exit(100);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t r;
	char sink[256];
	while ((r = read(p[0], got + 1 < len ? out + got : sink,
	                 got + 1 < len ? len - 1 - got : sizeof sink)) > 0)
		got += got + 1 < len ? (size_t)r : 0;
	out[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* One request of m at `batch` with zero inputs: its status. */
static inline int test_infer_zeros(struct dnnq_client *c, struct dnnq_model *m, uint32_t batch,
                                   int timeout_ms)
{
	uint32_t ni = dnnq_model_num_inputs(m), no = dnnq_model_num_outputs(m);
	struct dnnq_tensor t[FIXTURE_MAX_IO];
	struct dnnq_tensor *p[FIXTURE_MAX_IO];
	for (uint32_t i = 0; i < ni + no; i++) {
		int rc = dnnq_tensor_alloc_io(m, i < ni ? DNNQ_INPUT : DNNQ_OUTPUT, i < ni ? i : i - ni,
		                              batch, &t[i]);
		ck_assert_int_eq(rc, 0);
		memset(t[i].data, 0, t[i].bytes);
		p[i] = &t[i];
	}
	int rc = dnnq_infer(m, (const struct dnnq_tensor *const *)p, p + ni, timeout_ms);
	for (uint32_t i = 0; i < ni + no; i++)
		dnnq_tensor_free(c, &t[i]);
	return rc;
}

#endif
