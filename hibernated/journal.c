// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernated's log lines: the journal's "<N>" priority prefixes or "hibernated: " (journal.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <systemd/sd-daemon.h>

#include "journal.h"

/* A message longer than this is cut (a line of the daemon's log is far shorter). */
#define MSG_MAX 4096

int hibd_journal_stream_is(int fd, const char *journal_stream)
{
	uintmax_t dev, ino;
	struct stat st;
	int n = 0;

	if (!journal_stream || !*journal_stream)
		return 0;
	/* "DEV:INO", both decimal, nothing else. */
	if (sscanf(journal_stream, "%ju:%ju%n", &dev, &ino, &n) != 2 || journal_stream[n] ||
	    journal_stream[0] < '0' || journal_stream[0] > '9')
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

/*
 * Append @n bytes of @s to @buf (@size bytes, @*len used), always keeping room for the final
 * newline and the NUL; false when @s was cut (or did not fit at all).
 */
static bool put(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	size_t room = size - *len >= 2 ? size - *len - 2 : 0;
	bool whole = n <= room;

	if (!whole)
		n = room;
	memcpy(buf + *len, s, n);
	*len += n;
	return whole;
}

int hibd_log_vformat(char *buf, size_t size, bool journal, int prio, const char *fmt, va_list ap)
{
	static const char *const prefixes[] = {
		SD_EMERG, SD_ALERT, SD_CRIT, SD_ERR, SD_WARNING, SD_NOTICE, SD_INFO, SD_DEBUG,
	};
	const char *prefix, *p, *end;
	char msg[MSG_MAX];
	size_t len = 0;
	int n;

	if (prio < LOG_EMERG)
		prio = LOG_EMERG;
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	prefix = journal ? prefixes[prio] : HIBD_LOG_PREFIX;
	if (!buf || !fmt || size < strlen(prefix) + 2)
		return -EINVAL;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return -EINVAL;
	end = msg + ((size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	/* A trailing newline is the one added at the end. */
	if (end > msg && end[-1] == '\n')
		end--;
	if (!journal) {
		/* The name once; further lines (a table, say) as they are. */
		if (put(buf, size, &len, prefix, strlen(prefix)))
			put(buf, size, &len, msg, (size_t)(end - msg));
	} else {
		/*
		 * Every line its priority: the journal makes each line an entry of its own.  A
		 * further line only when its newline, prefix and a byte of it fit (never a bare
		 * "<" nor an empty entry for a cut line).
		 */
		size_t plen = strlen(prefix);

		for (p = msg;;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);

			put(buf, size, &len, prefix, plen);	/* fits: checked */
			if (!put(buf, size, &len, p, line) || !nl || size - len < 1 + plen + 3)
				break;
			buf[len++] = '\n';
			p = nl + 1;
		}
	}
	buf[len++] = '\n';
	buf[len] = 0;
	return (int)len;
}

int hibd_log_format(char *buf, size_t size, bool journal, int prio, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = hibd_log_vformat(buf, size, journal, prio, fmt, ap);
	va_end(ap);
	return r;
}
