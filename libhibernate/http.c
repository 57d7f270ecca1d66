// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HTTP sink (layout and protocol in http.h): libcurl, one easy handle for the short
 * requests (retried by hib_http_do()), one more on a thread for the streamed PUT, fed through
 * a socketpair so that a dead upload is an error on write (MSG_NOSIGNAL), not a SIGPIPE.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curl-dl.h"

#include "http.h"
#include "log.h"
#include "macro.h"

#define HEAD_BYTES	HIB_IMAGE_DATA_OFFSET	/* header + commit block, sent last */
#define BACKOFF_MAX_MS	8000u

/* ---- configuration ------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned int max, unsigned int *ret)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/*
 * One line of at most @size - 1 printable characters from @f into @ret (@spaces: may it have
 * spaces?); -EINVAL if it is empty, too long or has anything else.
 */
static int read_line(FILE *f, char *ret, size_t size, bool spaces)
{
	char buf[HIB_HTTP_TOKEN_MAX + 2];
	size_t i, n;

	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	n = strlen(buf);
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)buf[i]) || (!spaces && buf[i] == ' '))
			break;
	if (!n || n >= size || i < n) {
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(ret, buf, n + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int hib_http_read_token(const char *path, char ret_token[HIB_HTTP_TOKEN_MAX])
{
	_cleanup_fclose_ FILE *f = NULL;

	if (!path || !ret_token)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	return read_line(f, ret_token, HIB_HTTP_TOKEN_MAX, true);
}

int hib_http_config_from_env(struct hib_http_config *ret_config)
{
	struct hib_http_config c = {
		.retries = 3,
		.backoff_ms = 200,
		.connect_timeout_ms = 10000,
		.timeout_ms = 60000,
		.stall_timeout_s = 30,
		.s3_region = "us-east-1",
		.s3_part_size = HIB_S3_PART_DEFAULT,
	};
	unsigned int mib;
	const char *v;

	if (!ret_config)
		return -EINVAL;
	v = getenv("HIBERNATE_HTTP_TOKEN");
	if (v) {
		if (strlen(v) >= sizeof(c.bearer_token) || strpbrk(v, "\r\n"))
			return -EINVAL;
		snprintf(c.bearer_token, sizeof(c.bearer_token), "%s", v);
	}
	v = getenv("HIBERNATE_HTTP_TOKEN_FILE");
	if (v && !c.bearer_token[0]) {
		int r = hib_http_read_token(v, c.bearer_token);

		if (r < 0)
			return r;
	}
	c.ca_file = getenv("HIBERNATE_HTTP_CA_FILE");
	c.client_cert = getenv("HIBERNATE_HTTP_CLIENT_CERT");
	c.client_key = getenv("HIBERNATE_HTTP_CLIENT_KEY");
	v = getenv("HIBERNATE_HTTP_RETRIES");
	if (v && parse_uint(v, 100, &c.retries) < 0)
		return -EINVAL;
	v = getenv("HIBERNATE_HTTP_TIMEOUT_MS");
	if (v && (parse_uint(v, 3600000, &c.timeout_ms) < 0 || c.timeout_ms == 0))
		return -EINVAL;
	v = getenv("HIBERNATE_S3_REGION");
	if (v) {
		if (hib_s3_set_region(&c, v) < 0)
			return -EINVAL;
	}
	v = getenv("HIBERNATE_S3_PART_MIB");
	if (v) {
		if (parse_uint(v, HIB_S3_PART_MAX >> 20, &mib) < 0 || (mib << 20) < HIB_S3_PART_MIN)
			return -EINVAL;
		c.s3_part_size = (size_t)mib << 20;
	}
	v = getenv("HIBERNATE_S3_CREDENTIALS_FILE");
	if (v) {
		int r = hib_s3_read_credentials(v, c.s3_key_id, c.s3_secret);

		if (r < 0)
			return r;
	}
	*ret_config = c;
	explicit_bzero(c.s3_secret, sizeof(c.s3_secret));
	return 0;
}

int hib_s3_set_region(struct hib_http_config *config, const char *region)
{
	size_t i, n = region ? strlen(region) : 0;

	if (!config || !n || n >= sizeof(config->s3_region))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)region[i]) && region[i] != '-')
			return -EINVAL;
	memcpy(config->s3_region, region, n + 1);
	return 0;
}

int hib_s3_read_credentials(const char *path, char ret_key_id[HIB_S3_KEY_MAX],
			    char ret_secret[HIB_S3_KEY_MAX])
{
	_cleanup_fclose_ FILE *f = NULL;
	char id[HIB_S3_KEY_MAX], secret[HIB_S3_KEY_MAX];
	int r;

	if (!path || !ret_key_id || !ret_secret)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	r = read_line(f, id, sizeof(id), false);
	if (r == 0)
		r = read_line(f, secret, sizeof(secret), false);
	if (r == 0) {
		memcpy(ret_key_id, id, sizeof(id));
		memcpy(ret_secret, secret, sizeof(secret));
	}
	explicit_bzero(secret, sizeof(secret));
	return r;
}

int hib_s3_parse_upload_id(const char *xml, size_t len, char *ret, size_t size)
{
	static const char open_tag[] = "<UploadId>", close_tag[] = "</UploadId>";
	const char *p, *end;
	size_t i, n;

	if (!xml || !ret || !size)
		return -EINVAL;
	p = memmem(xml, len, open_tag, sizeof(open_tag) - 1);
	if (!p)
		return -EPROTO;
	p += sizeof(open_tag) - 1;
	end = memmem(p, len - (size_t)(p - xml), close_tag, sizeof(close_tag) - 1);
	if (!end)
		return -EPROTO;
	n = (size_t)(end - p);
	if (!n || n >= size)
		return -EPROTO;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && !strchr("-._~", p[i]))
			return -EPROTO;
	memcpy(ret, p, n);
	ret[n] = 0;
	return 0;
}

bool hib_s3_is_url(const char *path)
{
	return path && (strncmp(path, "s3+http://", 10) == 0 || strncmp(path, "s3+https://", 11) == 0);
}

bool hib_http_is_url(const char *path)
{
	return path && (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0 ||
			hib_s3_is_url(path));
}

/* ---- retries ------------------------------------------------------------------------------- */

bool hib_http_transient(int err, long status)
{
	if (err < 0)
		return err != -EINVAL && err != -ENOMEM && err != -EACCES && err != -EPROTO;
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

int hib_http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404:
	case 410:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 413:
	case 507:
		return -ENOSPC;
	case 416:
		return -ENODATA;
	}
	return -EIO;
}

static void real_sleep(void *ud, unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	(void)ud;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int hib_http_do(const struct hib_http_config *config, hib_http_send_fn send, void *send_ud,
		hib_http_sleep_fn sleep, void *sleep_ud, const struct hib_http_request *req,
		struct hib_http_response *ret_resp, unsigned int *ret_attempts)
{
	struct hib_http_response resp;
	unsigned int attempt, wait;
	int err = -EIO;

	if (!config || !send || !req || !ret_resp)
		return -EINVAL;
	if (!sleep)
		sleep = real_sleep;
	wait = config->backoff_ms;
	for (attempt = 1;; attempt++) {
		memset(&resp, 0, sizeof(resp));
		err = send(send_ud, req, &resp);
		if (!hib_http_transient(err, resp.status) || attempt > config->retries)
			break;
		hib_debug("http: %s %s: %s, attempt %u of %u, again in %u ms", req->method,
			  req->url, err < 0 ? strerror(-err) : "server error", attempt,
			  config->retries + 1, wait);
		sleep(sleep_ud, wait);
		wait = wait >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : wait * 2;
	}
	if (ret_attempts)
		*ret_attempts = attempt;
	if (err < 0)
		return err;
	*ret_resp = resp;
	return 0;
}

/* ---- libcurl transport -------------------------------------------------------------------- */

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EPROTO;		/* not retried: a certificate does not get better */
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	default:
		return -ECONNRESET;
	}
}

struct s3_upload {
	char upload_id[HIB_S3_UPLOAD_ID_MAX];
	uint8_t *part;			/* s3_part_size + HEAD_BYTES: the last part has the trailer */
	size_t part_len;
	unsigned int parts;		/* uploaded so far */
	char (*etags)[HIB_S3_ETAG_MAX];	/* HIB_S3_PARTS_MAX of them */
	char answer[4096];		/* the start of an answer's body */
	bool failed;			/* a part could not be sent: the upload is lost */
};

struct http_sink {
	char url[HIB_HTTP_URL_MAX];
	char part_url[HIB_HTTP_URL_MAX + 8];
	bool s3;
	struct s3_upload s3u;		/* S3, writing */
	struct hib_http_config config;
	struct curl_slist *headers;	/* Authorization */
	CURL *easy;			/* short requests, caller's thread */
	int mode;
	uint8_t head[HEAD_BYTES];	/* header + commit block */
	uint64_t size;			/* reading: the object's size */
	/* reading: one window of object bytes */
	uint8_t *win;
	size_t win_cap;
	uint64_t win_off;
	size_t win_len;
	/* writing: the streamed PUT */
	uint64_t next_off;		/* next image offset expected (>= HEAD_BYTES) */
	bool started;
	bool published;
	bool publish_tried;		/* MOVE or CompleteMultipartUpload sent, maybe done */
	bool deleted;
	int sock[2];			/* [0] curl thread reads, [1] we write */
	pthread_t thread;
	atomic_bool abort;
	CURLcode put_result;
	long put_status;
	char put_error[CURL_ERROR_SIZE];
};

struct get_ctx {
	uint8_t *buf;
	size_t cap;
	size_t got;
	bool truncate;			/* keep the first cap bytes, drop the rest */
};

struct put_ctx {
	const uint8_t *p;
	size_t left;
};

static size_t get_cb(char *p, size_t size, size_t n, void *ud)
{
	struct get_ctx *g = ud;
	size_t len = size * n;

	if (len > g->cap - g->got) {
		if (!g->truncate)
			return 0;	/* more than asked for: fail the transfer */
		memcpy(g->buf + g->got, p, g->cap - g->got);
		g->got = g->cap;
		return len;
	}
	memcpy(g->buf + g->got, p, len);
	g->got += len;
	return len;
}

static size_t body_cb(char *p, size_t size, size_t n, void *ud)
{
	struct put_ctx *b = ud;
	size_t len = MIN(size * n, b->left);

	memcpy(p, b->p, len);
	b->p += len;
	b->left -= len;
	return len;
}

/* The ETag header into the response (S3: each part's, for the completion). */
static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct hib_http_response *resp = ud;
	size_t len = size * n, v;

	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		for (v = 5; v < len && (p[v] == ' ' || p[v] == '\t'); v++)
			;
		while (len > v && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
			len--;
		if (len - v < sizeof(resp->etag)) {
			memcpy(resp->etag, p + v, len - v);
			resp->etag[len - v] = 0;
		}
	}
	return size * n;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static void common_opts(struct http_sink *h, CURL *e)
{
	sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->config.connect_timeout_ms);
	sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->config.ca_file)
		sym_curl_easy_setopt(e, CURLOPT_CAINFO, h->config.ca_file);
	if (h->config.client_cert) {
		sym_curl_easy_setopt(e, CURLOPT_SSLCERT, h->config.client_cert);
		sym_curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		sym_curl_easy_setopt(e, CURLOPT_SSLKEY, h->config.client_key ? h->config.client_key :
				 h->config.client_cert);
		sym_curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (h->headers)
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	if (h->s3 && h->config.s3_key_id[0]) {
		char provider[96];

		snprintf(provider, sizeof(provider), "aws:amz:%s:s3", h->config.s3_region);
		sym_curl_easy_setopt(e, CURLOPT_AWS_SIGV4, provider);
		sym_curl_easy_setopt(e, CURLOPT_USERNAME, h->config.s3_key_id);
		sym_curl_easy_setopt(e, CURLOPT_PASSWORD, h->config.s3_secret);
	}
}

/* hib_http_send_fn over h->easy. */
static int curl_send(void *ud, const struct hib_http_request *req, struct hib_http_response *resp)
{
	struct http_sink *h = ud;
	struct curl_slist *hdrs = NULL, *l;
	struct get_ctx g = { .buf = req->buf, .cap = req->range_len ?: req->buf_cap,
			     .truncate = !req->range_len };
	struct put_ctx b = { .p = req->body, .left = req->body_len };
	char range[64], dest[HIB_HTTP_URL_MAX + 32], errbuf[CURL_ERROR_SIZE] = "";
	curl_off_t cl = -1;
	CURL *e = h->easy;
	CURLcode c;
	int r = 0;

	sym_curl_easy_reset(e);
	common_opts(h, e);
	sym_curl_easy_setopt(e, CURLOPT_URL, req->url);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	sym_curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->config.timeout_ms);
	if (strcmp(req->method, "HEAD") == 0) {
		sym_curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, req->range_off,
			 req->range_off + req->range_len - 1);
		sym_curl_easy_setopt(e, CURLOPT_RANGE, range);
		sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, get_cb);
		sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
	} else {
		if (strcmp(req->method, "PUT") == 0) {
			sym_curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
			sym_curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
			sym_curl_easy_setopt(e, CURLOPT_READFUNCTION, body_cb);
			sym_curl_easy_setopt(e, CURLOPT_READDATA, &b);
		} else if (strcmp(req->method, "POST") == 0) {
			sym_curl_easy_setopt(e, CURLOPT_POST, 1L);
			sym_curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			sym_curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ?: "");
		} else {
			sym_curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		}
		sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, req->buf ? get_cb : discard_cb);
		sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
	}
	sym_curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	sym_curl_easy_setopt(e, CURLOPT_HEADERDATA, resp);
	if (req->destination || (req->body && strcmp(req->method, "POST") == 0)) {
		for (l = h->headers; l; l = l->next) {
			hdrs = sym_curl_slist_append(hdrs, l->data);
			if (!hdrs)
				return -ENOMEM;
		}
		if (req->destination) {
			snprintf(dest, sizeof(dest), "Destination: %s", req->destination);
			l = sym_curl_slist_append(hdrs, dest);
			if (l)
				l = sym_curl_slist_append(l, "Overwrite: T");
		} else {
			/*
			 * POST: our own Content-Type, not libcurl's form type.  (No "Expect:" to
			 * drop 100-continue from a PUT: libcurl 7.88 signs that empty header,
			 * which it never sends, and S3 then finds the signature wrong.)
			 */
			l = sym_curl_slist_append(hdrs, "Content-Type: application/xml");
		}
		if (!l) {
			sym_curl_slist_free_all(hdrs);
			return -ENOMEM;
		}
		hdrs = l;
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	}
	c = sym_curl_easy_perform(e);
	if (c == CURLE_WRITE_ERROR)
		r = -EBADMSG;	/* the server sent more than the range */
	else if (c != CURLE_OK)
		r = curl_errno(c);
	if (r == -EPROTO)
		hib_warn("http: %s %s: %s", req->method, req->url,
			 errbuf[0] ? errbuf : sym_curl_easy_strerror(c));
	if (r == 0) {
		sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
		sym_curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		resp->length = cl > 0 ? (uint64_t)cl : 0;
		resp->got = g.got;
	}
	sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	sym_curl_slist_free_all(hdrs);
	return r;
}

static int request(struct http_sink *h, struct hib_http_request *req,
		   struct hib_http_response *resp)
{
	int r = hib_http_do(&h->config, h->config.send ?: curl_send,
			    h->config.send ? h->config.send_ud : h, NULL, NULL, req, resp, NULL);

	if (r < 0)
		hib_debug("http: %s %s: %s", req->method, req->url, strerror(-r));
	else
		hib_debug("http: %s %s: %ld", req->method, req->url, resp->status);
	return r;
}

/* ---- the streamed PUT ---------------------------------------------------------------------- */

static size_t put_read_cb(char *p, size_t size, size_t n, void *ud)
{
	struct http_sink *h = ud;
	ssize_t got;

	for (;;) {
		got = recv(h->sock[0], p, size * n, 0);
		if (got >= 0 || errno != EINTR)
			break;
	}
	if (got < 0 || (got == 0 && atomic_load(&h->abort)))
		return CURL_READFUNC_ABORT;
	return (size_t)got;
}

static void *put_thread(void *arg)
{
	struct http_sink *h = arg;
	CURL *e = sym_curl_easy_init();
	struct curl_slist *hdrs = NULL, *l;

	if (!e) {
		h->put_result = CURLE_OUT_OF_MEMORY;
		goto out;
	}
	common_opts(h, e);
	/* Expect: 100-continue would wait a second for nothing: nginx answers at the end. */
	for (l = h->headers; l; l = l->next)
		hdrs = sym_curl_slist_append(hdrs, l->data);
	hdrs = sym_curl_slist_append(hdrs, "Expect:");
	if (hdrs)
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	sym_curl_easy_setopt(e, CURLOPT_URL, h->part_url);
	sym_curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);	/* PUT, chunked: the length is unknown */
	sym_curl_easy_setopt(e, CURLOPT_READFUNCTION, put_read_cb);
	sym_curl_easy_setopt(e, CURLOPT_READDATA, h);
	sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->put_error);
	sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->config.stall_timeout_s);
	h->put_result = sym_curl_easy_perform(e);
	sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->put_status);
	sym_curl_easy_cleanup(e);
	sym_curl_slist_free_all(hdrs);
out:
	/* Writers blocked on a full socket, or writing later, get an error now. */
	shutdown(h->sock[0], SHUT_RDWR);
	return NULL;
}

static int put_start(struct http_sink *h)
{
	int r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h->sock) < 0)
		return negative_errno();
	r = pthread_create(&h->thread, NULL, put_thread, h);
	if (r) {
		close(h->sock[0]);
		close(h->sock[1]);
		h->sock[0] = h->sock[1] = -1;
		return -r;
	}
	h->started = true;
	return 0;
}

/* Join the PUT thread; its outcome as 0 or -errno. */
static int put_join(struct http_sink *h)
{
	pthread_join(h->thread, NULL);
	h->started = false;
	close(h->sock[0]);
	if (h->sock[1] >= 0)
		close(h->sock[1]);
	h->sock[0] = h->sock[1] = -1;
	if (h->put_result != CURLE_OK) {
		hib_debug("http: PUT %s: %s", h->part_url,
			  h->put_error[0] ? h->put_error : sym_curl_easy_strerror(h->put_result));
		return curl_errno(h->put_result) ?: -EIO;
	}
	return hib_http_status_errno(h->put_status);
}

static int put_send(struct http_sink *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(h->sock[1], p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The upload is over: its own error says more. */
			close(h->sock[1]);
			h->sock[1] = -1;
			return put_join(h) ?: -EPIPE;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- S3 multipart upload ------------------------------------------------------------------- */

#define S3_URL_MAX	(HIB_HTTP_URL_MAX + HIB_S3_UPLOAD_ID_MAX + 64)

/* The text of <@tag> in @xml, or "?". */
static void xml_text(const char *xml, const char *tag, char *ret, size_t size)
{
	char open_tag[32];
	const char *p, *end;
	size_t n;

	snprintf(ret, size, "?");
	snprintf(open_tag, sizeof(open_tag), "<%s>", tag);
	p = strstr(xml, open_tag);
	if (!p)
		return;
	p += strlen(open_tag);
	end = strchr(p, '<');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= size)
		n = size - 1;
	memcpy(ret, p, n);
	ret[n] = 0;
}

/*
 * An S3 answer as 0 or -errno; an error (any non-2xx status, or an <Error> body, which
 * CompleteMultipartUpload may send with 200) is logged with S3's code and message.
 */
static int s3_answer(struct http_sink *h, const char *what, const struct hib_http_response *resp)
{
	char code[64], msg[256];
	int r = hib_http_status_errno(resp->status);

	h->s3u.answer[MIN(resp->got, sizeof(h->s3u.answer) - 1)] = 0;
	if (r == 0 && !strstr(h->s3u.answer, "<Error>"))
		return 0;
	xml_text(h->s3u.answer, "Code", code, sizeof(code));
	xml_text(h->s3u.answer, "Message", msg, sizeof(msg));
	hib_warn("s3: %s of %s refused (HTTP %ld): %s: %s", what, h->url, resp->status, code, msg);
	/* A full store is a full disk (S3 says 403 QuotaExceeded, some stores 507). */
	if (!strcmp(code, "QuotaExceeded") || !strcmp(code, "EntityTooLarge"))
		return -ENOSPC;
	return r ?: -EIO;
}

static int s3_request(struct http_sink *h, const char *what, struct hib_http_request *req)
{
	struct hib_http_response resp;
	int r;

	req->buf = h->s3u.answer;
	req->buf_cap = sizeof(h->s3u.answer) - 1;
	r = request(h, req, &resp);
	if (r < 0) {
		hib_warn("s3: %s of %s: %s", what, h->url, strerror(-r));
		return r;
	}
	r = s3_answer(h, what, &resp);
	if (r == 0 && strcmp(req->method, "PUT") == 0) {
		if (!resp.etag[0]) {
			hib_warn("s3: %s of %s: the answer has no ETag", what, h->url);
			return -EPROTO;
		}
		memcpy(h->s3u.etags[h->s3u.parts], resp.etag, sizeof(resp.etag));
	}
	return r;
}

/* CreateMultipartUpload: the upload id. */
static int s3_initiate(struct http_sink *h)
{
	char url[S3_URL_MAX];
	struct hib_http_request req = { .method = "POST", .url = url, .body = "" };
	int r;

	snprintf(url, sizeof(url), "%s?uploads=", h->url);
	r = s3_request(h, "CreateMultipartUpload", &req);
	if (r < 0)
		return r;
	r = hib_s3_parse_upload_id(h->s3u.answer, strlen(h->s3u.answer), h->s3u.upload_id,
				   sizeof(h->s3u.upload_id));
	if (r < 0)
		hib_warn("s3: CreateMultipartUpload of %s: no usable UploadId in the answer", h->url);
	return r;
}

/* UploadPart: the buffered part, as part number parts + 1. */
static int s3_send_part(struct http_sink *h)
{
	char url[S3_URL_MAX];
	struct hib_http_request req = { .method = "PUT", .url = url, .body = h->s3u.part,
					.body_len = h->s3u.part_len };
	int r;

	if (h->s3u.parts >= HIB_S3_PARTS_MAX) {
		hib_warn("s3: %s: more than %u parts of %zu MiB: raise the part size", h->url,
			 HIB_S3_PARTS_MAX, h->config.s3_part_size >> 20);
		r = -EFBIG;
	} else {
		snprintf(url, sizeof(url), "%s?partNumber=%u&uploadId=%s", h->url,
			 h->s3u.parts + 1, h->s3u.upload_id);
		r = s3_request(h, "UploadPart", &req);
	}
	if (r < 0) {
		h->s3u.failed = true;
		return r;
	}
	h->s3u.parts++;
	h->s3u.part_len = 0;
	return 0;
}

/* CompleteMultipartUpload, its XML built in the part buffer (sent already). */
static int s3_complete(struct http_sink *h)
{
	char url[S3_URL_MAX], *x = (char *)h->s3u.part;
	size_t cap = h->config.s3_part_size + HEAD_BYTES, n;
	struct hib_http_request req = { .method = "POST", .url = url };
	unsigned int i;

	n = (size_t)snprintf(x, cap, "<CompleteMultipartUpload>");
	for (i = 0; i < h->s3u.parts && n < cap; i++)
		n += (size_t)snprintf(x + n, cap - n,
				      "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
				      i + 1, h->s3u.etags[i]);
	if (n < cap)
		n += (size_t)snprintf(x + n, cap - n, "</CompleteMultipartUpload>");
	if (n >= cap)
		return -ENOBUFS;	/* cannot happen: 10000 parts take < 2 MiB */
	req.body = x;
	req.body_len = n;
	snprintf(url, sizeof(url), "%s?uploadId=%s", h->url, h->s3u.upload_id);
	return s3_request(h, "CompleteMultipartUpload", &req);
}

/*
 * AbortMultipartUpload: the stored parts are dropped.  No such upload (404) is not an error:
 * on the resumed side, the sink is the one of the snapshot instant, whose upload the
 * hibernated system completed (and resume deleted) in the meantime.
 */
static void s3_abort(struct http_sink *h)
{
	char url[S3_URL_MAX];
	struct hib_http_request req = { .method = "DELETE", .url = url, .buf = h->s3u.answer,
					.buf_cap = sizeof(h->s3u.answer) - 1 };
	struct hib_http_response resp;

	snprintf(url, sizeof(url), "%s?uploadId=%s", h->url, h->s3u.upload_id);
	h->s3u.upload_id[0] = 0;
	if (request(h, &req, &resp) < 0)
		hib_warn("s3: AbortMultipartUpload of %s failed: its parts stay stored until the "
			 "bucket's lifecycle rules drop them", h->url);
	else if (resp.status == 404)
		hib_debug("s3: %s: no upload to abort", h->url);
	else if (s3_answer(h, "AbortMultipartUpload", &resp) == 0)
		hib_debug("s3: %s: upload aborted, %u part(s) dropped", h->url, h->s3u.parts);
}

static int s3_write(struct http_sink *h, const uint8_t *p, size_t len)
{
	size_t part = h->config.s3_part_size, n;
	int r;

	if (h->s3u.failed)
		return -EIO;
	while (len) {
		n = MIN(len, part - h->s3u.part_len);
		memcpy(h->s3u.part + h->s3u.part_len, p, n);
		h->s3u.part_len += n;
		p += n;
		len -= n;
		if (h->s3u.part_len == part) {
			r = s3_send_part(h);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The trailer in the last part, then the completion: the object appears under its name. */
static int s3_publish(struct http_sink *h)
{
	int r;

	if (h->s3u.failed)
		return -EIO;
	memcpy(h->s3u.part + h->s3u.part_len, h->head, HEAD_BYTES);
	h->s3u.part_len += HEAD_BYTES;
	r = s3_send_part(h);
	if (r == 0) {
		h->publish_tried = true;
		r = s3_complete(h);
	}
	if (r < 0) {
		h->s3u.failed = true;
		return r;
	}
	h->s3u.upload_id[0] = 0;	/* completed: nothing to abort */
	h->published = true;
	return 0;
}

/*
 * Before anything is frozen: the upload's buffers allocated (not touched: a page first
 * touched after the snapshot is not copied into the image; the sink's write_buffer_bytes
 * tells the caller how much to keep free for them), the upload created.
 */
static int s3_open_upload(struct http_sink *h, size_t *ret_buffer_bytes)
{
	size_t cap = h->config.s3_part_size + HEAD_BYTES,
	       etags = HIB_S3_PARTS_MAX * sizeof(*h->s3u.etags);
	int r;

	h->s3u.part = malloc(cap);
	h->s3u.etags = malloc(etags);
	if (!h->s3u.part || !h->s3u.etags)
		return -ENOMEM;
	r = s3_initiate(h);
	if (r < 0)
		return r;
	*ret_buffer_bytes = cap + etags;
	return 0;
}

/* "/BUCKET/KEY" after the host: path-style, characters that need no escaping. */
static bool s3_path_ok(const char *url)
{
	const char *p = strstr(url, "://"), *slash;
	size_t i;

	if (!p)
		return false;
	p = strchr(p + 3, '/');
	if (!p || p[1] == '/' || !p[1])
		return false;
	slash = strchr(p + 1, '/');
	if (!slash || !slash[1] || slash[strlen(slash) - 1] == '/')
		return false;	/* a bucket and a key */
	for (i = 1; p[i]; i++)
		if (!isalnum((unsigned char)p[i]) && !strchr("-._~/", p[i]))
			return false;
	return true;
}

/* ---- sink ops ------------------------------------------------------------------------------ */

static int http_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct http_sink *h = s->priv;
	const uint8_t *p = buf;
	size_t n;
	int r;

	if (!s->writable)
		return -EBADF;
	if (off < HEAD_BYTES) {
		n = (size_t)MIN((uint64_t)len, HEAD_BYTES - off);
		memcpy(h->head + off, p, n);
		p += n;
		len -= n;
		off += n;
	}
	if (!len)
		return 0;
	if (h->mode != HIB_SINK_WRITE || h->published)
		return -ESPIPE;		/* only the two blocks can change after the upload */
	if (off != h->next_off)
		return -ESPIPE;		/* the records come in order */
	if (h->s3) {
		r = s3_write(h, p, len);
		if (r < 0)
			return r;
		h->next_off += len;
		return 0;
	}
	if (!h->started) {
		if (h->put_result != CURLE_OK || h->put_status)
			return -EIO;	/* an upload already failed */
		r = put_start(h);
		if (r < 0)
			return r;
	}
	r = put_send(h, p, len);
	if (r < 0)
		return r;
	h->next_off += len;
	return 0;
}

static bool head_valid(const struct http_sink *h)
{
	size_t i;

	for (i = HIB_IMAGE_BLOCK; i < HEAD_BYTES; i++)
		if (h->head[i])
			return true;
	return false;
}

/* DELETE the published image (a 404 is fine: it is gone either way). */
static int delete_image(struct http_sink *h)
{
	struct hib_http_request req = { .method = "DELETE", .url = h->url };
	struct hib_http_response resp;
	int r;

	r = request(h, &req, &resp);
	if (r < 0)
		return r;
	if (resp.status != 404 && resp.status != 410) {
		r = hib_http_status_errno(resp.status);
		if (r < 0)
			return r;
	}
	h->deleted = true;
	return 0;
}

static int http_sync(struct hib_sink *s)
{
	struct http_sink *h = s->priv;
	struct hib_http_request req = {};
	struct hib_http_response resp;
	int r;

	if (!s->writable)
		return 0;
	/*
	 * One-shot resume, or a hibernation that must not leave a valid image behind (power-off
	 * failed): a cleared valid mark deletes the image.
	 */
	if (h->mode == HIB_SINK_UPDATE || h->published) {
		if (head_valid(h) || h->deleted)
			return 0;
		return delete_image(h);
	}
	/* Writing: nothing to do until the valid mark is there. */
	if (!head_valid(h) || h->published)
		return 0;
	if (h->s3)
		return s3_publish(h);
	if (!h->started)
		return -EIO;
	r = put_send(h, h->head, HEAD_BYTES);
	if (r < 0)
		return r;
	close(h->sock[1]);	/* end of the body */
	h->sock[1] = -1;
	r = put_join(h);
	if (r < 0)
		return r;
	req.method = "MOVE";
	req.url = h->part_url;
	req.destination = h->url;
	h->publish_tried = true;
	r = request(h, &req, &resp);
	if (r < 0)
		return r;
	r = hib_http_status_errno(resp.status);
	if (r < 0)
		return r;
	h->published = true;
	return 0;
}

/* Object bytes [@obj_off, @obj_off + @len) into @buf, through the window. */
static int obj_read(struct http_sink *h, uint8_t *buf, size_t len, uint64_t obj_off)
{
	struct hib_http_request req = { .method = "GET", .url = h->url };
	struct hib_http_response resp;
	int r;

	while (len) {
		size_t n;

		if (obj_off >= h->win_off && obj_off < h->win_off + h->win_len) {
			n = (size_t)MIN((uint64_t)len, h->win_off + h->win_len - obj_off);
			memcpy(buf, h->win + (obj_off - h->win_off), n);
			buf += n;
			len -= n;
			obj_off += n;
			continue;
		}
		if (obj_off >= h->size)
			return -ENODATA;
		req.range_off = obj_off;
		req.range_len = (size_t)MIN((uint64_t)h->win_cap, h->size - obj_off);
		req.buf = h->win;
		h->win_len = 0;
		r = request(h, &req, &resp);
		if (r < 0)
			return r;
		if (resp.status != 206)
			return resp.status == 200 ? -EPROTO : hib_http_status_errno(resp.status) ?: -EIO;
		if (resp.got != req.range_len)
			return -ENODATA;
		h->win_off = obj_off;
		h->win_len = resp.got;
	}
	return 0;
}

static int http_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	struct http_sink *h = s->priv;
	uint8_t *p = buf;
	size_t n;

	if (h->mode == HIB_SINK_WRITE)
		return -EBADF;
	if (off > h->size || len > h->size - off)
		return -ENODATA;
	if (off < HEAD_BYTES) {
		n = (size_t)MIN((uint64_t)len, HEAD_BYTES - off);
		memcpy(p, h->head + off, n);
		p += n;
		len -= n;
		off += n;
	}
	return len ? obj_read(h, p, len, off - HEAD_BYTES) : 0;
}

static int http_size(struct hib_sink *s, uint64_t *ret_size)
{
	struct http_sink *h = s->priv;

	/* Writing: the server's free space is unknown; it says 507 when it runs out. */
	if (h->mode == HIB_SINK_WRITE && h->s3)
		*ret_size = (uint64_t)HIB_S3_PARTS_MAX * h->config.s3_part_size;
	else
		*ret_size = h->mode == HIB_SINK_WRITE ? UINT64_MAX / 2 : h->size;
	return 0;
}

static void http_close(struct hib_sink *s)
{
	struct http_sink *h;

	if (!s)
		return;
	h = s->priv;
	if (h) {
		if (h->started) {
			/* Unpublished: abort the upload, drop the partial object. */
			atomic_store(&h->abort, true);
			if (h->sock[1] >= 0) {
				close(h->sock[1]);
				h->sock[1] = -1;
			}
			(void)put_join(h);
		}
		if (h->s3 && h->s3u.upload_id[0])
			s3_abort(h);
		if (h->mode == HIB_SINK_WRITE && !h->s3 && !h->published &&
		    h->next_off > HEAD_BYTES && h->easy) {
			struct hib_http_request req = { .method = "DELETE", .url = h->part_url };
			struct hib_http_response resp;

			(void)request(h, &req, &resp);
		}
		/*
		 * The publication was sent but its answer lost or refused: the server may have
		 * done it anyway.  The hibernation failed, so no image may stay under the name.
		 */
		if (h->mode == HIB_SINK_WRITE && !h->published && h->publish_tried &&
		    delete_image(h) < 0)
			hib_warn("http: %s: the publication failed and the name could not be "
				 "cleared: delete it before the next boot", h->url);
		if (h->easy)
			sym_curl_easy_cleanup(h->easy);
		if (h->headers)
			sym_curl_slist_free_all(h->headers);
		free(h->win);
		free(h->s3u.part);
		free(h->s3u.etags);
		explicit_bzero(&h->config, sizeof(h->config));
		free(h);
	}
	free(s);
}

static const struct hib_sink_ops http_ops = {
	.write = http_write,
	.read = http_read,
	.sync = http_sync,
	.size = http_size,
	.close = http_close,
};

int hib_sink_open_http(const char *url, int mode, const struct hib_http_config *config,
		       struct hib_sink **ret_sink)
{
	struct hib_http_request req = { .method = "HEAD" };
	struct hib_http_response resp;
	struct hib_sink *s = NULL;
	struct http_sink *h;
	char why[256];
	int r;

	if (!hib_http_is_url(url) || !config || !ret_sink ||
	    (mode != HIB_SINK_READ && mode != HIB_SINK_WRITE && mode != HIB_SINK_UPDATE))
		return -EINVAL;
	if (strlen(url) >= HIB_HTTP_URL_MAX)
		return -ENAMETOOLONG;
	if (hib_s3_is_url(url)) {
		if (!s3_path_ok(url)) {
			hib_err("s3: %s: expected s3+http[s]://HOST[:PORT]/BUCKET/KEY, the key made of "
				"letters, digits and -._~/", url);
			return -EINVAL;
		}
		if (config->s3_part_size < HIB_S3_PART_MIN || config->s3_part_size > HIB_S3_PART_MAX)
			return -EINVAL;
	}
	if (!config->send) {
		r = hib_curl_dlopen(why, sizeof(why));
		if (r < 0) {
			hib_err("%s", why);
			return r;
		}
	}

	s = calloc(1, sizeof(*s));
	h = calloc(1, sizeof(*h));
	if (!s || !h) {
		free(s);
		free(h);
		return -ENOMEM;
	}
	s->ops = &http_ops;
	s->kind = HIB_SINK_OTHER;
	s->fd = -1;
	s->priv = h;
	s->writable = mode != HIB_SINK_READ;
	s->growable = mode == HIB_SINK_WRITE;
	snprintf(s->name, sizeof(s->name), "%s", url);
	h->mode = mode;
	h->config = *config;
	h->sock[0] = h->sock[1] = -1;
	h->next_off = HEAD_BYTES;
	h->s3 = hib_s3_is_url(url);
	snprintf(h->url, sizeof(h->url), "%s", h->s3 ? url + 3 : url);
	snprintf(h->part_url, sizeof(h->part_url), "%s.part", h->url);
	if (config->send) {
		/* a test's transport: no libcurl */
	} else if (h->s3) {
		/* SigV4 with the payload unhashed: libcurl signs this header too. */
		h->headers = sym_curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		if (!h->headers) {
			r = -ENOMEM;
			goto fail;
		}
	} else if (config->bearer_token[0]) {
		char hdr[HIB_HTTP_TOKEN_MAX + 32];

		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", config->bearer_token);
		h->headers = sym_curl_slist_append(NULL, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (!h->headers) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (!config->send) {
		h->easy = sym_curl_easy_init();
		if (!h->easy) {
			r = -ENOMEM;
			goto fail;
		}
		if (h->s3 && sym_curl_easy_setopt(h->easy, CURLOPT_AWS_SIGV4, "aws:amz:x:s3") !=
		    CURLE_OK) {
			hib_err("s3: this libcurl cannot sign requests (AWS SigV4 needs 7.75 or later)");
			r = -EOPNOTSUPP;
			goto fail;
		}
	}

	/* The server must answer now, before anything is frozen or restored. */
	req.url = h->url;
	r = request(h, &req, &resp);
	if (r < 0)
		goto fail;
	if (resp.status == 401 || resp.status == 403 ||
	    (resp.status == 400 && strncmp(url, "https://", 8) == 0)) {
		/* nginx answers 400 to a missing or untrusted client certificate */
		hib_warn("http: %s refused the request (HTTP %ld): %s", url, resp.status,
			 resp.status == 400 ? (config->client_cert ? "is the client certificate "
			 "signed by a CA the server trusts?" : "does it require a client "
			 "certificate (client-cert in [http] of hibernate.conf)?") :
			 h->s3 ? (config->s3_key_id[0] ? "are the S3 credentials right, and "
			 "allowed to use this bucket?" : "does it require S3 credentials "
			 "(s3-credentials-file in [http])?") :
			 config->bearer_token[0] ? "is the bearer token right?" :
			 "does it require a bearer token (token-file in [http])?");
		r = -EACCES;
		goto fail;
	}
	if (mode == HIB_SINK_WRITE) {
		if (resp.status >= 500) {
			r = -EIO;
			goto fail;
		}
		if (h->s3) {
			r = s3_open_upload(h, &s->write_buffer_bytes);
			if (r < 0)
				goto fail;
		}
	} else {
		r = hib_http_status_errno(resp.status);
		if (r < 0)
			goto fail;
		h->size = resp.length;
		h->win_cap = HIB_HTTP_WINDOW;
		h->win = malloc(h->win_cap);
		if (!h->win) {
			r = -ENOMEM;
			goto fail;
		}
		if (h->size >= HEAD_BYTES) {
			r = obj_read(h, h->head, HEAD_BYTES, h->size - HEAD_BYTES);
			if (r < 0)
				goto fail;
			h->win_len = 0;	/* the window is for the records */
		}
	}
	*ret_sink = s;
	return 0;

fail:
	http_close(s);
	return r;
}
