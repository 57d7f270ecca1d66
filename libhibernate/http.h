/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: an image on an HTTP server (any server that takes PUT, MOVE and ranged GET:
 * nginx with its WebDAV module), behind the sink interface of sink.h.  Same conventions:
 * 0 / non-negative or -errno, ret_* written only on success, free functions accept NULL, no
 * printing.  The code: http.c (configuration, retries, the libcurl transport), webdav.c (the
 * sink: HEAD, ranged GET, streamed PUT, MOVE publication), s3.c (the multipart upload).
 *
 * Layout on the server.  The image writer writes the header block at offset 0 and the commit
 * block ("valid" mark) at 4096 first and last, the records in between strictly in order.  An
 * HTTP upload is one sequential stream, so the sink keeps those two blocks
 * (HIB_IMAGE_DATA_OFFSET bytes) in memory and sends them as the object's *trailer*: the
 * object holds image bytes 8192.. first, then the header and commit blocks.  Reading maps
 * offsets back (image offset o < 8192 is object offset size - 8192 + o, the rest o - 8192),
 * so the image reader sees the usual layout.  Only the 8 KiB of the two blocks and one
 * read-ahead window are ever in memory, never the image.
 *
 * Writing (HIB_SINK_WRITE): the records stream through one chunked PUT to URL.part (started
 * on the first record, fed by a thread that runs libcurl); sync() is a no-op until the commit
 * block holds a valid mark, then it sends the trailer, completes the PUT and publishes with a
 * WebDAV MOVE URL.part -> URL (Overwrite: T): a half-written image is never visible under URL.
 * Closing an unpublished sink aborts the PUT and DELETEs URL.part.
 *
 * Reading (HIB_SINK_READ / UPDATE): HEAD for the size, ranged GETs (one window of
 * HIB_HTTP_WINDOW bytes at a time).  In UPDATE mode, a sync() after the commit block was
 * cleared (hib_image_invalidate(), one-shot resume) DELETEs URL.
 *
 * S3 (s3+http://HOST[:PORT]/BUCKET/KEY, s3+https://...: path-style addressing, the URL
 * without "s3+").  Requests are signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4, "x-amz-content-sha256: UNSIGNED-PAYLOAD": the body is not hashed,
 * TLS protects it and the image authenticates itself).  Writing is a multipart upload:
 * CreateMultipartUpload when the sink opens (so bad credentials or a missing bucket are
 * found before anything is frozen), the records in parts of s3_part_size bytes buffered in
 * memory (allocated at open, as is everything the upload needs, but touched only while
 * writing: the sink's write_buffer_bytes says how much; a part is retried like any short
 * request), the trailer in the last part, then CompleteMultipartUpload: the object
 * appears under KEY only then, whole.  Closing an unpublished sink aborts the upload
 * (AbortMultipartUpload), so no parts are left stored.  Reading, deleting: as for WebDAV.
 *
 * Every request but the streamed PUT is retried (bounded, with backoff) on a transport error
 * or a 408/429/5xx answer.  TLS certificates are verified for https (libcurl's default, never
 * turned off).  With client_cert set, libcurl presents it (CURLOPT_SSLCERT / SSLKEY) to a
 * server that asks for one (nginx: ssl_verify_client on).  A server that refuses the request
 * (400 from nginx when the certificate is missing or not trusted, 401, 403) gives -EACCES
 * and a log line saying so.
 */
#ifndef LIBHIBERNATE_HTTP_H
#define LIBHIBERNATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_HTTP_WINDOW		(4u << 20)
#define HIB_HTTP_TOKEN_MAX	4096
#define HIB_HTTP_URL_MAX	2048
#define HIB_S3_KEY_MAX		128
#define HIB_S3_PART_MIN		(5u << 20)	/* S3's smallest part but the last */
#define HIB_S3_PART_MAX		(512u << 20)
#define HIB_S3_PART_DEFAULT	(8u << 20)
#define HIB_S3_PARTS_MAX	10000u		/* S3's limit */
#define HIB_S3_ETAG_MAX		80
#define HIB_S3_UPLOAD_ID_MAX	1024

/* ---- the retry logic, with a transport that tests can script -------------------------------- */

struct hib_http_request {
	const char *method;		/* HEAD, GET, MOVE, DELETE, PUT, POST */
	const char *url;
	const char *destination;	/* MOVE */
	uint64_t range_off;		/* GET: bytes range_off .. range_off + range_len - 1 */
	size_t range_len;		/* GET: 0 for none */
	void *buf;			/* GET: room for range_len bytes; else the answer's body */
	size_t buf_cap;			/* without a range: room in buf (the rest is dropped) */
	const void *body;		/* PUT, POST: the request body */
	size_t body_len;
};

struct hib_http_response {
	long status;
	size_t got;			/* GET: bytes received (into buf) */
	uint64_t length;		/* HEAD: Content-Length */
	char etag[HIB_S3_ETAG_MAX];	/* the ETag header, "" if none (or too long) */
};

/* One attempt: 0 with *resp filled (any status), or -errno for a transport failure. */
typedef int (*hib_http_send_fn)(void *ud, const struct hib_http_request *req,
				struct hib_http_response *resp);

struct hib_http_config {
	char bearer_token[HIB_HTTP_TOKEN_MAX];	/* "" for none */
	const char *ca_file;		/* NULL: the system's CA store */
	const char *client_cert;	/* PEM client certificate (https); NULL: none */
	const char *client_key;		/* its PEM private key; NULL: in client_cert */
	unsigned int retries;		/* extra attempts of a failed request */
	unsigned int backoff_ms;	/* first wait; doubles, at most 8 s */
	unsigned int connect_timeout_ms;
	unsigned int timeout_ms;	/* a whole non-streamed request */
	unsigned int stall_timeout_s;	/* streamed PUT: abort after this long without progress */
	/* S3 */
	char s3_key_id[HIB_S3_KEY_MAX];	/* access key id; "" for unsigned requests */
	char s3_secret[HIB_S3_KEY_MAX];	/* secret access key */
	char s3_region[64];		/* "us-east-1" by default */
	size_t s3_part_size;		/* multipart part size (HIB_S3_PART_MIN..MAX) */
	/* Tests: a transport instead of libcurl (NULL: libcurl). */
	hib_http_send_fn send;
	void *send_ud;
};

/*
 * The defaults (3 retries, 60 s per request, us-east-1, 8 MiB parts, no token).  The
 * environment and hibernate.conf are applied once, by hib_conf_resolve() and
 * hib_conf_http_config() (conf.h).
 */
void hib_http_config_defaults(struct hib_http_config *ret_config);

/*
 * A bearer token from the first line of @path into @ret_token.  -EINVAL if empty, too long or
 * not printable, -errno if unreadable.
 */
int hib_http_read_token(const char *path, char ret_token[HIB_HTTP_TOKEN_MAX]);

/*
 * @url as it may be shown in messages and logs: without its query string (a presigned URL's
 * signature) and without user:password@.  Always terminated.
 */
void hib_url_shown(const char *url, char *buf, size_t size);

/* Is @path an http://, https://, s3+http:// or s3+https:// URL? */
bool hib_http_is_url(const char *path);

/* @region into config->s3_region: letters, digits and '-'; -EINVAL otherwise. */
int hib_s3_set_region(struct hib_http_config *config, const char *region);

/* Is @path an s3+http:// or s3+https:// URL? */
bool hib_s3_is_url(const char *path);

/*
 * S3 credentials from @path: the access key id on the first line, the secret access key on
 * the second (as `aws configure` asks for them).  -EINVAL if a line is missing, empty, too
 * long or not printable, -errno if unreadable.
 */
int hib_s3_read_credentials(const char *path, char ret_key_id[HIB_S3_KEY_MAX],
			    char ret_secret[HIB_S3_KEY_MAX]);

/*
 * The UploadId of a CreateMultipartUpload answer (@len bytes of XML) into @ret (@size bytes).
 * -EPROTO if there is none, it is too long, or it has characters a URL query would need to
 * escape.
 */
int hib_s3_parse_upload_id(const char *xml, size_t len, char *ret, size_t size);

/*
 * Open the image at @url (http:// or https://) as a sink, in any of the hib_sink_open() modes.
 * Checks that the server answers (HEAD) before returning; for reading, -ENOENT if there is no
 * object, -EACCES if refused.
 */
int hib_sink_open_http(const char *url, int mode, const struct hib_http_config *config,
		       struct hib_sink **ret_sink);

typedef void (*hib_http_sleep_fn)(void *ud, unsigned int ms);

/* Whether an attempt's outcome (@err < 0, else @status) is worth another try. */
bool hib_http_transient(int err, long status);

/*
 * Send @req through @send, up to 1 + config->retries times while the outcome is transient,
 * sleeping backoff_ms, 2 * backoff_ms, ... (at most 8 s) in between through @sleep (NULL:
 * nanosleep).  Returns 0 with *ret_resp the last answer (whatever its status), or the last
 * transport error.  *ret_attempts (may be NULL) gets the number of attempts.
 */
int hib_http_do(const struct hib_http_config *config, hib_http_send_fn send, void *send_ud,
		hib_http_sleep_fn sleep, void *sleep_ud, const struct hib_http_request *req,
		struct hib_http_response *ret_resp, unsigned int *ret_attempts);

/* An HTTP status as -errno: 2xx 0, 404/410 -ENOENT, 401/403 -EACCES, 413/507 -ENOSPC,
 * 416 -ENODATA, else -EIO. */
int hib_http_status_errno(long status);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_HTTP_H */
