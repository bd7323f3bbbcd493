/* outbox-gmime.h: GMime, loaded when a message is first read
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gmime/gmime.h>

G_BEGIN_DECLS

/* The GMime functions Ferry calls, with GMime's own signatures. */
typedef struct
{
  void (*init) (void);
  GMimeStream *(*stream_mem_new_with_buffer) (const char *buffer, size_t len);
  GMimeParser *(*parser_new_with_stream) (GMimeStream *stream);
  void (*parser_set_format) (GMimeParser *parser, GMimeFormat format);
  GMimeMessage *(*parser_construct_message) (GMimeParser *parser, GMimeParserOptions *options);
  InternetAddressList *(*message_get_addresses) (GMimeMessage *message, GMimeAddressType type);
  const char *(*message_get_subject) (GMimeMessage *message);
  GType (*internet_address_group_get_type) (void);
  InternetAddressList *(*internet_address_group_get_members) (InternetAddressGroup *group);
  GType (*internet_address_mailbox_get_type) (void);
  const char *(*internet_address_mailbox_get_addr) (InternetAddressMailbox *mailbox);
  int (*internet_address_list_length) (InternetAddressList *list);
  InternetAddress *(*internet_address_list_get_address) (InternetAddressList *list, int index);
  char *(*internet_address_list_to_string) (InternetAddressList *list,
                                            GMimeFormatOptions *options,
                                            gboolean encode);
  InternetAddressList *(*internet_address_list_parse) (GMimeParserOptions *options,
                                                       const char *str);
} FerryOutboxGMime;

const FerryOutboxGMime *ferry_outbox_gmime_get (GError **error);

G_END_DECLS
