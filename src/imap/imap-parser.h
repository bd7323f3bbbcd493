/* imap-parser.h: an incremental parser for IMAP4rev1 server responses
 *
 * The parser is fed the bytes of a connection as they arrive and turns
 * them into responses: a tree of values per response (RFC 3501 section 9,
 * "response"). It stops at the start of every literal so that the caller
 * can choose where the literal's bytes go: into memory (small strings such
 * as a mailbox name) or to a sink (a message body written to a file), so
 * that a 50 MB message never has to be held in memory.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Default limits against a hostile or broken server. */
#define FERRY_IMAP_PARSER_MAX_RESPONSE                                                             \
  (32 * 1024 * 1024)                              /* bytes of one response held in memory          \
                                                   */
#define FERRY_IMAP_PARSER_MAX_LITERAL (64 * 1024) /* bytes of one literal held in memory */
#define FERRY_IMAP_PARSER_MAX_DEPTH   64          /* nested parenthesized lists */

typedef enum
{
  FERRY_IMAP_VALUE_ATOM,     /* also flags (\Seen), sets (1:3,5) and FETCH items (BODY[TEXT]) */
  FERRY_IMAP_VALUE_NUMBER,   /* an atom of digits that fits 64 bits; text keeps its spelling */
  FERRY_IMAP_VALUE_STRING,   /* a quoted string, or a literal kept in memory */
  FERRY_IMAP_VALUE_NIL,      /* NIL */
  FERRY_IMAP_VALUE_LIST,     /* a parenthesized list */
  FERRY_IMAP_VALUE_STREAMED, /* a literal whose bytes went to a sink; number is its size */
} FerryImapValueType;

typedef struct _FerryImapValue FerryImapValue;

struct _FerryImapValue
{
  FerryImapValueType type;
  char *text;       /* ATOM, NUMBER, STRING: NUL-terminated; a literal8 may hold NULs */
  gsize length;     /* bytes in text */
  guint64 number;   /* NUMBER: its value; STREAMED: the literal's size */
  gboolean literal; /* STRING or STREAMED: it came as a literal ({N} or ~{N}) */
  GPtrArray *items; /* LIST: FerryImapValue */
};

typedef enum
{
  FERRY_IMAP_RESPONSE_UNTAGGED,     /* "* ..." */
  FERRY_IMAP_RESPONSE_TAGGED,       /* "TAG OK|NO|BAD ..." */
  FERRY_IMAP_RESPONSE_CONTINUATION, /* "+ ..." */
} FerryImapResponseKind;

typedef enum
{
  FERRY_IMAP_STATUS_NONE, /* not a status response: "* 3 EXISTS", "* LIST ..." */
  FERRY_IMAP_STATUS_OK,
  FERRY_IMAP_STATUS_NO,
  FERRY_IMAP_STATUS_BAD,
  FERRY_IMAP_STATUS_PREAUTH,
  FERRY_IMAP_STATUS_BYE,
} FerryImapStatus;

/* A response code, the "[...]" of a status response (RFC 3501 7.1). */
typedef struct
{
  char *name;           /* upper case: "UIDVALIDITY", "APPENDUID", "ALERT" */
  char *text;           /* what followed the name up to "]"; "" when nothing did */
  FerryImapValue *args; /* text parsed as values (a LIST), or NULL when it does not parse */
} FerryImapCode;

typedef struct
{
  FerryImapResponseKind kind;
  char *tag;              /* TAGGED only */
  FerryImapStatus status; /* OK, NO or BAD for TAGGED; any for UNTAGGED */
  char *name;             /* upper case: "OK", "BYE", "EXISTS", "FETCH", "LIST"; NULL for "+" */
  gboolean has_number;    /* "* 3 EXISTS": number is the 3 */
  guint32 number;
  FerryImapCode *code;  /* status responses: the response code, or NULL */
  char *text;           /* status responses and "+": the human-readable text, valid UTF-8
                         * without control characters, fit to show; "" when none */
  FerryImapValue *data; /* other untagged responses: the values after name (a LIST) */
} FerryImapResponse;

typedef enum
{
  FERRY_IMAP_PARSE_MORE,     /* every byte was taken; feed more */
  FERRY_IMAP_PARSE_RESPONSE, /* a response is complete: ferry_imap_parser_take_response() */
  FERRY_IMAP_PARSE_LITERAL,  /* a literal starts: keep it (the default) or stream it */
  FERRY_IMAP_PARSE_ERROR,    /* the server sent something that is not IMAP; give up */
} FerryImapParseEvent;

/* Receives a streamed literal's bytes as they arrive. */
typedef gboolean (*FerryImapLiteralSink) (const guint8 *data,
                                          gsize length,
                                          gpointer user_data,
                                          GError **error);

typedef struct _FerryImapParser FerryImapParser;

FerryImapParser *ferry_imap_parser_new (void);
void ferry_imap_parser_free (FerryImapParser *self);
void ferry_imap_parser_set_limits (FerryImapParser *self, gsize max_response, gsize max_literal);

FerryImapParseEvent ferry_imap_parser_feed (
    FerryImapParser *self, const guint8 *data, gsize length, gsize *consumed, GError **error);
FerryImapResponse *ferry_imap_parser_take_response (FerryImapParser *self);

guint64 ferry_imap_parser_literal_size (FerryImapParser *self);
const FerryImapResponse *ferry_imap_parser_partial_response (FerryImapParser *self);
const FerryImapValue *ferry_imap_parser_literal_parent (FerryImapParser *self, guint *depth);
void ferry_imap_parser_stream_literal (FerryImapParser *self,
                                       FerryImapLiteralSink sink,
                                       gpointer user_data);

void ferry_imap_response_free (FerryImapResponse *response);
gboolean ferry_imap_response_has_code (const FerryImapResponse *response, const char *name);

const char *ferry_imap_value_get_string (const FerryImapValue *value);
gboolean ferry_imap_value_get_number (const FerryImapValue *value, guint64 *out);
gboolean ferry_imap_value_is_atom (const FerryImapValue *value, const char *name);
guint ferry_imap_value_n_items (const FerryImapValue *value);
const FerryImapValue *ferry_imap_value_get_item (const FerryImapValue *value, guint index);
const FerryImapValue *ferry_imap_value_lookup (const FerryImapValue *list, const char *key);

gboolean ferry_imap_code_get_number (const FerryImapCode *code, guint index, guint64 *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapParser, ferry_imap_parser_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapResponse, ferry_imap_response_free)

G_END_DECLS
