// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HTTP (layout and protocol in http.h): the configuration, the retries, and the libcurl
 * transport shared by the WebDAV sink (webdav.c) and the S3 multipart upload (s3.c): one
 * easy handle for the short requests (retried by hib_http_do()); webdav.c runs one more on a
 * thread for the streamed PUT.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http-internal.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define BACKOFF_MAX_MS	8000u

/* ---- configuration ------------------------------------------------------------------------- */

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
	int r;

	if (!path || !ret_token)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	r = hib_secret_fd_check(fileno(f));
	if (r < 0)
		return r;
	return read_line(f, ret_token, HIB_HTTP_TOKEN_MAX, true);
}

void hib_http_config_defaults(struct hib_http_config *ret_config)
{
	*ret_config = (struct hib_http_config){
		.retries = 3,
		.backoff_ms = 200,
		.connect_timeout_ms = 10000,
		.timeout_ms = 60000,
		.stall_timeout_s = 30,
		.s3_region = "us-east-1",
		.s3_part_size = HIB_S3_PART_DEFAULT,
	};
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
	r = hib_secret_fd_check(fileno(f));
	if (r < 0)
		return r;
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

bool hib_s3_is_url(const char *path)
{
	return path && (strncmp(path, "s3+http://", 10) == 0 || strncmp(path, "s3+https://", 11) == 0);
}

void hib_url_shown(const char *url, char *buf, size_t size)
{
	const char *host = strstr(url, "://"), *at, *slash;
	size_t n;

	if (!size)
		return;
	buf[0] = 0;
	if (host) {
		host += 3;
		slash = host + strcspn(host, "/?#");
		at = memchr(host, '@', (size_t)(slash - host));
		n = (size_t)(host - url);
		snprintf(buf, size, "%.*s", (int)n, url);
		url = at ? at + 1 : host;
	}
	n = strcspn(url, "?#");
	snprintf(buf + strlen(buf), size - strlen(buf), "%.*s%s", (int)n, url,
		 url[n] ? "?..." : "");
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

int hib_http_curl_errno(CURLcode c)
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

size_t hib_http_discard_cb(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

void hib_http_common_opts(struct http_sink *h, CURL *e)
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
	hib_http_common_opts(h, e);
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
		sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, req->buf ? get_cb : hib_http_discard_cb);
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
		r = hib_http_curl_errno(c);
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

int hib_http_sink_do(struct http_sink *h, struct hib_http_request *req,
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
