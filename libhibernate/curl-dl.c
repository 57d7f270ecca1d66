// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libcurl through dlopen() (see curl-dl.h for why).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "curl-dl.h"

CURLcode (*sym_curl_global_init)(long flags);
CURL *(*sym_curl_easy_init)(void);
void (*sym_curl_easy_cleanup)(CURL *e);
void (*sym_curl_easy_reset)(CURL *e);
CURLcode (*sym_curl_easy_setopt)(CURL *e, CURLoption option, ...);
CURLcode (*sym_curl_easy_getinfo)(CURL *e, CURLINFO info, ...);
CURLcode (*sym_curl_easy_perform)(CURL *e);
const char *(*sym_curl_easy_strerror)(CURLcode c);
struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
void (*sym_curl_slist_free_all)(struct curl_slist *l);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_result;
static char load_why[256];

#define SYM(name) { #name, (void **)&sym_##name }

static void load(void)
{
	static const struct {
		const char *name;
		void **ptr;
	} syms[] = {
		SYM(curl_global_init),
		SYM(curl_easy_init),
		SYM(curl_easy_cleanup),
		SYM(curl_easy_reset),
		SYM(curl_easy_setopt),
		SYM(curl_easy_getinfo),
		SYM(curl_easy_perform),
		SYM(curl_easy_strerror),
		SYM(curl_slist_append),
		SYM(curl_slist_free_all),
	};
	void *dl;
	size_t i;

	dl = dlopen(HIB_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(load_why, sizeof(load_why), "HTTP targets need %s: %s", HIB_CURL_SONAME,
			 dlerror());
		load_result = -EOPNOTSUPP;
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].ptr = dlsym(dl, syms[i].name);
		if (!*syms[i].ptr) {
			snprintf(load_why, sizeof(load_why), "%s has no %s", HIB_CURL_SONAME,
				 syms[i].name);
			load_result = -EOPNOTSUPP;
			/* Keep it loaded: a half-filled table must never be called. */
			return;
		}
	}
	if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_why, sizeof(load_why), "curl_global_init() failed");
		load_result = -EIO;
	}
}

int hib_curl_dlopen(char *why, size_t why_size)
{
	pthread_once(&once, load);
	if (load_result < 0 && why && why_size)
		snprintf(why, why_size, "%s", load_why);
	return load_result;
}
