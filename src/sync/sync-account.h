/* sync-account.h: one account's sync, from its configuration
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "sync/sync-engine.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean dry_run;
  const char *const *only; /* Ferry folder names, or NULL for all */
  FerrySyncReportFunc report;
  gpointer report_data;
} FerrySyncRequest;

gboolean ferry_sync_account (FerryConfig *config,
                             const FerryAccount *account,
                             const FerrySyncRequest *request,
                             FerrySyncStats *stats,
                             GCancellable *cancellable,
                             GError **error);

G_END_DECLS
