/* test-secrets.c: tests for src/core/secrets.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * FERRY_TEST_SECRET_SERVICE says what the session offers, and so which
 * cases run: unset (run directly: no session bus at all), "running" (a
 * private bus with gnome-keyring) or "absent" (a private bus with no
 * Secret Service). tests/fixtures/in-session.py provides the last two.
 */
#include <unistd.h>

#include "core/errors.h"
#include "core/secrets.h"

static const char password[] = "pä55 w0rd with spaces";

static FerryAccount *
test_account (const char *name)
{
  FerryAccount *account = g_new0 (FerryAccount, 1);

  account->name = g_strdup (name);
  account->smtp_host = g_strdup ("smtp.example.org");
  account->smtp_user = g_strdup ("me@example.org");
  account->imap_host = g_strdup ("imap.example.org");
  account->imap_user = g_strdup ("me@example.org");
  return account;
}

static void
test_account_free (FerryAccount *account)
{
  g_free (account->name);
  g_free (account->smtp_host);
  g_free (account->smtp_user);
  g_free (account->imap_host);
  g_free (account->imap_user);
  g_free (account->password_command);
  g_free (account);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryAccount, test_account_free)

/* Runs @command and checks that it yields @expected. */
static void
assert_command_gives (const char *command, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = ferry_secrets_run_command (command, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, expected);
}

/* Runs @command, expects it to fail with @code and a message that holds
 * @needle and never "leaked", which the failing commands print. */
static void
assert_command_fails (const char *command, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = ferry_secrets_run_command (command, NULL, &error);

  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, code);
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_null (strstr (error->message, "leaked"));
}

static void
test_command_first_line (void)
{
  assert_command_gives ("printf 'first\\nsecond\\n'", "first");
  assert_command_gives ("printf 'crlf\\r\\nsecond'", "crlf");
  assert_command_gives ("printf 'no newline at all'", "no newline at all");
  assert_command_gives ("printf '%s\\n' 'pä55 w0rd with spaces'", password);
}

/* The command is split like a shell would split it, but no shell runs:
 * nothing is expanded, nothing is piped. */
static void
test_command_no_shell (void)
{
  assert_command_gives ("echo $HOME", "$HOME");
  assert_command_gives ("echo '*' ~ a|b", "* ~ a|b");
  assert_command_gives ("echo \"quoted \\\"word\\\"\"", "quoted \"word\"");
}

static void
test_command_failures (void)
{
  assert_command_fails ("sh -c 'echo leaked; exit 3'", FERRY_ERROR_NO_PERM, "exit status 3");
  assert_command_fails ("sh -c 'echo leaked; kill -9 $$'", FERRY_ERROR_NO_PERM, "signal 9");
  assert_command_fails ("printf '\\nleaked\\n'", FERRY_ERROR_NO_PERM, "printed nothing");
  assert_command_fails ("true", FERRY_ERROR_NO_PERM, "printed nothing");
  assert_command_fails ("/nonexistent/pass show mail", FERRY_ERROR_CONFIG, "/nonexistent/pass");
  assert_command_fails ("pass show 'unterminated", FERRY_ERROR_CONFIG, "Cannot split");
}

/* The command gets none of our descriptors, even those without
 * close-on-exec: it is not to hold the IMAP connection or the state. */
static void
test_command_no_descriptors (void)
{
  int inherited = dup2 (STDERR_FILENO, 57);

  g_assert_cmpint (inherited, ==, 57);
  assert_command_gives ("sh -c 'if [ -e /proc/$$/fd/57 ]; then echo open; else echo closed; fi'",
                        "closed");
  close (inherited);
}

static gpointer
cancel_soon (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* Cancelling ends the command and returns at once. */
static void
test_command_cancelled (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;
  GThread *canceller = g_thread_new ("canceller", cancel_soon, cancellable);
  gint64 started = g_get_monotonic_time ();

  secret = ferry_secrets_run_command ("sleep 30", cancellable, &error);
  g_thread_join (canceller);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
}

/* An account with a password-command never asks the keyring, so it works
 * with no session bus at all. */
static void
test_lookup_prefers_command (void)
{
  g_autoptr (FerryAccount) account = test_account ("commanded");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;

  account->password_command = g_strdup ("echo from-command");
  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_IMAP, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "from-command");
}

static void
test_no_bus (void)
{
  g_autoptr (FerryAccount) account = test_account ("nobus");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;
  gint64 started = g_get_monotonic_time ();

  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "password-command"));
  g_clear_error (&error);

  g_assert_false (
      ferry_secrets_store_password (account, FERRY_SERVICE_SMTP, password, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  /* Refused at once, not after a D-Bus timeout or an autolaunch. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, G_USEC_PER_SEC);
}

static void
test_no_service (void)
{
  g_autoptr (FerryAccount) account = test_account ("noservice");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;

  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "gnome-keyring"));
  g_assert_nonnull (strstr (error->message, "password-command"));
  g_clear_error (&error);

  g_assert_false (
      ferry_secrets_store_password (account, FERRY_SERVICE_SMTP, password, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
}

/* What secret-tool, another Secret Service client, finds for @account. */
static char *
secret_tool_lookup (const FerryAccount *account, const char *service)
{
  const char *argv[]
      = { "secret-tool", "lookup", "account", account->name, "service", service, NULL };
  g_autofree char *out = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, NULL));
  return g_spawn_check_wait_status (status, NULL) ? g_steal_pointer (&out) : NULL;
}

static void
test_store_lookup_clear (void)
{
  g_autoptr (FerryAccount) account = test_account ("roundtrip");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;
  g_autofree char *seen_by_secret_tool = NULL;
  gboolean removed = FALSE;

  g_assert_true (
      ferry_secrets_store_password (account, FERRY_SERVICE_SMTP, password, NULL, &error));
  g_assert_no_error (error);
  seen_by_secret_tool = secret_tool_lookup (account, "smtp");
  g_assert_cmpstr (seen_by_secret_tool, ==, password);

  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, password);

  /* The IMAP password is another item, and it is not there. */
  g_clear_pointer (&secret, ferry_secret_free);
  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_IMAP, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  g_assert_nonnull (strstr (error->message, "ferry password set roundtrip imap"));
  g_clear_error (&error);

  g_assert_true (
      ferry_secrets_clear_password (account, FERRY_SERVICE_SMTP, &removed, NULL, &error));
  g_assert_true (removed);
  g_assert_null (secret_tool_lookup (account, "smtp"));
  g_assert_true (
      ferry_secrets_clear_password (account, FERRY_SERVICE_SMTP, &removed, NULL, &error));
  g_assert_false (removed);
}

/* A password stored for another server or user is not handed to this one:
 * the host and user are part of the item's attributes. */
static void
test_lookup_matches_host_and_user (void)
{
  g_autoptr (FerryAccount) account = test_account ("moved");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;

  g_assert_true (
      ferry_secrets_store_password (account, FERRY_SERVICE_SMTP, password, NULL, &error));
  g_free (account->smtp_host);
  account->smtp_host = g_strdup ("smtp.elsewhere.example");
  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  g_clear_error (&error);

  /* Clearing removes it whatever host it was stored for. */
  g_assert_true (ferry_secrets_clear_password (account, FERRY_SERVICE_SMTP, NULL, NULL, &error));
  g_assert_null (secret_tool_lookup (account, "smtp"));
}

static void
lock_login_keyring (void)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  const char *collections[] = { "/org/freedesktop/secrets/collection/login", NULL };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.Secret.Service", "Lock",
                                       g_variant_new ("(^ao)", collections), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

/* Runs last: it leaves the keyring locked, and without a prompter (no
 * display) nothing can unlock it again. */
static void
test_locked_keyring (void)
{
  g_autoptr (FerryAccount) account = test_account ("locked");
  g_autoptr (GError) error = NULL;
  g_autoptr (FerrySecret) secret = NULL;

  g_assert_true (
      ferry_secrets_store_password (account, FERRY_SERVICE_SMTP, password, NULL, &error));
  lock_login_keyring ();

  secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "locked"));
  g_clear_error (&error);

  g_assert_false (
      ferry_secrets_store_password (account, FERRY_SERVICE_IMAP, password, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "unlock"));
}

int
main (int argc, char **argv)
{
  const char *service = g_getenv ("FERRY_TEST_SECRET_SERVICE");

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secrets/command/first-line", test_command_first_line);
  g_test_add_func ("/secrets/command/no-shell", test_command_no_shell);
  g_test_add_func ("/secrets/command/failures", test_command_failures);
  g_test_add_func ("/secrets/command/no-descriptors", test_command_no_descriptors);
  g_test_add_func ("/secrets/command/cancelled", test_command_cancelled);
  g_test_add_func ("/secrets/lookup/prefers-command", test_lookup_prefers_command);

  if (service == NULL)
    {
      /* Never the developer's own keyring. */
      g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
      g_test_add_func ("/secrets/keyring/no-bus", test_no_bus);
    }
  else if (g_str_equal (service, "absent"))
    g_test_add_func ("/secrets/keyring/no-service", test_no_service);
  else
    {
      g_test_add_func ("/secrets/keyring/store-lookup-clear", test_store_lookup_clear);
      g_test_add_func ("/secrets/keyring/host-and-user", test_lookup_matches_host_and_user);
      g_test_add_func ("/secrets/keyring/zz-locked", test_locked_keyring);
    }
  return g_test_run ();
}
