// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The protected filesystems in a hibernation (dm.h underneath): which filesystems, where the
 * COW store is, the image target's place, the steps 4, 5b, R2, R5 and the abort rows with
 * their messages, and the recovery at activation.  hibernation.c calls these.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm-journal.h"
#include "dm.h"
#include "fault.h"
#include "image.h"
#include "macro.h"
#include "stages.h"

struct hib_dm_stage {
	struct hib_dm_set set;
	bool protected_;	/* hib_dm_protect() succeeded: abort has work to do */
	struct hib_mount mounts[HIB_MOUNTS_MAX];
	unsigned int n_mounts;
	unsigned int unprot[HIB_MOUNTS_MAX];
	unsigned int n_unprot;
	char cow[PATH_MAX];
};

static const char *conf_path(const struct hib_run *run)
{
	return run->conf->path[0] ? run->conf->path : HIB_CONF_DEFAULT_PATH;
}

/* Mounts and selection.  0 or -errno (reported at @step, HIB_EV_FAIL or, @check, ERROR). */
static int select_fs(struct hib_run *run, struct hib_dm_stage *d, enum hib_step step, bool check)
{
	char why[512] = "";
	int r;

	snprintf(d->cow, sizeof(d->cow), "%s", run->conf->cow);
	r = hib_scan_mounts(run->sys.mountinfo_path, run->sys.sys_root, d->mounts, HIB_MOUNTS_MAX,
			    &d->n_mounts);
	if (r < 0) {
		if (check)
			hib_error(run, step, r, "cannot read the mount table: %s", strerror(-r));
		else
			hib_fail(run, step, r, "cannot read the mount table: %s", strerror(-r));
		return r;
	}
	r = hib_dm_select(&d->set, run->conf, d->mounts, d->n_mounts, d->unprot, &d->n_unprot,
			  why, sizeof(why));
	if (r < 0) {
		if (check)
			hib_error(run, step, r, "%s", why[0] ? why : strerror(-r));
		else
			hib_fail(run, step, r, "%s", why[0] ? why : strerror(-r));
		return r;
	}
	return 0;
}

/* Each read-write filesystem left unprotected, as a message of @level after @prefix. */
static void report_unprotected(struct hib_run *run, const struct hib_dm_stage *d,
			       enum hib_step step, enum hib_event_level level, const char *prefix)
{
	unsigned int i;

	for (i = 0; i < d->n_unprot; i++) {
		const struct hib_mount *m = &d->mounts[d->unprot[i]];

		hib_emit(run, step, level, 0, "%s%s (%s on %s, %u:%u) is a read-write filesystem %s",
			 prefix, m->mountpoint, m->fstype, m->source, m->major, m->minor,
			 m->dm ? "left out of [protect] in the configuration" :
			 "not on a device-mapper device: it cannot be protected");
	}
}

/*
 * Is the image target on (or the same device as) a protected filesystem or the COW store?
 * 0, or -EXDEV with @why.
 */
static int check_target(const struct hib_dm_stage *d, struct hib_sink *sink, const char *path,
			char *why, size_t why_size)
{
	struct stat st;
	unsigned int i;
	dev_t dev;

	if (!sink || sink->fd < 0 || fstat(sink->fd, &st) < 0)
		return 0;
	dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	for (i = 0; i < d->set.n; i++) {
		if (major(dev) == d->set.o[i].major && minor(dev) == d->set.o[i].minor) {
			snprintf(why, why_size, "the image target %s is on the protected "
				 "filesystem %s (%s): writes there after the snapshot are thrown "
				 "away; put the image on a raw device or an unprotected filesystem",
				 path, d->set.o[i].mountpoint, d->set.o[i].name);
			return -EXDEV;
		}
	}
	if (S_ISBLK(st.st_mode) && d->set.n && major(dev) == d->set.cow_major &&
	    minor(dev) == d->set.cow_minor) {
		snprintf(why, why_size, "the image target %s is the COW store", path);
		return -EXDEV;
	}
	return 0;
}

/* The COW store: 0, or -errno with @why. */
static int probe_cow(struct hib_dm_stage *d, char *why, size_t why_size)
{
	uint32_t maj, min;
	uint64_t sectors;
	int r;

	if (!d->cow[0]) {
		snprintf(why, why_size, "no COW store configured for the %u protected "
			 "filesystem(s): set cow = DEV under [protect] in %s (or --cow DEV)",
			 d->set.n, HIB_CONF_DEFAULT_PATH);
		return -ENOENT;
	}
	r = d->set.be->cow_probe ? d->set.be->cow_probe(d->set.be->ud, d->cow, &maj, &min,
							  &sectors) :
	    hib_cow_probe(d->cow, &maj, &min, &sectors);
	if (r < 0) {
		snprintf(why, why_size, "COW store %s: %s", d->cow,
			 r == -EBUSY ? "in use (mounted or held by another device)" :
			 r == -ENOTBLK ? "not a block device" :
			 r == -ENOENT ? "missing" : strerror(-r));
		return r;
	}
	if (sectors < (uint64_t)HIB_DM_COW_MIN_SECTORS * d->set.n) {
		snprintf(why, why_size, "COW store %s is too small: %" PRIu64 " MiB for %u "
			 "filesystem(s), at least %u MiB each", d->cow, sectors / 2048, d->set.n,
			 HIB_DM_COW_MIN_SECTORS / 2048);
		return -ENOSPC;
	}
	d->set.cow_major = maj;
	d->set.cow_minor = min;
	d->set.cow_sectors = sectors;
	return 0;
}

void hib_dm_stage_free(struct hib_dm_stage *d)
{
	if (!d)
		return;
	hib_dm_set_done(&d->set);
	free(d);
}

static struct hib_dm_stage *stage_new(struct hib_run *run)
{
	struct hib_dm_stage *d = calloc(1, sizeof(*d));

	if (d)
		hib_dm_set_init(&d->set, run->sys.dm_backend);
	return d;
}

int hib_dm_stage_prepare(struct hib_run *run, struct hib_sink *sink, const char *target,
			 struct hib_dm_stage **ret)
{
	char why[PATH_MAX + 512];
	struct hib_dm_stage *d;
	unsigned int i;
	int r;

	d = stage_new(run);
	if (!d)
		return hib_fail(run, HIB_STEP_PREPARE, -ENOMEM, "out of memory; nothing was frozen");
	r = select_fs(run, d, HIB_STEP_PREPARE, false);
	if (r < 0)
		goto fail;
	if (d->n_unprot) {
		if (run->conf->allow_unprotected) {
			report_unprotected(run, d, HIB_STEP_PREPARE, HIB_EV_WARNING, "warning: ");
		} else {
			report_unprotected(run, d, HIB_STEP_PREPARE, HIB_EV_ERROR, "");
			r = hib_fail(run, HIB_STEP_PREPARE, -EPERM, "refusing to hibernate with "
				     "unprotected filesystems: their disk could change before "
				     "resume (set allow-unprotected = yes in %s to go on anyway); "
				     "nothing was frozen", conf_path(run));
			goto fail;
		}
	}
	if (d->set.n == 0) {
		*ret = d;
		return 0;
	}
	r = probe_cow(d, why, sizeof(why));
	if (r < 0) {
		hib_error(run, HIB_STEP_PREPARE, r, "%s", why);
		hib_fail(run, HIB_STEP_PREPARE, r, "nothing was frozen");
		goto fail;
	}
	r = check_target(d, sink, target, why, sizeof(why));
	if (r < 0) {
		hib_fail(run, HIB_STEP_PREPARE, r, "%s", why);
		goto fail;
	}
	r = hib_dm_prepare(&d->set, d->cow, d->set.cow_major, d->set.cow_minor,
			   d->set.cow_sectors, run->conf->chunk);
	if (r < 0) {
		hib_fail(run, HIB_STEP_PREPARE, r, "cannot prepare the snapshots of the protected "
			 "filesystems: %s; nothing was frozen", strerror(-r));
		goto fail;
	}
	for (i = 0; i < d->set.n; i++)
		hib_notice(run, HIB_STEP_PREPARE, "protecting %s (%s): COW %s +%" PRIu64 " MiB, %"
			   PRIu64 " MiB", d->set.o[i].mountpoint, d->set.o[i].name, d->cow,
			   d->set.o[i].cow_offset / 2048, d->set.o[i].cow_sectors / 2048);
	*ret = d;
	return 0;
fail:
	hib_dm_stage_free(d);
	return r;
}

int hib_dm_stage_protect(struct hib_run *run, struct hib_dm_stage *d)
{
	int r;

	if (!d || d->set.n == 0)
		return 0;
	r = hib_dm_protect(&d->set);
	if (r < 0)
		return hib_fail(run, HIB_STEP_PROTECT, r, "cannot snapshot the protected "
				"filesystems: %s; their tables were put back and they were "
				"thawed%s", strerror(-r), d->set.lost & HIB_DM_LOST_LEFTOVER ?
				" (some helper devices are left: see above)" : "");
	d->protected_ = true;
	return 0;
}

int hib_dm_stage_thaw(struct hib_run *run, struct hib_dm_stage *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_thaw(&d->set);
	if (r < 0)
		hib_fail(run, HIB_STEP_FS_THAW, r, "cannot thaw the protected filesystems after "
			 "the snapshot: %s", strerror(-r));
	return r;
}

int hib_dm_stage_check_valid(struct hib_run *run, struct hib_dm_stage *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_check_valid(&d->set);
	if (r == -ENOSPC)
		hib_fail(run, HIB_STEP_WRITE, r, "a COW store overflowed while the image was "
			 "written: more was written after the snapshot than %s holds; not powering "
			 "off", d->cow);
	else if (r < 0)
		hib_fail(run, HIB_STEP_WRITE, r, "cannot read the snapshot status: %s",
			 strerror(-r));
	return r;
}

int hib_dm_stage_abort(struct hib_run *run, struct hib_dm_stage *d)
{
	bool merged = false;
	unsigned int i;
	int r;

	if (!d || !d->protected_)
		return 0;
	for (i = 0; i < d->set.n; i++)
		if (d->set.o[i].state & HIB_DM_ST_WRITABLE)
			merged = true;
	r = hib_dm_abort(&d->set);
	d->protected_ = false;
	if (d->set.lost & HIB_DM_LOST_OVERFLOW)
		hib_error(run, HIB_STEP_ROLLBACK, -ENOSPC, "the COW store overflowed: the writes "
			  "made after the snapshot instant are LOST; the origin holds the snapshot "
			  "instant; unmount the protected filesystem and run fsck");
	if (d->set.lost & HIB_DM_LOST_MERGE)
		hib_error(run, HIB_STEP_ROLLBACK, -EAGAIN, "the merge back did not finish: the "
			  "device stays on snapshot-merge and the kernel keeps merging (nothing is "
			  "lost); see above");
	if (r < 0)
		hib_error(run, HIB_STEP_ROLLBACK, r, "undoing the snapshots: %s", strerror(-r));
	else if (!d->set.lost)
		hib_notice(run, HIB_STEP_ROLLBACK, "protected filesystems: %s, helper devices "
			   "removed", merged ? "writes made after the snapshot were merged back" :
			   "tables put back and thawed");
	return r;
}

int hib_dm_stage_resumed(struct hib_run *run, struct hib_dm_stage *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_resumed(&d->set);
	d->protected_ = false;
	if (r < 0)
		hib_error(run, HIB_STEP_RESUMED, r, "resumed, but restoring the protected "
			  "filesystems failed: %s", strerror(-r));
	else
		hib_notice(run, HIB_STEP_RESUMED, "protected filesystems back on their own tables, "
			   "thawed (the disk is at the snapshot instant)");
	return r;
}

int hib_dm_stage_identities(struct hib_dm_stage *d, struct hib_image_writer *w)
{
	struct hib_image_origin o[HIB_IMAGE_ORIGINS_MAX];
	uint32_t n = 0;

	if (!d || !d->protected_)
		return 0;
	hib_dm_identities(&d->set, o, &n);
	return hib_image_writer_set_origins(w, o, n);
}

void hib_dm_stage_mark_hibernated(struct hib_run *run, struct hib_dm_stage *d)
{
	int r;

	if (!d || !d->protected_)
		return;
	r = hib_dm_mark_hibernated(&d->set);
	if (r < 0)
		/* The journal still says PROTECTED: a boot that does not resume merges the
		 * window writes back, as after an abort.  Not a reason to stay up. */
		hib_warning(run, HIB_STEP_POWEROFF, r, "warning: cannot mark the COW store's "
			    "journal complete: %s", strerror(-r));
}

unsigned int hib_dm_stage_count(const struct hib_dm_stage *d)
{
	return d ? d->set.n : 0;
}

/* Test builds: the fault file's window-write action on each protected filesystem. */
void hib_dm_stage_fault_window(struct hib_run *run, struct hib_dm_stage *d)
{
	unsigned int i;

	if (!d || !d->protected_)
		return;
	for (i = 0; i < d->set.n; i++)
		hib_fault_window_write(run, d->set.o[i].mountpoint);
}

/* ---- resume: R2 ---------------------------------------------------------------------------- */

int hib_dm_stage_verify_image(struct hib_run *run, const struct hib_image_info *info,
			      const char *path, bool *ret_stale)
{
	const char *cow = run->conf->cow;
	char why[512];
	uint32_t i;
	int r;

	/* A merge of an interrupted hibernation waits: the disk is not the image's. */
	if (info->n_origins && cow[0]) {
		r = hib_dm_journal_state(cow);
		if (r == HIB_DM_J_PROTECTED || r == HIB_DM_J_MERGING) {
			*ret_stale = true;
			return hib_fail(run, HIB_STEP_VERIFY, -ESTALE, "hibernation image on %s "
					"refused: the COW store %s says a later hibernation was "
					"interrupted (%s): the disk is not the image's; merging it "
					"back", path, cow, hib_dm_journal_state_name((uint32_t)r));
		}
	}
	for (i = 0; i < info->n_origins; i++) {
		r = hib_dm_verify_origin(run->sys.dm_backend, &info->origins[i], why, sizeof(why));
		if (r < 0)
			return hib_fail(run, HIB_STEP_VERIFY, r, "hibernation image on %s refused: "
					"%s; the image is stale, booting normally", path, why);
		hib_notice(run, HIB_STEP_VERIFY, "protected device %s unchanged since hibernation",
			   info->origins[i].name);
	}
	return 0;
}

/* ---- recover and check -------------------------------------------------------------------- */

int hib_recover(const struct hib_conf *conf, const struct hib_system *sys, bool quiet,
		const struct hib_events *ev)
{
	struct hib_conf *defaults = NULL;
	struct hib_run *run;
	int r;

	run = calloc(1, sizeof(*run));
	if (!conf)
		conf = defaults = calloc(1, sizeof(*defaults));
	if (!run || !conf) {
		free(run);
		return -ENOMEM;
	}
	hib_run_init(run, conf, NULL, sys, ev);
	if (!conf->cow[0]) {
		if (!quiet)
			hib_notice(run, HIB_STEP_RECOVER, "no COW store configured: nothing to "
				   "recover");
		r = 0;
		goto out;
	}
	r = hib_dm_recover(run->sys.dm_backend, conf->cow);
	if (r < 0)
		hib_fail(run, HIB_STEP_RECOVER, r, "recovering the interrupted hibernation on %s "
			 "failed: %s; do not mount the protected filesystems before it succeeds "
			 "(see above)", conf->cow, strerror(-r));
	else if (r > 0)
		hib_notice(run, HIB_STEP_RECOVER, "recovered: the writes of an interrupted "
			   "hibernation were merged back into %d protected filesystem%s", r,
			   r == 1 ? "" : "s");
	else if (!quiet)
		hib_notice(run, HIB_STEP_RECOVER, "nothing to recover on %s", conf->cow);
out:
	free(run);
	free(defaults);
	return r;
}

/* check: the protected filesystems and the target.  Adds to *ok. */
int hib_dm_stage_check(struct hib_run *run, const char *target, bool *ok)
{
	struct hib_dm_stage *d = stage_new(run);
	struct hib_sink *sink = NULL;
	char why[PATH_MAX + 512];
	unsigned int i;
	int r;

	if (!d)
		return -ENOMEM;
	r = select_fs(run, d, HIB_STEP_CHECK, true);
	if (r < 0) {
		hib_error(run, HIB_STEP_CHECK, r, "no: cannot decide which filesystems to protect "
			  "(see above)");
		*ok = false;
		goto out;
	}
	for (i = 0; i < d->set.n; i++)
		hib_notice(run, HIB_STEP_CHECK, "ok: %s is protected (device-mapper device %s)",
			   d->set.o[i].mountpoint, d->set.o[i].name);
	if (d->n_unprot) {
		if (run->conf->allow_unprotected) {
			report_unprotected(run, d, HIB_STEP_CHECK, HIB_EV_NOTICE, "warning: ");
		} else {
			report_unprotected(run, d, HIB_STEP_CHECK, HIB_EV_ERROR, "no: ");
			*ok = false;
		}
	}
	if (d->set.n) {
		if (probe_cow(d, why, sizeof(why)) < 0) {
			hib_error(run, HIB_STEP_CHECK, 0, "no: %s", why);
			*ok = false;
		} else {
			hib_notice(run, HIB_STEP_CHECK, "ok: COW store %s, %" PRIu64 " MiB", d->cow,
				   d->set.cow_sectors / 2048);
		}
	}
	if (target && *target) {
		struct hib_image_info id;
		uint64_t mem, need, have = 0;

		r = hib_sink_open_conf(run->conf, target, HIB_SINK_WRITE, &sink, why, sizeof(why));
		if (r < 0) {
			hib_error(run, HIB_STEP_CHECK, r, "no: image target %s: %s", target,
				  why[0] ? why : strerror(-r));
			*ok = false;
		} else if (hib_meminfo_total(NULL, &mem) == 0 &&
			   hib_system_identity(run->sys.notes_path, run->sys.machine_id_path,
					       &id) == 0) {
			need = hib_image_worst_case(mem, id.chunk_size);
			r = hib_sink_preflight(sink, need, &have);
			if (r == -ENOSPC) {
				hib_error(run, HIB_STEP_CHECK, r, "no: image target %s is too "
					  "small: %" PRIu64 " MiB, the worst case needs %" PRIu64
					  " MiB", target, have >> 20, need >> 20);
				*ok = false;
			} else if (r < 0) {
				hib_error(run, HIB_STEP_CHECK, r, "no: image target %s: %s", target,
					  strerror(-r));
				*ok = false;
			} else if (check_target(d, sink, target, why, sizeof(why)) < 0) {
				hib_error(run, HIB_STEP_CHECK, -EXDEV, "no: image target %s is on a "
					  "protected filesystem", target);
				*ok = false;
			} else {
				hib_notice(run, HIB_STEP_CHECK, "ok: image target %s holds the worst "
					   "case (%" PRIu64 " MiB)", target, need >> 20);
			}
		}
	} else {
		hib_notice(run, HIB_STEP_CHECK, "note: no image target given (--output DEV|FILE): "
			   "not checked");
	}
	r = 0;
out:
	hib_sink_close(sink);
	hib_dm_stage_free(d);
	return r;
}
