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
	/* hibernated (until it calls the library itself): its last good policy, borrowed */
	const struct hib_policy *policy;
};

/* Each returns an exit code (HIB_EXIT_*). */
int hibctl_cmd_freeze(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_thaw(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_status(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_hibernate(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_resume(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args);

int hibctl_cmd_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_recover(const struct hibctl_ctx *ctx, const struct hibctl_args *args);
int hibctl_cmd_policy_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args);

/*
 * --json when the command cannot give its result: {"error": @msg, "exit_status": @exit_code}
 * on @f (stdout), so that a JSON reader always gets one object.  Returns @exit_code.
 */
int hibctl_json_error(FILE *f, const char *msg, int exit_code);

/* --json: @o on @f as every command prints its object (pretty, '/' not escaped, a newline). */
void hibctl_json_print(FILE *f, struct json_object *o);

/* -errno (or errno) to exit code. */
int hibctl_exit_code(int err);

/* The EBUSY report: one line per refusing task. */
void hibctl_print_refusals(FILE *f, const struct hib_refusals *r, unsigned int timeout_ms);

/* Status as a JSON object (caller puts it); NULL on allocation failure. */
struct json_object *hibctl_status_json(bool supported, bool fields,
				       const struct hib_proc_info *procs, size_t n);
/* Status as text. */
void hibctl_status_text(FILE *f, bool supported, bool fields, const struct hib_proc_info *procs,
			size_t n);

#endif /* HIBERNATECTL_COMMANDS_H */
