/* CRC32C checksums (see crc32c.c). crc = dnnq_crc32c_update(crc, more, n)
 * continues a checksum; start from 0. */
#ifndef DNNQ_ENGINE_CRC32C_H
#define DNNQ_ENGINE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t dnnq_crc32c(const void *buf, size_t len);
uint32_t dnnq_crc32c_update(uint32_t crc, const void *buf, size_t len);
uint32_t dnnq_crc32c_update_scalar(uint32_t crc, const void *buf, size_t len);
uint32_t dnnq_crc32c_update_sse42(uint32_t crc, const void *buf, size_t len);

#endif
