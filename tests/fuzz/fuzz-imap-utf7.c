/* fuzz-imap-utf7.c: the modified UTF-7 codec of src/imap/imap-utf7.c
 *
 * Asserts that there is one spelling of each name: whatever decodes
 * encodes back to the same bytes, and whatever valid UTF-8 encodes
 * decodes back to itself.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdint.h>

#include "imap/imap-utf7.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_decode_encode (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *decoded = ferry_imap_utf7_decode (text, &error);
  g_autofree char *encoded = NULL;

  if (decoded == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_true (g_utf8_validate (decoded, -1, NULL));
  encoded = ferry_imap_utf7_encode (decoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (encoded, ==, text);
}

static void
check_encode_decode (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *encoded = NULL;
  g_autofree char *decoded = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    return;
  encoded = ferry_imap_utf7_encode (text, &error);
  g_assert_no_error (error);
  decoded = ferry_imap_utf7_decode (encoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (decoded, ==, text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);

  check_decode_encode (text);
  check_encode_decode (text);
  return 0;
}
