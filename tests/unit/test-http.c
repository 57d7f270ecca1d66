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
#include <limits.h>
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

#include "conf.h"
#include "hibernation.h"
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

/* The environment through the one place it is read: hib_conf_resolve(), then the HTTP
 * settings of the resolved configuration.  (No file: HIBERNATE_CONF unset, default path.) */
static int config_from_env(struct hib_http_config *c)
{
	static struct hib_conf conf;
	char why[512];
	int r;

	unsetenv("HIBERNATE_CONF");
	r = hib_conf_resolve("/dev/null", NULL, &conf, NULL);
	if (r < 0)
		return r;
	r = hib_conf_http_config(&conf, c, why, sizeof(why));
	if (r < 0 && strstr(why, "No such file"))
		r = -ENOENT;
	return r;
}

/* What reaches logs: no query string (a presigned signature), no user:password@. */
static void test_url_shown(void **state)
{
	char buf[256];

	(void)state;
	hib_url_shown("https://store/img/h1?X-Amz-Signature=abc&X-Amz-Credential=k", buf,
		      sizeof(buf));
	assert_string_equal(buf, "https://store/img/h1?...");
	hib_url_shown("http://user:secret@store:8080/img#frag", buf, sizeof(buf));
	assert_string_equal(buf, "http://store:8080/img?...");
	hib_url_shown("s3+https://host/bucket/key", buf, sizeof(buf));
	assert_string_equal(buf, "s3+https://host/bucket/key");
	hib_url_shown("/dev/vdb", buf, sizeof(buf));
	assert_string_equal(buf, "/dev/vdb");
	hib_url_shown("http://h/x?q", buf, 12);
	assert_int_equal(strlen(buf), 11);
}

/* A bearer token is not sent over plain http:// unless the configuration says so. */
static void test_plain_http_token(void **state)
{
	static struct hib_conf conf;
	struct hib_sink *s = NULL;
	char why[512] = "";

	(void)state;
	memset(&conf, 0, sizeof(conf));
	strcpy(conf.env_http_token, "secret-token");
	assert_int_equal(hib_sink_open_conf(&conf, "http://127.0.0.1:9/img", HIB_SINK_READ, &s,
					    why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "would cross the network in the clear"));
	assert_null(s);
	/* Allowed: the sink is tried (nothing listens on port 9). */
	conf.http_plain_token = true;
	why[0] = 0;
	assert_int_not_equal(hib_sink_open_conf(&conf, "http://127.0.0.1:9/img", HIB_SINK_READ,
						&s, why, sizeof(why)), 0);
	assert_null(strstr(why, "in the clear"));
	/* https:// is fine without the setting. */
	conf.http_plain_token = false;
	why[0] = 0;
	assert_int_not_equal(hib_sink_open_conf(&conf, "https://127.0.0.1:9/img", HIB_SINK_READ,
						&s, why, sizeof(why)), 0);
	assert_null(strstr(why, "in the clear"));
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
	assert_int_equal(config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "");
	assert_int_equal(c.retries, 3);
	assert_true(c.timeout_ms > 0 && c.connect_timeout_ms > 0 && c.stall_timeout_s > 0);

	setenv("HIBERNATE_HTTP_TOKEN", "abc.def", 1);
	setenv("HIBERNATE_HTTP_RETRIES", "5", 1);
	assert_int_equal(config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "abc.def");
	assert_int_equal(c.retries, 5);
	setenv("HIBERNATE_HTTP_TOKEN", "a\r\nX-Evil: 1", 1);
	assert_int_equal(config_from_env(&c), -EINVAL);
	unsetenv("HIBERNATE_HTTP_TOKEN");
	setenv("HIBERNATE_HTTP_RETRIES", "-1", 1);
	assert_int_equal(config_from_env(&c), -EINVAL);
	unsetenv("HIBERNATE_HTTP_RETRIES");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok123\nrest\n", 12), 12);
	close(fd);
	setenv("HIBERNATE_HTTP_TOKEN_FILE", path, 1);
	assert_int_equal(config_from_env(&c), 0);
	assert_string_equal(c.bearer_token, "tok123");
	/* A token others may read is refused (as ssh does with keys). */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(hib_http_read_token(path, c.bearer_token), -EPERM);
	assert_int_equal(config_from_env(&c), -EINVAL);
	assert_int_equal(chmod(path, 0600), 0);
	unlink(path);
	assert_int_equal(config_from_env(&c), -ENOENT);
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
		hib_http_config_defaults(&c);
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

static uint8_t *noise(size_t len, uint32_t x)
{
	uint8_t *raw = malloc(len);
	size_t i;

	assert_non_null(raw);
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (uint8_t)(x >> 16);
	}
	return raw;
}

/* Read the image at @url back through @c and compare it with @raw (@len bytes). */
static void read_back(const char *url, const struct hib_http_config *c,
		      const struct hib_image_key *key, const uint8_t *raw, size_t len,
		      bool invalidate)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	struct hib_image_reader *r;
	char why[HIB_IMAGE_WHY_MAX];
	struct hib_http_config cc = *c;
	uint8_t *buf, *back;
	struct hib_sink *s;
	struct hib_chunk ch;
	size_t off = 0;
	int e;

	back = malloc(64 * page);
	buf = malloc(hib_chunk_bound(64 * page));
	assert_non_null(back);
	assert_non_null(buf);
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_UPDATE, &cc, &s), 0);
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
	assert_int_equal(off, len);
	hib_image_reader_free(r);
	if (invalidate)
		assert_int_equal(hib_image_invalidate(s), 0);
	hib_sink_close(s);
	free(back);
	free(buf);
}

static void test_nginx_round_trip(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "key for the http round trip....";
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = 3000;	/* ~12 MiB: several read windows */
	struct hib_image_key *key = NULL;
	struct hib_http_config c;
	struct hib_sink *s;
	char url[200];
	uint8_t *raw;
	int e;

	(void)state;
	if (!start_nginx()) {
		stop_nginx();
		skip();
	}
	raw = noise(pages * page, 7);
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
	hib_http_config_defaults(&c);
	read_back(url, &c, key, raw, pages * page, true);
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
	uint64_t pages = 300;
	struct hib_image_key *key = NULL;
	struct hib_image_reader *r;
	struct hib_http_config c, base;
	struct hib_sink *s;
	char url[200], why[HIB_IMAGE_WHY_MAX], ca[300], cert[300], ckey[300], scert[300],
	     skey[300];
	uint8_t *raw;

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
	raw = noise(pages * page, 9);
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);
	hib_http_config_defaults(&base);
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

/* ---- S3: a scripted fake store, then s3rver (skipped without it) --------------------------- */

#define FAKE_PARTS 16

/*
 * Just enough of S3 for the sink: one object ("http://s3.test/b/img"), one multipart upload
 * at a time, parts checked at completion as S3 does (all but the last >= 5 MiB, the XML
 * naming each part with its ETag).  Failures are injected per request kind.
 */
struct fake_s3 {
	uint8_t *obj;
	size_t obj_len;
	bool active;			/* an upload in progress */
	uint8_t *part[FAKE_PARTS + 1];
	size_t part_len[FAKE_PARTS + 1];
	unsigned int n_parts;
	/* counts */
	unsigned int initiates, puts, completes, aborts, deletes, gets;
	/* injected failures */
	unsigned int fail_part;		/* this part number answers fail_status ... */
	unsigned int fail_times;	/* ... this many times (UINT_MAX: always) */
	long fail_status;
	bool complete_error;		/* CompleteMultipartUpload: 200 with an <Error> body */
	bool complete_lost;		/* ... done, but the answer never arrives */
	long initiate_status;		/* 0: 200 */
};

static void fake_answer(const struct hib_http_request *req, struct hib_http_response *resp,
			const char *body)
{
	size_t n = strlen(body);

	if (req->buf && !req->range_len) {
		n = n < req->buf_cap ? n : req->buf_cap;
		memcpy(req->buf, body, n);
		resp->got = n;
	}
}

static void fake_drop_parts(struct fake_s3 *f)
{
	unsigned int i;

	for (i = 0; i <= FAKE_PARTS; i++) {
		free(f->part[i]);
		f->part[i] = NULL;
		f->part_len[i] = 0;
	}
	f->n_parts = 0;
	f->active = false;
}

static int fake_s3_send(void *ud, const struct hib_http_request *req,
			struct hib_http_response *resp)
{
	struct fake_s3 *f = ud;
	const char *q = strchr(req->url, '?');
	unsigned int n, i;
	char want[128];

	assert_true(strncmp(req->url, "http://s3.test/b/img", 20) == 0);
	assert_true(req->url[20] == 0 || req->url[20] == '?');
	if (!strcmp(req->method, "HEAD")) {
		resp->status = f->obj ? 200 : 404;
		resp->length = f->obj_len;
	} else if (!strcmp(req->method, "GET")) {
		f->gets++;
		assert_non_null(f->obj);
		assert_true(req->range_off + req->range_len <= f->obj_len);
		memcpy(req->buf, f->obj + req->range_off, req->range_len);
		resp->got = req->range_len;
		resp->status = 206;
	} else if (!strcmp(req->method, "POST") && q && !strcmp(q, "?uploads=")) {
		f->initiates++;
		resp->status = f->initiate_status ?: 200;
		if (resp->status == 200) {
			assert_false(f->active);
			f->active = true;
			fake_answer(req, resp, "<?xml version=\"1.0\"?><InitiateMultipartUploadResult>"
				    "<Bucket>b</Bucket><Key>img</Key><UploadId>up-1</UploadId>"
				    "</InitiateMultipartUploadResult>");
		} else {
			fake_answer(req, resp, "<Error><Code>AccessDenied</Code><Message>Access "
				    "Denied</Message></Error>");
		}
	} else if (!strcmp(req->method, "PUT")) {
		assert_int_equal(sscanf(q, "?partNumber=%u&uploadId=up-1", &n), 1);
		assert_true(f->active);
		assert_int_equal(n, f->n_parts + 1);	/* in order, no gaps */
		assert_true(n <= FAKE_PARTS);
		f->puts++;
		if (n == f->fail_part && f->fail_times) {
			if (f->fail_times != UINT_MAX)
				f->fail_times--;
			resp->status = f->fail_status;
			return 0;
		}
		f->part[n] = malloc(req->body_len);
		assert_non_null(f->part[n]);
		memcpy(f->part[n], req->body, req->body_len);
		f->part_len[n] = req->body_len;
		f->n_parts = n;
		snprintf(resp->etag, sizeof(resp->etag), "\"etag-%u\"", n);
		resp->status = 200;
	} else if (!strcmp(req->method, "POST") && q && !strcmp(q, "?uploadId=up-1")) {
		char *xml = strndup(req->body, req->body_len);
		size_t len = 0;

		f->completes++;
		resp->status = 200;
		if (!f->active) {	/* completed by an attempt whose answer was lost */
			resp->status = 404;
			fake_answer(req, resp, "<Error><Code>NoSuchUpload</Code></Error>");
			free(xml);
			return 0;
		}
		if (f->complete_error) {
			fake_answer(req, resp, "<Error><Code>InternalError</Code><Message>We "
				    "encountered an internal error</Message></Error>");
			free(xml);
			return 0;
		}
		for (i = 1; i <= f->n_parts; i++) {
			snprintf(want, sizeof(want), "<Part><PartNumber>%u</PartNumber>"
				 "<ETag>\"etag-%u\"</ETag></Part>", i, i);
			assert_non_null(strstr(xml, want));
			if (i < f->n_parts)
				assert_true(f->part_len[i] >= HIB_S3_PART_MIN);
			len += f->part_len[i];
		}
		free(xml);
		free(f->obj);
		f->obj = malloc(len);
		assert_non_null(f->obj);
		f->obj_len = 0;
		for (i = 1; i <= f->n_parts; i++) {
			memcpy(f->obj + f->obj_len, f->part[i], f->part_len[i]);
			f->obj_len += f->part_len[i];
		}
		fake_drop_parts(f);
		if (f->complete_lost)
			return -ECONNRESET;
		fake_answer(req, resp, "<CompleteMultipartUploadResult><Key>img</Key>"
			    "</CompleteMultipartUploadResult>");
	} else if (!strcmp(req->method, "DELETE") && q) {
		assert_string_equal(q, "?uploadId=up-1");
		f->aborts++;
		fake_drop_parts(f);
		resp->status = 204;
	} else if (!strcmp(req->method, "DELETE")) {
		f->deletes++;
		resp->status = f->obj ? 204 : 404;
		free(f->obj);
		f->obj = NULL;
		f->obj_len = 0;
	} else {
		fail_msg("fake S3: unexpected %s %s", req->method, req->url);
	}
	return 0;
}

static void fake_s3_free(struct fake_s3 *f)
{
	fake_drop_parts(f);
	free(f->obj);
}

static void test_s3_parse(void **state)
{
	static const struct {
		const char *xml;
		int ret;
		const char *id;
	} t[] = {
		{ "<a><UploadId>abc-DEF_1.2~3</UploadId></a>", 0, "abc-DEF_1.2~3" },
		{ "<UploadId>x</UploadId>", 0, "x" },
		{ "<a><UploadId></UploadId></a>", -EPROTO, NULL },
		{ "<a><UploadId>a b</UploadId></a>", -EPROTO, NULL },	/* needs escaping */
		{ "<a><UploadId>a&amp;b</UploadId></a>", -EPROTO, NULL },
		{ "<a><UploadId>abc", -EPROTO, NULL },			/* cut */
		{ "<Error><Code>AccessDenied</Code></Error>", -EPROTO, NULL },
		{ "", -EPROTO, NULL },
	};
	char id[HIB_S3_UPLOAD_ID_MAX], small[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strcpy(id, "untouched");
		assert_int_equal(hib_s3_parse_upload_id(t[i].xml, strlen(t[i].xml), id,
							sizeof(id)), t[i].ret);
		assert_string_equal(id, t[i].id ? t[i].id : "untouched");
	}
	/* Longer than the room for it. */
	assert_int_equal(hib_s3_parse_upload_id("<UploadId>abcd</UploadId>", 25, small,
						sizeof(small)), -EPROTO);
	/* The length bounds the search: a tag past it is not seen. */
	assert_int_equal(hib_s3_parse_upload_id("<UploadId>abcd</UploadId>", 20, id,
						sizeof(id)), -EPROTO);
}

static void test_s3_credentials(void **state)
{
	char path[] = "/tmp/test-s3-cred-XXXXXX", id[HIB_S3_KEY_MAX], secret[HIB_S3_KEY_MAX];
	static const struct {
		const char *text;
		int ret;
	} t[] = {
		{ "AKID\nsecret/with+chars\n", 0 },
		{ "AKID\r\nsecret/with+chars", 0 },
		{ "AKID\n", -EINVAL },			/* no secret */
		{ "AKID\n\n", -EINVAL },		/* empty secret */
		{ "\nsecret\n", -EINVAL },		/* empty id */
		{ "AK ID\nsecret\n", -EINVAL },		/* a space */
		{ "AKID\nsec\tret\n", -EINVAL },	/* not printable */
	};
	struct hib_http_config c;
	char long_line[HIB_S3_KEY_MAX + 8];
	size_t i;
	int fd;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(t[i].text, f);
		fclose(f);
		strcpy(id, "untouched");
		assert_int_equal(hib_s3_read_credentials(path, id, secret), t[i].ret);
		if (t[i].ret == 0) {
			assert_string_equal(id, "AKID");
			assert_string_equal(secret, "secret/with+chars");
		} else {
			assert_string_equal(id, "untouched");
		}
	}
	memset(long_line, 'k', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = 0;
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "AKID\n%s\n", long_line);
	fclose(f);
	assert_int_equal(hib_s3_read_credentials(path, id, secret), -EINVAL);

	/* From the environment, with the region and the part size. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("AKID\nsecret\n", f);
	fclose(f);
	setenv("HIBERNATE_S3_CREDENTIALS_FILE", path, 1);
	setenv("HIBERNATE_S3_REGION", "eu-west-3", 1);
	setenv("HIBERNATE_S3_PART_MIB", "16", 1);
	assert_int_equal(config_from_env(&c), 0);
	assert_string_equal(c.s3_key_id, "AKID");
	assert_string_equal(c.s3_secret, "secret");
	assert_int_equal(chmod(path, 0660), 0);
	assert_int_equal(hib_s3_read_credentials(path, c.s3_key_id, c.s3_secret), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_string_equal(c.s3_region, "eu-west-3");
	assert_int_equal(c.s3_part_size, 16u << 20);
	setenv("HIBERNATE_S3_PART_MIB", "4", 1);	/* below S3's 5 MiB */
	assert_int_equal(config_from_env(&c), -EINVAL);
	setenv("HIBERNATE_S3_PART_MIB", "8", 1);
	setenv("HIBERNATE_S3_REGION", "eu west", 1);
	assert_int_equal(config_from_env(&c), -EINVAL);
	setenv("HIBERNATE_S3_REGION", "us-east-1", 1);
	setenv("HIBERNATE_S3_CREDENTIALS_FILE", "/nonexistent/cred", 1);
	assert_int_equal(config_from_env(&c), -ENOENT);
	unsetenv("HIBERNATE_S3_CREDENTIALS_FILE");
	unsetenv("HIBERNATE_S3_REGION");
	unsetenv("HIBERNATE_S3_PART_MIB");
	assert_int_equal(config_from_env(&c), 0);
	assert_string_equal(c.s3_region, "us-east-1");
	assert_int_equal(c.s3_part_size, HIB_S3_PART_DEFAULT);
	assert_string_equal(c.s3_key_id, "");
	unlink(path);
}

static struct hib_http_config fake_config(struct fake_s3 *f)
{
	struct hib_http_config c;

	hib_http_config_defaults(&c);
	c.s3_part_size = HIB_S3_PART_MIN;
	c.send = fake_s3_send;
	c.send_ud = f;
	return c;
}

static void test_s3_fake_round_trip(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "key for the s3 round trip.....";
	const char *url = "s3+http://s3.test/b/img";
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = 3000;		/* ~12 MiB: three parts of 5 MiB */
	struct hib_image_key *key = NULL;
	struct fake_s3 f = {};
	struct hib_http_config c = fake_config(&f);
	uint8_t *raw = noise(pages * page, 11);

	(void)state;
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);

	/* Complete: created at open, three parts in order, completed; nothing aborted. */
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), 0);
	assert_int_equal(f.initiates, 1);
	assert_int_equal(f.puts, 3);
	assert_int_equal(f.completes, 1);
	assert_int_equal(f.aborts, 0);
	assert_non_null(f.obj);
	assert_false(f.active);

	/* Read back with ranged GETs, then the one-shot invalidation deletes it. */
	read_back(url, &c, key, raw, pages * page, true);
	assert_int_equal(f.deletes, 1);
	assert_null(f.obj);

	/* An upload that stops before the FINAL record: aborted, never completed. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(write_image_cfg(url, &c, key, pages, false, false, raw), 0);
	assert_int_equal(f.completes, 0);
	assert_int_equal(f.aborts, 1);
	assert_false(f.active);
	assert_null(f.obj);

	/* A part refused for good (500 twice: one retry): the write fails, the upload is
	 * aborted, nothing published. */
	memset(&f, 0, sizeof(f));
	f.fail_part = 2;
	f.fail_times = UINT_MAX;
	f.fail_status = 500;
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), -EIO);
	assert_int_equal(f.puts, 3);		/* part 1, part 2 twice */
	assert_int_equal(f.completes, 0);
	assert_int_equal(f.aborts, 1);
	assert_null(f.obj);

	/* A part refused once (503): sent again from the buffer, the image is whole. */
	memset(&f, 0, sizeof(f));
	f.fail_part = 3;
	f.fail_times = 1;
	f.fail_status = 503;
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), 0);
	assert_int_equal(f.puts, 4);
	assert_int_equal(f.completes, 1);
	assert_int_equal(f.aborts, 0);
	read_back(url, &c, key, raw, pages * page, false);
	fake_s3_free(&f);

	/* The completion answered 200 with an <Error> body: a failure, the upload aborted. */
	memset(&f, 0, sizeof(f));
	f.complete_error = true;
	logged[0] = 0;
	hib_set_log_fn(log_capture);
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), -EIO);
	assert_non_null(strstr(logged, "CompleteMultipartUpload of http://s3.test/b/img refused "
				       "(HTTP 200): InternalError: We encountered"));
	assert_int_equal(f.aborts, 1);
	assert_null(f.obj);

	/*
	 * The completion done but its answer lost (then 404 to the retry): the hibernation
	 * fails, so the object it may have made is deleted; the abort finds no upload.
	 */
	memset(&f, 0, sizeof(f));
	f.complete_lost = true;
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), -ENOENT);
	assert_int_equal(f.completes, 2);
	assert_int_equal(f.deletes, 1);
	assert_null(f.obj);

	/* Refused at creation (403): at open, before anything is frozen; nothing to abort. */
	memset(&f, 0, sizeof(f));
	f.initiate_status = 403;
	logged[0] = 0;
	assert_int_equal(write_image_cfg(url, &c, key, pages, true, false, raw), -EACCES);
	assert_non_null(strstr(logged, "CreateMultipartUpload of http://s3.test/b/img refused "
				       "(HTTP 403): AccessDenied"));
	assert_int_equal(f.puts, 0);
	assert_int_equal(f.aborts, 0);
	hib_set_log_fn(NULL);

	/* Nothing there: reading says so. */
	{
		struct hib_sink *s;

		memset(&f, 0, sizeof(f));
		assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &c, &s), -ENOENT);

		/*
		 * Writing: the part buffer (with room for the trailer) and the ETag table are
		 * what the caller must keep free for the sink after the snapshot.
		 */
		assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &c, &s), 0);
		assert_int_equal(s->write_buffer_bytes, HIB_S3_PART_MIN + 8192 +
				 HIB_S3_PARTS_MAX * HIB_S3_ETAG_MAX);
		hib_sink_close(s);
		assert_int_equal(f.aborts, 1);
	}
	fake_s3_free(&f);
	hib_image_key_free(key);
	free(raw);
}

static void test_s3_bad_urls(void **state)
{
	static const char *const bad[] = {
		"s3+http://s3.test/b",			/* no key */
		"s3+http://s3.test/b/",
		"s3+http://s3.test/b/img/",		/* a "directory" */
		"s3+http://s3.test//img",
		"s3+http://s3.test/b/im g",		/* would need escaping */
		"s3+http://s3.test/b/img?x=1",
		"s3+http://s3.test",
	};
	struct fake_s3 f = {};
	struct hib_http_config c = fake_config(&f);
	struct hib_sink *s;
	size_t i;

	(void)state;
	assert_true(hib_s3_is_url("s3+https://h/b/k"));
	assert_true(hib_http_is_url("s3+http://h/b/k"));
	assert_false(hib_s3_is_url("http://h/b/k"));
	assert_false(hib_s3_is_url("s3://b/k"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hib_sink_open_http(bad[i], HIB_SINK_WRITE, &c, &s), -EINVAL);
	c.s3_part_size = HIB_S3_PART_MIN - 1;
	assert_int_equal(hib_sink_open_http("s3+http://s3.test/b/img", HIB_SINK_WRITE, &c, &s),
			 -EINVAL);
	assert_int_equal(f.initiates, 0);
}

/*
 * Against a real S3 implementation: Ceph RGW started by tests/vm/with-rgw.py --host, which
 * passes its URL and credentials (meson test s3-rgw); skipped when run without it.  RGW
 * checks the SigV4 signatures and the multipart rules; with-rgw.py --expect-empty checks
 * afterwards that no object and no unfinished upload is left in the bucket.
 */
static void test_s3_rgw(void **state)
{
	static const uint8_t kb[HIB_KEY_BYTES] = "key for the rgw round trip....";
	const char *base = getenv("HIBERNATE_TEST_S3_URL");
	const char *cred = getenv("HIBERNATE_TEST_S3_CREDENTIALS");
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = 3000;		/* ~12 MiB: three parts of 5 MiB */
	struct hib_image_key *key = NULL;
	struct hib_http_config c, bad;
	struct hib_sink *s;
	char url[300], nobucket[300], small[300];
	uint8_t *raw;

	(void)state;
	if (!base || !cred)
		skip();
	snprintf(url, sizeof(url), "%simages/host1.img", base);
	/* the same endpoint, a bucket that does not exist */
	snprintf(nobucket, sizeof(nobucket), "%.*snobucket/host1.img",
		 (int)(strstr(base + 10, "/") + 1 - base), base);
	raw = noise(pages * page, 23);
	assert_int_equal(hib_image_key_from_raw(kb, &key), 0);
	hib_http_config_defaults(&c);
	assert_int_equal(hib_s3_read_credentials(cred, c.s3_key_id, c.s3_secret), 0);
	c.s3_part_size = HIB_S3_PART_MIN;
	hib_set_log_fn(log_capture);

	/* A complete upload: three signed parts, completed; read back, then deleted. */
	if (write_image_cfg(url, &c, key, pages, true, false, raw))
		fail_msg("upload refused: %s", logged);
	read_back(url, &c, key, raw, pages * page, true);
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &c, &s), -ENOENT);

	/* Stopped before the FINAL record: aborted, nothing under the name (with-rgw.py checks
	 * that no upload is left either). */
	assert_int_equal(write_image_cfg(url, &c, key, pages, false, false, raw), 0);
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &c, &s), -ENOENT);

	/* A wrong secret: RGW refuses the signature, at open. */
	logged[0] = 0;
	bad = c;
	bad.retries = 0;
	strcpy(bad.s3_secret, "not-the-secret");
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &bad, &s), -EACCES);
	assert_non_null(strstr(logged, "are the S3 credentials right"));
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_READ, &bad, &s), -EACCES);

	/* No such bucket: CreateMultipartUpload says so, at open. */
	logged[0] = 0;
	assert_int_equal(hib_sink_open_http(nobucket, HIB_SINK_WRITE, &c, &s), -ENOENT);
	assert_non_null(strstr(logged, "NoSuchBucket"));

	/*
	 * A full store: the bucket's 8 MiB quota stops the second part (403 QuotaExceeded),
	 * which is -ENOSPC, named; the upload is aborted (with-rgw.py checks no part stays).
	 */
	logged[0] = 0;
	snprintf(small, sizeof(small), "%.*shibsmall/host1.img",
		 (int)(strstr(base + 10, "/") + 1 - base), base);
	assert_int_equal(write_image_cfg(small, &c, key, pages, true, false, raw), -ENOSPC);
	assert_non_null(strstr(logged, "UploadPart of "));
	assert_non_null(strstr(logged, "QuotaExceeded"));
	assert_int_equal(hib_sink_open_http(small, HIB_SINK_READ, &c, &s), -ENOENT);

	/* Unsigned requests: refused. */
	bad = c;
	bad.s3_key_id[0] = 0;
	assert_int_equal(hib_sink_open_http(url, HIB_SINK_WRITE, &bad, &s), -EACCES);

	hib_set_log_fn(NULL);
	hib_image_key_free(key);
	free(raw);
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
		cmocka_unit_test(test_url_shown),
		cmocka_unit_test(test_plain_http_token),
		cmocka_unit_test(test_config_env),
		cmocka_unit_test_teardown(test_nginx_round_trip, teardown_nginx),
		cmocka_unit_test_teardown(test_nginx_client_cert, teardown_nginx),
		cmocka_unit_test(test_s3_parse),
		cmocka_unit_test(test_s3_credentials),
		cmocka_unit_test(test_s3_fake_round_trip),
		cmocka_unit_test(test_s3_bad_urls),
		cmocka_unit_test(test_s3_rgw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
