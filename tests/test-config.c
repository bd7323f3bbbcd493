/* test-config.c: tests for src/core/config.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>

#include "core/config.h"
#include "core/errors.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ferry-test-config-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "config", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static FerryConfig *
load_text (Fixture *f, const char *text, GError **error)
{
  g_assert_true (g_file_set_contents (f->path, text, -1, NULL));
  return ferry_config_load (f->path, error);
}

/* Loads @text, expects a config error and checks it says @line and @needle. */
static void
assert_config_error (Fixture *f, const char *text, guint line, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = load_text (f, text, &error);
  g_autofree char *where = g_strdup_printf ("%s:%u: ", f->path, line);

  g_assert_null (config);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  if (!g_str_has_prefix (error->message, where) || strstr (error->message, needle) == NULL)
    g_error ("expected “%s…%s”, got “%s”", where, needle, error->message);
}

static const char full_config[] = "# Ferry test configuration\n"
                                  "[general]\n"
                                  "default-account = personal\n"
                                  "max-message-size = 10M\n"
                                  "keep-sent = 3\n"
                                  "retry-intervals = 1;5;15\n"
                                  "send-after-queue = background\n"
                                  "\n"
                                  "[account personal]\n"
                                  "addresses = me@example.org;Me@Alias.example.org\n"
                                  "maildir = ~/Mail/personal\n"
                                  "imap-host = imap.example.org\n"
                                  "imap-security = starttls\n"
                                  "imap-user = me@example.org\n"
                                  "smtp-host = smtp.example.org\n"
                                  "smtp-security = starttls\n"
                                  "password-command = pass show mail/personal\n"
                                  "folders = * !Junk\n"
                                  "expunge = remote\n"
                                  "subfolders = maildir++\n"
                                  "\n"
                                  "[account work]\n"
                                  "addresses = me@work.example.com\n"
                                  "smtp-host = smtp.work.example.com\n"
                                  "smtp-port = 2525\n"
                                  "smtp-security = none\n";

static void
test_full (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = load_text (f, full_config, &error);
  const FerryAccount *personal, *work;
  g_autofree char *maildir = g_build_filename (g_get_home_dir (), "Mail/personal", NULL);

  g_assert_no_error (error);
  g_assert_cmpuint (config->accounts->len, ==, 2);
  g_assert_cmpuint (config->max_message_size, ==, 10 * 1024 * 1024);
  g_assert_cmpuint (config->keep_sent_days, ==, 3);
  g_assert_cmpint (config->send_after_queue, ==, FERRY_SEND_AFTER_QUEUE_BACKGROUND);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 1), ==, 1 * 60);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 2), ==, 5 * 60);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 3), ==, 15 * 60);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 30), ==, 15 * 60);

  personal = ferry_config_lookup_account (config, "personal");
  g_assert_nonnull (personal);
  g_assert_cmpstr (personal->maildir, ==, maildir);
  g_assert_cmpint (personal->imap_security, ==, FERRY_SECURITY_STARTTLS);
  g_assert_cmpuint (personal->imap_port, ==, 143);
  g_assert_cmpuint (personal->smtp_port, ==, 587);
  g_assert_cmpstr (personal->smtp_user, ==, "me@example.org");
  g_assert_cmpstr (personal->password_command, ==, "pass show mail/personal");
  g_assert_cmpstr (personal->folders, ==, "* !Junk");
  g_assert_cmpint (personal->expunge, ==, FERRY_SIDE_REMOTE);
  g_assert_cmpint (personal->create, ==, FERRY_SIDE_BOTH);
  g_assert_cmpint (personal->remove, ==, FERRY_SIDE_NONE);
  g_assert_cmpint (personal->subfolders, ==, FERRY_SUBFOLDERS_MAILDIRPP);

  work = ferry_config_lookup_account (config, "work");
  g_assert_cmpuint (work->smtp_port, ==, 2525);
  g_assert_cmpint (work->smtp_security, ==, FERRY_SECURITY_NONE);
  g_assert_null (work->smtp_user);

  g_assert_true (ferry_config_account_for_address (config, "me@alias.example.org") == personal);
  g_assert_true (ferry_config_account_for_address (config, "ME@WORK.EXAMPLE.COM") == work);
  g_assert_null (ferry_config_account_for_address (config, "stranger@example.net"));
  g_assert_true (ferry_config_default_account (config, NULL) == personal);
}

static void
test_retry_interval_units (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config
      = load_text (f, "[general]\nretry-intervals = 30s; 5m,2h 168h\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 1), ==, 30);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 2), ==, 5 * 60);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 3), ==, 2 * 3600);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 9), ==, 7 * 24 * 3600);
}

static void
test_sync_keys (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config
      = load_text (f,
                   "[general]\nsync-interval = 5\nmax-parallel-accounts = 3\n"
                   "[account a]\nmaildir = /mail\ninbox = /mail/Inbox\nstrip-prefix = INBOX.\n"
                   "folder-map = [Gmail]/Sent Mail = Sent; [Gmail]/All Mail=Archive ;\n"
                   "max-size = 20M\nmax-connections = 4\ntrash = Trash\nimap-compress = yes\n",
                   &error);
  const FerryAccount *a;

  g_assert_no_error (error);
  g_assert_cmpuint (config->sync_interval_minutes, ==, 5);
  g_assert_cmpuint (config->max_parallel_accounts, ==, 3);
  a = ferry_config_lookup_account (config, "a");
  g_assert_cmpstr (a->inbox, ==, "/mail/Inbox");
  g_assert_cmpstr (a->strip_prefix, ==, "INBOX.");
  g_assert_cmpuint (g_strv_length (a->folder_map), ==, 4);
  g_assert_cmpstr (a->folder_map[0], ==, "[Gmail]/Sent Mail");
  g_assert_cmpstr (a->folder_map[1], ==, "Sent");
  g_assert_cmpstr (a->folder_map[2], ==, "[Gmail]/All Mail");
  g_assert_cmpstr (a->folder_map[3], ==, "Archive");
  g_assert_cmpuint (a->max_size, ==, 20 * 1024 * 1024);
  g_assert_cmpuint (a->max_connections, ==, 4);
  g_assert_cmpstr (a->trash, ==, "Trash");
  g_assert_cmpint (a->imap_compress, ==, FERRY_COMPRESS_YES);

  assert_config_error (f, "[account a]\nfolder-map = Sent\n", 2, "server name = local name");
  assert_config_error (f, "[account a]\nmax-connections = 0\n", 2, "max-connections");
  assert_config_error (f, "[account a]\nimap-compress = deflate\n", 2,
                       "imap-compress: expected auto, yes or no, got “deflate”");
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config
      = load_text (f, "[account only]\naddresses = a@example.org\nsmtp-host = h\n", &error);
  const FerryAccount *only;

  g_assert_no_error (error);
  g_assert_cmpuint (config->max_message_size, ==, 50 * 1024 * 1024);
  g_assert_cmpuint (config->keep_sent_days, ==, 7);
  g_assert_cmpuint (config->timeout_seconds, ==, 60);
  g_assert_cmpint (config->send_after_queue, ==, FERRY_SEND_AFTER_QUEUE_ENGINE);
  g_assert_cmpuint (config->retry_intervals->len, ==, 6);
  g_assert_cmpuint (ferry_config_retry_delay_seconds (config, 6), ==, 60 * 60);

  only = ferry_config_default_account (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (only->name, ==, "only");
  g_assert_cmpint (only->smtp_security, ==, FERRY_SECURITY_TLS);
  g_assert_cmpuint (only->smtp_port, ==, 465);
  g_assert_cmpuint (only->imap_port, ==, 993);
  g_assert_cmpint (only->imap_compress, ==, FERRY_COMPRESS_AUTO);
  g_assert_cmpuint (only->max_connections, ==, 2);
}

static void
test_writable_by_others_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = NULL;

  g_assert_true (g_file_set_contents (f->path, "[account a]\nsmtp-host = h\n", -1, NULL));
  g_assert_cmpint (g_chmod (f->path, 0646), ==, 0);
  config = ferry_config_load (f->path, &error);
  g_assert_null (config);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "chmod o-w"));
  g_clear_error (&error);

  g_assert_cmpint (g_chmod (f->path, 0664), ==, 0);
  config = ferry_config_load (f->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[general]\nsmtp-host = x\n", 2, "[general] smtp-host: unknown key");
  assert_config_error (f, "[account a]\nsmtp-prot = 25\n", 2, "[account a] smtp-prot: unknown key");
  assert_config_error (f, "[account a]\n\nsmtp-port = abc\n", 3,
                       "smtp-port: expected a whole number from 1 to 65535, got “abc”");
  assert_config_error (f, "[account a]\nsmtp-port = 70000\n", 2, "smtp-port");
  assert_config_error (f, "[account a]\nsmtp-security = ssl\n", 2,
                       "expected tls, starttls or none, got “ssl”");
  assert_config_error (f, "[account a]\nsmtp-security = tls   # or starttls\n", 2,
                       "comments go on a line of their own");
  assert_config_error (f, "[account a]\nsmtp-host = a\nsmtp-host = b\n", 3,
                       "set twice (first on line 2)");
  assert_config_error (f, "# c\nsmtp-host = a\n", 2, "setting before any group");
  assert_config_error (f, "[account a]\nthis is not a setting\n", 2, "is not a setting");
  assert_config_error (f, "[accounts a]\n", 1, "unknown group");
  assert_config_error (f, "[account a b]\n", 1, "account names use");
  assert_config_error (f, "[general]\ndefault-account = b\n[account a]\n", 2,
                       "default-account: no [account b]");
  assert_config_error (f, "[general]\nmax-message-size = lots\n", 2, "expected a size such as 50M");
  assert_config_error (f, "[general]\nretry-intervals = 1;x\n", 2, "retry-intervals");
  assert_config_error (f, "[general]\nretry-intervals = 30s;8d\n", 2, "(30s, 5m, 2h)");
  assert_config_error (f, "[general]\nretry-intervals = 0s\n", 2, "at most a week");
  assert_config_error (f, "[general]\nretry-intervals = 169h\n", 2, "at most a week");
  assert_config_error (f, "[account a]\naddresses = Me <me@example.org>\n", 2,
                       "is not a bare mail address");
  assert_config_error (f, "[account a]\n[general]\n[account a]\n", 3, "group appears twice");
}

static void
test_no_default (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = load_text (f, "[account a]\n[account b]\n", &error);

  g_assert_no_error (error);
  g_assert_null (ferry_config_default_account (config, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "no default-account"));
}

static void
test_missing_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = ferry_config_load (f->path, &error);

  g_assert_null (config);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, f->path));
}

static void
test_describe (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryConfig) config = load_text (f, "[general]\n\n[account a]\nsmtp-host = h\n", NULL);
  const FerryAccount *a = ferry_config_lookup_account (config, "a");
  g_autofree char *key = ferry_config_describe (config, a, "smtp-host");
  g_autofree char *group = ferry_config_describe (config, a, "smtp-user");
  g_autofree char *expect_key = g_strdup_printf ("%s:4: [account a] smtp-host", f->path);
  g_autofree char *expect_group = g_strdup_printf ("%s:3: [account a] smtp-user", f->path);

  g_assert_cmpstr (key, ==, expect_key);
  g_assert_cmpstr (group, ==, expect_group);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/config/full", Fixture, NULL, fixture_set_up, test_full, fixture_tear_down);
  g_test_add ("/config/retry-interval-units", Fixture, NULL, fixture_set_up,
              test_retry_interval_units, fixture_tear_down);
  g_test_add ("/config/sync-keys", Fixture, NULL, fixture_set_up, test_sync_keys,
              fixture_tear_down);
  g_test_add ("/config/defaults", Fixture, NULL, fixture_set_up, test_defaults, fixture_tear_down);
  g_test_add ("/config/writable-by-others-refused", Fixture, NULL, fixture_set_up,
              test_writable_by_others_refused, fixture_tear_down);
  g_test_add ("/config/errors", Fixture, NULL, fixture_set_up, test_errors, fixture_tear_down);
  g_test_add ("/config/no-default", Fixture, NULL, fixture_set_up, test_no_default,
              fixture_tear_down);
  g_test_add ("/config/missing-file", Fixture, NULL, fixture_set_up, test_missing_file,
              fixture_tear_down);
  g_test_add ("/config/describe", Fixture, NULL, fixture_set_up, test_describe, fixture_tear_down);
  return g_test_run ();
}
