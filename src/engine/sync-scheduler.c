/* sync-scheduler.c: when the engine syncs which account
 *
 * Every `sync-interval` minutes, when the network comes back, and when
 * asked ("Sync now", `sync-now` on D-Bus), each account that has an IMAP
 * server and a Maildir is synced in a GTask worker, up to
 * max-parallel-accounts at once. While there is no network, timed syncs
 * wait for it instead of failing one after another.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "engine/sync-scheduler.h"
#include "sync/sync-account.h"

struct _FerrySyncScheduler
{
  GObject parent_instance;

  FerryConfig *config;
  GCancellable *cancellable;
  GQueue waiting; /* const FerryAccount *, not yet started in this round */
  guint running;  /* accounts syncing now */
  gboolean again; /* asked for while a round ran */
  gboolean online;
  guint timer;
};

G_DEFINE_FINAL_TYPE (FerrySyncScheduler, ferry_sync_scheduler, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

enum
{
  ACCOUNT_SYNCED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_round (FerrySyncScheduler *self);

typedef struct
{
  const FerryAccount *account;
  FerrySyncStats stats;
} Job;

static void
sync_in_worker (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  FerrySyncScheduler *self = source;
  Job *job = task_data;
  FerrySyncRequest request = { FALSE, NULL, NULL, NULL };
  GError *error = NULL;

  if (ferry_sync_account (self->config, job->account, &request, &job->stats, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void start_next (FerrySyncScheduler *self);

static void
sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FerrySyncScheduler *self = FERRY_SYNC_SCHEDULER (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  self->running--;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_signal_emit (self, signals[ACCOUNT_SYNCED], 0, job->account->name, &job->stats,
                   error != NULL ? error->message : NULL);
  start_next (self);
}

static void
start_next (FerrySyncScheduler *self)
{
  while (self->running < self->config->max_parallel_accounts && !g_queue_is_empty (&self->waiting)
         && !g_cancellable_is_cancelled (self->cancellable))
    {
      g_autoptr (GTask) task = g_task_new (self, self->cancellable, sync_done, NULL);
      Job *job = g_new0 (Job, 1);

      job->account = g_queue_pop_head (&self->waiting);
      g_task_set_task_data (task, job, g_free);
      g_task_set_source_tag (task, start_next);
      self->running++;
      g_task_run_in_thread (task, sync_in_worker);
    }
  if (self->running > 0 || !g_queue_is_empty (&self->waiting))
    return;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  if (self->again)
    {
      self->again = FALSE;
      start_round (self);
    }
}

static void
start_round (FerrySyncScheduler *self)
{
  if (self->running > 0 || !g_queue_is_empty (&self->waiting))
    {
      self->again = TRUE;
      return;
    }
  for (guint i = 0; i < self->config->accounts->len; i++)
    {
      const FerryAccount *account = g_ptr_array_index (self->config->accounts, i);
      if (account->imap_host != NULL && account->maildir != NULL)
        g_queue_push_tail (&self->waiting, (gpointer) account);
    }
  if (g_queue_is_empty (&self->waiting))
    return;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  start_next (self);
}

static gboolean
timer_fired (gpointer user_data)
{
  FerrySyncScheduler *self = user_data;

  if (self->online)
    start_round (self);
  return G_SOURCE_CONTINUE;
}

static void
ferry_sync_scheduler_dispose (GObject *object)
{
  FerrySyncScheduler *self = FERRY_SYNC_SCHEDULER (object);

  ferry_sync_scheduler_stop (self);
  G_OBJECT_CLASS (ferry_sync_scheduler_parent_class)->dispose (object);
}

static void
ferry_sync_scheduler_finalize (GObject *object)
{
  FerrySyncScheduler *self = FERRY_SYNC_SCHEDULER (object);

  g_queue_clear (&self->waiting);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->config, ferry_config_unref);
  G_OBJECT_CLASS (ferry_sync_scheduler_parent_class)->finalize (object);
}

static void
ferry_sync_scheduler_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FerrySyncScheduler *self = FERRY_SYNC_SCHEDULER (object);

  switch (prop_id)
    {
      case PROP_BUSY:
        g_value_set_boolean (value, ferry_sync_scheduler_get_busy (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_sync_scheduler_class_init (FerrySyncSchedulerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ferry_sync_scheduler_dispose;
  object_class->finalize = ferry_sync_scheduler_finalize;
  object_class->get_property = ferry_sync_scheduler_get_property;

  properties[PROP_BUSY]
      = g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FerrySyncScheduler::account-synced:
   * @account: the account's name
   * @stats: (type gpointer): the #FerrySyncStats of the sync
   * @error: (nullable): why it failed, or %NULL
   */
  signals[ACCOUNT_SYNCED]
      = g_signal_new ("account-synced", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_POINTER, G_TYPE_STRING);
}

static void
ferry_sync_scheduler_init (FerrySyncScheduler *self)
{
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->waiting);
}

/**
 * ferry_sync_scheduler_new:
 * @config: the configuration
 *
 * Returns: (transfer full): a scheduler; it syncs nothing until it is
 *   told the network is there.
 */
FerrySyncScheduler *
ferry_sync_scheduler_new (FerryConfig *config)
{
  FerrySyncScheduler *self;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (FERRY_TYPE_SYNC_SCHEDULER, NULL);
  self->config = ferry_config_ref (config);
  if (config->sync_interval_minutes > 0)
    self->timer = g_timeout_add_seconds (config->sync_interval_minutes * 60, timer_fired, self);
  return self;
}

/**
 * ferry_sync_scheduler_set_online:
 * @self: a #FerrySyncScheduler
 * @online: whether the network is there
 *
 * The network's return syncs at once.
 */
void
ferry_sync_scheduler_set_online (FerrySyncScheduler *self, gboolean online)
{
  g_return_if_fail (FERRY_IS_SYNC_SCHEDULER (self));

  if (online && !self->online)
    start_round (self);
  self->online = online;
}

/**
 * ferry_sync_scheduler_sync_now:
 * @self: a #FerrySyncScheduler
 *
 * Syncs every account now, network or not, as the user asked: a VPN or a
 * server on this machine can work when the network monitor says otherwise.
 */
void
ferry_sync_scheduler_sync_now (FerrySyncScheduler *self)
{
  g_return_if_fail (FERRY_IS_SYNC_SCHEDULER (self));

  start_round (self);
}

gboolean
ferry_sync_scheduler_get_busy (FerrySyncScheduler *self)
{
  g_return_val_if_fail (FERRY_IS_SYNC_SCHEDULER (self), FALSE);

  return self->running > 0 || !g_queue_is_empty (&self->waiting);
}

/**
 * ferry_sync_scheduler_stop:
 * @self: a #FerrySyncScheduler
 *
 * Cancels the syncs running (each stops at its next step, its state
 * consistent) and the timer.
 */
void
ferry_sync_scheduler_stop (FerrySyncScheduler *self)
{
  g_return_if_fail (FERRY_IS_SYNC_SCHEDULER (self));

  g_cancellable_cancel (self->cancellable);
  g_queue_clear (&self->waiting);
  g_clear_handle_id (&self->timer, g_source_remove);
}
