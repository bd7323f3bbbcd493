/* sync-store-imap.h: an IMAP account as a sync store
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "core/config.h"
#include "sync/sync-store.h"

G_BEGIN_DECLS

typedef struct
{
  guint timeout_seconds; /* how long the server may stay silent */
  /* What ferry_store_imap_get_capabilities() said of this server the
   * last time, or NULL. */
  const char *known_capabilities;
  /* Whether to ask for the folder list with the login, for a store whose
   * first call is ferry_store_list_folders(). */
  gboolean list_at_login;
} FerryStoreImapOptions;

FerryStore *ferry_store_imap_new (const FerryAccount *account,
                                  const FerryStoreImapOptions *options,
                                  GCancellable *cancellable,
                                  GError **error);
const char *ferry_store_imap_get_capabilities (FerryStore *store);

G_END_DECLS
