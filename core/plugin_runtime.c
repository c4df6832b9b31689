/*
** The daemon's connector runtime (see plugin_runtime.h): generation 1 at
** start, the one reload function, the encrypted secret store behind the
** host's secret_read/secret_store_rotated, and the database record of what
** this daemon runs.
*/
#include "plugin_runtime.h"

#include "process_name.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "avail_cache.h"
#include "catalog.h"
#include "config_apply.h"
#include "log.h"
#include "registry.h"
#include "secrets.h"

struct sc_plugin_runtime {
  struct sc_registry *reg;
  char *plugin_dirs;
  char *cache_dir;
  char host[256];
  char daemon_id[300];
  pthread_mutex_t gate;          /* one reload at a time, config read included */
  struct sc_plugin_secrets secrets;
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double ms_between(int64_t a, int64_t b) { return (double)(b - a) / 1000.0; }

/* Milliseconds with microsecond digits, printed as such (not %.17g). */
static json_object *ms_json(double ms) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", ms);
  return json_object_new_double_s(ms, buf);
}

/* ---- secrets: conf.d references + the encrypted store --------------- */

static int admin_begin(PGconn *c, struct sc_error *err) {
  struct sc_tenant admin = {.platform_admin = 1};
  return sc_db_begin(c, &admin, err);
}

/* For the daemon's own status rows: a record lost in a crash describes a
** process that is gone anyway, so the reload does not wait for an fsync. */
static int status_begin(PGconn *c, struct sc_error *err) {
  int rc = admin_begin(c, err);
  return rc ? rc : sc_db_run(c, "SET LOCAL synchronous_commit = off", err);
}

/* Instance ids come from connector_instances, written by config apply. */
static int instance_ids(PGconn *c, const char *instance, char org[37], char id[37],
                        struct sc_error *err) {
  PGresult *r;
  const char *p[1] = {instance};
  int rc = sc_db_exec(c, "SELECT organization_id, id FROM connector_instances WHERE name = $1",
                      1, p, &r, err);
  if (rc) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, NULL,
                        "instance %s is not in the database (config not applied yet)", instance);
  }
  snprintf(org, 37, "%s", PQgetvalue(r, 0, 0));
  snprintf(id, 37, "%s", PQgetvalue(r, 0, 1));
  PQclear(r);
  return SC_OK;
}

/* The stored value wins (config-seeded or rotated); the reference is the
** fallback for an instance whose config was not applied yet. */
static int secret_read(void *ud, const char *instance, const char *key, const char *ref,
                       char **value, struct sc_error *err) {
  struct sc_app *app = ud;
  PGconn *c = sc_db_acquire(app->pool);
  char org[37], id[37];
  int rc = admin_begin(c, err);
  if (!rc) rc = instance_ids(c, instance, org, id, err);
  if (!rc) rc = sc_secret_get(c, app->keyring, org, id, key, value, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(app->pool, c);
  if (rc != SC_ENOTFOUND) return rc;
  if (!ref)
    return sc_error_set(err, SC_ENOTFOUND, key, "no secret \"%s\" stored for instance %s",
                        key, instance);
  return sc_config_resolve_secret(ref, value, err);
}

static int secret_store(void *ud, const char *instance, const char *key, const char *value,
                        struct sc_error *err) {
  struct sc_app *app = ud;
  PGconn *c = sc_db_acquire(app->pool);
  char org[37], id[37];
  int rc = admin_begin(c, err);
  if (!rc) rc = instance_ids(c, instance, org, id, err);
  if (!rc) rc = sc_secret_put(c, app->keyring, org, id, key, value, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(app->pool, c);
  return rc;
}

/* ---- a generation as JSON ------------------------------------------- */

static const char *code_name(int32_t code) {
  switch (code) {
  case SIDECAL_OK: return "ok";
  case SIDECAL_RETRY: return "retrying";
  case SIDECAL_ERROR: return "error";
  case SIDECAL_CURSOR_EXPIRED: return "cursor_expired";
  case SIDECAL_CONFLICT: return "conflict";
  default: return "unknown";
  }
}

static json_object *str_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

static json_object *plugin_json(const struct sc_gen_plugin *gp) {
  json_object *o = json_object_new_object();
  const struct sc_plugin *p = gp->plugin;
  char buf[160];
  json_object_object_add(o, "name", json_object_new_string(gp->name));
  json_object_object_add(o, "status", json_object_new_string(p ? "loaded" : "failed"));
  json_object_object_add(o, "version", p ? json_object_new_string(p->desc.version) : NULL);
  snprintf(buf, sizeof buf, "%u.%u", p ? p->desc.abi_major : 0, p ? p->desc.abi_minor : 0);
  json_object_object_add(o, "abi", p ? json_object_new_string(buf) : NULL);
  json_object_object_add(o, "sha256", p ? json_object_new_string(p->sha256) : NULL);
  json_object_object_add(o, "path", p ? json_object_new_string(p->path) : NULL);
  json_object_object_add(o, "capabilities", p ? json_object_new_string(
      sc_plugin_caps_string(p->desc.capabilities, buf, sizeof buf)) : NULL);
  json_object_object_add(o, "load_ms", ms_json(gp->load_us / 1000.0));
  json_object_object_add(o, "error", str_or_null(gp->error));
  return o;
}

static json_object *instance_json(const struct sc_gen_instance *e, int live) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(e->name));
  json_object_object_add(o, "plugin", json_object_new_string(e->plugin));
  json_object_object_add(o, "status", json_object_new_string(e->inst ? "running" : "failed"));
  json_object_object_add(o, "error", str_or_null(e->error));
  if (live && e->inst) {
    char last[SIDECAL_MESSAGE_MAX];
    int32_t code = sc_plugin_instance_health(e->inst, last, sizeof last);
    pthread_mutex_lock(&e->inst->lock);
    int64_t calls = (int64_t)e->inst->calls, failures = (int64_t)e->inst->failures;
    pthread_mutex_unlock(&e->inst->lock);
    json_object_object_add(o, "health", json_object_new_string(code_name(code)));
    json_object_object_add(o, "last_error", last[0] ? json_object_new_string(last) : NULL);
    json_object_object_add(o, "calls", json_object_new_int64(calls));
    json_object_object_add(o, "failures", json_object_new_int64(failures));
  }
  return o;
}

static json_object *gen_json(const struct sc_generation *g, int live) {
  json_object *o = json_object_new_object(), *ps = json_object_new_array(),
              *is = json_object_new_array();
  json_object_object_add(o, "generation", json_object_new_int64((int64_t)g->number));
  for (size_t i = 0; i < g->n_plugins; i++) json_object_array_add(ps, plugin_json(&g->plugins[i]));
  for (size_t i = 0; i < g->n_instances; i++)
    json_object_array_add(is, instance_json(&g->instances[i], live));
  json_object_object_add(o, "plugins", ps);
  json_object_object_add(o, "instances", is);
  return o;
}

/* ---- the database record -------------------------------------------- */

static int record_daemon(PGconn *c, const struct sc_plugin_runtime *rt, const char *version,
                         uint64_t generation, struct sc_error *err) {
  char pid[24], gen[24];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  snprintf(gen, sizeof gen, "%llu", (unsigned long long)generation);
  const char *p[5] = {rt->daemon_id, rt->host, pid, version, gen};
  return sc_db_exec(c,
      "INSERT INTO sidecal_daemons (daemon_id, host, pid, version, generation)"
      " VALUES ($1, $2, $3::int, $4, $5::bigint)"
      " ON CONFLICT (daemon_id) DO UPDATE SET generation = EXCLUDED.generation,"
      " version = EXCLUDED.version, reloaded_at = now(), last_reload_at = now(),"
      " last_reload_error = NULL", 5, p, NULL, err);
}

/* A module keeps its loaded_at while the same build stays loaded. */
static int record_modules(PGconn *c, const char *daemon, const char *gen, const char *plugins,
                          struct sc_error *err) {
  const char *p[3] = {daemon, gen, plugins};
  int rc = sc_db_exec(c,
      "INSERT INTO plugin_modules (daemon_id, name, path, sha256, abi, version, capabilities,"
      " generation, error)"
      " SELECT $1, x.name, x.path, x.sha256, x.abi, x.version, x.capabilities, $2::bigint, x.error"
      " FROM json_to_recordset($3::json) AS x(name text, path text, sha256 text, abi text,"
      " version text, capabilities text, error text)"
      " ON CONFLICT (daemon_id, name) DO UPDATE SET path = EXCLUDED.path,"
      " abi = EXCLUDED.abi, version = EXCLUDED.version, capabilities = EXCLUDED.capabilities,"
      " generation = EXCLUDED.generation, error = EXCLUDED.error, sha256 = EXCLUDED.sha256,"
      " loaded_at = CASE WHEN plugin_modules.sha256 IS NOT DISTINCT FROM EXCLUDED.sha256"
      " AND EXCLUDED.error IS NULL AND plugin_modules.error IS NULL"
      " THEN plugin_modules.loaded_at ELSE now() END", 3, p, NULL, err);
  if (!rc)
    rc = sc_db_exec(c, "DELETE FROM plugin_modules WHERE daemon_id = $1 AND generation <> $2::bigint",
                    2, p, NULL, err);
  return rc;
}

static int record_instances(PGconn *c, const char *daemon, const char *gen,
                            const char *instances, struct sc_error *err) {
  const char *p[3] = {daemon, gen, instances};
  int rc = sc_db_exec(c, "DELETE FROM plugin_instance_state WHERE daemon_id = $1", 1, p, NULL, err);
  if (!rc)
    rc = sc_db_exec(c,
        "INSERT INTO plugin_instance_state (organization_id, instance_id, daemon_id, generation,"
        " state, error)"
        " SELECT ci.organization_id, ci.id, $1, $2::bigint, x.status, x.error"
        " FROM json_to_recordset($3::json) AS x(name text, status text, error text)"
        " JOIN connector_instances ci ON ci.name = x.name", 3, p, NULL, err);
  return rc;
}

/* Best effort: a failure is logged, the generation serves regardless. */
static void record_generation(struct sc_app *app, json_object *gen) {
  struct sc_plugin_runtime *rt = app->plugins;
  json_object *num, *ps, *is;
  json_object_object_get_ex(gen, "generation", &num);
  json_object_object_get_ex(gen, "plugins", &ps);
  json_object_object_get_ex(gen, "instances", &is);
  char g[24];
  snprintf(g, sizeof g, "%lld", (long long)json_object_get_int64(num));
  struct sc_error err;
  PGconn *c = sc_db_acquire(app->pool);
  int rc = status_begin(c, &err);
  if (!rc) rc = record_daemon(c, rt, app->version, (uint64_t)json_object_get_int64(num), &err);
  if (!rc) rc = record_modules(c, rt->daemon_id, g, json_object_to_json_string(ps), &err);
  if (!rc) rc = record_instances(c, rt->daemon_id, g, json_object_to_json_string(is), &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(app->pool, c);
  if (rc) sc_log_error("event=plugins_record_failed error=\"%s\"", err.message);
}

static void record_rejection(struct sc_app *app, const char *message) {
  struct sc_error err;
  const char *p[2] = {app->plugins->daemon_id, message};
  PGconn *c = sc_db_acquire(app->pool);
  int rc = status_begin(c, &err);
  if (!rc) rc = sc_db_exec(c, "UPDATE sidecal_daemons SET last_reload_at = now(),"
                              " last_reload_error = $2 WHERE daemon_id = $1", 2, p, NULL, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(app->pool, c);
  if (rc) sc_log_error("event=plugins_record_failed error=\"%s\"", err.message);
}

/* Rows of daemons on this host whose process is gone (a crash or kill -9). */
static void forget_dead_daemons(struct sc_app *app) {
  struct sc_plugin_runtime *rt = app->plugins;
  struct sc_error err;
  PGresult *r = NULL;
  const char *p[1] = {rt->host};
  PGconn *c = sc_db_acquire(app->pool);
  int rc = admin_begin(c, &err);
  if (!rc) rc = sc_db_exec(c, "SELECT daemon_id, pid FROM sidecal_daemons WHERE host = $1",
                           1, p, &r, &err);
  for (int i = 0; !rc && i < PQntuples(r); i++) {
    pid_t pid = (pid_t)atol(PQgetvalue(r, i, 1));
    if (pid != getpid() && (kill(pid, 0) == 0 || errno != ESRCH)) continue;
    const char *d[1] = {PQgetvalue(r, i, 0)};
    rc = sc_db_exec(c, "DELETE FROM sidecal_daemons WHERE daemon_id = $1", 1, d, NULL, &err);
  }
  PQclear(r);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(app->pool, c);
  if (rc) sc_log_warn("event=plugins_cleanup_failed error=\"%s\"", err.message);
}

static void forget_self(struct sc_app *app) {
  struct sc_error err;
  const char *p[1] = {app->plugins->daemon_id};
  PGconn *c = sc_db_acquire(app->pool);
  int rc = admin_begin(c, &err);
  if (!rc) rc = sc_db_exec(c, "DELETE FROM sidecal_daemons WHERE daemon_id = $1", 1, p, NULL, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(app->pool, c);
}

/* ---- start / stop --------------------------------------------------- */

struct swap_ctx {
  struct sc_app *app;
  struct sc_config *fresh;
  int64_t build_end, apply_end, pool_wait_us;
  struct sc_apply_stats st;
};

static int apply_before_swap(void *ud, const struct sc_generation *next, struct sc_error *err);

static void config_free_owned(void *p) {
  sc_config_free(p);
  free(p);
}

static void source_init(struct sc_plugin_runtime *rt, struct sc_config *cfg,
                        struct sc_registry_source *src) {
  *src = (struct sc_registry_source){
    .plugin_dirs = rt->plugin_dirs, .cache_dir = rt->cache_dir, .config = cfg,
    .config_owner = cfg, .config_free = config_free_owned, .secrets = &rt->secrets,
  };
}

static size_t count_failed(const struct sc_generation *g, size_t *failed_instances) {
  size_t fp = 0, fi = 0;
  for (size_t i = 0; i < g->n_plugins; i++) fp += g->plugins[i].plugin == NULL;
  for (size_t i = 0; i < g->n_instances; i++) fi += g->instances[i].inst == NULL;
  *failed_instances = fi;
  return fp;
}

static struct sc_plugin_runtime *runtime_new(struct sc_app *app,
                                             const struct sc_plugin_runtime_options *o) {
  struct sc_plugin_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) return NULL;
  struct sc_registry_options ro = {
    .drain_timeout_ms = o->drain_timeout_ms,
    .unload = o->no_unload ? SC_REGISTRY_UNLOAD_NEVER : SC_REGISTRY_UNLOAD_AUTO,
  };
  rt->reg = sc_registry_new(&ro);
  rt->plugin_dirs = strdup(o->plugin_dirs ? o->plugin_dirs : ".");
  rt->cache_dir = g_build_filename(o->state_dir ? o->state_dir : "var", "plugin-cache", NULL);
  if (!rt->reg || !rt->plugin_dirs) {
    sc_registry_free(rt->reg);
    free(rt->plugin_dirs);
    g_free(rt->cache_dir);
    free(rt);
    return NULL;
  }
  if (gethostname(rt->host, sizeof rt->host - 1) != 0) snprintf(rt->host, sizeof rt->host, "localhost");
  sc_process_name(rt->daemon_id, sizeof rt->daemon_id, NULL);
  pthread_mutex_init(&rt->gate, NULL);
  rt->secrets = (struct sc_plugin_secrets){.read = secret_read, .store = secret_store, .ud = app};
  return rt;
}

static void runtime_free(struct sc_plugin_runtime *rt) {
  sc_registry_free(rt->reg);
  pthread_mutex_destroy(&rt->gate);
  free(rt->plugin_dirs);
  g_free(rt->cache_dir);
  free(rt);
}

static int has_connectors(const struct sc_config *cfg) {
  for (size_t o = 0; o < cfg->n_orgs; o++) {
    const struct sc_conf_org *org = &cfg->orgs[o];
    for (size_t l = 0; l < org->n_locations; l++)
      if (org->locations[l].n_connectors) return 1;
    for (size_t s = 0; s < org->n_staff; s++)
      if (org->staff[s].n_connectors) return 1;
  }
  return 0;
}

/* Created on first need, so a daemon without connectors writes nothing. */
static int ensure_cache_dir(const struct sc_plugin_runtime *rt, const struct sc_config *cfg,
                            struct sc_error *err) {
  if (!has_connectors(cfg) || g_mkdir_with_parents(rt->cache_dir, 0700) == 0) return SC_OK;
  return sc_error_set(err, SC_EIO, "state-dir", "cannot create the plugin cache %s: %s",
                      rt->cache_dir, strerror(errno));
}

int sc_plugin_runtime_start(struct sc_app *app, const struct sc_plugin_runtime_options *o,
                            struct sc_error *err) {
  struct sc_plugin_runtime *rt = runtime_new(app, o);
  if (!rt) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  /* The generation takes the parsed config over; app->config stays a view. */
  struct sc_config *owned = malloc(sizeof *owned);
  if (!owned) {
    runtime_free(rt);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  *owned = app->config;
  struct sc_registry_source src;
  source_init(rt, owned, &src);
  struct swap_ctx sx = {.app = app, .fresh = owned};
  src.before_swap = apply_before_swap;
  src.before_swap_ud = &sx;
  int rc = ensure_cache_dir(rt, owned, err);
  if (!rc) rc = sc_registry_reload(rt->reg, &src, err);
  if (rc) {
    free(owned); /* shallow: app->config still owns the contents */
    runtime_free(rt);
    return rc;
  }
  app->plugins = rt;
  app->registry = rt->reg;
  forget_dead_daemons(app);
  struct sc_generation *g = sc_registry_acquire(rt->reg);
  size_t fi, fp = count_failed(g, &fi);
  json_object *j = gen_json(g, 0);
  sc_log_info("event=plugins_started daemon=%s generation=%llu plugins=%zu failed_plugins=%zu "
              "instances=%zu failed_instances=%zu", rt->daemon_id, (unsigned long long)g->number,
              g->n_plugins, fp, g->n_instances, fi);
  sc_registry_release(g);
  record_generation(app, j);
  json_object_put(j);
  return SC_OK;
}

void sc_plugin_runtime_stop(struct sc_app *app) {
  struct sc_plugin_runtime *rt = app->plugins;
  if (!rt) return;
  pthread_mutex_lock(&rt->gate);  /* a reload still in flight records first */
  forget_self(app);
  pthread_rwlock_wrlock(&app->cfg_lock);
  app->plugins = NULL;
  pthread_mutex_unlock(&rt->gate);
  runtime_free(rt); /* frees the current generation's config ... */
  memset(&app->config, 0, sizeof app->config); /* ... which app->config viewed */
  pthread_rwlock_unlock(&app->cfg_lock);
}

/* ---- reload --------------------------------------------------------- */

/* Runs with the new generation built and validated; the old one serves. */
static int apply_before_swap(void *ud, const struct sc_generation *next, struct sc_error *err) {
  (void)next;
  struct swap_ctx *sx = ud;
  struct sc_app *app = sx->app;
  sx->build_end = now_us();
  PGconn *c = sc_db_acquire(app->pool);
  sx->pool_wait_us = now_us() - sx->build_end;
  int rc = sc_config_apply(c, sx->fresh, app->keyring, &sx->st, err);
  sc_db_release(app->pool, c);
  if (rc) return rc;
  sc_log_info("event=config_applied organizations=%d locations=%d staff=%d event_types=%d "
              "connectors=%d secrets_written=%d secrets_unresolved=%d deactivated=%d",
              sx->st.organizations, sx->st.locations, sx->st.staff, sx->st.event_types,
              sx->st.connectors, sx->st.secrets_written, sx->st.secrets_unresolved,
              sx->st.deactivated);
  pthread_rwlock_wrlock(&app->cfg_lock);
  app->config = *sx->fresh;  /* the old contents live until the old generation drains */
  pthread_rwlock_unlock(&app->cfg_lock);
  sx->apply_end = now_us();
  return SC_OK;
}

static void reject(struct sc_app *app, const char *trigger, const struct sc_error *err) {
  sc_log_error("event=reload_rejected trigger=%s error=\"%s\"", trigger, err->message);
  record_rejection(app, err->message);
}

static void after_swap(struct sc_app *app) {
  struct sc_error cerr;
  if (app->catalog && sc_catalog_reload(app->catalog, &cerr))
    sc_log_error("event=catalog_reload_failed error=\"%s\"", cerr.message);
  if (app->avail) sc_avail_cache_bump_all(app->avail);
}

static json_object *timings(int64_t t0, int64_t t1, const struct swap_ctx *sx, int64_t t2,
                            int64_t t3) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "read_config", ms_json(ms_between(t0, t1)));
  json_object_object_add(o, "build", ms_json(ms_between(t1, sx->build_end)));
  json_object_object_add(o, "apply", ms_json(ms_between(sx->build_end, sx->apply_end)));
  json_object_object_add(o, "apply_pool_wait", ms_json(sx->pool_wait_us / 1000.0));
  json_object_object_add(o, "swap_and_drain", ms_json(ms_between(sx->apply_end, t2)));
  json_object_object_add(o, "total", ms_json(ms_between(t0, t3)));
  return o;
}

static json_object *current_report(struct sc_plugin_runtime *rt) {
  struct sc_generation *g = sc_registry_acquire(rt->reg);
  json_object *rep = gen_json(g, 0);
  size_t fi, fp = count_failed(g, &fi);
  sc_registry_release(g);
  json_object_object_add(rep, "failed_plugins", json_object_new_int64((int64_t)fp));
  json_object_object_add(rep, "failed_instances", json_object_new_int64((int64_t)fi));
  return rep;
}

static double jget(json_object *o, const char *k) {
  return json_object_get_double(json_object_object_get(o, k));
}

static void log_reloaded(const char *trigger, json_object *rep, json_object *tm) {
  sc_log_info("event=reloaded trigger=%s generation=%lld failed_plugins=%lld "
              "failed_instances=%lld total_ms=%.1f config_ms=%.1f build_ms=%.1f apply_ms=%.1f "
              "swap_ms=%.1f", trigger,
              (long long)json_object_get_int64(json_object_object_get(rep, "generation")),
              (long long)json_object_get_int64(json_object_object_get(rep, "failed_plugins")),
              (long long)json_object_get_int64(json_object_object_get(rep, "failed_instances")),
              jget(tm, "total"), jget(tm, "read_config"), jget(tm, "build"), jget(tm, "apply"),
              jget(tm, "swap_and_drain"));
}

static int enter_gate(struct sc_plugin_runtime *rt, int wait, struct sc_error *err) {
  if (wait) pthread_mutex_lock(&rt->gate);
  else if (pthread_mutex_trylock(&rt->gate) != 0)
    return sc_error_set(err, SC_ESTATE, NULL, "a reload is already running");
  return SC_OK;
}

int sc_plugin_runtime_reload(struct sc_app *app, int wait, const char *trigger,
                             json_object **report, struct sc_error *err) {
  struct sc_plugin_runtime *rt = app->plugins;
  if (report) *report = NULL;
  if (!rt) return sc_error_set(err, SC_ESTATE, NULL, "connector plugins are not started");
  int rc = enter_gate(rt, wait, err);
  if (rc) return rc;
  int64_t t0 = now_us();
  struct sc_config *fresh = calloc(1, sizeof *fresh);
  if (!fresh) rc = sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  if (!rc) rc = sc_config_load_dir(app->config_dir, fresh, err);
  int64_t t1 = now_us();
  struct swap_ctx sx = {.app = app, .fresh = fresh, .build_end = t1, .apply_end = t1};
  if (!rc) rc = ensure_cache_dir(rt, fresh, err);
  if (!rc) {
    struct sc_registry_source src;
    source_init(rt, fresh, &src);
    src.before_swap = apply_before_swap;
    src.before_swap_ud = &sx;
    rc = sc_registry_reload(rt->reg, &src, err);
  }
  if (rc) {
    config_free_owned(fresh);
    reject(app, trigger, err);
    pthread_mutex_unlock(&rt->gate);
    return rc;
  }
  int64_t t2 = now_us();
  after_swap(app);
  json_object *rep = current_report(rt);
  record_generation(app, rep);
  json_object *tm = timings(t0, t1, &sx, t2, now_us());
  log_reloaded(trigger, rep, tm);
  pthread_mutex_unlock(&rt->gate);
  json_object_object_add(rep, "trigger", json_object_new_string(trigger));
  json_object_object_add(rep, "daemon", json_object_new_string(rt->daemon_id));
  json_object_object_add(rep, "timings_ms", tm);
  if (report) *report = rep;
  else json_object_put(rep);
  return SC_OK;
}

/* ---- inspection ----------------------------------------------------- */

struct sc_generation *sc_plugin_runtime_acquire(struct sc_app *app) {
  return app->plugins ? sc_registry_acquire(app->plugins->reg) : NULL;
}

void sc_plugin_runtime_release(struct sc_generation *gen) { sc_registry_release(gen); }

json_object *sc_plugin_runtime_describe(struct sc_app *app) {
  struct sc_generation *g = sc_plugin_runtime_acquire(app);
  if (!g) return NULL;
  json_object *o = gen_json(g, 1);
  sc_registry_release(g);
  json_object_object_add(o, "daemon", json_object_new_string(app->plugins->daemon_id));
  json_object_object_add(o, "unload", json_object_new_boolean(
      sc_registry_unload_enabled(app->plugins->reg)));
  return o;
}

const char *sc_plugin_runtime_daemon_id(struct sc_app *app) {
  return app->plugins ? app->plugins->daemon_id : NULL;
}
