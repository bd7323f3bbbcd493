/* outbox-message.c: what the outbox needs to know of a message's header
 *
 * The queue keeps a message exactly as the mail reader gave it. This module
 * only reads it: it checks that the header is a header (RFC 5322 §2.2), finds
 * the addresses with GMime, and makes the copy that goes on the wire.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "core/printable-text.h"
#include "outbox/outbox-gmime.h"
#include "outbox/outbox-message.h"

/* Finds the end of the line starting at @p: the position after its LF, or
 * @end for a last line with none. */
static const char *
next_line (const char *p, const char *end)
{
  const char *lf = memchr (p, '\n', (gsize) (end - p));
  return lf != NULL ? lf + 1 : end;
}

static gboolean
is_blank_line (const char *p, const char *line_end)
{
  gsize n = (gsize) (line_end - p);
  return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* A field name is printable US-ASCII other than ':' (RFC 5322 §2.2). */
static gboolean
is_field_line (const char *p, const char *line_end)
{
  const char *c = p;

  while (c < line_end && *c >= 33 && *c <= 126 && *c != ':')
    c++;
  return c > p && c < line_end && *c == ':';
}

/* Returns the length of the header block including the blank line that
 * ends it, or 0 when @message does not start with a valid header. */
static gsize
header_length (const char *data, gsize len, GError **error)
{
  const char *end = data + len;
  const char *p = data;
  guint fields = 0;
  guint line_number = 0;

  while (p < end)
    {
      const char *line_end = next_line (p, end);

      line_number++;
      if (is_blank_line (p, line_end))
        return (gsize) (line_end - data);
      if ((*p == ' ' || *p == '\t') && fields > 0)
        {
          p = line_end;
          continue;
        }
      if (!is_field_line (p, line_end))
        {
          g_autofree char *line = g_strndup (p, MIN ((gsize) (line_end - p), 60));
          g_autofree char *shown = g_strescape (g_strchomp (line), NULL);
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                       "The message header is malformed at line %u (“%s”): expected "
                       "“Name: value”",
                       line_number, shown);
          return 0;
        }
      fields++;
      p = line_end;
    }

  return len;
}

/* Anything that could end or split an SMTP command line (RFC 5321 §4.1.2)
 * must never reach MAIL FROM or RCPT TO. */
static gboolean
is_safe_for_smtp (const char *address)
{
  for (const char *c = address; *c != '\0'; c++)
    if ((guchar) *c < 33 || *c == '<' || *c == '>' || *c == 127)
      return FALSE;
  return TRUE;
}

static gboolean
is_envelope_address (const char *address)
{
  return strchr (address, '@') != NULL && is_safe_for_smtp (address);
}

/* GMime's own type macros would call its _get_type() functions by name,
 * which are looked up at run time here (outbox-gmime.c). */
static gboolean
is_address_of_type (InternetAddress *address, GType (*get_type) (void))
{
  return G_TYPE_CHECK_INSTANCE_TYPE (address, get_type ());
}

static void
collect_mailboxes (const FerryOutboxGMime *gmime, InternetAddressList *list, GPtrArray *out)
{
  int n = list != NULL ? gmime->internet_address_list_length (list) : 0;

  for (int i = 0; i < n; i++)
    {
      InternetAddress *address = gmime->internet_address_list_get_address (list, i);

      if (is_address_of_type (address, gmime->internet_address_group_get_type))
        collect_mailboxes (
            gmime, gmime->internet_address_group_get_members ((InternetAddressGroup *) address),
            out);
      else if (is_address_of_type (address, gmime->internet_address_mailbox_get_type))
        {
          const char *addr
              = gmime->internet_address_mailbox_get_addr ((InternetAddressMailbox *) address);
          gboolean seen = FALSE;

          for (guint j = 0; j < out->len && !seen; j++)
            seen = g_ascii_strcasecmp (g_ptr_array_index (out, j), addr) == 0;
          if (!seen && addr != NULL && *addr != '\0')
            g_ptr_array_add (out, g_strdup (addr));
        }
    }
}

static char *
display_addresses (const FerryOutboxGMime *gmime, InternetAddressList *list)
{
  if (list == NULL || gmime->internet_address_list_length (list) == 0)
    return NULL;
  return gmime->internet_address_list_to_string (list, NULL, FALSE);
}

/* Only the header is handed to GMime: the body is not ours to read, and
 * parsing a large MIME body would cost time the mail reader waits for. */
static GMimeMessage *
parse_with_gmime (const FerryOutboxGMime *gmime, const char *header, gsize len)
{
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *parsed;

  /* GMime 3.2 defines no autoptr cleanups, hence the manual unrefs. */
  stream = gmime->stream_mem_new_with_buffer (header, len);
  parser = gmime->parser_new_with_stream (stream);
  gmime->parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  parsed = gmime->parser_construct_message (parser, NULL);
  g_object_unref (parser);
  g_object_unref (stream);
  return parsed;
}

/* The fields whose addresses the message is sent to (RFC 5322 §3.6.3). */
static const GMimeAddressType recipient_fields[]
    = { GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC, GMIME_ADDRESS_TYPE_BCC };

/**
 * ferry_outbox_message_parse:
 * @message: the message as the mail reader wrote it
 * @error: return location for a #GError
 *
 * Checks that @message starts with a well-formed header and reads the
 * addresses and subject from it. Anything that is not a mail message, such
 * as binary data, fails with %FERRY_ERROR_DATA.
 *
 * Returns: (transfer full): the header's addresses and subject
 */
FerryOutboxHeaders *
ferry_outbox_message_parse (GBytes *message, GError **error)
{
  g_autoptr (FerryOutboxHeaders) headers = NULL;
  const FerryOutboxGMime *gmime;
  g_autoptr (GObject) parsed = NULL;
  GMimeMessage *parsed_message;
  InternetAddressList *from;
  const char *subject;
  gsize len, header_len;
  const char *data;

  g_return_val_if_fail (message != NULL, NULL);

  data = g_bytes_get_data (message, &len);
  if (len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "The message is empty");
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "The message contains NUL bytes, which mail cannot carry; is it binary data?");
      return NULL;
    }
  header_len = header_length (data, len, error);
  if (header_len == 0)
    return NULL;
  gmime = ferry_outbox_gmime_get (error);
  if (gmime == NULL)
    return NULL;

  parsed_message = parse_with_gmime (gmime, data, header_len);
  if (parsed_message == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "The message header cannot be parsed");
      return NULL;
    }
  parsed = G_OBJECT (parsed_message);

  headers = g_new0 (FerryOutboxHeaders, 1);
  headers->recipients = g_ptr_array_new_with_free_func (g_free);

  from = gmime->message_get_addresses (parsed_message, GMIME_ADDRESS_TYPE_FROM);
  if (from != NULL && gmime->internet_address_list_length (from) > 0)
    {
      g_autoptr (GPtrArray) mailboxes = g_ptr_array_new_with_free_func (g_free);
      collect_mailboxes (gmime, from, mailboxes);
      /* The envelope sender is the first From address fit for SMTP; with
       * none, the account's address stands in, as without a From. */
      for (guint i = 0; i < mailboxes->len && headers->from_address == NULL; i++)
        if (is_envelope_address (g_ptr_array_index (mailboxes, i)))
          headers->from_address = g_strdup (g_ptr_array_index (mailboxes, i));
    }
  headers->from = display_addresses (gmime, from);
  headers->to = display_addresses (
      gmime, gmime->message_get_addresses (parsed_message, GMIME_ADDRESS_TYPE_TO));

  subject = gmime->message_get_subject (parsed_message);
  if (subject != NULL)
    headers->subject = g_utf8_make_valid (subject, -1);

  for (gsize i = 0; i < G_N_ELEMENTS (recipient_fields); i++)
    collect_mailboxes (gmime, gmime->message_get_addresses (parsed_message, recipient_fields[i]),
                       headers->recipients);

  return g_steal_pointer (&headers);
}

void
ferry_outbox_headers_free (FerryOutboxHeaders *headers)
{
  if (headers == NULL)
    return;
  g_free (headers->from_address);
  g_free (headers->from);
  g_free (headers->to);
  g_free (headers->subject);
  g_ptr_array_unref (headers->recipients);
  g_free (headers);
}

/* Adds the mailboxes of the address list @text to @mailboxes; a list
 * spanning lines is no command-line address and adds none. Fails only
 * when GMime cannot be loaded. */
static gboolean
parse_address_list (const char *text, GPtrArray *mailboxes, GError **error)
{
  const FerryOutboxGMime *gmime = ferry_outbox_gmime_get (error);
  g_autoptr (GObject) list = NULL;

  if (gmime == NULL)
    return FALSE;
  if (strpbrk (text, "\r\n") != NULL)
    return TRUE;
  list = G_OBJECT (gmime->internet_address_list_parse (NULL, text));
  collect_mailboxes (gmime, (InternetAddressList *) list, mailboxes);
  return TRUE;
}

/**
 * ferry_outbox_message_parse_address:
 * @text: an address as given on a command line: `me@example.org` or
 *   `Me <me@example.org>`; `<>` or the empty string for the null sender
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the bare address, "" for the null sender, or
 *   %NULL with %FERRY_ERROR_DATA when @text holds no usable address.
 */
char *
ferry_outbox_message_parse_address (const char *text, GError **error)
{
  g_autoptr (GPtrArray) mailboxes = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *stripped = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  stripped = g_strstrip (g_strdup (text));
  if (*stripped == '\0' || g_str_equal (stripped, "<>"))
    return g_strdup ("");

  if (!parse_address_list (stripped, mailboxes, error))
    return NULL;

  if (mailboxes->len != 1)
    {
      g_autofree char *shown = ferry_printable_text (stripped, -1);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "“%s” is not one mail address", shown);
      return NULL;
    }

  if (!is_envelope_address (g_ptr_array_index (mailboxes, 0)))
    {
      g_autofree char *shown = ferry_printable_text (stripped, -1);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "“%s” is not a full mail address such as user@example.org", shown);
      return NULL;
    }

  return g_strdup (g_ptr_array_index (mailboxes, 0));
}

/**
 * ferry_outbox_message_add_recipients:
 * @text: one command-line argument: an address, or several separated by
 *   commas as sendmail accepts them
 * @recipients: (element-type utf8): where the bare addresses are added,
 *   once each
 * @error: return location for a #GError
 *
 * Returns: %FALSE with %FERRY_ERROR_DATA when @text holds something that
 *   is not a full mail address
 */
gboolean
ferry_outbox_message_add_recipients (const char *text, GPtrArray *recipients, GError **error)
{
  g_autoptr (GPtrArray) mailboxes = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (recipients != NULL, FALSE);

  if (!parse_address_list (text, mailboxes, error))
    return FALSE;
  if (mailboxes->len == 0)
    {
      g_autofree char *shown = ferry_printable_text (text, -1);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA, "“%s” is not a mail address", shown);
      return FALSE;
    }

  for (guint i = 0; i < mailboxes->len; i++)
    {
      const char *address = g_ptr_array_index (mailboxes, i);
      gboolean seen = FALSE;

      if (strchr (address, '@') == NULL || !is_safe_for_smtp (address))
        {
          g_autofree char *shown = ferry_printable_text (address, -1);
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                       "“%s” is not a full mail address such as user@example.org", shown);
          return FALSE;
        }
      for (guint j = 0; j < recipients->len && !seen; j++)
        seen = g_ascii_strcasecmp (g_ptr_array_index (recipients, j), address) == 0;
      if (!seen)
        g_ptr_array_add (recipients, g_strdup (address));
    }
  return TRUE;
}

static gboolean
is_bcc_field (const char *p, const char *line_end)
{
  gsize n = (gsize) (line_end - p);
  return (n >= 4 && g_ascii_strncasecmp (p, "bcc:", 4) == 0)
         || (n >= 11 && g_ascii_strncasecmp (p, "resent-bcc:", 11) == 0);
}

static void
append_crlf_line (GByteArray *out, const char *p, const char *line_end)
{
  gsize n = (gsize) (line_end - p);

  if (n > 0 && p[n - 1] == '\n')
    {
      n--;
      if (n > 0 && p[n - 1] == '\r')
        n--;
      g_byte_array_append (out, (const guint8 *) p, (guint) n);
      g_byte_array_append (out, (const guint8 *) "\r\n", 2);
    }
  else
    g_byte_array_append (out, (const guint8 *) p, (guint) n);
}

/**
 * ferry_outbox_message_for_wire:
 * @message: a queued message
 *
 * Makes the copy that is handed to the SMTP server: Bcc and Resent-Bcc
 * fields removed from the header, so blind recipients stay blind (RFC 5322
 * §3.6.3), and every line ending in CRLF (RFC 5321 §2.3.8).
 *
 * Returns: (transfer full): the message as it goes on the wire
 */
GBytes *
ferry_outbox_message_for_wire (GBytes *message)
{
  gsize len;
  const char *data;
  const char *end;
  const char *p;
  gboolean in_header = TRUE;
  gboolean skipping = FALSE;
  GByteArray *out;

  g_return_val_if_fail (message != NULL, NULL);

  data = g_bytes_get_data (message, &len);
  end = data + len;
  out = g_byte_array_sized_new ((guint) (len + len / 32 + 2));

  for (p = data; p < end;)
    {
      const char *line_end = next_line (p, end);

      if (in_header)
        {
          if (is_blank_line (p, line_end))
            in_header = FALSE;
          else if (*p != ' ' && *p != '\t')
            skipping = is_bcc_field (p, line_end);
        }

      if (!(in_header && skipping))
        append_crlf_line (out, p, line_end);
      p = line_end;
    }

  return g_byte_array_free_to_bytes (out);
}
