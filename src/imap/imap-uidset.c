/* imap-uidset.c: UID sets ("1:3,7,9:12") in commands and response codes
 *
 * RFC 3501 section 9 (sequence-set) and RFC 4315 section 4 (uid-set). A
 * server's sets are expanded only up to a bound the caller gives, since
 * "1:4294967295" is a short string for four billion UIDs.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "imap/imap-uidset.h"

/* "4294967295:4294967295," */
#define MAX_RANGE_LENGTH 22

static int
compare_uids (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

static void
append_range (GString *set, guint32 first, guint32 last)
{
  if (set->len > 0)
    g_string_append_c (set, ',');
  if (first == last)
    g_string_append_printf (set, "%u", first);
  else
    g_string_append_printf (set, "%u:%u", first, last);
}

/**
 * ferry_imap_uid_set_format:
 * @uids: UIDs, in any order, duplicates allowed, none 0
 * @n_uids: how many
 * @max_length: the longest set to make, at least 21 bytes
 *
 * Returns: (transfer full) (element-type utf8): the UIDs as sets of
 *   ranges, "1:3,7", ascending, each at most @max_length bytes long;
 *   empty when @n_uids is 0
 */
GPtrArray *
ferry_imap_uid_set_format (const guint32 *uids, gsize n_uids, gsize max_length)
{
  g_autofree guint32 *sorted = NULL;
  GPtrArray *sets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) set = g_string_new (NULL);
  gsize i = 0;

  g_return_val_if_fail (uids != NULL || n_uids == 0, sets);
  g_return_val_if_fail (max_length >= MAX_RANGE_LENGTH - 1, sets);

  sorted = g_memdup2 (uids, n_uids * sizeof *uids);
  if (n_uids > 0)
    qsort (sorted, n_uids, sizeof *sorted, compare_uids);
  while (i < n_uids)
    {
      guint32 first = sorted[i];
      guint32 last = first;

      g_return_val_if_fail (first != 0, sets);
      while (i < n_uids && (sorted[i] == last || sorted[i] == last + 1))
        last = sorted[i++];
      if (set->len + MAX_RANGE_LENGTH > max_length && set->len > 0)
        {
          g_ptr_array_add (sets, g_strdup (set->str));
          g_string_truncate (set, 0);
        }
      append_range (set, first, last);
    }
  if (set->len > 0)
    g_ptr_array_add (sets, g_strdup (set->str));
  return sets;
}

static gboolean
parse_uid (const char *text, const char **end, guint32 *out)
{
  char *after = NULL;
  guint64 value;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  value = g_ascii_strtoull (text, &after, 10);
  if (value == 0 || value > G_MAXUINT32)
    return FALSE;
  *end = after;
  *out = (guint32) value;
  return TRUE;
}

static void
set_invalid (GError **error, const char *set, const char *problem)
{
  g_autofree char *shown = g_utf8_make_valid (set, MIN (strlen (set), 60));

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL, "The UID set “%s” %s", shown, problem);
}

/* The ranges of @set in the order it writes them, each ascending ("9:7"
 * is 7 to 9, as RFC 3501 section 9 says). */
static GArray *
parse_ranges (const char *set, GError **error)
{
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (FerryImapUidRange));
  const char *p = set;

  for (;;)
    {
      FerryImapUidRange range;

      if (!parse_uid (p, &p, &range.first))
        break;
      range.last = range.first;
      if (*p == ':' && !parse_uid (p + 1, &p, &range.last))
        break;
      if (range.first > range.last)
        {
          guint32 swap = range.first;

          range.first = range.last;
          range.last = swap;
        }
      g_array_append_val (ranges, range);
      if (*p == '\0')
        return g_steal_pointer (&ranges);
      if (*p++ != ',')
        break;
    }
  set_invalid (error, set, "is not a set of UIDs");
  return NULL;
}

/**
 * ferry_imap_uid_set_parse:
 * @set: a UID set from the server, such as "4,7:9"
 * @max_count: the most UIDs it may stand for
 * @error: a FERRY_ERROR_PROTOCOL error when @set is not a UID set or is
 *   larger than @max_count
 *
 * Returns: (transfer full) (nullable) (element-type guint32): the UIDs in
 *   the order @set writes them, each range ascending
 */
GArray *
ferry_imap_uid_set_parse (const char *set, gsize max_count, GError **error)
{
  g_autoptr (GArray) ranges = NULL;
  g_autoptr (GArray) uids = NULL;

  g_return_val_if_fail (set != NULL, NULL);

  ranges = parse_ranges (set, error);
  if (ranges == NULL)
    return NULL;
  if (ferry_imap_uid_ranges_count (ranges) > max_count)
    {
      set_invalid (error, set, "holds more UIDs than there can be");
      return NULL;
    }
  uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < ranges->len; i++)
    {
      const FerryImapUidRange *range = &g_array_index (ranges, FerryImapUidRange, i);

      for (guint64 uid = range->first; uid <= range->last; uid++)
        {
          guint32 value = (guint32) uid;

          g_array_append_val (uids, value);
        }
    }
  return g_steal_pointer (&uids);
}

static int
compare_ranges (gconstpointer a, gconstpointer b)
{
  const FerryImapUidRange *x = a;
  const FerryImapUidRange *y = b;

  return x->first < y->first ? -1 : x->first > y->first;
}

/**
 * ferry_imap_uid_set_parse_ranges:
 * @set: a UID set from the server, such as "4,7:9"
 * @error: a FERRY_ERROR_PROTOCOL error when @set is not a UID set
 *
 * Reads a set without expanding it, so that any set takes little memory.
 *
 * Returns: (transfer full) (nullable) (element-type FerryImapUidRange):
 *   the ranges of @set, ascending, overlapping ones merged
 */
GArray *
ferry_imap_uid_set_parse_ranges (const char *set, GError **error)
{
  g_autoptr (GArray) ranges = NULL;
  guint merged = 0;

  g_return_val_if_fail (set != NULL, NULL);

  ranges = parse_ranges (set, error);
  if (ranges == NULL)
    return NULL;
  g_array_sort (ranges, compare_ranges);
  for (guint i = 1; i < ranges->len; i++)
    {
      FerryImapUidRange *last = &g_array_index (ranges, FerryImapUidRange, merged);
      const FerryImapUidRange *next = &g_array_index (ranges, FerryImapUidRange, i);

      if ((guint64) next->first <= (guint64) last->last + 1)
        last->last = MAX (last->last, next->last);
      else
        g_array_index (ranges, FerryImapUidRange, ++merged) = *next;
    }
  g_array_set_size (ranges, merged + 1);
  return g_steal_pointer (&ranges);
}

/**
 * ferry_imap_uid_ranges_contain:
 * @ranges: (element-type FerryImapUidRange): from ferry_imap_uid_set_parse_ranges()
 * @uid: a UID
 *
 * Returns: whether @uid is in @ranges
 */
gboolean
ferry_imap_uid_ranges_contain (GArray *ranges, guint32 uid)
{
  guint low = 0, high = ranges->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      const FerryImapUidRange *range = &g_array_index (ranges, FerryImapUidRange, middle);

      if (uid < range->first)
        high = middle;
      else if (uid > range->last)
        low = middle + 1;
      else
        return TRUE;
    }
  return FALSE;
}

/**
 * ferry_imap_uid_ranges_count:
 * @ranges: (element-type FerryImapUidRange): ranges, merged or not
 *
 * Returns: how many UIDs @ranges stand for (counted twice where they
 *   overlap)
 */
guint64
ferry_imap_uid_ranges_count (GArray *ranges)
{
  guint64 count = 0;

  for (guint i = 0; i < ranges->len; i++)
    {
      const FerryImapUidRange *range = &g_array_index (ranges, FerryImapUidRange, i);

      count += (guint64) range->last - range->first + 1;
    }
  return count;
}
