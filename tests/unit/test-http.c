// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/http.c: the retry logic against a scripted fake transport, the configuration
 * from the environment, and (when nginx is installed) an encrypted image through the HTTP
 * sink against a WebDAV nginx this test starts on 127.0.0.1: published only by the MOVE,
 * read back with ranged GETs, deleted by the one-shot invalidation, nothing left behind by an
 * aborted upload; and over https with `ssl_verify_client on` (certificates made by openssl
 * at test time): refused without a client certificate or with an untrusted one, each with
 * its reason logged, a full round trip with the right one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "image.h"

/* ---- scripted transport ------------------------------------------------------------------ */

struct step {
	int err;
	long status;
};

struct script {
	const struct step *steps;
	size_t n;
	size_t next;
	unsigned int waits[16];
	size_t n_waits;
};

static int fake_send(void *ud, const struct hib_http_request *req, struct hib_http_response *resp)
{
	struct script *s = ud;
	const struct step *st;

	(void)req;
	if (s->next >= s->n)
		fail_msg("transport called %zu times, script has %zu steps", s->next + 1, s->n);
	st = &s->steps[s->next++];
	if (st->err)
		return st->err;
	resp->status = st->status;
	return 0;
}

static void fake_sleep(void *ud, unsigned int ms)
{
	struct script *s = ud;

	assert_true(s->n_waits < 16);
	s->waits[s->n_waits++] = ms;
}

static struct hib_http_config config(unsigned int retries, unsigned int backoff)
{
	struct hib_http_config c = { .retries = retries, .backoff_ms = backoff };

	return c;
}

/* Run @steps with @retries; expect @ret, @status, all steps used and these waits. */
static void run(const struct step *steps, size_t n, unsigned int retries, unsigned int backoff,
		int ret, long status, const unsigned int *waits, size_t n_waits)
{
	struct hib_http_request req = { .method = "GET", .url = "http://x/y" };
	struct hib_http_response resp = { .status = -1 };
	struct hib_http_config c = config(retries, backoff);
	struct script s = { .steps = steps, .n = n };
	unsigned int attempts = 0;
	size_t i;

	assert_int_equal(hib_http_do(&c, fake_send, &s, fake_sleep, &s, &req, &resp, &attempts),
			 ret);
	assert_int_equal(attempts, n);
	assert_int_equal(s.next, n);
	if (ret == 0)
		assert_int_equal(resp.status, status);
	else
		assert_int_equal(resp.status, -1);	/* untouched on failure */
	assert_int_equal(s.n_waits, n_waits);
	for (i = 0; i < n_waits; i++)
		assert_int_equal(s.waits[i], waits[i]);
}

static void test_retry_then_success(void **state)
{
	static const struct step steps[] = { { 0, 503 }, { -ECONNRESET, 0 }, { 0, 206 } };
	static const unsigned int waits[] = { 200, 400 };

	(void)state;
	run(steps, 3, 3, 200, 0, 206, waits, 2);
}

static void test_retry_exhausted(void **state)
{
	static const struct step refused[] = {
		{ -ECONNREFUSED, 0 }, { -ECONNREFUSED, 0 }, { -ECONNREFUSED, 0 },
		{ -ECONNREFUSED, 0 },
	};
	static const struct step busy[] = { { 0, 502 }, { 0, 503 }, { 0, 504 } };
	static const unsigned int waits[] = { 200, 400, 800 };

	(void)state;
	run(refused, 4, 3, 200, -ECONNREFUSED, 0, waits, 3);
	/* The last answer is returned: the caller maps it (hib_http_status_errno()). */
	run(busy, 3, 2, 200, 0, 504, waits, 2);
}

static void test_no_retry(void **state)
{
	static const struct step not_found[] = { { 0, 404 } };
	static const struct step denied[] = { { 0, 403 } };
	static const struct step tls[] = { { -EPROTO, 0 } };
	static const struct step ok[] = { { 0, 201 } };
	static const struct step once[] = { { -ETIMEDOUT, 0 } };

	(void)state;
	run(not_found, 1, 3, 200, 0, 404, NULL, 0);
	run(denied, 1, 3, 200, 0, 403, NULL, 0);
	run(tls, 1, 3, 200, -EPROTO, 0, NULL, 0);	/* a bad certificate does not improve */
	run(ok, 1, 3, 200, 0, 201, NULL, 0);
	run(once, 1, 0, 200, -ETIMEDOUT, 0, NULL, 0);	/* retries = 0 */
}

static void test_backoff_capped(void **state)
{
	static const struct step steps[] = {
		{ 0, 429 }, { 0, 408 }, { 0, 500 }, { 0, 503 }, { 0, 204 },
	};
	static const unsigned int waits[] = { 3000, 6000, 8000, 8000 };

	(void)state;
	run(steps, 5, 10, 3000, 0, 204, waits, 4);
}

static void test_transient_and_errno(void **state)
{
	(void)state;
	assert_true(hib_http_transient(-ECONNRESET, 0));
	assert_true(hib_http_transient(-ETIMEDOUT, 0));
	assert_false(hib_http_transient(-EPROTO, 0));
	assert_false(hib_http_transient(-EINVAL, 0));
	assert_true(hib_http_transient(0, 503));
	assert_false(hib_http_transient(0, 200));
	assert_false(hib_http_transient(0, 409));
	assert_int_equal(hib_http_status_errno(200), 0);
	assert_int_equal(hib_http_status_errno(201), 0);
	assert_int_equal(hib_http_status_errno(404), -ENOENT);
	assert_int_equal(hib_http_status_errno(401), -EACCES);
	assert_int_equal(hib_http_status_errno(507), -ENOSPC);
	assert_int_equal(hib_http_status_errno(409), -EIO);
	assert_true(hib_http_is_url("http://h/x"));
	assert_true(hib_http_is_url("https://h/x"));
	assert_false(hib_http_is_url("/dev/vdb"));
	assert_false(hib_http_is_url("ftp://h/x"));
}

static void test_config_env(void **state)
{
	struct hib_http_config c;
	char path[] = "/tmp/test-http-token-XXXXXX";
	int fd;

	(void)state;
	unsetenv("HIBERNATE_HTTP_TOKEN");
	unsetenv("HIBERNATE_HTTP_TOKEN_FILE");
	unsetenv("HIBERNATE_HTTP_RETRIES");
	unsetenv("HIBERNATE_HTTP_TIMEOUT_MS");
	assert_int_equal(hib_http_config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "");
	assert_int_equal(c.retries, 3);
	assert_true(c.timeout_ms > 0 && c.connect_timeout_ms > 0 && c.stall_timeout_s > 0);

	setenv("HIBERNATE_HTTP_TOKEN", "abc.def", 1);
	setenv("HIBERNATE_HTTP_RETRIES", "5", 1);
	assert_int_equal(hib_http_config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "abc.def");
	assert_int_equal(c.retries, 5);
	setenv("HIBERNATE_HTTP_TOKEN", "a\r\nX-Evil: 1", 1);
	assert_int_equal(hib_http_config_from_env(&c), -EINVAL);
	unsetenv("HIBERNATE_HTTP_TOKEN");
	setenv("HIBERNATE_HTTP_RETRIES", "-1", 1);
	assert_int_equal(hib_http_config_from_env(&c), -EINVAL);
	unsetenv("HIBERNATE_HTTP_RETRIES");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok123\nrest\n", 12), 12);
	close(fd);
	setenv("HIBERNATE_HTTP_TOKEN_FILE", path, 1);
	assert_int_equal(hib_http_config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "tok123");
	unlink(path);
	assert_int_equal(hib_http_config_from_env(&c), -ENOENT);
	unsetenv("HIBERNATE_HTTP_TOKEN_FILE");
}

/* ---- against nginx (skipped without it) -------------------------------------------------- */

static char dir[] = "/tmp/test-http-XXXXXX";
static pid_t nginx_pid = -1;
static int port;

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static bool port_open(int p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* CA, server (127.0.0.1) and client certificates for the TLS test, made by openssl now. */
static bool make_certs(void)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
		 "for ca in ca rogue; do openssl req -x509 $k -keyout $ca.key -out $ca.pem "
		 "-days 2 -subj /CN=hib-test-$ca 2>/dev/null; done\n"
		 "printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext\n"
		 "printf 'extendedKeyUsage=clientAuth\\n' > cli.ext\n"
		 "sign() { openssl req $k -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null; "
		 "openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial "
		 "-out $1.pem -days 2 -extfile $3 2>/dev/null; }\n"
		 "sign srv ca srv.ext; sign client ca cli.ext; sign stranger rogue cli.ext\n", dir);
	return system(cmd) == 0;
}

static bool start_nginx_opt(bool tls)
{
	char conf[512], www[300], ssl[1024] = "";
	FILE *f;
	int i;

	if (access("/usr/sbin/nginx", X_OK) != 0 || geteuid() != 0)
		return false;
	if (tls && access("/usr/bin/openssl", X_OK) != 0)
		return false;
	strcpy(dir, "/tmp/test-http-XXXXXX");
	assert_non_null(mkdtemp(dir));
	if (tls) {
		if (!make_certs())
			return false;
		snprintf(ssl, sizeof(ssl), " ssl;\n  ssl_certificate %s/srv.pem;\n"
			 "  ssl_certificate_key %s/srv.key;\n  ssl_client_certificate %s/ca.pem;\n"
			 "  ssl_verify_client on", dir, dir, dir);
	}
	snprintf(www, sizeof(www), "%s/www", dir);
	assert_int_equal(mkdir(www, 0700), 0);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	port = free_port();
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "daemon off;\nuser root;\nworker_processes 1;\npid %s/nginx.pid;\n"
		"error_log %s/error.log info;\nevents {}\nhttp {\n access_log off;\n"
		" client_body_temp_path %s/body;\n"
		" server {\n  listen 127.0.0.1:%d%s;\n  root %s;\n  client_max_body_size 0;\n"
		"  location / { dav_methods PUT DELETE MOVE; create_full_put_path on; }\n }\n}\n",
		dir, dir, dir, port, ssl, www);
	fclose(f);
	nginx_pid = fork();
	assert_true(nginx_pid >= 0);
	if (nginx_pid == 0) {
		execl("/usr/sbin/nginx", "nginx", "-c", conf, "-e", "/dev/null", "-p", dir,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !port_open(port); i++)
		usleep(50000);
	return port_open(port);
}

static bool start_nginx(void)
{
	return start_nginx_opt(false);
}

static void stop_nginx(void)
{
	char cmd[300];

	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM);
		waitpid(nginx_pid, NULL, 0);
		nginx_pid = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static bool exists(const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/www/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Write an encrypted image of @pages pages (noise, so it does not compress) to @url. */
static int write_image_cfg(const char *url, const struct hib_http_config *cfg,
			   const struct hib_image_key *key, uint64_t pages, bool finish,
			   bool invalidate, uint8_t *raw);

static int write_image(const char *url, const struct hib_image_key *key, uint64_t pages,
		       bool finish, bool invalidate, uint8_t *raw)
{
	return write_image_cfg(url, NULL, key, pages, finish, invalidate, raw);
}

static int write_image_cfg(const char *url, const struct hib_http_config *cfg,
			   const struct hib_image_key *key, uint64_t pages, bool finish,
			   bool invalidate, uint8_t *raw)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	struct hib_http_config c;
	struct hib_image_writer *w;
	struct hib_image_info id;
	struct hib_sink *s;
	uint8_t *out;
	uint64_t seq = 0;
	size_t off, n, len = pages * page;
	int r;

	memset(&id, 0, sizeof(id));
	id.page_size = page;
	id.chunk_size = 64 * page;
	id.codec = HIB_CODEC_LZ4;
	strcpy(id.kernel_release, "6.1.0-hib");
	if (cfg)
		c = *cfg;
	else
		assert_int_equal(hib_http_config_from_env(&c), 0);
	c.retries = 1;
	c.backoff_ms = 10;
	r = hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s);
	if (r < 0)
		return r;
	out = malloc(hib_chunk_bound(id.chunk_size));
	assert_non_null(out);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_set_key(w, key), 0);
	r = hib_image_writer_begin(w, pages, 1);
	for (off = 0; r >= 0 && off < len; off += n) {
		struct hib_chunk ch;

		n = len - off < id.chunk_size ? len - off : id.chunk_size;
		assert_int_equal(hib_chunk_compress(raw + off, n, out,
						    hib_chunk_bound(id.chunk_size), &ch), 0);
		ch.seq = seq++;
		r = hib_image_writer_put(w, &ch, out);
	}
	if (r >= 0 && finish)
		r = hib_image_writer_finish(w);
	if (r >= 0 && invalidate) {
		assert_true(exists("img/host1"));
		r = hib_image_invalidate(s);
	}
	hib_image_writer_free(w);
	hib_sink_close(s);
	free(out);
	return r;
}

static void test_nginx_round_trip(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "key for the http round trip....";
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = 3000;	/* ~12 MiB: several read windows */
	struct hib_image_key *key = NULL;
	struct hib_image_reader *r;
	struct hib_http_config c;
	struct hib_sink *s;
	char url[200], why[HIB_IMAGE_WHY_MAX];
	uint8_t *raw, *buf, *back;
	struct hib_chunk ch;
	size_t off = 0, i;
	uint32_t x = 7;
	int e;

	(void)state;
	if (!start_nginx()) {
		stop_nginx();
		skip();
	}
	raw = malloc(pages * page);
	back = malloc(64 * page);
	buf = malloc(hib_chunk_bound(64 * page));
	assert_non_null(raw);
	assert_non_null(back);
	assert_non_null(buf);
	for (i = 0; i < pages * page; i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (uint8_t)(x >> 16);
	}
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);

	/* An upload that stops before the FINAL record: nothing under either name. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/img/host1", port);
	assert_int_equal(write_image(url, key, pages, false, false, raw), 0);
	assert_false(exists("img/host1"));
	assert_false(exists("img/host1.part"));

	/* Published, then invalidated by the writer (power-off failed): deleted. */
	assert_int_equal(write_image(url, key, pages, true, true, raw), 0);
	assert_false(exists("img/host1"));
	assert_false(exists("img/host1.part"));

	/* A complete one: published by the MOVE. */
	assert_int_equal(write_image(url, key, pages, true, false, raw), 0);
	assert_true(exists("img/host1"));
	assert_false(exists("img/host1.part"));

	/* Read it back through ranged GETs, then invalidate: deleted. */
	assert_int_equal(hib_http_config_from_env(&c), 0);
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_UPDATE, &c, &s), 0);
	e = hib_image_reader_open_key(s, key, &r, why, NULL);
	if (e)
		fail_msg("open: %d %s", e, why);
	while ((e = hib_image_reader_next(r, buf, hib_chunk_bound(64 * page), &ch)) > 0) {
		assert_int_equal(hib_chunk_decompress(&ch, buf, back, 64 * page), 0);
		assert_memory_equal(back, raw + off, ch.raw_len);
		off += ch.raw_len;
	}
	if (e)
		fail_msg("stream: %d %s", e, hib_image_reader_why(r, NULL));
	assert_int_equal(off, pages * page);
	hib_image_reader_free(r);
	assert_int_equal(hib_image_invalidate(s), 0);
	hib_sink_close(s);
	assert_false(exists("img/host1"));

	/* Gone: reading says so. */
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &c, &s), -ENOENT);

	/* The server stopped: the upload fails, nothing is published. */
	stop_nginx();
	c.retries = 1;
	c.backoff_ms = 10;
	e = hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s);
	assert_int_equal(e, -ECONNREFUSED);

	hib_image_key_free(key);
	free(raw);
	free(back);
	free(buf);
}

/* What the library logged (the refusals must say why). */
static char logged[4096];

static void log_capture(int level, const char *fmt, va_list ap)
{
	size_t n = strlen(logged);

	(void)level;
	if (n + 2 < sizeof(logged)) {
		vsnprintf(logged + n, sizeof(logged) - n - 1, fmt, ap);
		strcat(logged, "\n");
	}
}

/* https with ssl_verify_client on: refused without a trusted client certificate. */
static void test_nginx_client_cert(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "key for the client cert test..";
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = 300, i;
	struct hib_image_key *key = NULL;
	struct hib_image_reader *r;
	struct hib_http_config c, base;
	struct hib_sink *s;
	char url[200], why[HIB_IMAGE_WHY_MAX], ca[300], cert[300], ckey[300], scert[300],
	     skey[300];
	uint8_t *raw;
	uint32_t x = 9;

	(void)state;
	if (!start_nginx_opt(true)) {
		stop_nginx();
		skip();
	}
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/client.pem", dir);
	snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
	snprintf(scert, sizeof(scert), "%s/stranger.pem", dir);
	snprintf(skey, sizeof(skey), "%s/stranger.key", dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/img/host1", port);
	raw = malloc(pages * page);
	assert_non_null(raw);
	for (i = 0; i < pages * page; i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (uint8_t)(x >> 16);
	}
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);
	assert_int_equal(hib_http_config_from_env(&base), 0);
	base.retries = 0;
	base.ca_file = ca;
	hib_set_log_fn(log_capture);

	/* Without a client certificate: nginx answers 400, the sink says -EACCES and why. */
	logged[0] = 0;
	c = base;
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s), -EACCES);
	assert_non_null(strstr(logged, "refused the request (HTTP 400)"));
	assert_non_null(strstr(logged, "require a client certificate"));
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &c, &s), -EACCES);

	/* A certificate from a CA the server does not trust: refused too. */
	logged[0] = 0;
	c.client_cert = scert;
	c.client_key = skey;
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s), -EACCES);
	assert_non_null(strstr(logged, "signed by a CA the server trusts"));

	/* A missing certificate file: a TLS error, named. */
	logged[0] = 0;
	c.client_cert = "/nonexistent/client.pem";
	c.client_key = NULL;
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s), -EPROTO);
	assert_non_null(strstr(logged, "http: HEAD"));

	/* The server's certificate unknown to us (no ca_file): refused by our side. */
	logged[0] = 0;
	c = base;
	c.ca_file = NULL;
	c.client_cert = cert;
	c.client_key = ckey;
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s), -EPROTO);
	assert_non_null(strstr(logged, "certificate"));

	/* The right certificate: a full upload, read back, invalidated (deleted). */
	c.ca_file = ca;
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), 0);
	assert_true(exists("img/host1"));
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_UPDATE, &c, &s), 0);
	if (hib_image_reader_open_key(s, key, &r, why, NULL))
		fail_msg("open: %s", why);
	assert_int_equal(hib_image_reader_final(r) != NULL, 1);
	hib_image_reader_free(r);
	assert_int_equal(hib_image_invalidate(s), 0);
	hib_sink_close(s);
	assert_false(exists("img/host1"));

	hib_set_log_fn(NULL);
	hib_image_key_free(key);
	free(raw);
	stop_nginx();
}

static int teardown_nginx(void **state)
{
	(void)state;
	if (nginx_pid > 0)
		stop_nginx();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_then_success),
		cmocka_unit_test(test_retry_exhausted),
		cmocka_unit_test(test_no_retry),
		cmocka_unit_test(test_backoff_capped),
		cmocka_unit_test(test_transient_and_errno),
		cmocka_unit_test(test_config_env),
		cmocka_unit_test_teardown(test_nginx_round_trip, teardown_nginx),
		cmocka_unit_test_teardown(test_nginx_client_cert, teardown_nginx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
