// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl/cmd-image.c: `image verify`
 * of encrypted images with --key-file / --passphrase-file and each refusal's message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "args.h"
#include "commands.h"
#include "image.h"

static char dir[] = "/tmp/test-cmd-image-XXXXXX";

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* An image of 9 pages (encrypted with @key unless NULL) in dir/@name. */
static void write_image(const char *name, const struct hib_image_key *key)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	struct hib_image_writer *w;
	struct hib_image_info id;
	struct hib_sink *s;
	uint8_t *raw, *out;
	uint64_t seq = 0;
	size_t len = 9 * (size_t)page, off, n;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	raw = calloc(1, len);
	out = malloc(hib_chunk_bound(4 * page));
	assert_non_null(raw);
	assert_non_null(out);
	memset(&id, 0, sizeof(id));
	id.page_size = page;
	id.chunk_size = 4 * page;
	id.codec = HIB_CODEC_LZ4;
	strcpy(id.kernel_release, "6.1.0-hib");
	assert_int_equal(hib_sink_open(path, HIB_SINK_WRITE, &s), 0);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	if (key)
		assert_int_equal(hib_image_writer_set_key(w, key), 0);
	assert_int_equal(hib_image_writer_begin(w, 9, 1), 0);
	for (off = 0; off < len; off += n) {
		struct hib_chunk c;

		n = len - off < id.chunk_size ? len - off : id.chunk_size;
		assert_int_equal(hib_chunk_compress(raw + off, n, out, hib_chunk_bound(4 * page),
						    &c), 0);
		c.seq = seq++;
		assert_int_equal(hib_image_writer_put(w, &c, out), 0);
	}
	assert_int_equal(hib_image_writer_finish(w), 0);
	hib_image_writer_free(w);
	hib_sink_close(s);
	free(raw);
	free(out);
}

/* Run `image verify dir/@image @opt dir/@keyfile`; expect @code and @msg on stderr. */
static void verify(const char *image, const char *opt, const char *keyfile, int code,
		   const char *msg)
{
	char path[256], kpath[256], *out_buf = NULL, *err_buf = NULL;
	char *argv[] = { "hibernatectl", "image", "verify", path, (char *)opt, kpath, NULL };
	struct hibctl_ctx ctx = { .no_mlock = true };
	struct hibctl_args args;
	size_t out_len, err_len;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, image);
	snprintf(kpath, sizeof(kpath), "%s/%s", dir, keyfile ? keyfile : "");
	ctx.out = open_memstream(&out_buf, &out_len);
	ctx.err = open_memstream(&err_buf, &err_len);
	assert_int_equal(hibctl_parse_args(opt ? 6 : 4, argv, &args), 0);
	ret = hibctl_cmd_image(&ctx, &args);
	hibctl_args_done(&args);
	fclose(ctx.out);
	fclose(ctx.err);
	if (ret != code || !strstr(err_buf, msg))
		fail_msg("image verify %s %s %s: exit %d (expected %d), stderr '%s' (expected "
			 "'%s'), stdout '%s'", image, opt ? opt : "", keyfile ? keyfile : "", ret,
			 code, err_buf, msg, out_buf);
	free(out_buf);
	free(err_buf);
}

/* --json: JSON on stdout, also when there is no image to describe; nothing on stderr. */
static void test_json(void **state)
{
	char path[256], *out_buf = NULL, *err_buf = NULL;
	char *argv[] = { "hibernatectl", "image", "info", "--json", path, NULL };
	struct hibctl_ctx ctx = { .no_mlock = true };
	struct hibctl_args args;
	size_t out_len, err_len;
	struct json_object *o;

	(void)state;
	snprintf(path, sizeof(path), "%s/nothing-here", dir);
	ctx.out = open_memstream(&out_buf, &out_len);
	ctx.err = open_memstream(&err_buf, &err_len);
	assert_int_equal(hibctl_parse_args(5, argv, &args), 0);
	assert_int_equal(hibctl_cmd_image(&ctx, &args), HIB_EXIT_NOIMAGE);
	hibctl_args_done(&args);
	fclose(ctx.out);
	fclose(ctx.err);
	assert_string_equal(err_buf, "");
	o = json_tokener_parse(out_buf);
	assert_non_null(o);
	assert_false(json_object_get_boolean(json_object_object_get(o, "valid")));
	assert_non_null(strstr(json_object_get_string(json_object_object_get(o, "error")),
			       "no hibernation image on"));
	json_object_put(o);
	free(out_buf);
	free(err_buf);
}

static void test_verify_encrypted(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "an example key of 32 bytes_____";
	struct hib_image_key *key = NULL;
	char cmd[300];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);
	write_file("key", kb, sizeof(kb));
	write_file("other", "0000000000000000000000000000000000000000000000000000000000000000\n",
		   65);
	write_file("pass", "sesame\n", 7);
	write_file("junk", "short", 5);
	write_image("enc", key);
	write_image("plain", NULL);

	verify("enc", "--key-file", "key", HIB_EXIT_OK, "");
	/* A key others may read is no key (as ssh does with its private keys). */
	snprintf(cmd, sizeof(cmd), "%s/key", dir);
	assert_int_equal(chmod(cmd, 0644), 0);
	verify("enc", "--key-file", "key", HIB_EXIT_ERROR, "refused: a key file must be owned "
	       "by root and not accessible by group or others (chmod 600");
	assert_int_equal(chmod(cmd, 0640), 0);
	verify("enc", "--key-file", "key", HIB_EXIT_ERROR, "refused: a key file");
	assert_int_equal(chmod(cmd, 0600), 0);
	snprintf(cmd, sizeof(cmd), "%s/pass", dir);
	assert_int_equal(chmod(cmd, 0604), 0);
	verify("enc", "--passphrase-file", "pass", HIB_EXIT_ERROR, "refused: a passphrase file");
	assert_int_equal(chmod(cmd, 0600), 0);
	verify("enc", "--key-file", "other", HIB_EXIT_BADIMAGE, "wrong key: it does not match");
	verify("enc", "--passphrase-file", "pass", HIB_EXIT_BADIMAGE,
	       "encrypted with a key file, a passphrase was given");
	verify("enc", NULL, NULL, HIB_EXIT_BADIMAGE,
	       "image is encrypted and no key was given (--key-file or --passphrase-file)");
	verify("plain", "--key-file", "key", HIB_EXIT_BADIMAGE,
	       "not encrypted, and encryption is required");
	verify("enc", "--key-file", "junk", HIB_EXIT_ERROR,
	       "not a key: expected 32 raw bytes or 64 hex digits");
	verify("enc", "--key-file", "missing", HIB_EXIT_ERROR, "cannot read");

	/* The key from [image] in hibernate.conf; the command line overrides it. */
	snprintf(cmd, sizeof(cmd), "[image]\nkey-file = %s/key\n", dir);
	write_file("conf", cmd, strlen(cmd));
	snprintf(cmd, sizeof(cmd), "%s/conf", dir);
	setenv("HIBERNATE_CONF", cmd, 1);
	verify("enc", NULL, NULL, HIB_EXIT_OK, "");
	verify("plain", NULL, NULL, HIB_EXIT_BADIMAGE,
	       "not encrypted, and encryption is required");
	verify("enc", "--key-file", "other", HIB_EXIT_BADIMAGE, "wrong key: it does not match");
	snprintf(cmd, sizeof(cmd), "[image]\npassphrase-file = %s/pass\n", dir);
	write_file("conf", cmd, strlen(cmd));
	verify("enc", NULL, NULL, HIB_EXIT_BADIMAGE,
	       "encrypted with a key file, a passphrase was given");
	verify("enc", "--key-file", "key", HIB_EXIT_OK, "");
	snprintf(cmd, sizeof(cmd), "[image]\nkey-file = %s/missing\n", dir);
	write_file("conf", cmd, strlen(cmd));
	verify("enc", NULL, NULL, HIB_EXIT_ERROR, "cannot read");
	write_file("conf", "[image]\nkey-file = relative\n", 28);
	verify("enc", NULL, NULL, HIB_EXIT_ERROR,
	       "configuration refused: ");
	unsetenv("HIBERNATE_CONF");

	/* One byte of the first chunk's ciphertext changed. */
	snprintf(cmd, sizeof(cmd), "%s/enc", dir);
	{
		FILE *f = fopen(cmd, "r+");
		int c;

		assert_non_null(f);
		assert_int_equal(fseek(f, HIB_IMAGE_DATA_OFFSET + HIB_RECORD_SIZE + 2, SEEK_SET), 0);
		c = fgetc(f);
		assert_true(c >= 0);
		assert_int_equal(fseek(f, HIB_IMAGE_DATA_OFFSET + HIB_RECORD_SIZE + 2, SEEK_SET), 0);
		assert_int_equal(fputc(c ^ 0x20, f), c ^ 0x20);
		fclose(f);
	}
	verify("enc", "--key-file", "key", HIB_EXIT_BADIMAGE,
	       "chunk 0 at offset 8192: authentication failed");

	hib_image_key_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_encrypted),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
