/* sync-engine.c: two-way sync of every chosen folder between two stores
 *
 * The engine takes an account's folders one by one: it decides which are
 * synced (the `folders` patterns, and `create` and `remove` for a folder
 * found on one side only), carries over messages moved between folders
 * (sync-moves.c), then syncs each folder's messages (sync-messages.c,
 * where the rules that keep every message safe are), several folders at
 * once with max-connections.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gi18n.h>

#include "core/errors.h"
#include "sync/sync-engine-private.h"
#include "sync/sync-moves.h"

/* A sync may wait up to a twentieth of its own time to prove the stamps
 * of the near folders it changed last. A folder left without a stamp is
 * read whole at its next sync: for a large one that costs more than
 * waiting out the margin of a Maildir whose file system keeps fine times
 * (50 ms, sync-store-maildir.c), which is always waited for. */
#define RESTAMP_PATIENCE      20
#define RESTAMP_LARGE_FOLDER  10000
#define RESTAMP_LARGE_WAIT_US (60 * 1000)

void
ferry_sync_engine_report (
    FerrySyncEngine *self, FerrySyncEventKind kind, const char *folder, const char *format, ...)
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

/**
 * ferry_sync_stats_add:
 * @total: (inout): counts to add to
 * @part: counts to add
 */
void
ferry_sync_stats_add (FerrySyncStats *total, const FerrySyncStats *part)
{
  g_return_if_fail (total != NULL && part != NULL);

  total->folders += part->folders;
  total->fetched += part->fetched;
  total->uploaded += part->uploaded;
  total->flag_changes += part->flag_changes;
  total->deleted += part->deleted;
  total->moved += part->moved;
  total->skipped += part->skipped;
  total->failed_folders += part->failed_folders;
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

/* ---- the folder list ------------------------------------------------------ */

typedef struct
{
  char *name;
  char *far_name; /* NULL when the server has no such folder */
  gboolean near;  /* whether the Maildir side has it */
  FerrySyncFolderRecord *record;
  gboolean sync; /* decided by prepare_folder() */
  FerrySyncPeek peek;
  FerrySyncFolderOutcome outcome;
} FolderPlan;

static void
folder_plan_free (FolderPlan *plan)
{
  ferry_sync_peek_clear (&plan->peek);
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
          ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, NULL,
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
          ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, NULL, "%s",
                                    local_error->message);
          continue;
        }
      if (!wanted (self, name, only))
        continue;
      plan = plan_for (plans, name);
      if (plan->far_name != NULL)
        {
          /* Never merge two folders into one. */
          ferry_sync_engine_report (
              self, FERRY_SYNC_EVENT_NOTICE, NULL,
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
      ferry_sync_engine_report (
          self, FERRY_SYNC_EVENT_NOTICE, plan->name,
          _ ("Deleted %s but not %s, where it still holds messages; it is kept and synced "
             "again"),
          lost == FAR ? _ ("on the server") : _ ("here"),
          kept == FAR ? _ ("on the server") : _ ("here"));
      return TRUE;
    }
  if (self->policy.dry_run)
    ferry_sync_engine_report (self, FERRY_SYNC_EVENT_PLAN, plan->name,
                              _ ("would delete the folder %s"),
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
      ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, plan->name,
                                missing == NEAR
                                    ? _ ("Only on the server; not created here (create = %s)")
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
          ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, plan->name, "%s",
                                    local_error->message);
          return FALSE;
        }
    }
  if (self->policy.dry_run)
    {
      ferry_sync_engine_report (self, FERRY_SYNC_EVENT_PLAN, plan->name,
                                _ ("would create the folder %s"),
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
          ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, plan->name, "%s",
                                    local_error->message);
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
  ferry_sync_engine_report (self, FERRY_SYNC_EVENT_FAILURE, folder, "%s", (*error)->message);
  if (*first_error == NULL)
    *first_error = g_steal_pointer (error);
}

/* A move changes both folders it touches; one whose local side shows the
 * stamp recorded at its last sync had nothing moved in or out. */
static gboolean
near_folder_changed (FerrySyncEngine *self, FolderPlan *plan)
{
  g_autofree char *stamp = NULL;

  return !ferry_store_peek_folder (self->main.stores[NEAR], plan->name, &stamp, NULL)
         || stamp == NULL || g_strcmp0 (stamp, plan->record->near_stamp) != 0;
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

      if (plan->sync && plan->record != NULL && plan->record->id > 0
          && near_folder_changed (self, plan))
        g_array_append_val (folders, folder);
    }
  for (guint i = 0; i < folders->len; i++)
    g_ptr_array_add (pointers, &g_array_index (folders, FerrySyncMoveFolder, i));

  if (!ferry_sync_moves_carry (self->main.stores[FAR], self->main.stores[NEAR], self->main.state,
                               pointers, self->policy.dry_run, &moved, &error))
    note_failure (self, NULL, stats, first_error, &error);
  else if (moved > 0)
    ferry_sync_engine_report (
        self, self->policy.dry_run ? FERRY_SYNC_EVENT_PLAN : FERRY_SYNC_EVENT_NOTICE, NULL,
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
  FerrySyncWorker worker;
} WorkerThread;

static void
sync_one (Parallel *parallel, FerrySyncWorker *worker, FolderPlan *plan)
{
  FerrySyncEngine *self = parallel->engine;
  g_autoptr (GError) error = NULL;
  FerrySyncStats stats = { 0 };

  ferry_sync_messages_run (self, worker, plan->record, plan->far_name, &plan->peek, &stats,
                           &plan->outcome, &error);
  g_mutex_lock (&parallel->lock);
  parallel->stats->folders++;
  ferry_sync_stats_add (parallel->stats, &stats);
  if (error != NULL)
    note_failure (self, plan->name, parallel->stats, parallel->first_error, &error);
  g_mutex_unlock (&parallel->lock);
}

/* A connection of its own, opened in its thread while the engine's own
 * already syncs: a server takes several milliseconds to let one in (a
 * login process, the password command), which the first folders need not
 * wait for. None is opened once every folder is taken. A server refusing
 * more connections (a per-user limit) only makes the sync slower. */
static gboolean
open_worker (WorkerThread *thread)
{
  Parallel *parallel = thread->parallel;
  FerrySyncEngine *self = parallel->engine;
  FerrySyncWorker *worker = &thread->worker;
  g_autoptr (GError) error = NULL;

  if ((guint) g_atomic_int_get (&parallel->next) >= parallel->todo->len)
    return FALSE;
  if (self->make_worker (&worker->stores[FAR], &worker->stores[NEAR], &worker->state,
                         self->make_worker_data, &error))
    return TRUE;
  ferry_sync_engine_report (self, FERRY_SYNC_EVENT_NOTICE, NULL,
                            _ ("The sync goes on with fewer connections: %s"), error->message);
  return FALSE;
}

/* Each connection takes the next folder nobody has taken: it keeps to its
 * own folders, so the server never sees two connections in one folder. */
static gpointer
worker_thread (gpointer data)
{
  WorkerThread *thread = data;
  Parallel *parallel = thread->parallel;
  guint index;

  if (thread->worker.state == NULL && !open_worker (thread))
    return NULL;
  while ((index = (guint) g_atomic_int_add (&parallel->next, 1)) < parallel->todo->len)
    sync_one (parallel, &thread->worker, g_ptr_array_index (parallel->todo, index));
  return NULL;
}

static void
worker_clear (FerrySyncWorker *worker)
{
  g_clear_pointer (&worker->stores[FAR], ferry_store_unref);
  g_clear_pointer (&worker->stores[NEAR], ferry_store_unref);
  g_clear_pointer (&worker->state, ferry_sync_state_unref);
}

/* Whether @plan's folder changed on either side since its last sync; an
 * unchanged one is done here, without a connection of its own. */
static gboolean
folder_changed (FerrySyncEngine *self,
                FolderPlan *plan,
                FerrySyncStats *stats,
                GError **first_error)
{
  g_autoptr (GError) error = NULL;
  FerrySyncStats none = { 0 };
  FerrySyncEvent done = { FERRY_SYNC_EVENT_FOLDER_DONE, plan->name, NULL, 0, 0, &none };

  if (!ferry_sync_messages_peek (self, plan->record, plan->far_name, &plan->peek, &error))
    {
      stats->folders++;
      note_failure (self, plan->name, stats, first_error, &error);
      return FALSE;
    }
  if (!plan->peek.unchanged[FAR] || !plan->peek.unchanged[NEAR])
    return TRUE;
  stats->folders++;
  if (self->report != NULL)
    self->report (&done, self->report_data);
  return FALSE;
}

static void
sync_folders (FerrySyncEngine *self, GPtrArray *plans, FerrySyncStats *stats, GError **first_error)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  g_autoptr (GArray) threads = NULL;
  g_autoptr (GPtrArray) running = g_ptr_array_new ();
  Parallel parallel = { self, todo, 0, { 0 }, stats, first_error };

  /* Only changed folders are worth another connection. */
  for (guint i = 0; i < plans->len; i++)
    {
      FolderPlan *plan = g_ptr_array_index (plans, i);

      if (plan->sync && folder_changed (self, plan, stats, first_error))
        g_ptr_array_add (todo, plan);
    }

  g_mutex_init (&parallel.lock);
  threads = g_array_new (FALSE, TRUE, sizeof (WorkerThread));
  if (self->make_worker != NULL)
    g_array_set_size (threads, MIN (self->max_workers, todo->len) - MIN (1, todo->len));
  for (guint i = 0; i < threads->len; i++)
    {
      WorkerThread *thread = &g_array_index (threads, WorkerThread, i);

      thread->parallel = &parallel;
      g_ptr_array_add (running, g_thread_new ("ferry-sync", worker_thread, thread));
    }
  worker_thread (&(WorkerThread){ &parallel, self->main });
  for (guint i = 0; i < running->len; i++)
    g_thread_join (g_ptr_array_index (running, i));
  for (guint i = 0; i < threads->len; i++)
    worker_clear (&g_array_index (threads, WorkerThread, i).worker);
  g_mutex_clear (&parallel.lock);
}

/* A stamp for each near folder the sync changed, proven once all are done
 * (ferry_store_stamp_folder()): nobody else changed it since its sync
 * began watching it. Without it, the next sync would look at them all once
 * more. The last folders may have changed too recently to prove: that is
 * waited for when the wait is small next to the sync itself (@started_us),
 * as after a first sync, or short and the folder large; else the next
 * sync looks at them. */
static gint64
max_wait_us (FolderPlan *plan, gint64 patience_us)
{
  if (plan->outcome.messages >= RESTAMP_LARGE_FOLDER)
    return MAX (patience_us, RESTAMP_LARGE_WAIT_US);
  return patience_us;
}

static void
restamp_near_folders (FerrySyncEngine *self,
                      GPtrArray *plans,
                      gint64 started_us,
                      FerrySyncStats *stats,
                      GError **first_error)
{
  FerrySyncState *state = self->main.state;
  gint64 patience_us = (g_get_monotonic_time () - started_us) / RESTAMP_PATIENCE;
  g_autoptr (GPtrArray) stamped = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < plans->len; i++)
    {
      FolderPlan *plan = g_ptr_array_index (plans, i);

      if (!plan->outcome.near_changed)
        {
          ferry_store_unwatch_folder (self->main.stores[NEAR], plan->name);
          continue;
        }
      /* Only a saving for the next sync: a folder that cannot be read
       * now (a mail reader just removed it) is looked at then. */
      if (!ferry_store_stamp_folder (self->main.stores[NEAR], plan->name,
                                     max_wait_us (plan, patience_us), &plan->record->near_stamp,
                                     &error))
        {
          g_debug ("%s: no fresh stamp: %s", plan->name, error->message);
          g_clear_error (&error);
        }
      if (plan->record->near_stamp != NULL)
        g_ptr_array_add (stamped, plan->record);
    }
  if (stamped->len == 0)
    return;
  if (!ferry_sync_state_begin_record (state, &error))
    goto failed;
  for (guint i = 0; i < stamped->len; i++)
    if (!ferry_sync_state_update_folder (state, g_ptr_array_index (stamped, i), &error))
      {
        ferry_sync_state_rollback (state);
        goto failed;
      }
  if (ferry_sync_state_commit (state, &error))
    return;
failed:
  note_failure (self, NULL, stats, first_error, &error);
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
      ferry_sync_engine_report (self, FERRY_SYNC_EVENT_PLAN, self->trash,
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
  gint64 started_us = g_get_monotonic_time ();
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
  restamp_near_folders (self, plans, started_us, stats, &first_error);

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  return TRUE;
}
