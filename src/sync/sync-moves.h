/* sync-moves.h: messages a mail reader moved from one folder to another
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "sync/sync-state.h"
#include "sync/sync-store.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;     /* Ferry's name, which is also the near side's */
  const char *far_name; /* the far side's */
  gint64 folder_id;     /* in the sync state */
} FerrySyncMoveFolder;

gboolean ferry_sync_moves_carry (FerryStore *far,
                                 FerryStore *near,
                                 FerrySyncState *state,
                                 GPtrArray *folders,
                                 gboolean dry_run,
                                 guint *moved,
                                 GError **error);

G_END_DECLS
