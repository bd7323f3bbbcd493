/* config.c: the configuration file, its accounts and their settings
 *
 * The file is a GKeyFile with a [general] group and an [account NAME]
 * group per account. GKeyFile reports neither line numbers nor unknown
 * keys, so a small scanner reads the file first: it checks the syntax of
 * every line, records where each group and key is, and refuses duplicates.
 * Every error names the file, the line and the key, and says what was
 * expected, so a user can fix it without reading the manual.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "paths.h"

#define GENERAL_GROUP         "general"
#define ACCOUNT_PREFIX        "account "
#define DEFAULT_MAX_SIZE      (50 * 1024 * 1024)
#define DEFAULT_KEEP_SENT     7
#define DEFAULT_TIMEOUT       60
#define DEFAULT_RETRIES       "1;2;5;10;30;60"
#define DEFAULT_SYNC_INTERVAL 15
/* Two: a first sync of several folders takes about half as long, and
 * every server we know of allows several connections per user. */
#define DEFAULT_MAX_CONNECTIONS    2
#define MAX_RETRY_INTERVAL_SECONDS (7 * 24 * 3600)

typedef struct
{
  const char *name;
  int value;
} EnumChoice;

static const EnumChoice security_choices[] = {
  { "tls", FERRY_SECURITY_TLS },
  { "starttls", FERRY_SECURITY_STARTTLS },
  { "none", FERRY_SECURITY_NONE },
  { NULL, 0 },
};

static const EnumChoice send_after_queue_choices[] = {
  { "engine", FERRY_SEND_AFTER_QUEUE_ENGINE },
  { "background", FERRY_SEND_AFTER_QUEUE_BACKGROUND },
  { "never", FERRY_SEND_AFTER_QUEUE_NEVER },
  { NULL, 0 },
};

static const EnumChoice side_choices[] = {
  { "none", FERRY_SIDE_NONE },
  { "local", FERRY_SIDE_LOCAL },
  { "remote", FERRY_SIDE_REMOTE },
  { "both", FERRY_SIDE_BOTH },
  { NULL, 0 },
};

static const EnumChoice compress_choices[] = {
  { "auto", FERRY_COMPRESS_AUTO },
  { "yes", FERRY_COMPRESS_YES },
  { "no", FERRY_COMPRESS_NO },
  { NULL, 0 },
};

static const EnumChoice subfolders_choices[] = {
  { "verbatim", FERRY_SUBFOLDERS_VERBATIM },
  { "maildir++", FERRY_SUBFOLDERS_MAILDIRPP },
  { NULL, 0 },
};

static const char *const general_keys[] = {
  "default-account", "send-after-queue",      "max-message-size", "keep-sent", "retry-intervals",
  "timeout",         "max-parallel-accounts", "sync-interval",    NULL,
};

static const char *const account_keys[] = {
  "addresses",
  "maildir",
  "imap-host",
  "imap-port",
  "imap-security",
  "imap-user",
  "imap-ca-file",
  "imap-tls-fingerprint",
  "imap-compress",
  "smtp-host",
  "smtp-port",
  "smtp-security",
  "smtp-user",
  "smtp-ca-file",
  "smtp-tls-fingerprint",
  "password-command",
  "oauth2-token-command",
  "folders",
  "expunge",
  "create",
  "remove",
  "subfolders",
  "inbox",
  "strip-prefix",
  "folder-map",
  "max-size",
  "max-connections",
  "trash",
  NULL,
};

typedef struct
{
  FerryConfig *config;
  GKeyFile *key_file;
  GError **error;
} Parser;

static char *
line_key (const char *group, const char *key)
{
  return key != NULL ? g_strconcat (group, "\n", key, NULL) : g_strdup (group);
}

static guint
line_of (FerryConfig *self, const char *group, const char *key)
{
  g_autofree char *k = line_key (group, key);
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->lines, k));
}

/**
 * ferry_config_describe:
 * @self: a #FerryConfig
 * @account: (nullable): the account, or %NULL for [general]
 * @key: (nullable): a key, or %NULL for the group itself
 *
 * Returns: (transfer full): where a setting lives, as `FILE:LINE: [GROUP] KEY`,
 *   for messages that ask the user to change it. A key that is not in the
 *   file points at its group.
 */
char *
ferry_config_describe (FerryConfig *self, const FerryAccount *account, const char *key)
{
  g_autofree char *group = NULL;
  guint line;

  g_return_val_if_fail (self != NULL, NULL);

  group = account != NULL ? g_strconcat (ACCOUNT_PREFIX, account->name, NULL)
                          : g_strdup (GENERAL_GROUP);
  line = key != NULL ? line_of (self, group, key) : 0;
  if (line == 0)
    line = line_of (self, group, NULL);

  if (line == 0)
    return key != NULL ? g_strdup_printf ("%s: [%s] %s", self->path, group, key)
                       : g_strdup_printf ("%s: [%s]", self->path, group);
  return key != NULL ? g_strdup_printf ("%s:%u: [%s] %s", self->path, line, group, key)
                     : g_strdup_printf ("%s:%u: [%s]", self->path, line, group);
}

G_GNUC_PRINTF (4, 5)
static gboolean
parser_fail (Parser *p, const char *group, const char *key, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *lk = line_key (group, key);
  guint line = GPOINTER_TO_UINT (g_hash_table_lookup (p->config->lines, lk));
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (line == 0 && key != NULL)
    line = line_of (p->config, group, NULL);

  if (key != NULL)
    g_set_error (p->error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s:%u: [%s] %s: %s", p->config->path,
                 line, group, key, message);
  else
    g_set_error (p->error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s:%u: [%s]: %s", p->config->path,
                 line, group, message);
  return FALSE;
}

static gboolean syntax_fail (Parser *p, guint line, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
syntax_fail (Parser *p, guint line, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (p->error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s:%u: %s", p->config->path, line,
               message);
  return FALSE;
}

static gboolean
record_line (Parser *p, const char *group, const char *key, guint line)
{
  char *k = line_key (group, key);

  if (g_hash_table_contains (p->config->lines, k))
    {
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (p->config->lines, k));
      g_free (k);
      if (key != NULL)
        return syntax_fail (p, line, "[%s] %s: set twice (first on line %u); keep one", group, key,
                            first);
      return syntax_fail (p, line, "[%s]: group appears twice (first on line %u); merge them",
                          group, first);
    }
  g_hash_table_insert (p->config->lines, k, GUINT_TO_POINTER (line));
  return TRUE;
}

/* Checks every line's syntax and records where groups and keys are, since
 * GKeyFile keeps neither. */
static gboolean
scan_lines (Parser *p, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *group = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint line = i + 1;
      char *s = g_strstrip (lines[i]);
      char *eq;

      if (*s == '\0' || *s == '#')
        continue;

      if (*s == '[')
        {
          char *end = strrchr (s, ']');
          if (end == NULL || end[1] != '\0' || end == s + 1)
            return syntax_fail (p, line,
                                "“%s” is not a group header; write [general] or "
                                "[account NAME]",
                                s);
          g_free (group);
          group = g_strndup (s + 1, (gsize) (end - s - 1));
          if (!record_line (p, group, NULL, line))
            return FALSE;
          continue;
        }

      eq = strchr (s, '=');
      if (eq == NULL)
        return syntax_fail (p, line, "“%s” is not a setting; write KEY = VALUE", s);
      if (group == NULL)
        return syntax_fail (p, line,
                            "setting before any group; start the file with [general] "
                            "or [account NAME]");
      *eq = '\0';
      g_strchomp (s);
      if (*s == '\0')
        return syntax_fail (p, line, "a setting with no key before “=”");
      if (!record_line (p, group, s, line))
        return FALSE;
    }

  return TRUE;
}

static gboolean
check_known_keys (Parser *p, const char *group, const char *const *known)
{
  g_auto (GStrv) keys = g_key_file_get_keys (p->key_file, group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (known, keys[i]))
      return parser_fail (p, group, keys[i], "unknown key; see ferry.conf(5) for the keys of [%s]",
                          g_str_has_prefix (group, ACCOUNT_PREFIX) ? "account NAME" : group);
  return TRUE;
}

static char *
get_string (Parser *p, const char *group, const char *key)
{
  g_autofree char *value = g_key_file_get_string (p->key_file, group, key, NULL);

  if (value == NULL)
    return NULL;
  g_strstrip (value);
  if (*value == '\0')
    return NULL;
  return g_steal_pointer (&value);
}

static const char *
comment_hint (const char *value)
{
  return strchr (value, '#') != NULL ? " (comments go on a line of their own)" : "";
}

static gboolean
get_enum (Parser *p,
          const char *group,
          const char *key,
          const EnumChoice *choices,
          int fallback,
          int *out)
{
  g_autofree char *value = get_string (p, group, key);
  g_autoptr (GString) expected = g_string_new (NULL);

  *out = fallback;
  if (value == NULL)
    return TRUE;

  for (guint i = 0; choices[i].name != NULL; i++)
    {
      if (g_ascii_strcasecmp (value, choices[i].name) == 0)
        {
          *out = choices[i].value;
          return TRUE;
        }
      if (i > 0)
        g_string_append (expected, choices[i + 1].name != NULL ? ", " : " or ");
      g_string_append (expected, choices[i].name);
    }

  return parser_fail (p, group, key, "expected %s, got “%s”%s", expected->str, value,
                      comment_hint (value));
}

static gboolean
get_uint (Parser *p,
          const char *group,
          const char *key,
          guint64 min,
          guint64 max,
          guint64 fallback,
          guint64 *out)
{
  g_autofree char *value = get_string (p, group, key);
  guint64 n;

  *out = fallback;
  if (value == NULL)
    return TRUE;

  if (!g_ascii_string_to_unsigned (value, 10, min, max, &n, NULL))
    return parser_fail (p, group, key,
                        "expected a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                        ", got “%s”%s",
                        min, max, value, comment_hint (value));
  *out = n;
  return TRUE;
}

/* Sizes as people write them: 50M, 512K, 1G, 1048576. */
static gboolean
get_size (Parser *p, const char *group, const char *key, guint64 fallback, guint64 *out)
{
  g_autofree char *value = get_string (p, group, key);
  guint64 n, multiplier = 1;
  char *end;

  *out = fallback;
  if (value == NULL)
    return TRUE;

  n = g_ascii_strtoull (value, &end, 10);
  if (end != value)
    {
      switch (g_ascii_toupper (*end))
        {
          case 'K':
            multiplier = 1024;
            end++;
            break;
          case 'M':
            multiplier = 1024 * 1024;
            end++;
            break;
          case 'G':
            multiplier = 1024 * 1024 * 1024;
            end++;
            break;
          default:
            break;
        }
      if (multiplier > 1 && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b'))
        end += 2;
      else if (multiplier > 1 && (*end == 'B' || *end == 'b'))
        end++;
    }

  if (end == value || *end != '\0' || n == 0 || n > G_MAXUINT64 / multiplier)
    return parser_fail (p, group, key, "expected a size such as 50M, 512K or 1G, got “%s”%s", value,
                        comment_hint (value));
  *out = n * multiplier;
  return TRUE;
}

static gboolean
get_port (Parser *p, const char *group, const char *key, guint16 fallback, guint16 *out)
{
  guint64 n;

  if (!get_uint (p, group, key, 1, 65535, fallback, &n))
    return FALSE;
  *out = (guint16) n;
  return TRUE;
}

/* "5" and "5m" are minutes; "30s" and "2h" say their unit. */
static gboolean
parse_interval (const char *text, guint *seconds)
{
  g_autofree char *digits = g_strdup (text);
  gsize len = strlen (digits);
  guint unit = 60;
  guint64 n;

  if (len > 1 && strchr ("smh", digits[len - 1]) != NULL)
    {
      unit = digits[len - 1] == 's' ? 1 : digits[len - 1] == 'm' ? 60 : 3600;
      digits[len - 1] = '\0';
    }
  if (!g_ascii_string_to_unsigned (digits, 10, 1, G_MAXUINT, &n, NULL)
      || n * unit > MAX_RETRY_INTERVAL_SECONDS)
    return FALSE;
  *seconds = (guint) n * unit;
  return TRUE;
}

static gboolean
get_retry_intervals (Parser *p, GArray *intervals)
{
  g_autofree char *value = get_string (p, GENERAL_GROUP, "retry-intervals");
  g_auto (GStrv) parts = g_strsplit_set (value != NULL ? value : DEFAULT_RETRIES, ";, ", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint seconds;

      if (*parts[i] == '\0')
        continue;
      if (!parse_interval (parts[i], &seconds))
        return parser_fail (p, GENERAL_GROUP, "retry-intervals",
                            "expected intervals of at most a week separated by “;”, in minutes "
                            "or with a unit (30s, 5m, 2h), such as 1;2;5;10;30;60, got “%s”",
                            value);
      g_array_append_val (intervals, seconds);
    }

  if (intervals->len == 0)
    return parser_fail (p, GENERAL_GROUP, "retry-intervals",
                        "expected at least one interval, such as 1;2;5;10;30;60");
  return TRUE;
}

static gboolean
parse_general (Parser *p)
{
  FerryConfig *self = p->config;
  int send_after_queue;
  guint64 keep_sent, timeout, parallel, sync_interval;

  if (!g_key_file_has_group (p->key_file, GENERAL_GROUP))
    return get_retry_intervals (p, self->retry_intervals);

  if (!check_known_keys (p, GENERAL_GROUP, general_keys))
    return FALSE;

  self->default_account = get_string (p, GENERAL_GROUP, "default-account");

  if (!get_enum (p, GENERAL_GROUP, "send-after-queue", send_after_queue_choices,
                 FERRY_SEND_AFTER_QUEUE_ENGINE, &send_after_queue)
      || !get_size (p, GENERAL_GROUP, "max-message-size", DEFAULT_MAX_SIZE, &self->max_message_size)
      || !get_uint (p, GENERAL_GROUP, "keep-sent", 0, 3650, DEFAULT_KEEP_SENT, &keep_sent)
      || !get_uint (p, GENERAL_GROUP, "timeout", 1, 3600, DEFAULT_TIMEOUT, &timeout)
      || !get_uint (p, GENERAL_GROUP, "max-parallel-accounts", 1, 64, 2, &parallel)
      || !get_uint (p, GENERAL_GROUP, "sync-interval", 0, 24 * 60, DEFAULT_SYNC_INTERVAL,
                    &sync_interval)
      || !get_retry_intervals (p, self->retry_intervals))
    return FALSE;

  self->send_after_queue = send_after_queue;
  self->keep_sent_days = (guint) keep_sent;
  self->timeout_seconds = (guint) timeout;
  self->max_parallel_accounts = (guint) parallel;
  self->sync_interval_minutes = (guint) sync_interval;
  return TRUE;
}

static void
ferry_account_free (FerryAccount *account)
{
  g_free (account->name);
  g_strfreev (account->addresses);
  g_free (account->maildir);
  g_free (account->imap_host);
  g_free (account->imap_user);
  g_free (account->imap_ca_file);
  g_free (account->imap_tls_fingerprint);
  g_free (account->smtp_host);
  g_free (account->smtp_user);
  g_free (account->smtp_ca_file);
  g_free (account->smtp_tls_fingerprint);
  g_free (account->password_command);
  g_free (account->oauth2_token_command);
  g_free (account->folders);
  g_free (account->strip_prefix);
  g_free (account->trash);
  g_strfreev (account->folder_map);
  g_free (account->inbox);
  g_free (account);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryAccount, ferry_account_free)

static gboolean
is_valid_account_name (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr ("-_.@+", *c) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
get_addresses (Parser *p, const char *group, FerryAccount *account)
{
  g_auto (GStrv) list = g_key_file_get_string_list (p->key_file, group, "addresses", NULL, NULL);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    {
      char *address = g_strstrip (list[i]);

      if (*address == '\0')
        continue;
      if (strchr (address, '@') == NULL || strpbrk (address, " <>\t") != NULL)
        return parser_fail (
            p, group, "addresses",
            "“%s” is not a bare mail address; write me@example.org;alias@example.org", address);
      g_ptr_array_add (addresses, g_strdup (address));
    }
  g_ptr_array_add (addresses, NULL);
  account->addresses = (char **) g_ptr_array_free (g_steal_pointer (&addresses), FALSE);
  return TRUE;
}

static guint16
default_port (FerrySecurity security, guint16 tls, guint16 starttls, guint16 none)
{
  switch (security)
    {
      case FERRY_SECURITY_TLS:
        return tls;
      case FERRY_SECURITY_STARTTLS:
        return starttls;
      case FERRY_SECURITY_NONE:
      default:
        return none;
    }
}

static gboolean
get_path (Parser *p, const char *group, const char *key, char **out)
{
  g_autofree char *value = get_string (p, group, key);

  *out = value != NULL ? ferry_paths_expand_home (value) : NULL;
  return TRUE;
}

static gboolean
parse_servers (Parser *p, const char *group, FerryAccount *a)
{
  int imap_security, smtp_security, imap_compress;

  if (!get_enum (p, group, "imap-security", security_choices, FERRY_SECURITY_TLS, &imap_security)
      || !get_enum (p, group, "smtp-security", security_choices, FERRY_SECURITY_TLS, &smtp_security)
      || !get_enum (p, group, "imap-compress", compress_choices, FERRY_COMPRESS_AUTO,
                    &imap_compress))
    return FALSE;
  a->imap_security = imap_security;
  a->imap_compress = imap_compress;
  a->smtp_security = smtp_security;

  a->imap_host = get_string (p, group, "imap-host");
  a->imap_user = get_string (p, group, "imap-user");
  a->imap_tls_fingerprint = get_string (p, group, "imap-tls-fingerprint");
  a->smtp_host = get_string (p, group, "smtp-host");
  a->smtp_user = get_string (p, group, "smtp-user");
  a->smtp_tls_fingerprint = get_string (p, group, "smtp-tls-fingerprint");

  /* The SMTP login is nearly always the IMAP one, as mbsync and msmtp
   * users write it twice; say it once. */
  if (a->smtp_user == NULL && a->imap_user != NULL)
    a->smtp_user = g_strdup (a->imap_user);

  return get_port (p, group, "imap-port", default_port (a->imap_security, 993, 143, 143),
                   &a->imap_port)
         && get_port (p, group, "smtp-port", default_port (a->smtp_security, 465, 587, 25),
                      &a->smtp_port)
         && get_path (p, group, "imap-ca-file", &a->imap_ca_file)
         && get_path (p, group, "smtp-ca-file", &a->smtp_ca_file);
}

/* "server name = local name; ..." as pairs in one list: server, local,
 * server, local. */
static gboolean
get_folder_map (Parser *p, const char *group, FerryAccount *a)
{
  g_autofree char *value = get_string (p, group, "folder-map");
  g_auto (GStrv) items = NULL;
  g_autoptr (GStrvBuilder) pairs = g_strv_builder_new ();

  if (value == NULL)
    return TRUE;
  items = g_strsplit (value, ";", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      /* Stripped first: g_strstrip() moves the text. */
      char *item = g_strstrip (items[i]);
      char *equals = strrchr (item, '=');
      g_autofree char *far = NULL;

      if (*item == '\0')
        continue;
      if (equals == NULL)
        return parser_fail (p, group, "folder-map",
                            "expected “server name = local name” pairs separated by “;”, got "
                            "“%s”",
                            item);
      far = g_strstrip (g_strndup (item, equals - item));
      g_strstrip (equals + 1);
      if (*far == '\0' || equals[1] == '\0')
        return parser_fail (p, group, "folder-map", "expected “server name = local name”, got “%s”",
                            item);
      g_strv_builder_add (pairs, far);
      g_strv_builder_add (pairs, equals + 1);
    }
  a->folder_map = g_strv_builder_end (pairs);
  return TRUE;
}

static gboolean
parse_sync_policy (Parser *p, const char *group, FerryAccount *a)
{
  int expunge, create, remove, subfolders;
  guint64 max_connections;

  if (!get_enum (p, group, "expunge", side_choices, FERRY_SIDE_BOTH, &expunge)
      || !get_enum (p, group, "create", side_choices, FERRY_SIDE_BOTH, &create)
      || !get_enum (p, group, "remove", side_choices, FERRY_SIDE_NONE, &remove)
      || !get_enum (p, group, "subfolders", subfolders_choices, FERRY_SUBFOLDERS_VERBATIM,
                    &subfolders))
    return FALSE;

  a->expunge = expunge;
  a->create = create;
  a->remove = remove;
  a->subfolders = subfolders;
  a->folders = get_string (p, group, "folders");
  if (a->folders == NULL)
    a->folders = g_strdup ("*");
  a->strip_prefix = get_string (p, group, "strip-prefix");
  a->trash = get_string (p, group, "trash");
  if (!get_folder_map (p, group, a) || !get_size (p, group, "max-size", 0, &a->max_size)
      || !get_uint (p, group, "max-connections", 1, 16, DEFAULT_MAX_CONNECTIONS, &max_connections))
    return FALSE;
  a->max_connections = (guint) max_connections;
  return get_path (p, group, "maildir", &a->maildir) && get_path (p, group, "inbox", &a->inbox);
}

static gboolean
parse_account (Parser *p, const char *group)
{
  const char *name = group + strlen (ACCOUNT_PREFIX);
  g_autoptr (FerryAccount) account = g_new0 (FerryAccount, 1);

  while (*name == ' ')
    name++;
  if (!is_valid_account_name (name))
    return parser_fail (p, group, NULL,
                        "account names use letters, digits and - _ . @ + only, as in "
                        "[account personal]");
  if (ferry_config_lookup_account (p->config, name) != NULL)
    return parser_fail (p, group, NULL, "a second account named “%s”", name);

  account->name = g_strdup (name);

  if (!check_known_keys (p, group, account_keys) || !get_addresses (p, group, account)
      || !parse_servers (p, group, account) || !parse_sync_policy (p, group, account))
    return FALSE;

  account->password_command = get_string (p, group, "password-command");
  account->oauth2_token_command = get_string (p, group, "oauth2-token-command");

  g_ptr_array_add (p->config->accounts, g_steal_pointer (&account));
  return TRUE;
}

static gboolean
parse_groups (Parser *p)
{
  g_auto (GStrv) groups = g_key_file_get_groups (p->key_file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_equal (groups[i], GENERAL_GROUP))
        continue;
      if (!g_str_has_prefix (groups[i], ACCOUNT_PREFIX))
        return parser_fail (p, groups[i], NULL,
                            "unknown group; expected [general] or [account NAME]");
      if (!parse_account (p, groups[i]))
        return FALSE;
    }

  if (p->config->default_account != NULL
      && ferry_config_lookup_account (p->config, p->config->default_account) == NULL)
    return parser_fail (p, GENERAL_GROUP, "default-account", "no [account %s] in this file",
                        p->config->default_account);
  return TRUE;
}

static FerryConfig *
ferry_config_new (const char *path)
{
  FerryConfig *self = g_new0 (FerryConfig, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->send_after_queue = FERRY_SEND_AFTER_QUEUE_ENGINE;
  self->max_message_size = DEFAULT_MAX_SIZE;
  self->keep_sent_days = DEFAULT_KEEP_SENT;
  self->timeout_seconds = DEFAULT_TIMEOUT;
  self->max_parallel_accounts = 2;
  self->sync_interval_minutes = DEFAULT_SYNC_INTERVAL;
  self->retry_intervals = g_array_new (FALSE, FALSE, sizeof (guint));
  self->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) ferry_account_free);
  return self;
}

/* The file says which commands Ferry runs (password-command) and where
 * mail goes: whoever else may change it could run commands as the user.
 * Group write is allowed, for the user private groups of most systems. */
static gboolean
check_owned_by_user (const char *path, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return TRUE; /* reading it will say why */
  if (st.st_uid != getuid () && st.st_uid != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "%s belongs to another user (uid %u), who could make Ferry run commands as "
                   "you; Ferry reads only a configuration of yours",
                   path, (guint) st.st_uid);
      return FALSE;
    }
  if ((st.st_mode & S_IWOTH) != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "%s can be changed by every user of this computer, who could make Ferry run "
                   "commands as you; run `chmod o-w %s`",
                   path, path);
      return FALSE;
    }
  return TRUE;
}

/**
 * ferry_config_load:
 * @path: the configuration file
 * @error: return location for a #GError
 *
 * Reads and checks @path. Every error is %FERRY_ERROR_CONFIG and names the
 * file, the line and the key.
 *
 * Returns: (transfer full): the configuration, or %NULL on error
 */
FerryConfig *
ferry_config_load (const char *path, GError **error)
{
  g_autoptr (FerryConfig) self = NULL;
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize length;
  Parser p;

  g_return_val_if_fail (path != NULL, NULL);

  if (!check_owned_by_user (path, error))
    return NULL;
  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   "Cannot read the configuration: %s; see ferry.conf(5) for how to write one",
                   local_error->message);
      return NULL;
    }

  self = ferry_config_new (path);
  p = (Parser){ self, key_file, error };

  if (!g_utf8_validate (text, (gssize) length, NULL) || memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s: not a UTF-8 text file", path);
      return NULL;
    }

  {
    g_autofree char *scratch = g_strdup (text);
    if (!scan_lines (&p, scratch))
      return NULL;
  }

  if (!g_key_file_load_from_data (key_file, text, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "%s: %s", path, local_error->message);
      return NULL;
    }

  if (!parse_general (&p) || !parse_groups (&p))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * ferry_config_load_default:
 * @error: return location for a #GError
 *
 * Loads the file ferry_paths_config_file() names.
 *
 * Returns: (transfer full): the configuration, or %NULL on error
 */
FerryConfig *
ferry_config_load_default (GError **error)
{
  g_autofree char *path = ferry_paths_config_file ();

  return ferry_config_load (path, error);
}

FerryConfig *
ferry_config_ref (FerryConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
ferry_config_unref (FerryConfig *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->path);
  g_free (self->default_account);
  g_hash_table_unref (self->lines);
  g_array_unref (self->retry_intervals);
  g_ptr_array_unref (self->accounts);
  g_free (self);
}

/**
 * ferry_config_lookup_account:
 * @self: a #FerryConfig
 * @name: an account name
 *
 * Returns: (transfer none) (nullable): the account called @name
 */
const FerryAccount *
ferry_config_lookup_account (FerryConfig *self, const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->accounts->len; i++)
    {
      const FerryAccount *account = g_ptr_array_index (self->accounts, i);
      if (g_str_equal (account->name, name))
        return account;
    }
  return NULL;
}

/**
 * ferry_config_account_for_address:
 * @self: a #FerryConfig
 * @address: a bare mail address
 *
 * Returns: (transfer none) (nullable): the first account whose `addresses`
 *   hold @address, compared without regard to case.
 */
const FerryAccount *
ferry_config_account_for_address (FerryConfig *self, const char *address)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);

  for (guint i = 0; i < self->accounts->len; i++)
    {
      const FerryAccount *account = g_ptr_array_index (self->accounts, i);
      for (guint j = 0; account->addresses[j] != NULL; j++)
        if (g_ascii_strcasecmp (account->addresses[j], address) == 0)
          return account;
    }
  return NULL;
}

/**
 * ferry_config_default_account:
 * @self: a #FerryConfig
 * @error: return location for a #GError
 *
 * Returns: (transfer none) (nullable): `default-account`, else the only
 *   account; %NULL with %FERRY_ERROR_CONFIG when neither decides.
 */
const FerryAccount *
ferry_config_default_account (FerryConfig *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->default_account != NULL)
    return ferry_config_lookup_account (self, self->default_account);
  if (self->accounts->len == 1)
    return g_ptr_array_index (self->accounts, 0);

  if (self->accounts->len == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                 "%s: no [account NAME] group; add one (see ferry.conf(5))", self->path);
  else
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                 "%s: %u accounts and no default-account in [general]; name one", self->path,
                 self->accounts->len);
  return NULL;
}

/**
 * ferry_config_retry_delay_seconds:
 * @self: a #FerryConfig
 * @attempts: how many delivery attempts failed so far (at least 1)
 *
 * Returns: the seconds to wait before the next attempt: `retry-intervals`
 *   in order, its last value repeating.
 */
guint
ferry_config_retry_delay_seconds (FerryConfig *self, guint attempts)
{
  guint index;

  g_return_val_if_fail (self != NULL, 60);

  index = MIN (attempts > 0 ? attempts - 1 : 0, self->retry_intervals->len - 1);
  return g_array_index (self->retry_intervals, guint, index);
}
