/* test-outbox-spool.c: tests for src/outbox/outbox-spool.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "core/paths.h"
#include "core/errors.h"
#include "outbox/outbox-spool.h"

typedef struct
{
  char *dir;
  FerryOutboxSpool *spool;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *outbox = NULL;

  f->dir = g_dir_make_tmp ("ferry-test-spool-XXXXXX", NULL);
  outbox = g_build_filename (f->dir, "outbox", NULL);
  f->spool = ferry_outbox_spool_open (outbox, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ferry_outbox_spool_unref (f->spool);
  ferry_paths_remove_tree (f->dir);
  g_free (f->dir);
}

static FerryOutboxEntry *
add_message (Fixture *f, const char *text)
{
  g_autoptr (FerryOutboxEntry) envelope = ferry_outbox_entry_new ();
  g_autoptr (GBytes) message = g_bytes_new (text, strlen (text));
  g_autoptr (GError) error = NULL;
  FerryOutboxEntry *entry;

  envelope->account = g_strdup ("personal");
  g_free (envelope->sender);
  envelope->sender = g_strdup ("me@example.org");
  envelope->subject = g_strdup ("Grüße\nwith a newline");
  ferry_outbox_entry_add_recipient (envelope, "bob@example.org");
  ferry_outbox_entry_add_recipient (envelope, "carol@example.org");
  entry = ferry_outbox_spool_add (f->spool, message, envelope, &error);
  g_assert_no_error (error);
  return entry;
}

static guint
mode_of (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

static void
test_add (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autofree char *message = g_build_filename (entry->path, "message", NULL);
  g_autofree char *envelope = g_build_filename (entry->path, "envelope", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GPtrArray) entries = NULL;

  g_assert_cmpuint (strlen (entry->id), ==, 12);
  g_assert_true (g_file_get_contents (message, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "To: bob@example.org\n\nhi\n");
  g_assert_cmpuint (entry->size, ==, strlen (contents));
  g_assert_cmpuint (mode_of (message), ==, 0600);
  g_assert_cmpuint (mode_of (envelope), ==, 0600);
  g_assert_cmpuint (mode_of (entry->path), ==, 0700);
  g_assert_cmpuint (mode_of (ferry_outbox_spool_get_path (f->spool)), ==, 0700);

  entries = ferry_outbox_spool_list (f->spool, NULL);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpstr (((FerryOutboxEntry *) g_ptr_array_index (entries, 0))->subject, ==,
                   "Grüße\nwith a newline");
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autoptr (FerryOutboxEntry) copy = ferry_outbox_entry_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  FerryOutboxRecipient *r;

  entry->state = FERRY_OUTBOX_STATE_FAILED;
  entry->attempts = 3;
  entry->last_attempt = 1700000000;
  entry->next_attempt = 1700000600;
  entry->last_reply = g_strdup ("550 5.1.1 <carol@example.org>: no such user");
  r = g_ptr_array_index (entry->recipients, 1);
  r->state = FERRY_OUTBOX_STATE_FAILED;
  r->reply = g_strdup ("550 5.1.1 no such user");

  first = ferry_outbox_entry_serialize (entry);
  g_assert_true (ferry_outbox_entry_deserialize (copy, first, strlen (first), &error));
  g_assert_no_error (error);
  second = ferry_outbox_entry_serialize (copy);
  g_assert_cmpstr (first, ==, second);
  g_assert_cmpint (copy->state, ==, FERRY_OUTBOX_STATE_FAILED);
  g_assert_cmpuint (copy->attempts, ==, 3);
  g_assert_cmpint (copy->next_attempt, ==, 1700000600);
}

static void
test_lookup (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autoptr (FerryOutboxEntry) found = NULL;
  g_autofree char *prefix = g_strndup (entry->id, 6);
  static const char *const bad[] = { "../x", "", "ABC", "zz", "/etc" };

  found = ferry_outbox_spool_lookup (f->spool, prefix, NULL);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->id, ==, entry->id);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (FerryOutboxEntry) none = ferry_outbox_spool_lookup (f->spool, bad[i], &error);
      g_assert_null (none);
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
    }
}

static void
test_lock (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autoptr (FerryOutboxLock) lock = NULL;
  g_autoptr (FerryOutboxLock) second = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (ferry_outbox_entry_is_locked (entry));
  lock = ferry_outbox_entry_try_lock (entry, &error);
  g_assert_no_error (error);
  g_assert_true (ferry_outbox_entry_is_locked (entry));

  second = ferry_outbox_entry_try_lock (entry, &error);
  g_assert_null (second);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_BUSY);

  g_clear_pointer (&lock, ferry_outbox_lock_free);
  g_assert_false (ferry_outbox_entry_is_locked (entry));
}

static void
test_save_and_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autoptr (FerryOutboxEntry) again = NULL;
  g_autoptr (FerryOutboxLock) lock = ferry_outbox_entry_try_lock (entry, NULL);
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) error = NULL;

  entry->state = FERRY_OUTBOX_STATE_SENT;
  entry->sent_at = 1700000000;
  g_assert_true (ferry_outbox_entry_save (entry, lock, &error));
  g_assert_no_error (error);

  again = ferry_outbox_spool_lookup (f->spool, entry->id, &error);
  g_assert_cmpint (again->state, ==, FERRY_OUTBOX_STATE_SENT);
  g_assert_cmpint (again->sent_at, ==, 1700000000);

  g_assert_true (ferry_outbox_spool_remove (f->spool, entry, lock, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (entry->path, G_FILE_TEST_EXISTS));
  entries = ferry_outbox_spool_list (f->spool, NULL);
  g_assert_cmpuint (entries->len, ==, 0);
}

/* A damaged envelope must not make its message vanish from the list. */
static void
test_damaged_envelope (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryOutboxEntry) entry = add_message (f, "To: bob@example.org\n\nhi\n");
  g_autofree char *envelope = g_build_filename (entry->path, "envelope", NULL);
  g_autoptr (GPtrArray) entries = NULL;
  FerryOutboxEntry *listed;

  g_assert_true (g_file_set_contents (envelope, "[envelope\ngarbage", -1, NULL));
  entries = ferry_outbox_spool_list (f->spool, NULL);
  g_assert_cmpuint (entries->len, ==, 1);
  listed = g_ptr_array_index (entries, 0);
  g_assert_cmpint (listed->state, ==, FERRY_OUTBOX_STATE_FAILED);
  g_assert_nonnull (strstr (listed->last_reply, "cannot read"));
}

static void
test_order (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) entries = NULL;

  for (guint i = 0; i < 20; i++)
    ferry_outbox_entry_unref (add_message (f, "To: bob@example.org\n\nhi\n"));
  entries = ferry_outbox_spool_list (f->spool, NULL);
  g_assert_cmpuint (entries->len, ==, 20);
  for (guint i = 1; i < entries->len; i++)
    {
      FerryOutboxEntry *a = g_ptr_array_index (entries, i - 1);
      FerryOutboxEntry *b = g_ptr_array_index (entries, i);
      g_assert_cmpint (a->queued_at, <=, b->queued_at);
      g_assert_cmpstr (a->id, !=, b->id);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/outbox-spool/add", test_add);
  ADD ("/outbox-spool/round-trip", test_round_trip);
  ADD ("/outbox-spool/lookup", test_lookup);
  ADD ("/outbox-spool/lock", test_lock);
  ADD ("/outbox-spool/save-and-remove", test_save_and_remove);
  ADD ("/outbox-spool/damaged-envelope", test_damaged_envelope);
  ADD ("/outbox-spool/order", test_order);
#undef ADD
  return g_test_run ();
}
