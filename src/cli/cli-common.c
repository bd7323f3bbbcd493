/* cli-common.c: what the command-line programs share
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdio.h>
#include <sysexits.h>

#include "cli/cli-common.h"
#include "core/errors.h"
#include "core/paths.h"

/**
 * ferry_cli_fail:
 * @cli: the running program
 * @error: why it stops
 *
 * Prints @error on one line of stderr.
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_fail (FerryCli *cli, const GError *error)
{
  g_return_val_if_fail (error != NULL, EX_SOFTWARE);

  fprintf (stderr, "%s: %s\n", cli->program, error->message);
  return ferry_error_exit_code (error);
}

int
ferry_cli_usage_error (FerryCli *cli, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "%s: %s (see `man %s`)\n", cli->program, message, cli->program);
  return EX_USAGE;
}

FerryConfig *
ferry_cli_load_config (FerryCli *cli, GError **error)
{
  if (cli->config_path != NULL)
    return ferry_config_load (cli->config_path, error);
  return ferry_config_load_default (error);
}

FerryOutboxSpool *
ferry_cli_open_spool (GError **error)
{
  g_autofree char *path = ferry_paths_outbox_dir ();

  return ferry_outbox_spool_open (path, error);
}

/* Ages as mailq prints them: 42s, 5m, 3h, 2d. */
char *
ferry_cli_format_age (gint64 seconds)
{
  if (seconds < 0)
    seconds = 0;
  if (seconds < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m", seconds / 60);
  if (seconds < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h", seconds / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT "d", seconds / 86400);
}

/* Sizes as a column of a listing shows them: 812B, 14K, 2.3M. */
char *
ferry_cli_format_size (guint64 bytes)
{
  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "B", bytes);
  if (bytes < 1024 * 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "K", (bytes + 1023) / 1024);
  return g_strdup_printf ("%.1fM", (double) bytes / (1024.0 * 1024.0));
}

/**
 * ferry_cli_state_log_path:
 *
 * Returns: (transfer full): the log a background delivery writes, where a
 *   user who sent mail over ssh can read what became of it
 */
char *
ferry_cli_state_log_path (void)
{
  g_autofree char *dir = ferry_paths_state_dir ();

  return g_build_filename (dir, "outbox.log", NULL);
}
