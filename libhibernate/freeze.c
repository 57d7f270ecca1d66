// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Freeze and thaw helpers on top of freeze_processes(2).  Nothing in here allocates: refusal
 * buffers are allocated by hib_refusals_alloc() before anything is frozen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hibernate.h"
#include "log.h"
#include "macro.h"

/* More than any kernel will report usefully; keeps the allocation bounded. */
#define HIB_REFUSALS_LIMIT 65536

int hib_refusals_alloc(struct hib_refusals *r, unsigned int max)
{
	struct freeze_refusal *e;

	if (!r || max == 0 || max > HIB_REFUSALS_LIMIT)
		return -EINVAL;
	e = calloc(max, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r->entries = e;
	r->max = max;
	r->count = 0;
	return 0;
}

void hib_refusals_free(struct hib_refusals *r)
{
	if (!r)
		return;
	free(r->entries);
	r->entries = NULL;
	r->max = 0;
	r->count = 0;
}

unsigned int hib_refusals_shown(const struct hib_refusals *r)
{
	if (!r || !r->entries)
		return 0;
	return MIN(r->count, r->max);
}

void hib_refusal_format(const struct freeze_refusal *e, char *buf, size_t size)
{
	char comm[sizeof(e->comm) + 1], wchan[sizeof(e->wchan) + 1];
	char state = e->state > 0x20 && e->state < 0x7f ? (char)e->state : '?';

	hib_sanitize(comm, sizeof(comm), e->comm, sizeof(e->comm));
	hib_sanitize(wchan, sizeof(wchan), e->wchan, sizeof(e->wchan));
	snprintf(buf, size, "%8d %8d %-5c %-16s %s", e->pid, e->tgid, state, comm,
		 wchan[0] ? wchan : "-");
}

static int do_freeze_keep(uint64_t flags, int target, unsigned int timeout_ms,
			  const pid_t *keep, unsigned int n_keep, struct hib_refusals *refusals)
{
	struct freeze_processes_args args = {
		.flags = flags,
		.target = target,
		.timeout_ms = timeout_ms,
	};
	int r;

	_Static_assert(sizeof(pid_t) == sizeof(__s32), "keep is an array of __s32");
	if (n_keep) {
		args.keep = (uint64_t)(uintptr_t)keep;
		args.keep_count = n_keep;
	}

	if (refusals) {
		refusals->count = 0;
		if (refusals->entries && refusals->max) {
			args.refused = (uint64_t)(uintptr_t)refusals->entries;
			args.refused_max = refusals->max;
		}
	}

	r = hib_freeze_processes(&args);
	if (r == -EBUSY) {
		if (refusals)
			refusals->count = args.refused_count;
		hib_info("%u task(s) refused to freeze; the kernel rolled back",
			 args.refused_count);
	}
	return r;
}

static int do_freeze(uint64_t flags, int target, unsigned int timeout_ms,
		     struct hib_refusals *refusals)
{
	return do_freeze_keep(flags, target, timeout_ms, NULL, 0, refusals);
}

int hib_freeze_all(unsigned int timeout_ms, struct hib_refusals *refusals)
{
	return do_freeze(0, 0, timeout_ms, refusals);
}

int hib_freeze_all_persist(unsigned int timeout_ms, struct hib_refusals *refusals)
{
	return do_freeze(FREEZE_PROCESSES_PERSIST, 0, timeout_ms, refusals);
}

int hib_freeze_all_keep(unsigned int timeout_ms, const pid_t *keep, unsigned int n_keep,
			struct hib_refusals *refusals)
{
	if ((n_keep && !keep) || n_keep > FREEZE_PROCESSES_KEEP_MAX)
		return -EINVAL;
	return do_freeze_keep(0, 0, timeout_ms, keep, n_keep, refusals);
}

int hib_thaw_all(void)
{
	return do_freeze(FREEZE_PROCESSES_THAW, 0, 0, NULL);
}

int hib_freeze_pid(pid_t pid, unsigned int timeout_ms, struct hib_refusals *refusals)
{
	if (pid <= 0)
		return -EINVAL;
	return do_freeze(FREEZE_PROCESSES_ONE, pid, timeout_ms, refusals);
}

int hib_freeze_pidfd(int pidfd, unsigned int timeout_ms, struct hib_refusals *refusals)
{
	if (pidfd < 0)
		return -EBADF;
	return do_freeze(FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_PIDFD, pidfd, timeout_ms,
			 refusals);
}

int hib_thaw_pid(pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	return do_freeze(FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_THAW, pid, 0, NULL);
}

int hib_thaw_pidfd(int pidfd)
{
	if (pidfd < 0)
		return -EBADF;
	return do_freeze(FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_THAW | FREEZE_PROCESSES_PIDFD,
			 pidfd, 0, NULL);
}
