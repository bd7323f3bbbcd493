/* cli-queue.c: `ferry queue`, the outbox from the command line
 *
 *   ferry queue list [--json]
 *   ferry queue show ID
 *   ferry queue flush [--background] [ID...]
 *   ferry queue retry ID...|--all
 *   ferry queue remove [--yes] ID...
 *
 * Exit codes a script can use: 0 done; 75 (EX_TEMPFAIL) a message was
 * deferred or is busy; 69 (EX_UNAVAILABLE) a message was refused for good;
 * 65 (EX_DATAERR) no such id; 64 (EX_USAGE) bad arguments.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "cli/cli-queue.h"
#include "core/errors.h"
#include "core/paths.h"
#include "outbox/outbox-queue.h"

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static const char *
or_dash (const char *s)
{
  return s != NULL && *s != '\0' ? s : "-";
}

/* "sending" is what the lock says, not only what the envelope says: an
 * envelope left "sending" by a process that died is waiting again. */
static const char *
shown_state (FerryOutboxEntry *entry)
{
  if (ferry_outbox_entry_is_locked (entry))
    return "sending";
  if (entry->state == FERRY_OUTBOX_STATE_SENDING)
    return "queued";
  return ferry_outbox_state_to_string (entry->state);
}

static char *
recipients_text (FerryOutboxEntry *entry)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", r->address);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
format_time (gint64 seconds)
{
  g_autoptr (GDateTime) time = NULL;

  if (seconds == 0)
    return g_strdup ("-");
  time = g_date_time_new_from_unix_local (seconds);
  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S");
}

static void
print_entry_line (FerryOutboxEntry *entry, gint64 now)
{
  g_autofree char *age = ferry_cli_format_age (now - entry->queued_at);
  g_autofree char *size = ferry_cli_format_size (entry->size);
  g_autofree char *to = recipients_text (entry);

  printf ("%-12s %5s %-12s %-7s %5u %6s  %s -> %s\n", entry->id, age, or_dash (entry->account),
          shown_state (entry), entry->attempts, size, or_dash (entry->sender), to);
  printf ("%12s Subject: %s\n", "", or_dash (entry->subject));
  if (entry->last_reply != NULL)
    printf ("%12s Last reply: %s\n", "", entry->last_reply);
  if (entry->state == FERRY_OUTBOX_STATE_QUEUED && entry->attempts > 0)
    {
      g_autofree char *next = format_time (entry->next_attempt);
      printf ("%12s Next attempt: %s\n", "", next);
    }
}

static void
add_time_member (JsonBuilder *b, const char *name, gint64 seconds)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *text = NULL;

  json_builder_set_member_name (b, name);
  if (seconds == 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  time = g_date_time_new_from_unix_utc (seconds);
  text = g_date_time_format_iso8601 (time);
  json_builder_add_string_value (b, text);
}

static void
add_string_member (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_entry_json (JsonBuilder *b, FerryOutboxEntry *entry)
{
  json_builder_begin_object (b);
  add_string_member (b, "id", entry->id);
  add_string_member (b, "account", entry->account);
  add_string_member (b, "state", shown_state (entry));
  add_string_member (b, "sender", entry->sender);
  add_string_member (b, "from", entry->from);
  add_string_member (b, "to", entry->to);
  add_string_member (b, "subject", entry->subject);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) entry->size);
  json_builder_set_member_name (b, "attempts");
  json_builder_add_int_value (b, entry->attempts);
  add_time_member (b, "queued_at", entry->queued_at);
  add_time_member (b, "last_attempt", entry->last_attempt);
  add_time_member (b, "next_attempt",
                   entry->state == FERRY_OUTBOX_STATE_QUEUED ? entry->next_attempt : 0);
  add_time_member (b, "sent_at", entry->sent_at);
  add_string_member (b, "last_reply", entry->last_reply);

  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      json_builder_begin_object (b);
      add_string_member (b, "address", r->address);
      add_string_member (b, "state", ferry_outbox_state_to_string (r->state));
      add_string_member (b, "reply", r->reply);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
print_json (GPtrArray *entries)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < entries->len; i++)
    add_entry_json (b, g_ptr_array_index (entries, i));
  json_builder_end_array (b);

  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

static int
queue_list (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) error = NULL;
  gboolean json = FALSE;
  gint64 now = now_seconds ();

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--json"))
        json = TRUE;
      else
        return ferry_cli_usage_error (cli, "queue list: unexpected “%s”", argv[i]);
    }

  entries = ferry_outbox_spool_list (spool, &error);
  if (entries == NULL)
    return ferry_cli_fail (cli, error);

  if (json)
    {
      print_json (entries);
      return EX_OK;
    }

  if (entries->len == 0)
    {
      printf ("The outbox is empty.\n");
      return EX_OK;
    }

  printf ("%-12s %5s %-12s %-7s %5s %6s  %s\n", "ID", "AGE", "ACCOUNT", "STATE", "TRIES", "SIZE",
          "SENDER -> RECIPIENTS");
  for (guint i = 0; i < entries->len; i++)
    print_entry_line (g_ptr_array_index (entries, i), now);
  return EX_OK;
}

static void
print_message_header (FerryOutboxEntry *entry)
{
  g_autoptr (GBytes) message = ferry_outbox_entry_load_message (entry, NULL);
  gsize len;
  const char *data;
  const char *end;

  if (message == NULL)
    return;
  data = g_bytes_get_data (message, &len);
  end = g_strstr_len (data, (gssize) len, "\n\n");
  if (end == NULL)
    end = g_strstr_len (data, (gssize) len, "\r\n\r\n");
  printf ("\n%.*s\n", (int) (end != NULL ? end - data : (gssize) MIN (len, 4096)), data);
}

static int
queue_show (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv)
{
  g_autoptr (FerryOutboxEntry) entry = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *queued = NULL, *last = NULL, *next = NULL, *sent = NULL;

  if (argc != 2)
    return ferry_cli_usage_error (cli, "queue show takes one id");

  entry = ferry_outbox_spool_lookup (spool, argv[1], &error);
  if (entry == NULL)
    return ferry_cli_fail (cli, error);

  queued = format_time (entry->queued_at);
  last = format_time (entry->last_attempt);
  next = format_time (entry->state == FERRY_OUTBOX_STATE_QUEUED ? entry->next_attempt : 0);
  sent = format_time (entry->sent_at);

  printf ("Id:           %s\n", entry->id);
  printf ("State:        %s\n", shown_state (entry));
  printf ("Account:      %s\n", or_dash (entry->account));
  printf ("Sender:       %s\n", entry->sender[0] != '\0' ? entry->sender : "<>");
  printf ("From:         %s\n", or_dash (entry->from));
  printf ("To:           %s\n", or_dash (entry->to));
  printf ("Subject:      %s\n", or_dash (entry->subject));
  printf ("Size:         %" G_GUINT64_FORMAT " bytes\n", entry->size);
  printf ("Queued:       %s\n", queued);
  printf ("Attempts:     %u (last %s)\n", entry->attempts, last);
  printf ("Next attempt: %s\n", next);
  printf ("Sent:         %s\n", sent);
  printf ("Last reply:   %s\n", or_dash (entry->last_reply));
  printf ("Recipients:\n");
  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      printf ("  %-7s %s%s%s\n", ferry_outbox_state_to_string (r->state), r->address,
              r->reply != NULL ? "  " : "", r->reply != NULL ? r->reply : "");
    }
  printf ("Message:      %s/message\n", entry->path);
  print_message_header (entry);
  return EX_OK;
}

/* Resolves the ids (or unique prefixes) the user typed into full ids. */
static GStrv
resolve_ids (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv, GError **error)
{
  g_autoptr (GStrvBuilder) ids = g_strv_builder_new ();

  for (int i = 0; i < argc; i++)
    {
      g_autoptr (FerryOutboxEntry) entry = ferry_outbox_spool_lookup (spool, argv[i], error);
      if (entry == NULL)
        return NULL;
      g_strv_builder_add (ids, entry->id);
    }
  return g_strv_builder_end (ids);
}

static void
report_attempt (FerryOutboxEntry *entry, gpointer user_data)
{
  FILE *out = user_data;
  g_autofree char *to = recipients_text (entry);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");

  switch (entry->state)
    {
      case FERRY_OUTBOX_STATE_SENT:
        fprintf (out, "%s %s: sent to %s (%s)\n", stamp, entry->id, to,
                 or_dash (entry->last_reply));
        break;
      case FERRY_OUTBOX_STATE_FAILED:
        fprintf (out, "%s %s: FAILED: %s\n", stamp, entry->id, or_dash (entry->last_reply));
        for (guint i = 0; i < entry->recipients->len; i++)
          {
            FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
            fprintf (out, "%s %s:   %s %s %s\n", stamp, entry->id,
                     ferry_outbox_state_to_string (r->state), r->address, or_dash (r->reply));
          }
        break;
      default:
        {
          g_autofree char *next = format_time (entry->next_attempt);
          fprintf (out, "%s %s: deferred: %s; next attempt %s\n", stamp, entry->id,
                   or_dash (entry->last_reply), next);
        }
        break;
    }
  fflush (out);
}

static int
flush_exit_code (const FerryOutboxFlushSummary *summary)
{
  if (summary->failed > 0)
    return EX_UNAVAILABLE;
  if (summary->deferred > 0 || summary->busy > 0)
    return EX_TEMPFAIL;
  return EX_OK;
}

static int
run_flush (FerryCli *cli, FerryOutboxSpool *spool, const char *const *ids, FILE *out)
{
  g_autoptr (FerryConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  FerryOutboxFlushSummary summary;

  config = ferry_cli_load_config (cli, &error);
  if (config == NULL)
    return ferry_cli_fail (cli, error);

  ferry_outbox_queue_prune (spool, config->keep_sent_days);
  if (!ferry_outbox_queue_flush (config, spool, ids, TRUE, report_attempt, out, &summary, NULL,
                                 &error))
    return ferry_cli_fail (cli, error);

  if (out == stdout)
    {
      if (summary.sent + summary.deferred + summary.failed + summary.busy == 0)
        printf ("Nothing to send.\n");
      else
        printf ("%u sent, %u deferred, %u failed, %u being sent by another process\n", summary.sent,
                summary.deferred, summary.failed, summary.busy);
    }
  return flush_exit_code (&summary);
}

static gboolean
anything_due (FerryOutboxSpool *spool)
{
  gint64 next = ferry_outbox_queue_next_attempt (spool);
  return next != 0 && next <= now_seconds ();
}

static FILE *
open_background_log (void)
{
  g_autofree char *path = ferry_cli_state_log_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  if (!ferry_paths_ensure_private_dir (dir, NULL))
    return NULL;
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  return fd >= 0 ? fdopen (fd, "a") : NULL;
}

/* What ferry-sendmail starts when no engine runs. Only one background
 * flusher works at a time; a second one leaves at once. The first checks
 * for due entries after it lets go of the lock, so an entry queued while
 * it worked is never stranded: either it sees the entry, or the entry's
 * own flusher finds the lock free. */
static int
flush_in_background (FerryCli *cli, FerryOutboxSpool *spool)
{
  FILE *log = open_background_log ();
  int status = EX_OK;

  if (log == NULL)
    log = stderr;

  do
    {
      g_autoptr (FerryOutboxLock) lock = ferry_outbox_spool_try_lock_flush (spool, NULL);
      if (lock == NULL)
        break;
      status = run_flush (cli, spool, NULL, log);
    }
  while (anything_due (spool));

  if (log != stderr)
    fclose (log);
  return status;
}

static int
queue_flush (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv)
{
  g_auto (GStrv) ids = NULL;
  g_autoptr (GError) error = NULL;

  if (argc > 1 && g_str_equal (argv[1], "--background"))
    {
      if (argc > 2)
        return ferry_cli_usage_error (cli, "queue flush --background takes no ids");
      return flush_in_background (cli, spool);
    }

  if (argc > 1)
    {
      ids = resolve_ids (cli, spool, argc - 1, argv + 1, &error);
      if (ids == NULL)
        return ferry_cli_fail (cli, error);
    }
  return run_flush (cli, spool, (const char *const *) ids, stdout);
}

static int
queue_retry (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GStrvBuilder) retried = g_strv_builder_new ();
  g_auto (GStrv) ids = NULL;
  g_autoptr (GError) error = NULL;
  gboolean all = argc == 2 && g_str_equal (argv[1], "--all");

  if (argc < 2)
    return ferry_cli_usage_error (cli, "queue retry takes ids, or --all for every failed message");

  entries = all ? ferry_outbox_spool_list (spool, &error) : g_ptr_array_new ();
  if (entries == NULL)
    return ferry_cli_fail (cli, error);
  g_ptr_array_set_free_func (entries, (GDestroyNotify) ferry_outbox_entry_unref);
  for (int i = 1; !all && i < argc; i++)
    {
      FerryOutboxEntry *entry = ferry_outbox_spool_lookup (spool, argv[i], &error);
      if (entry == NULL)
        return ferry_cli_fail (cli, error);
      g_ptr_array_add (entries, entry);
    }

  for (guint i = 0; i < entries->len; i++)
    {
      FerryOutboxEntry *entry = g_ptr_array_index (entries, i);

      if (all && entry->state != FERRY_OUTBOX_STATE_FAILED)
        continue;
      if (!ferry_outbox_queue_retry (spool, entry, &error))
        return ferry_cli_fail (cli, error);
      g_strv_builder_add (retried, entry->id);
    }

  ids = g_strv_builder_end (retried);
  if (ids[0] == NULL)
    {
      printf ("No failed messages to retry.\n");
      return EX_OK;
    }
  return run_flush (cli, spool, (const char *const *) ids, stdout);
}

static gboolean
confirm_removal (FerryOutboxEntry *entry)
{
  g_autofree char *to = recipients_text (entry);
  char answer[16] = "";

  fprintf (stderr, "Remove message %s to %s (“%s”)? It will not be sent. [y/N] ", entry->id, to,
           or_dash (entry->subject));
  fflush (stderr);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

static int
remove_one (FerryCli *cli, FerryOutboxSpool *spool, const char *id, gboolean ask)
{
  g_autoptr (FerryOutboxEntry) entry = NULL;
  g_autoptr (FerryOutboxLock) lock = NULL;
  g_autoptr (GError) error = NULL;

  entry = ferry_outbox_spool_lookup (spool, id, &error);
  if (entry == NULL)
    return ferry_cli_fail (cli, error);
  if (ask && !confirm_removal (entry))
    {
      printf ("Kept %s.\n", entry->id);
      return EX_OK;
    }

  lock = ferry_outbox_entry_try_lock (entry, &error);
  if (lock == NULL && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_BUSY))
    {
      g_clear_error (&error);
      g_set_error (&error, FERRY_ERROR, FERRY_ERROR_BUSY,
                   "Message %s is being sent right now; try again in a moment", entry->id);
    }
  if (lock == NULL || !ferry_outbox_spool_remove (spool, entry, lock, &error))
    return ferry_cli_fail (cli, error);

  printf ("Removed %s.\n", entry->id);
  return EX_OK;
}

static int
queue_remove (FerryCli *cli, FerryOutboxSpool *spool, int argc, char **argv)
{
  gboolean ask = isatty (STDIN_FILENO);
  int status = EX_OK;
  int first = 1;

  if (argc > 1 && (g_str_equal (argv[1], "--yes") || g_str_equal (argv[1], "-y")))
    {
      ask = FALSE;
      first = 2;
    }
  if (first >= argc)
    return ferry_cli_usage_error (cli, "queue remove takes one or more ids");

  for (int i = first; i < argc; i++)
    {
      int one = remove_one (cli, spool, argv[i], ask);
      if (one != EX_OK)
        status = one;
    }
  return status;
}

/**
 * ferry_cli_queue:
 * @cli: the running program
 * @argc: the number of arguments after `queue`
 * @argv: those arguments; argv[0] is the subcommand
 *
 * Returns: the sysexits.h code to exit with
 */
int
ferry_cli_queue (FerryCli *cli, int argc, char **argv)
{
  g_autoptr (FerryOutboxSpool) spool = NULL;
  g_autoptr (GError) error = NULL;
  const char *command = argc > 0 ? argv[0] : "list";

  spool = ferry_cli_open_spool (&error);
  if (spool == NULL)
    return ferry_cli_fail (cli, error);

  if (g_str_equal (command, "list"))
    return queue_list (cli, spool, MAX (argc, 1), argc > 0 ? argv : (char *[]){ "list", NULL });
  if (g_str_equal (command, "show"))
    return queue_show (cli, spool, argc, argv);
  if (g_str_equal (command, "flush"))
    return queue_flush (cli, spool, argc, argv);
  if (g_str_equal (command, "retry"))
    return queue_retry (cli, spool, argc, argv);
  if (g_str_equal (command, "remove"))
    return queue_remove (cli, spool, argc, argv);

  return ferry_cli_usage_error (
      cli, "unknown queue command “%s”; use list, show, flush, retry or remove", command);
}
