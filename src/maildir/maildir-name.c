/* maildir-name.c: unique names for new Maildir files
 *
 * The spec (cr.yp.to/proto/maildir.html) asks for names no other delivery
 * anywhere ever uses: "<sec>.M<usec>P<pid>Q<counter>R<random>.<host>".
 * The time and pid tell processes apart, the counter tells apart names one
 * process makes in the same microsecond (from any thread), and 64 random
 * bits cover a pid reused within a microsecond or a clock set back.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>
#include <unistd.h>

#include "maildir/maildir-name.h"

static gint counter;

/**
 * ferry_maildir_name_escape_hostname:
 * @hostname: this machine's host name
 *
 * The spec replaces '/' by "\057" and ':' by "\072" so that the name is a
 * single file name without info. Ferry does the same for ',' and '!',
 * which start the size field and the alternative info separator it reads,
 * and for control characters.
 *
 * Returns: (transfer full): @hostname, fit to end a unique name
 */
char *
ferry_maildir_name_escape_hostname (const char *hostname)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (hostname != NULL, NULL);

  for (const char *c = hostname; *c != '\0'; c++)
    {
      guchar byte = (guchar) *c;

      if (byte == '/' || byte == ':' || byte == ',' || byte == '!' || byte < 0x20 || byte == 0x7f)
        g_string_append_printf (out, "\\%03o", byte);
      else
        g_string_append_c (out, (char) byte);
    }
  if (out->len == 0)
    g_string_append (out, "localhost");
  return g_string_free (out, FALSE);
}

/**
 * ferry_maildir_name_new_unique:
 *
 * Safe to call from several threads and processes at once.
 *
 * Returns: (transfer full): a new unique name, such as
 *   "1767225600.M123456P4242Q7R0f1e2d3c4b5a6978.laptop"
 */
char *
ferry_maildir_name_new_unique (void)
{
  static char *host;
  gint64 now = g_get_real_time ();
  guint sequence = (guint) g_atomic_int_add (&counter, 1);

  if (g_once_init_enter (&host))
    g_once_init_leave (&host, ferry_maildir_name_escape_hostname (g_get_host_name ()));

  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06" G_GINT64_FORMAT "P%ldQ%uR%08x%08x.%s",
                          now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, (long) getpid (), sequence,
                          g_random_int (), g_random_int (), host);
}

/**
 * ferry_maildir_name_parse_size:
 * @name: a unique name or a whole file name
 * @size: (out): the size the name records
 *
 * Dovecot and Courier write the file's size into its name as ",S=<bytes>"
 * ("NAME,S=1234,W=1270:2,S") so that readers need not stat it.
 *
 * Returns: whether @name has a size field
 */
gboolean
ferry_maildir_name_parse_size (const char *name, guint64 *size)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (size != NULL, FALSE);

  for (const char *field = strstr (name, ",S="); field != NULL; field = strstr (field + 1, ",S="))
    {
      const char *digits = field + 3;
      const char *end = digits;
      guint64 value = 0;

      while (g_ascii_isdigit (*end) && end - digits < 20)
        {
          value = value * 10 + (guint64) (*end - '0');
          end++;
        }
      /* The field ends at the next field, the info part or the name's end
       * (strchr() finds the terminating NUL too). */
      if (end > digits && end - digits < 20 && strchr (",:!", *end) != NULL)
        {
          *size = value;
          return TRUE;
        }
    }
  return FALSE;
}
