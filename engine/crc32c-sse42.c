/* CRC32C with the SSE4.2 crc32 instruction, 8 bytes a step. */
#include <nmmintrin.h>
#include <string.h>

#include "engine/crc32c.h"

uint32_t dnnq_crc32c_update_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}
