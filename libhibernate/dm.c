// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device-mapper snapshots of the protected filesystems (see dm.h for the sequence).
 *
 * The sequencing talks to struct hib_dm_backend only; the backend in dm-libdm.c is the one
 * place that calls libdevmapper, and the one place that turns its 1/0 returns into -errno.
 * No udev: the library makes /dev/mapper nodes itself.  Recovery at activation, after an
 * interrupted hibernation, is in dm-recover.c.
 *
 * Rules the sequencing follows (DESIGN.md section 8):
 *  - X is never left suspended across snapshot_kernel(2): the kernel's sync would block on it.
 *    Every suspend is followed by a resume on every path, even when the reload failed.
 *  - The filesystem is frozen (FIFREEZE) while X's table is switched, so the switches use
 *    noflush + nolockfs suspends and the snapshot holds no exception at the snapshot instant.
 *  - Every helper made is recorded in the origin's state bits first, so abort tears down
 *    exactly what exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dm-internal.h"
#include "dm-journal.h"
#include "dm.h"
#include "log.h"
#include "macro.h"

/* ---- small helpers ------------------------------------------------------------------------ */

void hib_dm_one_target(struct hib_dm_table *t, uint64_t len, const char *type, const char *fmt,
		       ...)
{
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->n = 1;
	t->t[0].start = 0;
	t->t[0].length = len;
	copy_str(t->t[0].type, sizeof(t->t[0].type), type);
	va_start(ap, fmt);
	vsnprintf(t->t[0].params, sizeof(t->t[0].params), fmt, ap);
	va_end(ap);
}

void hib_dm_set_init(struct hib_dm_set *set, const struct hib_dm_backend *be)
{
	unsigned int i;

	memset(set, 0, sizeof(*set));
	set->be = be ? be : hib_dm_backend_libdm();
	set->cow_fd = -1;
	for (i = 0; i < HIB_DM_ORIGINS_MAX; i++)
		set->o[i].fd = -1;
}

void hib_dm_set_done(struct hib_dm_set *set)
{
	unsigned int i;

	if (!set)
		return;
	for (i = 0; i < HIB_DM_ORIGINS_MAX; i++) {
		if (set->o[i].fd >= 0)
			close(set->o[i].fd);
		set->o[i].fd = -1;
	}
	free(set->buf);
	set->buf = NULL;
	free(set->jbuf);
	set->jbuf = NULL;
	if (set->cow_fd >= 0)
		close(set->cow_fd);
	set->cow_fd = -1;
}

int hib_dm_add(struct hib_dm_set *set, const char *name, const char *mountpoint)
{
	struct hib_dm_origin *o;
	unsigned int i;

	if (!set || !name || !*name || !mountpoint)
		return -EINVAL;
	if (strlen(name) + sizeof("-real") > HIB_DM_NAME_MAX || strlen(mountpoint) >= PATH_MAX)
		return -ENAMETOOLONG;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->o[i].name, name) == 0)
			return -EEXIST;
	if (set->n >= HIB_DM_ORIGINS_MAX)
		return -E2BIG;
	o = &set->o[set->n++];
	copy_str(o->name, sizeof(o->name), name);
	copy_str(o->mountpoint, sizeof(o->mountpoint), mountpoint);
	snprintf(o->real, sizeof(o->real), "%s-real", name);
	snprintf(o->cow, sizeof(o->cow), "%s-cow", name);
	o->fd = -1;
	return 0;
}

/* ---- the merge journal (dm-journal.h) ----------------------------------------------------- */

/* Write what the journal must say now: @state and every origin of @set; NONE clears it. */
int hib_dm_set_journal(struct hib_dm_set *set, uint32_t state)
{
	struct hib_dm_journal j;
	unsigned int i;
	int r;

	if (set->cow_fd < 0 || !set->jbuf)
		return 0;
	memset(&j, 0, sizeof(j));
	j.state = state;
	j.chunk = set->chunk;
	j.n = set->n;
	for (i = 0; i < set->n && i < HIB_DM_JOURNAL_MAX; i++) {
		copy_str(j.o[i].name, sizeof(j.o[i].name), set->o[i].name);
		copy_str(j.o[i].uuid, sizeof(j.o[i].uuid), set->o[i].uuid);
		j.o[i].sectors = set->o[i].sectors;
		j.o[i].cow_offset = set->o[i].cow_offset;
		j.o[i].cow_sectors = set->o[i].cow_sectors;
		memcpy(j.o[i].sb_hash, set->o[i].sb_hash, 16);
	}
	r = hib_dm_journal_write(set->cow_fd, set->jbuf, state == HIB_DM_J_NONE ? NULL : &j);
	if (r < 0) {
		hib_err("dm: cannot write the merge journal (%s) on %s: %s",
			hib_dm_journal_state_name(state), set->cow_path, hib_strerror(r));
		return r;
	}
	set->jstate = state;
	return 0;
}

/* Open the COW store for the journal; refuse while an interrupted hibernation waits. */
static int journal_open(struct hib_dm_set *set, const char *cow_path)
{
	struct hib_dm_journal j;
	int r;

	if (set->cow_fd < 0) {
		set->cow_fd = open(cow_path, O_RDWR | O_CLOEXEC);
		if (set->cow_fd < 0) {
			r = negative_errno();
			hib_err("dm: cannot open the COW store %s: %s", cow_path, hib_strerror(r));
			return r;
		}
	}
	if (!set->jbuf && posix_memalign(&set->jbuf, 4096, HIB_DM_JOURNAL_BYTES) != 0) {
		set->jbuf = NULL;
		return -ENOMEM;
	}
	r = hib_dm_journal_read(set->cow_fd, set->jbuf, &j);
	if (r == -EBADMSG) {
		hib_warn("dm: the merge journal on %s is damaged; it is overwritten", cow_path);
		return 0;
	}
	if (r < 0 && r != -ENODATA) {
		hib_err("dm: cannot read the merge journal on %s: %s", cow_path, hib_strerror(r));
		return r;
	}
	if (r == 0 && (j.state == HIB_DM_J_PROTECTED || j.state == HIB_DM_J_MERGING)) {
		hib_err("dm: the COW store %s holds the writes of an interrupted hibernation "
			"(%s, %s%s): run `hibernatectl recover` to merge them back first",
			cow_path, hib_dm_journal_state_name(j.state), j.o[0].name,
			j.n > 1 ? ", ..." : "");
		return -EEXIST;
	}
	return 0;
}

/* ---- before freezing ---------------------------------------------------------------------- */

static int zero_cow_header(int fd, uint64_t offset_sectors, uint32_t chunk)
{
	_cleanup_free_ void *zero = NULL;
	size_t len = (size_t)chunk * 512;
	ssize_t n;

	zero = calloc(1, len);
	if (!zero)
		return -ENOMEM;
	n = pwrite(fd, zero, len, (off_t)(offset_sectors * 512));
	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int hib_dm_prepare(struct hib_dm_set *set, const char *cow_path, uint32_t cow_major,
		   uint32_t cow_minor, uint64_t cow_sectors, uint32_t chunk)
{
	uint64_t total = 0, off, usable;
	unsigned int i;
	int r;

	if (!set || !cow_path)
		return -EINVAL;
	if (chunk == 0)
		chunk = HIB_DM_CHUNK_DEFAULT;
	if (chunk < 8 || (chunk & (chunk - 1)))
		return -EINVAL;
	set->chunk = chunk;
	copy_str(set->cow_path, sizeof(set->cow_path), cow_path);
	set->cow_major = cow_major;
	set->cow_minor = cow_minor;
	set->cow_sectors = cow_sectors;
	if (set->n == 0)
		return 0;

	if (!set->buf && posix_memalign(&set->buf, 4096, HIB_DM_SB_BYTES) != 0) {
		set->buf = NULL;
		return -ENOMEM;
	}
	r = journal_open(set, cow_path);
	if (r < 0)
		return r;
	for (i = 0; i < set->n; i++) {
		struct hib_dm_origin *o = &set->o[i];
		struct hib_dm_info info;

		r = set->be->info(set->be->ud, o->name, NULL, &info);
		if (r < 0) {
			hib_err("dm: %s: cannot look it up: %s", o->name, hib_strerror(r));
			return r;
		}
		if (!info.exists) {
			hib_err("dm: %s: no such device-mapper device", o->name);
			return -ENOENT;
		}
		o->major = info.major;
		o->minor = info.minor;
		copy_str(o->uuid, sizeof(o->uuid), info.uuid);
		r = set->be->info(set->be->ud, o->real, NULL, &info);
		if (r == 0 && info.exists) {
			hib_err("dm: %s already exists (left over from an interrupted hibernation? "
				"merge or remove it first)", o->real);
			return -EEXIST;
		}
		r = set->be->info(set->be->ud, o->cow, NULL, &info);
		if (r == 0 && info.exists) {
			hib_err("dm: %s already exists (left over from an interrupted hibernation? "
				"merge or remove it first)", o->cow);
			return -EEXIST;
		}
		r = set->be->table(set->be->ud, o->name, &o->table);
		if (r < 0) {
			hib_err("dm: %s: cannot read its table: %s", o->name, hib_strerror(r));
			return r;
		}
		if (o->table.n == 0) {
			hib_err("dm: %s has no table", o->name);
			return -ENXIO;
		}
		if (strcmp(o->table.t[0].type, "snapshot") == 0 ||
		    strcmp(o->table.t[0].type, "snapshot-origin") == 0 ||
		    strcmp(o->table.t[0].type, "snapshot-merge") == 0) {
			hib_err("dm: %s is already a %s device; cannot protect it", o->name,
				o->table.t[0].type);
			return -EBUSY;
		}
		o->sectors = table_sectors(&o->table);
		total += o->sectors;
		if (o->fd < 0) {
			o->fd = open(o->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (o->fd < 0) {
				r = negative_errno();
				hib_err("dm: %s: cannot open its mountpoint %s: %s", o->name,
					o->mountpoint, hib_strerror(r));
				return r;
			}
		}
	}

	/* Slices proportional to the origins' sizes, chunk aligned, after the journal. */
	if (cow_sectors < HIB_DM_JOURNAL_SECTORS)
		cow_sectors = HIB_DM_JOURNAL_SECTORS;
	usable = cow_sectors - HIB_DM_JOURNAL_SECTORS;
	usable -= usable % chunk;
	off = HIB_DM_JOURNAL_SECTORS;
	for (i = 0; i < set->n; i++) {
		struct hib_dm_origin *o = &set->o[i];
		uint64_t len;

		if (i == set->n - 1)
			len = usable + HIB_DM_JOURNAL_SECTORS - off;
		else
			len = (uint64_t)((double)usable * (double)o->sectors / (double)total);
		len -= len % chunk;
		if (len < HIB_DM_COW_MIN_SECTORS || len < 4ull * chunk) {
			hib_err("dm: the COW store %s (%" PRIu64 " MiB) is too small: %s would get "
				"%" PRIu64 " KiB, at least %u MiB are needed per filesystem",
				cow_path, cow_sectors / 2048, o->name, len / 2, HIB_DM_COW_MIN_SECTORS
				/ 2048);
			return -ENOSPC;
		}
		o->cow_offset = off;
		o->cow_sectors = len;
		off += len;
		r = zero_cow_header(set->cow_fd, o->cow_offset, chunk);
		if (r < 0) {
			hib_err("dm: cannot clear the COW header on %s: %s", cow_path,
				hib_strerror(r));
			return r;
		}
	}
	return 0;
}

/* ---- the table switches ------------------------------------------------------------------- */

/*
 * Load @t on X and make it live: reload, suspend (@lockfs or noflush+nolockfs), resume.  X is
 * resumed on every path once it was suspended; if the resume fails X stays suspended and the
 * state bit says so (the caller's tear-down retries the resume).
 */
static int switch_table(struct hib_dm_set *set, struct hib_dm_origin *o,
			const struct hib_dm_table *t, bool lockfs)
{
	const struct hib_dm_backend *be = set->be;
	int r, r2;

	r = be->reload(be->ud, o->name, t);
	if (r < 0) {
		hib_err("dm: %s: loading the %s table failed: %s", o->name, t->t[0].type,
			hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_LOADED;
	r = be->suspend(be->ud, o->name, lockfs);
	if (r < 0) {
		/* Still running the old table; the loaded one is dropped by the next load or by
		 * a resume.  Nothing to resume. */
		hib_err("dm: %s: suspend failed: %s", o->name, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_SUSPENDED;
	r2 = be->resume(be->ud, o->name);
	if (r2 < 0) {
		hib_err("dm: %s: resume failed: %s", o->name, hib_strerror(r2));
		return r2;
	}
	o->state &= ~(HIB_DM_ST_SUSPENDED | HIB_DM_ST_LOADED);
	return 0;
}

static int snapshot_table(struct hib_dm_set *set, struct hib_dm_origin *o, const char *type,
			  struct hib_dm_table *t)
{
	hib_dm_one_target(t, o->sectors, type, "%u:%u %u:%u P %u", o->real_major, o->real_minor,
			  o->cow_major, o->cow_minor, set->chunk);
	return 0;
}

static int hash_origin(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	uint64_t sectors = 0;
	XXH128_hash_t h;
	int n;

	n = set->be->read_dev(set->be->ud, o->real_major, o->real_minor, set->buf,
			      HIB_DM_SB_BYTES, &sectors);
	if (n < 0) {
		hib_err("dm: %s: cannot read the superblock region: %s", o->real, hib_strerror(n));
		return n;
	}
	h = XXH3_128bits(set->buf, (size_t)n);
	memcpy(o->sb_hash, &h.high64, 8);
	memcpy(o->sb_hash + 8, &h.low64, 8);
	return 0;
}

static int protect_one(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	const struct hib_dm_backend *be = set->be;
	struct hib_dm_table *t = &set->scratch;
	struct hib_dm_info info;
	int r;

	r = be->fs_freeze(be->ud, o->fd);
	if (r < 0) {
		hib_err("dm: %s: cannot freeze the filesystem on %s (FIFREEZE): %s", o->name,
			o->mountpoint, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_FROZEN;

	hib_dm_one_target(t, o->cow_sectors, "linear", "%u:%u %" PRIu64, set->cow_major,
			  set->cow_minor, o->cow_offset);
	r = be->create(be->ud, o->cow, NULL, t, &info);
	if (r < 0) {
		hib_err("dm: cannot create %s: %s", o->cow, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_COW;
	o->cow_major = info.major;
	o->cow_minor = info.minor;

	r = be->create(be->ud, o->real, NULL, &o->table, &info);
	if (r < 0) {
		hib_err("dm: cannot create %s: %s", o->real, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_REAL;
	o->real_major = info.major;
	o->real_minor = info.minor;

	/* The identity at the snapshot instant: frozen, read through X-real. */
	r = hash_origin(set, o);
	if (r < 0)
		return r;

	snapshot_table(set, o, "snapshot", t);
	r = switch_table(set, o, t, false);
	/* Once the snapshot table was loaded X may be on it even if a later step failed. */
	if (r < 0)
		return r;
	o->state |= HIB_DM_ST_SNAP;
	hib_info("dm: %s is now a snapshot of %s (COW %s, %" PRIu64 " MiB)", o->name, o->real,
		 o->cow, o->cow_sectors / 2048);
	return 0;
}

int hib_dm_protect(struct hib_dm_set *set)
{
	unsigned int i;
	int r;

	if (!set)
		return -EINVAL;
	set->lost = 0;
	for (i = 0; i < set->n; i++) {
		r = protect_one(set, &set->o[i]);
		if (r < 0) {
			hib_dm_abort(set);
			return r;
		}
	}
	/* From here a power cut leaves writes in the COW store: say whose and where. */
	r = hib_dm_set_journal(set, HIB_DM_J_PROTECTED);
	if (r < 0) {
		hib_dm_abort(set);
		return r;
	}
	return 0;
}

int hib_dm_mark_hibernated(struct hib_dm_set *set)
{
	if (!set)
		return -EINVAL;
	if (set->jstate == HIB_DM_J_NONE)
		return 0;
	return hib_dm_set_journal(set, HIB_DM_J_HIBERNATED);
}

int hib_dm_thaw(struct hib_dm_set *set)
{
	const struct hib_dm_backend *be;
	unsigned int i;
	int r;

	if (!set)
		return -EINVAL;
	be = set->be;
	for (i = 0; i < set->n; i++) {
		struct hib_dm_origin *o = &set->o[i];

		if (!(o->state & HIB_DM_ST_FROZEN))
			continue;
		r = be->fs_thaw(be->ud, o->fd);
		if (r < 0) {
			hib_err("dm: %s: cannot thaw the filesystem on %s (FITHAW): %s", o->name,
				o->mountpoint, hib_strerror(r));
			return r;
		}
		o->state &= ~HIB_DM_ST_FROZEN;
		o->state |= HIB_DM_ST_WRITABLE;
	}
	return 0;
}

/* Parse a snapshot status: "A/T M" (0), or Invalid / Overflow / Merge failed (-ENOSPC / -EIO). */
int hib_dm_parse_snap_status(const char *s, uint64_t *alloc, uint64_t *total, uint64_t *meta)
{
	unsigned long long a, t, m;

	if (strncmp(s, "Invalid", 7) == 0 || strncmp(s, "Overflow", 8) == 0)
		return -ENOSPC;
	if (strncmp(s, "Merge failed", 12) == 0)
		return -EIO;
	if (sscanf(s, "%llu/%llu %llu", &a, &t, &m) != 3)
		return -EBADMSG;
	*alloc = a;
	*total = t;
	*meta = m;
	return 0;
}

/* Remove the helper device @name if @bit says it exists; a failure is logged and recorded. */
static void remove_helper(struct hib_dm_set *set, struct hib_dm_origin *o, const char *name,
			  unsigned int bit, int *first)
{
	const struct hib_dm_backend *be = set->be;
	int r;

	if (!(o->state & bit))
		return;
	r = be->remove(be->ud, name);
	if (r < 0) {
		hib_err("dm: cannot remove %s: %s", name, hib_strerror(r));
		set->lost |= HIB_DM_LOST_LEFTOVER;
		if (!*first)
			*first = r;
	} else {
		o->state &= ~bit;
	}
}

void hib_dm_remove_helpers(struct hib_dm_set *set, struct hib_dm_origin *o, int *first)
{
	remove_helper(set, o, o->real, HIB_DM_ST_REAL, first);
	remove_helper(set, o, o->cow, HIB_DM_ST_COW, first);
}

/* Put X's own table back (if it might be on another one), and resume X if it is suspended. */
static int restore_own_table(struct hib_dm_set *set, struct hib_dm_origin *o, bool lockfs)
{
	const struct hib_dm_backend *be = set->be;
	int r = 0;

	if (o->state & (HIB_DM_ST_SNAP | HIB_DM_ST_LOADED)) {
		r = switch_table(set, o, &o->table, lockfs);
		if (r == 0)
			o->state &= ~HIB_DM_ST_SNAP;
	}
	if (o->state & HIB_DM_ST_SUSPENDED) {
		int r2 = be->resume(be->ud, o->name);

		if (r2 == 0)
			o->state &= ~HIB_DM_ST_SUSPENDED;
		else if (!r)
			r = r2;
	}
	return r;
}

static int thaw_one(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	int r;

	if (!(o->state & HIB_DM_ST_FROZEN))
		return 0;
	r = set->be->fs_thaw(set->be->ud, o->fd);
	if (r < 0) {
		hib_err("dm: %s: cannot thaw the filesystem on %s (FITHAW): %s", o->name,
			o->mountpoint, hib_strerror(r));
		return r;
	}
	o->state &= ~HIB_DM_ST_FROZEN;
	return 0;
}

/* Merge X-cow back into the origin and wait; 0 once X runs its own table again. */
int hib_dm_merge_one(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	const struct hib_dm_backend *be = set->be;
	struct hib_dm_table *t = &set->scratch;
	char st[HIB_DM_STATUS_MAX];
	uint64_t a = 0, tot = 0, m = 0, waited = 0;
	int r;

	r = be->status(be->ud, o->name, st, sizeof(st));
	if (r == 0 && hib_dm_parse_snap_status(st, &a, &tot, &m) == -ENOSPC) {
		hib_err("dm: the COW store of %s overflowed (snapshot invalid): every write made "
			"after the snapshot instant is LOST; the origin keeps the snapshot "
			"instant, the mounted filesystem on %s no longer matches it: unmount it "
			"and run fsck", o->name, o->mountpoint);
		set->lost |= HIB_DM_LOST_OVERFLOW;
		return restore_own_table(set, o, false);
	}

	snapshot_table(set, o, "snapshot-merge", t);
	r = switch_table(set, o, t, true);
	if (r == 0)
		o->state |= HIB_DM_ST_SNAP;
	if (r < 0) {
		/* X still runs the snapshot (or is being resumed onto the merge): the window
		 * writes are safe in the COW store, which stays. */
		set->lost |= HIB_DM_LOST_MERGE;
		if (o->state & HIB_DM_ST_SUSPENDED && be->resume(be->ud, o->name) == 0)
			o->state &= ~HIB_DM_ST_SUSPENDED;
		return r;
	}
	for (;;) {
		r = be->status(be->ud, o->name, st, sizeof(st));
		if (r < 0) {
			hib_err("dm: %s: cannot read the merge status: %s", o->name,
				hib_strerror(r));
			break;
		}
		r = hib_dm_parse_snap_status(st, &a, &tot, &m);
		if (r < 0) {
			hib_err("dm: %s: merge status '%s': %s", o->name, st,
				r == -ENOSPC ? "snapshot invalid" : hib_strerror(r));
			break;
		}
		if (a == m)
			break;
		if (waited >= HIB_DM_MERGE_TIMEOUT_MS) {
			r = -ETIMEDOUT;
			hib_err("dm: %s: merge not done after %u s (%s)", o->name,
				HIB_DM_MERGE_TIMEOUT_MS / 1000, st);
			break;
		}
		be->sleep_ms(be->ud, HIB_DM_MERGE_POLL_MS);
		waited += HIB_DM_MERGE_POLL_MS;
	}
	if (r < 0) {
		/* Leave X on snapshot-merge: it shows the merged data and the kernel goes on
		 * merging; the next activation (lvm, dmsetup) completes it. */
		hib_err("dm: %s stays on snapshot-merge over %s and %s; do not remove them",
			o->name, o->real, o->cow);
		set->lost |= HIB_DM_LOST_MERGE;
		return r;
	}
	hib_info("dm: %s: merged %s back into the origin", o->name, o->cow);
	return restore_own_table(set, o, true);
}

int hib_dm_abort(struct hib_dm_set *set)
{
	unsigned int i;
	int first = 0, r;

	if (!set)
		return -EINVAL;
	/* A merge cut by a power loss must be completed before the origin is used again. */
	for (i = 0; i < set->n; i++)
		if (set->o[i].state & HIB_DM_ST_WRITABLE && set->jstate != HIB_DM_J_NONE) {
			hib_dm_set_journal(set, HIB_DM_J_MERGING);
			break;
		}
	for (i = set->n; i-- > 0;) {
		struct hib_dm_origin *o = &set->o[i];

		if (o->state & HIB_DM_ST_WRITABLE)
			/* After 5b: writes since the snapshot live in the COW store. */
			r = hib_dm_merge_one(set, o);
		else
			/* Before 5b: frozen, nothing was written; switch back, thaw. */
			r = restore_own_table(set, o, false);
		if (r < 0 && !first)
			first = r;
		r = thaw_one(set, o);
		if (r < 0 && !first)
			first = r;
		if (o->state & HIB_DM_ST_SNAP) {
			/* X still needs them: removing would fail, and must not succeed. */
			hib_err("dm: %s still uses %s and %s: left in place", o->name, o->real,
				o->cow);
			set->lost |= HIB_DM_LOST_LEFTOVER;
			continue;
		}
		hib_dm_remove_helpers(set, o, &first);
		o->state &= ~HIB_DM_ST_WRITABLE;
	}
	if (set->jstate != HIB_DM_J_NONE && !(set->lost & HIB_DM_LOST_MERGE)) {
		for (i = 0; i < set->n; i++)
			if (set->o[i].state & HIB_DM_ST_SNAP)
				break;
		if (i == set->n && hib_dm_set_journal(set, HIB_DM_J_NONE) < 0 && !first)
			first = -EIO;
	}
	return first;
}

int hib_dm_resumed(struct hib_dm_set *set)
{
	unsigned int i;
	int first = 0, r;

	if (!set)
		return -EINVAL;
	set->lost = 0;
	/* First: once X is back on its own table the window writes must never be merged. */
	r = hib_dm_set_journal(set, HIB_DM_J_NONE);
	if (r < 0)
		first = r;
	for (i = set->n; i-- > 0;) {
		struct hib_dm_origin *o = &set->o[i];

		/* The restored system is at the snapshot instant: frozen, on the snapshot. */
		o->state &= ~HIB_DM_ST_WRITABLE;
		r = restore_own_table(set, o, false);
		if (r < 0 && !first)
			first = r;
		if (r == 0)
			hib_info("dm: %s runs its own table again (snapshot instant)", o->name);
		r = thaw_one(set, o);
		if (r < 0 && !first)
			first = r;
		if (o->state & HIB_DM_ST_SNAP) {
			set->lost |= HIB_DM_LOST_LEFTOVER;
			continue;
		}
		hib_dm_remove_helpers(set, o, &first);
	}
	return first;
}
