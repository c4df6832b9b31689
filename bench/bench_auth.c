/* Benchmark: authenticated requests through the real HTTP server with a
** cached key, and the database queries they cost (should be 0 after the
** first). Needs SIDECAL_TEST_PG_URL (scripts/pg url).
** Usage: build/bench/bench_auth [THREADS] [REQUESTS_PER_THREAD] */
#include <curl/curl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "http.h"
#include "metrics.h"
#include "testdb.h"

#define ROUTE "/b/whoami"

static void whoami(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_caller c;
  if (sc_auth_request(app->auth, req, resp, &c)) return;
  sc_http_json(resp, 200, json_object_new_string(c.org_slug));
}

static const struct sc_http_route routes[] = {{"GET", ROUTE, whoami}, {NULL, NULL, NULL}};

struct worker {
  char url[96];
  char authz[96];
  int n;
  int failures;
  double *lat;
};

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

static void *run(void *arg) {
  struct worker *w = arg;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, w->authz);
  curl_easy_setopt(c, CURLOPT_URL, w->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  for (int i = 0; i < w->n; i++) {
    gint64 t0 = g_get_monotonic_time();
    long status = 0;
    if (curl_easy_perform(c) != CURLE_OK) w->failures++;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) w->failures++;
    w->lat[i] = (double)(g_get_monotonic_time() - t0) / 1000.0;
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  int per = argc > 2 ? atoi(argv[2]) : 5000;
  if (threads < 1 || threads > 64 || per < 1) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sc_metrics_init();
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  PGconn *owner = sc_test_db_connect(&db);
  g_free(sc_test_db_value(owner, "INSERT INTO organizations (slug, name) VALUES ('acme', 'Acme')"));
  struct sc_app app = {0};
  struct sc_error err;
  struct sc_key_created k;
  struct sc_http_server *srv;
  struct sc_http_config hc = {.listen = "127.0.0.1:0", .threads = threads, .routes = routes,
                              .app = &app};
  if (sc_db_pool_open(db.url, 4, &app.pool, &err) || sc_auth_open(app.pool, &app.auth, &err) ||
      sc_auth_key_create(app.pool, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER,
                                                         .org_slug = "acme"}, &k, &err) ||
      sc_http_start(&hc, &srv, &err)) {
    fprintf(stderr, "bench_auth: %s\n", err.message);
    return 1;
  }
  struct worker *w = calloc((size_t)threads, sizeof *w);
  pthread_t *t = calloc((size_t)threads, sizeof *t);
  double *lat = calloc((size_t)threads * (size_t)per, sizeof *lat);
  for (int i = 0; i < threads; i++) {
    snprintf(w[i].url, sizeof w[i].url, "http://127.0.0.1:%d" ROUTE, sc_http_port(srv));
    snprintf(w[i].authz, sizeof w[i].authz, "Authorization: Bearer %s", k.key);
    w[i].n = per;
    w[i].lat = lat + (size_t)i * (size_t)per;
  }
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &w[i]);
  int failures = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    failures += w[i].failures;
  }
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  size_t total = (size_t)threads * (size_t)per;
  qsort(lat, total, sizeof *lat, cmp_double);
  printf("bench_auth: %zu authenticated requests, %d threads, keep-alive: %.0f req/s, "
         "p50 %.3f ms, p99 %.3f ms, failures %d, DB queries for the route %ld\n",
         total, threads, (double)total / secs, lat[total / 2], lat[total * 99 / 100], failures,
         sc_metrics_queries_for(ROUTE));
  sc_http_stop(srv);
  sc_auth_close(app.auth);
  sc_db_pool_close(app.pool);
  PQfinish(owner);
  sc_test_db_drop(&db);
  free(w);
  free(t);
  free(lat);
  sc_metrics_shutdown();
  curl_global_cleanup();
  return failures ? 1 : 0;
}
