/* Shared test helpers: paths and per-test databases. */
#include "testdb.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"

char *sc_test_source_path(const char *rel) {
  const char *root = getenv("SIDECAL_SOURCE_ROOT");
  return g_build_filename(root ? root : ".", rel, NULL);
}

char *sc_test_build_path(const char *rel) {
  const char *root = getenv("SIDECAL_BUILD_ROOT");
  return g_build_filename(root ? root : ".", rel, NULL);
}

static const char *base_url(void) {
  const char *u = getenv("SIDECAL_TEST_PG_URL");
  if (!u || !*u)
    g_error("SIDECAL_TEST_PG_URL is not set: run the suite with scripts/test");
  return u;
}

/* Rebuilds a conninfo string from the base URL with another dbname. */
static char *url_with_db(const char *dbname) {
  char *errmsg = NULL;
  PQconninfoOption *opts = PQconninfoParse(base_url(), &errmsg);
  if (!opts) g_error("bad SIDECAL_TEST_PG_URL: %s", errmsg ? errmsg : "?");
  GString *s = g_string_new(NULL);
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
    if (!v) continue;
    GString *esc = g_string_new(NULL);
    for (const char *p = v; *p; p++) {
      if (*p == '\'' || *p == '\\') g_string_append_c(esc, '\\');
      g_string_append_c(esc, *p);
    }
    g_string_append_printf(s, "%s='%s' ", o->keyword, esc->str);
    g_string_free(esc, TRUE);
  }
  PQconninfoFree(opts);
  return g_string_free(s, FALSE);
}

static void admin_exec(const char *sql) {
  char *url = url_with_db("postgres");
  PGconn *c = PQconnectdb(url);
  g_free(url);
  if (PQstatus(c) != CONNECTION_OK) g_error("test db: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    g_error("test db: %s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

void sc_test_db_create(struct sc_test_db *db) {
  db->name = g_strdup_printf("sidecal_t_%d_%08x", (int)getpid(), g_random_int());
  char *sql = g_strdup_printf("CREATE DATABASE %s", db->name);
  admin_exec(sql);
  g_free(sql);
  db->url = url_with_db(db->name);
}

void sc_test_db_create_migrated(struct sc_test_db *db) {
  sc_test_db_create(db);
  PGconn *c = sc_test_db_connect(db);
  struct sc_error err;
  if (sc_migrate(c, NULL, &err)) g_error("migrate: %s", err.message);
  PQfinish(c);
}

void sc_test_db_drop(struct sc_test_db *db) {
  if (!db->name) return;
  char *sql = g_strdup_printf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
  admin_exec(sql);
  g_free(sql);
  g_free(db->name);
  g_free(db->url);
  db->name = db->url = NULL;
}

PGconn *sc_test_db_connect(const struct sc_test_db *db) {
  PGconn *c = PQconnectdb(db->url);
  if (PQstatus(c) != CONNECTION_OK) g_error("test db: %s", PQerrorMessage(c));
  PQclear(PQexec(c, "SET client_min_messages = warning"));
  return c;
}

char *sc_test_db_value(PGconn *conn, const char *sql) {
  PGresult *r = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    g_error("test sql failed: %s: %s", sql, PQerrorMessage(conn));
  char *v = (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
                ? g_strdup(PQgetvalue(r, 0, 0)) : NULL;
  PQclear(r);
  return v;
}
