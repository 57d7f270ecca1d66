/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the chunk codec, what the pipeline's workers run: lz4 compression of one
 * chunk of the raw stream, or its raw bytes when they do not shrink (chunk.c).
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 */
#ifndef LIBHIBERNATE_CHUNK_H
#define LIBHIBERNATE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image-format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Worst-case payload of a chunk of @raw_len bytes. */
size_t hib_chunk_bound(size_t raw_len);

/*
 * Compress @raw_len bytes (1..HIB_IMAGE_CHUNK_MAX) into @out (@out_size >=
 * hib_chunk_bound(raw_len)); stores them raw when lz4 does not shrink them.  Fills every field
 * of *ret_chunk but seq.
 */
int hib_chunk_compress(const void *raw, size_t raw_len, void *out, size_t out_size,
		       struct hib_chunk *ret_chunk);

/* Where hib_chunk_compress_timed() spent its time (thread CPU time, nanoseconds). */
struct hib_chunk_times {
	uint64_t compress_ns;
	uint64_t csum_ns;
};

/*
 * hib_chunk_compress(), but a chunk that does not shrink is not copied: its payload is @raw
 * itself (HIB_CHUNK_STORED set, @out untouched).  Adds its times to *@times (may be NULL).
 */
int hib_chunk_compress_timed(const void *raw, size_t raw_len, void *out, size_t out_size,
			     struct hib_chunk_times *times, struct hib_chunk *ret_chunk);

/*
 * Decompress the payload of @c (already verified by the reader) into @out, which has room for
 * @out_size bytes, and verify the raw checksum.  -EBADMSG if lz4 fails, the length differs or
 * the raw checksum does not match; -ENOBUFS if @out is too small.
 */
int hib_chunk_decompress(const struct hib_chunk *c, const void *comp, void *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_CHUNK_H */
