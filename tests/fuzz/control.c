/*
 * Fuzzes the daemon's control-message validation (daemon/control.c): a
 * daemon started once in this process (one worker, the fixture model
 * relu64), and per input a fresh connection without a socket that is fed
 * the input's messages through dnnqd_conn_handle, then closed (its session,
 * if a HELLO made one, retired and reaped).
 *
 * Input: byte 0 picks the admission (1: refused DNNQ_E_PERM, 2: refused
 * DNNQ_E_BUSY, else admitted), then messages, each a 2-byte little-endian
 * length and that many bytes (the last one takes what is left).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/models.h"
#include "shm/dnnq_proto.h"
#include "tools/serve-fixture.h"

#define MAX_MSGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnnqd daemon_;
static int cpu, started;

static void die(const char *what, const struct dnnq_diag *d)
{
	fprintf(stderr, "fuzz-control: %s: %s\n", what, d->msg);
	exit(2);
}

static void setup(void)
{
	struct dnnq_diag d = { "" };
	struct dnnqd_models *ms;
	void *buf;
	size_t n;
	if (fixture_model_bytes(FIXTURE_RELU64, &buf, &n, &d))
		die("fixture model", &d);
	dnnqd_log_threshold = DNNQD_LOG_ERROR;
	if (!(ms = dnnqd_models_new(1)) || dnnqd_models_add(ms, "relu64", buf, n, 8, &d))
		die("model table", &d);
	free(buf);
	cpu_set_t online;
	if (sched_getaffinity(0, sizeof online, &online) == 0)
		while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &online))
			cpu++;
	/* small regions: a HELLO costs a memfd and a mapping per input */
	struct dnnqd_config cfg = { .cpus = &cpu, .ncpus = 1, .max_clients = 4,
	                            .max_session_bytes = (uint64_t)1 << 20, .max_inflight = 8 };
	if (dnnqd_start(&daemon_, &cfg, ms, &d))
		die("dnnqd_start", &d);
	started = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnqd_conn c;
	if (!started)
		setup();
	if (size < 1)
		return 0;
	memset(&c, 0, sizeof c);
	c.fd = -1;
	c.refusal = data[0] == 1 ? DNNQ_E_PERM : data[0] == 2 ? DNNQ_E_BUSY : 0;
	data++, size--;
	for (int i = 0; i < MAX_MSGS && size >= 2; i++) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2, size -= 2;
		if (len > size)
			len = size;
		/* a copy the exact length, so ASan sees any read past the message */
		uint8_t *m = malloc(len ? len : 1);
		if (!m)
			break;
		memcpy(m, data, len);
		dnnqd_conn_handle(&daemon_, &c, m, len);
		free(m);
		data += len, size -= len;
	}
	dnnqd_conn_close(&daemon_, &c);
	dnnqd_reap(&daemon_);
	return 0;
}
