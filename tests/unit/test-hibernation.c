// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/hibernation.c: hib_hibernate() and hib_resume() driven end to end against the
 * fakes -- freeze_processes(2) and snapshot_kernel(2) through the mock syscall(2), the fake
 * libdevmapper with one protected filesystem, a fake /proc and /sys, an image file -- and a
 * failure injected at every step (the fault points of fault.h, the kernel calls, every
 * libdevmapper call).  After each: everything thawed, the dm tables back (or merged), no
 * valid image left, and the failing step and errno in the HIB_EV_FAIL event.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-dm.h"
#include "fakeproc.h"
#include "fault.h"
#include "hibernation.h"
#include "image.h"
#include "mock-syscall.h"

#define IMAGE_PAGES 48

static char root[] = "/tmp/test-hibernation-XXXXXX";
static char path_proc[PATH_MAX], path_mnt[PATH_MAX], path_sys[PATH_MAX];
static char path_mountinfo[PATH_MAX], path_cow[PATH_MAX], path_image[PATH_MAX];
static char path_policy[PATH_MAX], path_notes[PATH_MAX], path_machine[PATH_MAX];
static char path_snapshot[PATH_MAX];
static struct hib_conf conf;
static struct hib_system sys;

/* ---- the kernel ---------------------------------------------------------------------------- */

static volatile sig_atomic_t got_term;
static bool term_at_snapshot;
static int oom_at_snapshot;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static struct {
	int frozen;		/* freeze-all minus thaw-all */
	unsigned int freezes;
	int freeze_err;		/* freeze_processes' answer */
	int snapshot_err;	/* snapshot_kernel's answer */
	unsigned int snapshots;
} kernel;

static long kernel_handler(long nr, long *a)
{
	if (nr == __NR_freeze_processes) {
		const struct freeze_processes_args *fa = (const void *)a[0];

		if (!fa)
			return -EINVAL;	/* hib_probe(): the call exists */
		if (fa->flags & FREEZE_PROCESSES_THAW) {
			if (!(fa->flags & FREEZE_PROCESSES_ONE))
				kernel.frozen = 0;
			return 12;	/* threads thawed, as the kernel says */
		}
		if (kernel.freeze_err)
			return kernel.freeze_err;
		kernel.freezes++;
		kernel.frozen = 1;
		return 12;	/* threads frozen */
	}
	if (nr == __NR_snapshot_kernel) {
		struct snapshot_kernel_args *sk = (void *)a[0];
		long page = sysconf(_SC_PAGESIZE);
		uint8_t *buf;
		int fd, i;

		if (kernel.snapshot_err)
			return kernel.snapshot_err;
		kernel.snapshots++;
		if (term_at_snapshot) {
			char adj[16] = "";
			FILE *f = fopen("/proc/self/oom_score_adj", "r");

			/* Ctrl-C / SIGTERM in the frozen window: deferred, not acted on now. */
			raise(SIGTERM);
			assert_int_equal(got_term, 0);
			if (f) {
				if (fgets(adj, sizeof(adj), f))
					oom_at_snapshot = atoi(adj);
				fclose(f);
			}
		}
		fd = memfd_create("image", MFD_CLOEXEC);
		assert_true(fd >= 0);
		buf = malloc((size_t)page);
		assert_non_null(buf);
		for (i = 0; i < IMAGE_PAGES; i++) {
			memset(buf, i % 5 ? 0 : i, (size_t)page);
			memcpy(buf, &i, sizeof(i));
			assert_int_equal(write(fd, buf, (size_t)page), page);
		}
		free(buf);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		sk->fd = fd;
		sk->image_pages = IMAGE_PAGES;
		sk->resumed = 0;
		return 0;
	}
	if (nr == __NR_kill)
		return 0;
	return -ENOSYS;
}

/* ---- events -------------------------------------------------------------------------------- */

static struct {
	unsigned int fails;
	enum hib_step fail_step;
	int fail_err;
	char fail_msg[1024];
	bool summary;
	char log[16384];
} seen;

static void on_message(void *ud, const struct hib_event *ev)
{
	size_t n = strlen(seen.log);

	(void)ud;
	if (ev->level == HIB_EV_FAIL) {
		seen.fails++;
		seen.fail_step = ev->step;
		seen.fail_err = ev->err;
		snprintf(seen.fail_msg, sizeof(seen.fail_msg), "%s", ev->msg);
	}
	snprintf(seen.log + n, sizeof(seen.log) - n, "[%s/%d] %s\n", hib_step_name(ev->step),
		 ev->level, ev->msg);
}

static void on_summary(void *ud, const char *target, const struct hib_hibernate_stats *st)
{
	(void)ud;
	(void)target;
	assert_int_equal(st->pages, IMAGE_PAGES);
	seen.summary = true;
}

static const struct hib_events events = {
	.message = on_message,
	.summary = on_summary,
};

/* ---- the world ----------------------------------------------------------------------------- */

static struct hib_dm_table linear(uint64_t len)
{
	struct hib_dm_table t;

	memset(&t, 0, sizeof(t));
	t.n = 1;
	t.t[0].length = len;
	strcpy(t.t[0].type, "linear");
	snprintf(t.t[0].params, sizeof(t.t[0].params), "8:16 2048");
	return t;
}

static void world(bool protect)
{
	struct hib_dm_table a = linear(1 << 20);
	struct fake_dev *d;
	char rel[128];
	int fd;

	memset(&kernel, 0, sizeof(kernel));
	memset(&seen, 0, sizeof(seen));
	mock_reset(kernel_handler);
	hib_fault_disarm();
	memset(&F, 0, sizeof(F));
	F.content = 0x5a;
	d = fake_add(&F, "vg-a", "LVM-aaaa", &a);
	assert_non_null(d);
	snprintf(rel, sizeof(rel), "sys/dev/block/%u:%u/dm/name", FAKE_MAJOR, d->minor);
	assert_int_equal(fakeproc_write(root, rel, "vg-a\n"), 0);
	if (protect)
		assert_int_equal(fakeproc_write(root, "mountinfo", "1 0 %u:%u / %s rw,relatime - "
						"ext4 /dev/mapper/vg-a rw\n", FAKE_MAJOR, d->minor,
						path_mnt), 0);
	else
		assert_int_equal(fakeproc_write(root, "mountinfo", "%s", ""), 0);
	fd = open(path_cow, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 128 << 20), 0);
	close(fd);
	unlink(path_image);
	assert_int_equal(fakeproc_write(root, "snapshot", "%s", ""), 0);
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.cow, sizeof(conf.cow), "%s", path_cow);
	snprintf(conf.target, sizeof(conf.target), "%s", path_image);
	conf.sync_timeout_ms = 5000;
	/* A local file only root writes: unencrypted images allowed (test_authenticity). */
	conf.allow_unauthenticated = true;
}

/* /sys/kernel/notes: one NT_GNU_BUILD_ID note, the running kernel's build id here. */
static void write_notes(void)
{
	static const uint8_t note[] = {
		4, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0,
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	};
	FILE *f = fopen(path_notes, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(note, 1, sizeof(note), f), sizeof(note));
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(fakeproc_create(root), 0);
	snprintf(path_proc, sizeof(path_proc), "%s/proc", root);
	snprintf(path_mnt, sizeof(path_mnt), "%s/mnt", root);
	snprintf(path_sys, sizeof(path_sys), "%s/sys", root);
	snprintf(path_mountinfo, sizeof(path_mountinfo), "%s/mountinfo", root);
	snprintf(path_cow, sizeof(path_cow), "%s/cow", root);
	snprintf(path_image, sizeof(path_image), "%s/image", root);
	snprintf(path_policy, sizeof(path_policy), "%s/policy", root);
	snprintf(path_notes, sizeof(path_notes), "%s/notes", root);
	snprintf(path_machine, sizeof(path_machine), "%s/machine-id", root);
	snprintf(path_snapshot, sizeof(path_snapshot), "%s/snapshot", root);
	assert_int_equal(fakeproc_write(root, "proc/meminfo", "MemTotal:   131072 kB\n"), 0);
	assert_int_equal(fakeproc_write(root, "proc/swaps",
					"Filename Type Size Used Priority\n"), 0);
	assert_int_equal(fakeproc_write(root, "machine-id", "0123456789abcdef\n"), 0);
	write_notes();
	assert_int_equal(mkdir(path_mnt, 0755), 0);
	assert_int_equal(mkdir(path_policy, 0755), 0);
	sys = (struct hib_system){
		.proc_root = path_proc,
		.snapshot_dev = path_snapshot,
		.notes_path = path_notes,
		.machine_id_path = path_machine,
		.mountinfo_path = path_mountinfo,
		.sys_root = path_sys,
		.dm_backend = &fake_be_cow,
		.no_mlock = true,
		.no_poweroff_call = true,
	};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fakeproc_destroy(root);
	return 0;
}

static int hibernate_test(bool no_poweroff, enum hib_test_stage test)
{
	struct hib_hibernate_opts opts = {
		.sz = sizeof(opts),
		.conf = &conf,
		.policy_dir = path_policy,
		.no_poweroff = no_poweroff,
		.test = test,
		.sys = &sys,
	};

	return hib_hibernate(&opts, &events);
}

static int hibernate(bool no_poweroff)
{
	return hibernate_test(no_poweroff, HIB_TEST_NONE);
}

/* Is there a valid image on the target? */
static bool valid_image(void)
{
	struct hib_image_reader *rd = NULL;
	struct hib_sink *sink = NULL;
	int r = hib_image_open(&conf, path_image, HIB_SINK_READ, NULL, &sink, &rd);

	hib_image_reader_free(rd);
	hib_sink_close(sink);
	if (r != 0 && r != -ENODATA)
		fail_msg("hib_image_open: %d", r);
	return r == 0;
}

/* Everything as it was: nothing frozen, vg-a on its own table, resumed, FITHAWed, alone. */
static void assert_back(const char *when)
{
	struct hib_dm_table a = linear(1 << 20);
	unsigned int i, n = 0;

	if (kernel.frozen)
		fail_msg("%s: tasks left frozen\n%s", when, seen.log);
	for (i = 0; i < FAKE_DEVS; i++) {
		if (!F.d[i].exists)
			continue;
		n++;
		if (strcmp(F.d[i].name, "vg-a"))
			fail_msg("%s: left over: %s\n%s", when, F.d[i].name, seen.log);
		assert_false(F.d[i].suspended);
		assert_memory_equal(&F.d[i].live, &a, sizeof(a));
	}
	assert_int_equal(n, 1);
	for (i = 0; i < 64; i++)
		if (F.frozen[i])
			fail_msg("%s: a filesystem left FIFREEZEd\n%s", when, seen.log);
}

/* ---- hibernate ----------------------------------------------------------------------------- */

/* --no-poweroff with a protected filesystem: written, merged back, invalidated, thawed. */
static void test_no_poweroff(void **state)
{
	(void)state;
	world(true);
	assert_int_equal(hibernate(true), 0);
	assert_int_equal(seen.fails, 0);
	assert_true(seen.summary);
	assert_int_equal(kernel.freezes, 1);
	assert_int_equal(kernel.snapshots, 1);
	assert_back("no-poweroff");
	assert_non_null(strstr(seen.log, "protecting "));
	assert_non_null(strstr(seen.log, "the image was invalidated"));
	assert_false(valid_image());
}

/*
 * Nothing protected: --no-poweroff leaves a valid image; then resume it with @available_kb
 * of MemAvailable in a MemTotal of 128 MiB.  /dev/snapshot is a plain file here: everything
 * loads, R3 invalidates, R4 fails (-ENOTTY).
 */
static int hibernate_then_resume(unsigned int available_kb)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};

	world(false);
	assert_int_equal(hibernate(true), 0);
	assert_back("unprotected");
	assert_true(valid_image());
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(fakeproc_write(root, "proc/meminfo", "MemTotal:   131072 kB\n"
					"MemAvailable:   %u kB\n", available_kb), 0);
	return hib_resume(&ro, &events);
}

/* Less available than the image needs: a warning before the load, which still runs. */
static void test_resume_memory_warning(void **state)
{
	(void)state;
	assert_int_equal(hibernate_then_resume(4), -ENOTTY);	/* up to R4, as without it */
	assert_int_equal(seen.fail_step, HIB_STEP_RESTORE);
	assert_non_null(strstr(seen.log, "more than is available: the load may run out of memory"));
	assert_non_null(strstr(seen.log, "restoring hibernation image from"));
}

/* Nothing protected: --no-poweroff leaves a valid image, which resume takes up to R4. */
static void test_unprotected_then_resume(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};

	(void)state;
	assert_int_equal(hibernate_then_resume(126976), -ENOTTY);
	assert_int_equal(seen.fails, 1);
	assert_int_equal(seen.fail_step, HIB_STEP_RESTORE);
	assert_non_null(strstr(seen.log, "restoring hibernation image from"));
	/* Where the load's time went, stage by stage. */
	assert_non_null(strstr(seen.log, "load stages: CPU ms over all threads: read "));
	/* What this boot uses beside the image, said before the load. */
	assert_non_null(strstr(seen.log, "memory: this kernel, its initramfs and hibernatectl use "
			       "4.0 MiB of MemTotal 128.0 MiB; the image needs "));
	assert_false(valid_image());
	/* Its data discarded (punched out): not even the header's magic is left. */
	{
		char head[8] = "";
		int fd = open(path_image, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(read(fd, head, sizeof(head)), sizeof(head));
		close(fd);
		assert_memory_not_equal(head, HIB_IMAGE_MAGIC, 8);
	}

	/* One-shot: the second resume finds nothing. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -ENODATA);
}

/* A power-off that fails (tests never power off): the image is invalidated, all undone. */
static void test_poweroff_fails(void **state)
{
	(void)state;
	world(true);
	assert_int_equal(hibernate(false), -ENOTSUP);
	assert_int_equal(seen.fails, 1);
	assert_int_equal(seen.fail_step, HIB_STEP_POWEROFF);
	assert_true(seen.summary);
	assert_back("poweroff");
	assert_false(valid_image());
}

/* A fault at each step: that step fails with that errno, everything is undone. */
static void test_fault_every_step(void **state)
{
	static const enum hib_step steps[] = {
		HIB_STEP_PREPARE, HIB_STEP_FREEZE, HIB_STEP_POLICY, HIB_STEP_SYNC,
		HIB_STEP_PROTECT, HIB_STEP_SNAPSHOT, HIB_STEP_FS_THAW, HIB_STEP_WRITE,
		HIB_STEP_POWEROFF,
	};
	char spec[64], why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		world(true);
		snprintf(spec, sizeof(spec), "fail=%s:%d", hib_step_name(steps[i]), ENOLINK);
		assert_int_equal(hib_fault_arm(spec, why, sizeof(why)), 1);
		assert_int_equal(hibernate(false), -ENOLINK);
		if (seen.fails != 1 || seen.fail_step != steps[i] || seen.fail_err != -ENOLINK)
			fail_msg("fault at %s: %u failures, step %s, errno %d\n%s",
				 hib_step_name(steps[i]), seen.fails, hib_step_name(seen.fail_step),
				 seen.fail_err, seen.log);
		assert_back(spec);
		assert_false(valid_image());
		if (steps[i] == HIB_STEP_PREPARE)
			assert_int_equal(kernel.freezes, 0);
		hib_fault_disarm();
	}
}

/* The kernel says no: the freeze (EBUSY: every refusal) and the snapshot (ENOMEM). */
static void test_kernel_refuses(void **state)
{
	(void)state;
	world(true);
	kernel.freeze_err = -EBUSY;
	assert_int_equal(hibernate(false), -EBUSY);
	assert_int_equal(seen.fail_step, HIB_STEP_FREEZE);
	assert_int_equal(seen.fail_err, -EBUSY);
	assert_non_null(strstr(seen.fail_msg, "did not freeze"));
	assert_back("freeze refused");

	world(true);
	kernel.snapshot_err = -ENOMEM;
	assert_int_equal(hibernate(false), -ENOMEM);
	assert_int_equal(seen.fail_step, HIB_STEP_SNAPSHOT);
	assert_non_null(strstr(seen.fail_msg, "not enough free memory for the snapshot"));
	assert_back("snapshot refused");
	assert_false(valid_image());
}

/* Every libdevmapper call of a whole hibernation fails once in turn. */
static void test_dm_every_call(void **state)
{
	unsigned int k, total;

	(void)state;
	world(true);
	assert_int_equal(hibernate(true), 0);
	total = F.calls;
	assert_true(total > 10);
	for (k = 1; k <= total; k++) {
		int r;

		world(true);
		F.fail_at = k;
		r = hibernate(true);
		/* A failure in the merge back or the clean-up is reported, not fatal. */
		if (r < 0 && seen.fails != 1)
			fail_msg("dm call %u (%s): %d but %u failures\n%s", k, F.failed_op, r,
				 seen.fails, seen.log);
		if (kernel.frozen)
			fail_msg("dm call %u (%s): left frozen\n%s", k, F.failed_op, seen.log);
		assert_false(valid_image());
		for (unsigned int i = 0; i < 64; i++)
			assert_int_equal(F.frozen[i], 0);
	}
}

/* May this process lower its oom_score_adj (CAP_SYS_RESOURCE)?  Left as it was. */
static bool can_protect_from_oom(void)
{
	char old[16] = "";
	bool ok;
	int fd = open("/proc/self/oom_score_adj", O_RDWR);

	if (fd < 0)
		return false;
	ok = read(fd, old, sizeof(old) - 1) > 0 && lseek(fd, 0, SEEK_SET) == 0 &&
	     write(fd, "-1000", 5) == 5;
	if (ok)
		assert_true(pwrite(fd, old, strlen(old), 0) > 0);
	close(fd);
	return ok;
}

/* The staged dry runs stop after their stage and roll back, saying so; no image. */
static void test_stages(void **state)
{
	static const enum hib_test_stage stages[] = { HIB_TEST_FREEZE, HIB_TEST_DM,
						      HIB_TEST_SNAPSHOT };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		world(true);
		assert_int_equal(hibernate_test(false, stages[i]), 0);
		assert_int_equal(seen.fails, 0);
		assert_int_equal(kernel.snapshots, stages[i] == HIB_TEST_SNAPSHOT);
		if (!strstr(seen.log, "holding 2 s") || !strstr(seen.log, "] everything was thawed again"))
			fail_msg("stage %d:\n%s", (int)stages[i], seen.log);
		assert_back("stage");
		assert_int_equal(access(path_image, F_OK), -1);
	}
}

/* A signal in the frozen window is acted on after the thaw; the OOM killer is kept off. */
static void test_signal_deferred(void **state)
{
	struct sigaction sa = { .sa_handler = on_term }, old;

	(void)state;
	world(true);
	got_term = 0;
	term_at_snapshot = true;
	oom_at_snapshot = 0;
	assert_int_equal(sigaction(SIGTERM, &sa, &old), 0);
	assert_int_equal(hibernate(true), 0);
	term_at_snapshot = false;
	assert_int_equal(got_term, 1);
	assert_int_equal(sigaction(SIGTERM, &old, NULL), 0);
	assert_back("signal");
	assert_non_null(strstr(seen.log, "arrived during the hibernation: acted on now that "
				"everything is thawed"));
	if (can_protect_from_oom()) {
		if (oom_at_snapshot != -1000)
			fail_msg("oom_score_adj %d in the window\n%s", oom_at_snapshot, seen.log);
	} else {
		/* No CAP_SYS_RESOURCE here (a container): said, and the hibernation goes on. */
		assert_non_null(strstr(seen.log, "cannot keep the OOM killer away from this process"));
	}
}

/* The target and the key are checked before anything is frozen. */
static void test_refused_before_freezing(void **state)
{
	(void)state;
	world(true);
	snprintf(conf.target, sizeof(conf.target), "/nonexistent/dir/image");
	assert_int_equal(hibernate(false), -ENOENT);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_int_equal(kernel.freezes, 0);
	assert_non_null(strstr(seen.log, "nothing was frozen"));

	world(true);
	conf.target[0] = 0;
	assert_int_equal(hibernate(false), -EDESTADDRREQ);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_non_null(strstr(seen.fail_msg, "no image target"));

	world(true);
	snprintf(conf.key_file, sizeof(conf.key_file), "%s/no-such-key", root);
	assert_int_equal(hibernate(false), -ENOENT);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_int_equal(kernel.freezes, 0);

	/* Swap on: the kernel takes no snapshot; said before anything is frozen. */
	world(true);
	assert_int_equal(fakeproc_write(root, "proc/swaps", "Filename Type Size Used Priority\n"
					"/dev/vdb partition 1048572 0 -2\n"), 0);
	assert_int_equal(hibernate(false), -EBUSY);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_int_equal(kernel.freezes, 0);
	assert_non_null(strstr(seen.fail_msg, "swap is on (1 area)"));
	assert_int_equal(hib_check(&conf, "", &sys, &events), 0);
	assert_non_null(strstr(seen.log, "no: swap is on (1 area)"));
	assert_int_equal(fakeproc_write(root, "proc/swaps",
					"Filename Type Size Used Priority\n"), 0);
}

/* Open file descriptors of this process. */
static unsigned int open_fds(void)
{
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * The resume reserve: an image the resume kernel could not load is refused after the
 * snapshot and before anything is written (ENOMEM at the snapshot step), all rolled back;
 * the same image with a smaller reserve is written.
 */
static void test_image_too_big_to_resume(void **state)
{
	/*
	 * MemTotal: the default reserve (5% + 64 MiB) plus half the image: 17272 pages, of which
	 * 864 + 16384 are the reserve (3537305 bytes rounded up, and 64 MiB), 24 the image.
	 */
	unsigned long kb = 17272 * 4;
	unsigned int fds;

	(void)state;
	assert_int_equal(sysconf(_SC_PAGESIZE), 4096);
	assert_int_equal(IMAGE_PAGES, 48);
	world(true);
	assert_int_equal(fakeproc_write(root, "proc/meminfo", "MemTotal:   %lu kB\n", kb), 0);
	fds = open_fds();
	assert_int_equal(hibernate(false), -ENOMEM);
	assert_int_equal(seen.fails, 1);
	assert_int_equal(seen.fail_step, HIB_STEP_SNAPSHOT);
	assert_int_equal(seen.fail_err, -ENOMEM);
	assert_int_equal(kernel.snapshots, 1);
	if (!strstr(seen.fail_msg, "the image of 48 pages") ||
	    !strstr(seen.fail_msg, "is too large to resume") ||
	    !strstr(seen.fail_msg, "loads at most 24 pages") ||
	    !strstr(seen.fail_msg, "resume reserve of 67.4 MiB (the default, 5% of MemTotal + "
		    "64 MiB)") ||
	    !strstr(seen.fail_msg, "lower resume-reserve under [hibernate]") ||
	    !strstr(seen.fail_msg, "nothing was written"))
		fail_msg("%s", seen.fail_msg);
	assert_false(seen.summary);
	assert_back("image too big to resume");
	assert_false(valid_image());
	assert_int_equal(open_fds(), fds);	/* the snapshot is closed */

	/* The dry run says the same. */
	world(true);
	assert_int_equal(hibernate_test(false, HIB_TEST_SNAPSHOT), -ENOMEM);
	assert_non_null(strstr(seen.fail_msg, "is too large to resume"));
	assert_back("test=snapshot, too big");

	/* check says how large an image may be. */
	world(true);
	hib_check(&conf, "", &sys, &events);
	assert_non_null(strstr(seen.log, "ok: an image resumes up to 24 pages"));

	/* A resume environment known to be small: resume-reserve = 0 lets it through. */
	world(true);
	conf.resume_reserve_set = true;
	conf.resume_reserve_mib = 0;
	assert_int_equal(hibernate(true), 0);
	assert_int_equal(seen.fails, 0);
	assert_back("resume-reserve = 0");

	/* A reserve of all of RAM: refused before anything is frozen. */
	world(true);
	conf.resume_reserve_set = true;
	conf.resume_reserve_mib = 68;
	assert_int_equal(hibernate(false), -EINVAL);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_int_equal(kernel.freezes, 0);
	assert_non_null(strstr(seen.fail_msg, "resume-reserve = 68 under [hibernate]"));
	assert_non_null(strstr(seen.fail_msg, "leaves no room for an image"));
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_check(&conf, "", &sys, &events), 0);
	assert_non_null(strstr(seen.log, "no: resume-reserve = 68"));

	assert_int_equal(fakeproc_write(root, "proc/meminfo", "MemTotal:   131072 kB\n"), 0);
}

/* Nothing forged: an unencrypted image needs allow-unauthenticated, and never from a URL. */
static void test_authenticity(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};

	(void)state;
	world(false);
	conf.allow_unauthenticated = false;
	assert_int_equal(hibernate(true), -ENOKEY);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_non_null(strstr(seen.fail_msg, "no image key: an unencrypted image is not "
				"authenticated"));
	assert_int_equal(kernel.freezes, 0);

	world(false);
	snprintf(conf.target, sizeof(conf.target), "http://127.0.0.1:9/img");
	assert_int_equal(hibernate(true), -ENOKEY);
	assert_non_null(strstr(seen.fail_msg, "an image written to a URL must be encrypted"));
	assert_int_equal(kernel.freezes, 0);

	/* Written while allowed, then resumed where it is not: refused, left in place. */
	world(false);
	assert_int_equal(hibernate(true), 0);
	conf.allow_unauthenticated = false;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -EBADMSG);
	assert_int_equal(seen.fail_step, HIB_STEP_OPEN);
	assert_non_null(strstr(seen.fail_msg, "not encrypted, so not authenticated"));
	assert_true(valid_image());
	/* Allowed: a warning at every resume. */
	conf.allow_unauthenticated = true;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -ENOTTY);
	assert_non_null(strstr(seen.log, "is not authenticated (allow-unauthenticated = yes)"));
}

/* Another host's image: refused, unless --migrate. */
static void test_other_host(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};

	(void)state;
	world(false);
	assert_int_equal(hibernate(true), 0);
	assert_int_equal(fakeproc_write(root, "machine-id", "fedcba9876543210\n"), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -EBADMSG);
	assert_int_equal(seen.fail_step, HIB_STEP_OPEN);
	assert_non_null(strstr(seen.fail_msg, "was made on host 0123456789abcdef, this is host "
				"fedcba9876543210"));
	assert_true(valid_image());
	ro.migrate = true;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -ENOTTY);	/* up to R4 */
	assert_non_null(strstr(seen.log, "warning: migrating"));
	assert_int_equal(fakeproc_write(root, "machine-id", "0123456789abcdef\n"), 0);
}

/* One-shot whatever the store does: only the image recorded on the machine, once. */
static void test_state_record(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};
	char copy[PATH_MAX], cmd[2 * PATH_MAX + 16];

	(void)state;
	world(false);
	snprintf(conf.state, sizeof(conf.state), "%s/state", root);
	assert_int_equal(fakeproc_write(root, "state", "%s", ""), 0);
	assert_int_equal(truncate(conf.state, 4096), 0);
	assert_int_equal(hibernate(true), 0);
	/* A copy of the image, as a store that ignores DELETE keeps it. */
	snprintf(copy, sizeof(copy), "%s/copy", root);
	snprintf(cmd, sizeof(cmd), "cp %s %s", path_image, copy);
	assert_int_equal(system(cmd), 0);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -ENOTTY);	/* up to R4: recorded */
	assert_non_null(strstr(seen.log, "is this machine's last hibernation"));
	/* The record was cleared before the restore: the copy is refused. */
	ro.source = copy;
	memset(&seen, 0, sizeof(seen));
	if (hib_resume(&ro, &events) != -EBADMSG)
		fail_msg("%s", seen.log);
	assert_int_equal(seen.fail_step, HIB_STEP_OPEN);
	assert_non_null(strstr(seen.fail_msg, "no hibernation is recorded on this machine"));

	/* A newer hibernation recorded: the older copy is not its image. */
	world(false);
	snprintf(conf.state, sizeof(conf.state), "%s/state", root);
	assert_int_equal(hibernate(true), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -EBADMSG);
	assert_non_null(strstr(seen.fail_msg, "is not the last hibernation recorded"));

	/* A damaged record refuses too. */
	assert_int_equal(fakeproc_write(root, "state", "HIBSTATE garbage"), 0);
	assert_int_equal(truncate(conf.state, 4096), 0);
	ro.source = path_image;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -EBADMSG);
	assert_non_null(strstr(seen.fail_msg, "is damaged"));

	/* No state device where the record should go: refused before anything is frozen. */
	world(false);
	snprintf(conf.state, sizeof(conf.state), "%s/nodir/state", root);
	assert_int_equal(hibernate(true), -ENOENT);
	assert_int_equal(seen.fail_step, HIB_STEP_PREPARE);
	assert_int_equal(kernel.freezes, 0);
	assert_false(valid_image());
	conf.state[0] = 0;
}

/* No machine id here: the host cannot be checked, said so, and the image is not refused. */
static void test_no_machine_id(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};

	(void)state;
	world(false);
	assert_int_equal(hibernate(true), 0);
	assert_int_equal(unlink(path_machine), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hib_resume(&ro, &events), -ENOTTY);	/* up to R4 */
	assert_non_null(strstr(seen.log, "this system has no machine id"));
	assert_int_equal(fakeproc_write(root, "machine-id", "0123456789abcdef\n"), 0);
}

/* check: what the kernel allows, from /sys and /proc (fake ones here). */
static void test_check_kernel(void **state)
{
	static const uint8_t sb_on[] = { 6, 0, 0, 0, 1 };
	char path[PATH_MAX];
	FILE *f;

	(void)state;
	world(false);
	assert_int_equal(fakeproc_write(root, "sys/kernel/security/lockdown",
					"none [integrity] confidentiality\n"), 0);
	assert_int_equal(fakeproc_write(root, "proc/cmdline", "quiet nohibernate\n"), 0);
	assert_int_equal(fakeproc_write(root, "sys/power/state", "freeze mem\n"), 0);
	assert_int_equal(fakeproc_write(root, "sys/firmware/efi/efivars/x", "%s", ""), 0);
	snprintf(path, sizeof(path), "%s/sys/firmware/efi/efivars/"
		 "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", root);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(sb_on, 1, sizeof(sb_on), f), sizeof(sb_on));
	fclose(f);
	assert_int_equal(hib_check(&conf, "", &sys, &events), 0);
	assert_non_null(strstr(seen.log, "no: the kernel is locked down (integrity)"));
	assert_non_null(strstr(seen.log, "no: 'nohibernate' is on the kernel command line"));
	assert_non_null(strstr(seen.log, "no: /sys/power/state has no 'disk'"));
	assert_non_null(strstr(seen.log, "note: Secure Boot is on"));

	/* A kernel that allows it: none of those. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(fakeproc_write(root, "sys/kernel/security/lockdown",
					"[none] integrity confidentiality\n"), 0);
	assert_int_equal(fakeproc_write(root, "proc/cmdline", "quiet\n"), 0);
	assert_int_equal(fakeproc_write(root, "sys/power/state", "freeze mem disk\n"), 0);
	hib_check(&conf, "", &sys, &events);
	assert_null(strstr(seen.log, "locked down"));
	assert_null(strstr(seen.log, "nohibernate"));
	assert_null(strstr(seen.log, "has no 'disk'"));
}

/* check: does the initramfs carry the resume hook?  The "lister" here prints the file it is
 * given, so the fake initramfs is its own listing. */
static void test_check_initramfs(void **state)
{
	static const struct {
		const char *listing;	/* what the fake lister prints */
		const char *want, *want2;	/* in the log */
		bool hook;		/* "ok: the initramfs ... resumes" */
	} listings[] = {
		/* initramfs-tools: lsinitramfs prints paths. */
		{ "init\nscripts\nscripts/local-premount\nscripts/local-premount/hibernate\n"
		  "usr/sbin/hibernatectl\n", "ok: the initramfs ",
		  "resumes (it has scripts/local-premount/hibernate)", true },
		/* dracut: lsinitrd prints ls -l lines. */
		{ "-rwxr-xr-x   1 root root  2419 Dec  7 02:33 usr/lib/dracut/"
		  "hooks/pre-mount/50-hibernate-resume.sh\n", "ok: the initramfs ",
		  "resumes (it has hooks/pre-mount/50-hibernate-resume.sh)", true },
		/* Near misses are not the hook. */
		{ "scripts/local-premount/hibernate.bak\nxscripts/local-premount/hibernate\n"
		  "scripts/local-premount/resume\n", "warning: the initramfs ",
		  "has no resume hook", false },
	};
	char img[PATH_MAX], lister[PATH_MAX], bad[PATH_MAX];

	(void)state;
	world(false);
	snprintf(img, sizeof(img), "%s/boot/initrd.img-test", root);
	snprintf(lister, sizeof(lister), "%s/bin/lister", root);
	snprintf(bad, sizeof(bad), "%s/bin/failing-lister", root);
	assert_int_equal(fakeproc_write(root, "bin/lister", "#!/bin/sh\ncat \"$1\"\n"), 0);
	assert_int_equal(fakeproc_write(root, "bin/failing-lister", "#!/bin/sh\nexit 3\n"), 0);
	assert_int_equal(chmod(lister, 0755), 0);
	assert_int_equal(chmod(bad, 0755), 0);

	/* Off unless asked for (hibernated's checks). */
	assert_int_equal(fakeproc_write(root, "boot/initrd.img-test", "init\n"), 0);
	sys.initramfs_path = img;
	sys.initramfs_lister = lister;
	memset(&seen, 0, sizeof(seen));
	hib_check(&conf, "", &sys, &events);
	assert_null(strstr(seen.log, "initramfs"));

	sys.check_initramfs = true;
	for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		assert_int_equal(fakeproc_write(root, "boot/initrd.img-test", "%s",
						listings[i].listing),
				 0);
		memset(&seen, 0, sizeof(seen));
		hib_check(&conf, "", &sys, &events);
		assert_non_null(strstr(seen.log, listings[i].want));
		assert_non_null(strstr(seen.log, listings[i].want2));
		assert_true(listings[i].hook == (strstr(seen.log, "ok: the initramfs") != NULL));
	}

	/* Unknown: the lister fails, is missing, or there is no initramfs. */
	sys.initramfs_lister = bad;
	memset(&seen, 0, sizeof(seen));
	hib_check(&conf, "", &sys, &events);
	assert_non_null(strstr(seen.log, "note: cannot tell whether the initramfs "));
	assert_non_null(strstr(seen.log, "failing-lister failed (exit 3)"));
	assert_null(strstr(seen.log, "has no resume hook"));

	sys.initramfs_lister = "/nonexistent/lsinitramfs";
	memset(&seen, 0, sizeof(seen));
	hib_check(&conf, "", &sys, &events);
	assert_non_null(strstr(seen.log, "its lister cannot be run"));

	sys.initramfs_lister = lister;
	sys.initramfs_path = "/nonexistent/initrd.img";
	memset(&seen, 0, sizeof(seen));
	hib_check(&conf, "", &sys, &events);
	assert_non_null(strstr(seen.log, "note: cannot tell whether the initramfs resumes: cannot "
				       "read /nonexistent/initrd.img"));
	sys.check_initramfs = false;
	sys.initramfs_path = NULL;
	sys.initramfs_lister = NULL;
}

/* A bad $HIBERNATE_FAULT is refused by name. */
static void test_fault_spec(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(hib_fault_arm("fail=nosuchstep", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "fail=nosuchstep"));
	assert_int_equal(hib_fault_arm("build-id=abc", why, sizeof(why)), -EINVAL);
	assert_int_equal(hib_fault_arm("poke=12", why, sizeof(why)), -EINVAL);
	assert_int_equal(hib_fault_arm("window-write=a/b", why, sizeof(why)), -EINVAL);
	assert_int_equal(hib_fault_arm("sysrq=b", why, sizeof(why)), -EINVAL);	/* only f */
	assert_int_equal(hib_fault_arm("bogus", why, sizeof(why)), -EINVAL);
	assert_int_equal(hib_fault_arm("fail=write:5,build-id=deadbeef,window-write=w:2,"
				       "poke=1:/x,sysrq=f", why, sizeof(why)), 1);
	hib_fault_disarm();
}

/* An image "from another kernel build" (build-id=) is refused by resume at R1. */
static void test_other_build_refused(void **state)
{
	struct hib_resume_opts ro = {
		.sz = sizeof(ro), .conf = &conf, .source = path_image, .sys = &sys,
	};
	char why[256];

	(void)state;
	world(false);
	assert_int_equal(hib_fault_arm("build-id=0badc0de", why, sizeof(why)), 1);
	assert_int_equal(hibernate(true), 0);
	hib_fault_disarm();
	assert_true(valid_image());
	memset(&seen, 0, sizeof(seen));
	if (hib_resume(&ro, &events) != -EBADMSG)
		fail_msg("%s", seen.log);
	assert_int_equal(seen.fail_step, HIB_STEP_OPEN);
	assert_non_null(strstr(seen.fail_msg, "refused"));
	/* Refused, not consumed: still there for the kernel it was made for. */
	assert_true(valid_image());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_poweroff),
		cmocka_unit_test(test_unprotected_then_resume),
		cmocka_unit_test(test_resume_memory_warning),
		cmocka_unit_test(test_poweroff_fails),
		cmocka_unit_test(test_fault_every_step),
		cmocka_unit_test(test_kernel_refuses),
		cmocka_unit_test(test_dm_every_call),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_signal_deferred),
		cmocka_unit_test(test_refused_before_freezing),
		cmocka_unit_test(test_image_too_big_to_resume),
		cmocka_unit_test(test_authenticity),
		cmocka_unit_test(test_other_host),
		cmocka_unit_test(test_state_record),
		cmocka_unit_test(test_no_machine_id),
		cmocka_unit_test(test_check_kernel),
		cmocka_unit_test(test_check_initramfs),
		cmocka_unit_test(test_fault_spec),
		cmocka_unit_test(test_other_build_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
