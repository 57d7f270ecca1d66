/* SPDX-License-Identifier: GPL-2.0-only */
/* Command-line parsing for hibernatectl, kept apart from main() so that it can be tested. */
#ifndef HIBERNATECTL_ARGS_H
#define HIBERNATECTL_ARGS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "exit-codes.h"	/* HIB_EXIT_*: the exit codes, documented in --help */

enum hibctl_command {
	HIBCTL_CMD_NONE = 0,
	HIBCTL_CMD_HELP,
	HIBCTL_CMD_VERSION,
	HIBCTL_CMD_FREEZE,
	HIBCTL_CMD_THAW,
	HIBCTL_CMD_STATUS,
	HIBCTL_CMD_HIBERNATE,
	HIBCTL_CMD_RESUME,
	HIBCTL_CMD_IMAGE_INFO,
	HIBCTL_CMD_IMAGE_VERIFY,
	HIBCTL_CMD_CHECK,
	HIBCTL_CMD_POLICY_CHECK,
	HIBCTL_CMD_RECOVER,
};

#define HIBCTL_ERROR_MAX 256

/* hibernate --test=STAGE: the staged dry runs (like the kernel's pm_test). */
enum hibctl_test_stage {
	HIBCTL_TEST_NONE = 0,
	HIBCTL_TEST_FREEZE,	/* steps 2, 3, 3b: freeze, policy thaw, sync */
	HIBCTL_TEST_DM,		/* and 4: the protected filesystems frozen on dm snapshots */
	HIBCTL_TEST_SNAPSHOT,	/* and 5, 5b: snapshot_kernel(2), the filesystems thawed */
};

struct hibctl_args {
	enum hibctl_command command;
	enum hibctl_command help_command;	/* COMMAND --help: that command's help */
	unsigned int timeout_ms;	/* freeze: 0 = kernel default */
	bool keep_ancestors;		/* freeze: default true */
	bool all;			/* thaw --all */
	bool json;			/* status / image --json */
	const char *path;		/* hibernate --output, resume --input, image operand */
	bool no_poweroff;		/* hibernate --no-poweroff */
	bool migrate;			/* resume --migrate: another host's image */
	const char *config_path;	/* hibernate / check --config */
	const char *cow_path;		/* hibernate / check --cow */
	bool no_stream;			/* hibernate --no-stream: copy every page */
	unsigned int threads;		/* hibernate / resume --threads, 0 = online CPUs */
	const char *key_file;		/* hibernate / resume / image --key-file */
	const char *passphrase_file;	/* hibernate / resume / image --passphrase-file */
	const char *policy_dir;		/* hibernate / policy check --policy-dir */
	unsigned int sync_timeout_ms;	/* hibernate --sync-timeout, 0 = default */
	enum hibctl_test_stage test;	/* hibernate --test=STAGE: stop after it, roll back */
	char *const *files;		/* policy check operands (into argv) */
	size_t n_files;
	pid_t *pids;			/* operands */
	size_t n_pids;
	pid_t *keep;			/* freeze --keep */
	size_t n_keep;
	char error[HIBCTL_ERROR_MAX];	/* set on -EINVAL (usage error) */
};

/*
 * Parse argv.  Returns 0, -EINVAL for a usage error (message in args->error), or -ENOMEM.
 * args must be released with hibctl_args_done() in every case.
 */
int hibctl_parse_args(int argc, char *const *argv, struct hibctl_args *args);
void hibctl_args_done(struct hibctl_args *args);

/* Strict parsers: decimal, no sign, no junk.  0 or -EINVAL. */
int hibctl_parse_pid(const char *s, pid_t *ret_pid);
int hibctl_parse_timeout(const char *s, unsigned int *ret_ms);
/* 1..256 */
int hibctl_parse_threads(const char *s, unsigned int *ret_threads);

/* Does argv ask for --json (-j) before any "--"?  For usage errors, which have no args. */
bool hibctl_argv_wants_json(int argc, char *const *argv);

void hibctl_usage(FILE *f);
/* One command's usage, its options generated from the option table. */
void hibctl_usage_command(FILE *f, enum hibctl_command command);

/*
 * The option table, for the completion's unit test: the @i-th option's long name (NULL past
 * the end), and whether @command takes it.
 */
const char *hibctl_option_name(size_t i);
bool hibctl_option_takes(size_t i, enum hibctl_command command);

#endif /* HIBERNATECTL_ARGS_H */
