/* sendmail-options.c: sendmail's command line, and what it makes of a message
 *
 * The options mutt, neomutt, git send-email and msmtp users pass, read as
 * sendmail reads them: recipients after the options, option values
 * attached or in the next argument, and the options that set sendmail's
 * delivery modes accepted and ignored. Every problem is a GError whose
 * code gives the sysexits.h status: FERRY_ERROR_USAGE for the command
 * line, FERRY_ERROR_DATA for an address.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "cli/sendmail-options.h"
#include "core/errors.h"
#include "core/printable-text.h"

/* Options sendmail has that mean nothing here. The ones that take a value
 * take it attached or as the next argument. */
static const char ignored_with_value[] = "BFLNRVXhO";
static const char ignored_flags[] = "UmnGq";

static gboolean usage_error (FerrySendmailOptions *o, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
usage_error (FerrySendmailOptions *o, GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *shown = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* It echoes the arguments, which may hold anything. */
  shown = ferry_printable_text (message, -1);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_USAGE, "%s (see `man %s`)", shown, o->cli.program);
  return FALSE;
}

static gboolean
take_value (
    FerrySendmailOptions *o, int argc, char **argv, int *i, const char **value, GError **error)
{
  const char *arg = argv[*i];

  if (arg[2] != '\0')
    {
      *value = arg + 2;
      return TRUE;
    }
  if (*i + 1 >= argc)
    return usage_error (o, error, "option %s needs a value", arg);
  *value = argv[++*i];
  return TRUE;
}

static gboolean
parse_long_option (FerrySendmailOptions *o, int argc, char **argv, int *i, GError **error)
{
  const char *arg = argv[*i];

  if (g_str_equal (arg, "--read-envelope-from"))
    o->read_envelope_from = TRUE;
  else if (g_str_equal (arg, "--read-recipients"))
    o->read_recipients = TRUE;
  else if (g_str_has_prefix (arg, "--account="))
    o->account = arg + strlen ("--account=");
  else if (g_str_equal (arg, "--account") && *i + 1 < argc)
    o->account = argv[++*i];
  else if (g_str_has_prefix (arg, "--from="))
    o->envelope_from = arg + strlen ("--from=");
  else if (g_str_equal (arg, "--verbose"))
    o->cli.verbose = TRUE;
  else
    return usage_error (o, error, "unknown option %s", arg);
  return TRUE;
}

static gboolean
parse_short_option (FerrySendmailOptions *o, int argc, char **argv, int *i, GError **error)
{
  const char *arg = argv[*i];
  const char *value = NULL;

  switch (arg[1])
    {
      case 'a':
        return take_value (o, argc, argv, i, &o->account, error);
      case 'f':
      case 'r':
        return take_value (o, argc, argv, i, &o->envelope_from, error);
      case 'C':
        return take_value (o, argc, argv, i, &o->cli.config_path, error);
      case 't':
      case 'i':
      case 'v':
        if (arg[2] != '\0')
          break;
        o->read_recipients |= arg[1] == 't';
        o->dot_ends_message &= arg[1] != 'i';
        o->cli.verbose |= arg[1] == 'v';
        return TRUE;
      case 'o':
        /* -oi is -i; -oem, -odi, -odb and the rest set sendmail's error
         * and delivery modes: queueing then waking is what this program
         * does in every mode, and errors always come back as the exit
         * code. */
        if (arg[2] == '\0')
          return usage_error (o, error, "option -o needs a letter");
        if (g_str_equal (arg, "-oi"))
          o->dot_ends_message = FALSE;
        return TRUE;
      case 'b':
        if (g_str_equal (arg, "-bm"))
          return TRUE;
        return usage_error (o, error,
                            "%s is not supported; ferry-sendmail only queues messages (-bm); "
                            "see `ferry queue list` for the queue",
                            arg);
      default:
        if (strchr (ignored_with_value, arg[1]) != NULL)
          return take_value (o, argc, argv, i, &value, error);
        if (strchr (ignored_flags, arg[1]) != NULL && arg[2] == '\0')
          return TRUE;
        break;
    }
  return usage_error (o, error, "unknown option %s", arg);
}

/**
 * ferry_sendmail_options_init:
 * @self: options to set to sendmail's defaults
 * @program: the program's name, for messages
 */
void
ferry_sendmail_options_init (FerrySendmailOptions *self, const char *program)
{
  g_return_if_fail (self != NULL);

  *self = (FerrySendmailOptions){ .cli = { .program = program }, .dot_ends_message = TRUE };
  self->recipients = g_ptr_array_new_with_free_func (g_free);
}

void
ferry_sendmail_options_clear (FerrySendmailOptions *self)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->recipients, g_ptr_array_unref);
}

/**
 * ferry_sendmail_options_parse:
 * @self: options from ferry_sendmail_options_init()
 * @argc: as main() has it
 * @argv: as main() has it; the options point into it
 * @error: return location for a #GError
 *
 * Returns: whether the command line is one ferry-sendmail takes
 */
gboolean
ferry_sendmail_options_parse (FerrySendmailOptions *self, int argc, char **argv, GError **error)
{
  gboolean options_done = FALSE;

  g_return_val_if_fail (self != NULL && self->recipients != NULL, FALSE);
  g_return_val_if_fail (argc >= 1 && argv != NULL, FALSE);

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      gboolean ok;

      if (options_done || arg[0] != '-' || arg[1] == '\0')
        ok = ferry_outbox_message_add_recipients (arg, self->recipients, error);
      else if (g_str_equal (arg, "--"))
        ok = options_done = TRUE;
      else if (arg[1] == '-')
        ok = parse_long_option (self, argc, argv, &i, error);
      else
        ok = parse_short_option (self, argc, argv, &i, error);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/**
 * ferry_sendmail_options_collect_recipients:
 * @self: parsed options
 * @headers: the message's
 * @error: return location for a #GError
 *
 * Adds the message's recipients with -t.
 *
 * Returns: whether there is anyone to send to
 */
gboolean
ferry_sendmail_options_collect_recipients (FerrySendmailOptions *self,
                                           FerryOutboxHeaders *headers,
                                           GError **error)
{
  g_return_val_if_fail (self != NULL && headers != NULL, FALSE);

  if (self->read_recipients)
    for (guint i = 0; i < headers->recipients->len; i++)
      if (!ferry_outbox_message_add_recipients (g_ptr_array_index (headers->recipients, i),
                                                self->recipients, error))
        return FALSE;

  if (self->recipients->len == 0)
    {
      if (self->read_recipients)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                     "The message has no recipients in To:, Cc: or Bcc:; nothing was queued");
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_USAGE,
                     "No recipients: name them after the options, or use -t to read them "
                     "from the message");
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_sendmail_options_choose_sender:
 * @self: parsed options
 * @headers: the message's
 * @error: set when the sender the options ask for is not an address
 *
 * Returns: (transfer full) (nullable): the envelope sender: From: with
 *   --read-envelope-from, else -f, else From:; %NULL with no error when
 *   none is known, for the account's address to stand in
 */
char *
ferry_sendmail_options_choose_sender (FerrySendmailOptions *self,
                                      FerryOutboxHeaders *headers,
                                      GError **error)
{
  g_return_val_if_fail (self != NULL && headers != NULL, NULL);

  if (self->read_envelope_from)
    {
      if (headers->from_address == NULL)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                     "--read-envelope-from: the message has no From: address");
      return g_strdup (headers->from_address);
    }
  if (self->envelope_from != NULL)
    return ferry_outbox_message_parse_address (self->envelope_from, error);
  return g_strdup (headers->from_address);
}
