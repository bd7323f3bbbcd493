/* secret-service.h: libsecret, loaded when the keyring is first asked
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsecret/secret.h>

G_BEGIN_DECLS

/* The libsecret functions Ferry calls, with libsecret's own signatures. */
typedef struct
{
  GList *(*password_searchv_sync) (const SecretSchema *schema,
                                   GHashTable *attributes,
                                   SecretSearchFlags flags,
                                   GCancellable *cancellable,
                                   GError **error);
  gchar *(*password_lookupv_nonpageable_sync) (const SecretSchema *schema,
                                               GHashTable *attributes,
                                               GCancellable *cancellable,
                                               GError **error);
  gboolean (*password_storev_sync) (const SecretSchema *schema,
                                    GHashTable *attributes,
                                    const gchar *collection,
                                    const gchar *label,
                                    const gchar *password,
                                    GCancellable *cancellable,
                                    GError **error);
  gboolean (*password_clearv_sync) (const SecretSchema *schema,
                                    GHashTable *attributes,
                                    GCancellable *cancellable,
                                    GError **error);
  void (*password_free) (gchar *password);
} FerrySecretService;

const FerrySecretService *ferry_secret_service_get (GError **error);

G_END_DECLS
