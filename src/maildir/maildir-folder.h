/* maildir-folder.h: one Maildir folder on disk (cur/, new/, tmp/)
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/mail-flags.h"
#include "maildir/maildir-watch.h"

G_BEGIN_DECLS

typedef struct
{
  char *unique;         /* the name up to the info separator: the message's identity */
  char *filename;       /* the current file name, without directory */
  gboolean in_new;      /* in new/ (not yet seen by a mail reader), else in cur/ */
  FerryMailFlags flags; /* from the "2," info; 0 without it */
  char *extra_flags;    /* other info letters, kept on rewrites; "" for none */
} FerryMaildirMessage;

typedef struct _FerryMaildirFolder FerryMaildirFolder;
typedef struct _FerryMaildirDelivery FerryMaildirDelivery;

void ferry_maildir_message_free (FerryMaildirMessage *message);

FerryMaildirFolder *ferry_maildir_folder_open (const char *path, gboolean create, GError **error);
FerryMaildirFolder *ferry_maildir_folder_ref (FerryMaildirFolder *self);
void ferry_maildir_folder_unref (FerryMaildirFolder *self);
const char *ferry_maildir_folder_get_path (FerryMaildirFolder *self);
void ferry_maildir_folder_set_watch (FerryMaildirFolder *self, FerryMaildirWatch *watch);

GPtrArray *ferry_maildir_folder_scan (FerryMaildirFolder *self, GError **error);
FerryMaildirMessage *
ferry_maildir_folder_find (FerryMaildirFolder *self, const char *unique, GError **error);
gboolean ferry_maildir_folder_move_message (FerryMaildirFolder *self,
                                            const FerryMaildirMessage *message,
                                            FerryMaildirFolder *target,
                                            GError **error);
char *ferry_maildir_folder_set_flags (FerryMaildirFolder *self,
                                      const char *unique,
                                      const char *known_filename,
                                      FerryMailFlags flags,
                                      GError **error);
char *ferry_maildir_folder_change_flags (FerryMaildirFolder *self,
                                         const char *unique,
                                         const char *known_filename,
                                         FerryMailFlags add,
                                         FerryMailFlags remove,
                                         GError **error);
gboolean ferry_maildir_folder_remove (FerryMaildirFolder *self,
                                      const char *unique,
                                      const char *known_filename,
                                      GError **error);
int ferry_maildir_folder_open_message (FerryMaildirFolder *self,
                                       const char *unique,
                                       const char *known_filename,
                                       guint64 *size,
                                       GError **error);
GBytes *ferry_maildir_folder_load_message (FerryMaildirFolder *self,
                                           const char *unique,
                                           const char *known_filename,
                                           GError **error);
gboolean ferry_maildir_folder_sync_dirs (FerryMaildirFolder *self, GError **error);
gboolean
ferry_maildir_folder_clean_tmp (FerryMaildirFolder *self, guint *n_removed, GError **error);

FerryMaildirDelivery *ferry_maildir_folder_begin_delivery (FerryMaildirFolder *self,
                                                           GError **error);
const char *ferry_maildir_delivery_get_unique (FerryMaildirDelivery *self);
int ferry_maildir_delivery_get_fd (FerryMaildirDelivery *self);
gboolean ferry_maildir_delivery_write (FerryMaildirDelivery *self,
                                       const void *data,
                                       gsize len,
                                       GError **error);
gboolean ferry_maildir_delivery_finish_tmp (FerryMaildirDelivery *self, GError **error);
gboolean ferry_maildir_deliveries_finish_tmp (FerryMaildirDelivery *const *deliveries,
                                              guint n,
                                              GError **error);
char *
ferry_maildir_delivery_commit (FerryMaildirDelivery *self, FerryMailFlags flags, GError **error);
void ferry_maildir_delivery_abort (FerryMaildirDelivery *self);
void ferry_maildir_delivery_free (FerryMaildirDelivery *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryMaildirMessage, ferry_maildir_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryMaildirFolder, ferry_maildir_folder_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryMaildirDelivery, ferry_maildir_delivery_free)

G_END_DECLS
