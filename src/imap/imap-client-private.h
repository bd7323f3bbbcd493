/* imap-client-private.h: the command engine the client's files share
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "imap/imap-client.h"

G_BEGIN_DECLS

/* Commands in flight at once in a pipeline (RFC 3501 5.5); few enough
 * that their lines fit the socket buffers while the server answers. */
#define FERRY_IMAP_PIPELINE_DEPTH 8

/* Gets untagged responses (returns whether it took one, so that others do
 * not) and its own command's tagged response (return value ignored). */
typedef gboolean (*FerryImapResponseFunc) (FerryImapClient *client,
                                           const FerryImapResponse *response,
                                           gpointer user_data);

/* Gets every literal while its command is in flight; returns whether it
 * streamed it with ferry_imap_parser_stream_literal(). */
typedef gboolean (*FerryImapLiteralClaimFunc) (FerryImapClient *client,
                                               FerryImapParser *parser,
                                               gpointer user_data);

typedef struct
{
  char *tag;
  char *what; /* for messages: "SELECT “Entwürfe”" */
  FerryImapResponseFunc on_response;
  FerryImapLiteralClaimFunc on_literal;
  gpointer user_data;
  const char *continuation_reply; /* answers a "+" after the command was sent (SASL) */
  gboolean awaiting_continuation;
  gboolean got_continuation;
  FerryImapResponse *response; /* the tagged response, once it came */
  gboolean fence;              /* see ferry_imap_client_fence() */
  /* A body FETCH whose handler takes only the bodies it asked for: it
   * may go out past the fences of others like it. */
  gboolean own_bodies_only;
} FerryImapCommand;

typedef enum
{
  FERRY_IMAP_PART_TEXT,    /* data, length: part of the command line */
  FERRY_IMAP_PART_LITERAL, /* data, length: sent as a literal */
  FERRY_IMAP_PART_FD,      /* fd, length: sent as a literal from the descriptor */
} FerryImapPartType;

typedef struct
{
  FerryImapPartType type;
  const char *data;
  gsize length;
  int fd;
} FerryImapPart;

struct _FerryImapClient
{
  gatomicrefcount ref_count;
  FerryImapConnection *connection;
  char *host;
  char *user;
  GError *broken; /* why the connection cannot be used any more */

  guint next_tag;
  GQueue in_flight;                   /* FerryImapCommand, borrowed, oldest first */
  FerryImapCommand *continuation_for; /* the command a "+" would be for */

  GPtrArray *capabilities; /* upper case, NULL-terminated */
  gboolean capabilities_fresh;
  GHashTable *enabled;           /* upper case */
  FerryImapCommand *enabling;    /* an ENABLE not answered yet, owned */
  FerryImapCommand *compressing; /* a COMPRESS not answered yet, owned */
  /* A login whose answer is read with those of the commands sent after
   * it, which were built for the capabilities expected after it. */
  FerryImapCommand *logging_in; /* owned */
  GStrv expected_capabilities;
  GSList *abandoned; /* FerryImapCommand, owned */
  gboolean authenticated;
  gboolean logging_out;
  guint n_fences;      /* fences in flight */
  guint n_body_fences; /* those of them that are own_bodies_only */
  /* UID -> the body FETCH in flight that asked for it and has not got it
   * yet (imap-messages.c): with several in flight, each body goes to
   * its own. */
  GHashTable *body_owners;

  char *selected; /* UTF-8 name, or NULL */
  guint32 exists;
};

FerryImapCommand *ferry_imap_command_new (FerryImapClient *client,
                                          const char *what,
                                          FerryImapResponseFunc on_response,
                                          FerryImapLiteralClaimFunc on_literal,
                                          gpointer user_data);
void ferry_imap_command_free (FerryImapCommand *command);
void ferry_imap_client_abandon (FerryImapClient *client, FerryImapCommand *command);
void ferry_imap_client_fence (FerryImapClient *client, FerryImapCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryImapCommand, ferry_imap_command_free)

gboolean ferry_imap_client_check_usable (FerryImapClient *self, GError **error);
gboolean ferry_imap_client_send (FerryImapClient *self,
                                 FerryImapCommand *command,
                                 const char *text,
                                 GCancellable *cancellable,
                                 GError **error);
gboolean ferry_imap_client_send_parts (FerryImapClient *self,
                                       FerryImapCommand *command,
                                       const FerryImapPart *parts,
                                       gsize n_parts,
                                       gboolean sensitive,
                                       GCancellable *cancellable,
                                       GError **error);
gboolean ferry_imap_client_wait_continuation (FerryImapClient *self,
                                              FerryImapCommand *command,
                                              GCancellable *cancellable,
                                              GError **error);
gboolean ferry_imap_client_write_secret_line (FerryImapClient *self,
                                              const char *line,
                                              GCancellable *cancellable,
                                              GError **error);
gboolean ferry_imap_client_wait (FerryImapClient *self,
                                 FerryImapCommand *command,
                                 GCancellable *cancellable,
                                 GError **error);
gboolean ferry_imap_client_check (FerryImapClient *self, FerryImapCommand *command, GError **error);
gboolean
ferry_imap_client_wait_enabled (FerryImapClient *self, GCancellable *cancellable, GError **error);
/* Makes command @index of a pipeline, sets @command to it, and sends it. */
typedef gboolean (*FerryImapStartFunc) (FerryImapClient *self,
                                        guint index,
                                        gpointer user_data,
                                        FerryImapCommand **command,
                                        GCancellable *cancellable,
                                        GError **error);

gboolean ferry_imap_client_pipeline (FerryImapClient *self,
                                     guint n_commands,
                                     guint depth,
                                     FerryImapStartFunc start,
                                     gpointer user_data,
                                     guint *n_succeeded,
                                     GCancellable *cancellable,
                                     GError **error);
gboolean ferry_imap_client_run_all (FerryImapClient *self,
                                    const char *what,
                                    GPtrArray *lines,
                                    FerryImapResponseFunc on_response,
                                    FerryImapLiteralClaimFunc on_literal,
                                    gpointer user_data,
                                    GCancellable *cancellable,
                                    GError **error);
gboolean ferry_imap_client_run (FerryImapClient *self,
                                const char *what,
                                const char *line,
                                FerryImapResponseFunc on_response,
                                gpointer user_data,
                                GCancellable *cancellable,
                                GError **error);

char *ferry_imap_quote (const char *text);
char *ferry_imap_quote_mailbox (const char *mailbox, GError **error);
char *ferry_imap_describe_mailbox (const char *verb, const char *mailbox);
void ferry_imap_set_first_error (GError **first, GError *error);

G_END_DECLS
