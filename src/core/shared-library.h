/* shared-library.h: a library opened when it is first needed
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gmodule.h>

G_BEGIN_DECLS

/* One function to look up, and where in a struct of function pointers
 * its address goes. */
typedef struct
{
  const char *name;
  gsize offset;
} FerrySharedLibrarySymbol;

#define FERRY_SHARED_LIBRARY_SYMBOL(prefix, type, member)                                          \
  {                                                                                                \
    prefix #member, G_STRUCT_OFFSET (type, member)                                                 \
  }

/* Sets up the library once it is loaded and @functions are filled in;
 * returns why it failed, in words for the user, or NULL. */
typedef char *(*FerrySharedLibraryInitialize) (GModule *module, gconstpointer functions);

/* A library and the functions to find in it; define one static for each
 * library, with FERRY_SHARED_LIBRARY_INIT. */
typedef struct
{
  const char *soname;
  const char *needed_for;
  const FerrySharedLibrarySymbol *symbols;
  gsize n_symbols;
  gpointer functions;
  FerrySharedLibraryInitialize initialize;
  GOnce once;
} FerrySharedLibrary;

#define FERRY_SHARED_LIBRARY_INIT(soname, needed_for, symbols, functions, initialize)              \
  {                                                                                                \
    soname, needed_for, symbols, G_N_ELEMENTS (symbols), functions, initialize, G_ONCE_INIT        \
  }

gboolean ferry_shared_library_load (FerrySharedLibrary *library, GError **error);

G_END_DECLS
