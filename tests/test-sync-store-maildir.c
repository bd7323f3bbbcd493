/* test-sync-store-maildir.c: change stamps of the Maildir store
 *
 * A stamp is the pair of directory times of a folder's cur/ and new/; it
 * is trusted only once the latest change is old enough that another
 * cannot share its time (src/sync/sync-store-maildir.c).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gstdio.h>

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

/* What ferry_store_listing_digest() makes of messages seen and unflagged. */
static char *
digest_of (const char *const *uniques)
{
  g_autoptr (GPtrArray) messages
      = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);

  for (guint i = 0; uniques[i] != NULL; i++)
    g_ptr_array_add (messages, ferry_store_message_new (uniques[i], FERRY_MAIL_FLAG_SEEN, 0));
  return ferry_store_listing_digest (messages);
}

static char *
stamp (Fixture *f, const char *digest, gint64 max_wait_us)
{
  g_autoptr (GError) error = NULL;
  char *stamp = NULL;

  g_assert_true (ferry_store_stamp_folder (f->store, "Work", digest, max_wait_us, &stamp, &error));
  g_assert_no_error (error);
  return stamp;
}

static char *
peek (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  char *stamp = NULL;

  g_assert_true (ferry_store_peek_folder (f->store, "Work", &stamp, &error));
  g_assert_no_error (error);
  return stamp;
}

/* Right after a change, without leave to wait, there is no stamp: the
 * next sync looks at the folder. */
static void
test_fresh_change_gets_no_stamp (Fixture *f, gconstpointer data)
{
  const char *uniques[] = { "1.a.host", NULL };
  g_autofree char *digest = digest_of (uniques);
  g_autofree char *now = NULL;

  add_message (f, "1.a.host:2,S");
  now = stamp (f, digest, 0);
  g_assert_null (now);
  g_assert_null (peek (f));
}

/* With leave to wait out the margin, the stamp is proven at once, and is
 * what a later look finds when nothing changed. */
static void
test_fresh_change_is_waited_for (Fixture *f, gconstpointer data)
{
  const char *uniques[] = { "1.a.host", "2.b.host", NULL };
  g_autofree char *digest = digest_of (uniques);
  g_autofree char *proven = NULL;
  g_autofree char *later = NULL;

  add_message (f, "1.a.host:2,S");
  add_message (f, "2.b.host:2,S");
  proven = stamp (f, digest, PATIENT_US);
  g_assert_nonnull (proven);
  later = peek (f);
  g_assert_cmpstr (later, ==, proven);
}

/* A folder that holds anything but what the caller believes gets no
 * stamp, however long it may wait. */
static void
test_other_contents_get_no_stamp (Fixture *f, gconstpointer data)
{
  const char *uniques[] = { "1.a.host", NULL };
  g_autofree char *digest = digest_of (uniques);
  g_autofree char *proven = NULL;

  add_message (f, "1.a.host:2,S");
  add_message (f, "3.c.host:2,");
  proven = stamp (f, digest, PATIENT_US);
  g_assert_null (proven);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/sync-store-maildir/stamp/fresh-change", Fixture, NULL, fixture_set_up,
              test_fresh_change_gets_no_stamp, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/fresh-change-waited-for", Fixture, NULL, fixture_set_up,
              test_fresh_change_is_waited_for, fixture_tear_down);
  g_test_add ("/sync-store-maildir/stamp/other-contents", Fixture, NULL, fixture_set_up,
              test_other_contents_get_no_stamp, fixture_tear_down);
  return g_test_run ();
}
