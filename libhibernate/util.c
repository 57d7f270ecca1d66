// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small I/O helpers (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "macro.h"
#include "util.h"

int hib_why(char *why, size_t why_size, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* read(2) or, with @off >= 0, pread(2) at @off, until @len bytes, EOF or an error. */
static ssize_t read_full_at(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = off < 0 ? read(fd, (uint8_t *)buf + got, len - got) :
			    pread(fd, (uint8_t *)buf + got, len - got, off + (off_t)got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t hib_read_full(int fd, void *buf, size_t len)
{
	return read_full_at(fd, buf, len, -1);
}

ssize_t hib_pread_full(int fd, void *buf, size_t len, off_t off)
{
	return off < 0 ? -EINVAL : read_full_at(fd, buf, len, off);
}

int hib_secret_fd_check(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IRWXG | S_IRWXO)))
		return -EPERM;
	return 0;
}

ssize_t hib_read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!size)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = hib_read_full(fd, buf, size);
	if (n < 0)
		return n;
	if ((size_t)n == size)
		return -EFBIG;
	buf[n] = 0;
	return n;
}

void hib_copy(void *dst, const void *src, size_t len)
{
#ifdef __SSE2__
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t i = 0;

	for (; i + 64 <= len; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));

		_mm_storeu_si128((__m128i *)(d + i), a);
		_mm_storeu_si128((__m128i *)(d + i + 16), b);
		_mm_storeu_si128((__m128i *)(d + i + 32), c);
		_mm_storeu_si128((__m128i *)(d + i + 48), e);
	}
	memcpy(d + i, s + i, len - i);
#else
	memcpy(dst, src, len);
#endif
}

int hib_spawn_lines(const char *prog, char *const argv[], char *const envp[], bool with_stderr,
		    unsigned int timeout_s, void (*on_line)(const char *line, void *userdata),
		    void *userdata)
{
	uint64_t deadline = timeout_s ? hib_wall_ns() + (uint64_t)timeout_s * 1000000000u : 0;
	char line[4096];
	size_t len = 0;
	bool killed = false;
	int pfd[2], status = 0, r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(pfd[1], STDOUT_FILENO) < 0 ||
		    dup2(with_stderr ? pfd[1] : null, STDERR_FILENO) < 0)
			_exit(127);
		if (envp)
			execve(prog, argv, envp);
		else
			execv(prog, argv);
		dprintf(STDOUT_FILENO, "cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		int wait_ms = -1;
		ssize_t got;
		char *nl;

		if (deadline) {
			uint64_t now = hib_wall_ns();

			if (now >= deadline) {
				kill(pid, SIGKILL);
				killed = true;
				break;
			}
			wait_ms = (int)((deadline - now) / 1000000u) + 1;
		}
		r = poll(&pf, 1, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		got = read(pfd[0], line + len, sizeof(line) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
		line[len] = 0;
		/* Hand over every whole line; a full buffer without a newline goes as a piece. */
		while ((nl = memchr(line, '\n', len)) || len == sizeof(line) - 1) {
			size_t n = nl ? (size_t)(nl - line) : len;

			line[n] = 0;
			on_line(line, userdata);
			n += nl ? 1 : 0;
			memmove(line, line + n, len - n);
			len -= n;
			line[len] = 0;
		}
	}
	if (len && !killed) {
		line[len] = 0;
		on_line(line, userdata);
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return killed ? -ETIMEDOUT : status;
}
