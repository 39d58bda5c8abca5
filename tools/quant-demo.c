/*
 * dnnq-quant-demo: quantizes a synthetic tensor every way the quantization
 * core knows and prints the error each way costs. `make demo` runs it until
 * the daemon can serve a model.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/rng.h"

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--n N] [--dist gaussian|uniform|laplace] [--seed S] [--json]\n"
		"Quantizes N samples (default 1000000) of a distribution with each scheme\n"
		"(asymmetric, symmetric, preserve-sparsity) at 4, 8 and 12 bits and prints\n"
		"scale, zero point, SQNR and error norms; --json prints one object.\n", argv0);
}

static double sample(struct rng *r, const char *dist)
{
	if (!strcmp(dist, "uniform"))
		return rng_uniform(r, -1, 1);
	if (!strcmp(dist, "laplace")) {
		double u = rng_unit(r) - 0.5;
		return (u < 0 ? 1 : -1) * log(1 - 2 * fabs(u));
	}
	return rng_gauss(r);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "dist", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long n = 1000000;
	unsigned long long seed = 1;
	const char *dist = "gaussian";
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'd': dist = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'j': json = 1; break;
		case 'h': usage(stdout, argv[0]); return 0;
		default:  usage(stderr, argv[0]); return 2;
		}
	}
	if (n < 1 || n > 100000000 || (strcmp(dist, "gaussian") && strcmp(dist, "uniform") &&
	                               strcmp(dist, "laplace"))) {
		usage(stderr, argv[0]);
		return 2;
	}
	float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
	int32_t *q = malloc((size_t)n * sizeof *q);
	if (!x || !y || !q) {
		fprintf(stderr, "%s: out of memory for %ld samples\n", argv[0], n);
		return 1;
	}
	struct rng r = { seed * 2654435761u + 1 };
	for (long i = 0; i < n; i++)
		x[i] = (float)sample(&r, dist);
	float lo, hi;
	dnnq_minmax(x, (size_t)n, &lo, &hi);
	enum dnnq_isa isa = dnnq_isa_best();

	static const char *names[] = { "asymmetric", "symmetric", "preserve-sparsity" };
	static const unsigned bits[] = { 4, 8, 12 };
	if (json)
		printf("{\"samples\":%ld,\"distribution\":\"%s\",\"min\":%g,\"max\":%g,\"isa\":\"%s\",\"rows\":[",
		       n, dist, lo, hi, dnnq_isa_name(isa));
	else
		printf("dnnq quantization demo: %ld %s samples in [%.4f, %.4f], %s kernels\n\n"
		       "%-18s %4s %12s %6s %9s %12s %12s %10s\n", n, dist, lo, hi, dnnq_isa_name(isa),
		       "scheme", "bits", "scale", "zp", "SQNR dB", "rel L2", "mean |err|", "max |err|");
	int first = 1;
	for (int s = 0; s < 3; s++) {
		for (int b = 0; b < 3; b++) {
			struct dnnq_qspec spec = { (enum dnnq_qscheme)s, (uint8_t)bits[b], false, false };
			struct dnnq_qparams qp;
			struct dnnq_diag d;
			if (dnnq_choose_qparams(lo, hi, &spec, &qp, &d) ||
			    dnnq_quantize(isa, x, q, DNNQ_DTYPE_S32, (size_t)n, &qp) ||
			    dnnq_dequantize(isa, q, DNNQ_DTYPE_S32, y, (size_t)n, &qp)) {
				fprintf(stderr, "%s: %s/%u bits: %s\n", argv[0], names[s], bits[b], d.msg);
				return 1;
			}
			double energy = 0;
			for (long i = 0; i < n; i++)
				energy += (double)x[i] * x[i];
			double sqnr = dnnq_sqnr_db(x, y, (size_t)n);
			double rl2 = dnnq_l2_error(x, y, (size_t)n) / sqrt(energy);
			double l1 = dnnq_l1_error(x, y, (size_t)n) / (double)n;
			double mx = dnnq_max_abs_error(x, y, (size_t)n);
			if (json)
				printf("%s{\"scheme\":\"%s\",\"bits\":%u,\"scale\":%.9g,\"zero_point\":%d,"
				       "\"sqnr_db\":%.4f,\"rel_l2\":%.6g,\"mean_abs_err\":%.6g,\"max_abs_err\":%.6g}",
				       first ? "" : ",", names[s], bits[b], qp.scale, qp.zero_point, sqnr, rl2,
				       l1, mx);
			else
				printf("%-18s %4u %12.6g %6d %9.2f %12.4g %12.4g %10.4g\n", names[s], bits[b],
				       qp.scale, qp.zero_point, sqnr, rl2, l1, mx);
			first = 0;
		}
	}
	if (json)
		printf("]}\n");
	else
		printf("\nSQNR grows about 6.02 dB per bit; min/max ranges spend levels on rare\n"
		       "outliers (calibration picks tighter ranges).\n");
	free(x);
	free(y);
	free(q);
	return 0;
}
