/* outbox-smtp.c: delivering one message over SMTP with libcurl
 *
 * libcurl speaks the protocol: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA and
 * the dot-stuffing of RFC 5321 §4.5.2 (checked with curl 7.88: lines that
 * start with ".", a lone "." line and a "." as the very first byte all
 * arrive intact). This file chooses the security settings and turns what
 * happened into a verdict for each recipient.
 *
 * libcurl reports only the last reply code of a transfer, and a message
 * with several recipients needs the reply to each RCPT. With curl 7.88,
 * CURLOPT_HEADERFUNCTION does receive every reply line, multi-line ones
 * included, but not the commands they answer, so pairing replies with
 * RCPTs would rest on guessing what libcurl sent. The transfer therefore
 * runs with CURLOPT_VERBOSE and a CURLOPT_DEBUGFUNCTION, which sees both
 * in order: CURLINFO_HEADER_OUT once per command sent, CURLINFO_HEADER_IN
 * once per reply line. libcurl sends the RCPTs one at a time, in the order
 * of CURLOPT_MAIL_RCPT, each after the previous reply.
 *
 * The AUTH command and its SASL continuation lines carry the credentials:
 * they are recognised by their position and never copied or logged.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "core/printable-text.h"
#include "core/tls-pin.h"
#include "outbox/outbox-curl.h"
#include "outbox/outbox-smtp.h"

typedef struct curl_slist CurlSlist;

/* g_autoptr () frees only a list that exists, and making one loaded libcurl. */
static void
free_slist (CurlSlist *list)
{
  ferry_outbox_curl_get (NULL)->slist_free_all (list);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CurlSlist, free_slist)

#define SLOWEST_UPLOAD_BYTES_PER_SECOND 1024

/* What the next reply answers (RFC 5321 §3, §4.1.1). */
typedef enum
{
  SMTP_STEP_GREETING,
  SMTP_STEP_HELLO, /* EHLO or HELO */
  SMTP_STEP_STARTTLS,
  SMTP_STEP_AUTH, /* AUTH and its SASL exchange */
  SMTP_STEP_MAIL,
  SMTP_STEP_RCPT,
  SMTP_STEP_DATA,    /* the DATA command, answered by 354 */
  SMTP_STEP_MESSAGE, /* the message up to its final dot */
  SMTP_STEP_QUIT,
  SMTP_STEP_OTHER,
} SmtpStep;

typedef struct
{
  guint code; /* 0 when there was no reply */
  char *text; /* the whole reply on one line, code included */
} SmtpReply;

typedef struct
{
  FerrySmtpStatus status;
  guint code;
  char *reply;
} SmtpVerdict;

typedef struct
{
  const FerrySmtpRequest *request;
  GCancellable *cancellable;
  guint n_recipients;
  char *server; /* "host:port", for messages */

  const FerryOutboxCurl *lib;
  CURL *curl;
  char error_buffer[CURL_ERROR_SIZE];
  gsize upload_offset;

  /* The transcript, as the debug callback reads it. */
  GString *reply_line;      /* a reply line still missing its end */
  GString *reply_text;      /* the lines so far of the reply being read */
  SmtpStep step;            /* what the reply being read answers */
  gboolean in_sasl;         /* between AUTH and its final reply */
  guint rcpts_sent;         /* RCPT commands sent so far */
  guint rcpt_index;         /* the recipient the latest RCPT named */
  char *auth_mechanisms;    /* what the latest EHLO offered */
  SmtpReply *rcpt_replies;  /* one per recipient */
  SmtpReply message_reply;  /* the reply after the final dot */
  SmtpReply last_reply;     /* the latest reply, QUIT's excepted */
  SmtpStep last_reply_step; /* what it answered */
} SmtpSession;

static void
smtp_reply_set (SmtpReply *reply, guint code, const char *text)
{
  reply->code = code;
  g_free (reply->text);
  reply->text = g_strdup (text);
}

static gboolean
is_positive (guint code)
{
  return code >= 200 && code < 300;
}

/* RFC 5321 §4.2.1: 5yz is a permanent failure, 4yz a transient one;
 * anything else where a success was due is treated as transient. */
static FerrySmtpStatus
status_of_failure (guint code)
{
  return code >= 500 && code < 600 ? FERRY_SMTP_STATUS_PERMANENT : FERRY_SMTP_STATUS_TEMPORARY;
}

static void
smtp_session_free (SmtpSession *s)
{
  /* First: closing the connection sends QUIT, and the debug callback
   * still writes into the session. */
  if (s->curl != NULL)
    s->lib->easy_cleanup (g_steal_pointer (&s->curl));

  for (guint i = 0; i < s->n_recipients; i++)
    g_free (s->rcpt_replies[i].text);
  g_free (s->rcpt_replies);
  g_free (s->message_reply.text);
  g_free (s->last_reply.text);
  g_free (s->auth_mechanisms);
  g_string_free (s->reply_line, TRUE);
  g_string_free (s->reply_text, TRUE);
  g_free (s->server);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmtpSession, smtp_session_free)

/* curl_easy_setopt() takes its value through "...": these give each kind
 * of option its type back. */
static CURLcode
set_long (SmtpSession *s, CURLoption option, long value)
{
  return s->lib->easy_setopt (s->curl, option, value);
}

static CURLcode
set_text (SmtpSession *s, CURLoption option, const char *value)
{
  return s->lib->easy_setopt (s->curl, option, value);
}

static void
set_data (SmtpSession *s, CURLoption option, void *value)
{
  s->lib->easy_setopt (s->curl, option, value);
}

static SmtpSession *
smtp_session_new (const FerrySmtpRequest *request,
                  const FerryOutboxCurl *lib,
                  GCancellable *cancellable)
{
  SmtpSession *s = g_new0 (SmtpSession, 1);
  const FerryAccount *account = request->account;

  s->request = request;
  s->lib = lib;
  s->cancellable = cancellable;
  s->n_recipients = g_strv_length ((char **) request->recipients);
  s->rcpt_replies = g_new0 (SmtpReply, s->n_recipients);
  s->reply_line = g_string_new (NULL);
  s->reply_text = g_string_new (NULL);
  s->step = SMTP_STEP_GREETING;
  /* An IPv6 literal is written in brackets, as in a URL (RFC 3986 §3.2.2). */
  if (strchr (account->smtp_host, ':') != NULL)
    s->server = g_strdup_printf ("[%s]:%u", account->smtp_host, account->smtp_port);
  else
    s->server = g_strdup_printf ("%s:%u", account->smtp_host, account->smtp_port);
  return s;
}

/* Reading the transcript */

static SmtpStep
step_of_command (const char *command, gsize length)
{
  static const struct
  {
    const char *verb;
    SmtpStep step;
  } verbs[] = {
    { "EHLO", SMTP_STEP_HELLO }, { "HELO", SMTP_STEP_HELLO }, { "STARTTLS", SMTP_STEP_STARTTLS },
    { "AUTH", SMTP_STEP_AUTH },  { "MAIL", SMTP_STEP_MAIL },  { "RCPT", SMTP_STEP_RCPT },
    { "DATA", SMTP_STEP_DATA },  { "QUIT", SMTP_STEP_QUIT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      gsize verb_length = strlen (verbs[i].verb);

      if (length >= verb_length && g_ascii_strncasecmp (command, verbs[i].verb, verb_length) == 0
          && (length == verb_length || command[verb_length] == ' ' || command[verb_length] == '\r'))
        return verbs[i].step;
    }
  return SMTP_STEP_OTHER;
}

static void
read_command (SmtpSession *s, const char *command, gsize length)
{
  /* Everything sent between AUTH and its final reply is the credentials. */
  if (s->in_sasl)
    return;

  s->step = step_of_command (command, length);
  if (s->step == SMTP_STEP_AUTH)
    {
      s->in_sasl = TRUE;
      g_debug ("SMTP %s C: AUTH (not shown)", s->server);
      return;
    }
  if (s->step == SMTP_STEP_RCPT)
    s->rcpt_index = s->rcpts_sent++;

  while (length > 0 && (command[length - 1] == '\n' || command[length - 1] == '\r'))
    length--;
  g_debug ("SMTP %s C: %.*s", s->server, (int) length, command);
}

static guint
reply_code_of (const char *line)
{
  if (!g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]))
    return 0;
  return (guint) ((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
}

/* The length of an RFC 3463 enhanced status code ("5.1.1") at the start
 * of @text, 0 when there is none. */
static gsize
enhanced_code_length (const char *text)
{
  const char *p = text;

  if (*p != '2' && *p != '4' && *p != '5')
    return 0;
  p++;
  for (int part = 0; part < 2; part++)
    {
      if (*p != '.' || !g_ascii_isdigit (p[1]))
        return 0;
      p++;
      while (g_ascii_isdigit (*p))
        p++;
    }
  return *p == ' ' || *p == '\0' ? (gsize) (p - text) : 0;
}

/* Joins a multi-line reply (RFC 5321 §4.2.1: "250-first", "250 last")
 * into "250 first last", dropping from the later lines the code and an
 * enhanced status code that repeats the first line's. */
static void
append_reply_line (GString *joined, const char *line)
{
  gsize length = strlen (line);
  const char *text = length > 4 ? line + 4 : "";

  if (joined->len == 0)
    g_string_append_len (joined, line, MIN (length, 3));
  else if (joined->len > 4)
    {
      gsize enhanced = enhanced_code_length (joined->str + 4);

      if (enhanced > 0 && strncmp (text, joined->str + 4, enhanced) == 0 && text[enhanced] == ' ')
        text += enhanced + 1;
    }
  if (*text != '\0')
    g_string_append_printf (joined, " %s", text);
}

static void
note_auth_mechanisms (SmtpSession *s, const char *line)
{
  /* RFC 4954 §3: the EHLO keyword AUTH lists the SASL mechanisms. */
  if (strlen (line) > 4 && g_ascii_strncasecmp (line + 4, "AUTH ", 5) == 0)
    {
      g_free (s->auth_mechanisms);
      s->auth_mechanisms = g_strdup (line + 9);
    }
}

static void
finish_reply (SmtpSession *s, guint code, const char *text)
{
  g_debug ("SMTP %s S: %s", s->server, text);

  if (s->step == SMTP_STEP_AUTH)
    {
      /* RFC 4954 §4: 334 is a challenge and the exchange goes on. */
      if (code == 334)
        return;
      s->in_sasl = FALSE;
    }
  if (s->step == SMTP_STEP_QUIT)
    return;

  smtp_reply_set (&s->last_reply, code, text);
  s->last_reply_step = s->step;
  if (s->step == SMTP_STEP_RCPT && s->rcpt_index < s->n_recipients)
    smtp_reply_set (&s->rcpt_replies[s->rcpt_index], code, text);
  else if (s->step == SMTP_STEP_MESSAGE)
    smtp_reply_set (&s->message_reply, code, text);
  else if (s->step == SMTP_STEP_DATA && code == 354)
    /* RFC 5321 §4.1.1.4: the next reply answers the message itself. */
    s->step = SMTP_STEP_MESSAGE;
}

static void
read_reply_line (SmtpSession *s, const char *raw_line)
{
  g_autofree char *line = ferry_printable_text (raw_line, -1);
  gboolean continued = strlen (line) > 3 && line[3] == '-';

  if (s->step == SMTP_STEP_HELLO)
    note_auth_mechanisms (s, line);
  append_reply_line (s->reply_text, line);
  if (continued)
    return;

  finish_reply (s, reply_code_of (line), s->reply_text->str);
  g_string_truncate (s->reply_text, 0);
}

/* libcurl hands over one reply line per call; buffering keeps this right
 * should it ever split or merge lines. */
static void
read_reply_data (SmtpSession *s, const char *data, gsize size)
{
  char *end;

  g_string_append_len (s->reply_line, data, size);
  while ((end = memchr (s->reply_line->str, '\n', s->reply_line->len)) != NULL)
    {
      gsize consumed = (gsize) (end - s->reply_line->str) + 1;

      *end = '\0';
      if (end > s->reply_line->str && end[-1] == '\r')
        end[-1] = '\0';
      read_reply_line (s, s->reply_line->str);
      g_string_erase (s->reply_line, 0, (gssize) consumed);
    }
}

static int
on_curl_debug (CURL *curl, curl_infotype type, char *data, size_t size, void *user_data)
{
  SmtpSession *s = user_data;

  if (type == CURLINFO_HEADER_OUT)
    read_command (s, data, size);
  else if (type == CURLINFO_HEADER_IN)
    read_reply_data (s, data, size);
  return 0;
}

static size_t
on_curl_read (char *buffer, size_t size, size_t n_items, void *user_data)
{
  SmtpSession *s = user_data;
  gsize length;
  const guint8 *message = g_bytes_get_data (s->request->data, &length);
  gsize n = MIN (size * n_items, length - s->upload_offset);

  memcpy (buffer, message + s->upload_offset, n);
  s->upload_offset += n;
  return n;
}

/* libcurl calls this about once a second even while it waits for a reply,
 * so a cancellation takes effect within a second. */
static int
on_curl_progress (void *user_data,
                  curl_off_t download_total,
                  curl_off_t downloaded,
                  curl_off_t upload_total,
                  curl_off_t uploaded)
{
  SmtpSession *s = user_data;

  return g_cancellable_is_cancelled (s->cancellable) ? 1 : 0;
}

/* Setting up the transfer */

/* Several pins, separated by ";" as libcurl takes them, let a server
 * change its key without a day of refused connections. libcurl takes no
 * spaces around them, so neither does this. */
static gboolean
is_valid_pin_list (const char *pins)
{
  g_auto (GStrv) each = g_strsplit (pins, ";", -1);

  for (guint i = 0; each[i] != NULL; i++)
    if (!ferry_tls_pin_is_valid (each[i]))
      return FALSE;
  return each[0] != NULL;
}

static gboolean
check_account (const FerrySmtpRequest *request, GError **error)
{
  const FerryAccount *account = request->account;

  if (account->smtp_host == NULL || account->smtp_host[0] == '\0')
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Account “%s” has no smtp-host; add one to send its mail", account->name);
      return FALSE;
    }
  if (strpbrk (account->smtp_host, "/?#@ \t") != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "smtp-host of account “%s” must be a host name or address, not “%s”",
                   account->name, account->smtp_host);
      return FALSE;
    }
  if (account->smtp_security != FERRY_SECURITY_NONE && account->smtp_tls_fingerprint != NULL
      && !is_valid_pin_list (account->smtp_tls_fingerprint))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "smtp-tls-fingerprint of account “%s” must be “sha256//” followed by the "
                   "base64 SHA-256 of the server's public key, not “%s”",
                   account->name, account->smtp_tls_fingerprint);
      return FALSE;
    }
  if (request->oauth2_token != NULL && account->smtp_user == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Account “%s” has an OAuth2 token but no smtp-user to log in as; add one",
                   account->name);
      return FALSE;
    }
  return TRUE;
}

static char *
server_url (SmtpSession *s)
{
  const FerryAccount *account = s->request->account;
  const char *scheme = account->smtp_security == FERRY_SECURITY_TLS ? "smtps" : "smtp";

  return g_strdup_printf ("%s://%s", scheme, s->server);
}

static gboolean
configure_tls (SmtpSession *s, GError **error)
{
  const FerryAccount *account = s->request->account;

  if (account->smtp_security == FERRY_SECURITY_NONE)
    return TRUE;

  /* CURLUSESSL_ALL: without STARTTLS in the server's EHLO reply the
   * transfer fails (CURLE_USE_SSL_FAILED) rather than going on in clear. */
  if (account->smtp_security == FERRY_SECURITY_STARTTLS
      && set_long (s, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL) != CURLE_OK)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "This libcurl cannot do STARTTLS, which smtp-security = starttls requires");
      return FALSE;
    }
  set_long (s, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);

  if (account->smtp_tls_fingerprint == NULL)
    {
      set_long (s, CURLOPT_SSL_VERIFYPEER, 1L);
      set_long (s, CURLOPT_SSL_VERIFYHOST, 2L);
      if (account->smtp_ca_file != NULL)
        set_text (s, CURLOPT_CAINFO, account->smtp_ca_file);
      return TRUE;
    }

  /* The pin replaces the CA check, so that a server with a self-signed
   * certificate can be used. Checked with curl 7.88 and OpenSSL: with
   * VERIFYPEER off the key is still compared during the handshake, and a
   * mismatch ends the connection before any command, AUTH included. */
  if (set_text (s, CURLOPT_PINNEDPUBLICKEY, account->smtp_tls_fingerprint) != CURLE_OK)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                   "This libcurl cannot check smtp-tls-fingerprint; use smtp-ca-file instead");
      return FALSE;
    }
  set_long (s, CURLOPT_SSL_VERIFYPEER, 0L);
  set_long (s, CURLOPT_SSL_VERIFYHOST, 0L);
  return TRUE;
}

static void
configure_login (SmtpSession *s)
{
  const FerrySmtpRequest *request = s->request;
  const char *user = request->account->smtp_user;

  /* Credentials go in options of their own, never in the URL. */
  if (request->oauth2_token != NULL)
    {
      set_text (s, CURLOPT_USERNAME, user);
      set_text (s, CURLOPT_XOAUTH2_BEARER, request->oauth2_token);
      set_text (s, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
    }
  else if (request->password != NULL && user != NULL)
    {
      set_text (s, CURLOPT_USERNAME, user);
      set_text (s, CURLOPT_PASSWORD, request->password);
    }
}

static void
configure_timeouts (SmtpSession *s)
{
  long seconds = (long) s->request->timeout_seconds;
  /* Connecting up to AUTH, MAIL, each RCPT, DATA and the final dot. */
  long waits = 4 + (long) s->n_recipients;
  long upload_seconds
      = (long) (g_bytes_get_size (s->request->data) / SLOWEST_UPLOAD_BYTES_PER_SECOND);

  if (seconds == 0)
    return;

  /* Each wait is bounded by the timeout, rather than the whole transfer: a
   * large message on a slow line may take far longer than any one reply
   * should, and must not be refused for it. */
  set_long (s, CURLOPT_CONNECTTIMEOUT, seconds);
  set_long (s, CURLOPT_SERVER_RESPONSE_TIMEOUT, seconds);
  set_long (s, CURLOPT_LOW_SPEED_LIMIT, 1L);
  set_long (s, CURLOPT_LOW_SPEED_TIME, seconds);
  /* The whole is capped as well, against a server that answers or reads
   * just fast enough to dodge those: every wait, plus the message at the
   * slowest rate worth waiting for. */
  set_long (s, CURLOPT_TIMEOUT, seconds * waits + upload_seconds);
}

static CurlSlist *
envelope_recipients (SmtpSession *s)
{
  CurlSlist *list = NULL;

  for (guint i = 0; i < s->n_recipients; i++)
    {
      g_autofree char *path = g_strdup_printf ("<%s>", s->request->recipients[i]);
      list = s->lib->slist_append (list, path);
    }
  return list;
}

static gboolean
configure_transfer (SmtpSession *s, CurlSlist *recipients, GError **error)
{
  const char *sender = s->request->sender != NULL ? s->request->sender : "";
  g_autofree char *url = server_url (s);
  g_autofree char *reverse_path = g_strdup_printf ("<%s>", sender);

  set_text (s, CURLOPT_URL, url);
  set_text (s, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  set_long (s, CURLOPT_NOSIGNAL, 1L);
  set_data (s, CURLOPT_ERRORBUFFER, s->error_buffer);
  if (!configure_tls (s, error))
    return FALSE;
  configure_login (s);
  configure_timeouts (s);

  set_text (s, CURLOPT_MAIL_FROM, reverse_path);
  set_data (s, CURLOPT_MAIL_RCPT, recipients);
  /* Go on to DATA when some recipients are refused, so that the others
   * get the message (spelt with three Ls up to curl 8.1). */
  set_long (s, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);

  set_long (s, CURLOPT_UPLOAD, 1L);
  s->lib->easy_setopt (s->curl, CURLOPT_INFILESIZE_LARGE,
                       (curl_off_t) g_bytes_get_size (s->request->data));
  s->lib->easy_setopt (s->curl, CURLOPT_READFUNCTION, on_curl_read);
  set_data (s, CURLOPT_READDATA, s);

  set_long (s, CURLOPT_VERBOSE, 1L);
  s->lib->easy_setopt (s->curl, CURLOPT_DEBUGFUNCTION, on_curl_debug);
  set_data (s, CURLOPT_DEBUGDATA, s);
  set_long (s, CURLOPT_NOPROGRESS, 0L);
  s->lib->easy_setopt (s->curl, CURLOPT_XFERINFOFUNCTION, on_curl_progress);
  set_data (s, CURLOPT_XFERINFODATA, s);
  return TRUE;
}

/* Describing what happened */

static const char *
security_name (FerrySecurity security)
{
  switch (security)
    {
      case FERRY_SECURITY_TLS:
        return "tls";
      case FERRY_SECURITY_STARTTLS:
        return "starttls";
      case FERRY_SECURITY_NONE:
      default:
        return "none";
    }
}

static const char *
step_name (SmtpStep step)
{
  switch (step)
    {
      case SMTP_STEP_GREETING:
        return "the greeting";
      case SMTP_STEP_HELLO:
        return "EHLO";
      case SMTP_STEP_STARTTLS:
        return "STARTTLS";
      case SMTP_STEP_AUTH:
        return "AUTH";
      case SMTP_STEP_MAIL:
        return "MAIL FROM";
      case SMTP_STEP_RCPT:
        return "RCPT TO";
      case SMTP_STEP_DATA:
        return "DATA";
      case SMTP_STEP_MESSAGE:
        return "the message";
      case SMTP_STEP_QUIT:
        return "QUIT";
      case SMTP_STEP_OTHER:
      default:
        return "a command";
    }
}

static const char *
curl_error_text (SmtpSession *s, CURLcode code)
{
  return s->error_buffer[0] != '\0' ? s->error_buffer : s->lib->easy_strerror (code);
}

static char *
describe_timeout (SmtpSession *s)
{
  guint seconds = s->request->timeout_seconds;
  curl_off_t connect_time = 0;

  s->lib->easy_getinfo (s->curl, CURLINFO_CONNECT_TIME_T, &connect_time);
  if (connect_time == 0)
    return g_strdup_printf ("Could not connect to %s within %u s", s->server, seconds);
  if (s->step == SMTP_STEP_GREETING)
    return g_strdup_printf ("%s sent no greeting within %u s", s->server, seconds);
  return g_strdup_printf ("%s did not answer %s within %u s", s->server, step_name (s->step),
                          seconds);
}

static char *
describe_lost_connection (SmtpSession *s, CURLcode code)
{
  long os_errno = 0;

  s->lib->easy_getinfo (s->curl, CURLINFO_OS_ERRNO, &os_errno);
  return g_strdup_printf ("Connection to %s lost during %s: %s", s->server, step_name (s->step),
                          os_errno != 0 ? g_strerror ((int) os_errno)
                                        : s->lib->easy_strerror (code));
}

static char *
describe_untrusted_certificate (SmtpSession *s, CURLcode code)
{
  const char *problem = curl_error_text (s, code);
  const char *prefix = "SSL certificate problem: ";

  if (g_str_has_prefix (problem, prefix))
    problem += strlen (prefix);
  return g_strdup_printf ("TLS certificate of %s not trusted: %s "
                          "(set smtp-ca-file or smtp-tls-fingerprint)",
                          s->request->account->smtp_host, problem);
}

/* A one-line description of a failure that came without a decisive
 * reply from the server: network, TLS, timeouts. */
static char *
describe_curl_failure (SmtpSession *s, CURLcode code)
{
  const FerryAccount *account = s->request->account;
  long os_errno = 0;

  switch (code)
    {
      case CURLE_COULDNT_RESOLVE_HOST:
        return g_strdup_printf ("Could not find the address of %s: %s", account->smtp_host,
                                curl_error_text (s, code));
      case CURLE_COULDNT_CONNECT:
        s->lib->easy_getinfo (s->curl, CURLINFO_OS_ERRNO, &os_errno);
        return g_strdup_printf ("Could not connect to %s: %s", s->server,
                                os_errno != 0 ? g_strerror ((int) os_errno)
                                              : curl_error_text (s, code));
      case CURLE_OPERATION_TIMEDOUT:
        return describe_timeout (s);
      case CURLE_PEER_FAILED_VERIFICATION:
        return describe_untrusted_certificate (s, code);
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return g_strdup_printf ("TLS key of %s does not match smtp-tls-fingerprint: the server's "
                                "key has changed, or this is not your server",
                                account->smtp_host);
      case CURLE_USE_SSL_FAILED:
        return g_strdup_printf ("%s does not offer STARTTLS, which smtp-security = starttls "
                                "requires; nothing was sent",
                                s->server);
      case CURLE_SSL_CONNECT_ERROR:
        return g_strdup_printf ("TLS handshake with %s failed: %s (is smtp-security = %s right "
                                "for this port?)",
                                s->server, curl_error_text (s, code),
                                security_name (account->smtp_security));
      case CURLE_LOGIN_DENIED:
        return g_strdup_printf ("%s offers no login method Ferry can use for this account "
                                "(it offers: %s)",
                                s->server,
                                s->auth_mechanisms != NULL ? s->auth_mechanisms : "none");
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
        return describe_lost_connection (s, code);
      default:
        return g_strdup_printf ("%s: %s", s->server, curl_error_text (s, code));
    }
}

static void
smtp_verdict_clear (SmtpVerdict *verdict)
{
  g_clear_pointer (&verdict->reply, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SmtpVerdict, smtp_verdict_clear)

static gboolean
all_refused_at_rcpt (SmtpSession *s)
{
  for (guint i = 0; i < s->n_recipients; i++)
    if (s->rcpt_replies[i].code < 400)
      return FALSE;
  return TRUE;
}

/* What applies to every recipient the server had not already answered,
 * when the transfer failed: the reply that ended it, if there was one (a
 * failing greeting, STARTTLS, AUTH, MAIL or DATA, or the last of the RCPTs
 * when all were refused), else the failure libcurl reports. A refused RCPT
 * among others decides nothing for the rest. */
static void
decide_failure (SmtpSession *s, CURLcode code, SmtpVerdict *verdict)
{
  const SmtpReply *last = &s->last_reply;

  if (last->code >= 400 && (s->last_reply_step != SMTP_STEP_RCPT || all_refused_at_rcpt (s)))
    {
      verdict->status = status_of_failure (last->code);
      verdict->code = last->code;
      verdict->reply = g_strdup (last->text);
      return;
    }

  /* No AUTH reply, yet the login failed: no mechanism in common. The user
   * has to change the account before it can work. */
  verdict->status
      = code == CURLE_LOGIN_DENIED ? FERRY_SMTP_STATUS_PERMANENT : FERRY_SMTP_STATUS_TEMPORARY;
  verdict->code = 0;
  verdict->reply = describe_curl_failure (s, code);
}

static FerrySmtpRecipientResult *
recipient_result_new (const char *address, FerrySmtpStatus status, guint code, const char *reply)
{
  FerrySmtpRecipientResult *result = g_new0 (FerrySmtpRecipientResult, 1);

  result->address = g_strdup (address);
  result->status = status;
  result->code = code;
  result->reply = g_strdup (reply);
  return result;
}

static void
recipient_result_free (FerrySmtpRecipientResult *result)
{
  g_free (result->address);
  g_free (result->reply);
  g_free (result);
}

static FerrySmtpRecipientResult *
judge_recipient (SmtpSession *s, guint index, const SmtpVerdict *failure)
{
  const char *address = s->request->recipients[index];
  const SmtpReply *rcpt = &s->rcpt_replies[index];
  const SmtpReply *message = &s->message_reply;

  /* Refused at RCPT: that reply is the verdict, whatever came after. */
  if (rcpt->code != 0 && !is_positive (rcpt->code))
    return recipient_result_new (address, status_of_failure (rcpt->code), rcpt->code, rcpt->text);

  /* Accepted at RCPT: the reply to the message decides (RFC 5321 §4.1.1.4). */
  if (is_positive (rcpt->code) && message->code != 0)
    return recipient_result_new (address,
                                 is_positive (message->code) ? FERRY_SMTP_STATUS_DELIVERED
                                                             : status_of_failure (message->code),
                                 message->code, message->text);

  return recipient_result_new (address, failure->status, failure->code, failure->reply);
}

static char *
summarize (SmtpSession *s, FerrySmtpResult *result, const SmtpVerdict *failure)
{
  guint delivered = 0;

  if (s->message_reply.code == 0 && failure->code != 0)
    return g_strdup_printf ("%s: %s", s->server, failure->reply);
  if (s->message_reply.code == 0)
    return g_strdup (failure->reply);

  for (guint i = 0; i < result->recipients->len; i++)
    {
      FerrySmtpRecipientResult *r = g_ptr_array_index (result->recipients, i);
      delivered += r->status == FERRY_SMTP_STATUS_DELIVERED;
    }
  if (delivered > 0 && delivered < result->recipients->len)
    return g_strdup_printf ("%s: accepted for %u of %u recipients: %s", s->server, delivered,
                            result->recipients->len, s->message_reply.text);
  return g_strdup_printf ("%s: %s", s->server, s->message_reply.text);
}

static FerrySmtpResult *
judge_session (SmtpSession *s, CURLcode code)
{
  g_auto (SmtpVerdict) failure = { FERRY_SMTP_STATUS_TEMPORARY, 0, NULL };
  FerrySmtpResult *result = g_new0 (FerrySmtpResult, 1);
  long last_code = 0;

  /* libcurl reports success only after the reply to the message. */
  if (code != CURLE_OK || !is_positive (s->message_reply.code))
    decide_failure (s, code, &failure);

  result->recipients = g_ptr_array_new_with_free_func ((GDestroyNotify) recipient_result_free);
  for (guint i = 0; i < s->n_recipients; i++)
    g_ptr_array_add (result->recipients, judge_recipient (s, i, &failure));

  s->lib->easy_getinfo (s->curl, CURLINFO_RESPONSE_CODE, &last_code);
  result->code = (guint) last_code;
  result->reply = summarize (s, result, &failure);
  return result;
}

/**
 * ferry_outbox_smtp_deliver:
 * @request: what to send, to whom, through which account
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @request->data to the account's SMTP server, blocking until the
 * server has answered or the connection has failed; call it from a worker
 * thread. TLS certificates are verified against the system's CAs, or
 * smtp-ca-file; smtp-tls-fingerprint replaces that check with a pin on the
 * server's public key.
 *
 * A refusal, a network or TLS failure is not an error: it is a result,
 * with a status for each recipient. Errors are local problems only: the
 * account lacks a setting (%FERRY_ERROR_CONFIG), libcurl cannot be used
 * (%FERRY_ERROR_UNAVAILABLE), or @cancellable was cancelled before the
 * server accepted the message (%G_IO_ERROR_CANCELLED).
 *
 * Returns: (transfer full) (nullable): the outcome, or %NULL with @error set
 */
FerrySmtpResult *
ferry_outbox_smtp_deliver (const FerrySmtpRequest *request,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (SmtpSession) s = NULL;
  g_autoptr (CurlSlist) recipients = NULL;
  const FerryOutboxCurl *lib;
  CURLcode code;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (request->account != NULL, NULL);
  g_return_val_if_fail (request->recipients != NULL && request->recipients[0] != NULL, NULL);
  g_return_val_if_fail (request->data != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_account (request, error))
    return NULL;
  lib = ferry_outbox_curl_get (error);
  if (lib == NULL)
    return NULL;

  s = smtp_session_new (request, lib, cancellable);
  s->curl = lib->easy_init ();
  if (s->curl == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                           "Cannot start a libcurl session");
      return NULL;
    }
  recipients = envelope_recipients (s);
  if (!configure_transfer (s, recipients, error))
    return NULL;

  code = lib->easy_perform (s->curl);

  if (code == CURLE_ABORTED_BY_CALLBACK && !is_positive (s->message_reply.code))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Sending through %s was cancelled",
                   s->server);
      return NULL;
    }
  if (code == CURLE_SSL_CACERT_BADFILE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Cannot use the certificates in smtp-ca-file %s of account “%s”: %s",
                   request->account->smtp_ca_file, request->account->name,
                   curl_error_text (s, code));
      return NULL;
    }
  return judge_session (s, code);
}

/**
 * ferry_smtp_result_free:
 * @result: (nullable): a #FerrySmtpResult
 */
void
ferry_smtp_result_free (FerrySmtpResult *result)
{
  if (result == NULL)
    return;
  g_ptr_array_unref (result->recipients);
  g_free (result->reply);
  g_free (result);
}
