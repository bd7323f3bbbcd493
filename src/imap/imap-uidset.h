/* imap-uidset.h: UID sets ("1:3,7,9:12") in commands and response codes
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Keeps a command line well under the 8000 octets RFC 7162 section 4 asks
 * servers to accept. */
#define FERRY_IMAP_UID_SET_MAX_LENGTH 4000

typedef struct
{
  guint32 first;
  guint32 last;
} FerryImapUidRange;

GPtrArray *ferry_imap_uid_set_format (const guint32 *uids, gsize n_uids, gsize max_length);
GArray *ferry_imap_uid_set_parse (const char *set, gsize max_count, GError **error);
GArray *ferry_imap_uid_set_parse_ranges (const char *set, GError **error);
gboolean ferry_imap_uid_ranges_contain (GArray *ranges, guint32 uid);
guint64 ferry_imap_uid_ranges_count (GArray *ranges);

G_END_DECLS
