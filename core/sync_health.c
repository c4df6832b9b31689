/*
** sync_status upkeep (see sync_health.h).
*/
#include "sync_health.h"

#include <stdio.h>

#include "db.h"

int sc_sync_health_record(PGconn *conn, const char *org_id, const char *instance_id,
                          enum sc_health_event ev, const char *message, int64_t sync_ms,
                          struct sc_error *err) {
  static const char *const names[] = {"ok", "failed", "reauth"};
  char ms[24], failing[16];
  snprintf(ms, sizeof ms, "%lld", (long long)sync_ms);
  snprintf(failing, sizeof failing, "%d", SC_HEALTH_FAILING_AT);
  const char *p[6] = {org_id, instance_id, names[ev], ev == SC_HEALTH_OK ? NULL : message, ms,
                      failing};
  return sc_db_exec(conn,
      "INSERT INTO sync_status AS s (organization_id, instance_id, status, error_count,"
      " last_error, last_sync_at, last_duration_ms)"
      " VALUES ($1::uuid, $2::uuid,"
      "  (CASE $3 WHEN 'ok' THEN 'HEALTHY' WHEN 'reauth' THEN 'NEEDS_REAUTH'"
      "   ELSE 'DEGRADED' END)::sync_health,"
      "  CASE $3 WHEN 'ok' THEN 0 ELSE 1 END, $4,"
      "  CASE WHEN $5::bigint >= 0 THEN now() END, NULLIF($5::bigint, -1))"
      " ON CONFLICT (organization_id, instance_id) DO UPDATE SET"
      "  error_count = CASE $3 WHEN 'ok' THEN 0 ELSE s.error_count + 1 END,"
      "  status = (CASE WHEN $3 = 'ok' THEN 'HEALTHY'"
      "   WHEN $3 = 'reauth' OR s.status = 'NEEDS_REAUTH' THEN 'NEEDS_REAUTH'"
      "   WHEN s.error_count + 1 >= $6::int THEN 'FAILING' ELSE 'DEGRADED' END)::sync_health,"
      "  last_error = $4,"
      "  last_sync_at = CASE WHEN $5::bigint >= 0 THEN now() ELSE s.last_sync_at END,"
      "  last_duration_ms = coalesce(NULLIF($5::bigint, -1), s.last_duration_ms),"
      "  updated_at = now()",
      6, p, NULL, err);
}
