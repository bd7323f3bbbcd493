/* cli-demo-mail.h: the mail `ferry demo` puts on its server
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The demo user's own address. */
#define FERRY_CLI_DEMO_YOUR_ADDRESS "you@ferry.test"

typedef struct
{
  const char *folder;
  const char *name; /* the other person, UTF-8 */
  const char *address;
  const char *subject; /* UTF-8 */
  const char *body;
  const char *flags; /* Maildir letters, in ASCII order */
  guint hours_ago;
} FerryCliDemoMail;

guint ferry_cli_demo_mail_count (void);
const FerryCliDemoMail *ferry_cli_demo_mail_get (guint index);
char *ferry_cli_demo_mail_text (guint index, GDateTime *date);
char *ferry_cli_demo_mail_message_id (guint index);
guint ferry_cli_demo_mail_find_in_inbox (const char *flags);

G_END_DECLS
