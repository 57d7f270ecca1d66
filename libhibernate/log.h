/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal logging: everything goes through the function the program installed. */
#ifndef HIB_LOG_H
#define HIB_LOG_H

#include "hibernate.h"

void hib_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hib_err(...)	hib_log(HIB_LOG_ERR, __VA_ARGS__)
#define hib_warn(...)	hib_log(HIB_LOG_WARNING, __VA_ARGS__)
#define hib_info(...)	hib_log(HIB_LOG_INFO, __VA_ARGS__)
#define hib_debug(...)	hib_log(HIB_LOG_DEBUG, __VA_ARGS__)

#endif /* HIB_LOG_H */
