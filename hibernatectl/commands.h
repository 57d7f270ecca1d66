/* SPDX-License-Identifier: GPL-2.0-only */
/* hibernatectl's commands, callable from the unit tests with their own proc root and streams. */
#ifndef HIBERNATECTL_COMMANDS_H
#define HIBERNATECTL_COMMANDS_H

#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "args.h"
#include "hibernate.h"

struct hib_dm_backend;
struct hib_policy;

struct hibctl_ctx {
	const char *proc_root;	/* NULL: /proc */
	pid_t self;		/* our pid: where the ancestor chain starts */
	FILE *out;		/* results */
	FILE *err;		/* messages */
	/* hibernate / resume / image; NULL or false: the real system */
	const char *snapshot_dev;	/* /dev/snapshot */
	const char *notes_path;		/* /sys/kernel/notes */
	const char *machine_id_path;	/* /etc/machine-id */
	bool no_mlock;			/* tests: skip mlockall() */
	/* protected filesystems; NULL: the real system */
	const char *mountinfo_path;	/* /proc/self/mountinfo */
	const char *sys_root;		/* /sys */
	const struct hib_dm_backend *dm_backend;	/* libdevmapper */
	/* hibernated: its last good policy (borrowed); NULL: hibernate loads --policy-dir */
	const struct hib_policy *policy;
};

/* Each returns an exit code (HIBCTL_EXIT_*). */
int hibctl_cmd_freeze(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_thaw(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_status(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_hibernate(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_resume(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args);

/*
 * Test hook (see cmd-image.c): put the build id given in hex by HIBERNATE_TEST_BUILD_ID into
 * @id.  0 if @hex is NULL, 1 if applied, -EINVAL if malformed.
 */
struct hib_image_info;
int hibctl_test_build_id(const char *hex, struct hib_image_info *id);

int hibctl_cmd_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
/* `recover`; @from_resume: quiet when there is nothing to do, called when resume restores
 * nothing. */
int hibctl_cmd_recover(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		       bool from_resume);
int hibctl_cmd_policy_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args);

/*
 * The protected filesystems (cmd-dm.c), called by hibernate / resume at the steps of
 * DESIGN.md section 1.  _prepare returns 0 or an exit code (message printed) and gives a
 * handle even when nothing is protected; the others return 0 or -errno (message printed)
 * and do nothing for a NULL handle.
 */
struct hibctl_dm;
struct hib_sink;
struct hib_image_writer;
int hibctl_dm_prepare(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		      struct hib_sink *sink, struct hibctl_dm **ret);
int hibctl_dm_protect(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
int hibctl_dm_thaw(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
int hibctl_dm_check_valid(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
int hibctl_dm_abort(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
int hibctl_dm_resumed(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
void hibctl_dm_mark_hibernated(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
/* How many filesystems are protected (0 for NULL). */
unsigned int hibctl_dm_count(const struct hibctl_dm *d);
int hibctl_dm_identities(struct hibctl_dm *d, struct hib_image_writer *w);
void hibctl_dm_test_window(const struct hibctl_ctx *ctx, struct hibctl_dm *d);
void hibctl_test_poke(const struct hibctl_ctx *ctx);
void hibctl_dm_free(struct hibctl_dm *d);
/* R2: every protected origin in @info unchanged?  0 or HIBCTL_EXIT_BADIMAGE (printed).
 * *ret_stale is set when the image must never be restored (a pending merge). */
struct hib_image_info;
int hibctl_dm_verify_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
			   const struct hib_image_info *info, const char *path, bool *ret_stale);

/* -errno (or errno) to exit code. */
int hibctl_exit_code(int err);

/* The EBUSY report: one line per refusing task. */
void hibctl_print_refusals(FILE *f, const struct hib_refusals *r, unsigned int timeout_ms);

/* Copy @src (at most @src_size bytes, stops at NUL) to @dst, non-printable bytes as '?'. */
void hibctl_sanitize(char *dst, size_t dst_size, const char *src, size_t src_size);

/* Status as a JSON object (caller puts it); NULL on allocation failure. */
struct json_object *hibctl_status_json(bool supported, bool fields,
				       const struct hib_proc_info *procs, size_t n);
/* Status as text. */
void hibctl_status_text(FILE *f, bool supported, bool fields, const struct hib_proc_info *procs,
			size_t n);

#endif /* HIBERNATECTL_COMMANDS_H */
