/* test-sync-engine.c: the sync engine, store to store, stopped dead at
 * every step
 *
 * Both sides are real Maildir trees (the far one laid out verbatim, the
 * near one as Maildir++), so a scenario runs in milliseconds. Each one is
 * first synced whole; then, for every N from 1 to the number of
 * state-changing steps that run took, it is run again from the same start,
 * stopped dead after step N (core/test-hooks.h: the process exits at once,
 * as under kill -9), and resumed. Every resumed result must equal the
 * uninterrupted one, and a further sync must find nothing left to do.
 *
 * The sync itself runs in a child process (this program with --sync), so
 * that stopping it dead does not stop the test.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/wait.h>

#include "core/errors.h"
#include "core/paths.h"
#include "sync/sync-engine.h"
#include "sync/sync-store-maildir.h"

#define CRASH_EXIT_STATUS 99

static const char *self_path;

/* ---- a store whose folders can be "replaced", as a server's can ------- */

/* The Maildir store with a UIDVALIDITY read from a file in the root, so
 * that a test can replace a folder the way an IMAP server does: every
 * message gets a new id and the validity changes. */
typedef struct
{
  FerryStore parent;
  FerryStore *inner;
  char *validity_file;
} ValidityStore;

static FerryStoreClass validity_class;

static void
validity_finalize (FerryStore *store)
{
  ValidityStore *self = (ValidityStore *) store;

  ferry_store_unref (self->inner);
  g_free (self->validity_file);
  g_free (self);
}

static gboolean
validity_select (FerryStore *store,
                 const char *name,
                 FerryStoreFolderStatus *status,
                 GError **error)
{
  ValidityStore *self = (ValidityStore *) store;
  g_autofree char *text = NULL;

  if (!ferry_store_select_folder (self->inner, name, status, error))
    return FALSE;
  if (g_file_get_contents (self->validity_file, &text, NULL, NULL))
    status->validity = (guint32) g_ascii_strtoull (text, NULL, 10);
  return TRUE;
}

#define FORWARD(name, ret, params, args)                                                           \
  static ret validity_##name params                                                                \
  {                                                                                                \
    return ((ValidityStore *) store)->inner->klass->name args;                                     \
  }

FORWARD (list_folders,
         GPtrArray *,
         (FerryStore * store, GError **error),
         (((ValidityStore *) store)->inner, error))
FORWARD (create_folder,
         gboolean,
         (FerryStore * store, const char *name, GError **error),
         (((ValidityStore *) store)->inner, name, error))
FORWARD (delete_folder,
         gboolean,
         (FerryStore * store, const char *name, GError **error),
         (((ValidityStore *) store)->inner, name, error))
FORWARD (list_messages,
         GPtrArray *,
         (FerryStore * store, GError **error),
         (((ValidityStore *) store)->inner, error))
FORWARD (fetch_message_ids,
         gboolean,
         (FerryStore * store, GPtrArray *m, GError **error),
         (((ValidityStore *) store)->inner, m, error))
FORWARD (fetch,
         gboolean,
         (FerryStore * store, const char *id, int fd, GError **error),
         (((ValidityStore *) store)->inner, id, fd, error))
FORWARD (append_begin,
         FerryStoreAppend *,
         (FerryStore * store, FerryMailFlags f, GError **error),
         (((ValidityStore *) store)->inner, f, error))
FORWARD (append_commit,
         gboolean,
         (FerryStore * store, FerryStoreAppend *a, char **id, GError **error),
         (((ValidityStore *) store)->inner, a, id, error))
FORWARD (flush,
         gboolean,
         (FerryStore * store, GError **error),
         (((ValidityStore *) store)->inner, error))
FORWARD (set_flags,
         gboolean,
         (FerryStore * store, const char *id, FerryMailFlags o, FerryMailFlags n, GError **error),
         (((ValidityStore *) store)->inner, id, o, n, error))
FORWARD (expunge,
         gboolean,
         (FerryStore * store, GPtrArray *ids, GError **error),
         (((ValidityStore *) store)->inner, ids, error))
FORWARD (copy,
         gboolean,
         (FerryStore * store, const char *id, const char *to, GError **error),
         (((ValidityStore *) store)->inner, id, to, error))
FORWARD (move,
         gboolean,
         (FerryStore * store, const char *id, const char *to, char **new_id, GError **error),
         (((ValidityStore *) store)->inner, id, to, new_id, error))

static void
validity_append_abort (FerryStore *store, FerryStoreAppend *append)
{
  ((ValidityStore *) store)->inner->klass->append_abort (((ValidityStore *) store)->inner, append);
}

static FerryStoreClass validity_class = {
  .kind = "maildir-with-validity",
  .finalize = validity_finalize,
  .list_folders = validity_list_folders,
  .create_folder = validity_create_folder,
  .delete_folder = validity_delete_folder,
  .select_folder = validity_select,
  .list_messages = validity_list_messages,
  .fetch_message_ids = validity_fetch_message_ids,
  .fetch = validity_fetch,
  .append_begin = validity_append_begin,
  .append_commit = validity_append_commit,
  .append_abort = validity_append_abort,
  .flush = validity_flush,
  .set_flags = validity_set_flags,
  .expunge = validity_expunge,
  .copy = validity_copy,
  .move = validity_move,
};

static FerryStore *
far_store_new (const char *root, GError **error)
{
  FerryStore *inner = ferry_store_maildir_new (root, FERRY_SUBFOLDERS_VERBATIM, NULL, error);
  ValidityStore *self;

  if (inner == NULL)
    return NULL;
  self = g_new0 (ValidityStore, 1);
  ferry_store_init (&self->parent, &validity_class, root);
  self->inner = inner;
  self->validity_file = g_build_filename (root, "validity", NULL);
  return &self->parent;
}

/* ---- the child: one sync ------------------------------------------------ */

static FerrySide
side_from_name (const char *name)
{
  return g_str_equal (name, "both")     ? FERRY_SIDE_BOTH
         : g_str_equal (name, "local")  ? FERRY_SIDE_LOCAL
         : g_str_equal (name, "remote") ? FERRY_SIDE_REMOTE
                                        : FERRY_SIDE_NONE;
}

/* --sync WORLD EXPUNGE CREATE REMOVE [TRASH] */
static int
run_sync (char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *far_root = g_build_filename (argv[0], "far", NULL);
  g_autofree char *near_root = g_build_filename (argv[0], "near", NULL);
  g_autofree char *state_path = g_build_filename (argv[0], "state.db", NULL);
  FerrySyncPolicy policy = {
    side_from_name (argv[1]), side_from_name (argv[2]), side_from_name (argv[3]), 0, argv[4], FALSE
  };
  g_autoptr (FerryStore) far = far_store_new (far_root, &error);
  g_autoptr (FerryStore) near = NULL;
  g_autoptr (FerrySyncState) state = NULL;
  g_autoptr (FerrySyncFolderMap) map = NULL;
  g_autoptr (FerrySyncEngine) engine = NULL;
  FerrySyncStats stats;

  if (far != NULL)
    near = ferry_store_maildir_new (near_root, FERRY_SUBFOLDERS_MAILDIRPP, NULL, &error);
  if (near != NULL)
    state = ferry_sync_state_open (state_path, &error);
  if (state != NULL)
    map = ferry_sync_folder_map_new ("*", NULL, NULL, &error);
  if (map == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  engine = ferry_sync_engine_new (far, near, state, map, &policy);
  if (!ferry_sync_engine_run (engine, NULL, &stats, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_print ("fetched=%u uploaded=%u flags=%u deleted=%u\n", stats.fetched, stats.uploaded,
           stats.flag_changes, stats.deleted);
  return 0;
}

/* ---- worlds ------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *expunge, *create, *remove;
  const char *trash;
} World;

static void
world_init (World *w, const char *expunge, const char *create, const char *remove)
{
  w->dir = g_dir_make_tmp ("ferry-test-engine-XXXXXX", NULL);
  w->expunge = g_strdup (expunge);
  w->create = g_strdup (create);
  w->remove = g_strdup (remove);
  w->trash = NULL;
}

static void
world_clear (World *w)
{
  ferry_paths_remove_tree (w->dir);
  g_free (w->dir);
  g_free (w->expunge);
  g_free (w->create);
  g_free (w->remove);
}

static char *
folder_dir (World *w, const char *side, const char *folder)
{
  if (g_str_equal (side, "far"))
    return g_build_filename (w->dir, "far", folder, NULL);
  if (g_str_equal (folder, "INBOX"))
    return g_build_filename (w->dir, "near", NULL);
  {
    g_autofree char *dotted = g_strconcat (".", folder, NULL);
    g_strdelimit (dotted + 1, "/", '.');
    return g_build_filename (w->dir, "near", dotted, NULL);
  }
}

static void
make_maildir (const char *dir)
{
  for (const char *sub = "cur\0new\0tmp\0"; *sub != '\0'; sub += strlen (sub) + 1)
    {
      g_autofree char *path = g_build_filename (dir, sub, NULL);
      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
}

static void
add_message (World *w, const char *side, const char *folder, const char *name, const char *flags)
{
  g_autofree char *dir = folder_dir (w, side, folder);
  g_autofree char *file = g_strdup_printf ("%s.%s.test:2,%s", name, side, flags);
  g_autofree char *path = NULL;
  g_autofree char *text = g_strdup_printf ("Message-ID: <%s@example.org>\nSubject: %s\n\n"
                                           "The body of %s.\n",
                                           name, name, name);

  make_maildir (dir);
  path = g_build_filename (dir, "cur", file, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static char *
find_message (World *w, const char *side, const char *folder, const char *name)
{
  g_autofree char *dir = folder_dir (w, side, folder);
  g_autofree char *needle = g_strdup_printf ("Message-ID: <%s@example.org>", name);

  for (const char *sub = "cur\0new\0"; *sub != '\0'; sub += strlen (sub) + 1)
    {
      g_autofree char *subdir = g_build_filename (dir, sub, NULL);
      g_autoptr (GDir) entries = g_dir_open (subdir, 0, NULL);
      const char *entry;

      while (entries != NULL && (entry = g_dir_read_name (entries)) != NULL)
        {
          g_autofree char *path = g_build_filename (subdir, entry, NULL);
          g_autofree char *text = NULL;

          if (g_file_get_contents (path, &text, NULL, NULL) && strstr (text, needle) != NULL)
            return g_steal_pointer (&path);
        }
    }
  return NULL;
}

/* What mutt does: a rename in cur/. */
static void
set_message_flags (
    World *w, const char *side, const char *folder, const char *name, const char *flags)
{
  g_autofree char *path = find_message (w, side, folder, name);
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *target = NULL;
  char *info;

  g_assert_nonnull (path);
  base = g_path_get_basename (path);
  info = strstr (base, ":2,");
  if (info != NULL)
    *info = '\0';
  dir = folder_dir (w, side, folder);
  target = g_strdup_printf ("%s/cur/%s:2,%s", dir, base, flags);
  g_assert_cmpint (g_rename (path, target), ==, 0);
}

static void
delete_message (World *w, const char *side, const char *folder, const char *name)
{
  g_autofree char *path = find_message (w, side, folder, name);

  g_assert_nonnull (path);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* What mu and notmuch do: the file changes folder, not name. */
static void
move_message (World *w, const char *side, const char *from, const char *to, const char *name)
{
  g_autofree char *path = find_message (w, side, from, name);
  g_autofree char *base = NULL;
  g_autofree char *dir = folder_dir (w, side, to);
  g_autofree char *target = NULL;

  g_assert_nonnull (path);
  base = g_path_get_basename (path);
  make_maildir (dir);
  target = g_build_filename (dir, "cur", base, NULL);
  g_assert_cmpint (g_rename (path, target), ==, 0);
}

static void
delete_folder (World *w, const char *side, const char *folder)
{
  g_autofree char *dir = folder_dir (w, side, folder);

  ferry_paths_remove_tree (dir);
}

/* "Replaces" a far folder as a server does: same messages, new ids, a new
 * UIDVALIDITY. */
static void
replace_far_folder (World *w, const char *folder, guint validity)
{
  g_autofree char *dir = folder_dir (w, "far", folder);
  g_autofree char *cur = g_build_filename (dir, "cur", NULL);
  g_autofree char *validity_file = g_build_filename (w->dir, "far", "validity", NULL);
  g_autofree char *text = g_strdup_printf ("%u\n", validity);
  g_autoptr (GDir) entries = g_dir_open (cur, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  while ((entry = g_dir_read_name (entries)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *from = g_build_filename (cur, name, NULL);
      g_autofree char *to_name = g_strdup_printf ("r%u-%s", validity, name);
      g_autofree char *to = g_build_filename (cur, to_name, NULL);
      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
  g_assert_true (g_file_set_contents (validity_file, text, -1, NULL));
}

/* ---- running and comparing ------------------------------------------------- */

static int
spawn_sync (const char *dir, World *w, const char *crash_after, char **output)
{
  const char *argv[]
      = { self_path, "--sync", dir, w->expunge, w->create, w->remove, w->trash, NULL };
  g_auto (GStrv) env = g_get_environ ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;
  int status;

  env = crash_after != NULL ? g_environ_setenv (env, "FERRY_TEST_CRASH_AFTER", crash_after, TRUE)
                            : g_environ_unsetenv (env, "FERRY_TEST_CRASH_AFTER");
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (output != NULL)
    *output = g_steal_pointer (&out);
  if (!WIFEXITED (status)
      || (WEXITSTATUS (status) != 0 && WEXITSTATUS (status) != CRASH_EXIT_STATUS))
    g_error ("sync failed (status %d): %s", status, err);
  return WEXITSTATUS (status);
}

static char *
flags_letters (FerryMailFlags flags)
{
  GString *letters = g_string_new (NULL);
  const struct
  {
    FerryMailFlags flag;
    char letter;
  } table[] = { { FERRY_MAIL_FLAG_DRAFT, 'D' },     { FERRY_MAIL_FLAG_FLAGGED, 'F' },
                { FERRY_MAIL_FLAG_FORWARDED, 'P' }, { FERRY_MAIL_FLAG_ANSWERED, 'R' },
                { FERRY_MAIL_FLAG_SEEN, 'S' },      { FERRY_MAIL_FLAG_DELETED, 'T' } };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (flags & table[i].flag)
      g_string_append_c (letters, table[i].letter);
  return g_string_free (letters, FALSE);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* One line per message: folder, Message-ID and flags, sorted. */
static char *
describe_side (FerryStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) folders = ferry_store_list_folders (store, &error);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GString *text = g_string_new (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < folders->len; i++)
    {
      FerryStoreFolder *folder = g_ptr_array_index (folders, i);
      FerryStoreFolderStatus status;
      g_autoptr (GPtrArray) messages = NULL;

      g_assert_true (ferry_store_select_folder (store, folder->name, &status, &error));
      messages = ferry_store_list_messages (store, &error);
      g_assert_no_error (error);
      g_assert_true (ferry_store_fetch_message_ids (store, messages, &error));
      g_ptr_array_add (lines, g_strdup (folder->name));
      for (guint j = 0; j < messages->len; j++)
        {
          FerryStoreMessage *message = g_ptr_array_index (messages, j);
          g_autofree char *letters = flags_letters (message->flags);
          g_ptr_array_add (
              lines, g_strdup_printf ("%s %s %s", folder->name, message->message_id, letters));
        }
    }
  g_ptr_array_sort (lines, compare_strings);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (text, "%s\n", (char *) g_ptr_array_index (lines, i));
  return g_string_free (text, FALSE);
}

static char *
describe (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *far_root = g_build_filename (dir, "far", NULL);
  g_autofree char *near_root = g_build_filename (dir, "near", NULL);
  g_autoptr (FerryStore) far
      = ferry_store_maildir_new (far_root, FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_autoptr (FerryStore) near
      = ferry_store_maildir_new (near_root, FERRY_SUBFOLDERS_MAILDIRPP, NULL, &error);
  g_autofree char *far_text = describe_side (far);
  g_autofree char *near_text = describe_side (near);

  return g_strdup_printf ("far:\n%snear:\n%s", far_text, near_text);
}

static void
copy_tree (const char *from, const char *to)
{
  const char *argv[] = { "cp", "-a", from, to, NULL };
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A Maildir changed within the last moment gets no change stamp, and one
 * changed a while ago does; that the start of a scenario is old keeps the
 * steps of every run the same (cp -a keeps the times). */
static void
age_directories (const char *root)
{
  const char *argv[] = { "find", root, "-type",          "d",  "-exec", "touch",
                         "-m",   "-d", "10 seconds ago", "{}", "+",     NULL };
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static guint
count_steps (const char *log)
{
  g_autofree char *text = NULL;
  guint lines = 0;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    return 0;
  for (const char *p = text; *p != '\0'; p++)
    lines += *p == '\n';
  return lines;
}

/* Runs a sync of @dir that is to stop after step @n. */
static void
crash_at_step (const char *dir, World *w, guint n)
{
  g_autofree char *crash_after = g_strdup_printf ("%u", n);
  g_autofree char *log = g_strdup_printf ("%s.steps", dir);
  g_autofree char *text = NULL;
  int status;

  g_setenv ("FERRY_TEST_STEP_LOG", log, TRUE);
  status = spawn_sync (dir, w, crash_after, NULL);
  g_unsetenv ("FERRY_TEST_STEP_LOG");
  if (status == CRASH_EXIT_STATUS)
    return;
  /* It ended first. A stamp is kept only when the watch proved it, and
   * a busy machine can delay the proof past the sync's wait: the sync
   * then has a step fewer, and the next one looks at the folder whole. */
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_test_message ("the sync to stop after step %u ended after these:\n%s", n, text);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (count_steps (log), <, n);
}

/* Syncs the world as it is; then from the same start, stopped after
 * every step and resumed. Returns what the whole run left. */
static char *
sync_at_every_step (World *w)
{
  g_autofree char *start = g_build_filename (w->dir, "start", NULL);
  g_autofree char *whole = g_build_filename (w->dir, "whole", NULL);
  g_autofree char *log = g_build_filename (w->dir, "steps.log", NULL);
  g_autofree char *far = g_build_filename (w->dir, "far", NULL);
  g_autofree char *near = g_build_filename (w->dir, "near", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *second = NULL;
  guint steps;

  g_assert_cmpint (g_mkdir (start, 0700), ==, 0);
  copy_tree (far, start);
  copy_tree (near, start);
  {
    g_autofree char *db = g_build_filename (w->dir, "state.db", NULL);
    if (g_file_test (db, G_FILE_TEST_EXISTS))
      {
        const char *argv[] = { "sh", "-c", "cp -a \"$0\"/state.db* \"$1\"", w->dir, start, NULL };
        int status;
        g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                     NULL, NULL, &status, NULL));
        g_assert_true (g_spawn_check_wait_status (status, NULL));
      }
  }

  age_directories (start);
  copy_tree (start, whole);
  g_setenv ("FERRY_TEST_STEP_LOG", log, TRUE);
  g_assert_cmpint (spawn_sync (whole, w, NULL, NULL), ==, 0);
  g_unsetenv ("FERRY_TEST_STEP_LOG");
  steps = count_steps (log);
  expected = describe (whole);
  /* A second sync has nothing left to do. */
  g_assert_cmpint (spawn_sync (whole, w, NULL, &second), ==, 0);
  g_assert_cmpstr (second, ==, "fetched=0 uploaded=0 flags=0 deleted=0\n");
  g_test_message ("%u steps; result:\n%s", steps, expected);
  g_assert_cmpuint (steps, >, 0);

  for (guint n = 1; n <= steps; n++)
    {
      g_autofree char *run = g_strdup_printf ("%s/crash-%u", w->dir, n);
      g_autofree char *after = NULL;
      g_autofree char *again = NULL;

      copy_tree (start, run);
      crash_at_step (run, w, n);
      g_assert_cmpint (spawn_sync (run, w, NULL, NULL), ==, 0);
      after = describe (run);
      if (g_strcmp0 (after, expected) != 0)
        g_error ("stopped after step %u of %u, the resumed sync left\n%s\ninstead of\n%s", n, steps,
                 after, expected);
      g_assert_cmpint (spawn_sync (run, w, NULL, &again), ==, 0);
      g_assert_cmpstr (again, ==, "fetched=0 uploaded=0 flags=0 deleted=0\n");
      ferry_paths_remove_tree (run);
    }
  return g_steal_pointer (&expected);
}

/* The world's first sync, in place, so that a scenario starts from an
 * agreed state. */
static void
settle (World *w)
{
  g_assert_cmpint (spawn_sync (w->dir, w, NULL, NULL), ==, 0);
}

static void
prepare_roots (World *w)
{
  g_autofree char *far = g_build_filename (w->dir, "far", NULL);
  g_autofree char *near = g_build_filename (w->dir, "near", NULL);

  g_assert_cmpint (g_mkdir_with_parents (far, 0700), ==, 0);
  make_maildir (near);
  add_message (w, "far", "INBOX", "first", "S");
}

static void
assert_contains (const char *text, const char *line)
{
  if (strstr (text, line) == NULL)
    g_error ("expected the line “%s” in\n%s", line, text);
}

static void
assert_lacks (const char *text, const char *line)
{
  if (strstr (text, line) != NULL)
    g_error ("did not expect “%s” in\n%s", line, text);
}

/* ---- scenarios ------------------------------------------------------------- */

static void
test_new_both_ways (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "none");
  prepare_roots (&w);
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("far-inbox-%d", i);
      add_message (&w, "far", "INBOX", name, i % 2 ? "S" : "");
    }
  add_message (&w, "far", "Archive/2024", "archived", "RS");
  add_message (&w, "near", "INBOX", "written-here", "DS");
  add_message (&w, "near", "Sent", "sent-here", "S");

  result = sync_at_every_step (&w);
  assert_contains (result, "far:\n");
  assert_contains (result, "INBOX <far-inbox-3@example.org> S\n");
  assert_contains (result, "Archive/2024 <archived@example.org> RS\n");
  assert_contains (result, "INBOX <written-here@example.org> DS\n");
  assert_contains (result, "Sent <sent-here@example.org> S\n");
  /* Both sides hold the same. */
  {
    const char *near = strstr (result, "near:\n");
    g_autofree char *far
        = g_strndup (result + strlen ("far:\n"), near - result - strlen ("far:\n"));
    g_assert_cmpstr (far, ==, near + strlen ("near:\n"));
  }
  world_clear (&w);
}

static void
test_flags (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "none");
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "read-there", "");
  add_message (&w, "far", "INBOX", "flagged-here", "S");
  add_message (&w, "far", "INBOX", "both-changed", "S");
  add_message (&w, "far", "INBOX", "unread-there", "S");
  settle (&w);

  set_message_flags (&w, "far", "INBOX", "read-there", "S");
  set_message_flags (&w, "near", "INBOX", "flagged-here", "FS");
  /* Both changed: additions from both, a removal where that side removed. */
  set_message_flags (&w, "far", "INBOX", "both-changed", "R");
  set_message_flags (&w, "near", "INBOX", "both-changed", "FS");
  set_message_flags (&w, "far", "INBOX", "unread-there", "");

  result = sync_at_every_step (&w);
  assert_contains (result, "INBOX <read-there@example.org> S\n");
  assert_contains (result, "INBOX <flagged-here@example.org> FS\n");
  assert_contains (result, "INBOX <both-changed@example.org> FR\n");
  assert_contains (result, "INBOX <unread-there@example.org> \n");
  world_clear (&w);
}

static void
test_deletions (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "none");
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "gone-there", "S");
  add_message (&w, "far", "INBOX", "gone-here", "S");
  add_message (&w, "far", "INBOX", "marked-here", "S");
  add_message (&w, "far", "INBOX", "flagged-here-deleted-there", "S");
  add_message (&w, "far", "INBOX", "kept", "S");
  settle (&w);

  delete_message (&w, "far", "INBOX", "gone-there");
  delete_message (&w, "near", "INBOX", "gone-here");
  set_message_flags (&w, "near", "INBOX", "marked-here", "ST");
  set_message_flags (&w, "near", "INBOX", "flagged-here-deleted-there", "FS");
  delete_message (&w, "far", "INBOX", "flagged-here-deleted-there");

  result = sync_at_every_step (&w);
  assert_lacks (result, "gone-there@");
  assert_lacks (result, "gone-here@");
  assert_lacks (result, "marked-here@");
  /* The change wins over the deletion: it comes back, flagged. */
  assert_contains (result, "far:\nINBOX\nINBOX <first@example.org> S\nINBOX "
                           "<flagged-here-deleted-there@example.org> FS\n");
  assert_contains (result, "INBOX <kept@example.org> S\n");
  world_clear (&w);
}

static void
test_deletions_kept_without_expunge (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "none", "both", "none");
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "deleted-there", "S");
  add_message (&w, "far", "INBOX", "deleted-here", "S");
  settle (&w);

  delete_message (&w, "far", "INBOX", "deleted-there");
  delete_message (&w, "near", "INBOX", "deleted-here");

  /* Each deletion is only a mark on the other side. */
  result = sync_at_every_step (&w);
  assert_contains (result, "far:\nINBOX\nINBOX <deleted-here@example.org> ST\n");
  assert_contains (result, "near:\nINBOX\nINBOX <deleted-there@example.org> ST\n");
  world_clear (&w);
}

static void
test_folders (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "both");
  prepare_roots (&w);
  add_message (&w, "far", "Lists/glib", "list-mail", "S");
  {
    g_autofree char *empty = g_build_filename (w.dir, "far", "Empty", NULL);
    make_maildir (empty);
  }
  add_message (&w, "far", "Full", "full-mail", "S");
  settle (&w);

  /* New on each side; deleted here while empty there (removed there);
   * deleted here while it holds mail there (kept, and comes back). */
  add_message (&w, "far", "New/There", "new-there", "");
  add_message (&w, "near", "New Here", "new-here", "S");
  delete_folder (&w, "near", "Empty");
  delete_folder (&w, "near", "Full");

  result = sync_at_every_step (&w);
  assert_contains (result, "New/There <new-there@example.org> \n");
  assert_contains (result, "New Here <new-here@example.org> S\n");
  assert_lacks (result, "Empty\n");
  assert_contains (result, "near:\nFull\nFull <full-mail@example.org> S\n");
  world_clear (&w);
}

static void
test_replaced_folder (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "none");
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "one", "S");
  add_message (&w, "far", "INBOX", "two", "");
  settle (&w);

  set_message_flags (&w, "near", "INBOX", "two", "F");
  add_message (&w, "near", "INBOX", "written-meanwhile", "S");
  replace_far_folder (&w, "INBOX", 777);

  /* Nothing deleted, nothing duplicated; the local flag change survives. */
  result = sync_at_every_step (&w);
  g_assert_cmpstr (result, ==,
                   "far:\nINBOX\nINBOX <first@example.org> S\nINBOX <one@example.org> S\n"
                   "INBOX <two@example.org> F\nINBOX <written-meanwhile@example.org> S\n"
                   "near:\nINBOX\nINBOX <first@example.org> S\nINBOX <one@example.org> S\n"
                   "INBOX <two@example.org> F\nINBOX <written-meanwhile@example.org> S\n");
  world_clear (&w);
}

static void
test_moved_between_folders (void)
{
  World w;
  g_autofree char *result = NULL;
  g_autofree char *moved = NULL;

  world_init (&w, "both", "both", "none");
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "moved", "S");
  add_message (&w, "far", "INBOX", "stays", "S");
  add_message (&w, "far", "Archive", "old", "S");
  settle (&w);

  move_message (&w, "near", "INBOX", "Archive", "moved");
  result = sync_at_every_step (&w);
  g_assert_cmpstr (result, ==,
                   "far:\nArchive\nArchive <moved@example.org> S\nArchive <old@example.org> S\n"
                   "INBOX\nINBOX <first@example.org> S\nINBOX <stays@example.org> S\n"
                   "near:\nArchive\nArchive <moved@example.org> S\nArchive <old@example.org> S\n"
                   "INBOX\nINBOX <first@example.org> S\nINBOX <stays@example.org> S\n");

  /* Moved on the far side too, not uploaded again: it kept its name. */
  moved = g_build_filename (w.dir, "whole", "far", "Archive", "cur", "moved.far.test:2,S", NULL);
  g_assert_true (g_file_test (moved, G_FILE_TEST_EXISTS));
  world_clear (&w);
}

static void
test_trash (void)
{
  World w;
  g_autofree char *result = NULL;

  world_init (&w, "both", "both", "none");
  w.trash = "Trash";
  prepare_roots (&w);
  add_message (&w, "far", "INBOX", "deleted-here", "S");
  add_message (&w, "far", "Trash", "old-trash", "S");
  settle (&w);

  delete_message (&w, "near", "INBOX", "deleted-here");
  result = sync_at_every_step (&w);
  /* Gone from the INBOX on both sides; on the server it waits in Trash,
   * no longer marked deleted, and comes down with it. */
  assert_lacks (result, "INBOX <deleted-here");
  assert_contains (result, "far:\nINBOX\nINBOX <first@example.org> S\nTrash\nTrash "
                           "<deleted-here@example.org> S\n");
  world_clear (&w);
}

int
main (int argc, char **argv)
{
  if ((argc == 6 || argc == 7) && g_str_equal (argv[1], "--sync"))
    return run_sync (argv + 2);

  self_path = argv[0];
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync-engine/new-both-ways", test_new_both_ways);
  g_test_add_func ("/sync-engine/flags", test_flags);
  g_test_add_func ("/sync-engine/deletions", test_deletions);
  g_test_add_func ("/sync-engine/deletions-kept-without-expunge",
                   test_deletions_kept_without_expunge);
  g_test_add_func ("/sync-engine/folders", test_folders);
  g_test_add_func ("/sync-engine/replaced-folder", test_replaced_folder);
  g_test_add_func ("/sync-engine/moved-between-folders", test_moved_between_folders);
  g_test_add_func ("/sync-engine/trash", test_trash);
  return g_test_run ();
}
