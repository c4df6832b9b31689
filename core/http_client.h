/*
** Outbound HTTP client over libcurl, used by connectors through the host
** services table (sidecal/host.h) and by the core itself.
**
** Contract: sc_http_request() performs one request with a whole-request
** timeout and fills *resp (status, lower-cased headers, body) when any
** response arrived, whatever its status, and returns SC_OK. Otherwise it
** returns SC_EIO (connection failure, timeout, cancelled; err says which and
** resp->retryable says whether trying later makes sense) or SC_EINVAL (bad
** method or URL), and *resp is empty.
**
** It never repeats a non-idempotent request (POST, PATCH, anything not in
** GET/HEAD/PUT/DELETE/OPTIONS): each attempt uses a fresh connection, so
** libcurl's own resend on a reused dead connection cannot happen either.
** An idempotent request is tried once more when the first attempt got no
** response at all (refused, reset, empty reply) and time remains.
*/
#ifndef SC_HTTP_CLIENT_H
#define SC_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct sc_http_header {
  const char *name;
  const char *value;
};

struct sc_http_request {
  const char *method;                  /* "GET", "POST", ... */
  const char *url;                     /* http:// or https:// only */
  const struct sc_http_header *headers;
  size_t n_headers;
  const char *body;                    /* NULL = none */
  size_t body_len;
  long timeout_ms;                     /* whole request, > 0 */
  const volatile int32_t *cancel;      /* nonzero aborts; may be NULL */
};

struct sc_http_response {
  long status;
  struct sc_http_header *headers;      /* names lower-cased; owned */
  size_t n_headers;
  char *body;                          /* NUL-terminated; owned */
  size_t body_len;
  int attempts;                        /* requests actually sent (1 or 2) */
  int retryable;                       /* on SC_EIO: worth trying later */
};

int sc_http_request(const struct sc_http_request *req,
                    struct sc_http_response *resp, struct sc_error *err);
void sc_http_response_free(struct sc_http_response *resp);
int sc_http_method_is_idempotent(const char *method);

#endif
