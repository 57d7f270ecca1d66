/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hibernated's log lines.  Under systemd, stderr is a stream to the journal ($JOURNAL_STREAM
 * names it): each line then starts with sd-daemon(3)'s "<N>" priority prefix (SD_ERR, ...),
 * which journald turns into the entry's priority (SyslogLevelPrefix=, on by default) and
 * strips; the journal names the daemon itself.  Anywhere else (a terminal, a file, the VM
 * tests) a line is "hibernated: MSG", as it always was.  Kept apart from hibernated.c so that
 * the formatting can be unit-tested (tests/unit/test-journal.c); nothing here prints.
 */
#ifndef HIBERNATED_JOURNAL_H
#define HIBERNATED_JOURNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* The prefix of a line that does not go to the journal. */
#define HIBD_LOG_PREFIX "hibernated: "

/*
 * Is @fd the journal stream @journal_stream ($JOURNAL_STREAM, "DEVICE:INODE" in decimal)
 * names?  systemd.exec(5): compare it with fstat(@fd), since stderr may have been redirected
 * since.  1 yes, 0 no (also for a NULL, empty or malformed value), -errno if fstat() fails.
 */
int hibd_journal_stream_is(int fd, const char *journal_stream);

/*
 * One message of syslog priority @prio (LOG_ERR ... LOG_DEBUG, <syslog.h>; out of range is
 * clamped) into @buf: for the journal every line of it gets the "<N>" prefix (a message with
 * embedded newlines would otherwise show its further lines at the default priority),
 * otherwise the message gets HIBD_LOG_PREFIX.  Always ends with a newline; a message too long
 * for @buf is cut, still ending with a newline.  Returns the length written (without the NUL),
 * or -EINVAL (@buf NULL, @size too small for a prefix and a newline, @fmt NULL).
 */
int hibd_log_vformat(char *buf, size_t size, bool journal, int prio, const char *fmt,
		     va_list ap) __attribute__((format(printf, 5, 0)));
int hibd_log_format(char *buf, size_t size, bool journal, int prio, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif /* HIBERNATED_JOURNAL_H */
