/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the hibernation image container, the sinks it is written to and the lz4
 * pipeline that fills and drains it.  Same conventions as hibernate.h: 0 / non-negative or
 * -errno, ret_* written only on success, free functions accept NULL, no printing.
 *
 * On-disk layout (every integer little-endian; DESIGN.md section 5):
 *
 *   offset 0      header block, HIB_IMAGE_BLOCK bytes: struct hib_image_header_disk, zero
 *                 padded; its last field is an XXH3-64 of everything before it
 *   offset 4096   commit block, HIB_IMAGE_BLOCK bytes: struct hib_image_commit_disk (the
 *                 "valid" mark), all zero until the image is complete.  Written last, after
 *                 the FINAL record and an fsync; cleared (zeroed + fsync) to invalidate
 *   offset 8192   chunk records, back to back, in sequence order from 0:
 *                   struct hib_chunk_disk (48 bytes) + comp_len bytes of payload
 *                 payload is an lz4 block (LZ4_compress_default), or the raw bytes when
 *                 HIB_CHUNK_STORED is set (incompressible data)
 *   then          the FINAL record, struct hib_final_disk (48 bytes), with the totals
 *
 * The commit block names the header checksum and the FINAL record's offset and checksum, so
 * a stale commit block cannot validate a newer header, and every record is checksummed on its
 * own.  Chunk i (but the last) holds exactly chunk_size raw bytes; the last holds the rest.
 */
#ifndef LIBHIBERNATE_IMAGE_H
#define LIBHIBERNATE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hibernate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sinks (like CRIU's page_xfer): where an image lives ----------------------------------- */

struct hib_sink;

struct hib_sink_ops {
	/* Write / read exactly @len bytes at @off.  0 or -errno (a short read is -ENODATA). */
	int (*write)(struct hib_sink *s, const void *buf, size_t len, uint64_t off);
	int (*read)(struct hib_sink *s, void *buf, size_t len, uint64_t off);
	/* Make everything written so far durable.  0 or -errno. */
	int (*sync)(struct hib_sink *s);
	/*
	 * Bytes available: for reading, the current size; for writing, the most the sink can
	 * take (device size, or file size + free space on its filesystem).
	 */
	int (*size)(struct hib_sink *s, uint64_t *ret_size);
	/* Release everything (the sink itself too). */
	void (*close)(struct hib_sink *s);
};

enum hib_sink_kind {
	HIB_SINK_FILE = 1,
	HIB_SINK_BLOCK = 2,
	HIB_SINK_MEMORY = 3,
	HIB_SINK_OTHER = 4,	/* e.g. a test's own ops, later the network */
};

struct hib_sink {
	const struct hib_sink_ops *ops;
	enum hib_sink_kind kind;
	bool writable;
	bool growable;		/* a file the writer may extend: size counts free space */
	char name[256];		/* path or description, for messages */
	int fd;			/* file and block sinks, else -1 */
	size_t write_buffer_bytes;	/* memory it touches first while writing (S3 parts) */
	void *priv;		/* implementation data */
};

enum {
	HIB_SINK_READ = 0,
	HIB_SINK_WRITE = 1,
	HIB_SINK_UPDATE = 2,	/* an existing image, read and then invalidated */
};

/*
 * Open @path as a sink: a block device (size from BLKGETSIZE64) or a regular file.  For
 * HIB_SINK_WRITE a regular file is created (0600) if its directory exists (never under /dev/:
 * a missing name there is a missing device, -ENOENT); -EROFS if the file
 * or device is read-only (BLKROGET, or a filesystem mounted read-only), -ENOENT if it is
 * missing (for reading) or its directory is, -EINVAL for anything else (directory, pipe...).
 * HIB_SINK_UPDATE opens an existing file or device for reading and writing (resume reads
 * the image, then invalidates it), with the same read-only checks as HIB_SINK_WRITE.
 */
int hib_sink_open(const char *path, int mode, struct hib_sink **ret_sink);
/*
 * A growable in-memory sink of at most @capacity bytes (tests, and staging).  Its size is
 * @capacity while s->writable is set; clear s->writable to read it back (size = data length).
 */
int hib_sink_open_memory(size_t capacity, struct hib_sink **ret_sink);
/* The contents of a memory sink (NULL for other kinds) and its length. */
uint8_t *hib_sink_memory_data(struct hib_sink *s, size_t *ret_len);
void hib_sink_close(struct hib_sink *s);

static inline int hib_sink_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	return s->ops->write(s, buf, len, off);
}

static inline int hib_sink_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	return s->ops->read(s, buf, len, off);
}

static inline int hib_sink_sync(struct hib_sink *s)
{
	return s->ops->sync(s);
}

static inline int hib_sink_size(struct hib_sink *s, uint64_t *ret_size)
{
	return s->ops->size(s, ret_size);
}

/*
 * Can @s take @need bytes?  0, -EROFS if it is not writable, -ENOSPC if it is too small
 * (*ret_have, if set, gets what it has), or the size op's error.
 */
int hib_sink_preflight(struct hib_sink *s, uint64_t need, uint64_t *ret_have);

/* MemTotal from @meminfo_path (NULL: /proc/meminfo), in bytes.  -EBADMSG if absent. */
int hib_meminfo_total(const char *meminfo_path, uint64_t *ret_bytes);

/* ---- image format ------------------------------------------------------------------------- */

#define HIB_IMAGE_MAGIC		"HIBIMAGE"	/* 8 bytes, no NUL */
#define HIB_IMAGE_COMMIT_MAGIC	"HIBVALID"
#define HIB_IMAGE_VERSION	1
#define HIB_IMAGE_BLOCK		4096
#define HIB_IMAGE_DATA_OFFSET	(2 * HIB_IMAGE_BLOCK)
#define HIB_CHUNK_MAGIC		0x4b4e4843u	/* "CHNK" */
#define HIB_FINAL_MAGIC		0x4c4e4946u	/* "FINL" */
#define HIB_RECORD_SIZE		48		/* chunk and FINAL records alike */

#define HIB_CODEC_LZ4		1
#define HIB_CIPHER_NONE		0
#define HIB_CIPHER_XCHACHA20POLY1305	1	/* libsodium secretstream */

#define HIB_CHUNK_STORED	(1u << 0)	/* payload is the raw bytes */

#define HIB_IMAGE_CHUNK_DEFAULT	(256u << 10)	/* raw stream per chunk: the writer needs (threads + 2) x 2 of these
						 * free after the snapshot (vm-stream-880) */
#define HIB_IMAGE_CHUNK_MIN	4096u
#define HIB_IMAGE_CHUNK_MAX	(64u << 20)
#define HIB_IMAGE_PAGES_MAX	(1ULL << 36)	/* 256 TiB of 4 KiB pages */

#define HIB_IMAGE_STR_MAX	128	/* kernel release, kernel version, host id (NUL incl.) */
#define HIB_BUILD_ID_MAX	64

/*
 * A protected origin (DESIGN.md section 6) at the snapshot instant: the dm device, its size
 * and an XXH128 of its first 64 KiB (the superblock region), read while the filesystem was
 * frozen.  Stored in the header block from offset 1024 with its own checksum; an all-zero
 * area means "no origins" (images written before origins existed).
 */
#define HIB_IMAGE_ORIGINS_MAX		8
#define HIB_IMAGE_ORIGIN_STR_MAX	128

struct hib_image_origin {
	char name[HIB_IMAGE_ORIGIN_STR_MAX];	/* dm name */
	char uuid[HIB_IMAGE_ORIGIN_STR_MAX];	/* dm uuid, "" if none */
	uint64_t sectors;
	uint8_t sb_hash[16];
};

/* The header, in host form. */
struct hib_image_info {
	uint32_t version;
	uint32_t page_size;
	uint32_t chunk_size;
	uint32_t codec;
	uint32_t cipher;
	uint64_t image_pages;
	uint64_t raw_bytes;		/* image_pages * page_size */
	uint64_t created;		/* seconds since the epoch */
	char kernel_release[HIB_IMAGE_STR_MAX];	/* uname -r */
	char kernel_version[HIB_IMAGE_STR_MAX];	/* uname -v */
	char host_id[HIB_IMAGE_STR_MAX];		/* machine-id, else hostname */
	uint8_t build_id[HIB_BUILD_ID_MAX];
	uint32_t build_id_len;		/* 0: unknown */
	uint32_t n_origins;
	struct hib_image_origin origins[HIB_IMAGE_ORIGINS_MAX];
};

/* One chunk record, in host form. */
struct hib_chunk {
	uint64_t seq;
	uint32_t flags;			/* HIB_CHUNK_* */
	uint32_t raw_len;
	uint32_t comp_len;
	uint64_t comp_csum;		/* XXH3-64 of the payload */
	uint64_t raw_csum;		/* XXH3-64 of the raw bytes */
	uint64_t offset;		/* reader: where the record lies (not stored) */
};

/* The FINAL record, in host form. */
struct hib_final {
	uint64_t chunks;
	uint64_t raw_bytes;
	uint64_t comp_bytes;		/* sum of the payloads */
	uint64_t running_csum;		/* XXH3-64 over every chunk record, in order */
};

/*
 * What the running system is: page size, uname -r / -v, build id from @notes_path (NULL:
 * /sys/kernel/notes; missing file: empty build id), host id from @machine_id_path (NULL:
 * /etc/machine-id; missing: hostname).  Fills the identity fields of @ret_info, zeroes the
 * rest and sets version, codec and cipher.
 */
int hib_system_identity(const char *notes_path, const char *machine_id_path,
			struct hib_image_info *ret_info);

/* Find the GNU build-id note in the ELF notes in @buf.  Its length, 0 if none, or -EBADMSG. */
int hib_parse_build_id(const uint8_t *buf, size_t len, uint8_t ret_id[HIB_BUILD_ID_MAX]);

/*
 * Would the image described by @image restore on the system @sys?  Compares page size, kernel
 * release, kernel version and (when both are known) build id.  0, or -EXDEV with a message
 * naming both sides in @why (if not NULL).
 */
int hib_image_check_system(const struct hib_image_info *image, const struct hib_image_info *sys,
			   char *why, size_t why_size);

/* Hex of a build id into @buf (at least 2 * HIB_BUILD_ID_MAX + 1 bytes); "" if none. */
void hib_build_id_hex(const struct hib_image_info *info, char *buf, size_t size);

/* The largest image, in bytes on the sink, that @raw_bytes of memory can give. */
uint64_t hib_image_worst_case(uint64_t raw_bytes, uint32_t chunk_size);

/* Encoding, for the writer, the reader and the tests.  Buffers are HIB_IMAGE_BLOCK bytes. */
void hib_image_header_encode(const struct hib_image_info *info, uint8_t *block);
void hib_chunk_encode(const struct hib_chunk *c, uint8_t rec[HIB_RECORD_SIZE]);
void hib_final_encode(const struct hib_final *f, uint8_t rec[HIB_RECORD_SIZE]);

/*
 * ---- encryption (HIB_CIPHER_XCHACHA20POLY1305) ----------------------------------------------
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
#define HIB_KEY_BYTES		32
#define HIB_CRYPTO_ABYTES	17	/* crypto_secretstream_xchacha20poly1305_ABYTES */
#define HIB_CRYPTO_CHUNK_EXTRA	(8 + HIB_CRYPTO_ABYTES)
#define HIB_KDF_RAW		1
#define HIB_KDF_ARGON2ID	2
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

/* ---- chunk codec (what the pipeline's workers run) ---------------------------------------- */

/* Worst-case payload of a chunk of @raw_len bytes. */
size_t hib_chunk_bound(size_t raw_len);

/*
 * Compress @raw_len bytes (1..HIB_IMAGE_CHUNK_MAX) into @out (@out_size >=
 * hib_chunk_bound(raw_len)); stores them raw when lz4 does not shrink them.  Fills every field
 * of *ret_chunk but seq.
 */
int hib_chunk_compress(const void *raw, size_t raw_len, void *out, size_t out_size,
		       struct hib_chunk *ret_chunk);

/*
 * Decompress the payload of @c (already verified by the reader) into @out, which has room for
 * @out_size bytes, and verify the raw checksum.  -EBADMSG if lz4 fails, the length differs or
 * the raw checksum does not match; -ENOBUFS if @out is too small.
 */
int hib_chunk_decompress(const struct hib_chunk *c, const void *comp, void *out, size_t out_size);

/* ---- writer ------------------------------------------------------------------------------- */

struct hib_image_writer;

/*
 * Prepare a writer for @sink (not taken over); allocates everything it needs, writes nothing.
 * @identity gives everything but the page count (see hib_system_identity()); its chunk_size
 * must be a multiple of the page size within HIB_IMAGE_CHUNK_MIN..MAX.
 */
int hib_image_writer_new(struct hib_sink *sink, const struct hib_image_info *identity,
			 struct hib_image_writer **ret_writer);
/* Record the protected origins (before hib_image_writer_begin()).  -E2BIG if too many. */
int hib_image_writer_set_origins(struct hib_image_writer *w, const struct hib_image_origin *o,
				 uint32_t n);
/*
 * Start an image of @image_pages pages: write the header and clear the commit block (so
 * whatever image was there is no longer valid).  No allocation.
 */
int hib_image_writer_begin(struct hib_image_writer *w, uint64_t image_pages, uint64_t created);
/*
 * Encrypt the image with @key (copied; before hib_image_writer_begin()).  Derives the key now
 * for a passphrase (argon2id, a fresh salt).  Allocates the ciphertext buffer.
 */
int hib_image_writer_set_key(struct hib_image_writer *w, const struct hib_image_key *key);
/*
 * Append chunk @c (seq must be the next one) with payload @payload.  No allocation.  With a
 * key, the payload is encrypted here: call it in sequence order from one thread.
 */
int hib_image_writer_put(struct hib_image_writer *w, const struct hib_chunk *c,
			 const void *payload);
/* Write FINAL, fsync, write the commit block, fsync.  -EIO if the totals do not add up. */
int hib_image_writer_finish(struct hib_image_writer *w);
/* Bytes written so far (header and records), and the totals. */
uint64_t hib_image_writer_offset(const struct hib_image_writer *w);
void hib_image_writer_totals(const struct hib_image_writer *w, struct hib_final *ret_final);
void hib_image_writer_free(struct hib_image_writer *w);

/* Clear the commit block of the image on @sink and fsync (one-shot resume).  0 or -errno. */
int hib_image_invalidate(struct hib_sink *sink);

/* ---- reader ------------------------------------------------------------------------------- */

struct hib_image_reader;

#define HIB_IMAGE_WHY_MAX 256

/*
 * Open the image on @sink (not taken over): read and check the header and the commit block.
 * -ENODATA when there is no valid image (no magic, commit block clear or torn), -EBADMSG when
 * the header is corrupt or inconsistent, -EPROTONOSUPPORT for an unknown version, codec or
 * cipher, else -errno.  On failure *ret_why (if set) gets the reason (at most
 * HIB_IMAGE_WHY_MAX bytes) and *ret_off its offset.
 */
int hib_image_reader_open(struct hib_sink *sink, struct hib_image_reader **ret_reader,
			  char *ret_why, uint64_t *ret_off);
/*
 * The same with encryption configured (@key not NULL): an unencrypted image is refused with
 * -EPERM, a wrong key with -EKEYREJECTED.  Without a key (@key NULL), an encrypted image is
 * refused with -ENOKEY.  A chunk or FINAL record that does not authenticate is -EBADMSG from
 * hib_image_reader_next() with the reason.
 */
int hib_image_reader_open_key(struct hib_sink *sink, const struct hib_image_key *key,
			      struct hib_image_reader **ret_reader, char *ret_why,
			      uint64_t *ret_off);
const struct hib_image_info *hib_image_reader_info(const struct hib_image_reader *r);
/* The totals from the commit block's FINAL record, read ahead by hib_image_reader_open(). */
const struct hib_final *hib_image_reader_final(const struct hib_image_reader *r);

/*
 * The next chunk: reads its record and payload into @buf (@buf_size bytes), checks every
 * length and the payload checksum.  1 with *ret_chunk set, 0 once the FINAL record was read
 * and its totals and running checksum match, or -EBADMSG / -errno (see hib_image_reader_why()).
 * After 0 or an error, it keeps returning the same.
 */
int hib_image_reader_next(struct hib_image_reader *r, void *buf, size_t buf_size,
			  struct hib_chunk *ret_chunk);
/* The last error's reason and offset. */
const char *hib_image_reader_why(const struct hib_image_reader *r, uint64_t *ret_off);
/* Record the failure of a chunk found by a later stage (decompression) for ..._why(). */
void hib_image_reader_fail(struct hib_image_reader *r, const struct hib_chunk *c, int err);
/* The offset of the next record to read. */
uint64_t hib_image_reader_offset(const struct hib_image_reader *r);
void hib_image_reader_free(struct hib_image_reader *r);

/* ---- pipeline: reader -> N workers -> ordered writer --------------------------------------- */

struct hib_pipeline;

/* A unit of work.  @in and @out are allocated up front by hib_pipeline_new(). */
struct hib_pipeline_slot {
	uint64_t seq;
	uint8_t *in;
	size_t in_cap;
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	size_t out_len;
	struct hib_chunk chunk;
	int err;
};

enum hib_pipeline_mode {
	HIB_PIPELINE_COMPRESS = 1,	/* in: raw bytes -> out: chunk payload */
	HIB_PIPELINE_DECOMPRESS = 2,	/* in: verified payload -> out: raw bytes */
	HIB_PIPELINE_CUSTOM = 3,	/* transform callback */
};

struct hib_pipeline_job {
	enum hib_pipeline_mode mode;
	/* Caller's thread, in order: fill s->in (and s->chunk when decompressing).  1, 0 at end,
	 * or -errno. */
	int (*produce)(void *ud, struct hib_pipeline_slot *s);
	/* Any worker thread: HIB_PIPELINE_CUSTOM only.  0 or -errno. */
	int (*transform)(void *ud, struct hib_pipeline_slot *s);
	/* The writer thread, strictly in seq order.  0 or -errno. */
	int (*consume)(void *ud, struct hib_pipeline_slot *s);
	/* The writer thread after each consume (may be NULL): totals so far. */
	void (*progress)(void *ud, uint64_t bytes_in, uint64_t bytes_out);
	void *ud;
};

/*
 * Start @threads workers (0: the online CPUs) and the writer thread, with threads + 2 slots
 * of @chunk_size input and hib_chunk_bound(chunk_size) output bytes each.  All allocation
 * happens here.
 */
int hib_pipeline_new(unsigned int threads, size_t chunk_size, struct hib_pipeline **ret_p);
unsigned int hib_pipeline_threads(const struct hib_pipeline *p);
/* The bytes of its slot buffers (touched only while it runs: what the caller must keep free). */
size_t hib_pipeline_buffer_bytes(const struct hib_pipeline *p);
/*
 * Run @job to completion on the caller's thread (which produces).  Returns 0 or the first
 * error of any stage; on error every stage stops and the slots are recycled, so the pipeline
 * can run again.  *ret_in / *ret_out (may be NULL) get the byte totals.
 */
int hib_pipeline_run(struct hib_pipeline *p, const struct hib_pipeline_job *job,
		     uint64_t *ret_in, uint64_t *ret_out);
/* Stop and join every thread, free everything. */
void hib_pipeline_free(struct hib_pipeline *p);

typedef void (*hib_progress_fn_t)(void *ud, uint64_t bytes_in, uint64_t bytes_out);

/*
 * Read exactly @raw_bytes from @fd in chunk_size pieces, compress them on all workers and
 * append them to @w in order.  -EIO if @fd ends early, -EFBIG if it has more.
 */
int hib_pipeline_compress_fd(struct hib_pipeline *p, int fd, uint64_t raw_bytes,
			     struct hib_image_writer *w, hib_progress_fn_t progress, void *ud);
/*
 * Stream the image from @r: verify, decompress on all workers and write the raw stream to
 * @fd in order.  Returns 0 only after the FINAL record checked out.
 */
int hib_pipeline_decompress_fd(struct hib_pipeline *p, struct hib_image_reader *r, int fd,
			       hib_progress_fn_t progress, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_IMAGE_H */
