/* imap-client.c: the IMAP session: commands in flight, greeting, STARTTLS,
 * login, capabilities
 *
 * Every command gets a tag and joins the queue of commands in flight; the
 * reader takes whatever the server sends next and hands it to the command
 * it belongs to: a tagged response by its tag, an untagged one to the
 * first command in flight that wants it (after the session state took
 * what it needs: capabilities, EXISTS, EXPUNGE, BYE). Several commands can
 * so be in flight at once (RFC 3501 section 5.5) and the server's
 * unsolicited responses, which may come at any time (section 7), never
 * break one.
 *
 * Passwords and tokens are written through buffers that are wiped after
 * use, and never logged: a command that carries one is logged as
 * "(not shown)".
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "imap/imap-client-private.h"
#include "imap/imap-flags.h"
#include "imap/imap-uidset.h"
#include "imap/imap-utf7.h"

/* Commands ------------------------------------------------------------------ */

FerryImapCommand *
ferry_imap_command_new (FerryImapClient *client,
                        const char *what,
                        FerryImapResponseFunc on_response,
                        FerryImapLiteralClaimFunc on_literal,
                        gpointer user_data)
{
  FerryImapCommand *command = g_new0 (FerryImapCommand, 1);

  command->tag = g_strdup_printf ("F%u", ++client->next_tag);
  command->what = g_strdup (what);
  command->on_response = on_response;
  command->on_literal = on_literal;
  command->user_data = user_data;
  return command;
}

void
ferry_imap_command_free (FerryImapCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->tag);
  g_free (command->what);
  g_clear_pointer (&command->response, ferry_imap_response_free);
  g_free (command);
}

/* A command whose answer nobody will wait for: it stays in flight, its
 * answer read and dropped when it comes, and is freed with the client. */
void
ferry_imap_client_abandon (FerryImapClient *client, FerryImapCommand *command)
{
  command->on_response = NULL;
  command->on_literal = NULL;
  command->user_data = NULL;
  client->abandoned = g_slist_prepend (client->abandoned, command);
}

/* Holds back every command sent from now on until @command is answered;
 * a body FETCH that takes only its own bodies is held back only by
 * commands that are not. */
void
ferry_imap_client_fence (FerryImapClient *self, FerryImapCommand *command)
{
  if (command->response != NULL || command->fence)
    return;
  command->fence = TRUE;
  self->n_fences++;
  if (command->own_bodies_only)
    self->n_body_fences++;
}

static guint
fences_before (FerryImapClient *self, FerryImapCommand *command)
{
  return command->own_bodies_only ? self->n_fences - self->n_body_fences : self->n_fences;
}

void
ferry_imap_set_first_error (GError **first, GError *error)
{
  if (*first == NULL)
    *first = error;
  else
    g_error_free (error);
}

/* Ends the session after a failure that leaves the connection out of step
 * with the server; takes @failure and passes it on to @error. */
static gboolean
client_break (FerryImapClient *self, GError *failure, GError **error)
{
  if (self->broken == NULL)
    {
      if (failure->domain == FERRY_ERROR)
        self->broken = g_error_copy (failure);
      else
        self->broken = g_error_new (FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "%s", failure->message);
    }
  g_queue_clear (&self->in_flight);
  self->n_fences = 0;
  self->n_body_fences = 0;
  self->continuation_for = NULL;
  g_propagate_error (error, failure);
  return FALSE;
}

gboolean
ferry_imap_client_check_usable (FerryImapClient *self, GError **error)
{
  if (self->broken == NULL)
    return TRUE;
  if (self->connection == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL,
                 "The session with %s was logged out; connect again", self->host);
  else
    g_set_error (error, FERRY_ERROR, self->broken->code,
                 "The connection to %s is closed after an earlier error: %s", self->host,
                 self->broken->message);
  return FALSE;
}

/* Session state from responses --------------------------------------------- */

static void
set_capabilities (FerryImapClient *self, const FerryImapValue *list)
{
  g_ptr_array_set_size (self->capabilities, 0);
  for (guint i = 0; i < ferry_imap_value_n_items (list); i++)
    {
      const char *name = ferry_imap_value_get_string (ferry_imap_value_get_item (list, i));

      if (name != NULL)
        g_ptr_array_add (self->capabilities, g_ascii_strup (name, -1));
    }
  g_ptr_array_add (self->capabilities, NULL);
  self->capabilities_fresh = TRUE;
}

static void
note_capabilities (FerryImapClient *self, const FerryImapResponse *response)
{
  if (response->status != FERRY_IMAP_STATUS_NONE)
    {
      if (ferry_imap_response_has_code (response, "CAPABILITY") && response->code->args != NULL)
        set_capabilities (self, response->code->args);
    }
  else if (g_strcmp0 (response->name, "CAPABILITY") == 0)
    set_capabilities (self, response->data);
}

/* EXISTS says how many messages there are now; each EXPUNGE, and each UID
 * of a VANISHED that is not EARLIER (RFC 7162 3.2.10), one less. */
static void
note_mailbox_size (FerryImapClient *self, const FerryImapResponse *response)
{
  if (response->has_number && g_str_equal (response->name, "EXISTS"))
    self->exists = response->number;
  else if (response->has_number && g_str_equal (response->name, "EXPUNGE"))
    self->exists -= self->exists > 0;
  else if (g_strcmp0 (response->name, "VANISHED") == 0
           && ferry_imap_value_n_items (response->data) == 1)
    {
      const char *set = ferry_imap_value_get_string (ferry_imap_value_get_item (response->data, 0));
      g_autoptr (GArray) ranges = set != NULL ? ferry_imap_uid_set_parse_ranges (set, NULL) : NULL;

      if (ranges != NULL)
        self->exists -= (guint32) MIN (ferry_imap_uid_ranges_count (ranges), self->exists);
    }
}

static void
log_response (FerryImapClient *self, const FerryImapResponse *response)
{
  const char *code = response->code != NULL ? response->code->name : NULL;

  switch (response->kind)
    {
      case FERRY_IMAP_RESPONSE_CONTINUATION:
        g_debug ("IMAP %s S: + %s", self->host, response->text);
        break;
      case FERRY_IMAP_RESPONSE_TAGGED:
        g_debug ("IMAP %s S: %s %s%s%s%s %s", self->host, response->tag, response->name,
                 code != NULL ? " [" : "", code != NULL ? code : "", code != NULL ? "]" : "",
                 response->text);
        break;
      case FERRY_IMAP_RESPONSE_UNTAGGED:
      default:
        if (response->status != FERRY_IMAP_STATUS_NONE)
          g_debug ("IMAP %s S: * %s%s%s%s %s", self->host, response->name, code != NULL ? " [" : "",
                   code != NULL ? code : "", code != NULL ? "]" : "", response->text);
        else if (response->has_number)
          g_debug ("IMAP %s S: * %u %s", self->host, response->number, response->name);
        else
          g_debug ("IMAP %s S: * %s", self->host, response->name);
        break;
    }
}

/* Reading ------------------------------------------------------------------------ */

static void
claim_literal (FerryImapParser *parser, gpointer user_data)
{
  FerryImapClient *self = user_data;

  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    {
      FerryImapCommand *command = l->data;

      if (command->on_literal != NULL && command->on_literal (self, parser, command->user_data))
        return;
    }
}

/* Pipelined commands of one request share their handler: a response
 * they all pass on (an EXPUNGE) must reach that handler only once. */
static gboolean
has_same_handler_before (FerryImapClient *self, GList *link)
{
  FerryImapCommand *command = link->data;

  for (GList *l = self->in_flight.head; l != link; l = l->next)
    {
      FerryImapCommand *earlier = l->data;

      if (earlier->on_response == command->on_response && earlier->user_data == command->user_data)
        return TRUE;
    }
  return FALSE;
}

static gboolean
dispatch_untagged (FerryImapClient *self, const FerryImapResponse *response, GError **error)
{
  if (response->status == FERRY_IMAP_STATUS_BYE)
    {
      if (self->logging_out)
        return TRUE;
      return client_break (self,
                           g_error_new (FERRY_ERROR, FERRY_ERROR_TEMP_FAIL,
                                        "%s: server closed the connection: %s", self->host,
                                        response->text),
                           error);
    }
  note_capabilities (self, response);
  note_mailbox_size (self, response);
  /* RFC 3501 7.1: the text of an ALERT must reach the user. */
  if (ferry_imap_response_has_code (response, "ALERT"))
    g_message ("IMAP server %s says: %s", self->host, response->text);

  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    {
      FerryImapCommand *command = l->data;

      if (command->on_response == NULL || has_same_handler_before (self, l))
        continue;
      if (command->on_response (self, response, command->user_data))
        break;
    }
  return TRUE;
}

/* No caller waits for an ENABLE: a refusal only means that nothing was
 * enabled (RFC 5161 3.1), which ferry_imap_client_is_enabled() tells. */
static void
finish_enable (FerryImapClient *self)
{
  FerryImapCommand *command = g_steal_pointer (&self->enabling);

  if (command->response->status != FERRY_IMAP_STATUS_OK)
    g_debug ("%s did not enable what was asked: %s", self->host, command->response->text);
  ferry_imap_command_free (command);
}

/* Compression starts right after the CRLF of the OK (RFC 4978 3); a
 * refusal only means that the session goes on as it was. */
static gboolean
finish_compress (FerryImapClient *self, GError **error)
{
  g_autoptr (FerryImapCommand) command = g_steal_pointer (&self->compressing);
  GError *local_error = NULL;

  if (command->response->status != FERRY_IMAP_STATUS_OK)
    {
      g_debug ("%s did not start compression: %s", self->host, command->response->text);
      return TRUE;
    }
  if (!ferry_imap_connection_start_compression (self->connection, &local_error))
    return client_break (self, local_error, error);
  return TRUE;
}

static gboolean
dispatch_tagged (FerryImapClient *self, FerryImapResponse *response, GError **error)
{
  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    {
      FerryImapCommand *command = l->data;

      if (!g_str_equal (command->tag, response->tag))
        continue;
      g_queue_delete_link (&self->in_flight, l);
      if (command->fence)
        self->n_fences--;
      if (command->fence && command->own_bodies_only)
        self->n_body_fences--;
      if (self->continuation_for == command)
        self->continuation_for = NULL;
      command->response = response;
      note_capabilities (self, response);
      if (command->on_response != NULL)
        command->on_response (self, response, command->user_data);
      if (command == self->enabling)
        finish_enable (self);
      if (command == self->compressing)
        return finish_compress (self, error);
      return TRUE;
    }
  client_break (self,
                g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                             "%s answered a command Ferry did not send (tag “%s”)", self->host,
                             response->tag),
                error);
  ferry_imap_response_free (response);
  return FALSE;
}

static gboolean
write_text (FerryImapClient *self,
            const char *text,
            gsize length,
            GCancellable *cancellable,
            GError **error)
{
  GError *local_error = NULL;

  if (!ferry_imap_connection_write (self->connection, text, length, cancellable, &local_error))
    return client_break (self, local_error, error);
  return TRUE;
}

static gboolean
dispatch_continuation (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  FerryImapCommand *command = self->continuation_for;
  g_autofree char *reply = NULL;

  if (command != NULL && command->awaiting_continuation)
    {
      command->got_continuation = TRUE;
      return TRUE;
    }
  if (command != NULL && command->continuation_reply == NULL)
    return client_break (self,
                         g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                      "%s asked for more (“+”) again during %s, after Ferry had "
                                      "given its last answer; giving up",
                                      self->host, command->what),
                         error);
  if (command == NULL)
    return client_break (self,
                         g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                      "%s sent a continuation request (“+”) no command asked for",
                                      self->host),
                         error);
  /* A SASL exchange the server wants to go on with, as a failed XOAUTH2
   * does: the reply ends it, and the tagged NO follows (RFC 3501 6.2.2).
   * It is given once: a server asking again would be answered forever. */
  reply = g_strconcat (command->continuation_reply, "\r\n", NULL);
  command->continuation_reply = NULL;
  return write_text (self, reply, strlen (reply), cancellable, error);
}

static gboolean
read_one (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  GError *local_error = NULL;
  FerryImapResponse *response = NULL;
  gboolean ok;

  response = ferry_imap_connection_read (self->connection, claim_literal, self, cancellable,
                                         &local_error);
  if (response == NULL)
    return client_break (self, local_error, error);
  log_response (self, response);

  switch (response->kind)
    {
      case FERRY_IMAP_RESPONSE_TAGGED:
        return dispatch_tagged (self, response, error);
      case FERRY_IMAP_RESPONSE_CONTINUATION:
        ok = dispatch_continuation (self, cancellable, error);
        break;
      case FERRY_IMAP_RESPONSE_UNTAGGED:
      default:
        ok = dispatch_untagged (self, response, error);
        break;
    }
  ferry_imap_response_free (response);
  return ok;
}

gboolean
ferry_imap_client_wait (FerryImapClient *self,
                        FerryImapCommand *command,
                        GCancellable *cancellable,
                        GError **error)
{
  while (command->response == NULL)
    if (!read_one (self, cancellable, error))
      return FALSE;
  return TRUE;
}

/**
 * ferry_imap_client_wait_enabled:
 *
 * Waits for the answer to an ENABLE in flight, if there is one. A command
 * whose form depends on what was enabled (VANISHED or not, RFC 7162
 * 3.2.6) must wait for it: ferry_imap_client_is_enabled() knows only what
 * was answered. After a pipelined login the answer comes with the
 * login's, so this costs no round trip there.
 */
gboolean
ferry_imap_client_wait_enabled (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  /* Not ferry_imap_client_wait(): the ENABLE is freed once answered. */
  while (self->enabling != NULL)
    if (!read_one (self, cancellable, error))
      return FALSE;
  return TRUE;
}

/**
 * ferry_imap_client_wait_continuation:
 *
 * Waits until the server asks for the rest of @command with "+", or
 * answers it instead (then command->response is set).
 */
gboolean
ferry_imap_client_wait_continuation (FerryImapClient *self,
                                     FerryImapCommand *command,
                                     GCancellable *cancellable,
                                     GError **error)
{
  command->awaiting_continuation = TRUE;
  command->got_continuation = FALSE;
  self->continuation_for = command;
  while (!command->got_continuation && command->response == NULL)
    if (!read_one (self, cancellable, error))
      return FALSE;
  command->awaiting_continuation = FALSE;
  return TRUE;
}

/* Writing ------------------------------------------------------------------------- */

static void
wipe_string (GString *text)
{
  explicit_bzero (text->str, text->allocated_len);
  g_string_truncate (text, 0);
}

/* Sends @line and empties it, wiped when it held a secret. */
static gboolean
send_line (FerryImapClient *self,
           FerryImapCommand *command,
           GString *line,
           gboolean sensitive,
           GCancellable *cancellable,
           GError **error)
{
  gboolean ok;

  if (sensitive)
    g_debug ("IMAP %s C: %s %s (not shown)", self->host, command->tag, command->what);
  else
    g_debug ("IMAP %s C: %.*s", self->host, (int) (line->len - 2), line->str);
  ok = write_text (self, line->str, line->len, cancellable, error);
  if (sensitive)
    wipe_string (line);
  else
    g_string_truncate (line, 0);
  return ok;
}

gboolean
ferry_imap_client_write_secret_line (FerryImapClient *self,
                                     const char *secret,
                                     GCancellable *cancellable,
                                     GError **error)
{
  gsize length = strlen (secret);
  g_autofree char *line = g_malloc (length + 2);
  gboolean ok;

  memcpy (line, secret, length);
  memcpy (line + length, "\r\n", 2);
  g_debug ("IMAP %s C: (a secret, not shown)", self->host);
  ok = write_text (self, line, length + 2, cancellable, error);
  explicit_bzero (line, length + 2);
  return ok;
}

static gboolean
send_literal (FerryImapClient *self,
              const FerryImapPart *part,
              GCancellable *cancellable,
              GError **error)
{
  GError *local_error = NULL;

  if (part->type == FERRY_IMAP_PART_LITERAL)
    return write_text (self, part->data, part->length, cancellable, error);
  if (!ferry_imap_connection_write_from_fd (self->connection, part->fd, part->length, cancellable,
                                            &local_error))
    return client_break (self, local_error, error);
  return TRUE;
}

/* RFC 7888: with LITERAL+ any literal may be non-synchronizing ("{n+}",
 * sent without waiting for the server's "+"); with LITERAL- only those of
 * up to 4096 octets. */
static gboolean
is_non_synchronizing (FerryImapClient *self, gsize length)
{
  return ferry_imap_client_has_capability (self, "LITERAL+")
         || (length <= 4096 && ferry_imap_client_has_capability (self, "LITERAL-"));
}

/**
 * ferry_imap_client_send_parts:
 * @sensitive: the text parts hold a secret: the line is wiped after use,
 *   and preallocated so that no copy of it is left behind by a realloc
 *
 * Starts @command: its line of @parts, literals non-synchronizing where
 * the server allows (RFC 7888), else each after the server's "+". When the
 * server answers instead of "+" (a NO to an APPEND that is too large),
 * the rest is not sent and command->response is set.
 */
gboolean
ferry_imap_client_send_parts (FerryImapClient *self,
                              FerryImapCommand *command,
                              const FerryImapPart *parts,
                              gsize n_parts,
                              gboolean sensitive,
                              GCancellable *cancellable,
                              GError **error)
{
  gsize estimate = strlen (command->tag) + 64;
  g_autoptr (GString) line = NULL;
  gboolean ok = TRUE;

  while (fences_before (self, command) > 0)
    if (!read_one (self, cancellable, error))
      return FALSE;
  for (gsize i = 0; i < n_parts; i++)
    if (parts[i].type == FERRY_IMAP_PART_TEXT)
      estimate += parts[i].length;
  line = g_string_sized_new (estimate);

  g_queue_push_tail (&self->in_flight, command);
  g_string_append_printf (line, "%s ", command->tag);
  for (gsize i = 0; ok && command->response == NULL && i < n_parts; i++)
    {
      gboolean non_synchronizing;

      if (parts[i].type == FERRY_IMAP_PART_TEXT)
        {
          g_string_append_len (line, parts[i].data, (gssize) parts[i].length);
          continue;
        }
      non_synchronizing = is_non_synchronizing (self, parts[i].length);
      g_string_append_printf (line, "{%" G_GSIZE_FORMAT "%s}\r\n", parts[i].length,
                              non_synchronizing ? "+" : "");
      ok = send_line (self, command, line, sensitive, cancellable, error)
           && (non_synchronizing
               || ferry_imap_client_wait_continuation (self, command, cancellable, error))
           && (command->response != NULL || send_literal (self, &parts[i], cancellable, error));
    }
  if (ok && command->response == NULL)
    {
      g_string_append (line, "\r\n");
      ok = send_line (self, command, line, sensitive, cancellable, error);
    }
  if (sensitive)
    wipe_string (line);
  if (ok && command->response == NULL)
    self->continuation_for = command->continuation_reply != NULL ? command : NULL;
  return ok;
}

gboolean
ferry_imap_client_send (FerryImapClient *self,
                        FerryImapCommand *command,
                        const char *text,
                        GCancellable *cancellable,
                        GError **error)
{
  FerryImapPart part = { FERRY_IMAP_PART_TEXT, text, strlen (text), -1 };

  return ferry_imap_client_send_parts (self, command, &part, 1, FALSE, cancellable, error);
}

/* Results ------------------------------------------------------------------------- */

/* RFC 5530 response codes, for what a caller can do about a refusal. */
static FerryError
error_code_for (const FerryImapResponse *response)
{
  static const struct
  {
    const char *code;
    FerryError error;
  } codes[] = {
    { "AUTHENTICATIONFAILED", FERRY_ERROR_NO_PERM },
    { "AUTHORIZATIONFAILED", FERRY_ERROR_NO_PERM },
    { "EXPIRED", FERRY_ERROR_NO_PERM },
    { "PRIVACYREQUIRED", FERRY_ERROR_NO_PERM },
    { "CONTACTADMIN", FERRY_ERROR_NO_PERM },
    { "NOPERM", FERRY_ERROR_NO_PERM },
    { "UNAVAILABLE", FERRY_ERROR_TEMP_FAIL },
    { "INUSE", FERRY_ERROR_TEMP_FAIL },
    { "LIMIT", FERRY_ERROR_TEMP_FAIL },
    { "OVERQUOTA", FERRY_ERROR_TEMP_FAIL },
    { "SERVERBUG", FERRY_ERROR_TEMP_FAIL },
    { "EXPUNGEISSUED", FERRY_ERROR_TEMP_FAIL },
    { "NONEXISTENT", FERRY_ERROR_NOT_FOUND },
    { "TRYCREATE", FERRY_ERROR_NOT_FOUND },
  };

  for (guint i = 0; response->code != NULL && i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (response->code->name, codes[i].code))
      return codes[i].error;
  return FERRY_ERROR_PROTOCOL;
}

/**
 * ferry_imap_client_check:
 *
 * Returns: whether the server said OK to @command; else sets @error from
 *   its NO or BAD, with the server's text
 */
gboolean
ferry_imap_client_check (FerryImapClient *self, FerryImapCommand *command, GError **error)
{
  const FerryImapResponse *response = command->response;
  const char *text = *response->text != '\0' ? response->text : "no reason given";

  switch (response->status)
    {
      case FERRY_IMAP_STATUS_OK:
        return TRUE;
      case FERRY_IMAP_STATUS_NO:
        g_set_error (error, FERRY_ERROR, error_code_for (response), "%s refused %s: %s", self->host,
                     command->what, text);
        return FALSE;
      case FERRY_IMAP_STATUS_BAD:
      default:
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL, "%s rejected %s as invalid: %s",
                     self->host, command->what, text);
        return FALSE;
    }
}

/* Waits for the oldest command in @started and checks it; a refusal is
 * kept in @refused (the first one) and the others still run. A success
 * before any refusal adds to @n_succeeded. */
static gboolean
finish_oldest (FerryImapClient *self,
               GQueue *started,
               GError **refused,
               guint *n_succeeded,
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (FerryImapCommand) command = g_queue_pop_head (started);
  GError *local_error = NULL;

  if (!ferry_imap_client_wait (self, command, cancellable, error))
    return FALSE;
  if (!ferry_imap_client_check (self, command, &local_error))
    ferry_imap_set_first_error (refused, local_error);
  else if (*refused == NULL)
    ++*n_succeeded;
  return TRUE;
}

/**
 * ferry_imap_client_pipeline:
 * @n_commands: how many commands to run
 * @depth: how many may be in flight at once (RFC 3501 5.5)
 * @start: makes and sends each command, in order
 * @n_succeeded: (out) (optional): how many of the commands, from the
 *   first, succeeded
 *
 * Runs @n_commands commands without waiting for one before sending the
 * next, up to @depth of them. After a refusal no more are started; those
 * in flight are waited for, and the first refusal is the error.
 */
gboolean
ferry_imap_client_pipeline (FerryImapClient *self,
                            guint n_commands,
                            guint depth,
                            FerryImapStartFunc start,
                            gpointer user_data,
                            guint *n_succeeded,
                            GCancellable *cancellable,
                            GError **error)
{
  GQueue started = G_QUEUE_INIT;
  GError *refused = NULL;
  guint succeeded = 0;
  gboolean ok = ferry_imap_client_check_usable (self, error);

  for (guint i = 0; ok && refused == NULL && i < n_commands; i++)
    {
      FerryImapCommand *command = NULL;

      if (started.length >= depth)
        ok = finish_oldest (self, &started, &refused, &succeeded, cancellable, error);
      if (!ok || refused != NULL)
        break;
      ok = start (self, i, user_data, &command, cancellable, error);
      g_queue_push_tail (&started, command);
    }
  while (ok && started.length > 0)
    ok = finish_oldest (self, &started, &refused, &succeeded, cancellable, error);

  g_queue_clear_full (&started, (GDestroyNotify) ferry_imap_command_free);
  if (n_succeeded != NULL)
    *n_succeeded = succeeded;
  if (!ok)
    {
      g_clear_error (&refused);
      return FALSE;
    }
  if (refused != NULL)
    {
      g_propagate_error (error, refused);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const char *what;
  GPtrArray *lines;
  FerryImapResponseFunc on_response;
  FerryImapLiteralClaimFunc on_literal;
  gpointer user_data;
} LineCommands;

static gboolean
start_line (FerryImapClient *self,
            guint index,
            gpointer data,
            FerryImapCommand **command,
            GCancellable *cancellable,
            GError **error)
{
  LineCommands *commands = data;

  *command = ferry_imap_command_new (self, commands->what, commands->on_response,
                                     commands->on_literal, commands->user_data);
  return ferry_imap_client_send (self, *command, g_ptr_array_index (commands->lines, index),
                                 cancellable, error);
}

/**
 * ferry_imap_client_run_all:
 * @what: the commands, for messages: "UID FETCH"
 * @lines: the commands' text, without tags
 *
 * Runs @lines as ferry_imap_client_pipeline() does,
 * FERRY_IMAP_PIPELINE_DEPTH at a time, with the same handlers.
 */
gboolean
ferry_imap_client_run_all (FerryImapClient *self,
                           const char *what,
                           GPtrArray *lines,
                           FerryImapResponseFunc on_response,
                           FerryImapLiteralClaimFunc on_literal,
                           gpointer user_data,
                           GCancellable *cancellable,
                           GError **error)
{
  LineCommands commands = { what, lines, on_response, on_literal, user_data };

  return ferry_imap_client_pipeline (self, lines->len, FERRY_IMAP_PIPELINE_DEPTH, start_line,
                                     &commands, NULL, cancellable, error);
}

gboolean
ferry_imap_client_run (FerryImapClient *self,
                       const char *what,
                       const char *line,
                       FerryImapResponseFunc on_response,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new ();

  g_ptr_array_add (lines, (gpointer) line);
  return ferry_imap_client_run_all (self, what, lines, on_response, NULL, user_data, cancellable,
                                    error);
}

/* Strings ------------------------------------------------------------------------- */

/**
 * ferry_imap_quote:
 * @text: 7-bit text without CR or LF
 *
 * Returns: (transfer full): @text as a quoted string (RFC 3501 section 9)
 */
char *
ferry_imap_quote (const char *text)
{
  /* Sized for the worst case, so that no reallocation leaves a copy of
   * a quoted password behind. */
  GString *quoted = g_string_sized_new (2 * strlen (text) + 2);

  g_string_append_c (quoted, '"');
  for (const char *c = text; *c != '\0'; c++)
    {
      if (*c == '"' || *c == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *c);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

/**
 * ferry_imap_quote_mailbox:
 * @mailbox: a mailbox name in UTF-8
 *
 * Returns: (transfer full) (nullable): @mailbox in modified UTF-7, quoted
 */
char *
ferry_imap_quote_mailbox (const char *mailbox, GError **error)
{
  g_autofree char *encoded = ferry_imap_utf7_encode (mailbox, error);

  return encoded != NULL ? ferry_imap_quote (encoded) : NULL;
}

char *
ferry_imap_describe_mailbox (const char *verb, const char *mailbox)
{
  return g_strdup_printf ("%s “%s”", verb, mailbox);
}

/* Session --------------------------------------------------------------------------- */

static FerryImapClient *
client_new (FerryImapConnection *connection, const char *user)
{
  FerryImapClient *self = g_new0 (FerryImapClient, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->connection = connection;
  self->host = g_strdup (ferry_imap_connection_get_host (connection));
  self->user = g_strdup (user);
  g_queue_init (&self->in_flight);
  self->capabilities = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->capabilities, NULL);
  self->enabled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->body_owners = g_hash_table_new (NULL, NULL);
  return self;
}

static gboolean
read_greeting (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (FerryImapResponse) greeting = NULL;
  GError *local_error = NULL;

  greeting = ferry_imap_connection_read (self->connection, NULL, NULL, cancellable, &local_error);
  if (greeting == NULL)
    return client_break (self, local_error, error);
  log_response (self, greeting);
  if (greeting->kind != FERRY_IMAP_RESPONSE_UNTAGGED
      || (greeting->status != FERRY_IMAP_STATUS_OK && greeting->status != FERRY_IMAP_STATUS_PREAUTH
          && greeting->status != FERRY_IMAP_STATUS_BYE))
    return client_break (self,
                         g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                      "%s did not greet Ferry as an IMAP server does (is "
                                      "imap-port right?)",
                                      self->host),
                         error);
  self->authenticated = greeting->status == FERRY_IMAP_STATUS_PREAUTH;
  return dispatch_untagged (self, greeting, error);
}

/**
 * ferry_imap_client_capability:
 *
 * Asks the server for its capabilities again (CAPABILITY).
 */
gboolean
ferry_imap_client_capability (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return ferry_imap_client_run (self, "CAPABILITY", "CAPABILITY", NULL, NULL, cancellable, error);
}

static gboolean
ensure_capabilities (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  return self->capabilities_fresh || ferry_imap_client_capability (self, cancellable, error);
}

/* RFC 3501 6.2.1. Never falls back to a session in the clear. */
static gboolean
start_tls (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  GError *local_error = NULL;

  if (self->authenticated)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "%s logged Ferry in before STARTTLS (PREAUTH), so the session cannot be "
                   "encrypted; imap-security = starttls does not allow that",
                   self->host);
      return FALSE;
    }
  if (!ensure_capabilities (self, cancellable, error))
    return FALSE;
  if (!ferry_imap_client_has_capability (self, "STARTTLS"))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "%s does not offer STARTTLS, which imap-security = starttls requires; no "
                   "password was sent",
                   self->host);
      return FALSE;
    }
  if (!ferry_imap_client_run (self, "STARTTLS", "STARTTLS", NULL, NULL, cancellable, &local_error))
    {
      if (!ferry_imap_client_is_usable (self))
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "%s; imap-security = starttls requires it, and no password was sent",
                   local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  if (!ferry_imap_connection_start_tls (self->connection, cancellable, &local_error))
    return client_break (self, local_error, error);

  /* What the server said before TLS may have been forged. */
  g_ptr_array_set_size (self->capabilities, 0);
  g_ptr_array_add (self->capabilities, NULL);
  self->capabilities_fresh = FALSE;
  return TRUE;
}

/**
 * ferry_imap_client_connect:
 * @settings: where and how to connect
 * @cancellable: (nullable): to give up
 * @error: see the top of imap-client.h
 *
 * Connects, reads the greeting, does STARTTLS when @settings ask for it
 * (an error when the server does not offer or refuses it) and learns the
 * server's capabilities. Then log in with ferry_imap_client_login().
 *
 * Returns: (transfer full) (nullable): the client
 */
FerryImapClient *
ferry_imap_client_connect (const FerryImapSettings *settings,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (FerryImapClient) self = NULL;
  FerryImapConnection *connection;

  g_return_val_if_fail (settings != NULL, NULL);

  connection = ferry_imap_connection_open (settings, cancellable, error);
  if (connection == NULL)
    return NULL;
  self = client_new (connection, settings->user);
  if (!read_greeting (self, cancellable, error))
    return NULL;
  if (settings->security == FERRY_SECURITY_STARTTLS && !start_tls (self, cancellable, error))
    return NULL;
  if (!ensure_capabilities (self, cancellable, error))
    return NULL;
  return g_steal_pointer (&self);
}

FerryImapClient *
ferry_imap_client_ref (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * ferry_imap_client_unref:
 *
 * The last reference closes the connection without LOGOUT; call
 * ferry_imap_client_logout() first to end the session politely.
 */
void
ferry_imap_client_unref (FerryImapClient *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  ferry_imap_connection_free (self->connection);
  g_queue_clear (&self->in_flight);
  ferry_imap_command_free (self->enabling);
  ferry_imap_command_free (self->compressing);
  ferry_imap_command_free (self->logging_in);
  g_slist_free_full (self->abandoned, (GDestroyNotify) ferry_imap_command_free);
  g_strfreev (self->expected_capabilities);
  g_ptr_array_unref (self->capabilities);
  g_hash_table_unref (self->enabled);
  g_hash_table_unref (self->body_owners);
  g_clear_error (&self->broken);
  g_free (self->selected);
  g_free (self->host);
  g_free (self->user);
  g_free (self);
}

/**
 * ferry_imap_client_is_usable:
 *
 * Returns: %FALSE once the connection failed, was cancelled in the middle
 *   of a command, or was logged out: connect again
 */
gboolean
ferry_imap_client_is_usable (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->broken == NULL;
}

gboolean
ferry_imap_client_is_authenticated (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->authenticated;
}

/**
 * ferry_imap_client_has_capability:
 * @capability: such as "UIDPLUS" or "AUTH=PLAIN", in any case
 *
 * Returns: whether the server offers it (its latest CAPABILITY)
 */
gboolean
ferry_imap_client_has_capability (FerryImapClient *self, const char *capability)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (capability != NULL, FALSE);

  for (guint i = 0; i + 1 < self->capabilities->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (self->capabilities, i), capability) == 0)
      return TRUE;
  return FALSE;
}

/**
 * ferry_imap_client_get_capabilities:
 *
 * Returns: (transfer none): the server's capabilities, upper case
 */
const char *const *
ferry_imap_client_get_capabilities (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char *const *) self->capabilities->pdata;
}

/**
 * ferry_imap_client_is_enabled:
 * @extension: such as "QRESYNC"
 *
 * Returns: whether ferry_imap_client_enable() enabled it (QRESYNC also
 *   enables CONDSTORE, RFC 7162 3.2.3)
 */
gboolean
ferry_imap_client_is_enabled (FerryImapClient *self, const char *extension)
{
  g_autofree char *upper = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (extension != NULL, FALSE);

  upper = g_ascii_strup (extension, -1);
  return g_hash_table_contains (self->enabled, upper);
}

/**
 * ferry_imap_client_get_selected:
 *
 * Returns: (nullable): the UTF-8 name of the selected mailbox
 */
const char *
ferry_imap_client_get_selected (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->selected;
}

/**
 * ferry_imap_client_get_exists:
 *
 * Returns: the number of messages in the selected mailbox, as the server
 *   last said (EXISTS, less the EXPUNGEs since)
 */
guint32
ferry_imap_client_get_exists (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->exists;
}

/* Login ------------------------------------------------------------------------------ */

static gboolean
check_login (FerryImapClient *self,
             FerryImapCommand *command,
             GCancellable *cancellable,
             GError **error)
{
  const FerryImapResponse *response = command->response;
  const char *text = *response->text != '\0' ? response->text : "no reason given";

  switch (response->status)
    {
      case FERRY_IMAP_STATUS_OK:
        self->authenticated = TRUE;
        return ensure_capabilities (self, cancellable, error);
      case FERRY_IMAP_STATUS_NO:
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM, "%s refused the login of %s: %s",
                     self->host, self->user, text);
        return FALSE;
      case FERRY_IMAP_STATUS_BAD:
      default:
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                     "%s rejected the login command for %s as invalid: %s", self->host, self->user,
                     text);
        return FALSE;
    }
}

/* AUTHENTICATE (RFC 3501 6.2.2) with one client response, in the command
 * with SASL-IR (RFC 4959), else after the server's "+". Returns the
 * command, its answer not read yet with SASL-IR. */
static FerryImapCommand *
send_authenticate (FerryImapClient *self,
                   const char *mechanism,
                   const char *response_data,
                   gsize response_length,
                   const char *cancel_reply,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autofree char *what = g_strdup_printf ("AUTHENTICATE %s for %s", mechanism, self->user);
  g_autoptr (FerryImapCommand) command = NULL;
  g_autofree char *encoded = NULL;
  g_autofree char *start = g_strdup_printf ("AUTHENTICATE %s", mechanism);
  gboolean ok;

  encoded = g_base64_encode ((const guchar *) response_data, response_length);
  command = ferry_imap_command_new (self, what, NULL, NULL, NULL);
  command->continuation_reply = cancel_reply;
  if (ferry_imap_client_has_capability (self, "SASL-IR"))
    {
      FerryImapPart parts[] = {
        { FERRY_IMAP_PART_TEXT, start, strlen (start), -1 },
        { FERRY_IMAP_PART_TEXT, " ", 1, -1 },
        { FERRY_IMAP_PART_TEXT, encoded, strlen (encoded), -1 },
      };

      ok = ferry_imap_client_send_parts (self, command, parts, G_N_ELEMENTS (parts), TRUE,
                                         cancellable, error);
    }
  else
    {
      FerryImapPart part = { FERRY_IMAP_PART_TEXT, start, strlen (start), -1 };

      ok = ferry_imap_client_send_parts (self, command, &part, 1, FALSE, cancellable, error)
           && ferry_imap_client_wait_continuation (self, command, cancellable, error)
           && (command->response != NULL
               || ferry_imap_client_write_secret_line (self, encoded, cancellable, error));
      if (ok && command->response == NULL)
        self->continuation_for = command;
    }
  explicit_bzero (encoded, strlen (encoded));
  return ok ? g_steal_pointer (&command) : NULL;
}

static gboolean
authenticate (FerryImapClient *self,
              const char *mechanism,
              const char *response_data,
              gsize response_length,
              const char *cancel_reply,
              GCancellable *cancellable,
              GError **error)
{
  g_autoptr (FerryImapCommand) command = send_authenticate (
      self, mechanism, response_data, response_length, cancel_reply, cancellable, error);

  return command != NULL && ferry_imap_client_wait (self, command, cancellable, error)
         && check_login (self, command, cancellable, error);
}

/* RFC 4616: authorization identity (empty), NUL, user, NUL, password. */
static char *
plain_response (FerryImapClient *self, const char *password, gsize *length)
{
  gsize user_length = strlen (self->user);
  gsize password_length = strlen (password);
  char *plain;

  *length = 2 + user_length + password_length;
  plain = g_malloc (*length);
  plain[0] = '\0';
  memcpy (plain + 1, self->user, user_length);
  plain[1 + user_length] = '\0';
  memcpy (plain + 2 + user_length, password, password_length);
  return plain;
}

static void
wipe_and_free_sized (char *secret, gsize length)
{
  explicit_bzero (secret, length);
  g_free (secret);
}

static gboolean
is_quotable (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if ((guchar) *c >= 0x80 || *c == '\r' || *c == '\n')
      return FALSE;
  return TRUE;
}

static FerryImapPart
astring_part (const char *text, char **quoted)
{
  if (!is_quotable (text))
    return (FerryImapPart){ FERRY_IMAP_PART_LITERAL, text, strlen (text), -1 };
  *quoted = ferry_imap_quote (text);
  return (FerryImapPart){ FERRY_IMAP_PART_TEXT, *quoted, strlen (*quoted), -1 };
}

static void
wipe_and_free (char *text)
{
  if (text != NULL)
    wipe_and_free_sized (text, strlen (text));
}

/* LOGIN (RFC 3501 6.2.3), for servers without AUTH=PLAIN. */
static gboolean
login_command (FerryImapClient *self,
               const char *password,
               GCancellable *cancellable,
               GError **error)
{
  g_autofree char *what = g_strdup_printf ("LOGIN for %s", self->user);
  g_autoptr (FerryImapCommand) command = ferry_imap_command_new (self, what, NULL, NULL, NULL);
  g_autofree char *quoted_user = NULL;
  char *quoted_password = NULL;
  FerryImapPart parts[4];
  gboolean ok;

  parts[0] = (FerryImapPart){ FERRY_IMAP_PART_TEXT, "LOGIN ", 6, -1 };
  parts[1] = astring_part (self->user, &quoted_user);
  parts[2] = (FerryImapPart){ FERRY_IMAP_PART_TEXT, " ", 1, -1 };
  parts[3] = astring_part (password, &quoted_password);
  ok = ferry_imap_client_send_parts (self, command, parts, G_N_ELEMENTS (parts), TRUE, cancellable,
                                     error);
  wipe_and_free (quoted_password);
  return ok && ferry_imap_client_wait (self, command, cancellable, error)
         && check_login (self, command, cancellable, error);
}

static gboolean
check_can_log_in (FerryImapClient *self, GError **error)
{
  if (!ferry_imap_client_check_usable (self, error))
    return FALSE;
  if (self->user == NULL || *self->user == '\0')
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "No user name to log in to %s with: set imap-user", self->host);
      return FALSE;
    }
  self->capabilities_fresh = FALSE;
  return TRUE;
}

static void
expect_capabilities (FerryImapClient *self, const char *const *expected)
{
  self->expected_capabilities = g_strdupv ((char **) expected);
  g_ptr_array_set_size (self->capabilities, 0);
  for (guint i = 0; expected[i] != NULL; i++)
    g_ptr_array_add (self->capabilities, g_ascii_strup (expected[i], -1));
  g_ptr_array_add (self->capabilities, NULL);
}

static gboolean
has_capabilities_expected (FerryImapClient *self, const char *const *expected)
{
  if (g_strv_length ((char **) expected) + 1 != self->capabilities->len)
    return FALSE;
  for (guint i = 0; expected[i] != NULL; i++)
    if (!ferry_imap_client_has_capability (self, expected[i]))
      return FALSE;
  return TRUE;
}

static gboolean
wait_for_all (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  while (!g_queue_is_empty (&self->in_flight))
    if (!read_one (self, cancellable, error))
      return FALSE;
  return TRUE;
}

/**
 * ferry_imap_client_login_begin:
 * @password: the password; never logged, and the copies made of it are
 *   wiped after use
 * @expected_capabilities: (nullable): the capabilities the server had
 *   once logged in, the last time
 * @error: FERRY_ERROR_NO_PERM with the server's text when it refuses;
 *   FERRY_ERROR_CONFIG when it offers no way to log in (LOGINDISABLED
 *   without AUTH=PLAIN, as on a connection without TLS)
 *
 * Logs in with AUTHENTICATE PLAIN when the server offers it, else LOGIN.
 * Does nothing after a PREAUTH greeting.
 *
 * With @expected_capabilities and a server that takes the response in
 * the command (SASL-IR, RFC 4959), it returns without waiting for the
 * answer: the command is then complete in one line and the tagged answer
 * is its only one, so commands may follow in the same round trip (RFC
 * 3501 5.5). Until ferry_imap_client_login_finish() they are built for
 * @expected_capabilities. Without, the login is over when this returns.
 */
gboolean
ferry_imap_client_login_begin (FerryImapClient *self,
                               const char *password,
                               const char *const *expected_capabilities,
                               GCancellable *cancellable,
                               GError **error)
{
  gsize length;
  char *plain;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (self->logging_in == NULL, FALSE);

  if (self->authenticated)
    return TRUE;
  if (!check_can_log_in (self, error))
    return FALSE;
  if (!ferry_imap_client_has_capability (self, "AUTH=PLAIN"))
    {
      if (!ferry_imap_client_has_capability (self, "LOGINDISABLED"))
        return login_command (self, password, cancellable, error);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "%s does not allow logging in on this connection (LOGINDISABLED, and no "
                   "AUTH=PLAIN); use imap-security = tls or starttls",
                   self->host);
      return FALSE;
    }

  plain = plain_response (self, password, &length);
  if (expected_capabilities != NULL && ferry_imap_client_has_capability (self, "SASL-IR"))
    {
      self->logging_in = send_authenticate (self, "PLAIN", plain, length, "*", cancellable, error);
      ok = self->logging_in != NULL;
      if (ok)
        expect_capabilities (self, expected_capabilities);
    }
  else
    ok = authenticate (self, "PLAIN", plain, length, "*", cancellable, error);
  wipe_and_free_sized (plain, length);
  return ok;
}

/**
 * ferry_imap_client_login_finish:
 * @as_expected: (out): whether the server, logged in, had the
 *   capabilities ferry_imap_client_login_begin() was given; when not,
 *   every command sent since has had its answer, and those built for
 *   capabilities the server does not have are to be sent again
 * @error: as for ferry_imap_client_login_begin(); a refusal ends the
 *   session, as the commands sent after the login were refused with it
 *
 * Reads the answer to a login begun with ferry_imap_client_login_begin(),
 * if it was not read already.
 */
gboolean
ferry_imap_client_login_finish (FerryImapClient *self,
                                gboolean *as_expected,
                                GCancellable *cancellable,
                                GError **error)
{
  g_autoptr (FerryImapCommand) command = NULL;
  g_auto (GStrv) expected = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (as_expected != NULL, FALSE);

  *as_expected = TRUE;
  command = g_steal_pointer (&self->logging_in);
  expected = g_steal_pointer (&self->expected_capabilities);
  if (command == NULL)
    return ferry_imap_client_check_usable (self, error);
  if (!ferry_imap_client_wait (self, command, cancellable, error))
    return FALSE;
  if (!check_login (self, command, cancellable, &local_error))
    return client_break (self, local_error, error);
  if (has_capabilities_expected (self, (const char *const *) expected))
    return TRUE;
  g_debug ("IMAP %s: the capabilities after login are not those of the last session", self->host);
  *as_expected = FALSE;
  return wait_for_all (self, cancellable, error);
}

/**
 * ferry_imap_client_login:
 * @password: the password; never logged, and the copies made of it are
 *   wiped after use
 * @error: as for ferry_imap_client_login_begin()
 *
 * Logs in as ferry_imap_client_login_begin() does without expected
 * capabilities: the login is over when this returns, and the
 * capabilities are learnt again.
 */
gboolean
ferry_imap_client_login (FerryImapClient *self,
                         const char *password,
                         GCancellable *cancellable,
                         GError **error)
{
  return ferry_imap_client_login_begin (self, password, NULL, cancellable, error);
}

/**
 * ferry_imap_client_login_xoauth2:
 * @token: an OAuth 2.0 access token; never logged, its copies wiped
 * @error: FERRY_ERROR_NO_PERM when the server refuses the token,
 *   FERRY_ERROR_CONFIG when it does not offer AUTH=XOAUTH2
 *
 * Logs in with AUTHENTICATE XOAUTH2, as Gmail and Outlook.com take it.
 */
gboolean
ferry_imap_client_login_xoauth2 (FerryImapClient *self,
                                 const char *token,
                                 GCancellable *cancellable,
                                 GError **error)
{
  char *initial;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (token != NULL, FALSE);

  if (self->authenticated)
    return TRUE;
  if (!check_can_log_in (self, error))
    return FALSE;
  if (!ferry_imap_client_has_capability (self, "AUTH=XOAUTH2"))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "%s does not offer OAuth 2.0 login (AUTH=XOAUTH2)", self->host);
      return FALSE;
    }
  initial = g_strconcat ("user=", self->user, "\001auth=Bearer ", token, "\001\001", NULL);
  /* A refused token gets a "+" with the reason in JSON; an empty line
   * ends the exchange and brings the tagged NO. */
  ok = authenticate (self, "XOAUTH2", initial, strlen (initial), "", cancellable, error);
  wipe_and_free (initial);
  return ok;
}

/* Extensions --------------------------------------------------------------------------- */

static gboolean
on_enabled (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  if (response->kind != FERRY_IMAP_RESPONSE_UNTAGGED || g_strcmp0 (response->name, "ENABLED") != 0)
    return FALSE;
  for (guint i = 0; i < ferry_imap_value_n_items (response->data); i++)
    {
      const char *name
          = ferry_imap_value_get_string (ferry_imap_value_get_item (response->data, i));

      if (name == NULL)
        continue;
      g_hash_table_add (self->enabled, g_ascii_strup (name, -1));
      if (g_ascii_strcasecmp (name, "QRESYNC") == 0)
        g_hash_table_add (self->enabled, g_strdup ("CONDSTORE"));
    }
  return TRUE;
}

/**
 * ferry_imap_client_is_loopback:
 *
 * Returns: whether the server is on this machine, where compressing the
 *   session would only cost time
 */
gboolean
ferry_imap_client_is_loopback (FerryImapClient *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return ferry_imap_connection_is_loopback (self->connection);
}

/**
 * ferry_imap_client_compress:
 *
 * Asks for the rest of the session to be compressed with COMPRESS
 * DEFLATE (RFC 4978), which an authenticated session may ask for once:
 * behind a pipelined login too. On a slow link a listing shrinks to a
 * fraction; bodies that are compressed already (images, archives) do
 * not. No command may follow COMPRESS before its answer (RFC 4978 3), so
 * commands sent later wait for it: sent last in a flight, it costs no
 * round trip. A refusal only means the session stays as it was.
 *
 * Returns: %FALSE with %FERRY_ERROR_UNAVAILABLE when the server does not
 *   offer it
 */
gboolean
ferry_imap_client_compress (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  FerryImapCommand *command;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->authenticated || self->logging_in != NULL, FALSE);
  g_return_val_if_fail (self->compressing == NULL, FALSE);

  if (!ferry_imap_client_has_capability (self, "COMPRESS=DEFLATE"))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "%s does not offer COMPRESS=DEFLATE", self->host);
      return FALSE;
    }
  command = ferry_imap_command_new (self, "COMPRESS", NULL, NULL, NULL);
  if (!ferry_imap_client_send (self, command, "COMPRESS DEFLATE", cancellable, error))
    {
      ferry_imap_command_free (command);
      return FALSE;
    }
  self->compressing = command;
  ferry_imap_client_fence (self, command);
  return TRUE;
}

/**
 * ferry_imap_client_enable:
 * @extensions: such as { "QRESYNC", NULL }
 *
 * Asks the server to enable those of @extensions it offers (ENABLE, RFC
 * 5161), without waiting for its answer: that is read with the next
 * command's, which saves a round trip. From then on
 * ferry_imap_client_is_enabled() says which it did enable.
 */
gboolean
ferry_imap_client_enable (FerryImapClient *self,
                          const char *const *extensions,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GString) line = g_string_new ("ENABLE");
  FerryImapCommand *command;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (extensions != NULL, FALSE);
  g_return_val_if_fail (self->enabling == NULL, FALSE);

  if (!ferry_imap_client_has_capability (self, "ENABLE"))
    return ferry_imap_client_check_usable (self, error);
  for (guint i = 0; extensions[i] != NULL; i++)
    {
      g_return_val_if_fail (ferry_imap_keyword_is_valid (extensions[i]), FALSE);
      if (ferry_imap_client_has_capability (self, extensions[i]))
        g_string_append_printf (line, " %s", extensions[i]);
    }
  if (!ferry_imap_client_check_usable (self, error))
    return FALSE;
  if (g_str_equal (line->str, "ENABLE"))
    return TRUE;
  command = ferry_imap_command_new (self, "ENABLE", on_enabled, NULL, NULL);
  if (!ferry_imap_client_send (self, command, line->str, cancellable, error))
    {
      ferry_imap_command_free (command);
      return FALSE;
    }
  self->enabling = command;
  return TRUE;
}

/**
 * ferry_imap_client_logout:
 *
 * Ends the session: sends LOGOUT and closes the connection, without
 * waiting for the BYE and OK that would answer it (RFC 3501 6.1.3). Every
 * command before it has had its answer, so there is nothing more to
 * learn, and on a slow link that round trip would be a good part of a
 * resync that finds nothing to do. The client is unusable afterwards,
 * whether this succeeded or not.
 */
gboolean
ferry_imap_client_logout (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (FerryImapCommand) command = NULL;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);

  self->logging_out = TRUE;
  command = ferry_imap_command_new (self, "LOGOUT", NULL, NULL, NULL);
  ok = ferry_imap_client_check_usable (self, error)
       && ferry_imap_client_send (self, command, "LOGOUT", cancellable, error);
  if (self->broken == NULL)
    self->broken = g_error_new (FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "logged out");
  g_queue_clear (&self->in_flight);
  g_clear_pointer (&self->connection, ferry_imap_connection_free);
  return ok;
}
