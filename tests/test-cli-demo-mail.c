/* test-cli-demo-mail.c: the mail `ferry demo` puts on its server
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "cli/cli-demo-mail.h"

/* RFC 5322 2.1.1: a line of at most 78 characters, where the header is
 * concerned; every header has a name, and the header ends at a blank line. */
static void
assert_header_well_formed (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *line = lines[i];

      if (strlen (line) > 78)
        g_error ("header line of %zu characters: %s", strlen (line), line);
      g_assert_true (line[0] == ' ' || strchr (line, ':') != NULL);
      for (const char *c = line; *c != '\0'; c++)
        g_assert_cmpuint ((guchar) *c, <, 0x80);
    }
}

static void
test_every_message (void)
{
  g_autoptr (GDateTime) date = g_date_time_new_utc (2026, 12, 2, 9, 30, 0);
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_cmpuint (ferry_cli_demo_mail_count (), >, 10);
  for (guint i = 0; i < ferry_cli_demo_mail_count (); i++)
    {
      g_autofree char *text = ferry_cli_demo_mail_text (i, date);
      char *id = ferry_cli_demo_mail_message_id (i);
      g_autofree char *id_line = g_strdup_printf ("\nMessage-ID: %s\n", id);

      assert_header_well_formed (text);
      g_assert_nonnull (strstr (text, id_line));
      g_assert_nonnull (strstr (text, "\nDate: Wed, 2 Dec 2026 09:30:00 +0000\n"));
      g_assert_true (g_hash_table_add (ids, id));
    }
}

static void
test_find_in_inbox (void)
{
  const FerryCliDemoMail *seen = ferry_cli_demo_mail_get (ferry_cli_demo_mail_find_in_inbox ("S"));
  const FerryCliDemoMail *unread = ferry_cli_demo_mail_get (ferry_cli_demo_mail_find_in_inbox (""));

  g_assert_cmpstr (seen->folder, ==, "INBOX");
  g_assert_cmpstr (seen->flags, ==, "S");
  g_assert_cmpstr (unread->folder, ==, "INBOX");
  g_assert_cmpstr (unread->flags, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-demo-mail/every-message", test_every_message);
  g_test_add_func ("/cli-demo-mail/find-in-inbox", test_find_in_inbox);
  return g_test_run ();
}
