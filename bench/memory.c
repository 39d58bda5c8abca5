/*
 * dnnq-bench memory: what a second worker costs dnnqd (issue 15's target:
 * RSS with two workers minus RSS with one, both having served requests, at
 * most 0.3x the .dnnq file).
 *
 * The model is tools/serve-fixture's resnet18 (ResNet-18's shapes, random
 * weights: 11.7 M of them). For each worker count dnnqd starts on CPUs 0
 * (and 1), two client threads each run requests until every worker has
 * served some (dnnqd's STATS counts per daemon; the threads run until the
 * daemon has served REQUESTS, with two sessions at once both workers take
 * turns), and VmRSS is read from /proc. RSS is no timing: one run of each
 * is the measurement, repeated twice to show it is stable.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "client/dnnq.h"
#include "tools/serve-fixture.h"

enum { REQUESTS = 40, CLIENTS = 2 };

struct client {
	const char *socket;
	int rc;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct dnnq_client *cl = NULL;
	struct dnnq_model *m = NULL;
	struct dnnq_tensor x, y;
	struct dnnq_connect_opts o = { .slots = 1, .arena_bytes = 1 << 20 };
	int rc = dnnq_connect(c->socket, &o, &cl);
	if (!rc)
		rc = dnnq_model_open(cl, "resnet18", &m);
	if (!rc)
		rc = dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &x);
	if (!rc)
		rc = dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &y);
	for (int i = 0; !rc && i < REQUESTS / CLIENTS; i++) {
		const struct dnnq_tensor *in[1] = { &x };
		struct dnnq_tensor *out[1] = { &y };
		memset(x.data, 17 * i, x.bytes);
		rc = dnnq_infer(m, in, out, 60000);
	}
	c->rc = rc;
	dnnq_close(cl);
	return NULL;
}

/* dnnqd serving resnet18 on `workers` workers, after the clients' requests:
 * its VmRSS in KiB, and the model file's size in *file_bytes. */
static long served_rss(const char *bin, unsigned workers, long *file_bytes)
{
	struct fixture_daemon d = { 0 };
	struct dnnq_diag diag = { "" };
	const char *extra[] = { "--cpus", workers > 1 ? "0,1" : "0", NULL };
	if (fixture_daemon_start(&d, bin, 1u << FIXTURE_RESNET18, extra, &diag))
		bench_die("memory: starting %s: %s (log: %s)", bin, diag.msg, d.log);
	char path[400];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.dnnq", d.dir, fixture_model_name(FIXTURE_RESNET18));
	*file_bytes = stat(path, &st) ? -1 : (long)st.st_size;
	struct client c[CLIENTS];
	pthread_t t[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ d.socket, 0 };
		if (pthread_create(&t[i], NULL, client_main, &c[i]))
			bench_die("memory: pthread_create failed");
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		if (c[i].rc)
			bench_die("memory: a request failed: %s", dnnq_strerror(c[i].rc));
	}
	long kib = fixture_status_kib(d.pid, "VmRSS:");
	if (fixture_daemon_stop(&d, &diag))
		bench_warn("memory: dnnqd did not stop cleanly: %s", diag.msg);
	fixture_daemon_destroy(&d);
	return kib;
}

static const struct bench_col cols[] = {
	{ "run", "run", 4, -1 },
	{ "file_kib", "file KiB", 9, -1 },
	{ "rss1_kib", "RSS 1 worker", 13, -1 },
	{ "rss2_kib", "RSS 2 workers", 14, -1 },
	{ "delta_kib", "2nd worker KiB", 15, -1 },
	{ "delta_file", "x file", 7, 2 },
};

int bench_cmd_memory(const struct bench_opts *o)
{
	struct bench_machine m;
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	bench_machine_read(&m);
	fprintf(bench_text(o->tsv), "\n== memory: what a second dnnqd worker costs, serving "
	        "ResNet-18 (tools/serve-fixture's resnet18) ==\n");
	if (!bin || m.cpus < 2) {
		fprintf(bench_text(o->tsv), "memory: %s: skipped\n", !bin ? "no dnnqd binary "
		        "($DNNQ_DNNQD unset, none beside dnnq-bench)" : "fewer than 2 CPUs");
		return 0;
	}
	struct bench_table t;
	bench_table_begin(&t, cols, sizeof cols / sizeof *cols, o->tsv);
	for (int run = 1; run <= 2; run++) {
		long file = 0;
		long one = served_rss(bin, 1, &file), two = served_rss(bin, 2, &file);
		bench_cell_int(&t, run);
		bench_cell_int(&t, file / 1024);
		bench_cell_int(&t, one);
		bench_cell_int(&t, two);
		bench_cell_int(&t, two - one);
		bench_cell_num(&t, (double)(two - one) / ((double)file / 1024));
		bench_row_end(&t);
	}
	bench_note(&t, "VmRSS of dnnqd after %d batch-1 requests from %d sessions at once "
	           "(both workers serve), with --cpus 0 and --cpus 0,1. The packed weights live "
	           "once per model version (engine/wcache.h): a worker adds its graph's plan "
	           "(arena, scratch, node state). Target (issue 15): x file <= 0.30.",
	           REQUESTS, CLIENTS);
	return 0;
}
