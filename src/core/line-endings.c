/* line-endings.c: messages as a Maildir holds them (LF) and as IMAP
 * carries them (CRLF)
 *
 * IMAP sends a message with CRLF line ends (RFC 3501 2.3.1, RFC 5322
 * 2.3); a Maildir, like every Unix mail file, holds LF, which is what
 * mutt, mu and notmuch expect and what mbsync and OfflineIMAP write. The
 * sync turns one into the other at the IMAP side; a CR not followed by LF,
 * or an LF not preceded by CR, is kept as it is.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/line-endings.h"

#define CHUNK (128 * 1024)

static gboolean
io_failed (const char *doing, GError **error)
{
  int saved = errno;

  g_set_error (error, FERRY_ERROR,
               saved == ENOSPC || saved == EDQUOT ? FERRY_ERROR_TEMP_FAIL : FERRY_ERROR_IO,
               _ ("Cannot %s a message: %s"), doing, g_strerror (saved));
  return FALSE;
}

static gboolean
write_all_at (int fd, const char *data, gsize len, off_t offset, GError **error)
{
  while (len > 0)
    {
      gssize n = pwrite (fd, data, len, offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return io_failed ("rewrite", error);
      data += n;
      len -= n;
      offset += n;
    }
  return TRUE;
}

/**
 * ferry_line_endings_to_lf_in_place:
 * @fd: a file open for reading and writing, holding a message
 * @size: (out) (optional): its size afterwards
 * @error: return location for a #GError
 *
 * Turns every CRLF of the file into LF, in place. The file only shrinks,
 * so each chunk is written back before the part it overwrites is needed.
 */
gboolean
ferry_line_endings_to_lf_in_place (int fd, guint64 *size, GError **error)
{
  g_autofree char *in = g_malloc (CHUNK + 1);
  g_autofree char *out = g_malloc (CHUNK + 1);
  off_t read_at = 0, write_at = 0;
  gboolean held_cr = FALSE; /* the last chunk ended in CR: its LF may come next */

  g_return_val_if_fail (fd >= 0, FALSE);

  for (;;)
    {
      gssize n = pread (fd, in, CHUNK, read_at);
      gsize kept = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return io_failed ("read back", error);
      if (n == 0)
        break;
      read_at += n;
      for (gssize i = 0; i < n; i++)
        {
          if (held_cr && in[i] != '\n')
            out[kept++] = '\r';
          held_cr = FALSE;
          if (in[i] == '\r')
            held_cr = TRUE;
          else
            out[kept++] = in[i];
        }
      if (!write_all_at (fd, out, kept, write_at, error))
        return FALSE;
      write_at += kept;
    }
  if (held_cr)
    {
      if (!write_all_at (fd, "\r", 1, write_at, error))
        return FALSE;
      write_at++;
    }
  if (ftruncate (fd, write_at) < 0)
    return io_failed ("shorten", error);
  if (size != NULL)
    *size = (guint64) write_at;
  return TRUE;
}

/**
 * ferry_line_endings_copy_to_crlf:
 * @from: a message with LF line ends, read from its current offset
 * @to: where to write it with CRLF
 * @size: (out) (optional): how many bytes were written
 * @error: return location for a #GError
 */
gboolean
ferry_line_endings_copy_to_crlf (int from, int to, guint64 *size, GError **error)
{
  g_autofree char *in = g_malloc (CHUNK);
  g_autofree char *out = g_malloc (2 * CHUNK);
  gboolean after_cr = FALSE;
  guint64 written = 0;

  g_return_val_if_fail (from >= 0 && to >= 0, FALSE);

  for (;;)
    {
      gssize n = read (from, in, CHUNK);
      gsize len = 0;
      const char *p;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return io_failed ("read", error);
      if (n == 0)
        break;
      for (gssize i = 0; i < n; i++)
        {
          if (in[i] == '\n' && !after_cr)
            out[len++] = '\r';
          out[len++] = in[i];
          after_cr = in[i] == '\r';
        }
      for (p = out; len > 0;)
        {
          gssize w = write (to, p, len);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return io_failed ("write", error);
          p += w;
          len -= w;
          written += w;
        }
    }
  if (size != NULL)
    *size = written;
  return TRUE;
}
