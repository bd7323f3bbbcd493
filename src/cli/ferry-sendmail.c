/* ferry-sendmail.c: `ferry-sendmail`, what mutt runs as its sendmail
 *
 * It reads one message, queues it durably, wakes whoever delivers, and
 * exits at once: a mail reader on a train must not wait for a network.
 * It speaks sendmail's command line (the options mutt, neomutt, git
 * send-email and msmtp users pass) and its exit codes (sysexits.h). It
 * needs no display and no session bus, so it works over ssh.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/cli-common.h"
#include "cli/sendmail-options.h"
#include "core/errors.h"
#include "core/secrets.h"
#include "outbox/outbox-message.h"
#include "outbox/outbox-spool.h"

#define WAKE_TIMEOUT_MS 2000

/* The limit as the user wrote it: 50 MiB, not 52.4 MB. */
static char *
format_limit (guint64 bytes)
{
  if (bytes % (1024 * 1024) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " MiB", bytes / (1024 * 1024));
  if (bytes % 1024 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " KiB", bytes / 1024);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", bytes);
}

static gboolean
fail_too_large (guint64 limit, GError **error)
{
  g_autofree char *size = format_limit (limit);

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
               "The message is larger than the limit of %s (max-message-size); "
               "nothing was queued",
               size);
  return FALSE;
}

/* sendmail's default: a line holding a single dot ends the message. Read
 * line by line so that nothing after that line is waited for. */
static gboolean
read_until_dot (GByteArray *data, guint64 limit, GError **error)
{
  g_autofree char *line = NULL;
  size_t capacity = 0;
  ssize_t n;

  while ((n = getline (&line, &capacity, stdin)) > 0)
    {
      if (strcmp (line, ".\n") == 0 || strcmp (line, ".\r\n") == 0)
        break;
      if ((guint64) data->len + (guint64) n > limit)
        return fail_too_large (limit, error);
      g_byte_array_append (data, (const guint8 *) line, (guint) n);
    }
  return TRUE;
}

/* With -i, as mutt and git send-email call it: everything up to EOF. */
static gboolean
read_to_end (GByteArray *data, guint64 limit, GError **error)
{
  guint8 block[64 * 1024];
  size_t n;

  while ((n = fread (block, 1, sizeof block, stdin)) > 0)
    {
      if ((guint64) data->len + (guint64) n > limit)
        return fail_too_large (limit, error);
      g_byte_array_append (data, block, (guint) n);
    }
  return TRUE;
}

/* Reads the message, enforcing the limit while reading so that a huge
 * input never fills memory. */
static GBytes *
read_message (FerrySendmailOptions *o, guint64 limit, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();

  if (!(o->dot_ends_message ? read_until_dot (data, limit, error)
                            : read_to_end (data, limit, error)))
    return NULL;

  if (ferror (stdin))
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "Cannot read the message from standard input: %s", g_strerror (errno));
      return NULL;
    }
  if (data->len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "No message on standard input; nothing was queued");
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* -a, else the account that owns the sender, else the default one. */
static const FerryAccount *
choose_account (FerrySendmailOptions *o,
                FerryConfig *config,
                const char *sender,
                FerryOutboxHeaders *headers,
                GError **error)
{
  const FerryAccount *account = NULL;

  if (o->account != NULL)
    {
      account = ferry_config_lookup_account (config, o->account);
      if (account == NULL)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_USER, "No account “%s” in %s", o->account,
                     config->path);
      return account;
    }

  if (sender != NULL && *sender != '\0')
    account = ferry_config_account_for_address (config, sender);
  if (account == NULL && headers->from_address != NULL)
    account = ferry_config_account_for_address (config, headers->from_address);
  if (account == NULL)
    account = ferry_config_default_account (config, error);
  return account;
}

static FerryOutboxEntry *
build_envelope (FerrySendmailOptions *o,
                FerryConfig *config,
                FerryOutboxHeaders *headers,
                GError **error)
{
  g_autoptr (FerryOutboxEntry) envelope = ferry_outbox_entry_new ();
  g_autofree char *sender = NULL;
  const FerryAccount *account;

  sender = ferry_sendmail_options_choose_sender (o, headers, error);
  if (sender == NULL && error != NULL && *error != NULL)
    return NULL;
  account = choose_account (o, config, sender, headers, error);
  if (account == NULL)
    return NULL;
  if (sender == NULL && account->addresses[0] != NULL)
    sender = g_strdup (account->addresses[0]);
  if (sender == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "No sender: the message has no From: address; give -f ADDRESS or set "
                   "addresses in [account %s]",
                   account->name);
      return NULL;
    }

  envelope->account = g_strdup (account->name);
  g_free (envelope->sender);
  envelope->sender = g_steal_pointer (&sender);
  envelope->from = g_strdup (headers->from);
  envelope->to = g_strdup (headers->to);
  envelope->subject = g_strdup (headers->subject);
  for (guint i = 0; i < o->recipients->len; i++)
    ferry_outbox_entry_add_recipient (envelope, g_ptr_array_index (o->recipients, i));
  return g_steal_pointer (&envelope);
}

/* Asks a running engine to deliver, over the session bus only if there
 * already is one: with no DBUS_SESSION_BUS_ADDRESS we never autolaunch a
 * bus (that would tie a daemon to an ssh session), and with
 * NO_AUTO_START no engine is started behind the user's back. */
static gboolean
wake_engine (GError **error)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;

  if (address == NULL || *address == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no session bus");
      return FALSE;
    }

  bus = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, error);
  if (bus == NULL)
    return FALSE;

  reply = g_dbus_connection_call_sync (
      bus, FERRY_APP_ID, "/io/github/ferrymail/Ferry", "org.gtk.Actions", "Activate",
      g_variant_new ("(sava{sv})", "send-queued", NULL, NULL), NULL,
      G_DBUS_CALL_FLAGS_NO_AUTO_START, WAKE_TIMEOUT_MS, NULL, error);
  return reply != NULL;
}

static void
detach_child (gpointer user_data)
{
  setsid ();
}

/* Starts `ferry queue flush --background` beside this program, detached
 * from the mail reader's terminal and pipes, so mail goes out over ssh. */
static gboolean
start_background_delivery (FerrySendmailOptions *o, GError **error)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", error);
  g_autofree char *dir = NULL;
  g_autofree char *ferry = NULL;
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();
  g_auto (GStrv) argv = NULL;

  if (self == NULL)
    return FALSE;
  dir = g_path_get_dirname (self);
  ferry = g_build_filename (dir, "ferry", NULL);

  g_strv_builder_add (args, ferry);
  if (o->cli.config_path != NULL)
    g_strv_builder_add_many (args, "--config", o->cli.config_path, NULL);
  g_strv_builder_add_many (args, "queue", "flush", "--background", NULL);
  argv = g_strv_builder_end (args);

  return g_spawn_async (NULL, argv, NULL,
                        G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL
                            | G_SPAWN_STDERR_TO_DEV_NULL,
                        detach_child, NULL, NULL, error);
}

static void
hand_over (FerrySendmailOptions *o, FerryConfig *config, FerryOutboxEntry *entry)
{
  g_autoptr (GError) error = NULL;
  const char *how = "left in the queue (send-after-queue = never)";

  if (config->send_after_queue == FERRY_SEND_AFTER_QUEUE_ENGINE && wake_engine (&error))
    how = "handed to the running engine";
  else if (config->send_after_queue != FERRY_SEND_AFTER_QUEUE_NEVER)
    {
      g_clear_error (&error);
      how = start_background_delivery (o, &error) ? "delivery started in the background"
                                                  : "left in the queue";
      if (error != NULL)
        fprintf (stderr, "%s: %s; run `ferry queue flush` to send it\n", o->cli.program,
                 error->message);
    }

  if (o->cli.verbose)
    fprintf (stderr, "%s: queued %s for %u recipient(s) from account %s; %s\n", o->cli.program,
             entry->id, entry->recipients->len, entry->account, how);
}

static int
queue_message (FerrySendmailOptions *o)
{
  g_autoptr (FerryConfig) config = NULL;
  g_autoptr (FerryOutboxSpool) spool = NULL;
  g_autoptr (GBytes) message = NULL;
  g_autoptr (FerryOutboxHeaders) headers = NULL;
  g_autoptr (FerryOutboxEntry) envelope = NULL;
  g_autoptr (FerryOutboxEntry) entry = NULL;
  g_autoptr (GError) error = NULL;

  if ((config = ferry_cli_load_config (&o->cli, &error)) == NULL
      || (message = read_message (o, config->max_message_size, &error)) == NULL
      || (headers = ferry_outbox_message_parse (message, &error)) == NULL
      || !ferry_sendmail_options_collect_recipients (o, headers, &error)
      || (envelope = build_envelope (o, config, headers, &error)) == NULL)
    return ferry_cli_fail (&o->cli, error);

  if ((spool = ferry_cli_open_spool (&error)) == NULL
      || (entry = ferry_outbox_spool_add (spool, message, envelope, &error)) == NULL)
    {
      g_prefix_error (&error, "The message was NOT queued: ");
      return ferry_cli_fail (&o->cli, error);
    }

  hand_over (o, config, entry);
  return EX_OK;
}

int
main (int argc, char **argv)
{
  FerrySendmailOptions o;
  g_autoptr (GError) error = NULL;
  int status;

  setlocale (LC_ALL, "");
  ferry_secrets_protect_process ();

  ferry_sendmail_options_init (&o, "ferry-sendmail");
  if (argc == 2 && g_str_equal (argv[1], "--version"))
    {
      printf ("ferry-sendmail %s\n", PACKAGE_VERSION);
      status = EX_OK;
    }
  else if (ferry_sendmail_options_parse (&o, argc, argv, &error))
    status = queue_message (&o);
  else
    status = ferry_cli_fail (&o.cli, error);

  ferry_sendmail_options_clear (&o);
  return status;
}
