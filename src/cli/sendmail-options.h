/* sendmail-options.h: sendmail's command line, and what it makes of a message
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "cli/cli-common.h"
#include "outbox/outbox-message.h"

G_BEGIN_DECLS

typedef struct
{
  FerryCli cli;
  const char *account;       /* -a, --account */
  const char *envelope_from; /* -f, -r, --from */
  gboolean read_recipients;  /* -t */
  gboolean read_envelope_from;
  gboolean dot_ends_message; /* sendmail's default; -i and -oi turn it off */
  GPtrArray *recipients;     /* from the command line, bare addresses */
} FerrySendmailOptions;

void ferry_sendmail_options_init (FerrySendmailOptions *self, const char *program);
void ferry_sendmail_options_clear (FerrySendmailOptions *self);
gboolean
ferry_sendmail_options_parse (FerrySendmailOptions *self, int argc, char **argv, GError **error);
gboolean ferry_sendmail_options_collect_recipients (FerrySendmailOptions *self,
                                                    FerryOutboxHeaders *headers,
                                                    GError **error);
char *ferry_sendmail_options_choose_sender (FerrySendmailOptions *self,
                                            FerryOutboxHeaders *headers,
                                            GError **error);

G_END_DECLS
