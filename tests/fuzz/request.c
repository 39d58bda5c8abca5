/*
 * Fuzzes the request-descriptor validation, as a worker meets it: a region
 * laid out and written by the daemon's own code (dnnq_shm_layout / _init)
 * in a heap buffer, the fuzz bytes copied over one slot's descriptor (and
 * over the header, when the input is longer), then dnnq_shm_attach,
 * dnnq_shm_desc_copy_validate and dnnqd_request_check against the fixture
 * model relu64 (built once). A request that passes is run, so a check that
 * lets through what the runner cannot serve shows up as a crash.
 *
 * Input: byte 0 picks the slot (mod slot_count + 1: one past the end too),
 * then up to sizeof(struct dnnq_shm_request) bytes of descriptor, then up to
 * sizeof(struct dnnq_shm_header) bytes over the header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/request.h"
#include "shm/dnnq_shm.h"
#include "tools/serve-fixture.h"

#define SLOTS 4u
#define ARENA ((uint64_t)64 << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnnqd_models *ms;
static struct dnnqd_runner runner;
static struct dnnq_shm_layout layout;
static uint8_t *pristine, *region;

static void die(const char *what, const struct dnnq_diag *d)
{
	fprintf(stderr, "fuzz-request: %s: %s\n", what, d->msg);
	exit(2);
}

static void setup(void)
{
	struct dnnq_diag d = { "" };
	void *buf;
	size_t n;
	if (fixture_model_bytes(FIXTURE_RELU64, &buf, &n, &d))
		die("fixture model", &d);
	dnnqd_log_threshold = DNNQD_LOG_ERROR;
	if (!(ms = dnnqd_models_new(1)) || dnnqd_models_add(ms, "relu64", buf, n, 8, &d))
		die("model table", &d);
	free(buf);
	if (dnnq_shm_layout(SLOTS, ARENA, &layout))
		die("layout", &d);
	pristine = aligned_alloc(DNNQ_SHM_ALIGN, layout.total_size);
	region = aligned_alloc(DNNQ_SHM_ALIGN, layout.total_size);
	if (!pristine || !region || dnnq_shm_init(pristine, layout.total_size, &layout))
		die("region", &d);
	dnnqd_runner_init(&runner, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnq_diag d = { "" };
	struct dnnq_shm view;
	struct dnnq_shm_request req;
	uint64_t copied;
	if (!ms)
		setup();
	if (size < 1)
		return 0;
	uint32_t slot = data[0] % (SLOTS + 1);
	data++, size--;
	memcpy(region, pristine, layout.total_size);
	size_t n = size < sizeof req ? size : sizeof req;
	struct dnnq_shm_slot *s = (struct dnnq_shm_slot *)(region + layout.slots_off) +
	                          (slot < SLOTS ? slot : 0);
	memcpy(&s->req, data, n);
	data += n, size -= n;
	if (size)
		memcpy(region, data, size < sizeof(struct dnnq_shm_header)
		                     ? size : sizeof(struct dnnq_shm_header));
	if (dnnq_shm_attach(region, layout.total_size, &view, &d))
		return 0;
	if (dnnq_shm_desc_copy_validate(&view, slot, &req, &d))
		return 0;
	if (dnnqd_request_check(ms, &req, &d))
		return 0;
	dnnqd_runner_run(&runner, ms, view.arena, &req, &copied);
	return 0;
}
