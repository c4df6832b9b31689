/*
** HTTP handlers for sync conflicts (see api_sync.h).
*/
#include "api_sync.h"

#include "api_common.h"
#include "sync_conflicts.h"

void sc_api_conflicts_list(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *out = NULL;
  int rc = sc_conflicts_list(ctx.conn, &ctx.caller, sc_http_query(req, "status"), &out, &ctx.err);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

void sc_api_conflict_resolve(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *body = sc_api_body(req, resp);
  if (!body) return sc_api_abort(&ctx);
  json_object *out = NULL;
  int rc = sc_conflict_resolve(ctx.conn, &ctx.caller, req->params[0], body, &out, &ctx.err);
  json_object_put(body);
  sc_api_finish(&ctx, resp, rc, 200, out);
}
