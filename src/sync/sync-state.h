/* sync-state.h: what both sides last agreed on, in SQLite
 *
 * One database per account. For every folder pair it keeps the identity
 * of each side's folder (UIDVALIDITY), and for every message the id it has
 * on each side and the flags both sides last agreed on. The sync engine
 * changes it in transactions ordered against the stores' own changes, so
 * that a crash at any instant leaves a record from which the next run
 * finishes the job.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "core/mail-flags.h"

G_BEGIN_DECLS

typedef enum
{
  /* Both sides hold the message. */
  FERRY_SYNC_RECORD_PAIRED = 0,
  /* Being copied to the near side under near_id; it may or may not have
   * arrived there. */
  FERRY_SYNC_RECORD_NEAR_PENDING = 1,
  /* Being appended to the far side; far_id is unknown until the server
   * says it, and far_hint holds where to look for it (the far folder's
   * next id before the append). */
  FERRY_SYNC_RECORD_FAR_PENDING = 2,
  /* The far copy went away; the near copy is kept, marked deleted, and is
   * not sent back as new. */
  FERRY_SYNC_RECORD_FAR_GONE = 3,
  /* The near copy went away; the far copy is kept, marked deleted. */
  FERRY_SYNC_RECORD_NEAR_GONE = 4,
} FerrySyncRecordState;

typedef struct
{
  gint64 row;
  char *far_id;  /* NULL while FAR_PENDING, and when FAR_GONE */
  char *near_id; /* NULL when NEAR_GONE */
  FerryMailFlags flags;
  FerrySyncRecordState state;
  char *message_id; /* may be NULL */
  guint64 size;
  guint64 far_hint;
} FerrySyncRecord;

typedef struct
{
  gint64 id;
  char *name; /* Ferry's folder name: UTF-8, "/" between levels */
  guint32 far_validity;
  guint32 near_validity;
  /* What each side's change stamp (ferry_store_peek_folder()) was when
   * the folder was last synced with nothing changed on that side after;
   * NULL when unknown. */
  char *far_stamp;
  char *near_stamp;
  /* The far folder's HIGHESTMODSEQ (RFC 7162) when its messages were last
   * listed by a sync that finished; 0 when unknown. The next sync asks
   * only for what changed since. */
  guint64 far_modseq;
  /* The far folder's UIDNEXT then: messages from it on are new since,
   * and are asked for with their Message-IDs. 0 when unknown. */
  guint32 far_uidnext;
  /* The policy that chose which messages to copy at that sync (see
   * sync-messages.c): a change of it voids the stamps, so
   * that messages it left out are looked at again. */
  char *copy_policy;
} FerrySyncFolderRecord;

typedef struct _FerrySyncState FerrySyncState;

FerrySyncState *ferry_sync_state_open (const char *path, GError **error);
FerrySyncState *ferry_sync_state_ref (FerrySyncState *self);
void ferry_sync_state_unref (FerrySyncState *self);
const char *ferry_sync_state_get_path (FerrySyncState *self);
gboolean
ferry_sync_state_get_note (FerrySyncState *self, const char *key, char **value, GError **error);
gboolean ferry_sync_state_set_note (FerrySyncState *self,
                                    const char *key,
                                    const char *value,
                                    GError **error);

gboolean ferry_sync_state_begin (FerrySyncState *self, GError **error);
gboolean ferry_sync_state_begin_record (FerrySyncState *self, GError **error);
gboolean ferry_sync_state_commit (FerrySyncState *self, GError **error);
void ferry_sync_state_rollback (FerrySyncState *self);

GPtrArray *ferry_sync_state_list_folders (FerrySyncState *self, GError **error);
gboolean
ferry_sync_state_add_folder (FerrySyncState *self, FerrySyncFolderRecord *folder, GError **error);
gboolean ferry_sync_state_update_folder (FerrySyncState *self,
                                         const FerrySyncFolderRecord *folder,
                                         GError **error);
gboolean ferry_sync_state_remove_folder (FerrySyncState *self, gint64 folder_id, GError **error);

GPtrArray *ferry_sync_state_list_records (FerrySyncState *self, gint64 folder_id, GError **error);
GPtrArray *ferry_sync_state_find_records (FerrySyncState *self,
                                          gint64 folder_id,
                                          const char *const *far_ids,
                                          guint n_ids,
                                          GError **error);
gboolean ferry_sync_state_add_record (FerrySyncState *self,
                                      gint64 folder_id,
                                      FerrySyncRecord *record,
                                      GError **error);
gboolean ferry_sync_state_update_record (FerrySyncState *self,
                                         const FerrySyncRecord *record,
                                         GError **error);
gboolean
ferry_sync_state_update_flags (FerrySyncState *self, const FerrySyncRecord *record, GError **error);
gboolean ferry_sync_state_remove_record (FerrySyncState *self, gint64 row, GError **error);
gboolean
ferry_sync_state_remove_all_records (FerrySyncState *self, gint64 folder_id, GError **error);
gboolean ferry_sync_state_count_pending (FerrySyncState *self,
                                         gint64 folder_id,
                                         guint *count,
                                         GError **error);

FerrySyncRecord *ferry_sync_record_new (void);
FerrySyncRecord *ferry_sync_record_copy (const FerrySyncRecord *record);
void ferry_sync_record_free (FerrySyncRecord *record);
FerrySyncFolderRecord *ferry_sync_folder_record_new (const char *name);
void ferry_sync_folder_record_free (FerrySyncFolderRecord *folder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySyncState, ferry_sync_state_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySyncRecord, ferry_sync_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySyncFolderRecord, ferry_sync_folder_record_free)

G_END_DECLS
