/*
** sidecalctl sync-status: every active connector instance with its sync
** health (HEALTHY / DEGRADED / FAILING / NEEDS_REAUTH), last sync, error
** count, last error, its queued and dead outbox jobs, when it is next due
** and which daemon thread is syncing it right now (a held, unexpired
** lease), so an instance whose credentials fail, or whose sync is stuck,
** is visible from the command line too.
*/
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "sync_outbox.h"

int sc_cmd_sync_status(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fputs("usage: sidecalctl sync-status\n", stderr);
    return 2;
  }
  const char *url = sc_db_url_from_env();
  if (!url) {
    fputs("sidecalctl: sync-status: set SIDECAL_DATABASE_URL (scripts/pg url prints the private one)\n",
          stderr);
    return 2;
  }
  struct sc_error err;
  struct sc_db_pool *pool;
  if (sc_db_pool_open(url, 1, &pool, &err)) {
    fprintf(stderr, "sidecalctl: sync-status: %s\n", err.message);
    return 1;
  }
  struct sc_tenant admin = {.platform_admin = 1};
  PGconn *c = sc_db_acquire(pool);
  PGresult *r = NULL;
  int rc = sc_db_begin(c, &admin, &err);
  if (!rc)
    rc = sc_db_exec(c,
        "SELECT ci.name, coalesce(ss.status::text, 'HEALTHY'), coalesce(sc_utc(ss.last_sync_at), '-'),"
        " coalesce(ss.error_count, 0),"
        " (SELECT count(*) FROM sync_jobs j WHERE j.organization_id = ci.organization_id"
        "   AND j.instance_id = ci.id AND j.state IN ('pending', 'running')),"
        " (SELECT count(*) FROM sync_jobs j WHERE j.organization_id = ci.organization_id"
        "   AND j.instance_id = ci.id AND j.state = 'dead'),"
        " coalesce(sc_utc(l.next_sync_at), '-'),"
        " CASE WHEN l.holder IS NOT NULL AND l.expires_at > now() THEN l.holder ELSE '-' END,"
        " coalesce(ss.last_error, '-')"
        " FROM connector_instances ci LEFT JOIN sync_status ss"
        "  ON ss.organization_id = ci.organization_id AND ss.instance_id = ci.id"
        " LEFT JOIN sync_leases l ON l.organization_id = ci.organization_id AND l.instance_id = ci.id"
        " WHERE ci.active ORDER BY ci.name", 0, NULL, &r, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
  if (rc) {
    fprintf(stderr, "sidecalctl: sync-status: %s\n", err.message);
    PQclear(r);
    return 1;
  }
  printf("INSTANCE  STATUS  LAST_SYNC  ERRORS  QUEUED  DEAD  NEXT_SYNC  SYNCING  LAST_ERROR\n");
  for (int i = 0; i < PQntuples(r); i++) {
    for (int k = 0; k < 8; k++) printf("%s  ", PQgetvalue(r, i, k));
    printf("%s\n", PQgetvalue(r, i, 8));
  }
  PQclear(r);
  return 0;
}
