/* Tests for core/migrate.c: from empty, idempotent, newer-schema refusal. */
#include <glib.h>
#include <stdlib.h>

#include "migrate.h"
#include "testdb.h"

static void test_from_empty(void) {
  struct sc_test_db db;
  sc_test_db_create(&db);
  PGconn *c = sc_test_db_connect(&db);
  struct sc_error err;
  int applied = -1, version = -1;
  g_assert_cmpint(sc_schema_version(c, &version, &err), ==, SC_OK);
  g_assert_cmpint(version, ==, 0);
  g_assert_cmpint(sc_schema_check(c, &err), ==, SC_ESTATE);
  g_assert_cmpint(sc_migrate(c, &applied, &err), ==, SC_OK);
  g_assert_cmpint(applied, ==, sc_migrations_count);
  g_assert_cmpint(sc_schema_version(c, &version, &err), ==, SC_OK);
  g_assert_cmpint(version, ==, sc_migrations[sc_migrations_count - 1].version);
  g_assert_cmpint(sc_schema_check(c, &err), ==, SC_OK);
  /* Every migration is recorded by number and name. */
  char *n = sc_test_db_value(c, "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations");
  GString *want = g_string_new(NULL);
  for (int i = 0; i < sc_migrations_count; i++)
    g_string_append_printf(want, "%s%d:%s", i ? "," : "", sc_migrations[i].version, sc_migrations[i].name);
  g_assert_cmpstr(n, ==, want->str);
  g_string_free(want, TRUE);
  g_free(n);
  /* A second run applies nothing. */
  g_assert_cmpint(sc_migrate(c, &applied, &err), ==, SC_OK);
  g_assert_cmpint(applied, ==, 0);
  PQfinish(c);
  sc_test_db_drop(&db);
}

static void test_every_tenant_table_has_rls_and_org_keys(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *c = sc_test_db_connect(&db);
  /* Tables without RLS, other than the migrations ledger. */
  char *v = sc_test_db_value(c,
      "SELECT string_agg(relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity"
      " AND relname <> 'schema_migrations'");
  g_assert_null(v);
  /* Primary and unique keys that do not include organization_id: only
  ** organizations (its own id), api_keys (platform keys have no org),
  ** sync_plugin_caps (plugins are global, migration 005), the platform-only
  ** daemon and plugin module records (migration 004) and the global
  ** instance-name index (names embed the org slug). */
  v = sc_test_db_value(c,
      "SELECT string_agg(i.indexrelid::regclass::text, ',' ORDER BY 1) FROM pg_index i"
      " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
      " WHERE n.nspname = 'public' AND (i.indisunique OR i.indisprimary)"
      " AND t.relname NOT IN ('schema_migrations', 'organizations', 'api_keys',"
      "   'sync_plugin_caps', 'sidecal_daemons', 'plugin_modules')"
      " AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid"
      "   AND a.attname = 'organization_id' AND a.attnum = ANY(i.indkey))");
  g_assert_cmpstr(v, ==, "connector_instances_name_global");
  g_free(v);
  PQfinish(c);
  sc_test_db_drop(&db);
}

static void test_newer_schema_refused(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *c = sc_test_db_connect(&db);
  g_free(sc_test_db_value(c, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')"));
  struct sc_error err;
  int applied;
  char *expect = g_strdup_printf(
      "database schema is at version 999, newer than this build knows "
      "(latest here: %d %s); upgrade sidecal before using this database",
      sc_migrations[sc_migrations_count - 1].version, sc_migrations[sc_migrations_count - 1].name);
  g_assert_cmpint(sc_migrate(c, &applied, &err), ==, SC_ESTATE);
  g_assert_cmpstr(err.message, ==, expect);
  g_assert_cmpint(applied, ==, 0);
  g_assert_cmpint(sc_schema_check(c, &err), ==, SC_ESTATE);
  g_assert_cmpstr(err.message, ==, expect);
  /* Nothing was changed by the refused run. */
  char *n = sc_test_db_value(c, "SELECT count(*) FROM schema_migrations");
  char *rows = g_strdup_printf("%d", sc_migrations_count + 1);
  g_assert_cmpstr(n, ==, rows);
  g_free(rows);
  g_free(n);
  g_free(expect);
  PQfinish(c);
  sc_test_db_drop(&db);
}

static void test_failed_migration_rolls_back(void) {
  struct sc_test_db db;
  sc_test_db_create(&db);
  PGconn *c = sc_test_db_connect(&db);
  /* A table that collides with the first migration makes it fail midway. */
  g_free(sc_test_db_value(c, "CREATE TABLE appointments (x int)"));
  struct sc_error err;
  int applied;
  g_assert_cmpint(sc_migrate(c, &applied, &err), ==, SC_EDB);
  g_assert_true(g_str_has_prefix(err.message, "migration 001_schema failed: database error 42P07:"));
  char *n = sc_test_db_value(c, "SELECT count(*) FROM schema_migrations");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  n = sc_test_db_value(c, "SELECT count(*) FROM pg_class WHERE relname = 'locations'");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  PQfinish(c);
  sc_test_db_drop(&db);
}

/* The database itself refuses a time zone that is not an IANA name. */
static void test_timezones_checked(void) {
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *c = sc_test_db_connect(&db);
  g_free(sc_test_db_value(c, "INSERT INTO organizations (slug, name) VALUES ('o', 'O')"));
  const char *bad[] = {"America/Nwe_York", "+05:00", "5", "", "Europe/London; DROP TABLE x"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    const char *p[1] = {bad[i]};
    PGresult *r = PQexecParams(c, "INSERT INTO locations (organization_id, slug, name, timezone)"
                               " SELECT organization_id, 'l', 'L', $1 FROM organizations", 1, NULL, p, NULL, NULL, 0);
    g_assert_cmpint(PQresultStatus(r), ==, PGRES_FATAL_ERROR);
    g_assert_cmpstr(PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME), ==, "locations_timezone_check");
    PQclear(r);
  }
  g_free(sc_test_db_value(c, "INSERT INTO locations (organization_id, slug, name, timezone)"
                             " SELECT organization_id, 'l', 'L', 'Australia/Lord_Howe' FROM organizations"));
  char *n = sc_test_db_value(c, "SELECT count(*) FROM locations");
  g_assert_cmpstr(n, ==, "1");
  g_free(n);
  PQfinish(c);
  sc_test_db_drop(&db);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/migrate/from_empty", test_from_empty);
  g_test_add_func("/migrate/rls_and_org_keys", test_every_tenant_table_has_rls_and_org_keys);
  g_test_add_func("/migrate/newer_schema_refused", test_newer_schema_refused);
  g_test_add_func("/migrate/failed_migration_rolls_back", test_failed_migration_rolls_back);
  g_test_add_func("/migrate/timezones_checked", test_timezones_checked);
  return g_test_run();
}
