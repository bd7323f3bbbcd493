/* test-imap-utf7.c: tests for src/imap/imap-utf7.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/errors.h"
#include "imap/imap-utf7.h"

typedef struct
{
  const char *utf8;
  const char *mutf7;
} Pair;

static const Pair pairs[] = {
  { "INBOX", "INBOX" },
  { "Entwürfe", "Entw&APw-rfe" }, /* as Dovecot lists it */
  { "日本語", "&ZeVnLIqe-" },     /* as Dovecot lists it */
  { "&", "&-" },
  { "Tom & Jerry", "Tom &- Jerry" },
  { "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" }, /* RFC 3501 5.1.3 */
  { "ü&", "&APw-&-" },
  { "&ü", "&-&APw-" },
  { "😀 party", "&2D3eAA- party" }, /* outside the BMP: a surrogate pair */
  { "a\tb", "a&AAk-b" },           /* a control character is not printable */
  { "", "" },
};

static void
test_pairs (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *decoded = ferry_imap_utf7_decode (pairs[i].mutf7, &error);
      g_autofree char *encoded = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (decoded, ==, pairs[i].utf8);
      encoded = ferry_imap_utf7_encode (pairs[i].utf8, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (encoded, ==, pairs[i].mutf7);
    }
}

static const char *const invalid[] = {
  "&",               /* a run that never ends */
  "&ZeVnLIqe",       /* nor does this one */
  "&AGE-",           /* "a", which must stand for itself */
  "&ACY-",           /* "&", which must be "&-" */
  "&APw-&APw-",      /* two runs in a row: canonically "&APwA,A-" */
  "&2D0-",           /* a high surrogate alone */
  "&2D0AYQ-",        /* a high surrogate followed by "a" */
  "&3gA-",           /* a low surrogate alone */
  "&APx-",           /* padding bits that are not zero */
  "&APwA-",          /* a character's worth of bits left over */
  "&A-",             /* not even one character */
  "&AP!-",           /* not base64 */
  "&AP/-",           /* "/" is standard base64, not modified */
  "&AAA-",           /* NUL */
  "Entw\xc3\xbcrfe", /* raw UTF-8 */
  "a\x01z",          /* a raw control character */
  "a\x7f",           /* DEL */
};

static void
test_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *decoded = ferry_imap_utf7_decode (invalid[i], &error);

      if (decoded != NULL)
        g_error ("“%s” decoded to “%s”", invalid[i], decoded);
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
      g_assert_nonnull (strstr (error->message, "RFC 3501 5.1.3"));
    }
}

static void
test_encode_invalid_utf8 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *encoded = ferry_imap_utf7_encode ("Entw\xfcrfe", &error);

  g_assert_null (encoded);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "not valid UTF-8"));
}

static gunichar
random_character (void)
{
  static const gunichar ranges[][2] = {
    { 0x01, 0x7f }, { 0x80, 0x7ff }, { 0x800, 0xd7ff }, { 0xe000, 0xfffd }, { 0x10000, 0x10ffff },
  };
  guint r = (guint) g_test_rand_int_range (0, G_N_ELEMENTS (ranges) + 2);

  /* Mostly ASCII, with "&" often, as real names are. */
  if (r >= G_N_ELEMENTS (ranges))
    return r == G_N_ELEMENTS (ranges) ? '&' : 'a';
  return (gunichar) g_test_rand_int_range ((gint32) ranges[r][0], (gint32) ranges[r][1] + 1);
}

/* Whatever the name, decoding its encoding gives it back, and the
 * encoding is the one spelling decoding accepts. */
static void
test_round_trip (void)
{
  for (guint n = 0; n < 2000; n++)
    {
      g_autoptr (GString) name = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      g_autofree char *encoded = NULL;
      g_autofree char *decoded = NULL;
      g_autofree char *again = NULL;
      guint length = (guint) g_test_rand_int_range (0, 12);

      for (guint i = 0; i < length; i++)
        g_string_append_unichar (name, random_character ());

      encoded = ferry_imap_utf7_encode (name->str, &error);
      g_assert_no_error (error);
      for (const char *p = encoded; *p != '\0'; p++)
        g_assert_true (*p >= 0x20 && *p <= 0x7e);
      decoded = ferry_imap_utf7_decode (encoded, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (decoded, ==, name->str);
      again = ferry_imap_utf7_encode (decoded, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, encoded);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap-utf7/pairs", test_pairs);
  g_test_add_func ("/imap-utf7/invalid", test_invalid);
  g_test_add_func ("/imap-utf7/encode-invalid-utf8", test_encode_invalid_utf8);
  g_test_add_func ("/imap-utf7/round-trip", test_round_trip);

  return g_test_run ();
}
