/* test-sync-store-maildir.c: change stamps of the Maildir store
 *
 * A stamp is the pair of directory times of a folder's cur/ and new/; it
 * is trusted only once the latest change is old enough that another
 * cannot share its time, and only when nobody but the sync changed the
 * folder since it began watching it (src/sync/sync-store-maildir.c).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "core/paths.h"
#include "sync/sync-store-maildir.h"

/* Longer than any margin the store keeps. */
#define PATIENT_US (5 * G_USEC_PER_SEC)

typedef struct
{
  char *root;
  FerryStore *store;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->root = g_dir_make_tmp ("ferry-store-maildir-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = ferry_store_maildir_new (f->root, FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_assert_no_error (error);
  ferry_store_create_folder (f->store, "Work", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ferry_store_unref (f->store);
  ferry_paths_remove_tree (f->root);
  g_free (f->root);
}

/* Delivers a message straight into cur/, as another program would. */
static void
add_message (Fixture *f, const char *filename)
{
  g_autofree char *path = g_build_filename (f->root, "Work", "cur", filename, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, "Subject: x\n\nx\n", -1, &error);
  g_assert_no_error (error);
}

/* Delivers a message through the store: a change of the sync's own. */
static void
append_message (FerryStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  FerryStoreFolderStatus status;
  FerryStoreAppend *append;
  const char text[] = "Subject: x\n\nx\n";

  g_assert_true (ferry_store_select_folder (store, "Work", &status, &error));
  append = ferry_store_append_begin (store, FERRY_MAIL_FLAG_SEEN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (append->fd, text, sizeof text - 1), ==, sizeof text - 1);
  g_assert_true (ferry_store_append_commit (store, append, &id, &error));
  g_assert_no_error (error);
}

static char *
stamp (Fixture *f, gint64 max_wait_us)
{
  g_autoptr (GError) error = NULL;
  char *stamp = NULL;

  g_assert_true (ferry_store_stamp_folder (f->store, "Work", max_wait_us, &stamp, &error));
  g_assert_no_error (error);
  return stamp;
}

typedef gboolean (*LookFunc) (FerryStore *store, const char *name, char **stamp, GError **error);

/* The stamp of Work, by a peek or at the start of a watch. */
static char *
look_at (Fixture *f, LookFunc look)
{
  g_autoptr (GError) error = NULL;
  char *stamp = NULL;

  g_assert_true (look (f->store, "Work", &stamp, &error));
  g_assert_no_error (error);
  return stamp;
}

static char *
peek (Fixture *f)
{
  return look_at (f, ferry_store_peek_folder);
}

static char *
watch (Fixture *f)
{
  return look_at (f, ferry_store_watch_folder);
}

/* Right after a change, without leave to wait, there is no stamp: the
 * next sync looks at the folder. */
static void
test_fresh_change_gets_no_stamp (Fixture *f, gconstpointer data)
{
  g_autofree char *now = NULL;
  g_autofree char *later = NULL;

  g_free (watch (f)); /* the sync's first look, which starts the watch */
  append_message (f->store);
  now = stamp (f, 0);
  g_assert_null (now);
  later = peek (f);
  g_assert_null (later);
}

/* With leave to wait out the margin, the stamp of the store's own changes
 * is proven at once, and is what a later look finds when nothing changed. */
static void
test_fresh_change_is_waited_for (Fixture *f, gconstpointer data)
{
  g_autofree char *proven = NULL;
  g_autofree char *later = NULL;

  g_free (watch (f)); /* the sync's first look, which starts the watch */
  append_message (f->store);
  append_message (f->store);
  proven = stamp (f, PATIENT_US);
  g_assert_nonnull (proven);
  later = peek (f);
  g_assert_cmpstr (later, ==, proven);
}

/* A change made by anybody else since the peek, even in the same clock
 * tick as the store's own, leaves no stamp however long it may wait. */
static void
test_other_change_gets_no_stamp (Fixture *f, gconstpointer data)
{
  g_autofree char *proven = NULL;

  g_free (watch (f)); /* the sync's first look, which starts the watch */
  append_message (f->store);
  add_message (f, "3.c.host:2,");
  proven = stamp (f, PATIENT_US);
  g_assert_null (proven);
}

/* A removal by anybody else counts as much as a delivery. */
static void
test_other_removal_gets_no_stamp (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->root, "Work", "cur", "4.d.host:2,S", NULL);
  g_autofree char *before = NULL;
  g_autofree char *proven = NULL;

  add_message (f, "4.d.host:2,S");
  before = watch (f);
  g_assert_cmpint (g_unlink (path), ==, 0);
  proven = stamp (f, PATIENT_US);
  g_assert_null (proven);
}

/* What another thread of the same sync changes, through a store joined
 * to this one, is the sync's own too. */
static void
test_joined_store_change_is_own (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryStore) worker
      = ferry_store_maildir_new (f->root, FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_autofree char *before = NULL;
  g_autofree char *proven = NULL;

  g_assert_no_error (error);
  ferry_store_maildir_join (worker, f->store);
  before = watch (f);
  append_message (worker);
  proven = stamp (f, PATIENT_US);
  g_assert_nonnull (proven);
}

/* A store not joined to it is somebody else. */
static void
test_unjoined_store_change_is_other (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryStore) other
      = ferry_store_maildir_new (f->root, FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_autofree char *before = NULL;
  g_autofree char *proven = NULL;

  g_assert_no_error (error);
  before = watch (f);
  append_message (other);
  proven = stamp (f, PATIENT_US);
  g_assert_null (proven);
}

/* A peek alone does not watch: a folder found unchanged costs no watch.
 * Nothing then proves a stamp for the store's own changes. */
static void
test_peek_does_not_watch (Fixture *f, gconstpointer data)
{
  g_autofree char *proven = NULL;

  g_free (peek (f));
  append_message (f->store);
  proven = stamp (f, PATIENT_US);
  g_assert_null (proven);
}

/* A watch ended without a stamp proves nothing later either. */
static void
test_unwatched_folder_gets_no_stamp (Fixture *f, gconstpointer data)
{
  g_autofree char *proven = NULL;

  g_free (watch (f));
  append_message (f->store);
  ferry_store_unwatch_folder (f->store, "Work");
  proven = stamp (f, PATIENT_US);
  g_assert_null (proven);
}

/* The stamp a watch starts with is read once it began: a change since an
 * earlier peek shows in it. */
static void
test_watch_reads_stamp_afresh (Fixture *f, gconstpointer data)
{
  g_autofree char *peeked = NULL;
  g_autofree char *watched = NULL;

  add_message (f, "5.e.host:2,");
  g_usleep (PATIENT_US / 2);
  peeked = peek (f);
  g_assert_nonnull (peeked);
  add_message (f, "6.f.host:2,");
  watched = watch (f);
  g_assert_cmpstr (watched, !=, peeked);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/sync-store-maildir/stamp/fresh-change", Fixture, NULL, fixture_set_up,
              test_fresh_change_gets_no_stamp, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/fresh-change-waited-for", Fixture, NULL, fixture_set_up,
              test_fresh_change_is_waited_for, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/other-change", Fixture, NULL, fixture_set_up,
              test_other_change_gets_no_stamp, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/other-removal", Fixture, NULL, fixture_set_up,
              test_other_removal_gets_no_stamp, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/joined-store", Fixture, NULL, fixture_set_up,
              test_joined_store_change_is_own, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/unjoined-store", Fixture, NULL, fixture_set_up,
              test_unjoined_store_change_is_other, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/peek-does-not-watch", Fixture, NULL, fixture_set_up,
              test_peek_does_not_watch, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/unwatched", Fixture, NULL, fixture_set_up,
              test_unwatched_folder_gets_no_stamp, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/watch-reads-afresh", Fixture, NULL, fixture_set_up,
              test_watch_reads_stamp_afresh, fixture_tear_down);
  return g_test_run ();
}
