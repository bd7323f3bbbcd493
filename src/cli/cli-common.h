/* cli-common.h: what the command-line programs share
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
  const char *program;     /* for messages: "ferry" or "ferry-sendmail" */
  const char *config_path; /* --config, or NULL for the default */
  gboolean verbose;
} FerryCli;

int ferry_cli_fail (FerryCli *cli, const GError *error);
int ferry_cli_usage_error (FerryCli *cli, const char *format, ...) G_GNUC_PRINTF (2, 3);
FerryConfig *ferry_cli_load_config (FerryCli *cli, GError **error);
FerryOutboxSpool *ferry_cli_open_spool (GError **error);
char *ferry_cli_format_age (gint64 seconds);
char *ferry_cli_format_size (guint64 bytes);
char *ferry_cli_state_log_path (void);

G_END_DECLS
