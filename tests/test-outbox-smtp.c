/* test-outbox-smtp.c: ferry_outbox_smtp_deliver() against a real server
 *
 * Each test starts tests/fixtures/smtp_server.py (Debian's aiosmtpd, with a
 * self-signed certificate for 127.0.0.1) in a temporary directory, scripted
 * to accept, refuse or drop, and checks both what the function reports and
 * what the server recorded: the exact bytes received, how many DATA
 * transactions began, which AUTH attempts it saw.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "core/paths.h"
#include "core/errors.h"
#include "outbox/outbox-smtp.h"

#define SYSTEM_PYTHON        "/usr/bin/python3"
#define SERVER_USER          "ferry"
#define SERVER_PASSWORD      "s3cret-pw"
#define SERVER_START_SECONDS 15
#define WRONG_PIN            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#define MESSAGE                                                                                    \
  "From: Me <me@example.org>\r\n"                                                                  \
  "To: Bob <bob@example.org>\r\n"                                                                  \
  "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"                                                       \
  "Message-ID: <1@example.org>\r\n"                                                                \
  "\r\n"                                                                                           \
  "Dear Bob,\r\n"                                                                                  \
  "\r\n"                                                                                           \
  "see you at eight.\r\n"

/* How the server behaves; see tests/fixtures/smtp_server.py. */
typedef struct
{
  const char *tls; /* "starttls", "implicit" or "none"; NULL: no server at all */
  gboolean no_auth;
  const char *rcpt_replies[4]; /* "address=reply" */
  const char *data_replies[4];
  guint drop_in_data;
  double greeting_delay;
} ServerScript;

typedef struct
{
  char *dir;
  GSubprocess *server;
  FerryAccount account;
  char *pin;
} Fixture;

static const ServerScript starttls_server = { .tls = "starttls" };
static const ServerScript implicit_tls_server = { .tls = "implicit" };
static const ServerScript plain_server = { .tls = "none" };
static const ServerScript plain_server_without_auth = { .tls = "none", .no_auth = TRUE };
static const ServerScript no_server = { .tls = NULL };
static const ServerScript data_451_server = {
  .tls = "starttls",
  .data_replies = { "451 4.3.0 Try again later" },
};
static const ServerScript data_554_server = {
  .tls = "starttls",
  .data_replies = { "554 5.7.1 Message rejected as spam" },
};
static const ServerScript rcpt_refusing_server = {
  .tls = "starttls",
  .rcpt_replies = { "nobody@example.org=550 5.1.1 No such user",
                    "busy@example.org=450-4.2.1 Mailbox busy\r\n450 4.2.1 try later" },
};
static const ServerScript dropping_server = { .tls = "starttls", .drop_in_data = 1 };
static const ServerScript slow_server = { .tls = "starttls", .greeting_delay = 5.0 };

static char *
server_script_path (void)
{
  const char *source_dir = g_getenv ("FERRY_SOURCE_DIR");

  if (source_dir != NULL)
    return g_build_filename (source_dir, "tests", "fixtures", "smtp_server.py", NULL);
  return g_test_build_filename (G_TEST_DIST, "fixtures", "smtp_server.py", NULL);
}

static char *
read_server_file (Fixture *f, const char *name)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, NULL);
  return contents;
}

static GPtrArray *
server_argv (Fixture *f, const ServerScript *script)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *password_file = g_build_filename (f->dir, "auth-password", NULL);
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, g_strdup (SYSTEM_PYTHON));
  g_ptr_array_add (argv, server_script_path ());
  g_ptr_array_add (argv, g_strdup ("--workdir"));
  g_ptr_array_add (argv, g_strdup (f->dir));
  g_ptr_array_add (argv, g_strdup ("--tls"));
  g_ptr_array_add (argv, g_strdup (script->tls));
  g_ptr_array_add (argv, g_strdup ("--drop-in-data"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", script->drop_in_data));
  g_ptr_array_add (argv, g_strdup ("--greeting-delay"));
  g_ptr_array_add (argv, g_strdup_printf ("%.1f", script->greeting_delay));
  if (!script->no_auth)
    {
      g_file_set_contents (password_file, SERVER_PASSWORD, -1, &error);
      g_assert_no_error (error);
      g_ptr_array_add (argv, g_strdup ("--auth-user"));
      g_ptr_array_add (argv, g_strdup (SERVER_USER));
      g_ptr_array_add (argv, g_strdup ("--auth-password-file"));
      g_ptr_array_add (argv, g_strdup (password_file));
    }
  for (guint i = 0; i < G_N_ELEMENTS (script->rcpt_replies) && script->rcpt_replies[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--rcpt-reply"));
      g_ptr_array_add (argv, g_strdup (script->rcpt_replies[i]));
    }
  for (guint i = 0; i < G_N_ELEMENTS (script->data_replies) && script->data_replies[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--data-reply"));
      g_ptr_array_add (argv, g_strdup (script->data_replies[i]));
    }
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* The server writes its port file last, once it listens. */
static guint16
wait_for_server (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + SERVER_START_SECONDS * G_USEC_PER_SEC;
  g_autofree char *port = NULL;

  while ((port = read_server_file (f, "port")) == NULL)
    {
      if (g_subprocess_get_identifier (f->server) == NULL || g_get_monotonic_time () > deadline)
        {
          g_autofree char *log = read_server_file (f, "server.log");
          g_error ("The SMTP test server did not start:\n%s", log != NULL ? log : "");
        }
      g_usleep (20 * 1000);
    }
  return (guint16) g_ascii_strtoull (port, NULL, 10);
}

static void
start_server (Fixture *f, const ServerScript *script)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = server_argv (f, script);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = g_build_filename (f->dir, "server.log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  f->server = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  f->account.smtp_port = wait_for_server (f);
  f->account.smtp_ca_file = g_build_filename (f->dir, "cert.pem", NULL);
  f->pin = g_strstrip (read_server_file (f, "pin"));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const ServerScript *script = data;
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("ferry-test-smtp-XXXXXX", &error);
  g_assert_no_error (error);

  f->account.name = g_strdup ("personal");
  f->account.smtp_host = g_strdup ("127.0.0.1");
  f->account.smtp_user = g_strdup (SERVER_USER);
  if (script->tls == NULL)
    return;

  if (g_str_equal (script->tls, "implicit"))
    f->account.smtp_security = FERRY_SECURITY_TLS;
  else if (g_str_equal (script->tls, "starttls"))
    f->account.smtp_security = FERRY_SECURITY_STARTTLS;
  else
    f->account.smtp_security = FERRY_SECURITY_NONE;
  start_server (f, script);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->server != NULL)
    {
      g_subprocess_send_signal (f->server, SIGTERM);
      g_subprocess_wait (f->server, NULL, NULL);
      g_object_unref (f->server);
    }
  ferry_paths_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->pin);
  g_free (f->account.name);
  g_free (f->account.smtp_host);
  g_free (f->account.smtp_user);
  g_free (f->account.smtp_ca_file);
  g_free (f->account.smtp_tls_fingerprint);
}

static void
assert_no_password (const char *text)
{
  g_assert_null (strstr (text, SERVER_PASSWORD));
}

static FerrySmtpResult *
deliver_full (Fixture *f,
              const char *password,
              const char *token,
              const char *const *recipients,
              const char *message,
              GCancellable *cancellable,
              GError **error)
{
  g_autoptr (GBytes) data = g_bytes_new (message, strlen (message));
  FerrySmtpRequest request = {
    .account = &f->account,
    .password = password,
    .oauth2_token = token,
    .timeout_seconds = 10,
    .sender = "me@example.org",
    .recipients = recipients,
    .data = data,
  };
  FerrySmtpResult *result = ferry_outbox_smtp_deliver (&request, cancellable, error);

  if (result == NULL)
    return NULL;

  g_test_message ("reply: %s", result->reply);
  assert_no_password (result->reply);
  g_assert_cmpuint (result->recipients->len, ==, g_strv_length ((char **) recipients));
  for (guint i = 0; i < result->recipients->len; i++)
    {
      FerrySmtpRecipientResult *r = g_ptr_array_index (result->recipients, i);
      g_assert_cmpstr (r->address, ==, recipients[i]);
      assert_no_password (r->reply);
    }
  return result;
}

static FerrySmtpResult *
deliver (Fixture *f, const char *const *recipients, const char *message)
{
  g_autoptr (GError) error = NULL;
  FerrySmtpResult *result
      = deliver_full (f, SERVER_PASSWORD, NULL, recipients, message, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static FerrySmtpRecipientResult *
recipient (FerrySmtpResult *result, guint index)
{
  g_assert_cmpuint (index, <, result->recipients->len);
  return g_ptr_array_index (result->recipients, index);
}

static void
assert_recipient (FerrySmtpResult *result,
                  guint index,
                  FerrySmtpStatus status,
                  guint code,
                  const char *reply_part)
{
  FerrySmtpRecipientResult *r = recipient (result, index);

  g_assert_cmpint (r->status, ==, status);
  g_assert_cmpuint (r->code, ==, code);
  g_assert_nonnull (strstr (r->reply, reply_part));
}

static void
assert_reply_contains (FerrySmtpResult *result, const char *part)
{
  if (strstr (result->reply, part) == NULL)
    g_error ("“%s” does not contain “%s”", result->reply, part);
}

static guint
transactions (Fixture *f)
{
  g_autofree char *count = read_server_file (f, "transactions");
  return count != NULL ? (guint) g_ascii_strtoull (count, NULL, 10) : 0;
}

static char *
auth_seen (Fixture *f)
{
  char *seen = read_server_file (f, "auth-seen");
  return seen != NULL ? seen : g_strdup ("");
}

static void
assert_received (Fixture *f, guint n, const char *message, const char *envelope_part)
{
  g_autofree char *name = g_strdup_printf ("received/%04u.eml", n);
  g_autofree char *envelope_name = g_strdup_printf ("received/%04u.json", n);
  g_autofree char *data = read_server_file (f, name);
  g_autofree char *envelope = read_server_file (f, envelope_name);

  g_assert_nonnull (data);
  g_assert_cmpstr (data, ==, message);
  g_assert_nonnull (strstr (envelope, envelope_part));
}

static void
assert_nothing_received (Fixture *f)
{
  g_autofree char *data = read_server_file (f, "received/0001.eml");
  g_assert_null (data);
}

static void
test_starttls_delivers (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", "carol@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);
  g_autofree char *seen = auth_seen (f);
  g_autofree char *prefix = g_strdup_printf ("127.0.0.1:%u: 250 ", f->account.smtp_port);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 2.0.0");
  assert_recipient (result, 1, FERRY_SMTP_STATUS_DELIVERED, 250, "250 2.0.0");
  g_assert_cmpuint (result->code, ==, 250);
  g_assert_true (g_str_has_prefix (result->reply, prefix));
  assert_received (f, 1, MESSAGE,
                   "{\"mail_from\": \"me@example.org\", "
                   "\"rcpt_tos\": [\"bob@example.org\", \"carol@example.org\"]}");
  g_assert_cmpuint (transactions (f), ==, 1);
  g_assert_cmpstr (seen, ==, "PLAIN\t" SERVER_USER "\n");
}

static void
test_implicit_tls_delivers (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, MESSAGE, "\"rcpt_tos\": [\"bob@example.org\"]");
}

/* A message larger than libcurl's upload buffer, so that its escaping of
 * leading dots (RFC 5321 §4.5.2) also meets lines split across buffers. */
static char *
message_with_dots (void)
{
  GString *message = g_string_new (".starts with a dot\r\nSubject: dots\r\n\r\n");

  for (guint i = 0; i < 20000; i++)
    {
      g_string_append (message, ".\r\n..\r\n.x\r\n");
      g_string_append_printf (message, "line %u\r\n", i);
    }
  g_string_append (message, ".\r\n");
  return g_string_free (message, FALSE);
}

static void
test_leading_dots_arrive_intact (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autofree char *message = message_with_dots ();
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, message);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, message, "bob@example.org");
}

static void
test_null_sender (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (GBytes) message = g_bytes_new_static (MESSAGE, strlen (MESSAGE));
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;
  FerrySmtpRequest request = {
    .account = &f->account,
    .password = SERVER_PASSWORD,
    .timeout_seconds = 10,
    .sender = "",
    .recipients = recipients,
    .data = message,
  };

  result = ferry_outbox_smtp_deliver (&request, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, MESSAGE, "\"mail_from\": \"\"");
}

static void
test_data_451_is_temporary (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", "carol@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);
  g_autofree char *expected
      = g_strdup_printf ("127.0.0.1:%u: 451 4.3.0 Try again later", f->account.smtp_port);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 451, "451 4.3.0 Try again later");
  assert_recipient (result, 1, FERRY_SMTP_STATUS_TEMPORARY, 451, "451 4.3.0 Try again later");
  g_assert_cmpuint (result->code, ==, 451);
  g_assert_cmpstr (result->reply, ==, expected);
  assert_nothing_received (f);
  g_assert_cmpuint (transactions (f), ==, 1);
}

static void
test_data_554_is_permanent (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_PERMANENT, 554, "554 5.7.1 Message rejected");
  assert_reply_contains (result, "554 5.7.1 Message rejected as spam");
  assert_nothing_received (f);
}

static void
test_refused_recipients (Fixture *f, gconstpointer data)
{
  const char *const recipients[]
      = { "nobody@example.org", "bob@example.org", "busy@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_PERMANENT, 550, "550 5.1.1 No such user");
  assert_recipient (result, 1, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  /* The two lines of a multi-line reply, joined. */
  g_assert_cmpstr (recipient (result, 2)->reply, ==, "450 4.2.1 Mailbox busy try later");
  assert_recipient (result, 2, FERRY_SMTP_STATUS_TEMPORARY, 450, "450");
  assert_reply_contains (result, "accepted for 1 of 3 recipients");
  assert_received (f, 1, MESSAGE, "\"rcpt_tos\": [\"bob@example.org\"]");
}

static void
test_all_recipients_refused (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "nobody@example.org", "busy@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_PERMANENT, 550, "550 5.1.1 No such user");
  assert_recipient (result, 1, FERRY_SMTP_STATUS_TEMPORARY, 450, "450 4.2.1 Mailbox busy");
  assert_reply_contains (result, "450 4.2.1 Mailbox busy");
  g_assert_cmpuint (transactions (f), ==, 0);
}

static void
test_dropped_in_data_is_temporary (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, "lost during the message");
  assert_reply_contains (result, "Connection to 127.0.0.1:");
  assert_nothing_received (f);
  g_assert_cmpuint (transactions (f), ==, 1);
}

static void
test_wrong_password_is_permanent (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", "carol@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  result = deliver_full (f, "not-" SERVER_PASSWORD, NULL, recipients, MESSAGE, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_PERMANENT, 535, "535 5.7.8");
  assert_recipient (result, 1, FERRY_SMTP_STATUS_PERMANENT, 535, "535 5.7.8");
  assert_reply_contains (result, "535 5.7.8 Authentication credentials invalid");
  g_assert_null (strstr (result->reply, "not-"));
  g_assert_cmpuint (transactions (f), ==, 0);
  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "PLAIN\t" SERVER_USER "\n");
}

static void
test_xoauth2 (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) accepted = NULL;
  g_autoptr (FerrySmtpResult) refused = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  /* The server takes its password as the bearer token. */
  accepted = deliver_full (f, NULL, SERVER_PASSWORD, recipients, MESSAGE, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (accepted, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");

  refused = deliver_full (f, NULL, "expired-token", recipients, MESSAGE, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (refused, 0, FERRY_SMTP_STATUS_PERMANENT, 535, "535");
  g_assert_null (strstr (refused->reply, "expired-token"));

  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "XOAUTH2\t" SERVER_USER "\nXOAUTH2\t" SERVER_USER "\n");
  g_assert_cmpuint (transactions (f), ==, 1);
}

static void
test_untrusted_certificate (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autofree char *seen = NULL;

  g_clear_pointer (&f->account.smtp_ca_file, g_free);
  result = deliver (f, recipients, MESSAGE);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, "not trusted");
  assert_reply_contains (result, "TLS certificate of 127.0.0.1 not trusted");
  assert_reply_contains (result, "set smtp-ca-file or smtp-tls-fingerprint");
  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "");
  g_assert_cmpuint (transactions (f), ==, 0);
}

static void
test_pinned_key_accepted (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;

  /* No CA file: the pin alone vouches for the self-signed certificate. */
  g_clear_pointer (&f->account.smtp_ca_file, g_free);
  f->account.smtp_tls_fingerprint = g_strdup (f->pin);
  result = deliver (f, recipients, MESSAGE);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, MESSAGE, "bob@example.org");
}

static void
test_wrong_pin_refused (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autofree char *seen = NULL;

  /* The CA file would be trusted; the pin must still be enforced. */
  f->account.smtp_tls_fingerprint = g_strdup (WRONG_PIN);
  result = deliver (f, recipients, MESSAGE);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, "smtp-tls-fingerprint");
  assert_reply_contains (result, "does not match smtp-tls-fingerprint");
  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "");
  g_assert_cmpuint (transactions (f), ==, 0);
}

static void
test_unreadable_ca_file (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_free (f->account.smtp_ca_file);
  f->account.smtp_ca_file = g_build_filename (f->dir, "no-such-ca.pem", NULL);
  result = deliver_full (f, SERVER_PASSWORD, NULL, recipients, MESSAGE, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "smtp-ca-file"));
  g_assert_null (result);
}

static void
test_starttls_not_offered (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autofree char *seen = NULL;

  f->account.smtp_security = FERRY_SECURITY_STARTTLS;
  result = deliver (f, recipients, MESSAGE);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, "does not offer STARTTLS");
  assert_reply_contains (result, "nothing was sent");
  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "");
  g_assert_cmpuint (transactions (f), ==, 0);
  assert_nothing_received (f);
}

static void
test_plain_without_auth (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  result = deliver_full (f, NULL, NULL, recipients, MESSAGE, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, MESSAGE, "bob@example.org");
  seen = auth_seen (f);
  g_assert_cmpstr (seen, ==, "");
}

static void
test_plain_with_auth (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = deliver (f, recipients, MESSAGE);

  assert_recipient (result, 0, FERRY_SMTP_STATUS_DELIVERED, 250, "250 ");
  assert_received (f, 1, MESSAGE, "bob@example.org");
}

/* A loopback port nobody listens on: bound, then released. */
static guint16
closed_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new (loopback, 0);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_connection_refused (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", "carol@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autofree char *expected = NULL;

  f->account.smtp_security = FERRY_SECURITY_TLS;
  f->account.smtp_port = closed_port ();
  expected = g_strdup_printf ("Could not connect to 127.0.0.1:%u: Connection refused",
                              f->account.smtp_port);
  result = deliver (f, recipients, MESSAGE);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, expected);
  assert_recipient (result, 1, FERRY_SMTP_STATUS_TEMPORARY, 0, expected);
  g_assert_cmpuint (result->code, ==, 0);
  g_assert_cmpstr (result->reply, ==, expected);
}

static void
test_timeout_is_temporary (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (GBytes) message = g_bytes_new_static (MESSAGE, strlen (MESSAGE));
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  FerrySmtpRequest request = {
    .account = &f->account,
    .password = SERVER_PASSWORD,
    .timeout_seconds = 1,
    .sender = "me@example.org",
    .recipients = recipients,
    .data = message,
  };

  result = ferry_outbox_smtp_deliver (&request, NULL, &error);
  g_assert_no_error (error);
  assert_recipient (result, 0, FERRY_SMTP_STATUS_TEMPORARY, 0, "sent no greeting within 1 s");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
}

static gpointer
cancel_soon (gpointer cancellable)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (cancellable);
  return NULL;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  GThread *canceller = g_thread_new ("canceller", cancel_soon, cancellable);

  result = deliver_full (f, SERVER_PASSWORD, NULL, recipients, MESSAGE, cancellable, &error);
  g_thread_join (canceller);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (result);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
}

static void
test_config_errors (Fixture *f, gconstpointer data)
{
  const char *const recipients[] = { "bob@example.org", NULL };
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&f->account.smtp_host, g_free);
  result = deliver_full (f, SERVER_PASSWORD, NULL, recipients, MESSAGE, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "smtp-host"));
  g_assert_null (result);
  g_clear_error (&error);

  f->account.smtp_host = g_strdup ("127.0.0.1");
  f->account.smtp_tls_fingerprint = g_strdup ("AB:CD:EF");
  result = deliver_full (f, SERVER_PASSWORD, NULL, recipients, MESSAGE, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "smtp-tls-fingerprint"));
  g_assert_null (result);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, script, test)                                                                    \
  g_test_add ("/outbox-smtp/" path, Fixture, &(script), fixture_set_up, test, fixture_tear_down)

  ADD ("starttls/delivers", starttls_server, test_starttls_delivers);
  ADD ("implicit-tls/delivers", implicit_tls_server, test_implicit_tls_delivers);
  ADD ("leading-dots", starttls_server, test_leading_dots_arrive_intact);
  ADD ("null-sender", starttls_server, test_null_sender);
  ADD ("data/451-temporary", data_451_server, test_data_451_is_temporary);
  ADD ("data/554-permanent", data_554_server, test_data_554_is_permanent);
  ADD ("data/dropped-temporary", dropping_server, test_dropped_in_data_is_temporary);
  ADD ("rcpt/some-refused", rcpt_refusing_server, test_refused_recipients);
  ADD ("rcpt/all-refused", rcpt_refusing_server, test_all_recipients_refused);
  ADD ("auth/wrong-password", starttls_server, test_wrong_password_is_permanent);
  ADD ("auth/xoauth2", starttls_server, test_xoauth2);
  ADD ("tls/untrusted-certificate", starttls_server, test_untrusted_certificate);
  ADD ("tls/pin-accepted", implicit_tls_server, test_pinned_key_accepted);
  ADD ("tls/wrong-pin-refused", starttls_server, test_wrong_pin_refused);
  ADD ("tls/unreadable-ca-file", starttls_server, test_unreadable_ca_file);
  ADD ("tls/starttls-not-offered", plain_server, test_starttls_not_offered);
  ADD ("plain/without-auth", plain_server_without_auth, test_plain_without_auth);
  ADD ("plain/with-auth", plain_server, test_plain_with_auth);
  ADD ("connection-refused", no_server, test_connection_refused);
  ADD ("timeout", slow_server, test_timeout_is_temporary);
  ADD ("cancel", slow_server, test_cancel);
  ADD ("config-errors", no_server, test_config_errors);

#undef ADD

  return g_test_run ();
}
