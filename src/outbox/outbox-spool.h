/* outbox-spool.h: the durable queue of outgoing messages on disk
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  FERRY_OUTBOX_STATE_QUEUED,  /* waiting for its next attempt */
  FERRY_OUTBOX_STATE_SENDING, /* a flusher holds it and is talking to the server */
  FERRY_OUTBOX_STATE_FAILED,  /* refused for good; waits for `ferry queue retry` */
  FERRY_OUTBOX_STATE_SENT,    /* the server accepted it; kept for keep-sent days */
} FerryOutboxState;

typedef struct
{
  char *address;
  FerryOutboxState state; /* QUEUED, SENT or FAILED */
  char *reply;            /* the server's last word on this recipient, or NULL */
} FerryOutboxRecipient;

typedef struct _FerryOutboxEntry FerryOutboxEntry;

struct _FerryOutboxEntry
{
  /*< private >*/
  gatomicrefcount ref_count;
  char *path;

  /*< public >*/
  char *id;
  char *account;
  char *sender;          /* envelope sender; "" for <> */
  GPtrArray *recipients; /* FerryOutboxRecipient */
  gint64 queued_at;      /* seconds since the epoch, as every time below */
  guint64 size;
  char *from;    /* header From:, decoded, for display */
  char *to;      /* header To:, decoded, for display */
  char *subject; /* header Subject:, decoded, for display */

  FerryOutboxState state;
  guint attempts;
  gint64 last_attempt; /* 0 for never */
  gint64 next_attempt;
  gint64 sent_at; /* 0 until sent */
  char *last_reply;
};

typedef struct _FerryOutboxSpool FerryOutboxSpool;

/* Held while a process works on an entry; released by free or by death. */
typedef struct _FerryOutboxLock FerryOutboxLock;

FerryOutboxSpool *ferry_outbox_spool_open (const char *path, GError **error);
FerryOutboxSpool *ferry_outbox_spool_ref (FerryOutboxSpool *self);
void ferry_outbox_spool_unref (FerryOutboxSpool *self);
const char *ferry_outbox_spool_get_path (FerryOutboxSpool *self);

FerryOutboxEntry *ferry_outbox_spool_add (FerryOutboxSpool *self,
                                          GBytes *message,
                                          FerryOutboxEntry *envelope,
                                          GError **error);
GPtrArray *ferry_outbox_spool_list (FerryOutboxSpool *self, GError **error);
FerryOutboxEntry *
ferry_outbox_spool_lookup (FerryOutboxSpool *self, const char *id, GError **error);
gboolean ferry_outbox_spool_remove (FerryOutboxSpool *self,
                                    FerryOutboxEntry *entry,
                                    FerryOutboxLock *lock,
                                    GError **error);
FerryOutboxLock *ferry_outbox_spool_try_lock_flush (FerryOutboxSpool *self, GError **error);

FerryOutboxEntry *ferry_outbox_entry_new (void);
FerryOutboxEntry *ferry_outbox_entry_ref (FerryOutboxEntry *self);
void ferry_outbox_entry_unref (FerryOutboxEntry *self);
void ferry_outbox_entry_add_recipient (FerryOutboxEntry *self, const char *address);
FerryOutboxLock *ferry_outbox_entry_try_lock (FerryOutboxEntry *self, GError **error);
gboolean ferry_outbox_entry_reload (FerryOutboxEntry *self, GError **error);
gboolean ferry_outbox_entry_save (FerryOutboxEntry *self, FerryOutboxLock *lock, GError **error);
GBytes *ferry_outbox_entry_load_message (FerryOutboxEntry *self, GError **error);
gboolean ferry_outbox_entry_is_locked (FerryOutboxEntry *self);
char *ferry_outbox_entry_serialize (FerryOutboxEntry *self);
gboolean ferry_outbox_entry_deserialize (FerryOutboxEntry *self,
                                         const char *text,
                                         gsize len,
                                         GError **error);

void ferry_outbox_lock_free (FerryOutboxLock *lock);

const char *ferry_outbox_state_to_string (FerryOutboxState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOutboxSpool, ferry_outbox_spool_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOutboxEntry, ferry_outbox_entry_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOutboxLock, ferry_outbox_lock_free)

G_END_DECLS
