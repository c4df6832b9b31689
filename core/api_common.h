/*
** What every authenticated API handler does first and last: authenticate,
** borrow a pooled connection, open the caller's row-level-security
** transaction; at the end commit (or roll back on error) and answer.
**
**   struct sc_api_ctx ctx;
**   if (sc_api_open(req, resp, &ctx)) return;       // resp already filled
**   int rc = do_work(ctx.conn, &ctx.caller, ..., &ctx.err);
**   sc_api_finish(&ctx, resp, rc, 200, result);      // commits when rc == 0
*/
#ifndef SC_API_COMMON_H
#define SC_API_COMMON_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "app.h"
#include "auth.h"
#include "http.h"

struct sc_api_ctx {
  struct sc_app *app;
  struct sc_caller caller;
  PGconn *conn;
  struct sc_error err;
  const char *method;
  const char *idem_key;  /* Idempotency-Key of this POST, if claimed */
};

int sc_api_open(struct sc_http_req *req, struct sc_http_resp *resp,
                struct sc_api_ctx *ctx);
/* rc == SC_OK: commit, answer status with result (ownership taken);
** otherwise roll back and answer the error in ctx->err. */
void sc_api_finish(struct sc_api_ctx *ctx, struct sc_http_resp *resp, int rc,
                   int status, json_object *result);

/* Honours an Idempotency-Key header on a POST (core/idempotency.h).
** Returns nonzero when the request is done: resp holds the first response
** (replayed) or an error, and ctx is closed. Call right after sc_api_open. */
int sc_api_idempotent(struct sc_api_ctx *ctx, struct sc_http_req *req,
                      struct sc_http_resp *resp);

/* Rolls back and releases without touching resp (already filled). */
void sc_api_abort(struct sc_api_ctx *ctx);

/* The request body as a JSON object: 415 unless the Content-Type is JSON
** (application/json or application/merge-patch+json), 400 when malformed,
** 422 when not an object. NULL means resp is filled. */
json_object *sc_api_body(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
