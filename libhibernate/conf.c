// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which filesystems hibernation protects: /etc/hibernate/hibernate.conf (doc/hibernate.conf.5.md),
 * /proc/self/mountinfo, and the COW store check.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include <unistd.h>

#include "dm.h"
#include "http.h"
#include "macro.h"
#include "net.h"

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static int conf_error(char *why, size_t why_size, const char *fname, unsigned int line,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int conf_error(char *why, size_t why_size, const char *fname, unsigned int line,
		      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (why)
		snprintf(why, why_size, "%s:%u: %s", fname, line, msg);
	return -EINVAL;
}

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* A file path setting: absolute, one word. */
static int path_value(char *dst, size_t size, const char *key, const char *val, char *why,
		      size_t why_size, const char *fname, unsigned int lineno)
{
	if (val[0] != '/' || strlen(val) >= size || strpbrk(val, " \t"))
		return conf_error(why, why_size, fname, lineno,
				  "%s must be one absolute file path ('%s')", key, val);
	copy_str(dst, size, val);
	return 0;
}

/* [network], [http], [image]. */
static int parse_other(struct hib_conf *c, const char *sec, const char *key, const char *val,
		       char *why, size_t why_size, const char *fname, unsigned int lineno)
{
	struct {
		const char *sec, *key;
		char *dst;
	} paths[] = {
		{ "http", "token-file", c->http_token_file },
		{ "http", "ca-file", c->http_ca_file },
		{ "http", "client-cert", c->http_client_cert },
		{ "http", "client-key", c->http_client_key },
		{ "http", "s3-credentials-file", c->http_s3_credentials },
		{ "image", "key-file", c->key_file },
		{ "image", "passphrase-file", c->passphrase_file },
	};
	size_t i;

	if (!strcmp(sec, "network") && !strcmp(key, "ip")) {
		struct hib_net_config nc;
		char msg[HIB_NET_WHY_MAX];

		if (strlen(val) >= sizeof(c->net_ip) ||
		    hib_net_parse_ip(val, &nc, msg, sizeof(msg)) < 0)
			return conf_error(why, why_size, fname, lineno, "ip = %s: %s", val,
					  strlen(val) >= sizeof(c->net_ip) ? "too long" : msg);
		copy_str(c->net_ip, sizeof(c->net_ip), val);
		return 0;
	}
	if (!strcmp(sec, "http") && !strcmp(key, "s3-region")) {
		struct hib_http_config hc;

		if (hib_s3_set_region(&hc, val) < 0)
			return conf_error(why, why_size, fname, lineno, "s3-region = %s: expected "
					  "letters, digits and '-' (us-east-1)", val);
		copy_str(c->http_s3_region, sizeof(c->http_s3_region), val);
		return 0;
	}
	if (!strcmp(sec, "http") && !strcmp(key, "s3-part-size-mib")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || !*val || *end || val[0] == '-' || v < (HIB_S3_PART_MIN >> 20) ||
		    v > (HIB_S3_PART_MAX >> 20))
			return conf_error(why, why_size, fname, lineno, "s3-part-size-mib = %s: "
					  "expected %u to %u", val, HIB_S3_PART_MIN >> 20,
					  HIB_S3_PART_MAX >> 20);
		c->http_s3_part_mib = (unsigned int)v;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(paths); i++)
		if (!strcmp(sec, paths[i].sec) && !strcmp(key, paths[i].key))
			return path_value(paths[i].dst, PATH_MAX, key, val, why, why_size, fname,
					  lineno);
	return conf_error(why, why_size, fname, lineno, "unknown key '%s' in [%s]", key, sec);
}

int hib_conf_parse(const char *buf, size_t len, const char *fname, struct hib_conf *ret,
		   char *why, size_t why_size)
{
	struct hib_conf c;
	enum { SEC_NONE, SEC_PROTECT, SEC_NETWORK, SEC_HTTP, SEC_IMAGE } sec = SEC_NONE;
	unsigned int lineno = 0;
	size_t pos = 0;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	if (!fname)
		fname = "hibernate.conf";
	memset(&c, 0, sizeof(c));
	while (pos < len) {
		char line[4096], *s, *eq, *key, *val, *tok, *save;
		size_t end = pos;

		while (end < len && buf[end] != '\n')
			end++;
		lineno++;
		if (end - pos >= sizeof(line))
			return conf_error(why, why_size, fname, lineno, "line too long");
		memcpy(line, buf + pos, end - pos);
		line[end - pos] = 0;
		pos = end + 1;
		s = strip(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || *strip(close + 1))
				return conf_error(why, why_size, fname, lineno,
						  "bad section header '%s'", s);
			*close = 0;
			s = strip(s + 1);
			if (!strcmp(s, "protect"))
				sec = SEC_PROTECT;
			else if (!strcmp(s, "network"))
				sec = SEC_NETWORK;
			else if (!strcmp(s, "http"))
				sec = SEC_HTTP;
			else if (!strcmp(s, "image"))
				sec = SEC_IMAGE;
			else
				return conf_error(why, why_size, fname, lineno, "unknown section "
						  "[%s] (protect, network, http, image)", s);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return conf_error(why, why_size, fname, lineno, "expected KEY = VALUE");
		*eq = 0;
		key = strip(s);
		val = strip(eq + 1);
		if (sec == SEC_NONE)
			return conf_error(why, why_size, fname, lineno,
					  "'%s' outside a section (put it under [protect])", key);
		if (sec != SEC_PROTECT) {
			r = parse_other(&c, sec == SEC_NETWORK ? "network" : sec == SEC_HTTP ?
					"http" : "image", key, val, why, why_size, fname, lineno);
			if (r < 0)
				return r;
			continue;
		}
		if (!strcmp(key, "devices") || !strcmp(key, "mountpoints")) {
			bool dev = key[0] == 'd';

			for (tok = strtok_r(val, " \t,", &save); tok;
			     tok = strtok_r(NULL, " \t,", &save)) {
				if (dev) {
					if (!strncmp(tok, "/dev/mapper/", 12))
						tok += 12;
					if (c.n_devices >= HIB_CONF_LIST_MAX)
						return conf_error(why, why_size, fname, lineno,
								  "too many devices (at most %d)",
								  HIB_CONF_LIST_MAX);
					if (!*tok || strlen(tok) >= HIB_DM_NAME_MAX || strchr(tok, '/'))
						return conf_error(why, why_size, fname, lineno,
								  "bad device-mapper name '%s'",
								  tok);
					copy_str(c.devices[c.n_devices++], HIB_DM_NAME_MAX, tok);
				} else {
					if (c.n_mountpoints >= HIB_CONF_LIST_MAX)
						return conf_error(why, why_size, fname, lineno,
								  "too many mountpoints (at most "
								  "%d)", HIB_CONF_LIST_MAX);
					if (tok[0] != '/' || strlen(tok) >= PATH_MAX)
						return conf_error(why, why_size, fname, lineno,
								  "mountpoint '%s' is not an "
								  "absolute path", tok);
					copy_str(c.mountpoints[c.n_mountpoints++], PATH_MAX, tok);
				}
			}
		} else if (!strcmp(key, "cow")) {
			if (val[0] != '/' || strlen(val) >= PATH_MAX || strpbrk(val, " \t"))
				return conf_error(why, why_size, fname, lineno,
						  "cow must be one block device path ('%s')", val);
			copy_str(c.cow, sizeof(c.cow), val);
		} else if (!strcmp(key, "chunk-sectors")) {
			char *e;
			unsigned long v = strtoul(val, &e, 10);

			if (!*val || *e || v < 8 || v > 2048 || (v & (v - 1)))
				return conf_error(why, why_size, fname, lineno,
						  "chunk-sectors must be a power of two from 8 "
						  "to 2048 ('%s')", val);
			c.chunk = (uint32_t)v;
		} else if (!strcmp(key, "allow-unprotected")) {
			if (parse_bool(val, &c.allow_unprotected) < 0)
				return conf_error(why, why_size, fname, lineno,
						  "allow-unprotected must be yes or no ('%s')",
						  val);
		} else {
			return conf_error(why, why_size, fname, lineno, "unknown key '%s'", key);
		}
	}
	if (c.key_file[0] && c.passphrase_file[0])
		return conf_error(why, why_size, fname, lineno, "[image] key-file and "
				  "passphrase-file exclude each other");
	*ret = c;
	return 0;
}

int hib_conf_load(const char *path, struct hib_conf *ret, char *why, size_t why_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 65536;
	ssize_t n;

	if (!path)
		path = HIB_CONF_DEFAULT_PATH;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			memset(ret, 0, sizeof(*ret));
			return 0;
		}
		if (why)
			snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return negative_errno();
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			if (why)
				snprintf(why, why_size, "%s: larger than %zu bytes", path, cap);
			return -EFBIG;
		}
	}
	if (n < 0)
		return negative_errno();
	return hib_conf_parse(buf, len, path, ret, why, why_size);
}

/* ---- mountinfo ---------------------------------------------------------------------------- */

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
		char *fields[64], *save, *tok, path[PATH_MAX];
		unsigned int nf = 0, maj, min, sep;
		struct hib_mount *m;
		bool dup = false;
		struct stat st;
		FILE *nf_file;

		line[strcspn(line, "\n")] = 0;
		for (tok = strtok_r(line, " ", &save); tok && nf < ARRAY_SIZE(fields);
		     tok = strtok_r(NULL, " ", &save))
			fields[nf++] = tok;
		for (sep = 6; sep < nf; sep++)
			if (!strcmp(fields[sep], "-"))
				break;
		if (nf < 6 || sep + 3 > nf)
			continue;
		if (sscanf(fields[2], "%u:%u", &maj, &min) != 2 || maj == 0)
			continue;
		if (!opt_rw(fields[5]) || !opt_rw(fields[sep + 3]))
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
		hib_mountinfo_unescape(fields[4]);
		copy_str(m->mountpoint, sizeof(m->mountpoint), fields[4]);
		copy_str(m->fstype, sizeof(m->fstype), fields[sep + 1]);
		hib_mountinfo_unescape(fields[sep + 2]);
		copy_str(m->source, sizeof(m->source), fields[sep + 2]);
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
