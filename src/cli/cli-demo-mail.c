/* cli-demo-mail.c: the mail `ferry demo` puts on its server
 *
 * A plausible mailbox: several folders, names and subjects in several
 * scripts (RFC 2047 encoded words), read, answered and unread mail, and
 * one invitation attached.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "cli/cli-demo-mail.h"

#define RFC2047_LINE_LENGTH 76

static const FerryCliDemoMail demo_mails[] = {
  { "INBOX", "Alice Smith", "alice@example.org", "Lunch on Thursday?",
    "Shall we try the new Lebanese place near the station? I can book for 12:30.\n\nAlice\n", "S",
    2 },
  { "INBOX", "Jürgen Müller", "juergen@example.de", "Grüße aus München",
    "Hallo!\n\nThe conference was great; my slides are on the wiki now.\n\nBis bald,\nJürgen\n", "",
    3 },
  { "INBOX", "GitLab", "gitlab@code.example.org", "[ferry] Pipeline #4711 passed on main",
    "Pipeline #4711 for main passed in 6 minutes 12 seconds.\n", "S", 5 },
  { "INBOX", "Bob Jones", "bob@example.net", "Re: Flat viewing on Saturday",
    "The landlord confirmed 10:00. I will bring the checklist.\n\n> Can we make it at ten?\n", "RS",
    8 },
  { "INBOX", "Zoë Ångström", "zoe@example.se", "Café à la crème: the recipe",
    "Two shots of espresso, hot milk, a spoon of cream on top. Skål!\n", "", 20 },
  { "INBOX", "Carol Taylor", "carol@example.com", "Team offsite: agenda and invitation",
    "Hi all,\n\nThe invitation is attached; agenda: planning in the morning, the harbour walk\n"
    "after lunch. Bring a coat.\n\nCarol\n",
    "S", 26 },
  { "INBOX", "Dave Brown", "dave@example.co.uk", "Train tickets for the 14th",
    "Booked: 08:04 from Leeds, coach C, seats 41 and 42.\n", "FS", 30 },
  { "INBOX", "Łukasz Żółć", "lukasz@example.pl", "Zażółć gęślą jaźń: the new keyboard works",
    "Every Polish letter in one sentence, typed on the new keyboard.\n", "", 40 },
  { "INBOX", "Erin Wilson", "erin@example.org", "Quarterly report draft",
    "Numbers for Q3 are in; could you check the travel budget table before Friday?\n", "S", 50 },
  { "INBOX", "Example Bank", "noreply@bank.example", "Your statement is ready",
    "Your November statement is ready in online banking.\n", "S", 60 },
  { "INBOX", "Frank Evans", "frank@example.org", "Battery died in the tunnel",
    "Sorry I missed your call, my phone died in the tunnel. Tomorrow morning?\n", "", 70 },
  { "INBOX", "Grace Thomas", "grace@example.org", "Garden club: seed swap on Sunday",
    "Bring your spare seeds; I have too many tomatoes again.\n", "S", 90 },
  { "INBOX", "山田 太郎", "taro@example.jp", "会議の議事録",
    "Minutes of Tuesday's meeting: the release moves to March.\n", "S", 100 },
  { "INBOX", "Heidi Walker", "heidi@example.ch", "Weekend hike?",
    "Forecast is sunny. The lake trail, leaving at nine?\n", "", 110 },
  { "Archive", "Alice Smith", "alice@example.org", "Holiday photos",
    "The best ones are in the shared album.\n", "S", 300 },
  { "Archive", "Bob Jones", "bob@example.net", "Tenancy agreement, signed",
    "Signed and scanned; the original is in the post.\n", "RS", 340 },
  { "Archive", "Carol Taylor", "carol@example.com", "Budget 2026, final",
    "Approved by the board this morning.\n", "S", 400 },
  { "Archive", "Γιώργος Παπαδόπουλος", "giorgos@example.gr", "Ελληνικά νέα",
    "News from Thessaloniki: the new metro line opened.\n", "S", 450 },
  { "Archive", "Dave Brown", "dave@example.co.uk", "Receipt for the tickets",
    "Paid, thanks. Receipt number 88-2211.\n", "S", 500 },
  { "Archive", "Erin Wilson", "erin@example.org", "Review notes",
    "My notes on chapter 3 are in the margins of the shared document.\n", "RS", 560 },
  { "Archive", "François Lefèvre", "francois@example.fr", "Réunion de lundi",
    "Compte rendu de la réunion : tout est validé.\n", "S", 620 },
  { "Archive", "Frank Evans", "frank@example.org", "Moving boxes",
    "I have twenty boxes left over if you need them.\n", "S", 700 },
  { "Archive", "Grace Thomas", "grace@example.org", "Kitchen plans",
    "The new layout puts the sink under the window.\n", "FS", 780 },
  { "Archive", "Heidi Walker", "heidi@example.ch", "Ski week booked",
    "The chalet is booked from the 3rd to the 10th.\n", "S", 860 },
  { "Lists/ferry-devel", "Alice Smith", "alice@example.org", "[ferry-devel] Offline queue design",
    "Proposal: fsync the message before ferry-sendmail exits 0.\n", "S", 48 },
  { "Lists/ferry-devel", "Bob Jones", "bob@example.net", "Re: [ferry-devel] Offline queue design",
    "Agreed, and rename into the queue only after the fsync.\n", "S", 46 },
  { "Lists/ferry-devel", "Carol Taylor", "carol@example.com",
    "Re: [ferry-devel] Offline queue design", "What happens to a message a server refuses?\n", "S",
    44 },
  { "Lists/ferry-devel", "Zoë Ångström", "zoe@example.se",
    "[ferry-devel] CONDSTORE and QRESYNC on Dovecot",
    "Dovecot 2.3 advertises both; a flags-only sync takes one round trip.\n", "", 30 },
  { "Lists/ferry-devel", "Dave Brown", "dave@example.co.uk",
    "[ferry-devel] Maildir++ or verbatim subfolders?",
    "mutt users with folder hooks want Maildir++; everyone else wants verbatim.\n", "", 20 },
  { "Lists/ferry-devel", "Jürgen Müller", "juergen@example.de",
    "Re: [ferry-devel] Maildir++ or verbatim subfolders?", "Why not both, as a setting?\n", "",
    18 },
  { "Lists/ferry-devel", "Erin Wilson", "erin@example.org", "[ferry-devel] Release 0.2 checklist",
    "Man pages, the demo, and the sync tests against Dovecot.\n", "", 10 },
  { "Lists/ferry-devel", "Frank Evans", "frank@example.org",
    "Re: [ferry-devel] Release 0.2 checklist", "And a tarball signed by two of us.\n", "", 6 },
  { "Sent", "Alice Smith", "alice@example.org", "Re: Lunch on Thursday?",
    "12:30 is perfect, see you there.\n", "S", 1 },
  { "Sent", "Bob Jones", "bob@example.net", "Flat viewing on Saturday", "Can we make it at ten?\n",
    "S", 9 },
  { "Sent", "Carol Taylor", "carol@example.com", "Re: Budget 2026, final",
    "Great news, thanks for pushing it through.\n", "S", 398 },
  { "Sent", "Heidi Walker", "heidi@example.ch", "Re: Ski week booked",
    "Wonderful! I will bring the fondue set.\n", "S", 858 },
};

/* The one message that carries an attachment. */
#define DEMO_MAIL_WITH_ATTACHMENT 5

static const char demo_invitation[] = "BEGIN:VCALENDAR\r\n"
                                      "VERSION:2.0\r\n"
                                      "PRODID:-//Ferry demo//EN\r\n"
                                      "BEGIN:VEVENT\r\n"
                                      "UID:offsite@ferry.test\r\n"
                                      "DTSTART:20270115T090000Z\r\n"
                                      "DTEND:20270115T170000Z\r\n"
                                      "SUMMARY:Team offsite\r\n"
                                      "LOCATION:Harbour House\\, room 2\r\n"
                                      "END:VEVENT\r\n"
                                      "END:VCALENDAR\r\n";

/* How many bytes of UTF-8 fit in one encoded word on a line that already
 * holds @used characters: RFC 2047 section 2 allows 76 on a line with
 * encoded words; "=?UTF-8?B?" and "?=" take 12, base64 4 for every 3. */
static gsize
encoded_word_capacity (gsize used)
{
  return (RFC2047_LINE_LENGTH - MIN (used, RFC2047_LINE_LENGTH - 16) - 12) / 4 * 3;
}

static gsize
current_line_length (const GString *out)
{
  const char *newline = g_strrstr_len (out->str, (gssize) out->len, "\n");

  return newline != NULL ? out->len - (gsize) (newline + 1 - out->str) : out->len;
}

/* UTF-8 header text as RFC 2047 encoded words, each line within the 76
 * characters of section 2 and each word holding whole characters
 * (section 5). */
static void
append_header_text (GString *out, const char *text)
{
  const char *start = text;

  if (g_str_is_ascii (text))
    {
      g_string_append (out, text);
      return;
    }
  while (*start != '\0')
    {
      const char *end = start;
      g_autofree char *encoded = NULL;
      gsize capacity;

      if (start != text)
        g_string_append (out, "\n ");
      capacity = encoded_word_capacity (current_line_length (out));
      while (*end != '\0' && (gsize) (g_utf8_next_char (end) - start) <= capacity)
        end = g_utf8_next_char (end);
      encoded = g_base64_encode ((const guchar *) start, end - start);
      g_string_append_printf (out, "=?UTF-8?B?%s?=", encoded);
      start = end;
    }
}

/* The address goes on a line of its own where it would not fit (RFC 5322
 * 2.2.3: folding white space). */
static void
append_mailbox (GString *out, const char *name, const char *address)
{
  append_header_text (out, name);
  if (current_line_length (out) + strlen (address) + 3 > RFC2047_LINE_LENGTH)
    g_string_append (out, "\n");
  g_string_append_printf (out, " <%s>", address);
}

/* RFC 5322 section 3.3, in English whatever the locale. */
static char *
rfc5322_date (GDateTime *time)
{
  static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char *const months[]
      = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autofree char *zone = g_date_time_format (time, "%z");

  return g_strdup_printf (
      "%s, %d %s %d %02d:%02d:%02d %s", days[g_date_time_get_day_of_week (time) - 1],
      g_date_time_get_day_of_month (time), months[g_date_time_get_month (time) - 1],
      g_date_time_get_year (time), g_date_time_get_hour (time), g_date_time_get_minute (time),
      g_date_time_get_second (time), zone);
}

/**
 * ferry_cli_demo_mail_message_id:
 * @index: below ferry_cli_demo_mail_count()
 *
 * Returns: (transfer full): the Message-ID of message @index, brackets
 *   included
 */
char *
ferry_cli_demo_mail_message_id (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (demo_mails), NULL);

  return g_strdup_printf ("<demo-%02u@ferry.test>", index);
}

static void
append_attachment (GString *text, const char *body, guint index)
{
  g_autofree char *encoded
      = g_base64_encode ((const guchar *) demo_invitation, sizeof demo_invitation - 1);

  g_string_append_printf (text,
                          "Content-Type: multipart/mixed; boundary=\"=-demo-%u\"\n"
                          "\n"
                          "This is a multi-part message in MIME format.\n"
                          "\n"
                          "--=-demo-%u\n"
                          "Content-Type: text/plain; charset=UTF-8\n"
                          "Content-Transfer-Encoding: 8bit\n"
                          "\n"
                          "%s"
                          "--=-demo-%u\n"
                          "Content-Type: text/calendar; charset=UTF-8; method=REQUEST\n"
                          "Content-Disposition: attachment; filename=\"offsite.ics\"\n"
                          "Content-Transfer-Encoding: base64\n"
                          "\n",
                          index, index, body, index);
  for (gsize at = 0, length = strlen (encoded); at < length; at += 76)
    g_string_append_printf (text, "%.76s\n", encoded + at);
  g_string_append_printf (text, "--=-demo-%u--\n", index);
}

/**
 * ferry_cli_demo_mail_text:
 * @index: below ferry_cli_demo_mail_count()
 * @date: its Date
 *
 * Returns: (transfer full): message @index, with LF line ends
 */
char *
ferry_cli_demo_mail_text (guint index, GDateTime *date)
{
  const FerryCliDemoMail *mail;
  GString *text;
  g_autofree char *when = NULL;
  g_autofree char *message_id = NULL;
  gboolean sent, list;

  g_return_val_if_fail (index < G_N_ELEMENTS (demo_mails), NULL);
  g_return_val_if_fail (date != NULL, NULL);

  mail = &demo_mails[index];
  text = g_string_new ("From: ");
  when = rfc5322_date (date);
  message_id = ferry_cli_demo_mail_message_id (index);
  sent = g_str_equal (mail->folder, "Sent");
  list = g_str_has_prefix (mail->folder, "Lists/");

  if (sent)
    g_string_append (text, "You <" FERRY_CLI_DEMO_YOUR_ADDRESS ">\nTo: ");
  append_mailbox (text, mail->name, mail->address);
  if (list)
    g_string_append (text, "\nTo: ferry-devel@lists.ferry.test");
  else if (!sent)
    g_string_append (text, "\nTo: You <" FERRY_CLI_DEMO_YOUR_ADDRESS ">");
  g_string_append (text, "\nSubject: ");
  append_header_text (text, mail->subject);
  g_string_append_printf (text, "\nDate: %s\nMessage-ID: %s\n", when, message_id);
  if (list)
    g_string_append (text, "List-Id: Ferry development <ferry-devel.lists.ferry.test>\n");
  g_string_append (text, "MIME-Version: 1.0\n");
  if (index == DEMO_MAIL_WITH_ATTACHMENT)
    append_attachment (text, mail->body, index);
  else
    g_string_append_printf (text,
                            "Content-Type: text/plain; charset=UTF-8\n"
                            "Content-Transfer-Encoding: 8bit\n"
                            "\n%s",
                            mail->body);
  return g_string_free (text, FALSE);
}

/**
 * ferry_cli_demo_mail_count:
 *
 * Returns: how many messages the demo has
 */
guint
ferry_cli_demo_mail_count (void)
{
  return G_N_ELEMENTS (demo_mails);
}

/**
 * ferry_cli_demo_mail_get:
 * @index: below ferry_cli_demo_mail_count()
 *
 * Returns: (transfer none): message @index's folder, people and flags
 */
const FerryCliDemoMail *
ferry_cli_demo_mail_get (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (demo_mails), NULL);

  return &demo_mails[index];
}

/**
 * ferry_cli_demo_mail_find_in_inbox:
 * @flags: Maildir letters, in ASCII order
 *
 * Returns: the first INBOX message with exactly @flags
 */
guint
ferry_cli_demo_mail_find_in_inbox (const char *flags)
{
  g_return_val_if_fail (flags != NULL, 0);

  for (guint i = 0; i < G_N_ELEMENTS (demo_mails); i++)
    if (g_str_equal (demo_mails[i].folder, "INBOX") && g_str_equal (demo_mails[i].flags, flags))
      return i;
  g_return_val_if_reached (0);
}
