/* maildir-name.h: unique names for new Maildir files
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ferry_maildir_name_new_unique (void);
char *ferry_maildir_name_escape_hostname (const char *hostname);
gboolean ferry_maildir_name_parse_size (const char *name, guint64 *size);

G_END_DECLS
