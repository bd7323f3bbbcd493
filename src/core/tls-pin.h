/* tls-pin.h: public-key pins of TLS servers, in curl's "sha256//" form
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FERRY_TLS_PIN_PREFIX "sha256//"

char *ferry_tls_pin_from_certificate_der (const guint8 *der, gsize length);
gboolean ferry_tls_pin_is_valid (const char *pin);
GStrv ferry_tls_pin_parse_list (const char *value, const char *key, GError **error);
gboolean ferry_tls_pin_list_contains (const char *const *pins, const char *pin);

G_END_DECLS
