/*
** Test helpers for PostgreSQL-backed tests: each test gets a fresh database
** on the server named by SIDECAL_TEST_PG_URL (exported by scripts/test) and
** drops it at the end.
*/
#ifndef SC_TESTDB_H
#define SC_TESTDB_H

/* Path of a file in the source tree, from SIDECAL_SOURCE_ROOT. g_free it. */
char *sc_test_source_path(const char *rel);
/* Path of a file in the build tree, from SIDECAL_BUILD_ROOT. g_free it. */
char *sc_test_build_path(const char *rel);

#endif
