/*
** calcom_http: one request to Cal.com through the host's HTTP client
** (credentials, cal-api-version, JSON in and out) and the mapping of
** Cal.com's answers to sidecal results.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "calcom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Tokens are read per call: a refresh on another thread may rotate them. */
static int32_t read_token(const struct cc *c, const struct sidecal_call_ctx *ctx, char *buf,
                          size_t size, struct sidecal_result *res) {
  const char *key = c->oauth ? "access_token" : "api_key";
  int32_t n = cc_host->secret_read(ctx->host_instance, key, buf, size);
  if (n > 0) return SIDECAL_OK;
  if (c->oauth && (n == -1 || n == 0))
    return cc_fail(res, SIDECAL_UNAUTHORIZED, 0, "no OAuth access token yet: a refresh is needed");
  if (n == -2) return cc_fail(res, SIDECAL_ERROR, 0, "%s is longer than %zu bytes", key, size - 1);
  return cc_fail(res, SIDECAL_ERROR, 0, "%s: the secret reference cannot be read", key);
}

int32_t cc_request(const struct cc *c, const struct sidecal_call_ctx *ctx,
                   const struct cc_call *call, struct cc_resp *out,
                   struct sidecal_result *res) {
  memset(out, 0, sizeof *out);
  char token[4096];
  char bearer[4200];
  struct sidecal_http_header h[5];
  uint32_t nh = 0;
  h[nh++] = (struct sidecal_http_header){"Accept", "application/json"};
  if (call->auth == CC_AUTH_BEARER) {
    if (read_token(c, ctx, token, sizeof token, res) != SIDECAL_OK) return res->code;
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    h[nh++] = (struct sidecal_http_header){"Authorization", bearer};
  }
  if (call->version) h[nh++] = (struct sidecal_http_header){"cal-api-version", call->version};
  if (call->secret_key) h[nh++] = (struct sidecal_http_header){"x-cal-secret-key", call->secret_key};
  const char *body = NULL;
  if (call->body) {
    body = json_object_to_json_string_ext(call->body, JSON_C_TO_STRING_PLAIN);
    h[nh++] = (struct sidecal_http_header){"Content-Type", "application/json"};
  }
  size_t url_len = strlen(c->base_url) + strlen(call->path) + 1;
  char *url = malloc(url_len);
  if (!url) return sidecal_error(res, "out of memory");
  snprintf(url, url_len, "%s%s", c->base_url, call->path);
  struct sidecal_http_request req = {
    .struct_size = sizeof req, .timeout_ms = c->timeout_ms, .method = call->method, .url = url,
    .headers = h, .n_headers = nh, .body = body, .body_len = body ? strlen(body) : 0};
  out->http.struct_size = sizeof out->http;
  int32_t rc = cc_host->http_request(ctx, &req, &out->http, res);
  free(url);
  explicit_bzero(token, sizeof token);
  explicit_bzero(bearer, sizeof bearer);
  if (rc != SIDECAL_OK) return rc;
  out->have_http = 1;
  out->status = out->http.status;
  if (out->http.body && out->http.body_len) {
    struct json_tokener *tok = json_tokener_new();
    out->root = json_tokener_parse_ex(tok, out->http.body, (int)out->http.body_len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
      json_object_put(out->root);
      out->root = NULL;
    }
    json_tokener_free(tok);
  }
  if (out->root) json_object_object_get_ex(out->root, "data", &out->data);
  return sidecal_ok(res);
}

void cc_resp_free(struct cc_resp *r) {
  json_object_put(r->root);
  if (r->have_http) cc_host->http_response_free(&r->http);
  memset(r, 0, sizeof *r);
}

const char *cc_resp_header(const struct cc_resp *r, const char *name) {
  for (uint32_t i = 0; i < r->http.n_headers; i++)
    if (!strcasecmp(r->http.headers[i].name, name)) return r->http.headers[i].value;
  return NULL;
}

/* Cal.com's error envelope: {"status":"error","error":{"code","message"}}. */
static void error_text(const struct cc_resp *r, char *buf, size_t size) {
  json_object *err = NULL;
  const char *code = NULL, *msg = NULL;
  if (r->root && json_object_object_get_ex(r->root, "error", &err)) {
    code = cc_str(err, "code");
    msg = cc_str(err, "message");
  }
  if (code && msg)
    snprintf(buf, size, "%u %s: %s", r->status, code, msg);
  else if (msg)
    snprintf(buf, size, "%u: %s", r->status, msg);
  else
    snprintf(buf, size, "%u", r->status);
}

/* Milliseconds to wait from Retry-After (delta seconds) or, failing that,
** X-RateLimit-Reset-Default (unix seconds); 0 lets the host decide. */
static uint32_t retry_hint(const struct cc_resp *r) {
  const int64_t cap_s = 3600;
  const char *ra = cc_resp_header(r, "retry-after");
  char *end = NULL;
  if (ra) {
    long long s = strtoll(ra, &end, 10);
    if (end != ra && *end == '\0' && s >= 0) return (uint32_t)((s > cap_s ? cap_s : s) * 1000);
  }
  const char *reset = cc_resp_header(r, "x-ratelimit-reset-default");
  if (reset) {
    long long at = strtoll(reset, &end, 10);
    int64_t now_s = cc_host->now_utc_ms() / 1000;
    if (end != reset && *end == '\0' && at > now_s)
      return (uint32_t)(((at - now_s) > cap_s ? cap_s : (at - now_s)) * 1000);
  }
  return 0;
}

int32_t cc_status(const struct cc_resp *r, const char *what, struct sidecal_result *res) {
  if (r->status >= 200 && r->status < 300) return sidecal_ok(res);
  char text[300];
  error_text(r, text, sizeof text);
  if (r->status == 401)
    return cc_fail(res, SIDECAL_UNAUTHORIZED, 0, "Cal.com rejected the credentials for %s (%s)",
                   what, text);
  if (r->status == 429) {
    uint32_t ms = retry_hint(r);
    if (!ms)
      return cc_fail(res, SIDECAL_RETRY, 0, "Cal.com rate limit reached on %s (%s); no retry hint",
                     what, text);
    return cc_fail(res, SIDECAL_RETRY, ms, "Cal.com rate limit reached on %s (%s); retry in %u s",
                   what, text, (ms + 999) / 1000);
  }
  if (r->status >= 500 || r->status == 408)
    return cc_fail(res, SIDECAL_RETRY, 0, "Cal.com failed on %s (%s)", what, text);
  return cc_fail(res, SIDECAL_ERROR, 0, "Cal.com refused %s (%s)", what, text);
}
