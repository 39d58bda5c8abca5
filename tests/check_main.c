/*
 * The Check runner for every unit suite. Each tests/test_*.c file exports
 * one `Suite *suite_NAME(void)` listed in tests/suites.h; `dnnq-check NAME`
 * runs only that suite (CK_RUN_CASE also works, as in any Check runner).
 *
 * DNNQ_CHECK_JOBS=N (`make check` sets 2) runs the suites in N processes
 * at once, each taking the next suite not yet started from a counter they
 * share, each suite's output (stdout and stderr) kept in a file of its own
 * and printed, suite after suite in list order, when all have finished, so
 * the log reads as a serial run's. Most suites wait on dnnqd, sockets or
 * sleeps much of the time, and the sanitizer builds are CI's longest stage.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/base.h"
#include "tests/suites.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
#define DNNQ_SUITE(name) { #name, suite_##name },
	DNNQ_SUITES
#undef DNNQ_SUITE
};
enum { N_SUITES = sizeof suites / sizeof suites[0] };

/* One suite in this process: the number of its tests that failed. */
static int run_one(size_t i)
{
	SRunner *sr = srunner_create(suites[i].make());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

/* A worker of run_jobs: suites from the shared counter until none is left,
 * each one's output into DIR/I.log; status[i] its failed tests. */
static void job(const char *dir, unsigned *next, int *status)
{
	for (;;) {
		unsigned i = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
		if (i >= N_SUITES)
			_exit(0);
		char path[4200];
		snprintf(path, sizeof path, "%s/%u.log", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(3);
		close(fd);
		status[i] = run_one(i);
		fflush(stdout);
		fflush(stderr);
	}
}

/* Every suite in `jobs` processes; the suites' logs printed in list order.
 * A suite whose process died (a crash outside a forked test, a kill) counts
 * as failed; its log says how far it got. */
static int run_jobs(int jobs)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/dnnq-check-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("dnnq-check: mkdtemp");
		return EXIT_FAILURE;
	}
	/* next suite, then each suite's status: -1 until its process reports */
	unsigned *shared = mmap(NULL, sizeof(unsigned) + N_SUITES * sizeof(int),
				PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("dnnq-check: mmap");
		return EXIT_FAILURE;
	}
	int *status = (int *)(shared + 1);
	for (size_t i = 0; i < N_SUITES; i++)
		status[i] = -1;
	fflush(stdout);
	fflush(stderr);
	for (int j = 0; j < jobs; j++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("dnnq-check: fork");
			break; /* the jobs started run every suite */
		}
		if (pid == 0)
			job(dir, shared, status);
	}
	int died = 0;
	for (;;) {
		int ws;
		pid_t pid = wait(&ws);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (!WIFEXITED(ws) || WEXITSTATUS(ws))
			died = 1;
	}
	int failed = 0;
	for (size_t i = 0; i < N_SUITES; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%zu.log", dir, i);
		FILE *f = fopen(path, "r");
		if (f) {
			char buf[65536];
			size_t n;
			while ((n = fread(buf, 1, sizeof buf, f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
			unlink(path);
		}
		if (status[i] != 0) {
			failed = 1;
			printf("dnnq-check: suite %s %s\n", suites[i].name,
			       status[i] < 0 ? "did not finish (its process died)" : "failed");
		}
	}
	rmdir(dir);
	if (died)
		failed = 1;
	printf("dnnq-check: %d suites in %d processes: %s\n", N_SUITES, jobs,
	       failed ? "FAILED" : "all passed");
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	if (only && (!strcmp(only, "--help") || !strcmp(only, "-h"))) {
		printf("usage: %s [SUITE]\nsuites:", argv[0]);
		for (size_t i = 0; i < N_SUITES; i++)
			printf(" %s", suites[i].name);
		printf("\nDNNQ_CHECK_JOBS=N: every suite, N processes at once\n");
		return 0;
	}
	/* the kernel tables the ISA suites run (tests/isa.h), and those skipped */
	size_t match = N_SUITES;
	for (size_t i = 0; only && i < N_SUITES; i++)
		if (!strcmp(only, suites[i].name))
			match = i;
	if (only && match == N_SUITES) {
		fprintf(stderr, "%s: no suite named '%s' (try --help)\n", argv[0], only);
		return 2;
	}
	printf("ISAs:");
	for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++)
		printf(" %s%s", dnnq_isa_name((enum dnnq_isa)isa),
		       dnnq_isa_supported((enum dnnq_isa)isa) ? "" : " (skipped: this CPU lacks it)");
	printf("\n");
	if (only)
		return run_one(match) ? EXIT_FAILURE : EXIT_SUCCESS;
	const char *j = getenv("DNNQ_CHECK_JOBS");
	int jobs = j ? atoi(j) : 1;
	/* Check's own filters pick tests across suites: one process */
	if (jobs > 1 && !getenv("CK_RUN_SUITE") && !getenv("CK_RUN_CASE"))
		return run_jobs(jobs > 16 ? 16 : jobs);
	SRunner *sr = srunner_create(suites[0].make());
	for (size_t i = 1; i < N_SUITES; i++)
		srunner_add_suite(sr, suites[i].make());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
