/* fuzz-maildir-flags.c: the info part of Maildir file names,
 * src/maildir/maildir-flags.c
 *
 * Asserts that a parsed name formats back to a name that parses the same,
 * and that the letters of any flags read back as those flags.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdint.h>

#include "maildir/maildir-flags.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_filename (const char *filename)
{
  g_autofree char *unique = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *formatted = NULL;
  g_autofree char *unique_again = NULL;
  g_autofree char *extra_again = NULL;
  FerryMailFlags flags, flags_again;

  if (!ferry_maildir_flags_parse_filename (filename, &unique, &flags, &extra))
    return;
  g_assert_nonnull (unique);
  g_assert_nonnull (extra);
  formatted = ferry_maildir_flags_format_filename (unique, flags, extra);
  g_assert_true (
      ferry_maildir_flags_parse_filename (formatted, &unique_again, &flags_again, &extra_again));
  g_assert_cmpstr (unique_again, ==, unique);
  g_assert_cmpuint (flags_again, ==, flags);
  g_assert_cmpstr (extra_again, ==, extra);
}

static void
check_letters (const char *letters)
{
  g_autofree char *extra = NULL;
  g_autofree char *extra_again = NULL;
  g_autofree char *written = NULL;
  FerryMailFlags flags = ferry_maildir_flags_from_letters (letters, &extra);

  written = ferry_maildir_flags_to_letters (flags, extra);
  g_assert_cmpuint (ferry_maildir_flags_from_letters (written, &extra_again), ==, flags);
  g_assert_cmpstr (extra_again, ==, extra);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);

  check_filename (text);
  check_letters (text);
  return 0;
}
