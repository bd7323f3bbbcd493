/* maildir-layout.c: where an account's folders live under its Maildir root
 *
 * Folder names are UTF-8 with "/" between levels, as the sync engine has
 * them from a server: data, never trusted as paths. Two layouts:
 *
 *   verbatim   "Archive/2024" is ROOT/Archive/2024, a directory per level;
 *              a level may be a Maildir and the parent of others. INBOX is
 *              ROOT/INBOX unless the caller keeps it elsewhere.
 *   maildir++  "Archive/2024" is ROOT/.Archive.2024, as Courier and Dovecot
 *              lay folders out; INBOX is ROOT itself.
 *
 * path_for() refuses a name that would land outside the root, or inside a
 * Maildir's own cur/, new/ or tmp/, instead of escaping it: an escaped
 * name would show as such in every other tool that reads the Maildir.
 * Creating, opening and deleting walk the levels below the root one at a
 * time and never through a symbolic link, so a link planted in the tree
 * cannot carry a server's folder elsewhere.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable-file.h"
#include "core/errors.h"
#include "maildir/maildir-fs.h"
#include "maildir/maildir-layout.h"

/* Deeper trees are not folders anyone made on purpose (or a bind mount
 * loops). */
#define MAX_LIST_DEPTH 64
/* Dovecot and Courier mark a Maildir++ subfolder with this empty file. */
#define MAILDIRPP_MARKER "maildirfolder"

struct _FerryMaildirLayout
{
  FerrySubfolders style;
  char *root;
  char *inbox_path;
};

/**
 * ferry_maildir_layout_new:
 * @root: the account's Maildir root, with `~` already expanded
 * @style: how folders below the root are laid out
 * @inbox_path: (nullable): where the INBOX is kept, relative to @root or
 *   absolute (mbsync's `Inbox`); %NULL for ROOT/INBOX in verbatim layout.
 *   Maildir++ always keeps the INBOX in ROOT itself.
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the layout, or %NULL with %FERRY_ERROR_CONFIG
 */
FerryMaildirLayout *
ferry_maildir_layout_new (const char *root,
                          FerrySubfolders style,
                          const char *inbox_path,
                          GError **error)
{
  g_autofree char *canonical_root = NULL;
  g_autofree char *inbox = NULL;
  FerryMaildirLayout *self;

  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (style == FERRY_SUBFOLDERS_VERBATIM || style == FERRY_SUBFOLDERS_MAILDIRPP,
                        NULL);

  if (*root == '\0')
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "The Maildir root is empty; set the account's maildir to a directory");
      return NULL;
    }
  canonical_root = g_canonicalize_filename (root, NULL);
  if (inbox_path != NULL && *inbox_path != '\0')
    inbox = g_canonicalize_filename (inbox_path, canonical_root);
  else if (style == FERRY_SUBFOLDERS_VERBATIM)
    inbox = g_build_filename (canonical_root, "INBOX", NULL);
  else
    inbox = g_strdup (canonical_root);

  if (style == FERRY_SUBFOLDERS_MAILDIRPP && !g_str_equal (inbox, canonical_root))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Maildir++ keeps the INBOX in the Maildir root itself (%s), not in %s; leave "
                   "the INBOX path out or use verbatim subfolders",
                   canonical_root, inbox);
      return NULL;
    }

  self = g_new0 (FerryMaildirLayout, 1);
  self->style = style;
  self->root = g_steal_pointer (&canonical_root);
  self->inbox_path = g_steal_pointer (&inbox);
  return self;
}

void
ferry_maildir_layout_free (FerryMaildirLayout *self)
{
  if (self == NULL)
    return;
  g_free (self->root);
  g_free (self->inbox_path);
  g_free (self);
}

const char *
ferry_maildir_layout_get_root (FerryMaildirLayout *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->root;
}

const char *
ferry_maildir_layout_get_inbox_path (FerryMaildirLayout *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->inbox_path;
}

/**
 * ferry_maildir_layout_is_inbox:
 * @name: a folder name
 *
 * Returns: whether @name is the INBOX, which IMAP spells in any case
 *   (RFC 3501 5.1)
 */
gboolean
ferry_maildir_layout_is_inbox (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);
  return g_ascii_strcasecmp (name, "INBOX") == 0;
}

/* Names to paths -------------------------------------------------------- */

static gboolean
has_control_character (const char *name)
{
  for (const char *c = name; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      return TRUE;
  return FALSE;
}

static gboolean
is_maildir_subdir_name (const char *level)
{
  return g_str_equal (level, "cur") || g_str_equal (level, "new") || g_str_equal (level, "tmp");
}

/* Why @level cannot be a level of a folder name, or NULL when it can. */
static const char *
check_level (FerryMaildirLayout *self, const char *level)
{
  if (*level == '\0')
    return "it has an empty level (a leading, trailing or doubled “/”)";
  if (g_str_equal (level, ".") || g_str_equal (level, ".."))
    return "a level named “.” or “..” would point elsewhere in the file system";
  if (strlen (level) > NAME_MAX)
    return "a level is longer than a file name may be";
  if (self->style == FERRY_SUBFOLDERS_MAILDIRPP)
    return strchr (level, '.') != NULL ? "Maildir++ separates levels with “.”, so a “.” inside a "
                                         "level would change the folder hierarchy"
                                       : NULL;
  if (*level == '.')
    return "a level starting with “.” would be a hidden directory, which Maildir tools skip or "
           "take for a Maildir++ folder";
  if (is_maildir_subdir_name (level))
    return "a level named cur, new or tmp would lie inside a Maildir's own cur/, new/ or tmp/";
  return NULL;
}

/* Splits @name into its levels, the INBOX spelled "INBOX"; or returns
 * NULL and says why in @why. */
static char **
split_name (FerryMaildirLayout *self, const char *name, const char **why)
{
  g_auto (GStrv) levels = NULL;

  if (!g_utf8_validate (name, -1, NULL))
    *why = "it is not valid UTF-8";
  else if (*name == '\0')
    *why = "the name is empty";
  else if (has_control_character (name))
    *why = "it holds a control character";
  else
    *why = NULL;
  if (*why != NULL)
    return NULL;

  levels = g_strsplit (name, "/", -1);
  for (guint i = 0; levels[i] != NULL; i++)
    if ((*why = check_level (self, levels[i])) != NULL)
      return NULL;

  if (ferry_maildir_layout_is_inbox (levels[0]))
    {
      g_free (levels[0]);
      levels[0] = g_strdup ("INBOX");
    }
  return g_steal_pointer (&levels);
}

static char *
path_from_levels (FerryMaildirLayout *self, char **levels, const char **why)
{
  g_autofree char *joined = NULL;
  g_autofree char *dir = NULL;
  char *path;

  if (levels[1] == NULL && g_str_equal (levels[0], "INBOX"))
    return g_strdup (self->inbox_path);

  if (self->style == FERRY_SUBFOLDERS_MAILDIRPP)
    {
      joined = g_strjoinv (".", levels);
      dir = g_strconcat (".", joined, NULL);
      if (strlen (dir) > NAME_MAX)
        {
          *why = "its Maildir++ directory name would be longer than a file name may be";
          return NULL;
        }
      return g_build_filename (self->root, dir, NULL);
    }

  joined = g_strjoinv ("/", levels);
  path = g_build_filename (self->root, joined, NULL);
  if (g_str_equal (path, self->inbox_path))
    {
      *why = "that is where the INBOX is kept";
      g_free (path);
      return NULL;
    }
  return path;
}

/**
 * ferry_maildir_layout_path_for:
 * @self: a layout
 * @name: a folder name: UTF-8, "/" between levels, INBOX in any case
 * @error: return location for a #GError
 *
 * Maps @name to its directory, touching nothing on disk. Refuses with
 * %FERRY_ERROR_DATA a name that is not valid UTF-8 or holds control
 * characters, an empty name or level, levels "." and "..", and names
 * that would collide with Maildir structure: in verbatim layout levels
 * starting with "." or named cur, new or tmp, and the INBOX's own path;
 * in Maildir++ levels holding ".". A name from a server that contains a
 * NUL must be refused before it gets here.
 *
 * Returns: (transfer full): the folder's directory: below the root, or
 *   the INBOX path
 */
char *
ferry_maildir_layout_path_for (FerryMaildirLayout *self, const char *name, GError **error)
{
  g_auto (GStrv) levels = NULL;
  const char *why = NULL;
  char *path = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  levels = split_name (self, name, &why);
  if (levels != NULL)
    path = path_from_levels (self, levels, &why);
  if (path == NULL)
    {
      g_autofree char *shown = ferry_maildir_fs_display (name);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "Folder “%s” cannot be kept in a Maildir: %s. Rename it on the server, or "
                   "leave it out with the account's folders setting",
                   shown, why);
    }
  return path;
}

/* Directories below the root ---------------------------------------------- */

/* The part of @path below the root, or NULL when @path is not below it. */
static const char *
relative_to_root (FerryMaildirLayout *self, const char *path)
{
  gsize n = g_str_equal (self->root, "/") ? 0 : strlen (self->root);

  if (strncmp (path, self->root, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
    return path + n + 1;
  return NULL;
}

static void
set_missing_error (GError **error, const char *path)
{
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND, "There is no folder at %s", path);
}

/* The part of @path that comes from a folder name: below the root, and
 * not the INBOX path, which is configuration like the root itself. */
static const char *
from_folder_name (FerryMaildirLayout *self, const char *path)
{
  return g_str_equal (path, self->inbox_path) ? NULL : relative_to_root (self, path);
}

/* Opens the directory of a folder at @path (from path_for()), making it
 * and its parents first when @create is set. The levels that come from
 * the folder name are opened one by one without following symbolic
 * links; the root and the INBOX path are opened as configured. Returns a
 * descriptor or -1. */
static int
open_folder_dir (FerryMaildirLayout *self, const char *path, gboolean create, GError **error)
{
  const char *relative = from_folder_name (self, path);
  g_auto (GStrv) levels = NULL;
  g_autofree char *current = NULL;
  int fd;

  if (create && !ferry_maildir_fs_mkdir_parents (relative != NULL ? self->root : path, error))
    return -1;
  current = g_strdup (relative != NULL ? self->root : path);
  fd = open (current, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        set_missing_error (error, path);
      else
        ferry_maildir_fs_set_errno_error (error, errno, "open directory", current);
      return -1;
    }
  if (relative == NULL)
    return fd;

  levels = g_strsplit (relative, "/", -1);
  for (guint i = 0; levels[i] != NULL; i++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *next = g_build_filename (current, levels[i], NULL);
      int child = ferry_maildir_fs_open_subdir (fd, current, levels[i], create, &local_error);

      close (fd);
      if (child < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
            set_missing_error (error, path);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return -1;
        }
      fd = child;
      g_free (current);
      current = g_steal_pointer (&next);
    }
  return fd;
}

/* Listing ---------------------------------------------------------------- */

typedef struct
{
  FerryMaildirLayout *self;
  GPtrArray *names;
} Listing;

/* Adds the folder name of the Maildir at @path, when that name maps back
 * to @path; else warns, as the folder would be another's or none. */
static void
add_if_maps_back (Listing *listing, const char *candidate, const char *path)
{
  g_auto (GStrv) levels = NULL;
  g_autofree char *mapped = NULL;
  g_autofree char *shown_path = ferry_maildir_fs_display (path);
  g_autofree char *shown_name = ferry_maildir_fs_display (candidate);
  const char *why = NULL;

  levels = split_name (listing->self, candidate, &why);
  if (levels != NULL)
    mapped = path_from_levels (listing->self, levels, &why);
  if (mapped == NULL)
    {
      g_warning ("Ferry does not sync the Maildir %s: as folder “%s”, %s", shown_path, shown_name,
                 why);
      return;
    }
  if (!g_str_equal (mapped, path))
    {
      g_autofree char *shown_mapped = ferry_maildir_fs_display (mapped);

      g_warning ("Ferry does not sync the Maildir %s: its folder name “%s” belongs to %s",
                 shown_path, shown_name, shown_mapped);
      return;
    }
  g_ptr_array_add (listing->names, g_strjoinv ("/", levels));
}

static void
warn_if_linked_dir (Listing *listing, const char *path)
{
  g_autofree char *shown = NULL;
  struct stat st;

  if (g_str_equal (path, listing->self->inbox_path) || stat (path, &st) != 0
      || !S_ISDIR (st.st_mode))
    return;
  shown = ferry_maildir_fs_display (path);
  g_warning ("Ferry does not sync folders at %s: it is a symbolic link, and Ferry follows none "
             "inside a Maildir root",
             shown);
}

/* Opens @entry of @dir_fd as a directory for listing, or returns -1: with
 * @error set on a failure, without when it is no directory to list. */
static int
open_listed_dir (Listing *listing, int dir_fd, const char *entry, const char *path, GError **error)
{
  struct stat st;
  int fd;

  if (fstatat (dir_fd, entry, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      /* gone meanwhile: nothing to list */
      if (errno != ENOENT)
        ferry_maildir_fs_set_errno_error (error, errno, "read", path);
      return -1;
    }
  if (S_ISLNK (st.st_mode))
    warn_if_linked_dir (listing, path);
  if (!S_ISDIR (st.st_mode))
    return -1;

  fd = openat (dir_fd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    ferry_maildir_fs_set_errno_error (error, errno, "read", path);
  return fd;
}

typedef gboolean (*VisitFunc) (Listing *listing,
                               int dir_fd,
                               const char *dir_path,
                               const char *prefix,
                               const char *entry,
                               guint depth,
                               GError **error);

/* Calls @visit for each entry of @dir_fd. A listing that cannot read a
 * directory fails as a whole: folders missing from it would look deleted. */
static gboolean
visit_entries (Listing *listing,
               int dir_fd,
               const char *dir_path,
               const char *prefix,
               guint depth,
               VisitFunc visit,
               GError **error)
{
  int fd = dup (dir_fd);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;
  int saved_errno;

  if (dir == NULL)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "read", dir_path);
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  for (errno = 0; (entry = readdir (dir)) != NULL; errno = 0)
    if (!visit (listing, dirfd (dir), dir_path, prefix, entry->d_name, depth, error))
      {
        closedir (dir);
        return FALSE;
      }
  saved_errno = errno;
  closedir (dir);
  if (saved_errno != 0)
    {
      ferry_maildir_fs_set_errno_error (error, saved_errno, "read", dir_path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
visit_verbatim (Listing *listing,
                int dir_fd,
                const char *dir_path,
                const char *prefix,
                const char *entry,
                guint depth,
                GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  g_auto (GStrv) levels = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *why = NULL;
  gboolean ok = TRUE;
  int fd;

  if (entry[0] == '.' || is_maildir_subdir_name (entry))
    return TRUE;
  path = g_build_filename (dir_path, entry, NULL);
  name = prefix != NULL ? g_strconcat (prefix, "/", entry, NULL) : g_strdup (entry);

  fd = open_listed_dir (listing, dir_fd, entry, path, &local_error);
  if (fd < 0)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  levels = split_name (listing->self, name, &why);
  if (levels == NULL)
    {
      g_autofree char *shown = ferry_maildir_fs_display (path);

      g_warning ("Ferry does not sync folders at or below %s: as a folder name, %s", shown, why);
    }
  else
    {
      if (ferry_maildir_fs_is_subdir (fd, "cur"))
        add_if_maps_back (listing, name, path);
      if (depth < MAX_LIST_DEPTH)
        ok = visit_entries (listing, fd, path, name, depth + 1, visit_verbatim, error);
      else
        g_warning ("Ferry does not look for folders below %s: it is %u levels deep", path, depth);
    }
  close (fd);
  return ok;
}

static gboolean
visit_maildirpp (Listing *listing,
                 int dir_fd,
                 const char *dir_path,
                 const char *prefix,
                 const char *entry,
                 guint depth,
                 GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) local_error = NULL;
  int fd;

  if (entry[0] != '.' || g_str_equal (entry, ".") || g_str_equal (entry, ".."))
    return TRUE;
  path = g_build_filename (dir_path, entry, NULL);
  fd = open_listed_dir (listing, dir_fd, entry, path, &local_error);
  if (fd < 0)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (ferry_maildir_fs_is_subdir (fd, "cur"))
    {
      g_auto (GStrv) levels = g_strsplit (entry + 1, ".", -1);
      g_autofree char *name = g_strjoinv ("/", levels);

      add_if_maps_back (listing, name, path);
    }
  close (fd);
  return TRUE;
}

static gboolean
inbox_exists (FerryMaildirLayout *self)
{
  int fd = open_folder_dir (self, self->inbox_path, FALSE, NULL);
  gboolean exists = fd >= 0 && ferry_maildir_fs_is_subdir (fd, "cur");

  if (fd >= 0)
    close (fd);
  return exists;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * ferry_maildir_layout_list:
 * @self: a layout
 * @error: return location for a #GError
 *
 * Finds every Maildir (a directory with cur/) below the root and the
 * INBOX. Directories whose names do not map back to themselves (invalid
 * UTF-8, control characters, a second spelling of another folder's name)
 * and symbolic links are skipped with a warning. A missing root has no
 * folders; a directory that cannot be read fails the whole listing.
 *
 * Returns: (transfer container) (element-type utf8): the folder names,
 *   sorted
 */
GPtrArray *
ferry_maildir_layout_list (FerryMaildirLayout *self, GError **error)
{
  g_autoptr (GPtrArray) names = NULL;
  Listing listing;
  int fd;

  g_return_val_if_fail (self != NULL, NULL);

  names = g_ptr_array_new_with_free_func (g_free);
  listing.self = self;
  listing.names = names;

  fd = open (self->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "read", self->root);
      return NULL;
    }
  if (fd >= 0)
    {
      gboolean ok = visit_entries (
          &listing, fd, self->root, NULL, 1,
          self->style == FERRY_SUBFOLDERS_VERBATIM ? visit_verbatim : visit_maildirpp, error);
      close (fd);
      if (!ok)
        return NULL;
    }

  if (!g_ptr_array_find_with_equal_func (names, "INBOX", g_str_equal, NULL) && inbox_exists (self))
    g_ptr_array_add (names, g_strdup ("INBOX"));
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

/* Creating and deleting ---------------------------------------------------- */

static gboolean
mark_maildirpp_folder (int dir_fd, const char *path, GError **error)
{
  g_autofree char *marker = g_build_filename (path, MAILDIRPP_MARKER, NULL);
  int fd = openat (dir_fd, MAILDIRPP_MARKER, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "create", marker);
      return FALSE;
    }
  close (fd);
  return ferry_durable_fsync_fd (dir_fd, path, error);
}

/**
 * ferry_maildir_layout_create_folder:
 * @self: a layout
 * @name: a folder name
 * @error: return location for a #GError
 *
 * Makes the folder's directory, its missing parents and its cur/, new/
 * and tmp/ (all 0700, durably); a Maildir++ subfolder also gets the
 * "maildirfolder" marker other tools expect. An existing folder is fine.
 * Fails on a symbolic link below the root.
 */
gboolean
ferry_maildir_layout_create_folder (FerryMaildirLayout *self, const char *name, GError **error)
{
  g_autofree char *path = NULL;
  gboolean ok;
  int fd;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  path = ferry_maildir_layout_path_for (self, name, error);
  if (path == NULL)
    return FALSE;
  fd = open_folder_dir (self, path, TRUE, error);
  if (fd < 0)
    return FALSE;
  ok = ferry_maildir_fs_ensure_maildir_dirs (fd, path, error)
       && (self->style != FERRY_SUBFOLDERS_MAILDIRPP || ferry_maildir_layout_is_inbox (name)
           || mark_maildirpp_folder (fd, path, error));
  close (fd);
  return ok;
}

static gboolean
check_subdir_empty (int dir_fd, const char *path, const char *subdir, GError **error)
{
  g_autofree char *subdir_path = g_build_filename (path, subdir, NULL);
  int fd = openat (dir_fd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir;
  struct dirent *entry;
  gboolean empty = TRUE;

  if (fd < 0 && errno == ENOENT)
    return TRUE;
  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "read", subdir_path);
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  while (empty && (entry = readdir (dir)) != NULL)
    empty = g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, "..");
  closedir (dir);
  if (!empty)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                 "The folder at %s is not empty: %s/ holds files. Ferry deletes only empty "
                 "folders; move or delete its messages first",
                 path, subdir);
  return empty;
}

/* Removes tmp/, new/ and cur/, each empty. Should one have gained a file
 * meanwhile, those removed already are made again, so that the folder
 * stays a whole Maildir. */
static gboolean
remove_maildir_dirs (int dir_fd, const char *path, GError **error)
{
  static const char *const subdirs[] = { "tmp", "new", "cur" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      int saved_errno;

      if (unlinkat (dir_fd, subdirs[i], AT_REMOVEDIR) == 0 || errno == ENOENT)
        continue;
      saved_errno = errno;
      for (guint j = 0; j < i; j++)
        mkdirat (dir_fd, subdirs[j], 0700);
      if (saved_errno == ENOTEMPTY || saved_errno == EEXIST)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                     "The folder at %s is not empty: a message arrived in %s/ while Ferry deleted "
                     "it",
                     path, subdirs[i]);
      else
        ferry_maildir_fs_set_errno_error (error, saved_errno, "delete folder", path);
      return FALSE;
    }
  unlinkat (dir_fd, MAILDIRPP_MARKER, 0);
  return ferry_durable_fsync_fd (dir_fd, path, error);
}

/* Removes @path and then each parent below the root, for as long as they
 * are empty: a level that holds subfolders or other files stays. */
static gboolean
remove_empty_dirs (FerryMaildirLayout *self, const char *path, GError **error)
{
  g_autofree char *dir = g_strdup (path);

  while (relative_to_root (self, dir) != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (dir);

      if (rmdir (dir) != 0)
        break;
      if (!ferry_durable_fsync_dir (parent, error))
        return FALSE;
      g_free (dir);
      dir = g_steal_pointer (&parent);
    }
  return TRUE;
}

/**
 * ferry_maildir_layout_delete_folder:
 * @self: a layout
 * @name: a folder name, not the INBOX
 * @error: return location for a #GError
 *
 * Deletes an empty folder: cur/, new/ and tmp/ must hold nothing once
 * stale tmp/ files are cleaned (else %FERRY_ERROR_DATA, "not empty").
 * Removes cur/, new/ and tmp/, then the directory and its empty parents
 * unless they hold subfolders or other files. A missing folder fails
 * with %FERRY_ERROR_NOT_FOUND.
 */
gboolean
ferry_maildir_layout_delete_folder (FerryMaildirLayout *self, const char *name, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (FerryMaildirFolder) folder = NULL;
  gboolean ok;
  int fd;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (ferry_maildir_layout_is_inbox (name))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "The INBOX cannot be deleted: IMAP has it always (RFC 3501 6.3.4)");
      return FALSE;
    }
  path = ferry_maildir_layout_path_for (self, name, error);
  if (path == NULL)
    return FALSE;
  fd = open_folder_dir (self, path, FALSE, error);
  if (fd < 0)
    return FALSE;

  folder = ferry_maildir_folder_open (path, FALSE, error);
  ok = folder != NULL && ferry_maildir_folder_clean_tmp (folder, NULL, error)
       && check_subdir_empty (fd, path, "cur", error) && check_subdir_empty (fd, path, "new", error)
       && check_subdir_empty (fd, path, "tmp", error) && remove_maildir_dirs (fd, path, error);
  close (fd);
  return ok && remove_empty_dirs (self, path, error);
}

/**
 * ferry_maildir_layout_open_folder:
 * @self: a layout
 * @name: a folder name
 * @create: whether to create the folder when missing
 * @error: return location for a #GError
 *
 * Opens the folder @name, refusing symbolic links below the root as
 * create_folder() does.
 *
 * Returns: (transfer full): the folder, or %NULL (%FERRY_ERROR_NOT_FOUND
 *   when it does not exist and @create is unset)
 */
FerryMaildirFolder *
ferry_maildir_layout_open_folder (FerryMaildirLayout *self,
                                  const char *name,
                                  gboolean create,
                                  GError **error)
{
  g_autofree char *path = NULL;
  int fd;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (create && !ferry_maildir_layout_create_folder (self, name, error))
    return NULL;
  path = ferry_maildir_layout_path_for (self, name, error);
  if (path == NULL)
    return NULL;
  fd = open_folder_dir (self, path, FALSE, error);
  if (fd < 0)
    return NULL;
  close (fd);
  return ferry_maildir_folder_open (path, FALSE, error);
}
