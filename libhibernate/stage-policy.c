// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DESIGN.md steps 2, 3 and 3b: freeze every task but the policy's helpers, thaw the ones that
 * started meanwhile, then sync every filesystem from a worker thread with a deadline, naming
 * what blocks it on timeout.  Everything is allocated in _prepare(), before the freeze.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "macro.h"
#include "policy.h"
#include "stages.h"

/* ---- hibernate: steps 3 and 3b -------------------------------------------------------------- */

#define SYNC_TIMEOUT_DEFAULT_MS 10000
#define MOUNTS_MAX 512

struct sync_mount {
	int fd;
	char *path;
	char *fstype;
};

struct hib_policy_stage {
	struct hib_policy *policy;
	bool policy_borrowed;		/* the caller's */
	struct hib_policy *reference;	/* the default dir when --policy-dir differs */
	struct sync_mount *mounts;
	size_t n_mounts;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, quit, done;
	atomic_int current;		/* index of the mount being synced, -1 none */
	atomic_int worker_tid;
	int sync_err;
	unsigned int timeout_ms;
	pid_t *kept;			/* kept running through the freeze (sorted by plan) */
	size_t n_kept;
};

static const char *const pseudo_fs[] = {
	"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs",
	"securityfs", "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs",
	"binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "devtmpfs", "ramfs", "tmpfs",
};

static int open_mounts(struct hib_run *run, struct hib_policy_stage *st, const char *mountinfo)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	char devs[MOUNTS_MAX][24];
	size_t cap = 0, i;

	if (!f)
		return negative_errno();
	st->mounts = calloc(MOUNTS_MAX, sizeof(*st->mounts));
	if (!st->mounts)
		return -ENOMEM;
	while (getline(&line, &cap, f) > 0 && st->n_mounts < MOUNTS_MAX) {
		struct hib_mountinfo_line ml;
		const char *mnt, *fstype;
		char dev[24];
		bool skip = false;
		int fd;

		if (hib_mountinfo_parse(line, &ml) < 0)
			continue;
		mnt = ml.mountpoint;
		fstype = ml.fstype;
		snprintf(dev, sizeof(dev), "%u:%u", ml.major, ml.minor);
		for (i = 0; i < ARRAY_SIZE(pseudo_fs); i++)
			if (strcmp(fstype, pseudo_fs[i]) == 0)
				skip = true;
		for (i = 0; i < st->n_mounts && !skip; i++)
			if (strcmp(devs[i], dev) == 0)
				skip = true;
		if (skip)
			continue;
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			hib_warning(run, HIB_STEP_PREPARE, -errno, "warning: cannot open %s (%s) to "
				    "sync it: %s", mnt, fstype, strerror(errno));
			continue;
		}
		st->mounts[st->n_mounts].fd = fd;
		st->mounts[st->n_mounts].path = strdup(mnt);
		st->mounts[st->n_mounts].fstype = strdup(fstype);
		snprintf(devs[st->n_mounts], sizeof(devs[0]), "%s", dev);
		if (!st->mounts[st->n_mounts].path || !st->mounts[st->n_mounts].fstype) {
			close(fd);
			free(st->mounts[st->n_mounts].path);
			free(st->mounts[st->n_mounts].fstype);
			return -ENOMEM;
		}
		st->n_mounts++;
	}
	return 0;
}

static void *sync_worker(void *arg)
{
	struct hib_policy_stage *st = arg;
	size_t i;
	int err = 0;

	atomic_store(&st->worker_tid, (int)syscall(SYS_gettid));
	pthread_mutex_lock(&st->lock);
	while (!st->go && !st->quit)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	if (!st->quit) {
		for (i = 0; i < st->n_mounts; i++) {
			atomic_store(&st->current, (int)i);
			if (syncfs(st->mounts[i].fd) < 0 && !err)
				err = -errno;
		}
		atomic_store(&st->current, -1);
	}
	pthread_mutex_lock(&st->lock);
	st->sync_err = err;
	st->done = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

void hib_policy_stage_free(struct hib_policy_stage *st)
{
	size_t i;

	if (!st)
		return;
	if (st->thread_started) {
		struct timespec dl;
		bool done;

		/* After a rollback the sync completes: wait for it, but not forever. */
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 30;
		pthread_mutex_lock(&st->lock);
		st->quit = true;
		pthread_cond_broadcast(&st->cond);
		while (!st->done)
			if (pthread_cond_timedwait(&st->cond, &st->lock, &dl) == ETIMEDOUT)
				break;
		done = st->done;
		pthread_mutex_unlock(&st->lock);
		if (done)
			pthread_join(st->thread, NULL);
		else
			return;	/* the worker still uses @st: leak it rather than crash */
	}
	for (i = 0; i < st->n_mounts; i++) {
		close(st->mounts[i].fd);
		free(st->mounts[i].path);
		free(st->mounts[i].fstype);
	}
	free(st->mounts);
	free(st->kept);
	if (!st->policy_borrowed)
		hib_policy_free(st->policy);
	hib_policy_free(st->reference);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
}

int hib_policy_stage_prepare(struct hib_run *run, const struct hib_policy *policy,
			     const char *policy_dir, struct hib_policy_stage **ret)
{
	_cleanup_free_ struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	const char *dir = policy_dir ? policy_dir : HIB_POLICY_DEFAULT_DIR;
	struct hib_policy_stage *st;
	size_t i;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st || !errs) {
		free(st);
		return hib_fail(run, HIB_STEP_PREPARE, -ENOMEM, "out of memory; nothing was "
				"frozen");
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	atomic_store(&st->current, -1);
	st->timeout_ms = run->conf->sync_timeout_ms ? run->conf->sync_timeout_ms :
			 SYNC_TIMEOUT_DEFAULT_MS;

	if (policy) {
		st->policy = (struct hib_policy *)policy;
		st->policy_borrowed = true;
		dir = policy_dir ? policy_dir : "the caller's policy";
		r = 0;
	} else {
		r = hib_policy_load_dir(dir, &st->policy, errs);
	}
	if (r < 0) {
		hib_fail(run, HIB_STEP_PREPARE, r, "cannot read the policy in %s: %s; nothing was "
			 "frozen", dir, strerror(-r));
		goto fail;
	}
	if (r > 0) {
		hib_policy_errors_emit(run, HIB_STEP_PREPARE, errs);
		hib_warning(run, HIB_STEP_PREPARE, -EINVAL, "warning: %d policy file%s refused "
			    "(see above)", r, r == 1 ? "" : "s");
	}
	hib_notice(run, HIB_STEP_PREPARE, "policy: %zu rule%s from %s", st->policy->n_rules,
		st->policy->n_rules == 1 ? "" : "s", dir);
	for (i = 0; i < st->policy->n_rules; i++)
		hib_notice(run, HIB_STEP_PREPARE, "  %-16s order %-5d %s", st->policy->rules[i].name,
			st->policy->rules[i].order, st->policy->rules[i].thaw ? "thaw" : "keep frozen");
	if (!policy && strcmp(dir, HIB_POLICY_DEFAULT_DIR) != 0) {
		errs->count = 0;
		if (hib_policy_load_dir(HIB_POLICY_DEFAULT_DIR, &st->reference, errs) < 0)
			st->reference = NULL;
	}

	r = open_mounts(run, st, run->sys.mountinfo_path);
	if (r < 0) {
		hib_fail(run, HIB_STEP_PREPARE, r, "cannot list the mounted filesystems: %s; "
			 "nothing was frozen", strerror(-r));
		goto fail;
	}
	r = pthread_create(&st->thread, NULL, sync_worker, st);
	if (r) {
		hib_fail(run, HIB_STEP_PREPARE, -r, "cannot start the sync thread: %s; nothing "
			 "was frozen", strerror(r));
		goto fail;
	}
	st->thread_started = true;
	*ret = st;
	return 0;
fail:
	hib_policy_stage_free(st);
	return run->fail_err;
}

static const struct hib_policy_rule *rule_for(const struct hib_policy *p,
					      const struct hib_policy_proc *pp)
{
	int m = hib_policy_match(p, pp);

	return m >= 0 ? &p->rules[m] : NULL;
}

/* The sync timed out: name the filesystem, the tasks it waits on and the policy. */
static void report_blocked(struct hib_run *run, struct hib_policy_stage *st)
{
	_cleanup_free_ struct hib_proc_info *procs = NULL;
	int cur = atomic_load(&st->current), tid = atomic_load(&st->worker_tid);
	char wchan[HIB_WCHAN_MAX] = "";
	size_t n = 0, i;
	bool fields = false;

	if (cur >= 0 && (size_t)cur < st->n_mounts)
		hib_fail(run, HIB_STEP_SYNC, -ETIMEDOUT, "sync of %s (%s) did not finish within "
			 "%u ms", st->mounts[cur].path, st->mounts[cur].fstype, st->timeout_ms);
	else
		hib_fail(run, HIB_STEP_SYNC, -ETIMEDOUT, "the sync did not finish within %u ms",
			 st->timeout_ms);
	if (tid > 0 && hib_read_wchan(run->sys.proc_root, run->sys.self, tid, wchan) == 0 && wchan[0])
		hib_error(run, HIB_STEP_SYNC, 0, "  the sync thread waits in %s", wchan);
	if (hib_scan_frozen(run->sys.proc_root, true, &procs, &n, &fields) < 0)
		return;
	for (i = 0; i < n; i++) {
		const struct hib_proc_info *p = &procs[i];
		const struct hib_policy_rule *r = NULL, *ref = NULL;
		struct hib_policy_proc pp;
		char comm[HIB_COMM_MAX], what[HIB_WCHAN_MAX + 16];
		bool frozen = p->frozen == HIB_TRI_YES || p->user_frozen == HIB_TRI_YES;

		if (p->pid == run->sys.self)
			continue;
		if (hib_policy_read_proc(run->sys.proc_root, p->pid, &pp) == 0) {
			r = rule_for(st->policy, &pp);
			ref = st->reference ? rule_for(st->reference, &pp) : NULL;
		}
		/* Blocked: in D and not frozen (frozen tasks show D too).  Frozen: if a policy
		 * names it, it is likely the helper the sync needs. */
		if (!(p->state == 'D' && !frozen) && !(frozen && (r || ref)))
			continue;
		hib_sanitize(comm, sizeof(comm), p->comm, sizeof(p->comm));
		if (frozen)
			snprintf(what, sizeof(what), "is frozen");
		else
			snprintf(what, sizeof(what), "waits in %s", p->wchan[0] ? p->wchan : "?");
		if (r && r->thaw)
			hib_error(run, HIB_STEP_SYNC, 0, "  pid %d (%s) %s; policy %s thaws it",
				  (int)p->pid, comm, what, r->name);
		else if (r)
			hib_error(run, HIB_STEP_SYNC, 0, "  pid %d (%s) %s; policy %s would thaw it "
				  "with thaw = yes", (int)p->pid, comm, what, r->name);
		else if (ref && ref->thaw)
			hib_error(run, HIB_STEP_SYNC, 0, "  pid %d (%s) %s; policy %s in %s would "
				  "have thawed it%s%s", (int)p->pid, comm, what, ref->name,
				  HIB_POLICY_DEFAULT_DIR, ref->reason ? ": " : "",
				  ref->reason ? ref->reason : "");
		else
			hib_error(run, HIB_STEP_SYNC, 0, "  pid %d (%s) %s; no policy thaws it",
				  (int)p->pid, comm, what);
	}
}

static bool was_kept(const struct hib_policy_stage *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->n_kept; i++)
		if (st->kept[i] == pid)
			return true;
	return false;
}

int hib_policy_stage_freeze(struct hib_run *run, struct hib_policy_stage *st,
			    struct hib_refusals *refusals)
{
	_cleanup_free_ struct hib_policy_hit *hits = NULL;
	unsigned int timeout_ms = run->conf->freeze_timeout_ms;
	size_t n = 0, i;
	int r;

	/* Step 2 with step 3 folded in: the policy's processes are never frozen. */
	r = hib_policy_plan(st->policy, run->sys.proc_root, run->sys.self, false, &hits, &n);
	if (r < 0) {
		return hib_fail(run, HIB_STEP_FREEZE, r, "cannot match the policy against /proc: "
				"%s; nothing was frozen", strerror(-r));
	}
	free(st->kept);
	st->kept = NULL;
	st->n_kept = 0;
	if (n > FREEZE_PROCESSES_KEEP_MAX)
		n = FREEZE_PROCESSES_KEEP_MAX;	/* the rest are thawed after the freeze */
	if (n) {
		st->kept = calloc(n, sizeof(*st->kept));
		if (!st->kept) {
			return hib_fail(run, HIB_STEP_FREEZE, -ENOMEM, "out of memory; nothing was "
					"frozen");
		}
	}
	for (i = 0; i < n; i++)
		st->kept[st->n_kept++] = hits[i].pid;
	r = hib_freeze_all_keep(timeout_ms, st->kept, (unsigned int)st->n_kept, refusals);
	if (r == -E2BIG) {
		/* A kernel from before keep: freeze everything, thaw the helpers after it. */
		hib_warning(run, HIB_STEP_FREEZE, r, "warning: this kernel cannot keep processes "
			    "running through the freeze; the policy's processes are thawed after "
			    "it");
		st->n_kept = 0;
		r = hib_freeze_all(timeout_ms, refusals);
	}
	if (r < 0) {
		if (r == -EBUSY)
			hib_refusals_emit(run, refusals, timeout_ms);
		else
			hib_fail(run, HIB_STEP_FREEZE, r, "freeze: %s", hib_freeze_strerror(r));
		return r;
	}
	for (i = 0; i < st->n_kept; i++) {
		const struct hib_policy_rule *rule = &st->policy->rules[hits[i].rule];
		char comm[HIB_COMM_MAX];

		hib_sanitize(comm, sizeof(comm), hits[i].comm, sizeof(hits[i].comm));
		hib_notice(run, HIB_STEP_FREEZE, "policy %s: kept pid %d (%s) running%s%s", rule->name,
			(int)hits[i].pid, comm, rule->reason ? ": " : "",
			rule->reason ? rule->reason : "");
	}
	return r;
}

int hib_policy_stage_run(struct hib_run *run, struct hib_policy_stage *st)
{
	_cleanup_free_ struct hib_policy_hit *hits = NULL;
	struct timespec dl;
	size_t n = 0, i;
	bool done;
	int r;

	/* Step 3: SIGUNFREEZE to the policy's processes, in order. */
	r = hib_policy_plan(st->policy, run->sys.proc_root, run->sys.self, false, &hits, &n);
	if (r < 0) {
		return hib_fail(run, HIB_STEP_POLICY, r, "cannot match the policy against /proc: "
				"%s", strerror(-r));
	}
	for (i = 0; i < n; i++) {
		const struct hib_policy_rule *rule = &st->policy->rules[hits[i].rule];
		char comm[HIB_COMM_MAX];

		if (was_kept(st, hits[i].pid))
			continue;
		hib_sanitize(comm, sizeof(comm), hits[i].comm, sizeof(hits[i].comm));
		r = hib_thaw_pid(hits[i].pid);
		if (r < 0 && r != -ESRCH) {
			return hib_fail(run, HIB_STEP_POLICY, r, "cannot thaw pid %d (%s) for "
					"policy %s: %s", (int)hits[i].pid, comm, rule->name,
					hib_freeze_strerror(r));
		}
		hib_notice(run, HIB_STEP_POLICY, "policy %s: thawed pid %d (%s)%s%s", rule->name,
			(int)hits[i].pid, comm, rule->reason ? ": " : "",
			rule->reason ? rule->reason : "");
	}

	/* Step 3b: sync every filesystem from the worker, with a deadline. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += st->timeout_ms / 1000;
	dl.tv_nsec += (long)(st->timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->lock);
	st->go = true;
	pthread_cond_broadcast(&st->cond);
	while (!st->done)
		if (pthread_cond_timedwait(&st->cond, &st->lock, &dl) == ETIMEDOUT)
			break;
	done = st->done;
	r = st->sync_err;
	pthread_mutex_unlock(&st->lock);
	if (!done) {
		report_blocked(run, st);
		return -ETIMEDOUT;
	}
	if (r < 0)
		hib_warning(run, HIB_STEP_SYNC, r, "warning: syncfs: %s", strerror(-r));
	hib_notice(run, HIB_STEP_SYNC, "synced %zu filesystem%s", st->n_mounts,
		   st->n_mounts == 1 ? "" : "s");
	return 0;
}


void hib_policy_errors_emit(struct hib_run *run, enum hib_step step,
			    const struct hib_policy_errors *errs)
{
	unsigned int i;

	for (i = 0; i < hib_policy_errors_shown(errs); i++) {
		const struct hib_policy_error *e = &errs->e[i];

		if (e->line)
			hib_emit_detail(run, step, HIB_EV_ERROR, "%s:%u:%u: %s", e->file, e->line,
					e->column, e->msg);
		else
			hib_emit_detail(run, step, HIB_EV_ERROR, "%s: %s", e->file, e->msg);
	}
	if (errs->count > HIB_POLICY_ERRORS_MAX)
		hib_error(run, step, -EINVAL, "%u more errors not shown",
			  errs->count - HIB_POLICY_ERRORS_MAX);
}

void hib_refusals_emit(struct hib_run *run, const struct hib_refusals *r,
		       unsigned int timeout_ms)
{
	unsigned int shown = hib_refusals_shown(r), i;
	char within[64], line[128];

	if (timeout_ms)
		snprintf(within, sizeof(within), "within %u ms", timeout_ms);
	else
		snprintf(within, sizeof(within), "within pm_freeze_timeout");
	hib_fail(run, HIB_STEP_FREEZE, -EBUSY, "%u task(s) did not freeze %s; everything this "
		 "call froze was thawed again", r ? r->count : 0, within);
	if (shown == 0)
		return;
	hib_error(run, HIB_STEP_FREEZE, -EBUSY, "tasks that refused to freeze (%u of %u shown):",
		  shown, r->count);
	hib_emit_detail(run, HIB_STEP_FREEZE, HIB_EV_ERROR, "%8s %8s %-5s %-16s %s", "PID", "TGID",
			"STATE", "COMM", "WCHAN");
	for (i = 0; i < shown; i++) {
		hib_refusal_format(&r->entries[i], line, sizeof(line));
		hib_emit_detail(run, HIB_STEP_FREEZE, HIB_EV_ERROR, "%s", line);
	}
}
