/*
** Test helpers for PostgreSQL-backed tests: each test gets a fresh database
** on the server named by SIDECAL_TEST_PG_URL (exported by scripts/test) and
** drops it at the end, so tests run in parallel without sharing state.
*/
#ifndef SC_TESTDB_H
#define SC_TESTDB_H

#include <libpq-fe.h>

/* Path of a file in the source tree, from SIDECAL_SOURCE_ROOT. g_free it. */
char *sc_test_source_path(const char *rel);
/* Path of a file in the build tree, from SIDECAL_BUILD_ROOT. g_free it. */
char *sc_test_build_path(const char *rel);

struct sc_test_db {
  char *name;   /* database name */
  char *url;    /* conninfo for it, as the owner */
};

/* Creates an empty database; aborts the test (g_error) when the server is
** not reachable, since a skipped database test would hide breakage. */
void sc_test_db_create(struct sc_test_db *db);
/* Creates a database and applies every migration. */
void sc_test_db_create_migrated(struct sc_test_db *db);
void sc_test_db_drop(struct sc_test_db *db);
/* Owner connection (superuser in the private cluster). */
PGconn *sc_test_db_connect(const struct sc_test_db *db);
/* Runs SQL as the owner and returns the first column of the first row
** (g_free it), or NULL when there are no rows; g_error on failure. */
char *sc_test_db_value(PGconn *conn, const char *sql);

#endif
