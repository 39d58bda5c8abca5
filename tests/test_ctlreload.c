/*
 * RELOAD and MODEL_STATS over the control socket (suite ctlreload): dnnq_reload and
 * `dnnqctl reload` against a real dnnqd ($DNNQ_DNNQD, $DNNQ_DNNQCTL) run
 * on a config file.
 *
 * dnnqd also reloads by itself when a watched file changes (inotify on
 * the directories of the config and the model files). So that only the
 * RELOAD request reloads here, the files the daemon reads are hard links
 * to files in a second, unwatched directory, and the tests rewrite them
 * in place there: the daemon sees the new contents (its file identity,
 * size and times, changes) but no event in the directories it watches.
 *
 * Per-model stats (MODEL_STATS, dnnq_model_stats, dnnqctl status) are
 * checked on the same daemon: N requests of batch B and F refused ones.
 *
 * The uid 65534 case needs root (setuid); it is skipped otherwise.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "tests/daemon-fixture.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define NOBODY 65534
#define WAIT_MS 60000

struct dirs {
	char conf[256], shadow[256];    /* watched by dnnqd; not */
	char yaml[300];                 /* conf/dnnqd.yaml */
};

static void make_dir(char *dir, size_t len, const char *what)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, len, "%s/ctlreload-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
}

/* shadow/name rewritten in place with len bytes of buf. */
static void rewrite(const struct dirs *ds, const char *name, const void *buf, size_t len)
{
	char path[320];
	snprintf(path, sizeof path, "%s/%s", ds->shadow, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* The bytes of the fixture's model m (malloc'd). */
static void *model_bytes(int m, size_t *len)
{
	char path[320];
	struct dnnq_diag d = { "" };
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(path, sizeof path, "%s/ctlreload-%d-%d.dnnq", tmp && *tmp ? tmp : "/tmp",
	         (int)getpid(), m);
	ck_assert_msg(fixture_model_write(m, path, &d) == 0, "%s", d.msg);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	void *buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	*len = (size_t)n;
	return buf;
}

static void put_model(const struct dirs *ds, const char *name, int m)
{
	size_t len;
	void *buf = model_bytes(m, &len);
	rewrite(ds, name, buf, len);
	free(buf);
}

static const char both_models[] = TEST_YAML_BOTH;
static const char relu_only[] = TEST_YAML_RELU64;

/* conf/NAME a hard link to shadow/NAME, for each. */
static void link_all(const struct dirs *ds)
{
	static const char *const names[] = { "relu64.dnnq", "fc1024.dnnq", "dnnqd.yaml" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char from[320], to[320];
		snprintf(from, sizeof from, "%s/%s", ds->shadow, names[i]);
		snprintf(to, sizeof to, "%s/%s", ds->conf, names[i]);
		ck_assert_msg(link(from, to) == 0, "link %s: %s", to, strerror(errno));
	}
}

static void start(struct dirs *ds, struct fixture_daemon *d)
{
	make_dir(ds->conf, sizeof ds->conf, "conf");
	make_dir(ds->shadow, sizeof ds->shadow, "shadow");
	snprintf(ds->yaml, sizeof ds->yaml, "%s/dnnqd.yaml", ds->conf);
	put_model(ds, "relu64.dnnq", FIXTURE_RELU64);
	put_model(ds, "fc1024.dnnq", FIXTURE_FC1024);
	rewrite(ds, "dnnqd.yaml", both_models, strlen(both_models));
	link_all(ds);
	const char *extra[] = { "--config", ds->yaml, "--allow-uid", "65534", NULL };
	test_daemon_start(d, 0, extra);
}

static struct dnnq_client *connect_to(const char *socket)
{
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 2, .arena_bytes = 1 << 20,
	                               .timeout_ms = WAIT_MS };
	int rc = dnnq_connect(socket, &o, &c);
	ck_assert_msg(rc == 0, "connect: %s", dnnq_last_error());
	return c;
}

/* The entry of r for name, or NULL. */
static const struct dnnq_reload_model *listed(const struct dnnq_reload_result *r,
                                              const char *name)
{
	for (uint32_t i = 0; i < r->n_listed; i++)
		if (!strcmp(r->models[i].name, name))
			return &r->models[i];
	return NULL;
}


/* `dnnqctl --socket SOCKET args...` (tests/test_serve.c): its stdout into
 * out; the wait status. */
int serve_run_ctl(const struct fixture_daemon *d, const char *const *args, char *out,
                  size_t len);

static void expect_in(const char *s, const char *part)
{
	ck_assert_msg(strstr(s, part), "'%s' does not say '%s'", s, part);
}

/* serve_run_ctl, which must exit with `code`. */
static void ctl_exits(const struct fixture_daemon *d, const char *const *args, int code,
                      char *out, size_t len)
{
	int st = serve_run_ctl(d, args, out, len);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == code, "dnnqctl %s: wait status %#x: %s",
	              args[0], st, out);
}

/* ---- changed, removed, broken, through the API ---------------------------- */

START_TEST(reload_reports_changes)
{
	struct dirs ds;
	struct fixture_daemon d;
	struct dnnq_reload_result r;
	start(&ds, &d);
	struct dnnq_client *c = connect_to(d.socket);
	ck_assert_uint_eq(test_generation(c, "relu64"), 1);

	/* nothing changed */
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.added + r.changed + r.removed, 0);
	ck_assert_uint_eq(r.served, 2);
	ck_assert_uint_ge(r.reloads, 1);

	/* relu64's file rewritten (with other contents): changed */
	put_model(&ds, "relu64.dnnq", FIXTURE_FC1024);
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_uint_eq(r.changed, 1);
	ck_assert_uint_eq(r.added, 0);
	ck_assert_uint_eq(r.removed, 0);
	const struct dnnq_reload_model *e = listed(&r, "relu64");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->change, DNNQ_RELOAD_CHANGED);
	ck_assert_uint_eq(e->generation, 2);
	ck_assert_uint_eq(test_generation(c, "relu64"), 2);

	/* fc1024 out of the config: removed */
	rewrite(&ds, "dnnqd.yaml", relu_only, strlen(relu_only));
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_uint_eq(r.removed, 1);
	ck_assert_uint_eq(r.changed + r.added, 0);
	ck_assert_uint_eq(r.served, 1);
	e = listed(&r, "fc1024");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->change, DNNQ_RELOAD_REMOVED);
	ck_assert_uint_eq(test_generation(c, "fc1024"), 0);

	/* and back: added */
	rewrite(&ds, "dnnqd.yaml", both_models, strlen(both_models));
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_uint_eq(r.added, 1);
	ck_assert_uint_eq(listed(&r, "fc1024")->change, DNNQ_RELOAD_ADDED);

	/* a broken file: the error, nothing changed, still served */
	rewrite(&ds, "relu64.dnnq", "not a model", 11);
	int rc = dnnq_reload(c, &r);
	ck_assert_int_ne(rc, 0);
	ck_assert_int_eq(r.status, rc);
	expect_in(r.message, "relu64.dnnq");
	expect_in(dnnq_last_error(), "relu64.dnnq");
	ck_assert_uint_eq(r.added + r.changed + r.removed, 0);
	ck_assert_uint_eq(r.served, 2);
	ck_assert_uint_eq(test_generation(c, "relu64"), 2);

	/* dnnqctl: the failure (exit 1, the text), then a good one in JSON */
	char out[4096];
	ctl_exits(&d, (const char *const[]){ "reload", NULL }, 1, out, sizeof out);
	expect_in(out, "reload failed");
	expect_in(out, "relu64.dnnq");
	put_model(&ds, "relu64.dnnq", FIXTURE_RELU64);
	ctl_exits(&d, (const char *const[]){ "reload", "--json", NULL }, 0, out, sizeof out);
	expect_in(out, "\"ok\":true");
	expect_in(out, "\"changed\":1");
	expect_in(out, "{\"name\":\"relu64\",\"change\":\"changed\",\"generation\":3}");
	put_model(&ds, "relu64.dnnq", FIXTURE_FC1024);
	ctl_exits(&d, (const char *const[]){ "reload", NULL }, 0, out, sizeof out);
	expect_in(out, "1 changed");
	expect_in(out, "relu64 (generation 4)");

	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* A program linked before 0.5 calls dnnq_model_stats@DNNQ_CLIENT_1.2 with
 * the struct that ended before queued, one linked before 0.6
 * dnnq_model_stats@DNNQ_CLIENT_1.4 with the one that ended before runs:
 * the shared library (beside this test binary, BUILD/lib) fills that much
 * of it, the same figures, and not a byte more. */
static void old_model_stats(const char *socket, const struct dnnq_model_stats *now,
                            const char *version, size_t size_old)
{
	char exe[4096], lib[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(lib, sizeof lib, "%s/../lib/libdnnq-client.so.1", exe);
	void *so = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(so, "%s", dlerror());
	int (*conn)(const char *, const struct dnnq_connect_opts *, struct dnnq_client **) =
		(int (*)(const char *, const struct dnnq_connect_opts *, struct dnnq_client **))
		dlsym(so, "dnnq_connect");
	void (*close_)(struct dnnq_client *) = (void (*)(struct dnnq_client *))dlsym(so, "dnnq_close");
	int (*old)(struct dnnq_client *, uint32_t, void *) =
		(int (*)(struct dnnq_client *, uint32_t, void *))dlvsym(so, "dnnq_model_stats",
		                                                       version);
	ck_assert(conn && close_ && old);
	ck_assert_ptr_ne((void *)old, dlsym(so, "dnnq_model_stats"));
	struct dnnq_client *c;
	ck_assert_int_eq(conn(socket, NULL, &c), 0);
	unsigned char buf[sizeof(struct dnnq_model_stats) + 16];
	memset(buf, 0xa5, sizeof buf);
	ck_assert_int_eq(old(c, 0, buf), 0);
	for (size_t i = size_old; i < sizeof buf; i++)
		ck_assert_msg(buf[i] == 0xa5, "byte %zu past the %s struct written", i, version);
	struct dnnq_model_stats got;
	memcpy(&got, buf, size_old);
	ck_assert_str_eq(got.name, now->name);
	ck_assert_uint_eq(got.requests, now->requests);
	ck_assert_uint_eq(got.samples, now->samples);
	close_(c);
	dlclose(so);
}

/* ---- per-model stats ------------------------------------------------------ */

START_TEST(model_stats_count)
{
	enum { N = 7, B = 3, F = 2 };
	struct dirs ds;
	struct fixture_daemon d;
	struct dnnq_reload_result r;
	struct dnnq_model_stats st;
	struct dnnq_model *m;
	start(&ds, &d);
	struct dnnq_client *c = connect_to(d.socket);
	ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(test_infer_zeros(c, m, B, WAIT_MS), 0);
	/* failures: relu64 gets another signature; the old handle's requests
	 * are refused by the daemon (DNNQ_E_MODEL_CHANGED) */
	put_model(&ds, "relu64.dnnq", FIXTURE_FC1024);
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_uint_eq(r.changed, 1);
	for (int i = 0; i < F; i++)
		ck_assert_int_eq(test_infer_zeros(c, m, B, WAIT_MS), DNNQ_E_MODEL_CHANGED);
	dnnq_model_close(m);

	ck_assert_msg(dnnq_model_stats(c, 0, &st) == 0, "%s", dnnq_last_error());
	ck_assert_str_eq(st.name, "relu64");
	ck_assert_uint_eq(st.generation, 2);
	ck_assert_uint_eq(st.models, 2);
	ck_assert_uint_eq(st.requests, N + F);
	ck_assert_uint_eq(st.failures, F);
	ck_assert_uint_eq(st.samples, N * B);
	ck_assert_uint_gt(st.run_ns, 0);
	/* this library stamps every request: each one's wait was measured */
	ck_assert_uint_eq(st.queued, N + F);
	ck_assert_uint_gt(st.queue_ns, 0);
	old_model_stats(d.socket, &st, "DNNQ_CLIENT_1.2", offsetof(struct dnnq_model_stats, queued));
	old_model_stats(d.socket, &st, "DNNQ_CLIENT_1.4", offsetof(struct dnnq_model_stats, runs));
	uint64_t sum = 0;
	for (int b = 0; b < DNNQ_LATENCY_BUCKETS; b++)
		sum += st.latency[b];
	ck_assert_uint_eq(sum, N + F);
	ck_assert_msg(dnnq_model_stats(c, 1, &st) == 0, "%s", dnnq_last_error());
	ck_assert_str_eq(st.name, "fc1024");
	ck_assert_uint_eq(st.requests, 0);
	ck_assert_int_eq(dnnq_model_stats(c, 2, &st), DNNQ_E_NOTFOUND);

	char out[8192];
	ctl_exits(&d, (const char *const[]){ "status", "--json", NULL }, 0, out, sizeof out);
	expect_in(out, "\"model_stats\":[{\"name\":\"relu64\",\"generation\":2,"
	          "\"requests\":9,\"failures\":2,\"samples\":21,");
	expect_in(out, "{\"le_us\":null,\"count\":");
	ck_assert_msg(out[strlen(out) - 2] == '}', "%s", out);
	ctl_exits(&d, (const char *const[]){ "status", NULL }, 0, out, sizeof out);
	expect_in(out, "latency (run, us)");
	expect_in(out, "fc1024");
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* ---- not for other uids -------------------------------------------------- */

/* As uid 65534: a session (allowed: --allow-uid), then RELOAD and
 * MODEL_STATS. Exit 0 when both were refused with DNNQ_E_PERM (RELOAD
 * with a message). */
static int nobody_reloads(const char *socket)
{
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 2, .arena_bytes = 1 << 20 };
	if (dnnq_connect(socket, &o, &c))
		return 10;
	struct dnnq_reload_result r;
	struct dnnq_model_stats st;
	int rc = dnnq_reload(c, &r);
	int ok = rc == DNNQ_E_PERM && strstr(dnnq_last_error(), "only root") ? 0 : 11;
	/* per-model figures are the daemon's (no access.public_stats here) */
	if (!ok && dnnq_model_stats(c, 0, &st) != DNNQ_E_PERM)
		ok = 12;
	dnnq_close(c);
	return ok;
}

START_TEST(reload_not_for_others)
{
	if (geteuid() != 0) {
		printf("ctlreload: uid %d refused: skipped (not root)\n", NOBODY);
		return;
	}
	struct dirs ds;
	struct fixture_daemon d;
	start(&ds, &d);
	char parent[sizeof d.dir];
	snprintf(parent, sizeof parent, "%s", d.dir);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	*strrchr(parent, '/') = 0;
	ck_assert_int_eq(chmod(parent, 0755), 0);
	ck_assert_int_eq(chmod(d.socket, 0666), 0);
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(nobody_reloads(d.socket));
	}
	int st = fixture_wait(pid, WAIT_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uid %d child: wait status %#x",
	              NOBODY, st);
	test_daemon_stop(&d);
}
END_TEST

Suite *suite_ctlreload(void)
{
	Suite *s = suite_create("ctlreload");
	TCase *tc = tcase_create("ctlreload");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, reload_reports_changes);
	tcase_add_test(tc, reload_not_for_others);
	tcase_add_test(tc, model_stats_count);
	suite_add_tcase(s, tc);
	return s;
}
