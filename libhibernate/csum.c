// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * XXH3-64 (csum.h): xxhash.h's scalar code inlined here, its AVX2 code in csum-avx2.c (built
 * with -mavx2 on x86-64 only), chosen once by what the CPU reports.
 */
#include <pthread.h>

#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

#include "csum.h"

#ifdef HIB_HAVE_XXH3_AVX2
uint64_t hib_xxh3_64_avx2(const void *p, size_t len);
#endif

uint64_t hib_xxh3_64_scalar(const void *p, size_t len)
{
	return (uint64_t)XXH3_64bits(p, len);
}

hib_xxh3_fn_t hib_xxh3_64_avx2_fn(void)
{
#ifdef HIB_HAVE_XXH3_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		return hib_xxh3_64_avx2;
#endif
	return NULL;
}

static hib_xxh3_fn_t impl;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static void impl_init(void)
{
	impl = hib_xxh3_64_avx2_fn();
	if (!impl)
		impl = hib_xxh3_64_scalar;
}

uint64_t hib_xxh3_64(const void *p, size_t len)
{
	/* Short inputs (records, blocks): not worth the indirection. */
	if (len <= 240)
		return hib_xxh3_64_scalar(p, len);
	pthread_once(&impl_once, impl_init);
	return impl(p, len);
}

const char *hib_xxh3_impl(void)
{
	pthread_once(&impl_once, impl_init);
	return impl == hib_xxh3_64_scalar ? "scalar" : "avx2";
}
