/* fuzz-imap-parser.c: the IMAP response parser, src/imap/imap-parser.c
 *
 * The input is what a server sends, after one byte that sets how it is
 * cut into reads. Literals are kept or streamed by turns. Asserts what the
 * parser promises its callers: every byte is taken or an error says why,
 * the text of a response is fit to show, and a streamed literal delivers
 * exactly the bytes it announced.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdint.h>

#include "imap/imap-parser.h"

/* Small limits, so that inputs of a few kilobytes reach them. */
#define MAX_RESPONSE 65536
#define MAX_LITERAL  1024

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  guint64 announced;
  guint64 received;
} Streamed;

static gboolean
count_literal (const guint8 *data, gsize length, gpointer user_data, GError **error)
{
  Streamed *streamed = user_data;

  (void) data;
  (void) error;
  streamed->received += length;
  g_assert_cmpuint (streamed->received, <=, streamed->announced);
  return TRUE;
}

static void
check_text (const char *text)
{
  g_assert_nonnull (text);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    g_assert_false (g_unichar_iscntrl (g_utf8_get_char (p)));
}

static void
check_value (const FerryImapValue *value, guint depth)
{
  g_assert_cmpuint (depth, <=, FERRY_IMAP_PARSER_MAX_DEPTH + 1);
  switch (value->type)
    {
      case FERRY_IMAP_VALUE_LIST:
        for (guint i = 0; i < ferry_imap_value_n_items (value); i++)
          check_value (ferry_imap_value_get_item (value, i), depth + 1);
        break;
      case FERRY_IMAP_VALUE_ATOM:
      case FERRY_IMAP_VALUE_NUMBER:
      case FERRY_IMAP_VALUE_STRING:
        g_assert_nonnull (value->text);
        g_assert_cmpint (value->text[value->length], ==, '\0');
        break;
      case FERRY_IMAP_VALUE_NIL:
      case FERRY_IMAP_VALUE_STREAMED:
        break;
      default:
        g_assert_not_reached ();
    }
}

static void
check_response (const FerryImapResponse *response)
{
  if (response->kind == FERRY_IMAP_RESPONSE_TAGGED)
    {
      g_assert_nonnull (response->tag);
      g_assert_true (response->status == FERRY_IMAP_STATUS_OK
                     || response->status == FERRY_IMAP_STATUS_NO
                     || response->status == FERRY_IMAP_STATUS_BAD);
    }
  if (response->status != FERRY_IMAP_STATUS_NONE
      || response->kind == FERRY_IMAP_RESPONSE_CONTINUATION)
    check_text (response->text);
  if (response->code != NULL)
    {
      g_assert_nonnull (response->code->name);
      if (response->code->args != NULL)
        check_value (response->code->args, 0);
    }
  if (response->data != NULL)
    check_value (response->data, 0);
}

/* Feeds @data in reads of at most @chunk bytes; stops at the first error. */
static void
parse_all (const guint8 *data, gsize size, gsize chunk)
{
  g_autoptr (FerryImapParser) parser = ferry_imap_parser_new ();
  Streamed streamed = { 0, 0 };
  guint literals = 0;
  gsize offset = 0;

  ferry_imap_parser_set_limits (parser, MAX_RESPONSE, MAX_LITERAL);
  while (offset < size)
    {
      g_autoptr (GError) error = NULL;
      gsize length = MIN (chunk, size - offset);
      gsize consumed = 0;
      FerryImapParseEvent event
          = ferry_imap_parser_feed (parser, data + offset, length, &consumed, &error);

      g_assert_cmpuint (consumed, <=, length);
      offset += consumed;
      if (event == FERRY_IMAP_PARSE_ERROR)
        {
          g_assert_nonnull (error);
          return;
        }
      g_assert_no_error (error);
      if (event == FERRY_IMAP_PARSE_MORE)
        g_assert_cmpuint (consumed, ==, length);
      else if (event == FERRY_IMAP_PARSE_RESPONSE)
        {
          g_autoptr (FerryImapResponse) response = ferry_imap_parser_take_response (parser);

          check_response (response);
          g_assert_cmpuint (streamed.received, ==, streamed.announced);
        }
      else if (event == FERRY_IMAP_PARSE_LITERAL && literals++ % 2 == 1)
        {
          g_assert_cmpuint (streamed.received, ==, streamed.announced);
          streamed.announced += ferry_imap_parser_literal_size (parser);
          ferry_imap_parser_stream_literal (parser, count_literal, &streamed);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  /* 1 to 256 bytes a read: a server's responses come cut anywhere. */
  parse_all (data + 1, size - 1, (gsize) data[0] + 1);
  return 0;
}
