/* config.h: the configuration file, its accounts and their settings
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  FERRY_SECURITY_TLS,      /* implicit TLS from the first byte (IMAPS, SMTPS) */
  FERRY_SECURITY_STARTTLS, /* plain connection upgraded by STARTTLS, which must succeed */
  FERRY_SECURITY_NONE,     /* no TLS at all; only when the account says so */
} FerrySecurity;

typedef enum
{
  FERRY_SEND_AFTER_QUEUE_ENGINE,     /* wake the running engine, else deliver in the background */
  FERRY_SEND_AFTER_QUEUE_BACKGROUND, /* always start a background delivery */
  FERRY_SEND_AFTER_QUEUE_NEVER,      /* only queue; delivery waits for `ferry queue flush` */
} FerrySendAfterQueue;

/* Which side a sync policy (create, remove, expunge) applies to. */
typedef enum
{
  FERRY_SIDE_NONE = 0,
  FERRY_SIDE_LOCAL = 1 << 0,
  FERRY_SIDE_REMOTE = 1 << 1,
  FERRY_SIDE_BOTH = FERRY_SIDE_LOCAL | FERRY_SIDE_REMOTE,
} FerrySide;

/* imap-compress: COMPRESS=DEFLATE (RFC 4978) where the server offers it. */
typedef enum
{
  FERRY_COMPRESS_AUTO, /* unless the server is on this machine (loopback) */
  FERRY_COMPRESS_YES,
  FERRY_COMPRESS_NO,
} FerryCompress;

typedef enum
{
  FERRY_SUBFOLDERS_VERBATIM,  /* Sent/2024 */
  FERRY_SUBFOLDERS_MAILDIRPP, /* .Sent.2024 */
} FerrySubfolders;

typedef struct
{
  char *name;
  char **addresses;
  char *maildir;

  char *imap_host;
  guint16 imap_port;
  FerrySecurity imap_security;
  char *imap_user;
  char *imap_ca_file;
  char *imap_tls_fingerprint;
  FerryCompress imap_compress;

  char *smtp_host;
  guint16 smtp_port;
  FerrySecurity smtp_security;
  char *smtp_user;
  char *smtp_ca_file;
  char *smtp_tls_fingerprint;

  char *password_command;
  char *oauth2_token_command;

  char *folders;
  FerrySide expunge;
  FerrySide create;
  FerrySide remove;
  FerrySubfolders subfolders;
  char *inbox;        /* where the INBOX's Maildir is; NULL for the layout's default */
  char *strip_prefix; /* taken off server folder names, as "INBOX." */
  char **folder_map;  /* server name, local name, server name, ...; or NULL */
  guint64 max_size;   /* messages larger are not copied; 0 for no limit */
  char *trash;        /* server folder (local name) that takes what is expunged there */
  guint max_connections;
} FerryAccount;

typedef struct _FerryConfig FerryConfig;

struct _FerryConfig
{
  /*< private >*/
  gatomicrefcount ref_count;
  GHashTable *lines;

  /*< public, read-only >*/
  char *path;
  gboolean exists;
  char *default_account;
  FerrySendAfterQueue send_after_queue;
  guint64 max_message_size;
  guint keep_sent_days;
  GArray *retry_intervals; /* guint seconds; the last one repeats */
  guint timeout_seconds;
  guint max_parallel_accounts;
  guint sync_interval_minutes; /* 0: the engine syncs only when asked or back online */
  GPtrArray *accounts;         /* FerryAccount */
};

FerryConfig *ferry_config_load (const char *path, GError **error);
FerryConfig *ferry_config_load_default (GError **error);
FerryConfig *ferry_config_ref (FerryConfig *self);
void ferry_config_unref (FerryConfig *self);

const FerryAccount *ferry_config_lookup_account (FerryConfig *self, const char *name);
const FerryAccount *ferry_config_account_for_address (FerryConfig *self, const char *address);
const FerryAccount *ferry_config_default_account (FerryConfig *self, GError **error);
char *ferry_config_describe (FerryConfig *self, const FerryAccount *account, const char *key);
guint ferry_config_retry_delay_seconds (FerryConfig *self, guint attempts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryConfig, ferry_config_unref)

G_END_DECLS
