/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the image reader (image-reader.c), which trusts nothing it reads.  The layout
 * is in image-format.h.
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 */
#ifndef LIBHIBERNATE_IMAGE_READER_H
#define LIBHIBERNATE_IMAGE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image-crypto.h"
#include "image-format.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hib_image_reader;

#define HIB_IMAGE_WHY_MAX 256

/*
 * Open the image on @sink (not taken over): read and check the header and the commit block.
 * -ENODATA when there is no valid image (no magic, commit block clear or torn), -EBADMSG when
 * the header is corrupt or inconsistent, -EPROTONOSUPPORT for an unknown version, codec or
 * cipher, else -errno.  On failure *ret_why (if set) gets the reason (at most
 * HIB_IMAGE_WHY_MAX bytes) and *ret_off its offset.
 */
int hib_image_reader_open(struct hib_sink *sink, struct hib_image_reader **ret_reader,
			  char *ret_why, uint64_t *ret_off);
/*
 * The same with encryption configured (@key not NULL): an unencrypted image is refused with
 * -EPERM, a wrong key with -EKEYREJECTED.  Without a key (@key NULL), an encrypted image is
 * refused with -ENOKEY.  A chunk or FINAL record that does not authenticate is -EBADMSG from
 * hib_image_reader_next() with the reason.
 */
int hib_image_reader_open_key(struct hib_sink *sink, const struct hib_image_key *key,
			      struct hib_image_reader **ret_reader, char *ret_why,
			      uint64_t *ret_off);
const struct hib_image_info *hib_image_reader_info(const struct hib_image_reader *r);
/* The image's id (image-format.h). */
void hib_image_reader_id(const struct hib_image_reader *r, uint8_t ret_id[HIB_IMAGE_ID_BYTES]);
/* The totals from the commit block's FINAL record, read ahead by hib_image_reader_open(). */
const struct hib_final *hib_image_reader_final(const struct hib_image_reader *r);

/*
 * The next chunk: reads its record and payload into @buf (@buf_size bytes), checks every
 * length and the payload checksum.  1 with *ret_chunk set, 0 once the FINAL record was read
 * and its totals and running checksum match, or -EBADMSG / -errno (see hib_image_reader_why()).
 * After 0 or an error, it keeps returning the same.
 */
int hib_image_reader_next(struct hib_image_reader *r, void *buf, size_t buf_size,
			  struct hib_chunk *ret_chunk);
/*
 * The same, the payload read where the sink puts it without a copy: an O_DIRECT read window's
 * descriptor reads the aligned blocks around it into @buf (aligned to 4096; @buf_size: the
 * largest payload, HIB_RECORD_SIZE and HIB_SINK_READ_IN_SLACK), and *ret_payload points at it
 * in @buf.  The record behind the payload comes with it and is kept for the next call.
 */
int hib_image_reader_next_in(struct hib_image_reader *r, uint8_t *buf, size_t buf_size,
			     struct hib_chunk *ret_chunk, uint8_t **ret_payload);
/*
 * Leave the payload checksum of chunks in the clear to the caller: hib_image_reader_next() then
 * returns them with payload_unchecked set, and the caller checks XXH3-64 of the payload against
 * comp_csum before using it (off the reader's path, which is serial) and reports a mismatch
 * with payload_bad set through hib_image_reader_fail().  An encrypted chunk is authenticated
 * by the reader all the same.
 */
void hib_image_reader_defer_payload_check(struct hib_image_reader *r, bool defer);
/* The last error's reason and offset. */
const char *hib_image_reader_why(const struct hib_image_reader *r, uint64_t *ret_off);
/* Record the failure of a chunk found by a later stage (decompression) for ..._why(). */
void hib_image_reader_fail(struct hib_image_reader *r, const struct hib_chunk *c, int err);
/* The offset of the next record to read. */
uint64_t hib_image_reader_offset(const struct hib_image_reader *r);
void hib_image_reader_free(struct hib_image_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_IMAGE_READER_H */
