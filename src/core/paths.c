/* paths.c: where Ferry keeps its files (XDG base directories)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "errors.h"
#include "paths.h"

/**
 * ferry_paths_config_file:
 *
 * Returns: (transfer full): the configuration file: `$FERRY_CONFIG` when
 *   set, else `$XDG_CONFIG_HOME/ferry/config`.
 */
char *
ferry_paths_config_file (void)
{
  const char *override = g_getenv ("FERRY_CONFIG");

  if (override != NULL && *override != '\0')
    return g_strdup (override);

  return g_build_filename (g_get_user_config_dir (), "ferry", "config", NULL);
}

/**
 * ferry_paths_outbox_dir:
 *
 * Returns: (transfer full): `$XDG_DATA_HOME/ferry/outbox`.
 */
char *
ferry_paths_outbox_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "ferry", "outbox", NULL);
}

/**
 * ferry_paths_state_dir:
 *
 * Returns: (transfer full): `$XDG_STATE_HOME/ferry`.
 */
char *
ferry_paths_state_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "ferry", NULL);
}

/**
 * ferry_paths_expand_home:
 * @path: a path from the configuration
 *
 * Returns: (transfer full): @path with a leading `~/` replaced by the
 *   home directory, as a mutt or mbsync user writes it.
 */
char *
ferry_paths_expand_home (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  if (g_str_equal (path, "~"))
    return g_strdup (g_get_home_dir ());
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (g_get_home_dir (), path + 2, NULL);
  return g_strdup (path);
}

/**
 * ferry_paths_ensure_private_dir:
 * @path: a directory Ferry owns
 * @error: return location for a #GError
 *
 * Creates @path and its missing parents with mode 0700. An existing @path
 * that others can read or write is tightened to 0700: it holds mail.
 *
 * Returns: %TRUE when @path is a directory only its owner can use.
 */
gboolean
ferry_paths_ensure_private_dir (const char *path, GError **error)
{
  struct stat st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create directory %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (g_stat (path, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE, "%s is not a directory", path);
      return FALSE;
    }

  if ((st.st_mode & 077) != 0 && g_chmod (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot make %s private (mode 0700): %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/**
 * ferry_paths_remove_tree:
 * @path: a file or directory Ferry made
 *
 * Removes @path and everything under it, as far as it can. A symbolic
 * link is removed itself, never followed.
 */
void
ferry_paths_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_return_if_fail (path != NULL);

  if (g_unlink (path) == 0 || errno != EISDIR)
    return;

  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      ferry_paths_remove_tree (child);
    }
  g_rmdir (path);
}
