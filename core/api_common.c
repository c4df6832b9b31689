/*
** Shared handler prologue and epilogue (see api_common.h).
*/
#include "api_common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "avail_cache.h"
#include "idempotency.h"
#include "json_input.h"

int sc_api_open(struct sc_http_req *req, struct sc_http_resp *resp,
                struct sc_api_ctx *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->app = req->app;
  ctx->method = req->method;
  int rc = sc_auth_request(ctx->app->auth, req, resp, &ctx->caller);
  if (rc) return rc;
  snprintf(resp->org, sizeof resp->org, "%s", *ctx->caller.org_slug ? ctx->caller.org_slug : "*");
  struct sc_tenant t;
  sc_auth_tenant(&ctx->caller, &t);
  ctx->conn = sc_db_acquire(ctx->app->pool);
  rc = sc_db_begin(ctx->conn, &t, &ctx->err);
  if (rc) {
    sc_db_release(ctx->app->pool, ctx->conn);
    ctx->conn = NULL;
    sc_http_from_error(resp, &ctx->err);
  }
  return rc;
}

void sc_api_finish(struct sc_api_ctx *ctx, struct sc_http_resp *resp, int rc,
                   int status, json_object *result) {
  if (!rc && ctx->idem_key)
    rc = sc_idem_store(ctx->conn, ctx->caller.org_id, ctx->idem_key, status,
                       json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN), &ctx->err);
  if (!rc) rc = sc_db_commit(ctx->conn, &ctx->err);
  if (rc) {
    sc_db_rollback(ctx->conn);
    json_object_put(result);
    sc_http_from_error(resp, &ctx->err);
  } else {
    /* Our own writes reach our cache at once; other daemons hear NOTIFY. */
    if (strcmp(ctx->method, "GET") != 0 && ctx->app->avail)
      sc_avail_cache_bump(ctx->app->avail, ctx->caller.org_id, NULL, NULL);
    sc_http_json(resp, status, result);
  }
  sc_db_release(ctx->app->pool, ctx->conn);
  ctx->conn = NULL;
}

int sc_api_idempotent(struct sc_api_ctx *ctx, struct sc_http_req *req,
                      struct sc_http_resp *resp) {
  const char *key = sc_http_header(req, "Idempotency-Key");
  if (!key || strcmp(req->method, "POST") != 0) return 0;
  struct sc_idem_replay rp;
  int rc = *ctx->caller.org_id
               ? sc_idem_claim(ctx->conn, ctx->caller.org_id, key, req->method, req->path,
                               req->body, req->body_len, &rp, &ctx->err)
               : sc_error_set(&ctx->err, SC_EINVAL, "org",
                              "org: a platform admin names the organization with ?org=SLUG");
  if (rc) {
    sc_api_finish(ctx, resp, rc, 0, NULL);
    return 1;
  }
  if (!rp.replay) {
    ctx->idem_key = key;
    return 0;
  }
  sc_api_abort(ctx);
  free(resp->body);
  resp->status = rp.status;
  resp->body = rp.body;
  resp->content_type = "application/json";
  return 1;
}

void sc_api_abort(struct sc_api_ctx *ctx) {
  if (!ctx->conn) return;
  sc_db_rollback(ctx->conn);
  sc_db_release(ctx->app->pool, ctx->conn);
  ctx->conn = NULL;
}

static int is_json_type(const char *ct) {
  if (!ct) return 0;
  size_t n = strcspn(ct, ";");
  while (n > 0 && ct[n - 1] == ' ') n--;
  return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
         (n == 28 && !strncasecmp(ct, "application/merge-patch+json", 28));
}

json_object *sc_api_body(struct sc_http_req *req, struct sc_http_resp *resp) {
  if (!is_json_type(sc_http_header(req, "Content-Type"))) {
    sc_http_error(resp, 415, "unsupported_media_type", NULL,
                  "send the body as application/json");
    return NULL;
  }
  json_object *obj = NULL;
  struct sc_error err;
  if (sc_json_parse_object(req->body, req->body_len, &obj, &err)) {
    if (!strcmp(err.kind, "malformed_json"))
      sc_http_error(resp, 400, "malformed_json", "$", "%s", err.message);
    else
      sc_http_from_error(resp, &err);
    return NULL;
  }
  return obj;
}
