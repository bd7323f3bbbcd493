/* engine.c: what runs while Ferry is up: scheduling, network, workers
 *
 * The engine lives on the main loop and never blocks it. It decides when
 * to deliver (a user asked, the network came back, a retry fell due) and
 * hands the delivery to a GTask worker thread. Results come back to the
 * main loop as signals for the daemon's log, the applet and D-Bus.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "engine/engine.h"
#include "engine/sync-scheduler.h"
#include "outbox/outbox-queue.h"

/* A due retry is noticed within this much of its time. */
#define MAX_SLEEP_SECONDS      (30 * 60)
#define PRUNE_INTERVAL_SECONDS (6 * 60 * 60)

struct _FerryEngine
{
  GObject parent_instance;

  FerryConfig *config;
  FerryOutboxSpool *spool;
  GNetworkMonitor *network_monitor;
  GCancellable *cancellable;
  FerrySyncScheduler *sync_scheduler;

  gboolean online;
  gboolean flushing;
  gboolean flush_again; /* asked for while a flush ran */
  gboolean force_again;
  guint retry_source;
  guint prune_source;
};

G_DEFINE_FINAL_TYPE (FerryEngine, ferry_engine, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ONLINE,
  PROP_BUSY,
  N_PROPS
};

enum
{
  ENTRY_CHANGED,
  FLUSH_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void schedule_retry (FerryEngine *self);
static void start_flush (FerryEngine *self, gboolean force);

typedef struct
{
  FerryEngine *engine;
  FerryOutboxEntry *entry;
} EntryReport;

static gboolean
emit_entry_changed (gpointer data)
{
  EntryReport *report = data;

  g_signal_emit (report->engine, signals[ENTRY_CHANGED], 0, report->entry);
  g_object_unref (report->engine);
  ferry_outbox_entry_unref (report->entry);
  g_free (report);
  return G_SOURCE_REMOVE;
}

/* Runs in the worker; the signal is emitted on the engine's main context. */
static void
report_from_worker (FerryOutboxEntry *entry, gpointer user_data)
{
  EntryReport *report = g_new (EntryReport, 1);

  report->engine = g_object_ref (user_data);
  report->entry = ferry_outbox_entry_ref (entry);
  g_main_context_invoke (NULL, emit_entry_changed, report);
}

static void
flush_in_worker (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  FerryEngine *self = source;
  gboolean force = GPOINTER_TO_INT (task_data);
  FerryOutboxFlushSummary *summary = g_new0 (FerryOutboxFlushSummary, 1);
  GError *error = NULL;

  ferry_outbox_queue_prune (self->spool, self->config->keep_sent_days);
  if (!ferry_outbox_queue_flush (self->config, self->spool, NULL, force, report_from_worker, self,
                                 summary, cancellable, &error))
    {
      g_free (summary);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, summary, g_free);
}

static void
set_flushing (FerryEngine *self, gboolean flushing)
{
  self->flushing = flushing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
flush_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FerryEngine *self = FERRY_ENGINE (source);
  g_autoptr (GError) error = NULL;
  g_autofree FerryOutboxFlushSummary *summary = NULL;

  summary = g_task_propagate_pointer (G_TASK (result), &error);
  set_flushing (self, FALSE);

  if (summary == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("The outbox could not be delivered: %s", error->message);
      return;
    }

  g_signal_emit (self, signals[FLUSH_FINISHED], 0, summary->sent, summary->deferred,
                 summary->failed);

  if (self->flush_again)
    {
      self->flush_again = FALSE;
      start_flush (self, self->force_again);
      return;
    }
  schedule_retry (self);
}

static void
start_flush (FerryEngine *self, gboolean force)
{
  g_autoptr (GTask) task = NULL;

  if (self->flushing)
    {
      self->flush_again = TRUE;
      self->force_again |= force;
      return;
    }

  self->force_again = FALSE;
  set_flushing (self, TRUE);
  task = g_task_new (self, self->cancellable, flush_done, NULL);
  g_task_set_source_tag (task, start_flush);
  g_task_set_task_data (task, GINT_TO_POINTER (force), NULL);
  g_task_run_in_thread (task, flush_in_worker);
}

static gboolean
retry_due (gpointer user_data)
{
  FerryEngine *self = user_data;

  /* Offline, retries wait for the network, whose return flushes. */
  self->retry_source = 0;
  if (self->online)
    start_flush (self, FALSE);
  return G_SOURCE_REMOVE;
}

/* Sleeps until the earliest queued retry, capped so that a clock change
 * or an entry added behind our back is noticed. */
static void
schedule_retry (FerryEngine *self)
{
  gint64 next = ferry_outbox_queue_next_attempt (self->spool);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 delay = next == 0 ? MAX_SLEEP_SECONDS : CLAMP (next - now, 1, MAX_SLEEP_SECONDS);

  g_clear_handle_id (&self->retry_source, g_source_remove);
  self->retry_source = g_timeout_add_seconds ((guint) delay, retry_due, self);
}

static void
update_online (FerryEngine *self)
{
  gboolean online = g_network_monitor_get_network_available (self->network_monitor);

  if (online == self->online)
    return;
  self->online = online;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLINE]);

  /* Back online: what waited for the network goes now, not at its next
   * backoff step, and the folders catch up. */
  if (online)
    start_flush (self, TRUE);
  ferry_sync_scheduler_set_online (self->sync_scheduler, online);
}

static void
network_changed (GNetworkMonitor *monitor, gboolean available, gpointer user_data)
{
  update_online (user_data);
}

static gboolean
prune_due (gpointer user_data)
{
  FerryEngine *self = user_data;

  if (!self->flushing)
    ferry_outbox_queue_prune (self->spool, self->config->keep_sent_days);
  return G_SOURCE_CONTINUE;
}

static void
ferry_engine_dispose (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->sync_scheduler != NULL)
    ferry_sync_scheduler_stop (self->sync_scheduler);
  g_clear_object (&self->sync_scheduler);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->prune_source, g_source_remove);
  if (self->network_monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->network_monitor, self);
  g_clear_object (&self->network_monitor);

  G_OBJECT_CLASS (ferry_engine_parent_class)->dispose (object);
}

static void
ferry_engine_finalize (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->config, ferry_config_unref);
  g_clear_pointer (&self->spool, ferry_outbox_spool_unref);

  G_OBJECT_CLASS (ferry_engine_parent_class)->finalize (object);
}

static void
ferry_engine_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FerryEngine *self = FERRY_ENGINE (object);

  switch (prop_id)
    {
      case PROP_ONLINE:
        g_value_set_boolean (value, self->online);
        break;
      case PROP_BUSY:
        g_value_set_boolean (value, self->flushing);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_engine_class_init (FerryEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ferry_engine_dispose;
  object_class->finalize = ferry_engine_finalize;
  object_class->get_property = ferry_engine_get_property;

  properties[PROP_ONLINE] = g_param_spec_boolean ("online", NULL, NULL, FALSE,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY]
      = g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FerryEngine::entry-changed:
   * @entry: (type gpointer): the #FerryOutboxEntry as now recorded
   *
   * A delivery attempt ended: sent, deferred or failed.
   */
  signals[ENTRY_CHANGED]
      = g_signal_new ("entry-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);

  /**
   * FerryEngine::flush-finished:
   * @sent: messages sent
   * @deferred: messages that wait for another attempt
   * @failed: messages refused for good
   */
  signals[FLUSH_FINISHED]
      = g_signal_new ("flush-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
}

static void
ferry_engine_init (FerryEngine *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * ferry_engine_new:
 * @config: the configuration
 * @spool: the outbox
 *
 * Returns: (transfer full): an engine, idle until ferry_engine_start()
 */
FerryEngine *
ferry_engine_new (FerryConfig *config, FerryOutboxSpool *spool)
{
  FerryEngine *self;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (spool != NULL, NULL);

  self = g_object_new (FERRY_TYPE_ENGINE, NULL);
  self->config = ferry_config_ref (config);
  self->spool = ferry_outbox_spool_ref (spool);
  self->sync_scheduler = ferry_sync_scheduler_new (config);
  return self;
}

/**
 * ferry_engine_start:
 * @self: a #FerryEngine
 *
 * Starts watching the network and delivers what is due.
 */
void
ferry_engine_start (FerryEngine *self)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (self->network_monitor == NULL);

  self->network_monitor = g_object_ref (g_network_monitor_get_default ());
  g_signal_connect (self->network_monitor, "network-changed", G_CALLBACK (network_changed), self);
  self->prune_source = g_timeout_add_seconds (PRUNE_INTERVAL_SECONDS, prune_due, self);

  update_online (self);
}

/**
 * ferry_engine_send_queued:
 * @self: a #FerryEngine
 *
 * Sends every queued message now, without waiting for its next attempt;
 * what the user asks for with "Send queued" and what ferry-sendmail asks
 * for after it queued a message. Failed messages wait for a retry.
 */
void
ferry_engine_send_queued (FerryEngine *self)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));

  start_flush (self, TRUE);
}

gboolean
ferry_engine_get_online (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  return self->online;
}

gboolean
ferry_engine_get_busy (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  return self->flushing;
}

/**
 * ferry_engine_get_sync_scheduler:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): what syncs the accounts' folders
 */
FerrySyncScheduler *
ferry_engine_get_sync_scheduler (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->sync_scheduler;
}

static void
send_queued_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ferry_engine_send_queued (user_data);
}

static void
sync_now_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  FerryEngine *self = user_data;

  ferry_sync_scheduler_sync_now (self->sync_scheduler);
}

/**
 * ferry_engine_add_actions:
 * @self: a #FerryEngine
 * @map: the application's action map
 *
 * Adds the engine's actions, which GApplication exports on D-Bus under
 * the application id: `gapplication action io.github.ferrymail.Ferry
 * send-queued` (or `sync-now`).
 */
void
ferry_engine_add_actions (FerryEngine *self, GActionMap *map)
{
  static const GActionEntry entries[] = {
    { .name = "send-queued", .activate = send_queued_activated },
    { .name = "sync-now", .activate = sync_now_activated },
  };

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (G_IS_ACTION_MAP (map));

  g_action_map_add_action_entries (map, entries, G_N_ELEMENTS (entries), self);
}
