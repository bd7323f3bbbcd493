/* imap-flags.h: IMAP message flags and keywords <-> FerryMailFlags
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "core/mail-flags.h"
#include "imap/imap-parser.h"

G_BEGIN_DECLS

FerryMailFlags ferry_imap_flags_parse (const FerryImapValue *list, char ***keywords);
char *ferry_imap_flags_format (FerryMailFlags flags, const char *const *keywords);
gboolean ferry_imap_keyword_is_valid (const char *keyword);

G_END_DECLS
