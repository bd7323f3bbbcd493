/* tls-pin.c: public-key pins of TLS servers, in curl's "sha256//" form
 *
 * A pin is "sha256//" and the base64 form of the SHA-256 digest of the
 * DER encoding of a certificate's SubjectPublicKeyInfo, as libcurl takes
 * in CURLOPT_PINNEDPUBLICKEY: the same text pins an SMTP server (through
 * libcurl) and an IMAP server (through GIO, which only gives the whole
 * certificate). The key survives a renewal of the certificate.
 *
 * Finding the SubjectPublicKeyInfo needs only the first fields of the
 * certificate (RFC 5280 §4.1), so a small DER reader is enough: it takes
 * single-byte tags and definite, minimal lengths (X.690 §10.1), checks
 * every length against what holds it, and gives up on anything else.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "core/errors.h"
#include "core/tls-pin.h"

#define SHA256_DIGEST_LENGTH 32

#define DER_TAG_INTEGER        0x02
#define DER_TAG_BIT_STRING     0x03
#define DER_TAG_SEQUENCE       0x30
#define DER_TAG_EXPLICIT_0     0xa0 /* tbsCertificate's [0] EXPLICIT version */
#define DER_TAG_NUMBER_MASK    0x1f /* all ones: the tag number goes on in more bytes */
#define DER_LENGTH_LONG_FORM   0x80
#define DER_MAX_LENGTH_BYTES   4
#define DER_SHORTEST_LONG_FORM 0x80

/* Bytes still to read, all inside the element that holds them. */
typedef struct
{
  const guint8 *data;
  gsize length;
} DerSpan;

typedef struct
{
  guint8 tag;
  DerSpan whole; /* tag, length and contents */
  DerSpan contents;
} DerElement;

static void
skip (DerSpan *span, gsize count)
{
  span->data += count;
  span->length -= count;
}

static gboolean
read_length (DerSpan *span, gsize *length)
{
  guint8 first;
  gsize count;
  guint32 value = 0;

  if (span->length == 0)
    return FALSE;
  first = span->data[0];
  skip (span, 1);
  if (!(first & DER_LENGTH_LONG_FORM))
    {
      *length = first;
      return TRUE;
    }
  /* A count of 0 is BER's indefinite length, which DER forbids. */
  count = first - DER_LENGTH_LONG_FORM;
  if (count == 0 || count > DER_MAX_LENGTH_BYTES || count > span->length)
    return FALSE;
  /* Minimal: no leading zero byte, and no long form for what fits the short one. */
  if (span->data[0] == 0)
    return FALSE;
  for (gsize i = 0; i < count; i++)
    value = value << 8 | span->data[i];
  if (value < DER_SHORTEST_LONG_FORM)
    return FALSE;
  skip (span, count);
  *length = value;
  return TRUE;
}

/* Reads the element at the start of @span and moves @span past it. */
static gboolean
read_element (DerSpan *span, DerElement *element)
{
  DerSpan rest = *span;
  gsize length;

  if (rest.length == 0)
    return FALSE;
  element->tag = rest.data[0];
  if ((element->tag & DER_TAG_NUMBER_MASK) == DER_TAG_NUMBER_MASK)
    return FALSE;
  skip (&rest, 1);
  if (!read_length (&rest, &length) || length > rest.length)
    return FALSE;
  element->contents = (DerSpan){ rest.data, length };
  element->whole = (DerSpan){ span->data, (gsize) (rest.data - span->data) + length };
  skip (&rest, length);
  *span = rest;
  return TRUE;
}

static gboolean
read_tagged (DerSpan *span, guint8 tag, DerElement *element)
{
  return read_element (span, element) && element->tag == tag;
}

/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 * (RFC 5280 §4.1), with nothing after it. */
static gboolean
read_certificate (DerSpan der, DerSpan *tbs_fields)
{
  DerElement certificate, tbs, algorithm, signature;
  DerSpan fields;

  if (!read_tagged (&der, DER_TAG_SEQUENCE, &certificate) || der.length != 0)
    return FALSE;
  fields = certificate.contents;
  if (!read_tagged (&fields, DER_TAG_SEQUENCE, &tbs)
      || !read_tagged (&fields, DER_TAG_SEQUENCE, &algorithm)
      || !read_tagged (&fields, DER_TAG_BIT_STRING, &signature) || fields.length != 0)
    return FALSE;
  *tbs_fields = tbs.contents;
  return TRUE;
}

/* TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber,
 * signature, issuer, validity, subject, subjectPublicKeyInfo, ... }: a v1
 * certificate leaves the version out. */
static gboolean
find_subject_public_key_info (DerSpan der, DerSpan *spki)
{
  static const guint8 fields_before_key[] = {
    DER_TAG_INTEGER,  /* serialNumber */
    DER_TAG_SEQUENCE, /* signature */
    DER_TAG_SEQUENCE, /* issuer */
    DER_TAG_SEQUENCE, /* validity */
    DER_TAG_SEQUENCE, /* subject */
  };
  DerSpan fields;
  DerElement element;

  if (!read_certificate (der, &fields))
    return FALSE;
  if (fields.length > 0 && fields.data[0] == DER_TAG_EXPLICIT_0
      && !read_element (&fields, &element))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (fields_before_key); i++)
    if (!read_tagged (&fields, fields_before_key[i], &element))
      return FALSE;
  if (!read_tagged (&fields, DER_TAG_SEQUENCE, &element))
    return FALSE;
  *spki = element.whole;
  return TRUE;
}

/**
 * ferry_tls_pin_from_certificate_der:
 * @der: (array length=length) (nullable): a certificate in DER
 * @length: its size in bytes
 *
 * Returns: (transfer full) (nullable): the pin of its public key,
 *   "sha256//" and base64, or %NULL when @der is not a well-formed
 *   X.509 certificate as far as the public key
 */
char *
ferry_tls_pin_from_certificate_der (const guint8 *der, gsize length)
{
  g_autoptr (GChecksum) checksum = NULL;
  g_autofree char *encoded = NULL;
  guint8 digest[SHA256_DIGEST_LENGTH];
  gsize digest_length = sizeof digest;
  DerSpan spki;

  g_return_val_if_fail (der != NULL || length == 0, NULL);

  if (!find_subject_public_key_info ((DerSpan){ der, length }, &spki))
    return NULL;
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, spki.data, (gssize) spki.length);
  g_checksum_get_digest (checksum, digest, &digest_length);
  encoded = g_base64_encode (digest, digest_length);
  return g_strconcat (FERRY_TLS_PIN_PREFIX, encoded, NULL);
}

/**
 * ferry_tls_pin_is_valid:
 * @pin: a text
 *
 * Returns: whether @pin is exactly one pin: "sha256//" and the padded
 *   base64 form of 32 bytes, with nothing around it
 */
gboolean
ferry_tls_pin_is_valid (const char *pin)
{
  g_autofree guchar *digest = NULL;
  g_autofree char *encoded = NULL;
  gsize length;

  g_return_val_if_fail (pin != NULL, FALSE);

  if (!g_str_has_prefix (pin, FERRY_TLS_PIN_PREFIX))
    return FALSE;
  pin += strlen (FERRY_TLS_PIN_PREFIX);
  digest = g_base64_decode (pin, &length);
  if (length != SHA256_DIGEST_LENGTH)
    return FALSE;
  /* g_base64_decode() skips what is not base64; encoding back catches it. */
  encoded = g_base64_encode (digest, length);
  return strcmp (encoded, pin) == 0;
}

static GStrv
set_invalid_pin_error (const char *key, const char *pin, GError **error)
{
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
               "%s “%s” is not a public-key pin: it must be “sha256//” followed by the base64 "
               "form of the 32-byte SHA-256 digest of the server's public key, several "
               "separated by “;” (see COMPUTING A FINGERPRINT in ferry.conf(5))",
               key, pin);
  return NULL;
}

/**
 * ferry_tls_pin_parse_list:
 * @value: a setting's value: pins separated by ";", spaces around them allowed
 * @key: the setting's name, for the error message
 * @error: FERRY_ERROR_CONFIG when a pin is not valid
 *
 * Several pins let a server change its key without a day of refused
 * connections.
 *
 * Returns: (transfer full) (nullable): the pins, without the spaces
 */
GStrv
ferry_tls_pin_parse_list (const char *value, const char *key, GError **error)
{
  g_auto (GStrv) pins = NULL;

  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pins = g_strsplit (value, ";", -1);
  if (pins[0] == NULL)
    return set_invalid_pin_error (key, value, error);
  for (guint i = 0; pins[i] != NULL; i++)
    if (!ferry_tls_pin_is_valid (g_strstrip (pins[i])))
      return set_invalid_pin_error (key, pins[i], error);
  return g_steal_pointer (&pins);
}

/**
 * ferry_tls_pin_list_contains:
 * @pins: pins from ferry_tls_pin_parse_list()
 * @pin: (nullable): a pin from ferry_tls_pin_from_certificate_der()
 *
 * Both are in their one canonical form, so equal keys are equal texts.
 *
 * Returns: whether @pin is one of @pins
 */
gboolean
ferry_tls_pin_list_contains (const char *const *pins, const char *pin)
{
  g_return_val_if_fail (pins != NULL, FALSE);

  return pin != NULL && g_strv_contains (pins, pin);
}
