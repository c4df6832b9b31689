/*
** GET /health: process liveness plus a database round trip.
*/
#include "api_health.h"
#include "sync_metrics.h"

#include <string.h>
#include <time.h>

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

/* ---- /health/calendar --------------------------------------------------- */

#include <stdlib.h>

#include "api_common.h"
#include "appointments.h"
#include "sqlbuf.h"

/* Connector instances the caller may see (alias ci). */
static void instance_scope(struct sc_sqlbuf *b, const struct sc_caller *c) {
  if (c->role == SC_ROLE_LOCATION_STAFF) {
    sc_sqlbuf_bind(b, " AND (ci.location_id = %s::uuid", c->location_id);
    sc_sqlbuf_bind(b, " OR ci.staff_id = NULLIF(%s, '')::uuid)", c->staff_id);
  } else if (c->role == SC_ROLE_STAFF) {
    sc_sqlbuf_bind(b, " AND ci.staff_id = %s::uuid", c->staff_id);
  }
}

static int count_today(PGconn *conn, const struct sc_caller *c, long *n,
                       struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "SELECT count(*) FROM appointments a WHERE a.status <> 'CANCELLED'"
                     " AND a.starts_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
                     " AND a.starts_at < (date_trunc('day', now() AT TIME ZONE 'UTC')"
                     "   + interval '1 day') AT TIME ZONE 'UTC'");
  if (c) sc_appt_scope_where(&b, c);
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  *n = atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  return SC_OK;
}

/* One row per active instance; no sync yet counts as healthy (nothing failed). */
static int instances(PGconn *conn, const struct sc_caller *c, PGresult **r,
                     struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "SELECT ci.name, ci.plugin, coalesce(ss.status::text, 'HEALTHY'),"
                     " sc_utc(ss.last_sync_at), ss.last_duration_ms, coalesce(ss.error_count, 0),"
                     " ss.last_error FROM connector_instances ci"
                     " LEFT JOIN sync_status ss ON ss.organization_id = ci.organization_id"
                     " AND ss.instance_id = ci.id WHERE ci.active");
  if (c) instance_scope(&b, c);
  sc_sqlbuf_add(&b, " ORDER BY ci.name");
  int rc = sc_sqlbuf_exec(conn, &b, r, err);
  sc_sqlbuf_free(&b);
  return rc;
}

static json_object *instance_json(PGresult *r, int i) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "instance", json_object_new_string(PQgetvalue(r, i, 0)));
  json_object_object_add(o, "plugin", json_object_new_string(PQgetvalue(r, i, 1)));
  json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, i, 2)));
  json_object_object_add(o, "last_sync_at",
      PQgetisnull(r, i, 3) ? NULL : json_object_new_string(PQgetvalue(r, i, 3)));
  json_object_object_add(o, "last_duration_ms",
      PQgetisnull(r, i, 4) ? NULL : json_object_new_int(atoi(PQgetvalue(r, i, 4))));
  json_object_object_add(o, "error_count", json_object_new_int(atoi(PQgetvalue(r, i, 5))));
  json_object_object_add(o, "last_error",
      PQgetisnull(r, i, 6) ? NULL : json_object_new_string(PQgetvalue(r, i, 6)));
  return o;
}

static int build_health(PGconn *conn, const struct sc_caller *c, json_object **out,
                        struct sc_error *err) {
  long today = 0;
  PGresult *r = NULL;
  long pending = 0, dead = 0;
  int rc = count_today(conn, c, &today, err);
  if (!rc) rc = sc_sync_job_counts(conn, &pending, &dead, err);
  if (!rc) rc = instances(conn, c, &r, err);
  if (rc) return rc;
  int total = PQntuples(r), healthy = 0, timed = 0;
  double latency = 0;
  json_object *detail = c ? json_object_new_array() : NULL;
  for (int i = 0; i < total; i++) {
    healthy += !strcmp(PQgetvalue(r, i, 2), "HEALTHY");
    if (!PQgetisnull(r, i, 4)) latency += atof(PQgetvalue(r, i, 4)), timed++;
    if (detail) json_object_array_add(detail, instance_json(r, i));
  }
  PQclear(r);
  json_object *m = json_object_new_object();
  char health[64];
  snprintf(health, sizeof health, "%d/%d healthy", healthy, total);
  json_object_object_add(m, "today_appointments", json_object_new_int64(today));
  json_object_object_add(m, "sync_health", json_object_new_string(health));
  json_object_object_add(m, "avg_sync_latency_ms",
                         timed ? json_object_new_int((int)(latency / timed + 0.5)) : NULL);
  json_object_object_add(m, "sync_jobs_pending", json_object_new_int64(pending));
  json_object_object_add(m, "sync_jobs_dead", json_object_new_int64(dead));
  json_object *o = json_object_new_object();
  json_object_object_add(o, "status", json_object_new_string(healthy == total && !dead ? "healthy" : "degraded"));
  json_object_object_add(o, "metrics", m);
  if (detail) json_object_object_add(o, "instances", detail);
  *out = o;
  return SC_OK;
}

static void add_timestamp(json_object *o) {
  char ts[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_object_object_add(o, "timestamp", json_object_new_string(ts));
}

void sc_api_health_calendar(struct sc_http_req *req, struct sc_http_resp *resp) {
  json_object *out = NULL;
  if (sc_http_header(req, "Authorization")) {
    struct sc_api_ctx ctx;
    if (sc_api_open(req, resp, &ctx)) return;
    int rc = build_health(ctx.conn, &ctx.caller, &out, &ctx.err);
    if (!rc) add_timestamp(out);
    sc_api_finish(&ctx, resp, rc, 200, out);
    return;
  }
  /* Anonymous: aggregate over all tenants, reported without names. */
  struct sc_app *app = req->app;
  struct sc_tenant all = {.platform_admin = 1};
  struct sc_error err;
  PGconn *c = sc_db_acquire(app->pool);
  int rc = sc_db_begin(c, &all, &err);
  if (!rc) rc = build_health(c, NULL, &out, &err);
  if (!rc) rc = sc_db_commit(c, &err);
  if (rc) sc_db_rollback(c);
  sc_db_release(app->pool, c);
  if (rc) return sc_http_from_error(resp, &err);
  add_timestamp(out);
  sc_http_json(resp, 200, out);
}
