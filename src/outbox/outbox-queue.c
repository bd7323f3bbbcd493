/* outbox-queue.c: delivering what the spool holds, with retries
 *
 * One delivery attempt, under the entry's lock:
 *
 *   1. read the envelope again (another flusher may have sent it meanwhile);
 *   2. record state "sending" and the attempt, durably;
 *   3. talk to the server;
 *   4. record each recipient's fate and the entry's new state, durably,
 *      before anything else happens.
 *
 * A flusher killed between 3 and 4 leaves "sending" behind with no lock
 * held; the next flusher treats that as queued and sends again. That is
 * the one window where a message can arrive twice: the server had accepted
 * it, and Ferry died before it could write that down. No protocol can
 * close it (RFC 5321 §4.1.1.4 has no way to ask whether a message arrived),
 * so it is kept as short as one fsync.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "core/errors.h"
#include "core/secrets.h"
#include "outbox/outbox-message.h"
#include "outbox/outbox-queue.h"
#include "outbox/outbox-smtp.h"

#define SECONDS_PER_DAY (24 * 60 * 60)

typedef struct
{
  FerryConfig *config;
  FerryOutboxSpool *spool;
  GHashTable *secrets; /* account name -> FerrySecret, looked up once per flush */
  GCancellable *cancellable;
  gint64 now;
} Flush;

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/**
 * ferry_outbox_entry_is_due:
 * @entry: a queue entry
 * @now: the current time in seconds since the epoch
 *
 * Returns: whether @entry waits for delivery and its next attempt is due.
 *   An entry left "sending" by a flusher that died is due again.
 */
gboolean
ferry_outbox_entry_is_due (FerryOutboxEntry *entry, gint64 now)
{
  g_return_val_if_fail (entry != NULL, FALSE);

  if (entry->state == FERRY_OUTBOX_STATE_SENDING)
    return TRUE;
  return entry->state == FERRY_OUTBOX_STATE_QUEUED && entry->next_attempt <= now;
}

static GPtrArray *
pending_recipients (FerryOutboxEntry *entry)
{
  GPtrArray *addresses = g_ptr_array_new ();

  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      if (r->state == FERRY_OUTBOX_STATE_QUEUED)
        g_ptr_array_add (addresses, r->address);
    }
  g_ptr_array_add (addresses, NULL);
  return addresses;
}

static FerryOutboxRecipient *
find_recipient (FerryOutboxEntry *entry, const char *address)
{
  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      if (r->state == FERRY_OUTBOX_STATE_QUEUED && g_str_equal (r->address, address))
        return r;
    }
  return NULL;
}

/* The entry's state follows from its recipients': anyone still queued
 * means another attempt; else anyone refused means failed; else sent. */
static void
settle_entry_state (Flush *flush, FerryOutboxEntry *entry)
{
  gboolean any_queued = FALSE, any_failed = FALSE;

  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      any_queued |= r->state == FERRY_OUTBOX_STATE_QUEUED;
      any_failed |= r->state == FERRY_OUTBOX_STATE_FAILED;
    }

  if (any_queued)
    {
      guint delay = ferry_config_retry_delay_seconds (flush->config, entry->attempts);
      entry->state = FERRY_OUTBOX_STATE_QUEUED;
      entry->next_attempt = flush->now + delay;
    }
  else if (any_failed)
    entry->state = FERRY_OUTBOX_STATE_FAILED;
  else
    {
      entry->state = FERRY_OUTBOX_STATE_SENT;
      entry->sent_at = now_seconds ();
    }
}

static void
apply_smtp_result (Flush *flush, FerryOutboxEntry *entry, FerrySmtpResult *result)
{
  static const FerryOutboxState fate[] = {
    [FERRY_SMTP_STATUS_DELIVERED] = FERRY_OUTBOX_STATE_SENT,
    [FERRY_SMTP_STATUS_TEMPORARY] = FERRY_OUTBOX_STATE_QUEUED,
    [FERRY_SMTP_STATUS_PERMANENT] = FERRY_OUTBOX_STATE_FAILED,
  };

  for (guint i = 0; i < result->recipients->len; i++)
    {
      FerrySmtpRecipientResult *rr = g_ptr_array_index (result->recipients, i);
      FerryOutboxRecipient *r = find_recipient (entry, rr->address);

      if (r == NULL)
        continue;
      r->state = fate[rr->status];
      g_free (r->reply);
      r->reply = g_strdup (rr->reply);
    }

  g_free (entry->last_reply);
  entry->last_reply = g_strdup (result->reply);
  settle_entry_state (flush, entry);
}

/* A problem on our side (no password, no smtp-host) applies to every
 * recipient still waiting: retried later when it may pass, or failed. */
static void
apply_local_failure (Flush *flush, FerryOutboxEntry *entry, const GError *error)
{
  gboolean permanent = g_error_matches (error, FERRY_ERROR, FERRY_ERROR_CONFIG)
                       || g_error_matches (error, FERRY_ERROR, FERRY_ERROR_NO_PERM)
                       || g_error_matches (error, FERRY_ERROR, FERRY_ERROR_NO_USER);

  g_free (entry->last_reply);
  entry->last_reply = g_strdup (error->message);
  if (permanent)
    {
      for (guint i = 0; i < entry->recipients->len; i++)
        {
          FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
          if (r->state == FERRY_OUTBOX_STATE_QUEUED)
            r->state = FERRY_OUTBOX_STATE_FAILED;
        }
    }
  settle_entry_state (flush, entry);
}

static const char *
lookup_secret (Flush *flush, const FerryAccount *account, gboolean *is_token, GError **error)
{
  FerrySecret *secret = g_hash_table_lookup (flush->secrets, account->name);

  *is_token = account->oauth2_token_command != NULL;
  if (secret != NULL)
    return secret;

  if (*is_token)
    secret = ferry_secrets_oauth2_token (account, flush->cancellable, error);
  else
    secret = ferry_secrets_lookup_password (account, FERRY_SERVICE_SMTP, flush->cancellable, error);
  if (secret != NULL)
    g_hash_table_insert (flush->secrets, g_strdup (account->name), secret);
  return secret;
}

static const FerryAccount *
entry_account (Flush *flush, FerryOutboxEntry *entry, GError **error)
{
  const FerryAccount *account = NULL;

  if (entry->account != NULL)
    account = ferry_config_lookup_account (flush->config, entry->account);
  if (account == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_USER,
                 "Account “%s” is no longer in %s; add it back, or remove this message",
                 entry->account != NULL ? entry->account : "", flush->config->path);
  else if (account->smtp_host == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                 "Account “%s” has no smtp-host in %s; add one to send its mail", account->name,
                 flush->config->path);
  return account;
}

static FerrySmtpResult *
talk_to_server (Flush *flush, FerryOutboxEntry *entry, const FerryAccount *account, GError **error)
{
  g_autoptr (GBytes) message = NULL;
  g_autoptr (GBytes) wire = NULL;
  g_autoptr (GPtrArray) recipients = pending_recipients (entry);
  const char *secret = NULL;
  gboolean is_token = FALSE;
  FerrySmtpRequest request = { 0 };

  if (account->smtp_user != NULL)
    {
      secret = lookup_secret (flush, account, &is_token, error);
      if (secret == NULL)
        return NULL;
    }

  message = ferry_outbox_entry_load_message (entry, error);
  if (message == NULL)
    return NULL;
  wire = ferry_outbox_message_for_wire (message);

  request.account = account;
  request.password = is_token ? NULL : secret;
  request.oauth2_token = is_token ? secret : NULL;
  request.timeout_seconds = flush->config->timeout_seconds;
  request.sender = entry->sender;
  request.recipients = (const char *const *) recipients->pdata;
  request.data = wire;
  return ferry_outbox_smtp_deliver (&request, flush->cancellable, error);
}

/* Returns FALSE only when the spool itself fails (the record cannot be
 * written); a refused message is a result, not an error. */
static gboolean
attempt_delivery (Flush *flush, FerryOutboxEntry *entry, FerryOutboxLock *lock, GError **error)
{
  g_autoptr (FerrySmtpResult) result = NULL;
  g_autoptr (GError) local_error = NULL;
  const FerryAccount *account;

  entry->attempts++;
  entry->last_attempt = now_seconds ();
  account = entry_account (flush, entry, &local_error);
  if (account != NULL && local_error == NULL)
    {
      entry->state = FERRY_OUTBOX_STATE_SENDING;
      if (!ferry_outbox_entry_save (entry, lock, error))
        return FALSE;
      result = talk_to_server (flush, entry, account, &local_error);
    }

  if (result != NULL)
    apply_smtp_result (flush, entry, result);
  else
    apply_local_failure (flush, entry, local_error);

  return ferry_outbox_entry_save (entry, lock, error);
}

static void
count (FerryOutboxFlushSummary *summary, FerryOutboxState state)
{
  if (state == FERRY_OUTBOX_STATE_SENT)
    summary->sent++;
  else if (state == FERRY_OUTBOX_STATE_FAILED)
    summary->failed++;
  else
    summary->deferred++;
}

static gboolean
flush_entry (Flush *flush,
             FerryOutboxEntry *entry,
             gboolean force,
             FerryOutboxFlushSummary *summary,
             GError **error)
{
  g_autoptr (FerryOutboxLock) lock = NULL;
  g_autoptr (GError) lock_error = NULL;

  lock = ferry_outbox_entry_try_lock (entry, &lock_error);
  if (lock == NULL)
    {
      /* Busy: someone else is sending it. Gone: someone removed it. */
      if (g_error_matches (lock_error, FERRY_ERROR, FERRY_ERROR_BUSY))
        summary->busy++;
      return TRUE;
    }

  if (!ferry_outbox_entry_reload (entry, error))
    return FALSE;
  if (entry->state == FERRY_OUTBOX_STATE_QUEUED && force)
    entry->next_attempt = flush->now;
  if (!ferry_outbox_entry_is_due (entry, flush->now))
    return TRUE;

  if (!attempt_delivery (flush, entry, lock, error))
    return FALSE;
  count (summary, entry->state);
  return TRUE;
}

static gboolean
is_selected (FerryOutboxEntry *entry, const char *const *ids)
{
  return ids == NULL || g_strv_contains (ids, entry->id);
}

/**
 * ferry_outbox_queue_flush:
 * @config: the configuration, for accounts and retry intervals
 * @spool: the spool
 * @ids: (nullable): full ids of the entries to try, or %NULL for all
 * @force: try queued entries now even when their next attempt is later
 * @report: (nullable): called after each attempt
 * @user_data: for @report
 * @summary: (out): what happened
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Tries every due entry once. Failed and sent entries are left alone.
 *
 * Returns: %FALSE only when the spool could not be read or written
 */
gboolean
ferry_outbox_queue_flush (FerryConfig *config,
                          FerryOutboxSpool *spool,
                          const char *const *ids,
                          gboolean force,
                          FerryOutboxReportFunc report,
                          gpointer user_data,
                          FerryOutboxFlushSummary *summary,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GHashTable) secrets = NULL;
  Flush flush;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (spool != NULL, FALSE);
  g_return_val_if_fail (summary != NULL, FALSE);

  *summary = (FerryOutboxFlushSummary){ 0 };
  entries = ferry_outbox_spool_list (spool, error);
  if (entries == NULL)
    return FALSE;

  secrets
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) ferry_secret_free);
  flush = (Flush){ config, spool, secrets, cancellable, now_seconds () };

  for (guint i = 0; i < entries->len; i++)
    {
      FerryOutboxEntry *entry = g_ptr_array_index (entries, i);
      guint attempts_before = entry->attempts;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!is_selected (entry, ids))
        continue;
      if (!flush_entry (&flush, entry, force, summary, error))
        return FALSE;
      if (report != NULL && entry->attempts != attempts_before)
        report (entry, user_data);
    }

  return TRUE;
}

/**
 * ferry_outbox_queue_retry:
 * @spool: the spool
 * @entry: an entry, usually a failed one
 * @error: return location for a #GError
 *
 * Queues the refused recipients of @entry again, due at once. This is the
 * only way a failed message is ever sent again.
 */
gboolean
ferry_outbox_queue_retry (FerryOutboxSpool *spool, FerryOutboxEntry *entry, GError **error)
{
  g_autoptr (FerryOutboxLock) lock = NULL;

  g_return_val_if_fail (spool != NULL, FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);

  lock = ferry_outbox_entry_try_lock (entry, error);
  if (lock == NULL || !ferry_outbox_entry_reload (entry, error))
    return FALSE;

  if (entry->state == FERRY_OUTBOX_STATE_SENT)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_DATA,
                   "Message %s was already sent to every recipient", entry->id);
      return FALSE;
    }

  for (guint i = 0; i < entry->recipients->len; i++)
    {
      FerryOutboxRecipient *r = g_ptr_array_index (entry->recipients, i);
      if (r->state == FERRY_OUTBOX_STATE_FAILED)
        r->state = FERRY_OUTBOX_STATE_QUEUED;
    }
  entry->state = FERRY_OUTBOX_STATE_QUEUED;
  entry->next_attempt = now_seconds ();
  return ferry_outbox_entry_save (entry, lock, error);
}

/**
 * ferry_outbox_queue_prune:
 * @spool: the spool
 * @keep_sent_days: how long sent messages are kept
 *
 * Removes sent entries older than @keep_sent_days. Entries that are busy
 * or cannot be removed stay for the next prune.
 *
 * Returns: how many entries were removed
 */
guint
ferry_outbox_queue_prune (FerryOutboxSpool *spool, guint keep_sent_days)
{
  g_autoptr (GPtrArray) entries = NULL;
  gint64 cutoff = now_seconds () - (gint64) keep_sent_days * SECONDS_PER_DAY;
  guint removed = 0;

  g_return_val_if_fail (spool != NULL, 0);

  entries = ferry_outbox_spool_list (spool, NULL);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      FerryOutboxEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr (FerryOutboxLock) lock = NULL;

      if (entry->state != FERRY_OUTBOX_STATE_SENT || entry->sent_at > cutoff)
        continue;
      lock = ferry_outbox_entry_try_lock (entry, NULL);
      if (lock != NULL && ferry_outbox_entry_reload (entry, NULL)
          && entry->state == FERRY_OUTBOX_STATE_SENT
          && ferry_outbox_spool_remove (spool, entry, lock, NULL))
        removed++;
    }
  return removed;
}

/**
 * ferry_outbox_queue_next_attempt:
 * @spool: the spool
 *
 * Returns: the earliest next attempt of a queued entry, in seconds since
 *   the epoch, or 0 when nothing waits
 */
gint64
ferry_outbox_queue_next_attempt (FerryOutboxSpool *spool)
{
  g_autoptr (GPtrArray) entries = ferry_outbox_spool_list (spool, NULL);
  gint64 next = 0;

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      FerryOutboxEntry *entry = g_ptr_array_index (entries, i);
      gint64 when = entry->state == FERRY_OUTBOX_STATE_SENDING ? 1 : entry->next_attempt;

      if (entry->state != FERRY_OUTBOX_STATE_QUEUED && entry->state != FERRY_OUTBOX_STATE_SENDING)
        continue;
      if (next == 0 || when < next)
        next = when;
    }
  return next;
}
