// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl: freeze and thaw user tasks with freeze_processes(2). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "args.h"
#include "client.h"
#include "commands.h"

static int log_max = HIB_LOG_WARNING;

/* stdout's buffer, static so that printing the result after a freeze allocates nothing. */
static char stdout_buf[BUFSIZ];

static void log_stderr(int level, const char *fmt, va_list ap)
{
	if (level > log_max)
		return;
	fputs("hibernatectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	struct hibctl_args args;
	struct hibctl_ctx ctx = {
		.proc_root = NULL,
		.self = getpid(),
		.out = stdout,
		.err = stderr,
	};
	int r, ret;

	setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, sizeof(stdout_buf));
	if (getenv("HIBERNATECTL_DEBUG"))
		log_max = HIB_LOG_DEBUG;
	hib_set_log_fn(log_stderr);

	r = hibctl_parse_args(argc, argv, &args);
	if (r < 0) {
		ret = args.error[0] ? HIB_EXIT_USAGE : HIB_EXIT_ERROR;
		if (args.error[0])
			fprintf(stderr, "hibernatectl: %s\nTry 'hibernatectl --help'.\n", args.error);
		else
			fprintf(stderr, "hibernatectl: %s\n", hib_strerror(r));
		/* --json: a usage error is one JSON object on stdout too. */
		if (hibctl_argv_wants_json(argc, argv))
			hibctl_json_error(stdout, args.error[0] ? args.error : hib_strerror(r), ret);
		hibctl_args_done(&args);
		fflush(stdout);
		return ret;
	}

	switch (args.command) {
	case HIBCTL_CMD_HELP:
		if (args.help_command != HIBCTL_CMD_NONE)
			hibctl_usage_command(stdout, args.help_command);
		else
			hibctl_usage(stdout);
		ret = HIB_EXIT_OK;
		break;
	case HIBCTL_CMD_VERSION:
		printf("hibernatectl %s\n", HIBERNATE_VERSION);
		ret = HIB_EXIT_OK;
		break;
	case HIBCTL_CMD_FREEZE:
		ret = hibctl_cmd_freeze(&ctx, &args);
		break;
	case HIBCTL_CMD_THAW:
		ret = hibctl_cmd_thaw(&ctx, &args);
		break;
	case HIBCTL_CMD_STATUS: {
		const char *sock = hibctl_daemon_socket();

		ret = hibctl_cmd_status(&ctx, &args);
		/* What hibernated is doing, in text mode (JSON stays one object). */
		if (sock && !args.json) {
			fflush(stdout);
			(void)hibctl_request_status(sock, stdout, stderr);
		}
		break;
	}
	case HIBCTL_CMD_HIBERNATE: {
		/* Through hibernated when it runs (HIBERNATECTL_NO_DAEMON=1: never). */
		const char *sock = hibctl_daemon_socket();

		if (sock)
			ret = hibctl_request_hibernate(sock, &args, stdout, stderr);
		else
			ret = hibctl_cmd_hibernate(&ctx, &args);
		break;
	}
	case HIBCTL_CMD_RESUME:
		ret = hibctl_cmd_resume(&ctx, &args);
		break;
	case HIBCTL_CMD_CHECK:
		ret = hibctl_cmd_check(&ctx, &args);
		break;
	case HIBCTL_CMD_RECOVER:
		ret = hibctl_cmd_recover(&ctx, &args);
		break;
	case HIBCTL_CMD_POLICY_CHECK:
		ret = hibctl_cmd_policy_check(&ctx, &args);
		break;
	case HIBCTL_CMD_IMAGE_INFO:
	case HIBCTL_CMD_IMAGE_VERIFY:
		ret = hibctl_cmd_image(&ctx, &args);
		break;
	default:
		hibctl_usage(stderr);
		ret = HIB_EXIT_USAGE;
		break;
	}

	hibctl_args_done(&args);
	if (fflush(stdout) != 0 && ret == HIB_EXIT_OK) {
		perror("hibernatectl: stdout");
		ret = HIB_EXIT_ERROR;
	}
	return ret;
}
