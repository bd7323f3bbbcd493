/* test-hooks.c: crash points for the test suite
 *
 * FERRY_TEST_CRASH_AFTER=N makes the process exit at once, with status 99
 * and without running any cleanup, right after its N-th step: what a
 * kill -9 or a power cut leaves behind. FERRY_TEST_STEP_LOG=FILE appends
 * one line per step, so a test can count the steps of a whole run.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdio.h>
#include <unistd.h>

#include "core/test-hooks.h"

#define CRASH_EXIT_STATUS 99

#if FERRY_TEST_HOOKS

static gint step_count;

static void
log_step (guint64 n, const char *what)
{
  const char *path = g_getenv ("FERRY_TEST_STEP_LOG");
  FILE *log;

  if (path == NULL || *path == '\0')
    return;
  log = fopen (path, "a");
  if (log == NULL)
    return;
  fprintf (log, "%" G_GUINT64_FORMAT " %s\n", n, what);
  fclose (log);
}

/**
 * ferry_test_hook_step:
 * @what: what was just made durable, for the step log
 *
 * Marks the end of one state-changing step (a store changed, a state
 * transaction committed).
 */
void
ferry_test_hook_step (const char *what)
{
  const char *crash_after = g_getenv ("FERRY_TEST_CRASH_AFTER");
  guint64 n = (guint64) g_atomic_int_add (&step_count, 1) + 1;
  guint64 limit;

  log_step (n, what);
  if (crash_after != NULL
      && g_ascii_string_to_unsigned (crash_after, 10, 1, G_MAXUINT64, &limit, NULL) && n >= limit)
    _exit (CRASH_EXIT_STATUS);
}

#else

void
ferry_test_hook_step (const char *what)
{
}

#endif
