/* test-hooks.h: crash points for the test suite
 *
 * The tests prove that a crash at any instant loses nothing by stopping a
 * sync dead after its N-th state-changing step and resuming it, as isync's
 * own tests do. Builds with -Dtest-hooks=false compile this to nothing.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void ferry_test_hook_step (const char *what);

G_END_DECLS
