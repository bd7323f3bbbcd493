/* printable-text.h: what others send, made fit to show
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ferry_printable_text (const char *text, gssize length);

G_END_DECLS
