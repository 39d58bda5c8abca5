/*
 * Fuzzes the YAML config parser (conf/config.h): dnnq_config_parse on the
 * bytes (it resolves user and group names and CPU lists on this host).
 */
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnq_config c;
	struct dnnq_diag diag = { "" };
	if (dnnq_config_parse((const char *)data, size, "/etc/dnnq/dnnqd.yaml", &c, &diag) == 0)
		dnnq_config_free(&c);
	return 0;
}
