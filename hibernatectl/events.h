/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hibernatectl's side of libhibernate's events (hibernation.h): each message printed as the
 * CLI always printed it (errors and warnings on stderr after "hibernatectl: ", the rest on
 * stdout), the progress line on a terminal, the summary table.  Also the configuration,
 * resolved once per command from the flags, and the exit code of a failed operation.
 */
#ifndef HIBERNATECTL_EVENTS_H
#define HIBERNATECTL_EVENTS_H

#include <stdio.h>

#include "commands.h"
#include "hibernation.h"

struct hibctl_events {
	struct hib_events ev;
	FILE *out;
	FILE *err;
	bool all_out;		/* check: every finding on stdout, no prefix */
	bool tty;		/* progress on err */
	const char *what;	/* "writing image" ... */
	double start, last;
	uint64_t total;		/* image verify: raw bytes */
	enum hib_step fail_step;
	int fail_err;
	bool quiet;		/* --json: messages are kept (last), not printed */
	char last_msg[512];	/* the last failure or notice, for a JSON error */
};

void hibctl_events_init(struct hibctl_events *pe, const struct hibctl_ctx *ctx, const char *what);

/* The real system, or the fakes the unit tests put into @ctx. */
void hibctl_system(const struct hibctl_ctx *ctx, struct hib_system *ret);

/*
 * The configuration of --config (else $HIBERNATE_CONF, else the default path) with the
 * environment and the command line's flags over it, into *ret (free() it).  0, or an exit
 * code with every error printed.
 */
int hibctl_conf(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		struct hib_conf **ret);

/*
 * What every front end of a library operation starts with: the configuration (hibctl_conf()),
 * the system (hibctl_system()) and the events (hibctl_events_init()).  0 or an exit code.
 */
int hibctl_begin(const struct hibctl_ctx *ctx, const struct hibctl_args *args, const char *what,
		 struct hib_conf **ret_conf, struct hib_system *ret_sys, struct hibctl_events *ret_pe);

/* The exit code of a library operation that returned @r (< 0), from its failed step. */
int hibctl_exit_for(const struct hibctl_events *pe, int r);

#endif /* HIBERNATECTL_EVENTS_H */
