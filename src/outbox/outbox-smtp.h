/* outbox-smtp.h: delivering one message over SMTP with libcurl
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"

G_BEGIN_DECLS

typedef enum
{
  FERRY_SMTP_STATUS_DELIVERED, /* the server took responsibility for this recipient */
  FERRY_SMTP_STATUS_TEMPORARY, /* 4xx, network or TLS trouble: try again later */
  FERRY_SMTP_STATUS_PERMANENT, /* 5xx: do not retry until the user says so */
} FerrySmtpStatus;

typedef struct
{
  char *address;
  FerrySmtpStatus status;
  guint code;  /* the SMTP reply code that decided, 0 when there was none */
  char *reply; /* that reply's text, e.g. "550 5.1.1 <x@y>: no such user" */
} FerrySmtpRecipientResult;

typedef struct
{
  GPtrArray *recipients; /* FerrySmtpRecipientResult, in the order they were given */
  guint code;            /* the last reply code libcurl saw, 0 for none */
  char *reply;           /* a one-line summary for the user: the server's reply or the
                          * connection error, never containing a secret */
} FerrySmtpResult;

typedef struct
{
  const FerryAccount *account;
  const char *password;     /* nullable: AUTH with account->smtp_user */
  const char *oauth2_token; /* nullable: AUTH XOAUTH2 with account->smtp_user */
  guint timeout_seconds;
  const char *sender;            /* envelope sender, may be "" for <> */
  const char *const *recipients; /* NULL-terminated */
  GBytes *data;                  /* the message as sent: CRLF lines, no Bcc */
} FerrySmtpRequest;

FerrySmtpResult *ferry_outbox_smtp_deliver (const FerrySmtpRequest *request,
                                            GCancellable *cancellable,
                                            GError **error);
void ferry_smtp_result_free (FerrySmtpResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySmtpResult, ferry_smtp_result_free)

G_END_DECLS
