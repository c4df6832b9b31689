/*
** CalDAV HTTP plumbing: authenticated requests through the host table,
** status-to-result mapping, and URL checks and resolution (libxml2's URI
** code, RFC 3986).
*/
#include "dav_http.h"

#include <glib.h>
#include <libxml/uri.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PASSWORD_MAX 1024

const char *cd_header(const struct sidecal_http_response *resp, const char *name) {
  for (uint32_t i = 0; i < resp->n_headers; i++)
    if (!strcmp(resp->headers[i].name, name)) return resp->headers[i].value;
  return NULL;
}

const char *cd_url_path(const char *url) {
  const char *p = strstr(url, "://");
  if (!p) return url;
  p = strchr(p + 3, '/');
  return p ? p : "/";
}

static int32_t auth_header(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                           char **out, struct sidecal_result *res) {
  char pw[PASSWORD_MAX];
  int32_t n = c->host->secret_read(ctx->host_instance, "password", pw, sizeof pw);
  if (n < 0) {
    return sidecal_error(res, n == -1 ? "the password secret is not configured"
                              : n == -2 ? "the password secret is longer than 1023 bytes"
                                        : "the password secret cannot be read (see the log)");
  }
  gchar *plain = g_strdup_printf("%s:%s", c->username, pw);
  gchar *b64 = g_base64_encode((const guchar *)plain, strlen(plain));
  explicit_bzero(pw, sizeof pw);
  explicit_bzero(plain, strlen(plain));
  g_free(plain);
  *out = g_strdup_printf("Basic %s", b64);
  explicit_bzero(b64, strlen(b64));
  g_free(b64);
  return SIDECAL_OK;
}

int32_t cd_request(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                   const struct cd_req *r, struct sidecal_http_response *resp,
                   struct sidecal_result *res) {
  char *auth = NULL;
  if (auth_header(c, ctx, &auth, res) != SIDECAL_OK) return res->code;
  struct sidecal_http_header h[8];
  uint32_t n = 0;
  h[n++] = (struct sidecal_http_header){"Authorization", auth};
  /* libcurl would wait for a 100 Continue on larger bodies; none needed. */
  h[n++] = (struct sidecal_http_header){"Expect", ""};
  h[n++] = (struct sidecal_http_header){"User-Agent", "sidecal-caldav/1.0"};
  if (r->depth) h[n++] = (struct sidecal_http_header){"Depth", r->depth};
  if (r->content_type) h[n++] = (struct sidecal_http_header){"Content-Type", r->content_type};
  if (r->if_match) h[n++] = (struct sidecal_http_header){"If-Match", r->if_match};
  if (r->if_none_match_any) h[n++] = (struct sidecal_http_header){"If-None-Match", "*"};
  struct sidecal_http_request req = {
    .struct_size = sizeof req, .timeout_ms = c->timeout_ms, .method = r->method,
    .url = r->url, .headers = h, .n_headers = n, .body = r->body,
    .body_len = r->body ? r->body_len : 0};
  memset(resp, 0, sizeof *resp);
  resp->struct_size = sizeof *resp;
  int32_t rc = c->host->http_request(ctx, &req, resp, res);
  explicit_bzero(auth, strlen(auth));
  g_free(auth);
  return rc;
}

int32_t cd_status_result(const struct sidecal_http_response *resp, const char *method,
                         const char *url, struct sidecal_result *res) {
  char msg[SIDECAL_MESSAGE_MAX];
  uint32_t s = resp->status;
  snprintf(msg, sizeof msg, "%s %s: HTTP %u", method, cd_url_path(url), s);
  if (s == 401) {
    snprintf(msg, sizeof msg,
             "%s %s: HTTP 401: the CalDAV server rejected the username or password "
             "(iCloud needs an app-specific password)", method, cd_url_path(url));
    return sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0, msg);
  }
  if (s == 412) return sidecal_result_set(res, SIDECAL_CONFLICT, 0, msg);
  if (s == 429 || s == 503 || s >= 500 || s == 408) {
    uint32_t ms = 0;
    const char *ra = cd_header(resp, "retry-after");
    if (ra) {
      char *end;
      long v = strtol(ra, &end, 10);
      if (end != ra && v > 0 && v < 86400) ms = (uint32_t)v * 1000u;
    }
    return sidecal_retry(res, ms, msg);
  }
  if (s == 403) {
    snprintf(msg, sizeof msg, "%s %s: HTTP 403: the server refused it (no permission on "
             "this calendar, or it rejected the data)", method, cd_url_path(url));
  } else if (s == 404) {
    snprintf(msg, sizeof msg, "%s %s: HTTP 404: no such calendar or resource", method,
             cd_url_path(url));
  }
  return sidecal_error(res, msg);
}

static int host_is_loopback(const char *h) {
  if (!h) return 0;
  if (!strcasecmp(h, "localhost") || !strcmp(h, "::1") || !strcmp(h, "[::1]")) return 1;
  unsigned a, b, c, d;
  char extra;
  return sscanf(h, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 &&
         c < 256 && d < 256;
}

int cd_url_allowed(const char *url) {
  if (!url) return 0;
  xmlURIPtr u = xmlParseURI(url);
  if (!u) return 0;
  int ok = 0;
  if (u->scheme && u->server && *u->server) {
    if (!strcasecmp(u->scheme, "https")) ok = 1;
    else if (!strcasecmp(u->scheme, "http")) ok = host_is_loopback(u->server);
  }
  xmlFreeURI(u);
  return ok;
}

char *cd_url_resolve(const char *base, const char *href) {
  xmlChar *r = xmlBuildURI((const xmlChar *)href, (const xmlChar *)base);
  if (!r) return NULL;
  char *out = strdup((const char *)r);
  xmlFree(r);
  return out;
}
