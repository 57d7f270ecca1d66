/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: userspace side of freezer-less hibernation.
 *
 * Conventions: every function returns 0 (or a non-negative count / fd) on
 * success and a negative errno on failure, never a positive errno and never
 * -1 with errno set.  Output parameters are named ret_* and are written only
 * on success.  Free functions accept NULL.  The library never prints: install
 * a log function with hib_set_log_fn().
 */
#ifndef LIBHIBERNATE_HIBERNATE_H
#define LIBHIBERNATE_HIBERNATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/hibernate.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- logging ------------------------------------------------------------------------------ */

/* Levels, as in syslog(3). */
enum {
	HIB_LOG_ERR = 3,
	HIB_LOG_WARNING = 4,
	HIB_LOG_INFO = 6,
	HIB_LOG_DEBUG = 7,
};

typedef void (*hib_log_fn_t)(int level, const char *fmt, va_list ap);

/* Install @fn as the library's log sink (NULL: discard everything, the default). */
void hib_set_log_fn(hib_log_fn_t fn);

/* ---- errors ------------------------------------------------------------------------------- */

/*
 * The C library's description of @err (positive or negative errno); "success" for 0.  Never
 * NULL; static storage.
 */
const char *hib_strerror(int err);
/*
 * What an error of freeze_processes(2) or of a SIGFREEZE / SIGUNFREEZE kill means (EPERM,
 * ENOSYS, EBUSY, EINVAL, ESRCH, EFAULT), else hib_strerror().  Only for those calls.
 */
const char *hib_freeze_strerror(int err);

/* Copy @src (at most @src_size bytes, stops at NUL) to @dst, non-printable bytes as '?'. */
void hib_sanitize(char *dst, size_t dst_size, const char *src, size_t src_size);

/* ---- raw system calls (like libbpf's bpf.c) ----------------------------------------------- */

/*
 * freeze_processes(2) with size = sizeof(*args).  Returns the number of threads frozen or
 * thawed, or -errno.  On -EBUSY the kernel has filled args->refused (if set) and
 * args->refused_count.
 */
int hib_freeze_processes(struct freeze_processes_args *args);

/*
 * snapshot_kernel(2) with size = sizeof(*args).  0 or -errno.  On the suspend side
 * args->resumed is 0 and args->fd streams args->image_pages pages; after a restore the same
 * call returns again with args->resumed 1 and args->fd -1.  Freeze every task first.
 */
int hib_snapshot_kernel(struct snapshot_kernel_args *args);

/* kill(2), e.g. with SIGFREEZE / SIGUNFREEZE.  0 or -errno. */
int hib_kill(pid_t pid, int sig);

/* pidfd_open(2).  A new fd (O_CLOEXEC) or -errno. */
int hib_pidfd_open(pid_t pid, unsigned int flags);

/* pidfd_send_signal(2) with no siginfo.  0 or -errno. */
int hib_pidfd_send_signal(int pidfd, int sig, unsigned int flags);

/*
 * Does the running kernel have freeze_processes(2)?  Calls it with a NULL argument and size 0,
 * which no kernel accepts, so nothing is frozen: -ENOSYS means missing, any other answer means
 * present.  Returns true or false.
 */
bool hib_probe(void);

/* ---- freezing and thawing ----------------------------------------------------------------- */

/*
 * Room for the tasks that refuse to freeze.  Allocate it (hib_refusals_alloc) before freezing:
 * nothing in the freeze path allocates.  After a call that failed with -EBUSY, @count is the
 * total number of refusing tasks and the first MIN(@count, @max) entries are filled.
 */
struct hib_refusals {
	struct freeze_refusal *entries;
	unsigned int max;
	unsigned int count;
};

#define HIB_REFUSALS_DEFAULT_MAX 64

int hib_refusals_alloc(struct hib_refusals *r, unsigned int max);
void hib_refusals_free(struct hib_refusals *r);
/* Number of filled entries. */
unsigned int hib_refusals_shown(const struct hib_refusals *r);
/* One refusal as a table row ("PID TGID STATE COMM WCHAN", sanitized) into @buf. */
void hib_refusal_format(const struct freeze_refusal *e, char *buf, size_t size);

/*
 * Freeze every user task except the caller's thread group and its tracer.  @timeout_ms 0 means
 * /sys/power/pm_freeze_timeout.  @refusals may be NULL; its count is reset first and set on
 * -EBUSY.  Returns the number of threads frozen or -errno; on -EBUSY nothing stays frozen.
 */
int hib_freeze_all(unsigned int timeout_ms, struct hib_refusals *refusals);
/*
 * The same, but the freeze outlives the caller (FREEZE_PROCESSES_PERSIST): without it the
 * kernel thaws what a freeze of everything holds when its caller exits.  For a command that
 * freezes and exits; hib_thaw_all() or SysRq-J releases it.
 */
int hib_freeze_all_persist(unsigned int timeout_ms, struct hib_refusals *refusals);
/*
 * The same, leaving the @n_keep processes (tgids) in @keep running like the caller (the
 * helpers other tasks may be waiting for).  -E2BIG from a kernel that predates keep
 * (FREEZE_PROCESSES_ARGS_SIZE_VER0 only): nothing was frozen.
 */
int hib_freeze_all_keep(unsigned int timeout_ms, const pid_t *keep, unsigned int n_keep,
			struct hib_refusals *refusals);
/* Thaw everything frozen by freeze_processes(2) or SIGFREEZE.  Threads thawed or -errno. */
int hib_thaw_all(void);

/* The same for one process, by pid or by pidfd (FREEZE_PROCESSES_ONE [| _PIDFD]). */
int hib_freeze_pid(pid_t pid, unsigned int timeout_ms, struct hib_refusals *refusals);
int hib_freeze_pidfd(int pidfd, unsigned int timeout_ms, struct hib_refusals *refusals);
int hib_thaw_pid(pid_t pid);
int hib_thaw_pidfd(int pidfd);

/* Ask one process to freeze / thaw with the pseudo-signals; 0 or -errno, does not wait. */
int hib_signal_freeze_pidfd(int pidfd);
int hib_signal_thaw_pidfd(int pidfd);

/* ---- /proc -------------------------------------------------------------------------------- */

#define HIB_PROC_DEFAULT_ROOT	"/proc"
#define HIB_COMM_MAX		64	/* Name: is at most 15 bytes, escaped up to 4x */
#define HIB_WCHAN_MAX		64
/* Longest /proc file the parsers accept; a status file is about 1.5 KiB. */
#define HIB_PROC_FILE_MAX	16384

/* Tri-state for the Frozen: and UserFrozen: lines, absent on kernels without the series. */
enum {
	HIB_TRI_UNKNOWN = -1,
	HIB_TRI_NO = 0,
	HIB_TRI_YES = 1,
};

/* What /proc/PID/status says.  Fields missing from the file keep the values noted. */
struct hib_proc_status {
	char name[HIB_COMM_MAX];	/* "" */
	char state;			/* state letter, '?' */
	pid_t tgid;			/* required */
	pid_t pid;			/* required */
	pid_t ppid;			/* required */
	uid_t uid;			/* real uid, required */
	int frozen;			/* HIB_TRI_*, HIB_TRI_UNKNOWN */
	int user_frozen;		/* HIB_TRI_*, HIB_TRI_UNKNOWN */
};

/*
 * Parse the text of a /proc/PID/status file (@len bytes, need not be NUL-terminated).
 * -EINVAL if @buf is NULL or too long, -EBADMSG if a required line (Pid, Tgid, PPid, Uid) is
 * missing or any known field is malformed.
 */
int hib_parse_status(const char *buf, size_t len, struct hib_proc_status *ret_status);

/* The first fields of /proc/PID/stat. */
struct hib_proc_stat {
	pid_t pid;
	char comm[HIB_COMM_MAX];	/* truncated if longer */
	char state;
	pid_t ppid;
};

/* Parse /proc/PID/stat text; comm may contain spaces and ')'.  -EINVAL / -EBADMSG. */
int hib_parse_stat(const char *buf, size_t len, struct hib_proc_stat *ret_stat);

/*
 * Parse /proc/PID/wchan: a symbol name, or "0" / "" when the task is running or the symbol is
 * hidden, which gives "".  -EBADMSG if it does not look like a symbol.
 */
int hib_parse_wchan(const char *buf, size_t len, char ret_wchan[HIB_WCHAN_MAX]);

/*
 * Read /proc/@pid/status (or /proc/@pid/task/@tid/status when @tid > 0).  @proc_root NULL means
 * "/proc".  -ENOENT / -ESRCH when the task is gone, parser errors as above.
 */
int hib_read_status(const char *proc_root, pid_t pid, pid_t tid,
		    struct hib_proc_status *ret_status);
/* Read and parse /proc/@pid[/task/@tid]/wchan. */
int hib_read_wchan(const char *proc_root, pid_t pid, pid_t tid, char ret_wchan[HIB_WCHAN_MAX]);
/* Read and parse /proc/@pid/stat. */
int hib_read_stat(const char *proc_root, pid_t pid, struct hib_proc_stat *ret_stat);

/*
 * /proc/swaps: the number of active swap areas (lines after the header).  -EBADMSG if the
 * text has no "Filename" header.  hib_swap_active() reads @proc_root/swaps (0 when missing).
 */
int hib_parse_swaps(const char *buf, size_t len);
int hib_swap_active(const char *proc_root);

/*
 * The fdinfo of a snapshot_kernel(2) FD: data pages copied at the snapshot and streamed from
 * their frames ("copied_pages:" and "streamed_pages:").  -ENOENT if a field is missing (a
 * kernel without streaming), -EBADMSG if malformed.  hib_snapshot_fd_stats() reads
 * /proc/self/fdinfo/@fd.
 */
int hib_parse_snapshot_fdinfo(const char *buf, size_t len, uint64_t *ret_copied,
			      uint64_t *ret_streamed);
int hib_snapshot_fd_stats(int fd, uint64_t *ret_copied, uint64_t *ret_streamed);

/*
 * The numeric entries of /proc (processes), or of /proc/@pid/task when @pid > 0 (threads),
 * sorted ascending.  *ret_pids is malloc'ed (free() it; NULL when *ret_n is 0).
 */
int hib_list_pids(const char *proc_root, pid_t pid, pid_t **ret_pids, size_t *ret_n);

/*
 * The ancestors of @pid, nearest first, following PPid: up to and including pid 1 (or the last
 * process whose PPid is 0).  @pid itself is not included.  Loops and chains longer than
 * HIB_ANCESTORS_MAX give -ELOOP.  *ret_pids is malloc'ed.
 */
#define HIB_ANCESTORS_MAX 4096
int hib_ancestors(const char *proc_root, pid_t pid, pid_t **ret_pids, size_t *ret_n);

/* One process as reported by hib_scan_frozen(). */
struct hib_proc_info {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	char comm[HIB_COMM_MAX];
	char state;			/* of the thread group leader */
	int frozen;			/* leader's Frozen:, HIB_TRI_* */
	int user_frozen;		/* leader's UserFrozen:, HIB_TRI_* */
	char wchan[HIB_WCHAN_MAX];	/* leader's wchan, "" if unknown */
	unsigned int threads;
	unsigned int threads_frozen;	/* threads with Frozen: 1 */
	unsigned int threads_user_frozen; /* threads with UserFrozen: 1 */
};

/* A process is "freezing" when a freeze was requested but not every thread is frozen yet. */
static inline bool hib_proc_info_freezing(const struct hib_proc_info *p)
{
	return p->threads_user_frozen > 0 && p->threads_frozen < p->threads;
}

/*
 * Every process with at least one thread frozen or asked to freeze (all processes if @all),
 * sorted by pid.  *ret_fields is set to true when any status file had the Frozen: line, i.e.
 * the kernel reports freezer state at all.  Processes that vanish during the scan are skipped.
 * *ret_procs is malloc'ed.
 */
int hib_scan_frozen(const char *proc_root, bool all, struct hib_proc_info **ret_procs,
		    size_t *ret_n, bool *ret_fields);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_HIBERNATE_H */
