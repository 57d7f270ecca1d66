/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate, internal: what image-format.c, image-crypto.c, chunk.c, image-writer.c and
 * image-reader.c share: the offsets inside the header block, the commit block and the records,
 * the little-endian and checksum helpers, and the crypto helpers the writer and the reader
 * call.  Not installed, not for the library's users.
 */
#ifndef LIBHIBERNATE_IMAGE_INTERNAL_H
#define LIBHIBERNATE_IMAGE_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "csum.h"
#include "image.h"

/* ---- header block offsets ------------------------------------------------------------------ */

#define H_MAGIC		0
#define H_VERSION	8
#define H_FLAGS		12
#define H_PAGE_SIZE	16
#define H_CHUNK_SIZE	20
#define H_CODEC		24
#define H_CIPHER	28
#define H_PAGES		32
#define H_RAW_BYTES	40
#define H_CREATED	48
#define H_BUILD_ID_LEN	56
#define H_RELEASE	64
#define H_KVERSION	(H_RELEASE + HIB_IMAGE_STR_MAX)
#define H_HOST_ID	(H_KVERSION + HIB_IMAGE_STR_MAX)
#define H_BUILD_ID	(H_HOST_ID + HIB_IMAGE_STR_MAX)
#define H_CSUM		(H_BUILD_ID + HIB_BUILD_ID_MAX)		/* 512 */

/* encryption area (HIB_CIPHER_XCHACHA20POLY1305 only; zero padding otherwise) */
#define H_KDF		(H_CSUM + 8)		/* u32 HIB_KDF_* */
#define H_KDF_ALG	(H_KDF + 4)		/* u32 crypto_pwhash_ALG_* */
#define H_KDF_OPS	(H_KDF + 8)		/* u64 */
#define H_KDF_MEM	(H_KDF + 16)		/* u64 */
#define H_SALT		(H_KDF + 24)		/* 16 bytes */
#define H_SS_HEADER	(H_SALT + 16)		/* 24 bytes */
#define H_KEYCHECK	(H_SS_HEADER + 24)	/* 32 bytes */
#define H_CRYPTO_END	(H_KEYCHECK + 32)
/* The image's id (image-format.h): 16 random bytes, in the header's checksum (and so, for an
 * encrypted image, authenticated with every chunk). */
#define H_NONCE		H_CRYPTO_END
#define H_NONCE_END	(H_NONCE + 16)

#define HASH_BYTES	32

/* protected origins: own area and checksum, all zero when there are none */
#define O_BASE		1024
#define O_COUNT		O_BASE
#define O_RECS		(O_BASE + 8)
#define O_REC_SIZE	(2 * HIB_IMAGE_ORIGIN_STR_MAX + 8 + 16)	/* 280 */
#define O_CSUM		(HIB_IMAGE_BLOCK - 8)

/* commit block */
#define C_MAGIC		0
#define C_HEADER_CSUM	8
#define C_FINAL_OFF	16
#define C_FINAL_CSUM	24
#define C_CSUM		32

/* chunk and FINAL records */
#define R_MAGIC		0
#define R_FLAGS		4
#define R_CSUM		40
#define R_AD		24		/* magic, flags, seq, lengths: a chunk's AD */

_Static_assert(H_CSUM + 8 <= O_BASE, "header fits before the origins");
_Static_assert(H_CRYPTO_END <= O_BASE, "encryption area fits before the origins");
_Static_assert(H_NONCE_END <= O_BASE, "the nonce fits before the origins");
_Static_assert(O_RECS + HIB_IMAGE_ORIGINS_MAX * O_REC_SIZE <= O_CSUM, "origins fit");

/* ---- helpers ------------------------------------------------------------------------------- */

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* XXH3_64bits(), without libxxhash's SSE2 code (csum.h says why). */
static inline uint64_t csum(const void *p, size_t len)
{
	return hib_xxh3_64(p, len);
}

/* The header block's checksum: its fields up to H_CSUM, then its nonce. */
static inline uint64_t header_csum(const uint8_t *block);

static inline bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Copy a string into a fixed field of @size bytes, truncated, NUL-padded. */
static inline void put_str(uint8_t *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memset(dst, 0, size);
	memcpy(dst, src, n);
}

static inline uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static inline int check_geometry(uint32_t page_size, uint32_t chunk_size)
{
	if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)))
		return -EINVAL;
	if (chunk_size < HIB_IMAGE_CHUNK_MIN || chunk_size > HIB_IMAGE_CHUNK_MAX ||
	    chunk_size % page_size)
		return -EINVAL;
	return 0;
}

/* AD of a message: the header hash and @len bytes of its record. */
static inline void make_ad(uint8_t *ad, const uint8_t *header_hash, const uint8_t *rec,
			   size_t len)
{
	memcpy(ad, header_hash, HASH_BYTES);
	memcpy(ad + HASH_BYTES, rec, len);
}

/* ---- image-crypto.c ------------------------------------------------------------------------ */

/* libsodium initialised: 0, or -ENOSYS. */
int hib_image_crypto_ready(void);
/* A zeroed key, locked in memory where possible. */
int hib_image_key_alloc(struct hib_image_key **ret_key);
/* The stream key from @k and the header's KDF fields in @block.  0 or -errno. */
int hib_image_key_derive(const struct hib_image_key *k, const uint8_t *block,
			 uint8_t out[HIB_KEY_BYTES]);
/* The key check stored in the header: keyed BLAKE2b of its KDF fields and stream header. */
void hib_image_keycheck(const uint8_t key[HIB_KEY_BYTES], const uint8_t *block,
			uint8_t out[HASH_BYTES]);

static inline uint64_t header_csum(const uint8_t *block)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, block, H_CSUM);
	XXH3_64bits_update(&st, block + H_NONCE, H_NONCE_END - H_NONCE);
	return (uint64_t)XXH3_64bits_digest(&st);
}

#endif /* LIBHIBERNATE_IMAGE_INTERNAL_H */
