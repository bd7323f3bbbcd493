/* sync-store-imap.h: an IMAP account as a sync store
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "core/config.h"
#include "sync/sync-store.h"

G_BEGIN_DECLS

FerryStore *ferry_store_imap_new (const FerryAccount *account,
                                  guint timeout_seconds,
                                  GCancellable *cancellable,
                                  GError **error);

G_END_DECLS
