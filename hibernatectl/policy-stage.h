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
 * After the freeze: thaw the policy's processes in order (printed), then sync every
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
