/* test-imap-parser.c: tests for src/imap/imap-parser.c
 *
 * The transcripts marked "Dovecot" were captured from Dovecot 2.3.19 on
 * Debian 12, byte for byte; the others are legal responses Dovecot does
 * not happen to send, and malformed ones a broken or hostile server might.
 * Every transcript is parsed several times, fed in chunks of different
 * sizes, down to one byte at a time, and must give the same responses.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "core/errors.h"
#include "imap/imap-parser.h"

/* How a transcript is fed and where its literals go. */
typedef struct
{
  gsize chunk;          /* bytes per feed */
  gsize max_response;   /* 0: the default limits */
  gsize max_literal;    /* with max_response */
  GByteArray *streamed; /* non-NULL: BODY[] and BINARY[] literals go here */
} Feeding;

static gboolean
append_to_bytes (const guint8 *data, gsize length, gpointer user_data, GError **error)
{
  g_byte_array_append (user_data, data, (guint) length);
  return TRUE;
}

static gboolean
refuse_bytes (const guint8 *data, gsize length, gpointer user_data, GError **error)
{
  g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_IO, "disk full");
  return FALSE;
}

/* A literal that is the value of a BODY[...] or BINARY[...] item of a
 * FETCH response, but not of a header item: what a client streams. */
static gboolean
is_body_literal (FerryImapParser *parser)
{
  const FerryImapResponse *response = ferry_imap_parser_partial_response (parser);
  guint depth = 0;
  const FerryImapValue *parent = ferry_imap_parser_literal_parent (parser, &depth);
  guint n = ferry_imap_value_n_items (parent);
  const char *item;

  if (g_strcmp0 (response->name, "FETCH") != 0 || depth != 1 || n % 2 != 1)
    return FALSE;
  item = ferry_imap_value_get_string (ferry_imap_value_get_item (parent, n - 1));
  return item != NULL && (g_str_has_prefix (item, "BODY[") || g_str_has_prefix (item, "BINARY["))
         && !g_str_has_prefix (item, "BODY[HEADER");
}

static GPtrArray *
parse_with (const char *data, gsize length, const Feeding *feeding, GError **error)
{
  g_autoptr (FerryImapParser) parser = ferry_imap_parser_new ();
  g_autoptr (GPtrArray) responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_imap_response_free);
  gsize pos = 0;

  if (feeding->max_response != 0)
    ferry_imap_parser_set_limits (parser, feeding->max_response, feeding->max_literal);
  while (pos < length)
    {
      gsize n = MIN (feeding->chunk, length - pos);
      gsize done = 0;

      while (done < n)
        {
          gsize consumed = 0;
          FerryImapParseEvent event = ferry_imap_parser_feed (
              parser, (const guint8 *) data + pos + done, n - done, &consumed, error);

          done += consumed;
          switch (event)
            {
              case FERRY_IMAP_PARSE_ERROR:
                g_assert (error == NULL || *error != NULL);
                return NULL;
              case FERRY_IMAP_PARSE_RESPONSE:
                g_ptr_array_add (responses, ferry_imap_parser_take_response (parser));
                break;
              case FERRY_IMAP_PARSE_LITERAL:
                if (feeding->streamed != NULL && is_body_literal (parser))
                  ferry_imap_parser_stream_literal (parser, append_to_bytes, feeding->streamed);
                break;
              case FERRY_IMAP_PARSE_MORE:
                g_assert_cmpuint (done, ==, n);
                break;
            }
        }
      pos += n;
    }
  return g_steal_pointer (&responses);
}

static void
assert_same_value (const FerryImapValue *a, const FerryImapValue *b)
{
  g_assert_cmpint (a->type, ==, b->type);
  g_assert_cmpuint (a->length, ==, b->length);
  g_assert_cmpuint (a->number, ==, b->number);
  g_assert_cmpint (a->literal, ==, b->literal);
  if (a->text != NULL || b->text != NULL)
    g_assert_cmpmem (a->text, a->length, b->text, b->length);
  g_assert_cmpuint (ferry_imap_value_n_items (a), ==, ferry_imap_value_n_items (b));
  for (guint i = 0; i < ferry_imap_value_n_items (a); i++)
    assert_same_value (ferry_imap_value_get_item (a, i), ferry_imap_value_get_item (b, i));
}

static void
assert_same_response (const FerryImapResponse *a, const FerryImapResponse *b)
{
  g_assert_cmpint (a->kind, ==, b->kind);
  g_assert_cmpstr (a->tag, ==, b->tag);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpint (a->has_number, ==, b->has_number);
  g_assert_cmpuint (a->number, ==, b->number);
  g_assert_cmpstr (a->text, ==, b->text);
  g_assert_cmpint (a->code != NULL, ==, b->code != NULL);
  if (a->code != NULL)
    {
      g_assert_cmpstr (a->code->name, ==, b->code->name);
      g_assert_cmpstr (a->code->text, ==, b->code->text);
      g_assert_cmpint (a->code->args != NULL, ==, b->code->args != NULL);
      if (a->code->args != NULL)
        assert_same_value (a->code->args, b->code->args);
    }
  g_assert_cmpint (a->data != NULL, ==, b->data != NULL);
  if (a->data != NULL)
    assert_same_value (a->data, b->data);
}

static const gsize chunk_sizes[] = { 1, 2, 3, 7, 64, G_MAXSIZE };

/* Parses @data whole and in every chunk size, checks all agree and that
 * what was streamed is the same each time. */
static GPtrArray *
parse_streaming (const char *data, gsize length, GByteArray *streamed)
{
  g_autoptr (GError) error = NULL;
  Feeding whole = { .chunk = G_MAXSIZE, .streamed = streamed };
  GPtrArray *reference = parse_with (data, length, &whole, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (chunk_sizes); i++)
    {
      g_autoptr (GByteArray) again = g_byte_array_new ();
      Feeding chunked = { .chunk = chunk_sizes[i], .streamed = streamed != NULL ? again : NULL };
      g_autoptr (GPtrArray) responses = parse_with (data, length, &chunked, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (responses->len, ==, reference->len);
      for (guint r = 0; r < responses->len; r++)
        assert_same_response (g_ptr_array_index (responses, r), g_ptr_array_index (reference, r));
      if (streamed != NULL)
        g_assert_cmpmem (again->data, again->len, streamed->data, streamed->len);
    }
  return reference;
}

static GPtrArray *
parse (const char *data)
{
  return parse_streaming (data, strlen (data), NULL);
}

static const FerryImapResponse *
nth (GPtrArray *responses, guint i)
{
  g_assert_cmpuint (i, <, responses->len);
  return g_ptr_array_index (responses, i);
}

static const FerryImapValue *
item (const FerryImapValue *list, guint i)
{
  const FerryImapValue *value = ferry_imap_value_get_item (list, i);

  g_assert_nonnull (value);
  return value;
}

static guint64
number_of (const FerryImapValue *value)
{
  guint64 n = 0;

  g_assert_true (ferry_imap_value_get_number (value, &n));
  return n;
}

static guint64
code_number (const FerryImapResponse *response, const char *name, guint index)
{
  guint64 n = 0;

  g_assert_true (ferry_imap_response_has_code (response, name));
  g_assert_true (ferry_imap_code_get_number (response->code, index, &n));
  return n;
}

/* Dovecot transcripts ------------------------------------------------------ */

static const char dovecot_greeting_and_login[]
    = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
      "AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n"
      "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN "
      "AUTH=LOGIN\r\n"
      "a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
      "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
      "a2 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
      "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
      "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
      "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "
      "PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in\r\n";

static void
test_dovecot_greeting_and_login (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_greeting_and_login);
  const FerryImapResponse *greeting = nth (r, 0);
  const FerryImapResponse *refused = nth (r, 3);
  const FerryImapResponse *login = nth (r, 4);

  g_assert_cmpuint (r->len, ==, 5);
  g_assert_cmpint (greeting->kind, ==, FERRY_IMAP_RESPONSE_UNTAGGED);
  g_assert_cmpint (greeting->status, ==, FERRY_IMAP_STATUS_OK);
  g_assert_true (ferry_imap_response_has_code (greeting, "CAPABILITY"));
  g_assert_cmpuint (ferry_imap_value_n_items (greeting->code->args), ==, 10);
  g_assert_true (ferry_imap_value_is_atom (item (greeting->code->args, 7), "starttls"));
  g_assert_cmpstr (ferry_imap_value_get_string (item (greeting->code->args, 8)), ==, "AUTH=PLAIN");
  g_assert_cmpstr (greeting->text, ==, "Dovecot (Debian) ready.");
  g_assert_null (greeting->data);

  g_assert_cmpstr (nth (r, 1)->name, ==, "CAPABILITY");
  g_assert_cmpint (nth (r, 1)->status, ==, FERRY_IMAP_STATUS_NONE);
  g_assert_cmpuint (ferry_imap_value_n_items (nth (r, 1)->data), ==, 10);

  g_assert_cmpint (nth (r, 2)->kind, ==, FERRY_IMAP_RESPONSE_TAGGED);
  g_assert_cmpstr (nth (r, 2)->tag, ==, "a1");
  g_assert_null (nth (r, 2)->code);

  g_assert_cmpint (refused->status, ==, FERRY_IMAP_STATUS_NO);
  g_assert_true (ferry_imap_response_has_code (refused, "AUTHENTICATIONFAILED"));
  g_assert_cmpstr (refused->code->text, ==, "");
  g_assert_cmpstr (refused->text, ==, "Authentication failed.");

  g_assert_cmpstr (login->tag, ==, "a2");
  g_assert_true (ferry_imap_response_has_code (login, "CAPABILITY"));
  g_assert_true (ferry_imap_value_is_atom (item (login->code->args, 20), "CONDSTORE"));
  g_assert_cmpstr (login->text, ==, "Logged in");
}

static const char dovecot_select[]
    = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] Flags "
      "permitted.\r\n"
      "* 2 EXISTS\r\n"
      "* 1 RECENT\r\n"
      "* OK [UNSEEN 1] First unseen.\r\n"
      "* OK [UIDVALIDITY 1796190396] UIDs valid\r\n"
      "* OK [UIDNEXT 5] Predicted next UID\r\n"
      "* OK [HIGHESTMODSEQ 9] Highest\r\n"
      "a3 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_select (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_select);
  const FerryImapValue *flags = item (nth (r, 0)->data, 0);
  const FerryImapValue *permanent = item (nth (r, 1)->code->args, 0);

  g_assert_cmpuint (r->len, ==, 9);
  g_assert_cmpstr (nth (r, 0)->name, ==, "FLAGS");
  g_assert_cmpint (flags->type, ==, FERRY_IMAP_VALUE_LIST);
  g_assert_cmpuint (ferry_imap_value_n_items (flags), ==, 6);
  g_assert_cmpstr (ferry_imap_value_get_string (item (flags, 0)), ==, "\\Answered");
  g_assert_cmpstr (ferry_imap_value_get_string (item (flags, 5)), ==, "$Forwarded");

  g_assert_true (ferry_imap_response_has_code (nth (r, 1), "PERMANENTFLAGS"));
  g_assert_cmpuint (ferry_imap_value_n_items (permanent), ==, 7);
  g_assert_cmpstr (ferry_imap_value_get_string (item (permanent, 6)), ==, "\\*");

  g_assert_true (nth (r, 2)->has_number);
  g_assert_cmpuint (nth (r, 2)->number, ==, 2);
  g_assert_cmpstr (nth (r, 2)->name, ==, "EXISTS");
  g_assert_cmpuint (ferry_imap_value_n_items (nth (r, 2)->data), ==, 0);
  g_assert_cmpstr (nth (r, 3)->name, ==, "RECENT");

  g_assert_cmpuint (code_number (nth (r, 5), "UIDVALIDITY", 0), ==, 1796190396);
  g_assert_cmpuint (code_number (nth (r, 6), "UIDNEXT", 0), ==, 5);
  g_assert_cmpuint (code_number (nth (r, 7), "HIGHESTMODSEQ", 0), ==, 9);
  g_assert_true (ferry_imap_response_has_code (nth (r, 8), "READ-WRITE"));
  g_assert_cmpstr (nth (r, 8)->text, ==, "Select completed (0.001 + 0.000 secs).");
}

static const char dovecot_fetch_headers[]
    = "* 1 FETCH (UID 1 FLAGS (\\Seen $Forwarded) RFC822.SIZE 60 BODY[HEADER.FIELDS (MESSAGE-ID)] "
      "{32}\r\n"
      "Message-ID: <a1@example.org>\r\n"
      "\r\n"
      ")\r\n"
      "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) RFC822.SIZE 51 BODY[HEADER.FIELDS (MESSAGE-ID)] "
      "{32}\r\n"
      "Message-ID: <b2@example.org>\r\n"
      "\r\n"
      ")\r\n"
      "a5 OK Fetch completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_fetch_headers (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_fetch_headers);
  const FerryImapValue *items = item (nth (r, 1)->data, 0);
  const FerryImapValue *header;

  g_assert_cmpuint (r->len, ==, 3);
  g_assert_cmpstr (nth (r, 1)->name, ==, "FETCH");
  g_assert_cmpuint (nth (r, 1)->number, ==, 2);
  g_assert_cmpuint (ferry_imap_value_n_items (items), ==, 8);
  g_assert_cmpuint (number_of (ferry_imap_value_lookup (items, "uid")), ==, 2);
  g_assert_cmpuint (number_of (ferry_imap_value_lookup (items, "RFC822.SIZE")), ==, 51);
  g_assert_cmpuint (ferry_imap_value_n_items (ferry_imap_value_lookup (items, "FLAGS")), ==, 2);
  g_assert_cmpstr (ferry_imap_value_get_string (item (items, 6)), ==,
                   "BODY[HEADER.FIELDS (MESSAGE-ID)]");
  header = ferry_imap_value_lookup (items, "BODY[HEADER.FIELDS (MESSAGE-ID)]");
  g_assert_cmpint (header->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_true (header->literal);
  g_assert_cmpstr (header->text, ==, "Message-ID: <b2@example.org>\r\n\r\n");
  g_assert_null (ferry_imap_value_lookup (items, "MODSEQ"));
}

static const char dovecot_fetch_body[] = "* 2 FETCH (UID 2 BODY[] {51}\r\n"
                                         "Message-ID: <b2@example.org>\r\n"
                                         "Subject: two\r\n"
                                         "\r\n"
                                         "Hi.\r\n"
                                         ")\r\n"
                                         "a7 OK Fetch completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_fetch_body_streamed (void)
{
  g_autoptr (GByteArray) streamed = g_byte_array_new ();
  g_autoptr (GPtrArray) r
      = parse_streaming (dovecot_fetch_body, strlen (dovecot_fetch_body), streamed);
  const FerryImapValue *body = ferry_imap_value_lookup (item (nth (r, 0)->data, 0), "BODY[]");
  const char expected[] = "Message-ID: <b2@example.org>\r\nSubject: two\r\n\r\nHi.\r\n";

  g_assert_cmpint (body->type, ==, FERRY_IMAP_VALUE_STREAMED);
  g_assert_true (body->literal);
  g_assert_cmpuint (body->number, ==, 51);
  g_assert_null (body->text);
  g_assert_cmpmem (streamed->data, streamed->len, expected, strlen (expected));
  g_assert_cmpint (nth (r, 1)->status, ==, FERRY_IMAP_STATUS_OK);
}

static void
test_dovecot_fetch_body_kept (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_fetch_body);
  const FerryImapValue *body = ferry_imap_value_lookup (item (nth (r, 0)->data, 0), "BODY[]");

  g_assert_cmpint (body->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_cmpuint (body->length, ==, 51);
  g_assert_true (g_str_has_suffix (body->text, "\r\n\r\nHi.\r\n"));
}

static const char dovecot_modseq_and_store[]
    = "* OK [HIGHESTMODSEQ 4] Highest\r\n"
      "* 1 FETCH (UID 1 FLAGS (\\Seen $Forwarded) RFC822.SIZE 60 MODSEQ (3))\r\n"
      "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) RFC822.SIZE 51 MODSEQ (4))\r\n"
      "a6 OK Fetch completed (0.001 + 0.000 secs).\r\n"
      "* 1 FETCH (UID 1 MODSEQ (5))\r\n"
      "a8 OK Store completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_modseq (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_modseq_and_store);
  const FerryImapValue *modseq = ferry_imap_value_lookup (item (nth (r, 2)->data, 0), "MODSEQ");

  g_assert_cmpuint (code_number (nth (r, 0), "HIGHESTMODSEQ", 0), ==, 4);
  g_assert_cmpuint (ferry_imap_value_n_items (modseq), ==, 1);
  g_assert_cmpuint (number_of (item (modseq, 0)), ==, 4);
  g_assert_cmpuint (ferry_imap_value_n_items (item (nth (r, 4)->data, 0)), ==, 4);
}

static const char dovecot_list[] = "* LIST () \"/\" &ZeVnLIqe-\r\n"
                                   "* LIST (\\HasNoChildren \\UnMarked) \"/\" Entw&APw-rfe\r\n"
                                   "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
                                   "a5 OK List completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_list (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_list);
  const FerryImapValue *data = nth (r, 1)->data;

  g_assert_cmpuint (r->len, ==, 4);
  g_assert_cmpuint (ferry_imap_value_n_items (item (nth (r, 0)->data, 0)), ==, 0);
  g_assert_cmpstr (ferry_imap_value_get_string (item (nth (r, 0)->data, 2)), ==, "&ZeVnLIqe-");
  g_assert_cmpuint (ferry_imap_value_n_items (data), ==, 3);
  g_assert_true (ferry_imap_value_is_atom (item (item (data, 0), 1), "\\unmarked"));
  g_assert_cmpint (item (data, 1)->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_cmpstr (item (data, 1)->text, ==, "/");
  g_assert_cmpstr (ferry_imap_value_get_string (item (data, 2)), ==, "Entw&APw-rfe");
}

static const char dovecot_session[]
    = "* 2 EXISTS\r\n"
      "* 1 RECENT\r\n"
      "a4 OK [APPENDUID 1796190396 2] Append completed (0.002 + 0.000 + 0.001 secs).\r\n"
      "* SEARCH 1\r\n"
      "a9 OK Search completed (0.001 + 0.000 secs).\r\n"
      "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 1796190396 HIGHESTMODSEQ 5)\r\n"
      "b2 OK [CLIENTBUG] Status on selected mailbox completed (0.001 + 0.000 secs).\r\n"
      "* 1 EXPUNGE\r\n"
      "b3 OK Expunge completed (0.001 + 0.000 secs).\r\n"
      "* OK [COPYUID 1796190394 2,4:6 1:4] Moved UIDs.\r\n"
      "* 1 EXPUNGE\r\n"
      "* 0 RECENT\r\n"
      "b4 OK Move completed (0.003 + 0.000 + 0.002 secs).\r\n"
      "* ENABLED QRESYNC\r\n"
      "* OK [CLOSED] Previous mailbox closed.\r\n"
      "a5 NO Mailbox doesn't exist: nosuch (0.001 + 0.000 secs).\r\n"
      "a6 BAD Error in IMAP command FOO: Unknown command (0.001 + 0.000 secs).\r\n"
      "a7 NO [ALREADYEXISTS] Mailbox already exists (0.001 + 0.000 secs).\r\n"
      "a9 NO [TRYCREATE] Mailbox doesn't exist: nosuch (0.001 + 0.000 secs).\r\n"
      "* VANISHED (EARLIER) 1:2\r\n"
      "* SEARCH\r\n"
      "* BYE Logging out\r\n"
      "b6 OK Logout completed (0.001 + 0.000 + 0.001 secs).\r\n";

static void
test_dovecot_session (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_session);
  const FerryImapValue *status = nth (r, 5)->data;
  const FerryImapValue *copyuid;
  const FerryImapValue *vanished = nth (r, 19)->data;

  g_assert_cmpuint (r->len, ==, 23);
  g_assert_cmpuint (code_number (nth (r, 2), "APPENDUID", 0), ==, 1796190396);
  g_assert_cmpuint (code_number (nth (r, 2), "APPENDUID", 1), ==, 2);
  g_assert_cmpuint (number_of (item (nth (r, 3)->data, 0)), ==, 1);

  g_assert_cmpstr (ferry_imap_value_get_string (item (status, 0)), ==, "INBOX");
  g_assert_cmpuint (number_of (ferry_imap_value_lookup (item (status, 1), "UIDNEXT")), ==, 3);
  g_assert_true (ferry_imap_response_has_code (nth (r, 6), "CLIENTBUG"));
  g_assert_cmpuint (nth (r, 7)->number, ==, 1);
  g_assert_cmpstr (nth (r, 7)->name, ==, "EXPUNGE");

  copyuid = nth (r, 9)->code->args;
  g_assert_cmpuint (code_number (nth (r, 9), "COPYUID", 0), ==, 1796190394);
  g_assert_cmpint (item (copyuid, 1)->type, ==, FERRY_IMAP_VALUE_ATOM);
  g_assert_cmpstr (item (copyuid, 1)->text, ==, "2,4:6");
  g_assert_cmpstr (item (copyuid, 2)->text, ==, "1:4");
  g_assert_cmpstr (nth (r, 9)->code->text, ==, "1796190394 2,4:6 1:4");

  g_assert_cmpstr (nth (r, 13)->name, ==, "ENABLED");
  g_assert_true (ferry_imap_response_has_code (nth (r, 14), "CLOSED"));
  g_assert_cmpint (nth (r, 15)->status, ==, FERRY_IMAP_STATUS_NO);
  g_assert_null (nth (r, 15)->code);
  g_assert_cmpint (nth (r, 16)->status, ==, FERRY_IMAP_STATUS_BAD);
  g_assert_true (ferry_imap_response_has_code (nth (r, 17), "ALREADYEXISTS"));
  g_assert_true (ferry_imap_response_has_code (nth (r, 18), "TRYCREATE"));

  g_assert_cmpstr (nth (r, 19)->name, ==, "VANISHED");
  g_assert_true (ferry_imap_value_is_atom (item (item (vanished, 0), 0), "EARLIER"));
  g_assert_cmpstr (item (vanished, 1)->text, ==, "1:2");
  g_assert_cmpuint (ferry_imap_value_n_items (nth (r, 20)->data), ==, 0);
  g_assert_cmpint (nth (r, 21)->status, ==, FERRY_IMAP_STATUS_BYE);
  g_assert_cmpstr (nth (r, 21)->text, ==, "Logging out");
}

/* Another session changed flags and expunged while this one was idle;
 * Dovecot tells at the next command, before its tagged reply. */
static const char dovecot_pushes[]
    = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1)\r\n"
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1 "
      "\\*)] Flags permitted.\r\n"
      "* 2 FETCH (FLAGS (\\Seen \\Recent $Label1))\r\n"
      "* 1 EXPUNGE\r\n"
      "a5 OK NOOP completed (0.001 + 0.000 secs).\r\n"
      "* 1 FETCH (UID 4 FLAGS (\\Seen \\Recent $Label1) BODY[TEXT]<0> {10}\r\n"
      "--XX\r\n"
      "Cont)\r\n"
      "a6 OK Fetch completed (0.002 + 0.000 + 0.001 secs).\r\n";

static void
test_dovecot_pushes (void)
{
  g_autoptr (GByteArray) streamed = g_byte_array_new ();
  g_autoptr (GPtrArray) r = parse_streaming (dovecot_pushes, strlen (dovecot_pushes), streamed);
  const FerryImapValue *push = item (nth (r, 2)->data, 0);
  const FerryImapValue *partial = item (nth (r, 5)->data, 0);

  g_assert_cmpuint (r->len, ==, 7);
  g_assert_null (ferry_imap_value_lookup (push, "UID"));
  g_assert_cmpuint (ferry_imap_value_n_items (ferry_imap_value_lookup (push, "FLAGS")), ==, 3);
  g_assert_cmpuint (nth (r, 3)->number, ==, 1);
  g_assert_cmpstr (item (partial, 4)->text, ==, "BODY[TEXT]<0>");
  g_assert_cmpint (item (partial, 5)->type, ==, FERRY_IMAP_VALUE_STREAMED);
  g_assert_cmpmem (streamed->data, streamed->len, "--XX\r\nCont", 10);
}

static const char dovecot_structures[]
    = "* 2 FETCH (UID 4 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
      "\"7bit\" 5 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
      "11 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"XX\") NIL NIL NIL))\r\n"
      "a4 OK Fetch completed (0.001 + 0.000 secs).\r\n"
      "* 1 FETCH (UID 3 ENVELOPE (NIL {3}\r\n"
      "\"q\" NIL NIL NIL NIL NIL NIL NIL \"<d4@example.org>\"))\r\n"
      "a6 OK Fetch completed (0.001 + 0.000 secs).\r\n";

static void
test_dovecot_nested_lists (void)
{
  g_autoptr (GPtrArray) r = parse (dovecot_structures);
  const FerryImapValue *structure
      = ferry_imap_value_lookup (item (nth (r, 0)->data, 0), "BODYSTRUCTURE");
  const FerryImapValue *envelope = ferry_imap_value_lookup (item (nth (r, 2)->data, 0), "ENVELOPE");

  g_assert_cmpuint (ferry_imap_value_n_items (structure), ==, 7);
  g_assert_cmpint (item (item (structure, 1), 1)->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_cmpstr (item (item (structure, 1), 1)->text, ==, "html");
  g_assert_cmpuint (number_of (item (item (structure, 1), 6)), ==, 11);
  g_assert_cmpint (item (item (structure, 0), 3)->type, ==, FERRY_IMAP_VALUE_NIL);
  g_assert_cmpstr (item (structure, 2)->text, ==, "alternative");

  g_assert_cmpuint (ferry_imap_value_n_items (envelope), ==, 10);
  g_assert_cmpint (item (envelope, 0)->type, ==, FERRY_IMAP_VALUE_NIL);
  g_assert_true (item (envelope, 1)->literal);
  g_assert_cmpstr (item (envelope, 1)->text, ==, "\"q\"");
  g_assert_cmpstr (item (envelope, 9)->text, ==, "<d4@example.org>");
}

/* Legal responses Dovecot does not send ----------------------------------------- */

static void
test_literals_in_lists (void)
{
  g_autoptr (GPtrArray) r = parse ("* LIST (\\Noselect) NIL {7}\r\n"
                                   "a)b\"c\\d\r\n"
                                   "* LIST () \"\\\\\" {0}\r\n"
                                   "\r\n"
                                   "* 7 FETCH (X-ITEMS ({2}\r\n"
                                   "ab {1}\r\n"
                                   "c) FLAGS ())\r\n");
  const FerryImapValue *list = nth (r, 0)->data;
  const FerryImapValue *items = item (nth (r, 2)->data, 0);

  g_assert_cmpuint (r->len, ==, 3);
  g_assert_cmpint (item (list, 1)->type, ==, FERRY_IMAP_VALUE_NIL);
  g_assert_null (ferry_imap_value_get_string (item (list, 1)));
  g_assert_cmpstr (item (list, 2)->text, ==, "a)b\"c\\d");
  g_assert_cmpstr (item (nth (r, 1)->data, 1)->text, ==, "\\");
  g_assert_cmpint (item (nth (r, 1)->data, 2)->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_cmpuint (item (nth (r, 1)->data, 2)->length, ==, 0);
  g_assert_cmpstr (item (item (items, 1), 0)->text, ==, "ab");
  g_assert_cmpstr (item (item (items, 1), 1)->text, ==, "c");
  g_assert_cmpuint (ferry_imap_value_n_items (ferry_imap_value_lookup (items, "FLAGS")), ==, 0);
}

static void
test_quoted_escapes (void)
{
  g_autoptr (GPtrArray) r = parse ("* LIST (\\HasChildren) \".\" \"a \\\"b\\\" \\\\c ü\"\r\n"
                                   "* X-EMPTY \"\" ()\r\n");
  const FerryImapValue *name = item (nth (r, 0)->data, 2);

  g_assert_cmpstr (name->text, ==, "a \"b\" \\c ü");
  g_assert_false (name->literal);
  g_assert_cmpstr (item (nth (r, 1)->data, 0)->text, ==, "");
  g_assert_cmpuint (ferry_imap_value_n_items (item (nth (r, 1)->data, 1)), ==, 0);
}

/* RFC 3501 7.4.2 lets items come in any order: here the body arrives
 * before the UID, and two literals share one response. */
static void
test_fetch_items_in_any_order (void)
{
  static const char text[] = "* 12 FETCH (BODY[] {5}\r\n"
                             "hello RFC822.SIZE 5 BODY[HEADER.FIELDS (MESSAGE-ID)] {4}\r\n"
                             "x\r\n\r"
                             " MODSEQ (12345678901234) UID 99 FLAGS (\\Seen))\r\n";
  g_autoptr (GByteArray) streamed = g_byte_array_new ();
  g_autoptr (GPtrArray) r = parse_streaming (text, strlen (text), streamed);
  const FerryImapValue *items = item (nth (r, 0)->data, 0);

  g_assert_cmpuint (number_of (ferry_imap_value_lookup (items, "UID")), ==, 99);
  g_assert_cmpint (ferry_imap_value_lookup (items, "BODY[]")->type, ==, FERRY_IMAP_VALUE_STREAMED);
  g_assert_cmpstr (ferry_imap_value_lookup (items, "BODY[HEADER.FIELDS (MESSAGE-ID)]")->text, ==,
                   "x\r\n\r");
  g_assert_cmpuint (number_of (item (ferry_imap_value_lookup (items, "MODSEQ"), 0)), ==,
                    12345678901234);
  g_assert_cmpmem (streamed->data, streamed->len, "hello", 5);
}

static void
test_literal8 (void)
{
  static const char text[] = "* 3 FETCH (UID 8 BINARY[1] ~{4}\r\n"
                             "a\0b\n)\r\n"
                             "* 4 FETCH (UID 9 BINARY.SIZE[1] 4)\r\n";
  g_autoptr (GPtrArray) r = parse_streaming (text, sizeof text - 1, NULL);
  const FerryImapValue *binary = ferry_imap_value_lookup (item (nth (r, 0)->data, 0), "BINARY[1]");

  g_assert_cmpint (binary->type, ==, FERRY_IMAP_VALUE_STRING);
  g_assert_true (binary->literal);
  g_assert_cmpmem (binary->text, binary->length, "a\0b\n", 4);
  g_assert_cmpuint (r->len, ==, 2);
}

static void
test_continuations_and_codes (void)
{
  g_autoptr (GPtrArray) r = parse ("+ idling\r\n"
                                   "+\r\n"
                                   "+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"
                                   "* NO [ALERT] Your mailbox is over quota \x1b[31m!\r\n"
                                   "* OK [X-ODD {weird] text\r\n"
                                   "* OK [unterminated code\r\n"
                                   "* OK [BADCHARSET (UTF-8 \"ISO-8859-1\")] x\r\n"
                                   "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as \xff\r\n"
                                   "A0001 OK [READ-ONLY]\r\n"
                                   "a1 OK\r\n");

  g_assert_cmpint (nth (r, 0)->kind, ==, FERRY_IMAP_RESPONSE_CONTINUATION);
  g_assert_cmpstr (nth (r, 0)->text, ==, "idling");
  g_assert_null (nth (r, 0)->name);
  g_assert_cmpstr (nth (r, 1)->text, ==, "");
  g_assert_cmpstr (nth (r, 2)->text, ==, "eyJzdGF0dXMiOiI0MDEifQ==");
  g_assert_true (ferry_imap_response_has_code (nth (r, 3), "ALERT"));
  g_assert_cmpstr (nth (r, 3)->text, ==, "Your mailbox is over quota  [31m!");
  g_assert_cmpstr (nth (r, 4)->code->name, ==, "X-ODD");
  g_assert_cmpstr (nth (r, 4)->code->text, ==, "{weird");
  g_assert_null (nth (r, 4)->code->args);
  g_assert_cmpstr (nth (r, 4)->text, ==, "text");
  g_assert_null (nth (r, 5)->code);
  g_assert_cmpstr (nth (r, 5)->text, ==, "[unterminated code");
  g_assert_cmpuint (ferry_imap_value_n_items (item (nth (r, 6)->code->args, 0)), ==, 2);
  g_assert_cmpint (nth (r, 7)->status, ==, FERRY_IMAP_STATUS_PREAUTH);
  g_assert_true (g_utf8_validate (nth (r, 7)->text, -1, NULL));
  g_assert_true (ferry_imap_response_has_code (nth (r, 8), "READ-ONLY"));
  g_assert_cmpstr (nth (r, 8)->text, ==, "");
  g_assert_cmpstr (nth (r, 9)->tag, ==, "a1");
  g_assert_cmpstr (nth (r, 9)->text, ==, "");
}

static void
test_numbers (void)
{
  g_autoptr (GPtrArray) r = parse ("* LIST () \"/\" 2024\r\n"
                                   "* LIST () \"/\" 99999999999999999999999\r\n"
                                   "* 4294967295 EXISTS\r\n"
                                   "* OK [HIGHESTMODSEQ 9223372036854775807] Highest\r\n");

  g_assert_cmpint (item (nth (r, 0)->data, 2)->type, ==, FERRY_IMAP_VALUE_NUMBER);
  g_assert_cmpstr (ferry_imap_value_get_string (item (nth (r, 0)->data, 2)), ==, "2024");
  g_assert_cmpint (item (nth (r, 1)->data, 2)->type, ==, FERRY_IMAP_VALUE_ATOM);
  g_assert_cmpuint (nth (r, 2)->number, ==, G_MAXUINT32);
  g_assert_cmpuint (code_number (nth (r, 3), "HIGHESTMODSEQ", 0), ==, G_MAXINT64);
}

static void
test_bare_newlines (void)
{
  g_autoptr (GPtrArray) r = parse ("* 3 EXISTS\n* 1 EXPUNGE\r\na OK done\n");

  g_assert_cmpuint (r->len, ==, 3);
  g_assert_cmpstr (nth (r, 2)->text, ==, "done");
}

static void
test_sink_error_fails_the_feed (void)
{
  g_autoptr (FerryImapParser) parser = ferry_imap_parser_new ();
  g_autoptr (GError) error = NULL;
  static const char text[] = "* 1 FETCH (BODY[] {5}\r\nhello)\r\n";
  gsize consumed = 0;

  g_assert_cmpint (
      ferry_imap_parser_feed (parser, (const guint8 *) text, strlen (text), &consumed, &error), ==,
      FERRY_IMAP_PARSE_LITERAL);
  g_assert_cmpuint (ferry_imap_parser_literal_size (parser), ==, 5);
  ferry_imap_parser_stream_literal (parser, refuse_bytes, NULL);
  g_assert_cmpint (ferry_imap_parser_feed (parser, (const guint8 *) text + consumed,
                                           strlen (text) - consumed, &consumed, &error),
                   ==, FERRY_IMAP_PARSE_ERROR);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IO);
}

/* Malformed input ------------------------------------------------------------- */

typedef struct
{
  const char *text;
  const char *message; /* a part of the error message */
  gsize length;        /* 0: strlen (text) */
} Malformed;

static const Malformed malformed[] = {
  { "* LIST () \"/\" \"INBOX\r\n", "unterminated quoted string" },
  { "* LIST () \"/\" \"a\\b\"\r\n", "backslash" },
  { "* LIST () \"/\" \"a\rb\"\r\n", "carriage return" },
  { "* 1 FETCH (UID 1))\r\n", "“)” without its “(”" },
  { "* 1 FETCH (UID 1 FLAGS (\\Seen)\r\n", "“(” without its “)”" },
  { "* 1 FETCH (UID 1 BODY[ {3}\r\n", "“[” without its “]”" },
  { "* 1 FETCH (UID 1 BODY[] {3}x\r\nabc)\r\n", "malformed literal" },
  { "* 1 FETCH (UID 1 BODY[] {}\r\n)\r\n", "malformed literal" },
  { "* 1 FETCH (UID 1 BODY[] {3+}\r\nabc)\r\n", "malformed literal" },
  { "* 1 FETCH (UID 1 BODY[] {4294967296}\r\n", "32-bit" },
  { "* 1 FETCH (UID 1 BODY[] {99999999999999999999999}\r\n", "32-bit" },
  { "* 4294967296 EXISTS\r\n", "32-bit" },
  { "* 1 FETCH (UID 1 BODY[] {3}\r\nabcFLAGS ())\r\n", "without a space" },
  { "* X \"a\"\"b\"\r\n", "without a space" },
  { "* X (a)b\r\n", "without a space" },
  { "* X a\x01z\r\n", "unexpected character 0x01" },
  { "* X a\"b\r\n", "unexpected character 0x22" },
  { "* X \0\r\n", "NUL byte", 7 },
  { "*\r\n", "neither tagged" },
  { "* \r\n", "without a name" },
  { "* (LIST)\r\n", "without a name" },
  { "* 3\r\n", "without a name" },
  { "\r\n", "neither tagged" },
  { "a1 MAYBE done\r\n", "not OK, NO or BAD" },
  { "a1\r\n", "not OK, NO or BAD" },
  { "(a1 OK\r\n", "neither tagged" },
};

static void
test_malformed (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      gsize length = malformed[i].length != 0 ? malformed[i].length : strlen (malformed[i].text);

      for (guint c = 0; c < G_N_ELEMENTS (chunk_sizes); c++)
        {
          g_autoptr (GError) error = NULL;
          Feeding feeding = { .chunk = chunk_sizes[c] };
          g_autoptr (GPtrArray) r = parse_with (malformed[i].text, length, &feeding, &error);

          g_assert_null (r);
          g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
          if (strstr (error->message, malformed[i].message) == NULL)
            g_error ("case %u: expected “%s” in “%s”", i, malformed[i].message, error->message);
        }
    }
}

static void
assert_refused (const char *text, gsize length, const Feeding *feeding, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) r = parse_with (text, length, feeding, &error);

  g_assert_null (r);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  if (strstr (error->message, message) == NULL)
    g_error ("expected “%s” in “%s”", message, error->message);
}

static void
test_limits (void)
{
  Feeding small = { .chunk = 100, .max_response = 1000, .max_literal = 100 };
  g_autoptr (GString) long_line = g_string_new ("* OK ");
  g_autoptr (GString) many_values = g_string_new ("* SEARCH");
  g_autoptr (GString) deep = g_string_new ("* X ");
  g_autoptr (GString) many_literals = g_string_new ("* X (");
  g_autoptr (GString) fits = g_string_new ("* 1 FETCH (BODY[] {5000}\r\n");
  g_autoptr (GByteArray) streamed = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) r = NULL;

  /* No line end ever comes: refused as soon as the line is too long. */
  for (guint i = 0; i < 2000; i++)
    g_string_append_c (long_line, 'x');
  assert_refused (long_line->str, long_line->len, &small, "a line longer than 1000 bytes");

  for (guint i = 0; i < 60; i++)
    g_string_append (many_values, " 1");
  g_string_append (many_values, "\r\n");
  assert_refused (many_values->str, many_values->len, &small, "larger than 1000 bytes");

  for (guint i = 0; i < FERRY_IMAP_PARSER_MAX_DEPTH + 1; i++)
    g_string_append_c (deep, '(');
  for (guint i = 0; i < FERRY_IMAP_PARSER_MAX_DEPTH + 1; i++)
    g_string_append_c (deep, ')');
  g_string_append (deep, "\r\n");
  assert_refused (deep->str, deep->len, &(Feeding){ .chunk = 100 }, "nested more than 64 deep");

  assert_refused ("* LIST () \"/\" {101}\r\nx", 22, &small, "a 101-byte string");

  for (guint i = 0; i < 20; i++)
    g_string_append (many_literals,
                     "{90}\r\n"
                     "0123456789012345678901234567890123456789012345678901234567890123"
                     "45678901234567890123456789 ");
  g_string_append (many_literals, ")\r\n");
  assert_refused (many_literals->str, many_literals->len, &small, "larger than 1000 bytes");

  /* A streamed literal is not held, so it may be larger than both. */
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (fits, 'a' + i % 26);
  g_string_append (fits, ")\r\n");
  small.streamed = streamed;
  r = parse_with (fits->str, fits->len, &small, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 1);
  g_assert_cmpuint (streamed->len, ==, 5000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap-parser/dovecot/greeting-and-login", test_dovecot_greeting_and_login);
  g_test_add_func ("/imap-parser/dovecot/select", test_dovecot_select);
  g_test_add_func ("/imap-parser/dovecot/fetch-headers", test_dovecot_fetch_headers);
  g_test_add_func ("/imap-parser/dovecot/fetch-body-streamed", test_dovecot_fetch_body_streamed);
  g_test_add_func ("/imap-parser/dovecot/fetch-body-kept", test_dovecot_fetch_body_kept);
  g_test_add_func ("/imap-parser/dovecot/modseq", test_dovecot_modseq);
  g_test_add_func ("/imap-parser/dovecot/list", test_dovecot_list);
  g_test_add_func ("/imap-parser/dovecot/session", test_dovecot_session);
  g_test_add_func ("/imap-parser/dovecot/pushes", test_dovecot_pushes);
  g_test_add_func ("/imap-parser/dovecot/nested-lists", test_dovecot_nested_lists);
  g_test_add_func ("/imap-parser/literals-in-lists", test_literals_in_lists);
  g_test_add_func ("/imap-parser/quoted-escapes", test_quoted_escapes);
  g_test_add_func ("/imap-parser/fetch-items-in-any-order", test_fetch_items_in_any_order);
  g_test_add_func ("/imap-parser/literal8", test_literal8);
  g_test_add_func ("/imap-parser/continuations-and-codes", test_continuations_and_codes);
  g_test_add_func ("/imap-parser/numbers", test_numbers);
  g_test_add_func ("/imap-parser/bare-newlines", test_bare_newlines);
  g_test_add_func ("/imap-parser/sink-error", test_sink_error_fails_the_feed);
  g_test_add_func ("/imap-parser/malformed", test_malformed);
  g_test_add_func ("/imap-parser/limits", test_limits);

  return g_test_run ();
}
