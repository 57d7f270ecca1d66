// SPDX-License-Identifier: LGPL-2.1-or-later
/* XXH3-64 with xxhash.h's AVX2 code (csum.h): built with -mavx2, called only where the CPU
 * has AVX2. */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

#include <stdint.h>

uint64_t hib_xxh3_64_avx2(const void *p, size_t len);

uint64_t hib_xxh3_64_avx2(const void *p, size_t len)
{
	return (uint64_t)XXH3_64bits(p, len);
}
