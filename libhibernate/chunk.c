// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The chunk codec (chunk.h): an lz4 block, or the raw bytes when lz4 does not shrink them,
 * with the XXH3 checksums of both.
 */
#include <errno.h>
#include <string.h>

#include <lz4.h>

#include "image-internal.h"
#include "macro.h"
#include "util.h"

size_t hib_chunk_bound(size_t raw_len)
{
	if (raw_len > HIB_IMAGE_CHUNK_MAX)
		return 0;
	return (size_t)LZ4_COMPRESSBOUND(raw_len);
}

int hib_chunk_compress_timed(const void *raw, size_t raw_len, void *out, size_t out_size,
			     struct hib_chunk_times *times, struct hib_chunk *ret_chunk)
{
	uint64_t t0, t1, t2;
	int n;

	if (!raw || !out || !ret_chunk || raw_len == 0 || raw_len > HIB_IMAGE_CHUNK_MAX ||
	    out_size < hib_chunk_bound(raw_len))
		return -EINVAL;

	t0 = times ? hib_cpu_ns() : 0;
	n = LZ4_compress_default(raw, out, (int)raw_len, (int)MIN(out_size, (size_t)INT32_MAX));
	t1 = times ? hib_cpu_ns() : 0;
	if (n <= 0 || (size_t)n >= raw_len) {
		n = (int)raw_len;
		ret_chunk->flags = HIB_CHUNK_STORED;
		ret_chunk->comp_csum = ret_chunk->raw_csum = csum(raw, raw_len);
	} else {
		ret_chunk->flags = 0;
		ret_chunk->comp_csum = csum(out, (size_t)n);
		ret_chunk->raw_csum = csum(raw, raw_len);
	}
	ret_chunk->raw_len = (uint32_t)raw_len;
	ret_chunk->comp_len = (uint32_t)n;
	if (times) {
		t2 = hib_cpu_ns();
		times->compress_ns += t1 - t0;
		times->csum_ns += t2 - t1;
	}
	return 0;
}

int hib_chunk_compress(const void *raw, size_t raw_len, void *out, size_t out_size,
		       struct hib_chunk *ret_chunk)
{
	struct hib_chunk c;
	int r;

	r = hib_chunk_compress_timed(raw, raw_len, out, out_size, NULL, &c);
	if (r < 0)
		return r;
	if (c.flags & HIB_CHUNK_STORED)
		memcpy(out, raw, raw_len);
	*ret_chunk = c;
	return 0;
}

int hib_chunk_decompress(const struct hib_chunk *c, const void *comp, void *out, size_t out_size)
{
	int n;

	if (!c || !comp || !out)
		return -EINVAL;
	if (c->raw_len > out_size)
		return -ENOBUFS;
	if (c->flags & HIB_CHUNK_STORED) {
		if (c->comp_len != c->raw_len)
			return -EBADMSG;
		memcpy(out, comp, c->raw_len);
	} else {
		if (c->comp_len == 0 || c->comp_len > hib_chunk_bound(c->raw_len))
			return -EBADMSG;
		n = LZ4_decompress_safe(comp, out, (int)c->comp_len, (int)c->raw_len);
		if (n < 0 || (uint32_t)n != c->raw_len)
			return -EBADMSG;
	}
	if (csum(out, c->raw_len) != c->raw_csum)
		return -EBADMSG;
	return 0;
}
