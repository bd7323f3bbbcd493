/* engine.h: what runs while Ferry is up: scheduling, network, workers
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "engine/sync-scheduler.h"
#include "outbox/outbox-spool.h"

G_BEGIN_DECLS

#define FERRY_TYPE_ENGINE (ferry_engine_get_type ())

G_DECLARE_FINAL_TYPE (FerryEngine, ferry_engine, FERRY, ENGINE, GObject)

FerryEngine *ferry_engine_new (FerryConfig *config, FerryOutboxSpool *spool);
void ferry_engine_start (FerryEngine *self);
void ferry_engine_send_queued (FerryEngine *self);
gboolean ferry_engine_get_online (FerryEngine *self);
gboolean ferry_engine_get_busy (FerryEngine *self);
void ferry_engine_add_actions (FerryEngine *self, GActionMap *map);
FerrySyncScheduler *ferry_engine_get_sync_scheduler (FerryEngine *self);

G_END_DECLS
