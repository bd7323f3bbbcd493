/* cli-demo.c: `ferry demo`, Ferry at work against servers of its own
 *
 * For someone who has just built Ferry and has no configuration yet: it
 * starts a real SMTP server (Debian's aiosmtpd, with STARTTLS and a
 * certificate made for the occasion) on loopback, writes a configuration
 * into a temporary directory, and runs ferry-sendmail and `ferry queue`
 * there exactly as a mutt user would. Every file lives in that directory,
 * which is removed at the end; nothing of the user's is read or written.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/paths.h"
#include "cli/cli-demo.h"

#define SYSTEM_PYTHON "/usr/bin/python3"

typedef struct
{
  char *dir;
  char *bindir;
  char *received;
  char **env;
  GSubprocess *smtp_server;
  guint16 smtp_port;
} Demo;

static void step (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
step (const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (isatty (STDOUT_FILENO))
    printf ("\n\033[1m==> %s\033[0m\n", text);
  else
    printf ("\n==> %s\n", text);
  fflush (stdout);
}

static gboolean
run_shown (Demo *demo, const char *const *argv, GBytes *input, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) child = NULL;
  g_autofree char *shown = g_strjoinv (" ", (char **) argv);

  printf ("$ %s\n", shown);
  fflush (stdout);

  launcher = g_subprocess_launcher_new (input != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                      : G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, demo->env);
  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  child = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (child == NULL)
    return FALSE;
  if (!g_subprocess_communicate (child, input, NULL, NULL, NULL, error))
    return FALSE;
  if (!g_subprocess_get_if_exited (child) || g_subprocess_get_exit_status (child) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed (exit status %d)", argv[0],
                   g_subprocess_get_exit_status (child));
      return FALSE;
    }
  return TRUE;
}

static char *
program (Demo *demo, const char *name)
{
  return g_build_filename (demo->bindir, name, NULL);
}

static gboolean
make_certificate (Demo *demo, GError **error)
{
  const char *const argv[] = {
    "openssl",  "req",           "-x509",   "-newkey",
    "rsa:2048", "-nodes",        "-days",   "2",
    "-subj",    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout",  "key.pem",       "-out",    "cert.pem",
    NULL,
  };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GSubprocess) child = NULL;

  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  child = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (child == NULL)
    {
      g_prefix_error (error, "The demo needs openssl: ");
      return FALSE;
    }
  return g_subprocess_wait_check (child, NULL, error);
}

static guint16
free_loopback_port (GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  return bound != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

static gboolean
wait_for_port (guint16 port, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  for (guint i = 0; i < 100; i++)
    {
      g_autoptr (GSocketConnection) connection
          = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
      if (connection != NULL)
        return TRUE;
      g_usleep (100 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "The demo SMTP server did not start on port %u", port);
  return FALSE;
}

static gboolean
start_smtp_server (Demo *demo, GError **error)
{
  g_autofree char *listen = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  if (!g_file_test (SYSTEM_PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "The demo needs Debian's python3 and python3-aiosmtpd");
      return FALSE;
    }
  demo->smtp_port = free_loopback_port (error);
  if (demo->smtp_port == 0)
    return FALSE;

  listen = g_strdup_printf ("127.0.0.1:%u", demo->smtp_port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  demo->smtp_server = g_subprocess_launcher_spawn (
      launcher, error, SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l", listen, "--tlscert", "cert.pem",
      "--tlskey", "key.pem", "-c", "aiosmtpd.handlers.Mailbox", demo->received, NULL);
  if (demo->smtp_server == NULL)
    return FALSE;
  return wait_for_port (demo->smtp_port, error);
}

static gboolean
write_config (Demo *demo, GError **error)
{
  g_autofree char *path = g_build_filename (demo->dir, "config", NULL);
  g_autofree char *ca = g_build_filename (demo->dir, "cert.pem", NULL);
  g_autofree char *text = g_strdup_printf ("[general]\n"
                                           "send-after-queue = never\n"
                                           "\n"
                                           "[account demo]\n"
                                           "addresses = you@ferry.test\n"
                                           "smtp-host = 127.0.0.1\n"
                                           "smtp-port = %u\n"
                                           "smtp-security = starttls\n"
                                           "smtp-ca-file = %s\n",
                                           demo->smtp_port, ca);

  printf ("%s", text);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static char **
demo_environment (Demo *demo)
{
  char **env = g_get_environ ();
  g_autofree char *config = g_build_filename (demo->dir, "config", NULL);
  g_autofree char *data = g_build_filename (demo->dir, "data", NULL);
  g_autofree char *state = g_build_filename (demo->dir, "state", NULL);

  env = g_environ_setenv (env, "FERRY_CONFIG", config, TRUE);
  env = g_environ_setenv (env, "XDG_DATA_HOME", data, TRUE);
  env = g_environ_setenv (env, "XDG_STATE_HOME", state, TRUE);
  return g_environ_unsetenv (env, "DBUS_SESSION_BUS_ADDRESS");
}

static const char demo_message[] = "From: You <you@ferry.test>\n"
                                   "To: A Friend <friend@ferry.test>\n"
                                   "Bcc: archive@ferry.test\n"
                                   "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_from_the_train?=\n"
                                   "Message-ID: <demo-1@ferry.test>\n"
                                   "\n"
                                   "Written offline; Ferry queued it and sent it when it could.\n";

static gboolean
show_received (Demo *demo, GError **error)
{
  g_autofree char *new_dir = g_build_filename (demo->received, "new", NULL);
  g_autoptr (GDir) dir = g_dir_open (new_dir, 0, error);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (new_dir, name, NULL);
      g_autofree char *text = NULL;

      if (!g_file_get_contents (path, &text, NULL, error))
        return FALSE;
      printf ("%s:\n%s", path, text);
    }
  return TRUE;
}

static gboolean
run_steps (Demo *demo, GError **error)
{
  g_autofree char *sendmail = program (demo, "ferry-sendmail");
  g_autofree char *ferry = program (demo, "ferry");
  g_autoptr (GBytes) message = g_bytes_new_static (demo_message, sizeof demo_message - 1);

  step ("Starting an SMTP server with STARTTLS on 127.0.0.1 (aiosmtpd)");
  if (!make_certificate (demo, error) || !start_smtp_server (demo, error))
    return FALSE;
  printf ("listening on port %u; it delivers into %s\n", demo->smtp_port, demo->received);

  step ("A configuration for it (%s/config)", demo->dir);
  if (!write_config (demo, error))
    return FALSE;

  step ("mutt hands a message to ferry-sendmail, which queues it and returns at once");
  if (!run_shown (demo,
                  (const char *const[]){ sendmail, "-oi", "-oem", "-f", "you@ferry.test", "--",
                                         "friend@ferry.test", "archive@ferry.test", NULL },
                  message, error))
    return FALSE;

  step ("The outbox");
  if (!run_shown (demo, (const char *const[]){ ferry, "queue", "list", NULL }, NULL, error))
    return FALSE;

  step ("Delivering the queue (what the engine does when the network is there)");
  if (!run_shown (demo, (const char *const[]){ ferry, "queue", "flush", NULL }, NULL, error)
      || !run_shown (demo, (const char *const[]){ ferry, "queue", "list", NULL }, NULL, error))
    return FALSE;

  step ("What the server received (Bcc removed from the message, kept in the envelope)");
  return show_received (demo, error);
}

static void
finish (Demo *demo, gboolean keep)
{
  if (keep && isatty (STDIN_FILENO))
    {
      char line[8];
      printf ("\nRead it with:  mutt -f %s\n", demo->received);
      printf ("Press Enter to stop the demo server and remove %s ", demo->dir);
      fflush (stdout);
      if (fgets (line, sizeof line, stdin) == NULL)
        printf ("\n");
    }

  if (demo->smtp_server != NULL)
    {
      g_subprocess_send_signal (demo->smtp_server, SIGTERM);
      g_subprocess_wait (demo->smtp_server, NULL, NULL);
      g_object_unref (demo->smtp_server);
    }
  ferry_paths_remove_tree (demo->dir);
  g_strfreev (demo->env);
  g_free (demo->received);
  g_free (demo->bindir);
  g_free (demo->dir);
}

/**
 * ferry_cli_demo:
 * @cli: the running program
 * @argc: the number of arguments after `demo`
 * @argv: those arguments
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_demo (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *self = NULL;
  Demo demo = { 0 };
  gboolean ok;

  if (argc > 1)
    return ferry_cli_usage_error (cli, "demo takes no arguments");

  self = g_file_read_link ("/proc/self/exe", &error);
  if (self == NULL)
    return ferry_cli_fail (cli, error);
  demo.dir = g_dir_make_tmp ("ferry-demo-XXXXXX", &error);
  if (demo.dir == NULL)
    return ferry_cli_fail (cli, error);
  g_chmod (demo.dir, 0700);
  demo.bindir = g_path_get_dirname (self);
  demo.received = g_build_filename (demo.dir, "received", NULL);
  demo.env = demo_environment (&demo);

  printf ("Ferry %s demo: nothing of yours is read or written; everything happens in %s\n",
          PACKAGE_VERSION, demo.dir);
  ok = run_steps (&demo, &error);
  finish (&demo, ok);

  if (!ok)
    return ferry_cli_fail (cli, error);
  printf ("\nDone. To use Ferry for real, write ~/.config/ferry/config (see ferry.conf(5)).\n");
  return EX_OK;
}
