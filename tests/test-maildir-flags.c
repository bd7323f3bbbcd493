/* test-maildir-flags.c: tests for src/maildir/maildir-flags.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "maildir/maildir-flags.h"

typedef struct
{
  const char *filename;
  const char *unique;
  FerryMailFlags flags;
  const char *extra;
  gboolean has_flags;
} ParseCase;

static const ParseCase parse_cases[] = {
  { "1700000000.M1P2Q3.host:2,S", "1700000000.M1P2Q3.host", FERRY_MAIL_FLAG_SEEN, "", TRUE },
  { "u:2,DFPRST", "u", FERRY_MAIL_FLAGS_ALL, "", TRUE },
  { "u:2,", "u", 0, "", TRUE },
  { "u:2,RS", "u", FERRY_MAIL_FLAG_ANSWERED | FERRY_MAIL_FLAG_SEEN, "", TRUE },
  /* unsorted letters, duplicates and keywords */
  { "u:2,SaFcaS", "u", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED, "ac", TRUE },
  { "u:2,ZSb", "u", FERRY_MAIL_FLAG_SEEN, "Zb", TRUE },
  /* the '!' separator */
  { "u!2,FS", "u", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED, "", TRUE },
  { "a!b!2,T", "a!b", FERRY_MAIL_FLAG_DELETED, "", TRUE },
  /* a '!' that starts no info */
  { "hey!there", "hey!there", 0, "", FALSE },
  /* no info, or info other than "2," */
  { "u", "u", 0, "", FALSE },
  { "u:1,experimental", "u", 0, "", FALSE },
  { "u:3,S", "u", 0, "", FALSE },
  { "u:", "u", 0, "", FALSE },
  { "u!1,x", "u", 0, "", FALSE },
  /* ':' wins over '!' */
  { "a!2,S:2,F", "a!2,S", FERRY_MAIL_FLAG_FLAGGED, "", TRUE },
  /* Dovecot's size fields belong to the unique name */
  { "u,S=123,W=130:2,Sa", "u,S=123,W=130", FERRY_MAIL_FLAG_SEEN, "a", TRUE },
};

static void
test_parse (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      const ParseCase *c = &parse_cases[i];
      g_autofree char *unique = NULL;
      g_autofree char *extra = NULL;
      FerryMailFlags flags = 0xff;
      gboolean has_flags;

      g_test_message ("%s", c->filename);
      has_flags = ferry_maildir_flags_parse_filename (c->filename, &unique, &flags, &extra);
      g_assert_cmpstr (unique, ==, c->unique);
      g_assert_cmphex (flags, ==, c->flags);
      g_assert_cmpstr (extra, ==, c->extra);
      g_assert_cmpint (has_flags, ==, c->has_flags);
    }
}

static void
test_parse_optional_outputs (void)
{
  g_autofree char *unique = NULL;

  g_assert_true (ferry_maildir_flags_parse_filename ("x:2,S", NULL, NULL, NULL));
  g_assert_false (ferry_maildir_flags_parse_filename ("x", &unique, NULL, NULL));
  g_assert_cmpstr (unique, ==, "x");
}

static void
test_format (void)
{
  g_autofree char *none = ferry_maildir_flags_format_filename ("u", 0, NULL);
  g_autofree char *all = ferry_maildir_flags_format_filename ("u", FERRY_MAIL_FLAGS_ALL, "");
  g_autofree char *seen_replied = ferry_maildir_flags_format_filename (
      "u", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_ANSWERED, NULL);
  /* extra letters merge in ASCII order; known letters in extra do not count */
  g_autofree char *merged = ferry_maildir_flags_format_filename (
      "u", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_DRAFT, "zaTFa/");

  g_assert_cmpstr (none, ==, "u:2,");
  g_assert_cmpstr (all, ==, "u:2,DFPRST");
  g_assert_cmpstr (seen_replied, ==, "u:2,RS");
  g_assert_cmpstr (merged, ==, "u:2,DSaz");
}

/* Every flag combination with keywords survives a format and a parse. */
static void
test_round_trip (void)
{
  for (FerryMailFlags flags = 0; flags <= FERRY_MAIL_FLAGS_ALL; flags++)
    {
      g_autofree char *name = ferry_maildir_flags_format_filename ("1.M2P3.h", flags, "bqa");
      g_autofree char *unique = NULL;
      g_autofree char *extra = NULL;
      g_autofree char *letters = NULL;
      FerryMailFlags parsed;

      g_assert_true (ferry_maildir_flags_parse_filename (name, &unique, &parsed, &extra));
      g_assert_cmpstr (unique, ==, "1.M2P3.h");
      g_assert_cmphex (parsed, ==, flags);
      g_assert_cmpstr (extra, ==, "abq");

      /* the letters are in ASCII order */
      letters = g_strdup (strchr (name, ',') + 1);
      for (const char *c = letters; c[0] != '\0' && c[1] != '\0'; c++)
        g_assert_cmpint (c[0], <, c[1]);
    }
}

/* Rewriting the flags of a file another tool named keeps its keywords and
 * turns the '!' separator into ':'. */
static void
test_rewrite_keeps_keywords (void)
{
  g_autofree char *unique = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *rewritten = NULL;
  FerryMailFlags flags;

  ferry_maildir_flags_parse_filename ("msg!2,Sab", &unique, &flags, &extra);
  rewritten = ferry_maildir_flags_format_filename (unique, flags | FERRY_MAIL_FLAG_ANSWERED, extra);
  g_assert_cmpstr (rewritten, ==, "msg:2,RSab");
}

static void
test_letters (void)
{
  g_autofree char *extra = NULL;
  g_autofree char *letters = NULL;
  g_autofree char *only_extra = NULL;

  g_assert_cmphex (ferry_maildir_flags_from_letters ("TxS", &extra), ==,
                   FERRY_MAIL_FLAG_DELETED | FERRY_MAIL_FLAG_SEEN);
  g_assert_cmpstr (extra, ==, "x");
  g_assert_cmphex (ferry_maildir_flags_from_letters ("", NULL), ==, 0);

  letters = ferry_maildir_flags_to_letters (FERRY_MAIL_FLAG_FORWARDED, "c");
  g_assert_cmpstr (letters, ==, "Pc");
  only_extra = ferry_maildir_flags_to_letters (0, NULL);
  g_assert_cmpstr (only_extra, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/maildir-flags/parse", test_parse);
  g_test_add_func ("/maildir-flags/parse-optional-outputs", test_parse_optional_outputs);
  g_test_add_func ("/maildir-flags/format", test_format);
  g_test_add_func ("/maildir-flags/round-trip", test_round_trip);
  g_test_add_func ("/maildir-flags/rewrite-keeps-keywords", test_rewrite_keeps_keywords);
  g_test_add_func ("/maildir-flags/letters", test_letters);
  return g_test_run ();
}
