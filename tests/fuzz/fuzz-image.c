// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the image reader (image-reader.c): the input is an image as a sink
 * would return it.  Opened without a key and with the seed corpus's key; every chunk the
 * reader hands out is decompressed.  Anything may be refused; nothing may crash, read out of
 * bounds, or hand out a chunk larger than the header's chunk size.  Built with clang
 * -fsanitize=fuzzer,address by tests/fuzz/run-fuzz.sh; replay-main.c runs it over the seed
 * corpus (valid plain and encrypted images, tests/fuzz/corpus/image) without libFuzzer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size;
};

static int in_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	const struct input *in = s->priv;

	if (off > in->size || len > in->size - off)
		return -ENODATA;
	memcpy(buf, in->data + off, len);
	return 0;
}

static int in_size(struct hib_sink *s, uint64_t *ret_size)
{
	*ret_size = ((const struct input *)s->priv)->size;
	return 0;
}

static const struct hib_sink_ops in_ops = { .read = in_read, .size = in_size };

/* The key of the encrypted seeds (tests/fuzz/make-image-seeds.c). */
static const uint8_t seed_key[HIB_KEY_BYTES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* Every chunk through hib_image_reader_next(), or (@in_place) hib_image_reader_next_in(). */
static void read_all(struct hib_sink *s, const struct hib_image_key *key, bool in_place)
{
	char why[HIB_IMAGE_WHY_MAX];
	struct hib_image_reader *r = NULL;
	const struct hib_image_info *info;
	uint8_t *buf, *out, *payload;
	struct hib_chunk c;
	uint64_t off = 0;
	size_t cap;

	if (hib_image_reader_open_key(s, key, &r, why, &off) < 0)
		return;
	info = hib_image_reader_info(r);
	if (!info->chunk_size || info->chunk_size > HIB_IMAGE_CHUNK_MAX)
		abort();
	cap = hib_chunk_bound(info->chunk_size) + (in_place ? HIB_RECORD_SIZE : 0);
	buf = malloc(cap);
	out = malloc(info->chunk_size);
	if (buf && out) {
		for (;;) {
			payload = buf;
			if ((in_place ? hib_image_reader_next_in(r, buf, cap, &c, &payload) :
					hib_image_reader_next(r, buf, cap, &c)) <= 0)
				break;
			if (c.raw_len > info->chunk_size || payload < buf ||
			    payload + c.comp_len > buf + cap)
				abort();
			if (hib_chunk_decompress(&c, payload, out, info->chunk_size) < 0)
				break;
		}
	}
	free(buf);
	free(out);
	hib_image_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct hib_sink s = { .ops = &in_ops, .kind = HIB_SINK_OTHER, .fd = -1, .priv = &in };
	struct hib_image_key *key = NULL;

	read_all(&s, NULL, false);
	read_all(&s, NULL, true);
	if (hib_image_key_from_raw(seed_key, &key) == 0) {
		read_all(&s, key, false);
		read_all(&s, key, true);
		hib_image_key_free(key);
	}
	return 0;
}
