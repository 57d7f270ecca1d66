/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building test images: shared by test-image.c and test-crypto.c. */
#ifndef IMAGE_HELPERS_H
#define IMAGE_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "image.h"

/*
 * An image of @raw (@raw_len bytes, @pages pages) with identity @id, encrypted with @key unless
 * NULL, in a fresh memory sink, sealed for reading.  Chunks of id->chunk_size, lz4.
 */
static inline struct hib_sink *test_make_image(const struct hib_image_info *id,
					       const struct hib_image_key *key, const uint8_t *raw,
					       size_t raw_len, uint64_t pages)
{
	struct hib_image_writer *w;
	struct hib_sink *s;
	uint64_t seq = 0;
	uint8_t *out;
	size_t off;

	assert_int_equal(hib_sink_open_memory(64 << 20, &s), 0);
	assert_int_equal(hib_image_writer_new(s, id, &w), 0);
	if (key)
		assert_int_equal(hib_image_writer_set_key(w, key), 0);
	assert_int_equal(hib_image_writer_begin(w, pages, 1700000000), 0);
	out = malloc(hib_chunk_bound(id->chunk_size));
	assert_non_null(out);
	for (off = 0; off < raw_len; off += id->chunk_size) {
		size_t n = raw_len - off < id->chunk_size ? raw_len - off : id->chunk_size;
		struct hib_chunk c;

		assert_int_equal(hib_chunk_compress(raw + off, n, out,
						    hib_chunk_bound(id->chunk_size), &c), 0);
		c.seq = seq++;
		assert_int_equal(hib_image_writer_put(w, &c, out), 0);
	}
	assert_int_equal(hib_image_writer_finish(w), 0);
	free(out);
	hib_image_writer_free(w);
	s->writable = false;
	return s;
}

#endif /* IMAGE_HELPERS_H */
