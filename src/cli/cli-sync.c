/* cli-sync.c: `ferry sync`, two-way sync of IMAP folders and Maildirs
 *
 * Accounts are synced side by side, up to max-parallel-accounts at once,
 * each in a thread of its own. On a terminal each folder has a live
 * progress line; otherwise each event is a plain line, for logs and cron.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/cli-sync.h"
#include "core/errors.h"
#include "sync/sync-account.h"

typedef struct
{
  GMutex lock; /* over the terminal and the totals */
  gboolean tty;
  gboolean progress_shown;
  FerrySyncStats totals;
  guint accounts;
  GError *first_error;
} Run;

typedef struct
{
  Run *run;
  FerryConfig *config;
  const FerryAccount *account;
  GPtrArray *only; /* folder names, NULL-terminated; empty for all */
  gboolean dry_run;
} Job;

static void
job_free (Job *job)
{
  g_ptr_array_unref (job->only);
  g_free (job);
}

static void
clear_progress (Run *run)
{
  if (run->progress_shown)
    {
      fputs ("\r\033[K", stdout);
      run->progress_shown = FALSE;
    }
}

static void
print_folder_done (const FerrySyncEvent *event, const char *account)
{
  const FerrySyncStats *s = event->stats;

  if (s->fetched + s->uploaded + s->flag_changes + s->deleted + s->skipped == 0)
    printf ("%s: %s: up to date\n", account, event->folder);
  else
    printf ("%s: %s: %u fetched, %u uploaded, %u flag changes, %u deleted, %u skipped\n", account,
            event->folder, s->fetched, s->uploaded, s->flag_changes, s->deleted, s->skipped);
}

static void
report (const FerrySyncEvent *event, gpointer user_data)
{
  Job *job = user_data;
  Run *run = job->run;
  const char *account = job->account->name;
  const char *folder = event->folder != NULL ? event->folder : "";
  const char *colon = event->folder != NULL ? ": " : "";

  g_mutex_lock (&run->lock);
  switch (event->kind)
    {
      case FERRY_SYNC_EVENT_FOLDER_STARTED:
        if (run->tty)
          {
            clear_progress (run);
            printf ("%s: %s: syncing…", account, folder);
            run->progress_shown = TRUE;
          }
        break;
      case FERRY_SYNC_EVENT_PROGRESS:
        if (run->tty)
          {
            clear_progress (run);
            printf ("%s: %s: %u of %u messages copied", account, folder, event->done, event->total);
            run->progress_shown = TRUE;
          }
        break;
      case FERRY_SYNC_EVENT_FOLDER_DONE:
        clear_progress (run);
        print_folder_done (event, account);
        break;
      case FERRY_SYNC_EVENT_PLAN:
        clear_progress (run);
        printf ("%s: %s%s%s\n", account, folder, colon, event->text);
        break;
      case FERRY_SYNC_EVENT_NOTICE:
        clear_progress (run);
        fprintf (stderr, "ferry: %s: %s%swarning: %s\n", account, folder, colon, event->text);
        break;
      case FERRY_SYNC_EVENT_FAILURE:
        clear_progress (run);
        fprintf (stderr, "ferry: %s: %s%s%s\n", account, folder, colon, event->text);
        break;
    }
  fflush (stdout);
  g_mutex_unlock (&run->lock);
}

static void
run_job (gpointer data, gpointer user_data)
{
  Job *job = data;
  Run *run = job->run;
  FerrySyncRequest request = {
    .dry_run = job->dry_run,
    .only = job->only->len > 1 ? (const char *const *) job->only->pdata : NULL,
    .report = report,
    .report_data = job,
  };
  g_autoptr (GError) error = NULL;
  FerrySyncStats stats;
  gboolean ok = ferry_sync_account (job->config, job->account, &request, &stats, NULL, &error);

  g_mutex_lock (&run->lock);
  ferry_sync_stats_add (&run->totals, &stats);
  if (!ok)
    {
      /* Folder failures were reported as they happened. */
      if (stats.failed_folders == 0)
        {
          clear_progress (run);
          fprintf (stderr, "ferry: %s: %s\n", job->account->name, error->message);
        }
      if (run->first_error == NULL)
        run->first_error = g_steal_pointer (&error);
    }
  g_mutex_unlock (&run->lock);
  job_free (job);
}

static Job *
job_for (
    GPtrArray *jobs, Run *run, FerryConfig *config, const FerryAccount *account, gboolean dry_run)
{
  Job *job;

  for (guint i = 0; i < jobs->len; i++)
    {
      job = g_ptr_array_index (jobs, i);
      if (job->account == account)
        return job;
    }
  job = g_new0 (Job, 1);
  job->run = run;
  job->config = config;
  job->account = account;
  job->dry_run = dry_run;
  job->only = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (job->only, NULL);
  g_ptr_array_add (jobs, job);
  return job;
}

/* ACCOUNT or ACCOUNT:FOLDER */
static gboolean
add_target (GPtrArray *jobs,
            Run *run,
            FerryConfig *config,
            const char *target,
            gboolean dry_run,
            GError **error)
{
  const char *colon = strchr (target, ':');
  g_autofree char *name = colon != NULL ? g_strndup (target, colon - target) : g_strdup (target);
  const FerryAccount *account = ferry_config_lookup_account (config, name);
  Job *job;

  if (account == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_USER, "no account “%s” in %s", name,
                        config->path),
           FALSE;
  job = job_for (jobs, run, config, account, dry_run);
  if (colon != NULL && colon[1] != '\0')
    {
      /* Keep the list NULL-terminated. */
      g_ptr_array_index (job->only, job->only->len - 1) = g_strdup (colon + 1);
      g_ptr_array_add (job->only, NULL);
    }
  return TRUE;
}

static void
print_summary (Run *run, gdouble seconds, gboolean dry_run)
{
  const FerrySyncStats *t = &run->totals;
  g_autofree char *failed = t->failed_folders > 0
                                ? g_strdup_printf ("; %u folders failed", t->failed_folders)
                                : g_strdup ("");

  printf ("%s%u %s in %u %s: %u fetched, %u uploaded, %u flag changes, %u deleted, %u moved, %u "
          "skipped%s in %.1f s\n",
          dry_run ? "Dry run, nothing changed: " : "", t->folders,
          t->folders == 1 ? "folder" : "folders", run->accounts,
          run->accounts == 1 ? "account" : "accounts", t->fetched, t->uploaded, t->flag_changes,
          t->deleted, t->moved, t->skipped, failed, seconds);
}

static gboolean
syncable (const FerryAccount *account)
{
  return account->imap_host != NULL && account->maildir != NULL;
}

/**
 * ferry_cli_sync:
 * @cli: the running program
 * @argc: the number of arguments after `sync`
 * @argv: those arguments
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_sync (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (FerryConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new ();
  g_autoptr (GTimer) timer = g_timer_new ();
  gboolean dry_run = FALSE;
  GThreadPool *pool;
  Run run = { .tty = isatty (STDOUT_FILENO) };
  int status = EX_OK;
  int i;

  for (i = 0; i < argc && argv[i][0] == '-'; i++)
    {
      if (g_str_equal (argv[i], "--dry-run") || g_str_equal (argv[i], "-n"))
        dry_run = TRUE;
      else if (g_str_equal (argv[i], "--all"))
        continue;
      else if (g_str_equal (argv[i], "--"))
        {
          i++;
          break;
        }
      else
        return ferry_cli_usage_error (cli, "unknown option “%s” for sync", argv[i]);
    }

  config = ferry_cli_load_config (cli, &error);
  if (config == NULL)
    return ferry_cli_fail (cli, error);

  for (; i < argc; i++)
    if (!add_target (jobs, &run, config, argv[i], dry_run, &error))
      return ferry_cli_fail (cli, error);
  if (jobs->len == 0)
    for (guint a = 0; a < config->accounts->len; a++)
      if (syncable (g_ptr_array_index (config->accounts, a)))
        job_for (jobs, &run, config, g_ptr_array_index (config->accounts, a), dry_run);
  if (jobs->len == 0)
    {
      g_set_error (&error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "no account in %s has both imap-host and maildir; see ferry.conf(5)",
                   config->path);
      return ferry_cli_fail (cli, error);
    }

  g_mutex_init (&run.lock);
  run.accounts = jobs->len;
  pool = g_thread_pool_new (run_job, NULL, (int) MIN (config->max_parallel_accounts, jobs->len),
                            TRUE, NULL);
  for (guint j = 0; j < jobs->len; j++)
    g_thread_pool_push (pool, g_ptr_array_index (jobs, j), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  print_summary (&run, g_timer_elapsed (timer, NULL), dry_run);
  if (run.first_error != NULL)
    {
      status = ferry_error_exit_code (run.first_error);
      g_error_free (run.first_error);
    }
  g_mutex_clear (&run.lock);
  return status;
}
