// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * /proc scanning.  The parsers take a buffer and a length so that they can be tested without
 * /proc; they never read past @len, bound every field, and reject what they do not understand
 * with -EBADMSG.  The readers take a proc root (NULL means /proc) so that tests can point them
 * at a fake tree.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hibernate.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* ---- parsing helpers ---------------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse an unsigned decimal number at s[0..n) into *ret: at least one digit, at most 10, value
 * in [0, max].  *ret_used is the number of bytes consumed.
 */
static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *ret,
		      size_t *ret_used)
{
	unsigned long v = 0;
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (i >= 10)
			return -EBADMSG;
		v = v * 10 + (unsigned long)(s[i] - '0');
		i++;
	}
	if (i == 0 || v > max)
		return -EBADMSG;
	*ret = v;
	*ret_used = i;
	return 0;
}

/* Skip blanks in s[*pos..n). */
static void skip_blanks(const char *s, size_t n, size_t *pos)
{
	while (*pos < n && is_blank(s[*pos]))
		(*pos)++;
}

/* A field whose value is exactly one number (plus trailing blanks). */
static int parse_single_uint(const char *v, size_t n, unsigned long max, unsigned long *ret)
{
	size_t used, pos;
	int r;

	r = parse_uint(v, n, max, ret, &used);
	if (r < 0)
		return r;
	pos = used;
	skip_blanks(v, n, &pos);
	return pos == n ? 0 : -EBADMSG;
}

static int parse_pid_field(const char *v, size_t n, bool allow_zero, pid_t *ret)
{
	unsigned long u;
	int r;

	r = parse_single_uint(v, n, INT_MAX, &u);
	if (r < 0)
		return r;
	if (u == 0 && !allow_zero)
		return -EBADMSG;
	*ret = (pid_t)u;
	return 0;
}

static int parse_tri_field(const char *v, size_t n, int *ret)
{
	unsigned long u;
	int r;

	r = parse_single_uint(v, n, 1, &u);
	if (r < 0)
		return r;
	*ret = u ? HIB_TRI_YES : HIB_TRI_NO;
	return 0;
}

/* Name: is escaped by the kernel (no control characters); keep it as is, bounded. */
static int copy_name(const char *v, size_t n, char *dst, size_t dst_size)
{
	size_t i;

	while (n > 0 && is_blank(v[n - 1]))
		n--;
	if (n >= dst_size)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return -EBADMSG;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static bool key_is(const char *key, size_t key_len, const char *want)
{
	return strlen(want) == key_len && memcmp(key, want, key_len) == 0;
}

/* ---- parsers ------------------------------------------------------------------------------ */

int hib_parse_status(const char *buf, size_t len, struct hib_proc_status *ret_status)
{
	struct hib_proc_status st = {
		.state = '?',
		.frozen = HIB_TRI_UNKNOWN,
		.user_frozen = HIB_TRI_UNKNOWN,
	};
	bool have_pid = false, have_tgid = false, have_ppid = false, have_uid = false;
	size_t pos = 0;
	int r;

	if (!buf || !ret_status || len > HIB_PROC_FILE_MAX)
		return -EINVAL;
	if (memchr(buf, '\0', len))
		return -EBADMSG;

	while (pos < len) {
		const char *line = buf + pos, *nl, *colon, *v;
		size_t line_len, key_len, vpos, vn;

		nl = memchr(line, '\n', len - pos);
		line_len = nl ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl ? 1 : 0);
		if (line_len == 0)
			continue;

		colon = memchr(line, ':', line_len);
		if (!colon)
			return -EBADMSG;
		key_len = (size_t)(colon - line);
		vpos = key_len + 1;
		skip_blanks(line, line_len, &vpos);
		v = line + vpos;
		vn = line_len - vpos;

		if (key_is(line, key_len, "Name")) {
			r = copy_name(v, vn, st.name, sizeof(st.name));
		} else if (key_is(line, key_len, "State")) {
			/* "S (sleeping)" */
			if (vn < 1 || !isalpha((unsigned char)v[0]) ||
			    (vn > 1 && !is_blank(v[1])))
				return -EBADMSG;
			st.state = v[0];
			r = 0;
		} else if (key_is(line, key_len, "Tgid")) {
			r = parse_pid_field(v, vn, false, &st.tgid);
			have_tgid = true;
		} else if (key_is(line, key_len, "Pid")) {
			r = parse_pid_field(v, vn, false, &st.pid);
			have_pid = true;
		} else if (key_is(line, key_len, "PPid")) {
			r = parse_pid_field(v, vn, true, &st.ppid);
			have_ppid = true;
		} else if (key_is(line, key_len, "Uid")) {
			/* real, effective, saved, fs: the first one */
			unsigned long u;
			size_t used;

			r = parse_uint(v, vn, UINT_MAX - 1, &u, &used);
			if (r == 0 && used < vn && !is_blank(v[used]))
				r = -EBADMSG;
			if (r == 0)
				st.uid = (uid_t)u;
			have_uid = true;
		} else if (key_is(line, key_len, "Frozen")) {
			r = parse_tri_field(v, vn, &st.frozen);
		} else if (key_is(line, key_len, "UserFrozen")) {
			r = parse_tri_field(v, vn, &st.user_frozen);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}

	if (!have_pid || !have_tgid || !have_ppid || !have_uid)
		return -EBADMSG;

	*ret_status = st;
	return 0;
}

int hib_parse_stat(const char *buf, size_t len, struct hib_proc_stat *ret_stat)
{
	struct hib_proc_stat st = {};
	const char *open, *close;
	unsigned long u;
	size_t used, pos, comm_len;
	int r;

	if (!buf || !ret_stat || len > HIB_PROC_FILE_MAX)
		return -EINVAL;
	if (memchr(buf, '\0', len))
		return -EBADMSG;

	/* "PID (COMM) S PPID ...": COMM may hold spaces and ')', so take the last ')'. */
	r = parse_uint(buf, len, INT_MAX, &u, &used);
	if (r < 0 || u == 0)
		return -EBADMSG;
	st.pid = (pid_t)u;
	if (used + 2 > len || buf[used] != ' ' || buf[used + 1] != '(')
		return -EBADMSG;
	open = buf + used + 1;

	close = NULL;
	for (const char *p = buf + len; p > open; p--)
		if (p[-1] == ')') {
			close = p - 1;
			break;
		}
	if (!close || close == open)
		return -EBADMSG;
	comm_len = (size_t)(close - open - 1);
	if (comm_len >= sizeof(st.comm))
		comm_len = sizeof(st.comm) - 1;
	memcpy(st.comm, open + 1, comm_len);
	st.comm[comm_len] = '\0';

	pos = (size_t)(close - buf) + 1;
	/* " S " */
	if (pos + 3 > len || buf[pos] != ' ' || !isalpha((unsigned char)buf[pos + 1]) ||
	    buf[pos + 2] != ' ')
		return -EBADMSG;
	st.state = buf[pos + 1];
	pos += 3;

	r = parse_uint(buf + pos, len - pos, INT_MAX, &u, &used);
	if (r < 0)
		return r;
	pos += used;
	if (pos < len && buf[pos] != ' ' && buf[pos] != '\n')
		return -EBADMSG;
	st.ppid = (pid_t)u;

	*ret_stat = st;
	return 0;
}

static bool is_symbol_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

int hib_parse_wchan(const char *buf, size_t len, char ret_wchan[HIB_WCHAN_MAX])
{
	size_t i;

	if (!buf || !ret_wchan || len > HIB_PROC_FILE_MAX)
		return -EINVAL;

	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len == 0 || (len == 1 && buf[0] == '0')) {
		ret_wchan[0] = '\0';
		return 0;
	}
	if (len >= HIB_WCHAN_MAX)
		return -EBADMSG;
	for (i = 0; i < len; i++)
		if (!is_symbol_char(buf[i]))
			return -EBADMSG;
	memcpy(ret_wchan, buf, len);
	ret_wchan[len] = '\0';
	return 0;
}

/* ---- readers ------------------------------------------------------------------------------ */

static const char *root_or_default(const char *proc_root)
{
	return proc_root && *proc_root ? proc_root : HIB_PROC_DEFAULT_ROOT;
}

/* "ROOT/PID/FILE" or "ROOT/PID/task/TID/FILE". */
static int task_path(char *dst, size_t size, const char *proc_root, pid_t pid, pid_t tid,
		     const char *file)
{
	int n;

	if (pid <= 0 || tid < 0)
		return -EINVAL;
	if (tid > 0)
		n = snprintf(dst, size, "%s/%d/task/%d/%s", root_or_default(proc_root), pid, tid,
			     file);
	else
		n = snprintf(dst, size, "%s/%d/%s", root_or_default(proc_root), pid, file);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Read a whole small file into buf (size bytes); -EFBIG if it does not fit.  A missing task
 * directory gives -ESRCH.
 */
static int read_small_file(const char *path, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();

	n = hib_read_full(fd, buf, size);
	if (n < 0)
		return (int)n;
	if ((size_t)n == size)
		return -EFBIG;
	len = (size_t)n;
	*ret_len = len;
	return 0;
}

/* A parser of one /proc file into @ret (hib_parse_status() and co., through a void pointer). */
typedef int (*proc_parser_t)(const char *buf, size_t len, void *ret);

/*
 * Read FILE of @pid (thread @tid if > 0) under @proc_root, at most @size bytes (-EFBIG beyond,
 * size <= HIB_PROC_FILE_MAX), and parse it into @ret; a parse error is logged (debug) if
 * @log_bad.
 */
static int read_task_file(const char *proc_root, pid_t pid, pid_t tid, const char *file,
			  size_t size, proc_parser_t parse, void *ret, bool log_bad)
{
	char path[PATH_MAX], buf[HIB_PROC_FILE_MAX];
	size_t len;
	int r;

	r = task_path(path, sizeof(path), proc_root, pid, tid, file);
	if (r < 0)
		return r;
	r = read_small_file(path, buf, size, &len);
	if (r < 0)
		return r;
	r = parse(buf, len, ret);
	if (r < 0 && log_bad)
		hib_debug("%s: cannot parse: %s", path, hib_strerror(r));
	return r;
}

static int parse_status(const char *buf, size_t len, void *ret)
{
	return hib_parse_status(buf, len, ret);
}

static int parse_wchan(const char *buf, size_t len, void *ret)
{
	return hib_parse_wchan(buf, len, ret);
}

static int parse_stat(const char *buf, size_t len, void *ret)
{
	return hib_parse_stat(buf, len, ret);
}

_Static_assert(HIB_PROC_FILE_MAX >= 4096, "read_task_file() reads stat (4096) into its buffer");

int hib_read_status(const char *proc_root, pid_t pid, pid_t tid,
		    struct hib_proc_status *ret_status)
{
	return read_task_file(proc_root, pid, tid, "status", HIB_PROC_FILE_MAX, parse_status,
			      ret_status, true);
}

int hib_read_wchan(const char *proc_root, pid_t pid, pid_t tid, char ret_wchan[HIB_WCHAN_MAX])
{
	return read_task_file(proc_root, pid, tid, "wchan", 256, parse_wchan, ret_wchan, false);
}

int hib_read_stat(const char *proc_root, pid_t pid, struct hib_proc_stat *ret_stat)
{
	return read_task_file(proc_root, pid, 0, "stat", 4096, parse_stat, ret_stat, false);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* A directory entry name that is a positive pid, or 0. */
static pid_t name_to_pid(const char *name)
{
	unsigned long u;
	size_t used, n = strlen(name);

	if (n == 0 || n > 10 || name[0] == '0')
		return 0;
	if (parse_uint(name, n, INT_MAX, &u, &used) < 0 || used != n)
		return 0;
	return (pid_t)u;
}

int hib_list_pids(const char *proc_root, pid_t pid, pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	int r;

	if (!ret_pids || !ret_n || pid < 0)
		return -EINVAL;
	if (pid > 0)
		r = snprintf(path, sizeof(path), "%s/%d/task", root_or_default(proc_root), pid);
	else
		r = snprintf(path, sizeof(path), "%s", root_or_default(proc_root));
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;

	d = opendir(path);
	if (!d)
		return pid > 0 && errno == ENOENT ? -ESRCH : negative_errno();

	for (;;) {
		pid_t p;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return negative_errno();
			break;
		}
		p = name_to_pid(de->d_name);
		if (p <= 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			pid_t *np;

			if (ncap > SIZE_MAX / sizeof(*pids))
				return -ENOMEM;
			np = realloc(pids, ncap * sizeof(*pids));
			if (!np)
				return -ENOMEM;
			pids = np;
			cap = ncap;
		}
		pids[n++] = p;
	}

	if (n > 1)
		qsort(pids, n, sizeof(*pids), cmp_pid);
	*ret_pids = n ? TAKE_PTR(pids) : NULL;
	*ret_n = n;
	return 0;
}

int hib_ancestors(const char *proc_root, pid_t pid, pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_free_ pid_t *chain = NULL;
	size_t n = 0, cap = 0;
	pid_t cur = pid;
	int r;

	if (!ret_pids || !ret_n || pid <= 0)
		return -EINVAL;

	for (;;) {
		struct hib_proc_status st;
		size_t i;

		if (cur == 1)
			break;
		r = hib_read_status(proc_root, cur, 0, &st);
		if (r < 0)
			return r;
		if (st.ppid == 0)
			break;
		if (st.ppid == pid)
			return -ELOOP;
		for (i = 0; i < n; i++)
			if (chain[i] == st.ppid)
				return -ELOOP;
		if (n >= HIB_ANCESTORS_MAX)
			return -ELOOP;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			pid_t *nc = realloc(chain, ncap * sizeof(*chain));

			if (!nc)
				return -ENOMEM;
			chain = nc;
			cap = ncap;
		}
		chain[n++] = st.ppid;
		cur = st.ppid;
	}

	*ret_pids = n ? TAKE_PTR(chain) : NULL;
	*ret_n = n;
	return 0;
}

static bool task_gone(int r)
{
	return r == -ESRCH || r == -ENOENT;
}

int hib_scan_frozen(const char *proc_root, bool all, struct hib_proc_info **ret_procs,
		    size_t *ret_n, bool *ret_fields)
{
	_cleanup_free_ struct hib_proc_info *procs = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n_pids = 0, n = 0, cap = 0, i;
	bool fields = false;
	int r;

	if (!ret_procs || !ret_n)
		return -EINVAL;

	r = hib_list_pids(proc_root, 0, &pids, &n_pids);
	if (r < 0)
		return r;

	for (i = 0; i < n_pids; i++) {
		_cleanup_free_ pid_t *tids = NULL;
		struct hib_proc_info info = {};
		struct hib_proc_status st;
		size_t n_tids = 0, j;

		r = hib_read_status(proc_root, pids[i], 0, &st);
		if (task_gone(r))
			continue;
		if (r < 0) {
			hib_warn("cannot read status of process %d: %s", pids[i], hib_strerror(r));
			continue;
		}
		if (st.frozen != HIB_TRI_UNKNOWN)
			fields = true;

		info.pid = pids[i];
		info.ppid = st.ppid;
		info.uid = st.uid;
		info.state = st.state;
		info.frozen = st.frozen;
		info.user_frozen = st.user_frozen;
		memcpy(info.comm, st.name, sizeof(info.comm));

		r = hib_list_pids(proc_root, pids[i], &tids, &n_tids);
		if (task_gone(r))
			continue;
		if (r < 0 || n_tids == 0) {
			/* No task/ directory (unusual): count the leader alone. */
			info.threads = 1;
			info.threads_frozen = st.frozen == HIB_TRI_YES;
			info.threads_user_frozen = st.user_frozen == HIB_TRI_YES;
		}
		for (j = 0; j < n_tids; j++) {
			struct hib_proc_status ts;

			r = hib_read_status(proc_root, pids[i], tids[j], &ts);
			if (r < 0)
				continue;
			info.threads++;
			info.threads_frozen += ts.frozen == HIB_TRI_YES;
			info.threads_user_frozen += ts.user_frozen == HIB_TRI_YES;
		}

		if (!all && info.threads_frozen == 0 && info.threads_user_frozen == 0)
			continue;

		if (hib_read_wchan(proc_root, pids[i], 0, info.wchan) < 0)
			info.wchan[0] = '\0';

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hib_proc_info *np = realloc(procs, ncap * sizeof(*procs));

			if (!np)
				return -ENOMEM;
			procs = np;
			cap = ncap;
		}
		procs[n++] = info;
	}

	*ret_procs = n ? TAKE_PTR(procs) : NULL;
	*ret_n = n;
	if (ret_fields)
		*ret_fields = fields;
	return 0;
}

int hib_parse_swaps(const char *buf, size_t len)
{
	size_t i;
	int lines = 0;

	if (!buf || len > HIB_PROC_FILE_MAX)
		return -EINVAL;
	/* A header line, then one line per active swap area. */
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			lines++;
	if (len && buf[len - 1] != '\n')
		lines++;
	if (lines == 0 || memcmp(buf, "Filename", len < 8 ? len : 8))
		return -EBADMSG;
	return lines - 1;
}

int hib_swap_active(const char *proc_root)
{
	char path[PATH_MAX], buf[HIB_PROC_FILE_MAX];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/swaps", proc_root ? proc_root : HIB_PROC_DEFAULT_ROOT);
	r = read_small_file(path, buf, sizeof(buf), &len);
	if (r == -ESRCH)
		return 0;	/* no /proc/swaps: a kernel without CONFIG_SWAP */
	if (r < 0)
		return r;
	return hib_parse_swaps(buf, len);
}

/* The value of "@key:\t<number>" in fdinfo text, or -ENOENT. */
static int fdinfo_value(const char *buf, size_t len, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		const char *line = buf + i, *nl = memchr(line, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - line) : len - i;

		if (llen > klen + 1 && !memcmp(line, key, klen) && line[klen] == ':') {
			char num[32], *end;
			size_t j = klen + 1, n = 0;

			while (j < llen && (line[j] == ' ' || line[j] == '\t'))
				j++;
			while (j < llen && n < sizeof(num) - 1)
				num[n++] = line[j++];
			num[n] = '\0';
			errno = 0;
			*ret = strtoull(num, &end, 10);
			if (!n || errno || *end)
				return -EBADMSG;
			return 0;
		}
		i += llen + 1;
	}
	return -ENOENT;
}

int hib_parse_snapshot_fdinfo(const char *buf, size_t len, uint64_t *ret_copied,
			      uint64_t *ret_streamed)
{
	uint64_t copied, streamed;
	int r;

	if (!buf || !ret_copied || !ret_streamed || len > HIB_PROC_FILE_MAX)
		return -EINVAL;
	r = fdinfo_value(buf, len, "copied_pages", &copied);
	if (r < 0)
		return r;
	r = fdinfo_value(buf, len, "streamed_pages", &streamed);
	if (r < 0)
		return r;
	*ret_copied = copied;
	*ret_streamed = streamed;
	return 0;
}

int hib_snapshot_fd_stats(int fd, uint64_t *ret_copied, uint64_t *ret_streamed)
{
	char path[64], buf[HIB_PROC_FILE_MAX];
	size_t len;
	int r;

	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	r = read_small_file(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return hib_parse_snapshot_fdinfo(buf, len, ret_copied, ret_streamed);
}
