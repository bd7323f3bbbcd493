/* fuzz-maildir-layout.c: folder name to path, src/maildir/maildir-layout.c
 *
 * Asserts what the layout promises for any name a server could send: the
 * path is the INBOX's or lies below the root, level by level, never on
 * ".", "..", an empty level or a Maildir's own cur/, new/ and tmp/.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "maildir/maildir-layout.h"

#define ROOT "/home/user/Mail"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
is_maildir_structure (const char *level)
{
  return g_str_equal (level, "cur") || g_str_equal (level, "new") || g_str_equal (level, "tmp");
}

static void
check_level (FerrySubfolders style, const char *level)
{
  g_assert_cmpstr (level, !=, "");
  g_assert_cmpstr (level, !=, ".");
  g_assert_cmpstr (level, !=, "..");
  g_assert_true (g_utf8_validate (level, -1, NULL));
  g_assert_cmpuint (strlen (level), <=, NAME_MAX);
  for (const char *p = level; *p != '\0'; p++)
    g_assert_true ((guchar) *p >= 0x20 && *p != 0x7f);
  if (style == FERRY_SUBFOLDERS_VERBATIM)
    {
      g_assert_false (is_maildir_structure (level));
      g_assert_cmpint (level[0], !=, '.');
    }
  else
    {
      /* One level, ".A.B": what follows the first dot has no empty part. */
      g_assert_cmpint (level[0], ==, '.');
      g_assert_false (strstr (level + 1, "..") != NULL);
      g_assert_cmpint (level[1], !=, '\0');
      g_assert_cmpint (level[1], !=, '.');
      g_assert_false (g_str_has_suffix (level, "."));
    }
}

static void
check_path (FerryMaildirLayout *layout, FerrySubfolders style, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ferry_maildir_layout_path_for (layout, name, &error);
  g_auto (GStrv) levels = NULL;

  if (path == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_no_error (error);
  if (g_str_equal (path, ferry_maildir_layout_get_inbox_path (layout)))
    return;
  g_assert_true (g_str_has_prefix (path, ROOT "/"));
  levels = g_strsplit (path + strlen (ROOT "/"), "/", -1);
  if (style == FERRY_SUBFOLDERS_MAILDIRPP)
    g_assert_cmpuint (g_strv_length (levels), ==, 1);
  for (guint i = 0; levels[i] != NULL; i++)
    check_level (style, levels[i]);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const FerrySubfolders styles[] = { FERRY_SUBFOLDERS_VERBATIM, FERRY_SUBFOLDERS_MAILDIRPP };
  g_autofree char *name = g_strndup ((const char *) data, size);

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    {
      g_autoptr (GError) error = NULL;
      FerryMaildirLayout *layout = ferry_maildir_layout_new (ROOT, styles[i], NULL, &error);

      g_assert_no_error (error);
      check_path (layout, styles[i], name);
      ferry_maildir_layout_free (layout);
    }
  return 0;
}
