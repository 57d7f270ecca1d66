/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the configuration, /etc/hibernate/hibernate.conf (doc/hibernate.conf.5.md),
 * resolved once into struct hib_conf.  Precedence, in hib_conf_resolve() only: a command-line
 * flag (struct hib_conf_flags) > the environment (HIBERNATE_HTTP_*, HIBERNATE_S3_*) > the
 * file > the default.
 */
#ifndef LIBHIBERNATE_CONF_H
#define LIBHIBERNATE_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* meson defines it from sysconfdir (meson.build); this is the default outside meson. */
#ifndef HIB_CONF_DEFAULT_PATH
#define HIB_CONF_DEFAULT_PATH	"/etc/hibernate/hibernate.conf"
#endif
#define HIB_CONF_LIST_MAX	16
#define HIB_CONF_NAME_MAX	128	/* a dm name, like DM_NAME_LEN */
#define HIB_CONF_ERRORS_MAX	16	/* errors kept per file; the count goes on */
#define HIB_CONF_WHY_MAX	512
/* [hibernate] resume-reserve = MiB: at most this (64 GiB), a typo's guard. */
#define HIB_CONF_RESUME_RESERVE_MAX_MIB	65536

struct hib_conf {
	/* [protect] devices = ... (dm names or /dev/mapper/NAME); empty: every dm fs */
	char devices[HIB_CONF_LIST_MAX][HIB_CONF_NAME_MAX];
	unsigned int n_devices;
	/* [protect] mountpoints = ... */
	char mountpoints[HIB_CONF_LIST_MAX][PATH_MAX];
	unsigned int n_mountpoints;
	char cow[PATH_MAX];		/* [protect] cow = DEV; "" if unset */
	uint32_t chunk;			/* [protect] chunk-sectors = N; 0: default */
	bool allow_unprotected;		/* [protect] allow-unprotected = yes|no */
	/* [network] ip = (the kernel's ip= syntax, net.h); "" if unset */
	char net_ip[512];
	/* [http]: files; "" if unset */
	char http_token_file[PATH_MAX];	/* token-file = */
	char http_ca_file[PATH_MAX];	/* ca-file = */
	char http_client_cert[PATH_MAX];	/* client-cert = (PEM) */
	char http_client_key[PATH_MAX];	/* client-key = (PEM; "": in client-cert) */
	char http_s3_credentials[PATH_MAX];	/* s3-credentials-file = */
	char http_s3_region[64];	/* s3-region = ("": us-east-1) */
	unsigned int http_s3_part_mib;	/* s3-part-size-mib = (0: the default) */
	bool http_plain_token;		/* allow-plain-http-token = yes: a token over http:// */
	/* [image]: the encryption key; at most one of the two */
	char key_file[PATH_MAX];	/* key-file = */
	char passphrase_file[PATH_MAX];	/* passphrase-file = */
	/* allow-unauthenticated = yes: an unencrypted image on a local target (never a URL) */
	bool allow_unauthenticated;
	/* [hibernate]: what hibernated runs (a client names none of it) */
	char target[PATH_MAX];		/* target = DEV | FILE | URL; "" if unset */
	unsigned int freeze_timeout_ms;	/* freeze-timeout-ms = (0: the kernel's default) */
	unsigned int sync_timeout_ms;	/* sync-timeout-ms = (0: the default, 10 s) */
	unsigned int threads;		/* threads = (0: every online CPU) */
	bool no_stream;			/* stream = no: copy every page at the snapshot */
	char state[PATH_MAX];		/* state = DEV|FILE: the record of the last image */
	/* resume-reserve = MiB the resume kernel needs beside the image (image-format.h) */
	unsigned int resume_reserve_mib;
	bool resume_reserve_set;	/* false: the default, hib_resume_reserve_bytes() */

	/* Resolved by hib_conf_resolve(), not read from the file. */
	char path[PATH_MAX];		/* the file it came from (messages) */
	bool from_env_http;		/* some HIBERNATE_HTTP_* / HIBERNATE_S3_* applied */
	char env_http_token[4096];	/* HIBERNATE_HTTP_TOKEN (wins over token-file) */
	unsigned int http_retries;	/* HIBERNATE_HTTP_RETRIES; 0: the default */
	unsigned int http_timeout_ms;	/* HIBERNATE_HTTP_TIMEOUT_MS; 0: the default */
	/* HIBERNATE_CMDLINE: the file to read the kernel command line's ip= from instead of
	 * /proc/cmdline (the dracut hook's copy); "" if unset */
	char cmdline_file[PATH_MAX];
};

/* The errors of one file, all of them (the first HIB_CONF_ERRORS_MAX kept). */
struct hib_conf_errors {
	unsigned int count;
	struct {
		unsigned int line;
		char msg[HIB_CONF_WHY_MAX];	/* "file:line: message" */
	} e[HIB_CONF_ERRORS_MAX];
};

/* What the command line says; NULL / 0 / false: not given. */
struct hib_conf_flags {
	const char *cow;
	const char *key_file;
	const char *passphrase_file;
	unsigned int freeze_timeout_ms;
	unsigned int sync_timeout_ms;
	unsigned int threads;
	bool no_stream;
};

/*
 * Parse the INI text in @buf (@len bytes).  Every line is checked; -EINVAL if any is bad:
 * an unknown section, key or bad value refuses the whole file.  @why gets the first error
 * ("file:line: message"), @errs (may be NULL) every one.
 */
int hib_conf_parse_all(const char *buf, size_t len, const char *fname, struct hib_conf *ret,
		       struct hib_conf_errors *errs);
/* hib_conf_parse_all() with the first error only, in @why. */
int hib_conf_parse(const char *buf, size_t len, const char *fname, struct hib_conf *ret,
		   char *why, size_t why_size);
/* Read and parse @path; a missing file gives the defaults (and 0). */
int hib_conf_load(const char *path, struct hib_conf *ret, char *why, size_t why_size);

/*
 * The configuration, resolved once: @path (NULL: $HIBERNATE_CONF, else the default path;
 * given explicitly, it must exist), then the environment, then @flags (may be NULL).  0, or
 * -errno with every error of the file in @errs (may be NULL; for other errors errs->e[0]
 * says why).
 */
int hib_conf_resolve(const char *path, const struct hib_conf_flags *flags,
		     struct hib_conf *ret, struct hib_conf_errors *errs);

/*
 * The HTTP settings of @c for the HTTP sinks (http.h): the token and the S3 credentials read
 * from their files now.  0, or -EINVAL with why (a bad token or credentials file).  The
 * result points into @c: keep @c while it is used; clear it with explicit_bzero().
 */
struct hib_http_config;
int hib_conf_http_config(const struct hib_conf *c, struct hib_http_config *ret, char *why,
			 size_t why_size);

/* Clear the secrets @c holds (the environment's bearer token).  Accepts NULL. */
void hib_conf_wipe(struct hib_conf *c);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_CONF_H */
