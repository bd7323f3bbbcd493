/* maildir-flags.c: the info part of Maildir file names ("NAME:2,FLAGS")
 *
 * A Maildir file name is a unique name, then optionally ':' and an info
 * part (cr.yp.to/proto/maildir.html). Info "2," is followed by flag letters
 * in ASCII order; the six the spec names map to FerryMailFlags, and other
 * letters (lower-case keywords that Dovecot and others set) are carried
 * along untouched. Where ':' cannot be used in file names, tools write '!'
 * instead ("NAME!2,FLAGS"); Ferry reads both and writes ':'.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "maildir/maildir-flags.h"

/* In ASCII order, the order the spec says letters are written in. */
static const struct
{
  char letter;
  FerryMailFlags flag;
} known_letters[] = {
  { 'D', FERRY_MAIL_FLAG_DRAFT },     { 'F', FERRY_MAIL_FLAG_FLAGGED },
  { 'P', FERRY_MAIL_FLAG_FORWARDED }, { 'R', FERRY_MAIL_FLAG_ANSWERED },
  { 'S', FERRY_MAIL_FLAG_SEEN },      { 'T', FERRY_MAIL_FLAG_DELETED },
};

static FerryMailFlags
flag_for_letter (char letter)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_letters); i++)
    if (known_letters[i].letter == letter)
      return known_letters[i].flag;
  return 0;
}

/* Characters kept as extra letters: anything but the known six and '/',
 * which cannot be part of a file name. */
static gboolean
is_extra_letter (char c)
{
  return c != '/' && flag_for_letter (c) == 0;
}

/* Where the info part of @filename starts (at its separator), or NULL.
 * The spec's ':' wins; '!' counts only when followed by "<digit>," so
 * that a plain '!' in a name made elsewhere is not taken for one. */
static const char *
find_info_separator (const char *filename)
{
  const char *colon = strchr (filename, ':');
  const char *bang;

  if (colon != NULL)
    return colon;
  bang = strrchr (filename, '!');
  if (bang != NULL && g_ascii_isdigit (bang[1]) && bang[2] == ',')
    return bang;
  return NULL;
}

/**
 * ferry_maildir_flags_from_letters:
 * @letters: the flag letters of an info part (after "2,")
 * @extra: (out) (optional) (transfer full): the other letters, each once,
 *   in ASCII order; "" when there are none
 *
 * Returns: the flags @letters name
 */
FerryMailFlags
ferry_maildir_flags_from_letters (const char *letters, char **extra)
{
  FerryMailFlags flags = 0;

  g_return_val_if_fail (letters != NULL, 0);

  for (const char *c = letters; *c != '\0'; c++)
    flags |= flag_for_letter (*c);
  if (extra != NULL)
    *extra = ferry_maildir_flags_to_letters (0, letters);
  return flags;
}

/**
 * ferry_maildir_flags_to_letters:
 * @flags: flags to write
 * @extra: (nullable): other letters to keep, as from_letters() returns them
 *
 * Known letters in @extra are ignored: @flags alone decides those.
 *
 * Returns: (transfer full): the letters of @flags and @extra, each once, in
 *   ASCII order, as the spec requires
 */
char *
ferry_maildir_flags_to_letters (FerryMailFlags flags, const char *extra)
{
  gboolean seen[256] = { FALSE };
  /* Built here and copied once at its size: a folder's scan keeps one of
   * these per message, mostly "". */
  char letters[256];
  gsize n = 0;

  for (const char *c = extra; c != NULL && *c != '\0'; c++)
    if (is_extra_letter (*c))
      seen[(guchar) *c] = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (known_letters); i++)
    if (flags & known_letters[i].flag)
      seen[(guchar) known_letters[i].letter] = TRUE;
  for (guint c = 1; c < 256; c++)
    if (seen[c])
      letters[n++] = (char) c;
  return g_strndup (letters, n);
}

/**
 * ferry_maildir_flags_parse_filename:
 * @filename: a Maildir file name, without its directory
 * @unique: (out) (optional) (transfer full): the unique name: @filename up
 *   to its info separator, the message's identity across flag changes
 * @flags: (out) (optional): the flags of "2," info, else 0
 * @extra: (out) (optional) (transfer full): the unknown letters of "2,"
 *   info, each once, in ASCII order; "" when there are none
 *
 * A name without info, or with info other than "2," (the spec's "1," is
 * experimental), has no flags; the caller keeps such a file's name as it is
 * until the flags change.
 *
 * Returns: whether @filename has "2," info
 */
gboolean
ferry_maildir_flags_parse_filename (const char *filename,
                                    char **unique,
                                    FerryMailFlags *flags,
                                    char **extra)
{
  const char *separator;
  gboolean has_flags;

  g_return_val_if_fail (filename != NULL, FALSE);

  separator = find_info_separator (filename);
  has_flags = separator != NULL && separator[1] == '2' && separator[2] == ',';

  if (unique != NULL)
    *unique = separator != NULL ? g_strndup (filename, (gsize) (separator - filename))
                                : g_strdup (filename);
  if (has_flags)
    {
      FerryMailFlags parsed = ferry_maildir_flags_from_letters (separator + 3, extra);

      if (flags != NULL)
        *flags = parsed;
      return TRUE;
    }

  if (flags != NULL)
    *flags = 0;
  if (extra != NULL)
    *extra = g_strdup ("");
  return FALSE;
}

/**
 * ferry_maildir_flags_format_filename:
 * @unique: a unique name
 * @flags: the message's flags
 * @extra: (nullable): unknown letters to keep, as parse_filename() gave them
 *
 * Returns: (transfer full): "@unique:2,LETTERS", the name of a message in
 *   cur/, with ':' as the separator
 */
char *
ferry_maildir_flags_format_filename (const char *unique, FerryMailFlags flags, const char *extra)
{
  g_autofree char *letters = NULL;

  g_return_val_if_fail (unique != NULL, NULL);

  letters = ferry_maildir_flags_to_letters (flags, extra);
  return g_strconcat (unique, ":2,", letters, NULL);
}
