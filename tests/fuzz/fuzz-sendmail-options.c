/* fuzz-sendmail-options.c: ferry-sendmail's command line and the message
 * headers it reads, src/cli/sendmail-options.c and
 * src/outbox/outbox-message.c
 *
 * The input is the arguments, each ended by a NUL, then a second NUL and
 * the message. Asserts that a refusal is a usage or data error on one
 * line, and that every address that would reach the SMTP envelope is a
 * full address that cannot end or split an SMTP command.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdint.h>
#include <string.h>

#include "cli/sendmail-options.h"
#include "core/errors.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_refusal (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_USAGE)
                 || g_error_matches (error, FERRY_ERROR, FERRY_ERROR_DATA));
  for (const char *c = error->message; *c != '\0'; c++)
    g_assert_true ((guchar) *c >= 0x20 && *c != 0x7f);
}

static void
check_envelope_address (const char *address, gboolean may_be_null_sender)
{
  if (may_be_null_sender && *address == '\0')
    return;
  g_assert_nonnull (strchr (address, '@'));
  for (const char *c = address; *c != '\0'; c++)
    g_assert_true ((guchar) *c > 0x20 && *c != 0x7f && *c != '<' && *c != '>');
}

/* Splits the input into argv (owned by @args) and the message. */
static char **
split_input (const uint8_t *data, size_t size, GPtrArray *args, GBytes **message)
{
  const char *p = (const char *) data;
  const char *end = p + size;

  g_ptr_array_add (args, g_strdup ("ferry-sendmail"));
  while (p < end && *p != '\0' && args->len < MAX_ARGS)
    {
      const char *nul = memchr (p, '\0', (gsize) (end - p));
      const char *arg_end = nul != NULL ? nul : end;

      g_ptr_array_add (args, g_strndup (p, (gsize) (arg_end - p)));
      p = arg_end < end ? arg_end + 1 : end;
    }
  if (p < end && *p == '\0')
    p++;
  *message = g_bytes_new (p, (gsize) (end - p));
  g_ptr_array_add (args, NULL);
  return (char **) args->pdata;
}

static void
check_message (FerrySendmailOptions *options, GBytes *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryOutboxHeaders) headers = ferry_outbox_message_parse (message, &error);
  g_autofree char *sender = NULL;

  if (headers == NULL)
    {
      check_refusal (error);
      return;
    }
  if (!ferry_sendmail_options_collect_recipients (options, headers, &error))
    {
      check_refusal (error);
      return;
    }
  g_assert_cmpuint (options->recipients->len, >, 0);
  for (guint i = 0; i < options->recipients->len; i++)
    check_envelope_address (g_ptr_array_index (options->recipients, i), FALSE);
  sender = ferry_sendmail_options_choose_sender (options, headers, &error);
  if (error != NULL)
    check_refusal (error);
  else if (sender != NULL)
    check_envelope_address (sender, TRUE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GBytes) message = NULL;
  g_autoptr (GError) error = NULL;
  FerrySendmailOptions options;
  char **argv = split_input (data, size, args, &message);

  ferry_sendmail_options_init (&options, "ferry-sendmail");
  if (ferry_sendmail_options_parse (&options, (int) args->len - 1, argv, &error))
    {
      for (guint i = 0; i < options.recipients->len; i++)
        check_envelope_address (g_ptr_array_index (options.recipients, i), FALSE);
      check_message (&options, message);
    }
  else
    check_refusal (error);
  ferry_sendmail_options_clear (&options);
  return 0;
}
