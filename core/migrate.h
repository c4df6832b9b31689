/*
** Versioned schema migrations, compiled in from core/sql/NNN_name.sql.
**
** sc_migrate() applies every missing migration in order, each in its own
** transaction together with its schema_migrations row, under an advisory
** lock so two daemons starting at once do not race. A database already
** migrated past the newest version this binary knows is refused with
** SC_ESTATE and a message naming both versions.
*/
#ifndef SC_MIGRATE_H
#define SC_MIGRATE_H

#include <libpq-fe.h>

#include "error.h"

struct sc_migration {
  int version;
  const char *name;
  const char *sql;
};

extern const struct sc_migration sc_migrations[];
extern const int sc_migrations_count;

/* conn must be the owner (migration) connection, not the app role. */
int sc_migrate(PGconn *conn, int *applied, struct sc_error *err);
/* Highest applied version (0 for an empty database), or a negative code. */
int sc_schema_version(PGconn *conn, int *version, struct sc_error *err);
/* SC_OK when the database is at exactly the version this binary knows. */
int sc_schema_check(PGconn *conn, struct sc_error *err);

#endif
