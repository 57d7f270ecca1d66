/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers shared by libhibernate and hibernatectl: scope-based cleanup
 * in the style of systemd's _cleanup_ attributes.  Not part of the public API.
 */
#ifndef HIB_MACRO_H
#define HIB_MACRO_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)	__attribute__((cleanup(f)))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_		_cleanup_(freep)
#define _cleanup_close_		_cleanup_(closep)
#define _cleanup_fclose_	_cleanup_(fclosep)
#define _cleanup_closedir_	_cleanup_(closedirp)

/* Hand ownership of a pointer or fd out of a _cleanup_ variable. */
#define TAKE_PTR(p)				\
	({					\
		__typeof__(p) _tp = (p);	\
		(p) = NULL;			\
		_tp;				\
	})

#define TAKE_FD(fd)				\
	({					\
		int _tf = (fd);			\
		(fd) = -1;			\
		_tf;				\
	})

/* errno as a negative value; never 0, so a caller cannot mistake it for success. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif /* HIB_MACRO_H */
