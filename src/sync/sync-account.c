/* sync-account.c: one account's sync, from its configuration
 *
 * Puts the pieces together: the account's server as the far store, its
 * Maildir root as the near store, its state database, and a lock so that
 * the engine, the applet and `ferry sync` never sync one account at once.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/paths.h"
#include "sync/sync-account.h"
#include "sync/sync-store-imap.h"
#include "sync/sync-store-maildir.h"

static int
lock_account (const char *state_dir, const FerryAccount *account, GError **error)
{
  g_autofree char *name = g_strconcat (account->name, ".lock", NULL);
  g_autofree char *path = g_build_filename (state_dir, name, NULL);
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE, _ ("Cannot create %s: %s"), path,
                   g_strerror (saved));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, FERRY_ERROR, saved == EWOULDBLOCK ? FERRY_ERROR_BUSY : FERRY_ERROR_IO,
                   saved == EWOULDBLOCK ? _ (
                       "Account %s is being synced by another Ferry; try again when it is done")
                                        : _ ("Cannot lock %s: %s"),
                   saved == EWOULDBLOCK ? account->name : path, g_strerror (saved));
      return -1;
    }
  return fd;
}

static gboolean
check_account (FerryConfig *config, const FerryAccount *account, GError **error)
{
  const char *missing = account->maildir == NULL     ? "maildir"
                        : account->imap_host == NULL ? "imap-host"
                        : account->imap_user == NULL ? "imap-user"
                                                     : NULL;
  g_autofree char *where = NULL;

  if (missing == NULL)
    return TRUE;
  where = ferry_config_describe (config, account, NULL);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
               _ ("%s: account %s has no %s, so it cannot be synced; see ferry.conf(5)"), where,
               account->name, missing);
  return FALSE;
}

static FerrySyncFolderMap *
folder_map_for (FerryConfig *config, const FerryAccount *account, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  FerrySyncFolderMap *map
      = ferry_sync_folder_map_new (account->folders, account->strip_prefix,
                                   (const char *const *) account->folder_map, &local_error);
  g_autofree char *where = NULL;

  if (map != NULL)
    return map;
  where = ferry_config_describe (config, account, "folders");
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s: %s", where, local_error->message);
  return NULL;
}

typedef struct
{
  FerryConfig *config;
  const FerryAccount *account;
  const char *db_path;
  GCancellable *cancellable;
  FerryStore *near; /* the engine's own, which each worker's joins */
  const char *known_capabilities;
} WorkerSource;

static gboolean
make_worker (
    FerryStore **far, FerryStore **near, FerrySyncState **state, gpointer user_data, GError **error)
{
  WorkerSource *source = user_data;
  const FerryAccount *account = source->account;

  *near = ferry_store_maildir_new (account->maildir, account->subfolders, account->inbox, error);
  if (*near != NULL)
    ferry_store_maildir_join (*near, source->near);
  *state = *near != NULL ? ferry_sync_state_open (source->db_path, error) : NULL;
  *far = *state != NULL
             ? ferry_store_imap_new (account,
                                     &(FerryStoreImapOptions){ source->config->timeout_seconds,
                                                               source->known_capabilities, FALSE },
                                     source->cancellable, error)
             : NULL;
  if (*far != NULL)
    return TRUE;
  g_clear_pointer (near, ferry_store_unref);
  g_clear_pointer (state, ferry_sync_state_unref);
  return FALSE;
}

static gboolean
run_engine (FerryStore *far,
            FerryStore *near,
            FerrySyncState *state,
            FerrySyncFolderMap *map,
            const FerryAccount *account,
            const FerrySyncRequest *request,
            WorkerSource *workers,
            FerrySyncStats *stats,
            GError **error)
{
  FerrySyncPolicy policy = {
    .expunge = account->expunge,
    .create = account->create,
    .remove = account->remove,
    .max_size = account->max_size,
    .trash = account->trash,
    .dry_run = request->dry_run,
  };
  g_autoptr (FerrySyncEngine) engine = ferry_sync_engine_new (far, near, state, map, &policy);

  ferry_sync_engine_set_report_func (engine, request->report, request->report_data);
  ferry_sync_engine_set_worker_func (engine, make_worker, workers, account->max_connections);
  return ferry_sync_engine_run (engine, request->only, stats, error);
}

#define CAPABILITIES_NOTE "imap-capabilities"

/* The server's capabilities are kept from one sync to the next, so that
 * the next login need not wait for them before it asks for more. */
static FerryStore *
open_far_store (FerryConfig *config,
                const FerryAccount *account,
                FerrySyncState *state,
                char **known_capabilities,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr (FerryStore) far = NULL;
  const char *capabilities;

  if (!ferry_sync_state_get_note (state, CAPABILITIES_NOTE, known_capabilities, error))
    return NULL;
  far = ferry_store_imap_new (
      account, &(FerryStoreImapOptions){ config->timeout_seconds, *known_capabilities, TRUE },
      cancellable, error);
  if (far == NULL)
    return NULL;
  capabilities = ferry_store_imap_get_capabilities (far);
  if (g_strcmp0 (capabilities, *known_capabilities) != 0)
    {
      if (!ferry_sync_state_set_note (state, CAPABILITIES_NOTE, capabilities, error))
        return NULL;
      g_free (*known_capabilities);
      *known_capabilities = g_strdup (capabilities);
    }
  return g_steal_pointer (&far);
}

/**
 * ferry_sync_account:
 * @config: the configuration
 * @account: the account to sync
 * @request: what to sync and whom to tell
 * @stats: (out caller-allocates): what was done
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Syncs one account's folders. Blocks: run it in a worker thread.
 */
gboolean
ferry_sync_account (FerryConfig *config,
                    const FerryAccount *account,
                    const FerrySyncRequest *request,
                    FerrySyncStats *stats,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autofree char *state_dir = ferry_paths_state_dir ();
  g_autofree char *db_name = NULL;
  g_autofree char *db_path = NULL;
  g_autoptr (FerrySyncFolderMap) map = NULL;
  g_autoptr (FerryStore) far = NULL;
  g_autoptr (FerryStore) near = NULL;
  g_autoptr (FerrySyncState) state = NULL;
  g_autofree char *known_capabilities = NULL;
  gboolean ok;
  int lock;

  g_return_val_if_fail (config != NULL && account != NULL && request != NULL, FALSE);
  g_return_val_if_fail (stats != NULL, FALSE);

  *stats = (FerrySyncStats){ 0 };
  if (!check_account (config, account, error) || !ferry_paths_ensure_private_dir (state_dir, error))
    return FALSE;
  map = folder_map_for (config, account, error);
  if (map == NULL)
    return FALSE;
  lock = lock_account (state_dir, account, error);
  if (lock < 0)
    return FALSE;

  db_name = g_strconcat (account->name, ".sync.db", NULL);
  db_path = g_build_filename (state_dir, db_name, NULL);
  near = ferry_store_maildir_new (account->maildir, account->subfolders, account->inbox, error);
  if (near != NULL)
    state = ferry_sync_state_open (db_path, error);
  if (state != NULL)
    far = open_far_store (config, account, state, &known_capabilities, cancellable, error);
  ok = far != NULL
       && run_engine (
           far, near, state, map, account, request,
           &(WorkerSource){ config, account, db_path, cancellable, near, known_capabilities },
           stats, error);
  close (lock);
  return ok;
}
