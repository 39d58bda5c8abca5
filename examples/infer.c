/*
 * examples/infer.c — the smallest complete libdnnq-client program: connect
 * to dnnqd, open a model, allocate its tensors in the shared arena, fill
 * the inputs, run one inference, print the outputs.
 *
 *   cc infer.c $(pkg-config --cflags --libs dnnq-client) -o dnnq-example
 *   ./dnnq-example MODEL [SOCKET]
 *
 * SOCKET omitted: $DNNQ_SOCKET, else the default socket (see dnnq(3)).
 * Every input gets a ramp (0, 1, 2, ... as its dtype holds them: u8, s8,
 * s32 or f32), and every output is printed in its dtype. On
 * failure it prints dnnq_strerror's text for the code and dnnq_last_error's
 * line (which says what failed and why) and exits 1.
 */
#include <dnnq.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "dnnq-example: %s: %s\n  %s\n", what, dnnq_strerror(rc),
	        dnnq_last_error());
	return 1;
}

/* The bytes of one element of a tensor of this dtype. */
static size_t elem_size(enum dnnq_type dtype)
{
	return dtype == DNNQ_TYPE_F32 || dtype == DNNQ_TYPE_S32 ? 4 : 1;
}

static void fill(struct dnnq_tensor *t)
{
	size_t n = t->bytes / elem_size(t->dtype);
	for (size_t i = 0; i < n; i++) {
		switch (t->dtype) {
		case DNNQ_TYPE_F32: ((float *)t->data)[i] = (float)(i % 256) / 256.0f; break;
		case DNNQ_TYPE_S32: ((int32_t *)t->data)[i] = (int32_t)(i % 256); break;
		case DNNQ_TYPE_S8: ((int8_t *)t->data)[i] = (int8_t)(i % 128); break;
		default: ((uint8_t *)t->data)[i] = (uint8_t)(i % 256); break;
		}
	}
}

static void print(const struct dnnq_io_info *io, const struct dnnq_tensor *t)
{
	static const char *const names[] = { [DNNQ_TYPE_U8] = "u8", [DNNQ_TYPE_S8] = "s8",
	                                     [DNNQ_TYPE_S32] = "s32", [DNNQ_TYPE_F32] = "f32" };
	printf("%s %s [", io->name, names[t->dtype]);
	for (uint32_t d = 0; d < t->rank; d++)
		printf("%s%lld", d ? ", " : "", (long long)t->dims[d]);
	printf("]:");
	size_t n = t->bytes / elem_size(t->dtype);
	for (size_t i = 0; i < n && i < 8; i++) {
		switch (t->dtype) {
		case DNNQ_TYPE_F32: printf(" %.4f", ((const float *)t->data)[i]); break;
		case DNNQ_TYPE_S32: printf(" %d", (int)((const int32_t *)t->data)[i]); break;
		case DNNQ_TYPE_S8: printf(" %d", ((const int8_t *)t->data)[i]); break;
		default: printf(" %u", ((const uint8_t *)t->data)[i]); break;
		}
	}
	printf("%s\n", n > 8 ? " ..." : "");
}

int main(int argc, char **argv)
{
	bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
	if (help || argc < 2 || argc > 3) {
		fprintf(help ? stdout : stderr, "usage: dnnq-example MODEL [SOCKET]\n"
		        "Runs one inference of MODEL (a model name dnnqd serves) on a ramp of\n"
		        "inputs and prints the outputs. SOCKET: dnnqd's socket (default:\n"
		        "$DNNQ_SOCKET, else the default socket of dnnq(3)).\n");
		return help ? 0 : 2;
	}
	struct dnnq_client *c;
	int rc = dnnq_connect(argc > 2 ? argv[2] : NULL, NULL, &c);
	if (rc)
		return fail("connect", rc);

	int status = 1;
	struct dnnq_model *m = NULL;
	struct dnnq_tensor tensors[DNNQ_MAX_IO];
	struct dnnq_tensor *outs[DNNQ_MAX_IO];
	const struct dnnq_tensor *ins[DNNQ_MAX_IO];
	uint32_t n_in = 0, n_out = 0, made = 0;
	memset(tensors, 0, sizeof tensors);
	if ((rc = dnnq_model_open(c, argv[1], &m))) {
		fail("open", rc);
		goto out;
	}
	n_in = dnnq_model_num_inputs(m);
	n_out = dnnq_model_num_outputs(m);
	for (; made < n_in + n_out; made++) {
		int output = made >= n_in;
		uint32_t i = output ? made - n_in : made;
		rc = dnnq_tensor_alloc_io(m, output ? DNNQ_OUTPUT : DNNQ_INPUT, i, 1, &tensors[made]);
		if (rc) {
			fail("allocate", rc);
			goto out;
		}
		if (output)
			outs[i] = &tensors[made];
		else {
			fill(&tensors[made]);
			ins[i] = &tensors[made];
		}
	}
	if ((rc = dnnq_infer(m, ins, outs, 5000))) {
		fail("infer", rc);
		goto out;
	}
	printf("%s: %u input%s, %u output%s\n", dnnq_model_name_of(m), n_in,
	       n_in == 1 ? "" : "s", n_out, n_out == 1 ? "" : "s");
	for (uint32_t i = 0; i < n_out; i++) {
		struct dnnq_io_info io;
		if ((rc = dnnq_model_io(m, DNNQ_OUTPUT, i, &io))) {
			fail("signature", rc);
			goto out;
		}
		print(&io, outs[i]);
	}
	status = 0;
out:
	for (uint32_t t = 0; t < made; t++)
		dnnq_tensor_free(c, &tensors[t]);
	dnnq_model_close(m);
	dnnq_close(c);
	return status;
}
