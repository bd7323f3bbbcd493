/* test-sync-folders.c: folder patterns and server ⇄ local names
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/errors.h"
#include "sync/sync-folders.h"

static FerrySyncFolderMap *
map_new (const char *patterns, const char *prefix, const char *const *renames)
{
  g_autoptr (GError) error = NULL;
  FerrySyncFolderMap *map = ferry_sync_folder_map_new (patterns, prefix, renames, &error);

  g_assert_no_error (error);
  return map;
}

static void
test_patterns (void)
{
  g_autoptr (FerrySyncFolderMap) all = map_new (NULL, NULL, NULL);
  g_autoptr (FerrySyncFolderMap) some = map_new ("* !Junk !Archive/* Archive/2024", NULL, NULL);
  g_autoptr (FerrySyncFolderMap) top = map_new ("% \"Sent Mail\"", NULL, NULL);
  g_autoptr (FerrySyncFolderMap) inbox = map_new ("inbox", NULL, NULL);

  g_assert_true (ferry_sync_folder_map_selects (all, "INBOX"));
  g_assert_true (ferry_sync_folder_map_selects (all, "a/b/c"));

  g_assert_true (ferry_sync_folder_map_selects (some, "Sent"));
  g_assert_false (ferry_sync_folder_map_selects (some, "Junk"));
  g_assert_true (ferry_sync_folder_map_selects (some, "Junk/Old"));
  g_assert_false (ferry_sync_folder_map_selects (some, "Archive/2023"));
  g_assert_true (ferry_sync_folder_map_selects (some, "Archive/2024"));
  g_assert_true (ferry_sync_folder_map_selects (some, "Archive"));

  g_assert_true (ferry_sync_folder_map_selects (top, "Drafts"));
  g_assert_false (ferry_sync_folder_map_selects (top, "Lists/glib"));
  g_assert_true (ferry_sync_folder_map_selects (top, "Sent Mail"));
  g_assert_false (ferry_sync_folder_map_selects (top, "Sent Mail/x"));

  g_assert_true (ferry_sync_folder_map_selects (inbox, "INBOX"));
  g_assert_true (ferry_sync_folder_map_selects (inbox, "Inbox"));
  g_assert_false (ferry_sync_folder_map_selects (inbox, "Sent"));
}

static void
test_pattern_errors (void)
{
  g_autoptr (GError) error = NULL;
  FerrySyncFolderMap *map = ferry_sync_folder_map_new ("* \"Sent", NULL, NULL, &error);

  g_assert_null (map);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "not closed"));
  g_clear_error (&error);

  map = ferry_sync_folder_map_new ("* !", NULL, NULL, &error);
  g_assert_null (map);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
}

static void
assert_from_far (FerrySyncFolderMap *map, const char *far, char delimiter, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = ferry_sync_folder_map_from_far (map, far, delimiter, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, expected);
}

static void
assert_to_far (FerrySyncFolderMap *map, const char *name, char delimiter, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *far = ferry_sync_folder_map_to_far (map, name, delimiter, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (far, ==, expected);
}

static void
assert_refused (FerrySyncFolderMap *map, const char *far, char delimiter, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = ferry_sync_folder_map_from_far (map, far, delimiter, &error);

  g_assert_null (name);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_delimiters (void)
{
  g_autoptr (FerrySyncFolderMap) map = map_new (NULL, NULL, NULL);

  assert_from_far (map, "inbox", '/', "INBOX");
  assert_from_far (map, "Archive/2024", '/', "Archive/2024");
  assert_from_far (map, "Archive.2024", '.', "Archive/2024");
  assert_from_far (map, "Entwürfe", '.', "Entwürfe");
  assert_from_far (map, "flat", '\0', "flat");
  assert_refused (map, "a/b.c", '.', "“/” inside a level");
  assert_refused (map, "a..b", '.', "empty level");
  assert_refused (map, "bell\a", '/', "control character");

  assert_to_far (map, "Archive/2024", '.', "Archive.2024");
  assert_to_far (map, "Archive/2024", '/', "Archive/2024");
  assert_to_far (map, "INBOX", '.', "INBOX");
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *far = ferry_sync_folder_map_to_far (map, "v1.2", '.', &error);
    g_assert_null (far);
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  }
}

static void
test_prefix_and_renames (void)
{
  const char *const renames[] = { "[Gmail]/Sent Mail", "Sent", "INBOX.Lists", "Lists", NULL };
  g_autoptr (FerrySyncFolderMap) gmail = map_new (NULL, NULL, renames);
  g_autoptr (FerrySyncFolderMap) courier = map_new (NULL, "INBOX.", renames);

  assert_from_far (gmail, "[Gmail]/Sent Mail", '/', "Sent");
  assert_from_far (gmail, "[Gmail]/Sent Mail/2024", '/', "Sent/2024");
  assert_from_far (gmail, "[Gmail]/Sent", '/', "[Gmail]/Sent");
  assert_to_far (gmail, "Sent", '/', "[Gmail]/Sent Mail");
  assert_to_far (gmail, "Sent/2024", '/', "[Gmail]/Sent Mail/2024");
  assert_to_far (gmail, "Sentinel", '/', "Sentinel");

  assert_from_far (courier, "INBOX", '.', "INBOX");
  assert_from_far (courier, "INBOX.Drafts", '.', "Drafts");
  assert_from_far (courier, "INBOX.Drafts.Old", '.', "Drafts/Old");
  assert_from_far (courier, "INBOX.Lists.glib", '.', "Lists/glib");
  assert_from_far (courier, "INBOX.inbox", '.', "INBOX");
  assert_to_far (courier, "Drafts/Old", '.', "INBOX.Drafts.Old");
  assert_to_far (courier, "Lists/glib", '.', "INBOX.Lists.glib");
  assert_to_far (courier, "INBOX", '.', "INBOX");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sync-folders/patterns", test_patterns);
  g_test_add_func ("/sync-folders/pattern-errors", test_pattern_errors);
  g_test_add_func ("/sync-folders/delimiters", test_delimiters);
  g_test_add_func ("/sync-folders/prefix-and-renames", test_prefix_and_renames);
  return g_test_run ();
}
