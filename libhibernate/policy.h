/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-service thaw policy (DESIGN.md step 3, hibernate-policy(5)): one service per file in
 * /etc/hibernate/policy.d, an INI-like format:
 *
 *	[match]			any of these matches (fnmatch(3) patterns, repeatable)
 *	exe = /usr/sbin/rpcbind
 *	comm = rpcbind
 *	cgroup = /system.slice/rpcbind.service
 *	unit = rpcbind.service
 *	[thaw]
 *	thaw = yes		required
 *	order = 10		lower first, default 100
 *	reason = TEXT		shown in logs
 *
 * Same conventions as hibernate.h: 0 / positive or -errno, ret_* written only on success,
 * free functions accept NULL, nothing printed.
 */
#ifndef LIBHIBERNATE_POLICY_H
#define LIBHIBERNATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* meson defines it from sysconfdir (meson.build); this is the default outside meson. */
#ifndef HIB_POLICY_DEFAULT_DIR
#define HIB_POLICY_DEFAULT_DIR	"/etc/hibernate/policy.d"
#endif
#define HIB_POLICY_SUFFIX	".policy"
#define HIB_POLICY_FILE_MAX	65536	/* bytes in one file */
#define HIB_POLICY_LINE_MAX	1024	/* bytes in one line, without the newline */
#define HIB_POLICY_MATCH_MAX	64	/* match keys in one file */
#define HIB_POLICY_FILES_MAX	256	/* files in one directory */
#define HIB_POLICY_ERRORS_MAX	32	/* errors kept per load */
#define HIB_POLICY_ORDER_MIN	0
#define HIB_POLICY_ORDER_MAX	10000
#define HIB_POLICY_ORDER_DEFAULT 100
#define HIB_POLICY_MSG_MAX	160
#define HIB_POLICY_PATH_MAX	256

enum hib_policy_key {
	HIB_POLICY_EXE,
	HIB_POLICY_COMM,
	HIB_POLICY_CGROUP,
	HIB_POLICY_UNIT,
	_HIB_POLICY_KEY_MAX,
};

struct hib_policy_match {
	enum hib_policy_key key;
	char *pattern;
};

/* One file: one service. */
struct hib_policy_rule {
	char *name;		/* file name without the directory and ".policy" */
	struct hib_policy_match *matches;
	size_t n_matches;
	bool thaw;
	int order;
	char *reason;		/* NULL if none */
};

struct hib_policy {
	struct hib_policy_rule *rules;	/* sorted by order, then name */
	size_t n_rules;
};

/* One error: line and column are 1-based (column in bytes). */
struct hib_policy_error {
	char file[HIB_POLICY_PATH_MAX];
	unsigned int line;
	unsigned int column;
	char msg[HIB_POLICY_MSG_MAX];
};

/* Errors of one load; at most HIB_POLICY_ERRORS_MAX are kept, @count counts all. */
struct hib_policy_errors {
	struct hib_policy_error e[HIB_POLICY_ERRORS_MAX];
	unsigned int count;
};

static inline unsigned int hib_policy_errors_shown(const struct hib_policy_errors *errs)
{
	return errs->count < HIB_POLICY_ERRORS_MAX ? errs->count : HIB_POLICY_ERRORS_MAX;
}

/*
 * Parse one file's text (@len bytes, need not be NUL-terminated).  @file names it in the errors,
 * @name becomes the rule's name.  Every error is added to @errs (may be NULL) and the file is
 * refused whole: -EBADMSG.  -EFBIG when longer than HIB_POLICY_FILE_MAX (also an error entry),
 * -ENOMEM.
 */
int hib_policy_parse(const char *file, const char *name, const char *buf, size_t len,
		     struct hib_policy_rule *ret_rule, struct hib_policy_errors *errs);
/* Read and parse @path; the name is its base name without ".policy". */
int hib_policy_load_file(const char *path, struct hib_policy_rule *ret_rule,
			 struct hib_policy_errors *errs);
/*
 * Every *.policy file in @dir (a missing directory is an empty policy), sorted.  Bad files are
 * left out and their errors added to @errs; returns the number of bad files (so > 0 means
 * "some refused"), or -errno for a directory that cannot be read.
 */
int hib_policy_load_dir(const char *dir, struct hib_policy **ret_policy,
			struct hib_policy_errors *errs);
/* Sort @p's rules by order, then name (load_dir does it). */
void hib_policy_sort(struct hib_policy *p);
void hib_policy_rule_done(struct hib_policy_rule *r);
void hib_policy_free(struct hib_policy *p);

/* What the matcher looks at, for one process. */
#define HIB_POLICY_FIELD_MAX 512
struct hib_policy_proc {
	pid_t pid;
	char exe[HIB_POLICY_FIELD_MAX];		/* "" if unreadable (kernel thread) */
	char comm[64];
	char cgroup[HIB_POLICY_FIELD_MAX];	/* unified (0::) path, else the first one */
	char unit[HIB_POLICY_FIELD_MAX];	/* systemd unit from the cgroup path, or "" */
};

/* Parse /proc/PID/cgroup text into the path the matcher uses.  -EBADMSG if no line parses. */
int hib_policy_parse_cgroup(const char *buf, size_t len, char ret_path[HIB_POLICY_FIELD_MAX]);
/* The systemd unit of a cgroup path: the first component that is not a slice.  0 or -ENOENT. */
int hib_policy_cgroup_unit(const char *path, char ret_unit[HIB_POLICY_FIELD_MAX]);
/* Read exe, comm and cgroup of @pid under @proc_root (NULL: /proc).  -ENOENT if gone. */
int hib_policy_read_proc(const char *proc_root, pid_t pid, struct hib_policy_proc *ret_proc);
/* Does @rule match @proc? */
bool hib_policy_rule_matches(const struct hib_policy_rule *rule,
			     const struct hib_policy_proc *proc);
/* The first rule of @p (in order) matching @proc: its index, or -ENOENT. */
int hib_policy_match(const struct hib_policy *p, const struct hib_policy_proc *proc);

/* A process a policy rule matched. */
struct hib_policy_hit {
	pid_t pid;
	size_t rule;		/* index into the policy's rules */
	char comm[64];
};

/*
 * Every process under @proc_root (except @self) matched by a rule of @p with thaw = yes (or any
 * rule if @all), sorted by the rule order, then pid.  *ret_hits is malloc'ed (NULL if none).
 */
int hib_policy_plan(const struct hib_policy *p, const char *proc_root, pid_t self, bool all,
		    struct hib_policy_hit **ret_hits, size_t *ret_n);

const char *hib_policy_key_name(enum hib_policy_key key);

#endif /* LIBHIBERNATE_POLICY_H */
