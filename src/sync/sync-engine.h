/* sync-engine.h: two-way sync of every chosen folder between two stores
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "core/config.h"
#include "sync/sync-folders.h"
#include "sync/sync-state.h"
#include "sync/sync-store.h"

G_BEGIN_DECLS

typedef struct
{
  FerrySide expunge; /* where messages marked deleted are removed for good */
  FerrySide create;  /* where a folder found only on the other side is made */
  FerrySide remove;  /* where a folder deleted on the other side is deleted too */
  guint64 max_size;  /* messages larger than this are not copied; 0 for no limit */
  const char *trash; /* Ferry's name of the server folder that takes what is expunged there */
  gboolean dry_run;  /* say what would be done, change nothing */
} FerrySyncPolicy;

typedef struct
{
  guint folders;
  guint fetched;  /* copied far to near */
  guint uploaded; /* copied near to far */
  guint flag_changes;
  guint deleted;
  guint moved;   /* between folders, on the far side, as on the near side */
  guint skipped; /* over max-size */
  guint failed_folders;
} FerrySyncStats;

typedef enum
{
  FERRY_SYNC_EVENT_FOLDER_STARTED,
  FERRY_SYNC_EVENT_FOLDER_DONE,
  FERRY_SYNC_EVENT_PROGRESS,
  FERRY_SYNC_EVENT_PLAN,    /* in a dry run: what would be done */
  FERRY_SYNC_EVENT_NOTICE,  /* something the user should know; nothing failed */
  FERRY_SYNC_EVENT_FAILURE, /* a folder could not be synced */
} FerrySyncEventKind;

typedef struct
{
  FerrySyncEventKind kind;
  const char *folder;          /* Ferry's name, or NULL for the account */
  const char *text;            /* for PLAN, NOTICE and FAILURE */
  guint done;                  /* for PROGRESS: messages copied so far in this folder */
  guint total;                 /* for PROGRESS: messages to copy in this folder */
  const FerrySyncStats *stats; /* for FOLDER_DONE: this folder's counts */
} FerrySyncEvent;

typedef void (*FerrySyncReportFunc) (const FerrySyncEvent *event, gpointer user_data);

void ferry_sync_stats_add (FerrySyncStats *total, const FerrySyncStats *part);

typedef struct _FerrySyncEngine FerrySyncEngine;

typedef gboolean (*FerrySyncWorkerFunc) (FerryStore **far,
                                         FerryStore **near,
                                         FerrySyncState **state,
                                         gpointer user_data,
                                         GError **error);

FerrySyncEngine *ferry_sync_engine_new (FerryStore *far,
                                        FerryStore *near,
                                        FerrySyncState *state,
                                        FerrySyncFolderMap *map,
                                        const FerrySyncPolicy *policy);
void ferry_sync_engine_free (FerrySyncEngine *self);
void ferry_sync_engine_set_report_func (FerrySyncEngine *self,
                                        FerrySyncReportFunc func,
                                        gpointer user_data);
void ferry_sync_engine_set_worker_func (FerrySyncEngine *self,
                                        FerrySyncWorkerFunc func,
                                        gpointer user_data,
                                        guint max_workers);
gboolean ferry_sync_engine_run (FerrySyncEngine *self,
                                const char *const *only,
                                FerrySyncStats *stats,
                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySyncEngine, ferry_sync_engine_free)

G_END_DECLS
