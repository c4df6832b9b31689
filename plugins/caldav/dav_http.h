/*
** CalDAV requests over the host's HTTP client: Basic authentication, the
** WebDAV headers, URL resolution and the mapping of HTTP statuses to
** connector results.
**
** Contract: cd_request() sends one request with Basic credentials read
** from the instance's secret at call time (so a rotated password applies at
** once) and fills *resp with any response; it returns SIDECAL_OK when a
** response arrived, else the host's RETRY/ERROR with res->message set.
** cd_status_result() turns a non-success status into a result: 401 ->
** SIDECAL_UNAUTHORIZED, 429/5xx -> SIDECAL_RETRY (Retry-After honoured),
** 412 -> SIDECAL_CONFLICT, anything else -> SIDECAL_ERROR, each with a
** message naming the method, the URL path and the status.
** cd_url_allowed() accepts https://, and http:// only to a loopback host.
*/
#ifndef CALDAV_DAV_HTTP_H
#define CALDAV_DAV_HTTP_H

#include <sidecal/connector.h>
#include <stddef.h>

struct cd_conn {
  const struct sidecal_host_api *host;
  const char *username;
  uint32_t timeout_ms;
};

struct cd_req {
  const char *method;
  const char *url;
  const char *depth;         /* "0", "1" or NULL */
  const char *content_type;  /* NULL: none */
  const char *if_match;      /* NULL: none */
  int if_none_match_any;     /* If-None-Match: * */
  const char *body;
  size_t body_len;
};

int32_t cd_request(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                   const struct cd_req *r, struct sidecal_http_response *resp,
                   struct sidecal_result *res);

/* Header value of a response (names are lower-cased by the host), or NULL. */
const char *cd_header(const struct sidecal_http_response *resp, const char *name);

int32_t cd_status_result(const struct sidecal_http_response *resp, const char *method,
                         const char *url, struct sidecal_result *res);

/* 1 when url may carry credentials: https, or http to 127.0.0.0/8, ::1 or
** localhost. */
int cd_url_allowed(const char *url);

/* href resolved against base (RFC 3986); malloc'd, NULL when invalid. */
char *cd_url_resolve(const char *base, const char *href);

/* The path part of a URL ("/alice/cal/x.ics"), pointing into url. */
const char *cd_url_path(const char *url);

#endif
