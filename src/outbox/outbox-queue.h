/* outbox-queue.h: delivering what the spool holds, with retries
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/config.h"
#include "outbox/outbox-spool.h"

G_BEGIN_DECLS

typedef struct
{
  guint sent;     /* every recipient accepted */
  guint deferred; /* some recipient will be tried again later */
  guint failed;   /* refused for good */
  guint busy;     /* another process is working on it */
} FerryOutboxFlushSummary;

/* Called after each delivery attempt with the entry as now recorded. */
typedef void (*FerryOutboxReportFunc) (FerryOutboxEntry *entry, gpointer user_data);

gboolean ferry_outbox_queue_flush (FerryConfig *config,
                                   FerryOutboxSpool *spool,
                                   const char *const *ids,
                                   gboolean force,
                                   FerryOutboxReportFunc report,
                                   gpointer user_data,
                                   FerryOutboxFlushSummary *summary,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean
ferry_outbox_queue_retry (FerryOutboxSpool *spool, FerryOutboxEntry *entry, GError **error);
guint ferry_outbox_queue_prune (FerryOutboxSpool *spool, guint keep_sent_days);
gint64 ferry_outbox_queue_next_attempt (FerryOutboxSpool *spool);
gboolean ferry_outbox_entry_is_due (FerryOutboxEntry *entry, gint64 now);

G_END_DECLS
