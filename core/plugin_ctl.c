/*
** sidecalctl plugins and reload.
** `plugins describe NAME [--plugin-dir DIR]` loads the plugin exactly as the
** daemon would (same checks, from a throwaway content-named copy) and
** prints its settings map as documentation, without a running daemon.
** `plugins [list]` prints what every daemon on the database runs, as the
** daemons record it (migration 004), with each instance's health from
** sync_status. `reload` sends NOTIFY sidecal_reload, which every daemon
** hears, and waits for each registered daemon to answer.
*/
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "plugin_host.h"
#include "plugin_runtime.h"
#include "sc_paths.h"

static int usage(void) {
  fprintf(stderr, "usage: sidecalctl plugins [list] | plugins describe NAME [--plugin-dir DIR]\n");
  return 2;
}

static void remove_tree(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *e;
    while ((e = g_dir_read_name(d))) {
      gchar *p = g_build_filename(dir, e, NULL);
      unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  rmdir(dir);
}

static int describe(const char *name, const char *dir) {
  gchar *cache = g_dir_make_tmp("sidecal-describe-XXXXXX", NULL);
  if (!cache) {
    fprintf(stderr, "sidecalctl: cannot create a temporary directory\n");
    return 1;
  }
  struct sc_plugin *p = NULL;
  struct sc_error err;
  int rc = sc_plugin_load(dir, name, cache, &p, &err);
  if (rc) {
    fprintf(stderr, "sidecalctl: %s\n", err.message);
  } else {
    sc_plugin_describe(p, stdout);
    sc_plugin_free(p, 1);
  }
  remove_tree(cache);
  g_free(cache);
  if (!rc) return 0;
  return rc == SC_EINVAL || rc == SC_EIO ? 2 : 1;
}

/* ---- the database side: list and reload ------------------------------ */

static int open_admin(const char *cmd, struct sc_db_pool **pool, PGconn **c) {
  const char *url = sc_db_url_from_env();
  if (!url) {
    fprintf(stderr, "sidecalctl: %s: set SIDECAL_DATABASE_URL (scripts/pg url prints the private one)\n", cmd);
    return 2;
  }
  struct sc_error err;
  struct sc_tenant admin = {.platform_admin = 1};
  if (sc_db_pool_open(url, 1, pool, &err)) {
    fprintf(stderr, "sidecalctl: %s: %s\n", cmd, err.message);
    return 1;
  }
  *c = sc_db_acquire(*pool);
  if (sc_db_begin(*c, &admin, &err)) {
    fprintf(stderr, "sidecalctl: %s: %s\n", cmd, err.message);
    sc_db_release(*pool, *c);
    sc_db_pool_close(*pool);
    return 1;
  }
  return 0;
}

static void close_admin(struct sc_db_pool *pool, PGconn *c) {
  if (PQtransactionStatus(c) != PQTRANS_IDLE) sc_db_rollback(c);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
}

static const char *val(PGresult *r, int i, int j) {
  return PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
}

static int print_modules(PGconn *c, const char *daemon, struct sc_error *err) {
  PGresult *r;
  const char *p[1] = {daemon};
  int rc = sc_db_exec(c, "SELECT name, version, abi, sha256, capabilities, path, sc_utc(loaded_at),"
                         " error FROM plugin_modules WHERE daemon_id = $1 ORDER BY name",
                      1, p, &r, err);
  if (rc) return rc;
  printf("  plugins:\n");
  for (int i = 0; i < PQntuples(r); i++) {
    if (val(r, i, 7)) {
      printf("    %s  FAILED: %s\n", val(r, i, 0), val(r, i, 7));
      continue;
    }
    printf("    %s %s  ABI %s  sha256 %.16s  [%s]  %s  loaded %s\n", val(r, i, 0), val(r, i, 1),
           val(r, i, 2), val(r, i, 3), val(r, i, 4), val(r, i, 5), val(r, i, 6));
  }
  PQclear(r);
  return SC_OK;
}

static int print_instances(PGconn *c, const char *daemon, struct sc_error *err) {
  PGresult *r;
  const char *p[1] = {daemon};
  int rc = sc_db_exec(c,
      "SELECT ci.name, ci.plugin, ps.state, ps.error, coalesce(ss.status::text,"
      " CASE ps.state WHEN 'running' THEN 'HEALTHY' ELSE '-' END),"
      " ss.last_error, coalesce(ss.error_count, 0) FROM plugin_instance_state ps"
      " JOIN connector_instances ci ON ci.organization_id = ps.organization_id"
      " AND ci.id = ps.instance_id"
      " LEFT JOIN sync_status ss ON ss.organization_id = ci.organization_id"
      " AND ss.instance_id = ci.id WHERE ps.daemon_id = $1 ORDER BY ci.name", 1, p, &r, err);
  if (rc) return rc;
  printf("  instances:\n");
  for (int i = 0; i < PQntuples(r); i++) {
    printf("    %s (%s)  %s  health %s", val(r, i, 0), val(r, i, 1),
           !strcmp(val(r, i, 2), "failed") ? "FAILED" : "running", val(r, i, 4));
    if (val(r, i, 5)) printf("  errors %s  last error: %s", val(r, i, 6), val(r, i, 5));
    if (val(r, i, 3)) printf("  reason: %s", val(r, i, 3));
    printf("\n");
  }
  PQclear(r);
  return SC_OK;
}

static int list(void) {
  struct sc_db_pool *pool;
  PGconn *c;
  int st = open_admin("plugins", &pool, &c);
  if (st) return st;
  struct sc_error err;
  PGresult *r;
  int rc = sc_db_exec(c, "SELECT daemon_id, version, generation, sc_utc(started_at),"
                         " sc_utc(reloaded_at), sc_utc(last_reload_at), last_reload_error"
                         " FROM sidecal_daemons ORDER BY daemon_id", 0, NULL, &r, &err);
  if (!rc && PQntuples(r) == 0) printf("no sidecald has registered on this database\n");
  for (int i = 0; !rc && i < PQntuples(r); i++) {
    printf("daemon %s  sidecald %s  generation %s  started %s  reloaded %s\n", val(r, i, 0),
           val(r, i, 1), val(r, i, 2), val(r, i, 3), val(r, i, 4));
    if (val(r, i, 6))
      printf("  last reload REJECTED at %s: %s\n", val(r, i, 5), val(r, i, 6));
    rc = print_modules(c, val(r, i, 0), &err);
    if (!rc) rc = print_instances(c, val(r, i, 0), &err);
  }
  if (!rc) PQclear(r);
  close_admin(pool, c);
  if (rc) fprintf(stderr, "sidecalctl: plugins: %s\n", err.message);
  return rc ? 1 : 0;
}

int sc_cmd_plugins(int argc, char **argv) {
  if (argc == 1 || (argc == 2 && !strcmp(argv[1], "list"))) return list();
  if (argc < 3 || strcmp(argv[1], "describe")) return usage();
  const char *dir = getenv("SIDECAL_PLUGIN_DIR");
  if (!dir || !*dir) dir = SC_CONNECTOR_DIR;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--plugin-dir") && i + 1 < argc) dir = argv[++i];
    else return usage();
  }
  return describe(argv[2], dir);
}

/* NOTIFY is delivered at commit; every daemon's record of the reload is
** written in a transaction that starts after that, so its last_reload_at
** is later than the clock read here. */
static int send_reload(PGconn *c, char *sent, size_t size, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(c, "SELECT clock_timestamp()::text", 0, NULL, &r, err);
  if (rc) return rc;
  snprintf(sent, size, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  rc = sc_db_run(c, "NOTIFY sidecal_reload", err);
  return rc ? rc : sc_db_commit(c, err);
}

/* Every daemon registered before the NOTIFY, and whether it answered. */
static int poll_daemons(PGconn *c, const char *sent, PGresult **r, int *pending,
                        struct sc_error *err) {
  struct sc_tenant admin = {.platform_admin = 1};
  const char *p[1] = {sent};
  int rc = sc_db_begin(c, &admin, err);
  if (!rc) rc = sc_db_exec(c, "SELECT daemon_id, generation, last_reload_at > $1::timestamptz,"
                              " last_reload_error FROM sidecal_daemons"
                              " WHERE started_at < $1::timestamptz ORDER BY daemon_id",
                           1, p, r, err);
  sc_db_rollback(c);
  if (rc) return rc;
  *pending = 0;
  for (int i = 0; i < PQntuples(*r); i++) *pending += strcmp(PQgetvalue(*r, i, 2), "t") != 0;
  return SC_OK;
}

/* 0 all reloaded, 2 a daemon rejected its conf.d/, 1 one did not answer. */
static int print_answers(PGresult *r, double timeout) {
  if (PQntuples(r) == 0)
    printf("no sidecald has registered on this database; sent NOTIFY sidecal_reload\n");
  int rejected = 0, silent = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    const char *id = PQgetvalue(r, i, 0);
    if (strcmp(PQgetvalue(r, i, 2), "t")) {
      printf("%s  no answer within %g s\n", id, timeout);
      silent++;
    } else if (!PQgetisnull(r, i, 3)) {
      printf("%s  rejected: %s\n", id, PQgetvalue(r, i, 3));
      rejected++;
    } else {
      printf("%s  generation %s\n", id, PQgetvalue(r, i, 1));
    }
  }
  return silent ? 1 : rejected ? 2 : 0;
}

static int wait_answers(PGconn *c, const char *sent, double timeout, struct sc_error *err) {
  PGresult *r = NULL;
  int pending = 0;
  gint64 deadline = g_get_monotonic_time() + (gint64)(timeout * 1e6);
  for (;;) {
    int rc = poll_daemons(c, sent, &r, &pending, err);
    if (rc) return -1;
    if (!pending || g_get_monotonic_time() >= deadline) break;
    PQclear(r);
    g_usleep(50 * 1000);
  }
  int st = print_answers(r, timeout);
  PQclear(r);
  return st;
}

int sc_cmd_reload(int argc, char **argv) {
  double timeout = 30;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout = strtod(argv[++i], &end);
    if (!end || *end || timeout <= 0) {
      fprintf(stderr, "usage: sidecalctl reload [--timeout SECONDS]\n");
      return 2;
    }
  }
  struct sc_db_pool *pool;
  PGconn *c;
  int st = open_admin("reload", &pool, &c);
  if (st) return st;
  char sent[64];
  struct sc_error err;
  st = send_reload(c, sent, sizeof sent, &err) ? -1 : wait_answers(c, sent, timeout, &err);
  close_admin(pool, c);
  if (st < 0) {
    fprintf(stderr, "sidecalctl: reload: %s\n", err.message);
    return 1;
  }
  return st;
}
