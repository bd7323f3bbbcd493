/* sync-store-imap.c: an IMAP account as a sync store
 *
 * Message ids are UIDs in decimal. The store logs in when it is made and
 * keeps one connection; every call blocks on it.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/line-endings.h"
#include "core/secrets.h"
#include "imap/imap-client.h"
#include "sync/sync-store-imap.h"

typedef struct
{
  FerryStore parent;
  FerryImapClient *client;
  GCancellable *cancellable;
  char *selected;
  FerryImapMailboxInfo info;
  /* Change stamps the last LIST gave (LIST-STATUS), by folder name; good
   * while the store has changed nothing since. */
  GHashTable *listed_stamps;
  guint listed_at_change;
  FerryImapListing *login_listing; /* the LIST sent with the login */
  /* What changed in the selected folder, asked with its SELECT. */
  FerryImapChanges *changes;
  guint64 changes_since;
  char *capabilities; /* before login, a newline, after */
} FerryImapStore;

static FerryImapStore *
imap_store (FerryStore *store)
{
  return (FerryImapStore *) store;
}

static gboolean
parse_uid (const char *id, guint32 *uid)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (id, 10, 1, G_MAXUINT32, &n, NULL))
    return FALSE;
  *uid = (guint32) n;
  return TRUE;
}

/* An id the engine hands back is one this store gave: anything else is a
 * damaged state, said so rather than sent to the server. */
static gboolean
uid_of (const char *id, guint32 *uid, GError **error)
{
  if (parse_uid (id, uid))
    return TRUE;
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, _ ("“%s” is not an IMAP UID"), id);
  return FALSE;
}

static GArray *
uids_of (GPtrArray *items, gboolean messages)
{
  GArray *uids = g_array_sized_new (FALSE, FALSE, sizeof (guint32), items->len);

  for (guint i = 0; i < items->len; i++)
    {
      const char *id = messages ? ((FerryStoreMessage *) g_ptr_array_index (items, i))->id
                                : g_ptr_array_index (items, i);
      guint32 uid;

      if (parse_uid (id, &uid))
        g_array_append_val (uids, uid);
    }
  return uids;
}

static void
imap_store_finalize (FerryStore *store)
{
  FerryImapStore *self = imap_store (store);

  g_clear_pointer (&self->login_listing, ferry_imap_listing_free);
  g_clear_pointer (&self->changes, ferry_imap_changes_free);
  if (ferry_imap_client_is_usable (self->client))
    ferry_imap_client_logout (self->client, self->cancellable, NULL);
  ferry_imap_client_unref (self->client);
  g_clear_object (&self->cancellable);
  g_free (self->selected);
  g_hash_table_unref (self->listed_stamps);
  g_free (self->capabilities);
  g_free (self);
}

/* Without CONDSTORE a flag change shows in no STATUS item (RFC 7162
 * 3.1), so there is no stamp. */
static char *
stamp_of (FerryImapStore *self, const FerryImapStatusInfo *info)
{
  if (!ferry_imap_client_has_capability (self->client, "CONDSTORE") || info->highestmodseq == 0
      || info->uidvalidity == 0 || info->uidnext == 0)
    return NULL;
  return g_strdup_printf ("imap:%u:%u:%u:%" G_GUINT64_FORMAT, info->uidvalidity, info->uidnext,
                          info->messages, info->highestmodseq);
}

static GPtrArray *
imap_store_list_folders (FerryStore *store, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GPtrArray) mailboxes = NULL;
  GPtrArray *folders;

  /* The stamps of every folder in the same round trip, rather than a
   * STATUS each when the engine peeks at them. */
  mailboxes
      = self->login_listing != NULL ? ferry_imap_client_list_finish (
            self->client, g_steal_pointer (&self->login_listing), self->cancellable, error)
                                    : ferry_imap_client_list (self->client, FERRY_IMAP_LIST_STATUS,
                                                              self->cancellable, error);
  if (mailboxes == NULL)
    return NULL;
  g_hash_table_remove_all (self->listed_stamps);
  self->listed_at_change = ferry_store_get_change_count (store);
  folders = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_folder_free);
  for (guint i = 0; i < mailboxes->len; i++)
    {
      FerryImapMailbox *mailbox = g_ptr_array_index (mailboxes, i);
      FerryStoreFolder *folder = ferry_store_folder_new (
          mailbox->name != NULL ? mailbox->name : mailbox->encoded_name, mailbox->delimiter);

      folder->invalid_reason = g_strdup (mailbox->invalid_reason);
      if (mailbox->status != NULL && mailbox->name != NULL)
        {
          char *stamp = stamp_of (self, mailbox->status);
          if (stamp != NULL)
            g_hash_table_insert (self->listed_stamps, g_strdup (mailbox->name), stamp);
        }
      if (mailbox->attributes & FERRY_IMAP_MAILBOX_NOSELECT)
        folder->flags |= FERRY_STORE_FOLDER_NOSELECT;
      g_ptr_array_add (folders, folder);
    }
  return folders;
}

static gboolean
imap_store_create_folder (FerryStore *store, const char *name, GError **error)
{
  FerryImapStore *self = imap_store (store);

  return ferry_imap_client_create (self->client, name, self->cancellable, error);
}

static gboolean
imap_store_delete_folder (FerryStore *store, const char *name, GError **error)
{
  FerryImapStore *self = imap_store (store);

  /* A server may drop a connection whose selected mailbox it deletes
   * (Dovecot does): leave it for the INBOX first, read-only. */
  if (self->selected != NULL && g_str_equal (self->selected, name))
    {
      FerryImapMailboxInfo info;

      g_clear_pointer (&self->selected, g_free);
      if (!ferry_imap_client_select (self->client, "INBOX", TRUE, &info, self->cancellable, error))
        return FALSE;
    }
  return ferry_imap_client_delete (self->client, name, self->cancellable, error);
}

static gboolean
imap_store_peek_folder (FerryStore *store, const char *name, char **stamp, GError **error)
{
  FerryImapStore *self = imap_store (store);
  FerryImapStatusInfo info = { 0 };
  g_autofree char *listed_name = NULL;

  if (!ferry_imap_client_has_capability (self->client, "CONDSTORE"))
    return TRUE;
  /* Each listed stamp serves once: a second peek wants a fresh one. */
  if (ferry_store_get_change_count (store) == self->listed_at_change
      && g_hash_table_steal_extended (self->listed_stamps, name, (gpointer *) &listed_name,
                                      (gpointer *) stamp))
    return TRUE;
  if (!ferry_imap_client_status (self->client, name, &info, self->cancellable, error))
    return FALSE;
  *stamp = stamp_of (self, &info);
  return TRUE;
}

/* With @since_modseq, the changes since are asked in the same round
 * trip, for imap_store_list_changes(). */
static gboolean
select_folder (FerryImapStore *self,
               const char *name,
               guint64 since_modseq,
               guint32 new_from,
               FerryStoreFolderStatus *status,
               GError **error)
{
  g_clear_pointer (&self->selected, g_free);
  g_clear_pointer (&self->changes, ferry_imap_changes_free);
  if (since_modseq == 0 ? !ferry_imap_client_select (self->client, name, FALSE, &self->info,
                                                     self->cancellable, error)
                        : !ferry_imap_client_select_with_changes (
                            self->client, name, since_modseq, new_from, &self->info, &self->changes,
                            self->cancellable, error))
    return FALSE;
  self->changes_since = since_modseq;
  self->selected = g_strdup (name);
  status->validity = self->info.uidvalidity;
  status->next_uid = self->info.uidnext;
  status->highest_modseq = self->info.highestmodseq;
  status->messages = self->info.exists;
  return TRUE;
}

static gboolean
imap_store_select_folder (FerryStore *store,
                          const char *name,
                          FerryStoreFolderStatus *status,
                          GError **error)
{
  return select_folder (imap_store (store), name, 0, 0, status, error);
}

static gboolean
imap_store_select_folder_for_changes (FerryStore *store,
                                      const char *name,
                                      guint64 since_modseq,
                                      guint32 new_from,
                                      FerryStoreFolderStatus *status,
                                      GError **error)
{
  return select_folder (imap_store (store), name, since_modseq, new_from, status, error);
}

static FerryStoreMessage *
message_from_info (const FerryImapMessageInfo *info)
{
  g_autofree char *id = g_strdup_printf ("%u", info->uid);
  FerryStoreMessage *message = ferry_store_message_new (id, info->flags, info->size);

  message->message_id = g_strdup (info->message_id);
  return message;
}

static GPtrArray *
imap_store_list_messages (FerryStore *store, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GPtrArray) infos = NULL;
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);

  if (ferry_imap_client_get_exists (self->client) == 0)
    return messages;
  infos = ferry_imap_client_fetch_info_range (self->client, 1, 0, 0, 0, self->cancellable, error);
  if (infos == NULL)
    {
      g_ptr_array_unref (messages);
      return NULL;
    }
  for (guint i = 0; i < infos->len; i++)
    g_ptr_array_add (messages, message_from_info (g_ptr_array_index (infos, i)));
  return messages;
}

/* The changes asked with the SELECT, if they answer this question. */
static FerryImapChanges *
take_changes (FerryImapStore *self, guint64 since_modseq, gboolean with_known)
{
  /* Without QRESYNC a question without known ids is refused, and asked
   * again with them: the answer waits for that one. */
  if (self->changes == NULL || self->changes_since != since_modseq
      || (!with_known && !ferry_imap_client_is_enabled (self->client, "QRESYNC")))
    return NULL;
  return g_steal_pointer (&self->changes);
}

static gboolean
imap_store_list_changes (FerryStore *store,
                         guint64 since_modseq,
                         const char *const *known,
                         guint n_known,
                         GPtrArray **changed,
                         GPtrArray **vanished,
                         GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GArray) known_uids = g_array_sized_new (FALSE, FALSE, sizeof (guint32), n_known);
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GArray) gone = NULL;
  g_autoptr (FerryImapChanges) asked = take_changes (self, since_modseq, known != NULL);

  /* A mailbox without mod-sequences ([NOMODSEQ], RFC 7162 3.1.2.2), or
   * one whose modseq went back, cannot say what changed since. */
  if (self->info.highestmodseq == 0 || self->info.highestmodseq < since_modseq)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE, "%s cannot say what changed in %s",
                   store->description, self->selected);
      return FALSE;
    }
  for (guint i = 0; i < n_known; i++)
    {
      guint32 uid;

      if (!uid_of (known[i], &uid, error))
        return FALSE;
      g_array_append_val (known_uids, uid);
    }
  /* "1:*" in an empty mailbox is a UID set some servers refuse. */
  if (ferry_imap_client_get_exists (self->client) == 0)
    {
      if (known == NULL)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                       "%s is empty now: what went away is all that was there", self->selected);
          return FALSE;
        }
      *changed = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);
      *vanished = g_ptr_array_new_full (n_known, g_free);
      for (guint i = 0; i < n_known; i++)
        g_ptr_array_add (*vanished, g_strdup (known[i]));
      return TRUE;
    }
  if (asked != NULL
          ? !ferry_imap_client_fetch_changes_finish (
              self->client, g_steal_pointer (&asked),
              known != NULL ? (const guint32 *) known_uids->data : NULL, known_uids->len, &infos,
              &gone, self->cancellable, error)
          : !ferry_imap_client_fetch_changes (
              self->client, since_modseq, known != NULL ? (const guint32 *) known_uids->data : NULL,
              known_uids->len, &infos, &gone, self->cancellable, error))
    return FALSE;
  *changed = g_ptr_array_new_full (infos->len, (GDestroyNotify) ferry_store_message_free);
  for (guint i = 0; i < infos->len; i++)
    g_ptr_array_add (*changed, message_from_info (g_ptr_array_index (infos, i)));
  *vanished = g_ptr_array_new_full (gone->len, g_free);
  for (guint i = 0; i < gone->len; i++)
    g_ptr_array_add (*vanished, g_strdup_printf ("%u", g_array_index (gone, guint32, i)));
  return TRUE;
}

/* Those told with their changes have them already. */
static gboolean
imap_store_fetch_message_ids (FerryStore *store, GPtrArray *messages, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GPtrArray) unknown = g_ptr_array_sized_new (messages->len);
  g_autoptr (GArray) uids = NULL;
  g_autoptr (GHashTable) by_uid = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GPtrArray) infos = NULL;

  for (guint i = 0; i < messages->len; i++)
    if (((FerryStoreMessage *) g_ptr_array_index (messages, i))->message_id == NULL)
      g_ptr_array_add (unknown, g_ptr_array_index (messages, i));
  if (unknown->len == 0)
    return TRUE;
  uids = uids_of (unknown, TRUE);
  infos = ferry_imap_client_fetch_info (self->client, (const guint32 *) uids->data, uids->len,
                                        FERRY_IMAP_FETCH_MESSAGE_ID, self->cancellable, error);
  if (infos == NULL)
    return FALSE;
  for (guint i = 0; i < infos->len; i++)
    {
      FerryImapMessageInfo *info = g_ptr_array_index (infos, i);
      g_hash_table_insert (by_uid, GUINT_TO_POINTER (info->uid), info);
    }
  for (guint i = 0; i < unknown->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (unknown, i);
      FerryImapMessageInfo *info;
      guint32 uid;

      if (!parse_uid (message->id, &uid))
        continue;
      info = g_hash_table_lookup (by_uid, GUINT_TO_POINTER (uid));
      if (info != NULL)
        message->message_id = g_strdup (info->message_id);
    }
  return TRUE;
}

static gboolean
imap_store_fetch (FerryStore *store, const char *id, int fd, GError **error)
{
  FerryImapStore *self = imap_store (store);
  guint64 size;
  guint32 uid;

  if (!uid_of (id, &uid, error))
    return FALSE;
  /* Stored the Unix way, as a Maildir reader expects. */
  return ferry_imap_client_fetch_body (self->client, uid, fd, &size, self->cancellable, error)
         && ferry_line_endings_to_lf_in_place (fd, NULL, error);
}

typedef struct
{
  GArray *uids;          /* guint32, as asked for */
  GHashTable *fd_of_uid; /* uid -> fd + 1 */
  GHashTable *complete;  /* uids written whole */
  FerryImapBodies *fetching;
} Bodies;

static void
bodies_free (Bodies *bodies)
{
  /* First: it may still hand a descriptor back. */
  ferry_imap_bodies_free (bodies->fetching);
  g_array_unref (bodies->uids);
  g_hash_table_unref (bodies->fd_of_uid);
  g_hash_table_unref (bodies->complete);
  g_free (bodies);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Bodies, bodies_free)

static int
open_body (guint32 uid, gpointer user_data, GError **error)
{
  Bodies *bodies = user_data;
  int fd = GPOINTER_TO_INT (g_hash_table_lookup (bodies->fd_of_uid, GUINT_TO_POINTER (uid))) - 1;

  if (fd < 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                 _ ("The server sent message %u, which was not asked for"), uid);
  return fd;
}

/* The descriptors are the caller's: converted, not closed. */
static gboolean
close_body (
    guint32 uid, int fd, guint64 size, gboolean complete, gpointer user_data, GError **error)
{
  Bodies *bodies = user_data;

  if (!complete)
    return TRUE;
  g_hash_table_add (bodies->complete, GUINT_TO_POINTER (uid));
  return ferry_line_endings_to_lf_in_place (fd, NULL, error);
}

static gpointer
imap_store_fetch_many_begin (
    FerryStore *store, const char *const *ids, const int *fds, guint n, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (Bodies) bodies = g_new0 (Bodies, 1);

  bodies->uids = g_array_sized_new (FALSE, FALSE, sizeof (guint32), n);
  bodies->fd_of_uid = g_hash_table_new (g_direct_hash, g_direct_equal);
  bodies->complete = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (guint i = 0; i < n; i++)
    {
      guint32 uid;

      if (!uid_of (ids[i], &uid, error))
        return NULL;
      g_array_append_val (bodies->uids, uid);
      g_hash_table_insert (bodies->fd_of_uid, GUINT_TO_POINTER (uid), GINT_TO_POINTER (fds[i] + 1));
    }
  bodies->fetching = ferry_imap_client_fetch_bodies_begin (
      self->client, (const guint32 *) bodies->uids->data, bodies->uids->len, open_body, close_body,
      bodies, self->cancellable, error);
  return bodies->fetching != NULL ? g_steal_pointer (&bodies) : NULL;
}

static gboolean
imap_store_fetch_many_finish (FerryStore *store, gpointer pending, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (Bodies) bodies = pending;
  GArray *uids = bodies->uids;

  if (!ferry_imap_client_fetch_bodies_finish (self->client, g_steal_pointer (&bodies->fetching),
                                              self->cancellable, error))
    return FALSE;
  /* A message another client expunged meanwhile is not sent at all: its
   * file must not be kept empty. */
  for (guint i = 0; i < uids->len; i++)
    if (!g_hash_table_contains (bodies->complete,
                                GUINT_TO_POINTER (g_array_index (uids, guint32, i))))
      return g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
                          _ ("Message %u is gone from %s (another client expunged it?); the "
                             "next sync goes on without it"),
                          g_array_index (uids, guint32, i), store->description),
             FALSE;
  return TRUE;
}

static void
imap_store_fetch_many_abandon (FerryStore *store, gpointer pending)
{
  bodies_free (pending);
}

/* The message is gathered in an unlinked temporary file first: APPEND
 * must announce its size before the first byte. */
static int
open_unlinked_tmp (GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("ferry-append-XXXXXX", &path, error);

  if (fd >= 0)
    g_unlink (path);
  return fd;
}

static FerryStoreAppend *
imap_store_append_begin (FerryStore *store, FerryMailFlags flags, GError **error)
{
  FerryStoreAppend *append;
  int fd = open_unlinked_tmp (error);

  if (fd < 0)
    return NULL;
  append = g_new0 (FerryStoreAppend, 1);
  append->fd = fd;
  append->flags = flags;
  return append;
}

static void
imap_store_append_abort (FerryStore *store, FerryStoreAppend *append)
{
  close (append->fd);
  g_free (append);
}

/* IMAP carries messages with CRLF line ends (RFC 3501 2.3.1). */
static int
crlf_copy (int fd, guint64 *size, GError **error)
{
  int copy;

  if (lseek (fd, 0, SEEK_SET) < 0)
    {
      int saved = errno;
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO,
                   _ ("Cannot read back a message to upload: %s"), g_strerror (saved));
      return -1;
    }
  copy = open_unlinked_tmp (error);
  if (copy < 0)
    return -1;
  if (!ferry_line_endings_copy_to_crlf (fd, copy, size, error) || lseek (copy, 0, SEEK_SET) < 0)
    {
      close (copy);
      return -1;
    }
  return copy;
}

static gboolean
imap_store_append_commit (FerryStore *store, FerryStoreAppend *append, char **id, GError **error)
{
  FerryImapStore *self = imap_store (store);
  FerryImapAppendResult result = { 0 };
  guint64 size;
  int wire = crlf_copy (append->fd, &size, error);
  FerryMailFlags flags = append->flags;
  gboolean ok;

  imap_store_append_abort (store, append);
  if (wire < 0)
    return FALSE;
  ok = ferry_imap_client_append (self->client, self->selected, wire, size, flags, NULL, NULL,
                                 &result, self->cancellable, error);
  close (wire);
  if (ok && result.uid != 0 && result.uidvalidity == self->info.uidvalidity)
    *id = g_strdup_printf ("%u", result.uid);
  return ok;
}

static void
close_all (int *fds, guint n)
{
  for (guint i = 0; i < n; i++)
    close (fds[i]);
}

/* The batch goes as one MULTIAPPEND or as pipelined APPENDs: on a slow
 * link one round trip for the batch, not one or two per message. */
static gboolean
imap_store_append_commit_many (FerryStore *store,
                               FerryStoreAppend **appends,
                               guint n,
                               char **ids,
                               guint *n_committed,
                               GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autofree FerryImapAppendMessage *messages = g_new0 (FerryImapAppendMessage, n);
  g_autofree FerryImapAppendResult *results = g_new (FerryImapAppendResult, n);
  g_autofree int *wires = g_new (int, n);
  gsize n_appended = 0;
  gboolean ok;

  for (guint i = 0; i < n; i++)
    {
      wires[i] = crlf_copy (appends[i]->fd, &messages[i].size, error);
      if (wires[i] < 0)
        {
          close_all (wires, i);
          return FALSE;
        }
      messages[i].fd = wires[i];
      messages[i].flags = appends[i]->flags;
    }
  ok = ferry_imap_client_append_many (self->client, self->selected, messages, n, results,
                                      &n_appended, self->cancellable, error);
  close_all (wires, n);
  for (guint i = 0; i < n_appended; i++)
    {
      if (results[i].uid != 0 && results[i].uidvalidity == self->info.uidvalidity)
        ids[i] = g_strdup_printf ("%u", results[i].uid);
      imap_store_append_abort (store, g_steal_pointer (&appends[i]));
    }
  *n_committed = (guint) n_appended;
  return ok;
}

static gboolean
imap_store_flush (FerryStore *store, GError **error)
{
  /* The server made each APPEND durable before it answered. */
  return TRUE;
}

static gboolean
imap_store_set_flags (FerryStore *store,
                      const char *id,
                      FerryMailFlags old_flags,
                      FerryMailFlags new_flags,
                      GError **error)
{
  FerryImapStore *self = imap_store (store);
  FerryImapStoreRequest requests[2];
  gsize n = 0;
  guint32 uid;

  if (!uid_of (id, &uid, error))
    return FALSE;
  if (new_flags & ~old_flags)
    requests[n++]
        = (FerryImapStoreRequest){ &uid, 1, FERRY_IMAP_STORE_ADD, new_flags & ~old_flags, NULL };
  if (old_flags & ~new_flags)
    requests[n++]
        = (FerryImapStoreRequest){ &uid, 1, FERRY_IMAP_STORE_REMOVE, old_flags & ~new_flags, NULL };
  return n == 0 || ferry_imap_client_store (self->client, requests, n, self->cancellable, error);
}

typedef struct
{
  FerryMailFlags add;
  FerryMailFlags remove;
  GArray *uids;
} FlagGroup;

static void
flag_group_clear (FlagGroup *group)
{
  g_array_unref (group->uids);
}

/* Messages that take on and lose the same flags share one STORE each way;
 * every STORE is sent before the first answer is awaited. */
static gboolean
imap_store_set_flags_many (FerryStore *store,
                           const FerryStoreFlagChange *changes,
                           guint n,
                           GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GArray) groups = g_array_new (FALSE, FALSE, sizeof (FlagGroup));
  g_autoptr (GArray) requests = g_array_new (FALSE, FALSE, sizeof (FerryImapStoreRequest));

  g_array_set_clear_func (groups, (GDestroyNotify) flag_group_clear);
  for (guint i = 0; i < n; i++)
    {
      FerryMailFlags add = changes[i].new_flags & ~changes[i].old_flags;
      FerryMailFlags remove = changes[i].old_flags & ~changes[i].new_flags;
      FlagGroup *group = NULL;
      guint32 uid;

      if (!uid_of (changes[i].id, &uid, error))
        return FALSE;
      for (guint g = 0; g < groups->len && group == NULL; g++)
        if (g_array_index (groups, FlagGroup, g).add == add
            && g_array_index (groups, FlagGroup, g).remove == remove)
          group = &g_array_index (groups, FlagGroup, g);
      if (group == NULL)
        {
          FlagGroup fresh = { add, remove, g_array_new (FALSE, FALSE, sizeof (guint32)) };
          g_array_append_val (groups, fresh);
          group = &g_array_index (groups, FlagGroup, groups->len - 1);
        }
      g_array_append_val (group->uids, uid);
    }
  for (guint g = 0; g < groups->len; g++)
    {
      FlagGroup *group = &g_array_index (groups, FlagGroup, g);
      FerryImapStoreRequest add = { (const guint32 *) group->uids->data, group->uids->len,
                                    FERRY_IMAP_STORE_ADD, group->add, NULL };
      FerryImapStoreRequest remove = { (const guint32 *) group->uids->data, group->uids->len,
                                       FERRY_IMAP_STORE_REMOVE, group->remove, NULL };

      if (group->add != 0)
        g_array_append_val (requests, add);
      if (group->remove != 0)
        g_array_append_val (requests, remove);
    }
  return requests->len == 0
         || ferry_imap_client_store (self->client, (FerryImapStoreRequest *) requests->data,
                                     requests->len, self->cancellable, error);
}

static gboolean
imap_store_expunge (FerryStore *store, GPtrArray *ids, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (GArray) uids = uids_of (ids, FALSE);

  /* The client marks them \Deleted again first, in case another client
   * took the mark off since they were listed, and expunges only them. */
  return ferry_imap_client_expunge (self->client, (const guint32 *) uids->data, uids->len,
                                    self->cancellable, error);
}

static gboolean
imap_store_copy (FerryStore *store, const char *id, const char *to_folder, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (FerryImapCopyResult) result = NULL;
  guint32 uid;

  if (!uid_of (id, &uid, error))
    return FALSE;
  result = ferry_imap_client_copy (self->client, &uid, 1, to_folder, self->cancellable, error);
  return result != NULL;
}

static gboolean
imap_store_move (
    FerryStore *store, const char *id, const char *to_folder, char **new_id, GError **error)
{
  FerryImapStore *self = imap_store (store);
  g_autoptr (FerryImapCopyResult) result = NULL;
  guint32 uid;

  /* A COPY and an EXPUNGE would be two steps a crash could come between,
   * leaving the message in both folders: only MOVE is one. */
  if (!ferry_imap_client_has_capability (self->client, "MOVE"))
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                        _ ("%s does not offer MOVE (RFC 6851)"), store->description),
           FALSE;
  if (!uid_of (id, &uid, error))
    return FALSE;
  result = ferry_imap_client_move (self->client, &uid, 1, to_folder, self->cancellable, error);
  if (result == NULL)
    return FALSE;
  if (result->source_uids != NULL && result->source_uids->len == 1
      && g_array_index (result->source_uids, guint32, 0) == uid)
    *new_id = g_strdup_printf ("%u", g_array_index (result->dest_uids, guint32, 0));
  return TRUE;
}

static const FerryStoreClass imap_store_class = {
  .kind = "imap",
  .finalize = imap_store_finalize,
  .list_folders = imap_store_list_folders,
  .create_folder = imap_store_create_folder,
  .delete_folder = imap_store_delete_folder,
  .peek_folder = imap_store_peek_folder,
  .select_folder = imap_store_select_folder,
  .select_folder_for_changes = imap_store_select_folder_for_changes,
  .list_messages = imap_store_list_messages,
  .list_changes = imap_store_list_changes,
  .fetch_message_ids = imap_store_fetch_message_ids,
  .fetch = imap_store_fetch,
  .fetch_many_begin = imap_store_fetch_many_begin,
  .fetch_many_finish = imap_store_fetch_many_finish,
  .fetch_many_abandon = imap_store_fetch_many_abandon,
  .append_begin = imap_store_append_begin,
  .append_commit = imap_store_append_commit,
  .append_commit_many = imap_store_append_commit_many,
  .append_abort = imap_store_append_abort,
  .flush = imap_store_flush,
  .set_flags = imap_store_set_flags,
  .set_flags_many = imap_store_set_flags_many,
  .expunge = imap_store_expunge,
  .copy = imap_store_copy,
  .move = imap_store_move,
};

/* The password (or token) is looked up while the connection is made: a
 * password-command is a process to start, a keyring a D-Bus round trip,
 * and the server's greeting takes as long. */
typedef struct
{
  const FerryAccount *account;
  GCancellable *cancellable;
  FerrySecret *secret;
  GError *error;
} SecretLookup;

static gpointer
look_up_secret (gpointer data)
{
  SecretLookup *lookup = data;
  const FerryAccount *account = lookup->account;

  lookup->secret = account->oauth2_token_command != NULL
                       ? ferry_secrets_oauth2_token (account, lookup->cancellable, &lookup->error)
                       : ferry_secrets_lookup_password (account, FERRY_SERVICE_IMAP,
                                                        lookup->cancellable, &lookup->error);
  return NULL;
}

static gboolean
explain_login_failure (const FerryAccount *account, GError *failure, GError **error)
{
  if (g_error_matches (failure, FERRY_ERROR, FERRY_ERROR_NO_PERM))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                   account->oauth2_token_command != NULL ? _ ("%s; check oauth2-token-command")
                   : account->password_command != NULL
                       ? _ ("%s; check what password-command prints")
                       : _ ("%s; check the password with `ferry password set %s imap`"),
                   failure->message, account->name);
      g_error_free (failure);
    }
  else
    g_propagate_error (error, failure);
  return FALSE;
}

static gboolean
log_in_begin (FerryImapClient *client,
              const FerryAccount *account,
              const FerrySecret *secret,
              const char *const *expected_capabilities,
              GCancellable *cancellable,
              GError **error)
{
  GError *local_error = NULL;
  gboolean ok;

  ok = account->oauth2_token_command != NULL
           ? ferry_imap_client_login_xoauth2 (client, secret, cancellable, &local_error)
           : ferry_imap_client_login_begin (client, secret, expected_capabilities, cancellable,
                                            &local_error);
  return ok || explain_login_failure (account, local_error, error);
}

static gboolean
log_in_finish (FerryImapClient *client,
               const FerryAccount *account,
               gboolean *as_expected,
               GCancellable *cancellable,
               GError **error)
{
  GError *local_error = NULL;

  return ferry_imap_client_login_finish (client, as_expected, cancellable, &local_error)
         || explain_login_failure (account, local_error, error);
}

/* Worth it where bytes are dear: on a train, not to a server on this
 * machine. No command may follow COMPRESS before its answer (RFC 4978 3):
 * it goes last in the login's flight, where it costs no round trip. */
static gboolean
start_compression (FerryImapClient *client,
                   const FerryAccount *account,
                   GCancellable *cancellable,
                   GError **error)
{
  if (account->imap_compress == FERRY_COMPRESS_NO
      || !ferry_imap_client_has_capability (client, "COMPRESS=DEFLATE")
      || (account->imap_compress == FERRY_COMPRESS_AUTO && ferry_imap_client_is_loopback (client)))
    return TRUE;
  return ferry_imap_client_compress (client, cancellable, error);
}

/* With QRESYNC the server says which messages went away since a modseq
 * (RFC 7162 3.2.6), so a resync need not list a folder whole. */
static gboolean
enable_qresync (FerryImapClient *client, GCancellable *cancellable, GError **error)
{
  static const char *const qresync[] = { "QRESYNC", NULL };

  if (!ferry_imap_client_has_capability (client, "QRESYNC"))
    return TRUE;
  return ferry_imap_client_enable (client, qresync, cancellable, error);
}

static char *
capabilities_text (FerryImapClient *client)
{
  return g_strjoinv (" ", (char **) ferry_imap_client_get_capabilities (client));
}

/* The capabilities to expect after login: those of the last session,
 * when the server announces the same as then before it. */
static GStrv
expected_capabilities (const char *known, const char *before_login)
{
  const char *newline = known != NULL ? strchr (known, '\n') : NULL;

  if (newline == NULL || strncmp (known, before_login, newline - known) != 0
      || before_login[newline - known] != '\0')
    return NULL;
  return g_strsplit (newline + 1, " ", -1);
}

/* Logs in, and sends what is to follow (ENABLE, and LIST where asked)
 * in the same round trip when the server's capabilities after login are
 * known from the last session. */
static gboolean
start_session (FerryImapStore *self,
               const FerryAccount *account,
               const FerrySecret *secret,
               const FerryStoreImapOptions *options,
               GError **error)
{
  FerryImapClient *client = self->client;
  g_autofree char *before_login = capabilities_text (client);
  g_auto (GStrv) expected = expected_capabilities (options->known_capabilities, before_login);
  g_autofree char *after_login = NULL;
  gboolean as_expected;

  if (!log_in_begin (client, account, secret, (const char *const *) expected, self->cancellable,
                     error)
      || !enable_qresync (client, self->cancellable, error))
    return FALSE;
  if (options->list_at_login)
    {
      self->login_listing
          = ferry_imap_client_list_begin (client, FERRY_IMAP_LIST_STATUS, self->cancellable, error);
      if (self->login_listing == NULL)
        return FALSE;
    }
  if (!start_compression (client, account, self->cancellable, error)
      || !log_in_finish (client, account, &as_expected, self->cancellable, error))
    return FALSE;
  if (!as_expected)
    {
      /* Built for other capabilities: sent again, for these. */
      g_clear_pointer (&self->login_listing, ferry_imap_listing_free);
      if (!ferry_imap_client_is_enabled (client, "QRESYNC")
          && !enable_qresync (client, self->cancellable, error))
        return FALSE;
    }
  after_login = capabilities_text (client);
  self->capabilities = g_strconcat (before_login, "\n", after_login, NULL);
  return TRUE;
}

/**
 * ferry_store_imap_new:
 * @account: the account whose `imap-*` keys say where and how
 * @options: how long to wait, and what is known of the server
 * @cancellable: (nullable): cancels this and every later call
 * @error: return location for a #GError
 *
 * Connects and logs in.
 *
 * Returns: (transfer full): the store, or %NULL with @error set.
 */
FerryStore *
ferry_store_imap_new (const FerryAccount *account,
                      const FerryStoreImapOptions *options,
                      GCancellable *cancellable,
                      GError **error)
{
  FerryImapSettings settings = {
    .host = account->imap_host,
    .port = account->imap_port,
    .security = account->imap_security,
    .ca_file = account->imap_ca_file,
    .tls_fingerprint = account->imap_tls_fingerprint,
    .user = account->imap_user,
    .timeout_seconds = options->timeout_seconds,
  };
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (FerrySecret) secret = NULL;
  g_autoptr (FerryStore) store = NULL;
  SecretLookup lookup = { account, cancellable, NULL, NULL };
  GThread *looking_up;
  FerryImapStore *self;

  g_return_val_if_fail (account != NULL && account->imap_host != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);

  looking_up = g_thread_new ("ferry-secret", look_up_secret, &lookup);
  client = ferry_imap_client_connect (&settings, cancellable, error);
  g_thread_join (looking_up);
  secret = g_steal_pointer (&lookup.secret);
  if (client != NULL && secret == NULL)
    g_propagate_error (error, g_steal_pointer (&lookup.error));
  g_clear_error (&lookup.error);
  if (client == NULL || secret == NULL)
    return NULL;

  self = g_new0 (FerryImapStore, 1);
  ferry_store_init (&self->parent, &imap_store_class, account->imap_host);
  store = &self->parent;
  self->client = g_steal_pointer (&client);
  self->listed_stamps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  if (!start_session (self, account, secret, options, error))
    return NULL;
  return g_steal_pointer (&store);
}

/**
 * ferry_store_imap_get_capabilities:
 *
 * Returns: what the server announced before and after login, for
 *   FerryStoreImapOptions.known_capabilities the next time
 */
const char *
ferry_store_imap_get_capabilities (FerryStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);

  return imap_store (store)->capabilities;
}
