// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which filesystems: the one /proc/PID/mountinfo parser (mounts.h), the read-write block
 * filesystems, the protected set chosen from them by the configuration, the COW store check.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include <unistd.h>

#include "dm.h"
#include "macro.h"
#include "mounts.h"

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

void hib_mountinfo_unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

int hib_mountinfo_parse(char *line, struct hib_mountinfo_line *ret)
{
	char *fields[64], *save, *tok;
	unsigned int nf = 0, sep;

	line[strcspn(line, "\n")] = 0;
	for (tok = strtok_r(line, " ", &save); tok && nf < ARRAY_SIZE(fields);
	     tok = strtok_r(NULL, " ", &save))
		fields[nf++] = tok;
	for (sep = 6; sep < nf; sep++)
		if (!strcmp(fields[sep], "-"))
			break;
	if (nf < 6 || sep + 4 > nf)
		return -EINVAL;
	if (sscanf(fields[2], "%u:%u", &ret->major, &ret->minor) != 2)
		return -EINVAL;
	hib_mountinfo_unescape(fields[3]);
	hib_mountinfo_unescape(fields[4]);
	hib_mountinfo_unescape(fields[sep + 2]);
	ret->root = fields[3];
	ret->mountpoint = fields[4];
	ret->opts = fields[5];
	ret->fstype = fields[sep + 1];
	ret->source = fields[sep + 2];
	ret->super_opts = fields[sep + 3];
	return 0;
}

static bool opt_rw(const char *opts)
{
	return strncmp(opts, "rw", 2) == 0 && (opts[2] == 0 || opts[2] == ',');
}

int hib_scan_mounts(const char *mountinfo_path, const char *sys_root, struct hib_mount *ret,
		    unsigned int max, unsigned int *ret_n)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned int n = 0, i;

	if (!ret || !ret_n)
		return -EINVAL;
	f = fopen(mountinfo_path ? mountinfo_path : "/proc/self/mountinfo", "re");
	if (!f)
		return negative_errno();
	if (!sys_root)
		sys_root = "/sys";
	while (getline(&line, &cap, f) > 0) {
		struct hib_mountinfo_line ml;
		unsigned int maj, min;
		char path[PATH_MAX];
		struct hib_mount *m;
		bool dup = false;
		struct stat st;
		FILE *nf_file;

		if (hib_mountinfo_parse(line, &ml) < 0 || ml.major == 0)
			continue;
		maj = ml.major;
		min = ml.minor;
		if (!opt_rw(ml.opts) || !opt_rw(ml.super_opts))
			continue;
		snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sys_root, maj, min);
		if (stat(path, &st) < 0)
			continue;	/* not a block device (e.g. btrfs's anonymous devices) */
		for (i = 0; i < n; i++)
			if (ret[i].major == maj && ret[i].minor == min)
				dup = true;
		if (dup)
			continue;
		if (n >= max)
			return -E2BIG;
		m = &ret[n++];
		memset(m, 0, sizeof(*m));
		m->major = maj;
		m->minor = min;
		copy_str(m->mountpoint, sizeof(m->mountpoint), ml.mountpoint);
		copy_str(m->fstype, sizeof(m->fstype), ml.fstype);
		copy_str(m->source, sizeof(m->source), ml.source);
		snprintf(path, sizeof(path), "%s/dev/block/%u:%u/dm/name", sys_root, maj, min);
		nf_file = fopen(path, "re");
		if (nf_file) {
			if (fgets(m->dm_name, sizeof(m->dm_name), nf_file)) {
				m->dm_name[strcspn(m->dm_name, "\n")] = 0;
				m->dm = m->dm_name[0] != 0;
			}
			fclose(nf_file);
		}
	}
	*ret_n = n;
	return 0;
}

int hib_dm_select(struct hib_dm_set *set, const struct hib_conf *conf,
		  const struct hib_mount *mounts, unsigned int n, unsigned int *unprot,
		  unsigned int *ret_n_unprot, char *why, size_t why_size)
{
	bool listed = conf->n_devices || conf->n_mountpoints;
	unsigned int i, j, nu = 0;
	int r;

	for (j = 0; j < conf->n_devices; j++) {
		for (i = 0; i < n; i++)
			if (mounts[i].dm && !strcmp(mounts[i].dm_name, conf->devices[j]))
				break;
		if (i == n) {
			if (why)
				snprintf(why, why_size, "configured device %s is not a mounted "
					 "read-write device-mapper filesystem", conf->devices[j]);
			return -ENOENT;
		}
	}
	for (j = 0; j < conf->n_mountpoints; j++) {
		for (i = 0; i < n; i++)
			if (!strcmp(mounts[i].mountpoint, conf->mountpoints[j]))
				break;
		if (i == n) {
			if (why)
				snprintf(why, why_size, "configured mountpoint %s is not a "
					 "read-write block filesystem", conf->mountpoints[j]);
			return -ENOENT;
		}
		if (!mounts[i].dm) {
			if (why)
				snprintf(why, why_size, "configured mountpoint %s is on %s, not "
					 "on a device-mapper device: it cannot be protected",
					 conf->mountpoints[j], mounts[i].source);
			return -ENOENT;
		}
	}
	for (i = 0; i < n; i++) {
		bool want = mounts[i].dm;

		if (want && listed) {
			want = false;
			for (j = 0; j < conf->n_devices; j++)
				if (!strcmp(mounts[i].dm_name, conf->devices[j]))
					want = true;
			for (j = 0; j < conf->n_mountpoints; j++)
				if (!strcmp(mounts[i].mountpoint, conf->mountpoints[j]))
					want = true;
		}
		if (!want) {
			unprot[nu++] = i;
			continue;
		}
		r = hib_dm_add(set, mounts[i].dm_name, mounts[i].mountpoint);
		if (r < 0 && r != -EEXIST) {
			if (why)
				snprintf(why, why_size, "cannot protect %s on %s: %s",
					 mounts[i].dm_name, mounts[i].mountpoint,
					 r == -E2BIG ? "too many filesystems" : strerror(-r));
			return r;
		}
	}
	*ret_n_unprot = nu;
	return 0;
}

int hib_cow_probe(const char *path, uint32_t *ret_major, uint32_t *ret_minor,
		  uint64_t *ret_sectors)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint64_t bytes;

	if (stat(path, &st) < 0)
		return negative_errno();
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	/* O_EXCL on a block device fails with EBUSY while it is mounted or held by dm/md. */
	fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return negative_errno();
	*ret_major = major(st.st_rdev);
	*ret_minor = minor(st.st_rdev);
	*ret_sectors = bytes / 512;
	return 0;
}
