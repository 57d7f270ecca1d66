/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the benchmark programs share: the workload's data generator (bench/memfill.c fills the
 * guest's memory with it, bench/pipebench.c its synthetic snapshot) and the median of a run's
 * figures (pipebench, netbench).  Header-only: memfill is copied into the guest on its own.
 */
#ifndef HIBERNATE_BENCH_BENCHDATA_H
#define HIBERNATE_BENCH_BENCHDATA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t bench_rng_state = 1;

/* xorshift64*: pseudo-random (incompressible) data; bench_rng_state must not be 0 */
static inline uint64_t bench_rng(void)
{
	bench_rng_state ^= bench_rng_state >> 12;
	bench_rng_state ^= bench_rng_state << 25;
	bench_rng_state ^= bench_rng_state >> 27;
	return bench_rng_state * 0x2545F4914F6CDD1DULL;
}

static const char *const bench_words[64] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with",
	"be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
	"but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
	"can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
	"so", "no", "memory", "kernel", "image", "page", "swap", "process", "frozen",
	"resume", "system", "device", "write", "read", "time", "power", "state", "task",
};

/* text-like bytes: words of the dictionary, some capitalised, lines of ~70 characters */
static inline void bench_fill_text(uint8_t *p, size_t len)
{
	size_t i = 0, col = 0;

	while (i < len) {
		uint64_t r = bench_rng();

		for (int k = 0; k < 8 && i < len; k++, r >>= 8) {
			const char *w = bench_words[r & 63];
			size_t n = strlen(w);

			n = n > len - i ? len - i : n;
			memcpy(p + i, w, n);
			if (r & 64)
				p[i] = (uint8_t)(p[i] & ~0x20);
			i += n;
			col += n + 1;
			if (i < len)
				p[i++] = col > 70 ? (col = 0, '\n') :
					 ((r & 0x80) && (r & 0x40) ? ',' : ' ');
		}
	}
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the median of @v[0..n-1] (n > 0); sorts @v, so v[0] is the minimum and v[n - 1] the maximum */
static inline double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
