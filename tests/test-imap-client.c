/* test-imap-client.c: FerryImapClient against a real Dovecot
 *
 * Most tests start tests/fixtures/dovecot_server.py, a private rootless
 * Dovecot 2.3 on loopback in a temporary directory, and check what the
 * client reports against what Dovecot holds and logs. What a well-behaved
 * Dovecot cannot be made to do (offer no STARTTLS, fall silent, say BYE
 * in the middle of a FETCH, list names that are not modified UTF-7, lack
 * UIDPLUS and MOVE, send a body before its UID) comes from
 * tests/fixtures/imap_script_server.py, and a server that never says a
 * word from a socket nobody accepts on.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/paths.h"
#include "imap/imap-client.h"

#define SYSTEM_PYTHON      "/usr/bin/python3"
#define TIMEOUT_SECONDS    30
#define LARGE_MESSAGE_SIZE (30 * 1024 * 1024)
#define MAX_RESIDENT_KB    (64 * 1024)
#define LOG_WAIT_SECONDS   5
#define SYSTEM_CA_BUNDLE   "/etc/ssl/certs/ca-certificates.crt"

typedef struct
{
  GSubprocess *process;
  GOutputStream *stdin_pipe;
  JsonObject *description;
} Server;

typedef struct
{
  char *dir;
  Server dovecot;
  Server script;
} Fixture;

/* Servers ---------------------------------------------------------------------- */

static char *
fixture_script (const char *name)
{
  const char *source_dir = g_getenv ("FERRY_SOURCE_DIR");

  if (source_dir != NULL)
    return g_build_filename (source_dir, "tests", "fixtures", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
}

/* Starts a fixture that prints one JSON line once it serves, and serves
 * until its stdin is closed. */
static void
server_start (Server *server, const char *log_path, const char *const *argv)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) output = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  server->process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line (output, NULL, NULL, &error);
  if (line == NULL)
    {
      g_autofree char *log = NULL;

      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("%s did not start:\n%s", argv[1], log != NULL ? log : "");
    }
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  server->description = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  server->stdin_pipe = g_object_ref (g_subprocess_get_stdin_pipe (server->process));
}

static void
server_stop (Server *server)
{
  if (server->process == NULL)
    return;
  g_output_stream_close (server->stdin_pipe, NULL, NULL);
  g_subprocess_wait (server->process, NULL, NULL);
  g_clear_object (&server->stdin_pipe);
  g_clear_object (&server->process);
  g_clear_pointer (&server->description, json_object_unref);
}

static const char *
server_string (Server *server, const char *key)
{
  return json_object_get_string_member (server->description, key);
}

static guint16
server_port (Server *server, const char *key)
{
  return (guint16) json_object_get_int_member (server->description, key);
}

static void
start_dovecot (Fixture *f, gboolean condstore)
{
  g_autofree char *script = fixture_script ("dovecot_server.py");
  g_autofree char *dir = g_build_filename (f->dir, "dovecot", NULL);
  g_autofree char *log = g_build_filename (f->dir, "dovecot-fixture.log", NULL);
  const char *argv[]
      = { SYSTEM_PYTHON, script, "--dir", dir, condstore ? NULL : "--no-condstore", NULL };

  server_start (&f->dovecot, log, argv);
}

static void
start_script_server (Fixture *f, const char *script_json)
{
  g_autofree char *script = fixture_script ("imap_script_server.py");
  g_autofree char *script_path = g_build_filename (f->dir, "script.json", NULL);
  g_autofree char *dir = g_build_filename (f->dir, "script", NULL);
  g_autofree char *log = g_build_filename (f->dir, "script-fixture.log", NULL);
  g_autoptr (GError) error = NULL;
  const char *argv[] = { SYSTEM_PYTHON, script, "--script", script_path, "--dir", dir, NULL };

  g_file_set_contents (script_path, script_json, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  server_start (&f->script, log, argv);
}

/* The commands the script server received, in order. */
static GPtrArray *
script_commands (Fixture *f)
{
  g_autofree char *log = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *commands = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (g_file_get_contents (server_string (&f->script, "log"), &log, NULL, NULL));
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();

      if (*lines[i] == '\0')
        continue;
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      g_ptr_array_add (commands,
                       g_strdup (json_object_get_string_member (
                           json_node_get_object (json_parser_get_root (parser)), "command")));
    }
  return commands;
}

static gboolean
some_command_starts_with (GPtrArray *commands, const char *prefix)
{
  for (guint i = 0; i < commands->len; i++)
    {
      const char *command = g_ptr_array_index (commands, i);
      const char *space = strchr (command, ' ');

      /* After the tag. */
      if (space != NULL && g_str_has_prefix (space + 1, prefix))
        return TRUE;
    }
  return FALSE;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("ferry-test-imap-XXXXXX", &error);
  g_assert_no_error (error);
  /* Dovecot runs as its own user when the tests run as root. */
  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
}

static void
set_up_dovecot (Fixture *f, gconstpointer data)
{
  fixture_set_up (f, data);
  start_dovecot (f, TRUE);
}

static void
set_up_dovecot_without_condstore (Fixture *f, gconstpointer data)
{
  fixture_set_up (f, data);
  start_dovecot (f, FALSE);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  server_stop (&f->dovecot);
  server_stop (&f->script);
  ferry_paths_remove_tree (f->dir);
  g_free (f->dir);
}

/* Clients ------------------------------------------------------------------------ */

static FerryImapSettings
dovecot_settings (Fixture *f, FerrySecurity security)
{
  return (FerryImapSettings){
    .host = "127.0.0.1",
    .port = server_port (&f->dovecot, security == FERRY_SECURITY_TLS ? "imaps_port" : "imap_port"),
    .security = security,
    .ca_file = server_string (&f->dovecot, "ca_file"),
    .user = server_string (&f->dovecot, "user"),
    .timeout_seconds = TIMEOUT_SECONDS,
  };
}

static FerryImapClient *
log_in (const FerryImapSettings *settings, const char *password)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (settings, NULL, &error);

  g_assert_no_error (error);
  ferry_imap_client_login (client, password, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ferry_imap_client_is_authenticated (client));
  return g_steal_pointer (&client);
}

static FerryImapClient *
log_in_dovecot (Fixture *f, FerrySecurity security)
{
  FerryImapSettings settings = dovecot_settings (f, security);

  return log_in (&settings, server_string (&f->dovecot, "password"));
}

static FerryImapSettings
script_settings (Fixture *f, FerrySecurity security)
{
  return (FerryImapSettings){
    .host = "127.0.0.1",
    .port = server_port (&f->script, "port"),
    .security = security,
    .ca_file = server_string (&f->script, "ca_file"),
    .user = server_string (&f->script, "user"),
    .timeout_seconds = TIMEOUT_SECONDS,
  };
}

/* Starts the scripted server with @script and logs in over TLS. */
static FerryImapClient *
log_in_script (Fixture *f, const char *script)
{
  FerryImapSettings settings;

  start_script_server (f, script);
  settings = script_settings (f, FERRY_SECURITY_TLS);
  return log_in (&settings, server_string (&f->script, "password"));
}

static void
logout (FerryImapClient *client)
{
  g_autoptr (GError) error = NULL;

  ferry_imap_client_logout (client, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ferry_imap_client_is_usable (client));
}

static void
select_mailbox (FerryImapClient *client, const char *mailbox, FerryImapMailboxInfo *info)
{
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo ignored;

  ferry_imap_client_select (client, mailbox, FALSE, info != NULL ? info : &ignored, NULL, &error);
  g_assert_no_error (error);
}

static void
create_mailbox (FerryImapClient *client, const char *mailbox)
{
  g_autoptr (GError) error = NULL;

  ferry_imap_client_create (client, mailbox, NULL, &error);
  g_assert_no_error (error);
}

static void
assert_error_mentions (const GError *error, const char *needle)
{
  g_assert_nonnull (error);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected “%s” in “%s”", needle, error->message);
}

/* Messages ------------------------------------------------------------------------- */

static char *
make_message (guint n)
{
  return g_strdup_printf ("Message-ID: <%u@example.org>\r\n"
                          "From: Ferry Test <test@example.org>\r\n"
                          "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= %u\r\n"
                          "\r\n"
                          "Grüße, message %u.\r\n"
                          "A line with a \"quote\", a \\backslash and {braces}.\r\n",
                          n, n, n);
}

static int
open_file (Fixture *f, const char *name)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static FerryImapAppendResult
append_text (Fixture *f,
             FerryImapClient *client,
             const char *mailbox,
             const char *text,
             FerryMailFlags flags,
             const char *const *keywords)
{
  g_autoptr (GError) error = NULL;
  FerryImapAppendResult result;
  int fd = open_file (f, "append");

  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  ferry_imap_client_append (client, mailbox, fd, strlen (text), flags, keywords, NULL, &result,
                            NULL, &error);
  g_assert_no_error (error);
  close (fd);
  return result;
}

static void
append_messages (Fixture *f, FerryImapClient *client, const char *mailbox, guint n)
{
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *text = make_message (i);

      append_text (f, client, mailbox, text, FERRY_MAIL_FLAG_SEEN, NULL);
    }
}

static char *
read_fd (int fd, gsize *length)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  char buffer[4096];
  gssize n;

  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  while ((n = read (fd, buffer, sizeof buffer)) > 0)
    g_byte_array_append (data, (const guint8 *) buffer, (guint) n);
  g_assert_cmpint (n, ==, 0);
  *length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

static void
assert_body (Fixture *f, FerryImapClient *client, guint32 uid, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;
  int fd = open_file (f, "body");
  guint64 size = 0;
  gsize length;

  ferry_imap_client_fetch_body (client, uid, fd, &size, NULL, &error);
  g_assert_no_error (error);
  body = read_fd (fd, &length);
  close (fd);
  g_assert_cmpuint (size, ==, strlen (expected));
  g_assert_cmpmem (body, length, expected, strlen (expected));
}

static GPtrArray *
fetch_all (FerryImapClient *client)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *messages = ferry_imap_client_fetch_info_range (
      client, 1, 0, FERRY_IMAP_FETCH_MESSAGE_ID, 0, NULL, &error);

  g_assert_no_error (error);
  return messages;
}

static const FerryImapMessageInfo *
message_at (GPtrArray *messages, guint i)
{
  g_assert_cmpuint (i, <, messages->len);
  return g_ptr_array_index (messages, i);
}

static const FerryImapMailbox *
find_mailbox (GPtrArray *mailboxes, const char *encoded_name)
{
  for (guint i = 0; i < mailboxes->len; i++)
    {
      const FerryImapMailbox *mailbox = g_ptr_array_index (mailboxes, i);

      if (g_strcmp0 (mailbox->encoded_name, encoded_name) == 0)
        return mailbox;
    }
  g_error ("no mailbox “%s” in the LIST", encoded_name);
  return NULL;
}

static GPtrArray *
list_mailboxes (FerryImapClient *client)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *mailboxes = ferry_imap_client_list (client, 0, NULL, &error);

  g_assert_no_error (error);
  return mailboxes;
}

/* Dovecot logs ", TLS," on a login through TLS and ", secured," on a
 * plain one from loopback. It writes the line a moment after the login. */
static void
assert_dovecot_logged (Fixture *f, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + LOG_WAIT_SECONDS * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *log = NULL;

      if (g_file_get_contents (server_string (&f->dovecot, "log"), &log, NULL, NULL)
          && strstr (log, needle) != NULL)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("Dovecot did not log “%s”", needle);
}

/* The pin of a certificate's public key, computed by the pipeline that
 * ferry.conf(5) documents, independently of Ferry's own DER reading. */
static char *
openssl_pin (const char *certificate_file)
{
  static const char pipeline[] = "openssl x509 -in \"$1\" -pubkey -noout"
                                 " | openssl pkey -pubin -outform DER"
                                 " | openssl dgst -sha256 -binary | openssl enc -base64";
  const char *argv[] = { "/bin/sh", "-e", "-c", pipeline, "sh", certificate_file, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &output, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
  g_strstrip (output);
  g_assert_cmpuint (strlen (output), ==, 44);
  return g_strconcat ("sha256//", output, NULL);
}

/* A well-formed pin that no key has. */
#define WRONG_PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* Batches ---------------------------------------------------------------------------------- */

#define MAX_BATCH 8

typedef struct
{
  FerryImapAppendMessage messages[MAX_BATCH];
  FerryImapAppendResult results[MAX_BATCH];
  char *texts[MAX_BATCH];
  gsize n;
} Batch;

/* make_message (@n), padded with a line of x to @size bytes when that is
 * larger. */
static char *
make_sized_message (guint n, gsize size)
{
  g_autofree char *base = make_message (n);
  GString *text = g_string_new (base);

  if (size > text->len + 2)
    {
      while (text->len < size - 2)
        g_string_append_c (text, 'x');
      g_string_append (text, "\r\n");
    }
  return g_string_free (text, FALSE);
}

/* Messages @first to @first + @n - 1, each in its own file; @sizes
 * (nullable) gives their sizes. */
static void
batch_init (Fixture *f, Batch *batch, guint first, gsize n, const gsize *sizes)
{
  g_assert_cmpuint (n, <=, MAX_BATCH);
  memset (batch, 0, sizeof *batch);
  batch->n = n;
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("batch-%u", first + (guint) i);
      char *text = make_sized_message (first + (guint) i, sizes != NULL ? sizes[i] : 0);
      int fd = open_file (f, name);

      g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
      g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
      batch->texts[i] = text;
      batch->messages[i] = (FerryImapAppendMessage){ fd, strlen (text), 0, NULL, NULL };
    }
}

static void
batch_clear (Batch *batch)
{
  for (gsize i = 0; i < batch->n; i++)
    {
      close (batch->messages[i].fd);
      g_free (batch->texts[i]);
    }
}

static gboolean
batch_append (
    FerryImapClient *client, const char *mailbox, Batch *batch, gsize *n_appended, GError **error)
{
  return ferry_imap_client_append_many (client, mailbox, batch->messages, batch->n, batch->results,
                                        n_appended, NULL, error);
}

/* The APPEND commands the script server received, with their literals. */
static GPtrArray *
script_appends (Fixture *f)
{
  g_autoptr (GPtrArray) commands = script_commands (f);
  GPtrArray *appends = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < commands->len; i++)
    {
      const char *command = g_ptr_array_index (commands, i);
      const char *space = strchr (command, ' ');

      if (space != NULL && g_str_has_prefix (space + 1, "APPEND "))
        g_ptr_array_add (appends, g_strdup (command));
    }
  return appends;
}

static void
assert_literal (GPtrArray *appends, guint i, gsize size, gboolean non_synchronizing)
{
  g_autofree char *literal
      = g_strdup_printf ("{%" G_GSIZE_FORMAT "%s}\r\n", size, non_synchronizing ? "+" : "");

  g_assert_cmpuint (i, <, appends->len);
  if (strstr (g_ptr_array_index (appends, i), literal) == NULL)
    g_error ("APPEND %u does not announce its literal as %s: %s", i, literal,
             (const char *) g_ptr_array_index (appends, i));
}

/* Connecting and logging in --------------------------------------------------------- */

static void
test_imaps_login (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo info;

  g_assert_true (ferry_imap_client_has_capability (client, "IMAP4rev1"));
  g_assert_true (ferry_imap_client_has_capability (client, "uidplus"));
  g_assert_true (g_strv_contains (ferry_imap_client_get_capabilities (client), "MOVE"));
  assert_dovecot_logged (f, "Login: user=<ferry>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1");
  assert_dovecot_logged (f, ", TLS, session=");
  logout (client);
  g_assert_false (ferry_imap_client_select (client, "INBOX", FALSE, &info, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  assert_error_mentions (error, "was logged out");
}

static void
test_starttls_login (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_STARTTLS);

  /* The capabilities are those after TLS and login, not the greeting's. */
  g_assert_false (ferry_imap_client_has_capability (client, "STARTTLS"));
  g_assert_true (ferry_imap_client_has_capability (client, "CONDSTORE"));
  assert_dovecot_logged (f, ", TLS, session=");
  logout (client);
}

static void
test_plain_login (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_NONE);

  assert_dovecot_logged (f, ", secured, session=");
  logout (client);
}

static void
assert_untrusted (const FerryImapSettings *settings, const char *pin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (settings, NULL, &error);
  g_autofree char *advice
      = g_strdup_printf ("set imap-tls-fingerprint = %s or imap-ca-file to trust it", pin);

  g_assert_null (client);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  assert_error_mentions (error, advice);
  assert_error_mentions (error, "127.0.0.1");
}

static void
test_untrusted_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *pin = openssl_pin (server_string (&f->dovecot, "ca_file"));
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;

  /* The system's authorities do not know the test certificate... */
  settings.ca_file = NULL;
  assert_untrusted (&settings, pin);

  /* ...nor does another CA file, over STARTTLS either. */
  settings = dovecot_settings (f, FERRY_SECURITY_STARTTLS);
  settings.ca_file = SYSTEM_CA_BUNDLE;
  if (g_file_test (SYSTEM_CA_BUNDLE, G_FILE_TEST_EXISTS))
    assert_untrusted (&settings, pin);

  settings.ca_file = "/nonexistent/ca.pem";
  g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  assert_error_mentions (error, "imap-ca-file /nonexistent/ca.pem");
}

static void
assert_malformed_pin (FerryImapSettings *settings, const char *value, const char *named)
{
  g_autoptr (GError) error = NULL;

  settings->tls_fingerprint = value;
  g_assert_null (ferry_imap_client_connect (settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  assert_error_mentions (error, "imap-tls-fingerprint");
  assert_error_mentions (error, named);
  assert_error_mentions (error, "“sha256//” followed by the base64 form");
}

static void
test_pinned_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *pin = openssl_pin (server_string (&f->dovecot, "ca_file"));
  g_autofree char *two_pins = g_strdup_printf (" %s ; %s ", WRONG_PIN, pin);
  g_autofree char *trailing_semicolon = g_strdup_printf ("%s;", pin);
  g_autofree char *advice
      = g_strdup_printf ("set imap-tls-fingerprint = %s or imap-ca-file to trust it", pin);
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapClient) imaps = NULL;
  g_autoptr (FerryImapClient) starttls = NULL;
  g_autoptr (GError) error = NULL;

  /* A pin makes a self-signed certificate trusted without a CA file. */
  settings.ca_file = NULL;
  settings.tls_fingerprint = pin;
  imaps = log_in (&settings, server_string (&f->dovecot, "password"));
  logout (imaps);

  /* One right pin among several is enough. */
  settings = dovecot_settings (f, FERRY_SECURITY_STARTTLS);
  settings.ca_file = NULL;
  settings.tls_fingerprint = two_pins;
  starttls = log_in (&settings, server_string (&f->dovecot, "password"));
  logout (starttls);

  /* With pins, only those keys: not even a certificate the CA file
   * trusts (checked after the handshake), nor one that does not verify
   * (checked during it). */
  for (guint with_ca_file = 0; with_ca_file < 2; with_ca_file++)
    {
      settings = dovecot_settings (f, FERRY_SECURITY_TLS);
      if (!with_ca_file)
        settings.ca_file = NULL;
      settings.tls_fingerprint = WRONG_PIN;
      g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
      assert_error_mentions (error, "does not match imap-tls-fingerprint");
      assert_error_mentions (error, advice);
      g_clear_error (&error);
    }

  /* The hex SHA-256 of the whole certificate is not a pin. */
  assert_malformed_pin (&settings,
                        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
                        "“AB:CD:EF:01");
  assert_malformed_pin (&settings, "sha256//AAAA", "“sha256//AAAA”");
  assert_malformed_pin (&settings, trailing_semicolon, "imap-tls-fingerprint “”");
}

static void
test_wrong_password (Fixture *f, gconstpointer data)
{
  static const char wrong_password[] = "not-the-Password-4711";
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (&settings, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (ferry_imap_client_login (client, wrong_password, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  assert_error_mentions (error, "Authentication failed");
  assert_error_mentions (error, "ferry");
  g_assert_null (strstr (error->message, wrong_password));
  g_assert_false (ferry_imap_client_is_authenticated (client));

  /* A refusal leaves the session usable: the right password works. */
  g_clear_error (&error);
  ferry_imap_client_login (client, server_string (&f->dovecot, "password"), NULL, &error);
  g_assert_no_error (error);
  logout (client);
}

/* What Dovecot announces once logged in, learnt by logging in. */
static GStrv
capabilities_after_login (Fixture *f)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  GStrv capabilities = g_strdupv ((char **) ferry_imap_client_get_capabilities (client));

  logout (client);
  return capabilities;
}

/* Logs in with @expected_capabilities, and sends ENABLE and LIST before
 * the login's answer; returns whether the expectation held. */
static gboolean
log_in_with_commands_after (FerryImapClient *client,
                            const char *password,
                            const char *const *expected_capabilities,
                            FerryImapListing **listing,
                            GError **error)
{
  static const char *const qresync[] = { "QRESYNC", NULL };
  gboolean as_expected = FALSE;

  g_assert_true (
      ferry_imap_client_login_begin (client, password, expected_capabilities, NULL, error));
  g_assert_false (ferry_imap_client_is_authenticated (client));
  g_assert_true (ferry_imap_client_enable (client, qresync, NULL, error));
  *listing = ferry_imap_client_list_begin (client, FERRY_IMAP_LIST_STATUS, NULL, error);
  g_assert_nonnull (*listing);
  if (!ferry_imap_client_login_finish (client, &as_expected, NULL, error))
    return FALSE;
  g_assert_true (ferry_imap_client_is_authenticated (client));
  return as_expected;
}

static void
test_login_with_commands_after_it (Fixture *f, gconstpointer data)
{
  g_auto (GStrv) expected = capabilities_after_login (f);
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (&settings, NULL, &error);
  g_autoptr (GPtrArray) mailboxes = NULL;
  FerryImapListing *listing = NULL;

  g_assert_no_error (error);
  /* Dovecot names its extensions only to a client logged in. */
  g_assert_false (ferry_imap_client_has_capability (client, "LIST-STATUS"));
  g_assert_true (log_in_with_commands_after (client, server_string (&f->dovecot, "password"),
                                             (const char *const *) expected, &listing, &error));
  g_assert_no_error (error);
  mailboxes = ferry_imap_client_list_finish (client, listing, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (find_mailbox (mailboxes, "INBOX")->status);
  g_assert_true (ferry_imap_client_is_enabled (client, "QRESYNC"));
  logout (client);
}

static void
test_login_expecting_other_capabilities (Fixture *f, gconstpointer data)
{
  static const char *const expected[] = { "IMAP4rev1", NULL };
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (&settings, NULL, &error);
  g_autoptr (GPtrArray) mailboxes = NULL;
  FerryImapListing *listing = NULL;

  g_assert_no_error (error);
  g_assert_false (log_in_with_commands_after (client, server_string (&f->dovecot, "password"),
                                              expected, &listing, &error));
  g_assert_no_error (error);
  /* The commands built for IMAP4rev1 alone have had their answers, and
   * the capabilities are the server's. */
  g_assert_false (ferry_imap_client_is_enabled (client, "QRESYNC"));
  g_assert_true (ferry_imap_client_has_capability (client, "LIST-STATUS"));
  mailboxes = ferry_imap_client_list_finish (client, listing, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (find_mailbox (mailboxes, "INBOX")->status);
  logout (client);
}

static void
test_refused_login_with_commands_after_it (Fixture *f, gconstpointer data)
{
  static const char wrong_password[] = "not-the-Password-4712";
  g_auto (GStrv) expected = capabilities_after_login (f);
  FerryImapSettings settings = dovecot_settings (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryImapClient) client = ferry_imap_client_connect (&settings, NULL, &error);
  g_autoptr (FerryImapListing) listing = NULL;
  gboolean as_expected = FALSE;

  g_assert_no_error (error);
  g_assert_true (ferry_imap_client_login_begin (client, wrong_password,
                                                (const char *const *) expected, NULL, &error));
  listing = ferry_imap_client_list_begin (client, FERRY_IMAP_LIST_STATUS, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ferry_imap_client_login_finish (client, &as_expected, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  assert_error_mentions (error, "Authentication failed");
  g_assert_null (strstr (error->message, wrong_password));
  /* The LIST behind it was refused too: the session is over. */
  g_assert_false (ferry_imap_client_is_usable (client));
}

static void
test_listing_given_up (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) mailboxes = NULL;

  ferry_imap_listing_free (ferry_imap_client_list_begin (client, 0, NULL, NULL));
  /* Its answer, when it comes, is dropped; the session goes on. */
  mailboxes = list_mailboxes (client);
  g_assert_nonnull (find_mailbox (mailboxes, "INBOX"));
  logout (client);
}

/* Mailboxes ------------------------------------------------------------------------------ */

static void
test_list_utf8_names (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) mailboxes = NULL;
  const FerryImapMailbox *mailbox;

  create_mailbox (client, "Entwürfe");
  create_mailbox (client, "日本語");
  create_mailbox (client, "Tom & Jerry");
  create_mailbox (client, "Projekte/2024");
  create_mailbox (client, "Sent");
  mailboxes = list_mailboxes (client);

  mailbox = find_mailbox (mailboxes, "Entw&APw-rfe");
  g_assert_cmpstr (mailbox->name, ==, "Entwürfe");
  g_assert_null (mailbox->invalid_reason);
  g_assert_cmpint (mailbox->delimiter, ==, '/');
  g_assert_cmpstr (find_mailbox (mailboxes, "&ZeVnLIqe-")->name, ==, "日本語");
  g_assert_cmpstr (find_mailbox (mailboxes, "Tom &- Jerry")->name, ==, "Tom & Jerry");
  g_assert_cmpstr (find_mailbox (mailboxes, "INBOX")->name, ==, "INBOX");
  g_assert_true (find_mailbox (mailboxes, "Projekte")->attributes
                 & FERRY_IMAP_MAILBOX_HAS_CHILDREN);
  g_assert_true (find_mailbox (mailboxes, "Projekte/2024")->attributes
                 & FERRY_IMAP_MAILBOX_HAS_NO_CHILDREN);
  g_assert_true (find_mailbox (mailboxes, "Sent")->attributes & FERRY_IMAP_MAILBOX_SENT);
  g_assert_false (find_mailbox (mailboxes, "INBOX")->attributes & FERRY_IMAP_MAILBOX_SENT);
  logout (client);
}

static void
test_select_and_examine (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_STARTTLS);
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo selected, examined;
  FerryImapStatusInfo status;

  create_mailbox (client, "Box");
  append_messages (f, client, "Box", 2);
  select_mailbox (client, "Box", &selected);
  g_assert_cmpuint (selected.uidvalidity, !=, 0);
  g_assert_cmpuint (selected.uidnext, ==, 3);
  g_assert_cmpuint (selected.exists, ==, 2);
  g_assert_cmpuint (selected.highestmodseq, >, 0);
  g_assert_cmpint (selected.permanent_flags & (FERRY_MAIL_FLAGS_ALL & ~FERRY_MAIL_FLAG_FORWARDED),
                   ==, FERRY_MAIL_FLAGS_ALL & ~FERRY_MAIL_FLAG_FORWARDED);
  g_assert_true (selected.keywords_allowed);
  g_assert_false (selected.read_only);
  g_assert_cmpstr (ferry_imap_client_get_selected (client), ==, "Box");
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 2);

  ferry_imap_client_status (client, "Box", &status, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (status.messages, ==, 2);
  g_assert_cmpuint (status.uidnext, ==, 3);
  g_assert_cmpuint (status.uidvalidity, ==, selected.uidvalidity);
  g_assert_cmpuint (status.highestmodseq, ==, selected.highestmodseq);

  ferry_imap_client_select (client, "Box", TRUE, &examined, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (examined.read_only);
  g_assert_cmpuint (examined.uidvalidity, ==, selected.uidvalidity);
  g_assert_cmpuint (examined.exists, ==, 2);

  /* A SELECT that fails leaves nothing selected. */
  g_assert_false (ferry_imap_client_select (client, "Nonexistent", FALSE, &selected, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  assert_error_mentions (error, "SELECT “Nonexistent”");
  g_assert_null (ferry_imap_client_get_selected (client));
  g_assert_true (ferry_imap_client_is_usable (client));
  logout (client);
}

static void
test_create_and_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (GError) error = NULL;

  create_mailbox (client, "Temporär");
  create_mailbox (client, "Temporär"); /* [ALREADYEXISTS] is no error */
  before = list_mailboxes (client);
  g_assert_cmpstr (find_mailbox (before, "Tempor&AOQ-r")->name, ==, "Temporär");

  ferry_imap_client_delete (client, "Temporär", NULL, &error);
  g_assert_no_error (error);
  after = list_mailboxes (client);
  g_assert_cmpuint (after->len, ==, before->len - 1);

  g_assert_false (ferry_imap_client_delete (client, "Temporär", NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  assert_error_mentions (error, "DELETE “Temporär”");
  g_clear_error (&error);

  g_assert_false (ferry_imap_client_create (client, "Bad\xff", NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_true (ferry_imap_client_is_usable (client));
  logout (client);
}

/* Messages ------------------------------------------------------------------------------- */

static void
test_append_and_fetch (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GDateTime) date = g_date_time_new_from_iso8601 ("2024-07-04T09:05:00+02:00", NULL);
  g_autofree char *first = make_message (1);
  g_autofree char *second = make_message (2);
  const char *keywords[] = { "work", "$Label1", NULL };
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GPtrArray) some = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 wanted[] = { 2, 77 };
  FerryImapMailboxInfo info;
  FerryImapAppendResult result;
  const FerryImapMessageInfo *message;
  int fd;

  create_mailbox (client, "Box");
  select_mailbox (client, "Box", &info);

  fd = open_file (f, "first");
  g_assert_cmpint (write (fd, first, strlen (first)), ==, (gssize) strlen (first));
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  ferry_imap_client_append (client, "Box", fd, strlen (first),
                            FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FORWARDED, keywords, date,
                            &result, NULL, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_cmpuint (result.uidvalidity, ==, info.uidvalidity);
  g_assert_cmpuint (result.uid, ==, 1);
  g_assert_cmpuint (result.uidnext_before, ==, 0);
  result = append_text (f, client, "Box", second, FERRY_MAIL_FLAG_DRAFT, NULL);
  g_assert_cmpuint (result.uid, ==, 2);
  /* The selected mailbox grew, as the server said meanwhile. */
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 2);

  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 2);
  message = message_at (messages, 0);
  g_assert_cmpuint (message->uid, ==, 1);
  g_assert_cmpint (message->flags, ==, FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FORWARDED);
  g_assert_nonnull (message->keywords);
  g_assert_cmpuint (g_strv_length (message->keywords), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) message->keywords, "work"));
  g_assert_true (g_strv_contains ((const char *const *) message->keywords, "$Label1"));
  g_assert_cmpuint (message->size, ==, strlen (first));
  g_assert_cmpstr (message->message_id, ==, "<1@example.org>");
  g_assert_cmpuint (message->modseq, >, 0);
  message = message_at (messages, 1);
  g_assert_cmpint (message->flags, ==, FERRY_MAIL_FLAG_DRAFT);
  g_assert_null (message->keywords);
  g_assert_cmpstr (message->message_id, ==, "<2@example.org>");

  some = ferry_imap_client_fetch_info (client, wanted, G_N_ELEMENTS (wanted), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (some->len, ==, 1);
  g_assert_cmpuint (message_at (some, 0)->uid, ==, 2);
  g_assert_null (message_at (some, 0)->message_id);

  assert_body (f, client, 1, first);
  assert_body (f, client, 2, second);

  fd = open_file (f, "missing");
  g_assert_false (ferry_imap_client_fetch_body (client, 99, fd, NULL, NULL, &error));
  close (fd);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  fd = open_file (f, "nowhere");
  g_assert_cmpint (write (fd, second, strlen (second)), ==, (gssize) strlen (second));
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_false (ferry_imap_client_append (client, "Nowhere", fd, strlen (second), 0, NULL, NULL,
                                            &result, NULL, &error));
  close (fd);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  assert_error_mentions (error, "APPEND to “Nowhere”");
  logout (client);
}

static guint
resident_peak_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmHWM:");
  g_assert_nonnull (line);
  return (guint) g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}

/* Writes a message of LARGE_MESSAGE_SIZE bytes a chunk at a time, so
 * that the test itself never holds it either. */
static char *
write_large_message (int fd)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  static const char header[] = "Message-ID: <large@example.org>\r\nSubject: large\r\n\r\n";
  char line[78];
  gsize written = 0;

  g_assert_cmpint (write (fd, header, strlen (header)), ==, (gssize) strlen (header));
  g_checksum_update (checksum, (const guchar *) header, strlen (header));
  written = strlen (header);
  for (guint n = 0; written < LARGE_MESSAGE_SIZE; n++)
    {
      gsize length = MIN (sizeof line, LARGE_MESSAGE_SIZE - written);

      for (gsize i = 0; i < length; i++)
        line[i] = (char) ('A' + (n * 7 + i) % 26);
      if (length >= 2)
        memcpy (line + length - 2, "\r\n", 2);
      g_assert_cmpint (write (fd, line, length), ==, (gssize) length);
      g_checksum_update (checksum, (const guchar *) line, length);
      written += length;
    }
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return g_strdup (g_checksum_get_string (checksum));
}

static char *
checksum_fd (int fd, guint64 *size)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *buffer = g_malloc (64 * 1024);
  gssize n;

  *size = 0;
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  while ((n = read (fd, buffer, 64 * 1024)) > 0)
    {
      g_checksum_update (checksum, (const guchar *) buffer, (gsize) n);
      *size += (guint64) n;
    }
  g_assert_cmpint (n, ==, 0);
  return g_strdup (g_checksum_get_string (checksum));
}

static void
test_large_message (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autofree char *sent_checksum = NULL;
  g_autofree char *received_checksum = NULL;
  FerryImapAppendResult result;
  guint64 size = 0, received_size = 0;
  int source = open_file (f, "large");
  int target = open_file (f, "large-fetched");

  sent_checksum = write_large_message (source);
  create_mailbox (client, "Big");
  ferry_imap_client_append (client, "Big", source, LARGE_MESSAGE_SIZE, 0, NULL, NULL, &result, NULL,
                            &error);
  g_assert_no_error (error);
  select_mailbox (client, "Big", NULL);
  messages = fetch_all (client);
  g_assert_cmpuint (message_at (messages, 0)->size, ==, LARGE_MESSAGE_SIZE);
  g_assert_cmpstr (message_at (messages, 0)->message_id, ==, "<large@example.org>");

  ferry_imap_client_fetch_body (client, result.uid, target, &size, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, LARGE_MESSAGE_SIZE);
  received_checksum = checksum_fd (target, &received_size);
  g_assert_cmpuint (received_size, ==, LARGE_MESSAGE_SIZE);
  g_assert_cmpstr (received_checksum, ==, sent_checksum);
  close (source);
  close (target);

#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("AddressSanitizer keeps freed memory: peak %u kB not checked",
                  resident_peak_kb ());
#else
  g_test_message ("peak resident memory: %u kB", resident_peak_kb ());
  g_assert_cmpuint (resident_peak_kb (), <, MAX_RESIDENT_KB);
#endif
  logout (client);
}

typedef struct
{
  Fixture *fixture;
  GHashTable *open;     /* UID -> fd */
  GHashTable *received; /* UID -> contents */
  guint32 refuse_uid;
  guint closes;
} Bodies;

static int
bodies_open (guint32 uid, gpointer user_data, GError **error)
{
  Bodies *bodies = user_data;
  g_autofree char *name = g_strdup_printf ("body-%u", uid);
  int fd;

  g_assert_false (g_hash_table_contains (bodies->open, GUINT_TO_POINTER (uid)));
  if (uid == bodies->refuse_uid)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE, "no room for %u", uid);
      return -1;
    }
  fd = open_file (bodies->fixture, name);
  g_hash_table_insert (bodies->open, GUINT_TO_POINTER (uid), GINT_TO_POINTER (fd));
  return fd;
}

static gboolean
bodies_close (
    guint32 uid, int fd, guint64 size, gboolean complete, gpointer user_data, GError **error)
{
  Bodies *bodies = user_data;
  gsize length;

  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (bodies->open, GUINT_TO_POINTER (uid))), ==,
                   fd);
  g_hash_table_remove (bodies->open, GUINT_TO_POINTER (uid));
  bodies->closes++;
  if (complete)
    {
      char *contents = read_fd (fd, &length);

      g_assert_cmpuint (size, ==, length);
      g_hash_table_insert (bodies->received, GUINT_TO_POINTER (uid), contents);
    }
  close (fd);
  return TRUE;
}

static void
bodies_init (Bodies *bodies, Fixture *f)
{
  bodies->fixture = f;
  bodies->open = g_hash_table_new (NULL, NULL);
  bodies->received = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  bodies->refuse_uid = 0;
  bodies->closes = 0;
}

static void
bodies_clear (Bodies *bodies)
{
  g_assert_cmpuint (g_hash_table_size (bodies->open), ==, 0);
  g_hash_table_unref (bodies->open);
  g_hash_table_unref (bodies->received);
}

static void
assert_received (Bodies *bodies, guint32 first, guint32 last)
{
  g_assert_cmpuint (g_hash_table_size (bodies->received), ==, last - first + 1);
  for (guint32 uid = first; uid <= last; uid++)
    {
      g_autofree char *expected = make_message (uid);

      g_assert_cmpstr (g_hash_table_lookup (bodies->received, GUINT_TO_POINTER (uid)), ==,
                       expected);
    }
}

/* Two body FETCHes in flight at once, and a command behind them: each
 * body reaches the fetch that asked for it, whichever is waited for
 * first. One freed unfinished has its bodies dropped. */
static void
test_fetch_bodies_in_flight (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = NULL;
  const guint32 first[] = { 1, 2, 3 }, second[] = { 4, 5, 6 };
  FerryImapBodies *fetching_first, *fetching_second;
  Bodies one, two;

  append_messages (f, client, "INBOX", 6);
  select_mailbox (client, "INBOX", NULL);
  bodies_init (&one, f);
  bodies_init (&two, f);
  fetching_first = ferry_imap_client_fetch_bodies_begin (
      client, first, G_N_ELEMENTS (first), bodies_open, bodies_close, &one, NULL, &error);
  g_assert_no_error (error);
  fetching_second = ferry_imap_client_fetch_bodies_begin (
      client, second, G_N_ELEMENTS (second), bodies_open, bodies_close, &two, NULL, &error);
  g_assert_no_error (error);
  infos
      = ferry_imap_client_fetch_info (client, first, 1, FERRY_IMAP_FETCH_MESSAGE_ID, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_true (ferry_imap_client_fetch_bodies_finish (client, fetching_second, NULL, &error));
  g_assert_true (ferry_imap_client_fetch_bodies_finish (client, fetching_first, NULL, &error));
  g_assert_no_error (error);
  assert_received (&one, 1, 3);
  assert_received (&two, 4, 6);
  bodies_clear (&one);
  bodies_clear (&two);

  bodies_init (&one, f);
  bodies_init (&two, f);
  ferry_imap_bodies_free (ferry_imap_client_fetch_bodies_begin (
      client, first, G_N_ELEMENTS (first), bodies_open, bodies_close, &one, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ferry_imap_client_fetch_bodies (client, second, G_N_ELEMENTS (second), bodies_open,
                                                 bodies_close, &two, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (one.received), ==, 0);
  assert_received (&two, 4, 6);
  bodies_clear (&one);
  bodies_clear (&two);
  logout (client);
}

static void
test_fetch_bodies (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  const guint32 uids[] = { 5, 1, 3, 99, 2, 4 };
  Bodies bodies;

  append_messages (f, client, "INBOX", 5);
  select_mailbox (client, "INBOX", NULL);

  bodies_init (&bodies, f);
  ferry_imap_client_fetch_bodies (client, uids, G_N_ELEMENTS (uids), bodies_open, bodies_close,
                                  &bodies, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (bodies.received), ==, 5);
  for (guint32 uid = 1; uid <= 5; uid++)
    {
      g_autofree char *expected = make_message (uid);

      g_assert_cmpstr (g_hash_table_lookup (bodies.received, GUINT_TO_POINTER (uid)), ==, expected);
    }
  bodies_clear (&bodies);

  /* A descriptor that cannot be had fails the fetch, which still reads
   * the rest, so the session goes on. */
  bodies_init (&bodies, f);
  bodies.refuse_uid = 3;
  g_assert_false (ferry_imap_client_fetch_bodies (client, uids, G_N_ELEMENTS (uids), bodies_open,
                                                  bodies_close, &bodies, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE);
  g_assert_cmpuint (g_hash_table_size (bodies.received), ==, 2);
  g_assert_cmpuint (bodies.closes, ==, 2);
  bodies_clear (&bodies);
  g_assert_true (ferry_imap_client_is_usable (client));
  {
    g_autofree char *expected = make_message (4);

    assert_body (f, client, 4, expected);
  }
  logout (client);
}

static void
test_store (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 first_two[] = { 1, 2 };
  const guint32 second[] = { 2 };
  const guint32 third[] = { 3 };
  const char *work[] = { "work", NULL };
  const char *bad[] = { "two words", NULL };
  const FerryImapStoreRequest requests[] = {
    { first_two, 2, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_FLAGGED | FERRY_MAIL_FLAG_ANSWERED,
      work },
    { second, 1, FERRY_IMAP_STORE_REMOVE, FERRY_MAIL_FLAG_SEEN, NULL },
    { third, 1, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_DRAFT | FERRY_MAIL_FLAG_FORWARDED, NULL },
    { third, 1, FERRY_IMAP_STORE_ADD, 0, NULL },
  };
  const FerryImapStoreRequest refused = { third, 1, FERRY_IMAP_STORE_ADD, 0, bad };

  append_messages (f, client, "INBOX", 3);
  select_mailbox (client, "INBOX", NULL);
  ferry_imap_client_store (client, requests, G_N_ELEMENTS (requests), NULL, &error);
  g_assert_no_error (error);

  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpint (message_at (messages, 0)->flags, ==,
                   FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_FLAGGED | FERRY_MAIL_FLAG_ANSWERED);
  g_assert_cmpstr (message_at (messages, 0)->keywords[0], ==, "work");
  g_assert_cmpint (message_at (messages, 1)->flags, ==,
                   FERRY_MAIL_FLAG_FLAGGED | FERRY_MAIL_FLAG_ANSWERED);
  g_assert_cmpint (message_at (messages, 2)->flags, ==,
                   FERRY_MAIL_FLAG_SEEN | FERRY_MAIL_FLAG_DRAFT | FERRY_MAIL_FLAG_FORWARDED);
  g_assert_null (message_at (messages, 2)->keywords);

  g_assert_false (ferry_imap_client_store (client, &refused, 1, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_true (ferry_imap_client_is_usable (client));
  logout (client);
}

static void
test_expunge (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 fourth[] = { 4 };
  const guint32 gone[] = { 1, 2 };
  const FerryImapStoreRequest mark
      = { fourth, 1, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_DELETED, NULL };

  append_messages (f, client, "INBOX", 4);
  select_mailbox (client, "INBOX", NULL);
  /* Marked by someone else, not to be expunged by us. */
  ferry_imap_client_store (client, &mark, 1, NULL, &error);
  g_assert_no_error (error);

  ferry_imap_client_expunge (client, gone, G_N_ELEMENTS (gone), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 2);
  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (message_at (messages, 0)->uid, ==, 3);
  g_assert_cmpuint (message_at (messages, 1)->uid, ==, 4);
  g_assert_true (message_at (messages, 1)->flags & FERRY_MAIL_FLAG_DELETED);
  logout (client);
}

static void
test_move (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapCopyResult) result = NULL;
  g_autoptr (FerryImapCopyResult) nothing = NULL;
  g_autoptr (GPtrArray) left = NULL;
  g_autoptr (GPtrArray) moved = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 uids[] = { 3, 1 };
  const guint32 remaining[] = { 2 };
  FerryImapMailboxInfo archive;

  create_mailbox (client, "Archiv/2024");
  append_messages (f, client, "INBOX", 3);
  select_mailbox (client, "INBOX", NULL);
  result = ferry_imap_client_move (client, uids, G_N_ELEMENTS (uids), "Archiv/2024", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->source_uids->len, ==, 2);
  g_assert_cmpuint (g_array_index (result->source_uids, guint32, 0), ==, 1);
  g_assert_cmpuint (g_array_index (result->source_uids, guint32, 1), ==, 3);
  g_assert_cmpuint (g_array_index (result->dest_uids, guint32, 0), ==, 1);
  g_assert_cmpuint (g_array_index (result->dest_uids, guint32, 1), ==, 2);
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 1);
  left = fetch_all (client);
  g_assert_cmpuint (left->len, ==, 1);
  g_assert_cmpstr (message_at (left, 0)->message_id, ==, "<2@example.org>");

  nothing = ferry_imap_client_move (client, remaining, 1, "Nowhere", NULL, &error);
  g_assert_null (nothing);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);

  select_mailbox (client, "Archiv/2024", &archive);
  g_assert_cmpuint (result->uidvalidity, ==, archive.uidvalidity);
  moved = fetch_all (client);
  g_assert_cmpuint (moved->len, ==, 2);
  g_assert_cmpstr (message_at (moved, 0)->message_id, ==, "<1@example.org>");
  g_assert_cmpstr (message_at (moved, 1)->message_id, ==, "<3@example.org>");
  logout (client);
}

static void
test_copy (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapCopyResult) result = NULL;
  g_autoptr (GPtrArray) left = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 uids[] = { 2 };

  create_mailbox (client, "Copies");
  append_messages (f, client, "INBOX", 2);
  select_mailbox (client, "INBOX", NULL);
  result = ferry_imap_client_copy (client, uids, 1, "Copies", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->uidvalidity, !=, 0);
  g_assert_cmpuint (result->dest_uids->len, ==, 1);
  g_assert_cmpuint (g_array_index (result->dest_uids, guint32, 0), ==, 1);
  left = fetch_all (client);
  g_assert_cmpuint (left->len, ==, 2);
  logout (client);
}

static void
test_search_message_id (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  static const char unicode[] = "Message-ID: <grüße@example.org>\r\nSubject: x\r\n\r\nx\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) found = NULL;
  g_autoptr (GArray) later = NULL;
  g_autoptr (GArray) none = NULL;
  g_autoptr (GArray) utf8 = NULL;

  append_messages (f, client, "INBOX", 3);
  append_text (f, client, "INBOX", unicode, 0, NULL);
  select_mailbox (client, "INBOX", NULL);

  found = ferry_imap_client_search_message_id (client, "<2@example.org>", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (g_array_index (found, guint32, 0), ==, 2);
  later = ferry_imap_client_search_message_id (client, "<2@example.org>", 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (later->len, ==, 0);
  none = ferry_imap_client_search_message_id (client, "<9@example.org>", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
  utf8 = ferry_imap_client_search_message_id (client, "<grüße@example.org>", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (utf8->len, ==, 1);
  g_assert_cmpuint (g_array_index (utf8, guint32, 0), ==, 4);
  logout (client);
}

/* Another session changes the mailbox; the server tells this one with
 * untagged responses in the middle of its next command. Dovecot answers
 * the FETCH from the view it had, then tells of the flag change, the
 * expunge and the new message: the result leaves out what was expunged
 * and has the new flags, and the new message comes with the next FETCH. */
static void
test_changes_from_another_session (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapClient) other = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 first[] = { 1 };
  const guint32 second[] = { 2 };
  const FerryImapStoreRequest flag
      = { first, 1, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_FLAGGED, NULL };

  append_messages (f, client, "INBOX", 3);
  select_mailbox (client, "INBOX", NULL);
  select_mailbox (other, "INBOX", NULL);
  ferry_imap_client_store (other, &flag, 1, NULL, &error);
  g_assert_no_error (error);
  ferry_imap_client_expunge (other, second, 1, NULL, &error);
  g_assert_no_error (error);
  append_messages (f, other, "INBOX", 1);

  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (message_at (messages, 0)->uid, ==, 1);
  g_assert_true (message_at (messages, 0)->flags & FERRY_MAIL_FLAG_FLAGGED);
  g_assert_cmpuint (message_at (messages, 1)->uid, ==, 3);
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 3);
  again = fetch_all (client);
  g_assert_cmpuint (again->len, ==, 3);
  g_assert_cmpuint (message_at (again, 2)->uid, ==, 4);
  logout (other);
  logout (client);
}

static void
test_condstore_and_qresync (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapClient) other = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) changed = NULL;
  g_autoptr (GError) error = NULL;
  const char *extensions[] = { "QRESYNC", "X-NONSENSE", NULL };
  const guint32 second[] = { 2 };
  const guint32 third[] = { 3 };
  const FerryImapStoreRequest flag
      = { second, 1, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_FLAGGED, NULL };
  FerryImapMailboxInfo info;

  ferry_imap_client_enable (client, extensions, NULL, &error);
  g_assert_no_error (error);
  /* Its answer comes in with the next command's. */
  g_assert_false (ferry_imap_client_is_enabled (client, "QRESYNC"));
  append_messages (f, client, "INBOX", 3);
  g_assert_true (ferry_imap_client_is_enabled (client, "QRESYNC"));
  g_assert_true (ferry_imap_client_is_enabled (client, "condstore"));
  g_assert_false (ferry_imap_client_is_enabled (client, "X-NONSENSE"));

  select_mailbox (client, "INBOX", &info);
  g_assert_cmpuint (info.highestmodseq, >, 0);
  select_mailbox (other, "INBOX", NULL);
  ferry_imap_client_store (other, &flag, 1, NULL, &error);
  g_assert_no_error (error);
  ferry_imap_client_expunge (other, third, 1, NULL, &error);
  g_assert_no_error (error);

  changed = ferry_imap_client_fetch_info_range (client, 1, 0, 0, info.highestmodseq, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changed->len, ==, 1);
  g_assert_cmpuint (message_at (changed, 0)->uid, ==, 2);
  g_assert_cmpuint (message_at (changed, 0)->modseq, >, info.highestmodseq);
  /* With QRESYNC the expunge came as VANISHED. */
  g_assert_cmpuint (ferry_imap_client_get_exists (client), ==, 2);
  logout (other);
  logout (client);
}

/* Message 2 flagged, 6 new, 3 and 5 gone. */
static void
assert_changes (GPtrArray *changed, GArray *vanished)
{
  g_assert_cmpuint (changed->len, ==, 2);
  g_assert_cmpuint (message_at (changed, 0)->uid, ==, 2);
  g_assert_true (message_at (changed, 0)->flags & FERRY_MAIL_FLAG_FLAGGED);
  g_assert_cmpuint (message_at (changed, 1)->uid, ==, 6);
  g_assert_cmpuint (message_at (changed, 1)->size, >, 0);
  g_assert_cmpuint (vanished->len, ==, 2);
  g_assert_cmpuint (g_array_index (vanished, guint32, 0), ==, 3);
  g_assert_cmpuint (g_array_index (vanished, guint32, 1), ==, 5);
}

/* Since a modseq: the flag change, the arrival, and which of the known
 * UIDs went away: from VANISHED (EARLIER) with QRESYNC enabled (@data
 * non-NULL), else from the UID SEARCH pipelined with the FETCH. Asked
 * after the SELECT, and with it. */
static void
test_fetch_changes (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapClient) other = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) changed = NULL;
  g_autoptr (GArray) vanished = NULL;
  g_autoptr (GError) error = NULL;
  const char *qresync[] = { "QRESYNC", NULL };
  const guint32 known[] = { 1, 2, 3, 4, 5 };
  const guint32 left[] = { 1, 2, 4, 6 };
  const guint32 second[] = { 2 };
  const guint32 gone[] = { 3, 5 };
  const FerryImapStoreRequest flag
      = { second, 1, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_FLAGGED, NULL };
  g_autoptr (FerryImapChanges) changes = NULL;
  FerryImapMailboxInfo info;
  guint64 since;
  guint32 uidnext;

  if (data != NULL)
    {
      ferry_imap_client_enable (client, qresync, NULL, &error);
      g_assert_no_error (error);
    }
  append_messages (f, client, "INBOX", 5);
  select_mailbox (client, "INBOX", &info);
  select_mailbox (other, "INBOX", NULL);
  ferry_imap_client_store (other, &flag, 1, NULL, &error);
  g_assert_no_error (error);
  ferry_imap_client_expunge (other, gone, G_N_ELEMENTS (gone), NULL, &error);
  g_assert_no_error (error);
  append_messages (f, other, "INBOX", 1);

  /* As a sync does: SELECT, then ask what changed since the last one. */
  since = info.highestmodseq;
  uidnext = info.uidnext;
  select_mailbox (client, "INBOX", &info);
  g_assert_cmpuint (info.highestmodseq, >, since);
  ferry_imap_client_fetch_changes (client, since, known, G_N_ELEMENTS (known), &changed, &vanished,
                                   NULL, &error);
  g_assert_no_error (error);
  assert_changes (changed, vanished);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&vanished, g_array_unref);

  /* The same question, sent behind the SELECT. */
  ferry_imap_client_select_with_changes (client, "INBOX", since, 0, &info, &changes, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (changes);
  g_assert_cmpuint (info.exists, ==, 4);
  ferry_imap_client_fetch_changes_finish (client, g_steal_pointer (&changes), known,
                                          G_N_ELEMENTS (known), &changed, &vanished, NULL, &error);
  g_assert_no_error (error);
  assert_changes (changed, vanished);
  g_assert_null (message_at (changed, 1)->message_id);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&vanished, g_array_unref);

  /* Told the UIDNEXT of then too: what arrived since comes with its
   * Message-ID, and what only changed flags without. */
  ferry_imap_client_select_with_changes (client, "INBOX", since, uidnext, &info, &changes, NULL,
                                         &error);
  g_assert_no_error (error);
  ferry_imap_client_fetch_changes_finish (client, g_steal_pointer (&changes), known,
                                          G_N_ELEMENTS (known), &changed, &vanished, NULL, &error);
  g_assert_no_error (error);
  assert_changes (changed, vanished);
  g_assert_null (message_at (changed, 0)->message_id);
  g_assert_nonnull (message_at (changed, 1)->message_id);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&vanished, g_array_unref);

  /* Nothing since the newest modseq. */
  select_mailbox (client, "INBOX", &info);
  ferry_imap_client_fetch_changes (client, info.highestmodseq, left, G_N_ELEMENTS (left), &changed,
                                   &vanished, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changed->len, ==, 0);
  g_assert_cmpuint (vanished->len, ==, 0);
  logout (other);
  logout (client);
}

/* Changes asked with a SELECT that is refused, or not wanted once the
 * SELECT is answered, are answered all the same: the client reads and
 * drops those answers, and the commands after them get their own. */
static void
test_changes_not_wanted (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (FerryImapChanges) changes = NULL;
  g_autoptr (GPtrArray) changed = NULL;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GArray) vanished = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 third[] = { 3 };
  const char *qresync[] = { "QRESYNC", NULL };
  FerryImapMailboxInfo info;
  guint64 since;

  ferry_imap_client_enable (client, qresync, NULL, &error);
  g_assert_no_error (error);
  append_messages (f, client, "INBOX", 5);
  create_mailbox (client, "Empty");

  g_assert_false (ferry_imap_client_select_with_changes (client, "Nowhere", 1, 0, &info, &changes,
                                                         NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "127.0.0.1 refused SELECT"));
  g_assert_null (changes);
  g_assert_true (ferry_imap_client_is_usable (client));
  g_clear_error (&error);

  /* All five messages changed since modseq 1; the answer is dropped,
   * and a FETCH of one message gets that one only. */
  ferry_imap_client_select_with_changes (client, "INBOX", 1, 0, &info, &changes, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&changes, ferry_imap_changes_free);
  infos = ferry_imap_client_fetch_info (client, third, 1, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_cmpuint (message_at (infos, 0)->uid, ==, 3);

  /* Nothing changed in Empty since it was made: the dropped answer about
   * INBOX's messages is not taken for one about Empty's. */
  select_mailbox (client, "Empty", &info);
  since = info.highestmodseq;
  ferry_imap_client_select_with_changes (client, "INBOX", 1, 0, &info, &changes, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&changes, ferry_imap_changes_free);
  ferry_imap_client_select_with_changes (client, "Empty", since, 0, &info, &changes, NULL, &error);
  g_assert_no_error (error);
  ferry_imap_client_fetch_changes_finish (client, g_steal_pointer (&changes), NULL, 0, &changed,
                                          &vanished, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changed->len, ==, 0);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&vanished, g_array_unref);

  /* "1:*" in an empty mailbox. */
  ferry_imap_client_select_with_changes (client, "Empty", 1, 0, &info, &changes, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.exists, ==, 0);
  ferry_imap_client_fetch_changes_finish (client, g_steal_pointer (&changes), third, 1, &changed,
                                          &vanished, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changed->len, ==, 0);
  /* UID 3 was never there, so it did not vanish from there. */
  g_assert_cmpuint (vanished->len, ==, 0);
  logout (client);
}

/* LIST-STATUS (RFC 5819): each selectable mailbox's STATUS in the LIST. */
static void
test_list_status (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) mailboxes = NULL;
  g_autoptr (GError) error = NULL;
  const FerryImapMailbox *inbox;
  FerryImapStatusInfo status;

  g_assert_true (ferry_imap_client_has_capability (client, "LIST-STATUS"));
  append_messages (f, client, "INBOX", 3);
  mailboxes = ferry_imap_client_list (client, FERRY_IMAP_LIST_STATUS, NULL, &error);
  g_assert_no_error (error);
  inbox = find_mailbox (mailboxes, "INBOX");
  g_assert_nonnull (inbox->status);
  ferry_imap_client_status (client, "INBOX", &status, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (inbox->status->messages, ==, 3);
  g_assert_cmpuint (inbox->status->uidnext, ==, status.uidnext);
  g_assert_cmpuint (inbox->status->uidvalidity, ==, status.uidvalidity);
  g_assert_cmpuint (inbox->status->highestmodseq, ==, status.highestmodseq);
  g_assert_cmpuint (inbox->status->highestmodseq, >, 0);
  g_clear_pointer (&mailboxes, g_ptr_array_unref);
  /* Not asked for, not given. */
  mailboxes = list_mailboxes (client);
  g_assert_null (find_mailbox (mailboxes, "INBOX")->status);
  logout (client);
}

static void
test_without_condstore (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo info;
  FerryImapStatusInfo status;

  g_assert_false (ferry_imap_client_has_capability (client, "CONDSTORE"));
  append_messages (f, client, "INBOX", 2);
  select_mailbox (client, "INBOX", &info);
  g_assert_cmpuint (info.highestmodseq, ==, 0);
  g_assert_cmpuint (info.exists, ==, 2);
  ferry_imap_client_status (client, "INBOX", &status, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (status.highestmodseq, ==, 0);
  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (message_at (messages, 0)->modseq, ==, 0);
  /* CHANGEDSINCE needs CONDSTORE: without it, everything comes. */
  all = ferry_imap_client_fetch_info_range (client, 1, 0, 0, 5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  logout (client);
}

/* Servers that misbehave -------------------------------------------------------------- */

static void
test_starttls_not_offered (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) commands = NULL;

  start_script_server (f, "{\"tls\": \"none\"}");
  settings = script_settings (f, FERRY_SECURITY_STARTTLS);
  g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  assert_error_mentions (error, "does not offer STARTTLS");
  commands = script_commands (f);
  g_assert_false (some_command_starts_with (commands, "LOGIN"));
  g_assert_false (some_command_starts_with (commands, "AUTHENTICATE"));
}

static void
test_starttls_refused (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (GError) error = NULL;

  start_script_server (f, "{\"tls\": \"starttls\", \"faults\": [{\"command\": \"STARTTLS\", "
                          "\"action\": \"reply\", \"lines\": [\"{tag} NO not today\"]}]}");
  settings = script_settings (f, FERRY_SECURITY_STARTTLS);
  g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE);
  assert_error_mentions (error, "refused STARTTLS: not today");
}

static void
test_login_disabled (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (FerryImapClient) plain = NULL;
  g_autoptr (FerryImapClient) upgraded = NULL;
  g_autoptr (GPtrArray) commands = NULL;
  g_autoptr (GError) error = NULL;

  /* No AUTH=PLAIN, so LOGIN, with an eight-bit password as a literal. */
  start_script_server (f, "{\"tls\": \"starttls\", \"login_requires_tls\": true, "
                          "\"password\": \"pa\\\"ss w\\u00f6rd\", "
                          "\"capabilities\": [\"IMAP4rev1\", \"LITERAL+\", \"UIDPLUS\"]}");
  settings = script_settings (f, FERRY_SECURITY_NONE);
  plain = ferry_imap_client_connect (&settings, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ferry_imap_client_login (plain, "pa\"ss wörd", NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  assert_error_mentions (error, "LOGINDISABLED");
  commands = script_commands (f);
  g_assert_false (some_command_starts_with (commands, "LOGIN"));

  settings = script_settings (f, FERRY_SECURITY_STARTTLS);
  upgraded = log_in (&settings, "pa\"ss wörd");
  logout (upgraded);
}

static void
test_xoauth2 (Fixture *f, gconstpointer data)
{
  static const char token[] = "ya29.secret-token";
  static const char initial[] = "user=ferry\001auth=Bearer ya29.secret-token\001\001";
  g_autofree char *expected = g_base64_encode ((const guchar *) initial, strlen (initial));
  g_autofree char *command = g_strdup_printf ("AUTHENTICATE XOAUTH2 %s", expected);
  FerryImapSettings settings;
  g_autoptr (FerryImapClient) accepted = NULL;
  g_autoptr (FerryImapClient) refused = NULL;
  g_autoptr (GPtrArray) commands = NULL;
  g_autoptr (GError) error = NULL;

  start_script_server (
      f, "{\"tls\": \"implicit\", \"capabilities\": [\"IMAP4rev1\", \"SASL-IR\", "
         "\"AUTH=XOAUTH2\"], \"faults\": ["
         "{\"command\": \"AUTHENTICATE\", \"action\": \"reply\", \"lines\": "
         "[\"{tag} OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\"]},"
         "{\"command\": \"AUTHENTICATE\", \"action\": \"reply\", \"lines\": "
         "[\"+ eyJzdGF0dXMiOiI0MDEifQ==\", \"{tag} NO [AUTHENTICATIONFAILED] token expired\"]}]}");
  settings = script_settings (f, FERRY_SECURITY_TLS);
  accepted = ferry_imap_client_connect (&settings, NULL, &error);
  g_assert_no_error (error);
  ferry_imap_client_login_xoauth2 (accepted, token, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ferry_imap_client_is_authenticated (accepted));
  g_assert_true (ferry_imap_client_has_capability (accepted, "UIDPLUS"));
  commands = script_commands (f);
  g_assert_true (some_command_starts_with (commands, command));

  refused = ferry_imap_client_connect (&settings, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ferry_imap_client_login_xoauth2 (refused, token, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM);
  assert_error_mentions (error, "token expired");
  g_assert_null (strstr (error->message, token));
}

static void
test_greeting_timeout (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (GError) error = NULL;
  gint64 start;

  start_script_server (f, "{\"tls\": \"none\", \"faults\": [{\"command\": \"GREETING\", "
                          "\"action\": \"stall\"}]}");
  settings = script_settings (f, FERRY_SECURITY_NONE);
  settings.timeout_seconds = 1;
  start = g_get_monotonic_time ();
  g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  g_assert_cmpstr (error->message, ==, "no answer from 127.0.0.1 for 1 seconds");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

/* A listening socket nobody accepts on: the kernel completes the TCP
 * handshake, and then nothing, not even TLS, ever answers. */
static void
test_handshake_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  FerryImapSettings settings = {
    .host = "127.0.0.1", .security = FERRY_SECURITY_TLS, .user = "ferry", .timeout_seconds = 1
  };

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  settings.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_assert_null (ferry_imap_client_connect (&settings, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  g_assert_cmpstr (error->message, ==, "no answer from 127.0.0.1 for 1 seconds");
}

static void
test_silence_in_a_command (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo info;

  start_script_server (f, "{\"tls\": \"implicit\", \"faults\": [{\"command\": \"SELECT\", "
                          "\"action\": \"stall\"}]}");
  settings = script_settings (f, FERRY_SECURITY_TLS);
  settings.timeout_seconds = 1;
  client = log_in (&settings, server_string (&f->script, "password"));
  g_assert_false (ferry_imap_client_select (client, "INBOX", FALSE, &info, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  g_assert_cmpstr (error->message, ==, "no answer from 127.0.0.1 for 1 seconds");
  g_assert_false (ferry_imap_client_is_usable (client));
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  FerryImapSettings settings = { .host = "127.0.0.1", .port = 9, .security = FERRY_SECURITY_TLS };
  g_autoptr (GError) error = NULL;

  g_cancellable_cancel (cancellable);
  g_assert_null (ferry_imap_client_connect (&settings, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static const char one_inbox[]
    = "\"folders\": [{\"name\": \"INBOX\", \"uidvalidity\": 7, \"messages\": ["
      "{\"uid\": 1, \"data\": \"Subject: a\\r\\n\\r\\na\\r\\n\"},"
      "{\"uid\": 2, \"data\": \"Subject: b\\r\\n\\r\\nb\\r\\n\"}]}]";

static void
test_bye_in_a_fetch (Fixture *f, gconstpointer data)
{
  g_autofree char *script = g_strdup_printf (
      "{\"tls\": \"implicit\", %s, \"faults\": [{\"command\": \"UID FETCH\", \"action\": \"bye\", "
      "\"after\": 1, \"text\": \"shutting down for maintenance\"}]}",
      one_inbox);
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo info;

  client = log_in_script (f, script);
  select_mailbox (client, "INBOX", &info);
  g_assert_cmpuint (info.uidvalidity, ==, 7);
  messages = ferry_imap_client_fetch_info_range (client, 1, 0, 0, 0, NULL, &error);
  g_assert_null (messages);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  assert_error_mentions (error, "server closed the connection: shutting down for maintenance");
  g_assert_false (ferry_imap_client_is_usable (client));

  g_clear_error (&error);
  g_assert_false (ferry_imap_client_select (client, "INBOX", FALSE, &info, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  assert_error_mentions (error, "closed after an earlier error");
}

static void
test_names_that_do_not_decode (Fixture *f, gconstpointer data)
{
  FerryImapSettings settings;
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) mailboxes = NULL;
  const FerryImapMailbox *mailbox;

  start_script_server (f, "{\"tls\": \"implicit\", \"folders\": [{\"name\": \"INBOX\"}, "
                          "{\"name\": \"Entw&APw-rfe\"}, {\"name\": \"a&AGE-\"}, "
                          "{\"name\": \"&Jjo\"}, {\"name\": \"Entw\\u00fcrfe\"}]}");
  settings = script_settings (f, FERRY_SECURITY_TLS);
  client = log_in (&settings, server_string (&f->script, "password"));
  mailboxes = list_mailboxes (client);
  g_assert_cmpuint (mailboxes->len, ==, 5);
  g_assert_cmpstr (find_mailbox (mailboxes, "Entw&APw-rfe")->name, ==, "Entwürfe");
  for (guint i = 0; i < 3; i++)
    {
      const char *bad[] = { "a&AGE-", "&Jjo", "Entwürfe" };

      mailbox = find_mailbox (mailboxes, bad[i]);
      g_assert_null (mailbox->name);
      g_assert_nonnull (strstr (mailbox->invalid_reason, "RFC 3501 5.1.3"));
    }
  logout (client);
}

/* RFC 3501 lets the server send FETCH items in any order: the body may
 * come before the UID that says which message it is. */
static void
test_body_before_uid (Fixture *f, gconstpointer data)
{
  g_autofree char *script = g_strdup_printf (
      "{\"tls\": \"implicit\", %s, \"faults\": [{\"command\": \"UID FETCH\", \"action\": "
      "\"reply\", \"lines\": [\"* 1 FETCH (BODY[] {14}\", \"Hello world!\\r\\n UID 2)\", "
      "\"* 2 FETCH (BODY[] {5}\", \"other UID 9)\", \"{tag} OK done\"]}]}",
      one_inbox);
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 uids[] = { 1, 2 };
  Bodies bodies;

  client = log_in_script (f, script);
  select_mailbox (client, "INBOX", NULL);
  bodies_init (&bodies, f);
  ferry_imap_client_fetch_bodies (client, uids, G_N_ELEMENTS (uids), bodies_open, bodies_close,
                                  &bodies, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (bodies.received), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (bodies.received, GUINT_TO_POINTER (2)), ==,
                   "Hello world!\r\n");
  bodies_clear (&bodies);
  g_assert_true (ferry_imap_client_is_usable (client));
}

static void
test_without_uidplus (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", "
        "\"capabilities\": [\"IMAP4rev1\", \"LITERAL+\", \"AUTH=PLAIN\"], "
        "\"folders\": [{\"name\": \"INBOX\", \"uidnext\": 10, \"messages\": ["
        "{\"uid\": 1, \"flags\": [\"\\\\Deleted\"], \"data\": \"Subject: 1\\r\\n\\r\\n1\\r\\n\"},"
        "{\"uid\": 2, \"data\": \"Subject: 2\\r\\n\\r\\n2\\r\\n\"},"
        "{\"uid\": 3, \"data\": \"Subject: 3\\r\\n\\r\\n3\\r\\n\"}]},"
        "{\"name\": \"Archive\"}], "
        "\"faults\": [{\"command\": \"UID SEARCH\", \"match\": \"DELETED\", \"times\": 0, "
        "\"action\": \"reply\", \"lines\": [\"* SEARCH 1\", \"{tag} OK searched\"]},"
        "{\"command\": \"UID COPY\", \"action\": \"reply\", \"lines\": [\"{tag} OK copied\"]}]}";
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (FerryImapCopyResult) moved = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GPtrArray) commands = NULL;
  g_autoptr (GError) error = NULL;
  const guint32 second[] = { 2 };
  const guint32 third[] = { 3 };
  FerryImapAppendResult result;

  client = log_in_script (f, script);
  result = append_text (f, client, "INBOX", "Subject: new\r\n\r\nnew\r\n", 0, NULL);
  g_assert_cmpuint (result.uid, ==, 0);
  g_assert_cmpuint (result.uidvalidity, ==, 0);
  g_assert_cmpuint (result.uidnext_before, ==, 10);

  /* Only message 2 goes; 1 keeps its \Deleted. */
  select_mailbox (client, "INBOX", NULL);
  ferry_imap_client_expunge (client, second, 1, NULL, &error);
  g_assert_no_error (error);
  messages = ferry_imap_client_fetch_info_range (client, 1, 0, 0, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpuint (message_at (messages, 0)->uid, ==, 1);
  g_assert_cmpint (message_at (messages, 0)->flags, ==, FERRY_MAIL_FLAG_DELETED);
  g_assert_cmpuint (message_at (messages, 1)->uid, ==, 3);
  g_assert_cmpuint (message_at (messages, 2)->uid, ==, 10);
  commands = script_commands (f);
  g_assert_true (some_command_starts_with (commands, "UID STORE 1 -FLAGS.SILENT (\\Deleted)"));
  g_assert_true (some_command_starts_with (commands, "UID STORE 2 +FLAGS.SILENT (\\Deleted)"));
  g_assert_true (some_command_starts_with (commands, "EXPUNGE"));
  g_assert_true (some_command_starts_with (commands, "UID STORE 1 +FLAGS.SILENT (\\Deleted)"));
  g_assert_false (some_command_starts_with (commands, "UID EXPUNGE"));

  /* No MOVE: COPY, then the same careful expunge. */
  moved = ferry_imap_client_move (client, third, 1, "Archive", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (moved->uidvalidity, ==, 0);
  g_assert_cmpuint (moved->dest_uids->len, ==, 0);
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = ferry_imap_client_fetch_info_range (client, 1, 0, 0, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (message_at (messages, 1)->uid, ==, 10);
  logout (client);
}

/* Dovecot offers MULTIAPPEND: the batch goes as one command, all or
 * nothing, and APPENDUID names each new message in order. */
static void
test_append_many (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryImapClient) client = log_in_dovecot (f, FERRY_SECURITY_TLS);
  g_autoptr (GDateTime) date = g_date_time_new_from_iso8601 ("2024-07-04T09:05:00+02:00", NULL);
  const gsize sizes[] = { 0, 200 * 1000, 0, 5000, 0 };
  const char *keywords[] = { "work", NULL };
  const char *bad_keywords[] = { "not a keyword", NULL };
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  FerryImapMailboxInfo info;
  gsize n_appended = 99;
  Batch batch;

  g_assert_true (ferry_imap_client_has_capability (client, "MULTIAPPEND"));
  create_mailbox (client, "Box");
  select_mailbox (client, "Box", &info);

  batch_init (f, &batch, 1, G_N_ELEMENTS (sizes), sizes);
  batch.messages[1].flags = FERRY_MAIL_FLAG_SEEN;
  batch.messages[2].keywords = keywords;
  batch.messages[3].internal_date = date;
  g_assert_true (batch_append (client, "Box", &batch, &n_appended, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_appended, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpuint (batch.results[i].uidvalidity, ==, info.uidvalidity);
      g_assert_cmpuint (batch.results[i].uid, ==, i + 1);
      g_assert_cmpuint (batch.results[i].uidnext_before, ==, 0);
    }
  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *message_id = g_strdup_printf ("<%u@example.org>", i + 1);

      g_assert_cmpstr (message_at (messages, i)->message_id, ==, message_id);
      g_assert_cmpuint (message_at (messages, i)->size, ==, strlen (batch.texts[i]));
    }
  g_assert_cmpint (message_at (messages, 0)->flags, ==, 0);
  g_assert_cmpint (message_at (messages, 1)->flags, ==, FERRY_MAIL_FLAG_SEEN);
  g_assert_cmpstr (message_at (messages, 2)->keywords[0], ==, "work");
  assert_body (f, client, 2, batch.texts[1]);
  assert_body (f, client, 4, batch.texts[3]);
  batch_clear (&batch);

  /* All or nothing: nothing of a refused batch is appended. */
  batch_init (f, &batch, 6, 3, NULL);
  g_assert_false (batch_append (client, "Nowhere", &batch, &n_appended, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  assert_error_mentions (error, "APPEND to “Nowhere”");
  g_assert_cmpuint (n_appended, ==, 0);
  g_clear_error (&error);
  batch_clear (&batch);

  /* A message that cannot be sent ends the batch; those before it go. */
  batch_init (f, &batch, 6, 4, NULL);
  batch.messages[2].keywords = bad_keywords;
  g_assert_false (batch_append (client, "Box", &batch, &n_appended, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_cmpuint (n_appended, ==, 2);
  g_assert_cmpuint (batch.results[1].uid, ==, 7);
  g_clear_error (&error);
  batch_clear (&batch);
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 7);

  g_assert_true (
      ferry_imap_client_append_many (client, "Box", NULL, 0, NULL, &n_appended, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_appended, ==, 0);
  logout (client);
}

/* With LITERAL+ and without MULTIAPPEND, the APPENDs are pipelined: all
 * five are sent before the server's NO to the third is read. The first
 * two count as appended; the two after the refusal were taken by this
 * server, but a count of the first messages cannot include them. */
static void
test_append_many_refused (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", \"folders\": [{\"name\": \"INBOX\", \"uidvalidity\": 7}], "
        "\"faults\": [{\"command\": \"APPEND\", \"skip\": 2, \"action\": \"reply\", "
        "\"lines\": [\"{tag} NO [OVERQUOTA] mailbox is full\"]}]}";
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) appends = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_appended;
  Batch batch;

  client = log_in_script (f, script);
  batch_init (f, &batch, 1, 5, NULL);
  g_assert_false (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  assert_error_mentions (error, "mailbox is full");
  g_assert_cmpuint (n_appended, ==, 2);
  g_assert_cmpuint (batch.results[0].uid, ==, 1);
  g_assert_cmpuint (batch.results[1].uid, ==, 2);
  g_assert_cmpuint (batch.results[1].uidvalidity, ==, 7);
  g_assert_true (ferry_imap_client_is_usable (client));

  appends = script_appends (f);
  g_assert_cmpuint (appends->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    assert_literal (appends, i, batch.messages[i].size, TRUE);
  batch_clear (&batch);
  logout (client);
}

/* Without LITERAL+ every literal waits for the server's "+", and the
 * APPENDs go one at a time: after a refusal the rest are not sent. */
static void
test_append_many_without_literal_plus (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", \"capabilities\": [\"IMAP4rev1\", \"UIDPLUS\", \"AUTH=PLAIN\"], "
        "\"folders\": [{\"name\": \"INBOX\", \"uidvalidity\": 7}], "
        "\"faults\": [{\"command\": \"APPEND\", \"skip\": 1, \"action\": \"reply\", "
        "\"lines\": [\"{tag} NO [LIMIT] message too large\"]}]}";
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) appends = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_appended;
  Batch batch;

  client = log_in_script (f, script);
  batch_init (f, &batch, 1, 3, NULL);
  g_assert_false (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL);
  assert_error_mentions (error, "message too large");
  g_assert_cmpuint (n_appended, ==, 1);
  g_assert_cmpuint (batch.results[0].uid, ==, 1);
  g_clear_error (&error);
  appends = script_appends (f);
  g_assert_cmpuint (appends->len, ==, 2);
  assert_literal (appends, 0, batch.messages[0].size, FALSE);
  batch_clear (&batch);

  batch_init (f, &batch, 4, 2, NULL);
  g_assert_true (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_appended, ==, 2);
  g_assert_cmpuint (batch.results[0].uid, ==, 2);
  g_assert_cmpuint (batch.results[1].uid, ==, 3);
  batch_clear (&batch);
  logout (client);
}

/* LITERAL- allows non-synchronizing literals only up to 4096 bytes: a
 * larger message waits for the "+", in the same pipeline. */
static void
test_append_many_literal_minus (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", "
        "\"capabilities\": [\"IMAP4rev1\", \"LITERAL-\", \"UIDPLUS\", \"AUTH=PLAIN\"], "
        "\"folders\": [{\"name\": \"INBOX\", \"uidvalidity\": 7}]}";
  const gsize sizes[] = { 0, 4097, 4096 };
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) appends = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_appended;
  Batch batch;

  client = log_in_script (f, script);
  batch_init (f, &batch, 1, G_N_ELEMENTS (sizes), sizes);
  g_assert_true (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_appended, ==, 3);
  g_assert_cmpuint (batch.results[2].uid, ==, 3);
  appends = script_appends (f);
  g_assert_cmpuint (appends->len, ==, 3);
  assert_literal (appends, 0, batch.messages[0].size, TRUE);
  assert_literal (appends, 1, 4097, FALSE);
  assert_literal (appends, 2, 4096, TRUE);

  select_mailbox (client, "INBOX", NULL);
  messages = fetch_all (client);
  g_assert_cmpuint (messages->len, ==, 3);
  assert_body (f, client, 2, batch.texts[1]);
  batch_clear (&batch);
  logout (client);
}

/* A message larger than APPENDLIMIT is not sent, nor anything after it. */
static void
test_append_many_append_limit (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", \"capabilities\": [\"IMAP4rev1\", \"LITERAL+\", \"UIDPLUS\", "
        "\"APPENDLIMIT=3000\", \"AUTH=PLAIN\"], "
        "\"folders\": [{\"name\": \"INBOX\", \"uidvalidity\": 7}]}";
  const gsize sizes[] = { 0, 3001, 0 };
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) appends = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_appended;
  Batch batch;

  client = log_in_script (f, script);
  batch_init (f, &batch, 1, G_N_ELEMENTS (sizes), sizes);
  g_assert_false (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  assert_error_mentions (error, "at most 3000 bytes (APPENDLIMIT)");
  g_assert_cmpuint (n_appended, ==, 1);
  appends = script_appends (f);
  g_assert_cmpuint (appends->len, ==, 1);
  batch_clear (&batch);
  logout (client);
}

/* Without UIDPLUS one STATUS before the batch says from where each new
 * message is to be found. */
static void
test_append_many_without_uidplus (Fixture *f, gconstpointer data)
{
  static const char script[]
      = "{\"tls\": \"implicit\", \"capabilities\": [\"IMAP4rev1\", \"LITERAL+\", \"AUTH=PLAIN\"], "
        "\"folders\": [{\"name\": \"INBOX\", \"uidnext\": 10}]}";
  g_autoptr (FerryImapClient) client = NULL;
  g_autoptr (GPtrArray) commands = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_appended;
  guint status_commands = 0;
  Batch batch;

  client = log_in_script (f, script);
  batch_init (f, &batch, 1, 3, NULL);
  g_assert_true (batch_append (client, "INBOX", &batch, &n_appended, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_appended, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpuint (batch.results[i].uid, ==, 0);
      g_assert_cmpuint (batch.results[i].uidvalidity, ==, 0);
      g_assert_cmpuint (batch.results[i].uidnext_before, ==, 10);
    }
  commands = script_commands (f);
  for (guint i = 0; i < commands->len; i++)
    if (strstr (g_ptr_array_index (commands, i), " STATUS ") != NULL)
      status_commands++;
  g_assert_cmpuint (status_commands, ==, 1);
  batch_clear (&batch);
  logout (client);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, set_up, test)                                                                    \
  g_test_add ("/imap-client/" path, Fixture, NULL, set_up, test, fixture_tear_down)

  ADD ("imaps-login", set_up_dovecot, test_imaps_login);
  ADD ("starttls-login", set_up_dovecot, test_starttls_login);
  ADD ("plain-login", set_up_dovecot, test_plain_login);
  ADD ("untrusted-certificate", set_up_dovecot, test_untrusted_certificate);
  ADD ("pinned-certificate", set_up_dovecot, test_pinned_certificate);
  ADD ("wrong-password", set_up_dovecot, test_wrong_password);
  ADD ("login-with-commands-after-it", set_up_dovecot, test_login_with_commands_after_it);
  ADD ("login-expecting-other-capabilities", set_up_dovecot,
       test_login_expecting_other_capabilities);
  ADD ("refused-login-with-commands-after-it", set_up_dovecot,
       test_refused_login_with_commands_after_it);
  ADD ("listing-given-up", set_up_dovecot, test_listing_given_up);
  ADD ("cancelled", fixture_set_up, test_cancelled);
  ADD ("list-utf8-names", set_up_dovecot, test_list_utf8_names);
  ADD ("select-and-examine", set_up_dovecot, test_select_and_examine);
  ADD ("create-and-delete", set_up_dovecot, test_create_and_delete);
  ADD ("append-and-fetch", set_up_dovecot, test_append_and_fetch);
  ADD ("large-message", set_up_dovecot, test_large_message);
  ADD ("fetch-bodies", set_up_dovecot, test_fetch_bodies);
  ADD ("fetch-bodies-in-flight", set_up_dovecot, test_fetch_bodies_in_flight);
  ADD ("store", set_up_dovecot, test_store);
  ADD ("expunge", set_up_dovecot, test_expunge);
  ADD ("move", set_up_dovecot, test_move);
  ADD ("copy", set_up_dovecot, test_copy);
  ADD ("search-message-id", set_up_dovecot, test_search_message_id);
  ADD ("changes-from-another-session", set_up_dovecot, test_changes_from_another_session);
  ADD ("condstore-and-qresync", set_up_dovecot, test_condstore_and_qresync);
  ADD ("without-condstore", set_up_dovecot_without_condstore, test_without_condstore);
  g_test_add ("/imap-client/fetch-changes-qresync", Fixture, "qresync", set_up_dovecot,
              test_fetch_changes, fixture_tear_down);
  ADD ("fetch-changes-condstore", set_up_dovecot, test_fetch_changes);
  ADD ("changes-not-wanted", set_up_dovecot, test_changes_not_wanted);
  ADD ("list-status", set_up_dovecot, test_list_status);
  ADD ("starttls-not-offered", fixture_set_up, test_starttls_not_offered);
  ADD ("starttls-refused", fixture_set_up, test_starttls_refused);
  ADD ("login-disabled", fixture_set_up, test_login_disabled);
  ADD ("xoauth2", fixture_set_up, test_xoauth2);
  ADD ("greeting-timeout", fixture_set_up, test_greeting_timeout);
  ADD ("handshake-timeout", fixture_set_up, test_handshake_timeout);
  ADD ("silence-in-a-command", fixture_set_up, test_silence_in_a_command);
  ADD ("bye-in-a-fetch", fixture_set_up, test_bye_in_a_fetch);
  ADD ("names-that-do-not-decode", fixture_set_up, test_names_that_do_not_decode);
  ADD ("body-before-uid", fixture_set_up, test_body_before_uid);
  ADD ("without-uidplus", fixture_set_up, test_without_uidplus);
  ADD ("append-many", set_up_dovecot, test_append_many);
  ADD ("append-many/refused", fixture_set_up, test_append_many_refused);
  ADD ("append-many/without-literal-plus", fixture_set_up, test_append_many_without_literal_plus);
  ADD ("append-many/literal-minus", fixture_set_up, test_append_many_literal_minus);
  ADD ("append-many/append-limit", fixture_set_up, test_append_many_append_limit);
  ADD ("append-many/without-uidplus", fixture_set_up, test_append_many_without_uidplus);

#undef ADD
  return g_test_run ();
}
