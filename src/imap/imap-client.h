/* imap-client.h: Ferry's IMAP4rev1 client, one connection, blocking calls
 *
 * Made for GTask worker threads: each call sends its commands and returns
 * when the server has answered them, or when the connection's timeout or
 * the GCancellable ends the wait. One client serves one thread at a time.
 *
 * Errors (FERRY_ERROR unless cancelled):
 *   TEMP_FAIL    network trouble, no answer within the timeout, the server
 *                closed the connection ("server closed the connection: ..."
 *                after a BYE); try again later
 *   NO_PERM      the server refused the login (its text is in the message),
 *                or its certificate is not trusted
 *   CONFIG       a malformed imap-tls-fingerprint, an unusable
 *                imap-ca-file, no usable login method
 *   UNAVAILABLE  STARTTLS required but not offered or refused; no TLS backend
 *   NO_HOST      the host name does not resolve
 *   NOT_FOUND    no such mailbox (NONEXISTENT, TRYCREATE) or message
 *   PROTOCOL     the server said BAD, or NO without a response code that
 *                says more (Dovecot's NO to SELECT of a missing mailbox),
 *                or sent something that is not IMAP
 *   DATA         a mailbox name or keyword that IMAP cannot carry
 *   IO           a local file descriptor failed (G_IO_ERROR when writing
 *                a message to one fails, G_IO_ERROR_NO_SPACE for a full disk)
 *   G_IO_ERROR_CANCELLED when the GCancellable was cancelled.
 * After a TEMP_FAIL, PROTOCOL error from the connection itself, or a
 * cancellation, the client is unusable (ferry_imap_client_is_usable());
 * a NO or BAD to one command leaves it usable.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/mail-flags.h"
#include "imap/imap-connection.h"

G_BEGIN_DECLS

typedef struct _FerryImapClient FerryImapClient;

/* LIST attributes: RFC 3501 7.2.2, RFC 5258 (LIST-EXTENDED), RFC 6154
 * (SPECIAL-USE). */
typedef enum
{
  FERRY_IMAP_MAILBOX_NOSELECT = 1 << 0,     /* \Noselect, also set for \NonExistent */
  FERRY_IMAP_MAILBOX_NONEXISTENT = 1 << 1,  /* \NonExistent */
  FERRY_IMAP_MAILBOX_NOINFERIORS = 1 << 2,  /* \Noinferiors */
  FERRY_IMAP_MAILBOX_HAS_CHILDREN = 1 << 3, /* \HasChildren */
  FERRY_IMAP_MAILBOX_HAS_NO_CHILDREN = 1 << 4,
  FERRY_IMAP_MAILBOX_MARKED = 1 << 5,
  FERRY_IMAP_MAILBOX_UNMARKED = 1 << 6,
  FERRY_IMAP_MAILBOX_ALL = 1 << 7, /* special use: \All */
  FERRY_IMAP_MAILBOX_ARCHIVE = 1 << 8,
  FERRY_IMAP_MAILBOX_DRAFTS = 1 << 9,
  FERRY_IMAP_MAILBOX_FLAGGED = 1 << 10,
  FERRY_IMAP_MAILBOX_JUNK = 1 << 11,
  FERRY_IMAP_MAILBOX_SENT = 1 << 12,
  FERRY_IMAP_MAILBOX_TRASH = 1 << 13,
} FerryImapMailboxAttributes;

/* What STATUS reported; 0 for what the server did not say. */
typedef struct
{
  guint32 messages;
  guint32 uidnext;
  guint32 uidvalidity;
  guint64 highestmodseq; /* only asked for with CONDSTORE */
} FerryImapStatusInfo;

typedef struct
{
  char *name;           /* UTF-8; "INBOX" in that case; NULL when invalid_reason is set */
  char *encoded_name;   /* as the server spells it (modified UTF-7) */
  char *invalid_reason; /* why encoded_name does not decode, or NULL; such a mailbox
                         * cannot be used through this client */
  char delimiter;       /* hierarchy delimiter, or '\0' for none (NIL) */
  FerryImapMailboxAttributes attributes;
  FerryImapStatusInfo *status; /* with FERRY_IMAP_LIST_STATUS from a server with
                                * LIST-STATUS, for a selectable mailbox; else NULL */
} FerryImapMailbox;

typedef enum
{
  FERRY_IMAP_LIST_STATUS = 1 << 0, /* also STATUS of each, where LIST-STATUS allows */
} FerryImapListOptions;

/* A LIST sent, its answer not read yet. */
typedef struct _FerryImapListing FerryImapListing;
typedef struct _FerryImapChanges FerryImapChanges;
typedef struct _FerryImapBodies FerryImapBodies;

/* What SELECT or EXAMINE reported. */
typedef struct
{
  guint32 uidvalidity;
  guint32 uidnext;                /* 0 when the server did not say */
  guint32 exists;                 /* number of messages */
  guint64 highestmodseq;          /* 0 without CONDSTORE, or with [NOMODSEQ] */
  FerryMailFlags permanent_flags; /* the flags that can be stored */
  gboolean keywords_allowed;      /* PERMANENTFLAGS has \*: new keywords can be stored */
  gboolean read_only;             /* EXAMINE, or [READ-ONLY] */
} FerryImapMailboxInfo;

typedef enum
{
  FERRY_IMAP_FETCH_MESSAGE_ID = 1 << 0, /* also fetch the Message-ID header */
} FerryImapFetchOptions;

typedef struct
{
  guint32 uid;
  FerryMailFlags flags;
  char **keywords;  /* other flags (not \Recent), or NULL for none */
  guint64 size;     /* RFC822.SIZE */
  char *message_id; /* "<id@host>" as in the header, unfolded; NULL when there is
                     * none, it was not asked for, or it is absurdly long */
  guint64 modseq;   /* 0 without CONDSTORE */
} FerryImapMessageInfo;

typedef enum
{
  FERRY_IMAP_STORE_ADD,    /* +FLAGS.SILENT */
  FERRY_IMAP_STORE_REMOVE, /* -FLAGS.SILENT */
} FerryImapStoreAction;

typedef struct
{
  const guint32 *uids;
  gsize n_uids;
  FerryImapStoreAction action;
  FerryMailFlags flags;
  const char *const *keywords; /* nullable */
} FerryImapStoreRequest;

typedef struct
{
  guint32 uidvalidity;    /* from [APPENDUID] with UIDPLUS, else 0 */
  guint32 uid;            /* the new message's UID from [APPENDUID], else 0 */
  guint32 uidnext_before; /* without UIDPLUS: UIDNEXT just before the APPEND, so that
                           * the message is at or above it; else 0 */
} FerryImapAppendResult;

/* One message for ferry_imap_client_append_many(). */
typedef struct
{
  int fd;       /* the message, read from its current offset */
  guint64 size; /* its size in bytes */
  FerryMailFlags flags;
  const char *const *keywords; /* nullable */
  GDateTime *internal_date;    /* nullable: the server uses the present time */
} FerryImapAppendMessage;

/* What COPY or MOVE reported in [COPYUID] (UIDPLUS). */
typedef struct
{
  guint32 uidvalidity; /* of the destination; 0 when the server did not say */
  GArray *source_uids; /* guint32 */
  GArray *dest_uids;   /* guint32: dest_uids[i] is the new UID of source_uids[i] */
} FerryImapCopyResult;

/* Gives the file descriptor a message body is written to. */
typedef int (*FerryImapBodyOpenFunc) (guint32 uid, gpointer user_data, GError **error);

/* Called once for every descriptor FerryImapBodyOpenFunc gave: @complete
 * says whether all @size bytes of the message were written. When it is
 * FALSE the fetch failed, and the return value and @error are ignored. */
typedef gboolean (*FerryImapBodyCloseFunc) (
    guint32 uid, int fd, guint64 size, gboolean complete, gpointer user_data, GError **error);

FerryImapClient *ferry_imap_client_connect (const FerryImapSettings *settings,
                                            GCancellable *cancellable,
                                            GError **error);
FerryImapClient *ferry_imap_client_ref (FerryImapClient *self);
void ferry_imap_client_unref (FerryImapClient *self);

gboolean ferry_imap_client_is_usable (FerryImapClient *self);
gboolean ferry_imap_client_is_authenticated (FerryImapClient *self);
gboolean ferry_imap_client_has_capability (FerryImapClient *self, const char *capability);
const char *const *ferry_imap_client_get_capabilities (FerryImapClient *self);
gboolean ferry_imap_client_is_enabled (FerryImapClient *self, const char *extension);
const char *ferry_imap_client_get_selected (FerryImapClient *self);
guint32 ferry_imap_client_get_exists (FerryImapClient *self);

gboolean
ferry_imap_client_capability (FerryImapClient *self, GCancellable *cancellable, GError **error);
gboolean ferry_imap_client_login (FerryImapClient *self,
                                  const char *password,
                                  GCancellable *cancellable,
                                  GError **error);
gboolean ferry_imap_client_login_begin (FerryImapClient *self,
                                        const char *password,
                                        const char *const *expected_capabilities,
                                        GCancellable *cancellable,
                                        GError **error);
gboolean ferry_imap_client_login_finish (FerryImapClient *self,
                                         gboolean *as_expected,
                                         GCancellable *cancellable,
                                         GError **error);
gboolean ferry_imap_client_login_xoauth2 (FerryImapClient *self,
                                          const char *token,
                                          GCancellable *cancellable,
                                          GError **error);
gboolean ferry_imap_client_is_loopback (FerryImapClient *self);
gboolean
ferry_imap_client_compress (FerryImapClient *self, GCancellable *cancellable, GError **error);
gboolean ferry_imap_client_enable (FerryImapClient *self,
                                   const char *const *extensions,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean
ferry_imap_client_logout (FerryImapClient *self, GCancellable *cancellable, GError **error);

FerryImapListing *ferry_imap_client_list_begin (FerryImapClient *self,
                                                FerryImapListOptions options,
                                                GCancellable *cancellable,
                                                GError **error);
GPtrArray *ferry_imap_client_list_finish (FerryImapClient *self,
                                          FerryImapListing *listing,
                                          GCancellable *cancellable,
                                          GError **error);
void ferry_imap_listing_free (FerryImapListing *listing);
GPtrArray *ferry_imap_client_list (FerryImapClient *self,
                                   FerryImapListOptions options,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean ferry_imap_client_select (FerryImapClient *self,
                                   const char *mailbox,
                                   gboolean read_only,
                                   FerryImapMailboxInfo *info,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean ferry_imap_client_select_with_changes (FerryImapClient *self,
                                                const char *mailbox,
                                                guint64 since_modseq,
                                                guint32 new_from_uid,
                                                FerryImapMailboxInfo *info,
                                                FerryImapChanges **changes,
                                                GCancellable *cancellable,
                                                GError **error);
gboolean ferry_imap_client_status (FerryImapClient *self,
                                   const char *mailbox,
                                   FerryImapStatusInfo *info,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean ferry_imap_client_create (FerryImapClient *self,
                                   const char *mailbox,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean ferry_imap_client_delete (FerryImapClient *self,
                                   const char *mailbox,
                                   GCancellable *cancellable,
                                   GError **error);

GPtrArray *ferry_imap_client_fetch_info (FerryImapClient *self,
                                         const guint32 *uids,
                                         gsize n_uids,
                                         FerryImapFetchOptions options,
                                         GCancellable *cancellable,
                                         GError **error);
GPtrArray *ferry_imap_client_fetch_info_range (FerryImapClient *self,
                                               guint32 first_uid,
                                               guint32 last_uid,
                                               FerryImapFetchOptions options,
                                               guint64 changed_since,
                                               GCancellable *cancellable,
                                               GError **error);
FerryImapChanges *ferry_imap_client_fetch_changes_begin (FerryImapClient *self,
                                                         guint64 since_modseq,
                                                         guint32 new_from_uid,
                                                         GCancellable *cancellable,
                                                         GError **error);
gboolean ferry_imap_client_fetch_changes_finish (FerryImapClient *self,
                                                 FerryImapChanges *changes,
                                                 const guint32 *known,
                                                 gsize n_known,
                                                 GPtrArray **changed,
                                                 GArray **vanished,
                                                 GCancellable *cancellable,
                                                 GError **error);
void ferry_imap_changes_free (FerryImapChanges *changes);
gboolean ferry_imap_client_fetch_changes (FerryImapClient *self,
                                          guint64 since_modseq,
                                          const guint32 *known,
                                          gsize n_known,
                                          GPtrArray **changed,
                                          GArray **vanished,
                                          GCancellable *cancellable,
                                          GError **error);
gboolean ferry_imap_client_fetch_body (FerryImapClient *self,
                                       guint32 uid,
                                       int fd,
                                       guint64 *size,
                                       GCancellable *cancellable,
                                       GError **error);
FerryImapBodies *ferry_imap_client_fetch_bodies_begin (FerryImapClient *self,
                                                       const guint32 *uids,
                                                       gsize n_uids,
                                                       FerryImapBodyOpenFunc open_func,
                                                       FerryImapBodyCloseFunc close_func,
                                                       gpointer user_data,
                                                       GCancellable *cancellable,
                                                       GError **error);
gboolean ferry_imap_client_fetch_bodies_finish (FerryImapClient *self,
                                                FerryImapBodies *bodies,
                                                GCancellable *cancellable,
                                                GError **error);
void ferry_imap_bodies_free (FerryImapBodies *bodies);
gboolean ferry_imap_client_fetch_bodies (FerryImapClient *self,
                                         const guint32 *uids,
                                         gsize n_uids,
                                         FerryImapBodyOpenFunc open_func,
                                         FerryImapBodyCloseFunc close_func,
                                         gpointer user_data,
                                         GCancellable *cancellable,
                                         GError **error);
gboolean ferry_imap_client_store (FerryImapClient *self,
                                  const FerryImapStoreRequest *requests,
                                  gsize n_requests,
                                  GCancellable *cancellable,
                                  GError **error);
gboolean ferry_imap_client_append (FerryImapClient *self,
                                   const char *mailbox,
                                   int fd,
                                   guint64 size,
                                   FerryMailFlags flags,
                                   const char *const *keywords,
                                   GDateTime *internal_date,
                                   FerryImapAppendResult *result,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean ferry_imap_client_append_many (FerryImapClient *self,
                                        const char *mailbox,
                                        const FerryImapAppendMessage *messages,
                                        gsize n_messages,
                                        FerryImapAppendResult *results,
                                        gsize *n_appended,
                                        GCancellable *cancellable,
                                        GError **error);
GArray *ferry_imap_client_search_message_id (FerryImapClient *self,
                                             const char *message_id,
                                             guint32 first_uid,
                                             GCancellable *cancellable,
                                             GError **error);
gboolean ferry_imap_client_expunge (FerryImapClient *self,
                                    const guint32 *uids,
                                    gsize n_uids,
                                    GCancellable *cancellable,
                                    GError **error);
FerryImapCopyResult *ferry_imap_client_copy (FerryImapClient *self,
                                             const guint32 *uids,
                                             gsize n_uids,
                                             const char *mailbox,
                                             GCancellable *cancellable,
                                             GError **error);
FerryImapCopyResult *ferry_imap_client_move (FerryImapClient *self,
                                             const guint32 *uids,
                                             gsize n_uids,
                                             const char *mailbox,
                                             GCancellable *cancellable,
                                             GError **error);

void ferry_imap_mailbox_free (FerryImapMailbox *mailbox);
void ferry_imap_message_info_free (FerryImapMessageInfo *info);
void ferry_imap_copy_result_free (FerryImapCopyResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapClient, ferry_imap_client_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapMailbox, ferry_imap_mailbox_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapListing, ferry_imap_listing_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapChanges, ferry_imap_changes_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapBodies, ferry_imap_bodies_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapMessageInfo, ferry_imap_message_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapCopyResult, ferry_imap_copy_result_free)

G_END_DECLS
