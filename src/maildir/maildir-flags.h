/* maildir-flags.h: the info part of Maildir file names ("NAME:2,FLAGS")
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "core/mail-flags.h"

G_BEGIN_DECLS

gboolean ferry_maildir_flags_parse_filename (const char *filename,
                                             char **unique,
                                             FerryMailFlags *flags,
                                             char **extra);
char *
ferry_maildir_flags_format_filename (const char *unique, FerryMailFlags flags, const char *extra);
FerryMailFlags ferry_maildir_flags_from_letters (const char *letters, char **extra);
char *ferry_maildir_flags_to_letters (FerryMailFlags flags, const char *extra);

G_END_DECLS
