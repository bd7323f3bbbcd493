/* ferry.c: the `ferry` command
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <locale.h>
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli-common.h"
#include "cli/cli-daemon.h"
#include "cli/cli-demo.h"
#include "cli/cli-password.h"
#include "cli/cli-queue.h"
#include "cli/cli-sync.h"
#include "core/secrets.h"

static const char usage[]
    = "Usage: ferry [--config FILE] COMMAND [ARGS]\n"
      "\n"
      "Commands:\n"
      "  sync [--dry-run] [ACCOUNT[:FOLDER]...]\n"
      "                               mirror IMAP folders and Maildirs both ways\n"
      "  queue list [--json]          show the outbox\n"
      "  queue show ID                one message's envelope and delivery record\n"
      "  queue flush [ID...]          send queued messages now\n"
      "  queue retry ID...|--all      send failed messages again\n"
      "  queue remove [--yes] ID...   delete messages from the outbox\n"
      "  password set|clear|check ACCOUNT [smtp|imap]\n"
      "                               manage passwords in the keyring\n"
      "  daemon                       run the engine without a tray icon\n"
      "  demo [--keep]                show Ferry at work against servers of its own\n"
      "  version                      print the version\n"
      "\n"
      "See ferry(1) and ferry.conf(5).\n";

static int
run_password (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (FerryConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  config = ferry_cli_load_config (cli, &error);
  if (config == NULL)
    return ferry_cli_fail (cli, error);
  return ferry_cli_password (config, argc, argv);
}

static int
dispatch (FerryCli *cli, int argc, char **argv)
{
  const char *command = argv[0];

  if (g_str_equal (command, "sync"))
    return ferry_cli_sync (cli, argc - 1, argv + 1);
  if (g_str_equal (command, "queue"))
    return ferry_cli_queue (cli, argc - 1, argv + 1);
  if (g_str_equal (command, "password"))
    return run_password (cli, argc - 1, argv + 1);
  if (g_str_equal (command, "daemon"))
    return ferry_cli_daemon (cli, argc, argv);
  if (g_str_equal (command, "demo"))
    return ferry_cli_demo (cli, argc, argv);
  if (g_str_equal (command, "version") || g_str_equal (command, "--version"))
    {
      printf ("ferry %s\n", PACKAGE_VERSION);
      return EX_OK;
    }
  if (g_str_equal (command, "help") || g_str_equal (command, "--help")
      || g_str_equal (command, "-h"))
    {
      fputs (usage, stdout);
      return EX_OK;
    }
  return ferry_cli_usage_error (cli, "unknown command “%s”", command);
}

int
main (int argc, char **argv)
{
  FerryCli cli = { .program = "ferry" };
  int i = 1;

  setlocale (LC_ALL, "");
  ferry_secrets_protect_process ();

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (g_str_equal (argv[i], "--config") && i + 1 < argc)
        cli.config_path = argv[++i];
      else if (g_str_has_prefix (argv[i], "--config="))
        cli.config_path = argv[i] + strlen ("--config=");
      else if (g_str_equal (argv[i], "-v") || g_str_equal (argv[i], "--verbose"))
        cli.verbose = TRUE;
      else
        break;
    }

  if (i >= argc)
    {
      fputs (usage, stderr);
      return EX_USAGE;
    }
  return dispatch (&cli, argc - i, argv + i);
}
