/* cli-daemon.c: `ferry daemon`, the engine without a GUI
 *
 * For systemd user sessions and ssh logins: a GApplication that owns the
 * application id on the session bus, exports the engine's actions there
 * and logs what happens to stdout (the journal, under systemd).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli-daemon.h"
#include "engine/engine.h"

typedef struct
{
  FerryCli *cli;
  FerryConfig *config;
  FerryOutboxSpool *spool;
  FerryEngine *engine;
  int status;
} Daemon;

static void
log_entry (FerryEngine *engine, FerryOutboxEntry *entry, gpointer user_data)
{
  const char *reply = entry->last_reply != NULL ? entry->last_reply : "";

  switch (entry->state)
    {
      case FERRY_OUTBOX_STATE_SENT:
        printf ("%s: sent (%s)\n", entry->id, reply);
        break;
      case FERRY_OUTBOX_STATE_FAILED:
        printf ("%s: failed: %s\n", entry->id, reply);
        break;
      default:
        printf ("%s: deferred: %s\n", entry->id, reply);
        break;
    }
  fflush (stdout);
}

static void
log_online (FerryEngine *engine, GParamSpec *pspec, gpointer user_data)
{
  printf ("network %s\n", ferry_engine_get_online (engine) ? "available" : "unavailable");
  fflush (stdout);
}

static void
log_sync (FerrySyncScheduler *scheduler,
          const char *account,
          const FerrySyncStats *stats,
          const char *error,
          gpointer user_data)
{
  if (error != NULL)
    printf ("%s: sync failed: %s\n", account, error);
  else
    printf ("%s: synced %u folders: %u fetched, %u uploaded, %u flag changes, %u deleted\n",
            account, stats->folders, stats->fetched, stats->uploaded, stats->flag_changes,
            stats->deleted);
  fflush (stdout);
}

static gboolean
quit_on_signal (gpointer user_data)
{
  g_application_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static void
daemon_startup (GApplication *app, gpointer user_data)
{
  Daemon *daemon = user_data;

  daemon->engine = ferry_engine_new (daemon->config, daemon->spool);
  g_signal_connect (daemon->engine, "entry-changed", G_CALLBACK (log_entry), daemon);
  g_signal_connect (daemon->engine, "notify::online", G_CALLBACK (log_online), daemon);
  g_signal_connect (ferry_engine_get_sync_scheduler (daemon->engine), "account-synced",
                    G_CALLBACK (log_sync), daemon);
  ferry_engine_add_actions (daemon->engine, G_ACTION_MAP (app));
  g_application_hold (app);

  g_unix_signal_add (SIGTERM, quit_on_signal, app);
  g_unix_signal_add (SIGINT, quit_on_signal, app);

  printf ("Ferry %s: engine running as %s\n", PACKAGE_VERSION, FERRY_APP_ID);
  fflush (stdout);
  ferry_engine_start (daemon->engine);
}

static void
daemon_activate (GApplication *app, gpointer user_data)
{
  /* Nothing to show: `ferry daemon` run again while one runs lands here,
   * in the first one, and is a no-op. */
}

/**
 * ferry_cli_daemon:
 * @cli: the running program
 * @argc: the number of arguments after `daemon`
 * @argv: those arguments
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_daemon (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (GApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  Daemon daemon = { cli, NULL, NULL, NULL, EX_OK };

  if (argc > 1)
    return ferry_cli_usage_error (cli, "daemon takes no arguments");

  daemon.config = ferry_cli_load_config (cli, &error);
  if (daemon.config == NULL)
    return ferry_cli_fail (cli, error);
  daemon.spool = ferry_cli_open_spool (&error);
  if (daemon.spool == NULL)
    {
      ferry_config_unref (daemon.config);
      return ferry_cli_fail (cli, error);
    }

  app = g_application_new (FERRY_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_signal_connect (app, "startup", G_CALLBACK (daemon_startup), &daemon);
  g_signal_connect (app, "activate", G_CALLBACK (daemon_activate), &daemon);

  if (!g_application_register (app, NULL, &error))
    daemon.status = ferry_cli_fail (cli, error);
  else if (g_application_get_is_remote (app))
    fprintf (stderr, "%s: Ferry is already running on this session bus\n", cli->program);
  else
    daemon.status = g_application_run (app, 0, NULL);

  g_clear_object (&daemon.engine);
  ferry_outbox_spool_unref (daemon.spool);
  ferry_config_unref (daemon.config);
  return daemon.status;
}
