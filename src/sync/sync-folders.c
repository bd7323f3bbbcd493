/* sync-folders.c: which folders to sync, and what each side calls them
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/errors.h"
#include "sync/sync-folders.h"

typedef struct
{
  char *glob;
  gboolean exclude;
} Pattern;

typedef struct
{
  char *far;  /* as the server spells it */
  char *name; /* Ferry's name */
} Rename;

struct _FerrySyncFolderMap
{
  GArray *patterns; /* Pattern */
  char *strip_prefix;
  GArray *renames; /* Rename */
};

static void
pattern_clear (Pattern *pattern)
{
  g_free (pattern->glob);
}

static void
rename_clear (Rename *rename)
{
  g_free (rename->far);
  g_free (rename->name);
}

/**
 * ferry_sync_folder_name_is_inbox:
 * @name: a folder name
 *
 * Returns: whether @name is the INBOX, which IMAP spells in any case
 *   (RFC 3501 5.1).
 */
gboolean
ferry_sync_folder_name_is_inbox (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);

  return g_ascii_strcasecmp (name, "INBOX") == 0;
}

/* Patterns are separated by spaces; one with spaces in it is quoted. */
static gboolean
parse_patterns (FerrySyncFolderMap *self, const char *text, GError **error)
{
  const char *p = text;

  while (*p != '\0')
    {
      Pattern pattern = { NULL, FALSE };
      const char *start;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      if (*p == '!')
        {
          pattern.exclude = TRUE;
          p++;
        }
      if (*p == '"')
        {
          start = ++p;
          while (*p != '\0' && *p != '"')
            p++;
          if (*p != '"')
            return g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                                _ ("folders: a quote opened before “%s” is not closed"), start),
                   FALSE;
          pattern.glob = g_strndup (start, p - start);
          p++;
        }
      else
        {
          start = p;
          while (*p != '\0' && !g_ascii_isspace (*p))
            p++;
          pattern.glob = g_strndup (start, p - start);
        }
      if (*pattern.glob == '\0')
        {
          g_free (pattern.glob);
          return g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                              _ ("folders: expected a folder pattern after “!”")),
                 FALSE;
        }
      if (ferry_sync_folder_name_is_inbox (pattern.glob))
        strcpy (pattern.glob, "INBOX");
      g_array_append_val (self->patterns, pattern);
    }
  return TRUE;
}

/**
 * ferry_sync_folder_map_new:
 * @patterns: (nullable): the `folders` key: patterns with `*` (anything),
 *   `%` (anything but a level separator) and a leading `!` to exclude; the
 *   last pattern that matches a name decides. %NULL selects everything.
 * @strip_prefix: (nullable): the `strip-prefix` key, as the server spells
 *   it (`INBOX.`)
 * @renames: (nullable) (array zero-terminated=1): the `folder-map` key as
 *   the configuration gives it: a server name, its local name, the next
 *   server name, and so on
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the map, or %NULL with @error set.
 */
FerrySyncFolderMap *
ferry_sync_folder_map_new (const char *patterns,
                           const char *strip_prefix,
                           const char *const *renames,
                           GError **error)
{
  g_autoptr (FerrySyncFolderMap) self = g_new0 (FerrySyncFolderMap, 1);

  self->patterns = g_array_new (FALSE, FALSE, sizeof (Pattern));
  g_array_set_clear_func (self->patterns, (GDestroyNotify) pattern_clear);
  self->renames = g_array_new (FALSE, FALSE, sizeof (Rename));
  g_array_set_clear_func (self->renames, (GDestroyNotify) rename_clear);
  self->strip_prefix
      = strip_prefix != NULL && *strip_prefix != '\0' ? g_strdup (strip_prefix) : NULL;

  for (guint i = 0; renames != NULL && renames[i] != NULL && renames[i + 1] != NULL; i += 2)
    {
      Rename rename = { g_strdup (renames[i]), g_strdup (renames[i + 1]) };
      g_array_append_val (self->renames, rename);
    }
  if (!parse_patterns (self, patterns != NULL ? patterns : "*", error))
    return NULL;
  return g_steal_pointer (&self);
}

void
ferry_sync_folder_map_free (FerrySyncFolderMap *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->patterns);
  g_array_unref (self->renames);
  g_free (self->strip_prefix);
  g_free (self);
}

static gboolean
glob_matches (const char *glob, const char *name)
{
  switch (*glob)
    {
      case '\0':
        return *name == '\0';
      case '*':
        for (;; name++)
          {
            if (glob_matches (glob + 1, name))
              return TRUE;
            if (*name == '\0')
              return FALSE;
          }
      case '%':
        for (;; name++)
          {
            if (glob_matches (glob + 1, name))
              return TRUE;
            if (*name == '\0' || *name == '/')
              return FALSE;
          }
      default:
        return *glob == *name && glob_matches (glob + 1, name + 1);
    }
}

/**
 * ferry_sync_folder_map_selects:
 * @self: a #FerrySyncFolderMap
 * @name: a folder's Ferry name
 *
 * Returns: whether the `folders` patterns choose @name.
 */
gboolean
ferry_sync_folder_map_selects (FerrySyncFolderMap *self, const char *name)
{
  const char *subject;
  gboolean selected = FALSE;

  g_return_val_if_fail (self != NULL && name != NULL, FALSE);

  subject = ferry_sync_folder_name_is_inbox (name) ? "INBOX" : name;
  for (guint i = 0; i < self->patterns->len; i++)
    {
      const Pattern *pattern = &g_array_index (self->patterns, Pattern, i);

      if (glob_matches (pattern->glob, subject))
        selected = !pattern->exclude;
    }
  return selected;
}

static gboolean
check_name (const char *name, const char *far_name, GError **error)
{
  g_auto (GStrv) levels = NULL;

  if (!g_utf8_validate (name, -1, NULL))
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                        _ ("The server's folder name is not valid UTF-8; skipped")),
           FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                          _ ("The server's folder “%s” has a control character in its name; "
                             "skipped"),
                          far_name),
             FALSE;

  levels = g_strsplit (name, "/", -1);
  for (guint i = 0; levels[i] != NULL; i++)
    if (*levels[i] == '\0')
      return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                          _ ("The server's folder “%s” has an empty level in its name; skipped"),
                          far_name),
             FALSE;
  return TRUE;
}

/* Turns a server name into Ferry's "/" between levels; a level holding a
 * "/" of its own cannot be told apart from two levels, and is refused
 * rather than merged with another folder. */
static char *
convert_delimiter (const char *far_part, char delimiter, const char *far_name, GError **error)
{
  g_autofree char *name = g_strdup (far_part);

  if (delimiter == '/')
    return g_steal_pointer (&name);
  if (strchr (name, '/') != NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                        _ ("The server's folder “%s” has a “/” inside a level of its name, "
                           "which a local folder cannot hold; skipped (add it to folder-map "
                           "to give it another name)"),
                        far_name),
           NULL;
  if (delimiter != '\0')
    g_strdelimit (name, (char[]){ delimiter, '\0' }, '/');
  return g_steal_pointer (&name);
}

static const Rename *
find_rename (
    FerrySyncFolderMap *self, const char *name, gboolean far_side, char delimiter, gsize *matched)
{
  for (guint i = 0; i < self->renames->len; i++)
    {
      const Rename *rename = &g_array_index (self->renames, Rename, i);
      const char *from = far_side ? rename->far : rename->name;
      gsize len = strlen (from);

      if (strncmp (name, from, len) == 0
          && (name[len] == '\0' || (delimiter != '\0' && name[len] == delimiter)))
        {
          *matched = len;
          return rename;
        }
    }
  return NULL;
}

/**
 * ferry_sync_folder_map_from_far:
 * @self: a #FerrySyncFolderMap
 * @far_name: a folder as the server names it, in UTF-8
 * @delimiter: the server's delimiter between levels; 0 for none
 * @error: return location for a #GError
 *
 * Returns: (transfer full): Ferry's name for it, or %NULL with @error set
 *   when it cannot have one.
 */
char *
ferry_sync_folder_map_from_far (FerrySyncFolderMap *self,
                                const char *far_name,
                                char delimiter,
                                GError **error)
{
  g_autofree char *name = NULL;
  const Rename *rename;
  gsize matched = 0;

  g_return_val_if_fail (self != NULL && far_name != NULL, NULL);

  rename = find_rename (self, far_name, TRUE, delimiter, &matched);
  if (rename != NULL)
    {
      g_autofree char *rest = convert_delimiter (far_name + matched, delimiter, far_name, error);
      if (rest == NULL)
        return NULL;
      name = g_strconcat (rename->name, rest, NULL);
    }
  else if (ferry_sync_folder_name_is_inbox (far_name))
    name = g_strdup ("INBOX");
  else
    {
      const char *rest = far_name;
      if (self->strip_prefix != NULL && g_str_has_prefix (far_name, self->strip_prefix)
          && far_name[strlen (self->strip_prefix)] != '\0')
        rest = far_name + strlen (self->strip_prefix);
      name = convert_delimiter (rest, delimiter, far_name, error);
      if (name == NULL)
        return NULL;
      if (ferry_sync_folder_name_is_inbox (name))
        strcpy (name, "INBOX");
    }

  if (*name == '\0' || !check_name (name, far_name, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                     _ ("The server's folder “%s” maps to an empty name; skipped"), far_name);
      return NULL;
    }
  return g_steal_pointer (&name);
}

static char *
levels_to_far (const char *levels, char delimiter, const char *name, GError **error)
{
  g_autofree char *far = g_strdup (levels);

  if (delimiter == '/')
    return g_steal_pointer (&far);
  if (delimiter != '\0' && strchr (far, delimiter) != NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                        _ ("The folder “%s” has a “%c” in its name, which the server uses "
                           "between levels; not created there (rename it, or add it to "
                           "folder-map)"),
                        name, delimiter),
           NULL;
  if (delimiter == '\0' && strchr (far, '/') != NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                        _ ("The folder “%s” has levels, which the server does not have; "
                           "not created there"),
                        name),
           NULL;
  if (delimiter != '\0')
    g_strdelimit (far, "/", delimiter);
  return g_steal_pointer (&far);
}

/**
 * ferry_sync_folder_map_to_far:
 * @self: a #FerrySyncFolderMap
 * @name: a folder's Ferry name
 * @delimiter: the server's delimiter between levels; 0 for none
 * @error: return location for a #GError
 *
 * Returns: (transfer full): what the server calls, or would call, the
 *   folder; %NULL with @error set when it cannot be spelled there.
 */
char *
ferry_sync_folder_map_to_far (FerrySyncFolderMap *self,
                              const char *name,
                              char delimiter,
                              GError **error)
{
  g_autofree char *rest = NULL;
  const Rename *rename;
  gsize matched = 0;

  g_return_val_if_fail (self != NULL && name != NULL, NULL);

  rename = find_rename (self, name, FALSE, '/', &matched);
  if (rename != NULL)
    {
      rest = levels_to_far (name + matched, delimiter, name, error);
      return rest != NULL ? g_strconcat (rename->far, rest, NULL) : NULL;
    }
  if (ferry_sync_folder_name_is_inbox (name))
    return g_strdup ("INBOX");

  rest = levels_to_far (name, delimiter, name, error);
  if (rest == NULL)
    return NULL;
  return g_strconcat (self->strip_prefix != NULL ? self->strip_prefix : "", rest, NULL);
}
