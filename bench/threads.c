/*
 * bench/threads.c — what the dnnq side of every table runs on: a dnnq_pool
 * of the requested size (daemon/pool.h, unpinned, as the tests use it), and
 * the GEMM kernel dnnq_gemm_pack picks on this CPU (AVX2, or AVX-512 VNNI's
 * vpdpbusd unless DNNQ_GEMM=avx2), which --dnnq-kernel can force.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "daemon/pool.h"
#include "engine/gemm.h"

void bench_threads_init(struct bench_threads *t, unsigned n)
{
	struct bench_machine m;
	bench_machine_read(&m);
	if (n > m.cpus)
		bench_warn("%u threads on %u online CPUs", n, m.cpus);
	*t = (struct bench_threads){ 0 };
	if (n <= 1)
		return;
	t->pool = dnnq_pool_create(n, NULL);
	if (!t->pool)
		bench_die("bench: dnnq_pool_create(%u): %s", n, strerror(errno));
	t->exec = dnnq_pool_executor(t->pool);
	t->ex = &t->exec;
}

void bench_threads_free(struct bench_threads *t)
{
	dnnq_pool_destroy(t->pool);
	*t = (struct bench_threads){ 0 };
}

const char *bench_dnnq_gemm_kernel(void)
{
	static const int8_t w[4] = { 1, -2, 3, -4 };
	struct dnnq_gemm_weights pw;
	struct dnnq_diag diag = { "" };
	enum dnnq_isa isa = dnnq_isa_best();
	if (dnnq_gemm_pack(isa, w, 1, 4, 4, &pw, &diag))
		bench_die("bench: dnnq_gemm_pack 1x4 failed: %s", diag.msg);
	const char *k = pw.vnni ? "vnni" : isa == DNNQ_ISA_AVX2 ? "avx2" : "scalar";
	dnnq_gemm_weights_free(&pw);
	return k;
}

void bench_dnnq_kernel_select(const char *name)
{
	if (!strcmp(name, "auto"))
		return;
	if (!strcmp(name, "avx2")) {
		if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
			bench_die("bench: --dnnq-kernel avx2: this CPU has no AVX2");
		setenv("DNNQ_GEMM", "avx2", 1);
		return;
	}
	if (!strcmp(name, "vnni")) {
		unsetenv("DNNQ_GEMM");
		if (strcmp(bench_dnnq_gemm_kernel(), "vnni"))
			bench_die("bench: --dnnq-kernel vnni: dnnq does not run its AVX-512 VNNI "
			          "kernel on this CPU");
		return;
	}
	bench_die("bench: --dnnq-kernel %s: expected avx2, vnni or auto", name);
}
