/*
** GET /health: process liveness plus a database round trip.
*/
#include "api_health.h"

#include "app.h"

void sc_api_health(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  PGconn *c = sc_db_acquire(app->pool);
  struct sc_error err;
  int rc = sc_db_run(c, "SELECT 1", &err);
  sc_db_release(app->pool, c);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "status", json_object_new_string(rc ? "degraded" : "ok"));
  json_object_object_add(o, "database", json_object_new_string(rc ? "unreachable" : "ok"));
  json_object_object_add(o, "version", json_object_new_string(app->version));
  sc_http_json(resp, rc ? 503 : 200, o);
}
