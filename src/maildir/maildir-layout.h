/* maildir-layout.h: where an account's folders live under its Maildir root
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "maildir/maildir-folder.h"

G_BEGIN_DECLS

typedef struct _FerryMaildirLayout FerryMaildirLayout;

FerryMaildirLayout *ferry_maildir_layout_new (const char *root,
                                              FerrySubfolders style,
                                              const char *inbox_path,
                                              GError **error);
void ferry_maildir_layout_free (FerryMaildirLayout *self);
const char *ferry_maildir_layout_get_root (FerryMaildirLayout *self);
const char *ferry_maildir_layout_get_inbox_path (FerryMaildirLayout *self);
gboolean ferry_maildir_layout_is_inbox (const char *name);

char *ferry_maildir_layout_path_for (FerryMaildirLayout *self, const char *name, GError **error);
GPtrArray *ferry_maildir_layout_list (FerryMaildirLayout *self, GError **error);
gboolean
ferry_maildir_layout_create_folder (FerryMaildirLayout *self, const char *name, GError **error);
gboolean
ferry_maildir_layout_delete_folder (FerryMaildirLayout *self, const char *name, GError **error);
FerryMaildirFolder *ferry_maildir_layout_open_folder (FerryMaildirLayout *self,
                                                      const char *name,
                                                      gboolean create,
                                                      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryMaildirLayout, ferry_maildir_layout_free)

G_END_DECLS
