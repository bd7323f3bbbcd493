/* fuzz-config.c: the configuration parser, src/core/config.c
 *
 * The input is a ferry.conf. Asserts that it loads, or that the error is
 * a configuration error that starts with the file's name, as every such
 * message must for a user to find the line.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/errors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *config_dir;
static char *config_path;

static void
remove_config_dir (void)
{
  g_unlink (config_path);
  g_rmdir (config_dir);
}

static const char *
config_file (void)
{
  g_autoptr (GError) error = NULL;

  if (config_path != NULL)
    return config_path;
  config_dir = g_dir_make_tmp ("fuzz-config-XXXXXX", &error);
  g_assert_no_error (error);
  config_path = g_build_filename (config_dir, "ferry.conf", NULL);
  atexit (remove_config_dir);
  return config_path;
}

static void
check_loaded (FerryConfig *config)
{
  g_autofree char *general = ferry_config_describe (config, NULL, "timeout");

  g_assert_true (g_str_has_prefix (general, config_file ()));
  for (guint i = 0; i < config->accounts->len; i++)
    {
      const FerryAccount *account = g_ptr_array_index (config->accounts, i);
      g_autofree char *where = ferry_config_describe (config, account, "imap-host");

      g_assert_nonnull (account->name);
      g_assert_true (ferry_config_lookup_account (config, account->name) == account);
      g_assert_true (g_str_has_prefix (where, config_file ()));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = config_file ();
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = NULL;
  g_autofree char *prefix = g_strconcat (path, ":", NULL);

  if (!g_file_set_contents (path, (const char *) data, (gssize) size, &error))
    g_error ("%s", error->message);
  config = ferry_config_load (path, &error);
  if (config == NULL)
    {
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
      g_assert_true (g_str_has_prefix (error->message, prefix));
      return 0;
    }
  g_assert_no_error (error);
  check_loaded (config);
  return 0;
}
