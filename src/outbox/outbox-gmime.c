/* outbox-gmime.c: GMime, loaded when a message is first read
 *
 * Only the outbox reads messages (ferry-sendmail, and `ferry` when it
 * sends the queue); a sync never does, yet loading GMime cost 0.46 ms of
 * every start of `ferry` on a 2-core machine, a few percent of a resync
 * that finds nothing to do. So it is opened the first time a message or
 * an address is parsed, by the soname of the GMime 3 ABI it is compiled
 * against (see core/shared-library.c).
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "build-config.h"

#include "core/shared-library.h"
#include "outbox/outbox-gmime.h"

#define GMIME_SONAME "libgmime-3.0.so.0"

#define GMIME_SYMBOL(member)   FERRY_SHARED_LIBRARY_SYMBOL ("g_mime_", FerryOutboxGMime, member)
#define ADDRESS_SYMBOL(member) FERRY_SHARED_LIBRARY_SYMBOL ("", FerryOutboxGMime, member)

static const FerrySharedLibrarySymbol symbols[] = {
  GMIME_SYMBOL (init),
  GMIME_SYMBOL (stream_mem_new_with_buffer),
  GMIME_SYMBOL (parser_new_with_stream),
  GMIME_SYMBOL (parser_set_format),
  GMIME_SYMBOL (parser_construct_message),
  GMIME_SYMBOL (message_get_addresses),
  GMIME_SYMBOL (message_get_subject),
  ADDRESS_SYMBOL (internet_address_group_get_type),
  ADDRESS_SYMBOL (internet_address_group_get_members),
  ADDRESS_SYMBOL (internet_address_mailbox_get_type),
  ADDRESS_SYMBOL (internet_address_mailbox_get_addr),
  ADDRESS_SYMBOL (internet_address_list_length),
  ADDRESS_SYMBOL (internet_address_list_get_address),
  ADDRESS_SYMBOL (internet_address_list_to_string),
  ADDRESS_SYMBOL (internet_address_list_parse),
};

/* g_mime_init() sets up GMime's charset tables and must run once
 * before any other call. */
static char *
initialize (GModule *module, gconstpointer loaded)
{
  const FerryOutboxGMime *functions = loaded;

  functions->init ();
  return NULL;
}

static FerryOutboxGMime functions;
static FerrySharedLibrary libgmime = FERRY_SHARED_LIBRARY_INIT (
    GMIME_SONAME, "reading a message", symbols, &functions, initialize);

/**
 * ferry_outbox_gmime_get:
 * @error: FERRY_ERROR_UNAVAILABLE when GMime cannot be loaded
 *
 * Loads and initializes GMime the first time, from any thread.
 *
 * Returns: (transfer none) (nullable): GMime's functions, for the life
 *   of the process
 */
const FerryOutboxGMime *
ferry_outbox_gmime_get (GError **error)
{
  return ferry_shared_library_load (&libgmime, error) ? &functions : NULL;
}
