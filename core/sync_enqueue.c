/*
** Writing outbox jobs in the caller's transaction (see sync_enqueue.h).
*/
#include "sync_enqueue.h"

#include <stdlib.h>

#include "db.h"
#include "registry.h"

const char *sc_job_kind_name(enum sc_job_kind kind) {
  switch (kind) {
  case SC_JOB_CREATE: return "create";
  case SC_JOB_UPDATE: return "update";
  case SC_JOB_CANCEL: return "cancel";
  }
  return "update";
}

/* On every appointment write: prepared once per connection. */
static const char SQL_ENQUEUE[] =
    "INSERT INTO sync_jobs (organization_id, instance_id, appointment_id, kind)"
    " SELECT a.organization_id, ci.id, a.id, $3::sync_job_kind"
    " FROM appointments a JOIN connector_instances ci"
    "   ON ci.organization_id = a.organization_id"
    " WHERE coalesce(a.organization_id = NULLIF($1, '')::uuid, true) AND a.id = $2::uuid"
    "   AND ($4::uuid IS NULL OR ci.id <> $4::uuid)"
    "   AND ((ci.active AND (ci.location_id = a.location_id OR ci.staff_id = a.staff_id)"
    "         AND NOT EXISTS (SELECT 1 FROM sync_plugin_caps pc"
    "                         WHERE pc.plugin = ci.plugin AND NOT pc.can_write))"
    "        OR EXISTS (SELECT 1 FROM appointment_links l"
    "                   WHERE l.organization_id = a.organization_id"
    "                     AND l.instance_id = ci.id AND l.appointment_id = a.id))";

int sc_outbox_enqueue_except(PGconn *conn, const char *org_id, const char *appointment_id,
                             enum sc_job_kind kind, const char *except_instance,
                             int *n, struct sc_error *err) {
  const char *p[4] = {org_id, appointment_id, sc_job_kind_name(kind), except_instance};
  PGresult *r;
  int rc = sc_db_exec_prep(conn, SQL_ENQUEUE, 4, p, &r, err);
  if (rc) return rc;
  if (n) *n = atoi(PQcmdTuples(r));
  PQclear(r);
  return SC_OK;
}

struct sc_db_stmt sc_outbox_enqueue_stmt(const char *org_id, const char *appointment_id,
                                         enum sc_job_kind kind, const char *params[4]) {
  params[0] = org_id;
  params[1] = appointment_id;
  params[2] = sc_job_kind_name(kind);
  params[3] = NULL;
  return (struct sc_db_stmt){SQL_ENQUEUE, 4, params, NULL};
}

int sc_outbox_enqueue(PGconn *conn, const char *org_id, const char *appointment_id,
                      enum sc_job_kind kind, struct sc_error *err) {
  return sc_outbox_enqueue_except(conn, org_id, appointment_id, kind, NULL, NULL, err);
}

int sc_outbox_record_caps(PGconn *conn, const struct sc_generation *gen, struct sc_error *err) {
  for (size_t i = 0; i < gen->n_plugins; i++) {
    const struct sc_plugin *p = gen->plugins[i].plugin;
    if (!p) continue;
    const char *q[3] = {p->name, (p->desc.capabilities & SIDECAL_CAP_WRITE_EVENTS) ? "t" : "f",
                        (p->desc.capabilities & SIDECAL_CAP_READ_EVENTS) ? "t" : "f"};
    int rc = sc_db_exec(conn,
        "INSERT INTO sync_plugin_caps (plugin, can_write, can_read)"
        " VALUES ($1, $2::boolean, $3::boolean) ON CONFLICT (plugin) DO UPDATE"
        " SET can_write = EXCLUDED.can_write, can_read = EXCLUDED.can_read, updated_at = now()"
        " WHERE (sync_plugin_caps.can_write, sync_plugin_caps.can_read)"
        "  IS DISTINCT FROM (EXCLUDED.can_write, EXCLUDED.can_read)", 3, q, NULL, err);
    if (rc) return rc;
  }
  return SC_OK;
}
