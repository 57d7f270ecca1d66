/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcurl, loaded with dlopen() when an HTTP target is used (as systemd loads its optional
 * libraries).  Linked normally, libcurl and the TLS, compression, IDN, LDAP and Kerberos
 * libraries it needs (about 16 MiB) would be mapped and locked by every hibernatectl, and
 * sit in every initramfs: memory the snapshot has to copy, for a feature most machines do
 * not use.  http.c calls the sym_ pointers only after hib_curl_dlopen() succeeded.
 */
#ifndef LIBHIBERNATE_CURL_DL_H
#define LIBHIBERNATE_CURL_DL_H

#include <curl/curl.h>

#define HIB_CURL_SONAME "libcurl.so.4"

extern CURLcode (*sym_curl_global_init)(long flags);
extern CURL *(*sym_curl_easy_init)(void);
extern void (*sym_curl_easy_cleanup)(CURL *e);
extern void (*sym_curl_easy_reset)(CURL *e);
extern CURLcode (*sym_curl_easy_setopt)(CURL *e, CURLoption option, ...);
extern CURLcode (*sym_curl_easy_getinfo)(CURL *e, CURLINFO info, ...);
extern CURLcode (*sym_curl_easy_perform)(CURL *e);
extern const char *(*sym_curl_easy_strerror)(CURLcode c);
extern struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
extern void (*sym_curl_slist_free_all)(struct curl_slist *l);

/*
 * Load libcurl once (thread safe) and call curl_global_init().  0, or -EOPNOTSUPP with the
 * loader's reason in @why (libcurl missing or without a symbol).
 */
int hib_curl_dlopen(char *why, size_t why_size);

#endif
