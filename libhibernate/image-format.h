/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the hibernation image container format, the system identity it records, and
 * the encoding of its header and records (image-format.c).
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
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
#ifndef LIBHIBERNATE_IMAGE_FORMAT_H
#define LIBHIBERNATE_IMAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_IMAGE_MAGIC		"HIBIMAGE"	/* 8 bytes, no NUL */
/*
 * An image's id: 16 random bytes drawn when its writer is made, in the header (checksummed,
 * and authenticated with every chunk when encrypted).  Recorded on the machine before the
 * snapshot (state.h); resume takes only the recorded id.
 */
#define HIB_IMAGE_ID_BYTES	16

/* The checksum a header block carries (its fields, then its nonce): for tests and tools. */
uint64_t hib_image_header_csum(const uint8_t *block);
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
	/* reader (not stored): the payload checksum is the caller's to check (in the clear,
	 * hib_image_reader_defer_payload_check()), and the caller found it wrong */
	bool payload_unchecked;
	bool payload_bad;
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

/*
 * The resume reserve: memory the resume kernel needs beside the image it loads.  Restoring
 * through /dev/snapshot allocates a frame for every image page up front, in a kernel that is
 * itself running: its own text and data, the initramfs (unpacked in RAM), hibernatectl with
 * its pipeline buffers, page tables and the kernel's free-page watermarks all take memory the
 * image cannot have.  An image that leaves less than that fails to load with ENOMEM on the
 * next boot, and the session it holds is lost; hibernation refuses it before it writes
 * anything.  The default is 5% of MemTotal plus 64 MiB (113.5 MiB in a 1 GiB guest), from what
 * hibernatectl resume reports before the load (MemTotal - MemAvailable): the VM tests' busybox
 * initramfs uses 32 MiB, a Debian 12 system's (the kernel package, update-initramfs, the network
 * up for a URL target; tests/system) 59 MiB; the load itself needs 10 to 30 MiB more (tests/vm:
 * 30 MiB to spare loaded, 10 MiB ran the resume kernel out of memory).  The earlier default,
 * 5% and at least 32 MiB (49.5 MiB), let a Debian system write images it could not load.
 * hibernate.conf's resume-reserve = MiB sets it (the VM tests: 64).
 */
#define HIB_RESUME_RESERVE_PERCENT	5
#define HIB_RESUME_RESERVE_FIXED_MIB	64

/* The resume reserve in bytes for @mem_total bytes of RAM: @mib if @set, else the default. */
uint64_t hib_resume_reserve_bytes(uint64_t mem_total, bool set, unsigned int mib);

/*
 * The largest image, in pages of @page_size bytes, that a resume kernel with @mem_total bytes
 * of RAM loads with @reserve bytes to spare: MemTotal's pages minus the reserve's (rounded
 * up); 0 if the reserve leaves nothing (or @page_size is 0).
 */
uint64_t hib_resume_max_pages(uint64_t mem_total, uint64_t reserve, uint32_t page_size);

/* Encoding, for the writer, the reader and the tests.  Buffers are HIB_IMAGE_BLOCK bytes. */
void hib_image_header_encode(const struct hib_image_info *info, uint8_t *block);
void hib_chunk_encode(const struct hib_chunk *c, uint8_t rec[HIB_RECORD_SIZE]);
void hib_final_encode(const struct hib_final *f, uint8_t rec[HIB_RECORD_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_IMAGE_FORMAT_H */
