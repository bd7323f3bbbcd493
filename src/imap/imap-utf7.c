/* imap-utf7.c: mailbox names in modified UTF-7 (RFC 3501 section 5.1.3)
 *
 * Printable US-ASCII stands for itself, "&" is written "&-", and anything
 * else is UTF-16 in a base64 run between "&" and "-", with "," instead of
 * "/". Decoding is strict: there is one way to write each name, and any
 * other spelling (an encoded printable character, a run right after a run,
 * padding bits that are not zero, a lone surrogate) is refused, so that a
 * name the server sends can be written back to it byte for byte.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "imap/imap-utf7.h"

static const char base64_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static gboolean
is_printable (gunichar c)
{
  return c >= 0x20 && c <= 0x7e;
}

static int
base64_value (char c)
{
  const char *found = c != '\0' ? strchr (base64_alphabet, c) : NULL;

  return found != NULL ? (int) (found - base64_alphabet) : -1;
}

static void
set_invalid (GError **error, const char *name, const char *problem)
{
  g_autofree char *shown = g_strescape (name, NULL);

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
               "The mailbox name “%s” is not valid modified UTF-7 (RFC 3501 5.1.3): %s", shown,
               problem);
}

/* One UTF-16 unit of a run; a high surrogate waits in *pending for its
 * low half. */
static const char *
decode_unit (guint unit, gunichar2 *pending, GString *out)
{
  if (*pending != 0)
    {
      if (unit < 0xdc00 || unit > 0xdfff)
        return "a high surrogate without its low half";
      g_string_append_unichar (out, 0x10000 + ((*pending - 0xd800u) << 10) + (unit - 0xdc00u));
      *pending = 0;
      return NULL;
    }
  if (unit >= 0xd800 && unit <= 0xdbff)
    {
      *pending = (gunichar2) unit;
      return NULL;
    }
  if (unit >= 0xdc00 && unit <= 0xdfff)
    return "a low surrogate without its high half";
  if (unit == 0)
    return "an encoded NUL character";
  if (is_printable (unit))
    return "an encoded printable character, which must stand for itself";
  g_string_append_unichar (out, unit);
  return NULL;
}

/* Decodes the run that starts after "&" at *pos and ends at "-". */
static const char *
decode_run (const char **pos, GString *out)
{
  const char *p = *pos;
  guint32 bits = 0;
  guint n_bits = 0;
  gunichar2 pending = 0;

  for (; *p != '-'; p++)
    {
      int value = base64_value (*p);
      const char *problem;

      if (value < 0)
        return *p == '\0' ? "an encoded run without its closing “-”"
                          : "a character that is not modified base64 in an encoded run";
      bits = (bits << 6) | (guint32) value;
      n_bits += 6;
      if (n_bits < 16)
        continue;
      n_bits -= 16;
      problem = decode_unit ((bits >> n_bits) & 0xffff, &pending, out);
      if (problem != NULL)
        return problem;
      bits &= (1u << n_bits) - 1;
    }
  if (pending != 0)
    return "a high surrogate without its low half";
  if (n_bits >= 6 || bits != 0)
    return "an encoded run that does not end on a character";
  *pos = p + 1;
  return NULL;
}

/**
 * ferry_imap_utf7_decode:
 * @name: a mailbox name as the server sends it
 * @error: a FERRY_ERROR_DATA error saying what is wrong with @name
 *
 * Returns: (transfer full) (nullable): @name in UTF-8, or %NULL when it
 *   is not valid modified UTF-7
 */
char *
ferry_imap_utf7_decode (const char *name, GError **error)
{
  g_autoptr (GString) out = NULL;
  gboolean after_run = FALSE;

  g_return_val_if_fail (name != NULL, NULL);

  out = g_string_new (NULL);
  for (const char *p = name; *p != '\0';)
    {
      const char *problem;

      if (!is_printable ((guchar) *p))
        {
          set_invalid (error, name, "it holds a byte that is not printable US-ASCII");
          return NULL;
        }
      if (*p != '&')
        {
          g_string_append_c (out, *p++);
          after_run = FALSE;
          continue;
        }
      if (p[1] == '-')
        {
          g_string_append_c (out, '&');
          p += 2;
          after_run = FALSE;
          continue;
        }
      /* Two runs in a row would be one run in the canonical spelling. */
      if (after_run)
        problem = "an encoded run right after another";
      else
        {
          p++;
          problem = decode_run (&p, out);
        }
      if (problem != NULL)
        {
          set_invalid (error, name, problem);
          return NULL;
        }
      after_run = TRUE;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
encode_bits (GString *out, guint32 *bits, guint *n_bits)
{
  while (*n_bits >= 6)
    {
      *n_bits -= 6;
      g_string_append_c (out, base64_alphabet[(*bits >> *n_bits) & 0x3f]);
    }
  *bits &= (1u << *n_bits) - 1;
}

static void
encode_unit (GString *out, guint unit, guint32 *bits, guint *n_bits)
{
  *bits = (*bits << 16) | unit;
  *n_bits += 16;
  encode_bits (out, bits, n_bits);
}

static void
end_run (GString *out, guint32 *bits, guint *n_bits)
{
  if (*n_bits > 0)
    g_string_append_c (out, base64_alphabet[(*bits << (6 - *n_bits)) & 0x3f]);
  *bits = 0;
  *n_bits = 0;
  g_string_append_c (out, '-');
}

/**
 * ferry_imap_utf7_encode:
 * @name: a mailbox name in UTF-8
 * @error: a FERRY_ERROR_DATA error when @name is not valid UTF-8
 *
 * Returns: (transfer full) (nullable): @name as IMAP spells it
 */
char *
ferry_imap_utf7_encode (const char *name, GError **error)
{
  g_autoptr (GString) out = NULL;
  gboolean in_run = FALSE;
  guint32 bits = 0;
  guint n_bits = 0;

  g_return_val_if_fail (name != NULL, NULL);

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_autofree char *shown = g_strescape (name, NULL);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "The mailbox name “%s” is not valid UTF-8",
                   shown);
      return NULL;
    }

  out = g_string_new (NULL);
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_printable (c))
        {
          if (in_run)
            end_run (out, &bits, &n_bits);
          in_run = FALSE;
          if (c == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) c);
          continue;
        }
      if (!in_run)
        g_string_append_c (out, '&');
      in_run = TRUE;
      if (c >= 0x10000)
        {
          encode_unit (out, 0xd800 + ((c - 0x10000) >> 10), &bits, &n_bits);
          encode_unit (out, 0xdc00 + ((c - 0x10000) & 0x3ff), &bits, &n_bits);
        }
      else
        encode_unit (out, c, &bits, &n_bits);
    }
  if (in_run)
    end_run (out, &bits, &n_bits);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
