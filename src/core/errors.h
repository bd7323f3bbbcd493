/* errors.h: Ferry's error domain and its mapping to sysexits.h
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FERRY_ERROR (ferry_error_quark ())

/* Each code names a kind of failure a caller may act on differently; the
 * command-line tools turn them into the sysexits.h code sendmail would use. */
typedef enum
{
  FERRY_ERROR_USAGE,       /* bad command line: EX_USAGE */
  FERRY_ERROR_DATA,        /* bad message or input data: EX_DATAERR */
  FERRY_ERROR_NO_INPUT,    /* an input file is missing: EX_NOINPUT */
  FERRY_ERROR_NO_USER,     /* unknown account: EX_NOUSER */
  FERRY_ERROR_NO_HOST,     /* host name does not resolve: EX_NOHOST */
  FERRY_ERROR_UNAVAILABLE, /* a service we need is not there: EX_UNAVAILABLE */
  FERRY_ERROR_CANT_CREATE, /* cannot create a file we must write: EX_CANTCREAT */
  FERRY_ERROR_IO,          /* an I/O error on a file we own: EX_IOERR */
  FERRY_ERROR_TEMP_FAIL,   /* try again later (disk full, network down): EX_TEMPFAIL */
  FERRY_ERROR_PROTOCOL,    /* the server said something we cannot accept: EX_PROTOCOL */
  FERRY_ERROR_NO_PERM,     /* refused (authentication, permissions): EX_NOPERM */
  FERRY_ERROR_CONFIG,      /* the configuration is wrong: EX_CONFIG */
  FERRY_ERROR_NOT_FOUND,   /* no such queue entry or item: EX_DATAERR */
  FERRY_ERROR_BUSY,        /* another process holds the lock: EX_TEMPFAIL */
} FerryError;

GQuark ferry_error_quark (void);

int ferry_error_exit_code (const GError *error);

G_END_DECLS
