/* mail-flags.h: the message flags that IMAP and Maildir both know
 *
 * Each store spells them its own way (IMAP system flags and $Forwarded,
 * RFC 3501 2.3.2 and RFC 5788; Maildir's info letters); the sync engine
 * compares and merges them as these bits.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  FERRY_MAIL_FLAG_SEEN = 1 << 0,      /* \Seen      Maildir S */
  FERRY_MAIL_FLAG_ANSWERED = 1 << 1,  /* \Answered  Maildir R (replied) */
  FERRY_MAIL_FLAG_FLAGGED = 1 << 2,   /* \Flagged   Maildir F */
  FERRY_MAIL_FLAG_DELETED = 1 << 3,   /* \Deleted   Maildir T (trashed) */
  FERRY_MAIL_FLAG_DRAFT = 1 << 4,     /* \Draft     Maildir D */
  FERRY_MAIL_FLAG_FORWARDED = 1 << 5, /* $Forwarded Maildir P (passed) */
} FerryMailFlags;

#define FERRY_MAIL_FLAGS_ALL 0x3f

G_END_DECLS
