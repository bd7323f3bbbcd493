/* outbox-spool.c: the durable queue of outgoing messages on disk
 *
 * Layout, all 0700 directories and 0600 files:
 *
 *   outbox/queue/ID/message    the message exactly as it was given
 *   outbox/queue/ID/envelope   sender, recipients and delivery record (GKeyFile)
 *   outbox/tmp/ID/             an entry being written
 *   outbox/trash/ID/           an entry being removed
 *   outbox/flush.lock          held by a background flusher
 *
 * An entry is built in tmp/, both files fsynced, then the directory is
 * renamed into queue/ and queue/ is fsynced: a crash leaves either no entry
 * or a whole one. Removal renames into trash/ first for the same reason.
 * The envelope is replaced atomically (durable-file.c), never edited.
 *
 * A process working on an entry holds flock() on its message file. The
 * kernel drops the lock when the process dies, however it dies, so a
 * flusher killed mid-send leaves an entry that the next one picks up.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable-file.h"
#include "core/errors.h"
#include "core/paths.h"
#include "outbox/outbox-spool.h"

#define ID_LENGTH         12
#define ENVELOPE_VERSION  1
#define STALE_TMP_SECONDS 3600

struct _FerryOutboxSpool
{
  gatomicrefcount ref_count;
  char *path;
  char *queue_dir;
  char *tmp_dir;
  char *trash_dir;
};

struct _FerryOutboxLock
{
  int fd;
};

static const char *const state_names[] = { "queued", "sending", "failed", "sent" };

const char *
ferry_outbox_state_to_string (FerryOutboxState state)
{
  g_return_val_if_fail (state <= FERRY_OUTBOX_STATE_SENT, "queued");
  return state_names[state];
}

static gboolean
state_from_string (const char *name, FerryOutboxState *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (name, state_names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

static void
set_errno_error (GError **error, int saved_errno, const char *action, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot %s %s: %s", action,
               what, g_strerror (saved_errno));
}

/* Locks ------------------------------------------------------------------ */

static FerryOutboxLock *
lock_file (const char *path, int open_flags, GError **error)
{
  FerryOutboxLock *lock;
  int fd = open (path, open_flags | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      set_errno_error (error, errno, "open", path);
      return NULL;
    }

  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      close (fd);
      if (saved_errno == EWOULDBLOCK)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_BUSY, "%s is in use by another process", path);
      else
        set_errno_error (error, saved_errno, "lock", path);
      return NULL;
    }

  lock = g_new (FerryOutboxLock, 1);
  lock->fd = fd;
  return lock;
}

void
ferry_outbox_lock_free (FerryOutboxLock *lock)
{
  if (lock == NULL)
    return;
  close (lock->fd);
  g_free (lock);
}

/* Entries ------------------------------------------------------------------ */

static void
recipient_free (FerryOutboxRecipient *recipient)
{
  g_free (recipient->address);
  g_free (recipient->reply);
  g_free (recipient);
}

FerryOutboxEntry *
ferry_outbox_entry_new (void)
{
  FerryOutboxEntry *self = g_new0 (FerryOutboxEntry, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->recipients = g_ptr_array_new_with_free_func ((GDestroyNotify) recipient_free);
  self->sender = g_strdup ("");
  return self;
}

FerryOutboxEntry *
ferry_outbox_entry_ref (FerryOutboxEntry *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static void
entry_clear_fields (FerryOutboxEntry *self)
{
  g_clear_pointer (&self->account, g_free);
  g_clear_pointer (&self->sender, g_free);
  g_clear_pointer (&self->from, g_free);
  g_clear_pointer (&self->to, g_free);
  g_clear_pointer (&self->subject, g_free);
  g_clear_pointer (&self->last_reply, g_free);
  g_ptr_array_set_size (self->recipients, 0);
}

void
ferry_outbox_entry_unref (FerryOutboxEntry *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  entry_clear_fields (self);
  g_ptr_array_unref (self->recipients);
  g_free (self->id);
  g_free (self->path);
  g_free (self);
}

void
ferry_outbox_entry_add_recipient (FerryOutboxEntry *self, const char *address)
{
  FerryOutboxRecipient *recipient;

  g_return_if_fail (self != NULL);
  g_return_if_fail (address != NULL);

  recipient = g_new0 (FerryOutboxRecipient, 1);
  recipient->address = g_strdup (address);
  recipient->state = FERRY_OUTBOX_STATE_QUEUED;
  g_ptr_array_add (self->recipients, recipient);
}

static void
set_time (GKeyFile *kf, const char *group, const char *key, gint64 seconds)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *text = NULL;

  if (seconds == 0)
    return;
  time = g_date_time_new_from_unix_utc (seconds);
  text = g_date_time_format_iso8601 (time);
  g_key_file_set_string (kf, group, key, text);
}

static void
set_optional_string (GKeyFile *kf, const char *group, const char *key, const char *value)
{
  if (value != NULL)
    g_key_file_set_string (kf, group, key, value);
}

/**
 * ferry_outbox_entry_serialize:
 * @self: an entry
 *
 * Returns: (transfer full): the envelope file's text for @self
 */
char *
ferry_outbox_entry_serialize (FerryOutboxEntry *self)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  g_return_val_if_fail (self != NULL, NULL);

  g_key_file_set_integer (kf, "envelope", "version", ENVELOPE_VERSION);
  set_optional_string (kf, "envelope", "account", self->account);
  g_key_file_set_string (kf, "envelope", "sender", self->sender != NULL ? self->sender : "");
  set_time (kf, "envelope", "queued-at", self->queued_at);
  g_key_file_set_uint64 (kf, "envelope", "size", self->size);
  set_optional_string (kf, "envelope", "from", self->from);
  set_optional_string (kf, "envelope", "to", self->to);
  set_optional_string (kf, "envelope", "subject", self->subject);

  g_key_file_set_string (kf, "delivery", "state", ferry_outbox_state_to_string (self->state));
  g_key_file_set_integer (kf, "delivery", "attempts", (int) self->attempts);
  set_time (kf, "delivery", "last-attempt", self->last_attempt);
  set_time (kf, "delivery", "next-attempt", self->next_attempt);
  set_time (kf, "delivery", "sent-at", self->sent_at);
  set_optional_string (kf, "delivery", "last-reply", self->last_reply);

  for (guint i = 0; i < self->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (self->recipients, i);
      g_autofree char *group = g_strdup_printf ("recipient %u", i + 1);

      g_key_file_set_string (kf, group, "address", r->address);
      g_key_file_set_string (kf, group, "state", ferry_outbox_state_to_string (r->state));
      set_optional_string (kf, group, "reply", r->reply);
    }

  return g_key_file_to_data (kf, NULL, NULL);
}

static gboolean
get_time (GKeyFile *kf, const char *group, const char *key, gint64 *out, GError **error)
{
  g_autofree char *text = g_key_file_get_string (kf, group, key, NULL);
  g_autoptr (GDateTime) time = NULL;

  *out = 0;
  if (text == NULL)
    return TRUE;
  time = g_date_time_new_from_iso8601 (text, NULL);
  /* What set_time() cannot write back (a year past 9999 in UTC) is no
   * time either. */
  if (time != NULL)
    {
      g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (g_date_time_to_unix (time));
      if (utc == NULL)
        g_clear_pointer (&time, g_date_time_unref);
    }
  if (time == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "[%s] %s: “%s” is not a time", group, key,
                   text);
      return FALSE;
    }
  *out = g_date_time_to_unix (time);
  return TRUE;
}

static gboolean
get_state (GKeyFile *kf, const char *group, FerryOutboxState *out, GError **error)
{
  g_autofree char *text = g_key_file_get_string (kf, group, "state", NULL);

  if (!state_from_string (text, out))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "[%s] state: “%s” is not a state", group,
                   text != NULL ? text : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_recipients (FerryOutboxEntry *self, GKeyFile *kf, GError **error)
{
  for (guint i = 1;; i++)
    {
      g_autofree char *group = g_strdup_printf ("recipient %u", i);
      g_autofree char *address = NULL;
      FerryOutboxRecipient *r;

      if (!g_key_file_has_group (kf, group))
        break;
      address = g_key_file_get_string (kf, group, "address", NULL);
      if (address == NULL)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "[%s] has no address", group);
          return FALSE;
        }
      ferry_outbox_entry_add_recipient (self, address);
      r = g_ptr_array_index (self->recipients, self->recipients->len - 1);
      r->reply = g_key_file_get_string (kf, group, "reply", NULL);
      if (!get_state (kf, group, &r->state, error))
        return FALSE;
    }

  if (self->recipients->len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "no [recipient 1] group");
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_outbox_entry_deserialize:
 * @self: an entry whose envelope fields are replaced
 * @text: an envelope file's text
 * @len: its length
 * @error: return location for a #GError
 *
 * The inverse of ferry_outbox_entry_serialize().
 */
gboolean
ferry_outbox_entry_deserialize (FerryOutboxEntry *self, const char *text, gsize len, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  int version;

  g_return_val_if_fail (self != NULL, FALSE);

  entry_clear_fields (self);
  if (!g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, &local_error)
      || ((version = g_key_file_get_integer (kf, "envelope", "version", &local_error)) == 0
          && local_error != NULL))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "%s", local_error->message);
      return FALSE;
    }
  if (version <= 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "envelope version %d is not a version",
                   version);
      return FALSE;
    }
  if (version != ENVELOPE_VERSION)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "envelope version %d is newer than this Ferry understands", version);
      return FALSE;
    }

  self->account = g_key_file_get_string (kf, "envelope", "account", NULL);
  self->sender = g_key_file_get_string (kf, "envelope", "sender", NULL);
  if (self->sender == NULL)
    self->sender = g_strdup ("");
  self->size = g_key_file_get_uint64 (kf, "envelope", "size", NULL);
  self->from = g_key_file_get_string (kf, "envelope", "from", NULL);
  self->to = g_key_file_get_string (kf, "envelope", "to", NULL);
  self->subject = g_key_file_get_string (kf, "envelope", "subject", NULL);
  self->attempts = (guint) MAX (0, g_key_file_get_integer (kf, "delivery", "attempts", NULL));
  self->last_reply = g_key_file_get_string (kf, "delivery", "last-reply", NULL);

  return get_time (kf, "envelope", "queued-at", &self->queued_at, error)
         && get_time (kf, "delivery", "last-attempt", &self->last_attempt, error)
         && get_time (kf, "delivery", "next-attempt", &self->next_attempt, error)
         && get_time (kf, "delivery", "sent-at", &self->sent_at, error)
         && get_state (kf, "delivery", &self->state, error) && read_recipients (self, kf, error);
}

static char *
entry_file (FerryOutboxEntry *self, const char *name)
{
  return g_build_filename (self->path, name, NULL);
}

/**
 * ferry_outbox_entry_reload:
 * @self: an entry of a spool
 * @error: return location for a #GError
 *
 * Reads the envelope again, as another process may have changed it.
 */
gboolean
ferry_outbox_entry_reload (FerryOutboxEntry *self, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;

  g_return_val_if_fail (self != NULL && self->path != NULL, FALSE);

  path = entry_file (self, "envelope");
  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  if (!ferry_outbox_entry_deserialize (self, text, len, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "%s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_outbox_entry_save:
 * @self: an entry of a spool
 * @lock: the entry's lock, which the caller holds
 * @error: return location for a #GError
 *
 * Replaces the envelope on disk, atomically and durably.
 */
gboolean
ferry_outbox_entry_save (FerryOutboxEntry *self, FerryOutboxLock *lock, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (self != NULL && self->path != NULL, FALSE);
  g_return_val_if_fail (lock != NULL, FALSE);

  path = entry_file (self, "envelope");
  text = ferry_outbox_entry_serialize (self);
  return ferry_durable_replace_file (path, text, strlen (text), error);
}

/**
 * ferry_outbox_entry_try_lock:
 * @self: an entry of a spool
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the entry's lock, or %NULL with
 *   %FERRY_ERROR_BUSY when another process holds it.
 */
FerryOutboxLock *
ferry_outbox_entry_try_lock (FerryOutboxEntry *self, GError **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (self != NULL && self->path != NULL, NULL);

  path = entry_file (self, "message");
  return lock_file (path, O_RDONLY, error);
}

/**
 * ferry_outbox_entry_is_locked:
 * @self: an entry of a spool
 *
 * Returns: whether another process is working on @self right now
 */
gboolean
ferry_outbox_entry_is_locked (FerryOutboxEntry *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryOutboxLock) lock = ferry_outbox_entry_try_lock (self, &error);

  return lock == NULL && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_BUSY);
}

/**
 * ferry_outbox_entry_load_message:
 * @self: an entry of a spool
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the message exactly as it was queued
 */
GBytes *
ferry_outbox_entry_load_message (FerryOutboxEntry *self, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GMappedFile) file = NULL;

  g_return_val_if_fail (self != NULL && self->path != NULL, NULL);

  path = entry_file (self, "message");
  file = g_mapped_file_new (path, FALSE, error);
  if (file == NULL)
    return NULL;
  return g_mapped_file_get_bytes (file);
}

/* The spool ---------------------------------------------------------------- */

/* Entries left in tmp/ by a process that died before its rename were never
 * acknowledged, so removing them loses nothing a user was told is queued.
 * The age check spares one that another process is writing right now. */
static void
clean_tmp (FerryOutboxSpool *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->tmp_dir, 0, NULL);
  const char *name;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->tmp_dir, name, NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0 && now - st.st_mtime > STALE_TMP_SECONDS)
        ferry_paths_remove_tree (path);
    }
}

static void
clean_trash (FerryOutboxSpool *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->trash_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->trash_dir, name, NULL);
      ferry_paths_remove_tree (path);
    }
}

/**
 * ferry_outbox_spool_open:
 * @path: the outbox directory, usually ferry_paths_outbox_dir()
 * @error: return location for a #GError
 *
 * Opens the spool at @path, creating its directories (mode 0700) and
 * finishing removals a crash interrupted.
 *
 * Returns: (transfer full): the spool, or %NULL when it cannot be created
 */
FerryOutboxSpool *
ferry_outbox_spool_open (const char *path, GError **error)
{
  g_autoptr (FerryOutboxSpool) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_new0 (FerryOutboxSpool, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->queue_dir = g_build_filename (path, "queue", NULL);
  self->tmp_dir = g_build_filename (path, "tmp", NULL);
  self->trash_dir = g_build_filename (path, "trash", NULL);

  if (!ferry_paths_ensure_private_dir (self->path, error)
      || !ferry_paths_ensure_private_dir (self->queue_dir, error)
      || !ferry_paths_ensure_private_dir (self->tmp_dir, error)
      || !ferry_paths_ensure_private_dir (self->trash_dir, error))
    return NULL;

  clean_trash (self);
  clean_tmp (self);
  return g_steal_pointer (&self);
}

FerryOutboxSpool *
ferry_outbox_spool_ref (FerryOutboxSpool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_outbox_spool_unref (FerryOutboxSpool *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->path);
  g_free (self->queue_dir);
  g_free (self->tmp_dir);
  g_free (self->trash_dir);
  g_free (self);
}

const char *
ferry_outbox_spool_get_path (FerryOutboxSpool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

static char *
new_id (void)
{
  return g_strdup_printf ("%06x%06x", g_random_int () & 0xffffff, g_random_int () & 0xffffff);
}

static gboolean
write_new_file (const char *path, const void *data, gsize len, GError **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gboolean ok;

  if (fd < 0)
    {
      set_errno_error (error, errno, "create", path);
      return FALSE;
    }
  ok = ferry_durable_write_all (fd, data, len, path, error)
       && ferry_durable_fsync_fd (fd, path, error);
  if (close (fd) != 0 && ok)
    {
      set_errno_error (error, errno, "write", path);
      ok = FALSE;
    }
  return ok;
}

/* Creates tmp/ID with a fresh ID; returns the ID. */
static char *
make_tmp_entry_dir (FerryOutboxSpool *self, char **tmp_path, GError **error)
{
  for (guint tries = 0; tries < 100; tries++)
    {
      g_autofree char *id = new_id ();
      g_autofree char *path = g_build_filename (self->tmp_dir, id, NULL);
      g_autofree char *final = g_build_filename (self->queue_dir, id, NULL);

      if (g_file_test (final, G_FILE_TEST_EXISTS))
        continue;
      if (g_mkdir (path, 0700) == 0)
        {
          *tmp_path = g_steal_pointer (&path);
          return g_steal_pointer (&id);
        }
      if (errno != EEXIST)
        {
          set_errno_error (error, errno, "create", path);
          return NULL;
        }
    }

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE, "Cannot find a free queue id in %s",
               self->tmp_dir);
  return NULL;
}

static gboolean
write_entry_files (const char *dir, GBytes *message, FerryOutboxEntry *envelope, GError **error)
{
  g_autofree char *message_path = g_build_filename (dir, "message", NULL);
  g_autofree char *envelope_path = g_build_filename (dir, "envelope", NULL);
  g_autofree char *text = ferry_outbox_entry_serialize (envelope);
  gsize len;
  const void *data = g_bytes_get_data (message, &len);

  return write_new_file (message_path, data, len, error)
         && write_new_file (envelope_path, text, strlen (text), error)
         && ferry_durable_fsync_dir (dir, error);
}

/* Moves the finished tmp/ID into queue/ID. rename() refuses to replace a
 * non-empty directory, so an ID taken meanwhile fails instead of merging. */
static gboolean
publish_entry (FerryOutboxSpool *self, const char *tmp_path, const char *final_path, GError **error)
{
  if (g_rename (tmp_path, final_path) != 0)
    {
      set_errno_error (error, errno, "move into the queue", tmp_path);
      return FALSE;
    }
  return ferry_durable_fsync_dir (self->queue_dir, error);
}

/**
 * ferry_outbox_spool_add:
 * @self: a spool
 * @message: the message exactly as given
 * @envelope: an entry with account, sender, recipients and display fields set
 * @error: return location for a #GError
 *
 * Queues @message durably: when this returns, the entry survives a crash
 * or power cut. On failure nothing of it is left in the queue.
 *
 * Returns: (transfer full): the new entry, with its id
 */
FerryOutboxEntry *
ferry_outbox_spool_add (FerryOutboxSpool *self,
                        GBytes *message,
                        FerryOutboxEntry *envelope,
                        GError **error)
{
  g_autofree char *tmp_path = NULL;
  g_autofree char *final_path = NULL;
  g_autofree char *id = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (envelope != NULL && envelope->recipients->len > 0, NULL);

  id = make_tmp_entry_dir (self, &tmp_path, error);
  if (id == NULL)
    return NULL;

  envelope->size = g_bytes_get_size (message);
  if (envelope->queued_at == 0)
    envelope->queued_at = g_get_real_time () / G_USEC_PER_SEC;
  if (envelope->next_attempt == 0)
    envelope->next_attempt = envelope->queued_at;

  final_path = g_build_filename (self->queue_dir, id, NULL);
  if (!write_entry_files (tmp_path, message, envelope, error)
      || !publish_entry (self, tmp_path, final_path, error))
    {
      ferry_paths_remove_tree (tmp_path);
      return NULL;
    }

  g_free (envelope->id);
  envelope->id = g_steal_pointer (&id);
  g_free (envelope->path);
  envelope->path = g_steal_pointer (&final_path);
  return ferry_outbox_entry_ref (envelope);
}

static gboolean
is_valid_id (const char *id)
{
  if (*id == '\0')
    return FALSE;
  for (const char *c = id; *c != '\0'; c++)
    if (!g_ascii_isxdigit (*c) || g_ascii_isupper (*c))
      return FALSE;
  return TRUE;
}

/* An entry whose envelope cannot be read is still shown, never dropped:
 * its message is intact and the user decides what becomes of it. */
static FerryOutboxEntry *
load_entry (FerryOutboxSpool *self, const char *id)
{
  FerryOutboxEntry *entry = ferry_outbox_entry_new ();
  g_autoptr (GError) error = NULL;

  entry->id = g_strdup (id);
  entry->path = g_build_filename (self->queue_dir, id, NULL);
  if (!ferry_outbox_entry_reload (entry, &error))
    {
      entry->state = FERRY_OUTBOX_STATE_FAILED;
      entry->last_reply
          = g_strdup_printf ("Ferry cannot read this entry's envelope: %s", error->message);
    }
  return entry;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const FerryOutboxEntry *x = *(FerryOutboxEntry **) a;
  const FerryOutboxEntry *y = *(FerryOutboxEntry **) b;

  if (x->queued_at != y->queued_at)
    return x->queued_at < y->queued_at ? -1 : 1;
  return g_strcmp0 (x->id, y->id);
}

/**
 * ferry_outbox_spool_list:
 * @self: a spool
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type FerryOutboxEntry): every
 *   entry, oldest first
 */
GPtrArray *
ferry_outbox_spool_list (FerryOutboxSpool *self, GError **error)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_return_val_if_fail (self != NULL, NULL);

  dir = g_dir_open (self->queue_dir, 0, error);
  if (dir == NULL)
    return NULL;

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_outbox_entry_unref);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_valid_id (name))
      g_ptr_array_add (entries, load_entry (self, name));

  g_ptr_array_sort (entries, compare_entries);
  return g_steal_pointer (&entries);
}

/**
 * ferry_outbox_spool_lookup:
 * @self: a spool
 * @id: an entry id, or a prefix of one that no other id shares
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the entry, or %NULL with %FERRY_ERROR_NOT_FOUND
 */
FerryOutboxEntry *
ferry_outbox_spool_lookup (FerryOutboxSpool *self, const char *id, GError **error)
{
  g_autoptr (GDir) dir = NULL;
  g_autofree char *found = NULL;
  const char *name;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!is_valid_id (id))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
                   "“%s” is not a queue id (ids are lower-case hexadecimal, see `ferry queue "
                   "list`)",
                   id);
      return NULL;
    }

  dir = g_dir_open (self->queue_dir, 0, error);
  if (dir == NULL)
    return NULL;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_prefix (name, id) || !is_valid_id (name))
        continue;
      if (found != NULL && !g_str_equal (name, id))
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
                       "“%s” matches more than one queued message; give more of the id", id);
          return NULL;
        }
      g_free (found);
      found = g_strdup (name);
      if (g_str_equal (name, id))
        break;
    }

  if (found == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND, "No queued message with id %s", id);
      return NULL;
    }
  return load_entry (self, found);
}

/**
 * ferry_outbox_spool_remove:
 * @self: a spool
 * @entry: one of its entries
 * @lock: @entry's lock, which the caller holds
 * @error: return location for a #GError
 *
 * Removes @entry from the queue at once; its files are deleted after.
 */
gboolean
ferry_outbox_spool_remove (FerryOutboxSpool *self,
                           FerryOutboxEntry *entry,
                           FerryOutboxLock *lock,
                           GError **error)
{
  g_autofree char *trash_path = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (entry != NULL && entry->id != NULL, FALSE);
  g_return_val_if_fail (lock != NULL, FALSE);

  trash_path = g_build_filename (self->trash_dir, entry->id, NULL);
  ferry_paths_remove_tree (trash_path);
  if (g_rename (entry->path, trash_path) != 0)
    {
      set_errno_error (error, errno, "remove", entry->path);
      return FALSE;
    }
  if (!ferry_durable_fsync_dir (self->queue_dir, error))
    return FALSE;
  ferry_paths_remove_tree (trash_path);
  return TRUE;
}

/**
 * ferry_outbox_spool_try_lock_flush:
 * @self: a spool
 * @error: return location for a #GError
 *
 * Background flushers take this lock so that a burst of ferry-sendmail
 * runs starts one delivery, not one each. Returns %NULL with
 * %FERRY_ERROR_BUSY when another flusher has it.
 *
 * Returns: (transfer full) (nullable): the lock
 */
FerryOutboxLock *
ferry_outbox_spool_try_lock_flush (FerryOutboxSpool *self, GError **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  path = g_build_filename (self->path, "flush.lock", NULL);
  return lock_file (path, O_RDWR | O_CREAT, error);
}
