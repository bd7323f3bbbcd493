/* cli-demo.c: `ferry demo`, Ferry at work against servers of its own
 *
 * For someone who has just built Ferry and has no configuration yet: it
 * starts a real IMAP server (Debian's Dovecot) and a real SMTP server
 * (Debian's aiosmtpd) on loopback, both with STARTTLS and a certificate
 * made for the occasion, fills the IMAP server with mail, writes a
 * configuration into a temporary directory, and runs `ferry sync`,
 * ferry-sendmail and `ferry queue` there exactly as a mutt user would.
 * Every file lives in that directory, which is removed at the end unless
 * --keep says otherwise; nothing of the user's is read or written.
 *
 * The steps run in a worker thread while the main thread waits for SIGINT
 * and SIGTERM, so that an interrupted demo still stops its servers and
 * removes its directory. The servers run in process groups of their own,
 * so that a Ctrl-C on the terminal reaches the demo, not them.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <utime.h>

#include "cli/cli-demo-mail.h"
#include "cli/cli-demo.h"
#include "core/errors.h"
#include "core/paths.h"

#define SYSTEM_PYTHON "/usr/bin/python3"
#define DOVECOT       "/usr/sbin/dovecot"
#define DOVEADM       "/usr/bin/doveadm"
#define USERADD       "/usr/sbin/useradd"
#define LOOPBACK      "127.0.0.1"

/* Dovecot refuses to run mail processes as root; a demo started by root
 * runs Dovecot as this system user instead. */
#define SERVER_SYSTEM_USER "ferry-demo"
#define IMAP_USER          "demo"

#define DOVECOT_START_ATTEMPTS 3
#define SERVER_WAIT_SECONDS    15
#define STOP_WAIT_SECONDS      10
/* Dovecot's sockets live in base_dir; sockaddr_un.sun_path holds 108
 * bytes and the longest socket name there is about 30. */
#define MAX_BASE_DIR_LENGTH 70

typedef struct
{
  char *name;
  char *group;
  uid_t uid;
  gid_t gid;
  gboolean switch_user; /* only when the demo runs as root */
} ServerUser;

typedef struct
{
  char *dir;
  char *bindir;
  char *config;
  char *ca_file;
  char *key_file;
  char *password_file; /* what password-command reads */
  char *received;      /* the SMTP server's Maildir */
  char *maildir;       /* what `ferry sync` fills */
  char *server_dir;    /* Dovecot's configuration, logs and mail */
  char *dovecot_conf;
  char *server_mail; /* the IMAP user's Maildir++ on the server */
  char **env;
  char *current_step; /* its title, for an error */
  gboolean keep;
  GCancellable *cancellable;
  ServerUser server_user;
  GSubprocess *smtp_server;
  guint16 smtp_port;
  GSubprocess *dovecot;
  guint16 imap_port;
} Demo;

/* Showing what happens */

static void
step (Demo *demo, const char *title)
{
  g_free (demo->current_step);
  demo->current_step = g_strdup (title);
  if (isatty (STDOUT_FILENO))
    printf ("\n\033[1m==> %s\033[0m\n", title);
  else
    printf ("\n==> %s\n", title);
  fflush (stdout);
}

/* A command line as a shell user would type it. */
static char *
shown_command (const char *const *argv)
{
  GString *line = g_string_new (NULL);

  for (guint i = 0; argv[i] != NULL; i++)
    {
      gboolean plain = argv[i][0] != '\0';

      for (const char *c = argv[i]; *c != '\0' && plain; c++)
        plain = g_ascii_isalnum (*c) || strchr ("_-./:=@%+,", *c) != NULL;
      if (i > 0)
        g_string_append_c (line, ' ');
      if (plain)
        g_string_append (line, argv[i]);
      else
        {
          g_autofree char *quoted = g_shell_quote (argv[i]);
          g_string_append (line, quoted);
        }
    }
  return g_string_free (line, FALSE);
}

static void
show_command (const char *const *argv)
{
  g_autofree char *line = shown_command (argv);

  printf ("$ %s\n", line);
  fflush (stdout);
}

/* Running programs */

/* @said: (nullable): what the child said about its failure */
static gboolean
check_exit_status (GSubprocess *child, const char *const *argv, const char *said, GError **error)
{
  g_autofree char *line = NULL;
  g_autofree char *because = NULL;

  if (g_subprocess_get_successful (child))
    return TRUE;
  line = shown_command (argv);
  because = said != NULL && *said != '\0' ? g_strconcat (": ", said, NULL) : g_strdup ("");
  if (g_subprocess_get_if_exited (child))
    g_set_error (error, G_SPAWN_EXIT_ERROR, g_subprocess_get_exit_status (child),
                 _ ("“%s” exited with status %d%s"), line, g_subprocess_get_exit_status (child),
                 because);
  else
    g_set_error (error, G_SPAWN_EXIT_ERROR, 128 + g_subprocess_get_term_sig (child),
                 _ ("“%s” was killed by signal %d%s"), line, g_subprocess_get_term_sig (child),
                 because);
  return FALSE;
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = bytes != NULL ? g_bytes_get_size (bytes) : 0;

  /* An empty GBytes may have no data pointer at all. */
  return size > 0 ? g_strndup (g_bytes_get_data (bytes, NULL), size) : g_strdup ("");
}

/* Waits for @child, and with @out returns what it wrote on stdout, or on
 * stderr when it failed; on cancellation it is stopped before returning. */
static gboolean
communicate (Demo *demo, GSubprocess *child, GBytes *input, char **out, GError **error)
{
  g_autoptr (GBytes) out_bytes = NULL;
  g_autoptr (GBytes) err_bytes = NULL;

  if (!g_subprocess_communicate (child, input, demo->cancellable, out != NULL ? &out_bytes : NULL,
                                 out != NULL ? &err_bytes : NULL, error))
    {
      g_subprocess_force_exit (child);
      g_subprocess_wait (child, NULL, NULL);
      return FALSE;
    }
  if (out == NULL)
    return TRUE;
  /* A failing child's own words say more than its exit status. */
  if (!g_subprocess_get_successful (child) && err_bytes != NULL && g_bytes_get_size (err_bytes) > 0)
    *out = g_strstrip (bytes_to_string (err_bytes));
  else
    *out = bytes_to_string (out_bytes);
  return TRUE;
}

/* Runs one of Ferry's programs as the user would, its output shown as is. */
static gboolean
run_shown (Demo *demo, const char *const *argv, GBytes *input, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) child = NULL;

  show_command (argv);
  launcher = g_subprocess_launcher_new (input != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                      : G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, demo->env);
  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  child = g_subprocess_launcher_spawnv (launcher, argv, error);
  return child != NULL && communicate (demo, child, input, NULL, error)
         && check_exit_status (child, argv, NULL, error);
}

static char *
program (Demo *demo, const char *name)
{
  return g_build_filename (demo->bindir, name, NULL);
}

static void
own_process_group (gpointer data)
{
  (void) data;
  setpgid (0, 0);
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
become_server_user (gpointer data)
{
  const ServerUser *user = data;

  setpgid (0, 0);
  if (user->switch_user
      && (setgroups (0, NULL) != 0 || setgid (user->gid) != 0 || setuid (user->uid) != 0))
    _exit (127);
}

static GSubprocessLauncher *
server_launcher (Demo *demo, GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  g_subprocess_launcher_set_child_setup (launcher, become_server_user, &demo->server_user, NULL);
  return launcher;
}

/* Runs doveadm on the demo's Dovecot, as the user Dovecot runs as; shows
 * the command and its output when @shown. */
static gboolean
run_doveadm (Demo *demo, gboolean shown, char **output, GError **error, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) child = NULL;
  g_autofree char *out = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (char *) DOVEADM);
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, demo->dovecot_conf);
  va_start (args, error);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  if (shown)
    show_command ((const char *const *) argv->pdata);
  launcher
      = server_launcher (demo, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  child = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (child == NULL || !communicate (demo, child, NULL, &out, error)
      || !check_exit_status (child, (const char *const *) argv->pdata, out, error))
    return FALSE;
  if (shown)
    {
      printf ("%s", out);
      fflush (stdout);
    }
  if (output != NULL)
    *output = g_steal_pointer (&out);
  return TRUE;
}

/* The user Dovecot runs as */

static gboolean
create_system_user (Demo *demo, GError **error)
{
  const char *const argv[] = {
    USERADD,        "--system", "--user-group",      "--no-create-home", "--home-dir",
    "/nonexistent", "--shell",  "/usr/sbin/nologin", SERVER_SYSTEM_USER, NULL,
  };
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) child = g_subprocess_launcher_spawnv (launcher, argv, error);
  g_autofree char *out = NULL;

  if (child == NULL || !communicate (demo, child, NULL, &out, error))
    return FALSE;
  if (!check_exit_status (child, argv, out, error))
    {
      g_prefix_error (error, _ ("Cannot create the system user %s that Dovecot runs as: "),
                      SERVER_SYSTEM_USER);
      return FALSE;
    }
  return TRUE;
}

static gboolean
choose_server_user (Demo *demo, GError **error)
{
  ServerUser *user = &demo->server_user;
  const struct passwd *entry;
  const struct group *group;

  if (geteuid () == 0)
    {
      gboolean exists = getpwnam (SERVER_SYSTEM_USER) != NULL;

      if (!exists && !create_system_user (demo, error))
        return FALSE;
      printf (exists ? _ ("You are root, and Dovecot will not run mail processes as root: it runs "
                          "as the system user %s.\n")
                     : _ ("You are root, and Dovecot will not run mail processes as root: it runs "
                          "as the system user %s, created now with useradd.\n"),
              SERVER_SYSTEM_USER);
      entry = getpwnam (SERVER_SYSTEM_USER);
      user->switch_user = TRUE;
    }
  else
    entry = getpwuid (geteuid ());
  if (entry == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_USER,
                        _ ("Cannot find the user Dovecot is to run as in the user database")),
           FALSE;
  group = getgrgid (entry->pw_gid);
  user->name = g_strdup (entry->pw_name);
  user->uid = entry->pw_uid;
  user->gid = entry->pw_gid;
  user->group = group != NULL ? g_strdup (group->gr_name) : g_strdup_printf ("%u", entry->pw_gid);
  return TRUE;
}

static gboolean
give_to_server_user (Demo *demo, const char *path, GError **error)
{
  int saved_errno;

  if (!demo->server_user.switch_user
      || lchown (path, demo->server_user.uid, demo->server_user.gid) == 0)
    return TRUE;
  saved_errno = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               _ ("Cannot give %s to %s: %s"), path, demo->server_user.name,
               g_strerror (saved_errno));
  return FALSE;
}

/* As root, Dovecot runs as another user, which must be able to reach the
 * demo's directory through every directory above it. */
static gboolean
check_reachable (Demo *demo, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (demo->dir);

  if (!demo->server_user.switch_user)
    return TRUE;
  while (TRUE)
    {
      GStatBuf st;
      g_autofree char *up = NULL;

      if (g_stat (parent, &st) != 0 || !(st.st_mode & S_IXOTH))
        return g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                            _ ("Dovecot runs as %s, which cannot reach %s: %s is not searchable "
                               "by others; set TMPDIR to a directory such as /tmp"),
                            demo->server_user.name, demo->dir, parent),
               FALSE;
      if (g_str_equal (parent, "/"))
        return TRUE;
      up = g_path_get_dirname (parent);
      g_free (parent);
      parent = g_steal_pointer (&up);
    }
}

/* Certificate, ports */

static gboolean
make_certificate (Demo *demo, GError **error)
{
  /* clang-format off */
  const char *const argv[] = {
    "openssl", "req", "-x509", "-nodes", "-days", "2",
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:" LOOPBACK ",DNS:localhost",
    "-keyout", demo->key_file, "-out", demo->ca_file,
    NULL,
  };
  /* clang-format on */
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GSubprocess) child = NULL;

  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  child = g_subprocess_launcher_spawnv (launcher, argv, NULL);
  if (child == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                        _ ("The demo needs openssl to make its certificate")),
           FALSE;
  if (!communicate (demo, child, NULL, NULL, error)
      || !check_exit_status (child, argv, NULL, error))
    return FALSE;
  if (g_chmod (demo->key_file, 0600) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Cannot make %s private: %s"), demo->key_file, g_strerror (saved_errno));
      return FALSE;
    }
  return give_to_server_user (demo, demo->key_file, error)
         && give_to_server_user (demo, demo->ca_file, error);
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

/* Whether a server answers on @port with a greeting that starts so. */
static gboolean
server_answers (Demo *demo, guint16 port, const char *greeting)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  char buffer[64];
  gssize got;

  g_socket_client_set_timeout (client, 2);
  /* A proxy resolver would read the user's proxy settings (GSettings,
   * dconf) for what is loopback anyway. */
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, LOOPBACK, port, demo->cancellable, NULL);
  if (connection == NULL)
    return FALSE;
  got = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buffer,
                             sizeof buffer, demo->cancellable, NULL);
  return got >= (gssize) strlen (greeting) && memcmp (buffer, greeting, strlen (greeting)) == 0;
}

static gboolean
cancelled (Demo *demo, GError **error)
{
  return g_cancellable_set_error_if_cancelled (demo->cancellable, error);
}

/* SMTP */

/* aiosmtpd's own command line cannot ask for a login, and Ferry logs in
 * with the account's imap-user and password as most providers expect, so
 * the demo runs aiosmtpd through this short program: STARTTLS required
 * before AUTH, one user, every message delivered into a Maildir.
 * Arguments: HOST PORT CERT KEY MAILDIR USER PASSWORD-FILE. */
static const char smtp_server_program[]
    = "import asyncio, signal, ssl, sys\n"
      "from aiosmtpd.handlers import Mailbox\n"
      "from aiosmtpd.smtp import SMTP, AuthResult\n"
      "\n"
      "host, port, cert, key, maildir, user, password_file = sys.argv[1:]\n"
      "with open(password_file, 'rb') as f:\n"
      "    password = f.readline().rstrip(b'\\r\\n')\n"
      "\n"
      "def authenticate(server, session, envelope, mechanism, data):\n"
      "    ok = data.login == user.encode() and data.password == password\n"
      "    return AuthResult(success=ok, handled=False)\n"
      "\n"
      "context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
      "context.load_cert_chain(cert, key)\n"
      "handler = Mailbox(maildir)\n"
      "loop = asyncio.new_event_loop()\n"
      "asyncio.set_event_loop(loop)\n"
      "server = loop.run_until_complete(loop.create_server(\n"
      "    lambda: SMTP(handler, tls_context=context, require_starttls=True,\n"
      "                 auth_required=True, authenticator=authenticate, loop=loop),\n"
      "    host, int(port)))\n"
      "loop.add_signal_handler(signal.SIGTERM, loop.stop)\n"
      "loop.run_forever()\n";

/* After start_dovecot (), which made the certificate and the password. */
static gboolean
start_smtp_server (Demo *demo, GError **error)
{
  g_autofree char *script = g_build_filename (demo->dir, "smtp-server.py", NULL);
  g_autofree char *port = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  if (!g_file_test (SYSTEM_PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                        _ ("The demo needs Debian's python3 and python3-aiosmtpd")),
           FALSE;
  demo->smtp_port = free_loopback_port (error);
  if (demo->smtp_port == 0
      || !g_file_set_contents_full (script, smtp_server_program, -1, G_FILE_SET_CONTENTS_NONE, 0600,
                                    error))
    return FALSE;

  port = g_strdup_printf ("%u", demo->smtp_port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, demo->dir);
  g_subprocess_launcher_set_child_setup (launcher, own_process_group, NULL, NULL);
  demo->smtp_server = g_subprocess_launcher_spawn (
      launcher, error, SYSTEM_PYTHON, script, LOOPBACK, port, demo->ca_file, demo->key_file,
      demo->received, IMAP_USER, demo->password_file, NULL);
  if (demo->smtp_server == NULL)
    return FALSE;

  for (guint i = 0; i < SERVER_WAIT_SECONDS * 10; i++)
    {
      if (cancelled (demo, error))
        return FALSE;
      if (g_subprocess_get_identifier (demo->smtp_server) == NULL)
        break;
      if (server_answers (demo, demo->smtp_port, "220"))
        return TRUE;
      g_usleep (100 * 1000);
    }
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
               _ ("The SMTP server did not start on port %u; is python3-aiosmtpd installed?"),
               demo->smtp_port);
  return FALSE;
}

/* Dovecot */

static char *
dovecot_config (Demo *demo)
{
  const ServerUser *user = &demo->server_user;
  const char *d = demo->server_dir;

  /* Everything a root-started Dovecot would do as several users is done
   * as one here (Dovecot's rootless mode), hence no chroots. */
  return g_strdup_printf ("# A private Dovecot for `ferry demo`; everything is under %s.\n"
                          "instance_name = ferry-demo-%u\n"
                          "base_dir = %s/run\n"
                          "state_dir = %s/state\n"
                          "log_path = %s/log/dovecot.log\n"
                          "info_log_path = %s/log/dovecot.log\n"
                          "\n"
                          "protocols = imap\n"
                          "listen = " LOOPBACK "\n"
                          "ssl = required\n"
                          "ssl_cert = <%s\n"
                          "ssl_key = <%s\n"
                          "\n"
                          "default_internal_user = %s\n"
                          "default_internal_group = %s\n"
                          "default_login_user = %s\n"
                          "first_valid_uid = %u\n"
                          "last_valid_uid = %u\n"
                          "first_valid_gid = %u\n"
                          "last_valid_gid = %u\n"
                          "\n"
                          "passdb {\n"
                          "  driver = passwd-file\n"
                          "  args = scheme=PLAIN username_format=%%u %s/passwd\n"
                          "}\n"
                          "userdb {\n"
                          "  driver = passwd-file\n"
                          "  args = username_format=%%u %s/passwd\n"
                          "}\n"
                          "mail_location = maildir:~/Maildir\n"
                          "namespace inbox {\n"
                          "  inbox = yes\n"
                          "  separator = /\n"
                          "  mailbox Archive {\n    special_use = \\Archive\n  }\n"
                          "  mailbox Drafts {\n    special_use = \\Drafts\n  }\n"
                          "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
                          "  mailbox Trash {\n    special_use = \\Trash\n  }\n"
                          "  mailbox Junk {\n    special_use = \\Junk\n  }\n"
                          "}\n"
                          "\n"
                          "service anvil {\n  chroot =\n}\n"
                          "service imap-login {\n"
                          "  chroot =\n"
                          "  inet_listener imap {\n    address = " LOOPBACK "\n    port = %u\n  }\n"
                          "  inet_listener imaps {\n    port = 0\n  }\n"
                          "}\n",
                          d, demo->imap_port, d, d, d, d, demo->ca_file, demo->key_file, user->name,
                          user->group, user->name, user->uid, user->uid, user->gid, user->gid, d, d,
                          demo->imap_port);
}

static gboolean
make_server_dir (Demo *demo, const char *path, GError **error)
{
  int saved_errno;

  if (g_mkdir (path, 0700) == 0 || errno == EEXIST)
    return give_to_server_user (demo, path, error);
  saved_errno = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("Cannot create %s: %s"),
               path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_server_file (Demo *demo, const char *path, const char *text, gsize length, GError **error)
{
  return g_file_set_contents_full (path, text, length, G_FILE_SET_CONTENTS_NONE, 0600, error)
         && give_to_server_user (demo, path, error);
}

static char *
random_password (GError **error)
{
  guint8 bytes[16];
  GString *text;
  int saved_errno;

  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Cannot make a password for the demo's IMAP user: %s"),
                   g_strerror (saved_errno));
      return NULL;
    }
  text = g_string_new (NULL);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (text, "%02x", bytes[i]);
  return g_string_free (text, FALSE);
}

/* The server's passwd-file and the 0600 file the demo's password-command
 * reads: the password is never on a command line or in the config. */
static gboolean
write_passwords (Demo *demo, GError **error)
{
  g_autofree char *password = random_password (error);
  g_autofree char *home = g_path_get_dirname (demo->server_mail);
  g_autofree char *passwd = g_build_filename (demo->server_dir, "passwd", NULL);
  g_autofree char *line = NULL;
  g_autofree char *client_line = NULL;

  if (password == NULL)
    return FALSE;
  line = g_strdup_printf ("%s:{PLAIN}%s:%u:%u::%s::\n", IMAP_USER, password, demo->server_user.uid,
                          demo->server_user.gid, home);
  client_line = g_strdup_printf ("%s\n", password);
  return write_server_file (demo, passwd, line, -1, error)
         && g_file_set_contents_full (demo->password_file, client_line, -1,
                                      G_FILE_SET_CONTENTS_NONE, 0600, error);
}

static gboolean
prepare_dovecot_dirs (Demo *demo, GError **error)
{
  const char *const subdirs[] = { "run", "state", "log", "home", ("home/" IMAP_USER) };
  g_autofree char *base_dir = g_build_filename (demo->server_dir, "run", NULL);

  if (strlen (base_dir) > MAX_BASE_DIR_LENGTH)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANT_CREATE,
                        _ ("%s is too long a path for Dovecot's sockets; set TMPDIR to a shorter "
                           "directory such as /tmp"),
                        base_dir),
           FALSE;
  if (!make_server_dir (demo, demo->server_dir, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (demo->server_dir, subdirs[i], NULL);
      if (!make_server_dir (demo, path, error))
        return FALSE;
    }
  return make_server_dir (demo, demo->server_mail, error) && write_passwords (demo, error);
}

/* The last line of Dovecot's logs that says what went wrong. */
static char *
dovecot_complaint (Demo *demo)
{
  const char *const logs[] = { "log/dovecot.log", "log/dovecot.stderr" };
  char *found = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (logs); i++)
    {
      g_autofree char *path = g_build_filename (demo->server_dir, logs[i], NULL);
      g_autofree char *text = NULL;
      g_auto (GStrv) lines = NULL;

      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint l = 0; lines[l] != NULL; l++)
        if (strstr (lines[l], "Fatal:") != NULL || strstr (lines[l], "Error:") != NULL)
          {
            g_free (found);
            found = g_strdup (g_strstrip (lines[l]));
          }
    }
  return found != NULL ? found : g_strdup (_ ("no error in its log"));
}

static gboolean
start_dovecot_once (Demo *demo, GError **error)
{
  g_autofree char *config = dovecot_config (demo);
  g_autofree char *stderr_path = g_build_filename (demo->server_dir, "log", "dovecot.stderr", NULL);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *complaint = NULL;

  if (!write_server_file (demo, demo->dovecot_conf, config, -1, error))
    return FALSE;
  launcher = server_launcher (demo, G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, stderr_path);
  /* -F: the master stays in the foreground as the demo's own child, the
   * one process to signal and wait for at the end. */
  demo->dovecot = g_subprocess_launcher_spawn (launcher, error, DOVECOT, "-F", "-c",
                                               demo->dovecot_conf, NULL);
  if (demo->dovecot == NULL)
    return FALSE;

  for (guint i = 0; i < SERVER_WAIT_SECONDS * 20; i++)
    {
      if (cancelled (demo, error))
        return FALSE;
      if (g_subprocess_get_identifier (demo->dovecot) == NULL)
        break;
      if (server_answers (demo, demo->imap_port, "* OK"))
        return TRUE;
      g_usleep (50 * 1000);
    }
  complaint = dovecot_complaint (demo);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
               _ ("Dovecot did not start on port %u: %s"), demo->imap_port, complaint);
  return FALSE;
}

static void
stop_server (GSubprocess **server)
{
  gint64 deadline;

  if (*server == NULL)
    return;
  g_subprocess_send_signal (*server, SIGTERM);
  deadline = g_get_monotonic_time () + STOP_WAIT_SECONDS * G_USEC_PER_SEC;
  while (g_subprocess_get_identifier (*server) != NULL && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_subprocess_force_exit (*server);
  g_subprocess_wait (*server, NULL, NULL);
  g_clear_object (server);
}

static gboolean
start_dovecot (Demo *demo, GError **error)
{
  if (!g_file_test (DOVECOT, G_FILE_TEST_IS_EXECUTABLE))
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                        _ ("The demo needs Dovecot (Debian's dovecot-imapd package)")),
           FALSE;
  if (!choose_server_user (demo, error) || !check_reachable (demo, error)
      || !make_certificate (demo, error) || !prepare_dovecot_dirs (demo, error))
    return FALSE;

  for (guint attempt = 1;; attempt++)
    {
      g_autofree char *complaint = NULL;

      demo->imap_port = free_loopback_port (error);
      if (demo->imap_port == 0)
        return FALSE;
      if (start_dovecot_once (demo, error))
        return TRUE;
      stop_server (&demo->dovecot);
      /* Someone else may have taken the port since it was free. */
      complaint = dovecot_complaint (demo);
      if (attempt == DOVECOT_START_ATTEMPTS || strstr (complaint, "in use") == NULL
          || cancelled (demo, NULL))
        return FALSE;
      g_clear_error (error);
    }
}

/* The mail on the server */

/* Where Dovecot's Maildir++ keeps @folder: INBOX at the root, others in
 * ".A.B" (the demo's folder names are ASCII, so no modified UTF-7). */
static char *
server_folder_path (Demo *demo, const char *folder)
{
  g_autofree char *dotted = NULL;

  if (g_str_equal (folder, "INBOX"))
    return g_strdup (demo->server_mail);
  dotted = g_strdelimit (g_strconcat (".", folder, NULL), "/", '.');
  return g_build_filename (demo->server_mail, dotted, NULL);
}

static gboolean
make_server_folder (Demo *demo, const char *path, GError **error)
{
  const char *const subdirs[] = { "cur", "new", "tmp" };

  if (!make_server_dir (demo, path, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (path, subdirs[i], NULL);
      if (!make_server_dir (demo, sub, error))
        return FALSE;
    }
  return TRUE;
}

/* Writes one message into cur/ as Dovecot would have stored it, its Date
 * as its mtime (which Dovecot takes for the INTERNALDATE), with S= for
 * its size so that Dovecot need not stat it. */
static gboolean
deliver_on_server (Demo *demo, guint index, GDateTime *now, GError **error)
{
  const FerryCliDemoMail *mail = ferry_cli_demo_mail_get (index);
  g_autoptr (GDateTime) date = g_date_time_add_hours (now, -(gint) mail->hours_ago);
  g_autofree char *text = ferry_cli_demo_mail_text (index, date);
  g_autofree char *folder = server_folder_path (demo, mail->folder);
  gint64 seconds = g_date_time_to_unix (date);
  g_autofree char *name
      = g_strdup_printf ("%" G_GINT64_FORMAT ".M%uP%d.ferry-demo,S=%zu:2,%s", seconds, index,
                         (int) getpid (), strlen (text), mail->flags);
  g_autofree char *path = g_build_filename (folder, "cur", name, NULL);
  struct utimbuf times = { .actime = seconds, .modtime = seconds };

  if (!make_server_folder (demo, folder, error)
      || !write_server_file (demo, path, text, strlen (text), error))
    return FALSE;
  g_utime (path, &times);
  return TRUE;
}

static gboolean
fill_server (Demo *demo, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  for (guint i = 0; i < ferry_cli_demo_mail_count (); i++)
    if (!deliver_on_server (demo, i, now, error))
      return FALSE;
  /* Dovecot has not seen these files yet: let it index them now. */
  return run_doveadm (demo, FALSE, NULL, error, "force-resync", "-u", IMAP_USER, "*", NULL);
}

/* Configuration and environment */

static gboolean
write_config (Demo *demo, GError **error)
{
  g_autofree char *quoted = g_shell_quote (demo->password_file);
  g_autofree char *text = g_strdup_printf ("[general]\n"
                                           "send-after-queue = never\n"
                                           "\n"
                                           "[account demo]\n"
                                           "addresses = " FERRY_CLI_DEMO_YOUR_ADDRESS "\n"
                                           "maildir = %s\n"
                                           "inbox = %s\n"
                                           "folders = *\n"
                                           "imap-host = " LOOPBACK "\n"
                                           "imap-port = %u\n"
                                           "imap-security = starttls\n"
                                           "imap-user = " IMAP_USER "\n"
                                           "imap-ca-file = %s\n"
                                           "password-command = cat %s\n"
                                           "smtp-host = " LOOPBACK "\n"
                                           "smtp-port = %u\n"
                                           "smtp-security = starttls\n"
                                           "smtp-ca-file = %s\n",
                                           demo->maildir, demo->maildir, demo->imap_port,
                                           demo->ca_file, quoted, demo->smtp_port, demo->ca_file);

  printf ("%s", text);
  return g_file_set_contents_full (demo->config, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                   error);
}

static const char *const demo_xdg_dirs[][2] = {
  { "XDG_CONFIG_HOME", "xdg/config" },
  { "XDG_DATA_HOME", "xdg/data" },
  { "XDG_STATE_HOME", "xdg/state" },
  { "XDG_CACHE_HOME", "xdg/cache" },
  /* No session bus, keyring or engine of the user's is found there. */
  { "XDG_RUNTIME_DIR", "xdg/run" },
};

static char **
demo_environment (Demo *demo)
{
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "FERRY_CONFIG", demo->config, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (demo_xdg_dirs); i++)
    {
      g_autofree char *path = g_build_filename (demo->dir, demo_xdg_dirs[i][1], NULL);
      g_mkdir_with_parents (path, 0700);
      env = g_environ_setenv (env, demo_xdg_dirs[i][0], path, TRUE);
    }
  return g_environ_unsetenv (env, "DBUS_SESSION_BUS_ADDRESS");
}

/* What the programs below run with, for a user to type in another terminal. */
static char *
demo_environment_line (Demo *demo)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "FERRY_CONFIG=%s", demo->config);
  for (guint i = 0; i < G_N_ELEMENTS (demo_xdg_dirs); i++)
    g_string_append_printf (line, " %s=%s", demo_xdg_dirs[i][0],
                            g_environ_getenv (demo->env, demo_xdg_dirs[i][0]));
  return g_string_free (line, FALSE);
}

/* The local Maildir */

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  guint count = 0;
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    if (name[0] != '.')
      count++;
  return count;
}

static gboolean
is_maildir (const char *path)
{
  g_autofree char *cur = g_build_filename (path, "cur", NULL);

  return g_file_test (cur, G_FILE_TEST_IS_DIR);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Prints each folder under @path (@name relative to the Maildir root),
 * in name order, with its message counts. */
static void
show_maildir_tree (const char *path, const char *name)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) children = g_ptr_array_new_with_free_func (g_free);
  const char *child;

  if (is_maildir (path))
    {
      g_autofree char *cur = g_build_filename (path, "cur", NULL);
      g_autofree char *new = g_build_filename (path, "new", NULL);
      guint unread = count_files (new);

      printf ("  %-20s %3u messages, %u of them new  %s\n", *name != '\0' ? name : "INBOX",
              count_files (cur) + unread, unread, path);
    }
  while (dir != NULL && (child = g_dir_read_name (dir)) != NULL)
    if (child[0] != '.' && !g_str_equal (child, "cur") && !g_str_equal (child, "new")
        && !g_str_equal (child, "tmp"))
      g_ptr_array_add (children, g_strdup (child));
  g_ptr_array_sort (children, compare_names);
  for (guint i = 0; i < children->len; i++)
    {
      const char *level = g_ptr_array_index (children, i);
      g_autofree char *sub_path = g_build_filename (path, level, NULL);
      g_autofree char *sub_name
          = *name != '\0' ? g_strconcat (name, "/", level, NULL) : g_strdup (level);

      if (g_file_test (sub_path, G_FILE_TEST_IS_DIR))
        show_maildir_tree (sub_path, sub_name);
    }
  fflush (stdout);
}

static gboolean
file_has_message_id (const char *path, const char *message_id)
{
  g_autofree char *text = NULL;
  g_autofree char *line = g_strdup_printf ("\nMessage-ID: %s", message_id);
  const char *lf_end, *crlf_end, *header_end;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  /* The sync may store lines ending in LF or, as IMAP sends them, CRLF. */
  lf_end = strstr (text, "\n\n");
  crlf_end = strstr (text, "\n\r\n");
  header_end = lf_end == NULL || (crlf_end != NULL && crlf_end < lf_end) ? crlf_end : lf_end;
  return g_strstr_len (text, header_end != NULL ? header_end - text : -1, line) != NULL;
}

/* The local INBOX file (under new/ or cur/) of the message @message_id. */
static char *
find_local_message (Demo *demo, const char *message_id, GError **error)
{
  const char *const subdirs[] = { "cur", "new" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir_path = g_build_filename (demo->maildir, subdirs[i], NULL);
      g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir_path, name, NULL);
          if (file_has_message_id (path, message_id))
            return g_steal_pointer (&path);
        }
    }
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
               _ ("The message %s is not in the local INBOX %s"), message_id, demo->maildir);
  return NULL;
}

/* The Maildir flags of a file in cur/ ("" when it has none). */
static const char *
maildir_flags (const char *path)
{
  const char *info = strstr (path, ":2,");

  return info != NULL ? info + 3 : "";
}

/* @path with @flag added to its info, the letters kept in ASCII order as
 * the Maildir specification asks. */
static char *
with_maildir_flag (const char *path, char flag)
{
  const char *flags = maildir_flags (path);
  GString *name = g_string_new_len (path, flags - path);
  const char *c = flags;

  for (; *c != '\0' && *c < flag; c++)
    g_string_append_c (name, *c);
  if (*c != flag)
    g_string_append_c (name, flag);
  g_string_append (name, c);
  return g_string_free (name, FALSE);
}

/* The steps */

static gboolean
flag_locally (Demo *demo, const char *message_id, GError **error)
{
  g_autofree char *path = find_local_message (demo, message_id, error);
  g_autofree char *flagged = NULL;
  int saved_errno;

  if (path == NULL)
    return FALSE;
  if (strstr (path, ":2,") == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                        _ ("%s is not in cur/ with flags, where mutt would have it"), path),
           FALSE;
  flagged = with_maildir_flag (path, 'F');
  printf (_ ("Here, mutt flags %s (key F) by renaming its file:\n"), message_id);
  show_command ((const char *const[]){ "mv", path, flagged, NULL });
  if (g_rename (path, flagged) == 0)
    return TRUE;
  saved_errno = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("Cannot rename %s: %s"),
               path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
mark_seen_on_server (Demo *demo, const char *message_id, GError **error)
{
  printf (_ ("On the server, another mail reader reads %s:\n"), message_id);
  return run_doveadm (demo, TRUE, NULL, error, "flags", "add", "-u", IMAP_USER, "\\Seen", "mailbox",
                      "INBOX", "header", "Message-ID", message_id, NULL);
}

static gboolean
show_changes_crossed (Demo *demo, const char *flagged_id, const char *seen_id, GError **error)
{
  g_autofree char *seen_path = find_local_message (demo, seen_id, error);
  g_autofree char *server_flags = NULL;

  if (seen_path == NULL)
    return FALSE;
  printf (_ ("Here, %s now carries S (seen):\n  %s\n"), seen_id, seen_path);
  if (strchr (maildir_flags (seen_path), 'S') == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                        _ ("The \\Seen set on the server did not reach %s"), seen_path),
           FALSE;

  printf (_ ("On the server, %s now carries \\Flagged:\n"), flagged_id);
  if (!run_doveadm (demo, TRUE, &server_flags, error, "fetch", "-u", IMAP_USER, "flags", "mailbox",
                    "INBOX", "header", "Message-ID", flagged_id, NULL))
    return FALSE;
  if (strstr (server_flags, "\\Flagged") == NULL)
    return g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                        _ ("The flag set in the Maildir did not reach the server")),
           FALSE;
  return TRUE;
}

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

static const char demo_message[] = "From: You <" FERRY_CLI_DEMO_YOUR_ADDRESS ">\n"
                                   "To: A Friend <friend@ferry.test>\n"
                                   "Bcc: archive@ferry.test\n"
                                   "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_from_the_train?=\n"
                                   "Message-ID: <demo-sent@ferry.test>\n"
                                   "\n"
                                   "Written offline; Ferry queued it and sent it when it could.\n";

static gboolean
run_servers_steps (Demo *demo, GError **error)
{
  step (demo, _ ("Starting Dovecot, an IMAP server with STARTTLS, on 127.0.0.1"));
  if (!start_dovecot (demo, error))
    return FALSE;
  printf (_ ("listening on port %u, user %s; its configuration is %s\n"), demo->imap_port,
          IMAP_USER, demo->dovecot_conf);

  step (demo, _ ("Starting an SMTP server with STARTTLS on 127.0.0.1 (aiosmtpd)"));
  if (!start_smtp_server (demo, error))
    return FALSE;
  printf (_ ("listening on port %u; it delivers into %s\n"), demo->smtp_port, demo->received);

  step (demo, _ ("Filling the IMAP server with mail"));
  if (!fill_server (demo, error))
    return FALSE;
  printf (_ ("%u messages written into %s; Dovecot counts them:\n"), ferry_cli_demo_mail_count (),
          demo->server_mail);
  return run_doveadm (demo, TRUE, NULL, error, "mailbox", "status", "-u", IMAP_USER,
                      "messages unseen", "*", NULL);
}

static gboolean
run_sync_steps (Demo *demo, GError **error)
{
  g_autofree char *ferry = program (demo, "ferry");
  g_autofree char *env_line = demo_environment_line (demo);

  step (demo, _ ("A configuration for both servers"));
  printf (_ ("%s, read by every command below, which runs with\n  %s\n\n"), demo->config, env_line);
  if (!write_config (demo, error))
    return FALSE;

  step (demo, _ ("Syncing the server's folders into a new Maildir"));
  if (!run_shown (demo, (const char *const[]){ ferry, "sync", NULL }, NULL, error))
    return FALSE;

  step (demo, _ ("The Maildir, as mutt sees it"));
  show_maildir_tree (demo->maildir, "");
  return TRUE;
}

static gboolean
run_outbox_steps (Demo *demo, GError **error)
{
  g_autofree char *sendmail = program (demo, "ferry-sendmail");
  g_autofree char *ferry = program (demo, "ferry");
  g_autoptr (GBytes) message = g_bytes_new_static (demo_message, sizeof demo_message - 1);

  step (demo, _ ("mutt hands a message to ferry-sendmail, which queues it and returns at once"));
  if (!run_shown (demo,
                  (const char *const[]){ sendmail, "-oi", "-oem", "-f", FERRY_CLI_DEMO_YOUR_ADDRESS,
                                         "--", "friend@ferry.test", "archive@ferry.test", NULL },
                  message, error)
      || !run_shown (demo, (const char *const[]){ ferry, "queue", "list", NULL }, NULL, error))
    return FALSE;

  step (demo, _ ("Delivering the queue (what the engine does when the network is there)"));
  if (!run_shown (demo, (const char *const[]){ ferry, "queue", "flush", NULL }, NULL, error)
      || !run_shown (demo, (const char *const[]){ ferry, "queue", "list", NULL }, NULL, error))
    return FALSE;

  step (demo, _ ("What the SMTP server received (Bcc removed from the message, kept in the "
                 "envelope)"));
  return show_received (demo, error);
}

static gboolean
run_flag_steps (Demo *demo, GError **error)
{
  g_autofree char *ferry = program (demo, "ferry");
  g_autofree char *flagged_id
      = ferry_cli_demo_mail_message_id (ferry_cli_demo_mail_find_in_inbox ("S"));
  g_autofree char *seen_id
      = ferry_cli_demo_mail_message_id (ferry_cli_demo_mail_find_in_inbox (""));

  step (demo, _ ("A flag changed on each side"));
  if (!flag_locally (demo, flagged_id, error) || !mark_seen_on_server (demo, seen_id, error))
    return FALSE;

  step (demo, _ ("Syncing again: each change crosses to the other side"));
  if (!run_shown (demo, (const char *const[]){ ferry, "sync", NULL }, NULL, error))
    return FALSE;

  step (demo, _ ("Both changes crossed"));
  return show_changes_crossed (demo, flagged_id, seen_id, error);
}

static void
run_steps (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Demo *demo = task_data;
  GError *error = NULL;

  (void) source;
  (void) cancellable;
  if (run_servers_steps (demo, &error) && run_sync_steps (demo, &error)
      && run_outbox_steps (demo, &error) && run_flag_steps (demo, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
show_where_to_look (Demo *demo)
{
  g_autofree char *archive = g_build_filename (demo->maildir, "Archive", NULL);
  g_autofree char *env_line = demo_environment_line (demo);

  step (demo, _ ("Where to look"));
  printf (_ ("Read the synced mail as you read your own:\n  mutt -f %s\n"
             "and the other folders with, for example, mutt -f %s\n"),
          demo->maildir, archive);
  if (demo->keep)
    printf (_ ("%s stays when the demo ends; remove it with rm -r %s\n"
               "Until you press Enter both servers run; in another terminal, try\n"
               "  %s %s/ferry sync\n"),
            demo->dir, demo->dir, env_line, demo->bindir);
  else
    printf (_ ("%s is removed when the demo ends; `ferry demo --keep` keeps it.\n"), demo->dir);
  fflush (stdout);
}

/* The main thread: signals, waiting, cleaning up */

typedef struct
{
  Demo *demo;
  GMainLoop *loop;
  int signal;
  gboolean done;
  GError *error;
} Waiting;

static gboolean
on_signal (Waiting *waiting, int signal)
{
  if (waiting->signal == 0)
    {
      waiting->signal = signal;
      printf (_ ("\nInterrupted: stopping the servers.\n"));
      fflush (stdout);
    }
  g_cancellable_cancel (waiting->demo->cancellable);
  if (waiting->done)
    g_main_loop_quit (waiting->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint (gpointer data)
{
  return on_signal (data, SIGINT);
}

static gboolean
on_sigterm (gpointer data)
{
  return on_signal (data, SIGTERM);
}

static void
on_steps_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiting *waiting = data;

  (void) source;
  g_task_propagate_boolean (G_TASK (result), &waiting->error);
  waiting->done = TRUE;
  g_main_loop_quit (waiting->loop);
}

static gboolean
on_enter (int fd, GIOCondition condition, gpointer data)
{
  Waiting *waiting = data;
  char buffer[256];

  (void) condition;
  if (read (fd, buffer, sizeof buffer) < 0 && errno == EINTR)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (waiting->loop);
  return G_SOURCE_REMOVE;
}

static void
wait_for_enter (Waiting *waiting)
{
  guint source;

  printf (_ ("\nPress Enter to stop the servers. "));
  fflush (stdout);
  source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_enter, waiting);
  g_main_loop_run (waiting->loop);
  if (waiting->signal != 0)
    g_source_remove (source);
  else
    printf ("\n");
}

static void
finish (Demo *demo)
{
  stop_server (&demo->dovecot);
  stop_server (&demo->smtp_server);
  if (!demo->keep)
    ferry_paths_remove_tree (demo->dir);
  g_clear_object (&demo->cancellable);
  g_strfreev (demo->env);
  g_free (demo->server_user.name);
  g_free (demo->server_user.group);
  g_free (demo->current_step);
  g_free (demo->server_mail);
  g_free (demo->dovecot_conf);
  g_free (demo->server_dir);
  g_free (demo->maildir);
  g_free (demo->received);
  g_free (demo->key_file);
  g_free (demo->password_file);
  g_free (demo->ca_file);
  g_free (demo->config);
  g_free (demo->bindir);
  g_free (demo->dir);
}

static void
setup (Demo *demo, const char *self)
{
  demo->bindir = g_path_get_dirname (self);
  demo->config = g_build_filename (demo->dir, "config", NULL);
  demo->ca_file = g_build_filename (demo->dir, "cert.pem", NULL);
  demo->key_file = g_build_filename (demo->dir, "key.pem", NULL);
  demo->password_file = g_build_filename (demo->dir, "password", NULL);
  demo->received = g_build_filename (demo->dir, "received", NULL);
  demo->maildir = g_build_filename (demo->dir, "Mail", NULL);
  demo->server_dir = g_build_filename (demo->dir, "server", NULL);
  demo->dovecot_conf = g_build_filename (demo->server_dir, "dovecot.conf", NULL);
  demo->server_mail = g_build_filename (demo->server_dir, "home", IMAP_USER, "Maildir", NULL);
  demo->cancellable = g_cancellable_new ();
  demo->env = demo_environment (demo);
}

static int
report_failure (FerryCli *cli, Demo *demo, Waiting *waiting)
{
  if (waiting->signal != 0)
    {
      if (demo->keep)
        fprintf (stderr, _ ("%s: demo interrupted; the servers are stopped, %s is kept\n"),
                 cli->program, demo->dir);
      else
        fprintf (stderr, _ ("%s: demo interrupted; the servers are stopped, %s is removed\n"),
                 cli->program, demo->dir);
      return 128 + waiting->signal;
    }
  g_prefix_error (&waiting->error, _ ("demo step “%s” failed: "), demo->current_step);
  return ferry_cli_fail (cli, waiting->error);
}

/**
 * ferry_cli_demo:
 * @cli: the running program
 * @argc: the number of arguments, `demo` included
 * @argv: those arguments
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_demo (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *self = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GTask) task = NULL;
  Demo demo = { 0 };
  Waiting waiting = { .demo = &demo, .loop = loop };
  guint sigint_source, sigterm_source;
  int status = EX_OK;

  g_return_val_if_fail (cli != NULL, EX_SOFTWARE);

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--keep"))
      demo.keep = TRUE;
    else
      return ferry_cli_usage_error (cli, "unknown argument “%s” for demo (only --keep)", argv[i]);

  self = g_file_read_link ("/proc/self/exe", &error);
  if (self == NULL)
    return ferry_cli_fail (cli, error);
  /* Before the directory exists, so that no signal leaves it behind. */
  sigint_source = g_unix_signal_add (SIGINT, on_sigint, &waiting);
  sigterm_source = g_unix_signal_add (SIGTERM, on_sigterm, &waiting);
  demo.dir = g_dir_make_tmp ("ferry-demo-XXXXXX", &error);
  if (demo.dir == NULL)
    {
      g_source_remove (sigint_source);
      g_source_remove (sigterm_source);
      return ferry_cli_fail (cli, error);
    }
  /* As root, Dovecot's user must be able to pass through it. */
  g_chmod (demo.dir, geteuid () == 0 ? 0711 : 0700);
  setup (&demo, self);

  printf (_ ("Ferry %s demo: nothing of yours is read or written; everything happens in %s\n"),
          PACKAGE_VERSION, demo.dir);
  fflush (stdout);
  task = g_task_new (NULL, NULL, on_steps_done, &waiting);
  g_task_set_task_data (task, &demo, NULL);
  g_task_run_in_thread (task, run_steps);
  g_main_loop_run (loop);

  /* A signal that came as the last step ended still stops the demo there. */
  if (waiting.error == NULL && waiting.signal == 0)
    {
      show_where_to_look (&demo);
      if (demo.keep)
        wait_for_enter (&waiting);
    }
  else
    status = report_failure (cli, &demo, &waiting);
  finish (&demo);
  g_source_remove (sigint_source);
  g_source_remove (sigterm_source);
  g_clear_error (&waiting.error);

  if (status == EX_OK)
    printf (
        _ ("\nDone. To use Ferry for real, write ~/.config/ferry/config (see ferry.conf(5)).\n"));
  return status;
}
