// SPDX-License-Identifier: GPL-2.0-only
/*
 * Thaw policy in hibernatectl: `policy check`, and DESIGN.md steps 3 and 3b of `hibernate`:
 * thaw the processes the policy names, then sync every filesystem from a worker thread with a
 * deadline, naming what blocks it on timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "dm.h"
#include "macro.h"
#include "policy.h"
#include "policy-stage.h"

#define PROG "hibernatectl"

static void print_errors(FILE *f, const struct hib_policy_errors *errs)
{
	unsigned int i;

	for (i = 0; i < hib_policy_errors_shown(errs); i++) {
		const struct hib_policy_error *e = &errs->e[i];

		if (e->line)
			fprintf(f, "%s:%u:%u: %s\n", e->file, e->line, e->column, e->msg);
		else
			fprintf(f, "%s: %s\n", e->file, e->msg);
	}
	if (errs->count > HIB_POLICY_ERRORS_MAX)
		fprintf(f, PROG ": %u more errors not shown\n", errs->count - HIB_POLICY_ERRORS_MAX);
}

int hibctl_cmd_policy_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	const char *dir = args->policy_dir ? args->policy_dir : HIB_POLICY_DEFAULT_DIR;
	struct hib_policy *p = NULL;
	size_t i, good = 0;
	int r, bad = 0;

	if (!errs)
		return HIBCTL_EXIT_ERROR;
	if (args->n_files == 0) {
		r = hib_policy_load_dir(dir, &p, errs);
		if (r < 0) {
			fprintf(ctx->err, PROG ": %s: %s\n", dir, hib_strerror(r));
			return HIBCTL_EXIT_ERROR;
		}
		bad = r;
		good = p->n_rules;
		hib_policy_free(p);
	} else {
		for (i = 0; i < args->n_files; i++) {
			struct hib_policy_rule rule = {};

			r = hib_policy_load_file(args->files[i], &rule, errs);
			if (r == -ENOMEM) {
				fprintf(ctx->err, PROG ": %s\n", hib_strerror(r));
				return HIBCTL_EXIT_ERROR;
			}
			if (r < 0)
				bad++;
			else
				good++;
			hib_policy_rule_done(&rule);
		}
	}
	print_errors(ctx->err, errs);
	fprintf(ctx->out, "%zu policy file%s valid, %d refused\n", good, good == 1 ? "" : "s",
		bad);
	return bad ? HIBCTL_EXIT_ERROR : HIBCTL_EXIT_OK;
}

/* ---- hibernate: steps 3 and 3b -------------------------------------------------------------- */

#define SYNC_TIMEOUT_DEFAULT_MS 10000
#define MOUNTS_MAX 512

struct sync_mount {
	int fd;
	char *path;
	char *fstype;
};

struct hibctl_policy_stage {
	struct hib_policy *policy;
	bool policy_borrowed;		/* ctx->policy */
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

static int open_mounts(struct hibctl_policy_stage *st, const char *mountinfo, FILE *err)
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
		char dev[24], mnt[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		bool skip = false;
		int fd;

		if (!sep || sscanf(line, "%*s %*s %23s %*s %4095s", dev, mnt) != 2 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		for (i = 0; i < ARRAY_SIZE(pseudo_fs); i++)
			if (strcmp(fstype, pseudo_fs[i]) == 0)
				skip = true;
		for (i = 0; i < st->n_mounts && !skip; i++)
			if (strcmp(devs[i], dev) == 0)
				skip = true;
		if (skip)
			continue;
		hib_mountinfo_unescape(mnt);
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			fprintf(err, PROG ": warning: cannot open %s (%s) to sync it: %s\n", mnt,
				fstype, hib_strerror(-errno));
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
	struct hibctl_policy_stage *st = arg;
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

void hibctl_policy_stage_free(struct hibctl_policy_stage *st)
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

int hibctl_policy_stage_prepare(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
				struct hibctl_policy_stage **ret)
{
	_cleanup_free_ struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	const char *dir = args->policy_dir ? args->policy_dir : HIB_POLICY_DEFAULT_DIR;
	struct hibctl_policy_stage *st;
	size_t i;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st || !errs) {
		free(st);
		fprintf(ctx->err, PROG ": out of memory; nothing was frozen\n");
		return HIBCTL_EXIT_ERROR;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	atomic_store(&st->current, -1);
	st->timeout_ms = args->sync_timeout_ms ? args->sync_timeout_ms : SYNC_TIMEOUT_DEFAULT_MS;

	if (ctx->policy) {
		st->policy = (struct hib_policy *)ctx->policy;
		st->policy_borrowed = true;
		dir = "hibernated's policy";
		r = 0;
	} else {
		r = hib_policy_load_dir(dir, &st->policy, errs);
	}
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot read the policy in %s: %s; nothing was frozen\n",
			dir, hib_strerror(r));
		goto fail;
	}
	if (r > 0) {
		print_errors(ctx->err, errs);
		fprintf(ctx->err, PROG ": warning: %d policy file%s refused (see above)\n", r,
			r == 1 ? "" : "s");
	}
	fprintf(ctx->out, "policy: %zu rule%s from %s\n", st->policy->n_rules,
		st->policy->n_rules == 1 ? "" : "s", dir);
	for (i = 0; i < st->policy->n_rules; i++)
		fprintf(ctx->out, "  %-16s order %-5d %s\n", st->policy->rules[i].name,
			st->policy->rules[i].order, st->policy->rules[i].thaw ? "thaw" : "keep frozen");
	if (!ctx->policy && strcmp(dir, HIB_POLICY_DEFAULT_DIR) != 0) {
		errs->count = 0;
		if (hib_policy_load_dir(HIB_POLICY_DEFAULT_DIR, &st->reference, errs) < 0)
			st->reference = NULL;
	}

	r = open_mounts(st, ctx->mountinfo_path, ctx->err);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot list the mounted filesystems: %s; nothing was "
			"frozen\n", hib_strerror(r));
		goto fail;
	}
	r = pthread_create(&st->thread, NULL, sync_worker, st);
	if (r) {
		fprintf(ctx->err, PROG ": cannot start the sync thread: %s; nothing was frozen\n",
			hib_strerror(r));
		goto fail;
	}
	st->thread_started = true;
	*ret = st;
	return 0;
fail:
	hibctl_policy_stage_free(st);
	return HIBCTL_EXIT_ERROR;
}

static const struct hib_policy_rule *rule_for(const struct hib_policy *p,
					      const struct hib_policy_proc *pp)
{
	int m = hib_policy_match(p, pp);

	return m >= 0 ? &p->rules[m] : NULL;
}

/* The sync timed out: name the filesystem, the tasks it waits on and the policy. */
static void report_blocked(const struct hibctl_ctx *ctx, struct hibctl_policy_stage *st)
{
	_cleanup_free_ struct hib_proc_info *procs = NULL;
	int cur = atomic_load(&st->current), tid = atomic_load(&st->worker_tid);
	char wchan[HIB_WCHAN_MAX] = "";
	size_t n = 0, i;
	bool fields = false;

	if (cur >= 0 && (size_t)cur < st->n_mounts)
		fprintf(ctx->err, PROG ": sync of %s (%s) did not finish within %u ms\n",
			st->mounts[cur].path, st->mounts[cur].fstype, st->timeout_ms);
	else
		fprintf(ctx->err, PROG ": the sync did not finish within %u ms\n", st->timeout_ms);
	if (tid > 0 && hib_read_wchan(ctx->proc_root, ctx->self, tid, wchan) == 0 && wchan[0])
		fprintf(ctx->err, PROG ":   the sync thread waits in %s\n", wchan);
	if (hib_scan_frozen(ctx->proc_root, true, &procs, &n, &fields) < 0)
		return;
	for (i = 0; i < n; i++) {
		const struct hib_proc_info *p = &procs[i];
		const struct hib_policy_rule *r = NULL, *ref = NULL;
		struct hib_policy_proc pp;
		char comm[HIB_COMM_MAX];
		bool frozen = p->frozen == HIB_TRI_YES || p->user_frozen == HIB_TRI_YES;

		if (p->pid == ctx->self)
			continue;
		if (hib_policy_read_proc(ctx->proc_root, p->pid, &pp) == 0) {
			r = rule_for(st->policy, &pp);
			ref = st->reference ? rule_for(st->reference, &pp) : NULL;
		}
		/* Blocked: in D and not frozen (frozen tasks show D too).  Frozen: if a policy
		 * names it, it is likely the helper the sync needs. */
		if (!(p->state == 'D' && !frozen) && !(frozen && (r || ref)))
			continue;
		hibctl_sanitize(comm, sizeof(comm), p->comm, sizeof(p->comm));
		if (frozen)
			fprintf(ctx->err, PROG ":   pid %d (%s) is frozen", (int)p->pid, comm);
		else
			fprintf(ctx->err, PROG ":   pid %d (%s) waits in %s", (int)p->pid, comm,
				p->wchan[0] ? p->wchan : "?");
		if (r && r->thaw)
			fprintf(ctx->err, "; policy %s thaws it\n", r->name);
		else if (r)
			fprintf(ctx->err, "; policy %s would thaw it with thaw = yes\n", r->name);
		else if (ref && ref->thaw)
			fprintf(ctx->err, "; policy %s in %s would have thawed it%s%s\n", ref->name,
				HIB_POLICY_DEFAULT_DIR, ref->reason ? ": " : "",
				ref->reason ? ref->reason : "");
		else
			fprintf(ctx->err, "; no policy thaws it\n");
	}
}

static bool was_kept(const struct hibctl_policy_stage *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->n_kept; i++)
		if (st->kept[i] == pid)
			return true;
	return false;
}

int hibctl_policy_stage_freeze(const struct hibctl_ctx *ctx, struct hibctl_policy_stage *st,
			       unsigned int timeout_ms, struct hib_refusals *refusals)
{
	_cleanup_free_ struct hib_policy_hit *hits = NULL;
	size_t n = 0, i;
	int r;

	/* Step 2 with step 3 folded in: the policy's processes are never frozen. */
	r = hib_policy_plan(st->policy, ctx->proc_root, ctx->self, false, &hits, &n);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot match the policy against /proc: %s; nothing was "
			"frozen\n", hib_strerror(r));
		return r;
	}
	free(st->kept);
	st->kept = NULL;
	st->n_kept = 0;
	if (n > FREEZE_PROCESSES_KEEP_MAX)
		n = FREEZE_PROCESSES_KEEP_MAX;	/* the rest are thawed after the freeze */
	if (n) {
		st->kept = calloc(n, sizeof(*st->kept));
		if (!st->kept) {
			fprintf(ctx->err, PROG ": out of memory; nothing was frozen\n");
			return -ENOMEM;
		}
	}
	for (i = 0; i < n; i++)
		st->kept[st->n_kept++] = hits[i].pid;
	r = hib_freeze_all_keep(timeout_ms, st->kept, (unsigned int)st->n_kept, refusals);
	if (r == -E2BIG) {
		/* A kernel from before keep: freeze everything, thaw the helpers after it. */
		fprintf(ctx->err, PROG ": warning: this kernel cannot keep processes running "
			"through the freeze; the policy's processes are thawed after it\n");
		st->n_kept = 0;
		r = hib_freeze_all(timeout_ms, refusals);
	}
	if (r < 0) {
		if (r == -EBUSY)
			hibctl_print_refusals(ctx->err, refusals, timeout_ms);
		else
			fprintf(ctx->err, PROG ": freeze: %s\n", hib_strerror(r));
		return r;
	}
	for (i = 0; i < st->n_kept; i++) {
		const struct hib_policy_rule *rule = &st->policy->rules[hits[i].rule];
		char comm[HIB_COMM_MAX];

		hibctl_sanitize(comm, sizeof(comm), hits[i].comm, sizeof(hits[i].comm));
		fprintf(ctx->out, "policy %s: kept pid %d (%s) running%s%s\n", rule->name,
			(int)hits[i].pid, comm, rule->reason ? ": " : "",
			rule->reason ? rule->reason : "");
	}
	return r;
}

int hibctl_policy_stage_run(const struct hibctl_ctx *ctx, struct hibctl_policy_stage *st)
{
	_cleanup_free_ struct hib_policy_hit *hits = NULL;
	struct timespec dl;
	size_t n = 0, i;
	bool done;
	int r;

	/* Step 3: SIGUNFREEZE to the policy's processes, in order. */
	r = hib_policy_plan(st->policy, ctx->proc_root, ctx->self, false, &hits, &n);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot match the policy against /proc: %s\n",
			hib_strerror(r));
		return r;
	}
	for (i = 0; i < n; i++) {
		const struct hib_policy_rule *rule = &st->policy->rules[hits[i].rule];
		char comm[HIB_COMM_MAX];

		if (was_kept(st, hits[i].pid))
			continue;
		hibctl_sanitize(comm, sizeof(comm), hits[i].comm, sizeof(hits[i].comm));
		r = hib_thaw_pid(hits[i].pid);
		if (r < 0 && r != -ESRCH) {
			fprintf(ctx->err, PROG ": cannot thaw pid %d (%s) for policy %s: %s\n",
				(int)hits[i].pid, comm, rule->name, hib_strerror(r));
			return r;
		}
		fprintf(ctx->out, "policy %s: thawed pid %d (%s)%s%s\n", rule->name,
			(int)hits[i].pid, comm, rule->reason ? ": " : "",
			rule->reason ? rule->reason : "");
	}
	fflush(ctx->out);

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
		report_blocked(ctx, st);
		return -ETIMEDOUT;
	}
	if (r < 0)
		fprintf(ctx->err, PROG ": warning: syncfs: %s\n", hib_strerror(r));
	fprintf(ctx->out, "synced %zu filesystem%s\n", st->n_mounts, st->n_mounts == 1 ? "" : "s");
	return 0;
}

int hibctl_hibernate_test_freeze(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	struct hibctl_policy_stage *st = NULL;
	struct hib_refusals refusals = {};
	bool locked = false;
	int r, ret;

	ret = hibctl_policy_stage_prepare(ctx, args, &st);
	if (ret)
		return ret;
	ret = HIBCTL_EXIT_ERROR;
	r = hib_refusals_alloc(&refusals, HIB_REFUSALS_DEFAULT_MAX);
	if (r < 0) {
		fprintf(ctx->err, PROG ": %s; nothing was frozen\n", hib_strerror(r));
		goto out;
	}
	if (!ctx->no_mlock) {
		if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
			fprintf(ctx->err, PROG ": cannot lock memory (mlockall): %s; nothing was "
				"frozen\n", hib_strerror(-errno));
			goto out;
		}
		locked = true;
	}
	fflush(ctx->out);
	fflush(ctx->err);
	r = hibctl_policy_stage_freeze(ctx, st, args->timeout_ms, &refusals);
	if (r < 0) {
		ret = hibctl_exit_code(r);
		goto out;
	}
	fprintf(ctx->out, "froze %d threads\n", r);
	r = hibctl_policy_stage_run(ctx, st);
	if (r == 0) {
		fprintf(ctx->out, "test=freeze: holding 2 s, then thawing everything\n");
		fflush(ctx->out);
		sleep(2);
		ret = HIBCTL_EXIT_OK;
	}
	r = hib_thaw_all();
	if (r < 0) {
		fprintf(ctx->err, PROG ": thaw all: %s\n", hib_strerror(r));
		ret = HIBCTL_EXIT_ERROR;
	} else {
		fprintf(ctx->out, "everything was thawed again\n");
	}
out:
	if (locked)
		munlockall();
	hib_refusals_free(&refusals);
	hibctl_policy_stage_free(st);
	return ret;
}
