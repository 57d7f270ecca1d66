/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal: the state of one operation (hibernation.c and its stages): the options, the
 * events and where the system is.  Messages are formatted into a buffer allocated with the
 * run, before anything is frozen, and handed to the caller's callback.
 */
#ifndef LIBHIBERNATE_RUN_H
#define LIBHIBERNATE_RUN_H

#include <stdarg.h>

#include "hibernation.h"

#define HIB_RUN_MSG_MAX 1024

struct hib_run {
	const struct hib_events *ev;	/* may be NULL */
	const struct hib_conf *conf;	/* never NULL inside (defaults if the caller gave none) */
	struct hib_system sys;		/* the caller's, self filled in */
	bool failed;			/* a HIB_EV_FAIL was sent */
	enum hib_step fail_step;
	int fail_err;
	char msg[HIB_RUN_MSG_MAX];
};

/* Fill @run: @conf (NULL: @defaults, zeroed here), @sys (NULL: the real system). */
void hib_run_init(struct hib_run *run, const struct hib_conf *conf, struct hib_conf *defaults,
		  const struct hib_system *sys, const struct hib_events *ev);

/* A message of @level at @step (@err: -errno or 0). */
void hib_emit(struct hib_run *run, enum hib_step step, enum hib_event_level level, int err,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The failure: HIB_EV_FAIL the first time, HIB_EV_ERROR after.  Returns @err. */
int hib_fail(struct hib_run *run, enum hib_step step, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A further line of the message before (table rows): printed without a prefix. */
void hib_emit_detail(struct hib_run *run, enum hib_step step, enum hib_event_level level,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define hib_notice(run, step, ...)	hib_emit(run, step, HIB_EV_NOTICE, 0, __VA_ARGS__)
#define hib_warning(run, step, err, ...) hib_emit(run, step, HIB_EV_WARNING, err, __VA_ARGS__)
#define hib_error(run, step, err, ...)	hib_emit(run, step, HIB_EV_ERROR, err, __VA_ARGS__)


#endif /* LIBHIBERNATE_RUN_H */
