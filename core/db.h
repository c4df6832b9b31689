/*
** PostgreSQL access: the owner connection (migrations) and the application
** pool (everything else).
**
** Pool connections SET ROLE to the application role (default sidecal_app;
** SIDECAL_APP_ROLE overrides) right after connecting, and sc_db_pool_open()
** refuses to return a pool whose role is a superuser, has BYPASSRLS or owns
** any table in the schema: row-level security must bind it.
**
** Every unit of work is a transaction opened with sc_db_begin(), which sets
** the tenant for row-level security with SET LOCAL semantics: the
** organization id, or the platform-admin flag. Nothing is visible outside a
** transaction begun this way.
*/
#ifndef SC_DB_H
#define SC_DB_H

#include <libpq-fe.h>

#include "error.h"

struct sc_db_pool;

/* Who a transaction acts for. org_id is a UUID string or "" ; platform_admin
** grants every organization (RLS flag), used by config apply and admin keys. */
struct sc_tenant {
  char org_id[37];
  int platform_admin;
};

/* The database URL: SIDECAL_DATABASE_URL, else NULL (caller decides). */
const char *sc_db_url_from_env(void);

int sc_db_connect_owner(const char *url, PGconn **out, struct sc_error *err);

int sc_db_pool_open(const char *url, int size, struct sc_db_pool **out,
                    struct sc_error *err);
void sc_db_pool_close(struct sc_db_pool *pool);
/* Blocks until a connection is free. Reconnects a broken one. */
PGconn *sc_db_acquire(struct sc_db_pool *pool);
void sc_db_release(struct sc_db_pool *pool, PGconn *conn);
/* Connections currently borrowed, and how many acquires had to wait. */
void sc_db_pool_stats(struct sc_db_pool *pool, int *in_use, long *waits);

/* Verifies the session's current role may not bypass row-level security. */
int sc_db_check_app_role(PGconn *conn, struct sc_error *err);

int sc_db_begin(PGconn *conn, const struct sc_tenant *tenant,
                struct sc_error *err);
int sc_db_commit(PGconn *conn, struct sc_error *err);
/* Ends the transaction the way rc says: COMMIT when rc is SC_OK (returning
** COMMIT's result), else ROLLBACK (returning rc). */
int sc_db_end(PGconn *conn, int rc, struct sc_error *err);
/* COMMIT, then NOTIFY channel with payload in a transaction of its own, in
** one round trip. A notice sent inside a writing transaction makes its
** commit wait for every other notifying commit's WAL flush; sent after,
** it has nothing to flush. Nothing is sent when the commit fails. */
int sc_db_commit_notify(PGconn *conn, const char *channel, const char *payload,
                        struct sc_error *err);
void sc_db_rollback(PGconn *conn);

/* Runs a parameterised statement. On success *res (when non-NULL) holds
** the result for the caller to PQclear; on failure err names the SQLSTATE
** and SC_ECONFLICT is returned for unique/exclusion violations (23505,
** 23P01), SC_EDB otherwise. */
int sc_db_exec(PGconn *conn, const char *sql, int nparams,
               const char *const *params, PGresult **res,
               struct sc_error *err);
/* As sc_db_exec, for a statement run on every request: sql must be a
** string literal (its address names the prepared statement), and it is
** parsed and planned once per connection instead of on every call. */
int sc_db_exec_prep(PGconn *conn, const char *sql, int nparams,
                    const char *const *params, PGresult **res,
                    struct sc_error *err);
/* Several statements of the sc_db_exec_prep kind in one round trip (libpq
** pipeline mode), run in order inside the caller's transaction. On SC_OK
** every res is filled (PQclear each); on failure err describes the first
** statement that failed and every res is NULL. */
struct sc_db_stmt {
  const char *sql;              /* a string literal, as for sc_db_exec_prep */
  int nparams;
  const char *const *params;
  PGresult *res;
};
int sc_db_exec_prep_many(PGconn *conn, struct sc_db_stmt *stmts, int n, struct sc_error *err);
/* Forgets what was prepared on conn (before PQfinish). */
void sc_db_forget(PGconn *conn);

/* Simple statement without parameters or result. */
int sc_db_run(PGconn *conn, const char *sql, struct sc_error *err);

#endif
