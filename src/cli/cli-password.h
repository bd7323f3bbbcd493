/* cli-password.h: `ferry password`
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "core/config.h"

G_BEGIN_DECLS

int ferry_cli_password (FerryConfig *config, int argc, char **argv);

G_END_DECLS
