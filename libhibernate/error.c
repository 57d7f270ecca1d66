// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Error text per domain: hib_strerror() is the plain description of an errno;
 * hib_freeze_strerror() gives the meanings freeze_processes(2), SIGFREEZE and SIGUNFREEZE
 * give their errors.  Every other message is worded at its call site.
 */
#include <errno.h>
#include <string.h>

#include "hibernate.h"

const char *hib_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

const char *hib_freeze_strerror(int err)
{
	if (err < 0)
		err = -err;

	switch (err) {
	case EPERM:
		return "permission denied: freezing and thawing tasks needs CAP_SYS_ADMIN "
		       "in the initial user namespace";
	case ENOSYS:
		return "this kernel lacks freeze_processes(2): boot a kernel built from "
		       "kernel-patches/";
	case EBUSY:
		return "some tasks did not freeze within the timeout; everything this call "
		       "froze was thawed again";
	case EINVAL:
		return "invalid argument: the kernel rejected the flags, size or signal "
		       "(kernel and hibernatectl out of step?)";
	case ESRCH:
		return "no such process";
	case EFAULT:
		return "bad address passed to the kernel (a bug in the caller)";
	}
	return hib_strerror(err);
}
