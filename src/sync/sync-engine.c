/* sync-engine.c: two-way sync of every chosen folder between two stores
 *
 * The engine compares each side's messages with the record of what both
 * sides last agreed on (sync-state.h) and makes the two agree again:
 * new messages are copied, flags merged three-way, deletions carried
 * over as the policy says. Every change is ordered against the record so
 * that a crash at any instant leaves nothing lost, duplicated or deleted:
 *
 * - A copy is recorded as pending, with the id it will have where the
 *   store can say so in advance, before it becomes visible there; after
 *   it landed and was made durable, the record becomes a pair. On the
 *   next run a pending record whose message is there becomes a pair, one
 *   whose message is not is dropped and the copy made again.
 * - Flag changes are made on the stores first and recorded after: doing
 *   one again is harmless, and the three-way merge sees a side that
 *   already agrees as unchanged.
 * - A deletion is carried over as the \Deleted flag on the other side
 *   (as mbsync does); messages are removed for good only where `expunge`
 *   says, and only those marked deleted.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/errors.h"
#include "sync/sync-engine.h"
#include "sync/sync-moves.h"

/* A batch is written to the target, then made durable, then recorded, all
 * at once: one directory fsync and two transactions per batch rather than
 * per message. */
#define BATCH_MESSAGES 64
#define BATCH_BYTES    (16 * 1024 * 1024)

typedef enum
{
  FAR = 0,
  NEAR = 1,
} Side;

#define OTHER(side) ((Side) (1 - (side)))

/* What one connection to each side needs: with max-connections, several
 * of them sync different folders at once. */
typedef struct
{
  FerryStore *stores[2];
  FerrySyncState *state;
} Worker;

struct _FerrySyncEngine
{
  Worker main;
  FerrySyncWorkerFunc make_worker;
  gpointer make_worker_data;
  guint max_workers;
  FerrySyncFolderMap *map;
  FerrySyncPolicy policy;
  FerrySyncReportFunc report;
  gpointer report_data;
  char *trash;          /* policy.trash, owned */
  char *trash_far_name; /* what the server calls it, once known */
};

typedef struct
{
  FerrySyncEngine *engine;
  FerryStore **stores; /* the worker's */
  FerrySyncState *state;
  FerrySyncFolderRecord *folder;
  const char *names[2];
  FerryStoreFolderStatus status[2];
  GPtrArray *lists[2];         /* FerryStoreMessage */
  GHashTable *messages[2];     /* id -> FerryStoreMessage, in lists */
  GPtrArray *records;          /* FerrySyncRecord */
  GHashTable *record_by_id[2]; /* id -> FerrySyncRecord, in records */
  FerrySyncStats stats;
} FolderSync;

/* One message on its way from one side to the other. */
typedef struct
{
  FerryStoreMessage *source;
  FerryStoreAppend *append;
  FerrySyncRecord *record;
} Copy;

static const FerrySide policy_side[2] = { FERRY_SIDE_REMOTE, FERRY_SIDE_LOCAL };
static const FerrySyncRecordState pending_state[2]
    = { FERRY_SYNC_RECORD_FAR_PENDING, FERRY_SYNC_RECORD_NEAR_PENDING };
static const FerrySyncRecordState gone_state[2]
    = { FERRY_SYNC_RECORD_FAR_GONE, FERRY_SYNC_RECORD_NEAR_GONE };

static void
report (FerrySyncEngine *self, FerrySyncEventKind kind, const char *folder, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static void
report (FerrySyncEngine *self, FerrySyncEventKind kind, const char *folder, const char *format, ...)
{
  g_autofree char *text = NULL;
  FerrySyncEvent event = { kind, folder, NULL, 0, 0, NULL };
  va_list args;

  if (self->report == NULL)
    return;
  if (format != NULL)
    {
      va_start (args, format);
      text = g_strdup_vprintf (format, args);
      va_end (args);
    }
  event.text = text;
  self->report (&event, self->report_data);
}

static void
report_progress (FolderSync *fs, guint done, guint total)
{
  FerrySyncEvent event = { FERRY_SYNC_EVENT_PROGRESS, fs->folder->name, NULL, done, total, NULL };

  if (fs->engine->report != NULL)
    fs->engine->report (&event, fs->engine->report_data);
}

/**
 * ferry_sync_engine_new:
 * @far: the remote side (the IMAP server)
 * @near: the local side (the Maildirs)
 * @state: the account's sync state
 * @map: which folders to sync and what the far side calls them
 * @policy: what the engine may create, remove and expunge where
 *
 * Returns: (transfer full): a new engine.
 */
FerrySyncEngine *
ferry_sync_engine_new (FerryStore *far,
                       FerryStore *near,
                       FerrySyncState *state,
                       FerrySyncFolderMap *map,
                       const FerrySyncPolicy *policy)
{
  FerrySyncEngine *self;

  g_return_val_if_fail (far != NULL && near != NULL, NULL);
  g_return_val_if_fail (state != NULL && map != NULL && policy != NULL, NULL);

  self = g_new0 (FerrySyncEngine, 1);
  self->main.stores[FAR] = ferry_store_ref (far);
  self->main.stores[NEAR] = ferry_store_ref (near);
  self->main.state = ferry_sync_state_ref (state);
  self->map = map;
  self->policy = *policy;
  self->max_workers = 1;
  self->trash = g_strdup (policy->trash);
  self->policy.trash = self->trash;
  return self;
}

void
ferry_sync_engine_free (FerrySyncEngine *self)
{
  if (self == NULL)
    return;
  ferry_store_unref (self->main.stores[FAR]);
  ferry_store_unref (self->main.stores[NEAR]);
  ferry_sync_state_unref (self->main.state);
  g_free (self->trash);
  g_free (self->trash_far_name);
  g_free (self);
}

/**
 * ferry_sync_engine_set_report_func:
 * @self: a #FerrySyncEngine
 * @func: (nullable): called on the engine's thread for each event
 * @user_data: for @func
 */
void
ferry_sync_engine_set_report_func (FerrySyncEngine *self,
                                   FerrySyncReportFunc func,
                                   gpointer user_data)
{
  g_return_if_fail (self != NULL);

  self->report = func;
  self->report_data = user_data;
}

/* ---- the record of a folder ------------------------------------------ */

static char **
record_id (FerrySyncRecord *record, Side side)
{
  return side == FAR ? &record->far_id : &record->near_id;
}

static void
index_records (FolderSync *fs)
{
  for (int side = FAR; side <= NEAR; side++)
    g_hash_table_remove_all (fs->record_by_id[side]);
  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);

      for (int side = FAR; side <= NEAR; side++)
        if (*record_id (record, side) != NULL)
          g_hash_table_insert (fs->record_by_id[side], *record_id (record, side), record);
    }
}

static void
forget_record (FolderSync *fs, FerrySyncRecord *record)
{
  for (int side = FAR; side <= NEAR; side++)
    if (*record_id (record, side) != NULL)
      g_hash_table_remove (fs->record_by_id[side], *record_id (record, side));
  g_ptr_array_remove_fast (fs->records, record);
}

static gboolean
load_records (FolderSync *fs, GError **error)
{
  g_clear_pointer (&fs->records, g_ptr_array_unref);
  fs->records = ferry_sync_state_list_records (fs->state, fs->folder->id, error);
  if (fs->records == NULL)
    return FALSE;
  index_records (fs);
  return TRUE;
}

static FerryStoreMessage *
message_on (FolderSync *fs, FerrySyncRecord *record, Side side)
{
  const char *id = *record_id (record, side);

  return id != NULL ? g_hash_table_lookup (fs->messages[side], id) : NULL;
}

static gboolean
is_paired (FolderSync *fs, FerryStoreMessage *message, Side side)
{
  return g_hash_table_contains (fs->record_by_id[side], message->id);
}

/* ---- listing ------------------------------------------------------------ */

static gboolean
list_side (FolderSync *fs, Side side, GError **error)
{
  GPtrArray *list = ferry_store_list_messages (fs->stores[side], error);

  if (list == NULL)
    return FALSE;
  g_clear_pointer (&fs->lists[side], g_ptr_array_unref);
  fs->lists[side] = list;
  g_hash_table_remove_all (fs->messages[side]);
  for (guint i = 0; i < list->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (list, i);
      g_hash_table_insert (fs->messages[side], message->id, message);
    }
  return TRUE;
}

/* Unpaired messages of @side, oldest first where ids are numbers. */
static GPtrArray *
unpaired_messages (FolderSync *fs, Side side, guint64 from_uid)
{
  GPtrArray *unpaired = g_ptr_array_new ();

  for (guint i = 0; i < fs->lists[side]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[side], i);
      guint64 uid = g_ascii_strtoull (message->id, NULL, 10);

      if (!is_paired (fs, message, side) && (from_uid == 0 || uid >= from_uid))
        g_ptr_array_add (unpaired, message);
    }
  return unpaired;
}

/* ---- a crash's leftovers ------------------------------------------------ */

/* A copy to @side whose id was not known in advance: look for it among
 * that side's unpaired messages by Message-ID. */
static gboolean
find_pending_copies (FolderSync *fs, Side side, GPtrArray *pending, GError **error)
{
  g_autoptr (GPtrArray) candidates = NULL;
  g_autoptr (GHashTable) by_message_id = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 from_uid = G_MAXUINT64;

  for (guint i = 0; i < pending->len; i++)
    from_uid = MIN (from_uid, ((FerrySyncRecord *) g_ptr_array_index (pending, i))->far_hint);
  candidates = unpaired_messages (fs, side, from_uid);
  if (!ferry_store_fetch_message_ids (fs->stores[side], candidates, error))
    return FALSE;
  for (guint i = 0; i < candidates->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (candidates, i);
      if (message->message_id != NULL)
        g_hash_table_insert (by_message_id, message->message_id, message);
    }

  for (guint i = 0; i < pending->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (pending, i);
      FerryStoreMessage *found = record->message_id != NULL
                                     ? g_hash_table_lookup (by_message_id, record->message_id)
                                     : NULL;

      if (found == NULL)
        continue;
      g_hash_table_remove (by_message_id, record->message_id);
      *record_id (record, side) = g_strdup (found->id);
      g_hash_table_insert (fs->record_by_id[side], *record_id (record, side), record);
    }
  return TRUE;
}

/* Settles every pending record: a pair when its copy arrived, forgotten
 * (so the copy is made again) when it did not. */
static gboolean
settle_pending (FolderSync *fs, GError **error)
{
  g_autoptr (GPtrArray) settled = g_ptr_array_new ();

  /* A dry run leaves even the record as it is. */
  if (fs->engine->policy.dry_run)
    return TRUE;

  for (int side = FAR; side <= NEAR; side++)
    {
      g_autoptr (GPtrArray) unknown = g_ptr_array_new ();

      for (guint i = 0; i < fs->records->len; i++)
        {
          FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
          if (record->state == pending_state[side] && *record_id (record, side) == NULL)
            g_ptr_array_add (unknown, record);
        }
      if (unknown->len > 0 && !find_pending_copies (fs, side, unknown, error))
        return FALSE;
    }

  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
      if (record->state == FERRY_SYNC_RECORD_FAR_PENDING
          || record->state == FERRY_SYNC_RECORD_NEAR_PENDING)
        g_ptr_array_add (settled, record);
    }
  if (settled->len == 0)
    return TRUE;

  if (!ferry_sync_state_begin (fs->state, error))
    return FALSE;
  for (guint i = 0; i < settled->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (settled, i);
      Side target = record->state == FERRY_SYNC_RECORD_FAR_PENDING ? FAR : NEAR;
      gboolean ok;

      if (message_on (fs, record, target) != NULL)
        {
          record->state = FERRY_SYNC_RECORD_PAIRED;
          ok = ferry_sync_state_update_record (fs->state, record, error);
        }
      else
        {
          ok = ferry_sync_state_remove_record (fs->state, record->row, error);
          forget_record (fs, record);
        }
      if (!ok)
        {
          ferry_sync_state_rollback (fs->state);
          return FALSE;
        }
    }
  return ferry_sync_state_commit (fs->state, error);
}

/* ---- a replaced folder --------------------------------------------------- */

/* The folder on @side was replaced (its UIDVALIDITY changed): every id
 * recorded for that side is void. Messages are paired again by
 * Message-ID with the other side's recorded ones; what finds no partner
 * is copied as new afterwards. Nothing is deleted on either side. */
static gboolean
repair_replaced_folder (FolderSync *fs, Side side, GError **error)
{
  Side other = OTHER (side);
  g_autoptr (GHashTable) by_message_id
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GPtrArray) old_records = g_steal_pointer (&fs->records);
  g_autoptr (GPtrArray) recorded = g_ptr_array_new ();
  FerrySyncEngine *self = fs->engine;
  guint paired = 0;

  report (self, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
          _ ("The %s folder was replaced (its UIDVALIDITY changed from %u to %u); its messages "
             "are matched again by Message-ID, and nothing is deleted"),
          side == FAR ? _ ("server's") : _ ("local"),
          side == FAR ? fs->folder->far_validity : fs->folder->near_validity,
          fs->status[side].validity);

  if (!ferry_store_fetch_message_ids (fs->stores[side], fs->lists[side], error))
    return FALSE;
  for (guint i = 0; i < old_records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (old_records, i);
      FerryStoreMessage *kept = message_on (fs, record, other);
      if (kept != NULL)
        g_ptr_array_add (recorded, kept);
    }
  if (!ferry_store_fetch_message_ids (fs->stores[other], recorded, error))
    return FALSE;

  for (guint i = 0; i < fs->lists[side]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[side], i);
      GPtrArray *same;

      if (message->message_id == NULL)
        continue;
      same = g_hash_table_lookup (by_message_id, message->message_id);
      if (same == NULL)
        {
          same = g_ptr_array_new ();
          g_hash_table_insert (by_message_id, message->message_id, same);
        }
      g_ptr_array_add (same, message);
    }

  fs->records = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_sync_record_free);
  if (!ferry_sync_state_begin (fs->state, error))
    return FALSE;
  if (!ferry_sync_state_remove_all_records (fs->state, fs->folder->id, error))
    goto failed;
  for (guint i = 0; i < old_records->len; i++)
    {
      FerrySyncRecord *old = g_ptr_array_index (old_records, i);
      FerryStoreMessage *kept = message_on (fs, old, other);
      GPtrArray *same = kept != NULL && kept->message_id != NULL
                            ? g_hash_table_lookup (by_message_id, kept->message_id)
                            : NULL;
      FerrySyncRecord *record;

      if (same == NULL || same->len == 0)
        continue;
      record = ferry_sync_record_new ();
      *record_id (record, other) = g_strdup (kept->id);
      *record_id (record, side)
          = g_strdup (((FerryStoreMessage *) g_ptr_array_steal_index (same, 0))->id);
      record->flags = old->flags;
      record->message_id = g_strdup (kept->message_id);
      g_ptr_array_add (fs->records, record);
      if (!ferry_sync_state_add_record (fs->state, fs->folder->id, record, error))
        goto failed;
      paired++;
    }
  if (side == FAR)
    fs->folder->far_validity = fs->status[side].validity;
  else
    fs->folder->near_validity = fs->status[side].validity;
  if (!ferry_sync_state_update_folder (fs->state, fs->folder, error)
      || !ferry_sync_state_commit (fs->state, error))
    goto failed;
  index_records (fs);
  report (self, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
          _ ("%u messages matched again; the others are copied as new"), paired);
  return TRUE;

failed:
  ferry_sync_state_rollback (fs->state);
  return FALSE;
}

static gboolean
check_validity (FolderSync *fs, GError **error)
{
  guint32 recorded[2] = { fs->folder->far_validity, fs->folder->near_validity };

  for (int side = FAR; side <= NEAR; side++)
    if (recorded[side] != 0 && recorded[side] != fs->status[side].validity)
      {
        if (fs->engine->policy.dry_run)
          {
            report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
                    _ ("would match messages again: the folder was replaced (UIDVALIDITY)"));
            return FALSE;
          }
        if (!repair_replaced_folder (fs, side, error))
          return FALSE;
      }
  return TRUE;
}

/* ---- messages both sides knew -------------------------------------------- */

/* Per flag, a side that changed it since the last agreement wins; where
 * both changed it, they changed it the same way (a flag is on or off). */
static FerryMailFlags
merge_flags (FerryMailFlags agreed, FerryMailFlags far, FerryMailFlags near)
{
  return agreed ^ ((agreed ^ far) | (agreed ^ near));
}

static gboolean
set_flags (
    FolderSync *fs, Side side, FerryStoreMessage *message, FerryMailFlags flags, GError **error)
{
  if (message->flags == flags)
    return TRUE;
  if (fs->engine->policy.dry_run)
    report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
            _ ("would change the flags of message %s %s"), message->id,
            side == FAR ? _ ("on the server") : _ ("here"));
  else if (!ferry_store_set_flags (fs->stores[side], message->id, message->flags, flags, error))
    return FALSE;
  message->flags = flags;
  fs->stats.flag_changes++;
  return TRUE;
}

/* What to do with a record; the store changes are made here, the record
 * changes are written by the caller in one transaction. */
typedef enum
{
  KEEP,
  UPDATE,
  FORGET,
} RecordChange;

static RecordChange
reconcile_pair (FolderSync *fs, FerrySyncRecord *record, GError **error)
{
  FerryStoreMessage *present[2] = { message_on (fs, record, FAR), message_on (fs, record, NEAR) };

  if (present[FAR] != NULL && present[NEAR] != NULL)
    {
      FerryMailFlags merged
          = merge_flags (record->flags, present[FAR]->flags, present[NEAR]->flags);

      if (!set_flags (fs, FAR, present[FAR], merged, error)
          || !set_flags (fs, NEAR, present[NEAR], merged, error))
        return KEEP;
      if (merged == record->flags)
        return KEEP;
      record->flags = merged;
      return UPDATE;
    }

  for (int gone = FAR; gone <= NEAR; gone++)
    {
      FerryStoreMessage *kept = present[OTHER (gone)];

      if (present[gone] != NULL || kept == NULL)
        continue;
      /* Changed on one side, deleted on the other: the change wins and the
       * message is copied back as new, so nothing the user still cared
       * about is lost. */
      if (kept->flags != record->flags)
        return FORGET;
      if (!set_flags (fs, OTHER (gone), kept, kept->flags | FERRY_MAIL_FLAG_DELETED, error))
        return KEEP;
      g_hash_table_remove (fs->record_by_id[gone], *record_id (record, gone));
      g_clear_pointer (record_id (record, gone), g_free);
      record->state = gone_state[gone];
      record->flags = kept->flags;
      return UPDATE;
    }
  return FORGET;
}

/* A message whose partner went away: kept while marked deleted; copied
 * back as new if the user takes the mark off. */
static RecordChange
reconcile_orphan (FolderSync *fs, FerrySyncRecord *record)
{
  Side kept_side = record->state == FERRY_SYNC_RECORD_FAR_GONE ? NEAR : FAR;
  FerryStoreMessage *kept = message_on (fs, record, kept_side);

  if (kept == NULL || !(kept->flags & FERRY_MAIL_FLAG_DELETED))
    return FORGET;
  return KEEP;
}

static gboolean
write_record_changes (FolderSync *fs, GPtrArray *updates, GPtrArray *forgotten, GError **error)
{
  FerrySyncState *state = fs->state;

  if (updates->len == 0 && forgotten->len == 0)
    return TRUE;
  if (!ferry_sync_state_begin (state, error))
    return FALSE;
  for (guint i = 0; i < updates->len; i++)
    if (!ferry_sync_state_update_record (state, g_ptr_array_index (updates, i), error))
      goto failed;
  for (guint i = 0; i < forgotten->len; i++)
    if (!ferry_sync_state_remove_record (
            state, ((FerrySyncRecord *) g_ptr_array_index (forgotten, i))->row, error))
      goto failed;
  if (!ferry_sync_state_commit (fs->state, error))
    return FALSE;
  index_records (fs);
  for (guint i = 0; i < forgotten->len; i++)
    forget_record (fs, g_ptr_array_index (forgotten, i));
  return TRUE;

failed:
  ferry_sync_state_rollback (state);
  return FALSE;
}

static gboolean
reconcile_records (FolderSync *fs, GError **error)
{
  /* Not g_ptr_array_copy(), which would free the records with the copy. */
  g_autoptr (GPtrArray) snapshot = g_ptr_array_sized_new (fs->records->len);
  g_autoptr (GPtrArray) updates = g_ptr_array_new ();
  g_autoptr (GPtrArray) forgotten = g_ptr_array_new ();
  g_autoptr (GError) store_error = NULL;

  g_ptr_array_extend (snapshot, fs->records, NULL, NULL);
  for (guint i = 0; i < snapshot->len && store_error == NULL; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (snapshot, i);
      RecordChange change = record->state == FERRY_SYNC_RECORD_PAIRED
                                ? reconcile_pair (fs, record, &store_error)
                                : reconcile_orphan (fs, record);

      if (change == UPDATE)
        g_ptr_array_add (updates, record);
      else if (change == FORGET)
        g_ptr_array_add (forgotten, record);
    }
  if (fs->engine->policy.dry_run)
    return store_error == NULL
           || (g_propagate_error (error, g_steal_pointer (&store_error)), FALSE);

  /* What was done before a failure is recorded all the same. */
  if (!write_record_changes (fs, updates, forgotten, store_error == NULL ? error : NULL))
    return FALSE;
  if (store_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&store_error));
      return FALSE;
    }
  return TRUE;
}

/* ---- new messages -------------------------------------------------------- */

static void
copy_clear (Copy *copy)
{
  ferry_sync_record_free (copy->record);
}

static gboolean
start_copy (FolderSync *fs, Side from, FerryStoreMessage *message, Copy *copy, GError **error)
{
  Side to = OTHER (from);
  FerrySyncRecord *record;

  copy->source = message;
  copy->append = ferry_store_append_begin (fs->stores[to], message->flags, error);
  if (copy->append == NULL)
    return FALSE;
  if (!ferry_store_fetch (fs->stores[from], message->id, copy->append->fd, error))
    {
      ferry_store_append_abort (fs->stores[to], g_steal_pointer (&copy->append));
      return FALSE;
    }

  record = ferry_sync_record_new ();
  *record_id (record, from) = g_strdup (message->id);
  *record_id (record, to) = g_strdup (copy->append->provisional_id);
  record->state = pending_state[to];
  record->flags = message->flags;
  record->message_id = g_strdup (message->message_id);
  record->size = message->size;
  record->far_hint = to == FAR ? fs->status[FAR].next_uid : 0;
  copy->record = record;
  return TRUE;
}

static void
abort_copies (FolderSync *fs, Side to, GArray *copies, guint from_index)
{
  for (guint i = from_index; i < copies->len; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);
      ferry_store_append_abort (fs->stores[to], g_steal_pointer (&copy->append));
    }
}

static gboolean
record_pending (FolderSync *fs, GArray *copies, GError **error)
{
  FerrySyncState *state = fs->state;

  if (!ferry_sync_state_begin (state, error))
    return FALSE;
  for (guint i = 0; i < copies->len; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);
      if (!ferry_sync_state_add_record (state, fs->folder->id, copy->record, error))
        {
          ferry_sync_state_rollback (state);
          return FALSE;
        }
    }
  return ferry_sync_state_commit (fs->state, error);
}

/* Pending records become pairs; the records are handed to the folder's
 * list, so that the folder sync goes on with them. */
static gboolean
record_copied (FolderSync *fs, Side to, GArray *copies, guint landed, GError **error)
{
  FerrySyncState *state = fs->state;

  if (!ferry_sync_state_begin (state, error))
    return FALSE;
  for (guint i = 0; i < landed; i++)
    {
      FerrySyncRecord *record = g_array_index (copies, Copy, i).record;

      /* Without the new id (an IMAP server without UIDPLUS) the record
       * stays pending, and the next listing finds the message. */
      if (*record_id (record, to) != NULL)
        record->state = FERRY_SYNC_RECORD_PAIRED;
      if (!ferry_sync_state_update_record (state, record, error))
        {
          ferry_sync_state_rollback (state);
          return FALSE;
        }
    }
  if (!ferry_sync_state_commit (fs->state, error))
    return FALSE;
  for (guint i = 0; i < copies->len; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);
      const char *id = *record_id (copy->record, to);

      /* The rest of the folder's sync sees the copies where they landed. */
      if (i < landed && id != NULL)
        {
          FerryStoreMessage *message
              = ferry_store_message_new (id, copy->source->flags, copy->source->size);
          g_ptr_array_add (fs->lists[to], message);
          g_hash_table_insert (fs->messages[to], message->id, message);
        }
      g_ptr_array_add (fs->records, g_steal_pointer (&copy->record));
    }
  index_records (fs);
  return TRUE;
}

static gboolean
land_copies (FolderSync *fs, Side to, GArray *copies, GError **error)
{
  FerryStore *target = fs->stores[to];
  GError *landing_error = NULL;
  guint landed = 0;

  if (!record_pending (fs, copies, error))
    {
      abort_copies (fs, to, copies, 0);
      return FALSE;
    }
  for (; landed < copies->len; landed++)
    {
      Copy *copy = &g_array_index (copies, Copy, landed);
      g_autofree char *id = NULL;

      if (!ferry_store_append_commit (target, g_steal_pointer (&copy->append), &id, &landing_error))
        break;
      if (id != NULL)
        {
          g_free (*record_id (copy->record, to));
          *record_id (copy->record, to) = g_steal_pointer (&id);
        }
    }
  abort_copies (fs, to, copies, landed + (landing_error != NULL ? 1 : 0));
  if (landed > 0
      && (!ferry_store_flush (target, landing_error == NULL ? &landing_error : NULL)
          || !record_copied (fs, to, copies, landed,
                             landing_error == NULL ? &landing_error : NULL)))
    landed = 0;
  if (to == FAR)
    fs->stats.uploaded += landed;
  else
    fs->stats.fetched += landed;
  if (landing_error != NULL)
    {
      g_propagate_error (error, landing_error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
wants_copy (FolderSync *fs, Side from, FerryStoreMessage *message)
{
  guint64 max_size = fs->engine->policy.max_size;

  /* A message marked deleted before it was ever synced stays where it is. */
  if (is_paired (fs, message, from) || (message->flags & FERRY_MAIL_FLAG_DELETED))
    return FALSE;
  if (max_size > 0 && message->size > max_size)
    {
      report (fs->engine, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
              _ ("Message %s (%" G_GUINT64_FORMAT " bytes) %s is larger than max-size and is "
                 "not copied"),
              message->id, message->size, from == FAR ? _ ("on the server") : _ ("here"));
      fs->stats.skipped++;
      return FALSE;
    }
  return TRUE;
}

static gboolean
copy_new_messages (FolderSync *fs, Side from, GError **error)
{
  Side to = OTHER (from);
  g_autoptr (GPtrArray) wanted = g_ptr_array_new ();
  g_autoptr (GArray) batch = g_array_new (FALSE, TRUE, sizeof (Copy));
  guint64 batch_bytes = 0;

  g_array_set_clear_func (batch, (GDestroyNotify) copy_clear);
  for (guint i = 0; i < fs->lists[from]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[from], i);
      if (wants_copy (fs, from, message))
        g_ptr_array_add (wanted, message);
    }
  if (wanted->len == 0)
    return TRUE;
  if (fs->engine->policy.dry_run)
    {
      report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
              to == NEAR ? _ ("would fetch %u new messages") : _ ("would upload %u new messages"),
              wanted->len);
      if (to == NEAR)
        fs->stats.fetched += wanted->len;
      else
        fs->stats.uploaded += wanted->len;
      return TRUE;
    }
  /* A copy to a side that cannot name it in advance is found again by
   * its Message-ID after a crash. */
  if (!ferry_store_fetch_message_ids (fs->stores[from], wanted, error))
    return FALSE;

  for (guint i = 0; i < wanted->len; i++)
    {
      Copy copy = { NULL, NULL, NULL };
      FerryStoreMessage *message = g_ptr_array_index (wanted, i);

      if (!start_copy (fs, from, message, &copy, error))
        {
          abort_copies (fs, to, batch, 0);
          return FALSE;
        }
      g_array_append_val (batch, copy);
      batch_bytes += message->size;
      if (batch->len >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES || i + 1 == wanted->len)
        {
          if (!land_copies (fs, to, batch, error))
            return FALSE;
          g_array_set_size (batch, 0);
          batch_bytes = 0;
          report_progress (fs, i + 1, wanted->len);
        }
    }
  return TRUE;
}

/* ---- expunge ------------------------------------------------------------- */

/* Takes the deleted mark off the messages now in the trash folder, which
 * would otherwise be expunged from there too. */
static gboolean
unmark_in_trash (FolderSync *fs, GPtrArray *moved, GError **error)
{
  FerryStore *far = fs->stores[FAR];
  FerryStoreFolderStatus status;

  if (moved->len == 0)
    return TRUE;
  if (!ferry_store_select_folder (far, fs->engine->trash_far_name, &status, error))
    return FALSE;
  for (guint i = 0; i < moved->len; i += 2)
    {
      const char *id = g_ptr_array_index (moved, i);
      FerryStoreMessage *message = g_ptr_array_index (moved, i + 1);

      if (id != NULL
          && !ferry_store_set_flags (far, id, message->flags,
                                     message->flags & ~FERRY_MAIL_FLAG_DELETED, error))
        return FALSE;
    }
  return ferry_store_select_folder (far, fs->names[FAR], &status, error);
}

/* In the trash folder itself, a message marked deleted that was never
 * synced is one Ferry moved there and was stopped before it took the mark
 * off: take it off now, so that it is kept as it would have been. */
static gboolean
unmark_arrivals (FolderSync *fs, GError **error)
{
  const char *trash = fs->engine->trash_far_name;

  if (trash == NULL || !g_str_equal (fs->names[FAR], trash) || fs->engine->policy.dry_run)
    return TRUE;
  for (guint i = 0; i < fs->lists[FAR]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[FAR], i);

      if ((message->flags & FERRY_MAIL_FLAG_DELETED) && !is_paired (fs, message, FAR))
        {
          if (!ferry_store_set_flags (fs->stores[FAR], message->id, message->flags,
                                      message->flags & ~FERRY_MAIL_FLAG_DELETED, error))
            return FALSE;
          message->flags &= ~FERRY_MAIL_FLAG_DELETED;
        }
    }
  return TRUE;
}

/* Moves (or copies) to the trash folder what is about to be expunged on
 * the server, as mbsync's Trash does, without the deleted mark. A message
 * moved there has left this folder already; one copied there is expunged
 * as usual. After a crash half-way, unmark_arrivals() finishes the job. */
static gboolean
keep_in_trash (FolderSync *fs, GPtrArray *ids, GHashTable *expunged, GError **error)
{
  FerryStore *far = fs->stores[FAR];
  const char *trash = fs->engine->trash_far_name;
  g_autoptr (GPtrArray) moved = g_ptr_array_new_with_free_func (NULL);
  g_autoptr (GPtrArray) new_ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ids->len;)
    {
      const char *id = g_ptr_array_index (ids, i);
      FerryStoreMessage *message = g_hash_table_lookup (fs->messages[FAR], id);
      g_autoptr (GError) local_error = NULL;
      char *new_id = NULL;

      if (ferry_store_move (far, id, trash, &new_id, &local_error))
        {
          g_ptr_array_add (new_ids, new_id);
          g_ptr_array_add (moved, new_id);
          g_ptr_array_add (moved, message);
          g_hash_table_add (expunged, (gpointer) id);
          g_ptr_array_remove_index (ids, i);
          continue;
        }
      if (!g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE))
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      if (!ferry_store_set_flags (far, id, message->flags,
                                  message->flags & ~FERRY_MAIL_FLAG_DELETED, error)
          || !ferry_store_copy (far, id, trash, error))
        return FALSE;
      i++;
    }
  return unmark_in_trash (fs, moved, error);
}

static gboolean
expunge_side (FolderSync *fs, Side side, GHashTable *expunged, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  const char *trash = fs->engine->trash_far_name;
  guint count;

  for (guint i = 0; i < fs->lists[side]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[side], i);
      if (message->flags & FERRY_MAIL_FLAG_DELETED)
        g_ptr_array_add (ids, message->id);
    }
  count = ids->len;
  if (count == 0)
    return TRUE;
  if (fs->engine->policy.dry_run)
    report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
            _ ("would remove %u messages marked deleted %s"), count,
            side == FAR ? _ ("on the server") : _ ("here"));
  else if ((side == FAR && trash != NULL && !g_str_equal (fs->names[FAR], trash)
            && !keep_in_trash (fs, ids, expunged, error))
           || !ferry_store_expunge (fs->stores[side], ids, error))
    return FALSE;
  fs->stats.deleted += count;
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (expunged, g_ptr_array_index (ids, i));
  return TRUE;
}

static RecordChange
settle_expunged (FolderSync *fs, FerrySyncRecord *record, GHashTable *expunged)
{
  gboolean present[2];

  for (int side = FAR; side <= NEAR; side++)
    {
      FerryStoreMessage *message = message_on (fs, record, side);
      present[side] = message != NULL && !g_hash_table_contains (expunged, message->id);
    }
  if (present[FAR] && present[NEAR])
    return KEEP;
  if (!present[FAR] && !present[NEAR])
    return FORGET;
  if (record->state != FERRY_SYNC_RECORD_PAIRED)
    return KEEP;
  for (int gone = FAR; gone <= NEAR; gone++)
    if (!present[gone])
      {
        if (*record_id (record, gone) != NULL)
          g_hash_table_remove (fs->record_by_id[gone], *record_id (record, gone));
        g_clear_pointer (record_id (record, gone), g_free);
        record->state = gone_state[gone];
      }
  return UPDATE;
}

static gboolean
expunge (FolderSync *fs, GError **error)
{
  g_autoptr (GHashTable) expunged = g_hash_table_new (g_str_hash, g_str_equal);
  FerrySyncState *state = fs->state;
  gboolean any = FALSE;

  for (int side = FAR; side <= NEAR; side++)
    if ((fs->engine->policy.expunge & policy_side[side])
        && !expunge_side (fs, side, expunged, error))
      return FALSE;
  if (g_hash_table_size (expunged) == 0 || fs->engine->policy.dry_run)
    return TRUE;

  if (!ferry_sync_state_begin (state, error))
    return FALSE;
  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
      RecordChange change = settle_expunged (fs, record, expunged);
      gboolean ok = TRUE;

      if (change == UPDATE)
        ok = ferry_sync_state_update_record (state, record, error);
      else if (change == FORGET)
        ok = ferry_sync_state_remove_record (state, record->row, error);
      if (!ok)
        {
          ferry_sync_state_rollback (state);
          return FALSE;
        }
      any |= change != KEEP;
    }
  if (!any)
    {
      ferry_sync_state_rollback (state);
      return TRUE;
    }
  return ferry_sync_state_commit (fs->state, error) && load_records (fs, error);
}

/* ---- one folder ---------------------------------------------------------- */

static gboolean
select_and_list (FolderSync *fs, GError **error)
{
  for (int side = FAR; side <= NEAR; side++)
    if (!ferry_store_select_folder (fs->stores[side], fs->names[side], &fs->status[side], error)
        || !list_side (fs, side, error))
      return FALSE;
  return TRUE;
}

static gboolean
save_folder_status (FolderSync *fs, GError **error)
{
  FerrySyncFolderRecord *folder = fs->folder;

  if (fs->engine->policy.dry_run
      || (folder->far_validity == fs->status[FAR].validity
          && folder->near_validity == fs->status[NEAR].validity))
    return TRUE;
  folder->far_validity = fs->status[FAR].validity;
  folder->near_validity = fs->status[NEAR].validity;
  if (!ferry_sync_state_begin (fs->state, error))
    return FALSE;
  if (!ferry_sync_state_update_folder (fs->state, folder, error))
    {
      ferry_sync_state_rollback (fs->state);
      return FALSE;
    }
  return ferry_sync_state_commit (fs->state, error);
}

static void
folder_sync_clear (FolderSync *fs)
{
  for (int side = FAR; side <= NEAR; side++)
    {
      g_clear_pointer (&fs->lists[side], g_ptr_array_unref);
      g_clear_pointer (&fs->messages[side], g_hash_table_unref);
      g_clear_pointer (&fs->record_by_id[side], g_hash_table_unref);
    }
  g_clear_pointer (&fs->records, g_ptr_array_unref);
}

static gboolean
sync_messages (FerrySyncEngine *self,
               Worker *worker,
               FerrySyncFolderRecord *folder,
               const char *far_name,
               FerrySyncStats *stats,
               GError **error)
{
  FolderSync fs = { self, worker->stores, worker->state, folder, { far_name, folder->name } };
  FerrySyncEvent done = { FERRY_SYNC_EVENT_FOLDER_DONE, folder->name, NULL, 0, 0, &fs.stats };
  gboolean ok;

  for (int side = FAR; side <= NEAR; side++)
    {
      fs.messages[side] = g_hash_table_new (g_str_hash, g_str_equal);
      fs.record_by_id[side] = g_hash_table_new (g_str_hash, g_str_equal);
    }
  report (self, FERRY_SYNC_EVENT_FOLDER_STARTED, folder->name, NULL);

  ok = select_and_list (&fs, error) && load_records (&fs, error) && check_validity (&fs, error)
       && settle_pending (&fs, error) && unmark_arrivals (&fs, error)
       && reconcile_records (&fs, error) && copy_new_messages (&fs, FAR, error)
       && copy_new_messages (&fs, NEAR, error) && expunge (&fs, error)
       && save_folder_status (&fs, error);

  stats->fetched += fs.stats.fetched;
  stats->uploaded += fs.stats.uploaded;
  stats->flag_changes += fs.stats.flag_changes;
  stats->deleted += fs.stats.deleted;
  stats->skipped += fs.stats.skipped;
  if (ok && self->report != NULL)
    self->report (&done, self->report_data);
  folder_sync_clear (&fs);
  return ok;
}

/* ---- the folder list ------------------------------------------------------ */

typedef struct
{
  char *name;
  char *far_name; /* NULL when the server has no such folder */
  gboolean near;  /* whether the Maildir side has it */
  FerrySyncFolderRecord *record;
  gboolean sync; /* decided by prepare_folder() */
} FolderPlan;

static void
folder_plan_free (FolderPlan *plan)
{
  g_free (plan->name);
  g_free (plan->far_name);
  g_free (plan);
}

static FolderPlan *
plan_for (GHashTable *plans, const char *name)
{
  FolderPlan *plan = g_hash_table_lookup (plans, name);

  if (plan == NULL)
    {
      plan = g_new0 (FolderPlan, 1);
      plan->name = g_strdup (name);
      g_hash_table_insert (plans, plan->name, plan);
    }
  return plan;
}

static gboolean
wanted (FerrySyncEngine *self, const char *name, const char *const *only)
{
  if (only != NULL && only[0] != NULL)
    return g_strv_contains (only, name)
           || (ferry_sync_folder_name_is_inbox (name) && g_strv_contains (only, "INBOX"));
  return ferry_sync_folder_map_selects (self->map, name);
}

static gboolean
add_far_folders (FerrySyncEngine *self,
                 GHashTable *plans,
                 const char *const *only,
                 char *delimiter,
                 GError **error)
{
  g_autoptr (GPtrArray) folders = ferry_store_list_folders (self->main.stores[FAR], error);

  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    {
      FerryStoreFolder *folder = g_ptr_array_index (folders, i);
      g_autoptr (GError) local_error = NULL;
      g_autofree char *name = NULL;
      FolderPlan *plan;

      if (folder->delimiter != '\0')
        *delimiter = folder->delimiter;
      if (folder->invalid_reason != NULL)
        {
          report (self, FERRY_SYNC_EVENT_NOTICE, NULL,
                  _ ("The server's folder “%s” is skipped: %s"), folder->name,
                  folder->invalid_reason);
          continue;
        }
      if (folder->flags & FERRY_STORE_FOLDER_NOSELECT)
        continue;
      name = ferry_sync_folder_map_from_far (self->map, folder->name, folder->delimiter,
                                             &local_error);
      if (name == NULL)
        {
          report (self, FERRY_SYNC_EVENT_NOTICE, NULL, "%s", local_error->message);
          continue;
        }
      if (!wanted (self, name, only))
        continue;
      plan = plan_for (plans, name);
      if (plan->far_name != NULL)
        {
          /* Never merge two folders into one. */
          report (self, FERRY_SYNC_EVENT_NOTICE, NULL,
                  _ ("The server's folders “%s” and “%s” would both be “%s” here; neither is "
                     "synced (give one another name with folder-map)"),
                  plan->far_name, folder->name, name);
          g_hash_table_remove (plans, name);
          plan_for (plans, name)->far_name = g_strdup ("");
          continue;
        }
      plan->far_name = g_strdup (folder->name);
    }
  return TRUE;
}

static gboolean
add_near_folders (FerrySyncEngine *self, GHashTable *plans, const char *const *only, GError **error)
{
  g_autoptr (GPtrArray) folders = ferry_store_list_folders (self->main.stores[NEAR], error);

  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    {
      FerryStoreFolder *folder = g_ptr_array_index (folders, i);
      if (!(folder->flags & FERRY_STORE_FOLDER_NOSELECT) && wanted (self, folder->name, only))
        plan_for (plans, folder->name)->near = TRUE;
    }
  return TRUE;
}

static gboolean
forget_folder (FerrySyncEngine *self, FolderPlan *plan, GError **error)
{
  if (plan->record == NULL || self->policy.dry_run)
    return TRUE;
  if (!ferry_sync_state_begin (self->main.state, error))
    return FALSE;
  if (!ferry_sync_state_remove_folder (self->main.state, plan->record->id, error))
    {
      ferry_sync_state_rollback (self->main.state);
      return FALSE;
    }
  plan->record = NULL;
  return ferry_sync_state_commit (self->main.state, error);
}

static gboolean
remember_folder (FerrySyncEngine *self, FolderPlan *plan, GPtrArray *records, GError **error)
{
  FerrySyncFolderRecord *record;

  if (plan->record != NULL)
    return TRUE;
  record = ferry_sync_folder_record_new (plan->name);
  g_ptr_array_add (records, record);
  plan->record = record;
  if (self->policy.dry_run)
    return TRUE;
  if (!ferry_sync_state_begin (self->main.state, error))
    return FALSE;
  if (!ferry_sync_state_add_folder (self->main.state, record, error))
    {
      ferry_sync_state_rollback (self->main.state);
      return FALSE;
    }
  return ferry_sync_state_commit (self->main.state, error);
}

static gboolean
side_is_empty (FerrySyncEngine *self, Side side, const char *name, GError **error)
{
  FerryStoreFolderStatus status;

  return ferry_store_select_folder (self->main.stores[side], name, &status, error)
         && status.messages == 0;
}

/* A folder that both sides had and one of them lost: delete it on the
 * other too when `remove` says so and it is empty. */
static gboolean
propagate_removal (
    FerrySyncEngine *self, FolderPlan *plan, Side lost, gboolean *removed, GError **error)
{
  Side kept = OTHER (lost);
  const char *kept_name = kept == FAR ? plan->far_name : plan->name;
  g_autoptr (GError) local_error = NULL;

  *removed = FALSE;
  if (!(self->policy.remove & policy_side[kept]) || ferry_sync_folder_name_is_inbox (plan->name))
    return TRUE;
  if (!side_is_empty (self, kept, kept_name, &local_error))
    {
      if (local_error != NULL)
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      report (self, FERRY_SYNC_EVENT_NOTICE, plan->name,
              _ ("Deleted %s but not %s, where it still holds messages; it is kept and synced "
                 "again"),
              lost == FAR ? _ ("on the server") : _ ("here"),
              kept == FAR ? _ ("on the server") : _ ("here"));
      return TRUE;
    }
  if (self->policy.dry_run)
    report (self, FERRY_SYNC_EVENT_PLAN, plan->name, _ ("would delete the folder %s"),
            kept == FAR ? _ ("on the server") : _ ("here"));
  else if (!ferry_store_delete_folder (self->main.stores[kept], kept_name, error))
    return FALSE;
  *removed = TRUE;
  return forget_folder (self, plan, error);
}

static gboolean
create_missing (
    FerrySyncEngine *self, FolderPlan *plan, Side missing, char delimiter, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (!(self->policy.create & policy_side[missing]))
    {
      report (self, FERRY_SYNC_EVENT_NOTICE, plan->name,
              missing == NEAR ? _ ("Only on the server; not created here (create = %s)")
                              : _ ("Only here; not created on the server (create = %s)"),
              self->policy.create == FERRY_SIDE_NONE ? "none"
              : missing == NEAR                      ? "remote"
                                                     : "local");
      return FALSE;
    }
  if (missing == FAR)
    {
      plan->far_name = ferry_sync_folder_map_to_far (
          self->map, plan->name, delimiter != '\0' ? delimiter : '/', &local_error);
      if (plan->far_name == NULL)
        {
          report (self, FERRY_SYNC_EVENT_NOTICE, plan->name, "%s", local_error->message);
          return FALSE;
        }
    }
  if (self->policy.dry_run)
    {
      report (self, FERRY_SYNC_EVENT_PLAN, plan->name, _ ("would create the folder %s"),
              missing == FAR ? _ ("on the server") : _ ("here"));
      return FALSE;
    }
  if (!ferry_store_create_folder (self->main.stores[missing],
                                  missing == FAR ? plan->far_name : plan->name, &local_error))
    {
      /* A name the local side refuses (one that would leave the Maildir
       * root, say) is data from the server: warn and go on. */
      if (g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_DATA))
        {
          report (self, FERRY_SYNC_EVENT_NOTICE, plan->name, "%s", local_error->message);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

/* Decides whether a folder is synced, creating or removing it on one
 * side as the policy says. */
static gboolean
prepare_folder (FerrySyncEngine *self,
                FolderPlan *plan,
                char delimiter,
                GPtrArray *records,
                gboolean *sync,
                GError **error)
{
  gboolean on[2] = { plan->far_name != NULL, plan->near };

  *sync = FALSE;
  if (on[FAR] && *plan->far_name == '\0')
    return TRUE;
  if (!on[FAR] && !on[NEAR])
    return forget_folder (self, plan, error);

  for (int lost = FAR; lost <= NEAR; lost++)
    {
      gboolean removed;

      if (on[lost])
        continue;
      if (plan->record != NULL)
        {
          if (!propagate_removal (self, plan, lost, &removed, error))
            return FALSE;
          if (removed)
            return TRUE;
          /* It comes back whole: what was recorded for it means nothing now. */
          if (!forget_folder (self, plan, error))
            return FALSE;
        }
      if (!create_missing (self, plan, lost, delimiter, error))
        return error == NULL || *error == NULL;
    }
  *sync = TRUE;
  return remember_folder (self, plan, records, error);
}

static int
compare_plans (gconstpointer a, gconstpointer b)
{
  const FolderPlan *pa = *(FolderPlan *const *) a;
  const FolderPlan *pb = *(FolderPlan *const *) b;
  gboolean inbox_a = ferry_sync_folder_name_is_inbox (pa->name);
  gboolean inbox_b = ferry_sync_folder_name_is_inbox (pb->name);

  if (inbox_a != inbox_b)
    return inbox_a ? -1 : 1;
  return strcmp (pa->name, pb->name);
}

static GPtrArray *
plan_folders (FerrySyncEngine *self,
              const char *const *only,
              GPtrArray *records,
              char *delimiter,
              GError **error)
{
  g_autoptr (GHashTable) plans
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) folder_plan_free);
  GPtrArray *ordered;
  GHashTableIter iter;
  gpointer value;

  if (!add_far_folders (self, plans, only, delimiter, error)
      || !add_near_folders (self, plans, only, error))
    return NULL;
  for (guint i = 0; i < records->len; i++)
    {
      FerrySyncFolderRecord *record = g_ptr_array_index (records, i);
      if (wanted (self, record->name, only))
        plan_for (plans, record->name)->record = record;
    }

  ordered = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_plan_free);
  g_hash_table_iter_init (&iter, plans);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_ptr_array_add (ordered, value);
      g_hash_table_iter_steal (&iter);
    }
  g_ptr_array_sort (ordered, compare_plans);
  return ordered;
}

static void
note_failure (FerrySyncEngine *self,
              const char *folder,
              FerrySyncStats *stats,
              GError **first_error,
              GError **error)
{
  stats->failed_folders++;
  report (self, FERRY_SYNC_EVENT_FAILURE, folder, "%s", (*error)->message);
  if (*first_error == NULL)
    *first_error = g_steal_pointer (error);
}

/* Before any folder is synced, so that a move is not taken for a deletion
 * in one folder and a new message in another. */
static void
carry_moves (FerrySyncEngine *self, GPtrArray *plans, FerrySyncStats *stats, GError **first_error)
{
  g_autoptr (GArray) folders = g_array_new (FALSE, FALSE, sizeof (FerrySyncMoveFolder));
  g_autoptr (GPtrArray) pointers = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  guint moved = 0;

  for (guint i = 0; i < plans->len; i++)
    {
      FolderPlan *plan = g_ptr_array_index (plans, i);
      FerrySyncMoveFolder folder
          = { plan->name, plan->far_name, plan->record != NULL ? plan->record->id : 0 };

      if (plan->sync && plan->record != NULL && plan->record->id > 0)
        g_array_append_val (folders, folder);
    }
  for (guint i = 0; i < folders->len; i++)
    g_ptr_array_add (pointers, &g_array_index (folders, FerrySyncMoveFolder, i));

  if (!ferry_sync_moves_carry (self->main.stores[FAR], self->main.stores[NEAR], self->main.state,
                               pointers, self->policy.dry_run, &moved, &error))
    note_failure (self, NULL, stats, first_error, &error);
  else if (moved > 0)
    report (self, self->policy.dry_run ? FERRY_SYNC_EVENT_PLAN : FERRY_SYNC_EVENT_NOTICE, NULL,
            self->policy.dry_run ? _ ("would move %u messages on the server as they were moved "
                                      "here")
                                 : _ ("%u messages moved on the server as they were moved here"),
            moved);
  stats->moved += moved;
}

/* ---- folders in parallel -------------------------------------------------- */

typedef struct
{
  FerrySyncEngine *engine;
  GPtrArray *todo; /* FolderPlan, to sync */
  gint next;       /* index in todo of the next folder to take */
  GMutex lock;     /* over stats and first_error */
  FerrySyncStats *stats;
  GError **first_error;
} Parallel;

typedef struct
{
  Parallel *parallel;
  Worker worker;
} WorkerThread;

static void
sync_one (Parallel *parallel, Worker *worker, FolderPlan *plan)
{
  FerrySyncEngine *self = parallel->engine;
  g_autoptr (GError) error = NULL;
  FerrySyncStats stats = { 0 };

  sync_messages (self, worker, plan->record, plan->far_name, &stats, &error);
  g_mutex_lock (&parallel->lock);
  parallel->stats->folders++;
  parallel->stats->fetched += stats.fetched;
  parallel->stats->uploaded += stats.uploaded;
  parallel->stats->flag_changes += stats.flag_changes;
  parallel->stats->deleted += stats.deleted;
  parallel->stats->skipped += stats.skipped;
  if (error != NULL)
    note_failure (self, plan->name, parallel->stats, parallel->first_error, &error);
  g_mutex_unlock (&parallel->lock);
}

/* Each connection takes the next folder nobody has taken: it keeps to its
 * own folders, so the server never sees two connections in one folder. */
static gpointer
worker_thread (gpointer data)
{
  WorkerThread *thread = data;
  Parallel *parallel = thread->parallel;
  guint index;

  while ((index = (guint) g_atomic_int_add (&parallel->next, 1)) < parallel->todo->len)
    sync_one (parallel, &thread->worker, g_ptr_array_index (parallel->todo, index));
  return NULL;
}

static void
worker_clear (Worker *worker)
{
  g_clear_pointer (&worker->stores[FAR], ferry_store_unref);
  g_clear_pointer (&worker->stores[NEAR], ferry_store_unref);
  g_clear_pointer (&worker->state, ferry_sync_state_unref);
}

/* Opens up to @wanted more connections; fewer when the server refuses
 * more (a per-user connection limit), which only makes the sync slower. */
static GArray *
open_workers (FerrySyncEngine *self, guint wanted, Parallel *parallel)
{
  GArray *threads = g_array_new (FALSE, TRUE, sizeof (WorkerThread));

  for (guint i = 0; i < wanted && self->make_worker != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      WorkerThread thread = { parallel };

      if (!self->make_worker (&thread.worker.stores[FAR], &thread.worker.stores[NEAR],
                              &thread.worker.state, self->make_worker_data, &error))
        {
          report (self, FERRY_SYNC_EVENT_NOTICE, NULL,
                  _ ("Syncing with %u connections instead of %u: %s"), i + 1, wanted + 1,
                  error->message);
          break;
        }
      g_array_append_val (threads, thread);
    }
  return threads;
}

static void
sync_folders (FerrySyncEngine *self, GPtrArray *plans, FerrySyncStats *stats, GError **first_error)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  g_autoptr (GArray) threads = NULL;
  g_autoptr (GPtrArray) running = g_ptr_array_new ();
  Parallel parallel = { self, todo, 0, { 0 }, stats, first_error };

  for (guint i = 0; i < plans->len; i++)
    if (((FolderPlan *) g_ptr_array_index (plans, i))->sync)
      g_ptr_array_add (todo, g_ptr_array_index (plans, i));

  g_mutex_init (&parallel.lock);
  threads = open_workers (self, MIN (self->max_workers, todo->len) - MIN (1, todo->len), &parallel);
  for (guint i = 0; i < threads->len; i++)
    g_ptr_array_add (running, g_thread_new ("ferry-sync", worker_thread,
                                            &g_array_index (threads, WorkerThread, i)));
  worker_thread (&(WorkerThread){ &parallel, self->main });
  for (guint i = 0; i < running->len; i++)
    g_thread_join (g_ptr_array_index (running, i));
  for (guint i = 0; i < threads->len; i++)
    worker_clear (&g_array_index (threads, WorkerThread, i).worker);
  g_mutex_clear (&parallel.lock);
}

/**
 * ferry_sync_engine_set_worker_func:
 * @self: a #FerrySyncEngine
 * @func: (nullable): makes one more connection to each side and one more
 *   handle on the state, for a thread of its own
 * @user_data: for @func
 * @max_workers: how many connections the engine may use at once, its
 *   own included
 *
 * With this, folders are synced side by side, each by one connection.
 * The report function is then called from several threads.
 */
void
ferry_sync_engine_set_worker_func (FerrySyncEngine *self,
                                   FerrySyncWorkerFunc func,
                                   gpointer user_data,
                                   guint max_workers)
{
  g_return_if_fail (self != NULL);

  self->make_worker = func;
  self->make_worker_data = user_data;
  self->max_workers = MAX (max_workers, 1);
}

/* The trash folder is made on the server if it is not there yet. */
static gboolean
prepare_trash (FerrySyncEngine *self, char delimiter, GError **error)
{
  g_autoptr (GPtrArray) folders = NULL;

  g_clear_pointer (&self->trash_far_name, g_free);
  self->trash_far_name = ferry_sync_folder_map_to_far (self->map, self->trash,
                                                       delimiter != '\0' ? delimiter : '/', error);
  if (self->trash_far_name == NULL)
    return FALSE;
  folders = ferry_store_list_folders (self->main.stores[FAR], error);
  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    if (g_str_equal (((FerryStoreFolder *) g_ptr_array_index (folders, i))->name,
                     self->trash_far_name))
      return TRUE;
  if (self->policy.dry_run)
    {
      report (self, FERRY_SYNC_EVENT_PLAN, self->trash,
              _ ("would create the folder on the server"));
      return TRUE;
    }
  return ferry_store_create_folder (self->main.stores[FAR], self->trash_far_name, error);
}

/**
 * ferry_sync_engine_run:
 * @self: a #FerrySyncEngine
 * @only: (nullable) (array zero-terminated=1): Ferry names of the folders
 *   to sync; %NULL for all that the `folders` patterns choose
 * @stats: (out caller-allocates): what was done
 * @error: return location for a #GError
 *
 * Syncs every chosen folder. A folder that fails is reported and the
 * others are still synced; the run then fails with the first error.
 *
 * Returns: whether every folder was synced.
 */
gboolean
ferry_sync_engine_run (FerrySyncEngine *self,
                       const char *const *only,
                       FerrySyncStats *stats,
                       GError **error)
{
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) plans = NULL;
  g_autoptr (GError) first_error = NULL;
  char delimiter = '\0';

  g_return_val_if_fail (self != NULL && stats != NULL, FALSE);

  *stats = (FerrySyncStats){ 0 };
  records = ferry_sync_state_list_folders (self->main.state, error);
  if (records == NULL)
    return FALSE;
  plans = plan_folders (self, only, records, &delimiter, error);
  if (plans == NULL || (self->trash != NULL && !prepare_trash (self, delimiter, error)))
    return FALSE;

  for (guint i = 0; i < plans->len; i++)
    {
      FolderPlan *plan = g_ptr_array_index (plans, i);
      g_autoptr (GError) local_error = NULL;

      if (!prepare_folder (self, plan, delimiter, records, &plan->sync, &local_error))
        note_failure (self, plan->name, stats, &first_error, &local_error);
    }
  carry_moves (self, plans, stats, &first_error);
  sync_folders (self, plans, stats, &first_error);

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  return TRUE;
}
