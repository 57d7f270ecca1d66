/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the lz4 pipeline, reader -> N workers -> ordered writer, that fills and
 * drains an image (pipeline.c).
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 */
#ifndef LIBHIBERNATE_PIPELINE_H
#define LIBHIBERNATE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image-format.h"
#include "image-reader.h"
#include "image-writer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hib_pipeline;

/* A unit of work.  @in_buf and @out are allocated up front by hib_pipeline_new(). */
struct hib_pipeline_slot {
	uint64_t seq;
	uint8_t *in;		/* @in_buf, unless produce() points it into @in_buf */
	size_t in_cap;
	uint8_t *in_buf;	/* aligned to 4096, @in_cap + HIB_PIPELINE_IN_SLACK bytes */
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	size_t out_len;
	struct hib_chunk chunk;
	/*
	 * HIB_PIPELINE_COMPRESS: the chunk's payload, @out or (a stored chunk) @in itself; the
	 * writer may overwrite the HIB_IMAGE_PUT_SLACK bytes behind it.
	 * HIB_PIPELINE_DECOMPRESS: the chunk's raw bytes, @out or (a stored chunk) @in itself.
	 */
	uint8_t *payload;
	int err;
};

/*
 * Where the time of the last run went, in nanoseconds.  The stage figures are CPU time
 * (CLOCK_THREAD_CPUTIME_ID, user and system) summed over the threads that ran the stage; the
 * waits and sink_wall_ns are wall time (CLOCK_MONOTONIC).
 */
struct hib_pipeline_stats {
	uint64_t read_ns;		/* workers: produce(), i.e. read(2) of the snapshot */
	uint64_t compress_ns;		/* workers: lz4 (or the transform) */
	uint64_t csum_ns;		/* workers: XXH3 of the raw bytes and of the payload */
	uint64_t encrypt_ns;		/* writer: secretstream, its copy and checksum */
	uint64_t sink_ns;		/* writer: the sink's writes */
	uint64_t sink_wall_ns;		/* writer: the same, wall time (includes I/O waits) */
	uint64_t consume_ns;		/* writer: all of consume(), encryption and sink too */
	uint64_t place_ns;		/* workers: place(), e.g. pwrite(2) into /dev/snapshot */
	uint64_t place_wall_ns;		/* workers: the same, wall time (includes its waits) */
	uint64_t place_turn_ns;		/* workers waiting for the place() before theirs to begin */
	uint64_t read_wall_ns;		/* workers: produce(), wall time (includes I/O waits) */
	uint64_t produce_wait_ns;	/* workers idle: slots full (downstream slower), or
					 * another worker reading (the reads are serial) */
	uint64_t consume_wait_ns;	/* writer waiting for the next chunk (upstream slower) */
	uint64_t wall_ns;		/* the whole run */
};

enum hib_pipeline_mode {
	HIB_PIPELINE_COMPRESS = 1,	/* in: raw bytes -> out: chunk payload */
	HIB_PIPELINE_DECOMPRESS = 2,	/* in: verified payload -> payload: raw bytes */
	HIB_PIPELINE_CUSTOM = 3,	/* transform callback */
};

/* Room behind @in_cap in a slot's @in_buf: a payload read in place with its next record. */
#define HIB_PIPELINE_IN_SLACK	(HIB_RECORD_SIZE + HIB_SINK_READ_IN_SLACK)

/* The nice value of the writer into /dev/snapshot while an image loads. */
#define HIB_PIPELINE_WRITER_NICE	(-10)

struct hib_pipeline_job {
	enum hib_pipeline_mode mode;
	/* A worker thread, one call at a time, in order: fill s->in (and s->chunk when
	 * decompressing).  1, 0 at end, or -errno. */
	int (*produce)(void *ud, struct hib_pipeline_slot *s);
	/* The worker that produced the slot: HIB_PIPELINE_CUSTOM only.  0 or -errno. */
	int (*transform)(void *ud, struct hib_pipeline_slot *s);
	/*
	 * The worker that transformed the slot, once the call for the chunk before has begun
	 * (and every chunk before was transformed): calls begin in seq order and overlap, so
	 * place() must not block on a later chunk's.  May be NULL.  0 or -errno.
	 */
	int (*place)(void *ud, struct hib_pipeline_slot *s);
	/* The writer thread, strictly in seq order, after place().  May be NULL.  0 or -errno. */
	int (*consume)(void *ud, struct hib_pipeline_slot *s);
	/* The writer thread after each consume (may be NULL): totals so far. */
	void (*progress)(void *ud, uint64_t bytes_in, uint64_t bytes_out);
	void *ud;
	/*
	 * The writer thread's nice value while the job runs (0: as it is).  Where the writer is
	 * the one serial stage, it should not wait in the run queue behind a worker: a
	 * negative value (needs CAP_SYS_NICE; without it the job runs all the same).
	 */
	int writer_nice;
};

/*
 * Start @threads workers (0: the online CPUs) and the writer thread, with threads + 2 slots
 * of @chunk_size input and hib_chunk_bound(chunk_size) output bytes each.  All allocation
 * happens here.
 */
int hib_pipeline_new(unsigned int threads, size_t chunk_size, struct hib_pipeline **ret_p);
unsigned int hib_pipeline_threads(const struct hib_pipeline *p);
/* The bytes of its slot buffers (touched only while it runs: what the caller must keep free). */
size_t hib_pipeline_buffer_bytes(const struct hib_pipeline *p);
/*
 * Run @job to completion (the caller's thread waits for the workers and the writer).
 * Returns 0 or the first error of any stage; on error every stage stops and the slots are
 * recycled, so the pipeline can run again.  *ret_in / *ret_out (may be NULL) get the byte totals.
 */
int hib_pipeline_run(struct hib_pipeline *p, const struct hib_pipeline_job *job,
		     uint64_t *ret_in, uint64_t *ret_out);
/* The figures of the last run (zeros before the first one). */
void hib_pipeline_stats(const struct hib_pipeline *p, struct hib_pipeline_stats *ret_stats);
/* Stop and join every thread, free everything. */
void hib_pipeline_free(struct hib_pipeline *p);

typedef void (*hib_progress_fn_t)(void *ud, uint64_t bytes_in, uint64_t bytes_out);

/*
 * Read exactly @raw_bytes from @fd in chunk_size pieces, compress them on all workers and
 * append them to @w in order.  -EIO if @fd ends early, -EFBIG if it has more.
 */
int hib_pipeline_compress_fd(struct hib_pipeline *p, int fd, uint64_t raw_bytes,
			     struct hib_image_writer *w, hib_progress_fn_t progress, void *ud);
/*
 * Stream the image from @r: verify, decompress on all workers and write the raw stream to
 * @fd in order.  Returns 0 only after the FINAL record checked out.
 */
int hib_pipeline_decompress_fd(struct hib_pipeline *p, struct hib_image_reader *r, int fd,
			       hib_progress_fn_t progress, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_PIPELINE_H */
