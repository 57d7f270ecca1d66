// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small I/O helpers (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

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

ssize_t hib_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);

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
