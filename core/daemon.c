/*
** sidecald start-up, signal loop and shutdown.
**
** Signals are blocked in every thread (the mask is set before any thread
** starts) and taken synchronously by the main thread with sigwait, so no
** work ever happens inside a signal handler.
*/
#include "daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "avail_cache.h"
#include "catalog.h"
#include "listener.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "plugin_runtime.h"
#include "routes.h"
#include "sync_engine.h"

#define SC_VERSION "0.1.0"
/* How often batched API key last_used_at times are written. */
#define SC_AUTH_FLUSH_S 10

struct opts {
  const char *config_dir;
  const char *listen;
  const char *plugin_dir;
  const char *state_dir;
  int no_unload;
  const char *database_url;
  const char *keyring;
  int pool_size;
  int threads;
};

static int usage(FILE *f) {
  fprintf(f,
      "usage: sidecald [--config-dir DIR] [--listen ADDR:PORT] [--plugin-dir DIR[:DIR...]]\n"
      "                [--state-dir DIR] [--no-unload] [--database-url URL] [--pool N]\n"
      "                [--threads N]\n"
      "defaults: --config-dir conf.d --listen 127.0.0.1:8080 --plugin-dir build/plugins\n"
      "          --state-dir var (plugin copies in DIR/plugin-cache)\n"
      "          database from SIDECAL_DATABASE_URL, keyring from SIDECAL_MASTER_KEY_FILE\n"
      "          (default var/master.keyring); --pool 8 database connections;\n"
      "          HTTP: a thread per connection, or --threads N epoll threads\n");
  return f == stdout ? 0 : 2;
}

static int parse_opts(int argc, char **argv, struct opts *o) {
  static const struct option longopts[] = {
    {"config-dir", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
    {"plugin-dir", required_argument, NULL, 'p'}, {"database-url", required_argument, NULL, 'd'},
    {"pool", required_argument, NULL, 'n'}, {"threads", required_argument, NULL, 't'},
    {"state-dir", required_argument, NULL, 's'}, {"no-unload", no_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
  *o = (struct opts){"conf.d", "127.0.0.1:8080", "build/plugins", "var", 0,
                     sc_db_url_from_env(), getenv("SIDECAL_MASTER_KEY_FILE"), 8, 0};
  if (!o->keyring || !*o->keyring) o->keyring = "var/master.keyring";
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': o->config_dir = optarg; break;
    case 'l': o->listen = optarg; break;
    case 'p': o->plugin_dir = optarg; break;
    case 's': o->state_dir = optarg; break;
    case 'u': o->no_unload = 1; break;
    case 'd': o->database_url = optarg; break;
    case 'n': o->pool_size = atoi(optarg); break;
    case 't': o->threads = atoi(optarg); break;
    case 'h': return usage(stdout) == 0 ? 1 : 2;
    case 'V': printf("sidecald %s\n", SC_VERSION); return 1;
    default: return usage(stderr);
    }
  }
  if (optind < argc || o->pool_size < 1 || o->pool_size > 256 || o->threads < 0) return usage(stderr);
  return 0;
}

static int fail(int status, const char *what, const struct sc_error *err) {
  sc_log_error("event=startup_failed step=%s error=\"%s\"", what, err->message);
  fprintf(stderr, "sidecald: %s\n", err->message);
  return status;
}

/* Migrates with the owner connection; the app pool never holds DDL rights. */
static int prepare_schema(const char *url, struct sc_error *err) {
  PGconn *owner;
  int rc = sc_db_connect_owner(url, &owner, err);
  if (rc) return rc;
  int applied = 0;
  rc = sc_migrate(owner, &applied, err);
  PQfinish(owner);
  return rc;
}

/* SIGHUP and NOTIFY sidecal_reload: the one reload (core/plugin_runtime.h)
** re-reads conf.d/, validates connector settings, builds the new plugin
** generation, applies the config and swaps; any config error keeps what
** runs now (logged as event=reload_rejected). */
static atomic_int notify_reload;

static void reload_config(struct sc_app *app) {
  const char *trigger = atomic_exchange(&notify_reload, 0) ? "notify" : "SIGHUP";
  struct sc_error err;
  sc_plugin_runtime_reload(app, 1, trigger, NULL, &err);
}

/* ---- NOTIFY handlers: other daemons' writes reach our caches ---------- */

static void on_avail(void *ud, const char *payload) {
  struct sc_app *app = ud;
  char org[40] = "", staff[40] = "", loc[40] = "";
  if (sscanf(payload, "%39s %39s %39s", org, staff, loc) == 3)
    sc_avail_cache_bump(app->avail, NULL, staff, loc);
  else
    sc_avail_cache_bump_all(app->avail);
}

static void on_catalog(void *ud) {
  struct sc_app *app = ud;
  struct sc_error err;
  if (sc_catalog_reload(app->catalog, &err))
    sc_log_error("event=catalog_reload_failed error=\"%s\"", err.message);
  sc_avail_cache_bump_all(app->avail);
}

static void on_auth(void *ud) {
  struct sc_app *app = ud;
  sc_auth_invalidate(app->auth);
}

/* Runs on the listener thread: the reload itself belongs to the main
** thread, which takes SIGHUP synchronously. */
static void on_reload(void *ud) {
  (void)ud;
  atomic_store(&notify_reload, 1);
  kill(getpid(), SIGHUP);
}

/* A sync job or delivery was queued by some daemon: wake our workers. The
** engine may not exist yet (or at all); it polls anyway. */
static void on_jobs(void *ud) {
  struct sc_app *app = ud;
  sc_sync_engine_wake(__atomic_load_n(&app->sync, __ATOMIC_ACQUIRE));
}

static void on_reconnect(void *ud) {
  on_catalog(ud);
  on_auth(ud);
  on_jobs(ud);
}

static int start_caches(struct sc_app *app, const char *url, struct sc_error *err) {
  int rc = sc_catalog_holder_open(app->pool, &app->catalog, err);
  if (rc) return rc;
  app->avail = sc_avail_cache_new(0);
  sc_metrics_add_collector(sc_avail_cache_metrics, app->avail);
  struct sc_listener_handlers h = {.on_avail = on_avail, .on_catalog = on_catalog,
                                   .on_auth = on_auth, .on_reload = on_reload, .on_jobs = on_jobs,
                                   .on_reconnect = on_reconnect,
                                   .ud = app};
  return sc_listener_start(url, &h, &app->listener, err);
}

static void wait_for_stop(struct sc_app *app, const sigset_t *set) {
  for (;;) {
    int sig = 0;
    if (sigwait(set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload_config(app);
      continue;
    }
    sc_log_info("event=stopping signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return;
  }
}

static int run(const struct opts *o, struct sc_app *app, const sigset_t *set) {
  struct sc_error err = {0};
  if (sc_config_load_dir(o->config_dir, &app->config, &err)) return fail(2, "config", &err);
  if (!o->database_url) {
    sc_error_set(&err, SC_EINVAL, NULL, "no database: set SIDECAL_DATABASE_URL or pass "
                 "--database-url (scripts/run does this for you)");
    return fail(2, "database", &err);
  }
  if (prepare_schema(o->database_url, &err)) return fail(1, "schema", &err);
  if (sc_keyring_load(o->keyring, &app->keyring, &err)) return fail(1, "keyring", &err);
  if (sc_db_pool_open(o->database_url, o->pool_size, &app->pool, &err)) return fail(1, "database_role", &err);
  /* -- auth: key cache and its usage flusher (closed in sc_daemon_main) -- */
  if (sc_auth_open(app->pool, &app->auth, &err) ||
      sc_auth_start_flusher(app->auth, SC_AUTH_FLUSH_S, &err))
    return fail(1, "auth", &err);
  /* -- plugins: registry generations (issue 5) -- */
  /* Generation 1 is built and its settings validated before the config is
  ** applied, so a connector settings error changes nothing in the database. */
  struct sc_plugin_runtime_options po = {.plugin_dirs = o->plugin_dir,
                                         .state_dir = o->state_dir, .no_unload = o->no_unload};
  if (sc_plugin_runtime_start(app, &po, &err))
    return fail(err.code == SC_EINVAL ? 2 : 1, "config_apply", &err);
  if (start_caches(app, o->database_url, &err)) return fail(1, "caches", &err);
  /* -- sync engine: workers, scheduler (issue 6) -- */
  /* SIDECAL_SYNC=off runs an API-only daemon (e.g. beside one that syncs). */
  const char *sync_env = getenv("SIDECAL_SYNC");
  if (sync_env && !strcmp(sync_env, "off")) {
    sc_log_info("event=sync_disabled reason=\"SIDECAL_SYNC=off\"");
  } else if (app->registry) {
    struct sc_sync_engine *sync = NULL;
    if (sc_sync_engine_start(app->pool, app->registry, NULL, &sync, &err))
      return fail(1, "sync", &err);
    __atomic_store_n(&app->sync, sync, __ATOMIC_RELEASE);
  } else {
    sc_log_warn("event=sync_disabled reason=\"no connector registry in this daemon\"");
  }
  struct sc_http_config hc = {.listen = o->listen, .threads = o->threads,
                              .routes = sc_routes, .app = app};
  struct sc_http_server *srv;
  if (sc_http_start(&hc, &srv, &err)) return fail(1, "listen", &err);
  sc_log_info("event=started version=%s listen=%s port=%d config_dir=%s",
              SC_VERSION, o->listen, sc_http_port(srv), o->config_dir);
  wait_for_stop(app, set);
  sc_http_stop(srv);
  sc_log_info("event=stopped");
  return 0;
}

int sc_daemon_main(int argc, char **argv) {
  struct opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : rc;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct sc_app app = {.config_dir = o.config_dir, .plugin_dir = o.plugin_dir,
                       .version = SC_VERSION};
  pthread_rwlock_init(&app.cfg_lock, NULL);
  sc_metrics_init();
  rc = run(&o, &app, &set);
  /* -- stop: sync engine (issue 6) -- */
  /* HTTP is stopped, and the listener goes first so no NOTIFY handler can
  ** wake an engine being freed. */
  if (app.sync) {
    sc_listener_stop(app.listener);
    app.listener = NULL;
  }
  sc_sync_engine_stop(app.sync);
  app.sync = NULL;
  /* -- stop: plugins (issue 5) -- */
  sc_plugin_runtime_stop(&app);
  sc_listener_stop(app.listener);  /* first: its handlers use the caches */
  sc_catalog_holder_close(app.catalog);
  sc_avail_cache_free(app.avail);
  sc_auth_close(app.auth);  /* before the pool: it flushes last_used_at */
  sc_db_pool_close(app.pool);
  sc_keyring_free(app.keyring);
  sc_config_free(&app.config);
  pthread_rwlock_destroy(&app.cfg_lock);
  sc_metrics_shutdown();
  return rc;
}
