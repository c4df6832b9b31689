/*
** PostgreSQL connections: the owner connection for migrations and a fixed
** pool of application-role connections for everything else.
*/
#include "db.h"

#include <ctype.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

#define SC_APP_ROLE_DEFAULT "sidecal_app"

struct sc_db_pool {
  char *url;
  char *role;
  int size;
  PGconn **conns;
  int *busy;
  int in_use;
  long waits;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

const char *sc_db_url_from_env(void) {
  const char *u = getenv("SIDECAL_DATABASE_URL");
  return (u && *u) ? u : NULL;
}

static const char *app_role(void) {
  const char *r = getenv("SIDECAL_APP_ROLE");
  return (r && *r) ? r : SC_APP_ROLE_DEFAULT;
}

int sc_db_connect_owner(const char *url, PGconn **out, struct sc_error *err) {
  PGconn *c = PQconnectdb(url);
  if (PQstatus(c) != CONNECTION_OK) {
    sc_error_set(err, SC_EDB, NULL, "cannot connect to PostgreSQL: %s",
                 PQerrorMessage(c));
    /* libpq messages end in a newline; keep error lines single. */
    if (err) err->message[strcspn(err->message, "\n")] = '\0';
    PQfinish(c);
    return SC_EDB;
  }
  /* Quiet NOTICEs (e.g. "extension already exists") from the log. */
  PQclear(PQexec(c, "SET client_min_messages = warning"));
  *out = c;
  return SC_OK;
}

static int result_error(PGconn *conn, PGresult *r, struct sc_error *err) {
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  int code = SC_EDB;
  if (state && (!strcmp(state, "23505") || !strcmp(state, "23P01")))
    code = SC_ECONFLICT;
  sc_error_set(err, code, NULL, "database error %s: %s", state ? state : "?",
               msg ? msg : PQerrorMessage(conn));
  if (err) err->message[strcspn(err->message, "\n")] = '\0';
  return code;
}

int sc_db_exec(PGconn *conn, const char *sql, int nparams,
               const char *const *params, PGresult **res,
               struct sc_error *err) {
  sc_metrics_count_query();
  PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    if (res) *res = r;
    else PQclear(r);
    return SC_OK;
  }
  int code = result_error(conn, r, err);
  PQclear(r);
  if (res) *res = NULL;
  return code;
}

/* The simple query protocol, so a migration may hold many statements. */
/* Which static statements each connection has prepared, and how often it
** ran each: conn -> (SQL address -> uses). A statement the server lost
** (26000) is prepared again. */
static pthread_mutex_t prep_mu = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *prepared;

/* Uses so far (0: not prepared on conn), counting this one. */
static unsigned prep_use(PGconn *conn, const char *sql) {
  pthread_mutex_lock(&prep_mu);
  GHashTable *set = prepared ? g_hash_table_lookup(prepared, conn) : NULL;
  unsigned n = set ? GPOINTER_TO_UINT(g_hash_table_lookup(set, sql)) : 0;
  if (n) g_hash_table_insert(set, (gpointer)sql, GUINT_TO_POINTER(n + 1));
  pthread_mutex_unlock(&prep_mu);
  return n;
}

static void mark_prepared(PGconn *conn, const char *sql) {
  pthread_mutex_lock(&prep_mu);
  if (!prepared)
    prepared = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                     (GDestroyNotify)g_hash_table_destroy);
  GHashTable *set = g_hash_table_lookup(prepared, conn);
  if (!set) {
    set = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_insert(prepared, conn, set);
  }
  g_hash_table_insert(set, (gpointer)sql, GUINT_TO_POINTER(1));
  pthread_mutex_unlock(&prep_mu);
}

/* PostgreSQL builds a statement's generic plan at its sixth run from the
** statistics of that moment and keeps it until the next ANALYZE. Built
** while a table was young (a new install, a benchmark) it can pick an
** index that later reads everything: links looked up by instance alone
** made every webhook read all of them. Preparing again after 100, 1,000
** and 10,000 runs lets the plan follow the data without waiting for
** autovacuum; the planner sees a table's real size even before ANALYZE. */
static int replan_due(unsigned uses) {
  return uses == 100 || uses == 1000 || uses == 10000;
}

void sc_db_forget(PGconn *conn) {
  pthread_mutex_lock(&prep_mu);
  if (prepared) g_hash_table_remove(prepared, conn);
  pthread_mutex_unlock(&prep_mu);
}

static void stmt_name(const char *sql, char name[32]) {
  snprintf(name, 32, "sc_%p", (const void *)sql);
}

/* Makes sure sql is prepared on conn (again, when its plan is due). */
static int ensure_prepared(PGconn *conn, const char *sql, int nparams, struct sc_error *err) {
  char name[32];
  stmt_name(sql, name);
  unsigned uses = prep_use(conn, sql);
  if (uses && replan_due(uses)) {
    char dealloc[48];
    snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", name);
    PQclear(PQexec(conn, dealloc));
    uses = 0;
  }
  if (uses) return SC_OK;
  PGresult *p = PQprepare(conn, name, sql, nparams, NULL);
  int rc = PQresultStatus(p) == PGRES_COMMAND_OK ? SC_OK : result_error(conn, p, err);
  PQclear(p);
  if (!rc) mark_prepared(conn, sql);
  return rc;
}

int sc_db_exec_prep(PGconn *conn, const char *sql, int nparams,
                    const char *const *params, PGresult **res,
                    struct sc_error *err) {
  char name[32];
  stmt_name(sql, name);
  for (int attempt = 0; attempt < 2; attempt++) {
    int rc = ensure_prepared(conn, sql, nparams, err);
    if (rc) return rc;
    sc_metrics_count_query();
    PGresult *r = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      if (res) *res = r;
      else PQclear(r);
      return SC_OK;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (attempt == 0 && state && !strcmp(state, "26000")) {  /* lost: prepare again */
      PQclear(r);
      sc_db_forget(conn);
      continue;
    }
    int code = result_error(conn, r, err);
    PQclear(r);
    if (res) *res = NULL;
    return code;
  }
  return SC_EDB;
}

static void clear_results(struct sc_db_stmt *s, int n) {
  for (int i = 0; i < n; i++) {
    PQclear(s[i].res);
    s[i].res = NULL;
  }
}

/* Reads each statement's result, then the pipeline's sync point. */
static int read_pipeline(PGconn *conn, struct sc_db_stmt *s, int n, struct sc_error *err) {
  int rc = SC_OK;
  for (int i = 0; i < n; i++) {
    PGresult *r = PQgetResult(conn);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) s[i].res = r;
    else {
      if (!rc) rc = st == PGRES_PIPELINE_ABORTED
                        ? sc_error_set(err, SC_EDB, NULL, "statement skipped after an error")
                        : result_error(conn, r, err);
      PQclear(r);
    }
    while ((r = PQgetResult(conn))) PQclear(r);  /* the NULL that ends statement i */
  }
  PGresult *sync = PQgetResult(conn);
  if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC && !rc)
    rc = sc_error_set(err, SC_EDB, NULL, "pipeline out of step: %s", PQerrorMessage(conn));
  PQclear(sync);
  return rc;
}

int sc_db_exec_prep_many(PGconn *conn, struct sc_db_stmt *s, int n, struct sc_error *err) {
  int rc = SC_OK;
  for (int i = 0; i < n; i++) s[i].res = NULL;
  for (int i = 0; !rc && i < n; i++) rc = ensure_prepared(conn, s[i].sql, s[i].nparams, err);
  if (rc) return rc;
  if (!PQenterPipelineMode(conn))
    return sc_error_set(err, SC_EDB, NULL, "cannot enter pipeline mode: %s", PQerrorMessage(conn));
  for (int i = 0; !rc && i < n; i++) {
    char name[32];
    stmt_name(s[i].sql, name);
    sc_metrics_count_query();
    if (!PQsendQueryPrepared(conn, name, s[i].nparams, s[i].params, NULL, NULL, 0))
      rc = sc_error_set(err, SC_EDB, NULL, "cannot send a statement: %s", PQerrorMessage(conn));
  }
  /* Even after a failed send the sync point is what ends the pipeline. */
  if (!PQpipelineSync(conn) && !rc)
    rc = sc_error_set(err, SC_EDB, NULL, "cannot send the pipeline: %s", PQerrorMessage(conn));
  int read = rc ? SC_OK : read_pipeline(conn, s, n, err);
  if (rc) {
    for (PGresult *r; PQpipelineStatus(conn) != PQ_PIPELINE_OFF && (r = PQgetResult(conn));) {
      int done = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (done) break;
    }
  }
  PQexitPipelineMode(conn);
  rc = rc ? rc : read;
  if (rc) clear_results(s, n);
  return rc;
}

int sc_db_run(PGconn *conn, const char *sql, struct sc_error *err) {
  sc_metrics_count_query();
  PGresult *r = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(r);
  int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
               ? SC_OK : result_error(conn, r, err);
  PQclear(r);
  return rc;
}

int sc_db_check_app_role(PGconn *conn, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
      " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      "   WHERE c.relowner = r.oid AND c.relkind IN ('r','p')"
      "   AND n.nspname NOT IN ('pg_catalog','information_schema'))"
      " FROM pg_roles r WHERE r.rolname = current_user",
      0, NULL, &r, err);
  if (rc) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return sc_error_set(err, SC_ESTATE, NULL, "cannot read the current role");
  }
  const char *name = PQgetvalue(r, 0, 0);
  int super = PQgetvalue(r, 0, 1)[0] == 't';
  int bypass = PQgetvalue(r, 0, 2)[0] == 't';
  long owned = atol(PQgetvalue(r, 0, 3));
  if (super || bypass || owned) {
    sc_error_set(err, SC_ESTATE, NULL,
        "refusing to run as database role \"%s\": %s; row-level security "
        "would not bind it (use a role that is not a superuser, has no "
        "BYPASSRLS and owns no table)", name,
        super ? "it is a superuser" : bypass ? "it has BYPASSRLS" : "it owns tables");
    PQclear(r);
    return SC_ESTATE;
  }
  PQclear(r);
  return SC_OK;
}

static PGconn *connect_app(const char *url, const char *role,
                           struct sc_error *err) {
  PGconn *c;
  if (sc_db_connect_owner(url, &c, err)) return NULL;
  char *q = PQescapeIdentifier(c, role, strlen(role));
  char sql[256];
  /* Prepared statements here are simple, indexed lookups: one generic plan
  ** per connection beats re-planning each call with its parameters. */
  snprintf(sql, sizeof sql, "SET ROLE %s; SET plan_cache_mode = force_generic_plan",
           q ? q : "\"\"");
  PQfreemem(q);
  if (sc_db_run(c, sql, err) || sc_db_check_app_role(c, err)) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

int sc_db_pool_open(const char *url, int size, struct sc_db_pool **out,
                    struct sc_error *err) {
  struct sc_db_pool *p = calloc(1, sizeof *p);
  if (!p) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  p->url = strdup(url);
  p->role = strdup(app_role());
  p->size = size;
  p->conns = calloc((size_t)size, sizeof *p->conns);
  p->busy = calloc((size_t)size, sizeof *p->busy);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (int i = 0; i < size; i++) {
    p->conns[i] = connect_app(url, p->role, err);
    if (!p->conns[i]) {
      sc_db_pool_close(p);
      return err ? err->code : SC_EDB;
    }
  }
  *out = p;
  return SC_OK;
}

void sc_db_pool_close(struct sc_db_pool *p) {
  if (!p) return;
  for (int i = 0; i < p->size; i++)
    if (p->conns[i]) {
      sc_db_forget(p->conns[i]);
      PQfinish(p->conns[i]);
    }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->conns);
  free(p->busy);
  free(p->url);
  free(p->role);
  free(p);
}

PGconn *sc_db_acquire(struct sc_db_pool *p) {
  pthread_mutex_lock(&p->mu);
  int waited = 0;
  for (;;) {
    for (int i = 0; i < p->size; i++) {
      if (!p->busy[i]) {
        p->busy[i] = 1;
        p->in_use++;
        if (waited) p->waits++;
        pthread_mutex_unlock(&p->mu);
        if (PQstatus(p->conns[i]) != CONNECTION_OK) {
          /* The server went away and came back: rebuild this slot. */
          struct sc_error e;
          PGconn *fresh = connect_app(p->url, p->role, &e);
          if (fresh) {
            sc_db_forget(p->conns[i]);
            PQfinish(p->conns[i]);
            p->conns[i] = fresh;
          } else {
            sc_log_warn("db reconnect failed: %s", e.message);
          }
        }
        return p->conns[i];
      }
    }
    waited = 1;
    pthread_cond_wait(&p->cv, &p->mu);
  }
}

void sc_db_release(struct sc_db_pool *p, PGconn *conn) {
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < p->size; i++) {
    if (p->conns[i] == conn && p->busy[i]) {
      /* A connection returned mid-transaction would leak the tenant
      ** setting into the next borrower's work; roll it back. */
      if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
      }
      p->busy[i] = 0;
      p->in_use--;
      break;
    }
  }
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void sc_db_pool_stats(struct sc_db_pool *p, int *in_use, long *waits) {
  pthread_mutex_lock(&p->mu);
  if (in_use) *in_use = p->in_use;
  if (waits) *waits = p->waits;
  pthread_mutex_unlock(&p->mu);
}

/* One round trip: BEGIN and the tenant settings travel together. The org
** id is inlined, so it must be a UUID (or empty); anything else is refused
** before it reaches SQL. */
int sc_db_begin(PGconn *conn, const struct sc_tenant *t, struct sc_error *err) {
  const char *org = t->org_id;
  for (size_t i = 0; org[i]; i++)
    if (!(isxdigit((unsigned char)org[i]) || org[i] == '-') || i >= 36)
      return sc_error_set(err, SC_EINVAL, NULL, "tenant id is not a UUID");
  char sql[200];
  snprintf(sql, sizeof sql,
           "BEGIN; SET LOCAL sidecal.org_id = '%s'; SET LOCAL sidecal.platform_admin = '%s'",
           org, t->platform_admin ? "on" : "off");
  int rc = sc_db_run(conn, sql, err);
  if (rc) sc_db_rollback(conn);
  return rc;
}

int sc_db_commit(PGconn *conn, struct sc_error *err) {
  return sc_db_run(conn, "COMMIT", err);
}

int sc_db_end(PGconn *conn, int rc, struct sc_error *err) {
  if (!rc) return sc_db_commit(conn, err);
  sc_db_rollback(conn);
  return rc;
}

/* The two results are read apart: a failed notice must not report a
** commit that happened as failed (the caller would answer 500 for a
** booking that exists). */
int sc_db_commit_notify(PGconn *conn, const char *channel, const char *payload,
                        struct sc_error *err) {
  if (PQtransactionStatus(conn) == PQTRANS_INERROR) {
    sc_db_rollback(conn);
    return sc_error_set(err, SC_EDB, NULL, "COMMIT: the transaction had failed and was rolled back");
  }
  char *c = PQescapeIdentifier(conn, channel, strlen(channel));
  char *p = PQescapeLiteral(conn, payload, strlen(payload));
  char *sql = c && p ? g_strdup_printf("COMMIT; NOTIFY %s, %s", c, p) : NULL;
  PQfreemem(c);
  PQfreemem(p);
  sc_metrics_count_query();
  if (!sql || !PQsendQuery(conn, sql)) {
    g_free(sql);
    return sc_error_set(err, SC_EDB, NULL, "cannot send COMMIT: %s", PQerrorMessage(conn));
  }
  g_free(sql);
  int rc = SC_OK, n = 0;
  for (PGresult *r; (r = PQgetResult(conn)); PQclear(r), n++) {
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (n == 0 && !ok) rc = result_error(conn, r, err);
    else if (!ok) sc_log_warn("event=notify_failed channel=%s error=\"%s\"", channel,
                              PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
  }
  return n ? rc : sc_error_set(err, SC_EDB, NULL, "COMMIT: %s", PQerrorMessage(conn));
}

void sc_db_rollback(PGconn *conn) {
  PGresult *r = PQexec(conn, "ROLLBACK");
  PQclear(r);
}
