/* line-endings.h: messages as a Maildir holds them (LF) and as IMAP
 * carries them (CRLF)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean ferry_line_endings_to_lf_in_place (int fd, guint64 *size, GError **error);
gboolean ferry_line_endings_copy_to_crlf (int from, int to, guint64 *size, GError **error);

G_END_DECLS
