/*
 * Hot reload end to end (suite reload): a real dnnqd ($DNNQ_DNNQD) whose
 * config file and model files the tests rewrite under it, driven through
 * client/dnnq.h like test_serve.c.
 *
 * Model versions are the fixture's fc1024 with its weights drawn again
 * from a seed: the same signature, different results, so each result
 * names the version that computed it (the in-process engine gives every
 * version's answer; the versions are checked to differ on the input the
 * clients send). A signature change is the same model with another output
 * scale. Files are replaced the two ways an operator does it: written to
 * a temporary name and renamed over, or rewritten in place.
 *
 * No assertion is about time: every wait is a bounded polling loop on a
 * condition the daemon reports (a generation from OPEN, the reload count
 * and error in STATS' message). The daemon's memory is compared after the
 * first replacement and after the last (VmRSS), with the margin explained
 * where it is checked.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "engine/model.h"
#include "tests/batching-fixture.h"
#include "tests/rng.h"
#include "tests/daemon-fixture.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

enum { K = 1024, NVERSIONS = 11, STEPS = 20, NCLIENTS = 3 };
#define WAIT_MS 60000           /* a condition not met by then will not be */
#define REQ_TIMEOUT_MS 60000

static void expect_in(const char *s, const char *part)
{
	ck_assert_msg(strstr(s, part), "'%s' does not say '%s'", s, part);
}

/* ---- files ---------------------------------------------------------------- */

/* A directory for the test's files under the fixture's temporary one. */
static void make_dir(char *dir, size_t len)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, len, "%s/reload-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

enum how { RENAME, IN_PLACE };

/* path gets exactly these bytes, renamed over it or rewritten in place. */
static void put_file(const char *path, const void *buf, size_t len, enum how how)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	const char *to = how == RENAME ? tmp : path;
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", to, strerror(errno));
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	if (how == RENAME)
		ck_assert_int_eq(rename(tmp, path), 0);
}

static void put_text(const char *path, const char *text, enum how how)
{
	put_file(path, text, strlen(text), how);
}

/* ---- model versions -------------------------------------------------------- */

/* fc1024 with weights from `seed` (0: the fixture's own) and, for `sig`,
 * the output scale doubled (another signature). dnnq_model_free it. */
static void variant(unsigned seed, bool sig, struct dnnq_model *m)
{
	char dir[256], path[300];
	struct dnnq_diag d = { "" };
	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/fc.dnnq", dir);
	ck_assert_msg(fixture_model_write(FIXTURE_FC1024, path, &d) == 0, "%s", d.msg);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t buf[8 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	unlink(path);
	rmdir(dir);
	ck_assert_msg(dnnq_model_read(buf, len, m, &d) == 0, "%s", d.msg);
	struct dnnq_qtensor *w = &m->tensors[0].t;
	struct rng r = { 0x9e3779b97f4a7c15ull * (seed + 1) };
	for (size_t i = 0; seed && i < dnnq_qtensor_numel(w); i++)
		((int8_t *)w->data)[i] = (int8_t)rng_int(&r, -127, 127);
	if (sig) {
		m->nodes[0].out_scale *= 2;
		m->outputs[0].qp.scale *= 2;
	}
}

/* The version's file at path; `corrupt` flips one byte in the middle (the
 * section's CRC then fails). */
static void write_version(const char *path, unsigned seed, bool sig, bool corrupt,
                          enum how how)
{
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	variant(seed, sig, &m);
	ck_assert_msg(dnnq_model_write(&m, &buf, &len, &d) == 0, "%s", d.msg);
	dnnq_model_free(&m);
	if (corrupt)
		((uint8_t *)buf)[len / 2] ^= 0x5a;
	put_file(path, buf, len, how);
	free(buf);
}

/* What every client sends. */
static void input(uint8_t *x)
{
	for (int i = 0; i < K; i++)
		x[i] = (uint8_t)(i * 37 + 11);
}

/* The version's answer to input(), in this process. */
static void expected(unsigned seed, bool sig, uint8_t *y)
{
	struct dnnq_model m;
	struct dnnq_graph *g;
	struct dnnq_diag d = { "" };
	uint8_t x[K];
	input(x);
	variant(seed, sig, &m);
	ck_assert_msg(dnnq_model_build(&m, dnnq_isa_best(), &g, &d) == 0, "%s", d.msg);
	dnnq_model_free(&m);
	ck_assert_int_eq(dnnq_graph_plan(g, 1, 1, &d), 0);
	const void *in[1] = { x };
	void *out[1] = { y };
	ck_assert_int_eq(dnnq_graph_run(g, in, out, NULL), 0);
	dnnq_graph_destroy(g);
}

/* ---- the daemon ------------------------------------------------------------ */

static struct dnnq_client *connect_to(const struct fixture_daemon *d)
{
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 8, .arena_bytes = 1 << 20 };
	int rc = dnnq_connect(d->socket, &o, &c);
	ck_assert_msg(rc == 0, "connect: %s", dnnq_strerror(rc));
	return c;
}

static void status_of(struct dnnq_client *c, char *buf, size_t len)
{
	struct dnnq_stats st;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	snprintf(buf, len, "%s", st.status);
}

/* "serving 1 model, 2 sessions, 7 reloads; ...": 7 */
static unsigned reloads_in(const char *status)
{
	const char *p = strstr(status, "session");
	unsigned n = 0;
	if (p && (p = strchr(p, ',')) && sscanf(p, ", %u reload", &n) != 1)
		n = 0;
	return n;
}


static void wait_generation(struct dnnq_client *c, const char *name, uint32_t want)
{
	uint32_t g = 0;
	for (int t = 0; t < WAIT_MS / 5 && (g = test_generation(c, name)) != want; t++)
		fixture_sleep_ms(5);
	ck_assert_msg(g == want, "'%s' at generation %u, not %u", name, g, want);
}

/* Until the reload count passes `after` with (failed) or without an error. */
static void wait_reload(struct dnnq_client *c, unsigned after, bool failed, char *status,
                        size_t len)
{
	for (int t = 0; t < WAIT_MS / 5; t++) {
		status_of(c, status, len);
		if (reloads_in(status) > after && !!strstr(status, "last reload failed") == failed)
			return;
		fixture_sleep_ms(5);
	}
	ck_abort_msg("no %s reload after %u: '%s'", failed ? "failed" : "good", after, status);
}

/* One request with every tensor allocated at batch 1 (inputs zero);
 * out, when set, gets output 0. The request's status. */
static int infer_once(struct dnnq_client *c, struct dnnq_model *m, const uint8_t *x, uint8_t *out)
{
	uint32_t ni = dnnq_model_num_inputs(m), no = dnnq_model_num_outputs(m);
	struct dnnq_tensor t[FIXTURE_MAX_IO];
	struct dnnq_tensor *p[FIXTURE_MAX_IO];
	for (uint32_t i = 0; i < ni + no; i++) {
		int rc = dnnq_tensor_alloc_io(m, i < ni ? DNNQ_INPUT : DNNQ_OUTPUT, i < ni ? i : i - ni,
		                              1, &t[i]);
		ck_assert_int_eq(rc, 0);
		memset(t[i].data, 0, t[i].bytes);
		p[i] = &t[i];
	}
	if (x)
		memcpy(t[0].data, x, t[0].bytes);
	int rc = dnnq_infer(m, (const struct dnnq_tensor *const *)p, p + ni, REQ_TIMEOUT_MS);
	if (!rc && out)
		memcpy(out, t[ni].data, t[ni].bytes);
	for (uint32_t i = 0; i < ni + no; i++)
		dnnq_tensor_free(c, &t[i]);
	return rc;
}

/* ---- clients that never stop ------------------------------------------------ */

struct load {
	const char *socket;
	const uint8_t (*want)[K];       /* NVERSIONS answers */
	bool async;
	_Atomic bool *stop;
	_Atomic uint64_t seen[NVERSIONS];
	_Atomic uint64_t failed, wrong;
	char why[160];                  /* the first failure */
	pthread_t thread;
};

static void classify(struct load *l, int rc, const uint8_t *y)
{
	if (rc) {
		if (!atomic_fetch_add(&l->failed, 1))
			snprintf(l->why, sizeof l->why, "%s", dnnq_strerror(rc));
		return;
	}
	for (int v = 0; v < NVERSIONS; v++) {
		if (!memcmp(y, l->want[v], K)) {
			atomic_fetch_add(&l->seen[v], 1);
			return;
		}
	}
	atomic_fetch_add(&l->wrong, 1);
}

enum { DEPTH = 4 };

/* DEPTH requests submitted, then each waited for (async), or one dnnq_infer. */
static void one_round(struct load *l, struct dnnq_model *m, struct dnnq_tensor *x,
                      struct dnnq_tensor *y)
{
	const struct dnnq_tensor *in[1] = { x };
	if (!l->async) {
		struct dnnq_tensor *out[1] = { &y[0] };
		classify(l, dnnq_infer(m, in, out, REQ_TIMEOUT_MS), y[0].data);
		return;
	}
	struct dnnq_request r[DEPTH];
	int rc[DEPTH];
	for (int i = 0; i < DEPTH; i++) {
		struct dnnq_tensor *out[1] = { &y[i] };
		rc[i] = dnnq_submit(m, in, out, &r[i]);
	}
	for (int i = 0; i < DEPTH; i++)
		classify(l, rc[i] ? rc[i] : dnnq_wait(&r[i], REQ_TIMEOUT_MS), y[i].data);
}

static void *load_main(void *arg)
{
	struct load *l = arg;
	struct dnnq_connect_opts o = { .slots = DEPTH, .arena_bytes = 1 << 20 };
	struct dnnq_client *c = NULL;
	struct dnnq_model *m = NULL;
	struct dnnq_tensor x, y[DEPTH];
	int rc = dnnq_connect(l->socket, &o, &c);
	if (!rc)
		rc = dnnq_model_open(c, "fc", &m);
	for (int i = 0; !rc && i <= DEPTH; i++)
		rc = dnnq_tensor_alloc_io(m, i ? DNNQ_OUTPUT : DNNQ_INPUT, 0, 1, i ? &y[i - 1] : &x);
	if (rc) {
		classify(l, rc, NULL);
		dnnq_close(c);
		return NULL;
	}
	input(x.data);
	while (!atomic_load(l->stop))
		one_round(l, m, &x, y);
	dnnq_close(c);
	return NULL;
}

static long vm_rss_kib(pid_t pid)
{
	long kib = fixture_status_kib(pid, "VmRSS:");
	ck_assert_int_gt(kib, 0);
	return kib;
}

/* Until every client has seen version v. */
static void wait_seen(struct load *l, int v)
{
	for (int t = 0; t < WAIT_MS / 5; t++) {
		bool all = true;
		for (int i = 0; i < NCLIENTS; i++)
			all = all && atomic_load(&l[i].seen[v]);
		if (all)
			return;
		fixture_sleep_ms(5);
	}
	ck_abort_msg("version %d: not seen by every client", v);
}

/* Under ASan a freed block waits in a quarantine (256 MiB by default)
 * before its memory can be reused: the daemon's RSS would grow with every
 * freed version. Keep it small for the daemon this test starts. */
static void small_quarantine(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *old = getenv("ASAN_OPTIONS");
	char opts[512];
	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=1", old ? old : "",
	         old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
}

START_TEST(reload_under_load)
{
	static uint8_t want[NVERSIONS][K];
	char dir[256], path[300], arg[320], status[256];
	for (int v = 0; v < NVERSIONS; v++)
		expected((unsigned)v, false, want[v]);
	for (int v = 0; v < NVERSIONS; v++)
		for (int u = 0; u < v; u++)
			ck_assert_msg(memcmp(want[u], want[v], K), "versions %d and %d agree", u, v);
	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/fc.dnnq", dir);
	snprintf(arg, sizeof arg, "fc=%s", path);
	write_version(path, 0, false, false, RENAME);
	small_quarantine();
	struct fixture_daemon d;
	test_daemon_start(&d, 0, (const char *const[]){ "--model", arg, NULL });
	struct dnnq_client *ctl = connect_to(&d);
	_Atomic bool halt = false;
	static struct load l[NCLIENTS];
	memset(l, 0, sizeof l);
	for (int i = 0; i < NCLIENTS; i++) {
		l[i] = (struct load){ .socket = d.socket, .want = want, .async = i == 0, .stop = &halt };
		ck_assert_int_eq(pthread_create(&l[i].thread, NULL, load_main, &l[i]), 0);
	}
	wait_seen(l, 0);
	long rss_first = 0;
	for (int step = 1; step <= STEPS; step++) {
		int v = step / 2;       /* odd steps: a corrupt file; even: version v */
		enum how how = (step / 2) % 2 ? RENAME : IN_PLACE;
		status_of(ctl, status, sizeof status);
		unsigned before = reloads_in(status);
		write_version(path, (unsigned)(step % 2 ? v + 1 : v), false, step % 2, how);
		if (step % 2) {
			wait_reload(ctl, before, true, status, sizeof status);
			expect_in(status, path);
			ck_assert_uint_eq(test_generation(ctl, "fc"), (uint32_t)v + 1);
			continue;
		}
		wait_generation(ctl, "fc", (uint32_t)v + 1);
		wait_seen(l, v);
		if (step == 2) {
			fixture_sleep_ms(200);  /* the old table's grace period: a few ticks */
			rss_first = vm_rss_kib(d.pid);
		}
	}
	fixture_sleep_ms(200);
	long rss_last = vm_rss_kib(d.pid);
	atomic_store(&halt, true);
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(l[i].thread, NULL);
		ck_assert_msg(!l[i].failed && !l[i].wrong, "client %d: %llu failed (%s), %llu wrong",
		              i, (unsigned long long)l[i].failed, l[i].why,
		              (unsigned long long)l[i].wrong);
	}
	/* A version costs about 3.5 MiB here (the parsed weights, 1 MiB, and one
	 * packed copy per worker); leaking the nine versions replaced after the
	 * first measurement would add 30 MiB or more. 12 MiB of slack covers
	 * allocator arenas and fragmentation, and ASan's shadow and small
	 * quarantine. */
	ck_assert_msg(rss_last <= rss_first + 12 * 1024, "VmRSS %ld KiB after the first"
	              " replacement, %ld KiB after the last", rss_first, rss_last);
	printf("reload_under_load: VmRSS %ld KiB after the first replacement, %ld after %d\n",
	       rss_first, rss_last, STEPS);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

/* ---- the config file ------------------------------------------------------- */

/* A directory with relu64.dnnq and fc1024.dnnq, and its dnnqd.yaml. */
struct conf_dir {
	char dir[256], yaml[300];
};

static void conf_dir_make(struct conf_dir *c)
{
	struct dnnq_diag d = { "" };
	char path[320];
	make_dir(c->dir, sizeof c->dir);
	snprintf(c->yaml, sizeof c->yaml, "%s/dnnqd.yaml", c->dir);
	for (int m = FIXTURE_RELU64; m <= FIXTURE_FC1024; m++) {
		snprintf(path, sizeof path, "%s/%s.dnnq", c->dir, fixture_model_name(m));
		ck_assert_msg(fixture_model_write(m, path, &d) == 0, "%s", d.msg);
	}
}

static const char both_models[] = TEST_YAML_BOTH;
static const char relu_only[] = TEST_YAML_RELU64;

/* A daemon on a config of `yaml` in a fresh conf_dir; a client of it. */
static struct dnnq_client *start_config(struct conf_dir *c, const char *yaml,
                                        struct fixture_daemon *d)
{
	conf_dir_make(c);
	put_text(c->yaml, yaml, RENAME);
	test_daemon_start(d, 0, (const char *const[]){ "--config", c->yaml, NULL });
	return connect_to(d);
}

static void open_ok(struct dnnq_client *c, const char *name, struct dnnq_model **m)
{
	int rc = dnnq_model_open(c, name, m);
	ck_assert_msg(rc == 0, "open %s: %s", name, dnnq_strerror(rc));
}

START_TEST(reload_bad_yaml_keeps_serving)
{
	struct conf_dir c;
	struct fixture_daemon d;
	struct dnnq_model *m;
	char status[256];
	struct dnnq_client *ctl = start_config(&c, relu_only, &d);
	open_ok(ctl, "relu64", &m);
	ck_assert_int_eq(infer_once(ctl, m, NULL, NULL), 0);
	/* a broken file, then SIGHUP: the reload fails, serving goes on */
	put_text(c.yaml, "models: [\n  - name: relu64\n", IN_PLACE);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	wait_reload(ctl, 0, true, status, sizeof status);
	expect_in(status, "last reload failed: ");
	expect_in(status, c.yaml);
	ck_assert_int_eq(infer_once(ctl, m, NULL, NULL), 0);
	ck_assert_uint_eq(test_generation(ctl, "relu64"), 1);
	/* fixed (and a model more): the error is gone */
	unsigned before = reloads_in(status);
	put_text(c.yaml, both_models, RENAME);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	wait_reload(ctl, before, false, status, sizeof status);
	ck_assert_int_eq(dnnq_model_name(ctl, 0, NULL, 0), 2);
	ck_assert_int_eq(infer_once(ctl, m, NULL, NULL), 0);
	ck_assert_uint_eq(test_generation(ctl, "relu64"), 1);   /* unchanged: kept */
	dnnq_model_close(m);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

START_TEST(reload_signature_change)
{
	char dir[256], path[300], arg[320];
	uint8_t x[K], y[K], want[2][K];
	struct dnnq_model *old, *now;
	input(x);
	expected(1, true, want[0]);
	expected(2, true, want[1]);
	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/fc.dnnq", dir);
	snprintf(arg, sizeof arg, "fc=%s", path);
	write_version(path, 0, false, false, RENAME);
	struct fixture_daemon d;
	test_daemon_start(&d, 0, (const char *const[]){ "--model", arg, NULL });
	struct dnnq_client *c = connect_to(&d);
	open_ok(c, "fc", &old);
	ck_assert_uint_eq(dnnq_model_generation(old), 1);
	ck_assert_int_eq(infer_once(c, old, x, NULL), 0);
	/* another output scale: the old handle is told, a new one works */
	write_version(path, 1, true, false, RENAME);
	wait_generation(c, "fc", 2);
	ck_assert_int_eq(infer_once(c, old, x, NULL), DNNQ_E_MODEL_CHANGED);
	open_ok(c, "fc", &now);
	ck_assert_int_eq(infer_once(c, now, x, y), 0);
	ck_assert_mem_eq(y, want[0], K);
	/* new weights, same signature: generation 2's handle is served by 3 */
	write_version(path, 2, true, false, IN_PLACE);
	wait_generation(c, "fc", 3);
	ck_assert_int_eq(infer_once(c, now, x, y), 0);
	ck_assert_mem_eq(y, want[1], K);
	ck_assert_int_eq(infer_once(c, old, x, NULL), DNNQ_E_MODEL_CHANGED);
	dnnq_model_close(old);
	dnnq_model_close(now);
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

START_TEST(reload_removes_and_adds)
{
	struct conf_dir c;
	struct fixture_daemon d;
	struct dnnq_model *relu, *fc;
	char status[256];
	struct dnnq_client *ctl = start_config(&c, both_models, &d);
	open_ok(ctl, "relu64", &relu);
	open_ok(ctl, "fc1024", &fc);
	ck_assert_int_eq(infer_once(ctl, fc, NULL, NULL), 0);
	/* the config changes on disk: inotify, no signal */
	put_text(c.yaml, relu_only, IN_PLACE);
	wait_reload(ctl, 0, false, status, sizeof status);
	ck_assert_int_eq(dnnq_model_name(ctl, 0, NULL, 0), 1);
	ck_assert_int_eq(dnnq_model_name(ctl, 1, NULL, 0), DNNQ_E_NOTFOUND);
	ck_assert_int_eq(infer_once(ctl, fc, NULL, NULL), DNNQ_E_NOTFOUND);
	struct dnnq_model *gone;
	ck_assert_int_eq(dnnq_model_open(ctl, "fc1024", &gone), DNNQ_E_NOTFOUND);
	ck_assert_int_eq(infer_once(ctl, relu, NULL, NULL), 0);
	/* back again: a new id, so the old handle stays refused */
	put_text(c.yaml, both_models, RENAME);
	wait_reload(ctl, reloads_in(status), false, status, sizeof status);
	ck_assert_int_eq(dnnq_model_name(ctl, 0, NULL, 0), 2);
	struct dnnq_model *back;
	open_ok(ctl, "fc1024", &back);
	ck_assert_int_eq(infer_once(ctl, back, NULL, NULL), 0);
	ck_assert_int_eq(infer_once(ctl, fc, NULL, NULL), DNNQ_E_NOTFOUND);
	dnnq_model_close(back);
	dnnq_model_close(fc);
	dnnq_model_close(relu);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

/* A RELOAD that fails (ok: that works); the reloads finished so far. */
static unsigned reload_now(struct dnnq_client *c, bool ok)
{
	struct dnnq_reload_result r;
	int rc = dnnq_reload(c, &r);
	ck_assert_msg(ok ? rc == 0 : rc != 0, "reload: %s", ok ? r.message : "succeeded");
	return r.reloads;
}

/* Another user creating and deleting a missing model file in a loop
 * (a sticky /tmp) fails a reload each time, for the same two causes:
 * each cause is logged once until a reload works, the rest at debug;
 * the good reload says how many failed; the next failure is news again.
 * Past 16 distinct causes (a config naming ever other missing files),
 * the nth failure is logged only when n is a power of two. */
START_TEST(reload_failures_logged_once)
{
	struct conf_dir c;
	struct fixture_daemon d;
	char model[320], yaml[400];
	struct dnnq_client *ctl = start_config(&c, relu_only, &d);
	snprintf(model, sizeof model, "%s/relu64.dnnq", c.dir);
	for (int i = 0; i < 12; i++) {
		if (i % 2)
			put_text(model, "not a model", IN_PLACE);
		else
			ck_assert_int_eq(unlink(model), 0);
		reload_now(ctl, false);
		reload_now(ctl, false);
	}
	ck_assert_int_eq(unlink(model), 0);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, "reload failed"), 2);
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_model_write(FIXTURE_RELU64, model, &diag) == 0, "%s", diag.msg);
	reload_now(ctl, true);
	ck_assert_uint_eq(test_generation(ctl, "relu64"), 2);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, "failed reloads before it"), 1);
	ck_assert_int_eq(unlink(model), 0);
	reload_now(ctl, false);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, "reload failed"), 3);
	/* distinct causes: 16 logged, then the 2^nth failures */
	unsigned before = fixture_daemon_log_count(&d, "reload failed"), reloads = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(yaml, sizeof yaml, "models:\n  - name: relu64\n    path: missing-%d.dnnq\n",
		         i);
		put_text(c.yaml, yaml, RENAME);
		reloads = reload_now(ctl, false);
	}
	unsigned lines = fixture_daemon_log_count(&d, "reload failed") - before, most = 16;
	for (unsigned n = reloads; n > 16; n >>= 1)
		most++;
	ck_assert_msg(lines >= 16 && lines <= most, "%u lines for 40 distinct causes (%u"
	              " reloads): 16 to %u", lines, reloads, most);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

/* A reload applies the models only: a changed value of a key read at
 * start (limits.max_inflight, workers.spin_us, workers.reserve_max_ms,
 * which the reload did not name) is said at warning, naming
 * the keys, once while the file keeps it, again when other keys differ;
 * a change of the models alone, or the file back to the daemon's values,
 * says nothing. The reload "worked" and the daemon kept the old limit
 * without a word. */
START_TEST(reload_unapplied_settings_said)
{
	static const char said[] = "changed: read at start only, not applied";
	struct conf_dir c;
	struct fixture_daemon d;
	char want[512];
	struct dnnq_client *ctl = start_config(&c, relu_only, &d);
	put_text(c.yaml, both_models, RENAME);
	reload_now(ctl, true);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, said), 0);
	put_text(c.yaml, TEST_YAML_BOTH "limits:\n  max_inflight: 16\n", RENAME);
	reload_now(ctl, true);
	reload_now(ctl, true);
	snprintf(want, sizeof want, "reload: %s: limits.max_inflight %s", c.yaml, said);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, want), 1);
	put_text(c.yaml, TEST_YAML_BOTH "limits:\n  max_inflight: 16\nworkers:\n  spin_us: 7\n"
	         "  reserve_max_ms: 300\n", RENAME);
	reload_now(ctl, true);
	snprintf(want, sizeof want, "reload: %s: workers.spin_us, workers.reserve_max_ms, "
	         "limits.max_inflight %s", c.yaml, said);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, want), 1);
	/* the daemon's limit is still the default's 64: 64 slots open */
	struct dnnq_client *c64;
	struct dnnq_connect_opts o = { .slots = 64 };
	ck_assert_int_eq(dnnq_connect(d.socket, &o, &c64), 0);
	dnnq_close(c64);
	put_text(c.yaml, relu_only, RENAME);
	reload_now(ctl, true);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, said), 2);
	put_text(c.yaml, TEST_YAML_RELU64 "limits:\n  max_inflight: 16\n", RENAME);
	reload_now(ctl, true);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, said), 3);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

/* access.users compared as sets: the config's list is sorted, the command
 * line's ids come after it, so one set read again may come in another
 * order (review fix56: "3" given on both was said to change); and every
 * key a reload does not apply is named, past the 256 bytes the list was
 * cut at. */
START_TEST(reload_unapplied_every_key)
{
	static const char said[] = "changed: read at start only, not applied";
	struct conf_dir c;
	struct fixture_daemon d;
	char yaml[1024], want[1024];
	conf_dir_make(&c);
	put_text(c.yaml, TEST_YAML_RELU64 "access:\n  uids: [5]\n", RENAME);
	test_daemon_start(&d, 0, (const char *const[]){ "--config", c.yaml, "--allow-uid", "3",
	                                                 NULL });
	struct dnnq_client *ctl = connect_to(&d);
	put_text(c.yaml, TEST_YAML_RELU64 "access:\n  uids: [5, 3]\n", RENAME);
	reload_now(ctl, true);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, said), 0);
	unsigned gid = (unsigned)getgid();
	snprintf(yaml, sizeof yaml, TEST_YAML_RELU64 "listen:\n  mode: 600\n  group: %u\n"
	         "workers:\n  spin_us: 7\n  reserve_max_ms: 300\nlimits:\n  max_clients: 9\n"
	         "  max_session_bytes: 2 MiB\n  max_inflight: 16\n  max_sessions_per_uid: 9\n"
	         "  max_bytes_per_uid: 2 GiB\naccess:\n  uids: [5, 4]\n  gids: [%u]\n"
	         "  public_stats: true\nmetrics:\n  textfile: %s/metrics.prom\n  interval: 9\n"
	         "log:\n  level: debug\n", gid, gid, c.dir);
	put_text(c.yaml, yaml, RENAME);
	reload_now(ctl, true);
	snprintf(want, sizeof want, "reload: %s: listen.mode, listen.group, workers.spin_us, "
	         "workers.reserve_max_ms, limits.max_clients, limits.max_session_bytes, "
	         "limits.max_inflight, limits.max_sessions_per_uid, limits.max_bytes_per_uid, "
	         "access.users, access.groups, access.public_stats, metrics.textfile, "
	         "metrics.interval, log.level %s", c.yaml, said);
	ck_assert_uint_eq(fixture_daemon_log_count(&d, want), 1);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

/* fc served at generation gen computes version seed's answer. */
static void serves_version(struct dnnq_client *c, uint32_t gen, unsigned seed)
{
	uint8_t x[K], y[K], want[K];
	struct dnnq_model *m;
	input(x);
	expected(seed, false, want);
	wait_generation(c, "fc", gen);
	open_ok(c, "fc", &m);
	ck_assert_int_eq(infer_once(c, m, x, y), 0);
	ck_assert_mem_eq(y, want, K);
	dnnq_model_close(m);
}

/* A model given as a symlink into another directory: a new file at the
 * link's target is seen there (inotify, no SIGHUP), and so is the link
 * pointed elsewhere. */
START_TEST(reload_symlink_target)
{
	char links[256], real[256], link[300], target[300], other[300], arg[320];
	make_dir(links, sizeof links);
	make_dir(real, sizeof real);
	snprintf(link, sizeof link, "%s/fc.dnnq", links);
	snprintf(target, sizeof target, "%s/fc-real.dnnq", real);
	snprintf(other, sizeof other, "%s/fc-other.dnnq", real);
	snprintf(arg, sizeof arg, "fc=%s", link);
	write_version(target, 0, false, false, RENAME);
	ck_assert_int_eq(symlink(target, link), 0);
	struct fixture_daemon d;
	test_daemon_start(&d, 0, (const char *const[]){ "--model", arg, NULL });
	struct dnnq_client *c = connect_to(&d);
	/* the target replaced: generation 2 computes seed 1's answer */
	write_version(target, 1, false, false, RENAME);
	serves_version(c, 2, 1);
	/* the link pointed at another file, then that file rewritten in place */
	write_version(other, 2, false, false, RENAME);
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.new", link);
	ck_assert_int_eq(symlink(other, tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
	wait_generation(c, "fc", 3);
	write_version(other, 3, false, false, IN_PLACE);
	serves_version(c, 4, 3);
	dnnq_close(c);
	test_daemon_stop(&d);
}
END_TEST

/* fc served with dynamic batching: a batch of 4 runs at once, a smaller
 * one waits up to 10 s for company. */
#define BATCHED_FC "models:\n  - name: fc\n    path: fc.dnnq\n    max_batch: 8\n" \
	"    dynamic_batching: { max_queue_delay_us: 10000000, preferred_batch_size: [4] }\n"

/* A new directory (into dir, 256 bytes) of fc.dnnq (version 0, its path
 * into path, 300 bytes) and a config of BATCHED_FC (into yaml, 300 bytes),
 * served by dnnqd with one worker; n sessions of fc at batch 1, each input
 * input(), the first one's request submitted and held in a partial batch. */
static void hold_batched_fc(struct fixture_daemon *d, char *dir, char *path, char *yaml,
                            struct party *p, int n)
{
	make_dir(dir, 256);
	snprintf(path, 300, "%s/fc.dnnq", dir);
	snprintf(yaml, 300, "%s/dnnqd.yaml", dir);
	write_version(path, 0, false, false, RENAME);
	put_text(yaml, BATCHED_FC, RENAME);
	test_daemon_start(d, 0, (const char *const[]){ "--config", yaml, "--cpus", "0", NULL });
	for (int k = 0; k < n; k++) {
		party_open(&p[k], d->socket, "fc", 1, false);
		input(p[k].t[0].data);
	}
	party_submit(&p[0]);
	batching_wait_held(p[0].c, "fc", 1);
}

/* A reload while requests wait in a partial batch (dynamic batching, one
 * worker): the batch is gathered against one table, so every request in
 * it finishes on the version that table serves, the old one, even those
 * submitted after the new version was published; the next request gets
 * the new one. */
START_TEST(reload_while_queued)
{
	enum { N = 4 };
	char dir[256], path[300], yaml[300];
	uint8_t want[2][K];
	struct party p[N];
	struct fixture_daemon d;
	expected(0, false, want[0]);
	expected(1, false, want[1]);
	hold_batched_fc(&d, dir, path, yaml, p, N);
	write_version(path, 1, false, false, RENAME);
	wait_generation(p[0].c, "fc", 2);
	for (int k = 1; k < N; k++)
		party_submit(&p[k]);
	for (int k = 0; k < N; k++) {
		ck_assert_int_eq(party_wait(&p[k]), 0);
		ck_assert_mem_eq(p[k].t[1].data, want[0], K);
	}
	struct dnnq_model_stats st;
	batching_stats(p[0].c, "fc", &st);
	ck_assert_uint_eq(st.runs, 1);
	ck_assert_uint_eq(st.run_items, N);
	/* a batch of N on the new version */
	for (int k = 0; k < N; k++)
		party_submit(&p[k]);
	for (int k = 0; k < N; k++) {
		ck_assert_int_eq(party_wait(&p[k]), 0);
		ck_assert_mem_eq(p[k].t[1].data, want[1], K);
	}
	for (int k = 0; k < N; k++)
		party_close(&p[k]);
	test_daemon_stop(&d);
}
END_TEST

/* A reload onto another signature (relu64's [N, 64] under fc's name, which
 * took [N, 1024]) while a request waits in a partial batch and more are
 * submitted after it: the batch, gathered against the table its first
 * request loaded, finishes on the old version, each answer the old one's;
 * an old handle's next requests fail DNNQ_E_MODEL_CHANGED, each alone,
 * none read or written past either version's sizes (under ASan); a handle
 * opened again is served by the new version (attack40: nothing found). */
START_TEST(reload_signature_while_queued)
{
	enum { N = 4 };
	char dir[256], path[300], yaml[300];
	uint8_t want[K];
	struct party p[N], q;
	struct fixture_daemon d;
	struct dnnq_diag diag = { "" };
	expected(0, false, want);
	hold_batched_fc(&d, dir, path, yaml, p, N);
	void *buf;
	size_t len;
	ck_assert_msg(fixture_model_bytes(FIXTURE_RELU64, &buf, &len, &diag) == 0, "%s", diag.msg);
	put_file(path, buf, len, RENAME);
	free(buf);
	wait_generation(p[0].c, "fc", 2);
	for (int k = 1; k < N; k++)
		party_submit(&p[k]);
	for (int k = 0; k < N; k++) {
		ck_assert_int_eq(party_wait(&p[k]), 0);
		ck_assert_mem_eq(p[k].t[1].data, want, K);
	}
	for (int k = 0; k < N; k++)
		party_submit(&p[k]);
	for (int k = 0; k < N; k++)
		ck_assert_int_eq(party_wait(&p[k]), DNNQ_E_MODEL_CHANGED);
	/* opened again: relu64's signature, at the preferred size */
	party_open(&q, d.socket, "fc", N, false);
	ck_assert_uint_eq(q.t[0].bytes, (size_t)N * 64);
	struct fixture_ref *ref;
	ck_assert_msg(fixture_ref_create(FIXTURE_RELU64, &ref, &diag) == 0, "%s", diag.msg);
	uint8_t y[N * 64];
	for (int i = 0; i < N * 64; i++)
		((uint8_t *)q.t[0].data)[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(fixture_ref_run(ref, N, (const void *const[]){ q.t[0].data },
	                                 (void *const[]){ y }), 0);
	party_submit(&q);
	ck_assert_int_eq(party_wait(&q), 0);
	ck_assert_mem_eq(q.t[1].data, y, sizeof y);
	fixture_ref_destroy(ref);
	party_close(&q);
	for (int k = 0; k < N; k++)
		party_close(&p[k]);
	test_daemon_stop(&d);
}
END_TEST

/* Reloads while a request waits in a partial batch (one worker), the
 * gathering worker holding the table before the reload: a request of a
 * model the reload added, and one of a handle opened at fc's generation
 * after the table the batch holds, are popped by the gathering and left
 * for after the batch, checked against the table then served: each is
 * answered by its version, and so is the batch (before: DNNQ_E_RANGE,
 * "the daemon has given out 1 ids", and DNNQ_E_MODEL_CHANGED, the fresh
 * handle's retries failing the same until the batch ran). */
START_TEST(reload_while_gathering)
{
	enum { N = 4 };         /* BATCHED_FC's preferred size */
	char dir[256], path[300], yaml[300], relu[320];
	uint8_t want[3][K];
	struct party p, q, r;
	struct fixture_daemon d;
	struct fixture_ref *ref;
	struct dnnq_diag diag = { "" };
	for (unsigned v = 0; v < 3; v++)
		expected(v, false, want[v]);
	/* a model added */
	hold_batched_fc(&d, dir, path, yaml, &p, 1);
	snprintf(relu, sizeof relu, "%s/relu64.dnnq", dir);
	ck_assert_msg(fixture_model_write(FIXTURE_RELU64, relu, &diag) == 0, "%s", diag.msg);
	put_text(yaml, BATCHED_FC "  - { name: relu64, path: relu64.dnnq }\n", RENAME);
	wait_generation(p.c, "relu64", 1);
	party_open(&r, d.socket, "relu64", 1, false);
	for (size_t i = 0; i < r.t[0].bytes; i++)
		((uint8_t *)r.t[0].data)[i] = (uint8_t)(i * 5);
	party_submit(&r);
	ck_assert_int_eq(party_wait(&r), 0);
	ck_assert_int_eq(party_wait(&p), 0);
	ck_assert_mem_eq(p.t[1].data, want[0], K);
	ck_assert_msg(fixture_ref_create(FIXTURE_RELU64, &ref, &diag) == 0, "%s", diag.msg);
	uint8_t y[64];
	ck_assert_int_eq(fixture_ref_run(ref, 1, (const void *const[]){ r.t[0].data },
	                                 (void *const[]){ y }), 0);
	ck_assert_mem_eq(r.t[1].data, y, sizeof y);
	fixture_ref_destroy(ref);
	/* a handle of a newer generation (new weights, the same signature) */
	write_version(path, 1, false, false, RENAME);
	wait_generation(p.c, "fc", 2);
	party_submit(&p);
	batching_wait_held(p.c, "fc", 1);
	write_version(path, 2, false, false, RENAME);
	wait_generation(p.c, "fc", 3);
	party_open(&q, d.socket, "fc", N, false);
	for (int k = 0; k < N; k++)
		input((uint8_t *)q.t[0].data + k * K);
	party_submit(&q);
	ck_assert_int_eq(party_wait(&q), 0);
	for (int k = 0; k < N; k++)
		ck_assert_mem_eq((uint8_t *)q.t[1].data + k * K, want[2], K);
	ck_assert_int_eq(party_wait(&p), 0);
	ck_assert_mem_eq(p.t[1].data, want[1], K);
	party_close(&p);
	party_close(&q);
	party_close(&r);
	test_daemon_stop(&d);
}
END_TEST

/* ---- the command line ------------------------------------------------------ */

/* dnnqd ARGS... with stdout and stderr in out and err; its exit status. */
static int run_dnnqd(const char *const *args, const char *out, const char *err)
{
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_ptr_nonnull(bin);
	char *argv[8] = { (char *)bin };
	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	int st = fixture_wait(pid, WAIT_MS);
	ck_assert_msg(st != -1 && WIFEXITED(st), "dnnqd %s did not exit", args[0]);
	return WEXITSTATUS(st);
}

static void read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

START_TEST(check_config_exit_codes)
{
	struct conf_dir c;
	char out[320], err[320], text[512], want[400], bad[320];
	conf_dir_make(&c);
	snprintf(out, sizeof out, "%s/out", c.dir);
	snprintf(err, sizeof err, "%s/err", c.dir);
	snprintf(bad, sizeof bad, "%s/bad.yaml", c.dir);
	put_text(c.yaml, both_models, RENAME);
	put_text(bad, "limits:\n  max_clients: 0\n", RENAME);
	ck_assert_int_eq(run_dnnqd((const char *const[]){ "--check-config", c.yaml, NULL },
	                           out, err), 0);
	read_text(out, text, sizeof text);
	snprintf(want, sizeof want, "dnnqd: %s: ok\n", c.yaml);
	ck_assert_str_eq(text, want);
	ck_assert_int_eq(run_dnnqd((const char *const[]){ "--check-config", bad, NULL }, out, err),
	                 1);
	read_text(err, text, sizeof text);
	snprintf(want, sizeof want, "%s:2:", bad);
	ck_assert_msg(!strncmp(text, want, strlen(want)), "'%s' does not start '%s'", text, want);
	expect_in(text, "limits.max_clients");
	ck_assert_int_eq(strchr(text, '\n') - text, (long)strlen(text) - 1);   /* one line */
	/* the same config refuses to start the daemon */
	ck_assert_int_eq(run_dnnqd((const char *const[]){ "--config", bad, NULL }, out, err), 1);
	read_text(err, text, sizeof text);
	expect_in(text, "limits.max_clients");
	snprintf(bad, sizeof bad, "%s/none.yaml", c.dir);
	ck_assert_int_eq(run_dnnqd((const char *const[]){ "--check-config", bad, NULL }, out, err),
	                 1);
	/* a --model whose file is missing: the model and the file named */
	char model[400];
	snprintf(model, sizeof model, "a=%s/missing.dnnq", c.dir);
	snprintf(bad, sizeof bad, "%s/sock", c.dir);
	ck_assert_int_eq(run_dnnqd((const char *const[]){ "--socket", bad, "--model", model, NULL },
	                           out, err), 1);
	read_text(err, text, sizeof text);
	snprintf(want, sizeof want, "model a: %s/missing.dnnq: cannot stat: ", c.dir);
	expect_in(text, want);
}
END_TEST

START_TEST(config_precedence)
{
	struct conf_dir c;
	struct fixture_daemon d;
	struct dnnq_model *m;
	char text[1024], relu[320];
	conf_dir_make(&c);
	/* the file's socket, a relu64 path that does not exist, a max batch */
	snprintf(text, sizeof text,
	         "listen:\n  path: %s/elsewhere.sock\n"
	         "limits:\n  max_batch: 8\n"
	         "models:\n"
	         "  - name: relu64\n    path: missing.dnnq\n    max_batch: 4\n"
	         "  - name: fc1024\n    path: fc1024.dnnq\n", c.dir);
	put_text(c.yaml, text, RENAME);
	snprintf(relu, sizeof relu, "relu64=%s/relu64.dnnq", c.dir);
	/* the fixture's --socket, --model and --max-batch win */
	test_daemon_start(&d, 0, (const char *const[]){ "--config", c.yaml, "--model", relu, "--max-batch", "2",
	                                 NULL });
	struct dnnq_client *ctl = connect_to(&d);
	open_ok(ctl, "relu64", &m);
	ck_assert_uint_eq(dnnq_model_max_batch(m), 2);
	ck_assert_int_eq(infer_once(ctl, m, NULL, NULL), 0);
	dnnq_model_close(m);
	open_ok(ctl, "fc1024", &m);
	ck_assert_uint_eq(dnnq_model_max_batch(m), 2);
	dnnq_model_close(m);
	struct stat st;
	snprintf(relu, sizeof relu, "%s/elsewhere.sock", c.dir);
	ck_assert_int_ne(stat(relu, &st), 0);
	dnnq_close(ctl);
	test_daemon_stop(&d);
}
END_TEST

Suite *suite_reload(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, reload_under_load);
	tcase_add_test(tc, reload_bad_yaml_keeps_serving);
	tcase_add_test(tc, reload_signature_change);
	tcase_add_test(tc, reload_removes_and_adds);
	tcase_add_test(tc, reload_while_queued);
	tcase_add_test(tc, reload_signature_while_queued);
	tcase_add_test(tc, reload_while_gathering);
	tcase_add_test(tc, check_config_exit_codes);
	tcase_add_test(tc, config_precedence);
	suite_add_tcase(s, tc);
	/* what is watched and what is logged (CK_RUN_CASE=files) */
	TCase *files = tcase_create("files");
	tcase_add_unchecked_fixture(files, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(files, reload_failures_logged_once);
	tcase_add_test(files, reload_unapplied_settings_said);
	tcase_add_test(files, reload_unapplied_every_key);
	tcase_add_test(files, reload_symlink_target);
	suite_add_tcase(s, files);
	return s;
}
