/* fuzz-outbox-spool.c: the queue's envelope files, src/outbox/outbox-spool.c
 *
 * The input is an envelope file. Asserts that it is read or refused with
 * an error, and that an entry read and written again reads back the
 * same: the text written from it is written again byte for byte.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdint.h>
#include <string.h>

#include "core/errors.h"
#include "outbox/outbox-spool.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (FerryOutboxEntry) entry = ferry_outbox_entry_new ();
  g_autoptr (FerryOutboxEntry) again = ferry_outbox_entry_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *written = NULL;
  g_autofree char *rewritten = NULL;

  if (!ferry_outbox_entry_deserialize (entry, (const char *) data, size, &error))
    {
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
      return 0;
    }
  g_assert_no_error (error);
  written = ferry_outbox_entry_serialize (entry);
  g_assert_true (ferry_outbox_entry_deserialize (again, written, strlen (written), &error));
  g_assert_no_error (error);
  rewritten = ferry_outbox_entry_serialize (again);
  g_assert_cmpstr (rewritten, ==, written);
  return 0;
}
