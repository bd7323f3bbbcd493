/* imap-mailboxes.c: LIST, SELECT and EXAMINE, STATUS, CREATE, DELETE
 *
 * Mailbox names are UTF-8 on this side and modified UTF-7 on the wire.
 * A name the server lists that does not decode is returned flagged as
 * invalid rather than dropped, so that a caller can tell the user about
 * a mailbox it will not sync.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "imap/imap-client-private.h"
#include "imap/imap-flags.h"
#include "imap/imap-utf7.h"

typedef struct
{
  const char *name;
  FerryImapMailboxAttributes attributes;
} AttributeName;

static const AttributeName attribute_names[] = {
  { "\\Noselect", FERRY_IMAP_MAILBOX_NOSELECT },
  { "\\NonExistent", FERRY_IMAP_MAILBOX_NONEXISTENT | FERRY_IMAP_MAILBOX_NOSELECT },
  { "\\Noinferiors", FERRY_IMAP_MAILBOX_NOINFERIORS },
  { "\\HasChildren", FERRY_IMAP_MAILBOX_HAS_CHILDREN },
  { "\\HasNoChildren", FERRY_IMAP_MAILBOX_HAS_NO_CHILDREN },
  { "\\Marked", FERRY_IMAP_MAILBOX_MARKED },
  { "\\Unmarked", FERRY_IMAP_MAILBOX_UNMARKED },
  { "\\All", FERRY_IMAP_MAILBOX_ALL },
  { "\\Archive", FERRY_IMAP_MAILBOX_ARCHIVE },
  { "\\Drafts", FERRY_IMAP_MAILBOX_DRAFTS },
  { "\\Flagged", FERRY_IMAP_MAILBOX_FLAGGED },
  { "\\Junk", FERRY_IMAP_MAILBOX_JUNK },
  { "\\Sent", FERRY_IMAP_MAILBOX_SENT },
  { "\\Trash", FERRY_IMAP_MAILBOX_TRASH },
};

void
ferry_imap_mailbox_free (FerryImapMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_free (mailbox->name);
  g_free (mailbox->encoded_name);
  g_free (mailbox->invalid_reason);
  g_free (mailbox->status);
  g_free (mailbox);
}

static gboolean
get_u32 (const FerryImapValue *value, guint32 *out)
{
  guint64 number;

  if (!ferry_imap_value_get_number (value, &number) || number > G_MAXUINT32)
    return FALSE;
  *out = (guint32) number;
  return TRUE;
}

/* LIST ------------------------------------------------------------------------- */

struct _FerryImapListing
{
  FerryImapClient *client;   /* borrowed: the listing lives no longer */
  FerryImapCommand *command; /* owned */
  GPtrArray *mailboxes;
  GError *error;
  gboolean with_status;
};

static FerryImapMailboxAttributes
parse_attributes (const FerryImapValue *list)
{
  FerryImapMailboxAttributes attributes = 0;

  for (guint i = 0; i < ferry_imap_value_n_items (list); i++)
    {
      const FerryImapValue *item = ferry_imap_value_get_item (list, i);

      for (guint a = 0; a < G_N_ELEMENTS (attribute_names); a++)
        if (ferry_imap_value_is_atom (item, attribute_names[a].name))
          attributes |= attribute_names[a].attributes;
    }
  return attributes;
}

static void
decode_name (FerryImapMailbox *mailbox, const FerryImapValue *value)
{
  g_autoptr (GError) error = NULL;

  mailbox->encoded_name = g_strdup (value->text);
  if (strlen (value->text) != value->length)
    mailbox->invalid_reason = g_strdup ("The mailbox name holds a NUL byte");
  /* RFC 3501 5.1: INBOX is INBOX in any case. */
  else if (g_ascii_strcasecmp (value->text, "INBOX") == 0)
    mailbox->name = g_strdup ("INBOX");
  else if ((mailbox->name = ferry_imap_utf7_decode (value->text, &error)) == NULL)
    mailbox->invalid_reason = g_strdup (error->message);
}

/* mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE /
 * nil) SP mailbox [SP mbox-list-extended] (RFC 3501 9, RFC 5258 9). */
static FerryImapMailbox *
parse_list (const FerryImapValue *data)
{
  const FerryImapValue *attributes = ferry_imap_value_get_item (data, 0);
  const FerryImapValue *delimiter = ferry_imap_value_get_item (data, 1);
  const FerryImapValue *name = ferry_imap_value_get_item (data, 2);
  FerryImapMailbox *mailbox;

  if (attributes == NULL || attributes->type != FERRY_IMAP_VALUE_LIST || delimiter == NULL
      || (delimiter->type != FERRY_IMAP_VALUE_NIL
          && (delimiter->type != FERRY_IMAP_VALUE_STRING || delimiter->length != 1))
      || ferry_imap_value_get_string (name) == NULL)
    return NULL;

  mailbox = g_new0 (FerryImapMailbox, 1);
  mailbox->attributes = parse_attributes (attributes);
  mailbox->delimiter = delimiter->type == FERRY_IMAP_VALUE_NIL ? '\0' : delimiter->text[0];
  decode_name (mailbox, name);
  return mailbox;
}

static void
parse_status (FerryImapStatusInfo *info, const FerryImapValue *items)
{
  memset (info, 0, sizeof *info);
  get_u32 (ferry_imap_value_lookup (items, "MESSAGES"), &info->messages);
  get_u32 (ferry_imap_value_lookup (items, "UIDNEXT"), &info->uidnext);
  get_u32 (ferry_imap_value_lookup (items, "UIDVALIDITY"), &info->uidvalidity);
  ferry_imap_value_get_number (ferry_imap_value_lookup (items, "HIGHESTMODSEQ"),
                               &info->highestmodseq);
}

/* LIST-STATUS sends each mailbox's STATUS after its LIST (RFC 5819 2);
 * one for a mailbox not listed is ignored. */
static void
note_list_status (FerryImapListing *request, const FerryImapValue *data)
{
  const char *name = ferry_imap_value_get_string (ferry_imap_value_get_item (data, 0));
  const FerryImapValue *items = ferry_imap_value_get_item (data, 1);

  for (guint i = request->mailboxes->len; name != NULL && items != NULL && i > 0; i--)
    {
      FerryImapMailbox *mailbox = g_ptr_array_index (request->mailboxes, i - 1);

      if (g_str_equal (mailbox->encoded_name, name))
        {
          if (mailbox->status == NULL)
            mailbox->status = g_new (FerryImapStatusInfo, 1);
          parse_status (mailbox->status, items);
          return;
        }
    }
}

static gboolean
on_list (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  FerryImapListing *request = user_data;
  FerryImapMailbox *mailbox;

  if (response->kind == FERRY_IMAP_RESPONSE_UNTAGGED && request->with_status
      && g_strcmp0 (response->name, "STATUS") == 0)
    {
      note_list_status (request, response->data);
      return TRUE;
    }
  if (response->kind != FERRY_IMAP_RESPONSE_UNTAGGED || g_strcmp0 (response->name, "LIST") != 0)
    return FALSE;
  mailbox = parse_list (response->data);
  if (mailbox != NULL)
    g_ptr_array_add (request->mailboxes, mailbox);
  else
    ferry_imap_set_first_error (
        &request->error, g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                      "%s sent a LIST response Ferry cannot read", self->host));
  return TRUE;
}

static char *
list_line (FerryImapClient *self, gboolean with_status)
{
  GString *line = g_string_new ("LIST \"\" \"*\"");
  gboolean special_use = ferry_imap_client_has_capability (self, "SPECIAL-USE");

  /* With LIST-EXTENDED, the children attributes come only when asked
   * for (RFC 5258 4), as the special uses do (RFC 6154 5.1). */
  if (!ferry_imap_client_has_capability (self, "LIST-EXTENDED"))
    return g_string_free (line, FALSE);
  g_string_append (line, " RETURN (CHILDREN");
  if (special_use)
    g_string_append (line, " SPECIAL-USE");
  if (with_status)
    g_string_append_printf (line, " STATUS (MESSAGES UIDNEXT UIDVALIDITY%s)",
                            ferry_imap_client_has_capability (self, "CONDSTORE") ? " HIGHESTMODSEQ"
                                                                                 : "");
  g_string_append_c (line, ')');
  return g_string_free (line, FALSE);
}

/**
 * ferry_imap_client_list_begin:
 * @options: whether to ask for each mailbox's STATUS too
 *
 * Sends LIST "" "*", with whether the mailboxes have children and their
 * special use (RFC 6154) when the server offers LIST-EXTENDED, and with
 * FERRY_IMAP_LIST_STATUS their STATUS in the same round trip when it
 * offers LIST-STATUS (RFC 5819). Other commands may be sent before the
 * answer is read with ferry_imap_client_list_finish().
 *
 * Returns: (transfer full) (nullable): the listing under way
 */
FerryImapListing *
ferry_imap_client_list_begin (FerryImapClient *self,
                              FerryImapListOptions options,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autoptr (FerryImapListing) listing = NULL;
  g_autofree char *line = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  if (!ferry_imap_client_check_usable (self, error))
    return NULL;
  listing = g_new0 (FerryImapListing, 1);
  listing->client = self;
  listing->mailboxes = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_imap_mailbox_free);
  listing->with_status = (options & FERRY_IMAP_LIST_STATUS)
                         && ferry_imap_client_has_capability (self, "LIST-STATUS");
  listing->command = ferry_imap_command_new (self, "LIST", on_list, NULL, listing);
  line = list_line (self, listing->with_status);
  if (!ferry_imap_client_send (self, listing->command, line, cancellable, error))
    return NULL;
  return g_steal_pointer (&listing);
}

/**
 * ferry_imap_client_list_finish:
 * @listing: (transfer full): what ferry_imap_client_list_begin() gave
 *
 * Returns: (transfer full) (element-type FerryImapMailbox) (nullable): the
 *   mailboxes in the order the server listed them
 */
GPtrArray *
ferry_imap_client_list_finish (FerryImapClient *self,
                               FerryImapListing *listing,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (FerryImapListing) owned = listing;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (listing != NULL && listing->client == self, NULL);

  if (!ferry_imap_client_wait (self, owned->command, cancellable, error)
      || !ferry_imap_client_check (self, owned->command, error))
    return NULL;
  if (owned->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&owned->error));
      return NULL;
    }
  return g_steal_pointer (&owned->mailboxes);
}

/**
 * ferry_imap_listing_free:
 *
 * Frees a listing; one not answered yet is left to the client, which
 * drops its answer.
 */
void
ferry_imap_listing_free (FerryImapListing *listing)
{
  if (listing == NULL)
    return;
  if (listing->command->response == NULL && ferry_imap_client_is_usable (listing->client))
    ferry_imap_client_abandon (listing->client, listing->command);
  else
    ferry_imap_command_free (listing->command);
  g_clear_pointer (&listing->mailboxes, g_ptr_array_unref);
  g_clear_error (&listing->error);
  g_free (listing);
}

/**
 * ferry_imap_client_list:
 * @options: whether to ask for each mailbox's STATUS too
 *
 * Lists every mailbox as ferry_imap_client_list_begin() says, and waits
 * for the answer.
 *
 * Returns: (transfer full) (element-type FerryImapMailbox) (nullable): the
 *   mailboxes in the order the server listed them
 */
GPtrArray *
ferry_imap_client_list (FerryImapClient *self,
                        FerryImapListOptions options,
                        GCancellable *cancellable,
                        GError **error)
{
  FerryImapListing *listing;

  g_return_val_if_fail (self != NULL, NULL);

  listing = ferry_imap_client_list_begin (self, options, cancellable, error);
  return listing != NULL ? ferry_imap_client_list_finish (self, listing, cancellable, error) : NULL;
}

/* SELECT and EXAMINE ------------------------------------------------------------ */

typedef struct
{
  FerryImapMailboxInfo *info;
  FerryMailFlags flags;
  gboolean saw_permanent_flags;
  gboolean saw_uidvalidity;
  gboolean no_modseq;
} SelectRequest;

static void
note_permanent_flags (SelectRequest *request, const FerryImapCode *code)
{
  const FerryImapValue *list = ferry_imap_value_get_item (code->args, 0);

  request->saw_permanent_flags = TRUE;
  request->info->permanent_flags = ferry_imap_flags_parse (list, NULL);
  for (guint i = 0; i < ferry_imap_value_n_items (list); i++)
    if (ferry_imap_value_is_atom (ferry_imap_value_get_item (list, i), "\\*"))
      request->info->keywords_allowed = TRUE;
}

static gboolean
note_select_code (SelectRequest *request, const FerryImapCode *code)
{
  const FerryImapValue *first = ferry_imap_value_get_item (code->args, 0);
  FerryImapMailboxInfo *info = request->info;

  if (g_str_equal (code->name, "PERMANENTFLAGS"))
    note_permanent_flags (request, code);
  else if (g_str_equal (code->name, "UIDVALIDITY"))
    request->saw_uidvalidity = get_u32 (first, &info->uidvalidity) && info->uidvalidity != 0;
  else if (g_str_equal (code->name, "UIDNEXT"))
    get_u32 (first, &info->uidnext);
  else if (g_str_equal (code->name, "HIGHESTMODSEQ"))
    ferry_imap_value_get_number (first, &info->highestmodseq);
  else if (g_str_equal (code->name, "NOMODSEQ"))
    request->no_modseq = TRUE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
on_select (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  SelectRequest *request = user_data;

  if (response->kind == FERRY_IMAP_RESPONSE_TAGGED)
    {
      if (ferry_imap_response_has_code (response, "READ-ONLY"))
        request->info->read_only = TRUE;
      return FALSE;
    }
  if (response->status == FERRY_IMAP_STATUS_OK && response->code != NULL)
    return note_select_code (request, response->code);
  if (response->status != FERRY_IMAP_STATUS_NONE)
    return FALSE;
  if (g_str_equal (response->name, "FLAGS"))
    {
      request->flags = ferry_imap_flags_parse (ferry_imap_value_get_item (response->data, 0), NULL);
      return TRUE;
    }
  if (response->has_number && g_str_equal (response->name, "EXISTS"))
    {
      request->info->exists = response->number;
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  SelectRequest request;
  FerryImapCommand *command;
  gboolean condstore;
} Selecting;

static gboolean
select_begin (FerryImapClient *self,
              const char *mailbox,
              gboolean read_only,
              FerryImapMailboxInfo *info,
              Selecting *selecting,
              GCancellable *cancellable,
              GError **error)
{
  g_autofree char *quoted = ferry_imap_quote_mailbox (mailbox, error);
  g_autofree char *line = NULL;
  g_autofree char *what = NULL;

  if (quoted == NULL || !ferry_imap_client_check_usable (self, error))
    return FALSE;
  selecting->condstore = ferry_imap_client_has_capability (self, "CONDSTORE");
  line = g_strdup_printf ("%s %s%s", read_only ? "EXAMINE" : "SELECT", quoted,
                          selecting->condstore ? " (CONDSTORE)" : "");
  what = ferry_imap_describe_mailbox (read_only ? "EXAMINE" : "SELECT", mailbox);

  memset (info, 0, sizeof *info);
  info->read_only = read_only;
  selecting->request.info = info;
  /* RFC 3501 6.3.1: a SELECT that fails leaves no mailbox selected. */
  g_clear_pointer (&self->selected, g_free);
  self->exists = 0;
  selecting->command = ferry_imap_command_new (self, what, on_select, NULL, &selecting->request);
  if (ferry_imap_client_send (self, selecting->command, line, cancellable, error))
    return TRUE;
  g_clear_pointer (&selecting->command, ferry_imap_command_free);
  return FALSE;
}

static gboolean
select_finish (FerryImapClient *self,
               const char *mailbox,
               Selecting *selecting,
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (FerryImapCommand) command = g_steal_pointer (&selecting->command);
  SelectRequest *request = &selecting->request;
  FerryImapMailboxInfo *info = request->info;

  if (!ferry_imap_client_wait (self, command, cancellable, error)
      || !ferry_imap_client_check (self, command, error))
    return FALSE;
  self->selected = g_strdup (mailbox);
  if (!request->saw_permanent_flags)
    info->permanent_flags = request->flags;
  if (!selecting->condstore || request->no_modseq)
    info->highestmodseq = 0;
  if (!request->saw_uidvalidity)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   "%s did not say the UIDVALIDITY of “%s”, without which Ferry cannot keep "
                   "track of its messages",
                   self->host, mailbox);
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_imap_client_select:
 * @mailbox: UTF-8 name
 * @read_only: EXAMINE instead of SELECT
 * @info: (out caller-allocates): what the server said about @mailbox
 *
 * Selects @mailbox, asking for its HIGHESTMODSEQ when the server offers
 * CONDSTORE. Without CONDSTORE, highestmodseq is 0 even if the server
 * sends one: modseqs cannot be used then.
 */
gboolean
ferry_imap_client_select (FerryImapClient *self,
                          const char *mailbox,
                          gboolean read_only,
                          FerryImapMailboxInfo *info,
                          GCancellable *cancellable,
                          GError **error)
{
  Selecting selecting = { { NULL } };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  return select_begin (self, mailbox, read_only, info, &selecting, cancellable, error)
         && select_finish (self, mailbox, &selecting, cancellable, error);
}

/**
 * ferry_imap_client_select_with_changes:
 * @mailbox: UTF-8 name
 * @since_modseq: the HIGHESTMODSEQ @mailbox had at the last look
 * @new_from_uid: its UIDNEXT then, or 0: as for
 *   ferry_imap_client_fetch_changes_begin()
 * @info: (out caller-allocates): what the server said about @mailbox
 * @changes: (out) (transfer full) (nullable): the changes since
 *   @since_modseq being fetched, or %NULL without CONDSTORE
 *
 * Selects @mailbox as ferry_imap_client_select() does, and asks in the
 * same round trip what changed there since @since_modseq: the answer is
 * read by ferry_imap_client_fetch_changes_finish(), once @info has shown
 * (by its UIDVALIDITY and HIGHESTMODSEQ) that the question still holds.
 * A question that does not is freed with ferry_imap_changes_free().
 */
gboolean
ferry_imap_client_select_with_changes (FerryImapClient *self,
                                       const char *mailbox,
                                       guint64 since_modseq,
                                       guint32 new_from_uid,
                                       FerryImapMailboxInfo *info,
                                       FerryImapChanges **changes,
                                       GCancellable *cancellable,
                                       GError **error)
{
  Selecting selecting = { { NULL } };
  g_autoptr (FerryImapChanges) fetching = NULL;

  g_return_val_if_fail (self != NULL && mailbox != NULL && since_modseq > 0, FALSE);
  g_return_val_if_fail (info != NULL && changes != NULL, FALSE);

  *changes = NULL;
  /* Before the SELECT, so that the question goes out with it. */
  if (!ferry_imap_client_wait_enabled (self, cancellable, error)
      || !select_begin (self, mailbox, FALSE, info, &selecting, cancellable, error))
    return FALSE;
  /* Without CONDSTORE there is no question to ask; a failure to send
   * it is the connection's, which the SELECT's answer reports too. */
  fetching
      = ferry_imap_client_fetch_changes_begin (self, since_modseq, new_from_uid, cancellable, NULL);
  if (!select_finish (self, mailbox, &selecting, cancellable, error))
    return FALSE;
  *changes = g_steal_pointer (&fetching);
  return TRUE;
}

/* STATUS ---------------------------------------------------------------------------- */

static gboolean
on_status (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  FerryImapStatusInfo *info = user_data;
  const FerryImapValue *items;

  if (response->kind != FERRY_IMAP_RESPONSE_UNTAGGED || g_strcmp0 (response->name, "STATUS") != 0)
    return FALSE;
  items = ferry_imap_value_get_item (response->data, 1);
  parse_status (info, items);
  return TRUE;
}

/**
 * ferry_imap_client_status:
 * @mailbox: UTF-8 name
 * @info: (out caller-allocates): MESSAGES, UIDNEXT, UIDVALIDITY, and
 *   HIGHESTMODSEQ when the server offers CONDSTORE
 */
gboolean
ferry_imap_client_status (FerryImapClient *self,
                          const char *mailbox,
                          FerryImapStatusInfo *info,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *line = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  quoted = ferry_imap_quote_mailbox (mailbox, error);
  if (quoted == NULL)
    return FALSE;
  line = g_strdup_printf ("STATUS %s (MESSAGES UIDNEXT UIDVALIDITY%s)", quoted,
                          ferry_imap_client_has_capability (self, "CONDSTORE") ? " HIGHESTMODSEQ"
                                                                               : "");
  what = ferry_imap_describe_mailbox ("STATUS", mailbox);
  memset (info, 0, sizeof *info);
  return ferry_imap_client_run (self, what, line, on_status, info, cancellable, error);
}

/* CREATE and DELETE ---------------------------------------------------------------- */

static gboolean
on_create (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  gboolean *exists = user_data;

  if (response->kind == FERRY_IMAP_RESPONSE_TAGGED)
    *exists = ferry_imap_response_has_code (response, "ALREADYEXISTS");
  return FALSE;
}

static gboolean
run_on_mailbox (FerryImapClient *self,
                const char *verb,
                const char *mailbox,
                FerryImapResponseFunc on_response,
                gpointer user_data,
                GCancellable *cancellable,
                GError **error)
{
  g_autofree char *quoted = ferry_imap_quote_mailbox (mailbox, error);
  g_autofree char *line = NULL;
  g_autofree char *what = NULL;

  if (quoted == NULL)
    return FALSE;
  line = g_strdup_printf ("%s %s", verb, quoted);
  what = ferry_imap_describe_mailbox (verb, mailbox);
  return ferry_imap_client_run (self, what, line, on_response, user_data, cancellable, error);
}

/**
 * ferry_imap_client_create:
 * @mailbox: UTF-8 name
 *
 * Creates @mailbox. One that exists already is not an error when the
 * server says so with [ALREADYEXISTS] (RFC 5530), so that a sync that
 * was interrupted can create it again.
 */
gboolean
ferry_imap_client_create (FerryImapClient *self,
                          const char *mailbox,
                          GCancellable *cancellable,
                          GError **error)
{
  GError *local_error = NULL;
  gboolean exists = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);

  if (run_on_mailbox (self, "CREATE", mailbox, on_create, &exists, cancellable, &local_error))
    return TRUE;
  if (exists)
    {
      g_error_free (local_error);
      return TRUE;
    }
  g_propagate_error (error, local_error);
  return FALSE;
}

/**
 * ferry_imap_client_delete:
 * @mailbox: UTF-8 name
 * @error: FERRY_ERROR_NOT_FOUND when the server says [NONEXISTENT]
 */
gboolean
ferry_imap_client_delete (FerryImapClient *self,
                          const char *mailbox,
                          GCancellable *cancellable,
                          GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);

  if (!run_on_mailbox (self, "DELETE", mailbox, NULL, NULL, cancellable, error))
    return FALSE;
  if (g_strcmp0 (self->selected, mailbox) == 0)
    g_clear_pointer (&self->selected, g_free);
  return TRUE;
}
