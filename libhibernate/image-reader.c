// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image container: header, commit ("valid") block, chunk records, FINAL record.  The layout
 * is described in image.h.  The reader trusts nothing: every length and count from the image
 * is checked against the header, the commit block and the sink's size before it is used, and
 * a payload is handed out only after its checksum matched.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#include <sodium.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "image.h"
#include "log.h"
#include "macro.h"

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

#define HASH_BYTES	32
#define KEYCHECK_CTX	"hibernate image key check v1"

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
_Static_assert(H_SALT - H_SALT + 16 == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24, "stream header size");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == HIB_CRYPTO_ABYTES, "abytes");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == HIB_KEY_BYTES, "key size");
_Static_assert(O_RECS + HIB_IMAGE_ORIGINS_MAX * O_REC_SIZE <= O_CSUM, "origins fit");

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint64_t csum(const void *p, size_t len)
{
	return (uint64_t)XXH3_64bits(p, len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Copy a string into a fixed field of @size bytes, truncated, NUL-padded. */
static void put_str(uint8_t *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memset(dst, 0, size);
	memcpy(dst, src, n);
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* ---- encoding ------------------------------------------------------------------------------ */

void hib_image_header_encode(const struct hib_image_info *info, uint8_t *block)
{
	memset(block, 0, HIB_IMAGE_BLOCK);
	memcpy(block + H_MAGIC, HIB_IMAGE_MAGIC, 8);
	put32(block + H_VERSION, info->version);
	put32(block + H_PAGE_SIZE, info->page_size);
	put32(block + H_CHUNK_SIZE, info->chunk_size);
	put32(block + H_CODEC, info->codec);
	put32(block + H_CIPHER, info->cipher);
	put64(block + H_PAGES, info->image_pages);
	put64(block + H_RAW_BYTES, info->raw_bytes);
	put64(block + H_CREATED, info->created);
	put32(block + H_BUILD_ID_LEN, MIN(info->build_id_len, (uint32_t)HIB_BUILD_ID_MAX));
	put_str(block + H_RELEASE, info->kernel_release, HIB_IMAGE_STR_MAX);
	put_str(block + H_KVERSION, info->kernel_version, HIB_IMAGE_STR_MAX);
	put_str(block + H_HOST_ID, info->host_id, HIB_IMAGE_STR_MAX);
	memcpy(block + H_BUILD_ID, info->build_id, HIB_BUILD_ID_MAX);
	put64(block + H_CSUM, csum(block, H_CSUM));
	if (info->n_origins) {
		uint32_t i, n = MIN(info->n_origins, (uint32_t)HIB_IMAGE_ORIGINS_MAX);

		put32(block + O_COUNT, n);
		for (i = 0; i < n; i++) {
			uint8_t *rec = block + O_RECS + i * O_REC_SIZE;
			const struct hib_image_origin *o = &info->origins[i];

			put_str(rec, o->name, HIB_IMAGE_ORIGIN_STR_MAX);
			put_str(rec + HIB_IMAGE_ORIGIN_STR_MAX, o->uuid, HIB_IMAGE_ORIGIN_STR_MAX);
			put64(rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX, o->sectors);
			memcpy(rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX + 8, o->sb_hash, 16);
		}
		put64(block + O_CSUM, csum(block + O_BASE, O_CSUM - O_BASE));
	}
}

void hib_chunk_encode(const struct hib_chunk *c, uint8_t rec[HIB_RECORD_SIZE])
{
	put32(rec + R_MAGIC, HIB_CHUNK_MAGIC);
	put32(rec + R_FLAGS, c->flags);
	put64(rec + 8, c->seq);
	put32(rec + 16, c->raw_len);
	put32(rec + 20, c->comp_len);
	put64(rec + 24, c->comp_csum);
	put64(rec + 32, c->raw_csum);
	put64(rec + R_CSUM, csum(rec, R_CSUM));
}

void hib_final_encode(const struct hib_final *f, uint8_t rec[HIB_RECORD_SIZE])
{
	put32(rec + R_MAGIC, HIB_FINAL_MAGIC);
	put32(rec + R_FLAGS, 0);
	put64(rec + 8, f->chunks);
	put64(rec + 16, f->raw_bytes);
	put64(rec + 24, f->comp_bytes);
	put64(rec + 32, f->running_csum);
	put64(rec + R_CSUM, csum(rec, R_CSUM));
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

uint64_t hib_image_worst_case(uint64_t raw_bytes, uint32_t chunk_size)
{
	uint64_t chunks;

	if (chunk_size == 0)
		chunk_size = HIB_IMAGE_CHUNK_DEFAULT;
	chunks = div_round_up(raw_bytes, chunk_size);
	/* Room for encryption whether or not it is on: 25 bytes a chunk. */
	return HIB_IMAGE_DATA_OFFSET +
	       chunks * (HIB_RECORD_SIZE + hib_chunk_bound(chunk_size) + HIB_CRYPTO_CHUNK_EXTRA) +
	       HIB_RECORD_SIZE + HIB_CRYPTO_ABYTES;
}

/* ---- identity ------------------------------------------------------------------------------ */

int hib_parse_build_id(const uint8_t *buf, size_t len, uint8_t ret_id[HIB_BUILD_ID_MAX])
{
	size_t off = 0;

	/* A sequence of Elf_Nhdr { namesz, descsz, type }, name and desc padded to 4 bytes. */
	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		size_t name_pad, desc_pad;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		off += 12;
		name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		if (namesz > len || descsz > len || name_pad > len - off ||
		    desc_pad > len - off - name_pad)
			return -EBADMSG;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 &&
		    memcmp(buf + off, "GNU", 4) == 0) {
			if (descsz == 0 || descsz > HIB_BUILD_ID_MAX)
				return -EBADMSG;
			memcpy(ret_id, buf + off + name_pad, descsz);
			return (int)descsz;
		}
		off += name_pad + desc_pad;
	}
	return 0;
}

/* Read a small file whole (at most @size - 1 bytes, NUL-terminated).  Length or -errno. */
static ssize_t read_small(const char *path, uint8_t *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	size_t got = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return (ssize_t)got;
}

int hib_system_identity(const char *notes_path, const char *machine_id_path,
			struct hib_image_info *ret_info)
{
	struct hib_image_info info = {
		.version = HIB_IMAGE_VERSION,
		.codec = HIB_CODEC_LZ4,
		.cipher = HIB_CIPHER_NONE,
		.chunk_size = HIB_IMAGE_CHUNK_DEFAULT,
	};
	uint8_t notes[8192];
	struct utsname u;
	long ps;
	ssize_t n;
	int r;

	if (!ret_info)
		return -EINVAL;
	ps = sysconf(_SC_PAGESIZE);
	if (ps <= 0)
		return -EINVAL;
	info.page_size = (uint32_t)ps;
	if (uname(&u) < 0)
		return negative_errno();
	snprintf(info.kernel_release, sizeof(info.kernel_release), "%s", u.release);
	snprintf(info.kernel_version, sizeof(info.kernel_version), "%s", u.version);

	n = read_small(notes_path ? notes_path : "/sys/kernel/notes", notes, sizeof(notes));
	if (n >= 0) {
		r = hib_parse_build_id(notes, (size_t)n, info.build_id);
		if (r < 0)
			hib_warn("cannot parse the kernel's build id notes: %s", strerror(-r));
		else
			info.build_id_len = (uint32_t)r;
	} else {
		hib_debug("no kernel notes: %s", strerror((int)-n));
	}

	n = read_small(machine_id_path ? machine_id_path : "/etc/machine-id", notes,
		       sizeof(notes));
	if (n > 0) {
		notes[strcspn((char *)notes, "\n")] = 0;
		put_str((uint8_t *)info.host_id, (char *)notes, sizeof(info.host_id));
	}
	if (!info.host_id[0] && gethostname(info.host_id, sizeof(info.host_id) - 1) < 0)
		info.host_id[0] = 0;

	*ret_info = info;
	return 0;
}

void hib_build_id_hex(const struct hib_image_info *info, char *buf, size_t size)
{
	uint32_t i, len = MIN(info->build_id_len, (uint32_t)HIB_BUILD_ID_MAX);

	if (size == 0)
		return;
	buf[0] = 0;
	for (i = 0; i < len && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", info->build_id[i]);
}

int hib_image_check_system(const struct hib_image_info *image, const struct hib_image_info *sys,
			   char *why, size_t why_size)
{
	char a[2 * HIB_BUILD_ID_MAX + 1], b[2 * HIB_BUILD_ID_MAX + 1];
	char dummy[1];

	if (!why) {
		why = dummy;
		why_size = sizeof(dummy);
	}
	if (image->page_size != sys->page_size) {
		snprintf(why, why_size, "image page size %u, this system's %u", image->page_size,
			 sys->page_size);
		return -EXDEV;
	}
	if (strcmp(image->kernel_release, sys->kernel_release) != 0 ||
	    strcmp(image->kernel_version, sys->kernel_version) != 0) {
		snprintf(why, why_size, "image made by kernel %s %s, running kernel %s %s",
			 image->kernel_release, image->kernel_version, sys->kernel_release,
			 sys->kernel_version);
		return -EXDEV;
	}
	if (image->build_id_len && sys->build_id_len &&
	    (image->build_id_len != sys->build_id_len ||
	     memcmp(image->build_id, sys->build_id, image->build_id_len) != 0)) {
		hib_build_id_hex(image, a, sizeof(a));
		hib_build_id_hex(sys, b, sizeof(b));
		snprintf(why, why_size, "image made by kernel build %s, running kernel build %s",
			 a, b);
		return -EXDEV;
	}
	if (image->build_id_len != sys->build_id_len)
		hib_warn("cannot compare kernel build ids (image: %s, running kernel: %s)",
			 image->build_id_len ? "known" : "none", sys->build_id_len ? "known" : "none");
	return 0;
}

/* ---- chunk codec ---------------------------------------------------------------------------- */

size_t hib_chunk_bound(size_t raw_len)
{
	if (raw_len > HIB_IMAGE_CHUNK_MAX)
		return 0;
	return (size_t)LZ4_COMPRESSBOUND(raw_len);
}

int hib_chunk_compress(const void *raw, size_t raw_len, void *out, size_t out_size,
		       struct hib_chunk *ret_chunk)
{
	int n;

	if (!raw || !out || !ret_chunk || raw_len == 0 || raw_len > HIB_IMAGE_CHUNK_MAX ||
	    out_size < hib_chunk_bound(raw_len))
		return -EINVAL;

	n = LZ4_compress_default(raw, out, (int)raw_len, (int)MIN(out_size, (size_t)INT32_MAX));
	if (n <= 0 || (size_t)n >= raw_len) {
		memcpy(out, raw, raw_len);
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

/* ---- keys ---------------------------------------------------------------------------------- */

static int crypto_ready(void)
{
	return sodium_init() < 0 ? -ENOSYS : 0;
}

static int key_alloc(struct hib_image_key **ret_key)
{
	struct hib_image_key *k;
	int r;

	r = crypto_ready();
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
	r = key_alloc(&k);
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
	r = key_alloc(&k);
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
	size_t got = 0;
	uint8_t extra;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	for (;;) {
		ssize_t n = read(fd, got < size ? buf + got : &extra, got < size ? size - got : 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		if (got >= size)
			return -E2BIG;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int hib_image_key_from_file(const char *path, struct hib_image_key **ret_key)
{
	uint8_t buf[2 * HIB_KEY_BYTES + 2], key[HIB_KEY_BYTES];
	size_t len, bin_len = 0;
	ssize_t n;
	int r;

	if (!path || !ret_key)
		return -EINVAL;
	r = crypto_ready();
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
static int key_derive(const struct hib_image_key *k, const uint8_t *block,
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

static void keycheck(const uint8_t key[HIB_KEY_BYTES], const uint8_t *block,
		     uint8_t out[HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, HIB_KEY_BYTES, HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)KEYCHECK_CTX, sizeof(KEYCHECK_CTX));
	crypto_generichash_update(&st, block + H_KDF, H_KEYCHECK - H_KDF);
	crypto_generichash_final(&st, out, HASH_BYTES);
}

/* AD of a message: the header hash and @len bytes of its record. */
static void make_ad(uint8_t *ad, const uint8_t *header_hash, const uint8_t *rec, size_t len)
{
	memcpy(ad, header_hash, HASH_BYTES);
	memcpy(ad + HASH_BYTES, rec, len);
}

/* ---- writer -------------------------------------------------------------------------------- */

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
	/* encryption */
	struct hib_image_key *key;
	uint8_t *cbuf;			/* plaintext + ciphertext of one chunk */
	size_t cbuf_size;
	uint8_t header_hash[HASH_BYTES];
	crypto_secretstream_xchacha20poly1305_state ss;
};

static int check_geometry(uint32_t page_size, uint32_t chunk_size)
{
	if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)))
		return -EINVAL;
	if (chunk_size < HIB_IMAGE_CHUNK_MIN || chunk_size > HIB_IMAGE_CHUNK_MAX ||
	    chunk_size % page_size)
		return -EINVAL;
	return 0;
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
	r = key_alloc(&k);
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
	r = key_derive(k, w->block, key);
	if (r < 0)
		return r;
	crypto_secretstream_xchacha20poly1305_init_push(&w->ss, w->block + H_SS_HEADER, key);
	keycheck(key, w->block, w->block + H_KEYCHECK);
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

	hib_image_header_encode(&w->info, w->block);
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
	w->off = HIB_IMAGE_DATA_OFFSET;
	w->begun = true;
	w->finished = false;
	return 0;
}

int hib_image_writer_put(struct hib_image_writer *w, const struct hib_chunk *c,
			 const void *payload)
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
		uint8_t *ct = w->cbuf + plain;
		struct hib_chunk e = *c;

		/* The raw checksum travels inside the ciphertext. */
		memcpy(w->cbuf, payload, c->comp_len);
		put64(w->cbuf + c->comp_len, c->raw_csum);
		e.raw_csum = 0;
		hib_chunk_encode(&e, rec);
		make_ad(ad, w->header_hash, rec, R_AD);
		crypto_secretstream_xchacha20poly1305_push(&w->ss, ct, NULL, w->cbuf, plain, ad,
							   sizeof(ad), 0);
		e.comp_csum = csum(ct, stored);
		hib_chunk_encode(&e, rec);
		r = hib_sink_write(w->sink, rec, sizeof(rec), w->off);
		if (r < 0)
			return r;
		r = hib_sink_write(w->sink, ct, stored, w->off + sizeof(rec));
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
	r = hib_sink_write(w->sink, rec, sizeof(rec), w->off);
	if (r < 0)
		return r;
	r = hib_sink_write(w->sink, payload, c->comp_len, w->off + sizeof(rec));
	if (r < 0)
		return r;
	XXH3_64bits_update(&w->running, rec, sizeof(rec));
	w->off += sizeof(rec) + c->comp_len;
	w->totals.chunks++;
	w->totals.raw_bytes += c->raw_len;
	w->totals.comp_bytes += c->comp_len;
	return 0;
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
	return 0;
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

int hib_image_invalidate(struct hib_sink *sink)
{
	static const uint8_t zero[HIB_IMAGE_BLOCK];
	int r;

	if (!sink)
		return -EINVAL;
	r = hib_sink_write(sink, zero, sizeof(zero), HIB_IMAGE_BLOCK);
	if (r < 0)
		return r;
	return hib_sink_sync(sink);
}

/* ---- reader -------------------------------------------------------------------------------- */

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
	uint32_t extra;			/* bytes a chunk's payload takes beyond comp_len */
	uint8_t *cbuf;			/* ciphertext, then plaintext, of one chunk */
	size_t cbuf_half;
	uint8_t header_hash[HASH_BYTES];
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

static int sink_read_at(struct hib_image_reader *r, void *buf, size_t len, uint64_t off,
			const char *what)
{
	int e;

	if (off > r->sink_size || len > r->sink_size - off)
		return reader_fail(r, -EBADMSG, off, "%s at offset %" PRIu64 " runs past the end "
				   "of %s (%" PRIu64 " bytes): image truncated", what, off,
				   r->sink->name, r->sink_size);
	e = hib_sink_read(r->sink, buf, len, off);
	if (e == -ENODATA)
		return reader_fail(r, -EBADMSG, off, "%s at offset %" PRIu64 ": image truncated",
				   what, off);
	if (e < 0)
		return reader_fail(r, e, off, "cannot read %s at offset %" PRIu64 ": %s", what,
				   off, strerror(-e));
	return 0;
}

static bool str_ok(const uint8_t *p, size_t size)
{
	return memchr(p, 0, size) != NULL;
}

static int header_decode(struct hib_image_reader *r, const uint8_t *b)
{
	struct hib_image_info *info = &r->info;
	uint64_t pages, raw;

	if (memcmp(b + H_MAGIC, HIB_IMAGE_MAGIC, 8) != 0)
		return reader_fail(r, -ENODATA, H_MAGIC, "no image magic");
	info->version = get32(b + H_VERSION);
	if (info->version != HIB_IMAGE_VERSION)
		return reader_fail(r, -EPROTONOSUPPORT, H_VERSION, "image format version %u, "
				   "this program reads version %u", info->version,
				   HIB_IMAGE_VERSION);
	if (get64(b + H_CSUM) != csum(b, H_CSUM))
		return reader_fail(r, -EBADMSG, H_CSUM, "header checksum mismatch");
	r->header_csum = get64(b + H_CSUM);
	info->cipher = get32(b + H_CIPHER);
	if (info->cipher == HIB_CIPHER_XCHACHA20POLY1305) {
		if (!all_zero(b + H_CRYPTO_END, O_BASE - H_CRYPTO_END))
			return reader_fail(r, -EBADMSG, H_CRYPTO_END, "header padding not zero");
	} else if (!all_zero(b + H_CSUM + 8, O_BASE - H_CSUM - 8)) {
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
		return reader_fail(r, -EBADMSG, H_RELEASE, "unterminated string in the header");
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

	e = crypto_ready();
	if (e < 0)
		return reader_fail(r, e, 0, "libsodium failed to initialise");
	if (kdf != HIB_KDF_RAW && kdf != HIB_KDF_ARGON2ID)
		return reader_fail(r, -EBADMSG, H_KDF, "unknown key derivation %u", kdf);
	if (kdf == HIB_KDF_ARGON2ID) {
		uint64_t ops = get64(hdr + H_KDF_OPS), mem = get64(hdr + H_KDF_MEM);

		if (get32(hdr + H_KDF_ALG) != crypto_pwhash_ALG_ARGON2ID13 ||
		    ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MODERATE)
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
	e = key_derive(key, hdr, k);
	if (e < 0)
		return reader_fail(r, e, H_KDF, "cannot derive the key from the passphrase: %s",
				   strerror(-e));
	keycheck(k, hdr, check);
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

int hib_image_reader_next(struct hib_image_reader *r, void *buf, size_t buf_size,
			  struct hib_chunk *ret_chunk)
{
	uint8_t rec[HIB_RECORD_SIZE];
	struct hib_chunk c;
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
	e = sink_read_at(r, rec, sizeof(rec), off, "chunk record");
	if (e < 0)
		return e;
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
	if (r->encrypted)
		return reader_next_encrypted(r, rec, &c, buf, buf_size, ret_chunk);
	if (r->final_off - off - HIB_RECORD_SIZE < c.comp_len)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 " at offset %" PRIu64
				   " (%u bytes) overlaps the FINAL record", c.seq, off, c.comp_len);
	if (c.comp_len > buf_size)
		return reader_fail(r, -ENOBUFS, off, "chunk %" PRIu64 ": %u bytes do not fit the "
				   "buffer", c.seq, c.comp_len);
	e = sink_read_at(r, buf, c.comp_len, off + HIB_RECORD_SIZE, "chunk payload");
	if (e < 0)
		return e;
	if (csum(buf, c.comp_len) != c.comp_csum)
		return reader_fail(r, -EBADMSG, off, "chunk %" PRIu64 ": payload checksum mismatch "
				   "at offset %" PRIu64, c.seq, off + HIB_RECORD_SIZE);

	XXH3_64bits_update(&r->running, rec, sizeof(rec));
	r->rec_off = off;
	r->off = off + HIB_RECORD_SIZE + c.comp_len;
	r->seen.chunks++;
	r->seen.raw_bytes += c.raw_len;
	r->seen.comp_bytes += c.comp_len;
	*ret_chunk = c;
	return 1;
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
