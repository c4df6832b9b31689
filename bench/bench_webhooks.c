/* Benchmark: durable webhook ingest. The real webhook route, inbox and sync
** engine run in this process (registry built here with the scripted test
** connector); 32 client threads with keep-alive connections post unique
** deliveries. Prints deliveries acknowledged per second (each one committed
** to sync_inbox before its 200), end-to-end lag (received_at → processed_at,
** i.e. webhook in → local row written) median and p99, the server's
** durability settings and pg_test_fsync's figures for the disk.
** Needs SIDECAL_TEST_PG_URL (scripts/pg url).
** Usage: build/bench/bench_webhooks [CLIENTS] [DELIVERIES_PER_CLIENT] */
#include <curl/curl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "http.h"
#include "metrics.h"
#include "routes.h"
#include "sync_engine.h"
#include "sync_fixture.h"

struct client {
  int port, from, n, failures;
};

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p, (void)u;
  return s * n;
}

static void *post_all(void *arg) {
  struct client *c = arg;
  CURL *h = curl_easy_init();
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/webhooks/scripted/acme.miami.scripted", c->port);
  struct curl_slist *hd = curl_slist_append(NULL, "X-Test-Signature: s3cret");
  hd = curl_slist_append(hd, "Content-Type: application/json");
  hd = curl_slist_append(hd, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  for (int i = c->from; i < c->from + c->n; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"changes\": [{\"op\": \"upsert\", \"id\": \"b%d\", \"start\": %d, \"end\": %d,"
             " \"title\": \"Bench\", \"status\": 1}]}", i, 1798000000 + (i % 5000) * 3600,
             1798000000 + (i % 5000) * 3600 + 1800);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long st = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if (st != 200) c->failures++;
  }
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  return NULL;
}

static void print_settings(struct fx *f) {
  const char *names[] = {"synchronous_commit", "fsync", "wal_sync_method", "commit_delay",
                         "full_page_writes", NULL};
  printf("durability:");
  for (int i = 0; names[i]; i++) {
    char *sql = g_strdup_printf("SHOW %s", names[i]);
    char *v = q(f, sql);
    printf(" %s=%s", names[i], v);
    g_free(v), g_free(sql);
  }
  printf("\n");
}

static void print_fsync(void) {
  char *tmp = g_build_filename(g_get_tmp_dir(), "sidecal-bench-fsync", NULL);
  char *cmd = g_strdup_printf(
      "for b in /usr/lib/postgresql/*/bin/pg_test_fsync; do \"$b\" -s 1 -f '%s' 2>&1"
      " | grep -E 'fdatasync|open_datasync|fsync ' | head -5; break; done; rm -f '%s'", tmp, tmp);
  printf("pg_test_fsync (1 s per method, ops/sec):\n");
  fflush(stdout);
  if (system(cmd) != 0) printf("  (pg_test_fsync not available)\n");
  g_free(cmd), g_free(tmp);
}

int main(int argc, char **argv) {
  int clients = argc > 1 ? atoi(argv[1]) : 32, per = argc > 2 ? atoi(argv[2]) : 500;
  if (!getenv("SIDECAL_BUILD_ROOT")) {
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *dir = g_path_get_dirname(exe), *root = g_path_get_dirname(dir);
    setenv("SIDECAL_BUILD_ROOT", root, 1);
    g_free(exe), g_free(dir), g_free(root);
  }
  curl_global_init(CURL_GLOBAL_ALL);
  sc_metrics_init();
  struct fx f;
  fx_init(&f);
  struct sc_app app = {.registry = f.reg};
  struct sc_error err;
  if (sc_db_pool_open(f.db.url, clients + 8, &app.pool, &err)) g_error("pool: %s", err.message);
  /* The daemon's default: a thread per connection (a handler waits for its commit). */
  struct sc_http_config hc = {.listen = "127.0.0.1:0", .routes = sc_routes,
                              .app = &app};
  struct sc_http_server *srv;
  if (sc_http_start(&hc, &srv, &err)) g_error("http: %s", err.message);
  struct sc_sync_engine_options eo = {.inbox_workers = 2,
                                      .sched.interval_ms = 3600000};
  if (sc_sync_engine_start(app.pool, f.reg, &eo, &app.sync, &err)) g_error("engine: %s", err.message);
  pthread_t *t = calloc((size_t)clients, sizeof *t);
  struct client *c = calloc((size_t)clients, sizeof *c);
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < clients; i++) {
    c[i] = (struct client){sc_http_port(srv), i * per, per, 0};
    pthread_create(&t[i], NULL, post_all, &c[i]);
  }
  int failures = 0;
  for (int i = 0; i < clients; i++) {
    pthread_join(t[i], NULL);
    failures += c[i].failures;
  }
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  int total = clients * per - failures;
  printf("webhook ingest: %d clients, %d deliveries acknowledged (%d failed) in %.2f s = %.0f/s"
         " on %ld cores\n", clients, total, failures, secs, total / secs, sysconf(_SC_NPROCESSORS_ONLN));
  fflush(stdout);
  char *want = g_strdup_printf("%d", clients * per);
  for (int i = 0; i < 6000; i++) {
    char *v = q(&f, "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL");
    int done = !strcmp(v, want);
    g_free(v);
    if (done) break;
    g_usleep(20000);
  }
  double drain = (double)(g_get_monotonic_time() - t0) / 1e6;
  char *lag = q(&f, "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1)"
                    " || ' ms median, ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)"
                    "::numeric, 1) || ' ms p99' FROM (SELECT extract(epoch FROM processed_at"
                    " - received_at) * 1000 AS ms FROM sync_inbox) x");
  printf("applied all by %.2f s; end-to-end lag (received -> applied): %s\n", drain, lag);
  print_settings(&f);
  print_fsync();
  g_free(lag), g_free(want), free(t), free(c);
  sc_http_stop(srv);
  sc_sync_engine_stop(app.sync);
  sc_db_pool_close(app.pool);
  fx_free(&f);
  sc_metrics_shutdown();
  curl_global_cleanup();
  return failures ? 1 : 0;
}
