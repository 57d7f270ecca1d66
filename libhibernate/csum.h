/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal: XXH3-64 of a buffer (the chunk and record checksums, image-format.h), computed
 * with the AVX2 code where the CPU has it and with the scalar code elsewhere (csum.c).
 *
 * The values are those of XXH3_64bits(): only the implementation differs.  libxxhash's
 * default for x86-64 is its SSE2 code, which is no faster than the scalar code on hardware
 * and about 3x slower under emulation (QEMU TCG runs each SSE2 multiply and shuffle through
 * a helper call), where it cost more than lz4 itself (bench/README.md, "Write path").
 */
#ifndef LIBHIBERNATE_CSUM_H
#define LIBHIBERNATE_CSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t hib_xxh3_64(const void *p, size_t len);

/* The implementations, for the tests: NULL if this build or CPU has none. */
uint64_t hib_xxh3_64_scalar(const void *p, size_t len);
typedef uint64_t (*hib_xxh3_fn_t)(const void *p, size_t len);
hib_xxh3_fn_t hib_xxh3_64_avx2_fn(void);
/* "avx2" or "scalar": what hib_xxh3_64() uses. */
const char *hib_xxh3_impl(void);

#endif /* LIBHIBERNATE_CSUM_H */
