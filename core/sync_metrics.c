/*
** Sync gauges for /metrics and job counts for /health/calendar (see
** sync_metrics.h).
*/
#include "sync_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sc_sync_job_counts(PGconn *conn, long *pending, long *dead, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT count(*) FILTER (WHERE state IN ('pending', 'running')),"
      " count(*) FILTER (WHERE state = 'dead') FROM sync_jobs", 0, NULL, &r, err);
  if (rc) return rc;
  *pending = atol(PQgetvalue(r, 0, 0));
  *dead = atol(PQgetvalue(r, 0, 1));
  PQclear(r);
  return SC_OK;
}

static const char *const SQL =
    "SELECT 'sidecal_sync_jobs{state=\"' || s || '\"} '"
    "  || (SELECT count(*) FROM sync_jobs j WHERE j.state::text = s)"
    " FROM unnest(ARRAY['pending', 'running', 'done', 'dead']) s"
    " UNION ALL SELECT 'sidecal_webhook_inbox_pending ' || count(*) FROM sync_inbox"
    "  WHERE processed_at IS NULL"
    " UNION ALL SELECT 'sidecal_webhook_inbox_failed ' || count(*) FROM sync_inbox"
    "  WHERE processed_at IS NOT NULL AND error IS NOT NULL"
    " UNION ALL SELECT 'sidecal_sync_instances{status=\"' || h || '\"} '"
    "  || (SELECT count(*) FROM connector_instances ci LEFT JOIN sync_status ss"
    "   ON ss.organization_id = ci.organization_id AND ss.instance_id = ci.id"
    "   WHERE ci.active AND coalesce(ss.status::text, 'HEALTHY') = h)"
    " FROM unnest(ARRAY['HEALTHY', 'DEGRADED', 'FAILING', 'NEEDS_REAUTH']) h";

char *sc_sync_metrics_text(struct sc_db_pool *pool) {
  static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};
  struct sc_error err;
  PGconn *c = sc_db_acquire(pool);
  PGresult *r = NULL;
  int rc = sc_db_begin(c, &platform, &err);
  if (!rc) rc = sc_db_exec(c, SQL, 0, NULL, &r, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(pool, c);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f) return strdup("");
  if (rc) {
    fprintf(f, "# sidecal_sync_*: the database did not answer\n");
  } else {
    fputs("# HELP sidecal_sync_jobs Outbox sync jobs by state.\n"
          "# TYPE sidecal_sync_jobs gauge\n", f);
    for (int i = 0; i < PQntuples(r); i++) {
      const char *line = PQgetvalue(r, i, 0);
      if (!strncmp(line, "sidecal_webhook_inbox_pending", 29))
        fputs("# HELP sidecal_webhook_inbox_pending Webhook deliveries stored, not yet applied.\n"
              "# TYPE sidecal_webhook_inbox_pending gauge\n", f);
      if (!strncmp(line, "sidecal_webhook_inbox_failed", 28))
        fputs("# HELP sidecal_webhook_inbox_failed Webhook deliveries that failed to apply.\n"
              "# TYPE sidecal_webhook_inbox_failed gauge\n", f);
      if (!strncmp(line, "sidecal_sync_instances{status=\"HEALTHY\"}", 40))
        fputs("# HELP sidecal_sync_instances Active connector instances by sync health.\n"
              "# TYPE sidecal_sync_instances gauge\n", f);
      fprintf(f, "%s\n", line);
    }
  }
  PQclear(r);
  fclose(f);
  return out;
}
