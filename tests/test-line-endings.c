/* test-line-endings.c: CRLF ⇄ LF for messages between IMAP and Maildir
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <unistd.h>

#include "core/line-endings.h"

static int
file_with (const char *data, gsize len)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("ferry-test-eol-XXXXXX", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  g_unlink (path);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  return fd;
}

static GBytes *
contents (int fd)
{
  GByteArray *bytes = g_byte_array_new ();
  char buffer[4096];
  gssize n;

  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  while ((n = read (fd, buffer, sizeof buffer)) > 0)
    g_byte_array_append (bytes, (guint8 *) buffer, n);
  return g_byte_array_free_to_bytes (bytes);
}

static void
assert_to_lf (const char *in, gsize in_len, const char *expected, gsize expected_len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = NULL;
  int fd = file_with (in, in_len);
  guint64 size;

  g_assert_true (ferry_line_endings_to_lf_in_place (fd, &size, &error));
  g_assert_no_error (error);
  out = contents (fd);
  close (fd);
  g_assert_cmpuint (size, ==, expected_len);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), expected, expected_len);
}

static void
test_to_lf (void)
{
  assert_to_lf ("a\r\nb\r\n", 6, "a\nb\n", 4);
  assert_to_lf ("", 0, "", 0);
  /* A lone CR, a lone LF and a CR at the very end are kept. */
  assert_to_lf ("a\rb\nc\r", 6, "a\rb\nc\r", 6);
  assert_to_lf ("\r\r\n", 3, "\r\n", 2);
  assert_to_lf ("x\0y\r\n", 5, "x\0y\n", 4);
}

/* A CRLF split across the 128 KiB chunks is still one line end. */
static void
test_to_lf_across_chunks (void)
{
  gsize len = 3 * 128 * 1024 + 17;
  g_autofree char *in = g_malloc (len);
  GString *expected = g_string_new (NULL);
  g_autofree char *expected_text = NULL;
  gsize expected_len;

  for (gsize i = 0; i < len; i++)
    in[i] = i % 7 == 5 ? '\r' : i % 7 == 6 ? '\n' : 'a' + i % 26;
  in[128 * 1024 - 1] = '\r';
  in[128 * 1024] = '\n';
  for (gsize i = 0; i < len; i++)
    if (!(in[i] == '\r' && i + 1 < len && in[i + 1] == '\n'))
      g_string_append_c (expected, in[i]);
  expected_len = expected->len;
  expected_text = g_string_free (expected, FALSE);
  assert_to_lf (in, len, expected_text, expected_len);
}

static void
test_to_crlf (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = NULL;
  int from = file_with ("a\nb\r\nc\rd\n", 9);
  int to = file_with ("", 0);
  guint64 size;

  g_assert_cmpint (lseek (from, 0, SEEK_SET), ==, 0);
  g_assert_true (ferry_line_endings_copy_to_crlf (from, to, &size, &error));
  g_assert_no_error (error);
  out = contents (to);
  g_assert_cmpuint (size, ==, 11);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "a\r\nb\r\nc\rd\r\n", 11);
  close (from);
  close (to);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/line-endings/to-lf", test_to_lf);
  g_test_add_func ("/line-endings/to-lf-across-chunks", test_to_lf_across_chunks);
  g_test_add_func ("/line-endings/to-crlf", test_to_crlf);
  return g_test_run ();
}
