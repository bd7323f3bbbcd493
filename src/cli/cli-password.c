/* cli-password.c: `ferry password set|clear|check ACCOUNT [smtp|imap]`
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdio.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli-password.h"
#include "core/errors.h"
#include "core/secrets.h"

static int
fail (const GError *error)
{
  fprintf (stderr, "ferry: %s\n", error->message);
  return ferry_error_exit_code (error);
}

/* Reads one line from the terminal without echo, or from stdin when it is
 * not a terminal, so scripts and tests can feed it. Never from argv. */
static FerrySecret *
read_password (const char *prompt)
{
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO);
  char buffer[1024];
  FerrySecret *secret = NULL;

  /* Echo goes off before the prompt shows: what is typed once it shows
   * must not be flushed away with the type-ahead. */
  if (tty)
    {
      tcgetattr (STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
      fprintf (stderr, "%s", prompt);
    }
  if (fgets (buffer, sizeof buffer, stdin) != NULL)
    {
      buffer[strcspn (buffer, "\r\n")] = '\0';
      secret = g_strdup (buffer);
    }
  explicit_bzero (buffer, sizeof buffer);
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSANOW, &saved);
      fprintf (stderr, "\n");
    }
  return secret;
}

static int
run_for_service (const char *command,
                 const FerryAccount *account,
                 FerryService service,
                 const char *password)
{
  g_autoptr (GError) error = NULL;
  const char *name = ferry_service_to_string (service);

  if (g_str_equal (command, "set"))
    {
      if (!ferry_secrets_store_password (account, service, password, NULL, &error))
        return fail (error);
      printf ("Stored the %s password of account %s in the keyring.\n", name, account->name);
    }
  else if (g_str_equal (command, "clear"))
    {
      gboolean removed = FALSE;
      if (!ferry_secrets_clear_password (account, service, &removed, NULL, &error))
        return fail (error);
      if (removed)
        printf ("Removed the %s password of account %s from the keyring.\n", name, account->name);
      else
        printf ("The keyring held no %s password of account %s.\n", name, account->name);
    }
  else
    {
      g_autoptr (FerrySecret) found
          = ferry_secrets_lookup_password (account, service, NULL, &error);
      if (found == NULL)
        return fail (error);
      printf ("The %s password of account %s comes from %s.\n", name, account->name,
              account->password_command != NULL ? "its password-command" : "the keyring");
    }
  return EX_OK;
}

/* Without a service named, the ones the account uses. */
static guint
configured_services (const FerryAccount *account, FerryService services[2])
{
  guint n = 0;

  if (account->smtp_host != NULL)
    services[n++] = FERRY_SERVICE_SMTP;
  if (account->imap_host != NULL)
    services[n++] = FERRY_SERVICE_IMAP;
  return n;
}

int
ferry_cli_password (FerryConfig *config, int argc, char **argv)
{
  g_autoptr (FerrySecret) password = NULL;
  const FerryAccount *account;
  FerryService services[2];
  guint n_services = 0;
  int status = EX_OK;

  if (argc < 2 || argc > 3
      || !(g_str_equal (argv[0], "set") || g_str_equal (argv[0], "clear")
           || g_str_equal (argv[0], "check")))
    {
      fprintf (stderr, "ferry: usage: ferry password set|clear|check ACCOUNT [smtp|imap]\n");
      return EX_USAGE;
    }
  account = ferry_config_lookup_account (config, argv[1]);
  if (account == NULL)
    {
      fprintf (stderr, "ferry: no account “%s” in %s\n", argv[1], config->path);
      return EX_NOUSER;
    }
  if (argc == 3)
    {
      if (!ferry_service_from_string (argv[2], &services[0]))
        {
          fprintf (stderr, "ferry: “%s” is not smtp or imap\n", argv[2]);
          return EX_USAGE;
        }
      n_services = 1;
    }
  else
    n_services = configured_services (account, services);
  if (n_services == 0)
    {
      fprintf (stderr, "ferry: account %s has neither smtp-host nor imap-host\n", account->name);
      return EX_CONFIG;
    }
  if (account->password_command != NULL && !g_str_equal (argv[0], "check"))
    fprintf (stderr,
             "ferry: note: account %s has a password-command, which Ferry uses instead of the "
             "keyring\n",
             account->name);

  if (g_str_equal (argv[0], "set"))
    {
      password = read_password ("Password: ");
      if (password == NULL || *password == '\0')
        {
          fprintf (stderr, "ferry: no password given; nothing stored\n");
          return EX_DATAERR;
        }
    }

  for (guint i = 0; i < n_services && status == EX_OK; i++)
    status = run_for_service (argv[0], account, services[i], password);
  return status;
}
