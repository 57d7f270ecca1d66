// SPDX-License-Identifier: LGPL-2.1-or-later
/* The library never prints: messages go to the function the program installs. */
#include <errno.h>
#include <stdarg.h>

#include "log.h"

static hib_log_fn_t log_fn;

void hib_set_log_fn(hib_log_fn_t fn)
{
	log_fn = fn;
}

void hib_log(int level, const char *fmt, ...)
{
	hib_log_fn_t fn = log_fn;
	int saved = errno;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
	errno = saved;
}
