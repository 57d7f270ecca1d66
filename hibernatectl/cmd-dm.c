// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl's side of the protected filesystems (libhibernate/dm.h): which filesystems,
 * where the COW store is, the messages, the R2 check on resume and `hibernatectl check`.
 * cmd-image.c calls these at the steps of DESIGN.md section 1.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "commands.h"
#include "dm-journal.h"
#include "dm.h"
#include "image.h"
#include "macro.h"

#define PROG "hibernatectl"

struct hibctl_dm {
	struct hib_dm_set set;
	bool protected_;	/* hib_dm_protect() succeeded: abort has work to do */
	struct hib_mount mounts[HIB_MOUNTS_MAX];
	unsigned int n_mounts;
	unsigned int unprot[HIB_MOUNTS_MAX];
	unsigned int n_unprot;
	struct hib_conf conf;
};

static const char *conf_path(const struct hibctl_args *args)
{
	const char *p = args->config_path ? args->config_path : getenv("HIBERNATE_CONF");

	return p ? p : HIB_CONF_DEFAULT_PATH;
}

/* Config, mounts, selection.  Prints why not; 0 or an exit code. */
static int select_fs(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     struct hibctl_dm *d, bool quiet)
{
	char why[512] = "";
	int r;

	r = hib_conf_load(conf_path(args), &d->conf, why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": configuration refused: %s\n",
			why[0] ? why : hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	if (args->cow_path)
		snprintf(d->conf.cow, sizeof(d->conf.cow), "%s", args->cow_path);
	r = hib_scan_mounts(ctx->mountinfo_path, ctx->sys_root, d->mounts, HIB_MOUNTS_MAX,
			    &d->n_mounts);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot read the mount table: %s\n", hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	r = hib_dm_select(&d->set, &d->conf, d->mounts, d->n_mounts, d->unprot, &d->n_unprot,
			  why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": %s\n", why[0] ? why : hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	(void)quiet;
	return 0;
}

static void print_unprotected(FILE *f, const struct hibctl_dm *d, const char *prefix)
{
	unsigned int i;

	for (i = 0; i < d->n_unprot; i++) {
		const struct hib_mount *m = &d->mounts[d->unprot[i]];

		fprintf(f, "%s%s (%s on %s, %u:%u) is a read-write filesystem %s\n", prefix,
			m->mountpoint, m->fstype, m->source, m->major, m->minor,
			m->dm ? "left out of [protect] in the configuration" :
			"not on a device-mapper device: it cannot be protected");
	}
}

/* Is the image target on (or the same device as) a protected filesystem or the COW store? */
static int check_target(const struct hibctl_ctx *ctx, const struct hibctl_dm *d,
			struct hib_sink *sink, const char *path)
{
	struct stat st;
	unsigned int i;
	dev_t dev;

	if (!sink || sink->fd < 0 || fstat(sink->fd, &st) < 0)
		return 0;
	dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	for (i = 0; i < d->set.n; i++) {
		if (major(dev) == d->set.o[i].major && minor(dev) == d->set.o[i].minor) {
			fprintf(ctx->err, PROG ": the image target %s is on the protected "
				"filesystem %s (%s): writes there after the snapshot are thrown "
				"away; put the image on a raw device or an unprotected filesystem\n",
				path, d->set.o[i].mountpoint, d->set.o[i].name);
			return HIBCTL_EXIT_ERROR;
		}
	}
	if (S_ISBLK(st.st_mode) && d->set.n && major(dev) == d->set.cow_major &&
	    minor(dev) == d->set.cow_minor) {
		fprintf(ctx->err, PROG ": the image target %s is the COW store\n", path);
		return HIBCTL_EXIT_ERROR;
	}
	return 0;
}

static int probe_cow(const struct hibctl_ctx *ctx, struct hibctl_dm *d, FILE *f,
		     const char *prefix)
{
	uint32_t maj, min;
	uint64_t sectors;
	int r;

	if (!d->conf.cow[0]) {
		fprintf(f, "%sno COW store configured for the %u protected filesystem(s): set "
			"cow = DEV under [protect] in %s (or --cow DEV)\n", prefix, d->set.n,
			HIB_CONF_DEFAULT_PATH);
		return -ENOENT;
	}
	r = hib_cow_probe(d->conf.cow, &maj, &min, &sectors);
	if (r < 0) {
		fprintf(f, "%sCOW store %s: %s\n", prefix, d->conf.cow,
			r == -EBUSY ? "in use (mounted or held by another device)" :
			r == -ENOTBLK ? "not a block device" :
			r == -ENOENT ? "missing" : hib_strerror(r));
		return r;
	}
	if (sectors < (uint64_t)HIB_DM_COW_MIN_SECTORS * d->set.n) {
		fprintf(f, "%sCOW store %s is too small: %" PRIu64 " MiB for %u filesystem(s), "
			"at least %u MiB each\n", prefix, d->conf.cow, sectors / 2048, d->set.n,
			HIB_DM_COW_MIN_SECTORS / 2048);
		return -ENOSPC;
	}
	d->set.cow_major = maj;
	d->set.cow_minor = min;
	d->set.cow_sectors = sectors;
	return 0;
}

void hibctl_dm_free(struct hibctl_dm *d)
{
	if (!d)
		return;
	hib_dm_set_done(&d->set);
	free(d);
}

int hibctl_dm_prepare(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		      struct hib_sink *sink, struct hibctl_dm **ret)
{
	struct hibctl_dm *d;
	unsigned int i;
	int r;

	*ret = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return HIBCTL_EXIT_ERROR;
	hib_dm_set_init(&d->set, ctx->dm_backend);
	r = select_fs(ctx, args, d, false);
	if (r)
		goto fail;
	if (d->n_unprot) {
		print_unprotected(d->conf.allow_unprotected ? ctx->err : ctx->err, d,
				  d->conf.allow_unprotected ? PROG ": warning: " : PROG ": ");
		if (!d->conf.allow_unprotected) {
			fprintf(ctx->err, PROG ": refusing to hibernate with unprotected "
				"filesystems: their disk could change before resume (set "
				"allow-unprotected = yes in %s to go on anyway); nothing was "
				"frozen\n", conf_path(args));
			r = HIBCTL_EXIT_ERROR;
			goto fail;
		}
	}
	if (d->set.n == 0) {
		*ret = d;
		return 0;
	}
	if (probe_cow(ctx, d, ctx->err, PROG ": ") < 0) {
		fprintf(ctx->err, PROG ": nothing was frozen\n");
		r = HIBCTL_EXIT_ERROR;
		goto fail;
	}
	r = check_target(ctx, d, sink, args->path);
	if (r)
		goto fail;
	r = hib_dm_prepare(&d->set, d->conf.cow, d->set.cow_major, d->set.cow_minor,
			   d->set.cow_sectors, d->conf.chunk);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot prepare the snapshots of the protected "
			"filesystems: %s; nothing was frozen\n", hib_strerror(r));
		r = HIBCTL_EXIT_ERROR;
		goto fail;
	}
	for (i = 0; i < d->set.n; i++)
		fprintf(ctx->out, "protecting %s (%s): COW %s +%" PRIu64 " MiB, %" PRIu64
			" MiB\n", d->set.o[i].mountpoint, d->set.o[i].name, d->conf.cow,
			d->set.o[i].cow_offset / 2048, d->set.o[i].cow_sectors / 2048);
	*ret = d;
	return 0;
fail:
	hibctl_dm_free(d);
	return r;
}

int hibctl_dm_protect(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	int r;

	if (!d || d->set.n == 0)
		return 0;
	r = hib_dm_protect(&d->set);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot snapshot the protected filesystems: %s; "
			"their tables were put back and they were thawed%s\n", hib_strerror(r),
			d->set.lost & HIB_DM_LOST_LEFTOVER ? " (some helper devices are left: see "
			"above)" : "");
		return r;
	}
	d->protected_ = true;
	return 0;
}

int hibctl_dm_thaw(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_thaw(&d->set);
	if (r < 0)
		fprintf(ctx->err, PROG ": cannot thaw the protected filesystems after the "
			"snapshot: %s\n", hib_strerror(r));
	return r;
}

int hibctl_dm_check_valid(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_check_valid(&d->set);
	if (r == -ENOSPC)
		fprintf(ctx->err, PROG ": a COW store overflowed while the image was written: "
			"more was written after the snapshot than %s holds; not powering off\n",
			d->conf.cow);
	else if (r < 0)
		fprintf(ctx->err, PROG ": cannot read the snapshot status: %s\n",
			hib_strerror(r));
	return r;
}

int hibctl_dm_abort(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
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
		fprintf(ctx->err, PROG ": the COW store overflowed: the writes made after the "
			"snapshot instant are LOST; the origin holds the snapshot instant; unmount "
			"the protected filesystem and run fsck\n");
	if (d->set.lost & HIB_DM_LOST_MERGE)
		fprintf(ctx->err, PROG ": the merge back did not finish: the device stays on "
			"snapshot-merge and the kernel keeps merging (nothing is lost); see above\n");
	if (r < 0)
		fprintf(ctx->err, PROG ": undoing the snapshots: %s\n", hib_strerror(r));
	else if (!d->set.lost)
		fprintf(ctx->out, "protected filesystems: %s, helper devices removed\n", merged ?
			"writes made after the snapshot were merged back" :
			"tables put back and thawed");
	return r;
}

int hibctl_dm_resumed(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	int r;

	if (!d || !d->protected_)
		return 0;
	r = hib_dm_resumed(&d->set);
	d->protected_ = false;
	if (r < 0)
		fprintf(ctx->err, PROG ": resumed, but restoring the protected filesystems "
			"failed: %s\n", hib_strerror(r));
	else
		fprintf(ctx->out, "protected filesystems back on their own tables, thawed "
			"(the disk is at the snapshot instant)\n");
	return r;
}

int hibctl_dm_identities(struct hibctl_dm *d, struct hib_image_writer *w)
{
	struct hib_image_origin o[HIB_IMAGE_ORIGINS_MAX];
	uint32_t n = 0;

	if (!d || !d->protected_)
		return 0;
	hib_dm_identities(&d->set, o, &n);
	return hib_image_writer_set_origins(w, o, n);
}

/*
 * TEST HOOK, VM tests only (tests/vm/scenarios/dm.sh): HIBERNATE_TEST_WINDOW_WRITE=NAME makes
 * hibernate, right after the protected filesystems were thawed on the suspend side (5b),
 * write NAME (and NAME.big, 1 MiB) into the root of each protected filesystem and fsync
 * them: writes "in the window" after the snapshot instant, which resume must not keep and an
 * abort must merge back.  HIBERNATE_TEST_WINDOW_MIB=N makes NAME.big N MiB (COW overflow).
 */
void hibctl_dm_test_window(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	const char *name = getenv("HIBERNATE_TEST_WINDOW_WRITE");
	const char *mib_s = getenv("HIBERNATE_TEST_WINDOW_MIB");
	unsigned long mib = mib_s ? strtoul(mib_s, NULL, 10) : 1;
	static char block[65536];
	unsigned int i;

	if (!name || !d || !d->protected_ || strchr(name, '/'))
		return;
	memset(block, 'w', sizeof(block));
	for (i = 0; i < d->set.n; i++) {
		char path[PATH_MAX + 300], msg[128];
		unsigned long k;
		int fd, len;

		snprintf(path, sizeof(path), "%s/%s", d->set.o[i].mountpoint, name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			len = snprintf(msg, sizeof(msg), "written in the window after the "
				       "snapshot\n");
			if (write(fd, msg, (size_t)len) != len || fsync(fd) < 0)
				fprintf(ctx->err, PROG ": test hook: %s: %m\n", path);
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/%s.big", d->set.o[i].mountpoint, name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(ctx->err, PROG ": test hook: %s: %m\n", path);
			continue;
		}
		for (k = 0; k < mib * 16; k++)
			if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
				break;
		if (k < mib * 16 || fsync(fd) < 0)
			fprintf(ctx->err, PROG ": test hook: writing %s stopped after %lu KiB: "
				"%m\n", path, k * 64);
		close(fd);
		fprintf(ctx->err, PROG ": test hook: wrote %s/%s and %s.big (%lu MiB) after the "
			"snapshot\n", d->set.o[i].mountpoint, name, name, mib);
	}
}

/* ---- resume: R2 ---------------------------------------------------------------------------- */

int hibctl_dm_verify_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
			   const struct hib_image_info *info, const char *path, bool *ret_stale)
{
	struct hib_conf conf;
	char why[512];
	const char *cow;
	uint32_t i;
	int r;

	/* A merge of an interrupted hibernation waits: the disk is not the image's. */
	if (info->n_origins && hib_conf_load(conf_path(args), &conf, NULL, 0) == 0) {
		cow = args->cow_path ? args->cow_path : conf.cow;
		r = cow[0] ? hib_dm_journal_state(cow) : HIB_DM_J_NONE;
		if (r == HIB_DM_J_PROTECTED || r == HIB_DM_J_MERGING) {
			fprintf(ctx->err, PROG ": hibernation image on %s refused: the COW store %s "
				"says a later hibernation was interrupted (%s): the disk is not the "
				"image's; merging it back\n", path, cow,
				hib_dm_journal_state_name((uint32_t)r));
			*ret_stale = true;
			return HIBCTL_EXIT_BADIMAGE;
		}
	}
	for (i = 0; i < info->n_origins; i++) {
		r = hib_dm_verify_origin(ctx->dm_backend, &info->origins[i], why, sizeof(why));
		if (r < 0) {
			fprintf(ctx->err, PROG ": hibernation image on %s refused: %s; the image "
				"is stale, booting normally\n", path, why);
			return HIBCTL_EXIT_BADIMAGE;
		}
		fprintf(ctx->out, "protected device %s unchanged since hibernation\n",
			info->origins[i].name);
	}
	return 0;
}

/* ---- check ---------------------------------------------------------------------------------- */

int hibctl_cmd_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	struct hibctl_dm *d;
	struct hib_sink *sink = NULL;
	bool ok = true;
	unsigned int i;
	int r;

	if (hib_probe()) {
		fprintf(ctx->out, "ok: the kernel has freeze_processes(2)\n");
	} else {
		fprintf(ctx->out, "no: the kernel lacks freeze_processes(2) (ENOSYS): boot a "
			"kernel built from kernel-patches/\n");
		ok = false;
	}

	/* Streaming frozen tasks' pages from their frames needs swap off. */
	r = hib_swap_active(ctx->proc_root);
	if (r == 0)
		fprintf(ctx->out, "ok: swap is off: frozen tasks' pages are streamed from their "
			"frames (images of most of RAM)\n");
	else if (r > 0)
		fprintf(ctx->out, "warning: swap is on (%d area%s): every page is copied at the "
			"snapshot, so the image must fit in half of RAM; swapoff -a to stream\n", r,
			r == 1 ? "" : "s");

	d = calloc(1, sizeof(*d));
	if (!d)
		return HIBCTL_EXIT_ERROR;
	hib_dm_set_init(&d->set, ctx->dm_backend);
	r = select_fs(ctx, args, d, true);
	if (r) {
		fprintf(ctx->out, "no: cannot decide which filesystems to protect (see above)\n");
		hibctl_dm_free(d);
		return HIBCTL_EXIT_ERROR;
	}
	for (i = 0; i < d->set.n; i++)
		fprintf(ctx->out, "ok: %s is protected (device-mapper device %s)\n",
			d->set.o[i].mountpoint, d->set.o[i].name);
	if (d->n_unprot) {
		print_unprotected(ctx->out, d, d->conf.allow_unprotected ? "warning: " : "no: ");
		if (!d->conf.allow_unprotected)
			ok = false;
	}
	if (d->set.n) {
		if (probe_cow(ctx, d, ctx->out, "no: ") < 0)
			ok = false;
		else
			fprintf(ctx->out, "ok: COW store %s, %" PRIu64 " MiB\n", d->conf.cow,
				d->set.cow_sectors / 2048);
	}
	if (args->path) {
		struct hib_image_info id;
		uint64_t mem, need, have = 0;

		r = hib_sink_open(args->path, HIB_SINK_WRITE, &sink);
		if (r < 0) {
			fprintf(ctx->out, "no: image target %s: %s\n", args->path, hib_strerror(r));
			ok = false;
		} else if (hib_meminfo_total(NULL, &mem) == 0 &&
			   hib_system_identity(ctx->notes_path, ctx->machine_id_path, &id) == 0) {
			need = hib_image_worst_case(mem, id.chunk_size);
			r = hib_sink_preflight(sink, need, &have);
			if (r == -ENOSPC) {
				fprintf(ctx->out, "no: image target %s is too small: %" PRIu64
					" MiB, the worst case needs %" PRIu64 " MiB\n", args->path,
					have >> 20, need >> 20);
				ok = false;
			} else if (r < 0) {
				fprintf(ctx->out, "no: image target %s: %s\n", args->path,
					hib_strerror(r));
				ok = false;
			} else if (check_target(ctx, d, sink, args->path)) {
				fprintf(ctx->out, "no: image target %s is on a protected "
					"filesystem\n", args->path);
				ok = false;
			} else {
				fprintf(ctx->out, "ok: image target %s holds the worst case "
					"(%" PRIu64 " MiB)\n", args->path, need >> 20);
			}
		}
	} else {
		fprintf(ctx->out, "note: no image target given (--output DEV|FILE): not "
			"checked\n");
	}
	fprintf(ctx->out, "%s\n", ok ? "hibernation can run now" :
		"hibernation cannot run now");
	hib_sink_close(sink);
	hibctl_dm_free(d);
	return ok ? HIBCTL_EXIT_OK : HIBCTL_EXIT_ERROR;
}

void hibctl_dm_mark_hibernated(const struct hibctl_ctx *ctx, struct hibctl_dm *d)
{
	int r;

	if (!d || !d->protected_)
		return;
	r = hib_dm_mark_hibernated(&d->set);
	if (r < 0)
		/* The journal still says PROTECTED: a boot that does not resume merges the
		 * window writes back, as after an abort.  Not a reason to stay up. */
		fprintf(ctx->err, PROG ": warning: cannot mark the COW store's journal complete: "
			"%s\n", hib_strerror(r));
}

int hibctl_cmd_recover(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		       bool from_resume)
{
	struct hib_conf conf;
	char why[512] = "";
	const char *cow;
	int r;

	r = hib_conf_load(conf_path(args), &conf, why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": configuration refused: %s\n", why[0] ? why : hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	cow = args->cow_path ? args->cow_path : conf.cow;
	if (!cow[0]) {
		if (from_resume)
			return 0;
		fprintf(ctx->out, "no COW store configured: nothing to recover\n");
		return HIBCTL_EXIT_OK;
	}
	r = hib_dm_recover(ctx->dm_backend, cow);
	if (r < 0) {
		fprintf(ctx->err, PROG ": recovering the interrupted hibernation on %s failed: %s; "
			"do not mount the protected filesystems before it succeeds (see above)\n",
			cow, hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	if (r > 0)
		fprintf(ctx->out, "recovered: the writes of an interrupted hibernation were merged "
			"back into %d protected filesystem%s\n", r, r == 1 ? "" : "s");
	else if (!from_resume)
		fprintf(ctx->out, "nothing to recover on %s\n", cow);
	return HIBCTL_EXIT_OK;
}

unsigned int hibctl_dm_count(const struct hibctl_dm *d)
{
	return d ? d->set.n : 0;
}

/*
 * TEST HOOK, VM tests only (tests/vm/scenarios/stream.sh): HIBERNATE_TEST_POKE=PID:FILE
 * makes hibernate, on the suspend side after the snapshot (5b), send SIGUSR2 to PID (a
 * helper the policy thawed; hibstate then rewrites its memory) and wait up to 10 s for
 * FILE to appear: writes after the snapshot that the image must not contain.
 */
void hibctl_test_poke(const struct hibctl_ctx *ctx)
{
	const char *v = getenv("HIBERNATE_TEST_POKE");
	char *end;
	long pid;
	int i;

	if (!v || !*v)
		return;
	pid = strtol(v, &end, 10);
	if (pid <= 0 || *end != ':' || !end[1]) {
		fprintf(ctx->err, PROG ": test hook: HIBERNATE_TEST_POKE=%s: want PID:FILE\n", v);
		return;
	}
	if (kill((pid_t)pid, SIGUSR2) < 0) {
		fprintf(ctx->err, PROG ": test hook: kill %ld: %m\n", pid);
		return;
	}
	for (i = 0; i < 500 && access(end + 1, F_OK) < 0; i++)
		usleep(20000);
	fprintf(ctx->err, PROG ": test hook: pid %ld %s its memory after the snapshot\n", pid,
		i < 500 ? "rewrote" : "did not say it rewrote");
}
