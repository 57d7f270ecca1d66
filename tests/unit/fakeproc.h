/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fake /proc tree in a temporary directory, for the unit tests. */
#ifndef FAKEPROC_H
#define FAKEPROC_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static inline int fakeproc_rm_one(const char *path, const struct stat *st, int flag,
				  struct FTW *ftw)
{
	return remove(path);
}

static inline void fakeproc_destroy(char *root)
{
	if (root && root[0])
		nftw(root, fakeproc_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create root from a template like "/tmp/hibtest-XXXXXX"; returns 0 or -errno. */
static inline int fakeproc_create(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -errno;
}

/* Write ROOT/REL (directories created), contents from a printf format. */
static inline int fakeproc_write(const char *root, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int fakeproc_write(const char *root, const char *rel, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	f = fopen(path, "we");
	if (!f)
		return -errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return fclose(f) == 0 ? 0 : -errno;
}

/*
 * A task's status file (process-level when tid == 0, else under task/TID) plus task/PID/status
 * for the leader.  frozen / user_frozen < 0 leave the lines out, as a stock kernel does.
 */
static inline int fakeproc_task(const char *root, int pid, int tid, int ppid, const char *name,
				char state, int frozen, int user_frozen)
{
	char rel[128], extra[64] = "";
	int r;

	if (frozen >= 0)
		snprintf(extra, sizeof(extra), "Frozen:\t%d\nUserFrozen:\t%d\n", frozen,
			 user_frozen);
#define FAKE_STATUS "Name:\t%s\nUmask:\t0022\nState:\t%c (x)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n" \
		    "PPid:\t%d\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\n"		  \
		    "Gid:\t1000\t1000\t1000\t1000\n%sThreads:\t1\n"
	if (tid == 0) {
		snprintf(rel, sizeof(rel), "%d/status", pid);
		r = fakeproc_write(root, rel, FAKE_STATUS, name, state, pid, pid, ppid, extra);
		if (r < 0)
			return r;
		tid = pid;
	}
	snprintf(rel, sizeof(rel), "%d/task/%d/status", pid, tid);
	return fakeproc_write(root, rel, FAKE_STATUS, name, state, pid, tid, ppid, extra);
#undef FAKE_STATUS
}

#endif /* FAKEPROC_H */
