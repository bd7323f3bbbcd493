/* imap-messages.c: FETCH, STORE, APPEND, SEARCH, EXPUNGE, COPY and MOVE
 *
 * Everything here works on UIDs in the selected mailbox. Long UID sets
 * are cut into several commands, pipelined. Message bodies go straight
 * from the socket to a file descriptor as they arrive, so that memory
 * use does not grow with the size of a message.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable-file.h"
#include "core/errors.h"
#include "imap/imap-client-private.h"
#include "imap/imap-flags.h"
#include "imap/imap-uidset.h"

#define COPY_BUFFER_SIZE (64 * 1024)
/* More UIDs gone than this, and the caller is better off listing the mailbox. */
#define MAX_VANISHED_UIDS 100000

static gboolean
get_u32 (const FerryImapValue *value, guint32 *out)
{
  guint64 number;

  if (!ferry_imap_value_get_number (value, &number) || number > G_MAXUINT32)
    return FALSE;
  *out = (guint32) number;
  return TRUE;
}

static GPtrArray *
uid_sets (const guint32 *uids, gsize n_uids)
{
  return ferry_imap_uid_set_format (uids, n_uids, FERRY_IMAP_UID_SET_MAX_LENGTH);
}

static gboolean
is_fetch (const FerryImapResponse *response)
{
  return response->kind == FERRY_IMAP_RESPONSE_UNTAGGED && response->has_number
         && g_strcmp0 (response->name, "FETCH") == 0;
}

/* The literal the parser stopped at is the value of a FETCH item whose
 * name starts with @prefix, such as "BODY[]" in (UID 4 BODY[] {120}. */
static gboolean
literal_is_item (FerryImapParser *parser, const char *prefix)
{
  const FerryImapResponse *response = ferry_imap_parser_partial_response (parser);
  guint depth = 0;
  const FerryImapValue *items = ferry_imap_parser_literal_parent (parser, &depth);
  guint n = ferry_imap_value_n_items (items);
  const char *name;

  if (!is_fetch (response) || depth != 1 || n % 2 != 1)
    return FALSE;
  name = ferry_imap_value_get_string (ferry_imap_value_get_item (items, n - 1));
  return name != NULL && g_ascii_strncasecmp (name, prefix, strlen (prefix)) == 0;
}

static gboolean
discard_bytes (const guint8 *data, gsize length, gpointer user_data, GError **error)
{
  return TRUE;
}

static gboolean
check_keywords (const char *const *keywords, GError **error)
{
  for (guint i = 0; keywords != NULL && keywords[i] != NULL; i++)
    if (!ferry_imap_keyword_is_valid (keywords[i]))
      {
        g_autofree char *shown = g_strescape (keywords[i], NULL);

        g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                     "The keyword “%s” cannot be stored on an IMAP server", shown);
        return FALSE;
      }
  return TRUE;
}

/* FETCH: flags, sizes, Message-IDs -------------------------------------------------- */

/* The server answers a FETCH from its view of the mailbox when the
 * command began, and may tell of changes other sessions made only in
 * the middle or at the end of its answer (Dovecot does): EXPUNGE or
 * VANISHED for messages already answered, a FETCH with new FLAGS for
 * messages not answered (yet). The request follows these, so that its
 * result is the mailbox as the server last described it. */
typedef struct
{
  GHashTable *messages; /* UID -> FerryImapMessageInfo */
  GHashTable *numbers;  /* UID -> its message sequence number */
  GHashTable *changed;  /* UIDs said to have changed, not answered */
  GHashTable *wanted;   /* the UIDs asked for; NULL for a range */
  guint32 first_uid;
  guint32 last_uid; /* 0: no end */
} InfoRequest;

void
ferry_imap_message_info_free (FerryImapMessageInfo *info)
{
  if (info == NULL)
    return;
  g_strfreev (info->keywords);
  g_free (info->message_id);
  g_free (info);
}

/* The value of a FETCH item whose name starts with @prefix: the server
 * may spell BODY[HEADER.FIELDS (MESSAGE-ID)] in its own case. */
static const FerryImapValue *
lookup_prefix (const FerryImapValue *items, const char *prefix)
{
  for (guint i = 0; i + 1 < ferry_imap_value_n_items (items); i += 2)
    {
      const char *name = ferry_imap_value_get_string (ferry_imap_value_get_item (items, i));

      if (name != NULL && g_ascii_strncasecmp (name, prefix, strlen (prefix)) == 0)
        return ferry_imap_value_get_item (items, i + 1);
    }
  return NULL;
}

/* The Message-ID field of a header block, unfolded (RFC 5322 2.2.3). */
static char *
parse_message_id (const char *header)
{
  static const char field[] = "Message-ID:";
  g_auto (GStrv) lines = g_strsplit (header, "\n", -1);
  g_autoptr (GString) value = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (value != NULL && (line[0] == ' ' || line[0] == '\t'))
        g_string_append (value, line);
      else if (value != NULL)
        break;
      else if (g_ascii_strncasecmp (line, field, strlen (field)) == 0)
        value = g_string_new (line + strlen (field));
    }
  if (value == NULL)
    return NULL;
  g_strdelimit (value->str, "\r\t", ' ');
  g_strstrip (value->str);
  return *value->str != '\0' ? g_strdup (value->str) : NULL;
}

static void
fill_info (FerryImapMessageInfo *info, const FerryImapValue *items)
{
  const FerryImapValue *flags = ferry_imap_value_lookup (items, "FLAGS");
  const FerryImapValue *modseq = ferry_imap_value_lookup (items, "MODSEQ");
  const FerryImapValue *header = lookup_prefix (items, "BODY[HEADER.FIELDS");

  if (flags != NULL)
    {
      g_clear_pointer (&info->keywords, g_strfreev);
      info->flags = ferry_imap_flags_parse (flags, &info->keywords);
    }
  ferry_imap_value_get_number (ferry_imap_value_lookup (items, "RFC822.SIZE"), &info->size);
  ferry_imap_value_get_number (ferry_imap_value_get_item (modseq, 0), &info->modseq);
  if (header != NULL && header->type == FERRY_IMAP_VALUE_STRING)
    {
      g_free (info->message_id);
      info->message_id = parse_message_id (header->text);
    }
}

static gboolean
info_wanted (InfoRequest *request, guint32 uid)
{
  if (request->wanted != NULL)
    return g_hash_table_contains (request->wanted, GUINT_TO_POINTER (uid));
  return uid >= request->first_uid && (request->last_uid == 0 || uid <= request->last_uid);
}

static void
forget_info (InfoRequest *request, guint32 uid)
{
  g_hash_table_remove (request->messages, GUINT_TO_POINTER (uid));
  g_hash_table_remove (request->numbers, GUINT_TO_POINTER (uid));
  g_hash_table_remove (request->changed, GUINT_TO_POINTER (uid));
}

/* EXPUNGE n: message number n is gone, the later ones move up by one
 * (RFC 3501 7.4.1). */
static void
note_expunge (InfoRequest *request, guint32 number)
{
  GHashTableIter iter;
  gpointer uid, value;
  guint32 gone = 0;

  g_hash_table_iter_init (&iter, request->numbers);
  while (g_hash_table_iter_next (&iter, &uid, &value))
    {
      guint32 n = GPOINTER_TO_UINT (value);

      if (n == number)
        gone = GPOINTER_TO_UINT (uid);
      else if (n > number)
        g_hash_table_iter_replace (&iter, GUINT_TO_POINTER (n - 1));
    }
  if (gone != 0)
    forget_info (request, gone);
}

/* VANISHED without EARLIER (RFC 7162 3.2.10) names the UIDs just gone. */
static void
note_vanished (InfoRequest *request, const FerryImapValue *data)
{
  const char *set = ferry_imap_value_get_string (ferry_imap_value_get_item (data, 0));
  g_autoptr (GArray) ranges = NULL;
  g_autoptr (GArray) gone = g_array_new (FALSE, FALSE, sizeof (guint32));
  GHashTableIter iter;
  gpointer uid;

  if (ferry_imap_value_n_items (data) != 1 || set == NULL)
    return;
  ranges = ferry_imap_uid_set_parse_ranges (set, NULL);
  if (ranges == NULL)
    return;
  g_hash_table_iter_init (&iter, request->messages);
  while (g_hash_table_iter_next (&iter, &uid, NULL))
    if (ferry_imap_uid_ranges_contain (ranges, GPOINTER_TO_UINT (uid)))
      g_array_append_val (gone, (guint32){ GPOINTER_TO_UINT (uid) });
  g_hash_table_iter_init (&iter, request->changed);
  while (g_hash_table_iter_next (&iter, &uid, NULL))
    if (ferry_imap_uid_ranges_contain (ranges, GPOINTER_TO_UINT (uid)))
      g_array_append_val (gone, (guint32){ GPOINTER_TO_UINT (uid) });
  for (guint i = 0; i < gone->len; i++)
    forget_info (request, g_array_index (gone, guint32, i));
}

/* A FETCH with RFC822.SIZE answers the request; one without is news of
 * a change (RFC 3501 7.4.2), for a message answered or still to be. */
static void
note_fetch (InfoRequest *request, const FerryImapResponse *response, guint32 uid)
{
  const FerryImapValue *items = ferry_imap_value_get_item (response->data, 0);
  FerryImapMessageInfo *info = g_hash_table_lookup (request->messages, GUINT_TO_POINTER (uid));

  if (ferry_imap_value_lookup (items, "RFC822.SIZE") != NULL)
    {
      if (info == NULL)
        {
          info = g_new0 (FerryImapMessageInfo, 1);
          info->uid = uid;
          g_hash_table_insert (request->messages, GUINT_TO_POINTER (uid), info);
        }
      g_hash_table_insert (request->numbers, GUINT_TO_POINTER (uid),
                           GUINT_TO_POINTER (response->number));
      g_hash_table_remove (request->changed, GUINT_TO_POINTER (uid));
    }
  else if (info == NULL)
    {
      g_hash_table_add (request->changed, GUINT_TO_POINTER (uid));
      return;
    }
  fill_info (info, items);
}

static gboolean
on_info (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  InfoRequest *request = user_data;
  guint32 uid;

  if (response->kind != FERRY_IMAP_RESPONSE_UNTAGGED)
    return FALSE;
  if (response->has_number && g_str_equal (response->name, "EXPUNGE"))
    note_expunge (request, response->number);
  else if (g_strcmp0 (response->name, "VANISHED") == 0)
    note_vanished (request, response->data);
  if (!is_fetch (response))
    return FALSE;
  if (!get_u32 (ferry_imap_value_lookup (ferry_imap_value_get_item (response->data, 0), "UID"),
                &uid)
      || uid == 0)
    return FALSE;
  /* Also drops the last message, which "UID n:*" names even when its UID
   * is below n. */
  if (info_wanted (request, uid))
    note_fetch (request, response, uid);
  return TRUE;
}

/* A Message-ID header too long to keep is read and dropped, rather than
 * failing the listing of a whole mailbox over one odd message. */
static gboolean
on_info_literal (FerryImapClient *self, FerryImapParser *parser, gpointer user_data)
{
  if (!literal_is_item (parser, "BODY[HEADER")
      || ferry_imap_parser_literal_size (parser) <= FERRY_IMAP_PARSER_MAX_LITERAL)
    return FALSE;
  ferry_imap_parser_stream_literal (parser, discard_bytes, NULL);
  return TRUE;
}

static int
compare_info (gconstpointer a, gconstpointer b)
{
  const FerryImapMessageInfo *x = *(const FerryImapMessageInfo *const *) a;
  const FerryImapMessageInfo *y = *(const FerryImapMessageInfo *const *) b;

  return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static GPtrArray *
fetch_lines (GPtrArray *sets, const char *items)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < sets->len; i++)
    g_ptr_array_add (
        lines, g_strdup_printf ("UID FETCH %s %s", (char *) g_ptr_array_index (sets, i), items));
  return lines;
}

/* Messages the server said changed but did not answer for are asked for
 * again, now that the server's view includes the change. */
static gboolean
fetch_changed (FerryImapClient *self,
               InfoRequest *request,
               const char *items,
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GPtrArray) sets = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  GHashTableIter iter;
  gpointer uid;

  g_hash_table_iter_init (&iter, request->changed);
  while (g_hash_table_iter_next (&iter, &uid, NULL))
    g_array_append_val (uids, (guint32){ GPOINTER_TO_UINT (uid) });
  if (uids->len == 0)
    return TRUE;
  sets = uid_sets ((const guint32 *) uids->data, uids->len);
  lines = fetch_lines (sets, items);
  return ferry_imap_client_run_all (self, "UID FETCH", lines, on_info, on_info_literal, request,
                                    cancellable, error);
}

static char *
info_items (FerryImapClient *self, FerryImapFetchOptions options)
{
  gboolean condstore = ferry_imap_client_has_capability (self, "CONDSTORE");

  return g_strdup_printf (
      "(UID FLAGS RFC822.SIZE%s%s)", condstore ? " MODSEQ" : "",
      (options & FERRY_IMAP_FETCH_MESSAGE_ID) ? " BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" : "");
}

static void
info_request_init (InfoRequest *request)
{
  request->messages
      = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) ferry_imap_message_info_free);
  request->numbers = g_hash_table_new (NULL, NULL);
  request->changed = g_hash_table_new (NULL, NULL);
}

/* UIDs rise with message sequence numbers (RFC 3501 2.3.1.1). A server
 * whose UIDs go backwards has lost track of which UID is which message,
 * and a sync trusting them could pair a message with another's record. */
static gboolean
check_uid_order (FerryImapClient *self, InfoRequest *request, GPtrArray *by_uid, GError **error)
{
  guint32 last_number = 0, last_uid = 0;

  for (guint i = 0; i < by_uid->len; i++)
    {
      FerryImapMessageInfo *info = g_ptr_array_index (by_uid, i);
      guint32 number
          = GPOINTER_TO_UINT (g_hash_table_lookup (request->numbers, GUINT_TO_POINTER (info->uid)));

      if (number != 0 && number <= last_number)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       "%s gave message %u the UID %u and message %u the lower UID %u; UIDs "
                       "must rise with the message numbers, so the server's UIDs cannot be "
                       "trusted and this folder is not synced. Ask its administrator to "
                       "repair the mailbox",
                       self->host, number, info->uid, last_number, last_uid);
          return FALSE;
        }
      if (number != 0)
        {
          last_number = number;
          last_uid = info->uid;
        }
    }
  return TRUE;
}

/* Returns: (transfer full) (nullable): the messages, by ascending UID,
 *   when @ok */
static GPtrArray *
info_request_finish (FerryImapClient *self, InfoRequest *request, gboolean ok, GError **error)
{
  GPtrArray *result = NULL;
  GHashTableIter iter;
  gpointer info;

  if (ok)
    {
      result = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_imap_message_info_free);
      g_hash_table_iter_init (&iter, request->messages);
      while (g_hash_table_iter_next (&iter, NULL, &info))
        {
          g_ptr_array_add (result, info);
          g_hash_table_iter_steal (&iter);
        }
      g_ptr_array_sort (result, compare_info);
      if (!check_uid_order (self, request, result, error))
        g_clear_pointer (&result, g_ptr_array_unref);
    }
  g_hash_table_unref (request->messages);
  g_hash_table_unref (request->numbers);
  g_hash_table_unref (request->changed);
  return result;
}

static GPtrArray *
fetch_info (FerryImapClient *self,
            InfoRequest *request,
            GPtrArray *sets,
            FerryImapFetchOptions options,
            guint64 changed_since,
            GCancellable *cancellable,
            GError **error)
{
  gboolean condstore = ferry_imap_client_has_capability (self, "CONDSTORE");
  g_autofree char *items = info_items (self, options);
  g_autofree char *asked = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  gboolean ok;

  /* Without CONDSTORE there is no CHANGEDSINCE: everything is fetched,
   * which is more than asked for but never less. */
  asked = condstore && changed_since > 0
              ? g_strdup_printf ("%s (CHANGEDSINCE %" G_GUINT64_FORMAT ")", items, changed_since)
              : g_strdup (items);
  lines = fetch_lines (sets, asked);

  info_request_init (request);
  ok = ferry_imap_client_run_all (self, "UID FETCH", lines, on_info, on_info_literal, request,
                                  cancellable, error)
       && fetch_changed (self, request, items, cancellable, error);
  return info_request_finish (self, request, ok, error);
}

/**
 * ferry_imap_client_fetch_info:
 * @uids: UIDs in the selected mailbox, in any order
 * @options: what to fetch besides UID, FLAGS and RFC822.SIZE (and MODSEQ
 *   with CONDSTORE)
 *
 * Returns: (transfer full) (element-type FerryImapMessageInfo) (nullable):
 *   the messages of @uids that exist, by ascending UID
 */
GPtrArray *
ferry_imap_client_fetch_info (FerryImapClient *self,
                              const guint32 *uids,
                              gsize n_uids,
                              FerryImapFetchOptions options,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (NULL, NULL);
  g_autoptr (GPtrArray) sets = NULL;
  InfoRequest request = { .wanted = wanted };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (uids != NULL || n_uids == 0, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  for (gsize i = 0; i < n_uids; i++)
    g_hash_table_add (wanted, GUINT_TO_POINTER (uids[i]));
  sets = uid_sets (uids, n_uids);
  return fetch_info (self, &request, sets, options, 0, cancellable, error);
}

/**
 * ferry_imap_client_fetch_info_range:
 * @first_uid: the first UID, at least 1
 * @last_uid: the last UID, or 0 for the highest there is ("*")
 * @changed_since: only messages whose flags changed after this modseq
 *   (CHANGEDSINCE, RFC 7162); 0 for all. Ignored without CONDSTORE.
 *
 * Returns: (transfer full) (element-type FerryImapMessageInfo) (nullable):
 *   the messages with UIDs in the range, by ascending UID
 */
GPtrArray *
ferry_imap_client_fetch_info_range (FerryImapClient *self,
                                    guint32 first_uid,
                                    guint32 last_uid,
                                    FerryImapFetchOptions options,
                                    guint64 changed_since,
                                    GCancellable *cancellable,
                                    GError **error)
{
  g_autoptr (GPtrArray) sets = g_ptr_array_new_with_free_func (g_free);
  InfoRequest request = { .first_uid = first_uid, .last_uid = last_uid };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (first_uid != 0, NULL);
  g_return_val_if_fail (last_uid == 0 || last_uid >= first_uid, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  if (last_uid == 0)
    g_ptr_array_add (sets, g_strdup_printf ("%u:*", first_uid));
  else
    g_ptr_array_add (sets, g_strdup_printf ("%u:%u", first_uid, last_uid));
  return fetch_info (self, &request, sets, options, changed_since, cancellable, error);
}

/* FETCH: what changed since a modseq ----------------------------------------------------- */

typedef struct
{
  InfoRequest info;
  GString *gone;    /* UID sets from VANISHED, with QRESYNC */
  GString *present; /* UID sets from the SEARCH, without QRESYNC */
} ChangesRequest;

static void
add_set (GString *sets, const FerryImapValue *value)
{
  const char *set = ferry_imap_value_get_string (value);

  if (set == NULL)
    return;
  if (sets->len > 0)
    g_string_append_c (sets, ',');
  g_string_append (sets, set);
}

/* RFC 4731 3: "* ESEARCH (TAG "A3") UID ALL 2,10:11", no ALL when none. */
static void
add_esearch_set (GString *sets, const FerryImapValue *data)
{
  for (guint i = 0; i + 1 < ferry_imap_value_n_items (data); i++)
    if (g_ascii_strcasecmp (ferry_imap_value_get_string (ferry_imap_value_get_item (data, i)) ?: "",
                            "ALL")
        == 0)
      add_set (sets, ferry_imap_value_get_item (data, i + 1));
}

static gboolean
on_changes (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  ChangesRequest *request = user_data;
  const char *name = response->kind == FERRY_IMAP_RESPONSE_UNTAGGED ? response->name : NULL;
  guint n_items = ferry_imap_value_n_items (response->data);

  /* Both VANISHED (EARLIER), the answer, and VANISHED, an expunge while
   * the command runs (RFC 7162 3.2.10), name UIDs that are gone. */
  if (g_strcmp0 (name, "VANISHED") == 0 && n_items > 0)
    add_set (request->gone, ferry_imap_value_get_item (response->data, n_items - 1));
  else if (g_strcmp0 (name, "SEARCH") == 0)
    {
      for (guint i = 0; i < n_items; i++)
        add_set (request->present, ferry_imap_value_get_item (response->data, i));
      return TRUE;
    }
  else if (g_strcmp0 (name, "ESEARCH") == 0)
    {
      add_esearch_set (request->present, response->data);
      return TRUE;
    }
  return on_info (self, response, &request->info);
}

static GArray *
parse_sets (GString *sets, GError **error)
{
  if (sets->len == 0)
    return g_array_new (FALSE, FALSE, sizeof (FerryImapUidRange));
  return ferry_imap_uid_set_parse_ranges (sets->str, error);
}

/* Every UID of the server's VANISHED ranges, which may name UIDs the
 * client never saw (RFC 7162 3.2.5.2): so many that a listing would be
 * cheaper are refused. */
static GArray *
expand_ranges (GArray *ranges, GError **error)
{
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (guint i = 0; i < ranges->len; i++)
    {
      const FerryImapUidRange *range = &g_array_index (ranges, FerryImapUidRange, i);

      if ((guint64) uids->len + range->last - range->first >= MAX_VANISHED_UIDS)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                       "The server reports more than %u messages gone", MAX_VANISHED_UIDS);
          return NULL;
        }
      for (guint64 uid = range->first; uid <= range->last; uid++)
        g_array_append_val (uids, (guint32){ (guint32) uid });
    }
  return g_steal_pointer (&uids);
}

/* The UIDs of @known that @request found gone; all it found gone without
 * @known. */
static GArray *
vanished_uids (
    ChangesRequest *request, gboolean qresync, const guint32 *known, gsize n_known, GError **error)
{
  g_autoptr (GArray) ranges = parse_sets (qresync ? request->gone : request->present, error);
  GArray *vanished;

  if (ranges == NULL)
    return NULL;
  if (known == NULL)
    return expand_ranges (ranges, error);
  vanished = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize i = 0; i < n_known; i++)
    if (ferry_imap_uid_ranges_contain (ranges, known[i]) == qresync)
      g_array_append_val (vanished, known[i]);
  return vanished;
}

/* Messages from @new_from_uid on arrived since: they come with their
 * Message-IDs, which their copies are recorded with, rather than asked
 * for in a round trip of their own. The older ones, which mostly only
 * changed flags, do not. */
static GPtrArray *
changes_lines (FerryImapClient *self,
               const char *items,
               guint64 since_modseq,
               guint32 new_from_uid,
               gboolean qresync)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  if (new_from_uid > 1)
    {
      g_autofree char *new_items = info_items (self, FERRY_IMAP_FETCH_MESSAGE_ID);

      g_ptr_array_add (lines,
                       g_strdup_printf ("UID FETCH 1:%u %s (CHANGEDSINCE %" G_GUINT64_FORMAT "%s)",
                                        new_from_uid - 1, items, since_modseq,
                                        qresync ? " VANISHED" : ""));
      /* "n:*" names the last message also when its UID is below n (RFC
       * 3501 6.4.8): then it is answered twice, which adds nothing. */
      g_ptr_array_add (lines,
                       g_strdup_printf ("UID FETCH %u:* %s (CHANGEDSINCE %" G_GUINT64_FORMAT ")",
                                        new_from_uid, new_items, since_modseq));
    }
  else
    g_ptr_array_add (lines,
                     g_strdup_printf ("UID FETCH 1:* %s (CHANGEDSINCE %" G_GUINT64_FORMAT "%s)",
                                      items, since_modseq, qresync ? " VANISHED" : ""));
  /* Without QRESYNC the server does not say what went away (RFC 7162
   * 3.1.4.1 keeps no record of it): the UIDs still there tell it, in a
   * few bytes as an ESEARCH set (RFC 4731), pipelined with the FETCH. */
  if (!qresync)
    g_ptr_array_add (lines, g_strdup (ferry_imap_client_has_capability (self, "ESEARCH")
                                          ? "UID SEARCH RETURN (ALL) ALL"
                                          : "UID SEARCH ALL"));
  return lines;
}

struct _FerryImapChanges
{
  FerryImapClient *client;
  gboolean qresync;
  char *items;
  GPtrArray *commands; /* FerryImapCommand, owned */
  ChangesRequest request;
};

/**
 * ferry_imap_client_fetch_changes_begin:
 * @since_modseq: a HIGHESTMODSEQ the mailbox had
 * @new_from_uid: the mailbox's UIDNEXT then, or 0 when unknown: the
 *   messages from it on, which arrived since, are told with their
 *   Message-IDs (FerryImapMessageInfo.message_id)
 *
 * Asks what changed since @since_modseq in the mailbox selected, or to
 * be selected by a SELECT sent before and not answered yet: the answer
 * is read by ferry_imap_client_fetch_changes_finish(). No command sent
 * later goes out before this one's answers are read, so that none takes
 * its FETCH responses for its own.
 *
 * Returns: (transfer full) (nullable): the changes being fetched, or
 *   %NULL with %FERRY_ERROR_UNAVAILABLE without CONDSTORE
 */
FerryImapChanges *
ferry_imap_client_fetch_changes_begin (FerryImapClient *self,
                                       guint64 since_modseq,
                                       guint32 new_from_uid,
                                       GCancellable *cancellable,
                                       GError **error)
{
  g_autoptr (FerryImapChanges) changes = NULL;
  g_autoptr (GPtrArray) lines = NULL;

  g_return_val_if_fail (self != NULL && since_modseq > 0, NULL);

  if (!ferry_imap_client_has_capability (self, "CONDSTORE"))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "%s does not offer CONDSTORE, which tells what changed", self->host);
      return NULL;
    }
  if (!ferry_imap_client_wait_enabled (self, cancellable, error))
    return NULL;
  changes = g_new0 (FerryImapChanges, 1);
  changes->client = self;
  changes->qresync = ferry_imap_client_is_enabled (self, "QRESYNC");
  changes->items = info_items (self, 0);
  changes->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_imap_command_free);
  changes->request
      = (ChangesRequest){ { .first_uid = 1 }, g_string_new (NULL), g_string_new (NULL) };
  info_request_init (&changes->request.info);
  lines = changes_lines (self, changes->items, since_modseq, new_from_uid, changes->qresync);
  for (guint i = 0; i < lines->len; i++)
    {
      FerryImapCommand *command = ferry_imap_command_new (self, "UID FETCH", on_changes,
                                                          on_info_literal, &changes->request);

      g_ptr_array_add (changes->commands, command);
      if (!ferry_imap_client_send (self, command, g_ptr_array_index (lines, i), cancellable, error))
        return NULL;
    }
  /* Its FETCH responses are ones a later command could take for its own. */
  for (guint i = 0; i < changes->commands->len; i++)
    ferry_imap_client_fence (self, g_ptr_array_index (changes->commands, i));
  return g_steal_pointer (&changes);
}

static gboolean
check_tellable (FerryImapClient *self, gboolean qresync, const guint32 *known, GError **error)
{
  if (qresync || known != NULL)
    return TRUE;
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
               "Without QRESYNC, %s tells what went away only from the UIDs known", self->host);
  return FALSE;
}

static gboolean
wait_changes (FerryImapChanges *changes, GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < changes->commands->len; i++)
    if (!ferry_imap_client_wait (changes->client, g_ptr_array_index (changes->commands, i),
                                 cancellable, error))
      return FALSE;
  return TRUE;
}

static gboolean
check_changes (FerryImapChanges *changes, GError **error)
{
  for (guint i = 0; i < changes->commands->len; i++)
    if (!ferry_imap_client_check (changes->client, g_ptr_array_index (changes->commands, i), error))
      return FALSE;
  return TRUE;
}

/**
 * ferry_imap_client_fetch_changes_finish:
 * @changes: (transfer full): what ferry_imap_client_fetch_changes_begin()
 *   gave, in the mailbox now selected
 * @known, @changed, @vanished: as for ferry_imap_client_fetch_changes()
 */
gboolean
ferry_imap_client_fetch_changes_finish (FerryImapClient *self,
                                        FerryImapChanges *changes,
                                        const guint32 *known,
                                        gsize n_known,
                                        GPtrArray **changed,
                                        GArray **vanished,
                                        GCancellable *cancellable,
                                        GError **error)
{
  g_autoptr (FerryImapChanges) owned = changes;
  g_autoptr (GPtrArray) result = NULL;
  gboolean ok;

  g_return_val_if_fail (self != NULL && changes != NULL && changes->client == self, FALSE);
  g_return_val_if_fail (changed != NULL && vanished != NULL, FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  if (!wait_changes (owned, cancellable, error)
      || !check_tellable (self, owned->qresync, known, error))
    return FALSE;
  ok = check_changes (owned, error)
       && fetch_changed (self, &owned->request.info, owned->items, cancellable, error);
  result = info_request_finish (self, &owned->request.info, ok, error);
  owned->request.info.messages = NULL; /* finished */
  if (result == NULL)
    return FALSE;
  *vanished = vanished_uids (&owned->request, owned->qresync, known, n_known, error);
  if (*vanished == NULL)
    return FALSE;
  *changed = g_steal_pointer (&result);
  return TRUE;
}

/**
 * ferry_imap_changes_free:
 *
 * Frees changes not finished. Their answers, if not read yet, are left
 * to the client, which drops them before it sends anything else.
 */
void
ferry_imap_changes_free (FerryImapChanges *changes)
{
  if (changes == NULL)
    return;
  for (guint i = 0; i < changes->commands->len; i++)
    {
      FerryImapCommand *command = g_ptr_array_index (changes->commands, i);

      if (command->response == NULL && ferry_imap_client_is_usable (changes->client))
        {
          ferry_imap_client_abandon (changes->client, command);
          changes->commands->pdata[i] = NULL;
        }
    }
  g_ptr_array_unref (changes->commands);
  if (changes->request.info.messages != NULL)
    info_request_finish (changes->client, &changes->request.info, FALSE, NULL);
  g_string_free (changes->request.gone, TRUE);
  g_string_free (changes->request.present, TRUE);
  g_free (changes->items);
  g_free (changes);
}

/**
 * ferry_imap_client_fetch_changes:
 * @since_modseq: a HIGHESTMODSEQ the selected mailbox had
 * @known: (array length=n_known) (nullable): the UIDs the caller knows
 *   there; %NULL when it does not say
 * @changed: (out) (transfer full) (element-type FerryImapMessageInfo):
 *   the messages whose flags changed since @since_modseq or that arrived
 *   since (CHANGEDSINCE, RFC 7162 3.1.4), by ascending UID
 * @vanished: (out) (transfer full) (element-type guint32): the UIDs of
 *   @known that went away since @since_modseq: from VANISHED (EARLIER)
 *   where QRESYNC is enabled (RFC 7162 3.2.6); else, from a UID SEARCH of
 *   what is left, those gone at any time. Without @known, all that
 *   VANISHED (EARLIER) names.
 *
 * Returns: %FALSE with %FERRY_ERROR_UNAVAILABLE without CONDSTORE, and
 *   without QRESYNC or with very many UIDs gone when @known is %NULL
 */
gboolean
ferry_imap_client_fetch_changes (FerryImapClient *self,
                                 guint64 since_modseq,
                                 const guint32 *known,
                                 gsize n_known,
                                 GPtrArray **changed,
                                 GArray **vanished,
                                 GCancellable *cancellable,
                                 GError **error)
{
  FerryImapChanges *changes;

  g_return_val_if_fail (self != NULL && since_modseq > 0, FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  if (!ferry_imap_client_wait_enabled (self, cancellable, error)
      || !check_tellable (self, ferry_imap_client_is_enabled (self, "QRESYNC"), known, error))
    return FALSE;
  changes = ferry_imap_client_fetch_changes_begin (self, since_modseq, 0, cancellable, error);
  return changes != NULL
         && ferry_imap_client_fetch_changes_finish (self, changes, known, n_known, changed,
                                                    vanished, cancellable, error);
}

/* FETCH: bodies ------------------------------------------------------------------------- */

typedef struct
{
  FerryImapClient *client;
  FerryImapBodyOpenFunc open_func;
  FerryImapBodyCloseFunc close_func;
  gpointer user_data;
  GError *error; /* the first failure; bodies after it are read and dropped */

  /* The body being received. */
  guint32 uid;  /* 0 when it is spooled, its UID coming after it */
  int fd;       /* the caller's, or -1 */
  int spool_fd; /* a temporary file, or -1 */
  guint64 size; /* bytes written so far */
  gboolean write_failed;
  gboolean claimed; /* the body literal being read is this request's */
} BodyRequest;

static gboolean
body_wanted (BodyRequest *request, guint32 uid)
{
  return g_hash_table_lookup (request->client->body_owners, GUINT_TO_POINTER (uid)) == request;
}

/* With several body FETCHes in flight (RFC 3501 5.5), each body goes to
 * the one that asked for it, and one that none asked for to the first,
 * which drops it. A body whose UID comes only after it is the first's
 * too: should another have asked for it, that one finds it missing. */
static gboolean
body_is_for_another (BodyRequest *request, guint32 uid)
{
  gpointer owner = g_hash_table_lookup (request->client->body_owners, GUINT_TO_POINTER (uid));

  return owner != NULL && owner != request;
}

static void
body_fail (BodyRequest *request, GError *error)
{
  ferry_imap_set_first_error (&request->error, error);
}

static gboolean
body_sink (const guint8 *data, gsize length, gpointer user_data, GError **error)
{
  BodyRequest *request = user_data;
  int fd = request->fd >= 0 ? request->fd : request->spool_fd;
  g_autofree char *what = NULL;
  GError *local_error = NULL;

  if (fd < 0 || request->write_failed)
    return TRUE;
  what = g_strdup_printf ("message UID %u from %s", request->uid, request->client->host);
  if (!ferry_durable_write_all (fd, data, length, what, &local_error))
    {
      request->write_failed = TRUE;
      body_fail (request, local_error);
      return TRUE;
    }
  request->size += length;
  return TRUE;
}

static int
open_body (BodyRequest *request, guint32 uid)
{
  GError *local_error = NULL;
  int fd = request->open_func (uid, request->user_data, &local_error);

  if (fd < 0)
    body_fail (request, local_error != NULL
                            ? local_error
                            : g_error_new (FERRY_ERROR, FERRY_ERROR_IO,
                                           "No file to write message UID %u to", uid));
  return fd;
}

static int
open_spool (BodyRequest *request)
{
  g_autofree char *path = NULL;
  GError *local_error = NULL;
  int fd = g_file_open_tmp ("ferry-imap-XXXXXX", &path, &local_error);

  if (fd < 0)
    {
      body_fail (request, local_error);
      return -1;
    }
  g_unlink (path);
  return fd;
}

static void
reset_body (BodyRequest *request)
{
  if (request->spool_fd >= 0)
    close (request->spool_fd);
  request->uid = 0;
  request->fd = -1;
  request->spool_fd = -1;
  request->size = 0;
  request->write_failed = FALSE;
  request->claimed = FALSE;
}

/* Hands the caller's descriptor back, saying whether it got all of it. */
static void
close_body (BodyRequest *request, guint32 uid, gboolean complete)
{
  GError *local_error = NULL;
  int fd = request->fd;

  request->fd = -1;
  if (request->close_func (uid, fd, request->size, complete, request->user_data, &local_error)
      || !complete)
    {
      g_clear_error (&local_error);
      return;
    }
  body_fail (request, local_error != NULL ? local_error
                                          : g_error_new (FERRY_ERROR, FERRY_ERROR_IO,
                                                         "Could not keep message UID %u", uid));
}

static gboolean
on_body_literal (FerryImapClient *self, FerryImapParser *parser, gpointer user_data)
{
  BodyRequest *request = user_data;
  const FerryImapValue *items;
  guint32 uid = 0;

  gboolean has_uid;

  if (!literal_is_item (parser, "BODY[]"))
    return FALSE;
  items = ferry_imap_parser_literal_parent (parser, NULL);
  has_uid = get_u32 (ferry_imap_value_lookup (items, "UID"), &uid);
  if (has_uid && body_is_for_another (request, uid))
    return FALSE;
  reset_body (request);
  request->claimed = TRUE;
  if (request->error == NULL)
    {
      if (!has_uid)
        request->spool_fd = open_spool (request);
      else if (body_wanted (request, uid))
        {
          request->uid = uid;
          request->fd = open_body (request, uid);
        }
    }
  ferry_imap_parser_stream_literal (parser, body_sink, request);
  return TRUE;
}

static gboolean
copy_spool (BodyRequest *request, guint32 uid)
{
  g_autofree char *buffer = g_malloc (COPY_BUFFER_SIZE);
  g_autofree char *what = g_strdup_printf ("message UID %u from %s", uid, request->client->host);
  guint64 size = request->size;
  GError *local_error = NULL;

  if (lseek (request->spool_fd, 0, SEEK_SET) < 0)
    {
      body_fail (request, g_error_new (FERRY_ERROR, FERRY_ERROR_IO, "Cannot reread %s: %s", what,
                                       g_strerror (errno)));
      return FALSE;
    }
  while (size > 0)
    {
      gssize n = read (request->spool_fd, buffer, (gsize) MIN (size, COPY_BUFFER_SIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          body_fail (request, g_error_new (FERRY_ERROR, FERRY_ERROR_IO, "Cannot reread %s: %s",
                                           what, n < 0 ? g_strerror (errno) : "it is shorter"));
          return FALSE;
        }
      if (!ferry_durable_write_all (request->fd, buffer, (gsize) n, what, &local_error))
        {
          body_fail (request, local_error);
          return FALSE;
        }
      size -= (guint64) n;
    }
  return TRUE;
}

/* The body arrived whole: in the caller's descriptor already, in a
 * spool file when the UID came only after it, or as a quoted string. */
static gboolean
deliver_body (BodyRequest *request, guint32 uid, const FerryImapValue *body)
{
  g_autofree char *what = NULL;
  GError *local_error = NULL;

  if (body->type == FERRY_IMAP_VALUE_STREAMED && request->fd >= 0)
    return !request->write_failed && request->uid == uid;
  if (request->error != NULL || !body_wanted (request, uid))
    return FALSE;
  if (body->type == FERRY_IMAP_VALUE_STREAMED && request->spool_fd >= 0)
    {
      request->fd = open_body (request, uid);
      return request->fd >= 0 && copy_spool (request, uid);
    }
  if (body->type != FERRY_IMAP_VALUE_STRING)
    return FALSE;
  request->fd = open_body (request, uid);
  if (request->fd < 0)
    return FALSE;
  what = g_strdup_printf ("message UID %u from %s", uid, request->client->host);
  if (!ferry_durable_write_all (request->fd, body->text, body->length, what, &local_error))
    {
      body_fail (request, local_error);
      return FALSE;
    }
  request->size = body->length;
  return TRUE;
}

static gboolean
on_body (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  BodyRequest *request = user_data;
  const FerryImapValue *items;
  const FerryImapValue *body;
  gboolean complete;
  guint32 uid = 0;

  if (!is_fetch (response))
    return FALSE;
  items = ferry_imap_value_get_item (response->data, 0);
  body = ferry_imap_value_lookup (items, "BODY[]");
  if (body == NULL)
    return FALSE;
  if (!get_u32 (ferry_imap_value_lookup (items, "UID"), &uid) || uid == 0)
    body_fail (request, g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                     "%s sent a message without its UID", self->host));
  else if (!request->claimed && body_is_for_another (request, uid))
    return FALSE;
  request->uid = request->uid != 0 ? request->uid : uid;

  complete = uid != 0 && deliver_body (request, uid, body);
  if (request->fd >= 0)
    close_body (request, request->uid, complete);
  if (complete)
    g_hash_table_remove (self->body_owners, GUINT_TO_POINTER (uid));
  reset_body (request);
  return TRUE;
}

struct _FerryImapBodies
{
  FerryImapClient *client;
  GArray *uids;        /* guint32, as asked for */
  GPtrArray *commands; /* FerryImapCommand, owned */
  BodyRequest request;
};

/* The UIDs of @bodies are not waited for any more. */
static void
disown_bodies (FerryImapBodies *bodies)
{
  for (guint i = 0; i < bodies->uids->len; i++)
    {
      gpointer uid = GUINT_TO_POINTER (g_array_index (bodies->uids, guint32, i));

      if (g_hash_table_lookup (bodies->client->body_owners, uid) == &bodies->request)
        g_hash_table_remove (bodies->client->body_owners, uid);
    }
}

/* Reads and drops the body of a FETCH nobody waits for any more, unless
 * a later one asked for it too. */
static gboolean
discard_body_literal (FerryImapClient *self, FerryImapParser *parser, gpointer user_data)
{
  guint32 uid;

  if (!literal_is_item (parser, "BODY[]"))
    return FALSE;
  if (get_u32 (ferry_imap_value_lookup (ferry_imap_parser_literal_parent (parser, NULL), "UID"),
               &uid)
      && g_hash_table_contains (self->body_owners, GUINT_TO_POINTER (uid)))
    return FALSE;
  ferry_imap_parser_stream_literal (parser, discard_bytes, NULL);
  return TRUE;
}

/**
 * ferry_imap_client_fetch_bodies_begin:
 * @uids: (array length=n_uids): UIDs in the selected mailbox, a batch:
 *   every command goes out at once
 * @open_func: called for each message as its body begins (or, when the
 *   server sends its UID only after the body, once the body is in a
 *   temporary file), for a descriptor to write it to
 * @close_func: called once for every descriptor @open_func gave
 *
 * Asks for whole messages (BODY.PEEK[], which leaves \Seen alone) and
 * returns without waiting: the bodies flow in while the caller does
 * something else (makes the last batch durable), and are read by
 * ferry_imap_client_fetch_bodies_finish(), or by any command sent before
 * that, which waits for them first. So @open_func and @close_func may be
 * called from either.
 *
 * Returns: (transfer full) (nullable): the bodies being fetched
 */
FerryImapBodies *
ferry_imap_client_fetch_bodies_begin (FerryImapClient *self,
                                      const guint32 *uids,
                                      gsize n_uids,
                                      FerryImapBodyOpenFunc open_func,
                                      FerryImapBodyCloseFunc close_func,
                                      gpointer user_data,
                                      GCancellable *cancellable,
                                      GError **error)
{
  g_autoptr (FerryImapBodies) bodies = NULL;
  g_autoptr (GPtrArray) sets = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (uids != NULL || n_uids == 0, NULL);
  g_return_val_if_fail (open_func != NULL && close_func != NULL, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  if (!ferry_imap_client_check_usable (self, error))
    return NULL;
  bodies = g_new0 (FerryImapBodies, 1);
  bodies->client = self;
  bodies->uids = g_array_sized_new (FALSE, FALSE, sizeof (guint32), (guint) n_uids);
  g_array_append_vals (bodies->uids, uids, (guint) n_uids);
  bodies->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_imap_command_free);
  bodies->request = (BodyRequest){
    .client = self,
    .open_func = open_func,
    .close_func = close_func,
    .user_data = user_data,
    .fd = -1,
    .spool_fd = -1,
  };
  for (gsize i = 0; i < n_uids; i++)
    g_hash_table_insert (self->body_owners, GUINT_TO_POINTER (uids[i]), &bodies->request);
  sets = uid_sets (uids, n_uids);
  for (guint i = 0; i < sets->len; i++)
    {
      g_autofree char *line = g_strdup_printf ("UID FETCH %s (UID BODY.PEEK[])",
                                               (char *) g_ptr_array_index (sets, i));
      FerryImapCommand *command
          = ferry_imap_command_new (self, "UID FETCH", on_body, on_body_literal, &bodies->request);

      command->own_bodies_only = TRUE;
      g_ptr_array_add (bodies->commands, command);
      if (!ferry_imap_client_send (self, command, line, cancellable, error))
        return NULL;
    }
  /* Its FETCH responses are ones a later command could take for its own,
   * unless that is another body FETCH. */
  for (guint i = 0; i < bodies->commands->len; i++)
    ferry_imap_client_fence (self, g_ptr_array_index (bodies->commands, i));
  return g_steal_pointer (&bodies);
}

/* Waits for every command of @bodies; the first refusal is the error. */
static gboolean
wait_bodies (FerryImapBodies *bodies, GCancellable *cancellable, GError **error)
{
  GError *refused = NULL;

  for (guint i = 0; i < bodies->commands->len; i++)
    {
      FerryImapCommand *command = g_ptr_array_index (bodies->commands, i);
      GError *local_error = NULL;

      if (!ferry_imap_client_wait (bodies->client, command, cancellable, error))
        {
          g_clear_error (&refused);
          return FALSE;
        }
      if (!ferry_imap_client_check (bodies->client, command, &local_error))
        ferry_imap_set_first_error (&refused, local_error);
    }
  if (refused != NULL)
    {
      g_propagate_error (error, refused);
      return FALSE;
    }
  return TRUE;
}

/* Gives back the descriptor of a body cut short. */
static void
end_body_request (BodyRequest *request)
{
  if (request->fd >= 0)
    close_body (request, request->uid, FALSE);
  reset_body (request);
}

/**
 * ferry_imap_client_fetch_bodies_finish:
 * @bodies: (transfer full): what ferry_imap_client_fetch_bodies_begin() gave
 * @error: a failure of @open_func or @close_func, G_IO_ERROR when writing
 *   a descriptor fails; the connection stays usable after those
 *
 * Waits for the rest of the bodies. UIDs that are not in the mailbox
 * (any more) got no calls. After the first failure, the bodies still
 * coming are read and dropped.
 */
gboolean
ferry_imap_client_fetch_bodies_finish (FerryImapClient *self,
                                       FerryImapBodies *bodies,
                                       GCancellable *cancellable,
                                       GError **error)
{
  g_autoptr (FerryImapBodies) owned = bodies;
  gboolean ok;

  g_return_val_if_fail (self != NULL && bodies != NULL && bodies->client == self, FALSE);

  ok = wait_bodies (owned, cancellable, error);
  end_body_request (&owned->request);
  if (!ok)
    return FALSE;
  if (owned->request.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&owned->request.error));
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_imap_bodies_free:
 *
 * Frees bodies not finished. Their answers, if not read yet, are left to
 * the client, which drops them before it sends anything else; no more
 * calls are made.
 */
void
ferry_imap_bodies_free (FerryImapBodies *bodies)
{
  if (bodies == NULL)
    return;
  for (guint i = 0; i < bodies->commands->len; i++)
    {
      FerryImapCommand *command = g_ptr_array_index (bodies->commands, i);

      if (command->response == NULL && ferry_imap_client_is_usable (bodies->client))
        {
          ferry_imap_client_abandon (bodies->client, command);
          /* Bodies are larger than any literal the parser would hold. */
          command->on_literal = discard_body_literal;
          bodies->commands->pdata[i] = NULL;
        }
    }
  g_ptr_array_unref (bodies->commands);
  end_body_request (&bodies->request);
  g_clear_error (&bodies->request.error);
  disown_bodies (bodies);
  g_array_unref (bodies->uids);
  g_free (bodies);
}

/**
 * ferry_imap_client_fetch_bodies:
 *
 * ferry_imap_client_fetch_bodies_begin(), then
 * ferry_imap_client_fetch_bodies_finish().
 */
gboolean
ferry_imap_client_fetch_bodies (FerryImapClient *self,
                                const guint32 *uids,
                                gsize n_uids,
                                FerryImapBodyOpenFunc open_func,
                                FerryImapBodyCloseFunc close_func,
                                gpointer user_data,
                                GCancellable *cancellable,
                                GError **error)
{
  FerryImapBodies *bodies = ferry_imap_client_fetch_bodies_begin (
      self, uids, n_uids, open_func, close_func, user_data, cancellable, error);

  return bodies != NULL && ferry_imap_client_fetch_bodies_finish (self, bodies, cancellable, error);
}

typedef struct
{
  int fd;
  guint64 size;
  gboolean received;
} SingleBody;

static int
single_open (guint32 uid, gpointer user_data, GError **error)
{
  SingleBody *single = user_data;

  return single->fd;
}

static gboolean
single_close (
    guint32 uid, int fd, guint64 size, gboolean complete, gpointer user_data, GError **error)
{
  SingleBody *single = user_data;

  single->size = size;
  single->received = complete;
  return TRUE;
}

/**
 * ferry_imap_client_fetch_body:
 * @uid: a UID in the selected mailbox
 * @fd: the message is written here, from its current offset
 * @size: (out) (optional): the message's size
 * @error: FERRY_ERROR_NOT_FOUND when there is no message @uid
 *
 * Fetches one whole message (BODY.PEEK[]) into @fd, in chunks as it
 * arrives.
 */
gboolean
ferry_imap_client_fetch_body (FerryImapClient *self,
                              guint32 uid,
                              int fd,
                              guint64 *size,
                              GCancellable *cancellable,
                              GError **error)
{
  SingleBody single = { fd, 0, FALSE };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (uid != 0, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);

  if (!ferry_imap_client_fetch_bodies (self, &uid, 1, single_open, single_close, &single,
                                       cancellable, error))
    return FALSE;
  if (!single.received)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
                   "There is no message with UID %u in “%s” on %s (any more)", uid, self->selected,
                   self->host);
      return FALSE;
    }
  if (size != NULL)
    *size = single.size;
  return TRUE;
}

/* STORE -------------------------------------------------------------------------------- */

/**
 * ferry_imap_client_store:
 * @requests: flag changes: each adds or removes flags and keywords on
 *   UIDs in the selected mailbox
 *
 * Makes the changes with UID STORE +FLAGS.SILENT / -FLAGS.SILENT, all
 * commands pipelined. A request with neither flags nor keywords does
 * nothing.
 */
gboolean
ferry_imap_client_store (FerryImapClient *self,
                         const FerryImapStoreRequest *requests,
                         gsize n_requests,
                         GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (requests != NULL || n_requests == 0, FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  for (gsize r = 0; r < n_requests; r++)
    {
      const FerryImapStoreRequest *request = &requests[r];
      g_autofree char *flags = NULL;
      g_autoptr (GPtrArray) sets = NULL;

      if (!check_keywords (request->keywords, error))
        return FALSE;
      flags = ferry_imap_flags_format (request->flags, request->keywords);
      if (*flags == '\0')
        continue;
      sets = uid_sets (request->uids, request->n_uids);
      for (guint i = 0; i < sets->len; i++)
        g_ptr_array_add (
            lines, g_strdup_printf ("UID STORE %s %cFLAGS.SILENT (%s)",
                                    (char *) g_ptr_array_index (sets, i),
                                    request->action == FERRY_IMAP_STORE_ADD ? '+' : '-', flags));
    }
  if (lines->len == 0)
    return ferry_imap_client_check_usable (self, error);
  return ferry_imap_client_run_all (self, "UID STORE", lines, NULL, NULL, NULL, cancellable, error);
}

static gboolean
store_one (FerryImapClient *self,
           GArray *uids,
           FerryImapStoreAction action,
           FerryMailFlags flags,
           GCancellable *cancellable,
           GError **error)
{
  FerryImapStoreRequest request = { (const guint32 *) uids->data, uids->len, action, flags, NULL };

  return ferry_imap_client_store (self, &request, 1, cancellable, error);
}

/* APPEND ---------------------------------------------------------------------------------- */

/* date-time of RFC 3501 section 9: "14-Jul-2024 10:00:00 +0200", with
 * English month names whatever the locale. */
static char *
format_internal_date (GDateTime *date)
{
  static const char *const months[]
      = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  gint64 offset = g_date_time_get_utc_offset (date) / G_TIME_SPAN_MINUTE;
  gint64 minutes = ABS (offset);

  return g_strdup_printf (
      "\"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", g_date_time_get_day_of_month (date),
      months[g_date_time_get_month (date) - 1], g_date_time_get_year (date),
      g_date_time_get_hour (date), g_date_time_get_minute (date), g_date_time_get_second (date),
      offset < 0 ? '-' : '+', (int) (minutes / 60), (int) (minutes % 60));
}

/* A literal promises its size: a file that holds less would leave the
 * connection stuck in the middle of it, so that is found out first. */
static gboolean
check_upload (int fd, guint64 size, GError **error)
{
  struct stat st;
  off_t offset;

  if (size > G_MAXUINT32)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "The message is %" G_GUINT64_FORMAT " bytes long; IMAP cannot upload a "
                   "message of 4 GiB or more",
                   size);
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    return TRUE;
  offset = lseek (fd, 0, SEEK_CUR);
  if (offset >= 0 && st.st_size - offset < (off_t) size)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO,
                   "The message file holds %" G_GUINT64_FORMAT " bytes, not the %" G_GUINT64_FORMAT
                   " to upload",
                   (guint64) (st.st_size - offset), size);
      return FALSE;
    }
  return TRUE;
}

/* RFC 7889: APPENDLIMIT=n is the largest message the server takes; 0
 * when it names none (a bare APPENDLIMIT means limits per mailbox, which
 * the server's NO then enforces). */
static guint64
append_limit (FerryImapClient *self)
{
  static const char prefix[] = "APPENDLIMIT=";
  const char *const *capabilities = ferry_imap_client_get_capabilities (self);
  guint64 limit;

  for (guint i = 0; capabilities[i] != NULL; i++)
    if (g_str_has_prefix (capabilities[i], prefix)
        && g_ascii_string_to_unsigned (capabilities[i] + strlen (prefix), 10, 1, G_MAXUINT64,
                                       &limit, NULL))
      return limit;
  return 0;
}

static gboolean
check_message (FerryImapClient *self,
               const FerryImapAppendMessage *message,
               guint64 limit,
               GError **error)
{
  if (limit > 0 && message->size > limit)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "The message is %" G_GUINT64_FORMAT " bytes long; %s takes messages of at most "
                   "%" G_GUINT64_FORMAT " bytes (APPENDLIMIT)",
                   message->size, self->host, limit);
      return FALSE;
    }
  return check_keywords (message->keywords, error)
         && check_upload (message->fd, message->size, error);
}

/* Without UIDPLUS the new UIDs are unknown, but they are at or above the
 * UIDNEXT from just before the upload (RFC 3501 2.3.1.1). */
static gboolean
note_uidnext_before (FerryImapClient *self,
                     const char *mailbox,
                     FerryImapAppendResult *results,
                     gsize n,
                     GCancellable *cancellable,
                     GError **error)
{
  FerryImapStatusInfo status;

  if (ferry_imap_client_has_capability (self, "UIDPLUS"))
    return TRUE;
  if (!ferry_imap_client_status (self, mailbox, &status, cancellable, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    results[i].uidnext_before = status.uidnext;
  return TRUE;
}

/* The results one APPEND command fills in: of one message, or of the
 * whole batch of a MULTIAPPEND. */
typedef struct
{
  FerryImapAppendResult *results;
  gsize n;
} AppendReply;

static gboolean
on_append (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  AppendReply *reply = user_data;
  g_autoptr (GArray) uids = NULL;
  const char *set;
  guint64 uidvalidity;

  /* An APPENDUID from a server that does not offer UIDPLUS is not one
   * RFC 4315 stands behind. */
  if (response->kind != FERRY_IMAP_RESPONSE_TAGGED
      || !ferry_imap_client_has_capability (self, "UIDPLUS")
      || !ferry_imap_response_has_code (response, "APPENDUID")
      || !ferry_imap_code_get_number (response->code, 0, &uidvalidity) || uidvalidity > G_MAXUINT32)
    return FALSE;
  /* After a MULTIAPPEND, a set of the UIDs in the order of the messages
   * (RFC 3502, on UIDPLUS). One that does not fit is ignored: the messages
   * are there, and found as without UIDPLUS. */
  set = ferry_imap_value_get_string (ferry_imap_value_get_item (response->code->args, 1));
  uids = set != NULL ? ferry_imap_uid_set_parse (set, reply->n, NULL) : NULL;
  if (uids == NULL || uids->len != reply->n)
    {
      g_debug ("IMAP %s: ignoring [APPENDUID %s] for %" G_GSIZE_FORMAT " messages", self->host,
               response->code->text, reply->n);
      return FALSE;
    }
  for (gsize i = 0; i < reply->n; i++)
    {
      reply->results[i].uidvalidity = (guint32) uidvalidity;
      reply->results[i].uid = g_array_index (uids, guint32, i);
    }
  return FALSE;
}

/* What follows the mailbox for one message (RFC 3501 6.3.11): its flags,
 * its date and its literal. @texts keeps the text parts. */
static void
add_message_parts (GArray *parts, GPtrArray *texts, const FerryImapAppendMessage *message)
{
  g_autofree char *flag_list = ferry_imap_flags_format (message->flags, message->keywords);
  g_autofree char *date
      = message->internal_date != NULL ? format_internal_date (message->internal_date) : NULL;
  char *text = g_strdup_printf (" (%s)%s%s ", flag_list, date != NULL ? " " : "",
                                date != NULL ? date : "");
  FerryImapPart options = { FERRY_IMAP_PART_TEXT, text, strlen (text), -1 };
  FerryImapPart literal = { FERRY_IMAP_PART_FD, NULL, (gsize) message->size, message->fd };

  g_ptr_array_add (texts, text);
  g_array_append_val (parts, options);
  g_array_append_val (parts, literal);
}

/* Starts one APPEND of @messages: several make a MULTIAPPEND. */
static gboolean
send_append (FerryImapClient *self,
             FerryImapCommand *command,
             const char *start,
             const FerryImapAppendMessage *messages,
             gsize n,
             GCancellable *cancellable,
             GError **error)
{
  g_autoptr (GArray) parts = g_array_new (FALSE, FALSE, sizeof (FerryImapPart));
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  FerryImapPart first = { FERRY_IMAP_PART_TEXT, start, strlen (start), -1 };

  g_array_append_val (parts, first);
  for (gsize i = 0; i < n; i++)
    add_message_parts (parts, texts, &messages[i]);
  return ferry_imap_client_send_parts (self, command, (const FerryImapPart *) parts->data,
                                       parts->len, FALSE, cancellable, error);
}

/* The whole batch as one command (RFC 3502), which is all or nothing:
 * after a failure no message of it is in the mailbox. With LITERAL+ that
 * is one round trip for the batch. */
static gboolean
multiappend (FerryImapClient *self,
             const char *what,
             const char *start,
             const FerryImapAppendMessage *messages,
             gsize n,
             FerryImapAppendResult *results,
             gsize *n_appended,
             GCancellable *cancellable,
             GError **error)
{
  AppendReply reply = { results, n };
  g_autoptr (FerryImapCommand) command
      = ferry_imap_command_new (self, what, on_append, NULL, &reply);

  if (!send_append (self, command, start, messages, n, cancellable, error)
      || !ferry_imap_client_wait (self, command, cancellable, error)
      || !ferry_imap_client_check (self, command, error))
    return FALSE;
  *n_appended = n;
  return TRUE;
}

typedef struct
{
  const char *what;
  const char *start;
  const FerryImapAppendMessage *messages;
  AppendReply *replies;
} PipelinedAppends;

static gboolean
start_append (FerryImapClient *self,
              guint index,
              gpointer data,
              FerryImapCommand **command,
              GCancellable *cancellable,
              GError **error)
{
  PipelinedAppends *appends = data;

  *command
      = ferry_imap_command_new (self, appends->what, on_append, NULL, &appends->replies[index]);
  return send_append (self, *command, appends->start, &appends->messages[index], 1, cancellable,
                      error);
}

/* One APPEND per message, up to @depth of them in flight: after a
 * refusal no more are started, and only the messages before it count as
 * appended. */
static gboolean
append_pipelined (FerryImapClient *self,
                  const char *what,
                  const char *start,
                  const FerryImapAppendMessage *messages,
                  gsize n,
                  guint depth,
                  FerryImapAppendResult *results,
                  gsize *n_appended,
                  GCancellable *cancellable,
                  GError **error)
{
  g_autofree AppendReply *replies = g_new (AppendReply, n);
  PipelinedAppends appends = { what, start, messages, replies };
  guint succeeded = 0;
  gboolean ok;

  for (gsize i = 0; i < n; i++)
    replies[i] = (AppendReply){ &results[i], 1 };
  ok = ferry_imap_client_pipeline (self, (guint) n, depth, start_append, &appends, &succeeded,
                                   cancellable, error);
  *n_appended = succeeded;
  return ok;
}

static gboolean
upload (FerryImapClient *self,
        const char *what,
        const char *start,
        const FerryImapAppendMessage *messages,
        gsize n,
        FerryImapAppendResult *results,
        gsize *n_appended,
        GCancellable *cancellable,
        GError **error)
{
  gboolean non_synchronizing = ferry_imap_client_has_capability (self, "LITERAL+")
                               || ferry_imap_client_has_capability (self, "LITERAL-");

  if (n == 0)
    return TRUE;
  if (n > 1 && ferry_imap_client_has_capability (self, "MULTIAPPEND"))
    return multiappend (self, what, start, messages, n, results, n_appended, cancellable, error);
  /* With only synchronizing literals every APPEND waits for the server's
   * "+" anyway; one at a time, a refusal leaves no doubt about the rest. */
  return append_pipelined (self, what, start, messages, n,
                           non_synchronizing ? FERRY_IMAP_PIPELINE_DEPTH : 1, results, n_appended,
                           cancellable, error);
}

/**
 * ferry_imap_client_append_many:
 * @mailbox: UTF-8 name; it need not be selected
 * @messages: (array length=n_messages): the messages, in order
 * @results: (array length=n_messages) (out caller-allocates): each one's
 *   UID (UIDPLUS), or where to look, as ferry_imap_client_append() says
 * @n_appended: (out): how many of @messages, from the first, are in the
 *   mailbox
 * @error: FERRY_ERROR_NOT_FOUND when @mailbox does not exist ([TRYCREATE]),
 *   FERRY_ERROR_DATA for a message the server cannot take
 *
 * Uploads @messages without waiting for one before sending the next where
 * the server allows: as one MULTIAPPEND (RFC 3502), else as pipelined
 * APPENDs with non-synchronizing literals (LITERAL+, or LITERAL- for
 * messages of up to 4096 bytes, RFC 7888), else one APPEND after the
 * other. A message larger than the server's APPENDLIMIT (RFC 7889), or
 * that cannot be uploaded at all, is not sent; nor is anything after it.
 *
 * On failure the first @n_appended messages are in the mailbox, and their
 * results are set. Of the others, as after one failed APPEND, those in
 * flight when the connection broke may be there too; and so may those
 * that were already sent when the server refused an earlier one of a
 * pipeline (never after a MULTIAPPEND, which is all or nothing).
 */
gboolean
ferry_imap_client_append_many (FerryImapClient *self,
                               const char *mailbox,
                               const FerryImapAppendMessage *messages,
                               gsize n_messages,
                               FerryImapAppendResult *results,
                               gsize *n_appended,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *start = NULL;
  g_autofree char *what = NULL;
  GError *invalid = NULL;
  gsize n_valid = 0;
  guint64 limit;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);
  g_return_val_if_fail (n_messages == 0 || (messages != NULL && results != NULL), FALSE);
  g_return_val_if_fail (n_appended != NULL, FALSE);

  *n_appended = 0;
  for (gsize i = 0; i < n_messages; i++)
    results[i] = (FerryImapAppendResult){ 0 };
  if (!ferry_imap_client_check_usable (self, error))
    return FALSE;
  quoted = ferry_imap_quote_mailbox (mailbox, error);
  if (quoted == NULL)
    return FALSE;
  limit = append_limit (self);
  while (n_valid < n_messages && check_message (self, &messages[n_valid], limit, &invalid))
    n_valid++;

  start = g_strconcat ("APPEND ", quoted, NULL);
  what = ferry_imap_describe_mailbox ("APPEND to", mailbox);
  if (n_valid > 0
      && (!note_uidnext_before (self, mailbox, results, n_valid, cancellable, error)
          || !upload (self, what, start, messages, n_valid, results, n_appended, cancellable,
                      error)))
    {
      g_clear_error (&invalid);
      return FALSE;
    }
  if (invalid != NULL)
    {
      g_propagate_error (error, invalid);
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_imap_client_append:
 * @mailbox: UTF-8 name; it need not be selected
 * @fd: the message, read from its current offset
 * @size: its size in bytes
 * @flags: flags to give it
 * @keywords: (nullable): keywords to give it
 * @internal_date: (nullable): its internal date, such as when it arrived;
 *   %NULL lets the server use the present time
 * @result: (out caller-allocates): its UID (UIDPLUS), or where to look
 * @error: FERRY_ERROR_NOT_FOUND when @mailbox does not exist ([TRYCREATE])
 *
 * Uploads a message (APPEND) as a literal, non-synchronizing where the
 * server allows (RFC 7888). Without UIDPLUS the new UID is unknown: result->uidnext_before
 * then says from where ferry_imap_client_search_message_id() can look.
 */
gboolean
ferry_imap_client_append (FerryImapClient *self,
                          const char *mailbox,
                          int fd,
                          guint64 size,
                          FerryMailFlags flags,
                          const char *const *keywords,
                          GDateTime *internal_date,
                          FerryImapAppendResult *result,
                          GCancellable *cancellable,
                          GError **error)
{
  FerryImapAppendMessage message = { fd, size, flags, keywords, internal_date };
  gsize n_appended;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (mailbox != NULL, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  return ferry_imap_client_append_many (self, mailbox, &message, 1, result, &n_appended,
                                        cancellable, error);
}

/* SEARCH ----------------------------------------------------------------------------------- */

typedef struct
{
  GArray *uids;
  guint32 min_uid;
} SearchRequest;

static gboolean
on_search (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  SearchRequest *request = user_data;

  if (response->kind != FERRY_IMAP_RESPONSE_UNTAGGED || g_strcmp0 (response->name, "SEARCH") != 0)
    return FALSE;
  for (guint i = 0; i < ferry_imap_value_n_items (response->data); i++)
    {
      guint32 uid;

      if (get_u32 (ferry_imap_value_get_item (response->data, i), &uid) && uid != 0
          && uid >= request->min_uid)
        g_array_append_val (request->uids, uid);
    }
  return TRUE;
}

static int
compare_uids (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

static GArray *
search (FerryImapClient *self,
        const FerryImapPart *parts,
        gsize n_parts,
        guint32 min_uid,
        GCancellable *cancellable,
        GError **error)
{
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  SearchRequest request = { uids, min_uid };
  g_autoptr (FerryImapCommand) command = NULL;

  if (!ferry_imap_client_check_usable (self, error))
    return NULL;
  command = ferry_imap_command_new (self, "UID SEARCH", on_search, NULL, &request);
  if (!ferry_imap_client_send_parts (self, command, parts, n_parts, FALSE, cancellable, error)
      || !ferry_imap_client_wait (self, command, cancellable, error)
      || !ferry_imap_client_check (self, command, error))
    return NULL;
  g_array_sort (uids, compare_uids);
  return g_steal_pointer (&uids);
}

/**
 * ferry_imap_client_search_message_id:
 * @message_id: a Message-ID such as "<id@host>"
 * @first_uid: look only at UIDs from this one up
 *
 * Finds messages in the selected mailbox whose Message-ID header holds
 * @message_id (UID SEARCH HEADER: a substring match, RFC 3501 6.4.4), such
 * as one just appended to a server without UIDPLUS.
 *
 * Returns: (transfer full) (element-type guint32) (nullable): their UIDs,
 *   ascending
 */
GArray *
ferry_imap_client_search_message_id (FerryImapClient *self,
                                     const char *message_id,
                                     guint32 first_uid,
                                     GCancellable *cancellable,
                                     GError **error)
{
  g_autofree char *criteria = NULL;
  g_autofree char *quoted = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (message_id != NULL, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  if (strpbrk (message_id, "\r\n") != NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_DATA,
                           "A Message-ID with a line break cannot be searched for");
      return NULL;
    }
  first_uid = MAX (first_uid, 1);
  if (g_str_is_ascii (message_id))
    {
      FerryImapPart part;

      quoted = ferry_imap_quote (message_id);
      criteria = g_strdup_printf ("UID SEARCH UID %u:* HEADER Message-ID %s", first_uid, quoted);
      part = (FerryImapPart){ FERRY_IMAP_PART_TEXT, criteria, strlen (criteria), -1 };
      return search (self, &part, 1, first_uid, cancellable, error);
    }
  else
    {
      FerryImapPart parts[2];

      criteria
          = g_strdup_printf ("UID SEARCH CHARSET UTF-8 UID %u:* HEADER Message-ID ", first_uid);
      parts[0] = (FerryImapPart){ FERRY_IMAP_PART_TEXT, criteria, strlen (criteria), -1 };
      parts[1] = (FerryImapPart){ FERRY_IMAP_PART_LITERAL, message_id, strlen (message_id), -1 };
      return search (self, parts, G_N_ELEMENTS (parts), first_uid, cancellable, error);
    }
}

/* EXPUNGE ----------------------------------------------------------------------------------- */

static GArray *
search_deleted (FerryImapClient *self, GCancellable *cancellable, GError **error)
{
  static const char criteria[] = "UID SEARCH DELETED";
  FerryImapPart part = { FERRY_IMAP_PART_TEXT, criteria, strlen (criteria), -1 };

  return search (self, &part, 1, 0, cancellable, error);
}

static GArray *
uids_not_in (GArray *all, const guint32 *uids, gsize n_uids)
{
  g_autoptr (GHashTable) excluded = g_hash_table_new (NULL, NULL);
  GArray *rest = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (gsize i = 0; i < n_uids; i++)
    g_hash_table_add (excluded, GUINT_TO_POINTER (uids[i]));
  for (guint i = 0; i < all->len; i++)
    if (!g_hash_table_contains (excluded, GUINT_TO_POINTER (g_array_index (all, guint32, i))))
      g_array_append_val (rest, g_array_index (all, guint32, i));
  return rest;
}

/* RFC 3501 EXPUNGE removes every message marked \Deleted, not only ours.
 * So the other marked messages lose their mark while it runs and get it
 * back after. Two risks are left, which only UIDPLUS removes: a message
 * another client marks between the SEARCH and the EXPUNGE is expunged
 * too, and if the connection drops before the marks are restored, the
 * other messages stay unmarked (their data is never lost). */
static gboolean
expunge_without_uidplus (FerryImapClient *self,
                         const guint32 *uids,
                         gsize n_uids,
                         GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (GArray) deleted = search_deleted (self, cancellable, error);
  g_autoptr (GArray) others = NULL;
  g_autoptr (GArray) ours = g_array_new (FALSE, FALSE, sizeof (guint32));
  GError *local_error = NULL;
  gboolean ok;

  if (deleted == NULL)
    return FALSE;
  others = uids_not_in (deleted, uids, n_uids);
  g_array_append_vals (ours, uids, (guint) n_uids);

  ok = (others->len == 0
        || store_one (self, others, FERRY_IMAP_STORE_REMOVE, FERRY_MAIL_FLAG_DELETED, cancellable,
                      error))
       && store_one (self, ours, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_DELETED, cancellable, error)
       && ferry_imap_client_run (self, "EXPUNGE", "EXPUNGE", NULL, NULL, cancellable, error);
  if (others->len > 0 && ferry_imap_client_is_usable (self)
      && !store_one (self, others, FERRY_IMAP_STORE_ADD, FERRY_MAIL_FLAG_DELETED, cancellable,
                     ok ? error : &local_error))
    ok = FALSE;
  g_clear_error (&local_error);
  return ok;
}

/**
 * ferry_imap_client_expunge:
 * @uids: UIDs in the selected mailbox to remove for good
 *
 * Marks @uids \Deleted and expunges exactly them: UID EXPUNGE (UIDPLUS,
 * RFC 4315). Without UIDPLUS, EXPUNGE with the other \Deleted messages
 * unmarked meanwhile (see expunge_without_uidplus() for what that risks).
 */
gboolean
ferry_imap_client_expunge (FerryImapClient *self,
                           const guint32 *uids,
                           gsize n_uids,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (GPtrArray) sets = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (uids != NULL || n_uids == 0, FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  if (n_uids == 0)
    return ferry_imap_client_check_usable (self, error);
  if (!ferry_imap_client_has_capability (self, "UIDPLUS"))
    return expunge_without_uidplus (self, uids, n_uids, cancellable, error);

  sets = uid_sets (uids, n_uids);
  for (guint i = 0; i < sets->len; i++)
    {
      const char *set = g_ptr_array_index (sets, i);

      g_ptr_array_add (lines, g_strdup_printf ("UID STORE %s +FLAGS.SILENT (\\Deleted)", set));
      g_ptr_array_add (lines, g_strdup_printf ("UID EXPUNGE %s", set));
    }
  return ferry_imap_client_run_all (self, "UID EXPUNGE", lines, NULL, NULL, NULL, cancellable,
                                    error);
}

/* COPY and MOVE ------------------------------------------------------------------------------- */

typedef struct
{
  FerryImapCopyResult *result;
  gsize max_uids;
} CopyRequest;

void
ferry_imap_copy_result_free (FerryImapCopyResult *result)
{
  if (result == NULL)
    return;
  g_array_unref (result->source_uids);
  g_array_unref (result->dest_uids);
  g_free (result);
}

static FerryImapCopyResult *
copy_result_new (void)
{
  FerryImapCopyResult *result = g_new0 (FerryImapCopyResult, 1);

  result->source_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  result->dest_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  return result;
}

/* [COPYUID uidvalidity source-set dest-set] (RFC 4315 section 3). A
 * mapping that makes no sense is left out: the messages were copied, and
 * without the mapping a caller finds them as it would without UIDPLUS. */
static void
note_copyuid (FerryImapClient *self, CopyRequest *request, const FerryImapCode *code)
{
  const char *source_set = ferry_imap_value_get_string (ferry_imap_value_get_item (code->args, 1));
  const char *dest_set = ferry_imap_value_get_string (ferry_imap_value_get_item (code->args, 2));
  g_autoptr (GArray) source = NULL;
  g_autoptr (GArray) dest = NULL;
  guint64 uidvalidity;

  if (!ferry_imap_code_get_number (code, 0, &uidvalidity) || uidvalidity > G_MAXUINT32
      || source_set == NULL || dest_set == NULL)
    return;
  source = ferry_imap_uid_set_parse (source_set, request->max_uids, NULL);
  dest = ferry_imap_uid_set_parse (dest_set, request->max_uids, NULL);
  if (source == NULL || dest == NULL || source->len != dest->len)
    {
      g_debug ("IMAP %s: ignoring [COPYUID %s]", self->host, code->text);
      return;
    }
  request->result->uidvalidity = (guint32) uidvalidity;
  g_array_append_vals (request->result->source_uids, source->data, source->len);
  g_array_append_vals (request->result->dest_uids, dest->data, dest->len);
}

/* MOVE sends COPYUID untagged, before its EXPUNGEs (RFC 6851 4.3); COPY
 * in its tagged OK. */
static gboolean
on_copy (FerryImapClient *self, const FerryImapResponse *response, gpointer user_data)
{
  if (response->status != FERRY_IMAP_STATUS_OK
      || !ferry_imap_response_has_code (response, "COPYUID"))
    return FALSE;
  note_copyuid (self, user_data, response->code);
  return response->kind == FERRY_IMAP_RESPONSE_UNTAGGED;
}

static FerryImapCopyResult *
copy_or_move (FerryImapClient *self,
              const char *verb,
              const guint32 *uids,
              gsize n_uids,
              const char *mailbox,
              GCancellable *cancellable,
              GError **error)
{
  g_autoptr (FerryImapCopyResult) result = copy_result_new ();
  CopyRequest request = { result, n_uids };
  g_autofree char *quoted = ferry_imap_quote_mailbox (mailbox, error);
  g_autofree char *what = NULL;
  g_autoptr (GPtrArray) sets = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (quoted == NULL)
    return NULL;
  what = g_strdup_printf ("%s to “%s”", verb, mailbox);
  sets = uid_sets (uids, n_uids);
  for (guint i = 0; i < sets->len; i++)
    g_ptr_array_add (
        lines, g_strdup_printf ("%s %s %s", verb, (char *) g_ptr_array_index (sets, i), quoted));
  if (!ferry_imap_client_run_all (self, what, lines, on_copy, NULL, &request, cancellable, error))
    return NULL;
  return g_steal_pointer (&result);
}

/**
 * ferry_imap_client_copy:
 * @uids: UIDs in the selected mailbox
 * @mailbox: UTF-8 name of the destination
 * @error: FERRY_ERROR_NOT_FOUND when @mailbox does not exist ([TRYCREATE])
 *
 * Returns: (transfer full) (nullable): the new UIDs, when the server says
 *   them (UIDPLUS)
 */
FerryImapCopyResult *
ferry_imap_client_copy (FerryImapClient *self,
                        const guint32 *uids,
                        gsize n_uids,
                        const char *mailbox,
                        GCancellable *cancellable,
                        GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (uids != NULL || n_uids == 0, NULL);
  g_return_val_if_fail (mailbox != NULL, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  return copy_or_move (self, "UID COPY", uids, n_uids, mailbox, cancellable, error);
}

/**
 * ferry_imap_client_move:
 * @uids: UIDs in the selected mailbox
 * @mailbox: UTF-8 name of the destination
 *
 * Moves messages with UID MOVE (RFC 6851) when the server offers MOVE,
 * else with UID COPY and ferry_imap_client_expunge() of @uids.
 *
 * Returns: (transfer full) (nullable): the new UIDs, when the server says
 *   them (UIDPLUS)
 */
FerryImapCopyResult *
ferry_imap_client_move (FerryImapClient *self,
                        const guint32 *uids,
                        gsize n_uids,
                        const char *mailbox,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (FerryImapCopyResult) result = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (uids != NULL || n_uids == 0, NULL);
  g_return_val_if_fail (mailbox != NULL, NULL);
  g_return_val_if_fail (self->selected != NULL, NULL);

  if (ferry_imap_client_has_capability (self, "MOVE"))
    return copy_or_move (self, "UID MOVE", uids, n_uids, mailbox, cancellable, error);
  result = copy_or_move (self, "UID COPY", uids, n_uids, mailbox, cancellable, error);
  if (result == NULL || !ferry_imap_client_expunge (self, uids, n_uids, cancellable, error))
    return NULL;
  return g_steal_pointer (&result);
}
