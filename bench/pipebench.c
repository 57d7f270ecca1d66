// SPDX-License-Identifier: GPL-2.0-only
/*
 * pipebench: the write path of `hibernatectl hibernate` on the host, stage by stage, with a
 * synthetic snapshot instead of snapshot_kernel(2):
 *
 *	pipebench [--target PATH] [--mib N] [--reps N] [--threads N] [--chunk BYTES]
 *		  [--run PAGES] [--key] [--verify]
 *
 * The snapshot is a memfd of N MiB (default 300) mixed like the benchmark workload: a quarter
 * pseudo-random pages (xorshift64*, incompressible), half text-like pages (words of a
 * 64-word dictionary, as bench/memfill.c writes them) and a quarter near-zero pages (zero
 * but for one 64-bit word), in runs of PAGES pages (default 64: a chunk of 256 KiB each,
 * like the contiguous regions of a workload) cycling random, text, zero,
 * text.  It is read with read(2) like the snapshot FD (a page-cache copy to user space, as
 * the kernel's user_snapshot_read() copies each page), compressed on the pipeline's
 * workers, encrypted with --key, and written to PATH (default /var/tmp/pipebench.img: a
 * regular file, or a block device such as a loop device) through the same sink,
 * image writer and pipeline as write_image() in hibernation.c; then finished (FINAL,
 * fsync, commit block, fsync).  --verify reads the image back through the image reader
 * and compares it with the snapshot.
 *
 * One PIPEBENCH line per repetition: wall times of the pipeline (write_s) and of the finish
 * (sync_s), raw MB/s over both, the process's CPU time, and the per-stage figures of
 * hib_pipeline_stats() (busy time of each stage, summed over threads).  The last line gives
 * the medians.  A regular-file target is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchdata.h"
#include "hibernation.h"
#include "image.h"

#define MAX_REPS 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long csw(void)	/* context switches of the process (all threads) */
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int make_snapshot(uint64_t bytes, unsigned int run, uint8_t **ret_map)
{
	int fd = memfd_create("pipebench-snapshot", MFD_CLOEXEC);
	uint64_t i, pages = bytes / 4096;
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0)
		return -1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < pages; i++) {
		uint8_t *pg = p + i * 4096;

		switch ((i / run) % 4) {
		case 0:
			for (size_t j = 0; j < 4096 / 8; j++)
				((uint64_t *)pg)[j] = bench_rng();
			break;
		case 2:
			((uint64_t *)pg)[bench_rng() % 512] = bench_rng();	/* near-zero */
			break;
		default:
			bench_fill_text(pg, 4096);
		}
	}
	*ret_map = p;
	return fd;
}

#ifdef PIPEBENCH_NO_STATS
struct hib_pipeline_stats {
	uint64_t read_ns, compress_ns, csum_ns, encrypt_ns, sink_ns, sink_wall_ns, consume_ns;
	uint64_t produce_wait_ns, consume_wait_ns, wall_ns;
};
#endif

struct rep {
	double write_s, sync_s, cpu_s;
	long csw;
	uint64_t comp;
	struct hib_pipeline_stats st;
};

static int verify(const char *target, struct hib_pipeline *p, const struct hib_image_key *key,
		  const uint8_t *snap, uint64_t raw)
{
	struct hib_image_reader *rd = NULL;
	struct hib_sink *s = NULL;
	char why[HIB_IMAGE_WHY_MAX] = "";
	int out = memfd_create("pipebench-verify", MFD_CLOEXEC), r;
	uint8_t *m;

	if (out < 0)
		return -errno;
	r = hib_sink_open(target, HIB_SINK_READ, &s);
	if (r >= 0)
		r = hib_image_reader_open_key(s, key, &rd, why, NULL);
	if (r >= 0)
		r = hib_pipeline_decompress_fd(p, rd, out, NULL, NULL);
	if (r < 0 && why[0])
		fprintf(stderr, "pipebench: %s\n", why);
	hib_image_reader_free(rd);
	hib_sink_close(s);
	if (r >= 0) {
		m = mmap(NULL, raw, PROT_READ, MAP_SHARED, out, 0);
		if (m == MAP_FAILED)
			r = -errno;
		else {
			r = memcmp(m, snap, raw) ? -EBADMSG : 0;
			munmap(m, raw);
		}
	}
	close(out);
	return r;
}

static int bench_write(const char *target, int snap, uint64_t raw, struct hib_pipeline *p,
		       const struct hib_image_info *id, const struct hib_image_key *key,
		       struct rep *ret)
{
	struct hib_image_writer *w = NULL;
	struct hib_sink *s = NULL;
	struct hib_final fin;
	double t0, t1, c0;
	int r;

	if (lseek(snap, 0, SEEK_SET) < 0)
		return -errno;
	r = hib_sink_open(target, HIB_SINK_WRITE, &s);
	if (r >= 0)
		r = hib_image_writer_new(s, id, &w);
	if (r >= 0 && key)
		r = hib_image_writer_set_key(w, key);
	c0 = cpu_s();
	ret->csw = csw();
	t0 = now_s();
	if (r >= 0)
		r = hib_image_writer_begin(w, raw / id->page_size, (uint64_t)time(NULL));
	if (r >= 0)
		r = hib_pipeline_compress_fd(p, snap, raw, w, NULL, NULL);
	t1 = now_s();
	if (r >= 0)
		r = hib_image_writer_finish(w);
	if (r >= 0) {
		ret->write_s = t1 - t0;
		ret->sync_s = now_s() - t1;
		ret->cpu_s = cpu_s() - c0;
		ret->csw = csw() - ret->csw;
		hib_image_writer_totals(w, &fin);
		ret->comp = fin.comp_bytes;
#ifndef PIPEBENCH_NO_STATS	/* for a build against a tree from before the stage figures */
		hib_pipeline_stats(p, &ret->st);
#endif
	}
	hib_image_writer_free(w);
	hib_sink_close(s);
	return r;
}

#define MS(ns) ((double)(ns) / 1e6)

int main(int argc, char **argv)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "pipebench key, not a secret....";
	const char *target = "/var/tmp/pipebench.img";
	unsigned int mib = 300, reps = 3, threads = 0, run = 64, chunk = 0, i;
	bool use_key = false, check = false, regular;
	struct hib_image_key *key = NULL;
	struct hib_pipeline *p = NULL;
	struct hib_image_info id;
	struct rep rr[MAX_REPS] = {};
	double v[MAX_REPS], tot[MAX_REPS], cpu[MAX_REPS];
	uint8_t *map;
	uint64_t raw;
	struct stat st;
	int snap, r;

	for (i = 1; i < (unsigned int)argc; i++) {
		const char *a = argv[i], *val = i + 1 < (unsigned int)argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--key")) {
			use_key = true;
			continue;
		}
		if (!strcmp(a, "--verify")) {
			check = true;
			continue;
		}
		if (!val)
			goto usage;
		if (!strcmp(a, "--target"))
			target = val;
		else if (!strcmp(a, "--mib"))
			mib = (unsigned int)atoi(val);
		else if (!strcmp(a, "--reps"))
			reps = (unsigned int)atoi(val);
		else if (!strcmp(a, "--threads"))
			threads = (unsigned int)atoi(val);
		else if (!strcmp(a, "--run"))
			run = (unsigned int)atoi(val);
		else if (!strcmp(a, "--chunk"))
			chunk = (unsigned int)atoi(val);
		else
			goto usage;
		i++;
	}
	if (!mib || !reps || reps > MAX_REPS || !run)
		goto usage;

	if (hib_system_identity(NULL, NULL, &id) < 0) {
		memset(&id, 0, sizeof(id));
		id.page_size = 4096;
		id.codec = HIB_CODEC_LZ4;
	}
	id.chunk_size = chunk ? chunk : id.chunk_size ? id.chunk_size : HIB_IMAGE_CHUNK_DEFAULT;
	raw = (uint64_t)mib << 20;
	snap = make_snapshot(raw, run, &map);
	if (snap < 0) {
		perror("pipebench: snapshot memfd");
		return 1;
	}
	if ((use_key && hib_image_key_from_raw(kb, &key) < 0) ||
	    hib_pipeline_new(threads, id.chunk_size, &p) < 0) {
		fprintf(stderr, "pipebench: cannot set up the pipeline\n");
		return 1;
	}
	regular = stat(target, &st) < 0 || S_ISREG(st.st_mode);
	printf("PIPEBENCH-INFO mib=%u reps=%u threads=%u chunk=%u run=%u cpus=%ld key=%d "
	       "target=%s\n", mib, reps, hib_pipeline_threads(p), id.chunk_size, run,
	       sysconf(_SC_NPROCESSORS_ONLN), use_key, target);
	fflush(stdout);
	for (i = 0; i < reps; i++) {
		struct rep *x = &rr[i];

		r = bench_write(target, snap, raw, p, &id, key, x);
		if (r < 0) {
			fprintf(stderr, "pipebench: writing %s: %s\n", target, strerror(-r));
			return 1;
		}
		printf("PIPEBENCH rep=%u write_s=%.3f sync_s=%.3f raw_MBps=%.1f comp=%" PRIu64
		       " ratio=%.2f cpu_s=%.3f read_ms=%.1f csum_ms=%.1f compress_ms=%.1f "
		       "encrypt_ms=%.1f sink_ms=%.1f reader_wait_ms=%.1f writer_wait_ms=%.1f "
		       "csw=%ld\n",
		       i, x->write_s, x->sync_s, (double)raw / 1e6 / (x->write_s + x->sync_s),
		       x->comp, (double)raw / (double)x->comp, x->cpu_s, MS(x->st.read_ns),
		       MS(x->st.csum_ns), MS(x->st.compress_ns), MS(x->st.encrypt_ns),
		       MS(x->st.sink_ns), MS(x->st.produce_wait_ns), MS(x->st.consume_wait_ns),
		       x->csw);
		fflush(stdout);
		tot[i] = x->write_s + x->sync_s;
		cpu[i] = x->cpu_s;
		v[i] = x->write_s;
	}
	if (check) {
		r = verify(target, p, key, map, raw);
		printf("PIPEBENCH-VERIFY %s\n", r < 0 ? strerror(-r) : "ok");
		if (r < 0)
			return 1;
	}
	printf("PIPEBENCH-MEDIAN write_s=%.3f total_s=%.3f raw_MBps=%.1f cpu_s=%.3f "
	       "cpu_ns_per_byte=%.2f\n", bench_median(v, reps), bench_median(tot, reps),
	       (double)raw / 1e6 / bench_median(tot, reps), bench_median(cpu, reps),
	       bench_median(cpu, reps) * 1e9 / (double)raw);
	if (regular)
		unlink(target);
	hib_pipeline_free(p);
	hib_image_key_free(key);
	munmap(map, raw);
	close(snap);
	return 0;

usage:
	fprintf(stderr, "usage: pipebench [--target PATH] [--mib N] [--reps N (1..%d)] "
		"[--threads N] [--chunk BYTES] [--run PAGES] [--key] [--verify]\n", MAX_REPS);
	return 2;
}
