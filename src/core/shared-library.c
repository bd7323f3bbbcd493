/* shared-library.c: a library opened when it is first needed
 *
 * Some libraries Ferry uses are needed by few of its runs but cost every
 * run their loading and relocation: libcurl (delivery only), libsecret
 * (the keyring, which an account with a password-command never asks) and
 * GMime (reading a message, which a sync never does).
 * They are opened with GModule by the soname of the ABI Ferry is compiled
 * against, made resident, and the functions Ferry calls are looked up
 * into a struct of pointers with the library's own signatures.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <gmodule.h>

#include "core/errors.h"
#include "core/shared-library.h"

/* Runs once for the process; returns why it failed, or NULL. */
static gpointer
open_library (gpointer data)
{
  const FerrySharedLibrary *library = data;
  GModule *module = g_module_open (library->soname, G_MODULE_BIND_LOCAL);

  if (module == NULL)
    return g_strdup_printf ("Cannot load %s, which %s needs: %s", library->soname,
                            library->needed_for, g_module_error ());
  g_module_make_resident (module);
  for (gsize i = 0; i < library->n_symbols; i++)
    {
      const FerrySharedLibrarySymbol *symbol = &library->symbols[i];
      gpointer address = NULL;

      if (!g_module_symbol (module, symbol->name, &address) || address == NULL)
        return g_strdup_printf ("%s has no %s: %s", library->soname, symbol->name,
                                g_module_error ());
      G_STRUCT_MEMBER (gpointer, library->functions, symbol->offset) = address;
    }
  if (library->initialize != NULL)
    return library->initialize (module, library->functions);
  return NULL;
}

/**
 * ferry_shared_library_load:
 * @library: the library, static
 * @error: FERRY_ERROR_UNAVAILABLE when it cannot be loaded or set up
 *
 * Opens @library and fills in its functions the first time, from any
 * thread; later calls give the first one's answer. The library is never
 * unloaded.
 *
 * Returns: whether its functions can be called
 */
gboolean
ferry_shared_library_load (FerrySharedLibrary *library, GError **error)
{
  const char *problem;

  g_return_val_if_fail (library != NULL && library->functions != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  problem = g_once (&library->once, open_library, library);
  if (problem != NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE, problem);
      return FALSE;
    }
  return TRUE;
}
