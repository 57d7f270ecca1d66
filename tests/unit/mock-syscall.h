/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake syscall(2) for the unit tests, linked with -Wl,--wrap=syscall: every call is recorded
 * (number, six arguments, and a copy of struct freeze_processes_args for freeze_processes) and
 * answered by the handler the test installs.  A handler returns >= 0 or -errno; the wrapper
 * turns -errno into -1 with errno set, as the C library does.
 */
#ifndef MOCK_SYSCALL_H
#define MOCK_SYSCALL_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/hibernate.h>

#define MOCK_MAX_CALLS 64

struct mock_call {
	long nr;
	long a[6];
	bool has_args;
	struct freeze_processes_args args;	/* copy, when nr is freeze_processes */
};

typedef long (*mock_handler_t)(long nr, long *a);

extern struct mock_call mock_calls[MOCK_MAX_CALLS];
extern size_t mock_n_calls;
extern mock_handler_t mock_handler;

/* Forget recorded calls and install @h (NULL: every call fails with -ENOSYS). */
void mock_reset(mock_handler_t h);

#endif /* MOCK_SYSCALL_H */
