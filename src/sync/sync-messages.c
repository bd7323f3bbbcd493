/* sync-messages.c: two-way sync of one folder's messages
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

#include "core/errors.h"
#include "sync/sync-engine-private.h"

/* A batch is written to the target, then made durable, then recorded, all
 * at once: one directory fsync and two transactions per batch rather than
 * per message. */
#define BATCH_MESSAGES   64
#define BATCH_BYTES      (16 * 1024 * 1024)
#define MESSAGE_ID_AHEAD (16 * BATCH_MESSAGES)

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
  /* Records from this index on are of copies this sync made, which the
   * target side has but its listing does not show. */
  guint first_copy;
  GArray *flag_changes[2]; /* FerryStoreFlagChange, to make in one go */
  /* The far modseq up to which the far listing is complete: what the
   * next sync asks for changes since. */
  guint64 far_listed_modseq;
  guint32 far_listed_uidnext; /* the far UIDNEXT that goes with it */
  GHashTable *expunged;       /* ids removed for good, of both sides */
  FerrySyncStats stats;
} FolderSync;

/* One message on its way from one side to the other. */
typedef struct
{
  FerryStoreMessage *source;
  FerryStoreAppend *append;
  FerrySyncRecord *record;
} Copy;

static const FerrySyncRecordState pending_state[2]
    = { FERRY_SYNC_RECORD_FAR_PENDING, FERRY_SYNC_RECORD_NEAR_PENDING };
static const FerrySyncRecordState gone_state[2]
    = { FERRY_SYNC_RECORD_FAR_GONE, FERRY_SYNC_RECORD_NEAR_GONE };

static void
report_progress (FolderSync *fs, guint done, guint total)
{
  FerrySyncEvent event = { FERRY_SYNC_EVENT_PROGRESS, fs->folder->name, NULL, done, total, NULL };

  if (fs->engine->report != NULL)
    fs->engine->report (&event, fs->engine->report_data);
}

/* ---- the record of a folder ------------------------------------------ */

static char **
record_id (FerrySyncRecord *record, Side side)
{
  return side == FAR ? &record->far_id : &record->near_id;
}

static void
index_record (FolderSync *fs, FerrySyncRecord *record)
{
  for (int side = FAR; side <= NEAR; side++)
    if (*record_id (record, side) != NULL)
      g_hash_table_insert (fs->record_by_id[side], *record_id (record, side), record);
}

static void
index_records (FolderSync *fs)
{
  for (int side = FAR; side <= NEAR; side++)
    g_hash_table_remove_all (fs->record_by_id[side]);
  for (guint i = 0; i < fs->records->len; i++)
    index_record (fs, g_ptr_array_index (fs->records, i));
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

static void
index_list (FolderSync *fs, Side side, GPtrArray *list)
{
  g_clear_pointer (&fs->lists[side], g_ptr_array_unref);
  fs->lists[side] = list;
  g_hash_table_remove_all (fs->messages[side]);
  for (guint i = 0; i < list->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (list, i);
      g_hash_table_insert (fs->messages[side], message->id, message);
    }
}

static gboolean
list_side (FolderSync *fs, Side side, GError **error)
{
  GPtrArray *list = ferry_store_list_messages (fs->stores[side], error);

  if (list == NULL)
    return FALSE;
  index_list (fs, side, list);
  return TRUE;
}

/* What decides which messages stay uncopied (wants_copy()). A listing of
 * only what changed would never show such a message again, so when this
 * changes, the folder is looked at whole. */
static char *
copy_policy_stamp (FerrySyncEngine *engine)
{
  return g_strdup_printf ("max-size=%" G_GUINT64_FORMAT " expunge=%u", engine->policy.max_size,
                          (guint) engine->policy.expunge);
}

/* The far side as the records last saw it, with what changed since laid
 * over it: each recorded message's flags are those it had on the server
 * at the recorded modseq, or it changed after and is in @changed. */
static GPtrArray *
far_list_from_records (FolderSync *fs, GPtrArray *changed, GPtrArray *vanished)
{
  g_autoptr (GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) fresh = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);

  for (guint i = 0; i < vanished->len; i++)
    g_hash_table_add (gone, g_ptr_array_index (vanished, i));
  for (guint i = 0; i < changed->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (changed, i);
      g_hash_table_add (fresh, message->id);
    }
  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);

      if (record->far_id != NULL && !g_hash_table_contains (gone, record->far_id)
          && !g_hash_table_contains (fresh, record->far_id))
        g_ptr_array_add (list,
                         ferry_store_message_new (record->far_id, record->flags, record->size));
    }
  for (guint i = 0; i < changed->len; i++)
    g_ptr_array_add (list, g_steal_pointer (&g_ptr_array_index (changed, i)));
  return list;
}

/* Whether the far folder can say what changed since the recorded modseq,
 * which the records knew all of: a sync finished since, under the same
 * copy policy, in the same folder (UIDVALIDITY). */
static gboolean
far_changes_known (FolderSync *fs)
{
  FerrySyncFolderRecord *folder = fs->folder;
  g_autofree char *policy = copy_policy_stamp (fs->engine);

  return folder->far_modseq != 0 && folder->far_validity == fs->status[FAR].validity
         && fs->status[FAR].highest_modseq != 0 && g_strcmp0 (folder->copy_policy, policy) == 0;
}

/* Whether the records say all there is to know of the far folder up to
 * the recorded modseq: the far changes are known, and no copy was left
 * pending (whose message only a full listing finds). */
static gboolean
far_records_complete (FolderSync *fs)
{
  if (!far_changes_known (fs))
    return FALSE;
  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
      if (record->state == FERRY_SYNC_RECORD_FAR_PENDING
          || record->state == FERRY_SYNC_RECORD_NEAR_PENDING)
        return FALSE;
    }
  return TRUE;
}

/* What the far side says changed since the recorded modseq. A store that
 * cannot say is no failure: @told is then FALSE, and the caller lists the
 * folder instead. */
static gboolean
ask_far_changes (FolderSync *fs,
                 const char *const *known,
                 guint n_known,
                 GPtrArray **changed,
                 GPtrArray **vanished,
                 gboolean *told,
                 GError **error)
{
  GError *local_error = NULL;

  *told = ferry_store_list_changes (fs->stores[FAR], fs->folder->far_modseq, known, n_known,
                                    changed, vanished, &local_error);
  if (*told || g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE))
    {
      g_clear_error (&local_error);
      return TRUE;
    }
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Asks the server only what changed since the last sync (RFC 7162), or
 * nothing at all when its change stamp says nothing did. */
static gboolean
list_far_changes (FolderSync *fs, gboolean far_unchanged, gboolean *listed, GError **error)
{
  g_autoptr (GPtrArray) changed = NULL;
  g_autoptr (GPtrArray) vanished = NULL;
  g_autofree const char **known = g_new (const char *, fs->records->len + 1);
  guint n_known = 0;
  gboolean told;

  *listed = FALSE;
  if (!far_records_complete (fs))
    return TRUE;
  /* Unchanged since the stamp that the peek read, maybe a while before
   * the SELECT: complete only as far as the last sync knew. */
  if (far_unchanged)
    {
      fs->far_listed_modseq = fs->folder->far_modseq;
      fs->far_listed_uidnext = fs->folder->far_uidnext;
      changed = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);
      vanished = g_ptr_array_new ();
    }
  else
    {
      for (guint i = 0; i < fs->records->len; i++)
        {
          FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
          if (record->far_id != NULL)
            known[n_known++] = record->far_id;
        }
      if (!ask_far_changes (fs, known, n_known, &changed, &vanished, &told, error))
        return FALSE;
      if (!told)
        return TRUE;
    }
  index_list (fs, FAR, far_list_from_records (fs, changed, vanished));
  *listed = TRUE;
  return TRUE;
}

/* The near side as the records say the last sync left it, which its
 * stamp proves it still is. */
static GPtrArray *
near_list_from_records (FolderSync *fs)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_store_message_free);

  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);

      if (record->near_id != NULL)
        g_ptr_array_add (list, ferry_store_message_new (record->near_id, record->flags,
                                                        FERRY_STORE_SIZE_UNKNOWN));
    }
  return list;
}

/* A folder whose near side is as the last sync left it (its stamp) and
 * whose far side says what changed since, all of it (QRESYNC): only the
 * records of what changed on the far side are read, and the near side is
 * not listed at all. The rest of the sync sees the folder as just those
 * messages, which is all that it would change; a few changes in a large
 * folder cost what the changes cost. */
static gboolean
list_changes_only (FolderSync *fs, gboolean *listed, GError **error)
{
  g_autoptr (GPtrArray) changed = NULL;
  g_autoptr (GPtrArray) vanished = NULL;
  g_autoptr (GPtrArray) far_ids = g_ptr_array_new ();
  gboolean told;
  guint pending = 0;

  *listed = FALSE;
  if (!far_changes_known (fs))
    return TRUE;
  if (!ferry_sync_state_count_pending (fs->state, fs->folder->id, &pending, error))
    return FALSE;
  if (pending > 0)
    return TRUE;
  if (!ask_far_changes (fs, NULL, 0, &changed, &vanished, &told, error))
    return FALSE;
  if (!told)
    return TRUE;
  for (guint i = 0; i < changed->len; i++)
    g_ptr_array_add (far_ids, ((FerryStoreMessage *) g_ptr_array_index (changed, i))->id);
  g_ptr_array_extend (far_ids, vanished, NULL, NULL);
  fs->records = ferry_sync_state_find_records (
      fs->state, fs->folder->id, (const char *const *) far_ids->pdata, far_ids->len, error);
  if (fs->records == NULL
      || !ferry_store_select_folder_unlisted (fs->stores[NEAR], fs->names[NEAR], &fs->status[NEAR],
                                              error))
    return FALSE;
  g_debug ("%s: only what changed on the server is looked at: %u messages, %u gone",
           fs->folder->name, changed->len, vanished->len);
  index_records (fs);
  index_list (fs, FAR, g_steal_pointer (&changed));
  index_list (fs, NEAR, near_list_from_records (fs));
  *listed = TRUE;
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

  if (!ferry_sync_state_begin_record (fs->state, error))
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

  ferry_sync_engine_report (
      self, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
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
  if (!ferry_sync_state_begin_record (fs->state, error))
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
  ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
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
            ferry_sync_engine_report (
                fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
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

/* Queued, and made for the whole folder at once by apply_flag_changes();
 * the listing shows the new flags from now on. */
static void
set_flags (FolderSync *fs, Side side, FerryStoreMessage *message, FerryMailFlags flags)
{
  FerryStoreFlagChange change = { message->id, message->flags, flags };

  if (message->flags == flags)
    return;
  if (fs->engine->policy.dry_run)
    ferry_sync_engine_report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
                              _ ("would change the flags of message %s %s"), message->id,
                              side == FAR ? _ ("on the server") : _ ("here"));
  else
    g_array_append_val (fs->flag_changes[side], change);
  message->flags = flags;
  fs->stats.flag_changes++;
}

static gboolean
apply_flag_changes (FolderSync *fs, GError **error)
{
  for (int side = FAR; side <= NEAR; side++)
    {
      GArray *changes = fs->flag_changes[side];

      if (!ferry_store_set_flags_many (fs->stores[side], (FerryStoreFlagChange *) changes->data,
                                       changes->len, error))
        return FALSE;
      g_array_set_size (changes, 0);
    }
  return TRUE;
}

/* What to do with a record; the flag changes are queued here, and made and
 * recorded by the caller for the whole folder. */
typedef enum
{
  KEEP,
  REFLAG, /* only its flags changed */
  UPDATE,
  FORGET,
} RecordChange;

static RecordChange
reconcile_pair (FolderSync *fs, FerrySyncRecord *record)
{
  FerryStoreMessage *present[2] = { message_on (fs, record, FAR), message_on (fs, record, NEAR) };

  if (present[FAR] != NULL && present[NEAR] != NULL)
    {
      FerryMailFlags merged
          = merge_flags (record->flags, present[FAR]->flags, present[NEAR]->flags);

      set_flags (fs, FAR, present[FAR], merged);
      set_flags (fs, NEAR, present[NEAR], merged);
      if (merged == record->flags)
        return KEEP;
      record->flags = merged;
      return REFLAG;
    }

  for (int gone = FAR; gone <= NEAR; gone++)
    {
      FerryStoreMessage *kept = present[OTHER (gone)];

      if (present[gone] != NULL || kept == NULL)
        continue;
      /* Changed on one side, deleted on the other: the change wins and the
       * message is copied back as new, so nothing the user still cared
       * about is lost. Marked deleted is no such change: it agrees with
       * the deletion (and is what carrying it over leaves if a crash
       * stops it before it is recorded). */
      if ((kept->flags & ~FERRY_MAIL_FLAG_DELETED) != (record->flags & ~FERRY_MAIL_FLAG_DELETED))
        return FORGET;
      set_flags (fs, OTHER (gone), kept, kept->flags | FERRY_MAIL_FLAG_DELETED);
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
write_record_changes (
    FolderSync *fs, GPtrArray *reflagged, GPtrArray *updates, GPtrArray *forgotten, GError **error)
{
  FerrySyncState *state = fs->state;

  if (reflagged->len == 0 && updates->len == 0 && forgotten->len == 0)
    return TRUE;
  if (!ferry_sync_state_begin_record (state, error))
    return FALSE;
  for (guint i = 0; i < reflagged->len; i++)
    if (!ferry_sync_state_update_flags (state, g_ptr_array_index (reflagged, i), error))
      goto failed;
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

/* Every flag change of the folder is made first, in one go per side,
 * then every record change in one transaction: a crash between them
 * leaves changes the next run's merge finds already made. */
static gboolean
reconcile_records (FolderSync *fs, GError **error)
{
  /* Not g_ptr_array_copy(), which would free the records with the copy. */
  g_autoptr (GPtrArray) snapshot = g_ptr_array_sized_new (fs->records->len);
  g_autoptr (GPtrArray) reflagged = g_ptr_array_new ();
  g_autoptr (GPtrArray) updates = g_ptr_array_new ();
  g_autoptr (GPtrArray) forgotten = g_ptr_array_new ();

  g_ptr_array_extend (snapshot, fs->records, NULL, NULL);
  for (guint i = 0; i < snapshot->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (snapshot, i);
      RecordChange change = record->state == FERRY_SYNC_RECORD_PAIRED
                                ? reconcile_pair (fs, record)
                                : reconcile_orphan (fs, record);

      if (change == REFLAG)
        g_ptr_array_add (reflagged, record);
      else if (change == UPDATE)
        g_ptr_array_add (updates, record);
      else if (change == FORGET)
        g_ptr_array_add (forgotten, record);
    }
  if (fs->engine->policy.dry_run)
    return TRUE;
  return apply_flag_changes (fs, error)
         && write_record_changes (fs, reflagged, updates, forgotten, error);
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

  record = ferry_sync_record_new ();
  *record_id (record, from) = g_strdup (message->id);
  *record_id (record, to) = g_strdup (copy->append->provisional_id);
  record->state = pending_state[to];
  record->flags = message->flags;
  record->message_id = g_steal_pointer (&message->message_id);
  record->size = message->size;
  record->far_hint = to == FAR ? fs->status[FAR].next_uid : 0;
  copy->record = record;
  return TRUE;
}

/* The whole batch in one go: one round trip for 64 messages, not 64. */
static FerryStoreFetch *
begin_fetch (FolderSync *fs, Side from, GArray *copies)
{
  g_autofree const char **ids = g_new (const char *, copies->len);
  g_autofree int *fds = g_new (int, copies->len);

  for (guint i = 0; i < copies->len; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);
      ids[i] = copy->source->id;
      fds[i] = copy->append->fd;
    }
  return ferry_store_fetch_many_begin (fs->stores[from], ids, fds, copies->len);
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

/* Pending records become pairs. The rest of the folder's sync needs only
 * the pairs whose source is marked deleted, which expunge() may remove:
 * a first sync of a large folder holds neither the others nor a listing
 * entry for each copy. */
static gboolean
record_copied (FolderSync *fs, Side to, GArray *copies, guint landed, GError **error)
{
  FerrySyncState *state = fs->state;

  if (!ferry_sync_state_begin_record (state, error))
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
  for (guint i = 0; i < landed; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);

      if (copy->source->flags & FERRY_MAIL_FLAG_DELETED)
        {
          g_clear_pointer (&copy->record->message_id, g_free);
          g_ptr_array_add (fs->records, g_steal_pointer (&copy->record));
        }
    }
  return TRUE;
}

/* The whole batch in one go: the store makes the files durable together,
 * or pipelines the uploads. */
static gboolean
commit_copies (FolderSync *fs, Side to, GArray *copies, guint *landed, GError **error)
{
  g_autofree FerryStoreAppend **appends = g_new (FerryStoreAppend *, copies->len);
  g_autofree char **ids = g_new (char *, copies->len);
  gboolean ok;

  for (guint i = 0; i < copies->len; i++)
    appends[i] = g_steal_pointer (&g_array_index (copies, Copy, i).append);
  ok = ferry_store_append_commit_many (fs->stores[to], appends, copies->len, ids, landed, error);
  for (guint i = 0; i < copies->len; i++)
    {
      Copy *copy = &g_array_index (copies, Copy, i);

      copy->append = appends[i];
      if (ids[i] != NULL)
        {
          g_free (*record_id (copy->record, to));
          *record_id (copy->record, to) = ids[i];
        }
    }
  return ok;
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
  commit_copies (fs, to, copies, &landed, &landing_error);
  abort_copies (fs, to, copies, landed);
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
  /* A message marked deleted before it was ever synced is not copied to a
   * side that would expunge it at once, as mbsync does; elsewhere it
   * arrives marked deleted. */
  return !is_paired (fs, message, from)
         && !((message->flags & FERRY_MAIL_FLAG_DELETED)
              && (fs->engine->policy.expunge & policy_side[OTHER (from)]));
}

/* A message of unknown size went away since the listing: its copy finds
 * that out. */
static gboolean
is_within_max_size (FolderSync *fs, Side from, FerryStoreMessage *message)
{
  guint64 max_size = fs->engine->policy.max_size;

  if (max_size > 0 && message->size > max_size && message->size != FERRY_STORE_SIZE_UNKNOWN)
    {
      ferry_sync_engine_report (
          fs->engine, FERRY_SYNC_EVENT_NOTICE, fs->folder->name,
          _ ("Message %s (%" G_GUINT64_FORMAT " bytes) %s is larger than max-size and is "
             "not copied"),
          message->id, message->size, from == FAR ? _ ("on the server") : _ ("here"));
      fs->stats.skipped++;
      return FALSE;
    }
  return TRUE;
}

/* Where the batch of @wanted that starts at @start ends. */
static guint
batch_end (GPtrArray *wanted, guint start)
{
  guint64 bytes = 0;
  guint end = start;

  while (end < wanted->len && end - start < BATCH_MESSAGES && bytes < BATCH_BYTES)
    {
      FerryStoreMessage *message = g_ptr_array_index (wanted, end++);
      if (message->size != FERRY_STORE_SIZE_UNKNOWN)
        bytes += message->size;
    }
  return end;
}

/* A copy to a side that cannot name it in advance is found again by its
 * Message-ID after a crash, and a pair by it after a move. They are asked
 * for ahead of the copies, MESSAGE_ID_AHEAD at a time, so that a first
 * sync of a large folder does not hold them all at once. */
static gboolean
fetch_message_ids_ahead (
    FolderSync *fs, Side from, GPtrArray *wanted, guint start, guint *ahead, GError **error)
{
  g_autoptr (GPtrArray) next = NULL;

  if (start < *ahead)
    return TRUE;
  *ahead = MIN (wanted->len, start + MESSAGE_ID_AHEAD);
  next = g_ptr_array_sized_new (*ahead - start);
  for (guint i = start; i < *ahead; i++)
    g_ptr_array_add (next, g_ptr_array_index (wanted, i));
  return ferry_store_fetch_message_ids (fs->stores[from], next, error);
}

/* A batch of copies: asked for, then written, made durable and recorded
 * together. The next one is asked for before this one is received, so
 * that the server sends one after the other without waiting for a round
 * trip, and while this one is made durable. */
typedef struct
{
  GArray *copies; /* Copy */
  guint end;      /* where in the wanted messages the batch ends */
  FerryStoreFetch *fetch;
} Batch;

static void
batch_init (Batch *batch)
{
  batch->copies = g_array_new (FALSE, TRUE, sizeof (Copy));
  g_array_set_clear_func (batch->copies, (GDestroyNotify) copy_clear);
  batch->end = 0;
  batch->fetch = NULL;
}

/* Drops what the batch holds: its fetch, the copies not landed. */
static void
batch_clear (FolderSync *fs, Side to, Batch *batch)
{
  g_clear_pointer (&batch->fetch, ferry_store_fetch_free);
  abort_copies (fs, to, batch->copies, 0);
  g_array_set_size (batch->copies, 0);
}

static void
batch_free (FolderSync *fs, Side to, Batch *batch)
{
  batch_clear (fs, to, batch);
  g_array_unref (batch->copies);
}

/* Starts the copies of @wanted from @start, as one batch. */
static gboolean
prepare_batch (FolderSync *fs,
               Side from,
               GPtrArray *wanted,
               guint start,
               guint *ahead,
               Batch *batch,
               GError **error)
{
  if (!fetch_message_ids_ahead (fs, from, wanted, start, ahead, error))
    return FALSE;
  batch->end = MIN (batch_end (wanted, start), *ahead);
  for (guint i = start; i < batch->end; i++)
    {
      Copy copy = { NULL, NULL, NULL };

      if (!start_copy (fs, from, g_ptr_array_index (wanted, i), &copy, error))
        {
          batch_clear (fs, OTHER (from), batch);
          return FALSE;
        }
      g_array_append_val (batch->copies, copy);
    }
  return TRUE;
}

/* Copies @wanted, a batch at a time, each asked for while the one before
 * is on its way. */
static gboolean
copy_batches (FolderSync *fs, Side from, GPtrArray *wanted, GError **error)
{
  Side to = OTHER (from);
  Batch batches[2];
  Batch *this = &batches[0], *next = &batches[1];
  guint ahead = 0;
  gboolean ok;

  batch_init (this);
  batch_init (next);
  ok = prepare_batch (fs, from, wanted, 0, &ahead, this, error);
  while (ok && this->copies->len > 0)
    {
      Batch *landed = this;
      GError *next_error = NULL;

      /* A batch that cannot be begun does not keep this one from landing. */
      if (this->end < wanted->len)
        prepare_batch (fs, from, wanted, this->end, &ahead, next, &next_error);
      /* The first two are asked for together, the others each while the
       * one before is on its way. */
      if (this->fetch == NULL)
        this->fetch = begin_fetch (fs, from, this->copies);
      if (next->copies->len > 0)
        next->fetch = begin_fetch (fs, from, next->copies);
      ok = ferry_store_fetch_many_finish (fs->stores[from], g_steal_pointer (&this->fetch), error)
           && land_copies (fs, to, this->copies, error);
      if (next_error != NULL)
        {
          if (ok)
            g_propagate_error (error, next_error);
          else
            g_error_free (next_error);
          ok = FALSE;
        }
      if (!ok)
        break;
      g_array_set_size (this->copies, 0);
      report_progress (fs, this->end, wanted->len);
      this = next;
      next = landed;
    }
  batch_free (fs, to, this);
  batch_free (fs, to, next);
  return ok;
}

static gboolean
copy_new_messages_from (FolderSync *fs, Side from, GError **error)
{
  Side to = OTHER (from);
  g_autoptr (GPtrArray) candidates = g_ptr_array_new ();
  g_autoptr (GPtrArray) wanted = g_ptr_array_new ();

  for (guint i = 0; i < fs->lists[from]->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (fs->lists[from], i);
      if (wants_copy (fs, from, message))
        g_ptr_array_add (candidates, message);
    }
  if (!ferry_store_fetch_sizes (fs->stores[from], candidates, error))
    return FALSE;
  for (guint i = 0; i < candidates->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (candidates, i);
      if (is_within_max_size (fs, from, message))
        g_ptr_array_add (wanted, message);
    }
  if (wanted->len == 0)
    return TRUE;
  if (fs->engine->policy.dry_run)
    {
      ferry_sync_engine_report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
                                to == NEAR ? _ ("would fetch %u new messages")
                                           : _ ("would upload %u new messages"),
                                wanted->len);
      if (to == NEAR)
        fs->stats.fetched += wanted->len;
      else
        fs->stats.uploaded += wanted->len;
      return TRUE;
    }
  return copy_batches (fs, from, wanted, error);
}

static gboolean
copy_new_messages (FolderSync *fs, GError **error)
{
  fs->first_copy = fs->records->len;
  return copy_new_messages_from (fs, FAR, error) && copy_new_messages_from (fs, NEAR, error);
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
    ferry_sync_engine_report (fs->engine, FERRY_SYNC_EVENT_PLAN, fs->folder->name,
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
settle_expunged (FolderSync *fs, FerrySyncRecord *record, gboolean copied, GHashTable *expunged)
{
  gboolean present[2];

  for (int side = FAR; side <= NEAR; side++)
    {
      FerryStoreMessage *message = message_on (fs, record, side);
      if (message != NULL)
        present[side] = !g_hash_table_contains (expunged, message->id);
      else
        present[side] = copied && *record_id (record, side) != NULL;
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
  GHashTable *expunged = fs->expunged;
  FerrySyncState *state = fs->state;
  gboolean any = FALSE;

  for (int side = FAR; side <= NEAR; side++)
    if ((fs->engine->policy.expunge & policy_side[side])
        && !expunge_side (fs, side, expunged, error))
      return FALSE;
  if (g_hash_table_size (expunged) == 0 || fs->engine->policy.dry_run)
    return TRUE;

  if (!ferry_sync_state_begin_record (state, error))
    return FALSE;
  for (guint i = 0; i < fs->records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (fs->records, i);
      RecordChange change = settle_expunged (fs, record, i >= fs->first_copy, expunged);
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
  return ferry_sync_state_commit (fs->state, error);
}

/* ---- one folder ---------------------------------------------------------- */

/* The records are loaded first: they may stand in for most of the far
 * listing, and where the near side is unchanged, for all of the near one.
 * What changed on the far side is asked with its SELECT. */
static gboolean
select_and_list (FolderSync *fs, const gboolean *unchanged, GError **error)
{
  gboolean listed = FALSE;

  if (!unchanged[FAR] && fs->folder->far_modseq != 0
          ? !ferry_store_select_folder_for_changes (fs->stores[FAR], fs->names[FAR],
                                                    fs->folder->far_modseq, fs->folder->far_uidnext,
                                                    &fs->status[FAR], error)
          : !ferry_store_select_folder (fs->stores[FAR], fs->names[FAR], &fs->status[FAR], error))
    return FALSE;
  fs->far_listed_modseq = fs->status[FAR].highest_modseq;
  fs->far_listed_uidnext = fs->status[FAR].next_uid;
  if (unchanged[NEAR] && !list_changes_only (fs, &listed, error))
    return FALSE;
  if (listed)
    return TRUE;
  return ferry_store_select_folder (fs->stores[NEAR], fs->names[NEAR], &fs->status[NEAR], error)
         && load_records (fs, error) && list_far_changes (fs, unchanged[FAR], &listed, error)
         && (listed || list_side (fs, FAR, error)) && list_side (fs, NEAR, error);
}

/* The stamps read before the sync began are kept for a side where the
 * sync changed nothing: anything that changed there since is after them,
 * and shows next time. A side the sync changed gets no stamp, so its next
 * sync looks at it whole and records a fresh one. For the near side the
 * engine may prove one when the account is done (@outcome). */
static gboolean
save_folder_status (FolderSync *fs,
                    char **stamps,
                    const guint *changes_before,
                    FerrySyncFolderOutcome *outcome,
                    GError **error)
{
  FerrySyncFolderRecord *folder = fs->folder;
  g_autofree char *policy = copy_policy_stamp (fs->engine);
  gboolean same = folder->far_validity == fs->status[FAR].validity
                  && folder->near_validity == fs->status[NEAR].validity
                  && folder->far_modseq == fs->far_listed_modseq
                  && folder->far_uidnext == fs->far_listed_uidnext
                  && g_strcmp0 (folder->copy_policy, policy) == 0;
  char **recorded[2] = { &folder->far_stamp, &folder->near_stamp };

  if (fs->engine->policy.dry_run)
    return TRUE;
  for (int side = FAR; side <= NEAR; side++)
    if (ferry_store_get_change_count (fs->stores[side]) != changes_before[side])
      g_clear_pointer (&stamps[side], g_free);
  outcome->near_changed = stamps[NEAR] == NULL;
  outcome->messages = fs->status[FAR].messages;
  for (int side = FAR; side <= NEAR; side++)
    {
      if (g_strcmp0 (*recorded[side], stamps[side]) != 0)
        {
          g_free (*recorded[side]);
          *recorded[side] = g_steal_pointer (&stamps[side]);
          same = FALSE;
        }
    }
  if (same)
    return TRUE;
  folder->far_validity = fs->status[FAR].validity;
  folder->near_validity = fs->status[NEAR].validity;
  folder->far_modseq = fs->far_listed_modseq;
  folder->far_uidnext = fs->far_listed_uidnext;
  g_free (folder->copy_policy);
  folder->copy_policy = g_steal_pointer (&policy);
  if (!ferry_sync_state_begin_record (fs->state, error))
    return FALSE;
  if (!ferry_sync_state_update_folder (fs->state, folder, error))
    {
      ferry_sync_state_rollback (fs->state);
      return FALSE;
    }
  return ferry_sync_state_commit (fs->state, error);
}

void
ferry_sync_peek_clear (FerrySyncPeek *peek)
{
  g_clear_pointer (&peek->stamps[FAR], g_free);
  g_clear_pointer (&peek->stamps[NEAR], g_free);
}

/**
 * ferry_sync_messages_peek:
 * @self: the engine
 * @folder: the folder pair, already on both sides and in the state
 * @far_name: what the far side calls it
 * @peek: (out caller-allocates): what its sides show; clear it with
 *   ferry_sync_peek_clear()
 * @error: return location for a #GError
 *
 * Looks at both sides of a folder through the engine's own connections,
 * before any folder is synced, so that only changed folders are handed
 * to the connections that sync them. A folder whose two sides show the
 * stamps recorded at its last sync, with no copy a crash left unfinished,
 * has nothing to sync: it is not even selected (the no-change resync of
 * a large account is this).
 */
gboolean
ferry_sync_messages_peek (FerrySyncEngine *self,
                          FerrySyncFolderRecord *folder,
                          const char *far_name,
                          FerrySyncPeek *peek,
                          GError **error)
{
  const char *names[2] = { far_name, folder->name };
  const char *recorded[2] = { folder->far_stamp, folder->near_stamp };
  g_autofree char *policy = copy_policy_stamp (self);
  gboolean same_policy = g_strcmp0 (folder->copy_policy, policy) == 0;
  guint pending = 0;

  *peek = (FerrySyncPeek){ { NULL, NULL }, { FALSE, FALSE } };
  for (int side = FAR; side <= NEAR; side++)
    {
      if (!ferry_store_peek_folder (self->main.stores[side], names[side], &peek->stamps[side],
                                    error))
        goto failed;
      peek->unchanged[side] = same_policy && peek->stamps[side] != NULL
                              && g_strcmp0 (peek->stamps[side], recorded[side]) == 0;
    }
  if (!peek->unchanged[FAR] || !peek->unchanged[NEAR])
    return TRUE;
  if (!ferry_sync_state_count_pending (self->main.state, folder->id, &pending, error))
    goto failed;
  peek->unchanged[NEAR] = pending == 0;
  return TRUE;

failed:
  ferry_sync_peek_clear (peek);
  return FALSE;
}

/* The peek did not watch the folder: from here on the watch tells the
 * sync's own changes from anybody else's (ferry_store_stamp_folder()).
 * A change since the peek, which the watch did not see, makes the near
 * side changed. */
static gboolean
watch_near_side (FolderSync *fs, gboolean *near_unchanged, char **near_stamp, GError **error)
{
  g_autofree char *fresh = NULL;

  if (!ferry_store_watch_folder (fs->stores[NEAR], fs->names[NEAR], &fresh, error))
    return FALSE;
  if (g_strcmp0 (fresh, *near_stamp) != 0)
    {
      *near_unchanged = FALSE;
      g_free (*near_stamp);
      *near_stamp = g_steal_pointer (&fresh);
    }
  return TRUE;
}

static void
folder_sync_clear (FolderSync *fs)
{
  for (int side = FAR; side <= NEAR; side++)
    {
      g_clear_pointer (&fs->lists[side], g_ptr_array_unref);
      g_clear_pointer (&fs->messages[side], g_hash_table_unref);
      g_clear_pointer (&fs->record_by_id[side], g_hash_table_unref);
      g_clear_pointer (&fs->flag_changes[side], g_array_unref);
    }
  g_clear_pointer (&fs->records, g_ptr_array_unref);
  g_clear_pointer (&fs->expunged, g_hash_table_unref);
}

/**
 * ferry_sync_messages_run:
 * @self: the engine
 * @worker: the connections and state handle to use
 * @folder: the folder pair, already on both sides and in the state
 * @far_name: what the far side calls it
 * @peek: what ferry_sync_messages_peek() saw, a side at least changed;
 *   its stamps are taken
 * @stats: (inout): what was done is added here
 * @outcome: (out caller-allocates): whether the near side was left
 *   without a stamp, for ferry_store_stamp_folder(); untouched in a dry
 *   run
 * @error: return location for a #GError
 *
 * Syncs the messages of one folder, with @worker's connections.
 */
gboolean
ferry_sync_messages_run (FerrySyncEngine *self,
                         FerrySyncWorker *worker,
                         FerrySyncFolderRecord *folder,
                         const char *far_name,
                         FerrySyncPeek *peek,
                         FerrySyncStats *stats,
                         FerrySyncFolderOutcome *outcome,
                         GError **error)
{
  FolderSync fs = { self, worker->stores, worker->state, folder, { far_name, folder->name } };
  FerrySyncEvent done = { FERRY_SYNC_EVENT_FOLDER_DONE, folder->name, NULL, 0, 0, &fs.stats };
  char *stamps[2] = { g_steal_pointer (&peek->stamps[FAR]), g_steal_pointer (&peek->stamps[NEAR]) };
  /* What @worker's own connections change from here on voids a stamp. */
  guint changes_before[2] = { ferry_store_get_change_count (worker->stores[FAR]),
                              ferry_store_get_change_count (worker->stores[NEAR]) };
  gboolean ok;

  for (int side = FAR; side <= NEAR; side++)
    {
      fs.messages[side] = g_hash_table_new (g_str_hash, g_str_equal);
      fs.record_by_id[side] = g_hash_table_new (g_str_hash, g_str_equal);
      fs.flag_changes[side] = g_array_new (FALSE, FALSE, sizeof (FerryStoreFlagChange));
    }
  fs.expunged = g_hash_table_new (g_str_hash, g_str_equal);
  ferry_sync_engine_report (self, FERRY_SYNC_EVENT_FOLDER_STARTED, folder->name, NULL);

  ok = watch_near_side (&fs, &peek->unchanged[NEAR], &stamps[NEAR], error)
       && select_and_list (&fs, peek->unchanged, error) && check_validity (&fs, error)
       && settle_pending (&fs, error) && unmark_arrivals (&fs, error)
       && reconcile_records (&fs, error) && copy_new_messages (&fs, error) && expunge (&fs, error)
       && save_folder_status (&fs, stamps, changes_before, outcome, error);

  ferry_sync_stats_add (stats, &fs.stats);
  if (ok && self->report != NULL)
    self->report (&done, self->report_data);
  folder_sync_clear (&fs);
  g_free (stamps[FAR]);
  g_free (stamps[NEAR]);
  return ok;
}
