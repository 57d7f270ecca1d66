// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image reader (image-reader.h); the layout is described in image-format.h.  The reader
 * trusts nothing: every length and count from the image is checked against the header, the
 * commit block and the sink's size before it is used, and a payload is handed out only after
 * its checksum matched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "image-internal.h"
#include "log.h"
#include "macro.h"

struct hib_image_reader {
	struct hib_sink *sink;
	struct hib_image_info info;
	struct hib_final final;		/* from the FINAL record the commit block names */
	uint64_t final_off;
	uint64_t final_csum;
	uint64_t header_csum;
	uint64_t sink_size;
	XXH3_state_t running;
	uint64_t off;			/* next record */
	uint64_t rec_off;		/* the last chunk record read */
	struct hib_final seen;		/* totals so far */
	int state;			/* 0 streaming, 1 done, < 0 error */
	uint64_t why_off;
	char why[HIB_IMAGE_WHY_MAX];
	/* encryption */
	bool encrypted;
	bool defer_payload;		/* hib_image_reader_defer_payload_check() */
	bool ahead_valid;		/* ahead holds the record at ahead_off */
	uint64_t ahead_off;
	uint8_t ahead[HIB_RECORD_SIZE];	/* read with the payload before it (..._next_in()) */
	uint32_t extra;			/* bytes a chunk's payload takes beyond comp_len */
	uint8_t *cbuf;			/* ciphertext, then plaintext, of one chunk */
	size_t cbuf_half;
	uint8_t header_hash[HASH_BYTES];
	uint8_t id[HIB_IMAGE_ID_BYTES];	/* image-format.h */
	crypto_secretstream_xchacha20poly1305_state ss;
};

static int reader_fail(struct hib_image_reader *r, int err, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int reader_fail(struct hib_image_reader *r, int err, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->why_off = off;
	r->state = err;
	hib_debug("image: %s (offset %" PRIu64 ")", r->why, off);
	return err;
}

/*
 * @len bytes at @off into @buf, or (@ret_data set) into @buf of @cap bytes where the sink
 * can put them without a copy (hib_sink_read_in()), *ret_data pointing at them.
 */
static int sink_read_in(struct hib_image_reader *r, void *buf, size_t cap, size_t len,
			uint64_t off, const char *what, uint8_t **ret_data)
{
	int e;

	if (off > r->sink_size || len > r->sink_size - off)
		return reader_fail(r, -EBADMSG, off, "%s at offset %" PRIu64 " runs past the end "
				   "of %s (%" PRIu64 " bytes): image truncated", what, off,
				   r->sink->name, r->sink_size);
	if (ret_data)
		e = hib_sink_read_in(r->sink, buf, cap, len, off, ret_data);
	else
		e = hib_sink_read(r->sink, buf, len, off);
	if (e == -ENODATA)
		return reader_fail(r, -EBADMSG, off, "%s at offset %" PRIu64 ": image truncated",
				   what, off);
	if (e < 0)
		return reader_fail(r, e, off, "cannot read %s at offset %" PRIu64 ": %s", what,
				   off, strerror(-e));
	return 0;
}

static int sink_read_at(struct hib_image_reader *r, void *buf, size_t len, uint64_t off,
			const char *what)
{
	return sink_read_in(r, buf, len, len, off, what, NULL);
}

/* A header string: terminated within @size, printable (it reaches logs and terminals). */
static bool str_ok(const uint8_t *p, size_t size)
{
	const uint8_t *end = memchr(p, 0, size);

	if (!end)
		return false;
	for (; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

static int header_decode(struct hib_image_reader *r, const uint8_t *b)
{
	struct hib_image_info *info = &r->info;
	uint64_t pages, raw;

	if (memcmp(b + H_MAGIC, HIB_IMAGE_MAGIC, 8) != 0)
		return reader_fail(r, -ENODATA, H_MAGIC, "no image magic");
	memcpy(r->id, b + H_NONCE, HIB_IMAGE_ID_BYTES);
	info->version = get32(b + H_VERSION);
	if (info->version != HIB_IMAGE_VERSION)
		return reader_fail(r, -EPROTONOSUPPORT, H_VERSION, "image format version %u, "
				   "this program reads version %u", info->version,
				   HIB_IMAGE_VERSION);
	if (get64(b + H_CSUM) != header_csum(b))
		return reader_fail(r, -EBADMSG, H_CSUM, "header checksum mismatch");
	r->header_csum = get64(b + H_CSUM);
	info->cipher = get32(b + H_CIPHER);
	if (info->cipher == HIB_CIPHER_XCHACHA20POLY1305) {
		if (!all_zero(b + H_NONCE_END, O_BASE - H_NONCE_END))
			return reader_fail(r, -EBADMSG, H_NONCE_END, "header padding not zero");
	} else if (!all_zero(b + H_CSUM + 8, H_NONCE - H_CSUM - 8) ||
		   !all_zero(b + H_NONCE_END, O_BASE - H_NONCE_END)) {
		return reader_fail(r, -EBADMSG, H_CSUM + 8, "header padding not zero");
	}
	if (!all_zero(b + O_BASE, HIB_IMAGE_BLOCK - O_BASE)) {
		uint32_t i, n = get32(b + O_COUNT);

		if (get64(b + O_CSUM) != csum(b + O_BASE, O_CSUM - O_BASE))
			return reader_fail(r, -EBADMSG, O_CSUM, "protected-origin table checksum "
					   "mismatch");
		if (n == 0 || n > HIB_IMAGE_ORIGINS_MAX)
			return reader_fail(r, -EBADMSG, O_COUNT, "bad protected-origin count %u",
					   n);
		if (!all_zero(b + O_COUNT + 4, 4) ||
		    !all_zero(b + O_RECS + n * O_REC_SIZE, O_CSUM - O_RECS - n * O_REC_SIZE))
			return reader_fail(r, -EBADMSG, O_COUNT, "protected-origin padding not "
					   "zero");
		for (i = 0; i < n; i++) {
			const uint8_t *rec = b + O_RECS + i * O_REC_SIZE;
			struct hib_image_origin *o = &info->origins[i];

			if (!str_ok(rec, HIB_IMAGE_ORIGIN_STR_MAX) || !rec[0] ||
			    !str_ok(rec + HIB_IMAGE_ORIGIN_STR_MAX, HIB_IMAGE_ORIGIN_STR_MAX))
				return reader_fail(r, -EBADMSG, O_RECS + i * O_REC_SIZE,
						   "bad protected-origin name");
			memcpy(o->name, rec, HIB_IMAGE_ORIGIN_STR_MAX);
			memcpy(o->uuid, rec + HIB_IMAGE_ORIGIN_STR_MAX, HIB_IMAGE_ORIGIN_STR_MAX);
			o->sectors = get64(rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX);
			memcpy(o->sb_hash, rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX + 8, 16);
		}
		info->n_origins = n;
	}
	if (get32(b + H_FLAGS) != 0)
		return reader_fail(r, -EPROTONOSUPPORT, H_FLAGS, "unknown header flags %#x",
				   get32(b + H_FLAGS));
	info->page_size = get32(b + H_PAGE_SIZE);
	info->chunk_size = get32(b + H_CHUNK_SIZE);
	info->codec = get32(b + H_CODEC);
	info->cipher = get32(b + H_CIPHER);
	if (info->codec != HIB_CODEC_LZ4)
		return reader_fail(r, -EPROTONOSUPPORT, H_CODEC, "unknown codec %u", info->codec);
	if (info->cipher != HIB_CIPHER_NONE && info->cipher != HIB_CIPHER_XCHACHA20POLY1305)
		return reader_fail(r, -EPROTONOSUPPORT, H_CIPHER, "unsupported cipher %u",
				   info->cipher);
	if (check_geometry(info->page_size, info->chunk_size) < 0)
		return reader_fail(r, -EBADMSG, H_PAGE_SIZE, "bad page size %u or chunk size %u",
				   info->page_size, info->chunk_size);
	pages = get64(b + H_PAGES);
	raw = get64(b + H_RAW_BYTES);
	if (pages == 0 || pages > HIB_IMAGE_PAGES_MAX || raw != pages * info->page_size)
		return reader_fail(r, -EBADMSG, H_PAGES, "bad page count %" PRIu64 " / stream "
				   "length %" PRIu64, pages, raw);
	info->image_pages = pages;
	info->raw_bytes = raw;
	info->created = get64(b + H_CREATED);
	info->build_id_len = get32(b + H_BUILD_ID_LEN);
	if (info->build_id_len > HIB_BUILD_ID_MAX)
		return reader_fail(r, -EBADMSG, H_BUILD_ID_LEN, "bad build id length %u",
				   info->build_id_len);
	if (!str_ok(b + H_RELEASE, HIB_IMAGE_STR_MAX) || !str_ok(b + H_KVERSION, HIB_IMAGE_STR_MAX) ||
	    !str_ok(b + H_HOST_ID, HIB_IMAGE_STR_MAX))
		return reader_fail(r, -EBADMSG, H_RELEASE, "unterminated or unprintable string "
				   "in the header");
	memcpy(info->kernel_release, b + H_RELEASE, HIB_IMAGE_STR_MAX);
	memcpy(info->kernel_version, b + H_KVERSION, HIB_IMAGE_STR_MAX);
	memcpy(info->host_id, b + H_HOST_ID, HIB_IMAGE_STR_MAX);
	memcpy(info->build_id, b + H_BUILD_ID, HIB_BUILD_ID_MAX);
	return 0;
}

/* Decode a FINAL record at @off.  0 or -EBADMSG. */
static int final_decode(struct hib_image_reader *r, const uint8_t *rec, uint64_t off,
			struct hib_final *f)
{
	if (get32(rec + R_MAGIC) != HIB_FINAL_MAGIC)
		return reader_fail(r, -EBADMSG, off, "no FINAL record at offset %" PRIu64, off);
	if (get64(rec + R_CSUM) != csum(rec, R_CSUM))
		return reader_fail(r, -EBADMSG, off, "FINAL record checksum mismatch");
	if (get32(rec + R_FLAGS) != 0)
		return reader_fail(r, -EBADMSG, off, "bad FINAL record flags");
	f->chunks = get64(rec + 8);
	f->raw_bytes = get64(rec + 16);
	f->comp_bytes = get64(rec + 24);
	f->running_csum = get64(rec + 32);
	return 0;
}

/* Check @key against the encrypted header in @hdr and start pulling the stream. */
static int reader_crypto_begin(struct hib_image_reader *r, const struct hib_image_key *key,
			       const uint8_t *hdr)
{
	uint8_t k[HIB_KEY_BYTES], check[HASH_BYTES];
	uint32_t kdf = get32(hdr + H_KDF);
	int e;

	e = hib_image_crypto_ready();
	if (e < 0)
		return reader_fail(r, e, 0, "libsodium failed to initialise");
	if (kdf != HIB_KDF_RAW && kdf != HIB_KDF_ARGON2ID)
		return reader_fail(r, -EBADMSG, H_KDF, "unknown key derivation %u", kdf);
	if (kdf == HIB_KDF_ARGON2ID) {
		uint64_t ops = get64(hdr + H_KDF_OPS), mem = get64(hdr + H_KDF_MEM);

		if (get32(hdr + H_KDF_ALG) != crypto_pwhash_ALG_ARGON2ID13 ||
		    ops < crypto_pwhash_OPSLIMIT_MIN || ops > HIB_KDF_OPS_MAX ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > HIB_KDF_MEM_MAX)
			return reader_fail(r, -EBADMSG, H_KDF_ALG, "passphrase derivation "
					   "parameters out of range (algorithm %u, ops %" PRIu64
					   ", memory %" PRIu64 ")", get32(hdr + H_KDF_ALG), ops,
					   mem);
		if (key->kdf != HIB_KDF_ARGON2ID)
			return reader_fail(r, -EKEYREJECTED, H_KDF, "wrong key: the image was "
					   "encrypted with a passphrase, a key file was given");
	} else if (key->kdf != HIB_KDF_RAW) {
		return reader_fail(r, -EKEYREJECTED, H_KDF, "wrong key: the image was encrypted "
				   "with a key file, a passphrase was given");
	}
	e = hib_image_key_derive(key, hdr, k);
	if (e < 0)
		return reader_fail(r, e, H_KDF, "cannot derive the key from the passphrase: %s",
				   strerror(-e));
	hib_image_keycheck(k, hdr, check);
	if (sodium_memcmp(check, hdr + H_KEYCHECK, HASH_BYTES) != 0) {
		sodium_memzero(k, sizeof(k));
		return reader_fail(r, -EKEYREJECTED, H_KEYCHECK, "wrong key: it does not match "
				   "the key the image was encrypted with");
	}
	e = crypto_secretstream_xchacha20poly1305_init_pull(&r->ss, hdr + H_SS_HEADER, k);
	sodium_memzero(k, sizeof(k));
	if (e != 0)
		return reader_fail(r, -EBADMSG, H_SS_HEADER, "bad encryption stream header");
	crypto_generichash(r->header_hash, HASH_BYTES, hdr, HIB_IMAGE_BLOCK, NULL, 0);
	r->cbuf_half = hib_chunk_bound(r->info.chunk_size) + HIB_CRYPTO_CHUNK_EXTRA;
	r->cbuf = malloc(2 * r->cbuf_half);
	if (!r->cbuf)
		return reader_fail(r, -ENOMEM, 0, "out of memory");
	r->encrypted = true;
	r->extra = HIB_CRYPTO_CHUNK_EXTRA;
	return 0;
}

int hib_image_reader_open(struct hib_sink *sink, struct hib_image_reader **ret_reader,
			  char *ret_why, uint64_t *ret_off)
{
	return hib_image_reader_open_key(sink, NULL, ret_reader, ret_why, ret_off);
}

int hib_image_reader_open_key(struct hib_sink *sink, const struct hib_image_key *key,
			      struct hib_image_reader **ret_reader, char *ret_why,
			      uint64_t *ret_off)
{
	struct hib_image_reader *r = NULL;
	uint8_t *block = NULL, *hdr = NULL, rec[HIB_RECORD_SIZE];
	uint64_t chunks, max_final, extra;
	int e;

	if (!sink || !ret_reader)
		return -EINVAL;
	if (posix_memalign((void **)&r, 64, sizeof(*r)) != 0)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->sink = sink;
	hdr = malloc(HIB_IMAGE_BLOCK);
	block = malloc(HIB_IMAGE_BLOCK);
	if (!block || !hdr) {
		e = -ENOMEM;
		goto fail;
	}

	e = hib_sink_size(sink, &r->sink_size);
	if (e < 0) {
		reader_fail(r, e, 0, "cannot get the size of %s: %s", sink->name, strerror(-e));
		goto fail;
	}
	if (r->sink_size < HIB_IMAGE_DATA_OFFSET + HIB_RECORD_SIZE) {
		e = reader_fail(r, -ENODATA, 0, "%s is too small (%" PRIu64 " bytes) to hold an "
				"image", sink->name, r->sink_size);
		goto fail;
	}

	e = sink_read_at(r, hdr, HIB_IMAGE_BLOCK, 0, "header");
	if (e < 0)
		goto fail;
	e = header_decode(r, hdr);
	if (e < 0)
		goto fail;

	e = sink_read_at(r, block, HIB_IMAGE_BLOCK, HIB_IMAGE_BLOCK, "commit block");
	if (e < 0)
		goto fail;
	if (all_zero(block, HIB_IMAGE_BLOCK)) {
		e = reader_fail(r, -ENODATA, HIB_IMAGE_BLOCK, "image not marked valid (incomplete, "
				"or already used for a resume)");
		goto fail;
	}
	if (memcmp(block + C_MAGIC, HIB_IMAGE_COMMIT_MAGIC, 8) != 0 ||
	    get64(block + C_CSUM) != csum(block, C_CSUM) ||
	    !all_zero(block + C_CSUM + 8, HIB_IMAGE_BLOCK - C_CSUM - 8)) {
		e = reader_fail(r, -ENODATA, HIB_IMAGE_BLOCK, "valid mark torn");
		goto fail;
	}
	r->final_off = get64(block + C_FINAL_OFF);
	r->final_csum = get64(block + C_FINAL_CSUM);
	/* The commit block must belong to this header. */
	if (get64(block + C_HEADER_CSUM) != r->header_csum) {
		e = reader_fail(r, -ENODATA, HIB_IMAGE_BLOCK, "valid mark belongs to another "
				"image header (torn write)");
		goto fail;
	}

	/* A valid image: now the key, before anything else of it is read. */
	if (r->info.cipher == HIB_CIPHER_NONE && key) {
		e = reader_fail(r, -EPERM, H_CIPHER, "the image is not encrypted, and encryption "
				"is required");
		goto fail;
	}
	if (r->info.cipher != HIB_CIPHER_NONE && !key) {
		e = reader_fail(r, -ENOKEY, H_CIPHER, "the image is encrypted and no key was "
				"given");
		goto fail;
	}
	if (key) {
		e = reader_crypto_begin(r, key, hdr);
		if (e < 0)
			goto fail;
	}
	extra = r->extra;

	chunks = div_round_up(r->info.raw_bytes, r->info.chunk_size);
	max_final = HIB_IMAGE_DATA_OFFSET +
		    chunks * (HIB_RECORD_SIZE + hib_chunk_bound(r->info.chunk_size) + extra);
	if (r->final_off < HIB_IMAGE_DATA_OFFSET + chunks * (HIB_RECORD_SIZE + 1 + extra) ||
	    r->final_off > max_final) {
		e = reader_fail(r, -EBADMSG, HIB_IMAGE_BLOCK + C_FINAL_OFF, "FINAL record offset "
				"%" PRIu64 " impossible for %" PRIu64 " chunks", r->final_off,
				chunks);
		goto fail;
	}
	e = sink_read_at(r, rec, sizeof(rec), r->final_off, "FINAL record");
	if (e < 0)
		goto fail;
	e = final_decode(r, rec, r->final_off, &r->final);
	if (e < 0)
		goto fail;
	if (get64(rec + R_CSUM) != r->final_csum) {
		e = reader_fail(r, -EBADMSG, r->final_off, "FINAL record does not match the "
				"valid mark");
		goto fail;
	}
	if (r->final.chunks != chunks || r->final.raw_bytes != r->info.raw_bytes ||
	    r->final.comp_bytes != r->final_off - HIB_IMAGE_DATA_OFFSET - chunks * HIB_RECORD_SIZE) {
		e = reader_fail(r, -EBADMSG, r->final_off, "FINAL totals (%" PRIu64 " chunks, %"
				PRIu64 " raw, %" PRIu64 " compressed bytes) do not match the header",
				r->final.chunks, r->final.raw_bytes, r->final.comp_bytes);
		goto fail;
	}

	XXH3_64bits_reset(&r->running);
	r->off = HIB_IMAGE_DATA_OFFSET;
	free(block);
	free(hdr);
	*ret_reader = r;
	return 0;

fail:
	if (ret_why)
		snprintf(ret_why, HIB_IMAGE_WHY_MAX, "%s", r->why[0] ? r->why : strerror(-e));
	if (ret_off)
		*ret_off = r->why_off;
	free(block);
	free(hdr);
	hib_image_reader_free(r);
	return e;
}

const struct hib_image_info *hib_image_reader_info(const struct hib_image_reader *r)
{
	return r ? &r->info : NULL;
}

void hib_image_reader_id(const struct hib_image_reader *r, uint8_t ret_id[HIB_IMAGE_ID_BYTES])
{
	memcpy(ret_id, r->id, HIB_IMAGE_ID_BYTES);
}

const struct hib_final *hib_image_reader_final(const struct hib_image_reader *r)
{
	return r ? &r->final : NULL;
}

static int reader_final(struct hib_image_reader *r, const uint8_t *rec, uint64_t off)
{
	struct hib_final f;
	int e;

	if (off != r->final_off)
		return reader_fail(r, -EBADMSG, off, "FINAL record at offset %" PRIu64 ", the "
				   "valid mark says %" PRIu64, off, r->final_off);
	e = final_decode(r, rec, off, &f);
	if (e < 0)
		return e;
	if (f.chunks != r->seen.chunks || f.raw_bytes != r->seen.raw_bytes ||
	    f.comp_bytes != r->seen.comp_bytes || r->seen.raw_bytes != r->info.raw_bytes)
		return reader_fail(r, -EBADMSG, off, "FINAL totals mismatch: record says %" PRIu64
				   " chunks / %" PRIu64 " bytes, read %" PRIu64 " / %" PRIu64,
				   f.chunks, f.raw_bytes, r->seen.chunks, r->seen.raw_bytes);
	if (f.running_csum != (uint64_t)XXH3_64bits_digest(&r->running))
		return reader_fail(r, -EBADMSG, off, "FINAL running checksum mismatch");
	if (r->encrypted) {
		uint8_t ad[HASH_BYTES + HIB_RECORD_SIZE], tagged[HIB_CRYPTO_ABYTES];
		unsigned char tag = 0;

		e = sink_read_at(r, tagged, sizeof(tagged), off + HIB_RECORD_SIZE,
				 "FINAL authentication tag");
		if (e < 0)
			return e;
		make_ad(ad, r->header_hash, rec, HIB_RECORD_SIZE);
		if (crypto_secretstream_xchacha20poly1305_pull(&r->ss, NULL, NULL, &tag, tagged,
							       sizeof(tagged), ad, sizeof(ad)) != 0)
			return reader_fail(r, -EBADMSG, off, "FINAL record: authentication failed "
					   "(the image was altered or truncated)");
		if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
			return reader_fail(r, -EBADMSG, off, "FINAL record is not tagged as the end "
					   "of the encrypted stream (image truncated)");
	}
	r->state = 1;
	return 0;
}

/* The rest of hib_image_reader_next() for an encrypted chunk whose record checked out. */
static int reader_next_encrypted(struct hib_image_reader *r, const uint8_t *rec,
				 struct hib_chunk *c, void *buf, size_t buf_size,
				 struct hib_chunk *ret_chunk)
{
	uint8_t ad[HASH_BYTES + R_AD], *plain = r->cbuf + r->cbuf_half;
	size_t stored = (size_t)c->comp_len + HIB_CRYPTO_CHUNK_EXTRA;
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	uint64_t off = c->offset;
	int e;

	if (r->final_off - off - HIB_RECORD_SIZE < stored)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " at offset %" PRIu64
				   " (%zu bytes) overlaps the FINAL record", c->seq, off, stored);
	if (c->raw_csum != 0)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": raw checksum in the clear "
				   "in an encrypted image", c->seq);
	if (c->comp_len > buf_size || stored > r->cbuf_half)
		return reader_fail(r, -ENOBUFS, off, "chunk %" PRIu64 ": %u bytes do not fit the "
				   "buffer", c->seq, c->comp_len);
	e = sink_read_at(r, r->cbuf, stored, off + HIB_RECORD_SIZE, "chunk payload");
	if (e < 0)
		return e;
	make_ad(ad, r->header_hash, rec, R_AD);
	if (crypto_secretstream_xchacha20poly1305_pull(&r->ss, plain, &mlen, &tag, r->cbuf,
						       stored, ad, sizeof(ad)) != 0)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " at offset %" PRIu64
				   ": authentication failed (the image was altered, reordered or "
				   "is corrupt)", c->seq, off);
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
	    mlen != (unsigned long long)c->comp_len + 8)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": unexpected tag %u or "
				   "length in the encrypted stream", c->seq, tag);
	memcpy(buf, plain, c->comp_len);
	c->raw_csum = get64(plain + c->comp_len);
	sodium_memzero(plain, (size_t)mlen);

	XXH3_64bits_update(&r->running, rec, HIB_RECORD_SIZE);
	r->rec_off = off;
	r->off = off + HIB_RECORD_SIZE + stored;
	r->seen.chunks++;
	r->seen.raw_bytes += c->raw_len;
	r->seen.comp_bytes += stored;
	*ret_chunk = *c;
	return 1;
}

static int payload_mismatch(struct hib_image_reader *r, const struct hib_chunk *c)
{
	return reader_fail(r, -EBADMSG, c->offset, "chunk %" PRIu64 ": payload checksum mismatch "
			   "at offset %" PRIu64, c->seq, c->offset + HIB_RECORD_SIZE);
}

void hib_image_reader_defer_payload_check(struct hib_image_reader *r, bool defer)
{
	if (r)
		r->defer_payload = defer;
}

/*
 * hib_image_reader_next(), or (@ret_payload set) hib_image_reader_next_in(): the payload of
 * a chunk in the clear is read with the record behind it where the sink puts it, the record
 * kept for the next call.
 */
static int reader_next(struct hib_image_reader *r, uint8_t *buf, size_t buf_size,
		       struct hib_chunk *ret_chunk, uint8_t **ret_payload)
{
	uint8_t rec[HIB_RECORD_SIZE], *payload = buf;
	struct hib_chunk c = {};
	uint64_t off, want;
	int e;

	if (!r || !buf || !ret_chunk)
		return -EINVAL;
	if (r->state == 1)
		return 0;
	if (r->state < 0)
		return r->state;

	off = r->off;
	if (off > r->final_off || (off < r->final_off && r->final_off - off <= HIB_RECORD_SIZE))
		return reader_fail(r, -EBADMSG, off, "record at offset %" PRIu64 " runs past the "
				   "FINAL record", off);
	if (r->ahead_valid && r->ahead_off == off) {
		memcpy(rec, r->ahead, sizeof(rec));
	} else {
		e = sink_read_at(r, rec, sizeof(rec), off, "chunk record");
		if (e < 0)
			return e;
	}
	r->ahead_valid = false;
	if (get32(rec + R_MAGIC) == HIB_FINAL_MAGIC || off == r->final_off)
		return reader_final(r, rec, off);
	if (get32(rec + R_MAGIC) != HIB_CHUNK_MAGIC)
		return reader_fail(r, -EBADMSG, off, "bad record magic %#x at offset %" PRIu64,
				   get32(rec + R_MAGIC), off);
	if (get64(rec + R_CSUM) != csum(rec, R_CSUM))
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": record checksum "
				   "mismatch at offset %" PRIu64, r->seen.chunks, off);
	c.flags = get32(rec + R_FLAGS);
	c.seq = get64(rec + 8);
	c.raw_len = get32(rec + 16);
	c.comp_len = get32(rec + 20);
	c.comp_csum = get64(rec + 24);
	c.raw_csum = get64(rec + 32);
	c.offset = off;

	if (c.flags & ~HIB_CHUNK_STORED)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": unknown flags %#x",
				   c.seq, c.flags);
	if (c.seq != r->seen.chunks)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " where chunk %" PRIu64
				   " belongs, at offset %" PRIu64, c.seq, r->seen.chunks, off);
	want = MIN(r->info.raw_bytes - r->seen.raw_bytes, (uint64_t)r->info.chunk_size);
	if (want == 0)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " beyond the header's %"
				   PRIu64 " pages, at offset %" PRIu64, c.seq,
				   r->info.image_pages, off);
	if (c.raw_len != want)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": raw length %u, expected %"
				   PRIu64 ", at offset %" PRIu64, c.seq, c.raw_len, want, off);
	if (c.comp_len == 0 || c.comp_len > hib_chunk_bound(c.raw_len) ||
	    ((c.flags & HIB_CHUNK_STORED) && c.comp_len != c.raw_len))
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": bad compressed length %u "
				   "at offset %" PRIu64, c.seq, c.comp_len, off);
	if (r->encrypted) {
		e = reader_next_encrypted(r, rec, &c, buf, buf_size, ret_chunk);
		if (e > 0 && ret_payload)
			*ret_payload = buf;
		return e;
	}
	if (r->final_off - off - HIB_RECORD_SIZE < c.comp_len)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " at offset %" PRIu64
				   " (%u bytes) overlaps the FINAL record", c.seq, off, c.comp_len);
	if (c.comp_len > buf_size || (ret_payload && buf_size - c.comp_len < HIB_RECORD_SIZE))
		return reader_fail(r, -ENOBUFS, off, "chunk %" PRIu64 ": %u bytes do not fit the "
				   "buffer", c.seq, c.comp_len);
	if (ret_payload) {
		/* The next record (the FINAL one at the latest) lies right behind: one read. */
		e = sink_read_in(r, buf, buf_size, (size_t)c.comp_len + HIB_RECORD_SIZE,
				 off + HIB_RECORD_SIZE, "chunk payload", &payload);
		if (e < 0)
			return e;
		memcpy(r->ahead, payload + c.comp_len, HIB_RECORD_SIZE);
		r->ahead_off = off + HIB_RECORD_SIZE + c.comp_len;
		r->ahead_valid = true;
	} else {
		e = sink_read_at(r, buf, c.comp_len, off + HIB_RECORD_SIZE, "chunk payload");
		if (e < 0)
			return e;
	}
	c.payload_unchecked = r->defer_payload;
	if (!c.payload_unchecked && csum(payload, c.comp_len) != c.comp_csum)
		return payload_mismatch(r, &c);

	XXH3_64bits_update(&r->running, rec, sizeof(rec));
	r->rec_off = off;
	r->off = off + HIB_RECORD_SIZE + c.comp_len;
	r->seen.chunks++;
	r->seen.raw_bytes += c.raw_len;
	r->seen.comp_bytes += c.comp_len;
	*ret_chunk = c;
	if (ret_payload)
		*ret_payload = payload;
	return 1;
}

int hib_image_reader_next(struct hib_image_reader *r, void *buf, size_t buf_size,
			  struct hib_chunk *ret_chunk)
{
	return reader_next(r, buf, buf_size, ret_chunk, NULL);
}

int hib_image_reader_next_in(struct hib_image_reader *r, uint8_t *buf, size_t buf_size,
			     struct hib_chunk *ret_chunk, uint8_t **ret_payload)
{
	if (!ret_payload)
		return -EINVAL;
	return reader_next(r, buf, buf_size, ret_chunk, ret_payload);
}

const char *hib_image_reader_why(const struct hib_image_reader *r, uint64_t *ret_off)
{
	if (!r)
		return "";
	if (ret_off)
		*ret_off = r->why_off;
	return r->why;
}

void hib_image_reader_fail(struct hib_image_reader *r, const struct hib_chunk *c, int err)
{
	/* A chunk before the reader's own failure (it reads ahead) is the better reason. */
	if (!r || !c || (r->state < 0 && r->why_off <= c->offset))
		return;
	if (c->payload_bad) {
		payload_mismatch(r, c);
		return;
	}
	reader_fail(r, err, c->offset, "chunk %" PRIu64 " at offset %" PRIu64 ": %s", c->seq,
		    c->offset, err == -EBADMSG ? "decompression or raw checksum failed" :
		    strerror(-err));
}

uint64_t hib_image_reader_offset(const struct hib_image_reader *r)
{
	return r ? r->off : 0;
}

void hib_image_reader_free(struct hib_image_reader *r)
{
	if (!r)
		return;
	if (r->cbuf) {
		sodium_memzero(r->cbuf, 2 * r->cbuf_half);
		free(r->cbuf);
	}
	sodium_memzero(&r->ss, sizeof(r->ss));
	free(r);
}
