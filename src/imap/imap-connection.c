/* imap-connection.c: the transport under an IMAP client: TCP, TLS, timeouts
 *
 * Blocking GIO calls on one socket, made from a worker thread. The socket
 * carries the timeout (GSocketClient sets it on the GSocket), so any read,
 * write or handshake that waits longer than that for the server fails with
 * G_IO_ERROR_TIMED_OUT, which becomes the message a user can act on.
 *
 * TLS is GIO's, through glib-networking. A certificate that does not
 * verify can still be trusted by the pin of its public key
 * (imap-tls-fingerprint, in the "sha256//" form smtp-tls-fingerprint
 * takes); with pins set, only a certificate with one of those keys is
 * accepted, even if another one would verify.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/tls-pin.h"
#include "imap/imap-connection.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define IMAPS_PORT       993
#define IMAP_PORT        143

struct _FerryImapConnection
{
  char *host;
  guint16 port;
  FerrySecurity security;
  char *ca_file;
  char **pins; /* from imap-tls-fingerprint, or NULL */
  guint timeout_seconds;

  GSocketConnectable *address;
  GSocketConnection *socket_connection;
  GIOStream *stream; /* socket_connection, or the TLS connection over it */
  /* The stream's, or with COMPRESS inflating and deflating ones over them. */
  GInputStream *input;
  GOutputStream *output;
  FerryImapParser *parser;
  guint8 *buffer;
  gsize buffer_start;
  gsize buffer_end;

  /* What accept-certificate, if it ran, saw of a certificate that did not verify. */
  gboolean peer_checked;
  char *peer_pin; /* NULL when its public key could not be read */
  GTlsCertificateFlags peer_errors;
};

/**
 * ferry_imap_settings_from_account:
 * @settings: (out caller-allocates): filled in, borrowing @account's strings
 * @account: an account
 * @timeout_seconds: the configuration's timeout
 */
void
ferry_imap_settings_from_account (FerryImapSettings *settings,
                                  const FerryAccount *account,
                                  guint timeout_seconds)
{
  g_return_if_fail (settings != NULL);
  g_return_if_fail (account != NULL);

  *settings = (FerryImapSettings){
    .host = account->imap_host,
    .port = account->imap_port,
    .security = account->imap_security,
    .ca_file = account->imap_ca_file,
    .tls_fingerprint = account->imap_tls_fingerprint,
    .user = account->imap_user,
    .timeout_seconds = timeout_seconds,
  };
}

/* Errors ----------------------------------------------------------------- */

static gboolean
is_connection_lost (const GError *error)
{
  return g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
}

/* Turns a GIO error on the established connection into one that says
 * which server, and whether it stopped answering or went away. A
 * cancellation stays G_IO_ERROR_CANCELLED for the caller to recognize. */
static gboolean
fail_io (FerryImapConnection *self, GError *io_error, GError **error)
{
  g_autoptr (GError) owned = io_error;

  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&owned));
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "no answer from %s for %u seconds",
                 self->host, self->timeout_seconds);
  else if (is_connection_lost (io_error))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "%s closed the connection", self->host);
  else
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "Connection to %s lost: %s", self->host,
                 io_error->message);
  return FALSE;
}

/* Pipelined commands go out one write each. Nagle's algorithm (RFC 896)
 * would hold every one after the first until the server acknowledged
 * that, which on a slow link is a round trip the pipeline was to save. */
static void
send_without_delay (FerryImapConnection *self)
{
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  g_autoptr (GError) local_error = NULL;

  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX
      && !g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &local_error))
    g_debug ("IMAP %s: commands may wait to be sent together: %s", self->host,
             local_error->message);
}

static void
fail_connect (FerryImapConnection *self, GError *connect_error, GError **error)
{
  g_autoptr (GError) owned = connect_error;

  if (connect_error->domain == G_RESOLVER_ERROR
      || g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_HOST, "Could not find the address of %s: %s",
                 self->host, connect_error->message);
  else if (g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           || g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    fail_io (self, g_steal_pointer (&owned), error);
  else
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "Could not connect to %s port %u: %s",
                 self->host, self->port, connect_error->message);
}

/* Certificates ----------------------------------------------------------- */

static char *
certificate_pin (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return ferry_tls_pin_from_certificate_der (der->data, der->len);
}

static gboolean
matches_pin (FerryImapConnection *self, const char *pin)
{
  return self->pins != NULL && ferry_tls_pin_list_contains ((const char *const *) self->pins, pin);
}

static gboolean
on_accept_certificate (GTlsConnection *connection,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  FerryImapConnection *self = user_data;

  g_free (self->peer_pin);
  self->peer_pin = certificate_pin (certificate);
  self->peer_checked = TRUE;
  self->peer_errors = errors;
  return matches_pin (self, self->peer_pin);
}

static char *
describe_certificate_errors (GTlsCertificateFlags errors)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const char *text;
  } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "it is self-signed or signed by an unknown authority" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "it is made out to another host name" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "it is not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "it has expired" },
    { G_TLS_CERTIFICATE_REVOKED, "it has been revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "it uses insecure cryptography" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "it could not be checked" },
  };
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (errors & reasons[i].flag)
      g_string_append_printf (text, "%s%s", text->len > 0 ? "; " : "", reasons[i].text);
  if (text->len == 0)
    g_string_append (text, "it does not match imap-tls-fingerprint");
  return g_string_free (text, FALSE);
}

static void
set_unreadable_error (FerryImapConnection *self, GError **error)
{
  g_autofree char *reasons = NULL;

  if (self->pins != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                   "The TLS certificate of %s cannot be checked against imap-tls-fingerprint: "
                   "Ferry could not find its public key in it. Set imap-ca-file instead of "
                   "imap-tls-fingerprint to trust it",
                   self->host);
      return;
    }
  reasons = describe_certificate_errors (self->peer_errors);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
               "The TLS certificate of %s is not trusted (%s), and Ferry could not find its "
               "public key in it to pin it: set imap-ca-file to trust it",
               self->host, reasons);
}

static void
set_untrusted_error (FerryImapConnection *self, const char *pin, GError **error)
{
  g_autofree char *reasons = NULL;

  if (pin == NULL)
    {
      set_unreadable_error (self, error);
      return;
    }
  if (self->pins != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
                   "The TLS certificate of %s does not match imap-tls-fingerprint: the pin of "
                   "its public key is %s. Either this is not your server, or its key was "
                   "replaced: then set imap-tls-fingerprint = %s or imap-ca-file to trust it",
                   self->host, pin, pin);
      return;
    }
  reasons = describe_certificate_errors (self->peer_errors);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_PERM,
               "The TLS certificate of %s is not trusted (%s); the pin of its public key is %s: "
               "set imap-tls-fingerprint = %s or imap-ca-file to trust it",
               self->host, reasons, pin, pin);
}

/* TLS ---------------------------------------------------------------------- */

static const char *
security_name (FerrySecurity security)
{
  return security == FERRY_SECURITY_TLS ? "tls" : "starttls";
}

static gboolean
fail_handshake (FerryImapConnection *self, GError *handshake_error, GError **error)
{
  g_autoptr (GError) owned = handshake_error;

  if (g_error_matches (handshake_error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
      && self->peer_checked)
    {
      set_untrusted_error (self, self->peer_pin, error);
      return FALSE;
    }
  if (g_error_matches (handshake_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_error_matches (handshake_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return fail_io (self, g_steal_pointer (&owned), error);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL,
               "TLS handshake with %s port %u failed: %s (is imap-security = %s right for this "
               "port?)",
               self->host, self->port, handshake_error->message, security_name (self->security));
  return FALSE;
}

static gboolean
set_ca_file (FerryImapConnection *self, GTlsConnection *tls, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;

  if (self->ca_file == NULL)
    return TRUE;
  database = g_tls_file_database_new (self->ca_file, &local_error);
  if (database == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "Cannot use imap-ca-file %s: %s",
                   self->ca_file, local_error->message);
      return FALSE;
    }
  g_tls_connection_set_database (tls, database);
  return TRUE;
}

/* A certificate that verified is still refused when its key is not a
 * pinned one: the pins say which keys this server has. */
static gboolean
check_pin (FerryImapConnection *self, GTlsConnection *tls, GError **error)
{
  g_autofree char *pin = NULL;

  if (self->pins == NULL)
    return TRUE;
  pin = certificate_pin (g_tls_connection_get_peer_certificate (tls));
  if (matches_pin (self, pin))
    return TRUE;
  set_untrusted_error (self, pin, error);
  return FALSE;
}

static void
use_stream (FerryImapConnection *self)
{
  g_set_object (&self->input, g_io_stream_get_input_stream (self->stream));
  g_set_object (&self->output, g_io_stream_get_output_stream (self->stream));
}

static gboolean
handshake (FerryImapConnection *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GIOStream) tls = NULL;
  GError *local_error = NULL;

  tls = g_tls_client_connection_new (G_IO_STREAM (self->socket_connection), self->address,
                                     &local_error);
  if (tls == NULL)
    return fail_handshake (self, local_error, error);
  if (!set_ca_file (self, G_TLS_CONNECTION (tls), error))
    return FALSE;
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), self);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), cancellable, &local_error))
    return fail_handshake (self, local_error, error);
  if (!check_pin (self, G_TLS_CONNECTION (tls), error))
    return FALSE;

  g_signal_handlers_disconnect_by_data (tls, self);
  g_clear_object (&self->stream);
  self->stream = g_steal_pointer (&tls);
  use_stream (self);
  return TRUE;
}

/* Connecting ---------------------------------------------------------------- */

static gboolean
is_loopback_host (const char *host)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  if (address != NULL)
    return g_inet_address_get_is_loopback (address);
  return g_ascii_strcasecmp (host, "localhost") == 0;
}

static gboolean
copy_settings (FerryImapConnection *self, const FerryImapSettings *settings, GError **error)
{
  self->host = g_strdup (settings->host);
  self->security = settings->security;
  self->port = settings->port;
  if (self->port == 0)
    self->port = settings->security == FERRY_SECURITY_TLS ? IMAPS_PORT : IMAP_PORT;
  self->ca_file = g_strdup (settings->ca_file);
  self->timeout_seconds
      = settings->timeout_seconds != 0 ? settings->timeout_seconds : FERRY_IMAP_DEFAULT_TIMEOUT;
  if (settings->tls_fingerprint != NULL && settings->security != FERRY_SECURITY_NONE)
    {
      self->pins
          = ferry_tls_pin_parse_list (settings->tls_fingerprint, "imap-tls-fingerprint", error);
      if (self->pins == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_tls_backend (FerrySecurity security, GError **error)
{
  if (security == FERRY_SECURITY_NONE || g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    return TRUE;
  g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_UNAVAILABLE,
                       "TLS is not available: GIO has no TLS backend. Install glib-networking "
                       "(on Debian and Ubuntu: apt install glib-networking)");
  return FALSE;
}

/**
 * ferry_imap_connection_open:
 * @settings: where to connect
 * @cancellable: (nullable): to give up
 * @error: FERRY_ERROR_CONFIG for bad settings, FERRY_ERROR_NO_PERM for a
 *   certificate that is not trusted,
 *   FERRY_ERROR_NO_HOST, FERRY_ERROR_TEMP_FAIL for network trouble,
 *   FERRY_ERROR_UNAVAILABLE without a TLS backend, G_IO_ERROR_CANCELLED
 *
 * Connects, and with FERRY_SECURITY_TLS completes the TLS handshake. The
 * greeting is left for the caller to read.
 *
 * Returns: (transfer full) (nullable): the connection
 */
FerryImapConnection *
ferry_imap_connection_open (const FerryImapSettings *settings,
                            GCancellable *cancellable,
                            GError **error)
{
  g_autoptr (FerryImapConnection) self = NULL;
  g_autoptr (GSocketClient) client = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (settings != NULL, NULL);

  if (settings->host == NULL || *settings->host == '\0')
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                           "No IMAP server to connect to: set imap-host");
      return NULL;
    }
  if (!check_tls_backend (settings->security, error))
    return NULL;
  self = g_new0 (FerryImapConnection, 1);
  self->parser = ferry_imap_parser_new ();
  self->buffer = g_malloc (READ_BUFFER_SIZE);
  if (!copy_settings (self, settings, error))
    return NULL;

  self->address = g_network_address_new (self->host, self->port);
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, self->timeout_seconds);
  /* No proxy is meant for this machine (GNOME's and libproxy's defaults
   * leave it out); asking costs loading the proxy modules. */
  if (is_loopback_host (self->host))
    g_socket_client_set_enable_proxy (client, FALSE);
  self->socket_connection
      = g_socket_client_connect (client, self->address, cancellable, &local_error);
  if (self->socket_connection == NULL)
    {
      fail_connect (self, local_error, error);
      return NULL;
    }
  send_without_delay (self);
  self->stream = G_IO_STREAM (g_object_ref (self->socket_connection));
  use_stream (self);

  if (self->security == FERRY_SECURITY_TLS && !handshake (self, cancellable, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
ferry_imap_connection_free (FerryImapConnection *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  if (self->stream != NULL)
    g_io_stream_close (self->stream, NULL, NULL);
  g_clear_object (&self->stream);
  g_clear_object (&self->socket_connection);
  g_clear_object (&self->address);
  ferry_imap_parser_free (self->parser);
  g_free (self->buffer);
  g_free (self->peer_pin);
  g_free (self->host);
  g_free (self->ca_file);
  g_strfreev (self->pins);
  g_free (self);
}

const char *
ferry_imap_connection_get_host (FerryImapConnection *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->host;
}

/**
 * ferry_imap_connection_start_tls:
 * @self: a plain connection whose server just accepted STARTTLS
 * @cancellable: (nullable): to give up
 * @error: as for ferry_imap_connection_open()
 *
 * Returns: whether the connection is now TLS
 */
gboolean
ferry_imap_connection_start_tls (FerryImapConnection *self,
                                 GCancellable *cancellable,
                                 GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->stream == G_IO_STREAM (self->socket_connection), FALSE);

  /* Bytes after the STARTTLS reply but before the handshake were not
   * protected by TLS; taking them as if they were is a known attack
   * (CVE-2011-0411 and its IMAP siblings). */
  if (self->buffer_start != self->buffer_end)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   "%s sent data between accepting STARTTLS and starting TLS; Ferry does not "
                   "trust such a connection",
                   self->host);
      return FALSE;
    }
  return handshake (self, cancellable, error);
}

/**
 * ferry_imap_connection_is_loopback:
 * @self: a connection
 *
 * Returns: whether the server is on this machine
 */
gboolean
ferry_imap_connection_is_loopback (FerryImapConnection *self)
{
  g_autoptr (GSocketAddress) address = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  address = g_socket_connection_get_remote_address (self->socket_connection, NULL);
  return G_IS_INET_SOCKET_ADDRESS (address)
         && g_inet_address_get_is_loopback (
             g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

/**
 * ferry_imap_connection_start_compression:
 * @self: a connection, right after the server accepted COMPRESS DEFLATE
 * @error: FERRY_ERROR_PROTOCOL when the server sent more after accepting
 *
 * From now on, what is sent is deflated and what is received inflated:
 * raw DEFLATE with a sync flush after each write (RFC 4978 4).
 */
gboolean
ferry_imap_connection_start_compression (FerryImapConnection *self, GError **error)
{
  g_autoptr (GZlibCompressor) deflate = NULL;
  g_autoptr (GZlibDecompressor) inflate = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!G_IS_CONVERTER_OUTPUT_STREAM (self->output), FALSE);

  /* Read already, those bytes were deflated: nothing is unsolicited
   * between the tagged OK and the first command after it. */
  if (self->buffer_start != self->buffer_end)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   "%s sent data right after accepting COMPRESS; set imap-compress = no",
                   self->host);
      return FALSE;
    }
  deflate = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, -1);
  inflate = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  g_clear_object (&self->output);
  self->output = g_converter_output_stream_new (g_io_stream_get_output_stream (self->stream),
                                                G_CONVERTER (deflate));
  g_clear_object (&self->input);
  self->input = g_converter_input_stream_new (g_io_stream_get_input_stream (self->stream),
                                              G_CONVERTER (inflate));
  return TRUE;
}

/* I/O ------------------------------------------------------------------------ */

gboolean
ferry_imap_connection_write (FerryImapConnection *self,
                             const char *data,
                             gsize length,
                             GCancellable *cancellable,
                             GError **error)
{
  GOutputStream *output;
  GError *local_error = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  output = self->output;
  /* A deflating stream holds what it was given until flushed. */
  if (!g_output_stream_write_all (output, data, length, NULL, cancellable, &local_error)
      || (G_IS_CONVERTER_OUTPUT_STREAM (output)
          && !g_output_stream_flush (output, cancellable, &local_error)))
    return fail_io (self, local_error, error);
  return TRUE;
}

/**
 * ferry_imap_connection_write_from_fd:
 * @self: a connection
 * @fd: read from its current offset
 * @size: exactly this many bytes are sent
 * @cancellable: (nullable): to give up
 * @error: FERRY_ERROR_IO when @fd fails or ends early; then the
 *   connection is out of step with the server and must be closed
 *
 * Returns: whether all @size bytes were sent
 */
gboolean
ferry_imap_connection_write_from_fd (
    FerryImapConnection *self, int fd, guint64 size, GCancellable *cancellable, GError **error)
{
  g_autofree char *chunk = g_malloc (READ_BUFFER_SIZE);
  guint64 sent = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);

  while (sent < size)
    {
      gssize n = read (fd, chunk, (gsize) MIN (size - sent, READ_BUFFER_SIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO, "Cannot read the message to upload: %s",
                       g_strerror (saved_errno));
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IO,
                       "The message to upload ended after %" G_GUINT64_FORMAT
                       " of its %" G_GUINT64_FORMAT " bytes",
                       sent, size);
          return FALSE;
        }
      if (!ferry_imap_connection_write (self, chunk, (gsize) n, cancellable, error))
        return FALSE;
      sent += (guint64) n;
    }
  return TRUE;
}

static gboolean
fill_buffer (FerryImapConnection *self, GCancellable *cancellable, GError **error)
{
  GInputStream *input = self->input;
  GError *local_error = NULL;
  gssize n = g_input_stream_read (input, self->buffer, READ_BUFFER_SIZE, cancellable, &local_error);

  if (n < 0)
    return fail_io (self, local_error, error);
  if (n == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_TEMP_FAIL, "%s closed the connection",
                   self->host);
      return FALSE;
    }
  self->buffer_start = 0;
  self->buffer_end = (gsize) n;
  return TRUE;
}

/**
 * ferry_imap_connection_read:
 * @self: a connection
 * @literal_func: (nullable): called at each literal, to stream it with
 *   ferry_imap_parser_stream_literal(); literals it leaves are kept in
 *   memory, up to the parser's limit
 * @user_data: for @literal_func
 * @cancellable: (nullable): to give up
 * @error: FERRY_ERROR_TEMP_FAIL when the server is silent or gone,
 *   FERRY_ERROR_PROTOCOL when it sends what is not IMAP, or
 *   G_IO_ERROR_CANCELLED; after any error the connection is unusable
 *
 * Returns: (transfer full) (nullable): the next response from the server
 */
FerryImapResponse *
ferry_imap_connection_read (FerryImapConnection *self,
                            FerryImapLiteralFunc literal_func,
                            gpointer user_data,
                            GCancellable *cancellable,
                            GError **error)
{
  /* Set when a literal was just announced: the parser judges its size
   * before anything waits for its bytes, so that a server announcing
   * gigabytes it will never send is refused at once. */
  gboolean literal_announced = FALSE;

  g_return_val_if_fail (self != NULL, NULL);

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      FerryImapParseEvent event;
      gsize consumed = 0;

      if (!literal_announced && self->buffer_start == self->buffer_end
          && !fill_buffer (self, cancellable, error))
        return NULL;
      literal_announced = FALSE;
      event
          = ferry_imap_parser_feed (self->parser, self->buffer + self->buffer_start,
                                    self->buffer_end - self->buffer_start, &consumed, &local_error);
      self->buffer_start += consumed;
      switch (event)
        {
          case FERRY_IMAP_PARSE_MORE:
            break;
          case FERRY_IMAP_PARSE_LITERAL:
            if (literal_func != NULL)
              literal_func (self->parser, user_data);
            literal_announced = TRUE;
            break;
          case FERRY_IMAP_PARSE_RESPONSE:
            return ferry_imap_parser_take_response (self->parser);
          case FERRY_IMAP_PARSE_ERROR:
          default:
            g_set_error (error, local_error->domain, local_error->code,
                         "%s sent a response Ferry cannot read: %s", self->host,
                         local_error->message);
            return NULL;
        }
    }
}
