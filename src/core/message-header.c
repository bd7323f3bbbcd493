/* message-header.c: the one header field the sync engine reads itself
 *
 * The sync engine pairs messages across a crash or a replaced folder by
 * their Message-ID, reading it from the start of a Maildir file or from
 * what an IMAP server returns for BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)].
 * Both are raw RFC 5322 header text; this finds the field in it.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/message-header.h"

#define FIELD "message-id:"

/* The end of the line that starts at @p: after its LF, or @end. */
static const char *
next_line (const char *p, const char *end)
{
  const char *lf = memchr (p, '\n', end - p);

  return lf != NULL ? lf + 1 : end;
}

static gboolean
is_blank_line (const char *p, const char *end)
{
  return p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'));
}

/* Unfolds the field body that starts at @p (RFC 5322 2.2.3) and trims it. */
static char *
field_body (const char *p, const char *end)
{
  GString *body = g_string_new (NULL);

  for (;;)
    {
      const char *line_end = next_line (p, end);

      for (const char *c = p; c < line_end; c++)
        if (*c != '\r' && *c != '\n')
          g_string_append_c (body, *c == '\t' ? ' ' : *c);
      p = line_end;
      if (p >= end || (*p != ' ' && *p != '\t'))
        break;
    }
  g_strstrip (body->str);
  body->len = strlen (body->str);
  if (body->len == 0)
    return g_string_free (body, TRUE), NULL;
  return g_string_free (body, FALSE);
}

/**
 * ferry_message_header_find_message_id:
 * @data: the start of a message, or its header alone
 * @len: the length of @data
 *
 * Returns: (transfer full) (nullable): the Message-ID field's body, as in
 *   `<id@example.org>`, or %NULL when the header has none.
 */
char *
ferry_message_header_find_message_id (const char *data, gsize len)
{
  const char *end = data + len;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  for (const char *p = data; p < end && !is_blank_line (p, end); p = next_line (p, end))
    if ((gsize) (end - p) > strlen (FIELD) && g_ascii_strncasecmp (p, FIELD, strlen (FIELD)) == 0)
      return field_body (p + strlen (FIELD), end);
  return NULL;
}
