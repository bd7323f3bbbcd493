/* sync-scheduler.h: when the engine syncs which account
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "sync/sync-engine.h"

G_BEGIN_DECLS

#define FERRY_TYPE_SYNC_SCHEDULER (ferry_sync_scheduler_get_type ())

G_DECLARE_FINAL_TYPE (FerrySyncScheduler, ferry_sync_scheduler, FERRY, SYNC_SCHEDULER, GObject)

FerrySyncScheduler *ferry_sync_scheduler_new (FerryConfig *config);
void ferry_sync_scheduler_set_online (FerrySyncScheduler *self, gboolean online);
void ferry_sync_scheduler_sync_now (FerrySyncScheduler *self);
gboolean ferry_sync_scheduler_get_busy (FerrySyncScheduler *self);
void ferry_sync_scheduler_stop (FerrySyncScheduler *self);

G_END_DECLS
