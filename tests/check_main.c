/*
 * The Check runner for every unit suite. Each tests/test_*.c file exports
 * one `Suite *suite_NAME(void)` listed in tests/suites.h; `dnnq-check NAME`
 * runs only that suite (CK_RUN_CASE also works, as in any Check runner).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	if (only && (!strcmp(only, "--help") || !strcmp(only, "-h"))) {
		printf("usage: %s [SUITE]\nsuites:", argv[0]);
		for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
			printf(" %s", suites[i].name);
		printf("\n");
		return 0;
	}
	SRunner *sr = NULL;
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		if (only && strcmp(only, suites[i].name))
			continue;
		if (!sr)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (!sr) {
		fprintf(stderr, "%s: no suite named '%s' (try --help)\n", argv[0], only);
		return 2;
	}
	/* the kernel tables the ISA suites run (tests/isa.h), and those skipped */
	printf("ISAs:");
	for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++)
		printf(" %s%s", dnnq_isa_name((enum dnnq_isa)isa),
		       dnnq_isa_supported((enum dnnq_isa)isa) ? "" : " (skipped: this CPU lacks it)");
	printf("\n");
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
