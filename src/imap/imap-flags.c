/* imap-flags.c: IMAP message flags and keywords <-> FerryMailFlags
 *
 * The system flags of RFC 3501 section 2.3.2 and $Forwarded (RFC 5788)
 * become FerryMailFlags; \Recent is session state, not a flag a store
 * keeps, and is dropped; other flags without a backslash are keywords.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include <string.h>

#include "imap/imap-flags.h"

static const struct
{
  FerryMailFlags flag;
  const char *name;
} flag_names[] = {
  { FERRY_MAIL_FLAG_SEEN, "\\Seen" },       { FERRY_MAIL_FLAG_ANSWERED, "\\Answered" },
  { FERRY_MAIL_FLAG_FLAGGED, "\\Flagged" }, { FERRY_MAIL_FLAG_DELETED, "\\Deleted" },
  { FERRY_MAIL_FLAG_DRAFT, "\\Draft" },     { FERRY_MAIL_FLAG_FORWARDED, "$Forwarded" },
};

static FerryMailFlags
flag_from_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (flag_names); i++)
    if (g_ascii_strcasecmp (name, flag_names[i].name) == 0)
      return flag_names[i].flag;
  return 0;
}

/**
 * ferry_imap_flags_parse:
 * @list: (nullable): a flag list such as the value of FETCH FLAGS
 * @keywords: (out) (optional) (transfer full): the keywords in @list, or
 *   %NULL when there are none
 *
 * Returns: the flags in @list that FerryMailFlags knows
 */
FerryMailFlags
ferry_imap_flags_parse (const FerryImapValue *list, char ***keywords)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  FerryMailFlags flags = 0;

  for (guint i = 0; i < ferry_imap_value_n_items (list); i++)
    {
      const FerryImapValue *item = ferry_imap_value_get_item (list, i);
      const char *name = item->type == FERRY_IMAP_VALUE_ATOM ? item->text : NULL;
      FerryMailFlags flag;

      if (name == NULL)
        continue;
      flag = flag_from_name (name);
      if (flag != 0)
        flags |= flag;
      else if (name[0] != '\\' && ferry_imap_keyword_is_valid (name))
        g_ptr_array_add (found, g_strdup (name));
    }
  if (keywords != NULL)
    {
      *keywords = NULL;
      if (found->len > 0)
        {
          g_ptr_array_add (found, NULL);
          *keywords = (char **) g_ptr_array_free (g_steal_pointer (&found), FALSE);
        }
    }
  return flags;
}

/**
 * ferry_imap_flags_format:
 * @flags: flags
 * @keywords: (nullable): keywords, each valid (ferry_imap_keyword_is_valid())
 *
 * Returns: (transfer full): the flags as a command writes them inside
 *   parentheses: "\Seen \Flagged $Forwarded work"
 */
char *
ferry_imap_flags_format (FerryMailFlags flags, const char *const *keywords)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (flag_names); i++)
    if (flags & flag_names[i].flag)
      g_string_append_printf (text, "%s%s", text->len > 0 ? " " : "", flag_names[i].name);
  for (guint i = 0; keywords != NULL && keywords[i] != NULL; i++)
    {
      g_return_val_if_fail (ferry_imap_keyword_is_valid (keywords[i]), g_string_free (text, FALSE));
      g_string_append_printf (text, "%s%s", text->len > 0 ? " " : "", keywords[i]);
    }
  return g_string_free (text, FALSE);
}

/**
 * ferry_imap_keyword_is_valid:
 * @keyword: a keyword
 *
 * Returns: whether @keyword can be stored as an IMAP keyword: an atom
 *   (RFC 3501 section 9) that is not a flag FerryMailFlags names
 */
gboolean
ferry_imap_keyword_is_valid (const char *keyword)
{
  g_return_val_if_fail (keyword != NULL, FALSE);

  if (*keyword == '\0' || flag_from_name (keyword) != 0)
    return FALSE;
  for (const char *c = keyword; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f || strchr ("(){%*\"\\]", *c) != NULL)
      return FALSE;
  return TRUE;
}
