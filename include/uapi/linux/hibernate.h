/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Userspace-driven hibernation: freeze_processes(2), the SIGFREEZE and
 * SIGUNFREEZE pseudo-signals and snapshot_kernel(2).
 *
 * See Documentation/power/userspace-hibernation.rst.
 */
#ifndef _UAPI_LINUX_HIBERNATE_H
#define _UAPI_LINUX_HIBERNATE_H

#include <linux/types.h>

/*
 * System call numbers.  They sit far above upstream's allocation so that
 * they never collide with a later upstream call; x86-64 only for now.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#ifndef __NR_freeze_processes
#define __NR_freeze_processes	1000
#endif
#ifndef __NR_snapshot_kernel
#define __NR_snapshot_kernel	1001
#endif
#endif

/*
 * Pseudo-signals, accepted only by kill(2) and pidfd_send_signal(2).  They
 * are above every architecture's _NSIG: they are never queued, never
 * delivered, cannot be blocked, caught or ignored, and every other signal
 * path rejects them with -EINVAL.  Both need CAP_SYS_ADMIN in the initial
 * user namespace.
 *
 * SIGFREEZE asks every thread of the target process(es) to stop in the
 * freezer at its next return to user mode (or at once if it sleeps
 * freezably); SIGUNFREEZE undoes it.
 */
#define SIGFREEZE	200
#define SIGUNFREEZE	201

/* freeze_processes(2) flags */
#define FREEZE_PROCESSES_THAW	(1ULL << 0)	/* thaw instead of freeze */
#define FREEZE_PROCESSES_ONE	(1ULL << 1)	/* only the process in @target */
#define FREEZE_PROCESSES_PIDFD	(1ULL << 2)	/* @target is a pidfd, not a pid */
#define FREEZE_PROCESSES_PERSIST (1ULL << 3)	/* a freeze of everything outlives the caller */

#define FREEZE_PROCESSES_FLAGS	(FREEZE_PROCESSES_THAW | FREEZE_PROCESSES_ONE | \
				 FREEZE_PROCESSES_PIDFD | FREEZE_PROCESSES_PERSIST)

/**
 * struct freeze_refusal - a task that did not freeze in time
 * @pid:	thread id, in the caller's pid namespace
 * @tgid:	thread group id, in the caller's pid namespace
 * @state:	the task's state letter as in /proc/PID/stat ('D', 'R', ...)
 * @__reserved:	zero
 * @comm:	the task's comm, NUL-terminated
 * @wchan:	symbol of the function the task sleeps in, NUL-terminated,
 *		empty if unknown
 */
struct freeze_refusal {
	__s32	pid;
	__s32	tgid;
	__u32	state;
	__u32	__reserved;
	char	comm[16];
	char	wchan[64];
};

/**
 * struct freeze_processes_args - arguments of freeze_processes(2)
 * @flags:		FREEZE_PROCESSES_* flags
 * @target:		with FREEZE_PROCESSES_ONE, the pid (or pidfd with
 *			FREEZE_PROCESSES_PIDFD) of the process; else zero
 * @timeout_ms:		how long to wait for the tasks to freeze; zero means
 *			/sys/power/pm_freeze_timeout
 * @refused:		user pointer to an array of struct freeze_refusal,
 *			filled when the call fails with -EBUSY; may be zero
 * @refused_max:	number of entries @refused has room for
 * @refused_count:	out: number of tasks that refused to freeze (may be
 *			larger than @refused_max)
 * @keep:		user pointer to an array of __s32 process ids (thread
 *			group ids, in the caller's pid namespace) that a freeze
 *			of every task leaves running, like the caller; zero if
 *			@keep_count is zero
 * @keep_count:		number of entries in @keep, at most
 *			FREEZE_PROCESSES_KEEP_MAX
 * @__reserved:		zero
 *
 * freeze_processes(2) returns the number of tasks (threads) it froze or
 * thawed, or -1 with errno set.
 */
struct freeze_processes_args {
	__aligned_u64	flags;
	__s32		target;
	__u32		timeout_ms;
	__aligned_u64	refused;
	__u32		refused_max;
	__u32		refused_count;
	__aligned_u64	keep;
	__u32		keep_count;
	__u32		__reserved;
};

#define FREEZE_PROCESSES_ARGS_SIZE_VER0	32
#define FREEZE_PROCESSES_ARGS_SIZE_VER1	48	/* adds keep, keep_count */
#define FREEZE_PROCESSES_KEEP_MAX	1024
#define FREEZE_PROCESSES_TIMEOUT_MAX_MS	600000	/* ten minutes */

/*
 * snapshot_kernel(2) flags.  SNAPSHOT_KERNEL_STREAM: do not copy the
 * anonymous pages of processes held frozen with freeze_processes(2); read(2)
 * streams them from their own frames (images of most of RAM without swap).
 * Needs swap off: -EBUSY otherwise.
 */
#define SNAPSHOT_KERNEL_STREAM	(1ULL << 0)

#define SNAPSHOT_KERNEL_FLAGS	SNAPSHOT_KERNEL_STREAM

/**
 * struct snapshot_kernel_args - arguments of snapshot_kernel(2)
 * @flags:		SNAPSHOT_KERNEL_* flags
 * @overhead_pages:	pages to keep free after the copy for the caller
 * @image_pages:	out: length of the image stream in pages (header,
 *			metadata and data pages), on the suspend side
 * @fd:			out: read-only FD streaming the image, on the suspend
 *			side; -1 in the resumed system
 * @resumed:		out: 0 on the suspend side, 1 when the call returns
 *			in the system resumed from the image
 *
 * snapshot_kernel(2) returns 0, or -1 with errno set.
 */
struct snapshot_kernel_args {
	__aligned_u64	flags;
	__aligned_u64	overhead_pages;
	__aligned_u64	image_pages;
	__s32		fd;
	__u32		resumed;
};

#define SNAPSHOT_KERNEL_ARGS_SIZE_VER0	32

#endif /* _UAPI_LINUX_HIBERNATE_H */
