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

#include "core/errors.h"
#include "outbox/outbox-curl.h"

#define LIBCURL_SONAME "libcurl.so.4"

typedef struct
{
  FerryOutboxCurl functions;
  char *problem; /* why it could not be loaded, or NULL */
} LoadedCurl;

typedef struct
{
  const char *name;
  gsize offset;
} CurlSymbol;

#define CURL_SYMBOL(member)                                                                        \
  {                                                                                                \
    "curl_" #member, G_STRUCT_OFFSET (FerryOutboxCurl, member)                                     \
  }

static const CurlSymbol symbols[] = {
  CURL_SYMBOL (easy_init),    CURL_SYMBOL (easy_setopt),    CURL_SYMBOL (easy_perform),
  CURL_SYMBOL (easy_getinfo), CURL_SYMBOL (easy_cleanup),   CURL_SYMBOL (easy_strerror),
  CURL_SYMBOL (slist_append), CURL_SYMBOL (slist_free_all),
};

static char *
look_up_functions (GModule *module, FerryOutboxCurl *functions)
{
  for (gsize i = 0; i < G_N_ELEMENTS (symbols); i++)
    {
      gpointer address = NULL;

      if (!g_module_symbol (module, symbols[i].name, &address) || address == NULL)
        return g_strdup_printf ("%s has no %s: %s", LIBCURL_SONAME, symbols[i].name,
                                g_module_error ());
      G_STRUCT_MEMBER (gpointer, functions, symbols[i].offset) = address;
    }
  return NULL;
}

static char *
initialize (GModule *module, const FerryOutboxCurl *functions)
{
  CURLcode (*global_init) (long flags) = NULL;
  CURLcode code;

  if (!g_module_symbol (module, "curl_global_init", (gpointer *) &global_init))
    return g_strdup_printf ("%s has no curl_global_init: %s", LIBCURL_SONAME, g_module_error ());
  code = global_init (CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK)
    return g_strdup_printf ("Cannot initialize libcurl: %s", functions->easy_strerror (code));
  return NULL;
}

/* Loaded once for the whole process, and never unloaded: libcurl's
 * global state lives as long as the process does. */
static gpointer
load (gpointer data)
{
  LoadedCurl *loaded = g_new0 (LoadedCurl, 1);
  GModule *module = g_module_open (LIBCURL_SONAME, G_MODULE_BIND_LOCAL);

  if (module == NULL)
    {
      loaded->problem = g_strdup_printf ("Cannot load libcurl, which sending mail needs: %s",
                                         g_module_error ());
      return loaded;
    }
  g_module_make_resident (module);
  loaded->problem = look_up_functions (module, &loaded->functions);
  if (loaded->problem == NULL)
    loaded->problem = initialize (module, &loaded->functions);
  return loaded;
}

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
  static GOnce once = G_ONCE_INIT;
  const LoadedCurl *loaded = g_once (&once, load, NULL);

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (loaded->problem != NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE, loaded->problem);
      return NULL;
    }
  return &loaded->functions;
}
