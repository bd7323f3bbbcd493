/* sync-store.c: what the sync engine asks of a mail store
 *
 * The wrappers check their arguments and mark each change a store made as
 * one step for the crash-point tests (core/test-hooks.h).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "core/test-hooks.h"
#include "sync/sync-store.h"

/* Each change a store made is one step for the crash-point tests, and
 * counts for ferry_store_get_change_count(). */
static void
changed (FerryStore *self, const char *what)
{
  g_atomic_int_inc (&self->changes);
  ferry_test_hook_step (what);
}

/**
 * ferry_store_init:
 * @self: the #FerryStore at the start of an implementation's struct
 * @klass: the implementation's functions
 * @description: how to name the store to a user ("imap.example.org")
 */
void
ferry_store_init (FerryStore *self, const FerryStoreClass *klass, const char *description)
{
  g_return_if_fail (self != NULL && klass != NULL);

  self->klass = klass;
  g_atomic_ref_count_init (&self->ref_count);
  self->description = g_strdup (description);
}

FerryStore *
ferry_store_ref (FerryStore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_store_unref (FerryStore *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->description);
  self->klass->finalize (self);
}

/**
 * ferry_store_get_change_count:
 * @self: a #FerrySyncStore
 *
 * Returns: how many changes this store made so far: two readings that
 *   differ mean it changed something in between.
 */
guint
ferry_store_get_change_count (FerryStore *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return (guint) g_atomic_int_get (&self->changes);
}

const char *
ferry_store_get_description (FerryStore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->description;
}

/**
 * ferry_store_list_folders:
 * @self: a #FerryStore
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerryStoreFolder): every
 *   folder of the store.
 */
GPtrArray *
ferry_store_list_folders (FerryStore *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->klass->list_folders (self, error);
}

gboolean
ferry_store_create_folder (FerryStore *self, const char *name, GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL, FALSE);

  if (!self->klass->create_folder (self, name, error))
    return FALSE;
  changed (self, "create folder");
  return TRUE;
}

/**
 * ferry_store_delete_folder:
 * @self: a #FerryStore
 * @name: a folder that holds no messages
 * @error: return location for a #GError
 *
 * Stores refuse to delete a folder that still holds messages.
 */
gboolean
ferry_store_delete_folder (FerryStore *self, const char *name, GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL, FALSE);

  if (!self->klass->delete_folder (self, name, error))
    return FALSE;
  changed (self, "delete folder");
  return TRUE;
}

/**
 * ferry_store_peek_folder:
 * @self: a #FerryStore
 * @name: one of its folders
 * @stamp: (out) (transfer full) (nullable): the folder's change stamp, or
 *   %NULL when the store cannot tell
 * @error: return location for a #GError
 *
 * Finds, as cheaply as the store can, a text that is sure to differ from
 * an earlier one if anything in the folder changed since: an IMAP
 * server's UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ; a
 * Maildir's directory change times.
 */
gboolean
ferry_store_peek_folder (FerryStore *self, const char *name, char **stamp, GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL && stamp != NULL, FALSE);

  *stamp = NULL;
  return self->klass->peek_folder == NULL || self->klass->peek_folder (self, name, stamp, error);
}

gboolean
ferry_store_select_folder (FerryStore *self,
                           const char *name,
                           FerryStoreFolderStatus *status,
                           GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL && status != NULL, FALSE);

  *status = (FerryStoreFolderStatus){ 0 };
  return self->klass->select_folder (self, name, status, error);
}

/**
 * ferry_store_select_folder_for_changes:
 * @self: a #FerryStore
 * @name: a folder
 * @since_modseq: the folder's highest modseq when the caller last knew
 *   all of it
 * @new_from: its next id then (FerryStoreFolderStatus.next_uid), or 0:
 *   the messages from it on are new since, and a store may tell them
 *   with their Message-IDs
 * @status: (out caller-allocates): its status
 * @error: return location for a #GError
 *
 * Selects @name as ferry_store_select_folder() does, for a caller that
 * is likely to ask next what changed there since @since_modseq
 * (ferry_store_list_changes()): a store may ask both in one round trip.
 */
gboolean
ferry_store_select_folder_for_changes (FerryStore *self,
                                       const char *name,
                                       guint64 since_modseq,
                                       guint32 new_from,
                                       FerryStoreFolderStatus *status,
                                       GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL && status != NULL, FALSE);
  g_return_val_if_fail (since_modseq > 0, FALSE);

  if (self->klass->select_folder_for_changes == NULL)
    return ferry_store_select_folder (self, name, status, error);
  *status = (FerryStoreFolderStatus){ 0 };
  return self->klass->select_folder_for_changes (self, name, since_modseq, new_from, status, error);
}

/**
 * ferry_store_select_folder_unlisted:
 * @self: a #FerryStore
 * @name: a folder
 * @status: (out caller-allocates): its status; its message count is 0
 *   where the store would have to read the folder to tell
 * @error: return location for a #GError
 *
 * Selects @name for a caller that knows its messages already (from its
 * records) and changes a few of them: the store need not read them all
 * first. Listing them afterwards still works.
 */
gboolean
ferry_store_select_folder_unlisted (FerryStore *self,
                                    const char *name,
                                    FerryStoreFolderStatus *status,
                                    GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL && status != NULL, FALSE);

  if (self->klass->select_folder_unlisted == NULL)
    return ferry_store_select_folder (self, name, status, error);
  *status = (FerryStoreFolderStatus){ 0 };
  return self->klass->select_folder_unlisted (self, name, status, error);
}

/**
 * ferry_store_list_messages:
 * @self: a #FerryStore with a folder selected
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerryStoreMessage): the
 *   selected folder's messages, without their Message-IDs.
 */
GPtrArray *
ferry_store_list_messages (FerryStore *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->klass->list_messages (self, error);
}

/**
 * ferry_store_watch_folder:
 * @self: a #FerryStore
 * @name: one of its folders
 * @stamp: (out) (transfer full) (nullable): the folder's change stamp as
 *   ferry_store_peek_folder() gives it, read once the watch began
 * @error: return location for a #GError
 *
 * From now on, tells the changes made through this store (and the stores
 * joined to it) from anybody else's, for ferry_store_stamp_folder(); call
 * it before looking at the folder. Peeking alone does not watch: a folder
 * found unchanged is left alone, and watching costs.
 */
gboolean
ferry_store_watch_folder (FerryStore *self, const char *name, char **stamp, GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL && stamp != NULL, FALSE);

  if (self->klass->watch_folder == NULL)
    return ferry_store_peek_folder (self, name, stamp, error);
  *stamp = NULL;
  return self->klass->watch_folder (self, name, stamp, error);
}

/**
 * ferry_store_unwatch_folder:
 * @self: a #FerryStore
 * @name: a folder, watched or not
 *
 * Ends ferry_store_watch_folder() for a folder that gets no fresh stamp.
 */
void
ferry_store_unwatch_folder (FerryStore *self, const char *name)
{
  g_return_if_fail (self != NULL && name != NULL);

  if (self->klass->unwatch_folder != NULL)
    self->klass->unwatch_folder (self, name);
}

/**
 * ferry_store_stamp_folder:
 * @self: a #FerryStore
 * @name: a folder
 * @max_wait_us: how long it may wait for the latest change to be old
 *   enough; 0 not to wait
 * @stamp: (out) (transfer full) (nullable): the change stamp, as
 *   ferry_store_peek_folder() would give it later if nothing changes;
 *   %NULL when anybody else changed the folder since
 *   ferry_store_watch_folder(), or the store cannot tell
 * @error: return location for a #GError
 *
 * A stamp for a folder the caller changed a moment ago, which
 * ferry_store_peek_folder() gives only once a change is old enough that
 * no other can hide behind it. Ends the watch.
 */
gboolean
ferry_store_stamp_folder (
    FerryStore *self, const char *name, gint64 max_wait_us, char **stamp, GError **error)
{
  g_return_val_if_fail (self != NULL && name != NULL, FALSE);
  g_return_val_if_fail (stamp != NULL && *stamp == NULL, FALSE);

  return self->klass->stamp_folder == NULL
         || self->klass->stamp_folder (self, name, max_wait_us, stamp, error);
}

/**
 * ferry_store_list_changes:
 * @self: a #FerryStore with a folder selected
 * @since_modseq: the folder's highest modseq (RFC 7162) when the caller
 *   last knew all of it
 * @known: (array length=n_known) (nullable): the ids the caller knows in
 *   the folder; %NULL when it does not say
 * @n_known: how many
 * @changed: (out) (transfer container) (element-type FerryStoreMessage):
 *   the messages whose flags changed since @since_modseq, and those that
 *   arrived since, without their Message-IDs
 * @vanished: (out) (transfer container) (element-type utf8): the ids of
 *   @known that are gone; without @known, all the store knows are gone
 *   since @since_modseq, which may include ids the caller never saw
 * @error: return location for a #GError
 *
 * What changed in the selected folder since it showed @since_modseq: on
 * a large folder a few hundred bytes where ferry_store_list_messages()
 * costs megabytes. A message not in @changed or @vanished is as it was.
 *
 * Returns: %FALSE with %FERRY_ERROR_UNAVAILABLE when the store cannot
 *   tell for this folder (then list it whole; without @known, try with
 *   it), or with another error.
 */
gboolean
ferry_store_list_changes (FerryStore *self,
                          guint64 since_modseq,
                          const char *const *known,
                          guint n_known,
                          GPtrArray **changed,
                          GPtrArray **vanished,
                          GError **error)
{
  g_return_val_if_fail (self != NULL && since_modseq > 0, FALSE);
  g_return_val_if_fail (known != NULL || n_known == 0, FALSE);
  g_return_val_if_fail (changed != NULL && vanished != NULL, FALSE);

  if (self->klass->list_changes == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE, "%s cannot list only what changed",
                   self->description);
      return FALSE;
    }
  return self->klass->list_changes (self, since_modseq, known, n_known, changed, vanished, error);
}

/**
 * ferry_store_fetch_message_ids:
 * @self: a #FerryStore with a folder selected
 * @messages: (element-type FerryStoreMessage): messages of that folder
 * @error: return location for a #GError
 *
 * Fills in the Message-ID of each of @messages that has one and has not
 * been told it yet (by a listing of changes).
 */
gboolean
ferry_store_fetch_message_ids (FerryStore *self, GPtrArray *messages, GError **error)
{
  g_return_val_if_fail (self != NULL && messages != NULL, FALSE);

  return messages->len == 0 || self->klass->fetch_message_ids (self, messages, error);
}

/**
 * ferry_store_fetch_sizes:
 * @self: a #FerryStore with a folder selected
 * @messages: (element-type FerryStoreMessage): messages of that folder
 * @error: return location for a #GError
 *
 * Fills in the size of each of @messages listed without one. A message
 * gone since the listing keeps %FERRY_STORE_SIZE_UNKNOWN.
 */
gboolean
ferry_store_fetch_sizes (FerryStore *self, GPtrArray *messages, GError **error)
{
  g_return_val_if_fail (self != NULL && messages != NULL, FALSE);

  return self->klass->fetch_sizes == NULL || messages->len == 0
         || self->klass->fetch_sizes (self, messages, error);
}

/**
 * ferry_store_fetch:
 * @self: a #FerryStore with a folder selected
 * @id: a message of that folder
 * @fd: where to write the message, exactly as the store holds it
 * @error: return location for a #GError
 */
gboolean
ferry_store_fetch (FerryStore *self, const char *id, int fd, GError **error)
{
  g_return_val_if_fail (self != NULL && id != NULL && fd >= 0, FALSE);

  return self->klass->fetch (self, id, fd, error);
}

struct _FerryStoreFetch
{
  FerryStore *store; /* a reference */
  gpointer pending;  /* the store's fetch in flight, or NULL */
  GError *error;     /* why it could not be begun, or what a fetch done at once failed with */
};

/**
 * ferry_store_fetch_many_begin:
 * @self: a #FerryStore with a folder selected
 * @ids: (array length=n): messages of that folder
 * @fds: (array length=n): where to write each of them
 * @n: how many
 *
 * As ferry_store_fetch() for each, but without waiting for one message
 * before asking for the next, and without waiting for any where the store
 * can (IMAP pipelining): the caller makes the last batch durable while
 * this one is on its way, which on a slow link is most of the time a
 * batch takes. A store that cannot fetches them here. Nothing else may be
 * asked of @self until the fetch is finished or freed.
 *
 * Returns: (transfer full): the fetch, for ferry_store_fetch_many_finish(),
 *   which tells whether it succeeded
 */
FerryStoreFetch *
ferry_store_fetch_many_begin (FerryStore *self, const char *const *ids, const int *fds, guint n)
{
  FerryStoreFetch *fetch;

  g_return_val_if_fail (self != NULL && (n == 0 || (ids != NULL && fds != NULL)), NULL);

  fetch = g_new0 (FerryStoreFetch, 1);
  fetch->store = ferry_store_ref (self);
  if (n == 0)
    return fetch;
  if (self->klass->fetch_many_begin != NULL)
    {
      fetch->pending = self->klass->fetch_many_begin (self, ids, fds, n, &fetch->error);
      return fetch;
    }
  for (guint i = 0; i < n && fetch->error == NULL; i++)
    ferry_store_fetch (self, ids[i], fds[i], &fetch->error);
  return fetch;
}

/**
 * ferry_store_fetch_many_finish:
 * @fetch: (transfer full): what ferry_store_fetch_many_begin() gave
 *
 * Waits for the messages of @fetch to be written whole.
 */
gboolean
ferry_store_fetch_many_finish (FerryStore *self, FerryStoreFetch *fetch, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (self != NULL && fetch != NULL && fetch->store == self, FALSE);

  if (fetch->pending != NULL)
    ok = self->klass->fetch_many_finish (self, g_steal_pointer (&fetch->pending), error);
  else
    {
      ok = fetch->error == NULL;
      if (!ok)
        g_propagate_error (error, g_steal_pointer (&fetch->error));
    }
  ferry_store_fetch_free (fetch);
  return ok;
}

/**
 * ferry_store_fetch_free:
 *
 * Drops a fetch that is not finished: nothing more is written to its
 * descriptors, which stay the caller's.
 */
void
ferry_store_fetch_free (FerryStoreFetch *fetch)
{
  if (fetch == NULL)
    return;
  if (fetch->pending != NULL)
    fetch->store->klass->fetch_many_abandon (fetch->store, fetch->pending);
  g_clear_error (&fetch->error);
  ferry_store_unref (fetch->store);
  g_free (fetch);
}

/**
 * ferry_store_append_begin:
 * @self: a #FerryStore with a folder selected
 * @flags: the flags the new message gets
 * @error: return location for a #GError
 *
 * Returns: (transfer full): where to write the new message; give it to
 *   ferry_store_append_commit() or ferry_store_append_abort().
 */
FerryStoreAppend *
ferry_store_append_begin (FerryStore *self, FerryMailFlags flags, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->klass->append_begin (self, flags, error);
}

/**
 * ferry_store_append_commit:
 * @self: a #FerryStore
 * @append: (transfer full): what ferry_store_append_begin() gave
 * @id: (out) (transfer full) (optional): the new message's id, or %NULL
 *   when the store cannot tell (an IMAP server without UIDPLUS)
 * @error: return location for a #GError
 *
 * Makes the message part of the folder. It is durable only after
 * ferry_store_flush().
 */
gboolean
ferry_store_append_commit (FerryStore *self, FerryStoreAppend *append, char **id, GError **error)
{
  g_autofree char *new_id = NULL;

  g_return_val_if_fail (self != NULL && append != NULL, FALSE);

  if (!self->klass->append_commit (self, append, &new_id, error))
    return FALSE;
  changed (self, "append");
  if (id != NULL)
    *id = g_steal_pointer (&new_id);
  return TRUE;
}

/**
 * ferry_store_append_commit_many:
 * @self: a #FerryStore
 * @appends: (array length=n) (inout): what ferry_store_append_begin()
 *   gave; each entry the store took is set to %NULL
 * @n: how many
 * @ids: (array length=n) (out caller-allocates): the new messages' ids,
 *   each as ferry_store_append_commit() gives it; %NULL for those not
 *   committed
 * @n_committed: (out): how many of @appends, from the first, were committed
 * @error: return location for a #GError
 *
 * As ferry_store_append_commit() for each in order, but in one go where
 * the store can: a Maildir makes all the files durable before it renames
 * any, an IMAP store pipelines its APPENDs. On failure the first
 * @n_committed are part of the folder and the rest count as not
 * committed: abort the entries of @appends left non-%NULL. As after a
 * crash, an IMAP server may yet have some of those (an upload in flight
 * when the connection broke, or sent before the server refused an
 * earlier one); the engine's pending records find them on the next sync.
 * Each message committed is one step for the crash-point tests, as it
 * would be one at a time.
 */
gboolean
ferry_store_append_commit_many (FerryStore *self,
                                FerryStoreAppend **appends,
                                guint n,
                                char **ids,
                                guint *n_committed,
                                GError **error)
{
  gboolean ok;

  g_return_val_if_fail (self != NULL && n_committed != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (appends != NULL && ids != NULL), FALSE);

  *n_committed = 0;
  for (guint i = 0; i < n; i++)
    ids[i] = NULL;
  if (n == 0)
    return TRUE;
  if (self->klass->append_commit_many == NULL)
    {
      for (guint i = 0; i < n; i++)
        {
          if (!ferry_store_append_commit (self, g_steal_pointer (&appends[i]), &ids[i], error))
            return FALSE;
          *n_committed = i + 1;
        }
      return TRUE;
    }
  ok = self->klass->append_commit_many (self, appends, n, ids, n_committed, error);
  for (guint i = 0; i < *n_committed; i++)
    changed (self, "append");
  return ok;
}

void
ferry_store_append_abort (FerryStore *self, FerryStoreAppend *append)
{
  g_return_if_fail (self != NULL);

  if (append != NULL)
    self->klass->append_abort (self, append);
}

/**
 * ferry_store_flush:
 * @self: a #FerryStore
 * @error: return location for a #GError
 *
 * Makes every append committed so far durable (for a Maildir: fsyncs its
 * directories once for the whole batch).
 */
gboolean
ferry_store_flush (FerryStore *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->klass->flush (self, error);
}

/**
 * ferry_store_set_flags:
 * @self: a #FerryStore with a folder selected
 * @id: a message of that folder
 * @old_flags: the flags the engine saw it with
 * @new_flags: the flags it must have
 * @error: return location for a #GError
 */
gboolean
ferry_store_set_flags (FerryStore *self,
                       const char *id,
                       FerryMailFlags old_flags,
                       FerryMailFlags new_flags,
                       GError **error)
{
  g_return_val_if_fail (self != NULL && id != NULL, FALSE);

  if (!self->klass->set_flags (self, id, old_flags, new_flags, error))
    return FALSE;
  changed (self, "set flags");
  return TRUE;
}

/**
 * ferry_store_set_flags_many:
 * @self: a #FerryStore with a folder selected
 * @changes: (array length=n): messages of that folder and their flags
 * @n: how many
 * @error: return location for a #GError
 *
 * As ferry_store_set_flags() for each, without waiting for one before the
 * next where the store can (pipelined IMAP STOREs). On failure some of the
 * changes may have been made: each is harmless to make again.
 */
gboolean
ferry_store_set_flags_many (FerryStore *self,
                            const FerryStoreFlagChange *changes,
                            guint n,
                            GError **error)
{
  g_return_val_if_fail (self != NULL && (n == 0 || changes != NULL), FALSE);

  if (n == 0)
    return TRUE;
  if (self->klass->set_flags_many == NULL)
    {
      for (guint i = 0; i < n; i++)
        if (!ferry_store_set_flags (self, changes[i].id, changes[i].old_flags, changes[i].new_flags,
                                    error))
          return FALSE;
      return TRUE;
    }
  if (!self->klass->set_flags_many (self, changes, n, error))
    return FALSE;
  changed (self, "set flags");
  return TRUE;
}

/**
 * ferry_store_expunge:
 * @self: a #FerryStore with a folder selected
 * @ids: (element-type utf8): messages of that folder to remove for good;
 *   no other message may go
 * @error: return location for a #GError
 */
gboolean
ferry_store_expunge (FerryStore *self, GPtrArray *ids, GError **error)
{
  g_return_val_if_fail (self != NULL && ids != NULL, FALSE);

  if (ids->len == 0)
    return TRUE;
  if (!self->klass->expunge (self, ids, error))
    return FALSE;
  changed (self, "expunge");
  return TRUE;
}

/**
 * ferry_store_copy:
 * @self: a #FerryStore with a folder selected
 * @id: a message of that folder
 * @to_folder: another folder of the store
 * @error: return location for a #GError
 *
 * Copies a message to another folder, flags and all.
 */
gboolean
ferry_store_copy (FerryStore *self, const char *id, const char *to_folder, GError **error)
{
  g_return_val_if_fail (self != NULL && id != NULL && to_folder != NULL, FALSE);

  if (!self->klass->copy (self, id, to_folder, error))
    return FALSE;
  changed (self, "copy");
  return TRUE;
}

/**
 * ferry_store_move:
 * @self: a #FerryStore with a folder selected
 * @id: a message of that folder
 * @to_folder: the folder to move it to
 * @new_id: (out) (transfer full) (optional): its id there, or %NULL when
 *   the store cannot tell
 * @error: return location for a #GError
 *
 * Moves a message to another folder, keeping it the same message (an IMAP
 * MOVE, RFC 6851). Stores that cannot fail with FERRY_ERROR_UNAVAILABLE.
 */
gboolean
ferry_store_move (
    FerryStore *self, const char *id, const char *to_folder, char **new_id, GError **error)
{
  g_autofree char *moved_id = NULL;

  g_return_val_if_fail (self != NULL && id != NULL && to_folder != NULL, FALSE);

  if (self->klass->move == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                        "%s cannot move messages between folders", self->description),
           FALSE;
  if (!self->klass->move (self, id, to_folder, &moved_id, error))
    return FALSE;
  changed (self, "move");
  if (new_id != NULL)
    *new_id = g_steal_pointer (&moved_id);
  return TRUE;
}

FerryStoreFolder *
ferry_store_folder_new (const char *name, char delimiter)
{
  FerryStoreFolder *folder = g_new0 (FerryStoreFolder, 1);

  folder->name = g_strdup (name);
  folder->delimiter = delimiter;
  return folder;
}

void
ferry_store_folder_free (FerryStoreFolder *folder)
{
  if (folder == NULL)
    return;
  g_free (folder->name);
  g_free (folder->invalid_reason);
  g_free (folder);
}

FerryStoreMessage *
ferry_store_message_new (const char *id, FerryMailFlags flags, guint64 size)
{
  gsize id_size = strlen (id) + 1;
  /* One allocation with its id: a large folder's listing holds 50,000. */
  FerryStoreMessage *message = g_malloc0 (sizeof *message + id_size);

  message->id = memcpy (message + 1, id, id_size);
  message->flags = flags;
  message->size = size;
  return message;
}

void
ferry_store_message_free (FerryStoreMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->message_id);
  g_free (message);
}
