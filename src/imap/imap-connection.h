/* imap-connection.h: the transport under an IMAP client: TCP, TLS, timeouts
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "imap/imap-parser.h"

G_BEGIN_DECLS

#define FERRY_IMAP_DEFAULT_TIMEOUT 60

/* Where and how to connect; the strings are borrowed for the call. */
typedef struct
{
  const char *host;
  guint16 port;                /* 0: 993 with FERRY_SECURITY_TLS, else 143 */
  FerrySecurity security;      /* TLS: IMAPS; STARTTLS: required upgrade; NONE: plain */
  const char *ca_file;         /* nullable: trust the system's certificate authorities */
  const char *tls_fingerprint; /* nullable: public-key pins, "sha256//BASE64" separated by
                                * ";" (core/tls-pin.h); a certificate with one of these keys
                                * is trusted even when self-signed, and no other is */
  const char *user;
  guint timeout_seconds; /* a server silent for this long fails the call; 0: 60 */
} FerryImapSettings;

void ferry_imap_settings_from_account (FerryImapSettings *settings,
                                       const FerryAccount *account,
                                       guint timeout_seconds);

typedef struct _FerryImapConnection FerryImapConnection;

/* Called at every literal the parser reaches, to stream it if it should. */
typedef void (*FerryImapLiteralFunc) (FerryImapParser *parser, gpointer user_data);

FerryImapConnection *ferry_imap_connection_open (const FerryImapSettings *settings,
                                                 GCancellable *cancellable,
                                                 GError **error);
void ferry_imap_connection_free (FerryImapConnection *self);
const char *ferry_imap_connection_get_host (FerryImapConnection *self);
gboolean ferry_imap_connection_start_tls (FerryImapConnection *self,
                                          GCancellable *cancellable,
                                          GError **error);
gboolean ferry_imap_connection_is_loopback (FerryImapConnection *self);
gboolean ferry_imap_connection_start_compression (FerryImapConnection *self, GError **error);
gboolean ferry_imap_connection_write (FerryImapConnection *self,
                                      const char *data,
                                      gsize length,
                                      GCancellable *cancellable,
                                      GError **error);
gboolean ferry_imap_connection_write_from_fd (
    FerryImapConnection *self, int fd, guint64 size, GCancellable *cancellable, GError **error);
FerryImapResponse *ferry_imap_connection_read (FerryImapConnection *self,
                                               FerryImapLiteralFunc literal_func,
                                               gpointer user_data,
                                               GCancellable *cancellable,
                                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapConnection, ferry_imap_connection_free)

G_END_DECLS
