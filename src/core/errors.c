/* errors.c: Ferry's error domain and its mapping to sysexits.h
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <sysexits.h>

#include "errors.h"

/* clang-format off */
G_DEFINE_QUARK (ferry-error-quark, ferry_error)
/* clang-format on */

static int
exit_code_for_io_error (int code)
{
  switch (code)
    {
      case G_IO_ERROR_NO_SPACE:
        return EX_TEMPFAIL;
      case G_IO_ERROR_PERMISSION_DENIED:
      case G_IO_ERROR_READ_ONLY:
      case G_IO_ERROR_NOT_DIRECTORY:
      case G_IO_ERROR_IS_DIRECTORY:
      case G_IO_ERROR_EXISTS:
        return EX_CANTCREAT;
      case G_IO_ERROR_NOT_FOUND:
        return EX_NOINPUT;
      default:
        return EX_IOERR;
    }
}

/**
 * ferry_error_exit_code:
 * @error: (nullable): the error a command ended with
 *
 * Returns: the sysexits.h code a sendmail-compatible program exits with for
 *   @error, or 0 when @error is %NULL.
 */
int
ferry_error_exit_code (const GError *error)
{
  if (error == NULL)
    return EX_OK;

  if (error->domain == G_IO_ERROR)
    return exit_code_for_io_error (error->code);

  if (error->domain != FERRY_ERROR)
    return EX_SOFTWARE;

  switch ((FerryError) error->code)
    {
      case FERRY_ERROR_USAGE:
        return EX_USAGE;
      case FERRY_ERROR_DATA:
      case FERRY_ERROR_NOT_FOUND:
        return EX_DATAERR;
      case FERRY_ERROR_NO_INPUT:
        return EX_NOINPUT;
      case FERRY_ERROR_NO_USER:
        return EX_NOUSER;
      case FERRY_ERROR_NO_HOST:
        return EX_NOHOST;
      case FERRY_ERROR_UNAVAILABLE:
        return EX_UNAVAILABLE;
      case FERRY_ERROR_CANT_CREATE:
        return EX_CANTCREAT;
      case FERRY_ERROR_IO:
        return EX_IOERR;
      case FERRY_ERROR_TEMP_FAIL:
      case FERRY_ERROR_BUSY:
        return EX_TEMPFAIL;
      case FERRY_ERROR_PROTOCOL:
        return EX_PROTOCOL;
      case FERRY_ERROR_NO_PERM:
        return EX_NOPERM;
      case FERRY_ERROR_CONFIG:
        return EX_CONFIG;
      default:
        return EX_SOFTWARE;
    }
}
