/*
** Registry generations: build off to the side, validate, create, swap one
** atomic pointer, drain and destroy the old generation.
*/
#include "registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SC_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_UNDER_ASAN 1
#endif
#endif
#ifndef SC_UNDER_ASAN
#define SC_UNDER_ASAN 0
#endif

struct sc_registry {
  _Atomic(struct sc_generation *) current;
  atomic_long entering;          /* acquirers between load and ref */
  pthread_mutex_t reload_lock;   /* one reload at a time */
  struct sc_generation *retired; /* guarded by reload_lock */
  uint64_t next_number;
  int64_t drain_timeout_ms;
  int unload;
};

/* ---- generations ---------------------------------------------------- */

static struct sc_generation *gen_new(uint64_t number, int unload) {
  struct sc_generation *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->number = number;
  atomic_init(&g->refs, 0);
  g->created_ms = sc_plugin_monotonic_ms();
  g->unload = unload;
  g->index = g_hash_table_new(g_str_hash, g_str_equal);
  return g;
}

/* After the last dlclose of a copy, its file is removed so the cache holds
** only builds in use; a later load of the same build copies it again. */
static void release_plugin(struct sc_plugin *p, int unload) {
  if (!p) return;
  char *copy = unload && p->copy_path ? strdup(p->copy_path) : NULL;
  sc_plugin_free(p, unload);
  if (!copy) return;
  void *still = dlopen(copy, RTLD_NOW | RTLD_NOLOAD);
  if (still) dlclose(still); /* another generation still runs this build */
  else unlink(copy);
  free(copy);
}

static void gen_destroy(struct sc_generation *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_instances; i++) {
    sc_plugin_instance_destroy(g->instances[i].inst);
    free(g->instances[i].name);
    free(g->instances[i].plugin);
    free(g->instances[i].error);
  }
  free(g->instances);
  for (size_t i = 0; i < g->n_plugins; i++) {
    release_plugin(g->plugins[i].plugin, g->unload);
    free(g->plugins[i].name);
    free(g->plugins[i].error);
  }
  free(g->plugins);
  if (g->config_free) g->config_free(g->config_owner);
  g_hash_table_destroy(g->index);
  free(g);
}

struct sc_plugin_instance *sc_generation_instance(const struct sc_generation *gen,
                                                  const char *name) {
  const struct sc_gen_instance *e = sc_generation_instance_entry(gen, name);
  return e ? e->inst : NULL;
}

const struct sc_gen_instance *sc_generation_instance_entry(const struct sc_generation *gen,
                                                           const char *name) {
  return gen && name ? g_hash_table_lookup(gen->index, name) : NULL;
}

static const char *result_name(int32_t code) {
  switch (code) {
  case SIDECAL_OK: return "ok";
  case SIDECAL_RETRY: return "retrying";
  case SIDECAL_ERROR: return "error";
  case SIDECAL_CURSOR_EXPIRED: return "cursor_expired";
  case SIDECAL_CONFLICT: return "conflict";
  case SIDECAL_UNAUTHORIZED: return "unauthorized";
  default: return "unknown";
  }
}

void sc_generation_describe(const struct sc_generation *gen, FILE *out) {
  fprintf(out, "generation %llu\nplugins:\n", (unsigned long long)gen->number);
  for (size_t i = 0; i < gen->n_plugins; i++) {
    const struct sc_gen_plugin *gp = &gen->plugins[i];
    if (!gp->plugin) {
      fprintf(out, "  %s  FAILED: %s\n", gp->name, gp->error ? gp->error : "?");
      continue;
    }
    const struct sc_plugin *p = gp->plugin;
    char caps[160];
    fprintf(out, "  %s %s  ABI %u.%u  sha256 %.16s  %s  [%s]\n", p->name, p->desc.version,
            p->desc.abi_major, p->desc.abi_minor, p->sha256, p->path,
            sc_plugin_caps_string(p->desc.capabilities, caps, sizeof caps));
  }
  fprintf(out, "instances:\n");
  for (size_t i = 0; i < gen->n_instances; i++) {
    const struct sc_gen_instance *e = &gen->instances[i];
    if (!e->inst) {
      fprintf(out, "  %s (%s)  FAILED: %s\n", e->name, e->plugin, e->error ? e->error : "?");
      continue;
    }
    char last[SIDECAL_MESSAGE_MAX];
    int32_t code = sc_plugin_instance_health(e->inst, last, sizeof last);
    pthread_mutex_lock(&e->inst->lock);
    unsigned long long calls = e->inst->calls, failures = e->inst->failures;
    pthread_mutex_unlock(&e->inst->lock);
    fprintf(out, "  %s (%s)  %s  calls %llu  failures %llu%s%s\n", e->name, e->plugin,
            result_name(code), calls, failures, last[0] ? "  last error: " : "", last);
  }
}

/* ---- building a generation ------------------------------------------ */

struct conn_ref {
  const struct sc_conf_org *org;
  const struct sc_conf_connector *conf;
  const char *location;   /* slug, location scope */
  const char *staff;      /* slug, staff scope */
  char path[96];          /* "locations[0].connectors[1]" */
  char *name;             /* instance name */
  struct sidecal_settings *settings;
  struct sc_plugin *plugin;
  const char *plugin_error;
};

static void collect_connectors(const struct sc_config *cfg, GArray *out) {
  for (size_t o = 0; cfg && o < cfg->n_orgs; o++) {
    const struct sc_conf_org *org = &cfg->orgs[o];
    for (size_t l = 0; l < org->n_locations; l++)
      for (size_t k = 0; k < org->locations[l].n_connectors; k++) {
        struct conn_ref r = {.org = org, .conf = &org->locations[l].connectors[k]};
        r.location = r.conf->location ? r.conf->location : org->locations[l].slug;
        snprintf(r.path, sizeof r.path, "locations[%zu].connectors[%zu]", l, k);
        g_array_append_val(out, r);
      }
    for (size_t s = 0; s < org->n_staff; s++)
      for (size_t k = 0; k < org->staff[s].n_connectors; k++) {
        struct conn_ref r = {.org = org, .conf = &org->staff[s].connectors[k]};
        r.staff = r.conf->staff ? r.conf->staff : org->staff[s].slug;
        snprintf(r.path, sizeof r.path, "staff[%zu].connectors[%zu]", s, k);
        g_array_append_val(out, r);
      }
  }
}

static char *instance_name(const struct conn_ref *r) {
  if (r->conf->instance) return g_strdup(r->conf->instance);
  if (r->location) return g_strdup_printf("%s.%s.%s", r->org->slug, r->location, r->conf->plugin);
  return g_strdup_printf("%s.staff.%s.%s", r->org->slug, r->staff, r->conf->plugin);
}

/* Picks the first directory of a ':'-separated list that holds name.so. */
static char *plugin_dir_for(const char *dirs, const char *name) {
  gchar **parts = g_strsplit(dirs ? dirs : ".", ":", -1);
  char *found = NULL;
  for (gchar **d = parts; *d && !found; d++) {
    if (!**d) continue;
    gchar *path = g_strdup_printf("%s/%s.so", *d, name);
    struct stat st;
    if (lstat(path, &st) == 0) found = g_strdup(*d);
    g_free(path);
  }
  if (!found) found = g_strdup(parts[0] && *parts[0] ? parts[0] : ".");
  g_strfreev(parts);
  return found;
}

static struct sc_gen_plugin *find_gen_plugin(struct sc_generation *g, const char *name) {
  for (size_t i = 0; i < g->n_plugins; i++)
    if (!strcmp(g->plugins[i].name, name)) return &g->plugins[i];
  return NULL;
}

static int load_plugins(struct sc_generation *g, const struct sc_registry_source *src,
                        GArray *conns) {
  g->plugins = calloc(conns->len + 1, sizeof *g->plugins);
  if (!g->plugins) return SC_ENOMEM;
  for (guint i = 0; i < conns->len; i++) {
    struct conn_ref *r = &g_array_index(conns, struct conn_ref, i);
    struct sc_gen_plugin *gp = find_gen_plugin(g, r->conf->plugin);
    if (!gp) {
      gp = &g->plugins[g->n_plugins++];
      gp->name = strdup(r->conf->plugin);
      char *dir = plugin_dir_for(src->plugin_dirs, r->conf->plugin);
      struct sc_error err;
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      int lrc = sc_plugin_load(dir, r->conf->plugin, src->cache_dir, &gp->plugin, &err);
      clock_gettime(CLOCK_MONOTONIC, &t1);
      gp->load_us = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
      if (lrc) {
        gp->error = strdup(err.message);
        sc_log_error("%s", err.message);
      }
      g_free(dir);
    }
    r->plugin = gp->plugin;
    r->plugin_error = gp->error;
  }
  return SC_OK;
}

static int validate_all(GArray *conns, struct sc_error *err) {
  GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
  int rc = SC_OK;
  for (guint i = 0; i < conns->len && !rc; i++) {
    struct conn_ref *r = &g_array_index(conns, struct conn_ref, i);
    r->name = instance_name(r);
    if (g_hash_table_contains(names, r->name)) {
      rc = sc_error_set(err, SC_EINVAL, r->path, "%s:%d:%d: %s: instance name \"%s\" is used twice",
                        r->org->file, r->conf->pos.line, r->conf->pos.col, r->path, r->name);
      break;
    }
    g_hash_table_add(names, r->name);
    if (!r->plugin) continue; /* recorded as failed; nothing to validate against */
    rc = sc_plugin_settings_validate(r->plugin->settings, r->plugin->n_settings,
                                     r->org->file, r->path, r->conf, &r->settings, err);
  }
  g_hash_table_destroy(names);
  return rc;
}

static void create_instances(struct sc_generation *g, const struct sc_registry_source *src,
                             GArray *conns) {
  for (guint i = 0; i < conns->len; i++) {
    struct conn_ref *r = &g_array_index(conns, struct conn_ref, i);
    struct sc_gen_instance *e = &g->instances[g->n_instances++];
    e->name = r->name;
    r->name = NULL;
    e->plugin = strdup(r->conf->plugin);
    if (!r->plugin) {
      e->error = g_strdup_printf("%s: connector \"%s\" did not load: %s", e->name,
                                 r->conf->plugin, r->plugin_error ? r->plugin_error : "?");
    } else {
      struct sc_plugin_instance_spec spec = {
        .name = e->name, .organization = r->org->slug, .location = r->location,
        .staff = r->staff, .secrets = r->conf->secrets, .n_secrets = r->conf->n_secrets,
        .secret_store = src->secrets, .cancel = &g->cancel,
      };
      struct sc_error err;
      struct sidecal_settings *s = r->settings;
      r->settings = NULL;
      if (sc_plugin_instance_create(r->plugin, &spec, s, &e->inst, &err)) {
        e->error = strdup(err.message);
        sc_log_error("instance %s", err.message);
      }
    }
    g_hash_table_insert(g->index, e->name, e);
  }
}

static void conns_free(GArray *conns) {
  for (guint i = 0; i < conns->len; i++) {
    struct conn_ref *r = &g_array_index(conns, struct conn_ref, i);
    g_free(r->name);
    sc_plugin_settings_free(r->settings);
  }
  g_array_free(conns, TRUE);
}

/* The instance names come from g_strdup; gen_destroy frees with free(),
** which is the same allocator for GLib >= 2.46. */
static struct sc_generation *build(struct sc_registry *reg,
                                   const struct sc_registry_source *src,
                                   struct sc_error *err) {
  struct sc_generation *g = gen_new(reg->next_number, reg->unload);
  GArray *conns = g_array_new(FALSE, TRUE, sizeof(struct conn_ref));
  if (!g) {
    g_array_free(conns, TRUE);
    sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  collect_connectors(src->config, conns);
  int rc = load_plugins(g, src, conns);
  if (!rc) rc = validate_all(conns, err);
  if (!rc && !(g->instances = calloc(conns->len + 1, sizeof *g->instances)))
    rc = sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  if (rc) {
    if (rc == SC_ENOMEM) sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    conns_free(conns);
    gen_destroy(g);
    return NULL;
  }
  create_instances(g, src, conns);
  conns_free(conns);
  return g;
}

/* ---- acquire / release / swap --------------------------------------- */

struct sc_generation *sc_registry_acquire(struct sc_registry *reg) {
  atomic_fetch_add(&reg->entering, 1);
  struct sc_generation *g = atomic_load(&reg->current);
  atomic_fetch_add(&g->refs, 1);
  atomic_fetch_sub(&reg->entering, 1);
  return g;
}

void sc_registry_release(struct sc_generation *gen) {
  if (gen) atomic_fetch_sub(&gen->refs, 1);
}

/* After the exchange, an acquirer either loaded the new pointer or is
** between its load and its ref increment; waiting for `entering` to be 0
** once makes the old generation's refcount exact from then on. */
static struct sc_generation *swap(struct sc_registry *reg, struct sc_generation *next) {
  atomic_fetch_add(&next->refs, 1); /* the registry's own reference */
  struct sc_generation *old = atomic_exchange(&reg->current, next);
  while (atomic_load(&reg->entering) != 0) sched_yield();
  atomic_fetch_sub(&old->refs, 1);
  return old;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Caller holds reload_lock. */
static size_t collect_locked(struct sc_registry *reg, int64_t wait_ms) {
  int64_t deadline = sc_plugin_monotonic_ms() + wait_ms;
  for (;;) {
    size_t left = 0;
    struct sc_generation **link = &reg->retired;
    while (*link) {
      struct sc_generation *g = *link;
      if (atomic_load(&g->refs) == 0) {
        *link = g->next_retired;
        gen_destroy(g);
      } else {
        left++;
        link = &g->next_retired;
      }
    }
    if (!left || sc_plugin_monotonic_ms() >= deadline) return left;
    sleep_ms(1);
  }
}

static void cancel_overstayed(struct sc_registry *reg) {
  for (struct sc_generation *g = reg->retired; g; g = g->next_retired) {
    if (g->cancel) continue;
    __atomic_store_n(&g->cancel, 1, __ATOMIC_SEQ_CST);
    sc_log_warn("registry generation %llu still has %ld call(s) after the %lld ms drain "
                "deadline; cancelling them and keeping its connectors mapped",
                (unsigned long long)g->number, atomic_load(&g->refs),
                (long long)reg->drain_timeout_ms);
  }
}

int sc_registry_reload(struct sc_registry *reg, const struct sc_registry_source *src,
                       struct sc_error *err) {
  if (pthread_mutex_trylock(&reg->reload_lock) != 0)
    return sc_error_set(err, SC_ESTATE, NULL, "a reload is already running");
  reg->next_number++;
  struct sc_generation *next = build(reg, src, err);
  if (next && src->before_swap) {
    int hrc = src->before_swap(src->before_swap_ud, next, err);
    if (hrc) {
      gen_destroy(next); /* never referenced; config_owner not yet taken */
      next = NULL;
      if (err) err->code = hrc;
    }
  }
  if (!next) {
    reg->next_number--;
    pthread_mutex_unlock(&reg->reload_lock);
    return err ? err->code : SC_EINVAL;
  }
  next->config = src->config;
  next->config_owner = src->config_owner;
  next->config_free = src->config_free;
  struct sc_generation *old = swap(reg, next);
  old->next_retired = reg->retired;
  reg->retired = old;
  sc_log_info("registry generation %llu serving (%zu plugin(s), %zu instance(s))",
              (unsigned long long)next->number, next->n_plugins, next->n_instances);
  if (collect_locked(reg, reg->drain_timeout_ms)) cancel_overstayed(reg);
  pthread_mutex_unlock(&reg->reload_lock);
  return SC_OK;
}

size_t sc_registry_collect(struct sc_registry *reg, int64_t wait_ms) {
  pthread_mutex_lock(&reg->reload_lock);
  size_t left = collect_locked(reg, wait_ms);
  pthread_mutex_unlock(&reg->reload_lock);
  return left;
}

/* ---- lifetime ------------------------------------------------------- */

struct sc_registry *sc_registry_new(const struct sc_registry_options *opts) {
  struct sc_registry *reg = calloc(1, sizeof *reg);
  if (!reg) return NULL;
  enum sc_registry_unload u = opts ? opts->unload : SC_REGISTRY_UNLOAD_AUTO;
  reg->unload = u == SC_REGISTRY_UNLOAD_ALWAYS || (u == SC_REGISTRY_UNLOAD_AUTO && !SC_UNDER_ASAN);
  reg->drain_timeout_ms = opts && opts->drain_timeout_ms > 0 ? opts->drain_timeout_ms : 5000;
  pthread_mutex_init(&reg->reload_lock, NULL);
  atomic_init(&reg->entering, 0);
  struct sc_generation *g0 = gen_new(0, reg->unload);
  if (!g0) {
    free(reg);
    return NULL;
  }
  atomic_fetch_add(&g0->refs, 1);
  atomic_init(&reg->current, g0);
  return reg;
}

void sc_registry_free(struct sc_registry *reg) {
  if (!reg) return;
  pthread_mutex_lock(&reg->reload_lock);
  if (collect_locked(reg, reg->drain_timeout_ms))
    sc_log_warn("registry freed with referenced generations; leaking them");
  gen_destroy(atomic_load(&reg->current));
  pthread_mutex_unlock(&reg->reload_lock);
  pthread_mutex_destroy(&reg->reload_lock);
  free(reg);
}

int sc_registry_unload_enabled(const struct sc_registry *reg) { return reg->unload; }

uint64_t sc_registry_generation_number(struct sc_registry *reg) {
  struct sc_generation *g = sc_registry_acquire(reg);
  uint64_t n = g->number;
  sc_registry_release(g);
  return n;
}
