/* secret-service.c: libsecret, loaded when the keyring is first asked
 *
 * libsecret brings libgcrypt with it, and loading both cost 0.27 ms of
 * every start of `ferry` on a 2-core machine, where an account with a
 * password-command never asks the keyring. So it is opened the first
 * time a password is looked up, stored or removed there, by the soname
 * of the ABI it has kept since 0.7 (see core/shared-library.c).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "core/secret-service.h"
#include "core/shared-library.h"

#define LIBSECRET_SONAME "libsecret-1.so.0"

#define SECRET_SYMBOL(member) FERRY_SHARED_LIBRARY_SYMBOL ("secret_", FerrySecretService, member)

static const FerrySharedLibrarySymbol symbols[] = {
  SECRET_SYMBOL (password_searchv_sync), SECRET_SYMBOL (password_lookupv_nonpageable_sync),
  SECRET_SYMBOL (password_storev_sync),  SECRET_SYMBOL (password_clearv_sync),
  SECRET_SYMBOL (password_free),
};

static FerrySecretService functions;
static FerrySharedLibrary libsecret
    = FERRY_SHARED_LIBRARY_INIT (LIBSECRET_SONAME, "the keyring", symbols, &functions, NULL);

/**
 * ferry_secret_service_get:
 * @error: FERRY_ERROR_UNAVAILABLE when libsecret cannot be loaded
 *
 * Loads libsecret the first time, from any thread.
 *
 * Returns: (transfer none) (nullable): libsecret's functions, for the
 *   life of the process
 */
const FerrySecretService *
ferry_secret_service_get (GError **error)
{
  return ferry_shared_library_load (&libsecret, error) ? &functions : NULL;
}
