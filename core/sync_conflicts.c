/*
** Listing and resolving sync conflicts (see sync_conflicts.h).
*/
#include "sync_conflicts.h"

#include <stdio.h>
#include <string.h>

#include "appointments.h"
#include "json_input.h"
#include "sqlbuf.h"
#include "sync_enqueue.h"
#include "uuid.h"

#define CONFLICT_JSON                                                                  \
  "SELECT json_build_object('id', c.id, 'entity', c.entity, 'entity_id', c.entity_id," \
  " 'instance', ci.name, 'ours', c.our_data, 'theirs', c.external_data, 'diff', c.diff," \
  " 'resolution', c.resolution, 'created_at', sc_utc(c.created_at),"                  \
  " 'resolved_at', sc_utc(c.resolved_at))::text"                                      \
  " FROM sync_conflicts c"                                                             \
  " JOIN appointments a ON a.organization_id = c.organization_id AND a.id = c.entity_id" \
  " LEFT JOIN connector_instances ci ON ci.organization_id = c.organization_id"       \
  "  AND ci.id = c.instance_id WHERE c.entity = 'appointment'"

int sc_conflicts_list(PGconn *conn, const struct sc_caller *caller, const char *status,
                      json_object **out, struct sc_error *err) {
  const char *st = status ? status : "open";
  if (strcmp(st, "open") && strcmp(st, "resolved") && strcmp(st, "all"))
    return sc_error_set(err, SC_EINVAL, "status", "status: expected open, resolved or all");
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, CONFLICT_JSON);
  if (!strcmp(st, "open")) sc_sqlbuf_add(&b, " AND c.resolved_at IS NULL");
  if (!strcmp(st, "resolved")) sc_sqlbuf_add(&b, " AND c.resolved_at IS NOT NULL");
  sc_appt_scope_where(&b, caller);
  sc_sqlbuf_add(&b, " ORDER BY c.created_at DESC, c.id LIMIT 500");
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  json_object *data = json_object_new_array();
  for (int i = 0; i < PQntuples(r); i++)
    json_object_array_add(data, json_tokener_parse(PQgetvalue(r, i, 0)));
  PQclear(r);
  *out = json_object_new_object();
  json_object_object_add(*out, "data", data);
  return SC_OK;
}

struct found {
  char org[37], appt[37], instance[37];
  int resolved;
};

static int load(PGconn *conn, const struct sc_caller *caller, const char *id, struct found *f,
                struct sc_error *err) {
  if (!sc_uuid_valid(id)) return sc_error_set(err, SC_ENOTFOUND, "id", "no conflict %s", id);
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "SELECT c.organization_id, c.entity_id, coalesce(c.instance_id::text, ''),"
                     " c.resolved_at IS NOT NULL FROM sync_conflicts c JOIN appointments a"
                     " ON a.organization_id = c.organization_id AND a.id = c.entity_id"
                     " WHERE c.entity = 'appointment'");
  sc_sqlbuf_bind(&b, " AND c.id = %s::uuid", id);
  sc_appt_scope_where(&b, caller);
  sc_sqlbuf_add(&b, " FOR UPDATE OF c, a");
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, "id", "no conflict %s", id);
  }
  snprintf(f->org, sizeof f->org, "%s", PQgetvalue(r, 0, 0));
  snprintf(f->appt, sizeof f->appt, "%s", PQgetvalue(r, 0, 1));
  snprintf(f->instance, sizeof f->instance, "%s", PQgetvalue(r, 0, 2));
  f->resolved = PQgetvalue(r, 0, 3)[0] == 't';
  PQclear(r);
  return SC_OK;
}

static int keep_theirs(PGconn *conn, const struct found *f, const char *id,
                       struct sc_error *err) {
  const char *p[3] = {f->org, f->appt, id};
  int rc = sc_db_exec(conn,
      "UPDATE appointments a SET starts_at = (c.external_data ->> 'starts_at')::timestamptz,"
      " ends_at = (c.external_data ->> 'ends_at')::timestamptz,"
      " title = NULLIF(c.external_data ->> 'title', ''),"
      " status = CASE WHEN (c.external_data ->> 'cancelled')::boolean THEN 'CANCELLED'"
      "  WHEN a.status = 'CANCELLED' THEN 'CONFIRMED' ELSE a.status END,"
      " cancelled_at = CASE WHEN (c.external_data ->> 'cancelled')::boolean"
      "  THEN coalesce(a.cancelled_at, now()) END,"
      " version = a.version + 1, updated_at = now()"
      " FROM sync_conflicts c WHERE c.organization_id = $1::uuid AND c.id = $3::uuid"
      " AND a.organization_id = $1::uuid AND a.id = $2::uuid", 3, p, NULL, err);
  if (rc == SC_ECONFLICT)
    return sc_error_set(err, SC_ECONFLICT, "keep",
                        "keep: their time overlaps another appointment of this staff member");
  if (rc) return rc;
  return sc_outbox_enqueue_except(conn, f->org, f->appt, SC_JOB_UPDATE,
                                  *f->instance ? f->instance : NULL, NULL, err);
}

static int keep_ours(PGconn *conn, const struct found *f, struct sc_error *err) {
  if (!*f->instance) return SC_OK;
  const char *p[3] = {f->org, f->instance, f->appt};
  return sc_db_exec(conn, "INSERT INTO sync_jobs (organization_id, instance_id, appointment_id, kind)"
                          " VALUES ($1::uuid, $2::uuid, $3::uuid, 'update')", 3, p, NULL, err);
}

int sc_conflict_resolve(PGconn *conn, const struct sc_caller *caller, const char *id,
                        json_object *body, json_object **out, struct sc_error *err) {
  static const char *const keys[] = {"keep", NULL};
  enum sc_json_has has;
  const char *keep = NULL;
  int rc = sc_json_only_keys(body, keys, err);
  if (!rc) rc = sc_json_string(body, "keep", &has, &keep, 16, err);
  if (rc) return rc;
  if (!keep || (strcmp(keep, "ours") && strcmp(keep, "theirs")))
    return sc_error_set(err, SC_EINVAL, "keep", "keep: expected \"ours\" or \"theirs\"");
  struct found f;
  if ((rc = load(conn, caller, id, &f, err))) return rc;
  if (f.resolved) return sc_error_set(err, SC_ECONFLICT, "id", "conflict %s is already resolved", id);
  rc = !strcmp(keep, "ours") ? keep_ours(conn, &f, err) : keep_theirs(conn, &f, id, err);
  const char *p[3] = {f.org, id, !strcmp(keep, "ours") ? "RESOLVED_KEEP_OURS" : "RESOLVED_KEEP_THEIRS"};
  if (!rc)
    rc = sc_db_exec(conn, "UPDATE sync_conflicts SET resolution = $3, resolved_at = now()"
                          " WHERE organization_id = $1::uuid AND id = $2::uuid", 3, p, NULL, err);
  if (rc) return rc;
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, CONFLICT_JSON);
  sc_sqlbuf_bind(&b, " AND c.id = %s::uuid", id);
  PGresult *r;
  rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  *out = json_tokener_parse(PQgetvalue(r, 0, 0));
  PQclear(r);
  return SC_OK;
}
