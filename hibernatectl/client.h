/* SPDX-License-Identifier: GPL-2.0-only */
/* hibernatectl as a client of hibernated (doc/hibernated.8.md, PROTOCOL). */
#ifndef HIBERNATECTL_CLIENT_H
#define HIBERNATECTL_CLIENT_H

#include <stdio.h>

#include "args.h"

#define HIBCTL_DAEMON_SOCKET "/run/hibernated.sock"
/* A request's size limit, the final empty line included (hibernated/request.h). */
#define HIBCTL_REQUEST_MAX 4096

/*
 * The daemon's socket ($HIBERNATED_SOCKET or /run/hibernated.sock) if it exists and
 * $HIBERNATECTL_NO_DAEMON is unset; else NULL.
 */
const char *hibctl_daemon_socket(void);

/*
 * `hibernate` through hibernated: the options given on the command line in @args as the
 * daemon's typed request (op=hibernate, test=, target=, ...; paths made absolute), the
 * daemon's output copied to @out.  Returns the exit code the daemon sends ("hibernated: exit
 * N"), 1 if it went away without one, 2 for an option it cannot take (--policy-dir).
 */
int hibctl_request_hibernate(const char *sock, const struct hibctl_args *args, FILE *out,
			     FILE *err);
/* op=status: what the daemon is doing, copied to @out; its exit code (1 if it vanished). */
int hibctl_request_status(const char *sock, FILE *out, FILE *err);

#endif /* HIBERNATECTL_CLIENT_H */
