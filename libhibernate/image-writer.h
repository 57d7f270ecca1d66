/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the image writer (image-writer.c): header, chunk records, FINAL record and,
 * last, the commit block; and invalidation.  The layout is in image-format.h.
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 */
#ifndef LIBHIBERNATE_IMAGE_WRITER_H
#define LIBHIBERNATE_IMAGE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image-crypto.h"
#include "image-format.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hib_image_writer;

/*
 * Prepare a writer for @sink (not taken over); allocates everything it needs, writes nothing.
 * @identity gives everything but the page count (see hib_system_identity()); its chunk_size
 * must be a multiple of the page size within HIB_IMAGE_CHUNK_MIN..MAX.
 */
int hib_image_writer_new(struct hib_sink *sink, const struct hib_image_info *identity,
			 struct hib_image_writer **ret_writer);
/* Record the protected origins (before hib_image_writer_begin()).  -E2BIG if too many. */
int hib_image_writer_set_origins(struct hib_image_writer *w, const struct hib_image_origin *o,
				 uint32_t n);
/*
 * Start an image of @image_pages pages: write the header and clear the commit block (so
 * whatever image was there is no longer valid).  No allocation.
 */
int hib_image_writer_begin(struct hib_image_writer *w, uint64_t image_pages, uint64_t created);
/*
 * Encrypt the image with @key (copied; before hib_image_writer_begin()).  Derives the key now
 * for a passphrase (argon2id, a fresh salt).  Allocates the ciphertext buffer.
 */
int hib_image_writer_set_key(struct hib_image_writer *w, const struct hib_image_key *key);
/*
 * Append chunk @c (seq must be the next one) with payload @payload.  No allocation.  With a
 * key, the payload is encrypted here: call it in sequence order from one thread.
 */
int hib_image_writer_put(struct hib_image_writer *w, const struct hib_chunk *c,
			 const void *payload);
/*
 * hib_image_writer_put() for a @payload followed by HIB_IMAGE_PUT_SLACK bytes that may be
 * overwritten: with a key, the payload is encrypted where it is instead of from a copy.
 */
#define HIB_IMAGE_PUT_SLACK	8
int hib_image_writer_put_slack(struct hib_image_writer *w, const struct hib_chunk *c,
			       void *payload);
/* Write FINAL, fsync, write the commit block, fsync.  -EIO if the totals do not add up. */
int hib_image_writer_finish(struct hib_image_writer *w);
/* The image's id (image-format.h), from hib_image_writer_new() on. */
void hib_image_writer_id(const struct hib_image_writer *w, uint8_t ret_id[HIB_IMAGE_ID_BYTES]);
/* Bytes written so far (header and records), and the totals. */
uint64_t hib_image_writer_offset(const struct hib_image_writer *w);
void hib_image_writer_totals(const struct hib_image_writer *w, struct hib_final *ret_final);
/* Time spent in hib_image_writer_put() since hib_image_writer_begin(), in nanoseconds. */
struct hib_image_writer_times {
	uint64_t encrypt_ns;	/* CPU time: copy, secretstream, checksum of the ciphertext */
	uint64_t sink_ns;	/* CPU time in the sink's writes */
	uint64_t sink_wall_ns;	/* wall time in the sink's writes (I/O waits included) */
};
void hib_image_writer_times(const struct hib_image_writer *w,
			    struct hib_image_writer_times *ret_times);
void hib_image_writer_free(struct hib_image_writer *w);

/* Clear the commit block of the image on @sink and fsync (one-shot resume).  0 or -errno. */
int hib_image_invalidate(struct hib_sink *sink);

/*
 * After a resume has loaded the image (R3), its data need not stay readable: the header and
 * the first 4 MiB are overwritten with zeros, then the first @len bytes are discarded from a
 * block device (BLKDISCARD) or punched out of a file (FALLOC_FL_PUNCH_HOLE) where that
 * works (a discard alone may leave the data readable).  Other sinks (a URL's object is
 * deleted by hib_image_invalidate()): nothing to do.  1 if also discarded or punched, 0 if
 * only overwritten (or nothing to do), -errno.
 */
int hib_image_discard(struct hib_sink *sink, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_IMAGE_WRITER_H */
