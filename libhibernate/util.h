/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: small I/O helpers shared by the library's files. */
#ifndef LIBHIBERNATE_UTIL_H
#define LIBHIBERNATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/*
 * Read up to @len bytes from @fd, retrying on EINTR and short reads; fewer only at end of
 * file.  The count, or -errno.
 */
ssize_t hib_read_full(int fd, void *buf, size_t len);
/* The same with pread(2) at @off (>= 0). */
ssize_t hib_pread_full(int fd, void *buf, size_t len, off_t off);

/*
 * Read the whole file @path (at most @size - 1 bytes) into @buf, NUL-terminated.  The count;
 * -EFBIG if it does not fit; -errno (open's ENOENT included).
 */
ssize_t hib_read_file(const char *path, char *buf, size_t size);

/*
 * May @fd hold a secret (a key, a passphrase, a token, credentials)?  As ssh does: owned by
 * root (or by us) and no permission for group or others.  0, -EPERM if not, -errno.
 */
int hib_secret_fd_check(int fd);

/* Format a refusal into @why (may be NULL) and return @err: `return hib_why(why, n, -EX, ...)`. */
int hib_why(char *why, size_t why_size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * memcpy() for the bulk copies of the write path (the sink's gathering buffer): 16-byte
 * SSE2 moves where the CPU has them.  As fast as glibc's memcpy() on hardware; 4x faster
 * in an emulated guest (QEMU TCG), where glibc's "rep movsb" runs byte by byte.
 */
void hib_copy(void *dst, const void *src, size_t len);

/*
 * Run @prog (an absolute path) with @argv (argv[0] included, NULL-terminated) and @envp (NULL:
 * ours), stdin on /dev/null, stdout (and stderr too if @with_stderr, else /dev/null) on a
 * pipe, and call @on_line with each line it prints (without the newline; a line longer than
 * 4095 bytes comes in pieces).  Read to the end, so the child never dies of SIGPIPE.  After
 * @timeout_s seconds (0: no limit) the child is killed (SIGKILL).  If it cannot be executed,
 * @on_line gets "cannot run PROG: REASON" and the status is exit 127.
 *
 * The wait status (>= 0, for WIFEXITED() and co.), -ETIMEDOUT if it was killed for time,
 * or -errno if it could not be started.
 */
int hib_spawn_lines(const char *prog, char *const argv[], char *const envp[], bool with_stderr,
		    unsigned int timeout_s, void (*on_line)(const char *line, void *userdata),
		    void *userdata);

/* Nanoseconds of @clock (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID: the stage figures). */
static inline uint64_t hib_clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t hib_cpu_ns(void)
{
	return hib_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static inline uint64_t hib_wall_ns(void)
{
	return hib_clock_ns(CLOCK_MONOTONIC);
}

#endif /* LIBHIBERNATE_UTIL_H */
