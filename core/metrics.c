/*
** Process metrics and their Prometheus text rendering (format 0.0.4).
**
** One mutex guards the tables; a request takes it twice (set_route,
** observe). Counting a database query takes no lock in the common case: the
** thread keeps a pointer to its route's counter, checked against a
** generation number so a pointer from before sc_metrics_shutdown() is never
** followed.
*/
#include "metrics.h"

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"

/* Latency bucket upper bounds in seconds; +Inf is implicit. */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

struct route_stats {
  char *route;
  long buckets[NBOUNDS + 1];  /* per bucket (not cumulative); last = above all */
  double sum;
  long count;
  atomic_long queries;
};

struct request_counter {
  char *route;
  const char *method;  /* one of known_methods */
  int status;
  long n;
};

struct named_counter {
  char *name;
  char *labels;  /* "" when none */
  double v;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *routes;    /* route → struct route_stats */
static GHashTable *requests;  /* "route\037method\037status" → struct request_counter */
static GHashTable *counters;  /* "name\037labels" → struct named_counter */
static atomic_uint generation = 1;

static _Thread_local char tl_route[128];
static _Thread_local struct route_stats *tl_stats;
static _Thread_local unsigned tl_gen;

/* A client picks the method; only these become label values, so the
** number of series stays bounded. */
static const char *const known_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH",
                                            "DELETE", "OPTIONS"};

static const char *method_label(const char *m) {
  for (size_t i = 0; m && i < sizeof known_methods / sizeof known_methods[0]; i++)
    if (!strcmp(m, known_methods[i])) return known_methods[i];
  return "OTHER";
}

static void free_route(gpointer p) {
  struct route_stats *r = p;
  free(r->route);
  free(r);
}

static void free_request(gpointer p) {
  struct request_counter *c = p;
  free(c->route);
  free(c);
}

static void free_named(gpointer p) {
  struct named_counter *c = p;
  free(c->name);
  free(c->labels);
  free(c);
}

static void ensure_locked(void) {
  if (routes) return;
  routes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_route);
  requests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_request);
  counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_named);
}

void sc_metrics_init(void) {
  pthread_mutex_lock(&mu);
  ensure_locked();
  pthread_mutex_unlock(&mu);
}

/* Call only once no other thread records any more. */
static struct {
  sc_metrics_collector fn;
  void *ud;
} collectors[8];
static int n_collectors;

void sc_metrics_shutdown(void) {
  pthread_mutex_lock(&mu);
  n_collectors = 0;
  if (routes) {
    g_hash_table_destroy(routes);
    g_hash_table_destroy(requests);
    g_hash_table_destroy(counters);
    routes = requests = counters = NULL;
  }
  atomic_fetch_add(&generation, 1);
  pthread_mutex_unlock(&mu);
}

static struct route_stats *route_locked(const char *route) {
  ensure_locked();
  struct route_stats *r = g_hash_table_lookup(routes, route);
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r || !(r->route = strdup(route))) {
      free(r);
      return NULL;
    }
    g_hash_table_insert(routes, r->route, r);
  }
  return r;
}

/* ---- recording --------------------------------------------------------- */

void sc_metrics_set_route(const char *route) {
  if (!route) route = "(none)";
  unsigned gen = atomic_load(&generation);
  if (tl_stats && tl_gen == gen && !strcmp(tl_route, route)) return;
  if (route != tl_route) snprintf(tl_route, sizeof tl_route, "%s", route);
  pthread_mutex_lock(&mu);
  tl_stats = route_locked(tl_route);
  tl_gen = atomic_load(&generation);
  pthread_mutex_unlock(&mu);
}

void sc_metrics_count_query(void) {
  if (!tl_stats || tl_gen != atomic_load(&generation))
    sc_metrics_set_route(*tl_route ? tl_route : NULL);
  if (tl_stats) atomic_fetch_add(&tl_stats->queries, 1);
}

long sc_metrics_queries_for(const char *route) {
  pthread_mutex_lock(&mu);
  struct route_stats *r = routes ? g_hash_table_lookup(routes, route) : NULL;
  long n = r ? atomic_load(&r->queries) : 0;
  pthread_mutex_unlock(&mu);
  return n;
}

void sc_metrics_observe_request(const char *route, const char *method,
                                int status, double seconds) {
  if (!route) route = "(none)";
  const char *m = method_label(method);
  char *key = g_strdup_printf("%s\037%s\037%d", route, m, status);
  pthread_mutex_lock(&mu);
  struct route_stats *r = route_locked(route);
  if (r) {
    size_t i = 0;
    while (i < NBOUNDS && seconds > bounds[i]) i++;
    r->buckets[i]++;
    r->sum += seconds;
    r->count++;
  }
  struct request_counter *c = g_hash_table_lookup(requests, key);
  if (!c) {
    c = calloc(1, sizeof *c);
    if (c && !(c->route = strdup(route))) {
      free(c);
      c = NULL;
    }
    if (c) {
      c->method = m;
      c->status = status;
      g_hash_table_insert(requests, key, c);
      key = NULL;
    }
  }
  if (c) c->n++;
  pthread_mutex_unlock(&mu);
  g_free(key);
}

static int valid_name(const char *s) {
  if (!s || !*s || !(g_ascii_isalpha(*s) || *s == '_' || *s == ':')) return 0;
  for (; *s; s++)
    if (!(g_ascii_isalnum(*s) || *s == '_' || *s == ':')) return 0;
  return 1;
}

void sc_metrics_counter_add(const char *name, const char *labels, double v) {
  if (!valid_name(name) || !(v >= 0)) return;  /* counters never go down */
  if (!labels) labels = "";
  char *key = g_strdup_printf("%s\037%s", name, labels);
  pthread_mutex_lock(&mu);
  ensure_locked();
  struct named_counter *c = g_hash_table_lookup(counters, key);
  if (!c && (c = calloc(1, sizeof *c))) {
    c->name = strdup(name);
    c->labels = strdup(labels);
    if (c->name && c->labels) {
      g_hash_table_insert(counters, key, c);
      key = NULL;
    } else {
      free_named(c);
      c = NULL;
    }
  }
  if (c) c->v += v;
  pthread_mutex_unlock(&mu);
  g_free(key);
}

/* ---- rendering --------------------------------------------------------- */

/* Label values escape backslash, double quote and newline. */
static void put_label(FILE *f, const char *name, const char *value) {
  fprintf(f, "%s=\"", name);
  for (const char *p = value; *p; p++) {
    if (*p == '\\') fputs("\\\\", f);
    else if (*p == '"') fputs("\\\"", f);
    else if (*p == '\n') fputs("\\n", f);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void put_number(FILE *f, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.15g", v);  /* 15 digits: no binary noise */
  /* The C locale is assumed; guard against a decimal comma anyway. */
  for (char *p = buf; *p; p++)
    if (*p == ',') *p = '.';
  fputs(buf, f);
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash table keys, sorted, so output is stable between scrapes. */
static GPtrArray *sorted_keys(GHashTable *t) {
  GPtrArray *a = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, t);
  while (g_hash_table_iter_next(&it, &k, NULL)) g_ptr_array_add(a, k);
  g_ptr_array_sort(a, cmp_str);
  return a;
}

static void render_requests(FILE *f) {
  fputs("# HELP sidecal_http_requests_total HTTP requests served, by route pattern, method and status.\n"
        "# TYPE sidecal_http_requests_total counter\n", f);
  GPtrArray *keys = sorted_keys(requests);
  for (guint i = 0; i < keys->len; i++) {
    const struct request_counter *c = g_hash_table_lookup(requests, keys->pdata[i]);
    char status[16];
    snprintf(status, sizeof status, "%d", c->status);
    fputs("sidecal_http_requests_total{", f);
    put_label(f, "route", c->route);
    fputc(',', f);
    put_label(f, "method", c->method);
    fputc(',', f);
    put_label(f, "status", status);
    fprintf(f, "} %ld\n", c->n);
  }
  g_ptr_array_free(keys, TRUE);
}

static void render_latency(FILE *f, GPtrArray *names) {
  const char *m = "sidecal_http_request_duration_seconds";
  fprintf(f, "# HELP %s Time from request start to response, by route pattern.\n"
             "# TYPE %s histogram\n", m, m);
  for (guint i = 0; i < names->len; i++) {
    const struct route_stats *r = g_hash_table_lookup(routes, names->pdata[i]);
    if (!r->count) continue;
    long cum = 0;
    for (size_t b = 0; b <= NBOUNDS; b++) {
      char le[32];
      if (b < NBOUNDS) snprintf(le, sizeof le, "%g", bounds[b]);
      else snprintf(le, sizeof le, "+Inf");
      cum += r->buckets[b];
      fprintf(f, "%s_bucket{", m);
      put_label(f, "route", r->route);
      fputc(',', f);
      put_label(f, "le", le);
      fprintf(f, "} %ld\n", cum);
    }
    fprintf(f, "%s_sum{", m);
    put_label(f, "route", r->route);
    fputs("} ", f);
    put_number(f, r->sum);
    fprintf(f, "\n%s_count{", m);
    put_label(f, "route", r->route);
    fprintf(f, "} %ld\n", r->count);
  }
}

static void render_queries(FILE *f, GPtrArray *names) {
  fputs("# HELP sidecal_db_queries_total Database statements run, by the route being served.\n"
        "# TYPE sidecal_db_queries_total counter\n", f);
  for (guint i = 0; i < names->len; i++) {
    const struct route_stats *r = g_hash_table_lookup(routes, names->pdata[i]);
    long n = atomic_load(&r->queries);
    if (!n) continue;
    fputs("sidecal_db_queries_total{", f);
    put_label(f, "route", r->route);
    fprintf(f, "} %ld\n", n);
  }
}

static void render_pool(FILE *f, struct sc_db_pool *pool) {
  int in_use = 0;
  long waits = 0;
  sc_db_pool_stats(pool, &in_use, &waits);
  fprintf(f,
      "# HELP sidecal_db_pool_in_use Database connections currently borrowed from the pool.\n"
      "# TYPE sidecal_db_pool_in_use gauge\n"
      "sidecal_db_pool_in_use %d\n"
      "# HELP sidecal_db_pool_waits_total Pool acquisitions that had to wait for a free connection.\n"
      "# TYPE sidecal_db_pool_waits_total counter\n"
      "sidecal_db_pool_waits_total %ld\n", in_use, waits);
}

static void render_named(FILE *f) {
  GPtrArray *keys = sorted_keys(counters);
  const char *last = NULL;
  for (guint i = 0; i < keys->len; i++) {
    const struct named_counter *c = g_hash_table_lookup(counters, keys->pdata[i]);
    if (!last || strcmp(last, c->name) != 0)
      fprintf(f, "# TYPE %s counter\n", c->name);
    last = c->name;
    fputs(c->name, f);
    if (*c->labels) fprintf(f, "{%s}", c->labels);
    fputc(' ', f);
    put_number(f, c->v);
    fputc('\n', f);
  }
  g_ptr_array_free(keys, TRUE);
}

void sc_metrics_add_collector(sc_metrics_collector fn, void *ud) {
  pthread_mutex_lock(&mu);
  if (n_collectors < 8) {
    collectors[n_collectors].fn = fn;
    collectors[n_collectors++].ud = ud;
  }
  pthread_mutex_unlock(&mu);
}

int sc_metrics_render(struct sc_db_pool *pool, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  FILE *f = open_memstream(out, len);
  if (!f) return SC_ENOMEM;
  if (pool) render_pool(f, pool);
  pthread_mutex_lock(&mu);
  ensure_locked();
  GPtrArray *names = sorted_keys(routes);
  render_requests(f);
  render_latency(f, names);
  render_queries(f, names);
  render_named(f);
  g_ptr_array_free(names, TRUE);
  int nc = n_collectors;
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < nc; i++) collectors[i].fn(f, collectors[i].ud);
  if (fclose(f) != 0) {
    free(*out);
    *out = NULL;
    *len = 0;
    return SC_ENOMEM;
  }
  return SC_OK;
}
