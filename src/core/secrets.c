/* secrets.c: passwords and tokens from the keyring or a command
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np() and environ */
#include "build-config.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/secret-service.h"
#include "core/secrets.h"

static const SecretSchema password_schema = {
  "io.github.ferrymail.Ferry.Password",
  SECRET_SCHEMA_NONE,
  {
      { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
  },
};

void
ferry_secret_free (FerrySecret *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

/* No core dump of ours may carry a password. */
void
ferry_secrets_protect_process (void)
{
  prctl (PR_SET_DUMPABLE, 0);
}

const char *
ferry_service_to_string (FerryService service)
{
  return service == FERRY_SERVICE_IMAP ? "imap" : "smtp";
}

gboolean
ferry_service_from_string (const char *name, FerryService *out)
{
  if (g_strcmp0 (name, "smtp") == 0)
    *out = FERRY_SERVICE_SMTP;
  else if (g_strcmp0 (name, "imap") == 0)
    *out = FERRY_SERVICE_IMAP;
  else
    return FALSE;
  return TRUE;
}

/* The command is started with posix_spawnp(), which the C library runs
 * with vfork semantics: it copies none of our page tables and needs no
 * child watch thread, where a password lookup is on the way of every
 * sync's login. The command gets /dev/null as its input, a pipe as its
 * output and our error output, and no other descriptor of ours: the
 * IMAP connection and the state database stay ours. */
static gboolean
spawn_command (char **argv, GPid *pid, int *output, GError **error)
{
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  sigset_t signals;
  int pipe_fds[2];
  int code;

  if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, error))
    return FALSE;
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np (&actions, STDERR_FILENO + 1);
  /* The command starts with no signal blocked and SIGPIPE at its
   * default, whatever the thread that runs it blocked or inherited. */
  posix_spawnattr_init (&attributes);
  posix_spawnattr_setflags (&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigemptyset (&signals);
  posix_spawnattr_setsigmask (&attributes, &signals);
  sigaddset (&signals, SIGPIPE);
  posix_spawnattr_setsigdefault (&attributes, &signals);

  code = posix_spawnp (pid, argv[0], &actions, &attributes, argv, environ);
  posix_spawnattr_destroy (&attributes);
  posix_spawn_file_actions_destroy (&actions);
  close (pipe_fds[1]);
  if (code != 0)
    {
      close (pipe_fds[0]);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "Cannot run the command “%s”: %s",
                   argv[0], g_strerror (code));
      return FALSE;
    }
  *output = pipe_fds[0];
  return TRUE;
}

/* An empty array may have no buffer at all, and explicit_bzero() must
 * not be handed NULL. */
static void
wipe_output (GByteArray *out)
{
  if (out->len > 0)
    explicit_bzero (out->data, out->len);
}

/* Everything the command prints, until it closes its output.  The buffer
 * starts one chunk large so that a secret of usual length is never
 * copied by a reallocation that would leave it behind unwiped. */
static GByteArray *
read_output (int fd, GCancellable *cancellable, GError **error)
{
  guint8 chunk[4096];
  g_autoptr (GByteArray) out = g_byte_array_sized_new (sizeof chunk);
  GPollFD polled[2] = { { fd, G_IO_IN, 0 } };
  guint n_polled = g_cancellable_make_pollfd (cancellable, &polled[1]) ? 2 : 1;
  gboolean ended = FALSE;
  int failure = 0;
  gssize got;

  while (!g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      polled[0].revents = 0;
      if (g_poll (polled, n_polled, -1) < 0 && errno != EINTR)
        {
          failure = errno;
          break;
        }
      if (polled[0].revents == 0)
        continue;
      got = read (fd, chunk, sizeof chunk);
      if (got > 0)
        g_byte_array_append (out, chunk, got);
      else if (got == 0 || errno != EINTR)
        {
          ended = got == 0;
          failure = got == 0 ? 0 : errno;
          break;
        }
    }
  explicit_bzero (chunk, sizeof chunk);
  if (n_polled == 2)
    g_cancellable_release_fd (cancellable);
  if (failure != 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO, "Cannot read what the command printed: %s",
                 g_strerror (failure));
  if (!ended)
    {
      wipe_output (out);
      return NULL;
    }
  return g_steal_pointer (&out);
}

static int
wait_for (GPid pid)
{
  int status = 0;

  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

static gboolean
check_exit (const char *command, int status, GError **error)
{
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return TRUE;
  if (WIFEXITED (status))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                 "The command “%s” failed with exit status %d; run it in a terminal to see why",
                 command, WEXITSTATUS (status));
  else
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                 "The command “%s” was killed by signal %d", command, WTERMSIG (status));
  return FALSE;
}

/**
 * ferry_secrets_run_command:
 * @command_line: a command, split like a shell would but run without one
 * @cancellable: (nullable): a #GCancellable; cancelling it ends the command
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the first line of the command's output. Its
 *   output never appears in an error message.
 */
FerrySecret *
ferry_secrets_run_command (const char *command_line, GCancellable *cancellable, GError **error)
{
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GByteArray) out = NULL;
  FerrySecret *secret = NULL;
  GPid pid;
  int output;
  gsize line;

  g_return_val_if_fail (command_line != NULL, NULL);

  if (!g_shell_parse_argv (command_line, NULL, &argv, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "Cannot split the command “%s”: %s",
                   command_line, local_error->message);
      return NULL;
    }
  if (!spawn_command (argv, &pid, &output, error))
    return NULL;
  out = read_output (output, cancellable, error);
  close (output);
  if (out == NULL)
    {
      kill (pid, SIGTERM);
      wait_for (pid);
      return NULL;
    }
  if (!check_exit (argv[0], wait_for (pid), error))
    {
      wipe_output (out);
      return NULL;
    }

  for (line = 0; line < out->len && out->data[line] != '\n' && out->data[line] != '\r'; line++)
    ;
  if (line > 0)
    secret = g_strndup ((const char *) out->data, line);
  wipe_output (out);
  if (secret == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                 "The command “%s” printed nothing on its first line; it must print the "
                 "secret there",
                 argv[0]);
  return secret;
}

static const char *
host_of (const FerryAccount *account, FerryService service)
{
  const char *host = service == FERRY_SERVICE_IMAP ? account->imap_host : account->smtp_host;
  return host != NULL ? host : "";
}

static const char *
user_of (const FerryAccount *account, FerryService service)
{
  const char *user = service == FERRY_SERVICE_IMAP ? account->imap_user : account->smtp_user;
  return user != NULL ? user : "";
}

/* libsecret would autolaunch a session bus when there is none; over ssh
 * that ties a daemon to the session, so we refuse first. */
static const FerrySecretService *
reach_keyring (GError **error)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");

  if (address == NULL || *address == '\0')
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "No session bus, so no keyring: log in to a desktop session, or set "
                   "password-command in the account");
      return NULL;
    }
  return ferry_secret_service_get (error);
}

static void
explain_keyring_error (GError **error)
{
  g_autofree char *message = NULL;

  if (error == NULL || *error == NULL)
    return;
  message = g_strdup ((*error)->message);
  g_clear_error (error);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
               "The keyring is not usable (%s): start or unlock gnome-keyring or another "
               "Secret Service, or set password-command in the account",
               message);
}

/* What every password of @account for @service has, whatever its host and
 * user were when stored. The values are the account's: the table lives no
 * longer than it. */
static GHashTable *
account_attributes (const FerryAccount *account, FerryService service)
{
  GHashTable *attributes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attributes, "account", account->name);
  g_hash_table_insert (attributes, "service", (char *) ferry_service_to_string (service));
  return attributes;
}

static GHashTable *
password_attributes (const FerryAccount *account, FerryService service)
{
  GHashTable *attributes = account_attributes (account, service);

  g_hash_table_insert (attributes, "host", (char *) host_of (account, service));
  g_hash_table_insert (attributes, "user", (char *) user_of (account, service));
  return attributes;
}

/* A lookup in a locked collection finds nothing, just as when there is no
 * item; only a search that includes locked items tells the two apart. */
static gboolean
is_stored_but_locked (const FerrySecretService *keyring,
                      GHashTable *attributes,
                      GCancellable *cancellable)
{
  g_autolist (GObject) items = NULL;

  items = keyring->password_searchv_sync (&password_schema, attributes, SECRET_SEARCH_ALL,
                                          cancellable, NULL);
  return items != NULL;
}

FerrySecret *
ferry_secrets_lookup_password (const FerryAccount *account,
                               FerryService service,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (GHashTable) attributes = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *name = ferry_service_to_string (service);
  const FerrySecretService *keyring;
  char *found;
  FerrySecret *secret;

  g_return_val_if_fail (account != NULL, NULL);

  if (account->password_command != NULL)
    return ferry_secrets_run_command (account->password_command, cancellable, error);
  keyring = reach_keyring (error);
  if (keyring == NULL)
    return NULL;

  attributes = password_attributes (account, service);
  found = keyring->password_lookupv_nonpageable_sync (&password_schema, attributes, cancellable,
                                                      &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      explain_keyring_error (error);
      return NULL;
    }
  if (found == NULL && is_stored_but_locked (keyring, attributes, cancellable))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "The keyring that holds the %s password of account “%s” is locked: unlock it "
                   "(log in to the desktop, or open Passwords and Keys)",
                   name, account->name);
      return NULL;
    }
  if (found == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                   "No %s password for account “%s” in the keyring: run `ferry password set %s "
                   "%s`, or set password-command in the account",
                   name, account->name, account->name, name);
      return NULL;
    }
  secret = g_strdup (found);
  keyring->password_free (found);
  return secret;
}

FerrySecret *
ferry_secrets_oauth2_token (const FerryAccount *account, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (account != NULL, NULL);

  if (account->oauth2_token_command == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Account “%s” has no oauth2-token-command", account->name);
      return NULL;
    }
  return ferry_secrets_run_command (account->oauth2_token_command, cancellable, error);
}

gboolean
ferry_secrets_store_password (const FerryAccount *account,
                              FerryService service,
                              const char *password,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autoptr (GHashTable) attributes = NULL;
  g_autofree char *label = NULL;
  const FerrySecretService *keyring;
  gboolean ok;

  g_return_val_if_fail (account != NULL && password != NULL, FALSE);

  keyring = reach_keyring (error);
  if (keyring == NULL)
    return FALSE;
  label = g_strdup_printf ("Ferry: %s password for %s on %s (account %s)",
                           ferry_service_to_string (service), user_of (account, service),
                           host_of (account, service), account->name);
  attributes = password_attributes (account, service);
  ok = keyring->password_storev_sync (&password_schema, attributes, SECRET_COLLECTION_DEFAULT,
                                      label, password, cancellable, error);
  if (!ok)
    explain_keyring_error (error);
  return ok;
}

/**
 * ferry_secrets_clear_password:
 * @account: the account
 * @service: which of its passwords
 * @removed: (out) (optional): whether there was one to remove
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Removes every stored @service password of @account, whatever host and
 * user it was stored for, so none is left behind after a change of server.
 *
 * Returns: %FALSE when the keyring could not be reached
 */
gboolean
ferry_secrets_clear_password (const FerryAccount *account,
                              FerryService service,
                              gboolean *removed,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autoptr (GHashTable) attributes = NULL;
  g_autoptr (GError) local_error = NULL;
  const FerrySecretService *keyring;
  gboolean any;

  g_return_val_if_fail (account != NULL, FALSE);

  keyring = reach_keyring (error);
  if (keyring == NULL)
    return FALSE;
  attributes = account_attributes (account, service);
  any = keyring->password_clearv_sync (&password_schema, attributes, cancellable, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      explain_keyring_error (error);
      return FALSE;
    }
  if (removed != NULL)
    *removed = any;
  return TRUE;
}
