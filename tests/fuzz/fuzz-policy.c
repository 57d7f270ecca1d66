// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the thaw policy parser (hib_policy_parse): any input either parses into
 * a rule that is consistent, or is refused with at least one error at a sane position.
 * Built with clang -fsanitize=fuzzer,address by tests/fuzz/run-fuzz.sh; replay-main.c runs
 * it over the seed corpus without libFuzzer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	struct hib_policy_rule rule = {};
	unsigned int i;
	size_t m;
	int r;

	if (!errs)
		return 0;
	r = hib_policy_parse("fuzz.policy", "fuzz", (const char *)data, size, &rule, errs);
	if (r == 0) {
		if (errs->count || !rule.name || rule.n_matches == 0 ||
		    rule.n_matches > HIB_POLICY_MATCH_MAX || rule.order < HIB_POLICY_ORDER_MIN ||
		    rule.order > HIB_POLICY_ORDER_MAX)
			abort();
		for (m = 0; m < rule.n_matches; m++)
			if (!rule.matches[m].pattern || !rule.matches[m].pattern[0] ||
			    strlen(rule.matches[m].pattern) > HIB_POLICY_LINE_MAX)
				abort();
	} else if (r == -EBADMSG || r == -EFBIG) {
		if (errs->count == 0)
			abort();
		for (i = 0; i < hib_policy_errors_shown(errs); i++)
			if (errs->e[i].line == 0 || errs->e[i].column == 0 ||
			    errs->e[i].column > HIB_POLICY_LINE_MAX + 1 || !errs->e[i].msg[0])
				abort();
	} else if (r != -ENOMEM) {
		abort();
	}
	hib_policy_rule_done(&rule);
	free(errs);
	return 0;
}
