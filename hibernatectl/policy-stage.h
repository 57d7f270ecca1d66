/* SPDX-License-Identifier: GPL-2.0-only */
/* DESIGN.md steps 3 and 3b in hibernatectl (cmd-policy.c). */
#ifndef HIBERNATECTL_POLICY_STAGE_H
#define HIBERNATECTL_POLICY_STAGE_H

#include "commands.h"

struct hibctl_policy_stage;

/*
 * Before the freeze: load the policy (--policy-dir; bad files are refused and reported), open
 * every mounted filesystem and start the sync worker.  0, or an exit code (message printed).
 */
int hibctl_policy_stage_prepare(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
				struct hibctl_policy_stage **ret);
/*
 * Step 2: freeze every task but the policy's processes (matched now), which the kernel keeps
 * running (freeze_processes(2) keep): a task waiting for one of them (a FUSE writer) can then
 * freeze.  Prints what it kept.  With a kernel that cannot keep, freezes everything (the
 * helpers are thawed by hibctl_policy_stage_run()).  The freeze's result: threads frozen or
 * -errno, already reported (-EBUSY: the tasks in @refusals are printed).
 */
int hibctl_policy_stage_freeze(const struct hibctl_ctx *ctx, struct hibctl_policy_stage *st,
			       unsigned int timeout_ms, struct hib_refusals *refusals);
/*
 * After the freeze: thaw the policy's processes not kept (started meanwhile; printed), then sync every
 * filesystem with the deadline.  0, or -ETIMEDOUT (the filesystem and the tasks it waits on
 * are printed; the caller rolls back) or another -errno (printed).
 */
int hibctl_policy_stage_run(const struct hibctl_ctx *ctx, struct hibctl_policy_stage *st);
/* Waits (bounded) for the sync worker after a rollback. */
void hibctl_policy_stage_free(struct hibctl_policy_stage *st);

/*
 * hibernate --test=freeze: freeze, steps 3 and 3b, hold 2 s, thaw everything.  An exit code.
 */
int hibctl_hibernate_test_freeze(const struct hibctl_ctx *ctx, const struct hibctl_args *args);

#endif /* HIBERNATECTL_POLICY_STAGE_H */
