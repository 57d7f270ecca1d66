// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/image.c: writer/reader round trip on a memory sink, and every rejection path of
 * the reader as a table of mutations of a good image (with and without the checksums fixed up,
 * so that the check behind the checksum is reached too).
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "csum.h"
#include "image.h"
#include "image-helpers.h"

#define PAGES	37
#define CHUNK_PAGES 4

static uint32_t page;
static uint8_t *raw;		/* PAGES pages of test data */
static size_t raw_len;

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void identity(struct hib_image_info *id)
{
	memset(id, 0, sizeof(*id));
	id->version = HIB_IMAGE_VERSION;
	id->page_size = page;
	id->chunk_size = CHUNK_PAGES * page;
	id->codec = HIB_CODEC_LZ4;
	id->cipher = HIB_CIPHER_NONE;
	strcpy(id->kernel_release, "6.1.0-hib");
	strcpy(id->kernel_version, "#1 SMP PREEMPT_DYNAMIC test");
	strcpy(id->host_id, "0123456789abcdef0123456789abcdef");
	memcpy(id->build_id, "\x12\x34\x56\x78\x9a", 5);
	id->build_id_len = 5;
}

/* A good image of raw[] in a fresh memory sink, sealed for reading. */
static struct hib_sink *make_image(void)
{
	struct hib_image_info id;

	identity(&id);
	return test_make_image(&id, NULL, raw, raw_len, PAGES);
}

/*
 * Read every chunk and decompress it; compare with raw[].  Returns 0 or the first error.
 * @in_place: hib_image_reader_next_in() into an aligned buffer, and (@compare) at least one
 * payload must come where the O_DIRECT read put it, not at the buffer's start.
 */
static int stream_all_mode(struct hib_image_reader *r, bool compare, bool in_place)
{
	const struct hib_image_info *info = hib_image_reader_info(r);
	size_t cap = hib_chunk_bound(info->chunk_size), moved = 0;
	uint8_t *buf = NULL, *payload = NULL;
	uint8_t *out = malloc(info->chunk_size);
	struct hib_chunk c;
	size_t off = 0;
	int e;

	if (in_place)
		cap += HIB_RECORD_SIZE + HIB_SINK_READ_IN_SLACK;
	assert_int_equal(posix_memalign((void **)&buf, 4096, cap), 0);
	assert_non_null(out);
	for (;;) {
		if (in_place) {
			e = hib_image_reader_next_in(r, buf, cap, &c, &payload);
			moved += e > 0 && payload != buf;
		} else {
			e = hib_image_reader_next(r, buf, cap, &c);
			payload = buf;
		}
		if (e <= 0)
			break;
		e = hib_chunk_decompress(&c, payload, out, info->chunk_size);
		if (e < 0) {
			hib_image_reader_fail(r, &c, e);
			break;
		}
		if (compare) {
			assert_true(off + c.raw_len <= raw_len);
			assert_memory_equal(out, raw + off, c.raw_len);
		}
		off += c.raw_len;
	}
	if (e == 0 && compare)
		assert_int_equal(off, raw_len);
	if (e == 0 && compare && in_place)
		assert_true(moved > 0);
	free(buf);
	free(out);
	return e;
}

static int stream_all(struct hib_image_reader *r, bool compare)
{
	return stream_all_mode(r, compare, false);
}

static int setup(void **state)
{
	size_t i;
	uint32_t x = 12345;

	page = (uint32_t)sysconf(_SC_PAGESIZE);
	raw_len = (size_t)PAGES * page;
	raw = malloc(raw_len);
	if (!raw)
		return -1;
	/* Compressible text-like pages, incompressible pages, zero pages. */
	for (i = 0; i < raw_len; i++) {
		size_t pg = i / page;

		x = x * 1103515245 + 12345;
		if (pg % 3 == 0)
			raw[i] = (uint8_t)("hibernate "[i % 10]);
		else if (pg % 3 == 1)
			raw[i] = (uint8_t)(x >> 16);
		else
			raw[i] = 0;
	}
	return 0;
}

static int teardown(void **state)
{
	free(raw);
	return 0;
}

static void test_round_trip(void **state)
{
	struct hib_image_reader *r = NULL;
	const struct hib_image_info *info;
	const struct hib_final *fin;
	struct hib_sink *s = make_image();
	char why[HIB_IMAGE_WHY_MAX];
	uint64_t off;
	size_t len;

	assert_non_null(hib_sink_memory_data(s, &len));
	assert_int_equal(hib_image_reader_open(s, &r, why, &off), 0);
	info = hib_image_reader_info(r);
	assert_int_equal(info->version, HIB_IMAGE_VERSION);
	assert_int_equal(info->page_size, page);
	assert_int_equal(info->image_pages, PAGES);
	assert_int_equal(info->raw_bytes, raw_len);
	assert_int_equal(info->created, 1700000000);
	assert_string_equal(info->kernel_release, "6.1.0-hib");
	assert_string_equal(info->kernel_version, "#1 SMP PREEMPT_DYNAMIC test");
	assert_string_equal(info->host_id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(info->build_id_len, 5);
	assert_memory_equal(info->build_id, "\x12\x34\x56\x78\x9a", 5);
	fin = hib_image_reader_final(r);
	assert_int_equal(fin->chunks, (PAGES + CHUNK_PAGES - 1) / CHUNK_PAGES);
	assert_int_equal(fin->raw_bytes, raw_len);
	/* Some pages compress, the random ones are stored: smaller than raw, not tiny. */
	assert_true(fin->comp_bytes < raw_len);
	assert_true(fin->comp_bytes > raw_len / 4);
	assert_int_equal(len, HIB_IMAGE_DATA_OFFSET + fin->chunks * HIB_RECORD_SIZE +
			 fin->comp_bytes + HIB_RECORD_SIZE);

	assert_int_equal(stream_all(r, true), 0);
	/* Done stays done. */
	{
		uint8_t b[16];
		struct hib_chunk c;

		assert_int_equal(hib_image_reader_next(r, b, sizeof(b), &c), 0);
	}
	hib_image_reader_free(r);
	hib_sink_close(s);
}

static void test_invalidate_is_one_shot(void **state)
{
	struct hib_image_reader *r = NULL;
	struct hib_sink *s = make_image();
	char why[HIB_IMAGE_WHY_MAX];

	s->writable = true;
	assert_int_equal(hib_image_invalidate(s), 0);
	s->writable = false;
	assert_int_equal(hib_image_reader_open(s, &r, why, NULL), -ENODATA);
	assert_null(r);
	assert_non_null(strstr(why, "not marked valid"));
	hib_sink_close(s);
}

static void test_torn_write_leaves_no_image(void **state)
{
	struct hib_image_reader *r = NULL;
	struct hib_image_writer *w;
	struct hib_image_info id;
	struct hib_sink *s = make_image();
	uint8_t out[128], in[64];
	struct hib_chunk c;

	/* A new hibernation starts over the old image and dies after one chunk. */
	identity(&id);
	id.chunk_size = page;
	s->writable = true;
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_begin(w, 1, 1700000001), 0);
	memset(in, 'a', sizeof(in));
	assert_int_equal(hib_chunk_compress(in, sizeof(in), out, sizeof(out), &c), 0);
	c.seq = 0;
	/* raw_len must be the whole (only) chunk: a short one is refused. */
	assert_int_equal(hib_image_writer_put(w, &c, out), -EINVAL);
	assert_int_equal(hib_image_writer_finish(w), -EIO);
	hib_image_writer_free(w);
	s->writable = false;
	assert_int_equal(hib_image_reader_open(s, &r, NULL, NULL), -ENODATA);
	hib_sink_close(s);
}

/* ---- the rejection table -------------------------------------------------------------------- */

enum phase {
	AT_OPEN,
	AT_STREAM,
};

struct mutation {
	const char *name;
	void (*fn)(uint8_t *img, size_t *len);
	enum phase phase;
	int err;
	const char *why;	/* substring of the reason */
};

static void fix_header(uint8_t *img)
{
	put64(img + 512, hib_image_header_csum(img));
}

static void fix_commit(uint8_t *img)
{
	uint8_t *c = img + HIB_IMAGE_BLOCK;

	put64(c + 8, get64(img + 512));
	put64(c + 32, XXH3_64bits(c, 32));
}

static uint64_t final_off(const uint8_t *img)
{
	return get64(img + HIB_IMAGE_BLOCK + 16);
}

static void fix_final(uint8_t *img)
{
	uint8_t *f = img + final_off(img);

	put64(f + 40, XXH3_64bits(f, 40));
	put64(img + HIB_IMAGE_BLOCK + 24, get64(f + 40));
	fix_commit(img);
}

/* Offset of chunk @n's record. */
static size_t chunk_at(const uint8_t *img, unsigned int n)
{
	size_t off = HIB_IMAGE_DATA_OFFSET;

	while (n--)
		off += HIB_RECORD_SIZE + get32(img + off + 20);
	return off;
}

static void fix_chunk(uint8_t *img, size_t off)
{
	put64(img + off + 40, XXH3_64bits(img + off, 40));
}

static void m_magic(uint8_t *img, size_t *len) { img[0] ^= 0x20; }
static void m_version(uint8_t *img, size_t *len) { put32(img + 8, 2); }
static void m_header_byte(uint8_t *img, size_t *len) { img[70] ^= 1; }
static void m_page_size(uint8_t *img, size_t *len) { put32(img + 16, 1000); fix_header(img); fix_commit(img); }
static void m_chunk_size0(uint8_t *img, size_t *len) { put32(img + 20, 0); fix_header(img); fix_commit(img); }
static void m_chunk_size_huge(uint8_t *img, size_t *len) { put32(img + 20, 0xfffff000); fix_header(img); fix_commit(img); }
static void m_pages_absurd(uint8_t *img, size_t *len) { put64(img + 32, 1ULL << 50); put64(img + 40, (1ULL << 50) * page); fix_header(img); fix_commit(img); }
static void m_pages_raw_mismatch(uint8_t *img, size_t *len) { put64(img + 40, 12345); fix_header(img); fix_commit(img); }
static void m_codec(uint8_t *img, size_t *len) { put32(img + 24, 9); fix_header(img); fix_commit(img); }
static void m_cipher(uint8_t *img, size_t *len) { put32(img + 28, 9); fix_header(img); fix_commit(img); }
static void m_cipher_nokey(uint8_t *img, size_t *len) { put32(img + 28, 1); fix_header(img); fix_commit(img); }
static void m_build_id_len(uint8_t *img, size_t *len) { put32(img + 56, 1000); fix_header(img); fix_commit(img); }
static void m_unterminated(uint8_t *img, size_t *len) { memset(img + 64, 'x', HIB_IMAGE_STR_MAX); fix_header(img); fix_commit(img); }
/* A terminal escape in the kernel release: never printed, the image refused. */
static void m_escape_string(uint8_t *img, size_t *len) { memcpy(img + 64, "6.1\033]0;x\a", 10); fix_header(img); fix_commit(img); }
static void m_not_valid(uint8_t *img, size_t *len) { memset(img + HIB_IMAGE_BLOCK, 0, HIB_IMAGE_BLOCK); }
static void m_commit_torn(uint8_t *img, size_t *len) { img[HIB_IMAGE_BLOCK + 20] ^= 4; }
static void m_commit_other_header(uint8_t *img, size_t *len) { put64(img + 48, 1); fix_header(img); }
static void m_truncated(uint8_t *img, size_t *len) { *len = final_off(img) - 100; }
static void m_truncated_final(uint8_t *img, size_t *len) { *len = final_off(img) + HIB_RECORD_SIZE - 1; }
static void m_tiny(uint8_t *img, size_t *len) { *len = 100; }
static void m_no_final(uint8_t *img, size_t *len) { memset(img + final_off(img), 0, HIB_RECORD_SIZE); }
static void m_final_off_absurd(uint8_t *img, size_t *len) { put64(img + HIB_IMAGE_BLOCK + 16, UINT64_MAX - 10); fix_commit(img); put64(img + HIB_IMAGE_BLOCK + 32, XXH3_64bits(img + HIB_IMAGE_BLOCK, 32)); }
static void m_final_off_early(uint8_t *img, size_t *len) { put64(img + HIB_IMAGE_BLOCK + 16, HIB_IMAGE_DATA_OFFSET); fix_commit(img); }
static void m_final_chunks(uint8_t *img, size_t *len) { uint8_t *f = img + final_off(img); put64(f + 8, get64(f + 8) + 1); fix_final(img); }
static void m_final_raw(uint8_t *img, size_t *len) { uint8_t *f = img + final_off(img); put64(f + 16, get64(f + 16) - page); fix_final(img); }
static void m_final_comp(uint8_t *img, size_t *len) { uint8_t *f = img + final_off(img); put64(f + 24, get64(f + 24) + 1); fix_final(img); }
static void m_final_unfixed(uint8_t *img, size_t *len) { img[final_off(img) + 8] ^= 1; }
static void m_final_running(uint8_t *img, size_t *len) { uint8_t *f = img + final_off(img); put64(f + 32, get64(f + 32) ^ 1); fix_final(img); }
static void m_chunk_payload(uint8_t *img, size_t *len) { img[chunk_at(img, 3) + HIB_RECORD_SIZE + 7] ^= 0x80; }
static void m_chunk_record(uint8_t *img, size_t *len) { img[chunk_at(img, 2) + 17] ^= 1; }
static void m_chunk_magic(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 1); put32(img + o, 0x12345678); fix_chunk(img, o); }
static void m_chunk_comp_absurd(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 9); put32(img + o + 20, 0xffffffff); fix_chunk(img, o); }
static void m_chunk_comp_zero(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 0); put32(img + o + 20, 0); fix_chunk(img, o); }
static void m_chunk_comp_past_final(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 9); put32(img + o + 20, get32(img + o + 20) + 1); put32(img + o + 4, 0); fix_chunk(img, o); }
static void m_chunk_raw_len(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 4); put32(img + o + 16, page); fix_chunk(img, o); }
static void m_chunk_raw_huge(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 4); put32(img + o + 16, 0x7fffffff); fix_chunk(img, o); }
static void m_chunk_seq(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 5); put64(img + o + 8, 6); fix_chunk(img, o); }
static void m_chunk_flags(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 5); put32(img + o + 4, 0x80); fix_chunk(img, o); }
static void m_chunk_raw_csum(uint8_t *img, size_t *len) { size_t o = chunk_at(img, 0); put64(img + o + 32, get64(img + o + 32) ^ 1); fix_chunk(img, o); }

/* Corrupt an lz4 payload but keep its checksum right: the decompressor must catch it. */
static void m_chunk_lz4_garbage(uint8_t *img, size_t *len)
{
	size_t o = chunk_at(img, 0);
	uint32_t n = get32(img + o + 20);

	assert_int_equal(get32(img + o + 4), 0);	/* chunk 0 is text: compressed */
	memset(img + o + HIB_RECORD_SIZE, 0xff, n);
	put64(img + o + 24, XXH3_64bits(img + o + HIB_RECORD_SIZE, n));
	fix_chunk(img, o);
}

/* A compressed chunk claimed stored: its length cannot be the raw length. */
static void m_chunk_lz4_as_stored(uint8_t *img, size_t *len)
{
	size_t o = chunk_at(img, 0);

	put32(img + o + 4, HIB_CHUNK_STORED);
	fix_chunk(img, o);
}

static void m_header_padding(uint8_t *img, size_t *len) { img[1000] = 1; }
static void m_commit_padding(uint8_t *img, size_t *len) { img[HIB_IMAGE_BLOCK + 100] = 1; }

static const struct mutation mutations[] = {
	{ "bad magic", m_magic, AT_OPEN, -ENODATA, "no image magic" },
	{ "version", m_version, AT_OPEN, -EPROTONOSUPPORT, "version 2" },
	{ "header checksum", m_header_byte, AT_OPEN, -EBADMSG, "header checksum" },
	{ "page size", m_page_size, AT_OPEN, -EBADMSG, "page size" },
	{ "chunk size 0", m_chunk_size0, AT_OPEN, -EBADMSG, "chunk size" },
	{ "chunk size huge", m_chunk_size_huge, AT_OPEN, -EBADMSG, "chunk size" },
	{ "absurd page count", m_pages_absurd, AT_OPEN, -EBADMSG, "page count" },
	{ "raw bytes != pages", m_pages_raw_mismatch, AT_OPEN, -EBADMSG, "page count" },
	{ "codec", m_codec, AT_OPEN, -EPROTONOSUPPORT, "codec" },
	{ "cipher", m_cipher, AT_OPEN, -EPROTONOSUPPORT, "cipher" },
	{ "encrypted, no key", m_cipher_nokey, AT_OPEN, -ENOKEY, "no key" },
	{ "build id length", m_build_id_len, AT_OPEN, -EBADMSG, "build id" },
	{ "unterminated string", m_unterminated, AT_OPEN, -EBADMSG, "unterminated" },
	{ "escape in a string", m_escape_string, AT_OPEN, -EBADMSG, "unprintable" },
	{ "not marked valid", m_not_valid, AT_OPEN, -ENODATA, "not marked valid" },
	{ "valid mark torn", m_commit_torn, AT_OPEN, -ENODATA, "torn" },
	{ "valid mark of another header", m_commit_other_header, AT_OPEN, -ENODATA,
	  "another image header" },
	{ "truncated in the chunks", m_truncated, AT_OPEN, -EBADMSG, "truncated" },
	{ "truncated in FINAL", m_truncated_final, AT_OPEN, -EBADMSG, "truncated" },
	{ "tiny", m_tiny, AT_OPEN, -ENODATA, "too small" },
	{ "missing FINAL", m_no_final, AT_OPEN, -EBADMSG, "no FINAL record" },
	{ "FINAL offset absurd", m_final_off_absurd, AT_OPEN, -EBADMSG, "impossible" },
	{ "FINAL offset too early", m_final_off_early, AT_OPEN, -EBADMSG, "impossible" },
	{ "FINAL chunk count", m_final_chunks, AT_OPEN, -EBADMSG, "do not match" },
	{ "FINAL raw bytes", m_final_raw, AT_OPEN, -EBADMSG, "do not match" },
	{ "FINAL compressed bytes", m_final_comp, AT_OPEN, -EBADMSG, "do not match" },
	{ "FINAL flipped byte", m_final_unfixed, AT_OPEN, -EBADMSG, "FINAL record checksum" },
	{ "FINAL running checksum", m_final_running, AT_STREAM, -EBADMSG, "running checksum" },
	{ "flipped byte in a chunk", m_chunk_payload, AT_STREAM, -EBADMSG, "payload checksum" },
	{ "flipped byte in a record", m_chunk_record, AT_STREAM, -EBADMSG, "record checksum" },
	{ "record magic", m_chunk_magic, AT_STREAM, -EBADMSG, "bad record magic" },
	{ "absurd compressed length", m_chunk_comp_absurd, AT_STREAM, -EBADMSG,
	  "bad compressed length" },
	{ "zero compressed length", m_chunk_comp_zero, AT_STREAM, -EBADMSG,
	  "bad compressed length" },
	{ "chunk overlaps FINAL", m_chunk_comp_past_final, AT_STREAM, -EBADMSG, "overlaps" },
	{ "raw length", m_chunk_raw_len, AT_STREAM, -EBADMSG, "raw length" },
	{ "absurd raw length", m_chunk_raw_huge, AT_STREAM, -EBADMSG, "raw length" },
	{ "sequence", m_chunk_seq, AT_STREAM, -EBADMSG, "where chunk 5 belongs" },
	{ "chunk flags", m_chunk_flags, AT_STREAM, -EBADMSG, "unknown flags" },
	{ "raw checksum", m_chunk_raw_csum, AT_STREAM, -EBADMSG, "decompression" },
	{ "lz4 garbage with a good checksum", m_chunk_lz4_garbage, AT_STREAM, -EBADMSG,
	  "decompression" },
	{ "lz4 chunk claimed stored", m_chunk_lz4_as_stored, AT_STREAM, -EBADMSG,
	  "bad compressed length" },
	{ "header padding", m_header_padding, AT_OPEN, -EBADMSG, "padding" },
	{ "valid mark padding", m_commit_padding, AT_OPEN, -ENODATA, "torn" },
};

/*
 * A sink holding @len bytes of @img: in memory, or (@in_place) a file read through the O_DIRECT
 * window, NULL where this filesystem has no O_DIRECT.
 */
static struct hib_sink *sink_with(const uint8_t *img, size_t len, bool in_place)
{
	char path[] = "/var/tmp/hibtest-image-XXXXXX";
	struct hib_sink *t;
	int fd, e;

	if (!in_place) {
		assert_int_equal(hib_sink_open_memory(64 << 20, &t), 0);
		assert_int_equal(hib_sink_write(t, img, len, 0), 0);
		t->writable = false;
		return t;
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	assert_int_equal(hib_sink_open(path, HIB_SINK_READ, &t), 0);
	unlink(path);
	e = hib_sink_read_direct(t, 0);
	if (e == -EINVAL) {
		hib_sink_close(t);
		return NULL;
	}
	assert_int_equal(e, 0);
	return t;
}

static void rejections(bool in_place)
{
	size_t i;

	/* The good image first: read in place, it streams whole. */
	if (in_place) {
		struct hib_sink *s = make_image(), *t;
		struct hib_image_reader *r = NULL;
		uint8_t *img;
		size_t len;

		img = hib_sink_memory_data(s, &len);
		t = sink_with(img, len, true);
		hib_sink_close(s);
		if (!t)
			skip();		/* no O_DIRECT on this filesystem */
		assert_int_equal(hib_image_reader_open(t, &r, NULL, NULL), 0);
		assert_int_equal(stream_all_mode(r, true, true), 0);
		hib_image_reader_free(r);
		hib_sink_close(t);
	}
	for (i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *m = &mutations[i];
		struct hib_image_reader *r = NULL;
		char why[HIB_IMAGE_WHY_MAX] = "";
		struct hib_sink *s = make_image();
		uint8_t *img;
		size_t len;
		uint64_t off = 0;
		int e;

		print_message("  %s\n", m->name);
		img = hib_sink_memory_data(s, &len);
		m->fn(img, &len);
		/* Rebuild the sink with the first len bytes (truncation). */
		{
			struct hib_sink *t = sink_with(img, len, in_place);

			hib_sink_close(s);
			s = t;
			assert_non_null(s);
		}

		e = hib_image_reader_open(s, &r, why, &off);
		if (m->phase == AT_OPEN) {
			if (e != m->err)
				fail_msg("%s: open gave %d, expected %d (%s)", m->name, e, m->err,
					 why);
			assert_null(r);
		} else {
			if (e != 0)
				fail_msg("%s: open failed: %d (%s)", m->name, e, why);
			e = stream_all_mode(r, false, in_place);
			if (e != m->err)
				fail_msg("%s: stream gave %d, expected %d", m->name, e, m->err);
			snprintf(why, sizeof(why), "%s", hib_image_reader_why(r, &off));
			/* Errors are sticky: no more chunks after a failure. */
			{
				uint8_t b[8];
				struct hib_chunk c;

				assert_true(hib_image_reader_next(r, b, sizeof(b), &c) < 0);
			}
			assert_true(off >= HIB_IMAGE_DATA_OFFSET);
		}
		if (!strstr(why, m->why))
			fail_msg("%s: reason '%s' lacks '%s'", m->name, why, m->why);
		hib_image_reader_free(r);
		hib_sink_close(s);
	}
}

static void test_rejections(void **state)
{
	rejections(false);
}

/* The same through hib_image_reader_next_in(): the record read ahead is checked all the same. */
static void test_rejections_in_place(void **state)
{
	rejections(true);
}

/* Random garbage and random single-byte flips never crash the reader or pass as valid. */
static void test_random_flips(void **state)
{
	struct hib_sink *good = make_image();
	size_t len, i;
	uint8_t *img = hib_sink_memory_data(good, &len);
	uint32_t x = 99;

	for (i = 0; i < 300; i++) {
		struct hib_image_reader *r = NULL;
		struct hib_sink *t;
		uint8_t *copy;
		size_t pos;
		int e;

		x = x * 1664525 + 1013904223;
		/* Flip inside the header, commit block or any record/payload. */
		pos = (i % 3 == 0) ? x % HIB_IMAGE_BLOCK : (i % 3 == 1) ? HIB_IMAGE_BLOCK + x % 40 :
		      HIB_IMAGE_DATA_OFFSET + x % (len - HIB_IMAGE_DATA_OFFSET);
		assert_int_equal(hib_sink_open_memory(64 << 20, &t), 0);
		assert_int_equal(hib_sink_write(t, img, len, 0), 0);
		copy = hib_sink_memory_data(t, NULL);
		copy[pos] ^= (uint8_t)(1u << (x >> 29));
		t->writable = false;
		e = hib_image_reader_open(t, &r, NULL, NULL);
		if (e == 0)
			e = stream_all(r, false);
		if (e == 0)
			fail_msg("flip at %zu accepted", pos);
		assert_true(e == -EBADMSG || e == -ENODATA || e == -EPROTONOSUPPORT);
		hib_image_reader_free(r);
		hib_sink_close(t);
	}
	hib_sink_close(good);
}

static void test_check_system(void **state)
{
	struct hib_image_info a, b;
	char why[HIB_IMAGE_WHY_MAX];

	identity(&a);
	identity(&b);
	assert_int_equal(hib_image_check_system(&a, &b, why, sizeof(why)), 0);

	strcpy(b.kernel_version, "#2 SMP PREEMPT_DYNAMIC other");
	assert_int_equal(hib_image_check_system(&a, &b, why, sizeof(why)), -EXDEV);
	assert_non_null(strstr(why, "#1 SMP PREEMPT_DYNAMIC test"));
	assert_non_null(strstr(why, "#2 SMP PREEMPT_DYNAMIC other"));

	identity(&b);
	strcpy(b.kernel_release, "6.2.0");
	assert_int_equal(hib_image_check_system(&a, &b, why, sizeof(why)), -EXDEV);
	assert_non_null(strstr(why, "6.1.0-hib"));
	assert_non_null(strstr(why, "6.2.0"));

	identity(&b);
	b.build_id[0] = 0xee;
	assert_int_equal(hib_image_check_system(&a, &b, why, sizeof(why)), -EXDEV);
	assert_non_null(strstr(why, "123456789a"));
	assert_non_null(strstr(why, "ee3456789a"));

	/* Unknown build id on one side: release and version decide. */
	identity(&b);
	b.build_id_len = 0;
	assert_int_equal(hib_image_check_system(&a, &b, why, sizeof(why)), 0);

	identity(&b);
	b.page_size = 2 * page;
	assert_int_equal(hib_image_check_system(&a, &b, NULL, 0), -EXDEV);
}

static void note(uint8_t *p, size_t *off, uint32_t type, const char *name, const uint8_t *desc,
		 uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	memcpy(p + *off, &namesz, 4);
	memcpy(p + *off + 4, &descsz, 4);
	memcpy(p + *off + 8, &type, 4);
	*off += 12;
	memcpy(p + *off, name, namesz);
	*off += (namesz + 3) & ~3u;
	memcpy(p + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
}

static void test_build_id(void **state)
{
	static const uint8_t id[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
					18, 19, 20 };
	uint8_t buf[256] = { 0 }, out[HIB_BUILD_ID_MAX];
	size_t len = 0;
	uint32_t huge = 0x7fffffff;

	note(buf, &len, 6, "Xen", (const uint8_t *)"abcde", 5);
	note(buf, &len, 1, "GNU", (const uint8_t *)"abi", 3);	/* not a build id */
	note(buf, &len, 3, "GNU", id, sizeof(id));
	assert_int_equal(hib_parse_build_id(buf, len, out), 20);
	assert_memory_equal(out, id, 20);

	/* No build id. */
	assert_int_equal(hib_parse_build_id(buf, 12 + 4 + 8, out), 0);
	assert_int_equal(hib_parse_build_id(buf, 0, out), 0);
	/* A descsz pointing past the end. */
	memcpy(buf + 4, &huge, 4);
	assert_int_equal(hib_parse_build_id(buf, len, out), -EBADMSG);
}

static void test_system_identity(void **state)
{
	char path[] = "/tmp/hibtest-mid-XXXXXX";
	struct hib_image_info info;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "feedface\n", 9), 9);
	close(fd);
	assert_int_equal(hib_system_identity("/nonexistent/notes", path, &info), 0);
	assert_string_equal(info.host_id, "feedface");
	assert_int_equal(info.build_id_len, 0);
	assert_int_equal(info.page_size, page);
	assert_true(info.kernel_release[0] != 0);
	assert_int_equal(info.codec, HIB_CODEC_LZ4);
	unlink(path);
	/* No machine-id: no host id (a hostname is no identity: ip= and DHCP change it). */
	assert_int_equal(hib_system_identity("/nonexistent/notes", "/nonexistent/mid", &info), 0);
	assert_string_equal(info.host_id, "");
}

static void test_worst_case(void **state)
{
	uint64_t w = hib_image_worst_case(1ULL << 30, HIB_IMAGE_CHUNK_DEFAULT);
	uint64_t n = (1ULL << 30) / HIB_IMAGE_CHUNK_DEFAULT;

	/* n chunks, each bounded by lz4's bound plus a record and room for encryption. */
	assert_true(w > 1ULL << 30);
	assert_int_equal(w, HIB_IMAGE_DATA_OFFSET + n * (HIB_RECORD_SIZE +
			 hib_chunk_bound(HIB_IMAGE_CHUNK_DEFAULT) + HIB_CRYPTO_CHUNK_EXTRA) +
			 HIB_RECORD_SIZE + HIB_CRYPTO_ABYTES);
}

/*
 * The resume reserve and the largest image that resumes, with the QEMU test guest's numbers
 * (1 GiB, MemTotal 1015068 kB): an image of 237936 pages (880 MiB workload) resumed from the
 * busybox initramfs, one of 243037 (900 MiB) ran the resume kernel out of memory; a Debian 12
 * system (tests/system) used 59.2 MiB before the load.
 */
static void test_resume_fits(void **state)
{
	uint64_t mem = 1015068ULL * 1024, reserve, max;

	(void)state;
	/* The default: 5% of MemTotal + 64 MiB, 113.6 MiB here. */
	reserve = hib_resume_reserve_bytes(mem, false, 0);
	assert_int_equal(reserve, mem / 20 + (64ULL << 20));
	max = hib_resume_max_pages(mem, reserve, 4096);
	assert_int_equal(max, 253767 - 12689 - 16384);	/* 50753.4 kB rounded up, + 64 MiB */
	/* room for what a Debian initramfs uses and the up to 30 MiB the load needs beside */
	assert_true((mem - max * 4096) >= ((uint64_t)(59.2 * 1048576) + (30ULL << 20)));
	assert_true(243037 > max);
	/* the busybox initramfs of the VM tests: resume-reserve = 60 lets the 880 MiB one in */
	max = hib_resume_max_pages(mem, hib_resume_reserve_bytes(mem, true, 60), 4096);
	assert_true(237936 <= max);
	assert_true(243037 > max);

	/* Small and large machines: the fixed part, the percentage on top. */
	assert_int_equal(hib_resume_reserve_bytes(512ULL << 20, false, 0),
			 (512ULL << 20) / 20 + (64ULL << 20));
	assert_int_equal(hib_resume_reserve_bytes(16ULL << 30, false, 0),
			 (16ULL << 30) / 20 + (64ULL << 20));
	/* No overflow on absurd sizes. */
	assert_int_equal(hib_resume_reserve_bytes(UINT64_MAX, false, 0), UINT64_MAX / 20 +
			 (64ULL << 20));

	/* resume-reserve = N (MiB), 0 too. */
	assert_int_equal(hib_resume_reserve_bytes(mem, true, 64), 64ULL << 20);
	assert_int_equal(hib_resume_reserve_bytes(mem, true, 0), 0);
	assert_int_equal(hib_resume_max_pages(mem, 0, 4096), 253767);
	assert_int_equal(hib_resume_max_pages(mem, 64ULL << 20, 4096), 253767 - 16384);

	/* A reserve of all of RAM or more leaves nothing; so does a page size of 0. */
	assert_int_equal(hib_resume_max_pages(mem, mem, 4096), 0);
	assert_int_equal(hib_resume_max_pages(mem, mem + 4096, 4096), 0);
	assert_int_equal(hib_resume_max_pages(mem, mem - 4096, 4096), 1);
	assert_int_equal(hib_resume_max_pages(mem, 0, 0), 0);
	/* 64 KiB pages. */
	assert_int_equal(hib_resume_max_pages(1ULL << 30, 32ULL << 20, 65536), 16384 - 512);
}

static void test_writer_rejects(void **state)
{
	struct hib_image_writer *w;
	struct hib_image_info id;
	struct hib_sink *s;
	uint8_t payload[16] = { 0 };
	struct hib_chunk c = { .seq = 1, .raw_len = CHUNK_PAGES * page, .comp_len = 16 };

	identity(&id);
	assert_int_equal(hib_sink_open_memory(1 << 20, &s), 0);
	id.chunk_size = page + 1;
	assert_int_equal(hib_image_writer_new(s, &id, &w), -EINVAL);
	identity(&id);
	id.cipher = 7;
	assert_int_equal(hib_image_writer_new(s, &id, &w), -EPROTONOSUPPORT);
	identity(&id);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_put(w, &c, payload), -EINVAL);	/* not begun */
	assert_int_equal(hib_image_writer_begin(w, 0, 0), -EINVAL);
	assert_int_equal(hib_image_writer_begin(w, 8, 0), 0);
	assert_int_equal(hib_image_writer_put(w, &c, payload), -EINVAL);	/* seq 1 first */
	c.seq = 0;
	c.comp_len = 0;
	assert_int_equal(hib_image_writer_put(w, &c, payload), -EINVAL);
	hib_image_writer_free(w);
	hib_image_writer_free(NULL);
	hib_sink_close(s);

	/* A full sink: the error comes back. */
	assert_int_equal(hib_sink_open_memory(HIB_IMAGE_BLOCK, &s), 0);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_begin(w, 8, 0), -ENOSPC);
	hib_image_writer_free(w);
	hib_sink_close(s);
}

static void test_chunk_codec(void **state)
{
	size_t n = 3 * page;
	uint8_t *out = malloc(hib_chunk_bound(n)), *back = malloc(n);
	struct hib_chunk c;

	assert_int_equal(hib_chunk_compress(raw, n, out, hib_chunk_bound(n), &c), 0);
	assert_int_equal(c.raw_len, n);
	assert_true(c.comp_len < n);
	assert_int_equal(hib_chunk_decompress(&c, out, back, n), 0);
	assert_memory_equal(back, raw, n);
	assert_int_equal(hib_chunk_decompress(&c, out, back, n - 1), -ENOBUFS);
	assert_int_equal(hib_chunk_compress(raw, n, out, n, &c), -EINVAL);	/* < bound */
	assert_int_equal(hib_chunk_compress(raw, 0, out, hib_chunk_bound(n), &c), -EINVAL);
	/* Random data is stored. */
	assert_int_equal(hib_chunk_compress(raw + page, page, out, hib_chunk_bound(page), &c), 0);
	assert_int_equal(c.flags, HIB_CHUNK_STORED);
	assert_int_equal(c.comp_len, page);
	free(out);
	free(back);
}

/* csum.h's XXH3 (scalar, AVX2) gives libxxhash's values, at every length and alignment. */
static void test_xxh3_impls(void **state)
{
	hib_xxh3_fn_t avx2 = hib_xxh3_64_avx2_fn();
	size_t n = (1u << 20) + 7, len, off;
	uint8_t *buf = malloc(n);
	uint64_t x = 88172645463325252ull;

	(void)state;
	assert_non_null(buf);
	for (len = 0; len < n; len++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[len] = (uint8_t)x;
	}
	for (off = 0; off < 3; off++)
		for (len = 0; len + off < n; len = len < 2100 ? len + 1 : len * 3 + 17) {
			uint64_t want = (uint64_t)XXH3_64bits(buf + off, len);

			assert_true(hib_xxh3_64(buf + off, len) == want);
			assert_true(hib_xxh3_64_scalar(buf + off, len) == want);
			if (avx2)
				assert_true(avx2(buf + off, len) == want);
		}
	assert_true(hib_xxh3_64(buf, n) == (uint64_t)XXH3_64bits(buf, n));
	print_message("xxh3: %s in use, avx2 %s\n", hib_xxh3_impl(),
		      avx2 ? "tested" : "not available");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_xxh3_impls),
		cmocka_unit_test(test_invalidate_is_one_shot),
		cmocka_unit_test(test_torn_write_leaves_no_image),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_rejections_in_place),
		cmocka_unit_test(test_random_flips),
		cmocka_unit_test(test_check_system),
		cmocka_unit_test(test_resume_fits),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_system_identity),
		cmocka_unit_test(test_worst_case),
		cmocka_unit_test(test_writer_rejects),
		cmocka_unit_test(test_chunk_codec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
