/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: image encryption (HIB_CIPHER_XCHACHA20POLY1305) and its keys (image-crypto.c).
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 *
 * libsodium crypto_secretstream_xchacha20poly1305, one stream per image, pushed in the
 * writer's ordered stage and pulled by the reader in order (it is sequential by design).
 * The header block carries, after its XXH3 (in what is padding for unencrypted images): the
 * key derivation (raw key, or argon2id with its salt and limits), the secretstream header and
 * a key check (keyed BLAKE2b of the salt and stream header, so a wrong key is told apart from
 * an altered image).  A BLAKE2b of the whole header block is part of every message's
 * additional data, so the header is authenticated.
 *
 *   chunk:  record (48 bytes, as without encryption; raw_csum 0, comp_csum the XXH3 of the
 *           stored bytes) + one secretstream message of comp_len + 8 bytes of plaintext (the
 *           lz4 payload and the raw checksum, which would otherwise leak the plaintext) =
 *           comp_len + HIB_CRYPTO_CHUNK_EXTRA bytes; AD = header hash + the record's first
 *           24 bytes (magic, flags, seq, raw and compressed lengths)
 *   FINAL:  record + an empty message tagged TAG_FINAL, AD = header hash + the record
 *
 * The reader decrypts each chunk before handing it out (before any decompression), and
 * refuses the FINAL record unless its message authenticates with TAG_FINAL.
 */
#ifndef LIBHIBERNATE_IMAGE_CRYPTO_H
#define LIBHIBERNATE_IMAGE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_KEY_BYTES		32
#define HIB_CRYPTO_ABYTES	17	/* crypto_secretstream_xchacha20poly1305_ABYTES */
#define HIB_CRYPTO_CHUNK_EXTRA	(8 + HIB_CRYPTO_ABYTES)
#define HIB_KDF_RAW		1
#define HIB_KDF_ARGON2ID	2
/*
 * The most argon2id work a reader does for a header it cannot authenticate yet: libsodium's
 * "moderate" passes and its "interactive" memory (64 MiB), what the writer uses by default.
 */
#define HIB_KDF_OPS_MAX		crypto_pwhash_OPSLIMIT_MODERATE
#define HIB_KDF_MEM_MAX		crypto_pwhash_MEMLIMIT_INTERACTIVE
#define HIB_PASSPHRASE_MAX	1024

/* Key material: a raw key, or a passphrase derived with the image's salt. */
struct hib_image_key {
	int kdf;			/* HIB_KDF_* */
	uint8_t key[HIB_KEY_BYTES];	/* HIB_KDF_RAW */
	char passphrase[HIB_PASSPHRASE_MAX];	/* HIB_KDF_ARGON2ID, NUL-terminated */
	size_t passphrase_len;
	uint64_t opslimit;		/* writer: argon2id cost (0: libsodium's "interactive") */
	uint64_t memlimit;
};

/*
 * Load a key file: exactly 32 raw bytes, or 64 hex digits (one trailing newline allowed).
 * -EINVAL for anything else, -errno if it cannot be read.
 */
int hib_image_key_from_file(const char *path, struct hib_image_key **ret_key);
/* A passphrase: the file's first line (without the newline), 1..HIB_PASSPHRASE_MAX-1 bytes. */
int hib_image_key_from_passphrase_file(const char *path, struct hib_image_key **ret_key);
int hib_image_key_from_passphrase(const char *pass, size_t len, struct hib_image_key **ret_key);
int hib_image_key_from_raw(const uint8_t key[HIB_KEY_BYTES], struct hib_image_key **ret_key);
/* Wipes and frees. */
void hib_image_key_free(struct hib_image_key *k);
static inline void hib_image_key_freep(struct hib_image_key **k)
{
	hib_image_key_free(*k);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_IMAGE_CRYPTO_H */
