// SPDX-License-Identifier: GPL-2.0-only
/*
 * memfill: the workload of the hibernation benchmark (bench/scenarios/hib-bench.sh).
 *
 *   memfill run --mib N --seed S --dir D
 *	allocates N MiB of anonymous memory in thirds: pseudo-random (incompressible),
 *	text-like (words from a small dictionary, lines of ~70 characters) and zero pages
 *	(written, so they are real resident pages), touches every page, computes a digest
 *	of the whole region, writes D/pid and D/ready ("mib= digest= fill_ms="), then stays
 *	alive answering requests on the FIFO D/req (replies on the FIFO D/rep):
 *	  ping    -> "pong tsc=T"            (T: raw time stamp counter, read by the workload)
 *	  digest  -> "digest=H expected=E ms=M"
 *   memfill ask D CMD    send CMD, print the reply
 *   memfill clock        print "tsc=T" (raw time stamp counter)
 *   memfill tsc-hz       print the time stamp counter frequency (calibrated over 250 ms)
 *   memfill ms           print CLOCK_MONOTONIC in ms (3 decimals; busybox date has no %N)
 *   memfill gen --mib N --seed S --out F
 *	writes N MiB of the same composition as "run" (thirds of random, text-like and zero
 *	bytes, 1 MiB at a time) to the file F: the data the benchmark's lz4 and copy rates
 *	are measured on (bench/scenarios/hib-limits.sh)
 *
 * Under QEMU/TCG the guest TSC counts host TSC ticks since that QEMU process started the
 * VM, so a TSC value taken in a resumed system measures from the start of the boot that
 * resumed it: that is how the benchmark times "boot to workload running again" across
 * the restore, where the kernel's own clocks jump back to the hibernated system's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchdata.h"

static inline uint64_t rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
#endif
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t digest(const unsigned char *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ len;

	for (size_t i = 0; i < len / 8; i++) {
		h ^= w[i] * 0xC2B2AE3D27D4EB4FULL;
		h = (h << 31 | h >> 33) * 0x9E3779B185EBCA87ULL;
	}
	return h ^ (h >> 29);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int cmd_run(size_t mib, uint64_t seed, const char *dir)
{
	size_t len = mib << 20, pages = len / 4096, third = pages / 3;
	size_t r_len = third * 4096, t_len = third * 4096, z_len = len - r_len - t_len;
	char path[4096], buf[512], line[256];
	unsigned char *mem;
	uint64_t expected;
	double t0 = now_ms(), fill_ms;
	FILE *req;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memfill: mmap");
		return 1;
	}
	bench_rng_state = seed ? seed : 1;
	for (size_t i = 0; i < r_len / 8; i++)
		((uint64_t *)mem)[i] = bench_rng();
	bench_fill_text(mem + r_len, t_len);
	memset(mem + r_len + t_len, 0, z_len);	/* written: resident, not the zero page */
	expected = digest(mem, len);
	fill_ms = now_ms() - t0;

	snprintf(path, sizeof(path), "%s/req", dir);
	unlink(path);
	if (mkfifo(path, 0600) < 0) {
		perror("memfill: mkfifo req");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rep", dir);
	unlink(path);
	if (mkfifo(path, 0600) < 0) {
		perror("memfill: mkfifo rep");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/req", dir);
	req = fopen(path, "r+");	/* read-write: never sees EOF */
	if (!req) {
		perror("memfill: open req");
		return 1;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	write_file(dir, "pid", buf);
	snprintf(buf, sizeof(buf), "mib=%zu random_mib=%.1f text_mib=%.1f zero_mib=%.1f "
		 "digest=%016" PRIx64 " fill_ms=%.0f\n", mib, r_len / 1048576.0,
		 t_len / 1048576.0, z_len / 1048576.0, expected, fill_ms);
	write_file(dir, "ready", buf);

	while (fgets(line, sizeof(line), req)) {
		uint64_t tsc = rdtsc();
		FILE *rep;

		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "ping")) {
			snprintf(buf, sizeof(buf), "pong tsc=%" PRIu64 "\n", tsc);
		} else if (!strcmp(line, "digest")) {
			double d0 = now_ms();
			uint64_t h = digest(mem, len);

			snprintf(buf, sizeof(buf), "digest=%016" PRIx64 " expected=%016" PRIx64
				 " ms=%.0f\n", h, expected, now_ms() - d0);
		} else {
			snprintf(buf, sizeof(buf), "error unknown request '%s'\n", line);
		}
		snprintf(path, sizeof(path), "%s/rep", dir);
		rep = fopen(path, "w");
		if (!rep)
			continue;
		fputs(buf, rep);
		fclose(rep);
	}
	return 0;
}

static int cmd_gen(size_t mib, uint64_t seed, const char *out)
{
	size_t third = mib * 256 / 3, pages = mib * 256;	/* in 4 KiB pages, as "run" */
	static unsigned char buf[1 << 20];
	FILE *f = fopen(out, "w");

	if (!f) {
		perror("memfill: gen");
		return 1;
	}
	bench_rng_state = seed ? seed : 1;
	for (size_t pg = 0; pg < pages; ) {
		size_t n = 0;

		/* One MiB, or less at a third's boundary: random, text, then zero bytes. */
		while (n < sizeof(buf) && pg < pages) {
			size_t kind = pg < third ? 0 : pg < 2 * third ? 1 : 2;
			size_t end = kind == 0 ? third : kind == 1 ? 2 * third : pages;
			size_t cnt = end - pg;

			if (cnt > (sizeof(buf) - n) / 4096)
				cnt = (sizeof(buf) - n) / 4096;
			if (kind == 0)
				for (size_t i = 0; i < cnt * 4096 / 8; i++)
					((uint64_t *)(buf + n))[i] = bench_rng();
			else if (kind == 1)
				bench_fill_text(buf + n, cnt * 4096);
			else
				memset(buf + n, 0, cnt * 4096);
			n += cnt * 4096;
			pg += cnt;
		}
		if (fwrite(buf, 1, n, f) != n) {
			perror("memfill: gen: write");
			return 1;
		}
	}
	if (fclose(f) != 0) {
		perror("memfill: gen: close");
		return 1;
	}
	return 0;
}

static int cmd_ask(const char *dir, const char *what)
{
	char path[4096], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/req", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", what) < 0 || fclose(f) != 0) {
		fprintf(stderr, "memfill: cannot send to %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rep", dir);
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		fprintf(stderr, "memfill: no reply on %s\n", path);
		return 1;
	}
	fclose(f);
	fputs(line, stdout);
	return 0;
}

static int cmd_tsc_hz(void)
{
	double t0 = now_ms(), t1;
	uint64_t c0 = rdtsc(), c1;

	do {
		t1 = now_ms();
	} while (t1 - t0 < 250);
	c1 = rdtsc();
	printf("%.0f\n", (double)(c1 - c0) / ((t1 - t0) / 1e3));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: memfill run --mib N [--seed S] --dir D\n"
			"       memfill ask D ping|digest\n"
			"       memfill clock\n"
			"       memfill tsc-hz\n"
			"       memfill ms\n"
			"       memfill gen --mib N [--seed S] --out F\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "gen"))) {
		size_t mib = 0;
		uint64_t seed = 1;
		const char *dir = NULL, *out = NULL;

		for (int i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--mib"))
				mib = strtoull(argv[i + 1], NULL, 0);
			else if (!strcmp(argv[i], "--seed"))
				seed = strtoull(argv[i + 1], NULL, 0);
			else if (!strcmp(argv[i], "--dir"))
				dir = argv[i + 1];
			else if (!strcmp(argv[i], "--out"))
				out = argv[i + 1];
			else
				return usage();
		}
		if (!strcmp(argv[1], "gen"))
			return mib && out ? cmd_gen(mib, seed, out) : usage();
		if (!mib || !dir)
			return usage();
		return cmd_run(mib, seed, dir);
	}
	if (argc == 4 && !strcmp(argv[1], "ask"))
		return cmd_ask(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "clock")) {
		printf("tsc=%" PRIu64 "\n", rdtsc());
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "ms")) {
		printf("%.3f\n", now_ms());
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "tsc-hz"))
		return cmd_tsc_hz();
	return usage();
}
