// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>

#include "mock-syscall.h"

struct mock_call mock_calls[MOCK_MAX_CALLS];
size_t mock_n_calls;
mock_handler_t mock_handler;

void mock_reset(mock_handler_t h)
{
	memset(mock_calls, 0, sizeof(mock_calls));
	mock_n_calls = 0;
	mock_handler = h;
}

long __wrap_syscall(long nr, ...);

long __wrap_syscall(long nr, ...)
{
	struct mock_call c = { .nr = nr };
	va_list ap;
	long r;
	int i;

	/* As glibc's syscall(): always six register-sized arguments. */
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		c.a[i] = va_arg(ap, long);
	va_end(ap);

	if (nr == __NR_freeze_processes && c.a[0] &&
	    (size_t)c.a[1] >= sizeof(struct freeze_processes_args)) {
		memcpy(&c.args, (void *)c.a[0], sizeof(c.args));
		c.has_args = true;
	}

	r = mock_handler ? mock_handler(nr, c.a) : -ENOSYS;
	if (mock_n_calls < MOCK_MAX_CALLS)
		mock_calls[mock_n_calls++] = c;
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
