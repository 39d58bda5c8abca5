/*
 * bench/peers.c — setting up the libraries dnnq is measured against, so the
 * comparison is like for like: oneDNN (Debian's build runs on OpenMP) and
 * OpenBLAS get exactly the thread count dnnq gets, and what they run on
 * (versions, oneDNN's JIT ISA, OpenBLAS's kernel) is printed with the
 * results.
 *
 * OpenMP reads OMP_NUM_THREADS when libgomp is loaded, before main, so
 * setting the variable here would do nothing; the bench calls the OpenMP
 * API instead, found at run time in the libgomp oneDNN brought in (the
 * bench is not built with -fopenmp), and reads the setting back.
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const struct {
	const char *name;
	dnnl_cpu_isa_t isa;
} isas[] = {
	{ "all", dnnl_cpu_isa_all },
	{ "sse41", dnnl_cpu_isa_sse41 },
	{ "avx", dnnl_cpu_isa_avx },
	{ "avx2", dnnl_cpu_isa_avx2 },
	{ "avx2_vnni", dnnl_cpu_isa_avx2_vnni },
	{ "avx512_core", dnnl_cpu_isa_avx512_core },
	{ "avx512_core_vnni", dnnl_cpu_isa_avx512_core_vnni },
	{ "avx512_core_bf16", dnnl_cpu_isa_avx512_core_bf16 },
	{ "avx512_core_amx", dnnl_cpu_isa_avx512_core_amx },
};

#define NISAS (sizeof isas / sizeof *isas)

static const char *isa_name(dnnl_cpu_isa_t isa)
{
	for (size_t i = 0; i < NISAS; i++)
		if (isas[i].isa == isa)
			return isas[i].name;
	return "unknown";
}

void bench_onednn_max_isa(const char *name)
{
	for (size_t i = 0; i < NISAS; i++) {
		if (strcmp(isas[i].name, name))
			continue;
		if (dnnl_set_max_cpu_isa(isas[i].isa) != dnnl_success)
			bench_die("bench: oneDNN refused max ISA %s", name);
		return;
	}
	bench_die("bench: --onednn-isa %s: unknown (try avx2, avx512_core_vnni, all)", name);
}

static void omp_threads(unsigned n)
{
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
	void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
	int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
	if (!set || !get)
		bench_die("bench: oneDNN uses OpenMP but omp_set_num_threads is not loaded");
	set((int)n);
	if (get() != (int)n)
		bench_die("bench: OpenMP runs %d threads after omp_set_num_threads(%u)", get(), n);
#else
	if (n != 1)
		bench_die("bench: this oneDNN does not run on OpenMP; cannot set its threads");
#endif
}

void bench_peers_threads(unsigned n)
{
	omp_threads(n);
	openblas_set_num_threads((int)n);
	if (openblas_get_num_threads() != (int)n)
		bench_die("bench: OpenBLAS runs %d threads after openblas_set_num_threads(%u)",
		          openblas_get_num_threads(), n);
}

static const char *env_or(const char *v)
{
	return v ? v : "(default)";
}

void bench_peers_print(FILE *f)
{
	const dnnl_version_t *v = dnnl_version();
	fprintf(f, "oneDNN:  %d.%d.%d, %s threads, JIT ISA %s\n", v->major, v->minor, v->patch,
	        v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "non-OpenMP",
	        isa_name(dnnl_get_effective_cpu_isa()));
	fprintf(f, "OpenBLAS: %s (kernels %s)\n", openblas_get_config(), openblas_get_corename());
	fprintf(f, "idle spin: GOMP_SPINCOUNT=%s, OPENBLAS_THREAD_TIMEOUT=%s "
	        "(dnnq pool: 20000 pauses; see main.c)\n", env_or(getenv("GOMP_SPINCOUNT")),
	        env_or(getenv("OPENBLAS_THREAD_TIMEOUT")));
}
