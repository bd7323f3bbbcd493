/* maildir-folder.c: one Maildir folder on disk (cur/, new/, tmp/)
 *
 * Messages arrive in tmp/ and are renamed into new/ or cur/. A mail reader
 * renames them inside cur/ and from new/ to cur/ whenever their flags
 * change, and may do so at any moment, also while Ferry works on them. So
 * every operation on a message takes its unique name, tries the file name
 * Ferry last knew, and looks the message up again when that name is gone.
 *
 * All calls block; they are meant for worker threads. A folder does not
 * change after it is opened, so threads may share it.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable-file.h"
#include "core/errors.h"
#include "maildir/maildir-flags.h"
#include "maildir/maildir-folder.h"
#include "maildir/maildir-fs.h"
#include "maildir/maildir-name.h"
#include "maildir/maildir-watch.h"

/* Directory times come from a clock that advances in ticks of up to 10 ms,
 * so a change within the tick of an earlier one leaves the time as it was.
 * A scan that starts at least this long after the last change sees any
 * change made while it runs as a new time. */
#define SETTLE_USEC          (30 * 1000)
#define SCAN_ATTEMPTS        20
#define LOOKUP_ATTEMPTS      5
#define UNIQUE_NAME_ATTEMPTS 10
/* The spec: a file in tmp/ untouched for 36 hours is left over. */
#define STALE_TMP_SECONDS (36 * 60 * 60)

struct _FerryMaildirFolder
{
  gatomicrefcount ref_count;
  char *path;
  char *cur_dir;
  char *new_dir;
  char *tmp_dir;
  FerryMaildirWatch *watch; /* nullable: told of each change made here */
};

typedef enum
{
  DELIVERY_WRITING,
  DELIVERY_FINISHED, /* durable in tmp/, not yet visible */
  DELIVERY_COMMITTED,
  DELIVERY_ABORTED,
} DeliveryState;

struct _FerryMaildirDelivery
{
  FerryMaildirFolder *folder;
  char *unique;
  char *tmp_path;
  int fd;
  DeliveryState state;
};

/* Messages --------------------------------------------------------------- */

void
ferry_maildir_message_free (FerryMaildirMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->unique);
  g_free (message->filename);
  g_free (message->extra_flags);
  g_free (message);
}

static FerryMaildirMessage *
message_new (const char *filename, gboolean in_new)
{
  FerryMaildirMessage *message = g_new0 (FerryMaildirMessage, 1);

  message->filename = g_strdup (filename);
  message->in_new = in_new;
  ferry_maildir_flags_parse_filename (filename, &message->unique, &message->flags,
                                      &message->extra_flags);
  return message;
}

/* By unique name; for one unique name the copy in cur/ first, as it is
 * the one a mail reader has seen and flagged. */
static int
compare_messages (gconstpointer a, gconstpointer b)
{
  const FerryMaildirMessage *x = *(FerryMaildirMessage *const *) a;
  const FerryMaildirMessage *y = *(FerryMaildirMessage *const *) b;
  int by_unique = strcmp (x->unique, y->unique);

  if (by_unique != 0)
    return by_unique;
  if (x->in_new != y->in_new)
    return x->in_new ? 1 : -1;
  return strcmp (x->filename, y->filename);
}

static gboolean
is_valid_unique (const char *unique)
{
  g_autofree char *parsed = NULL;

  if (*unique == '\0' || *unique == '.' || strchr (unique, '/') != NULL)
    return FALSE;
  ferry_maildir_flags_parse_filename (unique, &parsed, NULL, NULL);
  return g_str_equal (parsed, unique);
}

static gboolean
check_unique (const char *unique, GError **error)
{
  g_autofree char *shown = NULL;

  if (is_valid_unique (unique))
    return TRUE;
  shown = ferry_maildir_fs_display (unique);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
               "“%s” is not a Maildir unique name: it is empty, starts with “.”, or holds “/” "
               "or an info part",
               shown);
  return FALSE;
}

/* Whether @filename may be a name of @unique's file. A name from the sync
 * state is checked before use, as the state may be damaged. */
static gboolean
filename_matches (const char *filename, const char *unique)
{
  g_autofree char *parsed = NULL;

  if (*filename == '.' || strchr (filename, '/') != NULL)
    return FALSE;
  ferry_maildir_flags_parse_filename (filename, &parsed, NULL, NULL);
  return g_str_equal (parsed, unique);
}

/* The folder --------------------------------------------------------------- */

/**
 * ferry_maildir_folder_open:
 * @path: the folder's directory
 * @create: whether to create it (and its parents) when missing
 * @error: return location for a #GError
 *
 * A directory with cur/ is a Maildir. Its new/ or tmp/ are recreated
 * (mode 0700, durably) when missing, as backups that skip empty
 * directories lose them. With @create, @path and cur/ are made too.
 *
 * Returns: (transfer full): the folder, or %NULL with
 *   %FERRY_ERROR_NOT_FOUND when @path is not a Maildir and @create is unset
 */
FerryMaildirFolder *
ferry_maildir_folder_open (const char *path, gboolean create, GError **error)
{
  FerryMaildirFolder *self;
  int fd;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);

  if (create && !ferry_maildir_fs_mkdir_parents (path, error))
    return NULL;

  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND, "There is no Maildir at %s", path);
      return NULL;
    }
  if (fd < 0)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "open Maildir", path);
      return NULL;
    }
  if (!create && !ferry_maildir_fs_is_subdir (fd, "cur"))
    {
      close (fd);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
                   "%s is not a Maildir: it has no cur/ directory", path);
      return NULL;
    }
  ok = ferry_maildir_fs_ensure_maildir_dirs (fd, path, error);
  close (fd);
  if (!ok)
    return NULL;

  self = g_new0 (FerryMaildirFolder, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->cur_dir = g_build_filename (path, "cur", NULL);
  self->new_dir = g_build_filename (path, "new", NULL);
  self->tmp_dir = g_build_filename (path, "tmp", NULL);
  return self;
}

FerryMaildirFolder *
ferry_maildir_folder_ref (FerryMaildirFolder *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_maildir_folder_unref (FerryMaildirFolder *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->path);
  g_free (self->cur_dir);
  g_free (self->new_dir);
  g_free (self->tmp_dir);
  g_clear_pointer (&self->watch, ferry_maildir_watch_unref);
  g_free (self);
}

const char *
ferry_maildir_folder_get_path (FerryMaildirFolder *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

/**
 * ferry_maildir_folder_set_watch:
 * @self: a folder, not yet shared with other threads
 * @watch: (nullable): to be told of every change made through @self
 *
 * See ferry_maildir_watch_announce().
 */
void
ferry_maildir_folder_set_watch (FerryMaildirFolder *self, FerryMaildirWatch *watch)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->watch, ferry_maildir_watch_unref);
  self->watch = watch != NULL ? ferry_maildir_watch_ref (watch) : NULL;
}

static char *
message_path (FerryMaildirFolder *self, gboolean in_new, const char *filename)
{
  return g_build_filename (in_new ? self->new_dir : self->cur_dir, filename, NULL);
}

/* Reading the directories ------------------------------------------------ */

static gboolean
stat_dir (const char *path, struct stat *st, GError **error)
{
  if (stat (path, st) == 0)
    return TRUE;
  ferry_maildir_fs_set_errno_error (error, errno, "read", path);
  return FALSE;
}

static gboolean
same_stamp (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec
         && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static gboolean
changed_recently (const struct stat *st)
{
  gint64 mtime_usec = (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;

  return ABS (g_get_real_time () - mtime_usec) < SETTLE_USEC;
}

/* A file that went away while its folder was read is no message; any
 * other failure to look at it is an error. */
static gboolean
skip_if_gone (const char *dir_path, const char *name, int saved_errno, GError **error)
{
  g_autofree char *path = g_build_filename (dir_path, name, NULL);
  g_autofree char *shown = NULL;

  if (saved_errno != ENOENT)
    {
      ferry_maildir_fs_set_errno_error (error, saved_errno, "read", path);
      return FALSE;
    }
  shown = ferry_maildir_fs_display (path);
  g_debug ("%s went away while Ferry read its folder", shown);
  return TRUE;
}

/* Whether @entry is a file, which readdir() mostly tells: a folder of
 * 50,000 messages is read without 50,000 stat() calls. For a name the
 * file system does not type, or a symbolic link, stat() says what it
 * leads to. */
static gboolean
is_regular_file (
    DIR *dir, const char *dir_path, const struct dirent *entry, gboolean *is_file, GError **error)
{
  const char *name = entry->d_name;
  g_autofree char *shown = NULL;
  struct stat st;

  *is_file = entry->d_type == DT_REG;
  if (entry->d_type != DT_REG && entry->d_type != DT_DIR)
    {
      if (fstatat (dirfd (dir), name, &st, 0) != 0)
        return skip_if_gone (dir_path, name, errno, error);
      *is_file = S_ISREG (st.st_mode);
    }
  if (!*is_file)
    {
      shown = ferry_maildir_fs_display (name);
      g_debug ("%s/%s is not a regular file; it is not a message", dir_path, shown);
    }
  return TRUE;
}

static gboolean
add_entry (DIR *dir,
           const char *dir_path,
           const struct dirent *entry,
           gboolean in_new,
           const char *only_unique,
           GPtrArray *out,
           GError **error)
{
  const char *name = entry->d_name;
  g_autofree char *unique = NULL;
  gboolean is_file;

  if (name[0] == '.')
    return TRUE;
  ferry_maildir_flags_parse_filename (name, &unique, NULL, NULL);
  if (*unique == '\0' || (only_unique != NULL && !g_str_equal (unique, only_unique)))
    return TRUE;
  if (!is_regular_file (dir, dir_path, entry, &is_file, error))
    return FALSE;
  if (is_file)
    g_ptr_array_add (out, message_new (name, in_new));
  return TRUE;
}

/* Adds the messages of new/ or cur/ to @out; only those of @only_unique
 * when it is set. */
static gboolean
read_subdir (FerryMaildirFolder *self,
             gboolean in_new,
             const char *only_unique,
             GPtrArray *out,
             GError **error)
{
  const char *path = in_new ? self->new_dir : self->cur_dir;
  DIR *dir = opendir (path);
  struct dirent *entry;
  int saved_errno;

  if (dir == NULL)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "read", path);
      return FALSE;
    }
  for (errno = 0; (entry = readdir (dir)) != NULL; errno = 0)
    if (!add_entry (dir, path, entry, in_new, only_unique, out, error))
      {
        closedir (dir);
        return FALSE;
      }
  saved_errno = errno;
  closedir (dir);
  if (saved_errno != 0)
    {
      ferry_maildir_fs_set_errno_error (error, saved_errno, "read", path);
      return FALSE;
    }
  return TRUE;
}

/* readdir() may miss a file renamed while it runs: a mail reader moving a
 * message from new/ to cur/, or changing its flags, could make it absent
 * from both lists, and a sync would take that for a deletion. So a read
 * counts only when neither directory changed from before it started until
 * after it ended; otherwise it is done again. */
static GPtrArray *
read_messages (FerryMaildirFolder *self, const char *only_unique, GError **error)
{
  for (guint attempt = 0; attempt < SCAN_ATTEMPTS; attempt++)
    {
      g_autoptr (GPtrArray) found
          = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_maildir_message_free);
      struct stat new_before, cur_before, new_after, cur_after;

      if (!stat_dir (self->new_dir, &new_before, error)
          || !stat_dir (self->cur_dir, &cur_before, error))
        return NULL;
      if (changed_recently (&new_before) || changed_recently (&cur_before))
        {
          g_usleep (SETTLE_USEC);
          continue;
        }
      if (!read_subdir (self, TRUE, only_unique, found, error)
          || !read_subdir (self, FALSE, only_unique, found, error)
          || !stat_dir (self->new_dir, &new_after, error)
          || !stat_dir (self->cur_dir, &cur_after, error))
        return NULL;
      if (same_stamp (&new_before, &new_after) && same_stamp (&cur_before, &cur_after))
        return g_steal_pointer (&found);
    }

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL,
               "%s kept changing while Ferry read it; the next sync tries again", self->path);
  return NULL;
}

/* Keeps the first of each run of messages with one unique name: another
 * tool copied the file, and one message must not become two. */
static void
drop_duplicates (FerryMaildirFolder *self, GPtrArray *messages)
{
  guint i = 1;

  while (i < messages->len)
    {
      FerryMaildirMessage *kept = g_ptr_array_index (messages, i - 1);
      FerryMaildirMessage *copy = g_ptr_array_index (messages, i);

      if (!g_str_equal (kept->unique, copy->unique))
        {
          i++;
          continue;
        }
      g_debug ("%s: %s/%s and %s/%s are the same message; Ferry uses the first", self->path,
               kept->in_new ? "new" : "cur", kept->filename, copy->in_new ? "new" : "cur",
               copy->filename);
      g_ptr_array_remove_index (messages, i);
    }
}

/**
 * ferry_maildir_folder_scan:
 * @self: a folder
 * @error: return location for a #GError
 *
 * Lists the messages in new/ and cur/. Names starting with "." are not
 * messages; a file removed or renamed during the scan is reported under
 * the name it has when the scan ends. A unique name found twice (a copy
 * made by another tool) is reported once, the copy in cur/ first. Fails
 * with %FERRY_ERROR_TEMP_FAIL when the folder never holds still long
 * enough to read.
 *
 * Returns: (transfer container) (element-type FerryMaildirMessage): the
 *   messages, sorted by unique name (strcmp() order)
 */
GPtrArray *
ferry_maildir_folder_scan (FerryMaildirFolder *self, GError **error)
{
  GPtrArray *messages;

  g_return_val_if_fail (self != NULL, NULL);

  messages = read_messages (self, NULL, error);
  if (messages == NULL)
    return NULL;
  g_ptr_array_sort (messages, compare_messages);
  drop_duplicates (self, messages);
  return messages;
}

/**
 * ferry_maildir_folder_find:
 * @self: a folder
 * @unique: a message's unique name
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the message, as scan() would report it, or
 *   %NULL with %FERRY_ERROR_NOT_FOUND when no file has that unique name
 */
FerryMaildirMessage *
ferry_maildir_folder_find (FerryMaildirFolder *self, const char *unique, GError **error)
{
  g_autoptr (GPtrArray) messages = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (unique != NULL, NULL);

  if (!check_unique (unique, error))
    return NULL;
  messages = read_messages (self, unique, error);
  if (messages == NULL)
    return NULL;
  if (messages->len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND, "No message %s in %s", unique,
                   self->path);
      return NULL;
    }
  g_ptr_array_sort (messages, compare_messages);
  return g_ptr_array_steal_index (messages, 0);
}

/* Operations on one message ------------------------------------------------ */

/* What a rename causes in cur/ and new/ (see maildir-watch.c): one from
 * either to cur/ leaves one and enters the other; one from tmp/ only
 * enters. */
#define EVENTS_OF_RENAME_WITHIN 2
#define EVENTS_OF_RENAME_INTO   1
#define EVENTS_OF_REMOVAL       1

static int
watched_rename (FerryMaildirFolder *self, const char *from, const char *to, int n_events)
{
  int saved_errno;

  ferry_maildir_watch_announce (self->watch, self->path, n_events);
  saved_errno = ferry_maildir_fs_rename_noreplace (from, to);
  if (saved_errno != 0)
    ferry_maildir_watch_announce (self->watch, self->path, -n_events);
  return saved_errno;
}

typedef enum
{
  OP_DONE,
  OP_GONE, /* no file under that name (any more): look it up again */
  OP_FAILED,
} OpResult;

typedef OpResult (*MessageOp) (
    FerryMaildirFolder *self, gboolean in_new, const char *filename, gpointer data, GError **error);

/* Runs @op on the file of @unique: under @known_filename in cur/ or new/
 * when it is there, else wherever a look-up finds it, as often as the
 * file moves away between the look-up and @op. */
static gboolean
with_message_file (FerryMaildirFolder *self,
                   const char *unique,
                   const char *known_filename,
                   MessageOp op,
                   gpointer data,
                   GError **error)
{
  OpResult result = OP_GONE;

  if (!check_unique (unique, error))
    return FALSE;

  if (known_filename != NULL && filename_matches (known_filename, unique))
    {
      result = op (self, FALSE, known_filename, data, error);
      if (result == OP_GONE)
        result = op (self, TRUE, known_filename, data, error);
    }

  for (guint attempt = 0; result == OP_GONE && attempt < LOOKUP_ATTEMPTS; attempt++)
    {
      g_autoptr (FerryMaildirMessage) message = ferry_maildir_folder_find (self, unique, error);

      if (message == NULL)
        return FALSE;
      result = op (self, message->in_new, message->filename, data, error);
    }

  if (result == OP_GONE)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL,
                 "Message %s in %s keeps being renamed; the next sync tries again", unique,
                 self->path);
  return result == OP_DONE;
}

/* The result for a call on @path that failed with @saved_errno. ENOENT
 * means the file is gone only when @path is really missing; else a
 * directory is. */
static OpResult
op_failure (int saved_errno, const char *action, const char *path, GError **error)
{
  struct stat st;

  if (saved_errno == ENOENT && lstat (path, &st) != 0 && errno == ENOENT)
    return OP_GONE;
  ferry_maildir_fs_set_errno_error (error, saved_errno, action, path);
  return OP_FAILED;
}

/**
 * ferry_maildir_folder_move_message:
 * @self: the folder @message is in
 * @message: as ferry_maildir_folder_find() found it
 * @target: another folder
 * @error: return location for a #GError
 *
 * Renames the message's file into @target's new/ or cur/, as it is here,
 * under the same name; never replaces a file. Call
 * ferry_maildir_folder_sync_dirs() on both to make the move durable.
 */
gboolean
ferry_maildir_folder_move_message (FerryMaildirFolder *self,
                                   const FerryMaildirMessage *message,
                                   FerryMaildirFolder *target,
                                   GError **error)
{
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  int saved_errno;

  g_return_val_if_fail (self != NULL && message != NULL && target != NULL, FALSE);

  from = message_path (self, message->in_new, message->filename);
  to = message_path (target, message->in_new, message->filename);
  /* It leaves this folder and enters the other (maildir-watch.c). */
  ferry_maildir_watch_announce (self->watch, self->path, 1);
  ferry_maildir_watch_announce (target->watch, target->path, 1);
  saved_errno = ferry_maildir_fs_rename_noreplace (from, to);
  if (saved_errno == 0)
    return TRUE;
  ferry_maildir_watch_announce (self->watch, self->path, -1);
  ferry_maildir_watch_announce (target->watch, target->path, -1);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO, "Cannot move %s to %s: %s", from, target->path,
               g_strerror (saved_errno));
  return FALSE;
}

typedef struct
{
  FerryMailFlags add;    /* taken on */
  FerryMailFlags remove; /* taken off */
  char *filename;
} SetFlags;

static OpResult
set_flags_op (
    FerryMaildirFolder *self, gboolean in_new, const char *filename, gpointer data, GError **error)
{
  SetFlags *set = data;
  g_autofree char *unique = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *from = message_path (self, in_new, filename);
  g_autofree char *target = NULL;
  g_autofree char *to = NULL;
  FerryMailFlags current;
  struct stat st;
  int saved_errno;

  FerryMailFlags wanted;

  /* Applied to the flags the file has now, so that a change a mail reader
   * made since the caller looked survives where the caller changes nothing. */
  ferry_maildir_flags_parse_filename (filename, &unique, &current, &extra);
  wanted = (current & ~set->remove) | set->add;
  if (current == wanted && (!in_new || current == 0))
    {
      if (lstat (from, &st) != 0)
        return op_failure (errno, "read", from, error);
      set->filename = g_strdup (filename);
      return OP_DONE;
    }

  target = ferry_maildir_flags_format_filename (unique, wanted, extra);
  to = g_build_filename (self->cur_dir, target, NULL);
  saved_errno = watched_rename (self, from, to, EVENTS_OF_RENAME_WITHIN);
  if (saved_errno == 0)
    {
      set->filename = g_steal_pointer (&target);
      return OP_DONE;
    }
  if (saved_errno == EEXIST)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "Cannot change the flags of %s: %s exists already (a copy of the same "
                   "message); remove one of the two",
                   from, to);
      return OP_FAILED;
    }
  return op_failure (saved_errno, "rename", from, error);
}

/**
 * ferry_maildir_folder_set_flags:
 * @self: a folder
 * @unique: a message's unique name
 * @known_filename: (nullable): its file name as last seen, without directory
 * @flags: the flags it should have (all of them, not a change)
 * @error: return location for a #GError
 *
 * Renames the message's file to carry @flags, keeping its extra letters.
 * A message in new/ moves to cur/ when it gets any flag; one in cur/ stays
 * there. A file already carrying @flags keeps its name, even one without
 * "2," info. The rename never replaces another file. When the message is
 * not under @known_filename (a mail reader renamed it meanwhile) it is
 * looked up by @unique. Call ferry_maildir_folder_sync_dirs() to make the
 * change durable.
 *
 * Returns: (transfer full): the new file name, or %NULL with
 *   %FERRY_ERROR_NOT_FOUND when the message is gone
 */
char *
ferry_maildir_folder_set_flags (FerryMaildirFolder *self,
                                const char *unique,
                                const char *known_filename,
                                FerryMailFlags flags,
                                GError **error)
{
  SetFlags set = { flags & FERRY_MAIL_FLAGS_ALL, FERRY_MAIL_FLAGS_ALL & ~flags, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (unique != NULL, NULL);

  if (!with_message_file (self, unique, known_filename, set_flags_op, &set, error))
    return NULL;
  return set.filename;
}

/**
 * ferry_maildir_folder_change_flags:
 * @self: a folder
 * @unique: a message's unique name
 * @known_filename: (nullable): its file name as last seen, without directory
 * @add: flags to take on
 * @remove: flags to take off
 * @error: return location for a #GError
 *
 * As ferry_maildir_folder_set_flags(), but changes only @add and @remove,
 * leaving the other flags as the file has them at the time of the rename.
 *
 * Returns: (transfer full): the new file name, or %NULL with
 *   %FERRY_ERROR_NOT_FOUND when the message is gone
 */
char *
ferry_maildir_folder_change_flags (FerryMaildirFolder *self,
                                   const char *unique,
                                   const char *known_filename,
                                   FerryMailFlags add,
                                   FerryMailFlags remove,
                                   GError **error)
{
  SetFlags set = { add & FERRY_MAIL_FLAGS_ALL, remove & FERRY_MAIL_FLAGS_ALL & ~add, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (unique != NULL, NULL);

  if (!with_message_file (self, unique, known_filename, set_flags_op, &set, error))
    return NULL;
  return set.filename;
}

static OpResult
remove_op (
    FerryMaildirFolder *self, gboolean in_new, const char *filename, gpointer data, GError **error)
{
  g_autofree char *path = message_path (self, in_new, filename);
  int saved_errno;

  ferry_maildir_watch_announce (self->watch, self->path, EVENTS_OF_REMOVAL);
  if (unlink (path) == 0)
    return OP_DONE;
  saved_errno = errno;
  ferry_maildir_watch_announce (self->watch, self->path, -EVENTS_OF_REMOVAL);
  return op_failure (saved_errno, "remove", path, error);
}

/**
 * ferry_maildir_folder_remove:
 * @self: a folder
 * @unique: a message's unique name
 * @known_filename: (nullable): its file name as last seen, without directory
 * @error: return location for a #GError
 *
 * Deletes the message's file, found as set_flags() finds it. Call
 * ferry_maildir_folder_sync_dirs() to make the removal durable.
 *
 * Returns: %TRUE when removed; %FALSE with %FERRY_ERROR_NOT_FOUND when it
 *   was gone already, which callers may count as done
 */
gboolean
ferry_maildir_folder_remove (FerryMaildirFolder *self,
                             const char *unique,
                             const char *known_filename,
                             GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (unique != NULL, FALSE);

  return with_message_file (self, unique, known_filename, remove_op, NULL, error);
}

typedef struct
{
  int fd;
  guint64 size;
} OpenMessage;

static OpResult
open_op (
    FerryMaildirFolder *self, gboolean in_new, const char *filename, gpointer data, GError **error)
{
  OpenMessage *opened = data;
  g_autofree char *path = message_path (self, in_new, filename);
  struct stat st;
  int fd = open (path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

  if (fd < 0)
    return op_failure (errno, "open", path, error);
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      ferry_maildir_fs_set_errno_error (error, saved_errno, "read message", path);
      return OP_FAILED;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "%s is not a regular file", path);
      return OP_FAILED;
    }
  opened->fd = fd;
  opened->size = (guint64) st.st_size;
  return OP_DONE;
}

/**
 * ferry_maildir_folder_open_message:
 * @self: a folder
 * @unique: a message's unique name
 * @known_filename: (nullable): its file name as last seen, without directory
 * @size: (out) (optional): the file's size
 * @error: return location for a #GError
 *
 * Opens the message's file for reading, found as set_flags() finds it.
 * A mail reader may rename it afterwards; the descriptor stays valid.
 *
 * Returns: a descriptor the caller closes, or -1 (with
 *   %FERRY_ERROR_NOT_FOUND when the message is gone)
 */
int
ferry_maildir_folder_open_message (FerryMaildirFolder *self,
                                   const char *unique,
                                   const char *known_filename,
                                   guint64 *size,
                                   GError **error)
{
  OpenMessage opened = { -1, 0 };

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (unique != NULL, -1);

  if (!with_message_file (self, unique, known_filename, open_op, &opened, error))
    return -1;
  if (size != NULL)
    *size = opened.size;
  return opened.fd;
}

/**
 * ferry_maildir_folder_load_message:
 * @self: a folder
 * @unique: a message's unique name
 * @known_filename: (nullable): its file name as last seen, without directory
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the message's bytes, as open_message() finds
 *   them, or %NULL
 */
GBytes *
ferry_maildir_folder_load_message (FerryMaildirFolder *self,
                                   const char *unique,
                                   const char *known_filename,
                                   GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  int fd;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (unique != NULL, NULL);

  fd = ferry_maildir_folder_open_message (self, unique, known_filename, NULL, error);
  if (fd < 0)
    return NULL;
  mapped = g_mapped_file_new_from_fd (fd, FALSE, error);
  close (fd);
  if (mapped == NULL)
    return NULL;
  return g_mapped_file_get_bytes (mapped);
}

/**
 * ferry_maildir_folder_sync_dirs:
 * @self: a folder
 * @error: return location for a #GError
 *
 * Makes the deliveries, renames and removals done in new/ and cur/ so far
 * durable. One call covers a whole batch; the caller decides when, and
 * records the batch as done only after it returns %TRUE.
 */
gboolean
ferry_maildir_folder_sync_dirs (FerryMaildirFolder *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return ferry_durable_fsync_dir (self->new_dir, error)
         && ferry_durable_fsync_dir (self->cur_dir, error);
}

static gboolean
is_stale (const struct stat *st, gint64 now)
{
  return S_ISREG (st->st_mode) && now - MAX (st->st_atime, st->st_mtime) >= STALE_TMP_SECONDS;
}

/**
 * ferry_maildir_folder_clean_tmp:
 * @self: a folder
 * @n_removed: (out) (optional): how many files were removed
 * @error: return location for a #GError
 *
 * Removes files in tmp/ neither read nor written for 36 hours, as the
 * spec says: deliveries that died before they were committed.
 */
gboolean
ferry_maildir_folder_clean_tmp (FerryMaildirFolder *self, guint *n_removed, GError **error)
{
  DIR *dir;
  struct dirent *entry;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint removed = 0;
  int saved_errno = 0;

  g_return_val_if_fail (self != NULL, FALSE);

  dir = opendir (self->tmp_dir);
  if (dir == NULL)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "read", self->tmp_dir);
      return FALSE;
    }
  for (errno = 0; (entry = readdir (dir)) != NULL; errno = 0)
    {
      struct stat st;

      if (fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
          || !is_stale (&st, now))
        continue;
      if (unlinkat (dirfd (dir), entry->d_name, 0) == 0)
        removed++;
      else if (errno != ENOENT)
        break;
    }
  saved_errno = errno;
  closedir (dir);

  if (n_removed != NULL)
    *n_removed = removed;
  if (saved_errno != 0)
    {
      ferry_maildir_fs_set_errno_error (error, saved_errno, "clean up", self->tmp_dir);
      return FALSE;
    }
  return TRUE;
}

/* Deliveries --------------------------------------------------------------- */

/**
 * ferry_maildir_folder_begin_delivery:
 * @self: a folder
 * @error: return location for a #GError
 *
 * Starts writing a new message: creates tmp/UNIQUE (mode 0600) under a new
 * unique name, which the caller may record before the message becomes
 * visible. Write the message with ferry_maildir_delivery_write() or
 * through ferry_maildir_delivery_get_fd(), make it durable with
 * ferry_maildir_delivery_finish_tmp() (several at once with
 * ferry_maildir_deliveries_finish_tmp()), publish it with
 * ferry_maildir_delivery_commit(), then ferry_maildir_folder_sync_dirs().
 *
 * Returns: (transfer full): the delivery, or %NULL
 */
FerryMaildirDelivery *
ferry_maildir_folder_begin_delivery (FerryMaildirFolder *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  for (guint attempt = 0; attempt < UNIQUE_NAME_ATTEMPTS; attempt++)
    {
      g_autofree char *unique = ferry_maildir_name_new_unique ();
      g_autofree char *path = g_build_filename (self->tmp_dir, unique, NULL);
      int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
      FerryMaildirDelivery *delivery;

      if (fd < 0 && errno == EEXIST)
        continue;
      if (fd < 0)
        {
          ferry_maildir_fs_set_errno_error (error, errno, "create", path);
          return NULL;
        }
      delivery = g_new0 (FerryMaildirDelivery, 1);
      delivery->folder = ferry_maildir_folder_ref (self);
      delivery->unique = g_steal_pointer (&unique);
      delivery->tmp_path = g_steal_pointer (&path);
      delivery->fd = fd;
      delivery->state = DELIVERY_WRITING;
      return delivery;
    }

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE, "Cannot find a free file name in %s",
               self->tmp_dir);
  return NULL;
}

const char *
ferry_maildir_delivery_get_unique (FerryMaildirDelivery *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->unique;
}

/**
 * ferry_maildir_delivery_get_fd:
 * @self: a delivery
 *
 * Returns: the tmp/ file's descriptor, open for writing, until
 *   finish_tmp() (then -1). The delivery owns it.
 */
int
ferry_maildir_delivery_get_fd (FerryMaildirDelivery *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->state == DELIVERY_WRITING ? self->fd : -1;
}

gboolean
ferry_maildir_delivery_write (FerryMaildirDelivery *self,
                              const void *data,
                              gsize len,
                              GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->state == DELIVERY_WRITING, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  return ferry_durable_write_all (self->fd, data, len, self->tmp_path, error);
}

/* Flushes and closes the tmp/ file; the delivery is finished even when
 * that failed, and then must be aborted. */
static gboolean
finish_file (FerryMaildirDelivery *self, GError **error)
{
  gboolean ok = ferry_durable_fsync_fd (self->fd, self->tmp_path, error);

  if (close (self->fd) != 0 && ok)
    {
      ferry_maildir_fs_set_errno_error (error, errno, "write", self->tmp_path);
      ok = FALSE;
    }
  self->fd = -1;
  self->state = DELIVERY_FINISHED;
  return ok;
}

/**
 * ferry_maildir_delivery_finish_tmp:
 * @self: a delivery being written
 * @error: return location for a #GError
 *
 * Flushes and closes the tmp/ file: its data is durable, though not yet
 * visible. On failure the delivery is aborted.
 */
gboolean
ferry_maildir_delivery_finish_tmp (FerryMaildirDelivery *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->state == DELIVERY_WRITING, FALSE);

  if (finish_file (self, error))
    return TRUE;
  ferry_maildir_delivery_abort (self);
  return FALSE;
}

/**
 * ferry_maildir_deliveries_finish_tmp:
 * @deliveries: (array length=n): deliveries being written
 * @n: how many
 * @error: return location for a #GError
 *
 * As ferry_maildir_delivery_finish_tmp() for each, but faster than one
 * after the other: the write-back of every file is started first, so the
 * disk gets all of them at once, and each fsync after the first mostly
 * finds its data written and its journal commit already done. (Measured
 * on ext4 with batches of 64 files of 20 kB: about half the time of
 * fsyncing them one by one, and as fast as fsyncing them from 8 threads,
 * without the threads.) On failure every one of them is aborted: none is
 * left behind in tmp/ to be committed without being durable.
 */
gboolean
ferry_maildir_deliveries_finish_tmp (FerryMaildirDelivery *const *deliveries,
                                     guint n,
                                     GError **error)
{
  g_return_val_if_fail (deliveries != NULL || n == 0, FALSE);
  for (guint i = 0; i < n; i++)
    g_return_val_if_fail (deliveries[i] != NULL && deliveries[i]->state == DELIVERY_WRITING, FALSE);

  for (guint i = 0; i < n; i++)
    ferry_durable_start_writeback (deliveries[i]->fd);
  for (guint i = 0; i < n; i++)
    if (!finish_file (deliveries[i], error))
      {
        for (guint j = 0; j < n; j++)
          ferry_maildir_delivery_abort (deliveries[j]);
        return FALSE;
      }
  return TRUE;
}

/**
 * ferry_maildir_delivery_commit:
 * @self: a delivery, written (finish_tmp() is called when it was not)
 * @flags: the message's flags
 * @error: return location for a #GError
 *
 * Publishes the message. Without flags it goes to new/ under its bare
 * unique name, as new mail a reader has not seen; with any flag, to cur/
 * as "UNIQUE:2,FLAGS", because new/ cannot carry flags (the spec gives
 * its files no info). So unseen mail that is flagged, answered or a draft
 * lands in cur/ and keeps those flags. The rename never replaces a file.
 * On failure the message stays in tmp/: commit again or abort.
 *
 * Returns: (transfer full): the file name it now has, without directory
 */
char *
ferry_maildir_delivery_commit (FerryMaildirDelivery *self, FerryMailFlags flags, GError **error)
{
  g_autofree char *filename = NULL;
  g_autofree char *path = NULL;
  int saved_errno;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->state == DELIVERY_WRITING || self->state == DELIVERY_FINISHED, NULL);

  if (self->state == DELIVERY_WRITING && !ferry_maildir_delivery_finish_tmp (self, error))
    return NULL;

  flags &= FERRY_MAIL_FLAGS_ALL;
  filename = flags == 0 ? g_strdup (self->unique)
                        : ferry_maildir_flags_format_filename (self->unique, flags, NULL);
  path = message_path (self->folder, flags == 0, filename);
  saved_errno = watched_rename (self->folder, self->tmp_path, path, EVENTS_OF_RENAME_INTO);
  if (saved_errno == EEXIST)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "Cannot deliver %s: %s exists already, and Ferry never replaces a message",
                   self->tmp_path, path);
      return NULL;
    }
  if (saved_errno != 0)
    {
      ferry_maildir_fs_set_errno_error (error, saved_errno, "deliver", path);
      return NULL;
    }
  self->state = DELIVERY_COMMITTED;
  return g_steal_pointer (&filename);
}

/**
 * ferry_maildir_delivery_abort:
 * @self: a delivery
 *
 * Removes the tmp/ file. Does nothing once committed or aborted.
 */
void
ferry_maildir_delivery_abort (FerryMaildirDelivery *self)
{
  g_return_if_fail (self != NULL);

  if (self->state == DELIVERY_COMMITTED || self->state == DELIVERY_ABORTED)
    return;
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  unlink (self->tmp_path);
  self->state = DELIVERY_ABORTED;
}

/**
 * ferry_maildir_delivery_free:
 * @self: (nullable): a delivery
 *
 * Frees @self, aborting it first unless it was committed.
 */
void
ferry_maildir_delivery_free (FerryMaildirDelivery *self)
{
  if (self == NULL)
    return;
  ferry_maildir_delivery_abort (self);
  ferry_maildir_folder_unref (self->folder);
  g_free (self->unique);
  g_free (self->tmp_path);
  g_free (self);
}
