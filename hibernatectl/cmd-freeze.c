// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl freeze / thaw.  Everything the freeze path needs (refusal buffer, the list of
 * processes to keep running and their pidfds) is prepared before anything is frozen.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "macro.h"

#define PROG "hibernatectl"

int hibctl_exit_code(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return HIB_EXIT_OK;
	case ENOSYS:
		return HIB_EXIT_NOSYS;
	case EPERM:
		return HIB_EXIT_PERM;
	case EBUSY:
		return HIB_EXIT_BUSY;
	default:
		return HIB_EXIT_ERROR;
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void hibctl_print_refusals(FILE *f, const struct hib_refusals *r, unsigned int timeout_ms)
{
	unsigned int shown = hib_refusals_shown(r), i;
	char within[64];

	if (timeout_ms)
		snprintf(within, sizeof(within), "within %u ms", timeout_ms);
	else
		snprintf(within, sizeof(within), "within pm_freeze_timeout");

	fprintf(f, PROG ": %u task(s) did not freeze %s; everything this call froze was thawed "
		"again\n", r ? r->count : 0, within);
	if (shown == 0)
		return;
	fprintf(f, PROG ": tasks that refused to freeze (%u of %u shown):\n", shown, r->count);
	fprintf(f, "%8s %8s %-5s %-16s %s\n", "PID", "TGID", "STATE", "COMM", "WCHAN");
	for (i = 0; i < shown; i++) {
		char line[128];

		hib_refusal_format(&r->entries[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
}

static void report_error(const struct hibctl_ctx *ctx, const char *what, int r,
			 const struct hib_refusals *refusals, unsigned int timeout_ms)
{
	if (r == -EBUSY && refusals)
		hibctl_print_refusals(ctx->err, refusals, timeout_ms);
	else
		fprintf(ctx->err, PROG ": %s: %s\n", what, hib_freeze_strerror(r));
}

static void close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static bool pid_in(const pid_t *pids, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Freeze every user task, then thaw the kept ones. */
static int freeze_all(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ pid_t *ancestors = NULL, *keep = NULL;
	_cleanup_free_ int *fds = NULL;
	struct hib_refusals refusals = {};
	size_t n_ancestors = 0, n_keep = 0, i;
	int r, frozen, thawed = 0, ret = HIB_EXIT_OK;
	double t0, t1, t2;

	r = hib_refusals_alloc(&refusals, HIB_REFUSALS_DEFAULT_MAX);
	if (r < 0) {
		fprintf(ctx->err, PROG ": %s\n", hib_freeze_strerror(r));
		return HIB_EXIT_ERROR;
	}

	if (args->keep_ancestors) {
		r = hib_ancestors(ctx->proc_root, ctx->self, &ancestors, &n_ancestors);
		if (r < 0) {
			fprintf(ctx->err, PROG ": cannot find the ancestors of process %d: %s\n",
				ctx->self, hib_freeze_strerror(r));
			ret = HIB_EXIT_ERROR;
			goto out;
		}
	}

	/* ancestors, then --keep, without duplicates and without ourselves */
	keep = calloc(n_ancestors + args->n_keep + 1, sizeof(*keep));
	fds = calloc(n_ancestors + args->n_keep + 1, sizeof(*fds));
	if (!keep || !fds) {
		fprintf(ctx->err, PROG ": %s\n", hib_freeze_strerror(-ENOMEM));
		ret = HIB_EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < n_ancestors + args->n_keep; i++) {
		pid_t p = i < n_ancestors ? ancestors[i] : args->keep[i - n_ancestors];

		if (p != ctx->self && !pid_in(keep, n_keep, p))
			keep[n_keep++] = p;
	}

	for (i = 0; i < n_keep; i++) {
		fds[i] = hib_pidfd_open(keep[i], 0);
		if (fds[i] < 0) {
			bool is_ancestor = pid_in(ancestors, n_ancestors, keep[i]);

			if (fds[i] == -ESRCH && is_ancestor)
				continue;	/* exited meanwhile: nothing to keep running */
			fprintf(ctx->err, PROG ": cannot open process %d (%s): %s; nothing was "
				"frozen\n", keep[i], is_ancestor ? "ancestor" : "--keep",
				hib_freeze_strerror(fds[i]));
			ret = hibctl_exit_code(fds[i]);
			n_keep = i;
			goto out;
		}
	}

	t0 = now_ms();
	/* This command exits with everything frozen: the freeze must outlive it. */
	frozen = hib_freeze_all_persist(args->timeout_ms, &refusals);
	t1 = now_ms();
	if (frozen < 0) {
		report_error(ctx, "freeze", frozen, &refusals, args->timeout_ms);
		ret = hibctl_exit_code(frozen);
		goto out;
	}

	for (i = 0; i < n_keep; i++) {
		if (fds[i] < 0)
			continue;
		r = hib_thaw_pidfd(fds[i]);
		if (r == -ESRCH)
			continue;
		if (r < 0) {
			/* Leaving our own shell frozen is worse than not freezing at all. */
			fprintf(ctx->err, PROG ": cannot thaw kept process %d: %s; thawing every "
				"task again\n", keep[i], hib_freeze_strerror(r));
			r = hib_thaw_all();
			if (r < 0)
				fprintf(ctx->err, PROG ": thaw all: %s\n", hib_freeze_strerror(r));
			ret = HIB_EXIT_ERROR;
			goto out;
		}
		thawed += r;
	}
	t2 = now_ms();

	fprintf(ctx->out, "froze %d tasks in %.3f ms\n", frozen, t1 - t0);
	if (n_keep)
		fprintf(ctx->out, "thawed %d tasks of %zu kept processes in %.3f ms\n", thawed,
			n_keep, t2 - t1);
out:
	if (fds)
		close_all(fds, n_keep);
	hib_refusals_free(&refusals);
	return ret;
}

/* Freeze the processes given on the command line; all or none. */
static int freeze_some(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ int *fds = NULL;
	struct hib_refusals refusals = {};
	size_t n_open = 0, i, j;
	int r, frozen = 0, ret = HIB_EXIT_OK;
	double t0, t1;

	for (i = 0; i < args->n_pids; i++)
		if (args->pids[i] == ctx->self) {
			fprintf(ctx->err, PROG ": refusing to freeze itself (process %d)\n",
				ctx->self);
			return HIB_EXIT_USAGE;
		}

	r = hib_refusals_alloc(&refusals, HIB_REFUSALS_DEFAULT_MAX);
	fds = calloc(args->n_pids, sizeof(*fds));
	if (r < 0 || !fds) {
		fprintf(ctx->err, PROG ": %s\n", hib_freeze_strerror(-ENOMEM));
		ret = HIB_EXIT_ERROR;
		goto out;
	}

	for (i = 0; i < args->n_pids; i++, n_open++) {
		fds[i] = hib_pidfd_open(args->pids[i], 0);
		if (fds[i] < 0) {
			fprintf(ctx->err, PROG ": process %d: %s; nothing was frozen\n",
				args->pids[i], hib_freeze_strerror(fds[i]));
			ret = hibctl_exit_code(fds[i]);
			goto out;
		}
	}

	t0 = now_ms();
	for (i = 0; i < args->n_pids; i++) {
		r = hib_freeze_pidfd(fds[i], args->timeout_ms, &refusals);
		if (r < 0) {
			char what[64];

			/* The kernel rolled this one back; roll back the ones before it. */
			for (j = 0; j < i; j++) {
				int t = hib_thaw_pidfd(fds[j]);

				if (t < 0 && t != -ESRCH)
					fprintf(ctx->err, PROG ": cannot thaw process %d again: "
						"%s\n", args->pids[j], hib_freeze_strerror(t));
			}
			snprintf(what, sizeof(what), "freeze process %d", args->pids[i]);
			report_error(ctx, what, r, &refusals, args->timeout_ms);
			if (r != -EBUSY && i > 0)
				fprintf(ctx->err, PROG ": the %zu process(es) frozen before it were "
					"thawed again\n", i);
			ret = hibctl_exit_code(r);
			goto out;
		}
		frozen += r;
	}
	t1 = now_ms();

	fprintf(ctx->out, "froze %d tasks of %zu processes in %.3f ms\n", frozen, args->n_pids,
		t1 - t0);
out:
	if (fds)
		close_all(fds, n_open);
	hib_refusals_free(&refusals);
	return ret;
}

int hibctl_cmd_freeze(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	if (args->n_pids > 0)
		return freeze_some(ctx, args);
	return freeze_all(ctx, args);
}

int hibctl_cmd_thaw(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	int r, thawed = 0, first_err = 0;
	size_t i, ok = 0;
	double t0, t1;

	if (args->all) {
		t0 = now_ms();
		r = hib_thaw_all();
		t1 = now_ms();
		if (r < 0) {
			report_error(ctx, "thaw all", r, NULL, 0);
			return hibctl_exit_code(r);
		}
		fprintf(ctx->out, "thawed %d tasks in %.3f ms\n", r, t1 - t0);
		return HIB_EXIT_OK;
	}

	/* Best effort: thaw every process that can be, report the others. */
	t0 = now_ms();
	for (i = 0; i < args->n_pids; i++) {
		_cleanup_close_ int fd = -1;

		fd = hib_pidfd_open(args->pids[i], 0);
		r = fd < 0 ? fd : hib_thaw_pidfd(fd);
		if (r < 0) {
			fprintf(ctx->err, PROG ": thaw process %d: %s\n", args->pids[i],
				hib_freeze_strerror(r));
			if (!first_err)
				first_err = r;
			continue;
		}
		thawed += r;
		ok++;
	}
	t1 = now_ms();

	if (ok > 0 || !first_err)
		fprintf(ctx->out, "thawed %d tasks of %zu processes in %.3f ms\n", thawed, ok,
			t1 - t0);
	return hibctl_exit_code(first_err);
}
