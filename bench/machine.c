/*
 * bench/machine.c — the machine a result was measured on, printed at the top
 * of every run: numbers without the CPU model, the core count and the vector
 * extensions present (AVX2 and FMA, which dnnq's kernels use; AVX-512 VNNI,
 * which dnnq's GEMM kernel uses where present and the peers may use) cannot
 * be compared or reproduced.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "engine/base.h"

/* Whether the space-separated list `flags` holds the word `w`. */
static bool has_flag(const char *flags, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = flags; (p = strstr(p, w)); p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* "key\t: value" -> value without its newline, or NULL. */
static const char *field(char *line, const char *key)
{
	size_t n = strlen(key);
	if (strncmp(line, key, n) || !strchr(" \t:", line[n]))
		return NULL;
	char *v = strchr(line, ':');
	if (!v)
		return NULL;
	v += 1 + (v[1] == ' ');
	v[strcspn(v, "\n")] = 0;
	return v;
}

static void read_flags(struct bench_machine *m, const char *flags)
{
	m->avx2 = has_flag(flags, "avx2");
	m->fma = has_flag(flags, "fma");
	m->avx512f = has_flag(flags, "avx512f");
	m->avx512_vnni = has_flag(flags, "avx512_vnni");
	m->avx_vnni = has_flag(flags, "avx_vnni");
	m->hypervisor = has_flag(flags, "hypervisor");
}

/* The first processor's block of /proc/cpuinfo. */
static void read_cpuinfo(struct bench_machine *m)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	const char *v;
	unsigned siblings = 0, cores = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f) && line[0] != '\n') {
		if ((v = field(line, "model name")))
			snprintf(m->model, sizeof m->model, "%s", v);
		else if ((v = field(line, "siblings")))
			siblings = (unsigned)atoi(v);
		else if ((v = field(line, "cpu cores")))
			cores = (unsigned)atoi(v);
		else if ((v = field(line, "flags")))
			read_flags(m, v);
	}
	fclose(f);
	if (siblings && cores)
		m->threads_per_core = siblings / cores;
}

void bench_machine_read(struct bench_machine *m)
{
	memset(m, 0, sizeof *m);
	snprintf(m->model, sizeof m->model, "unknown");
	read_cpuinfo(m);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	m->cpus = n > 0 ? (unsigned)n : 1;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* CPUs other processes keep busy over 0.2 s before we start (we sleep). */
static double busy_cpus(void)
{
	struct bench_load l;
	struct timespec ts = { 0, 200000000 };
	bench_load_begin(&l);
	nanosleep(&ts, NULL);
	return bench_load_end(&l);
}

void bench_machine_print(FILE *f)
{
	struct bench_machine m;
	bench_machine_read(&m);
	double busy = busy_cpus();
	fprintf(f, "machine: %s, ", m.model);
	if (m.threads_per_core)
		fprintf(f, "%u cores (%u logical CPUs online, %u per core)",
		        m.cpus / m.threads_per_core, m.cpus, m.threads_per_core);
	else
		fprintf(f, "%u logical CPUs online", m.cpus);
	fprintf(f, "%s\n", m.hypervisor ? ", virtual machine" : "");
	fprintf(f, "isa:     avx2 %s, fma %s, avx512f %s, avx512_vnni %s (avx_vnni %s)\n",
	        yes_no(m.avx2), yes_no(m.fma), yes_no(m.avx512f), yes_no(m.avx512_vnni), yes_no(m.avx_vnni));
	fprintf(f, "load:    %.2f CPUs busy before start%s\n", busy,
	        busy > 0.1 ? ": other processes are running, expect noise" : "");
	fprintf(f, "dnnq:    kernels %s%s, GEMM kernel %s\n", dnnq_isa_name(bench_dnnq_isa()),
	        bench_dnnq_isa() != dnnq_isa_best() ? " (--isa)" : "", bench_dnnq_gemm_kernel());
	bench_peers_print(f);
}
