/*
 * dnnq-mkdemo DIR — writes what `make demo` serves: DIR/demo.dnnq (the
 * "multi" model of tools/serve-fixture.h: two u8 6x6x4 inputs -> Add ->
 * Conv 3x3 + ReLU -> MaxPool -> FC 10 -> logits, Softmax -> prob; synthetic
 * weights from a fixed seed), DIR/a.npy and DIR/b.npy (a synthetic input
 * pair), and prints on stdout the class the engine predicts for them when
 * it runs the same model in this process, so the demo can show the daemon
 * gives the same answer. Every run writes the same bytes.
 *
 * A stand-in: the digits CNN (ONNX import, issue 6) replaces it.
 */
#include <stdio.h>
#include <string.h>

#include "calibration/npy.h"
#include "tools/serve-fixture.h"

enum { H = 6, W = 6, C = 4, CLASSES = 10 };

/* Two smooth patterns, in the middle of the u8 range. */
static void make_inputs(uint8_t a[H * W * C], uint8_t b[H * W * C])
{
	for (int h = 0; h < H; h++)
		for (int w = 0; w < W; w++)
			for (int c = 0; c < C; c++) {
				int i = (h * W + w) * C + c;
				a[i] = (uint8_t)(96 + 12 * h + 5 * c);
				b[i] = (uint8_t)(160 - 9 * w + 7 * c);
			}
}

static int argmax(const float *p, int n)
{
	int best = 0;
	for (int j = 1; j < n; j++)
		if (p[j] > p[best])
			best = j;
	return best;
}

/* The in-process answer for a and b: the top-1 class of "prob". */
static int reference_class(const uint8_t *a, const uint8_t *b, int *cls,
                           struct dnnq_diag *diag)
{
	struct fixture_ref *ref;
	uint8_t logits[CLASSES];
	float prob[CLASSES];
	int rc = fixture_ref_create(FIXTURE_MULTI, &ref, diag);
	if (rc)
		return rc;
	rc = fixture_ref_run(ref, 1, (const void *[]){ a, b }, (void *[]){ logits, prob });
	fixture_ref_destroy(ref);
	if (rc)
		return dnnq_diag_set(diag, rc, "running the model in-process: %s", dnnq_strerror(rc));
	*cls = argmax(prob, CLASSES);
	return 0;
}

static int write_all(const char *dir, const uint8_t *a, const uint8_t *b,
                     struct dnnq_diag *diag)
{
	static const size_t shape[4] = { 1, H, W, C };
	char path[4096];
	snprintf(path, sizeof path, "%s/demo.dnnq", dir);
	int rc = fixture_model_write(FIXTURE_MULTI, path, diag);
	snprintf(path, sizeof path, "%s/a.npy", dir);
	if (!rc)
		rc = dnnq_npy_write_file(path, DNNQ_DTYPE_U8, shape, 4, a, diag);
	snprintf(path, sizeof path, "%s/b.npy", dir);
	if (!rc)
		rc = dnnq_npy_write_file(path, DNNQ_DTYPE_U8, shape, 4, b, diag);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
		        "usage: dnnq-mkdemo DIR\nWrites DIR/demo.dnnq, DIR/a.npy and DIR/b.npy and "
		        "prints the class the engine predicts for them.\n");
		return argc == 2 ? 0 : 2;
	}
	uint8_t a[H * W * C], b[H * W * C];
	struct dnnq_diag diag = { "" };
	int cls = -1;
	make_inputs(a, b);
	int rc = write_all(argv[1], a, b, &diag);
	if (!rc)
		rc = reference_class(a, b, &cls, &diag);
	if (rc) {
		fprintf(stderr, "dnnq-mkdemo: %s\n", diag.msg[0] ? diag.msg : dnnq_strerror(rc));
		return 1;
	}
	printf("%d\n", cls);
	return 0;
}
