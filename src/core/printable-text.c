/* printable-text.c: what others send, made fit to show
 *
 * A server's reply text reaches notifications, logs and the terminal.
 * Bytes that are not UTF-8 would garble them, and control characters
 * could move the cursor or start an escape sequence: both the C0 set
 * with DEL and the C1 set, which some terminals take as escapes (U+009B
 * is CSI).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/printable-text.h"

/**
 * ferry_printable_text:
 * @text: bytes from outside, in no known encoding
 * @length: how many, or -1 up to the first NUL
 *
 * Returns: (transfer full): @text as valid UTF-8 (what is not UTF-8
 *   replaced by U+FFFD), with each control character a space
 */
char *
ferry_printable_text (const char *text, gssize length)
{
  g_autofree char *valid = NULL;
  GString *out;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  valid = g_utf8_make_valid (text != NULL ? text : "", length);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        g_string_append_c (out, ' ');
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}
