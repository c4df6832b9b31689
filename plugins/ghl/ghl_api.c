/*
** GHL HTTP: one authorized, versioned, rate-budgeted request and the
** mapping of its status to a sidecal result; the OAuth refresh with
** rotation (see ghl.h for the contract).
*/
#include "ghl.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RATE_DEFAULT_WAIT_MS 10000

const char *ghl_header(const struct sidecal_http_header *h, uint32_t n, const char *name) {
  for (uint32_t i = 0; i < n; i++)
    if (!strcasecmp(h[i].name, name)) return h[i].value;
  return NULL;
}

int64_t ghl_retry_after_ms(const char *value, int64_t now_ms) {
  if (!value || !*value) return -1;
  char *end;
  long long secs = strtoll(value, &end, 10);
  if (*end == '\0' && secs >= 0) return secs * 1000;
  /* An HTTP date (IMF-fixdate); GLib has no parser for it, libc does. */
  struct tm tm = {0};
  const char *rest = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!rest || *rest) return -1;
  int64_t at = (int64_t)timegm(&tm) * 1000;
  return at > now_ms ? at - now_ms : 0;
}

/* ---- the access token ------------------------------------------------- */

/* Copies a usable bearer token into buf, or returns UNAUTHORIZED so the
** host runs refresh_credentials under its per-instance lock (never two
** refreshes spending one rotating refresh token). */
static int32_t bearer(struct ghl *g, const struct sidecal_call_ctx *ctx, char *buf, size_t size,
                      struct sidecal_result *res) {
  int64_t now = ghl_host->now_utc_ms();
  pthread_mutex_lock(&g->lock);
  int ok = g->access_token[0] && (!g->token_expires_ms || now < g->token_expires_ms - g->token_skew_ms);
  if (ok) snprintf(buf, size, "%s", g->access_token);
  pthread_mutex_unlock(&g->lock);
  if (ok) return SIDECAL_OK;
  if (g->has_static_token && ghl_host->secret_read(ctx->host_instance, "access_token", buf, size) > 0)
    return SIDECAL_OK;
  return sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0,
                            g->access_token[0] ? "the GHL access token is about to expire; refresh needed"
                                               : "no GHL access token yet; refresh needed");
}

/* ---- the rate budget -------------------------------------------------- */

static int32_t take_slot(struct ghl *g, const struct sidecal_call_ctx *ctx, uint32_t *slot,
                         struct sidecal_result *res) {
  for (;;) {
    int64_t now = ghl_host->monotonic_ms();
    int64_t wait = ghl_rate_take(&g->rate, now, slot);
    if (!wait) return SIDECAL_OK;
    if (*ctx->cancel) return sidecal_retry(res, 0, "cancelled while waiting for the GHL rate budget");
    if ((ctx->deadline_ms && now + wait > ctx->deadline_ms) || wait > g->rate.window_ms) {
      char msg[160];
      snprintf(msg, sizeof msg, "GHL rate budget of %u requests per %lld ms is spent; wait %lld ms",
               g->rate.max, (long long)g->rate.window_ms, (long long)wait);
      return sidecal_retry(res, (uint32_t)wait, msg);
    }
    g_usleep((gulong)(wait < 50 ? wait : 50) * 1000);
  }
}

/* The provider's own count wins over ours when it says the budget is gone. */
static void note_rate_headers(struct ghl *g, const struct sidecal_http_response *r) {
  const char *remaining = ghl_header(r->headers, r->n_headers, "x-ratelimit-remaining");
  const char *interval = ghl_header(r->headers, r->n_headers, "x-ratelimit-interval-milliseconds");
  if (remaining && atoll(remaining) == 0) {
    long long ms = interval ? atoll(interval) : RATE_DEFAULT_WAIT_MS;
    ghl_rate_block(&g->rate, ghl_host->monotonic_ms() + (ms > 0 ? ms : RATE_DEFAULT_WAIT_MS));
  }
}

/* ---- results from statuses -------------------------------------------- */

/* GHL's error text: NestJS {"message": "..."} or {"message": ["..."]}, or
** OAuth's {"error_description": "..."}. */
static void provider_message(const struct sidecal_http_response *r, char *buf, size_t size) {
  buf[0] = '\0';
  json_object *o = r->body ? json_tokener_parse(r->body) : NULL, *m;
  if (o && (json_object_object_get_ex(o, "message", &m) ||
            json_object_object_get_ex(o, "error_description", &m) ||
            json_object_object_get_ex(o, "error", &m))) {
    if (json_object_is_type(m, json_type_array) && json_object_array_length(m))
      m = json_object_array_get_idx(m, 0);
    snprintf(buf, size, "%s", json_object_get_string(m));
  }
  json_object_put(o);
}

static int32_t classify(struct ghl *g, const char *method, const char *path, const char *sent_token,
                        const struct sidecal_http_response *r, struct sidecal_result *res) {
  char why[200], msg[SIDECAL_MESSAGE_MAX];
  provider_message(r, why, sizeof why);
  const char *q = strchr(path, '?');
  int plen = q ? (int)(q - path) : (int)strlen(path);
  snprintf(msg, sizeof msg, "GHL %s %.*s answered %u%s%s", method, plen, path, r->status,
           *why ? ": " : "", why);
  if (r->status == 401) {
    /* Rejected: the next call must not reuse it, unless a refresh on
    ** another thread has replaced it meanwhile. */
    pthread_mutex_lock(&g->lock);
    if (!strcmp(g->access_token, sent_token)) g->access_token[0] = '\0';
    pthread_mutex_unlock(&g->lock);
    return sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0, msg);
  }
  if (r->status == 429) {
    int64_t now = ghl_host->now_utc_ms();
    int64_t ms = ghl_retry_after_ms(ghl_header(r->headers, r->n_headers, "retry-after"), now);
    if (ms < 0) {
      const char *iv = ghl_header(r->headers, r->n_headers, "x-ratelimit-interval-milliseconds");
      ms = iv && atoll(iv) > 0 ? atoll(iv) : RATE_DEFAULT_WAIT_MS;
    }
    ghl_rate_block(&g->rate, ghl_host->monotonic_ms() + ms);
    return sidecal_retry(res, (uint32_t)(ms > UINT32_MAX ? UINT32_MAX : ms), msg);
  }
  if (r->status == 408 || r->status >= 500) return sidecal_retry(res, 0, msg);
  return sidecal_error(res, msg);
}

int32_t ghl_api_call(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *method,
                     const char *path_query, const char *version, const char *body,
                     struct sidecal_http_response *resp, uint32_t *status,
                     struct sidecal_result *res) {
  char token[2048], auth[2100], url[2048];
  memset(resp, 0, sizeof *resp);
  *status = 0;
  if (bearer(g, ctx, token, sizeof token, res) != SIDECAL_OK) return res->code;
  snprintf(auth, sizeof auth, "Bearer %s", token);
  snprintf(url, sizeof url, "%s%s", g->base_url, path_query);
  struct sidecal_http_header h[4] = {
    {"Authorization", auth}, {"Version", version}, {"Accept", "application/json"},
    {"Content-Type", "application/json"}};
  struct sidecal_http_request req = {
    .struct_size = sizeof req, .method = method, .url = url, .headers = h,
    .n_headers = body ? 4 : 3, .body = body, .body_len = body ? strlen(body) : 0};
  uint32_t slot;
  if (take_slot(g, ctx, &slot, res) != SIDECAL_OK) {
    explicit_bzero(token, sizeof token);
    explicit_bzero(auth, sizeof auth);
    return res->code;
  }
  int32_t rc = ghl_host->http_request(ctx, &req, resp, res);
  ghl_rate_done(&g->rate, slot, ghl_host->monotonic_ms());
  explicit_bzero(auth, sizeof auth);
  if (rc == SIDECAL_OK) {
    ghl_host->counter_add(ctx->host_instance, "ghl_requests", 1);
    note_rate_headers(g, resp);
    *status = resp->status;
    if (resp->status < 200 || resp->status >= 300) {
      rc = classify(g, method, path_query, token, resp, res);
      ghl_host->http_response_free(resp);
    }
  }
  explicit_bzero(token, sizeof token);
  return rc == SIDECAL_OK ? sidecal_ok(res) : rc;
}

int32_t ghl_parse_body(const struct sidecal_http_response *resp, const char *what,
                       json_object **out, struct sidecal_result *res) {
  *out = resp->body ? json_tokener_parse(resp->body) : NULL;
  if (*out && json_object_is_type(*out, json_type_object)) return SIDECAL_OK;
  json_object_put(*out);
  *out = NULL;
  char msg[160];
  snprintf(msg, sizeof msg, "GHL answered %s with a body that is not a JSON object", what);
  return sidecal_retry(res, 0, msg);
}

/* ---- OAuth refresh with rotation -------------------------------------- */

static char *form_field(GString *s, const char *name, const char *value) {
  char *esc = g_uri_escape_string(value, NULL, FALSE);
  g_string_append_printf(s, "%s%s=%s", s->len ? "&" : "", name, esc);
  g_free(esc);
  return s->str;
}

static int32_t read_secret(const struct sidecal_call_ctx *ctx, const char *key, char *buf,
                           size_t size, struct sidecal_result *res) {
  int32_t n = ghl_host->secret_read(ctx->host_instance, key, buf, size);
  if (n > 0) return SIDECAL_OK;
  char msg[160];
  snprintf(msg, sizeof msg, "GHL %s cannot be read (%s)", key,
           n == -1 ? "not configured" : n == -2 ? "too long" : "its reference cannot be read");
  return sidecal_result_set(res, n == -3 ? SIDECAL_RETRY : SIDECAL_UNAUTHORIZED, 0, msg);
}

/* POST /oauth/token; on 2xx *out is the parsed answer. */
static int32_t token_request(struct ghl *g, const struct sidecal_call_ctx *ctx,
                             const char *refresh_token, json_object **out,
                             struct sidecal_result *res) {
  char id[512], secret[1024], url[2048];
  if (read_secret(ctx, "client_id", id, sizeof id, res) ||
      read_secret(ctx, "client_secret", secret, sizeof secret, res))
    return res->code;
  GString *form = g_string_new(NULL);
  form_field(form, "client_id", id);
  form_field(form, "client_secret", secret);
  form_field(form, "grant_type", "refresh_token");
  form_field(form, "refresh_token", refresh_token);
  form_field(form, "user_type", "Location");
  explicit_bzero(secret, sizeof secret);
  snprintf(url, sizeof url, "%s/oauth/token", g->base_url);
  struct sidecal_http_header h[2] = {
    {"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  struct sidecal_http_request req = {
    .struct_size = sizeof req, .method = "POST", .url = url, .headers = h, .n_headers = 2,
    .body = form->str, .body_len = form->len};
  struct sidecal_http_response resp;
  int32_t rc = ghl_host->http_request(ctx, &req, &resp, res);
  explicit_bzero(form->str, form->len);
  g_string_free(form, TRUE);
  if (rc != SIDECAL_OK) return rc;
  if (resp.status >= 200 && resp.status < 300) {
    rc = ghl_parse_body(&resp, "the token refresh", out, res);
  } else {
    char why[200], msg[SIDECAL_MESSAGE_MAX];
    provider_message(&resp, why, sizeof why);
    snprintf(msg, sizeof msg, "GHL refused the token refresh (%u%s%s)", resp.status,
             *why ? ": " : "", why);
    if (resp.status == 429 || resp.status >= 500) {
      rc = sidecal_retry(res, 0, msg);
    } else {
      /* A consumed or revoked refresh token, or wrong client credentials:
      ** only an admin re-authorizing the location helps. */
      size_t n = strlen(msg);
      snprintf(msg + n, sizeof msg - n, "; re-authorize the location in GHL");
      rc = sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0, msg);
    }
  }
  ghl_host->http_response_free(&resp);
  return rc;
}

static const char *str_field(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v) : NULL;
}

int32_t ghl_refresh(struct ghl *g, const struct sidecal_call_ctx *ctx, struct sidecal_result *res) {
  if (!g->has_oauth)
    return sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0,
                              "GHL rejected the access token and no OAuth refresh is configured "
                              "(client_id, client_secret, refresh_token)");
  char rt[1024];
  pthread_mutex_lock(&g->lock);
  snprintf(rt, sizeof rt, "%s", g->pending_refresh);
  pthread_mutex_unlock(&g->lock);
  if (!rt[0] && read_secret(ctx, "refresh_token", rt, sizeof rt, res)) return res->code;
  json_object *o = NULL;
  int32_t rc = token_request(g, ctx, rt, &o, res);
  explicit_bzero(rt, sizeof rt);
  if (rc != SIDECAL_OK) return rc;
  const char *access = str_field(o, "access_token"), *next = str_field(o, "refresh_token");
  json_object *exp;
  int64_t expires_in = json_object_object_get_ex(o, "expires_in", &exp) ? json_object_get_int64(exp) : 0;
  if (!access || !*access || strlen(access) >= sizeof g->access_token ||
      (next && strlen(next) >= sizeof g->pending_refresh)) {
    json_object_put(o);
    return sidecal_retry(res, 0, "GHL's token answer has no usable access_token");
  }
  /* The old refresh token is spent: keep the new one before using anything,
  ** or a crash now would leave the location needing re-authorization. */
  if (next && ghl_host->secret_store_rotated(ctx->host_instance, "refresh_token", next) != 0) {
    pthread_mutex_lock(&g->lock);
    snprintf(g->pending_refresh, sizeof g->pending_refresh, "%s", next);
    pthread_mutex_unlock(&g->lock);
    json_object_put(o);
    return sidecal_retry(res, 0, "the rotated GHL refresh token could not be stored; will retry");
  }
  int64_t now = ghl_host->now_utc_ms();
  pthread_mutex_lock(&g->lock);
  g->pending_refresh[0] = '\0';
  snprintf(g->access_token, sizeof g->access_token, "%s", access);
  g->token_expires_ms = expires_in > 0 ? now + expires_in * 1000 : 0;
  /* Refresh a minute early, or at 1/10 of a short lifetime. */
  g->token_skew_ms = expires_in > 600 ? 60000 : expires_in * 100;
  pthread_mutex_unlock(&g->lock);
  json_object_put(o);
  ghl_host->log(ctx->host_instance, SIDECAL_LOG_INFO, "request=%s GHL access token refreshed (expires in %lld s)",
                ctx->request_id, (long long)expires_in);
  ghl_host->counter_add(ctx->host_instance, "ghl_token_refreshes", 1);
  return sidecal_ok(res);
}
