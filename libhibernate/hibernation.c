// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The operations (hibernation.h): hibernate, resume, check.
 *
 * hib_hibernate() is layered like kernel/power/hibernate.c's hibernate() ->
 * hibernation_snapshot() -> create_image(): each step is a function that undoes its own half
 * when a later one fails, and everything that can fail or allocate is done in step 1, before
 * anything is frozen.
 *
 *   hib_hibernate()
 *     hibernate_prepare()        1   target, key, writer, pipeline, policy, dm  | _release()
 *     freeze_tasks()             2-3b                                            | thaw_tasks()
 *     hibernation_snapshot()     4, 5, 5b                                        | (dm abort)
 *     write_image()              6
 *     power_off()                7
 *
 * hib_resume(): open_image() (R1: network, sink, key, header, system), R2, load_image()
 * (every chunk verified into /dev/snapshot), R3 invalidate, R4 restore.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <linux/suspend_ioctls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "hibernation.h"
#include "http.h"
#include "image.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "net.h"
#include "stages.h"
#include "state.h"
#include "util.h"

/*
 * Pages snapshot_kernel(2) keeps free for us beyond the pipeline's (and the cipher's)
 * buffers, which are faulted in after the snapshot (MCL_ONFAULT): bios and page cache for the
 * image writes.  The kernel's sizing keeps the whole overhead free besides the copy: each page
 * of it is a page less of image, so keep it small.
 */
#define HIB_OVERHEAD_PAGES 256	/* 1 MiB, the kernel's own SPARE_PAGES */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* /proc/meminfo of the system the run looks at (sys.proc_root in the tests). */
static void meminfo_path(const struct hib_run *run, char *buf, size_t size)
{
	snprintf(buf, size, "%s/meminfo", run->sys.proc_root ? run->sys.proc_root :
		 HIB_PROC_DEFAULT_ROOT);
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* ---- targets and keys ---------------------------------------------------------------------- */

int hib_sink_open_conf(const struct hib_conf *conf, const char *path, int mode,
		       struct hib_sink **ret_sink, char *why, size_t why_size)
{
	struct hib_http_config hc;
	int r;

	if (why_size)
		why[0] = 0;
	if (!path || !ret_sink)
		return -EINVAL;
	if (!hib_http_is_url(path))
		return mode == HIB_SINK_READ ? hib_sink_open(path, mode, ret_sink) :
		       hib_sink_open_safe(path, mode, ret_sink, why, why_size);
	if (!conf)
		return -EINVAL;
	r = hib_conf_http_config(conf, &hc, why, why_size);
	if (r < 0)
		return r;
	if (hc.bearer_token[0] && !strncmp(path, "http://", 7) && !conf->http_plain_token) {
		explicit_bzero(&hc, sizeof(hc));
		snprintf(why, why_size, "the bearer token would cross the network in the clear "
			 "over http://: use https://, or set allow-plain-http-token = yes under "
			 "[http] if the network is trusted");
		return -EINVAL;
	}
	r = hib_sink_open_http(path, mode, &hc, ret_sink);
	if (r >= 0 && hib_s3_is_url(path) && !hc.s3_key_id[0])
		snprintf(why, why_size, "%s: no S3 credentials (s3-credentials-file in [http] of "
			 "hibernate.conf): the requests go unsigned", path);
	explicit_bzero(&hc, sizeof(hc));
	return r;
}

/* The key of [image] (or the flags resolved into it) into *ret_key (NULL without one). */
static int load_key(struct hib_run *run, enum hib_step step, struct hib_image_key **ret_key)
{
	const struct hib_conf *c = run->conf;
	struct hib_image_key *k = NULL;
	const char *path = c->key_file[0] ? c->key_file : c->passphrase_file;
	bool pass = !c->key_file[0];
	int r;

	*ret_key = NULL;
	if (!path[0])
		return 0;
	if (!pass)
		r = hib_image_key_from_file(path, &k);
	else
		r = hib_image_key_from_passphrase_file(path, &k);
	if (r == -EPERM)
		return hib_fail(run, step, r, "%s: refused: a %s file must be owned by root and "
				"not accessible by group or others (chmod 600 %s)", path,
				pass ? "passphrase" : "key", path);
	if (r == -EINVAL)
		return hib_fail(run, step, r, "%s: %s", path, !pass ?
				"not a key: expected 32 raw bytes or 64 hex digits" :
				"no passphrase: expected one non-empty line (at most 1023 bytes)");
	if (r < 0)
		return hib_fail(run, step, r, "cannot read %s: %s", path, strerror(-r));
	*ret_key = k;
	return 0;
}

int hib_image_authentic(const struct hib_conf *conf, const char *path,
			const struct hib_image_info *info, char *why, size_t why_size)
{
	if (info->cipher != HIB_CIPHER_NONE)
		return 0;
	if (hib_http_is_url(path)) {
		snprintf(why, why_size, "the image is not encrypted, so not authenticated: anyone "
			 "who can write to %s could have forged it; an image on a network store "
			 "must be encrypted (key-file or passphrase-file under [image])", path);
		return -EBADMSG;
	}
	if (!conf || !conf->allow_unauthenticated) {
		snprintf(why, why_size, "the image is not encrypted, so not authenticated: anyone "
			 "who can write to %s could have forged it; encrypt images (key-file or "
			 "passphrase-file under [image]) or, if only root can write there, set "
			 "allow-unauthenticated = yes under [image] in hibernate.conf", path);
		return -EBADMSG;
	}
	snprintf(why, why_size, "warning: the image on %s is not authenticated "
		 "(allow-unauthenticated = yes): it is trusted because only root can write there",
		 path);
	return 1;
}

/* Before the freeze: will the image be one resume accepts? */
static int check_authenticity(struct hib_run *run, const char *target, bool have_key)
{
	const char *conf = run->conf->path[0] ? run->conf->path : HIB_CONF_DEFAULT_PATH;

	if (have_key || hib_fault_forge(run))
		return 0;
	if (hib_http_is_url(target))
		return hib_fail(run, HIB_STEP_PREPARE, -ENOKEY, "an image written to a URL must "
				"be encrypted: anyone who can write to %s could otherwise give this "
				"machine a forged image at resume; set key-file or passphrase-file "
				"under [image] in %s (or --key-file); nothing was frozen", target,
				conf);
	if (!run->conf->allow_unauthenticated)
		return hib_fail(run, HIB_STEP_PREPARE, -ENOKEY, "no image key: an unencrypted "
				"image is not authenticated, and resume would refuse it; set "
				"key-file or passphrase-file under [image] in %s (or --key-file), or "
				"allow-unauthenticated = yes there if only root can write to %s; "
				"nothing was frozen", conf, target);
	return 0;
}

/* The image target could not be opened: say why, as the user would look for it. */
static int sink_open_failed(struct hib_run *run, const char *path, int r, const char *why)
{
	if (why[0]) {
		hib_fail(run, HIB_STEP_PREPARE, r, "%s", why);
		return hib_fail(run, HIB_STEP_PREPARE, r, "nothing was frozen");
	}
	switch (-r) {
	case ENOENT:
		/* Under /dev a missing name is a missing device, never a new file. */
		hib_fail(run, HIB_STEP_PREPARE, r, "%s does not exist%s", path,
			 strncmp(path, "/dev/", 5) == 0 ? " (no such device)" :
			 " (nor does its directory)");
		break;
	case EROFS:
		hib_fail(run, HIB_STEP_PREPARE, r, "%s is read-only", path);
		break;
	case EINVAL:
		hib_fail(run, HIB_STEP_PREPARE, r, hib_http_is_url(path) ?
			 "%s is not a usable image URL (see above)" :
			 "%s is neither a block device nor a regular file", path);
		break;
	default:
		hib_fail(run, HIB_STEP_PREPARE, r, "cannot open %s: %s", path, strerror(-r));
	}
	return hib_fail(run, HIB_STEP_PREPARE, r, "nothing was frozen");
}

/* ---- hibernate ----------------------------------------------------------------------------- */

struct hibernation {
	struct hib_run run;
	sigset_t old_mask;
	char old_oom[16];		/* oom_score_adj before; "" if not changed */
	struct hib_conf defaults;
	const struct hib_hibernate_opts *opts;
	const char *target;
	char shown[PATH_MAX];		/* target for messages (hib_url_shown()) */
	bool dry;			/* a test stage: no target, no writer */
	bool stream;
	bool locked;
	bool frozen;
	struct hib_image_key *key;
	struct hib_image_writer *w;
	struct hib_pipeline *p;
	struct hib_policy_stage *pol;
	struct hib_dm_stage *dm;
	struct hib_sink *sink;
	struct hib_refusals refusals;
	struct hib_image_info id;
	struct hib_hibernate_stats st;
	int snap_fd;
	uint64_t image_pages;
	uint64_t mem_total;		/* MemTotal, bytes */
	uint64_t resume_reserve;	/* bytes the resume kernel keeps beside the image */
	uint64_t resume_max_pages;	/* the largest image it loads (hib_resume_max_pages()) */
};

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
	n = hib_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "\nRssAnon:");
	if (!p || sscanf(p + 9, " %llu", &kb) != 1)
		return 0;
	return kb;
}

static void progress(struct hibernation *h, uint64_t raw, uint64_t comp)
{
	const struct hib_events *ev = h->run.ev;

	if (ev && ev->progress)
		ev->progress(ev->userdata, HIB_STEP_WRITE, raw, comp, h->st.raw);
}

static void write_progress(void *ud, uint64_t in, uint64_t out)
{
	progress(ud, in, out);
}

/* What a hibernation defers while it runs: a signal must not end it in the frozen window. */
static const int deferred_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGQUIT };
#define OOM_ADJ_PATH "/proc/self/oom_score_adj"

/*
 * From before the first thread is started to after the thaw: the terminal's and the system's
 * stop signals are blocked (acted on once everything is thawed again), and the OOM killer
 * leaves this process alone (oom_score_adj -1000), since a hibernation that dies half-way
 * leaves every task frozen.  Failing to change oom_score_adj is a warning.
 */
static void guard_window(struct hibernation *h)
{
	sigset_t set;
	size_t i;
	int fd;

	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(deferred_signals); i++)
		sigaddset(&set, deferred_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, &h->old_mask);
	h->old_oom[0] = 0;
	fd = open(OOM_ADJ_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = hib_read_full(fd, h->old_oom, sizeof(h->old_oom) - 1);

		if (n > 0 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "-1000", 5) == 5) {
			h->old_oom[n] = 0;
		} else {
			h->old_oom[0] = 0;
			hib_warning(&h->run, HIB_STEP_PREPARE, -errno, "warning: cannot keep the "
				    "OOM killer away from this process (%s): %s", OOM_ADJ_PATH,
				    strerror(errno));
		}
		close(fd);
	}
}

static void unguard_window(struct hibernation *h)
{
	sigset_t pending;
	size_t i;
	int fd;

	if (h->old_oom[0]) {
		fd = open(OOM_ADJ_PATH, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, h->old_oom, strlen(h->old_oom)) < 0)
				hib_debug("cannot restore %s: %m", OOM_ADJ_PATH);
			close(fd);
		}
	}
	/* Only what this call deferred: a caller that blocks a signal itself handles it. */
	if (sigpending(&pending) == 0)
		for (i = 0; i < ARRAY_SIZE(deferred_signals); i++)
			if (sigismember(&pending, deferred_signals[i]) == 1 &&
			    sigismember(&h->old_mask, deferred_signals[i]) != 1)
				hib_notice(&h->run, HIB_STEP_ROLLBACK, "SIG%s arrived during the "
					   "hibernation: acted on now that everything is thawed",
					   sigabbrev_np(deferred_signals[i]));
	pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
}

/* Step 1's undo: everything prepare() took. */
static void hibernate_release(struct hibernation *h)
{
	if (h->locked)
		munlockall();
	h->locked = false;
	hib_pipeline_free(h->p);
	hib_image_writer_free(h->w);
	hib_sink_close(h->sink);
	hib_refusals_free(&h->refusals);
	hib_dm_stage_free(h->dm);
	hib_policy_stage_free(h->pol);
	hib_image_key_free(h->key);
	h->p = NULL;
	h->w = NULL;
	h->sink = NULL;
	h->dm = NULL;
	h->pol = NULL;
	h->key = NULL;
}

/*
 * Record the coming image's id on the machine itself (state.h), before anything is frozen:
 * resume will take no other image, so an older one, a copy or a replay is refused.
 */
static int record_image(struct hibernation *h)
{
	struct hib_state_record rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	if (h->dry || !h->run.conf->state[0])
		return 0;
	hib_image_writer_id(h->w, rec.image_id);
	rec.created = (uint64_t)time(NULL);
	/* The place is for messages only: a long one is cut. */
	memcpy(rec.place, h->shown, MIN(strlen(h->shown), sizeof(rec.place) - 1));
	r = hib_state_write(h->run.conf->state, &rec);
	if (r < 0)
		return hib_fail(&h->run, HIB_STEP_PREPARE, r, "cannot record the image on the "
				"state device %s: %s; nothing was frozen", h->run.conf->state,
				strerror(-r));
	return 0;
}

static const char *conf_path(const struct hib_run *run)
{
	return run->conf->path[0] ? run->conf->path : HIB_CONF_DEFAULT_PATH;
}

/* Step 1: everything that can fail or allocate, before anything is frozen. */
static int hibernate_prepare(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	char meminfo[PATH_MAX], why[1024];
	uint64_t mem, need, have = 0;
	int r;

	r = hib_fault_step(run, HIB_STEP_PREPARE);
	if (r < 0)
		return r;
	meminfo_path(run, meminfo, sizeof(meminfo));
	r = hib_meminfo_total(meminfo, &mem);
	if (r < 0)
		return hib_fail(run, HIB_STEP_PREPARE, r, "cannot read MemTotal from %s: %s",
				meminfo, strerror(-r));
	r = hib_system_identity(run->sys.notes_path, run->sys.machine_id_path, &h->id);
	if (r < 0)
		return hib_fail(run, HIB_STEP_PREPARE, r, "cannot identify the running kernel: %s",
				strerror(-r));
	hib_fault_build_id(run, &h->id);
	h->mem_total = mem;
	h->resume_reserve = hib_resume_reserve_bytes(mem, run->conf->resume_reserve_set,
						     run->conf->resume_reserve_mib);
	h->resume_max_pages = hib_resume_max_pages(mem, h->resume_reserve, h->id.page_size);
	if (h->resume_max_pages == 0 && (h->opts->test == HIB_TEST_NONE ||
					 h->opts->test == HIB_TEST_SNAPSHOT))
		return hib_fail(run, HIB_STEP_PREPARE, -EINVAL, "resume-reserve = %u under "
				"[hibernate] in %s leaves no room for an image: MemTotal is %.1f "
				"MiB; nothing was frozen", run->conf->resume_reserve_mib,
				conf_path(run), mib(mem));
	if (!h->dry) {
		if (!h->target || !h->target[0])
			return hib_fail(run, HIB_STEP_PREPARE, -EDESTADDRREQ, "no image target: "
					"give --output or set target under [hibernate] in %s; "
					"nothing was frozen", run->conf->path[0] ? run->conf->path :
					HIB_CONF_DEFAULT_PATH);
		/* The key first: an image resume would refuse is not worth a freeze. */
		r = load_key(run, HIB_STEP_PREPARE, &h->key);
		if (r < 0)
			return r;
		r = check_authenticity(run, h->shown, h->key);
		if (r < 0)
			return r;
		r = hib_sink_open_conf(run->conf, h->target, HIB_SINK_WRITE, &h->sink, why,
				       sizeof(why));
		if (r < 0)
			return sink_open_failed(run, h->shown, r, why);
		if (why[0])
			hib_warning(run, HIB_STEP_PREPARE, 0, "%s", why);
		need = hib_image_worst_case(mem, h->id.chunk_size);
		r = hib_sink_preflight(h->sink, need, &have);
		if (r == -ENOSPC)
			return hib_fail(run, HIB_STEP_PREPARE, r, "%s is too small: it holds %" PRIu64
					" bytes (%.1f MiB), the worst case image of %.1f MiB of RAM "
					"needs %" PRIu64 " bytes (%.1f MiB); nothing was frozen",
					h->shown, have, mib(have), mib(mem), need, mib(need));
		if (r < 0)
			return hib_fail(run, HIB_STEP_PREPARE, r, "%s: %s; nothing was frozen",
					h->shown, strerror(-r));
	}
	/* The protected filesystems and their COW store; nothing is created yet. */
	if (h->opts->test != HIB_TEST_FREEZE) {
		r = hib_dm_stage_prepare(run, h->sink, h->shown, &h->dm);
		if (r < 0)
			return r;
	}
	/* The thaw policy, the mounts to sync and the sync worker (steps 3, 3b). */
	r = hib_policy_stage_prepare(run, h->opts->policy, h->opts->policy_dir, &h->pol);
	if (r < 0)
		return r;
	if (!h->dry) {
		r = hib_image_writer_new(h->sink, &h->id, &h->w);
		if (r >= 0 && h->key)
			r = hib_image_writer_set_key(h->w, h->key);
		if (r >= 0)
			r = hib_pipeline_new(run->conf->threads, h->id.chunk_size, &h->p);
	}
	if (r >= 0)
		r = hib_refusals_alloc(&h->refusals, HIB_REFUSALS_DEFAULT_MAX);
	if (r < 0)
		return hib_fail(run, HIB_STEP_PREPARE, r, "cannot prepare the image writer: %s; "
				"nothing was frozen", strerror(-r));
	r = record_image(h);
	if (r < 0)
		return r;
	h->st.threads = hib_pipeline_threads(h->p);
	/*
	 * snapshot_kernel(2) refuses any snapshot with swap on (the image's swap slots could
	 * be reused while it is written): say so before anything is frozen.  Frozen tasks'
	 * pages are streamed from their frames (images of most of RAM) unless told not to.
	 */
	r = hib_swap_active(run->sys.proc_root);
	if (r > 0)
		return hib_fail(run, HIB_STEP_PREPARE, -EBUSY, "swap is on (%d area%s): the "
				"kernel takes no snapshot then, as the image's swap slots could be "
				"reused while it is written; swapoff -a first; nothing was frozen",
				r, r == 1 ? "" : "s");
	h->stream = !run->conf->no_stream;
	if (!run->sys.no_mlock) {
		/*
		 * Lock what is resident and whatever is faulted in later, but do not populate
		 * the buffers now: a page touched only after the snapshot is not in the image,
		 * where a pre-faulted empty buffer would be copied (and cost twice).
		 */
		if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
			return hib_fail(run, HIB_STEP_PREPARE, -errno, "cannot lock memory "
					"(mlockall): %s; nothing was frozen", strerror(errno));
		h->locked = true;
	}
	return 0;
}

/* Steps 2, 3, 3b; on failure everything is thawed again. */
static int freeze_tasks(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	double t0 = now_ms();
	int r;

	r = hib_fault_step(run, HIB_STEP_FREEZE);
	if (r < 0)
		return r;
	r = hib_policy_stage_freeze(run, h->pol, &h->refusals);
	h->st.freeze_ms = now_ms() - t0;
	if (r < 0)
		return r;
	h->frozen = true;
	if (h->opts->test == HIB_TEST_FREEZE)
		hib_notice(run, HIB_STEP_FREEZE, "froze %d threads", r);
	r = hib_fault_step(run, HIB_STEP_POLICY);
	if (r == 0)
		r = hib_fault_step(run, HIB_STEP_SYNC);
	if (r == 0)
		r = hib_policy_stage_run(run, h->pol);
	if (r < 0)
		hib_error(run, run->fail_step, 0, "everything was thawed again");
	return r;
}

/* freeze_tasks()'s undo. */
static int thaw_tasks(struct hibernation *h)
{
	int r;

	if (!h->frozen)
		return 0;
	r = hib_thaw_all();
	h->frozen = false;
	if (r < 0) {
		hib_error(&h->run, HIB_STEP_ROLLBACK, r, "thaw all: %s", hib_freeze_strerror(r));
		return r;
	}
	return 0;	/* not the kernel's count of thawed threads */
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
	return strerror(-r);
}

/* A test stage is reached: hold it 2 s; the caller rolls back. */
static void test_hold(struct hibernation *h, enum hib_step step, const char *stage,
		      const char *what)
{
	hib_notice(&h->run, step, "test=%s: %s; holding 2 s, then rolling back", stage, what);
	sleep(2);
}

/*
 * Step 5's last check: an image the resume kernel cannot load (image-format.h: the resume
 * reserve) is refused before anything is written; the caller closes the snapshot, switches
 * the protected filesystems back and thaws everything.
 */
static int image_too_big(struct hibernation *h, uint64_t pages)
{
	struct hib_run *run = &h->run;
	uint64_t ps = h->id.page_size;

	return hib_fail(run, HIB_STEP_SNAPSHOT, -ENOMEM, "the image of %" PRIu64 " pages (%.1f "
			"MiB) is too large to resume: the resume kernel loads at most %" PRIu64
			" pages (%.1f MiB), MemTotal %.1f MiB less the resume reserve of %.1f MiB "
			"(%s); nothing was written: free memory (stop or shrink a workload) and "
			"hibernate again, or lower resume-reserve under [hibernate] in %s if the "
			"resume environment is known to be small; everything was thawed again",
			pages, mib(pages * ps), h->resume_max_pages,
			mib(h->resume_max_pages * ps), mib(h->mem_total), mib(h->resume_reserve),
			run->conf->resume_reserve_set ? "resume-reserve" :
			"the default, 5% of MemTotal + 64 MiB", conf_path(run));
}

/*
 * Steps 4, 5 and 5b: protect, snapshot, thaw the filesystems.  1 on the resumed side (R5
 * done), 0 with h->snap_fd open, or -errno (the caller's dm abort undoes step 4).
 */
static int hibernation_snapshot(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	struct snapshot_kernel_args sk = {};
	double t0 = now_ms();
	int r;

	/* Step 4: freeze the protected filesystems and switch them to dm snapshots. */
	r = hib_fault_step(run, HIB_STEP_PROTECT);
	if (r == 0)
		r = hib_dm_stage_protect(run, h->dm);
	if (r < 0) {
		hib_error(run, HIB_STEP_PROTECT, 0, "everything was thawed again");
		return r;
	}
	if (h->opts->test == HIB_TEST_DM) {
		test_hold(h, HIB_STEP_PROTECT, "dm", "the protected filesystems are frozen on "
			  "their snapshots");
		return 0;
	}
	r = hib_fault_step(run, HIB_STEP_SNAPSHOT);
	if (r < 0)
		return r;

	/* The pipeline's and the sink's buffers are faulted in after the snapshot. */
	sk.overhead_pages = HIB_OVERHEAD_PAGES + hib_pipeline_buffer_bytes(h->p) / 4096 +
			    (h->key ? 2 * (hib_chunk_bound(h->id.chunk_size) +
					   HIB_CRYPTO_CHUNK_EXTRA) / 4096 : 0) +
			    (h->sink ? (h->sink->write_buffer_bytes + 4095) / 4096 : 0);
	h->st.overhead_pages = sk.overhead_pages;
	h->st.rss_anon_kb = self_rss_anon_kb();
	if (h->stream)
		sk.flags |= SNAPSHOT_KERNEL_STREAM;
	r = hib_snapshot_kernel(&sk);
	h->st.snapshot_ms = now_ms() - t0;
	if (r < 0)
		return hib_fail(run, HIB_STEP_SNAPSHOT, r, "snapshot_kernel: %s; everything was "
				"thawed again", snapshot_strerror(r));
	if (sk.resumed) {
		/* R5: the protected filesystems back on their own tables, then every task. */
		hib_dm_stage_resumed(run, h->dm);
		r = thaw_tasks(h);
		hib_notice(run, HIB_STEP_RESUMED, "resumed from hibernation image");
		return r < 0 ? r : 1;
	}
	h->snap_fd = sk.fd;
	if (h->snap_fd < 0 || sk.image_pages == 0 || sk.image_pages > HIB_IMAGE_PAGES_MAX)
		return hib_fail(run, HIB_STEP_SNAPSHOT, -EPROTO, "snapshot_kernel returned fd %d "
				"and %llu pages; everything was thawed again", sk.fd,
				(unsigned long long)sk.image_pages);
	h->image_pages = sk.image_pages;
	h->st.pages = sk.image_pages;
	h->st.raw = sk.image_pages * h->id.page_size;
	if (sk.image_pages > h->resume_max_pages)
		return image_too_big(h, sk.image_pages);

	/* Step 5b: thaw the protected filesystems; later writes land in the COW stores. */
	r = hib_fault_step(run, HIB_STEP_FS_THAW);
	if (r == 0)
		r = hib_dm_stage_thaw(run, h->dm);
	if (r < 0) {
		hib_error(run, HIB_STEP_FS_THAW, 0, "everything was thawed again");
		return r;
	}
	hib_dm_stage_fault_window(run, h->dm);
	hib_fault_after_snapshot(run);
	return 0;
}

/* Step 6: the image through the pipeline into the target, then its commit. */
static int write_image(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	struct hib_pipeline_stats ps;
	struct hib_final totals;
	double t0 = now_ms(), t1;
	int r;

	r = hib_dm_stage_identities(h->dm, h->w);
	if (r < 0)
		return hib_fail(run, HIB_STEP_WRITE, r, "cannot record the protected origins: %s; "
				"everything was thawed again", strerror(-r));
	r = hib_fault_step(run, HIB_STEP_WRITE);
	if (r < 0)
		return r;
	(void)hib_snapshot_fd_stats(h->snap_fd, &h->st.copied, &h->st.streamed);
	r = hib_image_writer_begin(h->w, h->image_pages, (uint64_t)time(NULL));
	if (r >= 0) {
		progress(h, 0, 0);
		r = hib_pipeline_compress_fd(h->p, h->snap_fd, h->st.raw, h->w, write_progress, h);
	}
	t1 = now_ms();
	h->st.write_ms = t1 - t0;
	hib_pipeline_stats(h->p, &ps);
	h->st.read_ms = ps.read_ns / 1e6;
	h->st.csum_ms = ps.csum_ns / 1e6;
	h->st.compress_ms = ps.compress_ns / 1e6;
	h->st.encrypt_ms = ps.encrypt_ns / 1e6;
	h->st.sink_ms = ps.sink_ns / 1e6;
	h->st.sink_wall_ms = ps.sink_wall_ns / 1e6;
	h->st.read_wait_ms = ps.produce_wait_ns / 1e6;
	h->st.write_wait_ms = ps.consume_wait_ns / 1e6;
	if (r < 0)
		return hib_fail(run, HIB_STEP_WRITE, r, "writing the image to %s failed at offset %"
				PRIu64 ": %s; everything was thawed again", h->shown,
				hib_image_writer_offset(h->w), strerror(-r));
	/* A COW store that overflowed during the write lost writes: do not power off. */
	r = hib_dm_stage_check_valid(run, h->dm);
	if (r < 0)
		return r;
	r = hib_image_writer_finish(h->w);
	h->st.sync_ms = now_ms() - t1;
	if (r < 0)
		return hib_fail(run, HIB_STEP_WRITE, r, "finishing the image on %s failed: %s; "
				"everything was thawed again", h->shown, strerror(-r));
	hib_image_writer_totals(h->w, &totals);
	h->st.comp = totals.comp_bytes;
	h->st.chunks = totals.chunks;
	close(h->snap_fd);
	h->snap_fd = -1;
	return 0;
}

/* A valid image must not outlive a system that keeps running. */
static void invalidate(struct hibernation *h, enum hib_step step)
{
	int r = hib_image_invalidate(h->sink);

	if (r < 0)
		hib_error(&h->run, step, r, "cannot invalidate the image on %s: %s; do not resume "
			  "from it", h->shown, strerror(-r));
}


static void summary(struct hibernation *h)
{
	const struct hib_events *ev = h->run.ev;

	if (ev && ev->summary)
		ev->summary(ev->userdata, h->shown, &h->st);
}


/* --no-poweroff: the abort after 5b, with the image invalidated if the disk moved on. */
static int keep_running(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	int rdm, r;

	/* Merge the writes made since the snapshot back. */
	rdm = hib_dm_stage_abort(run, h->dm);
	/* The protected filesystems moved on: never resume this image. */
	if (hib_dm_stage_count(h->dm)) {
		r = hib_image_invalidate(h->sink);
		if (r < 0)
			hib_error(run, HIB_STEP_ROLLBACK, r, "cannot invalidate the image on %s: "
				  "%s; do not resume from it", h->shown, strerror(-r));
		else
			hib_notice(run, HIB_STEP_ROLLBACK, "the image was invalidated: the "
				   "protected filesystems are no longer at its snapshot instant");
	}
	r = thaw_tasks(h);
	if (r < 0)
		return hib_fail(run, HIB_STEP_ROLLBACK, r, "everything could not be thawed");
	summary(h);
	hib_notice(run, HIB_STEP_ROLLBACK, "not powering off (--no-poweroff): everything was "
		   "thawed again");
	return rdm < 0 ? hib_fail(run, HIB_STEP_ROLLBACK, rdm, "the protected filesystems "
				  "were not restored (see above)") : 0;
}

/* Step 7.  Returns only if the power-off failed (the image is invalidated then). */
static int power_off(struct hibernation *h)
{
	struct hib_run *run = &h->run;
	int r;

	r = hib_fault_step(run, HIB_STEP_POWEROFF);
	if (r < 0) {
		invalidate(h, HIB_STEP_POWEROFF);
		return r;
	}
	/* The image is valid: a boot that does not resume must not merge the window writes. */
	hib_dm_stage_mark_hibernated(run, h->dm);
	summary(h);
	hib_notice(run, HIB_STEP_POWEROFF, "powering off");
	sync();
	if (run->sys.no_poweroff_call) {
		r = -ENOTSUP;
	} else {
		reboot(RB_POWER_OFF);
		r = -errno;
	}
	hib_fail(run, HIB_STEP_POWEROFF, r, "power-off failed: %s; invalidating the image and "
		 "thawing", strerror(-r));
	invalidate(h, HIB_STEP_POWEROFF);
	return r;
}

int hib_hibernate(const struct hib_hibernate_opts *opts, const struct hib_events *ev)
{
	struct hibernation *h;
	int r, rt;

	if (!opts || opts->sz < HIB_HIBERNATE_OPTS_SZ_MIN)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	hib_run_init(&h->run, opts->conf, &h->defaults,
		     opts->sz > offsetof(struct hib_hibernate_opts, sys) ? opts->sys : NULL, ev);
	h->opts = opts;
	h->target = opts->target ? opts->target : h->run.conf->target;
	hib_url_shown(h->target ? h->target : "", h->shown, sizeof(h->shown));
	h->dry = opts->test != HIB_TEST_NONE;
	h->snap_fd = -1;

	guard_window(h);
	r = hibernate_prepare(h);
	if (r < 0)
		goto out;
	r = freeze_tasks(h);
	if (r < 0)
		goto thaw;
	if (opts->test == HIB_TEST_FREEZE) {
		hib_notice(&h->run, HIB_STEP_SYNC, "test=freeze: holding 2 s, then thawing "
			   "everything");
		sleep(2);
		goto thaw;
	}
	r = hibernation_snapshot(h);
	if (r == 1)
		goto out;	/* the resumed side: R5 done */
	if (r < 0 || opts->test == HIB_TEST_DM)
		goto abort;
	if (opts->test == HIB_TEST_SNAPSHOT) {
		char what[256];

		(void)hib_snapshot_fd_stats(h->snap_fd, &h->st.copied, &h->st.streamed);
		snprintf(what, sizeof(what), "image of %" PRIu64 " pages taken (%" PRIu64 " copied, %"
			 PRIu64 " streamed from frames; it resumes: at most %" PRIu64 "), not "
			 "written", h->image_pages, h->st.copied, h->st.streamed,
			 h->resume_max_pages);
		test_hold(h, HIB_STEP_FS_THAW, "snapshot", what);
		goto abort;
	}
	r = write_image(h);
	if (r < 0)
		goto abort;
	if (opts->no_poweroff) {
		r = keep_running(h);
		goto out;
	}
	r = power_off(h);
abort:
	if (h->snap_fd >= 0)
		close(h->snap_fd);
	h->snap_fd = -1;
	/* Any abort: switch back (before 5b) or merge back (after), remove the helpers. */
	hib_dm_stage_abort(&h->run, h->dm);
thaw:
	rt = thaw_tasks(h);
	if (rt < 0 && r >= 0)
		r = hib_fail(&h->run, HIB_STEP_ROLLBACK, rt, "everything could not be thawed");
	else if (rt == 0 && r >= 0 && h->dry)
		hib_notice(&h->run, HIB_STEP_ROLLBACK, "everything was thawed again");
out:
	if (h->snap_fd >= 0)
		close(h->snap_fd);
	hibernate_release(h);
	unguard_window(h);
	free(h);
	return r;
}

/* ---- resume -------------------------------------------------------------------------------- */

struct resumption {
	struct hib_run run;
	struct hib_conf defaults;
	const char *source;
	char shown[PATH_MAX];		/* source for messages (hib_url_shown()) */
	bool migrate;
	struct hib_sink *sink;
	struct hib_image_reader *rd;
	struct hib_pipeline *p;
	int fd;
};

/*
 * resume from a URL: bring the network up if ip= is on the kernel command line
 * (conf->cmdline_file, from $HIBERNATE_CMDLINE: that file instead of /proc/cmdline) or ip = is
 * under [network] in the configuration.  0 (also when nothing was asked for) or -errno
 * (reported).
 */
static int network_up(struct hib_run *run, const char *url)
{
	const char *cmdline = run->conf->cmdline_file[0] ? run->conf->cmdline_file : NULL;
	char why[HIB_NET_WHY_MAX] = "", addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct hib_net_config nc;
	struct hib_net_result res;
	const char *from;
	int r;

	if (!hib_http_is_url(url))
		return 0;
	r = hib_net_read_cmdline(cmdline, &nc, why, sizeof(why));
	from = "ip= on the kernel command line";
	if (r == -ENOENT || (r < 0 && r != -EINVAL)) {
		if (!run->conf->net_ip[0])
			return 0;	/* nothing asked for: the network is someone else's */
		from = "ip = under [network] in the configuration";
		r = hib_net_parse_ip(run->conf->net_ip, &nc, why, sizeof(why));
	}
	if (r < 0)
		return hib_fail(run, HIB_STEP_OPEN, r, "network: %s: %s; network not configured, "
				"not resuming", from, why);
	if (nc.method == HIB_NET_OFF) {
		hib_notice(run, HIB_STEP_OPEN, "network: off (%s)", from);
		return 0;
	}
	hib_notice(run, HIB_STEP_OPEN, "network: configuring %s by %s (%s)",
		   nc.device[0] ? nc.device : "the first interface",
		   nc.method == HIB_NET_DHCP ? "DHCP" : "a static address", from);
	r = hib_net_configure(&nc, NULL, &res, why, sizeof(why));
	if (r < 0)
		return hib_fail(run, HIB_STEP_OPEN, r, "network: %s; not resuming", why);
	inet_ntop(AF_INET, &res.addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &res.gateway, gw, sizeof(gw));
	hib_notice(run, HIB_STEP_OPEN, "network: %s is %s/%d%s%s%s", res.device, addr,
		   hib_net_prefix(res.netmask), res.gateway.s_addr ? ", default route via " : "",
		   res.gateway.s_addr ? gw : "", res.dhcp ? " (DHCP lease)" : "");
	r = hib_net_write_resolv(NULL, &res);
	if (r > 0)
		hib_notice(run, HIB_STEP_OPEN, "network: wrote nameserver %s%s%s to %s",
			   inet_ntop(AF_INET, &res.dns[0], addr, sizeof(addr)),
			   res.dns[1].s_addr ? " " : "",
			   res.dns[1].s_addr ? inet_ntop(AF_INET, &res.dns[1], gw, sizeof(gw)) : "",
			   "/etc/resolv.conf");
	else if (r < 0)
		hib_warning(run, HIB_STEP_OPEN, r, "network: cannot write %s: %s (names in the URL "
			    "will not resolve)", "/etc/resolv.conf", strerror(-r));
	return 0;
}

int hib_image_open(const struct hib_conf *conf, const char *path, int mode,
		   const struct hib_events *ev, struct hib_sink **ret_sink,
		   struct hib_image_reader **ret_reader)
{
	_cleanup_(hib_image_key_freep) struct hib_image_key *key = NULL;
	char why[HIB_IMAGE_WHY_MAX + 512];
	struct hib_image_reader *rd;
	char shown[PATH_MAX];
	struct hib_conf defaults;
	struct hib_sink *sink;
	struct hib_run *run;
	uint64_t off = 0;
	int r;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	hib_run_init(run, conf, &defaults, NULL, ev);
	hib_url_shown(path, shown, sizeof(shown));
	if (mode == HIB_SINK_UPDATE) {
		r = network_up(run, path);
		if (r < 0)
			goto out;
	}
	r = hib_sink_open_conf(run->conf, path, mode, &sink, why, sizeof(why));
	if (r < 0) {
		if (why[0])
			hib_error(run, HIB_STEP_OPEN, r, "%s", why);
		if (r == -EACCES && hib_http_is_url(path))
			hib_fail(run, HIB_STEP_OPEN, r, "%s refused access (see above): check the %s "
				 "([http] in hibernate.conf)", shown, hib_s3_is_url(path) ?
				 "S3 credentials" : "bearer token and the client certificate");
		else if (r == -EINVAL && hib_http_is_url(path))
			hib_fail(run, HIB_STEP_OPEN, r, "%s is not a usable image URL (see above)",
				 shown);
		else
			hib_fail(run, HIB_STEP_OPEN, r, "no hibernation image on %s: %s", shown,
				 strerror(-r));
		/* No device, no file, no object: nothing to resume. */
		if (!(r == -EACCES || r == -EPROTO || (r == -EINVAL && hib_http_is_url(path))))
			r = -ENODATA;
		goto out;
	}
	if (why[0])
		hib_warning(run, HIB_STEP_OPEN, 0, "%s", why);
	r = load_key(run, HIB_STEP_OPEN, &key);
	if (r < 0) {
		hib_sink_close(sink);
		goto out;
	}
	r = hib_image_reader_open_key(sink, key, &rd, why, &off);
	if (r < 0) {
		hib_sink_close(sink);
		if (r == -EPERM || r == -ENOKEY || r == -EKEYREJECTED) {
			hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: %s%s", shown,
				 why, r == -ENOKEY ? " (--key-file or --passphrase-file)" : "");
			r = -EBADMSG;
		} else if (r == -ENODATA) {
			/* Not an error: the boot goes on. */
			hib_notice(run, HIB_STEP_OPEN, "no hibernation image on %s (%s)", shown, why);
		} else if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
			hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: %s (offset %"
				 PRIu64 ")", shown, why, off);
			r = -EBADMSG;
		} else {
			hib_fail(run, HIB_STEP_OPEN, r, "cannot read %s: %s", shown, why);
		}
		goto out;
	}
	if (mode == HIB_SINK_UPDATE) {
		/* A resume: only an authenticated image, or one explicitly allowed. */
		r = hib_image_authentic(run->conf, shown, hib_image_reader_info(rd), why,
					sizeof(why));
		if (r < 0) {
			hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: %s", shown,
				 why);
			hib_image_reader_free(rd);
			hib_sink_close(sink);
			goto out;
		}
		if (r > 0)
			hib_warning(run, HIB_STEP_OPEN, 0, "%s", why);
	}
	*ret_sink = sink;
	*ret_reader = rd;
	r = 0;
out:
	free(run);
	return r;
}

static void load_progress(void *ud, uint64_t in, uint64_t out)
{
	struct resumption *rs = ud;
	const struct hib_events *ev = rs->run.ev;

	if (ev && ev->progress)
		ev->progress(ev->userdata, HIB_STEP_LOAD, out, in,
			     hib_image_reader_info(rs->rd)->raw_bytes);
}

/* Is the image the one this machine recorded at its last hibernation? */
static int check_recorded(struct resumption *rs)
{
	struct hib_run *run = &rs->run;
	const char *state = run->conf->state;
	struct hib_state_record rec;
	uint8_t id[HIB_IMAGE_ID_BYTES];
	int r;

	if (!state[0]) {
		if (hib_http_is_url(rs->source))
			hib_warning(run, HIB_STEP_OPEN, 0, "warning: no state device (state = under "
				    "[hibernate]): only the store's deletion keeps %s from being "
				    "resumed twice", rs->shown);
		return 0;
	}
	r = hib_state_read(state, &rec);
	if (r == -ENODATA) {
		hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: no hibernation "
			 "is recorded on this machine (state %s): the image was already resumed, or "
			 "is a copy or an older one; booting normally", rs->shown, state);
		return -EBADMSG;
	}
	if (r == -EBADMSG) {
		hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: the record on "
			 "the state device %s is damaged; booting normally", rs->shown, state);
		return -EBADMSG;
	}
	if (r < 0)
		return hib_fail(run, HIB_STEP_OPEN, r, "cannot read the state device %s: %s; not "
				"resuming", state, strerror(-r));
	hib_image_reader_id(rs->rd, id);
	if (memcmp(id, rec.image_id, sizeof(id)) != 0) {
		hib_sanitize(rec.place, sizeof(rec.place), rec.place, sizeof(rec.place));
		hib_fail(run, HIB_STEP_OPEN, -ESTALE, "hibernation image on %s refused: it is not "
			 "the last hibernation recorded on this machine (that one was written to "
			 "%s): a replayed or older image; booting normally", rs->shown, rec.place);
		return -EBADMSG;
	}
	hib_notice(run, HIB_STEP_OPEN, "image on %s is this machine's last hibernation (state %s)",
		   rs->shown, state);
	return 0;
}

/*
 * What this boot's kernel, initramfs and hibernatectl (its pipeline allocated) use, against the
 * image about to be loaded: the figure resume-reserve (image-format.h) has to cover, on the
 * console of every resume.  A warning, not a refusal, when the image looks larger than what is
 * available: the kernel's allocation decides, and a refusal would lose the session for sure.
 */
static void report_resume_memory(struct hib_run *run, const struct hib_image_info *info)
{
	uint64_t mem, avail, need = info->raw_bytes;
	char meminfo[PATH_MAX];

	meminfo_path(run, meminfo, sizeof(meminfo));
	if (hib_meminfo_total(meminfo, &mem) < 0 ||
	    hib_meminfo_field(meminfo, "MemAvailable", &avail) < 0 || avail > mem)
		return;
	if (need < avail)
		hib_notice(run, HIB_STEP_LOAD, "memory: this kernel, its initramfs and hibernatectl "
			   "use %.1f MiB of MemTotal %.1f MiB; the image needs %.1f MiB, %.1f MiB "
			   "to spare", mib(mem - avail), mib(mem), mib(need), mib(avail - need));
	else
		hib_warning(run, HIB_STEP_LOAD, 0, "warning: memory: this kernel, its initramfs and "
			    "hibernatectl use %.1f MiB of MemTotal %.1f MiB; the image needs %.1f "
			    "MiB, %.1f MiB more than is available: the load may run out of memory "
			    "(a larger resume-reserve under [hibernate] keeps the next image smaller)",
			    mib(mem - avail), mib(mem), mib(need), mib(need - avail));
}

/* R1-R4 once the image is open.  Returns only on failure. */
static int resume_image(struct resumption *rs)
{
	struct hib_run *run = &rs->run;
	const char *dev = run->sys.snapshot_dev ? run->sys.snapshot_dev : "/dev/snapshot";
	const struct hib_image_info *info = hib_image_reader_info(rs->rd);
	struct hib_pipeline_stats st;
	char why[HIB_IMAGE_WHY_MAX];
	struct hib_image_info sys;
	bool stale = false;
	uint64_t off = 0;
	double t0;
	int r;

	r = hib_system_identity(run->sys.notes_path, run->sys.machine_id_path, &sys);
	if (r < 0)
		return hib_fail(run, HIB_STEP_OPEN, r, "cannot identify the running kernel: %s; "
				"not resuming", strerror(-r));
	/* Another machine's image is another machine's memory: only when asked for. */
	if (!sys.host_id[0]) {
		hib_warning(run, HIB_STEP_OPEN, 0, "warning: this system has no machine id "
			    "(/etc/machine-id, copy it into the initramfs): the image's host "
			    "cannot be checked");
	} else if (strcmp(info->host_id, sys.host_id) != 0) {
		if (!rs->migrate) {
			hib_fail(run, HIB_STEP_OPEN, -EXDEV, "hibernation image on %s refused: it "
				 "was made on host %s, this is host %s (machine id); resume --migrate "
				 "restores another host's image; booting normally", rs->shown,
				 info->host_id[0] ? info->host_id : "?", sys.host_id);
			return -EBADMSG;
		}
		hib_warning(run, HIB_STEP_OPEN, 0, "warning: migrating: the image was made on host "
			    "%s, this is host %s", info->host_id[0] ? info->host_id : "?",
			    sys.host_id);
	}

	r = hib_image_check_system(info, &sys, why, sizeof(why));
	if (r < 0) {
		hib_fail(run, HIB_STEP_OPEN, r, "hibernation image on %s refused: %s; booting "
			 "normally", rs->shown, why);
		return -EBADMSG;
	}

	/* One-shot, whatever the store does: only the image recorded on this machine. */
	r = check_recorded(rs);
	if (r < 0)
		return r;

	/* R2: every protected origin must be as it was at the snapshot instant. */
	r = hib_dm_stage_verify_image(run, info, rs->shown, &stale);
	if (r < 0) {
		if (stale && hib_image_invalidate(rs->sink) == 0)
			hib_error(run, HIB_STEP_VERIFY, 0, "the image on %s was invalidated",
				  rs->shown);
		return -EBADMSG;
	}

	r = hib_pipeline_new(run->conf->threads, info->chunk_size, &rs->p);
	if (r < 0)
		return hib_fail(run, HIB_STEP_LOAD, r, "cannot start the pipeline: %s",
				strerror(-r));
	rs->fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (rs->fd < 0)
		return hib_fail(run, HIB_STEP_LOAD, -errno, "cannot open %s: %s; booting normally",
				dev, strerror(errno));

	/* The image is read once, front to back: past the page cache (a buffered read would fill
	 * with it the memory the kernel is about to allocate for the image). */
	if (rs->sink->kind == HIB_SINK_BLOCK || rs->sink->kind == HIB_SINK_FILE) {
		r = hib_sink_read_direct(rs->sink, 0);
		if (r < 0)
			hib_debug("no O_DIRECT reads of %s (%s): through the page cache",
				  rs->shown, strerror(-r));
	}
	report_resume_memory(run, info);
	/* Every chunk is verified before it is decompressed, and FINAL before we go on. */
	t0 = now_ms();
	load_progress(rs, 0, 0);
	r = hib_pipeline_decompress_fd(rs->p, rs->rd, rs->fd, load_progress, rs);
	if (r < 0) {
		const char *reason = hib_image_reader_why(rs->rd, &off);

		if (reason[0]) {
			hib_fail(run, HIB_STEP_LOAD, r, "hibernation image on %s refused: %s (offset %"
				 PRIu64 "); nothing was restored, booting normally", rs->shown,
				 reason, off);
			return r == -EBADMSG ? -EBADMSG : r;
		}
		return hib_fail(run, HIB_STEP_LOAD, r, "loading the image into %s failed: %s; "
				"booting normally", dev, strerror(-r));
	}
	/* Where the load's time went, as HIBERNATE-STATS says it for the write. */
	hib_pipeline_stats(rs->p, &st);
	hib_notice(run, HIB_STEP_LOAD, "load stages: CPU ms over all threads: read %.1f, checksum "
		   "%.1f, decompress %.1f, write into %s %.1f (%s); wall ms: workers idle %.1f, "
		   "reading %.1f, waiting for their turn to write %.1f, writing %.1f; writer "
		   "waiting %.1f, all %.1f", st.read_ns / 1e6, st.csum_ns / 1e6,
		   st.compress_ns / 1e6, dev, (st.consume_ns + st.place_ns) / 1e6,
		   st.place_ns ? "pwrite(2) by the workers" : "write(2) by the writer",
		   st.produce_wait_ns / 1e6, st.read_wall_ns / 1e6, st.place_turn_ns / 1e6,
		   st.place_wall_ns / 1e6, st.consume_wait_ns / 1e6, st.wall_ns / 1e6);
	/* The workers must be gone before SNAPSHOT_FREEZE: it freezes every other thread. */
	hib_pipeline_free(rs->p);
	rs->p = NULL;

	/* R3, one-shot: never restore the same image twice. */
	r = hib_fault_step(run, HIB_STEP_INVALIDATE);
	if (r < 0)
		return r;
	r = hib_image_invalidate(rs->sink);
	if (r < 0)
		return hib_fail(run, HIB_STEP_INVALIDATE, r, "cannot invalidate the image on %s: "
				"%s; not restoring it", rs->shown, strerror(-r));
	if (run->conf->state[0]) {
		r = hib_state_clear(run->conf->state);
		if (r < 0)
			return hib_fail(run, HIB_STEP_INVALIDATE, r, "cannot clear the record on the "
					"state device %s: %s; not restoring the image",
					run->conf->state, strerror(-r));
	}
	/* Loaded and invalidated: its data (all of memory) need not stay readable there. */
	r = hib_image_discard(rs->sink, hib_image_reader_offset(rs->rd) + HIB_IMAGE_BLOCK);
	if (r < 0)
		hib_warning(run, HIB_STEP_INVALIDATE, r, "warning: cannot discard the used image "
			    "on %s: %s; its data stay readable there", rs->shown, strerror(-r));
	hib_notice(run, HIB_STEP_RESTORE, "restoring hibernation image from %s (%" PRIu64
		   " pages, loaded in %.1f ms)", rs->shown, info->image_pages, now_ms() - t0);

	/* R4. */
	if (ioctl(rs->fd, SNAPSHOT_FREEZE) < 0)
		return hib_fail(run, HIB_STEP_RESTORE, -errno, "%s: SNAPSHOT_FREEZE: %s; booting "
				"normally", dev, strerror(errno));
	ioctl(rs->fd, SNAPSHOT_ATOMIC_RESTORE);
	/* Only returns on failure; closing the device thaws. */
	return hib_fail(run, HIB_STEP_RESTORE, -errno, "%s: SNAPSHOT_ATOMIC_RESTORE: %s; the "
			"image was invalidated, booting normally", dev, strerror(errno));
}

int hib_resume(const struct hib_resume_opts *opts, const struct hib_events *ev)
{
	struct resumption *rs;
	int r, rr;

	if (!opts || opts->sz < HIB_RESUME_OPTS_SZ_MIN)
		return -EINVAL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	hib_run_init(&rs->run, opts->conf, &rs->defaults,
		     opts->sz > offsetof(struct hib_resume_opts, sys) ? opts->sys : NULL, ev);
	rs->fd = -1;
	rs->migrate = opts->migrate;
	rs->source = opts->source ? opts->source : rs->run.conf->target;
	hib_url_shown(rs->source ? rs->source : "", rs->shown, sizeof(rs->shown));
	if (!rs->source || !rs->source[0]) {
		r = hib_fail(&rs->run, HIB_STEP_OPEN, -EDESTADDRREQ, "no image source: give "
			     "--input or set target under [hibernate] in the configuration");
		goto out;
	}
	r = hib_image_open(rs->run.conf, rs->source, HIB_SINK_UPDATE, ev, &rs->sink, &rs->rd);
	if (r == 0)
		r = resume_image(rs);
	if (rs->fd >= 0)
		close(rs->fd);
	hib_pipeline_free(rs->p);
	hib_image_reader_free(rs->rd);
	hib_sink_close(rs->sink);
	/* Nothing was restored: finish what an interrupted hibernation left (merge back). */
	if (opts->recover) {
		rr = hib_recover(rs->run.conf, &rs->run.sys, true, ev);
		if (rr < 0 && r == -ENODATA)
			r = rr;
	}
out:
	free(rs);
	return r;
}

/* ---- check --------------------------------------------------------------------------------- */

/* check: an image (or what is left of one) on a local target is memory anyone who can read
 * the target can read. */
static void check_leftover(struct hib_run *run, const char *target)
{
	char magic[8], why[HIB_IMAGE_WHY_MAX];
	struct hib_image_reader *rd = NULL;
	struct hib_sink *sink = NULL;
	uint64_t off;
	int r;

	if (hib_sink_open(target, HIB_SINK_READ, &sink) < 0)
		return;
	if (hib_sink_read(sink, magic, sizeof(magic), 0) == 0 &&
	    memcmp(magic, HIB_IMAGE_MAGIC, sizeof(magic)) == 0) {
		r = hib_image_reader_open_key(sink, NULL, &rd, why, &off);
		if (r == 0 || r == -ENOKEY)
			hib_notice(run, HIB_STEP_CHECK, "note: a valid hibernation image is on %s: "
				   "the next resume restores it, a hibernation overwrites it", target);
		else
			hib_notice(run, HIB_STEP_CHECK, "warning: %s holds what is left of a used or "
				   "unfinished image (%s): memory of that time, readable by whoever "
				   "can read %s; the next hibernation overwrites it, or wipe it "
				   "(blkdiscard, wipefs -a)", target, why, target);
		hib_image_reader_free(rd);
	}
	hib_sink_close(sink);
}

/* A small file under @root (NULL: @dflt), NUL-terminated, or "" when unreadable. */
static void read_small_under(const char *root, const char *dflt, const char *rel, char *buf,
			     size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root ? root : dflt, rel);
	if (hib_read_file(path, buf, size) < 0)
		buf[0] = 0;
}

/* check: what the kernel allows (lockdown, nohibernate, disk in /sys/power/state,
 * /dev/snapshot, our privileges).  Adds to *ok. */
static void check_kernel_allows(struct hib_run *run, bool *ok)
{
	char buf[4096], *sel;
	unsigned char sb[8];
	ssize_t n;
	int fd;

	read_small_under(run->sys.sys_root, "/sys", "kernel/security/lockdown", buf, sizeof(buf));
	sel = strchr(buf, '[');
	if (sel && strncmp(sel, "[none]", 6) != 0) {
		hib_error(run, HIB_STEP_CHECK, -EPERM, "no: the kernel is locked down (%.*s): "
			  "hibernation is not available", (int)strcspn(sel + 1, "]"), sel + 1);
		*ok = false;
	}
	read_small_under(run->sys.proc_root, "/proc", "cmdline", buf, sizeof(buf));
	if (strstr(buf, "nohibernate")) {
		hib_error(run, HIB_STEP_CHECK, -EPERM, "no: 'nohibernate' is on the kernel command "
			  "line");
		*ok = false;
	}
	read_small_under(run->sys.sys_root, "/sys", "power/state", buf, sizeof(buf));
	if (!strstr(buf, "disk")) {
		hib_error(run, HIB_STEP_CHECK, -EOPNOTSUPP, "no: /sys/power/state has no 'disk': "
			  "this kernel cannot hibernate (CONFIG_HIBERNATION, lockdown)");
		*ok = false;
	}
	if (access(run->sys.snapshot_dev ? run->sys.snapshot_dev : "/dev/snapshot", F_OK) < 0)
		hib_notice(run, HIB_STEP_CHECK, "warning: no /dev/snapshot: resume restores through "
			   "it (the initramfs needs it)");
	/* Secure Boot: the efivar's fifth byte (after 4 bytes of attributes). */
	snprintf(buf, sizeof(buf), "%s/firmware/efi/efivars/"
		 "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
		 run->sys.sys_root ? run->sys.sys_root : "/sys");
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = hib_read_full(fd, sb, sizeof(sb));
		close(fd);
		if (n >= 5 && sb[4] == 1)
			hib_notice(run, HIB_STEP_CHECK, "note: Secure Boot is on: the patched kernel "
				   "must be signed with a key the firmware trusts (your own MOK), "
				   "and lockdown may disable hibernation");
	}
	if (geteuid() != 0) {
		hib_error(run, HIB_STEP_CHECK, -EPERM, "no: not root: hibernating needs "
			  "CAP_SYS_ADMIN (or ask hibernated, if you are in its group)");
		*ok = false;
	}
}

/* What the packaged initramfs integration puts into an initramfs (initramfs/). */
static const char *const initramfs_hooks[] = {
	"scripts/local-premount/hibernate",		/* initramfs-tools */
	"hooks/pre-mount/50-hibernate-resume.sh",	/* dracut (lsinitrd: ls -l lines) */
};

/* Does a listing line name one of initramfs_hooks (a whole path component sequence)? */
static const char *initramfs_line_hook(const char *line)
{
	size_t n = strcspn(line, "\n"), k;

	for (size_t i = 0; i < ARRAY_SIZE(initramfs_hooks); i++) {
		k = strlen(initramfs_hooks[i]);
		if (n >= k && memcmp(line + n - k, initramfs_hooks[i], k) == 0 &&
		    (n == k || line[n - k - 1] == '/' || line[n - k - 1] == ' '))
			return initramfs_hooks[i];
	}
	return NULL;
}

/* hib_spawn_lines() callback: remember the first hook a listing line names. */
static void initramfs_line(const char *line, void *userdata)
{
	const char **found = userdata;

	if (!*found)
		*found = initramfs_line_hook(line);
}

/* A lister that has not listed the initramfs in this time is not waited for. */
#define INITRAMFS_LIST_TIMEOUT_S 60

/* check: does the running kernel's initramfs resume?  Listed with initramfs-tools'
 * lsinitramfs or dracut's lsinitrd; "note:" when that cannot be told. */
static void check_initramfs(struct hib_run *run)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
	static const char *const listers[] = { "lsinitramfs", "lsinitrd" };
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	char path[PATH_MAX] = "", lister[PATH_MAX] = "";
	const char *found = NULL;
	struct utsname u;
	int status;

	if (run->sys.initramfs_path) {
		snprintf(path, sizeof(path), "%s", run->sys.initramfs_path);
	} else if (uname(&u) == 0) {
		snprintf(path, sizeof(path), "/boot/initramfs-%s.img", u.release);
		if (access(path, F_OK) < 0)
			snprintf(path, sizeof(path), "/boot/initrd.img-%s", u.release);
	}
	if (!path[0] || access(path, R_OK) < 0) {
		hib_notice(run, HIB_STEP_CHECK, "note: cannot tell whether the initramfs resumes: "
			   "cannot read %s: %s", path[0] ? path : "the running kernel's initramfs",
			   path[0] ? strerror(errno) : "uname failed");
		return;
	}
	if (run->sys.initramfs_lister) {
		snprintf(lister, sizeof(lister), "%s", run->sys.initramfs_lister);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(listers) && !lister[0]; i++)
			for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
				snprintf(lister, sizeof(lister), "%s/%s", dirs[d], listers[i]);
				if (access(lister, X_OK) == 0)
					break;
				lister[0] = 0;
			}
	}
	if (!lister[0] || access(lister, X_OK) < 0) {
		hib_notice(run, HIB_STEP_CHECK, "note: cannot tell whether the initramfs %s resumes: "
			   "%s", path, lister[0] ? "its lister cannot be run" :
			   "neither lsinitramfs (initramfs-tools) nor lsinitrd (dracut) is installed");
		return;
	}
	status = hib_spawn_lines(lister, (char *const[]){ lister, path, NULL }, envp, false,
				 INITRAMFS_LIST_TIMEOUT_S, initramfs_line, &found);
	if (status == -ETIMEDOUT && !found) {
		hib_notice(run, HIB_STEP_CHECK, "note: cannot tell whether the initramfs %s resumes: "
			   "%s did not list it within %d s", path, lister, INITRAMFS_LIST_TIMEOUT_S);
		return;
	}
	if (status < 0 && !found) {
		hib_notice(run, HIB_STEP_CHECK, "note: cannot tell whether the initramfs %s resumes: "
			   "cannot run %s: %s", path, lister, strerror(-status));
		return;
	}
	if (found)
		hib_notice(run, HIB_STEP_CHECK, "ok: the initramfs %s resumes (it has %s)", path,
			   found);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		hib_notice(run, HIB_STEP_CHECK, "note: cannot tell whether the initramfs %s "
			   "resumes: %s failed (%s %d)", path, lister,
			   WIFEXITED(status) ? "exit" : "signal",
			   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	else
		hib_notice(run, HIB_STEP_CHECK, "warning: the initramfs %s has no resume hook: an "
			   "image written now is never restored; install initramfs-tools or dracut "
			   "and rebuild it (update-initramfs -u, dracut -f)", path);
}

/* The largest image the resume kernel loads (image-format.h: the resume reserve). */
static void check_resume_fits(struct hib_run *run, bool *ok)
{
	char meminfo[PATH_MAX];
	uint64_t mem, reserve, max;
	long ps = sysconf(_SC_PAGESIZE);
	int r;

	meminfo_path(run, meminfo, sizeof(meminfo));
	r = hib_meminfo_total(meminfo, &mem);
	if (r < 0 || ps <= 0) {
		hib_notice(run, HIB_STEP_CHECK, "note: cannot read MemTotal from %s: %s", meminfo,
			   strerror(r < 0 ? -r : EINVAL));
		return;
	}
	reserve = hib_resume_reserve_bytes(mem, run->conf->resume_reserve_set,
					   run->conf->resume_reserve_mib);
	max = hib_resume_max_pages(mem, reserve, (uint32_t)ps);
	if (max == 0) {
		hib_error(run, HIB_STEP_CHECK, -EINVAL, "no: resume-reserve = %u under [hibernate] "
			  "in %s leaves no room for an image: MemTotal is %.1f MiB",
			  run->conf->resume_reserve_mib, conf_path(run), mib(mem));
		*ok = false;
		return;
	}
	hib_notice(run, HIB_STEP_CHECK, "ok: an image resumes up to %" PRIu64 " pages (%.1f MiB): "
		   "MemTotal %.1f MiB less the resume reserve of %.1f MiB (%s); a larger one is "
		   "refused before it is written", max, mib(max * (uint64_t)ps), mib(mem),
		   mib(reserve), run->conf->resume_reserve_set ? "resume-reserve" :
		   "the default, 5% of MemTotal + 64 MiB");
}

int hib_check(const struct hib_conf *conf, const char *target, const struct hib_system *sys,
	      const struct hib_events *ev)
{
	struct hib_conf defaults;
	struct hib_run *run;
	bool ok = true;
	int r;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	hib_run_init(run, conf, &defaults, sys, ev);
	if (!target)
		target = run->conf->target;
	if (hib_probe()) {
		hib_notice(run, HIB_STEP_CHECK, "ok: the kernel has freeze_processes(2)");
	} else {
		hib_error(run, HIB_STEP_CHECK, -ENOSYS, "no: the kernel lacks freeze_processes(2) "
			  "(ENOSYS): boot a kernel built from kernel-patches/");
		ok = false;
	}
	check_kernel_allows(run, &ok);
	/* snapshot_kernel(2) needs swap off (the image's swap slots could be reused). */
	r = hib_swap_active(run->sys.proc_root);
	if (r == 0) {
		hib_notice(run, HIB_STEP_CHECK, "ok: swap is off: frozen tasks' pages are streamed "
			   "from their frames (images of most of RAM)");
	} else if (r > 0) {
		hib_error(run, HIB_STEP_CHECK, -EBUSY, "no: swap is on (%d area%s): the kernel "
			  "takes no snapshot then; swapoff -a first", r, r == 1 ? "" : "s");
		ok = false;
	}
	check_resume_fits(run, &ok);
	r = hib_dm_stage_check(run, target, &ok);
	if (r == 0 && target && *target && !hib_http_is_url(target))
		check_leftover(run, target);
	if (r == 0 && run->sys.check_initramfs)
		check_initramfs(run);
	if (r == 0)
		hib_notice(run, HIB_STEP_CHECK, "%s", ok ? "hibernation can run now" :
			   "hibernation cannot run now");
	free(run);
	return r < 0 ? r : ok;
}
