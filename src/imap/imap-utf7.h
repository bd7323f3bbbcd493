/* imap-utf7.h: mailbox names in modified UTF-7 (RFC 3501 section 5.1.3)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ferry_imap_utf7_decode (const char *name, GError **error);
char *ferry_imap_utf7_encode (const char *name, GError **error);

G_END_DECLS
