/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the VM workloads (hibstate, hibrobust) share: the seeded generator, the memory digest
 * and the state files a scenario reads.
 */
#ifndef HIBCOMMON_H
#define HIBCOMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* FNV-1a over 64-bit words: enough to see any changed byte. */
static inline uint64_t digest(const uint64_t *p, size_t words)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < words; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* DIR/NAME holds TEXT, replaced atomically (a reader never sees half of it): 0 or -errno. */
static inline int write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

#endif /* HIBCOMMON_H */
