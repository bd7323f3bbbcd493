/* paths.h: where Ferry keeps its files (XDG base directories)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ferry_paths_config_file (void);
char *ferry_paths_outbox_dir (void);
char *ferry_paths_state_dir (void);
char *ferry_paths_expand_home (const char *path);
gboolean ferry_paths_ensure_private_dir (const char *path, GError **error);
void ferry_paths_remove_tree (const char *path);

G_END_DECLS
