/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libhibernate: /proc/PID/mountinfo, parsed in one place (mounts.c). */
#ifndef LIBHIBERNATE_MOUNTS_H
#define LIBHIBERNATE_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/* One line of mountinfo; the strings point into the line, unescaped. */
struct hib_mountinfo_line {
	uint32_t major, minor;
	char *root;
	char *mountpoint;
	char *opts;		/* per-mount options */
	char *fstype;
	char *source;
	char *super_opts;	/* per-superblock options */
};

/* Split @line (modified) into @ret.  0, or -EINVAL for a line that is not mountinfo. */
int hib_mountinfo_parse(char *line, struct hib_mountinfo_line *ret);

/* Undo /proc/PID/mountinfo's octal escapes (\040 for a blank etc.) in place. */
void hib_mountinfo_unescape(char *s);

/* A read-write block filesystem as found in mountinfo. */
struct hib_mount {
	char mountpoint[PATH_MAX];
	char source[PATH_MAX];
	char fstype[32];
	uint32_t major, minor;
	bool dm;			/* on a device-mapper device */
	char dm_name[HIB_CONF_NAME_MAX];	/* from /sys/dev/block/M:m/dm/name */
};

#define HIB_MOUNTS_MAX 64

/*
 * The read-write block filesystems in @mountinfo_path (NULL: /proc/self/mountinfo), one per
 * device (the first mountpoint).  @sys_root NULL means "/sys".
 */
int hib_scan_mounts(const char *mountinfo_path, const char *sys_root, struct hib_mount *ret,
		    unsigned int max, unsigned int *ret_n);

#endif /* LIBHIBERNATE_MOUNTS_H */
