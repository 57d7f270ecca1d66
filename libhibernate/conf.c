// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The configuration: /etc/hibernate/hibernate.conf (doc/hibernate.conf.5.md) parsed and resolved
 * once (conf.h).
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
#include "util.h"
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
	if (!strcmp(sec, "http") && !strcmp(key, "allow-plain-http-token")) {
		if (parse_bool(val, &c->http_plain_token) < 0)
			return conf_error(why, why_size, fname, lineno, "allow-plain-http-token must "
					  "be yes or no ('%s')", val);
		return 0;
	}
	if (!strcmp(sec, "image") && !strcmp(key, "allow-unauthenticated")) {
		if (parse_bool(val, &c->allow_unauthenticated) < 0)
			return conf_error(why, why_size, fname, lineno, "allow-unauthenticated must "
					  "be yes or no ('%s')", val);
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

enum conf_section { SEC_NONE, SEC_PROTECT, SEC_NETWORK, SEC_HTTP, SEC_IMAGE, SEC_HIBERNATE };

static int parse_uint_value(const char *val, unsigned long min, unsigned long max,
			    unsigned int *ret)
{
	unsigned long v;
	char *e;

	errno = 0;
	v = strtoul(val, &e, 10);
	if (errno || !*val || *e || val[0] == '-' || val[0] == '+' || v < min || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* [hibernate]: what hibernated runs. */
static int parse_hibernate(struct hib_conf *c, const char *key, const char *val, char *why,
			   size_t why_size, const char *fname, unsigned int lineno)
{
	bool stream;

	if (!strcmp(key, "target")) {
		if (strlen(val) >= sizeof(c->target) || strpbrk(val, " \t") ||
		    (val[0] != '/' && !hib_http_is_url(val)))
			return conf_error(why, why_size, fname, lineno, "target must be one "
					  "absolute path or an http(s):// or s3+http(s):// URL "
					  "('%s')", val);
		copy_str(c->target, sizeof(c->target), val);
	} else if (!strcmp(key, "state")) {
		if (val[0] != '/' || strlen(val) >= sizeof(c->state) || strpbrk(val, " \t"))
			return conf_error(why, why_size, fname, lineno, "state must be one absolute "
					  "path ('%s')", val);
		copy_str(c->state, sizeof(c->state), val);
	} else if (!strcmp(key, "freeze-timeout-ms")) {
		if (parse_uint_value(val, 1, 600000, &c->freeze_timeout_ms) < 0)
			return conf_error(why, why_size, fname, lineno, "freeze-timeout-ms must "
					  "be 1 to 600000 ('%s')", val);
	} else if (!strcmp(key, "sync-timeout-ms")) {
		if (parse_uint_value(val, 1, 600000, &c->sync_timeout_ms) < 0)
			return conf_error(why, why_size, fname, lineno, "sync-timeout-ms must be "
					  "1 to 600000 ('%s')", val);
	} else if (!strcmp(key, "threads")) {
		if (parse_uint_value(val, 1, 256, &c->threads) < 0)
			return conf_error(why, why_size, fname, lineno, "threads must be 1 to 256 "
					  "('%s')", val);
	} else if (!strcmp(key, "resume-reserve")) {
		if (parse_uint_value(val, 0, HIB_CONF_RESUME_RESERVE_MAX_MIB,
				     &c->resume_reserve_mib) < 0)
			return conf_error(why, why_size, fname, lineno, "resume-reserve must be "
					  "0 to %u (MiB, a whole number) ('%s')",
					  HIB_CONF_RESUME_RESERVE_MAX_MIB, val);
		c->resume_reserve_set = true;
	} else if (!strcmp(key, "stream")) {
		if (parse_bool(val, &stream) < 0)
			return conf_error(why, why_size, fname, lineno, "stream must be yes or no "
					  "('%s')", val);
		c->no_stream = !stream;
	} else {
		return conf_error(why, why_size, fname, lineno, "unknown key '%s' in [hibernate]",
				  key);
	}
	return 0;
}

/* [protect]. */
static int parse_protect(struct hib_conf *c, const char *key, char *val, char *why,
			 size_t why_size, const char *fname, unsigned int lineno)
{
	char *tok, *save;

	if (!strcmp(key, "devices") || !strcmp(key, "mountpoints")) {
		bool dev = key[0] == 'd';

		for (tok = strtok_r(val, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
			if (dev) {
				if (!strncmp(tok, "/dev/mapper/", 12))
					tok += 12;
				if (c->n_devices >= HIB_CONF_LIST_MAX)
					return conf_error(why, why_size, fname, lineno,
							  "too many devices (at most %d)",
							  HIB_CONF_LIST_MAX);
				if (!*tok || strlen(tok) >= HIB_DM_NAME_MAX || strchr(tok, '/'))
					return conf_error(why, why_size, fname, lineno,
							  "bad device-mapper name '%s'", tok);
				copy_str(c->devices[c->n_devices++], HIB_DM_NAME_MAX, tok);
			} else {
				if (c->n_mountpoints >= HIB_CONF_LIST_MAX)
					return conf_error(why, why_size, fname, lineno,
							  "too many mountpoints (at most %d)",
							  HIB_CONF_LIST_MAX);
				if (tok[0] != '/' || strlen(tok) >= PATH_MAX)
					return conf_error(why, why_size, fname, lineno,
							  "mountpoint '%s' is not an absolute path",
							  tok);
				copy_str(c->mountpoints[c->n_mountpoints++], PATH_MAX, tok);
			}
		}
	} else if (!strcmp(key, "cow")) {
		if (val[0] != '/' || strlen(val) >= PATH_MAX || strpbrk(val, " \t"))
			return conf_error(why, why_size, fname, lineno,
					  "cow must be one block device path ('%s')", val);
		copy_str(c->cow, sizeof(c->cow), val);
	} else if (!strcmp(key, "chunk-sectors")) {
		char *e;
		unsigned long v = strtoul(val, &e, 10);

		if (!*val || *e || v < 8 || v > 2048 || (v & (v - 1)))
			return conf_error(why, why_size, fname, lineno,
					  "chunk-sectors must be a power of two from 8 to 2048 "
					  "('%s')", val);
		c->chunk = (uint32_t)v;
	} else if (!strcmp(key, "allow-unprotected")) {
		if (parse_bool(val, &c->allow_unprotected) < 0)
			return conf_error(why, why_size, fname, lineno,
					  "allow-unprotected must be yes or no ('%s')", val);
	} else {
		return conf_error(why, why_size, fname, lineno, "unknown key '%s'", key);
	}
	return 0;
}

/* One line (stripped, not a comment).  0 or -EINVAL with the message in @why. */
static int parse_line(struct hib_conf *c, enum conf_section *sec, char *s, char *why,
		      size_t why_size, const char *fname, unsigned int lineno)
{
	static const char *const names[] = {
		[SEC_PROTECT] = "protect", [SEC_NETWORK] = "network", [SEC_HTTP] = "http",
		[SEC_IMAGE] = "image", [SEC_HIBERNATE] = "hibernate",
	};
	char *eq, *key, *val;
	size_t i;

	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close || *strip(close + 1))
			return conf_error(why, why_size, fname, lineno, "bad section header '%s'",
					  s);
		*close = 0;
		s = strip(s + 1);
		for (i = SEC_PROTECT; i < ARRAY_SIZE(names); i++)
			if (!strcmp(s, names[i])) {
				*sec = (enum conf_section)i;
				return 0;
			}
		*sec = SEC_NONE;
		return conf_error(why, why_size, fname, lineno, "unknown section [%s] (protect, "
				  "network, http, image, hibernate)", s);
	}
	eq = strchr(s, '=');
	if (!eq)
		return conf_error(why, why_size, fname, lineno, "expected KEY = VALUE");
	*eq = 0;
	key = strip(s);
	val = strip(eq + 1);
	switch (*sec) {
	case SEC_NONE:
		return conf_error(why, why_size, fname, lineno,
				  "'%s' outside a section (put it under [protect])", key);
	case SEC_PROTECT:
		return parse_protect(c, key, val, why, why_size, fname, lineno);
	case SEC_HIBERNATE:
		return parse_hibernate(c, key, val, why, why_size, fname, lineno);
	default:
		return parse_other(c, names[*sec], key, val, why, why_size, fname, lineno);
	}
}

static void errors_add(struct hib_conf_errors *errs, unsigned int line, const char *msg)
{
	if (!errs)
		return;
	if (errs->count < HIB_CONF_ERRORS_MAX) {
		errs->e[errs->count].line = line;
		copy_str(errs->e[errs->count].msg, sizeof(errs->e[0].msg), msg);
	}
	errs->count++;
}

int hib_conf_parse_all(const char *buf, size_t len, const char *fname, struct hib_conf *ret,
		       struct hib_conf_errors *errs)
{
	enum conf_section sec = SEC_NONE;
	char why[HIB_CONF_WHY_MAX];
	unsigned int lineno = 0;
	struct hib_conf *c;
	size_t pos = 0;
	int r = 0;

	if (!buf || !ret)
		return -EINVAL;
	if (!fname)
		fname = "hibernate.conf";
	/* struct hib_conf is ~40 KiB: not on the stack of a thread. */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	while (pos < len) {
		char line[4096], *s;
		size_t end = pos;

		while (end < len && buf[end] != '\n')
			end++;
		lineno++;
		if (end - pos >= sizeof(line)) {
			r = conf_error(why, sizeof(why), fname, lineno, "line too long");
			errors_add(errs, lineno, why);
			pos = end + 1;
			continue;
		}
		memcpy(line, buf + pos, end - pos);
		line[end - pos] = 0;
		pos = end + 1;
		s = strip(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (parse_line(c, &sec, s, why, sizeof(why), fname, lineno) < 0) {
			r = -EINVAL;
			errors_add(errs, lineno, why);
		}
	}
	if (c->key_file[0] && c->passphrase_file[0]) {
		r = conf_error(why, sizeof(why), fname, lineno, "[image] key-file and "
			       "passphrase-file exclude each other");
		errors_add(errs, lineno, why);
	}
	if (r == 0)
		*ret = *c;
	free(c);
	return r;
}

int hib_conf_parse(const char *buf, size_t len, const char *fname, struct hib_conf *ret,
		   char *why, size_t why_size)
{
	_cleanup_free_ struct hib_conf_errors *errs = calloc(1, sizeof(*errs));
	int r;

	if (!errs)
		return -ENOMEM;
	r = hib_conf_parse_all(buf, len, fname, ret, errs);
	if (r < 0 && why && errs->count)
		snprintf(why, why_size, "%s", errs->e[0].msg);
	return r;
}

/* Read @path whole (at most 64 KiB) into *ret_buf.  -errno, with why. */
static int read_conf_file(const char *path, char **ret_buf, size_t *ret_len, char *why,
			  size_t why_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 65536;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (why)
			snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return negative_errno();
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	n = hib_read_full(fd, buf, cap);
	if (n < 0) {
		if (why)
			snprintf(why, why_size, "%s: %s", path, strerror((int)-n));
		return (int)n;
	}
	len = (size_t)n;
	if (len == cap) {
		if (why)
			snprintf(why, why_size, "%s: larger than %zu bytes", path, cap);
		return -EFBIG;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int hib_conf_load(const char *path, struct hib_conf *ret, char *why, size_t why_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path)
		path = HIB_CONF_DEFAULT_PATH;
	r = read_conf_file(path, &buf, &len, why, why_size);
	if (r == -ENOENT) {
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	if (r < 0)
		return r;
	return hib_conf_parse(buf, len, path, ret, why, why_size);
}

/* An environment string into @dst (must fit); true if set. */
static int env_str(const char *name, char *dst, size_t size)
{
	const char *v = getenv(name);

	if (!v)
		return 0;
	if (!*v || strlen(v) >= size || strpbrk(v, "\r\n"))
		return -EINVAL;
	copy_str(dst, size, v);
	return 1;
}

/*
 * The environment (HIBERNATE_HTTP_*, HIBERNATE_S3_*, HIBERNATE_CMDLINE) over the file.  0 or
 * -EINVAL (@bad).
 */
static int apply_env(struct hib_conf *c, const char **bad)
{
	static const struct {
		const char *name;
		size_t off, size;
	} strs[] = {
#define ENV_STR(n, f) { n, offsetof(struct hib_conf, f), sizeof(((struct hib_conf *)0)->f) }
		ENV_STR("HIBERNATE_HTTP_TOKEN", env_http_token),
		ENV_STR("HIBERNATE_HTTP_TOKEN_FILE", http_token_file),
		ENV_STR("HIBERNATE_HTTP_CA_FILE", http_ca_file),
		ENV_STR("HIBERNATE_HTTP_CLIENT_CERT", http_client_cert),
		ENV_STR("HIBERNATE_HTTP_CLIENT_KEY", http_client_key),
		ENV_STR("HIBERNATE_S3_CREDENTIALS_FILE", http_s3_credentials),
		ENV_STR("HIBERNATE_S3_REGION", http_s3_region),
#undef ENV_STR
	};
	const char *v;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(strs); i++) {
		r = env_str(strs[i].name, (char *)c + strs[i].off, strs[i].size);
		if (r < 0) {
			*bad = strs[i].name;
			return r;
		}
		c->from_env_http |= r > 0;
	}
	/* A client certificate from the environment does not take the file's key. */
	if (getenv("HIBERNATE_HTTP_CLIENT_CERT") && !getenv("HIBERNATE_HTTP_CLIENT_KEY"))
		c->http_client_key[0] = 0;
	if (getenv("HIBERNATE_S3_REGION")) {
		struct hib_http_config hc;

		if (hib_s3_set_region(&hc, c->http_s3_region) < 0) {
			*bad = "HIBERNATE_S3_REGION";
			return -EINVAL;
		}
	}
	v = getenv("HIBERNATE_S3_PART_MIB");
	if (v && parse_uint_value(v, HIB_S3_PART_MIN >> 20, HIB_S3_PART_MAX >> 20,
				  &c->http_s3_part_mib) < 0) {
		*bad = "HIBERNATE_S3_PART_MIB";
		return -EINVAL;
	}
	v = getenv("HIBERNATE_HTTP_RETRIES");
	if (v && parse_uint_value(v, 0, 100, &c->http_retries) < 0) {
		*bad = "HIBERNATE_HTTP_RETRIES";
		return -EINVAL;
	}
	/* 0 retries is a setting: keep it apart from "unset". */
	if (v)
		c->http_retries |= 1u << 31;
	v = getenv("HIBERNATE_HTTP_TIMEOUT_MS");
	if (v && parse_uint_value(v, 1, 3600000, &c->http_timeout_ms) < 0) {
		*bad = "HIBERNATE_HTTP_TIMEOUT_MS";
		return -EINVAL;
	}
	if (env_str("HIBERNATE_CMDLINE", c->cmdline_file, sizeof(c->cmdline_file)) < 0) {
		*bad = "HIBERNATE_CMDLINE";
		return -EINVAL;
	}
	return 0;
}

int hib_conf_resolve(const char *path, const struct hib_conf_flags *flags,
		     struct hib_conf *ret, struct hib_conf_errors *errs)
{
	_cleanup_free_ struct hib_conf *c = calloc(1, sizeof(*c));
	_cleanup_free_ char *buf = NULL;
	char why[HIB_CONF_WHY_MAX] = "";
	const char *bad = NULL;
	bool must_exist = true;
	size_t len = 0;
	int r;

	if (!ret)
		return -EINVAL;
	if (!c)
		return -ENOMEM;
	if (errs)
		errs->count = 0;
	if (!path)
		path = getenv("HIBERNATE_CONF");
	if (!path) {
		path = HIB_CONF_DEFAULT_PATH;
		must_exist = false;
	}
	r = read_conf_file(path, &buf, &len, why, sizeof(why));
	if (r == -ENOENT && !must_exist) {
		r = 0;
	} else if (r < 0) {
		if (r == -ENOENT)
			snprintf(why, sizeof(why), "%s does not exist", path);
		errors_add(errs, 0, why);
		return r;
	} else {
		r = hib_conf_parse_all(buf, len, path, c, errs);
		if (r < 0)
			return r;
	}
	copy_str(c->path, sizeof(c->path), path);

	r = apply_env(c, &bad);
	if (r < 0) {
		snprintf(why, sizeof(why), "%s in the environment is not a valid setting", bad);
		errors_add(errs, 0, why);
		hib_conf_wipe(c);
		return r;
	}

	if (flags) {
		if (flags->cow)
			copy_str(c->cow, sizeof(c->cow), flags->cow);
		if (flags->key_file || flags->passphrase_file) {
			c->key_file[0] = c->passphrase_file[0] = 0;
			if (flags->key_file)
				copy_str(c->key_file, sizeof(c->key_file), flags->key_file);
			else
				copy_str(c->passphrase_file, sizeof(c->passphrase_file),
					 flags->passphrase_file);
		}
		if (flags->freeze_timeout_ms)
			c->freeze_timeout_ms = flags->freeze_timeout_ms;
		if (flags->sync_timeout_ms)
			c->sync_timeout_ms = flags->sync_timeout_ms;
		if (flags->threads)
			c->threads = flags->threads;
		if (flags->no_stream)
			c->no_stream = true;
	}
	*ret = *c;
	hib_conf_wipe(c);
	return 0;
}

void hib_conf_wipe(struct hib_conf *c)
{
	if (c)
		explicit_bzero(c->env_http_token, sizeof(c->env_http_token));
}

int hib_conf_http_config(const struct hib_conf *c, struct hib_http_config *ret, char *why,
			 size_t why_size)
{
	struct hib_http_config hc;
	int r;

	if (!c || !ret)
		return -EINVAL;
	hib_http_config_defaults(&hc);
	if (c->env_http_token[0]) {
		copy_str(hc.bearer_token, sizeof(hc.bearer_token), c->env_http_token);
	} else if (c->http_token_file[0]) {
		r = hib_http_read_token(c->http_token_file, hc.bearer_token);
		if (r < 0) {
			snprintf(why, why_size, "token-file %s: %s", c->http_token_file,
				 r == -EINVAL ? "no token: expected one non-empty printable line" :
				 r == -EPERM ? "refused: a token file must be owned by root and not "
				 "accessible by group or others (chmod 600)" : strerror(-r));
			return -EINVAL;
		}
	}
	hc.ca_file = c->http_ca_file[0] ? c->http_ca_file : NULL;
	if (c->http_client_cert[0]) {
		hc.client_cert = c->http_client_cert;
		hc.client_key = c->http_client_key[0] ? c->http_client_key : NULL;
	}
	if (c->http_s3_credentials[0]) {
		r = hib_s3_read_credentials(c->http_s3_credentials, hc.s3_key_id, hc.s3_secret);
		if (r < 0) {
			explicit_bzero(&hc, sizeof(hc));
			snprintf(why, why_size, "s3-credentials-file %s: %s",
				 c->http_s3_credentials, r == -EINVAL ? "expected the access key "
				 "id and the secret key, one printable line each" : r == -EPERM ?
				 "refused: a credentials file must be owned by root and not accessible "
				 "by group or others (chmod 600)" : strerror(-r));
			return -EINVAL;
		}
	}
	if (c->http_s3_region[0])
		(void)hib_s3_set_region(&hc, c->http_s3_region);
	if (c->http_s3_part_mib)
		hc.s3_part_size = (size_t)c->http_s3_part_mib << 20;
	if (c->http_retries)
		hc.retries = c->http_retries & ~(1u << 31);
	if (c->http_timeout_ms)
		hc.timeout_ms = c->http_timeout_ms;
	*ret = hc;
	explicit_bzero(&hc, sizeof(hc));
	return 0;
}
