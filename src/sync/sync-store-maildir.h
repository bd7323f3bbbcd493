/* sync-store-maildir.h: a tree of Maildirs as a sync store
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "core/config.h"
#include "sync/sync-store.h"

G_BEGIN_DECLS

FerryStore *ferry_store_maildir_new (const char *root,
                                     FerrySubfolders subfolders,
                                     const char *inbox,
                                     GError **error);
void ferry_store_maildir_join (FerryStore *self, FerryStore *sibling);

G_END_DECLS
