/* test-sync-state.c: the sync state database
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "core/errors.h"
#include "core/paths.h"
#include "sync/sync-state.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ferry-test-state-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "account.db", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ferry_paths_remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static FerrySyncState *
open_state (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  FerrySyncState *state = ferry_sync_state_open (f->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (state);
  return state;
}

static void
test_private_file (Fixture *f, gconstpointer data)
{
  FerrySyncState *state = open_state (f);
  struct stat st;

  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  ferry_sync_state_unref (state);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_folders_and_records (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySyncFolderRecord) folder = ferry_sync_folder_record_new ("Archive/2024");
  g_autoptr (FerrySyncRecord) record = ferry_sync_record_new ();
  g_autoptr (GPtrArray) folders = NULL;
  g_autoptr (GPtrArray) records = NULL;
  FerrySyncRecord *read;

  {
    g_autoptr (FerrySyncState) state = open_state (f);

    folder->far_validity = 1700000000;
    g_assert_true (ferry_sync_state_begin (state, &error));
    g_assert_true (ferry_sync_state_add_folder (state, folder, &error));
    g_assert_cmpint (folder->id, >, 0);

    record->far_id = g_strdup ("42");
    record->near_id = g_strdup ("1700000000.M1P2Q3R4.host");
    record->flags = FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED;
    record->message_id = g_strdup ("<a@example.org>");
    record->size = 1234;
    g_assert_true (ferry_sync_state_add_record (state, folder->id, record, &error));
    g_assert_true (ferry_sync_state_commit (state, &error));
    g_assert_no_error (error);
  }

  /* Another process, later: all of it is there. */
  {
    g_autoptr (FerrySyncState) state = open_state (f);

    folders = ferry_sync_state_list_folders (state, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (folders->len, ==, 1);
    g_assert_cmpstr (((FerrySyncFolderRecord *) folders->pdata[0])->name, ==, "Archive/2024");
    g_assert_cmpuint (((FerrySyncFolderRecord *) folders->pdata[0])->far_validity, ==, 1700000000);

    records = ferry_sync_state_list_records (state, folder->id, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (records->len, ==, 1);
    read = records->pdata[0];
    g_assert_cmpstr (read->far_id, ==, "42");
    g_assert_cmpstr (read->near_id, ==, "1700000000.M1P2Q3R4.host");
    g_assert_cmpint (read->flags, ==, FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED);
    g_assert_cmpint (read->state, ==, FERRY_SYNC_RECORD_PAIRED);
    g_assert_cmpstr (read->message_id, ==, "<a@example.org>");
    g_assert_cmpuint (read->size, ==, 1234);

    /* A record for the far side alone (its near copy went away), as a
     * record of what the stores did: committed all the same. */
    g_clear_pointer (&read->near_id, g_free);
    read->state = FERRY_SYNC_RECORD_NEAR_GONE;
    g_assert_true (ferry_sync_state_begin_record (state, &error));
    g_assert_true (ferry_sync_state_update_record (state, read, &error));
    g_assert_true (ferry_sync_state_commit (state, &error));
    g_clear_pointer (&records, g_ptr_array_unref);
    records = ferry_sync_state_list_records (state, folder->id, &error);
    g_assert_null (((FerrySyncRecord *) records->pdata[0])->near_id);
    g_clear_pointer (&records, g_ptr_array_unref);
    g_clear_pointer (&state, ferry_sync_state_unref);
    state = open_state (f);
    records = ferry_sync_state_list_records (state, folder->id, &error);
    g_assert_no_error (error);
    g_assert_cmpint (((FerrySyncRecord *) records->pdata[0])->state, ==,
                     FERRY_SYNC_RECORD_NEAR_GONE);

    /* Forgetting the folder forgets its messages. */
    g_assert_true (ferry_sync_state_begin (state, &error));
    g_assert_true (ferry_sync_state_remove_folder (state, folder->id, &error));
    g_assert_true (ferry_sync_state_commit (state, &error));
    g_clear_pointer (&records, g_ptr_array_unref);
    records = ferry_sync_state_list_records (state, folder->id, &error);
    g_assert_cmpuint (records->len, ==, 0);
  }
}

static FerrySyncRecord *
add_pair (FerrySyncState *state, gint64 folder_id, const char *far_id, const char *near_id)
{
  g_autoptr (GError) error = NULL;
  FerrySyncRecord *record = ferry_sync_record_new ();

  record->far_id = g_strdup (far_id);
  record->near_id = g_strdup (near_id);
  record->message_id = g_strdup_printf ("<%s@example.org>", far_id);
  g_assert_true (ferry_sync_state_add_record (state, folder_id, record, &error));
  g_assert_no_error (error);
  return record;
}

/* A few records of a folder by their far ids: those there are, whatever
 * the order asked, and nothing of another folder. An update leaves the
 * Message-ID as it was added, also when the record in memory dropped it. */
static void
test_find_and_update (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySyncState) state = open_state (f);
  g_autoptr (FerrySyncFolderRecord) inbox = ferry_sync_folder_record_new ("INBOX");
  g_autoptr (FerrySyncFolderRecord) other = ferry_sync_folder_record_new ("Other");
  g_autoptr (FerrySyncRecord) first = NULL;
  g_autoptr (FerrySyncRecord) second = NULL;
  g_autoptr (FerrySyncRecord) elsewhere = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) all = NULL;
  const char *asked[] = { "7", "404", "3" };
  FerrySyncRecord *read;

  g_assert_true (ferry_sync_state_begin (state, &error));
  g_assert_true (ferry_sync_state_add_folder (state, inbox, &error));
  g_assert_true (ferry_sync_state_add_folder (state, other, &error));
  first = add_pair (state, inbox->id, "3", "a.host");
  second = add_pair (state, inbox->id, "7", "b.host");
  elsewhere = add_pair (state, other->id, "404", "c.host");
  g_assert_true (ferry_sync_state_commit (state, &error));

  found = ferry_sync_state_find_records (state, inbox->id, asked, G_N_ELEMENTS (asked), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpstr (((FerrySyncRecord *) found->pdata[0])->near_id, ==, "b.host");
  g_assert_cmpstr (((FerrySyncRecord *) found->pdata[1])->near_id, ==, "a.host");

  g_assert_true (ferry_sync_state_begin_record (state, &error));
  first->flags = FERRY_MAIL_FLAG_SEEN;
  g_assert_true (ferry_sync_state_update_flags (state, first, &error));
  g_clear_pointer (&second->message_id, g_free);
  second->state = FERRY_SYNC_RECORD_NEAR_GONE;
  g_clear_pointer (&second->near_id, g_free);
  g_assert_true (ferry_sync_state_update_record (state, second, &error));
  g_assert_true (ferry_sync_state_commit (state, &error));

  all = ferry_sync_state_list_records (state, inbox->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  read = all->pdata[0];
  g_assert_cmpint (read->flags, ==, FERRY_MAIL_FLAG_SEEN);
  g_assert_cmpstr (read->near_id, ==, "a.host");
  read = all->pdata[1];
  g_assert_cmpint (read->state, ==, FERRY_SYNC_RECORD_NEAR_GONE);
  g_assert_null (read->near_id);
  g_assert_cmpstr (read->message_id, ==, "<7@example.org>");
}

static void
test_ids_unique (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySyncState) state = open_state (f);
  g_autoptr (FerrySyncFolderRecord) folder = ferry_sync_folder_record_new ("INBOX");
  g_autoptr (FerrySyncRecord) first = ferry_sync_record_new ();
  g_autoptr (FerrySyncRecord) second = ferry_sync_record_new ();

  g_assert_true (ferry_sync_state_begin (state, &error));
  g_assert_true (ferry_sync_state_add_folder (state, folder, &error));
  first->far_id = g_strdup ("7");
  second->far_id = g_strdup ("7");
  g_assert_true (ferry_sync_state_add_record (state, folder->id, first, &error));
  g_assert_false (ferry_sync_state_add_record (state, folder->id, second, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IO);
  ferry_sync_state_rollback (state);
  g_clear_error (&error);

  /* The rolled-back transaction left nothing. */
  {
    g_autoptr (GPtrArray) folders = ferry_sync_state_list_folders (state, &error);
    g_assert_cmpuint (folders->len, ==, 0);
  }
}

static void
test_notes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySyncState) state = open_state (f);
  g_autofree char *value = NULL;

  g_assert_true (ferry_sync_state_get_note (state, "imap-capabilities", &value, &error));
  g_assert_no_error (error);
  g_assert_null (value);
  g_assert_true (ferry_sync_state_set_note (state, "imap-capabilities", "A B\nA C", &error));
  g_assert_true (ferry_sync_state_set_note (state, "imap-capabilities", "A\nA D", &error));
  g_assert_no_error (error);
  g_clear_pointer (&state, ferry_sync_state_unref);

  /* Kept across sessions, the last one only. */
  state = open_state (f);
  g_assert_true (ferry_sync_state_get_note (state, "imap-capabilities", &value, &error));
  g_assert_cmpstr (value, ==, "A\nA D");
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  FerrySyncState *state;

  g_assert_true (
      g_file_set_contents (f->path, "not sqlite at all, but long enough to look", -1, NULL));
  state = ferry_sync_state_open (f->path, &error);
  g_assert_null (state);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IO);
  g_assert_nonnull (strstr (error->message, f->path));
}

/* The tables of earlier versions, each with one folder. */
static const char version_1_tables[]
    = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO meta VALUES ('version', '1');"
      "CREATE TABLE folder (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " far_validity INTEGER NOT NULL DEFAULT 0,"
      " near_validity INTEGER NOT NULL DEFAULT 0,"
      " far_highest_modseq INTEGER NOT NULL DEFAULT 0,"
      " far_next_uid INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO folder (name, far_validity) VALUES ('INBOX', 42);";

static const char version_2_tables[]
    = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO meta VALUES ('version', '2');"
      "CREATE TABLE folder (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " far_validity INTEGER NOT NULL DEFAULT 0,"
      " near_validity INTEGER NOT NULL DEFAULT 0,"
      " far_stamp TEXT, near_stamp TEXT);"
      "INSERT INTO folder (name, far_validity, far_stamp) VALUES ('INBOX', 42, 'imap:42:1:0:3');";

static const char version_3_tables[]
    = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO meta VALUES ('version', '3');"
      "CREATE TABLE folder (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " far_validity INTEGER NOT NULL DEFAULT 0,"
      " near_validity INTEGER NOT NULL DEFAULT 0,"
      " far_stamp TEXT, near_stamp TEXT,"
      " far_modseq INTEGER NOT NULL DEFAULT 0, copy_policy TEXT);"
      "INSERT INTO folder (name, far_validity) VALUES ('INBOX', 42);";

static GPtrArray *
list_folders (FerrySyncState *state)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *folders = ferry_sync_state_list_folders (state, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, 1);
  return folders;
}

/* A state an earlier version wrote (version 1 had no change stamps,
 * version 2 no modseq to ask for changes since, version 3 no UIDNEXT) is
 * read, and takes what this version records. */
static void
test_upgrade (Fixture *f, gconstpointer tables)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySyncState) state = NULL;
  g_autoptr (GPtrArray) folders = NULL;
  FerrySyncFolderRecord *folder;
  sqlite3 *db;

  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, tables, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  state = open_state (f);
  folders = list_folders (state);
  folder = folders->pdata[0];
  g_assert_cmpuint (folder->far_validity, ==, 42);
  g_assert_cmpuint (folder->far_modseq, ==, 0);
  g_assert_cmpuint (folder->far_uidnext, ==, 0);
  g_assert_null (folder->copy_policy);

  g_free (folder->far_stamp);
  folder->far_stamp = g_strdup ("imap:42:7:6:100");
  folder->far_modseq = 99;
  folder->far_uidnext = 7;
  folder->copy_policy = g_strdup ("max-size=0 expunge=3");
  g_assert_true (ferry_sync_state_begin (state, &error));
  g_assert_true (ferry_sync_state_update_folder (state, folder, &error));
  g_assert_true (ferry_sync_state_commit (state, &error));
  g_assert_no_error (error);
  g_clear_pointer (&folders, g_ptr_array_unref);
  g_clear_pointer (&state, ferry_sync_state_unref);

  state = open_state (f);
  folders = list_folders (state);
  folder = folders->pdata[0];
  g_assert_cmpstr (folder->far_stamp, ==, "imap:42:7:6:100");
  g_assert_cmpuint (folder->far_modseq, ==, 99);
  g_assert_cmpuint (folder->far_uidnext, ==, 7);
  g_assert_cmpstr (folder->copy_policy, ==, "max-size=0 expunge=3");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/sync-state/private-file", Fixture, NULL, fixture_set_up, test_private_file,
              fixture_tear_down);
  g_test_add ("/sync-state/folders-and-records", Fixture, NULL, fixture_set_up,
              test_folders_and_records, fixture_tear_down);
  g_test_add ("/sync-state/find-and-update", Fixture, NULL, fixture_set_up, test_find_and_update,
              fixture_tear_down);
  g_test_add ("/sync-state/ids-unique", Fixture, NULL, fixture_set_up, test_ids_unique,
              fixture_tear_down);
  g_test_add ("/sync-state/upgrade-from-version-1", Fixture, version_1_tables, fixture_set_up,
              test_upgrade, fixture_tear_down);
  g_test_add ("/sync-state/upgrade-from-version-2", Fixture, version_2_tables, fixture_set_up,
              test_upgrade, fixture_tear_down);
  g_test_add ("/sync-state/upgrade-from-version-3", Fixture, version_3_tables, fixture_set_up,
              test_upgrade, fixture_tear_down);
  g_test_add ("/sync-state/notes", Fixture, NULL, fixture_set_up, test_notes, fixture_tear_down);
  g_test_add ("/sync-state/not-a-database", Fixture, NULL, fixture_set_up, test_not_a_database,
              fixture_tear_down);
  return g_test_run ();
}
