// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writes the image reader fuzzer's seeds: a small valid image, plain and encrypted (with
 * fuzz-image.c's key), into DIR.  Run by hand when the image format changes:
 *
 *   build/meson/tests/fuzz/make-image-seeds tests/fuzz/corpus/image
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static int write_seed(const char *dir, const char *name, const struct hib_image_key *key)
{
	static uint8_t raw[3 * 4096];
	struct hib_image_info id = {
		.version = HIB_IMAGE_VERSION, .page_size = 4096, .chunk_size = 2 * 4096,
		.codec = HIB_CODEC_LZ4, .kernel_release = "6.1.0-seed",
		.kernel_version = "#1 SMP seed", .host_id = "seedhost", .build_id_len = 4,
		.build_id = { 1, 2, 3, 4 },
	};
	struct hib_image_writer *w = NULL;
	uint8_t out[16384], *data;
	struct hib_sink *s = NULL;
	char path[512];
	size_t off, len;
	uint64_t seq = 0;
	FILE *f;

	for (off = 0; off < sizeof(raw); off++)
		raw[off] = off < 4096 ? (uint8_t)(off * 7) : off < 8192 ? 'a' + off % 26 : 0;
	if (hib_sink_open_memory(1 << 20, &s) < 0 || hib_image_writer_new(s, &id, &w) < 0 ||
	    (key && hib_image_writer_set_key(w, key) < 0) ||
	    hib_image_writer_begin(w, 3, 1700000000) < 0)
		return 1;
	for (off = 0; off < sizeof(raw); off += id.chunk_size) {
		size_t n = sizeof(raw) - off < id.chunk_size ? sizeof(raw) - off : id.chunk_size;
		struct hib_chunk c;

		if (hib_chunk_compress(raw + off, n, out, sizeof(out), &c) < 0)
			return 1;
		c.seq = seq++;
		if (hib_image_writer_put(w, &c, out) < 0)
			return 1;
	}
	if (hib_image_writer_finish(w) < 0)
		return 1;
	data = hib_sink_memory_data(s, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return 1;
	hib_image_writer_free(w);
	hib_sink_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t k[HIB_KEY_BYTES] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	};
	struct hib_image_key *key = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: make-image-seeds DIR\n");
		return 2;
	}
	if (hib_image_key_from_raw(k, &key) < 0 || write_seed(argv[1], "plain.img", NULL) ||
	    write_seed(argv[1], "encrypted.img", key)) {
		fprintf(stderr, "make-image-seeds: failed\n");
		return 1;
	}
	hib_image_key_free(key);
	return 0;
}
