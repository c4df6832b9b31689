/*
** Shared handler prologue and epilogue (see api_common.h).
*/
#include "api_common.h"

#include <string.h>
#include <strings.h>

#include "json_input.h"

int sc_api_open(struct sc_http_req *req, struct sc_http_resp *resp,
                struct sc_api_ctx *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->app = req->app;
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
  if (!rc) rc = sc_db_commit(ctx->conn, &ctx->err);
  if (rc) {
    sc_db_rollback(ctx->conn);
    json_object_put(result);
    sc_http_from_error(resp, &ctx->err);
  } else {
    sc_http_json(resp, status, result);
  }
  sc_db_release(ctx->app->pool, ctx->conn);
  ctx->conn = NULL;
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
