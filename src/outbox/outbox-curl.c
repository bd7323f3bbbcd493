/* outbox-curl.c: libcurl, loaded when the first message is sent
 *
 * libcurl brings some thirty libraries with it (TLS, Kerberos, LDAP,
 * SSH, HTTP/2...), and loading and relocating them took 8 ms of every
 * start of `ferry` on a 2-core machine, a third of a resync that finds
 * nothing to do, although only delivery needs libcurl. So it is opened
 * with GModule the first time a message is sent, by the soname that its
 * ABI has kept since curl 7.16, and the functions Ferry calls are looked
 * up in it. The headers it is compiled against are the same libcurl's.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <gmodule.h>

#include "core/shared-library.h"
#include "outbox/outbox-curl.h"

#define LIBCURL_SONAME "libcurl.so.4"

#define CURL_SYMBOL(member) FERRY_SHARED_LIBRARY_SYMBOL ("curl_", FerryOutboxCurl, member)

static const FerrySharedLibrarySymbol symbols[] = {
  CURL_SYMBOL (easy_init),    CURL_SYMBOL (easy_setopt),    CURL_SYMBOL (easy_perform),
  CURL_SYMBOL (easy_getinfo), CURL_SYMBOL (easy_cleanup),   CURL_SYMBOL (easy_strerror),
  CURL_SYMBOL (slist_append), CURL_SYMBOL (slist_free_all),
};

/* libcurl's global state lives as long as the process does. */
static char *
initialize (GModule *module, gconstpointer loaded)
{
  const FerryOutboxCurl *functions = loaded;
  CURLcode (*global_init) (long flags) = NULL;
  CURLcode code;

  if (!g_module_symbol (module, "curl_global_init", (gpointer *) &global_init))
    return g_strdup_printf ("%s has no curl_global_init: %s", LIBCURL_SONAME, g_module_error ());
  code = global_init (CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK)
    return g_strdup_printf ("Cannot initialize libcurl: %s", functions->easy_strerror (code));
  return NULL;
}

static FerryOutboxCurl functions;
static FerrySharedLibrary libcurl
    = FERRY_SHARED_LIBRARY_INIT (LIBCURL_SONAME, "sending mail", symbols, &functions, initialize);

/**
 * ferry_outbox_curl_get:
 * @error: FERRY_ERROR_UNAVAILABLE when libcurl cannot be loaded or set up
 *
 * Loads libcurl the first time, from any thread.
 *
 * Returns: (transfer none) (nullable): libcurl's functions, for the
 *   life of the process
 */
const FerryOutboxCurl *
ferry_outbox_curl_get (GError **error)
{
  return ferry_shared_library_load (&libcurl, error) ? &functions : NULL;
}
