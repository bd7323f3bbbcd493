/* secrets.c: passwords and tokens from the keyring or a command
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <libsecret/secret.h>
#include <sys/prctl.h>

#include "core/errors.h"
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

/**
 * ferry_secrets_run_command:
 * @command_line: a command, split like a shell would but run without one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the first line of the command's output. Its
 *   output never appears in an error message.
 */
FerrySecret *
ferry_secrets_run_command (const char *command_line, GCancellable *cancellable, GError **error)
{
  g_auto (GStrv) argv = NULL;
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *data;
  gsize len, line;
  FerrySecret *secret;

  g_return_val_if_fail (command_line != NULL, NULL);

  if (!g_shell_parse_argv (command_line, NULL, &argv, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "Cannot split the command “%s”: %s",
                   command_line, local_error->message);
      return NULL;
    }
  child = g_subprocess_newv ((const char *const *) argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                             &local_error);
  if (child == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "Cannot run the command “%s”: %s",
                   argv[0], local_error->message);
      return NULL;
    }
  if (!g_subprocess_communicate (child, NULL, cancellable, &out, NULL, error))
    return NULL;

  data = g_bytes_get_data (out, &len);
  for (line = 0; line < len && data[line] != '\n' && data[line] != '\r'; line++)
    ;
  secret = line > 0 ? g_strndup (data, line) : NULL;
  if (len > 0)
    explicit_bzero ((char *) data, len);

  if (!g_subprocess_get_successful (child))
    {
      ferry_secret_free (secret);
      if (g_subprocess_get_if_exited (child))
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                     "The command “%s” failed with exit status %d; run it in a terminal to see why",
                     argv[0], g_subprocess_get_exit_status (child));
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                     "The command “%s” was killed by signal %d", argv[0],
                     g_subprocess_get_term_sig (child));
      return NULL;
    }
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
static gboolean
check_keyring_reachable (GError **error)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");

  if (address != NULL && *address != '\0')
    return TRUE;
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
               "No session bus, so no keyring: log in to a desktop session, or set "
               "password-command in the account");
  return FALSE;
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

static GHashTable *
password_attributes (const FerryAccount *account, FerryService service)
{
  return secret_attributes_build (
      &password_schema, "account", account->name, "service", ferry_service_to_string (service),
      "host", host_of (account, service), "user", user_of (account, service), NULL);
}

/* A lookup in a locked collection finds nothing, just as when there is no
 * item; only a search that includes locked items tells the two apart. */
static gboolean
is_stored_but_locked (GHashTable *attributes, GCancellable *cancellable)
{
  g_autolist (GObject) items = NULL;

  items = secret_password_searchv_sync (&password_schema, attributes, SECRET_SEARCH_ALL,
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
  char *found;
  FerrySecret *secret;

  g_return_val_if_fail (account != NULL, NULL);

  if (account->password_command != NULL)
    return ferry_secrets_run_command (account->password_command, cancellable, error);
  if (!check_keyring_reachable (error))
    return NULL;

  attributes = password_attributes (account, service);
  found = secret_password_lookupv_nonpageable_sync (&password_schema, attributes, cancellable,
                                                    &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      explain_keyring_error (error);
      return NULL;
    }
  if (found == NULL && is_stored_but_locked (attributes, cancellable))
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
  secret_password_free (found);
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
  gboolean ok;

  g_return_val_if_fail (account != NULL && password != NULL, FALSE);

  if (!check_keyring_reachable (error))
    return FALSE;
  label = g_strdup_printf ("Ferry: %s password for %s on %s (account %s)",
                           ferry_service_to_string (service), user_of (account, service),
                           host_of (account, service), account->name);
  attributes = password_attributes (account, service);
  ok = secret_password_storev_sync (&password_schema, attributes, SECRET_COLLECTION_DEFAULT, label,
                                    password, cancellable, error);
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
  g_autoptr (GError) local_error = NULL;
  gboolean any;

  g_return_val_if_fail (account != NULL, FALSE);

  if (!check_keyring_reachable (error))
    return FALSE;
  any = secret_password_clear_sync (&password_schema, cancellable, &local_error, "account",
                                    account->name, "service", ferry_service_to_string (service),
                                    NULL);
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
