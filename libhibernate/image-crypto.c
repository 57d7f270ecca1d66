// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Image encryption (image-crypto.h): keys, key derivation and the key check.  The writer and
 * the reader run the secretstream themselves (image-writer.c, image-reader.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "image-internal.h"
#include "macro.h"
#include "util.h"

#define KEYCHECK_CTX	"hibernate image key check v1"

_Static_assert(H_SALT - H_SALT + 16 == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24, "stream header size");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == HIB_CRYPTO_ABYTES, "abytes");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == HIB_KEY_BYTES, "key size");

int hib_image_crypto_ready(void)
{
	return sodium_init() < 0 ? -ENOSYS : 0;
}

int hib_image_key_alloc(struct hib_image_key **ret_key)
{
	struct hib_image_key *k;
	int r;

	r = hib_image_crypto_ready();
	if (r < 0)
		return r;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	/* Keep it out of swap where possible; failure is not fatal (RLIMIT_MEMLOCK). */
	(void)sodium_mlock(k, sizeof(*k));
	*ret_key = k;
	return 0;
}

void hib_image_key_free(struct hib_image_key *k)
{
	if (!k)
		return;
	sodium_munlock(k, sizeof(*k));	/* zeroes too */
	free(k);
}

int hib_image_key_from_raw(const uint8_t key[HIB_KEY_BYTES], struct hib_image_key **ret_key)
{
	struct hib_image_key *k;
	int r;

	if (!key || !ret_key)
		return -EINVAL;
	r = hib_image_key_alloc(&k);
	if (r < 0)
		return r;
	k->kdf = HIB_KDF_RAW;
	memcpy(k->key, key, HIB_KEY_BYTES);
	*ret_key = k;
	return 0;
}

int hib_image_key_from_passphrase(const char *pass, size_t len, struct hib_image_key **ret_key)
{
	struct hib_image_key *k;
	int r;

	if (!pass || !ret_key || len == 0 || len >= HIB_PASSPHRASE_MAX)
		return -EINVAL;
	r = hib_image_key_alloc(&k);
	if (r < 0)
		return r;
	k->kdf = HIB_KDF_ARGON2ID;
	memcpy(k->passphrase, pass, len);
	k->passphrase_len = len;
	*ret_key = k;
	return 0;
}

/* Read at most @size bytes of @path into @buf.  Length, or -E2BIG if there is more. */
static ssize_t read_secret(const char *path, uint8_t *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	size_t got;
	uint8_t extra;
	ssize_t n;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	r = hib_secret_fd_check(fd);
	if (r < 0)
		return r;
	n = hib_read_full(fd, buf, size);
	if (n < 0 || (size_t)n < size)
		return n;
	/* Exactly @size or more? */
	got = (size_t)n;
	n = hib_read_full(fd, &extra, 1);
	if (n < 0)
		return n;
	return n ? -E2BIG : (ssize_t)got;
}

int hib_image_key_from_file(const char *path, struct hib_image_key **ret_key)
{
	uint8_t buf[2 * HIB_KEY_BYTES + 2], key[HIB_KEY_BYTES];
	size_t len, bin_len = 0;
	ssize_t n;
	int r;

	if (!path || !ret_key)
		return -EINVAL;
	r = hib_image_crypto_ready();
	if (r < 0)
		return r;
	n = read_secret(path, buf, sizeof(buf));
	if (n < 0)
		return n == -E2BIG ? -EINVAL : (int)n;
	len = (size_t)n;
	if (len == HIB_KEY_BYTES) {
		memcpy(key, buf, HIB_KEY_BYTES);
	} else {
		if (len == 2 * HIB_KEY_BYTES + 1 && buf[len - 1] == '\n')
			len--;
		if (len != 2 * HIB_KEY_BYTES ||
		    sodium_hex2bin(key, sizeof(key), (const char *)buf, len, NULL, &bin_len,
				   NULL) != 0 || bin_len != HIB_KEY_BYTES) {
			sodium_memzero(buf, sizeof(buf));
			return -EINVAL;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	r = hib_image_key_from_raw(key, ret_key);
	sodium_memzero(key, sizeof(key));
	return r;
}

int hib_image_key_from_passphrase_file(const char *path, struct hib_image_key **ret_key)
{
	uint8_t buf[HIB_PASSPHRASE_MAX + 1];
	ssize_t n;
	size_t len;
	int r;

	if (!path || !ret_key)
		return -EINVAL;
	n = read_secret(path, buf, sizeof(buf));
	if (n < 0)
		return n == -E2BIG ? -EINVAL : (int)n;
	len = 0;
	while (len < (size_t)n && buf[len] != '\n')
		len++;
	r = hib_image_key_from_passphrase((const char *)buf, len, ret_key);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* The stream key from @k and the header's KDF fields in @block.  0 or -errno. */
int hib_image_key_derive(const struct hib_image_key *k, const uint8_t *block,
			 uint8_t out[HIB_KEY_BYTES])
{
	if (k->kdf == HIB_KDF_RAW) {
		memcpy(out, k->key, HIB_KEY_BYTES);
		return 0;
	}
	if (crypto_pwhash(out, HIB_KEY_BYTES, k->passphrase, k->passphrase_len,
			  block + H_SALT, get64(block + H_KDF_OPS), (size_t)get64(block + H_KDF_MEM),
			  (int)get32(block + H_KDF_ALG)) != 0)
		return -ENOMEM;
	return 0;
}

void hib_image_keycheck(const uint8_t key[HIB_KEY_BYTES], const uint8_t *block,
			uint8_t out[HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, HIB_KEY_BYTES, HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)KEYCHECK_CTX, sizeof(KEYCHECK_CTX));
	crypto_generichash_update(&st, block + H_KDF, H_KEYCHECK - H_KDF);
	crypto_generichash_final(&st, out, HASH_BYTES);
}
