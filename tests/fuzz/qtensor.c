/*
 * Fuzzes the QTensor record reader (engine/qtensor-io.c): one record from
 * the bytes; what it accepts must say it consumed no more than it had and
 * serialize back to a record of that size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/qtensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnq_qtensor t;
	struct dnnq_diag diag = { "" };
	size_t consumed = 0;
	dnnq_qtensor_init(&t);
	if (dnnq_qtensor_deserialize(data, size, &t, &consumed, &diag) == 0) {
		if (consumed > size)
			abort();
		size_t n = dnnq_qtensor_serialized_size(&t), written = 0;
		void *buf = malloc(n ? n : 1);
		if (buf && dnnq_qtensor_serialize(&t, buf, n, &written) == 0 && written != n)
			abort();
		free(buf);
	}
	dnnq_qtensor_free(&t);
	return 0;
}
