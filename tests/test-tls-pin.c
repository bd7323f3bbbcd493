/* test-tls-pin.c: public-key pins from certificates, and pins in settings
 *
 * Certificates are made by openssl at test time, and their expected pin
 * comes from the openssl pipeline that ferry.conf(5) documents. Broken
 * encodings are built by hand around a small synthetic certificate.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/tls-pin.h"

/* Pins of two different 32-byte digests. */
#define PIN_A "sha256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGU="
#define PIN_B "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* openssl ------------------------------------------------------------------ */

static char *
run_shell (const char *script, const char *dir)
{
  const char *argv[] = { "/bin/sh", "-e", "-c", script, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *errors = NULL;
  int status;

  g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &output, &errors, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("“%s” failed: %s\n%s", script, error->message, errors);
  return g_steal_pointer (&output);
}

typedef struct
{
  char *dir;
  GBytes *der;        /* the certificate */
  char *openssl_pin;  /* what the documented pipeline prints, with sha256// */
  char *openssl_text; /* openssl x509 -text */
} Certificate;

/* @make writes cert.pem in the directory it runs in. */
static void
certificate_make (Certificate *c, const char *make)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *der_path = NULL;
  g_autofree char *base64 = NULL;
  g_autofree char *data = NULL;
  gsize length;

  c->dir = g_dir_make_tmp ("ferry-test-pin-XXXXXX", &error);
  g_assert_no_error (error);
  g_free (run_shell (make, c->dir));
  g_free (run_shell ("openssl x509 -in cert.pem -outform DER -out cert.der", c->dir));
  der_path = g_build_filename (c->dir, "cert.der", NULL);
  g_file_get_contents (der_path, &data, &length, &error);
  g_assert_no_error (error);
  c->der = g_bytes_new_take (g_steal_pointer (&data), length);

  base64 = run_shell ("openssl x509 -in cert.pem -pubkey -noout"
                      " | openssl pkey -pubin -outform DER"
                      " | openssl dgst -sha256 -binary | openssl enc -base64",
                      c->dir);
  g_strstrip (base64);
  c->openssl_pin = g_strconcat ("sha256//", base64, NULL);
  c->openssl_text = run_shell ("openssl x509 -in cert.pem -noout -text", c->dir);
}

static void
certificate_clear (Certificate *c)
{
  g_autoptr (GDir) dir = g_dir_open (c->dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (c->dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (c->dir), ==, 0);
  g_free (c->dir);
  g_bytes_unref (c->der);
  g_free (c->openssl_pin);
  g_free (c->openssl_text);
}

/* A copy of exactly @length bytes, so that a read past it is a read past
 * an allocation, which AddressSanitizer reports. */
static char *
pin_of_exact_copy (const guint8 *data, gsize length)
{
  g_autofree guint8 *copy = g_memdup2 (data, length);

  return ferry_tls_pin_from_certificate_der (copy, length);
}

/* Every cut short, and one byte too many, is refused. */
static void
assert_only_whole_parses (GBytes *der)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (der, &length);
  g_autofree guint8 *longer = g_malloc (length + 1);

  for (gsize cut = 0; cut < length; cut++)
    {
      g_autofree char *pin = pin_of_exact_copy (data, cut);

      if (pin != NULL)
        g_error ("a certificate cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                 " bytes gave pin %s",
                 cut, length, pin);
    }
  memcpy (longer, data, length);
  longer[length] = 0;
  g_assert_null (ferry_tls_pin_from_certificate_der (longer, length + 1));
}

static void
assert_pin_as_openssl (const char *make, const char *version)
{
  Certificate c = { NULL };
  g_autofree char *pin = NULL;
  gsize length;
  const guint8 *data;

  certificate_make (&c, make);
  if (strstr (c.openssl_text, version) == NULL)
    g_error ("expected “%s” in:\n%s", version, c.openssl_text);
  data = g_bytes_get_data (c.der, &length);
  pin = pin_of_exact_copy (data, length);
  g_assert_cmpstr (pin, ==, c.openssl_pin);
  g_assert_true (ferry_tls_pin_is_valid (pin));
  assert_only_whole_parses (c.der);
  certificate_clear (&c);
}

#define SELF_SIGNED(key)                                                                           \
  "openssl req -x509 -newkey " key " -nodes -keyout key.pem -subj /CN=ferry.test"                  \
  " -days 2 -out cert.pem 2>/dev/null"
/* openssl x509 -req without extensions makes a version 1 certificate,
 * whose tbsCertificate has no version field. */
#define VERSION_1(key)                                                                             \
  "openssl req -new -newkey " key " -nodes -keyout key.pem -subj /CN=ferry.test"                   \
  " -out request.csr 2>/dev/null && openssl x509 -req -in request.csr -key key.pem -days 2"        \
  " -out cert.pem 2>/dev/null"
#define EC_P256 "ec -pkeyopt ec_paramgen_curve:prime256v1"

static void
test_rsa (void)
{
  assert_pin_as_openssl (SELF_SIGNED ("rsa:2048"), "Version: 3 (0x2)");
}

static void
test_rsa_version_1 (void)
{
  assert_pin_as_openssl (VERSION_1 ("rsa:2048"), "Version: 1 (0x0)");
}

static void
test_ec (void)
{
  assert_pin_as_openssl (SELF_SIGNED (EC_P256), "Version: 3 (0x2)");
}

static void
test_ec_version_1 (void)
{
  assert_pin_as_openssl (VERSION_1 (EC_P256), "Version: 1 (0x0)");
}

static void
test_ed25519 (void)
{
  assert_pin_as_openssl (SELF_SIGNED ("ed25519"), "Version: 3 (0x2)");
}

/* Hand-made DER --------------------------------------------------------------- */

static void
append (GByteArray *out, const guint8 *data, gsize length)
{
  g_byte_array_append (out, data, (guint) length);
}

static void
append_byte (GByteArray *out, guint8 byte)
{
  append (out, &byte, 1);
}

/* Tag, minimal definite length, contents. */
static void
append_element (GByteArray *out, guint8 tag, const guint8 *contents, gsize length)
{
  append_byte (out, tag);
  if (length < 0x80)
    append_byte (out, (guint8) length);
  else if (length < 0x100)
    {
      append_byte (out, 0x81);
      append_byte (out, (guint8) length);
    }
  else
    {
      g_assert_cmpuint (length, <, 0x10000);
      append_byte (out, 0x82);
      append_byte (out, (guint8) (length >> 8));
      append_byte (out, (guint8) length);
    }
  append (out, contents, length);
}

static void
append_wrapped (GByteArray *out, guint8 tag, GByteArray *contents)
{
  append_element (out, tag, contents->data, contents->len);
}

typedef struct
{
  gboolean version;
  guint8 serial_tag;
  guint sequences_before_key; /* signature, issuer, validity, subject: 4 */
  const guint8 *key_header;   /* the SubjectPublicKeyInfo's tag and length */
  gsize key_header_length;
  gsize key_length; /* bytes of contents after key_header */
} Shape;

/* A certificate with empty fields, the given key field, and an extension
 * after it; nothing in it is checked but its structure. */
static GByteArray *
synthetic_certificate (const Shape *shape, GBytes **spki)
{
  static const guint8 version_2[] = { 0x02, 0x01, 0x02 };
  static const guint8 serial[] = { 0x01 };
  static const guint8 signature_value[] = { 0x00 };
  g_autoptr (GByteArray) tbs = g_byte_array_new ();
  g_autoptr (GByteArray) fields = g_byte_array_new ();
  g_autoptr (GByteArray) key = g_byte_array_new ();
  GByteArray *certificate = g_byte_array_new ();

  if (shape->version)
    append_element (fields, 0xa0, version_2, sizeof version_2);
  append_element (fields, shape->serial_tag, serial, sizeof serial);
  for (guint i = 0; i < shape->sequences_before_key; i++)
    append_element (fields, 0x30, NULL, 0);
  append (key, shape->key_header, shape->key_header_length);
  for (gsize i = 0; i < shape->key_length; i++)
    append_byte (key, (guint8) i);
  append (fields, key->data, key->len);
  append_element (fields, 0xa3, NULL, 0);

  append_wrapped (tbs, 0x30, fields);
  g_byte_array_set_size (fields, 0);
  append (fields, tbs->data, tbs->len);
  append_element (fields, 0x30, NULL, 0);
  append_element (fields, 0x03, signature_value, sizeof signature_value);
  append_wrapped (certificate, 0x30, fields);
  if (spki != NULL)
    *spki = g_bytes_new (key->data, key->len);
  return certificate;
}

static char *
pin_of_bytes (GBytes *bytes)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 sum[32];
  gsize sum_length = sizeof sum;
  g_autofree char *encoded = NULL;

  g_checksum_update (checksum, data, (gssize) length);
  g_checksum_get_digest (checksum, sum, &sum_length);
  encoded = g_base64_encode (sum, sum_length);
  return g_strconcat ("sha256//", encoded, NULL);
}

static void
assert_synthetic_parses (const Shape *shape)
{
  g_autoptr (GBytes) spki = NULL;
  g_autoptr (GByteArray) der = synthetic_certificate (shape, &spki);
  g_autofree char *pin = pin_of_exact_copy (der->data, der->len);
  g_autofree char *expected = pin_of_bytes (spki);

  g_assert_cmpstr (pin, ==, expected);
}

static void
assert_synthetic_refused (const Shape *shape)
{
  g_autoptr (GByteArray) der = synthetic_certificate (shape, NULL);
  g_autofree char *pin = pin_of_exact_copy (der->data, der->len);

  g_assert_null (pin);
}

#define HEADER(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

static void
test_synthetic (void)
{
  /* Short form, shortest long forms of one and two bytes; with and
   * without the version. */
  assert_synthetic_parses (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x03), 3 });
  assert_synthetic_parses (&(Shape){ FALSE, 0x02, 4, HEADER (0x30, 0x03), 3 });
  assert_synthetic_parses (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x81, 0x80), 0x80 });
  assert_synthetic_parses (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x82, 0x01, 0x00), 0x100 });
  assert_synthetic_parses (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x00), 0 });
}

static void
test_bad_lengths (void)
{
  /* Long forms that are not the shortest. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x81, 0x03), 3 });
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x82, 0x00, 0x80), 0x80 });
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x84, 0, 0, 0, 0x03), 3 });
  /* BER's indefinite length. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x80), 2 });
  /* More length bytes than DER lengths here ever need. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x85, 1, 0, 0, 0, 0), 0 });
  /* Longer than what holds it (3 bytes and the empty extension), though the
   * buffer goes on. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x06), 3 });
  assert_synthetic_refused (
      &(Shape){ TRUE, 0x02, 4, HEADER (0x30, 0x84, 0x7f, 0xff, 0xff, 0xff), 3 });
}

static void
test_bad_structure (void)
{
  /* A tag number in more bytes. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x3f, 0x10, 0x03), 3 });
  /* Not a SEQUENCE where the key is. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 4, HEADER (0x31, 0x03), 3 });
  /* A field missing before the key. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x02, 3, HEADER (0x30, 0x03), 3 });
  /* The serial number is not an INTEGER. */
  assert_synthetic_refused (&(Shape){ TRUE, 0x04, 4, HEADER (0x30, 0x03), 3 });
}

static void
test_garbage (void)
{
  static const guint8 sequence_of_nothing[] = { 0x30, 0x00 };
  static const guint8 lone_tag[] = { 0x30 };
  static const guint8 pem_start[] = "-----BEGIN CERTIFICATE-----";
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260101);
  guint8 noise[512];

  g_assert_null (ferry_tls_pin_from_certificate_der (NULL, 0));
  g_assert_null (pin_of_exact_copy (sequence_of_nothing, sizeof sequence_of_nothing));
  g_assert_null (pin_of_exact_copy (lone_tag, sizeof lone_tag));
  g_assert_null (pin_of_exact_copy (pem_start, sizeof pem_start - 1));
  for (guint round = 0; round < 2000; round++)
    {
      gsize length = g_rand_int_range (rand, 0, sizeof noise);

      for (gsize i = 0; i < length; i++)
        noise[i] = (guint8) g_rand_int (rand);
      /* Mostly a SEQUENCE, to get past the first byte. */
      if (length > 0 && round % 4 != 0)
        noise[0] = 0x30;
      g_assert_null (pin_of_exact_copy (noise, length));
    }
}

/* Pins in settings -------------------------------------------------------------- */

static void
test_is_valid (void)
{
  g_assert_true (ferry_tls_pin_is_valid (PIN_A));
  g_assert_true (ferry_tls_pin_is_valid (PIN_B));
  g_assert_false (ferry_tls_pin_is_valid (""));
  g_assert_false (ferry_tls_pin_is_valid ("sha256//"));
  g_assert_false (ferry_tls_pin_is_valid (" " PIN_A));
  g_assert_false (ferry_tls_pin_is_valid (PIN_A " "));
  g_assert_false (ferry_tls_pin_is_valid ("SHA256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGU="));
  g_assert_false (ferry_tls_pin_is_valid ("sha1//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGU="));
  /* Unpadded, 31 and 33 bytes, a character that is not base64, bits
   * left over in the last character. */
  g_assert_false (ferry_tls_pin_is_valid ("sha256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGU"));
  g_assert_false (ferry_tls_pin_is_valid ("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="));
  g_assert_false (ferry_tls_pin_is_valid ("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  g_assert_false (ferry_tls_pin_is_valid ("sha256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9Fd!nSQiGU="));
  g_assert_false (ferry_tls_pin_is_valid ("sha256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGV="));
  /* The hex SHA-256 of a whole certificate. */
  g_assert_false (ferry_tls_pin_is_valid (
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
      "67:89"));
}

static void
assert_list (const char *value, const char *const *expected)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) pins = ferry_tls_pin_parse_list (value, "imap-tls-fingerprint", &error);

  g_assert_no_error (error);
  g_assert_nonnull (pins);
  g_assert_true (g_strv_equal ((const char *const *) pins, expected));
}

static void
assert_list_refused (const char *value, const char *named)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) pins = ferry_tls_pin_parse_list (value, "smtp-tls-fingerprint", &error);
  g_autofree char *quoted = g_strdup_printf ("smtp-tls-fingerprint “%s” is not", named);

  g_assert_null (pins);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  if (strstr (error->message, quoted) == NULL || strstr (error->message, "sha256//") == NULL
      || strstr (error->message, "32-byte SHA-256") == NULL)
    g_error ("expected “%s” and what a pin is in “%s”", quoted, error->message);
}

static void
test_parse_list (void)
{
  assert_list (PIN_A, (const char *const[]){ PIN_A, NULL });
  assert_list (PIN_A ";" PIN_B, (const char *const[]){ PIN_A, PIN_B, NULL });
  assert_list ("  " PIN_B " ;\t" PIN_A " ", (const char *const[]){ PIN_B, PIN_A, NULL });

  assert_list_refused ("", "");
  assert_list_refused (" ", "");
  assert_list_refused (PIN_A ";", "");
  assert_list_refused (PIN_A ";;" PIN_B, "");
  assert_list_refused (PIN_A "; sha256//AAAA", "sha256//AAAA");
  assert_list_refused (PIN_A "," PIN_B, PIN_A "," PIN_B);
  assert_list_refused ("AB:CD", "AB:CD");
}

static void
test_list_contains (void)
{
  const char *const pins[] = { PIN_A, PIN_B, NULL };
  const char *const none[] = { NULL };

  g_assert_true (ferry_tls_pin_list_contains (pins, PIN_A));
  g_assert_true (ferry_tls_pin_list_contains (pins, PIN_B));
  g_assert_false (
      ferry_tls_pin_list_contains (pins, "sha256//lTXtqMeWluqRnUj0JgC4f17Drk5bW3DEHv9FdnSQiGQ="));
  g_assert_false (ferry_tls_pin_list_contains (pins, NULL));
  g_assert_false (ferry_tls_pin_list_contains (none, PIN_A));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tls-pin/certificate/rsa", test_rsa);
  g_test_add_func ("/tls-pin/certificate/rsa-version-1", test_rsa_version_1);
  g_test_add_func ("/tls-pin/certificate/ec", test_ec);
  g_test_add_func ("/tls-pin/certificate/ec-version-1", test_ec_version_1);
  g_test_add_func ("/tls-pin/certificate/ed25519", test_ed25519);
  g_test_add_func ("/tls-pin/der/synthetic", test_synthetic);
  g_test_add_func ("/tls-pin/der/bad-lengths", test_bad_lengths);
  g_test_add_func ("/tls-pin/der/bad-structure", test_bad_structure);
  g_test_add_func ("/tls-pin/der/garbage", test_garbage);
  g_test_add_func ("/tls-pin/setting/is-valid", test_is_valid);
  g_test_add_func ("/tls-pin/setting/parse-list", test_parse_list);
  g_test_add_func ("/tls-pin/setting/list-contains", test_list_contains);

  return g_test_run ();
}
