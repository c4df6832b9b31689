/*
** HTTP handlers for rules, overrides and blocks: request parsing and status
** codes only; the three routes differ only in which schedule.h functions
** they call, so each handler names its table of functions.
*/
#include "api_schedule.h"

#include <stdlib.h>

#include "api_common.h"
#include "schedule.h"

struct sched_api {
  int (*list)(PGconn *, const struct sc_caller *, const struct sc_sched_filter *,
              json_object **, struct sc_error *);
  int (*get)(PGconn *, const struct sc_caller *, const char *, json_object **,
             struct sc_error *);
  int (*create)(PGconn *, const struct sc_caller *, json_object *, json_object **,
                struct sc_error *);
  int (*update)(PGconn *, const struct sc_caller *, const char *, json_object *,
                json_object **, struct sc_error *);
  int (*del)(PGconn *, const struct sc_caller *, const char *, struct sc_error *);
};

static const struct sched_api RULES = {sc_rules_list, sc_rule_get, sc_rule_create,
                                       sc_rule_update, sc_rule_delete};
static const struct sched_api OVERRIDES = {sc_overrides_list, sc_override_get,
                                           sc_override_create, sc_override_update,
                                           sc_override_delete};
static const struct sched_api BLOCKS = {sc_blocks_list, sc_block_get, sc_block_create,
                                        sc_block_update, sc_block_delete};

static void list(const struct sched_api *a, struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  struct sc_sched_filter f = {
    .location = sc_http_query(req, "location"), .staff = sc_http_query(req, "staff"),
    .source = sc_http_query(req, "source"), .limit = sc_http_query(req, "limit"),
    .cursor = sc_http_query(req, "cursor")};
  if (a == &RULES) f.day_of_week = sc_http_query(req, "day_of_week");
  if (a == &OVERRIDES) {
    f.from = sc_http_query(req, "from");
    f.to = sc_http_query(req, "to");
  }
  json_object *out = NULL;
  int rc = a->list(ctx.conn, &ctx.caller, &f, &out, &ctx.err);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

static void get(const struct sched_api *a, struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *out = NULL;
  int rc = a->get(ctx.conn, &ctx.caller, req->params[0], &out, &ctx.err);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

static void create(const struct sched_api *a, struct sc_http_req *req,
                   struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *body = sc_api_body(req, resp);
  if (!body) return sc_api_abort(&ctx);
  json_object *out = NULL;
  int rc = a->create(ctx.conn, &ctx.caller, body, &out, &ctx.err);
  json_object_put(body);
  sc_api_finish(&ctx, resp, rc, 201, out);
}

static void patch(const struct sched_api *a, struct sc_http_req *req,
                  struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  json_object *body = sc_api_body(req, resp);
  if (!body) return sc_api_abort(&ctx);
  json_object *out = NULL;
  int rc = a->update(ctx.conn, &ctx.caller, req->params[0], body, &out, &ctx.err);
  json_object_put(body);
  sc_api_finish(&ctx, resp, rc, 200, out);
}

static void del(const struct sched_api *a, struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_api_ctx ctx;
  if (sc_api_open(req, resp, &ctx)) return;
  int rc = a->del(ctx.conn, &ctx.caller, req->params[0], &ctx.err);
  sc_api_finish(&ctx, resp, rc, 204, NULL);
  if (resp->status == 204) {  /* no content: not even "null" */
    free(resp->body);
    resp->body = NULL;
  }
}

void sc_api_rules_list(struct sc_http_req *q, struct sc_http_resp *r) { list(&RULES, q, r); }
void sc_api_rules_get(struct sc_http_req *q, struct sc_http_resp *r) { get(&RULES, q, r); }
void sc_api_rules_create(struct sc_http_req *q, struct sc_http_resp *r) { create(&RULES, q, r); }
void sc_api_rules_patch(struct sc_http_req *q, struct sc_http_resp *r) { patch(&RULES, q, r); }
void sc_api_rules_delete(struct sc_http_req *q, struct sc_http_resp *r) { del(&RULES, q, r); }

void sc_api_overrides_list(struct sc_http_req *q, struct sc_http_resp *r) { list(&OVERRIDES, q, r); }
void sc_api_overrides_get(struct sc_http_req *q, struct sc_http_resp *r) { get(&OVERRIDES, q, r); }
void sc_api_overrides_create(struct sc_http_req *q, struct sc_http_resp *r) { create(&OVERRIDES, q, r); }
void sc_api_overrides_patch(struct sc_http_req *q, struct sc_http_resp *r) { patch(&OVERRIDES, q, r); }
void sc_api_overrides_delete(struct sc_http_req *q, struct sc_http_resp *r) { del(&OVERRIDES, q, r); }

void sc_api_blocks_list(struct sc_http_req *q, struct sc_http_resp *r) { list(&BLOCKS, q, r); }
void sc_api_blocks_get(struct sc_http_req *q, struct sc_http_resp *r) { get(&BLOCKS, q, r); }
void sc_api_blocks_create(struct sc_http_req *q, struct sc_http_resp *r) { create(&BLOCKS, q, r); }
void sc_api_blocks_patch(struct sc_http_req *q, struct sc_http_resp *r) { patch(&BLOCKS, q, r); }
void sc_api_blocks_delete(struct sc_http_req *q, struct sc_http_resp *r) { del(&BLOCKS, q, r); }
