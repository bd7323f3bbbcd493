/* outbox-curl.h: libcurl, loaded when the first message is sent
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/* The libcurl functions Ferry calls, with libcurl's own signatures. */
typedef struct
{
  CURL *(*easy_init) (void);
  CURLcode (*easy_setopt) (CURL *curl, CURLoption option, ...);
  CURLcode (*easy_perform) (CURL *curl);
  CURLcode (*easy_getinfo) (CURL *curl, CURLINFO info, ...);
  void (*easy_cleanup) (CURL *curl);
  const char *(*easy_strerror) (CURLcode code);
  struct curl_slist *(*slist_append) (struct curl_slist *list, const char *text);
  void (*slist_free_all) (struct curl_slist *list);
} FerryOutboxCurl;

const FerryOutboxCurl *ferry_outbox_curl_get (GError **error);

G_END_DECLS
