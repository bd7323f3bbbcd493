/* test-maildir-watch.c: telling the sync's own changes from anybody else's
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gstdio.h>

#include "core/paths.h"
#include "maildir/maildir-watch.h"

typedef struct
{
  char *root;
  char *folder;
  FerryMaildirWatch *watch;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *subdirs[] = { "cur", "new", "tmp" };

  f->root = g_dir_make_tmp ("ferry-maildir-watch-XXXXXX", &error);
  g_assert_no_error (error);
  f->folder = g_build_filename (f->root, "Work", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (f->folder, subdirs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
  f->watch = ferry_maildir_watch_new ();
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ferry_maildir_watch_unref (f->watch);
  ferry_paths_remove_tree (f->root);
  g_free (f->folder);
  g_free (f->root);
}

static void
write_file (Fixture *f, const char *subdir, const char *name)
{
  g_autofree char *path = g_build_filename (f->folder, subdir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, "x", 1, &error);
  g_assert_no_error (error);
}

static void
move_file (
    Fixture *f, const char *from_subdir, const char *from, const char *to_subdir, const char *to)
{
  g_autofree char *from_path = g_build_filename (f->folder, from_subdir, from, NULL);
  g_autofree char *to_path = g_build_filename (f->folder, to_subdir, to, NULL);

  g_assert_cmpint (g_rename (from_path, to_path), ==, 0);
}

/* Every change announced: undisturbed. A write in tmp/ is no change. */
static void
test_announced_changes (Fixture *f, gconstpointer data)
{
  ferry_maildir_watch_begin (f->watch, f->folder);
  write_file (f, "tmp", "1.a.host");
  ferry_maildir_watch_announce (f->watch, f->folder, 1);
  move_file (f, "tmp", "1.a.host", "new", "1.a.host");
  ferry_maildir_watch_announce (f->watch, f->folder, 2);
  move_file (f, "new", "1.a.host", "cur", "1.a.host:2,S");
  g_assert_true (ferry_maildir_watch_end (f->watch, f->folder));
}

/* One event more than announced is somebody else's. */
static void
test_unannounced_change (Fixture *f, gconstpointer data)
{
  ferry_maildir_watch_begin (f->watch, f->folder);
  write_file (f, "cur", "2.b.host:2,");
  g_assert_false (ferry_maildir_watch_end (f->watch, f->folder));
}

/* A change announced and then withdrawn (it failed) covers nothing. */
static void
test_withdrawn_announcement (Fixture *f, gconstpointer data)
{
  ferry_maildir_watch_begin (f->watch, f->folder);
  ferry_maildir_watch_announce (f->watch, f->folder, 1);
  ferry_maildir_watch_announce (f->watch, f->folder, -1);
  write_file (f, "new", "3.c.host");
  g_assert_false (ferry_maildir_watch_end (f->watch, f->folder));
}

/* What happened before begin() is not held against the folder; begin()
 * again starts afresh. */
static void
test_begin_forgets (Fixture *f, gconstpointer data)
{
  write_file (f, "cur", "4.d.host:2,");
  ferry_maildir_watch_begin (f->watch, f->folder);
  write_file (f, "cur", "5.e.host:2,");
  ferry_maildir_watch_begin (f->watch, f->folder);
  g_assert_true (ferry_maildir_watch_end (f->watch, f->folder));
}

/* A folder never watched, or whose directory went away, is not vouched for. */
static void
test_unwatched_or_removed (Fixture *f, gconstpointer data)
{
  g_autofree char *new_dir = g_build_filename (f->folder, "new", NULL);

  g_assert_false (ferry_maildir_watch_end (f->watch, f->folder));
  ferry_maildir_watch_begin (f->watch, f->folder);
  g_assert_cmpint (g_rmdir (new_dir), ==, 0);
  g_assert_false (ferry_maildir_watch_end (f->watch, f->folder));
}

/* More changes than the kernel's queue holds, all announced and read as
 * they come: still undisturbed. */
static void
test_many_announced_changes (Fixture *f, gconstpointer data)
{
  ferry_maildir_watch_begin (f->watch, f->folder);
  for (guint i = 0; i < 17000; i++)
    {
      g_autofree char *name = g_strdup_printf ("%u.f.host", i);

      write_file (f, "tmp", name);
      ferry_maildir_watch_announce (f->watch, f->folder, 1);
      move_file (f, "tmp", name, "new", name);
    }
  g_assert_true (ferry_maildir_watch_end (f->watch, f->folder));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/maildir-watch/announced", Fixture, NULL, fixture_set_up, test_announced_changes,
              fixture_tear_down);
  g_test_add ("/maildir-watch/unannounced", Fixture, NULL, fixture_set_up, test_unannounced_change,
              fixture_tear_down);
  g_test_add ("/maildir-watch/withdrawn", Fixture, NULL, fixture_set_up,
              test_withdrawn_announcement, fixture_tear_down);
  g_test_add ("/maildir-watch/begin-forgets", Fixture, NULL, fixture_set_up, test_begin_forgets,
              fixture_tear_down);
  g_test_add ("/maildir-watch/unwatched-or-removed", Fixture, NULL, fixture_set_up,
              test_unwatched_or_removed, fixture_tear_down);
  g_test_add ("/maildir-watch/many-announced", Fixture, NULL, fixture_set_up,
              test_many_announced_changes, fixture_tear_down);
  return g_test_run ();
}
