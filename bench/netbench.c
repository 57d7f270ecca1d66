// SPDX-License-Identifier: GPL-2.0-only
/*
 * netbench: image write and read throughput through libhibernate's sinks on the host, the
 * same code paths as hibernatectl hibernate / resume (lz4 pipeline on every CPU, image writer,
 * secretstream when a key is set), with a synthetic snapshot from a memfd instead of
 * snapshot_kernel(2):
 *
 *	netbench --dir DIR [--url URL [--www WWW] [--label TEXT]] [--mib N] [--reps N]
 *		 [--threads N]
 *
 * file:  an image file in DIR (local disk): written and fsync'ed, then dropped from the
 *        page cache (POSIX_FADV_DONTNEED) and read back, verified, decompressed to /dev/null;
 * http:  the same through the HTTP sink against URL (a WebDAV nginx on 127.0.0.1 that stores
 *        its files in WWW: the stored object is dropped from the page cache before reading),
 *        or an S3 store (s3+http://...: credentials from HIBERNATE_S3_CREDENTIALS_FILE; no
 *        WWW, the object stays wherever the store keeps it).  TEXT names it in the table.
 *
 * Each with and without encryption.  The snapshot is a mix of pages like a real memory
 * image: a third zero pages, a third text-like (compressible), a third random.  Prints one
 * NETBENCH line per run and a markdown table of medians.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "benchdata.h"
#include "hibernation.h"
#include "http.h"
#include "image.h"

#define MAX_REPS 16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_snapshot(uint64_t bytes)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog 0123456789 ";
	int fd = memfd_create("netbench-snapshot", MFD_CLOEXEC);
	uint8_t *p;
	uint64_t i, j;
	uint32_t x = 12345;

	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0)
		return -1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < bytes / 4096; i++) {
		uint8_t *pg = p + i * 4096;

		switch (i % 3) {
		case 0:
			break;	/* zero */
		case 1:
			for (j = 0; j < 4096; j++)
				pg[j] = (uint8_t)words[(j + i * 7) % (sizeof(words) - 1)];
			for (j = 0; j < 4096; j += 64) {
				x = x * 1103515245u + 12345u;
				pg[j] = (uint8_t)(x >> 16);
			}
			break;
		default:
			for (j = 0; j < 4096; j++) {
				x = x * 1103515245u + 12345u;
				pg[j] = (uint8_t)(x >> 16);
			}
		}
	}
	munmap(p, bytes);
	return fd;
}

static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* The one dispatch, with the environment's HTTP settings (HIBERNATE_HTTP_*, _S3_*). */
static int open_sink(const char *target, int mode, struct hib_sink **ret)
{
	static struct hib_conf conf;
	char why[512];
	int r;

	r = hib_conf_resolve("/dev/null", NULL, &conf, NULL);
	if (r < 0)
		return r;
	r = hib_sink_open_conf(&conf, target, mode, ret, why, sizeof(why));
	if (r < 0 && why[0])
		fprintf(stderr, "netbench: %s\n", why);
	return r;
}

/* One image write; seconds in *ret_s, compressed bytes in *ret_comp. */
static int bench_write(const char *target, int snap, uint64_t raw, struct hib_pipeline *p,
		       const struct hib_image_info *id, const struct hib_image_key *key,
		       double *ret_s, uint64_t *ret_comp)
{
	struct hib_image_writer *w = NULL;
	struct hib_sink *s = NULL;
	struct hib_final fin;
	double t0 = now_s();
	int r;

	if (lseek(snap, 0, SEEK_SET) < 0)
		return -errno;
	r = open_sink(target, HIB_SINK_WRITE, &s);
	if (r >= 0)
		r = hib_image_writer_new(s, id, &w);
	if (r >= 0 && key)
		r = hib_image_writer_set_key(w, key);
	if (r >= 0)
		r = hib_image_writer_begin(w, raw / id->page_size, (uint64_t)time(NULL));
	if (r >= 0)
		r = hib_pipeline_compress_fd(p, snap, raw, w, NULL, NULL);
	if (r >= 0)
		r = hib_image_writer_finish(w);
	if (r >= 0) {
		*ret_s = now_s() - t0;
		hib_image_writer_totals(w, &fin);
		*ret_comp = fin.comp_bytes;
	}
	hib_image_writer_free(w);
	hib_sink_close(s);
	return r;
}

static int bench_read(const char *target, struct hib_pipeline *p,
		      const struct hib_image_key *key, double *ret_s)
{
	struct hib_image_reader *rd = NULL;
	struct hib_sink *s = NULL;
	char why[HIB_IMAGE_WHY_MAX] = "";
	double t0 = now_s();
	int r, null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	r = open_sink(target, HIB_SINK_READ, &s);
	if (r >= 0)
		r = hib_image_reader_open_key(s, key, &rd, why, NULL);
	if (r >= 0)
		r = hib_pipeline_decompress_fd(p, rd, null, NULL, NULL);
	if (r >= 0)
		*ret_s = now_s() - t0;
	else if (why[0] || (rd && hib_image_reader_why(rd, NULL)[0]))
		fprintf(stderr, "netbench: %s: %s\n", target, why[0] ? why :
			hib_image_reader_why(rd, NULL));
	hib_image_reader_free(rd);
	hib_sink_close(s);
	close(null);
	return r;
}

int main(int argc, char **argv)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "netbench key, not a secret.....";
	const char *dir = NULL, *url = NULL, *www = NULL, *label = "http (nginx WebDAV, 127.0.0.1)";
	unsigned int mib = 256, reps = 3, threads = 0, i, t, e;
	struct hib_image_key *key = NULL;
	struct hib_pipeline *p = NULL;
	struct hib_image_info id;
	char file[4096], obj[4096], wwwobj[4096];
	double ws[2][MAX_REPS], rs[2][MAX_REPS];
	const char *targets[2];
	uint64_t raw, comp = 0;
	int snap, r, rc = 0;

	for (i = 1; i < (unsigned int)argc; i++) {
		const char *a = argv[i], *v = i + 1 < (unsigned int)argc ? argv[i + 1] : NULL;

		if (!v)
			goto usage;
		if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--url"))
			url = v;
		else if (!strcmp(a, "--www"))
			www = v;
		else if (!strcmp(a, "--label"))
			label = v;
		else if (!strcmp(a, "--mib"))
			mib = (unsigned int)atoi(v);
		else if (!strcmp(a, "--reps"))
			reps = (unsigned int)atoi(v);
		else if (!strcmp(a, "--threads"))
			threads = (unsigned int)atoi(v);
		else
			goto usage;
		i++;
	}
	if (!dir || !mib || !reps || reps > MAX_REPS)
		goto usage;

	if (hib_system_identity(NULL, NULL, &id) < 0) {
		memset(&id, 0, sizeof(id));
		id.page_size = 4096;
		id.codec = HIB_CODEC_LZ4;
		id.chunk_size = 0;
	}
	raw = (uint64_t)mib << 20;
	snap = make_snapshot(raw);
	if (snap < 0) {
		perror("netbench: snapshot memfd");
		return 1;
	}
	if (hib_image_key_from_raw(kb, &key) < 0 ||
	    hib_pipeline_new(threads, id.chunk_size ? id.chunk_size : HIB_IMAGE_CHUNK_DEFAULT,
			     &p) < 0) {
		fprintf(stderr, "netbench: cannot set up the pipeline\n");
		return 1;
	}
	if (!id.chunk_size)
		id.chunk_size = HIB_IMAGE_CHUNK_DEFAULT;
	snprintf(file, sizeof(file), "%s/netbench.img", dir);
	targets[0] = file;
	targets[1] = NULL;
	wwwobj[0] = 0;	/* an object we cannot see on disk (S3): its page cache stays */
	if (url) {
		snprintf(obj, sizeof(obj), "%snetbench.img", url);
		targets[1] = obj;
		if (www)
			snprintf(wwwobj, sizeof(wwwobj), "%s/netbench.img", www);
	}
	printf("NETBENCH-INFO mib=%u reps=%u threads=%u chunk=%u cpus=%ld\n", mib, reps,
	       hib_pipeline_threads(p), id.chunk_size, sysconf(_SC_NPROCESSORS_ONLN));
	printf("| sink | encryption | write MB/s | read MB/s | image MiB | ratio | write s "
	       "(min-max) | read s (min-max) |\n| --- | --- | ---: | ---: | ---: | ---: | ---: "
	       "| ---: |\n");
	fflush(stdout);
	/* Runs interleaved (file, http, file, http, ...): a busy machine slows both alike. */
	for (e = 0; e < 2; e++) {
		for (i = 0; i < reps; i++) {
			for (t = 0; t < 2; t++) {
				if (!targets[t])
					continue;
				r = bench_write(targets[t], snap, raw, p, &id, e ? key : NULL,
						&ws[t][i], &comp);
				if (r < 0) {
					fprintf(stderr, "netbench: writing %s: %s\n", targets[t],
						strerror(-r));
					rc = 1;
					goto out;
				}
				if (!t || wwwobj[0])
					drop_cache(t ? wwwobj : file);
				r = bench_read(targets[t], p, e ? key : NULL, &rs[t][i]);
				if (r < 0) {
					fprintf(stderr, "netbench: reading %s: %s\n", targets[t],
						strerror(-r));
					rc = 1;
					goto out;
				}
				fprintf(stderr, "NETBENCH sink=%s enc=%u rep=%u write_s=%.3f "
					"read_s=%.3f comp=%" PRIu64 "\n", t ? "url" : "file", e, i,
					ws[t][i], rs[t][i], comp);
			}
		}
		for (t = 0; t < 2; t++) {
			double wmed, rmed;

			if (!targets[t])
				continue;
			wmed = bench_median(ws[t], reps);
			rmed = bench_median(rs[t], reps);
			/* bench_median() sorted both: [0] is the minimum, [reps - 1] the maximum */
			printf("| %s | %s | %.1f | %.1f | %.1f | %.2f | %.2f (%.2f-%.2f) | "
			       "%.2f (%.2f-%.2f) |\n",
			       t ? label : "file (local disk)",
			       e ? "xchacha20poly1305" : "none", (double)raw / 1e6 / wmed,
			       (double)raw / 1e6 / rmed, (double)comp / 1048576.0,
			       (double)raw / (double)comp, wmed, ws[t][0], ws[t][reps - 1], rmed,
			       rs[t][0], rs[t][reps - 1]);
			fflush(stdout);
		}
	}
out:
	unlink(file);
	if (url) {
		struct hib_sink *s;

		/* leave nothing on the server: invalidate = DELETE */
		if (open_sink(obj, HIB_SINK_UPDATE, &s) >= 0) {
			hib_image_invalidate(s);
			hib_sink_close(s);
		}
	}
	hib_pipeline_free(p);
	hib_image_key_free(key);
	close(snap);
	return rc;

usage:
	fprintf(stderr, "usage: netbench --dir DIR [--url URL [--www DIR] [--label TEXT]] [--mib N] [--reps N "
		"(1..%d)] [--threads N]\n", MAX_REPS);
	return 2;
}
