// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-service thaw policy files: parser, matcher against /proc, ordering. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hibernate.h"
#include "macro.h"
#include "util.h"
#include "policy.h"

static const char *const key_names[_HIB_POLICY_KEY_MAX] = {
	[HIB_POLICY_EXE] = "exe",
	[HIB_POLICY_COMM] = "comm",
	[HIB_POLICY_CGROUP] = "cgroup",
	[HIB_POLICY_UNIT] = "unit",
};

const char *hib_policy_key_name(enum hib_policy_key key)
{
	return (unsigned int)key < _HIB_POLICY_KEY_MAX ? key_names[key] : "?";
}

static void add_error(struct hib_policy_errors *errs, const char *file, unsigned int line,
		      unsigned int column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_error(struct hib_policy_errors *errs, const char *file, unsigned int line,
		      unsigned int column, const char *fmt, ...)
{
	struct hib_policy_error *e;
	va_list ap;

	if (!errs)
		return;
	if (errs->count < HIB_POLICY_ERRORS_MAX) {
		e = &errs->e[errs->count];
		snprintf(e->file, sizeof(e->file), "%s", file ? file : "<policy>");
		e->line = line;
		e->column = column;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	if (errs->count < UINT_MAX)
		errs->count++;
}

void hib_policy_rule_done(struct hib_policy_rule *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_matches; i++)
		free(r->matches[i].pattern);
	free(r->matches);
	free(r->name);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void hib_policy_free(struct hib_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_rules; i++)
		hib_policy_rule_done(&p->rules[i]);
	free(p->rules);
	free(p);
}

enum section { SEC_NONE, SEC_MATCH, SEC_THAW };

struct parser {
	const char *file;
	struct hib_policy_errors *errs;
	unsigned int nerr;
	unsigned int line;
	struct hib_policy_rule rule;
	bool seen_match_sec, seen_thaw_sec, seen_thaw, seen_order, seen_reason;
	bool too_many_reported;
	bool oom;
};

static void perr(struct parser *ps, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *ps, unsigned int col, const char *fmt, ...)
{
	char msg[HIB_POLICY_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->nerr++;
	add_error(ps->errs, ps->file, ps->line, col, "%s", msg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Column (1-based) of @p within the line starting at @l. */
static unsigned int col_of(const char *l, const char *p)
{
	return (unsigned int)(p - l) + 1;
}

static void parse_section(struct parser *ps, const char *l, const char *p, const char *end,
			  enum section *sec)
{
	const char *name = p + 1, *close = memchr(name, ']', (size_t)(end - name));
	const char *q;
	size_t n;

	/* Keys under a bad header are not reported again: the header's error says it all. */
	*sec = (enum section)-1;
	if (!close) {
		perr(ps, col_of(l, end), "section header not closed with ']'");
		return;
	}
	for (q = close + 1; q < end && is_blank(*q); q++)
		;
	if (q < end && *q != '#') {
		perr(ps, col_of(l, q), "unexpected text after the section header");
		return;
	}
	n = (size_t)(close - name);
	if (n == 5 && memcmp(name, "match", 5) == 0) {
		if (ps->seen_match_sec)
			perr(ps, col_of(l, p), "section [match] given twice");
		ps->seen_match_sec = true;
		*sec = SEC_MATCH;
	} else if (n == 4 && memcmp(name, "thaw", 4) == 0) {
		if (ps->seen_thaw_sec)
			perr(ps, col_of(l, p), "section [thaw] given twice");
		ps->seen_thaw_sec = true;
		*sec = SEC_THAW;
	} else {
		perr(ps, col_of(l, name), "unknown section [%.*s] (expected [match] or [thaw])",
		     (int)MIN(n, (size_t)40), name);
		*sec = (enum section)-1;
	}
}

static char *dup_range(struct parser *ps, const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		ps->oom = true;
	return d;
}

static void parse_match_key(struct parser *ps, const char *l, const char *key, size_t kn,
			    const char *v, size_t vn)
{
	struct hib_policy_match *nm;
	enum hib_policy_key k;
	size_t i;

	for (k = 0; k < _HIB_POLICY_KEY_MAX; k++)
		if (strlen(key_names[k]) == kn && memcmp(key_names[k], key, kn) == 0)
			break;
	if (k == _HIB_POLICY_KEY_MAX) {
		perr(ps, col_of(l, key), "unknown key '%.*s' in [match] (exe, comm, cgroup or "
		     "unit)", (int)MIN(kn, (size_t)40), key);
		return;
	}
	if (vn == 0) {
		perr(ps, col_of(l, v), "empty value for %s", key_names[k]);
		return;
	}
	if ((k == HIB_POLICY_EXE || k == HIB_POLICY_CGROUP) && v[0] != '/' && v[0] != '*') {
		perr(ps, col_of(l, v), "%s must be an absolute path (or a pattern starting with "
		     "'*')", key_names[k]);
		return;
	}
	if (k == HIB_POLICY_COMM && vn > 15 && !memchr(v, '*', vn)) {
		perr(ps, col_of(l, v) + 15, "comm is at most 15 bytes; the kernel truncates "
		     "longer names");
		return;
	}
	if (k == HIB_POLICY_UNIT)
		for (i = 0; i < vn; i++)
			if (v[i] == '/') {
				perr(ps, col_of(l, v + i), "a unit name contains no '/'");
				return;
			}
	if (ps->rule.n_matches >= HIB_POLICY_MATCH_MAX) {
		if (!ps->too_many_reported)
			perr(ps, col_of(l, key), "too many match keys (at most %d)",
			     HIB_POLICY_MATCH_MAX);
		ps->too_many_reported = true;
		return;
	}
	nm = realloc(ps->rule.matches, (ps->rule.n_matches + 1) * sizeof(*nm));
	if (!nm) {
		ps->oom = true;
		return;
	}
	ps->rule.matches = nm;
	nm[ps->rule.n_matches].key = k;
	nm[ps->rule.n_matches].pattern = dup_range(ps, v, vn);
	if (nm[ps->rule.n_matches].pattern)
		ps->rule.n_matches++;
}

/*
 * The first @name setting of [thaw]?  Reports a second one, and an empty value when
 * @need_value; false then.
 */
static bool first_setting(struct parser *ps, const char *l, const char *key, const char *v,
			  size_t vn, bool *seen, const char *name, bool need_value)
{
	if (*seen) {
		perr(ps, col_of(l, key), "%s given twice", name);
		return false;
	}
	*seen = true;
	if (need_value && vn == 0) {
		perr(ps, col_of(l, v), "empty value for %s", name);
		return false;
	}
	return true;
}

static void parse_thaw_key(struct parser *ps, const char *l, const char *key, size_t kn,
			   const char *v, size_t vn)
{
	if (kn == 4 && memcmp(key, "thaw", 4) == 0) {
		if (!first_setting(ps, l, key, v, vn, &ps->seen_thaw, "thaw", false))
			return;
		if ((vn == 3 && memcmp(v, "yes", 3) == 0) || (vn == 4 && memcmp(v, "true", 4) == 0)
		    || (vn == 1 && v[0] == '1'))
			ps->rule.thaw = true;
		else if ((vn == 2 && memcmp(v, "no", 2) == 0) ||
			 (vn == 5 && memcmp(v, "false", 5) == 0) || (vn == 1 && v[0] == '0'))
			ps->rule.thaw = false;
		else
			perr(ps, col_of(l, v), "thaw must be yes or no");
	} else if (kn == 5 && memcmp(key, "order", 5) == 0) {
		long o = 0;
		size_t i;

		if (!first_setting(ps, l, key, v, vn, &ps->seen_order, "order", true))
			return;
		for (i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9') {
				perr(ps, col_of(l, v + i), "order must be a number from %d to %d",
				     HIB_POLICY_ORDER_MIN, HIB_POLICY_ORDER_MAX);
				return;
			}
			o = o * 10 + (v[i] - '0');
			if (o > HIB_POLICY_ORDER_MAX) {
				perr(ps, col_of(l, v), "order out of range (%d to %d)",
				     HIB_POLICY_ORDER_MIN, HIB_POLICY_ORDER_MAX);
				return;
			}
		}
		ps->rule.order = (int)o;
	} else if (kn == 6 && memcmp(key, "reason", 6) == 0) {
		if (!first_setting(ps, l, key, v, vn, &ps->seen_reason, "reason", true))
			return;
		ps->rule.reason = dup_range(ps, v, vn);
	} else {
		perr(ps, col_of(l, key), "unknown key '%.*s' in [thaw] (thaw, order or reason)",
		     (int)MIN(kn, (size_t)40), key);
	}
}

static void parse_line(struct parser *ps, const char *l, const char *end, enum section *sec)
{
	const char *p = l, *key, *kend, *v, *vend, *q;

	for (q = l; q < end; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t') {
			perr(ps, col_of(l, q), "control character 0x%02x", (unsigned char)*q);
			return;
		} else if ((unsigned char)*q == 0x7f) {
			perr(ps, col_of(l, q), "control character 0x7f");
			return;
		}
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#' || *p == ';')
		return;
	if (*p == '[') {
		parse_section(ps, l, p, end, sec);
		return;
	}
	key = p;
	while (p < end && is_key_char(*p))
		p++;
	kend = p;
	if (kend == key) {
		perr(ps, col_of(l, p), "expected a key, a section header or a comment");
		return;
	}
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p != '=') {
		perr(ps, col_of(l, p), "expected '=' after the key");
		return;
	}
	p++;
	while (p < end && is_blank(*p))
		p++;
	v = p;
	vend = end;
	while (vend > v && is_blank(vend[-1]))
		vend--;
	switch ((int)*sec) {
	case SEC_NONE:
		perr(ps, col_of(l, key), "key outside a section (put it under [match] or [thaw])");
		break;
	case SEC_MATCH:
		parse_match_key(ps, l, key, (size_t)(kend - key), v, (size_t)(vend - v));
		break;
	case SEC_THAW:
		parse_thaw_key(ps, l, key, (size_t)(kend - key), v, (size_t)(vend - v));
		break;
	default:
		break;	/* inside an unknown section: reported at its header */
	}
}

int hib_policy_parse(const char *file, const char *name, const char *buf, size_t len,
		     struct hib_policy_rule *ret_rule, struct hib_policy_errors *errs)
{
	struct parser ps = { .file = file, .errs = errs };
	enum section sec = SEC_NONE;
	const char *l, *end;

	if (!buf && len)
		return -EINVAL;
	if (len > HIB_POLICY_FILE_MAX) {
		add_error(errs, file, 1, 1, "file too large (%zu bytes, at most %d)", len,
			  HIB_POLICY_FILE_MAX);
		return -EFBIG;
	}
	ps.rule.order = HIB_POLICY_ORDER_DEFAULT;

	for (l = buf; l && l < buf + len; l = end + 1) {
		end = memchr(l, '\n', (size_t)(buf + len - l));
		if (!end)
			end = buf + len;
		ps.line++;
		if (end - l > HIB_POLICY_LINE_MAX) {
			perr(&ps, HIB_POLICY_LINE_MAX + 1, "line too long (%td bytes, at most %d)",
			     end - l, HIB_POLICY_LINE_MAX);
			continue;
		}
		parse_line(&ps, l, end, &sec);
		if (ps.oom)
			break;
	}
	if (ps.oom) {
		hib_policy_rule_done(&ps.rule);
		return -ENOMEM;
	}
	ps.line = ps.line ? ps.line : 1;
	if (ps.nerr == 0) {
		if (!ps.seen_match_sec)
			perr(&ps, 1, "no [match] section");
		else if (ps.rule.n_matches == 0)
			perr(&ps, 1, "[match] has no exe, comm, cgroup or unit");
		if (!ps.seen_thaw)
			perr(&ps, 1, "no thaw = yes|no in a [thaw] section");
	}
	if (ps.nerr) {
		hib_policy_rule_done(&ps.rule);
		return -EBADMSG;
	}
	ps.rule.name = strdup(name ? name : "policy");
	if (!ps.rule.name) {
		hib_policy_rule_done(&ps.rule);
		return -ENOMEM;
	}
	*ret_rule = ps.rule;
	return 0;
}

static int read_bounded(int fd, char **ret_buf, size_t *ret_len, size_t max)
{
	_cleanup_free_ char *buf = malloc(max + 1);
	size_t n = 0;
	ssize_t k;

	if (!buf)
		return -ENOMEM;
	k = hib_read_full(fd, buf, max + 1);
	if (k < 0)
		return (int)k;
	n = (size_t)k;
	if (n > max)
		return -EFBIG;
	*ret_buf = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

int hib_policy_load_file(const char *path, struct hib_policy_rule *ret_rule,
			 struct hib_policy_errors *errs)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL, *name = NULL;
	const char *base;
	size_t len = 0, bl, sl = strlen(HIB_POLICY_SUFFIX);
	struct stat st;
	int r;

	if (!path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = negative_errno();
		add_error(errs, path, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		add_error(errs, path, 0, 0, "not a regular file");
		return -EINVAL;
	}
	r = read_bounded(fd, &buf, &len, HIB_POLICY_FILE_MAX);
	if (r == -EFBIG) {
		add_error(errs, path, 1, 1, "file too large (at most %d bytes)",
			  HIB_POLICY_FILE_MAX);
		return r;
	}
	if (r < 0) {
		add_error(errs, path, 0, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	bl = strlen(base);
	if (bl > sl && strcmp(base + bl - sl, HIB_POLICY_SUFFIX) == 0)
		bl -= sl;
	name = strndup(base, bl);
	if (!name)
		return -ENOMEM;
	return hib_policy_parse(path, name, buf, len, ret_rule, errs);
}

static int rule_cmp(const void *a, const void *b)
{
	const struct hib_policy_rule *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

void hib_policy_sort(struct hib_policy *p)
{
	if (p && p->n_rules > 1)
		qsort(p->rules, p->n_rules, sizeof(*p->rules), rule_cmp);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int hib_policy_load_dir(const char *dir, struct hib_policy **ret_policy,
			struct hib_policy_errors *errs)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct hib_policy *p;
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, i, sl = strlen(HIB_POLICY_SUFFIX);
	struct dirent *de;
	int r = 0, bad = 0;

	if (!dir)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			*ret_policy = p;
			return 0;
		}
		r = negative_errno();
		free(p);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nn;

		if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl,
							    HIB_POLICY_SUFFIX) != 0)
			continue;
		if (n >= HIB_POLICY_FILES_MAX) {
			add_error(errs, dir, 0, 0, "too many policy files (at most %d); the rest "
				  "are ignored", HIB_POLICY_FILES_MAX);
			bad++;
			break;
		}
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn) {
			r = -ENOMEM;
			goto fail;
		}
		names = nn;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto fail;
		}
		n++;
	}
	if (errno && !de && n < HIB_POLICY_FILES_MAX) {
		r = negative_errno();
		goto fail;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	if (n) {
		p->rules = calloc(n, sizeof(*p->rules));
		if (!p->rules) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = hib_policy_load_file(path, &p->rules[p->n_rules], errs);
		if (r == -ENOMEM)
			goto fail;
		if (r < 0) {
			bad++;
			continue;
		}
		p->n_rules++;
	}
	free_names(names, n);
	hib_policy_sort(p);
	*ret_policy = p;
	return bad;
fail:
	free_names(names, n);
	hib_policy_free(p);
	return r;
}

/* ---- matcher ----------------------------------------------------------------------------- */

int hib_policy_parse_cgroup(const char *buf, size_t len, char ret_path[HIB_POLICY_FIELD_MAX])
{
	const char *l, *end, *first = NULL, *c1, *c2;
	size_t first_len = 0;

	if (!buf)
		return -EINVAL;
	for (l = buf; l < buf + len; l = end + 1) {
		end = memchr(l, '\n', (size_t)(buf + len - l));
		if (!end)
			end = buf + len;
		c1 = memchr(l, ':', (size_t)(end - l));
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
		if (!c2 || c2 + 1 >= end || c2[1] != '/')
			continue;
		if (c1 - l == 1 && l[0] == '0' && c2 == c1 + 1) {
			first = c2 + 1;
			first_len = (size_t)(end - first);
			break;
		}
		if (!first) {
			first = c2 + 1;
			first_len = (size_t)(end - first);
		}
	}
	if (!first || first_len >= HIB_POLICY_FIELD_MAX)
		return -EBADMSG;
	memcpy(ret_path, first, first_len);
	ret_path[first_len] = '\0';
	return 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n > l && memcmp(s + n - l, suffix, l) == 0;
}

int hib_policy_cgroup_unit(const char *path, char ret_unit[HIB_POLICY_FIELD_MAX])
{
	static const char *const types[] = { ".service", ".scope", ".socket", ".mount",
					     ".swap", ".device", ".target", ".timer", ".path" };
	const char *p = path, *e;
	size_t n, i;

	if (!path)
		return -EINVAL;
	while (*p) {
		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (n == 0)
			break;
		if (ends_with(p, n, ".slice")) {
			p = e;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(types); i++)
			if (ends_with(p, n, types[i]) && n < HIB_POLICY_FIELD_MAX) {
				memcpy(ret_unit, p, n);
				ret_unit[n] = '\0';
				return 0;
			}
		return -ENOENT;
	}
	return -ENOENT;
}

static int read_small(const char *path, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	/* Longer files are cut: the fields we want are at the start. */
	n = hib_read_full(fd, buf, size - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	*ret_len = (size_t)n;
	return 0;
}

int hib_policy_read_proc(const char *proc_root, pid_t pid, struct hib_policy_proc *ret_proc)
{
	struct hib_policy_proc pp = { .pid = pid };
	char path[PATH_MAX], buf[4096];
	size_t len;
	ssize_t k;
	int r;

	if (pid <= 0)
		return -EINVAL;
	if (!proc_root)
		proc_root = HIB_PROC_DEFAULT_ROOT;
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)pid);
	r = read_small(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	len = MIN(len, sizeof(pp.comm) - 1);
	memcpy(pp.comm, buf, len);
	pp.comm[len] = '\0';

	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)pid);
	k = readlink(path, pp.exe, sizeof(pp.exe) - 1);
	if (k > 0 && (size_t)k < sizeof(pp.exe) - 1) {
		pp.exe[k] = '\0';
		if (ends_with(pp.exe, (size_t)k, " (deleted)"))
			pp.exe[k - 10] = '\0';
	} else {
		pp.exe[0] = '\0';
	}

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	if (read_small(path, buf, sizeof(buf), &len) == 0 &&
	    hib_policy_parse_cgroup(buf, len, pp.cgroup) == 0)
		(void)hib_policy_cgroup_unit(pp.cgroup, pp.unit);
	*ret_proc = pp;
	return 0;
}

bool hib_policy_rule_matches(const struct hib_policy_rule *rule,
			     const struct hib_policy_proc *proc)
{
	const char *v;
	size_t i;
	int flags;

	for (i = 0; i < rule->n_matches; i++) {
		flags = 0;
		switch (rule->matches[i].key) {
		case HIB_POLICY_EXE:
			v = proc->exe;
			flags = FNM_PATHNAME;
			break;
		case HIB_POLICY_COMM:
			v = proc->comm;
			break;
		case HIB_POLICY_CGROUP:
			v = proc->cgroup;
			flags = FNM_PATHNAME;
			break;
		case HIB_POLICY_UNIT:
			v = proc->unit;
			break;
		default:
			continue;
		}
		if (v[0] && fnmatch(rule->matches[i].pattern, v, flags) == 0)
			return true;
	}
	return false;
}

int hib_policy_match(const struct hib_policy *p, const struct hib_policy_proc *proc)
{
	size_t i;

	if (!p || !proc)
		return -ENOENT;
	for (i = 0; i < p->n_rules && i < INT_MAX; i++)
		if (hib_policy_rule_matches(&p->rules[i], proc))
			return (int)i;
	return -ENOENT;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hib_policy_hit *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int hib_policy_plan(const struct hib_policy *p, const char *proc_root, pid_t self, bool all,
		    struct hib_policy_hit **ret_hits, size_t *ret_n)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ struct hib_policy_hit *hits = NULL;
	struct hib_policy_proc pp;
	size_t n = 0, nh = 0, i;
	int r, m;

	if (!p || !ret_hits || !ret_n)
		return -EINVAL;
	if (p->n_rules) {
		r = hib_list_pids(proc_root, 0, &pids, &n);
		if (r < 0)
			return r;
	}
	if (n) {
		hits = calloc(n, sizeof(*hits));
		if (!hits)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (pids[i] == self)
			continue;
		if (hib_policy_read_proc(proc_root, pids[i], &pp) < 0)
			continue;	/* gone */
		m = hib_policy_match(p, &pp);
		if (m < 0 || (!all && !p->rules[m].thaw))
			continue;
		hits[nh].pid = pids[i];
		hits[nh].rule = (size_t)m;
		snprintf(hits[nh].comm, sizeof(hits[nh].comm), "%s", pp.comm);
		nh++;
	}
	/* Rules are sorted already: sorting by index sorts by order, then name. */
	if (nh > 1)
		qsort(hits, nh, sizeof(*hits), hit_cmp);
	*ret_hits = nh ? TAKE_PTR(hits) : NULL;
	*ret_n = nh;
	return 0;
}
