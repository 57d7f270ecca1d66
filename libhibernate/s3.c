// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The S3 multipart upload (protocol in http.h), what the HTTP sink (webdav.c) writes through
 * instead of the streamed PUT for an s3+http[s]:// URL: CreateMultipartUpload at open, the
 * records in buffered parts, the trailer in the last, CompleteMultipartUpload to publish,
 * AbortMultipartUpload otherwise.  Requests go through http.c's transport.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"
#include "log.h"
#include "macro.h"

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
	/* A server's words: printable only (no terminal escapes). */
	hib_sanitize(ret, size, p, n);
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
	hib_warn("s3: %s of %s refused (HTTP %ld): %s: %s", what, h->shown, resp->status, code, msg);
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
	r = hib_http_sink_do(h, req, &resp);
	if (r < 0) {
		hib_warn("s3: %s of %s: %s", what, h->shown, strerror(-r));
		return r;
	}
	r = s3_answer(h, what, &resp);
	if (r == 0 && strcmp(req->method, "PUT") == 0) {
		if (!resp.etag[0]) {
			hib_warn("s3: %s of %s: the answer has no ETag", what, h->shown);
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
		hib_warn("s3: CreateMultipartUpload of %s: no usable UploadId in the answer", h->shown);
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
		hib_warn("s3: %s: more than %u parts of %zu MiB: raise the part size", h->shown,
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
void hib_s3_abort(struct http_sink *h)
{
	char url[S3_URL_MAX];
	struct hib_http_request req = { .method = "DELETE", .url = url, .buf = h->s3u.answer,
					.buf_cap = sizeof(h->s3u.answer) - 1 };
	struct hib_http_response resp;

	snprintf(url, sizeof(url), "%s?uploadId=%s", h->url, h->s3u.upload_id);
	h->s3u.upload_id[0] = 0;
	if (hib_http_sink_do(h, &req, &resp) < 0)
		hib_warn("s3: AbortMultipartUpload of %s failed: its parts stay stored until the "
			 "bucket's lifecycle rules drop them", h->shown);
	else if (resp.status == 404)
		hib_debug("s3: %s: no upload to abort", h->shown);
	else if (s3_answer(h, "AbortMultipartUpload", &resp) == 0)
		hib_debug("s3: %s: upload aborted, %u part(s) dropped", h->shown, h->s3u.parts);
}

int hib_s3_write(struct http_sink *h, const uint8_t *p, size_t len)
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
int hib_s3_publish(struct http_sink *h)
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
int hib_s3_open_upload(struct http_sink *h, size_t *ret_buffer_bytes)
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
bool hib_s3_path_ok(const char *url)
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
