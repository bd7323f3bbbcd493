/* message-header.h: the one header field the sync engine reads itself
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ferry_message_header_find_message_id (const char *data, gsize len);

G_END_DECLS
