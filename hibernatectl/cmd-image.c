// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl hibernate / resume / image.  hibernate prepares everything (target checked,
 * buffers and threads allocated, memory locked) before anything is frozen; after the freeze
 * every error path closes the snapshot FD and thaws.  resume verifies the whole image while
 * loading it into /dev/snapshot and invalidates it before the atomic restore.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/suspend_ioctls.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "image.h"
#include "http.h"
#include "macro.h"
#include "net-stage.h"
#include "policy-stage.h"

#define PROG "hibernatectl"

/*
 * Pages snapshot_kernel(2) keeps free for us beyond the pipeline's (and the
 * cipher's) buffers, which are faulted in after the snapshot (MCL_ONFAULT):
 * bios and page cache for the image writes.  The kernel's sizing keeps the
 * whole overhead free besides the copy: each page of it is a page less of
 * image, so keep it small.
 */
#define HIBCTL_OVERHEAD_PAGES 256	/* 1 MiB, the kernel's own SPARE_PAGES */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* ---- progress ------------------------------------------------------------------------------ */

struct progress {
	FILE *f;
	bool on;
	bool raw_is_out;	/* decompressing: the raw stream is the output */
	const char *what;
	uint64_t total;
	double start;
	double last;
};

static void progress_init(struct progress *pr, FILE *f, const char *what, bool raw_is_out)
{
	memset(pr, 0, sizeof(*pr));
	pr->f = f;
	pr->on = isatty(fileno(f));
	pr->what = what;
	pr->raw_is_out = raw_is_out;
}

static void progress_start(struct progress *pr, uint64_t total)
{
	pr->total = total;
	pr->start = pr->last = now_ms();
}

static void progress_cb(void *ud, uint64_t in, uint64_t out)
{
	struct progress *pr = ud;
	uint64_t raw = pr->raw_is_out ? out : in, comp = pr->raw_is_out ? in : out;
	double t = now_ms();

	if (!pr->on || (t - pr->last < 250 && raw < pr->total))
		return;
	pr->last = t;
	fprintf(pr->f, "\r%s: %3.0f%%  %.1f MiB -> %.1f MiB  %.1f MB/s ", pr->what,
		pr->total ? 100.0 * (double)raw / (double)pr->total : 0.0, mib(raw), mib(comp),
		t > pr->start ? (double)raw / 1e3 / (t - pr->start) : 0.0);
	if (raw >= pr->total)
		fputc('\n', pr->f);
	fflush(pr->f);
}

/* ---- hibernate ----------------------------------------------------------------------------- */

struct hib_stats {
	uint64_t pages;
	uint64_t copied;		/* data pages copied at the snapshot */
	uint64_t rss_anon_kb;		/* hibernatectl's anonymous memory at the snapshot */
	uint64_t overhead_pages;	/* kept free for the writer after the snapshot */
	uint64_t streamed;		/* data pages read from their own frames */
	uint64_t raw;
	uint64_t comp;
	uint64_t chunks;
	unsigned int threads;
	double freeze_ms;
	double snapshot_ms;
	double write_ms;
	double sync_ms;
};

static void print_summary(FILE *f, const char *target, const struct hib_stats *s)
{
	double secs = s->write_ms / 1e3;

	fprintf(f, "hibernation image written to %s\n", target);
	fprintf(f, "  %-18s %" PRIu64 "\n", "pages", s->pages);
	fprintf(f, "  %-18s %" PRIu64 " copied (%.1f MiB), %" PRIu64 " streamed from frames\n",
		"data pages", s->copied, mib(s->copied * 4096), s->streamed);
	fprintf(f, "  %-18s %.1f MiB anonymous at the snapshot (copied), %.1f MiB kept free "
		"for its buffers\n", "writer memory", s->rss_anon_kb / 1024.0,
		mib(s->overhead_pages * 4096));
	fprintf(f, "  %-18s %" PRIu64 " (%.1f MiB)\n", "bytes in (raw)", s->raw, mib(s->raw));
	fprintf(f, "  %-18s %" PRIu64 " (%.1f MiB)\n", "bytes out", s->comp, mib(s->comp));
	fprintf(f, "  %-18s %.2f\n", "ratio", s->comp ? (double)s->raw / (double)s->comp : 0.0);
	fprintf(f, "  %-18s %.1f (raw), %.1f (written)\n", "MB/s",
		secs > 0 ? (double)s->raw / 1e6 / secs : 0.0,
		secs > 0 ? (double)s->comp / 1e6 / secs : 0.0);
	fprintf(f, "  %-18s %" PRIu64 " on %u threads\n", "chunks", s->chunks, s->threads);
	fprintf(f, "  %-18s %10s\n", "step", "ms");
	fprintf(f, "  %-18s %10.1f\n", "freeze", s->freeze_ms);
	fprintf(f, "  %-18s %10.1f\n", "snapshot", s->snapshot_ms);
	fprintf(f, "  %-18s %10.1f\n", "write", s->write_ms);
	fprintf(f, "  %-18s %10.1f\n", "sync", s->sync_ms);
	fprintf(f, "  %-18s %10.1f\n", "total",
		s->freeze_ms + s->snapshot_ms + s->write_ms + s->sync_ms);
	fprintf(f, "HIBERNATE-STATS pages=%" PRIu64 " raw=%" PRIu64 " compressed=%" PRIu64
		" chunks=%" PRIu64 " threads=%u freeze_ms=%.1f snapshot_ms=%.1f write_ms=%.1f"
		" sync_ms=%.1f copied=%" PRIu64 " streamed=%" PRIu64 "\n", s->pages, s->raw,
		s->comp, s->chunks, s->threads, s->freeze_ms, s->snapshot_ms, s->write_ms,
		s->sync_ms, s->copied, s->streamed);
}

/* RssAnon of /proc/self/status in kB (0 if unknown); no allocation, tasks are frozen. */
static uint64_t self_rss_anon_kb(void)
{
	static char buf[4096];
	unsigned long long kb;
	ssize_t n;
	char *p;
	int fd;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "\nRssAnon:");
	if (!p || sscanf(p + 9, " %llu", &kb) != 1)
		return 0;
	return kb;
}

static const char *snapshot_strerror(int r)
{
	switch (-r) {
	case EPERM:
		return "permission denied: needs CAP_SYS_ADMIN, and hibernation must be available "
		       "(not locked down, no 'nohibernate')";
	case ENOSYS:
		return "this kernel lacks snapshot_kernel(2): boot a kernel built from "
		       "kernel-patches/";
	case EBUSY:
		return "another snapshot is in progress";
	case ENOMEM:
		return "not enough free memory for the snapshot";
	case EINVAL:
		return "the kernel rejected the arguments (kernel and hibernatectl out of step?)";
	}
	return hib_strerror(r);
}

static void sink_open_error(FILE *f, const char *path, int r, bool writing)
{
	switch (-r) {
	case ENOENT:
		/* Under /dev a missing name is a missing device, never a new file. */
		fprintf(f, PROG ": %s does not exist%s\n", path,
			!writing ? "" : strncmp(path, "/dev/", 5) == 0 ? " (no such device)" :
			" (nor does its directory)");
		break;
	case EROFS:
		fprintf(f, PROG ": %s is read-only\n", path);
		break;
	case EINVAL:
		fprintf(f, PROG ": %s is neither a block device nor a regular file\n", path);
		break;
	default:
		fprintf(f, PROG ": cannot open %s: %s\n", path, hib_strerror(r));
	}
}

/*
 * TEST HOOK, for the VM tests only (tests/vm/scenarios/image-reject.sh): if the environment
 * variable HIBERNATE_TEST_BUILD_ID is set, the image header gets its value (hex, 1 to
 * HIB_BUILD_ID_MAX bytes) as the kernel build id instead of the running kernel's, so that a
 * single boot can make an image "from another kernel build" and check that resume refuses it.
 * Only the writer reads it; resume always compares with the running kernel's real build id.
 * 0 if unset, 1 if applied, -EINVAL if malformed (hibernate then refuses to start).
 */
int hibctl_test_build_id(const char *hex, struct hib_image_info *id)
{
	uint8_t b[HIB_BUILD_ID_MAX];
	size_t i, n;

	if (!hex)
		return 0;
	n = strlen(hex);
	if (n == 0 || n % 2 || n / 2 > HIB_BUILD_ID_MAX)
		return -EINVAL;
	for (i = 0; i < n; i += 2) {
		char byte[3] = { hex[i], hex[i + 1], 0 }, *end;

		if (!isxdigit((unsigned char)byte[0]) || !isxdigit((unsigned char)byte[1]))
			return -EINVAL;
		b[i / 2] = (uint8_t)strtoul(byte, &end, 16);
	}
	memset(id->build_id, 0, sizeof(id->build_id));
	memcpy(id->build_id, b, n / 2);
	id->build_id_len = (uint32_t)(n / 2);
	return 1;
}

/*
 * The key of --key-file / --passphrase-file (or of the configuration's [image]) into *ret_key
 * (NULL without either).  0, or prints why not and returns the exit code.
 */
static int load_key(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		    struct hib_image_key **ret_key)
{
	struct hib_image_key *k = NULL;
	const char *path;
	bool pass;
	int r;

	*ret_key = NULL;
	/* --key-file / --passphrase-file, else [image] in hibernate.conf */
	r = hibctl_key_source(ctx, args, &path, &pass);
	if (r)
		return r;
	if (!path)
		return 0;
	if (!pass)
		r = hib_image_key_from_file(path, &k);
	else
		r = hib_image_key_from_passphrase_file(path, &k);
	if (r == -EINVAL) {
		fprintf(ctx->err, PROG ": %s: %s\n", path, !pass ?
			"not a key: expected 32 raw bytes or 64 hex digits" :
			"no passphrase: expected one non-empty line (at most 1023 bytes)");
		return HIBCTL_EXIT_ERROR;
	}
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot read %s: %s\n", path, hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	*ret_key = k;
	return 0;
}

/* hibernate --test=dm|snapshot: the stage is reached; hold it, the caller rolls back. */
static void test_hold(const struct hibctl_ctx *ctx, const char *stage, const char *what)
{
	fprintf(ctx->out, "test=%s: %s; holding 2 s, then rolling back\n", stage, what);
	fflush(ctx->out);
	sleep(2);
}

int hibctl_cmd_hibernate(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_(hib_image_key_freep) struct hib_image_key *key = NULL;
	struct hib_image_writer *w = NULL;
	const char *fail_at = getenv("HIBERNATE_TEST_FAIL");
	struct hibctl_dm *dm = NULL;
	struct hib_pipeline *p = NULL;
	struct hibctl_policy_stage *pol = NULL;
	struct hib_sink *sink = NULL;
	struct hib_refusals refusals = {};
	struct snapshot_kernel_args sk = {};
	struct hib_image_info id;
	struct hib_stats st = {};
	struct hib_final totals;
	struct progress pr;
	char meminfo[PATH_MAX];
	uint64_t mem, need, have = 0;
	bool frozen = false, locked = false, stream;
	/* --test=dm|snapshot: no target, no image writer; --output is not touched. */
	bool dry = args->test != HIBCTL_TEST_NONE;
	int r, ret = HIBCTL_EXIT_ERROR, snap_fd = -1;
	double t0, t1;

	if (args->test == HIBCTL_TEST_FREEZE)
		return hibctl_hibernate_test_freeze(ctx, args);

	/* 1. Everything that can fail or allocate, before anything is frozen. */
	snprintf(meminfo, sizeof(meminfo), "%s/meminfo",
		 ctx->proc_root ? ctx->proc_root : HIB_PROC_DEFAULT_ROOT);
	r = hib_meminfo_total(meminfo, &mem);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot read MemTotal from %s: %s\n", meminfo,
			hib_strerror(r));
		goto out;
	}
	r = hib_system_identity(ctx->notes_path, ctx->machine_id_path, &id);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot identify the running kernel: %s\n",
			hib_strerror(r));
		goto out;
	}
	r = hibctl_test_build_id(getenv("HIBERNATE_TEST_BUILD_ID"), &id);
	if (r < 0) {
		fprintf(ctx->err, PROG ": HIBERNATE_TEST_BUILD_ID (a test hook) must be 1 to %d "
			"bytes of hex; nothing was frozen\n", HIB_BUILD_ID_MAX);
		goto out;
	} else if (r > 0) {
		char bid[2 * HIB_BUILD_ID_MAX + 1];

		hib_build_id_hex(&id, bid, sizeof(bid));
		fprintf(ctx->err, PROG ": test hook: writing kernel build id %s into the image "
			"header (HIBERNATE_TEST_BUILD_ID)\n", bid);
	}
	r = dry ? 0 : hibctl_sink_open(ctx, args, args->path, HIB_SINK_WRITE, &sink);
	if (r < 0) {
		sink_open_error(ctx->err, args->path, r, true);
		fprintf(ctx->err, PROG ": nothing was frozen\n");
		goto out;
	}
	need = hib_image_worst_case(mem, id.chunk_size);
	r = dry ? 0 : hib_sink_preflight(sink, need, &have);
	if (r == -ENOSPC) {
		fprintf(ctx->err, PROG ": %s is too small: it holds %" PRIu64 " bytes (%.1f MiB), "
			"the worst case image of %.1f MiB of RAM needs %" PRIu64 " bytes (%.1f MiB); "
			"nothing was frozen\n", args->path, have, mib(have), mib(mem), need,
			mib(need));
		goto out;
	} else if (r < 0) {
		fprintf(ctx->err, PROG ": %s: %s; nothing was frozen\n", args->path,
			hib_strerror(r));
		goto out;
	}
	/* The protected filesystems and their COW store (cmd-dm.c); nothing is created yet. */
	ret = hibctl_dm_prepare(ctx, args, sink, &dm);
	if (ret)
		goto out;
	/* The thaw policy, the mounts to sync and the sync worker (steps 3, 3b). */
	ret = hibctl_policy_stage_prepare(ctx, args, &pol);
	if (ret)
		goto out;
	ret = dry ? 0 : load_key(ctx, args, &key);
	if (ret)
		goto out;
	ret = HIBCTL_EXIT_ERROR;
	r = dry ? 0 : hib_image_writer_new(sink, &id, &w);
	if (r >= 0 && key)
		r = hib_image_writer_set_key(w, key);
	if (r >= 0 && !dry)
		r = hib_pipeline_new(args->threads, id.chunk_size, &p);
	if (r >= 0)
		r = hib_refusals_alloc(&refusals, HIB_REFUSALS_DEFAULT_MAX);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot prepare the image writer: %s; nothing was "
			"frozen\n", hib_strerror(r));
		goto out;
	}
	st.threads = hib_pipeline_threads(p);
	/*
	 * Frozen tasks' pages are streamed from their frames (images of most
	 * of RAM) when swap is off; the kernel refuses it with swap on.
	 */
	r = hib_swap_active(ctx->proc_root);
	stream = !args->no_stream && r == 0;
	if (r > 0 && !args->no_stream)
		fprintf(ctx->err, PROG ": swap is on: every page is copied at the snapshot, so the "
			"image must fit in half of RAM\n");
	progress_init(&pr, ctx->err, "writing image", false);
	if (!ctx->no_mlock) {
		/*
		 * Lock what is resident and whatever is faulted in later, but do not populate
		 * the buffers now: a page touched only after the snapshot is not in the image,
		 * where a pre-faulted empty buffer would be copied (and cost twice).
		 */
		if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0) {
			r = -errno;
			fprintf(ctx->err, PROG ": cannot lock memory (mlockall): %s; nothing was "
				"frozen\n", hib_strerror(r));
			goto out;
		}
		locked = true;
	}
	fflush(ctx->out);
	fflush(ctx->err);

	/* 2. Freeze, snapshot. */
	t0 = now_ms();
	r = hibctl_policy_stage_freeze(ctx, pol, args->timeout_ms, &refusals);
	t1 = now_ms();
	st.freeze_ms = t1 - t0;
	if (r < 0) {
		ret = hibctl_exit_code(r);
		goto out;
	}
	frozen = true;

	/* Steps 3, 3b: thaw the policy's helpers, sync every filesystem with a deadline. */
	r = hibctl_policy_stage_run(ctx, pol);
	if (r < 0) {
		fprintf(ctx->err, PROG ": everything was thawed again\n");
		goto out;
	}

	/* Step 4: freeze the protected filesystems and switch them to dm snapshots. */
	r = hibctl_dm_protect(ctx, dm);
	if (r < 0) {
		fprintf(ctx->err, PROG ": everything was thawed again\n");
		goto out;
	}
	/* TEST HOOK (tests/vm/scenarios/dm.sh): an abort between step 4 and the snapshot. */
	if (fail_at && strcmp(fail_at, "snapshot") == 0) {
		fprintf(ctx->err, PROG ": test hook: failing before snapshot_kernel "
			"(HIBERNATE_TEST_FAIL=snapshot); everything was thawed again\n");
		goto out;
	}
	if (args->test == HIBCTL_TEST_DM) {
		test_hold(ctx, "dm", "the protected filesystems are frozen on their snapshots");
		ret = HIBCTL_EXIT_OK;
		goto out;
	}

	/*
	 * The pipeline's and the sink's buffers are faulted in after the snapshot
	 * (MCL_ONFAULT): keep room.
	 */
	sk.overhead_pages = HIBCTL_OVERHEAD_PAGES + hib_pipeline_buffer_bytes(p) / 4096 +
			    (key ? 2 * (hib_chunk_bound(id.chunk_size) + HIB_CRYPTO_CHUNK_EXTRA) / 4096 : 0) +
			    (sink ? (sink->write_buffer_bytes + 4095) / 4096 : 0);
	st.overhead_pages = sk.overhead_pages;
	st.rss_anon_kb = self_rss_anon_kb();
	if (stream)
		sk.flags |= SNAPSHOT_KERNEL_STREAM;
	r = hib_snapshot_kernel(&sk);
	t0 = now_ms();
	st.snapshot_ms = t0 - t1;
	if (r < 0) {
		fprintf(ctx->err, PROG ": snapshot_kernel: %s; everything was thawed again\n",
			snapshot_strerror(r));
		ret = hibctl_exit_code(r);
		goto out;
	}
	if (sk.resumed) {
		/* R5: the protected filesystems back on their own tables, then every task. */
		hibctl_dm_resumed(ctx, dm);
		r = hib_thaw_all();
		frozen = false;
		if (r < 0)
			fprintf(ctx->err, PROG ": thaw all: %s\n", hib_strerror(r));
		fprintf(ctx->out, "resumed from hibernation image\n");
		ret = r < 0 ? HIBCTL_EXIT_ERROR : HIBCTL_EXIT_OK;
		goto out;
	}
	snap_fd = sk.fd;
	if (snap_fd < 0 || sk.image_pages == 0 || sk.image_pages > HIB_IMAGE_PAGES_MAX) {
		fprintf(ctx->err, PROG ": snapshot_kernel returned fd %d and %llu pages; everything "
			"was thawed again\n", sk.fd, (unsigned long long)sk.image_pages);
		goto out;
	}
	st.pages = sk.image_pages;
	st.raw = sk.image_pages * id.page_size;

	/* Step 5b: thaw the protected filesystems; later writes land in the COW stores. */
	r = hibctl_dm_thaw(ctx, dm);
	if (r < 0) {
		fprintf(ctx->err, PROG ": everything was thawed again\n");
		goto out;
	}
	hibctl_dm_test_window(ctx, dm);
	hibctl_test_poke(ctx);
	if (args->test == HIBCTL_TEST_SNAPSHOT) {
		char what[160];

		(void)hib_snapshot_fd_stats(snap_fd, &st.copied, &st.streamed);
		snprintf(what, sizeof(what), "image of %llu pages taken (%" PRIu64 " copied, %"
			 PRIu64 " streamed from frames), not written",
			 (unsigned long long)sk.image_pages, st.copied, st.streamed);
		test_hold(ctx, "snapshot", what);
		ret = HIBCTL_EXIT_OK;
		goto out;
	}
	r = hibctl_dm_identities(dm, w);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot record the protected origins: %s; everything "
			"was thawed again\n", hib_strerror(r));
		goto out;
	}
	/* TEST HOOK (tests/vm/scenarios/dm.sh): the image write fails after step 5b. */
	if (fail_at && strcmp(fail_at, "write") == 0) {
		fprintf(ctx->err, PROG ": test hook: failing the image write "
			"(HIBERNATE_TEST_FAIL=write); everything was thawed again\n");
		goto out;
	}
	(void)hib_snapshot_fd_stats(snap_fd, &st.copied, &st.streamed);

	/* 3. Stream the image through the pipeline into the sink. */
	r = hib_image_writer_begin(w, sk.image_pages, (uint64_t)time(NULL));
	if (r >= 0) {
		progress_start(&pr, st.raw);
		r = hib_pipeline_compress_fd(p, snap_fd, st.raw, w, progress_cb, &pr);
	}
	t1 = now_ms();
	st.write_ms = t1 - t0;
	if (r < 0) {
		fprintf(ctx->err, PROG ": writing the image to %s failed at offset %" PRIu64 ": %s; "
			"everything was thawed again\n", args->path, hib_image_writer_offset(w),
			hib_strerror(r));
		goto out;
	}
	/* A COW store that overflowed during the write lost writes: do not power off. */
	r = hibctl_dm_check_valid(ctx, dm);
	if (r < 0)
		goto out;
	r = hib_image_writer_finish(w);
	st.sync_ms = now_ms() - t1;
	if (r < 0) {
		fprintf(ctx->err, PROG ": finishing the image on %s failed: %s; everything was "
			"thawed again\n", args->path, hib_strerror(r));
		goto out;
	}
	hib_image_writer_totals(w, &totals);
	st.comp = totals.comp_bytes;
	st.chunks = totals.chunks;
	close(snap_fd);
	snap_fd = -1;

	/* 4. Power off, or thaw for testing. */
	if (args->no_poweroff) {
		/* Abort after 5b: merge the writes made since the snapshot back. */
		int rdm = hibctl_dm_abort(ctx, dm);

		/* The protected filesystems moved on: never resume this image. */
		if (hibctl_dm_count(dm)) {
			r = hib_image_invalidate(sink);
			if (r < 0)
				fprintf(ctx->err, PROG ": cannot invalidate the image on %s: %s; do "
					"not resume from it\n", args->path, hib_strerror(r));
			else
				fprintf(ctx->out, "the image was invalidated: the protected "
					"filesystems are no longer at its snapshot instant\n");
		}

		r = hib_thaw_all();
		frozen = false;
		if (r < 0) {
			fprintf(ctx->err, PROG ": thaw all: %s\n", hib_strerror(r));
			goto out;
		}
		print_summary(ctx->out, args->path, &st);
		fprintf(ctx->out, "not powering off (--no-poweroff): everything was thawed again\n");
		ret = rdm < 0 ? HIBCTL_EXIT_ERROR : HIBCTL_EXIT_OK;
		goto out;
	}
	/* The image is valid: a boot that does not resume must not merge the window writes. */
	hibctl_dm_mark_hibernated(ctx, dm);
	print_summary(ctx->out, args->path, &st);
	fprintf(ctx->out, "powering off\n");
	fflush(ctx->out);
	fflush(ctx->err);
	sync();
	reboot(RB_POWER_OFF);
	r = -errno;
	/* Still here: a valid image must not outlive a system that keeps running. */
	fprintf(ctx->err, PROG ": power-off failed: %s; invalidating the image and thawing\n",
		hib_strerror(r));
	r = hib_image_invalidate(sink);
	if (r < 0)
		fprintf(ctx->err, PROG ": cannot invalidate the image on %s: %s; do not resume "
			"from it\n", args->path, hib_strerror(r));
out:
	if (snap_fd >= 0)
		close(snap_fd);
	/* Any abort: switch back (before 5b) or merge back (after), remove the helpers. */
	hibctl_dm_abort(ctx, dm);
	if (frozen) {
		r = hib_thaw_all();
		if (r < 0) {
			fprintf(ctx->err, PROG ": thaw all: %s\n", hib_strerror(r));
			ret = HIBCTL_EXIT_ERROR;
		} else if (dry && ret == HIBCTL_EXIT_OK) {
			fprintf(ctx->out, "everything was thawed again\n");
		}
	}
	if (locked)
		munlockall();
	hib_pipeline_free(p);
	hib_image_writer_free(w);
	hib_sink_close(sink);
	hib_refusals_free(&refusals);
	hibctl_dm_free(dm);
	hibctl_policy_stage_free(pol);
	return ret;
}

/* ---- opening an image ---------------------------------------------------------------------- */

/* Open @path and its image; prints why not and returns the exit code, or 0. */
static int open_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		      const char *path, int mode, struct hib_sink **ret_sink,
		      struct hib_image_reader **ret_reader)
{
	_cleanup_(hib_image_key_freep) struct hib_image_key *key = NULL;
	char why[HIB_IMAGE_WHY_MAX];
	struct hib_sink *sink;
	uint64_t off = 0;
	int r, ret;

	/* resume --input URL: the initramfs's network, if ip= or [network] asks for it */
	if (args->command == HIBCTL_CMD_RESUME) {
		ret = hibctl_net_setup(ctx, args, path);
		if (ret)
			return ret;
	}
	r = hibctl_sink_open(ctx, args, path, mode, &sink);
	if (r < 0) {
		if (r == -EACCES && hib_http_is_url(path))
			fprintf(ctx->err, PROG ": %s refused access (see above): check the %s "
				"([http] in hibernate.conf)\n", path, hib_s3_is_url(path) ?
				"S3 credentials" : "bearer token and the client certificate");
		else if (r == -EINVAL && hib_http_is_url(path))
			fprintf(ctx->err, PROG ": %s is not a usable image URL (see above)\n", path);
		else
			fprintf(ctx->err, PROG ": no hibernation image on %s: %s\n", path,
				hib_strerror(r));
		return r == -EACCES || r == -EPROTO || (r == -EINVAL && hib_http_is_url(path)) ?
		       HIBCTL_EXIT_ERROR : HIBCTL_EXIT_NOIMAGE;
	}
	ret = load_key(ctx, args, &key);
	if (ret) {
		hib_sink_close(sink);
		return ret;
	}
	r = hib_image_reader_open_key(sink, key, ret_reader, why, &off);
	if (r < 0) {
		hib_sink_close(sink);
		if (r == -EPERM || r == -ENOKEY || r == -EKEYREJECTED) {
			fprintf(ctx->err, PROG ": hibernation image on %s refused: %s%s\n", path,
				why, r == -ENOKEY ? " (--key-file or --passphrase-file)" : "");
			return HIBCTL_EXIT_BADIMAGE;
		}
		if (r == -ENODATA) {
			fprintf(ctx->out, "no hibernation image on %s (%s)\n", path, why);
			return HIBCTL_EXIT_NOIMAGE;
		}
		if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
			fprintf(ctx->err, PROG ": hibernation image on %s refused: %s (offset %"
				PRIu64 ")\n", path, why, off);
			return HIBCTL_EXIT_BADIMAGE;
		}
		fprintf(ctx->err, PROG ": cannot read %s: %s\n", path, why);
		return HIBCTL_EXIT_ERROR;
	}
	*ret_sink = sink;
	return 0;
}

/* ---- resume -------------------------------------------------------------------------------- */

int hibctl_cmd_resume(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	const char *dev = ctx->snapshot_dev ? ctx->snapshot_dev : "/dev/snapshot";
	const struct hib_image_info *info;
	struct hib_image_reader *rd = NULL;
	struct hib_pipeline *p = NULL;
	struct hib_sink *sink = NULL;
	struct hib_image_info sys;
	char why[HIB_IMAGE_WHY_MAX];
	struct progress pr;
	int r, ret, fd = -1;
	bool stale = false;
	uint64_t off = 0;
	double t0;

	ret = open_image(ctx, args, args->path, HIB_SINK_UPDATE, &sink, &rd);
	if (ret)
		goto out;
	ret = HIBCTL_EXIT_ERROR;
	info = hib_image_reader_info(rd);

	r = hib_system_identity(ctx->notes_path, ctx->machine_id_path, &sys);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot identify the running kernel: %s; not resuming\n",
			hib_strerror(r));
		goto out;
	}
	r = hib_image_check_system(info, &sys, why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": hibernation image on %s refused: %s; booting normally\n",
			args->path, why);
		ret = HIBCTL_EXIT_BADIMAGE;
		goto out;
	}

	/* R2: every protected origin must be as it was at the snapshot instant. */
	ret = hibctl_dm_verify_image(ctx, args, info, args->path, &stale);
	if (ret) {
		if (stale && hib_image_invalidate(sink) == 0)
			fprintf(ctx->err, PROG ": the image on %s was invalidated\n", args->path);
		goto out;
	}
	ret = HIBCTL_EXIT_ERROR;

	r = hib_pipeline_new(args->threads, info->chunk_size, &p);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot start the pipeline: %s\n", hib_strerror(r));
		goto out;
	}
	fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(ctx->err, PROG ": cannot open %s: %s; booting normally\n", dev,
			hib_strerror(-errno));
		goto out;
	}

	/* Every chunk is verified before it is decompressed, and FINAL before we go on. */
	progress_init(&pr, ctx->err, "loading image", true);
	progress_start(&pr, info->raw_bytes);
	t0 = now_ms();
	r = hib_pipeline_decompress_fd(p, rd, fd, progress_cb, &pr);
	if (r < 0) {
		const char *reason = hib_image_reader_why(rd, &off);

		if (reason[0])
			fprintf(ctx->err, PROG ": hibernation image on %s refused: %s (offset %"
				PRIu64 "); nothing was restored, booting normally\n", args->path,
				reason, off);
		else
			fprintf(ctx->err, PROG ": loading the image into %s failed: %s; booting "
				"normally\n", dev, hib_strerror(r));
		ret = r == -EBADMSG ? HIBCTL_EXIT_BADIMAGE : HIBCTL_EXIT_ERROR;
		goto out;
	}
	/* The workers must be gone before SNAPSHOT_FREEZE: it freezes every other thread. */
	hib_pipeline_free(p);
	p = NULL;

	/* One-shot: never restore the same image twice. */
	r = hib_image_invalidate(sink);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot invalidate the image on %s: %s; not restoring it\n",
			args->path, hib_strerror(r));
		goto out;
	}
	fprintf(ctx->out, "restoring hibernation image from %s (%" PRIu64 " pages, loaded in "
		"%.1f ms)\n", args->path, info->image_pages, now_ms() - t0);
	fflush(ctx->out);
	fflush(ctx->err);

	if (ioctl(fd, SNAPSHOT_FREEZE) < 0) {
		fprintf(ctx->err, PROG ": %s: SNAPSHOT_FREEZE: %s; booting normally\n", dev,
			hib_strerror(-errno));
		goto out;
	}
	ioctl(fd, SNAPSHOT_ATOMIC_RESTORE);
	/* Only returns on failure; closing the device thaws. */
	fprintf(ctx->err, PROG ": %s: SNAPSHOT_ATOMIC_RESTORE: %s; the image was invalidated, "
		"booting normally\n", dev, hib_strerror(-errno));
out:
	if (fd >= 0)
		close(fd);
	hib_pipeline_free(p);
	hib_image_reader_free(rd);
	hib_sink_close(sink);
	/* Nothing was restored: finish what an interrupted hibernation left (merge back). */
	if (ret != HIBCTL_EXIT_USAGE && hibctl_cmd_recover(ctx, args, true) != HIBCTL_EXIT_OK &&
	    ret == HIBCTL_EXIT_NOIMAGE)
		ret = HIBCTL_EXIT_ERROR;
	return ret;
}

/* ---- image info / verify ------------------------------------------------------------------- */

static const char *cipher_name(uint32_t cipher)
{
	switch (cipher) {
	case HIB_CIPHER_NONE:
		return "none";
	case HIB_CIPHER_XCHACHA20POLY1305:
		return "xchacha20poly1305";
	}
	return "?";
}

static void info_text(FILE *f, const char *path, const struct hib_image_info *i,
		      const struct hib_final *fin)
{
	char bid[2 * HIB_BUILD_ID_MAX + 1], when[64];
	time_t t = (time_t)i->created;
	struct tm tm;

	hib_build_id_hex(i, bid, sizeof(bid));
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "?");
	fprintf(f, "hibernation image on %s\n", path);
	fprintf(f, "  %-17s %u\n", "format version", i->version);
	fprintf(f, "  %-17s %s\n", "valid", "yes");
	fprintf(f, "  %-17s %s\n", "kernel release", i->kernel_release);
	fprintf(f, "  %-17s %s\n", "kernel version", i->kernel_version);
	fprintf(f, "  %-17s %s\n", "build id", bid[0] ? bid : "-");
	fprintf(f, "  %-17s %s\n", "host id", i->host_id[0] ? i->host_id : "-");
	fprintf(f, "  %-17s %s (%" PRIu64 ")\n", "created", when, i->created);
	fprintf(f, "  %-17s %u\n", "page size", i->page_size);
	fprintf(f, "  %-17s %" PRIu64 "\n", "pages", i->image_pages);
	fprintf(f, "  %-17s %" PRIu64 "\n", "raw bytes", i->raw_bytes);
	fprintf(f, "  %-17s %" PRIu64 "\n", "compressed bytes", fin->comp_bytes);
	fprintf(f, "  %-17s %.2f\n", "ratio",
		fin->comp_bytes ? (double)i->raw_bytes / (double)fin->comp_bytes : 0.0);
	fprintf(f, "  %-17s %" PRIu64 " of %u bytes\n", "chunks", fin->chunks, i->chunk_size);
	fprintf(f, "  %-17s %s\n", "codec", i->codec == HIB_CODEC_LZ4 ? "lz4" : "?");
	fprintf(f, "  %-17s %s\n", "cipher", cipher_name(i->cipher));
	for (uint32_t k = 0; k < i->n_origins; k++)
		fprintf(f, "  %-17s %s%s%s, %" PRIu64 " sectors\n", "protected origin",
			i->origins[k].name, i->origins[k].uuid[0] ? " uuid " : "",
			i->origins[k].uuid, i->origins[k].sectors);
}

static int info_json(FILE *f, const char *path, const struct hib_image_info *i,
		     const struct hib_final *fin, int verified)
{
	struct json_object *o = json_object_new_object();
	char bid[2 * HIB_BUILD_ID_MAX + 1];
	int r = 0;

	if (!o)
		return -ENOMEM;
	hib_build_id_hex(i, bid, sizeof(bid));
	if (json_object_object_add(o, "path", json_object_new_string(path)) < 0 ||
	    json_object_object_add(o, "version", json_object_new_int64(i->version)) < 0 ||
	    json_object_object_add(o, "valid", json_object_new_boolean(1)) < 0 ||
	    json_object_object_add(o, "kernel_release",
				   json_object_new_string(i->kernel_release)) < 0 ||
	    json_object_object_add(o, "kernel_version",
				   json_object_new_string(i->kernel_version)) < 0 ||
	    json_object_object_add(o, "build_id", json_object_new_string(bid)) < 0 ||
	    json_object_object_add(o, "host_id", json_object_new_string(i->host_id)) < 0 ||
	    json_object_object_add(o, "created", json_object_new_int64((int64_t)i->created)) < 0 ||
	    json_object_object_add(o, "page_size", json_object_new_int64(i->page_size)) < 0 ||
	    json_object_object_add(o, "pages", json_object_new_int64((int64_t)i->image_pages)) < 0 ||
	    json_object_object_add(o, "raw_bytes",
				   json_object_new_int64((int64_t)i->raw_bytes)) < 0 ||
	    json_object_object_add(o, "compressed_bytes",
				   json_object_new_int64((int64_t)fin->comp_bytes)) < 0 ||
	    json_object_object_add(o, "chunks", json_object_new_int64((int64_t)fin->chunks)) < 0 ||
	    json_object_object_add(o, "chunk_size", json_object_new_int64(i->chunk_size)) < 0 ||
	    json_object_object_add(o, "codec", json_object_new_string("lz4")) < 0 ||
	    json_object_object_add(o, "cipher",
				   json_object_new_string(cipher_name(i->cipher))) < 0 ||
	    (verified >= 0 &&
	     json_object_object_add(o, "verified", json_object_new_boolean(verified)) < 0))
		r = -ENOMEM;
	if (r == 0)
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return r;
}

int hibctl_cmd_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	struct hib_image_reader *rd = NULL;
	struct hib_pipeline *p = NULL;
	struct hib_sink *sink = NULL;
	struct progress pr;
	int r, ret, fd = -1;
	uint64_t off = 0;

	ret = open_image(ctx, args, args->path, HIB_SINK_READ, &sink, &rd);
	if (ret)
		return ret;
	ret = HIBCTL_EXIT_ERROR;

	if (args->command == HIBCTL_CMD_IMAGE_INFO) {
		r = 0;
		if (args->json)
			r = info_json(ctx->out, args->path, hib_image_reader_info(rd),
				      hib_image_reader_final(rd), -1);
		else
			info_text(ctx->out, args->path, hib_image_reader_info(rd),
				  hib_image_reader_final(rd));
		ret = args->json && r < 0 ? HIBCTL_EXIT_ERROR : HIBCTL_EXIT_OK;
		goto out;
	}

	/* verify: the resume path into /dev/null. */
	r = hib_pipeline_new(args->threads, hib_image_reader_info(rd)->chunk_size, &p);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot start the pipeline: %s\n", hib_strerror(r));
		goto out;
	}
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(ctx->err, PROG ": /dev/null: %s\n", hib_strerror(-errno));
		goto out;
	}
	progress_init(&pr, ctx->err, "verifying image", true);
	progress_start(&pr, hib_image_reader_info(rd)->raw_bytes);
	r = hib_pipeline_decompress_fd(p, rd, fd, progress_cb, &pr);
	if (r < 0) {
		const char *reason = hib_image_reader_why(rd, &off);

		fprintf(ctx->err, PROG ": hibernation image on %s is bad: %s (offset %" PRIu64
			")\n", args->path, reason[0] ? reason : hib_strerror(r), off);
		if (args->json)
			info_json(ctx->out, args->path, hib_image_reader_info(rd),
				  hib_image_reader_final(rd), 0);
		ret = r == -EBADMSG ? HIBCTL_EXIT_BADIMAGE : HIBCTL_EXIT_ERROR;
		goto out;
	}
	if (args->json) {
		info_json(ctx->out, args->path, hib_image_reader_info(rd),
			  hib_image_reader_final(rd), 1);
	} else {
		info_text(ctx->out, args->path, hib_image_reader_info(rd),
			  hib_image_reader_final(rd));
		fprintf(ctx->out, "image verified: %" PRIu64 " chunks and the FINAL record check "
			"out\n", hib_image_reader_final(rd)->chunks);
	}
	ret = HIBCTL_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	hib_pipeline_free(p);
	hib_image_reader_free(rd);
	hib_sink_close(sink);
	return ret;
}
