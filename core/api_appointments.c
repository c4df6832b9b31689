/*
** HTTP handlers for appointments: request parsing and status codes only;
** the rules live in appointments.c / appointment_write.c.
*/
#include "api_appointments.h"

#include <stdio.h>
#include <stdlib.h>

#include "api_common.h"
#include "appointments.h"
#include "json_input.h"

/* ETag = the appointment's version, so If-Match can detect lost updates. */
static void add_etag(struct sc_http_resp *resp, json_object *appt) {
  json_object *v;
  if (!appt || !json_object_object_get_ex(appt, "version", &v) || resp->n_extra >= 8) return;
  char *h = malloc(48);
  snprintf(h, 48, "ETag: \"%d\"", json_object_get_int(v));
  resp->extra_headers[resp->n_extra++] = h;
}

void sc_api_appointments_list(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  struct sc_appt_filter f = {
    .from = sc_http_query(req, "from"), .to = sc_http_query(req, "to"),
    .location = sc_http_query(req, "location"), .staff = sc_http_query(req, "staff"),
    .status = sc_http_query(req, "status"), .limit = sc_http_query(req, "limit"),
    .cursor = sc_http_query(req, "cursor")};
  json_object *out = NULL;
  int rc = sc_appt_list(ctx.conn, &ctx.caller, &f, &out, &ctx.err);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

void sc_api_appointments_get(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *out = NULL;
  int rc = sc_appt_get(ctx.conn, &ctx.caller, req->params[0], &out, &ctx.err);
  if (!rc) add_etag(resp, out);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

void sc_api_appointments_create(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx) || sc_api_idempotent(&ctx, req, resp)) return;
  json_object *body = sc_api_body(req, resp);
  if (!body) return sc_api_abort(&ctx);
  json_object *out = NULL;
  int rc = sc_appt_create(ctx.conn, &ctx.caller, body, &out, &ctx.err);
  json_object_put(body);
  if (!rc) add_etag(resp, out);
  sc_api_finish(&ctx, resp, rc, 201, out);
}

void sc_api_appointments_patch(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *body = sc_api_body(req, resp);
  if (!body) return sc_api_abort(&ctx);
  json_object *out = NULL;
  int rc = sc_appt_update(ctx.conn, &ctx.caller, req->params[0], body,
                          sc_http_header(req, "If-Match"), &out, &ctx.err);
  json_object_put(body);
  if (!rc) add_etag(resp, out);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

/* The body is optional: {"reason": "..."}. */
void sc_api_appointments_cancel(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx) || sc_api_idempotent(&ctx, req, resp)) return;
  json_object *body = NULL;
  const char *reason = NULL;
  if (req->body_len > 0) {
    if (!(body = sc_api_body(req, resp))) return sc_api_abort(&ctx);
    static const char *const keys[] = {"reason", NULL};
    enum sc_json_has has;
    int rc = sc_json_only_keys(body, keys, &ctx.err);
    if (!rc) rc = sc_json_string(body, "reason", &has, &reason, 2000, &ctx.err);
    if (rc) {
      json_object_put(body);
      return sc_api_finish(&ctx, resp, rc, 200, NULL);
    }
  }
  json_object *out = NULL;
  int rc = sc_appt_cancel(ctx.conn, &ctx.caller, req->params[0], reason, &out, &ctx.err);
  json_object_put(body);
  sc_api_finish(&ctx, resp, rc, 200, out);
}
