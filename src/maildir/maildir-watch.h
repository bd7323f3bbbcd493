/* maildir-watch.h: whether anyone else changed a Maildir folder
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FerryMaildirWatch FerryMaildirWatch;

FerryMaildirWatch *ferry_maildir_watch_new (void);
FerryMaildirWatch *ferry_maildir_watch_ref (FerryMaildirWatch *self);
void ferry_maildir_watch_unref (FerryMaildirWatch *self);

void ferry_maildir_watch_begin (FerryMaildirWatch *self, const char *folder_path);
void ferry_maildir_watch_announce (FerryMaildirWatch *self, const char *folder_path, int n_events);
gboolean ferry_maildir_watch_end (FerryMaildirWatch *self, const char *folder_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryMaildirWatch, ferry_maildir_watch_unref)

G_END_DECLS
