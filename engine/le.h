/* Little-endian field access for serialized formats: byte by byte, so the
 * code is right on any host and never makes an unaligned access. */
#ifndef DNNQ_ENGINE_LE_H
#define DNNQ_ENGINE_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t dnnq_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t dnnq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dnnq_le64(const uint8_t *p)
{
	return (uint64_t)dnnq_le32(p) | (uint64_t)dnnq_le32(p + 4) << 32;
}

static inline float dnnq_lef32(const uint8_t *p)
{
	uint32_t u = dnnq_le32(p);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static inline void dnnq_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void dnnq_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void dnnq_put_le64(uint8_t *p, uint64_t v)
{
	dnnq_put_le32(p, (uint32_t)v);
	dnnq_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline void dnnq_put_lef32(uint8_t *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	dnnq_put_le32(p, u);
}

#endif
