/*
** Schema migrations: applies the compiled-in core/sql/NNN_name.sql files in
** order, each with its schema_migrations row in one transaction.
*/
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"

/* Any constant works; it only has to be the same in every sidecald. */
#define SC_MIGRATE_LOCK_ID "727376001"

static int ensure_table(PGconn *conn, struct sc_error *err) {
  return sc_db_run(conn,
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY, name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())", err);
}

int sc_schema_version(PGconn *conn, int *version, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT to_regclass('schema_migrations') IS NULL",
                      0, NULL, &r, err);
  if (rc) return rc;
  int empty = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  *version = 0;
  if (empty) return SC_OK;
  rc = sc_db_exec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                  0, NULL, &r, err);
  if (rc) return rc;
  *version = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  return SC_OK;
}

static int refuse_newer(int have, struct sc_error *err) {
  const struct sc_migration *last = &sc_migrations[sc_migrations_count - 1];
  return sc_error_set(err, SC_ESTATE, NULL,
      "database schema is at version %d, newer than this build knows "
      "(latest here: %d %s); upgrade sidecal before using this database",
      have, last->version, last->name);
}

static int apply_one(PGconn *conn, const struct sc_migration *m,
                     struct sc_error *err) {
  char ver[16];
  snprintf(ver, sizeof ver, "%d", m->version);
  const char *params[2] = {ver, m->name};
  int rc = sc_db_run(conn, "BEGIN", err);
  if (!rc) rc = sc_db_run(conn, m->sql, err);
  if (!rc)
    rc = sc_db_exec(conn,
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        2, params, NULL, err);
  if (!rc) rc = sc_db_run(conn, "COMMIT", err);
  if (rc) {
    sc_db_rollback(conn);
    char inner[sizeof err->message];
    snprintf(inner, sizeof inner, "%s", err ? err->message : "");
    return sc_error_set(err, rc, NULL, "migration %03d_%s failed: %s",
                        m->version, m->name, inner);
  }
  sc_log_info("event=migrated version=%d name=%s", m->version, m->name);
  return SC_OK;
}

int sc_migrate(PGconn *conn, int *applied, struct sc_error *err) {
  int have = 0, rc, n = 0;
  if (applied) *applied = 0;
  /* Session lock: a second daemon waits here, then finds nothing to do. */
  rc = sc_db_run(conn, "SELECT pg_advisory_lock(" SC_MIGRATE_LOCK_ID ")", err);
  if (rc) return rc;
  rc = ensure_table(conn, err);
  if (!rc) rc = sc_schema_version(conn, &have, err);
  if (!rc && have > sc_migrations_count) rc = refuse_newer(have, err);
  for (int i = 0; !rc && i < sc_migrations_count; i++) {
    if (sc_migrations[i].version <= have) continue;
    rc = apply_one(conn, &sc_migrations[i], err);
    if (!rc) n++;
  }
  sc_db_run(conn, "SELECT pg_advisory_unlock(" SC_MIGRATE_LOCK_ID ")", NULL);
  if (applied) *applied = n;
  return rc;
}

int sc_schema_check(PGconn *conn, struct sc_error *err) {
  int have;
  int rc = sc_schema_version(conn, &have, err);
  if (rc) return rc;
  if (have > sc_migrations_count) return refuse_newer(have, err);
  if (have < sc_migrations_count)
    return sc_error_set(err, SC_ESTATE, NULL,
        "database schema is at version %d but this build needs %d; run "
        "`sidecalctl migrate`", have, sc_migrations_count);
  return SC_OK;
}
