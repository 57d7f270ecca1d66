/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection and test actions, for test builds only (meson -Dfault-injection=true, which
 * `make check` sets; CRIU's criu/include/fault-injection.h is the model).  One enum of points,
 * armed from one variable, $HIBERNATE_FAULT, a comma-separated list:
 *
 *   fail=STEP[:ERRNO]    the hibernation fails at STEP (a step name of hib_step_name(),
 *                        before the step's own work) with -ERRNO (default EIO); of the
 *                        resume's steps, invalidate (the image loaded, nothing restored)
 *   build-id=HEX         the image header carries this kernel build id (an image "from
 *                        another kernel")
 *   window-write=NAME[:MIB]  after 5b, write NAME and NAME.big (MIB MiB, default 1) into
 *                        each protected filesystem: writes after the snapshot instant
 *   poke=PID:FILE        after 5b, SIGUSR2 to PID, then wait up to 10 s for FILE
 *   sysrq=f              after 5b (and the poke), the OOM killer by hand; its verdict from
 *                        the kernel log is reported (which process it killed, or none)
 *   forge=unauthenticated  write an unencrypted image even where one is refused (a URL):
 *                        what an attacker with a tool of his own would put there
 *
 * Only a front end that calls hib_fault_arm() honours the variable (hibernatectl in a test
 * build; hibernated never does).  In a release build every function here is an empty inline
 * and hib_fault_arm() returns -EOPNOTSUPP when the variable is set.
 */
#ifndef LIBHIBERNATE_FAULT_H
#define LIBHIBERNATE_FAULT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "hibernation.h"

struct hib_run;
struct hib_image_info;

#define HIB_FAULT_ENV "HIBERNATE_FAULT"

#ifdef HIB_FAULT_INJECTION

/* Parse @spec (NULL: $HIBERNATE_FAULT) and arm it.  0, or -EINVAL (@why says what). */
int hib_fault_arm(const char *spec, char *why, size_t why_size);
/* Disarm everything (the unit tests, between cases). */
void hib_fault_disarm(void);
/* The armed failure at @step: -errno (reported as the step's failure), or 0. */
int hib_fault_step(struct hib_run *run, enum hib_step step);
/* The build-id action into @id; true if applied. */
bool hib_fault_build_id(struct hib_run *run, struct hib_image_info *id);
/* The window-write action on one protected filesystem. */
void hib_fault_window_write(struct hib_run *run, const char *mountpoint);
/* The actions after step 5b: poke, then sysrq. */
void hib_fault_after_snapshot(struct hib_run *run);
/* The forge action: true if an unauthenticated image is to be written anyway. */
bool hib_fault_forge(struct hib_run *run);

#else

static inline int hib_fault_arm(const char *spec, char *why, size_t why_size)
{
	(void)why;
	(void)why_size;
	return spec || getenv(HIB_FAULT_ENV) ? -EOPNOTSUPP : 0;
}

static inline void hib_fault_disarm(void)
{
}

static inline int hib_fault_step(struct hib_run *run, enum hib_step step)
{
	(void)run;
	(void)step;
	return 0;
}

static inline bool hib_fault_build_id(struct hib_run *run, struct hib_image_info *id)
{
	(void)run;
	(void)id;
	return false;
}

static inline void hib_fault_window_write(struct hib_run *run, const char *mountpoint)
{
	(void)run;
	(void)mountpoint;
}

static inline void hib_fault_after_snapshot(struct hib_run *run)
{
	(void)run;
}

static inline bool hib_fault_forge(struct hib_run *run)
{
	(void)run;
	return false;
}

#endif /* HIB_FAULT_INJECTION */

#endif /* LIBHIBERNATE_FAULT_H */
