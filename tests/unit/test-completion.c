// SPDX-License-Identifier: GPL-2.0-only
/*
 * completion/hibernatectl against hibernatectl/args.c's option table: each command's
 * "KEY) opts='...'" line lists exactly the long options the table gives that command, and
 * every command is completed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

static const char *completion_path;
static char *text;

static const struct {
	const char *key;
	enum hibctl_command command;
} keys[] = {
	{ "freeze", HIBCTL_CMD_FREEZE },
	{ "thaw", HIBCTL_CMD_THAW },
	{ "status", HIBCTL_CMD_STATUS },
	{ "hibernate", HIBCTL_CMD_HIBERNATE },
	{ "resume", HIBCTL_CMD_RESUME },
	{ "image-info", HIBCTL_CMD_IMAGE_INFO },
	{ "image-verify", HIBCTL_CMD_IMAGE_VERIFY },
	{ "check", HIBCTL_CMD_CHECK },
	{ "recover", HIBCTL_CMD_RECOVER },
	{ "policy-check", HIBCTL_CMD_POLICY_CHECK },
};

static int load(void **state)
{
	FILE *f = fopen(completion_path, "r");
	size_t cap = 1 << 16, n;

	(void)state;
	if (!f)
		return -1;
	text = calloc(1, cap + 1);
	n = text ? fread(text, 1, cap, f) : 0;
	fclose(f);
	return n > 0 && n < cap ? 0 : -1;
}

static int unload(void **state)
{
	(void)state;
	free(text);
	return 0;
}

/* The words of @key's "\tKEY) opts='...'" line, space-separated, into @buf. */
static void opts_of(const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\t%s) opts='", key);
	p = strstr(text, pat);
	if (!p)
		fail_msg("completion: no \"%s) opts='...'\" line", key);
	p += strlen(pat);
	q = strchr(p, '\'');
	assert_non_null(q);
	assert_true((size_t)(q - p) + 3 < size);
	/* " word word " so that " --x " finds whole words */
	snprintf(buf, size, " %.*s ", (int)(q - p), p);
}

static void test_every_option_completed(void **state)
{
	char line[2048], word[80];
	const char *name;
	size_t k, i, found;

	(void)state;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		opts_of(keys[k].key, line, sizeof(line));
		for (i = 0, found = 0; (name = hibctl_option_name(i)); i++) {
			bool listed;

			snprintf(word, sizeof(word), " --%s ", name);
			listed = strstr(line, word) != NULL;
			if (hibctl_option_takes(i, keys[k].command) && !listed)
				fail_msg("completion of %s lacks --%s", keys[k].key, name);
			if (!hibctl_option_takes(i, keys[k].command) && listed)
				fail_msg("completion of %s offers --%s, which it does not take",
					 keys[k].key, name);
			found += listed;
		}
		/* nothing listed that is not in the table */
		for (i = 0; line[i]; i++)
			if (line[i] == '-' && line[i + 1] == '-' && line[i - 1] == ' ')
				found--;
		assert_int_equal(found, 0);
	}
}

static void test_commands_completed(void **state)
{
	static const char *const commands[] = { "freeze", "thaw", "status", "hibernate",
		"resume", "image", "check", "recover", "policy", "help" };
	const char *p = strstr(text, "compgen -W 'freeze thaw ");
	char list[512];
	size_t i;

	(void)state;
	assert_non_null(p);
	snprintf(list, sizeof(list), " %.*s ", (int)(strchr(p + 12, '\'') - p - 12), p + 12);
	for (i = 0; i < strlen(list); i++)
		if (list[i] == '\n' || list[i] == '\t')
			list[i] = ' ';
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char w[32];

		snprintf(w, sizeof(w), " %s ", commands[i]);
		if (!strstr(list, w))
			fail_msg("completion lacks the command %s", commands[i]);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_option_completed),
		cmocka_unit_test(test_commands_completed),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test-completion completion/hibernatectl\n");
		return 2;
	}
	completion_path = argv[1];
	return cmocka_run_group_tests(tests, load, unload);
}
