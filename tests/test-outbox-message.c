/* test-outbox-message.c: tests for src/outbox/outbox-message.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/errors.h"
#include "outbox/outbox-message.h"

static FerryOutboxHeaders *
parse (const char *text, GError **error)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  return ferry_outbox_message_parse (bytes, error);
}

static void
test_parse_addresses (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryOutboxHeaders) h
      = parse ("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\n"
               "To: Bob <bob@example.org>, undisclosed: carol@example.org, dan@example.org;\n"
               "Cc: bob@example.org,\n"
               " Eve <eve@example.org>\n"
               "Bcc: secret@example.org\n"
               "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
               "\n"
               "Hello\n",
               &error);

  g_assert_no_error (error);
  g_assert_cmpstr (h->from_address, ==, "juergen@example.org");
  g_assert_cmpstr (h->subject, ==, "Grüße aus Köln");
  g_assert_nonnull (strstr (h->from, "Jürgen Müller"));
  g_assert_cmpuint (h->recipients->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (h->recipients, 0), ==, "bob@example.org");
  g_assert_cmpstr (g_ptr_array_index (h->recipients, 1), ==, "carol@example.org");
  g_assert_cmpstr (g_ptr_array_index (h->recipients, 2), ==, "dan@example.org");
  g_assert_cmpstr (g_ptr_array_index (h->recipients, 3), ==, "eve@example.org");
  g_assert_cmpstr (g_ptr_array_index (h->recipients, 4), ==, "secret@example.org");
}

/* A From address that cannot be an envelope sender is passed over: the
 * next one serves, or none and the account's address stands in. */
static void
test_from_fit_for_smtp (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryOutboxHeaders) first = parse (
      "From: nobody, \"x y\"@example.org, me@example.org\nTo: a@example.org\n\nx\n", &error);
  g_autoptr (FerryOutboxHeaders) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (first->from_address, ==, "me@example.org");
  none = parse ("From: Me <nobody>\nTo: a@example.org\n\nx\n", &error);
  g_assert_no_error (error);
  g_assert_null (none->from_address);
}

static void
test_parse_rejects (void)
{
  static const char *const bad[] = {
    "",
    ("\x7f"
     "ELF\x02\x01\x01binary"),
    "This is not a header\n\nbody\n",
    " starts with a continuation\nTo: a@example.org\n\n",
    "To: a@example.org\nSubject: ok\nGarbage line\n\nbody\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (FerryOutboxHeaders) h = parse (bad[i], &error);

      g_assert_null (h);
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
    }
}

static void
test_parse_nul (void)
{
  static const char text[] = "To: a@example.org\n\nbody\0more\n";
  g_autoptr (GBytes) bytes = g_bytes_new (text, sizeof text - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryOutboxHeaders) h = ferry_outbox_message_parse (bytes, &error);

  g_assert_null (h);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "NUL"));
}

static void
test_parse_address (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "me@example.org", "me@example.org" },
    { "  Me Myself <me@example.org> ", "me@example.org" },
    { "<>", "" },
    { "", "" },
    { "not an address", NULL },
    { "root", NULL },
    { "a@example.org, b@example.org", NULL },
    { "a@example.org\r\nRCPT TO:<evil@example.org>", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *out = ferry_outbox_message_parse_address (cases[i].in, &error);

      g_assert_cmpstr (out, ==, cases[i].out);
      if (cases[i].out == NULL)
        g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
    }
}

static void
test_add_recipients (void)
{
  g_autoptr (GPtrArray) rcpts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  g_assert_true (
      ferry_outbox_message_add_recipients ("a@example.org,B <b@example.org>", rcpts, &error));
  g_assert_true (ferry_outbox_message_add_recipients ("A@EXAMPLE.ORG", rcpts, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rcpts->len, ==, 2);

  /* The address is echoed on one line: what mutt shows is one line. */
  g_assert_false (ferry_outbox_message_add_recipients ("x@y\nz", rcpts, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_cmpstr (error->message, ==, "“x@y z” is not a mail address");
  g_clear_error (&error);
  g_assert_false (ferry_outbox_message_add_recipients ("localuser", rcpts, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
}

static void
assert_wire (const char *in, const char *expected)
{
  g_autoptr (GBytes) bytes = g_bytes_new (in, strlen (in));
  g_autoptr (GBytes) wire = ferry_outbox_message_for_wire (bytes);
  g_autofree char *text = g_strndup (g_bytes_get_data (wire, NULL), g_bytes_get_size (wire));

  g_assert_cmpstr (text, ==, expected);
}

static void
test_for_wire (void)
{
  assert_wire ("From: a@example.org\n"
               "Bcc: hidden@example.org,\n"
               "  other@example.org\n"
               "To: b@example.org\n"
               "BCC: again@example.org\n"
               "Resent-Bcc: r@example.org\n"
               "Subject: s\n"
               "\n"
               "Bcc: this line is body text\n"
               ".dot\n"
               "last",
               "From: a@example.org\r\n"
               "To: b@example.org\r\n"
               "Subject: s\r\n"
               "\r\n"
               "Bcc: this line is body text\r\n"
               ".dot\r\n"
               "last");
  assert_wire ("To: b@example.org\r\n\r\nalready crlf\r\n",
               "To: b@example.org\r\n\r\nalready crlf\r\n");
  assert_wire ("Bcc: x@example.org\n", "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/outbox-message/parse-addresses", test_parse_addresses);
  g_test_add_func ("/outbox-message/from-fit-for-smtp", test_from_fit_for_smtp);
  g_test_add_func ("/outbox-message/parse-rejects", test_parse_rejects);
  g_test_add_func ("/outbox-message/parse-nul", test_parse_nul);
  g_test_add_func ("/outbox-message/parse-address", test_parse_address);
  g_test_add_func ("/outbox-message/add-recipients", test_add_recipients);
  g_test_add_func ("/outbox-message/for-wire", test_for_wire);
  return g_test_run ();
}
