/* outbox-message.h: what the outbox needs to know of a message's header
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *from_address;    /* bare address of the first From: mailbox, or NULL */
  char *from;            /* From: decoded for display, or NULL */
  char *to;              /* To: decoded for display, or NULL */
  char *subject;         /* Subject: decoded from RFC 2047, or NULL */
  GPtrArray *recipients; /* bare addresses of To, Cc and Bcc, without repeats */
} FerryOutboxHeaders;

FerryOutboxHeaders *ferry_outbox_message_parse (GBytes *message, GError **error);
void ferry_outbox_headers_free (FerryOutboxHeaders *headers);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOutboxHeaders, ferry_outbox_headers_free)

char *ferry_outbox_message_parse_address (const char *text, GError **error);
gboolean
ferry_outbox_message_add_recipients (const char *text, GPtrArray *recipients, GError **error);
GBytes *ferry_outbox_message_for_wire (GBytes *message);

G_END_DECLS
