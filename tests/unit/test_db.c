/* Tests for core/db.c: the application role and row-level security. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "testdb.h"

static const char *ORG_A = "aaaaaaaa-0000-0000-0000-000000000001";
static const char *ORG_B = "bbbbbbbb-0000-0000-0000-000000000002";

static void seed_two_orgs(PGconn *c) {
  g_free(sc_test_db_value(c,
      "INSERT INTO organizations (organization_id, slug, name) VALUES"
      " ('aaaaaaaa-0000-0000-0000-000000000001', 'org-a', 'A'),"
      " ('bbbbbbbb-0000-0000-0000-000000000002', 'org-b', 'B');"
      "INSERT INTO locations (organization_id, id, slug, name, timezone) VALUES"
      " ('aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-1111-0000-0000-000000000001', 'l', 'L', 'UTC'),"
      " ('bbbbbbbb-0000-0000-0000-000000000002', 'bbbbbbbb-1111-0000-0000-000000000002', 'l', 'L', 'UTC');"
      "INSERT INTO appointments (organization_id, location_id, starts_at, ends_at, timezone, title)"
      " SELECT 'aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-1111-0000-0000-000000000001',"
      "   now() + g * interval '1 hour', now() + g * interval '1 hour' + interval '30 min', 'UTC', 'a' FROM generate_series(1, 3) g;"
      "INSERT INTO appointments (organization_id, location_id, starts_at, ends_at, timezone, title)"
      " SELECT 'bbbbbbbb-0000-0000-0000-000000000002', 'bbbbbbbb-1111-0000-0000-000000000002',"
      "   now() + g * interval '1 hour', now() + g * interval '1 hour' + interval '30 min', 'UTC', 'b' FROM generate_series(1, 5) g"));
}

static char *count_in_tx(PGconn *c, const struct sc_tenant *t, const char *sql) {
  struct sc_error err;
  PGresult *r;
  g_assert_cmpint(sc_db_begin(c, t, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_exec(c, sql, 0, NULL, &r, &err), ==, SC_OK);
  char *v = g_strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  return v;
}

/* The query "forgets" its organization filter; RLS still scopes it. */
static void test_rls_hides_foreign_rows(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *owner = sc_test_db_connect(&db);
  seed_two_orgs(owner);
  struct sc_db_pool *pool;
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(db.url, 2, &pool, &err), ==, SC_OK);
  PGconn *c = sc_db_acquire(pool);
  struct sc_tenant a = {0}, b = {0}, none = {0}, admin = {.platform_admin = 1};
  strcpy(a.org_id, ORG_A);
  strcpy(b.org_id, ORG_B);
  const char *q = "SELECT count(*) || '/' || count(DISTINCT organization_id) FROM appointments";
  char *v;
  v = count_in_tx(c, &a, q); g_assert_cmpstr(v, ==, "3/1"); g_free(v);
  v = count_in_tx(c, &b, q); g_assert_cmpstr(v, ==, "5/1"); g_free(v);
  v = count_in_tx(c, &none, q); g_assert_cmpstr(v, ==, "0/0"); g_free(v);
  v = count_in_tx(c, &admin, q); g_assert_cmpstr(v, ==, "8/2"); g_free(v);
  v = count_in_tx(c, &a, "SELECT count(*) FROM organizations"); g_assert_cmpstr(v, ==, "1"); g_free(v);
  /* The setting is transaction-local: outside a transaction nothing shows. */
  PGresult *r;
  g_assert_cmpint(sc_db_exec(c, q, 0, NULL, &r, &err), ==, SC_OK);
  g_assert_cmpstr(PQgetvalue(r, 0, 0), ==, "0/0");
  PQclear(r);
  /* Writing into another organization is refused, and nothing changes. */
  g_assert_cmpint(sc_db_begin(c, &a, &err), ==, SC_OK);
  const char *p[1] = {ORG_B};
  int rc = sc_db_exec(c,
      "INSERT INTO appointments (organization_id, location_id, starts_at, ends_at, timezone)"
      " VALUES ($1, 'bbbbbbbb-1111-0000-0000-000000000002', now(), now() + interval '1 hour', 'UTC')",
      1, p, NULL, &err);
  g_assert_cmpint(rc, ==, SC_EDB);
  g_assert_cmpstr(err.message, ==,
      "database error 42501: new row violates row-level security policy for table \"appointments\"");
  sc_db_rollback(c);
  /* Updates without a filter touch only the caller's rows. */
  g_assert_cmpint(sc_db_begin(c, &a, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_exec(c, "UPDATE appointments SET title = 'x'", 0, NULL, &r, &err), ==, SC_OK);
  g_assert_cmpstr(PQcmdTuples(r), ==, "3");
  PQclear(r);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  v = sc_test_db_value(owner, "SELECT count(*) FROM appointments WHERE title = 'b'");
  g_assert_cmpstr(v, ==, "5");
  g_free(v);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
  PQfinish(owner);
  sc_test_db_drop(&db);
}

static void expect_role_refused(const char *url, const char *role, const char *why) {
  struct sc_db_pool *pool = NULL;
  struct sc_error err;
  g_setenv("SIDECAL_APP_ROLE", role, TRUE);
  g_assert_cmpint(sc_db_pool_open(url, 1, &pool, &err), ==, SC_ESTATE);
  g_unsetenv("SIDECAL_APP_ROLE");
  g_assert_null(pool);
  char *expect = g_strdup_printf(
      "refusing to run as database role \"%s\": %s; row-level security would "
      "not bind it (use a role that is not a superuser, has no BYPASSRLS and "
      "owns no table)", role, why);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
}

static void test_privileged_roles_refused(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *owner = sc_test_db_connect(&db);
  char *suffix = g_strdup_printf("%08x", g_random_int());
  char *bypass = g_strdup_printf("sc_bypass_%s", suffix);
  char *owns = g_strdup_printf("sc_owner_%s", suffix);
  char *sql = g_strdup_printf(
      "CREATE ROLE %s NOLOGIN BYPASSRLS; CREATE ROLE %s NOLOGIN;"
      "CREATE TABLE owned_%s (x int); ALTER TABLE owned_%s OWNER TO %s",
      bypass, owns, suffix, suffix, owns);
  g_free(sc_test_db_value(owner, sql));
  g_free(sql);
  expect_role_refused(db.url, "postgres", "it is a superuser");
  expect_role_refused(db.url, bypass, "it has BYPASSRLS");
  expect_role_refused(db.url, owns, "it owns tables");
  sql = g_strdup_printf("DROP TABLE owned_%s; DROP ROLE %s; DROP ROLE %s", suffix, bypass, owns);
  g_free(sc_test_db_value(owner, sql));
  g_free(sql);
  g_free(bypass);
  g_free(owns);
  g_free(suffix);
  PQfinish(owner);
  sc_test_db_drop(&db);
}

static void test_release_rolls_back_open_transaction(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  struct sc_db_pool *pool;
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(db.url, 1, &pool, &err), ==, SC_OK);
  struct sc_tenant admin = {.platform_admin = 1};
  PGconn *c = sc_db_acquire(pool);
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  sc_db_release(pool, c);
  c = sc_db_acquire(pool);
  g_assert_cmpint(PQtransactionStatus(c), ==, PQTRANS_IDLE);
  PGresult *r;
  g_assert_cmpint(sc_db_exec(c, "SELECT coalesce(current_setting('sidecal.platform_admin', true), '')", 0, NULL, &r, &err), ==, SC_OK);
  g_assert_cmpstr(PQgetvalue(r, 0, 0), ==, "");
  PQclear(r);
  int in_use;
  long waits;
  sc_db_pool_stats(pool, &in_use, &waits);
  g_assert_cmpint(in_use, ==, 1);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
  sc_test_db_drop(&db);
}

static PGnotify *next_notice(PGconn *l) {
  for (int i = 0; i < 200; i++) {
    PQconsumeInput(l);
    PGnotify *n = PQnotifies(l);
    if (n) return n;
    g_usleep(10000);
  }
  return NULL;
}

/* The notice arrives once, after the row is committed; a failed
** transaction commits nothing, reports the rollback and sends nothing. */
static void test_commit_notify(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *owner = sc_test_db_connect(&db), *listener = sc_test_db_connect(&db);
  seed_two_orgs(owner);
  g_free(sc_test_db_value(listener, "LISTEN sidecal_avail"));
  struct sc_error err;
  g_assert_cmpint(sc_db_run(owner, "BEGIN; UPDATE organizations SET name = 'x'", &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit_notify(owner, "sidecal_avail", "it's done", &err), ==, SC_OK);
  g_assert_cmpint(PQtransactionStatus(owner), ==, PQTRANS_IDLE);
  char *v = sc_test_db_value(owner, "SELECT count(*) FROM organizations WHERE name = 'x'");
  g_assert_cmpstr(v, ==, "2");
  g_free(v);
  PGnotify *n = next_notice(listener);
  g_assert_nonnull(n);
  g_assert_cmpstr(n->relname, ==, "sidecal_avail");
  g_assert_cmpstr(n->extra, ==, "it's done");
  PQfreemem(n);
  g_assert_cmpint(sc_db_run(owner, "BEGIN; UPDATE organizations SET name = 'y'", &err), ==, SC_OK);
  g_assert_cmpint(sc_db_run(owner, "SELECT 1/0", &err), ==, SC_EDB);
  g_assert_cmpint(sc_db_commit_notify(owner, "sidecal_avail", "never", &err), ==, SC_EDB);
  g_assert_cmpstr(err.message, ==, "COMMIT: the transaction had failed and was rolled back");
  g_assert_cmpint(PQtransactionStatus(owner), ==, PQTRANS_IDLE);
  v = sc_test_db_value(owner, "SELECT count(*) FROM organizations WHERE name = 'y'");
  g_assert_cmpstr(v, ==, "0");
  g_free(v);
  g_assert_null(next_notice(listener));
  PQfinish(listener);
  PQfinish(owner);
  sc_test_db_drop(&db);
}

static const char *const PLUS_ONE = "SELECT $1::int + 1";

/* A prepared statement is made again after 100, 1,000 and 10,000 runs so
** its generic plan follows the data; results never change across it. */
static void test_prepared_replanned(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *c = sc_test_db_connect(&db);
  struct sc_error err;
  for (int i = 1; i <= 1001; i++) {
    char v[16];
    snprintf(v, sizeof v, "%d", i);
    const char *p[1] = {v};
    PGresult *r;
    g_assert_cmpint(sc_db_exec_prep(c, PLUS_ONE, 1, p, &r, &err), ==, SC_OK);
    g_assert_cmpint(atoi(PQgetvalue(r, 0, 0)), ==, i + 1);
    PQclear(r);
  }
  /* One statement, prepared again for run 1,001: one plan since (else 1,001). */
  char *v = sc_test_db_value(c, "SELECT count(*) || ' ' || sum(generic_plans + custom_plans)"
                                " FROM pg_prepared_statements");
  g_assert_cmpstr(v, ==, "1 1");
  g_free(v);
  sc_db_forget(c);
  PQfinish(c);
  sc_test_db_drop(&db);
}

static const char *const DIVIDE = "SELECT 12 / $1::int";
static const char *const ECHO = "SELECT $1::text";

/* One round trip, results in order; a failure names the failing statement,
** leaves no result behind and the connection usable. */
static void test_exec_prep_many(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *c = sc_test_db_connect(&db);
  struct sc_error err;
  const char *three[1] = {"3"}, *zero[1] = {"0"}, *hi[1] = {"hi"};
  struct sc_db_stmt s[3] = {{DIVIDE, 1, three, NULL}, {ECHO, 1, hi, NULL}, {PLUS_ONE, 1, three, NULL}};
  g_assert_cmpint(sc_db_exec_prep_many(c, s, 3, &err), ==, SC_OK);
  g_assert_cmpstr(PQgetvalue(s[0].res, 0, 0), ==, "4");
  g_assert_cmpstr(PQgetvalue(s[1].res, 0, 0), ==, "hi");
  g_assert_cmpstr(PQgetvalue(s[2].res, 0, 0), ==, "4");
  for (int i = 0; i < 3; i++) PQclear(s[i].res);
  g_assert_cmpint(sc_db_run(c, "BEGIN; CREATE TABLE t (x int); INSERT INTO t VALUES (1)", &err), ==, SC_OK);
  struct sc_db_stmt bad[3] = {{ECHO, 1, hi, NULL}, {DIVIDE, 1, zero, NULL}, {PLUS_ONE, 1, three, NULL}};
  g_assert_cmpint(sc_db_exec_prep_many(c, bad, 3, &err), ==, SC_EDB);
  g_assert_nonnull(strstr(err.message, "division by zero"));
  for (int i = 0; i < 3; i++) g_assert_null(bad[i].res);
  g_assert_cmpint(PQpipelineStatus(c), ==, PQ_PIPELINE_OFF);
  g_assert_cmpint(PQtransactionStatus(c), ==, PQTRANS_INERROR);
  sc_db_rollback(c);
  char *v = sc_test_db_value(c, "SELECT count(*) FROM pg_tables WHERE tablename = 't'");
  g_assert_cmpstr(v, ==, "0");
  g_free(v);
  sc_db_forget(c);
  PQfinish(c);
  sc_test_db_drop(&db);
}

static void test_bad_url_message(void) {
  struct sc_db_pool *pool = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open("postgresql:///nodb?host=/nonexistent-dir", 1, &pool, &err), ==, SC_EDB);
  g_assert_null(pool);
  g_assert_true(g_str_has_prefix(err.message, "cannot connect to PostgreSQL: "));
  g_assert_null(strchr(err.message, '\n'));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/db/rls_hides_foreign_rows", test_rls_hides_foreign_rows);
  g_test_add_func("/db/privileged_roles_refused", test_privileged_roles_refused);
  g_test_add_func("/db/release_rolls_back", test_release_rolls_back_open_transaction);
  g_test_add_func("/db/bad_url_message", test_bad_url_message);
  g_test_add_func("/db/commit_notify", test_commit_notify);
  g_test_add_func("/db/prepared_replanned", test_prepared_replanned);
  g_test_add_func("/db/exec_prep_many", test_exec_prep_many);
  return g_test_run();
}
