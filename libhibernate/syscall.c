// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Thin wrappers around the system calls, in the style of libbpf's bpf.c.  Everything goes
 * through syscall(2) so that the unit tests can intercept it (-Wl,--wrap=syscall).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hibernate.h"
#include "log.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif

/* A system call's result as >= 0 or -errno. */
static long sys_result(long r)
{
	if (r >= 0)
		return r;
	return errno > 0 ? -errno : -EIO;
}

static long sys_freeze_processes(struct freeze_processes_args *args, size_t size)
{
#ifdef __NR_freeze_processes
	return sys_result(syscall(__NR_freeze_processes, args, size));
#else
	(void)args;
	(void)size;
	return -ENOSYS;
#endif
}

int hib_freeze_processes(struct freeze_processes_args *args)
{
	long r;

	if (!args)
		return -EINVAL;
	r = sys_freeze_processes(args, sizeof(*args));
	hib_debug("freeze_processes(flags=%#llx, target=%d, timeout_ms=%u) = %ld",
		  (unsigned long long)args->flags, args->target, args->timeout_ms, r);
	return (int)r;
}

static long sys_snapshot_kernel(struct snapshot_kernel_args *args, size_t size)
{
#ifdef __NR_snapshot_kernel
	return sys_result(syscall(__NR_snapshot_kernel, args, size));
#else
	(void)args;
	(void)size;
	return -ENOSYS;
#endif
}

int hib_snapshot_kernel(struct snapshot_kernel_args *args)
{
	long r;

	if (!args)
		return -EINVAL;
	r = sys_snapshot_kernel(args, sizeof(*args));
	hib_debug("snapshot_kernel(overhead_pages=%llu) = %ld: image_pages=%llu fd=%d resumed=%u",
		  (unsigned long long)args->overhead_pages, r,
		  (unsigned long long)args->image_pages, args->fd, args->resumed);
	return (int)r;
}

int hib_kill(pid_t pid, int sig)
{
	return (int)sys_result(syscall(__NR_kill, (long)pid, (long)sig));
}

int hib_pidfd_open(pid_t pid, unsigned int flags)
{
	if (pid <= 0)
		return -EINVAL;
	return (int)sys_result(syscall(__NR_pidfd_open, (long)pid, (unsigned long)flags));
}

int hib_pidfd_send_signal(int pidfd, int sig, unsigned int flags)
{
	if (pidfd < 0)
		return -EBADF;
	return (int)sys_result(syscall(__NR_pidfd_send_signal, (long)pidfd, (long)sig,
				       (void *)NULL, (unsigned long)flags));
}

bool hib_probe(void)
{
	long r = sys_freeze_processes(NULL, 0);

	hib_debug("freeze_processes probe: %ld", r);
	if (r >= 0)
		hib_warn("freeze_processes(NULL, 0) unexpectedly succeeded (%ld)", r);
	return r != -ENOSYS;
}

int hib_signal_freeze_pidfd(int pidfd)
{
	return hib_pidfd_send_signal(pidfd, SIGFREEZE, 0);
}

int hib_signal_thaw_pidfd(int pidfd)
{
	return hib_pidfd_send_signal(pidfd, SIGUNFREEZE, 0);
}
