/*
 * What the files of dnnqctl share: the global options, error reporting
 * (one line on stderr, exit 1; usage errors exit 2), output helpers for the
 * text and JSON forms, and opening a session on a model. dnnqctl.c holds
 * main and the status and models commands; dnnqctl-infer.c and
 * dnnqctl-bench.c one command each.
 */
#ifndef DNNQ_DNNQCTL_H
#define DNNQ_DNNQCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "client/dnnq.h"
#include "engine/base.h"
#include "shm/dnnq_shm.h"

#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

struct ctl_global {
	const char *socket;	/* --socket, NULL: the library's default */
};

/* "dnnqctl: <what>: <dnnq_strerror(rc)>"; returns CTL_EXIT_FAIL. */
int ctl_fail(const char *what, int rc);
/* "dnnqctl: <formatted>"; returns CTL_EXIT_FAIL. */
int ctl_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl_failf for a failure whose status is rc. With --json, each of these
 * also prints the failure object (dnnq_json_exit) on stdout. */
int ctl_failf_rc(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "dnnqctl: <formatted>", escaped as the failures are: a note. */
void ctl_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "dnnqctl: <formatted>" and a hint at CMD --help; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* After getopt_long (opterr 0) refused an option of argv: a usage error
 * naming it, and the option meant when it looks like a typo of one. */
int ctl_bad_option(const char *cmd, char *const *argv, const char *shortopts,
                   const struct option *opts);

/* Option opt of command cmd (as ctl_usage_error's): its value s, decimal
 * digits in [min, max] (dnnq_opt_digits), into *out, 0; else the usage
 * error's exit status, having said why ("--batch: '0': must be 1..65536").
 * ctl_parse_seconds: the same for seconds above 0, at most a day,
 * fractions allowed (dnnq_opt_real). */
int ctl_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  unsigned *out);
int ctl_parse_seconds(const char *cmd, const char *opt, const char *s, double *out);

/* The arena of a session that only asks questions or reads a signature. */
#define CTL_PROBE_ARENA ((uint64_t)64 << 10)

/* Connects with arena_bytes and slots (0: the library's defaults); on
 * failure prints "dnnqctl: " and dnnq_last_error() (the socket, why, a
 * hint) and returns CTL_EXIT_FAIL. */
int ctl_connect(const struct ctl_global *g, uint64_t arena_bytes, uint32_t slots,
                struct dnnq_client **c);
/* ctl_connect, then opens `model`; on failure prints the error, leaves *c
 * NULL and returns CTL_EXIT_FAIL. */
int ctl_open(const struct ctl_global *g, const char *model, uint64_t arena_bytes,
             uint32_t slots, struct dnnq_client **c, struct dnnq_model **m);

/* Bytes one set of the model's inputs and outputs takes in the arena at
 * `batch` (each rounded to the arena's 64-byte blocks); as_f32: with every
 * U8 tensor sent as F32. */
uint64_t ctl_io_bytes(const struct dnnq_model *m, uint32_t batch, bool as_f32);

/* "[N, 1, 28, 28]" (batch_n: dims[0] shown as N) or "[2, 10]". */
void ctl_print_shape(FILE *f, uint32_t rank, const int64_t *dims, bool batch_n, bool json);

int ctl_cmd_infer(const struct ctl_global *g, int argc, char **argv);
int ctl_cmd_bench(const struct ctl_global *g, int argc, char **argv);

#endif
