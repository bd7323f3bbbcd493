/* durable-file.h: writes that survive a crash or a power cut
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean
ferry_durable_write_all (int fd, const void *data, gsize len, const char *what, GError **error);
gboolean ferry_durable_fsync_fd (int fd, const char *what, GError **error);
void ferry_durable_start_writeback (int fd);
gboolean ferry_durable_fsync_dir (const char *dir, GError **error);
gboolean ferry_durable_replace_file (const char *path, const void *data, gsize len, GError **error);

G_END_DECLS
