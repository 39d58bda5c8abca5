/*
 * Faults (suite faults): what happens to a real dnnqd ($DNNQ_DNNQD, through
 * tools/serve-fixture.h) and to its clients when something dies or a disk
 * lies, and to the loader in-process under the read fault hook
 * (daemon/loader.h).
 *
 *   - a client process SIGKILLed with requests in flight, many times: the
 *     daemon reclaims the session and its fds, an honest client never
 *     notices
 *   - dnnqd SIGKILLed and restarted under load: every waiting call returns
 *     DNNQ_E_DISCONNECTED, the clients reconnect and get right answers
 *   - a model file truncated, replaced by a directory or removed before a
 *     reload: the old version keeps serving, STATS names the failure
 *   - read errors while loading (the fault hook, both loaders): a clean
 *     failure naming the file, no leak (ASan), and the next load works
 *
 * Each test prints one `faults: <what>: <n> tries: <outcome>` line, which
 * tools/reliability-report.sh turns into docs/reliability.md. Nothing
 * asserts a time; how long a disconnect took is printed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "daemon/loader.h"
#include "daemon/models.h"
#include "engine/graph.h"
#include "engine/model.h"
#include "tests/daemon-fixture.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define WAIT_MS 60000           /* a condition not met by then will not be */
#define REQ_TIMEOUT_MS 60000

/* ---- the daemon ------------------------------------------------------------ */

static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* ---- requests and their answers ------------------------------------------- */

/* One model's tensors at batch 1 on client c: input 0 from a fixed pattern,
 * and the answer the engine gives for it. */
struct call {
	struct dnnq_model *m;
	struct dnnq_tensor in, out;
};

static void pattern(uint8_t *x, size_t n, unsigned salt)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)(i * 37 + 11 + salt);
}

/* The engine's output for pattern(salt) (single input, single output). */
static uint8_t *answer(enum fixture_model which, unsigned salt, size_t *len)
{
	struct fixture_ref *r;
	struct dnnq_diag d = { "" };
	ck_assert_msg(fixture_ref_create(which, &r, &d) == 0, "%s", d.msg);
	size_t ni = fixture_io_bytes(fixture_ref_io(r, 0, 0), 1);
	*len = fixture_io_bytes(fixture_ref_io(r, 1, 0), 1);
	uint8_t *x = malloc(ni), *y = malloc(*len);
	ck_assert(x && y);
	pattern(x, ni, salt);
	const void *in[1] = { x };
	void *out[1] = { y };
	ck_assert_int_eq(fixture_ref_run(r, 1, in, out), 0);
	fixture_ref_destroy(r);
	free(x);
	return y;
}

static int call_open(struct dnnq_client *c, const char *name, unsigned salt, struct call *k)
{
	memset(k, 0, sizeof *k);
	int rc = dnnq_model_open(c, name, &k->m);
	if (!rc)
		rc = dnnq_tensor_alloc_io(k->m, DNNQ_INPUT, 0, 1, &k->in);
	if (!rc)
		rc = dnnq_tensor_alloc_io(k->m, DNNQ_OUTPUT, 0, 1, &k->out);
	if (!rc)
		pattern(k->in.data, k->in.bytes, salt);
	return rc;
}

static int call_run(struct call *k)
{
	const struct dnnq_tensor *in[1] = { &k->in };
	struct dnnq_tensor *out[1] = { &k->out };
	memset(k->out.data, 0, k->out.bytes);
	return dnnq_infer(k->m, in, out, REQ_TIMEOUT_MS);
}

/* ---- a client killed with requests in flight ----------------------------- */

enum { KILLS = 100, KILL_PARALLEL = 4, KILL_DEPTH = 6 };

/* The child: its own client, KILL_DEPTH requests submitted, one byte to the
 * parent, then wait to be killed. */
static void doomed_client(const char *socket, int ready)
{
	struct dnnq_connect_opts o = { .slots = KILL_DEPTH, .arena_bytes = 1 << 20 };
	struct dnnq_client *c;
	struct dnnq_model *m;
	struct dnnq_tensor x[KILL_DEPTH], y[KILL_DEPTH];
	struct dnnq_request r[KILL_DEPTH];
	char ok = 1;
	if (dnnq_connect(socket, &o, &c) || dnnq_model_open(c, "fc1024", &m))
		ok = 0;
	for (int i = 0; ok && i < KILL_DEPTH; i++) {
		const struct dnnq_tensor *in[1] = { &x[i] };
		struct dnnq_tensor *out[1] = { &y[i] };
		ok = !dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &x[i]) &&
		     !dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &y[i]) &&
		     !dnnq_submit(m, in, out, &r[i]);
	}
	if (write(ready, &ok, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static void wait_sessions(struct dnnq_client *c, uint32_t want)
{
	struct dnnq_stats st = { 0 };
	for (int t = 0; t < WAIT_MS / 5; t++) {
		ck_assert_int_eq(dnnq_stats(c, &st), 0);
		if (st.sessions == want)
			return;
		fixture_sleep_ms(5);
	}
	ck_abort_msg("%u sessions, not %u: '%s'", st.sessions, want, st.status);
}

static void wait_fds(pid_t pid, int want)
{
	int n = 0;
	for (int t = 0; t < WAIT_MS / 5 && (n = count_fds(pid)) > want; t++)
		fixture_sleep_ms(5);
	ck_assert_msg(n <= want, "dnnqd has %d fds, %d before", n, want);
}

START_TEST(client_killed_in_flight)
{
	struct fixture_daemon d;
	struct call honest;
	size_t len;
	uint8_t *want = answer(FIXTURE_RELU64, 0, &len);
	test_daemon_start(&d, FIXTURE_ALL_MODELS, NULL);
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 4, .arena_bytes = 1 << 20 };
	ck_assert_int_eq(dnnq_connect(d.socket, &o, &c), 0);
	ck_assert_int_eq(call_open(c, "relu64", 0, &honest), 0);
	ck_assert_int_eq(call_run(&honest), 0);
	wait_sessions(c, 1);
	int fds = count_fds(d.pid);
	int killed = 0, honest_ok = 0;
	while (killed < KILLS) {
		pid_t pid[KILL_PARALLEL];
		int n = KILLS - killed < KILL_PARALLEL ? KILLS - killed : KILL_PARALLEL;
		for (int i = 0; i < n; i++) {
			int p[2];
			char ok = 0;
			ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
			pid[i] = fixture_fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				close(p[0]);
				doomed_client(d.socket, p[1]);
			}
			close(p[1]);
			ck_assert_int_eq(read(p[0], &ok, 1), 1);
			close(p[0]);
			ck_assert_msg(ok, "child %d could not submit", killed + i);
		}
		for (int i = 0; i < n; i++) {
			kill(pid[i], SIGKILL);
			ck_assert_int_ne(fixture_wait(pid[i], WAIT_MS), -1);
		}
		killed += n;
		ck_assert_int_eq(call_run(&honest), 0);
		ck_assert_mem_eq(honest.out.data, want, len);
		honest_ok++;
	}
	wait_sessions(c, 1);
	wait_fds(d.pid, fds);
	ck_assert_int_eq(call_run(&honest), 0);
	ck_assert_mem_eq(honest.out.data, want, len);
	printf("faults: client SIGKILLed with %d requests in flight: %d tries: sessions"
	       " reclaimed (1 left), fds back to %d, honest client %d/%d right\n",
	       KILL_DEPTH, killed, fds, honest_ok + 1, honest_ok + 1);
	dnnq_tensor_free(c, &honest.in);
	dnnq_tensor_free(c, &honest.out);
	dnnq_model_close(honest.m);
	dnnq_close(c);
	test_daemon_stop(&d);
	free(want);
}
END_TEST

/* ---- dnnqd killed under load ---------------------------------------------- */

enum { RESTARTS = 3, LOADERS = 3 };

struct loader_thread {
	const char *socket;
	const uint8_t *want;
	size_t len;
	_Atomic bool *halt;
	_Atomic int *epoch;             /* restarts so far (the kill's number) */
	_Atomic double *killed_at;      /* fixture_now_s() of the last kill */
	_Atomic uint64_t ok, wrong, other;
	_Atomic int ok_epoch;           /* the epoch of the last right answer */
	double worst_s;                 /* kill -> DNNQ_E_DISCONNECTED */
	int disconnects;
	int why;                        /* the first unexpected code */
	pthread_t thread;
};

static void *loader_main(void *arg)
{
	struct loader_thread *l = arg;
	struct dnnq_connect_opts o = { .slots = 2, .arena_bytes = 1 << 20 };
	while (!atomic_load(l->halt)) {
		struct dnnq_client *c = NULL;
		struct call k;
		int e = atomic_load(l->epoch);
		if (dnnq_connect(l->socket, &o, &c)) {
			fixture_sleep_ms(5);        /* the daemon is down: try again */
			continue;
		}
		int rc = call_open(c, "fc1024", 0, &k);
		if (rc) {               /* killed between connect and the first request */
			if (rc == DNNQ_E_DISCONNECTED)
				l->disconnects++;
			dnnq_close(c);
			continue;
		}
		while (!(rc = call_run(&k)) && !atomic_load(l->halt)) {
			if (memcmp(k.out.data, l->want, l->len)) {
				atomic_fetch_add(&l->wrong, 1);
			} else {
				atomic_fetch_add(&l->ok, 1);
				atomic_store(&l->ok_epoch, e);
			}
		}
		if (rc == DNNQ_E_DISCONNECTED) {
			double t = fixture_now_s() - atomic_load(l->killed_at);
			if (t > l->worst_s)
				l->worst_s = t;
			l->disconnects++;
		} else if (rc) {
			if (!atomic_fetch_add(&l->other, 1))
				l->why = rc;
		}
		dnnq_close(c);
	}
	return NULL;
}

static void wait_all_ok(struct loader_thread *l, int epoch)
{
	for (int t = 0; t < WAIT_MS / 5; t++) {
		bool all = true;
		for (int i = 0; i < LOADERS; i++)
			all = all && atomic_load(&l[i].ok_epoch) >= epoch && atomic_load(&l[i].ok);
		if (all)
			return;
		fixture_sleep_ms(5);
	}
	ck_abort_msg("not every client got a right answer after restart %d", epoch);
}

START_TEST(daemon_killed_under_load)
{
	struct fixture_daemon d;
	size_t len;
	uint8_t *want = answer(FIXTURE_FC1024, 0, &len);
	test_daemon_start(&d, 1u << FIXTURE_FC1024, NULL);
	_Atomic bool halt = false;
	_Atomic int epoch = 0;
	_Atomic double killed_at = fixture_now_s();
	static struct loader_thread l[LOADERS];
	memset(l, 0, sizeof l);
	for (int i = 0; i < LOADERS; i++) {
		l[i] = (struct loader_thread){ .socket = d.socket, .want = want, .len = len,
		                               .halt = &halt, .epoch = &epoch,
		                               .killed_at = &killed_at, .ok_epoch = -1 };
		ck_assert_int_eq(pthread_create(&l[i].thread, NULL, loader_main, &l[i]), 0);
	}
	wait_all_ok(l, 0);
	struct dnnq_diag diag = { "" };
	for (int r = 1; r <= RESTARTS; r++) {
		atomic_store(&killed_at, fixture_now_s());
		fixture_daemon_kill(&d);
		fixture_sleep_ms(50);
		atomic_store(&epoch, r);
		ck_assert_msg(fixture_daemon_restart(&d, &diag) == 0, "%s", diag.msg);
		wait_all_ok(l, r);
	}
	atomic_store(&halt, true);
	double worst = 0;
	int disconnects = 0;
	uint64_t ok = 0;
	for (int i = 0; i < LOADERS; i++) {
		pthread_join(l[i].thread, NULL);
		ck_assert_msg(!l[i].wrong && !l[i].other, "client %d: %llu wrong, %llu failed (%s)",
		              i, (unsigned long long)l[i].wrong, (unsigned long long)l[i].other,
		              dnnq_strerror(l[i].why));
		ck_assert_msg(l[i].disconnects >= RESTARTS, "client %d: %d disconnects for %d kills",
		              i, l[i].disconnects, RESTARTS);
		worst = l[i].worst_s > worst ? l[i].worst_s : worst;
		disconnects += l[i].disconnects;
		ok += l[i].ok;
	}
	printf("faults: dnnqd SIGKILLed and restarted under load (%d clients): %d tries:"
	       " %d waiting calls got DNNQ_E_DISCONNECTED (slowest %.0f ms after the kill),"
	       " every client reconnected, %llu right answers, 0 wrong\n",
	       LOADERS, RESTARTS, disconnects, worst * 1e3, (unsigned long long)ok);
	test_daemon_stop(&d);
	free(want);
}
END_TEST

/* ---- a model file broken before a reload ---------------------------------- */

/* "serving 1 model, 2 sessions, 7 reloads; ...": 7 */
static unsigned reloads_in(const char *status)
{
	const char *p = strstr(status, "session");
	unsigned n = 0;
	if (p && (p = strchr(p, ',')) && sscanf(p, ", %u reload", &n) != 1)
		n = 0;
	return n;
}

static void status_of(struct dnnq_client *c, char *buf, size_t len)
{
	struct dnnq_stats st;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	snprintf(buf, len, "%s", st.status);
}

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

enum breakage { TRUNCATED, DIRECTORY, REMOVED, ZERO_LENGTH, SPARSE, FIFO, DEV_ZERO,
                PROC_KMSG, NBREAKAGES };

static const char *const breakage_name[NBREAKAGES] = {
	"truncated mid-file", "replaced by a directory", "removed", "truncated to 0 bytes",
	"grown to 512 MiB by a hole", "replaced by a FIFO", "replaced by a symlink to /dev/zero",
	"replaced by a symlink to /proc/kmsg",
};

/* What the failure's message must say besides the path. */
static const char *const breakage_says[NBREAKAGES] = {
	"", "regular file", "", "", "file size", "a FIFO", "a character device",
	/* a regular file of size 0 whose read waits for the kernel's next
	 * message (as root; others may not open it): judged by its size, or
	 * refused at the open, never read */
	"",
};

/* How far dnnqd's peak RSS may grow through a failed reload: a file is
 * judged by its header before it is read whole (daemon/loader.h), so a
 * model file grown by a hole costs a small read, not its size. */
#define BREAK_HWM_KIB (64 * 1024)
#define SPARSE_BYTES ((off_t)512 << 20)

static void do_break(const char *path, enum breakage b)
{
	struct stat st;
	/* the ones that put something else in the file's place, and REMOVED */
	if (b == DIRECTORY || b == FIFO || b == DEV_ZERO || b == PROC_KMSG || b == REMOVED)
		ck_assert_int_eq(unlink(path), 0);
	switch (b) {
	case TRUNCATED:
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
		break;
	case ZERO_LENGTH:
		ck_assert_int_eq(truncate(path, 0), 0);
		break;
	case SPARSE:
		ck_assert_int_eq(truncate(path, SPARSE_BYTES), 0);
		break;
	case DIRECTORY:
		ck_assert_int_eq(mkdir(path, 0755), 0);
		break;
	case FIFO:
		ck_assert_int_eq(mkfifo(path, 0644), 0);
		break;
	case DEV_ZERO:
		ck_assert_int_eq(symlink("/dev/zero", path), 0);
		break;
	case PROC_KMSG:
		ck_assert_int_eq(symlink("/proc/kmsg", path), 0);
		break;
	default:
		break;
	}
}

static void repair(const char *path)
{
	struct stat st;
	struct dnnq_diag d = { "" };
	char tmp[420];
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		ck_assert_int_eq(rmdir(path), 0);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	ck_assert_msg(fixture_model_write(FIXTURE_FC1024, tmp, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(reload_of_broken_file_keeps_serving)
{
	struct fixture_daemon d;
	char path[400], status[256];
	size_t len;
	uint8_t *want = answer(FIXTURE_FC1024, 0, &len);
	test_daemon_start(&d, 1u << FIXTURE_FC1024, NULL);
	snprintf(path, sizeof path, "%s/fc1024.dnnq", d.dir);
	struct dnnq_client *c;
	struct call k;
	ck_assert_int_eq(dnnq_connect(d.socket, NULL, &c), 0);
	ck_assert_int_eq(call_open(c, "fc1024", 0, &k), 0);
	int tries = 0;
	for (int b = 0; b < NBREAKAGES; b++) {
		status_of(c, status, sizeof status);
		unsigned before = reloads_in(status);
		long hwm = fixture_status_kib(d.pid, "VmHWM:");
		do_break(path, b);
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		wait_reload(c, before, true, status, sizeof status);
		ck_assert_msg(strstr(status, path) && strstr(status, breakage_says[b]),
		              "%s: '%s' does not name the failure", breakage_name[b], status);
		long grew = fixture_status_kib(d.pid, "VmHWM:") - hwm;
		ck_assert_msg(hwm > 0 && grew < BREAK_HWM_KIB, "%s: dnnqd's peak RSS grew %ld KiB"
		              " (at most %d)", breakage_name[b], grew, BREAK_HWM_KIB);
		const char *why = strstr(status, path) + strlen(path);
		printf("faults: model file %s before a reload: 1 tries: reload failed (\"...%s\"),"
		       " old version kept serving, dnnqd's peak RSS %+ld KiB\n", breakage_name[b],
		       why, grew);
		ck_assert_int_eq(call_run(&k), 0);
		ck_assert_mem_eq(k.out.data, want, len);
		ck_assert_uint_eq(dnnq_model_generation(k.m), 1);
		/* repaired (the same bytes): reloads fine, answers the same */
		before = reloads_in(status);
		repair(path);
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		wait_reload(c, before, false, status, sizeof status);
		ck_assert_int_eq(call_run(&k), 0);
		ck_assert_mem_eq(k.out.data, want, len);
		tries++;
	}
	printf("faults: model file truncated, zeroed, grown by a hole, replaced by a directory,"
	       " a FIFO, /dev/zero or /proc/kmsg, or removed before a reload: %d tries: reload failed naming"
	       " the file, old version kept serving, repaired file reloaded\n", tries);
	dnnq_tensor_free(c, &k.in);
	dnnq_tensor_free(c, &k.out);
	dnnq_model_close(k.m);
	dnnq_close(c);
	test_daemon_stop(&d);
	free(want);
}
END_TEST

/* ---- a model file rewritten in place while it is reloaded ----------------- */

#define INPLACE_RELOADS 20
#define INPLACE_CHUNK   (64u << 10)
#define INPLACE_PAUSE_MS 10

/* fc1024's file with every s8 tensor (the weights) redrawn: the same
 * size, signature and scales; its bytes, and the engine's answer to
 * pattern(0) on it into *want (len bytes). */
static void *fc_variant(size_t *bytes, uint8_t **want, size_t len)
{
	struct dnnq_diag d = { "" };
	struct dnnq_model m;
	struct dnnq_graph *g;
	void *orig, *buf;
	size_t olen;
	ck_assert_msg(fixture_model_bytes(FIXTURE_FC1024, &orig, &olen, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_model_read(orig, olen, &m, &d) == 0, "%s", d.msg);
	for (size_t t = 0; t < m.ntensors; t++) {
		struct dnnq_qtensor *q = &m.tensors[t].t;
		for (size_t i = 0; q->dtype == DNNQ_DTYPE_S8 && i < dnnq_qtensor_numel(q); i++)
			((int8_t *)q->data)[i] = (int8_t)((i * 2654435761u) >> 24);
	}
	ck_assert_msg(dnnq_model_write(&m, &buf, bytes, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(*bytes, olen);
	ck_assert_msg(dnnq_model_build(&m, dnnq_isa_best(), &g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, 1, 1, &d) == 0, "%s", d.msg);
	uint8_t *x = malloc(1024);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(*want = malloc(len));
	pattern(x, 1024, 0);
	const void *in[1] = { x };
	void *out[1] = { *want };
	ck_assert_int_eq(dnnq_graph_run(g, in, out, NULL), 0);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	free(orig);
	free(x);
	return buf;
}

/* The writer: the two versions of the file written over it in place in
 * turn, a chunk at a time, without a rename, until told to stop. */
struct inplace {
	const char *path;
	const void *v[2];
	size_t len;
	atomic_bool stop;
	unsigned long passes;
};

static void *inplace_main(void *arg)
{
	struct inplace *w = arg;
	int fd = open(w->path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	while (!atomic_load(&w->stop)) {
		const uint8_t *b = w->v[w->passes++ & 1];
		for (size_t off = 0; off < w->len && !atomic_load(&w->stop); off += INPLACE_CHUNK) {
			size_t n = w->len - off < INPLACE_CHUNK ? w->len - off : INPLACE_CHUNK;
			ck_assert(pwrite(fd, b + off, n, (off_t)off) == (ssize_t)n);
			sched_yield();
		}
		/* a while whole, so that some reloads take either version */
		fixture_sleep_ms(INPLACE_PAUSE_MS);
	}
	close(fd);
	return NULL;
}

/*
 * fc1024's file rewritten in place (no rename: what `cp` over it does),
 * between its own bytes and a version of other weights, a 64 KiB chunk
 * at a time (each version then left whole for 10 ms), all the while 20
 * SIGHUPs reload it (and the file watch on
 * its own): a reload reads the file while it is half one version and half
 * the other. Each answer after a reload must be one version's, byte for
 * byte: a torn file refused (its CRCs, or the file's identity changing
 * while read), never served; once the writing stops and the file is
 * whole, its version is served.
 */
START_TEST(reload_rewritten_in_place)
{
	struct fixture_daemon d;
	char path[400], status[256];
	size_t len, vlen;
	uint8_t *want[2], *vb;
	want[0] = answer(FIXTURE_FC1024, 0, &len);
	void *va = NULL, *vbuf = fc_variant(&vlen, &vb, len);
	want[1] = vb;
	ck_assert_msg(memcmp(want[0], want[1], len), "the variant answers as the original");
	test_daemon_start(&d, 1u << FIXTURE_FC1024, NULL);
	snprintf(path, sizeof path, "%s/fc1024.dnnq", d.dir);
	size_t alen;
	ck_assert_int_eq(fixture_model_bytes(FIXTURE_FC1024, &va, &alen, NULL), 0);
	ck_assert_uint_eq(alen, vlen);
	struct dnnq_client *c;
	struct call k;
	ck_assert_int_eq(dnnq_connect(d.socket, NULL, &c), 0);
	ck_assert_int_eq(call_open(c, "fc1024", 0, &k), 0);
	struct inplace w = { .path = path, .v = { va, vbuf }, .len = vlen };
	atomic_init(&w.stop, false);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, inplace_main, &w), 0);
	unsigned seen[2] = { 0, 0 }, reloads = 0;
	status_of(c, status, sizeof status);
	unsigned first = reloads_in(status);
	for (int i = 0; i < INPLACE_RELOADS; i++) {
		status_of(c, status, sizeof status);
		unsigned before = reloads_in(status);
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		for (int n = 0; n < WAIT_MS / 5 && reloads_in(status) <= before; n++) {
			fixture_sleep_ms(5);
			status_of(c, status, sizeof status);
		}
		ck_assert_msg(reloads_in(status) > before, "no reload after SIGHUP %d: '%s'", i,
		              status);
		ck_assert_int_eq(call_run(&k), 0);
		int v = !memcmp(k.out.data, want[0], len) ? 0 : !memcmp(k.out.data, want[1], len)
		        ? 1 : -1;
		ck_assert_msg(v >= 0, "after reload %d the answer is neither version's: a torn file"
		              " was served ('%s')", i, status);
		seen[v]++;
	}
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	status_of(c, status, sizeof status);
	reloads = reloads_in(status) - first;
	/* whole again (the variant, renamed over it): served */
	char tmp[420];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	ck_assert(f && fwrite(vbuf, 1, vlen, f) == vlen && fclose(f) == 0);
	unsigned before = reloads_in(status);
	ck_assert_int_eq(rename(tmp, path), 0);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	int n = 0;
	do {
		fixture_sleep_ms(5);
		ck_assert_int_eq(call_run(&k), 0);
	} while (memcmp(k.out.data, want[1], len) && ++n < WAIT_MS / 5);
	ck_assert_msg(!memcmp(k.out.data, want[1], len), "the whole variant was never served");
	status_of(c, status, sizeof status);
	printf("faults: fc1024's file rewritten in place between two versions (64 KiB chunks, no"
	       " rename, 10 ms whole after each) while reloaded: %d tries: %u reloads (SIGHUP and the file watch), %lu"
	       " rewrites; every answer one version's (%u the first, %u the other), no torn file"
	       " served; the file whole again served after %u more reload(s)\n", INPLACE_RELOADS,
	       reloads, w.passes, seen[0], seen[1], reloads_in(status) - before);
	dnnq_tensor_free(c, &k.in);
	dnnq_tensor_free(c, &k.out);
	dnnq_model_close(k.m);
	dnnq_close(c);
	test_daemon_stop(&d);
	free(want[0]);
	free(want[1]);
	free(va);
	free(vbuf);
}
END_TEST

/* ---- read errors while loading (in-process) ------------------------------- */

/* The hook: a bad sector (every read at fault_offset fails, so the
 * models.c re-reads fail too) or a transient error (the fault_at-th read
 * of the load fails once). The offsets of the reads are recorded. */
enum { MAX_READS = 256 };
static _Atomic int fault_reads;      /* reads seen */
static uint64_t fault_offsets[MAX_READS];
static bool fault_persistent;
static uint64_t fault_offset;
static int fault_at;                 /* transient: this read (1-based); 0: none */
static int fault_errno;

static int fault_hook(uint64_t offset, size_t len)
{
	(void)len;
	int n = atomic_fetch_add(&fault_reads, 1) + 1;
	if (n <= MAX_READS)
		fault_offsets[n - 1] = offset;
	if (fault_persistent)
		return offset == fault_offset ? fault_errno : 0;
	return n == fault_at ? fault_errno : 0;  /* EINTR: asked again, n moves on */
}

#ifdef __x86_64__
static int deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof *f, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#endif

/* Loads path as "fc" into a fresh table under the hook as set; the table
 * is freed. *reads: reads issued. */
static int load_with_fault(const char *path, int *reads, struct dnnq_diag *d)
{
	struct dnnqd_models *ms = dnnqd_models_new(1);
	ck_assert_ptr_nonnull(ms);
	atomic_store(&fault_reads, 0);
	dnnqd_loader_fault = fault_hook;
	d->msg[0] = '\0';
	int rc = dnnqd_models_load(ms, "fc", path, 4, d);
	dnnqd_loader_fault = NULL;
	*reads = atomic_load(&fault_reads);
	if (rc)
		ck_assert_uint_eq(ms->count, 0);
	else
		ck_assert_int_eq(dnnqd_models_find(ms, "fc"), 0);
	dnnqd_models_free(ms);
	return rc;
}

static int load_clean(const char *path, int *reads, struct dnnq_diag *d)
{
	fault_persistent = false;
	fault_at = 0;
	return load_with_fault(path, reads, d);
}

/* Every read offset of a load made a bad sector (EIO; a few other errnos
 * at the first, the middle and the last offset): the load fails naming
 * the file and the errno, and the next clean load works. Then every read
 * failing once (EIO, EINTR): models.c reads the file again, the load
 * works. The number of faulted loads. */
static int fault_every_read(const char *path, const char *loader)
{
	static const int errs[] = { EIO, ENOSPC, EFAULT, ENOMEM };
	struct dnnq_diag d = { "" };
	int reads = 0, tries = 0, r2;
	ck_assert_int_eq(load_clean(path, &reads, &d), 0);
	ck_assert_int_ge(reads, 2);
	ck_assert_int_le(reads, MAX_READS);
	uint64_t offsets[MAX_READS];
	memcpy(offsets, fault_offsets, sizeof offsets);
	for (int at = 0; at < reads; at++) {
		for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++) {
			if (e && at != 0 && at != reads - 1 && at != reads / 2)
				continue;
			fault_persistent = true;
			fault_offset = offsets[at];
			fault_errno = errs[e];
			int rc = load_with_fault(path, &r2, &d);
			tries++;
			ck_assert_msg(rc == DNNQ_E_IO, "%s: bad sector at %llu (%s): rc %d (%s)", loader,
			              (unsigned long long)offsets[at], strerror(errs[e]), rc, d.msg);
			ck_assert_msg(!strncmp(d.msg, path, strlen(path)) &&
			              strstr(d.msg, strerror(errs[e])),
			              "%s: '%s' names neither %s nor %s", loader, d.msg, path,
			              strerror(errs[e]));
			ck_assert_msg(load_clean(path, &r2, &d) == 0, "%s: after a fault: %s", loader,
			              d.msg);
		}
	}
	int persistent = tries;
	for (int at = 1; at <= reads; at++) {
		static const int once[] = { EIO, EINTR };
		for (int e = 0; e < 2; e++) {
			fault_persistent = false;
			fault_at = at;
			fault_errno = once[e];
			int rc = load_with_fault(path, &r2, &d);
			tries++;
			ck_assert_msg(rc == 0, "%s: %s once at read %d: %s", loader, strerror(once[e]),
			              at, d.msg);
		}
	}
	printf("faults: disk read error while loading a model (%s loader, %d reads a load,"
	       " bad sector at each offset): %d tries: load failed naming the file and errno,"
	       " next load fine%s\n", loader, reads, persistent,
#if defined(__SANITIZE_ADDRESS__)
	       ", no leak (ASan)"
#else
	       ""
#endif
	      );
	printf("faults: transient read error (EIO or EINTR once) while loading a model (%s"
	       " loader): %d tries: the file was read again, load fine\n", loader,
	       tries - persistent);
	return tries;
}

static void fault_file(char *dir, size_t dlen, char *path, size_t plen)
{
	struct dnnq_diag d = { "" };
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, dlen, "%s/faults-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, plen, "%s/fc1024.dnnq", dir);
	ck_assert_msg(fixture_model_write(FIXTURE_FC1024, path, &d) == 0, "%s", d.msg);
}

START_TEST(load_read_errors_io_uring)
{
	char dir[256], path[320];
	fault_file(dir, sizeof dir, path, sizeof path);
	/* 256 KiB reads: a few per file, several in flight */
	dnnqd_loader_tuning.chunk = 256 << 10;
	void *buf;
	size_t len;
	struct dnnq_diag d = { "" };
	enum dnnqd_loader used = DNNQD_LOADER_AUTO;
	int rc = dnnqd_load_file(path, DNNQD_LOADER_AUTO, 1ull << 30, &buf, &len, &used, &d);
	ck_assert_msg(rc == 0, "%s", d.msg);
	free(buf);
	if (used != DNNQD_LOADER_URING) {
		printf("faults: note: no io_uring here: the io_uring loader's faults skipped\n");
		return;
	}
	fault_every_read(path, "io_uring");
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(load_read_errors_read)
{
#ifdef __x86_64__
	char dir[256], path[320];
	fault_file(dir, sizeof dir, path, sizeof path);
	dnnqd_loader_tuning.chunk = 256 << 10;
	/* This test's process only (Check forks one per test): AUTO falls back. */
	ck_assert_int_eq(deny_io_uring(), 0);
	void *buf;
	size_t len;
	struct dnnq_diag d = { "" };
	enum dnnqd_loader used = DNNQD_LOADER_AUTO;
	ck_assert_int_eq(dnnqd_load_file(path, DNNQD_LOADER_AUTO, 1ull << 30, &buf, &len, &used,
	                                 &d), 0);
	free(buf);
	ck_assert_int_eq(used, DNNQD_LOADER_READ);
	fault_every_read(path, "read(2)");
	unlink(path);
	rmdir(dir);
#else
	printf("faults: note: seccomp filter is x86-64 only: the read(2) loader's faults"
	       " skipped\n");
#endif
}
END_TEST

Suite *suite_faults(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, load_read_errors_io_uring);
	tcase_add_test(tc, load_read_errors_read);
	tcase_add_test(tc, reload_of_broken_file_keeps_serving);
	tcase_add_test(tc, reload_rewritten_in_place);
	tcase_add_test(tc, client_killed_in_flight);
	tcase_add_test(tc, daemon_killed_under_load);
	suite_add_tcase(s, tc);
	return s;
}
