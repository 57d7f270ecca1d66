// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image writer (image-writer.h): the header, the chunk records in sequence order (encrypted
 * here when there is a key), the FINAL record, an fsync and, last, the commit block that makes
 * the image valid.  The layout is described in image-format.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "image-internal.h"
#include "log.h"
#include "macro.h"
#include "util.h"

struct hib_image_writer {
	struct hib_sink *sink;
	struct hib_image_info info;
	XXH3_state_t running;
	uint64_t header_csum;
	uint64_t off;
	struct hib_final totals;
	bool begun;
	bool finished;
	uint8_t block[HIB_IMAGE_BLOCK];
	uint8_t id[HIB_IMAGE_ID_BYTES];		/* random, from hib_image_writer_new() */
	/* encryption */
	struct hib_image_key *key;
	uint8_t *cbuf;			/* plaintext + ciphertext of one chunk */
	size_t cbuf_size;
	uint8_t header_hash[HASH_BYTES];
	crypto_secretstream_xchacha20poly1305_state ss;
	struct hib_image_writer_times times;
};

/* A chunk record and its payload to the sink, timed. */
static int put_record(struct hib_image_writer *w, const uint8_t *rec, const void *payload,
		      size_t len)
{
	uint64_t c0 = hib_cpu_ns(), t0 = hib_wall_ns();
	int r;

	r = hib_sink_write(w->sink, rec, HIB_RECORD_SIZE, w->off);
	if (r >= 0)
		r = hib_sink_write(w->sink, payload, len, w->off + HIB_RECORD_SIZE);
	w->times.sink_wall_ns += hib_wall_ns() - t0;
	w->times.sink_ns += hib_cpu_ns() - c0;
	return r;
}

static void commit_encode(uint64_t header_csum, uint64_t final_off, uint64_t final_csum,
			  uint8_t *block)
{
	memset(block, 0, HIB_IMAGE_BLOCK);
	memcpy(block + C_MAGIC, HIB_IMAGE_COMMIT_MAGIC, 8);
	put64(block + C_HEADER_CSUM, header_csum);
	put64(block + C_FINAL_OFF, final_off);
	put64(block + C_FINAL_CSUM, final_csum);
	put64(block + C_CSUM, csum(block, C_CSUM));
}

int hib_image_writer_new(struct hib_sink *sink, const struct hib_image_info *identity,
			 struct hib_image_writer **ret_writer)
{
	struct hib_image_writer *w;

	if (!sink || !identity || !ret_writer)
		return -EINVAL;
	if (check_geometry(identity->page_size, identity->chunk_size) < 0)
		return -EINVAL;
	if (identity->codec != HIB_CODEC_LZ4 || identity->cipher != HIB_CIPHER_NONE)
		return -EPROTONOSUPPORT;
	/* XXH3_state_t wants 64-byte alignment. */
	if (posix_memalign((void **)&w, 64, sizeof(*w)) != 0)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	w->sink = sink;
	w->info = *identity;
	w->info.version = HIB_IMAGE_VERSION;
	if (sodium_init() < 0) {
		free(w);
		return -EIO;
	}
	/* The image's id, known before the snapshot so that it can be recorded then. */
	randombytes_buf(w->id, sizeof(w->id));
	*ret_writer = w;
	return 0;
}

int hib_image_writer_set_origins(struct hib_image_writer *w, const struct hib_image_origin *o,
				 uint32_t n)
{
	if (!w || (n && !o))
		return -EINVAL;
	if (n > HIB_IMAGE_ORIGINS_MAX)
		return -E2BIG;
	memset(w->info.origins, 0, sizeof(w->info.origins));
	if (n)
		memcpy(w->info.origins, o, n * sizeof(*o));
	w->info.n_origins = n;
	return 0;
}

int hib_image_writer_set_key(struct hib_image_writer *w, const struct hib_image_key *key)
{
	struct hib_image_key *k;
	size_t size;
	int r;

	if (!w || !key || w->begun || (key->kdf != HIB_KDF_RAW && key->kdf != HIB_KDF_ARGON2ID))
		return -EINVAL;
	r = hib_image_key_alloc(&k);
	if (r < 0)
		return r;
	*k = *key;
	/* plaintext (payload + raw checksum), then the ciphertext */
	size = 2 * (hib_chunk_bound(w->info.chunk_size) + HIB_CRYPTO_CHUNK_EXTRA);
	free(w->cbuf);
	w->cbuf = malloc(size);
	if (!w->cbuf) {
		hib_image_key_free(k);
		return -ENOMEM;
	}
	w->cbuf_size = size;
	hib_image_key_free(w->key);
	w->key = k;
	w->info.cipher = HIB_CIPHER_XCHACHA20POLY1305;
	return 0;
}

/* Fill the encryption area of the encoded header in w->block and start the stream. */
static int writer_crypto_begin(struct hib_image_writer *w)
{
	struct hib_image_key *k = w->key;
	uint8_t key[HIB_KEY_BYTES];
	int r;

	put32(w->block + H_KDF, (uint32_t)k->kdf);
	if (k->kdf == HIB_KDF_ARGON2ID) {
		put32(w->block + H_KDF_ALG, crypto_pwhash_ALG_ARGON2ID13);
		put64(w->block + H_KDF_OPS, k->opslimit ? k->opslimit :
			crypto_pwhash_OPSLIMIT_INTERACTIVE);
		put64(w->block + H_KDF_MEM, k->memlimit ? k->memlimit :
			crypto_pwhash_MEMLIMIT_INTERACTIVE);
		randombytes_buf(w->block + H_SALT, crypto_pwhash_SALTBYTES);
	}
	r = hib_image_key_derive(k, w->block, key);
	if (r < 0)
		return r;
	crypto_secretstream_xchacha20poly1305_init_push(&w->ss, w->block + H_SS_HEADER, key);
	hib_image_keycheck(key, w->block, w->block + H_KEYCHECK);
	sodium_memzero(key, sizeof(key));
	crypto_generichash(w->header_hash, HASH_BYTES, w->block, HIB_IMAGE_BLOCK, NULL, 0);
	return 0;
}

int hib_image_writer_begin(struct hib_image_writer *w, uint64_t image_pages, uint64_t created)
{
	int r;

	if (!w || image_pages == 0 || image_pages > HIB_IMAGE_PAGES_MAX)
		return -EINVAL;
	w->info.image_pages = image_pages;
	w->info.raw_bytes = image_pages * w->info.page_size;
	w->info.created = created;

	/* An old image in a file: nothing of it stays past the new one's end. */
	if (w->sink->kind == HIB_SINK_FILE && w->sink->growable && w->sink->fd >= 0 &&
	    ftruncate(w->sink->fd, 0) < 0)
		return negative_errno();
	hib_image_header_encode(&w->info, w->block);
	memcpy(w->block + H_NONCE, w->id, HIB_IMAGE_ID_BYTES);
	put64(w->block + H_CSUM, header_csum(w->block));
	w->header_csum = get64(w->block + H_CSUM);
	if (w->key) {
		r = writer_crypto_begin(w);
		if (r < 0)
			return r;
	}
	r = hib_sink_write(w->sink, w->block, HIB_IMAGE_BLOCK, 0);
	if (r < 0)
		return r;
	memset(w->block, 0, HIB_IMAGE_BLOCK);
	r = hib_sink_write(w->sink, w->block, HIB_IMAGE_BLOCK, HIB_IMAGE_BLOCK);
	if (r < 0)
		return r;

	XXH3_64bits_reset(&w->running);
	memset(&w->totals, 0, sizeof(w->totals));
	memset(&w->times, 0, sizeof(w->times));
	w->off = HIB_IMAGE_DATA_OFFSET;
	w->begun = true;
	w->finished = false;
	return 0;
}

static int writer_put(struct hib_image_writer *w, const struct hib_chunk *c,
		      const void *payload, uint8_t *slack)
{
	uint8_t rec[HIB_RECORD_SIZE];
	uint64_t left;
	int r;

	if (!w || !c || !payload || !w->begun || w->finished)
		return -EINVAL;
	left = w->info.raw_bytes - w->totals.raw_bytes;
	if (c->seq != w->totals.chunks || c->raw_len == 0 ||
	    c->raw_len != MIN(left, (uint64_t)w->info.chunk_size) || c->comp_len == 0 ||
	    c->comp_len > hib_chunk_bound(c->raw_len))
		return -EINVAL;

	if (w->key) {
		uint8_t ad[HASH_BYTES + R_AD];
		size_t plain = c->comp_len + 8, stored = plain + HIB_CRYPTO_ABYTES;
		uint8_t *ct = w->cbuf + plain, *m = w->cbuf;
		struct hib_chunk e = *c;
		uint64_t t0 = hib_cpu_ns();

		/* The raw checksum travels inside the ciphertext, right behind the payload. */
		if (slack)
			m = slack;
		else
			memcpy(m, payload, c->comp_len);
		put64(m + c->comp_len, c->raw_csum);
		e.raw_csum = 0;
		hib_chunk_encode(&e, rec);
		make_ad(ad, w->header_hash, rec, R_AD);
		crypto_secretstream_xchacha20poly1305_push(&w->ss, ct, NULL, m, plain, ad,
							   sizeof(ad), 0);
		e.comp_csum = csum(ct, stored);
		hib_chunk_encode(&e, rec);
		w->times.encrypt_ns += hib_cpu_ns() - t0;
		r = put_record(w, rec, ct, stored);
		if (r < 0)
			return r;
		XXH3_64bits_update(&w->running, rec, sizeof(rec));
		w->off += sizeof(rec) + stored;
		w->totals.chunks++;
		w->totals.raw_bytes += c->raw_len;
		w->totals.comp_bytes += stored;
		return 0;
	}
	hib_chunk_encode(c, rec);
	r = put_record(w, rec, payload, c->comp_len);
	if (r < 0)
		return r;
	XXH3_64bits_update(&w->running, rec, sizeof(rec));
	w->off += sizeof(rec) + c->comp_len;
	w->totals.chunks++;
	w->totals.raw_bytes += c->raw_len;
	w->totals.comp_bytes += c->comp_len;
	return 0;
}

int hib_image_writer_put(struct hib_image_writer *w, const struct hib_chunk *c,
			 const void *payload)
{
	return writer_put(w, c, payload, NULL);
}

int hib_image_writer_put_slack(struct hib_image_writer *w, const struct hib_chunk *c,
			       void *payload)
{
	return writer_put(w, c, payload, payload);
}

int hib_image_writer_finish(struct hib_image_writer *w)
{
	uint8_t rec[HIB_RECORD_SIZE];
	int r;

	if (!w || !w->begun || w->finished)
		return -EINVAL;
	if (w->totals.raw_bytes != w->info.raw_bytes) {
		hib_err("image incomplete: %" PRIu64 " of %" PRIu64 " bytes written",
			w->totals.raw_bytes, w->info.raw_bytes);
		return -EIO;
	}
	w->totals.running_csum = (uint64_t)XXH3_64bits_digest(&w->running);
	hib_final_encode(&w->totals, rec);
	r = hib_sink_write(w->sink, rec, sizeof(rec), w->off);
	if (r < 0)
		return r;
	if (w->key) {
		uint8_t ad[HASH_BYTES + HIB_RECORD_SIZE], tag[HIB_CRYPTO_ABYTES];

		make_ad(ad, w->header_hash, rec, sizeof(rec));
		crypto_secretstream_xchacha20poly1305_push(&w->ss, tag, NULL, NULL, 0, ad,
			sizeof(ad), crypto_secretstream_xchacha20poly1305_TAG_FINAL);
		r = hib_sink_write(w->sink, tag, sizeof(tag), w->off + sizeof(rec));
		if (r < 0)
			return r;
	}
	r = hib_sink_sync(w->sink);
	if (r < 0)
		return r;
	commit_encode(w->header_csum, w->off, get64(rec + R_CSUM), w->block);
	r = hib_sink_write(w->sink, w->block, HIB_IMAGE_BLOCK, HIB_IMAGE_BLOCK);
	if (r < 0)
		return r;
	r = hib_sink_sync(w->sink);
	if (r < 0)
		return r;
	w->off += sizeof(rec) + (w->key ? HIB_CRYPTO_ABYTES : 0);
	w->finished = true;
	w->sink->committed = true;
	return 0;
}

void hib_image_writer_id(const struct hib_image_writer *w, uint8_t ret_id[HIB_IMAGE_ID_BYTES])
{
	memcpy(ret_id, w->id, HIB_IMAGE_ID_BYTES);
}

uint64_t hib_image_writer_offset(const struct hib_image_writer *w)
{
	return w ? w->off : 0;
}

void hib_image_writer_totals(const struct hib_image_writer *w, struct hib_final *ret_final)
{
	if (w && ret_final)
		*ret_final = w->totals;
}

void hib_image_writer_times(const struct hib_image_writer *w,
			    struct hib_image_writer_times *ret_times)
{
	if (!ret_times)
		return;
	if (w)
		*ret_times = w->times;
	else
		memset(ret_times, 0, sizeof(*ret_times));
}

void hib_image_writer_free(struct hib_image_writer *w)
{
	if (!w)
		return;
	hib_image_key_free(w->key);
	if (w->cbuf)
		sodium_memzero(w->cbuf, w->cbuf_size);
	free(w->cbuf);
	sodium_memzero(&w->ss, sizeof(w->ss));
	free(w);
}

int hib_image_discard(struct hib_sink *sink, uint64_t len)
{
	static const uint8_t zero[65536];
	uint64_t range[2] = { 0, len & ~(uint64_t)511 }, off, end;
	int r, discarded = 0;

	if (!sink)
		return -EINVAL;
	if ((sink->kind != HIB_SINK_BLOCK && sink->kind != HIB_SINK_FILE) || sink->fd < 0)
		return 0;
	/*
	 * A discard need not make the data unreadable (a device may ignore it, as QEMU does by
	 * default): the header and the first chunks are always overwritten, then the whole
	 * image is discarded where the device or filesystem can.
	 */
	end = len < (4u << 20) ? len : (4u << 20);
	for (off = 0; off < end; off += sizeof(zero)) {
		r = hib_sink_write(sink, zero, (size_t)MIN((uint64_t)sizeof(zero), end - off), off);
		if (r < 0)
			return r;
	}
	/*
	 * On the device before the discard: BLKDISCARD drops the range from the page cache
	 * first, dirty pages included, and a device that ignores the discard would then keep
	 * the old image (seen with QEMU: the header was still there at the next boot).
	 */
	r = hib_sink_sync(sink);
	if (r < 0)
		return r;
	if (sink->kind == HIB_SINK_BLOCK)
		discarded = range[1] && ioctl(sink->fd, BLKDISCARD, range) == 0;
	else
		discarded = fallocate(sink->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				      (off_t)len) == 0;
	r = hib_sink_sync(sink);
	return r < 0 ? r : discarded;
}

int hib_image_invalidate(struct hib_sink *sink)
{
	static const uint8_t zero[HIB_IMAGE_BLOCK];
	int r;

	if (!sink)
		return -EINVAL;
	r = hib_sink_write(sink, zero, sizeof(zero), HIB_IMAGE_BLOCK);
	if (r < 0)
		return r;
	sink->committed = false;
	return hib_sink_sync(sink);
}
