/* sync-state.c: what both sides last agreed on, in SQLite
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/test-hooks.h"
#include "sync/sync-state.h"

#define SCHEMA_VERSION  4
#define BUSY_POLL_US    100
#define BUSY_TIMEOUT_US (10 * G_USEC_PER_SEC)

struct _FerrySyncState
{
  gatomicrefcount ref_count;
  char *path;
  sqlite3 *db;
  GHashTable *statements;  /* SQL text (static) -> sqlite3_stmt */
  gboolean synced_commits; /* PRAGMA synchronous is FULL, not NORMAL */
};

static const char schema[]
    = "CREATE TABLE IF NOT EXISTS meta ("
      "  key TEXT PRIMARY KEY,"
      "  value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS folder ("
      "  id INTEGER PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE,"
      "  far_validity INTEGER NOT NULL DEFAULT 0,"
      "  near_validity INTEGER NOT NULL DEFAULT 0,"
      "  far_stamp TEXT,"
      "  near_stamp TEXT,"
      "  far_modseq INTEGER NOT NULL DEFAULT 0,"
      "  copy_policy TEXT,"
      "  far_uidnext INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS message ("
      "  folder INTEGER NOT NULL REFERENCES folder (id) ON DELETE CASCADE,"
      "  far_id TEXT,"
      "  near_id TEXT,"
      "  flags INTEGER NOT NULL,"
      "  state INTEGER NOT NULL,"
      "  message_id TEXT,"
      "  size INTEGER NOT NULL DEFAULT 0,"
      "  far_hint INTEGER NOT NULL DEFAULT 0);"
      "CREATE UNIQUE INDEX IF NOT EXISTS message_far ON message (folder, far_id);"
      "CREATE UNIQUE INDEX IF NOT EXISTS message_near ON message (folder, near_id);"
      /* The count of pending copies, asked of every folder at every sync,
       * reads only these rows. */
      "CREATE INDEX IF NOT EXISTS message_pending ON message (folder, state) WHERE state IN (1, "
      "2);";

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static gboolean
fail (FerrySyncState *self, int code, const char *doing, GError **error)
{
  int primary = code & 0xff;
  FerryError kind = primary == SQLITE_FULL     ? FERRY_ERROR_TEMP_FAIL
                    : primary == SQLITE_BUSY   ? FERRY_ERROR_BUSY
                    : primary == SQLITE_LOCKED ? FERRY_ERROR_BUSY
                                               : FERRY_ERROR_IO;

  g_set_error (error, FERRY_ERROR, kind, _ ("Sync state %s: cannot %s: %s"), self->path, doing,
               self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (code));
  return FALSE;
}

static gboolean
exec (FerrySyncState *self, const char *sql, const char *doing, GError **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK || fail (self, rc, doing, error);
}

/* Statements are prepared once and kept: the engine runs the same few
 * thousands of times in one sync. */
static sqlite3_stmt *
statement (FerrySyncState *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      fail (self, rc, "prepare a query", error);
      return NULL;
    }
  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

static gboolean
step_done (FerrySyncState *self, sqlite3_stmt *stmt, const char *doing, GError **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  return rc == SQLITE_DONE || fail (self, rc, doing, error);
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static char *
column_text_or_null (sqlite3_stmt *stmt, int index)
{
  const unsigned char *text = sqlite3_column_text (stmt, index);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

static gboolean
check_version (FerrySyncState *self, GError **error)
{
  sqlite3_stmt *stmt = statement (self, "SELECT value FROM meta WHERE key = 'version'", error);
  gint64 version;

  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      return exec (self, "INSERT INTO meta (key, value) VALUES ('version', '4')",
                   "record its version", error);
    }
  version = g_ascii_strtoll ((const char *) sqlite3_column_text (stmt, 0), NULL, 10);
  sqlite3_reset (stmt);
  /* Version 1 had no change stamps, version 2 no modseq to ask for
   * changes since, version 3 no UIDNEXT to tell new mail by; a folder
   * without them is listed whole once, or its new mail's Message-IDs
   * asked for apart once. (Version 1's far_next_uid is another's.) */
  if (version == 1
      && !exec (self,
                "ALTER TABLE folder ADD COLUMN far_stamp TEXT;"
                "ALTER TABLE folder ADD COLUMN near_stamp TEXT;"
                "UPDATE meta SET value = '2' WHERE key = 'version';",
                "bring it to version 2", error))
    return FALSE;
  if (version <= 2
      && !exec (self,
                "ALTER TABLE folder ADD COLUMN far_modseq INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE folder ADD COLUMN copy_policy TEXT;"
                "UPDATE meta SET value = '3' WHERE key = 'version';",
                "bring it to version 3", error))
    return FALSE;
  if (version <= 3)
    return exec (self,
                 "ALTER TABLE folder ADD COLUMN far_uidnext INTEGER NOT NULL DEFAULT 0;"
                 "UPDATE meta SET value = '4' WHERE key = 'version';",
                 "bring it to version 4", error);
  if (version != SCHEMA_VERSION)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO,
                        _ ("Sync state %s has version %" G_GINT64_FORMAT
                           ", which this Ferry (version %d) cannot read; run a newer Ferry"),
                        self->path, version, SCHEMA_VERSION),
           FALSE;
  return TRUE;
}

/* The file holds which messages exist in the user's folders: 0600 from
 * its first byte, so it is never readable by others even for an instant. */
static gboolean
create_private_file (const char *path, GError **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE,
                   _ ("Cannot create the sync state %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  fchmod (fd, 0600);
  close (fd);
  return TRUE;
}

/* Another handle's write transaction, in this process (a second
 * connection's thread) or another: it ends within milliseconds, and
 * SQLite's own busy timeout would sleep 1, 2, 5, 10… ms between tries,
 * so waiting out even a short one costs most of a small sync's time. */
static int
wait_while_busy (gpointer data, int n_tries)
{
  gint64 waited_us = (gint64) n_tries * BUSY_POLL_US;

  if (waited_us >= BUSY_TIMEOUT_US)
    return 0;
  g_usleep (BUSY_POLL_US);
  return 1;
}

static gboolean
configure (FerrySyncState *self, GError **error)
{
  /* WAL keeps readers (ferry status, the applet) off the writer's back;
   * synchronous = FULL makes every commit durable before the engine goes
   * on to the change it records, which the crash rules rely on
   * (ferry_sync_state_begin_record() relaxes it where they do not). */
  self->synced_commits = TRUE;
  return exec (self,
               "PRAGMA journal_mode = WAL;"
               "PRAGMA synchronous = FULL;"
               "PRAGMA foreign_keys = ON;",
               "configure it", error)
         && exec (self, schema, "create its tables", error) && check_version (self, error);
}

/**
 * ferry_sync_state_open:
 * @path: the database file; created (mode 0600) when missing
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the state, or %NULL with @error set.
 */
FerrySyncState *
ferry_sync_state_open (const char *path, GError **error)
{
  g_autoptr (FerrySyncState) self = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  if (!create_private_file (path, error))
    return NULL;

  self = g_new0 (FerrySyncState, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->statements
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, finalize_statement);
  rc = sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      fail (self, rc, "open it", error);
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_handler (self->db, wait_while_busy, NULL);
  if (!configure (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

FerrySyncState *
ferry_sync_state_ref (FerrySyncState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_sync_state_unref (FerrySyncState *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_hash_table_destroy (self->statements);
  if (self->db != NULL)
    sqlite3_close (self->db);
  g_free (self->path);
  g_free (self);
}

const char *
ferry_sync_state_get_path (FerrySyncState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * ferry_sync_state_get_note:
 * @self: a #FerrySyncState
 * @key: what the note is about, such as "imap-capabilities"
 * @value: (out) (transfer full) (nullable): the note, or %NULL when none
 *   was kept
 * @error: return location for a #GError
 *
 * Reads back a note kept with ferry_sync_state_set_note(): something
 * learned in one sync that saves the next one work.
 */
gboolean
ferry_sync_state_get_note (FerrySyncState *self, const char *key, char **value, GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);

  *value = NULL;
  stmt = statement (self, "SELECT value FROM meta WHERE key = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = column_text_or_null (stmt, 0);
  sqlite3_reset (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE || fail (self, rc, "read a note", error);
}

/**
 * ferry_sync_state_set_note:
 * @self: a #FerrySyncState
 * @key: what the note is about; not "version", which is the schema's
 * @value: the note
 * @error: return location for a #GError
 *
 * Keeps @value under @key, in place of what was kept before.
 */
gboolean
ferry_sync_state_set_note (FerrySyncState *self, const char *key, const char *value, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL && !g_str_equal (key, "version"), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  stmt = statement (self, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_TRANSIENT);
  return step_done (self, stmt, "keep a note", error);
}

/* Outside a transaction only: SQLite reads the setting at each commit. */
static gboolean
set_synced_commits (FerrySyncState *self, gboolean synced, GError **error)
{
  if (self->synced_commits == synced)
    return TRUE;
  if (!exec (self, synced ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
             "set how commits reach the disk", error))
    return FALSE;
  self->synced_commits = synced;
  return TRUE;
}

/**
 * ferry_sync_state_begin:
 * @self: a #FerrySyncState
 * @error: return location for a #GError
 *
 * Starts a transaction whose commit is on disk when it returns; it takes
 * the write lock at once, so a second
 * writer waits here and not in the middle of its work.
 */
gboolean
ferry_sync_state_begin (FerrySyncState *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return set_synced_commits (self, TRUE, error)
         && exec (self, "BEGIN IMMEDIATE", "start a transaction", error);
}

/**
 * ferry_sync_state_begin_record:
 * @self: a #FerrySyncState
 * @error: return location for a #GError
 *
 * Starts a transaction that records what the stores did already, whose
 * commit is not flushed to disk. A power cut may lose it, together with
 * every commit after it up to the next flushed one (the write-ahead log
 * is replayed up to its first incomplete commit): that leaves the state
 * as a crash just before it would, with the stores ahead of the record,
 * which the next sync catches up with as after any crash. A record that
 * must be on disk before a store changes, such as a pending copy, takes
 * ferry_sync_state_begin(); its commit flushes every one before it too.
 */
gboolean
ferry_sync_state_begin_record (FerrySyncState *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return set_synced_commits (self, FALSE, error)
         && exec (self, "BEGIN IMMEDIATE", "start a transaction", error);
}

/**
 * ferry_sync_state_commit:
 * @self: a #FerrySyncState
 * @error: return location for a #GError
 *
 * Commits the transaction, durably; when that fails, rolls it back.
 * Each commit is one step for the crash-point tests.
 */
gboolean
ferry_sync_state_commit (FerrySyncState *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!exec (self, "COMMIT", "commit a transaction", error))
    {
      ferry_sync_state_rollback (self);
      return FALSE;
    }
  ferry_test_hook_step ("commit");
  return TRUE;
}

void
ferry_sync_state_rollback (FerrySyncState *self)
{
  g_return_if_fail (self != NULL);

  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/**
 * ferry_sync_state_list_folders:
 * @self: a #FerrySyncState
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerrySyncFolderRecord): the
 *   folder pairs, by name.
 */
GPtrArray *
ferry_sync_state_list_folders (FerrySyncState *self, GError **error)
{
  g_autoptr (GPtrArray) folders = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);

  stmt = statement (self,
                    "SELECT id, name, far_validity, near_validity, far_stamp, near_stamp, "
                    "far_modseq, copy_policy, far_uidnext FROM folder ORDER BY name",
                    error);
  if (stmt == NULL)
    return NULL;

  folders = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_sync_folder_record_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FerrySyncFolderRecord *folder
          = ferry_sync_folder_record_new ((const char *) sqlite3_column_text (stmt, 1));

      folder->id = sqlite3_column_int64 (stmt, 0);
      folder->far_validity = (guint32) sqlite3_column_int64 (stmt, 2);
      folder->near_validity = (guint32) sqlite3_column_int64 (stmt, 3);
      folder->far_stamp = column_text_or_null (stmt, 4);
      folder->near_stamp = column_text_or_null (stmt, 5);
      folder->far_modseq = (guint64) sqlite3_column_int64 (stmt, 6);
      folder->copy_policy = column_text_or_null (stmt, 7);
      folder->far_uidnext = (guint32) sqlite3_column_int64 (stmt, 8);
      g_ptr_array_add (folders, folder);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return fail (self, rc, "read its folders", error), NULL;
  return g_steal_pointer (&folders);
}

static void
bind_folder_values (sqlite3_stmt *stmt, const FerrySyncFolderRecord *folder)
{
  sqlite3_bind_text (stmt, 1, folder->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, folder->far_validity);
  sqlite3_bind_int64 (stmt, 3, folder->near_validity);
  bind_text_or_null (stmt, 4, folder->far_stamp);
  bind_text_or_null (stmt, 5, folder->near_stamp);
  sqlite3_bind_int64 (stmt, 6, (gint64) folder->far_modseq);
  bind_text_or_null (stmt, 7, folder->copy_policy);
  sqlite3_bind_int64 (stmt, 8, folder->far_uidnext);
}

/**
 * ferry_sync_state_add_folder:
 * @self: a #FerrySyncState
 * @folder: the new folder pair; its id is filled in
 * @error: return location for a #GError
 */
gboolean
ferry_sync_state_add_folder (FerrySyncState *self, FerrySyncFolderRecord *folder, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (folder != NULL && folder->name != NULL, FALSE);

  stmt = statement (self,
                    "INSERT INTO folder (name, far_validity, near_validity, far_stamp, "
                    "near_stamp, far_modseq, copy_policy, far_uidnext) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    error);
  if (stmt == NULL)
    return FALSE;
  bind_folder_values (stmt, folder);
  if (!step_done (self, stmt, "record a folder", error))
    return FALSE;
  folder->id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

gboolean
ferry_sync_state_update_folder (FerrySyncState *self,
                                const FerrySyncFolderRecord *folder,
                                GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (folder != NULL && folder->name != NULL, FALSE);

  stmt = statement (self,
                    "UPDATE folder SET name = ?, far_validity = ?, near_validity = ?, "
                    "far_stamp = ?, near_stamp = ?, far_modseq = ?, copy_policy = ?, "
                    "far_uidnext = ? WHERE id = ?",
                    error);
  if (stmt == NULL)
    return FALSE;
  bind_folder_values (stmt, folder);
  sqlite3_bind_int64 (stmt, 9, folder->id);
  return step_done (self, stmt, "update a folder", error);
}

/**
 * ferry_sync_state_remove_folder:
 * @self: a #FerrySyncState
 * @folder_id: the folder pair to forget, with all its messages
 * @error: return location for a #GError
 */
gboolean
ferry_sync_state_remove_folder (FerrySyncState *self, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);

  stmt = statement (self, "DELETE FROM folder WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  return step_done (self, stmt, "forget a folder", error);
}

/* What record_from_row() reads, in its order. */
#define RECORD_COLUMNS "rowid, far_id, near_id, flags, state, message_id, size, far_hint"

static FerrySyncRecord *
record_from_row (sqlite3_stmt *stmt)
{
  FerrySyncRecord *record = ferry_sync_record_new ();

  record->row = sqlite3_column_int64 (stmt, 0);
  record->far_id = column_text_or_null (stmt, 1);
  record->near_id = column_text_or_null (stmt, 2);
  record->flags = (FerryMailFlags) (sqlite3_column_int64 (stmt, 3) & FERRY_MAIL_FLAGS_ALL);
  record->state = (FerrySyncRecordState) sqlite3_column_int64 (stmt, 4);
  record->message_id = column_text_or_null (stmt, 5);
  record->size = (guint64) sqlite3_column_int64 (stmt, 6);
  record->far_hint = (guint64) sqlite3_column_int64 (stmt, 7);
  return record;
}

/**
 * ferry_sync_state_list_records:
 * @self: a #FerrySyncState
 * @folder_id: a folder pair
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerrySyncRecord): the
 *   folder's message records, in the order they were made.
 */
GPtrArray *
ferry_sync_state_list_records (FerrySyncState *self, gint64 folder_id, GError **error)
{
  g_autoptr (GPtrArray) records = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);

  stmt = statement (self,
                    "SELECT " RECORD_COLUMNS " "
                    "FROM message WHERE folder = ? ORDER BY rowid",
                    error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, folder_id);

  records = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_sync_record_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, record_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return fail (self, rc, "read its messages", error), NULL;
  return g_steal_pointer (&records);
}

/**
 * ferry_sync_state_find_records:
 * @self: a #FerrySyncState
 * @folder_id: a folder pair
 * @far_ids: (array length=n_ids): far ids, each once
 * @n_ids: how many
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerrySyncRecord): the
 *   folder's records of those far ids that it has, by the index: a few
 *   of a large folder cost what they are, not what the folder is.
 */
GPtrArray *
ferry_sync_state_find_records (
    FerrySyncState *self, gint64 folder_id, const char *const *far_ids, guint n_ids, GError **error)
{
  g_autoptr (GPtrArray) records = NULL;
  sqlite3_stmt *stmt;
  gboolean own_transaction;

  g_return_val_if_fail (self != NULL && (far_ids != NULL || n_ids == 0), NULL);

  stmt = statement (self,
                    "SELECT " RECORD_COLUMNS " "
                    "FROM message WHERE folder = ? AND far_id = ?",
                    error);
  if (stmt == NULL)
    return NULL;
  /* One read lock for all the look-ups, not one each. */
  own_transaction = sqlite3_get_autocommit (self->db);
  if (own_transaction && !exec (self, "BEGIN", "start a transaction", error))
    return NULL;
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_sync_record_free);
  for (guint i = 0; i < n_ids && records != NULL; i++)
    {
      int rc;

      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_text (stmt, 2, far_ids[i], -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        g_ptr_array_add (records, record_from_row (stmt));
      sqlite3_reset (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          fail (self, rc, "read its messages", error);
          g_clear_pointer (&records, g_ptr_array_unref);
        }
    }
  if (own_transaction)
    ferry_sync_state_rollback (self);
  return g_steal_pointer (&records);
}

/* What a change of a record may touch: all but its Message-ID, which it
 * gets once, when it is added. */
static void
bind_record_values (sqlite3_stmt *stmt, const FerrySyncRecord *record)
{
  bind_text_or_null (stmt, 1, record->far_id);
  bind_text_or_null (stmt, 2, record->near_id);
  sqlite3_bind_int64 (stmt, 3, record->flags);
  sqlite3_bind_int64 (stmt, 4, record->state);
  sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) record->size);
  sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) record->far_hint);
}

/**
 * ferry_sync_state_add_record:
 * @self: a #FerrySyncState
 * @folder_id: the folder pair it belongs to
 * @record: the new record; its row is filled in
 * @error: return location for a #GError
 */
gboolean
ferry_sync_state_add_record (FerrySyncState *self,
                             gint64 folder_id,
                             FerrySyncRecord *record,
                             GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  stmt = statement (self,
                    "INSERT INTO message (far_id, near_id, flags, state, size, far_hint, "
                    "message_id, folder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    error);
  if (stmt == NULL)
    return FALSE;
  bind_record_values (stmt, record);
  bind_text_or_null (stmt, 7, record->message_id);
  sqlite3_bind_int64 (stmt, 8, folder_id);
  if (!step_done (self, stmt, "record a message", error))
    return FALSE;
  record->row = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

/**
 * ferry_sync_state_update_record:
 * @self: a #FerrySyncState
 * @record: a record added before
 * @error: return location for a #GError
 *
 * Writes what changed of @record: all but its Message-ID, which stays as
 * it was added (and may be dropped from @record meanwhile).
 */
gboolean
ferry_sync_state_update_record (FerrySyncState *self, const FerrySyncRecord *record, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (record != NULL && record->row > 0, FALSE);

  stmt = statement (self,
                    "UPDATE message SET far_id = ?, near_id = ?, flags = ?, state = ?, "
                    "size = ?, far_hint = ? WHERE rowid = ?",
                    error);
  if (stmt == NULL)
    return FALSE;
  bind_record_values (stmt, record);
  sqlite3_bind_int64 (stmt, 7, record->row);
  return step_done (self, stmt, "update a message", error);
}

/**
 * ferry_sync_state_update_flags:
 * @self: a #FerrySyncState
 * @record: a record added before, of which only the flags changed
 * @error: return location for a #GError
 *
 * As ferry_sync_state_update_record(), writing only the flags: the
 * indexes of the ids are left alone, a third of the pages to write.
 */
gboolean
ferry_sync_state_update_flags (FerrySyncState *self, const FerrySyncRecord *record, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (record != NULL && record->row > 0, FALSE);

  stmt = statement (self, "UPDATE message SET flags = ? WHERE rowid = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, record->flags);
  sqlite3_bind_int64 (stmt, 2, record->row);
  return step_done (self, stmt, "update a message", error);
}

gboolean
ferry_sync_state_remove_record (FerrySyncState *self, gint64 row, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);

  stmt = statement (self, "DELETE FROM message WHERE rowid = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, row);
  return step_done (self, stmt, "forget a message", error);
}

/**
 * ferry_sync_state_remove_all_records:
 * @self: a #FerrySyncState
 * @folder_id: a folder pair
 * @error: return location for a #GError
 *
 * Forgets every message record of a folder pair, as when the server's
 * folder was replaced (its UIDVALIDITY changed) and the pairs are rebuilt.
 */
gboolean
ferry_sync_state_remove_all_records (FerrySyncState *self, gint64 folder_id, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);

  stmt = statement (self, "DELETE FROM message WHERE folder = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  return step_done (self, stmt, "forget a folder's messages", error);
}

/**
 * ferry_sync_state_count_pending:
 * @self: a #FerrySyncState
 * @folder_id: a folder pair
 * @count: (out): how many of its copies a crash may have left unfinished
 * @error: return location for a #GError
 */
gboolean
ferry_sync_state_count_pending (FerrySyncState *self,
                                gint64 folder_id,
                                guint *count,
                                GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (self != NULL && count != NULL, FALSE);

  stmt = statement (self, "SELECT count(*) FROM message WHERE folder = ? AND state IN (1, 2)",
                    error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  rc = sqlite3_step (stmt);
  *count = rc == SQLITE_ROW ? (guint) sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  return rc == SQLITE_ROW || fail (self, rc, "count its unfinished copies", error);
}

FerrySyncRecord *
ferry_sync_record_new (void)
{
  return g_new0 (FerrySyncRecord, 1);
}

FerrySyncRecord *
ferry_sync_record_copy (const FerrySyncRecord *record)
{
  FerrySyncRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);

  copy = g_memdup2 (record, sizeof *record);
  copy->far_id = g_strdup (record->far_id);
  copy->near_id = g_strdup (record->near_id);
  copy->message_id = g_strdup (record->message_id);
  return copy;
}

void
ferry_sync_record_free (FerrySyncRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->far_id);
  g_free (record->near_id);
  g_free (record->message_id);
  g_free (record);
}

FerrySyncFolderRecord *
ferry_sync_folder_record_new (const char *name)
{
  FerrySyncFolderRecord *folder = g_new0 (FerrySyncFolderRecord, 1);

  folder->name = g_strdup (name);
  return folder;
}

void
ferry_sync_folder_record_free (FerrySyncFolderRecord *folder)
{
  if (folder == NULL)
    return;
  g_free (folder->name);
  g_free (folder->far_stamp);
  g_free (folder->copy_policy);
  g_free (folder->near_stamp);
  g_free (folder);
}
