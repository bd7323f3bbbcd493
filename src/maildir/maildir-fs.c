/* maildir-fs.c: file system steps the Maildir modules share
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE /* renameat2() and RENAME_NOREPLACE */

#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable-file.h"
#include "maildir/maildir-fs.h"

void
ferry_maildir_fs_set_errno_error (GError **error,
                                  int saved_errno,
                                  const char *action,
                                  const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot %s %s: %s", action,
               what, g_strerror (saved_errno));
}

/* Returns @text for a message: valid UTF-8 stays readable, control
 * characters and bytes that are not UTF-8 become \xNN, so that a hostile
 * name can neither garble a terminal nor hide what it is. */
char *
ferry_maildir_fs_display (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2 || c < 0x20 || c == 0x7f)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (c == '\\')
        g_string_append_c (out, '\\');
      g_string_append_unichar (out, c);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

/* mkdir -p with mode 0700, making each directory it creates durable by
 * flushing its parent. Symbolic links in @path are followed: it comes from
 * the user's configuration, not from a server. */
gboolean
ferry_maildir_fs_mkdir_parents (const char *path, GError **error)
{
  g_autofree char *parent = NULL;
  struct stat st;

  if (mkdir (path, 0700) == 0)
    {
      parent = g_path_get_dirname (path);
      return ferry_durable_fsync_dir (parent, error);
    }
  if (errno == EEXIST)
    {
      if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        return TRUE;
      ferry_maildir_fs_set_errno_error (error, ENOTDIR, "create directory", path);
      return FALSE;
    }
  if (errno != ENOENT)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "create directory", path);
      return FALSE;
    }

  parent = g_path_get_dirname (path);
  if (g_str_equal (parent, path))
    {
      ferry_maildir_fs_set_errno_error (error, ENOENT, "create directory", path);
      return FALSE;
    }
  return ferry_maildir_fs_mkdir_parents (parent, error)
         && ferry_maildir_fs_mkdir_parents (path, error);
}

/* Opens @name inside @dir_fd as a directory, never through a symbolic
 * link, creating it (0700, durably) first when @create is set. @dir_path
 * names @dir_fd in messages. Returns the new descriptor or -1. */
int
ferry_maildir_fs_open_subdir (
    int dir_fd, const char *dir_path, const char *name, gboolean create, GError **error)
{
  g_autofree char *path = g_build_filename (dir_path, name, NULL);
  gboolean created = FALSE;
  int fd;

  if (create)
    {
      if (mkdirat (dir_fd, name, 0700) == 0)
        created = TRUE;
      else if (errno != EEXIST)
        {
          ferry_maildir_fs_set_errno_error (error, errno, "create directory", path);
          return -1;
        }
    }

  fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;
      struct stat st;

      if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS,
                     "%s is a symbolic link; Ferry does not make or use folders through symbolic "
                     "links inside a Maildir root. Replace it with a directory to sync it.",
                     path);
      else
        ferry_maildir_fs_set_errno_error (error, saved_errno, "open directory", path);
      return -1;
    }

  if (created && !ferry_durable_fsync_fd (dir_fd, dir_path, error))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Makes @dir_fd a Maildir: cur/, new/ and tmp/, each 0700 and durable. */
gboolean
ferry_maildir_fs_ensure_maildir_dirs (int dir_fd, const char *dir_path, GError **error)
{
  static const char *const subdirs[] = { "cur", "new", "tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      int fd = ferry_maildir_fs_open_subdir (dir_fd, dir_path, subdirs[i], TRUE, error);

      if (fd < 0)
        return FALSE;
      close (fd);
    }
  return TRUE;
}

/* Renames @from to @to unless @to exists (then EEXIST). Returns 0 or an
 * errno value. File systems without RENAME_NOREPLACE get link() and
 * unlink(), which refuse to replace just the same; a crash between them
 * leaves a second name for the file, which is harmless in tmp/ and
 * otherwise shows up as a duplicate the scanner reports once. */
int
ferry_maildir_fs_rename_noreplace (const char *from, const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    return errno;

  if (link (from, to) != 0)
    return errno;
  if (unlink (from) != 0 && errno != ENOENT)
    return errno;
  return 0;
}

/* Whether @name inside @dir_fd is a directory itself, not a symbolic link. */
gboolean
ferry_maildir_fs_is_subdir (int dir_fd, const char *name)
{
  struct stat st;

  return fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}
