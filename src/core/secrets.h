/* secrets.h: passwords and tokens from the keyring or a command
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
  FERRY_SERVICE_SMTP,
  FERRY_SERVICE_IMAP,
} FerryService;

/* A NUL-terminated secret (password or token). It lives in memory that
 * is wiped when freed; free it with ferry_secret_free() only. */
typedef char FerrySecret;

void ferry_secret_free (FerrySecret *secret);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySecret, ferry_secret_free)

void ferry_secrets_protect_process (void);
const char *ferry_service_to_string (FerryService service);
gboolean ferry_service_from_string (const char *name, FerryService *out);

FerrySecret *ferry_secrets_lookup_password (const FerryAccount *account,
                                            FerryService service,
                                            GCancellable *cancellable,
                                            GError **error);
FerrySecret *
ferry_secrets_oauth2_token (const FerryAccount *account, GCancellable *cancellable, GError **error);
gboolean ferry_secrets_store_password (const FerryAccount *account,
                                       FerryService service,
                                       const char *password,
                                       GCancellable *cancellable,
                                       GError **error);
gboolean ferry_secrets_clear_password (const FerryAccount *account,
                                       FerryService service,
                                       gboolean *removed,
                                       GCancellable *cancellable,
                                       GError **error);
FerrySecret *
ferry_secrets_run_command (const char *command_line, GCancellable *cancellable, GError **error);

G_END_DECLS
