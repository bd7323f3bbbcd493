/* sync-folders.h: which folders to sync, and what each side calls them
 *
 * Ferry names a folder in UTF-8 with "/" between levels ("INBOX",
 * "Archive/2024"); that is also what the Maildir side calls it. A server
 * names it with its own delimiter and often a prefix ("INBOX.Archive.2024"
 * on Courier or Cyrus), and users rename what they do not like
 * ("[Gmail]/Sent Mail" as "Sent"). This module maps between the two and
 * chooses folders with mbsync-style patterns.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FerrySyncFolderMap FerrySyncFolderMap;

FerrySyncFolderMap *ferry_sync_folder_map_new (const char *patterns,
                                               const char *strip_prefix,
                                               const char *const *renames,
                                               GError **error);
void ferry_sync_folder_map_free (FerrySyncFolderMap *self);

gboolean ferry_sync_folder_map_selects (FerrySyncFolderMap *self, const char *name);
char *ferry_sync_folder_map_from_far (FerrySyncFolderMap *self,
                                      const char *far_name,
                                      char delimiter,
                                      GError **error);
char *ferry_sync_folder_map_to_far (FerrySyncFolderMap *self,
                                    const char *name,
                                    char delimiter,
                                    GError **error);

gboolean ferry_sync_folder_name_is_inbox (const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySyncFolderMap, ferry_sync_folder_map_free)

G_END_DECLS
