/* test-printable-text.c: tests for src/core/printable-text.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/printable-text.h"

static void
check (const char *text, gssize length, const char *expected)
{
  g_autofree char *shown = ferry_printable_text (text, length);

  g_assert_cmpstr (shown, ==, expected);
}

static void
test_plain_text_is_kept (void)
{
  check ("Logged in", -1, "Logged in");
  check ("Grüße, 日本", -1, "Grüße, 日本");
  check ("", -1, "");
  check (NULL, 0, "");
}

static void
test_control_characters_become_spaces (void)
{
  /* C0 with a terminal escape, DEL, and C1 CSI (U+009B) and NEL. */
  check ("red \033[31mtext\r\n", -1, "red  [31mtext  ");
  check ("a\177b", -1, "a b");
  check ("a\302\233"
         "31mb\302\205c",
         -1, "a 31mb c");
}

static void
test_invalid_bytes_are_replaced (void)
{
  check ("caf\351", -1, "caf\357\277\275");
  check ("ab\0cd", 5, "ab\357\277\275cd");
  check ("abcdef", 3, "abc");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/printable-text/plain-text-is-kept", test_plain_text_is_kept);
  g_test_add_func ("/printable-text/control-characters-become-spaces",
                   test_control_characters_become_spaces);
  g_test_add_func ("/printable-text/invalid-bytes-are-replaced", test_invalid_bytes_are_replaced);
  return g_test_run ();
}
