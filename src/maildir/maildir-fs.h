/* maildir-fs.h: file system steps the Maildir modules share (not public API)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void ferry_maildir_fs_set_errno_error (GError **error,
                                       int saved_errno,
                                       const char *action,
                                       const char *what);
char *ferry_maildir_fs_display (const char *text);
gboolean ferry_maildir_fs_mkdir_parents (const char *path, GError **error);
int ferry_maildir_fs_open_subdir (
    int dir_fd, const char *dir_path, const char *name, gboolean create, GError **error);
gboolean ferry_maildir_fs_ensure_maildir_dirs (int dir_fd, const char *dir_path, GError **error);
int ferry_maildir_fs_rename_noreplace (const char *from, const char *to);
gboolean ferry_maildir_fs_is_subdir (int dir_fd, const char *name);

G_END_DECLS
