/* imap-parser.c: an incremental parser for IMAP4rev1 server responses
 *
 * A response is one or more lines: a line that ends in a literal marker
 * {N} (or ~{N}, RFC 3516) is followed by N bytes of literal data and then
 * by the rest of the response, which may end in another literal. The
 * parser collects a line, tokenizes it into the open lists of the response
 * being built, and when the line ends in a marker it hands control to the
 * caller before it takes the first byte of the literal. Nothing else in a
 * line can span lines, so tokenizing works on whole lines.
 *
 * Everything a server sends is bounded: a line and the memory a response
 * takes (values included) by max_response, a literal kept in memory by
 * max_literal, the nesting of lists by FERRY_IMAP_PARSER_MAX_DEPTH, and a
 * literal's size by the 32-bit "number" of RFC 3501 section 9.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "core/printable-text.h"
#include "imap/imap-parser.h"

#define EXCERPT_LENGTH 60
#define VALUE_COST     (sizeof (FerryImapValue) + sizeof (gpointer))
#define SHRINK_LINE_AT (64 * 1024)

typedef enum
{
  STATE_LINE,
  STATE_LITERAL,
} ParserState;

/* What may follow the token just read. */
typedef enum
{
  SEPARATOR_NONE,        /* anything: start of a line, after "(" or a space */
  SEPARATOR_NEEDED,      /* a space or ")": after an atom, a string or a literal */
  SEPARATOR_AFTER_CLOSE, /* a space, ")" or "(": multipart BODYSTRUCTURE writes ")(" */
} Separator;

typedef enum
{
  TOKENS_DONE,
  TOKENS_LITERAL,
  TOKENS_FAILED,
} TokensResult;

struct _FerryImapParser
{
  ParserState state;
  gsize max_response;
  gsize max_literal;
  gboolean failed;

  GByteArray *line;            /* the line being collected, without its CRLF */
  FerryImapResponse *response; /* being built; NULL between responses */
  GPtrArray *stack;            /* open lists, innermost last; [0] is response->data */
  gsize used;                  /* memory the response takes, against max_response */
  FerryImapResponse *complete; /* waiting for ferry_imap_parser_take_response() */

  guint64 literal_size;
  guint64 literal_left;
  gboolean literal_binary;
  gboolean literal_started; /* the first byte arrived: the caller's choice is final */
  FerryImapLiteralSink sink;
  gpointer sink_data;
  GByteArray *literal_data; /* a literal kept in memory */
};

/* Values ----------------------------------------------------------------- */

static void
value_free (FerryImapValue *value)
{
  if (value == NULL)
    return;
  g_free (value->text);
  if (value->items != NULL)
    g_ptr_array_unref (value->items);
  g_free (value);
}

static FerryImapValue *
value_new (FerryImapValueType type)
{
  FerryImapValue *value = g_new0 (FerryImapValue, 1);

  value->type = type;
  if (type == FERRY_IMAP_VALUE_LIST)
    value->items = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  return value;
}

static gboolean
parse_u64 (const char *text, gsize length, guint64 *out)
{
  guint64 value = 0;

  if (length == 0)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      guint digit;

      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      digit = (guint) (text[i] - '0');
      if (value > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
    }
  *out = value;
  return TRUE;
}

/* Errors ----------------------------------------------------------------- */

static void set_error (FerryImapParser *self, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* Says what was wrong and where: the start of the line it was found in. */
static void
set_error (FerryImapParser *self, GError **error, const char *format, ...)
{
  g_autofree char *problem = NULL;
  g_autofree char *excerpt = NULL;
  va_list args;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);

  if (self->line->len == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL, problem);
      return;
    }
  excerpt = ferry_printable_text ((const char *) self->line->data,
                                  MIN (self->line->len, EXCERPT_LENGTH));
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL, "%s in “%s%s”", problem, excerpt,
               self->line->len > EXCERPT_LENGTH ? "…" : "");
}

static gboolean
charge (FerryImapParser *self, gsize bytes, GError **error)
{
  if (bytes > self->max_response - self->used)
    {
      set_error (self, error, "a response larger than %zu bytes", self->max_response);
      return FALSE;
    }
  self->used += bytes;
  return TRUE;
}

static gboolean
append_value (FerryImapParser *self, GPtrArray *stack, FerryImapValue *value, GError **error)
{
  FerryImapValue *list = g_ptr_array_index (stack, stack->len - 1);

  if (!charge (self, VALUE_COST + value->length, error))
    {
      value_free (value);
      return FALSE;
    }
  g_ptr_array_add (list->items, value);
  return TRUE;
}

/* Tokens ----------------------------------------------------------------- */

static gboolean
is_control (guchar c)
{
  return c < 0x20 || c == 0x7f;
}

/* RFC 3501 section 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE, where only
 * DQUOTE and backslash are escaped. Eight-bit bytes are let through for
 * servers that send UTF-8 (RFC 6855). */
static gboolean
read_quoted (
    FerryImapParser *self, GPtrArray *stack, const char **pos, const char *end, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  FerryImapValue *value;
  const char *p = *pos + 1;

  for (; p < end && *p != '"'; p++)
    {
      if (*p == '\\')
        {
          if (p + 1 == end || (p[1] != '"' && p[1] != '\\'))
            {
              set_error (self, error, "a backslash that escapes nothing");
              return FALSE;
            }
          p++;
        }
      else if (*p == '\r')
        {
          set_error (self, error, "a carriage return inside a quoted string");
          return FALSE;
        }
      g_string_append_c (text, *p);
    }
  if (p == end)
    {
      set_error (self, error, "an unterminated quoted string");
      return FALSE;
    }
  *pos = p + 1;

  value = value_new (FERRY_IMAP_VALUE_STRING);
  value->length = text->len;
  value->text = g_string_free (g_steal_pointer (&text), FALSE);
  return append_value (self, stack, value, error);
}

/* A FETCH item name such as BODY[HEADER.FIELDS (MESSAGE-ID)]<0> holds
 * spaces and parentheses between its brackets (RFC 3501 7.4.2). */
static const char *
skip_section (const char *p, const char *end)
{
  gboolean quoted = FALSE;

  for (p++; p < end; p++)
    {
      if (quoted && *p == '\\' && p + 1 < end)
        p++;
      else if (*p == '"')
        quoted = !quoted;
      else if (*p == ']' && !quoted)
        return p + 1;
    }
  return NULL;
}

static gboolean
read_atom (
    FerryImapParser *self, GPtrArray *stack, const char **pos, const char *end, GError **error)
{
  const char *start = *pos;
  const char *p = start;
  FerryImapValue *value;
  gsize length;

  while (p < end && *p != ' ' && *p != '(' && *p != ')')
    {
      if (*p == '[')
        {
          p = skip_section (p, end);
          if (p == NULL)
            {
              set_error (self, error, "a “[” without its “]”");
              return FALSE;
            }
          continue;
        }
      if (is_control ((guchar) *p) || *p == '"' || *p == '{')
        {
          set_error (self, error, "an unexpected character 0x%02x", (guchar) *p);
          return FALSE;
        }
      p++;
    }
  *pos = p;
  length = (gsize) (p - start);

  if (length == 3 && g_ascii_strncasecmp (start, "NIL", 3) == 0)
    value = value_new (FERRY_IMAP_VALUE_NIL);
  else
    {
      guint64 number;

      value = value_new (FERRY_IMAP_VALUE_ATOM);
      if (parse_u64 (start, length, &number))
        {
          value->type = FERRY_IMAP_VALUE_NUMBER;
          value->number = number;
        }
      value->text = g_strndup (start, length);
      value->length = length;
    }
  return append_value (self, stack, value, error);
}

/* "{N}" or "~{N}" must end the line: the literal's bytes follow the CRLF. */
static gboolean
read_literal_marker (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  const char *digits;
  guint64 size;

  self->literal_binary = *p == '~';
  if (self->literal_binary)
    p++;
  digits = p + 1;
  for (p = digits; p < end && g_ascii_isdigit (*p); p++)
    ;
  if (p == digits || p == end || *p != '}' || p + 1 != end)
    {
      set_error (self, error, "a malformed literal");
      return FALSE;
    }
  if (!parse_u64 (digits, (gsize) (p - digits), &size) || size > G_MAXUINT32)
    {
      set_error (self, error, "a literal size that is not a 32-bit number");
      return FALSE;
    }
  self->literal_size = size;
  return TRUE;
}

static TokensResult
tokenize (FerryImapParser *self,
          GPtrArray *stack,
          const char *p,
          const char *end,
          Separator separator,
          GError **error)
{
  while (p < end)
    {
      gboolean ok = TRUE;

      if (*p == ' ')
        {
          p++;
          separator = SEPARATOR_NONE;
          continue;
        }
      if (*p == ')')
        {
          if (stack->len < 2)
            {
              set_error (self, error, "a “)” without its “(”");
              return TOKENS_FAILED;
            }
          g_ptr_array_set_size (stack, stack->len - 1);
          p++;
          separator = SEPARATOR_AFTER_CLOSE;
          continue;
        }
      if (separator == SEPARATOR_NEEDED || (separator == SEPARATOR_AFTER_CLOSE && *p != '('))
        {
          set_error (self, error, "values without a space between them");
          return TOKENS_FAILED;
        }
      if (*p == '(')
        {
          FerryImapValue *list = value_new (FERRY_IMAP_VALUE_LIST);

          if (stack->len > FERRY_IMAP_PARSER_MAX_DEPTH)
            {
              value_free (list);
              set_error (self, error, "lists nested more than %d deep",
                         FERRY_IMAP_PARSER_MAX_DEPTH);
              return TOKENS_FAILED;
            }
          if (!append_value (self, stack, list, error))
            return TOKENS_FAILED;
          g_ptr_array_add (stack, list);
          p++;
          separator = SEPARATOR_NONE;
          continue;
        }
      if (*p == '{' || (*p == '~' && p + 1 < end && p[1] == '{'))
        return read_literal_marker (self, p, end, error) ? TOKENS_LITERAL : TOKENS_FAILED;
      if (*p == '"')
        ok = read_quoted (self, stack, &p, end, error);
      else
        ok = read_atom (self, stack, &p, end, error);
      if (!ok)
        return TOKENS_FAILED;
      separator = SEPARATOR_NEEDED;
    }
  return TOKENS_DONE;
}

/* Response lines ---------------------------------------------------------- */

static FerryImapStatus
status_from_name (const char *name)
{
  static const struct
  {
    const char *name;
    FerryImapStatus status;
  } statuses[] = {
    { "OK", FERRY_IMAP_STATUS_OK },   { "NO", FERRY_IMAP_STATUS_NO },
    { "BAD", FERRY_IMAP_STATUS_BAD }, { "PREAUTH", FERRY_IMAP_STATUS_PREAUTH },
    { "BYE", FERRY_IMAP_STATUS_BYE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (g_str_equal (name, statuses[i].name))
      return statuses[i].status;
  return FERRY_IMAP_STATUS_NONE;
}

static gsize
word_length (const char *p, const char *end)
{
  const char *space = memchr (p, ' ', (gsize) (end - p));

  return (gsize) ((space != NULL ? space : end) - p);
}

static gboolean
is_plain_word (const char *p, gsize length)
{
  if (length == 0)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (is_control ((guchar) p[i]) || strchr ("(){\"%*]", p[i]) != NULL)
      return FALSE;
  return TRUE;
}

/* The end of a response code: the first "]" outside a quoted string. */
static const char *
find_code_end (const char *p, const char *end)
{
  gboolean quoted = FALSE;

  for (; p < end; p++)
    {
      if (quoted && *p == '\\' && p + 1 < end)
        p++;
      else if (*p == '"')
        quoted = !quoted;
      else if (*p == ']' && !quoted)
        return p;
    }
  return NULL;
}

/* Arguments that do not tokenize (a code this parser does not know may
 * hold any text) leave args NULL; the text is still there. */
static gboolean
parse_code_args (FerryImapParser *self, FerryImapCode *code, GError **error)
{
  g_autoptr (GPtrArray) stack = g_ptr_array_new ();
  g_autoptr (GError) local_error = NULL;
  FerryImapValue *args = value_new (FERRY_IMAP_VALUE_LIST);
  const char *end = code->text + strlen (code->text);
  TokensResult result;
  gsize used = self->used;

  g_ptr_array_add (stack, args);
  result = tokenize (self, stack, code->text, end, SEPARATOR_NONE, &local_error);
  if (result == TOKENS_DONE && stack->len == 1)
    {
      code->args = args;
      return TRUE;
    }
  value_free (args);
  self->used = used;
  /* Running out of memory budget is not the code's fault; say so. */
  return charge (self, strlen (code->text), error);
}

/* resp-text = ["[" resp-text-code "]" SP] text (RFC 3501 section 9). A
 * "[" without its "]" is taken as text: it is there to be read by people. */
static gboolean
parse_resp_text (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  FerryImapResponse *response = self->response;
  const char *code_end;

  if (p < end && *p == ' ')
    p++;
  if (p < end && *p == '[' && (code_end = find_code_end (p + 1, end)) != NULL)
    {
      const char *name = p + 1;
      gsize name_length = word_length (name, code_end);

      if (is_plain_word (name, name_length))
        {
          FerryImapCode *code = g_new0 (FerryImapCode, 1);
          const char *text = name + name_length;

          response->code = code;
          code->name = g_ascii_strup (name, (gssize) name_length);
          if (text < code_end)
            text++;
          code->text = g_strndup (text, (gsize) (code_end - text));
          if (!charge (self, name_length + strlen (code->text), error)
              || !parse_code_args (self, code, error))
            return FALSE;
          p = code_end + 1;
          if (p < end && *p == ' ')
            p++;
        }
    }
  response->text = ferry_printable_text (p, end - p);
  return charge (self, strlen (response->text), error);
}

static FerryImapParseEvent
finish_tokens (FerryImapParser *self, TokensResult result, GError **error)
{
  switch (result)
    {
      case TOKENS_LITERAL:
        self->state = STATE_LITERAL;
        self->literal_left = self->literal_size;
        self->literal_started = FALSE;
        self->sink = NULL;
        self->sink_data = NULL;
        return FERRY_IMAP_PARSE_LITERAL;
      case TOKENS_DONE:
        if (self->stack->len == 1)
          return FERRY_IMAP_PARSE_RESPONSE;
        set_error (self, error, "a “(” without its “)”");
        return FERRY_IMAP_PARSE_ERROR;
      case TOKENS_FAILED:
      default:
        return FERRY_IMAP_PARSE_ERROR;
    }
}

static FerryImapParseEvent
begin_data (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  self->response->data = value_new (FERRY_IMAP_VALUE_LIST);
  g_ptr_array_add (self->stack, self->response->data);
  return finish_tokens (self, tokenize (self, self->stack, p, end, SEPARATOR_NEEDED, error), error);
}

static FerryImapParseEvent
begin_untagged (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  FerryImapResponse *response = self->response;
  gsize length = word_length (p, end);
  guint64 number;

  if (parse_u64 (p, length, &number))
    {
      if (number > G_MAXUINT32)
        {
          set_error (self, error, "a message number that is not a 32-bit number");
          return FERRY_IMAP_PARSE_ERROR;
        }
      response->has_number = TRUE;
      response->number = (guint32) number;
      p += length;
      if (p < end)
        p++;
      length = word_length (p, end);
    }
  if (!is_plain_word (p, length))
    {
      set_error (self, error, "an untagged response without a name");
      return FERRY_IMAP_PARSE_ERROR;
    }
  response->name = g_ascii_strup (p, (gssize) length);
  p += length;

  response->status
      = response->has_number ? FERRY_IMAP_STATUS_NONE : status_from_name (response->name);
  if (response->status != FERRY_IMAP_STATUS_NONE)
    return parse_resp_text (self, p, end, error) ? FERRY_IMAP_PARSE_RESPONSE
                                                 : FERRY_IMAP_PARSE_ERROR;
  return begin_data (self, p, end, error);
}

static FerryImapParseEvent
begin_tagged (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  FerryImapResponse *response = self->response;
  gsize length = word_length (p, end);

  if (!is_plain_word (p, length) || p[0] == '+')
    {
      set_error (self, error, "a response that is neither tagged, untagged nor a continuation");
      return FERRY_IMAP_PARSE_ERROR;
    }
  response->tag = g_strndup (p, length);
  p += length;
  if (p < end)
    p++;
  length = word_length (p, end);
  response->name = g_ascii_strup (p, (gssize) length);
  response->status = status_from_name (response->name);
  if (response->status != FERRY_IMAP_STATUS_OK && response->status != FERRY_IMAP_STATUS_NO
      && response->status != FERRY_IMAP_STATUS_BAD)
    {
      set_error (self, error, "a tagged response that is not OK, NO or BAD");
      return FERRY_IMAP_PARSE_ERROR;
    }
  return parse_resp_text (self, p + length, end, error) ? FERRY_IMAP_PARSE_RESPONSE
                                                        : FERRY_IMAP_PARSE_ERROR;
}

static FerryImapParseEvent
begin_response (FerryImapParser *self, const char *p, const char *end, GError **error)
{
  self->response = g_new0 (FerryImapResponse, 1);
  self->used = sizeof (FerryImapResponse);

  if (p < end && *p == '+')
    {
      self->response->kind = FERRY_IMAP_RESPONSE_CONTINUATION;
      p++;
      if (p < end && *p == ' ')
        p++;
      self->response->text = ferry_printable_text (p, end - p);
      return charge (self, strlen (self->response->text), error) ? FERRY_IMAP_PARSE_RESPONSE
                                                                 : FERRY_IMAP_PARSE_ERROR;
    }
  if (end - p >= 2 && p[0] == '*' && p[1] == ' ')
    {
      self->response->kind = FERRY_IMAP_RESPONSE_UNTAGGED;
      return begin_untagged (self, p + 2, end, error);
    }
  self->response->kind = FERRY_IMAP_RESPONSE_TAGGED;
  return begin_tagged (self, p, end, error);
}

static FerryImapParseEvent
end_line (FerryImapParser *self, GError **error)
{
  /* An empty GByteArray may have no data at all. */
  const char *p = self->line->len > 0 ? (const char *) self->line->data : "";
  const char *end = p + self->line->len;

  if (memchr (p, '\0', self->line->len) != NULL)
    {
      set_error (self, error, "a NUL byte");
      return FERRY_IMAP_PARSE_ERROR;
    }
  if (self->response == NULL)
    return begin_response (self, p, end, error);
  return finish_tokens (self, tokenize (self, self->stack, p, end, SEPARATOR_NEEDED, error), error);
}

static void
reset_line (FerryImapParser *self)
{
  if (self->line->len > SHRINK_LINE_AT)
    {
      g_byte_array_unref (self->line);
      self->line = g_byte_array_new ();
    }
  else
    g_byte_array_set_size (self->line, 0);
}

static FerryImapParseEvent
feed_line (FerryImapParser *self, const guint8 *data, gsize length, gsize *consumed, GError **error)
{
  const guint8 *newline = memchr (data, '\n', length);
  gsize taken = newline != NULL ? (gsize) (newline - data) : length;
  FerryImapParseEvent event;

  if (taken > self->max_response - self->line->len)
    {
      set_error (self, error, "a line longer than %zu bytes", self->max_response);
      return FERRY_IMAP_PARSE_ERROR;
    }
  g_byte_array_append (self->line, data, (guint) taken);
  *consumed = taken;
  if (newline == NULL)
    return FERRY_IMAP_PARSE_MORE;

  *consumed = taken + 1;
  if (self->line->len > 0 && self->line->data[self->line->len - 1] == '\r')
    g_byte_array_set_size (self->line, self->line->len - 1);
  event = end_line (self, error);
  reset_line (self);
  return event;
}

/* Literals ---------------------------------------------------------------- */

static gboolean
start_literal (FerryImapParser *self, GError **error)
{
  self->literal_started = TRUE;
  if (self->sink != NULL)
    return TRUE;
  if (self->literal_size > self->max_literal)
    {
      set_error (self, error, "a %" G_GUINT64_FORMAT "-byte string where at most %zu are accepted",
                 self->literal_size, self->max_literal);
      return FALSE;
    }
  if (!charge (self, (gsize) self->literal_size, error))
    return FALSE;
  self->literal_data = g_byte_array_sized_new ((guint) self->literal_size + 1);
  return TRUE;
}

static gboolean
finish_literal (FerryImapParser *self, GError **error)
{
  FerryImapValue *value;

  if (self->sink != NULL)
    {
      value = value_new (FERRY_IMAP_VALUE_STREAMED);
      value->number = self->literal_size;
    }
  else
    {
      value = value_new (FERRY_IMAP_VALUE_STRING);
      value->length = self->literal_data->len;
      g_byte_array_append (self->literal_data, (const guint8 *) "", 1);
      value->text = (char *) g_byte_array_free (g_steal_pointer (&self->literal_data), FALSE);
      /* start_literal() charged the bytes already. */
      self->used -= value->length;
    }
  value->literal = TRUE;
  self->state = STATE_LINE;
  self->sink = NULL;
  self->sink_data = NULL;
  return append_value (self, self->stack, value, error);
}

static gboolean
feed_literal (
    FerryImapParser *self, const guint8 *data, gsize length, gsize *consumed, GError **error)
{
  gsize taken = (gsize) MIN ((guint64) length, self->literal_left);

  *consumed = 0;
  if (!self->literal_started && !start_literal (self, error))
    return FALSE;
  if (taken > 0)
    {
      if (self->sink != NULL)
        {
          if (!self->sink (data, taken, self->sink_data, error))
            return FALSE;
        }
      else
        g_byte_array_append (self->literal_data, data, (guint) taken);
    }
  *consumed = taken;
  self->literal_left -= taken;
  return self->literal_left > 0 || finish_literal (self, error);
}

/* Public interface ------------------------------------------------------------ */

/**
 * ferry_imap_parser_new:
 *
 * Returns: (transfer full): a parser waiting for the first byte of a
 *   response, with the default limits
 */
FerryImapParser *
ferry_imap_parser_new (void)
{
  FerryImapParser *self = g_new0 (FerryImapParser, 1);

  self->max_response = FERRY_IMAP_PARSER_MAX_RESPONSE;
  self->max_literal = FERRY_IMAP_PARSER_MAX_LITERAL;
  self->line = g_byte_array_new ();
  self->stack = g_ptr_array_new ();
  return self;
}

void
ferry_imap_parser_free (FerryImapParser *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->line);
  g_ptr_array_unref (self->stack);
  g_clear_pointer (&self->response, ferry_imap_response_free);
  g_clear_pointer (&self->complete, ferry_imap_response_free);
  g_clear_pointer (&self->literal_data, g_byte_array_unref);
  g_free (self);
}

/**
 * ferry_imap_parser_set_limits:
 * @self: a parser
 * @max_response: the most bytes a line, or a whole response with its
 *   values, may take in memory
 * @max_literal: the most bytes of a literal kept in memory (streamed
 *   literals have no limit but the 32-bit size of RFC 3501)
 */
void
ferry_imap_parser_set_limits (FerryImapParser *self, gsize max_response, gsize max_literal)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (max_literal <= G_MAXUINT32 - 1);

  self->max_response = max_response;
  self->max_literal = max_literal;
}

static void
fail (FerryImapParser *self)
{
  self->failed = TRUE;
  g_clear_pointer (&self->response, ferry_imap_response_free);
  g_clear_pointer (&self->literal_data, g_byte_array_unref);
  g_ptr_array_set_size (self->stack, 0);
}

/**
 * ferry_imap_parser_feed:
 * @self: a parser
 * @data: bytes from the server
 * @length: how many
 * @consumed: (out): how many of them the parser took
 * @error: set when the event is %FERRY_IMAP_PARSE_ERROR
 *
 * Takes bytes up to the next event. After %FERRY_IMAP_PARSE_RESPONSE, take
 * the response before feeding the rest; after %FERRY_IMAP_PARSE_LITERAL,
 * the literal is kept in memory (and refused over max_literal) unless
 * ferry_imap_parser_stream_literal() is called before the next feed. After
 * %FERRY_IMAP_PARSE_ERROR (a FERRY_ERROR_PROTOCOL error, or the sink's),
 * the stream cannot be resynchronized: close the connection.
 *
 * Returns: what happened
 */
FerryImapParseEvent
ferry_imap_parser_feed (
    FerryImapParser *self, const guint8 *data, gsize length, gsize *consumed, GError **error)
{
  FerryImapParseEvent event = FERRY_IMAP_PARSE_MORE;
  gsize pos = 0;

  g_return_val_if_fail (self != NULL, FERRY_IMAP_PARSE_ERROR);
  g_return_val_if_fail (data != NULL || length == 0, FERRY_IMAP_PARSE_ERROR);
  g_return_val_if_fail (consumed != NULL, FERRY_IMAP_PARSE_ERROR);
  g_return_val_if_fail (self->complete == NULL, FERRY_IMAP_PARSE_ERROR);
  g_return_val_if_fail (!self->failed, FERRY_IMAP_PARSE_ERROR);

  for (;;)
    {
      gsize taken = 0;

      if (self->state == STATE_LITERAL)
        {
          if (!feed_literal (self, data + pos, length - pos, &taken, error))
            {
              event = FERRY_IMAP_PARSE_ERROR;
              break;
            }
          pos += taken;
          if (self->state == STATE_LITERAL)
            break;
          continue;
        }
      if (pos == length)
        break;
      event = feed_line (self, data + pos, length - pos, &taken, error);
      pos += taken;
      if (event != FERRY_IMAP_PARSE_MORE)
        break;
    }

  *consumed = pos;
  if (event == FERRY_IMAP_PARSE_ERROR)
    fail (self);
  else if (event == FERRY_IMAP_PARSE_RESPONSE)
    {
      self->complete = g_steal_pointer (&self->response);
      g_ptr_array_set_size (self->stack, 0);
      self->used = 0;
    }
  return event;
}

/**
 * ferry_imap_parser_take_response:
 * @self: a parser that returned %FERRY_IMAP_PARSE_RESPONSE
 *
 * Returns: (transfer full): the response
 */
FerryImapResponse *
ferry_imap_parser_take_response (FerryImapParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->complete != NULL, NULL);

  return g_steal_pointer (&self->complete);
}

static gboolean
literal_pending (FerryImapParser *self)
{
  return self->state == STATE_LITERAL && !self->literal_started;
}

/**
 * ferry_imap_parser_literal_size:
 * @self: a parser that returned %FERRY_IMAP_PARSE_LITERAL
 *
 * Returns: the size of the literal that starts
 */
guint64
ferry_imap_parser_literal_size (FerryImapParser *self)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (literal_pending (self), 0);

  return self->literal_size;
}

/**
 * ferry_imap_parser_partial_response:
 * @self: a parser that returned %FERRY_IMAP_PARSE_LITERAL
 *
 * Returns: (transfer none): the response the literal belongs to, as far
 *   as it got: kind, tag, number, name and the values before the literal
 */
const FerryImapResponse *
ferry_imap_parser_partial_response (FerryImapParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (literal_pending (self), NULL);

  return self->response;
}

/**
 * ferry_imap_parser_literal_parent:
 * @self: a parser that returned %FERRY_IMAP_PARSE_LITERAL
 * @depth: (out) (optional): 0 when the parent is the response's data, 1
 *   for a list in it (the items of "* 3 FETCH (...)"), and so on
 *
 * Returns: (transfer none): the list the literal will be appended to; its
 *   last item is the value before the literal, such as "BODY[]"
 */
const FerryImapValue *
ferry_imap_parser_literal_parent (FerryImapParser *self, guint *depth)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (literal_pending (self), NULL);

  if (depth != NULL)
    *depth = self->stack->len - 1;
  return g_ptr_array_index (self->stack, self->stack->len - 1);
}

/**
 * ferry_imap_parser_stream_literal:
 * @self: a parser that returned %FERRY_IMAP_PARSE_LITERAL
 * @sink: gets the literal's bytes as they are fed; a %FALSE return with
 *   an error fails the feed
 * @user_data: for @sink
 *
 * Sends the literal that starts to @sink instead of memory; the response
 * gets a %FERRY_IMAP_VALUE_STREAMED value in its place.
 */
void
ferry_imap_parser_stream_literal (FerryImapParser *self,
                                  FerryImapLiteralSink sink,
                                  gpointer user_data)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (sink != NULL);
  g_return_if_fail (literal_pending (self));

  self->sink = sink;
  self->sink_data = user_data;
}

void
ferry_imap_response_free (FerryImapResponse *response)
{
  if (response == NULL)
    return;
  if (response->code != NULL)
    {
      g_free (response->code->name);
      g_free (response->code->text);
      value_free (response->code->args);
      g_free (response->code);
    }
  g_free (response->tag);
  g_free (response->name);
  g_free (response->text);
  value_free (response->data);
  g_free (response);
}

/**
 * ferry_imap_response_has_code:
 * @response: a response
 * @name: a response code such as "TRYCREATE", upper case
 *
 * Returns: whether @response carries that code
 */
gboolean
ferry_imap_response_has_code (const FerryImapResponse *response, const char *name)
{
  g_return_val_if_fail (response != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return response->code != NULL && g_str_equal (response->code->name, name);
}

/**
 * ferry_imap_value_get_string:
 * @value: (nullable): a value
 *
 * Returns: (nullable): the text of an atom, a number or a string (an
 *   astring of RFC 3501), or %NULL for NIL, lists and streamed literals
 */
const char *
ferry_imap_value_get_string (const FerryImapValue *value)
{
  if (value == NULL)
    return NULL;
  switch (value->type)
    {
      case FERRY_IMAP_VALUE_ATOM:
      case FERRY_IMAP_VALUE_NUMBER:
      case FERRY_IMAP_VALUE_STRING:
        return value->text;
      default:
        return NULL;
    }
}

/**
 * ferry_imap_value_get_number:
 * @value: (nullable): a value
 * @out: (out): its number
 *
 * Returns: whether @value is a number
 */
gboolean
ferry_imap_value_get_number (const FerryImapValue *value, guint64 *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (value == NULL || value->type != FERRY_IMAP_VALUE_NUMBER)
    return FALSE;
  *out = value->number;
  return TRUE;
}

/**
 * ferry_imap_value_is_atom:
 * @value: (nullable): a value
 * @name: an atom
 *
 * Returns: whether @value is the atom @name, compared ignoring ASCII case
 */
gboolean
ferry_imap_value_is_atom (const FerryImapValue *value, const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);

  return value != NULL && value->type == FERRY_IMAP_VALUE_ATOM
         && g_ascii_strcasecmp (value->text, name) == 0;
}

/**
 * ferry_imap_value_n_items:
 * @value: (nullable): a value
 *
 * Returns: the number of items in a list; 0 for anything else
 */
guint
ferry_imap_value_n_items (const FerryImapValue *value)
{
  if (value == NULL || value->type != FERRY_IMAP_VALUE_LIST)
    return 0;
  return value->items->len;
}

/**
 * ferry_imap_value_get_item:
 * @value: (nullable): a list
 * @index: which item
 *
 * Returns: (transfer none) (nullable): the item, or %NULL when @value is
 *   not a list or is shorter
 */
const FerryImapValue *
ferry_imap_value_get_item (const FerryImapValue *value, guint index)
{
  if (index >= ferry_imap_value_n_items (value))
    return NULL;
  return g_ptr_array_index (value->items, index);
}

/**
 * ferry_imap_value_lookup:
 * @list: (nullable): a list of names and values, such as the items of a
 *   FETCH response: (UID 4 FLAGS (\Seen) RFC822.SIZE 120)
 * @key: a name, compared ignoring ASCII case
 *
 * Returns: (transfer none) (nullable): the value after @key
 */
const FerryImapValue *
ferry_imap_value_lookup (const FerryImapValue *list, const char *key)
{
  guint n = ferry_imap_value_n_items (list);

  g_return_val_if_fail (key != NULL, NULL);

  for (guint i = 0; i + 1 < n; i += 2)
    {
      const FerryImapValue *name = g_ptr_array_index (list->items, i);

      if ((name->type == FERRY_IMAP_VALUE_ATOM) && g_ascii_strcasecmp (name->text, key) == 0)
        return g_ptr_array_index (list->items, i + 1);
    }
  return NULL;
}

/**
 * ferry_imap_code_get_number:
 * @code: (nullable): a response code, such as [UIDVALIDITY 3857529045]
 * @index: which argument
 * @out: (out): its value
 *
 * Returns: whether that argument is there and is a number
 */
gboolean
ferry_imap_code_get_number (const FerryImapCode *code, guint index, guint64 *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (code == NULL)
    return FALSE;
  return ferry_imap_value_get_number (ferry_imap_value_get_item (code->args, index), out);
}
