/* sync-engine-private.h: what the engine's modules share
 *
 * The engine is three modules: sync-engine.c runs an account (its folder
 * list, moves across folders, connections side by side), sync-messages.c
 * syncs the messages of one folder, sync-moves.c finds messages moved
 * between folders. This header is for the first two only.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "sync/sync-engine.h"

G_BEGIN_DECLS

typedef enum
{
  FAR = 0,
  NEAR = 1,
} Side;

#define OTHER(side) ((Side) (1 - (side)))

/* What one connection to each side needs: with max-connections, several
 * of them sync different folders at once. */
typedef struct
{
  FerryStore *stores[2];
  FerrySyncState *state;
} FerrySyncWorker;

struct _FerrySyncEngine
{
  FerrySyncWorker main;
  FerrySyncWorkerFunc make_worker;
  gpointer make_worker_data;
  guint max_workers;
  FerrySyncFolderMap *map;
  FerrySyncPolicy policy;
  FerrySyncReportFunc report;
  gpointer report_data;
  char *trash;          /* policy.trash, owned */
  char *trash_far_name; /* what the server calls it, once known */
};

static const FerrySide policy_side[2] = { FERRY_SIDE_REMOTE, FERRY_SIDE_LOCAL };

void ferry_sync_engine_report (FerrySyncEngine *self,
                               FerrySyncEventKind kind,
                               const char *folder,
                               const char *format,
                               ...) G_GNUC_PRINTF (4, 5);

/* What the engine needs to know of a folder's sync once all are done. */
typedef struct
{
  gboolean near_changed; /* the near side was left without a stamp */
  guint messages;        /* about how many the folder holds */
} FerrySyncFolderOutcome;

/* What the two sides of a folder showed before its sync. */
typedef struct
{
  char *stamps[2];       /* each side's change stamp, or NULL when it has none */
  gboolean unchanged[2]; /* it is the stamp recorded at the last sync (and for
                          * the near side, no copy a crash left unfinished) */
} FerrySyncPeek;

void ferry_sync_peek_clear (FerrySyncPeek *peek);
gboolean ferry_sync_messages_peek (FerrySyncEngine *engine,
                                   FerrySyncFolderRecord *folder,
                                   const char *far_name,
                                   FerrySyncPeek *peek,
                                   GError **error);
gboolean ferry_sync_messages_run (FerrySyncEngine *engine,
                                  FerrySyncWorker *worker,
                                  FerrySyncFolderRecord *folder,
                                  const char *far_name,
                                  FerrySyncPeek *peek,
                                  FerrySyncStats *stats,
                                  FerrySyncFolderOutcome *outcome,
                                  GError **error);

G_END_DECLS
