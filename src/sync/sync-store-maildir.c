/* sync-store-maildir.c: a tree of Maildirs as a sync store
 *
 * Message ids are the Maildir unique names (the file name up to ":2,"),
 * which stay the same when a mail reader changes the flags, so the sync
 * state never has to follow a rename. A new message is delivered into
 * tmp/ under a name chosen before it becomes visible, which is what lets
 * the engine record it first.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/message-header.h"
#include "maildir/maildir-flags.h"
#include "maildir/maildir-folder.h"
#include "maildir/maildir-layout.h"
#include "maildir/maildir-watch.h"
#include "sync/sync-store-maildir.h"

/* A Message-ID is near the top; no header worth reading is longer. */
#define HEADER_READ_LIMIT (256 * 1024)
#define COPY_BUFFER_SIZE  (128 * 1024)

typedef struct
{
  FerryStore parent;
  FerryMaildirLayout *layout;
  FerryMaildirFolder *selected;
  char *selected_name;
  GHashTable *filenames;    /* unique -> file name, as last seen */
  GPtrArray *listing;       /* FerryStoreMessage: the last scan, not listed yet */
  FerryMaildirWatch *watch; /* shared by the stores of one sync's threads */
  gboolean unlisted;        /* the selected folder was not read: file names are guessed */
} FerryMaildirStore;

static FerryMaildirStore *
maildir_store (FerryStore *store)
{
  return (FerryMaildirStore *) store;
}

/* Every change made through the folder is announced to the watch. */
static FerryMaildirFolder *
open_folder (FerryMaildirStore *self, const char *name, GError **error)
{
  FerryMaildirFolder *folder = ferry_maildir_layout_open_folder (self->layout, name, FALSE, error);

  if (folder != NULL)
    ferry_maildir_folder_set_watch (folder, self->watch);
  return folder;
}

static void
maildir_store_finalize (FerryStore *store)
{
  FerryMaildirStore *self = maildir_store (store);

  g_clear_pointer (&self->selected, ferry_maildir_folder_unref);
  g_clear_pointer (&self->listing, g_ptr_array_unref);
  g_hash_table_destroy (self->filenames);
  ferry_maildir_watch_unref (self->watch);
  ferry_maildir_layout_free (self->layout);
  g_free (self->selected_name);
  g_free (self);
}

static GPtrArray *
maildir_store_list_folders (FerryStore *store, GError **error)
{
  g_autoptr (GPtrArray) names = ferry_maildir_layout_list (maildir_store (store)->layout, error);
  GPtrArray *folders;

  if (names == NULL)
    return NULL;
  folders = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_folder_free);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add (folders, ferry_store_folder_new (g_ptr_array_index (names, i), '/'));
  return folders;
}

static gboolean
maildir_store_create_folder (FerryStore *store, const char *name, GError **error)
{
  return ferry_maildir_layout_create_folder (maildir_store (store)->layout, name, error);
}

static gboolean
maildir_store_delete_folder (FerryStore *store, const char *name, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  if (self->selected_name != NULL && g_str_equal (self->selected_name, name))
    {
      g_clear_pointer (&self->selected, ferry_maildir_folder_unref);
      g_clear_pointer (&self->selected_name, g_free);
    }
  return ferry_maildir_layout_delete_folder (self->layout, name, error);
}

static void
forget_listing (FerryMaildirStore *self)
{
  g_clear_pointer (&self->listing, g_ptr_array_unref);
  g_hash_table_remove_all (self->filenames);
}

/* The scan's names move into @filenames, and each message is kept once
 * more as the listing: a folder of 50,000 messages is held twice, not
 * three times. */
static gboolean
rescan (FerryMaildirStore *self, GError **error)
{
  g_autoptr (GPtrArray) scan = ferry_maildir_folder_scan (self->selected, error);

  if (scan == NULL)
    return FALSE;
  forget_listing (self);
  self->listing = g_ptr_array_new_full (scan->len, (GDestroyNotify) ferry_store_message_free);
  for (guint i = 0; i < scan->len; i++)
    {
      FerryMaildirMessage *message = g_ptr_array_index (scan, i);

      g_ptr_array_add (self->listing, ferry_store_message_new (message->unique, message->flags,
                                                               FERRY_STORE_SIZE_UNKNOWN));
      g_hash_table_insert (self->filenames, g_steal_pointer (&message->unique),
                           g_steal_pointer (&message->filename));
    }
  return TRUE;
}

/* A change this recent may be followed by another within the same tick of
 * the file system's clock, which would leave the time as it is. A file
 * system with whole-second times (FAT has two) gets the long margin; one
 * with nanoseconds is stamped from the kernel's coarse clock, which
 * advances in ticks of a few milliseconds and, on an idle machine, may
 * lag by more than one (7 ms seen): the short margin is several of them. */
#define STAMP_MARGIN_NS       (2 * NS_PER_SECOND)
#define STAMP_SHORT_MARGIN_NS (50 * G_GINT64_CONSTANT (1000000))
#define NS_PER_SECOND         G_GINT64_CONSTANT (1000000000)

static gint64
now_ns (void)
{
  return g_get_real_time () * 1000;
}

static gint64
stamp_margin_ns (gint64 latest_ns)
{
  return latest_ns % NS_PER_SECOND == 0 ? STAMP_MARGIN_NS : STAMP_SHORT_MARGIN_NS;
}

static gboolean
directory_time (const char *folder, const char *sub, gint64 *ns, guint64 *inode)
{
  g_autofree char *path = g_build_filename (folder, sub, NULL);
  struct stat st;

  if (stat (path, &st) != 0)
    return FALSE;
  *ns = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  *inode = (guint64) st.st_ino;
  return TRUE;
}

/* Every change a mail reader makes (a delivery, a flag's rename, a
 * deletion) changes cur/ or new/: their times (and inodes, should one be
 * replaced) are the stamp. */
static char *
read_stamp (const char *folder, gint64 *latest_ns)
{
  gint64 cur_ns, new_ns;
  guint64 cur_inode, new_inode;

  if (!directory_time (folder, "cur", &cur_ns, &cur_inode)
      || !directory_time (folder, "new", &new_ns, &new_inode))
    return NULL;
  *latest_ns = MAX (cur_ns, new_ns);
  return g_strdup_printf ("maildir:%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GUINT64_FORMAT
                          ":%" G_GINT64_FORMAT,
                          cur_inode, cur_ns, new_inode, new_ns);
}

/* NULL while the latest change is too recent to stand for all before it. */
static char *
read_settled_stamp (const char *path)
{
  gint64 latest_ns;
  char *stamp = read_stamp (path, &latest_ns);

  if (stamp != NULL && now_ns () - latest_ns < stamp_margin_ns (latest_ns))
    g_clear_pointer (&stamp, g_free);
  return stamp;
}

static gboolean
maildir_store_peek_folder (FerryStore *store, const char *name, char **stamp, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autofree char *path = ferry_maildir_layout_path_for (self->layout, name, NULL);

  if (path != NULL)
    *stamp = read_settled_stamp (path);
  return TRUE;
}

/* Watched from before the stamp is read and the sync looks at the folder,
 * so that a stamp proven after the sync's own changes stands for what it
 * saw here and did (stamp_folder()). */
static gboolean
maildir_store_watch_folder (FerryStore *store, const char *name, char **stamp, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autofree char *path = ferry_maildir_layout_path_for (self->layout, name, NULL);

  if (path == NULL)
    return TRUE;
  ferry_maildir_watch_begin (self->watch, path);
  *stamp = read_settled_stamp (path);
  return TRUE;
}

static void
maildir_store_unwatch_folder (FerryStore *store, const char *name)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autofree char *path = ferry_maildir_layout_path_for (self->layout, name, NULL);

  if (path != NULL)
    ferry_maildir_watch_end (self->watch, path);
}

/* Once the directories' times are old enough that a later change shows
 * as a new time, the stamp holds when nobody but the sync changed the
 * folder since its watch began (maildir-watch.c). A folder changed a
 * moment ago is waited for only up to @max_wait_us; else its next sync
 * looks at it. */
static gboolean
maildir_store_stamp_folder (
    FerryStore *store, const char *name, gint64 max_wait_us, char **stamp, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autofree char *path = ferry_maildir_layout_path_for (self->layout, name, error);
  g_autofree char *before = NULL;
  gint64 latest_ns;
  gint64 too_young_ns;

  if (path == NULL)
    return FALSE;
  before = read_stamp (path, &latest_ns);
  too_young_ns = before != NULL ? latest_ns + stamp_margin_ns (latest_ns) - now_ns () : 0;
  if (before != NULL && too_young_ns <= max_wait_us * 1000)
    {
      if (too_young_ns > 0)
        g_usleep ((gulong) (too_young_ns / 1000 + 1));
      *stamp = read_stamp (path, &latest_ns);
    }
  if (!ferry_maildir_watch_end (self->watch, path) || g_strcmp0 (before, *stamp) != 0)
    g_clear_pointer (stamp, g_free);
  return TRUE;
}

static gboolean
select_folder (FerryMaildirStore *self,
               const char *name,
               gboolean unlisted,
               FerryStoreFolderStatus *status,
               GError **error)
{
  g_autoptr (FerryMaildirFolder) folder = open_folder (self, name, error);

  if (folder == NULL)
    return FALSE;

  g_clear_pointer (&self->selected, ferry_maildir_folder_unref);
  g_free (self->selected_name);
  self->selected = g_steal_pointer (&folder);
  self->selected_name = g_strdup (name);
  self->unlisted = unlisted;
  /* Nothing of the folder selected before is left, whatever happens. */
  forget_listing (self);
  if (!unlisted && !rescan (self, error))
    return FALSE;

  /* A Maildir has no UIDVALIDITY: its names never change meaning. */
  status->validity = 1;
  status->messages = unlisted ? 0 : self->listing->len;
  return TRUE;
}

static gboolean
maildir_store_select_folder (FerryStore *store,
                             const char *name,
                             FerryStoreFolderStatus *status,
                             GError **error)
{
  return select_folder (maildir_store (store), name, FALSE, status, error);
}

static gboolean
maildir_store_select_folder_unlisted (FerryStore *store,
                                      const char *name,
                                      FerryStoreFolderStatus *status,
                                      GError **error)
{
  return select_folder (maildir_store (store), name, TRUE, status, error);
}

static GPtrArray *
maildir_store_list_messages (FerryStore *store, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  g_return_val_if_fail (self->selected != NULL, NULL);

  if (self->listing == NULL && !rescan (self, error))
    return NULL;
  self->unlisted = FALSE;
  /* The next listing looks at the disk again. */
  return g_steal_pointer (&self->listing);
}

static const char *
known_filename (FerryMaildirStore *self, const char *id)
{
  return g_hash_table_lookup (self->filenames, id);
}

static char *
read_message_id (FerryMaildirStore *self, const char *id, GError **error)
{
  g_autofree char *buffer = g_malloc (HEADER_READ_LIMIT);
  guint64 size;
  gsize filled = 0;
  int fd = ferry_maildir_folder_open_message (self->selected, id, known_filename (self, id), &size,
                                              error);

  if (fd < 0)
    return NULL;
  while (filled < HEADER_READ_LIMIT)
    {
      gssize n = read (fd, buffer + filled, HEADER_READ_LIMIT - filled);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      filled += n;
    }
  close (fd);
  return ferry_message_header_find_message_id (buffer, filled);
}

static gboolean
maildir_store_fetch_message_ids (FerryStore *store, GPtrArray *messages, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  for (guint i = 0; i < messages->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (messages, i);
      g_autoptr (GError) local_error = NULL;

      if (message->message_id != NULL)
        continue;
      message->message_id = read_message_id (self, message->id, &local_error);
      /* Gone since the listing (mutt deleted it): it has no Message-ID to
       * give, and the next listing will not show it. */
      if (local_error != NULL && !g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

/* The size of the file, which the listing left out. */
static gboolean
maildir_store_fetch_sizes (FerryStore *store, GPtrArray *messages, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  for (guint i = 0; i < messages->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (messages, i);
      g_autoptr (GError) local_error = NULL;
      int fd;

      if (message->size != FERRY_STORE_SIZE_UNKNOWN)
        continue;
      fd = ferry_maildir_folder_open_message (self->selected, message->id,
                                              known_filename (self, message->id), &message->size,
                                              &local_error);
      if (fd >= 0)
        close (fd);
      /* Gone since the listing: the next listing will not show it. */
      else if (!g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
copy_fd (int from, int to, const char *path, GError **error)
{
  g_autofree char *buffer = g_malloc (COPY_BUFFER_SIZE);

  for (;;)
    {
      gssize n = read (from, buffer, COPY_BUFFER_SIZE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO, _ ("Cannot read %s: %s"), path,
                       g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      for (gssize written = 0; written < n;)
        {
          gssize w = write (to, buffer + written, n - written);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int saved = errno;
              g_set_error (error, FERRY_ERROR,
                           saved == ENOSPC || saved == EDQUOT ? FERRY_ERROR_TEMP_FAIL
                                                              : FERRY_ERROR_IO,
                           _ ("Cannot write a copy of %s: %s"), path, g_strerror (saved));
              return FALSE;
            }
          written += w;
        }
    }
}

static gboolean
maildir_store_fetch (FerryStore *store, const char *id, int fd, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  guint64 size;
  int from = ferry_maildir_folder_open_message (self->selected, id, known_filename (self, id),
                                                &size, error);
  gboolean ok;

  if (from < 0)
    return FALSE;
  ok = copy_fd (from, fd, ferry_maildir_folder_get_path (self->selected), error);
  close (from);
  return ok;
}

static FerryStoreAppend *
maildir_store_append_begin (FerryStore *store, FerryMailFlags flags, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  FerryMaildirDelivery *delivery = ferry_maildir_folder_begin_delivery (self->selected, error);
  FerryStoreAppend *append;

  if (delivery == NULL)
    return NULL;
  append = g_new0 (FerryStoreAppend, 1);
  append->fd = ferry_maildir_delivery_get_fd (delivery);
  append->flags = flags;
  append->provisional_id = g_strdup (ferry_maildir_delivery_get_unique (delivery));
  append->store_data = delivery;
  return append;
}

static void
append_free (FerryStoreAppend *append)
{
  ferry_maildir_delivery_free (append->store_data);
  g_free (append->provisional_id);
  g_free (append);
}

static gboolean
maildir_store_append_commit (FerryStore *store, FerryStoreAppend *append, char **id, GError **error)
{
  FerryMaildirDelivery *delivery = append->store_data;
  g_autofree char *filename = NULL;

  /* Commit fsyncs the file before it renames it into place. */
  filename = ferry_maildir_delivery_commit (delivery, append->flags, error);
  if (filename == NULL)
    {
      append_free (append);
      return FALSE;
    }
  *id = g_steal_pointer (&append->provisional_id);
  append_free (append);
  return TRUE;
}

/* All the files are made durable before any of them is renamed into
 * place, so that no message becomes visible whose data a crash could
 * still lose. The directories are synced once, by flush(). The new file
 * names are not kept: a sync does nothing more to what it just copied. */
static gboolean
maildir_store_append_commit_many (FerryStore *store,
                                  FerryStoreAppend **appends,
                                  guint n,
                                  char **ids,
                                  guint *n_committed,
                                  GError **error)
{
  g_autofree FerryMaildirDelivery **deliveries = g_new (FerryMaildirDelivery *, n);

  for (guint i = 0; i < n; i++)
    deliveries[i] = appends[i]->store_data;
  if (!ferry_maildir_deliveries_finish_tmp (deliveries, n, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      FerryStoreAppend *append = appends[i];
      g_autofree char *filename
          = ferry_maildir_delivery_commit (deliveries[i], append->flags, error);

      if (filename == NULL)
        return FALSE;
      ids[i] = g_steal_pointer (&append->provisional_id);
      append_free (g_steal_pointer (&appends[i]));
      *n_committed = i + 1;
    }
  return TRUE;
}

static void
maildir_store_append_abort (FerryStore *store, FerryStoreAppend *append)
{
  ferry_maildir_delivery_abort (append->store_data);
  append_free (append);
}

static gboolean
maildir_store_flush (FerryStore *store, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  return self->selected == NULL || ferry_maildir_folder_sync_dirs (self->selected, error);
}

/* In a folder not read, a message's file name as Ferry or a mail reader
 * would give it with @flags: with its flags in cur/, or without any in
 * new/ (Ferry's own delivery of unread mail) or in cur/ (a mail reader's
 * "seen in the index"). A wrong guess costs a look-up. */
static char *
guess_filename (FerryMaildirStore *self, const char *id, FerryMailFlags flags)
{
  g_autofree char *with_info = ferry_maildir_flags_format_filename (id, flags, NULL);
  g_autofree char *in_cur = NULL;
  struct stat st;

  if (flags != 0)
    return g_steal_pointer (&with_info);
  in_cur
      = g_build_filename (ferry_maildir_folder_get_path (self->selected), "cur", with_info, NULL);
  return lstat (in_cur, &st) == 0 ? g_steal_pointer (&with_info) : g_strdup (id);
}

static gboolean
maildir_store_set_flags (FerryStore *store,
                         const char *id,
                         FerryMailFlags old_flags,
                         FerryMailFlags new_flags,
                         GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autofree char *guess = known_filename (self, id) == NULL && self->unlisted
                               ? guess_filename (self, id, old_flags)
                               : NULL;
  /* Only what the engine changes: a flag the user changed in mutt since
   * the listing stays as the user left it. */
  char *filename = ferry_maildir_folder_change_flags (
      self->selected, id, guess != NULL ? guess : known_filename (self, id), new_flags & ~old_flags,
      old_flags & ~new_flags, error);

  if (filename == NULL)
    return FALSE;
  g_hash_table_insert (self->filenames, g_strdup (id), filename);
  return TRUE;
}

static gboolean
maildir_store_expunge (FerryStore *store, GPtrArray *ids, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);

  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      g_autoptr (GError) local_error = NULL;

      if (!ferry_maildir_folder_remove (self->selected, id, known_filename (self, id), &local_error)
          && !g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_hash_table_remove (self->filenames, id);
    }
  return TRUE;
}

static gboolean
maildir_store_copy (FerryStore *store, const char *id, const char *to_folder, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autoptr (FerryMaildirMessage) message = ferry_maildir_folder_find (self->selected, id, error);
  g_autoptr (FerryMaildirFolder) target = NULL;
  g_autoptr (FerryMaildirDelivery) delivery = NULL;
  g_autofree char *filename = NULL;
  guint64 size;
  int from;
  gboolean ok;

  if (message == NULL)
    return FALSE;
  target = open_folder (self, to_folder, error);
  delivery = target != NULL ? ferry_maildir_folder_begin_delivery (target, error) : NULL;
  if (delivery == NULL)
    return FALSE;
  from = ferry_maildir_folder_open_message (self->selected, id, message->filename, &size, error);
  if (from < 0)
    return FALSE;
  ok = copy_fd (from, ferry_maildir_delivery_get_fd (delivery),
                ferry_maildir_folder_get_path (self->selected), error);
  close (from);
  if (ok)
    filename = ferry_maildir_delivery_commit (delivery, message->flags, error);
  return filename != NULL && ferry_maildir_folder_sync_dirs (target, error);
}

static gboolean
maildir_store_move (
    FerryStore *store, const char *id, const char *to_folder, char **new_id, GError **error)
{
  FerryMaildirStore *self = maildir_store (store);
  g_autoptr (FerryMaildirMessage) message = ferry_maildir_folder_find (self->selected, id, error);
  g_autoptr (FerryMaildirFolder) target = NULL;

  if (message == NULL)
    return FALSE;
  target = open_folder (self, to_folder, error);
  if (target == NULL || !ferry_maildir_folder_move_message (self->selected, message, target, error))
    return FALSE;
  g_hash_table_remove (self->filenames, id);
  *new_id = g_strdup (id);
  return ferry_maildir_folder_sync_dirs (target, error)
         && ferry_maildir_folder_sync_dirs (self->selected, error);
}

static const FerryStoreClass maildir_store_class = {
  .kind = "maildir",
  .finalize = maildir_store_finalize,
  .list_folders = maildir_store_list_folders,
  .create_folder = maildir_store_create_folder,
  .delete_folder = maildir_store_delete_folder,
  .peek_folder = maildir_store_peek_folder,
  .watch_folder = maildir_store_watch_folder,
  .unwatch_folder = maildir_store_unwatch_folder,
  .stamp_folder = maildir_store_stamp_folder,
  .select_folder = maildir_store_select_folder,
  .select_folder_unlisted = maildir_store_select_folder_unlisted,
  .list_messages = maildir_store_list_messages,
  .fetch_message_ids = maildir_store_fetch_message_ids,
  .fetch_sizes = maildir_store_fetch_sizes,
  .fetch = maildir_store_fetch,
  .append_begin = maildir_store_append_begin,
  .append_commit = maildir_store_append_commit,
  .append_commit_many = maildir_store_append_commit_many,
  .append_abort = maildir_store_append_abort,
  .flush = maildir_store_flush,
  .set_flags = maildir_store_set_flags,
  .expunge = maildir_store_expunge,
  .copy = maildir_store_copy,
  .move = maildir_store_move,
};

/**
 * ferry_store_maildir_new:
 * @root: the account's Maildir root
 * @subfolders: how folders below the root are laid out
 * @inbox: (nullable): where the INBOX is; %NULL for the layout's default
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the store, or %NULL with @error set.
 */
FerryStore *
ferry_store_maildir_new (const char *root,
                         FerrySubfolders subfolders,
                         const char *inbox,
                         GError **error)
{
  FerryMaildirStore *self;
  FerryMaildirLayout *layout;

  g_return_val_if_fail (root != NULL, NULL);

  layout = ferry_maildir_layout_new (root, subfolders, inbox, error);
  if (layout == NULL)
    return NULL;
  self = g_new0 (FerryMaildirStore, 1);
  ferry_store_init (&self->parent, &maildir_store_class, root);
  self->layout = layout;
  self->filenames = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->watch = ferry_maildir_watch_new ();
  return &self->parent;
}

/**
 * ferry_store_maildir_join:
 * @self: a Maildir store
 * @sibling: another on the same tree, for another thread of the same sync
 *
 * From now on each counts the changes made through the other as its
 * own, which ferry_store_stamp_folder() tells apart from anybody else's.
 */
void
ferry_store_maildir_join (FerryStore *self, FerryStore *sibling)
{
  FerryMaildirStore *store = maildir_store (self);

  g_return_if_fail (self != NULL && sibling != NULL);
  g_return_if_fail (self->klass == &maildir_store_class);
  g_return_if_fail (sibling->klass == &maildir_store_class);

  ferry_maildir_watch_unref (store->watch);
  store->watch = ferry_maildir_watch_ref (maildir_store (sibling)->watch);
}
