// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl's command line.  Hand-written rather than getopt_long() so that it has no global
 * state, prints nothing and can be run repeatedly from the unit tests.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "conf.h"
#include "policy.h"

void hibctl_usage(FILE *f)
{
	fputs("Usage: hibernatectl [--help] [--version] COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "Freeze and thaw user tasks with freeze_processes(2); hibernate and resume.\n"
	      "\n"
	      "Commands:\n"
	      "  freeze [--timeout MS] [--keep PID]... [--no-keep-ancestors]\n"
	      "         Freeze every user task, then thaw this command's ancestors (its parent\n"
	      "         chain up to and including pid 1) and every --keep PID, so that the shell\n"
	      "         that ran it keeps working.\n"
	      "  freeze [--timeout MS] PID...\n"
	      "         Freeze just these processes (all their threads).\n"
	      "  thaw PID...\n"
	      "         Thaw these processes.\n"
	      "  thaw --all\n"
	      "         Thaw every task frozen by freeze_processes(2) or SIGFREEZE.\n"
	      "  status [--json]\n"
	      "         Say whether the kernel supports freeze_processes(2) and list the\n"
	      "         frozen and freezing processes.\n"
	      "  hibernate [--output DEV|FILE|URL] [--no-poweroff] [--threads N] [--timeout MS]\n"
	      "            [--key-file F | --passphrase-file F]\n"
	      "         Check the target, lock memory, freeze every task, snapshot the kernel,\n"
	      "         write the image (lz4 on N threads) and power off.  The target is --output\n"
	      "         or target under [hibernate] in hibernate.conf.  --no-poweroff thaws\n"
	      "         everything once the image is written instead.  A URL is http[s]://\n"
	      "         (a WebDAV server: PUT, MOVE) or s3+http[s]://HOST/BUCKET/KEY (an S3\n"
	      "         store, multipart upload); settings under [http] in hibernate.conf.\n"
	      "         Steps 3, 3b: thaws what the policy names (--policy-dir), then syncs\n"
	      "         every filesystem within --sync-timeout or rolls back.  Goes through\n"
	      "         hibernated when /run/hibernated.sock exists ($HIBERNATED_SOCKET;\n"
	      "         HIBERNATECTL_NO_DAEMON=1: never).\n"
	      "  resume [--input DEV|FILE|URL] [--threads N] [--migrate]\n"
	      "         [--key-file F | --passphrase-file F]\n"
	      "         Restore the image on DEV|FILE|URL (run from the initramfs).  Without a\n"
	      "         valid image it says so and exits 6 so that the boot goes on.  For a\n"
	      "         URL it first brings the network up if the kernel command line has\n"
	      "         ip= (ip=dhcp, ip=CLIENT::GW:MASK:HOST:DEV:none) or the configuration\n"
	      "         ip = under [network], and says what it configured.\n"
	      "  recover [--config FILE] [--cow DEV]\n"
	      "         At activation, before the protected filesystems are mounted: complete\n"
	      "         what an interrupted hibernation left in the COW store (a power cut\n"
	      "         while the image was written or while an abort merged): merge its\n"
	      "         writes back.  resume does this itself when it restores nothing.\n"
	      "  check [--output DEV|FILE] [--config FILE] [--cow DEV]\n"
	      "         Say whether hibernation can run now and why not: kernel support,\n"
	      "         filesystems that cannot be protected, the COW store, the target.\n"
	      "  policy check [--policy-dir DIR] [FILE]...\n"
	      "         Check thaw policy files (hibernate-policy(5)): every error as\n"
	      "         FILE:LINE:COLUMN: MESSAGE; exits 1 if any file is bad.  Without FILE,\n"
	      "         every *.policy in DIR (default " HIB_POLICY_DEFAULT_DIR ").\n"
	      "  image info|verify DEV|FILE [--json] [--key-file F | --passphrase-file F]\n"
	      "         Show the image header; verify also checks every chunk and the FINAL\n"
	      "         record (without /dev/snapshot).\n"
	      "\n"
	      "Options:\n"
	      "  -t, --timeout MS        how long the kernel waits for tasks to freeze\n"
	      "                          (default 0: /sys/power/pm_freeze_timeout)\n"
	      "  -k, --keep PID          thaw PID again after freezing everything (repeatable)\n"
	      "      --no-keep-ancestors do not thaw this command's ancestors\n"
	      "  -a, --all               thaw everything\n"
	      "  -j, --json              status, image info|verify, check, policy check: JSON\n"
	      "  -o, --output DEV|FILE   where hibernate writes the image\n"
	      "  -i, --input DEV|FILE    where resume reads the image from\n"
	      "      --no-poweroff       hibernate: thaw instead of powering off\n"
	      "      --migrate           resume: accept an image made on another host (its\n"
	      "                          machine id differs); refused without it\n"
	      "      --config FILE       hibernate / resume / recover / check: instead of\n"
	      "                          " HIB_CONF_DEFAULT_PATH " (hibernate.conf(5))\n"
	      "      --cow DEV           hibernate / resume / recover / check: the COW store\n"
	      "                          for the snapshots\n"
	      "                          of the protected filesystems (overrides cow =)\n"
	      "      --no-stream         hibernate: copy every page at the snapshot, even with\n"
	      "                          swap off (default: frozen tasks' pages are streamed\n"
	      "                          from their frames when swap is off)\n"
	      "      --policy-dir DIR    hibernate / policy check: the thaw policy\n"
	      "                          (default " HIB_POLICY_DEFAULT_DIR "; missing = empty)\n"
	      "      --sync-timeout MS   hibernate: deadline of the sync after the freeze\n"
	      "                          (default 10000); on timeout everything is thawed\n"
	      "      --test=STAGE        hibernate: a dry run that stops after STAGE, holds\n"
	      "                          2 s and rolls back (writes no image; --output is\n"
	      "                          not needed, nor opened): freeze (freeze, policy\n"
	      "                          thaw, sync),\n"
	      "                          dm (and the protected filesystems frozen on their\n"
	      "                          snapshots), snapshot (and snapshot_kernel(2), the\n"
	      "                          filesystems thawed: later writes are merged back)\n"
	      "  -n, --threads N         compression threads (default: online CPUs)\n"
	      "      --key-file F        hibernate / resume / image: encrypt, or require the\n"
	      "                          image to be encrypted, with the key in F (32 bytes raw\n"
	      "                          or 64 hex digits); XChaCha20-Poly1305\n"
	      "      --passphrase-file F the same with a passphrase (F's first line; argon2id)\n"
	      "                          (default for both: [image] in hibernate.conf)\n"
	      "  -h, --help              show this help\n"
	      "  -V, --version           show the version\n"
	      "\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  other error\n"
	      "  2  usage error\n"
	      "  3  the kernel lacks freeze_processes(2) (ENOSYS)\n"
	      "  4  permission denied: needs CAP_SYS_ADMIN (EPERM)\n"
	      "  5  some tasks did not freeze in time (EBUSY); they are listed on stderr and\n"
	      "     everything was thawed again\n"
	      "  6  resume / image: no valid hibernation image\n"
	      "  7  resume / image: the image is corrupt, truncated or from another kernel\n", f);
}

static int usage_error(struct hibctl_args *args, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(struct hibctl_args *args, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args->error, sizeof(args->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_ulong_strict(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int hibctl_parse_pid(const char *s, pid_t *ret_pid)
{
	unsigned long v;

	if (parse_ulong_strict(s, INT_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*ret_pid = (pid_t)v;
	return 0;
}

int hibctl_parse_timeout(const char *s, unsigned int *ret_ms)
{
	unsigned long v;

	if (parse_ulong_strict(s, UINT_MAX, &v) < 0)
		return -EINVAL;
	*ret_ms = (unsigned int)v;
	return 0;
}

int hibctl_parse_threads(const char *s, unsigned int *ret_threads)
{
	unsigned long v;

	if (parse_ulong_strict(s, 256, &v) < 0 || v == 0)
		return -EINVAL;
	*ret_threads = (unsigned int)v;
	return 0;
}

static const struct {
	const char *name;
	enum hibctl_command command;
} commands[] = {
	{ "freeze", HIBCTL_CMD_FREEZE },
	{ "thaw", HIBCTL_CMD_THAW },
	{ "status", HIBCTL_CMD_STATUS },
	{ "hibernate", HIBCTL_CMD_HIBERNATE },
	{ "resume", HIBCTL_CMD_RESUME },
	{ "image", HIBCTL_CMD_IMAGE_INFO },	/* needs "info" or "verify" next */
	{ "check", HIBCTL_CMD_CHECK },
	{ "recover", HIBCTL_CMD_RECOVER },
	{ "policy", HIBCTL_CMD_POLICY_CHECK },	/* needs "check" next */
	{ "help", HIBCTL_CMD_HELP },
};

/*
 * Does argv[*i] name option @lng (or @shrt)?  If the option takes a value, *ret_value gets it,
 * from "--long=V", "-sV" or the next argument (then *i advances).  Returns 1 on a match, 0 if
 * not this option, -EINVAL if the value is missing or was given to a flag.
 */
static int match_opt(struct hibctl_args *args, int argc, char *const *argv, int *i,
		     const char *lng, char shrt, bool has_value, const char **ret_value)
{
	const char *a = argv[*i];
	size_t ll = strlen(lng);
	const char *value = NULL;

	if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, lng, ll) == 0 &&
	    (a[2 + ll] == '\0' || a[2 + ll] == '=')) {
		if (a[2 + ll] == '=') {
			if (!has_value)
				return usage_error(args, "option --%s takes no value", lng);
			value = a + 3 + ll;
		}
	} else if (shrt && a[0] == '-' && a[1] == shrt) {
		if (a[2] != '\0') {
			if (!has_value)
				return 0;	/* e.g. "-ab": not supported, reported as unknown */
			value = a + 2;
		}
	} else {
		return 0;
	}

	if (has_value) {
		if (!value) {
			if (*i + 1 >= argc)
				return usage_error(args, "option --%s needs a value", lng);
			value = argv[++*i];
		}
		*ret_value = value;
	}
	return 1;
}

static int push_pid(struct hibctl_args *args, pid_t **arr, size_t *n, const char *s,
		    const char *what)
{
	pid_t pid, *na;

	if (hibctl_parse_pid(s, &pid) < 0)
		return usage_error(args, "invalid %s '%s': expected a positive process id", what,
				   s);
	na = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!na)
		return -ENOMEM;
	na[(*n)++] = pid;
	*arr = na;
	return 0;
}

/* What an option stores, and how its value is checked. */
enum opt_kind {
	OPT_HELP,		/* the command becomes HELP, parsing stops */
	OPT_VERSION,		/* the command becomes VERSION, parsing stops */
	OPT_SET,		/* a flag: the bool becomes true */
	OPT_CLEAR,		/* a flag: the bool becomes false */
	OPT_PATH,		/* a non-empty string: "empty --NAME path" */
	OPT_TARGET,		/* args->path, non-empty: "empty path" */
	OPT_TIMEOUT,		/* milliseconds, 0 to UINT_MAX */
	OPT_SYNC_TIMEOUT,	/* milliseconds, 1 to UINT_MAX */
	OPT_THREADS,		/* 1 to 256 */
	OPT_PIDS,		/* appended to args->keep */
	OPT_TEST_STAGE,		/* freeze, dm or snapshot */
};

#define CMD(c) (1u << HIBCTL_CMD_##c)
#define CMD_ANY (~0u)
#define FIELD(f) offsetof(struct hibctl_args, f)

static const struct opt {
	const char *name;
	char shrt;
	bool has_value;
	unsigned int commands;	/* CMD() bits of the commands that accept it */
	enum opt_kind kind;
	size_t field;		/* offsetof() the member it sets, for the kinds that need one */
	const char *arg;	/* the value's name in the help */
	const char *help;	/* one line of the per-command help */
} options[] = {
	{ "help", 'h', false, CMD_ANY, OPT_HELP, 0,
	  NULL, "show this help" },
	{ "version", 'V', false, CMD_ANY, OPT_VERSION, 0,
	  NULL, "show the version" },
	{ "config", 0, true, CMD(HIBERNATE) | CMD(CHECK) | CMD(RESUME) | CMD(RECOVER) |
	  CMD(IMAGE_INFO) | CMD(IMAGE_VERIFY), OPT_PATH,
	  FIELD(config_path),
	  "FILE", "instead of " HIB_CONF_DEFAULT_PATH " (hibernate.conf(5))" },
	{ "cow", 0, true, CMD(HIBERNATE) | CMD(CHECK) | CMD(RESUME) | CMD(RECOVER), OPT_PATH,
	  FIELD(cow_path),
	  "DEV", "the COW store of the protected filesystems (overrides cow =)" },
	{ "key-file", 0, true, CMD(HIBERNATE) | CMD(RESUME) | CMD(IMAGE_INFO) | CMD(IMAGE_VERIFY),
	  OPT_PATH, FIELD(key_file),
	  "FILE", "the image key: 32 raw bytes or 64 hex digits, mode 0600" },
	{ "passphrase-file", 0, true,
	  CMD(HIBERNATE) | CMD(RESUME) | CMD(IMAGE_INFO) | CMD(IMAGE_VERIFY), OPT_PATH,
	  FIELD(passphrase_file),
	  "FILE", "a passphrase (the first line; argon2id), mode 0600" },
	{ "policy-dir", 0, true, CMD(HIBERNATE) | CMD(POLICY_CHECK), OPT_PATH, FIELD(policy_dir),
	  "DIR", "the thaw policy (default " HIB_POLICY_DEFAULT_DIR ")" },
	{ "sync-timeout", 0, true, CMD(HIBERNATE), OPT_SYNC_TIMEOUT, FIELD(sync_timeout_ms),
	  "MS", "deadline of the sync after the freeze (default 10000)" },
	{ "test", 0, true, CMD(HIBERNATE), OPT_TEST_STAGE, FIELD(test),
	  "STAGE", "dry run: stop after freeze, dm or snapshot, hold 2 s, roll back" },
	{ "output", 'o', true, CMD(CHECK) | CMD(HIBERNATE), OPT_TARGET, FIELD(path),
	  "DEV|FILE|URL", "the image target (default: target under [hibernate])" },
	{ "input", 'i', true, CMD(RESUME), OPT_TARGET, FIELD(path),
	  "DEV|FILE|URL", "the image (default: target under [hibernate])" },
	{ "timeout", 't', true, CMD(FREEZE) | CMD(HIBERNATE), OPT_TIMEOUT, FIELD(timeout_ms),
	  "MS", "how long the kernel waits for tasks to freeze" },
	{ "keep", 'k', true, CMD(FREEZE), OPT_PIDS, 0,
	  "PID", "thaw PID again after freezing everything (repeatable)" },
	{ "no-keep-ancestors", 0, false, CMD(FREEZE), OPT_CLEAR, FIELD(keep_ancestors),
	  NULL, "do not thaw this command's ancestors" },
	{ "all", 'a', false, CMD(THAW), OPT_SET, FIELD(all),
	  NULL, "thaw everything" },
	{ "threads", 'n', true, CMD(HIBERNATE) | CMD(RESUME), OPT_THREADS, FIELD(threads),
	  "N", "compression threads (default: online CPUs)" },
	{ "no-poweroff", 0, false, CMD(HIBERNATE), OPT_SET, FIELD(no_poweroff),
	  NULL, "write the image, then thaw instead of powering off" },
	{ "migrate", 0, false, CMD(RESUME), OPT_SET, FIELD(migrate),
	  NULL, "accept an image made on another host (machine id)" },
	{ "no-stream", 0, false, CMD(HIBERNATE), OPT_SET, FIELD(no_stream),
	  NULL, "copy every page at the snapshot, even with swap off" },
	{ "json", 'j', false, CMD(STATUS) | CMD(IMAGE_INFO) | CMD(IMAGE_VERIFY) | CMD(CHECK) |
	  CMD(POLICY_CHECK), OPT_SET,
	  FIELD(json),
	  NULL, "print JSON" },
};

const char *hibctl_option_name(size_t i)
{
	return i < sizeof(options) / sizeof(options[0]) ? options[i].name : NULL;
}

bool hibctl_option_takes(size_t i, enum hibctl_command command)
{
	return i < sizeof(options) / sizeof(options[0]) &&
	       (options[i].commands & (1u << command));
}

static const struct {
	enum hibctl_command command;
	const char *synopsis;
	const char *what;
} command_help[] = {
	{ HIBCTL_CMD_FREEZE, "freeze [OPTIONS] [PID...]",
	  "Freeze every user task but this command's ancestors (and --keep PIDs), or just\n"
	  "the given processes, with freeze_processes(2)." },
	{ HIBCTL_CMD_THAW, "thaw PID... | --all", "Thaw these processes, or everything." },
	{ HIBCTL_CMD_STATUS, "status [--json]",
	  "Whether the kernel supports freeze_processes(2); the frozen and freezing processes." },
	{ HIBCTL_CMD_HIBERNATE, "hibernate [OPTIONS]",
	  "Freeze, thaw the policy's helpers, sync, protect the filesystems, snapshot the kernel,\n"
	  "write the image and power off.  Through hibernated when its socket exists." },
	{ HIBCTL_CMD_RESUME, "resume [OPTIONS]",
	  "Restore the image (from the initramfs).  No valid image: exit 6, the boot goes on;\n"
	  "a refused one: exit 7." },
	{ HIBCTL_CMD_IMAGE_INFO, "image info DEV|FILE|URL [OPTIONS]", "Show the image header." },
	{ HIBCTL_CMD_IMAGE_VERIFY, "image verify DEV|FILE|URL [OPTIONS]",
	  "Check every chunk and the FINAL record, as resume would." },
	{ HIBCTL_CMD_CHECK, "check [OPTIONS]", "Say whether hibernation can run now, and why not." },
	{ HIBCTL_CMD_RECOVER, "recover [OPTIONS]",
	  "Complete what an interrupted hibernation left on the COW store (merge back)." },
	{ HIBCTL_CMD_POLICY_CHECK, "policy check [OPTIONS] [FILE...]",
	  "Check thaw policy files (hibernate-policy(5)): every error as FILE:LINE:COLUMN." },
};

void hibctl_usage_command(FILE *f, enum hibctl_command command)
{
	const struct opt *o;
	size_t i;

	for (i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++)
		if (command_help[i].command == command)
			break;
	if (i == sizeof(command_help) / sizeof(command_help[0])) {
		hibctl_usage(f);
		return;
	}
	fprintf(f, "Usage: hibernatectl %s\n\n%s\n\nOptions:\n", command_help[i].synopsis,
		command_help[i].what);
	for (o = options; o < options + sizeof(options) / sizeof(options[0]); o++) {
		char name[64];

		if (!(o->commands & (1u << command)) || o->kind == OPT_VERSION)
			continue;
		snprintf(name, sizeof(name), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %c%c%c %-24s %s\n", o->shrt ? '-' : ' ', o->shrt ? o->shrt : ' ',
			o->shrt ? ',' : ' ', name, o->help);
	}
	fputs("\nExit status: see hibernatectl --help.\n", f);
}

/* Store @value (NULL for a flag) as @o says.  0, -EINVAL (usage error) or -ENOMEM. */
static int store_opt(struct hibctl_args *args, const struct opt *o, const char *value)
{
	void *field = (char *)args + o->field;

	switch (o->kind) {
	case OPT_HELP:
		args->help_command = args->command;
		args->command = HIBCTL_CMD_HELP;
		return 0;
	case OPT_VERSION:
		args->command = HIBCTL_CMD_VERSION;
		return 0;
	case OPT_SET:
		*(bool *)field = true;
		return 0;
	case OPT_CLEAR:
		*(bool *)field = false;
		return 0;
	case OPT_PATH:
		if (!*value)
			return usage_error(args, "empty --%s path", o->name);
		*(const char **)field = value;
		return 0;
	case OPT_TARGET:
		if (!*value)
			return usage_error(args, "empty path");
		*(const char **)field = value;
		return 0;
	case OPT_TIMEOUT:
		if (hibctl_parse_timeout(value, field) < 0)
			return usage_error(args, "invalid timeout '%s': expected milliseconds, 0 to %u",
					   value, UINT_MAX);
		return 0;
	case OPT_SYNC_TIMEOUT:
		if (hibctl_parse_timeout(value, field) < 0 || *(unsigned int *)field == 0)
			return usage_error(args, "invalid sync timeout '%s': expected milliseconds, "
					   "1 to %u", value, UINT_MAX);
		return 0;
	case OPT_THREADS:
		if (hibctl_parse_threads(value, field) < 0)
			return usage_error(args, "invalid thread count '%s': expected 1 to 256",
					   value);
		return 0;
	case OPT_PIDS:
		return push_pid(args, &args->keep, &args->n_keep, value, "--keep process id");
	case OPT_TEST_STAGE:
		if (strcmp(value, "freeze") == 0)
			*(enum hibctl_test_stage *)field = HIBCTL_TEST_FREEZE;
		else if (strcmp(value, "dm") == 0)
			*(enum hibctl_test_stage *)field = HIBCTL_TEST_DM;
		else if (strcmp(value, "snapshot") == 0)
			*(enum hibctl_test_stage *)field = HIBCTL_TEST_SNAPSHOT;
		else
			return usage_error(args, "invalid --test stage '%s' (freeze, dm, snapshot)",
					   value);
		return 0;
	}
	return -EINVAL;
}

int hibctl_parse_args(int argc, char *const *argv, struct hibctl_args *args)
{
	const char *cmd_name = NULL;
	const struct opt *o;
	bool only_operands = false, image_sub = false, policy_sub = false;
	int i, r;

	memset(args, 0, sizeof(*args));
	args->keep_ancestors = true;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *value = NULL;

		if (only_operands || a[0] != '-' || a[1] == '\0') {
			if (args->command == HIBCTL_CMD_NONE) {
				size_t c;

				for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
					if (strcmp(a, commands[c].name) == 0)
						break;
				if (c == sizeof(commands) / sizeof(commands[0]))
					return usage_error(args, "unknown command '%s'", a);
				args->command = commands[c].command;
				cmd_name = a;
				continue;
			}
			if (args->command == HIBCTL_CMD_HELP) {
				/* "help freeze", "help image verify": that command's help */
				size_t c;

				if (args->help_command == HIBCTL_CMD_IMAGE_INFO &&
				    strcmp(a, "verify") == 0) {
					args->help_command = HIBCTL_CMD_IMAGE_VERIFY;
					continue;
				}
				if (args->help_command != HIBCTL_CMD_NONE)
					continue;
				for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
					if (strcmp(a, commands[c].name) == 0)
						break;
				if (c == sizeof(commands) / sizeof(commands[0]) ||
				    commands[c].command == HIBCTL_CMD_HELP)
					return usage_error(args, "help: unknown command '%s'", a);
				args->help_command = commands[c].command;
				continue;
			}
			if (args->command == HIBCTL_CMD_STATUS)
				return usage_error(args, "status takes no arguments ('%s')", a);
			if (args->command == HIBCTL_CMD_CHECK)
				return usage_error(args, "check takes no operands ('%s'): use "
						   "--output", a);
			if (args->command == HIBCTL_CMD_HIBERNATE ||
			    args->command == HIBCTL_CMD_RESUME)
				return usage_error(args, "%s takes no operands ('%s'): use --%s",
						   cmd_name, a, args->command ==
						   HIBCTL_CMD_RESUME ? "input" : "output");
			if (args->command == HIBCTL_CMD_POLICY_CHECK) {
				if (!policy_sub) {
					if (strcmp(a, "check") != 0)
						return usage_error(args, "unknown policy command "
								   "'%s' (check)", a);
					policy_sub = true;
					continue;
				}
				if (!*a)
					return usage_error(args, "empty policy file name");
				if (!args->files)
					args->files = &argv[i];
				else if (args->files + args->n_files != &argv[i])
					return usage_error(args, "policy files must be given "
							   "together");
				args->n_files++;
				continue;
			}
			if (args->command == HIBCTL_CMD_IMAGE_INFO ||
			    args->command == HIBCTL_CMD_IMAGE_VERIFY) {
				if (!image_sub) {
					if (strcmp(a, "info") == 0)
						args->command = HIBCTL_CMD_IMAGE_INFO;
					else if (strcmp(a, "verify") == 0)
						args->command = HIBCTL_CMD_IMAGE_VERIFY;
					else
						return usage_error(args, "unknown image command '%s' "
								   "(info or verify)", a);
					image_sub = true;
					continue;
				}
				if (args->path)
					return usage_error(args, "image takes one DEV|FILE");
				args->path = a;
				continue;
			}
			r = push_pid(args, &args->pids, &args->n_pids, a, "process id");
			if (r < 0)
				return r;
			continue;
		}

		if (strcmp(a, "--") == 0) {
			only_operands = true;
			continue;
		}
		r = 0;
		for (o = options; o < options + sizeof(options) / sizeof(options[0]); o++) {
			if (!(o->commands & (1u << args->command)))
				continue;
			r = match_opt(args, argc, argv, &i, o->name, o->shrt, o->has_value, &value);
			if (r != 0)
				break;
		}
		if (r < 0)
			return r;
		if (r > 0) {
			r = store_opt(args, o, value);
			if (r < 0)
				return r;
			if (o->kind == OPT_HELP || o->kind == OPT_VERSION)
				return 0;
			continue;
		}
		if (args->command == HIBCTL_CMD_NONE)
			return usage_error(args, "unknown option '%s' (options follow the command)",
					   a);
		return usage_error(args, "unknown option '%s' for %s", a,
				   cmd_name ? cmd_name : "this command");
	}

	if (args->key_file && args->passphrase_file)
		return usage_error(args, "--key-file and --passphrase-file exclude each other");
	switch (args->command) {
	case HIBCTL_CMD_NONE:
		return usage_error(args, "no command given");
	case HIBCTL_CMD_FREEZE:
		if (args->n_pids > 0 && (args->n_keep > 0 || !args->keep_ancestors))
			return usage_error(args, "--keep and --no-keep-ancestors only apply when "
					   "freezing every task (no PID operands)");
		break;
	case HIBCTL_CMD_THAW:
		if (args->all && args->n_pids > 0)
			return usage_error(args, "thaw takes either --all or process ids, not both");
		if (!args->all && args->n_pids == 0)
			return usage_error(args, "thaw needs process ids or --all");
		break;
	case HIBCTL_CMD_POLICY_CHECK:
		if (!policy_sub)
			return usage_error(args, "policy needs a command: check");
		if (args->policy_dir && args->n_files)
			return usage_error(args, "policy check takes either --policy-dir or "
					   "files, not both");
		break;
	case HIBCTL_CMD_HIBERNATE:
	case HIBCTL_CMD_RESUME:
		/* Without --output / --input: target under [hibernate] in hibernate.conf (the
		 * library says so when there is none).  Through hibernated, a group member
		 * names nothing. */
		break;
	case HIBCTL_CMD_IMAGE_INFO:
	case HIBCTL_CMD_IMAGE_VERIFY:
		if (!image_sub)
			return usage_error(args, "image needs a command: info or verify");
		if (!args->path)
			return usage_error(args, "image %s needs DEV|FILE",
					   args->command == HIBCTL_CMD_IMAGE_INFO ? "info" : "verify");
		break;
	default:
		break;
	}
	return 0;
}

bool hibctl_argv_wants_json(int argc, char *const *argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			return true;
	}
	return false;
}

void hibctl_args_done(struct hibctl_args *args)
{
	if (!args)
		return;
	free(args->pids);
	free(args->keep);
	args->pids = NULL;
	args->keep = NULL;
	args->path = NULL;
	args->n_pids = 0;
	args->n_keep = 0;
	args->files = NULL;
	args->n_files = 0;
}
