/* cli-sync.h: `ferry sync`
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "cli/cli-common.h"

G_BEGIN_DECLS

int ferry_cli_sync (FerryCli *cli, int argc, char **argv);

G_END_DECLS
