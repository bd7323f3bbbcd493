/* test-maildir-folder.c: tests for src/maildir/maildir-folder.c
 *
 * A mail reader renaming files behind Ferry's back is played by the test
 * itself, and by a thread that renames files as mutt does while Ferry
 * scans.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/paths.h"
#include "maildir/maildir-flags.h"
#include "maildir/maildir-folder.h"

typedef struct
{
  char *dir;
  char *path; /* a Maildir below dir, made by open(create) */
  FerryMaildirFolder *folder;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("ferry-test-maildir-folder-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "Mail", "Archive", NULL);
  f->folder = ferry_maildir_folder_open (f->path, TRUE, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ferry_maildir_folder_unref (f->folder);
  ferry_paths_remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static char *
path_in (Fixture *f, const char *subdir, const char *name)
{
  return g_build_filename (f->path, subdir, name, NULL);
}

static void
put_file (Fixture *f, const char *subdir, const char *name, const char *contents)
{
  g_autofree char *path = path_in (f, subdir, name);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static gboolean
exists (Fixture *f, const char *subdir, const char *name)
{
  g_autofree char *path = path_in (f, subdir, name);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
rename_file (Fixture *f, const char *from_dir, const char *from, const char *to_dir, const char *to)
{
  g_autofree char *from_path = path_in (f, from_dir, from);
  g_autofree char *to_path = path_in (f, to_dir, to);
  g_assert_cmpint (g_rename (from_path, to_path), ==, 0);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names in @subdir, sorted and joined by spaces. */
static char *
list_subdir (Fixture *f, const char *subdir)
{
  g_autofree char *path = g_build_filename (f->path, subdir, NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static guint
mode_of (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

/* "NAME" for a message in new/, "cur/NAME" for one in cur/, joined. */
static char *
describe_scan (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) messages = ferry_maildir_folder_scan (f->folder, &error);
  g_autoptr (GString) out = g_string_new (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    {
      FerryMaildirMessage *m = g_ptr_array_index (messages, i);
      g_string_append_printf (out, "%s%s%s", i > 0 ? " " : "", m->in_new ? "new/" : "cur/",
                              m->filename);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static FerryMaildirMessage *
deliver (Fixture *f, const char *contents, FerryMailFlags flags)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirDelivery) delivery
      = ferry_maildir_folder_begin_delivery (f->folder, &error);
  g_autofree char *filename = NULL;
  FerryMaildirMessage *message;

  g_assert_no_error (error);
  g_assert_true (ferry_maildir_delivery_write (delivery, contents, strlen (contents), &error));
  g_assert_no_error (error);
  filename = ferry_maildir_delivery_commit (delivery, flags, &error);
  g_assert_no_error (error);
  message
      = ferry_maildir_folder_find (f->folder, ferry_maildir_delivery_get_unique (delivery), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (message->filename, ==, filename);
  return message;
}

/* Opening ---------------------------------------------------------------- */

static void
test_open_creates_private_dirs (Fixture *f, gconstpointer data)
{
  g_autofree char *cur = path_in (f, "cur", NULL);
  g_autofree char *new = path_in (f, "new", NULL);
  g_autofree char *tmp = path_in (f, "tmp", NULL);
  g_autofree char *parent = g_path_get_dirname (f->path);

  g_assert_cmpstr (ferry_maildir_folder_get_path (f->folder), ==, f->path);
  g_assert_cmpuint (mode_of (f->path), ==, 0700);
  g_assert_cmpuint (mode_of (parent), ==, 0700);
  g_assert_cmpuint (mode_of (cur), ==, 0700);
  g_assert_cmpuint (mode_of (new), ==, 0700);
  g_assert_cmpuint (mode_of (tmp), ==, 0700);
}

static void
test_open_existing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_autofree char *plain = g_build_filename (f->dir, "plain", NULL);
  g_autofree char *plain_cur = g_build_filename (plain, "cur", NULL);
  g_autofree char *plain_tmp = g_build_filename (plain, "tmp", NULL);
  g_autoptr (FerryMaildirFolder) folder = NULL;

  folder = ferry_maildir_folder_open (missing, FALSE, &error);
  g_assert_null (folder);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* a directory without cur/ is not a Maildir */
  g_assert_cmpint (g_mkdir (plain, 0700), ==, 0);
  folder = ferry_maildir_folder_open (plain, FALSE, &error);
  g_assert_null (folder);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "cur/"));
  g_clear_error (&error);

  /* with cur/ it is, and what a backup of empty directories lost comes back */
  g_assert_cmpint (g_mkdir (plain_cur, 0700), ==, 0);
  folder = ferry_maildir_folder_open (plain, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (plain_tmp, G_FILE_TEST_IS_DIR));

  g_clear_pointer (&folder, ferry_maildir_folder_unref);
  folder = ferry_maildir_folder_open (f->path, FALSE, &error);
  g_assert_no_error (error);
}

/* Delivery ----------------------------------------------------------------- */

static void
test_delivery_stages (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirDelivery) delivery
      = ferry_maildir_folder_begin_delivery (f->folder, &error);
  g_autofree char *tmp_path = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *new_path = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  const char *unique;
  FerryMaildirMessage *m;

  g_assert_no_error (error);
  unique = ferry_maildir_delivery_get_unique (delivery);
  tmp_path = path_in (f, "tmp", unique);

  /* the name exists before the message is visible, private from the start */
  g_assert_true (g_file_test (tmp_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (mode_of (tmp_path), ==, 0600);
  g_assert_cmpint (ferry_maildir_delivery_get_fd (delivery), >=, 0);
  g_assert_true (ferry_maildir_delivery_write (delivery, "Subject: hi\n\n", 13, &error));
  g_assert_cmpint (write (ferry_maildir_delivery_get_fd (delivery), "body\n", 5), ==, 5);
  g_assert_true (ferry_maildir_delivery_finish_tmp (delivery, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ferry_maildir_delivery_get_fd (delivery), ==, -1);

  messages = ferry_maildir_folder_scan (f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 0);
  g_clear_pointer (&messages, g_ptr_array_unref);

  filename = ferry_maildir_delivery_commit (delivery, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (filename, ==, unique);
  g_assert_false (g_file_test (tmp_path, G_FILE_TEST_EXISTS));
  new_path = path_in (f, "new", unique);
  g_assert_true (g_file_get_contents (new_path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "Subject: hi\n\nbody\n");
  g_assert_cmpuint (mode_of (new_path), ==, 0600);
  g_assert_true (ferry_maildir_folder_sync_dirs (f->folder, &error));
  g_assert_no_error (error);

  messages = ferry_maildir_folder_scan (f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 1);
  m = g_ptr_array_index (messages, 0);
  g_assert_cmpstr (m->unique, ==, unique);
  g_assert_cmpstr (m->filename, ==, unique);
  g_assert_true (m->in_new);
  g_assert_cmphex (m->flags, ==, 0);
  g_assert_cmpstr (m->extra_flags, ==, "");

  /* freeing a committed delivery leaves the message alone */
  g_clear_pointer (&delivery, ferry_maildir_delivery_free);
  g_assert_true (g_file_test (new_path, G_FILE_TEST_IS_REGULAR));
}

/* Seen mail goes to cur/; so does unseen mail with other flags, since
 * new/ cannot carry them. */
static void
test_delivery_flags (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirMessage) seen
      = deliver (f, "a", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED);
  g_autoptr (FerryMaildirMessage) flagged = deliver (f, "bb", FERRY_MAIL_FLAG_FLAGGED);
  g_autoptr (FerryMaildirMessage) plain = deliver (f, "ccc", 0);
  g_autofree char *seen_name = g_strconcat (seen->unique, ":2,FS", NULL);
  g_autofree char *flagged_name = g_strconcat (flagged->unique, ":2,F", NULL);

  g_assert_false (seen->in_new);
  g_assert_cmpstr (seen->filename, ==, seen_name);
  g_assert_false (flagged->in_new);
  g_assert_cmpstr (flagged->filename, ==, flagged_name);
  g_assert_cmphex (flagged->flags, ==, FERRY_MAIL_FLAG_FLAGGED);
  g_assert_true (plain->in_new);
  g_assert_cmpstr (plain->filename, ==, plain->unique);
}

static void
test_delivery_abort (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  FerryMaildirDelivery *delivery = ferry_maildir_folder_begin_delivery (f->folder, &error);
  g_autofree char *tmp = NULL;

  g_assert_no_error (error);
  g_assert_true (ferry_maildir_delivery_write (delivery, "x", 1, &error));
  ferry_maildir_delivery_abort (delivery);
  ferry_maildir_delivery_abort (delivery);
  ferry_maildir_delivery_free (delivery);

  /* dropping an unfinished one aborts it too */
  delivery = ferry_maildir_folder_begin_delivery (f->folder, &error);
  g_assert_no_error (error);
  g_assert_true (ferry_maildir_delivery_finish_tmp (delivery, &error));
  ferry_maildir_delivery_free (delivery);

  tmp = list_subdir (f, "tmp");
  g_assert_cmpstr (tmp, ==, "");
  g_free (tmp);
  tmp = describe_scan (f);
  g_assert_cmpstr (tmp, ==, "");
}

#define BATCH 5

static void
begin_batch (Fixture *f, FerryMaildirDelivery **deliveries)
{
  for (guint i = 0; i < BATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("Subject: %u\n\nbody %u\n", i, i);

      deliveries[i] = ferry_maildir_folder_begin_delivery (f->folder, &error);
      g_assert_no_error (error);
      g_assert_true (ferry_maildir_delivery_write (deliveries[i], text, strlen (text), &error));
      g_assert_no_error (error);
    }
}

/* A batch is durable in tmp/ and not visible until each is committed. */
static void
test_deliveries_finish_tmp (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  FerryMaildirDelivery *deliveries[BATCH];
  g_autofree char *scan = NULL;

  begin_batch (f, deliveries);
  g_assert_true (ferry_maildir_deliveries_finish_tmp (deliveries, BATCH, &error));
  g_assert_no_error (error);
  scan = describe_scan (f);
  g_assert_cmpstr (scan, ==, "");
  for (guint i = 0; i < BATCH; i++)
    {
      const char *unique = ferry_maildir_delivery_get_unique (deliveries[i]);
      g_autofree char *tmp_path = path_in (f, "tmp", unique);
      g_autofree char *expected = g_strdup_printf ("Subject: %u\n\nbody %u\n", i, i);
      g_autofree char *filename = NULL;
      g_autofree char *path = NULL;
      g_autofree char *contents = NULL;

      g_assert_cmpint (ferry_maildir_delivery_get_fd (deliveries[i]), ==, -1);
      g_assert_true (g_file_test (tmp_path, G_FILE_TEST_IS_REGULAR));
      filename = ferry_maildir_delivery_commit (deliveries[i], 0, &error);
      g_assert_no_error (error);
      path = path_in (f, "new", filename);
      g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, expected);
      ferry_maildir_delivery_free (deliveries[i]);
    }
  g_free (scan);
  scan = list_subdir (f, "tmp");
  g_assert_cmpstr (scan, ==, "");
  g_assert_true (ferry_maildir_deliveries_finish_tmp (NULL, 0, &error));
  g_assert_no_error (error);
}

/* When one file of a batch cannot be flushed (here its descriptor is made
 * a pipe's, which fsync refuses), none of the batch is left to commit:
 * all are aborted, and the error names the file. */
static void
test_deliveries_finish_tmp_failure (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  FerryMaildirDelivery *deliveries[BATCH];
  g_autofree char *failing = NULL;
  g_autofree char *listing = NULL;
  int pipe_fds[2];

  begin_batch (f, deliveries);
  failing = path_in (f, "tmp", ferry_maildir_delivery_get_unique (deliveries[2]));
  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  g_assert_cmpint (dup2 (pipe_fds[0], ferry_maildir_delivery_get_fd (deliveries[2])), >=, 0);
  close (pipe_fds[0]);
  close (pipe_fds[1]);

  g_assert_false (ferry_maildir_deliveries_finish_tmp (deliveries, BATCH, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, failing));
  for (guint i = 0; i < BATCH; i++)
    {
      g_assert_cmpint (ferry_maildir_delivery_get_fd (deliveries[i]), ==, -1);
      ferry_maildir_delivery_free (deliveries[i]);
    }
  listing = list_subdir (f, "tmp");
  g_assert_cmpstr (listing, ==, "");
  g_free (listing);
  listing = describe_scan (f);
  g_assert_cmpstr (listing, ==, "");
}

/* A file in the way is never replaced: the commit fails, the message stays
 * in tmp/, and the other file keeps its contents. */
static void
test_delivery_never_replaces (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirDelivery) delivery
      = ferry_maildir_folder_begin_delivery (f->folder, &error);
  g_autofree char *blocker = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *filename = NULL;
  const char *unique = ferry_maildir_delivery_get_unique (delivery);

  g_assert_true (ferry_maildir_delivery_write (delivery, "mine", 4, &error));
  put_file (f, "new", unique, "theirs");
  filename = ferry_maildir_delivery_commit (delivery, 0, &error);
  g_assert_null (filename);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  blocker = path_in (f, "new", unique);
  g_assert_true (g_file_get_contents (blocker, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "theirs");
  g_assert_true (exists (f, "tmp", unique));

  /* the same delivery can still go elsewhere */
  filename = ferry_maildir_delivery_commit (delivery, FERRY_MAIL_FLAG_SEEN, &error);
  g_assert_no_error (error);
  g_assert_true (exists (f, "cur", filename));
  g_assert_false (exists (f, "tmp", unique));
}

/* Scanning ----------------------------------------------------------------- */

static void
test_scan (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autofree char *dir_in_cur = path_in (f, "cur", "d");
  g_autofree char *described = NULL;
  FerryMaildirMessage *m;

  put_file (f, "new", "b", "12345");
  put_file (f, "cur", "a:2,S", "1");
  put_file (f, "cur", "c:2,RSa", "1");
  put_file (f, "cur", "f!2,F", "1");
  put_file (f, "cur", "g:1,experimental", "1");
  put_file (f, "cur", "h", "1");
  put_file (f, "cur", ".hidden:2,S", "1");
  put_file (f, "new", ".x", "1");
  put_file (f, "cur", ":2,S", "1");
  g_assert_cmpint (g_mkdir (dir_in_cur, 0700), ==, 0);
  /* the same message twice: another tool copied it */
  put_file (f, "new", "e", "1");
  put_file (f, "cur", "e:2,S", "1");
  put_file (f, "cur", "e:2,RS", "1");

  described = describe_scan (f);
  g_assert_cmpstr (described, ==,
                   "cur/a:2,S new/b cur/c:2,RSa cur/e:2,RS cur/f!2,F cur/g:1,experimental cur/h");

  messages = ferry_maildir_folder_scan (f->folder, &error);
  g_assert_no_error (error);
  m = g_ptr_array_index (messages, 1);
  g_assert_cmpstr (m->unique, ==, "b");
  m = g_ptr_array_index (messages, 2);
  g_assert_cmpstr (m->unique, ==, "c");
  g_assert_cmphex (m->flags, ==, FERRY_MAIL_FLAG_ANSWERED | FERRY_MAIL_FLAG_SEEN);
  g_assert_cmpstr (m->extra_flags, ==, "a");
  m = g_ptr_array_index (messages, 4);
  g_assert_cmpstr (m->unique, ==, "f");
  g_assert_cmphex (m->flags, ==, FERRY_MAIL_FLAG_FLAGGED);
  m = g_ptr_array_index (messages, 5);
  g_assert_cmpstr (m->unique, ==, "g");
  g_assert_cmphex (m->flags, ==, 0);
}

static void
test_find (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirMessage) found = NULL;

  put_file (f, "new", "dup", "1");
  put_file (f, "cur", "dup:2,S", "1");
  found = ferry_maildir_folder_find (f->folder, "dup", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->filename, ==, "dup:2,S");
  g_assert_false (found->in_new);
  g_clear_pointer (&found, ferry_maildir_message_free);

  found = ferry_maildir_folder_find (f->folder, "du", &error);
  g_assert_null (found);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
}

/* Flags --------------------------------------------------------------------- */

static char *
set_flags (Fixture *f, const char *unique, const char *known, FerryMailFlags flags)
{
  g_autoptr (GError) error = NULL;
  char *filename = ferry_maildir_folder_set_flags (f->folder, unique, known, flags, &error);

  g_assert_no_error (error);
  return filename;
}

static void
test_set_flags (Fixture *f, gconstpointer data)
{
  g_autofree char *moved = NULL;
  g_autofree char *replied = NULL;
  g_autofree char *same = NULL;
  g_autofree char *cleared = NULL;
  g_autofree char *stays_new = NULL;
  g_autofree char *listing = NULL;

  /* out of new/ as soon as it has a flag */
  put_file (f, "new", "m", "1");
  moved = set_flags (f, "m", "m", FERRY_MAIL_FLAG_SEEN);
  g_assert_cmpstr (moved, ==, "m:2,S");
  g_assert_true (exists (f, "cur", "m:2,S"));
  g_assert_false (exists (f, "new", "m"));

  /* keywords are kept, letters stay sorted */
  put_file (f, "cur", "k!2,Sba", "1");
  replied = set_flags (f, "k", "k!2,Sba", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_ANSWERED);
  g_assert_cmpstr (replied, ==, "k:2,RSab");

  /* unchanged flags keep the name, even an experimental info */
  put_file (f, "cur", "x:1,abc", "1");
  same = set_flags (f, "x", NULL, 0);
  g_assert_cmpstr (same, ==, "x:1,abc");
  g_clear_pointer (&same, g_free);
  same = set_flags (f, "k", "k:2,RSab", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_ANSWERED);
  g_assert_cmpstr (same, ==, "k:2,RSab");

  /* clearing every flag keeps a message in cur/ */
  cleared = set_flags (f, "m", "m:2,S", 0);
  g_assert_cmpstr (cleared, ==, "m:2,");

  put_file (f, "new", "n", "1");
  stays_new = set_flags (f, "n", NULL, 0);
  g_assert_cmpstr (stays_new, ==, "n");
  g_assert_true (exists (f, "new", "n"));

  listing = list_subdir (f, "cur");
  g_assert_cmpstr (listing, ==, "k:2,RSab m:2, x:1,abc");
}

/* mutt renamed the file after Ferry last saw it: Ferry finds it again. */
static void
test_set_flags_after_mutt_renamed (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *filename = NULL;

  put_file (f, "new", "u", "1");
  rename_file (f, "new", "u", "cur", "u:2,Sa");
  filename = set_flags (f, "u", "u", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED);
  g_assert_cmpstr (filename, ==, "u:2,FSa");

  rename_file (f, "cur", "u:2,FSa", "cur", "u:2,FRSa");
  g_clear_pointer (&filename, g_free);
  filename = set_flags (f, "u", "u:2,FSa", FERRY_MAIL_FLAG_DELETED);
  g_assert_cmpstr (filename, ==, "u:2,Ta");

  /* gone: mutt deleted it */
  rename_file (f, "cur", "u:2,Ta", "tmp", "elsewhere");
  g_clear_pointer (&filename, g_free);
  filename
      = ferry_maildir_folder_set_flags (f->folder, "u", "u:2,Ta", FERRY_MAIL_FLAG_SEEN, &error);
  g_assert_null (filename);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
}

/* Two copies of one message: changing the flags of one never overwrites
 * the other. */
static void
test_set_flags_never_replaces (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *other = path_in (f, "cur", "u:2,RS");

  put_file (f, "cur", "u:2,S", "first");
  put_file (f, "cur", "u:2,RS", "second");
  filename = ferry_maildir_folder_set_flags (
      f->folder, "u", "u:2,S", FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_ANSWERED, &error);
  g_assert_null (filename);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);

  listing = list_subdir (f, "cur");
  g_assert_cmpstr (listing, ==, "u:2,RS u:2,S");
  g_assert_true (g_file_get_contents (other, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "second");
}

/* Names from a damaged sync state never reach outside the folder. */
static void
test_hostile_names (Fixture *f, gconstpointer data)
{
  static const char *const bad_uniques[] = { "", ".hidden", "a/b", "../x", "u:2,S", "u!2,S" };
  g_autoptr (GError) error = NULL;
  g_autofree char *outside = g_build_filename (f->dir, "victim", NULL);
  g_autofree char *outside_name = g_strdup ("../../victim");

  g_assert_true (g_file_set_contents (outside, "keep me", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad_uniques); i++)
    {
      g_assert_false (ferry_maildir_folder_remove (f->folder, bad_uniques[i], NULL, &error));
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
      g_clear_error (&error);
    }

  /* a known name that does not belong to the unique name is not used */
  put_file (f, "cur", "u:2,S", "1");
  g_assert_false (ferry_maildir_folder_remove (f->folder, "victim", outside_name, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ferry_maildir_folder_remove (f->folder, "v", "u:2,S", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_assert_true (g_file_test (outside, G_FILE_TEST_EXISTS));
  g_assert_true (exists (f, "cur", "u:2,S"));
}

/* Removal -------------------------------------------------------------------- */

static void
test_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;

  put_file (f, "new", "a", "1");
  put_file (f, "cur", "b:2,S", "1");
  put_file (f, "cur", "c:2,S", "1");

  g_assert_true (ferry_maildir_folder_remove (f->folder, "a", "a", &error));
  g_assert_no_error (error);
  g_assert_true (ferry_maildir_folder_remove (f->folder, "b", NULL, &error));
  g_assert_no_error (error);

  /* renamed by mutt since */
  rename_file (f, "cur", "c:2,S", "cur", "c:2,RS");
  g_assert_true (ferry_maildir_folder_remove (f->folder, "c", "c:2,S", &error));
  g_assert_no_error (error);

  g_assert_false (ferry_maildir_folder_remove (f->folder, "c", "c:2,RS", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);

  listing = describe_scan (f);
  g_assert_cmpstr (listing, ==, "");
  g_assert_true (ferry_maildir_folder_sync_dirs (f->folder, NULL));
}

/* Reading ---------------------------------------------------------------- */

static void
test_open_message (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  guint64 size = 0;
  char buffer[32] = "";
  int fd;

  put_file (f, "new", "u", "Subject: x\n\nhello\n");
  fd = ferry_maildir_folder_open_message (f->folder, "u", "u", &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 18);

  /* the descriptor outlives a rename by mutt */
  rename_file (f, "new", "u", "cur", "u:2,S");
  g_assert_cmpint (read (fd, buffer, sizeof buffer - 1), ==, 18);
  g_assert_cmpstr (buffer, ==, "Subject: x\n\nhello\n");
  close (fd);

  bytes = ferry_maildir_folder_load_message (f->folder, "u", "u", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), buffer, 18);

  put_file (f, "cur", "empty:2,", "");
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = ferry_maildir_folder_load_message (f->folder, "empty", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);

  g_assert_cmpint (ferry_maildir_folder_open_message (f->folder, "gone", NULL, NULL, &error), ==,
                   -1);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
}

/* tmp/ ------------------------------------------------------------------- */

static void
age_file (Fixture *f, const char *name, gint64 seconds)
{
  g_autofree char *path = path_in (f, "tmp", name);
  struct timespec times[2];

  times[0].tv_sec = times[1].tv_sec = g_get_real_time () / G_USEC_PER_SEC - seconds;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

static void
test_clean_tmp (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *subdir = path_in (f, "tmp", "olddir");
  guint removed = 99;

  put_file (f, "tmp", "fresh", "1");
  put_file (f, "tmp", "day-and-a-half-less-a-minute", "1");
  put_file (f, "tmp", "two-days", "1");
  put_file (f, "tmp", "week", "1");
  age_file (f, "day-and-a-half-less-a-minute", 36 * 3600 - 60);
  age_file (f, "two-days", 48 * 3600);
  age_file (f, "week", 7 * 24 * 3600);
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);
  age_file (f, "olddir", 7 * 24 * 3600);

  g_assert_true (ferry_maildir_folder_clean_tmp (f->folder, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  listing = list_subdir (f, "tmp");
  g_assert_cmpstr (listing, ==, "day-and-a-half-less-a-minute fresh olddir");
}

/* A mail reader at work ------------------------------------------------------ */

#define RACE_MESSAGES 400
#define RACE_SECONDS  2
#define RACE_PATIENCE 30 /* more seconds for a first complete scan */

typedef struct
{
  Fixture *f;
  gint stop;
  guint renames;
} Mutt;

static const char *const mutt_infos[] = { ":2,S", ":2,FS", ":2,RS" };

/* Where message @i is now: 0 for new/, else 1 + its index in mutt_infos;
 * -1 when it is nowhere (which the tests treat as a lost message). */
static int
find_state_once (Fixture *f, guint i)
{
  g_autofree char *unique = g_strdup_printf ("msg%03u", i);

  if (exists (f, "new", unique))
    return 0;
  for (guint k = 0; k < G_N_ELEMENTS (mutt_infos); k++)
    {
      g_autofree char *name = g_strconcat (unique, mutt_infos[k], NULL);
      if (exists (f, "cur", name))
        return (int) k + 1;
    }
  return -1;
}

/* Ferry may rename the file between two of the checks, so look again a
 * few times before calling it lost. */
static int
find_state (Fixture *f, guint i)
{
  int state = -1;

  for (guint attempt = 0; attempt < 100 && state < 0; attempt++)
    {
      state = find_state_once (f, i);
      if (state < 0)
        g_usleep (100);
    }
  return state;
}

static char *
state_path (Fixture *f, guint i, int state)
{
  if (state == 0)
    return g_strdup_printf ("%s/new/msg%03u", f->path, i);
  return g_strdup_printf ("%s/cur/msg%03u%s", f->path, i, mutt_infos[state - 1]);
}

/* Renames messages as mutt does: new/ to cur/ with S, then cycles flags
 * in cur/, in bursts with pauses a little longer than a scan waits for
 * the folder to settle, so that bursts often start while a scan reads.
 * When Ferry renamed a message meanwhile, it finds it again first. */
static gpointer
mutt_thread (gpointer data)
{
  Mutt *mutt = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  int state[RACE_MESSAGES] = { 0 };

  while (!g_atomic_int_get (&mutt->stop))
    {
      for (guint burst = 0; burst < 40; burst++)
        {
          guint i = (guint) g_rand_int_range (rand, 0, RACE_MESSAGES);
          int next = state[i] == 0 ? 1 : 1 + (state[i] % 3);
          g_autofree char *from = state_path (mutt->f, i, state[i]);
          g_autofree char *to = state_path (mutt->f, i, next);

          if (g_rename (from, to) != 0)
            {
              g_assert_cmpint (errno, ==, ENOENT);
              state[i] = find_state (mutt->f, i);
              g_assert_cmpint (state[i], >=, 0);
              continue;
            }
          state[i] = next;
          mutt->renames++;
        }
      g_usleep ((gulong) g_rand_int_range (rand, 30000, 40000));
    }
  return NULL;
}

static void
test_scan_while_mutt_renames (Fixture *f, gconstpointer data)
{
  Mutt mutt = { f, 0, 0 };
  GThread *thread;
  gint64 end;
  guint complete = 0, busy = 0;

  for (guint i = 0; i < RACE_MESSAGES; i++)
    {
      g_autofree char *unique = g_strdup_printf ("msg%03u", i);
      put_file (f, "new", unique, "Subject: race\n\n");
    }

  thread = g_thread_new ("mutt", mutt_thread, &mutt);
  end = g_get_monotonic_time () + RACE_SECONDS * G_USEC_PER_SEC;
  /* A slow build (sanitizers, a loaded machine) may need longer for its
   * first complete scan between two bursts of renames. */
  while (g_get_monotonic_time () < end
         || (complete == 0 && g_get_monotonic_time () < end + RACE_PATIENCE * G_USEC_PER_SEC))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) messages = ferry_maildir_folder_scan (f->folder, &error);

      if (messages == NULL)
        {
          g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
          busy++;
          continue;
        }
      /* every message exactly once: none lost to a rename, none doubled */
      g_assert_cmpuint (messages->len, ==, RACE_MESSAGES);
      for (guint i = 0; i < RACE_MESSAGES; i++)
        {
          FerryMaildirMessage *m = g_ptr_array_index (messages, i);
          g_autofree char *unique = g_strdup_printf ("msg%03u", i);
          g_assert_cmpstr (m->unique, ==, unique);
        }
      complete++;
    }
  g_atomic_int_set (&mutt.stop, 1);
  g_thread_join (thread);

  g_test_message ("%u complete scans, %u given up, %u renames", complete, busy, mutt.renames);
  g_assert_cmpuint (complete, >, 0);
  g_assert_cmpuint (mutt.renames, >, 0);
}

/* Flag changes and look-ups while mutt renames never lose a message. */
static void
test_set_flags_while_mutt_renames (Fixture *f, gconstpointer data)
{
  Mutt mutt = { f, 0, 0 };
  GThread *thread;
  gint64 end;
  guint changed = 0;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < RACE_MESSAGES; i++)
    {
      g_autofree char *unique = g_strdup_printf ("msg%03u", i);
      put_file (f, "new", unique, "Subject: race\n\n");
    }

  thread = g_thread_new ("mutt", mutt_thread, &mutt);
  end = g_get_monotonic_time () + RACE_SECONDS * G_USEC_PER_SEC;
  for (guint i = 0; g_get_monotonic_time () < end; i = (i + 7) % RACE_MESSAGES)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *unique = g_strdup_printf ("msg%03u", i);
      /* the name Ferry saw before mutt's renames */
      g_autofree char *filename = ferry_maildir_folder_set_flags (
          f->folder, unique, unique, FERRY_MAIL_FLAG_SEEN, &local_error);

      if (filename == NULL)
        {
          /* a lost race on a target name mutt takes at once is an error, a vanished message never
           */
          g_assert_false (g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND));
          continue;
        }
      changed++;
    }
  g_atomic_int_set (&mutt.stop, 1);
  g_thread_join (thread);

  messages = ferry_maildir_folder_scan (f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, RACE_MESSAGES);
  g_test_message ("%u flag changes, %u renames", changed, mutt.renames);
  g_assert_cmpuint (changed, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  umask (022);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/maildir-folder/open/creates-private-dirs", test_open_creates_private_dirs);
  ADD ("/maildir-folder/open/existing", test_open_existing);
  ADD ("/maildir-folder/delivery/stages", test_delivery_stages);
  ADD ("/maildir-folder/delivery/flags", test_delivery_flags);
  ADD ("/maildir-folder/delivery/abort", test_delivery_abort);
  ADD ("/maildir-folder/delivery/never-replaces", test_delivery_never_replaces);
  ADD ("/maildir-folder/deliveries/finish-tmp", test_deliveries_finish_tmp);
  ADD ("/maildir-folder/deliveries/finish-tmp-failure", test_deliveries_finish_tmp_failure);
  ADD ("/maildir-folder/scan", test_scan);
  ADD ("/maildir-folder/find", test_find);
  ADD ("/maildir-folder/set-flags", test_set_flags);
  ADD ("/maildir-folder/set-flags/after-mutt-renamed", test_set_flags_after_mutt_renamed);
  ADD ("/maildir-folder/set-flags/never-replaces", test_set_flags_never_replaces);
  ADD ("/maildir-folder/hostile-names", test_hostile_names);
  ADD ("/maildir-folder/remove", test_remove);
  ADD ("/maildir-folder/open-message", test_open_message);
  ADD ("/maildir-folder/clean-tmp", test_clean_tmp);
  ADD ("/maildir-folder/race/scan", test_scan_while_mutt_renames);
  ADD ("/maildir-folder/race/set-flags", test_set_flags_while_mutt_renames);
#undef ADD
  return g_test_run ();
}
