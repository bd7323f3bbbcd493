/* sync-moves.c: messages a mail reader moved from one folder to another
 *
 * mu, notmuch's afew and mutt users' scripts move a Maildir file to
 * another folder and keep its name. Seen folder by folder, that is a
 * deletion in one folder and a new message in the other, which would
 * upload the message again and expunge the old copy. Seen across the
 * account, it is a move, and the server can do the same (IMAP MOVE).
 *
 * A crash at any point leaves a state the folder sync finishes: the move
 * is recorded first as a copy pending in the new folder, found there by
 * its Message-ID once the server moved it; if the server never did, the
 * pending record is dropped and the message is uploaded as new, which is
 * what would have happened without this module.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "core/errors.h"
#include "sync/sync-moves.h"

typedef struct
{
  const FerrySyncMoveFolder *folder;
  FerrySyncRecord *record; /* in the folder's records */
} Lost;

typedef struct
{
  const FerrySyncMoveFolder *from;
  const FerrySyncMoveFolder *to;
  FerrySyncRecord *record;
} Move;

typedef struct
{
  GPtrArray *records; /* every folder's, owned here */
  GHashTable *lost;   /* near id -> Lost */
  GArray *moves;      /* Move */
} Survey;

static gboolean
survey_folder (FerryStore *near,
               FerrySyncState *state,
               const FerrySyncMoveFolder *folder,
               Survey *survey,
               GPtrArray *arrivals,
               GError **error)
{
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) recorded = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *records;
  FerryStoreFolderStatus status;

  if (!ferry_store_select_folder (near, folder->name, &status, error))
    return FALSE;
  messages = ferry_store_list_messages (near, error);
  records
      = messages != NULL ? ferry_sync_state_list_records (state, folder->folder_id, error) : NULL;
  if (records == NULL)
    return FALSE;
  g_ptr_array_add (survey->records, records);

  for (guint i = 0; i < messages->len; i++)
    g_hash_table_add (present, ((FerryStoreMessage *) g_ptr_array_index (messages, i))->id);
  for (guint i = 0; i < records->len; i++)
    {
      FerrySyncRecord *record = g_ptr_array_index (records, i);

      if (record->near_id == NULL)
        continue;
      g_hash_table_add (recorded, record->near_id);
      /* Only a pair whose Message-ID is known can be found again. */
      if (record->state == FERRY_SYNC_RECORD_PAIRED && record->far_id != NULL
          && record->message_id != NULL && !g_hash_table_contains (present, record->near_id))
        {
          Lost *lost = g_new (Lost, 1);
          *lost = (Lost){ folder, record };
          g_hash_table_insert (survey->lost, record->near_id, lost);
        }
    }
  for (guint i = 0; i < messages->len; i++)
    {
      FerryStoreMessage *message = g_ptr_array_index (messages, i);
      if (!g_hash_table_contains (recorded, message->id))
        g_ptr_array_add (arrivals, g_strdup (message->id));
    }
  return TRUE;
}

static gboolean
survey (FerryStore *near, FerrySyncState *state, GPtrArray *folders, Survey *survey, GError **error)
{
  g_autoptr (GPtrArray) arrivals = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) arrival_folder = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint f = 0; f < folders->len; f++)
    {
      guint before = arrivals->len;

      if (!survey_folder (near, state, g_ptr_array_index (folders, f), survey, arrivals, error))
        return FALSE;
      for (guint i = before; i < arrivals->len; i++)
        g_array_append_val (arrival_folder, f);
    }

  for (guint i = 0; i < arrivals->len; i++)
    {
      const FerrySyncMoveFolder *to
          = g_ptr_array_index (folders, g_array_index (arrival_folder, guint, i));
      Lost *lost = g_hash_table_lookup (survey->lost, g_ptr_array_index (arrivals, i));
      Move move;

      if (lost == NULL || lost->folder == to)
        continue;
      move = (Move){ lost->folder, to, lost->record };
      g_array_append_val (survey->moves, move);
      g_hash_table_remove (survey->lost, g_ptr_array_index (arrivals, i));
    }
  return TRUE;
}

static gboolean
record_arrival (FerrySyncState *state, const Move *move, FerrySyncRecord *arrival, GError **error)
{
  arrival->near_id = g_strdup (move->record->near_id);
  arrival->flags = move->record->flags;
  arrival->state = FERRY_SYNC_RECORD_FAR_PENDING;
  arrival->message_id = g_strdup (move->record->message_id);
  arrival->size = move->record->size;
  if (!ferry_sync_state_begin (state, error))
    return FALSE;
  if (!ferry_sync_state_add_record (state, move->to->folder_id, arrival, error))
    {
      ferry_sync_state_rollback (state);
      return FALSE;
    }
  return ferry_sync_state_commit (state, error);
}

static gboolean
record_moved (FerrySyncState *state,
              const Move *move,
              FerrySyncRecord *arrival,
              const char *new_id,
              GError **error)
{
  if (!ferry_sync_state_begin_record (state, error))
    return FALSE;
  if (!ferry_sync_state_remove_record (state, move->record->row, error))
    goto failed;
  if (new_id != NULL)
    {
      arrival->far_id = g_strdup (new_id);
      arrival->state = FERRY_SYNC_RECORD_PAIRED;
      if (!ferry_sync_state_update_record (state, arrival, error))
        goto failed;
    }
  return ferry_sync_state_commit (state, error);

failed:
  ferry_sync_state_rollback (state);
  return FALSE;
}

/* Returns FALSE with no error set when the far store cannot move. */
static gboolean
carry_move (FerryStore *far, FerrySyncState *state, const Move *move, GError **error)
{
  g_autoptr (FerrySyncRecord) arrival = ferry_sync_record_new ();
  g_autoptr (GError) local_error = NULL;
  FerryStoreFolderStatus status;
  g_autofree char *new_id = NULL;

  if (!ferry_store_select_folder (far, move->from->far_name, &status, error)
      || !record_arrival (state, move, arrival, error))
    return FALSE;
  if (!ferry_store_move (far, move->record->far_id, move->to->far_name, &new_id, &local_error))
    {
      gboolean unavailable = g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);

      /* Back to what the folder sync does on its own: upload anew. */
      if (!unavailable)
        g_propagate_error (error, g_steal_pointer (&local_error));
      if (ferry_sync_state_begin_record (state, unavailable ? error : NULL)
          && ferry_sync_state_remove_record (state, arrival->row, unavailable ? error : NULL))
        ferry_sync_state_commit (state, unavailable ? error : NULL);
      else
        ferry_sync_state_rollback (state);
      return FALSE;
    }
  return record_moved (state, move, arrival, new_id, error);
}

static void
survey_clear (Survey *survey)
{
  g_hash_table_unref (survey->lost);
  g_array_unref (survey->moves);
  g_ptr_array_unref (survey->records);
}

/**
 * ferry_sync_moves_carry:
 * @far: the far store
 * @near: the near store, whose mail reader may have moved messages
 * @state: the sync state
 * @folders: (element-type FerrySyncMoveFolder): the folders being synced,
 *   each already on both sides and in @state
 * @dry_run: only count the moves
 * @moved: (out): how many messages were moved on the far side
 * @error: return location for a #GError
 *
 * Finds messages that left one near folder for another under the same
 * name, and moves them on the far side too, before the folders are synced.
 */
gboolean
ferry_sync_moves_carry (FerryStore *far,
                        FerryStore *near,
                        FerrySyncState *state,
                        GPtrArray *folders,
                        gboolean dry_run,
                        guint *moved,
                        GError **error)
{
  Survey s = {
    g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref),
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free),
    g_array_new (FALSE, FALSE, sizeof (Move)),
  };
  gboolean ok = TRUE;

  g_return_val_if_fail (far != NULL && near != NULL && state != NULL, FALSE);
  g_return_val_if_fail (folders != NULL && moved != NULL, FALSE);

  *moved = 0;
  if (folders->len > 1 && !survey (near, state, folders, &s, error))
    ok = FALSE;
  for (guint i = 0; ok && i < s.moves->len; i++)
    {
      g_autoptr (GError) local_error = NULL;

      if (!dry_run && !carry_move (far, state, &g_array_index (s.moves, Move, i), &local_error))
        {
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              ok = FALSE;
            }
          break;
        }
      (*moved)++;
    }
  survey_clear (&s);
  return ok;
}
