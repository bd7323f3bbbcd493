/* sync-store.h: what the sync engine asks of a mail store
 *
 * A store is one side of a sync: an IMAP account or a tree of Maildirs.
 * The engine knows stores only through this interface, so IMAP ⇄ Maildir,
 * Maildir ⇄ Maildir and IMAP ⇄ IMAP are the same engine code. A store is
 * used by one thread at a time, and works on one selected folder at a
 * time; all calls block.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/mail-flags.h"

G_BEGIN_DECLS

typedef struct _FerryStore FerryStore;
typedef struct _FerryStoreFetch FerryStoreFetch;

typedef enum
{
  FERRY_STORE_FOLDER_NOSELECT = 1 << 0, /* a level of the hierarchy that holds no messages */
} FerryStoreFolderFlags;

typedef struct
{
  char *name;     /* the store's own name for it, in UTF-8 */
  char delimiter; /* between the levels of @name; 0 for a flat name space */
  FerryStoreFolderFlags flags;
  char *invalid_reason; /* why the folder cannot be synced, or NULL; @name is then for
                         * display only */
} FerryStoreFolder;

typedef struct
{
  guint32 validity;       /* the UIDVALIDITY: when it changes, every message id changed */
  guint32 next_uid;       /* the next id the store will give; 0 when it has no such notion */
  guint64 highest_modseq; /* 0 without CONDSTORE */
  guint messages;
} FerryStoreFolderStatus;

/* A listing need not say how large each message is (a Maildir's does not,
 * to spare a stat() of each file): ferry_store_fetch_sizes() tells. */
#define FERRY_STORE_SIZE_UNKNOWN G_MAXUINT64

typedef struct
{
  char *id; /* stable within the folder: an IMAP UID, a Maildir unique name; not to be
             * replaced (it shares the message's allocation) */
  FerryMailFlags flags;
  guint64 size;     /* FERRY_STORE_SIZE_UNKNOWN until ferry_store_fetch_sizes() */
  char *message_id; /* NULL until fetched with ferry_store_fetch_message_ids() */
} FerryStoreMessage;

/* A message on its way into the selected folder: the engine writes it to
 * @fd, records it, then commits it. */
typedef struct
{
  int fd;
  FerryMailFlags flags;
  /* The id the message will have once committed, when the store can say
   * so in advance (a Maildir's unique name); NULL otherwise. */
  char *provisional_id;
  gpointer store_data;
} FerryStoreAppend;

typedef struct
{
  const char *id;
  FerryMailFlags old_flags; /* as the engine saw them */
  FerryMailFlags new_flags; /* as they must be */
} FerryStoreFlagChange;

typedef struct
{
  const char *kind;
  void (*finalize) (FerryStore *self);

  GPtrArray *(*list_folders) (FerryStore *self, GError **error);
  gboolean (*create_folder) (FerryStore *self, const char *name, GError **error);
  gboolean (*delete_folder) (FerryStore *self, const char *name, GError **error);
  /* Optional: a text that changes whenever the folder's messages or
   * flags change, found without selecting it; NULL when the store cannot
   * tell for sure. */
  gboolean (*peek_folder) (FerryStore *self, const char *name, char **stamp, GError **error);
  /* Optional: see ferry_store_watch_folder(). */
  gboolean (*watch_folder) (FerryStore *self, const char *name, char **stamp, GError **error);
  void (*unwatch_folder) (FerryStore *self, const char *name);
  /* Optional: see ferry_store_stamp_folder(). */
  gboolean (*stamp_folder) (
      FerryStore *self, const char *name, gint64 max_wait_us, char **stamp, GError **error);
  gboolean (*select_folder) (FerryStore *self,
                             const char *name,
                             FerryStoreFolderStatus *status,
                             GError **error);
  /* Optional: see ferry_store_select_folder_for_changes(). */
  gboolean (*select_folder_for_changes) (FerryStore *self,
                                         const char *name,
                                         guint64 since_modseq,
                                         guint32 new_from,
                                         FerryStoreFolderStatus *status,
                                         GError **error);
  /* Optional: see ferry_store_select_folder_unlisted(). */
  gboolean (*select_folder_unlisted) (FerryStore *self,
                                      const char *name,
                                      FerryStoreFolderStatus *status,
                                      GError **error);

  GPtrArray *(*list_messages) (FerryStore *self, GError **error);
  /* Optional: see ferry_store_list_changes(). */
  gboolean (*list_changes) (FerryStore *self,
                            guint64 since_modseq,
                            const char *const *known,
                            guint n_known,
                            GPtrArray **changed,
                            GPtrArray **vanished,
                            GError **error);
  gboolean (*fetch_message_ids) (FerryStore *self, GPtrArray *messages, GError **error);
  /* Optional, for a store whose listing leaves sizes unknown. */
  gboolean (*fetch_sizes) (FerryStore *self, GPtrArray *messages, GError **error);
  gboolean (*fetch) (FerryStore *self, const char *id, int fd, GError **error);
  /* Optional: several at once, as one round trip where the store can,
   * asked for here and received by fetch_many_finish() while the engine
   * does something else; what it returns is the store's own. */
  gpointer (*fetch_many_begin) (
      FerryStore *self, const char *const *ids, const int *fds, guint n, GError **error);
  gboolean (*fetch_many_finish) (FerryStore *self, gpointer pending, GError **error);
  /* Drops a fetch not finished; no more is written to its descriptors. */
  void (*fetch_many_abandon) (FerryStore *self, gpointer pending);

  FerryStoreAppend *(*append_begin) (FerryStore *self, FerryMailFlags flags, GError **error);
  gboolean (*append_commit) (FerryStore *self, FerryStoreAppend *append, char **id, GError **error);
  /* Optional: several in order, in one go where the store can (one
   * round of file syncs, pipelined APPENDs). It takes the appends it
   * committed, and may take others, setting their entries to NULL; the
   * caller aborts what is left. */
  gboolean (*append_commit_many) (FerryStore *self,
                                  FerryStoreAppend **appends,
                                  guint n,
                                  char **ids,
                                  guint *n_committed,
                                  GError **error);
  void (*append_abort) (FerryStore *self, FerryStoreAppend *append);
  gboolean (*flush) (FerryStore *self, GError **error);

  gboolean (*set_flags) (FerryStore *self,
                         const char *id,
                         FerryMailFlags old_flags,
                         FerryMailFlags new_flags,
                         GError **error);
  /* Optional: several at once, as one round trip where the store can. */
  gboolean (*set_flags_many) (FerryStore *self,
                              const FerryStoreFlagChange *changes,
                              guint n,
                              GError **error);
  gboolean (*expunge) (FerryStore *self, GPtrArray *ids, GError **error);
  gboolean (*copy) (FerryStore *self, const char *id, const char *to_folder, GError **error);
  /* Optional; FERRY_ERROR_UNAVAILABLE when the store cannot. */
  gboolean (*move) (
      FerryStore *self, const char *id, const char *to_folder, char **new_id, GError **error);
} FerryStoreClass;

struct _FerryStore
{
  /*< private >*/
  const FerryStoreClass *klass;
  gatomicrefcount ref_count;
  char *description;
  gint changes;
};

void ferry_store_init (FerryStore *self, const FerryStoreClass *klass, const char *description);
FerryStore *ferry_store_ref (FerryStore *self);
void ferry_store_unref (FerryStore *self);
const char *ferry_store_get_description (FerryStore *self);
guint ferry_store_get_change_count (FerryStore *self);

GPtrArray *ferry_store_list_folders (FerryStore *self, GError **error);
gboolean ferry_store_create_folder (FerryStore *self, const char *name, GError **error);
gboolean ferry_store_delete_folder (FerryStore *self, const char *name, GError **error);
gboolean ferry_store_peek_folder (FerryStore *self, const char *name, char **stamp, GError **error);
gboolean
ferry_store_watch_folder (FerryStore *self, const char *name, char **stamp, GError **error);
void ferry_store_unwatch_folder (FerryStore *self, const char *name);
gboolean ferry_store_stamp_folder (
    FerryStore *self, const char *name, gint64 max_wait_us, char **stamp, GError **error);
gboolean ferry_store_select_folder (FerryStore *self,
                                    const char *name,
                                    FerryStoreFolderStatus *status,
                                    GError **error);
gboolean ferry_store_select_folder_for_changes (FerryStore *self,
                                                const char *name,
                                                guint64 since_modseq,
                                                guint32 new_from,
                                                FerryStoreFolderStatus *status,
                                                GError **error);
gboolean ferry_store_select_folder_unlisted (FerryStore *self,
                                             const char *name,
                                             FerryStoreFolderStatus *status,
                                             GError **error);

GPtrArray *ferry_store_list_messages (FerryStore *self, GError **error);
gboolean ferry_store_list_changes (FerryStore *self,
                                   guint64 since_modseq,
                                   const char *const *known,
                                   guint n_known,
                                   GPtrArray **changed,
                                   GPtrArray **vanished,
                                   GError **error);
gboolean ferry_store_fetch_message_ids (FerryStore *self, GPtrArray *messages, GError **error);
gboolean ferry_store_fetch_sizes (FerryStore *self, GPtrArray *messages, GError **error);
gboolean ferry_store_fetch (FerryStore *self, const char *id, int fd, GError **error);
FerryStoreFetch *
ferry_store_fetch_many_begin (FerryStore *self, const char *const *ids, const int *fds, guint n);
gboolean ferry_store_fetch_many_finish (FerryStore *self, FerryStoreFetch *fetch, GError **error);
void ferry_store_fetch_free (FerryStoreFetch *fetch);

FerryStoreAppend *ferry_store_append_begin (FerryStore *self, FerryMailFlags flags, GError **error);
gboolean
ferry_store_append_commit (FerryStore *self, FerryStoreAppend *append, char **id, GError **error);
gboolean ferry_store_append_commit_many (FerryStore *self,
                                         FerryStoreAppend **appends,
                                         guint n,
                                         char **ids,
                                         guint *n_committed,
                                         GError **error);
void ferry_store_append_abort (FerryStore *self, FerryStoreAppend *append);
gboolean ferry_store_flush (FerryStore *self, GError **error);

gboolean ferry_store_set_flags (FerryStore *self,
                                const char *id,
                                FerryMailFlags old_flags,
                                FerryMailFlags new_flags,
                                GError **error);
gboolean ferry_store_set_flags_many (FerryStore *self,
                                     const FerryStoreFlagChange *changes,
                                     guint n,
                                     GError **error);
gboolean ferry_store_expunge (FerryStore *self, GPtrArray *ids, GError **error);
gboolean ferry_store_copy (FerryStore *self, const char *id, const char *to_folder, GError **error);
gboolean ferry_store_move (
    FerryStore *self, const char *id, const char *to_folder, char **new_id, GError **error);

FerryStoreFolder *ferry_store_folder_new (const char *name, char delimiter);
void ferry_store_folder_free (FerryStoreFolder *folder);
FerryStoreMessage *ferry_store_message_new (const char *id, FerryMailFlags flags, guint64 size);
void ferry_store_message_free (FerryStoreMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryStore, ferry_store_unref)

G_END_DECLS
