// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/image.c, encrypted images (secretstream XChaCha20-Poly1305): round trips with a
 * key file (raw and hex), a passphrase (argon2id) and through the threaded pipeline, and every
 * rejection path: wrong key, a flipped ciphertext byte, an altered header, a reordered chunk,
 * truncation, a FINAL record without TAG_FINAL, an unencrypted image where encryption is
 * required and an encrypted one without a key.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <xxhash.h>

#include "image.h"
#include "image-helpers.h"

#define PAGES		37
#define CHUNK_PAGES	4
#define CHUNKS		((PAGES + CHUNK_PAGES - 1) / CHUNK_PAGES)

/* Layout facts the forgery tests need (image.c, image.h). */
#define T_SS_HEADER	560
#define T_CIPHER	28
#define T_HOST_ID	(64 + 2 * HIB_IMAGE_STR_MAX)
#define T_HDR_CSUM	512
#define T_KDF_OPS	(T_HDR_CSUM + 8 + 8)	/* image-internal.h's H_KDF_OPS */
#define T_KDF_MEM	(T_HDR_CSUM + 8 + 16)
#define T_COMMIT	HIB_IMAGE_BLOCK
#define T_C_HDR_CSUM	(T_COMMIT + 8)
#define T_C_FINAL_OFF	(T_COMMIT + 16)
#define T_C_CSUM	(T_COMMIT + 32)

static uint32_t page;
static uint8_t *raw;		/* PAGES pages: half compressible, half random */
static size_t raw_len;
static const uint8_t key_bytes[HIB_KEY_BYTES] = "0123456789abcdef0123456789abcde";

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
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
	strcpy(id->kernel_version, "#1 SMP test");
	strcpy(id->host_id, "host");
}

static struct hib_image_key *raw_key(const uint8_t *k)
{
	struct hib_image_key *key = NULL;

	assert_int_equal(hib_image_key_from_raw(k, &key), 0);
	return key;
}

static struct hib_image_key *pass_key(const char *pass)
{
	struct hib_image_key *key = NULL;

	assert_int_equal(hib_image_key_from_passphrase(pass, strlen(pass), &key), 0);
	/* Cheap derivation for the test. */
	key->opslimit = crypto_pwhash_OPSLIMIT_MIN;
	key->memlimit = crypto_pwhash_MEMLIMIT_MIN;
	return key;
}

/* An image of raw[] (encrypted with @key unless NULL) in a memory sink, sealed. */
static struct hib_sink *make_image(const struct hib_image_key *key)
{
	struct hib_image_info id;

	identity(&id);
	return test_make_image(&id, key, raw, raw_len, PAGES);
}

/* A sealed copy of the first @len bytes of @img. */
static struct hib_sink *sink_of(const uint8_t *img, size_t len)
{
	struct hib_sink *t;

	assert_int_equal(hib_sink_open_memory(64 << 20, &t), 0);
	assert_int_equal(hib_sink_write(t, img, len, 0), 0);
	t->writable = false;
	return t;
}

/* Read and decompress every chunk, compare with raw[].  0 or the first error. */
static int stream_all(struct hib_image_reader *r)
{
	const struct hib_image_info *info = hib_image_reader_info(r);
	size_t cap = hib_chunk_bound(info->chunk_size);
	uint8_t *buf = malloc(cap), *out = malloc(info->chunk_size);
	struct hib_chunk c;
	size_t off = 0;
	int e;

	assert_non_null(buf);
	assert_non_null(out);
	while ((e = hib_image_reader_next(r, buf, cap, &c)) > 0) {
		e = hib_chunk_decompress(&c, buf, out, info->chunk_size);
		if (e < 0)
			break;
		assert_true(off + c.raw_len <= raw_len);
		assert_memory_equal(out, raw + off, c.raw_len);
		off += c.raw_len;
	}
	if (e == 0)
		assert_int_equal(off, raw_len);
	free(buf);
	free(out);
	return e;
}

/*
 * Open @s with @key and stream it: expect @open_err from the open (then @why in the reason),
 * else @stream_err from the stream with @why in hib_image_reader_why().
 */
static void expect(struct hib_sink *s, const struct hib_image_key *key, int open_err,
		   int stream_err, const char *why_sub)
{
	struct hib_image_reader *r = NULL;
	char why[HIB_IMAGE_WHY_MAX] = "";
	uint64_t off = 0;
	int e;

	e = hib_image_reader_open_key(s, key, &r, why, &off);
	if (open_err) {
		if (e != open_err)
			fail_msg("open gave %d, expected %d (%s)", e, open_err, why);
		assert_null(r);
		if (why_sub && !strstr(why, why_sub))
			fail_msg("reason '%s' lacks '%s'", why, why_sub);
		return;
	}
	if (e != 0)
		fail_msg("open failed: %d (%s)", e, why);
	e = stream_all(r);
	if (e != stream_err)
		fail_msg("stream gave %d, expected %d (%s)", e, stream_err,
			 hib_image_reader_why(r, NULL));
	if (why_sub && !strstr(hib_image_reader_why(r, NULL), why_sub))
		fail_msg("reason '%s' lacks '%s'", hib_image_reader_why(r, NULL), why_sub);
	hib_image_reader_free(r);
}

/* Fix the header's XXH3 and the valid mark after the header block was changed. */
static void fix_header(uint8_t *img)
{
	uint64_t h = hib_image_header_csum(img);

	put64(img + T_HDR_CSUM, h);
	put64(img + T_C_HDR_CSUM, h);
	put64(img + T_C_CSUM, (uint64_t)XXH3_64bits(img + T_COMMIT, 32));
}

static void fix_record(uint8_t *rec)
{
	put64(rec + 40, (uint64_t)XXH3_64bits(rec, 40));
}

static size_t chunk_stored(const uint8_t *rec)
{
	uint32_t comp;

	memcpy(&comp, rec + 20, 4);
	return HIB_RECORD_SIZE + le32toh(comp) + HIB_CRYPTO_CHUNK_EXTRA;
}

static int setup(void **state)
{
	uint32_t x = 12345;
	size_t i;

	(void)state;
	page = (uint32_t)sysconf(_SC_PAGESIZE);
	raw_len = (size_t)PAGES * page;
	raw = malloc(raw_len);
	if (!raw)
		return -1;
	for (i = 0; i < raw_len; i++) {
		x = x * 1103515245u + 12345u;
		/* chunks 0-3 compress, the rest is noise (stored) */
		raw[i] = i < 4 * CHUNK_PAGES * (size_t)page ? (uint8_t)(i / 512) :
			 (uint8_t)(x >> 16);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(raw);
	return 0;
}

/* ---- round trips ----------------------------------------------------------------------- */

static void test_roundtrip_key(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k);
	const struct hib_image_info *info;
	struct hib_image_reader *r;
	size_t len, off;
	uint8_t *img;

	(void)state;
	img = hib_sink_memory_data(s, &len);
	/* No plaintext in the clear: the noise chunks do not appear, raw checksums are 0. */
	assert_null(memmem(img, len, raw + 5 * CHUNK_PAGES * page, 64));
	for (off = HIB_IMAGE_DATA_OFFSET; get64(img + off) != 0 &&
	     (get64(img + off) & 0xffffffffu) == HIB_CHUNK_MAGIC; off += chunk_stored(img + off))
		assert_int_equal(get64(img + off + 32), 0);

	assert_int_equal(hib_image_reader_open_key(s, k, &r, NULL, NULL), 0);
	info = hib_image_reader_info(r);
	assert_int_equal(info->cipher, HIB_CIPHER_XCHACHA20POLY1305);
	assert_int_equal(stream_all(r), 0);
	hib_image_reader_free(r);
	hib_sink_close(s);
	hib_image_key_free(k);
}

static void test_roundtrip_passphrase(void **state)
{
	struct hib_image_key *k = pass_key("correct horse battery staple");
	struct hib_image_key *other = pass_key("correct horse battery stable");
	struct hib_image_key *file = raw_key(key_bytes);
	struct hib_sink *s = make_image(k);

	(void)state;
	expect(s, k, 0, 0, NULL);
	expect(s, other, -EKEYREJECTED, 0, "wrong key");
	expect(s, file, -EKEYREJECTED, 0, "with a passphrase");
	hib_sink_close(s);
	hib_image_key_free(k);
	hib_image_key_free(other);
	hib_image_key_free(file);
}

/* Every chunk through the threaded pipeline both ways: encryption in the ordered stage. */
static void test_roundtrip_pipeline(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_image_reader *r;
	struct hib_image_writer *w;
	struct hib_pipeline *p;
	struct hib_image_info id;
	struct hib_sink *s;
	int in[2], out[2];
	uint8_t *back;
	size_t got = 0;
	ssize_t n;

	(void)state;
	identity(&id);
	back = malloc(raw_len + 1);
	assert_non_null(back);
	assert_int_equal(hib_pipeline_new(4, id.chunk_size, &p), 0);
	assert_int_equal(hib_sink_open_memory(64 << 20, &s), 0);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_set_key(w, k), 0);
	assert_int_equal(hib_image_writer_begin(w, PAGES, 1), 0);
	/* raw_len fits a pipe buffer once it is made large enough. */
	assert_int_equal(pipe(in), 0);
	assert_true(fcntl(in[1], F_SETPIPE_SZ, (int)raw_len + page) >= (int)raw_len);
	assert_int_equal(write(in[1], raw, raw_len), (ssize_t)raw_len);
	close(in[1]);
	assert_int_equal(hib_pipeline_compress_fd(p, in[0], raw_len, w, NULL, NULL), 0);
	close(in[0]);
	assert_int_equal(hib_image_writer_finish(w), 0);
	hib_image_writer_free(w);
	s->writable = false;

	assert_int_equal(hib_image_reader_open_key(s, k, &r, NULL, NULL), 0);
	assert_int_equal(pipe(out), 0);
	assert_true(fcntl(out[1], F_SETPIPE_SZ, (int)raw_len + page) >= (int)raw_len);
	assert_int_equal(hib_pipeline_decompress_fd(p, r, out[1], NULL, NULL), 0);
	close(out[1]);
	while ((n = read(out[0], back + got, raw_len + 1 - got)) > 0)
		got += (size_t)n;
	close(out[0]);
	assert_int_equal(got, raw_len);
	assert_memory_equal(back, raw, raw_len);
	hib_image_reader_free(r);
	hib_pipeline_free(p);
	hib_sink_close(s);
	hib_image_key_free(k);
	free(back);
}

/* ---- rejections ------------------------------------------------------------------------- */

static void test_wrong_key(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	uint8_t other_bytes[HIB_KEY_BYTES];
	struct hib_image_key *other, *pass = pass_key("x");
	struct hib_sink *s = make_image(k);

	(void)state;
	memcpy(other_bytes, key_bytes, sizeof(other_bytes));
	other_bytes[7] ^= 1;
	other = raw_key(other_bytes);
	expect(s, other, -EKEYREJECTED, 0, "wrong key: it does not match");
	expect(s, pass, -EKEYREJECTED, 0, "with a key file");
	hib_sink_close(s);
	hib_image_key_free(k);
	hib_image_key_free(other);
	hib_image_key_free(pass);
}

static void test_flipped_ciphertext(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k), *t;
	size_t len, off = HIB_IMAGE_DATA_OFFSET;
	uint8_t *img = hib_sink_memory_data(s, &len);
	unsigned int i;

	(void)state;
	/* A byte in each of the first chunks' ciphertext, one at a time: chunk i refused. */
	for (i = 0; i < 6; i++) {
		char want[64];

		img[off + HIB_RECORD_SIZE + 3] ^= 0x40;
		t = sink_of(img, len);
		img[off + HIB_RECORD_SIZE + 3] ^= 0x40;
		snprintf(want, sizeof(want), "chunk %u at offset %zu: authentication failed", i,
			 off);
		expect(t, k, 0, -EBADMSG, want);
		hib_sink_close(t);
		off += chunk_stored(img + off);
	}
	/* The authenticator of the last byte of a chunk. */
	off = HIB_IMAGE_DATA_OFFSET;
	off += chunk_stored(img + off);
	img[off - 1] ^= 1;
	t = sink_of(img, len);
	img[off - 1] ^= 1;
	expect(t, k, 0, -EBADMSG, "authentication failed");
	hib_sink_close(t);
	/* A record's length fields are AD: a changed flag with its checksum fixed. */
	off = HIB_IMAGE_DATA_OFFSET;
	img[off + 4] ^= HIB_CHUNK_STORED;
	fix_record(img + off);
	t = sink_of(img, len);
	expect(t, k, 0, -EBADMSG, NULL);
	hib_sink_close(t);
	hib_sink_close(s);
	hib_image_key_free(k);
}

static void test_altered_header(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k), *t;
	size_t len;
	uint8_t *img = hib_sink_memory_data(s, &len);

	(void)state;
	/* The header's XXH3 and valid mark recomputed: only the authentication can tell. */
	img[T_HOST_ID] ^= 1;
	fix_header(img);
	t = sink_of(img, len);
	expect(t, k, 0, -EBADMSG, "chunk 0 at offset 8192: authentication failed");
	hib_sink_close(t);
	hib_sink_close(s);
	hib_image_key_free(k);
}

/* The passphrase's argon2id cost comes from a header not yet authenticated: bounded. */
static void test_kdf_bounded(void **state)
{
	struct hib_image_key *k = pass_key("sesame");
	struct hib_sink *s = make_image(k), *t;
	size_t len;
	uint8_t *img = hib_sink_memory_data(s, &len);

	(void)state;
	put64(img + T_KDF_MEM, 128ull << 20);	/* 128 MiB: beyond HIB_KDF_MEM_MAX */
	fix_header(img);
	t = sink_of(img, len);
	expect(t, k, -EBADMSG, 0, "passphrase derivation parameters out of range");
	hib_sink_close(t);
	put64(img + T_KDF_MEM, crypto_pwhash_MEMLIMIT_MIN);
	put64(img + T_KDF_OPS, 1000000);
	fix_header(img);
	t = sink_of(img, len);
	expect(t, k, -EBADMSG, 0, "passphrase derivation parameters out of range");
	hib_sink_close(t);
	hib_sink_close(s);
	hib_image_key_free(k);
}

static void test_reordered(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k), *t;
	size_t len, a, b, n;
	uint8_t *img = hib_sink_memory_data(s, &len), *tmp;

	(void)state;
	/* Chunks 5 and 6 are noise: same stored length, so they can trade places. */
	a = HIB_IMAGE_DATA_OFFSET;
	for (n = 0; n < 5; n++)
		a += chunk_stored(img + a);
	n = chunk_stored(img + a);
	b = a + n;
	assert_int_equal(chunk_stored(img + b), n);
	tmp = malloc(n);
	assert_non_null(tmp);
	memcpy(tmp, img + a, n);
	memmove(img + a, img + b, n);
	memcpy(img + b, tmp, n);
	free(tmp);
	t = sink_of(img, len);
	expect(t, k, 0, -EBADMSG, "chunk 6 where chunk 5 belongs");
	hib_sink_close(t);
	/* With the sequence numbers and record checksums made to fit. */
	put64(img + a + 8, 5);
	fix_record(img + a);
	put64(img + b + 8, 6);
	fix_record(img + b);
	t = sink_of(img, len);
	expect(t, k, 0, -EBADMSG, "chunk 5 at offset");
	hib_sink_close(t);
	hib_sink_close(s);
	hib_image_key_free(k);
}

static void test_truncated(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k), *t;
	size_t len;
	uint8_t *img = hib_sink_memory_data(s, &len);

	(void)state;
	/* Cut in the chunks. */
	t = sink_of(img, len / 2);
	expect(t, k, -EBADMSG, 0, "truncated");
	hib_sink_close(t);
	/* FINAL record there, its authentication tag cut off. */
	t = sink_of(img, len - HIB_CRYPTO_ABYTES);
	expect(t, k, 0, -EBADMSG, "FINAL authentication tag");
	hib_sink_close(t);
	/* The tag damaged. */
	img[len - 1] ^= 1;
	t = sink_of(img, len);
	img[len - 1] ^= 1;
	expect(t, k, 0, -EBADMSG, "FINAL record: authentication failed");
	hib_sink_close(t);
	hib_sink_close(s);
	hib_image_key_free(k);
}

/*
 * Somebody with the key ends the stream with an ordinary message instead of TAG_FINAL (what
 * a writer cut short would leave, had it pushed the FINAL record's message without the tag).
 */
static void test_final_without_tag(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *s = make_image(k), *t;
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t hash[32], ad[32 + HIB_RECORD_SIZE], *plain;
	size_t len, off = HIB_IMAGE_DATA_OFFSET, final_off;
	uint8_t *img = hib_sink_memory_data(s, &len);
	unsigned int i;

	(void)state;
	plain = malloc(hib_chunk_bound(CHUNK_PAGES * page) + 8);
	assert_non_null(plain);
	crypto_generichash(hash, sizeof(hash), img, HIB_IMAGE_BLOCK, NULL, 0);
	assert_int_equal(crypto_secretstream_xchacha20poly1305_init_pull(&st, img + T_SS_HEADER,
									 key_bytes), 0);
	final_off = get64(img + T_C_FINAL_OFF);
	for (i = 0; i < CHUNKS; i++) {
		size_t n = chunk_stored(img + off);

		memcpy(ad, hash, 32);
		memcpy(ad + 32, img + off, 24);
		assert_int_equal(crypto_secretstream_xchacha20poly1305_pull(&st, plain, NULL, NULL,
			img + off + HIB_RECORD_SIZE, n - HIB_RECORD_SIZE, ad, 32 + 24), 0);
		off += n;
	}
	assert_int_equal(off, final_off);
	memcpy(ad, hash, 32);
	memcpy(ad + 32, img + off, HIB_RECORD_SIZE);
	/* The pull state after N messages is the push state after N messages. */
	crypto_secretstream_xchacha20poly1305_push(&st, img + off + HIB_RECORD_SIZE, NULL, NULL, 0,
		ad, sizeof(ad), crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	t = sink_of(img, len);
	expect(t, k, 0, -EBADMSG, "not tagged as the end");
	hib_sink_close(t);
	free(plain);
	hib_sink_close(s);
	hib_image_key_free(k);
}

static void test_required_and_missing(void **state)
{
	struct hib_image_key *k = raw_key(key_bytes);
	struct hib_sink *plain = make_image(NULL), *enc = make_image(k);

	(void)state;
	expect(plain, k, -EPERM, 0, "not encrypted, and encryption is required");
	expect(plain, NULL, 0, 0, NULL);
	expect(enc, NULL, -ENOKEY, 0, "no key");
	hib_sink_close(plain);
	hib_sink_close(enc);
	hib_image_key_free(k);
}

/* ---- key files -------------------------------------------------------------------------- */

static char *tmpfile_with(const void *data, size_t len)
{
	char *path = strdup("/tmp/test-crypto-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void key_file_case(const void *data, size_t len, int err)
{
	struct hib_image_key *k = NULL;
	char *path = tmpfile_with(data, len);
	int e = hib_image_key_from_file(path, &k);

	unlink(path);
	free(path);
	assert_int_equal(e, err);
	if (!err) {
		assert_int_equal(k->kdf, HIB_KDF_RAW);
		assert_memory_equal(k->key, key_bytes, HIB_KEY_BYTES);
	} else {
		assert_null(k);
	}
	hib_image_key_free(k);
}

static void test_key_files(void **state)
{
	char hex[2 * HIB_KEY_BYTES + 2];
	struct hib_image_key *k = NULL;
	char *path;

	(void)state;
	sodium_bin2hex(hex, sizeof(hex), key_bytes, HIB_KEY_BYTES);
	key_file_case(key_bytes, HIB_KEY_BYTES, 0);
	key_file_case(hex, 2 * HIB_KEY_BYTES, 0);
	hex[2 * HIB_KEY_BYTES] = '\n';
	key_file_case(hex, 2 * HIB_KEY_BYTES + 1, 0);
	key_file_case(key_bytes, HIB_KEY_BYTES - 1, -EINVAL);
	key_file_case("", 0, -EINVAL);
	hex[5] = 'g';
	key_file_case(hex, 2 * HIB_KEY_BYTES + 1, -EINVAL);
	assert_int_equal(hib_image_key_from_file("/nonexistent/key", &k), -ENOENT);

	path = tmpfile_with("sesame\nsecond line\n", 19);
	assert_int_equal(hib_image_key_from_passphrase_file(path, &k), 0);
	unlink(path);
	free(path);
	assert_int_equal(k->kdf, HIB_KDF_ARGON2ID);
	assert_int_equal(k->passphrase_len, 6);
	assert_memory_equal(k->passphrase, "sesame", 6);
	hib_image_key_free(k);
	k = NULL;
	path = tmpfile_with("\n", 1);
	assert_int_equal(hib_image_key_from_passphrase_file(path, &k), -EINVAL);
	unlink(path);
	free(path);
	hib_image_key_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_key),
		cmocka_unit_test(test_roundtrip_passphrase),
		cmocka_unit_test(test_kdf_bounded),
		cmocka_unit_test(test_roundtrip_pipeline),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_flipped_ciphertext),
		cmocka_unit_test(test_altered_header),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_final_without_tag),
		cmocka_unit_test(test_required_and_missing),
		cmocka_unit_test(test_key_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
