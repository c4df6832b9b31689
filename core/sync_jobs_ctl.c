/*
** sidecalctl jobs: list outbox jobs (all not yet done, or only the dead
** letters) and put a job back in line by hand.
**   jobs [--dead]   id, state, attempts, instance, appointment, kind,
**                   next run (UTC), last error; one job per line
**   jobs retry ID   dead or pending job: due now, attempts reset
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sync_outbox.h"

#define JOBS_USAGE "usage: sidecalctl jobs [--dead] | sidecalctl jobs retry ID\n"

static int open_conn(struct sc_db_pool **pool, PGconn **c) {
  const char *url = sc_db_url_from_env();
  struct sc_error err;
  if (!url) {
    fprintf(stderr, "sidecalctl: jobs: set SIDECAL_DATABASE_URL (scripts/pg url prints the private one)\n");
    return 2;
  }
  if (sc_db_pool_open(url, 1, pool, &err)) {
    fprintf(stderr, "sidecalctl: jobs: %s\n", err.message);
    return 1;
  }
  *c = sc_db_acquire(*pool);
  struct sc_tenant admin = {.platform_admin = 1};
  if (sc_db_begin(*c, &admin, &err)) {
    fprintf(stderr, "sidecalctl: jobs: %s\n", err.message);
    sc_db_release(*pool, *c);
    sc_db_pool_close(*pool);
    return 1;
  }
  return 0;
}

static int close_conn(struct sc_db_pool *pool, PGconn *c, int rc, struct sc_error *err) {
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
  return rc;
}

static int list(int dead_only) {
  struct sc_db_pool *pool;
  PGconn *c;
  int rc = open_conn(&pool, &c);
  if (rc) return rc;
  struct sc_error err;
  PGresult *r = NULL;
  const char *p[1] = {dead_only ? "t" : "f"};
  rc = sc_db_exec(c,
      "SELECT j.id, j.state, j.attempts, ci.name, j.appointment_id, j.kind,"
      " sc_utc(CASE WHEN j.state = 'dead' THEN j.dead_at ELSE j.next_run_at END),"
      " coalesce(j.last_error, '-')"
      " FROM sync_jobs j JOIN connector_instances ci"
      "  ON ci.organization_id = j.organization_id AND ci.id = j.instance_id"
      " WHERE CASE WHEN $1::boolean THEN j.state = 'dead' ELSE j.state <> 'done' END"
      " ORDER BY j.id", 1, p, &r, &err);
  rc = close_conn(pool, c, rc, &err);
  if (rc) {
    fprintf(stderr, "sidecalctl: jobs: %s\n", err.message);
    PQclear(r);
    return 1;
  }
  printf("ID  STATE  ATTEMPTS  INSTANCE  APPOINTMENT  KIND  %s  LAST_ERROR\n",
         dead_only ? "DEAD_AT" : "NEXT_RUN");
  for (int i = 0; i < PQntuples(r); i++)
    printf("%s  %s  %s  %s  %s  %s  %s  %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
           PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
           PQgetvalue(r, i, 6), PQgetvalue(r, i, 7));
  PQclear(r);
  return 0;
}

static int retry(const char *arg) {
  char *end = NULL;
  long long id = strtoll(arg, &end, 10);
  if (!*arg || *end || id <= 0) {
    fprintf(stderr, "sidecalctl: jobs retry: \"%.32s\" is not a job id (a positive number)\n", arg);
    return 2;
  }
  struct sc_db_pool *pool;
  PGconn *c;
  int rc = open_conn(&pool, &c);
  if (rc) return rc;
  struct sc_error err;
  rc = close_conn(pool, c, sc_outbox_retry(c, id, &err), &err);
  if (rc) {
    fprintf(stderr, "sidecalctl: jobs retry: %s\n", err.message);
    return rc == SC_ENOTFOUND || rc == SC_ESTATE ? 2 : 1;
  }
  printf("job %lld is due now\n", id);
  return 0;
}

int sc_cmd_jobs(int argc, char **argv) {
  if (argc == 1) return list(0);
  if (argc == 2 && !strcmp(argv[1], "--dead")) return list(1);
  if (argc == 3 && !strcmp(argv[1], "retry")) return retry(argv[2]);
  fputs(JOBS_USAGE, stderr);
  return 2;
}
