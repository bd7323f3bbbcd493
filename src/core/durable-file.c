/* durable-file.c: writes that survive a crash or a power cut
 *
 * A file is durable once its data and the directory entry naming it have
 * both reached the disk: write to a temporary name, fsync the file, rename
 * it over the final name, fsync the directory. Until the rename, readers
 * see the old file; after the directory fsync, the new one survives.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE /* sync_file_range() */

#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "durable-file.h"

static void
set_errno_error (GError **error, int saved_errno, const char *action, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot %s %s: %s", action,
               what, g_strerror (saved_errno));
}

/**
 * ferry_durable_write_all:
 * @fd: a file descriptor open for writing
 * @data: bytes to write
 * @len: how many
 * @what: the file's name, for the error message
 * @error: return location for a #GError
 *
 * Writes all of @data, retrying short writes and %EINTR. A full disk is
 * reported as %G_IO_ERROR_NO_SPACE.
 */
gboolean
ferry_durable_write_all (int fd, const void *data, gsize len, const char *what, GError **error)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, "write", what);
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }

  return TRUE;
}

/**
 * ferry_durable_fsync_fd:
 * @fd: an open file
 * @what: its name, for the error message
 * @error: return location for a #GError
 *
 * Flushes @fd's data to the disk. Delayed allocation means a full disk may
 * first show here, so its error is as important as write()'s.
 */
gboolean
ferry_durable_fsync_fd (int fd, const char *what, GError **error)
{
  while (fsync (fd) != 0)
    {
      if (errno == EINTR)
        continue;
      set_errno_error (error, errno, "flush", what);
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_durable_start_writeback:
 * @fd: an open file
 *
 * Starts writing @fd's dirty pages to the disk, without waiting: files
 * that are all started first and fsynced after reach the disk together.
 * Only a hint; durability still takes ferry_durable_fsync_fd(), which
 * reports any error, so a file system that cannot do this is no matter.
 */
void
ferry_durable_start_writeback (int fd)
{
  while (sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0 && errno == EINTR)
    ;
}

/**
 * ferry_durable_fsync_dir:
 * @dir: a directory whose entries changed
 * @error: return location for a #GError
 *
 * Makes creations, renames and removals inside @dir durable.
 */
gboolean
ferry_durable_fsync_dir (const char *dir, GError **error)
{
  int fd;
  gboolean ok;

  g_return_val_if_fail (dir != NULL, FALSE);

  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open directory", dir);
      return FALSE;
    }
  ok = ferry_durable_fsync_fd (fd, dir, error);
  close (fd);
  return ok;
}

/**
 * ferry_durable_replace_file:
 * @path: the file to create or replace
 * @data: its new contents
 * @len: their length
 * @error: return location for a #GError
 *
 * Replaces @path atomically and durably with mode 0600: after a crash at
 * any moment, @path holds either its old contents or all of @data.
 */
gboolean
ferry_durable_replace_file (const char *path, const void *data, gsize len, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *tmp_path = NULL;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);

  tmp_path = g_strdup_printf ("%s.tmp-XXXXXX", path);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_errno_error (error, errno, "create", tmp_path);
      return FALSE;
    }

  if (!ferry_durable_write_all (fd, data, len, tmp_path, error)
      || !ferry_durable_fsync_fd (fd, tmp_path, error))
    {
      close (fd);
      g_unlink (tmp_path);
      return FALSE;
    }
  close (fd);

  if (g_rename (tmp_path, path) != 0)
    {
      set_errno_error (error, errno, "rename into place", path);
      g_unlink (tmp_path);
      return FALSE;
    }

  dir = g_path_get_dirname (path);
  return ferry_durable_fsync_dir (dir, error);
}
