// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device-mapper snapshots of the protected filesystems (see dm.h for the sequence).
 *
 * The sequencing talks to struct hib_dm_backend only; the backend at the end of this file is
 * the one place that calls libdevmapper, and the one place that turns its 1/0 returns into
 * -errno.  No udev: the library makes /dev/mapper nodes itself.
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
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libdevmapper.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dm-journal.h"
#include "dm.h"
#include "log.h"
#include "macro.h"

/* ---- small helpers ------------------------------------------------------------------------ */

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static uint64_t table_sectors(const struct hib_dm_table *t)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (t->t[i].start + t->t[i].length > end)
			end = t->t[i].start + t->t[i].length;
	return end;
}

static void one_target(struct hib_dm_table *t, uint64_t len, const char *type, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

static void one_target(struct hib_dm_table *t, uint64_t len, const char *type, const char *fmt,
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
static int journal_set(struct hib_dm_set *set, uint32_t state)
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
	one_target(t, o->sectors, type, "%u:%u %u:%u P %u", o->real_major, o->real_minor,
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

	one_target(t, o->cow_sectors, "linear", "%u:%u %" PRIu64, set->cow_major, set->cow_minor,
		   o->cow_offset);
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
	r = journal_set(set, HIB_DM_J_PROTECTED);
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
	return journal_set(set, HIB_DM_J_HIBERNATED);
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
static int parse_snap_status(const char *s, uint64_t *alloc, uint64_t *total, uint64_t *meta)
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

static void remove_helpers(struct hib_dm_set *set, struct hib_dm_origin *o, int *first)
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
static int merge_one(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	const struct hib_dm_backend *be = set->be;
	struct hib_dm_table *t = &set->scratch;
	char st[HIB_DM_STATUS_MAX];
	uint64_t a = 0, tot = 0, m = 0, waited = 0;
	int r;

	r = be->status(be->ud, o->name, st, sizeof(st));
	if (r == 0 && parse_snap_status(st, &a, &tot, &m) == -ENOSPC) {
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
		r = parse_snap_status(st, &a, &tot, &m);
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
			journal_set(set, HIB_DM_J_MERGING);
			break;
		}
	for (i = set->n; i-- > 0;) {
		struct hib_dm_origin *o = &set->o[i];

		if (o->state & HIB_DM_ST_WRITABLE)
			/* After 5b: writes since the snapshot live in the COW store. */
			r = merge_one(set, o);
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
		remove_helpers(set, o, &first);
		o->state &= ~HIB_DM_ST_WRITABLE;
	}
	if (set->jstate != HIB_DM_J_NONE && !(set->lost & HIB_DM_LOST_MERGE)) {
		for (i = 0; i < set->n; i++)
			if (set->o[i].state & HIB_DM_ST_SNAP)
				break;
		if (i == set->n && journal_set(set, HIB_DM_J_NONE) < 0 && !first)
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
	r = journal_set(set, HIB_DM_J_NONE);
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
		remove_helpers(set, o, &first);
	}
	return first;
}

/* ---- recovery at activation (dm-journal.h) -------------------------------------------------- */

/* The origin's identity now, as hash_origin() took it at the snapshot instant. */
static int same_identity(struct hib_dm_set *set, struct hib_dm_origin *o, const uint8_t *hash)
{
	uint64_t sectors = 0;
	uint8_t now[16];
	XXH128_hash_t h;
	int n;

	n = set->be->read_dev(set->be->ud, o->major, o->minor, set->buf, HIB_DM_SB_BYTES,
			      &sectors);
	if (n < 0)
		return n;
	h = XXH3_128bits(set->buf, (size_t)n);
	memcpy(now, &h.high64, 8);
	memcpy(now + 8, &h.low64, 8);
	return sectors == o->sectors && memcmp(now, hash, 16) == 0;
}

static bool is_snapshot_type(const char *type)
{
	return strcmp(type, "snapshot") == 0 || strcmp(type, "snapshot-merge") == 0;
}

/* Find X and its state; make X-cow and X-real unless a killed hibernatectl left them. */
static int recover_setup(struct hib_dm_set *set, struct hib_dm_origin *o, uint32_t jstate,
			 const uint8_t *hash)
{
	const struct hib_dm_backend *be = set->be;
	struct hib_dm_table *t = &set->scratch;
	struct hib_dm_info info, real, cow;
	int r;

	r = be->info(be->ud, o->name, NULL, &info);
	if (r < 0 || !info.exists) {
		hib_err("dm: %s is not there: activate it (not mount it) and run recover again",
			o->name);
		return r < 0 ? r : -ENOENT;
	}
	o->major = info.major;
	o->minor = info.minor;
	r = be->table(be->ud, o->name, &o->table);
	if (r < 0 || o->table.n == 0) {
		hib_err("dm: %s: cannot read its table: %s", o->name, hib_strerror(r < 0 ? r : -ENXIO));
		return r < 0 ? r : -ENXIO;
	}
	r = be->info(be->ud, o->real, NULL, &real);
	if (r == 0)
		r = be->info(be->ud, o->cow, NULL, &cow);
	if (r < 0)
		return r;

	if (is_snapshot_type(o->table.t[0].type)) {
		/* Left on the snapshot by a killed hibernatectl: the kernel still has it all. */
		if (!real.exists || !cow.exists) {
			hib_err("dm: %s runs a %s table without %s and %s: not touching it", o->name,
				o->table.t[0].type, o->real, o->cow);
			return -EBUSY;
		}
		r = be->table(be->ud, o->real, &o->table);
		if (r < 0)
			return r;
		o->real_major = real.major;
		o->real_minor = real.minor;
		o->cow_major = cow.major;
		o->cow_minor = cow.minor;
		o->state |= HIB_DM_ST_COW | HIB_DM_ST_REAL | HIB_DM_ST_SNAP | HIB_DM_ST_WRITABLE;
		hib_info("dm: %s was left on %s over %s and %s: merging it", o->name,
			 o->table.t[0].type, o->real, o->cow);
		return 1;
	}
	/* X does not use them: left by a tear-down that failed or was cut.  Removing fails
	 * while anything holds them. */
	if (real.exists)
		o->state |= HIB_DM_ST_REAL;
	if (cow.exists)
		o->state |= HIB_DM_ST_COW;
	r = 0;
	remove_helpers(set, o, &r);
	if (r < 0) {
		hib_err("dm: %s runs its own table but %s or %s cannot be removed: remove them "
			"(dmsetup remove) and run recover again", o->name, o->real, o->cow);
		return -EEXIST;
	}
	if (info.open_count > 0) {
		hib_err("dm: %s is in use (mounted?): the writes of the interrupted hibernation must "
			"be merged before it is mounted; unmount it and run recover again", o->name);
		return -EBUSY;
	}
	if (table_sectors(&o->table) != o->sectors && jstate == HIB_DM_J_MERGING) {
		hib_err("dm: %s changed size since the hibernation: cannot complete its merge",
			o->name);
		return -ESTALE;
	}
	if (jstate == HIB_DM_J_PROTECTED) {
		r = same_identity(set, o, hash);
		if (r < 0) {
			hib_err("dm: %s: cannot read it: %s", o->name, hib_strerror(r));
			return r;
		}
		if (r == 0) {
			hib_warn("dm: %s changed since the snapshot instant (mounted or written before "
				 "this activation?): the writes of the interrupted hibernation cannot "
				 "be merged into it and are dropped", o->name);
			return 0;
		}
	}

	one_target(t, o->cow_sectors, "linear", "%u:%u %" PRIu64, set->cow_major, set->cow_minor,
		   o->cow_offset);
	r = be->create(be->ud, o->cow, NULL, t, &cow);
	if (r < 0) {
		hib_err("dm: cannot create %s: %s", o->cow, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_COW;
	o->cow_major = cow.major;
	o->cow_minor = cow.minor;
	r = be->create(be->ud, o->real, NULL, &o->table, &real);
	if (r < 0) {
		hib_err("dm: cannot create %s: %s", o->real, hib_strerror(r));
		return r;
	}
	o->state |= HIB_DM_ST_REAL | HIB_DM_ST_WRITABLE;
	o->real_major = real.major;
	o->real_minor = real.minor;
	return 1;
}

/* Merge one origin set up by recover_setup(); the helpers are removed on every path where X
 * does not use them. */
static int recover_merge(struct hib_dm_set *set, struct hib_dm_origin *o)
{
	struct hib_dm_table now;
	int first = 0, r;

	r = merge_one(set, o);
	if (r < 0 && set->be->table(set->be->ud, o->name, &now) == 0 && now.n &&
	    !is_snapshot_type(now.t[0].type))
		o->state &= ~HIB_DM_ST_SNAP;
	if (!(o->state & HIB_DM_ST_SNAP))
		remove_helpers(set, o, &first);
	return r < 0 ? r : first;
}

int hib_dm_recover(const struct hib_dm_backend *be, const char *cow_path)
{
	struct hib_dm_journal j, left;
	struct hib_dm_set *set;
	uint64_t size = 0;
	unsigned int i, merged = 0;
	bool done[HIB_DM_JOURNAL_MAX] = { false };
	struct stat st;
	int r, first = 0;

	if (!cow_path)
		return -EINVAL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	hib_dm_set_init(set, be);
	copy_str(set->cow_path, sizeof(set->cow_path), cow_path);
	set->cow_fd = open(cow_path, O_RDWR | O_CLOEXEC);
	if (set->cow_fd < 0) {
		r = negative_errno();
		hib_err("dm: cannot open the COW store %s: %s", cow_path, hib_strerror(r));
		goto out;
	}
	if (posix_memalign(&set->jbuf, 4096, HIB_DM_JOURNAL_BYTES) != 0 ||
	    posix_memalign(&set->buf, 4096, HIB_DM_SB_BYTES) != 0) {
		r = -ENOMEM;
		goto out;
	}
	r = hib_dm_journal_read(set->cow_fd, set->jbuf, &j);
	if (r == -ENODATA) {
		r = 0;
		goto out;
	}
	if (r == -EBADMSG) {
		hib_err("dm: the merge journal on %s is damaged: nothing was merged; if a "
			"hibernation was interrupted, merge by hand (hibernate.conf(5))", cow_path);
		goto out;
	}
	if (r < 0) {
		hib_err("dm: cannot read the merge journal on %s: %s", cow_path, hib_strerror(r));
		goto out;
	}
	set->jstate = j.state;
	set->chunk = j.chunk;
	if (j.state == HIB_DM_J_HIBERNATED) {
		hib_info("dm: the last hibernation completed its image: the writes made after its "
			 "snapshot are not merged (resume discards them)");
		r = journal_set(set, HIB_DM_J_NONE);
		goto out;
	}
	if (fstat(set->cow_fd, &st) < 0) {
		r = negative_errno();
		goto out;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(set->cow_fd, BLKGETSIZE64, &size) < 0) {
			r = negative_errno();
			goto out;
		}
		set->cow_major = major(st.st_rdev);
		set->cow_minor = minor(st.st_rdev);
	} else {
		size = (uint64_t)st.st_size;
	}
	hib_info("dm: %s: an interrupted hibernation (%s) left writes for %u origin(s)", cow_path,
		 hib_dm_journal_state_name(j.state), j.n);
	for (i = 0; i < j.n; i++) {
		if (j.o[i].cow_offset + j.o[i].cow_sectors > size / 512) {
			hib_err("dm: the merge journal on %s puts %s beyond the end of the device: "
				"nothing was merged", cow_path, j.o[i].name);
			r = -EBADMSG;
			goto out;
		}
		r = hib_dm_add(set, j.o[i].name, "");
		if (r < 0)
			goto out;
		copy_str(set->o[i].uuid, sizeof(set->o[i].uuid), j.o[i].uuid);
		set->o[i].sectors = j.o[i].sectors;
		set->o[i].cow_offset = j.o[i].cow_offset;
		set->o[i].cow_sectors = j.o[i].cow_sectors;
		memcpy(set->o[i].sb_hash, j.o[i].sb_hash, 16);
	}

	for (i = 0; i < set->n; i++) {
		struct hib_dm_origin *o = &set->o[i];

		r = recover_setup(set, o, j.state, j.o[i].sb_hash);
		if (r == 0) {
			done[i] = true;		/* dropped: the origin moved on */
			continue;
		}
		if (r > 0 && set->jstate != HIB_DM_J_MERGING)
			/* From the first merge on, the origins are no longer at the instant. */
			r = journal_set(set, HIB_DM_J_MERGING);
		if (r >= 0)
			r = recover_merge(set, o);
		else if (!(o->state & HIB_DM_ST_SNAP))
			remove_helpers(set, o, &first);
		if (r < 0) {
			if (!first)
				first = r;
			continue;
		}
		done[i] = true;
		merged++;
	}

	/* What is left for the next run. */
	memset(&left, 0, sizeof(left));
	left.state = set->jstate;
	left.chunk = j.chunk;
	for (i = 0; i < j.n; i++)
		if (!done[i])
			left.o[left.n++] = j.o[i];
	if (left.n == 0)
		r = journal_set(set, HIB_DM_J_NONE);
	else
		r = hib_dm_journal_write(set->cow_fd, set->jbuf, &left);
	if (r < 0 && !first)
		first = r;
	r = first < 0 ? first : (int)merged;
out:
	hib_dm_set_done(set);
	free(set);
	return r;
}

int hib_dm_journal_state(const char *cow_path)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ void *buf = NULL;
	struct hib_dm_journal j;
	int r;

	if (!cow_path)
		return -EINVAL;
	fd = open(cow_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	buf = malloc(HIB_DM_JOURNAL_BYTES);
	if (!buf)
		return -ENOMEM;
	r = hib_dm_journal_read(fd, buf, &j);
	if (r == -ENODATA)
		return HIB_DM_J_NONE;
	return r < 0 ? r : (int)j.state;
}

int hib_dm_check_valid(const struct hib_dm_set *set)
{
	char st[HIB_DM_STATUS_MAX];
	uint64_t a, t, m;
	unsigned int i;
	int r;

	if (!set)
		return -EINVAL;
	for (i = 0; i < set->n; i++) {
		const struct hib_dm_origin *o = &set->o[i];

		if (!(o->state & HIB_DM_ST_SNAP))
			continue;
		r = set->be->status(set->be->ud, o->name, st, sizeof(st));
		if (r < 0)
			return r;
		r = parse_snap_status(st, &a, &t, &m);
		if (r == -ENOSPC) {
			hib_err("dm: the COW store of %s overflowed (snapshot invalid)", o->name);
			return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void hib_dm_identities(const struct hib_dm_set *set, struct hib_image_origin *ret,
		       uint32_t *ret_n)
{
	unsigned int i;

	memset(ret, 0, HIB_IMAGE_ORIGINS_MAX * sizeof(*ret));
	for (i = 0; i < set->n && i < HIB_IMAGE_ORIGINS_MAX; i++) {
		copy_str(ret[i].name, sizeof(ret[i].name), set->o[i].name);
		copy_str(ret[i].uuid, sizeof(ret[i].uuid), set->o[i].uuid);
		ret[i].sectors = set->o[i].sectors;
		memcpy(ret[i].sb_hash, set->o[i].sb_hash, 16);
	}
	*ret_n = i;
}

int hib_dm_verify_origin(const struct hib_dm_backend *be, const struct hib_image_origin *o,
			 char *why, size_t why_size)
{
	_cleanup_free_ void *buf = NULL;
	struct hib_dm_info info;
	uint64_t sectors = 0;
	uint8_t hash[16];
	XXH128_hash_t h;
	char dummy[1];
	int r, n;

	if (!why) {
		why = dummy;
		why_size = sizeof(dummy);
	}
	if (!be)
		be = hib_dm_backend_libdm();
	why[0] = 0;
	r = be->info(be->ud, o->uuid[0] ? NULL : o->name, o->uuid[0] ? o->uuid : NULL, &info);
	if (r == 0 && !info.exists && o->uuid[0])
		r = be->info(be->ud, o->name, NULL, &info);
	if (r < 0) {
		snprintf(why, why_size, "cannot look up %s: %s", o->name, hib_strerror(r));
		return r;
	}
	if (!info.exists) {
		snprintf(why, why_size, "protected device %s%s%s is not there (activate it "
			 "before resuming)", o->name, o->uuid[0] ? ", uuid " : "", o->uuid);
		return -ENOENT;
	}
	if (posix_memalign(&buf, 4096, HIB_DM_SB_BYTES) != 0) {
		buf = NULL;
		return -ENOMEM;
	}
	n = be->read_dev(be->ud, info.major, info.minor, buf, HIB_DM_SB_BYTES, &sectors);
	if (n < 0) {
		snprintf(why, why_size, "cannot read protected device %s: %s", o->name,
			 hib_strerror(n));
		return n;
	}
	if (sectors != o->sectors) {
		snprintf(why, why_size, "protected device %s changed size since hibernation "
			 "(%" PRIu64 " -> %" PRIu64 " sectors)", o->name, o->sectors, sectors);
		return -ESTALE;
	}
	h = XXH3_128bits(buf, (size_t)n);
	memcpy(hash, &h.high64, 8);
	memcpy(hash + 8, &h.low64, 8);
	if (memcmp(hash, o->sb_hash, 16) != 0) {
		snprintf(why, why_size, "protected device %s was modified since hibernation "
			 "(its superblock region differs: mounted or written after the snapshot?)",
			 o->name);
		return -ESTALE;
	}
	return 0;
}

/* ---- the libdevmapper backend ------------------------------------------------------------- */

static int libdm_errno;

/* libdevmapper's log levels are syslog's, with flag bits above 7. */
#define LIBDM_LOG_ERR	3
#define LIBDM_LOG_WARN	4

static void libdm_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	char msg[512];
	va_list ap;

	level &= 7;
	if (level > LIBDM_LOG_WARN)
		return;		/* debug chatter */
	if (level <= LIBDM_LOG_ERR && dm_errno > 0)
		libdm_errno = dm_errno;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	hib_log(level <= LIBDM_LOG_ERR ? HIB_LOG_ERR : HIB_LOG_WARNING, "libdevmapper: %s", msg);
}

static void libdm_setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	dm_log_with_errno_init(libdm_log);
	/* No udev in an initramfs or a frozen system: the library makes the nodes itself. */
	dm_udev_set_sync_support(0);
}

static struct dm_task *task_new(int type, const char *name, const char *uuid)
{
	struct dm_task *dmt;

	libdm_setup();
	libdm_errno = 0;
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if ((name && !dm_task_set_name(dmt, name)) || (uuid && !dm_task_set_uuid(dmt, uuid))) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* libdm's 0 into -errno. */
static int task_errno(struct dm_task *dmt)
{
	int e = dmt ? dm_task_get_errno(dmt) : 0;

	if (e <= 0)
		e = libdm_errno;
	if (e <= 0)
		e = dmt ? EIO : ENOMEM;
	return -e;
}

static int task_run(struct dm_task *dmt)
{
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt))
		r = task_errno(dmt);
	return r;
}

static int task_add_table(struct dm_task *dmt, const struct hib_dm_table *t)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (!dm_task_add_target(dmt, t->t[i].start, t->t[i].length, t->t[i].type,
					t->t[i].params))
			return -ENOMEM;
	return 0;
}

static int be_info(void *ud, const char *name, const char *uuid, struct hib_dm_info *ret)
{
	struct dm_task *dmt = task_new(DM_DEVICE_INFO, name, uuid);
	struct dm_info info;
	const char *s;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = task_run(dmt);
	if (r == -ENXIO || r == -ENODEV) {
		dm_task_destroy(dmt);
		return 0;
	}
	if (r == 0 && !dm_task_get_info(dmt, &info))
		r = task_errno(dmt);
	if (r == 0 && info.exists) {
		ret->exists = true;
		ret->major = info.major;
		ret->minor = info.minor;
		ret->open_count = info.open_count;
		s = dm_task_get_name(dmt);
		copy_str(ret->name, sizeof(ret->name), s ? s : "");
		s = dm_task_get_uuid(dmt);
		copy_str(ret->uuid, sizeof(ret->uuid), s ? s : "");
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static int be_table(void *ud, const char *name, struct hib_dm_table *ret)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TABLE, name, NULL);
	uint64_t start, length;
	char *type, *params;
	void *next = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = task_run(dmt);
	if (r == 0) {
		do {
			next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
			if (!type)
				break;
			if (ret->n >= HIB_DM_TARGETS_MAX ||
			    strlen(params) >= HIB_DM_PARAMS_MAX ||
			    strlen(type) >= HIB_DM_TYPE_MAX) {
				r = -E2BIG;
				break;
			}
			ret->t[ret->n].start = start;
			ret->t[ret->n].length = length;
			copy_str(ret->t[ret->n].type, HIB_DM_TYPE_MAX, type);
			copy_str(ret->t[ret->n].params, HIB_DM_PARAMS_MAX, params);
			ret->n++;
		} while (next);
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static int be_create(void *ud, const char *name, const char *uuid, const struct hib_dm_table *t,
		     struct hib_dm_info *ret)
{
	struct dm_task *dmt = task_new(DM_DEVICE_CREATE, name, uuid);
	int r;

	if (!dmt)
		return -ENOMEM;
	r = task_add_table(dmt, t);
	if (r == 0)
		r = task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	if (r < 0)
		return r;
	r = be_info(ud, name, NULL, ret);
	if (r == 0 && !ret->exists)
		r = -ENXIO;
	return r;
}

static int be_reload(void *ud, const char *name, const struct hib_dm_table *t)
{
	struct dm_task *dmt = task_new(DM_DEVICE_RELOAD, name, NULL);
	int r;

	if (!dmt)
		return -ENOMEM;
	r = task_add_table(dmt, t);
	if (r == 0)
		r = task_run(dmt);
	dm_task_destroy(dmt);
	return r;
}

static int be_suspend(void *ud, const char *name, bool lockfs)
{
	struct dm_task *dmt = task_new(DM_DEVICE_SUSPEND, name, NULL);
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!lockfs && (!dm_task_no_flush(dmt) || !dm_task_skip_lockfs(dmt))) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	r = task_run(dmt);
	dm_task_destroy(dmt);
	return r;
}

static int be_resume(void *ud, const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_RESUME, name, NULL);
	int r = task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

static int be_remove(void *ud, const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_REMOVE, name, NULL);
	int r;

	if (!dmt)
		return -ENOMEM;
	dm_task_retry_remove(dmt);
	r = task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

static int be_status(void *ud, const char *name, char *buf, size_t size)
{
	struct dm_task *dmt = task_new(DM_DEVICE_STATUS, name, NULL);
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int r;

	r = task_run(dmt);
	if (r == 0) {
		dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
		if (!type || !params)
			r = -ENODATA;
		else
			copy_str(buf, size, params);
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static int be_fs_freeze(void *ud, int fd)
{
	return ioctl(fd, FIFREEZE, 0) < 0 ? negative_errno() : 0;
}

static int be_fs_thaw(void *ud, int fd)
{
	return ioctl(fd, FITHAW, 0) < 0 ? negative_errno() : 0;
}

/* Open block device major:minor without udev: /dev/<DEVNAME from sysfs>. */
static int open_devt(uint32_t major, uint32_t minor, int flags)
{
	char path[PATH_MAX], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major, minor);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	path[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, sizeof(path), "/dev/%s", line + 8);
			break;
		}
	}
	if (!path[0])
		return -ENODEV;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || major(st.st_rdev) != major ||
	    minor(st.st_rdev) != minor) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

static int be_read_dev(void *ud, uint32_t major, uint32_t minor, void *buf, size_t len,
		       uint64_t *ret_sectors)
{
	_cleanup_close_ int fd = -1;
	uint64_t bytes;
	size_t got = 0;

	fd = open_devt(major, minor, O_RDONLY | O_DIRECT);
	if (fd == -EINVAL)
		fd = open_devt(major, minor, O_RDONLY);
	if (fd < 0)
		return fd;
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return negative_errno();
	if (len > bytes)
		len = (size_t)bytes;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_sectors = bytes / 512;
	return (int)got;
}

static void be_sleep_ms(void *ud, unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const struct hib_dm_backend libdm_backend = {
	.info = be_info,
	.table = be_table,
	.create = be_create,
	.reload = be_reload,
	.suspend = be_suspend,
	.resume = be_resume,
	.remove = be_remove,
	.status = be_status,
	.fs_freeze = be_fs_freeze,
	.fs_thaw = be_fs_thaw,
	.read_dev = be_read_dev,
	.sleep_ms = be_sleep_ms,
	.ud = NULL,
};

const struct hib_dm_backend *hib_dm_backend_libdm(void)
{
	return &libdm_backend;
}
