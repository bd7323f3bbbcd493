/* test-imap-uidset.c: tests for src/imap/imap-uidset.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/errors.h"
#include "imap/imap-uidset.h"

static void
test_format (void)
{
  const guint32 uids[] = { 20, 5, 1, 2, 3, 3, 9, 11, 10, G_MAXUINT32 };
  g_autoptr (GPtrArray) sets = ferry_imap_uid_set_format (uids, G_N_ELEMENTS (uids), 4000);
  g_autoptr (GPtrArray) none = ferry_imap_uid_set_format (NULL, 0, 4000);

  g_assert_cmpuint (sets->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (sets, 0), ==, "1:3,5,9:11,20,4294967295");
  g_assert_cmpuint (none->len, ==, 0);
}

/* Long sets are cut into several, none longer than asked, that together
 * name every UID once. */
static void
test_format_splits (void)
{
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) again = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GPtrArray) sets = NULL;

  for (guint32 uid = 1; uid < 2000; uid += 2)
    g_array_append_val (uids, uid);
  sets = ferry_imap_uid_set_format ((const guint32 *) uids->data, uids->len, 40);
  g_assert_cmpuint (sets->len, >, 1);
  for (guint i = 0; i < sets->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) part = NULL;

      g_assert_cmpuint (strlen (g_ptr_array_index (sets, i)), <=, 40);
      part = ferry_imap_uid_set_parse (g_ptr_array_index (sets, i), 1000, &error);
      g_assert_no_error (error);
      g_array_append_vals (again, part->data, part->len);
    }
  g_assert_cmpmem (again->data, again->len * sizeof (guint32), uids->data,
                   uids->len * sizeof (guint32));
}

static void
test_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) uids = ferry_imap_uid_set_parse ("4,9:7,2", 10, &error);
  const guint32 expected[] = { 4, 7, 8, 9, 2 };

  g_assert_no_error (error);
  g_assert_cmpmem (uids->data, uids->len * sizeof (guint32), expected, sizeof expected);
}

static void
test_parse_invalid (void)
{
  static const char *const invalid[]
      = { "", "0", "1:", ":2", "a", "1,,2", "1,", "*", "1:*", "4294967296", "1 2", "-1", "+1" };

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) uids = ferry_imap_uid_set_parse (invalid[i], 100, &error);
      g_autoptr (GError) range_error = NULL;
      g_autoptr (GArray) ranges = ferry_imap_uid_set_parse_ranges (invalid[i], &range_error);

      if (uids != NULL || ranges != NULL)
        g_error ("“%s” parsed", invalid[i]);
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
      g_assert_error (range_error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
    }
}

/* "1:4294967295" is a short string for four billion UIDs. */
static void
test_parse_bounded (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) uids = ferry_imap_uid_set_parse ("1:4294967295", 1000, &error);
  g_autoptr (GArray) exact = NULL;

  g_assert_null (uids);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  g_clear_error (&error);
  exact = ferry_imap_uid_set_parse ("1:999,1000", 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (exact->len, ==, 1000);
}

static void
test_ranges (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ranges = ferry_imap_uid_set_parse_ranges ("5:3,1,2,12,10:11,20", &error);
  g_autoptr (GArray) huge = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (ranges->len, ==, 3);
  g_assert_cmpuint (g_array_index (ranges, FerryImapUidRange, 0).first, ==, 1);
  g_assert_cmpuint (g_array_index (ranges, FerryImapUidRange, 0).last, ==, 5);
  g_assert_cmpuint (g_array_index (ranges, FerryImapUidRange, 1).first, ==, 10);
  g_assert_cmpuint (g_array_index (ranges, FerryImapUidRange, 1).last, ==, 12);
  g_assert_cmpuint (ferry_imap_uid_ranges_count (ranges), ==, 9);
  g_assert_true (ferry_imap_uid_ranges_contain (ranges, 4));
  g_assert_true (ferry_imap_uid_ranges_contain (ranges, 12));
  g_assert_true (ferry_imap_uid_ranges_contain (ranges, 20));
  g_assert_false (ferry_imap_uid_ranges_contain (ranges, 6));
  g_assert_false (ferry_imap_uid_ranges_contain (ranges, 13));
  g_assert_false (ferry_imap_uid_ranges_contain (ranges, 21));

  huge = ferry_imap_uid_set_parse_ranges ("1:4294967295", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ferry_imap_uid_ranges_count (huge), ==, G_MAXUINT32);
  g_assert_true (ferry_imap_uid_ranges_contain (huge, G_MAXUINT32));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap-uidset/format", test_format);
  g_test_add_func ("/imap-uidset/format-splits", test_format_splits);
  g_test_add_func ("/imap-uidset/parse", test_parse);
  g_test_add_func ("/imap-uidset/parse-invalid", test_parse_invalid);
  g_test_add_func ("/imap-uidset/parse-bounded", test_parse_bounded);
  g_test_add_func ("/imap-uidset/ranges", test_ranges);

  return g_test_run ();
}
