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
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "engine/crc32c.h"
#include "tests/daemon-fixture.h"
#include "tests/rng.h"
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
	/* and where the config names that file: FILE:LINE:COL: KEY */
	char where[400];
	snprintf(where, sizeof where, "%s:3:11: models[0].path: model relu64: ", ds.yaml);
	ck_assert_msg(!strncmp(r.message, where, strlen(where)), "'%s' does not start '%s'",
	              r.message, where);
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
	ck_assert_ptr_null(strstr(out, "nothing changed"));
	/* a failure longer than the reply holds: cut, and said where the rest is */
	char longer[600];
	snprintf(longer, sizeof longer, "models:\n  - name: relu64\n    path: %0240d.dnnq\n", 0);
	rewrite(&ds, "dnnqd.yaml", longer, strlen(longer));
	ctl_exits(&d, (const char *const[]){ "reload", NULL }, 1, out, sizeof out);
	expect_in(out, "... (cut short: dnnqd's log has the whole line)\n  nothing changed: 2");
	ctl_exits(&d, (const char *const[]){ "status", NULL }, 0, out, sizeof out);
	expect_in(out, "... (cut short: dnnqd's log has the whole line)\n");
	rewrite(&ds, "dnnqd.yaml", both_models, strlen(both_models));
	ctl_exits(&d, (const char *const[]){ "reload", NULL }, 0, out, sizeof out);
	/* again: nothing to do, and where a change may have gone */
	ctl_exits(&d, (const char *const[]){ "reload", NULL }, 0, out, sizeof out);
	expect_in(out, "reloaded: 0 added, 0 changed, 0 removed; 2 models served\n  nothing changed"
	          " since the last reload (dnnqd also reloads by itself when a file changes;"
	          " 'dnnqctl models' shows the generations)\n");
	/* serving nothing: said (dnnqctl models printed nothing at all) */
	rewrite(&ds, "dnnqd.yaml", "models: []\n", 11);
	ck_assert_msg(dnnq_reload(c, &r) == 0, "%s", dnnq_last_error());
	ck_assert_uint_eq(r.served, 0);
	ctl_exits(&d, (const char *const[]){ "models", NULL }, 0, out, sizeof out);
	ck_assert_str_eq(out, "no models served (dnnqd's config names them under models:, or dnnqd"
	                 " --model NAME=FILE)\n");
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), DNNQ_E_NOTFOUND);
	ck_assert_str_eq(dnnq_last_error(), "model 'relu64': not found (dnnqd serves: none)");

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

/* ---- mutated files through a reload --------------------------------------- */

#define MUTATIONS 150

/* What a reload of a mutated file must leave: either it was taken (1), or
 * it failed naming a file in ds->conf (`file`, the mutated one, counted in
 * *named; the config with its line), and the model relu64 is served at
 * generation `gen` still, answering a request (0). Never a crash, a hang past the
 * client's timeout or (under ASan, at the final SIGTERM) a leak. */
static int reload_outcome(struct dnnq_client *c, const struct dirs *ds, const char *file,
                          uint32_t gen, int *named)
{
	struct dnnq_reload_result r;
	int rc = dnnq_reload(c, &r);
	ck_assert_msg(rc != DNNQ_E_DISCONNECTED && rc != DNNQ_E_TIMEDOUT, "reload: %s",
	              dnnq_last_error());
	if (rc == 0)
		return 1;
	ck_assert_int_eq(r.status, rc);
	expect_in(r.message, ds->conf);
	const char *at = strstr(r.message, file);
	*named += at != NULL;
	/* the config's errors say where: FILE:LINE:COLUMN */
	ck_assert_msg(!at || strcmp(file, "dnnqd.yaml:") || isdigit((unsigned char)at[strlen(file)]),
	              "no line: %s", r.message);
	ck_assert_uint_eq(r.added + r.changed + r.removed, 0);
	ck_assert_uint_eq(test_generation(c, "relu64"), gen);
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), 0);
	ck_assert_int_eq(test_infer_zeros(c, m, 1, WAIT_MS), 0);
	dnnq_model_close(m);
	return 0;
}

/* A reload after a taken mutation puts the good file back: it must take. */
static uint32_t restore(struct dnnq_client *c, const struct dirs *ds, const char *name,
                        const void *good, size_t len)
{
	struct dnnq_reload_result r;
	rewrite(ds, name, good, len);
	ck_assert_msg(dnnq_reload(c, &r) == 0, "the good %s back: %s", name, dnnq_last_error());
	uint32_t gen = test_generation(c, "relu64");
	ck_assert_uint_gt(gen, 0);
	return gen;
}

/* Every key a model entry has, and the other sections dnnqd reads at start
 * (a reload parses them too). */
static const char rich_yaml[] =
	"# dnnqd.yaml\n"
	"listen:\n  mode: 0660\n"
	"workers:\n  spin_us: 50\n"
	"limits:\n  max_batch: 64\n  max_inflight: 64\n  max_session_bytes: 64MiB\n"
	"access:\n  uids: [0, 65534]\n  public_stats: false\n"
	"models:\n"
	"  - name: relu64\n    path: relu64.dnnq\n    max_batch: 16\n    threads: 1\n"
	"    warmup: true\n"
	"  - name: fc1024\n    path: fc1024.dnnq\n    dynamic_batching:\n"
	"      max_queue_delay_us: 100\n      preferred_batch_size: [2, 4]\n"
	"  - {name: \"k\", path: 'relu64.dnnq', max_batch: 2}\n"
	"log:\n  level: info\n";

/* Values at and past the schema's edges, YAML's odd corners and paths. */
static const char *const edge_values[] = {
	"0", "-1", "1", "65536", "65537", "4294967295", "4294967296",
	"18446744073709551616", "1e999", "-0", "0x10", "0o7", "''", "~", "null", "[]", "{}",
	"[1, [2]]", "*a", "&a x", "!!binary AA==", "!!str 7", "\"\\0\"", "yes", ".nan",
	"/dev/zero", "..", "/", "relu64.dnnq", "fc1024.dnnq", "dnnqd.yaml", "|\n  x\n",
	"10000001", "64GiB", "1KiB", "-9223372036854775808",
};

/* The byte offsets of text's line starts (at most cap); their count. */
static size_t line_starts(const char *t, size_t len, size_t *at, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < cap; i++)
		if (i == 0 || t[i - 1] == '\n')
			at[n++] = i;
	return n;
}

/* One seeded mutation of the text in buf (len bytes, room for cap). */
static size_t mutate_text(struct rng *g, char *buf, size_t len, size_t cap)
{
	size_t at[128];
	size_t n = line_starts(buf, len, at, 128);
	size_t l = (size_t)rng_int(g, 0, (int64_t)n - 1);
	size_t end = l + 1 < n ? at[l + 1] : len;
	size_t i = (size_t)rng_int(g, 0, (int64_t)len - 1);
	char tmp[4096];
	switch (rng_int(g, 0, 7)) {
	case 0:	/* a bit */
		buf[i] ^= (char)(1u << rng_int(g, 0, 7));
		return len;
	case 1:	/* a line gone */
		memmove(buf + at[l], buf + end, len - end);
		return len - (end - at[l]);
	case 2:	/* a line twice */
		if (len + (end - at[l]) > cap)
			return len;
		memmove(buf + end + (end - at[l]), buf + end, len - end);
		memcpy(buf + end, buf + at[l], end - at[l]);
		return len + (end - at[l]);
	case 3:	/* cut short */
		return i;
	case 4: {	/* a value at an edge */
		char *colon = memchr(buf + at[l], ':', end - at[l]);
		const char *v = edge_values[rng_int(g, 0, sizeof edge_values / sizeof *edge_values - 1)];
		if (!colon)
			return len;
		int k = snprintf(tmp, sizeof tmp, ": %s\n%.*s", v, (int)(len - end), buf + end);
		size_t head = (size_t)(colon - buf);
		if (head + (size_t)k > cap)
			return len;
		memcpy(buf + head, tmp, (size_t)k);
		return head + (size_t)k;
	}
	case 5: {	/* a byte YAML minds */
		static const char odd[] = { '\0', '\t', '\r', ':', '-', '{', '[', '#', '&', '*',
		                            '!', '"', '\'', '|', '>', '%', '@', '\x80', '\xff' };
		if (len + 1 > cap)
			return len;
		memmove(buf + i + 1, buf + i, len - i);
		buf[i] = odd[rng_int(g, 0, sizeof odd - 1)];
		return len + 1;
	}
	case 6:	/* a line indented by one more */
		if (len + 1 > cap)
			return len;
		memmove(buf + at[l] + 1, buf + at[l], len - at[l]);
		buf[at[l]] = ' ';
		return len + 1;
	default: {	/* two lines swapped */
		size_t m = (size_t)rng_int(g, 0, (int64_t)n - 1);
		if (m <= l)
			return len;
		size_t mend = m + 1 < n ? at[m + 1] : len;
		size_t a = end - at[l], b = mend - at[m], mid = at[m] - end;
		if (a + b + mid > sizeof tmp)
			return len;
		memcpy(tmp, buf + at[m], b);
		memcpy(tmp + b, buf + end, mid);
		memcpy(tmp + b + mid, buf + at[l], a);
		memcpy(buf + at[l], tmp, a + b + mid);
		return len;
	}
	}
}

START_TEST(reload_mutated_config)
{
	struct dirs ds;
	struct fixture_daemon d;
	start(&ds, &d);
	struct dnnq_client *c = connect_to(d.socket);
	size_t good = strlen(rich_yaml);
	uint32_t gen = restore(c, &ds, "dnnqd.yaml", rich_yaml, good);
	struct rng g = { 0x9e3779b97f4a7c15ull };
	char buf[8192];
	int taken = 0, named = 0;
	for (int k = 0; k < MUTATIONS; k++) {
		memcpy(buf, rich_yaml, good);
		size_t len = good;
		for (int64_t j = rng_int(&g, 1, 3); j > 0 && len > 0; j--)
			len = mutate_text(&g, buf, len, sizeof buf);
		rewrite(&ds, "dnnqd.yaml", buf, len);
		if (reload_outcome(c, &ds, "dnnqd.yaml:", gen, &named)) {
			taken++;
			gen = restore(c, &ds, "dnnqd.yaml", rich_yaml, good);
		}
	}
	printf("ctlreload: config mutated (bits, lines gone, twice, swapped, indented, cut, "
	       "values at edges, odd bytes) before a reload: %d tries: %d taken, %d refused "
	       "naming dnnqd.yaml, the old models served\n", MUTATIONS, taken, named);
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* TENSORS at off in buf: each QTensor record's own CRC32C (its last 4
 * bytes) made right again, where `good` says the records are. */
static void fix_records(const uint8_t *good, uint8_t *buf, uint64_t off)
{
	uint32_t n;
	memcpy(&n, good + off, 4);
	uint64_t at = off + 4;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t name;
		uint64_t len;
		memcpy(&name, good + at, 2);
		memcpy(&len, good + at + 2 + name, 8);
		uint64_t rec = at + 2 + name + 8;
		uint32_t crc = dnnq_crc32c(buf + rec, (size_t)len - 4);
		memcpy(buf + rec + len - 4, &crc, 4);
		at = rec + len;
	}
}

/* One seeded mutation of a .dnnq file (buf, a copy of the valid `good`,
 * whose header and table say where the sections are): mostly inside a
 * section, with the section's CRC32C (and in TENSORS the records' own)
 * made right again so the reader's checks past the CRC see it; else the
 * header or the table as they are. */
static void mutate_model(struct rng *g, const uint8_t *good, uint8_t *buf)
{
	uint32_t nsec;
	memcpy(&nsec, good + 12, 4);
	size_t ent = 24 + 28 * (size_t)rng_int(g, 0, nsec - 1);
	uint64_t off, size;
	memcpy(&off, good + ent + 8, 8);
	memcpy(&size, good + ent + 16, 8);
	bool raw = rng_int(g, 0, 7) == 0 || size < 8;
	uint8_t *p = raw ? buf : buf + off;
	size_t n = raw ? 24 + 28 * (size_t)nsec : (size_t)size;
	size_t i = (size_t)rng_int(g, 0, (int64_t)n - 4);
	static const uint32_t edge[] = { 0, 1, 2, 63, 64, 65535, 65536, 0x7fffffff,
	                                 0x80000000, 0xffffffff };
	uint32_t v = edge[rng_int(g, 0, sizeof edge / sizeof *edge - 1)];
	switch (rng_int(g, 0, 3)) {
	case 0:
		p[i] ^= (uint8_t)(1u << rng_int(g, 0, 7));
		break;
	case 1:	/* a u16 (a string's length) */
		memcpy(p + i, &v, 2);
		break;
	case 2:	/* a u32 (a count, a dtype, a value id) */
		memcpy(p + i, &v, 4);
		break;
	default:	/* bytes copied from elsewhere in it */
		memmove(p + i, p + rng_int(g, 0, (int64_t)n - 4), (size_t)rng_int(g, 1, 3));
	}
	if (!raw) {
		uint32_t type;
		memcpy(&type, good + ent, 4);
		if (type == 3)
			fix_records(good, buf, off);
		uint32_t crc = dnnq_crc32c(buf + off, (size_t)size);
		memcpy(buf + ent + 24, &crc, 4);
	}
}

START_TEST(reload_mutated_model)
{
	struct dirs ds;
	struct fixture_daemon d;
	start(&ds, &d);
	struct dnnq_client *c = connect_to(d.socket);
	size_t len;
	uint8_t *good = model_bytes(FIXTURE_MULTI, &len);
	uint8_t *buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	uint32_t gen = restore(c, &ds, "relu64.dnnq", good, len);
	struct rng g = { 0x2545f4914f6cdd1dull };
	int taken = 0, named = 0;
	for (int k = 0; k < MUTATIONS; k++) {
		memcpy(buf, good, len);
		for (int64_t j = rng_int(&g, 1, 2); j > 0; j--)
			mutate_model(&g, good, buf);
		rewrite(&ds, "relu64.dnnq", buf, len);
		if (reload_outcome(c, &ds, "relu64.dnnq: ", gen, &named)) {
			taken++;
			struct dnnq_model *m;
			ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), 0);
			int rc = test_infer_zeros(c, m, 1, WAIT_MS);
			ck_assert_msg(rc != DNNQ_E_TIMEDOUT && rc != DNNQ_E_DISCONNECTED, "%d", rc);
			dnnq_model_close(m);
			gen = restore(c, &ds, "relu64.dnnq", good, len);
		}
	}
	printf("ctlreload: multi's model file mutated (bits, u16 and u32 fields at edges, bytes "
	       "moved; the CRCs of the section and its records made right, or the header and "
	       "table as they are) before a reload: %d tries: %d taken and served, %d refused "
	       "naming the file, the old version served\n", MUTATIONS, taken, named);
	free(buf);
	free(good);
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

/* ---- a daemon that does not answer -------------------------------------- */

/*
 * dnnqctl reload against a SIGSTOPped dnnqd: it reports the daemon that
 * does not answer after its connect's 5 s (before: the session set-up
 * took the reload's 300 s too). dnnqctl runs under alarm(60), which
 * survives its exec: a wait of the reload's length kills it. Through the
 * API: dnnq_reload_wait's timeout, not the client's (60 s), bounds the
 * wait for the reply; negative is DNNQ_E_INVAL, 0 the client's.
 */
START_TEST(reload_stopped_daemon)
{
	struct dirs ds;
	struct fixture_daemon d;
	start(&ds, &d);
	struct dnnq_client *c = connect_to(d.socket);
	struct dnnq_reload_result r;
	ck_assert_int_eq(dnnq_reload_wait(c, &r, -1), DNNQ_E_INVAL);
	ck_assert_msg(dnnq_reload_wait(c, &r, 0) == 0, "%s", dnnq_last_error());
	ck_assert_int_eq(kill(d.pid, SIGSTOP), 0);
	int rc = dnnq_reload_wait(c, &r, 300);
	char why[256];
	snprintf(why, sizeof why, "%s", dnnq_last_error());
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	const char *bin = fixture_binary("DNNQ_DNNQCTL", "dnnqctl");
	ck_assert_msg(bin, "no dnnqctl: set DNNQ_DNNQCTL to the binary (make check does)");
	pid_t pid = fixture_fork();
	if (pid == 0) {
		dup2(p[1], 2);
		alarm(60);
		execl(bin, bin, "--socket", d.socket, "reload", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char err[512];
	size_t got = 0;
	ssize_t n;
	/* to the end: stdio may write the message in more than one piece */
	while (got < sizeof err - 1 && (n = read(p[0], err + got, sizeof err - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(p[0]);
	int st = fixture_wait(pid, 90000);
	kill(d.pid, SIGCONT);
	dnnq_close(c);
	ck_assert_msg(rc == DNNQ_E_TIMEDOUT, "dnnq_reload_wait(300 ms) of a stopped dnnqd: %s (%s)",
	              dnnq_strerror(rc), why);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(err, "timed out"),
	              "dnnqctl reload of a stopped dnnqd: wait status %#x (SIGALRM: waited the"
	              " reload's timeout to connect): %s", (unsigned)st, err);
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
	tcase_add_test(tc, reload_mutated_config);
	tcase_add_test(tc, reload_mutated_model);
	tcase_add_test(tc, reload_stopped_daemon);
	suite_add_tcase(s, tc);
	return s;
}
