// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl/cmd-image.c: the HIBERNATE_TEST_BUILD_ID test hook's parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "image.h"

static void test_build_id_hook(void **state)
{
	struct hib_image_info id;
	char big[2 * HIB_BUILD_ID_MAX + 3];

	memset(&id, 0xaa, sizeof(id));
	id.build_id_len = 20;
	/* Unset: untouched. */
	assert_int_equal(hibctl_test_build_id(NULL, &id), 0);
	assert_int_equal(id.build_id_len, 20);

	assert_int_equal(hibctl_test_build_id("deadBEEF01", &id), 1);
	assert_int_equal(id.build_id_len, 5);
	assert_memory_equal(id.build_id, "\xde\xad\xbe\xef\x01", 5);
	assert_int_equal(id.build_id[5], 0);

	/* Malformed: refused, untouched. */
	assert_int_equal(hibctl_test_build_id("", &id), -EINVAL);
	assert_int_equal(hibctl_test_build_id("abc", &id), -EINVAL);
	assert_int_equal(hibctl_test_build_id("zz", &id), -EINVAL);
	assert_int_equal(hibctl_test_build_id("0x12", &id), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(hibctl_test_build_id(big, &id), -EINVAL);
	big[2 * HIB_BUILD_ID_MAX] = 0;
	assert_int_equal(hibctl_test_build_id(big, &id), 1);
	assert_int_equal(id.build_id_len, HIB_BUILD_ID_MAX);
	assert_int_equal(id.build_id[HIB_BUILD_ID_MAX - 1], 0xaa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
