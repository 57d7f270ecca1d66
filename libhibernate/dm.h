/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: device-mapper snapshots of the protected filesystems (DESIGN.md steps 4, 5b,
 * R2, R5 and the two abort rows).  Same conventions as hibernate.h: 0 or -errno, no printing
 * (messages go through the log callback), free functions accept NULL.
 *
 * For each protected filesystem on a dm device X the layout is lvm2's:
 *
 *   X-cow    linear over a slice of the configured COW block device
 *   X-real   X's own table (so the origin data stays reachable)
 *   X        snapshot X-real X-cow P <chunk>
 *
 * Sequencing (hibernatectl hibernate):
 *
 *   hib_dm_prepare()   before freezing: read X's table, open the mountpoint, zero the COW
 *                      headers, allocate everything
 *   hib_dm_protect()   after freeze_processes(2): FIFREEZE, create X-cow and X-real, hash
 *                      the superblock region through X-real, switch X (reload, suspend
 *                      without lockfs/flush, resume).  On failure it undoes what it did.
 *   snapshot_kernel(2)
 *   hib_dm_thaw()      suspend side (5b): FITHAW; later writes land in X-cow
 *   hib_dm_abort()     any failure after hib_dm_protect(): before 5b switch back + FITHAW,
 *                      after it merge X-cow back (snapshot-merge, wait), then restore X's
 *                      table; always removes X-real and X-cow
 *   hib_dm_resumed()   resumed system (R5): switch back (the origin is the snapshot
 *                      instant), FITHAW, remove the helpers
 *
 * Every libdevmapper call goes through struct hib_dm_backend so that the unit tests can run
 * the sequencing against a fake.
 */
#ifndef LIBHIBERNATE_DM_H
#define LIBHIBERNATE_DM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hibernate.h"
#include "image.h"
#include "conf.h"
#include "mounts.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_DM_ORIGINS_MAX	HIB_IMAGE_ORIGINS_MAX
#define HIB_DM_TARGETS_MAX	16
#define HIB_DM_PARAMS_MAX	1024
#define HIB_DM_NAME_MAX		HIB_IMAGE_ORIGIN_STR_MAX	/* 128, like DM_NAME_LEN */
#define HIB_DM_UUID_MAX		HIB_IMAGE_ORIGIN_STR_MAX
#define HIB_DM_TYPE_MAX		32
#define HIB_DM_STATUS_MAX	256
#define HIB_DM_SB_BYTES		(64u * 1024u)	/* the hashed "superblock region" */
#define HIB_DM_CHUNK_DEFAULT	8u		/* sectors, 4 KiB */
#define HIB_DM_COW_MIN_SECTORS	(8u * 2048u)	/* 8 MiB per origin at least */
#define HIB_DM_MERGE_POLL_MS	100u
#define HIB_DM_MERGE_TIMEOUT_MS	(30u * 60u * 1000u)

struct hib_dm_target {
	uint64_t start;		/* sectors */
	uint64_t length;
	char type[HIB_DM_TYPE_MAX];
	char params[HIB_DM_PARAMS_MAX];
};

struct hib_dm_table {
	unsigned int n;
	struct hib_dm_target t[HIB_DM_TARGETS_MAX];
};

struct hib_dm_info {
	bool exists;
	uint32_t major;
	uint32_t minor;
	int32_t open_count;
	char name[HIB_DM_NAME_MAX];
	char uuid[HIB_DM_UUID_MAX];
};

/* What libdevmapper (and the filesystem / block device calls) do for the sequencing. */
struct hib_dm_backend {
	/* Look up by @name, or by @uuid when @name is NULL.  A missing device is 0 with
	 * ret->exists false. */
	int (*info)(void *ud, const char *name, const char *uuid, struct hib_dm_info *ret);
	int (*table)(void *ud, const char *name, struct hib_dm_table *ret);
	/* Create, load @t and resume; *ret gets the new device's numbers. */
	int (*create)(void *ud, const char *name, const char *uuid, const struct hib_dm_table *t,
		      struct hib_dm_info *ret);
	int (*reload)(void *ud, const char *name, const struct hib_dm_table *t);
	/* @lockfs false: suspend with noflush and nolockfs. */
	int (*suspend)(void *ud, const char *name, bool lockfs);
	int (*resume)(void *ud, const char *name);
	int (*remove)(void *ud, const char *name);
	/* The status line of the first target (params only). */
	int (*status)(void *ud, const char *name, char *buf, size_t size);
	int (*fs_freeze)(void *ud, int fd);
	int (*fs_thaw)(void *ud, int fd);
	/* Read up to @len bytes from the start of block device @major:@minor; the count read.
	 * *ret_sectors gets its size. */
	int (*read_dev)(void *ud, uint32_t major, uint32_t minor, void *buf, size_t len,
			uint64_t *ret_sectors);
	void (*sleep_ms)(void *ud, unsigned int ms);
	/* Open @path as the COW store (hib_cow_probe()'s contract); NULL: hib_cow_probe(). */
	int (*cow_probe)(void *ud, const char *path, uint32_t *ret_major, uint32_t *ret_minor,
			 uint64_t *ret_sectors);
	void *ud;
};

/* The real thing: libdevmapper without udev (nodes made by the library), FIFREEZE/FITHAW. */
const struct hib_dm_backend *hib_dm_backend_libdm(void);

/* Per-origin state bits: what exists right now, so that every path can tear it down. */
enum {
	HIB_DM_ST_FROZEN = 1u << 0,	/* FIFREEZE done, not thawed */
	HIB_DM_ST_COW = 1u << 1,	/* X-cow exists */
	HIB_DM_ST_REAL = 1u << 2,	/* X-real exists */
	HIB_DM_ST_LOADED = 1u << 3,	/* an inactive table is loaded on X */
	HIB_DM_ST_SNAP = 1u << 4,	/* X is switched to snapshot (or snapshot-merge) */
	HIB_DM_ST_WRITABLE = 1u << 5,	/* thawed on top of the snapshot (after 5b) */
	HIB_DM_ST_SUSPENDED = 1u << 6,	/* X is suspended right now */
};

struct hib_dm_origin {
	char name[HIB_DM_NAME_MAX];	/* X */
	char uuid[HIB_DM_UUID_MAX];	/* "" if X has none */
	char mountpoint[PATH_MAX];
	uint32_t major, minor;
	uint64_t sectors;
	int fd;				/* the mountpoint, for FIFREEZE / FITHAW; -1 */
	struct hib_dm_table table;	/* X's own table */
	char real[HIB_DM_NAME_MAX];	/* X-real */
	char cow[HIB_DM_NAME_MAX];	/* X-cow */
	uint32_t real_major, real_minor;
	uint32_t cow_major, cow_minor;
	uint64_t cow_offset;		/* slice of the COW device, sectors */
	uint64_t cow_sectors;
	uint8_t sb_hash[16];		/* XXH128 of the first HIB_DM_SB_BYTES at the snapshot */
	unsigned int state;		/* HIB_DM_ST_* */
};

struct hib_dm_set {
	const struct hib_dm_backend *be;
	unsigned int n;
	struct hib_dm_origin o[HIB_DM_ORIGINS_MAX];
	char cow_path[PATH_MAX];
	uint32_t cow_major, cow_minor;
	uint64_t cow_sectors;
	uint32_t chunk;			/* sectors */
	void *buf;			/* HIB_DM_SB_BYTES, page aligned */
	/* What went wrong in the last abort, for the caller's message (HIB_DM_LOST_*). */
	unsigned int lost;
	/* Scratch tables, so that no step needs a big stack frame or malloc. */
	struct hib_dm_table scratch;
	/* The merge journal at the start of the COW store (dm-journal.h). */
	int cow_fd;			/* -1 */
	void *jbuf;			/* HIB_DM_JOURNAL_BYTES */
	uint32_t jstate;		/* what the journal says now (HIB_DM_J_*) */
};

/* Bits of hib_dm_set.lost. */
enum {
	HIB_DM_LOST_OVERFLOW = 1u << 0,	/* a COW store overflowed: window writes lost */
	HIB_DM_LOST_MERGE = 1u << 1,	/* a merge failed or timed out: X left on snapshot-merge */
	HIB_DM_LOST_LEFTOVER = 1u << 2,	/* a helper device could not be removed */
};

/* Zero @set and give it @be (NULL: libdevmapper). */
void hib_dm_set_init(struct hib_dm_set *set, const struct hib_dm_backend *be);
/* Release the buffer and the mountpoint fds (does not touch any device). */
void hib_dm_set_done(struct hib_dm_set *set);

/* Add origin X = dm device @name mounted on @mountpoint.  -E2BIG when full, -EEXIST twice. */
int hib_dm_add(struct hib_dm_set *set, const char *name, const char *mountpoint);

/*
 * Before freezing: look each origin up (numbers, uuid, table, size), open its mountpoint,
 * split the COW device @cow_path (@cow_major:@cow_minor, @cow_sectors) among the origins in
 * proportion to their sizes (after the journal block, dm-journal.h), zero each slice's first
 * chunk (a fresh persistent COW header) and allocate the hashing buffer.  -EEXIST (nothing
 * touched) when the journal says writes of an interrupted hibernation wait to be merged:
 * hib_dm_recover() first.  @chunk 0 means HIB_DM_CHUNK_DEFAULT.  -ENOSPC if a slice
 * would be smaller than HIB_DM_COW_MIN_SECTORS.  Nothing is created.
 */
int hib_dm_prepare(struct hib_dm_set *set, const char *cow_path, uint32_t cow_major,
		   uint32_t cow_minor, uint64_t cow_sectors, uint32_t chunk);

/* Step 4, journal PROTECTED.  On failure everything it did is undone (hib_dm_abort()). */
int hib_dm_protect(struct hib_dm_set *set);
/* Step 5b: FITHAW every origin.  On failure the caller runs hib_dm_abort(). */
int hib_dm_thaw(struct hib_dm_set *set);
/*
 * Any abort after hib_dm_protect() succeeded (or partially ran): per origin, switch back
 * (still frozen) or merge (already writable), FITHAW, remove the helpers.  Runs every step
 * it can, returns the first error; set->lost says what could not be saved.
 */
int hib_dm_abort(struct hib_dm_set *set);
/* R5, in the resumed system: clear the journal, switch back, FITHAW, remove the helpers. */
int hib_dm_resumed(struct hib_dm_set *set);
/* The image is complete: journal HIBERNATED (the window writes are never merged). */
int hib_dm_mark_hibernated(struct hib_dm_set *set);

/*
 * At activation, before the protected filesystems are mounted (and when resume restores
 * nothing): act on the journal of the COW store @cow_path.  PROTECTED (the hibernation
 * stopped before its image was complete) and MERGING (a merge was cut): merge each slice
 * back into its origin with snapshot-merge and wait -- for PROTECTED only if the origin is
 * still at the snapshot instant (same size and superblock hash), else its writes are
 * dropped with a warning.  HIBERNATED: nothing to merge.  The journal is cleared once
 * nothing is left to do.  Origins must be activated and not in use (-ENOENT / -EBUSY, the
 * journal stays).  Also takes over an origin left on snapshot or snapshot-merge with its
 * helpers by a hibernatectl that was killed.  Returns the number of origins merged (0:
 * nothing to do), or -errno (-EBADMSG: an unreadable journal, nothing touched).
 */
int hib_dm_recover(const struct hib_dm_backend *be, const char *cow_path);
/* What the journal on @cow_path says (HIB_DM_J_*; HIB_DM_J_NONE when there is none), or
 * -errno (-EBADMSG: damaged). */
int hib_dm_journal_state(const char *cow_path);

/*
 * Is every snapshot still valid (no COW overflow)?  0, -ENOSPC naming the origin in the log
 * when one is invalid/overflowed, or -errno.
 */
int hib_dm_check_valid(const struct hib_dm_set *set);

/* The identities recorded in the image header (after hib_dm_protect()). */
void hib_dm_identities(const struct hib_dm_set *set, struct hib_image_origin *ret, uint32_t *ret_n);

/*
 * R2: is the origin described by @o unchanged?  0; -ENOENT when no such dm device exists;
 * -ESTALE when its size or superblock region differs; or -errno.  @why (if set) names the
 * device and the difference.
 */
int hib_dm_verify_origin(const struct hib_dm_backend *be, const struct hib_image_origin *o,
			 char *why, size_t why_size);

/* ---- which filesystems: /proc/self/mountinfo + configuration ------------------------------- */

/*
 * Decide: fill @set with the protected mounts per @conf; every read-write block filesystem
 * left out goes into @unprot (indices into @mounts, *ret_n_unprot).  -E2BIG if too many, or a
 * configured device / mountpoint that is not a mounted read-write dm filesystem: -ENOENT
 * with its name in @why.
 */
int hib_dm_select(struct hib_dm_set *set, const struct hib_conf *conf,
		  const struct hib_mount *mounts, unsigned int n, unsigned int *unprot,
		  unsigned int *ret_n_unprot, char *why, size_t why_size);

/*
 * Open @path as the COW store: a block device not mounted or held (O_EXCL), its numbers
 * and size.  -ENOTBLK, -EBUSY (in use) or -errno.
 */
int hib_cow_probe(const char *path, uint32_t *ret_major, uint32_t *ret_minor,
		  uint64_t *ret_sectors);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_DM_H */
