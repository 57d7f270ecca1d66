/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal: the stages hibernation.c runs (DESIGN.md section 1), each with the half that
 * undoes it.  Every function reports through the run's events; the ones that can fail return
 * 0 or -errno after a HIB_EV_FAIL (hib_fail()) naming what failed.
 */
#ifndef LIBHIBERNATE_STAGES_H
#define LIBHIBERNATE_STAGES_H

#include "hibernate.h"
#include "image.h"
#include "policy.h"
#include "run.h"

/* ---- steps 2, 3, 3b (stage-policy.c) ---- */

struct hib_policy_stage;

/*
 * Before the freeze: the policy (@policy borrowed, named @policy_dir in messages; else loaded
 * from @policy_dir, NULL: the default; bad files are refused and reported), every mounted
 * filesystem opened and the sync worker started.
 */
int hib_policy_stage_prepare(struct hib_run *run, const struct hib_policy *policy,
			     const char *policy_dir, struct hib_policy_stage **ret);
/*
 * Step 2: freeze every task but the policy's processes (matched now), which the kernel keeps
 * running (freeze_processes(2) keep).  Threads frozen or -errno (-EBUSY: the refusing tasks
 * were reported).
 */
int hib_policy_stage_freeze(struct hib_run *run, struct hib_policy_stage *st,
			    struct hib_refusals *refusals);
/* Steps 3 and 3b: thaw the policy's processes not kept, sync with the deadline. */
int hib_policy_stage_run(struct hib_run *run, struct hib_policy_stage *st);
/* Waits (bounded) for the sync worker after a rollback.  Accepts NULL. */
void hib_policy_stage_free(struct hib_policy_stage *st);

void hib_policy_errors_emit(struct hib_run *run, enum hib_step step,
			    const struct hib_policy_errors *errs);
void hib_refusals_emit(struct hib_run *run, const struct hib_refusals *r,
		       unsigned int timeout_ms);

/* ---- steps 4, 5b, R2, R5, the abort rows (stage-dm.c) ---- */

struct hib_dm_stage;

/* Before the freeze: which filesystems, the COW store, the target's place (@sink, @target). */
int hib_dm_stage_prepare(struct hib_run *run, struct hib_sink *sink, const char *target,
			 struct hib_dm_stage **ret);
int hib_dm_stage_protect(struct hib_run *run, struct hib_dm_stage *d);
int hib_dm_stage_thaw(struct hib_run *run, struct hib_dm_stage *d);
/* A COW store that overflowed during the write: -ENOSPC, do not power off. */
int hib_dm_stage_check_valid(struct hib_run *run, struct hib_dm_stage *d);
/* Undo protect: switch back before 5b, merge back after it.  Nothing to do: 0. */
int hib_dm_stage_abort(struct hib_run *run, struct hib_dm_stage *d);
int hib_dm_stage_resumed(struct hib_run *run, struct hib_dm_stage *d);
int hib_dm_stage_identities(struct hib_dm_stage *d, struct hib_image_writer *w);
void hib_dm_stage_mark_hibernated(struct hib_run *run, struct hib_dm_stage *d);
unsigned int hib_dm_stage_count(const struct hib_dm_stage *d);
void hib_dm_stage_fault_window(struct hib_run *run, struct hib_dm_stage *d);
void hib_dm_stage_free(struct hib_dm_stage *d);
/* R2: every protected origin in @info unchanged?  *ret_stale: never restore it. */
int hib_dm_stage_verify_image(struct hib_run *run, const struct hib_image_info *info,
			      const char *path, bool *ret_stale);
/* hib_check()'s part: the protected filesystems, the COW store, @target. */
int hib_dm_stage_check(struct hib_run *run, const char *target, bool *ok);

#endif /* LIBHIBERNATE_STAGES_H */
