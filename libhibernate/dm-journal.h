/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the merge journal at the start of the COW store.
 *
 * The device-mapper tables of a hibernation live in kernel memory only.  After a power cut
 * the COW store still holds the writes made after the snapshot instant, in dm-snapshot's
 * persistent format, but nothing says which origin they belong to, where their slice starts
 * or whether they must be merged back.  The journal says it: one 4 KiB block at sector 0 of
 * the COW store (the slices start at HIB_DM_JOURNAL_SECTORS), written with the states below
 * and checked by an XXH64 checksum.  hib_dm_recover() (dm.h) acts on it.
 *
 *   PROTECTED   the snapshot is taken; the image is being written.  A hibernation that does
 *               not get further is an abort: its writes are merged back (if the origin is
 *               still at the snapshot instant).
 *   MERGING     an abort is merging the writes back; the origin is half merged and must not
 *               be used before the merge completes.
 *   HIBERNATED  the image is complete and valid; the writes made after the snapshot belong
 *               to a system that resume discards: never merged.
 *   (cleared)   all zeroes: nothing to do.
 *
 * Layout (little endian): magic "HIBDMJ1\n", u32 version, u32 state, u32 chunk (sectors),
 * u32 n, then n records of name[128] uuid[128] u64 sectors u64 cow_offset u64 cow_sectors
 * u8 sb_hash[16], then u64 XXH64 of everything before it.
 */
#ifndef LIBHIBERNATE_DM_JOURNAL_H
#define LIBHIBERNATE_DM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_DM_JOURNAL_BYTES	4096u
#define HIB_DM_JOURNAL_SECTORS	128u	/* 64 KiB kept for the journal; slices start here */
#define HIB_DM_JOURNAL_VERSION	1u
#define HIB_DM_JOURNAL_MAX	8u
#define HIB_DM_JOURNAL_STR_MAX	128u

enum {
	HIB_DM_J_NONE = 0,
	HIB_DM_J_PROTECTED = 1,
	HIB_DM_J_MERGING = 2,
	HIB_DM_J_HIBERNATED = 3,
};

struct hib_dm_journal_rec {
	char name[HIB_DM_JOURNAL_STR_MAX];
	char uuid[HIB_DM_JOURNAL_STR_MAX];
	uint64_t sectors;		/* the origin's size */
	uint64_t cow_offset;		/* its slice of the COW store, sectors */
	uint64_t cow_sectors;
	uint8_t sb_hash[16];		/* identity at the snapshot instant (dm.h) */
};

struct hib_dm_journal {
	uint32_t state;			/* HIB_DM_J_* */
	uint32_t chunk;			/* sectors */
	uint32_t n;
	struct hib_dm_journal_rec o[HIB_DM_JOURNAL_MAX];
};

/* "protected", "merging", "hibernated", "none" or "?". */
const char *hib_dm_journal_state_name(uint32_t state);

/* Serialize @j into @buf (HIB_DM_JOURNAL_BYTES); @j NULL: all zeroes (cleared). */
void hib_dm_journal_encode(const struct hib_dm_journal *j, void *buf);

/*
 * Parse @len bytes at @buf.  -ENODATA: no journal (no magic: cleared or never written);
 * -EBADMSG: a journal that cannot be trusted (checksum, version, impossible fields).
 */
int hib_dm_journal_decode(const void *buf, size_t len, struct hib_dm_journal *ret);

/* Read / write (and fdatasync) the journal block of the COW store open on @fd; @buf is a
 * HIB_DM_JOURNAL_BYTES scratch buffer, so that nothing is allocated after the freeze. */
int hib_dm_journal_read(int fd, void *buf, struct hib_dm_journal *ret);
int hib_dm_journal_write(int fd, void *buf, const struct hib_dm_journal *j);

#ifdef __cplusplus
}
#endif

#endif
