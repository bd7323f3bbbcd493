/* test-imap-flags.c: tests for src/imap/imap-flags.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "imap/imap-flags.h"
#include "imap/imap-parser.h"

static FerryImapResponse *
parse_line (const char *line)
{
  g_autoptr (FerryImapParser) parser = ferry_imap_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize consumed = 0;

  g_assert_cmpint (
      ferry_imap_parser_feed (parser, (const guint8 *) line, strlen (line), &consumed, &error), ==,
      FERRY_IMAP_PARSE_RESPONSE);
  g_assert_no_error (error);
  return ferry_imap_parser_take_response (parser);
}

static void
test_parse (void)
{
  g_autoptr (FerryImapResponse) response
      = parse_line ("* FLAGS (\\Seen \\answered $FORWARDED \\Recent \\* \\Important work "
                    "$Label1 \"quoted\")\r\n");
  g_auto (GStrv) keywords = NULL;
  FerryMailFlags flags
      = ferry_imap_flags_parse (ferry_imap_value_get_item (response->data, 0), &keywords);

  g_assert_cmpint (flags, ==,
                   FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_ANSWERED | FERRY_MAIL_FLAG_FORWARDED);
  g_assert_nonnull (keywords);
  g_assert_cmpuint (g_strv_length (keywords), ==, 2);
  g_assert_cmpstr (keywords[0], ==, "work");
  g_assert_cmpstr (keywords[1], ==, "$Label1");
}

static void
test_parse_empty (void)
{
  g_autoptr (FerryImapResponse) response = parse_line ("* FLAGS (\\Recent)\r\n");
  static char *unset[] = { NULL };
  char **keywords = unset;

  g_assert_cmpint (
      ferry_imap_flags_parse (ferry_imap_value_get_item (response->data, 0), &keywords), ==, 0);
  g_assert_null (keywords);
  g_assert_cmpint (ferry_imap_flags_parse (NULL, NULL), ==, 0);
}

static void
test_format (void)
{
  const char *keywords[] = { "work", "$Label1", NULL };
  g_autofree char *all = ferry_imap_flags_format (FERRY_MAIL_FLAGS_ALL, NULL);
  g_autofree char *some
      = ferry_imap_flags_format (FERRY_MAIL_FLAG_DRAFT | FERRY_MAIL_FLAG_FORWARDED, keywords);
  g_autofree char *none = ferry_imap_flags_format (0, NULL);

  g_assert_cmpstr (all, ==, "\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded");
  g_assert_cmpstr (some, ==, "\\Draft $Forwarded work $Label1");
  g_assert_cmpstr (none, ==, "");
}

static void
test_keywords (void)
{
  static const char *const valid[] = { "work", "$Label1", "NonJunk", "a.b-c_d" };
  static const char *const invalid[]
      = { "",   "two words", "\\Seen", "$forwarded", "b(r)",  "a]",
          "x*", "50%",       "q\"",    "ü",          "tab\t", "{5}" };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (ferry_imap_keyword_is_valid (valid[i]));
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    if (ferry_imap_keyword_is_valid (invalid[i]))
      g_error ("“%s” passed as a keyword", invalid[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap-flags/parse", test_parse);
  g_test_add_func ("/imap-flags/parse-empty", test_parse_empty);
  g_test_add_func ("/imap-flags/format", test_format);
  g_test_add_func ("/imap-flags/keywords", test_keywords);

  return g_test_run ();
}
