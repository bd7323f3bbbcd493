/* maildir-watch.c: whether anyone else changed a Maildir folder
 *
 * A sync that changed a folder records the folder's change stamp (the
 * times of its directories) as standing for what the sync left there.
 * That holds only if nobody else changed the folder meanwhile, and the
 * times cannot tell: a change made within the same tick of the clock as
 * one of the sync's own leaves them as they were. Reading the folder
 * again to compare would cost as much as the sync of a small change.
 *
 * So from the moment the sync looks at a folder, its cur/ and new/ are
 * watched with inotify(7). Each change of the sync's own is announced
 * before it is made, with the number of events it causes there (a rename
 * within the folder two; a delivery from tmp/, which is not watched, or a
 * removal one), and withdrawn if it fails. The folder is undisturbed when
 * no more events came than were announced: any other change, or a lost
 * event (the kernel's queue overflowing), shows as one too many.
 *
 * The kernel queues an event as the change is made, in the same system
 * call, so one made before the caller reads the stamp is read here too.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "maildir/maildir-watch.h"

#define WATCHED_EVENTS                                                                             \
  (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* The kernel keeps 16,384 events by default; a first sync delivering
 * 50,000 messages must read them as it goes. */
#define READ_EVERY_ANNOUNCEMENTS 1024
#define EVENT_BUFFER_SIZE        (64 * 1024)

static const char *const watched_subdirs[] = { "cur", "new" };

typedef struct
{
  char *path;
  int wd[G_N_ELEMENTS (watched_subdirs)];
  gint64 unaccounted; /* events announced and not seen yet */
  gboolean disturbed;
} WatchedFolder;

struct _FerryMaildirWatch
{
  gatomicrefcount ref_count;
  GMutex lock;         /* over all below: the sync's threads share the watch */
  gboolean started;    /* fd is made on the first begin() */
  int fd;              /* -1 without inotify: no folder is ever undisturbed */
  GHashTable *folders; /* path -> WatchedFolder */
  GHashTable *by_wd;   /* watch descriptor -> WatchedFolder, in folders */
  guint since_read;
  char *buffer;
};

static void
watched_folder_free (WatchedFolder *folder)
{
  g_free (folder->path);
  g_free (folder);
}

/**
 * ferry_maildir_watch_new:
 *
 * Returns: (transfer full): a watch over no folder yet
 */
FerryMaildirWatch *
ferry_maildir_watch_new (void)
{
  FerryMaildirWatch *self = g_new0 (FerryMaildirWatch, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->fd = -1;
  self->folders
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) watched_folder_free);
  self->by_wd = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->buffer = g_malloc (EVENT_BUFFER_SIZE);
  return self;
}

FerryMaildirWatch *
ferry_maildir_watch_ref (FerryMaildirWatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_maildir_watch_unref (FerryMaildirWatch *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  if (self->fd >= 0)
    close (self->fd);
  g_hash_table_destroy (self->by_wd);
  g_hash_table_destroy (self->folders);
  g_mutex_clear (&self->lock);
  g_free (self->buffer);
  g_free (self);
}

static void
disturb_all (FerryMaildirWatch *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((WatchedFolder *) value)->disturbed = TRUE;
}

static void
see_event (FerryMaildirWatch *self, const struct inotify_event *event)
{
  WatchedFolder *folder;

  if (event->mask & IN_Q_OVERFLOW)
    {
      disturb_all (self);
      return;
    }
  folder = g_hash_table_lookup (self->by_wd, GINT_TO_POINTER (event->wd));
  /* An event of a folder no longer watched (IN_IGNORED after its end). */
  if (folder == NULL)
    return;
  if ((event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
      || --folder->unaccounted < 0)
    folder->disturbed = TRUE;
}

/* Takes in every event the kernel has queued. */
static void
read_events (FerryMaildirWatch *self)
{
  self->since_read = 0;
  if (self->fd < 0)
    return;
  for (;;)
    {
      gssize n = read (self->fd, self->buffer, EVENT_BUFFER_SIZE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN)
        disturb_all (self);
      if (n <= 0)
        return;
      for (gssize offset = 0; offset < n;)
        {
          const struct inotify_event *event
              = (const struct inotify_event *) (gpointer) (self->buffer + offset);

          see_event (self, event);
          offset += (gssize) (sizeof *event + event->len);
        }
    }
}

/* Only when a folder is watched: closing an inotify instance that had
 * watches waits for the kernel to retire them (an RCU grace period,
 * several milliseconds), which a sync that watched nothing need not. */
static void
start (FerryMaildirWatch *self)
{
  if (self->started)
    return;
  self->started = TRUE;
  self->fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (self->fd < 0)
    g_debug ("No inotify (%s): changed folders are read again at their next sync",
             g_strerror (errno));
}

static void
stop_watching (FerryMaildirWatch *self, WatchedFolder *folder)
{
  for (guint i = 0; i < G_N_ELEMENTS (folder->wd); i++)
    if (folder->wd[i] >= 0)
      {
        g_hash_table_remove (self->by_wd, GINT_TO_POINTER (folder->wd[i]));
        inotify_rm_watch (self->fd, folder->wd[i]);
      }
  g_hash_table_remove (self->folders, folder->path);
}

/**
 * ferry_maildir_watch_begin:
 * @self: a watch
 * @folder_path: a Maildir folder's directory
 *
 * Watches the folder from now on, forgetting what was seen there before.
 * Call it before looking at the folder.
 */
void
ferry_maildir_watch_begin (FerryMaildirWatch *self, const char *folder_path)
{
  WatchedFolder *folder;

  g_return_if_fail (self != NULL && folder_path != NULL);

  g_mutex_lock (&self->lock);
  start (self);
  read_events (self);
  folder = g_hash_table_lookup (self->folders, folder_path);
  if (folder != NULL)
    stop_watching (self, folder);
  folder = g_new0 (WatchedFolder, 1);
  folder->path = g_strdup (folder_path);
  folder->disturbed = self->fd < 0;
  for (guint i = 0; i < G_N_ELEMENTS (watched_subdirs); i++)
    {
      g_autofree char *path = g_build_filename (folder_path, watched_subdirs[i], NULL);

      folder->wd[i] = self->fd >= 0 ? inotify_add_watch (self->fd, path, WATCHED_EVENTS) : -1;
      /* Out of watches (fs.inotify.max_user_watches): read again next time. */
      if (folder->wd[i] < 0)
        folder->disturbed = TRUE;
      else
        g_hash_table_insert (self->by_wd, GINT_TO_POINTER (folder->wd[i]), folder);
    }
  g_hash_table_insert (self->folders, folder->path, folder);
  g_mutex_unlock (&self->lock);
}

/**
 * ferry_maildir_watch_announce:
 * @self: (nullable): a watch
 * @folder_path: a Maildir folder's directory, as given to begin()
 * @n_events: how many events a change about to be made causes in the
 *   folder's cur/ and new/; the same number negated when it failed
 *
 * Tells that a change is the caller's own. Does nothing for a folder
 * not watched.
 */
void
ferry_maildir_watch_announce (FerryMaildirWatch *self, const char *folder_path, int n_events)
{
  WatchedFolder *folder;

  if (self == NULL)
    return;
  g_return_if_fail (folder_path != NULL);

  g_mutex_lock (&self->lock);
  folder = g_hash_table_lookup (self->folders, folder_path);
  if (folder != NULL)
    {
      folder->unaccounted += n_events;
      if (folder->unaccounted < 0)
        folder->disturbed = TRUE;
    }
  if (++self->since_read >= READ_EVERY_ANNOUNCEMENTS)
    read_events (self);
  g_mutex_unlock (&self->lock);
}

/**
 * ferry_maildir_watch_end:
 * @self: a watch
 * @folder_path: a Maildir folder's directory, as given to begin()
 *
 * Stops watching the folder.
 *
 * Returns: whether nothing but announced changes touched it since
 *   begin(); %FALSE also when it was not watched
 */
gboolean
ferry_maildir_watch_end (FerryMaildirWatch *self, const char *folder_path)
{
  WatchedFolder *folder;
  gboolean undisturbed = FALSE;

  g_return_val_if_fail (self != NULL && folder_path != NULL, FALSE);

  g_mutex_lock (&self->lock);
  read_events (self);
  folder = g_hash_table_lookup (self->folders, folder_path);
  if (folder != NULL)
    {
      undisturbed = !folder->disturbed;
      stop_watching (self, folder);
    }
  g_mutex_unlock (&self->lock);
  return undisturbed;
}
