// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device-mapper recovery at activation (see dm.h and dm-journal.h): after an interrupted
 * hibernation, the merge journal on the COW store says what was protected; hib_dm_recover()
 * merges the writes since the snapshot instant back.  Also the checks resume makes before
 * using an image: the snapshots still valid, the origins the image names still the same.
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
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dm-internal.h"
#include "dm-journal.h"
#include "dm.h"
#include "log.h"
#include "macro.h"

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
	hib_dm_remove_helpers(set, o, &r);
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

	hib_dm_one_target(t, o->cow_sectors, "linear", "%u:%u %" PRIu64, set->cow_major,
			  set->cow_minor, o->cow_offset);
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

	r = hib_dm_merge_one(set, o);
	if (r < 0 && set->be->table(set->be->ud, o->name, &now) == 0 && now.n &&
	    !is_snapshot_type(now.t[0].type))
		o->state &= ~HIB_DM_ST_SNAP;
	if (!(o->state & HIB_DM_ST_SNAP))
		hib_dm_remove_helpers(set, o, &first);
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
		r = hib_dm_set_journal(set, HIB_DM_J_NONE);
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
			r = hib_dm_set_journal(set, HIB_DM_J_MERGING);
		if (r >= 0)
			r = recover_merge(set, o);
		else if (!(o->state & HIB_DM_ST_SNAP))
			hib_dm_remove_helpers(set, o, &first);
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
		r = hib_dm_set_journal(set, HIB_DM_J_NONE);
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
		r = hib_dm_parse_snap_status(st, &a, &t, &m);
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
