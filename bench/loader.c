/*
 * bench/loader.c — `dnnq-bench loader`: how fast dnnqd gets a model from
 * disk into memory (daemon/loader.h) and how that compares with parsing and
 * packing it.
 *
 * The file: a chain of FC 4096 x 4096 layers with random s8 weights (16 MiB
 * each; 13 of them, 218 MB, or 3 with --quick), described as the struct
 * dnnq_model the writer takes and written by dnnq_model_write to a mkdtemp
 * directory under /tmp, fdatasync'ed (the page cache drops only clean
 * pages) and removed at exit, also when the run dies.
 *
 * Warm: the file in the page cache; the harness interleaves the loaders.
 * Cold: before each rep the file's pages are dropped with
 * posix_fadvise(POSIX_FADV_DONTNEED), which needs no root, and mincore on a
 * mapping of the file checks the drop took; the loaders alternate rep by
 * rep, each round starting one candidate further (the harness's warm-up
 * would defeat the drop, so cold reps are timed here). A hypervisor may
 * still cache the virtual disk below us: cold means this kernel's cache is
 * cold, not the disk.
 *
 * Three tables: io_uring at loader.h's defaults against read(2); io_uring's
 * depth x chunk choices against read(2), with the file's readahead and
 * without it (what the defaults were chosen from, daemon/loader.c); and
 * load, parse (dnnq_model_read, CRC32C included) and pack (dnnq_model_build
 * for bench_dnnq_isa()) with the loader dnnqd uses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench.h"
#include "daemon/loader.h"
#include "engine/model.h"
#include "tests/rng.h"

#define FC_K 4096
#define LAYERS 13          /* 13 x 16 MiB = 218 MB */
#define LAYERS_QUICK 3     /* 50 MB */
#define COLD_REPS 7
#define COLD_REPS_QUICK 3
#define STAGE_REPS 5
#define STAGE_REPS_QUICK 3
#define RESIDENT_OK 0.01   /* a drop that leaves more resident is not verified */
#define MB 1e6

/* ---- the model file ------------------------------------------------------ */

static char tmp_dir[64], tmp_file[96];

static void remove_tmp(void)
{
	if (tmp_file[0])
		unlink(tmp_file);
	if (tmp_dir[0])
		rmdir(tmp_dir);
}

static void set_name(char *dst, const char *fmt, size_t i)
{
	snprintf(dst, DNNQ_MODEL_NAME_MAX, fmt, i);
}

/* Layer i's weight (tensor 2i: s8, random in [-127, 127]) and bias
 * (tensor 2i + 1: s32 zeros). */
static void chain_layer_tensors(struct dnnq_model *m, size_t i, struct rng *r)
{
	static const int64_t wdims[2] = { FC_K, FC_K }, bdims[1] = { FC_K };
	static const struct dnnq_qparams wq = { 0.004f, 0, 8, true };
	struct dnnq_qtensor *w = &m->tensors[2 * i].t, *b = &m->tensors[2 * i + 1].t;
	set_name(m->tensors[2 * i].name, "fc%zu.w", i);
	set_name(m->tensors[2 * i + 1].name, "fc%zu.b", i);
	dnnq_qtensor_init(w);
	dnnq_qtensor_init(b);
	if (dnnq_qtensor_set_type(w, DNNQ_DTYPE_S8, 8, true) || dnnq_qtensor_resize(w, 2, wdims) ||
	    dnnq_qtensor_set_qparams(w, &wq) || dnnq_qtensor_set_type(b, DNNQ_DTYPE_S32, 0, true) ||
	    dnnq_qtensor_resize(b, 1, bdims))
		bench_die("bench: loader: cannot make layer %zu's tensors", i);
	int8_t *p = w->data;
	for (size_t k = 0; k < (size_t)FC_K * FC_K; k += 8) {
		uint64_t v = rng_next(r);
		for (size_t j = 0; j < 8; j++, v >>= 8)
			p[k + j] = (int8_t)v == -128 ? 127 : (int8_t)v;
	}
	memset(b->data, 0, FC_K * sizeof(int32_t));
}

/* x u8 [N, 4096] -> fc0 -> ... -> fc(layers-1) = y u8 [N, 4096]: value
 * 0 is x, node j makes value j + 1. */
static void chain_model(struct dnnq_model *m, size_t layers)
{
	static const struct dnnq_qparams q = { 0.5f, 128, 8, false };
	struct rng r = { 0x10ade5 };
	memset(m, 0, sizeof *m);
	snprintf(m->name, sizeof m->name, "fc-chain-%zu", layers);
	snprintf(m->producer, sizeof m->producer, "bench/loader.c");
	snprintf(m->calibration, sizeof m->calibration, "none");
	m->ninputs = m->noutputs = 1;
	m->ntensors = 2 * layers;
	m->nnodes = layers;
	m->inputs = bench_alloc(sizeof *m->inputs);
	m->outputs = bench_alloc(sizeof *m->outputs);
	m->tensors = bench_alloc(m->ntensors * sizeof *m->tensors);
	m->nodes = bench_alloc(layers * sizeof *m->nodes);
	m->inputs[0] = (struct dnnq_model_io){ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 2,
	                                       .dims = { 1, FC_K }, .qp = q, .value = -1 };
	m->outputs[0] = m->inputs[0];
	snprintf(m->outputs[0].name, sizeof m->outputs[0].name, "y");
	m->outputs[0].value = (int32_t)layers;
	for (size_t j = 0; j < layers; j++) {
		struct dnnq_model_node *n = &m->nodes[j];
		char name[DNNQ_MODEL_NAME_MAX];
		set_name(name, "fc%zu", j);
		dnnq_model_node_init(n, DNNQ_NODE_FC, name);
		n->ninputs = 1;
		n->inputs[0] = (int32_t)j;
		n->weight = (int32_t)(2 * j);
		n->bias = (int32_t)(2 * j + 1);
		n->n = n->k = FC_K;
		n->out_dtype = DNNQ_DTYPE_U8;
		n->out_scale = q.scale;
		n->out_zero_point = q.zero_point;
		n->out_precision = q.precision;
		chain_layer_tensors(m, j, &r);
	}
}

static void write_all(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	for (size_t done = 0; fd >= 0 && done < len;) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno != EINTR)
			break;
		done += n > 0 ? (size_t)n : 0;
		if (done == len && !fdatasync(fd) && !close(fd))
			return;
	}
	bench_die("bench: loader: cannot write %s: %s", path, strerror(errno));
}

/* Writes the model file; its size. */
static uint64_t make_file(size_t layers)
{
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dnnq-bench-loader-XXXXXX");
	if (!mkdtemp(tmp_dir))
		bench_die("bench: loader: mkdtemp %s: %s", tmp_dir, strerror(errno));
	atexit(remove_tmp);
	snprintf(tmp_file, sizeof tmp_file, "%s/chain.dnnq", tmp_dir);
	chain_model(&m, layers);
	if (dnnq_model_write(&m, &buf, &len, &d))
		bench_die("bench: loader: dnnq_model_write: %s", d.msg);
	dnnq_model_free(&m);
	write_all(tmp_file, buf, len);
	free(buf);
	return len;
}

/* ---- loading ------------------------------------------------------------- */

struct lcand {
	const char *label;
	enum dnnqd_loader which;
	struct dnnqd_loader_tuning tune;
	uint64_t bytes;
};

static void *load_or_die(const struct lcand *c)
{
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	dnnqd_loader_tuning = c->tune;
	int rc = dnnqd_load_file(tmp_file, c->which, UINT64_MAX, &buf, &len, NULL, &d);
	dnnqd_loader_tuning = (struct dnnqd_loader_tuning)DNNQD_LOADER_DEFAULTS;
	if (rc)
		bench_die("bench: loader %s: %s", c->label, d.msg);
	if (len != c->bytes)
		bench_die("bench: loader %s: %zu bytes, not %llu", c->label, len,
		          (unsigned long long)c->bytes);
	return buf;
}

static void run_load(void *arg)
{
	free(load_or_die(arg));
}

/* Share of the file's pages in the page cache; -1 when mincore cannot say. */
static double resident_share(uint64_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (size_t)((bytes + (uint64_t)page - 1) / (uint64_t)page), in = 0;
	int fd = open(tmp_file, O_RDONLY | O_CLOEXEC);
	void *map = fd >= 0 ? mmap(NULL, (size_t)bytes, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	unsigned char *vec = bench_alloc(pages);
	bool ok = map != MAP_FAILED && !mincore(map, (size_t)bytes, vec);
	for (size_t i = 0; ok && i < pages; i++)
		in += vec[i] & 1;
	if (map != MAP_FAILED)
		munmap(map, (size_t)bytes);
	if (fd >= 0)
		close(fd);
	free(vec);
	return ok ? (double)in / (double)pages : -1;
}

/* Drops the file from the page cache; the share still resident. */
static double drop_cache(uint64_t bytes)
{
	int fd = open(tmp_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		bench_die("bench: loader: cannot drop %s from the page cache", tmp_file);
	close(fd);
	return resident_share(bytes);
}

static int cmp_seconds(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *s, unsigned n)
{
	qsort(s, n, sizeof *s, cmp_seconds);
	return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* What the cold reps saw: the worst residency after a drop (-1: unknown)
 * and the CPUs others kept busy. */
struct cold_info {
	double resident, others;
	unsigned reps;
};

/* median[i]: seconds of c[i] from a dropped cache. One round per rep, each
 * starting one candidate further: on this VM a cold load runs at a third
 * of its speed right after a load without readahead (the virtual disk's
 * host seems to keep state between them), so no candidate may always
 * follow the same one. */
static void cold_interleave(const struct lcand *c, size_t n, unsigned reps, double *median,
                            struct cold_info *info)
{
	double *s = bench_alloc(n * reps * sizeof *s);
	struct bench_load load;
	info->resident = 0;
	info->reps = reps;
	bench_load_begin(&load);
	for (unsigned r = 0; r < reps; r++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = (r + k) % n;
			double left = drop_cache(c[i].bytes);
			info->resident = left < 0 || info->resident < 0 ? -1 : fmax(info->resident, left);
			double t0 = bench_now();
			run_load((void *)&c[i]);
			s[i * reps + r] = bench_now() - t0;
		}
	}
	info->others = bench_load_end(&load);
	for (size_t i = 0; i < n; i++)
		median[i] = median_of(s + i * reps, reps);
	free(s);
}

static unsigned reps_of(unsigned full, unsigned quick)
{
	return bench_is_quick() ? quick : full;
}

static bool cold_verified(const struct cold_info *ci)
{
	return ci->resident >= 0 && ci->resident <= RESIDENT_OK;
}

/* Loads the file with every loader once: the same bytes, and they parse.
 * Which loader AUTO picks. */
static enum dnnqd_loader check_loaders(uint64_t bytes)
{
	static const enum dnnqd_loader which[3] = { DNNQD_LOADER_AUTO, DNNQD_LOADER_URING,
	                                            DNNQD_LOADER_READ };
	void *buf[3];
	size_t len;
	enum dnnqd_loader used = DNNQD_LOADER_READ;
	struct dnnq_diag d = { "" };
	for (int i = 0; i < 3; i++) {
		int rc = dnnqd_load_file(tmp_file, which[i], UINT64_MAX, &buf[i], &len,
		                         i ? NULL : &used, &d);
		if (rc || len != bytes)
			bench_die("bench: loader %s: %s", dnnqd_loader_name(which[i]),
			          rc ? d.msg : "wrong size");
	}
	if (memcmp(buf[0], buf[1], bytes) || memcmp(buf[0], buf[2], bytes))
		bench_die("bench: loader: the loaders read different bytes");
	struct dnnq_model m;
	if (dnnq_model_read(buf[0], bytes, &m, &d))
		bench_die("bench: loader: the model does not parse: %s", d.msg);
	dnnq_model_free(&m);
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	return used;
}

static struct lcand read_cand(uint64_t bytes)
{
	return (struct lcand){ "read", DNNQD_LOADER_READ, DNNQD_LOADER_DEFAULTS, bytes };
}

static void warm_interleave(const struct lcand *lc, size_t n, double *median, double *others,
                            unsigned *reps)
{
	struct bench_cand *c = bench_alloc(n * sizeof *c);
	struct bench_result *res = bench_alloc(n * sizeof *res);
	for (size_t i = 0; i < n; i++)
		c[i] = (struct bench_cand){ lc[i].label, run_load, (void *)&lc[i] };
	*others = bench_interleave_guarded(c, n, bench_budget(), 1, res);
	for (size_t i = 0; i < n; i++)
		median[i] = res[i].median;
	*reps = res[0].reps;
	free(res);
	free(c);
}

/* ---- io_uring against read(2) -------------------------------------------- */

static const struct bench_col cmp_cols[] = {
	{ "cache", "cache", 5, -2 },
	{ "mb", "MB", 6, 1 },
	{ "uring_mb_s", "io_uring MB/s", 13, 0 },
	{ "read_mb_s", "read MB/s", 9, 0 },
	{ "uring_vs_read", "uring/read", 10, 2 },
	{ "others_cpus", "others", 6, 2 },
	{ "reps", "reps", 4, -1 },
	{ "resident_pct", "resident %", 10, 1 },
};

static void cmp_row(struct bench_table *t, const char *cache, uint64_t bytes, const double *s,
                    double others, unsigned reps, double resident)
{
	bench_cell_str(t, cache);
	bench_cell_num(t, (double)bytes / MB);
	bench_cell_num(t, (double)bytes / MB / s[0]);
	bench_cell_num(t, (double)bytes / MB / s[1]);
	bench_cell_num(t, s[1] / s[0]);
	bench_cell_num(t, others);
	bench_cell_int(t, reps);
	bench_cell_num(t, resident * 100);
	bench_row_end(t);
}

static void compare_table(const struct bench_opts *o, uint64_t bytes)
{
	struct lcand lc[2] = { { "io_uring", DNNQD_LOADER_URING, DNNQD_LOADER_DEFAULTS, bytes },
	                       read_cand(bytes) };
	struct bench_table t;
	struct cold_info ci;
	double s[2], others;
	unsigned reps;
	fprintf(bench_text(o->tsv), "\n== loader: io_uring (%u x %u KiB in flight) against "
	        "read(2) (%u KiB per call), 1 thread ==\n", DNNQD_LOADER_DEPTH,
	        DNNQD_LOADER_CHUNK >> 10, DNNQD_LOADER_CHUNK >> 10);
	bench_table_begin(&t, cmp_cols, sizeof cmp_cols / sizeof *cmp_cols, o->tsv);
	warm_interleave(lc, 2, s, &others, &reps);
	cmp_row(&t, "warm", bytes, s, others, reps, resident_share(bytes));
	cold_interleave(lc, 2, reps_of(COLD_REPS, COLD_REPS_QUICK), s, &ci);
	cmp_row(&t, "cold", bytes, s, ci.others, ci.reps, ci.resident);
	bench_note(&t, "MB/s: 10^6 bytes/s from medians of interleaved reps (io_uring, read, "
	           "io_uring, ...), each a whole dnnqd_load_file: open, a fresh 64-byte aligned "
	           "buffer (its page faults included), the reads, close, free. warm: the file in "
	           "the page cache. cold: dropped before each rep with posix_fadvise(DONTNEED); "
	           "resident %%: the most of the file mincore still saw cached after a drop "
	           "(warm: after the reps).");
	if (!cold_verified(&ci))
		bench_note(&t, "cold: the drop could not be verified (%s): the cold row may be "
		           "partly warm.", ci.resident < 0 ? "mincore failed" : "pages stayed resident");
	else
		bench_note(&t, "cold: this kernel's page cache was empty for the file; a hypervisor "
		           "may still cache the virtual disk below it.");
}

/* ---- depth x chunk ------------------------------------------------------- */

#define MIB (1u << 20)

/* Around the defaults: shallower, deeper, smaller and larger chunks, and
 * the reads handed to io-wq. Then, as a group of their own (see
 * cold_interleave), the same without readahead. */
static const struct lcand sweep[] = {
	{ "read", DNNQD_LOADER_READ, { 1, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 1, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 2, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 4, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 8, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 16, MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 8, MIB / 4, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 8, 4 * MIB, false, false }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 8, MIB, true, false }, 0 },
};
static const struct lcand sweep_no_ra[] = {
	{ "read", DNNQD_LOADER_READ, { 1, MIB, false, true }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 4, MIB, false, true }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 8, MIB, false, true }, 0 },
	{ "io_uring", DNNQD_LOADER_URING, { 16, MIB, false, true }, 0 },
};
#define NSWEEP_MAX (sizeof sweep / sizeof *sweep)

static const struct bench_col sweep_cols[] = {
	{ "loader", "loader", 41, -2 },
	{ "depth", "", 0, -1 },
	{ "chunk_bytes", "", 0, -1 },
	{ "async", "", 0, -1 },
	{ "readahead", "", 0, -1 },
	{ "warm_mb_s", "warm MB/s", 9, 0 },
	{ "warm_vs_read", "vs read", 7, 2 },
	{ "cold_mb_s", "cold MB/s", 9, 0 },
	{ "cold_vs_read", "vs read", 7, 2 },
};

static void sweep_label(const struct lcand *c, char *buf, size_t n)
{
	const char *ra = c->tune.no_readahead ? ", no readahead" : "";
	if (c->which == DNNQD_LOADER_READ)
		snprintf(buf, n, "read(2), %u KiB%s", c->tune.chunk >> 10, ra);
	else
		snprintf(buf, n, "io_uring %u x %u KiB%s%s", c->tune.depth, c->tune.chunk >> 10,
		         c->tune.async ? " async" : "", ra);
}

/* One group of candidates, interleaved; c[0] is the read(2) reference.
 * Its rows, and what the note says about its reps. */
static void sweep_group(struct bench_table *t, const struct lcand *group, size_t n,
                        uint64_t bytes, char *note, size_t note_len)
{
	struct lcand lc[NSWEEP_MAX];
	double warm[NSWEEP_MAX], cold[NSWEEP_MAX], others;
	unsigned reps;
	struct cold_info ci;
	for (size_t i = 0; i < n; i++) {
		lc[i] = group[i];
		lc[i].bytes = bytes;
	}
	warm_interleave(lc, n, warm, &others, &reps);
	cold_interleave(lc, n, reps_of(COLD_REPS, COLD_REPS_QUICK), cold, &ci);
	for (size_t i = 0; i < n; i++) {
		char label[64];
		sweep_label(&lc[i], label, sizeof label);
		bench_cell_str(t, label);
		bench_cell_int(t, lc[i].which == DNNQD_LOADER_READ ? 0 : lc[i].tune.depth);
		bench_cell_int(t, lc[i].tune.chunk);
		bench_cell_int(t, lc[i].tune.async);
		bench_cell_int(t, !lc[i].tune.no_readahead);
		bench_cell_num(t, (double)bytes / MB / warm[i]);
		bench_cell_num(t, warm[0] / warm[i]);
		bench_cell_num(t, (double)bytes / MB / cold[i]);
		bench_cell_num(t, cold[0] / cold[i]);
		bench_row_end(t);
	}
	snprintf(note, note_len, "%zu loaders, warm %u reps (others %.2f CPUs), cold %u reps "
	         "(others %.2f CPUs, drop %s)", n, reps, others, ci.reps, ci.others,
	         cold_verified(&ci) ? "verified" : "NOT verified");
}

static void sweep_table(const struct bench_opts *o, uint64_t bytes)
{
	struct bench_table t;
	char note[2][160];
	fprintf(bench_text(o->tsv), "\n== loader: io_uring queue depth x chunk size against "
	        "read(2), 1 thread ==\n");
	bench_table_begin(&t, sweep_cols, sizeof sweep_cols / sizeof *sweep_cols, o->tsv);
	sweep_group(&t, sweep, NSWEEP_MAX, bytes, note[0], sizeof note[0]);
	sweep_group(&t, sweep_no_ra, sizeof sweep_no_ra / sizeof *sweep_no_ra, bytes, note[1],
	            sizeof note[1]);
	bench_note(&t, "Two groups, each interleaved on its own: with readahead (%s) and without "
	           "(%s). vs read: the group's read(2) row's median time over this row's. async: "
	           "IOSQE_ASYNC, every read copied by an io-wq kernel thread. no readahead: "
	           "POSIX_FADV_RANDOM instead of SEQUENTIAL, so reads reach the device as issued: "
	           "what depth buys where readahead is small.", note[0], note[1]);
}

/* ---- load, parse, pack --------------------------------------------------- */

enum { ST_LOAD, ST_PARSE, ST_PACK, NSTAGES };

/* One rep of what dnnqd does with a model file; seconds per stage. */
static void stage_rep(const struct lcand *c, double *s)
{
	struct dnnq_model m;
	struct dnnq_graph *g;
	struct dnnq_diag d = { "" };
	double t0 = bench_now();
	void *buf = load_or_die(c);
	double t1 = bench_now();
	if (dnnq_model_read(buf, c->bytes, &m, &d))
		bench_die("bench: loader: dnnq_model_read: %s", d.msg);
	double t2 = bench_now();
	if (dnnq_model_build(&m, bench_dnnq_isa(), &g, &d))
		bench_die("bench: loader: dnnq_model_build: %s", d.msg);
	double t3 = bench_now();
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	free(buf);
	s[ST_LOAD] = t1 - t0;
	s[ST_PARSE] = t2 - t1;
	s[ST_PACK] = t3 - t2;
}

static const struct bench_col stage_cols[] = {
	{ "cache", "cache", 5, -2 },
	{ "load_ms", "load ms", 8, 1 },
	{ "parse_ms", "parse ms", 8, 1 },
	{ "pack_ms", "pack ms", 8, 1 },
	{ "total_ms", "total ms", 8, 1 },
	{ "load_pct", "load %", 6, 0 },
	{ "load_mb_s", "load MB/s", 9, 0 },
	{ "parse_mb_s", "parse MB/s", 10, 0 },
	{ "pack_mb_s", "pack MB/s", 9, 0 },
	{ "reps", "reps", 4, -1 },
};

static void stage_row(struct bench_table *t, const struct lcand *c, bool cold, unsigned reps)
{
	double *s = bench_alloc(NSTAGES * reps * sizeof *s), med[NSTAGES], total = 0;
	for (unsigned r = 0; r < reps; r++) {
		double one[NSTAGES];
		if (cold)
			drop_cache(c->bytes);
		stage_rep(c, one);
		for (int k = 0; k < NSTAGES; k++)
			s[k * reps + r] = one[k];
	}
	for (int k = 0; k < NSTAGES; k++)
		total += med[k] = median_of(s + k * reps, reps);
	bench_cell_str(t, cold ? "cold" : "warm");
	for (int k = 0; k < NSTAGES; k++)
		bench_cell_num(t, med[k] * 1e3);
	bench_cell_num(t, total * 1e3);
	bench_cell_num(t, 100 * med[ST_LOAD] / total);
	for (int k = 0; k < NSTAGES; k++)
		bench_cell_num(t, (double)c->bytes / MB / med[k]);
	bench_cell_int(t, reps);
	bench_row_end(t);
	free(s);
}

static void stage_table(const struct bench_opts *o, uint64_t bytes, enum dnnqd_loader used)
{
	struct lcand c = { "auto", DNNQD_LOADER_AUTO, DNNQD_LOADER_DEFAULTS, bytes };
	struct bench_table t;
	unsigned reps = reps_of(STAGE_REPS, STAGE_REPS_QUICK);
	fprintf(bench_text(o->tsv), "\n== loader: load (auto: %s) + parse + pack for %s, "
	        "1 thread ==\n", dnnqd_loader_name(used), dnnq_isa_name(bench_dnnq_isa()));
	bench_table_begin(&t, stage_cols, sizeof stage_cols / sizeof *stage_cols, o->tsv);
	stage_row(&t, &c, false, reps);
	stage_row(&t, &c, true, reps);
	bench_note(&t, "Medians of %u reps of what dnnqd does with a model file: load "
	           "(dnnqd_load_file, DNNQD_LOADER_AUTO), parse (dnnq_model_read: every section's "
	           "CRC32C, the tensors copied out), pack (dnnq_model_build: every FC's weights "
	           "packed for the GEMM kernel). MB/s: file bytes over the stage's time. cold: the "
	           "file dropped from the page cache before each rep. A warm load here can beat "
	           "the tables above: its buffer may reuse heap memory the previous rep freed "
	           "(glibc), where theirs is always fresh and page-faulted in.", reps);
}

int bench_cmd_loader(const struct bench_opts *o)
{
	FILE *txt = bench_text(o->tsv);
	size_t layers = bench_is_quick() ? LAYERS_QUICK : LAYERS;
	double t0 = bench_now();
	uint64_t bytes = make_file(layers);
	fprintf(txt, "\nloader: %s: %.1f MB (%zu FC %u x %u layers, s8 weights), written in "
	        "%.1f s\n", tmp_file, (double)bytes / MB, layers, FC_K, FC_K, bench_now() - t0);
	enum dnnqd_loader used = check_loaders(bytes);
	compare_table(o, bytes);
	sweep_table(o, bytes);
	stage_table(o, bytes, used);
	remove_tmp();
	tmp_file[0] = tmp_dir[0] = '\0';
	return 0;
}
