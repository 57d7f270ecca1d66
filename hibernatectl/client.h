/* SPDX-License-Identifier: GPL-2.0-only */
/* hibernatectl as a client of hibernated. */
#ifndef HIBERNATECTL_CLIENT_H
#define HIBERNATECTL_CLIENT_H

#include <stdio.h>

#include "args.h"

#define HIBCTL_DAEMON_SOCKET "/run/hibernated.sock"

/*
 * The daemon's socket ($HIBERNATED_SOCKET or /run/hibernated.sock) if it exists and
 * $HIBERNATECTL_NO_DAEMON is unset; else NULL.
 */
const char *hibctl_daemon_socket(void);
/* Send argv[1..] to hibernated, copy its progress lines to @out; its exit code. */
int hibctl_request(const char *path, int argc, char *const *argv, FILE *out, FILE *err);

#endif /* HIBERNATECTL_CLIENT_H */
