/*
 * dnnq-fuzz-seeds DIR: writes the seed corpora of the fuzz harnesses
 * (tests/fuzz/) into DIR/<harness>/ (`make fuzz-seeds` runs it on
 * tests/fuzz/corpus). Every seed is a small valid input made by the
 * project's own writers, so the fuzzer starts past the magic numbers and
 * the checksums; each file stays well under 64 KiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calibration/npy.h"
#include "engine/qtensor.h"
#include "shm/dnnq_proto.h"
#include "shm/dnnq_shm.h"
#include "tools/serve-fixture.h"

static const char *root;

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "dnnq-fuzz-seeds: %s: %s\n", what, why);
	exit(1);
}

static void dir(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", root, name);
	if (mkdir(path, 0755) && errno != EEXIST)
		fail(path, strerror(errno));
}

static void put(const char *harness, const char *file, const void *buf, size_t len)
{
	char path[4096];
	dir(harness, path, sizeof path);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", file);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		fail(path, strerror(errno));
}

static void models(void)
{
	static const enum fixture_model which[] = { FIXTURE_RELU64, FIXTURE_MULTI };
	struct dnnq_diag d = { "" };
	char path[4096];
	for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
		dir("model", path, sizeof path);
		snprintf(path + strlen(path), sizeof path - strlen(path), "/%s.dnnq",
		         fixture_model_name(which[i]));
		if (fixture_model_write(which[i], path, &d))
			fail(path, d.msg);
	}
}

static void qtensor(const char *file, enum dnnq_dtype dt, unsigned precision, bool is_signed,
                    uint32_t ndim, const int64_t *dims, int axis)
{
	struct dnnq_qtensor t;
	uint8_t buf[4096];
	size_t n;
	dnnq_qtensor_init(&t);
	if (dnnq_qtensor_set_type(&t, dt, precision, is_signed) || dnnq_qtensor_resize(&t, ndim, dims))
		fail(file, "type / shape");
	for (size_t i = 0; i < dnnq_qtensor_numel(&t) && dt != DNNQ_DTYPE_F32; i++)
		dnnq_qtensor_set_int(&t, i, (int32_t)(i % 7) - (is_signed ? 3 : 0));
	if (axis >= 0) {
		float s[16];
		int32_t z[16];
		for (int i = 0; i < 16; i++)
			s[i] = 0.01f * (float)(i + 1), z[i] = 0;
		if (dnnq_qtensor_set_qparams_axis(&t, (uint32_t)axis, (size_t)dims[axis], s, z))
			fail(file, "qparams");
	} else if (dt != DNNQ_DTYPE_F32 && dt != DNNQ_DTYPE_S32) {
		struct dnnq_qparams qp = { .scale = 0.05f, .zero_point = is_signed ? 0 : 128,
		                           .precision = (uint8_t)precision, .is_signed = is_signed };
		if (dnnq_qtensor_set_qparams(&t, &qp))
			fail(file, "qparams");
	}
	if (dnnq_qtensor_serialize(&t, buf, sizeof buf, &n))
		fail(file, "serialize");
	put("qtensor", file, buf, n);
	dnnq_qtensor_free(&t);
}

static void npy(const char *file, enum dnnq_dtype dt, const size_t *shape, unsigned ndim,
                const void *data)
{
	struct dnnq_diag d = { "" };
	uint8_t buf[4096];
	size_t n;
	if (dnnq_npy_encode(buf, sizeof buf, dt, shape, ndim, data, &n, &d))
		fail(file, d.msg);
	put("npy", file, buf, n);
}

static void configs(void)
{
	char buf[1 << 16];
	FILE *f = fopen("systemd/dnnqd.yaml", "rb");
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (!f || !n)
		fail("systemd/dnnqd.yaml", "cannot read (run from the top of the tree)");
	fclose(f);
	put("config", "dnnqd.yaml", buf, n);
	static const char every[] =
		"listen:\n  path: /tmp/dnnq-fuzz.sock\n  mode: 0640\n  group: root\n"
		"workers:\n  cpus: [0]\n  spin_us: 1000\n"
		"limits:\n  max_clients: 17\n  max_session_bytes: 256MiB\n  max_inflight: 9\n"
		"  max_batch: 128\n"
		"access:\n  uids: [1234, 0]\n  users: [root]\n  gids: [4321]\n  groups: [\"root\"]\n"
		"models:\n  - name: resnet-50_v1.5\n    path: models/resnet.dnnq\n    max_batch: 100\n"
		"    threads: 1\n    warmup: false\n  - {name: digits, path: '/abs/digits.dnnq'}\n"
		"log:\n  level: warn\n";
	static const char flow[] =
		"{listen: {path: /run/x.sock}, workers: {cpus: \"0\"}, models: [], log: {level: debug}}\n";
	put("config", "every-key.yaml", every, sizeof every - 1);
	put("config", "flow.yaml", flow, sizeof flow - 1);
}

/* Control inputs: an admission byte, then messages as [u16 length][bytes]. */
struct ctl {
	uint8_t b[1024];
	size_t n;
};

static void ctl_msg(struct ctl *c, const void *m, size_t len)
{
	c->b[c->n++] = (uint8_t)len;
	c->b[c->n++] = (uint8_t)(len >> 8);
	memcpy(c->b + c->n, m, len);
	c->n += len;
}

static struct dnnq_msg_hdr hdr(uint16_t type, uint32_t seq)
{
	return (struct dnnq_msg_hdr){ DNNQ_PROTO_MAGIC, DNNQ_PROTO_VERSION, type, seq, 0 };
}

static void controls(void)
{
	struct dnnq_msg_hello hello = { hdr(DNNQ_MSG_HELLO, 1), DNNQ_SHM_ABI_MAJOR,
	                                DNNQ_SHM_ABI_MINOR, 4, 0, 64 << 10 };
	struct dnnq_msg_open open = { .hdr = hdr(DNNQ_MSG_OPEN, 2) };
	struct dnnq_msg_open info = { .hdr = hdr(DNNQ_MSG_INFO, 3) };
	struct dnnq_msg_close close_ = { .hdr = hdr(DNNQ_MSG_CLOSE, 4) };
	struct dnnq_msg_hdr stats = hdr(DNNQ_MSG_STATS, 5);
	snprintf(open.name, sizeof open.name, "relu64");
	const struct { const char *file; const void *m; size_t len; } after[] = {
		{ "hello", NULL, 0 },
		{ "hello-open", &open, sizeof open },
		{ "hello-info", &info, sizeof info },
		{ "hello-close", &close_, sizeof close_ },
		{ "hello-stats", &stats, sizeof stats },
	};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
		struct ctl c = { .n = 1 };
		ctl_msg(&c, &hello, sizeof hello);
		if (after[i].m)
			ctl_msg(&c, after[i].m, after[i].len);
		put("control", after[i].file, c.b, c.n);
	}
	struct ctl c = { .b = { 1 }, .n = 1 };
	ctl_msg(&c, &hello, sizeof hello);
	put("control", "refused-hello", c.b, c.n);
}

/* Request inputs: a slot byte, then the descriptor: relu64 (id 0,
 * generation 1), U8 [batch, 64] in and out. */
static void requests(void)
{
	uint8_t b[1 + sizeof(struct dnnq_shm_request)];
	for (uint32_t batch = 1; batch <= 2; batch++) {
		struct dnnq_shm_request r = { 0, 1, batch, 1, 1, 0, { { 0 } } };
		for (int i = 0; i < 2; i++) {
			r.t[i] = (struct dnnq_shm_tensor){ .offset = (uint64_t)i * 128 * batch,
			                                  .bytes = 64u * batch,
			                                  .dtype = DNNQ_SHM_DTYPE_U8, .rank = 2,
			                                  .dims = { batch, 64 } };
		}
		b[0] = (uint8_t)(batch - 1);
		memcpy(b + 1, &r, sizeof r);
		put("request", batch == 1 ? "relu64-batch1" : "relu64-batch2", b, sizeof b);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dnnq-fuzz-seeds DIR (e.g. tests/fuzz/corpus)\n");
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST)
		fail(root, strerror(errno));
	models();
	qtensor("u8-per-tensor", DNNQ_DTYPE_U8, 8, false, 2, (const int64_t[]){ 2, 3 }, -1);
	qtensor("s8-per-axis", DNNQ_DTYPE_S8, 8, true, 2, (const int64_t[]){ 4, 3 }, 0);
	qtensor("s32-bias", DNNQ_DTYPE_S32, 32, true, 1, (const int64_t[]){ 5 }, -1);
	qtensor("packed-4bit", DNNQ_DTYPE_PACKED, 4, true, 1, (const int64_t[]){ 9 }, -1);
	qtensor("f32", DNNQ_DTYPE_F32, 32, true, 1, (const int64_t[]){ 3 }, -1);
	npy("f32-2x3.npy", DNNQ_DTYPE_F32, (const size_t[]){ 2, 3 }, 2,
	    (const float[]){ 0.5f, -1, 2, 3.25f, 0, 1e-3f });
	npy("u8-4.npy", DNNQ_DTYPE_U8, (const size_t[]){ 4 }, 1, (const uint8_t[]){ 0, 1, 128, 255 });
	npy("s32-scalar.npy", DNNQ_DTYPE_S32, NULL, 0, (const int32_t[]){ -7 });
	npy("s8-1x2x2.npy", DNNQ_DTYPE_S8, (const size_t[]){ 1, 2, 2 }, 3,
	    (const int8_t[]){ -128, -1, 0, 127 });
	configs();
	controls();
	requests();
	return 0;
}
